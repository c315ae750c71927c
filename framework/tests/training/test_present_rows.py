"""ChromaModel runs each encoder on the rows that have its modality only, raw or prepared."""

from __future__ import annotations

import torch
from chroma_fusion_late.fusion import LateFusion
from chroma_fusion_late.plugin import LateFusionConfig
from chroma_midi_pianoroll.encoder import PianoRollEncoder
from chroma_midi_pianoroll.plugin import PianoRollConfig

from chroma import FusionDims, MidiBatch
from chroma.model import ChromaModel


def _model() -> tuple[ChromaModel, PianoRollEncoder]:
    encoder = PianoRollEncoder(PianoRollConfig(hidden_dim=6, channels=(4, 4, 4)))
    fusion = LateFusion(LateFusionConfig(), FusionDims({"text": 4, "midi": 6}, 8))
    return ChromaModel(fusion, {"mode": ["a", "b"]}, {"midi": encoder}, modality_dropout=0.0).eval(), encoder


def _batch() -> tuple[MidiBatch, torch.Tensor]:
    events = torch.zeros(4, 2, 8)
    events[:, :, 0] = torch.tensor([[60, 64], [40, 43], [70, 72], [50, 55]])
    events[:, :, 1], events[:, :, 3] = 100, 0.5
    events[:, 1, 2] = 0.5
    midi = MidiBatch(events, torch.tensor([2, 2, 2, 2]), 1.0)
    mask = torch.tensor([[True, False, True], [True, False, False], [True, False, True], [True, False, False]])
    return midi, mask


def test_raw_and_prepared_inputs_run_the_encoder_on_present_rows_only() -> None:
    model, encoder = _model()
    midi, mask = _batch()
    seen: list[int] = []
    forward = encoder.forward_prepared
    encoder.forward_prepared = lambda inputs: (seen.append(len(inputs["roll"])), forward(inputs))[1]  # type: ignore[method-assign]
    text = torch.randn(4, 4)
    raw = model({"modality_mask": mask, "embeddings": {"text": text}, "midi": midi})
    rows = torch.tensor([0, 2])
    prepared = encoder.prepare(MidiBatch(midi.events[rows], midi.lengths[rows], 1.0))
    cached = model(
        {"modality_mask": mask, "embeddings": {"text": text}, "prepared": {"midi": {"rows": rows, "inputs": prepared}}}
    )
    assert seen == [2, 2]
    with torch.no_grad():
        alone = forward(prepared).pooled
    for out in (raw, cached):
        assert torch.allclose(out.embeddings["midi"][rows], alone, atol=1e-6)
        assert torch.equal(out.embeddings["midi"][[1, 3]], torch.zeros(2, 6))
    assert torch.allclose(raw.logits["mode"], cached.logits["mode"], atol=1e-6)

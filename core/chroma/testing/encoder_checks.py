"""Contract checks every encoder plugin (audio, MIDI, text) must pass.

Each check takes a :class:`~chroma.testing.targets.ContractTarget` of an
encoder kind, builds fresh encoders with the target's small options and raises
``AssertionError`` naming the plugin and the broken property.
:func:`encoder_checks` selects the checks that apply (by modality and
``returns_sequence``). Pretrained plugins are checked only when they declare a
``test_config`` capability (small random-init options); otherwise the checks
that build the encoder are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from chroma.capabilities import EncoderCapabilities, is_random_init
from chroma.contracts import (
    MIDI_EVENT_FEATURES,
    AudioBatch,
    Encoder,
    EncoderOutput,
    FrameBatch,
    MidiBatch,
    PreparedAugmentation,
    TextBatch,
)
from chroma.testing import strategies as cst
from chroma.testing.check_helpers import (
    assert_close,
    assert_finite,
    json_round_trip_config,
    param_shapes,
    run_examples,
    state_round_trip,
)
from chroma.testing.targets import ContractTarget, SkipCheck

Check = Callable[[ContractTarget], None]
Batch = AudioBatch | MidiBatch | TextBatch | FrameBatch


def _modality(target: ContractTarget) -> str:
    return (target.kind or "").removesuffix("_encoder")


def _encoder(target: ContractTarget, **kwargs: Any) -> Encoder:
    if target.capability("pretrained") and not target.options:
        raise SkipCheck(f"{target!r} is pretrained and declares neither test_fixture nor test_config")
    module = target.build(**kwargs)
    assert isinstance(module, Encoder)
    return module


def _inputs(target: ContractTarget, encoder: Encoder, batch: Any = None) -> st.SearchStrategy[Batch]:
    """Inputs for the encoder's modality (the ``test_seconds`` capability bounds audio/MIDI length).

    Text batches carry both strings and precomputed vectors, so string and
    pass-through text encoders are both served.
    """
    seconds = float(target.capability("test_seconds", 1.0))
    modality = _modality(target)
    if encoder.streams:
        return cst.frame_batches(dict(encoder.streams), batch=batch)
    if modality == "audio":
        return cst.audio_batches(int(encoder.sample_rate or 0), batch=batch, max_seconds=seconds)
    if modality == "midi":
        return cst.midi_batches(batch=batch, duration=max(seconds, 1.0) * 4)
    return cst.text_batches(batch=batch, embedding_dim=_text_embedding_dim(target, encoder))


def _text_embedding_dim(target: ContractTarget, encoder: Encoder) -> int:
    """Width of the precomputed vectors given with texts (``text_embedding_dim`` capability, else ``output_dim``)."""
    return int(target.capability("text_embedding_dim", encoder.output_dim))


def _row(batch: Batch, row: int) -> Batch:
    """Row ``row`` as a batch of one, keeping the padded width."""
    sl = slice(row, row + 1)
    if isinstance(batch, FrameBatch):
        return batch.take(torch.tensor([row]))
    if isinstance(batch, AudioBatch):
        return AudioBatch(batch.waveform[sl], batch.lengths[sl], batch.sample_rate)
    if isinstance(batch, MidiBatch):
        return MidiBatch(batch.events[sl], batch.lengths[sl], batch.duration)
    texts = None if batch.texts is None else batch.texts[sl]
    emb = None if batch.embeddings is None else batch.embeddings[sl]
    return TextBatch(texts, emb)


def _size(batch: Batch) -> int:
    if isinstance(batch, FrameBatch):
        return int(batch.lengths.shape[0])
    if isinstance(batch, AudioBatch):
        return batch.waveform.shape[0]
    if isinstance(batch, MidiBatch):
        return batch.events.shape[0]
    return len(batch.texts or []) if batch.embeddings is None else batch.embeddings.shape[0]


def _check_output(target: ContractTarget, encoder: Encoder, out: EncoderOutput, batch: int, what: str) -> None:
    if not isinstance(out, EncoderOutput):
        raise AssertionError(f"{target!r}: forward returned {type(out).__name__}, not EncoderOutput")
    if tuple(out.pooled.shape) != (batch, encoder.output_dim):
        raise AssertionError(
            f"{target!r}: pooled must be [{batch}, {encoder.output_dim}], got {tuple(out.pooled.shape)} ({what})"
        )
    if not out.pooled.is_floating_point():
        raise AssertionError(f"{target!r}: pooled dtype {out.pooled.dtype} is not floating point ({what})")
    assert_finite(target, f"pooled ({what})", out.pooled)
    if out.sequence is not None:
        seq, valid = out.sequence, out.sequence_mask
        assert valid is not None
        if seq.dim() != 3 or seq.shape[0] != batch or tuple(valid.shape) != tuple(seq.shape[:2]):
            raise AssertionError(
                f"{target!r}: sequence must be [B, T, D] with mask [B, T]; got {tuple(seq.shape)} "
                f"and {tuple(valid.shape)} ({what})"
            )
        if valid.dtype != torch.bool:
            raise AssertionError(f"{target!r}: sequence_mask dtype {valid.dtype} is not bool ({what})")
        assert_finite(target, f"sequence at valid positions ({what})", seq[valid])


def check_encoder_declares_contract(target: ContractTarget) -> None:
    """Declared modality, output_dim, sample_rate, name and returns_sequence are consistent."""
    encoder = _encoder(target)
    modality = _modality(target)
    if encoder.modality != modality:
        raise AssertionError(f"{target!r}: encoder.modality is {encoder.modality!r}, kind says {modality!r}")
    if not isinstance(encoder.output_dim, int) or encoder.output_dim <= 0:
        raise AssertionError(f"{target!r}: output_dim must be a positive int, got {encoder.output_dim!r}")
    if encoder.streams:
        bad = {k: v for k, v in encoder.streams.items() if not isinstance(v, int) or isinstance(v, bool) or v <= 0}
        if bad or encoder.sample_rate is not None:
            raise AssertionError(
                f"{target!r}: a stream-reading encoder needs positive int stream dims and sample_rate None, "
                f"got streams={dict(encoder.streams)} sample_rate={encoder.sample_rate!r}"
            )
    elif modality == "audio":
        if not isinstance(encoder.sample_rate, int) or encoder.sample_rate <= 0:
            raise AssertionError(
                f"{target!r}: audio encoders need a positive int sample_rate, got {encoder.sample_rate!r}"
            )
    elif encoder.sample_rate is not None:
        raise AssertionError(f"{target!r}: sample_rate must be None for a {modality} encoder")
    declared = getattr(type(encoder), "name", target.name)
    if declared != target.name:
        raise AssertionError(f"{target!r}: class name attribute {declared!r} != plugin name {target.name!r}")


def check_encoder_declares_weights(target: ContractTarget) -> None:
    """A declared ``random_init`` (``pretrained``: not random) is what the built encoder is (:func:`is_random_init`).

    ``chroma config validate`` trusts the declaration to warn about a frozen encoder giving random features
    without building it, so it is checked on the kit's instance (a pretrained one loading its ``test_fixture``)
    and, for an encoder that is not pretrained and whose defaults form a valid config, on one built with them.
    """
    caps = target.capabilities
    declared = caps.declared_random_init if isinstance(caps, EncoderCapabilities) else None
    if declared is None:
        raise SkipCheck(f"{target!r} declares neither random_init nor pretrained: the framework builds it to see")
    pretrained = bool(target.capability("pretrained"))
    if pretrained and not target.capability("test_fixture", None):
        raise SkipCheck(f"{target!r} is pretrained without a test_fixture: the kit cannot load its weights")
    builds = {"the kit's options": target.config()}
    if not pretrained:
        try:
            builds["its default options"] = target.config({})
        except ValueError:  # pydantic's ValidationError: an option without a default
            pass
    field = "pretrained=True" if pretrained else f"random_init={declared}"
    for what, config in builds.items():
        encoder = _encoder(target, config=config)
        if is_random_init(encoder) != declared:
            parameters = sum(p.numel() for p in encoder.parameters())
            raise AssertionError(
                f"{target!r} declares {field}, but built with {what} it has {parameters} parameters and "
                f"fingerprint_extra() {encoder.fingerprint_extra()!r}, so it is "
                f"{'' if is_random_init(encoder) else 'not '}random-init: `chroma config validate` would "
                f"{'miss' if is_random_init(encoder) else 'give'} the random-features warning for it frozen"
            )


def check_encoder_output_shape(target: ContractTarget) -> None:
    """``pooled`` is ``[B, output_dim]`` and finite for varied lengths and batch sizes incl. 1."""
    encoder = _encoder(target)

    @run_examples(target, _inputs(target, encoder))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            out = encoder(batch)
        _check_output(target, encoder, out, _size(batch), "varied input")
        if not encoder.returns_sequence and out.sequence is not None:
            raise AssertionError(f"{target!r}: returns a sequence but declares returns_sequence=False")


def check_encoder_degenerate_inputs(target: ContractTarget) -> None:
    """Finite output for silence and empty audio, empty MIDI (lengths 0) and empty lyrics."""
    encoder = _encoder(target)
    modality = _modality(target)
    if encoder.streams:
        dims = dict(encoder.streams)
        zeros = {k: torch.zeros(2, 1, d) for k, d in dims.items()}
        masks = {k: torch.zeros(2, 1, dtype=torch.bool) for k in dims}
        batch: Batch = FrameBatch(zeros, masks, torch.tensor([1, 0]))
    elif modality == "audio":
        rate = int(encoder.sample_rate or 0)
        width = max(1, int(float(target.capability("test_seconds", 1.0)) * rate))
        batch = AudioBatch(torch.zeros(3, width), torch.tensor([width, width // 2, 0]), rate)
    elif modality == "midi":
        batch = MidiBatch(torch.zeros(2, 1, len(MIDI_EVENT_FEATURES)), torch.zeros(2, dtype=torch.long), 4.0)
    else:
        batch = TextBatch(texts=["", " "], embeddings=torch.zeros(2, _text_embedding_dim(target, encoder)))
    with torch.no_grad():
        _check_output(target, encoder, encoder(batch), _size(batch), f"degenerate {modality} input")


def _pad(batch: Batch, extra: int) -> Batch:
    """``batch`` with ``extra`` more zero positions past every row's length."""
    if isinstance(batch, FrameBatch):
        return FrameBatch(
            {k: F.pad(v, (0, 0, 0, extra)) for k, v in batch.values.items()},
            {k: F.pad(m, (0, extra)) for k, m in batch.masks.items()},
            batch.lengths,
        )
    if isinstance(batch, AudioBatch):
        return AudioBatch(F.pad(batch.waveform, (0, extra)), batch.lengths, batch.sample_rate)
    assert isinstance(batch, MidiBatch)
    return MidiBatch(F.pad(batch.events, (0, 0, 0, extra)), batch.lengths, batch.duration)


def check_encoder_padding_invariance(target: ContractTarget) -> None:
    """Appending zero padding beyond ``lengths`` does not change the pooled output."""
    encoder = _encoder(target)
    rate = int(encoder.sample_rate or 0)

    @run_examples(target, _inputs(target, encoder), st.integers(1, max(8, rate // 10)))
    def _(batch: Batch, extra: int) -> None:
        with torch.no_grad():
            reference = encoder(batch).pooled
            padded = encoder(_pad(batch, extra)).pooled
        assert_close(target, f"pooled output changed after {extra} padding positions", padded, reference, atol=1e-4)


def check_encoder_batch_independence(target: ContractTarget) -> None:
    """In eval mode row ``i``'s output equals the output for row ``i`` alone."""
    encoder = _encoder(target)

    @run_examples(target, _inputs(target, encoder, batch=cst.batch_sizes(2, 4)))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            together = encoder(batch).pooled
            for row in range(_size(batch)):
                alone = encoder(_row(batch, row)).pooled
                assert_close(target, f"row {row} depends on other rows", together[row : row + 1], alone, atol=1e-4)


def check_encoder_eval_determinism(target: ContractTarget) -> None:
    """Two eval-mode passes on the same input agree exactly."""
    encoder = _encoder(target)

    @run_examples(target, _inputs(target, encoder))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            first, second = encoder(batch).pooled, encoder(batch).pooled
        assert_close(target, "eval-mode output is not deterministic", second, first, atol=0.0, rtol=0.0)


def check_encoder_state_round_trip(target: ContractTarget) -> None:
    """A fresh build loading the state_dict (through safetensors) gives the same outputs."""
    source = _encoder(target, seed=0)
    fresh = _encoder(target, seed=1)
    state_round_trip(target, source, fresh)
    fresh.eval()

    @run_examples(target, _inputs(target, source))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            assert_close(
                target,
                "outputs differ after load_state_dict (state kept outside the state_dict?)",
                fresh(batch).pooled,
                source(batch).pooled,
                atol=0.0,
                rtol=0.0,
            )


def check_encoder_config_round_trip(target: ContractTarget) -> None:
    """The config survives JSON model_dump/model_validate and rebuilds the same parameter shapes."""
    config, rebuilt = json_round_trip_config(target)
    first = param_shapes(_encoder(target, config=config))
    second = param_shapes(_encoder(target, config=rebuilt))
    if first != second:
        raise AssertionError(f"{target!r}: rebuilt from its dumped config with other parameters")


def check_encoder_sequence_contract(target: ContractTarget) -> None:
    """``returns_sequence`` encoders give a ``[B, T, sequence_dim or output_dim]`` sequence with a bool mask."""
    encoder = _encoder(target)

    @run_examples(target, _inputs(target, encoder))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            out = encoder(batch)
        if out.sequence is None:
            raise AssertionError(f"{target!r}: declares returns_sequence but returned no sequence")
        _check_output(target, encoder, out, _size(batch), "sequence")
        width = out.sequence.shape[-1]
        declared = encoder.sequence_dim or encoder.output_dim
        if width != declared:
            raise AssertionError(f"{target!r}: sequence width {width} != declared sequence_dim/output_dim {declared}")


def _take(inputs: dict[str, torch.Tensor], rows: list[int]) -> dict[str, torch.Tensor]:
    return {k: v[rows] for k, v in inputs.items()}


def check_encoder_prepared_paths(target: ContractTarget) -> None:
    """``forward(batch) == forward_prepared(prepare(batch))``; prepared rows are fixed-shape, batch-independent
    and regroupable; ``prepare_fingerprint`` is a stable non-empty string; ``augment_prepared`` keeps shapes."""
    encoder = _encoder(target)
    fingerprint = encoder.prepare_fingerprint()
    if not isinstance(fingerprint, str) or not fingerprint:
        raise AssertionError(f"{target!r}: prepare_fingerprint() must be a non-empty str, got {fingerprint!r}")
    if _encoder(target, seed=1).prepare_fingerprint() != fingerprint:
        raise AssertionError(f"{target!r}: prepare_fingerprint() differs between two builds of one config")

    @run_examples(target, _inputs(target, encoder, batch=cst.batch_sizes(2, 4)))
    def _(batch: Batch) -> None:
        with torch.no_grad():
            prepared = encoder.prepare(batch)
            direct = encoder(batch)
            split = encoder.forward_prepared(prepared)
        if not isinstance(prepared, dict) or not prepared:
            raise AssertionError(f"{target!r}: prepare() must return a non-empty dict of tensors")
        for name, value in prepared.items():
            if not isinstance(value, torch.Tensor) or value.requires_grad or value.shape[0] != _size(batch):
                raise AssertionError(f"{target!r}: prepare()[{name!r}] must be a [B, ...] tensor without grad")
        assert_close(target, "forward(batch) != forward_prepared(prepare(batch))", split.pooled, direct.pooled)
        n = _size(batch)
        for row in range(n):
            alone = encoder.prepare(_row(batch, row))
            for name, value in prepared.items():
                if alone[name].shape[1:] != value.shape[1:] or not torch.equal(alone[name][0], value[row]):
                    raise AssertionError(
                        f"{target!r}: prepare()[{name!r}] of row {row} depends on the other rows or on the batch size"
                    )
        order = list(range(n - 1, -1, -1))
        with torch.no_grad():
            regrouped = encoder.forward_prepared(_take(prepared, order)).pooled
        assert_close(target, "forward_prepared depends on the grouping of rows", regrouped, split.pooled[order])
        policy = PreparedAugmentation(
            torch.Generator().manual_seed(0),
            transpose_p=1.0,
            transpose=(-3, 3),
            velocity_p=1.0,
            velocity=(0.5, 1.5),
            time_shift_p=1.0,
            time_shift=0.5,
            time_mask_p=1.0,
            time_mask=0.3,
            freq_mask_p=1.0,
            freq_mask=0.3,
        )
        augmented = encoder.augment_prepared(prepared, policy)
        for name, value in prepared.items():
            if name not in augmented or augmented[name].shape != value.shape or augmented[name].dtype != value.dtype:
                raise AssertionError(f"{target!r}: augment_prepared changed the key, shape or dtype of {name!r}")
        with torch.no_grad():
            _check_output(target, encoder, encoder.forward_prepared(augmented), n, "augmented prepared input")


def encoder_checks(target: ContractTarget) -> Iterator[Check]:
    """The checks that apply to ``target``, chosen by its modality and what the built encoder declares."""
    yield check_encoder_declares_contract
    yield check_encoder_declares_weights
    yield check_encoder_output_shape
    yield check_encoder_degenerate_inputs
    if _modality(target) in ("audio", "midi") or target.module_flag("streams"):
        yield check_encoder_padding_invariance
    yield check_encoder_batch_independence
    yield check_encoder_eval_determinism
    yield check_encoder_state_round_trip
    yield check_encoder_config_round_trip
    if target.module_flag("returns_sequence"):
        yield check_encoder_sequence_contract
    if target.module_flag("splits_preparation"):
        yield check_encoder_prepared_paths

"""The ``musicnn`` encoder: patches, padding, rates, absent rows, loud input, bad input and fine-tuning."""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile

import pytest
import torch
from chroma_audio_musicnn.encoder import MusicnnEncoder, hop_frames, patch_index
from chroma_audio_musicnn.frontend import reflect_pad_rows
from chroma_audio_musicnn.plugin import MusicnnConfig
from pydantic import ValidationError

from chroma import AudioBatch
from chroma.dsp import resample
from chroma.plugins.registry import get_registry

RATE = 16000
CACHE = tempfile.mkdtemp(prefix="chroma-musicnn-test-")
atexit.register(shutil.rmtree, CACHE, ignore_errors=True)


def _encoder(**options) -> MusicnnEncoder:
    return MusicnnEncoder(MusicnnConfig(cache_dir=CACHE, **options)).eval()


def _music(seconds: float, seed: int = 0, rate: int = RATE) -> torch.Tensor:
    """Harmonic tones with a seeded melody plus a little noise, at about -20 dBFS."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(int(seconds * rate)) / rate
    pitch = 220.0 * 2 ** (torch.randint(0, 12, (int(seconds * 4) + 1,), generator=gen) / 12)
    freq = pitch[(t * 4).long()]
    phase = 2 * math.pi * torch.cumsum(freq / rate, 0)
    tone = sum(torch.sin(h * phase) / h for h in range(1, 6))
    return 0.05 * tone + 0.005 * torch.randn(t.shape, generator=gen)


def _batch(rows: list[torch.Tensor], width: int | None = None, rate: int = RATE) -> AudioBatch:
    wave = torch.zeros(len(rows), width or max(len(r) for r in rows))
    for i, row in enumerate(rows):
        wave[i, : len(row)] = row
    return AudioBatch(wave, torch.tensor([len(r) for r in rows]), rate)


def test_layers_set_the_width() -> None:
    widths = {"tags": 50, "penultimate": 200, "mean_pool": 753, "max_pool": 753, "pools": 1506}
    for layer, width in widths.items():
        encoder = _encoder(layer=layer)
        assert encoder.output_dim == encoder.sequence_dim == width and encoder.sample_rate == RATE
        with torch.no_grad():
            out = encoder(_batch([_music(3.5)]))
        assert out.pooled.shape == (1, width) and out.sequence.shape == (1, 1, width)


def test_patches_are_three_seconds_and_the_tail_is_dropped() -> None:
    frames = torch.tensor([0, 1, 186, 187, 373, 374, 1000])
    row, slot, frame = patch_index(frames, 187)
    assert torch.bincount(row, minlength=7).tolist() == [0, 1, 1, 1, 1, 2, 5]
    assert frame.shape == (row.shape[0], 187)
    # a row of 187+ frames: consecutive non-overlapping runs; a shorter one repeats its frames
    assert frame[row == 5].tolist() == [list(range(187)), list(range(187, 374))]
    assert frame[row == 2][0].tolist() == [i % 186 for i in range(187)]
    assert slot[row == 6].tolist() == [0, 1, 2, 3, 4]
    assert hop_frames(None) == 187 and hop_frames(1.0) == 61  # musicnn: floor((1 s * 16000 - 256) / 256)
    # 6 s = 376 frames, patches 61 frames apart: starts 0, 61, 122, 183
    assert torch.bincount(patch_index(torch.tensor([376]), 61)[0]).tolist() == [4]


def test_sequence_mask_counts_patches_and_pooled_is_their_mean() -> None:
    encoder = _encoder(layer="tags")
    with torch.no_grad():
        out = encoder(_batch([_music(9.5, 1), _music(3.2, 2), _music(0.0)]))
    assert out.sequence_mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    torch.testing.assert_close(out.pooled[0], out.sequence[0].mean(0))
    assert out.sequence[1, 1:].abs().sum() == 0 and out.pooled[2].abs().sum() == 0
    assert ((out.sequence[0] > 0) & (out.sequence[0] < 1)).all()  # sigmoid tag probabilities


def test_empty_batches_give_empty_or_zero_outputs() -> None:
    encoder = _encoder()
    with torch.no_grad():
        none = encoder(AudioBatch(torch.zeros(0, 800), torch.zeros(0, dtype=torch.long), RATE))
        silent = encoder(AudioBatch(torch.zeros(2, 0), torch.zeros(2, dtype=torch.long), RATE))
    assert none.pooled.shape == (0, 200) and none.sequence_mask.shape == (0, 1)
    assert silent.pooled.shape == (2, 200) and silent.pooled.abs().sum() == 0 and not silent.sequence_mask.any()


def test_padding_and_other_rows_do_not_change_a_row() -> None:
    encoder = _encoder()
    long, short = _music(7.0, 3), _music(1.3, 4)
    with torch.no_grad():
        alone = encoder(_batch([long])).sequence[0]
        padded = encoder(_batch([long, short], width=len(long) + 12345))
        short_alone = encoder(_batch([short])).pooled[0]
    torch.testing.assert_close(padded.sequence[0], alone, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(padded.pooled[1], short_alone, atol=1e-5, rtol=1e-5)


def test_reflection_padding_stays_inside_each_row() -> None:
    wave = torch.tensor([[1.0, 2.0, 3.0, 4.0, 99.0, 99.0], [5.0, 6.0, 99.0, 99.0, 99.0, 99.0]])
    padded = reflect_pad_rows(wave, torch.tensor([4, 2]), 3)
    assert padded[0, :10].tolist() == [4.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]
    assert padded[1, :8].tolist() == [6.0, 5.0, 6.0, 5.0, 6.0, 5.0, 6.0, 5.0]
    single = reflect_pad_rows(torch.tensor([[7.0, 0.0], [0.0, 0.0]]), torch.tensor([1, 0]), 2)
    assert single.tolist() == [[7.0] * 6, [0.0] * 6]


def test_other_rates_are_resampled_inside() -> None:
    encoder = _encoder()
    clip = _music(4.0, 5, rate=22050)
    at_native = resample(clip, 22050, RATE)
    with torch.no_grad():
        ours = encoder(_batch([clip], rate=22050)).pooled
        direct = encoder(_batch([at_native])).pooled
    torch.testing.assert_close(ours, direct)


def test_loud_audio_stays_finite() -> None:
    t = torch.arange(4 * RATE) / RATE
    loud = 32767.0 * torch.sign(torch.sin(2 * math.pi * 80.0 * t))  # unnormalised int16-scale square wave
    with torch.no_grad():
        logmel, _ = _encoder().frontend(loud[None], torch.tensor([len(loud)]))
        out = _encoder(layer="tags")(_batch([loud]))
    assert torch.isfinite(logmel).all() and logmel.max() == pytest.approx(math.log10(10000 * 65504 + 1))
    assert torch.isfinite(out.pooled).all()


def test_bad_batches_are_rejected() -> None:
    encoder = _encoder()
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 100\]"):
        encoder(AudioBatch(torch.zeros(1, 100), torch.tensor([101]), RATE))
    with pytest.raises(ValueError, match=r"waveform must be \[B, S\]"):
        encoder(AudioBatch(torch.zeros(1, 1, 100), torch.tensor([100]), RATE))


def test_fine_tuning_reaches_every_parameter_and_keeps_moving_statistics() -> None:
    encoder = _encoder(layer="tags").train()
    stats = {k: v.clone() for k, v in encoder.state_dict().items() if "running" in k}
    batch = _batch([_music(3.5, 6), _music(6.5, 7)])
    target = torch.zeros(2, 50)
    opt = torch.optim.SGD(encoder.parameters(), lr=0.05)
    losses = []
    for step in range(3):
        torch.manual_seed(step)
        loss = torch.nn.functional.binary_cross_entropy(encoder(batch).pooled, target)
        opt.zero_grad()
        loss.backward()
        if step == 0:
            params = dict(encoder.named_parameters())
            assert len(params) == 42 and all(p.requires_grad for p in params.values())
            silent = [name for name, p in params.items() if p.grad is None or p.grad.abs().sum() == 0]
            assert not silent, f"no gradient reached {silent}"
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in stats.items())


def test_registry_builds_it_by_name() -> None:
    encoder = get_registry().build_encoder("audio_encoder", "musicnn", {"layer": "pools", "cache_dir": CACHE})
    assert isinstance(encoder, MusicnnEncoder) and encoder.output_dim == 1506


@pytest.mark.parametrize(
    "options",
    [{"model": "MTT_vgg"}, {"layer": "cnn3"}, {"patch_hop_seconds": 0}, {"patch_hop_seconds": 4.0}, {"frozen": 1}],
)
def test_bad_options_are_rejected(options: dict) -> None:
    with pytest.raises(ValidationError):
        MusicnnConfig.model_validate(options)

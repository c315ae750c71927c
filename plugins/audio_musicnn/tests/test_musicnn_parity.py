"""Parity with the original TensorFlow musicnn graph (fixture written by ``scripts/make_parity_fixture.py``).

The fixture holds musicnn's own ``extractor()`` outputs for seeded synthetic
clips, regenerated here from their seeds. Differences come from float32
arithmetic and from musicnn's float16 cast of the mel: a mel value one float32
ulp away from librosa's can round to the neighbouring float16 value.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from chroma_audio_musicnn.encoder import MusicnnEncoder
from chroma_audio_musicnn.network import PATCH_FRAMES
from chroma_audio_musicnn.plugin import MusicnnConfig

from chroma import AudioBatch

HERE = Path(__file__).resolve().parent
FIXTURE = np.load(HERE / "fixtures" / "musicnn_parity.npz", allow_pickle=False)
CACHE = tempfile.mkdtemp(prefix="chroma-musicnn-parity-")
atexit.register(shutil.rmtree, CACHE, ignore_errors=True)
LAYERS = ("tags", "penultimate", "mean_pool", "max_pool")
#: Max-pool values reach ~100 and float32 is ~1e-7 relative, so they get a relative tolerance too;
#: TensorFlow's own float32 max pool lies 1e-4 from the float64 result of the same graph.
TOLERANCE = {"tags": (1e-4, 0.0), "penultimate": (1e-4, 0.0), "mean_pool": (1e-4, 0.0), "max_pool": (1e-4, 2e-4)}


def _clips_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("musicnn_parity_clips", HERE.parent / "scripts" / "parity_clips.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _clips() -> list[np.ndarray]:
    make_clip = _clips_module().make_clip
    specs = zip(FIXTURE["clip_kind"], FIXTURE["clip_seed"], FIXTURE["clip_seconds"], strict=True)
    return [make_clip(str(kind), int(seed), float(seconds)) for kind, seed, seconds in specs]


@cache
def _encoder(model: str, layer: str, hop: float | None = None) -> MusicnnEncoder:
    config = MusicnnConfig(model=model, layer=layer, patch_hop_seconds=hop, cache_dir=CACHE)
    return MusicnnEncoder(config).eval()


def _batch(clips: list[np.ndarray]) -> AudioBatch:
    wave = torch.zeros(len(clips), max(len(c) for c in clips))
    for row, clip in enumerate(clips):
        wave[row, : len(clip)] = torch.from_numpy(clip)
    return AudioBatch(wave, torch.tensor([len(c) for c in clips]), 16000)


def _assert_close(ours: np.ndarray, reference: np.ndarray, layer: str) -> None:
    atol, rtol = TOLERANCE[layer]
    excess = np.abs(ours - reference) - (atol + rtol * np.abs(reference))
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    assert excess.max() <= 0, (
        f"{layer}: |ours - tf| = {abs(ours[worst] - reference[worst]):.3g} at {worst} "
        f"(tf {reference[worst]:.5g}) exceeds {atol} + {rtol} * |tf|"
    )


def test_fixture_clips_regenerate_from_their_seeds() -> None:
    clips = _clips()
    sums = [np.abs(c.astype(np.float64)).sum() for c in clips]
    np.testing.assert_allclose(sums, FIXTURE["clip_abs_sum"], rtol=1e-9)
    np.testing.assert_allclose([np.abs(c).max() for c in clips], FIXTURE["clip_peak"], rtol=1e-6)


@pytest.mark.parametrize("model", ["MTT_musicnn", "MSD_musicnn"])
@pytest.mark.parametrize("layer", LAYERS)
def test_every_patch_matches_the_tensorflow_graph(model: str, layer: str) -> None:
    with torch.no_grad():
        out = _encoder(model, layer)(_batch(_clips()))
    assert out.sequence_mask.sum(dim=1).tolist() == FIXTURE[f"{model}/patches"].tolist()
    _assert_close(out.sequence[out.sequence_mask].numpy(), FIXTURE[f"{model}/{layer}"], layer)
    per_row = np.split(FIXTURE[f"{model}/{layer}"], np.cumsum(FIXTURE[f"{model}/patches"])[:-1])
    _assert_close(out.pooled.numpy(), np.stack([patches.mean(0) for patches in per_row]), layer)


def test_pools_layer_is_mean_then_max_pool() -> None:
    with torch.no_grad():
        out = _encoder("MTT_musicnn", "pools")(_batch(_clips()[:1])).pooled[0].numpy()
    _assert_close(out[:753], FIXTURE["MTT_musicnn/mean_pool"][0], "mean_pool")
    _assert_close(out[753:], FIXTURE["MTT_musicnn/max_pool"][0], "max_pool")


def test_patch_hop_matches_musicnn_input_overlap() -> None:
    with torch.no_grad():
        out = _encoder("MTT_musicnn", "tags", hop=1.0)(_batch([_clips()[1]]))
    _assert_close(out.sequence[out.sequence_mask].numpy(), FIXTURE["MTT_musicnn/hop_1s_clip1_tags"], "tags")


def test_log_mel_matches_musicnn_batch_data() -> None:
    clip = torch.from_numpy(_clips()[0])[None]
    logmel, frames = _encoder("MTT_musicnn", "tags").frontend(clip, torch.tensor([clip.shape[1]]))
    reference = FIXTURE["logmel_clip0"]
    assert frames.tolist() == [reference.shape[0]]
    diff = np.abs(logmel[0].numpy() - reference)
    # Apart from float32 rounding, only values whose mel fell on the other side of a float16 rounding boundary.
    assert diff.max() < 5e-4 and (diff > 1e-5).mean() < 0.005


@pytest.mark.parametrize("model", ["MTT_musicnn", "MSD_musicnn"])
def test_network_alone_on_musicnn_log_mel(model: str) -> None:
    patch = torch.from_numpy(FIXTURE["logmel_clip0"][:PATCH_FRAMES])[None]
    with torch.no_grad():
        out = _encoder(model, "tags").network(patch)
    for layer in LAYERS:
        _assert_close(out[layer][0].numpy(), FIXTURE[f"{model}/{layer}"][0], layer)

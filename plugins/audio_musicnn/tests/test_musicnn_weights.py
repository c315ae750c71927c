"""Finding musicnn's checkpoints without importing musicnn, and the verified safetensors cache."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from chroma_audio_musicnn import weights
from chroma_audio_musicnn.encoder import MusicnnEncoder
from chroma_audio_musicnn.network import MusicnnNetwork
from chroma_audio_musicnn.plugin import MusicnnConfig
from safetensors.torch import save_file

from chroma.pretrained import PretrainedWeightsError

PACKAGE = weights.installed_package_dir()
assert PACKAGE is not None, "these tests read the musicnn checkpoints: pip install --no-deps musicnn==0.1.0"


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_package_is_found_without_importing_musicnn_or_tensorflow() -> None:
    code = (
        "import sys; from chroma_audio_musicnn.weights import installed_package_dir, locate_checkpoint; "
        "print(installed_package_dir()); locate_checkpoint('MTT_musicnn', None); "
        "assert 'musicnn' not in sys.modules and 'tensorflow' not in sys.modules, sorted(sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == PACKAGE and (PACKAGE / "MTT_musicnn" / ".index").is_file()


def test_checkpoint_hash_is_the_files_content_hash() -> None:
    checkpoint = weights.locate_checkpoint("MSD_musicnn", None)
    assert checkpoint.sha256 == _sha256(checkpoint.index, checkpoint.data)
    assert checkpoint.data.name == ".data-00000-of-00001"


def test_checkpoint_dir_is_used_instead_of_the_package(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE / "MTT_musicnn", tmp_path / "MTT_musicnn")
    checkpoint = weights.locate_checkpoint("MTT_musicnn", str(tmp_path))
    assert checkpoint.index == tmp_path / "MTT_musicnn" / ".index"
    assert checkpoint.sha256 == weights.locate_checkpoint("MTT_musicnn", None).sha256
    with pytest.raises(PretrainedWeightsError, match=r"has no MSD_musicnn/\.index or \.data-00000-of-00001"):
        weights.locate_checkpoint("MSD_musicnn", str(tmp_path))


def test_no_package_and_no_checkpoint_dir_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "installed_package_dir", lambda: None)
    with pytest.raises(PretrainedWeightsError, match=r"pip install --no-deps musicnn==0\.1\.0") as info:
        MusicnnEncoder(MusicnnConfig())
    assert "checkpoint_dir" in str(info.value) and "never falls back to random weights" in str(info.value)


def test_conversion_is_cached_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkpoint = weights.locate_checkpoint("MTT_musicnn", None)
    state = weights.load_state(checkpoint, tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    stem = f"MTT_musicnn-{checkpoint.sha256[:16]}-v{weights.CONVERTER_VERSION}"
    assert files == [f"{stem}.json", f"{stem}.safetensors"]  # no temporary files left behind
    record = json.loads((tmp_path / f"{stem}.json").read_text())
    assert record["checkpoint_sha256"] == checkpoint.sha256
    assert record["safetensors_sha256"] == _sha256(tmp_path / f"{stem}.safetensors")
    MusicnnNetwork().load_state_dict(state)  # strict: every parameter and buffer, nothing else

    def no_conversion(_: Path) -> None:
        raise AssertionError("the verified cache should have been used")

    monkeypatch.setattr(weights, "read_bundle", no_conversion)
    cached = weights.load_state(checkpoint, tmp_path)
    assert cached.keys() == state.keys() and all(torch.equal(cached[k], state[k]) for k in state)


def test_a_corrupt_or_stale_cache_is_converted_again(tmp_path: Path) -> None:
    checkpoint = weights.locate_checkpoint("MTT_musicnn", None)
    state = weights.load_state(checkpoint, tmp_path)
    cached = next(tmp_path.glob("*.safetensors"))
    sidecar = cached.with_suffix(".json")
    # flip one byte of a tensor: the file still parses, but its hash no longer matches the sidecar
    raw = bytearray(cached.read_bytes())
    raw[-1] ^= 0xFF
    cached.write_bytes(bytes(raw))
    again = weights.load_state(checkpoint, tmp_path)
    assert all(torch.equal(again[k], state[k]) for k in state)
    assert json.loads(sidecar.read_text())["safetensors_sha256"] == _sha256(cached)
    # a sidecar recorded for other checkpoint files is stale
    record = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**record, "checkpoint_sha256": "0" * 64}))
    weights.load_state(checkpoint, tmp_path)
    assert json.loads(sidecar.read_text())["checkpoint_sha256"] == checkpoint.sha256


def test_an_unwritable_cache_warns_and_still_loads(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    checkpoint = weights.locate_checkpoint("MTT_musicnn", None)
    with pytest.warns(UserWarning, match="could not cache"):
        state = weights.load_state(checkpoint, blocker / "cache")
    MusicnnNetwork().load_state_dict(state)


def test_a_checkpoint_without_musicnn_variables_is_rejected(tmp_path: Path) -> None:
    shutil.copytree(PACKAGE / "MTT_vgg", tmp_path / "MTT_musicnn")  # a real checkpoint of another network
    checkpoint = weights.locate_checkpoint("MTT_musicnn", str(tmp_path))
    with pytest.raises(PretrainedWeightsError, match="lacks the variables"):
        weights.load_state(checkpoint, tmp_path / "cache")


def test_weights_of_other_shapes_are_rejected(tmp_path: Path) -> None:
    state = weights.load_state(weights.locate_checkpoint("MTT_musicnn", None), tmp_path)
    cached = next(tmp_path.glob("*.safetensors"))
    save_file({**state, "dense.weight": state["dense.weight"][:100].contiguous()}, str(cached))  # 100 dense units
    sidecar = cached.with_suffix(".json")
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "safetensors_sha256": _sha256(cached)}))
    with pytest.raises(PretrainedWeightsError, match="does not fit MTT_musicnn"):
        MusicnnEncoder(MusicnnConfig(cache_dir=str(tmp_path)))


def test_default_cache_dir_follows_chroma_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHROMA_CACHE", str(tmp_path))
    assert weights.default_cache_dir() == tmp_path / "musicnn"
    monkeypatch.delenv("CHROMA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.default_cache_dir() == tmp_path / "xdg" / "chroma" / "musicnn"


def test_fingerprint_is_the_checkpoint_hash_per_model(tmp_path: Path) -> None:
    mtt = MusicnnEncoder(MusicnnConfig(cache_dir=str(tmp_path))).fingerprint_extra()
    msd = MusicnnEncoder(MusicnnConfig(model="MSD_musicnn", cache_dir=str(tmp_path))).fingerprint_extra()
    assert mtt == f"MTT_musicnn:sha256:{weights.locate_checkpoint('MTT_musicnn', None).sha256}"
    assert msd.startswith("MSD_musicnn:sha256:") and msd.split(":")[-1] != mtt.split(":")[-1]

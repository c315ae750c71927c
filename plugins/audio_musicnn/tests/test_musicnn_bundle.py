"""The TensorFlow tensor-bundle reader on musicnn's real checkpoints, and on damaged copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from chroma_audio_musicnn.bundle import BundleError, data_blocks, data_path, read_bundle, read_index
from chroma_audio_musicnn.weights import installed_package_dir

PACKAGE = installed_package_dir()
assert PACKAGE is not None, "these tests read the musicnn checkpoints: pip install --no-deps musicnn==0.1.0"

#: Shapes of musicnn's layers as models.build_musicnn creates them (TensorFlow layout).
EXPECTED_SHAPES = {
    "batch_normalization/gamma": (1,),
    "conv2d/kernel": (7, 38, 1, 204),
    "conv2d_1/kernel": (7, 67, 1, 204),
    "conv2d_2/kernel": (128, 1, 1, 51),
    "conv2d_4/kernel": (32, 1, 1, 51),
    "conv2d_5/kernel": (7, 561, 1, 64),
    "conv2d_7/kernel": (7, 64, 1, 64),
    "batch_normalization_9/moving_variance": (1506,),
    "dense/kernel": (1506, 200),
    "dense_1/kernel": (200, 50),
    "dense_1/bias": (50,),
}


@pytest.mark.parametrize("model", ["MTT_musicnn", "MSD_musicnn"])
def test_reads_every_tensor_of_the_packaged_checkpoints(model: str) -> None:
    index = PACKAGE / model / ".index"
    tensors = read_bundle(index)
    # 42 trainable variables with two Adam slots each, 22 batch-norm moving statistics, Adam's two beta powers
    assert len(tensors) == 42 * 3 + 22 + 2
    assert sum(name.endswith(("/Adam", "/Adam_1")) for name in tensors) == 2 * 42
    assert sum(name.endswith(("/moving_mean", "/moving_variance")) for name in tensors) == 22
    for name, shape in EXPECTED_SHAPES.items():
        assert tensors[name].shape == shape and tensors[name].dtype == np.float32, name
    # moving variances are positive, and every tensor read is finite
    assert all((v > 0).all() for k, v in tensors.items() if k.endswith("moving_variance"))
    assert all(np.isfinite(v).all() for v in tensors.values())
    # the tensors tile the data file exactly
    _, entries = read_index(index)
    assert sum(e.size for e in entries.values()) == data_path(index).stat().st_size


def test_the_two_models_hold_different_weights() -> None:
    mtt = read_bundle(PACKAGE / "MTT_musicnn" / ".index")
    msd = read_bundle(PACKAGE / "MSD_musicnn" / ".index")
    assert not np.array_equal(mtt["dense_1/kernel"], msd["dense_1/kernel"])


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "MTT_musicnn"
    shutil.copytree(PACKAGE / "MTT_musicnn", target)
    return target / ".index"


def test_a_file_that_is_no_table_is_rejected(tmp_path: Path) -> None:
    index = _copy(tmp_path)
    index.write_bytes(index.read_bytes()[:-1] + b"\x00")
    with pytest.raises(BundleError, match="bad table magic"):
        read_bundle(index)


def test_a_truncated_data_file_names_the_tensor(tmp_path: Path) -> None:
    index = _copy(tmp_path)
    data = data_path(index)
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(BundleError, match="claims .* bytes at .* the data file has 1000"):
        read_bundle(index)


def test_a_compressed_block_is_rejected(tmp_path: Path) -> None:
    index = _copy(tmp_path)
    raw = bytearray(index.read_bytes())
    offset, size = data_blocks(bytes(raw))[0]
    assert raw[offset + size] == 0  # the trailer's compression type: none
    raw[offset + size] = 1  # snappy
    index.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="compressed"):
        read_bundle(index)


def test_a_missing_data_file_is_file_not_found(tmp_path: Path) -> None:
    index = _copy(tmp_path)
    data_path(index).unlink()
    with pytest.raises(FileNotFoundError):
        read_bundle(index)

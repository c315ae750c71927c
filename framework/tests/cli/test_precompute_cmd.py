"""``chroma precompute`` options: engines, workers and threads; bad combinations are named errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from chroma_framework.cli import main
from chroma_framework.data.synthetic import write_synthetic


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pc_cli")
    write_synthetic(root, n_segments=40, seed=1, duration=0.5, lyric_embedding_dim=8)
    path = root / "text.yaml"
    path.write_text(yaml.safe_dump({"data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}}}))
    return path


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--address", "auto"], "--address and --num-gpus need --engine ray"),
        (["--num-gpus", "1"], "--address and --num-gpus need --engine ray"),
        (["--num-workers", "0"], "--num-workers must be >= 1"),
        (["--engine", "ray", "--num-gpus", "-1"], "--num-gpus must be >= 0"),
    ],
)
def test_bad_engine_options_are_named_errors(config_path, capsys, extra, needle) -> None:
    assert main(["precompute", str(config_path), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chroma: error: ") and needle in err


def test_threads_flag_is_validated_and_applied(config_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["precompute", str(config_path), "--threads", "0"])
    assert exc.value.code == 2 and "expected a number of threads from 1 to 1024" in capsys.readouterr().err
    before = torch.get_num_threads()
    try:
        assert main(["precompute", str(config_path), "--no-progress", "--threads", "3"]) == 0
        assert torch.get_num_threads() == 3
        assert "computed: text" in capsys.readouterr().out
    finally:
        torch.set_num_threads(before)


def test_num_threads_in_the_config_is_validated(config_path, capsys) -> None:
    bad = config_path.with_name("bad_threads.yaml")
    data = yaml.safe_load(config_path.read_text())
    bad.write_text(yaml.safe_dump({**data, "training": {"num_threads": 0}}))
    assert main(["precompute", str(bad), "--no-progress"]) == 2
    assert "training.num_threads" in capsys.readouterr().err

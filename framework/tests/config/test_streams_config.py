"""``data.streams``: valid sections load; each mistake fails naming its YAML path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chroma_framework.config import ConfigError, load_config

BASE: dict[str, Any] = {
    "data": {
        "streams": {
            "sources": [
                {"name": "rms", "kind": "continuous", "dim": 1, "column": "rms"},
                {
                    "name": "clip",
                    "kind": "embedding",
                    "dim": 2,
                    "file": "clip.csv",
                    "value_columns": ["a", "b"],
                },
            ],
            "grid": {"rate": 10, "duration": 1.0},
        }
    }
}


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    node: Any = config["data"]["streams"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def test_a_valid_section_loads() -> None:
    streams = load_config(BASE).data.streams
    assert streams is not None
    assert [s.name for s in streams.sources] == ["rms", "clip"]
    assert streams.grid.rate == 10.0 and streams.gap_warning == 5.0
    assert load_config({}).data.streams is None


@pytest.mark.parametrize(
    ("path", "value", "where", "words"),
    [
        (["sources", 0, "kind"], "flag", "data.streams.sources[0].kind", "continuous"),
        (["sources", 0, "dim"], 0, "data.streams.sources[0].dim", "greater than 0"),
        (["sources", 0, "file"], "x.csv", "data.streams.sources[0]", "exactly one source"),
        (["sources", 1, "value_columns"], ["a"], "data.streams.sources[1]", "value_columns"),
        (["sources", 1, "file"], "clip.npy", "data.streams.sources[1]", ".csv, .parquet or .npz"),
        (["sources", 1, "name"], "rms", "data.streams", "declared twice: rms"),
        (["grid", "primary"], "rms", "data.streams.grid", "exactly one of rate"),
        (["grid"], {"primary": "nope"}, "data.streams", "grid.primary 'nope'"),
        (["grid"], {"rate": 5}, "data.streams.grid", "end_column or duration"),
        (["interpolation_warning"], 1.5, "data.streams.interpolation_warning", "less than or equal"),
        (["sources", 0, "colour"], "red", "data.streams.sources[0].colour", "unknown key 'colour'"),
    ],
)
def test_each_mistake_names_its_path(path: list[Any], value: Any, where: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_with(path, value))
    message = str(caught.value)
    assert f"{where}:" in message and words in message, message

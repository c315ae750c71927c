"""Stream declarations and their group consistency."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chroma_framework.streams import StreamKind, StreamSpec, StreamValidationError, check_groups


def test_spec_defaults_group_to_name_and_accepts_kind_names():
    spec = StreamSpec("rms", "continuous", 1)
    assert (spec.kind, spec.group, spec.max_gap) == (StreamKind.CONTINUOUS, "rms", 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty string name"),
        ({"kind": "colour"}, r"stream 'x': unknown kind 'colour' \(expected continuous, discrete, embedding\)"),
        ({"dim": 0}, "dim must be a positive integer, got 0"),
        ({"dim": True}, "dim must be a positive integer"),
        ({"max_gap": 0.0}, "max_gap must be a positive number of seconds"),
        ({"max_gap": float("nan")}, "max_gap must be a positive"),
    ],
)
def test_spec_rejects_bad_declarations(kwargs, message):
    with pytest.raises(StreamValidationError, match=message):
        StreamSpec(**{"name": "x", "kind": "continuous", "dim": 1, **kwargs})


def test_check_groups_requires_one_kind_and_dim_per_group_and_unique_names():
    a = StreamSpec("left", "continuous", 2, group="loudness")
    b = StreamSpec("right", "continuous", 2, group="loudness")
    assert check_groups([a, b]) == {"loudness": (StreamKind.CONTINUOUS, 2)}
    with pytest.raises(StreamValidationError, match=r"stream 'mono': group 'loudness' is continuous with dim 1"):
        check_groups([a, StreamSpec("mono", "continuous", 1, group="loudness")])
    with pytest.raises(StreamValidationError, match="stream 'left': declared twice"):
        check_groups([a, a])


def test_importing_the_package_does_not_import_torch():
    code = "import sys, chroma_framework.streams; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

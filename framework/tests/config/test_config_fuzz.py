"""Fuzz ``chroma config validate``: random YAML documents shaped like the schema, random text, and mutated
bytes of real configs. Never a traceback: exit 0, or exit 2 with ``chroma: error:``."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from chroma_framework.cli import main
from chroma_framework.config import ChromaConfig

CONFIGS = sorted((Path(__file__).parents[3] / "configs").glob("*.yaml"))
pytestmark = pytest.mark.slow  # about 10 s: some 300 documents through the whole command

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["late", "gated", "cpu", "cuda:0", "tpu9", "auto", "macro_f1", "", "  ", "none", "*"]),
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
    max_leaves=12,
)


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The one pydantic model an annotation holds (``X``, ``X | None``), else ``None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    return models[0] if len(models) == 1 else None


def section(model: type[BaseModel], depth: int = 0) -> st.SearchStrategy[dict[object, object]]:
    """Mappings over ``model``'s keys (plus a stray one), each value a subsection or anything at all."""
    values: dict[str, st.SearchStrategy[object]] = {}
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        values[name] = (section(sub, depth + 1) | anything) if sub is not None and depth < 4 else anything
    keys = st.sampled_from(sorted(values))
    entry = keys.flatmap(lambda key: st.tuples(st.just(key), values[key]))
    stray = st.tuples(st.text(min_size=1, max_size=8), anything)
    return st.lists(entry | stray, max_size=5).map(dict)


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(["config", "validate", str(path)])  # an exception here is the traceback the test forbids
    err = capsys.readouterr().err
    assert code in (0, 2), code
    if code == 2:
        assert err.startswith("chroma: error: "), err
        assert "Traceback" not in err


@FUZZ
@given(document=section(ChromaConfig) | anything)
def test_random_documents(document: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    _validate(path, capsys)


@settings(FUZZ, max_examples=60)
@given(text=st.text(max_size=200))
def test_random_text(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _validate(path, capsys)


@st.composite
def mutated_config(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CONFIGS)).read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(
                st.binary(min_size=1, max_size=8) | st.sampled_from([b": ", b"\n  ", b"- ", b"&a ", b"*a"])
            )
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(data=mutated_config())
def test_mutated_configs(data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    _validate(path, capsys)


@pytest.mark.parametrize(
    "text",
    ["[" * 3000 + "]" * 3000, "a: &x [*x]\n", "training: &t {loss: *t}\n", "? [1, 2]\n: x\n", "\ufefftraining: {}\n"],
    ids=["deep", "self-alias", "cyclic-section", "complex-key", "bom"],
)
def test_pathological_documents(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    _validate(path, capsys)

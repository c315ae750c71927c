"""Data files that cannot be trusted stop ``chroma data inspect`` (and every reader) with ``chroma: error:``
naming the file, the column and the offending values: duplicate, null, empty or mixed-type segment ids,
damaged or empty parquet files, empty-string or single-class labels, unknown split values, non-text lyrics,
class weights that do not match the classes. A short first lyric vector marks only itself bad."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.labels import LabelError, read_labels
from chroma_framework.data.synthetic import write_synthetic

N = 12


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("synth"), n_segments=N, seed=1, duration=0.5).root


@pytest.fixture
def dataset(source: Path, tmp_path: Path) -> Path:
    """A private copy of the synthetic dataset (metadata, media and media files)."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(source, root)
    return root


META = "training_segments_metadata.parquet"
MEDIA = "training_segments_media.parquet"


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> None:
    pq.write_table(change(pq.read_table(path)), path)


def _set(table: pa.Table, name: str, values: list[object] | pa.Array) -> pa.Table:
    array = values if isinstance(values, pa.Array) else pa.array(values)
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, array)
    return table.append_column(name, array)


def _inspect(root: Path, capsys: pytest.CaptureFixture[str], **config: object) -> tuple[int, str, str]:
    path = root / "config.yaml"
    data = {"data": {"root": str(root)}, "preprocessing": {"audio": {"duration": 0.5}}, **config}
    path.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    code = main(["data", "inspect", str(path), "--json", "--report", str(root / "report.json")])
    out = capsys.readouterr()
    return code, out.out, out.err


def _fails(root: Path, capsys: pytest.CaptureFixture[str], *needles: str, **config: object) -> str:
    code, _, err = _inspect(root, capsys, **config)
    assert code == 2 and err.startswith("chroma: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


def _ids(table: pa.Table) -> list[str]:
    return table.column("segment_id").to_pylist()


def test_duplicate_ids_in_the_metadata(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "segment_id", [_ids(t)[0], *_ids(t)[:-1]]))
    first = pq.read_table(dataset / META).column("segment_id")[0].as_py()
    _fails(dataset, capsys, f"metadata parquet {dataset / META}", "'segment_id'", f"{first!r} (2 rows)")


def test_duplicate_ids_in_the_media_file(dataset: Path, capsys) -> None:
    _rewrite(dataset / MEDIA, lambda t: _set(t, "segment_id", [*_ids(t)[:-1], _ids(t)[0]]))
    _fails(dataset, capsys, f"media parquet {dataset / MEDIA}", "more than one row", "(2 rows)")


@pytest.mark.parametrize("bad", [None, "", "  "])
def test_null_and_empty_ids(dataset: Path, capsys, bad: str | None) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "segment_id", pa.array([bad, *_ids(t)[1:]], pa.string())))
    _fails(dataset, capsys, f"metadata parquet {dataset / META}", "null or empty ids at rows 0")


def test_integer_ids_against_string_ids(dataset: Path, capsys) -> None:
    for name in (META, MEDIA):
        _rewrite(dataset / name, lambda t: _set(t, "segment_id", [f"{i:03d}" for i in range(t.num_rows)]))
    _rewrite(dataset / META, lambda t: _set(t, "segment_id", pa.array(range(t.num_rows), pa.int64())))
    _fails(
        dataset,
        capsys,
        "holds integers (int64) in metadata parquet",
        f"strings (string) in media parquet {dataset / MEDIA}",
    )


@pytest.mark.parametrize("name, what", [(META, "metadata parquet"), (MEDIA, "media parquet")])
def test_damaged_parquet_says_which_file(dataset: Path, capsys, name: str, what: str) -> None:
    data = (dataset / name).read_bytes()
    (dataset / name).write_bytes(data[: len(data) // 2])
    _fails(dataset, capsys, f"{what} {dataset / name}", "cannot be read as parquet")


def test_zero_row_metadata_says_0_rows(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: t.slice(0, 0))
    _fails(dataset, capsys, f"metadata parquet {dataset / META} has 0 rows")


def test_short_first_lyric_vector_marks_only_itself_bad(dataset: Path, capsys) -> None:
    vectors = [[0.5] * 8 for _ in range(N)]
    vectors[0] = [0.5] * 3
    _rewrite(dataset / META, lambda t: _set(_set(t, "vocals", [True] * N), "lyric_text", ["la la"] * N))
    _rewrite(dataset / META, lambda t: _set(t, "lyric_embedding", pa.array(vectors, pa.list_(pa.float32()))))
    code, out, err = _inspect(
        dataset, capsys, data={"root": str(dataset), "columns": {"lyric_embedding": "lyric_embedding"}}
    )
    assert code == 0, err
    report = json.loads(out[: out.rindex("}") + 1])["report"]
    first = pq.read_table(dataset / META).column("segment_id")[0].as_py()
    assert report["absent"]["text"] == {"bad_embedding": [first]}
    assert report["present"]["text"] == N - 1


def test_empty_string_label_is_an_error(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "spatial_mode", ["", *t.column("spatial_mode").to_pylist()[1:]]))
    _fails(dataset, capsys, "empty value '' in label column 'spatial_mode'", "not a class")


def test_single_class_head_is_an_error(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "spatial_mode", ["Place"] * N))
    _fails(dataset, capsys, "label column 'spatial_mode' holds one class ('Place')", "at least 2 classes")


@pytest.mark.parametrize(
    "split, needle",
    [
        (pa.array([*(["train", "val", "test"] * N)[: N - 1], "holdout"]), "'holdout' in 1 segment(s)"),
        (pa.array([*([0, 1, 2] * N)[: N - 1], 2]), "0 in 4 segment(s)"),
    ],
)
def test_unknown_split_values_are_named_by_inspect(dataset: Path, capsys, split: pa.Array, needle: str) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "split", split))
    _fails(dataset, capsys, "split column 'split' (data.columns.split) holds values that are not splits", needle)


def test_inspect_reports_the_splits(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "split", (["train", "validation", "test"] * N)[:N]))
    code, out, err = _inspect(dataset, capsys)
    assert code == 0, err
    by_split = json.loads(out[: out.rindex("}") + 1])["by_split"]
    assert {s: c["segments"] for s, c in by_split.items()} == {"train": 4, "val": 4, "test": 4}


def test_lyric_text_stored_as_int(dataset: Path, capsys) -> None:
    _rewrite(dataset / META, lambda t: _set(t, "lyric_text", pa.array(range(N), pa.int64())))
    _fails(dataset, capsys, "lyric text column 'lyric_text' (data.columns.lyric_text) holds int64 values")


def test_class_weights_must_match_the_classes_found(dataset: Path, capsys) -> None:
    loss = {"loss": {"class_weights": {"spatial_mode": [1.0, 2.0]}}}
    classes = sorted(set(pq.read_table(dataset / META).column("spatial_mode").to_pylist()))
    _fails(
        dataset,
        capsys,
        f"training.loss.class_weights.spatial_mode has 2 weights, but head 'spatial_mode' has {len(classes)} classes",
        training=loss,
    )
    config = load_config({"data": {"root": str(dataset)}, "training": loss})
    with pytest.raises(LabelError, match=f"has {len(classes)} classes in .*: {', '.join(classes)}"):
        read_labels(config)

"""Random and mutated media bytes through the data layer and through scoring: never a traceback.

Mutations of real files (a WAV, FLAC and OGG written by libsndfile from a tone, a MIDI file from the
synthetic generator) and plain random bytes are
- stored as the audio and MIDI blobs of some rows of a real two-parquet data set and read back by
  ``SegmentDataset`` (the decode path of ``chroma precompute``, ``data inspect`` and end-to-end
  training): each row's modality is present and finite, or absent with one of the named reasons, and the
  rows left alone read exactly as before;
- scored with ``Run.score`` (bytes or a file): class probabilities, or a ``ScoringError``;
- scored by ``chroma score`` on a folder holding good and mutated files: the good ones are scored, each
  bad one is reported with its reason, and there is no traceback.

Random YAML documents and mutated configs through ``chroma config validate`` are fuzzed in
``framework/tests/config/test_config_fuzz.py``.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.audio_decode import AUDIO_ABSENT_REASONS
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.midi.synthetic import synthetic_midi
from chroma_framework.scoring.run import Run, ScoringError, load_run
from chroma_framework.training.loop import train

pytestmark = pytest.mark.slow  # some 150 examples through the data layer and scoring, and a trained run

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
MIDI_ABSENT_REASONS = ("not_available", "missing_file", "corrupt", "empty")
#: Rows of the data set whose media the fuzz replaces; the others must read as before.
FUZZED_ROWS = 4


def _encoded(fmt: str, subtype: str | None) -> bytes:
    rate = 16_000
    t = np.arange(rate // 4) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = io.BytesIO()
    sf.write(out, tone, rate, format=fmt, subtype=subtype)
    return out.getvalue()


VALID_AUDIO = [_encoded("WAV", "PCM_16"), _encoded("FLAC", None), _encoded("OGG", "VORBIS")]
VALID_MIDI = synthetic_midi(3, bars=2)


@st.composite
def mutated(draw: st.DrawFn, valid: list[bytes]) -> bytes:
    """A valid file with 1-4 byte flips, insertions, deletions or a truncation; or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=256))
    data = bytearray(draw(st.sampled_from(valid)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            del data[at:]
    return bytes(data)


audio_blobs = mutated(VALID_AUDIO)
midi_blobs = mutated([VALID_MIDI])


# ---------------------------------------------------------------------------------------------- data layer
@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-data")
    write_synthetic(root, n_segments=40, seed=3, duration=0.5, lyric_embedding_dim=8)
    return root


def _config(root: Path, media: Path) -> dict[str, object]:
    return {
        "data": {"root": str(root), "media_path": str(media), "columns": {"lyric_embedding": "lyric_embedding"}},
        "preprocessing": {"audio": {"duration": 0.5}},
        "model": {"modalities": ["text", "audio", "midi"], "text_encoder": {"type": "precomputed", "dim": 8}},
    }


def _items(root: Path, media: Path) -> list[dict[str, object]]:
    ds = SegmentDataset(load_config(_config(root, media)), modalities=["audio", "midi"], with_labels=False)
    return [ds[i] for i in range(len(ds))]


def _comparable(item: dict[str, object]) -> tuple[object, ...]:
    audio, midi = item["audio"], item["midi"]
    return (
        item["absent"],
        None if audio is None else np.asarray(audio[0] if isinstance(audio, tuple) else audio).tobytes(),
        None if midi is None else np.asarray(midi).tobytes(),
    )


@pytest.fixture(scope="module")
def baseline(dataset: Path) -> list[dict[str, object]]:
    return _items(dataset, dataset / "training_segments_media.parquet")


def _both_present(items: list[dict[str, object]]) -> list[str]:
    """The first :data:`FUZZED_ROWS` segment ids whose audio and MIDI both read (their blobs get fuzzed)."""
    ids = [str(i["segment_id"]) for i in items if i["absent"] == {"audio": None, "midi": None}]
    assert len(ids) >= FUZZED_ROWS, ids
    return ids[:FUZZED_ROWS]


@FUZZ
@given(
    audio=st.lists(audio_blobs, min_size=FUZZED_ROWS, max_size=FUZZED_ROWS),
    midi=st.lists(midi_blobs, min_size=FUZZED_ROWS, max_size=FUZZED_ROWS),
)
def test_mutated_media_rows_are_present_or_absent_with_a_reason(
    dataset: Path, baseline: list[dict[str, object]], tmp_path: Path, audio: list[bytes], midi: list[bytes]
) -> None:
    table = pq.read_table(dataset / "training_segments_media.parquet")
    ids = table.column("segment_id").to_pylist()
    fuzzed = dict(zip(_both_present(baseline), zip(audio, midi)))
    waves = [fuzzed[s][0] if s in fuzzed else b for s, b in zip(ids, table.column("audio_waveform").to_pylist())]
    midis = [fuzzed[s][1] if s in fuzzed else b for s, b in zip(ids, table.column("midi_binary").to_pylist())]
    for name, values in (("audio_waveform", waves), ("midi_binary", midis)):
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, pa.binary()))
    media = tmp_path / "media.parquet"
    pq.write_table(table, media)

    items = _items(dataset, media)  # an exception here is the traceback the test forbids

    for item, before in zip(items, baseline):
        absent = item["absent"]
        assert isinstance(absent, dict)
        if item["segment_id"] not in fuzzed:
            assert _comparable(item) == _comparable(before), item["segment_id"]  # the run goes on, unchanged
            continue
        assert absent["audio"] is None or absent["audio"] in AUDIO_ABSENT_REASONS, absent
        assert absent["midi"] is None or absent["midi"] in MIDI_ABSENT_REASONS, absent
        if absent["audio"] is None:
            assert np.isfinite(
                np.asarray(item["audio"][0] if isinstance(item["audio"], tuple) else item["audio"])
            ).all()
        if absent["midi"] is None:
            assert np.isfinite(np.asarray(item["midi"])).all() and len(item["midi"]) > 0


# ------------------------------------------------------------------------------------------------- scoring
@pytest.fixture(scope="module")
def run_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch of late fusion over the classic audio and MIDI features (encoders rebuilt when scoring)."""
    out = tmp_path_factory.mktemp("fuzz-run")
    document = _config(dataset, dataset / "training_segments_media.parquet")
    document["data"]["embeddings_path"] = str(out / "embeddings.parquet")  # type: ignore[index]
    document["model"].update(  # type: ignore[attr-defined]
        audio_encoder={"type": "audio_features", "frozen": True},
        midi_encoder={"type": "midi_features", "frozen": True},
        fusion={"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]},
    )
    document["training"] = {"epochs": 1, "batch_size": 8, "progress": False}
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    assert main(["precompute", str(path), "--no-progress"]) == 0
    return train(load_config(path), out / "run").run_dir


@pytest.fixture(scope="module")
def run(run_dir: Path) -> Run:
    return load_run(run_dir)


def _assert_scores(scores: dict[str, dict[str, float]]) -> None:
    assert scores
    for head, probabilities in scores.items():
        values = list(probabilities.values())
        assert all(math.isfinite(p) and 0 <= p <= 1 for p in values), (head, probabilities)
        assert abs(sum(values) - 1) < 1e-4, (head, probabilities)


@FUZZ
@given(midi=midi_blobs)
def test_scoring_mutated_midi_bytes_gives_scores_or_a_scoring_error(run: Run, midi: bytes) -> None:
    try:
        scores = run.score(midi=midi)
    except ScoringError as exc:
        assert str(exc)
        return
    _assert_scores(scores)


@FUZZ
@given(audio=audio_blobs, suffix=st.sampled_from([".wav", ".flac", ".ogg"]), with_midi=st.booleans())
def test_scoring_mutated_audio_files_gives_scores_or_a_scoring_error(
    run: Run, tmp_path: Path, audio: bytes, suffix: str, with_midi: bool
) -> None:
    path = tmp_path / f"clip{suffix}"
    path.write_bytes(audio)
    try:
        scores = run.score(audio=path, midi=VALID_MIDI if with_midi else None)
    except ScoringError as exc:
        assert str(exc)
        return
    _assert_scores(scores)


@settings(FUZZ, max_examples=4)
@given(bad=st.lists(midi_blobs, min_size=2, max_size=4))
def test_score_command_scores_the_good_files_of_a_folder_and_names_the_bad(
    run_dir: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str], bad: list[bytes]
) -> None:
    folder = tmp_path_factory.mktemp("score-folder")
    (folder / "good.mid").write_bytes(VALID_MIDI)
    for i, blob in enumerate(bad):
        (folder / f"fuzzed{i}.mid").write_bytes(blob)
    capsys.readouterr()
    code = main(["score", "--run", str(run_dir), str(folder), "--json"])  # no exception: no traceback
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    results = json.loads(out)
    text = json.dumps(results)
    assert "good.mid" in text and all(f"fuzzed{i}.mid" in text for i in range(len(bad))), text


@pytest.mark.parametrize("damaged", ["midi", "audio"])
def test_score_command_on_one_mutated_file_is_a_named_error(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damaged: str
) -> None:
    midi, audio = tmp_path / "song.mid", tmp_path / "song.wav"
    midi.write_bytes(VALID_MIDI[: len(VALID_MIDI) // 2] if damaged == "midi" else VALID_MIDI)
    audio.write_bytes(VALID_AUDIO[0][: len(VALID_AUDIO[0]) // 2] if damaged == "audio" else VALID_AUDIO[0])
    capsys.readouterr()
    assert main(["score", "--run", str(run_dir), str(midi), "--audio", str(audio)]) == 2
    err = capsys.readouterr().err
    named = midi if damaged == "midi" else audio
    assert err.startswith("chroma: error: ") and str(named) in err and "Traceback" not in err, err

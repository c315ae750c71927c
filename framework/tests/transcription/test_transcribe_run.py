"""``chroma transcribe`` over a small data set with every kind of bad audio: candidates, reasons, the cache key
(model + thresholds + audio content), reuse, ``--force``, and a killed run resuming to the same file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.synthetic import midi_bytes, synthesize
from chroma_framework.data.transcribed_midi import read_rows
from chroma_framework.midi.parse import parse_midi
from chroma_framework.transcription.run import run_transcribe
from chroma_framework.transcription.transcriber import Transcriber, Transcription

pytestmark = pytest.mark.usefixtures("basic_pitch")

SR = 16_000
MELODY = np.array([(60 + d, 90, 0.4 * i, 0.35) for i, d in enumerate([0, 4, 7, 12, 7, 4])], float)
CHORDS = np.array([(r + k, 80, 0.7 * i, 0.6) for i, r in enumerate([57, 62, 64]) for k in (0, 3, 7)], float)

#: Segment -> reason its transcription has no MIDI (``None``: it has MIDI); segments absent here are no candidates.
EXPECTED = {
    "a_melody": None,
    "b_chords": None,
    "c_corrupt_midi": None,  # its real MIDI is garbage: transcribed from its audio instead
    "d_silent": "audio_silent",
    "e_short": "audio_too_short",
    "f_noise": "no_notes",
    "g_garbage": "audio_corrupt",
    "h_nan": "audio_non_finite",
    "i_rate0": "audio_bad_sample_rate",
    "j_bad_wav": "audio_corrupt",
}
#: Candidates whose audio the data layer cannot decode: they never reach the transcriber, and have no audio hash.
UNDECODABLE = {"g_garbage", "h_nan", "i_rate0", "j_bad_wav"}
#: Transcriber calls of a full run: every decodable candidate (a to f).
MODEL_CALLS = len(EXPECTED) - len(UNDECODABLE)


def _pcm(wave: np.ndarray) -> bytes:
    return np.asarray(wave, "<f4").tobytes()


def write_segments(root: Path) -> None:
    """Metadata and media parquet of :data:`EXPECTED`'s segments plus two that are not candidates."""
    rng = np.random.default_rng(0)
    melody = synthesize(MELODY, None, 2.5, SR, rng)
    audio: dict[str, tuple[bytes | None, int | None]] = {
        "a_melody": (_pcm(melody), SR),
        "b_chords": (_pcm(synthesize(CHORDS, None, 2.2, SR, rng)), SR),
        "c_corrupt_midi": (_pcm(melody[::-1].copy()), SR),
        "d_silent": (_pcm(np.zeros(2 * SR)), SR),
        "e_short": (_pcm(melody[: SR // 5]), SR),
        "f_noise": (_pcm(0.1 * rng.standard_normal(2 * SR)), SR),
        "g_garbage": (b"\x01\x02\x03\x04\x05", SR),
        "h_nan": (_pcm(np.r_[melody[:SR], np.nan]), SR),
        "i_rate0": (_pcm(melody), 0),
        "j_bad_wav": (b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 8, None),
        "k_real_midi": (_pcm(melody), SR),
        "l_nothing": (None, None),
    }
    midi = {"c_corrupt_midi": b"MThd garbage", "k_real_midi": midi_bytes(MELODY, None, 0)}
    ids = sorted(audio)
    pq.write_table(
        pa.table({"segment_id": ids, "has_audio": [audio[s][0] is not None for s in ids]}), root / "meta.parquet"
    )
    pq.write_table(
        pa.table(
            {
                "segment_id": ids,
                "audio_waveform": pa.array([audio[s][0] for s in ids], pa.binary()),
                "audio_sample_rate": pa.array([audio[s][1] for s in ids], pa.int32()),
                "midi_binary": pa.array([midi.get(s) for s in ids], pa.binary()),
            }
        ),
        root / "media.parquet",
        row_group_size=4,
    )


def config_dict(root: Path, cache: str = "transcribed.parquet", **settings: object) -> dict[str, object]:
    return {
        "data": {
            "root": str(root),
            "metadata_path": "meta.parquet",
            "media_path": "media.parquet",
            "transcribed_midi": {"path": cache, "chunk_size": 2, **settings},
        }
    }


@pytest.fixture
def segments(tmp_path: Path) -> Path:
    write_segments(tmp_path)
    return tmp_path


class Counting:
    """The real transcriber, counting its calls."""

    def __init__(self, config: ChromaConfig) -> None:
        assert config.data.transcribed_midi is not None
        self.inner = Transcriber(config.data.transcribed_midi)
        self.provenance = self.inner.provenance
        self.calls = 0

    def __call__(self, wave: np.ndarray, rate: int) -> Transcription:
        self.calls += 1
        return self.inner(wave, rate)


def _run(config: ChromaConfig, **kwargs: object) -> tuple[Counting, Callable[[], bytes]]:
    counting = Counting(config)
    result = run_transcribe(config, progress=False, transcriber=counting, **kwargs)  # type: ignore[arg-type]
    return counting, result.path.read_bytes


def test_every_segment_with_audio_and_no_midi_gets_midi_or_a_reason(segments: Path) -> None:
    config = load_config(config_dict(segments))
    counting, _ = _run(config)
    rows = {r.segment_id: r for r in read_rows(segments / "transcribed.parquet")}
    assert {s: r.reason for s, r in rows.items()} == EXPECTED
    assert counting.calls == MODEL_CALLS
    for sid, row in rows.items():
        assert row.provenance == counting.provenance
        if EXPECTED[sid] is None:
            assert row.status == "ok" and row.midi is not None and row.n_notes > 0
            assert parse_midi(row.midi).shape[0] == row.n_notes
        else:
            assert row.status == "absent" and row.midi is None and row.n_notes == 0
        assert (row.audio_hash is None) == (sid in UNDECODABLE)
    melody = rows["a_melody"].midi
    assert melody is not None and set(parse_midi(melody)[:, 0].tolist()) == set(MELODY[:, 0].tolist())


def test_rerun_reuses_and_changed_audio_or_thresholds_are_recomputed(segments: Path) -> None:
    config = load_config(config_dict(segments))
    _, first = _run(config)
    before = first()
    counting, again = _run(config)
    assert counting.calls == 0 and again() == before

    # New audio for one segment: only it reaches the model again; the other rows are kept as they were.
    media = pq.read_table(segments / "media.parquet").to_pydict()
    k = media["segment_id"].index("a_melody")
    media["audio_waveform"][k] = _pcm(synthesize(CHORDS, None, 2.2, SR, np.random.default_rng(5)))
    pq.write_table(pa.table(media, schema=pq.read_schema(segments / "media.parquet")), segments / "media.parquet")
    old = {r.segment_id: r for r in read_rows(segments / "transcribed.parquet")}
    result = run_transcribe(config, progress=False, transcriber=(counting := Counting(config)))
    assert counting.calls == 1
    assert (result.computed, result.reused) == (1 + len(UNDECODABLE), len(EXPECTED) - 1 - len(UNDECODABLE))
    new = {r.segment_id: r for r in read_rows(result.path)}
    assert new["a_melody"].audio_hash != old["a_melody"].audio_hash and new["a_melody"].midi != old["a_melody"].midi
    assert all(new[s] == old[s] for s in EXPECTED if s != "a_melody")

    # Other thresholds: another provenance, so every segment is transcribed again.
    strict = load_config(config_dict(segments, onset_threshold=0.75, frame_threshold=0.5))
    counting, _ = _run(strict)
    assert counting.calls == MODEL_CALLS
    assert {r.provenance for r in read_rows(result.path)} == {counting.provenance} != {old["b_chords"].provenance}


def test_force_recomputes_everything_and_gives_the_same_bytes(segments: Path) -> None:
    config = load_config(config_dict(segments))
    _, first = _run(config)
    before = first()
    counting, again = _run(config, force=True)
    assert counting.calls == MODEL_CALLS and again() == before


KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    from chroma_framework.config import load_config
    from chroma_framework.transcription.run import run_transcribe
    from chroma_framework.transcription.transcriber import Transcriber

    config = load_config(sys.argv[1])
    kill_at = int(sys.argv[2])
    inner = Transcriber(config.data.transcribed_midi)
    calls = 0

    def transcribe(wave, rate):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # dies at once: no cleanup, no final file
        return inner(wave, rate)

    run_transcribe(config, progress=False, transcriber=transcribe, provenance=inner.provenance)
    """
)


def test_a_killed_run_resumes_to_the_same_file_as_an_uninterrupted_one(segments: Path) -> None:
    uninterrupted = load_config(config_dict(segments, cache="straight.parquet"))
    _, straight = _run(uninterrupted)

    killed = config_dict(segments, cache="killed.parquet")
    path = segments / "killed.yaml"
    path.write_text(yaml.safe_dump(killed))
    kill_at = 5  # media order a, b, c, d, e, ...: chunks [a, b] and [c, d] are written, e's call kills it
    done = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(path), str(kill_at)],
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -9, done.stderr
    parts = segments / "killed.parquet.parts"
    assert not (segments / "killed.parquet").exists()
    assert len(list(parts.glob("part-*.parquet"))) == 2

    counting, resumed = _run(load_config(killed))
    assert counting.calls == MODEL_CALLS - (kill_at - 1)  # the four transcriptions in finished parts are not redone
    assert resumed() == straight()
    assert not parts.exists()


def test_cli_prints_the_counts_and_refuses_a_config_without_the_section(
    segments: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = segments / "config.yaml"
    path.write_text(yaml.safe_dump(config_dict(segments)))
    assert main(["transcribe", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "segments with audio and no MIDI: 10" in out and "with transcribed MIDI: 3" in out
    assert "no MIDI (audio_corrupt): 2" in out and "no MIDI (audio_silent): 1" in out
    assert f"transcribed MIDI: {segments / 'transcribed.parquet'}" in out

    bare = config_dict(segments)
    del bare["data"]["transcribed_midi"]  # type: ignore[attr-defined]
    path.write_text(yaml.safe_dump(bare))
    assert main(["transcribe", str(path), "--no-progress"]) == 2
    assert "data.transcribed_midi is not configured" in capsys.readouterr().err

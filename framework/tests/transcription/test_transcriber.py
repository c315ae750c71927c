"""basic-pitch on arrays: a rendered known melody and chords are recovered (mir_eval note F-measure), the
MIDI bytes are real and deterministic, thresholds act, bad audio gives no MIDI with a reason, and
TensorFlow is never imported even where it is installed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mir_eval
import numpy as np
import pretty_midi
import pytest

from chroma_framework.config.transcription import TranscribedMidiSection
from chroma_framework.data.synthetic import synthesize
from chroma_framework.midi.parse import parse_midi
from chroma_framework.transcription.transcriber import Transcriber, Transcription

pytestmark = pytest.mark.usefixtures("basic_pitch")

SR = 16_000  # not basic-pitch's 22 050 Hz: the transcriber resamples
#: Note F-measure bounds (pitch match, onset within 50 ms, offsets ignored). Measured at the default thresholds
#: (onset 0.6, frame 0.4): melody 1.00, chords 1.00 (0.96 at basic-pitch's own 0.5 / 0.3).
MELODY_MIN_F = 0.9
CHORDS_MIN_F = 0.8


def _melody() -> np.ndarray:
    """``[10, 4]`` (pitch, velocity, onset s, duration s): a C major scale up and back, 0.5 s apart."""
    return np.array([(60 + d, 90, 0.5 * i, 0.45) for i, d in enumerate([0, 2, 4, 5, 7, 9, 11, 12, 11, 9])], float)


def _chords() -> np.ndarray:
    """``[24, 4]``: eight major triads, 0.6 s apart."""
    roots = [60, 65, 67, 60, 57, 62, 67, 60]
    return np.array([(r + k, 90, 0.6 * i, 0.55) for i, r in enumerate(roots) for k in (0, 4, 7)], float)


def _render(notes: np.ndarray, seconds: float = 5.0) -> np.ndarray:
    return synthesize(notes, None, seconds, SR, np.random.default_rng(0))


def note_f_measure(reference: np.ndarray, estimated: Transcription) -> float:
    """mir_eval's note F-measure of ``estimated`` against ``reference`` (pitch, velocity, onset, duration) rows."""
    if estimated.notes.shape[0] == 0:
        return 0.0
    ref_intervals = np.c_[reference[:, 2], reference[:, 2] + reference[:, 3]]
    est = estimated.notes
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_intervals,
        mir_eval.util.midi_to_hz(reference[:, 0]),
        est[:, :2],
        mir_eval.util.midi_to_hz(est[:, 2]),
        onset_tolerance=0.05,
        offset_ratio=None,
    )
    return float(f)


@pytest.fixture(scope="module")
def transcriber(basic_pitch: None) -> Transcriber:
    return Transcriber(TranscribedMidiSection())


def test_a_rendered_melody_is_recovered(transcriber: Transcriber) -> None:
    melody = _melody()
    result = transcriber(_render(melody), SR)
    assert result.reason is None and result.midi is not None
    assert note_f_measure(melody, result) >= MELODY_MIN_F
    assert sorted(result.notes[:, 2].astype(int).tolist()) == sorted(melody[:, 0].astype(int).tolist())


def test_rendered_chords_are_recovered(transcriber: Transcriber) -> None:
    chords = _chords()
    assert note_f_measure(chords, transcriber(_render(chords), SR)) >= CHORDS_MIN_F


def test_midi_bytes_are_a_real_file_holding_the_notes_and_deterministic(transcriber: Transcriber) -> None:
    wave = _render(_melody())
    first, second = transcriber(wave, SR), transcriber(wave.copy(), SR)
    assert first.midi == second.midi
    assert first.midi is not None
    # pretty_midi (a second, independent reader) and chroma's parser see the same notes.
    pm = pretty_midi.PrettyMIDI(io.BytesIO(first.midi))
    read = np.array(sorted((n.start, n.pitch) for n in pm.instruments[0].notes))
    np.testing.assert_array_equal(read[:, 1], first.notes[:, 2])  # both sorted by onset
    np.testing.assert_allclose(read[:, 0], first.notes[:, 0], atol=1 / 960)  # one tick at 120 qpm, 480 tpq
    events = parse_midi(first.midi)
    assert events.shape[0] == first.notes.shape[0]
    np.testing.assert_allclose(np.sort(events[:, 0]), np.sort(first.notes[:, 2]))
    velocities = first.notes[:, 3]
    assert ((velocities >= 1) & (velocities <= 127)).all()


def test_thresholds_change_the_notes() -> None:
    wave = _render(_melody())
    # The melody's notes last 450 ms: a 600 ms minimum leaves none.
    assert Transcriber(TranscribedMidiSection(min_note_ms=600))(wave, SR).reason == "no_notes"
    # Middle C is 262 Hz: a 300 Hz floor drops it and keeps the rest.
    high = Transcriber(TranscribedMidiSection(min_frequency=300))(wave, SR)
    assert 60 not in high.notes[:, 2] and {62, 64, 72} <= set(high.notes[:, 2].astype(int).tolist())
    default, strict = TranscribedMidiSection(), TranscribedMidiSection(onset_threshold=0.75, frame_threshold=0.5)
    assert Transcriber(default).provenance != Transcriber(strict).provenance
    assert Transcriber(strict).provenance.startswith("transcribed:basic-pitch-")


@pytest.mark.parametrize(
    ("wave", "rate", "reason"),
    [
        (np.zeros(2 * SR, np.float32), SR, "audio_silent"),
        (np.full(2 * SR, 1e-4, np.float32), SR, "audio_silent"),  # -80 dBFS: below the -60 dBFS floor
        (_render(_melody())[: SR // 5], SR, "audio_too_short"),
        (np.zeros(0, np.float32), SR, "audio_empty"),
        (np.r_[np.zeros(SR, np.float32), np.nan], SR, "audio_non_finite"),
        (np.r_[np.zeros(SR, np.float32), np.inf], SR, "audio_non_finite"),
        (_render(_melody()), 0, "audio_bad_sample_rate"),
        (np.zeros((2, 2, SR), np.float32), SR, "audio_bad_shape"),
        ((0.1 * np.random.default_rng(1).standard_normal(2 * SR)).astype(np.float32), SR, "no_notes"),
    ],
    ids=["zeros", "minus80dB", "200ms", "empty", "nan", "inf", "rate0", "3d", "white-noise"],
)
def test_bad_silent_or_short_audio_gives_no_midi_and_a_reason(
    transcriber: Transcriber, wave: np.ndarray, rate: int, reason: str
) -> None:
    result = transcriber(wave, rate)
    assert (result.midi, result.reason, result.notes.shape) == (None, reason, (0, 4))


def test_stereo_is_mixed_down(transcriber: Transcriber) -> None:
    mono = _render(_melody())
    assert transcriber(np.stack([mono, mono]), SR).midi == transcriber(mono, SR).midi


def test_tensorflow_is_never_imported_even_when_installed(tmp_path: Path) -> None:
    """A planted ``tensorflow`` package that records its import stays unimported while basic-pitch loads and runs."""
    fake = tmp_path / "site" / "tensorflow"
    fake.mkdir(parents=True)
    marker = tmp_path / "imported"
    (fake / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    script = textwrap.dedent(
        """
        import sys, numpy as np
        import tensorflow  # the planted package is importable: the probe below would find it
        del sys.modules["tensorflow"]
        import os; os.remove(sys.argv[1])
        from chroma_framework.config.transcription import TranscribedMidiSection
        from chroma_framework.transcription.transcriber import Transcriber
        t = np.arange(16000 * 2) / 16000
        result = Transcriber(TranscribedMidiSection())((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
        assert result.midi is not None, result.reason
        assert "tensorflow" not in sys.modules
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(marker)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok" and not marker.exists()

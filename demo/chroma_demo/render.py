"""Segment notes to MIDI bytes, and MIDI notes to audio.

**MIDI** (:func:`midi_bytes`): one track per sounding part with its General MIDI
program, written with symusic at 480 ticks per quarter. The file holds no tempo,
time-signature or key-signature event and no track name: a reader applies the
standard default of 120 quarter notes per minute, at which the ticks are the
segment's real seconds (960 ticks per second). Nothing but the notes and programs
reaches the model, so labels cannot leak through meta events.

**Audio** (:func:`synthesize`): an additive wavetable synthesizer written with numpy.
Each General MIDI program family (:data:`FAMILIES`) has a harmonic spectrum, an
envelope (attack/decay/sustain/release, or a free exponential decay for struck and
plucked families) and a vibrato; voices add vowel formants. A note reads (nearest sample) a
band-limited single-cycle table of its family and pitch (harmonics above 0.45 of the
sample rate are left out), shaped by its envelope and scaled by its velocity.
The mix is scaled to an RMS of 0.1 and limited to a peak of 0.99.
When the ``fluidsynth`` program and a General MIDI soundfont are installed,
:func:`render_fluidsynth` renders the same notes with it instead, many segments per
FluidSynth run (see :func:`find_soundfont`).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

#: MIDI ticks per quarter note of the written files.
TICKS_PER_QUARTER = 480
#: Ticks per second at the default tempo of 120 quarters per minute.
TICKS_PER_SECOND = TICKS_PER_QUARTER * 2
#: Wavetable length (a power of two: phases wrap with a bit mask).
TABLE_SIZE = 8192
TARGET_RMS = 0.1


def midi_bytes(notes: np.ndarray, programs: tuple[int, ...]) -> bytes:
    """A standard MIDI file of ``[n, 5]`` segment notes (onset s, duration s, pitch, velocity, part)."""
    import symusic

    score = symusic.Score(TICKS_PER_QUARTER)
    for part in np.unique(notes[:, 4]).astype(int):
        track = symusic.Track(program=int(programs[part]), is_drum=False)
        for onset, duration, pitch, velocity, _ in notes[notes[:, 4] == part]:
            start = int(round(onset * TICKS_PER_SECOND))
            length = max(1, int(round(duration * TICKS_PER_SECOND)))
            track.notes.append(symusic.Note(start, length, int(pitch), int(np.clip(velocity, 1, 127))))
        score.tracks.append(track)
    return bytes(score.dumps_midi())


@dataclass(frozen=True)
class Family:
    """Timbre of one General MIDI program family.

    Attributes:
        harmonics: relative amplitude of harmonic 1, 2, ...
        attack: seconds to full level.
        decay: seconds from full level to ``sustain`` (sustained families), or the
            time constant of the free exponential decay at middle C (``percussive``).
        sustain: level held until the note ends (sustained families).
        release: seconds to silence after the note ends.
        vibrato: ``(depth as a fraction of the frequency, rate in Hz)``.
        percussive: struck/plucked: the level decays freely from the attack on.
        formants: ``(centre Hz, bandwidth Hz)`` resonances weighting the harmonics (voices).
    """

    harmonics: tuple[float, ...]
    attack: float
    decay: float
    sustain: float
    release: float
    vibrato: tuple[float, float] = (0.0, 0.0)
    percussive: bool = False
    formants: tuple[tuple[float, float], ...] = ()


def _series(n: int, power: float, odd_only: bool = False) -> tuple[float, ...]:
    return tuple((0.0 if odd_only and k % 2 == 0 else 1.0) / k**power for k in range(1, n + 1))


_PIANO = Family(_series(14, 1.4), 0.004, 1.6, 0.0, 0.12, percussive=True)
_MALLET = Family((1.0, 0.0, 0.0, 0.35, 0.0, 0.0, 0.0, 0.0, 0.0, 0.12), 0.002, 0.7, 0.0, 0.1, percussive=True)
_ORGAN = Family((1.0, 0.8, 0.55, 0.0, 0.3, 0.0, 0.0, 0.22, 0.0, 0.0, 0.0, 0.1), 0.015, 0.05, 1.0, 0.06)
_GUITAR = Family(_series(16, 1.5), 0.003, 1.0, 0.0, 0.08, percussive=True)
_BASS = Family(_series(10, 2.0), 0.005, 1.4, 0.0, 0.08, percussive=True)
_STRINGS = Family(_series(20, 1.0), 0.08, 0.12, 0.85, 0.18, vibrato=(0.004, 5.5))
_VOICE = Family(
    _series(24, 0.8),
    0.12,
    0.15,
    0.9,
    0.22,
    vibrato=(0.006, 5.0),
    formants=((700.0, 130.0), (1220.0, 90.0), (2600.0, 160.0)),
)
_BRASS = Family(_series(16, 0.9), 0.04, 0.1, 0.9, 0.1, vibrato=(0.002, 5.0))
_REED = Family(_series(15, 1.0, odd_only=True), 0.03, 0.08, 0.9, 0.08, vibrato=(0.002, 5.0))
_PIPE = Family((1.0, 0.18, 0.06, 0.02), 0.05, 0.1, 0.9, 0.1, vibrato=(0.004, 5.0))

#: Timbre of each General MIDI family of eight programs (program // 8).
FAMILIES: tuple[Family, ...] = (
    _PIANO, _MALLET, _ORGAN, _GUITAR, _BASS, _STRINGS, _STRINGS, _BRASS,
    _REED, _PIPE, _ORGAN, _STRINGS, _ORGAN, _GUITAR, _MALLET, _MALLET,
)  # fmt: skip


def family_of(program: int) -> Family:
    """The :class:`Family` of General MIDI ``program`` (0-127); programs 52-54 are voices."""
    return _VOICE if 52 <= program <= 54 else FAMILIES[program // 8]


def midi_hz(pitch: float) -> float:
    """Frequency of MIDI ``pitch`` in equal temperament (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


@lru_cache(maxsize=4096)
def _table(family: Family, pitch: int, sample_rate: int) -> np.ndarray:
    """``[TABLE_SIZE]`` float32 band-limited single cycle of ``family`` at ``pitch``, peak 1."""
    f0 = midi_hz(pitch)
    phase = np.arange(TABLE_SIZE) / TABLE_SIZE * 2 * np.pi
    wave = np.zeros(TABLE_SIZE)
    for k, amp in enumerate(family.harmonics, start=1):
        if k * f0 >= 0.45 * sample_rate or amp == 0.0:
            continue
        gain = 1.0
        if family.formants:
            gain = 0.15 + sum(np.exp(-0.5 * ((k * f0 - fc) / bw) ** 2) for fc, bw in family.formants)
        wave += amp * gain * np.sin(k * phase)
    peak = np.abs(wave).max()
    return (wave / peak if peak > 0 else wave).astype(np.float32)


@lru_cache(maxsize=64)
def _timeline(family: Family, sample_rate: int, samples: int) -> np.ndarray:
    """``[samples]`` float64 seconds from a note's onset, bent by the family's vibrato.

    Multiplied by a frequency it gives the cycles played, so one array serves every pitch.
    """
    t = np.arange(samples) / sample_rate
    depth, rate = family.vibrato
    if depth:
        t = t + depth * (1.0 - np.cos(2 * np.pi * rate * t)) / (2 * np.pi * rate)
    return t


def _envelope(family: Family, n_samples: int, sample_rate: int, duration: float, pitch: float) -> np.ndarray:
    """``[n_samples]`` float32 amplitude of a note held ``duration`` seconds."""
    env = np.ones(n_samples, dtype=np.float32)
    n_attack = min(n_samples, max(1, int(family.attack * sample_rate)))
    env[:n_attack] = np.linspace(0.0, 1.0, n_attack, endpoint=False, dtype=np.float32)
    if family.percussive:
        tau = family.decay * 2.0 ** (-(pitch - 60.0) / 24.0)
        env *= np.exp(-np.arange(n_samples, dtype=np.float32) / np.float32(tau * sample_rate))
    elif family.sustain < 1.0:
        n_decay = min(n_samples - n_attack, int(family.decay * sample_rate))
        env[n_attack : n_attack + n_decay] = np.linspace(1.0, family.sustain, n_decay, dtype=np.float32)
        env[n_attack + n_decay :] = family.sustain
    n_held = int(round(duration * sample_rate))
    if n_held < n_samples:
        fade = np.linspace(1.0, 0.0, max(1, int(family.release * sample_rate)), dtype=np.float32)
        tail = env[n_held:]
        tail *= np.pad(fade, (0, max(0, len(tail) - len(fade))))[: len(tail)]
    return env


def synthesize(notes: np.ndarray, programs: tuple[int, ...], sample_rate: int, length: float) -> np.ndarray:
    """``[round(length * sample_rate)]`` float32 mono audio of ``[n, 5]`` segment notes."""
    total = int(round(length * sample_rate))
    out = np.zeros(total, dtype=np.float32)
    mask = TABLE_SIZE - 1
    for onset, duration, pitch, velocity, part in notes:
        family = family_of(int(programs[int(part)]))
        start = int(round(onset * sample_rate))
        stop = min(total, start + int(round((duration + family.release) * sample_rate)))
        if stop <= start:
            continue
        n = stop - start
        cycles = _timeline(family, sample_rate, total)[:n] * (midi_hz(pitch) * TABLE_SIZE)
        wave = _table(family, int(pitch), sample_rate)[cycles.astype(np.int64) & mask]
        wave *= _envelope(family, n, sample_rate, duration, pitch)
        out[start:stop] += np.float32(velocity / 127.0) * wave
    return _master(out.astype(np.float64))


def _master(mix: np.ndarray) -> np.ndarray:
    """``mix`` scaled to :data:`TARGET_RMS`, peak limited to 0.99, as float32."""
    rms = float(np.sqrt(np.mean(mix**2)))
    if rms > 0:
        mix = mix * (TARGET_RMS / rms)
        peak = float(np.abs(mix).max())
        if peak > 0.99:
            mix = mix * (0.99 / peak)
    return mix.astype(np.float32)


#: Where Debian/Ubuntu and Fedora packages put General MIDI soundfonts.
SOUNDFONT_GLOBS = ("/usr/share/sounds/sf2/*.sf2", "/usr/share/soundfonts/*.sf2", "/usr/share/sounds/sf3/*.sf3")


def find_soundfont() -> Path | None:
    """``$CHROMA_SOUNDFONT`` if set, else the first installed GM soundfont, else ``None``."""
    env = os.environ.get("CHROMA_SOUNDFONT")
    if env:
        return Path(env) if Path(env).is_file() else None
    import glob

    for pattern in SOUNDFONT_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return Path(found[0])
    return None


def fluidsynth_available() -> bool:
    """Whether the ``fluidsynth`` program and a soundfont are installed."""
    return shutil.which("fluidsynth") is not None and find_soundfont() is not None


#: Channels a FluidSynth batch spreads parts over (channel 9 is General MIDI percussion).
_MELODIC_CHANNELS = tuple(c for c in range(16) if c != 9)
#: Silence between segments of a FluidSynth batch, longer than any release tail.
BATCH_GAP = 2.0


def _batch_midi(segments: list[tuple[np.ndarray, tuple[int, ...]]], stride: float) -> bytes:
    """One MIDI file playing ``segments`` one after another, segment ``k`` from ``k * stride`` seconds.

    Part ``j`` of every segment plays on melodic channel ``j`` (modulo 15), preceded by
    a program change at the segment's start, so one FluidSynth run renders them all.
    """
    import mido

    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message); offs sort before ons
    for k, (notes, programs) in enumerate(segments):
        base = k * stride
        for part in np.unique(notes[:, 4]).astype(int):
            channel = _MELODIC_CHANNELS[part % len(_MELODIC_CHANNELS)]
            tick = int(round(base * TICKS_PER_SECOND))
            events.append((tick, 1, mido.Message("program_change", channel=channel, program=int(programs[part]))))
            for onset, duration, pitch, velocity, _ in notes[notes[:, 4] == part]:
                on = int(round((base + onset) * TICKS_PER_SECOND))
                off = max(on + 1, int(round((base + onset + duration) * TICKS_PER_SECOND)))
                vel = int(np.clip(velocity, 1, 127))
                events.append((on, 2, mido.Message("note_on", channel=channel, note=int(pitch), velocity=vel)))
                events.append((off, 0, mido.Message("note_off", channel=channel, note=int(pitch), velocity=0)))
    track = mido.MidiTrack()
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    out = io.BytesIO()
    mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_QUARTER, tracks=[track]).save(file=out)
    return out.getvalue()


def render_fluidsynth(
    segments: list[tuple[np.ndarray, tuple[int, ...]]], sample_rate: int, length: float
) -> list[np.ndarray]:
    """``[round(length * sample_rate)]`` float32 mono audio of each ``(notes, programs)`` segment, by FluidSynth.

    The segments are rendered in one FluidSynth run (the soundfont loads once), spaced
    :data:`BATCH_GAP` seconds apart, then cut apart; each is cut at ``length`` seconds
    like :func:`synthesize` does.

    Raises:
        RuntimeError: FluidSynth or a soundfont is missing, or the program fails (its stderr is quoted).
    """
    exe, font = shutil.which("fluidsynth"), find_soundfont()
    if exe is None or font is None:
        raise RuntimeError("FluidSynth rendering needs the fluidsynth program and a General MIDI soundfont")
    stride = length + BATCH_GAP
    with tempfile.TemporaryDirectory(prefix="chroma-fs-") as tmp:
        mid, raw = Path(tmp) / "in.mid", Path(tmp) / "out.raw"
        mid.write_bytes(_batch_midi(segments, stride))
        cmd = [exe, "-ni", "-q", "-g", "0.6", "-r", str(sample_rate), "-T", "raw", "-O", "float",
               "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0",
               "-F", str(raw), str(font), str(mid)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not raw.exists():
            raise RuntimeError(f"fluidsynth failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        mono = np.frombuffer(raw.read_bytes(), dtype="<f4").reshape(-1, 2).mean(axis=1, dtype=np.float64)
    total = int(round(length * sample_rate))
    out = []
    for k in range(len(segments)):
        start = int(round(k * stride * sample_rate))
        clip = np.zeros(total, dtype=np.float64)
        piece = mono[start : start + total]
        clip[: len(piece)] = piece
        out.append(_master(clip))
    return out

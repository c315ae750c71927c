"""A small, deterministic synthetic dataset in the real two-file layout.

``write_synthetic(out_dir, n_segments=120, seed=0)`` writes
``training_segments_metadata.parquet`` (every non-binary column) and
``training_segments_media.parquet`` (the same columns plus ``audio_waveform``,
``audio_sample_rate``, ``midi_binary``), per-segment files under ``audio/`` and
``midi/`` for rows whose blob is null, and returns a :class:`SyntheticDataset`
with the paths and a ready ``DataSection``.

The same arguments give the same bytes, except inside OGG blobs (libvorbis
picks a random stream serial number).

Content is real: each segment's notes are written as a MIDI file with symusic,
and its audio is a harmonic synthesis of the same notes (drums as noise bursts).
Audio is stored mostly as raw little-endian float32 PCM, some rows as WAV, FLAC
or OGG bytes, some only on disk (``segment_audio_file``), and some deliberately
broken (the ``synthetic_audio_fault`` / ``synthetic_midi_fault`` columns say how,
so tests can check the data report). Missingness follows the real data: audio
about 85 %, MIDI about 43 % (12 % on the Blue album), lyrics about 60 % (rare on
the instrumental Yellow and Green albums). Songs have several segments; SMPTE
columns give the audio and MIDI windows, a few MIDI windows are shifted and only
some of those carry a correcting ``midi_offset_seconds``.

Label rule (each head needs different modalities):

* ``temporal_mode`` (Past/Present/Future) is carried by the lyrics' wording only:
  the tense words of each line. Audio and MIDI carry nothing of it.
* ``spatial_mode`` (Thing/Place/Person) is carried by pitch register and texture
  only, which MIDI and audio both hold: Thing = low sustained chords (MIDI 36-55),
  Place = mid-register arpeggios (55-72), Person = a high fast melody (72-91).
  Lyrics are drawn independently of it, so it cannot be inferred from text.
* ``ontological_mode`` (Imagined/Forgotten/Known) is
  ``ONTOLOGICAL[(temporal + spatial) % 3]``: it needs text *and* audio or MIDI.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf

from chroma_framework.config.data import DataSection

TEMPORAL = ("Past", "Present", "Future")
SPATIAL = ("Thing", "Place", "Person")
ONTOLOGICAL = ("Imagined", "Forgotten", "Known")
ALBUMS = ("Red", "Orange", "Yellow", "Green", "Blue", "Indigo", "Violet")
FPS = 30
SAMPLE_RATE = 44100
#: Lowest pitch, highest pitch, notes per second and notes per onset for each spatial class.
_REGISTER = {0: (36, 55, 1.5, 3), 1: (55, 72, 6.0, 1), 2: (72, 91, 10.0, 1)}
_TENSE_WORDS = {
    0: ("yesterday", "remembered", "long ago", "we were", "once", "used to"),
    1: ("now", "today", "right now", "we are", "this moment", "still"),
    2: ("tomorrow", "someday", "we will", "soon", "going to", "one day"),
}
_FILLER = ("the light", "a song", "the colour", "our hands", "the water", "a voice", "the signal", "the rain")
_VERBS = ("burn", "fade", "sing", "turn", "glow", "fall", "shine", "call")
AUDIO_FAULTS = ("garbage_bytes", "nan_samples", "zero_sample_rate", "absurd_sample_rate", "missing_file", "bad_wav")
MIDI_FAULTS = ("garbage_bytes", "empty_midi", "missing_file")


@dataclass(frozen=True)
class SyntheticDataset:
    root: Path
    metadata_path: Path
    media_path: Path
    n_segments: int

    def data_section(self, **overrides: object) -> DataSection:
        """A ``data:`` section pointing at this dataset."""
        return DataSection(
            root=str(self.root),
            metadata_path=self.metadata_path.name,
            media_path=self.media_path.name,
            **overrides,  # type: ignore[arg-type]
        )


def smpte(seconds: float, fps: int = FPS) -> str:
    """``HH:MM:SS:FF`` (non-drop-frame) of ``seconds``."""
    frames = round(seconds * fps)
    ff = frames % fps
    total = frames // fps
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{ff:02d}"


def _notes(rng: np.random.Generator, spatial: int, duration: float) -> np.ndarray:
    """``[N, 4]`` (pitch, velocity, onset s, duration s) of one segment's pitched notes."""
    lo, hi, rate, poly = _REGISTER[spatial]
    step = 1.0 / rate
    onsets = np.arange(0.0, duration - step / 2, step)
    rows = []
    for t in onsets:
        root = int(rng.integers(lo, hi - 7 * (poly > 1)))
        pitches = [root, root + 4, root + 7][:poly]
        length = step * (0.95 if poly > 1 else float(rng.uniform(0.5, 0.9)))
        for p in pitches:
            rows.append((p, int(rng.integers(60, 111)), t, length))
    return np.asarray(rows, dtype=np.float64)


def _drums(rng: np.random.Generator, duration: float) -> np.ndarray:
    onsets = np.arange(0.0, duration - 0.1, 0.25)
    return np.asarray([(int(rng.choice([36, 38, 42])), 90, t, 0.1) for t in onsets], dtype=np.float64)


def midi_bytes(notes: np.ndarray, drums: np.ndarray | None, program: int, tpq: int = 480, bpm: float = 120.0) -> bytes:
    """A standard MIDI file holding ``notes`` (and a drum track) written with symusic."""
    import symusic

    ticks_per_second = tpq * bpm / 60.0
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, bpm))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    tracks = [(notes, program, False)] + ([(drums, 0, True)] if drums is not None and len(drums) else [])
    for events, prog, is_drum in tracks:
        track = symusic.Track(program=prog, is_drum=is_drum)
        for pitch, vel, onset, dur in events:
            track.notes.append(
                symusic.Note(
                    round(onset * ticks_per_second), max(1, round(dur * ticks_per_second)), int(pitch), int(vel)
                )
            )
        score.tracks.append(track)
    return score.dumps_midi()


def synthesize(
    notes: np.ndarray, drums: np.ndarray | None, duration: float, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """``[duration * sr]`` float32 mono audio of the notes (3 harmonics, decaying envelope)."""
    n = round(duration * sr)
    out = np.zeros(n, dtype=np.float64)
    for pitch, vel, onset, dur in notes:
        start, stop = int(onset * sr), min(n, int((onset + dur) * sr))
        if stop <= start:
            continue
        t = np.arange(stop - start) / sr
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in (1, 2, 3) if k * f0 < sr / 2)
        env = np.exp(-3.0 * t / max(dur, 1e-3)) * np.minimum(1.0, t * 200)
        out[start:stop] += (vel / 127.0) * tone * env
    if drums is not None:
        for _, vel, onset, dur in drums:
            start, stop = int(onset * sr), min(n, int((onset + dur) * sr))
            t = np.arange(stop - start) / sr
            out[start:stop] += 0.3 * (vel / 127.0) * rng.standard_normal(stop - start) * np.exp(-30 * t)
    out += 0.003 * rng.standard_normal(n)
    return (0.8 * out / max(np.abs(out).max(), 1e-6)).astype(np.float32)


def _lyrics(rng: np.random.Generator, temporal: int, lrc_start: float | None) -> str:
    lines = []
    for i in range(int(rng.integers(2, 4))):
        words = [str(rng.choice(_TENSE_WORDS[temporal])), str(rng.choice(_FILLER)), str(rng.choice(_VERBS))]
        order = rng.permutation(3)
        line = " ".join(words[j] for j in order)
        if lrc_start is not None:
            t = lrc_start + i * 0.6
            line = f"[{int(t // 60):02d}:{t % 60:05.2f}] {line}"
        lines.append(line)
    return "\n".join(lines)


def encoded_audio(wave: np.ndarray, sr: int, fmt: str) -> bytes:
    """``wave`` as the bytes of a WAV, FLAC or OGG file."""
    # PCM_16 WAV: libsndfile stamps float WAVs with a time-dependent PEAK chunk.
    subtype = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS"}[fmt]
    buf = io.BytesIO()
    sf.write(buf, wave, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def _storage_plan(
    rng: np.random.Generator, rows: np.ndarray, forced: tuple[str, ...], weights: dict[str, float]
) -> dict[int, str]:
    """Storage kind of each row in ``rows``; every kind in ``forced`` is used at least once when rows allow."""
    plan: dict[int, str] = {}
    order = rng.permutation(rows)
    for kind, row in zip(forced, order):
        plan[int(row)] = kind
    kinds, probs = zip(*weights.items())
    p = np.asarray(probs) / sum(probs)
    for row in order[len(forced) :]:
        plan[int(row)] = str(rng.choice(kinds, p=p))
    return plan


def write_synthetic(
    out_dir: str | Path,
    n_segments: int = 120,
    seed: int = 0,
    *,
    duration: float = 1.0,
    row_group_size: int = 16,
    lyric_embedding_dim: int | None = None,
) -> SyntheticDataset:
    """Write the synthetic dataset (see module docstring) to ``out_dir``.

    Args:
        out_dir: destination directory (created).
        n_segments: number of segments; at least 40 guarantees every storage and fault kind.
        seed: all randomness derives from it; the same arguments give the same bytes.
        duration: seconds of audio and MIDI per segment.
        row_group_size: rows per parquet row group.
        lyric_embedding_dim: also write a precomputed ``lyric_embedding`` column
            (hashed bag of words, L2-normalised; null for rows without lyrics).
    """
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "midi").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    song_of, seg_in_song = [], []
    song = 0
    while len(song_of) < n_segments:
        k = int(rng.integers(2, 6))
        for j in range(k):
            song_of.append(song)
            seg_in_song.append(j)
        song += 1
    song_of, seg_in_song = song_of[:n_segments], seg_in_song[:n_segments]
    n_songs = song_of[-1] + 1
    song_album = [ALBUMS[i] for i in rng.integers(0, len(ALBUMS), n_songs)]
    song_bpm = rng.integers(70, 160, n_songs)

    album = np.array([song_album[s] for s in song_of])
    p_audio = np.where(album == "Blue", 0.96, 0.83)
    p_midi = np.where(album == "Blue", 0.12, 0.52)
    p_vocals = np.where(np.isin(album, ["Yellow", "Green"]), 0.15, 0.82)
    has_audio = rng.random(n_segments) < p_audio
    has_midi = rng.random(n_segments) < p_midi
    vocals = rng.random(n_segments) < p_vocals
    temporal = rng.integers(0, 3, n_segments)
    spatial = rng.integers(0, 3, n_segments)
    ontological = (temporal + spatial) % 3

    audio_plan = _storage_plan(
        rng,
        np.flatnonzero(has_audio),
        ("pcm", "wav", "flac", "ogg", "disk", "pcm22050", *AUDIO_FAULTS),
        {"pcm": 0.68, "pcm22050": 0.05, "wav": 0.07, "flac": 0.06, "ogg": 0.02, "disk": 0.07, "fault": 0.05},
    )
    midi_plan = _storage_plan(
        rng, np.flatnonzero(has_midi), ("blob", "disk", *MIDI_FAULTS), {"blob": 0.82, "disk": 0.12, "fault": 0.06}
    )
    fault_rng = np.random.default_rng(seed + 1)
    for plan, faults in ((audio_plan, AUDIO_FAULTS), (midi_plan, MIDI_FAULTS)):
        for row, kind in plan.items():
            if kind == "fault":
                plan[row] = str(fault_rng.choice(faults))

    cols: dict[str, list] = {
        name: []
        for name in (
            "segment_id",
            "song_id",
            "song_title",
            "segment_index",
            "rainbow_color",
            "bpm",
            "key_signature",
            "start_seconds",
            "end_seconds",
            "start_timecode",
            "end_timecode",
            "midi_start_timecode",
            "midi_end_timecode",
            "midi_offset_seconds",
            "vocals",
            "lyric_text",
            "has_audio",
            "has_midi",
            "segment_audio_file",
            "midi_file",
            "temporal_mode",
            "spatial_mode",
            "ontological_mode",
            "synthetic_audio_fault",
            "synthetic_midi_fault",
        )
    }
    blobs: list[bytes | None] = []
    rates: list[int | None] = []
    midis: list[bytes | None] = []
    keys = ("C", "G", "D", "A", "E", "F", "Bb", "Eb")
    for i in range(n_segments):
        seg_rng = np.random.default_rng([seed, i])
        sid = f"song{song_of[i]:03d}_seg{seg_in_song[i]:02d}"
        start = 12.0 + seg_in_song[i] * (duration + 0.5)
        end = start + duration
        notes = _notes(seg_rng, int(spatial[i]), duration)
        drums = _drums(seg_rng, duration) if seg_rng.random() < 0.3 else None
        program = int(seg_rng.choice([0, 4, 24, 48, 73]))

        # Alignment: ~8 % of MIDI windows are shifted by 0.5 s; half of those carry a correcting offset.
        shift, offset = 0.0, None
        if seg_rng.random() < 0.08:
            shift = 0.5
            offset = -0.5 if seg_rng.random() < 0.5 else None
        text = ""
        if vocals[i]:
            text = (
                ""
                if seg_rng.random() < 0.06
                else _lyrics(seg_rng, int(temporal[i]), start if seg_rng.random() < 0.3 else None)
            )

        audio_kind = audio_plan.get(i)
        audio_fault = audio_kind if audio_kind in AUDIO_FAULTS else None
        blob, rate, audio_file = None, None, None
        if audio_kind is not None:
            sr = 22050 if audio_kind == "pcm22050" else SAMPLE_RATE
            wave = synthesize(notes, drums, duration, sr, seg_rng)
            rate = sr
            if audio_kind in ("pcm", "pcm22050"):
                blob = wave.astype("<f4").tobytes()
            elif audio_kind in ("wav", "flac", "ogg"):
                blob = encoded_audio(wave, sr, audio_kind.upper())
            elif audio_kind == "disk":
                audio_file = f"audio/{sid}.flac"
                sf.write(out / audio_file, wave, sr, format="FLAC", subtype="PCM_16")
                rate = None
            elif audio_kind == "garbage_bytes":
                blob = seg_rng.bytes(4 * 1000 + 3)
            elif audio_kind == "nan_samples":
                wave[::97] = np.nan
                blob = wave.astype("<f4").tobytes()
            elif audio_kind == "zero_sample_rate":
                blob, rate = wave.astype("<f4").tobytes(), 0
            elif audio_kind == "absurd_sample_rate":
                blob, rate = wave.astype("<f4").tobytes(), 50_000_000
            elif audio_kind == "missing_file":
                audio_file, rate = f"audio/{sid}_gone.wav", None
            elif audio_kind == "bad_wav":
                blob = encoded_audio(wave, sr, "WAV")[:60] + seg_rng.bytes(200)

        midi_kind = midi_plan.get(i)
        midi_fault = midi_kind if midi_kind in MIDI_FAULTS else None
        midi_blob, midi_file = None, None
        if midi_kind is not None:
            # A shifted MIDI window means the file's notes really sit ``shift`` seconds late.
            delay = np.array([0, 0, shift, 0])
            late_drums = drums + delay if drums is not None else None
            data = midi_bytes(notes + delay, late_drums, program, bpm=float(song_bpm[song_of[i]]))
            if midi_kind == "blob":
                midi_blob = data
            elif midi_kind == "disk":
                midi_file = f"midi/{sid}.mid"
                (out / midi_file).write_bytes(data)
            elif midi_kind == "garbage_bytes":
                midi_blob = b"MThd" + seg_rng.bytes(40)
            elif midi_kind == "empty_midi":
                midi_blob = midi_bytes(np.zeros((0, 4)), None, program)
            elif midi_kind == "missing_file":
                midi_file = f"midi/{sid}_gone.mid"

        row = {
            "segment_id": sid,
            "song_id": f"song{song_of[i]:03d}",
            "song_title": f"Synthetic Song {song_of[i]}",
            "segment_index": seg_in_song[i],
            "rainbow_color": album[i],
            "bpm": float(song_bpm[song_of[i]]),
            "key_signature": keys[song_of[i] % len(keys)],
            "start_seconds": start,
            "end_seconds": end,
            "start_timecode": smpte(start),
            "end_timecode": smpte(end),
            "midi_start_timecode": smpte(start + shift) if midi_kind else None,
            "midi_end_timecode": smpte(end + shift) if midi_kind else None,
            "midi_offset_seconds": offset,
            "vocals": bool(vocals[i]),
            "lyric_text": text if vocals[i] else None,
            "has_audio": bool(has_audio[i]),
            "has_midi": bool(has_midi[i]),
            "segment_audio_file": audio_file,
            "midi_file": midi_file,
            "temporal_mode": TEMPORAL[temporal[i]],
            "spatial_mode": SPATIAL[spatial[i]],
            "ontological_mode": ONTOLOGICAL[ontological[i]],
            "synthetic_audio_fault": audio_fault,
            "synthetic_midi_fault": midi_fault,
        }
        for k, v in row.items():
            cols[k].append(v)
        blobs.append(blob)
        rates.append(rate)
        midis.append(midi_blob)

    meta = pa.table(cols)
    if lyric_embedding_dim:
        meta = meta.append_column(
            "lyric_embedding",
            pa.array(
                [hashed_bag_of_words(t, lyric_embedding_dim) if t else None for t in cols["lyric_text"]],
                type=pa.list_(pa.float32()),
            ),
        )
    media = meta.append_column("audio_waveform", pa.array(blobs, type=pa.binary()))
    media = media.append_column("audio_sample_rate", pa.array(rates, type=pa.int32()))
    media = media.append_column("midi_binary", pa.array(midis, type=pa.binary()))
    meta_path = out / "training_segments_metadata.parquet"
    media_path = out / "training_segments_media.parquet"
    pq.write_table(meta, meta_path, row_group_size=row_group_size)
    pq.write_table(media, media_path, row_group_size=row_group_size)
    return SyntheticDataset(out, meta_path, media_path, n_segments)


def hashed_bag_of_words(text: str, dim: int) -> list[float]:
    """A deterministic L2-normalised hashed bag of lowercase words of ``text`` without LRC tags (``dim`` floats)."""
    import zlib

    from chroma_framework.data.lyrics import strip_lrc

    vec = np.zeros(dim, dtype=np.float32)
    for word in strip_lrc(text).lower().split():
        vec[zlib.crc32(word.encode()) % dim] += 1.0
    norm = float(np.linalg.norm(vec))
    return (vec / norm if norm else vec).tolist()

"""The demo data set built from real music21 scores: layout, leakage, rendering, caching, data layer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mido
import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import symusic

from chroma_demo.build import MANIFEST_NAME, DemoParams, build_demo_dataset, load_cached
from chroma_demo.labels import LABEL_CLASSES
from chroma_demo.render import fluidsynth_available, midi_hz, render_fluidsynth
from chroma_framework.config.data import ColumnsSection
from chroma_framework.config.schema import ChromaConfig

pytest.importorskip("music21")

WORKS = (
    ("chorales", "bach/bwv245.28.mxl"),
    ("madrigals", "monteverdi/madrigal.4.3.mxl"),
    ("fiddle_tunes", "ryansMammoth/AcaciaReel.abc"),
)
PARAMS = DemoParams(works=WORKS, midi_present=0.6, disk_fraction=0.25, synth="numpy")
COLS = ColumnsSection()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    return build_demo_dataset(tmp_path_factory.mktemp("demo"), PARAMS, workers=1, progress=False)


@pytest.fixture(scope="module")
def media(built) -> dict[str, list]:
    return pq.read_table(built.media_path).to_pydict()


def test_two_file_layout_with_the_configured_columns(built, media) -> None:
    meta = pq.read_table(built.metadata_path)
    for name in (
        COLS.segment_id, COLS.song, COLS.album, COLS.lyric_text, COLS.vocals, COLS.has_audio, COLS.has_midi,
        COLS.segment_audio_file, COLS.midi_file, COLS.split, *LABEL_CLASSES,
    ):  # fmt: skip
        assert name in meta.column_names, name
    assert not {COLS.audio_waveform, COLS.midi_binary, COLS.audio_sample_rate} & set(meta.column_names)
    assert set(media) == set(meta.column_names) | {COLS.audio_waveform, COLS.audio_sample_rate, COLS.midi_binary}
    assert media[COLS.segment_id] == meta.column(COLS.segment_id).to_pylist()
    assert pq.ParquetFile(built.media_path).schema_arrow.field(COLS.audio_sample_rate).type == "int32"
    assert built.summary["segments"] == meta.num_rows >= 6
    assert set(meta.column(COLS.album).to_pylist()) == {a for a, _ in WORKS}
    for head, classes in LABEL_CLASSES.items():
        assert set(meta.column(head).to_pylist()) <= set(classes)


def test_lyrics_come_from_the_vocal_scores_only(built) -> None:
    meta = pq.read_table(built.metadata_path).to_pydict()
    for album, vocals, text in zip(meta[COLS.album], meta[COLS.vocals], meta[COLS.lyric_text]):
        if album == "fiddle_tunes":
            assert vocals is False and text is None
        else:
            assert vocals is True
    chorale = [t for a, t in zip(meta[COLS.album], meta[COLS.lyric_text]) if a == "chorales"]
    assert chorale[0].startswith("Jesu Leiden, Pein und Tod")


def _stored_midi(built, media) -> list[bytes]:
    blobs = [b for b in media[COLS.midi_binary] if b is not None]
    files = [(built.root / f).read_bytes() for f in media[COLS.midi_file] if f is not None]
    assert blobs and files
    return blobs + files


def test_stored_midi_holds_notes_and_no_meta_event(built, media) -> None:
    for data in _stored_midi(built, media):
        midi = mido.MidiFile(file=io.BytesIO(data))
        metas = {msg.type for track in midi.tracks for msg in track if msg.is_meta}
        assert metas == {"end_of_track"}  # no tempo, time/key signature, track or instrument name
        score = symusic.Score.from_midi(data)
        assert sum(len(t.notes) for t in score.tracks) > 0
        assert not score.time_signatures and not score.key_signatures and not score.tempos


def test_metadata_does_not_name_the_piece(built) -> None:
    manifest = json.loads(built.manifest_path.read_text())
    meta = pq.read_table(built.metadata_path)
    text = " ".join(str(v) for col in meta.column_names if col != COLS.lyric_text for v in meta.column(col).to_pylist())
    for path in manifest["songs"].values():
        assert Path(path).stem not in text


def _audio(built, media) -> list[tuple[np.ndarray, int]]:
    out = []
    for blob, rate, path in zip(
        media[COLS.audio_waveform], media[COLS.audio_sample_rate], media[COLS.segment_audio_file]
    ):
        if blob is not None:
            out.append((np.frombuffer(blob, dtype="<f4"), rate))
        elif path is not None:
            wave, file_rate = sf.read(built.root / path, dtype="float32")
            out.append((wave, file_rate))
    return out


def test_audio_is_rendered_from_the_notes(built, media) -> None:
    audio = _audio(built, media)
    assert len(audio) == sum(media[COLS.has_audio])
    for wave, rate in audio:
        assert rate == PARAMS.sample_rate and wave.shape == (int(PARAMS.segment_seconds * rate),)
        assert np.isfinite(wave).all() and np.sqrt(np.mean(wave**2)) > 0.01


def test_fiddle_tune_audio_follows_its_melody(built, media) -> None:
    """Frame by frame, the strongest spectral peak sits on the pitch the (monophonic) tune plays."""
    rows = [i for i, a in enumerate(media[COLS.album]) if a == "fiddle_tunes" and media[COLS.audio_waveform][i]]
    assert rows
    i = rows[0]
    wave = np.frombuffer(media[COLS.audio_waveform][i], dtype="<f4")
    from chroma_demo.corpus import ALBUMS, load_piece
    from chroma_demo.segment import cut, windows

    album = next(a for a in ALBUMS if a.name == "fiddle_tunes")
    piece = load_piece(WORKS[2][1], album)
    index = int(media[COLS.segment_id][i].rsplit("_", 1)[1])
    notes = cut(piece, windows(piece, PARAMS.segment_seconds, album.max_segments_per_song)[index], 10.0)
    sr, hits, checked = PARAMS.sample_rate, 0, 0
    for onset, duration, pitch, _, _ in notes:
        if duration < 0.15:
            continue
        frame = wave[int((onset + 0.04) * sr) : int((onset + duration - 0.02) * sr)]
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(len(frame)), n=8 * len(frame)))
        peak = np.fft.rfftfreq(8 * len(frame), 1 / sr)[spectrum.argmax()]
        checked += 1
        hits += abs(12 * np.log2(peak / midi_hz(pitch))) < 0.5
    assert checked >= 5 and hits / checked > 0.9


def test_second_call_reuses_the_build_and_changes_rebuild(built, tmp_path: Path) -> None:
    stamps = {p: p.stat().st_mtime_ns for p in built.root.rglob("*") if p.is_file()}
    again = build_demo_dataset(built.root, PARAMS, workers=1, progress=False)
    assert again.reused and again.summary == built.summary
    assert {p: p.stat().st_mtime_ns for p in built.root.rglob("*") if p.is_file()} == stamps
    assert load_cached(built.root, DemoParams(works=WORKS, seed=1, synth="numpy")) is None
    # a damaged file is noticed through the manifest's hashes
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in built.root.rglob("*"):
        if p.is_file():
            target = copy / p.relative_to(built.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
    assert load_cached(copy, PARAMS) is not None
    midi_file = next((copy / "midi").glob("*.mid"))
    damaged = bytearray(midi_file.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    midi_file.write_bytes(bytes(damaged))
    assert load_cached(copy, PARAMS) is None


def test_build_is_reproducible(built, tmp_path: Path) -> None:
    other = build_demo_dataset(tmp_path / "again", PARAMS, workers=2, progress=False)
    first = json.loads(built.manifest_path.read_text())
    second = json.loads((other.root / MANIFEST_NAME).read_text())
    assert first["files"] == second["files"]


def test_unreadable_work_is_skipped_and_reported(tmp_path: Path) -> None:
    params = DemoParams(works=(("chorales", "bach/no_such_chorale.mxl"), WORKS[2]), synth="numpy")
    built = build_demo_dataset(tmp_path, params, workers=1, progress=False)
    assert built.summary["segments"] >= 1
    assert len(built.summary["skipped_files"]) == 1 and "no_such_chorale" in built.summary["skipped_files"][0]
    assert not any(p.name.startswith(".staging") for p in tmp_path.iterdir())


def test_data_layer_reads_the_demo_set(built) -> None:
    from chroma_framework.data.dataset import SegmentDataset

    config = ChromaConfig(data=built.data_section())
    config.preprocessing.midi.duration = PARAMS.segment_seconds
    dataset = SegmentDataset(config)
    meta = pq.read_table(built.metadata_path).to_pydict()
    assert dataset.segment_ids == meta[COLS.segment_id]
    for i, item in enumerate(dataset[j] for j in range(len(dataset))):
        assert (item["absent"]["audio"] is None) == meta[COLS.has_audio][i], item["absent"]
        assert (item["absent"]["midi"] is None) == meta[COLS.has_midi][i], item["absent"]
        assert (item["absent"]["text"] is None) == bool(meta[COLS.lyric_text][i])
    assert not dataset.alignment.flagged


def test_moderate_build_has_realistic_missingness_and_balanced_classes(tmp_path: Path) -> None:
    built = build_demo_dataset(tmp_path, DemoParams(max_segments=90, synth="numpy"), workers=1, progress=False)
    summary = built.summary
    assert summary["segments"] == 90 and len(summary["albums"]) == 6
    rates = summary["modality_present"]
    assert abs(rates["audio"] - 0.85) < 0.02
    assert 0.33 < rates["midi"] < 0.55
    assert 0.4 < rates["text"] < 0.8
    for head, counts in summary["classes"].items():
        assert min(counts.values()) >= 20, (head, counts)


@pytest.mark.skipif(not fluidsynth_available(), reason="fluidsynth and a GM soundfont are not installed")
def test_fluidsynth_renders_each_segment_of_a_batch_at_its_pitch() -> None:
    segments = [
        (np.array([[0.1, 1.5, 69, 100, 0]]), (0,)),  # A4 on a piano
        (np.array([[0.2, 1.5, 76, 100, 0], [0.2, 1.5, 52, 1, 1]]), (40, 42)),  # E5 violin over a near-silent cello
        (np.zeros((0, 5)), (0,)),
    ]
    waves = render_fluidsynth(segments, 16000, 2.0)
    assert [w.shape for w in waves] == [(32000,)] * 3
    for (notes, _), wave in zip(segments[:2], waves):
        held = wave[int(0.4 * 16000) : int(1.5 * 16000)]
        spectrum = np.abs(np.fft.rfft(held * np.hanning(len(held))))
        peak = np.fft.rfftfreq(len(held), 1 / 16000)[spectrum.argmax()]
        ratio = peak / midi_hz(notes[0, 2])
        assert abs(ratio - round(ratio)) < 0.03 and round(ratio) in (1, 2), ratio
    assert not waves[2].any()  # nothing bleeds from the neighbours

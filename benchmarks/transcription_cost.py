"""Per-segment cost and accuracy of basic-pitch transcription (``chroma transcribe``) on rendered demo audio.

    python benchmarks/transcription_cost.py [--demo DIR] [--segments 20] [--thresholds 0.5/0.3,0.6/0.4]

Builds (or reuses) a small demo data set (music21 scores rendered to 16 kHz audio; ``--demo`` points at an
existing build instead), takes segments that have both audio and MIDI, and for each threshold setting prints:

* CPU seconds per 5 s and per 10 s segment (the first 5 s, and the whole 10 s segment), model loaded,
  one onnxruntime thread, mean / median / max over the segments, and the model's load time;
* the note F-measure against the segment's real MIDI with mir_eval (pitch match, onset within 50 ms,
  offsets ignored, drum notes left out), when mir_eval is installed: mean, median, and per General MIDI
  program family of the segment's first track.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chroma.contracts import midi_feature_index
from chroma_framework.config.transcription import TranscribedMidiSection
from chroma_framework.data.audio_decode import decode_audio_blob
from chroma_framework.midi.parse import parse_midi
from chroma_framework.transcription.transcriber import Transcriber, Transcription

FAMILIES = ("piano", "chrom.perc", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed", "pipe")


def demo_segments(demo: Path | None, count: int) -> list[tuple[str, np.ndarray, int, bytes]]:
    """``(segment id, wave, rate, MIDI bytes)`` of up to ``count`` demo segments with both audio and MIDI blobs,
    spread evenly over the data set's rows (so over its albums)."""
    from chroma_demo.build import DemoParams, build_demo_dataset

    if demo is None:
        out = Path(tempfile.gettempdir()) / "chroma-transcription-bench"
        built = build_demo_dataset(out, DemoParams(max_segments=max(6 * count, 60), synth="numpy"), progress=False)
        media = built.media_path
    else:
        media = next(demo.glob("*media*.parquet"))
    table = pq.read_table(media, columns=["segment_id", "audio_waveform", "audio_sample_rate", "midi_binary"])
    rows = table.to_pylist()
    both = [r for r in rows if r["audio_waveform"] is not None and r["midi_binary"] is not None]
    picked = [both[i] for i in np.unique(np.linspace(0, len(both) - 1, min(count, len(both))).round().astype(int))]
    out_rows = []
    for r in picked:
        wave, rate = decode_audio_blob(r["audio_waveform"], r["audio_sample_rate"])
        out_rows.append((str(r["segment_id"]), wave, rate, bytes(r["midi_binary"])))
    return out_rows


def note_f(reference: np.ndarray, estimated: Transcription) -> float:
    """mir_eval note F-measure; ``reference`` is ``[N, F]`` chroma MIDI events (pitched notes only)."""
    import mir_eval

    if reference.shape[0] == 0 or estimated.notes.shape[0] == 0:
        return float(reference.shape[0] == estimated.notes.shape[0])
    pitch, onset, duration = (reference[:, midi_feature_index(n)] for n in ("pitch", "onset", "duration"))
    est = estimated.notes
    return float(
        mir_eval.transcription.precision_recall_f1_overlap(
            np.c_[onset, onset + np.maximum(duration, 1e-3)],
            mir_eval.util.midi_to_hz(pitch),
            est[:, :2],
            mir_eval.util.midi_to_hz(est[:, 2]),
            onset_tolerance=0.05,
            offset_ratio=None,
        )[2]
    )


def _stats(values: list[float]) -> str:
    return f"mean {statistics.mean(values):.3f}, median {statistics.median(values):.3f}, max {max(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=None, help="an existing demo data directory (else one is built)")
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--thresholds", default="0.5/0.3,0.6/0.4", help="onset/frame pairs, comma-separated")
    args = parser.parse_args()
    try:
        import mir_eval  # noqa: F401

        have_mir_eval = True
    except ImportError:
        have_mir_eval = False
    segments = demo_segments(args.demo, args.segments)
    seconds = {len(w) / r for _, w, r, _ in segments}
    print(f"{len(segments)} demo segments with audio and MIDI ({', '.join(f'{s:g} s' for s in sorted(seconds))})")
    for pair in args.thresholds.split(","):
        onset, frame = (float(x) for x in pair.split("/"))
        began = time.process_time()
        transcriber = Transcriber(TranscribedMidiSection(onset_threshold=onset, frame_threshold=frame))
        load = time.process_time() - began
        cost: dict[int, list[float]] = {5: [], 10: []}
        scores: dict[int, list[float]] = {5: [], 10: []}
        by_family: dict[str, list[float]] = {}
        for _, wave, rate, midi in segments:
            for length in (5, 10):
                clip = wave[: length * rate]
                began = time.process_time()
                result = transcriber(clip, rate)
                cost[length].append(time.process_time() - began)
                if have_mir_eval:
                    reference = parse_midi(midi, start=0.0, end=float(length), drums="drop")
                    scores[length].append(note_f(reference, result))
            if have_mir_eval:
                events = parse_midi(midi, drums="drop")
                family = FAMILIES[int(events[0, midi_feature_index("program")]) // 8] if len(events) else "none"
                by_family.setdefault(family, []).append(scores[10][-1])
        print(f"onset {onset:g} / frame {frame:g} (model load {load:.2f} CPU s):")
        for length in (5, 10):
            print(f"  CPU s per {length:>2d} s segment: {_stats(cost[length])}")
        if have_mir_eval:
            for length in (5, 10):
                print(f"  note F ({length:>2d} s, onset 50 ms, no offsets): {_stats(scores[length])}")
            print(
                "  note F (10 s) by the first note's GM family: "
                + ", ".join(f"{f} {statistics.mean(v):.2f} (n={len(v)})" for f, v in sorted(by_family.items()))
            )
        else:
            print("  (mir_eval not installed: no note F-measure)")


if __name__ == "__main__":
    main()

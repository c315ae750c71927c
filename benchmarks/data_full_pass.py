"""Full pass over a >= 2 GiB media parquet: the media reader and the whole loader against a
plain pyarrow read of the same rows and columns, and peak memory against the file size.

    python benchmarks/data_full_pass.py [--gib 2.0] [--workers 0] [--decode-threads 1] [--dir DIR] [--keep]

Generates the data under a new directory in /tmp (or ``--dir``): a small synthetic dataset of
10 s segments, its rows replicated under new segment ids and written row group by row group until
the media file reaches ``--gib``; a generated directory is deleted at the end unless ``--keep``.
Each measurement runs in a fresh subprocess so its peak RSS is its own, and its pass (from after
the imports to the last row) is timed in wall and CPU seconds (the CPU figure, DataLoader workers
included, is the stable one on a shared machine); the CPU of interpreter start-up and imports is
printed apart:

* plain pyarrow: ``read_row_group`` of every row group, the media columns the loader needs;
* the media reader: :class:`~chroma_framework.data.media.MediaReader` built (its id index) and
  every segment's row fetched in media order, 16 at a time (what precompute and the input cache
  build read through);
* the decode floor: the plain read plus only the work no loader can skip, timed apart: decoding
  the encoded audio (WAV/FLAC/OGG blobs and the files on disk), resampling what is not at
  44.1 kHz, parsing the MIDI; raw PCM at the target rate needs nothing but one copy into the batch;
* the loader: ``SegmentDataset`` + ``make_loader`` (audio decode, MIDI parse, collate), with
  ``--workers`` DataLoader processes and ``--decode-threads`` decode threads per process
  (``data.decode_threads``), with glibc's default malloc and with the mmap threshold pinned
  by :func:`chroma_framework.data.memory.fix_mmap_threshold` (as precompute and transcribe do).

Peak RSS is the measuring process's own high-water mark (``VmHWM``; ``ru_maxrss`` would start at
this driver's RSS, which a child inherits through fork and exec), and, with workers, the largest
worker's ``ru_maxrss``.

Targets: the reader and the loader within 1.5x the plain read; peak RSS < 1.5 GiB and < 1/4 of the
media file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW_GROUP = 16
#: The media columns the loader reads (audio and MIDI).
MEDIA_COLUMNS = ["audio_waveform", "audio_sample_rate", "midi_binary"]


def build(directory: Path, gib: float) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chroma_framework.data.synthetic import write_synthetic

    base = write_synthetic(directory / "base", n_segments=64, seed=11, duration=10.0, row_group_size=ROW_GROUP)
    meta = pq.read_table(base.metadata_path)
    media = pq.read_table(base.media_path)
    target = int(gib * 2**30)
    meta_parts = []
    with pq.ParquetWriter(directory / "training_segments_media.parquet", media.schema) as writer:
        copy = 0
        while (directory / "training_segments_media.parquet").stat().st_size < target:
            ids = pa.array([f"c{copy:03d}_{s}" for s in media.column("segment_id").to_pylist()])
            songs = pa.array([f"c{copy:03d}_{s}" for s in media.column("song_id").to_pylist()])
            part = media.set_column(0, "segment_id", ids).set_column(1, "song_id", songs)
            writer.write_table(part, row_group_size=ROW_GROUP)
            meta_parts.append(meta.set_column(0, "segment_id", ids).set_column(1, "song_id", songs))
            copy += 1
    pq.write_table(pa.concat_tables(meta_parts), directory / "training_segments_metadata.parquet")
    for sub in ("audio", "midi"):
        (directory / sub).mkdir(exist_ok=True)
        for f in (base.root / sub).iterdir():
            (directory / sub / f.name).write_bytes(f.read_bytes())


def _rows_read(directory: Path) -> dict:
    """Plain pyarrow: every row group's media columns."""
    import pyarrow.parquet as pq

    start, cpu, n, nbytes = time.perf_counter(), _cpu(), 0, 0
    pf = pq.ParquetFile(directory / "training_segments_media.parquet")
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=MEDIA_COLUMNS)
        nbytes += t.nbytes
        n += t.num_rows
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu, "segments": n, "bytes": nbytes}


def _reader_pass(directory: Path) -> dict:
    """The media reader: its id index, then every segment's row in media order, 16 at a time."""
    from chroma_framework.data.media import MediaReader

    start, cpu, nbytes = time.perf_counter(), _cpu(), 0
    reader = MediaReader(directory / "training_segments_media.parquet", "segment_id", MEDIA_COLUMNS)
    ids = sorted(reader.index, key=reader.index.__getitem__)
    for lo in range(0, len(ids), 16):
        for row in reader.rows(ids[lo : lo + 16]).values():
            nbytes += sum(v.size for v in (row["audio_waveform"], row["midi_binary"]) if v is not None)
    return {"seconds": time.perf_counter() - start, "cpu_seconds": _cpu() - cpu, "segments": len(ids), "bytes": nbytes}


def _decode_floor(directory: Path) -> dict:
    """The plain read plus the decode work no loader can skip (``decode_seconds``: its CPU time alone)."""
    import numpy as np
    import pyarrow.parquet as pq
    import torch

    from chroma.dsp.resampling import resample
    from chroma_framework.data.audio_decode import AudioDecodeError, blob_format, decode_audio_blob, load_audio_file
    from chroma_framework.data.media import column_values
    from chroma_framework.midi.errors import MidiParseError
    from chroma_framework.midi.parse import parse_midi

    torch.set_num_threads(1)
    meta = pq.read_table(directory / "training_segments_metadata.parquet", columns=["segment_id", "segment_audio_file"])
    files = dict(zip(meta.column(0).to_pylist(), meta.column(1).to_pylist(), strict=True))
    start, cpu, n, decode = time.perf_counter(), _cpu(), 0, 0.0
    pf = pq.ParquetFile(directory / "training_segments_media.parquet")
    for rg in range(pf.num_row_groups):
        t = pf.read_row_group(rg, columns=["segment_id", *MEDIA_COLUMNS])
        values = [column_values(t.column(c)) for c in t.column_names]
        for sid, blob, rate, midi in zip(*values, strict=True):
            n += 1
            clock = time.process_time()
            try:
                if blob is None and files[sid]:
                    wave, rate = load_audio_file(directory / files[sid])
                elif blob is not None and blob_format(blob) != "pcm_f32le":
                    wave, rate = decode_audio_blob(blob, rate)
                else:  # raw PCM: decoded only to be resampled
                    wave = np.frombuffer(blob, dtype="<f4").copy() if blob is not None and rate != 44100 else None
                if wave is not None and 1_000 <= rate <= 384_000 and rate != 44100:
                    resample(torch.from_numpy(wave), rate, 44100)
            except AudioDecodeError:
                pass
            try:
                if midi is not None:
                    parse_midi(bytes(midi), start=0.0, end=10.0)
            except MidiParseError:
                pass
            decode += time.process_time() - clock
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": _cpu() - cpu,
        "segments": n,
        "decode_seconds": decode,
    }


def _largest_row_group_bytes(path: Path) -> int:
    """Uncompressed bytes of the media columns in the largest row group (what one read holds)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    sizes = []
    for rg in range(meta.num_row_groups):
        group = meta.row_group(rg)
        cols = (group.column(j) for j in range(group.num_columns))
        sizes.append(sum(c.total_uncompressed_size for c in cols if c.path_in_schema in MEDIA_COLUMNS))
    return max(sizes)


def _chroma_pass(directory: Path, workers: int, threads: int, pinned: bool) -> dict:
    import torch

    from chroma_framework.config.schema import ChromaConfig
    from chroma_framework.data.dataset import SegmentDataset, make_loader
    from chroma_framework.data.memory import fix_mmap_threshold
    from chroma_framework.data.report import DataReport

    cfg = ChromaConfig.model_validate(
        {
            "data": {"root": str(directory), "decode_threads": threads},
            "preprocessing": {"audio": {"duration": 10.0, "sample_rate": 44100}},
        }
    )
    # One intra-op thread: per-segment tensors are small and the CPUs are shared.
    torch.set_num_threads(1)
    if pinned:  # as chroma precompute / chroma transcribe do
        fix_mmap_threshold()
    start, cpu, faults = time.perf_counter(), _cpu(), _minor_faults()
    ds = SegmentDataset(cfg)
    report = DataReport()
    for batch in make_loader(ds, batch_size=16, num_workers=workers):
        report.add_batch(batch["segment_id"], batch["absent"])
    seconds, cpu, faults = time.perf_counter() - start, _cpu() - cpu, _minor_faults() - faults
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "minor_faults": faults,
        "segments": report.segments,
        "present": report.present,
    }


def _measure(kind: str, directory: Path, workers: int, threads: int = 1) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--dir", str(directory), "--workers", str(workers)]
        + ["--decode-threads", str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the whole subprocess (interpreter start and imports included) and its DataLoader workers
    result["process_cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def _minor_faults() -> int:
    """Minor page faults of this process and its reaped children (each a fresh page mapped and zeroed)."""
    return sum(resource.getrusage(who).ru_minflt for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def _cpu() -> float:
    """User + system CPU seconds of this process and its reaped children (DataLoader workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="use (and keep) this directory instead of a new one under /tmp")
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes of the loader pass")
    parser.add_argument(
        "--decode-threads", type=int, default=1, help="data.decode_threads of the loader passes (default: 1)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated directory")
    kinds = ["pyarrow", "reader", "floor", "chroma", "chroma-pinned"]
    parser.add_argument("--measure", choices=kinds, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        if args.measure == "pyarrow":
            result = _rows_read(args.dir)
        elif args.measure == "reader":
            result = _reader_pass(args.dir)
        elif args.measure == "floor":
            result = _decode_floor(args.dir)
        else:
            result = _chroma_pass(args.dir, args.workers, args.decode_threads, pinned=args.measure == "chroma-pinned")
        # children (DataLoader workers) are counted separately; ru_maxrss is KiB on Linux.
        result["peak_rss_bytes"] = _own_peak_rss()
        result["peak_rss_children_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        print(json.dumps(result))
        return
    directory = args.dir or Path(tempfile.mkdtemp(prefix="chroma_bench_full_pass_", dir="/tmp"))
    try:
        _run(args, directory)
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
            print(f"removed {directory}")


def _run(args: argparse.Namespace, directory: Path) -> None:
    media = directory / "training_segments_media.parquet"
    if not media.exists() or media.stat().st_size < args.gib * 2**30:
        directory.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        build(directory, args.gib)
        print(f"built {media} in {time.perf_counter() - t:.1f} s")
    size = media.stat().st_size
    # interleaved: a warm-up plain read (page cache), then each measurement in turn
    _measure("pyarrow", directory, 0)
    plain = _measure("pyarrow", directory, 0)
    reader = _measure("reader", directory, 0)
    floor = _measure("floor", directory, 0)
    ours = _measure("chroma", directory, args.workers, args.decode_threads)
    # glibc's dynamic mmap threshold lets freed ~28 MB batch tensors fragment the heap;
    # the CLI pins it (chroma_framework.data.memory), returning them to the OS at once.
    tuned = _measure("chroma-pinned", directory, args.workers, args.decode_threads)
    print(
        f"media file: {size / 2**30:.2f} GiB, {ours['segments']} segments, {ROW_GROUP} per row group "
        f"(largest: {_largest_row_group_bytes(media) / 2**20:.0f} MiB of media columns), workers={args.workers}, "
        f"decode threads={args.decode_threads}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"present: {ours['present']}")
    for label, r in (
        ("plain pyarrow read_row_group (media columns)", plain),
        ("media reader (index + every row, zero-copy)", reader),
        ("decode floor: read + decode/resample/MIDI only", floor),
        ("loader: decode + MIDI parse + collate", ours),
        ("loader, mmap threshold pinned (as the CLI)", tuned),
    ):
        print(
            f"{label:48s} wall {r['seconds']:7.1f} s  CPU {r['cpu_seconds']:7.1f} s  "
            f"({r['segments'] / r['seconds']:.0f} segments/s)  peak RSS {_peak(r) / 2**20:.0f} MiB"
        )
    print(
        f"minor page faults in the loader's pass: {ours['minor_faults']} with the default allocators, "
        f"{tuned['minor_faults']} with the mmap threshold pinned (Arrow on glibc: every large buffer a fresh mapping)"
    )
    startup = {k: r["process_cpu_seconds"] - r["cpu_seconds"] for k, r in (("plain", plain), ("loader", ours))}
    print(
        f"start-up and imports (not in the figures above): CPU {startup['plain']:.1f} s for the plain read's process, "
        f"{startup['loader']:.1f} s for the loader's"
    )
    print(
        f"of the decode floor's CPU, {floor['decode_seconds']:.1f} s is decoding encoded audio, resampling and "
        f"parsing MIDI (no loader can skip it: {floor['decode_seconds'] / plain['cpu_seconds']:.2f}x the plain read)"
    )
    for label, r in (("media reader", reader), ("loader", ours), ("loader, pinned", tuned)):
        cpu_ratio = r["cpu_seconds"] / plain["cpu_seconds"]
        print(
            f"ratio {label} / plain pyarrow: wall {r['seconds'] / plain['seconds']:.2f}x, CPU {cpu_ratio:.2f}x "
            f"(target <= 1.5x: {'ok' if cpu_ratio <= 1.5 else 'MISSED'})"
        )
    for label, r in (("loader", ours), ("loader, pinned", tuned)):
        print(
            f"ratio {label} / decode floor: wall {r['seconds'] / floor['seconds']:.2f}x, "
            f"CPU {r['cpu_seconds'] / floor['cpu_seconds']:.2f}x (what the loader adds beyond unavoidable work)"
        )
    for label, r in (("media reader", reader), ("loader, default malloc", ours), ("loader, pinned", tuned)):
        value = _peak(r)
        print(
            f"peak RSS ({label}): {value / 2**20:.0f} MiB = {value / size:.3f} of file size "
            f"(targets: < 1536 MiB: {'ok' if value < 1.5 * 2**30 else 'MISSED'}, "
            f"< 0.25: {'ok' if value < size / 4 else 'MISSED'})"
        )


def _own_peak_rss() -> int:
    """This process's peak RSS in bytes: ``VmHWM`` (its own memory since exec), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak(result: dict) -> int:
    return max(result["peak_rss_bytes"], result["peak_rss_children_bytes"])


if __name__ == "__main__":
    main()

"""``chroma demo build-streams DIR``: per-frame feature streams for a built demo data set, as side files.

From the demo's rendered audio (decoded as training decodes it) it writes two streams a user could have supplied:
``audio_rms`` (RMS of each 0.1 s window, continuous) and ``audio_mel`` (a 16-band log-mel vector of each 0.08 s
window, an embedding stream at another rate, so alignment interpolates it), as NPZ side files
(``segment_id``, ``time``, values) under ``DIR/streams/``, plus ``DIR/demo_streams.yaml``: the demo's config with
``data.streams`` declaring them on the RMS windows' grid and the audio slot read from them by ``stream_projection``, and
``DIR/example_streams.npz``: the streams of one test segment (when the test split has audio) for
``chroma score --streams``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

#: The two streams: name -> (derived kind, hop seconds, dim, stream kind).
STREAMS: dict[str, tuple[str, float, int, str]] = {
    "audio_rms": ("audio_rms", 0.1, 1, "continuous"),
    "audio_mel": ("audio_mel", 0.08, 16, "embedding"),
}
#: Frames per second of the grid the streams are derived on (the side files' grid is the RMS windows).
GRID_RATE = 10.0
#: The stream whose timestamps are the frames the model reads (the mel vectors are interpolated onto them).
PRIMARY = "audio_rms"
#: Rate the demo renders audio at (derivation decodes it there, without resampling).
DEMO_AUDIO_RATE = 16_000


@dataclass(frozen=True)
class StreamFiles:
    """What :func:`write_demo_streams` wrote."""

    config: Path
    files: dict[str, Path]
    example: Path
    example_segment: str
    segments: dict[str, int]


def _derivation_config(demo: dict[str, Any]) -> Any:
    from chroma_framework.config import load_config

    sources = [
        {"name": name, "kind": kind, "dim": dim, "derived": derived, "hop": hop}
        for name, (derived, hop, dim, kind) in STREAMS.items()
    ]
    preprocessing = {**demo.get("preprocessing", {})}
    preprocessing["audio"] = {**preprocessing.get("audio", {}), "sample_rate": DEMO_AUDIO_RATE}
    grid = {"rate": GRID_RATE, "duration": float(preprocessing["audio"].get("duration", 10.0))}
    data = {**demo["data"], "streams": {"sources": sources, "grid": grid}}
    return load_config({**demo, "data": data, "preprocessing": preprocessing})


def streams_config(demo: dict[str, Any]) -> dict[str, Any]:
    """The demo config reading the written side files: ``data.streams`` and a ``stream_projection`` audio slot."""
    sources = [
        {
            "name": name,
            "kind": kind,
            "dim": dim,
            "file": f"streams/{name}.npz",
            "value_columns": [name],
            "max_gap": 0.5,
        }
        for name, (_, _, dim, kind) in STREAMS.items()
    ]
    model = {
        **demo["model"],
        "audio_encoder": {"type": "stream_projection", "frozen": False, "streams": list(STREAMS), "dim": 64},
    }
    training = {**demo["training"], "output_dir": str(Path(demo["training"]["output_dir"]).parent / "runs_streams")}
    data = {**demo["data"], "streams": {"sources": sources, "grid": {"primary": PRIMARY}}}
    return {**demo, "data": data, "model": model, "training": training}


def write_demo_streams(out_dir: str | Path) -> StreamFiles:
    """Derive and write the demo's streams, their config and the example segment's streams.

    Raises:
        FileNotFoundError: ``out_dir`` holds no ``demo.yaml`` (run ``chroma demo`` first).
    """
    from chroma_framework.atomic import atomic_write
    from chroma_framework.streams.sources import read_streams
    from chroma_framework.training.data import split_and_album

    root = Path(out_dir)
    demo_yaml = root / "demo.yaml"
    if not demo_yaml.is_file():
        raise FileNotFoundError(f"{demo_yaml} does not exist: build the demo first with `chroma demo --out {root}`")
    demo = yaml.safe_load(demo_yaml.read_text())
    derivation = _derivation_config(demo)
    batches = read_streams(derivation.data, derivation).batches()
    files, counts = {}, {}
    for batch in batches:
        name = batch.spec.name
        path = root / "streams" / f"{name}.npz"
        _write_npz(
            path,
            segment_id=np.asarray(batch.segment_ids, dtype=str)[batch.sample_segments()],
            time=batch.timestamps,
            **{name: batch.values.astype(np.float32)},
        )
        files[name], counts[name] = path, int((np.diff(batch.offsets) > 0).sum())
    split_of, _ = split_and_album(derivation)
    with_all = [i for i in range(len(batches[0].segment_ids)) if all(b.offsets[i + 1] > b.offsets[i] for b in batches)]
    if not with_all:
        raise ValueError(f"no segment of {root} has audio to derive the example streams from")
    # A test segment when there is one (the run never trained on it), else the first with audio.
    example_index = next((i for i in with_all if split_of.get(batches[0].segment_ids[i]) == "test"), with_all[0])
    example = root / "example_streams.npz"
    arrays = {}
    for batch in batches:
        times, values = batch.segment(example_index)
        arrays[f"{batch.spec.name}_times"], arrays[f"{batch.spec.name}_values"] = times, values
    _write_npz(example, **arrays)
    config_path = root / "demo_streams.yaml"
    text = "# Written by `chroma demo build-streams`: the demo with per-frame audio streams in the audio slot.\n"
    text += yaml.safe_dump(streams_config(demo), sort_keys=False)
    atomic_write(config_path, lambda tmp: tmp.write_text(text))
    return StreamFiles(config_path, files, example, batches[0].segment_ids[example_index], counts)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to the NPZ file ``path`` atomically (no pickles)."""
    from chroma_framework.atomic import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)

    atomic_write(path, write)

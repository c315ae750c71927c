"""A learnable precomputed-embeddings dataset for fast-path tests and benchmarks.

Writes the real two files the fast path reads: a metadata parquet (segment and
song ids, album, three label columns) and an embeddings parquet in the
:mod:`chroma_framework.data.embeddings` layout. Each modality's vectors are a class mean
plus unit Gaussian noise: text carries ``temporal_mode``, audio and MIDI carry
``spatial_mode``, and ``ontological_mode = (temporal + spatial) % 3`` needs text
and audio or MIDI. Presence follows the real data (text 60 %, audio 85 %, MIDI 43 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.data.embeddings import EmbeddingTable, write_embeddings

HEADS = {
    "temporal_mode": ("Past", "Present", "Future"),
    "spatial_mode": ("Thing", "Place", "Person"),
    "ontological_mode": ("Imagined", "Forgotten", "Known"),
}
ALBUMS = ("Red", "Orange", "Yellow", "Green", "Blue", "Indigo", "Violet")
PRESENCE = {"text": 0.60, "audio": 0.85, "midi": 0.43}
#: Which label each modality's class means encode.
CARRIES = {"text": "temporal_mode", "audio": "spatial_mode", "midi": "spatial_mode"}


def write_learnable_embeddings(
    root: str | Path,
    n_segments: int,
    dims: Mapping[str, int] | None = None,
    *,
    seed: int = 0,
    separation: float = 1.0,
    scale: Mapping[str, float] | None = None,
    segments_per_song: int = 4,
) -> Path:
    """Write ``training_segments_metadata.parquet`` and ``embeddings.parquet`` under ``root``.

    Args:
        root: output directory (created).
        n_segments: number of segments.
        dims: ``{modality: D}`` (default text 768, audio 512, MIDI 512).
        seed: all randomness derives from it.
        separation: distance scale of the class means (larger is easier).
        scale: per-modality multiplier of the vectors (e.g. ``{"audio": 1000}`` for an imbalanced setup).
        segments_per_song: consecutive segments sharing a song id (splits group by song).

    Returns:
        ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dims = dict(dims or {"text": 768, "audio": 512, "midi": 512})
    rng = np.random.default_rng(seed)
    songs = np.arange(n_segments) // segments_per_song
    ids = [f"song{s:05d}_seg{i % segments_per_song:02d}" for i, s in enumerate(songs)]
    temporal, spatial = rng.integers(0, 3, n_segments), rng.integers(0, 3, n_segments)
    codes = {"temporal_mode": temporal, "spatial_mode": spatial, "ontological_mode": (temporal + spatial) % 3}
    columns: dict[str, list[str]] = {
        "segment_id": ids,
        "song_id": [f"song{s:05d}" for s in songs],
        "rainbow_color": [ALBUMS[s % len(ALBUMS)] for s in songs],
    }
    columns.update({head: [names[c] for c in codes[head]] for head, names in HEADS.items()})
    pq.write_table(pa.table(columns), root / "training_segments_metadata.parquet")

    embeddings = {}
    for modality, d in dims.items():
        means = rng.normal(size=(3, d)).astype(np.float32) * separation / np.sqrt(d) * 4
        noise = rng.normal(size=(n_segments, d)).astype(np.float32) / np.sqrt(d) * 4
        embeddings[modality] = (means[codes[CARRIES[modality]]] + noise) * float((scale or {}).get(modality, 1.0))
    mask = np.stack(
        [
            rng.random(n_segments) < PRESENCE[m] if m in dims else np.zeros(n_segments, bool)
            for m in ("text", "audio", "midi")
        ],
        axis=1,
    )
    fingerprints = {m: f"synthetic-learnable-{seed}" for m in dims}
    write_embeddings(root / "embeddings.parquet", EmbeddingTable(ids, embeddings, mask, fingerprints))
    return root

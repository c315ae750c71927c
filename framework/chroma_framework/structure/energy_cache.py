"""Energy targets of the frame heads, computed from each segment's decoded audio once and cached.

:func:`segment_energies` returns every segment's :func:`~chroma_framework.structure.targets.band_energy` curve.
They are kept beside the input caches in ``<data.input_cache_path>/energy-<key>.npz``, where ``key`` digests
what the curves are computed with: the ``structure.targets.energy_*`` settings, the sample rate the audio is
decoded at, the audio preprocessing settings (:func:`~chroma_framework.data.fingerprints.input_settings`) and
:data:`ENERGY_VERSION`. A changed setting is a new file, computed anew.

Inside a file each segment's curve is stored with its audio row digest
(:func:`~chroma_framework.data.precompute_inputs.row_digest`, the digest ``chroma precompute`` keys embeddings
on) and the file with the audio data identity (sizes and mtimes of the parquet and per-segment files,
:func:`~chroma_framework.data.precompute_inputs.data_identities`). When the identity matches, no row can have
changed and curves are read without touching the media; otherwise each wanted segment's digest is recomputed
(its raw bytes are read, not decoded) and only segments whose digest differs are decoded again. Segments
without usable audio are stored with an empty curve, so they are not decoded on every run either. The file is
written atomically; an unreadable one is recomputed with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chroma_framework.atomic import atomic_write
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.paths import resolve
from chroma_framework.structure.targets import band_energy

logger = logging.getLogger(__name__)

CACHE_KIND = "chroma.energy_targets"
CACHE_FORMAT = 1
#: Version of :func:`~chroma_framework.structure.targets.band_energy`'s output; bump when it changes.
ENERGY_VERSION = 1
#: Segments decoded at once.
DECODE_BATCH = 16


@dataclass
class EnergyCache:
    """The stored curves of one settings key.

    Attributes:
        identity: the audio data identity the entries are valid for.
        digests: ``{segment_id: audio row digest}``.
        curves: ``{segment_id: [F, bands] float32}`` (``F == 0``: the segment has no usable audio).
    """

    identity: str
    digests: dict[str, str]
    curves: dict[str, np.ndarray]


def energy_settings(config: ChromaConfig, sample_rate: int) -> dict[str, Any]:
    """What the energy curves of ``config``'s segments are computed with (the cache key's payload)."""
    from chroma_framework.data.fingerprints import input_settings

    targets = config.structure.targets
    return {
        "version": ENERGY_VERSION,
        "sample_rate": int(sample_rate),
        "targets": targets.model_dump(mode="json", include={n for n in type(targets).model_fields if "energy" in n}),
        "audio": input_settings(config, "audio"),
    }


def cache_path(config: ChromaConfig, sample_rate: int) -> Path:
    """``<data.input_cache_path>/energy-<key>.npz`` of ``config``'s energy settings at ``sample_rate``."""
    payload = json.dumps(energy_settings(config, sample_rate), sort_keys=True, default=str).encode()
    key = hashlib.sha256(payload).hexdigest()[:20]
    return resolve(config.data, config.data.input_cache_path) / f"energy-{key}.npz"


def read_cache(path: Path) -> EnergyCache | None:
    """The cache at ``path``; ``None`` when there is none or it cannot be read (with a warning)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta.get("kind") != CACHE_KIND or int(meta.get("format", 0)) != CACHE_FORMAT:
                raise ValueError(f"not a {CACHE_KIND} file of format {CACHE_FORMAT}")
            ids, digests = stored["segment_id"].tolist(), stored["digest"].tolist()
            offsets, values = stored["offsets"], stored["curves"]
            if len(offsets) != len(ids) + 1 or len(digests) != len(ids) or int(offsets[-1]) != len(values):
                raise ValueError("its arrays do not agree in length")
            curves = {sid: values[offsets[i] : offsets[i + 1]] for i, sid in enumerate(ids)}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        logger.warning("energy target cache %s is unreadable (%s); recomputing it", path, exc)
        return None
    return EnergyCache(str(meta["identity"]), dict(zip(ids, digests, strict=True)), curves)


def write_cache(path: Path, cache: EnergyCache, bands: int) -> None:
    """Write ``cache`` to ``path`` atomically."""
    ids = sorted(cache.curves)
    lengths = [len(cache.curves[sid]) for sid in ids]
    arrays = {
        "meta": np.array(json.dumps({"kind": CACHE_KIND, "format": CACHE_FORMAT, "identity": cache.identity})),
        "segment_id": np.array(ids, dtype=str),
        "digest": np.array([cache.digests[sid] for sid in ids], dtype=str),
        "offsets": np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int64),
        "curves": np.concatenate([np.zeros((0, bands), np.float32), *(cache.curves[sid] for sid in ids)]),
    }

    def save(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle

    atomic_write(path, save)


def segment_energies(config: ChromaConfig, segment_ids: list[str], sample_rate: int | None) -> dict[str, np.ndarray]:
    """``{segment_id: [F, bands]}`` band energy of each segment's audio (decoded and padded/truncated as for
    training at ``sample_rate``), read from the cache where it is up to date; segments without audio are left out.
    """
    from chroma_framework.data.dataset import DEFAULT_SAMPLE_RATE, SegmentDataset
    from chroma_framework.data.precompute_inputs import data_identities, row_digests

    rate = int(sample_rate or config.preprocessing.audio.sample_rate or DEFAULT_SAMPLE_RATE)
    path = cache_path(config, rate)
    identity = data_identities(config, ["audio"])["audio"]
    stored = read_cache(path) or EnergyCache(identity, {}, {})
    dataset = SegmentDataset(config, modalities=["audio"], audio_sample_rate=sample_rate, with_labels=False)
    wanted = set(segment_ids)
    rows = {dataset.segment_ids[i]: i for i in dataset.media_order().tolist() if dataset.segment_ids[i] in wanted}
    if stored.identity == identity:
        cache, todo = stored, [sid for sid in rows if sid not in stored.curves]
        digests = dict(zip(todo, row_digests(dataset, [rows[s] for s in todo], ["audio"])["audio"], strict=True))
    else:  # the files changed: keep only the curves whose audio digest is still the same
        digests = dict(zip(rows, row_digests(dataset, list(rows.values()), ["audio"])["audio"], strict=True))
        kept = [sid for sid, d in digests.items() if stored.digests.get(sid) == d]
        cache = EnergyCache(identity, {s: digests[s] for s in kept}, {s: stored.curves[s] for s in kept})
        todo = [sid for sid in rows if sid not in cache.curves]
    bands = len(config.structure.targets.energy_bands_hz)
    for start in range(0, len(todo), DECODE_BATCH):
        for item in dataset.__getitems__([rows[sid] for sid in todo[start : start + DECODE_BATCH]]):
            sid = item["segment_id"]
            curve = np.zeros((0, bands), np.float32)
            if item.get("audio") is not None:
                wave, length = item["audio"]
                curve = band_energy(np.asarray(wave)[: int(length)], rate, config.structure.targets)
            cache.curves[sid], cache.digests[sid] = curve, digests[sid]
    if todo or cache is not stored:
        write_cache(path, cache, bands)
    logger.info(
        "energy targets of %d segments: %d read from %s, %d computed", len(rows), len(rows) - len(todo), path, len(todo)
    )
    return {sid: cache.curves[sid] for sid in rows if len(cache.curves[sid])}

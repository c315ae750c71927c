"""The input cache: prepared inputs of every trainable encoder, written once by ``chroma precompute``.

A trainable (``frozen: false``) encoder that splits :meth:`~chroma.Encoder.prepare` from its network has the
prepared tensors of every segment where its modality is present written to::

    <data.input_cache_path>/<modality>-<key>/
        index.json        kind "chroma.input_cache": encoder, prepare fingerprint, key, segment ids
                          (row order of the arrays), absence reasons of the other segments, array dtypes/shapes
        <name>.npy        one array per prepared tensor, [N_present, ...], read memory-mapped

``key`` digests the encoder's :meth:`~chroma.Encoder.prepare_fingerprint`, the preprocessing settings that
shape its input and the identity of the data it read (size and modification time of the metadata and media
parquet files and of every per-segment media file), so a changed preprocessing or changed media is a new key
-- a recompute -- never a stale read. Rows are written chunk by chunk as part files under
``<modality>-<key>.parts/`` (a killed build resumes from them); the finished directory is renamed into place
atomically and older keys of the modality are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from chroma.contracts import Encoder
from chroma.errors import ConfigError
from chroma.modality import modality_index
from chroma.model import take_rows
from chroma_framework.atomic import atomic_write, write_json
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.paths import media_path, metadata_path, resolve

CACHE_KIND = "chroma.input_cache"
CACHE_FORMAT = 1
INDEX_JSON = "index.json"


class InputCacheError(ConfigError):
    """An input cache is missing, stale or unreadable (with the command that fixes it)."""


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _stat(path: Path) -> list[Any]:
    try:
        st = path.stat()
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]


def data_identity(config: ChromaConfig, modality: str) -> list[Any]:
    """Size and mtime of the metadata and media parquet files and of ``modality``'s per-segment files."""
    data = config.data
    meta = metadata_path(data)
    files = [_stat(meta), _stat(media_path(data))]
    column = {"audio": data.columns.segment_audio_file, "midi": data.columns.midi_file}.get(modality)
    if column and meta.is_file() and column in pq.read_schema(meta).names:
        for value in pq.read_table(meta, columns=[column]).column(column).to_pylist():
            if value:
                files.append(_stat(resolve(data, value)))
    return files


def cache_key(config: ChromaConfig, modality: str, encoder: Encoder) -> str:
    """The key of ``encoder``'s cache over the data ``config`` names (see the module docstring)."""
    from chroma_framework.data.fingerprints import input_settings

    payload = {
        "prepare": encoder.prepare_fingerprint(),
        "inputs": input_settings(config, modality),
        "sample_rate": encoder.sample_rate,
        "data": data_identity(config, modality),
    }
    return _digest(payload)


def cache_dir(config: ChromaConfig, modality: str, encoder: Encoder) -> Path:
    return resolve(config.data, config.data.input_cache_path) / f"{modality}-{cache_key(config, modality, encoder)}"


@dataclass
class InputCache:
    """An opened cache of one modality.

    Attributes:
        path: the cache directory.
        segment_ids: ``N`` ids, the row order of :attr:`arrays` (only segments where the modality is present).
        arrays: ``{name: [N, ...]}`` read-only memory maps.
        absent: ``{segment_id: reason}`` of the segments left out.
    """

    path: Path
    segment_ids: list[str]
    arrays: dict[str, np.ndarray]
    absent: dict[str, str]

    def index(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self.segment_ids)}

    def rows(self, rows: np.ndarray, pin: bool = False) -> dict[str, Tensor]:
        """``{name: [len(rows), ...]}`` CPU tensors of cache rows ``rows`` (sorted reads; pinned when ``pin``)."""
        order = np.argsort(rows, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        out = {}
        for name, array in self.arrays.items():
            tensor = torch.from_numpy(np.ascontiguousarray(array[rows[order]][inverse]))
            out[name] = tensor.pin_memory() if pin else tensor
        return out


def open_cache(path: Path) -> InputCache:
    """Open a finished cache directory (memory-mapped)."""
    index_path = path / INDEX_JSON
    if not index_path.is_file():
        raise InputCacheError(f"{path} is not a finished input cache (no {INDEX_JSON}); run `chroma precompute`")
    index = json.loads(index_path.read_text(encoding="utf-8"))
    if index.get("kind") != CACHE_KIND or int(index.get("format", 0)) > CACHE_FORMAT:
        raise InputCacheError(f"{index_path} is not an input cache this chroma reads; rerun `chroma precompute`")
    arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in index["arrays"]}
    return InputCache(path, list(index["segment_ids"]), arrays, dict(index["absent"]))


def load_input_cache(config: ChromaConfig, modality: str, encoder: Encoder) -> InputCache:
    """The cache of ``encoder`` over the current data.

    Raises:
        InputCacheError: none for the current preprocessing and media (changed since, or never built).
    """
    path = cache_dir(config, modality, encoder)
    if not (path / INDEX_JSON).is_file():
        raise InputCacheError(
            f"no input cache of the trainable {modality} encoder {encoder.name!r} for the current preprocessing "
            f"and media at {path} (changed since `chroma precompute`, or never built); run `chroma precompute CONFIG`"
        )
    return open_cache(path)


def _part_path(parts: Path, chunk: int) -> Path:
    return parts / f"chunk-{chunk:06d}.npz"


def _read_part(path: Path, ids: Sequence[str]) -> dict[str, np.ndarray] | None:
    """The part's arrays when it exists and covers exactly ``ids`` (present or not)."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as part:
        if part["segment_id"].tolist() != list(ids):
            return None
        return {k: part[k] for k in part.files}


def _prepare_chunk(
    encoder: Encoder, modality: str, loader: DataLoader, bar: Any
) -> tuple[list[str], np.ndarray, list[str], dict[str, np.ndarray]]:
    """``(ids, present [n] bool, reasons, {name: [n_present, ...]})`` of one chunk."""
    ids: list[str] = []
    present: list[np.ndarray] = []
    reasons: list[str] = []
    arrays: dict[str, list[np.ndarray]] = {}
    column = modality_index(modality)
    for batch in loader:
        ids.extend(batch["segment_id"])
        mask = batch["modality_mask"][:, column]
        present.append(mask.numpy())
        reasons.extend(str(a.get(modality) or "") for a in batch["absent"])
        rows = torch.nonzero(mask).flatten()
        if rows.numel():
            with torch.no_grad():
                prepared = encoder.prepare(take_rows(batch[modality], rows))
            for name, value in prepared.items():
                arrays.setdefault(name, []).append(value.detach().cpu().numpy())
        bar.update(1)
    stacked = {name: np.concatenate(values) for name, values in arrays.items()}
    return ids, np.concatenate(present) if present else np.zeros(0, bool), reasons, stacked


def build_input_cache(
    config: ChromaConfig, modality: str, encoder: Encoder, *, force: bool = False, progress: bool = True
) -> tuple[Path, bool]:
    """Write (or reuse) ``encoder``'s cache of every segment; returns ``(directory, computed)``.

    Raises:
        ValueError: ``encoder`` does not split preparation from its network.
    """
    from tqdm.auto import tqdm

    from chroma_framework.data.dataset import SegmentDataset

    if not encoder.splits_preparation:
        raise ValueError(
            f"the trainable {modality} encoder {encoder.name!r} does not implement prepare/forward_prepared, so its "
            "inputs cannot be cached; train it with training.mode: end_to_end, or freeze it (frozen: true)"
        )
    final = cache_dir(config, modality, encoder)
    if (final / INDEX_JSON).is_file() and not force:
        return final, False
    encoder.eval()
    dataset = SegmentDataset(
        config, modalities=[modality], audio_sample_rate=encoder.sample_rate, with_labels=False, train=False
    )
    parts = final.with_name(final.name + ".parts")
    if force:
        shutil.rmtree(parts, ignore_errors=True)
    data = config.data
    order = dataset.media_order()
    chunks = [order[i : i + data.precompute.chunk_size] for i in range(0, len(order), data.precompute.chunk_size)]
    ids_of = [[dataset.segment_ids[i] for i in chunk] for chunk in chunks]
    todo = [k for k in range(len(chunks)) if _read_part(_part_path(parts, k), ids_of[k]) is None]
    bs = data.precompute.batch_size
    bar = tqdm(
        total=sum(-(-len(chunks[k]) // bs) for k in todo),
        desc=f"input cache ({modality})",
        unit="batch",
        disable=not progress or not todo,
    )
    for k in todo:
        loader = DataLoader(
            Subset(dataset, chunks[k].tolist()),
            batch_size=bs,
            collate_fn=dataset.collate,
            num_workers=data.precompute.num_workers,
        )
        ids, present, reasons, arrays = _prepare_chunk(encoder, modality, loader, bar)
        payload = {"segment_id": np.array(ids), "present": present, "reason": np.array(reasons), **arrays}
        parts.mkdir(parents=True, exist_ok=True)
        atomic_write(_part_path(parts, k), partial(_save_npz, arrays=payload))
    bar.close()
    _assemble(final, encoder, modality, [_read_part(_part_path(parts, k), ids_of[k]) for k in range(len(chunks))])
    shutil.rmtree(parts, ignore_errors=True)
    for stale in final.parent.glob(f"{modality}-*"):
        if stale != final and stale.is_dir() and not stale.name.endswith(".parts"):
            shutil.rmtree(stale, ignore_errors=True)
    return final, True


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with path.open("wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle


def _assemble(final: Path, encoder: Encoder, modality: str, parts: list[dict[str, np.ndarray] | None]) -> None:
    """Concatenate the chunk parts into memory-mapped ``.npy`` files in a temporary directory, then rename it."""
    done = [p for p in parts if p is not None]
    meta_keys = {"segment_id", "present", "reason"}
    names = sorted({k for p in done for k in p if k not in meta_keys})
    ids = [str(s) for p in done for s, ok in zip(p["segment_id"].tolist(), p["present"].tolist()) if ok]
    absent = {
        str(s): str(r) or "absent"
        for p in done
        for s, ok, r in zip(p["segment_id"].tolist(), p["present"].tolist(), p["reason"].tolist())
        if not ok
    }
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shapes: dict[str, dict[str, Any]] = {}
    for name in names:
        first = next(p[name] for p in done if name in p)
        out = np.lib.format.open_memmap(
            tmp / f"{name}.npy", mode="w+", dtype=first.dtype, shape=(len(ids), *first.shape[1:])
        )
        start = 0
        for p in done:
            if name in p:
                out[start : start + len(p[name])] = p[name]
                start += len(p[name])
        out.flush()
        del out
        shapes[name] = {"dtype": str(first.dtype), "shape": list(first.shape[1:])}
    index = {
        "kind": CACHE_KIND,
        "format": CACHE_FORMAT,
        "modality": modality,
        "encoder": encoder.name,
        "version": encoder.version,
        "prepare_fingerprint": encoder.prepare_fingerprint(),
        "segment_ids": ids,
        "absent": absent,
        "arrays": shapes,
    }
    write_json(tmp / INDEX_JSON, index)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


@dataclass
class InputCacheResult:
    """What :func:`build_input_caches` did.

    Attributes:
        computed: ``{modality: directory}`` written now.
        reused: ``{modality: directory}`` already up to date.
        skipped: ``{modality: why}`` trainable encoders whose inputs cannot be cached.
    """

    computed: dict[str, Path]
    reused: dict[str, Path]
    skipped: dict[str, str]


def build_input_caches(config: ChromaConfig, *, force: bool = False, progress: bool = True) -> InputCacheResult:
    """Build the input cache of every trainable encoder of ``model.modalities`` that splits preparation."""
    from chroma_framework.config.stream_slots import stream_slots
    from chroma_framework.data.fingerprints import trainable_sections
    from chroma_framework.model_build import build_encoder

    result = InputCacheResult({}, {}, {})
    slots = stream_slots(config)
    for modality in trainable_sections(config):
        if modality in slots:
            result.skipped[modality] = f"reads data.streams ({', '.join(slots[modality])}); nothing to cache"
            continue
        encoder = build_encoder(config, modality)
        if not encoder.splits_preparation:
            result.skipped[modality] = (
                f"the {modality} encoder {encoder.name!r} does not implement prepare/forward_prepared; "
                "train it with training.mode: end_to_end"
            )
            continue
        path, computed = build_input_cache(config, modality, encoder, force=force, progress=progress)
        (result.computed if computed else result.reused)[modality] = path
    return result

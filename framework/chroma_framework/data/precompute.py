"""``chroma precompute``: run each frozen encoder once over every segment (D4).

Caching: every modality's column is keyed by an encoder fingerprint (plugin name,
provider, class, version, plugin options, weights identity from
:meth:`~chroma.contracts.Encoder.fingerprint_extra`, the init seed for encoders
without loaded weights, and the preprocessing settings that shape its input) and
every row by a digest of the data it was made from
(:mod:`~chroma_framework.data.precompute_inputs`). A rerun reuses a modality whose
fingerprint is unchanged and recomputes only its rows whose inputs changed (or
that are new), so an unchanged config over unchanged data does no encoding at
all, changing one encoder recomputes only its modality, and replacing one
segment's audio recomputes only that segment's audio embedding.

Resumability: the rows to compute are processed in media order in chunks of
``data.precompute.chunk_size``; each finished (modality, chunk) is written
atomically as a part file under ``<embeddings_path>.parts/``, named by the
modality's fingerprint and data identity. A run that dies midway resumes from the
parts already written, whichever engine wrote them (in process, a local process
pool or Ray: :mod:`~chroma_framework.data.precompute_engines`); the final file is
assembled and written atomically, then the parts are removed.

Text needs no encoder when ``data.columns.lyric_embedding`` names a precomputed
column and ``model.text_encoder`` is unset (or is ``precomputed``).

Besides the layout of :mod:`chroma_framework.data.embeddings`, the file holds a nullable
string column ``<modality>_absent`` per modality with the reason it is absent,
so the data report survives reruns, a string column ``<modality>_input`` with each
row's input digest, and schema metadata ``chroma.inputs``: JSON ``{modality: data
identity}`` of the files it was computed from.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma.capabilities import is_random_init
from chroma.contracts import Encoder
from chroma.modality import MODALITIES, modality_index
from chroma_framework.atomic import remove_stale_temporaries
from chroma_framework.config.model import EncoderSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.embeddings import EmbeddingTable, atomic_write_table, read_embeddings
from chroma_framework.data.fingerprints import column_fingerprint, encoder_fingerprint, frozen_sections
from chroma_framework.data.paths import resolve
from chroma_framework.data.precompute_chunks import BuildEncoder, ChunkResult, ChunkTask, build_encoders
from chroma_framework.data.precompute_engines import Engine, PrecomputeJob
from chroma_framework.data.precompute_inputs import DigestedDataset, data_identities, input_column, row_digests
from chroma_framework.data.random_frozen import random_frozen_message
from chroma_framework.data.report import DataReport
from chroma_framework.encoder_weights import save_encoder_weights
from chroma_framework.threads import resolve_threads

logger = logging.getLogger(__name__)

#: Schema metadata key of ``{modality: data identity}``.
IDENTITIES_KEY = b"chroma.inputs"


def absent_column(modality: str) -> str:
    return f"{modality}_absent"


@dataclass
class ModalityPlan:
    """What precompute does for one modality.

    Attributes:
        modality: ``"text"``, ``"audio"`` or ``"midi"``.
        fingerprint: identity of the embeddings this plan produces.
        encoder: the built encoder, ``None`` when text comes straight from the column.
        reuse: the existing file's table when its rows are kept (``None`` when recomputing).
        reuse_reasons: the existing file's absence reasons of this modality.
        reuse_digests: the existing file's input digests of this modality.
        reuse_identity: the data identity the existing file was computed against.
        rows: dataset indices to compute.
        changed: ids of reused rows whose inputs changed (recomputed).
        added: rows new since the existing file (computed).
    """

    modality: str
    fingerprint: str
    encoder: Encoder | None
    reuse: EmbeddingTable | None = None
    reuse_reasons: list[str | None] | None = None
    reuse_digests: list[str | None] | None = None
    reuse_identity: str | None = None
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    changed: list[str] = field(default_factory=list)
    added: int = 0
    #: Set when the encoder is frozen with no loaded weights (random features).
    warning: str | None = None


@dataclass
class PrecomputeResult:
    """What :func:`run_precompute` did.

    Attributes:
        path: the embeddings file.
        computed: modalities computed over every row (new or changed fingerprint).
        reused: modalities reused as they were (same fingerprint, no row's inputs changed).
        report: the data report.
        warnings: frozen encoders producing random features (see :func:`random_frozen_message`).
        changed: ``{modality: ids}`` of rows recomputed because their inputs changed.
        added: ``{modality: count}`` of rows computed because they are new.
    """

    path: Path
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    report: DataReport | None = None
    warnings: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)


def frozen_weights_path(config: ChromaConfig, modality: str, fingerprint: str) -> Path:
    """Where precompute saves the random-init weights of a frozen encoder (safetensors)."""
    out = resolve(config.data, config.data.embeddings_path)
    return out.with_name(out.name + ".encoders") / f"{modality}-{fingerprint}.safetensors"


def needs_embeddings(config: ChromaConfig) -> bool:
    """Whether any modality comes from the embeddings file (a frozen encoder, or the lyric vector column)."""
    text_column = config.model.text_encoder is None and bool(config.data.columns.lyric_embedding)
    return bool(frozen_sections(config)) or text_column


@dataclass(frozen=True)
class RegistryBuilder:
    """Builds encoders through the plugin registry with ``disable`` applied (picklable, for workers)."""

    disable: tuple[str, ...] = ()

    def __call__(self, modality: str, section: EncoderSection) -> Encoder:
        from chroma.plugins.registry import get_registry

        return (
            get_registry()
            .with_disabled(list(self.disable))
            .build_encoder(f"{modality}_encoder", section.type, section.plugin_options(), section.provider)
        )


def default_builder(config: ChromaConfig) -> BuildEncoder:
    """Builds encoders through the plugin registry, with the config's ``plugins.disable`` applied."""
    return RegistryBuilder(tuple(config.plugins.disable))


def _plans(config: ChromaConfig, out_path: Path, build: BuildEncoder, force: bool) -> list[ModalityPlan]:
    plans: list[ModalityPlan] = []
    sections = frozen_sections(config)
    text = sections.get("text")
    if text is not None and text.type == "precomputed" and not config.data.columns.lyric_embedding:
        raise ValueError(
            "model.text_encoder.type 'precomputed' needs data.columns.lyric_embedding "
            "(the metadata column holding the precomputed lyric vectors)"
        )
    column_text = config.model.text_encoder is None and bool(config.data.columns.lyric_embedding)
    wanted = [m for m in MODALITIES if m in sections or (m == "text" and column_text)]
    for modality, encoder in build_encoders(config, build, wanted).items():
        if encoder is None:
            plans.append(ModalityPlan(modality, column_fingerprint(config), None))
            continue
        fingerprint = encoder_fingerprint(encoder, sections[modality], config, modality)
        warning = None
        if is_random_init(encoder):
            warning = random_frozen_message(modality, sections[modality].type)
            logger.warning("%s", warning)
            save_encoder_weights(frozen_weights_path(config, modality, fingerprint), encoder, fingerprint)
        plans.append(ModalityPlan(modality, fingerprint, encoder, warning=warning))
    if not plans:
        raise ValueError(
            "nothing to precompute: configure a frozen model.text_encoder/audio_encoder/midi_encoder "
            "or data.columns.lyric_embedding"
        )
    if out_path.exists() and not force:
        old = read_embeddings(out_path)
        old_reasons = read_absent_reasons(out_path)
        old_digests = read_input_digests(out_path)
        old_identities = read_identities(out_path)
        for plan in plans:
            m = plan.modality
            # A file without input digests (older chroma) cannot tell which rows changed: recompute it.
            if old.fingerprints.get(m) == plan.fingerprint and m in old.embeddings and m in old_digests:
                plan.reuse = old
                plan.reuse_reasons = old_reasons.get(m)
                plan.reuse_digests = old_digests[m]
                plan.reuse_identity = old_identities.get(m)
    return plans


def _part_path(parts: Path, modality: str, fingerprint: str, identity: str, chunk: int) -> Path:
    return parts / f"{modality}-{fingerprint}-{identity}-{chunk:06d}.parquet"


def _read_part(path: Path, ids: list[str]) -> pa.Table | None:
    """The part table when it exists, is readable and covers exactly ``ids``."""
    if not path.exists():
        return None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        logger.warning("precompute part file %s is unreadable; recomputing its chunk", path)
        return None
    if "input" not in table.column_names or table.column("segment_id").to_pylist() != ids:
        return None
    return table


def _rows_to_compute(plans: list[ModalityPlan], dataset: DigestedDataset, identities: Mapping[str, str]) -> None:
    """Set each plan's :attr:`ModalityPlan.rows` (and ``changed`` / ``added``) against the existing file."""
    ids = dataset.segment_ids
    everything = np.arange(len(ids), dtype=np.int64)
    check = [
        p
        for p in plans
        if p.reuse is not None and p.reuse_identity != identities[p.modality]  # files touched since
    ]
    current = row_digests(dataset, everything.tolist(), [p.modality for p in check]) if check else {}
    for plan in plans:
        if plan.reuse is None:
            plan.rows = everything
            continue
        old_rows = plan.reuse.index()
        old_digests = plan.reuse_digests or []
        new = [i for i, sid in enumerate(ids) if sid not in old_rows]
        changed: list[int] = []
        if plan.modality in current:
            now = current[plan.modality]
            changed = [i for i, sid in enumerate(ids) if sid in old_rows and old_digests[old_rows[sid]] != now[i]]
        plan.added = len(new)
        plan.changed = [ids[i] for i in changed]
        plan.rows = np.array(sorted(new + changed), dtype=np.int64)


def _tasks(plans: list[ModalityPlan], dataset: DigestedDataset, chunk_size: int) -> list[ChunkTask]:
    """Chunks of ``chunk_size`` rows (in media order) of every row some plan computes."""
    wanted = {p.modality: set(p.rows.tolist()) for p in plans if len(p.rows)}
    union = [int(i) for i in dataset.media_order() if any(int(i) in rows for rows in wanted.values())]
    media = dataset.media
    tasks = []
    for k, start in enumerate(range(0, len(union), chunk_size)):
        indices = tuple(union[start : start + chunk_size])
        rows = {m: tuple(i for i in indices if i in r) for m, r in wanted.items()}
        locations = [media.location(dataset.segment_ids[i]) if media is not None else None for i in indices]
        groups = tuple(sorted({loc[0] for loc in locations if loc is not None}))
        tasks.append(ChunkTask(k, indices, {m: r for m, r in rows.items() if r}, groups))
    return tasks


def run_precompute(
    config: ChromaConfig,
    *,
    build_encoder: BuildEncoder | None = None,
    force: bool = False,
    progress: bool = True,
    engine: Engine | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> PrecomputeResult:
    """Compute (or reuse) the embeddings of every segment and write ``data.embeddings_path``.

    Args:
        config: the whole configuration.
        build_encoder: ``(modality, section) -> Encoder``; defaults to the plugin registry. Engines that run
            workers in other processes pickle it.
        force: ignore the existing file (part files of the same fingerprint and data are still resumed).
        progress: show a tqdm bar (segments encoded).
        engine: runs the chunks; defaults to :func:`~chroma_framework.data.precompute_engines.local_engine`
            with ``data.precompute.num_workers`` processes.
        on_chunk: called with each chunk number once its part files are written (progress hooks).
    """
    from tqdm.auto import tqdm

    from chroma_framework.data.precompute_engines import local_engine

    data = config.data
    out_path = resolve(data, data.embeddings_path)
    parts = out_path.with_name(out_path.name + ".parts")
    build = build_encoder or default_builder(config)
    plans = _plans(config, out_path, build, force)
    audio_plan = next((p for p in plans if p.modality == "audio" and p.encoder is not None), None)
    rate = getattr(audio_plan.encoder, "sample_rate", None) if audio_plan else None
    identities = data_identities(config, [p.modality for p in plans])
    load = [p.modality for p in plans if p.reuse is None or p.reuse_identity != identities[p.modality]]
    dataset = DigestedDataset(config, modalities=load or ["text"], audio_sample_rate=rate, with_labels=False)
    if any(p.reuse is not None and not set(dataset.segment_ids) <= set(p.reuse.segment_ids) for p in plans):
        # New segments without a change of files (e.g. another alignment setting): load every modality.
        load = [p.modality for p in plans]
        dataset = DigestedDataset(config, modalities=load, audio_sample_rate=rate, with_labels=False)
    ids = dataset.segment_ids
    _rows_to_compute(plans, dataset, identities)
    compute = [p for p in plans if len(p.rows)]
    tasks = _tasks(compute, dataset, data.precompute.chunk_size)
    plan_of = {p.modality: p for p in plans}

    def part(m: str, k: int) -> Path:
        return _part_path(parts, m, plan_of[m].fingerprint, identities[m], k)

    todo = []
    for task in tasks:
        missing = {m: r for m, r in task.rows.items() if _read_part(part(m, task.chunk), [ids[i] for i in r]) is None}
        if missing:
            todo.append(ChunkTask(task.chunk, task.indices, missing, task.row_groups))
    bar = tqdm(
        total=sum(len(t.indices) for t in todo),
        desc="precompute",
        unit="segment",
        disable=not progress or not todo,
    )

    def write(result: ChunkResult) -> None:
        for m, table in result.parts.items():
            atomic_write_table(table, part(m, result.chunk))
        bar.update(result.segments)
        if on_chunk is not None:
            on_chunk(result.chunk)

    if todo:
        encoders = {p.modality: p.encoder for p in compute}
        fingerprints = {p.modality: p.fingerprint for p in compute}
        threads = resolve_threads(config.training.num_threads)
        job = PrecomputeJob(config, build, fingerprints, rate, threads, encoders, dataset)
        (engine or local_engine(data.precompute.num_workers))(job, todo, write)
    bar.close()

    previous = plans[0].reuse
    unchanged = (
        not compute
        and previous is not None
        and previous.segment_ids == ids
        and set(previous.fingerprints) == set(plan_of)
        and all(p.reuse_identity == identities[p.modality] for p in plans)
    )
    if unchanged:
        table = pq.read_table(out_path)  # nothing to write: same segments, fingerprints and data
    else:
        table = _assemble(plans, ids, tasks, part, identities)
        atomic_write_table(table, out_path)
    for m in plan_of:  # every modality: a run killed while removing its parts left some of a reused one
        for stale in parts.glob(f"{m}-*.parquet"):
            stale.unlink(missing_ok=True)
    remove_stale_temporaries(parts)  # left by runs killed mid-write
    remove_stale_temporaries(out_path.parent)
    if parts.exists() and not any(parts.iterdir()):
        parts.rmdir()
    report = report_from_embeddings(table, dataset)
    report.write_json(resolve(data, data.report_path))
    return PrecomputeResult(
        out_path,
        [p.modality for p in compute if p.reuse is None],
        [p.modality for p in plans if p.reuse is not None and not len(p.rows)],
        report,
        [p.warning for p in plans if p.warning],
        {p.modality: p.changed for p in plans if p.changed},
        {p.modality: p.added for p in plans if p.added},
    )


def _part_arrays(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """``([K, D] float32 values, [K] present)`` of a part table's embedding column."""
    col = table.column("embedding").combine_chunks()
    width = col.type.list_size
    flat = np.asarray(col.values.to_numpy(zero_copy_only=False), np.float32).reshape(-1, width)
    valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
    return flat, valid


def _assemble(
    plans: Iterable[ModalityPlan],
    ids: list[str],
    tasks: list[ChunkTask],
    part: Callable[[str, int], Path],
    identities: Mapping[str, str],
) -> pa.Table:
    """The embeddings table of ``ids``: reused rows from the old file, the others from the part files."""
    n = len(ids)
    mask = np.zeros((n, len(MODALITIES)), dtype=bool)
    embeddings: dict[str, np.ndarray] = {}
    reasons: dict[str, list[str | None]] = {}
    digests: dict[str, list[str | None]] = {}
    fingerprints: dict[str, str] = {}
    pos = {sid: i for i, sid in enumerate(ids)}
    for plan in plans:
        m, col = plan.modality, modality_index(plan.modality)
        fingerprints[m] = plan.fingerprint
        values: np.ndarray | None = None
        reasons[m] = [None] * n
        digests[m] = [None] * n
        if plan.reuse is not None:
            old = plan.reuse.index()
            keep = np.array([i for i, sid in enumerate(ids) if sid in old], dtype=np.int64)
            take = np.array([old[ids[i]] for i in keep], dtype=np.int64)
            values = np.zeros((n, plan.reuse.embeddings[m].shape[1]), np.float32)
            values[keep] = plan.reuse.embeddings[m][take]
            mask[keep, col] = plan.reuse.mask[take, col]
            for i, j in zip(keep.tolist(), take.tolist()):
                reasons[m][i] = plan.reuse_reasons[j] if plan.reuse_reasons is not None else None
                digests[m][i] = plan.reuse_digests[j] if plan.reuse_digests is not None else None
        for task in tasks:
            if m not in task.rows:
                continue
            table = pq.read_table(part(m, task.chunk))
            flat, valid = _part_arrays(table)
            rows = np.array([pos[s] for s in table.column("segment_id").to_pylist()], dtype=np.int64)
            if values is None:
                values = np.zeros((n, flat.shape[1]), np.float32)
            values[rows] = flat
            mask[rows, col] = valid
            for i, r, d in zip(rows.tolist(), table.column("absent").to_pylist(), table.column("input").to_pylist()):
                reasons[m][i], digests[m][i] = r, d
        embeddings[m] = values if values is not None else np.zeros((n, 1), np.float32)
    table = EmbeddingTable(list(ids), embeddings, mask, fingerprints).to_arrow()
    meta = dict(table.schema.metadata or {})
    meta[IDENTITIES_KEY] = json.dumps({m: identities[m] for m in fingerprints}, sort_keys=True).encode()
    for m in fingerprints:
        table = table.append_column(absent_column(m), pa.array(reasons[m], pa.string()))
    for m in fingerprints:
        table = table.append_column(input_column(m), pa.array(digests[m], pa.string()))
    return table.replace_schema_metadata(meta)


def read_input_digests(path: Path) -> dict[str, list[str | None]]:
    """``{modality: [input digest or None per row]}`` from an embeddings file written by precompute."""
    schema = pq.read_schema(path)
    cols = [input_column(m) for m in MODALITIES if input_column(m) in schema.names]
    table = pq.read_table(path, columns=cols)
    return {c.removesuffix("_input"): table.column(c).to_pylist() for c in cols}


def read_identities(path: Path) -> dict[str, str]:
    """``{modality: data identity}`` the embeddings file was computed against (empty for older files)."""
    meta = pq.read_schema(path).metadata or {}
    return {str(k): str(v) for k, v in json.loads(meta.get(IDENTITIES_KEY, b"{}")).items()}


def read_absent_reasons(path: Path) -> dict[str, list[str | None]]:
    """``{modality: [reason or None per row]}`` from an embeddings file written by precompute."""
    schema = pq.read_schema(path)
    cols = [absent_column(m) for m in MODALITIES if absent_column(m) in schema.names]
    table = pq.read_table(path, columns=cols)
    return {c.removesuffix("_absent"): table.column(c).to_pylist() for c in cols}


def report_from_embeddings(table: pa.Table, dataset: SegmentDataset) -> DataReport:
    """The data report of a precomputed table (absence reasons and alignment)."""
    report = DataReport()
    ids = table.column("segment_id").to_pylist()
    reasons = {
        m: table.column(absent_column(m)).to_pylist() for m in MODALITIES if absent_column(m) in table.column_names
    }
    for row, sid in enumerate(ids):
        report.add_segment(sid, {m: rs[row] for m, rs in reasons.items()})
    report.add_alignment(dataset.alignment.flagged, dataset.alignment.corrected, dataset.excluded)
    return report


__all__ = [
    "PrecomputeResult",
    "RegistryBuilder",
    "read_absent_reasons",
    "read_identities",
    "read_input_digests",
    "run_precompute",
]

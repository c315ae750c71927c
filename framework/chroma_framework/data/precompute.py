"""``chroma precompute``: run each frozen encoder once over every segment (D4).

Caching: every modality's column is keyed by an encoder fingerprint (plugin name,
provider, class, version, plugin options, weights identity from
:meth:`~chroma.contracts.Encoder.fingerprint_extra`, the init seed for encoders
without loaded weights, and the preprocessing settings that shape its input).
A rerun reuses a modality whose fingerprint and segments are unchanged, so an
unchanged config does no encoding at all and changing one encoder recomputes
only its modality.

Resumability: segments are processed in media order in chunks of
``data.precompute.chunk_size``; each finished (modality, chunk) is written
atomically as a part file under ``<embeddings_path>.parts/``. A run that dies
midway resumes from the parts already written; the final file is assembled and
written atomically, then the parts are removed.

Text needs no encoder when ``data.columns.lyric_embedding`` names a precomputed
column and ``model.text_encoder`` is unset (or is ``precomputed``).

Besides the layout of :mod:`chroma_framework.data.embeddings`, the file holds a nullable
string column ``<modality>_absent`` per modality with the reason it is absent,
so the data report survives reruns.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, Subset

from chroma.contracts import AudioBatch, Encoder, MidiBatch, TextBatch
from chroma.modality import MODALITIES, modality_index
from chroma_framework.config.model import EncoderSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.embeddings import EmbeddingTable, atomic_write_table, read_embeddings
from chroma_framework.data.paths import resolve
from chroma_framework.data.report import DataReport
from chroma_framework.data.transcribed_midi import transcribed_inputs
from chroma_framework.encoder_weights import save_encoder_weights

logger = logging.getLogger(__name__)

#: Fingerprint of the text column when lyric vectors are read from the metadata as they are.
COLUMN_ENCODER = "column"


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
    """

    modality: str
    fingerprint: str
    encoder: Encoder | None
    reuse: EmbeddingTable | None = None
    reuse_reasons: list[str | None] | None = None
    #: Set when the encoder is frozen with no loaded weights (random features).
    warning: str | None = None


@dataclass
class PrecomputeResult:
    path: Path
    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    report: DataReport | None = None
    #: Frozen encoders producing random features (see :func:`random_frozen_message`).
    warnings: list[str] = field(default_factory=list)


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def input_settings(config: ChromaConfig, modality: str) -> dict[str, Any]:
    """The config values that change what ``modality``'s encoder is fed."""
    data, pre = config.data, config.preprocessing
    if modality == "text":
        return {
            "strip_lrc": data.text.strip_lrc_timestamps,
            "column": data.columns.lyric_text,
            "embedding_column": data.columns.lyric_embedding,
        }
    if modality == "audio":
        return {
            "audio": pre.audio.model_dump(exclude={"augmentations"}),
            "columns": [data.columns.audio_waveform, data.columns.audio_sample_rate, data.columns.segment_audio_file],
        }
    settings: dict[str, Any] = {
        "midi": pre.midi.model_dump(exclude={"augmentations", "tokenization"}),
        "duration": pre.audio.duration,
        "offset_column": data.alignment.offset_column,
        "columns": [data.columns.midi_binary, data.columns.midi_file],
    }
    transcribed = transcribed_inputs(data)
    if transcribed is not None:  # added only when used, so other fingerprints stay as they were
        settings["transcribed_midi"] = transcribed
    return settings


def encoder_fingerprint(encoder: Encoder, section: EncoderSection, config: ChromaConfig, modality: str) -> str:
    """``<plugin>-<version>-<hash>`` identifying the embeddings ``encoder`` produces.

    An encoder without loaded weights is identified by a digest of its weights themselves (never by the
    seed that drew them), so a run can reload the saved random-init weights and match.
    """
    weights = encoder.fingerprint_extra()
    payload = {
        "plugin": section.type,
        "provider": section.provider,
        "class": f"{type(encoder).__module__}.{type(encoder).__qualname__}",
        "version": getattr(encoder, "version", "0"),
        "options": section.plugin_options(),
        "weights": weights or f"random-init {weights_digest(encoder)}",
        "inputs": input_settings(config, modality),
    }
    return f"{section.type}-{payload['version']}-{_digest(payload)}"


def weights_digest(encoder: Encoder) -> str:
    """SHA-256 (20 hex digits) of the encoder's state dict, names, dtypes, shapes and values."""
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        h.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return h.hexdigest()[:20]


def is_random_init(encoder: Encoder) -> bool:
    """Whether ``encoder`` has parameters but no loaded weights (``fingerprint_extra()`` is empty)."""
    return not encoder.fingerprint_extra() and any(p.numel() for p in encoder.parameters())


def random_frozen_message(modality: str, name: str) -> str:
    """The warning for a frozen encoder that would produce random features."""
    return (
        f"model.{modality}_encoder ({name!r}) is frozen but has no loaded weights: its embeddings are random "
        f"features. Train it (model.{modality}_encoder.frozen: false) or load pretrained weights / a checkpoint"
    )


def random_frozen_warnings(config: ChromaConfig) -> list[str]:
    """One :func:`random_frozen_message` per frozen encoder of ``model.modalities`` that loads no weights.

    Plugins declaring ``pretrained`` are not built (they load weights); the others are built to look.
    """
    from chroma.plugins.registry import get_registry
    from chroma_framework.model_build import build_encoder

    registry = get_registry().with_disabled(config.plugins.disable)
    out = []
    for modality, section in frozen_sections(config).items():
        if modality not in config.model.modalities:
            continue
        record = registry.get(f"{modality}_encoder", section.type, section.provider)
        capabilities = record.spec.capabilities if record.spec is not None else None
        if getattr(capabilities, "pretrained", False):
            continue
        if is_random_init(build_encoder(config, modality, registry)):
            out.append(random_frozen_message(modality, section.type))
    return out


def frozen_weights_path(config: ChromaConfig, modality: str, fingerprint: str) -> Path:
    """Where precompute saves the random-init weights of a frozen encoder (safetensors)."""
    out = resolve(config.data, config.data.embeddings_path)
    return out.with_name(out.name + ".encoders") / f"{modality}-{fingerprint}.safetensors"


def column_fingerprint(config: ChromaConfig) -> str:
    return (
        f"{COLUMN_ENCODER}-{_digest({'column': config.data.columns.lyric_embedding, **input_settings(config, 'text')})}"
    )


def trainable_sections(config: ChromaConfig) -> dict[str, EncoderSection]:
    """``{modality: section}`` of the trainable (``frozen: false``) encoders of ``model.modalities``."""
    out: dict[str, EncoderSection] = {}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is not None and not section.frozen and modality in config.model.modalities:
            out[modality] = section
    return out


def needs_embeddings(config: ChromaConfig) -> bool:
    """Whether any modality comes from the embeddings file (a frozen encoder, or the lyric vector column)."""
    text_column = config.model.text_encoder is None and bool(config.data.columns.lyric_embedding)
    return bool(frozen_sections(config)) or text_column


def frozen_sections(config: ChromaConfig) -> dict[str, EncoderSection]:
    """``{modality: section}`` of the configured frozen encoders (trainable ones are never precomputed)."""
    out: dict[str, EncoderSection] = {}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is not None and section.frozen:
            out[modality] = section
    return out


BuildEncoder = Callable[[str, EncoderSection], Encoder]


def default_builder(config: ChromaConfig) -> BuildEncoder:
    """Builds encoders through the plugin registry, with the config's ``plugins.disable`` applied."""
    from chroma.plugins.registry import get_registry

    def build(modality: str, section: EncoderSection) -> Encoder:
        return (
            get_registry()
            .with_disabled(config.plugins.disable)
            .build_encoder(f"{modality}_encoder", section.type, section.plugin_options(), section.provider)
        )

    return build


def _plans(config: ChromaConfig, out_path: Path, build: BuildEncoder, force: bool) -> list[ModalityPlan]:
    plans: list[ModalityPlan] = []
    sections = frozen_sections(config)
    text = sections.get("text")
    if text is not None and text.type == "precomputed" and not config.data.columns.lyric_embedding:
        raise ValueError(
            "model.text_encoder.type 'precomputed' needs data.columns.lyric_embedding "
            "(the metadata column holding the precomputed lyric vectors)"
        )
    for modality in MODALITIES:
        if modality in sections:
            # Seeded so an encoder without loaded weights gets the same random init every run.
            torch.manual_seed(config.training.seed)
            encoder = build(modality, sections[modality])
            encoder.eval()
            fingerprint = encoder_fingerprint(encoder, sections[modality], config, modality)
            warning = None
            if is_random_init(encoder):
                warning = random_frozen_message(modality, sections[modality].type)
                logger.warning("%s", warning)
                save_encoder_weights(frozen_weights_path(config, modality, fingerprint), encoder, fingerprint)
            plans.append(ModalityPlan(modality, fingerprint, encoder, warning=warning))
        elif modality == "text" and config.model.text_encoder is None and config.data.columns.lyric_embedding:
            plans.append(ModalityPlan(modality, column_fingerprint(config), None))
    if not plans:
        raise ValueError(
            "nothing to precompute: configure a frozen model.text_encoder/audio_encoder/midi_encoder "
            "or data.columns.lyric_embedding"
        )
    if out_path.exists() and not force:
        old = read_embeddings(out_path)
        old_reasons = read_absent_reasons(out_path)
        for plan in plans:
            if old.fingerprints.get(plan.modality) == plan.fingerprint and plan.modality in old.embeddings:
                plan.reuse = old
                plan.reuse_reasons = old_reasons.get(plan.modality)
    return plans


def _part_path(parts: Path, modality: str, fingerprint: str, chunk: int) -> Path:
    return parts / f"{modality}-{fingerprint}-{chunk:06d}.parquet"


def _read_part(path: Path, ids: list[str]) -> pa.Table | None:
    """The part table when it exists and covers exactly ``ids``."""
    if not path.exists():
        return None
    table = pq.read_table(path)
    return table if table.column("segment_id").to_pylist() == ids else None


def _sub_batch(batch: Any, rows: torch.Tensor) -> Any:
    """Rows ``rows`` of a modality batch (MIDI trimmed to its longest kept row)."""
    if isinstance(batch, AudioBatch):
        return AudioBatch(batch.waveform[rows], batch.lengths[rows], batch.sample_rate)
    if isinstance(batch, MidiBatch):
        lengths = batch.lengths[rows]
        width = max(1, int(lengths.max()))
        return MidiBatch(batch.events[rows][:, :width], lengths, batch.duration)
    idx = rows.tolist()
    texts = None if batch.texts is None else [batch.texts[i] for i in idx]
    emb = None if batch.embeddings is None else batch.embeddings[rows]
    return TextBatch(texts, emb)


def _encode(plan: ModalityPlan, batch: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray]:
    """``([B, D] float32 or None when nothing is present, [B] present)`` for one batch."""
    present = batch["modality_mask"][:, modality_index(plan.modality)]
    rows = torch.nonzero(present).flatten()
    if plan.encoder is None:
        return batch["text"].embeddings.numpy(), present.numpy()
    if rows.numel() == 0:
        return None, present.numpy()
    with torch.no_grad():
        pooled = plan.encoder(_sub_batch(batch[plan.modality], rows)).pooled.float().cpu()
    finite = torch.isfinite(pooled).all(dim=1)
    out = torch.zeros(len(present), pooled.shape[1])
    out[rows] = torch.where(finite[:, None], pooled, torch.zeros_like(pooled))
    present = present.clone()
    present[rows[~finite]] = False
    return out.numpy(), present.numpy()


def _part_table(ids: list[str], values: np.ndarray, present: np.ndarray, reasons: list[str | None]) -> pa.Table:
    flat = np.where(present[:, None], values, 0).astype(np.float32).reshape(-1)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), values.shape[1], mask=pa.array(~present))
    return pa.table(
        {"segment_id": pa.array(ids, pa.string()), "embedding": emb, "absent": pa.array(reasons, pa.string())}
    )


def run_precompute(
    config: ChromaConfig,
    *,
    build_encoder: BuildEncoder | None = None,
    force: bool = False,
    progress: bool = True,
) -> PrecomputeResult:
    """Compute (or reuse) the embeddings of every segment and write ``data.embeddings_path``.

    Args:
        config: the whole configuration.
        build_encoder: ``(modality, section) -> Encoder``; defaults to the plugin registry.
        force: ignore the existing file (part files of the same fingerprint are still resumed).
        progress: show a tqdm bar.
    """
    from tqdm.auto import tqdm

    data = config.data
    out_path = resolve(data, data.embeddings_path)
    parts = out_path.with_name(out_path.name + ".parts")
    plans = _plans(config, out_path, build_encoder or default_builder(config), force)
    audio_plan = next((p for p in plans if p.modality == "audio" and p.encoder is not None), None)
    rate = getattr(audio_plan.encoder, "sample_rate", None) if audio_plan else None
    to_load = [p.modality for p in plans if p.reuse is None]
    dataset = SegmentDataset(config, modalities=to_load or ["text"], audio_sample_rate=rate, with_labels=False)
    ids = dataset.segment_ids
    for plan in plans:
        if plan.reuse is not None and not set(ids) <= set(plan.reuse.segment_ids):
            plan.reuse = None  # new segments appeared: recompute this modality
    compute = [p for p in plans if p.reuse is None]
    dataset.modalities = tuple(m for m in MODALITIES if m in {p.modality for p in compute})

    order = dataset.media_order()
    cs = data.precompute.chunk_size
    chunks = [order[i : i + cs] for i in range(0, len(order), cs)]
    todo: list[tuple[int, list[ModalityPlan]]] = []
    for k, chunk in enumerate(chunks):
        chunk_ids = [ids[i] for i in chunk]
        missing = [p for p in compute if _read_part(_part_path(parts, p.modality, p.fingerprint, k), chunk_ids) is None]
        if missing:
            todo.append((k, missing))
    bs = data.precompute.batch_size
    total = sum(-(-len(chunks[k]) // bs) for k, _ in todo)
    bar = tqdm(total=total, desc="precompute", unit="batch", disable=not progress or total == 0)
    for k, missing in todo:
        chunk = chunks[k]
        dataset.modalities = tuple(m for m in MODALITIES if m in {p.modality for p in missing})
        loader = DataLoader(
            Subset(dataset, chunk.tolist()),
            batch_size=bs,
            shuffle=False,
            collate_fn=dataset.collate,
            num_workers=data.precompute.num_workers,
        )
        acc: dict[str, tuple[list, list, list]] = {p.modality: ([], [], []) for p in missing}
        chunk_ids: list[str] = []
        for batch in loader:
            chunk_ids.extend(batch["segment_id"])
            for plan in missing:
                values, present = _encode(plan, batch)
                reasons = [a.get(plan.modality) for a in batch["absent"]]
                reasons = [r if r is not None or ok else "encoder_non_finite" for r, ok in zip(reasons, present)]
                acc[plan.modality][0].append(values)
                acc[plan.modality][1].append(present)
                acc[plan.modality][2].extend(reasons)
            bar.update(1)
        for plan in missing:
            vals, pres, reasons = acc[plan.modality]
            dim = next((v.shape[1] for v in vals if v is not None), None)
            if dim is None:
                dim = plan.encoder.output_dim if plan.encoder is not None else int(dataset.text_dim or 1)
            values = np.concatenate(
                [v if v is not None else np.zeros((len(p), dim), np.float32) for v, p in zip(vals, pres)]
            )
            atomic_write_table(
                _part_table(chunk_ids, values, np.concatenate(pres), reasons),
                _part_path(parts, plan.modality, plan.fingerprint, k),
            )
    bar.close()
    dataset.modalities = tuple(m for m in MODALITIES if m in set(to_load))

    previous = plans[0].reuse
    unchanged = (
        not compute
        and previous is not None
        and previous.segment_ids == ids
        and set(previous.fingerprints) == {p.modality for p in plans}
    )
    if unchanged:
        table = pq.read_table(out_path)  # nothing to write: same segments, same fingerprints
    else:
        table = _assemble(plans, ids, chunks, parts)
        atomic_write_table(table, out_path)
    for plan in compute:
        for k in range(len(chunks)):
            _part_path(parts, plan.modality, plan.fingerprint, k).unlink(missing_ok=True)
    if parts.exists() and not any(parts.iterdir()):
        parts.rmdir()
    report = report_from_embeddings(table, dataset)
    report.write_json(resolve(data, data.report_path))
    return PrecomputeResult(
        out_path,
        [p.modality for p in compute],
        [p.modality for p in plans if p.reuse],
        report,
        [p.warning for p in plans if p.warning],
    )


def _assemble(plans: Iterable[ModalityPlan], ids: list[str], chunks: list[np.ndarray], parts: Path) -> pa.Table:
    n = len(ids)
    mask = np.zeros((n, len(MODALITIES)), dtype=bool)
    embeddings: dict[str, np.ndarray] = {}
    reasons: dict[str, list[str | None]] = {}
    fingerprints: dict[str, str] = {}
    for plan in plans:
        m = plan.modality
        fingerprints[m] = plan.fingerprint
        if plan.reuse is not None:
            rows = plan.reuse.index()
            take = np.array([rows[s] for s in ids], dtype=np.int64)
            embeddings[m] = plan.reuse.embeddings[m][take]
            mask[:, modality_index(m)] = plan.reuse.mask[take, modality_index(m)]
            old = plan.reuse_reasons
            reasons[m] = [old[i] for i in take] if old is not None else [None] * n
            continue
        tables = [pq.read_table(_part_path(parts, m, plan.fingerprint, k)) for k in range(len(chunks))]
        part = pa.concat_tables(tables) if tables else None
        pos = {s: i for i, s in enumerate(part.column("segment_id").to_pylist())} if part is not None else {}
        take = np.array([pos[s] for s in ids], dtype=np.int64)
        col = part.column("embedding").combine_chunks() if part is not None else None
        width = col.type.list_size if col is not None else 1
        flat = (
            np.asarray(col.values.to_numpy(zero_copy_only=False), np.float32).reshape(-1, width)
            if col is not None
            else np.zeros((0, 1), np.float32)
        )
        valid = (
            ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool) if col is not None else np.zeros(0, bool)
        )
        embeddings[m] = flat[take]
        mask[:, modality_index(m)] = valid[take]
        absent = part.column("absent").to_pylist() if part is not None else []
        reasons[m] = [absent[i] for i in take]
    table = EmbeddingTable(list(ids), embeddings, mask, fingerprints).to_arrow()
    meta = table.schema.metadata
    for m, rs in reasons.items():
        table = table.append_column(absent_column(m), pa.array(rs, pa.string()))
    return table.replace_schema_metadata(meta)


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
    "column_fingerprint",
    "encoder_fingerprint",
    "read_absent_reasons",
    "run_precompute",
]

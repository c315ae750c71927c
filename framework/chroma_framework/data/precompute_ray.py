"""``chroma precompute --engine ray``: the chunks of a precompute job on a Ray cluster (the ``ray`` extra).

The driver plans the job as the single-process path does (fingerprints, input digests, the chunks in media
order) and makes a Ray Data dataset of one row per chunk: its number, the dataset indices it reads and the
media row groups they live in, as JSON -- never media bytes. ``map_batches`` runs :class:`ChunkActor` in an
actor pool, one encoder replica per slot (a CPU, or a GPU with ``--num-gpus``); each actor rebuilds the
encoders from the config (checked against the driver's fingerprints), opens the media parquet itself and
reads its chunks by row group. Only the part tables (embeddings, absence reasons, input digests) come back,
and the driver writes them as the same part files the local engines write, so a Ray run resumes a local
one and vice versa, and the assembled file is byte-identical.

Every node must see the data at the same path (``data.root`` is made absolute before the job is shipped)
and have the same chroma packages and plugin versions installed. A killed actor is restarted by Ray and its
chunk retried; a lost driver loses nothing written: rerun to resume.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from chroma_framework.data.precompute_chunks import ChunkEncoder, ChunkResult, ChunkTask
from chroma_framework.data.precompute_engines import Engine, PrecomputeEngineError, PrecomputeJob, WriteChunk

#: Raised by the CLI when the extra is missing.
INSTALL_HINT = 'the ray engine needs Ray Data: pip install "ray[data]==2.60.0" (or pip install "./framework[ray]")'


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a Ray precompute runs.

    Attributes:
        address: ``None`` starts a local Ray instance (unless one is already running in this process);
            ``"auto"`` joins the cluster this machine belongs to; ``"HOST:PORT"`` a given head node.
        num_workers: actors (encoder replicas); ``None``: one per GPU with ``num_gpus``, else one per CPU
            of the cluster.
        num_gpus: GPUs to use; each actor gets ``num_gpus / actors`` of them, at most one (with
            ``num_workers`` unset, one actor per GPU). 0 runs on CPUs.
    """

    address: str | None = None
    num_workers: int | None = None
    num_gpus: float = 0.0


def _task_row(task: ChunkTask) -> dict[str, Any]:
    return {
        "chunk": task.chunk,
        "row_groups": list(task.row_groups),
        "task": json.dumps({"indices": list(task.indices), "rows": {m: list(r) for m, r in task.rows.items()}}),
    }


def _task_of(chunk: int, row_groups: Sequence[int], payload: str) -> ChunkTask:
    spec = json.loads(payload)
    rows = {m: tuple(int(i) for i in r) for m, r in spec["rows"].items()}
    return ChunkTask(int(chunk), tuple(int(i) for i in spec["indices"]), rows, tuple(int(g) for g in row_groups))


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()


class ChunkActor:
    """A Ray Data map worker: one replica of the job's encoders, encoding one chunk per call.

    Args:
        job: the job without the driver's encoders (:meth:`PrecomputeJob.for_workers`).
        use_gpu: run the encoders on this actor's GPU.
    """

    def __init__(self, job: PrecomputeJob, use_gpu: bool) -> None:
        self.encode: ChunkEncoder = job.worker_encoder("cuda" if use_gpu else "cpu")

    def __call__(self, batch: pa.Table) -> pa.Table:
        chunks, modalities, parts, segments = [], [], [], []
        for chunk, groups, payload in zip(
            batch.column("chunk").to_pylist(), batch.column("row_groups").to_pylist(), batch.column("task").to_pylist()
        ):
            result = self.encode(_task_of(chunk, groups, payload))
            for m, table in result.parts.items():
                chunks.append(result.chunk)
                modalities.append(m)
                parts.append(_ipc(table))
                segments.append(result.segments)
        return pa.table(
            {
                "chunk": pa.array(chunks, pa.int64()),
                "modality": pa.array(modalities, pa.string()),
                "part": pa.array(parts, pa.binary()),
                "segments": pa.array(segments, pa.int64()),
            }
        )


def actor_slots(options: RayOptions, cluster_cpus: float, chunks: int) -> tuple[int, float]:
    """``(actors, GPUs per actor)`` for a job of ``chunks`` chunks on a cluster with ``cluster_cpus`` CPUs."""
    if options.num_workers is not None:
        actors = int(options.num_workers)
    elif options.num_gpus:
        actors = max(1, math.ceil(options.num_gpus))
    else:
        actors = max(1, int(cluster_cpus))
    actors = max(1, min(actors, chunks))
    return actors, min(1.0, options.num_gpus / actors)  # an actor runs its encoders on one GPU


def _absolute_root(job: PrecomputeJob) -> PrecomputeJob:
    """The job with ``data.root`` absolute, so workers with another working directory find the data."""
    data = job.config.data
    config = job.config.model_copy(update={"data": data.model_copy(update={"root": str(Path(data.root).resolve())})})
    shipped = job.for_workers()
    shipped.config = config
    return shipped


def ray_engine(options: RayOptions) -> Engine:
    """An engine running the chunks as Ray Data ``map_batches`` over an actor pool (see the module docstring).

    Raises:
        PrecomputeEngineError: Ray is not installed, the cluster cannot be reached, or the job failed.
    """

    def run(job: PrecomputeJob, tasks: Sequence[ChunkTask], write: WriteChunk) -> None:
        try:
            import ray
            import ray.data
        except ImportError:
            raise PrecomputeEngineError(INSTALL_HINT) from None
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(
                    address=options.address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = options.address or "a local instance"
                raise PrecomputeEngineError(f"cannot start or reach the Ray cluster ({where}): {exc}") from None
        try:
            _run_on_ray(ray, job, tasks, write, options)
        finally:
            if started:
                ray.shutdown()

    return run


def _run_on_ray(
    ray: Any, job: PrecomputeJob, tasks: Sequence[ChunkTask], write: WriteChunk, options: RayOptions
) -> None:
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver reports progress per finished chunk
    workers, gpus = actor_slots(options, ray.cluster_resources().get("CPU", 1), len(tasks))
    dataset = ray.data.from_items([_task_row(t) for t in tasks], override_num_blocks=len(tasks))
    encoded = dataset.map_batches(
        ChunkActor,
        fn_constructor_kwargs={"job": _absolute_root(job), "use_gpu": bool(gpus)},
        batch_size=1,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        num_gpus=gpus,
    )
    expected = {t.chunk: len(t.rows) for t in tasks}
    waiting: dict[int, dict[str, pa.Table]] = {}
    try:
        for block in encoded.iter_batches(batch_size=None, batch_format="pyarrow"):
            for chunk, m, part, segments in zip(
                block.column("chunk").to_pylist(),
                block.column("modality").to_pylist(),
                block.column("part").to_pylist(),
                block.column("segments").to_pylist(),
            ):
                parts = waiting.setdefault(chunk, {})
                parts[m] = _from_ipc(part)
                if len(parts) == expected[chunk]:
                    write(ChunkResult(chunk, waiting.pop(chunk), segments))
    except ray.exceptions.RayError as exc:
        raise PrecomputeEngineError(
            f"the Ray precompute job failed: {str(exc).strip().splitlines()[-1]}; the finished chunks are kept: "
            "rerun `chroma precompute --engine ray` (or without --engine) to resume"
        ) from None

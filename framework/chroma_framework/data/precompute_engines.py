"""Precompute engines: who runs the chunks of a precompute job.

An engine is called as ``engine(job, tasks, write)``: it encodes every :class:`ChunkTask` with a
:class:`~chroma_framework.data.precompute_chunks.ChunkEncoder` and hands each
:class:`~chroma_framework.data.precompute_chunks.ChunkResult` to ``write`` in the calling process, which
writes the part files (so every engine writes the same files, and any engine resumes any other's run).

* :func:`local_engine` with 0 or 1 workers encodes in this process with the encoders already built;
* :func:`local_engine` with ``N >= 2`` workers starts ``N`` spawned processes, each building its own
  replica of the encoders (checked against the driver's fingerprints) and reading its chunks' media itself;
* :func:`~chroma_framework.data.precompute_ray.ray_engine` runs the chunks on a Ray cluster (the ``ray``
  extra).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from chroma.contracts import Encoder
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.errors import DataError
from chroma_framework.data.precompute_chunks import (
    BuildEncoder,
    ChunkEncoder,
    ChunkResult,
    ChunkTask,
    worker_chunk_encoder,
)
from chroma_framework.data.precompute_inputs import DigestedDataset
from chroma_framework.threads import apply_threads, torch_threads

#: ``write(result)`` stores one finished chunk.
WriteChunk = Callable[[ChunkResult], None]


class PrecomputeEngineError(DataError):
    """A precompute worker failed or died; the finished chunks are kept and a rerun resumes from them."""


@dataclass
class PrecomputeJob:
    """Everything a worker needs to rebuild the driver's encoders and dataset.

    Attributes:
        config: the whole configuration (paths absolute or relative to ``data.root``).
        build: ``(modality, section) -> Encoder``, picklable for workers in other processes.
        fingerprints: ``{modality: fingerprint}`` of the modalities computed.
        audio_sample_rate: the audio encoder's rate (``None``: the config's).
        threads: torch threads per worker (``None``: leave torch's setting).
        encoders: the driver's built encoders (used by the in-process engine; empty in workers).
        dataset: the driver's dataset (used by the in-process engine; ``None`` in workers).
    """

    config: ChromaConfig
    build: BuildEncoder
    fingerprints: Mapping[str, str]
    audio_sample_rate: int | None
    threads: int | None
    encoders: Mapping[str, Encoder | None]
    dataset: DigestedDataset | None

    def worker_encoder(self, device: str = "cpu") -> ChunkEncoder:
        """A :class:`ChunkEncoder` built from the config alone (in a worker process), on ``device``."""
        apply_threads(self.threads)
        return worker_chunk_encoder(
            self.config,
            self.build,
            self.fingerprints,
            self.audio_sample_rate,
            self.config.data.precompute.batch_size,
            device,
        )

    def for_workers(self) -> PrecomputeJob:
        """This job without the driver's encoders and dataset (what is shipped to workers)."""
        return PrecomputeJob(self.config, self.build, self.fingerprints, self.audio_sample_rate, self.threads, {}, None)


#: ``engine(job, tasks, write)``.
Engine = Callable[[PrecomputeJob, Sequence[ChunkTask], WriteChunk], None]


def run_in_process(job: PrecomputeJob, tasks: Sequence[ChunkTask], write: WriteChunk) -> None:
    """Encode every task here, with the driver's encoders."""
    assert job.dataset is not None, "the in-process engine needs the driver's dataset"
    encode = ChunkEncoder(job.encoders, job.dataset, job.config.data.precompute.batch_size)
    with torch_threads(job.threads):  # as many threads as a worker gets: the same bits as any engine
        for task in tasks:
            write(encode(task))


_WORKER: ChunkEncoder | None = None


def _init_worker(job: PrecomputeJob) -> None:
    global _WORKER
    _WORKER = job.worker_encoder()


def _encode_in_worker(task: ChunkTask) -> ChunkResult:
    assert _WORKER is not None, "precompute worker used before its initializer ran"
    return _WORKER(task)


def local_engine(num_workers: int) -> Engine:
    """In process for ``num_workers <= 1``, else a pool of ``num_workers`` spawned processes."""
    if num_workers <= 1:
        return run_in_process

    def run_pool(job: PrecomputeJob, tasks: Sequence[ChunkTask], write: WriteChunk) -> None:
        context = multiprocessing.get_context("spawn")  # fork is unsafe once torch has started threads
        workers = min(num_workers, len(tasks))
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(job.for_workers(),)
        ) as pool:
            pending = {pool.submit(_encode_in_worker, task) for task in tasks}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        write(future.result())
            except BrokenProcessPool:
                raise PrecomputeEngineError(
                    "a precompute worker process died (killed, or out of memory); the finished chunks are kept: "
                    "rerun `chroma precompute` to resume (or lower data.precompute.num_workers)"
                ) from None
            finally:
                for future in pending:
                    future.cancel()

    return run_pool

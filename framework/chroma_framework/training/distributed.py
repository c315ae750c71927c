"""Multi-process (data-parallel) training with :mod:`torch.distributed`: gloo on CPUs, NCCL on GPUs.

A process started by ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
address) joins the process group when the trainer asks for its :func:`context`; a process started any other
way trains alone, exactly as before. Every process builds the same model from the same seed, loads the whole
(small) split tensors, and reads its part of every global batch (:class:`~chroma_framework.training.shard.Shard`).
After the backward passes of one optimiser step the gradients are averaged over the processes
(:meth:`DistContext.average_gradients`), so every process takes the same optimiser step: the result is the
single-process run's, up to float summation order, when nothing random differs (see ``docs/scaling-out.md``).

Why not :class:`torch.nn.parallel.DistributedDataParallel`: a training step here runs the model more than once
before its backward pass (the main loss, then one pass per ``training.loss.unimodal`` modality) and a step may
leave parameters without a gradient (the null embedding of a modality present in every row, an encoder whose
modality is absent from a shard). DDP needs ``find_unused_parameters=True`` for the second, and with it the
second forward pass fails with "Expected to mark a variable ready only once" (torch 2.13). Averaging once per
optimiser step, after gradient accumulation, is what DDP's ``no_sync`` + reducer does, in one place, without
constraints on the forward pass; it gives up overlapping the exchange with the backward pass.

Only rank 0 writes the run directory (logs, checkpoints, ``run.json``); every process computes the same
validation metrics from the gathered predictions, so every process takes the same early-stopping decision.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from chroma.errors import ConfigError
from chroma_framework.predict import Predictions
from chroma_framework.training.data import PrecomputedSource
from chroma_framework.training.metrics_log import MetricsLog
from chroma_framework.training.shard import Shard

logger = logging.getLogger(__name__)

#: Gradients are exchanged in flat buckets of at most this many bytes (bounds the extra memory of a step).
BUCKET_BYTES = 32 * 2**20


class LaunchError(ConfigError):
    """``chroma train --devices N``: the training processes could not be started, or one of them failed."""


def launched_world_size() -> int:
    """``WORLD_SIZE`` set by ``torchrun`` (1 when this process was not started by a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """``RANK`` set by ``torchrun`` (0 when this process was not started by a launcher)."""
    return int(os.environ.get("RANK", "0"))


class SilentLog(MetricsLog):
    """The metrics log of every process but rank 0: records are dropped (rank 0 writes the run's logs)."""

    def __init__(self) -> None:  # no run directory: nothing is ever read or written
        self._columns = {}

    def write(self, record: dict[str, Any]) -> None:
        """Drop ``record``."""


@dataclass(frozen=True)
class DistContext:
    """This process's place among the training processes.

    Attributes:
        rank: global process index (0 writes the run directory).
        world_size: number of training processes.
        device: where this process trains (``cuda:LOCAL_RANK`` on GPUs).
    """

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def shard(self) -> Shard:
        return Shard(self.rank, self.world_size)

    @property
    def _sharded(self) -> bool:
        return self.world_size > 1

    def _comm(self, tensor: Tensor) -> Tensor:
        """``tensor`` where the backend exchanges it (the GPU for NCCL, the CPU for gloo)."""
        return tensor.to(self.device if self.device.type == "cuda" else "cpu")

    # ------------------------------------------------------------ set-up
    def bind(self, source: object) -> None:
        """Make ``source`` serve this process's rows.

        Raises:
            ConfigError: the source cannot be sharded (end-to-end training), or the validation split has
                fewer segments than there are processes.
        """
        if not self._sharded:
            return
        if not isinstance(source, PrecomputedSource):
            raise ConfigError(
                f"training.mode: end_to_end trains in one process; {self.world_size} processes were started. "
                "Use training.mode: precomputed (trainable encoders read their input cache) or one process"
            )
        if source.split_size("val") < self.world_size:
            raise ConfigError(
                f"the validation split has {source.split_size('val')} segments, fewer than the "
                f"{self.world_size} training processes; train with fewer processes"
            )
        source.shard = self.shard

    def seed_epoch(self, seed: int, epoch: int) -> None:
        """Give each process its own torch RNG stream for the epoch (dropout, modality dropout).

        A single process keeps its one stream (the checkpoint restores it on resume); with several, the
        stream of a process depends only on the seed, the epoch and its rank, so a resumed epoch repeats.
        """
        if self._sharded:
            torch.manual_seed(seed * 1_000_003 + 7_919 * epoch + 104_729 * (self.rank + 1))

    def barrier(self) -> None:
        if self._sharded:
            dist.barrier()

    # ------------------------------------------------------------ reductions
    def all_true(self, flag: Tensor) -> bool:
        """Whether ``flag`` (a bool scalar) is true in every process."""
        if not self._sharded:
            return bool(flag)
        value = self._comm(flag.detach().to(torch.int32).reshape(1))
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each of ``values`` summed over the processes (every process passes them in the same order)."""
        if not self._sharded:
            return list(values)
        carried = self._comm(torch.tensor(list(values), dtype=torch.float64))
        dist.all_reduce(carried)
        return [float(v) for v in carried.tolist()]

    def mean(self, total: Tensor) -> float:
        """The mean over the processes of the scalar ``total``."""
        return self.sum([float(total)])[0] / self.world_size

    def split_means(self, means: dict[str, float], split_rows: int) -> dict[str, float]:
        """Row-weighted ``means`` over this process's part of a split of ``split_rows`` rows -> over the whole split.

        Every process passes the same keys in the same order (they come from the same heads).
        """
        if not self._sharded or not means:
            return means
        rows = len(torch.tensor_split(torch.arange(split_rows), self.world_size)[self.rank])
        totals = self.sum([value * rows for value in means.values()])
        return {key: total / split_rows for key, total in zip(means, totals)}

    def average_gradients(self, model: nn.Module) -> None:
        """Replace every trainable parameter's gradient by its mean over the processes.

        A parameter without a gradient in some processes counts as zero there; one without a gradient in
        every process keeps none (the optimiser skips it, as in a single-process run).
        """
        if not self._sharded:
            return
        params = [p for p in model.parameters() if p.requires_grad]
        has_grad = self._comm(torch.tensor([p.grad is not None for p in params], dtype=torch.int32))
        dist.all_reduce(has_grad)
        used = [p for p, n in zip(params, has_grad.tolist()) if n > 0]
        for p in used:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        for bucket in _buckets([p.grad for p in used if p.grad is not None]):
            flat = torch.cat([g.reshape(-1) for g in bucket])
            dist.all_reduce(flat)
            flat /= self.world_size
            for grad, part in zip(bucket, torch.split(flat, [g.numel() for g in bucket])):
                grad.copy_(part.view_as(grad))

    def broadcast_state(self, model: nn.Module, buffers_only: bool = False) -> None:
        """Copy rank 0's parameters and buffers (only its buffers with ``buffers_only``) to every process.

        Parameters stay equal by construction (same seed, same averaged steps); this makes sure of it once
        after start-up. Buffers a layer updates from its own batches (BatchNorm running statistics) drift
        apart between processes; after each epoch every process takes rank 0's, as DDP does.
        """
        if not self._sharded:
            return
        tensors = list(model.buffers()) if buffers_only else [*model.parameters(), *model.buffers()]
        with torch.no_grad():
            for tensor in tensors:
                carried = self._comm(tensor.detach().to(torch.uint8) if tensor.dtype == torch.bool else tensor.detach())
                dist.broadcast(carried, src=0)
                tensor.copy_(carried.to(tensor.dtype))

    def gather_predictions(self, preds: Predictions) -> Predictions:
        """Every process's :class:`~chroma_framework.predict.Predictions`, concatenated in rank order.

        Each process predicted its contiguous part of the split, so the result holds the split's rows in order.
        """
        if not self._sharded:
            return preds
        gathered: dict[str, Any] = {}
        for f in fields(preds):
            value = getattr(preds, f.name)
            gathered[f.name] = (
                self._gather_rows(value)
                if isinstance(value, Tensor)
                else {k: self._gather_rows(v) for k, v in value.items()}
            )
        return Predictions(**gathered)

    def _gather_rows(self, tensor: Tensor) -> Tensor:
        """``[N_r, ...]`` per process -> ``[sum N_r, ...]`` on the CPU (padded for the exchange, then trimmed)."""
        carried = tensor.to(torch.uint8) if tensor.dtype == torch.bool else tensor
        counts = [self._comm(torch.zeros(1, dtype=torch.int64)) for _ in range(self.world_size)]
        dist.all_gather(counts, self._comm(torch.tensor([carried.shape[0]], dtype=torch.int64)))
        sizes = [int(c.item()) for c in counts]
        padded = self._comm(carried.new_zeros((max(sizes), *carried.shape[1:])))
        padded[: carried.shape[0]] = self._comm(carried)
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat([p[:n].cpu() for p, n in zip(parts, sizes)]).to(tensor.dtype)


def _buckets(grads: list[Tensor]) -> list[list[Tensor]]:
    """``grads`` grouped by dtype and device into lists of at most :data:`BUCKET_BYTES` (one tensor may exceed it)."""
    buckets: list[list[Tensor]] = []
    open_: dict[tuple[torch.dtype, torch.device], tuple[list[Tensor], int]] = {}
    for grad in grads:
        if grad.is_sparse:
            raise ConfigError("multi-process training does not average sparse gradients (an nn.Embedding(sparse=True))")
        key = (grad.dtype, grad.device)
        bucket, size = open_.get(key, ([], 0))
        if bucket and size + grad.numel() * grad.element_size() > BUCKET_BYTES:
            buckets.append(bucket)
            bucket, size = [], 0
        open_[key] = ([*bucket, grad], size + grad.numel() * grad.element_size())
    buckets.extend(bucket for bucket, _ in open_.values())
    return buckets


def _process_device(device: torch.device, local_rank: int) -> torch.device:
    """The device of process ``local_rank`` of its node, for the resolved ``training.device``."""
    if device.type == "cpu":
        return device
    if device.type != "cuda" or device.index is not None:
        raise ConfigError(
            f"training.device is {str(device)!r}; with several training processes use auto, cuda (process i of "
            "a node trains on cuda:i) or cpu"
        )
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise ConfigError(
            f"process {local_rank} of this node has no GPU ({count} visible); start at most {count} processes "
            "per node (torchrun --nproc-per-node), or set training.device: cpu"
        )
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def context(device: torch.device) -> DistContext:
    """This process's :class:`DistContext`, joining the process group first when ``torchrun`` started it.

    Args:
        device: the resolved ``training.device`` (:func:`~chroma_framework.training.loop.resolve_device`).

    Raises:
        ConfigError: the device does not suit several processes, or the processes cannot reach each other.
    """
    world_size = launched_world_size()
    if world_size <= 1:
        return DistContext(0, 1, device)
    device = _process_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        try:
            dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
        except (ValueError, RuntimeError) as exc:
            raise ConfigError(
                f"the {world_size} training processes could not join ({backend}): {exc}. Start them with "
                "torchrun (or chroma train --devices N), which sets RANK, WORLD_SIZE and MASTER_ADDR/PORT"
            ) from None
        logger.info("process %d of %d training on %s (%s)", dist.get_rank(), world_size, device, backend)
    return DistContext(dist.get_rank(), dist.get_world_size(), device)


def shutdown() -> None:
    """Leave the process group (at the end of ``chroma train`` in a launched process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def launch_needed(devices: int | None) -> bool:
    """Whether ``chroma train --devices devices`` has to start the training processes itself.

    Raises:
        LaunchError: torchrun started another number of processes than ``devices``.
    """
    world_size = launched_world_size()
    if devices is not None and world_size > 1 and devices != world_size:
        raise LaunchError(
            f"--devices {devices}, but torchrun started {world_size} processes; leave --devices out under torchrun"
        )
    return devices is not None and devices > 1 and world_size == 1


def launch_local(nproc: int, argv: Sequence[str]) -> int:
    """Run ``chroma ARGV`` in ``nproc`` processes of this machine through torchrun (a free port); returns 0.

    Raises:
        LaunchError: a process failed (its own message is printed above torchrun's report).
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    status = subprocess.run([*command, "-m", "chroma_framework", *argv], check=False).returncode
    if status != 0:
        raise LaunchError(
            f"training in {nproc} processes failed (torchrun exit status {status}); see the messages above"
        )
    return 0

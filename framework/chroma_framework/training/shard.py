"""Which rows one of ``world_size`` training processes reads (the single-process run is ``Shard()``).

Training: every process walks the same seeded global batches (``training.batch_size`` rows each, the order of
the single-process run) and takes its contiguous part of each, so the processes together see exactly the
single-process batch at every step. Each part carries the loss weight ``rows_here * world_size / rows_in_batch``:
averaging the weighted gradients over the processes then gives the gradient of the global batch's mean loss,
even when the last batch does not split evenly. A process whose part of a short last batch is empty reads the
batch's first row with weight 0, so it still joins the gradient exchange and adds nothing to it.

Evaluation: every process takes its contiguous part of the split, so gathering the parts in rank order restores
the split's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

#: Batch key holding the loss weight of a process's part of a global batch (multi-process runs only).
LOSS_WEIGHT = "loss_weight"


@dataclass(frozen=True)
class Shard:
    """Process ``rank`` of ``world_size``.

    Attributes:
        rank: 0-based process index.
        world_size: number of training processes.
    """

    rank: int = 0
    world_size: int = 1

    def take(self, rows: Tensor) -> tuple[Tensor, float]:
        """This process's part of one global batch's ``rows`` (``[B]`` int64) and its loss weight."""
        if self.world_size == 1:
            return rows, 1.0
        part = torch.tensor_split(rows, self.world_size)[self.rank]
        if part.numel() == 0:
            return rows[:1], 0.0
        return part, part.numel() * self.world_size / rows.numel()

    def train_batches(
        self, global_rows: Iterable[Tensor], make_batch: Callable[[Tensor], dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        """``make_batch`` of this process's part of each global batch, with :data:`LOSS_WEIGHT` when sharded."""
        for rows in global_rows:
            part, weight = self.take(rows)
            batch = make_batch(part)
            if self.world_size > 1:
                batch[LOSS_WEIGHT] = weight
            yield batch

    def eval_rows(self, n: int, batch_size: int, device: torch.device) -> Iterator[Tensor]:
        """Consecutive ``[<= batch_size]`` batches of this process's contiguous part of ``range(n)``."""
        rows = torch.tensor_split(torch.arange(n), self.world_size)[self.rank].to(device)
        for start in range(0, len(rows), batch_size):
            yield rows[start : start + batch_size]

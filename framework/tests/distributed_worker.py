"""Run by ``torchrun --nproc-per-node 2`` from ``test_distributed_training.py``: the collectives of
:class:`~chroma_framework.training.distributed.DistContext` on uneven, partly missing data (gloo).

Each process asserts what it received; a failed assertion fails its process and so the torchrun command.
"""

from __future__ import annotations

import torch
from torch import nn

from chroma_framework.predict import Predictions
from chroma_framework.training.distributed import context, shutdown


def main() -> None:
    dist = context(torch.device("cpu"))
    rank = dist.rank
    assert dist.world_size == 2

    # Gradients: one parameter used by both processes, one by rank 0 only, one by neither.
    model = nn.Module()
    model.both = nn.Parameter(torch.zeros(3))
    model.rank0 = nn.Parameter(torch.zeros(2))
    model.unused = nn.Parameter(torch.zeros(1))
    model.both.grad = torch.full((3,), float(rank + 1))  # 1 and 2 -> 1.5
    if rank == 0:
        model.rank0.grad = torch.tensor([4.0, 6.0])  # and nothing -> [2, 3]
    dist.average_gradients(model)
    assert torch.equal(model.both.grad, torch.full((3,), 1.5))
    assert model.rank0.grad is not None and torch.equal(model.rank0.grad, torch.tensor([2.0, 3.0]))
    assert model.unused.grad is None, "a parameter no process used keeps no gradient (AdamW skips it)"

    # Predictions of uneven parts (3 rows, 2 rows), gathered in rank order with their dtypes.
    rows = torch.arange(3) if rank == 0 else torch.arange(3, 5)
    local = Predictions(
        logits={"head": rows[:, None].float().repeat(1, 2)},
        labels={"head": rows},
        mask=(rows[:, None] % 2 == 0).repeat(1, 3),
    )
    whole = dist.gather_predictions(local)
    assert torch.equal(whole.labels["head"], torch.arange(5))
    assert whole.mask.dtype == torch.bool and torch.equal(whole.mask[:, 0], torch.arange(5) % 2 == 0)
    assert torch.equal(whole.logits["head"][:, 1], torch.arange(5).float())

    # Means over each process's part of a 5-row split (3 and 2 rows) -> over the split.
    means = dist.split_means({"frame_loss": float(rank + 1)}, 5)
    assert abs(means["frame_loss"] - (1 * 3 + 2 * 2) / 5) < 1e-12
    assert dist.all_true(torch.tensor(True)) and not dist.all_true(torch.tensor(rank == 0))
    assert dist.mean(torch.tensor(float(rank))) == 0.5

    # Rank 0's parameters and buffers reach every process (a bool buffer included).
    net = nn.Linear(2, 2)
    net.register_buffer("flag", torch.tensor([rank == 0, rank == 1]))
    with torch.no_grad():
        net.weight.fill_(float(rank))
    dist.broadcast_state(net)
    assert torch.equal(net.weight, torch.zeros(2, 2)) and net.flag.tolist() == [True, False]
    shutdown()


if __name__ == "__main__":
    main()

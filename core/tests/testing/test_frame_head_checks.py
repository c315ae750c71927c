"""The frame head checks pass a correct head and catch heads that let padded frames through."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from chroma.frame_heads.base import FrameHead
from chroma.frame_heads.config import BoundaryHeadConfig
from chroma.frame_heads.conv import BoundaryHead
from chroma.testing import ContractTarget, as_targets, check_plugin


class LeakyHead(FrameHead):
    """Mixes neighbouring frames without zeroing its hidden state at padded frames, and skips the base's masking."""

    name = "leaky"
    target = "boundary"

    def __init__(self, input_dim: int) -> None:
        super().__init__(input_dim, ("boundary",))
        self.conv = nn.Conv1d(input_dim, 4, 3, padding=1)
        self.out = nn.Conv1d(4, 1, 3, padding=1)

    def frame_logits(self, sequence: Tensor, mask: Tensor) -> Tensor:
        return self.out(torch.relu(self.conv(sequence.transpose(1, 2)))).transpose(1, 2)

    def forward(self, sequence: Tensor, mask: Tensor) -> Tensor:  # no masking at all
        return self.frame_logits(sequence, mask)


def test_first_party_boundary_head_passes_every_check():
    target = ContractTarget(
        "boundary", "frame_head", BoundaryHead, BoundaryHeadConfig, {"hidden": 8, "kernel_size": 3, "layers": 2}
    )
    report = check_plugin(target, on_fail=None)
    assert report.ok, report.summary()
    assert {r.check for r in report.results} >= {
        "check_frame_head_padding_invariance",
        "check_frame_head_gradients_ignore_padding",
        "check_frame_head_finite",
    }


def test_a_head_that_leaks_padding_fails_the_padding_checks():
    report = check_plugin(as_targets([LeakyHead])[0], on_fail=None)
    failed = {r.check for r in report.failures}
    assert {"check_frame_head_padding_invariance", "check_frame_head_gradients_ignore_padding"} <= failed


def test_a_head_with_an_unknown_target_cannot_be_built():
    class Odd(LeakyHead):
        target = "tempo"

    with pytest.raises(ValueError, match="target 'tempo'"):
        Odd(4)

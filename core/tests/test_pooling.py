"""Length masks and masked pooling shared by the plugins."""

from __future__ import annotations

import torch

from chroma import length_mask, masked_max, masked_mean


def test_length_mask_marks_the_first_positions() -> None:
    mask = length_mask(torch.tensor([0, 2, 5]), 3)
    assert mask.tolist() == [[False, False, False], [True, True, False], [True, True, True]]


def test_masked_mean_and_max_ignore_padding_and_give_zeros_for_empty_rows() -> None:
    x = torch.tensor([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]], [[7.0, 7.0], [8.0, 8.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    torch.testing.assert_close(masked_mean(x, mask), torch.tensor([[2.0, -3.0], [0.0, 0.0]]))
    torch.testing.assert_close(masked_max(x, mask), torch.tensor([[3.0, -2.0], [0.0, 0.0]]))

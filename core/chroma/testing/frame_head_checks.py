"""Contract checks of frame head plugins (kind ``frame_head``): shapes, padded frames, finite outputs.

Every check builds the head fresh for :data:`SMALL_FRAME_DIM`-wide sequences and feeds a batch whose rows have
different lengths (one with no valid frame). Padded frames must change nothing: not the outputs at valid frames,
not a loss over the valid frames (no gradient reaches a padded frame), and the outputs there are zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from chroma.frame_heads.base import FRAME_TARGETS, FrameHead, frame_probabilities
from chroma.testing.check_helpers import assert_close, assert_finite, json_round_trip_config, state_round_trip
from chroma.testing.targets import SMALL_FRAME_DIM, ContractTarget

Check = Callable[[ContractTarget], None]

#: Frames of the kit's batch and the valid frames of each of its rows.
FRAMES = 13
LENGTHS = (13, 8, 1, 0)


def _head(target: ContractTarget, seed: int = 0) -> FrameHead:
    head = target.build(seed=seed)
    assert isinstance(head, FrameHead)
    return head


def _batch(seed: int = 0, scale: float = 1.0) -> tuple[Tensor, Tensor]:
    """``(sequence [4, FRAMES, D] zero past each row's length, mask [4, FRAMES])``."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.arange(FRAMES)[None, :] < torch.tensor(LENGTHS)[:, None]
    sequence = torch.randn(len(LENGTHS), FRAMES, SMALL_FRAME_DIM, generator=generator) * scale
    return sequence * mask[..., None], mask


def check_frame_head_declares_contract(target: ContractTarget) -> None:
    """The head names its kind, a known target, its outputs, and reads ``input_dim``-wide sequences."""
    head = _head(target)
    if not getattr(head, "name", None):
        raise AssertionError(f"{target!r}: the head sets no name")
    if head.target not in FRAME_TARGETS:
        raise AssertionError(f"{target!r}: target {head.target!r} is not one of {FRAME_TARGETS}")
    if head.input_dim != SMALL_FRAME_DIM or head.output_dim != len(head.output_names) or head.output_dim < 1:
        raise AssertionError(
            f"{target!r}: built for input_dim {SMALL_FRAME_DIM}, got input_dim {head.input_dim}, "
            f"output_dim {head.output_dim}, outputs {head.output_names}"
        )


def check_frame_head_output_shape(target: ContractTarget) -> None:
    """``[B, T, D]`` + ``[B, T]`` -> ``[B, T, K]`` floats, probabilities in ``[0, 1]``."""
    head = _head(target)
    sequence, mask = _batch()
    with torch.no_grad():
        logits = head(sequence, mask)
    expected = (len(LENGTHS), FRAMES, head.output_dim)
    if tuple(logits.shape) != expected or not logits.is_floating_point():
        raise AssertionError(f"{target!r}: output {tuple(logits.shape)} {logits.dtype}, expected float {expected}")
    probs = frame_probabilities(logits, mask)
    if probs.min() < 0 or probs.max() > 1:
        raise AssertionError(f"{target!r}: probabilities outside [0, 1]")


def check_frame_head_padding_invariance(target: ContractTarget) -> None:
    """Values at padded frames change no valid frame's output, padded outputs are 0, and a row equals that row
    cut at its length."""
    head = _head(target)
    sequence, mask = _batch()
    garbage = (
        sequence + (~mask)[..., None] * torch.randn(sequence.shape, generator=torch.Generator().manual_seed(1)) * 50
    )
    with torch.no_grad():
        clean, dirty = head(sequence, mask), head(garbage, mask)
        assert_close(target, "outputs with garbage in the padded frames", dirty, clean)
        padded = clean[~mask]
        if padded.numel() and padded.abs().max() > 0:
            raise AssertionError(f"{target!r}: outputs at padded frames are not 0 (max {padded.abs().max():.3g})")
        n = LENGTHS[1]
        alone = head(sequence[1:2, :n], mask[1:2, :n])
        assert_close(target, f"row 1 alone, cut at its {n} frames", alone[0], clean[1, :n])


def check_frame_head_gradients_ignore_padding(target: ContractTarget) -> None:
    """A loss over the valid frames sends no gradient to padded frames and some to the head's parameters."""
    head = _head(target).train()
    sequence, mask = _batch()
    sequence = sequence.clone().requires_grad_(True)
    torch.manual_seed(0)
    logits = head(sequence, mask)
    loss = (logits * mask[..., None]).pow(2).sum()
    loss.backward()
    grad = sequence.grad
    assert grad is not None
    leaked = grad[~mask].abs().max() if (~mask).any() else torch.zeros(())
    if leaked > 0:
        raise AssertionError(f"{target!r}: a loss over valid frames has gradient {float(leaked):.3g} at padded frames")
    trained = [p for p in head.parameters() if p.requires_grad]
    if trained and all(p.grad is None or not bool(p.grad.abs().sum() > 0) for p in trained):
        raise AssertionError(f"{target!r}: no parameter gets a gradient from a loss over its outputs")


def check_frame_head_finite(target: ContractTarget) -> None:
    """Large inputs and rows without a valid frame give finite outputs."""
    head = _head(target)
    for scale in (1.0, 1e3):
        sequence, mask = _batch(seed=2, scale=scale)
        with torch.no_grad():
            assert_finite(target, f"outputs for inputs of scale {scale:g}", head(sequence, mask))
    with torch.no_grad():
        empty = head(torch.zeros(2, FRAMES, SMALL_FRAME_DIM), torch.zeros(2, FRAMES, dtype=torch.bool))
    assert_finite(target, "outputs of rows without a valid frame", empty)


def check_frame_head_state_round_trip(target: ContractTarget) -> None:
    """Weights survive a safetensors round trip into a head built from the JSON round trip of its config."""
    config, rebuilt = json_round_trip_config(target)
    source, fresh = target.build(seed=0, config=config), target.build(seed=1, config=rebuilt)
    state_round_trip(target, source, fresh)
    sequence, mask = _batch()
    with torch.no_grad():
        assert_close(target, "outputs after the state round trip", fresh(sequence, mask), source(sequence, mask))


def frame_head_checks(target: ContractTarget) -> Iterator[Check]:
    """Every check of a frame head."""
    yield check_frame_head_declares_contract
    yield check_frame_head_output_shape
    yield check_frame_head_padding_invariance
    yield check_frame_head_gradients_ignore_padding
    yield check_frame_head_finite
    yield check_frame_head_state_round_trip

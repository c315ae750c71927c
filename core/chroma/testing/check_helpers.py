"""Shared pieces of the fusion and encoder checks: Hypothesis settings and assertions.

A failing check says what differs in a few lines (how many rows, the first of them, the largest difference
and where). ``CHROMA_KIT_FULL_VALUES=1`` adds the full tensors and the Hypothesis example that was drawn.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import Tensor, nn

from chroma.testing.targets import ContractTarget

#: Examples per Hypothesis-driven check unless the target's ``test_max_examples`` capability says otherwise.
DEFAULT_MAX_EXAMPLES = 10
#: ``1``: failing checks print the full tensors and the drawn Hypothesis example, not only a summary.
FULL_VALUES_ENV = "CHROMA_KIT_FULL_VALUES"
#: Differing rows listed in a failure summary.
SHOWN_ROWS = 5


def full_values() -> bool:
    """Whether :data:`FULL_VALUES_ENV` asks for full values in failure messages."""
    return os.environ.get(FULL_VALUES_ENV, "").strip().lower() in ("1", "true", "yes", "on")


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch ops on one intra-op thread, restoring the previous count afterwards.

    The kit's modules are tiny: thread hand-off costs more than it saves (10-50x
    slower on a loaded 2-core machine), and results then never depend on the thread count.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_examples(target: ContractTarget, *strategies: st.SearchStrategy[Any]) -> Callable[[Callable[..., None]], None]:
    """Run the decorated body over Hypothesis examples, reproducibly (derandomised, no database).

    Shrinking is off: the first failing example is reported as drawn, which
    keeps failing checks fast (each failure message names the mask/rows). The drawn example itself
    (every tensor of the batch) is printed only with :data:`FULL_VALUES_ENV`.

    Usage inside a check::

        @run_examples(target, multimodal_batches(dims))
        def _(batch): ...
    """

    def decorate(body: Callable[..., None]) -> None:
        configured = settings(
            max_examples=int(target.capability("test_max_examples", DEFAULT_MAX_EXAMPLES)),
            deadline=None,
            derandomize=True,
            database=None,
            print_blob=False,
            verbosity=Verbosity.normal if full_values() else Verbosity.quiet,
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        configured(given(*strategies)(body))()

    return decorate


def assert_close(
    target: ContractTarget, what: str, actual: Tensor, expected: Tensor, *, atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Fail naming the plugin, the property, the differing rows and the largest difference.

    Elementwise ``|actual - expected| <= atol + rtol * |expected|``; NaN never matches. The message
    summarises: how many rows differ and the first :data:`SHOWN_ROWS` of them, the largest difference,
    where it is and both values there (the full tensors too with :data:`FULL_VALUES_ENV`).
    """
    if actual.shape != expected.shape:
        raise AssertionError(f"{target!r}: {what}: shapes {tuple(actual.shape)} vs {tuple(expected.shape)}")
    close = torch.isclose(actual, expected, rtol=rtol, atol=atol)
    if not close.all():
        raise AssertionError(f"{target!r}: {what}: {difference_summary(actual, expected, close)}")


def difference_summary(actual: Tensor, expected: Tensor, close: Tensor) -> str:
    """A few lines on where ``actual`` and ``expected`` (same shape) differ; ``close`` is their elementwise match."""
    if close.dim():
        rows = torch.nonzero(~close.reshape(close.shape[0], -1).all(dim=1)).flatten().tolist()
        shown = ", ".join(map(str, rows[:SHOWN_ROWS])) + (", ..." if len(rows) > SHOWN_ROWS else "")
        where = f"{len(rows)} of {close.shape[0]} rows differ (rows {shown})"
    else:
        where = "the values differ"
    gap = (actual.detach().double() - expected.detach().double()).abs().nan_to_num(nan=float("inf"))
    gap = gap.masked_fill(close, -1.0)
    at = tuple(int(i) for i in torch.unravel_index(torch.argmax(gap), gap.shape)) if gap.dim() else ()
    worst = (
        f"max abs difference {gap[at].item():.3g} at {list(at)}: "
        f"got {actual[at].item():.6g}, expected {expected[at].item():.6g}"
    )
    if not full_values():
        return f"{where}; {worst} (set {FULL_VALUES_ENV}=1 for the full tensors and the drawn example)"
    return f"{where}; {worst}\nactual:\n{_full(actual)}\nexpected:\n{_full(expected)}"


def _full(tensor: Tensor) -> str:
    """Every value of ``tensor`` (no ``...`` elision)."""
    return np.array2string(tensor.detach().cpu().double().numpy(), threshold=sys.maxsize)


def assert_finite(target: ContractTarget, what: str, tensor: Tensor) -> None:
    """Fail naming the plugin when ``tensor`` holds NaN or ±inf."""
    if not torch.isfinite(tensor).all():
        bad = (~torch.isfinite(tensor)).reshape(tensor.shape[0], -1).any(dim=1) if tensor.dim() else tensor
        rows = torch.nonzero(bad).flatten().tolist() if tensor.dim() else []
        raise AssertionError(f"{target!r}: {what} is not finite (rows {rows})")


def state_round_trip(target: ContractTarget, source: nn.Module, fresh: nn.Module) -> None:
    """Load ``source``'s state into ``fresh`` through safetensors bytes (as checkpoints do)."""
    state = {k: v.detach().clone().contiguous() for k, v in source.state_dict().items()}
    try:
        payload = save_safetensors(state)
    except Exception as exc:
        raise AssertionError(f"{target!r}: state_dict cannot be written as safetensors: {exc}") from exc
    missing, unexpected = fresh.load_state_dict(load_safetensors(payload), strict=False)
    if missing or unexpected:
        raise AssertionError(f"{target!r}: state_dict keys differ: missing {missing}, unexpected {unexpected}")


def param_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of every parameter and buffer."""
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    shapes.update({name: tuple(b.shape) for name, b in module.named_buffers()})
    return shapes


def json_round_trip_config(target: ContractTarget) -> tuple[Any, Any]:
    """The target's config and the config rebuilt from its JSON ``model_dump``."""
    config = target.config()
    dumped = json.loads(json.dumps(config.model_dump(mode="json")))
    rebuilt = target.config_model.model_validate(dumped)
    if rebuilt != config:
        raise AssertionError(f"{target!r}: config changed through model_dump/model_validate: {config} -> {rebuilt}")
    return config, rebuilt


__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "FULL_VALUES_ENV",
    "assert_close",
    "difference_summary",
    "assert_finite",
    "json_round_trip_config",
    "param_shapes",
    "run_examples",
    "single_threaded",
    "state_round_trip",
]

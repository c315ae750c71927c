"""Per-modality gradient norms and imbalance warnings.

A parameter belongs to a modality when exactly one modality name appears among
the ``.``/``_``-separated parts of its qualified name: the encoder
(``encoders.midi.conv.0.weight``), the fusion's per-modality projections
(``fusion.proj.text.weight``, ``fusion.audio_proj.bias``) and the null embedding
(``fusion.missing.null.audio``). Parameters shared by several modalities
(a concatenation layer, the heads) are not attributed to any.

Because a fusion that concatenates raw embeddings (late fusion without
projections) has no per-modality parameters besides the null embeddings, the
monitor also records the **input gradient** of each modality: the mean L2 norm,
over the rows where the modality is present, of the loss gradient with respect
to the pooled embedding the fusion received (``input_<modality>``). It is
gathered on the monitored micro-batch only, with no extra backward pass.

Each kind of imbalance (measure and dominant modality) is logged as a warning the
first time it occurs in a run; later occurrences are logged at DEBUG level, and every
one is returned to the loop, which records it in ``warnings.csv``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from chroma.modality import MODALITIES, ModalityName, modality_index
from chroma_framework.config.training import GradMonitorSection

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"[._]")


def modality_of(parameter_name: str) -> str | None:
    """The single modality named in ``parameter_name``, else ``None``."""
    parts = set(_SPLIT.split(parameter_name))
    hits = [m for m in MODALITIES if m in parts]
    return hits[0] if len(hits) == 1 else None


def modality_parameters(model: nn.Module) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """``{modality: [(name, parameter)]}`` of the trainable parameters attributable to each modality."""
    out: dict[str, list[tuple[str, nn.Parameter]]] = {}
    for name, param in model.named_parameters():
        modality = modality_of(name)
        if modality is not None and param.requires_grad:
            out.setdefault(modality, []).append((name, param))
    return out


@dataclass(frozen=True)
class Imbalance:
    """One modality's gradient norm dominating the others.

    Attributes:
        step: optimiser step.
        dominant: modality with the largest norm.
        runner_up: modality with the next largest norm.
        ratio: ``norm[dominant] / norm[runner_up]``.
        message: the warning text, with a learning-rate suggestion.
    """

    step: int
    dominant: str
    runner_up: str
    ratio: float
    message: str


class GradMonitor:
    """Reads ``.grad`` after ``backward()`` (no extra autograd work).

    Args:
        model: the model being trained.
        config: the ``training.grad_monitor`` section.
        trained_encoders: modalities whose encoder is trained in the loop (they have their own
            learning rate to suggest); the others only have fusion projections and null embeddings.
        scaled_inputs: modalities whose fusion inputs pass a fitted transform (standardisation,
            quantile bins): their scale is not what to change.
        unimodal: ``training.loss.unimodal``: a modality with a loss of its own is expected to get a
            larger gradient, which the warning then says.
    """

    def __init__(
        self,
        model: nn.Module,
        config: GradMonitorSection,
        trained_encoders: set[str] | None = None,
        scaled_inputs: set[str] | None = None,
        unimodal: Mapping[ModalityName, float] | None = None,
    ) -> None:
        self.config = config
        self.trained_encoders = set(trained_encoders or ())
        self.scaled_inputs = set(scaled_inputs or ())
        self.unimodal: dict[str, float] = {m: w for m, w in (unimodal or {}).items() if w > 0}
        #: ``(measure, dominant)`` already warned about in this run.
        self._warned: set[tuple[str, str]] = set()
        self.params = {m: [p for _, p in ps] for m, ps in modality_parameters(model).items()}
        self._inputs: dict[str, Tensor] = {}
        self._mask: Tensor | None = None

    def due(self, step: int) -> bool:
        """Whether optimiser step ``step`` (0-based) is one to record."""
        return self.config.enabled and step % self.config.every == 0

    @staticmethod
    def watch_inputs(batch: dict[str, object]) -> None:
        """Before the forward pass: let precomputed embeddings (``batch["embeddings"]``) receive gradients."""
        for emb in (batch.get("embeddings") or {}).values():  # type: ignore[union-attr]
            if isinstance(emb, Tensor) and emb.is_floating_point():
                emb.requires_grad_(True)

    def retain_inputs(self, embeddings: dict[str, Tensor], modality_mask: Tensor) -> None:
        """After the forward pass: keep the gradients of the fusion inputs ``{modality: [B, D]}``."""
        self._inputs = {}
        for modality, emb in embeddings.items():
            if emb.requires_grad:
                if not emb.is_leaf:
                    emb.retain_grad()
                self._inputs[modality] = emb
        self._mask = modality_mask.detach()

    @torch.no_grad()
    def input_norms(self) -> dict[str, float]:
        """``{"input_<modality>": mean row L2 norm of d loss / d embedding}`` over present rows."""
        out: dict[str, float] = {}
        for modality, emb in self._inputs.items():
            rows = self._mask[:, modality_index(modality)] if self._mask is not None else None
            if emb.grad is None or rows is None or not bool(rows.any()):
                continue
            out[f"input_{modality}"] = float(emb.grad[rows].float().norm(dim=1).mean())
        self._inputs, self._mask = {}, None
        return out

    @torch.no_grad()
    def norms(self) -> dict[str, float]:
        """``{modality: L2 norm of all its parameters' gradients}`` (0 where none has a gradient)."""
        out: dict[str, float] = {}
        for modality, params in self.params.items():
            grads = [p.grad for p in params if p.grad is not None]
            if not grads:
                out[modality] = 0.0
                continue
            per_tensor = torch._foreach_norm(grads)
            out[modality] = float(torch.linalg.vector_norm(torch.stack([n.float() for n in per_tensor])))
        return out

    def check(self, step: int, norms: dict[str, float], measure: str = "parameter") -> Imbalance | None:
        """An :class:`Imbalance` when the largest norm exceeds every other non-zero one by the ratio.

        Args:
            step: optimiser step, for the message.
            norms: ``{modality: norm}``.
            measure: ``"parameter"`` or ``"input"`` gradient, named in the message.

        Modalities whose gradient is exactly zero (absent from the batch, or frozen) are not compared.
        """
        ranked = sorted(((v, m) for m, v in norms.items() if v > 0), reverse=True)
        if len(ranked) < 2:
            return None
        (top, dominant), (second, runner_up) = ranked[0], ranked[1]
        ratio = top / second
        if ratio < self.config.imbalance_ratio:
            return None
        message = (
            f"gradient imbalance at step {step}: the {dominant} {measure} gradient norm {top:.3g} is {ratio:.1f}x "
            f"the next largest ({runner_up} {second:.3g}, threshold {self.config.imbalance_ratio:g}x); "
            f"{self._advice(dominant)}"
        )
        if (measure, dominant) in self._warned:
            logger.debug(message)
        else:
            self._warned.add((measure, dominant))
            logger.warning(f"{message} (later {dominant} {measure} imbalances of this run go to warnings.csv only)")
        return Imbalance(step, dominant, runner_up, ratio, message)

    def _advice(self, dominant: str) -> str:
        """What to change when ``dominant``'s gradient dominates, given how it is trained and fed."""
        if dominant in self.trained_encoders:
            advice = (
                f"consider lowering model.{dominant}_encoder.learning_rate (or raising the others'), "
                f"or setting model.{dominant}_encoder.grad_clip"
            )
        elif dominant in self.scaled_inputs:
            advice = (
                f"the {dominant} inputs are already standardised or binned, so consider lowering "
                "training.learning_rate if training is unstable"
            )
        else:
            advice = (
                f"consider lowering training.learning_rate or normalising the {dominant} embeddings "
                f"(their scale drives the {dominant} projection gradients)"
            )
        if dominant in self.unimodal:
            advice += (
                f"; training.loss.unimodal.{dominant} ({self.unimodal[dominant]:g}) gives the {dominant} branch a "
                f"loss of its own, so a larger {dominant} gradient is expected: raise "
                "training.grad_monitor.imbalance_ratio if the run learns well"
            )
        return advice

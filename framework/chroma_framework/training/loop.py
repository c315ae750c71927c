"""The training loop shared by the fast (precomputed) and end-to-end paths.

One epoch: shuffled training batches (the order depends only on ``seed`` and the
epoch, so a resumed run sees the same batches), gradient accumulation, per-encoder
then global gradient clipping, an LR schedule stepped per optimiser step,
per-modality gradient norms every ``grad_monitor.every`` steps, then validation,
early stopping, the best weights and a resumable checkpoint.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from chroma import __version__
from chroma.errors import ConfigError
from chroma.modality import modality_index
from chroma.model import ChromaModel
from chroma.plugins.registry import PluginRegistry, get_registry
from chroma_framework.config.checks import solo_modalities
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.config.training import ScheduleSection
from chroma_framework.data.report import DataReport
from chroma_framework.frozen_encoders import check_training_embeddings
from chroma_framework.metrics import IGNORE_INDEX, all_head_metrics, summary
from chroma_framework.model_build import build_model
from chroma_framework.plugin_providers import resolved_providers
from chroma_framework.predict import Predictions, predict, to_device
from chroma_framework.structure.training import attach_frame_targets, frame_validation
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training import distributed
from chroma_framework.training import run_dir as rd
from chroma_framework.training.data import effective_modalities, subset_mask
from chroma_framework.training.early_stopping import EarlyStopping
from chroma_framework.training.grad_monitor import GradMonitor
from chroma_framework.training.losses import MultiHeadLoss
from chroma_framework.training.metrics_log import MetricsLog
from chroma_framework.training.param_groups import (
    FUSION_GROUP,
    build_param_groups,
    clip_gradients,
)
from chroma_framework.training.shard import LOSS_WEIGHT

logger = logging.getLogger(__name__)

#: Absent-modality counts and reasons of the training split, written after the first epoch (end to end).
TRAIN_DATA_REPORT = "train_data_report.json"

#: What to change when the loss or the model turns non-finite.
DIVERGENCE_FIX = "lower training.learning_rate (or set training.grad_clip), or check the inputs for inf/NaN values"


class TrainingDiverged(ConfigError):
    """The training loss or the validated model became non-finite (NaN/inf); the run stopped."""


class BatchSource(Protocol):
    """Where the trainer gets its batches (see :class:`chroma_framework.training.data.PrecomputedSource`)."""

    classes: dict[str, list[str]]
    #: ``{modality: D}`` of precomputed inputs; ``None`` when every modality goes through its encoder.
    input_dims: dict[str, int] | None
    fingerprints: dict[str, str]

    def split_size(self, split: str) -> int: ...
    def num_train_batches(self) -> int: ...
    def bind_model(self, model: nn.Module) -> None: ...
    def train_batches(self, epoch: int) -> Iterable[Mapping[str, Any]]: ...
    def eval_batches(self, split: str, mask: Tensor | None = None) -> Iterable[Mapping[str, Any]]: ...
    def train_labels(self) -> dict[str, Tensor]: ...
    def train_embeddings(self) -> dict[str, Tensor]: ...
    def albums(self, split: str) -> list[str | None]: ...


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        run_dir: the run directory.
        best_epoch: epoch (1-based) whose weights are in ``model.safetensors``.
        best_metrics: validation metrics of that epoch.
        epochs_run: epochs completed in total (including before a resume).
        stopped_early: whether early stopping ended the run.
    """

    run_dir: Path
    best_epoch: int | None
    best_metrics: dict[str, float]
    epochs_run: int
    stopped_early: bool


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; other names as given (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"training.device is {name!r} but CUDA is not available; use 'auto' or 'cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (model init, modality dropout, head dropout)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_lambda(schedule: ScheduleSection, total_steps: int) -> Any:
    """Multiplier of the base LR at each optimiser step (warm-up, then cosine/linear/flat)."""
    warmup = int(schedule.warmup_fraction * total_steps)
    floor = schedule.min_lr_ratio

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if schedule.name == "none":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        if schedule.name == "linear":
            return floor + (1 - floor) * (1 - progress)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def validation_metrics(
    model: nn.Module,
    source: BatchSource,
    loss_fn: MultiHeadLoss,
    device: torch.device,
    split: str = "val",
    dist: distributed.DistContext | None = None,
    solo: Sequence[str] = (),
) -> dict[str, float]:
    """``loss`` and :func:`~chroma_framework.metrics.summary` metrics of ``split``, plus, for each modality of
    ``solo``, its ``<modality>_only_`` scores: the model given that modality alone, on the rows that have it.

    Args:
        loss_fn: the training loss, on the CPU (predictions are gathered there).
        dist: with several processes, each predicts its part of ``split`` and all compute the metrics of the whole.
        solo: modalities to score alone as well (those ``training.loss.unimodal`` trains alone).
    """

    def gathered(mask: Tensor | None) -> Predictions:
        preds = predict(model, source.eval_batches(split, mask), device, keep_weights=False)
        return dist.gather_predictions(preds) if dist is not None else preds

    preds = gathered(None)
    with torch.no_grad():
        loss, per_head = loss_fn(preds.logits, preds.labels, preds.soft_labels)
    out = {"loss": float(loss), **{f"{h}_loss": float(v) for h, v in per_head.items()}}
    out.update(summary(all_head_metrics(preds.logits, preds.labels, source.classes)))
    for modality in solo:
        alone = gathered(subset_mask([modality]))
        alone = alone.take(alone.mask[:, modality_index(modality)])
        if len(alone):
            scores = summary(all_head_metrics(alone.logits, alone.labels, source.classes))
            out.update({f"{modality}_only_{k}": v for k, v in scores.items() if not k.endswith("loss")})
    return out


class Trainer:
    """Trains one run into ``run_dir``.

    Args:
        config: the validated configuration (``training.text_only_baseline`` already applied).
        run_dir: the run directory (created).
        source: training/validation batches.
        resume: continue from ``checkpoints/last.safetensors``.
        registry: plugin registry for :func:`~chroma.model.build_model`.
    """

    def __init__(
        self,
        config: ChromaConfig,
        run_dir: Path,
        source: BatchSource,
        *,
        resume: bool = False,
        registry: PluginRegistry | None = None,
    ) -> None:
        self.config = config
        self.training = config.training
        self.run_dir = Path(run_dir)
        self.source = source
        self.resume = resume
        #: ``{section: {kind, name, distribution, version}}`` of the plugins built (run.json ``providers``).
        self.providers = resolved_providers(config, registry or get_registry())
        #: This process among the training processes (the only one unless started by torchrun).
        self.dist = distributed.context(resolve_device(self.training.device))
        self.device = self.dist.device
        seed_everything(self.training.seed)
        self.model: ChromaModel = build_model(config, source.classes, source.input_dims, registry).to(self.device)
        source.bind_model(self.model)
        self.dist.bind(source)
        self.frame_loss = attach_frame_targets(config, source, self.model)
        self.model.fit_standardizers(source.train_embeddings())
        if source.split_size("val") == 0:
            raise ConfigError("the validation split is empty; early stopping and model selection need one")
        self.groups = build_param_groups(self.model, config)
        self.optimizer = torch.optim.AdamW(self.groups, lr=self.training.learning_rate)
        self.steps_per_epoch = -(-source.num_train_batches() // self.training.grad_accumulation)
        total = self.steps_per_epoch * self.training.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(self.training.schedule, total))
        train_labels = source.train_labels()
        self.val_loss_fn = MultiHeadLoss(source.classes, self.training.loss, train_labels)
        self.loss_fn = MultiHeadLoss(source.classes, self.training.loss, train_labels).to(self.device)
        trained = {m for m in self.model.encoders if m not in self.model.frozen_encoders}
        self.monitor = GradMonitor(
            self.model,
            self.training.grad_monitor,
            trained,
            scaled_inputs=set(self.model.standardizers),
            unimodal=self.training.loss.unimodal,
        )
        self.stopper = EarlyStopping(self.training.early_stopping)
        #: Modalities also scored alone at validation (``<modality>_only_*`` metrics).
        self.solo = [m for m in solo_modalities(config) if m in self.model.modalities]
        #: Loss scaling for fp16 autocast (a no-op otherwise).
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.training.precision == "fp16")
        self.epoch = 0
        self.step = 0
        #: Non-finite training batches dropped (``training.nonfinite: skip``): in total, and in a row now.
        self.skipped_batches = 0
        self.nonfinite_in_a_row = 0
        #: Why modalities were absent in the training batches of the first epoch run (end-to-end data).
        self.data_report = DataReport()

    # ----------------------------------------------------------------- run dir
    def _header(self, status: str, best_metrics: dict[str, float] | None = None) -> dict[str, Any]:
        return {
            "status": status,
            "chroma_version": __version__,
            "created": self._created,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "mode": self.training.mode,
            "text_only_baseline": self.training.text_only_baseline,
            "modalities": list(self.model.modalities),
            "input_dims": dict(self.source.input_dims or {}),
            "fingerprints": dict(self.source.fingerprints),
            "build": self.model.build_info,
            "providers": self.providers,
            "epochs_completed": self.epoch,
            "steps": self.step,
            "best_epoch": self.stopper.best_epoch,
            "best_metric": {"name": self.stopper.metric, "value": self.stopper.best},
            "best_val_metrics": best_metrics or {},
            "split_sizes": {s: self.source.split_size(s) for s in ("train", "val", "test")},
            "world_size": self.dist.world_size,
        }

    def _start(self) -> MetricsLog:
        self._created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.best_metrics: dict[str, float] = {}
        state_path = self.run_dir / rd.STATE_FILE
        if self.resume:
            header = rd.read_header(self.run_dir)
            progress = ckpt.load_training_state(state_path, self.model, self.optimizer, self.scheduler)
            self.epoch, self.step = int(progress["epoch"]), int(progress["step"])
            self.stopper.load_state_dict(progress["early_stopping"])
            self.best_metrics = dict(progress["best_val_metrics"])
            self._created = header.get("created", self._created)
            logger.info("resuming %s after epoch %d (step %d)", self.run_dir, self.epoch, self.step)
            if not self.dist.is_main:
                return distributed.SilentLog()
            rd.write_header(self.run_dir, self._header("running", self.best_metrics))  # no longer diverged/stopped
            return MetricsLog(self.run_dir, resume=True, keep_until_step=self.step)
        if not self.dist.is_main:
            return distributed.SilentLog()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        rd.copy_frozen_weights(self.run_dir, self.config, self.source.fingerprints)
        rd.write_config(self.run_dir, self.config)
        rd.write_labels(self.run_dir, self.source.classes)
        rd.write_vocabularies(self.run_dir, self.model.encoders)
        write_run_files = getattr(self.source, "write_run_files", None)  # e.g. the stream normalisation
        if write_run_files is not None:
            write_run_files(self.run_dir)
        rd.write_header(self.run_dir, self._header("running"))
        return MetricsLog(self.run_dir)

    def _checkpoint(self) -> None:
        if not self.dist.is_main:
            return
        progress = {
            "epoch": self.epoch,
            "step": self.step,
            "early_stopping": self.stopper.state_dict(),
            "best_val_metrics": self.best_metrics,
        }
        ckpt.save_training_state(self.run_dir / rd.STATE_FILE, self.model, self.optimizer, self.scheduler, progress)

    # ------------------------------------------------------------------- steps
    def autocast(self) -> torch.autocast:
        """bf16/fp16 autocast of the forward pass and loss (``training.precision``), disabled for fp32."""
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.training.precision, torch.float32)
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.training.precision != "fp32")

    def _optimizer_step(self, log: MetricsLog) -> None:
        self.dist.average_gradients(self.model)
        self.scaler.unscale_(self.optimizer)  # fp16: true gradients for the monitor and the clip
        if self.monitor.due(self.step):
            norms = self.monitor.norms()
            inputs = self.monitor.input_norms()
            log.write({"kind": "grad_norm", "epoch": self.epoch + 1, "step": self.step, **norms, **inputs})
            by_input = {k.removeprefix("input_"): v for k, v in inputs.items()}
            for measure, values in (("parameter", norms), ("input", by_input)):
                imbalance = self.monitor.check(self.step, values, measure)
                if imbalance is not None:
                    log.write(
                        {
                            "kind": "warning",
                            "epoch": self.epoch + 1,
                            "step": self.step,
                            "type": f"grad_imbalance_{measure}",
                            "dominant": imbalance.dominant,
                            "ratio": imbalance.ratio,
                            "message": imbalance.message,
                        }
                    )
        clip_gradients(self.groups, self.training.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1

    def _batches(self) -> Iterator[Mapping[str, Any]]:
        batches = self.source.train_batches(self.epoch)
        if not self.training.progress or not self.dist.is_main:
            yield from batches
            return
        from tqdm.auto import tqdm

        desc = f"epoch {self.epoch + 1}/{self.training.epochs}"
        yield from tqdm(batches, total=self.source.num_train_batches(), desc=desc, leave=False, dynamic_ncols=True)

    def _unimodal_loss(self, batch: Mapping[str, Any]) -> Tensor:
        """Weighted sum of ``training.loss.unimodal``'s single-modality losses on ``batch`` (0 without any)."""
        total = torch.zeros((), device=self.device)
        for modality, weight in self.training.loss.unimodal.items():
            present = batch["modality_mask"][:, modality_index(modality)]
            if weight == 0 or modality not in self.model.modalities or not bool(present.any()):
                continue
            solo = {
                **batch,
                "modality_mask": batch["modality_mask"] & subset_mask([modality]).to(self.device),
                # Given embeddings are inputs, not parameters: detached, the gradient monitor keeps measuring
                # what the main loss sends to each modality.
                "embeddings": {m: e.detach() for m, e in (batch.get("embeddings") or {}).items()},
            }
            labels = {h: torch.where(present, y, IGNORE_INDEX) for h, y in batch["label"].items()}
            out = self.model(solo)
            loss, _ = self.loss_fn(out.logits, labels, batch.get("soft_label"))
            total = total + weight * loss
        return total

    def _finite_loss(self, loss: Tensor, log: MetricsLog) -> bool:
        """Whether ``loss`` is finite; otherwise raise (``nonfinite: error``) or count and log the dropped batch.

        Raises:
            TrainingDiverged: ``nonfinite: error``, or ``nonfinite_max_consecutive`` non-finite batches in a row.
        """
        if self.dist.all_true(torch.isfinite(loss.detach())):
            self.nonfinite_in_a_row = 0
            return True
        where = f"epoch {self.epoch + 1}, step {self.step}"
        if self.training.nonfinite == "error":
            raise TrainingDiverged(
                f"the training loss is {float(loss)} at {where}; {DIVERGENCE_FIX}. The run stopped and this model "
                f"was not saved (training.nonfinite: skip drops such batches instead)"
            )
        self.skipped_batches += 1
        self.nonfinite_in_a_row += 1
        message = f"non-finite training loss at {where}: batch skipped ({self.skipped_batches} so far)"
        logger.warning(message)
        log.write(
            {
                "kind": "warning",
                "epoch": self.epoch + 1,
                "step": self.step,
                "type": "nonfinite_loss",
                "skipped_batches": self.skipped_batches,
                "message": message,
            }
        )
        if self.nonfinite_in_a_row >= self.training.nonfinite_max_consecutive:
            raise TrainingDiverged(
                f"{self.nonfinite_in_a_row} training batches in a row had a non-finite loss (last at {where}); "
                f"{DIVERGENCE_FIX}"
            )
        return False

    def _train_epoch(self, log: MetricsLog) -> float:
        self.model.train()
        accum = self.training.grad_accumulation
        n_batches = self.source.num_train_batches()
        epoch_loss = torch.zeros((), device=self.device)
        window_loss = torch.zeros((), device=self.device)
        window_steps = 0
        #: Batches whose gradients wait for the next optimiser step, and batches in ``epoch_loss``.
        pending = counted = 0
        count_absent = self.data_report.segments == 0
        self.dist.seed_epoch(self.training.seed, self.epoch)
        for i, batch in enumerate(self._batches()):
            if count_absent and "absent" in batch:
                self.data_report.add_batch(batch["segment_id"], batch["absent"])
            batch = to_device(batch, self.device)
            steps_now = (i + 1) % accum == 0 or i + 1 == n_batches
            watch = steps_now and self.monitor.due(self.step)
            if watch:
                self.monitor.watch_inputs(batch)
            with self.autocast():
                out = self.model(batch)
                if watch:
                    self.monitor.retain_inputs(out.inputs, out.modality_mask)
                loss, _ = self.loss_fn(out.logits, batch["label"], batch.get("soft_label"))
                loss = loss + self._unimodal_loss(batch)
                loss = loss + self.frame_loss.batch_loss(out.frames, out.frame_masks, batch)
            if self._finite_loss(loss, log):
                # This process's share of the global batch's mean loss (1 in a single-process run).
                loss = loss * batch.get(LOSS_WEIGHT, 1.0)
                self.scaler.scale(loss / accum).backward()
                epoch_loss += loss.detach()
                window_loss += loss.detach()
                window_steps += 1
                pending += 1
                counted += 1
            if steps_now and pending:
                pending = 0
                self._optimizer_step(log)
                if self.step % self.training.log_every == 0 and window_steps:
                    log.write(
                        {
                            "kind": "step",
                            "epoch": self.epoch + 1,
                            "step": self.step,
                            "train_loss": self.dist.mean(window_loss) / window_steps,
                            "lr": self.scheduler.get_last_lr()[-1],
                        }
                    )
                    window_loss.zero_()
                    window_steps = 0
        if count_absent and self.data_report.segments:
            self.data_report.write_json(self.run_dir / TRAIN_DATA_REPORT)
            logger.info("training data: %s", self.data_report.summary())
        return self.dist.mean(epoch_loss) / max(1, counted)

    # --------------------------------------------------------------------- fit
    def fit(self) -> TrainResult:
        """Train to ``training.epochs`` (or early stopping); a divergence leaves run.json status ``diverged``.

        Raises:
            TrainingDiverged: a non-finite loss (run.json then holds ``status: diverged`` and the ``error``).
        """
        log = self._start()
        self.dist.broadcast_state(self.model)
        try:
            return self._fit(log)
        except TrainingDiverged as exc:
            if self.dist.is_main:
                rd.write_header(self.run_dir, {**self._header("diverged", self.best_metrics), "error": str(exc)})
            raise

    def _fit(self, log: MetricsLog) -> TrainResult:
        stopped = self.stopper.should_stop
        while self.epoch < self.training.epochs and not stopped:
            started = time.perf_counter()
            train_loss = self._train_epoch(log)
            self.dist.broadcast_state(self.model, buffers_only=True)
            val = validation_metrics(
                self.model, self.source, self.val_loss_fn, self.device, dist=self.dist, solo=self.solo
            )
            frames = frame_validation(self.model, self.source, self.frame_loss, self.device)
            val.update(self.dist.split_means(frames, self.source.split_size("val")))  # over every process's part
            val["loss"] += val.get("frame_loss", 0.0)
            if not math.isfinite(val["loss"]):
                raise TrainingDiverged(
                    f"the model's validation loss is {val['loss']} after epoch {self.epoch + 1} (step {self.step}); "
                    f"{DIVERGENCE_FIX}. The run stopped and this model was not saved"
                )
            self.epoch += 1
            improved = self.stopper.update(self.epoch, val)
            if improved:
                self.best_metrics = val
            if improved and self.dist.is_main:
                ckpt.save_model(self.run_dir / rd.MODEL_FILE, self.model, {"epoch": self.epoch, "val": val})
            record = {
                "kind": "epoch",
                "epoch": self.epoch,
                "step": self.step,
                "train_loss": train_loss,
                **{f"val_{k}": v for k, v in val.items()},
                "lr": self._fusion_lr(),
                "seconds": time.perf_counter() - started,
                "improved": improved,
            }
            log.write(record)
            logger.info(
                "epoch %d: train loss %.4f, val loss %.4f, val %s %.4f%s",
                self.epoch,
                train_loss,
                val["loss"],
                self.stopper.metric,
                self.stopper.value(val),
                " (best)" if improved else "",
            )
            stopped = self.stopper.should_stop
            self._checkpoint()
            if self.dist.is_main:
                rd.write_header(self.run_dir, self._header("running", self.best_metrics))
        status = "stopped_early" if stopped else "completed"
        if self.dist.is_main:
            rd.write_header(self.run_dir, self._header(status, self.best_metrics))
        return TrainResult(self.run_dir, self.stopper.best_epoch, self.best_metrics, self.epoch, stopped)

    def _fusion_lr(self) -> float:
        for group in self.optimizer.param_groups:
            if group["name"] == FUSION_GROUP:
                return float(group["lr"])
        return float(self.optimizer.param_groups[0]["lr"])


def prepare_config(config: ChromaConfig, text_only: bool = False) -> ChromaConfig:
    """The config a run trains with: ``--text-only`` sets ``training.text_only_baseline`` and
    restricts ``model.modalities`` to text, so the saved config rebuilds the same model."""
    if text_only or config.training.text_only_baseline:
        model = config.model.model_copy(update={"modalities": ["text"]})
        # Scores of a modality alone that the baseline does not read (midi_only_...) leave the tracked metric.
        stopping = config.training.early_stopping
        kept = [n for n in stopping.metrics if "_only_" not in n or n.startswith("text_only_")] or ["macro_f1"]
        training = config.training.model_copy(
            update={
                "text_only_baseline": True,
                "early_stopping": stopping.model_copy(update={"metric": kept[0] if len(kept) == 1 else kept}),
            }
        )
        config = config.model_copy(update={"model": model, "training": training})
    if not effective_modalities(config):
        raise ConfigError("model.modalities is empty")
    return config


#: Keys that may change between a run and its ``--resume`` (``training.epochs`` extends the run).
RESUMABLE_CHANGES = frozenset(
    {
        "training.epochs",
        "training.progress",
        "training.device",
        "training.precision",
        "training.num_workers",
        "training.output_dir",
    }
)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def resume_config(config: ChromaConfig, run_dir: Path) -> ChromaConfig:
    """The saved config of ``run_dir``, with the resumable keys taken from ``config``.

    Raises:
        ConfigError: ``config`` differs from the saved one in a key that changes the model or data.
    """
    saved = rd.read_config(run_dir)
    old, new = _flatten(saved.model_dump(mode="json")), _flatten(config.model_dump(mode="json"))
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        details = ", ".join(f"{k} ({old.get(k)!r} -> {new.get(k)!r})" for k in changed[:8])
        raise ConfigError(
            f"--resume: the config differs from the one {run_dir} was trained with: {details}; "
            f"resume with the same config (only {', '.join(sorted(RESUMABLE_CHANGES))} may change) "
            f"or train into a new directory with --out"
        )
    training = saved.training.model_copy(update={k.split(".", 1)[1]: new[k] for k in RESUMABLE_CHANGES})
    return saved.model_copy(update={"training": training})


def make_source(config: ChromaConfig, device: torch.device, vocab: dict[str, list[str]] | None = None) -> BatchSource:
    """The batch source of ``training.mode`` (precomputed: embeddings, plus input caches of trainable encoders)."""
    from chroma_framework.config.stream_slots import stream_slots

    if stream_slots(config):
        from chroma_framework.training.stream_source import StreamSource

        return StreamSource(config, device, vocab)
    if config.training.mode == "precomputed":
        from chroma_framework.training.cached_inputs import CachedInputSource, open_caches
        from chroma_framework.training.data import PrecomputedSource, load_precomputed

        caches = open_caches(config)
        if caches:
            return CachedInputSource(config, caches, device, vocab)
        data = load_precomputed(config, vocab)
        return PrecomputedSource(data, config.training.batch_size, device, config.training.seed)
    from chroma_framework.training.end_to_end import DatasetSource

    return DatasetSource(config, vocab)


def train(
    config: ChromaConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    registry: PluginRegistry | None = None,
    config_path: str | None = None,
) -> TrainResult:
    """Train the run ``config`` describes into ``run_dir`` (or continue it with ``resume``).

    A ``run_dir`` whose run never finished an epoch (killed, out of disk) is trained anew in place, with or
    without ``resume``, and a warning says so.

    Raises:
        ConfigError: configuration or data problems, with what to change; an embeddings file whose
            fingerprints differ from the config's encoders (or the resumed run's), naming ``config_path``
            in the fix.
        chroma_framework.training.run_dir.RunError: ``resume`` on a directory that is not a resumable run.
    """
    run_dir = Path(run_dir)
    vocab = None
    dist = distributed.context(resolve_device(config.training.device))  # joins the other processes, if any
    stale = rd.unfinished(run_dir)
    dist.barrier()  # every process has looked at run_dir before rank 0 clears it
    if stale:
        logger.warning(
            "%s holds a run that never finished an epoch (no %s): %s",
            run_dir,
            rd.STATE_FILE,
            "--resume starts it anew in place" if resume else "replacing it",
        )
        if dist.is_main:
            rd.clear_unfinished(run_dir)
        resume = False
    if resume and run_dir.is_dir() and not any(run_dir.iterdir()):
        # A run that failed before writing anything (out of disk at its first file) left an empty folder; a
        # folder that does not exist stays an error (a mistyped --out).
        logger.warning("%s holds nothing to resume (the run wrote no file): --resume starts it anew", run_dir)
        resume = False
    if resume:
        rd.read_header(run_dir)
        if not (run_dir / rd.STATE_FILE).is_file():
            raise rd.RunError(f"--resume: {run_dir} has no {rd.STATE_FILE} (no epoch finished yet); train it anew")
        config = resume_config(prepare_config(config), run_dir)
        vocab = rd.read_labels_json(run_dir)
    else:
        config = prepare_config(config)
    source = make_source(config, dist.device, vocab)
    resumed = (run_dir, rd.read_header(run_dir).get("fingerprints") or {}) if resume else None
    check_training_embeddings(config, source.fingerprints, registry or get_registry(), config_path, resumed)
    return Trainer(config, run_dir, source, resume=resume, registry=registry).fit()

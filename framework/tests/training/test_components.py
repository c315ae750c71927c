"""Training building blocks: loss, LR schedule, parameter groups and clipping, gradient monitor,
early stopping, checkpoints and the metrics log."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from chroma_framework.config import load_config
from chroma_framework.config.training import (
    EarlyStoppingSection,
    GradMonitorSection,
    LossSection,
    ScheduleSection,
)
from chroma_framework.metrics import IGNORE_INDEX
from chroma_framework.model_build import build_model
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training.early_stopping import EarlyStopping
from chroma_framework.training.grad_monitor import GradMonitor, modality_of
from chroma_framework.training.loop import lr_lambda
from chroma_framework.training.losses import MultiHeadLoss, inverse_frequency_weights
from chroma_framework.training.metrics_log import MetricsLog, read_records
from chroma_framework.training.param_groups import (
    FUSION_GROUP,
    build_param_groups,
    clip_gradients,
)

CLASSES = {"a": ["x", "y", "z"], "b": ["p", "q"]}
MIDI_ENCODER = {
    "type": "piano_roll",
    "frozen": False,
    "hidden_dim": 8,
    "steps": 8,
    "channels": [2, 4, 4],
    "learning_rate": 1e-4,
    "weight_decay": 0.5,
    "grad_clip": 0.01,
}


def test_loss_is_weighted_sum_of_head_cross_entropies() -> None:
    logits = {"a": torch.randn(6, 3), "b": torch.randn(6, 2)}
    labels = {"a": torch.tensor([0, 1, 2, 0, 1, IGNORE_INDEX]), "b": torch.tensor([0, 1, 0, 1, 0, 1])}
    loss_fn = MultiHeadLoss(CLASSES, LossSection(head_weights={"b": 0.5}))
    total, per_head = loss_fn(logits, labels)
    expected_a = F.cross_entropy(logits["a"][:5], labels["a"][:5])
    assert torch.allclose(per_head["a"], expected_a)
    assert torch.allclose(total, expected_a + 0.5 * F.cross_entropy(logits["b"], labels["b"]))


def test_loss_label_smoothing_and_class_weights() -> None:
    logits = {"a": torch.randn(5, 3), "b": torch.randn(5, 2)}
    labels = {"a": torch.tensor([0, 0, 0, 1, 2]), "b": torch.tensor([0, 1, 0, 1, 0])}
    smooth = MultiHeadLoss(CLASSES, LossSection(label_smoothing=0.2))(logits, labels)[1]["a"]
    assert torch.allclose(smooth, F.cross_entropy(logits["a"], labels["a"], label_smoothing=0.2))
    auto = MultiHeadLoss(CLASSES, LossSection(class_weights="auto"), train_labels=labels)
    weights = inverse_frequency_weights(labels["a"], 3)
    assert torch.allclose(weights, torch.tensor([5 / 9, 5 / 3, 5 / 3]))
    assert torch.allclose(auto(logits, labels)[1]["a"], F.cross_entropy(logits["a"], labels["a"], weight=weights))
    explicit = MultiHeadLoss(CLASSES, LossSection(class_weights={"b": [1.0, 3.0]}))
    expected_b = F.cross_entropy(logits["b"], labels["b"], weight=torch.tensor([1.0, 3.0]))
    assert torch.allclose(explicit(logits, labels)[1]["b"], expected_b)


def test_loss_config_errors_name_the_head() -> None:
    with pytest.raises(ValueError, match="unknown heads.*'c'"):
        MultiHeadLoss(CLASSES, LossSection(head_weights={"c": 1.0}))
    with pytest.raises(ValueError, match="class_weights.a has 2 weights; the head has 3"):
        MultiHeadLoss(CLASSES, LossSection(class_weights={"a": [1.0, 2.0]}))


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["cosine", "linear", "none"]),
    warmup=st.floats(0.0, 0.5),
    floor=st.floats(0.0, 1.0),
    total=st.integers(1, 500),
)
def test_lr_schedule_warms_up_then_stays_between_floor_and_one(
    name: str, warmup: float, floor: float, total: int
) -> None:
    factor = lr_lambda(ScheduleSection(name=name, warmup_fraction=warmup, min_lr_ratio=floor), total)
    values = [factor(s) for s in range(total)]  # the factors of optimiser steps 0 .. total-1
    n_warm = int(warmup * total)
    assert all(0 < v <= 1 + 1e-12 for v in values)
    assert all(values[i] < values[i + 1] for i in range(n_warm - 1))
    after = values[n_warm:]
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(after)), "non-increasing after warm-up"
    if name != "none" and n_warm < total:
        assert math.isclose(factor(total), floor, abs_tol=1e-9), "decays to the floor at the end"
    assert min(after) >= floor - 1e-12


def encoder_model(**midi: object) -> tuple[object, torch.nn.Module]:
    config = load_config(
        {
            "model": {
                "midi_encoder": {**MIDI_ENCODER, **midi},
                "fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8], "project_dim": 4},
            },
            "data": {"labels": ["a", "b"]},
            "training": {"learning_rate": 1e-3, "weight_decay": 0.01, "grad_clip": 100.0},
        }
    )
    torch.manual_seed(0)
    return config, build_model(config, CLASSES, {"text": 6, "audio": 5})


def test_param_groups_give_each_encoder_its_own_settings() -> None:
    config, model = encoder_model()
    groups = build_param_groups(model, config)
    by_name = {(g["name"], g["weight_decay"] > 0): g for g in groups}
    midi = by_name[("encoder.midi", True)]
    assert midi["lr"] == 1e-4 and midi["weight_decay"] == 0.5 and midi["grad_clip"] == 0.01
    assert by_name[("encoder.midi", False)]["weight_decay"] == 0.0, "biases are not decayed"
    fusion = by_name[(FUSION_GROUP, True)]
    assert fusion["lr"] == 1e-3 and fusion["weight_decay"] == 0.01
    null = model.fusion.missing.null["text"]
    assert any(p is null for g in groups if g["weight_decay"] == 0 for p in g["params"])
    grouped = [p for g in groups for p in g["params"]]
    assert len(grouped) == len({id(p) for p in grouped}) == sum(1 for p in model.parameters() if p.requires_grad)


def test_frozen_encoder_parameters_are_left_out() -> None:
    config, model = encoder_model(frozen=True)
    groups = build_param_groups(model, config)
    assert all(g["name"] == FUSION_GROUP for g in groups)
    encoder_params = {id(p) for p in model.encoders["midi"].parameters()}
    assert not encoder_params & {id(p) for g in groups for p in g["params"]}


def test_per_encoder_clip_then_global_clip() -> None:
    config, model = encoder_model()
    groups = build_param_groups(model, config)
    for p in model.parameters():
        p.grad = torch.full_like(p, 3.0)
    clip_gradients(groups, global_clip=100.0)
    encoder_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.encoders["midi"].parameters()]))
    assert encoder_norm == pytest.approx(0.01, rel=1e-3)
    fusion_grad = model.heads.linear["a"].weight.grad
    assert torch.all(fusion_grad == 3.0), "the fusion group has no own clip and the global clip is loose"
    clip_gradients(groups, global_clip=1.0)
    total = torch.linalg.vector_norm(torch.stack([p.grad.norm() for g in groups for p in g["params"]]))
    assert total == pytest.approx(1.0, rel=1e-3)


def test_parameters_are_attributed_to_modalities_by_name() -> None:
    assert modality_of("encoders.midi.conv.0.weight") == "midi"
    assert modality_of("fusion.missing.null.audio") == "audio"
    assert modality_of("fusion.text_proj.bias") == "text"
    assert modality_of("fusion.mlp.0.weight") is None
    assert modality_of("fusion.text_to_audio.weight") is None, "shared by two modalities"
    assert modality_of("heads.linear.spatial_mode.weight") is None


def test_grad_monitor_norms_and_imbalance_check() -> None:
    _, model = encoder_model()
    monitor = GradMonitor(model, GradMonitorSection(every=3, imbalance_ratio=5.0), trained_encoders={"midi"})
    assert set(monitor.params) == {"text", "audio", "midi"}
    assert monitor.due(0) and monitor.due(3) and not monitor.due(4)
    for name, p in model.named_parameters():
        p.grad = torch.zeros_like(p)
    model.fusion.missing.null["text"].grad = torch.full((6,), 2.0)
    norms = monitor.norms()
    assert norms["text"] == pytest.approx(math.sqrt(6 * 4.0)) and norms["midi"] == 0.0
    assert monitor.check(7, {"text": 1.0, "audio": 0.5, "midi": 0.0}) is None, "zero norms are not compared"
    warning = monitor.check(7, {"text": 1.0, "audio": 0.1, "midi": 60.0})
    assert warning is not None and warning.dominant == "midi" and warning.runner_up == "text"
    assert "model.midi_encoder.learning_rate" in warning.message and "step 7" in warning.message
    fusion_only = monitor.check(8, {"text": 10.0, "audio": 1.0})
    assert fusion_only is not None and "training.learning_rate" in fusion_only.message
    assert "normalising the text embeddings" in fusion_only.message


def test_grad_monitor_warns_once_per_kind_and_explains_scaled_inputs_and_unimodal_losses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, model = encoder_model()
    monitor = GradMonitor(
        model, GradMonitorSection(imbalance_ratio=5.0), scaled_inputs={"audio"}, unimodal={"audio": 1.0}
    )
    with caplog.at_level("DEBUG", logger="chroma_framework.training.grad_monitor"):
        first = monitor.check(1, {"text": 1.0, "audio": 60.0})
        again = monitor.check(2, {"text": 1.0, "audio": 70.0})
        other_measure = monitor.check(2, {"text": 1.0, "audio": 70.0}, measure="input")
        text = monitor.check(3, {"text": 60.0, "audio": 1.0})
    assert first is not None and again is not None and other_measure is not None and text is not None
    assert "already standardised or binned" in first.message and "normalising" not in first.message
    assert "training.loss.unimodal.audio (1)" in first.message and "imbalance_ratio" in first.message
    assert "normalising the text embeddings" in text.message and "unimodal" not in text.message
    levels = [(r.levelname, "step 2" in r.message) for r in caplog.records]
    assert levels == [("WARNING", False), ("DEBUG", True), ("WARNING", True), ("WARNING", False)]
    assert "warnings.csv only" in caplog.records[0].message


def test_early_stopping_modes() -> None:
    stop = EarlyStopping(EarlyStoppingSection(patience=2, metric="loss"))
    assert stop.mode == "min"
    assert stop.update(1, {"loss": 1.0}) and not stop.update(2, {"loss": 1.5})
    assert not stop.should_stop and not stop.update(3, {"loss": float("nan")}) and stop.should_stop
    assert stop.best_epoch == 1
    up = EarlyStopping(EarlyStoppingSection(metric="spatial_mode_accuracy"))
    assert up.mode == "max" and up.update(1, {"spatial_mode_accuracy": 0.5})
    assert up.update(2, {"spatial_mode_accuracy": 0.6})
    with pytest.raises(ValueError, match="not a validation metric; choose one of"):
        up.update(3, {"loss": 1.0})


def test_checkpoint_kinds_are_detected(tmp_path: Path) -> None:
    config, model = encoder_model()
    ckpt.save_model(tmp_path / "m.safetensors", model, {"epoch": 2})
    assert ckpt.load_model(tmp_path / "m.safetensors", model) == {"epoch": 2}
    optimizer = torch.optim.AdamW(build_param_groups(model, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    ckpt.save_training_state(tmp_path / "s.safetensors", model, optimizer, scheduler, {"epoch": 1})
    with pytest.raises(ckpt.CheckpointError, match="'chroma.training_state' checkpoint, expected 'chroma.model'"):
        ckpt.load_model(tmp_path / "s.safetensors", model)
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ckpt.CheckpointError, match="without chroma metadata"):
        ckpt.load_model(tmp_path / "foreign.safetensors", model)
    (tmp_path / "model.pt").write_bytes(b"\x80\x04\x95 pickled bytes")
    with pytest.raises(ckpt.CheckpointError, match="not a safetensors checkpoint"):
        ckpt.load_model(tmp_path / "model.pt", model)
    _, other = encoder_model(hidden_dim=12)
    with pytest.raises(ckpt.CheckpointError, match="does not fit the model"):
        ckpt.load_model(tmp_path / "m.safetensors", other)


def test_training_state_round_trip_restores_optimizer_and_rng(tmp_path: Path) -> None:
    config, model = encoder_model()
    optimizer = torch.optim.AdamW(build_param_groups(model, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5**s)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    optimizer.step()
    scheduler.step()
    torch.manual_seed(123)
    ckpt.save_training_state(tmp_path / "s.safetensors", model, optimizer, scheduler, {"epoch": 3, "step": 1})
    expected_draw = torch.rand(3)
    _, fresh = encoder_model()
    fresh_opt = torch.optim.AdamW(build_param_groups(fresh, config))
    fresh_sched = torch.optim.lr_scheduler.LambdaLR(fresh_opt, lambda s: 0.5**s)
    progress = ckpt.load_training_state(tmp_path / "s.safetensors", fresh, fresh_opt, fresh_sched)
    assert progress == {"epoch": 3, "step": 1}
    assert torch.equal(torch.rand(3), expected_draw)
    assert fresh_sched.last_epoch == 1 and fresh_opt.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    before, after = optimizer.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k]["exp_avg_sq"], after[k]["exp_avg_sq"]) for k in before)


def test_metrics_log_csv_jsonl_and_resume_truncation(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path)
    for step in (1, 2, 3):
        log.write({"kind": "step", "step": step, "train_loss": 1.0 / step})
    log.write({"kind": "epoch", "epoch": 1, "step": 3, "val_loss": float("nan")})
    assert (tmp_path / "steps.csv").read_text().splitlines() == [
        "step,train_loss",
        "1,1.0",
        "2,0.5",
        "3,0.3333333333333333",
    ]
    assert read_records(tmp_path, "epoch")[0]["val_loss"] is None
    MetricsLog(tmp_path, resume=True, keep_until_step=2).write({"kind": "step", "step": 3, "train_loss": 9.0})
    assert [r["train_loss"] for r in read_records(tmp_path, "step")] == [1.0, 0.5, 9.0]
    assert read_records(tmp_path, "epoch") == []
    MetricsLog(tmp_path)
    assert read_records(tmp_path) == [] and not list(tmp_path.glob("*.csv"))


def test_input_gradient_norms_cover_fusions_without_per_modality_parameters() -> None:
    """Late fusion on raw concatenation (design D5) has only null embeddings per modality: input gradients fill in."""
    config = load_config(
        {"data": {"labels": ["a", "b"]}, "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}}}
    )
    torch.manual_seed(0)
    model = build_model(config, CLASSES, {"text": 6, "audio": 5, "midi": 4}).eval()
    monitor = GradMonitor(model, GradMonitorSection(every=1))
    mask = torch.tensor([[True, True, False], [True, False, True], [False, True, True]])
    batch = {
        "embeddings": {m: torch.randn(3, d) for m, d in {"text": 6, "audio": 5, "midi": 4}.items()},
        "modality_mask": mask,
    }
    monitor.watch_inputs(batch)
    out = model(batch)
    monitor.retain_inputs(out.embeddings, out.modality_mask)
    loss = sum(o.logsumexp(dim=1).sum() for o in out.logits.values())
    grads = torch.autograd.grad(loss, list(batch["embeddings"].values()), retain_graph=True)
    loss.backward()
    norms = monitor.input_norms()
    for (modality, _), grad in zip(batch["embeddings"].items(), grads):
        rows = mask[:, ["text", "audio", "midi"].index(modality)]
        assert norms[f"input_{modality}"] == pytest.approx(float(grad[rows].norm(dim=1).mean()), rel=1e-5)
        assert torch.all(grad[~rows] == 0), "absent rows are replaced by the null embedding"
    assert monitor.input_norms() == {}, "cleared after reading"
    assert set(monitor.params) == {"text", "audio", "midi"}  # the null embeddings

"""Fast-path training: reproducibility, resume, accumulation, early stopping, logs, imbalance warnings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from chroma.errors import ConfigError
from chroma_framework.config import load_config
from chroma_framework.training import checkpoint as ckpt
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import Trainer, train
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

DIMS = {"text": 24, "audio": 16, "midi": 16}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_learnable_embeddings(tmp_path_factory.mktemp("fastpath"), 400, DIMS, seed=3, separation=1.5)


def make_config(root: Path, standardize_inputs: bool = True, **training: object) -> object:
    base = {
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 5e-3,
        "progress": False,
        "log_every": 2,
        "grad_monitor": {"every": 2},
    }
    base.update(training)
    return load_config(
        {
            "data": {"root": str(root)},
            "model": {
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "project_dim": 8},
                "standardize_inputs": standardize_inputs,
            },
            "training": base,
        }
    )


def model_tensors(run: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(run / rd.MODEL_FILE), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)


def test_run_directory_layout_and_logs(data_root: Path, tmp_path: Path) -> None:
    result = train(make_config(data_root), tmp_path / "run")
    run = result.run_dir
    header = json.loads((run / rd.RUN_JSON).read_text())
    assert header["kind"] == rd.RUN_KIND and header["status"] == "completed"
    assert header["modalities"] == ["text", "audio", "midi"]
    assert header["input_dims"] == DIMS
    assert header["fingerprints"]["midi"] == "synthetic-learnable-3"
    assert header["build"]["fusion"]["name"] == "late"
    assert json.loads((run / rd.LABELS_JSON).read_text())["spatial_mode"] == ["Person", "Place", "Thing"]
    assert load_config(run / rd.CONFIG_YAML).training.epochs == 3
    assert ckpt.read_kind(run / rd.MODEL_FILE)[0] == ckpt.MODEL_KIND
    assert ckpt.read_kind(run / rd.STATE_FILE)[0] == ckpt.STATE_KIND
    epochs = read_records(run, "epoch")
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    assert (run / "epochs.csv").read_text().splitlines()[0].startswith("epoch,step,train_loss,val_loss")
    norms = read_records(run, "grad_norm")
    assert norms and all(r["step"] % 2 == 0 for r in norms)
    assert {"text", "audio", "midi", "input_text", "input_audio", "input_midi"} <= set(norms[0])
    # Learned something: spatial is carried by audio/MIDI, temporal by text.
    assert result.best_metrics["spatial_mode_accuracy"] > 0.6
    assert not list(run.rglob("*.tmp")), "atomic writes leave no temporary files"


def test_two_runs_with_the_same_seed_are_identical(data_root: Path, tmp_path: Path) -> None:
    a = train(make_config(data_root), tmp_path / "a")
    b = train(make_config(data_root), tmp_path / "b")
    drop = ("seconds",)
    strip = lambda rs: [{k: v for k, v in r.items() if k not in drop} for r in rs]
    assert strip(read_records(a.run_dir, "epoch")) == strip(read_records(b.run_dir, "epoch"))
    ta, tb = model_tensors(a.run_dir), model_tensors(b.run_dir)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    c = train(make_config(data_root, seed=7), tmp_path / "c")
    assert not all(torch.equal(ta[k], model_tensors(c.run_dir)[k]) for k in ta)


def test_resume_continues_exactly(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(data_root, epochs=4)
    full = train(config, tmp_path / "full")

    original = Trainer._train_epoch

    def crash_in_third_epoch(self: Trainer, log: object) -> float:
        if self.epoch == 2:
            raise KeyboardInterrupt("simulated crash")
        return original(self, log)

    monkeypatch.setattr(Trainer, "_train_epoch", crash_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed")
    assert json.loads((tmp_path / "resumed" / rd.RUN_JSON).read_text())["epochs_completed"] == 2
    monkeypatch.setattr(Trainer, "_train_epoch", original)
    resumed = train(config, tmp_path / "resumed", resume=True)

    assert resumed.epochs_run == 4
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert strip(read_records(resumed.run_dir, "epoch")) == strip(read_records(full.run_dir, "epoch"))
    ta, tb = model_tensors(full.run_dir), model_tensors(resumed.run_dir)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_resume_refuses_a_changed_config(data_root: Path, tmp_path: Path) -> None:
    train(make_config(data_root, epochs=1), tmp_path / "run")
    with pytest.raises(ConfigError, match="training.batch_size"):
        train(make_config(data_root, epochs=2, batch_size=16), tmp_path / "run", resume=True)
    # Extending the number of epochs is allowed.
    assert train(make_config(data_root, epochs=2), tmp_path / "run", resume=True).epochs_run == 2


def test_gradient_accumulation_counts_optimiser_steps(data_root: Path, tmp_path: Path) -> None:
    plain = train(make_config(data_root, epochs=1, batch_size=16), tmp_path / "plain")
    accum = train(make_config(data_root, epochs=1, batch_size=16, grad_accumulation=3), tmp_path / "accum")
    steps = lambda r: json.loads((r.run_dir / rd.RUN_JSON).read_text())["steps"]
    n_batches = steps(plain)
    assert steps(accum) == math.ceil(n_batches / 3)


def test_early_stopping_stops_and_keeps_the_best_epoch(data_root: Path, tmp_path: Path) -> None:
    # Validation loss cannot improve with a zero learning-rate schedule after the first epoch.
    config = make_config(
        data_root,
        epochs=10,
        learning_rate=1e-9,
        schedule={"name": "none", "warmup_fraction": 0.0},
        early_stopping={"patience": 2, "metric": "loss", "min_delta": 1.0},
    )
    result = train(config, tmp_path / "run")
    assert result.stopped_early and result.epochs_run == 3 and result.best_epoch == 1
    header = json.loads((result.run_dir / rd.RUN_JSON).read_text())
    assert header["status"] == "stopped_early"
    info = ckpt.load_model(result.run_dir / rd.MODEL_FILE, Trainer(config, tmp_path / "x", _source(config)).model)
    assert info["epoch"] == 1


def _source(config: object) -> object:
    from chroma_framework.training.loop import make_source

    return make_source(config, torch.device("cpu"))


def test_text_only_baseline_uses_text_alone(data_root: Path, tmp_path: Path) -> None:
    result = train(make_config(data_root, text_only_baseline=True), tmp_path / "text")
    header = json.loads((result.run_dir / rd.RUN_JSON).read_text())
    assert header["modalities"] == ["text"] and header["text_only_baseline"] is True
    saved = load_config(result.run_dir / rd.CONFIG_YAML)
    assert saved.model.modalities == ["text"]
    # Spatial mode is not in the lyrics: the text-only model cannot learn it.
    assert result.best_metrics["spatial_mode_accuracy"] < 0.5


def test_imbalanced_modality_triggers_a_learning_rate_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 200, DIMS, seed=1, scale={"audio": 1000.0})
    config = make_config(root, standardize_inputs=False, epochs=1, grad_clip=None)  # raw scales reach the fusion
    with caplog.at_level("WARNING", logger="chroma_framework.training.grad_monitor"):
        result = train(config, tmp_path / "run")
    warnings = read_records(result.run_dir, "warning")
    assert warnings and all(w["dominant"] == "audio" and w["ratio"] >= 10 for w in warnings)
    assert "learning_rate" in warnings[0]["message"]
    assert any("gradient imbalance" in r.message for r in caplog.records)
    assert (result.run_dir / "warnings.csv").exists()


def test_balanced_modalities_do_not_warn(data_root: Path, tmp_path: Path) -> None:
    config = make_config(data_root, epochs=1, grad_monitor={"every": 1, "imbalance_ratio": 50.0})
    result = train(config, tmp_path / "run")
    assert read_records(result.run_dir, "grad_norm")
    assert read_records(result.run_dir, "warning") == []


def test_standardisation_is_fitted_on_training_rows_and_scores_the_same_after_load_run(tmp_path: Path) -> None:
    """The audio embeddings are 1000x larger; the run standardises them with train-split statistics it saves."""
    from chroma_framework.scoring.run import load_run
    from chroma_framework.training.data import load_precomputed

    root = write_learnable_embeddings(tmp_path / "data", 200, DIMS, seed=1, scale={"audio": 1000.0})
    config = make_config(root, epochs=2)
    result = train(config, tmp_path / "run")
    tensors = model_tensors(result.run_dir)
    data = load_precomputed(config)
    train_audio = data.splits["train"].embeddings["audio"][data.splits["train"].mask[:, 1]]
    torch.testing.assert_close(tensors["standardizers.audio.mean"], train_audio.mean(dim=0))
    assert bool(tensors["standardizers.audio.fitted"]) and float(tensors["standardizers.audio.std"].mean()) > 100
    loaded = load_run(result.run_dir).model.standardizers["audio"]
    torch.testing.assert_close(loaded.mean, train_audio.mean(dim=0))
    torch.testing.assert_close(loaded.std, train_audio.std(dim=0, unbiased=False).clamp(min=1e-3))


def test_unimodal_loss_trains_the_midi_only_path(tmp_path: Path) -> None:
    """With ``loss.unimodal: {midi: 1}`` the MIDI-only logits are fitted on the MIDI rows; without it they are not."""
    root = write_learnable_embeddings(tmp_path / "data", 240, DIMS, seed=3)
    solo_losses = []
    for weights in ({}, {"midi": 1.0}):
        config = make_config(root, epochs=6, loss={"unimodal": weights}, early_stopping={"patience": 100})
        result = train(config, tmp_path / f"run-{len(weights)}")
        from chroma_framework.scoring.run import load_run
        from chroma_framework.training.data import load_precomputed, subset_mask

        model = load_run(result.run_dir).model.eval()
        train_split = load_precomputed(config).splits["train"]
        has_midi = train_split.mask[:, 2]
        mask = train_split.mask & subset_mask(["midi"])
        with torch.no_grad():
            logits = model({"modality_mask": mask, "embeddings": train_split.embeddings}).logits
        solo_losses.append(
            sum(
                float(torch.nn.functional.cross_entropy(logits[h][has_midi], y[has_midi]))
                for h, y in train_split.labels.items()
            )
        )
    assert solo_losses[1] < solo_losses[0]

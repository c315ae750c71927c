"""Training trainable encoders from the input cache next to frozen ones read from embeddings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from chroma.modality import modality_index
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import RunLoadError, load_run
from chroma_framework.training import run_dir as rd
from chroma_framework.training.cached_inputs import CachedInputSource, open_caches
from chroma_framework.training.data import subset_mask
from chroma_framework.training.loop import Trainer, train

ROLL = {"type": "piano_roll", "hidden_dim": 12, "channels": [8, 8, 8]}
CNN = {"type": "cnn", "hidden_dim": 12, "sample_rate": 8000, "n_fft": 256, "hop_length": 128, "n_mels": 16}


def config_dict(root: Path, midi_aug: float = 0.0, **training: object) -> dict[str, object]:
    return {
        "data": {
            "root": str(root),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "precompute": {"chunk_size": 16, "batch_size": 8},
        },
        "preprocessing": {
            "audio": {"duration": 1.0},
            "midi": {"augmentations": {"transpose": {"p": midi_aug}, "time_shift": {"p": midi_aug}}},
        },
        "model": {
            "audio_encoder": {**CNN, "channels": [4, 8], "frozen": True},
            "midi_encoder": {**ROLL, "frozen": False},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
        },
        "training": {"epochs": 2, "batch_size": 8, "progress": False, "device": "cpu", **training},
    }


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cached")
    write_synthetic(data, n_segments=48, seed=6, duration=1.0, lyric_embedding_dim=8)
    config_path = data / "mixed.yaml"
    config_path.write_text(yaml.safe_dump(config_dict(data)))
    assert main(["precompute", str(config_path), "--no-progress"]) == 0
    return data


def midi_of(root: Path, segment: str) -> bytes | Path:
    """The MIDI of ``segment``: its media-parquet blob, else its file."""
    import pyarrow.parquet as pq

    media = pq.read_table(root / "training_segments_media.parquet", columns=["segment_id", "midi_binary"])
    blob = media.column("midi_binary")[media.column("segment_id").to_pylist().index(segment)].as_py()
    return blob if blob is not None else root / "midi" / f"{segment}.mid"


def midi_blob(root: Path) -> bytes:
    import pyarrow.parquet as pq

    blobs = pq.read_table(root / "training_segments_media.parquet", columns=["midi_binary"]).column(0).to_pylist()
    return next(b for b in blobs if b is not None)


def test_random_frozen_encoders_are_warned_about(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", str(root / "mixed.yaml")]) == 0
    out = capsys.readouterr().out
    assert "WARNING: model.audio_encoder ('cnn') is frozen but has no loaded weights" in out
    assert "frozen: false" in out and "midi_encoder" not in out  # the trainable one is not random features
    assert main(["precompute", str(root / "mixed.yaml"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "WARNING: model.audio_encoder ('cnn') is frozen" in out and "input cache (midi" in out


def test_trainable_encoder_runs_on_present_rows_only(root: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    config = load_config(config_dict(root, epochs=1))
    seen: list[int] = []
    from chroma_midi_pianoroll.encoder import PianoRollEncoder

    forward = PianoRollEncoder.forward_prepared

    def counting(self, inputs):  # noqa: ANN001, ANN202
        seen.append(int(inputs["roll"].shape[0]))
        return forward(self, inputs)

    monkeypatch.setattr(PianoRollEncoder, "forward_prepared", counting)
    trainer = Trainer(config, tmp_path / "run", CachedInputSource(config, open_caches(config), torch.device("cpu")))
    trainer.fit()
    train_split = trainer.source.splits["train"]
    present = int(train_split.mask[:, modality_index("midi")].sum())
    val_present = int(trainer.source.splits["val"].mask[:, modality_index("midi")].sum())
    assert 0 < present < len(train_split)
    assert sum(seen) == present + val_present  # one training epoch plus one validation pass, present rows only


def test_trained_encoder_weights_are_saved_and_reloaded(root: Path, tmp_path: Path) -> None:
    config = load_config(config_dict(root, epochs=1))  # one epoch: the saved best weights are the last ones
    source = CachedInputSource(config, open_caches(config), torch.device("cpu"))
    trainer = Trainer(config, tmp_path / "run", source)
    initial = {k: v.clone() for k, v in trainer.model.encoders["midi"].state_dict().items()}
    trainer.fit()
    assert any(not torch.equal(initial[k], v) for k, v in trainer.model.encoders["midi"].state_dict().items())
    run = load_run(tmp_path / "run")
    assert "midi" in run.model.encoders and "audio" not in run.model.encoders
    assert (tmp_path / "run" / rd.ENCODERS_DIR / "audio.safetensors").is_file()  # the frozen random-init audio CNN
    trainer.model.eval()
    for batch in source.eval_batches("test"):
        reloaded, in_memory = run.model(batch).logits, trainer.model(batch).logits
        for head in reloaded:
            assert torch.equal(reloaded[head], in_memory[head])
    midi_only = subset_mask(["midi"])
    split = source.splits["test"]
    row = int(torch.nonzero(split.mask[:, modality_index("midi")]).flatten()[0])
    cached = next(iter(source.eval_batches("test", midi_only)))
    expected = {h: torch.softmax(v[row], dim=0).tolist() for h, v in run.model(cached).logits.items()}
    scores = run.score(midi=midi_of(root, split.segment_ids[row]))  # raw MIDI: forward = forward_prepared(prepare)
    for head, probabilities in expected.items():
        assert list(scores[head].values()) == pytest.approx(probabilities, abs=1e-5)


def test_every_seed_of_a_sweep_scores_and_scores_the_same_twice(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dict(root, epochs=1)
    config["training"]["output_dir"] = str(tmp_path)  # type: ignore[index]
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["sweep", str(path), "--fusion", "late", "--seeds", "3", "--out", str(tmp_path / "sw")]) == 0
    capsys.readouterr()
    midi = midi_blob(root)
    for seed in (0, 1, 2):
        run_dir = tmp_path / "sw" / "late" / f"seed{seed}"
        first = load_run(run_dir).score(midi=midi, audio=(torch.zeros(8000).numpy(), 8000))
        second = load_run(run_dir).score(midi=midi, audio=(torch.zeros(8000).numpy(), 8000))
        assert first == second
    unsaved = tmp_path / "unsaved"
    shutil.copytree(tmp_path / "sw" / "late" / "seed1", unsaved)
    shutil.rmtree(unsaved / rd.ENCODERS_DIR)
    with pytest.raises(RunLoadError, match="not saved with the run"):
        load_run(unsaved).score(midi=midi, audio=(torch.zeros(8000).numpy(), 8000))


def test_augmentation_is_drawn_in_training_batches_only(root: Path, tmp_path: Path) -> None:
    plain = load_config(config_dict(root))
    augmented = load_config(config_dict(root, midi_aug=1.0))
    sources = [CachedInputSource(c, open_caches(c), torch.device("cpu")) for c in (plain, augmented)]
    for source in sources:
        source.bind_model(Trainer(source.config, tmp_path / "unused", source).model)
    rolls = [[b["prepared"]["midi"]["inputs"]["roll"] for b in s.eval_batches("val")] for s in sources]
    assert all(torch.equal(a, b) for a, b in zip(*rolls))
    train_rolls = [next(iter(s.train_batches(0)))["prepared"]["midi"]["inputs"]["roll"] for s in sources]
    assert train_rolls[0].shape == train_rolls[1].shape and not torch.equal(*train_rolls)
    again = next(iter(sources[1].train_batches(0)))["prepared"]["midi"]["inputs"]["roll"]
    assert torch.equal(again, train_rolls[1])  # seeded: the same epoch draws the same augmentation


def test_bf16_autocast_trains_on_the_cpu(root: Path, tmp_path: Path) -> None:
    result = train(load_config(config_dict(root, epochs=1, precision="bf16")), tmp_path / "bf16")
    assert result.epochs_run == 1 and all(v == v for v in result.best_metrics.values())

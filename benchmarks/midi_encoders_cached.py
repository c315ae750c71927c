"""MIDI encoders learning from the input cache: piano roll D2 (``conv2d``) and ``conv1d``, and the token encoders.

For each design: the best epoch's wall seconds of ``chroma train`` (MIDI only, trainable encoder, cached inputs,
validation included), that per present MIDI training row, and the validation accuracy per head over the rows
that have MIDI after ``--epochs`` epochs. The data is ``chroma data synth``, whose ``spatial_mode`` is a
function of the notes (register, rate, polyphony); its other heads are not (they follow the lyrics), so only
``spatial_mode`` shows whether an encoder learns (chance is about 0.33).

Run: ``python benchmarks/midi_encoders_cached.py [--segments 400] [--epochs 12] [--threads 2] [--data DIR]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from chroma.modality import modality_index
from chroma_framework.config import load_config
from chroma_framework.data.input_cache import build_input_caches
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.metrics import all_head_metrics
from chroma_framework.predict import predict
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import make_source, train
from chroma_framework.training.metrics_log import read_records

TOKENS = {"hidden_dim": 64, "d_model": 64, "layers": 2, "heads": 4, "ff_dim": 128, "max_tokens": 512}
DESIGNS = {
    "piano_roll conv2d (D2)": {"type": "piano_roll", "architecture": "conv2d"},
    "piano_roll conv1d": {"type": "piano_roll", "architecture": "conv1d"},
    "event_based (2x64)": {"type": "event_based", **TOKENS},
    "music_transformer (2x64)": {"type": "music_transformer", **TOKENS},
}


def config(root: Path, encoder: dict[str, object], epochs: int, out: Path) -> object:
    return load_config(
        {
            "data": {"root": str(root)},
            "preprocessing": {"audio": {"duration": 10.0}},
            "model": {
                "modalities": ["midi"],
                "midi_encoder": {**encoder, "frozen": False},
                "fusion": {"strategy": "late", "hidden_dim": 128},
                "modality_dropout": 0.0,
            },
            "training": {
                "epochs": epochs,
                "batch_size": 32,
                "learning_rate": 1e-3,
                "progress": False,
                "device": "cpu",
                "early_stopping": {"enabled": False},
                "output_dir": str(out),
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, help="reuse a `chroma data synth` directory of 10 s segments")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp) / "data"
        if args.data is None:
            write_synthetic(root, n_segments=args.segments, seed=0, duration=10.0)
        print(f"synthetic 10 s segments in {root}, {args.threads} torch threads, {args.epochs} epochs")
        print(
            "| design | parameters | epoch s | ms / MIDI row | val "
            + " | val ".join(("temporal", "spatial", "ontological"))
            + " |"
        )
        print("|---|---|---|---|---|---|---|")
        for n, (name, encoder) in enumerate(DESIGNS.items()):
            cfg = config(root, encoder, args.epochs, Path(tmp) / "runs")
            build_input_caches(cfg, progress=False)
            result = train(cfg, Path(tmp) / "runs" / str(n))
            epochs = [r for r in read_records(result.run_dir) if r["kind"] == "epoch"]
            seconds = min(r["seconds"] for r in epochs)
            source = make_source(cfg, torch.device("cpu"))
            present = int(source.splits["train"].mask[:, modality_index("midi")].sum())
            run = load_run(result.run_dir)
            preds = predict(run.model, source.eval_batches("val"), "cpu", keep_weights=False)
            has_midi = preds.mask[:, modality_index("midi")]
            metrics = all_head_metrics(preds.take(has_midi).logits, preds.take(has_midi).labels, run.classes)
            params = sum(p.numel() for p in run.model.encoders["midi"].parameters())
            accs = " | ".join(
                f"{metrics[h].accuracy:.3f}" for h in ("temporal_mode", "spatial_mode", "ontological_mode")
            )
            print(f"| {name} | {params:,} | {seconds:.2f} | {1000 * seconds / present:.1f} | {accs} |")


if __name__ == "__main__":
    main()

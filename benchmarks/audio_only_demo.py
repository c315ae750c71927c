"""Audio-only accuracy on the demo set, by frozen audio encoder: the table of docs/encoders.md.

    python benchmarks/audio_only_demo.py --demo DEMO_DIR [--work DIR] [--variants cnn mtt_pools ...]
                                         [--seed 0] [--threads 1]

``DEMO_DIR`` is a demo set built by ``chroma demo`` (it holds ``demo.yaml`` and ``embeddings.parquet``);
nothing in it is written. For each variant the demo's config is copied with only
``model.audio_encoder`` changed and ``data.embeddings_path`` / ``data.report_path`` /
``training.output_dir`` moved under ``--work`` (``--work/seed<N>`` for ``--seed N`` other than 0, which
sets ``training.seed``: the training's and the random CNN's initialisation), then ``chroma precompute``, ``chroma train`` and
``chroma evaluate`` run on it (same seed and training setup for every variant). The demo's embeddings
file is copied in first (or, for another seed, the seed-0 variant's), so precompute reuses its text and
MIDI columns and computes only the audio one (pretrained encoders do not depend on the seed: reused too).
A variant whose run already has its report is read back, not trained again.

Printed per variant: the "audio" cell of the evaluation's missing-modality matrix over every test row
that has audio (only audio kept, text and MIDI masked), accuracy and macro-F1 per head.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

#: ``model.audio_encoder`` of each variant.
VARIANTS: dict[str, dict[str, Any]] = {
    "cnn": {"type": "cnn"},
    "mtt_penultimate": {"type": "musicnn", "model": "MTT_musicnn", "layer": "penultimate"},
    "mtt_pools": {"type": "musicnn", "model": "MTT_musicnn", "layer": "pools"},
    "msd_penultimate": {"type": "musicnn", "model": "MSD_musicnn", "layer": "penultimate"},
    "msd_pools": {"type": "musicnn", "model": "MSD_musicnn", "layer": "pools"},
    "audio_features": {"type": "audio_features"},
}
REPORT = Path("report") / "metrics.json"


def variant_config(demo: dict[str, Any], work: Path, name: str, seed: int) -> Path:
    """Write ``work/<name>.yaml``: the demo's config with ``VARIANTS[name]`` as its audio encoder, seeded ``seed``."""
    config = json.loads(json.dumps(demo))
    config["training"]["seed"] = seed
    out = work / name
    out.mkdir(parents=True, exist_ok=True)
    config["data"]["embeddings_path"] = str(out / "embeddings.parquet")
    config["data"]["report_path"] = str(out / "data_report.json")
    config["training"]["output_dir"] = str(out / "runs")
    config["model"]["audio_encoder"] = VARIANTS[name]
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def chroma(*args: str) -> None:
    """Run one ``chroma`` command of this environment; its failure stops the benchmark with its output."""
    done = subprocess.run([sys.executable, "-m", "chroma_framework", *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"chroma {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def audio_only(demo_dir: Path, work: Path, name: str, seed: int, start: Path, threads: str) -> dict[str, Any]:
    """Precompute (from a copy of ``start``), train and evaluate variant ``name``; returns its ``audio`` cell."""
    demo = yaml.safe_load((demo_dir / "demo.yaml").read_text(encoding="utf-8"))
    config = variant_config(demo, work, name, seed)
    run = work / name / "runs" / name
    if not (run / REPORT).exists():
        embeddings = work / name / "embeddings.parquet"
        if not embeddings.exists():
            shutil.copyfile(start, embeddings)
        chroma("precompute", "--no-progress", "--threads", threads, str(config))
        chroma("train", "--threads", threads, str(config), *(["--resume"] if (run / "run.json").exists() else []))
        chroma("evaluate", "--threads", threads, str(run))
    matrix = json.loads((run / REPORT).read_text(encoding="utf-8"))["available_subset_matrix"]
    return {"n": matrix["rows"]["audio"], "heads": matrix["subsets"]["audio"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, required=True, help="a built demo set (holds demo.yaml)")
    parser.add_argument("--work", type=Path, default=Path("audio-only-demo"))
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()
    if not (args.demo / "demo.yaml").exists():
        raise SystemExit(f"audio_only_demo: {args.demo / 'demo.yaml'} not found: build the demo with `chroma demo`")
    work = (args.work / f"seed{args.seed}" if args.seed else args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cells = {}
    for name in args.variants:
        start = args.work.resolve() / name / "embeddings.parquet"
        start = start if args.seed and start.exists() else args.demo / "embeddings.parquet"
        cells[name] = audio_only(args.demo, work, name, args.seed, start, args.threads)
    heads = sorted(next(iter(cells.values()))["heads"])
    print(f"audio only (text and MIDI masked), test rows with audio, seed {args.seed}; accuracy / macro-F1")
    print("| audio encoder | n | " + " | ".join(heads) + " |")
    print("|---|---|" + "---|" * len(heads))
    for name, cell in cells.items():
        values = [f"{cell['heads'][h]['accuracy']:.3f} / {cell['heads'][h]['macro_f1']:.3f}" for h in heads]
        print(f"| {name} | {cell['n']} | " + " | ".join(values) + " |")


if __name__ == "__main__":
    main()

"""Boundary hit rates of a run with frame heads at several post-processing settings, on one split.

    python benchmarks/structure_postprocess.py RUN --split val --thresholds 0.2,0.3,0.5 [--snap none,beats]

Choose the threshold on ``val``, then report ``test`` at that threshold (as docs/structure.md does).
"""

from __future__ import annotations

import argparse

from chroma_framework.evaluation.analysis import batch_source
from chroma_framework.scoring.run import load_run
from chroma_framework.structure.evaluation import evaluate_structure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--thresholds", default="0.3,0.5")
    parser.add_argument("--snap", default="beats")
    args = parser.parse_args()
    run = load_run(args.run)
    base = run.config
    source = batch_source(run)
    for threshold in (float(t) for t in args.thresholds.split(",")):
        for snap in args.snap.split(","):
            post = base.structure.postprocess.model_copy(update={"threshold": threshold, "snap": snap})
            run.config = base.model_copy(update={"structure": base.structure.model_copy(update={"postprocess": post})})
            result = evaluate_structure(run, source, args.split)
            rates = ", ".join(
                f"F@{w:g}s {m['f']:.3f} (P {m['precision']:.3f} R {m['recall']:.3f})"
                for w, m in result.hit_rate.items()
            )
            print(f"{args.run} {args.split} ({len(result.tracks)} tracks) threshold {threshold:g} snap {snap}: {rates}")


if __name__ == "__main__":
    main()

"""The label audit on the demo set with one head's labels flipped on purpose: how many flipped rows it finds.

    python benchmarks/label_audit_demo.py [--out DIR] [--segments N] [--head spatial_mode|all] [--fraction 0.05]
                                          [--folds 5] [--repeats 1] [--evidence model=1,trees=1]
                                          [--rank-by self_confidence] [--seed 0] [--threads 1]

Builds (or reuses) the demo data set in ``--out`` (``chroma demo build-data``), precomputes its frozen
encoders' embeddings (cached), copies its metadata with ``--fraction`` of ``--head``'s labels changed to
another class, runs ``chroma labels audit`` on the copy (the defaults of ``chroma labels audit`` unless
given) and prints, per head, the out-of-fold accuracy and the issues found, then the share of the flipped
rows among the first 10 % (of all segments) of the head's ranked issues, and the seconds it took.
``--head all`` does this for every head in turn (each its own flipped copy and audit). The audit's files,
``out_of_fold.npz`` among them (every source's out-of-fold probabilities, for comparing rankings offline),
are written to ``<out>/label_audit_benchmark/audit_<head>/``.

It audits with the demo's own config (``audio_features``, binned ``midi_features``, MiniLM lyrics, gated
fusion).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from chroma_framework.audit.options import AuditOptions, parse_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("chroma-demo"))
    parser.add_argument("--segments", type=int, default=None, help="demo segments (default: the demo's)")
    parser.add_argument("--head", default="spatial_mode")
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=AuditOptions.folds)
    parser.add_argument("--repeats", type=int, default=AuditOptions.repeats)
    parser.add_argument("--evidence", default=None, help="as chroma labels audit --evidence (default: its default)")
    parser.add_argument("--rank-by", default=AuditOptions.rank_by)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from chroma_demo.build import DemoParams, build_demo_dataset
    from chroma_demo.config import demo_config
    from chroma_framework.audit import run_audit, write_audit
    from chroma_framework.audit.issues import recall_in_top
    from chroma_framework.audit.noise import flip_labels
    from chroma_framework.audit.report import summary_lines
    from chroma_framework.config import load_and_validate
    from chroma_framework.data.precompute import run_precompute

    began = time.perf_counter()
    params = DemoParams() if args.segments is None else DemoParams(max_segments=args.segments)
    dataset = build_demo_dataset(args.out, params, progress=False)
    work = (args.out / "label_audit_benchmark").resolve()
    work.mkdir(parents=True, exist_ok=True)
    raw = demo_config(dataset, work / "runs")
    config_path = work / "demo.yaml"
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    config = load_and_validate(config_path)
    config = config.model_copy(update={"training": config.training.model_copy(update={"progress": False})})
    run_precompute(config, progress=False)
    prepared = time.perf_counter()

    options = AuditOptions(
        folds=args.folds,
        repeats=args.repeats,
        seed=args.seed,
        rank_by=args.rank_by,
        **({"weights": parse_weights(args.evidence)} if args.evidence else {}),
    )
    evidence = ",".join(f"{k}={w:g}" for k, w in options.weights.items())
    heads = list(config.data.labels) if args.head == "all" else [args.head]
    for head in heads:
        began_head = time.perf_counter()
        flipped_path = (work / f"flipped_{head}.parquet").resolve()
        flipped = flip_labels(dataset.metadata_path, flipped_path, head, args.fraction, seed=args.seed)
        data = config.data.model_copy(update={"metadata_path": str(flipped_path)})
        audit = run_audit(config.model_copy(update={"data": data}), options, progress=False)
        write_audit(audit, work / f"audit_{head}")
        recall = recall_in_top(audit.issues, head, flipped, len(audit.oof))
        print(
            f"demo set: {len(audit.oof)} segments, the demo's encoders; {len(flipped)} labels of {head} "
            f"flipped ({args.fraction:.0%}); evidence {evidence}, {options.folds} folds x {options.repeats}, "
            f"ranked by {options.rank_by}"
        )
        for line in summary_lines(audit):
            print(line)
        budget = -(-len(audit.oof) // 10)
        print(
            f"flipped {head} rows among the top 10 % ({budget}) of its ranked issues: "
            f"{round(recall * len(flipped))} of {len(flipped)} = {recall:.1%}"
        )
        print(f"seconds: audit of {head} {time.perf_counter() - began_head:.0f}", flush=True)
    print(f"seconds: build + precompute {prepared - began:.0f}, audits {time.perf_counter() - prepared:.0f}")


if __name__ == "__main__":
    main()

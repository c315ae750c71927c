"""``chroma train CONFIG [--resume] [--text-only] [--out DIR] [--devices N]``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from chroma_framework.cli.run_errors import user_errors
from chroma_framework.threads import add_threads_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a run (fast path on precomputed embeddings, or end to end)",
        description="Train the model CONFIG describes into a run directory (config, labels, best weights, "
        "resumable checkpoint, metrics logs). training.mode picks precomputed embeddings or end-to-end.",
    )
    parser.add_argument("config", help="path to a YAML config")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in the run directory from its last epoch"
    )
    parser.add_argument(
        "--text-only", action="store_true", help="train the text-only baseline (only lyrics reach the model)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="run directory (default: <training.output_dir>/<config name>[-text_only])"
    )
    add_threads_argument(parser)
    parser.add_argument(
        "--devices",
        metavar="N",
        type=_positive,
        help="train in N processes on this machine (one per GPU, or gloo on CPUs), started through torchrun; "
        "training.batch_size stays the global batch (docs/scaling-out.md)",
    )
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes >= 1, got {text!r}")
    return int(text)


def default_run_dir(config_path: str, output_dir: str, text_only: bool) -> Path:
    return Path(output_dir) / (Path(config_path).stem + ("-text_only" if text_only else ""))


def run(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError

    with user_errors():
        from chroma_framework.config import load_and_validate
        from chroma_framework.threads import apply_threads, resolve_threads
        from chroma_framework.training import distributed
        from chroma_framework.training.loop import train
        from chroma_framework.training.run_dir import RUN_JSON, unfinished

        config = load_and_validate(args.config)
        threads = resolve_threads(config.training.num_threads, args.threads)
        apply_threads(threads)
        text_only = args.text_only or config.training.text_only_baseline
        run_dir = Path(args.out) if args.out else default_run_dir(args.config, config.training.output_dir, text_only)
        if not args.resume and (run_dir / RUN_JSON).exists() and not unfinished(run_dir):
            raise CommandError(
                f"{run_dir} already holds a run; pass --resume to continue it or --out DIR for a new run"
            )
        if distributed.launch_needed(args.devices):
            return distributed.launch_local(args.devices, args.argv)
        if not logging.getLogger().handlers:
            rank0 = distributed.launched_rank() == 0
            logging.basicConfig(level=logging.INFO if rank0 else logging.ERROR, format="%(message)s")
        if args.text_only:
            config = config.model_copy(
                update={"training": config.training.model_copy(update={"text_only_baseline": True})}
            )
        result = train(config, run_dir, resume=args.resume, config_path=args.config)
        distributed.shutdown()
    if distributed.launched_rank() != 0:
        return 0  # rank 0 reports the run
    best = result.best_metrics
    heads = [k[: -len("_accuracy")] for k in best if k.endswith("_accuracy") and k != "accuracy"]
    print(f"run: {result.run_dir}")
    print(
        f"epochs: {result.epochs_run}{' (stopped early)' if result.stopped_early else ''}, best epoch: {result.best_epoch}"
    )
    for head in heads:
        print(f"  val {head}: accuracy {best[f'{head}_accuracy']:.3f}, macro-F1 {best[f'{head}_macro_f1']:.3f}")
    return 0

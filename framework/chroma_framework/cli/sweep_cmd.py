"""``chroma sweep CONFIG --fusion late,early,cross_attention,gated [--seeds N]``.

Trains every fusion strategy on the same precomputed embeddings with seeds
``training.seed .. training.seed + N - 1`` and prints one table of test-split
accuracy and macro-F1 per head, mean ± standard deviation over seeds.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

from chroma_framework.cli.run_errors import user_errors


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="compare fusion strategies on the same precomputed embeddings over several seeds",
        description="Train CONFIG once per fusion strategy and seed (training.mode must be precomputed) "
        "and print a comparison table (mean ± std over seeds of test accuracy and macro-F1).",
    )
    parser.add_argument("config", help="path to a YAML config")
    parser.add_argument(
        "--fusion", default="late,early,cross_attention,gated", help="comma-separated fusion strategies"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds per strategy (default 3)")
    parser.add_argument(
        "--out", metavar="DIR", help="where the runs go (default: <training.output_dir>/sweep-<config name>)"
    )
    parser.set_defaults(func=run)


def fusion_config(config: Any, strategy: str, seed: int) -> Any:
    """``config`` with fusion ``strategy`` (plugin options kept only for the config's own strategy) and ``seed``."""
    fusion = config.model.fusion
    if strategy != fusion.strategy:
        fusion = type(fusion)(strategy=strategy, hidden_dim=fusion.hidden_dim)
    model = config.model.model_copy(update={"fusion": fusion})
    training = config.training.model_copy(update={"seed": seed})
    return config.model_copy(update={"model": model, "training": training})


def split_metrics(run_dir: Path) -> dict[str, float]:
    """Test-split summary metrics of a finished run (best weights)."""
    from chroma_framework.evaluation.analysis import batch_source
    from chroma_framework.metrics import all_head_metrics, summary
    from chroma_framework.predict import predict
    from chroma_framework.scoring.run import load_run

    loaded = load_run(run_dir)
    source = batch_source(loaded)
    preds = predict(loaded.model, source.eval_batches("test"), loaded.device, keep_weights=False)
    return summary(all_head_metrics(preds.logits, preds.labels, loaded.classes))


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def run(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError

    strategies = [s.strip() for s in args.fusion.split(",") if s.strip()]
    if not strategies:
        raise CommandError("--fusion names no strategy")
    if args.seeds < 1:
        raise CommandError("--seeds must be at least 1")
    with user_errors():
        from chroma.plugins.registry import get_registry
        from chroma_framework.config import load_and_validate
        from chroma_framework.training.loop import train

        config = load_and_validate(args.config)
        if config.training.mode != "precomputed":
            raise CommandError("chroma sweep trains on precomputed embeddings: set training.mode: precomputed")
        registry = get_registry().with_disabled(config.plugins.disable)
        for strategy in strategies:
            registry.get("fusion", strategy, yaml_path="--fusion")
        out = Path(args.out) if args.out else Path(config.training.output_dir) / f"sweep-{Path(args.config).stem}"
        results: dict[str, list[dict[str, float]]] = {}
        for strategy in strategies:
            for k in range(args.seeds):
                seed = config.training.seed + k
                run_dir = out / strategy / f"seed{seed}"
                train(fusion_config(config, strategy, seed), run_dir, config_path=args.config)
                results.setdefault(strategy, []).append(split_metrics(run_dir))
    heads = list(config.data.labels)
    columns = [f"{h} {m}" for h in heads for m in ("acc", "F1")]
    print(f"test split, mean ± std over {args.seeds} seed(s); runs in {out}")
    print("| fusion | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for strategy, runs in results.items():
        cells = [_cell([r[f"{h}_{key}"] for r in runs]) for h in heads for key in ("accuracy", "macro_f1")]
        print(f"| {strategy} | " + " | ".join(cells) + " |")
    return 0

"""Write an evaluation as ``report.md`` + ``metrics.json`` + PNG plots (matplotlib, Agg backend).

Plots: training curves (loss and per-head validation accuracy per epoch),
confusion matrices, per-modality gradient norms, the subset matrix, and the
fusion's mean gate/attention weights when it exposes them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from chroma_framework.atomic import write_json
from chroma_framework.evaluation.analysis import Evaluation
from chroma_framework.metrics import HeadMetrics
from chroma_framework.training.metrics_log import read_records


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _metric_table(rows: dict[str, dict[str, HeadMetrics]], heads: list[str], first: str) -> list[str]:
    header = f"| {first} | n | " + " | ".join(f"{h} acc | {h} F1" for h in heads) + " |"
    lines = [header, "|" + "---|" * (2 + 2 * len(heads))]
    for name, metrics in rows.items():
        n = max((m.support for m in metrics.values()), default=0)
        cells = " | ".join(f"{_fmt(metrics[h].accuracy)} | {_fmt(metrics[h].macro_f1)}" for h in heads)
        lines.append(f"| {name} | {n} | {cells} |")
    return lines


def plot_training_curves(run_dir: Path, out: Path) -> Path | None:
    epochs = read_records(run_dir, "epoch")
    if not epochs:
        return None
    plt = _pyplot()
    x = [r["epoch"] for r in epochs]
    heads = sorted({k[4:-9] for r in epochs for k in r if k.startswith("val_") and k.endswith("_accuracy")} - {""})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    ax1.plot(x, [r["train_loss"] for r in epochs], label="train")
    ax1.plot(x, [r["val_loss"] for r in epochs], label="validation")
    ax1.set(xlabel="epoch", ylabel="summed cross-entropy", title="Loss")
    ax1.legend()
    for head in heads:
        ax2.plot(x, [r.get(f"val_{head}_accuracy") for r in epochs], label=head)
    ax2.set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy", ylim=(0, 1))
    ax2.legend()
    fig.tight_layout()
    path = out / "training_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_grad_norms(run_dir: Path, out: Path) -> Path | None:
    records = read_records(run_dir, "grad_norm")
    modalities = [m for m in ("text", "audio", "midi") if any(m in r for r in records)]
    if not records or not modalities:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for m in modalities:
        pts = [(r["step"], r[m]) for r in records if r.get(m)]
        if pts:
            ax.plot(*zip(*pts), label=m)
    ax.set(xlabel="optimiser step", ylabel="gradient L2 norm", title="Per-modality gradient norms", yscale="log")
    ax.legend()
    fig.tight_layout()
    path = out / "grad_norms.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusions(result: Evaluation, out: Path) -> Path:
    plt = _pyplot()
    heads = list(result.classes)
    fig, axes = plt.subplots(1, len(heads), figsize=(4.2 * len(heads), 4))
    axes = axes if len(heads) > 1 else [axes]
    for ax, head in zip(axes, heads):
        cm = result.overall[head].confusion.numpy()
        ax.imshow(cm, cmap="Blues")
        names = result.classes[head]
        ax.set(xticks=range(len(names)), yticks=range(len(names)), xlabel="predicted", ylabel="true", title=head)
        ax.set_xticklabels(names, rotation=30)
        ax.set_yticklabels(names)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", color="black")
    fig.tight_layout()
    path = out / "confusion_matrices.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_subsets(result: Evaluation, out: Path) -> Path | None:
    if not result.subsets:
        return None
    plt = _pyplot()
    heads = list(result.classes)
    names = list(result.subsets)
    values = [[result.subsets[s][h].accuracy for h in heads] for s in names]
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(heads), 0.5 * len(names) + 1.5))
    ax.imshow(values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set(xticks=range(len(heads)), yticks=range(len(names)), title="Accuracy by modality subset (complete cases)")
    ax.set_xticklabels(heads)
    ax.set_yticklabels(names)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.text(j, i, _fmt(v), ha="center", va="center", color="white" if v < 0.6 else "black")
    fig.tight_layout()
    path = out / "subset_matrix.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_weights(result: Evaluation, out: Path) -> list[Path]:
    paths = []
    plt = _pyplot()
    for name, per_pattern in result.weights.items():
        fig, ax = plt.subplots(figsize=(7, 4))
        patterns = list(per_pattern)
        width = 0.8 / max(1, len(patterns))
        for k, pattern in enumerate(patterns):
            vec = per_pattern[pattern]
            ax.bar([i + k * width for i in range(len(vec))], vec, width=width, label=pattern)
        ax.set(title=f"Mean fusion weights '{name}' by presence pattern", xlabel="component", ylabel="mean weight")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"weights_{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def _provenance_lines(result: Evaluation, heads: list[str]) -> list[str]:
    """The real vs transcribed MIDI section (nothing without ``data.transcribed_midi``)."""
    if not result.midi_provenance:
        return []
    rows: dict[str, dict[str, HeadMetrics]] = {}
    for name, group in result.midi_provenance.items():
        rows[f"{name} MIDI, all inputs"] = group["overall"]
        if "midi_only" in group:
            rows[f"{name} MIDI, MIDI only"] = group["midi_only"]
    return [
        "## MIDI provenance (real MIDI vs MIDI transcribed from audio)",
        "",
        (
            "Rows whose MIDI input is the segment's own MIDI, and apart those whose MIDI was transcribed from "
            'their audio (data.transcribed_midi); "MIDI only" masks every other modality (the inference case).'
        ),
        "",
        *_metric_table(rows, heads, "rows"),
        "",
    ]


def write_report(result: Evaluation, run_dir: Path, out: Path, header: dict[str, Any]) -> Path:
    """Write ``report.md``, ``metrics.json`` and the plots into ``out``; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    heads = list(result.classes)
    plots = [
        plot_training_curves(run_dir, out),
        plot_confusions(result, out),
        plot_subsets(result, out),
        plot_grad_norms(run_dir, out),
        *plot_weights(result, out),
    ]
    lines = [
        f"# Evaluation of `{run_dir}`",
        "",
        (
            f"- mode: {header.get('mode')}, modalities: {', '.join(header.get('modalities', []))}, "
            f"fusion: {(header.get('build') or {}).get('fusion', {}).get('name')}"
        ),
        f"- best epoch: {header.get('best_epoch')} of {header.get('epochs_completed')} ({header.get('status')})",
        f"- {result.split} rows: {result.n_rows}",
        "",
        "## Overall (natural missingness)",
        "",
        *_metric_table({"all": result.overall}, heads, "rows"),
    ]
    if result.baseline:
        lines += [
            "",
            (
                f"## Gain over baseline `{result.baseline['baseline_run']}` "
                f"({', '.join(result.baseline['baseline_modalities'])})"
            ),
            "",
            "| head | accuracy | baseline | gain | macro-F1 | baseline | gain |",
            "|---|---|---|---|---|---|---|",
        ]
        for head, d in result.baseline["heads"].items():
            lines.append(
                f"| {head} | {_fmt(d['accuracy'])} | {_fmt(d['baseline_accuracy'])} | {d['accuracy_gain']:+.3f} | "
                f"{_fmt(d['macro_f1'])} | {_fmt(d['baseline_macro_f1'])} | {d['macro_f1_gain']:+.3f} |"
            )
    lines += [
        "",
        "## Missing-modality matrix (test-time masking on complete-case rows)",
        "",
        (
            f"Rows with every modality of the run present: {result.complete_rows}. Each row of the table keeps "
            "only the named modalities; the others are masked and replaced by their null embeddings."
        ),
        "",
        *(_metric_table(result.subsets, heads, "modalities kept") if result.subsets else ["(no complete-case rows)"]),
        "",
        "## Missing-modality matrix over every row that has the kept modalities",
        "",
        (
            "Each row keeps only the named modalities and is measured on every test row that has them "
            "(rows: " + ", ".join(f"{k} {v}" for k, v in result.available_rows.items()) + ")."
        ),
        "",
        *(_metric_table(result.available, heads, "modalities kept") if result.available else ["(no rows)"]),
        "",
        "## Every available modality, on the rows that have a given one",
        "",
        "The same rows as the single-modality cells above, with nothing masked: what the other modalities add.",
        "",
        *_metric_table({f"rows with {m}": v for m, v in result.with_modality.items()}, heads, "rows"),
        "",
        *_provenance_lines(result, heads),
        "## Natural missingness (rows grouped by which modalities the data has)",
        "",
        *_metric_table(result.natural, heads, "present"),
        "",
        "## Graceful degradation (all rows, one modality dropped)",
        "",
        *_metric_table(result.degradation, heads, "input"),
    ]
    if result.per_album:
        lines += ["", "## Per album", "", *_metric_table(result.per_album, heads, "album")]
    if result.weights:
        lines += ["", "## Fusion weights (mean per presence pattern)", ""]
        for name, per in result.weights.items():
            lines += [
                f"- `{name}`: " + "; ".join(f"{p}: [{', '.join(f'{v:.2f}' for v in vec)}]" for p, vec in per.items())
            ]
    warnings = read_records(run_dir, "warning")
    if warnings:
        lines += ["", f"## Training warnings ({len(warnings)})", ""]
        lines += [f"- step {w['step']}: {w['message']}" for w in warnings[:10]]
    metrics = result.as_dict()
    if (header.get("build") or {}).get("frame_heads"):
        from chroma_framework.evaluation.structure import structure_report

        structure_lines, metrics["structure"] = structure_report(run_dir, out, result.split)
        lines += structure_lines
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots if p is not None]
    write_json(out / "metrics.json", metrics)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

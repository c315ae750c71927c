"""The stages ``chroma demo`` runs after building the data, through the library's own APIs.

1. write ``demo.yaml`` (:mod:`chroma_demo.config`) and validate it with the plugin registry;
2. precompute the frozen encoders' embeddings (``chroma precompute``; cached by fingerprint);
3. train the fused model and the text-only baseline (``chroma train`` / ``--text-only``);
4. evaluate the fused run against the baseline on the test split and write the report
   (``chroma evaluate --baseline``);
5. score one test-split segment's MIDI file with the fused run (``chroma score``).

Each stage prints a ``[demo]`` line with its elapsed time; the comparison table
(text-only vs fused, per head), the missing-modality matrix and the report's path
are printed at the end.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from chroma_demo.build import DemoDataset
from chroma_demo.config import DEMO_EPOCHS, write_demo_config


@dataclass
class DemoResult:
    """Where the demo's outputs are.

    Attributes:
        config: the written ``demo.yaml``.
        fused_run, text_only_run: the two run directories.
        report: the evaluation's ``report.md``.
        scored_midi: the MIDI file that was scored; ``scores`` its ``{head: {class: p}}``.
        evaluation: the :class:`chroma_framework.evaluation.analysis.Evaluation` of the fused run.
    """

    config: Path
    fused_run: Path
    text_only_run: Path
    report: Path
    scored_midi: Path
    scores: dict[str, dict[str, float]]
    evaluation: Any


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def _stage(number: int, total: int, name: str, fn: Callable[[], Any]) -> Any:
    _say(f"step {number}/{total}: {name} ...")
    began = time.perf_counter()
    result = fn()
    _say(f"step {number}/{total}: {name} done in {time.perf_counter() - began:.0f} s")
    return result


def comparison_lines(evaluation: Any) -> list[str]:
    """Text table per head: text-only baseline vs fused on the test split, then on the test rows with MIDI the
    fused model (every modality they have) vs MIDI only (the inference case: scoring generated MIDI)."""
    heads = evaluation.baseline["heads"]
    midi_only = evaluation.available.get("midi", {})
    fused_midi = evaluation.with_modality.get("midi", {})
    width = max(len(h) for h in heads)
    lines = [
        f"{'head':<{width}}  {'text-only acc':>13}  {'fused acc':>9}  {'gain':>6}  "
        f"{'text-only F1':>12}  {'fused F1':>8}  {'gain':>6}  {'MIDI rows: fused':>16}  {'MIDI-only':>9}"
    ]
    for head, d in heads.items():
        m, f = midi_only.get(head), fused_midi.get(head)
        midi_cols = (
            f"{f.accuracy:>16.3f}  {m.accuracy:>9.3f}" if m is not None and f is not None else f"{'-':>16}  {'-':>9}"
        )
        lines.append(
            f"{head:<{width}}  {d['baseline_accuracy']:>13.3f}  {d['accuracy']:>9.3f}  {d['accuracy_gain']:>+6.3f}  "
            f"{d['baseline_macro_f1']:>12.3f}  {d['macro_f1']:>8.3f}  {d['macro_f1_gain']:>+6.3f}  {midi_cols}"
        )
    return lines


def matrix_lines(evaluation: Any) -> list[str]:
    """Text table: accuracy per head when only the named modalities are kept, on every test row that has them."""
    if not evaluation.available:
        return ["(no test row has any of the run's modalities)"]
    heads = list(evaluation.classes)
    width = max(15, *(len(name) for name in evaluation.available))
    lines = [f"{'modalities kept':<{width}}  {'rows':>5}  " + "  ".join(f"{h:>16}" for h in heads)]
    for name, metrics in evaluation.available.items():
        rows = evaluation.available_rows[name]
        lines.append(f"{name:<{width}}  {rows:>5}  " + "  ".join(f"{metrics[h].accuracy:>16.3f}" for h in heads))
    return lines


def _example_midi(dataset: DemoDataset, out: Path) -> tuple[Path, dict[str, str]]:
    """Write a test-split segment's MIDI to ``out``; return it and the segment's true labels."""
    data = dataset.data_section()
    cols = data.columns
    table = pq.read_table(
        dataset.media_path, columns=[cols.segment_id, cols.split, cols.midi_binary, *data.labels]
    ).to_pylist()
    pick = next(
        (r for r in table if r[cols.split] == "test" and r[cols.midi_binary] is not None),
        next(r for r in table if r[cols.midi_binary] is not None),
    )
    out.write_bytes(pick[cols.midi_binary])
    return out, {head: pick[head] for head in data.labels}


def run_pipeline(
    dataset: DemoDataset,
    out: Path,
    *,
    progress: bool = True,
    epochs: int = DEMO_EPOCHS,
    audio_encoder: str = "audio_features",
) -> DemoResult:
    """Precompute, train (fused and text-only), evaluate and score on ``dataset``; outputs go under ``out``.

    ``audio_encoder`` is a key of :data:`chroma_demo.config.AUDIO_ENCODERS`.
    """
    from chroma_framework.config import load_and_validate
    from chroma_framework.data.precompute import run_precompute
    from chroma_framework.evaluation.analysis import evaluate
    from chroma_framework.evaluation.report import write_report
    from chroma_framework.scoring.run import load_run
    from chroma_framework.threads import apply_threads, resolve_threads
    from chroma_framework.training.loop import train

    total = 5
    runs = out / "runs"
    config_path = _stage(
        1,
        total,
        "write and validate demo.yaml",
        lambda: write_demo_config(dataset, out / "demo.yaml", runs, epochs, audio_encoder),
    )
    config = load_and_validate(config_path)
    config = config.model_copy(update={"training": config.training.model_copy(update={"progress": progress})})
    apply_threads(resolve_threads(config.training.num_threads))  # as chroma precompute / train / score do
    _say(f"config: {config_path}")
    _stage(2, total, "precompute frozen encoder embeddings", lambda: run_precompute(config, progress=progress))

    fused_dir, text_dir = runs / "fused", runs / "text_only"
    text_config = config.model_copy(
        update={"training": config.training.model_copy(update={"text_only_baseline": True})}
    )

    def train_both() -> None:
        for run_dir, cfg, what in (
            (fused_dir, config, "fused (text + audio + MIDI)"),
            (text_dir, text_config, "text-only"),
        ):
            shutil.rmtree(run_dir, ignore_errors=True)
            _say(f"training {what} -> {run_dir}")
            result = train(cfg, run_dir)
            _say(f"  {what}: {result.epochs_run} epochs, best epoch {result.best_epoch}")

    _stage(3, total, "train the fused model and the text-only baseline", train_both)

    def evaluate_and_report() -> tuple[Any, Path]:
        fused = load_run(fused_dir)
        result = evaluate(fused, "test", load_run(text_dir))
        report = write_report(result, fused.path, out / "report", fused.header)
        return result, report

    evaluation, report = _stage(4, total, "evaluate on the test split and write the report", evaluate_and_report)

    def score() -> tuple[Path, dict[str, str], dict[str, dict[str, float]]]:
        midi, truth = _example_midi(dataset, out / "example_segment.mid")
        return midi, truth, load_run(fused_dir).score(midi=midi)

    midi, truth, scores = _stage(5, total, "score one MIDI file with the fused model", score)

    print(flush=True)
    _say(f"test split: {evaluation.n_rows} segments; text-only baseline vs fused model; MIDI-only on the MIDI rows")
    for line in comparison_lines(evaluation):
        _say(f"  {line}")
    _say("missing-modality matrix (accuracy; each subset on every test row that has its modalities):")
    for line in matrix_lines(evaluation):
        _say(f"  {line}")
    _say(f"scored {midi} (MIDI only):")
    for head, probs in scores.items():
        best = max(probs, key=probs.get)
        detail = ", ".join(f"{c} {p:.2f}" for c, p in probs.items())
        _say(f"  {head}: {best} ({detail}); true: {truth[head]}")
    _say(f"report: {report}")
    return DemoResult(config_path, fused_dir, text_dir, report, midi, scores, evaluation)

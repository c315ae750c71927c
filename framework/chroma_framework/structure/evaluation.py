"""Structure evaluation of a run with frame heads: boundary hit rates (``mir_eval.segment.detection``) at each
``structure.windows`` window, energy MAE and correlation, and a plot of predicted vs true boundaries.

Boundaries are compared inside each track: a track's intervals run from 0 s through its boundaries to its end,
and ``trim=True`` leaves out that start and end, so only section changes count. A boundary within
``structure.postprocess.min_section`` of 0 s (the first section's own start) is left out of the reference as
post-processing leaves it out of the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from chroma.errors import ConfigError
from chroma_framework.structure.postprocess import boundaries_from_probs, smooth
from chroma_framework.structure.predict import FrameHeadOutput, frame_outputs
from chroma_framework.structure.targets import ENERGY, SegmentCues, read_cues


@dataclass
class TrackStructure:
    """Predicted and true structure of one track.

    Attributes:
        segment_id: the track's segment.
        end: seconds where its audio ends.
        reference: true boundaries (after leaving out the first section's start).
        estimated: predicted boundaries (post-processed).
        boundary: the boundary head's output.
        energy: the energy head's output, smoothed (``None``: no energy head).
        energy_true: ``[T, K]`` energy targets at the energy frames (NaN where unknown).
    """

    segment_id: str
    end: float
    reference: np.ndarray
    estimated: np.ndarray
    boundary: FrameHeadOutput
    energy: FrameHeadOutput | None = None
    energy_true: np.ndarray | None = None


@dataclass
class StructureEvaluation:
    """Structure metrics of one split.

    Attributes:
        split: the split evaluated.
        tracks: per-track predictions.
        hit_rate: ``{window: {"precision", "recall", "f"}}``, means over tracks.
        energy: ``{band: {"mae", "correlation"}}`` over every valid frame (empty without an energy head).
    """

    split: str
    tracks: list[TrackStructure]
    hit_rate: dict[float, dict[str, float]] = field(default_factory=dict)
    energy: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "tracks": len(self.tracks),
            "hit_rate": {f"{w:g}": v for w, v in self.hit_rate.items()},
            "energy": self.energy,
        }


def _intervals(boundaries: np.ndarray, end: float) -> np.ndarray:
    points = np.unique(np.concatenate([[0.0], boundaries[(boundaries > 0) & (boundaries < end)], [end]]))
    return np.stack([points[:-1], points[1:]], axis=1)


def hit_rate(reference: np.ndarray, estimated: np.ndarray, end: float, window: float) -> tuple[float, float, float]:
    """``(precision, recall, F)`` of ``mir_eval.segment.detection`` for one track (start and end trimmed).

    A track with no reference and no estimated section change scores 1 (nothing to find, nothing found); one
    side empty scores 0 (as mir_eval does).
    """
    import mir_eval

    ref, est = _intervals(reference, end), _intervals(estimated, end)
    if len(ref) < 2 and len(est) < 2:
        return 1.0, 1.0, 1.0
    if len(ref) < 2 or len(est) < 2:
        return 0.0, 0.0, 0.0
    p, r, f = mir_eval.segment.detection(ref, est, window=window, trim=True)
    return float(p), float(r), float(f)


def _grid(cues: SegmentCues, snap: str) -> np.ndarray | None:
    return cues.downbeats if snap == "downbeats" and cues.downbeats is not None else cues.beats


def structure_heads(run: Any) -> tuple[str, str | None]:
    """``(boundary head, energy head or None)`` names of ``run``'s model (the first of each target).

    Raises:
        ConfigError: the run has no boundary head.
    """
    heads = run.model.frame_heads
    boundary = [n for n, h in heads.items() if h.target == "boundary"]
    if not boundary:
        raise ConfigError(f"run {run.path} has no boundary frame head (model.frame_heads), so no structure to evaluate")
    energy = [n for n, h in heads.items() if h.target == "energy"]
    return boundary[0], energy[0] if energy else None


def evaluate_structure(run: Any, source: Any, split: str = "test") -> StructureEvaluation:
    """Run ``run``'s frame heads over ``split`` and compare them with the metadata's boundaries and the audio's energy.

    Args:
        run: a loaded run (:func:`chroma_framework.scoring.run.load_run`) with a boundary frame head.
        source: its precomputed-mode batch source (:func:`chroma_framework.evaluation.analysis.batch_source`).

    Raises:
        ConfigError: the run has no boundary head, or the split is empty.
    """
    from chroma_framework.structure.targets import resample_curve
    from chroma_framework.structure.training import attach_frame_targets

    config = run.config
    boundary_name, energy_name = structure_heads(run)
    source.bind_model(run.model)
    loss = attach_frame_targets(config, source, run.model)
    data = cast(Any, source).splits[split]
    if len(data) == 0:
        raise ConfigError(f"the {split} split is empty")
    cues = read_cues(config, data.segment_ids, float(config.preprocessing.audio.duration))
    post = config.structure.postprocess
    tracks: list[TrackStructure] = []
    ids = iter(data.segment_ids)
    energy_rows = 0
    for batch in source.eval_batches(split):
        outputs = frame_outputs(run.model, batch, run.device)
        stored = batch.get("frame_targets") or {}
        for i, row in enumerate(outputs):
            sid = next(ids)
            if boundary_name not in row or len(row[boundary_name].times) < 2:
                continue
            b = row[boundary_name]
            hop = float(b.times[1] - b.times[0])
            end = float(b.times[-1] + hop / 2)
            c = cues[sid]
            grid = _grid(c, post.snap)
            estimated = boundaries_from_probs(b.probs[:, 0], b.times, post, grid)
            reference = np.asarray(c.boundaries if c.boundaries is not None else np.zeros(0))
            reference = reference[reference >= post.min_section]
            track = TrackStructure(sid, end, reference, estimated, b)
            if energy_name is not None and energy_name in row and ENERGY in stored:
                e = row[energy_name]
                width = max(1, int(round(post.energy_smoothing / hop)))
                track.energy = FrameHeadOutput(e.times, smooth(e.probs, width), e.names)
                timing = loss.heads[energy_name].timing
                frames = int(round((e.times[-1] - timing.offset) / timing.hop)) + 1
                true = resample_curve(stored[ENERGY][i : i + 1].cpu(), loss.energy_rate, timing, frames)[0].numpy()
                track.energy_true = true[: len(e.times)]
                energy_rows += 1
            tracks.append(track)
    result = StructureEvaluation(split, tracks)
    for window in config.structure.windows:
        scores = np.array([hit_rate(t.reference, t.estimated, t.end, window) for t in tracks]).reshape(-1, 3)
        result.hit_rate[window] = dict(zip(("precision", "recall", "f"), scores.mean(axis=0).tolist(), strict=True))
    if energy_rows:
        with_energy = [t for t in tracks if t.energy is not None and t.energy_true is not None]
        pred = np.concatenate([t.energy.probs for t in with_energy if t.energy is not None])
        true = np.concatenate([t.energy_true for t in with_energy if t.energy_true is not None])
        for k, band in enumerate(with_energy[0].energy.names if with_energy[0].energy else ()):
            ok = np.isfinite(true[:, k])
            mae = float(np.abs(pred[ok, k] - true[ok, k]).mean()) if ok.any() else math.nan
            corr = float(np.corrcoef(pred[ok, k], true[ok, k])[0, 1]) if ok.sum() > 2 else math.nan
            result.energy[band] = {"mae": mae, "correlation": corr}
    return result


def plot_structure(result: StructureEvaluation, out: Path, tracks: int) -> Path | None:
    """``structure_boundaries.png``: boundary probability, predicted and true boundaries (and energy) of the
    first ``tracks`` tracks."""
    shown = result.tracks[:tracks]
    if not shown:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shown), 1, figsize=(11, 2.2 * len(shown)), squeeze=False)
    for ax, track in zip(axes[:, 0], shown, strict=True):
        ax.plot(track.boundary.times, track.boundary.probs[:, 0], color="black", lw=0.8, label="P(boundary)")
        if track.energy is not None:
            for k, name in enumerate(track.energy.names):
                ax.plot(track.energy.times, track.energy.probs[:, k], lw=0.7, alpha=0.6, label=f"energy {name}")
        for j, t in enumerate(track.reference):
            ax.axvline(t, color="tab:green", lw=2, alpha=0.6, label="true" if j == 0 else None)
        for j, t in enumerate(track.estimated):
            ax.axvline(t, color="tab:red", ls="--", lw=1.2, label="predicted" if j == 0 else None)
        ax.set(xlim=(0, track.end), ylim=(0, 1.05), ylabel=track.segment_id)
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=4)
    axes[-1, 0].set_xlabel("seconds")
    fig.suptitle(f"Predicted vs true boundaries ({result.split} split)")
    fig.tight_layout()
    path = out / "structure_boundaries.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def report_lines(result: StructureEvaluation, plot: Path | None) -> list[str]:
    """The report's ``Structure`` section (Markdown)."""
    lines = [
        "",
        f"## Structure ({result.split} split, {len(result.tracks)} tracks)",
        "",
        "Boundary hit rate (mir_eval.segment.detection, start and end trimmed), mean over tracks:",
        "",
        "| window | precision | recall | F |",
        "|---|---|---|---|",
    ]
    for window, m in result.hit_rate.items():
        lines.append(f"| {window:g} s | {m['precision']:.3f} | {m['recall']:.3f} | {m['f']:.3f} |")
    if result.energy:
        lines += ["", "| energy band | MAE | correlation |", "|---|---|---|"]
        lines += [f"| {b} | {m['mae']:.3f} | {m['correlation']:.3f} |" for b, m in result.energy.items()]
    if plot is not None:
        lines += ["", f"![{plot.stem}]({plot.name})"]
    return lines


__all__ = [
    "StructureEvaluation",
    "TrackStructure",
    "evaluate_structure",
    "hit_rate",
    "plot_structure",
    "report_lines",
    "structure_heads",
]


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """Printed lines of a ``metrics.json``'s ``structure`` entry (``[]`` when it has none)."""
    structure = metrics.get("structure")
    if not structure:
        return []
    out = [f"structure ({structure['split']}, {structure['tracks']} tracks):"]
    for window, m in structure["hit_rate"].items():
        out.append(
            f"  boundary hit rate @ {window} s: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F {m['f']:.3f}"
        )
    for band, m in structure["energy"].items():
        out.append(f"  energy {band}: MAE {m['mae']:.3f}, correlation {m['correlation']:.3f}")
    return out

"""``chroma labels audit CONFIG`` and ``chroma labels import-rekordbox XML --metadata PARQUET``."""

from __future__ import annotations

import argparse
from pathlib import Path

from chroma_framework.audit.options import FILTERS, RANK_METHODS, AuditOptions


def _weights_text(weights: dict[str, float]) -> str:
    return ",".join(f"{name}={weight:g}" for name, weight in weights.items())


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("labels", help="audit the labels, or import cue points from DJ software")
    commands = parser.add_subparsers(dest="labels_command", required=True)
    audit = commands.add_parser(
        "audit",
        help="rank likely mislabelled segments (cleanlab on K-fold out-of-fold predictions)",
        description="Predict every segment's labels out of fold (K folds, each predicted by classifiers fitted "
        "on the others: by default gradient-boosted trees on the precomputed embeddings, optionally the config's "
        "own model, a logistic probe and the neighbours' labels, see --evidence) and rank the segments whose given "
        "label the predictions contradict (cleanlab's find_label_issues), for every head; also flag cue points "
        "off the beat grid. Writes label_issues.csv, off_grid_cues.csv, label_audit.md and out_of_fold.npz "
        "(every source's out-of-fold probabilities). Needs `chroma precompute` first and the audit extra (cleanlab).",
    )
    audit.add_argument("config", help="path to a YAML config")
    audit.add_argument("--folds", type=int, default=5, help="K (default: 5)")
    audit.add_argument("--out", metavar="DIR", help="output directory (default: <training.output_dir>/label_audit)")
    audit.add_argument("--seed", type=int, default=None, help="fold seed (default: training.seed)")
    audit.add_argument("--epochs", type=int, default=None, help="epochs per fold (default: training.epochs)")
    audit.add_argument(
        "--repeats",
        type=int,
        default=AuditOptions.repeats,
        help="K-fold runs with other seeds, averaged (default: %(default)s)",
    )
    audit.add_argument(
        "--stop-on",
        metavar="METRIC[,METRIC]",
        default=None,
        help="the fold models' early-stopping metric(s) (default: training.early_stopping.metric)",
    )
    audit.add_argument(
        "--evidence",
        metavar="SOURCE=W[,...]",
        default=_weights_text(AuditOptions().weights),
        help="weighted sources of the ranked probabilities: model (the fold models), <modality>_only (them given "
        "that modality alone), trees / linear (out-of-fold gradient-boosted trees / logistic regression on the "
        "embeddings), neighbours (the labels of the nearest segments) (default: %(default)s)",
    )
    audit.add_argument(
        "--probe-modalities",
        default=",".join(AuditOptions.probe_modalities),
        help="embeddings the probe reads (default: %(default)s)",
    )
    audit.add_argument(
        "--probe-c",
        type=float,
        default=AuditOptions.probe_c,
        help="the probe's inverse L2 strength (default: %(default)s)",
    )
    audit.add_argument(
        "--neighbour-modalities",
        default=",".join(AuditOptions.neighbour_modalities),
        help="embeddings the neighbours are found in (default: %(default)s)",
    )
    audit.add_argument(
        "--neighbours", type=int, default=AuditOptions.neighbours, help="k nearest segments (default: %(default)s)"
    )
    audit.add_argument(
        "--rank-by",
        choices=RANK_METHODS,
        default=AuditOptions.rank_by,
        help="cleanlab label quality score (default: %(default)s)",
    )
    audit.add_argument(
        "--adjust-pred-probs", action="store_true", help="cleanlab's per-class threshold adjustment before scoring"
    )
    audit.add_argument(
        "--filter-by",
        choices=FILTERS,
        default=AuditOptions.filter_by,
        help="cleanlab's issue filter (default: %(default)s)",
    )
    audit.add_argument(
        "--tolerance-ms", type=float, default=50.0, help="largest cue distance from a beat (default: 50)"
    )
    audit.add_argument("--cue-column", default="boundary_times", help="list of cue times (default: boundary_times)")
    audit.add_argument("--beat-column", default="beat_times", help="list of beat times (default: beat_times)")
    audit.add_argument("--bpm-column", default="bpm", help="tempo, with --first-beat-column (default: bpm)")
    audit.add_argument("--first-beat-column", default="first_beat", help="grid anchor (default: first_beat)")
    audit.add_argument("--top", type=int, default=50, help="rows per table in label_audit.md (default: 50)")
    audit.add_argument("--no-progress", action="store_true", help="hide the progress bar over the folds")
    audit.set_defaults(func=run_audit)

    rekordbox = commands.add_parser(
        "import-rekordbox",
        help="add cue points, beat grids and BPM from a Rekordbox XML export to the metadata parquet",
        description="Read the COLLECTION of Rekordbox's XML export and write boundary_times, cue_names, "
        "beat_times, downbeat_times, bpm and first_beat into the metadata parquet, matching each row to a "
        "track by --match-column; unmatched rows and tracks are reported.",
    )
    rekordbox.add_argument("xml", help="Rekordbox XML export (DJ_PLAYLISTS)")
    rekordbox.add_argument("--metadata", required=True, help="metadata parquet to add the columns to")
    rekordbox.add_argument("--out", help="write the result here instead of replacing --metadata")
    rekordbox.add_argument(
        "--match-column", default="segment_audio_file", help="column matched to tracks (default: segment_audio_file)"
    )
    rekordbox.add_argument(
        "--match-by",
        choices=("filename", "stem", "path", "name"),
        default="filename",
        help="compare with the Location's file name, its stem, the whole path, or the track Name (default: filename)",
    )
    rekordbox.add_argument("--id-column", default="segment_id", help="segment id column (default: segment_id)")
    rekordbox.add_argument("--start-column", help="segment start in the track: times become segment-relative")
    rekordbox.add_argument("--end-column", help="segment end in the track (with --start-column)")
    rekordbox.add_argument("--fps", type=float, default=30.0, help="frames per second of SMPTE windows")
    rekordbox.add_argument("--overwrite", action="store_true", help="replace cue columns already in the metadata")
    rekordbox.add_argument("--report", help="also write the match report as JSON here")
    rekordbox.set_defaults(func=run_import_rekordbox)


def run_audit(args: argparse.Namespace) -> int:
    from chroma_framework.audit.options import parse_weights
    from chroma_framework.cli import CommandError
    from chroma_framework.cli.run_errors import user_errors

    try:
        options = AuditOptions(
            folds=args.folds,
            repeats=args.repeats,
            seed=args.seed,
            epochs=args.epochs,
            stop_on=(list(_names(args.stop_on)) if "," in args.stop_on else args.stop_on) if args.stop_on else None,
            weights=parse_weights(args.evidence),
            probe_modalities=_names(args.probe_modalities),
            probe_c=args.probe_c,
            neighbour_modalities=_names(args.neighbour_modalities),
            neighbours=args.neighbours,
            rank_by=args.rank_by,
            adjust_pred_probs=args.adjust_pred_probs,
            filter_by=args.filter_by,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.top < 1:
        raise CommandError(f"--top must be at least 1, got {args.top}")
    try:
        import cleanlab  # noqa: F401
    except ModuleNotFoundError:
        raise CommandError("the label audit needs cleanlab: pip install 'chroma-framework[audit]'") from None
    with user_errors():
        from chroma_framework.audit import run_audit as audit_labels
        from chroma_framework.audit import write_audit
        from chroma_framework.audit.report import summary_lines
        from chroma_framework.config import load_and_validate
        from chroma_framework.cues.columns import CueColumns, CueDataError

        config = load_and_validate(args.config)
        columns = CueColumns(args.cue_column, args.beat_column, args.bpm_column, args.first_beat_column)
        try:
            audit = audit_labels(
                config,
                options,
                tolerance_ms=args.tolerance_ms,
                cue_columns=columns,
                progress=not args.no_progress,
            )
        except (CueDataError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        out = Path(args.out) if args.out else Path(config.training.output_dir) / "label_audit"
        written = write_audit(audit, out, top=args.top)
    for line in summary_lines(audit):
        print(line)
    for path in written:
        print(f"wrote {path}")
    return 0


def run_import_rekordbox(args: argparse.Namespace) -> int:
    from chroma_framework.atomic import write_json
    from chroma_framework.cli import CommandError
    from chroma_framework.cues.columns import CueDataError
    from chroma_framework.cues.merge import Window, import_rekordbox
    from chroma_framework.cues.rekordbox import RekordboxError

    if args.end_column and not args.start_column:
        raise CommandError("--end-column needs --start-column")
    window = Window(args.start_column, args.end_column, args.fps) if args.start_column else None
    try:
        report = import_rekordbox(
            args.xml,
            args.metadata,
            match_column=args.match_column,
            match_by=args.match_by,
            out=args.out,
            overwrite=args.overwrite,
            window=window,
            id_column=args.id_column,
        )
    except (RekordboxError, CueDataError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from None
    for line in report.lines():
        print(line)
    if args.report:
        write_json(Path(args.report), report.to_dict())
        print(f"match report: {args.report}")
    return 0

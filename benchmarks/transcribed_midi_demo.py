"""Does training on MIDI transcribed from audio help the MIDI-only model? Measured on a built demo, per seed.

    python benchmarks/transcribed_midi_demo.py --demo DIR --out DIR [--seeds 0,1,2] [--no-evaluate-on]
                                               [--threads 1]

``--demo`` is a demo built by ``chroma demo`` (it reads ``DIR/demo.yaml`` and ``DIR``'s parquet files and
writes nothing there); everything it writes goes under ``--out``. From the demo's config it writes three
configs that differ only in ``data.transcribed_midi`` (one transcription cache ``OUT/transcribed_midi.parquet``):

* ``real``: ``train_on: false``, ``evaluate_on: false``: the MIDI encoder sees real MIDI only (the demo as
  it is; its embeddings are the demo's);
* ``train_on``: ``train_on: true``: train and validation segments with audio and no MIDI take their
  transcription; test rows keep real MIDI only;
* ``evaluate_on`` (unless ``--no-evaluate-on``): ``train_on`` and ``evaluate_on: true``: the same training
  rows, and the test segments with audio and no MIDI take their transcription too.

It runs ``chroma transcribe`` (``run_transcribe``: reuses the cache and resumes an interrupted run), then for
each config ``chroma precompute`` (an embeddings file not there yet starts as a copy of the demo's, so
precompute recomputes only the modalities whose fingerprint differs: MIDI) and, per seed, ``chroma train`` into
``OUT/runs/<config>-seed<k>`` (a completed run with the same config and embedding fingerprints is
reused) and ``chroma evaluate`` (``report/`` in each run, reused while the run is unchanged). It prints:

* MIDI-only accuracy per head on the test rows whose MIDI is real (every other modality masked, the
  inference case), ``real`` vs ``train_on``, and the difference, per seed, with mean and sample standard
  deviation over the seeds;
* with ``evaluate_on``: MIDI-only and all-modality accuracy per head on the test rows whose MIDI was
  transcribed (segments with audio and no MIDI, seen through their transcription), per seed and mean,
  beside ``train_on``'s accuracy on the same rows (which it gives no MIDI) and the share of the majority
  class on those rows; its real-row MIDI-only accuracy, which equals ``train_on``'s when the two trainings
  are bit-identical (they train on the same rows), and how the two configs' train and validation MIDI
  embeddings differ;
* the seconds each stage took.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

VARIANTS = {
    "real": {"train_on": False, "evaluate_on": False},
    "train_on": {"train_on": True, "evaluate_on": False},
    "evaluate_on": {"train_on": True, "evaluate_on": True},
}


def variant_config(demo: Path, out: Path, name: str, threads: int) -> dict[str, Any]:
    """The demo's config with every written path under ``out`` and ``data.transcribed_midi`` of ``name``."""
    raw = yaml.safe_load((demo / "demo.yaml").read_text(encoding="utf-8"))
    data, training = raw["data"], raw["training"]
    data["root"] = str(demo)
    data["embeddings_path"] = str(out / f"embeddings_{name}.parquet")
    data["input_cache_path"] = str(out / f"input_cache_{name}")
    data["report_path"] = str(out / f"data_report_{name}.json")
    data["transcribed_midi"] = {"path": str(out / "transcribed_midi.parquet"), "threads": threads, **VARIANTS[name]}
    training.update({"output_dir": str(out / "runs"), "num_threads": threads, "progress": False})
    return raw


def load_variant(raw: dict[str, Any], path: Path) -> Any:
    """Write ``raw`` to ``path`` and load it as a validated ``ChromaConfig``."""
    from chroma_framework.config import load_and_validate

    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_and_validate(path)


def with_seed(config: Any, seed: int) -> Any:
    return config.model_copy(update={"training": config.training.model_copy(update={"seed": seed})})


def trained_run(config: Any, run_dir: Path) -> Path:
    """``run_dir`` holding a completed run of ``config`` on the current embeddings: reused when its saved
    config and embedding fingerprints are the current ones, resumed when it stopped midway, else trained anew."""
    from chroma_framework.data.embeddings import read_fingerprints
    from chroma_framework.data.paths import resolve
    from chroma_framework.training import run_dir as rd
    from chroma_framework.training.loop import prepare_config, train

    wanted = prepare_config(config).model_dump(mode="json")
    current = read_fingerprints(resolve(config.data, config.data.embeddings_path))
    if (run_dir / rd.RUN_JSON).is_file() and (run_dir / rd.CONFIG_YAML).is_file():
        header = rd.read_header(run_dir)
        same = rd.read_config(run_dir).model_dump(mode="json") == wanted and all(
            current.get(m) == f for m, f in (header.get("fingerprints") or {}).items()
        )
        if same and header.get("status") == "completed":
            return run_dir
        if same and (run_dir / rd.STATE_FILE).is_file():
            train(config, run_dir, resume=True)
            return run_dir
    if run_dir.exists():
        shutil.rmtree(run_dir)
    train(config, run_dir)
    return run_dir


def evaluated(run_dir: Path) -> dict[str, Any]:
    """``chroma evaluate RUN``'s ``metrics.json`` (and ``RUN/report/``), reused when ``RUN/report/`` was
    written from this same training of the run (``run.json``'s ``updated`` and fingerprints)."""
    from chroma_framework.evaluation.analysis import evaluate
    from chroma_framework.evaluation.report import write_report
    from chroma_framework.scoring.run import load_run
    from chroma_framework.training.run_dir import REPORT_DIR, read_header

    header = read_header(run_dir)
    key = {"updated": header.get("updated"), "fingerprints": header.get("fingerprints")}
    metrics, key_file = run_dir / REPORT_DIR / "metrics.json", run_dir / REPORT_DIR / "benchmark_key.json"
    if metrics.is_file() and key_file.is_file() and json.loads(key_file.read_text(encoding="utf-8")) == key:
        return dict(json.loads(metrics.read_text(encoding="utf-8")))
    run = load_run(run_dir)
    write_report(evaluate(run, "test"), run.path, run.path / REPORT_DIR, run.header)
    key_file.write_text(json.dumps(key), encoding="utf-8")
    return dict(json.loads(metrics.read_text(encoding="utf-8")))


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.mean(values):.3f} ± {sd:.3f}"


def _majority(group: dict[str, Any], head: str) -> float:
    """Share of the most frequent true class among a group's labelled rows."""
    rows = [sum(r) for r in group["overall"][head]["confusion"]]
    return max(rows) / max(sum(rows), 1)


def print_real_table(metrics: dict[str, dict[int, dict[str, Any]]], heads: list[str], seeds: list[int]) -> None:
    groups = {name: {s: metrics[name][s]["midi_provenance"]["real"] for s in seeds} for name in ("real", "train_on")}
    rows = {groups["real"][s]["rows"] for s in seeds} | {groups["train_on"][s]["rows"] for s in seeds}
    print(f"MIDI-only accuracy on the real-MIDI test rows ({', '.join(map(str, sorted(rows)))} rows), per head:")
    print("(a) real MIDI only; (b) real + transcribed MIDI in training (train_on); diff = (b) - (a)")
    print(f"{'seed':<12}" + "".join(f"{h + ' (a) / (b) / diff':>42}" for h in heads))
    diffs: dict[str, list[float]] = {h: [] for h in heads}
    values: dict[str, dict[str, list[float]]] = {n: {h: [] for h in heads} for n in groups}
    for s in seeds:
        cells = []
        for h in heads:
            a = groups["real"][s]["midi_only"][h]["accuracy"]
            b = groups["train_on"][s]["midi_only"][h]["accuracy"]
            values["real"][h].append(a)
            values["train_on"][h].append(b)
            diffs[h].append(b - a)
            cells.append(f"{a:.3f} / {b:.3f} / {b - a:+.3f}")
        print(f"{s:<12}" + "".join(f"{c:>42}" for c in cells))
    cells = [
        f"{statistics.mean(values['real'][h]):.3f} / {statistics.mean(values['train_on'][h]):.3f} / "
        f"{statistics.mean(diffs[h]):+.3f}"
        for h in heads
    ]
    print(f"{'mean':<12}" + "".join(f"{c:>42}" for c in cells))
    print(f"{'diff ± sd':<12}" + "".join(f"{_mean_sd(diffs[h]):>42}" for h in heads))


def without_midi(metrics: dict[str, Any], head: str) -> tuple[float, int]:
    """Accuracy and rows of ``head`` over the test rows with audio and no MIDI (their natural patterns pooled)."""
    patterns = metrics["natural_missingness"]
    confusions = [np.array(m[head]["confusion"]) for p, m in patterns.items() if "audio" in p and "midi" not in p]
    pooled = sum(confusions, np.zeros_like(confusions[0]))
    return float(np.trace(pooled) / max(pooled.sum(), 1)), int(pooled.sum())


def print_transcribed_table(
    metrics: dict[int, dict[str, Any]], train_on: dict[int, dict[str, Any]], heads: list[str]
) -> None:
    seeds = sorted(metrics)
    groups = {s: metrics[s]["midi_provenance"] for s in seeds}
    if any("transcribed" not in g for g in groups.values()):
        print("evaluate_on: no test row has transcribed MIDI")
        return
    n = groups[seeds[0]]["transcribed"]["rows"]
    # train_on gives those rows no MIDI at test time: its rows with audio and no MIDI are the same rows when
    # every one of them got a transcription.
    same_rows = all(without_midi(train_on[s], h)[1] == n for s in seeds if s in train_on for h in heads)
    print(f"(b) with evaluate_on: the {n} test rows whose MIDI was transcribed from audio, accuracy per head:")
    print("MIDI-only / every modality they have / train_on on the same rows, which gets no MIDI for them")
    print(f"{'seed':<12}" + "".join(f"{h + ' MIDI-only / all / no MIDI':>42}" for h in heads))
    table: dict[str, dict[str, list[float]]] = {h: {"midi": [], "all": [], "none": []} for h in heads}
    for s in seeds:
        t = groups[s]["transcribed"]
        for h in heads:
            table[h]["midi"].append(t["midi_only"][h]["accuracy"])
            table[h]["all"].append(t["overall"][h]["accuracy"])
            table[h]["none"].append(without_midi(train_on[s], h)[0] if same_rows and s in train_on else float("nan"))
    for k, s in enumerate(seeds):
        cells = [" / ".join(f"{table[h][c][k]:.3f}" for c in ("midi", "all", "none")) for h in heads]
        print(f"{s:<12}" + "".join(f"{c:>42}" for c in cells))
    cells = [" / ".join(f"{statistics.mean(table[h][c]):.3f}" for c in ("midi", "all", "none")) for h in heads]
    print(f"{'mean':<12}" + "".join(f"{c:>42}" for c in cells))
    majority = [f"{_majority(groups[seeds[0]]['transcribed'], h):.3f}" for h in heads]
    print(f"{'majority':<12}" + "".join(f"{c:>42}" for c in majority))
    print("its real-MIDI test rows, MIDI-only accuracy, evaluate_on / train_on (trained on the same rows):")
    for s in seeds:
        cells = [
            f"{groups[s]['real']['midi_only'][h]['accuracy']:.3f} / "
            f"{train_on[s]['midi_provenance']['real']['midi_only'][h]['accuracy']:.3f}"
            for h in heads
        ]
        print(f"{s:<12}" + "".join(f"{c:>42}" for c in cells))


def training_rows_difference(first: Any, second: Any) -> str:
    """How the MIDI embeddings of the train and validation rows differ between two configs' embeddings files."""
    from chroma_framework.data.embeddings import read_embeddings
    from chroma_framework.data.paths import open_metadata, resolve
    from chroma_framework.data.splits import assign_splits

    a, b = (read_embeddings(resolve(c.data, c.data.embeddings_path)) for c in (first, second))
    meta = open_metadata(first.data).read()
    split = dict(
        zip(
            map(str, meta.column(first.data.columns.segment_id).to_pylist()),
            assign_splits(meta, first, first.training.seed),
        )
    )
    rows = np.array([split[s] in ("train", "val") for s in a.segment_ids])
    order = [b.index()[s] for s in a.segment_ids]
    diff = np.abs(a.embeddings["midi"][rows] - b.embeddings["midi"][order][rows]).max(axis=1)
    return f"{int((diff > 0).sum())} of {int(rows.sum())} rows differ, by at most {float(diff.max()):.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, required=True, help="a demo built by `chroma demo` (read only)")
    parser.add_argument("--out", type=Path, required=True, help="where configs, caches and runs are written")
    parser.add_argument("--seeds", default="0,1,2", help="training.seed values, comma-separated")
    parser.add_argument("--no-evaluate-on", action="store_true", help="skip the evaluate_on config")
    parser.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads")
    args = parser.parse_args()

    from chroma_framework.data.paths import resolve
    from chroma_framework.data.precompute import run_precompute
    from chroma_framework.threads import apply_threads
    from chroma_framework.transcription.run import run_transcribe

    apply_threads(args.threads)
    demo, out = args.demo.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = ["real", "train_on"] + ([] if args.no_evaluate_on else ["evaluate_on"])
    configs = {n: load_variant(variant_config(demo, out, n, args.threads), out / f"{n}.yaml") for n in names}
    seconds: dict[str, float] = {}

    began = time.perf_counter()
    done = run_transcribe(configs["train_on"], progress=False)
    seconds["transcribe"] = time.perf_counter() - began
    absent = ", ".join(f"{k} {v}" for k, v in done.absent.items()) or "none"
    print(
        f"transcription cache {done.path}: {done.ok} segments with MIDI, absent: {absent} "
        f"({done.computed} transcribed now, {done.reused} reused; {done.provenance})"
    )

    began = time.perf_counter()
    demo_data = yaml.safe_load((demo / "demo.yaml").read_text(encoding="utf-8"))["data"]
    demo_embeddings = demo / demo_data.get("embeddings_path", "embeddings.parquet")
    seed_file = demo_embeddings if demo_embeddings.is_file() else None
    for n in names:
        target = resolve(configs[n].data, configs[n].data.embeddings_path)
        if not target.is_file() and seed_file is not None:
            shutil.copyfile(seed_file, target)
        result = run_precompute(configs[n], progress=False)
        print(f"precompute {n}: computed {result.computed or 'nothing'}, reused {result.reused or 'nothing'}")
        seed_file = target
    seconds["precompute"] = time.perf_counter() - began

    metrics: dict[str, dict[int, dict[str, Any]]] = {n: {} for n in names}
    for n in names:
        began = time.perf_counter()
        for s in seeds:
            run_dir = trained_run(with_seed(configs[n], s), out / "runs" / f"{n}-seed{s}")
            metrics[n][s] = evaluated(run_dir)
        seconds[f"train + evaluate {n}"] = time.perf_counter() - began

    heads = list(metrics["real"][seeds[0]]["classes"])
    print(f"demo {demo}: {metrics['real'][seeds[0]]['n_rows']} test rows; seeds {', '.join(map(str, seeds))}")
    print_real_table(metrics, heads, seeds)
    if "evaluate_on" in metrics:
        print_transcribed_table(metrics["evaluate_on"], metrics["train_on"], heads)
        difference = training_rows_difference(configs["train_on"], configs["evaluate_on"])
        print(f"train and validation MIDI embeddings, evaluate_on vs train_on: {difference}")
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()))


if __name__ == "__main__":
    main()

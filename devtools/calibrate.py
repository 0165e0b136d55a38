"""`course calibrate`: run each solution in the CPU profile with several seeds and collect its METRIC
lines, so that every graded threshold can be set below the worst seed with a margin; and the grader's
own measurements of what each solution saved (`grader_<check>`), for the limits that are the grader's own.

Notebooks print `METRIC name=value` in their hidden tests; the test cell that prints a metric also
holds its threshold (`_THRESHOLD = ...`). Results go to data/calibration.csv; `tests/` checks every
threshold against them.

Where a notebook leaves a decision to the student (05: where to cut, which head), `--design STUDENT` runs
the solution with that graded example's edits (a `kind = "variant"` of submissions/examples, its fixture
`setup_replace` left out: trained in full) and files its rows as `<notebook>+<student>`: each threshold
must then hold for every design calibrated, not only for the instructor's.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tomllib
from nbclient import NotebookClient
from tqdm import tqdm

from grader import paths
from grader.assets.environment import notebook_environment
from grader.markers import METRIC, THRESHOLD, not_measured_reason, stream_text, thresholded_metric
from grader.notebooks import read_source

CALIBRATION_FILE = paths.DATA_DIR / "calibration.csv"
ASSET_SETTINGS = ("KERAS_HOME", "TFDS_DATA_DIR", "TFHUB_CACHE_DIR", "COURSE_ASSETS_MIRROR", "TF_DETERMINISTIC_OPS")


@dataclass
class Run:
    notebook: str
    seed: int
    seconds: float
    metrics: dict[str, float]
    errors: list[str]
    not_measured: dict[str, str]


def thresholds(name: str) -> dict[str, float]:
    """metric name -> the threshold asserted in the same test cell of the solution (the cell's first
    METRIC line is the thresholded one; later ones are informative)."""
    found = {}
    for cell in read_source(paths.SOLUTIONS_DIR / f"{name}.py").cells:
        limit = THRESHOLD.search(cell.source)
        metric = thresholded_metric(cell.source)
        if limit and metric:
            found[metric] = float(limit.group(1))
    return found


def design_edits(name: str, student: str) -> list[list[str]]:
    """The solution-cell edits of the graded example `student` of `name`, a correct alternative design."""
    with open(paths.EXAMPLES_DIR / f"{name}.toml", "rb") as f:
        entries = {entry["student"]: entry for entry in tomllib.load(f)["submission"]}
    entry = entries.get(student)
    if entry is None or entry.get("kind") != "variant":
        variants = sorted(s for s, e in entries.items() if e.get("kind") == "variant")
        raise ValueError(f"{student!r} is not a variant of {name}'s graded examples: {variants}")
    return entry.get("replace", [])


def run_once(name: str, seed: int, env: dict[str, str], design: str | None = None) -> Run:
    """Execute the solution `name` (with the edits of `design`) with COURSE_SEED=seed in a scratch folder and
    read its metrics."""
    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    if design:
        from devtools.examples import apply_replacements

        apply_replacements(nb, design_edits(name, design), f"{name} design {design}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": scratch}})
        client.execute(env={**env, "COURSE_SEED": str(seed)})
        seconds = time.perf_counter() - started
        measured_by_grader = grader_metrics(name, Path(scratch))
    text, errors, not_measured = [], [], {}
    for cell in nb.cells:
        text.append(stream_text(cell.get("outputs", [])))
        reason = not_measured_reason(cell.get("outputs", []))
        metric = thresholded_metric(cell.source)
        if reason and metric:
            not_measured[metric] = reason
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append(f"{cell.get('id')}: {output.get('ename')}: {output.get('evalue', '')[:200]}")
    metrics = {m: float(v) for m, v in METRIC.findall("".join(text))} | measured_by_grader
    return Run(f"{name}+{design}" if design else name, seed, seconds, metrics, errors, not_measured)


def grader_metrics(name: str, folder: Path) -> dict[str, float]:
    """The grader's own measurements of what the solution saved in `folder`, as `grader_<check>` (the
    checks with a number; code checks need a handed-in notebook and are not run here)."""
    from grader.checks.evaluate import evaluate
    from grader.spec import spec_for

    spec = spec_for(name)
    if spec is None:
        return {}
    results = evaluate(name, folder / (spec.model or "no-model"), paths.mirror_dir())
    return {f"grader_{r['check']}": float(r["metric"]) for r in results if r["metric"] is not None}


def calibrate(names: list[str], seeds: list[int], out: Path = CALIBRATION_FILE,
              design: str | None = None) -> list[Run]:
    env = notebook_environment(profile="cpu")
    # The grader's own measurements run in this process: the same offline asset settings as the kernels
    # (set before Keras is first imported, which reads KERAS_HOME once).
    os.environ.update({name: env[name] for name in ASSET_SETTINGS if name in env})
    runs = []
    for name in names:
        for seed in tqdm(seeds, desc=f"calibrate {name}" + (f" ({design})" if design else ""), unit="seed"):
            runs.append(run_once(name, seed, env, design))
    labels = {run.notebook for run in runs}
    keep = []
    if out.exists():  # keep the rows of other notebooks and designs when calibrating only some
        with open(out, newline="") as f:
            keep = [row for row in csv.DictReader(f) if row["notebook"] not in labels]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["notebook", "seed", "metric", "value", "seconds", "note"])
        writer.writeheader()
        writer.writerows({**row, "note": row.get("note") or ""} for row in keep)
        for run in runs:
            common = {"notebook": run.notebook, "seed": run.seed, "seconds": f"{run.seconds:.1f}"}
            for metric, value in sorted(run.metrics.items()):
                writer.writerow({**common, "metric": metric, "value": f"{value:.4f}", "note": ""})
            for metric, reason in sorted(run.not_measured.items()):
                writer.writerow({**common, "metric": metric, "value": "", "note": f"NOT MEASURED: {reason}"})
    return runs


def summary(path: Path = CALIBRATION_FILE) -> str:
    """A markdown table: per notebook and metric, min/mean/max over seeds and the threshold."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["notebook"], row["metric"]), []).append(row)
    lines = ["| notebook | metric | seeds | min | mean | max | threshold | s / run (mean) |",
             "|---|---|---|---|---|---|---|---|"]
    for (notebook, metric), group in sorted(groups.items()):
        values = [float(r["value"]) for r in group if r["value"]]
        seconds = [float(r["seconds"]) for r in group]
        limit = thresholds(notebook.split("+")[0]).get(metric)
        if not values:
            lines.append(f"| {notebook} | {metric} | {len(group)} | not measured here | | | {limit} | "
                         f"{sum(seconds) / len(seconds):.0f} |")
            continue
        lines.append(f"| {notebook} | {metric} | {len(values)} | {min(values):.3f} | {sum(values) / len(values):.3f} "
                     f"| {max(values):.3f} | {'-' if limit is None else limit} | {sum(seconds) / len(seconds):.0f} |")
    return "\n".join(lines)


def errors_report(runs: list[Run]) -> list[str]:
    return [f"{r.notebook} seed {r.seed}: {e}" for r in runs for e in r.errors if "NOT MEASURED" not in e]


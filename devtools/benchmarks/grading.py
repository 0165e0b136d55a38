"""Where grading time goes, and what the worker pool gains, measured in one run.

    python -m devtools.benchmarks.grading [--assignment 05_horses_or_humans] [--submissions 8]

(a) One solution submission: executed bare (nbclient, a fresh kernel, no grading), then graded by
    `course autograde` with one worker, `--pairs` times (A B A B); the grading time is split into phases
    from nbgrader's per-cell timestamps and the worker's own clock. Overhead = graded / bare, per pair and
    the median.
(b) The same N submissions (the assignment's graded mutants) graded by plain sequential
    `nbgrader autograde` and by `course autograde` with 2 workers. Ratio = plain / pool.
(c) A projection for 300 students on 1, 8 and 32 cores from (b)'s measured per-submission time.
Every figure except (c) is measured in this run; (c) says which of its inputs are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from devtools.examples import load_examples
from grader import paths
from grader.assets.environment import notebook_environment
from grader.autograde.class_run import autograde
from grader.course_dir import CourseDir
from grader.notebooks import write_ipynb
from grader.release.build import release
from grader.sandbox.box import Limits


def _seconds(cell, start: str, end: str) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    if start not in timing or end not in timing:
        return 0.0
    parse = datetime.fromisoformat
    return (parse(timing[end].replace("Z", "+00:00")) - parse(timing[start].replace("Z", "+00:00"))).total_seconds()


def cell_phases(nb: nbformat.NotebookNode) -> dict[str, float]:
    """Seconds per phase, from nbclient's timestamps: imports (first code cell), data (cells that load
    or batch the data), training (cells tagged `training`), tests (graded cells), other cells."""
    phases = {"imports": 0.0, "data": 0.0, "training": 0.0, "tests": 0.0, "other cells": 0.0}
    first = True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        took = _seconds(cell, "iopub.execute_input", "shell.execute_reply")
        if first:
            phases["imports"] += took
            first = False
        elif "training" in cell.get("metadata", {}).get("tags", []):
            phases["training"] += took
        elif cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            phases["tests"] += took
        elif "tfds.load" in cell.source or "batches(" in cell.source:
            phases["data"] += took
        else:
            phases["other cells"] += took
    return phases


def run_bare(notebook: nbformat.NotebookNode, workdir: Path, env: dict[str, str]) -> float:
    """The notebook executed as a student would run it: one fresh kernel, no grading."""
    workdir.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        started = time.monotonic()
        resources = {"metadata": {"path": str(workdir)}}
        client = NotebookClient(notebook, timeout=1200, allow_errors=True, resources=resources)
        client.execute()
        return time.monotonic() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)


def fresh_course(root: Path) -> CourseDir:
    if root.exists():
        shutil.rmtree(root)
    course = CourseDir(root / "course")
    release(course, root / "notebooks")
    return course


def part_a(assignment: str, build: Path, env: dict[str, str], pairs: int = 1) -> dict:
    """The solution run bare, then graded, `pairs` times (A B A B): per-pair ratios and the medians."""
    course = fresh_course(build / "a")
    (solution,) = [e for e in load_examples(assignment, course.release(assignment) / f"{assignment}.ipynb")
                   if e.kind == "solution"][:1]
    runs = []
    for pair in range(pairs):
        bare = run_bare(nbformat.from_dict(solution.notebook), build / "a" / f"bare{pair}", env)
        student = f"{solution.student}{pair}"
        path = build / "a" / "in" / f"{student}__{assignment}.ipynb"
        write_ipynb(solution.notebook, path)
        started = time.monotonic()
        (result,) = [r for r in autograde(course, assignment, [path], env, workers=1) if r.student == student]
        command = time.monotonic() - started
        graded = nbformat.read(course.autograded(student, assignment) / f"{assignment}.ipynb", as_version=4)
        cells = cell_phases(graded)
        timings = result.timings
        phases = {
            "kernel start + nbgrader's own work": timings["nbgrader_autograde"] - sum(cells.values()),
            **{f"notebook: {name}": seconds for name, seconds in cells.items()},
            # The probes' box runs beside the notebook; this is the wait left once the notebook is done.
            "student's cells on the grader's probes (own box, wait after)": timings.get("probes", 0.0),
            "grader's checks (fresh process)": timings.get("grader_checks", 0.0),
            "scores + feedback": timings.get("feedback", 0.0),
            "scratch set-up": timings.get("setup", 0.0),
        }
        runs.append({"bare_seconds": bare, "graded_seconds": timings["total"], "status": result.status,
                     "one_time_seconds": command - timings["total"], "overhead": timings["total"] / bare,
                     "phases": phases})
    median = statistics.median
    return {"pairs": runs, "bare_seconds": median(r["bare_seconds"] for r in runs),
            "graded_seconds": median(r["graded_seconds"] for r in runs),
            "one_time_seconds": median(r["one_time_seconds"] for r in runs),
            "overhead": median(r["overhead"] for r in runs),
            "phases": {name: median(r["phases"][name] for r in runs) for name in runs[0]["phases"]},
            "status": ", ".join(sorted({r["status"] for r in runs}))}


def part_b(assignment: str, count: int, build: Path, env: dict[str, str], mix: str) -> dict:
    examples_course = fresh_course(build / "b-plain")
    examples = load_examples(assignment, examples_course.release(assignment) / f"{assignment}.ipynb")
    if mix == "solutions":  # a class that got it right: every submission trains like the solution
        examples = [e for e in examples if e.kind == "solution"]
    chosen = (examples * (count // len(examples) + 1))[:count]
    files = []
    for index, example in enumerate(chosen):
        student = f"{example.student}_{index}"
        path = build / "b-in" / f"{student}__{assignment}.ipynb"
        write_ipynb(example.notebook, path)
        files.append(path)
        target = examples_course.submitted(student, assignment) / f"{assignment}.ipynb"
        write_ipynb(example.notebook, target)
    started = time.monotonic()
    plain = examples_course.nbgrader("autograde", assignment, "--create", "--force", env=env)
    plain_seconds = time.monotonic() - started
    if plain.returncode != 0:
        raise RuntimeError(f"plain nbgrader autograde failed:\n{plain.stdout[-2000:]}{plain.stderr[-2000:]}")
    runs = {}
    cores = len(os.sched_getaffinity(0))
    for label, threads in ((f"2 workers, TensorFlow's own {cores} threads each (default)", 0),
                           ("2 workers x 1 thread, pinned", 1)):
        pool_course = fresh_course(build / "b-pool")
        started = time.monotonic()
        results = autograde(pool_course, assignment, files, env, workers=2, limits=Limits(threads=threads))
        seconds = time.monotonic() - started
        per_submission = [r.timings["total"] for r in results if r.timings]
        runs[label] = {"seconds": seconds, "ratio": plain_seconds / seconds,
                       "mean_submission_seconds": sum(per_submission) / len(per_submission),
                       "statuses": sorted({r.status for r in results})}
    default = next(iter(runs.values()))
    return {"submissions": count, "plain_nbgrader_seconds": plain_seconds, "pool": runs,
            "course_2_workers_seconds": default["seconds"], "ratio": default["ratio"],
            "mean_submission_seconds_in_pool": default["mean_submission_seconds"], "statuses": default["statuses"]}


def part_c(b: dict, a: dict, cores_list=(1, 8, 32), students: int = 300) -> list[dict]:
    """Projection: one worker per core, from (b)'s measured time per submission with 2 workers on 2 cores."""
    per = b["mean_submission_seconds_in_pool"]
    rows = []
    for cores in cores_list:
        waves = -(-students // cores)
        rows.append({"cores": cores, "projected_minutes": (a["one_time_seconds"] + waves * per) / 60})
    return rows


def _print_b(assignment: str, mix: str, b: dict) -> None:
    print(f"\n(b) {b['submissions']} submissions of {assignment} ({mix}), measured")
    print(f"    plain sequential `nbgrader autograde`   {b['plain_nbgrader_seconds']:7.1f} s")
    for label, run in b["pool"].items():
        print(f"    `course autograde`, {label:<40}{run['seconds']:7.1f} s  ratio plain / course "
              f"{run['ratio']:.2f}x  ({', '.join(run['statuses'])})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="05_horses_or_humans")
    parser.add_argument("--submissions", type=int, default=8)
    parser.add_argument("--mix", choices=["mutants", "solutions"], default="mutants",
                        help="(b) grades the assignment's graded mutants, or copies of its solution")
    parser.add_argument("--only-b", action="store_true", help="skip (a) and (c)")
    parser.add_argument("--only-a", action="store_true", help="skip (b) and (c)")
    parser.add_argument("--pairs", type=int, default=3, help="(a): bare and graded runs, A B A B")
    args = parser.parse_args(argv)
    build = paths.build_dir() / "benchmark_grading"
    env = notebook_environment()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.only_b:
        b = part_b(args.assignment, args.submissions, build, env, args.mix)
        _print_b(args.assignment, args.mix, b)
        return 0
    a = part_a(args.assignment, build, env, args.pairs)
    print(f"\n(a) one solution of {args.assignment} (status {a['status']}), {args.pairs} pairs A B A B, medians")
    print("    per pair, graded / bare: " + ", ".join(f"{r['graded_seconds']:.1f} / {r['bare_seconds']:.1f} s = "
                                                    f"{r['overhead']:.2f}x" for r in a["pairs"]))
    print(f"    bare run in a fresh kernel            {a['bare_seconds']:7.1f} s")
    print(f"    graded by `course autograde`          {a['graded_seconds']:7.1f} s per submission")
    for name, seconds in a["phases"].items():
        print(f"      {name:<36}{seconds:7.1f} s")
    print(f"    once per run (collect, kit, workers)  {a['one_time_seconds']:7.1f} s")
    print(f"    overhead per submission: {a['overhead']:.2f}x the bare run")
    if args.only_a:
        return 0
    b = part_b(args.assignment, args.submissions, build, env, args.mix)
    _print_b(args.assignment, args.mix, b)
    c = part_c(b, a)
    print(f"\n(c) 300 students, projected from the measured {b['mean_submission_seconds_in_pool']:.1f} s per "
          f"submission of a worker sharing 2 cores with another, and {a['one_time_seconds']:.0f} s once per run")
    for row in c:
        print(f"    {row['cores']:>2} cores, {row['cores']} workers: {row['projected_minutes']:6.1f} min (projected)")
    print("    assumes enough memory for a kernel per core (about 3 GB each, measured peak RSS 2.3 GB in training)")
    (build / "results.json").write_text(json.dumps({"a": a, "b": b, "c": c}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

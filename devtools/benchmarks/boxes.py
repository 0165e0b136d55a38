"""The kernel's, the evaluator's and the probes' boxes, bubblewrap's against forked: a class graded both ways.

    python -m devtools.benchmarks.boxes [--assignment 05_horses_or_humans] [--submissions 4] [--pairs 2]

A: `COURSE_BOXES=bubblewrap`, each box a fresh Python in bubblewrap that imports TensorFlow. B: each box a fork
of the worker's fork server, which imported TensorFlow once (grader/sandbox/forked_box.py; the kernel's through
grader/autograde/kernel_broker.py). The same
submissions (the assignment's graded examples) are graded by `course autograde` on 2 workers, A B A B, each
run in a fresh course. Measured per run: wall, and the CPU the whole machine spent (user + system in
/proc/stat: the fork server's forks are no process's waited-for children, so no rusage counts them; run it on
an otherwise idle machine). Prints each pair, the medians and the ratios A / B, and checks that both give every
submission the same points.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from devtools.benchmarks.grading import fresh_course
from devtools.examples import load_examples
from grader import paths
from grader.assets.environment import notebook_environment
from grader.autograde.class_run import autograde
from grader.notebooks import write_ipynb
from grader.sandbox.forked_box import can_fork_boxes


def machine_cpu_seconds() -> float:
    """User + system (with nice, irq and softirq) CPU seconds of the whole machine since boot."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def grade_once(side: str, assignment: str, files: list[Path], build: Path, env: dict[str, str]) -> dict:
    course = fresh_course(build / side)
    saved = os.environ.get("COURSE_BOXES")
    if side == "A":
        os.environ["COURSE_BOXES"] = "bubblewrap"  # the workers inherit it when the cluster starts
    try:
        cpu, started = machine_cpu_seconds(), time.monotonic()
        results = autograde(course, assignment, files, env, workers=2)
        wall, cpu = time.monotonic() - started, machine_cpu_seconds() - cpu
    finally:
        os.environ.pop("COURSE_BOXES", None)
        if saved is not None:
            os.environ["COURSE_BOXES"] = saved
    points = {r.student: [(c["test"], c["passed"]) for c in r.checks] for r in results}
    return {"wall": wall, "cpu": cpu, "points": points, "statuses": sorted({r.status for r in results})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", default="05_horses_or_humans")
    parser.add_argument("--submissions", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=2)
    args = parser.parse_args(argv)
    if not can_fork_boxes():
        print("this machine allows no unprivileged user namespace: there are no forked boxes to compare",
              file=sys.stderr)
        return 2
    build = paths.build_dir() / "benchmark_boxes"
    env = notebook_environment()
    release_course = fresh_course(build / "release")
    examples = load_examples(args.assignment, release_course.release(args.assignment) / f"{args.assignment}.ipynb")
    files = []
    for example in examples[:args.submissions]:
        path = build / "in" / f"{example.student}__{args.assignment}.ipynb"
        write_ipynb(example.notebook, path)
        files.append(path)
    runs: dict[str, list[dict]] = {"A": [], "B": []}
    for pair in range(args.pairs):
        for side in ("A", "B"):
            runs[side].append(grade_once(side, args.assignment, files, build, env))
        a, b = runs["A"][-1], runs["B"][-1]
        print(f"pair {pair + 1}: wall A {a['wall']:.1f} s / B {b['wall']:.1f} s = {a['wall'] / b['wall']:.2f}x, "
              f"CPU A {a['cpu']:.1f} s / B {b['cpu']:.1f} s = {a['cpu'] / b['cpu']:.2f}x", flush=True)
    median = statistics.median
    print(f"\n{len(files)} submissions of {args.assignment}, 2 workers, {args.pairs} pairs A B A B, medians:")
    for what in ("wall", "cpu"):
        a, b = median(r[what] for r in runs["A"]), median(r[what] for r in runs["B"])
        label = "wall" if what == "wall" else "machine CPU"
        print(f"  {label:<12} A bubblewrap's boxes {a:7.1f} s   B forked boxes {b:7.1f} s   A / B {a / b:.2f}x")
    per_submission = (median(r["cpu"] for r in runs["A"]) - median(r["cpu"] for r in runs["B"])) / len(files)
    print(f"  CPU saved per submission: {per_submission:.1f} s")
    same = all(r["points"] == runs["A"][0]["points"] for side in runs.values() for r in side)
    print(f"  every run gave every submission the same verdicts: {'yes' if same else 'NO'}")
    print(f"  statuses: {sorted({s for side in runs.values() for r in side for s in r['statuses']})}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

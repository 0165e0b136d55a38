"""What each submission's nbgrader process costs before it reads a notebook: the command against a fork.

    python -m devtools.benchmarks.nbgrader_start [--pairs 7]

A: `python -m nbgrader --version`, a fresh interpreter that imports nbgrader (what every submission paid
before). B: the same in a fresh fork of a server that imported nbgrader once (grader/autograde/
fork_server.py, what every submission of a worker after its first pays now). A B A B, a fresh process
each; the server's own start is paid once, before the first B, and printed apart. Prints each side's wall
and CPU medians and the ratios A / B.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from grader.autograde.fork_server import start_nbgrader, warm
from grader.sandbox.processes import start, wait


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(launch) -> tuple[float, float]:
    """Wall and CPU of one run; the CPU is of this process's own children (a fork is the server's: 0 here)."""
    cpu, started = _children_cpu(), time.monotonic()
    process = launch()
    code = wait(process, deadline=time.monotonic() + 120)
    if code != 0:
        raise RuntimeError(f"nbgrader --version exited with {code}")
    return time.monotonic() - started, _children_cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="nbgrader-start-"))
    log, env = folder / "log", dict(os.environ)
    started = time.monotonic()
    warm()
    _timed(lambda: start_nbgrader(["--version"], cwd=folder, env=env, log=log))  # waits for the server's imports
    server = time.monotonic() - started
    command, fork = [], []
    for _ in range(args.pairs):
        command.append(_timed(lambda: start([sys.executable, "-m", "nbgrader", "--version"], cwd=folder, env=env,
                                            log=log)))
        fork.append(_timed(lambda: start_nbgrader(["--version"], cwd=folder, env=env, log=log)))
    wall_a, wall_b = (statistics.median(w for w, _ in runs) for runs in (command, fork))
    cpu_a = statistics.median(c for _, c in command)
    print(f"nbgrader's start, {args.pairs} pairs A B A B (A: python -m nbgrader, B: a fork of the server)")
    print(f"  wall medians  A {wall_a:.2f} s  B {wall_b:.2f} s  A/B {wall_a / wall_b:.1f}x")
    print(f"  CPU of A (median) {cpu_a:.2f} s; B's CPU is the server's child's, not measured here")
    print(f"  the server's start, once per worker: {server:.2f} s of wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""glibc's default allocator against the kernels' settings (`MALLOC_TUNABLES`), in one run.

    python -m devtools.benchmarks.allocator [NOTEBOOK ...] [--pairs N]

Each solution runs in the CPU profile at seed 1 with the calibration's own harness, A B A B: A with
glibc's defaults, B with `grader.assets.environment.MALLOC_TUNABLES`. Printed per run: the kernel's
user and system CPU seconds, its peak memory and its wall time; per notebook: the medians' ratios A / B,
and whether both settings gave the same metrics (they must: the allocator does not change arithmetic).
The grading pool is CPU-bound, so the CPU-time ratio is what it gains.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass

from devtools.calibrate import run_once
from grader.assets.environment import MALLOC_TUNABLES, notebook_environment

SETTINGS = {"glibc default": None, "MALLOC_TUNABLES": MALLOC_TUNABLES}


@dataclass
class Sample:
    setting: str
    wall: float
    user: float
    system: float
    peak_mb: int
    metrics: dict[str, float]


def measure(name: str, setting: str) -> Sample:
    env = notebook_environment(profile="cpu")
    env.pop("GLIBC_TUNABLES", None)
    if SETTINGS[setting]:
        env["GLIBC_TUNABLES"] = SETTINGS[setting]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_once(name, seed=1, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.errors and not run.not_measured:
        raise RuntimeError(f"{name} failed under {setting}: {run.errors}")
    # Each sample runs in a process of its own (see `sample`), so its children are this kernel alone.
    return Sample(setting, run.seconds, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
                  after.ru_maxrss // 1024, run.metrics)


def sample(name: str, setting: str) -> Sample:
    """`measure` in a fresh process: the peak memory read back is this run's kernel's."""
    out = subprocess.run([sys.executable, "-m", "devtools.benchmarks.allocator", "--one", name, setting],
                         capture_output=True, text=True, check=True).stdout
    return Sample(**json.loads(out.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", default=["04_visualizing_convnets", "05_horses_or_humans"])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("NOTEBOOK", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asdict(measure(*args.one))))
        return
    for name in args.notebooks:
        samples: list[Sample] = []
        for _ in range(args.pairs):
            for setting in SETTINGS:
                one = sample(name, setting)
                samples.append(one)
                print(f"{name} {setting:15s} wall {one.wall:6.1f} s  kernel CPU user {one.user:6.1f} s "
                      f"system {one.system:5.1f} s  peak {one.peak_mb} MB", flush=True)
        a = [s for s in samples if s.setting == "glibc default"]
        b = [s for s in samples if s.setting == "MALLOC_TUNABLES"]

        def median(group: list[Sample], field: str) -> float:
            return statistics.median(getattr(s, field) if field != "cpu" else s.user + s.system for s in group)

        same = all(s.metrics == a[0].metrics for s in samples)
        print(f"{name}: A/B kernel CPU {median(a, 'cpu') / median(b, 'cpu'):.2f} "
              f"(medians {median(a, 'cpu'):.1f} s / {median(b, 'cpu'):.1f} s; system {median(a, 'system'):.1f} s / "
              f"{median(b, 'system'):.1f} s), wall {median(a, 'wall') / median(b, 'wall'):.2f}; "
              f"metrics {'identical' if same else 'DIFFER'} across all {len(samples)} runs", flush=True)


if __name__ == "__main__":
    main()

"""Two builds of CPython against each other on the course's own work, in one run.

    python -m devtools.benchmarks.interpreter --against /usr/bin/python3 [NOTEBOOK ...] [--pairs N]

A is the interpreter running this script (the project's .venv); B is `--against`, given a virtual
environment of its own with requirements.txt in build/bench-venvs/ (made on the first run, a minute
or two from pip's cache). Measured A B A B, each in a fresh process: the CPU seconds of `import
tensorflow, keras, nbgrader` (every kernel, evaluator and grading process pays it), then each solution
at seed 1 with the calibration's harness and the kernels' allocator settings (`devtools.benchmarks.
allocator`'s own measurement): kernel CPU, wall, peak memory, and whether both builds gave the same
metrics (they must: the interpreter does not change TensorFlow's arithmetic). The grading pool is
CPU-bound, so the CPU ratio is what a build gains it.

Why: pyenv's default build puts libpython in a shared library and skips profile-guided optimisation
(`--enable-optimizations`), while Debian's /usr/bin/python3 has it linked into the executable (`ldd` lists
no libpython); the Python-bound parts of a notebook (kernel start-up, tracing, 04's gradient ascent) run
at the interpreter's speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from grader import paths


def _median(samples: list[dict], field: str) -> float:
    return statistics.median(s["user"] + s["system"] if field == "cpu" else s[field] for s in samples)


IMPORTS = "import resource; import tensorflow, keras, nbgrader; r = resource.getrusage(resource.RUSAGE_SELF); " \
          "print(r.ru_utime + r.ru_stime)"


def venv_for(python: str) -> Path:
    """A virtual environment of `python` with requirements.txt (the project itself comes by PYTHONPATH)."""
    resolved = Path(python).resolve()
    # Named after the interpreter's full path: two builds of one version must not share a venv.
    venv = paths.REPO_ROOT / "build" / "bench-venvs" / str(resolved).strip("/").replace("/", "-")
    stamp = venv / ".installed"
    if not stamp.exists():
        print(f"making {venv} with {resolved} (requirements.txt; once)", flush=True)
        subprocess.run([str(resolved), "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-qq", "-r",
                        str(paths.REPO_ROOT / "requirements.txt")], check=True)
        stamp.write_text(str(resolved))
    return venv / "bin" / "python"


def _run(python: str, argv: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    return subprocess.run([python, *argv], capture_output=True, text=True, check=True, env=env,
                          cwd=paths.REPO_ROOT).stdout.strip().splitlines()[-1]


def import_seconds(python: str) -> float:
    return float(_run(python, ["-c", IMPORTS]))


def notebook_sample(python: str, name: str) -> dict:
    return json.loads(_run(python, ["-m", "devtools.benchmarks.allocator", "--one", name, "MALLOC_TUNABLES"]))


def _describe(python: str) -> str:
    return _run(python, ["-c", "import sys, platform; print(sys.version.split()[0], platform.python_build()[1], "
                         "sys._base_executable)"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", default=["04_visualizing_convnets", "05_horses_or_humans"])
    parser.add_argument("--against", required=True, help="the other interpreter (B)")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--import-runs", type=int, default=5)
    args = parser.parse_args(argv)
    builds = {"A": sys.executable, "B": str(venv_for(args.against))}
    for label, python in builds.items():
        print(f"{label}: {python} ({_describe(python)})", flush=True)

    imports: dict[str, list[float]] = {"A": [], "B": []}
    for _ in range(args.import_runs):
        for label, python in builds.items():
            imports[label].append(import_seconds(python))
    a, b = (statistics.median(imports[k]) for k in "AB")
    print(f"import tensorflow, keras, nbgrader: CPU A/B {a / b:.2f} (medians {a:.2f} s / {b:.2f} s; "
          f"A {min(imports['A']):.2f}-{max(imports['A']):.2f}, B {min(imports['B']):.2f}-{max(imports['B']):.2f})",
          flush=True)

    for name in args.notebooks:
        samples: dict[str, list[dict]] = {"A": [], "B": []}
        for _ in range(args.pairs):
            for label, python in builds.items():
                one = notebook_sample(python, name)
                samples[label].append(one)
                print(f"{name} {label} wall {one['wall']:6.1f} s  kernel CPU user {one['user']:6.1f} s "
                      f"system {one['system']:5.1f} s  peak {one['peak_mb']} MB", flush=True)

        runs = samples["A"] + samples["B"]
        same = all(s["metrics"] == runs[0]["metrics"] for s in runs)
        cpu_a, cpu_b = _median(samples["A"], "cpu"), _median(samples["B"], "cpu")
        wall_a, wall_b = _median(samples["A"], "wall"), _median(samples["B"], "wall")
        print(f"{name}: A/B kernel CPU {cpu_a / cpu_b:.2f} (medians {cpu_a:.1f} s / {cpu_b:.1f} s), wall "
              f"{wall_a / wall_b:.2f}; metrics {'identical' if same else 'DIFFER'} across all {len(runs)} runs",
              flush=True)


if __name__ == "__main__":
    main()

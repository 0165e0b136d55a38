"""`python -m grader.checks.evaluate ASSIGNMENT MODEL_FILE [--wait GO_FILE] [--notebook NB] [--probes DIR]`: the
grader's checks, as JSON on stdout.

Run by the grading worker in a fresh sandboxed process, started beside the notebook; once GO_FILE exists (the
notebook has finished) it judges the saved model, from its file alone, and what the student's code did on the
grader's probes (probes.py, run in a box of its own). No code of the student's runs here. Any failure becomes a
failed check with its reason.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from grader.checks.registry import Evidence, judge


def evaluate(assignment: str, model_file: Path, mirror: Path | None, notebook: Path | None = None,
             wait: Callable[[], object] | None = None, probes: Path | None = None) -> list[dict]:
    """Every grader check of `assignment`, in data/grading.toml's order: on the saved model, on what the
    student's code did on the grader's probes (`probes`, or run here from `notebook` when not given), and
    on the heads the notebook saved (registry.py).

    With `wait`, nothing is judged before `wait()` returns (the notebook has finished). Judging the code
    while the notebook runs was tried: on two cores already busy with two kernels it put a third
    TensorFlow process beside them and showed no gain, so the evaluator only imports TensorFlow early.
    The held-out photos and the published bases are not loaded early either: a hand-in that saves no model
    would pay for them with nothing to judge.
    """
    from grader.spec import spec_for

    spec = spec_for(assignment)
    if spec is None:
        return []
    if wait is not None:
        wait()
    evidence = Evidence(spec, model_file, mirror, notebook, probes)
    try:
        return [judge(check, evidence).to_dict() for check in spec.checks]
    finally:
        evidence.close()


def wait_for(path: Path, poll_seconds: float = 0.05) -> None:
    """Return once `path` exists."""
    while not path.exists():
        time.sleep(poll_seconds)


def main() -> None:
    assignment, model_file = sys.argv[1], Path(sys.argv[2])
    notebook = Path(sys.argv[sys.argv.index("--notebook") + 1]) if "--notebook" in sys.argv else None
    probes = Path(sys.argv[sys.argv.index("--probes") + 1]) if "--probes" in sys.argv else None
    # Started while the notebook still runs: import TensorFlow now, judge when the worker says the
    # notebook has finished.
    wait = None
    if "--wait" in sys.argv[3:]:
        import keras  # noqa: F401

        wait = functools.partial(wait_for, Path(sys.argv[sys.argv.index("--wait") + 1]))
    mirror = os.environ.get("COURSE_ASSETS_MIRROR")
    results = evaluate(assignment, model_file, Path(mirror) if mirror else None, notebook, wait, probes)
    # The last line of stdout is the result; TensorFlow may print before it.
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()

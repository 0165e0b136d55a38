"""Checks the grader makes on the student's own code, re-run where the grading kernel never was.

A test cell in the student's kernel can be fooled by anything the kernel ran before it. For a test of
a piece of code (05's callback), the grader takes that cell's source from the notebook as it was
handed in (a copy the kernel could not write), runs it in a fresh child process of the evaluator's
box, calls it on probes, and judges what it observed here, outside the child: the child's code can
only report what the student's code did, and to report the right stops it has to compute them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

PROBE_TIMEOUT_SECONDS = 120

# Runs in the child: the student's cell, then the callback on each (target, accuracy) probe, as
# the notebook's hidden test does; the last line of stdout is what the model's flag became.
CALLBACK_PROBE = """
import json, sys
import keras
import numpy as np
import tensorflow as tf
namespace = {"keras": keras, "np": np, "tf": tf}
exec(compile(open(sys.argv[1]).read(), "<the student's cell>", "exec"), namespace)
callback_class = namespace[sys.argv[2]]
probe = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
seen = []
for target, accuracy in json.loads(sys.argv[3]):
    probe.stop_training = False
    callback = callback_class(target)
    callback.set_model(probe)
    callback.on_epoch_end(0, {"accuracy": accuracy, "loss": 0.1})
    seen.append(probe.stop_training is True)
print()
print(json.dumps(seen))
"""

# (target, training accuracy): below, just below, at, above the target, for two targets.
CALLBACK_PROBES = [(0.95, 0.5), (0.95, 0.949), (0.95, 0.95), (0.95, 0.99), (0.8, 0.79), (0.8, 0.85)]


def cell_source(notebook: Path, grade_id: str) -> str | None:
    """The source of the cell with nbgrader `grade_id`, as handed in."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    return None


def callback_stops_at_target(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """The student's callback class, in a fresh process, sets `model.stop_training` exactly when the
    training accuracy reaches its target."""
    source = cell_source(notebook, params["cell"])
    if source is None:
        return False, f"the notebook has no cell {params['cell']!r} (the callback) to run"
    cell_file = scratch / f"{params['cell']}.py"
    cell_file.write_text(source)
    try:
        run = subprocess.run([sys.executable, "-c", CALLBACK_PROBE, str(cell_file), params["class"],
                              json.dumps(CALLBACK_PROBES)], capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, cwd=scratch)
    except subprocess.TimeoutExpired:
        return False, f"the callback did not finish within {PROBE_TIMEOUT_SECONDS} s when run by the grader"
    try:
        seen = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"the callback failed when run by the grader: {last[:200]}"
    expected = [accuracy >= target for target, accuracy in CALLBACK_PROBES]
    wrong = [f"accuracy {a} with target {t}: stop_training={s}" for (t, a), s, e in
             zip(CALLBACK_PROBES, seen, expected, strict=False) if s != e]
    if len(seen) != len(expected) or wrong:
        return False, f"the callback, run by the grader on {len(expected)} probes, got wrong: {'; '.join(wrong)}"
    return True, f"the callback, run by the grader in a fresh process, stopped exactly at the target on " \
                 f"{len(expected)} probes"


CODE_CHECKS = {
    "callback_stops_at_target": callback_stops_at_target,
}

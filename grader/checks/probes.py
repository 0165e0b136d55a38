"""Run the student's code on the grader's probes and write down what it did; judge nothing.

`python -m grader.checks.probes PLAN NOTEBOOK OUT [--fork]` runs, in fresh child processes (forks of this
one with `--fork`), the cells the plan names, taken from NOTEBOOK (the notebook as handed in), calls them on
the plan's probes, and writes what they returned (or the error they raised) under OUT. The grading worker
runs it in a box of its own: the notebook, the prepared assets and OUT, nothing else (not the held-out
photos, not the grading spec, not the evaluator). The evaluator then judges OUT's files (code_checks.py) in its own box.

Everything under OUT is the student's word: code in the box can write any file there. So the probes
change from one submission to the next (`probe_plan`'s seed comes from the notebook's own bytes: a
regrade sees the same probes), and what is judged is what a correct implementation computes on them:
a list of answers fixed in advance does not match, and to report the right results the code has to
compute them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.checks.probe_inputs import CROPS, visualization_plan
from grader.sandbox.processes import exit_as_python

PROBE_TIMEOUT_SECONDS = 120
# Set by `--fork`: this process is a fork of the worker's fork server, which imported TensorFlow and never
# ran it, so a child can be a fork of it (no import again). Forking a process whose TensorFlow has run is
# not safe: its threads do not follow.
FORK_CHILDREN = False

# Runs in the child: the student's cell, then the callback on each (target, accuracy) probe, as the
# notebook's hidden test does; the last line of stdout is what the model's flag became.
CALLBACK_PROBE = """
import json, sys
import keras
import numpy as np
import tensorflow as tf
from grader.checks.probe_inputs import run_cell
namespace = {"keras": keras, "np": np, "tf": tf}
run_cell(sys.argv[1], namespace)
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

# Runs in the child: 04's function cells, then each call the checks judge, on MobileNetV2 and the probes'
# images (the photo, its mirror image, two crops drawn for this submission: probe_inputs.py). The crops'
# classes are chosen before the student's cells run. Every result (or its error) is saved.
VISUALIZATION_PROBE = """
import json, sys
from pathlib import Path
import keras
import numpy as np
import tensorflow as tf
from grader.checks.probe_inputs import crop_classes, probe_images, run_cell
cells, plan, out = sys.argv[1].split(","), json.loads(Path(sys.argv[2]).read_text()), Path(sys.argv[3])
model = keras.applications.MobileNetV2(weights="imagenet")
images = probe_images(plan)
classes = crop_classes(model, images, plan)
namespace = {"keras": keras, "np": np, "tf": tf}
for cell in cells:
    run_cell(cell, namespace)
calls = {
    "activations_3": lambda: namespace["get_activations"](model, images["crop0"], plan["layers"][0]),
    "activations_1": lambda: namespace["get_activations"](model, images["mirrored"], plan["layers"][1]),
}
for image in ("photo", "mirrored"):
    for index in (171, 195):
        calls[f"grad_cam_{index}_{image}"] = (
            lambda image=image, index=index: [namespace["grad_cam"](model, images[image], index, "out_relu")])
for crop, index in classes.items():
    calls[f"grad_cam_{crop}"] = lambda crop=crop, index=index: [namespace["grad_cam"](model, images[crop], index,
                                                                                      "out_relu")]
for name, call in calls.items():
    try:
        np.savez(out / f"{name}.npz", *[np.asarray(a, dtype=np.float32) for a in call()])
    except Exception as error:
        (out / f"{name}.error").write_text(f"{type(error).__name__}: {error}"[:300])
"""
VISUALIZATION_RESULTS = ("activations_3", "activations_1", "grad_cam_171_photo", "grad_cam_195_photo",
                         "grad_cam_171_mirrored", "grad_cam_195_mirrored",
                         *(f"grad_cam_crop{i}" for i in range(CROPS)))

# Runs in the child: each job is one of the student's cells, in a namespace of its own with the few
# names of the notebook it needs (a profile with the CPU sizes, no ImageNet download); then it saves what
# the cell built: a compiled model as a .keras file, or a model's architecture (with its trainable flags)
# as JSON. All jobs share one process: TensorFlow is imported once.
CELL_PROBE = """
import json, shutil, sys
from pathlib import Path
import keras
import numpy as np
import tensorflow as tf
from grader.checks.probe_inputs import run_cell


def feature_extractor(base, preprocess):
    inputs = keras.Input(base.input_shape[1:])
    return keras.Model(inputs, base(preprocess(inputs)))


for job in json.loads(Path(sys.argv[1]).read_text()):
    out, action = Path(job["out"]), job["action"]
    shutil.rmtree(out, ignore_errors=True)  # whatever an earlier job's cell left here is not this job's
    out.mkdir(parents=True)
    try:
        namespace = {"keras": keras, "np": np, "tf": tf, "feature_extractor": feature_extractor, **job["setup"]}
        try:
            run_cell(job["cell_file"], namespace)
        except Exception:
            # In the notebook, a line after the task may use names the probe does not define (a print):
            # what the task built is still judged, and a task that never ran fails below.
            if action["name"] not in namespace:
                raise
        if action["kind"] == "call_and_save":
            namespace[action["name"]](*action["args"]).save(out / "built.keras")
        elif action["kind"] == "call_architecture":
            (out / "built.json").write_text(namespace[action["name"]](*action["args"]).to_json())
        elif action["kind"] == "call_on_batches":
            # Photos of random pixels, in batches, through an extractor the grader can check by hand: the
            # mean of each channel (the evaluator recomputes both from the same seed).
            rng = np.random.default_rng(action["seed"])
            images = rng.uniform(0, 255, (action["count"], 8, 8, 3)).astype("float32")
            labels = rng.integers(0, action["classes"], action["count"])
            namespace["feature_extractor"] = keras.Sequential([keras.Input((8, 8, 3)),
                                                               keras.layers.GlobalAveragePooling2D()])
            batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(action["batch"])
            np.savez(out / "built.npz", *[np.asarray(a) for a in namespace[action["name"]](batches)])
        else:
            (out / "built.json").write_text(namespace[action["name"]].to_json())
    except BaseException as error:
        (out / "error.txt").write_text(f"{type(error).__name__}: {error}"[:300])
"""

VISUALIZATION_CHECKS = ("activations_match_layers", "grad_cam_map", "grad_cam_localises")


def probe_seed(notebook_bytes: bytes) -> int:
    """The probes' seed: from the notebook itself, so a regrade sees the same probes and a notebook cannot
    carry answers for its own probes (changing a byte changes them)."""
    return int(hashlib.sha256(notebook_bytes).hexdigest()[:12], 16)


def callback_probes(seed: int) -> list[tuple[float, float]]:
    """(target, training accuracy) pairs: well below, just below, at and above each of three targets, in a
    shuffled order (a fixed list of 12 answers matches about one submission in 900)."""
    rng = random.Random(seed)
    probes = []
    for low, high in ((0.55, 0.7), (0.7, 0.85), (0.85, 0.98)):
        target = round(rng.uniform(low, high), 3)
        probes += [(target, round(target - rng.uniform(0.1, 0.3), 3)), (target, round(target - 0.001, 3)),
                   (target, target), (target, round(min(1.0, target + rng.uniform(0.001, 0.02)), 3))]
    rng.shuffle(probes)
    return probes


def cell_jobs(check: str, params: dict, seed: int) -> list[dict]:
    """The cell's runs a check judges, each with the names the cell needs and what to save of its result."""
    if check == "head_with_dropout":  # 03: the head built for no dropout and two rates of this submission's
        setup = {"FEATURE_SHAPE": params["features"], "HIDDEN_UNITS": params["units"], "NUM_CLASSES": params["classes"]}
        return [{"cell": params["cell"], "setup": setup, "name": f"{params['cell']}-{rate}",
                 "action": {"kind": "call_architecture", "name": params["function"], "args": [rate]}}
                for rate in dropout_rates(seed)]
    if check == "features_in_order":  # 03: 10 photos in batches of 4, the last one short
        return [{"cell": params["cell"], "setup": {}, "name": params["cell"],
                 "action": {"kind": "call_on_batches", "name": params["function"], "seed": seed % 2**32,
                            "count": 10, "batch": 4, "classes": params["classes"]}}]
    return [cell_job(check, params, seed)]


def dropout_rates(seed: int) -> list[float]:
    """No dropout, and two rates drawn for this submission."""
    rng = random.Random(seed)
    return [0.0, round(rng.uniform(0.1, 0.4), 2), round(rng.uniform(0.45, 0.8), 2)]


def cell_job(check: str, params: dict, seed: int = 0) -> dict:
    """One cell of 02 to run, with the names it needs and what to save of what it built. The head builder
    is called for a feature size and a number of classes drawn for this submission: a head built for the
    notebook's own sizes does not fit them."""
    if check == "head_fits_sparse_labels":
        rng = random.Random(seed)
        features, classes = rng.randint(8, 64), rng.randint(3, 9)
        job = {"cell": params["cell"], "setup": {"NUM_CLASSES": classes},
               "action": {"kind": "call_and_save", "name": params["function"], "args": [features]}}
    else:  # cell_builds_frozen_base
        setup = {"CONFIG": {"sizes": params["sizes"]}, params["weights_variable"]: None}
        job = {"cell": params["cell"], "setup": setup,
               "action": {"kind": "architecture", "name": params["variable"]}}
    return {**job, "name": f"{job['cell']}-{job['action']['name']}"}


CELL_CHECKS = ("head_fits_sparse_labels", "cell_builds_frozen_base", "head_with_dropout", "features_in_order")


def probe_plan(checks: list, seed: int) -> dict:
    """What the probes of `checks` (the assignment's CheckSpecs) run, on which inputs; {} when none."""
    plan: dict = {}
    for c in checks:
        if c.check == "callback_stops_at_target":
            plan["callback"] = {"cell": c.params["cell"], "class": c.params["class"], "probes": callback_probes(seed)}
        elif c.check in VISUALIZATION_CHECKS:
            plan["visualization"] = visualization_plan(seed, pets_photo_url())
        elif c.check in CELL_CHECKS:
            plan.setdefault("cells", []).extend(cell_jobs(c.check, c.params, seed))
    return plan


def notebook_cells(notebook: Path) -> list[dict]:
    """The cells of the notebook as handed in, each source as one string.

    The notebook's JSON as it is, not through nbformat: collect() has validated it with nbformat already,
    and importing nbformat costs about 2 s of CPU (jsonschema compiles an IRI grammar at import), which
    every evaluator and probes' box would pay for one dictionary lookup (docs/benchmarks.md).
    """
    text = notebook.read_text(encoding="utf-8")
    nb = json.loads(text)
    if nb.get("nbformat") != 4:  # an older format: nbformat's own upgrade (it has no "cells" before 4)
        import nbformat

        nb = nbformat.reads(text, as_version=4)
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        cells.append({**cell, "source": "".join(source) if isinstance(source, list) else source})  # or as lines
    return cells


def cell_source(notebook: Path, grade_id: str) -> str | None:
    """The source of the cell with nbgrader `grade_id`, as handed in."""
    for cell in notebook_cells(notebook):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell["source"]
    return None


def _child(argv: list[str], cwd: Path) -> str:
    """Run a probe child; "" or why it failed (the last line of its stderr, or its time limit)."""
    if FORK_CHILDREN:
        code, stdout, stderr = _forked_child(argv, cwd)
    else:
        try:
            run = subprocess.run([sys.executable, "-c", *argv], capture_output=True, text=True, cwd=cwd,
                                 timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            code, stdout, stderr = None, "", ""
        else:
            code, stdout, stderr = run.returncode, run.stdout, run.stderr
    if code is None:
        return f"did not finish within {PROBE_TIMEOUT_SECONDS} s"
    if code:
        return (stderr.strip().splitlines() or ["no output"])[-1][:200]
    return stdout.strip().splitlines()[-1] if stdout.strip() else "no output"


def _forked_child(argv: list[str], cwd: Path) -> tuple[int | None, str, str]:
    """`python -c ARGV` as a fork of this process: its exit code (None past the time limit), stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:
            _run_as_command(argv, cwd, out.fileno(), err.fileno())
        deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
        while (status := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)  # and everything it started
                os.waitpid(pid, 0)
                return None, "", ""
            time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        return (os.waitstatus_to_exitcode(status[1]), out.read().decode(errors="replace"),
                err.read().decode(errors="replace"))


def _run_as_command(argv: list[str], cwd: Path, out: int, err: int) -> None:
    """In the forked child: `python -c ARGV` with output to `out` and `err`; never returns."""

    def run() -> None:
        os.setpgid(0, 0)
        os.chdir(cwd)
        null = os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
        sys.stdout, sys.stderr = open(1, "w", closefd=False), open(2, "w", closefd=False)
        sys.argv = ["-c", *argv[1:]]
        exec(compile(argv[0], "<string>", "exec"), {"__name__": "__main__"})

    exit_as_python(run)


def _write_cell(notebook: Path, grade_id: str, folder: Path) -> Path | None:
    source = cell_source(notebook, grade_id)
    if source is None:
        (folder / "missing.txt").write_text(f"the notebook has no cell {grade_id!r}")
        return None
    path = folder / f"{grade_id}.py"
    path.write_text(source)
    return path


def run_callback(plan: dict, notebook: Path, out: Path) -> None:
    out.mkdir(parents=True)
    cell = _write_cell(notebook, plan["cell"], out)
    if cell is not None:
        (out / "result.txt").write_text(_child([CALLBACK_PROBE, str(cell), plan["class"],
                                                json.dumps(plan["probes"])], out))


def run_visualization(plan: dict, notebook: Path, out: Path) -> None:
    out.mkdir(parents=True)
    cells = [_write_cell(notebook, grade_id, out) for grade_id in plan["cells"]]
    if None in cells:
        return
    (out / "results").mkdir()
    (out / "plan.json").write_text(json.dumps(plan))
    failed = _child([VISUALIZATION_PROBE, ",".join(map(str, cells)), str(out / "plan.json"), str(out / "results")],
                    out)
    (out / "result.txt").write_text(failed)


def run_cells(jobs: list[dict], notebook: Path, out: Path) -> None:
    out.mkdir(parents=True)
    listed = []
    for job in jobs:
        (out / job["name"]).mkdir()
        cell = _write_cell(notebook, job["cell"], out / job["name"])
        if cell is not None:
            listed.append({**job, "cell_file": str(cell), "out": str(out / job["name"] / "result")})
    if listed:
        (out / "jobs.json").write_text(json.dumps(listed))
        (out / "result.txt").write_text(_child([CELL_PROBE, str(out / "jobs.json")], out))


def run_probes(plan: dict, notebook: Path, out: Path) -> None:
    """Every probe of `plan`, each in a fresh child process, results under `out` (see code_checks.py)."""
    out.mkdir(parents=True, exist_ok=True)
    if "callback" in plan:
        run_callback(plan["callback"], notebook, out / "callback")
    if "visualization" in plan:
        run_visualization(plan["visualization"], notebook, out / "visualization")
    if "cells" in plan:
        run_cells(plan["cells"], notebook, out / "cells")


def pets_photo_url() -> str:
    """Where 04's two-dogs photo comes from (Keras finds it in its cache, prepared offline)."""
    from grader.assets.catalog import find

    return find("files", "pets").online_source


def main() -> None:
    global FORK_CHILDREN
    FORK_CHILDREN = "--fork" in sys.argv[4:]
    plan, notebook, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]), Path(sys.argv[3])
    run_probes(plan, notebook, out)


if __name__ == "__main__":
    main()

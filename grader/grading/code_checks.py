"""Checks the grader makes on the student's own code, re-run where the grading kernel never was.

A test cell in the student's kernel can be fooled by anything the kernel ran before it. For a test of
a piece of code (05's callback, 04's `get_activations` and `grad_cam`), the grader takes that cell's
source from the notebook as it was handed in (a copy the kernel could not write), runs it in a fresh
child process of the evaluator's box, calls it on probes, and judges what it observed here, outside
the child: the child can only report what the student's code did, and to report the right results
it has to compute them.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np

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


# Runs in the child: 04's function cells, then each call the notebook's tests make, on MobileNetV2 and
# the two-dogs photo. Every result (or the error it raised) is saved for the parent to judge.
VISUALIZATION_PROBE = """
import sys, traceback
from pathlib import Path
import keras
import numpy as np
import tensorflow as tf
cells, image_path, out = sys.argv[1].split(","), sys.argv[2], Path(sys.argv[3])
namespace = {"keras": keras, "np": np, "tf": tf}
for cell in cells:
    exec(compile(open(cell).read(), "<the student's cell>", "exec"), namespace)
model = keras.applications.MobileNetV2(weights="imagenet")
image = keras.applications.mobilenet_v2.preprocess_input(
    keras.utils.img_to_array(keras.utils.load_img(image_path, target_size=(224, 224))))
layers = ["Conv1_relu", "block_6_expand_relu", "out_relu"]
calls = {
    "activations_3": lambda: namespace["get_activations"](model, image, layers),
    "activations_1": lambda: namespace["get_activations"](model, image, ["block_3_expand_relu"]),
    "grad_cam_171": lambda: [namespace["grad_cam"](model, image, 171, "out_relu")],
    "grad_cam_195": lambda: [namespace["grad_cam"](model, image, 195, "out_relu")],
}
for name, call in calls.items():
    try:
        np.savez(out / f"{name}.npz", *[np.asarray(a, dtype=np.float32) for a in call()])
    except Exception as error:
        (out / f"{name}.error").write_text(f"{type(error).__name__}: {error}"[:300])
"""
ACTIVATION_LAYERS = (["Conv1_relu", "block_6_expand_relu", "out_relu"], ["block_3_expand_relu"])
LEFT_DOG, RIGHT_DOG = 171, 195  # ImageNet: Italian greyhound (left in the photo), Boston terrier (right)


@functools.cache
def _visualization_results(notebook: Path) -> dict[str, list[np.ndarray] | str]:
    """Run 04's function cells once per evaluation (three checks read the results) in a fresh child
    process; name -> arrays, or the error text."""
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="visualization-"))
    cells = []
    for grade_id in ("get_activations", "grad_cam"):
        source = cell_source(notebook, grade_id)
        if source is None:
            return {name: f"the notebook has no cell {grade_id!r}" for name in
                    ("activations_3", "activations_1", "grad_cam_171", "grad_cam_195")}
        cells.append(scratch / f"{grade_id}.py")
        cells[-1].write_text(source)
    out = scratch / "results"
    out.mkdir()
    try:
        run = subprocess.run([sys.executable, "-c", VISUALIZATION_PROBE, ",".join(map(str, cells)), str(_pets_photo()),
                              str(out)], capture_output=True, text=True, timeout=PROBE_TIMEOUT_SECONDS,
                             stdin=subprocess.DEVNULL, cwd=scratch)
        failed = "" if run.returncode == 0 else (run.stderr.strip().splitlines() or ["no output"])[-1][:200]
    except subprocess.TimeoutExpired:
        failed = f"did not finish within {PROBE_TIMEOUT_SECONDS} s"
    results: dict[str, list[np.ndarray] | str] = {}
    for name in ("activations_3", "activations_1", "grad_cam_171", "grad_cam_195"):
        if (out / f"{name}.npz").is_file():
            with np.load(out / f"{name}.npz", allow_pickle=False) as saved:
                results[name] = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        elif (out / f"{name}.error").is_file():
            results[name] = (out / f"{name}.error").read_text()
        else:
            results[name] = f"the student's cells failed when run by the grader: {failed or 'no result'}"
    return results


def _pets_photo() -> Path:
    import keras

    from grader.assets.catalog import find

    return Path(keras.utils.get_file("pets.jpg", find("files", "pets").online_source))


@functools.cache
def _reference_model():
    import keras

    return keras.applications.MobileNetV2(weights="imagenet")


def activations_match_layers(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """`get_activations`, run by the grader, returns each named layer's output for the photo (no batch axis)."""
    import keras

    results = _visualization_results(notebook)
    model = _reference_model()
    image = keras.applications.mobilenet_v2.preprocess_input(
        keras.utils.img_to_array(keras.utils.load_img(_pets_photo(), target_size=(224, 224))))
    for key, names in zip(("activations_3", "activations_1"), ACTIVATION_LAYERS, strict=True):
        got = results[key]
        if isinstance(got, str):
            return False, f"get_activations failed when run by the grader: {got}"
        if len(got) != len(names):
            return False, f"get_activations returned {len(got)} arrays for {len(names)} layer names"
        reference = keras.Model(model.input, [model.get_layer(n).output for n in names])(image[np.newaxis])
        reference = reference if isinstance(reference, list | tuple) else [reference]
        for name, array, expected in zip(names, got, reference, strict=True):
            expected = keras.ops.convert_to_numpy(expected)[0]
            if array.shape != expected.shape:
                return False, f"{name}: shape {array.shape}, expected {expected.shape} (no batch axis)"
            if not np.allclose(array, expected, atol=1e-4):
                return False, f"{name}: the arrays are not the layer's output"
    return True, "get_activations, run by the grader in a fresh process, returns each layer's output"


def grad_cam_map(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """`grad_cam`, run by the grader, returns a finite 7x7 map in [0, 1]."""
    got = _visualization_results(notebook)["grad_cam_195"]
    if isinstance(got, str):
        return False, f"grad_cam failed when run by the grader: {got}"
    heatmap = got[0]
    problems = []
    if heatmap.shape != (7, 7):
        problems.append(f"shape {heatmap.shape}, expected (7, 7)")
    elif not np.all(np.isfinite(heatmap)):
        problems.append("NaN or inf values")
    elif heatmap.min() < 0 or heatmap.max() > 1 + 1e-6:
        problems.append(f"values in [{heatmap.min():.3g}, {heatmap.max():.3g}], expected [0, 1]")
    return (not problems, "grad_cam, run by the grader in a fresh process, returns a 7x7 map in [0, 1]"
            if not problems else "grad_cam, run by the grader: " + "; ".join(problems))


def grad_cam_localises(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """Each breed's map, computed by the student's `grad_cam` in a fresh process, peaks on its own dog."""
    results = _visualization_results(notebook)
    columns = {}
    for side, index in (("left", LEFT_DOG), ("right", RIGHT_DOG)):
        got = results[f"grad_cam_{index}"]
        if isinstance(got, str):
            return False, f"grad_cam failed when run by the grader: {got}"
        if got[0].ndim != 2:
            return False, f"grad_cam returned a map of shape {got[0].shape}"
        columns[side] = int(np.unravel_index(np.argmax(got[0]), got[0].shape)[1])
    ok = columns["left"] < got[0].shape[1] / 2 < columns["right"]
    return ok, (f"grad_cam, run by the grader: the left dog's map peaks in column {columns['left']}, the right "
                f"dog's in column {columns['right']}" + ("" if ok else " (expected left of and right of the middle)"))


# Runs in the child: each job is one of the student's cells, in a namespace of its own with the few
# names of the notebook it needs (a profile with the CPU sizes, no ImageNet download); then it saves what
# the cell built for the parent to open: a compiled model as a .keras file, or a model's architecture
# (with its trainable flags) as JSON. All jobs share one process: TensorFlow is imported once.
CELL_PROBE = """
import json, shutil, sys
from pathlib import Path
import keras
import numpy as np
import tensorflow as tf


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
            exec(compile(Path(job["cell_file"]).read_text(), "<the student's cell>", "exec"), namespace)
        except Exception:
            # In the notebook, a line after the task may use names the probe does not define (a print):
            # what the task built is still judged, and a task that never ran fails below.
            if action["name"] not in namespace:
                raise
        if action["kind"] == "call_and_save":
            namespace[action["name"]](*action["args"]).save(out / "built.keras")
        else:
            (out / "built.json").write_text(namespace[action["name"]].to_json())
    except BaseException as error:
        (out / "error.txt").write_text(f"{type(error).__name__}: {error}"[:300])
"""


def _head_job(params: dict) -> dict:
    return {"cell": params["cell"], "setup": {"NUM_CLASSES": params["classes"]},
            "action": {"kind": "call_and_save", "name": params["function"], "args": [8]}}


def _base_job(params: dict) -> dict:
    return {"cell": params["cell"], "setup": {"CONFIG": {"sizes": params["sizes"]}, params["weights_variable"]: None},
            "action": {"kind": "architecture", "name": params["variable"]}}


_probed: dict[tuple[str, str], tuple[Path | None, str]] = {}


def _key(notebook: Path, job: dict) -> tuple[str, str]:
    return str(notebook), json.dumps(job, sort_keys=True)


def run_cell_probes(notebook: Path, jobs: list[dict], scratch: Path) -> None:
    """Run `jobs` (the student's cells named in them) in one fresh child process; each job's result,
    (the saved file, "") or (None, why not), is kept for the check that asked for it."""
    listed = []
    for i, job in enumerate(jobs):
        source = cell_source(notebook, job["cell"])
        if source is None:
            _probed[_key(notebook, job)] = (None, f"the notebook has no cell {job['cell']!r} to run")
            continue
        cell_file = scratch / f"job{i}-{job['cell']}.py"
        cell_file.write_text(source)
        listed.append((job, {**job, "cell_file": str(cell_file), "out": str(scratch / f"job{i}")}))
    if not listed:
        return
    (scratch / "jobs.json").write_text(json.dumps([full for _, full in listed]))
    try:
        run = subprocess.run([sys.executable, "-c", CELL_PROBE, str(scratch / "jobs.json")], capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, cwd=scratch)
        failed = (run.stderr.strip().splitlines() or ["no output"])[-1][:200] if run.returncode else "no result"
    except subprocess.TimeoutExpired:
        failed = f"did not finish within {PROBE_TIMEOUT_SECONDS} s"
    for job, full in listed:
        out = Path(full["out"])
        built = out / ("built.keras" if job["action"]["kind"] == "call_and_save" else "built.json")
        # The error first: another job's cell runs in the same child and could leave a file here.
        if (out / "error.txt").is_file():
            result = (None, f"cell {job['cell']!r} failed when run by the grader: {(out / 'error.txt').read_text()}")
        elif built.is_file():
            result = (built, "")
        else:
            result = (None, f"cell {job['cell']!r} failed when run by the grader: {failed}")
        _probed[_key(notebook, job)] = result


def prefetch_cell_probes(checks: list, notebook: Path) -> None:
    """The cell probes of all of `checks` at once (one child process, one TensorFlow import)."""
    import tempfile

    jobs = [PROBE_JOBS[c.check](c.params) for c in checks if c.check in PROBE_JOBS]
    if len(jobs) > 1:
        run_cell_probes(notebook, jobs, Path(tempfile.mkdtemp(prefix="cell-probes-")))


def _probe(notebook: Path, job: dict, scratch: Path) -> tuple[Path | None, str]:
    if _key(notebook, job) not in _probed:
        run_cell_probes(notebook, [job], scratch)
    return _probed[_key(notebook, job)]


def head_fits_sparse_labels(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """The student's head builder, called by the grader in a fresh process: its compiled head ends in a
    softmax over the classes, with a loss for integer labels on probabilities."""
    from grader.grading.model_checks import loss_matches_activation, output_layer, output_shape
    from grader.grading.saved_models import load_saved_model

    built, problem = _probe(notebook, _head_job(params), scratch)
    if built is None:
        return False, problem
    head, problem = load_saved_model(built)
    if head is None:
        return False, problem
    shape_ok, shape = output_shape(head, {"shape": [params["classes"]]}, None)
    activation = output_layer(head).activation.__name__
    loss_ok, loss = loss_matches_activation(head, {"labels": "sparse"}, None)
    problems = [m for ok, m in ((shape_ok, shape), (activation == "softmax", f"the head ends in {activation}, "
                                "not a softmax"), (loss_ok, loss)) if not ok]
    if problems:
        return False, f"{params['function']}, run by the grader: " + "; ".join(problems)
    return True, f"{params['function']}, run by the grader in a fresh process: softmax over {params['classes']}, {loss}"


def cell_builds_frozen_base(params: dict, notebook: Path, scratch: Path) -> tuple[bool, str]:
    """The student's cell, run by the grader in a fresh process (random weights, no download), builds
    the named pretrained base frozen; the grader rebuilds it from its saved architecture and counts."""
    import keras

    built, problem = _probe(notebook, _base_job(params), scratch)
    if built is None:
        return False, problem
    try:
        base = keras.models.model_from_json(built.read_text())  # safe mode: no code from the file runs
    except Exception as error:
        return False, f"{params['variable']}, built by the grader, cannot be rebuilt: {type(error).__name__}: {error}"
    problems = []
    if base.trainable_weights:
        problems.append(f"{len(base.trainable_weights)} trainable weights (freeze the base)")
    if tuple(base.output_shape) != (None, params["features"]):
        problems.append(f"output shape {tuple(base.output_shape)}, expected (None, {params['features']})")
    if not base.name.startswith(params["name"]):
        problems.append(f"the model is {base.name!r}, expected {params['name']}")
    if problems:
        return False, f"{params['variable']}, built by the grader from your cell: " + "; ".join(problems)
    return True, (f"{params['variable']}, built by the grader from your cell in a fresh process: {base.name}, "
                  f"{len(base.layers)} layers, frozen, {params['features']} features")


CODE_CHECKS = {
    "callback_stops_at_target": callback_stops_at_target,
    "activations_match_layers": activations_match_layers,
    "grad_cam_map": grad_cam_map,
    "grad_cam_localises": grad_cam_localises,
    "head_fits_sparse_labels": head_fits_sparse_labels,
    "cell_builds_frozen_base": cell_builds_frozen_base,
}
PROBE_JOBS = {"head_fits_sparse_labels": _head_job, "cell_builds_frozen_base": _base_job}

"""Checks the grader makes on the student's own code, judged where that code never ran.

A test cell in the student's kernel can be fooled by anything the kernel ran before it. For a test of a
piece of code (05's callback, 04's `get_activations` and `grad_cam`, 02's `build_head` and InceptionV3
cell), probes.py runs that cell, taken from the notebook as handed in, in a box of its own, on probes that
change with each submission, and writes down what it returned. The checks here judge those files in the
evaluator's box, against the grader's own reference: to be judged right, the results must be the right
ones for these probes, so the code has to compute them.

Every check takes its params (data/grading.toml), the folder the probes wrote (`probes`) and the plan
they ran (`plan`, probes.probe_plan), and returns (passed, message); checks.py registers them.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from pathlib import Path

import numpy as np

from grader.checks.probes import cell_job

MOST_TEXT_BYTES = 64 * 2**10  # a result or error line the probes write is well under 1 kB


def result_text(path: Path) -> str | None:
    """A text file the probes' box left, or None: the student's code ran there and could have left a link
    to a file of the evaluator's box (whose text would go into the feedback), a FIFO, or gigabytes. Only
    a plain file is read, and only its first MOST_TEXT_BYTES."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(MOST_TEXT_BYTES).decode("utf-8", errors="replace")


def _probe_failure(folder: Path, what: str) -> str:
    """Why a probe left no result: the cell is missing, or the child failed (its last line), or never ran."""
    missing, result = result_text(folder / "missing.txt"), result_text(folder / "result.txt")
    if missing is not None:
        return missing[:200]
    if result is not None:
        return f"{what} failed when run by the grader: {result[:200]}"
    return f"{what} was not run by the grader (the probes stopped before it)"


def callback_stops_at_target(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """The student's callback class, in a fresh process, set `model.stop_training` exactly when the
    training accuracy reached its target, on this submission's probes."""
    folder = probes / "callback"
    pairs = plan["callback"]["probes"]
    try:
        seen = json.loads(result_text(folder / "result.txt") or "")
        assert isinstance(seen, list) and len(seen) == len(pairs)
    except (OSError, ValueError, AssertionError):
        return False, _probe_failure(folder, "the callback")
    expected = [accuracy >= target for target, accuracy in pairs]
    wrong = [f"accuracy {a} with target {t}: stop_training={s}" for (t, a), s, e in
             zip(pairs, seen, expected, strict=True) if s is not e]
    if wrong:
        return False, f"the callback, run by the grader on {len(expected)} probes, got wrong: {'; '.join(wrong)}"
    return True, f"the callback, run by the grader in a fresh process, stopped exactly at the target on " \
                 f"{len(expected)} probes"


LEFT_DOG, RIGHT_DOG = 171, 195  # ImageNet: Italian greyhound (left in the photo), Boston terrier (right)
# A crop's map matches the grader's when, over the cells the grader's map lights up (above HOT), it rises
# and falls with it (Pearson correlation at least MATCH: any scaling of the positive part passes) and
# its peak lies where the grader's map is at least half its height. docs/grading.md gives the chance of
# a map fixed in advance passing.
HOT, MATCH = 0.05, 0.9


MOST_RESULT_BYTES = 64 * 2**20  # 04's largest result (three activation maps) is a few MB


def _load_arrays(path: Path) -> list[np.ndarray]:
    """The arrays of an .npz the student's code wrote: no pickles, and no more than MOST_RESULT_BYTES once
    unpacked (an .npz is a zip: a small file can unpack to gigabytes)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        unpacked = sum(entry.file_size for entry in archive.infolist())
    if unpacked > MOST_RESULT_BYTES:
        raise ValueError(f"{unpacked} bytes unpacked, more than {MOST_RESULT_BYTES}")
    with np.load(path, allow_pickle=False) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def _rebuild(built: Path, what: str):
    """(the model rebuilt from an architecture file the student's code wrote, "") or (None, why not)."""
    import keras

    from grader.checks.saved_models import config_problem

    if built.stat().st_size > 10 * 2**20:
        return None, f"{what}: its architecture file is over 10 MB"
    try:
        text = built.read_text()
        # Keras's safe mode alone still lets a file load a SavedModel from a path it names (saved_models.py).
        problem = config_problem(json.loads(text))
        if problem:
            return None, f"{what} cannot be rebuilt: its architecture {problem}"
        return keras.models.model_from_json(text), ""
    except Exception as error:
        return None, f"{what} cannot be rebuilt: {type(error).__name__}: {error}"


def _visualization_results(probes: Path) -> dict[str, list[np.ndarray] | str]:
    """What 04's function cells returned on the probes: name -> arrays, or why there is none."""
    from grader.checks.probes import VISUALIZATION_RESULTS

    folder = probes / "visualization"
    results: dict[str, list[np.ndarray] | str] = {}
    for name in VISUALIZATION_RESULTS:
        saved_file, error_file = folder / "results" / f"{name}.npz", folder / "results" / f"{name}.error"
        if saved_file.is_file() and not saved_file.is_symlink():
            try:
                results[name] = _load_arrays(saved_file)
            except Exception as error:  # a file the student's code wrote: anything may be in it
                results[name] = f"unreadable result ({type(error).__name__}: {str(error)[:100]})"
        elif (error := result_text(error_file)) is not None:
            results[name] = error[:300]
        else:
            results[name] = _probe_failure(folder, "the student's cells")
    return results


@functools.cache
def _reference_model():
    import keras

    return keras.applications.MobileNetV2(weights="imagenet")


@functools.cache
def _probe_inputs(plan_json: str) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The images 04's probes ran on and each crop's class, as the grader prepares them from the plan."""
    from grader.checks.probe_inputs import crop_classes, probe_images

    plan = json.loads(plan_json)
    images = probe_images(plan)
    return images, crop_classes(_reference_model(), images, plan)


def reference_grad_cam(model, image: np.ndarray, class_index: int, layer: str = "out_relu") -> np.ndarray:
    """The grader's own Grad-CAM (the lesson's recipe): the class's probability, gradients averaged over
    the grid, the positive part of the weighted sum, scaled to [0, 1]."""
    import keras
    import tensorflow as tf

    grad_model = keras.Model(model.input, [model.get_layer(layer).output, model.output])
    with tf.GradientTape() as tape:
        conv_output, predictions = grad_model(tf.convert_to_tensor(image[np.newaxis]))
        score = predictions[:, class_index]
    weights = tf.reduce_mean(tape.gradient(score, conv_output), axis=(0, 1, 2))
    heatmap = tf.nn.relu(tf.reduce_sum(conv_output[0] * weights, axis=-1)).numpy()
    return heatmap / heatmap.max() if heatmap.max() > 0 else heatmap


def maps_agree(got: np.ndarray, reference: np.ndarray) -> bool:
    """Whether a student's map shows what the grader's shows (HOT, MATCH above)."""
    hot = reference > HOT
    if got.shape != reference.shape or hot.sum() < 3 or not np.all(np.isfinite(got)):
        return False
    inside = got[hot]
    if inside.std() == 0 or reference.flat[int(np.argmax(got))] < 0.5:
        return False
    return float(np.corrcoef(inside, reference[hot])[0, 1]) >= MATCH


def _visualization(plan: dict) -> dict:
    return plan["visualization"]


def activations_match_layers(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """`get_activations`, run by the grader on a crop and on the mirrored photo for layers drawn for this
    submission, returns each named layer's output (no batch axis)."""
    import keras

    results = _visualization_results(probes)
    model = _reference_model()
    images, _ = _probe_inputs(json.dumps(_visualization(plan), sort_keys=True))
    layers = _visualization(plan)["layers"]
    for key, image, names in (("activations_3", "crop0", layers[0]), ("activations_1", "mirrored", layers[1])):
        got = results[key]
        if isinstance(got, str):
            return False, f"get_activations failed when run by the grader: {got}"
        if len(got) != len(names):
            return False, f"get_activations returned {len(got)} arrays for {len(names)} layer names"
        reference = keras.Model(model.input, [model.get_layer(n).output for n in names])(images[image][np.newaxis])
        reference = reference if isinstance(reference, list | tuple) else [reference]
        for name, array, expected in zip(names, got, reference, strict=True):
            expected = keras.ops.convert_to_numpy(expected)[0]
            if array.shape != expected.shape:
                return False, f"{name}: shape {array.shape}, expected {expected.shape} (no batch axis)"
            if not np.allclose(array, expected, atol=1e-4):
                return False, f"{name}: the arrays are not the layer's output for the grader's image"
    return True, (f"get_activations, run by the grader in a fresh process on its own images, returns each "
                  f"layer's output ({len(layers[0]) + len(layers[1])} layers)")


def _grad_cam_results(probes: Path) -> dict[str, np.ndarray | str]:
    """Each grad_cam result of the probes: its map, or why there is none."""
    results = {}
    for name, got in _visualization_results(probes).items():
        if name.startswith("grad_cam"):
            results[name] = got if isinstance(got, str) else (got[0] if got else "no map returned")
    return results


def grad_cam_map(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """Every map `grad_cam` returned to the grader is a finite 2-D map the size of the last conv layer's
    grid (7x7 at 224 px), in [0, 1]."""
    maps = _grad_cam_results(probes)
    for heatmap in maps.values():
        if isinstance(heatmap, str):
            return False, f"grad_cam failed when run by the grader: {heatmap}"
        problem = ""
        if heatmap.shape != (7, 7):
            problem = f"shape {heatmap.shape}, expected (7, 7)"
        elif not np.all(np.isfinite(heatmap)):
            problem = "NaN or inf values"
        elif heatmap.min() < 0 or heatmap.max() > 1 + 1e-6:
            problem = f"values in [{heatmap.min():.3g}, {heatmap.max():.3g}], expected [0, 1]"
        if problem:
            return False, f"grad_cam, run by the grader: {problem}"
    return True, f"grad_cam, run by the grader in a fresh process, returns 7x7 maps in [0, 1] ({len(maps)} maps)"


def _peak_column(heatmap: np.ndarray) -> int:
    return int(np.unravel_index(np.argmax(heatmap), heatmap.shape)[1])


def grad_cam_localises(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """Each breed's map peaks on its own dog, on the photo and on its mirror image (where the dogs swap
    sides), and on two crops drawn for this submission the map of a class among the crop's top three
    shows what the grader's own Grad-CAM shows."""
    maps = _grad_cam_results(probes)
    for heatmap in maps.values():
        if isinstance(heatmap, str):
            return False, f"grad_cam failed when run by the grader: {heatmap}"
        if heatmap.ndim != 2:
            return False, f"grad_cam returned a map of shape {heatmap.shape}"
    columns = {key: _peak_column(maps[key]) for key in maps if not key.startswith("grad_cam_crop")}
    middle = maps["grad_cam_171_photo"].shape[1] / 2
    wrong = []
    if not columns["grad_cam_171_photo"] < middle < columns["grad_cam_195_photo"]:
        wrong.append(f"on the photo the left dog's map peaks in column {columns['grad_cam_171_photo']}, the right "
                     f"dog's in column {columns['grad_cam_195_photo']} (expected left of and right of the middle)")
    if not columns["grad_cam_195_mirrored"] < middle < columns["grad_cam_171_mirrored"]:
        wrong.append(f"on the mirrored photo the dogs swap sides, but the maps peak in columns "
                     f"{columns['grad_cam_195_mirrored']} (now left) and "
                     f"{columns['grad_cam_171_mirrored']} (now right)")
    images, classes = _probe_inputs(json.dumps(_visualization(plan), sort_keys=True))
    for crop, index in classes.items():
        reference = reference_grad_cam(_reference_model(), images[crop], index)
        if not maps_agree(maps[f"grad_cam_{crop}"], reference):
            wrong.append(f"on a crop of the photo drawn for this submission, the map of class {index} does not "
                         "show what the grader's Grad-CAM shows")
    if wrong:
        return False, "grad_cam, run by the grader: " + "; ".join(wrong)
    return True, (f"grad_cam, run by the grader: each dog's map peaks on its dog on the photo (columns "
                  f"{columns['grad_cam_171_photo']} and {columns['grad_cam_195_photo']}) and on its mirror image, "
                  f"and matches the grader's Grad-CAM on {len(classes)} crops drawn for this submission")


def _built(params: dict, check: str, probes: Path, plan: dict | None = None) -> tuple[Path | None, str]:
    job = cell_job(check, params)
    job = next((j for j in (plan or {}).get("cells", []) if j["name"] == job["name"]), job)
    return _job_result(job, probes)


def _job_result(job: dict, probes: Path) -> tuple[Path | None, str]:
    """The file a cell job saved (probes.CELL_PROBE), or (None, why not). Its error wins over any file:
    another cell ran in the same child and could have left one there."""
    folder = probes / "cells" / job["name"]
    result = folder / "result"
    built = result / {"call_and_save": "built.keras", "call_on_batches": "built.npz"}.get(job["action"]["kind"],
                                                                                        "built.json")
    error = result_text(result / "error.txt")
    if error is not None:
        return None, f"cell {job['cell']!r} failed when run by the grader: {error[:300]}"
    if built.is_file() and not built.is_symlink():
        return built, ""
    return None, _probe_failure(folder if result_text(folder / "missing.txt") is not None else probes / "cells",
                                f"cell {job['cell']!r}")


def head_fits_sparse_labels(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """The student's head builder, called by the grader in a fresh process: its compiled head ends in a
    softmax over the classes, with a loss for integer labels on probabilities."""
    from grader.checks.model_checks import loss_matches_activation, output_layer, output_shape
    from grader.checks.saved_models import load_saved_model

    built, problem = _built(params, "head_fits_sparse_labels", probes, plan)
    if built is None:
        return False, problem
    head, problem = load_saved_model(built)
    if head is None:
        return False, problem
    job = next((j for j in plan.get("cells", []) if j["action"]["name"] == params["function"]), None)
    features, classes = (job["action"]["args"][0], job["setup"]["NUM_CLASSES"]) if job else (None, params["classes"])
    shape_ok, shape = output_shape(head, {"shape": [classes]}, None)
    activation = output_layer(head).activation.__name__
    loss_ok, loss = loss_matches_activation(head, {"labels": "sparse"}, None)
    inputs = tuple(head.input_shape[1:]) if not isinstance(head.input_shape, list) else None
    problems = [m for ok, m in ((shape_ok, shape), (activation == "softmax", f"the head ends in {activation}, "
                                "not a softmax"), (loss_ok, loss),
                                (features is None or inputs == (features,),
                                 f"built for {features} features, its input is {inputs}")) if not ok]
    if problems:
        return False, f"{params['function']}({features}), run by the grader with {classes} classes: " + \
            "; ".join(problems)
    return True, (f"{params['function']}, run by the grader in a fresh process for {features} features and "
                  f"{classes} classes: softmax over them, {loss}")


def cell_builds_frozen_base(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """The student's cell, run by the grader in a fresh process (random weights, no download), builds
    the named pretrained base frozen; the grader rebuilds it from its saved architecture and counts."""
    built, problem = _built(params, "cell_builds_frozen_base", probes)
    if built is None:
        return False, problem
    base, problem = _rebuild(built, f"{params['variable']}, built by the grader")
    if base is None:
        return False, problem
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


def _jobs(plan: dict, params: dict, kind: str) -> list[dict]:
    return [job for job in plan.get("cells", []) if job["cell"] == params["cell"] and job["action"]["kind"] == kind]


def head_with_dropout(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """03's `build_model`, called by the grader in a fresh process for no dropout and two rates drawn for this
    submission: a functional Flatten -> Dropout(rate) -> Dense(relu) -> Dropout(rate) -> Dense(softmax), with no
    Dropout at rate 0."""
    jobs = _jobs(plan, params, "call_architecture")
    if not jobs:
        return False, "the grader's plan holds no call of build_model (a grader error)"
    for job in jobs:
        rate = job["action"]["args"][0]
        built, problem = _job_result(job, probes)
        if built is None:
            return False, problem
        model, problem = _rebuild(built, f"build_model({rate}), called by the grader")
        if model is None:
            return False, problem
        problems = _head_problems(model, rate, params)
        if problems:
            return False, f"build_model({rate}), called by the grader: " + "; ".join(problems)
    rates = ", ".join(str(job["action"]["args"][0]) for job in jobs)
    return True, (f"build_model, called by the grader in a fresh process for rates {rates}: Flatten -> Dropout(rate) "
                  f"-> Dense({params['units']}, relu) -> Dropout(rate) -> Dense({params['classes']}, softmax), "
                  "no Dropout at 0")


def _head_problems(model, rate: float, params: dict) -> list[str]:
    import keras

    if isinstance(model, keras.Sequential):
        return ["use the functional API, not Sequential"]
    problems = []
    expected_input = (None, *params["features"])
    if tuple(model.input_shape) != expected_input:
        problems.append(f"input shape {tuple(model.input_shape)}, expected {expected_input}")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    kinds = [type(layer).__name__ for layer in layers]
    expected = ["Flatten", "Dropout", "Dense", "Dropout", "Dense"] if rate > 0 else ["Flatten", "Dense", "Dense"]
    if kinds != expected:
        return [*problems, f"layers {kinds}, expected {expected}"]
    hidden, output = layers[-3] if rate > 0 else layers[1], layers[-1]
    if hidden.units != params["units"] or hidden.activation.__name__ != "relu":
        problems.append(f"hidden layer Dense({hidden.units}, {hidden.activation.__name__}), "
                        f"expected Dense({params['units']}, relu)")
    wrong_rates = [layer.rate for layer in layers if isinstance(layer, keras.layers.Dropout)
                   and not np.isclose(layer.rate, rate)]
    if wrong_rates:
        problems.append(f"Dropout rates {wrong_rates}, expected {rate}")
    if output.units != params["classes"] or output.activation.__name__ != "softmax":
        problems.append(f"output Dense({output.units}, {output.activation.__name__}), "
                        f"expected Dense({params['classes']}, softmax)")
    return problems


def features_in_order(params: dict, probes: Path, plan: dict) -> tuple[bool, str]:
    """03's `extract_features`, run by the grader in a fresh process on photos of random pixels in three batches
    through a stand-in `feature_extractor` (each channel's mean): every row and label, in the dataset's order."""
    (job,) = _jobs(plan, params, "call_on_batches")
    built, problem = _job_result(job, probes)
    if built is None:
        return False, problem
    action = job["action"]
    rng = np.random.default_rng(action["seed"])
    images = rng.uniform(0, 255, (action["count"], 8, 8, 3)).astype("float32")
    labels = rng.integers(0, action["classes"], action["count"])
    try:
        got = _load_arrays(built)
    except Exception as error:  # a file the student's code wrote: anything may be in it
        return False, f"{params['function']}: unreadable result ({type(error).__name__}: {str(error)[:100]})"
    name, count = params["function"], action["count"]
    if len(got) != 2:
        return False, f"{name}, run by the grader, returned {len(got)} values, expected (features, labels)"
    features, got_labels = got
    expected = images.mean(axis=(1, 2))
    if features.shape != expected.shape:
        return False, (f"{name}, run by the grader on {count} photos in batches of {action['batch']}: features of "
                       f"shape {features.shape}, expected {expected.shape} (one row per photo, every batch)")
    if not np.allclose(features, expected, atol=1e-3):
        return False, f"{name}, run by the grader: the rows are not feature_extractor's outputs in the dataset's order"
    if got_labels.shape != labels.shape or not np.array_equal(got_labels, labels):
        return False, f"{name}, run by the grader: the labels are not the dataset's, in its order"
    return True, (f"{name}, run by the grader in a fresh process on {count} photos in batches of {action['batch']} "
                  "through a stand-in extractor: every row and label, in order")

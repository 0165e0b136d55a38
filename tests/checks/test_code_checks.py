"""Tests confirmed outside the grading kernel on the student's code: the cell, re-run on the grader's probes
(probes.py) and judged on what it returned (code_checks.py), for the solution, the graded mutant, the
untouched release, a hang, a forged answer and a planted file."""

import json

import pytest

from devtools.examples import load_examples
from grader import paths
from grader.checks import probes
from grader.checks.probes import callback_probes, probe_plan, probe_seed, run_probes
from grader.checks.registry import CODE, REGISTRY, checks_of
from grader.notebooks import write_ipynb
from grader.spec import spec_for

CODE_CHECKS = {name: REGISTRY[name].function() for name in checks_of(CODE)}
ASSIGNMENT = "05_horses_or_humans"
PARAMS = {"cell": "callback", "class": "StopAtAccuracy"}


@pytest.fixture(scope="module")
def examples():
    return {e.student: e for e in load_examples(ASSIGNMENT, paths.NOTEBOOKS_DIR / f"{ASSIGNMENT}.ipynb")}


def judge_all(nb, assignment, tmp_path):
    """Run the probes of `assignment` on `nb` once, as the grader does; check -> (passed, message)."""
    write_ipynb(nb, tmp_path / "handed_in.ipynb")
    checks = [c for c in spec_for(assignment).checks if c.check in CODE_CHECKS]
    plan = probe_plan(checks, probe_seed((tmp_path / "handed_in.ipynb").read_bytes()))
    run_probes(plan, tmp_path / "handed_in.ipynb", tmp_path / "out")
    return {c.check: CODE_CHECKS[c.check](c.params, tmp_path / "out", plan) for c in checks}


def judge(nb, assignment, check, tmp_path):
    return judge_all(nb, assignment, tmp_path)[check]


def _check(example_nb, tmp_path):
    return judge(example_nb, ASSIGNMENT, "callback_stops_at_target", tmp_path)


def _callback_cell(nb):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "callback")


# The solution, the untouched release and the graded mutant of 05 are graded through the whole pipeline,
# these checks included, in test_grading.py (submissions/examples/05_horses_or_humans.toml).


def test_a_callback_that_hangs_is_stopped(examples, tmp_path, monkeypatch):
    monkeypatch.setattr(probes, "PROBE_TIMEOUT_SECONDS", 10)
    nb = examples["ada_solution"].notebook
    cell = _callback_cell(nb)
    cell.source = cell.source.replace("accuracy = (logs or {}).get", "while True:\n            pass\n"
                                      "        accuracy = (logs or {}).get")
    ok, message = _check(nb, tmp_path)
    assert not ok and "did not finish within 10 s" in message


def test_the_probes_change_with_the_notebook_and_stay_for_a_regrade():
    assert callback_probes(probe_seed(b"one")) == callback_probes(probe_seed(b"one"))
    assert callback_probes(probe_seed(b"one")) != callback_probes(probe_seed(b"two"))
    answers = {tuple(a >= t for t, a in callback_probes(seed)) for seed in range(200)}
    assert len(answers) > 100  # a fixed list of answers matches few submissions' probes


def test_the_probes_read_each_cell_as_handed_in_whatever_the_files_form(tmp_path):
    """cell_source reads the JSON itself (nbformat's import costs seconds): sources kept as lines (as
    nbformat writes them) or as one string, and an nbformat 3 file (upgraded by nbformat), give the
    same cells."""
    import copy

    import nbformat

    from grader.notebooks import read_ipynb

    nb = read_ipynb(paths.NOTEBOOKS_DIR / f"{ASSIGNMENT}.ipynb")
    as_lines = tmp_path / "lines.ipynb"
    as_lines.write_text(nbformat.writes(nb))
    data = json.loads(as_lines.read_text())
    assert any(isinstance(cell["source"], list) for cell in data["cells"])
    for cell in data["cells"]:
        cell["source"] = "".join(cell["source"])
    as_strings = tmp_path / "strings.ipynb"
    as_strings.write_text(json.dumps(data))
    version_3 = tmp_path / "v3.ipynb"
    version_3.write_text(nbformat.writes(nbformat.convert(copy.deepcopy(nb), 3), version=3))
    graded = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells if "nbgrader" in cell.metadata}
    assert "callback" in graded
    for grade_id, source in graded.items():
        assert [probes.cell_source(f, grade_id) for f in (as_lines, as_strings, version_3)] == [source] * 3, grade_id
    assert probes.cell_source(as_lines, "no_such_cell") is None


def test_answers_fixed_in_advance_earn_nothing(examples, tmp_path):
    """The cell never defines a callback: run outside the kernel, it prints the answers to the probes of the
    grader's earlier fixed design and exits. That earned the test there; now the probes are this notebook's."""
    nb = examples["bo_untouched"].notebook
    fixed = [(0.95, 0.5), (0.95, 0.949), (0.95, 0.95), (0.95, 0.99), (0.8, 0.79), (0.8, 0.85)]
    _callback_cell(nb).source = (f"import os\nprint('\\n' + {json.dumps([a >= t for t, a in fixed])!r}, flush=True)\n"
                                 "os._exit(0)\n")
    ok, message = _check(nb, tmp_path)
    assert not ok, message


def test_a_cell_cannot_plant_the_file_another_probe_job_is_judged_on(tmp_path):
    """02's two cells run in one child: the first one writes a correct head where the second job saves
    its result, and the second cell is left unsolved. The planted file earns nothing."""
    nb = next(e for e in load_examples("02_flowers", paths.NOTEBOOKS_DIR / "02_flowers.ipynb")
              if e.student == "bo_untouched").notebook
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "inception_base")
    cell.source = ("import json\nfrom pathlib import Path\n"
                   "for job in json.loads(Path(open('/proc/self/cmdline').read().split(chr(0))[3]).read_text()):\n"
                   "    if job['cell'] == 'build_head':\n"
                   "        Path(job['out']).mkdir(parents=True, exist_ok=True)\n"
                   "        i = keras.Input((8,))\n"
                   "        h = keras.Model(i, keras.layers.Dense(5, activation='softmax')(i))\n"
                   "        h.compile(loss=keras.losses.SparseCategoricalCrossentropy())\n"
                   "        h.save(Path(job['out']) / 'built.keras')\n"
                   "        print('PLANTED')\n")
    ok, message = judge(nb, "02_flowers", "head_fits_sparse_labels", tmp_path)
    assert not ok and "NotImplementedError" in message, message


def _dropout_notebooks():
    """03's release with the solution's cells (from solutions/), and the untouched release."""
    from devtools.examples import solved
    from grader.notebooks import read_ipynb, read_source

    release = read_ipynb(paths.NOTEBOOKS_DIR / "03_dropout.ipynb")
    return solved(release, read_source(paths.SOLUTIONS_DIR / "03_dropout.py")), release


def _with_cell(nb, grade_id, source):
    import copy

    nb = copy.deepcopy(nb)
    next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id).source = source
    return nb


def test_03s_solution_passes_both_code_checks_and_the_release_fails_them(tmp_path):
    solution, release = _dropout_notebooks()
    for check, (ok, message) in judge_all(solution, "03_dropout", tmp_path / "solution").items():
        assert ok, (check, message)
    for check, (ok, message) in judge_all(release, "03_dropout", tmp_path / "release").items():
        assert not ok and "NotImplementedError" in message, (check, message)


def _solution_cell(nb, grade_id):
    return next(c.source for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def test_03s_mutants_fail_their_code_checks(tmp_path):
    """Notebooks with one wrong `build_model` each and (in the first) a loop that drops the short last
    batch: every mistake fails its check."""
    solution, _ = _dropout_notebooks()
    build, features = _solution_cell(solution, "build_model"), _solution_cell(solution, "extract_features")
    sequential = ("def build_model(rate):\n    return keras.Sequential([keras.Input(FEATURE_SHAPE), "
                  "keras.layers.Flatten(), keras.layers.Dropout(rate), "
                  "keras.layers.Dense(HIDDEN_UNITS, activation='relu'), keras.layers.Dropout(rate), "
                  "keras.layers.Dense(NUM_CLASSES, activation='softmax')])\n")
    # Dropout on the hidden units only, not on the flattened features: the text asks for both.
    flatten = "x = keras.layers.Flatten()(inputs)\n"
    hidden_only = build.replace(flatten + "    if rate > 0:\n        x = keras.layers.Dropout(rate)(x)\n", flatten)
    assert hidden_only != build
    first = _with_cell(_with_cell(solution, "build_model", build.replace("if rate > 0:", "if True:")),
                       "extract_features", features.replace("for images, batch_labels in batches:",
                                                            "for images, batch_labels in list(batches)[:-1]:"))
    results = judge_all(first, "03_dropout", tmp_path / "first")
    assert not results["head_with_dropout"][0] and "Dropout" in results["head_with_dropout"][1], results
    assert not results["features_in_order"][0] and "shape (8, 3)" in results["features_in_order"][1], results
    for name, source in (("fixed_rate", build.replace("Dropout(rate)", "Dropout(0.5)")), ("sequential", sequential),
                         ("hidden_only", hidden_only)):
        ok, message = judge(_with_cell(solution, "build_model", source), "03_dropout", "head_with_dropout",
                            tmp_path / name)
        assert not ok, (name, message)


def test_a_result_file_that_unpacks_to_gigabytes_is_refused_before_it_is_read(tmp_path):
    """An .npz is a zip: a result written by the student's code could be a small file that unpacks to 400 MB."""
    import numpy as np

    from grader.checks.code_checks import _visualization_results

    results = tmp_path / "visualization" / "results"
    results.mkdir(parents=True)
    np.savez_compressed(results / "grad_cam_195_photo.npz", np.zeros(100_000_000, dtype=np.float32))
    assert (results / "grad_cam_195_photo.npz").stat().st_size < 2_000_000
    got = _visualization_results(tmp_path)["grad_cam_195_photo"]
    assert isinstance(got, str) and "unreadable result" in got and "more than" in got, got


def test_an_architecture_the_students_code_wrote_is_read_before_keras_rebuilds_it(tmp_path):
    """02's base is rebuilt from the JSON its cell's child process wrote: the student's file. One that calls
    keras.layers.TFSMLayer from a Lambda layer would make Keras's safe mode load a SavedModel from the path
    it names, so the grader refuses it before Keras reads it."""
    from tests.collect.test_hostile_files import TFSM_GADGET

    check = next(c for c in spec_for("02_flowers").checks if c.check == "cell_builds_frozen_base")
    result = tmp_path / "cells" / probes.cell_job(check.check, check.params)["name"] / "result"
    result.mkdir(parents=True)
    import keras

    inputs = keras.Input((4,))
    architecture = json.loads(keras.Model(inputs, keras.layers.Dense(2)(inputs)).to_json())
    architecture["config"]["layers"].append(TFSM_GADGET)
    (result / "built.json").write_text(json.dumps(architecture))
    ok, message = CODE_CHECKS[check.check](check.params, tmp_path, {})
    assert not ok and "holds a Lambda layer" in message and "SavedModel" not in message, message


def test_links_and_fifos_the_students_code_leaves_for_the_grader_are_not_followed(tmp_path):
    """The probes' box is the student's: its result and error files could be links to a file of the
    evaluator's box, whose text the message would carry into the feedback, or FIFOs that block a reader."""
    import os
    import time

    from grader.checks.code_checks import _visualization_results

    secret = tmp_path / "the_graders_file.txt"
    secret.write_text("SECRET-OF-THE-GRADER")
    probes_dir = tmp_path / "out"
    callback = probes_dir / "callback"
    callback.mkdir(parents=True)
    (callback / "result.txt").symlink_to(secret)
    check = next(c for c in spec_for("02_flowers").checks if c.check == "cell_builds_frozen_base")
    result = probes_dir / "cells" / probes.cell_job(check.check, check.params)["name"] / "result"
    result.mkdir(parents=True)
    (result / "error.txt").symlink_to(secret)
    (probes_dir / "cells" / "missing.txt").symlink_to(secret)
    visualization = probes_dir / "visualization" / "results"
    visualization.mkdir(parents=True)
    os.mkfifo(visualization / "grad_cam_171_photo.error")
    (visualization / "grad_cam_195_photo.error").symlink_to(secret)

    started = time.monotonic()
    messages = [CODE_CHECKS["callback_stops_at_target"](PARAMS, probes_dir, {"callback": {"probes": [[0.9, 0.95]]}})[1],
                CODE_CHECKS[check.check](check.params, probes_dir, {})[1],
                *(v for v in _visualization_results(probes_dir).values() if isinstance(v, str))]
    assert time.monotonic() - started < 5, "a FIFO must not block the evaluator"
    assert len(messages) >= 4 and not any("SECRET" in m for m in messages), messages


# 04's answers that earn every point inside the kernel (its own photo and classes) without computing them.
HARD_CODED_GRAD_CAM = '''def grad_cam(model, image, class_index, last_conv_layer_name):
    heatmap = np.zeros((7, 7))
    heatmap[3, 1 if class_index == 171 else 5] = 1.0
    return heatmap'''
# Each layer's output for the first image it was asked about, returned for every image after it.
STORED_ACTIVATIONS = '''STORED = {}


def get_activations(model, image, layer_names):
    for name in layer_names:
        if name not in STORED:
            layer_model = keras.Model(model.input, model.get_layer(name).output)
            STORED[name] = keras.ops.convert_to_numpy(layer_model(image[np.newaxis]))[0]
    return [STORED[name] for name in layer_names]'''
# An honest variant: min-max scaling and no ReLU, and a cell magic and a shell line in the graded cell.
MIN_MAX_GRAD_CAM = '''%%time
!echo timing grad_cam
def grad_cam(model, image, class_index, last_conv_layer_name):
    grad_model = keras.Model(model.input, [model.get_layer(last_conv_layer_name).output, model.output])
    with tf.GradientTape() as tape:
        conv_output, predictions = grad_model(tf.convert_to_tensor(image[np.newaxis]))
        class_score = predictions[:, class_index]
    gradients = tape.gradient(class_score, conv_output)
    heatmap = tf.reduce_sum(conv_output[0] * tf.reduce_mean(gradients, axis=(0, 1, 2)), axis=-1).numpy()
    return (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())'''


def test_04s_probes_take_no_answer_fixed_in_advance_and_pass_honest_variants(tmp_path):
    """Run by the grader on the photo, its mirror image and two crops drawn per submission: the solution and
    an honest variant (min-max scaled, timed with %%time) pass every check; a Grad-CAM hard-coded to the
    notebook's two classes and activations kept from the first image fail theirs."""
    solution = next(e for e in load_examples("04_visualizing_convnets",
                                             paths.NOTEBOOKS_DIR / "04_visualizing_convnets.ipynb")
                    if e.kind == "solution").notebook
    honest = judge_all(_with_cell(solution, "grad_cam", MIN_MAX_GRAD_CAM), "04_visualizing_convnets",
                       tmp_path / "honest")
    assert all(ok for ok, _ in honest.values()), honest
    cheat = _with_cell(_with_cell(solution, "grad_cam", HARD_CODED_GRAD_CAM), "get_activations", STORED_ACTIVATIONS)
    judged = judge_all(cheat, "04_visualizing_convnets", tmp_path / "cheat")
    assert judged["grad_cam_map"][0], judged  # a 7x7 map in [0, 1]: the form is right
    ok, message = judged["grad_cam_localises"]
    assert not ok and "mirrored photo" in message and "crop" in message, message
    ok, message = judged["activations_match_layers"]
    assert not ok and "not the layer's output" in message, message

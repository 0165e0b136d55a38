"""Files the grader opens for a student are hostile too: archives handed in, and the model file a
notebook saved. Each ends in a clear reason, fast, with nothing extracted or loaded."""

import json
import os
import time
import zipfile

import pytest

from grader.checks.evaluate import evaluate
from grader.checks.saved_models import load_saved_model, model_file_problem
from grader.collect.archives import ArchiveLimits, archive_problem
from grader.collect.intake import collect
from tests.conftest import ASSIGNMENT


def zeros_zip(path, name="a__a1.ipynb", size=64 * 2**20):
    """An archive whose one entry expands from ~64 kB to `size` bytes of zeros."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open(name, "w", force_zip64=True) as entry:
            chunk = bytes(2**20)
            for _ in range(size // len(chunk)):
                entry.write(chunk)
    return path


def test_a_zip_bomb_is_set_aside_before_extraction(tiny_course, tmp_path):
    bomb = zeros_zip(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 2**20
    started = time.monotonic()
    result = collect(tiny_course, ASSIGNMENT, [bomb])
    assert time.monotonic() - started < 60
    assert result.unmatched == ["bomb.zip"] and "zip bomb" in result.reasons["bomb.zip"]
    assert not result.students
    extracted = tiny_course.archive(ASSIGNMENT).parent / "extracted"
    assert not extracted.exists() or not any(p.is_file() for p in extracted.rglob("*"))
    assert (tiny_course.root / "rejected" / ASSIGNMENT / "bomb.zip").is_file(), "the file is kept, not lost"


def test_a_notebook_too_large_to_parse_safely_is_set_aside_unread(tiny_course, tmp_path):
    """Parsing JSON costs memory by its shape: a notebook over the limit is set aside before it is read
    (20 MB of tiny lists took 1.1 GB to parse), loose or in an archive, and the others are collected."""
    from grader.collect.verdict import MAX_NOTEBOOK_BYTES

    release = (tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    padded = json.loads(release)  # a valid notebook of the assignment, which the old collect graded
    padded["metadata"]["padding"] = [[]] * (MAX_NOTEBOOK_BYTES // 3 + 1)
    big = json.dumps(padded, separators=(",", ":"))
    assert len(big) > MAX_NOTEBOOK_BYTES
    (tmp_path / f"ann__{ASSIGNMENT}.ipynb").write_text(release)
    (tmp_path / f"bob__{ASSIGNMENT}.ipynb").write_text(big)
    with zipfile.ZipFile(tmp_path / "cy.zip", "w") as z:  # stored: no zip bomb, within the archive budget
        z.writestr(f"cy__{ASSIGNMENT}.ipynb", big)
    started = time.monotonic()
    result = collect(tiny_course, ASSIGNMENT, [tmp_path / f"ann__{ASSIGNMENT}.ipynb",
                                               tmp_path / f"bob__{ASSIGNMENT}.ipynb", tmp_path / "cy.zip"])
    assert time.monotonic() - started < 60
    assert result.students == ["ann"]
    reasons = {r.student: r.reason for r in result.rejects}
    assert set(reasons) == {"bob", "cy"}
    assert all("MB a notebook may have: clear its outputs" in reason for reason in reasons.values())
    assert (tiny_course.root / "rejected" / ASSIGNMENT / f"bob__{ASSIGNMENT}.ipynb").stat().st_size > MAX_NOTEBOOK_BYTES


def test_nested_archives_count_towards_one_budget(tmp_path):
    inner = zeros_zip(tmp_path / "inner.zip", size=8 * 2**20)
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as z:
        for i in range(4):
            z.write(inner, f"part{i}.zip")
    limits = ArchiveLimits(total_bytes=20 * 2**20, ratio=10_000)
    assert "more than 20 MB" in archive_problem(outer, limits)
    deep = tmp_path / "deep.zip"
    with zipfile.ZipFile(deep, "w") as z:
        z.write(outer, "outer.zip")
    assert "nested more than 2 deep" in archive_problem(deep, ArchiveLimits(depth=2, ratio=10_000))


def test_entries_that_climb_out_or_too_many_entries(tmp_path):
    climbing = tmp_path / "climb.zip"
    with zipfile.ZipFile(climbing, "w") as z:
        z.writestr("../../etc/cron.d/evil", "x")
    assert "outside the submission's folder" in archive_problem(climbing)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as z:
        for i in range(30):
            z.writestr(f"f{i}.txt", "x")
    assert "more than 20 files" in archive_problem(many, ArchiveLimits(entries=20))


def _keras_file_naming(path, hostile: dict, where: str):
    """A real .keras file of a tiny model whose configuration is then given `hostile` as a layer
    (`where="layer"`) or as its Dense layer's activation (`where="activation"`)."""
    import keras

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path.with_suffix(".tmp.keras"))
    with zipfile.ZipFile(path.with_suffix(".tmp.keras")) as plain:
        files = {name: plain.read(name) for name in plain.namelist()}
    config = json.loads(files["config.json"])
    if where == "layer":
        config["config"]["layers"].append(hostile)
    else:
        config["config"]["layers"][-1]["config"]["activation"] = hostile
    files["config.json"] = json.dumps(config)
    with zipfile.ZipFile(path, "w") as out:
        for name, data in files.items():
            out.writestr(name, data)
    return path


# keras.layers.TFSMLayer called as a Lambda layer's function: Keras 3.15.1's load_model(safe_mode=True)
# loads a TensorFlow SavedModel from the path the file names (keras-team/keras#23654).
TFSM_FUNCTION = {"module": "keras.layers", "class_name": "function", "config": "TFSMLayer",
                 "registered_name": "function"}
TFSM_GADGET = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None, "name": "gadget",
               "config": {"name": "gadget", "trainable": True, "dtype": "float32", "function": TFSM_FUNCTION,
                          "arguments": {}},
               "build_config": {"input_shape": [None, 4]},
               "inbound_nodes": [{"args": [], "kwargs": {"inputs": "/tmp/a_saved_model_of_the_students"}}]}


def _fifo(path):
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("make, reason", [
    (lambda p: _fifo(p), "not a regular file"),
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.symlink_to("/etc/passwd"), "symbolic link"),
    (lambda p: p.write_text("not a zip"), "not a Keras .keras archive"),
    (lambda p: zeros_zip(p, name="model.weights.h5", size=600 * 2**20), "expands to more than 512 MB"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("payload.py", "import os"), "unexpected entries"),
    (lambda p: _keras_file_naming(p, TFSM_GADGET, "layer"), "holds a Lambda layer"),
    (lambda p: _keras_file_naming(p, TFSM_FUNCTION, "activation"), "names the function keras.layers.TFSMLayer"),
    (lambda p: _keras_file_naming(p, {"module": "keras.config", "class_name": "set_floatx"}, "activation"),
     "a function, where Keras expects a class"),
    (lambda p: _keras_file_naming(p, {"module": "os", "class_name": "system"}, "activation"), "not from Keras"),
])
def test_a_hostile_model_file_fails_the_checks_at_once_with_the_reason(tmp_path, make, reason):
    model = tmp_path / "cats_vs_dogs.keras"
    make(model)
    assert reason in model_file_problem(model)
    import keras  # noqa: F401  (imported first: the bound below is on blocking, not on TensorFlow's import)

    started = time.monotonic()
    checks = evaluate("01_cats_vs_dogs", model, None)
    assert time.monotonic() - started < 5, "a FIFO must not block the evaluator"
    assert checks and all(not c["passed"] and reason in c["message"] for c in checks)


def test_what_a_course_model_may_name_passes_the_configuration_check(tmp_path):
    """The check before Keras refuses only what no model of the course holds: function-form losses and
    metrics, activation objects, a learning-rate schedule and preprocessing layers still load."""
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = keras.layers.Dense(3, activation=keras.activations.gelu)(keras.layers.GlobalAveragePooling2D()(x))
    x = keras.layers.Activation(keras.activations.relu)(keras.layers.Dropout(0.2)(x))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=keras.losses.binary_crossentropy,
                  metrics=["accuracy", keras.metrics.binary_accuracy, keras.metrics.AUC()])
    model.save(tmp_path / "model.keras")
    assert model_file_problem(tmp_path / "model.keras") == ""
    loaded, problem = load_saved_model(tmp_path / "model.keras")
    assert problem == "" and loaded.count_params() == model.count_params()

"""03's heads, measured by the grader (grader/checks/head_checks.py): each verdict on measured numbers, and
heads the grader must refuse before measuring anything; and 07's comparison with a second saved model. The
real heads of the solution, a forged run and the graded mutants go through the whole pipeline in
test_grading.py (submissions/examples/03_dropout.toml)."""

import keras
import numpy as np
import pytest

from grader.checks import head_checks
from grader.checks.head_checks import HeadMeasurement, HeadsUnusable, measure_heads
from grader.checks.model_checks import Context
from grader.checks.registry import HEADS, REGISTRY, checks_of
from grader.spec import spec_for

SPEC = spec_for("03_dropout")
PARAMS = {c.check: c.params for c in SPEC.checks}
# Seed 1 of the solution as the grader measured it (docs/grading.md): train 1.0, held-out 0.78 / 0.796.
SOLUTION = {"no_dropout": HeadMeasurement(1.0, 0.780, 0.688, 250), "dropout": HeadMeasurement(1.0, 0.796, 0.575, 250)}
UNTRAINED = {"no_dropout": HeadMeasurement(0.21, 0.196, 1.61, 250), "dropout": HeadMeasurement(0.21, 0.196, 1.61, 250)}


@pytest.mark.parametrize("check", sorted(checks_of(HEADS)))
def test_the_solution_passes_and_untrained_heads_fail(check):
    verdict = REGISTRY[check].function()
    ok, message, _ = verdict(SOLUTION, PARAMS[check])
    assert ok, message
    ok, message, _ = verdict(UNTRAINED, PARAMS[check])
    # Two identical untrained heads have the same gap: "not wider" is true of them.
    assert ok == (check == "gap_not_wider"), message


def test_a_dropout_head_that_widens_the_gap_fails_with_the_numbers():
    measured = {"no_dropout": HeadMeasurement(1.0, 0.80, 0.60, 250), "dropout": HeadMeasurement(1.0, 0.75, 0.50, 250)}
    ok, message, reduction = head_checks.gap_not_wider(measured, PARAMS["gap_not_wider"])
    assert not ok and reduction == pytest.approx(-0.05)
    assert "+0.200" in message and "+0.250" in message and "wider by 0.050" in message


def test_a_higher_loss_with_dropout_fails_with_the_numbers():
    measured = {"no_dropout": HeadMeasurement(1.0, 0.80, 0.60, 250), "dropout": HeadMeasurement(1.0, 0.80, 0.58, 250)}
    ok, message, _ = head_checks.loss_lowered(measured, PARAMS["loss_lowered"])
    assert not ok and "lower by 0.020" in message and "expected at least 0.05" in message


def _head(inputs=(5, 5, 1280), activation="softmax", classes=5):
    keras.utils.set_random_seed(0)
    x = keras.Input(inputs)
    return keras.Model(x, keras.layers.Dense(classes, activation=activation)(keras.layers.Flatten()(x)))


@pytest.fixture
def grader_features(monkeypatch):
    """Random stand-ins for the grader's MobileNetV2 features: these tests are about the heads."""
    rng = np.random.default_rng(0)
    photos = {"training": (rng.random((20, 5, 5, 1280), "float32"), rng.integers(0, 5, 20)),
              "held_out": (rng.random((10, 5, 5, 1280), "float32"), rng.integers(0, 5, 10))}
    monkeypatch.setattr(head_checks, "_features", lambda application, size, which, context, training: photos[which])
    head_checks._load_head.cache_clear()
    yield
    head_checks._load_head.cache_clear()


CONTEXT = Context(160, None, SPEC.held_out_classes)
FILES = SPEC.heads["files"]


def _save(tmp_path, make_head=_head):
    for name in FILES.values():
        make_head().save(tmp_path / name)


def test_heads_are_measured_in_inference_mode(tmp_path, grader_features):
    _save(tmp_path)
    measured = measure_heads(FILES, tmp_path, CONTEXT, SPEC.heads)
    assert set(measured) == {"no_dropout", "dropout"}
    assert measured["no_dropout"] == measured["dropout"]  # the same head twice: the same numbers
    assert 0.0 <= measured["dropout"].train_accuracy <= 1.0 and measured["dropout"].held_out_count == 10


@pytest.mark.parametrize("make_head, reason", [
    (lambda: _head(inputs=(1280,)), "takes inputs (1280,)"),
    (lambda: _head(classes=2), "outputs (None, 2)"),
    (lambda: _head(activation="linear"), "does not end in a softmax"),
])
def test_heads_of_the_wrong_kind_are_refused_with_the_reason(tmp_path, grader_features, make_head, reason):
    _save(tmp_path, make_head)
    with pytest.raises(HeadsUnusable, match=reason.replace("(", r"\(").replace(")", r"\)")):
        measure_heads(FILES, tmp_path, CONTEXT, SPEC.heads)


def test_a_missing_or_hostile_head_file_is_refused_with_the_reason(tmp_path, grader_features):
    with pytest.raises(HeadsUnusable, match="no saved model 'dropout_head_0.0.keras'"):
        measure_heads(FILES, tmp_path, CONTEXT, SPEC.heads)
    (tmp_path / FILES["no_dropout"]).symlink_to("/etc/passwd")
    with pytest.raises(HeadsUnusable, match="is a symbolic link"):
        measure_heads(FILES, tmp_path, CONTEXT, SPEC.heads)


# 07's comparison (grader/checks/model_checks.py: beats_saved_model): the from-scratch model the notebook saved
# is the student's file too, so a spoiled one must not win the comparison.
BEATS = next(c.params for c in spec_for("07_your_own_images").checks if c.check == "beats_saved_model")


def _photos(root, classes, per_class=4):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / name / f"{i}.jpg")


def _constant_model(class_index, classes=5, size=32):
    """A model that answers `class_index` for every photo (a bias, no weights that look at the photo)."""
    inputs = keras.Input((size, size, 3))
    x = keras.layers.Dense(classes, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(np.eye(classes)[class_index] * 10))(
        keras.layers.GlobalAveragePooling2D()(inputs))
    return keras.Model(inputs, keras.layers.Activation("softmax")(x))


def test_a_spoiled_model_to_compare_with_earns_nothing(tmp_path):
    from grader.checks.model_checks import beats_saved_model

    classes = ("a", "b", "c", "d", "e")
    _photos(tmp_path / "held_out", classes)
    context = Context(32, tmp_path / "held_out", classes, model_dir=tmp_path)
    _constant_model(0).save(tmp_path / BEATS["other"])  # right on 1 photo in 5: far below other_at_least
    strong = {**BEATS, "min_gain": -1.0}  # whatever the gain, the comparison needs a trained other model
    ok, message, _ = beats_saved_model(_constant_model(0), strong, context)
    assert not ok and "was it trained?" in message
    ok, message, _ = beats_saved_model(_constant_model(0), {**strong, "other_at_least": 0.1}, context)
    assert ok, message

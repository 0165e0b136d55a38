"""05's cut (grader/checks/model_checks.py: base_ends_where_declared): the student chooses where to cut
MobileNetV2, and the grader checks the saved base against the cut the handed-in source declares."""

import json

import keras
import numpy as np
import pytest

from grader import paths
from grader.checks.model_checks import Context, base_ends_where_declared

pytestmark = pytest.mark.skipif(paths.mirror_dir() is None, reason="no offline mirror beside the checkout")
PARAMS = {"variable": "CUT_LAYER", "application": "MobileNetV2"}
SHAPE = (96, 96, 3)


def _notebook(folder, *sources: str):
    cells = [{"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
             for source in sources]
    path = folder / "handed_in.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))
    return path


def _model(cut: str, trainable: bool = False):
    pretrained = keras.applications.MobileNetV2(input_shape=SHAPE, include_top=False, weights="imagenet")
    base = keras.Model(pretrained.input, pretrained.get_layer(cut).output)
    base.trainable = trainable
    inputs = keras.Input(SHAPE)
    x = keras.layers.GlobalAveragePooling2D()(base(inputs))
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)), base


def _judge(model, folder, *sources):
    return base_ends_where_declared(model, PARAMS, Context(96, None, (), notebook=_notebook(folder, *sources)))


def test_a_base_cut_where_the_cell_says_passes(tmp_path):
    model, _ = _model("block_13_expand_relu")
    ok, message = _judge(model, tmp_path, 'CUT_LAYER = "block_13_expand_relu"\nfeature_extractor = ...')
    assert ok, message


def test_a_base_cut_elsewhere_fails_with_both_names(tmp_path):
    model, _ = _model("block_16_project_BN")
    ok, message = _judge(model, tmp_path, 'CUT_LAYER = "block_15_add"')
    assert not ok and "'block_16_project_BN'" in message and "'block_15_add'" in message


def test_a_frozen_base_that_is_not_imagenets_fails(tmp_path):
    model, base = _model("block_6_expand_relu")
    layer = base.get_layer("Conv1")
    layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    ok, message = _judge(model, tmp_path, 'CUT_LAYER = "block_6_expand_relu"')
    assert not ok and "Conv1" in message


def test_a_trainable_base_is_left_to_base_frozen(tmp_path):
    model, base = _model("block_6_expand_relu", trainable=True)
    layer = base.get_layer("Conv1")
    layer.set_weights([w + 1 for w in layer.get_weights()])
    ok, message = _judge(model, tmp_path, 'CUT_LAYER = "block_6_expand_relu"')
    assert ok, message


def test_the_cut_may_be_set_in_a_cell_of_the_students_own_and_the_last_one_counts(tmp_path):
    model, _ = _model("block_13_expand_relu")
    ok, message = _judge(model, tmp_path, 'CUT_LAYER = "out_relu"', "%matplotlib inline",
                         'CUT_LAYER = "block_13_expand_relu"', "feature_extractor = ...")
    assert ok, message
    ok, message = _judge(model, tmp_path, 'CUT_LAYER: str = "block_13_expand_relu"')
    assert ok, message


@pytest.mark.parametrize(("sources", "why"), [
    (["CUT_LAYER = LAYERS[3]"], 'set CUT_LAYER = "<layer name>"'),
    (['CUT_LAYER = "block_13_expand_relu"', "CUT_LAYER = CUT_LAYER.strip()"], 'set CUT_LAYER = "<layer name>"'),
    (['CUT_LAYER = "block_99_add"'], "is not a layer of MobileNetV2"),
    (["CUT_LAYER = ("], 'set CUT_LAYER = "<layer name>"'),
])
def test_a_cut_the_grader_cannot_read_fails_with_the_reason(tmp_path, sources, why):
    model, _ = _model("block_13_expand_relu")
    try:
        ok, message = _judge(model, tmp_path, *sources)
    except ValueError as error:  # judge() turns this into a failed check with the message
        ok, message = False, str(error)
    assert not ok and why in message

"""Checks the grader makes on a saved model, in a fresh process the student's code never ran in.

Each check is a plain function `(model, params, context) -> (passed, message[, metric])`, registered by
name in checks.py (the names data/grading.toml uses). They look only at what the `.keras` file holds
(layers, trainable flags, weights, compile settings) and at held-out photos, so nothing a notebook
redefines can change them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf


@dataclass(frozen=True)
class Context:
    image_size: int
    held_out_dir: Path | None
    held_out_classes: tuple[str, ...]
    seed: int = 0
    model_dir: Path | None = None  # where the notebook saved its files (checks that open a second one)
    notebook: Path | None = None  # the notebook as handed in (checks that read what its source declares)


def pretrained_base(model: keras.Model) -> keras.Model:
    """The pretrained base (or its cut) inside the student's model: the nested model with the most weights,
    unwrapped where it only puts preprocessing in front of the base (02's feature models)."""
    def nested(m: keras.Model) -> list[keras.Model]:
        return [layer for layer in m.layers if isinstance(layer, keras.Model)]

    if not nested(model):
        raise ValueError("the saved model holds no nested pretrained base model")
    base = max(nested(model), key=lambda m: m.count_params())
    while nested(base) and (inner := max(nested(base), key=lambda m: m.count_params())).count_params() == \
            base.count_params():
        base = inner
    return base


def output_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer that makes the model's output, inside nested models (02: a head model on top)."""
    last = model.layers[-1]
    while isinstance(last, keras.Model):
        last = last.layers[-1]
    return last


def _verdict(problems: list[str], ok: str) -> tuple[bool, str]:
    return (not problems, ok if not problems else "; ".join(problems))


def base_frozen(model, params, context) -> tuple[bool, str]:
    base = pretrained_base(model)
    trainable = [layer.name for layer in base.layers if layer.trainable and layer.weights]
    problems = []
    if trainable:
        problems.append(f"{len(trainable)} layers of the saved base can still train (e.g. {trainable[:3]})")
    if base.trainable_weights:
        problems.append(f"the saved base has {len(base.trainable_weights)} trainable weights")
    return _verdict(problems, f"saved base '{base.name}': all {len(base.layers)} layers frozen")


def output_shape(model, params, context) -> tuple[bool, str]:
    want = (None, *params["shape"])
    got = tuple(model.output_shape)
    return got == want, f"saved model output shape {got}" + ("" if got == want else f", expected {want}")


def head_layers(model, params, context) -> tuple[bool, str]:
    ok, message = output_shape(model, params, context)
    problems = [] if ok else [message]
    activation = output_layer(model).activation.__name__ if hasattr(output_layer(model), "activation") else None
    if activation != params["activation"]:
        problems.append(f"last layer activation {activation}, expected {params['activation']}")
    base = pretrained_base(model)
    after_base = model.layers[model.layers.index(base) + 1:]
    kinds = {type(layer).__name__ for layer in after_base}
    missing = [kind for kind in params.get("needs", []) if kind not in kinds]
    if missing:
        problems.append(f"the head (after the base) has no {', '.join(missing)} layer: {sorted(kinds)}")
    return _verdict(problems, f"saved head: {', '.join(type(x).__name__ for x in after_base)}")


def base_ends_where_declared(model, params, context) -> tuple[bool, str]:
    """The saved base is the published `application` cut where the notebook says: its last layer is the one
    named by the string literal the notebook assigns to `variable` (read from the handed-in source, which no
    code of the kernel can change), with that layer's output shape, and the weights of every layer it
    keeps frozen equal to the published ImageNet weights (a pretrained base, not one initialised anew; layers
    left trainable are base_frozen's to judge, not judged twice here)."""
    declared = declared_string(context.notebook, params["variable"])
    base = pretrained_base(model)
    reference = imagenet_base(params["application"], tuple(base.input_shape[1:]))
    names = {layer.name for layer in reference.layers}
    if declared not in names:
        return False, f"{params['variable']} = {declared!r} is not a layer of {params['application']}"
    problems = []
    last = base.layers[-1].name
    if last != declared:
        problems.append(f"the saved base ends at {last!r}, but {params['variable']} says {declared!r}")
    expected = tuple(reference.get_layer(declared).output.shape)
    if tuple(base.output_shape) != expected:
        problems.append(f"the saved base outputs {base.output_shape}, the layer {declared!r} {expected}")
    changed = [layer.name for layer in base.layers
               if layer.weights and not layer.trainable_weights and not _same_weights(layer, reference, names)]
    if changed:
        problems.append(f"{len(changed)} layers of the saved base are not ImageNet's: {', '.join(changed[:3])}")
    return _verdict(problems, f"saved base: {params['application']} cut at {declared!r} {base.output_shape}, "
                              "ImageNet's weights")


def _same_weights(layer: keras.layers.Layer, reference: keras.Model, names: set[str]) -> bool:
    if layer.name not in names:
        return False
    saved, published = layer.get_weights(), reference.get_layer(layer.name).get_weights()
    return len(saved) == len(published) and all(np.array_equal(a, b) for a, b in zip(saved, published, strict=True))


def declared_string(notebook: Path | None, variable: str) -> str:
    """The string literal the handed-in notebook last assigns to `variable` at the top level of a code cell, in
    the cells' order (the order grading runs them). A later assignment of anything else is refused: its value
    is the kernel's to compute, and the grader reads only what the source says."""
    import ast

    from grader.checks.probes import notebook_cells

    if notebook is None:
        raise ValueError("the grader has no copy of the handed-in notebook")
    value = None
    for cell in notebook_cells(notebook):
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(cell["source"])
        except SyntaxError:
            continue  # IPython magics and the like; a cell the kernel cannot run fails its own tests
        for node in tree.body:
            # `CUT_LAYER = "..."`, also with an annotation (`CUT_LAYER: str = "..."`)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) and node.value is not None else []
            if any(isinstance(t, ast.Name) and t.id == variable for t in targets):
                literal = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                value = node.value.value if literal else ""
    if not value:
        raise ValueError(f'set {variable} = "<layer name>" (the name in quotes) for the grader to read your choice')
    return value


def base_matches_imagenet(model, params, context) -> tuple[bool, str]:
    """Every weight of the saved base equals the published ImageNet weights, byte for byte.

    With `frozen_only`, only the layers the saved model keeps frozen are compared (fine-tuning moves
    the others), and every BatchNormalization layer must be among them.
    """
    base = pretrained_base(model)
    reference = imagenet_base(params["application"], tuple(base.input_shape[1:]))
    if params.get("frozen_only"):
        return _frozen_layers_match(base, reference)
    saved, published = base.get_weights(), reference.get_weights()
    if len(saved) != len(published):
        return False, f"the saved base has {len(saved)} weight arrays, ImageNet's has {len(published)}"
    moved = sum(not np.array_equal(a, b) for a, b in zip(saved, published, strict=True))
    if moved:
        return False, f"{moved} of {len(saved)} weight arrays of the saved base differ from the ImageNet weights"
    return True, f"all {len(saved)} weight arrays of the saved base equal the ImageNet weights"


@functools.cache
def imagenet_base(application: str, input_shape: tuple) -> keras.Model:
    """The published `application` without its top, its ImageNet weights loaded; built once per process."""
    return getattr(keras.applications, application)(input_shape=input_shape, include_top=False, weights="imagenet")


def _frozen_layers_match(base: keras.Model, reference: keras.Model) -> tuple[bool, str]:
    frozen = [layer for layer in base.layers if layer.weights and not layer.trainable_weights]
    problems = []
    trainable_bn = _trainable_batchnorm(base)
    if trainable_bn:
        problems.append(f"{len(trainable_bn)} BatchNormalization layers were trainable (e.g. {trainable_bn[:3]})")
    moved = [layer.name for layer in frozen if not all(
        np.array_equal(a, b) for a, b in zip(layer.get_weights(), reference.get_layer(layer.name).get_weights(),
                                             strict=True))]
    if moved:
        problems.append(f"{len(moved)} frozen layers differ from the ImageNet weights (e.g. {moved[:3]})")
    return _verdict(problems, f"all {len(frozen)} frozen layers of the saved base equal the ImageNet weights")


def _is_batchnorm(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization)


def _trainable_batchnorm(base: keras.Model) -> list[str]:
    return [layer.name for layer in base.layers if _is_batchnorm(layer) and layer.trainable]


def trainable_from(model, params, context) -> tuple[bool, str]:
    """Exactly the base's layers with weights from `params['layer']` on, batch normalization excepted, can train."""
    base = pretrained_base(model)
    names = [layer.name for layer in base.layers]
    if params["layer"] not in names:
        return False, f"the saved base has no layer {params['layer']!r}"
    start = names.index(params["layer"])
    expected = [layer.name for layer in base.layers[start:] if layer.weights and not _is_batchnorm(layer)]
    trainable = [layer.name for layer in base.layers if layer.trainable_weights]
    if trainable == expected:
        return True, f"the saved base trains exactly its {len(expected)} layers from {params['layer']!r} on"
    extra = [name for name in trainable if name not in expected]
    missing = [name for name in expected if name not in trainable]
    return False, (f"the saved base trains {len(trainable)} layers, expected {len(expected)} from "
                   f"{params['layer']!r} on without BatchNormalization; extra {extra[:3]}, missing {missing[:3]}")


def batchnorm_frozen(model, params, context) -> tuple[bool, str]:
    base = pretrained_base(model)
    layers = [layer for layer in base.layers if _is_batchnorm(layer)]
    if not layers:
        return False, "the saved base has no BatchNormalization layer"
    trainable = _trainable_batchnorm(base)
    return _verdict([f"{len(trainable)} BatchNormalization layers of the saved base are trainable "
                     f"(e.g. {trainable[:3]})"] if trainable else [],
                    f"all {len(layers)} BatchNormalization layers of the saved base are frozen")


def learning_rate_lowered(model, params, context) -> tuple[bool, str]:
    """The saved optimizer's rate is `lowest`-`highest` times lower than `reference`."""
    if model.optimizer is None:
        return False, "the saved model was not compiled (no optimizer saved)"
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    factor = params["reference"] / rate if rate > 0 else float("inf")
    # The optimizer stores the rate as float32: allow for rounding at both ends.
    ok = params["lowest"] * 0.999 <= factor <= params["highest"] * 1.001
    return ok, (f"the saved optimizer's learning rate {rate:g} is {factor:.1f}x lower than {params['reference']:g}"
                + ("" if ok else f", expected {params['lowest']}x-{params['highest']}x"))


def loss_matches_activation(model, params, context) -> tuple[bool, str]:
    loss = model.loss
    if loss is None:
        return False, "the saved model was not compiled (no loss saved)"
    loss = keras.losses.get(loss) if isinstance(loss, str) else loss
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    name = config.get("name") or getattr(loss, "__name__", str(loss))
    from_logits = bool(config.get("from_logits", False))
    activation = output_layer(model).activation.__name__
    units = model.output_shape[-1]
    problems = []
    family = "binary_crossentropy" if units == 1 else "categorical_crossentropy"
    if params.get("labels") == "sparse":  # integer labels 0..n-1, not one-hot vectors
        family = "sparse_categorical_crossentropy"
    if family not in name:
        problems.append(f"{units} output unit(s) need {family}, the saved loss is {name}")
    if from_logits != (activation == "linear"):
        problems.append(f"activation {activation} with from_logits={from_logits}")
    return _verdict(problems, f"saved loss {name} (from_logits={from_logits}) fits a {activation} output")


@functools.cache
def held_out_images(context: Context, size: int | None = None) -> tuple[tf.Tensor, np.ndarray]:
    """The held-out photos as raw 0-255 floats at `size` (the spec's image size by default), and labels; read
    once per process (07's checks read them three times)."""
    size = size or context.image_size
    images, labels = [], []
    for label, name in enumerate(context.held_out_classes):
        for path in sorted((context.held_out_dir / name).glob("*.jpg")):
            image = tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3)
            images.append(tf.image.resize(tf.cast(image, tf.float32), (size, size)))
            labels.append(label)
    return tf.stack(images), np.array(labels)


def _predicted_classes(scores: np.ndarray, activation: str) -> np.ndarray:
    if scores.shape[-1] == 1:
        return (scores[:, 0] > (0.0 if activation == "linear" else 0.5)).astype(int)
    return scores.argmax(axis=-1)


def held_out_accuracy(model, params, context) -> tuple[bool, str, float, dict]:
    # The model's own input size where it has one: the full profile may train at another size.
    images, labels = held_out_images(context, model.input_shape[1])
    scores = model.predict(images, batch_size=32, verbose=0)
    return _accuracy_verdict(_predicted_classes(scores, output_layer(model).activation.__name__), labels, params)


class WeightsMissing(RuntimeError):
    """The grader's own pretrained base cannot be loaded here: the check is not measured."""


@functools.cache
def reference_features_model(application: str, size: int, weights: str = "",
                             pooling: str | None = "avg") -> keras.Model:
    """The grader's own frozen `application` with ImageNet weights, from raw photos to pooled features (its
    last feature map with `pooling=None`). `weights` names the file in data/assets.toml: looked for first, so
    a missing file costs no model build."""
    from grader.assets.catalog import find

    module = {"InceptionV3": keras.applications.inception_v3, "MobileNetV2": keras.applications.mobilenet_v2}
    try:
        if weights:
            asset = find("weights", weights)
            keras.utils.get_file(asset.fields["file"], asset.fields["url"], cache_subdir="models",
                                 file_hash=asset.fields.get("md5"))
        base = getattr(keras.applications, application)(input_shape=(size, size, 3), include_top=False,
                                                        weights="imagenet", pooling=pooling)
    except Exception as error:  # offline, with no cached copy of the official file
        raise WeightsMissing(f"{application} ImageNet weights could not be loaded here "
                             f"({type(error).__name__}: {str(error)[:160]})") from error
    inputs = keras.Input((size, size, 3))
    return keras.Model(inputs, base(module[application].preprocess_input(inputs)))


def held_out_head_accuracy(head, params, context) -> tuple[bool, str, float, dict]:
    """A head saved on its own (the check's `file`), put by the grader on its own copy of the pretrained
    base and measured on the held-out photos: the student's kernel computes none of it."""
    size = params.get("size", context.image_size)
    features = reference_features_model(params["application"], size, params.get("weights", ""))
    images, labels = held_out_images(context, size)
    scores = head.predict(features.predict(images, batch_size=32, verbose=0), batch_size=32, verbose=0)
    return _accuracy_verdict(_predicted_classes(scores, output_layer(head).activation.__name__), labels, params)


def beats_saved_model(model, params, context) -> tuple[bool, str, float]:
    """The model's held-out accuracy exceeds that of another model the notebook saved (`other`) by at
    least `min_gain`: both measured here, on the same photos. The other model must itself reach
    `other_at_least`: a comparison won against a model left untrained or spoiled on purpose earns nothing."""
    from grader.checks.saved_models import load_saved_model

    other, problem = load_saved_model(context.model_dir / Path(params["other"]).name)
    if other is None:
        return False, problem, 0.0
    accuracy = {}
    for name, candidate in (("this", model), ("other", other)):
        images, labels = held_out_images(context, candidate.input_shape[1])
        scores = candidate.predict(images, batch_size=32, verbose=0)
        accuracy[name] = float((_predicted_classes(scores, output_layer(candidate).activation.__name__)
                                == labels).mean())
    gain = accuracy["this"] - accuracy["other"]
    problems = []
    if gain < params["min_gain"]:
        problems.append(f"expected a gain of at least {params['min_gain']}")
    if accuracy["other"] < params["other_at_least"]:
        problems.append(f"the {params['against']} model is below {params['other_at_least']}: was it trained?")
    return not problems, (f"on the grader's {len(labels)} held-out photos: {params['this']} {accuracy['this']:.3f}, "
                          f"{params['against']} {accuracy['other']:.3f}, a gain of {gain:+.3f}"
                          + "".join(f"; {problem}" for problem in problems)), gain


MAX_TFLITE_BYTES = 64 * 2**20  # 07's MobileNetV2 exports to about 9 MB


def tflite_matches(model, params, context) -> tuple[bool, str, float]:
    """The TFLite file the notebook exported (`tflite`) gives the saved model's probabilities on held-out
    photos, within `tolerance`: run here by TensorFlow Lite's interpreter, in the grader's box."""
    import stat

    path = context.model_dir / Path(params["tflite"]).name
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False, f"no exported {path.name!r}: the notebook must export it (see its 'Export' section)", 1.0
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TFLITE_BYTES:
        return False, f"{path.name!r} is not a plain file of at most {MAX_TFLITE_BYTES // 2**20} MB", 1.0
    images, _ = held_out_images(context, model.input_shape[1])
    images = images[: params.get("photos", 32)]
    interpreter = tf.lite.Interpreter(model_path=str(path))
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], images.numpy().astype(source["dtype"]))
    interpreter.invoke()
    exported = interpreter.get_tensor(target["index"])
    expected = model.predict(images, batch_size=32, verbose=0)
    if exported.shape != expected.shape:
        return False, f"{path.name!r} answers with shape {exported.shape}, the saved model {expected.shape}", 1.0
    difference = float(np.abs(exported - expected).max())
    ok = difference <= params["tolerance"]
    return ok, (f"{path.name!r} on {len(images)} of the grader's held-out photos: largest difference from the "
                f"saved model's probabilities {difference:.1e}" + ("" if ok else f", more than {params['tolerance']}")
                ), difference


def _accuracy_verdict(predicted: np.ndarray, labels: np.ndarray, params: dict) -> tuple[bool, str, float, dict]:
    accuracy = float((predicted == labels).mean())
    threshold = params["threshold"]
    verdict = "reaches" if accuracy >= threshold else "is below"
    message = (f"accuracy {accuracy:.3f} on the grader's {len(labels)} held-out photos (its own copy) "
               f"{verdict} the threshold {threshold}")
    # The mistakes themselves, for the similarity report (grader/review/model_similarity.py).
    wrong = {str(i): int(predicted[i]) for i in np.flatnonzero(predicted != labels)}
    return accuracy >= threshold, message, accuracy, {"photos": len(labels), "wrong": wrong}


def run_check(check: Callable, model: keras.Model, params: dict, context: Context) -> tuple:
    """A model check of this module, after the preconditions any check may ask for in data/grading.toml.

    `fine_tuned = true`: the saved base must have trainable layers. An exercise left untouched saves
    the frozen phase-1 model, which would otherwise pass "BN frozen", "frozen layers unchanged" and
    accuracy without any fine-tuning.
    """
    if params.get("fine_tuned") and not pretrained_base(model).trainable_weights:
        return False, "no layer of the saved base can train: the model was not fine-tuned"
    return check(model, params, context)

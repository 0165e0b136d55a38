"""Checks on heads a notebook saved on their own (03's), measured by the grader on features of its own.

03 trains one head per dropout rate on cached MobileNetV2 features and compares them. Its results
(the train/validation gap, the validation loss, the accuracy) live in the student's kernel, which can
lie. So the notebook saves the two heads it compares, and the grader measures them itself, in its
fresh process: it runs its own frozen MobileNetV2 over the notebook's training photos (from the
dataset, as the notebook loads them) and over held-out photos the notebook never loads, and puts each
head on those features. Nothing of the student's computes these numbers; the heads' weights are what
the student trained.

Each check is `(measured, params) -> (passed, message, metric)`, where `measured` maps each head's
role ("no_dropout", "dropout") to its `HeadMeasurement`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from grader.checks.model_checks import Context, held_out_images, output_layer, reference_features_model
from grader.checks.saved_models import load_saved_model


@dataclass(frozen=True)
class HeadMeasurement:
    train_accuracy: float  # on the notebook's own training photos, in inference mode (dropout off)
    held_out_accuracy: float
    held_out_loss: float  # mean cross-entropy of the head's probabilities
    held_out_count: int

    @property
    def gap(self) -> float:
        return self.train_accuracy - self.held_out_accuracy


class HeadsUnusable(ValueError):
    """A saved head is missing, unloadable or of the wrong shape: every head check fails with this reason."""


@functools.cache
def training_photos(dataset: str, split: str, take: int, size: int) -> tuple[tf.Tensor, np.ndarray]:
    """The notebook's training photos, loaded the way it loads them (TFDS, in the dataset's order), resized
    to `size` as raw 0-255 floats."""
    import tensorflow_datasets as tfds

    images, labels = [], []
    for image, label in tfds.load(dataset, split=split, as_supervised=True).take(take):
        images.append(tf.image.resize(tf.cast(image, tf.float32), (size, size)))
        labels.append(int(label))
    return tf.stack(images), np.array(labels)


@functools.cache
def _features(application: str, size: int, photos: str, context: Context, training: tuple) -> tuple:
    extractor = reference_features_model(application, size, pooling=None)
    images, labels = training_photos(*training, size) if photos == "training" else held_out_images(context, size)
    return extractor.predict(images, batch_size=32, verbose=0), labels


def measure_heads(heads: dict[str, str], model_dir: Path, context: Context, params: dict) -> dict[str, HeadMeasurement]:
    """Each saved head (role -> file name in `model_dir`) on the grader's own features: its accuracy on the
    notebook's training photos, and its accuracy and loss on the held-out photos."""
    training = (params["training"]["dataset"], params["training"]["split"], int(params["training"]["take"]))
    measured = {}
    for role, name in heads.items():
        head = _load_head(model_dir / Path(name).name)
        features = {}
        for photos in ("training", "held_out"):
            features[photos] = _features(params["application"], context.image_size, photos, context, training)
        if tuple(head.input_shape[1:]) != features["training"][0].shape[1:]:
            raise HeadsUnusable(f"the saved head {name!r} takes inputs {tuple(head.input_shape[1:])}, not the "
                                f"base's features {features['training'][0].shape[1:]}")
        if tuple(head.output_shape) != (None, len(context.held_out_classes)):
            raise HeadsUnusable(f"the saved head {name!r} outputs {tuple(head.output_shape)}, expected "
                                f"(None, {len(context.held_out_classes)})")
        if getattr(getattr(output_layer(head), "activation", None), "__name__", "") != "softmax":
            raise HeadsUnusable(f"the saved head {name!r} does not end in a softmax")
        train_x, train_y = features["training"]
        held_x, held_y = features["held_out"]
        train_p = head.predict(train_x, batch_size=64, verbose=0)
        held_p = head.predict(held_x, batch_size=64, verbose=0)
        loss = keras.losses.sparse_categorical_crossentropy(held_y, held_p)
        measured[role] = HeadMeasurement(float((train_p.argmax(-1) == train_y).mean()),
                                         float((held_p.argmax(-1) == held_y).mean()),
                                         float(np.mean(keras.ops.convert_to_numpy(loss))), len(held_y))
    return measured


@functools.cache
def _load_head(path: Path) -> keras.Model:
    head, problem = load_saved_model(path)
    if head is None:
        raise HeadsUnusable(problem)
    return head


def _describe(role: str, m: HeadMeasurement) -> str:
    return (f"{role.replace('_', ' ')}: train {m.train_accuracy:.3f}, held-out {m.held_out_accuracy:.3f}, "
            f"gap {m.gap:+.3f}, held-out loss {m.held_out_loss:.3f}")


def heads_trained(measured: dict[str, HeadMeasurement], params: dict) -> tuple[bool, str, float]:
    """Every saved head learned its training photos (accuracy at least `train_accuracy`)."""
    lowest = min(m.train_accuracy for m in measured.values())
    ok = lowest >= params["train_accuracy"]
    detail = "; ".join(f"{role.replace('_', ' ')} {m.train_accuracy:.3f}" for role, m in measured.items())
    return ok, (f"the saved heads on the notebook's training photos, measured by the grader: {detail}"
                + ("" if ok else f"; expected at least {params['train_accuracy']} (were they trained?)")), lowest


def head_overfits(measured: dict[str, HeadMeasurement], params: dict) -> tuple[bool, str, float]:
    """The no-dropout head memorises its photos and shows a gap of at least `min_gap` on held-out photos."""
    m = measured["no_dropout"]
    problems = []
    if m.train_accuracy < params["train_accuracy"]:
        problems.append(f"training accuracy {m.train_accuracy:.3f} < {params['train_accuracy']}")
    if m.gap < params["min_gap"]:
        problems.append(f"gap {m.gap:.3f} < {params['min_gap']}")
    return not problems, f"{_describe('no dropout', m)} ({m.held_out_count} held-out photos)" + (
        "; " + ", ".join(problems) if problems else f"; the gap reaches {params['min_gap']}"), m.gap


def gap_not_wider(measured: dict[str, HeadMeasurement], params: dict) -> tuple[bool, str, float]:
    """The dropout head's gap is at most the no-dropout head's plus `tolerance`."""
    before, after = measured["no_dropout"], measured["dropout"]
    reduction = before.gap - after.gap
    ok = reduction >= -params["tolerance"]
    return ok, (f"gap on the grader's {after.held_out_count} held-out photos: no dropout {before.gap:+.3f}, "
                f"dropout {after.gap:+.3f} ({_change(reduction)}"
                + (")" if ok else f", more than the tolerance {params['tolerance']})")), reduction


def _change(reduction: float) -> str:
    if abs(reduction) < 5e-4:
        return "the same"
    return f"{'narrower' if reduction > 0 else 'wider'} by {abs(reduction):.3f}"


def loss_lowered(measured: dict[str, HeadMeasurement], params: dict) -> tuple[bool, str, float]:
    """The dropout head's held-out loss is lower than the no-dropout head's by at least `min_reduction`."""
    before, after = measured["no_dropout"], measured["dropout"]
    reduction = before.held_out_loss - after.held_out_loss
    ok = reduction >= params["min_reduction"]
    return ok, (f"loss on the grader's {after.held_out_count} held-out photos: no dropout {before.held_out_loss:.3f}, "
                f"dropout {after.held_out_loss:.3f}, lower by {reduction:.3f}"
                + ("" if ok else f", expected at least {params['min_reduction']}")), reduction


def heads_accuracy(measured: dict[str, HeadMeasurement], params: dict) -> tuple[bool, str, float]:
    """The dropout head reaches `min_accuracy` on the held-out photos, and no head is below `every_head`."""
    best = measured["dropout"].held_out_accuracy
    lowest = min(m.held_out_accuracy for m in measured.values())
    problems = []
    if best < params["min_accuracy"]:
        problems.append(f"the dropout head is below the threshold {params['min_accuracy']}")
    if lowest < params["every_head"]:
        problems.append(f"a head is below {params['every_head']}")
    detail = "; ".join(f"{role.replace('_', ' ')} {m.held_out_accuracy:.3f}" for role, m in measured.items())
    return not problems, (f"accuracy on the grader's {measured['dropout'].held_out_count} held-out photos (its own "
                          f"copy): {detail}" + ("; " + ", ".join(problems) if problems else
                                                 f"; the dropout head reaches {params['min_accuracy']}")), best

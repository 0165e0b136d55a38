# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Assignment: horses or humans
#
# This notebook follows the well-known course assignment that cuts a pretrained InceptionV3 at its
# `mixed7` layer; here the base is **MobileNetV2**, and where to cut it is your decision. Cutting below
# the top drops the most ImageNet-specific layers and keeps the ones that describe shapes and textures;
# the smaller network trains fast on a laptop.
#
# You will:
# 1. load `horses_or_humans` with TFDS (a train and a test split),
# 2. choose where to cut a pretrained base, cut it there and freeze every one of its layers,
# 3. design a head with one sigmoid unit, after augmentation layers,
# 4. write a callback that stops training once a target accuracy is reached,
# 5. train, plot, and explain your choices with your own curves; save.
#
# Run the visible tests as you go; more tests run when your notebook is graded.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, your notebook is run from the top in a fresh kernel without internet, and hidden tests are added to its test cells. A test earns its points when its test cell passes and the grader's own check, run outside your notebook on the files it saved or the code you wrote, confirms its line below: that way a result counts only if it is real. The lines below are the grader's checks. Your notebook's own test cells are described in the text above each of them: where they measure accuracy, it is on your validation photos, and their thresholds can differ from the grader's; where a line below names held-back photos, the grader measures your saved files on those photos. A test needs both to pass.
#
# - `test_cut_layer` (2 points): the base in your saved model is MobileNetV2 cut at the layer your `CUT_LAYER` names (set as a name in quotes), with that layer's output, and every frozen layer it keeps still holds the published ImageNet weights.
# - `test_base_frozen` (2 points): no layer of the pretrained base in your saved model can train.
# - `test_head` (2 points): your saved model ends in a sigmoid output of shape (None, 1).
# - `test_callback` (2 points): your `StopAtAccuracy` stops training exactly when the accuracy reaches its target, and not before.
# - `test_validation_accuracy` (2 points): your saved model reaches 0.80 accuracy on the grader's own copy of the test split (the photos your notebook validates on).
#
# Code that tampers with the tests (such as replacing a function they call) is flagged for your instructor to review, and the tests' points then rest on the grader's own checks alone; ordinary code, such as any import, `%%time` or `!pip`, is never flagged.
#
# Your feedback page shows your cells' outputs only up to the first test cell with hidden tests; run the notebook yourself to see the rest. A line such as `METRIC val_accuracy=0.9500` in a test's output is a number that test measured, written so that a program can read it.

# %% [markdown]
# ## Setup
#
# A fixed seed makes your run and the grading run of your notebook shuffle and initialise alike.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

SEED = int(os.environ.get("COURSE_SEED", "42"))
keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| seed", SEED)

# %% [markdown]
# As in the other notebooks, the `cpu` profile is sized for a laptop and the `full` profile for a
# Colab GPU (`COURSE_PROFILE` overrides the choice made from the hardware). They differ in how long
# training may run and in the training accuracy at which your callback (section 4) stops it.

# %%
PROFILES = {
    "cpu": {"image_size": 160, "batch_size": 32, "max_epochs": 8, "target_accuracy": 0.97},
    "full": {"image_size": 160, "batch_size": 32, "max_epochs": 20, "target_accuracy": 0.999},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
IMG_SIZE = CONFIG["image_size"]
IMG_SHAPE = (IMG_SIZE, IMG_SIZE, 3)
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. Data
#
# The dataset comes with its own `train` and `test` splits; the test photos are only used to validate.
# Validating on the test split is acceptable here as long as no decision is tuned on it: make your
# choices of cut and head from the reasons given below and from your training curves, and the callback
# watches the *training* accuracy. If you tried many settings and kept the one with the best test
# accuracy, the test split would no longer tell you how the model does on new photos; you would need a
# separate validation split for that. Every photo is 300x300; we resize to `IMG_SIZE`
# and keep pixel values 0-255, because the model does its own preprocessing.

# %%
(raw_train, raw_test), info = tfds.load(
    "horses_or_humans", split=["train", "test"], as_supervised=True, with_info=True
)
label_names = info.features["label"].names
print("classes:", label_names, "| train:", info.splits["train"].num_examples, "| test:", info.splits["test"].num_examples)


def batches(dataset, shuffle):
    resize = lambda image, label: (tf.image.resize(tf.cast(image, tf.float32), (IMG_SIZE, IMG_SIZE)), label)  # noqa: E731
    dataset = dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        dataset = dataset.shuffle(1024, seed=SEED)
    return dataset.batch(CONFIG["batch_size"]).prefetch(tf.data.AUTOTUNE)


train_batches = batches(raw_train, shuffle=True)
test_batches = batches(raw_test, shuffle=False)

# %% [markdown]
# A few training photos: computer-generated horses and humans in many poses.

# %%
images, labels = next(iter(train_batches))
plt.figure(figsize=(12, 3))
for i in range(6):
    plt.subplot(1, 6, i + 1)
    plt.imshow(images[i].numpy().astype("uint8"))
    plt.title(label_names[int(labels[i])])
    plt.axis("off")
plt.show()

# %% [markdown]
# ## 2. Choose where to cut the pretrained base
#
# MobileNetV2's early blocks respond to edges, colours and textures that any photo has; its last blocks
# combine them into the parts of the things ImageNet names. A lower cut keeps more general features on a
# larger map (more numbers per photo for your head to learn from); a higher cut keeps features closer to
# ImageNet's categories on a smaller map. Horses and humans are not ImageNet classes, but legs, faces,
# manes and clothes are the kind of parts the upper blocks describe.
#
# The base, with ImageNet weights and no top, and a few places to cut it: how many of its layers each
# keeps, its output at `IMG_SIZE` and its weights.

# %%
pretrained = keras.applications.MobileNetV2(input_shape=IMG_SHAPE, include_top=False, weights="imagenet")
layer_names = [layer.name for layer in pretrained.layers]
print(f"{'cut at':22s} {'layers kept':>13s}  {'output':16s} {'weights':>9s}")
for name in ("block_6_expand_relu", "block_13_expand_relu", "block_15_add", "block_16_project_BN", "out_relu"):
    kept = keras.Model(pretrained.input, pretrained.get_layer(name).output)
    print(f"{name:22s} {layer_names.index(name) + 1:>6d} of {len(layer_names)}  "
          f"{str(kept.output_shape[1:]):16s} {kept.count_params():>9,}")

# %% [markdown]
# **Your task:** decide where to cut. Set `CUT_LAYER` to the name of that layer, in quotes (one of the
# table, or any other layer of `pretrained`: `pretrained.summary()` lists them all). Then build
# `feature_extractor`, a model from the base's input to that layer's output, and freeze **every** one
# of its layers. You will explain your choice with your own curves in section 5.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "691e0e860e5a439291a36476be2ea32e", "grade": false, "grade_id": "cut_base", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()
print("cut at", feature_extractor.layers[-1].name, "->", feature_extractor.output_shape)

# %% [markdown]
# The cut must end at the layer `CUT_LAYER` names, with that layer's output.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "d2f80feeca57a2b8eae7a0a9b8ab5936", "grade": true, "grade_id": "test_cut_layer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert CUT_LAYER in layer_names, f"{CUT_LAYER!r} is not a layer of MobileNetV2"
assert feature_extractor.layers[-1].name == CUT_LAYER, f"the base must end at {CUT_LAYER}"
_expected = pretrained.get_layer(CUT_LAYER).output.shape
assert tuple(feature_extractor.output_shape) == tuple(_expected), f"{feature_extractor.output_shape}, expected {_expected}"
print("cut layer: OK")

# %% [markdown]
# No layer of the base may train.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "84bf6236a2e7edbe5ee903570ca48772", "grade": true, "grade_id": "test_base_frozen", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_still_trainable = [layer.name for layer in feature_extractor.layers if layer.trainable and layer.weights]
assert not _still_trainable, f"these base layers can still train: {_still_trainable[:5]}"
assert not feature_extractor.trainable_weights
print("base frozen: OK")

# %% [markdown]
# ## 3. Augmentation and your head
#
# Random flips, rotations and zooms show the model a slightly different photo in every epoch, which
# is the classic cure for a small training set. These layers act only while training.
#
# **Your task:** build `model`: raw photos -> `augment` -> MobileNetV2's `preprocess_input` ->
# `feature_extractor` -> your head -> one sigmoid unit (`Dense(1, activation="sigmoid")`). The head is
# yours to design. `GlobalAveragePooling2D` (one number per channel) or `Flatten` (every position of the
# map) turns the feature map into a vector; a hidden `Dense` layer adds capacity; `Dropout` works against
# overfitting on 1,027 training photos. A lower cut gives a larger map: count what `Flatten` would make of
# it. Compile with Adam, binary cross-entropy and `"accuracy"`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "7c3e9dc61ccfe055db1b5f3a5122b7a8", "grade": false, "grade_id": "head", "locked": false, "schema_version": 3, "solution": true, "task": false}
augment = keras.Sequential(
    [keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1), keras.layers.RandomZoom(0.1)],
    name="augment",
)
# YOUR CODE HERE
raise NotImplementedError()
model.summary()

# %% [markdown]
# One sigmoid unit, trained with binary cross-entropy:

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "39a04e9187e62422482810fbc55c129d", "grade": true, "grade_id": "test_head", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert model.output_shape == (None, 1), f"expected (None, 1), got {model.output_shape}"
assert model.layers[-1].activation.__name__ == "sigmoid", "the last layer needs a sigmoid"
# The loss may be a string, a loss object (`.name`) or a plain function such as
# `keras.losses.binary_crossentropy` (`.__name__`).
_loss = model.loss if isinstance(model.loss, str) else getattr(model.loss, "name", getattr(model.loss, "__name__", ""))
assert "binary_crossentropy" in _loss, f"use binary cross-entropy, got {model.loss}"
print("head: OK")

# %% [markdown]
# ## 4. Stop at a target accuracy
#
# Training longer than needed wastes time. A Keras callback sees the metrics at the end of each
# epoch and can stop training.
#
# **Your task:** complete `StopAtAccuracy`: at the end of an epoch, if the training `accuracy`
# in `logs` is at or above `self.target`, print a message and set `self.model.stop_training = True`.
#
# Keep its limits in mind. The training accuracy in `logs` is measured with augmentation and dropout
# on, averaged over the epoch, so it usually runs below what the finished model does; a target as
# high as the `full` profile's 0.999 may never be reached, and training then runs all `max_epochs`.
# 07 uses `EarlyStopping`, which watches the validation loss instead.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "b818689452a9d1dfbb743ac660722bd2", "grade": false, "grade_id": "callback", "locked": false, "schema_version": 3, "solution": true, "task": false}
class StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        # YOUR CODE HERE
        raise NotImplementedError()

# %% [markdown]
# ## 5. Train
#
# At most `max_epochs`; the callback usually stops earlier. What to expect: with the `cpu` profile, on
# the course's offline copies of the photos and weights (the machines that test this course have no
# internet; their MobileNetV2 weights are an 8-bit approximation of the official ones), over seeds 1-5,
# three designs scored on the 256 test photos:
#
# | cut at | head | epochs to 0.97 | test accuracy |
# |---|---|---|---|
# | `block_15_add` (5x5x160) | pooling, `Dense(128)`, `Dropout(0.2)` | 2 | 0.95-0.98 |
# | `out_relu` (5x5x1280, the whole base) | pooling, `Dropout(0.3)` | 2-3 | 0.99-1.00 |
# | `block_13_expand_relu` (10x10x576) | pooling, `Dense(64)` | 3-5 | 0.82-0.88 |
#
# The lower cut reaches the training target later and then does worst on new photos: its features are
# more general, so its head has more to learn from 1,027 photos, and it learns some of them by heart
# (stopped after one epoch, before it has, it scored above 0.90 at seed 42). The `full` profile's 0.999 target on Colab,
# with the official weights, has not been measured.

# %% tags=["training"]
history = model.fit(
    train_batches,
    validation_data=test_batches,
    epochs=CONFIG["max_epochs"],
    callbacks=[StopAtAccuracy(CONFIG["target_accuracy"])],
)

# %% [markdown]
# Training and validation curves side by side; the dashed line is the target.

# %%
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
epochs_axis = np.arange(1, len(history.history["loss"]) + 1)
ax_acc.plot(epochs_axis, history.history["accuracy"], "-o", label="training")
ax_acc.plot(epochs_axis, history.history["val_accuracy"], "--o", label="validation (test split)")
ax_acc.axhline(CONFIG["target_accuracy"], color="gray", linestyle=":", label="target")
ax_loss.plot(epochs_axis, history.history["loss"], "-o", label="training")
ax_loss.plot(epochs_axis, history.history["val_loss"], "--o", label="validation")
ax_acc.set(title="Accuracy", xlabel="epoch")
ax_loss.set(title="Loss", xlabel="epoch")
ax_acc.legend()
ax_loss.legend()
plt.show()

# %% [markdown]
# **Your choices, in two or three sentences** (in the cell below). Where did you cut, and why there? What
# is in your head, and why? What do your curves show: how many epochs to the target, and do training and
# validation accuracy stay close? Your instructor reads this answer; no automatic test grades it.

# %% [markdown]
# *Your answer here.*

# %% [markdown]
# ## 6. Save
#
# Grading measures `horses_or_humans.keras` outside your notebook; it takes raw 0-255 photos of
# `IMG_SIZE` pixels.

# %%
model.save("horses_or_humans.keras")
print("saved horses_or_humans.keras")

# %% [markdown]
# ## 7. Grading checks
#
# These tests are hidden: their checks are added when your notebook is graded. First: the callback
# stops at the target and not before.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "cb5ce26fc330faf394e55a94e1f45108", "grade": true, "grade_id": "test_callback", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: StopAtAccuracy stops exactly when the target is reached.

# %% [markdown]
# Last: the saved model reaches 0.80 accuracy on the test split (the grader measures your saved file
# again on its own copy of the same photos).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "a33db367e8bb6eca891b5e9ea6a15c46", "grade": true, "grade_id": "test_validation_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the saved model reaches the validation threshold on the test split.

# %% [markdown]
# ## Check and hand in
#
# Run the cell below last, after every other cell. It makes the checks the grader makes when it collects your notebook (the right assignment, the test cells as released, no code that can change how a test is reported), lists your tests' results from this run, and saves a copy to hand in (on Colab it downloads it). Fix anything it marks FIX before you hand in.

# %% tags=["skip-execution"]
import subprocess
import sys

if "google.colab" in sys.modules:  # the grader's own checks, from the course's repository
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "git+https://github.com/transfer-learning-course/transfer-learning-course.git"])
from grader.student.handin import check_and_hand_in

check_and_hand_in(
    "05_horses_or_humans",
    release_url="https://raw.githubusercontent.com/transfer-learning-course/transfer-learning-course/main/notebooks/05_horses_or_humans.ipynb",
    tested={
        'read': ['all', 'getattr', 'int', 'isinstance', 'keras', 'len', 'print', 'str', 'tuple'],
        'attributes': ['Dense', 'Input', 'Sequential', '__name__', 'activation', 'astype', 'get_layer', 'history', 'layers', 'load_model', 'loss', 'models', 'name', 'numpy', 'on_epoch_end', 'output', 'output_shape', 'predict', 'set_model', 'shape', 'stop_training', 'sum', 'trainable', 'trainable_weights', 'weights'],
        'called': ['Dense', 'Input', 'Sequential', 'astype', 'get_layer', 'load_model', 'numpy', 'on_epoch_end', 'predict', 'set_model', 'sum'],
        'bound': [],
    },
)


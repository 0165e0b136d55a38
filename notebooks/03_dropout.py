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
# # 03 · Dropout: seeing overfitting and curing it
#
# A model *overfits* when it learns its training examples by heart instead of what they have in
# common: training accuracy keeps climbing while validation accuracy stalls, and the validation
# loss even rises. Small datasets and large models make it worse. **Dropout** is the classic
# remedy: while training, it switches off a random fraction of a layer's units at every
# step, so the next layer cannot rely on any single one of them.
#
# You will:
# 1. load the `tf_flowers` dataset (5 kinds of flowers) with TFDS and keep only a *small*
#    training subset, so that overfitting shows up quickly,
# 2. run a frozen MobileNetV2 over the photos **once** and keep the features (*feature caching*),
# 3. build the same head with the Keras functional API for several dropout rates,
# 4. train it with and without dropout, and compare training and validation curves,
# 5. measure the train/validation gap for each rate, and see what dropout does and does not fix.
#
# Cells marked with a grade (tests) check your work; run them as you go.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, the grader runs your notebook from the top in a fresh kernel, in a sandbox with no network, and adds hidden tests to the test cells. A test cell earns its points if it runs without error. Code that changes how the notebook reports errors (patched built-ins, exception hooks, rewritten asserts) earns no points. Your feedback page shows each test's points and the grader's message.
#
# - `test_features` (2 points): the test cell passes; and the grader runs your `extract_features` in a fresh process on made-up photos in batches, through a stand-in extractor, and checks every row of features and every label, in the dataset's order. The test earns its points only if both pass.
# - `test_build_model` (3 points): the test cell passes; and the grader calls your `build_model` in a fresh process for rate 0 and two other rates and checks each model: Dense(256, relu), then Dropout at that rate (none at 0), then a softmax over 5 classes. The test earns its points only if both pass.
# - `test_histories` (2 points): the test cell passes.
# - `test_overfitting_without_dropout` (1 point): the test cell passes.
# - `test_dropout_effect` (2 points): the test cell passes.
# - `test_validation_accuracy` (2 points): the test cell passes.

# %% [markdown]
# ## Setup
#
# Imports first, then one seed for Python, NumPy and TensorFlow so that every run (and every
# grading run) initialises, shuffles and drops out the same way. `COURSE_SEED` lets you try others.

# %%
import os
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

SEED = int(os.environ.get("COURSE_SEED", "42"))
keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| TFDS", tfds.__version__, "| seed", SEED)

# %% [markdown]
# The same notebook runs on a laptop CPU and on a Colab GPU. A *profile* sets how much data and
# how many epochs to use: `cpu` is short enough for a laptop or CI, `full` is the complete lesson
# on a GPU. It is picked from the hardware; set `COURSE_PROFILE=cpu` or `full` to override. Both
# keep the training set deliberately small: we *want* to see overfitting.

# %%
PROFILES = {
    # max_* cap the number of images per split (None: use them all).
    "cpu": {"image_size": 160, "batch_size": 32, "epochs": 40, "max_train": 200, "max_validation": 450},
    "full": {"image_size": 160, "batch_size": 32, "epochs": 60, "max_train": 300, "max_validation": None},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
IMG_SIZE = CONFIG["image_size"]
IMG_SHAPE = (IMG_SIZE, IMG_SIZE, 3)
RATES = [0.0, 0.2, 0.5, 0.7]  # the dropout rates to compare; 0.0 means "no dropout"
HIDDEN_UNITS = 256
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. Load the data with TFDS
#
# `tf_flowers` has a single `train` split, so we slice it: the first 70% for training, the rest
# for validation. The class names come with the dataset's `info`.

# %%
(raw_train, raw_validation), info = tfds.load(
    "tf_flowers",
    split=["train[:70%]", "train[70%:]"],
    as_supervised=True,
    with_info=True,
)
class_names = info.features["label"].names
NUM_CLASSES = len(class_names)
print("classes:", class_names)
print("examples in the dataset:", info.splits["train"].num_examples)

# %% [markdown]
# A quick look at the photos: five classes, many framings, some hard to tell apart (roses and tulips).

# %%
plt.figure(figsize=(10, 4))
for i, (image, label) in enumerate(raw_train.take(8)):
    plt.subplot(2, 4, i + 1)
    plt.imshow(image)
    plt.title(class_names[int(label)])
    plt.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. A small training subset
#
# Only `max_train` photos go into training: with a few dozen photos per class, a wide head can
# memorise them all. Every photo is resized to `IMG_SIZE` x `IMG_SIZE`, pixels stay in 0-255, and
# there is **no shuffling and no augmentation**: each photo looks the same every time it is read.

# %%
AUTOTUNE = tf.data.AUTOTUNE


def resize(image, label):
    return tf.image.resize(tf.cast(image, tf.float32), (IMG_SIZE, IMG_SIZE)), label


def make_batches(dataset, limit):
    if limit is not None:
        dataset = dataset.take(limit)
    return dataset.map(resize, num_parallel_calls=AUTOTUNE).batch(CONFIG["batch_size"]).prefetch(AUTOTUNE)


train_batches = make_batches(raw_train, CONFIG["max_train"])
validation_batches = make_batches(raw_validation, CONFIG["max_validation"])
image_batch, label_batch = next(iter(train_batches))
print("one batch:", image_batch.shape, label_batch.shape)

# %% [markdown]
# ## 3. Feature caching: run the frozen base once
#
# The pretrained MobileNetV2 stays **frozen**: its weights never change. `pooling="avg"` ends it
# with global average pooling, so each photo becomes one vector of 1280 numbers. The extractor
# starts with MobileNetV2's own `preprocess_input` (0-255 to [-1, 1]).

# %%
base_model = keras.applications.MobileNetV2(
    input_shape=IMG_SHAPE, include_top=False, weights="imagenet", pooling="avg"
)
base_model.trainable = False

inputs = keras.Input(shape=IMG_SHAPE)
x = keras.applications.mobilenet_v2.preprocess_input(inputs)
outputs = base_model(x, training=False)
feature_extractor = keras.Model(inputs, outputs, name="feature_extractor")
FEATURE_DIM = feature_extractor.output_shape[-1]
print("one photo ->", FEATURE_DIM, "features")

# %% [markdown]
# **Feature caching** (also called *feature extraction once*): since the base is frozen, it turns
# a given photo into the same 1280 numbers in every epoch. And since there is no augmentation, the
# photo itself is the same every epoch too. So we can compute the features **once**, keep them in a
# NumPy array, and train the head on that array. Almost all of the computation sits in the base
# (about 150 million multiply-adds per photo at 160 px, against about 0.3 million for the head), so each
# later epoch costs next to nothing: dozens of epochs and several models train in seconds on a CPU.
#
# The trick stops being valid as soon as the base is fine-tuned (its features then change while
# training) or the photos are augmented (each epoch sees different pixels).
#
# **Your task:** write `extract_features(batches)`: run `feature_extractor` over every batch of
# `(images, labels)` and return two NumPy arrays, the features `(N, 1280)` and the labels `(N,)`,
# in the same order as the dataset.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "10b21bc87ff7caa64ea8f15721d534df", "grade": false, "grade_id": "extract_features", "locked": false, "schema_version": 3, "solution": true, "task": false}
def extract_features(batches):
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# This is the one slow step of the notebook: every photo goes through MobileNetV2 exactly once.

# %% tags=["training"]
start = time.perf_counter()
train_features, train_labels = extract_features(train_batches)
validation_features, validation_labels = extract_features(validation_batches)
print(f"features: train {train_features.shape}, validation {validation_features.shape} "
      f"in {time.perf_counter() - start:.1f} s")
counts = np.bincount(train_labels, minlength=NUM_CLASSES)
print("training photos per class:", dict(zip(class_names, counts.tolist(), strict=True)))

# %% [markdown]
# One row of features per photo, and one label per row.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "0fb2fefc0d9503845bd8b202dca6e22c", "grade": true, "grade_id": "test_features", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert train_features.ndim == 2 and train_features.shape[1] == FEATURE_DIM, f"got {train_features.shape}"
assert train_features.shape[0] == train_labels.shape[0], "one label per row of features"
assert validation_features.shape == (validation_labels.shape[0], FEATURE_DIM), f"got {validation_features.shape}"
print("feature shapes: OK")


# %% [markdown]
# ## 4. The head, with the functional API
#
# The head reads a 1280-feature vector, goes through a wide hidden `Dense` layer (wide on
# purpose: 256 units for a couple of hundred photos overfit easily), and ends with a 5-way softmax.
# Dropout goes **between the hidden layer and the output**: it hides a random `rate` fraction of
# the hidden units at each training step. At inference Keras turns dropout off (and, during
# training, scales the kept units by `1 / (1 - rate)` so both modes see the same average).
#
# The functional API writes the model as a chain of calls, `x = layer(x)`, which makes it easy to
# add a layer only when we need it.
#
# **Your task:** write `build_model(rate)` returning a functional `keras.Model`:
# `Input(FEATURE_DIM)` -> `Dense(HIDDEN_UNITS, relu)` -> `Dropout(rate)` -> `Dense(NUM_CLASSES, softmax)`,
# with **no** `Dropout` layer at all when `rate == 0`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "da981d83c711a03ed0c9323e3c5f454b", "grade": false, "grade_id": "build_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_model(rate):
    # YOUR CODE HERE
    raise NotImplementedError()


build_model(0.5).summary()

# %% [markdown]
# The tests check the output and that the Dropout layer is there, with the right rate, only when
# asked for.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "01cae43cd16f538f4c9ed9ee439ad041", "grade": true, "grade_id": "test_build_model", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
for _rate in RATES:
    _model = build_model(_rate)
    assert isinstance(_model, keras.Model), "build_model must return a keras.Model"
    assert _model.output_shape == (None, NUM_CLASSES), f"expected (None, {NUM_CLASSES}), got {_model.output_shape}"
    _dropouts = [layer for layer in _model.layers if isinstance(layer, keras.layers.Dropout)]
    if _rate == 0:
        assert not _dropouts, "no Dropout layer when rate == 0"
    else:
        assert len(_dropouts) == 1, f"expected one Dropout layer for rate {_rate}, got {len(_dropouts)}"
        assert np.isclose(_dropouts[0].rate, _rate), f"Dropout rate {_dropouts[0].rate}, expected {_rate}"
print("build_model: OK")

# %% [markdown]
# ## 5. Train the same head with each dropout rate
#
# A fair comparison changes one thing only. A Dropout layer has no weights, so every head has
# the same list of weights: we draw one set, `initial_weights`, and start every head from it, and
# we reset the seed before each run so that each can be repeated exactly. The labels are
# integers, so the loss is sparse categorical cross-entropy on probabilities. `fit` trains on the
# cached features and reports validation accuracy after every epoch, in its `History`.
#
# **Your task:** for each rate in `RATES`, build the head, give it `initial_weights`, compile it
# and train it for `CONFIG["epochs"]` epochs with `validation_data`. Keep the `History` that `fit`
# returns in `histories[rate]` and the trained model in `models[rate]`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "76d09c829b9f8c42a767b198e83b92c9", "grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true, "task": false} tags=["training"]
keras.utils.set_random_seed(SEED)
initial_weights = build_model(0.0).get_weights()
histories = {}
models = {}
start = time.perf_counter()
for rate in RATES:
    keras.utils.set_random_seed(SEED)
    # YOUR CODE HERE
    raise NotImplementedError()
    print(f"rate {rate:.1f}: train accuracy {histories[rate].history['accuracy'][-1]:.3f}, "
          f"validation accuracy {histories[rate].history['val_accuracy'][-1]:.3f}")
print(f"{len(RATES)} heads x {CONFIG['epochs']} epochs in {time.perf_counter() - start:.1f} s")

# %% [markdown]
# Every rate has a history with training and validation accuracy for each epoch.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "62a24b2711ef04decaa5d9a121f31060", "grade": true, "grade_id": "test_histories", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert sorted(histories) == sorted(RATES), f"histories has rates {sorted(histories)}, expected {RATES}"
for _rate in RATES:
    _h = getattr(histories[_rate], "history", histories[_rate])  # a History or its dict
    assert "accuracy" in _h and "val_accuracy" in _h, f"rate {_rate}: compile with metrics=['accuracy'] and validate"
    assert len(_h["accuracy"]) == len(_h["val_accuracy"]) > 1, f"rate {_rate}: one value per epoch"
print("histories: OK")


# %% [markdown]
# ## 6. Training against validation, side by side
#
# One column per rate; accuracy on top, loss below. Without dropout, training accuracy reaches
# 100% within a few epochs and the training loss heads to zero, while the validation loss bottoms
# out early and then climbs: the head is memorising its photos, and its wrong answers on new
# photos grow ever more confident. With dropout, the training curve climbs more slowly.

# %%
def as_dict(history):
    """The metrics dict of a History (or the dict itself)."""
    return history.history if hasattr(history, "history") else history


fig, axes = plt.subplots(2, len(RATES), figsize=(4 * len(RATES), 7), sharex=True, sharey="row")
for column, rate in enumerate(RATES):
    h = as_dict(histories[rate])
    epochs_axis = range(1, len(h["accuracy"]) + 1)
    for metric, ax in (("accuracy", axes[0, column]), ("loss", axes[1, column])):
        ax.plot(epochs_axis, h[metric], label="training")
        ax.plot(epochs_axis, h["val_" + metric], "--", label="validation")
        ax.grid(alpha=0.3)
    best_epoch = int(np.argmin(h["val_loss"])) + 1
    axes[1, column].axvline(best_epoch, color="gray", linestyle=":", label="lowest validation loss")
    axes[0, column].set_title("no dropout" if rate == 0 else f"dropout {rate}")
    axes[1, column].set_xlabel("epoch")
axes[0, 0].set_ylabel("accuracy")
axes[1, 0].set_ylabel("loss (cross-entropy)")
axes[0, 0].legend()
axes[1, 0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7. The gap, rate by rate
#
# The *generalisation gap* is training accuracy minus validation accuracy. We follow it epoch by
# epoch, and summarise each rate by the mean of its last `LAST` epochs (one epoch alone is noisy).
# We also count how many epochs each head needs to get 99% of its training photos right: a
# measure of how fast it memorises. The best rate is the one with the highest validation accuracy.
#
# One caveat: the training accuracy that `fit` records is measured *with dropout on*, on a
# handicapped network. So we also measure each finished head's training accuracy in inference
# mode (dropout off) with `evaluate`, to see how much of a smaller gap is real.

# %%
LAST = 5


def tail_mean(values):
    return float(np.mean(values[-LAST:]))


def epochs_to_memorise(history, level=0.99):
    """First epoch whose training accuracy reaches `level` (None: never)."""
    reached = np.flatnonzero(np.asarray(as_dict(history)["accuracy"]) >= level)
    return int(reached[0]) + 1 if reached.size else None


gap = {}
val_accuracy = {}
train_accuracy = {}
clean_gap = {}
memorised_at = {}
for rate in RATES:
    h = as_dict(histories[rate])
    train_accuracy[rate] = tail_mean(h["accuracy"])
    val_accuracy[rate] = tail_mean(h["val_accuracy"])
    gap[rate] = train_accuracy[rate] - val_accuracy[rate]
    clean_gap[rate] = models[rate].evaluate(train_features, train_labels, verbose=0)[1] - val_accuracy[rate]
    memorised_at[rate] = epochs_to_memorise(h)
    print(f"rate {rate:.1f}: validation {val_accuracy[rate]:.3f} | gap {gap[rate]:+.3f} "
          f"(dropout off: {clean_gap[rate]:+.3f}) | 99% of training photos right at epoch {memorised_at[rate]}")
best_rate = max(RATES, key=lambda rate: val_accuracy[rate])
print("best rate by validation accuracy:", best_rate)

# %% [markdown]
# Left: the gap epoch by epoch, one line per rate. Right: the final gap per rate (bars, as `fit`
# recorded it) and the same gap with the training accuracy measured with dropout off (dots).

# %%
fig, (ax_line, ax_bar) = plt.subplots(1, 2, figsize=(12, 4))
for rate in RATES:
    h = as_dict(histories[rate])
    ax_line.plot(range(1, len(h["accuracy"]) + 1), np.subtract(h["accuracy"], h["val_accuracy"]),
                 label="no dropout" if rate == 0 else f"dropout {rate}")
ax_line.axhline(0, color="gray", linewidth=0.8)
ax_line.set(title="Train - validation accuracy, per epoch", xlabel="epoch", ylabel="gap")
ax_line.legend()
positions = np.arange(len(RATES))
ax_bar.bar(positions, [gap[rate] for rate in RATES], color="tab:blue", label=f"gap, last {LAST} epochs")
ax_bar.plot(positions, [clean_gap[rate] for rate in RATES], "o", color="tab:red", label="training acc. with dropout off")
ax_bar.set_xticks(positions, [str(rate) for rate in RATES])
ax_bar.set(title="Final gap per dropout rate", xlabel="dropout rate", ylabel="gap")
ax_bar.set_ylim(0, 1.4 * max(max(gap.values()), max(clean_gap.values())))  # room for the legend
ax_bar.legend(loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the result honestly.** Dropout clearly slows memorisation: the higher the rate, the more
# epochs the head needs to get its training photos right, and the later its validation loss turns
# up. But given enough epochs, even the `0.7` head learns a couple of hundred photos by heart, and
# the final gap moves by only a point or two, about as much as it moves when you change the seed
# (try `COURSE_SEED=1`, `2`, `3`). Here most of the gap comes from the frozen features themselves:
# 1280 numbers per photo are enough to tell apart *any* 200 photos, whatever they show. Dropout in
# the head cannot fix that; more photos, augmentation or fine-tuning can, and so can stopping
# training near the lowest validation loss (early stopping).

# %% [markdown]
# ## 8. Grading checks
#
# These run at grading time. First: without dropout, the head memorises its training photos and
# shows a clear train/validation gap.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "e251168b6b854b2abc8ae0b3078aa35c", "grade": true, "grade_id": "test_overfitting_without_dropout", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the no-dropout head overfits (training accuracy near 100%, a clear gap).

# %% [markdown]
# Next: dropout slows memorisation, and the best rate's gap is no wider than without dropout.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "c62c8d66ff9803bc9e8593d955b484f8", "grade": true, "grade_id": "test_dropout_effect", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the highest rate needs clearly more epochs to memorise; the best rate does not widen the gap.

# %% [markdown]
# Last: every head reaches the validation accuracy threshold.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "5382130db5638fc407dab7c78d91ac36", "grade": true, "grade_id": "test_validation_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: validation accuracy of the best head, and of every head.

# %% [markdown]
# ## What to take away
#
# - A wide head on a small dataset memorises: training accuracy hits 100%, the training loss goes
#   to zero and the validation loss rises. The gap between the curves is the symptom to look for.
# - Dropout between the hidden layer and the output makes memorising slower and delays the rise of
#   the validation loss; too high a rate makes the head learn slowly. It is not a cure-all: when
#   the gap comes from the features, more data, augmentation, fine-tuning or early stopping matter more.
# - Judge a difference against the seed-to-seed spread, and remember that `fit` reports training
#   accuracy with dropout on.
# - With a frozen base and no augmentation, computing the features once (*feature caching*) makes
#   such experiments cheap: the expensive network runs once, not once per epoch per model.

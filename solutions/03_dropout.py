# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
# 2. run a frozen MobileNetV2 over the photos **once** and keep its whole last feature map
#    (*feature caching*),
# 3. build a large head on those features with the Keras functional API, for several dropout rates,
# 4. train it with and without dropout from the same starting weights, and compare the curves,
# 5. measure, rate by rate, the train/validation gap and the lowest validation loss.
#
# The setting follows DeepLearning.AI's transfer-learning lab (course 2, week 3): un-pooled features
# of a pretrained base, `Flatten`, a large `Dense` layer, `Dropout`.
#
# Test cells are locked (you cannot edit them) and check your work: run them as you go. Some hold
# only a `# Hidden test` comment: their checks are added when your notebook is graded.

# %% [markdown]
# ## Setup
#
# Imports first, then one seed for Python, NumPy and TensorFlow so that every run (and every
# grading run) initialises, shuffles and drops out the same way (on a GPU, some operations are not
# bit-for-bit repeatable, so numbers can still differ slightly). `COURSE_SEED` lets you try others.

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
# how many epochs to use: `cpu` is for a laptop, `full` for a GPU. It is picked from the hardware;
# set `COURSE_PROFILE=cpu` or `full` to override. Both keep the training set deliberately small
# (200 photos): we *want* to see overfitting. The only difference: `full` validates on every
# remaining photo, `cpu` on at most 450.

# %%
PROFILES = {
    # max_* cap the number of images per split (None: use them all).
    "cpu": {"image_size": 160, "batch_size": 32, "epochs": 30, "max_train": 200, "max_validation": 450},
    "full": {"image_size": 160, "batch_size": 32, "epochs": 30, "max_train": 200, "max_validation": None},
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
# there is **no augmentation**: each photo looks the same every time it is read. This pipeline does not
# shuffle either, so the features below come out in the dataset's order; `fit` will still shuffle the
# cached features at every epoch (its default, `shuffle=True`).

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
# The pretrained MobileNetV2 stays **frozen**: its weights never change. Without `pooling`, it ends
# with its last feature map, `out_relu`: a 5 x 5 grid of positions (at 160 px), 1280 channels each.
# We keep that grid whole, 32,000 numbers per photo, instead of averaging its 25 positions into 1280
# numbers (`pooling="avg"`, as in 01 and 02). A head on 32,000 inputs is *large*: its first Dense
# layer alone has 8 million weights, for 200 training photos. That is the setting where overfitting
# is real, and where dropout has something to do. The extractor starts with MobileNetV2's own
# `preprocess_input` (0-255 to [-1, 1]).

# %%
base_model = keras.applications.MobileNetV2(input_shape=IMG_SHAPE, include_top=False, weights="imagenet")
base_model.trainable = False

inputs = keras.Input(shape=IMG_SHAPE)
x = keras.applications.mobilenet_v2.preprocess_input(inputs)
outputs = base_model(x, training=False)
feature_extractor = keras.Model(inputs, outputs, name="feature_extractor")
FEATURE_SHAPE = feature_extractor.output_shape[1:]
print("one photo ->", FEATURE_SHAPE, "=", int(np.prod(FEATURE_SHAPE)), "features")

# %% [markdown]
# **Feature caching** (*Deep Learning with Python* calls it fast feature extraction without data
# augmentation): since the base is frozen, it turns
# a given photo into the same feature map in every epoch. And since there is no augmentation, the
# photo itself is the same every epoch too. So we can compute the features **once**, keep them in a
# NumPy array, and train the head on that array. Most of the computation sits in the base (about 150
# million multiply-adds per photo at 160 px, against about 8 million for this head), so each later
# epoch is cheap: four heads of 30 epochs make 120 epochs over the cached array, where running the
# base in every epoch would repeat the feature pass below 120 times (the training cell prints how
# long the four heads take).
#
# The trick stops being valid as soon as the base is fine-tuned (its features then change while
# training) or the photos are augmented (each epoch sees different pixels).
#
# **Your task:** write `extract_features(batches)`: run `feature_extractor` over every batch of
# `(images, labels)` and return two NumPy arrays, the features `(N, 5, 5, 1280)` and the labels
# `(N,)`, in the same order as the dataset.

# %% nbgrader={"grade": false, "grade_id": "extract_features", "locked": false, "schema_version": 3, "solution": true, "task": false}
def extract_features(batches):
    ### BEGIN SOLUTION
    features, labels = [], []
    for images, batch_labels in batches:
        features.append(feature_extractor(images, training=False).numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(features), np.concatenate(labels)
    ### END SOLUTION


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

# %% nbgrader={"grade": true, "grade_id": "test_features", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert train_features.shape[1:] == FEATURE_SHAPE, f"got {train_features.shape}, expected (N, *{FEATURE_SHAPE})"
assert train_features.shape[0] == train_labels.shape[0], "one label per photo"
assert validation_features.shape == (validation_labels.shape[0], *FEATURE_SHAPE), f"got {validation_features.shape}"
print("feature shapes: OK")
### BEGIN HIDDEN TESTS
# Same numbers as the frozen base on preprocessed photos, in the dataset's order.
_images, _labels = next(iter(train_batches))
_expected = base_model(keras.applications.mobilenet_v2.preprocess_input(_images), training=False).numpy()
_got, _got_labels = extract_features(train_batches.take(1))
assert np.allclose(_got, _expected, atol=1e-3), "features differ from MobileNetV2 on preprocess_input(images)"
assert np.array_equal(_got_labels, _labels.numpy()), "labels are not in the dataset's order"
assert np.allclose(train_features[: len(_expected)], _expected, atol=1e-3), "train_features are not the base's"
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The head, with the functional API
#
# The head flattens the feature map into one vector of 32,000 numbers, goes through a wide hidden
# `Dense` layer (256 units) and ends with a 5-way softmax. Dropout goes in **two places**:
# - on the flattened features, so the hidden layer cannot lean on a few positions of the map;
# - on the hidden units, so the output cannot lean on a few of them.
#
# Srivastava et al. (2014), who introduced dropout, recommend a rate of about 0.5 for hidden units and
# a lower one, about 0.2, for inputs. This lesson uses one rate for both places, so at 0.5 it also drops
# half of the flattened features, more than their advice for inputs.
#
# At each training step, a `Dropout(rate)` layer hides a random `rate` fraction of its inputs (and
# scales the kept ones by `1 / (1 - rate)` so that the average stays the same). At inference Keras
# turns dropout off: `evaluate` and `predict` see the whole network.
#
# The functional API writes the model as a chain of calls, `x = layer(x)`, which makes it easy to
# add a layer only when we need it.
#
# **Your task:** write `build_model(rate)` returning a functional `keras.Model`:
# `Input(FEATURE_SHAPE)` -> `Flatten` -> `Dropout(rate)` -> `Dense(HIDDEN_UNITS, relu)` -> `Dropout(rate)`
# -> `Dense(NUM_CLASSES, softmax)`, with **no** `Dropout` layer at all when `rate == 0`.

# %% nbgrader={"grade": false, "grade_id": "build_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_model(rate):
    ### BEGIN SOLUTION
    inputs = keras.Input(shape=FEATURE_SHAPE)
    x = keras.layers.Flatten()(inputs)
    if rate > 0:
        x = keras.layers.Dropout(rate)(x)
    x = keras.layers.Dense(HIDDEN_UNITS, activation="relu")(x)
    if rate > 0:
        x = keras.layers.Dropout(rate)(x)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=f"head_dropout_{rate}")
    ### END SOLUTION


build_model(0.5).summary()

# %% [markdown]
# The tests check the output and that the two Dropout layers are there, with the right rate, only
# when asked for.

# %% nbgrader={"grade": true, "grade_id": "test_build_model", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
for _rate in RATES:
    _model = build_model(_rate)
    assert isinstance(_model, keras.Model), "build_model must return a keras.Model"
    assert _model.output_shape == (None, NUM_CLASSES), f"expected (None, {NUM_CLASSES}), got {_model.output_shape}"
    _dropouts = [layer for layer in _model.layers if isinstance(layer, keras.layers.Dropout)]
    if _rate == 0:
        assert not _dropouts, "no Dropout layer when rate == 0"
    else:
        assert len(_dropouts) == 2, f"expected two Dropout layers for rate {_rate}, got {len(_dropouts)}"
        assert all(np.isclose(d.rate, _rate) for d in _dropouts), f"Dropout rates {[d.rate for d in _dropouts]}"
print("build_model: OK")
### BEGIN HIDDEN TESTS
for _rate in RATES:
    _model = build_model(_rate)
    assert not isinstance(_model, keras.Sequential), "use the functional API, not Sequential"
    assert _model.input_shape == (None, *FEATURE_SHAPE), f"input shape {_model.input_shape}"
    _layers = [layer for layer in _model.layers if not isinstance(layer, keras.layers.InputLayer)]
    _kinds = [type(layer).__name__ for layer in _layers]
    _expected_kinds = ["Flatten", "Dropout", "Dense", "Dropout", "Dense"] if _rate > 0 else ["Flatten", "Dense", "Dense"]
    assert _kinds == _expected_kinds, f"rate {_rate}: layers {_kinds}, expected {_expected_kinds}"
    _hidden = next(layer for layer in _layers if isinstance(layer, keras.layers.Dense))
    assert _hidden.units == HIDDEN_UNITS and _hidden.activation.__name__ == "relu", "hidden layer"
    assert _layers[-1].activation.__name__ == "softmax", "the output must be a softmax"
    _probabilities = _model(np.zeros((2, *FEATURE_SHAPE), "float32")).numpy()
    assert np.allclose(_probabilities.sum(axis=-1), 1.0, atol=1e-5), "outputs must sum to 1"
assert build_model(0.5) is not build_model(0.5), "build_model must build a fresh model on every call"
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Train the same head with each dropout rate
#
# A fair comparison changes one thing only. A Dropout layer has no weights, so every head has
# the same list of weights: we draw one set, `initial_weights`, and start every head from it, and
# we reset the seed before each run so that each can be repeated exactly. The labels are
# integers, so the loss is sparse categorical cross-entropy on probabilities. The learning rate is
# small, 3e-5: with 8 million weights in one layer, Adam's usual 1e-3 memorises the 200 photos within a
# few epochs, too fast to see anything happen.
# `fit` trains on the cached features and reports validation loss and accuracy after every epoch, in
# its `History`.
#
# **Your task:** for each rate in `RATES`, build the head and give it `initial_weights`; compile it
# with `optimizer=keras.optimizers.Adam(learning_rate=3e-5)`, `loss="sparse_categorical_crossentropy"`
# (the head outputs probabilities) and `metrics=["accuracy"]`; then `fit` it on `train_features` and
# `train_labels` with `batch_size=CONFIG["batch_size"]`, `epochs=CONFIG["epochs"]` and
# `validation_data=(validation_features, validation_labels)` (`verbose=0` keeps the output short). Keep
# the `History` that `fit` returns in `histories[rate]` and the trained model in `models[rate]`.

# %% tags=["training"] nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true, "task": false}
keras.utils.set_random_seed(SEED)
initial_weights = build_model(0.0).get_weights()
histories = {}
models = {}
start = time.perf_counter()
for rate in RATES:
    keras.utils.set_random_seed(SEED)
    ### BEGIN SOLUTION
    model = build_model(rate)
    model.set_weights(initial_weights)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=3e-5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=False),
        metrics=["accuracy"],
    )
    histories[rate] = model.fit(
        train_features,
        train_labels,
        batch_size=CONFIG["batch_size"],
        epochs=CONFIG["epochs"],
        validation_data=(validation_features, validation_labels),
        verbose=0,
    )
    models[rate] = model
    ### END SOLUTION
    print(f"rate {rate:.1f}: train accuracy {histories[rate].history['accuracy'][-1]:.3f}, "
          f"validation accuracy {histories[rate].history['val_accuracy'][-1]:.3f}")
print(f"{len(RATES)} heads x {CONFIG['epochs']} epochs in {time.perf_counter() - start:.1f} s")

# %% [markdown]
# Every rate has a history with training and validation accuracy for each epoch.

# %% nbgrader={"grade": true, "grade_id": "test_histories", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert sorted(histories) == sorted(RATES), f"histories has rates {sorted(histories)}, expected {RATES}"
for _rate in RATES:
    _h = getattr(histories[_rate], "history", histories[_rate])  # a History or its dict
    assert "accuracy" in _h and "val_accuracy" in _h, f"rate {_rate}: compile with metrics=['accuracy'] and validate"
    assert len(_h["accuracy"]) == len(_h["val_accuracy"]) > 1, f"rate {_rate}: one value per epoch"
print("histories: OK")
### BEGIN HIDDEN TESTS
for _rate in RATES:
    _h = getattr(histories[_rate], "history", histories[_rate])
    assert len(_h["accuracy"]) == len(_h["val_accuracy"]) == CONFIG["epochs"], (
        f"rate {_rate}: {len(_h['accuracy'])} epochs recorded, expected {CONFIG['epochs']}"
    )
    assert all(0.0 <= v <= 1.0 for v in _h["accuracy"] + _h["val_accuracy"]), "accuracies lie in [0, 1]"
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Training against validation, side by side
#
# One column per rate; accuracy on top, loss below. Without dropout, training accuracy reaches 100%
# and the training loss keeps falling towards zero, while the validation loss levels off far above it:
# the head has learned its photos by heart, and that no longer helps on new photos. With dropout, the
# training curves climb more slowly, and the validation loss goes lower. (The training curves that
# `fit` records are measured with dropout *on*, on a handicapped network; section 7 measures with
# dropout off.)

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
# ## 7. The gap and the lowest validation loss, rate by rate
#
# Two numbers per head say how much it overfits:
# - the **generalisation gap**: training accuracy minus validation accuracy, both measured on the
#   finished head with `evaluate`, that is in inference mode, with dropout off. (The training
#   accuracy `fit` reports is measured with dropout on: for a dropout head it comes out lower than the
#   finished head's real training accuracy, so a gap computed from it would look narrower than it is.)
# - the **lowest validation loss** over the epochs: how good the head was at its best moment,
#   which early stopping would keep (`keras.callbacks.EarlyStopping(restore_best_weights=True)`). A head
#   that only memorises levels off high.

# %%
train_accuracy, val_accuracy, gap, min_val_loss, final_val_loss = {}, {}, {}, {}, {}
for rate in RATES:
    h = as_dict(histories[rate])
    train_accuracy[rate] = models[rate].evaluate(train_features, train_labels, verbose=0)[1]
    val_accuracy[rate] = models[rate].evaluate(validation_features, validation_labels, verbose=0)[1]
    gap[rate] = train_accuracy[rate] - val_accuracy[rate]
    min_val_loss[rate] = float(np.min(h["val_loss"]))
    final_val_loss[rate] = float(h["val_loss"][-1])
    print(f"rate {rate:.1f}: train {train_accuracy[rate]:.3f} | validation {val_accuracy[rate]:.3f} | "
          f"gap {gap[rate]:+.3f} | validation loss: lowest {min_val_loss[rate]:.3f} "
          f"(epoch {int(np.argmin(h['val_loss'])) + 1}), last {final_val_loss[rate]:.3f}")

# %% [markdown]
# The same numbers against the rate: the gap on the left, the validation loss on the right.

# %%
fig, (ax_gap, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
ax_gap.plot(RATES, [gap[rate] for rate in RATES], "o-")
ax_gap.set(title="Train - validation accuracy (dropout off)", xlabel="dropout rate", ylabel="gap")
ax_loss.plot(RATES, [min_val_loss[rate] for rate in RATES], "o-", label="lowest")
ax_loss.plot(RATES, [final_val_loss[rate] for rate in RATES], "s--", label="last epoch")
ax_loss.set(title="Validation loss", xlabel="dropout rate", ylabel="cross-entropy")
ax_loss.legend()
for ax in (ax_gap, ax_loss):
    ax.set_xticks(RATES)
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Reading the result.** Measured with the `cpu` profile on the course's offline copies of the photos
# and weights (the machines that test this course have no internet; there `tf_flowers` leaves 375
# validation photos, and MobileNetV2's weights are an 8-bit approximation of the official ones), over
# seeds 1-5; the `full` profile on Colab, with the official weights, has not been measured. Without
# dropout, every head gets all 200 training photos right, the gap is 0.17-0.25 and the lowest validation
# loss 0.50-0.69. With dropout the gap narrows only a little: the training photos are still all learned
# by heart (dropout slows memorising, it does not stop it: the cells after your decision show it), and what
# shrinks the gap is the validation accuracy. Where dropout helps, it is easiest to see in the lowest
# validation loss: the head is less sure of its wrong answers. Too high a rate can learn too slowly at this
# learning rate: look at its validation accuracy too.

# %% [markdown]
# ### Your decision: the dropout rate
#
# A rate is a choice you make from measurements like these, not a constant to copy. Which rate of `RATES`
# would you train this head with? Weigh the lowest validation loss, the gap and the validation accuracy
# of each rate above.
#
# **Your task:** set `CHOSEN_RATE` to that rate (one of `RATES`, with dropout: not 0). The rest of the
# notebook compares the head at your rate with the head without dropout, and grading measures both again
# on flower photos your notebook never loads: your choice is judged by what it does there, not by which
# number it is.

# %% nbgrader={"grade": false, "grade_id": "chosen_rate", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
CHOSEN_RATE = 0.5
### END SOLUTION

# %% [markdown]
# Your rate must be one of the rates you measured, with dropout:

# %%
assert CHOSEN_RATE in RATES and CHOSEN_RATE > 0, f"CHOSEN_RATE = {CHOSEN_RATE!r}: pick one of {RATES[1:]}"
print(f"chosen rate {CHOSEN_RATE}: lowest validation loss {min_val_loss[CHOSEN_RATE]:.3f} against "
      f"{min_val_loss[0.0]:.3f} without dropout, gap {gap[CHOSEN_RATE]:+.3f} against {gap[0.0]:+.3f}")

# %% [markdown]
# **Your turn: explain your choice.** In two or three sentences: why this rate, from your numbers above?
# What made you rule out a lower and a higher one? Your instructor reads this answer; no automatic test
# grades it.

# %% [markdown]
# *Your answer here.*

# %% [markdown]
# ### Epoch by epoch: dropout slows memorising
#
# Section 7 looked at the finished heads. To see *when* each head learns its training photos by heart,
# we train the two heads we compare once more, the same way as in section 5, with a small callback: after
# every epoch, `on_epoch_end` measures the accuracy on the training and validation features with dropout
# off (`training=False`). The seed and the starting weights are the same, so these are the same heads, epoch
# for epoch. Their first 20 epochs are enough: in the `cpu`-profile runs described above (seeds 1-5 and
# 42), both heads had learned all their training photos by epoch 14.

# %% tags=["training"]
class InferenceAccuracy(keras.callbacks.Callback):
    """Training and validation accuracy after each epoch, measured with dropout off."""

    def __init__(self):
        super().__init__()
        self.train, self.validation = [], []

    def on_epoch_end(self, epoch, logs=None):
        for features, labels, curve in ((train_features, train_labels, self.train),
                                        (validation_features, validation_labels, self.validation)):
            # Calling the model, rather than `predict`, skips a per-call set-up that would cost more here.
            predictions = keras.ops.convert_to_numpy(self.model(features, training=False))
            curve.append(float(np.mean(predictions.argmax(axis=-1) == labels)))


CURVE_EPOCHS = min(20, CONFIG["epochs"])
curves = {}
for rate in (0.0, CHOSEN_RATE):
    keras.utils.set_random_seed(SEED)
    head = build_model(rate)
    head.set_weights(initial_weights)
    head.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-5),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    curves[rate] = InferenceAccuracy()
    head.fit(train_features, train_labels, batch_size=CONFIG["batch_size"], epochs=CURVE_EPOCHS,
             verbose=0, callbacks=[curves[rate]])

# The first epoch after which every training photo is right (None: none of them).
memorised = {rate: next((epoch for epoch, accuracy in enumerate(curve.train, start=1) if accuracy == 1.0), None)
             for rate, curve in curves.items()}
for rate, epoch in memorised.items():
    name = "no dropout" if rate == 0 else f"dropout {rate}"
    print(f"{name}: all {len(train_labels)} training photos right "
          + (f"for the first time after epoch {epoch}" if epoch else f"after none of the {CURVE_EPOCHS} epochs"))
# How many epochs later the dropout head memorises; "not within the epochs" counts as one epoch past them.
delay = (memorised[CHOSEN_RATE] or CURVE_EPOCHS + 1) - (memorised[0.0] or CURVE_EPOCHS + 1)
# The most the dropout head narrows the gap in any one epoch.
largest = max(np.subtract(curves[0.0].train, curves[0.0].validation)
              - np.subtract(curves[CHOSEN_RATE].train, curves[CHOSEN_RATE].validation))
print(f"METRIC memorising_delay={delay}")
print(f"METRIC largest_gap_reduction={largest:.4f}")

# %% [markdown]
# Training accuracy (dropout off) and the gap, epoch by epoch: the head without dropout gets every
# training photo right within a few epochs; the dropout head climbs for several more, and while it does,
# its gap is clearly narrower. Once it has memorised its photos too, the two gaps differ only by the
# validation accuracy. In the same `cpu`-profile runs (seeds 1-5; not measured on Colab), the head at
# 0.5 gets every training photo right 5 to 10 epochs later than the head without dropout, and at its
# best epoch its gap is narrower by 0.075 to 0.135, against 0.003 to 0.067 after all 30 epochs (section 7).

# %%
fig, (ax_train, ax_gap) = plt.subplots(1, 2, figsize=(12, 4))
for rate, curve in curves.items():
    name = "no dropout" if rate == 0 else f"dropout {rate}"
    epochs_axis = range(1, len(curve.train) + 1)
    ax_train.plot(epochs_axis, curve.train, label=name)
    ax_gap.plot(epochs_axis, np.subtract(curve.train, curve.validation), label=name)
ax_train.set(title="Training accuracy (dropout off)", xlabel="epoch", ylabel="accuracy")
ax_gap.set(title="Train - validation accuracy (dropout off)", xlabel="epoch", ylabel="gap")
for ax in (ax_train, ax_gap):
    ax.grid(alpha=0.3)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Save the two heads you compare
#
# The numbers above were measured in this notebook. Grading measures them again, outside your notebook,
# from these two files: the head without dropout and the head at your chosen rate, on your 200
# training photos and on 250 flower photos this notebook never loads (see "How this notebook is graded").
#
# Each file holds a fresh copy of the head (`clone_model`) with the trained weights, about 33 MB. Saving
# the trained model itself would also store Adam's state, two more numbers per weight: three times the
# size, for training we will not resume.

# %%
HEAD_FILES = {0.0: "dropout_head_0.0.keras", CHOSEN_RATE: "dropout_head_chosen.keras"}
for rate, file_name in HEAD_FILES.items():
    head = keras.models.clone_model(models[rate])
    head.set_weights(models[rate].get_weights())
    head.save(file_name)
    print(f"rate {rate}: saved {file_name} ({os.path.getsize(file_name) / 1e6:.0f} MB)")

# %% [markdown]
# ## 9. Grading checks
#
# These tests are hidden: their checks are added when your notebook is graded. Each one below is your
# notebook's own test, on your validation photos. At grading, the grader also measures your two saved
# heads again on 250 held-back flower photos (photos your notebook never loads), with its own
# thresholds: see "How this notebook is graded".
#
# First: without dropout, the head memorises its training photos (training accuracy at least 0.97) and
# shows a clear train/validation gap (at least 0.15).

# %% nbgrader={"grade": true, "grade_id": "test_overfitting_without_dropout", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the no-dropout head overfits (training accuracy near 100%, a clear gap).
### BEGIN HIDDEN TESTS
_THRESHOLD = 0.15
print(f"METRIC gap_no_dropout={gap[0.0]:.4f}")
print(f"METRIC train_accuracy_no_dropout={train_accuracy[0.0]:.4f}")
assert train_accuracy[0.0] >= 0.97, f"training accuracy without dropout {train_accuracy[0.0]:.3f}: train longer"
assert gap[0.0] >= _THRESHOLD, f"gap without dropout {gap[0.0]:.3f}: expected clear overfitting (>= {_THRESHOLD})"
### END HIDDEN TESTS

# %% [markdown]
# Next: your chosen rate does not widen the gap (by more than 0.02). In the `cpu`-profile runs
# above it narrowed the gap on every seed, but by as little as 0.003, one validation photo in 375. A
# difference that small is within the noise of a validation set this size, so the test asks only that
# the gap is not wider.

# %% nbgrader={"grade": true, "grade_id": "test_gap_not_wider_with_dropout", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the gap at the chosen rate is at most the no-dropout gap plus a tolerance.
### BEGIN HIDDEN TESTS
# 0.02 is 7.5 of the calibration's 375 validation photos (9 of the 450 online in the cpu profile): over
# seeds 1-5 the reduction spans 0.003 to 0.067 (data/calibration.csv).
_TOLERANCE = 0.02
_reduction = gap[0.0] - gap[CHOSEN_RATE]
print(f"METRIC gap_reduction={_reduction:.4f}")
print(f"METRIC gap_chosen_rate={gap[CHOSEN_RATE]:.4f}")
assert _reduction >= -_TOLERANCE, (
    f"dropout {CHOSEN_RATE} widened the gap: {gap[0.0]:.3f} -> {gap[CHOSEN_RATE]:.3f}")
### END HIDDEN TESTS

# %% [markdown]
# Next: your chosen rate reaches a lowest validation loss at least 0.03 below the head without
# dropout. (The grader, on the held-back photos, compares the final loss instead, and asks for 0.05.)

# %% nbgrader={"grade": true, "grade_id": "test_dropout_lowers_the_loss", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: lowest validation loss without dropout minus that at the chosen rate.
### BEGIN HIDDEN TESTS
_THRESHOLD = 0.03
_reduction = min_val_loss[0.0] - min_val_loss[CHOSEN_RATE]
print(f"METRIC val_loss_reduction={_reduction:.4f}")
print(f"METRIC min_val_loss_no_dropout={min_val_loss[0.0]:.4f}")
print(f"METRIC min_val_loss_chosen_rate={min_val_loss[CHOSEN_RATE]:.4f}")
assert _reduction >= _THRESHOLD, (
    f"dropout {CHOSEN_RATE} lowered the lowest validation loss by {_reduction:.3f} "
    f"({min_val_loss[0.0]:.3f} -> {min_val_loss[CHOSEN_RATE]:.3f}); expected at least {_THRESHOLD}")
### END HIDDEN TESTS

# %% [markdown]
# Last: the head at your chosen rate reaches 0.79 accuracy on your validation photos, and no head is below 0.70.
# (The grader, on the held-back photos, asks for 0.74 and 0.68.)

# %% nbgrader={"grade": true, "grade_id": "test_validation_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: validation accuracy of the head at the chosen rate, and of every head.
### BEGIN HIDDEN TESTS
_THRESHOLD = 0.79
print(f"METRIC val_accuracy_chosen_rate={val_accuracy[CHOSEN_RATE]:.4f}")
for _rate in RATES:
    print(f"METRIC val_accuracy_rate_{_rate}={val_accuracy[_rate]:.4f}")
assert val_accuracy[CHOSEN_RATE] >= _THRESHOLD, (
    f"validation accuracy at rate {CHOSEN_RATE}: {val_accuracy[CHOSEN_RATE]:.3f} < {_THRESHOLD}")
assert min(val_accuracy.values()) >= 0.70, "a head is below 0.70 validation accuracy"
### END HIDDEN TESTS

# %% [markdown]
# ## What to take away
#
# - A large head on a few hundred photos memorises: training accuracy hits 100%, the training loss
#   heads to zero and the validation loss levels off far above it. The gap between the curves is the
#   symptom to look for.
# - Dropout on the flattened features and on the hidden units makes memorising harder: here a rate
#   of 0.5 memorises its photos 5 to 10 epochs later, lowers the best validation loss and narrows the
#   final gap on every seed measured, the last only a little.
# - A rate is chosen from measurements (the lowest validation loss, the gap, the accuracy), and the
#   choice is judged on data the model has never seen.
# - Measure the gap with dropout off (`evaluate`), and judge a difference against the seed-to-seed spread.
# - With a frozen base and no augmentation, computing the features once (*feature caching*) makes
#   such experiments cheap: the expensive network runs once, not once per epoch per model.

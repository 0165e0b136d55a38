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
# # 02 · Flowers: five classes, InceptionV3 against MobileNetV2
#
# Notebook 01 separated two classes. Here the photos show five kinds of flowers, so the head ends in
# a **softmax over 5** and the loss changes with it. You will also compare two pretrained bases
# under the same head and the same budget: the large **InceptionV3** and the small **MobileNetV2**.
#
# You will:
# 1. load `tf_flowers` with TFDS and make your own train/validation split,
# 2. extract each frozen base's features once and train the same head on them,
# 3. compare accuracy, size and speed in a table and a bar chart,
# 4. read the better model's mistakes from a confusion matrix.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, the grader runs your notebook from the top in a fresh kernel, in a sandbox with no network, and adds hidden tests to the test cells. A test cell earns its points if it runs without error. Code that changes how the notebook reports errors (patched built-ins, exception hooks, rewritten asserts) earns no points. Your feedback page shows each test's points and the grader's message.
#
# - `test_mobilenet_frozen` (2 points): the test cell passes.
# - `test_head_shape` (2 points): the test cell passes.
# - `test_loss_matches_labels` (1 point): the test cell passes.
# - `test_mobilenet_accuracy` (3 points): the test cell passes.
# - `test_inception_accuracy` (2 points): the test cell passes.
#
# For this notebook the test cells alone decide the points; the grader does not re-check them outside your kernel yet.

# %% [markdown]
# ## Setup
#
# One seed for Python, NumPy and TensorFlow makes every run, and every grading run, repeatable.

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
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| seed", SEED)

# %% [markdown]
# The `cpu` profile (laptops, CI) uses fewer images and a smaller InceptionV3 input so that the
# lesson runs in a minute or two; the `full` profile (a Colab GPU) uses every photo and each base's
# native input size. Set `COURSE_PROFILE` to override the choice made from the hardware.

# %%
PROFILES = {
    "cpu": {"sizes": {"mobilenet_v2": 160, "inception_v3": 160}, "epochs": 15, "batch_size": 32, "max_images": 1500},
    "full": {"sizes": {"mobilenet_v2": 224, "inception_v3": 299}, "epochs": 20, "batch_size": 32, "max_images": None},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. Data
#
# `tf_flowers` has only a `train` split, so we cut our own: 80% to train, 20% to validate. The
# class names come from the dataset's metadata, not from a list typed by hand.

# %%
(raw_train, raw_validation), info = tfds.load(
    "tf_flowers",
    split=["train[:80%]", "train[80%:]"],
    as_supervised=True,
    with_info=True,
)
class_names = info.features["label"].names
NUM_CLASSES = info.features["label"].num_classes
print(NUM_CLASSES, "classes:", class_names)
print("photos:", info.splits["train"].num_examples)

# %% [markdown]
# A look at a few photos and their labels.

# %%
plt.figure(figsize=(12, 3))
for i, (image, label) in enumerate(raw_train.take(6)):
    plt.subplot(1, 6, i + 1)
    plt.imshow(image)
    plt.title(class_names[int(label)])
    plt.axis("off")
plt.show()

# %% [markdown]
# ## 2. From two classes to five: labels, activation, loss
#
# TFDS gives each label as an integer `0..4` (a *sparse* label). With five classes the head ends in
# `Dense(5, activation="softmax")`, five probabilities that sum to one, and the loss that compares
# them with an integer label is `SparseCategoricalCrossentropy`. If the labels were one-hot vectors
# (`[0, 0, 1, 0, 0]`) the loss would be `CategoricalCrossentropy`; same maths, different label format.

# %%
first_label = next(iter(raw_train))[1]
print("a sparse label:", int(first_label), "-> one-hot:", keras.utils.to_categorical(int(first_label), NUM_CLASSES))

# %% [markdown]
# ## 3. Extract features once
#
# Both bases stay frozen and we use no augmentation, so a base maps the same photo to the same
# features in every epoch. Instead of running the base in every epoch we run it **once** over all
# photos, keep the feature vectors, and train the head on them: *feature caching* (notebook 03 uses
# it too). Each base gets its own input size and its own `preprocess_input`.

# %%
def image_batches(dataset, size):
    """Raw 0-255 RGB photos resized to `size`, in batches (the model does its own preprocessing)."""
    if CONFIG["max_images"] is not None:
        dataset = dataset.take(CONFIG["max_images"])
    resize = lambda image, label: (tf.image.resize(tf.cast(image, tf.float32), (size, size)), label)  # noqa: E731
    return dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE).batch(CONFIG["batch_size"])


def extract(feature_model, dataset):
    """Run the frozen base once; return (features, labels, seconds)."""
    started = time.perf_counter()
    features, labels = [], []
    for images, batch_labels in dataset:
        features.append(feature_model(images, training=False).numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(features), np.concatenate(labels), time.perf_counter() - started

# %% [markdown]
# ## 4. The MobileNetV2 base
#
# **Your task:** create `mobilenet_base`, a `keras.applications.MobileNetV2` with ImageNet weights,
# no top, global average pooling (`pooling="avg"`, so each photo becomes one 1280-long vector) and
# input shape `(SIZE, SIZE, 3)` with `SIZE = CONFIG["sizes"]["mobilenet_v2"]`; then freeze it.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "bf758474c5434caf8d94c3fb646b69b5", "grade": false, "grade_id": "mobilenet_base", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()
print("MobileNetV2 features per photo:", mobilenet_base.output_shape[-1])

# %% [markdown]
# The base must be frozen: no trainable weights.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "bbd45d71aa86606479c336da1a2cafe9", "grade": true, "grade_id": "test_mobilenet_frozen", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert not mobilenet_base.trainable_weights, "freeze the base: mobilenet_base.trainable = False"
print("MobileNetV2 base frozen: OK")

# %% [markdown]
# A small wrapper puts MobileNetV2's own `preprocess_input` in front of the base, so that it takes
# raw photos; then we cache the features of both splits.

# %% tags=["training"]
def feature_extractor(base, preprocess):
    inputs = keras.Input(base.input_shape[1:])
    return keras.Model(inputs, base(preprocess(inputs)))


mobilenet_features = feature_extractor(mobilenet_base, keras.applications.mobilenet_v2.preprocess_input)
size = CONFIG["sizes"]["mobilenet_v2"]
mn_train_x, train_y, mn_train_s = extract(mobilenet_features, image_batches(raw_train, size))
mn_val_x, val_y, mn_val_s = extract(mobilenet_features, image_batches(raw_validation, size))
print(f"MobileNetV2: {mn_train_x.shape} train features in {mn_train_s:.1f} s, {mn_val_x.shape} validation")

# %% [markdown]
# ## 5. One head for both bases
#
# **Your task:** write `build_head(feature_dim)`: a functional model from a `feature_dim`-long
# feature vector through `Dropout(0.2)` to `Dense(NUM_CLASSES, activation="softmax")`, compiled with
# Adam, the loss that matches *sparse* labels and a softmax, and the `"accuracy"` metric.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "63334bb0c7e42f4bfd3dc02dbef8bdc0", "grade": false, "grade_id": "build_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_head(feature_dim):
    # YOUR CODE HERE
    raise NotImplementedError()

# %% [markdown]
# Train the head on the cached MobileNetV2 features. An epoch over cached features takes a blink;
# the time that matters is the one feature pass above.

# %% tags=["training"]
keras.utils.set_random_seed(SEED)
mobilenet_head = build_head(mn_train_x.shape[-1])
started = time.perf_counter()
mobilenet_history = mobilenet_head.fit(
    mn_train_x, train_y, validation_data=(mn_val_x, val_y),
    epochs=CONFIG["epochs"], batch_size=CONFIG["batch_size"], verbose=2,
)
mn_head_s = (time.perf_counter() - started) / CONFIG["epochs"]

# %% [markdown]
# The trained head goes back on top of the base, so the saved model takes raw photos, like the one
# in notebook 01. The grader loads `flowers_mobilenet_v2.keras` in a separate process.

# %%
inputs = keras.Input((size, size, 3))
mobilenet_model = keras.Model(inputs, mobilenet_head(mobilenet_features(inputs)), name="flowers_mobilenet_v2")
mobilenet_model.save("flowers_mobilenet_v2.keras")
mobilenet_model.summary()

# %% [markdown]
# One output per class:

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "a26399a5d521b59596e140af3b13f3fe", "grade": true, "grade_id": "test_head_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert mobilenet_model.output_shape == (None, NUM_CLASSES), f"expected (None, 5), got {mobilenet_model.output_shape}"
print("head shape: OK")

# %% [markdown]
# ## 6. The InceptionV3 base, same head, same budget
#
# InceptionV3 is about ten times larger than MobileNetV2 and has its own `preprocess_input`.
# Its ImageNet weights download on first use. On a machine with no copy of them (this course's
# offline CI has none), the notebook still builds and trains the same structure from random weights,
# so its size and speed are real, but its accuracy is **not measured**, and it says so.

# %%
size = CONFIG["sizes"]["inception_v3"]
try:
    inception_base = keras.applications.InceptionV3(
        input_shape=(size, size, 3), include_top=False, weights="imagenet", pooling="avg"
    )
    INCEPTION_WEIGHTS = "imagenet"
except Exception as error:  # no network and no cached copy of the official file
    INCEPTION_WEIGHTS = None
    INCEPTION_MISSING = f"InceptionV3 ImageNet weights could not be loaded ({type(error).__name__}: {error})"
    print("!" * 100)
    print("WARNING:", INCEPTION_MISSING)
    print("InceptionV3 is built with RANDOM weights: its speed and size are real, its accuracy is NOT MEASURED.")
    print("!" * 100)
    inception_base = keras.applications.InceptionV3(
        input_shape=(size, size, 3), include_top=False, weights=None, pooling="avg"
    )
inception_base.trainable = False
inception_features = feature_extractor(inception_base, keras.applications.inception_v3.preprocess_input)

# %% [markdown]
# The same two steps as for MobileNetV2: one feature pass, then the same head for the same epochs.

# %%
in_train_x, in_train_y, in_train_s = extract(inception_features, image_batches(raw_train, size))
in_val_x, in_val_y, _ = extract(inception_features, image_batches(raw_validation, size))
keras.utils.set_random_seed(SEED)
inception_head = build_head(in_train_x.shape[-1])
started = time.perf_counter()
inception_history = inception_head.fit(
    in_train_x, in_train_y, validation_data=(in_val_x, in_val_y),
    epochs=CONFIG["epochs"], batch_size=CONFIG["batch_size"], verbose=0,
)
in_head_s = (time.perf_counter() - started) / CONFIG["epochs"]
print(f"InceptionV3: {in_train_x.shape} train features in {in_train_s:.1f} s")

# %% [markdown]
# ## 7. Comparison
#
# "Seconds per epoch" is what an epoch would cost without caching (one forward pass over the
# training photos) plus the head's own epoch.

# %%
def final_val_accuracy(history):
    return history.history["val_accuracy"][-1]


rows = [
    ("MobileNetV2", final_val_accuracy(mobilenet_history), mobilenet_base.count_params(), mn_train_s + mn_head_s),
    ("InceptionV3", final_val_accuracy(inception_history) if INCEPTION_WEIGHTS else None,
     inception_base.count_params(), in_train_s + in_head_s),
]
print(f"{'base':<12} {'val. accuracy':>22} {'parameters':>12} {'s / epoch':>10}")
for name, accuracy, params, seconds in rows:
    shown = f"{accuracy:.3f}" if accuracy is not None else "NOT MEASURED (no weights)"
    print(f"{name:<12} {shown:>22} {params:>12,} {seconds:>10.1f}")

# %% [markdown]
# The same numbers as bars. A missing bar means "not measured", never zero.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
names = [name for name, *_ in rows]
columns = {
    "validation accuracy": [accuracy for _, accuracy, _, _ in rows],
    "parameters (millions)": [params / 1e6 for _, _, params, _ in rows],
    "seconds / epoch": [seconds for *_, seconds in rows],
}
for ax, (title, values) in zip(axes, columns.items(), strict=True):
    shown = [(name, value) for name, value in zip(names, values, strict=True) if value is not None]
    ax.bar([name for name, _ in shown], [value for _, value in shown], color=["tab:blue", "tab:orange"][: len(shown)])
    ax.set_title(title)
for name, accuracy, *_ in rows:
    if accuracy is None:
        axes[0].text(0.5, 0.5, f"{name}: not measured\n(no ImageNet weights here)", transform=axes[0].transAxes,
                     ha="center", color="red")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Where does the better model go wrong?
#
# A confusion matrix counts, for each true class (rows), which class the model predicted
# (columns). The diagonal holds the correct answers.

# %%
measured = [r for r in rows if r[1] is not None]
best_name = max(measured, key=lambda r: r[1])[0]
best_head, best_x, best_y = (
    (mobilenet_head, mn_val_x, val_y) if best_name == "MobileNetV2" else (inception_head, in_val_x, in_val_y)
)
predicted = best_head.predict(best_x, verbose=0).argmax(axis=1)
confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
np.add.at(confusion, (best_y, predicted), 1)
plt.figure(figsize=(5, 4.5))
plt.imshow(confusion, cmap="Blues")
plt.xticks(range(NUM_CLASSES), class_names, rotation=45)
plt.yticks(range(NUM_CLASSES), class_names)
for (i, j), count in np.ndenumerate(confusion):
    plt.text(j, i, count, ha="center", va="center", color="white" if count > confusion.max() / 2 else "black")
plt.xlabel("predicted")
plt.ylabel("true")
plt.title(f"{best_name}: validation confusion matrix")
plt.colorbar()
plt.show()

# %% [markdown]
# ## 9. Grading checks
#
# At grading time more checks run here: the loss fits sparse labels and a softmax, and each model's
# validation accuracy reaches its threshold. First, the loss:

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "9a326522f69f6af9dfec8fd0151cea9b", "grade": true, "grade_id": "test_loss_matches_labels", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: sparse integer labels with a softmax need SparseCategoricalCrossentropy on probabilities.

# %% [markdown]
# MobileNetV2's accuracy, measured on the saved model with raw validation photos:

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "36b134a272f0beb8b5cedb09897db911", "grade": true, "grade_id": "test_mobilenet_accuracy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the saved MobileNetV2 model reaches the validation threshold.

# %% [markdown]
# InceptionV3's accuracy counts only where its ImageNet weights could be loaded; otherwise this
# check reports itself as not measured (the test report shows it as skipped, with the reason).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "5112f4b18db304f86a7b1f092d2f677e", "grade": true, "grade_id": "test_inception_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: InceptionV3 (with ImageNet weights) reaches the validation threshold.

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
# # 01 · Cats vs dogs: transfer learning with a frozen MobileNetV2
#
# A network trained on ImageNet has already learned to see edges, textures, fur and eyes. In this
# notebook you reuse that knowledge: you keep a pretrained **MobileNetV2** as a frozen feature
# extractor and train only a small new *head* that says "cat" or "dog".
#
# You will:
# 1. load the `cats_vs_dogs` dataset with TensorFlow Datasets (TFDS), and first run the whole ImageNet
#    classifier on a few of its photos, before any transfer,
# 2. resize the photos and let the model do MobileNetV2's own preprocessing,
# 3. freeze the pretrained base, count what its depthwise-separable convolutions save, and put a new
#    classification head on top,
# 4. train, plot the learning curves and look at predictions,
# 5. see the same idea with a TF-Hub feature vector.
#
# Test cells are locked (you cannot edit them) and check your work: run them as you go. Some hold
# only a `# Hidden test` comment: their checks are added when your notebook is graded.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, your notebook is run from the top in a fresh kernel without internet, and hidden tests are added to its test cells. A test earns its points when its test cell passes and the grader's own check, run outside your notebook on the files it saved or the code you wrote, confirms its line below: that way a result counts only if it is real. The lines below are the grader's checks. Your notebook's own test cells are described in the text above each of them: where they measure accuracy, it is on your validation photos, and their thresholds can differ from the grader's; where a line below names held-back photos, the grader measures your saved files on those photos. A test needs both to pass.
#
# - `test_base_frozen` (2 points): no layer of the pretrained base in your saved model can train.
# - `test_head_shape` (2 points): your saved model gives an output of shape (None, 1).
# - `test_base_unchanged` (2 points): every layer of the pretrained base in your saved model still holds the published ImageNet weights.
# - `test_loss_matches_activation` (1 point): your saved model is compiled with a loss that fits its output layer's activation.
# - `test_validation_accuracy` (3 points): your saved model reaches 0.90 accuracy on photos of cats and dogs held back from your notebook (it never loads them when graded).
#
# Code that tampers with the tests (such as replacing a function they call) is flagged for your instructor to review, and the tests' points then rest on the grader's own checks alone; ordinary code, such as any import, `%%time` or `!pip`, is never flagged.
#
# Your feedback page shows your cells' outputs only up to the first test cell with hidden tests; run the notebook yourself to see the rest. A line such as `METRIC val_accuracy=0.9500` in a test's output is a number that test measured, written so that a program can read it.

# %% [markdown]
# ## Setup
#
# Imports first, then one seed for Python, NumPy and TensorFlow so that every run (and every
# grading run) shuffles and initialises the same way. On a GPU, some operations are not bit-for-bit
# repeatable, so numbers can still differ slightly from run to run.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

SEED = int(os.environ.get("COURSE_SEED", "42"))
keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| TFDS", tfds.__version__)

# %% [markdown]
# The same notebook runs on a laptop CPU and on a Colab GPU. A *profile* sets how much data and
# how many epochs to use: `cpu` is short enough for a laptop (at most 2,000 training photos, 3
# epochs), `full` is the complete lesson on a GPU (every photo, 10 epochs). It is picked from the
# hardware; set `COURSE_PROFILE=cpu` or `full` to override.

# %%
PROFILES = {
    # max_* cap the number of images per split (None: use them all).
    "cpu": {"image_size": 160, "batch_size": 32, "epochs": 3, "max_train": 2000, "max_validation": 500},
    "full": {"image_size": 160, "batch_size": 32, "epochs": 10, "max_train": None, "max_validation": None},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
IMG_SIZE = CONFIG["image_size"]
IMG_SHAPE = (IMG_SIZE, IMG_SIZE, 3)
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. Load the data with TFDS
#
# `cats_vs_dogs` has a single `train` split, so we slice it: the first 80% to train on, the rest
# to validate on. `as_supervised=True` gives `(image, label)` pairs; `with_info=True` also returns
# the label names.

# %%
(raw_train, raw_validation), info = tfds.load(
    "cats_vs_dogs",
    split=["train[:80%]", "train[80%:]"],
    as_supervised=True,
    with_info=True,
)
label_names = info.features["label"].names
print("classes:", label_names)
print("examples in the dataset:", info.splits["train"].num_examples)

# %% [markdown]
# Always look at the data before training on it: the photos come in all sizes and framings.

# %%
plt.figure(figsize=(10, 4))
for i, (image, label) in enumerate(raw_train.take(8)):
    plt.subplot(2, 4, i + 1)
    plt.imshow(image)
    plt.title(label_names[int(label)])
    plt.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Before any transfer: the whole ImageNet classifier
#
# MobileNetV2 *with* its top is a complete classifier for ImageNet's 1000 classes. Run it, as it is,
# on four validation photos: resized to the 224 x 224 pixels it was trained on, scaled by its own
# `preprocess_input`, and named by `decode_predictions` (its three likeliest classes each).

# %%
imagenet_model = keras.applications.MobileNetV2(weights="imagenet")  # 224 x 224 inputs, the 1000-class top
photos = tf.stack([tf.image.resize(tf.cast(image, tf.float32), (224, 224)) for image, _ in raw_validation.take(4)])
probabilities = imagenet_model.predict(keras.applications.mobilenet_v2.preprocess_input(photos), verbose=0)
guesses = keras.applications.mobilenet_v2.decode_predictions(probabilities, top=3)
plt.figure(figsize=(12, 4))
for i, top3 in enumerate(guesses):
    plt.subplot(1, 4, i + 1)
    plt.imshow(photos[i].numpy().astype("uint8"))
    plt.title("\n".join(f"{name} {p:.2f}" for _, name, p in top3), fontsize=9)
    plt.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# What you should see: breeds, not "cat" or "dog" (ImageNet has no such classes: it has about 120 dog
# breeds and a handful of cat breeds), mostly confident for a clear dog photo, and now and then a
# guess for something else in the photo, or a plain mistake, with a low probability. The network
# already tells cats from dogs in its own terms; what it lacks is *our* question. Transfer learning keeps everything up to its last features and replaces
# the 1000-way top with a head for two classes.

# %% [markdown]
# ## 2. Input pipeline
#
# MobileNetV2 wants fixed-size images, so every photo is resized to `IMG_SIZE` x `IMG_SIZE`. We
# keep the pixel values in 0-255 here: the scaling MobileNetV2 expects goes *inside* the model (next
# section), so the saved model can be fed raw photos anywhere. `cache()` keeps the decoded images
# in memory after the first epoch, and `prefetch` overlaps loading with training.

# %%
AUTOTUNE = tf.data.AUTOTUNE
# uint8 in the full profile: it caches all 23,262 photos, 7.1 GB as float32, too much for Colab's free
# machine (12.7 GB of RAM); as uint8 (whole values 0-255), 1.8 GB. The cpu profile's (2,500 at most) stay float32.
CACHE_AS_UINT8 = PROFILE == "full"


def resize(image, label):
    return tf.image.resize(tf.cast(image, tf.float32), (IMG_SIZE, IMG_SIZE)), label


def make_batches(dataset, limit, shuffle):
    if limit is not None:
        dataset = dataset.take(limit)
    dataset = dataset.map(resize, num_parallel_calls=AUTOTUNE)
    if CACHE_AS_UINT8:
        dataset = dataset.map(lambda image, label: (tf.cast(tf.round(image), tf.uint8), label))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(1000, seed=SEED)
    dataset = dataset.batch(CONFIG["batch_size"])
    if CACHE_AS_UINT8:
        dataset = dataset.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    return dataset.prefetch(AUTOTUNE)


train_batches = make_batches(raw_train, CONFIG["max_train"], shuffle=True)
validation_batches = make_batches(raw_validation, CONFIG["max_validation"], shuffle=False)
image_batch, label_batch = next(iter(train_batches))
print("one batch:", image_batch.shape, label_batch.shape)

# %% [markdown]
# ## 3. A frozen pretrained base
#
# `keras.applications.MobileNetV2` with `weights="imagenet"` downloads the ImageNet weights (once).
# `include_top=False` drops the 1000-class ImageNet classifier: we only want the features.
#
# **Your task:** create the base for `IMG_SHAPE` inputs and *freeze* it, so that training changes
# none of its weights. Call it `base_model`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "1a6d328e1548776f7b37ffd77e2ee72b", "grade": false, "grade_id": "base_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()
print("base output:", base_model(image_batch[:1]).shape)

# %% [markdown]
# This test checks that no weight of the base can be trained.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "dc43dc92722301701f27c81a754208b5", "grade": true, "grade_id": "test_base_frozen", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert base_model.trainable is False, "set base_model.trainable = False"
assert not base_model.trainable_weights, "the base still has trainable weights"
print("base frozen: OK")

# %% [markdown]
# ### Why MobileNetV2 is cheap
#
# A standard 3 x 3 convolution from `C_in` to `C_out` channels learns a 3 x 3 x `C_in` filter for each
# output channel. MobileNetV2 splits that in two (a *depthwise-separable* convolution): a **depthwise**
# 3 x 3 convolution filters each input channel on its own, then a **pointwise** 1 x 1 convolution mixes
# the channels. Its blocks are *inverted residuals*: a 1 x 1 `expand` layer widens the channels, the
# depthwise layer filters them, a 1 x 1 `project` layer narrows them again (with no activation), and
# where input and output have the same shape an `add` layer adds the block's input back. Here is one
# block of `base_model`:

# %%
for layer in base_model.layers:
    if layer.name.startswith("block_2_"):
        print(f"{layer.name:22} {type(layer).__name__:20} {tuple(layer.output.shape)}")

# %% [markdown]
# **Your task:** write `conv_costs(height, width, channels_in, channels_out, kernel=3)`: for a
# convolution whose output is `height` x `width` positions, the number of weights (no biases) and of
# multiply-adds, for the standard convolution and for its depthwise-separable version. A convolution
# uses each of its weights once per output position.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "552a6f75ec6abd3dbdbc311aa12c5c8f", "grade": false, "grade_id": "conv_costs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_costs(height, width, channels_in, channels_out, kernel=3):
    """{"standard": {"weights": ..., "mult_adds": ...}, "separable": {"weights": ..., "mult_adds": ...}}"""
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# This check compares your numbers with the layers' own: `block_1_depthwise` and `block_1_project`
# of `base_model` (the separable version), and a standard `Conv2D` built for the same input and
# output. It is not graded: it tells you whether your counting is right.

# %%
depthwise, project = base_model.get_layer("block_1_depthwise"), base_model.get_layer("block_1_project")
_, height, width, channels_in = depthwise.output.shape
channels_out = project.output.shape[-1]
standard_layer = keras.layers.Conv2D(channels_out, 3, strides=2, padding="same", use_bias=False)
standard_layer.build(depthwise.input.shape)
layer_weights = {"standard": standard_layer.count_params(),
                 "separable": depthwise.count_params() + project.count_params()}
costs = conv_costs(height, width, channels_in, channels_out)
for kind, weights in layer_weights.items():
    expected = {"weights": weights, "mult_adds": weights * height * width}
    assert costs[kind] == expected, f"{kind}: you counted {costs[kind]}, the layers have {expected}"
saving = costs["standard"]["mult_adds"] / costs["separable"]["mult_adds"]
print(f"block_1, {channels_in} -> {channels_out} channels at {height} x {width}:")
for kind, cost in costs.items():
    print(f"  {kind:9} {cost['weights']:>7,} weights {cost['mult_adds']:>12,} multiply-adds")
print(f"the separable version does {saving:.1f}x less work")

# %% [markdown]
# What you should see: 20,736 against 3,168 weights, and 6.5x fewer multiply-adds. The saving is
# 1 / (1 / `C_out` + 1 / 9): the wider the output, the closer it gets to 9x. That is why MobileNetV2
# runs on a phone, and why this course can train on a laptop CPU.

# %% [markdown]
# ## 4. A new head
#
# The base turns each image into a 5x5 grid of 1280 features. The head averages the grid into one
# vector, then `Dropout(0.2)`: at each training step it sets each feature to zero with probability
# 0.2 (a fifth of them on average) and scales the others by 1 / 0.8, so that the head cannot lean on a
# few of them (notebook 03 looks at dropout closely). It ends in **one unit with a sigmoid**: the
# probability that the photo shows a dog (label 1).
#
# The model starts with MobileNetV2's own `preprocess_input`
# (`keras.applications.mobilenet_v2.preprocess_input`, called on the model's input), which scales
# pixels from 0-255 to [-1, 1]. The base contains *batch-normalization* layers, which rescale their
# inputs with statistics learned on ImageNet; because the base is frozen, Keras runs them in
# inference mode, with those statistics unchanged, which is what we want for feature extraction
# (notebook 06 says more).
#
# **Your task:** build `model`, a functional Keras model from raw `IMG_SHAPE` images to that one
# probability.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "1d3b2908a3ba5080e2c33081087e3c2b", "grade": false, "grade_id": "head", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()
model.summary()

# %% [markdown]
# The head must give one output per image.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "29269b4315447ee04a9bfcc0d0c205ed", "grade": true, "grade_id": "test_head_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert model.output_shape == (None, 1), f"expected output shape (None, 1), got {model.output_shape}"
print("head shape: OK")

# %% [markdown]
# ## 5. Compile
#
# A sigmoid output is a probability, so the matching loss is binary cross-entropy on
# probabilities (`from_logits=False`). Adam with its default learning rate suits a small head.
#
# **Your task:** compile `model` with a loss that matches its output and the `"accuracy"` metric.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "def50812c54fd578fd3026382aae8776", "grade": false, "grade_id": "compile", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()

# %% [markdown]
# ## 6. Train
#
# We keep a copy of the base's weights first: a frozen base must come out of training
# byte-for-byte unchanged, and a test below checks that. Keras shows a progress bar per epoch.

# %% tags=["training"]
weights_before_training = [w.copy() for w in base_model.get_weights()]
history = model.fit(train_batches, epochs=CONFIG["epochs"], validation_data=validation_batches)

# %% [markdown]
# Learning curves tell more than the last number: validation accuracy close to training accuracy
# means the head generalises; a widening gap would mean overfitting. Validation accuracy can even be
# *higher* than training accuracy: dropout is on while training and off while validating, and the
# training accuracy is an average over the epoch, while the model was still learning, whereas the
# validation accuracy is measured at the end of the epoch.
#
# What to expect: with the `cpu` profile, on the course's offline copies of the photos and weights
# (the machines that test this course have no internet; there `cats_vs_dogs` holds 800 training and
# 200 validation photos, and MobileNetV2's weights are an 8-bit approximation of the official ones),
# the validation accuracy after 3 epochs was 0.95-0.96 over seeds 1-5. The `full` profile on Colab,
# with the official weights and every photo, has not been measured.

# %%
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(11, 4))
epochs_axis = range(1, len(history.history["loss"]) + 1)
for key, style in (("", "-o"), ("val_", "--o")):
    label = "validation" if key else "training"
    ax_acc.plot(epochs_axis, history.history[key + "accuracy"], style, label=label)
    ax_loss.plot(epochs_axis, history.history[key + "loss"], style, label=label)
ax_acc.set(title="Accuracy", xlabel="epoch")
ax_loss.set(title="Loss (binary cross-entropy)", xlabel="epoch")
ax_acc.legend()
ax_loss.legend()
plt.show()

# %% [markdown]
# ## 7. Look at predictions
#
# A grid of validation photos with the model's guess; red titles are mistakes.

# %%
images, labels = next(iter(validation_batches))
probabilities = model.predict(images, verbose=0)[:, 0]
plt.figure(figsize=(10, 8))
for i in range(12):
    predicted = int(probabilities[i] > 0.5)
    plt.subplot(3, 4, i + 1)
    plt.imshow(images[i].numpy().astype("uint8"))
    color = "green" if predicted == int(labels[i]) else "red"
    plt.title(f"{label_names[predicted]} ({probabilities[i]:.2f})", color=color)
    plt.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Save the model
#
# The saved `.keras` file holds the whole model, preprocessing included: it takes raw RGB photos
# (0-255) resized to `IMG_SIZE`. Grading measures this file, outside your notebook.

# %%
MODEL_PATH = "cats_vs_dogs.keras"
model.save(MODEL_PATH)
print("saved", MODEL_PATH, f"({os.path.getsize(MODEL_PATH) / 1e6:.1f} MB)")

# %% [markdown]
# ## 9. Grading checks
#
# The next three tests are hidden: their checks are added when your notebook is graded.
#
# First: the base's weights did not move while the head trained.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "0402efeb4ac0822eee3005c3c65e8e7b", "grade": true, "grade_id": "test_base_unchanged", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the base's weights are identical before and after training.

# %% [markdown]
# Next: the loss matches what the last layer outputs (probabilities or logits).

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "4aab747f80d879cd23ef81992d149700", "grade": true, "grade_id": "test_loss_matches_activation", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden test: the loss is consistent with the output layer's activation.

# %% [markdown]
# Last, your notebook's own test: accuracy on your validation photos reaches 0.90. At grading, the
# grader also measures your saved model on held-back photos (photos your notebook never loads; see "How
# this notebook is graded").

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "3c3ba6d2ca7a453f261585cae61ae8dc", "grade": true, "grade_id": "test_validation_accuracy", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden test: validation accuracy reaches the threshold.

# %% [markdown]
# ## 10. The same idea with TF-Hub
#
# TF-Hub publishes feature extractors as SavedModels. `hub.KerasLayer` wraps one as a layer, but
# it is built for the Keras 2 API, which now lives in the `tf_keras` package: a Keras 3 model
# cannot hold it. So this section uses `tf_keras`. Hub image modules expect pixels in [0, 1].

# %%
import tensorflow_hub as hub
import tf_keras

HUB_HANDLE = "https://tfhub.dev/google/tf2-preview/mobilenet_v2/feature_vector/4"
hub_model = tf_keras.Sequential([
    tf_keras.layers.Rescaling(1.0 / 255, input_shape=IMG_SHAPE),
    hub.KerasLayer(HUB_HANDLE, trainable=False),
    tf_keras.layers.Dense(1, activation="sigmoid"),
])
hub_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
hub_model.summary()

# %% [markdown]
# One epoch of the hub model, next to the Keras model's first epoch above: both put a new head on a
# frozen MobileNetV2 trained on ImageNet, so both should already separate cats from dogs well.

# %%
hub_history = hub_model.fit(train_batches, epochs=1, validation_data=validation_batches)
print(f"validation accuracy after 1 epoch: TF-Hub head {hub_history.history['val_accuracy'][-1]:.3f} | "
      f"Keras head {history.history['val_accuracy'][0]:.3f}")

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
    "01_cats_vs_dogs",
    release_url="https://raw.githubusercontent.com/transfer-learning-course/transfer-learning-course/main/notebooks/01_cats_vs_dogs.ipynb",
    tested={
        'read': ['all', 'getattr', 'hasattr', 'int', 'isinstance', 'keras', 'len', 'np', 'print', 'str', 'zip'],
        'attributes': ['__name__', 'activation', 'argmax', 'array_equal', 'astype', 'get', 'get_config', 'get_weights', 'layers', 'loss', 'losses', 'numpy', 'output_shape', 'predict', 'shape', 'sum', 'trainable', 'trainable_weights'],
        'called': ['argmax', 'array_equal', 'astype', 'get', 'get_config', 'get_weights', 'numpy', 'predict', 'sum'],
        'bound': [],
    },
)


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
# # 07 · Your own images: from scratch, or transfer learning?
#
# The other notebooks load datasets that someone prepared. Your own photos usually come as a folder
# with one sub-folder per class. This notebook takes such a folder, trains two classifiers on the
# same photos with the same budget, and shows why transfer learning is the default for small datasets:
#
# 1. a folder of class folders, read with `keras.utils.image_dataset_from_directory`,
# 2. augmentation layers,
# 3. a small convnet trained **from scratch**, against a **frozen MobileNetV2** with a new head,
#    both stopped by `EarlyStopping`,
# 4. one plot of both learning curves,
# 5. a prediction on one photo you supply, with its top classes,
# 6. the model exported as a `.keras` file and as a TFLite file, checked to give the same answers.
#
# Run the visible tests as you go; more tests run when your notebook is graded.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, your notebook is run from the top in a fresh kernel without internet, and hidden tests are added to its test cells. A test earns its points when its test cell passes and the grader's own check, run outside your notebook on the files it saved or the code you wrote, confirms its line below: that way a result counts only if it is real. The lines below are the grader's checks. Your notebook's own test cells are described in the text above each of them: where they measure accuracy, it is on your validation photos, and their thresholds can differ from the grader's; where a line below names held-back photos, the grader measures your saved files on those photos. A test needs both to pass.
#
# - `test_transfer_model` (3 points): no layer of the pretrained base in your saved model can train; your saved model ends in a softmax output of shape (None, 5).
# - `test_export` (2 points): `my_images.tflite` gives your saved model's probabilities, within 0.001, on 32 of the 250 flower photos (50 per class) held back from the flower photos your notebook loads when graded.
# - `test_transfer_accuracy` (2 points): your saved model reaches 0.60 accuracy on those held-back photos.
# - `test_transfer_beats_scratch` (2 points): on those held-back photos, your saved model `my_images_transfer.keras` is at least 0.20 more accurate than `my_images_scratch.keras` (from scratch), which must itself reach 0.30, so that only a comparison with a really trained model counts.
#
# Code that tampers with the tests (such as replacing a function they call) is flagged for your instructor to review, and the tests' points then rest on the grader's own checks alone; ordinary code, such as any import, `%%time` or `!pip`, is never flagged.
#
# Your feedback page shows your cells' outputs only up to the first test cell with hidden tests; run the notebook yourself to see the rest. A line such as `METRIC val_accuracy=0.9500` in a test's output is a number that test measured, written so that a program can read it.

# %% [markdown]
# ## Setup
#
# One seed for Python, NumPy and TensorFlow, so that your run and the grading run split, shuffle,
# augment and initialise alike (on a GPU, some operations are not bit-for-bit repeatable, so numbers can
# still differ slightly from run to run). `COURSE_SEED` lets you try others.

# %%
import os
import pathlib
import shutil
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

SEED = int(os.environ.get("COURSE_SEED", "42"))
keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__, "| seed", SEED)

# %% [markdown]
# The `cpu` profile keeps a laptop run short: 80 photos per class at 128 x 128 pixels.
# The `full` profile (a Colab GPU) uses every photo at 160 x 160. Both give the two models the same
# budget: at most `max_epochs`, stopped early the same way.

# %%
PROFILES = {
    "cpu": {"image_size": 128, "batch_size": 32, "max_epochs": 20, "patience": 3, "per_class": 80},
    "full": {"image_size": 160, "batch_size": 32, "max_epochs": 20, "patience": 4, "per_class": None},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
IMG_SIZE = CONFIG["image_size"]
IMG_SHAPE = (IMG_SIZE, IMG_SIZE, 3)
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. A folder of class folders
#
# `image_dataset_from_directory` expects this layout, one folder per class, the folder names being
# the class names:
#
# ```
# my_photos/
#     daisy/      photo1.jpg  photo2.jpg ...
#     roses/      ...
# ```
#
# The default is TensorFlow's `flower_photos` archive (five kinds of flowers). `get_file` downloads
# it once into Keras's cache and unpacks it.

# %%
FLOWERS_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
flowers_dir = pathlib.Path(keras.utils.get_file("flower_photos", origin=FLOWERS_URL, extract=True)) / "flower_photos"
print("downloaded:", sorted(p.name for p in flowers_dir.iterdir() if p.is_dir()))

# %% [markdown]
# **With your own photos.** Set `MY_PHOTOS` to a folder with one sub-folder per class: a folder on
# your own machine, or on Colab a folder in your Google Drive (`"/content/drive/..."`, mounted for you),
# or `"upload"` to upload a zip of that layout (Drive and upload need Colab). Left at `None`, the
# notebook uses the flowers. The results quoted below were measured on the flowers only; with a few
# dozen photos per class of your own, expect noisier numbers, since a validation set of a few photos
# per class moves a lot with each mistake.
#
# **Before you hand the notebook in, set `MY_PHOTOS` back to `None`:** its tests and its grading use
# the flower photos.

# %%
MY_PHOTOS = None  # e.g. "my_photos", "/content/drive/MyDrive/my_photos", or "upload" to upload a zip

# Only uploading and Google Drive need Colab; a local folder is used as it is.
if MY_PHOTOS == "upload" or str(MY_PHOTOS).startswith("/content/drive"):
    try:
        from google.colab import drive, files
    except ImportError:
        raise RuntimeError("MY_PHOTOS: uploading a zip or mounting Google Drive needs Colab; "
                           "outside Colab, set MY_PHOTOS to a local folder of class folders") from None
    if MY_PHOTOS == "upload":
        uploaded = files.upload()  # a zip whose top level holds the class folders
        archive_name = next(iter(uploaded))
        shutil.unpack_archive(archive_name, "my_photos")
        MY_PHOTOS = "my_photos"
    else:
        drive.mount("/content/drive")
if MY_PHOTOS is not None and not pathlib.Path(MY_PHOTOS).is_dir():
    raise FileNotFoundError(f"MY_PHOTOS={MY_PHOTOS!r} is not a folder: give a folder with one sub-folder per class")

# %% [markdown]
# A small copy of the folder, `per_class` photos of each class (the `cpu` profile), keeps the run
# short and shows the layout the loader wants. Your own photos are used as they are.

# %%
def small_copy(source, target, per_class):
    """Copy the first `per_class` photos (by name) of each class folder of `source` into `target`."""
    shutil.rmtree(target, ignore_errors=True)
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        (target / class_dir.name).mkdir(parents=True)
        for photo in sorted(class_dir.glob("*.jpg"))[:per_class]:
            shutil.copy(photo, target / class_dir.name / photo.name)
    return target


if MY_PHOTOS is not None:
    data_dir = pathlib.Path(MY_PHOTOS)
elif CONFIG["per_class"]:
    data_dir = small_copy(flowers_dir, pathlib.Path("my_photos"), CONFIG["per_class"])
else:
    data_dir = flowers_dir
for class_dir in sorted(p for p in data_dir.iterdir() if p.is_dir()):
    print(f"{class_dir.name:12s} {len(list(class_dir.iterdir()))} photos")

# %% [markdown]
# ## 2. Load it with `image_dataset_from_directory`
#
# One call reads the folder, resizes every photo and batches them. `validation_split` with
# `subset="both"` keeps 20% aside for validation; the same `seed` makes the split the same on every
# run. The labels are integers in the order of `class_names` (alphabetical).

# %%
train_ds, validation_ds = keras.utils.image_dataset_from_directory(
    data_dir,
    validation_split=0.2,
    subset="both",
    seed=SEED,
    image_size=(IMG_SIZE, IMG_SIZE),
    batch_size=CONFIG["batch_size"],
)
class_names = train_ds.class_names
NUM_CLASSES = len(class_names)
print("classes:", class_names)

# %% [markdown]
# Nine training photos with their labels: a quick check that the folders mean what we think.

# %%
plt.figure(figsize=(8, 8))
for images, labels in train_ds.take(1):
    for i in range(9):
        plt.subplot(3, 3, i + 1)
        plt.imshow(images[i].numpy().astype("uint8"))
        plt.title(class_names[int(labels[i])])
        plt.axis("off")
plt.show()

# %% [markdown]
# `cache` keeps the decoded photos in memory after the first epoch and `prefetch` prepares the next
# batch while the current one trains. `cache` also changes the order: `image_dataset_from_directory`
# shuffles the training photos (`shuffle=True` by default) and would draw a new order every epoch, but
# a cache placed *after* that shuffle stores the first epoch's batches, so every later epoch replays
# them in that same order (augmentation, inside the model, still changes the photos every epoch). The
# usual order is `.cache()` first, then `.shuffle(...)`, so that each epoch gets a new order; this
# notebook keeps the simpler pipeline below, and its quoted results were measured with it.

# %%
AUTOTUNE = tf.data.AUTOTUNE
train_ds = train_ds.cache().prefetch(AUTOTUNE)
validation_ds = validation_ds.cache().prefetch(AUTOTUNE)

# %% [markdown]
# ## 3. Augmentation layers
#
# With a few hundred photos, a model sees each one many times and starts to learn them by heart.
# Random flips, rotations (`RandomRotation(0.1)`: up to 0.1 of a full turn either way, ±36°) and zooms
# show it a slightly different photo every time. As layers inside the model, they run only while
# training (`fit`); `evaluate` and `predict` see the photos as they are.
#
# Augmentation can also live in the `tf.data` pipeline, as in 06. Both are valid. Inside the model (here
# and in 05), it runs with the model, on the GPU if there is one, and the saved model carries the layers
# (they do nothing at inference). In the pipeline, it runs on the CPU while the model trains, and the
# saved model holds no augmentation at all.

# %%
augmentation = keras.Sequential(
    [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.1),
        keras.layers.RandomZoom(0.1),
    ],
    name="augmentation",
)

# %% [markdown]
# Nine random versions of one photo.

# %%
plt.figure(figsize=(8, 8))
for images, _ in train_ds.take(1):
    for i in range(9):
        plt.subplot(3, 3, i + 1)
        plt.imshow(augmentation(images[:1], training=True)[0].numpy().astype("uint8"))
        plt.axis("off")
plt.show()

# %% [markdown]
# ## 4. A small convnet from scratch
#
# Three convolution blocks learn their own filters from these photos alone, starting from random
# weights: a small convnet in the style of *Deep Learning with Python* (chapter 5), whose own has four
# convolution blocks and a `Dense(512)` layer; this one is smaller, with global average pooling, and
# with augmentation and dropout against overfitting. `Rescaling` maps pixels from 0-255 to 0-1.

# %%
def build_scratch_model(num_classes):
    inputs = keras.Input(shape=IMG_SHAPE)
    x = augmentation(inputs)
    x = keras.layers.Rescaling(1.0 / 255)(x)
    for filters in (32, 64, 128):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="from_scratch")


scratch_model = build_scratch_model(NUM_CLASSES)
print(f"from scratch: {scratch_model.count_params():,} weights, all trainable")

# %% [markdown]
# ## 5. Transfer learning: a frozen MobileNetV2 and a new head
#
# MobileNetV2 learned its filters from 1.3 million ImageNet photos. Frozen, it turns each photo into
# 1280 features (`pooling="avg"`), and only a new head learns, from your photos.
#
# Why `training=False`? The base holds batch-normalization layers. Because the base is frozen, they
# already run in inference mode, with their ImageNet statistics (as in 01); `training=False` on the
# call is the habit from Keras's transfer-learning guide, meant to keep them so if the base is unfrozen
# later. In the Keras this course installs (3.15.1), that argument alone does not keep them so once
# layers are trainable again: 06 explains why it freezes each batch-normalization layer instead.
#
# The head is yours to design. Between the 1280 features and the output you can put nothing, a
# `Dropout` (it switches off a random share of the features at each step, so the head cannot lean on a
# few of them), a hidden `Dense` layer (more capacity, and more weights to fit from a few hundred
# photos), or both. With a few hundred training photos (320 in the `cpu` profile), every weight the head
# adds is one more to learn from them: section 7's curves show whether your head overfits (training far
# above validation) or learns too little (both low).
#
# **Your task:** write `build_transfer_model(num_classes)`: `Input(IMG_SHAPE)` -> `augmentation` ->
# `keras.applications.mobilenet_v2.preprocess_input` (or an equivalent rescaling to [-1, 1]) -> a
# **frozen** `MobileNetV2(include_top=False, weights="imagenet", pooling="avg")` called with
# `training=False` -> **your head**, ending in `Dense(num_classes, activation="softmax")`. After
# section 7 you will say in a few sentences why you chose it.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "95def560b642b170c0924b7870e7d608", "grade": false, "grade_id": "build_transfer_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_transfer_model(num_classes):
    # YOUR CODE HERE
    raise NotImplementedError()


transfer_model = build_transfer_model(NUM_CLASSES)
print(f"transfer: {transfer_model.count_params():,} weights, {sum(w.numpy().size for w in transfer_model.trainable_weights):,} trainable")

# %% [markdown]
# The pretrained base must not train, and the head must give one probability per class.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "c875c1d629e97eb9957722007f5df6b5", "grade": true, "grade_id": "test_transfer_model", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_base = max((layer for layer in transfer_model.layers if isinstance(layer, keras.Model) and layer.name != "augmentation"),
            key=lambda m: m.count_params())
assert not _base.trainable_weights, "the MobileNetV2 base must be frozen (base.trainable = False)"
assert transfer_model.output_shape == (None, NUM_CLASSES), f"output shape {transfer_model.output_shape}"
assert transfer_model.layers[-1].activation.__name__ == "softmax", "end with a softmax over the classes"
print("transfer model: OK")

# %% [markdown]
# ## 6. Train both, with the same budget
#
# `EarlyStopping(restore_best_weights=True)` watches the validation loss, stops when it has not improved
# for `patience` epochs, and puts back the weights of the best epoch. 05's `StopAtAccuracy` stopped at a
# fixed target on the *training* accuracy; this one stops when *validation* stops improving, which is
# what you want when you do not know in advance how good a model can get.
#
# **Your task:** create `early_stopping`, an `EarlyStopping` on `val_loss` with `CONFIG["patience"]`
# and `restore_best_weights=True`.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "c1314c6b9a4a12a794f17a82687c96c9", "grade": false, "grade_id": "early_stopping", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()

# %% [markdown]
# Both models: Adam, sparse categorical cross-entropy (integer labels), accuracy. The learning rate is
# 3e-3, three times Adam's default, so that both models make real progress within the small budget of
# epochs. `verbose=2` prints one line per epoch. The seed is reset just before each model trains, so
# both trainings draw their random augmentations and dropout from the same starting point; each
# model's starting weights were drawn earlier, when it was built.

# %% tags=["training"]
histories = {}
for name, model in (("from scratch", scratch_model), ("transfer", transfer_model)):
    keras.utils.set_random_seed(SEED)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    histories[name] = model.fit(train_ds, validation_data=validation_ds, epochs=CONFIG["max_epochs"],
                                callbacks=[early_stopping], verbose=2).history
    print(f"{name}: {len(histories[name]['loss'])} epochs in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## 7. Both learning curves on one plot
#
# Same photos, same epochs at most, same stopping rule: the only difference is where the filters come
# from.

# %%
fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(12, 4))
for (name, h), color in zip(histories.items(), ("tab:orange", "tab:blue"), strict=True):
    epochs_axis = range(1, len(h["loss"]) + 1)
    ax_acc.plot(epochs_axis, h["accuracy"], "--", color=color, label=f"{name}, training")
    ax_acc.plot(epochs_axis, h["val_accuracy"], color=color, label=f"{name}, validation")
    ax_loss.plot(epochs_axis, h["loss"], "--", color=color, label=f"{name}, training")
    ax_loss.plot(epochs_axis, h["val_loss"], color=color, label=f"{name}, validation")
ax_acc.set(title="Accuracy", xlabel="epoch", ylim=(0, 1))
ax_loss.set(title="Loss", xlabel="epoch")
for ax in (ax_acc, ax_loss):
    ax.grid(alpha=0.3)
    ax.legend()
plt.show()

# %% [markdown]
# The restored best weights of each model, measured on the validation photos.

# %%
val_accuracy = {name: model.evaluate(validation_ds, verbose=0)[1]
                for name, model in (("from scratch", scratch_model), ("transfer", transfer_model))}
for name, accuracy in val_accuracy.items():
    print(f"{name:12s} validation accuracy {accuracy:.3f}")

# %% [markdown]
# **Reading the result.** Measured with the `cpu` profile on the course's offline copies of the photos
# and weights (the machines that test this course have no internet; their MobileNetV2 weights are an
# 8-bit approximation of the official ones), over seeds 1-5, 14 and 42, on the 80 validation photos: from
# scratch, the convnet reaches 0.39-0.58; the frozen MobileNetV2 with a new head 0.71-0.84, on the same
# 320 training photos with the same budget: better by 0.21 to 0.43 on every seed. On 250 other flower
# photos, held back from that copy, 0.80-0.87 against 0.40-0.47. The `full` profile on Colab (every
# photo at 160 px, the official weights) has not been measured. MobileNetV2's filters were learned from
# more than a million photos; the small convnet has only a few hundred to learn its own from.
#
# Heads other than this notebook's (`Dropout(0.2)` and the output layer) were measured the same way, on
# the 250 held-back photos: see "How this notebook is graded" for the threshold every reasonable head
# clears.

# %% [markdown]
# **Your turn: explain your head.** In two or three sentences: what did you put between the base and
# the output, and why? What do your transfer model's curves above show about that choice: do training
# and validation accuracy stay close, or does training run away from validation? Your instructor reads
# this answer; no automatic test grades it.

# %% [markdown]
# *Your answer here.*

# %% [markdown]
# ## 8. Predict a photo of your own
#
# `load_img` reads any photo and resizes it; the model answers with one probability per class. The
# default is a sunflower photo; on Colab, upload yours (the folder icon on the left) and set `MY_PHOTO`
# to its path, e.g. `"/content/my_photo.jpg"`.

# %%
MY_PHOTO = keras.utils.get_file(
    "Red_sunflower", origin="https://storage.googleapis.com/download.tensorflow.org/example_images/592px-Red_sunflower.jpg"
)
image = keras.utils.load_img(MY_PHOTO, target_size=(IMG_SIZE, IMG_SIZE))
probabilities = transfer_model.predict(np.expand_dims(keras.utils.img_to_array(image), 0), verbose=0)[0]
top = np.argsort(probabilities)[::-1][:3]
for index in top:
    print(f"{class_names[index]:12s} {probabilities[index]:.3f}")

# %% [markdown]
# The photo beside its top classes.

# %%
fig, (ax_photo, ax_bars) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_photo.imshow(image)
ax_photo.axis("off")
ax_bars.barh([class_names[i] for i in top[::-1]], probabilities[top[::-1]])
ax_bars.set(xlim=(0, 1), xlabel="probability", title="top classes")
plt.show()

# %% [markdown]
# ## 9. Export
#
# Two files. The `.keras` file is the whole model (layers, weights, training settings) for Keras and
# Python. The TFLite file is the model converted for phones and small devices; only inference survives.
# The from-scratch model is saved too: at grading, the grader compares `my_images_transfer.keras` with
# `my_images_scratch.keras` on held-back photos (photos your notebook never loads; see "How this notebook
# is graded").

# %%
transfer_model.save("my_images_transfer.keras")
scratch_model.save("my_images_scratch.keras")

# %% [markdown]
# **Your task:** export `transfer_model` to `my_images.tflite` with `model.export(..., format="litert")`
# (LiteRT is TFLite's new name). The converter traces the model in inference mode, so the augmentation
# layers do nothing in the exported file.

# %% deletable=false nbgrader={"cell_type": "code", "checksum": "7e49dab7655a01947873d23b40fe702e", "grade": false, "grade_id": "export", "locked": false, "schema_version": 3, "solution": true, "task": false}
# YOUR CODE HERE
raise NotImplementedError()

# %% [markdown]
# The size of each file, then the same photos through both: the TFLite interpreter (`tf.lite.Interpreter`;
# its successor is the `ai_edge_litert` package) must give the same probabilities as Keras.

# %%
for file_name in ("my_images_transfer.keras", "my_images.tflite"):
    print(f"{file_name:26s} {os.path.getsize(file_name) / 1e6:5.1f} MB")

interpreter = tf.lite.Interpreter(model_path="my_images.tflite")
input_index = interpreter.get_input_details()[0]["index"]
output_index = interpreter.get_output_details()[0]["index"]
photos, _ = next(iter(validation_ds))
interpreter.resize_tensor_input(input_index, photos.shape)
interpreter.allocate_tensors()
interpreter.set_tensor(input_index, photos.numpy())
interpreter.invoke()
tflite_probabilities = interpreter.get_tensor(output_index)
keras_probabilities = transfer_model.predict(photos, verbose=0)
export_difference = float(np.abs(tflite_probabilities - keras_probabilities).max())
print(f"{len(photos)} photos: largest difference {export_difference:.2e}, same top class for "
      f"{np.mean(tflite_probabilities.argmax(1) == keras_probabilities.argmax(1)):.0%}")

# %% [markdown]
# ## 10. Grading checks
#
# The exported model answers like the Keras model: its probabilities differ by less than 0.001.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "d78728e24aed594f18dedd9dbd3fc0d4", "grade": true, "grade_id": "test_export", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert os.path.isfile("my_images.tflite"), "export the transfer model to my_images.tflite"
assert export_difference < 1e-3, f"the TFLite model's probabilities differ from Keras's by {export_difference:.2e}"
print("export: OK")

# %% [markdown]
# This test is hidden, like the next: its checks are added when your notebook is graded. Your
# notebook's own test: the transfer model reaches 0.60 accuracy on your validation photos. At grading,
# the grader also measures `my_images_transfer.keras` on the held-back photos, with the threshold in
# "How this notebook is graded".

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "ad328780a3354ad6fe9a88e0346e1d43", "grade": true, "grade_id": "test_transfer_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: validation accuracy of the transfer model.

# %% [markdown]
# Last, your notebook's own test: on the same photos and budget, transfer learning beats training from
# scratch by at least 0.10 in accuracy on your validation photos. At grading, the grader asks more on the
# held-back photos: at least 0.20, with a from-scratch model that reaches 0.30 itself (see "How this
# notebook is graded").

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "e2e6b6305022d5a7e89c2042dde2c1f4", "grade": true, "grade_id": "test_transfer_beats_scratch", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Hidden test: validation accuracy of transfer minus that of the from-scratch convnet.

# %% [markdown]
# ## What to take away
#
# - A folder of class folders is all `image_dataset_from_directory` needs; `validation_split` and a
#   seed give a repeatable split.
# - Augmentation layers in the model run while training and stay off at inference; in the pipeline
#   (06) they work as well and leave the saved model without them.
# - On a few hundred photos, a pretrained base wins by a wide margin over filters learned from scratch.
# - `EarlyStopping(restore_best_weights=True)` stops on validation and keeps the best epoch.
# - A `.keras` file for Keras, a TFLite file for devices: check that both answer the same.

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
    "07_your_own_images",
    release_url="https://raw.githubusercontent.com/transfer-learning-course/transfer-learning-course/main/notebooks/07_your_own_images.ipynb",
    tested={
        'read': ['isinstance', 'keras', 'max', 'os', 'print'],
        'attributes': ['Model', '__name__', 'activation', 'count_params', 'isfile', 'join', 'layers', 'name', 'output_shape', 'path', 'trainable_weights'],
        'called': ['count_params', 'isfile', 'join'],
        'bound': [],
    },
)


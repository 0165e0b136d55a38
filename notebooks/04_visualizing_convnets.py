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
# # 04 · Visualizing what a convnet learns
#
# Transfer learning works because a network trained on ImageNet has learned features that are useful
# for other photos too. In this notebook you *look* at those features in a pretrained **MobileNetV2**,
# in three classic ways:
#
# 1. **intermediate activations**: what each layer makes of one real photo,
# 2. **filter patterns**: the input image each filter likes best, found by gradient ascent,
# 3. **Grad-CAM**: which part of a photo made the network choose a class.
#
# No training here: every picture comes from the frozen ImageNet weights. Test cells are locked (you
# cannot edit them) and check your work: run them as you go. Some hold only a `# Hidden test` comment:
# their checks are added when your notebook is graded.
#
# Where this lesson describes what the pictures show, it describes runs with the course's offline copy
# of MobileNetV2's weights (the machines that test this course have no internet; their weights are an
# 8-bit approximation of the official ones). On Colab you load the official weights, which nobody has
# measured with this notebook yet: trust what your own run shows.

# %% [markdown] tags=["how-graded"]
# ## How this notebook is graded
#
# When you hand it in, your notebook is run from the top in a fresh kernel without internet, and hidden tests are added to its test cells. A test earns its points when its test cell passes and the grader's own check, run outside your notebook on the files it saved or the code you wrote, confirms its line below: that way a result counts only if it is real. The lines below are the grader's checks. Your notebook's own test cells are described in the text above each of them: where they measure accuracy, it is on your validation photos, and their thresholds can differ from the grader's; where a line below names held-back photos, the grader measures your saved files on those photos. A test needs both to pass.
#
# - `test_get_activations` (2 points): your `get_activations` returns each named layer's real output, in order, without the batch axis.
# - `test_grad_cam_shape` (2 points): your `grad_cam` returns a finite 7x7 map with values in [0, 1].
# - `test_grad_cam_localises` (3 points): your `grad_cam` map for each dog's breed peaks on that dog (left of the middle column for the left dog, right of it for the right dog), on the photo and on the photo flipped left to right, where the dogs swap sides; and on two crops of the photo, your map for a class among the crop's top three shows what the grader's own Grad-CAM shows.
#
# Code that tampers with the tests (such as replacing a function they call) is flagged for your instructor to review, and the tests' points then rest on the grader's own checks alone; ordinary code, such as any import, `%%time` or `!pip`, is never flagged.
#
# Your feedback page shows your cells' outputs only up to the first test cell with hidden tests; run the notebook yourself to see the rest. A line such as `METRIC val_accuracy=0.9500` in a test's output is a number that test measured, written so that a program can read it.

# %% [markdown]
# ## Setup
#
# Imports first, then one seed for Python, NumPy and TensorFlow: the gradient-ascent images start
# from random noise, and the seed makes every run draw the same noise.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

SEED = int(os.environ.get("COURSE_SEED", "42"))
keras.utils.set_random_seed(SEED)
print("TensorFlow", tf.__version__, "| Keras", keras.__version__)

# %% [markdown]
# The same notebook runs on a laptop CPU and on a Colab GPU. A *profile* sets how much work to do:
# here only the number of gradient-ascent steps differs (`cpu` is quick, `full` gives cleaner
# patterns). It is picked from the hardware; set `COURSE_PROFILE=cpu` or `full` to override.

# %%
PROFILES = {
    # filter_size: input size of the model used for gradient ascent (smaller is cheaper).
    "cpu": {"filter_size": 128, "filter_steps": 30, "filters_per_layer": 6},
    "full": {"filter_size": 128, "filter_steps": 100, "filters_per_layer": 6},
}
PROFILE = os.environ.get("COURSE_PROFILE") or ("full" if tf.config.list_physical_devices("GPU") else "cpu")
if PROFILE not in PROFILES:
    raise ValueError(f"COURSE_PROFILE={PROFILE!r}: choose one of {sorted(PROFILES)}")
CONFIG = PROFILES[PROFILE]
print(f"profile: {PROFILE} -> {CONFIG}")

# %% [markdown]
# ## 1. Two photos
#
# `keras.utils.get_file` downloads a file once and caches it under `~/.keras/datasets`. We use the
# portrait of Grace Hopper from the TensorFlow tutorials and a photo of two dogs playing on a lawn.

# %%
PETS_URL = "https://raw.githubusercontent.com/google-coral/test_data/master/pets.jpg"
pets_path = keras.utils.get_file("pets.jpg", PETS_URL)
GRACE_HOPPER_URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/grace_hopper.jpg"
hopper_path = keras.utils.get_file("grace_hopper.jpg", GRACE_HOPPER_URL)

pets_photo = keras.utils.load_img(pets_path)
hopper_photo = keras.utils.load_img(hopper_path)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, photo, title in zip(axes, (hopper_photo, pets_photo), ("grace_hopper.jpg", "pets.jpg"), strict=True):
    ax.imshow(photo)
    ax.set_title(f"{title} {photo.size[0]}x{photo.size[1]}")
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. The pretrained classifier
#
# `MobileNetV2(weights="imagenet")` with its 1000-class ImageNet top takes 224x224 images scaled to
# [-1, 1]. `prepare` loads a photo at that size and applies MobileNetV2's own `preprocess_input`; it
# returns **one image without a batch dimension**, shape `(224, 224, 3)`. All functions below take
# images in this form.

# %%
IMG_SIZE = 224
model = keras.applications.MobileNetV2(weights="imagenet")


def prepare(path, size=IMG_SIZE):
    image = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(size, size)))
    return keras.applications.mobilenet_v2.preprocess_input(image)


hopper_image = prepare(hopper_path)
pets_image = prepare(pets_path)
print("one prepared image:", hopper_image.shape, f"values in [{hopper_image.min():.1f}, {hopper_image.max():.1f}]")

# %% [markdown]
# Before looking inside, check what the network sees. `decode_predictions` turns the 1000
# probabilities into the top-5 ImageNet class names.

# %%
decode_predictions = keras.applications.mobilenet_v2.decode_predictions
for name, image in (("grace_hopper", hopper_image), ("pets", pets_image)):
    probabilities = model.predict(image[np.newaxis], verbose=0)
    print(name)
    for _, label, p in decode_predictions(probabilities, top=5)[0]:
        print(f"  {label:32s} {p:.3f}")

# %% [markdown]
# ## 3. Intermediate activations
#
# Every convolutional layer outputs a stack of *feature maps*, one per filter: where in the image
# that filter found its pattern. A Keras functional model can expose any layer: a new
# `keras.Model(model.input, [layer outputs])` shares the weights and stops where you ask.
#
# **Your task:** write `get_activations(model, image, layer_names)`. `image` is one prepared image,
# shape `(H, W, 3)`. Return a list with one NumPy array per name in `layer_names`, in that order,
# **without the batch dimension**: each array's shape is the layer's output shape minus its first
# axis, e.g. `(112, 112, 32)` for `Conv1_relu` at 224 px.


# %% deletable=false nbgrader={"cell_type": "code", "checksum": "b6f65117c5d9532bdfb9a38046d0f664", "grade": false, "grade_id": "get_activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
def get_activations(model, image, layer_names):
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# This test checks the number, order and shapes of the arrays you return.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "e4d828762f28dab20bd0e04c89e30020", "grade": true, "grade_id": "test_get_activations", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_names = ["Conv1_relu", "block_6_expand_relu", "out_relu"]
_acts = get_activations(model, hopper_image, _names)
assert isinstance(_acts, list) and len(_acts) == 3, "return a list with one array per layer name"
for _name, _a in zip(_names, _acts, strict=True):
    _expected = tuple(model.get_layer(_name).output.shape[1:])
    assert tuple(np.shape(_a)) == _expected, f"{_name}: expected shape {_expected} (no batch axis), got {np.shape(_a)}"
print("get_activations shapes: OK")

# %% [markdown]
# Now the pictures: four layers from early to late, for the Grace Hopper photo. Each row
# shows the 8 feature maps of that layer with the strongest mean activation (many filters stay
# silent on any one photo). Bright means "pattern found here".

# %%
ACTIVATION_LAYERS = ["Conv1_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu"]
activations = get_activations(model, hopper_image, ACTIVATION_LAYERS)

n_maps = 8
fig, axes = plt.subplots(len(ACTIVATION_LAYERS), n_maps + 1, figsize=(15, 7.5))
for row, (name, maps) in zip(axes, zip(ACTIVATION_LAYERS, activations, strict=True), strict=True):
    row[0].imshow(hopper_photo.resize((IMG_SIZE, IMG_SIZE)))
    row[0].set_title(f"{name}\n{maps.shape[0]}x{maps.shape[1]}, {maps.shape[2]} maps", fontsize=8)
    strongest = np.argsort(maps.mean(axis=(0, 1)))[::-1][:n_maps]
    for ax, channel in zip(row[1:], strongest, strict=True):
        ax.imshow(maps[:, :, channel], cmap="viridis")
        ax.set_title(f"#{channel}", fontsize=8)
    for ax in row:
        ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The early layer is still a photo: edge and colour detectors that keep almost all the detail. Deeper
# maps get coarser (112 → 56 → 28 → 14 pixels) and more abstract: they answer "is there an eye,
# fabric, a face here?" rather than "is there an edge". These abstract features are what a new head
# reuses in transfer learning.

# %% [markdown]
# ## 4. Filter patterns by gradient ascent
#
# What does one filter respond to? Start from a noisy grey image and repeatedly change the *image*
# (not the weights) in the direction that increases that filter's mean activation: gradient
# **ascent** in input space. A frozen MobileNetV2 without its top accepts smaller inputs, so we use
# the 128 px weights to keep this cheap.

# %%
FILTER_SIZE = CONFIG["filter_size"]
filter_model = keras.applications.MobileNetV2(
    input_shape=(FILTER_SIZE, FILTER_SIZE, 3), include_top=False, weights="imagenet"
)
FILTER_LAYERS = ["block_1_expand_relu", "block_6_expand_relu", "block_13_expand_relu"]
for name in FILTER_LAYERS:
    print(f"{name:22s} output {filter_model.get_layer(name).output.shape}")

# %% [markdown]
# One step: the loss is the filter's mean activation; its gradient with respect to the image says how
# to change every pixel. Normalising the gradient to unit length keeps the step size the same for
# every filter. `tf.function` compiles the step into a graph, which is much faster than eager mode.


# %%
def make_ascent_step(feature_extractor, learning_rate=10.0):
    @tf.function
    def ascent_step(image, filter_index):
        with tf.GradientTape() as tape:
            tape.watch(image)
            activation = tf.gather(feature_extractor(image), filter_index, axis=-1)
            loss = tf.reduce_mean(activation)
        gradient = tf.math.l2_normalize(tape.gradient(loss, image))
        return image + learning_rate * gradient, loss

    return ascent_step


def filter_pattern(ascent_step, filter_index, steps):
    # Small noise around 0, i.e. around mid-grey in MobileNetV2's [-1, 1] input scale.
    image = tf.random.uniform((1, FILTER_SIZE, FILTER_SIZE, 3), -0.2, 0.2)
    for _ in range(steps):
        # A tensor index, not a Python int, so that tf.function traces once per layer, not per filter.
        image, loss = ascent_step(image, tf.constant(filter_index))
    return image[0].numpy(), float(loss)


def to_displayable(image, border=8):
    # Stretch contrast to a visible range and cut the border, where padding leaves artefacts.
    image = (image - image.mean()) / (image.std() + 1e-5) * 0.15 + 0.5
    return np.clip(image[border:-border, border:-border], 0, 1)


# %% [markdown]
# The first few filters of an early, a middle and a late layer.

# %%
n_filters = CONFIG["filters_per_layer"]
fig, axes = plt.subplots(len(FILTER_LAYERS), n_filters, figsize=(2 * n_filters, 2.2 * len(FILTER_LAYERS)))
for row, name in zip(axes, FILTER_LAYERS, strict=True):
    extractor = keras.Model(filter_model.input, filter_model.get_layer(name).output)
    step = make_ascent_step(extractor)
    for filter_index, ax in enumerate(row):
        pattern, loss = filter_pattern(step, filter_index, CONFIG["filter_steps"])
        ax.imshow(to_displayable(pattern))
        ax.set_title(f"{name.split('_expand')[0]} #{filter_index}\nactivation {loss:.1f}", fontsize=8)
        ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Early filters like fine, repeated stripes and dots: edges and colours at one scale. Middle filters
# combine them into bands, waves and cell-like textures; late filters into denser, more tangled
# textures, the raw material for object parts such as fur or eyes. Each layer builds on the one below.
# (More steps, as in the `full` profile, give cleaner patterns.)

# %% [markdown]
# ## 5. Grad-CAM: where does the network look?
#
# **Grad-CAM** (Selvaraju et al., 2017) explains one class with the last convolutional layer, whose
# 7x7 grid of 1280 features is the last place that still knows *where* things are:
#
# 1. compute the class's output and the last conv layer's output (`out_relu`) in one forward pass,
# 2. take the gradient of that output with respect to the conv output,
# 3. average the gradient over the 7x7 grid: one weight per feature map, its importance for the class,
# 4. sum the feature maps times their weights, keep the positive part (ReLU) and scale to [0, 1].
#
# **Your task:** write `grad_cam(model, image, class_index, last_conv_layer_name)`. `image` is one
# prepared image `(224, 224, 3)`. Return a 2-D NumPy array with the last conv layer's spatial size
# (7x7 at 224 px) and values in [0, 1]. Build
# `keras.Model(model.input, [model.get_layer(name).output, model.output])` and use `tf.GradientTape`.
# Guard the last step: a map can be all zeros after the ReLU (no positive evidence anywhere), and
# dividing by its maximum would then give NaN; divide by `max + 1e-8` (or return the zeros as they are).
#
# Which output? The model ends in a softmax, so `model.output` is the class's **probability**. The paper
# and Keras's own Grad-CAM example use the **score before the softmax** (the logit) instead: a
# probability also goes up when *other* classes go down, so its gradient mixes in evidence against the
# competitors. Here you use the probability, as the tests do; section 5b puts both side by side on
# this photo, and the difference is worth seeing.


# %% deletable=false nbgrader={"cell_type": "code", "checksum": "a2771c6487f24459619502ef67fd6f0e", "grade": false, "grade_id": "grad_cam", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grad_cam(model, image, class_index, last_conv_layer_name):
    # YOUR CODE HERE
    raise NotImplementedError()


# %% [markdown]
# The photo has two dogs: an **Italian greyhound on the left** and a **Boston terrier on the right**
# (and no cat). With the course's offline weights, the network's top two classes above are exactly
# these two breeds (check your own list). We ask Grad-CAM about each of them, and, for contrast, about
# the most likely *cat* class (ImageNet classes 281-285), which is not in the photo at all.

# %%
LAST_CONV_LAYER = "out_relu"
ITALIAN_GREYHOUND, BOSTON_TERRIER = 171, 195
pets_probabilities = model.predict(pets_image[np.newaxis], verbose=0)[0]
top_cat = 281 + int(np.argmax(pets_probabilities[281:286]))
# decode_predictions only names scores, so a one-hot "prediction" is the quickest way to name one class.
top_cat_name = decode_predictions(np.eye(1000)[[top_cat]], top=1)[0][0][1]
classes = {
    "Italian greyhound (left dog)": ITALIAN_GREYHOUND,
    "Boston terrier (right dog)": BOSTON_TERRIER,
    f"{top_cat_name} (top cat class)": top_cat,
}
heatmaps = {title: grad_cam(model, pets_image, index, LAST_CONV_LAYER) for title, index in classes.items()}
for title, heatmap in heatmaps.items():
    print(f"{title:34s} p={pets_probabilities[classes[title]]:.5f} heatmap {heatmap.shape}")

# %% [markdown]
# This test checks the shape and the range of the map.

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "af57529b13eba2ef31200fec2c23982d", "grade": true, "grade_id": "test_grad_cam_shape", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_map = grad_cam(model, pets_image, BOSTON_TERRIER, LAST_CONV_LAYER)
_expected = tuple(model.get_layer(LAST_CONV_LAYER).output.shape[1:3])
assert np.ndim(_map) == 2, f"grad_cam must return a 2-D map, got {np.ndim(_map)} dimensions"
assert tuple(np.shape(_map)) == _expected, f"expected shape {_expected}, got {np.shape(_map)}"
assert np.all(np.isfinite(_map)), "the map has NaN or inf values"
assert np.min(_map) >= 0 and np.max(_map) <= 1 + 1e-6, "scale the map to [0, 1]"
print("grad_cam shape and range: OK")

# %% [markdown]
# The 7x7 map is coarse; stretched over the photo and drawn half-transparent it shows which region
# drove each class score. The photo was squashed to 224x224 for the network, so the map covers the
# whole photo, whatever its aspect ratio.

# %%
width, height = pets_photo.size
fig, axes = plt.subplots(1, len(heatmaps), figsize=(5.5 * len(heatmaps), 4.5))
for ax, (title, heatmap) in zip(axes, heatmaps.items(), strict=True):
    ax.imshow(pets_photo)
    ax.imshow(heatmap, cmap="jet", alpha=0.45, extent=(0, width, height, 0), interpolation="bilinear")
    ax.set_title(f"{title}\np = {pets_probabilities[classes[title]]:.5f}", fontsize=10)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Each breed lights up its own dog: with the offline weights the greyhound's map peaks in column 1 of
# the 7x7 grid (0-6, left to right) and the terrier's in column 6, for every seed 1-5. The network did
# not just see "dog", it told the two breeds apart. The cat map is a warning: Grad-CAM *always* draws
# something, because every map is scaled to [0, 1]. With a probability near zero it shows only where
# the faint cat-like evidence sits; read a heatmap together with its score.

# %% [markdown]
# ## 5b. Probability or score before the softmax?
#
# The same `grad_cam`, on a copy of the model whose last layer has no activation, explains each breed's
# **logit** instead of its probability. Where are the peaks now?

# %%
logit_model = keras.models.clone_model(model)
logit_model.set_weights(model.get_weights())
logit_model.layers[-1].activation = None  # the score before the softmax
peak_column = lambda heatmap: int(np.unravel_index(np.argmax(heatmap), heatmap.shape)[1])  # noqa: E731
fig, axes = plt.subplots(2, 2, figsize=(11, 9))
for row, (kind, explained) in zip(axes, (("probability", model), ("score before the softmax", logit_model)),
                                  strict=True):
    for ax, (title, index) in zip(row, list(classes.items())[:2], strict=True):
        heatmap = grad_cam(explained, pets_image, index, LAST_CONV_LAYER)
        ax.imshow(pets_photo)
        ax.imshow(heatmap, cmap="jet", alpha=0.45, extent=(0, width, height, 0), interpolation="bilinear")
        ax.set_title(f"{title}\n{kind}: peak in column {peak_column(heatmap)} of 0-6", fontsize=10)
        ax.axis("off")
        print(f"{kind:>24}, {title}: peak in column {peak_column(heatmap)}")
plt.tight_layout()
plt.show()

# %% [markdown]
# With the course's offline weights, the two breeds' logit maps both peak near the middle (columns 3
# and 4): each logit rises with "dog-like" evidence anywhere, on either dog. The probability maps
# separate the dogs, because a breed's probability only rises where the evidence favours it *over the
# other breed*: the softmax makes Grad-CAM contrastive. That is why this notebook explains
# probabilities. The price shows on the near-zero cat class above: its probability's gradient is
# mostly the other classes' (pushing them down), so its map says little about cats. For a class the model believes in, use the probability to
# tell it from its neighbours; use the logit to see all the evidence for it.

# %% [markdown]
# ## 6. Grading checks
#
# This test is hidden: its checks are added when your notebook is graded. It checks that your
# Grad-CAM finds each dog: the map for the left dog's breed must peak in columns 0-3 (left of the
# centre, or in the centre column, 3) and the map for the right dog's breed in columns 4-6 (right of the
# centre). At grading, the grader also runs your `grad_cam` on the photo flipped left to right, where the
# dogs swap sides, and on two crops of the photo (see "How this notebook is graded").

# %% deletable=false editable=false nbgrader={"cell_type": "code", "checksum": "42290136b61609ee45debddc590becbd", "grade": true, "grade_id": "test_grad_cam_localises", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Hidden test: each breed's Grad-CAM peaks on its own dog.

# %% [markdown]
# ## Summary
#
# - Early layers keep the photo's detail and detect edges and colours; deeper layers are coarser and
#   more abstract. That general-to-specific ladder is why a frozen ImageNet base transfers well.
# - Gradient ascent in input space shows what single filters respond to: stripes early, textures and
#   parts later.
# - Grad-CAM weights the last conv layer's maps by the gradient of a class's output, and shows where
#   the evidence for that class lies. A probability's map is contrastive (this class over the others),
#   a logit's is not. Always read a map together with the class's probability.

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
    "04_visualizing_convnets",
    release_url="https://raw.githubusercontent.com/transfer-learning-course/transfer-learning-course/main/notebooks/04_visualizing_convnets.ipynb",
    tested={
        'read': ['int', 'isinstance', 'keras', 'len', 'list', 'np', 'print', 'tuple', 'zip'],
        'attributes': ['MobileNetV2', 'Model', 'all', 'allclose', 'applications', 'argmax', 'asarray', 'convert_to_numpy', 'get_layer', 'img_to_array', 'input', 'isfinite', 'load_img', 'max', 'min', 'mobilenet_v2', 'ndim', 'newaxis', 'ops', 'output', 'preprocess_input', 'shape', 'unravel_index', 'utils'],
        'called': ['MobileNetV2', 'Model', 'all', 'allclose', 'argmax', 'asarray', 'convert_to_numpy', 'get_layer', 'img_to_array', 'isfinite', 'load_img', 'max', 'min', 'ndim', 'preprocess_input', 'shape', 'unravel_index'],
        'bound': [],
    },
)


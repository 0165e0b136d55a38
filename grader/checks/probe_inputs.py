"""What the probes feed a student's code, prepared alike in the probes' box and in the evaluator's.

04's function cells run on the two-dogs photo, on its mirror image and on crops of it drawn for each
submission (`visualization_plan`); a crop's class is one of the reference model's top three for that
crop, chosen before any of the student's code runs. The evaluator prepares the same inputs from the
same plan and computes the right answers itself, so a result stored in advance cannot match.

`run_cell` runs a student's cell as IPython would, so that ordinary magics (`%%time`, `%%capture`,
`!pip`) in it do not fail where no IPython kernel runs.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

IMAGE_SIZE = 224
# Layers whose outputs `get_activations` is asked for: MobileNetV2's activations, early to late.
ACTIVATION_CANDIDATES = ("Conv1_relu", "expanded_conv_depthwise_relu",
                         *(f"block_{i}_expand_relu" for i in range(1, 17)),
                         *(f"block_{i}_depthwise_relu" for i in range(1, 17)), "out_relu")
CROPS = 2


def visualization_plan(seed: int, photo_url: str) -> dict:
    """04's probes for this submission: two crops (left edge and width as fractions of the photo, and the
    rank of the class to explain among the crop's top three), three layers to ask for on the first crop
    and one of them on the mirrored photo."""
    rng = random.Random(seed)
    crops = []
    for _ in range(CROPS):
        width = round(rng.uniform(0.55, 0.8), 4)
        crops.append({"left": round(rng.uniform(0, 1 - width), 4), "width": width, "rank": rng.randrange(3)})
    # One of the crop's layers is asked for again on the mirrored photo: an answer kept from the first call
    # is the wrong image's.
    layers = rng.sample(ACTIVATION_CANDIDATES, 3)
    return {"cells": ["get_activations", "grad_cam"], "photo": photo_url, "crops": crops,
            "layers": [layers, [rng.choice(layers)]]}


def probe_images(plan: dict) -> dict[str, np.ndarray]:
    """name -> prepared image (224, 224, 3): "photo", "mirrored", "crop0", "crop1", ..."""
    import keras
    import tensorflow as tf

    path = keras.utils.get_file("pets.jpg", plan["photo"])
    pixels = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(IMAGE_SIZE, IMAGE_SIZE)))
    prepare = keras.applications.mobilenet_v2.preprocess_input
    images = {"photo": prepare(pixels.copy()), "mirrored": prepare(pixels[:, ::-1].copy())}
    for index, crop in enumerate(plan["crops"]):
        left = int(round(crop["left"] * IMAGE_SIZE))
        right = left + max(8, int(round(crop["width"] * IMAGE_SIZE)))
        cropped = tf.image.resize(pixels[:, left:right], (IMAGE_SIZE, IMAGE_SIZE)).numpy()
        images[f"crop{index}"] = prepare(cropped)
    return images


def crop_classes(model, images: dict[str, np.ndarray], plan: dict) -> dict[str, int]:
    """name of each crop -> the ImageNet class its probe explains (the plan's rank among the top three)."""
    classes = {}
    for index, crop in enumerate(plan["crops"]):
        name = f"crop{index}"
        probabilities = np.asarray(model(images[name][np.newaxis]))[0]
        classes[name] = int(np.argsort(probabilities)[::-1][crop["rank"]])
    return classes


class ProbeShell:
    """What `get_ipython()` is in a probe: a cell's `%%time`, `%%capture` and `%time` run their code once;
    every other magic and `!cmd` does nothing (no kernel, no front end, no network here)."""

    RUNS_ITS_CODE = frozenset({"time", "timeit", "capture", "prun"})

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        if name in self.RUNS_ITS_CODE:
            exec(compile(ipython_to_python(cell), "<the student's cell>", "exec"), self.namespace)

    def run_line_magic(self, name: str, line: str, *_: object) -> None:
        if name in self.RUNS_ITS_CODE and not line.lstrip().startswith("-"):
            exec(compile(ipython_to_python(line), "<the student's cell>", "exec"), self.namespace)

    def system(self, command: str) -> None:
        return None

    def getoutput(self, command: str) -> list:
        return []


def ipython_to_python(source: str) -> str:
    """IPython's own transformer: `%magic` and `!cmd` become calls on `get_ipython()`."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def run_cell(path: Path, namespace: dict) -> None:
    """Run the student's cell in `namespace`, its magics through ProbeShell."""
    shell = ProbeShell(namespace)
    namespace.setdefault("get_ipython", lambda: shell)
    exec(compile(ipython_to_python(Path(path).read_text()), "<the student's cell>", "exec"), namespace)

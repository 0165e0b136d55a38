"""Each notebook's training step against its frozen base's forward pass alone, in one run.

    python -m devtools.benchmarks.training_vs_forward [NOTEBOOK ...]

Every solution runs in the CPU profile (offline assets when a mirror is present). The cells tagged
`training` are timed; then, in the same kernel and on the same training and validation images, the
snippet below times one forward pass of the frozen base: the floor any training on these images
must pay at least once.
The ratio training / floor is printed per notebook: near 1 where features are cached (the base runs
once), about the number of epochs where the base must run every epoch (augmentation, fine-tuning).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from datetime import datetime

import nbformat
from nbclient import NotebookClient

from grader import paths
from grader.assets.environment import notebook_environment
from grader.markers import stream_text
from grader.notebooks import read_source

_TIMER = """
import itertools as _itertools
import time as _time
_started = _time.perf_counter()
_count = 0
for _images, _ in _itertools.chain({images}):
    {forward}
    _count += len(_images)
print(f"FLOOR seconds={{_time.perf_counter() - _started:.3f}} images={{_count}}")
"""

# notebook -> (the training and validation batches the training step saw, one forward pass of the
#              frozen base on a batch `_images`, whether the CPU profile caches features)
FLOORS = {
    "01_cats_vs_dogs": ("train_batches, validation_batches",
                        "base_model(keras.applications.mobilenet_v2.preprocess_input(_images), training=False)", False),
    "02_flowers": ("image_batches(raw_train, CONFIG['sizes']['mobilenet_v2']), "
                   "image_batches(raw_validation, CONFIG['sizes']['mobilenet_v2'])",
                   "mobilenet_features(_images, training=False)", True),
    "03_dropout": ("train_batches, validation_batches", "feature_extractor(_images, training=False)", True),
    "05_horses_or_humans": ("train_batches, test_batches",
                            "feature_extractor(keras.applications.mobilenet_v2.preprocess_input(_images), "
                            "training=False)", False),
    "06_fine_tuning": ("train_batches, validation_batches",
                       "base_model(keras.applications.mobilenet_v2.preprocess_input(_images), training=False)", False),
}


def _seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def measure(name: str) -> tuple[float, float, int]:
    """(training seconds, forward-floor seconds, images) for one notebook, in one kernel."""
    images, forward, _ = FLOORS[name]
    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    nb.cells.append(nbformat.v4.new_code_cell(_TIMER.format(images=images, forward=forward)))
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=True, allow_errors=True,
                                resources={"metadata": {"path": scratch}})
        client.execute()
    training = sum(_seconds(c) for c in nb.cells if "training" in c.metadata.get("tags", []))
    floor_text = stream_text(nb.cells[-1].outputs)
    match = re.search(r"FLOOR seconds=([0-9.]+) images=(\d+)", floor_text)
    if not match or training == 0:
        raise RuntimeError(f"{name}: no timing (training cells tagged? floor output: {floor_text[-300:]!r})")
    return training, float(match.group(1)), int(match.group(2))


def main(names: list[str]) -> int:
    os.environ.update(notebook_environment(profile="cpu"))
    print(f"{'notebook':<22} {'cached':>6} {'images':>7} {'training s':>11} {'forward s':>10} {'ratio':>6}")
    for name in names or list(FLOORS):
        training, floor, count = measure(name)
        cached = "yes" if FLOORS[name][2] else "no"
        ratio = training / floor
        print(f"{name:<22} {cached:>6} {count:>7} {training:>11.1f} {floor:>10.1f} {ratio:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Peak RAM of each notebook's `full` profile, measured on the offline stand-ins and scaled, and the
memory its arrays and models take, computed from their shapes.

    python -m devtools.benchmarks.full_profile_memory [NOTEBOOK ...] [--repeat K]

Each solution runs with `COURSE_PROFILE=full` on this machine's CPU, from a copy made in a scratch
folder (the sources are never edited): epochs capped at 1 (03: 2; 04: 10 gradient-ascent steps), since
the memory a notebook holds is filled in its first epoch, and, with `--repeat K`, each dataset read K
times over (`raw_train.repeat(K)`), so that the cache holds K times the stand-in's photos, as the real
dataset would. The kernel's peak resident memory (VmHWM, which counts the TensorFlow libraries it
maps) is read after every cell; the cell that reached the peak is named.

Scaling: the offline datasets are cut-down stand-ins (cats_vs_dogs 1,000 photos against 23,262 online,
tf_flowers 1,250 against 3,670; horses_or_humans is full size). The estimate for the real dataset is
    measured peak + (examples online - examples the run took) x bytes held per example,
the bytes per example computed from the arrays' shapes (`HELD`). Runs with two K give a measured
bytes-per-example to set beside the computed one. MiB and GiB: 2**20 and 2**30 bytes.

GPU memory is computed only (no GPU here): the weights of the models alive together, the trainable
weights' gradients and Adam's two slots, and one batch's activations (every layer's output of the
largest model, doubled where gradients flow back through it). TensorFlow reserves most of a GPU's
memory by default whatever a model needs; the figure is what it needs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import psutil
from nbclient import NotebookClient

from grader import paths
from grader.assets.environment import notebook_environment
from grader.notebooks import read_source

FLOAT32 = 4
PHOTO_160 = 160 * 160 * 3  # one resized photo's values


@dataclass(frozen=True)
class Held:
    """What the full profile keeps in RAM per example, and how many examples it takes."""

    offline: int  # examples the full profile takes from the offline stand-in (repeat 1)
    online: int  # examples it takes from the real dataset
    per_example: int  # bytes kept per example (caches, feature arrays)
    what: str
    fixed: int = 0  # bytes kept whatever the number of examples (models, their optimizer slots)


# The real datasets: cats_vs_dogs 23,262 photos (train[:80%] 18,610, train[80%:] 4,652), tf_flowers
# 3,670 (02: 80/20; 03: train[:70%] capped at 200, train[70%:] 1,101), horses_or_humans 1,027 + 256.
HELD = {
    "01_cats_vs_dogs": Held(1000, 23262, PHOTO_160,
                            "train and validation photos cached as uint8 160x160x3 (76,800 B; as float32 4x)",
                            fixed=2 * 2_257_984 * FLOAT32),
    "02_flowers": Held(1250, 3670, (1280 + 2048) * FLOAT32 + 8,
                       "pooled features, MobileNetV2 1,280 and InceptionV3 2,048 floats per photo",
                       fixed=(2_257_984 + 21_802_784) * FLOAT32),
    "03_dropout": Held(200 + 375, 200 + 1101, 5 * 5 * 1280 * FLOAT32 + 8,
                       "un-pooled features 5x5x1280 float32 (128,000 B per photo)",
                       fixed=2_257_984 * FLOAT32 + 6 * 8_193_797 * FLOAT32 * 3),
    "04_visualizing_convnets": Held(0, 0, 0, "no dataset: two photos",
                                    fixed=(3_538_984 + 2_257_984) * FLOAT32),
    "05_horses_or_humans": Held(1283, 1283, PHOTO_160 * FLOAT32,
                                "train and test photos cached as float32 160x160x3",
                                fixed=2_257_984 * FLOAT32),
    "06_fine_tuning": Held(1000, 23262, PHOTO_160,
                           "train and validation photos cached as uint8 160x160x3 (76,800 B; as float32 4x)",
                           fixed=2_257_984 * FLOAT32 * 3),
    "07_your_own_images": Held(1250, 3670, PHOTO_160 * FLOAT32,
                               "train and validation photos cached (image_dataset_from_directory: float32)",
                               fixed=(2_257_984 + 94_000) * FLOAT32 * 3),
}

# Short runs: (text in the solution, its replacement), each found exactly once in the solution.
SHORTEN = {
    "01_cats_vs_dogs": [('"batch_size": 32, "epochs": 10,', '"batch_size": 32, "epochs": 1,')],
    "02_flowers": [('"epochs": 20, "batch_size": 32, "max_images": None',
                    '"epochs": 1, "batch_size": 32, "max_images": None')],
    "03_dropout": [('"batch_size": 32, "epochs": 30, "max_train": 200, "max_validation": None',
                    '"batch_size": 32, "epochs": 2, "max_train": 200, "max_validation": None')],
    "04_visualizing_convnets": [('"filter_steps": 100,', '"filter_steps": 10,')],
    "05_horses_or_humans": [('"max_epochs": 20, "target_accuracy": 0.999',
                             '"max_epochs": 1, "target_accuracy": 0.999')],
    "06_fine_tuning": [('"head_epochs": 10, "fine_tune_epochs": 10,', '"head_epochs": 1, "fine_tune_epochs": 1,')],
    "07_your_own_images": [('"max_epochs": 20, "patience": 4', '"max_epochs": 1, "patience": 4')],
}

# Where `--repeat K` reads each dataset K times: (text, the same text with the repeat added).
REPEAT = {
    "01_cats_vs_dogs": ('label_names = info.features["label"].names',
                        'raw_train, raw_validation = raw_train.repeat({k}), raw_validation.repeat({k})\n'
                        'label_names = info.features["label"].names'),
    "06_fine_tuning": ('label_names = info.features["label"].names',
                       'raw_train, raw_validation = raw_train.repeat({k}), raw_validation.repeat({k})\n'
                       'label_names = info.features["label"].names'),
    "02_flowers": ('class_names = info.features["label"].names',
                   'raw_train, raw_validation = raw_train.repeat({k}), raw_validation.repeat({k})\n'
                   'class_names = info.features["label"].names'),
    "03_dropout": ('class_names = info.features["label"].names',
                   'raw_validation = raw_validation.repeat({k})\nclass_names = info.features["label"].names'),
    "07_your_own_images": ("train_ds = train_ds.cache().prefetch(AUTOTUNE)",
                           "train_ds, validation_ds = train_ds.repeat({k}), validation_ds.repeat({k})\n"
                           "train_ds = train_ds.cache().prefetch(AUTOTUNE)"),
}


@dataclass
class Measured:
    notebook: str
    repeat: int
    examples: int  # examples the run took (offline stand-in x repeat)
    peak_mb: float
    peak_cell: str  # the cell that reached the peak
    seconds: float
    rises: list[str] = field(default_factory=list)  # cells after which the peak rose by 200 MiB or more
    errors: list[str] = field(default_factory=list)


def shortened(name: str, repeat: int):
    """The solution as a notebook, with SHORTEN applied and the data read `repeat` times."""
    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    edits = list(SHORTEN[name])
    if repeat > 1:
        old, new = REPEAT[name]
        edits.append((old, new.format(k=repeat)))
    for old, new in edits:
        hits = [cell for cell in nb.cells if cell.cell_type == "code" and old in cell.source]
        # A replacement that no longer matches would silently measure the real full profile for hours.
        if len(hits) != 1 or hits[0].source.count(old) != 1:
            raise SystemExit(f"{name}: {old!r} found {len(hits)} times; update SHORTEN/REPEAT")
        hits[0].source = hits[0].source.replace(old, new)
    return nb


def kernel_peak_mb() -> float:
    """The largest VmHWM (peak resident set) among this process's children: the kernel."""
    peak = 0
    for child in psutil.Process().children(recursive=True):
        try:
            with open(f"/proc/{child.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def measure(name: str, repeat: int) -> Measured:
    """Run the shortened full profile of `name` once and read its kernel's peak memory."""
    nb = shortened(name, repeat)
    env = notebook_environment(profile="full")
    # Colab's kernels run with the C library's default allocator, not the grading kernels' tunables.
    env.pop("GLIBC_TUNABLES", None)
    steps: list[tuple[float, str]] = []

    def after_cell(cell, cell_index, **_):
        steps.append((kernel_peak_mb(), f"{cell_index}: {cell.source.splitlines()[0][:60]}"))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": scratch}}, on_cell_executed=after_cell)
        client.execute(env=env)
    seconds = time.perf_counter() - started
    peak = max((value for value, _ in steps), default=0.0)
    cell = next((label for value, label in steps if value == peak), "")
    rises = [f"{label} +{value - before:,.0f} MiB"
             for (before, _), (value, label) in zip(steps, steps[1:], strict=False) if value - before >= 200]
    errors = [f"{c.get('id')}: {o.get('ename')}: {o.get('evalue', '')[:120]}"
              for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return Measured(name, repeat, HELD[name].offline * repeat, peak, cell, seconds, rises, errors)


def sample(name: str, repeat: int) -> Measured:
    """`measure` in a process of its own, so that no other kernel is among its children."""
    out = subprocess.run([sys.executable, "-m", "devtools.benchmarks.full_profile_memory", "--one", name, str(repeat)],
                         capture_output=True, text=True, check=True).stdout
    return Measured(**json.loads(out.strip().splitlines()[-1]))


def estimate_mb(run: Measured) -> float:
    held = HELD[run.notebook]
    return run.peak_mb + (held.online - run.examples) * held.per_example / 2**20


# GPU: the models a notebook holds at once, computed from Keras's own layer shapes.
def activation_values(model) -> int:
    """Values per example of every layer's output, nested models included."""
    import numpy as np

    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            total += activation_values(layer)
        elif not layer.__class__.__name__ == "InputLayer":
            shapes = layer.output if isinstance(layer.output, list) else [layer.output]
            total += sum(int(np.prod(s.shape[1:])) for s in shapes)
    return total


@dataclass
class Gpu:
    notebook: str
    weights_mb: float
    optimizer_mb: float
    activations_mb: float
    total_mb: float
    note: str


def gpu_estimates() -> list[Gpu]:
    """Computed GPU memory per notebook's full profile (batch 32 unless said)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    apps = keras.applications

    def mobilenet(size: int, **kwargs):
        return apps.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None, **kwargs)

    def mb(values: float) -> float:
        return values * FLOAT32 / 2**20

    rows = []

    def add(name: str, weights: int, trainable: int, acts_per_example: int, batch: int, backward: bool, note: str):
        acts = acts_per_example * batch * (2 if backward else 1)
        rows.append(Gpu(name, mb(weights), mb(3 * trainable), mb(acts),
                        mb(weights + 3 * trainable + acts), note))

    m160 = mobilenet(160)
    a160 = activation_values(m160)
    add("01_cats_vs_dogs", 2 * m160.count_params() + 2 * 1281, 2 * 1281, a160, 32, False,
        "MobileNetV2 160 px frozen, and the TF-Hub copy; batch 32")
    m224 = mobilenet(224, pooling="avg")
    inception = apps.InceptionV3(input_shape=(299, 299, 3), include_top=False, weights=None, pooling="avg")
    add("02_flowers", m224.count_params() + inception.count_params(), 1280 * 5 + 2048 * 5,
        max(activation_values(m224), activation_values(inception)), 32, False,
        "MobileNetV2 224 px and InceptionV3 299 px, frozen (InceptionV3's pass the larger); heads tiny")
    add("03_dropout", m160.count_params() + 6 * 8_193_797, 6 * 8_193_797, a160, 32, False,
        "MobileNetV2 160 px frozen; six 8.2 M-weight heads alive at once; the callback's one pass over "
        "1,101 validation features (134 MiB) beside them")
    rows[-1].total_mb += mb(1101 * 32000)
    full = apps.MobileNetV2(weights=None)
    m128 = mobilenet(128)
    add("04_visualizing_convnets", full.count_params() + m128.count_params(), 0,
        max(activation_values(full), activation_values(m128)), 1, True,
        "MobileNetV2 224 px with its top, and 128 px: gradients of one photo")
    cut = keras.Model(m160.input, m160.get_layer("block_15_add").output)
    add("05_horses_or_humans", m160.count_params() + 160 * 128 + 128 + 129, 160 * 128 + 128 + 129,
        activation_values(cut), 32, False, "MobileNetV2 cut at block_15_add, 160 px, frozen; batch 32")
    index = [layer.name for layer in m160.layers].index("block_13_expand")
    top = sum(layer.count_params() for layer in m160.layers[index:]
              if not isinstance(layer, keras.layers.BatchNormalization))
    add("06_fine_tuning", m160.count_params() + 1281, top + 1281, a160, 32, True,
        f"MobileNetV2 160 px, its top {top:,} weights trained (block_13_expand up); all activations kept")
    scratch = keras.Sequential([keras.Input((160, 160, 3))] + [
        layer for filters in (32, 64, 128) for layer in
        (keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D())
    ] + [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5)])
    add("07_your_own_images", scratch.count_params() + m160.count_params() + 6405,
        scratch.count_params() + 6405, max(activation_values(scratch) * 2, a160), 32, False,
        "from-scratch convnet (trained: activations counted twice) and MobileNetV2 160 px frozen; batch 32")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", default=sorted(HELD))
    parser.add_argument("--repeat", type=int, nargs="+", default=[1],
                        help="read each dataset K times (one run per K)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the computed GPU table")
    parser.add_argument("--one", nargs=2, metavar=("NOTEBOOK", "REPEAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(asdict(measure(args.one[0], int(args.one[1])))))
        return
    print("notebook | computed held (online data) | run: examples, peak RSS, seconds | scaled estimate")
    for name in args.notebooks:
        held = HELD[name]
        computed = held.online * held.per_example + held.fixed
        print(f"{name}: computed {computed / 2**30:.2f} GiB = {held.online:,} x {held.per_example:,} B "
              f"({held.what}) + models {held.fixed / 2**20:.0f} MiB", flush=True)
        runs = []
        for repeat in args.repeat if name in REPEAT else [1]:
            run = sample(name, repeat)
            runs.append(run)
            print(f"  measured: repeat {repeat}, {run.examples:,} examples, peak {run.peak_mb:,.0f} MiB "
                  f"(reached in cell {run.peak_cell}), {run.seconds:.0f} s; scaled to {held.online:,} "
                  f"examples: {estimate_mb(run):,.0f} MiB", flush=True)
            for rise in run.rises:
                print(f"    peak rose after cell {rise}")
            for error in run.errors:
                print(f"    error in the shortened run: {error}")
        if len(runs) >= 2 and runs[-1].examples != runs[0].examples:
            slope = (runs[-1].peak_mb - runs[0].peak_mb) * 2**20 / (runs[-1].examples - runs[0].examples)
            print(f"  measured per example: {slope:,.0f} B (computed {held.per_example:,} B)")
    if not args.no_gpu:
        print("\nGPU memory, computed (not measured): weights + gradients and Adam slots + one batch's activations")
        for row in gpu_estimates():
            print(f"{row.notebook}: {row.total_mb:,.0f} MiB (weights {row.weights_mb:,.0f}, optimizer "
                  f"{row.optimizer_mb:,.0f}, activations {row.activations_mb:,.0f}): {row.note}")


if __name__ == "__main__":
    main()

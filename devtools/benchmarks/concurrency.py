"""How much two trainings at once gain over one after the other on this machine, measured in one run.

    python -m devtools.benchmarks.concurrency [--epochs 6]

The pool in `course autograde` can only win what the machine gives to two processes at once. This
runs the same small training (a frozen MobileNetV2 at 160 px with a one-unit head, on random
photos, batch 32: the shape of the course's training cells) in fresh processes:

- one after the other, each with TensorFlow's own thread count (what sequential nbgrader does);
- two at once, each with TensorFlow's own thread count;
- two at once, each with one thread (each worker's share of a 2-core machine);
- and, as a control, a pure-Python loop: one alone, then two at once.

It prints every wall time and the throughput ratio (one after the other / at once): 2.0 would be a
perfect second core, 1.0 no gain.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

TRAINING = r"""
import os, sys, time
import numpy as np
import keras
keras.utils.set_random_seed(0)
base = keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=None)
base.trainable = False
model = keras.Sequential([keras.Input((160, 160, 3)), base, keras.layers.GlobalAveragePooling2D(),
                          keras.layers.Dense(1)])
model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True))
x = np.random.rand(256, 160, 160, 3).astype("float32")
y = np.random.randint(0, 2, (256, 1)).astype("float32")
model.fit(x, y, epochs=1, batch_size=32, verbose=0)  # builds the graph: not timed
started = time.perf_counter()
model.fit(x, y, epochs=int(sys.argv[1]), batch_size=32, verbose=0)
print(time.perf_counter() - started)
"""

LOOP = r"""
import time
started = time.perf_counter()
total = 0
for i in range(40_000_000):
    total += i * i
print(time.perf_counter() - started)
"""


def _start(code: str, args: list[str], threads: int) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if threads:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
                   OMP_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _seconds(process: subprocess.Popen) -> float:
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"benchmark process failed with exit {process.returncode}:\n{err[-2000:]}")
    return float(out.strip().splitlines()[-1])


def sequential(code: str, args: list[str], threads: int = 0) -> float:
    """Wall seconds of two runs one after the other (each timed inside its process)."""
    return sum(_seconds(_start(code, args, threads)) for _ in range(2))


def together(code: str, args: list[str], threads: int = 0) -> float:
    """Wall seconds until both of two runs started at once have finished their timed part."""
    processes = [_start(code, args, threads) for _ in range(2)]
    return max(_seconds(p) for p in processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6, help="timed epochs of 256 photos per training")
    args = parser.parse_args(argv)
    print(f"{len(os.sched_getaffinity(0))} cores; each training: {args.epochs} epochs of 256 photos, "
          "frozen MobileNetV2 160 px")
    epochs = [str(args.epochs)]
    one_after_other = sequential(TRAINING, epochs)
    print(f"  2 trainings one after the other, TensorFlow's threads  {one_after_other:6.1f} s")
    for label, threads in (("TensorFlow's threads each", 0), ("1 thread each", 1)):
        seconds = together(TRAINING, epochs, threads)
        print(f"  2 trainings at once, {label:<30}{seconds:6.1f} s  gain {one_after_other / seconds:.2f}x")
    loop_sequential = sequential(LOOP, [])
    loop_together = together(LOOP, [])
    print(f"  control, a pure-Python loop: 2 one after the other {loop_sequential:.1f} s, 2 at once "
          f"{loop_together:.1f} s  gain {loop_sequential / loop_together:.2f}x")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)

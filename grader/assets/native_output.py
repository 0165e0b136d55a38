"""Keep TensorFlow's start-up lines out of an instructor's terminal, and show them when something fails.

TensorFlow 2.21 writes its oneDNN, CUDA-driver and absl lines from C++ straight to file descriptor 2,
before `TF_CPP_MIN_LOG_LEVEL` applies (tensorflow/tensorflow#100442), and TFDS prints its builder's
banners and bars to file descriptor 1. Preparing the offline datasets is the one place the tooling
imports TensorFlow in the instructor's own process, so only that step is captured, at the level of
the file descriptors (Python's `sys.stdout` never sees the C++ lines).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def captured_native_output() -> Iterator[None]:
    """Send fds 1 and 2 to a temporary file while the block runs; replay it if the block raises."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.TemporaryFile(mode="w+b") as log:
        try:
            for fd in (1, 2):
                os.dup2(log.fileno(), fd)
            yield
        except BaseException:
            _restore(saved)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            sys.stderr.write("(the output above was held back while preparing; the error follows)\n")
            raise
        finally:
            _restore(saved)


def _restore(saved: dict[int, int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, copy in list(saved.items()):
        os.dup2(copy, fd)
        os.close(copy)
        del saved[fd]

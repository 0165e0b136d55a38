"""`python -m grader.grading.evaluate ASSIGNMENT MODEL_FILE [--wait]`: the grader's checks, as JSON on stdout.

Run by the grading worker in a fresh sandboxed process, started beside the notebook (TensorFlow's
import overlaps with it); after the notebook has finished it judges the saved model, from its file
alone, and re-runs the student's code. Any failure becomes a failed check with its reason.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

MAX_MODEL_BYTES = 256 * 2**20  # MobileNetV2 models saved here are ~10-25 MB
MAX_UNPACKED_BYTES = 512 * 2**20
KERAS_ARCHIVE_FILES = {"config.json", "metadata.json", "model.weights.h5"}


def model_file_problem(model_file: Path) -> str:
    """Why the notebook's saved model must not be opened, or ''. The file is the student's: a link to
    somewhere else, a FIFO that blocks a reader forever, a device, or an archive that expands enormously
    never reaches Keras."""
    import stat
    import zipfile

    try:
        info = model_file.lstat()
    except FileNotFoundError:
        return f"no saved model {model_file.name!r}: the notebook must save it (see its 'Save' section)"
    if stat.S_ISLNK(info.st_mode):
        return f"{model_file.name!r} is a symbolic link, not a saved model"
    if not stat.S_ISREG(info.st_mode):
        return f"{model_file.name!r} is not a regular file (a folder, FIFO or device), not a saved model"
    if info.st_size > MAX_MODEL_BYTES:
        return f"{model_file.name!r} is {info.st_size / 2**20:.0f} MB, more than a saved model of this course"
    try:
        with zipfile.ZipFile(model_file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"{model_file.name!r} is not a Keras .keras archive ({error})"
    unexpected = sorted({e.filename for e in entries} - KERAS_ARCHIVE_FILES)
    if unexpected or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        why = f"unexpected entries {unexpected[:3]}" if unexpected else "it expands to more than 512 MB"
        return f"{model_file.name!r} is not a plain Keras model file: {why}"
    return ""


def evaluate(assignment: str, model_file: Path, mirror: Path | None, notebook: Path | None = None,
             wait: Callable[[], object] | None = None) -> list[dict]:
    """Every grader check of `assignment`: on the saved model, and on the student's code taken from
    `notebook` (the notebook as handed in, a copy the kernel could not write).

    With `wait`, nothing is judged before `wait()` returns (the notebook has finished). Judging the code
    while the notebook runs was tried: on two cores already busy with two kernels it put a third
    TensorFlow process beside them, and 05's 8 examples took 338 s against 294 s (one run each, not
    conclusive; nothing showed a gain), so the evaluator only imports TensorFlow early.
    """
    from grader.grading.code_checks import CODE_CHECKS
    from grader.grading.model_checks import CheckResult
    from grader.spec import spec_for

    spec = spec_for(assignment)
    if spec is None:
        return []
    if wait is not None:
        wait()
    done = {i: _code_check(check, notebook) for i, check in enumerate(spec.checks) if check.check in CODE_CHECKS}
    model, problem = None, model_file_problem(model_file)
    if not problem and len(done) < len(spec.checks):
        model, problem = _load(model_file)
    results = []
    for i, check in enumerate(spec.checks):
        if i in done:
            results.append(done[i])
        elif model is None:
            results.append(CheckResult(check.test, check.check, False, problem))
        else:
            results.append(_model_check(check, model, spec, mirror))
    return [r.to_dict() for r in results]


def _load(model_file: Path):
    import keras

    keras.utils.set_random_seed(0)
    try:
        # safe_mode refuses Lambda layers and other code hidden in the file.
        return keras.models.load_model(model_file, safe_mode=True), ""
    except Exception as error:  # any unloadable file earns zero with the reason
        return None, f"the saved model {model_file.name!r} cannot be loaded: {type(error).__name__}: {error}"


def _model_check(check, model, spec, mirror: Path | None):
    from grader.grading.model_checks import CheckResult, Context, run_check

    held_out = spec.held_out_dir(mirror)
    if check.check == "held_out_accuracy" and (held_out is None or not held_out.is_dir()):
        reason = f"no held-out photos here ({held_out or 'no asset mirror'}): grade where they exist"
        return CheckResult(check.test, check.check, False, reason, not_measured=reason)
    try:
        outcome = run_check(check.check, model, check.params, Context(spec.image_size, held_out,
                                                                      spec.held_out_classes))
    except Exception as error:  # a model of an unexpected shape fails the check, with the reason
        outcome = (False, f"{type(error).__name__}: {error}")
    return CheckResult(check.test, check.check, *outcome)


def _code_check(check, notebook: Path | None):
    import tempfile

    from grader.grading.code_checks import CODE_CHECKS
    from grader.grading.model_checks import CheckResult

    if notebook is None or not notebook.is_file():
        return CheckResult(check.test, check.check, False, "the grader has no copy of the handed-in notebook")
    try:
        with tempfile.TemporaryDirectory(prefix="code-check-") as scratch:
            outcome = CODE_CHECKS[check.check](check.params, notebook, Path(scratch))
    except Exception as error:
        outcome = (False, f"{type(error).__name__}: {error}")
    return CheckResult(check.test, check.check, *outcome)


def main() -> None:
    assignment, model_file = sys.argv[1], Path(sys.argv[2])
    notebook = Path(sys.argv[sys.argv.index("--notebook") + 1]) if "--notebook" in sys.argv else None
    # Started while the notebook still runs: import TensorFlow now, judge when the worker says the
    # notebook has finished.
    wait = None
    if "--wait" in sys.argv[3:]:
        import keras  # noqa: F401

        wait = sys.stdin.readline
    mirror = os.environ.get("COURSE_ASSETS_MIRROR")
    results = evaluate(assignment, model_file, Path(mirror) if mirror else None, notebook, wait)
    # The last line of stdout is the result; TensorFlow may print before it.
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()

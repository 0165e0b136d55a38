"""Opening a model file a student's notebook saved: hostile until shown otherwise.

The file is checked as a file and as an archive before Keras sees it, and Keras opens it in safe
mode (no Lambda layers or other code hidden in the file).
"""

from __future__ import annotations

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


def load_saved_model(model_file: Path):
    """(model, "") or (None, why not): a student's file is checked as an archive before Keras opens it."""
    problem = model_file_problem(model_file)
    return (None, problem) if problem else _load(model_file)


def _load(model_file: Path):
    import keras

    keras.utils.set_random_seed(0)
    try:
        # safe_mode refuses Lambda layers and other code hidden in the file.
        return keras.models.load_model(model_file, safe_mode=True), ""
    except Exception as error:  # any unloadable file earns zero with the reason
        return None, f"the saved model {model_file.name!r} cannot be loaded: {type(error).__name__}: {error}"



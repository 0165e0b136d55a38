"""Opening a model file a student's notebook saved: hostile until shown otherwise.

The file is checked as a file, as an archive and as a configuration before Keras sees it, and Keras
opens it in safe mode (no Python code hidden in the file). Safe mode alone is not enough: it refuses
known ways to run code, and each release has closed another. In Keras 3.15.1 a Lambda layer whose
function is `keras.layers.TFSMLayer` still makes `load_model(safe_mode=True)` load a TensorFlow SavedModel
from any path the file names (upstream keras-team/keras#23654), so the configuration is read here first
and may name only what a model of this course can hold.
"""

from __future__ import annotations

from pathlib import Path

MAX_MODEL_BYTES = 256 * 2**20  # MobileNetV2 models saved here are ~10-25 MB
MAX_UNPACKED_BYTES = 512 * 2**20
MAX_CONFIG_BYTES = 16 * 2**20  # the course's configurations are 4-170 kB; JSON costs memory by its shape
KERAS_ARCHIVE_FILES = {"config.json", "metadata.json", "model.weights.h5"}
# Callables a configuration may name: Keras resolves "builtins" only among its own activations, losses,
# metrics and the like; anything else exported by Keras (TFSMLayer, keras.config setters, ...) could be
# called by a layer that calls its function.
FUNCTION_MODULES = {"builtins", "keras.activations", "keras.losses", "keras.metrics"}
# Layers that run a function or load files named in their configuration.
CODE_LAYERS = {"Lambda", "TFSMLayer", "JaxLayer", "FlaxLayer", "TorchModuleWrapper"}
# Values Keras writes into configurations (tensors, arrays, slices), as opposed to objects it resolves.
VALUE_MARKERS = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}


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
            unexpected = sorted({e.filename for e in entries} - KERAS_ARCHIVE_FILES)
            if unexpected or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
                why = f"unexpected entries {unexpected[:3]}" if unexpected else "it expands to more than 512 MB"
                return f"{model_file.name!r} is not a plain Keras model file: {why}"
            why = _config_problem(archive)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        return f"{model_file.name!r} is not a Keras .keras archive ({error})"
    return f"{model_file.name!r} is not a plain Keras model file: {why}" if why else ""


def _config_problem(archive) -> str:
    """Why the archive's config.json names something a course model never holds, or ''."""
    import json

    config_info = next((e for e in archive.infolist() if e.filename == "config.json"), None)
    if config_info is None:
        return "no config.json"
    if config_info.file_size > MAX_CONFIG_BYTES:
        return f"its config.json is {config_info.file_size / 2**20:.0f} MB"
    try:
        config = json.loads(archive.read(config_info))
    except (ValueError, RecursionError) as error:
        return f"its config.json is not JSON ({type(error).__name__})"
    return config_problem(config)


def config_problem(config: object) -> str:
    """Why a model configuration (parsed JSON, from a .keras file or `to_json()`) names something a model
    of this course never holds, or ''."""
    for found in _objects(config):
        why = _object_problem(found)
        if why:
            return why
    return ""


def _objects(value):
    """Every object Keras would deserialize in a configuration: the dicts that name a class_name."""
    stack = [value]
    while stack:  # not recursive: the nesting depth is the student's
        value = stack.pop()
        if isinstance(value, dict):
            if "class_name" in value:
                yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _object_problem(found: dict) -> str:
    name, module = found.get("class_name"), found.get("module")
    if not isinstance(name, str) or not (module is None or isinstance(module, str)):
        return f"a malformed object {str(found)[:80]!r}"
    if module is None:
        return "" if name in VALUE_MARKERS else f"an object of kind {name[:40]!r}"
    if name == "function":
        if module in FUNCTION_MODULES:
            return ""
        return f"it names the function {module[:40]}.{str(found.get('config'))[:40]}, not an activation, loss or metric"
    if not (module == "keras" or module.startswith("keras.")):
        return f"it names {name[:40]!r} from {module[:40]!r}, not from Keras"
    if name in CODE_LAYERS:
        return f"it holds a {name} layer, which runs code or loads files named in the model file"
    if not name[:1].isupper():
        return f"it names {module[:40]}.{name[:40]}, a function, where Keras expects a class"
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



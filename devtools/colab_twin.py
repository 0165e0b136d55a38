"""The Colab twin's pieces (docs/colab.md); `.ci/colab-twin run` calls each in turn.

    python -m devtools.colab_twin notebooks OUT_DIR        # each solution as its Colab copy (set-up cell first)
    python -m devtools.colab_twin kernel DIR PYTHON        # a kernelspec `python3` that starts PYTHON as Colab does
    python -m devtools.colab_twin versions                 # the versions the twin runs (no TensorFlow import)

The notebooks are never edited for the twin: the Colab copy is what `course release` publishes
(grader/release/colab.py), made from the solution instead of the student's version.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path

# The versions the report names; the first seven are what the notebooks import.
REPORTED = ("tensorflow", "keras", "tf_keras", "tensorflow-hub", "tensorflow-datasets", "numpy", "matplotlib",
            "setuptools", "ipykernel", "ipython", "pip")

# On Colab the kernel starts with google.colab already imported, which is how the set-up cell (and any
# notebook) knows it is on Colab. The twin's stand-in has the two modules notebook 07 imports when asked
# to read a student's own photos; they refuse plainly instead of pretending to mount or upload.
STUB_FILES = {
    "google/colab/__init__.py": '''\
"""The Colab twin's stand-in for google.colab (devtools/colab_twin.py): the kernel imports it at start, as
Colab's kernel imports the real one, so `"google.colab" in sys.modules` holds in every cell."""

from google.colab import drive, files  # noqa: F401
''',
    "google/colab/drive.py": '''\
def mount(mountpoint, *args, **kwargs):
    raise RuntimeError("the Colab twin has no Google Drive to mount")
''',
    "google/colab/files.py": '''\
def upload(*args, **kwargs):
    raise RuntimeError("the Colab twin has no browser to upload from")
''',
    "colab_kernel_launcher.py": '''\
"""Starts an IPython kernel as Colab's own launcher does: google.colab imported first."""

import google.colab  # noqa: F401
from ipykernel import kernelapp

if __name__ == "__main__":
    kernelapp.launch_new_instance()
''',
}


def write_notebooks(out_dir: Path) -> list[Path]:
    """solutions/NAME.py -> OUT_DIR/NAME.ipynb, each as Colab's copy of it (badge, set-up cell, GPU)."""
    from grader import paths
    from grader.notebooks import read_source, write_ipynb
    from grader.release.build import assignments
    from grader.release.colab import to_colab

    if out_dir.exists():
        shutil.rmtree(out_dir)
    written = []
    for name in assignments():
        target = out_dir / f"{name}.ipynb"
        write_ipynb(to_colab(read_source(paths.SOLUTIONS_DIR / f"{name}.py"), target.name), target)
        written.append(target)
    return written


def write_kernel(directory: Path, python: str) -> Path:
    """DIR/stub (the stand-in google.colab and launcher) and DIR/jupyter/kernels/python3/kernel.json.

    Put on JUPYTER_PATH, the kernelspec wins over every other `python3`: the notebooks keep the kernel name
    they are published with.
    """
    if directory.exists():
        shutil.rmtree(directory)
    stub = directory / "stub"
    for relative, text in STUB_FILES.items():
        (stub / relative).parent.mkdir(parents=True, exist_ok=True)
        (stub / relative).write_text(text)
    spec_dir = directory / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [str(Path(python).absolute()), "-m", "colab_kernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Colab twin)",
        "language": "python",
        # Only the stub: no `google/__init__.py`, so protobuf's `google` namespace package stays whole.
        "env": {"PYTHONPATH": str(stub.resolve())},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return spec_dir / "kernel.json"


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in REPORTED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "notebooks":
        for path in write_notebooks(Path(argv[1]).resolve()):
            print("colab-twin notebook:", path)
        return 0
    if command == "kernel":
        print("colab-twin kernelspec:", write_kernel(Path(argv[1]), argv[2]))
        return 0
    if command == "versions":
        print("colab-twin runs: " + ", ".join(f"{name} {version}" for name, version in versions().items()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

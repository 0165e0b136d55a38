"""Turns a released student notebook into the Colab copy: badge, set-up cell, GPU runtime."""

from __future__ import annotations

import copy

import nbformat
import tomllib

from grader.paths import REPO_ROOT

SETUP_CELL = '''\
# On Colab, install what its image lacks or cannot load (tf_keras must match TensorFlow's version).
# Anywhere else this cell does nothing.
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules:
    import tensorflow as tf

    tf_minor = ".".join(tf.__version__.split(".")[:2])
    wanted = {
        "tf_keras": f"tf-keras=={tf_minor}.*",
        "tensorflow_hub": "tensorflow-hub",
        "tensorflow_datasets": "tensorflow-datasets",
        # TFDS imports it to download a dataset without declaring it; Colab's Python 3.13 image has none.
        "importlib_resources": "importlib-resources",
    }
    missing = [spec for module, spec in wanted.items() if importlib.util.find_spec(module) is None]
    # Colab's tensorflow-metadata (1.21.0) is generated for protobuf 6.31 beside Colab's protobuf 5.29, and
    # TFDS fails to import it; its last release generated for older protobuf loads.
    probe = [sys.executable, "-c", "import tensorflow_metadata.proto.v0.schema_pb2"]
    if importlib.util.find_spec("tensorflow_metadata") and subprocess.run(probe, capture_output=True).returncode:
        missing.append("tensorflow-metadata<1.18")
    if missing:
        print("installing what Colab lacks:", *missing)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", *missing])
'''


def github_repository() -> str:
    """owner/name of the published repository, from pyproject's [tool.course]."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["course"]["github_repository"]


def colab_url(notebook_name: str) -> str:
    return f"https://colab.research.google.com/github/{github_repository()}/blob/main/notebooks/{notebook_name}"


def badge_markdown(notebook_name: str) -> str:
    return (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook_name)})"
    )


def to_colab(nb: nbformat.NotebookNode, notebook_name: str) -> nbformat.NotebookNode:
    """A copy of `nb` for Colab: opens on a GPU runtime and installs anything missing first."""
    nb = copy.deepcopy(nb)
    intro = nbformat.v4.new_markdown_cell(
        badge_markdown(notebook_name)
        + "\n\nOn Colab, choose *Runtime > Change runtime type > GPU* (this notebook asks for it), "
        "then run the set-up cell below: it installs only what Colab's image lacks."
    )
    intro["id"] = "colab-badge"
    setup = nbformat.v4.new_code_cell(SETUP_CELL)
    setup["id"] = "colab-setup"
    nb.cells = [intro, setup, *nb.cells]
    nb.metadata["accelerator"] = "GPU"
    nb.metadata["colab"] = {"provenance": [], "gpuType": "T4", "toc_visible": True}
    nb.metadata.pop("jupytext", None)
    return nb

"""Turns a released student notebook into the Colab copy: badge, set-up cell, GPU runtime."""

from __future__ import annotations

import copy

import nbformat
import tomllib

from grader.paths import REPO_ROOT

SETUP_CELL = '''\
# On Colab, install what its image lacks (tf_keras must match TensorFlow's version).
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
    }
    missing = [spec for module, spec in wanted.items() if importlib.util.find_spec(module) is None]
    if missing:
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

"""requirements.txt against Colab's published runtime (data/colab/), and the Colab copy's set-up cell against
what that runtime has. Offline and fast: files only, no TensorFlow."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import types

import pytest

from devtools import colab_freeze
from devtools.colab_freeze import Difference, canonical, differences, known_differences, read_pins, unexplained
from grader.paths import SOLUTIONS_DIR
from grader.release.colab import SETUP_CELL


def test_every_difference_from_colab_is_known_with_a_reason():
    problems = unexplained(differences(), known_differences())
    assert not problems, "requirements.txt against data/colab/pip-freeze.txt:\n" + "\n".join(problems)


def test_a_new_difference_fails_with_its_name(tmp_path):
    requirements = tmp_path / "requirements.txt"
    text = colab_freeze.REQUIREMENTS.read_text().replace("numpy==2.4.6", "numpy==2.4.7")
    requirements.write_text(text + "left-pad==1.0\n")
    problems = unexplained(differences(requirements), known_differences())
    assert any(p.startswith("left-pad: 1.0 here, not on Colab: not in") for p in problems), problems
    assert any(p.startswith("numpy: 2.4.7 here, 2.1.3 on Colab: known-differences.toml says 2.4.6") for p in problems)


def test_a_difference_that_went_away_is_named():
    known = known_differences()
    found = [d for d in differences() if d.name != "ruff"]
    assert unexplained(found, known) == ["ruff: listed in known-differences.toml but no longer differs"]


def test_a_difference_needs_a_reason():
    known = {name: dict(entry) for name, entry in known_differences().items()}
    known["pytest"]["why"] = " "
    assert unexplained(differences(), known) == ["pytest: known-differences.toml gives no reason"]


def test_names_are_compared_as_pip_compares_them():
    assert canonical("tf_keras") == canonical("TF-Keras") == "tf-keras"
    assert read_pins(colab_freeze.FREEZE)["tf-keras"] == "2.20.1"  # listed as tf_keras==2.20.1
    assert Difference("x", "1", None).describe() == "x: 1 here, not on Colab"


def test_source_names_the_commit_and_python_of_the_freeze():
    source = colab_freeze.read_source()
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert source["repository"] == "https://github.com/googlecolab/backend-info"
    assert re.fullmatch(r"3\.\d+\.\d+", source["python"])
    assert colab_freeze.colab_python() == ".".join(source["python"].split(".")[:2])
    assert "python3 -m pip freeze" in colab_freeze.FREEZE.read_text()


def test_constraints_are_lines_pip_can_read():
    lines = colab_freeze.constraints().splitlines()
    pins = [line for line in lines if not line.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9-]+==\S+", line) for line in pins), [p for p in pins if "==" not in p]
    assert "tensorflow==2.20.0" in pins and "setuptools==75.2.0" in pins
    assert not any(line.startswith(("google-colab", "torch==", "nvidia-")) for line in pins)


def test_the_twin_installs_what_the_notebooks_run_on_at_colabs_versions():
    runtime = colab_freeze.runtime_requirements()
    # setuptools: TF-Hub 0.16.1 imports pkg_resources, which a fresh Python 3.12+ environment lacks.
    for name in ("tensorflow", "keras", "tf-keras", "tensorflow-hub", "tensorflow-datasets", "setuptools"):
        assert name in runtime
    assert "importlib-resources" not in runtime  # Colab lacks it: the set-up cell must supply it


def _notebook_modules() -> set[str]:
    """Top-level modules the solution notebooks import, outside the standard library and google.colab."""
    modules = set()
    for source in SOLUTIONS_DIR.glob("[0-9][0-9]_*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "google"}


# Import names whose distribution is named otherwise, and what the notebooks' packages import at run time
# without declaring it (a package Colab lacks would fail there, not at the notebook's import).
DISTRIBUTION = {"tf_keras": "tf-keras", "tensorflow_hub": "tensorflow-hub",
                "tensorflow_datasets": "tensorflow-datasets", "importlib_resources": "importlib-resources"}
UNDECLARED = {"importlib_resources"}  # TFDS 4.9.10, to build a dataset


def _run_setup_cell(monkeypatch, present: set[str], probe_fails: bool = False) -> list[str]:
    """SETUP_CELL as Colab runs it, on a runtime whose importable modules are `present`: what it installs."""
    installed: list[list[str]] = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setitem(sys.modules, "tensorflow", types.SimpleNamespace(__version__="2.20.0"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name in present else None)
    monkeypatch.setattr(subprocess, "check_call", lambda args: installed.append(args[args.index("-q") + 1:]))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: types.SimpleNamespace(returncode=int(probe_fails)))
    exec(compile(SETUP_CELL, "<setup cell>", "exec"), {})
    return installed[0] if installed else []


def test_setup_cell_installs_exactly_what_colab_lacks(monkeypatch):
    colab = read_pins(colab_freeze.FREEZE)
    needed = _notebook_modules() | UNDECLARED
    assert {"tensorflow", "keras", "tf_keras", "tensorflow_hub", "tensorflow_datasets"} <= needed
    present = {m for m in needed if canonical(DISTRIBUTION.get(m, m)) in colab} | {"tensorflow_metadata"}
    lacking = sorted(DISTRIBUTION.get(m, m) for m in needed - present)
    assert lacking == ["importlib-resources"]
    assert _run_setup_cell(monkeypatch, present) == lacking


def test_setup_cell_installs_every_missing_package(monkeypatch):
    assert _run_setup_cell(monkeypatch, {"tensorflow"}) == [
        "tf-keras==2.20.*", "tensorflow-hub", "tensorflow-datasets", "importlib-resources"]


def test_setup_cell_replaces_a_tensorflow_metadata_that_protobuf_cannot_load(monkeypatch):
    present = {"tf_keras", "tensorflow_hub", "tensorflow_datasets", "importlib_resources", "tensorflow_metadata"}
    assert _run_setup_cell(monkeypatch, present) == []
    assert _run_setup_cell(monkeypatch, present, probe_fails=True) == ["tensorflow-metadata<1.18"]


def test_setup_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    calls = []
    monkeypatch.setattr(subprocess, "check_call", calls.append)
    exec(compile(SETUP_CELL, "<setup cell>", "exec"), {})
    assert calls == []


@pytest.mark.parametrize("command", [["differences"], ["runtime"], ["harness"]])
def test_cli_commands_run(command, capsys):
    assert colab_freeze.main(command) == 0
    assert capsys.readouterr().out.strip()

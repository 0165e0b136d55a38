"""Colab's published runtime (data/colab/pip-freeze.txt) against the course's pins (requirements.txt).

Standard library only: `make colab-twin` runs it with a bare interpreter of Colab's Python version before
any environment exists, to find that interpreter and to write pip's constraints file.

    python -m devtools.colab_freeze python              # the interpreter for the twin, or how to get one
    python -m devtools.colab_freeze constraints OUT     # Colab's pins that pip can use as constraints
    python -m devtools.colab_freeze differences         # requirements.txt against the freeze, with reasons
    python -m devtools.colab_freeze check-env PYTHON    # the twin's installed versions against the freeze
    python -m devtools.colab_freeze not-on-colab PYTHON # installed packages that Colab does not have
    python -m devtools.colab_freeze off-colab-versions PYTHON  # Colab's pins of those installed at other versions
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
COLAB_DIR = REPO_ROOT / "data" / "colab"
FREEZE = COLAB_DIR / "pip-freeze.txt"
SOURCE = COLAB_DIR / "SOURCE.toml"
KNOWN_DIFFERENCES = COLAB_DIR / "known-differences.toml"
REQUIREMENTS = REPO_ROOT / "requirements.txt"

# What the notebooks' kernels run on Colab: the notebooks' imports, what those need at run time that no
# package declares (TF-Hub 0.16.1 imports pkg_resources, which is setuptools'), the kernel itself, and
# pip, which the set-up cell runs. Each is installed at the freeze's version; a name the freeze lacks is
# left out, as Colab leaves it out, for the set-up cell to install.
COLAB_RUNTIME = (
    "pip",
    "setuptools",
    "tensorflow",
    "keras",
    "tf-keras",
    "tensorflow-hub",
    "tensorflow-datasets",
    "importlib-resources",
    "numpy",
    "matplotlib",
    "pillow",
    "tqdm",
    "ipykernel",
    "ipython",
)
# The harness that runs the notebooks, in an environment of its own beside Colab's (a student's kernel never
# imports it), at requirements.txt's versions: the twin tests the notebooks, not another nbval.
HARNESS = ("nbval", "pytest", "nbclient", "nbformat", "jupytext")

# Packages that exist only for NVIDIA GPUs: the twin runs on CPU, and a constraint on them could only
# make pip fetch CUDA wheels.
_CUDA_ONLY = re.compile(r"^(nvidia-|cuda-|cupy-)|-cu\d+$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*$")


def canonical(name: str) -> str:
    """PEP 503's normalised name: `tf_keras`, `TF-Keras` and `tf.keras` are the same package to pip."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """`name==version` lines by canonical name; comments, URLs (`name @ ...`) and options are skipped."""
    pins = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def read_source() -> dict[str, str]:
    with open(SOURCE, "rb") as f:
        return tomllib.load(f)


def colab_python() -> str:
    """Colab's Python as major.minor (patch releases share the ABI wheels are built for)."""
    return ".".join(read_source()["python"].split(".")[:2])


def constraints(freeze: Path = FREEZE) -> str:
    """The freeze as a pip constraints file: `name==version` lines only.

    Left out: `name @ URL` lines (pip cannot constrain to a local `file://` build or a wheel URL; none
    is a package the course uses) and CUDA-only packages.
    """
    lines = [f"# Written by `python -m devtools.colab_freeze constraints` from {freeze.name}; do not edit."]
    for name, version in sorted(read_pins(freeze).items()):
        if not _CUDA_ONLY.search(name):
            lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def runtime_requirements(freeze: Path = FREEZE) -> list[str]:
    """COLAB_RUNTIME's names that Colab has, to install under the constraints."""
    pins = read_pins(freeze)
    return [name for name in COLAB_RUNTIME if canonical(name) in pins]


def harness_requirements(requirements: Path = REQUIREMENTS) -> list[str]:
    """The harness pinned as requirements.txt pins it."""
    pins = read_pins(requirements)
    return [f"{name}=={pins[canonical(name)]}" for name in HARNESS]


@dataclass(frozen=True)
class Difference:
    name: str
    ours: str | None  # requirements.txt's version; None: not in requirements.txt
    colab: str | None  # the freeze's version; None: Colab does not have it

    def describe(self) -> str:
        if self.colab is None:
            return f"{self.name}: {self.ours} here, not on Colab"
        return f"{self.name}: {self.ours} here, {self.colab} on Colab"


def differences(requirements: Path = REQUIREMENTS, freeze: Path = FREEZE) -> list[Difference]:
    """Every requirements.txt pin whose version Colab does not have, by name."""
    ours, colab = read_pins(requirements), read_pins(freeze)
    return [Difference(name, version, colab.get(name)) for name, version in sorted(ours.items())
            if colab.get(name) != version]


def known_differences(path: Path = KNOWN_DIFFERENCES) -> dict[str, dict[str, str]]:
    """data/colab/known-differences.toml: per package, both versions and why they differ."""
    with open(path, "rb") as f:
        return {canonical(name): entry for name, entry in tomllib.load(f).items()}


def unexplained(found: list[Difference], known: dict[str, dict[str, str]]) -> list[str]:
    """Problems with the known-differences file, each naming its package; empty when every difference
    found is listed with the same versions and a reason, and nothing listed has gone away."""
    problems = []
    found_by_name = {d.name: d for d in found}
    for d in found:
        entry = known.get(d.name)
        if entry is None:
            problems.append(f"{d.describe()}: not in {KNOWN_DIFFERENCES.name}")
            continue
        listed = (entry.get("ours"), entry.get("colab", "absent"))
        if listed != (d.ours, d.colab or "absent"):
            problems.append(f"{d.describe()}: {KNOWN_DIFFERENCES.name} says {listed[0]} here, {listed[1]} on Colab")
        if not str(entry.get("why", "")).strip():
            problems.append(f"{d.name}: {KNOWN_DIFFERENCES.name} gives no reason")
    for name in sorted(set(known) - set(found_by_name)):
        problems.append(f"{name}: listed in {KNOWN_DIFFERENCES.name} but no longer differs")
    return problems


def _version_of(python: str) -> str | None:
    try:
        result = subprocess.run([python, "-c", "import sys, venv, ensurepip; print(*sys.version_info[:3], sep='.')"],
                                capture_output=True, text=True, timeout=60)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_python(minor: str) -> tuple[str, str] | None:
    """An interpreter of Python `minor` (e.g. "3.13") that can make a virtual environment, and its version.

    Looked for as COLAB_PYTHON names it, else python3.13 on PATH, pyenv's builds, the distribution's.
    """
    named = os.environ.get("COLAB_PYTHON")
    candidates = [named] if named else [
        shutil.which(f"python{minor}"),
        *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{minor}.*/bin/python{minor}")), reverse=True),
        f"/usr/bin/python{minor}",
        f"/usr/local/bin/python{minor}",
    ]
    for candidate in filter(None, candidates):
        version = _version_of(candidate)
        if version and ".".join(version.split(".")[:2]) == minor:
            return candidate, version
    return None


def installed_versions(python: str) -> dict[str, str]:
    out = subprocess.run([python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True, check=True).stdout
    return {canonical(p["name"]): p["version"] for p in json.loads(out)}


def not_on_colab(python: str, freeze: Path = FREEZE) -> list[str]:
    """Installed packages the freeze does not list: pulled in by a dependency that Colab's image leaves out
    (IPython 7.34's jedi, which Colab removes), so the twin removes them too."""
    colab = read_pins(freeze)
    return sorted(name for name in installed_versions(python) if name not in colab)


def off_colab_versions(python: str, freeze: Path = FREEZE) -> list[str]:
    """`name==version` at Colab's version for each installed package whose version is not Colab's."""
    colab = read_pins(freeze)
    return sorted(f"{name}=={colab[name]}" for name, version in installed_versions(python).items()
                  if name in colab and colab[name] != version)


def check_env(python: str, freeze: Path = FREEZE) -> list[str]:
    """Where the twin's installed packages are not Colab's (each a line); none when it is Colab's set."""
    colab = read_pins(freeze)
    lines = []
    for name, version in sorted(installed_versions(python).items()):
        if name not in colab:
            lines.append(f"{name} {version}: not on Colab")
        elif colab[name] != version:
            lines.append(f"{name} {version}: Colab has {colab[name]}")
    return lines


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "python":
        minor = colab_python()
        found = find_python(minor)
        if found is None:
            print(f"colab-twin: no Python {minor} interpreter found (Colab runs Python {read_source()['python']},"
                  f" {SOURCE.relative_to(REPO_ROOT)}). Install one and run again, e.g.\n"
                  f"  pyenv install {minor}    (https://github.com/pyenv/pyenv)\n"
                  f"  sudo apt-get install python{minor} python{minor}-venv    (Ubuntu: the deadsnakes PPA)\n"
                  f"or name one: make colab-twin COLAB_PYTHON=/path/to/python{minor}", file=sys.stderr)
            return 2
        print(found[0])
        return 0
    if command == "constraints":
        Path(argv[1]).write_text(constraints())
        return 0
    if command == "runtime":
        print(" ".join(runtime_requirements()))
        return 0
    if command == "harness":
        print(" ".join(harness_requirements()))
        return 0
    if command == "differences":
        known = known_differences()
        found = differences()
        print(f"requirements.txt against Colab's runtime ({read_source()['date'][:10]}, "
              f"googlecolab/backend-info@{read_source()['commit'][:12]}): {len(found)} differences")
        for d in found:
            print(f"  {d.describe()}  ({known.get(d.name, {}).get('why', 'NOT EXPLAINED')})")
        return 0
    if command == "not-on-colab":
        print(" ".join(not_on_colab(argv[1])))
        return 0
    if command == "off-colab-versions":
        print(" ".join(off_colab_versions(argv[1])))
        return 0
    if command == "check-env":
        lines = check_env(argv[1])
        print(f"twin packages that are not Colab's: {len(lines)}")
        for line in lines:
            print("  " + line)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

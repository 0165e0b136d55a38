"""Where things live: the repository, its build and cache folders, the offline mirror."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
DATA_DIR = REPO_ROOT / "data"
EXAMPLES_DIR = REPO_ROOT / "submissions" / "examples"


def build_dir() -> Path:
    """Scratch space for generated course folders; never committed."""
    return Path(os.environ.get("COURSE_BUILD_DIR", REPO_ROOT / "build")).resolve()


def cache_dir() -> Path:
    """Prepared offline assets (Keras home, TFDS data, hub cache), reused between runs."""
    return Path(os.environ.get("COURSE_CACHE_DIR", REPO_ROOT / ".cache")).resolve()


def mirror_dir() -> Path | None:
    """The offline asset mirror, or None when there is none (a user with internet).

    `COURSE_ASSETS_MIRROR` wins; set it to an empty string to ignore a mirror that exists.
    """
    configured = os.environ.get("COURSE_ASSETS_MIRROR")
    if configured is not None:
        return Path(configured).resolve() if configured else None
    default = REPO_ROOT.parent / "shared" / "assets"
    return default.resolve() if default.is_dir() else None

"""The grader's own checks per assignment, read from data/grading.toml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from grader import paths

SPEC_FILE = paths.DATA_DIR / "grading.toml"
# The grader's own limits, on numbers it measures itself that no notebook threshold matches (other photos,
# another quantity): check -> the parameter holding the limit. `course calibrate` records each check's
# metric (`grader_<check>` in data/calibration.csv) and tests/devtools/test_calibration.py holds the limits to it.
CALIBRATED_LIMITS = {"heads_trained": "train_accuracy", "head_overfits": "min_gap", "loss_lowered": "min_reduction",
                     "heads_accuracy": "min_accuracy", "beats_saved_model": "min_gain"}


@dataclass(frozen=True)
class CheckSpec:
    test: str  # the nbgrader grade_id whose points depend on this check
    check: str  # a name in grader.checks.registry.REGISTRY
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AssignmentSpec:
    assignment: str
    checks: tuple[CheckSpec, ...]
    model: str = ""  # the file the notebook saves, relative to the notebook ("": the checks judge code only)
    image_size: int = 0
    held_out_folder: str = ""  # relative to the asset mirror
    held_out_prepared: str = ""  # or relative to the prepared cache (photos held back by `course assets prepare`)
    held_out_classes: tuple[str, ...] = ()
    held_out_about: str = "photos your notebook never loads"  # for the students, in the release
    # Heads the notebook saves on their own, measured on the grader's features (grader/checks/head_checks.py):
    # `files` (role -> file name), `application` (the base), `training` (the notebook's training photos).
    heads: dict = field(default_factory=dict)

    def held_out_dir(self, mirror: Path | None) -> Path | None:
        """The grader's held-out photos: only where the mirror is (the cache's are held back from it)."""
        if not mirror:
            return None
        if self.held_out_prepared:
            return paths.cache_dir() / self.held_out_prepared
        return mirror / self.held_out_folder if self.held_out_folder else None

    @property
    def has_held_out(self) -> bool:
        return bool(self.held_out_folder or self.held_out_prepared)


def load_specs(path: Path = SPEC_FILE) -> dict[str, AssignmentSpec]:
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    specs = {}
    for assignment, entry in raw.items():
        checks = tuple(
            CheckSpec(c["test"], c["check"], {k: v for k, v in c.items() if k not in ("test", "check")})
            for c in entry.get("checks", [])
        )
        held_out = entry.get("held_out", {})
        specs[assignment] = AssignmentSpec(
            assignment, checks, entry.get("model", ""), int(entry.get("image_size", 0)),
            held_out.get("folder", ""), held_out.get("prepared", ""), tuple(held_out.get("classes", ())),
            held_out.get("about", AssignmentSpec.held_out_about), entry.get("heads", {}),
        )
    return specs


def spec_for(assignment: str, path: Path = SPEC_FILE) -> AssignmentSpec | None:
    """The assignment's grader checks, or None when the grader checks nothing itself."""
    return load_specs(path).get(assignment)


def failed_checks(spec: AssignmentSpec, message: str) -> list[dict]:
    """Every grader check of `spec` failed for one reason (no model, unloadable, evaluation crashed)."""
    return [{"test": c.test, "check": c.check, "passed": False, "message": message, "metric": None,
             "not_measured": ""} for c in spec.checks]

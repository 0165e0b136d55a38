"""An assignment's grading kit: what each worker copies to grade one submission privately.

A tiny nbgrader course holding the assignment's source (with the hidden tests) and a gradebook
that knows only the assignment: no other student's grades ever reach a worker's scratch folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course_dir import CourseDir


class KitError(RuntimeError):
    pass


def build_kit(course: CourseDir, assignment: str, kits_root: Path) -> Path:
    """nbgrader's own generate_assignment, run once per grading session into `kits_root/assignment`."""
    kit = CourseDir(kits_root / assignment)
    if kit.root.exists():
        shutil.rmtree(kit.root)
    if not course.source(assignment).is_dir():
        raise KitError(f"{course.source(assignment)} does not exist: run `course release` first")
    shutil.copytree(course.source(assignment), kit.source(assignment))
    kit.write_config()
    result = kit.nbgrader("generate_assignment", assignment, "--force", "--create")
    if result.returncode != 0:
        raise KitError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}{result.stderr}")
    return kit.root

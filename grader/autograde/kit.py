"""An assignment's grading kit: what each worker copies to grade one submission privately.

A tiny nbgrader course holding the assignment's source (with the hidden tests) and a gradebook
that knows only the assignment: no other student's grades ever reach a worker's scratch folder.
A kit is rebuilt only when the assignment's source (or nbgrader) changed: nbgrader's
generate_assignment costs about 5 s a run here, once per assignment and grading run before.
"""

from __future__ import annotations

import hashlib
import shutil
from importlib.metadata import version
from pathlib import Path

from grader.course_dir import CourseDir

FINGERPRINT = ".kit_fingerprint"


class KitError(RuntimeError):
    pass


def source_fingerprint(source: Path) -> str:
    """Every file of the assignment's source (names and bytes) and nbgrader's version."""
    digest = hashlib.sha256(f"nbgrader {version('nbgrader')}\n".encode())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(source).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return digest.hexdigest()


def grading_fingerprint(kit: Path, assignment: str) -> str:
    """What grades a submission of `assignment`: the kit's source (hidden tests included) and the grader's own
    checks in data/grading.toml. The grading journal keeps it, and a submission graded under another one is
    graded again."""
    from grader.spec import spec_for

    return hashlib.sha256(f"{(kit / FINGERPRINT).read_text()}\n{spec_for(assignment)!r}".encode()).hexdigest()


def build_kit(course: CourseDir, assignment: str, kits_root: Path) -> Path:
    """nbgrader's own generate_assignment into `kits_root/assignment`, unless the kit there was built
    from the same source."""
    kit = CourseDir(kits_root / assignment)
    if not course.source(assignment).is_dir():
        raise KitError(f"{course.source(assignment)} does not exist: run `course release` first")
    fingerprint = source_fingerprint(course.source(assignment))
    stamp = kit.root / FINGERPRINT
    if stamp.is_file() and stamp.read_text() == fingerprint and (kit.root / "gradebook.db").is_file():
        return kit.root
    if kit.root.exists():
        shutil.rmtree(kit.root)
    shutil.copytree(course.source(assignment), kit.source(assignment))
    kit.write_config()
    result = kit.nbgrader("generate_assignment", assignment, "--force", "--create")
    if result.returncode != 0:
        raise KitError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}{result.stderr}")
    stamp.write_text(fingerprint)  # written last: an interrupted build is rebuilt next time
    return kit.root

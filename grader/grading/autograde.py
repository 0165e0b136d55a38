"""`course autograde`: nbgrader's own zip_collect, autograde, generate_feedback and export.

Every submission is checked before nbgrader sees it and graded in its own nbgrader process with
a time limit, so a malformed, crashing or endless submission ends with a status and a reason in
the report and never stops or touches the others.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from grader.course_dir import NAMED_REGEXP, CourseDir
from grader.notebooks import NotebookError, read_ipynb

# A whole CPU-profile notebook trains in about a minute here; this leaves room for slow machines.
SUBMISSION_TIMEOUT_SECONDS = 1800

GRADED, TIMED_OUT, CRASHED, MALFORMED, MISSING = "graded", "timed out", "crashed", "malformed", "missing"


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str
    reason: str = ""
    seconds: float = 0.0


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def collect(course: CourseDir, assignment: str, files: list[Path]) -> tuple[list[str], list[SubmissionResult]]:
    """Hand valid files to `nbgrader zip_collect`; return the students collected and the rejects.

    Rejected files are kept under `rejected/` so that nothing a student handed in is lost.
    """
    archive = course.archive(assignment)
    if archive.exists():
        shutil.rmtree(archive)
    archive.mkdir(parents=True)
    rejected_dir = course.root / "rejected" / assignment
    students, rejects = [], []
    expected_names = {p.name for p in course.release(assignment).glob("*.ipynb")}

    def reject(path: Path, student: str, reason: str) -> None:
        rejected_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, rejected_dir / path.name)
        rejects.append(SubmissionResult(student, assignment, MALFORMED, reason))

    for path in files:
        match = re.match(NAMED_REGEXP, "/" + path.name)
        if not match:
            reject(path, path.stem, f"file name {path.name!r} does not match <student>__<notebook>.ipynb")
            continue
        student = match["student_id"]
        if match["file_id"] not in expected_names:
            reject(path, student, f"{match['file_id']!r} is not a notebook of this assignment "
                                  f"(expected {', '.join(sorted(expected_names))})")
            continue
        try:
            read_ipynb(path)
        except NotebookError as error:
            reject(path, student, str(error))
            continue
        shutil.copy2(path, archive / path.name)
        students.append(student)
    if students:
        result = course.nbgrader("zip_collect", assignment, "--force")
        if result.returncode != 0:
            raise RuntimeError(f"nbgrader zip_collect {assignment} failed:\n{_tail(result.stdout + result.stderr)}")
    collected = [s for s in students if course.submitted(s, assignment).is_dir()]
    for student in sorted(set(students) - set(collected)):
        rejects.append(SubmissionResult(student, assignment, MALFORMED,
                                        "nbgrader zip_collect did not accept the file (is the notebook name right?)"))
    return collected, rejects


def autograde_one(
    course: CourseDir, assignment: str, student: str, env: dict[str, str], timeout: float = SUBMISSION_TIMEOUT_SECONDS
) -> SubmissionResult:
    """Autograde and write feedback for one student; the outcome is a status, never an exception."""
    started = time.monotonic()
    try:
        result = course.nbgrader("autograde", assignment, f"--student={student}", "--force", env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return SubmissionResult(student, assignment, TIMED_OUT, f"grading took longer than {timeout:.0f} s",
                                time.monotonic() - started)
    seconds = time.monotonic() - started
    log = result.stdout + result.stderr
    if result.returncode != 0 or not course.autograded(student, assignment).is_dir():
        return SubmissionResult(student, assignment, CRASHED, _tail(log), seconds)
    feedback = course.nbgrader("generate_feedback", assignment, f"--student={student}", "--force", env=env)
    if feedback.returncode != 0:
        return SubmissionResult(student, assignment, CRASHED, "feedback failed: " + _tail(feedback.stdout), seconds)
    reason = "a cell timed out" if "CellTimeoutError" in log else ""
    return SubmissionResult(student, assignment, GRADED, reason, seconds)


def autograde(
    course: CourseDir,
    assignment: str,
    files: list[Path],
    env: dict[str, str],
    roster: list[str] | None = None,
    timeout: float = SUBMISSION_TIMEOUT_SECONDS,
) -> list[SubmissionResult]:
    """Collect `files`, grade each submission, and report one result per student."""
    students, results = collect(course, assignment, files)
    for student in tqdm(students, desc=f"autograde {assignment}", unit="submission"):
        results.append(autograde_one(course, assignment, student, env, timeout))
    seen = {r.student for r in results}
    for student in roster or []:
        if student not in seen:
            results.append(SubmissionResult(student, assignment, MISSING, "no file handed in"))
    return sorted(results, key=lambda r: r.student)


def export_grades(course: CourseDir, csv_path: Path) -> None:
    """nbgrader's own export (one row per student and assignment)."""
    result = course.nbgrader("export", f"--to={csv_path}")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader export failed:\n{_tail(result.stdout + result.stderr)}")

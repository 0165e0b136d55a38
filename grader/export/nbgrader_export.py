"""nbgrader's own export of the class gradebook: one row per student and assignment."""

from __future__ import annotations

from pathlib import Path

from grader.course_dir import CourseDir


def export_grades(course: CourseDir, csv_path: Path) -> None:
    """nbgrader's own export (one row per student and assignment)."""
    result = course.nbgrader("export", f"--to={csv_path}")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader export failed:\n{(result.stdout + result.stderr)[-2000:]}")

"""The instructor's round trip: release, grade the example submissions, print the grade table."""

from __future__ import annotations

import shutil
from pathlib import Path

from grader import paths
from grader.assets.environment import notebook_environment
from grader.course_dir import CourseDir
from grader.grading.autograde import SubmissionResult, autograde, export_grades
from grader.grading.examples import load_examples
from grader.grading.report import GradeRow, format_table, grade_rows, matches, write_csv
from grader.notebooks import write_ipynb
from grader.release.build import assignments, release


def grade_examples(
    course: CourseDir, build: Path, only: list[str] | None = None
) -> tuple[list[GradeRow], dict[str, dict[str, dict[str, float]]]]:
    """Autograde every example submission of the released assignments.

    Returns the grade rows and the expected points, as expected[assignment][student][test].
    """
    env = notebook_environment()
    results: list[SubmissionResult] = []
    expected: dict[str, dict[str, dict[str, float]]] = {}
    for assignment in only or assignments():
        examples = load_examples(assignment, course.release(assignment) / f"{assignment}.ipynb")
        if not examples:
            continue
        files = []
        for example in examples:
            path = build / "handed_in" / assignment / f"{example.student}__{assignment}.ipynb"
            write_ipynb(example.notebook, path)
            files.append(path)
            expected.setdefault(assignment, {})[example.student] = example.expected
        results += autograde(course, assignment, files, env, roster=[e.student for e in examples])
    return grade_rows(course, results), expected


def roundtrip(build: Path | None = None, only: list[str] | None = None) -> bool:
    """Release from solutions/, grade the examples in a fresh gradebook; True if all match."""
    build = build or paths.build_dir() / "roundtrip"
    if build.exists():
        shutil.rmtree(build)
    course = CourseDir(build / "course")
    written = release(course)
    print(f"release: wrote {len(written)} files to {paths.NOTEBOOKS_DIR}")
    rows, expected = grade_examples(course, build, only)
    write_csv(rows, build / "grades.csv")
    export_grades(course, build / "nbgrader_grades.csv")
    for assignment, wanted in expected.items():
        print(f"\n{assignment}")
        print(format_table([row for row in rows if row.assignment == assignment], wanted))
    print()
    print(f"per-test grades: {build / 'grades.csv'}")
    print(f"nbgrader export: {build / 'nbgrader_grades.csv'}")
    print(f"feedback:        {course.root / 'feedback'}")
    return all(
        matches(row, expected[row.assignment][row.student])
        for row in rows
        if row.student in expected.get(row.assignment, {})
    )

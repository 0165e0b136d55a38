"""The instructor's round trip: release, grade the example submissions, print the grade table."""

from __future__ import annotations

import shutil
from pathlib import Path

from devtools.examples import ExampleSubmission, load_examples, mutation_score
from grader import paths
from grader.assets.environment import notebook_environment
from grader.autograde.class_run import autograde_many
from grader.course_dir import CourseDir
from grader.export.canvas import write_canvas_csv
from grader.export.nbgrader_export import export_grades
from grader.export.report import GradeRow, format_table, grade_rows, matches, write_csv
from grader.notebooks import write_ipynb
from grader.release.build import assignments, release
from grader.result import SubmissionResult


def grade_examples(
    course: CourseDir, build: Path, only: list[str] | None = None, workers: int | None = None
) -> tuple[list[GradeRow], dict[str, dict[str, dict[str, float]]], dict[str, list[ExampleSubmission]]]:
    """Autograde every example submission (the graded mutants) of the released assignments.

    Returns the grade rows, the expected points as expected[assignment][student][test], and the
    examples per assignment.
    """
    env = notebook_environment()
    expected: dict[str, dict[str, dict[str, float]]] = {}
    by_assignment: dict[str, list[ExampleSubmission]] = {}
    files: dict[str, list[Path]] = {}
    for assignment in only or assignments():
        examples = load_examples(assignment, course.release(assignment) / f"{assignment}.ipynb")
        if not examples:
            continue
        by_assignment[assignment] = examples
        files[assignment] = []
        for example in examples:
            path = build / "handed_in" / assignment / f"{example.student}__{assignment}.ipynb"
            write_ipynb(example.notebook, path)
            files[assignment].append(path)
            expected.setdefault(assignment, {})[example.student] = example.expected
    # One pool for every assignment: no core idles while an assignment's last submission runs.
    graded = autograde_many(course, files, env, {a: [e.student for e in by_assignment[a]] for a in files},
                            workers=workers)
    results: list[SubmissionResult] = [r for assignment in files for r in graded[assignment]]
    return grade_rows(course, results), expected, by_assignment


def mutation_report(rows: list[GradeRow], examples: list[ExampleSubmission]) -> str:
    """"mutation score: caught / mutants" for one assignment's rows."""
    full_marks = max((sum(r.max_points.values()) for r in rows), default=0.0)
    caught, total = mutation_score(examples, {r.student: r.total for r in rows}, full_marks)
    missed = [e.student for e in examples if e.kind == "mutant"
              and next((r.total for r in rows if r.student == e.student), full_marks) >= full_marks]
    return f"mutation score: {caught}/{total} mutants caught" + (f" (missed: {', '.join(missed)})" if missed else "")


def roundtrip(build: Path | None = None, only: list[str] | None = None) -> bool:
    """Release from solutions/, grade the examples in a fresh gradebook; True if all match."""
    build = build or paths.build_dir() / "roundtrip"
    if build.exists():
        shutil.rmtree(build)
    course = CourseDir(build / "course")
    # Only the assignments graded here: a one-class round trip need not wait for every notebook's release.
    written = release(course, only=only)
    print(f"release: wrote {len(written)} files to {paths.NOTEBOOKS_DIR}")
    rows, expected, examples = grade_examples(course, build, only)
    write_csv(rows, build / "grades.csv")
    write_canvas_csv(rows, build / "canvas_grades.csv")
    export_grades(course, build / "nbgrader_grades.csv")
    for assignment, wanted in expected.items():
        print(f"\n{assignment}")
        assignment_rows = [row for row in rows if row.assignment == assignment]
        print(format_table(assignment_rows, wanted))
        print(mutation_report(assignment_rows, examples[assignment]))
    print()
    print(f"per-test grades: {build / 'grades.csv'}")
    print(f"Canvas import:   {build / 'canvas_grades.csv'}")
    print(f"nbgrader export: {build / 'nbgrader_grades.csv'}")
    print(f"feedback:        {course.root / 'feedback'}")
    return all(
        matches(row, expected[row.assignment][row.student])
        for row in rows
        if row.student in expected.get(row.assignment, {})
    )

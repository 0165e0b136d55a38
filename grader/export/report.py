"""Per-test points from nbgrader's gradebook: the grade table and its CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grader.course_dir import CourseDir
from grader.markers import not_measured_reason
from grader.result import GRADED, SubmissionResult
from grader.terminal import printable


@dataclass
class GradeRow:
    student: str
    assignment: str
    status: str
    reason: str
    points: dict[str, float] = field(default_factory=dict)
    max_points: dict[str, float] = field(default_factory=dict)
    # Tests that could not run where they were graded (e.g. no InceptionV3 weights offline): reason.
    not_measured: dict[str, str] = field(default_factory=dict)
    late: bool = False  # Canvas marked the hand-in late
    late_penalty: float = 0.0  # the fraction of the points a late hand-in loses here

    @property
    def total(self) -> float:
        """The points, less the late penalty where there is one."""
        points = sum(self.points.values())
        return round(points * (1 - self.late_penalty), 4) if self.late else points


def grade_rows(course: CourseDir, results: list[SubmissionResult], late_penalty: float = 0.0) -> list[GradeRow]:
    """One row per result, with the points nbgrader recorded for each test cell; a hand-in Canvas marked late
    loses `late_penalty` of them in its total."""
    rows = []
    with Gradebook(course.gradebook_url) as gradebook:
        for result in results:
            row = GradeRow(result.student, result.assignment, result.status, result.reason, late=result.late,
                           late_penalty=late_penalty)
            if result.status == GRADED:
                try:
                    notebooks = gradebook.find_submission(result.assignment, result.student).notebooks
                except MissingEntry:
                    notebooks = []
                for notebook in notebooks:
                    for grade in notebook.grades:
                        row.points[grade.name] = grade.score
                        row.max_points[grade.name] = grade.max_score
                    row.not_measured.update(
                        not_measured(course.autograded(result.student, result.assignment) / f"{notebook.name}.ipynb")
                    )
            rows.append(row)
    return rows


def not_measured(notebook_path: Path) -> dict[str, str]:
    """grade_id -> reason, for graded cells that printed `NOT MEASURED: reason`."""
    if not notebook_path.is_file():
        return {}
    found = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        reason = not_measured_reason(cell.get("outputs", []))
        if grade_id and reason:
            found[grade_id] = reason
    return found


def write_csv(rows: list[GradeRow], path: Path) -> None:
    tests = sorted({t for row in rows for t in row.max_points})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "status", *tests, "total", "late", "reason"])
        for row in rows:
            late = (f"late, {row.late_penalty:.0%} off" if row.late_penalty else "late") if row.late else ""
            writer.writerow([row.student, row.assignment, row.status,
                             *["not measured" if t in row.not_measured else row.points.get(t, "") for t in tests],
                             row.total, late, "; ".join(filter(None, [row.reason, *row.not_measured.values()]))])


def format_table(rows: list[GradeRow], expected: dict[str, dict[str, float]] | None = None) -> str:
    """A plain-text grade table; with `expected`, a last column says whether each row matches it."""
    tests = sorted({t for row in rows for t in row.max_points})
    header = ["student", "status", *tests, "total"] + (["expected"] if expected else [])
    maxima = {t: max(r.max_points.get(t, 0) for r in rows) for t in tests}
    lines = [header, ["", "(max)", *[f"{maxima[t]:g}" for t in tests], f"{sum(maxima.values()):g}"]
             + ([""] if expected else [])]
    for row in rows:
        cells = [row.student, row.status,
                 *["n/m" if t in row.not_measured else f"{row.points[t]:g}" if t in row.points else "-" for t in tests],
                 f"{row.total:g}"]
        if expected:
            want = expected.get(row.student)
            cells.append("-" if want is None else ("ok" if matches(row, want) else "MISMATCH"))
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    for row in rows:
        if row.reason:
            text.append(f"  {row.student}: {printable(row.reason.splitlines()[-1][:200])}")
    reasons = sorted({f"{t}: {r}" for row in rows for t, r in row.not_measured.items()})
    for reason in reasons:
        text.append(f"  n/m = not measured here, earns 0 until graded where it can run: {printable(reason[:200])}")
    return "\n".join(text)


def matches(row: GradeRow, expected: dict[str, float | str]) -> bool:
    """Expected points per test; the string "not measured" expects a test that could not run here."""
    def ok(test: str, want: float | str) -> bool:
        if want == "not measured":
            return test in row.not_measured
        return test not in row.not_measured and abs(row.points.get(test, -1) - float(want)) < 1e-9

    return row.status == GRADED and all(ok(t, p) for t, p in expected.items())

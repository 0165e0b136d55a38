"""The grades as Canvas's gradebook import takes them (Grades > Import): `canvas_grades.csv`.

The layout is the one Canvas's own gradebook export writes and its importer reads back
(canvas-lms, lib/gradebook_exporter.rb and lib/gradebook_importer.rb):

- UTF-8, comma-separated, fields with commas or double quotes quoted (RFC 4180).
- Header: `Student, ID, SIS User ID, SIS Login ID, Section`, then one column per assignment. The
  importer finds the student columns by these names (the first must contain "Student", the second
  "ID", the last "Section") and treats every later column as an assignment: `Title (123)` matches
  Canvas assignment 123, a plain title matches an assignment of that title, and an unknown title
  creates a new assignment.
- Second row: "Points Possible" in the first column and each assignment's points under it; the
  importer uses them for assignments it creates.
- One row per student. The importer finds the student by ID (Canvas's user id), else SIS User ID,
  else SIS Login ID, else by name. With Canvas's gradebook export as the roster (grader/canvas_roster.py)
  each row carries the student's Canvas ID, SIS ids, name and Section from it; without one, nbgrader's
  student id goes in SIS Login ID (and Student).
- A blank (or "-") cell means "no score"; "EX" means excused. The grader never excuses: that is the
  instructor's decision, so it never writes "EX".

What each status becomes in an assignment's column:

- graded: the total points nbgrader recorded (tests "not measured" here count 0, as in grades.csv).
- timed out, crashed, malformed: 0. The student's notebook failed; the reason is in grades.csv and
  the feedback.
- missing (on the roster, nothing handed in): blank by default, so that the course's own Canvas
  "missing submission" policy and late policy apply rather than a zero decided here. A course whose
  policy is a zero passes `missing_score=0`.
- grader error: blank, always. The grader failed, not the student: no grade is posted (never 0),
  and the next run grades the submission again. Canvas shows a blank that replaces a score in its
  import preview, where it can be left out.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from grader.canvas_roster import CanvasStudent
from grader.export.report import GradeRow
from grader.result import CRASHED, GRADED, GRADER_ERROR, MALFORMED, MISSING, TIMED_OUT

STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"
ZERO_STATUSES = {TIMED_OUT, CRASHED, MALFORMED}
NO_GRADE_STATUSES = {GRADER_ERROR}


def canvas_score(row: GradeRow, *, missing_score: float | None = None) -> str:
    """The cell for one row's status (see the module's docstring); "" is no score."""
    if row.status == GRADED:
        return _number(row.total)
    if row.status in ZERO_STATUSES:
        return "0"
    if row.status == MISSING:
        return "" if missing_score is None else _number(missing_score)
    if row.status in NO_GRADE_STATUSES:
        return ""
    # A status added later must be mapped here on purpose, not guessed into a grade.
    raise ValueError(f"no Canvas grade defined for status {row.status!r} ({row.student}, {row.assignment})")


def write_canvas_csv(
    rows: list[GradeRow],
    path: Path,
    *,
    points_possible: Mapping[str, float] | None = None,
    roster: Mapping[str, CanvasStudent] | None = None,
    missing_score: float | None = None,
    assignment_columns: Mapping[str, str] | None = None,
) -> None:
    """Write `rows` as a Canvas gradebook import, one row per student and one column per assignment.

    points_possible: assignment -> its points (default: the most any graded row could earn; blank if
        none was graded, and Canvas keeps the assignment's own).
    roster: nbgrader student id -> Canvas identity (`CanvasRoster.by_student_id()` of Canvas's gradebook
        export); students not in it are identified by SIS Login ID = their nbgrader id.
    missing_score: what a missing submission gets (default: blank, see the module's docstring).
    assignment_columns: assignment -> Canvas column header, e.g. "Horses or humans (4711)" as
        Canvas's export names it (default: the nbgrader assignment name).
    """
    roster = roster or {}
    columns = assignment_columns or {}
    cells: dict[str, dict[str, str]] = {}
    for row in rows:
        by_assignment = cells.setdefault(row.student, {})
        if row.assignment in by_assignment:
            raise ValueError(f"two grade rows for {row.student} in {row.assignment}")
        by_assignment[row.assignment] = canvas_score(row, missing_score=missing_score)
    assignments = sorted({row.assignment for row in rows})
    possible = {a: _points_possible(rows, a, points_possible) for a in assignments}

    def identity(student: str) -> CanvasStudent:
        return roster.get(student) or CanvasStudent(name=student, sis_login_id=student)

    students = sorted(cells, key=lambda s: (identity(s).name or s, s))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*STUDENT_COLUMNS, *[columns.get(a, a) for a in assignments]])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *[possible[a] for a in assignments]])
        for student in students:
            who = identity(student)
            writer.writerow([who.name or student, who.canvas_id, who.sis_user_id, who.sis_login_id or student,
                             who.section, *[cells[student].get(a, "") for a in assignments]])


def _points_possible(rows: list[GradeRow], assignment: str, given: Mapping[str, float] | None) -> str:
    if given and assignment in given:
        return _number(given[assignment])
    maxima = [sum(r.max_points.values()) for r in rows if r.assignment == assignment and r.status == GRADED]
    return _number(max(maxima)) if maxima else ""


def _number(value: float) -> str:
    # Two decimals at most, as Canvas exports scores; no exponent, no trailing zeros.
    return f"{value:.2f}".rstrip("0").rstrip(".")

"""Canvas's gradebook export (Grades > Export), read as the class roster: who each student is in Canvas.

Read by the rules of Canvas's own importer (canvas-lms, lib/gradebook_importer.rb), so that every export
Canvas writes is understood as Canvas understands it:

- The header's first column contains "Student" and its second "ID", or the first three are "LastName",
  "FirstName" and "ID" (the export's option to split names).
- After the name and ID come "SIS Login ID", or "SIS User ID" and "SIS Login ID" (then possibly
  "Integration ID" and "Root Account"), then "Section". Each is optional but Section.
- Every later column is an assignment, except the read-only totals ("Current Score", "Final Grade",
  "... (read only)" and their "Unposted" versions) and "Comments"; an assignment's header is
  `Title (Canvas id)`.
- A row whose first cell contains "Points Possible" and rows that say only "Muted" or "Manual Posting"
  are not students.
- A byte-order mark is allowed (Canvas's Excel-friendly option), and so is a semicolon as the delimiter
  (Canvas writes one in locales with a decimal comma).

The nbgrader student id of each student is their SIS Login ID where the export has one, else their Canvas
user id: it is the same in every assignment's export.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

POINTS_POSSIBLE = "Points Possible"
NOT_ASSIGNMENTS = re.compile(r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                             r"Override Score|Override Grade|Override Status|\(read only\)|^Comments$")


class CanvasExportError(ValueError):
    """A file that cannot be read as Canvas's gradebook export; the message names the column or row."""


@dataclass(frozen=True)
class CanvasStudent:
    """Who a student is in Canvas; any field may be empty."""

    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""

    @property
    def student_id(self) -> str:
        """The nbgrader student id: the SIS Login ID, else the Canvas user id (Unicode NFC)."""
        return unicodedata.normalize("NFC", self.sis_login_id or self.canvas_id).strip()


@dataclass
class CanvasRoster:
    students: list[CanvasStudent] = field(default_factory=list)
    assignment_columns: list[str] = field(default_factory=list)  # as Canvas names them: "Title (id)"

    def by_canvas_id(self) -> dict[str, CanvasStudent]:
        return {s.canvas_id: s for s in self.students if s.canvas_id}

    def by_student_id(self) -> dict[str, CanvasStudent]:
        return {s.student_id: s for s in self.students if s.student_id}

    def assignment_column(self, assignment: str) -> str:
        """The export's column for an nbgrader assignment ("05_horses_or_humans" is "Horses or humans (4711)",
        or "05 Horses or Humans (4711)"), or "" when none, or more than one, matches."""
        wanted = {_words(assignment), _words(re.sub(r"^\d+[_ ]", "", assignment))}
        found = [c for c in self.assignment_columns
                 if {_words(_title(c)), _words(re.sub(r"^\d+[_ .:-]*", "", _title(c)))} & wanted]
        return found[0] if len(found) == 1 else ""


def read_canvas_roster(path: Path) -> CanvasRoster:
    """The students and assignment columns of a Canvas gradebook export (see the module's docstring)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise CanvasExportError(f"{path}: not UTF-8 text ({error.reason}); export it again from Canvas "
                                "(Grades > Export > Export Entire Gradebook)") from None
    lines = text.splitlines()
    rows = list(csv.reader(lines, delimiter=_delimiter(lines[:3])))
    if not rows:
        raise CanvasExportError(f"{path}: empty; export the gradebook from Canvas (Grades > Export)")
    header = [cell.strip() for cell in rows[0]]
    columns = _student_columns(path, header)
    assignments = [h for h in header[columns["end"]:] if h and not NOT_ASSIGNMENTS.search(h)]
    roster = CanvasRoster(assignment_columns=assignments)
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row] + [""] * len(header)
        if POINTS_POSSIBLE in cells[0] or all(re.fullmatch(r"(?i)\s*(Muted|Manual Posting.*)?\s*", c) for c in row):
            continue
        if "last" in columns:
            name = f"{cells[columns['first']]} {cells[columns['last']]}".strip()
        else:
            name = cells[columns["student"]]
        student = CanvasStudent(name, cells[columns["id"]], cells[columns["sis_user"]] if "sis_user" in columns else "",
                                cells[columns["sis_login"]] if "sis_login" in columns else "",
                                cells[columns["section"]])
        if not student.canvas_id and not student.sis_login_id:
            raise CanvasExportError(f"{path}, row {number} ({name or 'no name'}): no ID and no SIS Login ID")
        roster.students.append(student)
    return roster


def _student_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Where the student columns are, by the importer's rules; "end" is the first assignment column."""
    if len(header) > 4 and header[0] == "LastName" and header[1] == "FirstName" and "ID" in header[2]:
        columns, n = {"last": 0, "first": 1, "id": 2}, 3
    elif len(header) > 2 and "Student" in header[0] and "ID" in header[1]:
        columns, n = {"student": 0, "id": 1}, 2
    else:
        found = ", ".join(repr(h) for h in header[:4])
        raise CanvasExportError(f"{path}: its first columns are {found}, not Canvas's 'Student', 'ID' (or 'LastName', "
                                "'FirstName', 'ID'): pass the gradebook export as Canvas writes it (Grades > Export)")
    def at(i: int) -> str:
        return header[i] if i < len(header) else ""

    if re.search(r"SIS\s+Login\s+ID", at(n)):
        columns["sis_login"], n = n, n + 1
    elif re.search(r"SIS\s+User\s+ID", at(n)) and re.search(r"SIS\s+Login\s+ID", at(n + 1)):
        columns["sis_user"], columns["sis_login"], n = n, n + 1, n + 2
        n += bool(re.search(r"Integration\s+ID", at(n)))
        n += bool(re.search(r"Root\s+Account", at(n)))
    if "Section" not in at(n):
        raise CanvasExportError(f"{path}: no 'Section' column after the student columns (found {at(n) or 'nothing'!r} "
                                "there); Canvas's importer needs it")
    columns["section"], columns["end"] = n, n + 1
    return columns


def _delimiter(first_lines: list[str]) -> str:
    """';' where it splits the first lines into one consistent number of fields, more than one and more than ','
    does (Canvas's importer asks the same, of the same three lines)."""
    def fields(separator: str) -> int:
        counts = {len(row) for row in csv.reader(first_lines, delimiter=separator)}
        return counts.pop() if len(counts) == 1 else 0

    return ";" if fields(";") > max(fields(","), 1) else ","


def _title(column: str) -> str:
    return re.sub(r"\s*\(\d+\)$", "", column)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", unicodedata.normalize("NFC", text).casefold()))

"""An nbgrader zip_collect plugin for the zip Canvas writes (an assignment's "Download Submissions").

Canvas names every file it puts in that zip (canvas-lms, lib/content_zipper.rb)

    <sortable name>[_LATE]_<Canvas user id>_<attachment id>_<file name as handed in>

for example `smithbob_340934_208490284_Copy of 05_horses_or_humans.ipynb`: the sortable name lower-cased with
everything but letters, digits and underscores dropped, `_LATE` when Canvas counts the hand-in late, and the
handed-in name with `\\/:*?"<>|` replaced. Two files of one name get `-1`, `-2` before the extension. With
anonymous grading the name part is `anon_<anonymous id>` and names no student.

`CanvasCollectorPlugin` files each notebook under the student the gradebook export (canvas_roster.py) gives
that Canvas user id, and maps the handed-in name to the release notebook as ColabCollectorPlugin does. Of
several files for one notebook, the newest hand-in (the highest attachment id) is collected; every other
file is skipped with the reason, and so is a file of a user the export does not list.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets import Unicode

from grader.canvas_roster import CanvasStudent, read_canvas_roster
from grader.nbgrader_ext.collector import ColabCollectorPlugin

CANVAS_NAME = re.compile(r"^(?P<name>.*?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<attachment>\d+)_(?P<file>.+)$")
ANONYMOUS_NAME = re.compile(r"^(?:LATE_)?anon_[^_]+_\d+_")


@dataclass(frozen=True)
class CanvasFile:
    name: str  # the sortable name as Canvas wrote it
    late: bool
    user_id: str
    attachment_id: int
    handed_in_as: str  # the student's own file name, Canvas's "-N" of a repeated name taken off

    @property
    def prefix(self) -> str:
        """What Canvas's "Upload Submissions" reads a file's student and attachment from."""
        return f"{self.name}{'_LATE' if self.late else ''}_{self.user_id}_{self.attachment_id}"


def canvas_file(file_name: str) -> CanvasFile | None:
    """The parts of a Canvas download's file name, or None if it is not one."""
    match = CANVAS_NAME.match(unicodedata.normalize("NFC", file_name))
    if not match:
        return None
    handed_in = re.sub(r"-\d+(\.[^.]+)$", r"\1", match["file"])
    return CanvasFile(match["name"], bool(match["late"]), match["user"], int(match["attachment"]), handed_in)


class CanvasCollectorPlugin(ColabCollectorPlugin):
    """Canvas's submission names, each Canvas user mapped to a student through the gradebook export."""

    roster = Unicode("", help="Canvas's gradebook export (CSV) of the course.").tag(config=True)

    def match(self, submitted_file: str) -> tuple[dict | None, str]:
        path = Path(submitted_file)
        skipped = self.skipped(path)
        if skipped:
            return None, skipped
        if ANONYMOUS_NAME.match(path.name):
            return None, ("anonymous grading: Canvas's file name names no student; grade it with anonymous grading "
                          "off, or download the submissions once the grades are posted")
        found = canvas_file(path.name)
        if found is None:
            return None, (f"file name {path.name!r} is not Canvas's <name>_<user id>_<attachment id>_<file>: "
                          "hand in Canvas's own download (Download Submissions) unchanged")
        student = self.students.get(found.user_id)
        if student is None:
            return None, f"Canvas user {found.user_id} is not on the gradebook export {Path(self.roster).name!r}"
        file_id, note = self.notebook_for(found.handed_in_as)
        newest = self.newest.get((student.student_id, file_id), found.attachment_id)
        if found.attachment_id < newest:
            return None, (f"an earlier hand-in of {student.student_id}'s {file_id} (Canvas attachment "
                          f"{found.attachment_id}): the newest, attachment {newest}, is graded")
        info = {"student_id": student.student_id, "file_id": file_id, "timestamp": self.timestamp(path),
                "late": found.late, "canvas_file": path.name}
        return info, note

    @cached_property
    def students(self) -> dict[str, CanvasStudent]:
        return read_canvas_roster(Path(self.roster)).by_canvas_id()

    @cached_property
    def newest(self) -> dict[tuple[str, str], int]:
        """(student, notebook) -> the highest attachment id among the extracted files."""
        _, extracted = self._roots()
        newest: dict[tuple[str, str], int] = {}
        for path in extracted.rglob("*") if extracted is not None and extracted.is_dir() else []:
            found = canvas_file(path.name) if path.is_file() and not self.skipped(path) else None
            student = self.students.get(found.user_id) if found else None
            if found and student:
                key = (student.student_id, self.notebook_for(found.handed_in_as)[0])
                newest[key] = max(newest.get(key, 0), found.attachment_id)
        return newest

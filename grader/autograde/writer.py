"""The single writer: the only code that touches the class's gradebook and its folders.

Workers return outcomes; the main process writes each one here, in order of arrival: the graded
notebook and the feedback into the course folders, the scores into nbgrader's gradebook (with
nbgrader's own SaveAutoGrades, from the graded notebook's outputs), or for a hand-in that was not
graded a page saying why in place of what the student's earlier hand-in left, then one line in the
grading journal. The journal line comes last, so a run killed half-way regrades only the submissions that
have none, and a rerun never grades a submission twice.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import nbformat

from grader.autograde.not_graded_page import not_graded_page
from grader.course_dir import CourseDir
from grader.result import GRADED, SubmissionResult


class GradebookWriter:
    def __init__(self, course: CourseDir):
        self.course = course
        self.journal = course.root / "grading_journal.jsonl"

    def finished(self, assignment: str) -> dict[str, dict]:
        """student -> the last journal entry of `assignment` (status, reason, sha256 of the file, grading)."""
        entries: dict[str, dict] = {}
        if self.journal.is_file():
            for line in self.journal.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut off by a kill: that submission is graded again
                if entry.get("assignment") == assignment:
                    entries[entry["student"]] = entry
        return entries

    def write(self, outcome: SubmissionResult) -> None:
        if outcome.status == GRADED and outcome.autograded_json:
            self._write_files(outcome)
            self._write_grades(outcome)
        else:
            self.not_graded(outcome.student, outcome.assignment, outcome.status, outcome.student_reason)
        entry = {
            "student": outcome.student, "assignment": outcome.assignment, "status": outcome.status,
            "reason": outcome.reason, "sha256": outcome.sha256, "grading": outcome.grading, "checks": outcome.checks,
            "timings": outcome.timings, "late": outcome.late, "canvas_file": outcome.canvas_file,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        with open(self.journal, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def not_graded(self, student: str, assignment: str, status: str, student_reason: str = "") -> None:
        """A hand-in that was not graded replaces what the student's earlier one left.

        Its graded notebook, feedback page and scores in the gradebook would otherwise stand for this
        hand-in in nbgrader's export and in what the student is sent (measured: a graded 3/3 followed by
        a notebook that crashed still exported 3). The feedback folder gets a page that says why
        (not_graded_page.py); nbgrader's export then gives the student no submission (0 points).
        """
        from nbgrader.api import Gradebook, MissingEntry

        for folder in (self.course.autograded(student, assignment), self.course.feedback(student, assignment)):
            if folder.is_dir():
                shutil.rmtree(folder)
        with Gradebook(self.course.gradebook_url) as gradebook:
            try:
                gradebook.remove_submission(assignment, student)
            except MissingEntry:
                pass
        feedback = self.course.feedback(student, assignment)
        feedback.mkdir(parents=True)
        page = not_graded_page(assignment, status, student_reason)
        for release_notebook in sorted(self.course.release(assignment).glob("*.ipynb")):
            _atomic_write(feedback / f"{release_notebook.stem}.html", page)

    def _write_files(self, outcome: SubmissionResult) -> None:
        notebook_name = outcome.notebook_name
        graded = self.course.autograded(outcome.student, outcome.assignment)
        graded.mkdir(parents=True, exist_ok=True)
        _atomic_write(graded / notebook_name, outcome.autograded_json)
        if outcome.feedback_html:
            feedback = self.course.feedback(outcome.student, outcome.assignment)
            feedback.mkdir(parents=True, exist_ok=True)
            _atomic_write(feedback / f"{Path(notebook_name).stem}.html", outcome.feedback_html)

    def _write_grades(self, outcome: SubmissionResult) -> None:
        notebook_name = outcome.notebook_name
        from nbgrader.api import Gradebook
        from nbgrader.preprocessors import SaveAutoGrades
        from sqlalchemy.exc import SAWarning

        with Gradebook(self.course.gradebook_url) as gradebook, warnings.catch_warnings():
            # nbgrader's own autograde raises the same SQLAlchemy autoflush warnings here; they are noise.
            warnings.simplefilter("ignore", SAWarning)
            gradebook.update_or_create_student(outcome.student)
            gradebook.update_or_create_submission(outcome.assignment, outcome.student)
        nb = nbformat.reads(outcome.autograded_json, as_version=4)
        resources = {"nbgrader": {"notebook": Path(notebook_name).stem, "assignment": outcome.assignment,
                                  "student": outcome.student, "db_url": self.course.gradebook_url}}
        SaveAutoGrades().preprocess(nb, resources)


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)

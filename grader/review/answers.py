"""What each student wrote: the code of their answer cells, without the lines the release gave them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.course_dir import CourseDir
from grader.notebooks import NotebookError, grade_id, read_ipynb


@dataclass(frozen=True)
class Answer:
    student: str
    code: str  # the answer cells' own lines, cell after cell, in the notebook's order
    problem: str = ""  # why there is nothing to compare ("" when there is)


def release_code(course: CourseDir, assignment: str) -> str:
    """Every code line the release gives: its given cells and its answer cells' starter lines."""
    cells = []
    for notebook in sorted(course.release(assignment).glob("*.ipynb")):
        cells += [cell.source for cell in read_ipynb(notebook).cells if cell.cell_type == "code"]
    return "\n".join(cells)


def class_answers(course: CourseDir, assignment: str) -> list[Answer]:
    """Each collected student's answer code (course.submitted), the starter lines of the release taken out."""
    given = {line.strip() for line in release_code(course, assignment).splitlines() if line.strip()}
    answers = []
    folder = course.root / "submitted"
    for student_folder in sorted(p for p in folder.iterdir() if (p / assignment).is_dir()) if folder.is_dir() else []:
        answers.append(_answer(student_folder.name, sorted((student_folder / assignment).glob("*.ipynb")), given))
    return answers


def _answer(student: str, notebooks: list[Path], given: set[str]) -> Answer:
    lines = []
    for path in notebooks:
        try:
            nb = read_ipynb(path)
        except NotebookError as error:
            return Answer(student, "", f"its notebook cannot be read: {error}")
        for cell in nb.cells:
            if cell.cell_type == "code" and grade_id(cell) and cell.metadata["nbgrader"].get("solution"):
                lines += [line for line in cell.source.splitlines() if line.strip() not in given]
    code = "\n".join(lines)
    if not code.strip():
        return Answer(student, "", "no code of its own in the answer cells")
    return Answer(student, code)

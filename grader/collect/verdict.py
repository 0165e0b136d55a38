"""The grader's verdict on one handed-in notebook before it runs: can it be graded, and what collect changes.

One function for both sides of a hand-in: `collect` (intake.py) judges every file with it, and the students'
check-and-hand-in cell (grader/student/handin.py) judges the notebook in front of them with the same code, so
the two never disagree. It reads nothing but the notebook's bytes and the release.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from grader.collect.cells import restore_cells, same_notebook

# The largest notebook read: parsing JSON costs memory by its shape, not its size (20 MB of tiny lists
# took 1.1 GB and 13 s to read here, 20 MB of output text 126 MB), in the process that grades the whole
# class. The release's notebooks with their outputs are 2-6 MB; grading re-runs the cells, so a student
# can hand in a larger notebook with its outputs cleared.
MAX_NOTEBOOK_BYTES = 32 * 2**20


@dataclass
class Verdict:
    problem: str = ""  # why it cannot be graded; "" when it can
    restored: NotebookNode | None = None  # the notebook with the release's nbgrader metadata back
    changes: list[str] = field(default_factory=list)  # what collect restores, and why
    changed: bool = False  # `restored` differs from what was handed in


def too_large(size: int, name: str) -> str:
    """Why a file of `size` bytes is not read, or ""."""
    if size <= MAX_NOTEBOOK_BYTES:
        return ""
    return (f"{name}: {size / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MB a notebook may have: "
            "clear its outputs (Edit > Clear all outputs) and hand it in again")


def judge_notebook(data: bytes, release: NotebookNode, name: str, assignment: str) -> Verdict:
    """`data`, a file named `name` handed in for the notebook `release` of `assignment`: size, format, the right
    assignment, then the release's cells put back where they were edited or their metadata lost."""
    if too_large(len(data), name):
        return Verdict(too_large(len(data), name))
    try:
        nb = nbformat.read(io.BytesIO(data), as_version=4)
        nbformat.validate(nb)
    except Exception as error:
        return Verdict(f"{name}: not a valid Jupyter notebook ({type(error).__name__}: {error})")
    if not same_notebook(nb, release):
        return Verdict(f"{name}: none of the graded cells of {assignment} are in this notebook; did you hand in "
                       "another assignment's notebook?")
    restored, messages = restore_cells(nb, release)
    return Verdict("", restored, messages, restored != nb)

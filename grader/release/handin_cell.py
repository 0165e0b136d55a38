"""The check-and-hand-in cell that ends every graded notebook of a release (its code: grader/student/handin.py).

The cell installs the grader's own code on Colab (the package alone, from the course's repository: Colab has
what it imports) and calls it with what it needs of this release: where the release is published, and the
names of the release's code and of Python's builtins that the source's tests read, and the attributes and methods
they use (tampering.tested_names: none of the hidden tests' code or variables). It is
tagged skip-execution: grading and `course validate` do not run it.
"""

from __future__ import annotations

import nbformat

from grader.collect.cells import SKIP_TAG
from grader.collect.tampering import tested_names
from grader.release.colab import github_repository, to_colab

INTRO = ("## Check and hand in\n\nRun the cell below last, after every other cell. It makes the checks the grader "
         "makes when it collects your notebook (the right assignment, the test cells as released, no code that "
         "can change how a test is reported), lists your tests' results from this run, and saves a copy to hand "
         "in (on Colab it downloads it). Fix anything it marks FIX before you hand in.")

CODE = '''\
import subprocess
import sys

if "google.colab" in sys.modules:  # the grader's own checks, from the course's repository
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "{package}"])
from grader.student.handin import check_and_hand_in

check_and_hand_in(
    "{assignment}",
    release_url="{release_url}",
    tested={tested},
)
'''


def add_handin_cell(nb: nbformat.NotebookNode, assignment: str) -> None:
    """Append the cell (and the markdown before it) to a source notebook that has test cells."""
    if not any(cell.get("metadata", {}).get("nbgrader", {}).get("grade") for cell in nb.cells):
        return
    repository = github_repository()
    intro = nbformat.v4.new_markdown_cell(INTRO)
    intro.id = "check-and-hand-in-intro"  # fixed ids: the release is reproducible byte for byte

    def cell(tested: dict[str, list[str]]) -> nbformat.NotebookNode:
        code = nbformat.v4.new_code_cell(CODE.format(
            package=f"git+https://github.com/{repository}.git", assignment=assignment,
            release_url=f"https://raw.githubusercontent.com/{repository}/main/notebooks/{assignment}.ipynb",
            tested=_literal(tested)))
        code.id = "check-and-hand-in"
        code.metadata["tags"] = [SKIP_TAG]
        return code

    # The names as the grader's scan sees the release: its Colab copy, this cell among its given cells (the
    # names the cell imports and defines do not depend on what it carries).
    provisional = nbformat.v4.new_notebook(cells=[*nb.cells, intro, cell({})], metadata=nb.metadata)
    nb.cells += [intro, cell(tested_names(nb, to_colab(provisional, f"{assignment}.ipynb")))]


def _literal(tested: dict[str, list[str]]) -> str:
    """The names as a Python literal the cell can carry, one field a line."""
    lines = [f"        {field!r}: {names!r}," for field, names in tested.items()]
    return "{\n" + "\n".join(lines) + "\n    }"

"""Validating before submitting: the visible tests run as nbgrader runs them, and their points show."""

import copy
import os

import nbformat
import pytest

from grader.notebooks import read_ipynb, write_ipynb
from grader.student.validate import format_report, validate

ASSIGNMENT = "a1"  # the tiny course of conftest.py


@pytest.fixture(autouse=True)
def plain_kernels(tmp_path, monkeypatch):
    """The session's IPYTHONDIR has a startup file importing Keras into every kernel: not needed here."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))


def solved(release):
    nb = read_ipynb(release)
    (answer,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    answer.source = "def double(x):\n    return x + x"
    return nb


def test_the_release_fails_its_visible_test(tiny_course):
    report = validate(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")

    visible, hidden = report.tests
    assert (visible.grade_id, visible.points, visible.score, visible.passed) == ("test_double", 2, 0, False)
    assert visible.error == "NotImplementedError"
    assert (hidden.grade_id, hidden.hidden) == ("test_hidden", True)
    text = format_report(report)
    assert "test_double" in text and "FAILED NotImplementedError" in text
    assert "test_hidden" in text and "hidden: runs when graded" in text
    assert text.endswith("visible points: 0 / 2 (hidden tests run when graded)")


def test_a_solved_notebook_gets_full_visible_points(tiny_course, tmp_path):
    mine = tmp_path / "student" / "mine.ipynb"
    write_ipynb(solved(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"), mine)
    before = mine.read_text()

    report = validate(mine)

    assert [(t.grade_id, t.passed, t.score) for t in report.visible] == [("test_double", True, 2)]
    assert format_report(report).endswith("visible points: 2 / 2 (hidden tests run when graded)")
    assert mine.read_text() == before
    assert [p.name for p in mine.parent.iterdir()] == ["mine.ipynb"], "no temporary files left behind"


def test_a_colab_copy_without_metadata_is_scored_with_the_release(tiny_course, tmp_path):
    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    nb = solved(release)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    write_ipynb(nb, tmp_path / "Copy of a1.ipynb")

    assert validate(tmp_path / "Copy of a1.ipynb").tests == []
    report = validate(tmp_path / "Copy of a1.ipynb", release=release)
    assert [(t.grade_id, t.passed) for t in report.visible] == [("test_double", True)]
    assert "restored nbgrader metadata of cell 'test_double' (lost, e.g. by Colab)" in report.notes


def test_env_reaches_the_kernel_and_an_edited_test_is_flagged(tiny_course, tmp_path, monkeypatch):
    monkeypatch.delenv("A1_FLAG", raising=False)
    nb = solved(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    env_test = copy.deepcopy(nb.cells[2])
    env_test.source = 'import os\nassert open("data.txt").read() == "beside"\nassert os.environ["A1_FLAG"] == "on"'
    env_test.id = "env"
    env_test.metadata.nbgrader.update(grade_id="test_env", checksum="0" * 32)
    nb.cells.append(env_test)
    nbformat.validate(nb)
    write_ipynb(nb, tmp_path / "env.ipynb")
    (tmp_path / "data.txt").write_text("beside")  # the kernel runs in the notebook's folder

    report = validate(tmp_path / "env.ipynb", env={"A1_FLAG": "on"}, timeout=60)

    env_result = report.tests[-1]
    assert (env_result.grade_id, env_result.passed, env_result.edited) == ("test_env", True, True)
    assert "cell edited: graded with the original" in format_report(report)
    assert "A1_FLAG" not in os.environ
    failing = validate(tmp_path / "env.ipynb", timeout=60).tests[-1]
    assert (failing.passed, failing.error) == (False, "KeyError: 'A1_FLAG'")


def test_a_test_cell_turned_into_markdown_is_named(tiny_course, tmp_path):
    nb = solved(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    test = nb.cells[2]
    nb.cells[2] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata, id=test.id)
    write_ipynb(nb, tmp_path / "typed.ipynb")

    report = validate(tmp_path / "typed.ipynb")

    assert report.tests == []
    assert report.notes == [
        "the code cell 'test_double' is now a markdown cell: "
        "change it back (nbgrader runs nothing until then)"
    ]

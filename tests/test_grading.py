"""Grading: bad input is reported and set aside; the example submissions earn exactly their points."""

import json

import nbformat
import pytest

from grader import paths
from grader.assets.environment import notebook_environment
from grader.course_dir import CourseDir
from grader.grading.autograde import GRADED, MALFORMED, MISSING, autograde, collect
from grader.grading.examples import apply_replacements, load_examples
from grader.grading.report import format_table, grade_rows, matches, not_measured, write_csv
from grader.markers import not_measured_reason
from grader.notebooks import write_ipynb
from grader.release.build import assignments, release

FIRST = assignments()[0]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    course = CourseDir(root / "course")
    release(course, root / "notebooks")
    return course


def bad_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"xavier__{FIRST}.ipynb").write_text('{"cells": [')  # cut-off JSON
    (folder / f"fin__{FIRST}.ipynb").write_text(json.dumps({"hello": "world"}))  # JSON, not a notebook
    (folder / "gus-homework.ipynb").write_text((paths.NOTEBOOKS_DIR / f"{FIRST}.ipynb").read_text())
    (folder / f"hal__{FIRST}_final.ipynb").write_text((paths.NOTEBOOKS_DIR / f"{FIRST}.ipynb").read_text())
    return sorted(folder.iterdir())


def test_collect_rejects_bad_files_with_reasons_and_keeps_them(course, tmp_path):
    good = tmp_path / "in" / f"ivy__{FIRST}.ipynb"
    good.parent.mkdir(parents=True)
    good.write_text((paths.NOTEBOOKS_DIR / f"{FIRST}.ipynb").read_text())
    collected, rejects = collect(course, FIRST, [good, *bad_files(tmp_path / "bad")])
    assert collected == ["ivy"]
    assert (course.submitted("ivy", FIRST) / f"{FIRST}.ipynb").is_file()
    reasons = {r.student: r.reason for r in rejects}
    assert all(r.status == MALFORMED for r in rejects)
    assert "not a valid Jupyter notebook" in reasons["xavier"]
    assert "not a valid Jupyter notebook" in reasons["fin"]
    assert "does not match" in reasons["gus-homework"]
    assert "is not a notebook of this assignment" in reasons["hal"]
    kept = {p.name for p in (course.root / "rejected" / FIRST).iterdir()}
    assert {f"xavier__{FIRST}.ipynb", f"fin__{FIRST}.ipynb", "gus-homework.ipynb"} <= kept


def test_an_example_replacement_must_match_exactly_once():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1\nx = 1\n")
    cell.metadata["nbgrader"] = {"solution": True}
    nb.cells = [cell]
    with pytest.raises(ValueError, match="occurs 2 times"):
        apply_replacements(nb, [["x = 1", "x = 2"]], "spec")
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply_replacements(nb, [["y = 1", "x = 2"]], "spec")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", [a for a in assignments() if (paths.EXAMPLES_DIR / f"{a}.toml").exists()])
def test_examples_earn_their_expected_points(course, tmp_path, assignment):
    """The real pipeline (zip_collect, autograde with hidden tests, feedback) on every example,
    beside bad files and a missing student: one's failure must not touch another's grade."""
    examples = load_examples(assignment, course.release(assignment) / f"{assignment}.ipynb")
    files = []
    for example in examples:
        files.append(tmp_path / f"{example.student}__{assignment}.ipynb")
        write_ipynb(example.notebook, files[-1])
    files += bad_files(tmp_path / "bad")
    roster = [e.student for e in examples] + ["zoe_never_handed_in"]
    results = autograde(course, assignment, files, notebook_environment(), roster=roster)
    rows = {row.student: row for row in grade_rows(course, results)}
    print(format_table(list(rows.values()), {e.student: e.expected for e in examples}))
    for example in examples:
        row = rows[example.student]
        assert row.status == GRADED, f"{example.student}: {row.status} {row.reason}"
        assert matches(row, example.expected), f"{example.student}: got {row.points}, want {example.expected}"
        assert (course.feedback(example.student, assignment) / f"{assignment}.html").is_file()
    assert rows["zoe_never_handed_in"].status == MISSING
    assert rows["xavier"].status == MALFORMED
    write_csv(list(rows.values()), tmp_path / "grades.csv")
    assert f"zoe_never_handed_in,{assignment},missing" in (tmp_path / "grades.csv").read_text()


def test_not_measured_checks_are_named_with_their_reason(tmp_path):
    """A graded cell that printed `NOT MEASURED: reason` shows as not measured; one without a reason does not."""
    nb = nbformat.v4.new_notebook()
    for grade_id, text in (("test_inception", "NOT MEASURED: no InceptionV3 weights here\n"),
                           ("test_no_reason", "NOT MEASURED:\n"),
                           ("test_measured", "METRIC val_accuracy=0.91\n")):
        cell = nbformat.v4.new_code_cell("pass", outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)])
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id}
        nb.cells.append(cell)
    write_ipynb(nb, tmp_path / "graded.ipynb")
    assert not_measured(tmp_path / "graded.ipynb") == {"test_inception": "no InceptionV3 weights here"}
    assert not_measured_reason(nb.cells[1].outputs) == ""
    assert not_measured_reason(nb.cells[2].outputs) is None

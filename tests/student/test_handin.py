"""The check-and-hand-in cell: its verdicts are the grader's (collect and the tripwire, on the same notebooks:
every graded example, the measured exploits, answers written apart), it reports the tests of the current run,
and the cell the release ships runs as it is and saves a copy to hand in with its record."""

import ast
import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import uncollected_copy
from grader.autograde.plan import tampering_findings
from grader.collect.intake import collect
from grader.notebooks import read_ipynb, write_ipynb
from grader.student.handin import check_notebook, run_results
from tests.autograde.test_grading import example_files
from tests.collect.test_tampering import exploit_files


def shipped_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    (cell,) = [c for c in notebook.cells if c.get("id") == "check-and-hand-in"]
    return cell


def shipped_names(notebook: nbformat.NotebookNode) -> dict:
    """The `tested=` literal of the release's own cell, as the student's kernel reads it."""
    call = next(node for node in ast.walk(ast.parse(shipped_cell(notebook).source)) if isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "check_and_hand_in")
    return ast.literal_eval(next(k.value for k in call.keywords if k.arg == "tested"))


@pytest.fixture(scope="module")
def course_copy(released, tmp_path_factory):
    """The session's release in a course folder of this module's own (nothing collected in it yet)."""
    return uncollected_copy(released[0], tmp_path_factory.mktemp("handin")), released[1]


def test_its_verdicts_are_the_graders_on_every_example_and_exploit(course_copy, tmp_path):
    """For each hand-in: rejected by collect exactly when the cell says the grader cannot take it, the cells
    collect restores are the ones the cell names, and the tripwire's findings (the grader's, with the source's
    hidden tests) are the cell's (with the names its release ships)."""
    course, notebooks = course_copy
    folder = tmp_path / "in"
    folder.mkdir()
    examples, files, _ = example_files(course, folder)
    for assignment, extra in exploit_files(course, folder, examples).items():
        files.setdefault(assignment, [])
        files[assignment] += [f for f in extra if f not in files[assignment]]
    compared = 0
    for assignment, handed_in in files.items():
        colab = read_ipynb(notebooks / f"{assignment}.ipynb")
        tested = shipped_names(colab)
        cell = {path.name.split("__")[0]: check_notebook(path.read_bytes(), colab, assignment, tested)
                for path in handed_in}
        collected = collect(course, assignment, handed_in)
        rejected = {student for student, report in cell.items() if report.checks[0].ok is False}
        assert {r.student for r in collected.rejects} == rejected
        notebook = f"{assignment}.ipynb"
        for student in collected.students:
            restored = [c[len(notebook) + 2:] for c in collected.changes.get(student, [])
                        if c.startswith(f"{notebook}: ")]
            report = cell[student]
            assert report.checks[1].ok is (not restored), (student, restored, report.checks[1])
            assert all(message in report.checks[1].detail for message in restored)
            grader = [str(f) for f in tampering_findings(course.submitted(student, assignment) / notebook,
                                                         course.release(assignment) / notebook,
                                                         course.source(assignment) / notebook)]
            assert report.checks[2].ok is (not grader), (assignment, student, grader, report.checks[2])
            assert all(finding in report.checks[2].detail for finding in grader)
            compared += 1
    assert compared >= 40, compared


def test_answers_written_apart_are_not_flagged(course_copy):
    """05's answers written apart (tests/fixtures/similarity) typed into the release: the cell and the grader
    both take them as they are."""
    from tests.review.test_similarity import FIXTURES, PLACEHOLDER

    course, notebooks = course_copy
    colab = read_ipynb(notebooks / "05_horses_or_humans.ipynb")
    for fixture in sorted(FIXTURES.glob("honest_*.txt")):
        nb = copy.deepcopy(colab)
        answers = iter(fixture.read_text().split("# ---\n"))
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                code = next(answers)
                cell.source = PLACEHOLDER.sub(lambda _, code=code: code, cell.source)
        report = check_notebook(nbformat.writes(nb).encode(), colab, "05_horses_or_humans", shipped_names(colab))
        assert [c.ok for c in report.checks] == [True, True, True], (fixture.name, report.text())


def test_the_tests_of_the_current_run():
    release = nbformat.v4.new_notebook()

    def test_cell(grade_id, source, **cell):
        new = nbformat.v4.new_code_cell(source, **cell)
        new.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": 2, "locked": True}
        return new

    release.cells = [test_cell("test_a", "assert x == 1"), test_cell("test_b", "assert y == 2"),
                     test_cell("test_c", "assert z"), test_cell("test_hidden", "# Hidden test: checks z.")]
    ran = copy.deepcopy(release)
    ran.cells[0].execution_count = 1
    ran.cells[1].execution_count = 2
    ran.cells[1].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="y is 3", traceback=[])]
    lines, hidden = run_results(ran, release)
    assert [(line.what, line.ok) for line in lines] == [("test_a (2 points)", True), ("test_b (2 points)", False),
                                                        ("test_c (2 points)", None)]
    assert "AssertionError: y is 3" in lines[1].detail and "not run" in lines[2].detail
    assert hidden == ["test_hidden"]


def test_the_shipped_cell_runs_in_jupyter_and_saves_a_copy_with_its_record(course_copy, tmp_path):
    """The release's own cell, run in a kernel beside a student's saved notebook (JupyterLab tells the kernel
    its path): it prints the grader's verdicts and writes hand_in/<notebook> with the record."""
    course, notebooks = course_copy
    colab = read_ipynb(notebooks / "05_horses_or_humans.ipynb")
    student = copy.deepcopy(colab)
    (solution,) = [c for c in student.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "callback"]
    solution.source = "import sys\nsys.excepthook = print\n" + solution.source  # something the tripwire flags
    saved = tmp_path / "work" / "05_horses_or_humans.ipynb"
    write_ipynb(student, saved)
    runner = nbformat.v4.new_notebook(cells=[copy.deepcopy(shipped_cell(colab))])
    runner.cells[0].metadata["tags"] = []  # the release tags it so that grading skips it
    runner.metadata["kernelspec"] = colab.metadata.get("kernelspec", {"name": "python3"})
    from nbclient import NotebookClient

    env = {**os.environ, "JPY_SESSION_NAME": str(saved)}
    cwd = saved.parent
    client = NotebookClient(runner, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    old = dict(os.environ)
    os.environ.update(env)
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    text = "".join(o.get("text", "") for o in runner.cells[0].outputs)
    assert "ok  a notebook of this assignment the grader can read" in text, text
    assert "FIX no code that can change how a test is reported" in text and "excepthook" in text
    assert "Hidden tests run only when graded: test_callback, test_validation_accuracy" in text
    assert "Hand in: hand_in/05_horses_or_humans.ipynb" in text, "flagged, it is graded all the same"

    write_ipynb(colab, saved)  # untouched: nothing to fix
    os.environ.update(env)
    try:
        client = NotebookClient(copy.deepcopy(runner), timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}})
        executed = client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    text = "".join(o.get("text", "") for o in executed.cells[0].outputs)
    assert "Hand in: hand_in/05_horses_or_humans.ipynb" in text, text
    record = read_ipynb(cwd / "hand_in" / "05_horses_or_humans.ipynb").metadata["course_handin"]
    assert record["assignment"] == "05_horses_or_humans" and len(record["release_sha256"]) == 64


def test_without_a_notebook_it_says_what_it_could_not_check(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    run = subprocess.run([sys.executable, "-c", "from grader.student.handin import check_and_hand_in\n"
                          "check_and_hand_in('05_horses_or_humans', release_url='https://example.invalid/x.ipynb', "
                          "tested={'read': [], 'attributes': [], 'called': [], 'bound': []})"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "??  this notebook: this notebook's file was not found" in run.stdout
    assert "Nothing else was checked" in run.stdout
    assert not (Path(tmp_path) / "hand_in").exists()

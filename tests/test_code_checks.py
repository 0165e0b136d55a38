"""05's callback test confirmed outside the grading kernel: the student's cell, re-run by the grader in a
fresh process on probes, for the solution, the graded mutant, the untouched release and a hang."""

import pytest

from grader import paths
from grader.grading import code_checks
from grader.grading.code_checks import callback_stops_at_target
from grader.grading.examples import load_examples
from grader.notebooks import write_ipynb

ASSIGNMENT = "05_horses_or_humans"
PARAMS = {"cell": "callback", "class": "StopAtAccuracy"}


@pytest.fixture(scope="module")
def examples():
    return {e.student: e for e in load_examples(ASSIGNMENT, paths.NOTEBOOKS_DIR / f"{ASSIGNMENT}.ipynb")}


def _check(example_nb, tmp_path):
    write_ipynb(example_nb, tmp_path / "handed_in.ipynb")
    return callback_stops_at_target(PARAMS, tmp_path / "handed_in.ipynb", tmp_path)


def test_the_solutions_callback_passes(examples, tmp_path):
    ok, message = _check(examples["ada_solution"].notebook, tmp_path)
    assert ok, message
    assert "fresh process" in message


def test_a_callback_that_sets_the_flag_on_itself_fails(examples, tmp_path):
    ok, message = _check(examples["dee_callback_never_stops"].notebook, tmp_path)
    assert not ok and "accuracy 0.95 with target 0.95: stop_training=False" in message


def test_the_untouched_callback_fails_with_the_reason(examples, tmp_path):
    ok, message = _check(examples["bo_untouched"].notebook, tmp_path)
    assert not ok and "NotImplementedError" in message


def test_a_callback_that_hangs_is_stopped(examples, tmp_path, monkeypatch):
    monkeypatch.setattr(code_checks, "PROBE_TIMEOUT_SECONDS", 20)
    nb = examples["ada_solution"].notebook
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "callback")
    cell.source = cell.source.replace("accuracy = (logs or {}).get", "while True:\n            pass\n"
                                      "        accuracy = (logs or {}).get")
    ok, message = _check(nb, tmp_path)
    assert not ok and "did not finish within 20 s" in message

"""The grader's verdicts written into the graded notebook: each check as outputs of its test cell, where
nbgrader's own SaveAutoGrades scores them (an error output costs the test its points)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.notebooks import grade_id


def check_outputs(check: dict) -> list:
    """The grader's verdict as outputs of the test cell: an error output costs the test its points."""
    metric = [f"METRIC grader_{check['check']}={check['metric']:.4f}\n"] if check.get("metric") is not None else []
    if check["passed"]:
        text = "".join(metric) + f"grader check on the saved model (fresh process): {check['message']}\n"
        return [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if check.get("not_measured"):
        text = f"NOT MEASURED: {check['not_measured']}\n"
        return [nbformat.v4.new_output("stream", name="stdout", text=text),
                nbformat.v4.new_output("error", ename="NotMeasured", evalue=check["not_measured"], traceback=[])]
    text = "".join(metric)
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
    return outputs + [nbformat.v4.new_output("error", ename="GraderCheckFailed", evalue=check["message"],
                                             traceback=[f"GraderCheckFailed: {check['message']}"])]


def fail_unconfirmed_tests(nb: nbformat.NotebookNode, checks: list[dict]) -> None:
    """A flagged notebook's kernel can report a pass it did not earn: a test that no check of the grader's
    confirms gets an error output, and nbgrader records zero points for it. (data/grading.toml gives
    every test of the course's notebooks a check; this keeps a new test without one honest.)"""
    confirmed = {check["test"] for check in checks}
    reason = "this notebook is flagged for review and no check of the grader's confirms this test"
    for cell in nb.cells:
        if grade_id(cell) and cell.get("metadata", {}).get("nbgrader", {}).get("grade") and \
                grade_id(cell) not in confirmed:
            cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                "error", ename="NotConfirmed", evalue=reason, traceback=[f"NotConfirmed: {reason}"]))


def apply_checks(nb: nbformat.NotebookNode, checks: list[dict]) -> None:
    by_test = {}
    for check in checks:
        by_test.setdefault(check["test"], []).append(check)
    for cell in nb.cells:
        for check in by_test.get(grade_id(cell) or "", []):
            cell.setdefault("outputs", []).extend(check_outputs(check))


def score(graded_path: Path, checks: list[dict], *, flagged: bool, nbgrader: dict) -> str:
    """Write the verdicts into the graded notebook, score it into the scratch gradebook (nbgrader's
    SaveAutoGrades, `nbgrader` its resources) and return the notebook's JSON."""
    from nbgrader.preprocessors import SaveAutoGrades

    graded = nbformat.read(graded_path, as_version=4)
    apply_checks(graded, checks)
    if flagged:
        fail_unconfirmed_tests(graded, checks)
    SaveAutoGrades().preprocess(graded, {"nbgrader": nbgrader})
    nbformat.write(graded, graded_path)
    return nbformat.writes(graded)

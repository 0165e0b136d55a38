"""`validate`: a student runs the visible tests and sees the points before submitting.

The notebook is executed by nbgrader's own Validator (what `nbgrader validate` does: the same
metadata check, clearing of outputs and Execute preprocessor as at grading), and every test cell
is scored with nbgrader's own `determine_grade`, so the points shown are the points the
autograder would give for the tests the student can see. Hidden tests are stripped from the
release (nbgrader leaves only their comment), so their cells pass trivially here: they are shown
as hidden and left out of the visible total.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute, NbGraderPreprocessor
from nbgrader.validator import Validator
from traitlets.config import Config

from grader.collect.cells import restore_cells
from grader.notebooks import grade_id, read_ipynb, write_ipynb

CELL_TIMEOUT_SECONDS = 600


@dataclass
class TestResult:
    """One test cell as the autograder would score it now."""

    grade_id: str
    points: float  # possible
    score: float  # earned
    passed: bool
    error: str = ""  # last line of the error, e.g. "NotImplementedError: "
    hidden: bool = False  # only a comment in the release: the real test runs when graded
    edited: bool = False  # a locked cell changed: graded with the release's version

    __test__ = False  # not a pytest test class


@dataclass
class ValidationReport:
    """The test cells of one notebook and notes on anything that keeps them from counting."""

    notebook: Path
    tests: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # restored metadata, changed cell types, a crashed kernel

    @property
    def visible(self) -> list[TestResult]:
        return [test for test in self.tests if not test.hidden]

    @property
    def visible_score(self) -> float:
        return sum(test.score for test in self.visible)

    @property
    def visible_points(self) -> float:
        return sum(test.points for test in self.visible)


def validate(
    notebook: Path,
    env: dict[str, str] | None = None,
    timeout: int = CELL_TIMEOUT_SECONDS,
    release: Path | None = None,
) -> ValidationReport:
    """Run `notebook` as nbgrader validates it and score each test cell (cells with nbgrader `grade`).

    `env` is added to the kernel's environment (the offline asset folders), `timeout` limits each
    cell. With `release` (the release notebook), nbgrader metadata that Colab dropped is restored
    first, in a temporary copy; the student's file is never changed.
    """
    report = ValidationReport(Path(notebook))
    nb = read_ipynb(notebook)
    if release is not None:
        nb, report.notes = restore_cells(nb, read_ipynb(release))
    # nbgrader runs a notebook in its folder (data files beside it): the copy goes there, hidden.
    handle, name = tempfile.mkstemp(suffix=".ipynb", prefix=".validate-", dir=Path(notebook).parent)
    os.close(handle)
    copy = Path(name)
    try:
        write_ipynb(nb, copy)
        validator = _RecordingValidator(
            preprocessors=[CheckCellMetadata, ClearOutput, Execute, _Record],
            config=Config({"Execute": {"timeout": timeout}}),
        )
        with _environ(env or {}):
            results = validator.validate(str(copy))
    except (RuntimeError, TimeoutError) as error:  # a dead kernel (DeadKernelError) or no kernel at all
        report.notes.append(f"the notebook could not be run: {type(error).__name__}: {error}")
        return report
    finally:
        copy.unlink(missing_ok=True)
    names = {cell.source.strip(): grade_id(cell) for cell in nb.cells}
    for cell in results.get("type_changed", []):
        # nbgrader's names: old_type is the cell's type now, new_type the release's.
        report.notes.append(
            f"the {cell['new_type']} cell {names.get(cell['source'])!r} is now a {cell['old_type']} cell: "
            "change it back (nbgrader runs nothing until then)"
        )
    if validator.executed is not None:
        report.tests = [_score(cell) for cell in validator.executed.cells if utils.is_grade(cell)]
    return report


def format_report(report: ValidationReport) -> str:
    """A small table, one row per test cell, and the visible total."""
    def points(value: float) -> str:
        return f"{value:g}"

    rows = [("test", "points", "result")]
    for test in report.tests:
        if test.hidden:
            result = "hidden: runs when graded"
        elif test.passed:
            result = "passed"
        else:
            result = f"FAILED {test.error}".rstrip()
        if test.edited:
            result += " (cell edited: graded with the original)"
        shown = "-" if test.hidden else f"{points(test.score)}/{points(test.points)}"
        rows.append((test.grade_id, shown, result))
    width = [max(len(row[k]) for row in rows) for k in range(2)]
    lines = [f"{a:<{width[0]}}  {b:>{width[1]}}  {c}" for a, b, c in rows]
    lines.insert(1, "-" * (width[0] + width[1] + 4 + max(len(row[2]) for row in rows)))
    lines += report.notes
    total = f"{points(report.visible_score)} / {points(report.visible_points)}"
    lines.append(f"visible points: {total} (hidden tests run when graded)")
    return "\n".join(lines)


def _score(cell: NotebookNode) -> TestResult:
    meta = cell.metadata.nbgrader
    score, possible = utils.determine_grade(cell)
    score = possible if score is None else score  # a markdown grade cell: graded by hand
    hidden = cell.cell_type == "code" and not _has_code(cell.source)
    edited = bool(meta.get("locked") and "checksum" in meta and meta["checksum"] != utils.compute_checksum(cell))
    return TestResult(meta["grade_id"], possible, score, score >= possible, _error(cell), hidden, edited)


def _has_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def _error(cell: NotebookNode) -> str:
    """The last line of what made a cell fail: `ename: evalue`, else the last line on stderr."""
    for output in reversed(cell.get("outputs", [])):
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".strip().splitlines()[-1] if output.evalue else output.ename
        if output.output_type == "stream" and output.name == "stderr" and output.text.strip():
            return output.text.strip().splitlines()[-1]
    return ""


class _Record(NbGraderPreprocessor):
    """Last in the Validator's preprocessors: hands the executed notebook to the validator."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        self.parent.executed = nb
        return nb, resources


class _RecordingValidator(Validator):
    """nbgrader's Validator that keeps the executed notebook (its results name failing sources only).

    Its preprocessors are nbgrader's defaults (CheckCellMetadata, ClearOutput, Execute) and `_Record`.
    """

    executed: NotebookNode | None = None


@contextlib.contextmanager
def _environ(extra: dict[str, str]) -> Iterator[None]:
    """os.environ with `extra` while the kernel starts (it inherits os.environ), then as it was."""
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

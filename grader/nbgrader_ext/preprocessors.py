"""Small nbgrader preprocessors: the graded run's execution and output caps, and what the feedback page shows."""

from __future__ import annotations

import html
import re

import nbformat
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Integer, List, Unicode

HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.DOTALL)
HIDDEN_TESTS_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_NOTE = "# (hidden test: its code is not shown; its points are in the summary at the top)\n"
OUTPUTS_NOT_SHOWN = (
    "**From here on, the outputs of the graded run are not shown.** The next test cell holds a hidden test, "
    "and once it has run, code in the notebook could copy it into any later output. Your points and the "
    "grader's own messages are in the summary at the top; run the notebook yourself to see its outputs.")


class LimitOutputSize(NbGraderPreprocessor):
    """Caps the characters each output keeps, after nbgrader's line limit.

    nbgrader's LimitOutput counts lines, so one 100 MB line passes it; this keeps the head and the
    tail of every stream, so the graded notebook and the feedback stay readable.
    """

    max_chars = Integer(100_000, help="characters kept per output (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.max_chars < 0:
            return cell, resources
        for output in cell.outputs:
            if output.output_type == "stream" and len(output.text) > self.max_chars:
                half = self.max_chars // 2
                dropped = len(output.text) - 2 * half
                note = f"\n... {dropped:,} characters of output dropped ...\n"
                output.text = output.text[:half] + note + output.text[-half:]
        return cell, resources


class ExecuteKeepingFinishedCells(Execute):
    """nbgrader's Execute, except that a cell's outputs are final once it has run.

    Jupyter lets a kernel rewrite an earlier cell's display (`update_display` with a display id): in the
    graded run, code that saw a hidden test could write it into a cell before that test, which the
    feedback shows (measured). Such updates are ignored; the display keeps what its own cell showed.
    """

    def _update_display_id(self, display_id, msg):
        self.log.debug("display update of %r ignored: earlier cells' outputs are final", display_id)


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows each test's name, points and message, never a hidden test's code.

    The outputs of hidden test cells are gone already (HideOutputsAfterHiddenTests), tracebacks quoting
    the test's lines with them.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS_BEGIN in cell.source:
            cell.source = HIDDEN_TESTS.sub(HIDDEN_NOTE, cell.source)
        return cell, resources


class HideOutputsAfterHiddenTests(NbGraderPreprocessor):
    """Feedback shows no output of the graded run from the first hidden test on.

    Once a hidden test has been sent to the student's kernel, code of the student's running there can
    read it (an IPython event hook sees every cell's source, and a file of pickled code loaded with
    NumPy runs unseen by the tripwire: measured) and write it anywhere the kernel writes: that cell's
    output or stderr, any later cell, a later execution count (an integer as long as the test). So every
    output and execution count from there on stays in the graded notebook, for the instructor, and
    leaves the feedback; the points and the grader's own messages are in the summary at the top. Runs
    before HideHiddenTests, which removes the markers it looks for.
    """

    def preprocess(self, nb, resources):
        first = next((index for index, cell in enumerate(nb.cells)
                      if cell.cell_type == "code" and HIDDEN_TESTS_BEGIN in cell.source), None)
        # nbgrader's templates show no widget state today; a kernel can put anything there.
        nb.metadata.pop("widgets", None)
        not_shown = resources.setdefault("outputs_not_shown", set())
        if first is None:
            return nb, resources
        for cell in nb.cells[first:]:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
                if grade_id := cell.metadata.get("nbgrader", {}).get("grade_id"):
                    not_shown.add(grade_id)
        nb.cells.insert(first, nbformat.v4.new_markdown_cell(OUTPUTS_NOT_SHOWN))
        return nb, resources


class FeedbackSummary(NbGraderPreprocessor):
    """The feedback page opens with the score, each test's points, and the grader's messages.

    Runs after nbgrader's GetGrades: the points come from the gradebook, and the grader's messages
    from its own checks (`checks`), never from what the student's kernel printed.
    """

    checks = List(Dict(), help="the grader's own checks: test, passed, message, not_measured").tag(config=True)
    notes = List(Unicode(), help="notes on the whole run (cell time limits, tampering)").tag(config=True)

    def preprocess(self, nb, resources):
        not_shown = resources.get("outputs_not_shown", set())
        rows = [self._row(cell, not_shown) for cell in nb.cells
                if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]
        score = resources.get("nbgrader", {}).get("score")
        max_score = resources.get("nbgrader", {}).get("max_score")
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(summary_html(score, max_score, rows, self.notes)))
        return nb, resources

    def _row(self, cell, not_shown: set) -> dict:
        meta = cell.metadata["nbgrader"]
        test = meta["grade_id"]
        messages = [("grader", check.get("not_measured") or check["message"])
                    for check in self.checks if check["test"] == test]
        # The kernel's own error (an assert of the test cell); none is left from the first hidden test on.
        messages += [("your notebook", f"{output.ename}: {output.evalue}"[:400]) for output in cell.outputs
                     if output.output_type == "error" and output.ename not in GRADER_ERRORS]
        return {"test": test, "score": meta.get("score"), "points": meta.get("points"), "messages": messages,
                "not_shown": test in not_shown}


# Errors the grader adds to a test cell (autograde/verdicts.py): its checks' messages come from `checks`, and a
# test of a flagged notebook that no check confirms ("NotConfirmed") has its reason in the notes at the top.
GRADER_ERRORS = ("GraderCheckFailed", "NotMeasured", "NotConfirmed")


def _no_message(earned: bool, notes: list[str], not_shown: bool = False) -> str:
    if earned:
        return "the test cell passed"
    if any(notes):
        return "see the note above"
    return "failed; its message is not shown (it ran after a hidden test)" if not_shown else "failed without a message"


def _plain(text: str) -> str:
    """`text` escaped, its lines joined with <br>: a line break left in would let a blank line end the summary's
    HTML block, and the rest of a kernel's message would be read as markdown (a heading, a link, a table)."""
    return "<br>".join(html.escape(text).splitlines())


def summary_html(score: float | None, max_score: float | None, rows: list[dict], notes: list[str]) -> str:
    """The table at the top of the feedback page; every text in it is escaped, on one line."""
    def points(value) -> str:
        return "?" if value is None else f"{float(value):g}"

    lines = ['<div class="grading-summary" style="border:2px solid #555;padding:0.5em 1em;margin:1em 0">',
             "<style>.grading-tests td, .grading-tests th {padding: 4px 10px; vertical-align: top}</style>",
             f"<h2>Score: {points(score)} / {points(max_score)}</h2>"]
    lines += [f"<p><b>Note:</b> {_plain(note)}</p>" for note in notes if note]
    lines.append('<table class="grading-tests" style="border-collapse:collapse">')
    lines.append("<tr><th>test</th><th>points</th><th>result</th><th>what was checked, and the result</th></tr>")
    for row in rows:
        earned = row["score"] is not None and row["points"] and float(row["score"]) >= float(row["points"])
        colour = "#e3f5e1" if earned else "#fbe3e3"
        said = "<br>".join(f"<b>{who}:</b> {_plain(text)}" for who, text in row["messages"])
        said = said or _no_message(earned, notes, row.get("not_shown", False))
        lines.append(f'<tr style="background:{colour}"><td><code>{_plain(row["test"])}</code></td>'
                     f'<td>{points(row["score"])} / {points(row["points"])}</td>'
                     f'<td>{"passed" if earned else "failed"}</td><td>{said}</td></tr>')
    lines += ["</table>", "</div>"]
    return "\n".join(lines)

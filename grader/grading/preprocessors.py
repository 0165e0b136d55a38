"""Small nbgrader preprocessors: output caps for the graded notebook, and what the feedback page shows."""

from __future__ import annotations

import html
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Integer, List, Unicode

HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.DOTALL)
HIDDEN_NOTE = "# (hidden test: its code is not shown; its result and message are below)\n"


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


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows each test's name, points, output and message, never a hidden test's code."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = HIDDEN_TESTS.sub(HIDDEN_NOTE, cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    # A traceback quotes the failing lines: keep only the error and its message.
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class FeedbackSummary(NbGraderPreprocessor):
    """The feedback page opens with the score, each test's points, and the grader's messages.

    Runs after nbgrader's GetGrades: the points come from the gradebook, and the grader's messages
    from its own checks (`checks`), never from what the student's kernel printed.
    """

    checks = List(Dict(), help="the grader's own checks: test, passed, message, not_measured").tag(config=True)
    notes = List(Unicode(), help="notes on the whole run (cell time limits, tampering)").tag(config=True)

    def preprocess(self, nb, resources):
        rows = [self._row(cell) for cell in nb.cells
                if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]
        score = resources.get("nbgrader", {}).get("score")
        max_score = resources.get("nbgrader", {}).get("max_score")
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(summary_html(score, max_score, rows, self.notes)))
        return nb, resources

    def _row(self, cell) -> dict:
        meta = cell.metadata["nbgrader"]
        test = meta["grade_id"]
        messages = [("grader", check.get("not_measured") or check["message"])
                    for check in self.checks if check["test"] == test]
        # The kernel's own error (an assert of the test cell), after HideHiddenTests shortened it.
        messages += [("your notebook", f"{output.ename}: {output.evalue}"[:400]) for output in cell.outputs
                     if output.output_type == "error" and output.ename not in GRADER_ERRORS]
        return {"test": test, "score": meta.get("score"), "points": meta.get("points"), "messages": messages}


# Errors the grader adds to a test cell (worker.py): its checks' messages come from `checks`, and a
# submission that was not run ("NotGraded") has its reason in the notes at the top.
GRADER_ERRORS = ("GraderCheckFailed", "NotMeasured", "NotGraded")


def _no_message(earned: bool, notes: list[str]) -> str:
    if earned:
        return "the test cell passed"
    return "see the note above" if any(notes) else "failed without a message"


def summary_html(score: float | None, max_score: float | None, rows: list[dict], notes: list[str]) -> str:
    """The table at the top of the feedback page; every text in it is escaped."""
    def points(value) -> str:
        return "?" if value is None else f"{float(value):g}"

    lines = ['<div class="grading-summary" style="border:2px solid #555;padding:0.5em 1em;margin:1em 0">',
             "<style>.grading-tests td, .grading-tests th {padding: 4px 10px; vertical-align: top}</style>",
             f"<h2>Score: {points(score)} / {points(max_score)}</h2>"]
    lines += [f"<p><b>Note:</b> {html.escape(note)}</p>" for note in notes if note]
    lines.append('<table class="grading-tests" style="border-collapse:collapse">')
    lines.append("<tr><th>test</th><th>points</th><th>result</th><th>what was checked, and the result</th></tr>")
    for row in rows:
        earned = row["score"] is not None and row["points"] and float(row["score"]) >= float(row["points"])
        colour = "#e3f5e1" if earned else "#fbe3e3"
        said = "<br>".join(f"<b>{who}:</b> {html.escape(text)}" for who, text in row["messages"])
        lines.append(f'<tr style="background:{colour}"><td><code>{html.escape(row["test"])}</code></td>'
                     f'<td>{points(row["score"])} / {points(row["points"])}</td>'
                     f'<td>{"passed" if earned else "failed"}</td><td>{said or _no_message(earned, notes)}</td></tr>')
    lines += ["</table>", "</div>"]
    return "\n".join(lines)

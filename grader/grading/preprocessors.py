"""Two small nbgrader preprocessors, configured in the grading course's nbgrader_config.py."""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

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

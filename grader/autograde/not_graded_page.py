"""The feedback page of a hand-in that was not graded: its status, why, and what to do.

It takes the place of whatever an earlier hand-in of the student left in `feedback/`, so that no page
shows a score for a notebook that is no longer the one handed in. It says only what the grader wrote for
students (`SubmissionResult.student_reason`, collect's reasons about the student's own files), never the
grading log, which holds the kernel's stderr and the grader's own paths.
"""

from __future__ import annotations

import html

from grader.result import CRASHED, GRADER_ERROR, MALFORMED, TIMED_OUT

# What the status means when the grader has nothing more to say (its reason is for the instructor only).
STATUS_WORDS = {
    TIMED_OUT: "your notebook did not finish within the grader's time limits",
    CRASHED: "the grader could not finish running your notebook (your instructor has the grading log)",
    MALFORMED: "the file handed in is not a notebook of this assignment the grader can read",
    GRADER_ERROR: "the grader itself failed, not your notebook",
}
WHAT_TO_DO = {
    TIMED_OUT: "Run the notebook from the top in a fresh kernel (Colab: Runtime > Restart session and run all), "
               "make sure every cell finishes, then hand it in again.",
    CRASHED: "Run the notebook from the top in a fresh kernel (Colab: Runtime > Restart session and run all) to "
             "see where it stops, then hand it in again.",
    MALFORMED: "Hand in the notebook as Colab or Jupyter saves it (Colab: File > Download > Download .ipynb), "
               "named as the assignment asks.",
    GRADER_ERROR: "Nothing: it is graded again on the grader's next run.",
}


def not_graded_page(assignment: str, status: str, student_reason: str = "") -> str:
    """A small HTML page for the student; every text in it is escaped."""
    why = (student_reason or STATUS_WORDS.get(status, status)).rstrip(".")
    points = "No score yet." if status == GRADER_ERROR else "This hand-in earns no points."
    return "\n".join([
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{html.escape(assignment)}: not graded</title></head>",
        '<body style="font-family:sans-serif;max-width:50em;margin:2em auto">',
        f"<h1>{html.escape(assignment)}: not graded ({html.escape(status)})</h1>",
        f"<p><b>Why:</b> {html.escape(why)}.</p>",
        f"<p>{points}</p>",
        f"<p><b>What to do:</b> {html.escape(WHAT_TO_DO.get(status, 'Ask your instructor.'))}</p>",
        "</body></html>",
    ])

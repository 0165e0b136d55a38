"""Why a graded run did not finish: the student's notebook (a time limit, a dead kernel) or the grader's box."""

from __future__ import annotations

from pathlib import Path

from grader.autograde.fork_server import BOX_ERROR
from grader.result import CRASHED, GRADER_ERROR, TIMED_OUT
from grader.sandbox.box import Limits
from grader.sandbox.processes import tail


def box_failure(log_text: str) -> str:
    """bubblewrap's own error line, if a box failed before the program in it ever ran; else "".

    bwrap prefixes its errors "bwrap: ", a forked box (fork_server.py) "forked box: ". It counts only where no
    student code can have written it: in nbgrader's log once the kernel (bubblewrap's or forked) "died before
    replying to kernel_info" (a student's code runs only after the kernel has answered), or as the first line of
    the log of a box that runs no student code.
    """
    lines = log_text.splitlines()
    if lines and lines[0].startswith(("bwrap: ", BOX_ERROR)):
        return lines[0]
    if "Kernel died before replying to kernel_info" not in log_text:
        return ""
    return next((line for line in lines if line.startswith(("bwrap: ", BOX_ERROR))), "")


def notebook_failure(log: Path, limits: Limits, code: int | None) -> tuple[str, str, str]:
    """Status, reason and what the student may read of a notebook that nbgrader could not finish."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    box_failed = box_failure(text)
    if box_failed:
        return (GRADER_ERROR, f"the grading sandbox could not start the kernel (not the student's fault): {box_failed}",
                "")
    if "CellTimeoutError" in text:
        reason = f"a cell ran past the {limits.cell_timeout} s cell time limit and did not stop when interrupted"
        return TIMED_OUT, reason, reason
    if "DeadKernelError" in text or "Kernel died" in text:
        reason = "the kernel died while running the notebook (it was killed, or ran out of memory)"
        return CRASHED, reason, reason
    return CRASHED, f"nbgrader autograde failed (exit {code}):\n{tail(log)}", ""

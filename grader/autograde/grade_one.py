"""Grade one submission in a scratch course of its own; return its result, write nothing shared.

This runs on a pool worker (pool.py), one straight pipeline:

  prepare  the scratch course (scratch.py): a copy of the grading kit, the submitted notebook, the
           environments and nbgrader's settings; the evaluator's and the probes' boxes start (boxes.py)
  run      nbgrader's own `autograde` (forked from the worker's fork server, fork_server.py): the
           notebook with the hidden tests in a sandboxed kernel, itself forked into its box when nbgrader
           asks for it (kernel_broker.py)
  judge    the probes finish, the evaluator judges the saved model and the student's code; its verdicts go
           into the test cells' outputs and nbgrader scores them (verdicts.py)
  feedback nbgrader's feedback page (feedback.py)

Every failure becomes a status with its reason (failures.py), never an exception. The main process alone
puts the result into the class gradebook (writer.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from grader.autograde.boxes import Evaluator, start_boxes
from grader.autograde.failures import notebook_failure
from grader.autograde.feedback import write_feedback
from grader.autograde.fork_server import can_fork, start_nbgrader
from grader.autograde.scratch import Scratch, prepare
from grader.autograde.task import GradingTask
from grader.autograde.verdicts import score
from grader.result import CRASHED, GRADED, GRADER_ERROR, TIMED_OUT, SubmissionResult
from grader.sandbox.processes import start, tail, wait


class _Stopped(Exception):
    """The graded run ended without a notebook to judge: `status`, `reason`, what the student may read."""

    def __init__(self, status: str, reason: str, student_reason: str = ""):
        super().__init__(reason)
        self.status, self.reason, self.student_reason = status, reason, student_reason


def grade_submission(task: GradingTask) -> SubmissionResult:
    """Grade one submission; every failure becomes a status with its reason, never an exception."""
    started = time.monotonic()
    timings: dict[str, float] = {}
    result = SubmissionResult(task.student, task.assignment, CRASHED, notebook_name=task.notebook_name,
                              sha256=task.sha256, grading=task.grading, late=task.late, canvas_file=task.canvas_file)
    scratch = Scratch(task)
    boxes: tuple = ()
    try:
        prepared = prepare(task, scratch)
        boxes = tuple(filter(None, [prepared.kernels]))
        evaluator, probes = start_boxes(task, scratch, prepared)
        boxes += (evaluator, probes)
        timings["setup"] = time.monotonic() - started
        graded_path = _run(task, scratch, prepared.nbgrader_env, deadline=started + task.limits.submission_timeout)
        timings["nbgrader_autograde"] = time.monotonic() - started - timings["setup"]
        mark = time.monotonic()
        probes.wait()
        timings["probes"] = time.monotonic() - mark  # what is left of them once the notebook is done
        mark = time.monotonic()
        checks = _grader_checks(evaluator)
        timings["grader_checks"] = time.monotonic() - mark
        mark = time.monotonic()
        result.checks = checks
        result.autograded_json = score(graded_path, checks, flagged=bool(task.tampering), nbgrader={
            "notebook": Path(task.notebook_name).stem, "assignment": task.assignment, "student": task.student,
            "db_url": scratch.course.gradebook_url})
        notes = _notes(task, scratch)
        result.feedback_html, problem = _feedback(task, scratch, checks, notes)
        timings["feedback"] = time.monotonic() - mark
        result.status, result.reason = GRADED, "; ".join(notes + ([problem] if problem else []))
    except _Stopped as stopped:
        result.status, result.reason, result.student_reason = stopped.status, stopped.reason, stopped.student_reason
    except Exception as error:  # the worker must report, never die: one bad file cannot stop the class
        result.reason = f"grading failed: {type(error).__name__}: {error}\n{tail(scratch.log)}"
    finally:
        for box in boxes:
            box.cancel()
        timings["total"] = result.seconds = time.monotonic() - started
        result.timings = timings
        if not os.environ.get("COURSE_KEEP_SCRATCH"):
            scratch.remove()
    return result


def _run(task: GradingTask, scratch: Scratch, nbgrader_env: dict[str, str], deadline: float) -> Path:
    """nbgrader's autograde of the submission; the graded notebook's path, or _Stopped with the reason."""
    limits = task.limits
    args = ["autograde", task.assignment, f"--student={task.student}", "--force", "--create"]
    where = {"cwd": scratch.course.root, "env": nbgrader_env, "log": scratch.log}
    # A fork of this worker's fork server (fork_server.py), else the command.
    process = (start_nbgrader(args, **where) if can_fork()
               else start([sys.executable, "-m", "nbgrader", *args], **where))
    code = wait(process, deadline=deadline, watch=scratch.workdir, disk_bytes=limits.disk_bytes)
    graded_path = scratch.course.autograded(task.student, task.assignment) / task.notebook_name
    if code is None:
        reason = f"grading took longer than {limits.submission_timeout:.0f} s"
        raise _Stopped(TIMED_OUT, reason, reason)
    if code == "disk":
        reason = (f"the notebook wrote more than {limits.disk_bytes // 2**20} MB (or too many files) "
                  "into its folder and was stopped")
        raise _Stopped(CRASHED, reason, reason)
    if code != 0 or not graded_path.is_file():
        raise _Stopped(*notebook_failure(scratch.log, limits, code))
    return graded_path


def _grader_checks(evaluator: Evaluator) -> list[dict]:
    """The evaluator's verdicts; _Stopped if its box never started (the grader's fault, not the student's)."""
    checks = evaluator.results()
    failed = evaluator.box_failed()
    if failed:
        raise _Stopped(GRADER_ERROR, f"the grading sandbox could not start the grader's checks: {failed}")
    return checks


def _notes(task: GradingTask, scratch: Scratch) -> list[str]:
    """What the grade's reason and the feedback page say beside the points."""
    timeouts = scratch.log.read_text(errors="replace").count("Timeout waiting for execute reply")
    notes = [f"{timeouts} cell(s) interrupted at the {task.limits.cell_timeout} s cell time limit"] if timeouts else []
    return notes + ([task.tampering] if task.tampering else []) + ([late_note(task.late_penalty)] if task.late else [])


def late_note(penalty: float) -> str:
    """What the feedback and the grade's reason say of a hand-in Canvas marked late."""
    if penalty:
        return f"handed in late (Canvas marks it late): {penalty:.0%} of the points are taken off the score above"
    return "handed in late (Canvas marks it late): the course's late policy on Canvas applies to this score"


def _feedback(task: GradingTask, scratch: Scratch, checks: list[dict], notes: list[str]) -> tuple[str | None, str]:
    """The feedback page's HTML and the problem that kept it from being written, if any: the grades stand
    without feedback, and the reason says so."""
    try:
        write_feedback(scratch.course, task.assignment, task.student, checks, notes)
        problem = ""
    except Exception as error:
        problem = f"feedback failed: {type(error).__name__}: {error}"
    page = scratch.course.feedback(task.student, task.assignment) / f"{Path(task.notebook_name).stem}.html"
    return (page.read_text() if page.is_file() else None), problem

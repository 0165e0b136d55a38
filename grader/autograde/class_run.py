"""`course autograde`: a class's hand-ins, graded on a pool of sandboxed workers into one gradebook.

One straight pipeline per run:

  collect  nbgrader's zip_collect (collect/intake.py; rejects kept with a reason) and a grading kit per
           assignment (kit.py), side by side
  plan     one task per collected notebook, unless graded already (plan.py)
  grade    Dask workers, one submission each at a time (pool.py -> grade_one.py)
  record   the single writer (writer.py): graded notebook, feedback, nbgrader gradebook, journal,
           as each result arrives
  roster   everyone on the roster who handed nothing in is missing

Every student ends in one status (grader/result.py) with the reason; a rerun resumes where a killed
run stopped and regrades only submissions that changed (or all of them with `regrade=True`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from grader import paths
from grader.autograde.course_lock import grading_lock
from grader.autograde.kit import build_kit
from grader.autograde.plan import Plan, RunOptions, join_reasons, plan
from grader.autograde.pool import default_workers, grade_all
from grader.autograde.scratch import remove_scratch
from grader.autograde.task import GradingTask
from grader.autograde.writer import GradebookWriter
from grader.collect.intake import CollectResult, collect
from grader.course_dir import CourseDir
from grader.nbgrader_ext.collector import student_id
from grader.result import MISSING, SubmissionResult
from grader.sandbox.box import Limits, asset_folders
from grader.sandbox.preflight import check_sandbox
from grader.terminal import printable


class GradingInterrupted(Exception):
    """Ctrl-C during grading: `results` holds everything written so far, `graded` submissions of this run
    were graded and `left` were not (the same command grades them)."""

    def __init__(self, results: dict[str, list[SubmissionResult]], graded: int, left: int):
        super().__init__(f"stopped: {graded} graded, {left} left")
        self.results, self.graded, self.left = results, graded, left


def autograde(
    course: CourseDir,
    assignment: str,
    files: list[Path],
    env: dict[str, str],
    roster: list[str] | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    sandbox: bool = True,
    regrade: bool = False,
    pattern: str | None = None,
    on_result: Callable[[dict[str, list[SubmissionResult]]], None] | None = None,
    canvas_roster: Path | None = None,
    late_penalty: float = 0.0,
) -> list[SubmissionResult]:
    """Collect `files`, grade each new or changed submission, and report one result per student.

    With `canvas_roster` (Canvas's gradebook export) the files are Canvas's download, named as Canvas names
    them (grader/nbgrader_ext/canvas_collector.py); a hand-in Canvas marked late loses `late_penalty` of its
    points in the grades (0: none here, Canvas's own late policy applies).
    """
    return autograde_many(course, {assignment: files}, env, {assignment: roster or []}, limits, workers,
                          scheduler, sandbox, regrade, pattern, on_result, canvas_roster, late_penalty)[assignment]


def autograde_many(
    course: CourseDir,
    files: dict[str, list[Path]],
    env: dict[str, str],
    rosters: dict[str, list[str]] | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    sandbox: bool = True,
    regrade: bool = False,
    pattern: str | None = None,
    on_result: Callable[[dict[str, list[SubmissionResult]]], None] | None = None,
    canvas_roster: Path | None = None,
    late_penalty: float = 0.0,
) -> dict[str, list[SubmissionResult]]:
    """`autograde` for several assignments (`files[assignment]`) on one pool of workers.

    `on_result(results)` is called after each graded submission is written (journal, gradebook, graded
    notebook, feedback), with every result so far. Ctrl-C stops the workers at once and raises
    GradingInterrupted with what was graded; the same call again grades the rest.

    One pool keeps both cores busy until the last submission of all: graded one assignment after
    the other, each assignment's last, longest submission would run alone. One run per course folder
    at a time (`grading_lock`): another raises CourseBusy before it changes anything.
    """
    with grading_lock(course):
        limits = limits or Limits()
        if sandbox:
            # Before anyone is graded: a box that cannot start would make every student "crash".
            check_sandbox(asset_folders(env, paths.mirror_dir()), env)
        # By default every kernel keeps TensorFlow's own thread count and no core is pinned: measured
        # here (python -m devtools.benchmarks.grading), that beats giving each worker its share of the cores
        # and pinning it, because a kernel's single-threaded phases then leave the other kernel both cores.
        # `limits.threads` gives each kernel that many threads, pinned to its share of the cores.
        workers = workers or default_workers()
        writer = GradebookWriter(course)
        grading = course.root / ".grading"
        options = RunOptions(env, limits, grading / "scratch", sandbox, regrade,
                             pin_cpus=bool(limits.threads) and workers > 1 and not scheduler,
                             late_penalty=late_penalty)
        results: dict[str, list[SubmissionResult]] = {}
        plans: dict[str, Plan] = {}
        collected_kits = _collected(course, files, grading / "kits", pattern, canvas_roster, workers)
        for assignment, (collected, kit) in collected_kits.items():
            _report_not_collected(course, assignment, collected, writer)
            plans[assignment] = plan(course, assignment, collected, kit, writer.finished(assignment), options)
            results[assignment] = [_with_canvas_file(r, collected) for r in collected.rejects] + plans[assignment].kept
        tasks = [task for p in plans.values() for task in p.tasks]
        graded = _grade(tasks, plans, results, writer, workers, scheduler, on_result, options.scratch,
                        desc=f"autograde {', '.join(files)}")
        for assignment, assignment_results in results.items():
            _add_missing(assignment_results, assignment, (rosters or {}).get(assignment, []))
        if graded:
            print(graded)
        return results


def _collected(course: CourseDir, files: dict[str, list[Path]], kits: Path, pattern: str | None,
               canvas_roster: Path | None, workers: int) -> dict[str, tuple]:
    """assignment -> (collected, kit), in the order of `files`. Each is two nbgrader processes (zip_collect,
    generate_assignment: about 10 s here, mostly start-up), and each assignment has folders of its own: they
    run side by side, before any submission is graded."""
    from concurrent.futures import ThreadPoolExecutor

    def prepare(assignment: str) -> tuple:
        return (collect(course, assignment, files[assignment], pattern, canvas_roster),
                build_kit(course, assignment, kits))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
        return dict(zip(files, threads.map(prepare, files), strict=True))


def _with_canvas_file(reject: SubmissionResult, collected: CollectResult) -> SubmissionResult:
    """A rejected hand-in with the Canvas file it came from, so that its page can go back to Canvas."""
    names = [name for (student, _), name in sorted(collected.canvas_files.items()) if student == reject.student]
    return replace(reject, canvas_file=names[0]) if names else reject


def _report_not_collected(course: CourseDir, assignment: str, collected: CollectResult,
                          writer: GradebookWriter) -> None:
    """Files that name no student are printed; a student whose every file was set aside gets a page saying why."""
    for name in collected.unmatched:
        print(printable(f"not collected: {name}: {collected.reasons.get(name, 'no student in its name')} "
                        f"(kept in {course.root / 'rejected' / assignment})"))
    for reject in collected.rejects:
        if reject.student in collected.not_collected:
            writer.not_graded(reject.student, assignment, reject.status, reject.reason)


def _grade(tasks: list[GradingTask], plans: dict[str, Plan], results: dict[str, list[SubmissionResult]],
           writer: GradebookWriter, workers: int, scheduler: str | None,
           on_result: Callable[[dict[str, list[SubmissionResult]]], None] | None, scratch: Path, desc: str) -> str:
    """Grade `tasks` on the pool; each result is written as it arrives (the journal, gradebook, graded notebook
    and feedback) and added to `results`. Returns the line to print, "" when nothing was graded."""
    recorded = []

    def record(result: SubmissionResult) -> None:
        writer.write(result)
        reason = join_reasons(result.reason, *plans[result.assignment].changes.get(result.student, []))
        # The files are written: the result keeps the record, not the notebook and page.
        results[result.assignment].append(replace(result, reason=reason, autograded_json=None, feedback_html=None))
        recorded.append(result.student)
        if on_result is not None:
            on_result(results)

    scratch.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        grade_all(tasks, record, workers=workers, scheduler=scheduler, desc=desc)
    except KeyboardInterrupt:
        raise GradingInterrupted(results, len(recorded), len(tasks) - len(recorded)) from None
    finally:
        if not os.environ.get("COURSE_KEEP_SCRATCH"):  # kept for debugging a grading run
            remove_scratch(scratch)
    if not tasks:
        return ""
    return (f"graded {len(tasks)} submission(s) of {desc.removeprefix('autograde ')} in "
            f"{time.monotonic() - started:.0f} s with {workers} worker(s)")


def _add_missing(results: list[SubmissionResult], assignment: str, roster: list[str]) -> None:
    """Everyone on the roster who handed nothing in is missing; the results are sorted by student."""
    seen = {r.student for r in results}
    for student in map(student_id, roster):
        if student not in seen:
            results.append(SubmissionResult(student, assignment, MISSING, "no file handed in"))
    results.sort(key=lambda r: r.student)

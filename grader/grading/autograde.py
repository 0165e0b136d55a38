"""`course autograde`: collect, grade on a pool of sandboxed workers, write one gradebook.

collect (collect.py: nbgrader's zip_collect, rejects kept with a reason)
  -> a grading kit per assignment (kit.py)
  -> one task per submission, graded by Dask workers (pool.py, worker.py, sandbox.py)
  -> the single writer (writer.py): graded notebook, feedback, nbgrader gradebook, journal.
Every student ends in one status (statuses.py) with the reason; a rerun resumes where a killed
run stopped and regrades only submissions that changed (or all of them with `regrade=True`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from grader import paths
from grader.course_dir import CourseDir
from grader.grading.collect import collect
from grader.grading.collector import student_id
from grader.grading.course_lock import grading_lock
from grader.grading.kit import build_kit, grading_fingerprint
from grader.grading.pool import default_workers, grade_all
from grader.grading.preflight import check_sandbox
from grader.grading.sandbox import Limits, asset_folders
from grader.grading.statuses import (
    CRASHED,
    GRADED,
    GRADER_ERROR,
    MALFORMED,
    MISSING,
    TIMED_OUT,
    SubmissionResult,
)
from grader.grading.tampering import scan, tampering_reason
from grader.grading.terminal import printable
from grader.grading.worker import GradingOutcome, GradingTask, remove_scratch
from grader.grading.writer import GradebookWriter
from grader.spec import spec_for

__all__ = ["CRASHED", "GRADED", "GRADER_ERROR", "MALFORMED", "MISSING", "TIMED_OUT", "GradingInterrupted",
           "SubmissionResult", "autograde", "autograde_many", "export_grades"]


class GradingInterrupted(Exception):
    """Ctrl-C during grading: `results` holds everything written so far, `graded` submissions of this run
    were graded and `left` were not (the same command grades them)."""

    def __init__(self, results: dict[str, list[SubmissionResult]], graded: int, left: int):
        super().__init__(f"stopped: {graded} graded, {left} left")
        self.results, self.graded, self.left = results, graded, left


def held_out_folders(assignments: list[str]) -> list[Path]:
    mirror = paths.mirror_dir()
    folders = []
    for assignment in assignments:
        spec = spec_for(assignment)
        if spec and spec.held_out_dir(mirror):
            folders.append(spec.held_out_dir(mirror))
    return folders


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
) -> list[SubmissionResult]:
    """Collect `files`, grade each new or changed submission, and report one result per student."""
    return autograde_many(course, {assignment: files}, env, {assignment: roster or []}, limits, workers,
                          scheduler, sandbox, regrade, pattern, on_result)[assignment]


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
        # here (python -m grader.benchmarks.grading), that beats giving each worker its share of the cores
        # and pinning it, because a kernel's single-threaded phases then leave the other kernel both cores.
        # `limits.threads` gives each kernel that many threads, pinned to its share of the cores.
        workers = workers or default_workers()
        writer = GradebookWriter(course)
        grading = course.root / ".grading"
        tasks: list[GradingTask] = []
        results: dict[str, list[SubmissionResult]] = {}
        changes: dict[str, dict[str, list[str]]] = {}
        prepared = _prepared(course, files, grading / "kits", pattern, workers)
        for assignment, (collected, kit) in prepared.items():
            results[assignment] = list(collected.rejects)
            for name in collected.unmatched:
                print(printable(f"not collected: {name}: {collected.reasons.get(name, 'no student in its name')} "
                                f"(kept in {course.root / 'rejected' / assignment})"))
            changes[assignment] = collected.changes
            for reject in collected.rejects:
                if reject.student in collected.not_collected:
                    writer.not_graded(reject.student, assignment, reject.status, reject.reason)
            done = writer.finished(assignment)
            grading_now = grading_fingerprint(kit, assignment)
            notebooks = sorted(p.name for p in course.release(assignment).glob("*.ipynb"))
            for student in collected.students:
                for name in notebooks:
                    path = course.submitted(student, assignment) / name
                    if not path.is_file():
                        continue
                    tampering = tampering_findings(path, course.release(assignment) / name,
                                                   course.source(assignment) / name)
                    task = GradingTask(
                        assignment, student, name, path.read_text(), str(kit), str(grading / "scratch"), env, limits,
                        held_out=tuple(map(str, held_out_folders([assignment]))),
                        sandbox=sandbox, tampering=tampering_reason(tampering) if tampering else "",
                        pin_cpus=bool(limits.threads) and workers > 1 and not scheduler, grading=grading_now,
                    )
                    previous = done.get(student)
                    unchanged = previous and previous["sha256"] == task.sha256
                    if unchanged and previous.get("grading") != grading_now:
                        changes[assignment].setdefault(student, []).append(
                            "graded again: the assignment or the grader's checks changed since it was graded")
                    elif not regrade and unchanged and previous["status"] not in (CRASHED, GRADER_ERROR):
                        results[assignment].append(SubmissionResult(
                            student, assignment, previous["status"],
                            _join("already graded, not graded again", previous["reason"]),
                            checks=previous.get("checks", [])))
                        continue
                    tasks.append(task)
        (grading / "scratch").mkdir(parents=True, exist_ok=True)

        def record(outcome: GradingOutcome) -> None:
            writer.write(outcome)
            reason = _join(outcome.reason, *changes[outcome.assignment].get(outcome.student, []))
            results[outcome.assignment].append(SubmissionResult(
                outcome.student, outcome.assignment, outcome.status, reason, outcome.timings.get("total", 0.0),
                outcome.checks, outcome.timings))

        recorded = []

        def record_and_report(outcome: GradingOutcome) -> None:
            record(outcome)
            recorded.append(outcome.student)
            if on_result is not None:
                on_result(results)

        started = time.monotonic()
        names = ", ".join(files)
        try:
            grade_all(tasks, record_and_report, workers=workers, scheduler=scheduler, desc=f"autograde {names}")
        except KeyboardInterrupt:
            raise GradingInterrupted(results, len(recorded), len(tasks) - len(recorded)) from None
        finally:
            if not os.environ.get("COURSE_KEEP_SCRATCH"):  # kept for debugging a grading run
                remove_scratch(grading / "scratch")
        if tasks:
            print(f"graded {len(tasks)} submission(s) of {names} in {time.monotonic() - started:.0f} s "
                  f"with {workers} worker(s)")
        for assignment, assignment_results in results.items():
            seen = {r.student for r in assignment_results}
            for student in map(student_id, (rosters or {}).get(assignment, [])):
                if student not in seen:
                    assignment_results.append(SubmissionResult(student, assignment, MISSING, "no file handed in"))
            assignment_results.sort(key=lambda r: r.student)
        return results


def _prepared(course: CourseDir, files: dict[str, list[Path]], kits: Path, pattern: str | None,
              workers: int) -> dict[str, tuple]:
    """assignment -> (collected, kit), in the order of `files`. Each is two nbgrader processes (zip_collect,
    generate_assignment: about 10 s here, mostly start-up), and each assignment has folders of its own: they
    run side by side, before any submission is graded."""
    from concurrent.futures import ThreadPoolExecutor

    def prepare(assignment: str) -> tuple:
        return collect(course, assignment, files[assignment], pattern), build_kit(course, assignment, kits)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as threads:
        return dict(zip(files, threads.map(prepare, files), strict=True))


def tampering_findings(submitted: Path, release: Path, source: Path | None = None) -> list:
    """What in the submission can change how the grading kernel reports a test (tampering.py), read
    before it runs.

    The instructor's cells are those of the release and of its Colab copy (badge and set-up cell);
    `source`, the assignment's source notebook, adds the names its hidden tests rely on.
    """
    from grader.notebooks import read_ipynb
    from grader.release.colab import to_colab

    tests = read_ipynb(source) if source is not None and source.is_file() else None
    return scan(read_ipynb(submitted), to_colab(read_ipynb(release), release.name), tests)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def export_grades(course: CourseDir, csv_path: Path) -> None:
    """nbgrader's own export (one row per student and assignment)."""
    result = course.nbgrader("export", f"--to={csv_path}")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader export failed:\n{(result.stdout + result.stderr)[-2000:]}")

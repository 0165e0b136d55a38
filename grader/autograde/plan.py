"""Which submissions this run grades: one task per collected notebook, except those graded already.

A notebook whose bytes and grading (kit.grading_fingerprint) are unchanged since the journal recorded its
grade keeps that grade, unless it crashed or met a grader error, or the run regrades everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader import paths
from grader.autograde.kit import grading_fingerprint
from grader.autograde.task import GradingTask
from grader.collect.intake import CollectResult
from grader.collect.tampering import scan, tampering_reason
from grader.course_dir import CourseDir
from grader.result import CRASHED, GRADER_ERROR, SubmissionResult
from grader.sandbox.box import Limits
from grader.spec import spec_for


@dataclass
class Plan:
    tasks: list[GradingTask] = field(default_factory=list)
    kept: list[SubmissionResult] = field(default_factory=list)  # graded before, not graded again
    changes: dict[str, list[str]] = field(default_factory=dict)  # student -> notes for the grade's reason


@dataclass(frozen=True)
class RunOptions:
    env: dict[str, str]
    limits: Limits
    scratch: Path
    sandbox: bool = True
    regrade: bool = False
    pin_cpus: bool = False
    late_penalty: float = 0.0


def plan(course: CourseDir, assignment: str, collected: CollectResult, kit: Path, done: dict[str, dict],
         options: RunOptions) -> Plan:
    """The tasks for `collected`'s students; `done` is the journal's last entry per student (writer.finished)."""
    result = Plan(changes={student: list(notes) for student, notes in collected.changes.items()})
    grading_now = grading_fingerprint(kit, assignment)
    held_out = tuple(map(str, held_out_folders([assignment])))
    notebooks = sorted(p.name for p in course.release(assignment).glob("*.ipynb"))
    for student in collected.students:
        for name in notebooks:
            path = course.submitted(student, assignment) / name
            if not path.is_file():
                continue
            tampering = tampering_findings(path, course.release(assignment) / name, course.source(assignment) / name)
            task = GradingTask(
                assignment, student, name, path.read_text(), str(kit), str(options.scratch), options.env,
                options.limits, held_out=held_out, sandbox=options.sandbox,
                tampering=tampering_reason(tampering) if tampering else "", pin_cpus=options.pin_cpus,
                grading=grading_now, late=student in collected.late, late_penalty=options.late_penalty,
                canvas_file=collected.canvas_files.get((student, name), ""),
            )
            previous = done.get(student)
            unchanged = previous and previous["sha256"] == task.sha256
            if unchanged and previous.get("grading") != grading_now:
                result.changes.setdefault(student, []).append(
                    "graded again: the assignment or the grader's checks changed since it was graded")
            elif not options.regrade and unchanged and previous["status"] not in (CRASHED, GRADER_ERROR):
                result.kept.append(SubmissionResult(
                    student, assignment, previous["status"],
                    join_reasons("already graded, not graded again", previous["reason"]),
                    checks=previous.get("checks", []), notebook_name=name, late=task.late,
                    canvas_file=task.canvas_file))
                continue
            result.tasks.append(task)
    return result


def held_out_folders(assignments: list[str]) -> list[Path]:
    mirror = paths.mirror_dir()
    folders = []
    for assignment in assignments:
        spec = spec_for(assignment)
        if spec and spec.held_out_dir(mirror):
            folders.append(spec.held_out_dir(mirror))
    return folders


def tampering_findings(submitted: Path, release: Path, source: Path | None = None) -> list:
    """What in the submission can change how the grading kernel reports a test (collect/tampering.py), read
    before it runs.

    The instructor's cells are those of the release and of its Colab copy (badge and set-up cell);
    `source`, the assignment's source notebook, adds the names its hidden tests rely on.
    """
    from grader.notebooks import read_ipynb
    from grader.release.colab import to_colab

    tests = read_ipynb(source) if source is not None and source.is_file() else None
    return scan(read_ipynb(submitted), to_colab(read_ipynb(release), release.name), tests)


def join_reasons(*parts: str) -> str:
    return "; ".join(p for p in parts if p)

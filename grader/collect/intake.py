"""`collect`: what students handed in (notebooks, folders, zip archives) into nbgrader's submitted/.

nbgrader's own zip_collect extracts and files the submissions; `ColabCollectorPlugin` lets it
recognise Colab's file names. Around it, this module makes sure that every file ends up either
collected or set aside with a reason (copied to rejected/<assignment>/, so nothing a student
handed in is lost), that only readable notebooks of the assignment reach the graders, and that
each collected notebook has its release's nbgrader metadata back (`restore_cells`).

One student gets at most one row: collected (with `changes` explaining anything done to the
files) or rejected (status MALFORMED, with the reasons). A file whose name names no student is
nobody's row: it is `unmatched`, with its reason.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from grader.collect.archives import archive_problem
from grader.collect.verdict import judge_notebook, too_large
from grader.course_dir import CourseDir
from grader.nbgrader_ext.canvas_collector import CanvasCollectorPlugin, canvas_file
from grader.nbgrader_ext.collector import NO_MATCH_REASON, ColabCollectorPlugin
from grader.notebooks import read_ipynb, write_ipynb
from grader.result import MALFORMED, SubmissionResult

# "<student>__<notebook>.ipynb" as NAMED_REGEXP in course_dir.py, but the notebook part may hold the
# spaces and brackets of Colab's names ("ada__Copy of 01_cats_vs_dogs (1).ipynb").
# Student ids may be written in any script, with accents, apostrophes and spaces (zoë, 李雷, o'brien,
# josé maría, प्रिया, whose vowel signs are combining marks): anything but a slash or a control character,
# not starting with a dot, an underscore or a space. Names are matched in NFC (collector.student_id).
COLAB_NAMED_REGEXP = r".*/(?P<student_id>[^\x00-\x1f\x7f/._\s][^\x00-\x1f\x7f/]*?)__(?P<file_id>[^/]+\.ipynb)$"


@dataclass
class CollectResult:
    """Who can be graded, who cannot and why, and what was done to files on the way."""

    students: list[str] = field(default_factory=list)  # collected this run, sorted
    rejects: list[SubmissionResult] = field(default_factory=list)  # MALFORMED, one per student
    # Students among the rejects: every notebook they handed in this run was set aside.
    not_collected: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)  # student -> what was done to the files
    # Files not collected, as extracted (a zip under its stem). A file whose name names no student belongs to
    # nobody the grader can name: it is listed here, never as a student's row (its stem may be a real student's
    # id, and a second row for them would stand beside their grade).
    unmatched: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # unmatched file -> why it was not collected
    # From Canvas's download (canvas_roster): students whose graded hand-in Canvas marked late, and the Canvas
    # file name each collected notebook came from, (student, notebook) -> name.
    late: set[str] = field(default_factory=set)
    canvas_files: dict[tuple[str, str], str] = field(default_factory=dict)


def collect(course: CourseDir, assignment: str, inputs: list[Path], pattern: str | None = None,
            canvas_roster: Path | None = None) -> CollectResult:
    """Collect `inputs` (.ipynb files, folders, .zip archives) for `assignment` with nbgrader's zip_collect.

    `pattern` is nbgrader's `named_regexp` (groups `student_id` and `file_id`), matched against
    the path of each extracted file; the default takes "<student>__<notebook>.ipynb". With
    `canvas_roster` (Canvas's gradebook export) the files are named as Canvas's "Download Submissions"
    names them, and each Canvas user is the student the export says (CanvasCollectorPlugin).
    """
    pattern = pattern or COLAB_NAMED_REGEXP
    notebooks = sorted(p.name for p in course.release(assignment).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no release notebooks in {course.release(assignment)}: release {assignment} first")
    archive = course.archive(assignment)
    extracted = archive.parent / "extracted"
    rejected = course.root / "rejected" / assignment
    result = CollectResult()
    for directory in (archive, extracted):
        if directory.exists():
            shutil.rmtree(directory)
    archive.mkdir(parents=True)
    _stage(inputs, archive, rejected, result)

    if canvas_roster is not None:
        plugin_class = CanvasCollectorPlugin
        plugin = CanvasCollectorPlugin(roster=str(canvas_roster.resolve()), notebooks=notebooks,
                                       archive_root=str(archive), extracted_root=str(extracted))
        options = [f"--CanvasCollectorPlugin.roster={canvas_roster.resolve()}"]
    else:
        plugin_class = ColabCollectorPlugin
        plugin = ColabCollectorPlugin(named_regexp=pattern, notebooks=notebooks, archive_root=str(archive),
                                      extracted_root=str(extracted))
        options = [f"--ColabCollectorPlugin.named_regexp={pattern}"]
    if any(archive.iterdir()):
        name = plugin_class.__name__
        run = course.nbgrader(
            "zip_collect", assignment, "--force",
            f"--collector={plugin_class.__module__}.{name}",
            *options,
            f"--{name}.archive_root={archive}",
            f"--{name}.extracted_root={extracted}",
            "--ZipCollectApp.archive_directory=archive",
            "--ZipCollectApp.extracted_directory=extracted",
            "--ExtractorPlugin.zip_ext=['.zip']",
        )  # fmt: skip
        if run.returncode != 0:
            tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
            raise RuntimeError(f"nbgrader zip_collect {assignment} failed:\n{tail}")

    handed_in: dict[tuple[str, str], list[tuple[Path, str]]] = defaultdict(list)
    for path in sorted(p for p in extracted.rglob("*") if p.is_file()) if extracted.is_dir() else []:
        info, note = plugin.match(str(path))
        if info is None:
            _unmatched(path, extracted, rejected, note, pattern, result)
        else:
            handed_in[info["student_id"], info["file_id"]].append((path, note))
            if info.get("canvas_file"):
                result.canvas_files[info["student_id"], info["file_id"]] = info["canvas_file"]
                if info.get("late"):
                    result.late.add(info["student_id"])

    problems: dict[str, list[str]] = defaultdict(list)
    for (student, notebook), files in sorted(handed_in.items()):
        changes = result.changes.setdefault(student, [])
        changes += [f"{_rel(path, extracted)}: {note}" for path, note in files if note]
        submitted = course.submitted(student, assignment) / notebook
        kept = _kept(submitted, files, extracted, rejected, changes)
        problem = _check(submitted, kept, notebook, notebooks, course.release(assignment), extracted, rejected, changes)
        if problem:
            problems[student].append(problem)

    for student in sorted({student for student, _ in handed_in}):
        folder = course.submitted(student, assignment)
        if any(folder.glob("*.ipynb")):
            result.students.append(student)
            result.changes[student] += [f"set aside {problem}" for problem in problems[student]]
        else:
            if folder.is_dir():
                shutil.rmtree(folder)  # only nbgrader's timestamp.txt is left: nothing to grade
            result.rejects.append(_reject(student, assignment, "; ".join(problems[student])))
            result.not_collected.append(student)
    result.changes = {student: changes for student, changes in result.changes.items() if changes}
    result.unmatched.sort()
    result.rejects.sort(key=lambda reject: reject.student)
    return result


def _stage(inputs: list[Path], archive: Path, rejected: Path, result: CollectResult) -> None:
    """Copy the inputs into zip_collect's archive folder, keeping names (and mtimes, the timestamps).

    A zip archive that cannot be read would stop nbgrader's extraction of all the others: it is
    set aside here instead. So is every symbolic link, among the inputs or inside their folders: a
    student's repository (git keeps links) or an extracted tar can plant `eve__05.ipynb -> the
    instructor's source notebook`, and following it would grade the instructor's solution as hers.
    """
    for source in inputs:
        if source.is_symlink():
            _set_aside_link(source, source.name, rejected, result)
            continue
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such file or folder to collect")
        target, k = archive / source.name, 1
        while target.exists():
            k += 1
            target = archive / f"input-{k}" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)  # links copied as links, set aside below
        else:
            shutil.copy2(source, target)
    for link in _links(archive):
        _set_aside_link(link, _rel(link, archive), rejected, result)
        link.unlink()
    for path in sorted(archive.rglob("*.zip")):
        # Sizes, nesting and names first (from the archive's directory), then every entry's checksum.
        reason = archive_problem(path)
        if not reason:
            try:
                with zipfile.ZipFile(path) as archived:
                    bad = archived.testzip()
                reason = f"not a readable zip archive (damaged entry {bad!r})" if bad else ""
            except (OSError, zipfile.BadZipFile) as exc:
                reason = f"not a readable zip archive ({exc})"
        if reason:
            name = _rel(path, archive)
            _set_aside(path, rejected / name)
            path.unlink()
            result.unmatched.append(name)
            result.reasons[name] = reason if reason.startswith("not a readable") else f"archive set aside: {reason}"


def _links(folder: Path) -> list[Path]:
    """Every symbolic link under `folder`, to files and to folders, without following any."""
    links = []
    for root, folders, files in os.walk(folder):
        links += [Path(root, name) for name in folders + files if Path(root, name).is_symlink()]
    return sorted(links)


def _set_aside_link(link: Path, name: str, rejected: Path, result: CollectResult) -> None:
    """Keep the link itself in rejected/ (never what it points to) and say why it was not collected."""
    kept = rejected / name
    kept.parent.mkdir(parents=True, exist_ok=True)
    if kept.is_symlink() or kept.is_file():
        kept.unlink()
    shutil.copy2(link, kept, follow_symlinks=False)
    reason = (f"a symbolic link (to {os.readlink(link)!r}), not a file: links are not followed, only what was "
              "handed in is graded (pass a folder of your own by its real path)")
    result.unmatched.append(name)
    result.reasons[name] = reason


def _unmatched(path: Path, extracted: Path, rejected: Path, reason: str, pattern: str, result: CollectResult) -> None:
    """A file nbgrader did not collect, kept in rejected/ with the reason (a notebook among them is most likely
    someone's submission, for the instructor to rename)."""
    name = _rel(path, extracted)
    _set_aside(path, rejected / name)
    if reason == NO_MATCH_REASON:
        expected = "<student>__<notebook>.ipynb" if pattern == COLAB_NAMED_REGEXP else f"the pattern {pattern!r}"
        reason = f"file name {path.name!r} does not match {expected}"
        if canvas_file(path.name):
            reason += " (it is named as Canvas's Download Submissions names files: pass --canvas-gradebook EXPORT.csv)"
    result.unmatched.append(name)
    result.reasons[name] = reason


def _kept(
    submitted: Path, files: list[tuple[Path, str]], extracted: Path, rejected: Path, changes: list[str]
) -> Path | None:
    """Which handed-in file nbgrader copied to `submitted` (it keeps the newest of several)."""
    if not submitted.is_file():
        return files[-1][0] if len(files) == 1 else None
    content = submitted.read_bytes()
    kept = next((path for path, _ in reversed(files) if path.read_bytes() == content), files[-1][0])
    if len(files) > 1:
        others = [path for path, _ in files if path != kept]
        for other in others:
            _set_aside(other, rejected / _rel(other, extracted))
        changes.append(
            f"handed in {len(files)} files for {submitted.name}: kept the newest, {_rel(kept, extracted)!r}; "
            f"set aside {', '.join(repr(_rel(o, extracted)) for o in others)}"
        )
    return kept


def _check(
    submitted: Path,
    kept: Path | None,
    notebook: str,
    notebooks: list[str],
    release: Path,
    extracted: Path,
    rejected: Path,
    changes: list[str],
) -> str:
    """Validate and restore one collected notebook in place; the problem that set it aside, or ''."""
    name = _rel(kept, extracted) if kept else notebook
    if not submitted.is_file():
        return f"{name}: nbgrader zip_collect did not collect it"
    if notebook not in notebooks:
        problem = f"{name}: {notebook!r} is not a notebook of this assignment (expected {', '.join(notebooks)})"
    else:
        # The size from the file system first: a huge file is never read into memory.
        problem = too_large(submitted.stat().st_size, name)
    if not problem:
        verdict = judge_notebook(submitted.read_bytes(), read_ipynb(release / notebook), name, release.name)
        problem = verdict.problem
    if problem:
        _set_aside(kept or submitted, rejected / name)
        submitted.unlink()
        return problem
    if verdict.changed:
        write_ipynb(verdict.restored, submitted)
    changes += [f"{notebook}: {message}" for message in verdict.changes]
    return ""


def _reject(student: str, assignment: str, reason: str) -> SubmissionResult:
    return SubmissionResult(student, assignment, MALFORMED, reason)


def _set_aside(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()

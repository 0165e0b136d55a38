"""`course`: one command for instructors, with a subcommand per step of the flow."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path

from grader import paths


def _cmd_assets(args: argparse.Namespace) -> int:
    from grader.assets.environment import prepare, status

    if args.action == "verify":
        from grader.assets.verify import verify_offline, verify_online

        return verify_online() if args.online else verify_offline()
    if args.online:
        print("--online goes with `course assets verify`", file=sys.stderr)
        return 2
    if args.action == "prepare":
        env = prepare()
        print("online: nothing to prepare" if not env else "offline assets ready")
    elif args.action == "env":
        # Only the exports go to stdout, so that `eval "$(course assets env)"` works on a first run too.
        with contextlib.redirect_stdout(sys.stderr):
            env = prepare()
        for name, value in env.items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    mirror = paths.mirror_dir()
    print(f"mirror: {mirror or 'none (online: notebooks download the official files)'}")
    rows = status()
    width = max(len(r.asset) for r in rows)
    for row in rows:
        print(f"  {row.asset.ljust(width)}  {row.status:<16}  {row.detail}")
    if any(r.status == "not prepared" for r in rows):
        print("run `course assets prepare` to prepare the offline copies")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from grader.course_dir import CourseDir
    from grader.release.build import check, release

    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        print("notebooks/ is up to date with solutions/" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    for path in release(CourseDir(paths.build_dir() / "course")):
        print("wrote", path.relative_to(paths.REPO_ROOT))
    return 0


def _limits(args: argparse.Namespace):
    from grader.sandbox.box import GIB, Limits

    return Limits(cell_timeout=args.cell_timeout, submission_timeout=args.timeout,
                  memory_bytes=int(args.memory_gb * GIB), output_chars=args.output_chars, threads=args.threads)


def _course(args: argparse.Namespace):
    from grader.course_dir import CourseDir
    from grader.release.build import release

    course = CourseDir(Path(args.course).resolve())
    if not course.release(args.assignment).is_dir():
        release(course)
    return course


def _inputs(names: list[str]) -> list[Path]:
    missing = [name for name in names if not Path(name).exists()]
    if missing:
        from grader.notebooks import NotebookError

        raise NotebookError(f"no such file or folder: {', '.join(missing)}")
    return [Path(name) for name in names]


def _cmd_collect(args: argparse.Namespace) -> int:
    from grader.autograde.course_lock import grading_lock
    from grader.collect.intake import collect
    from grader.terminal import printable

    course = _course(args)
    with grading_lock(course):  # collect empties and refills the folders a grading run reads
        result = collect(course, args.assignment, _inputs(args.files), args.pattern, _canvas_export(args)[0])
    for student in result.students:
        notes = "; ".join(result.changes.get(student, []))
        print(printable(f"collected  {student}" + (f"  ({notes})" if notes else "")))
    for reject in result.rejects:
        print(printable(f"rejected   {reject.student}: {reject.reason}"))
    for name in result.unmatched:
        print(printable(f"unmatched  {name}: {result.reasons.get(name, 'no pattern matched')}"))
    print(f"{len(result.students)} collected, {len(result.rejects)} rejected, {len(result.unmatched)} unmatched "
          f"(rejected and unmatched files are kept in {course.root / 'rejected' / args.assignment})")
    return 0


def read_roster_file(path: Path) -> list[str]:
    """One student id a line (names may hold spaces: "josé maría"); blank lines and `#` comments skipped;
    each id in NFC, as collect names students."""
    from grader.nbgrader_ext.collector import student_id

    lines = (line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines())
    return [student_id(line) for line in lines if line and not line.startswith("#")]


def _canvas_export(args: argparse.Namespace):
    """The Canvas gradebook export named by --canvas-gradebook and its roster, read before anything runs (an
    export that cannot be read stops here); (None, an empty roster) without one."""
    from grader.canvas_roster import CanvasRoster, read_canvas_roster

    if not args.canvas_gradebook:
        return None, CanvasRoster()
    path = _inputs([args.canvas_gradebook])[0]
    return path, read_canvas_roster(path)


def _cmd_autograde(args: argparse.Namespace) -> int:
    from grader.assets.environment import notebook_environment
    from grader.autograde.class_run import GradingInterrupted, autograde
    from grader.export.canvas import write_canvas_csv
    from grader.export.canvas_feedback import write_canvas_feedback
    from grader.export.nbgrader_export import export_grades
    from grader.export.report import format_table, grade_rows, write_csv

    if not 0 <= args.late_penalty < 1:
        raise SystemExit(f"--late-penalty {args.late_penalty}: a fraction of the points, from 0 up to (not) 1")
    course = _course(args)
    export, canvas = _canvas_export(args)
    roster = read_roster_file(Path(args.roster)) if args.roster else None
    if roster is None and export:
        roster = [student.student_id for student in canvas.students]  # who is missing: the whole class
    column = canvas.assignment_column(args.assignment)
    last_written = [0.0]

    def write_grades(results: dict, every_seconds: float = 0.0) -> list:
        """grades.csv and the Canvas file from every result so far (at most every few seconds while grading:
        each write reads the whole class from the gradebook)."""
        if time.monotonic() - last_written[0] < every_seconds:
            return []
        rows = grade_rows(course, [r for assignment_results in results.values() for r in assignment_results],
                          late_penalty=args.late_penalty)
        write_csv(rows, course.root / "grades.csv")
        write_canvas_csv(rows, course.root / "canvas_grades.csv", roster=canvas.by_student_id(),
                         assignment_columns={args.assignment: column} if column else None)
        last_written[0] = time.monotonic()
        return rows

    try:
        results = autograde(course, args.assignment, _inputs(args.files), notebook_environment(), roster=roster,
                            limits=_limits(args), workers=args.workers, scheduler=args.scheduler,
                            sandbox=not args.no_sandbox, regrade=args.regrade, pattern=args.pattern,
                            on_result=lambda so_far: write_grades(so_far, every_seconds=5.0),
                            canvas_roster=export, late_penalty=args.late_penalty)
    except GradingInterrupted as stop:
        write_grades(stop.results)
        export_grades(course, course.root / "nbgrader_grades.csv")
        print(f"stopped: {stop.graded} submission(s) graded and saved (grades.csv, gradebook, feedback); "
              f"{stop.left} not graded: run the same command again to grade them")
        return 130
    except KeyboardInterrupt:
        print("stopped before any submission was graded: nothing was changed; run the same command again")
        return 130
    rows = write_grades({args.assignment: results})
    export_grades(course, course.root / "nbgrader_grades.csv")
    print(format_table(rows))
    print(f"grades: {course.root / 'grades.csv'}  Canvas import: {course.root / 'canvas_grades.csv'}  "
          f"feedback: {course.root / 'feedback'}")
    if export:
        pages = write_canvas_feedback(course, results, course.root / "feedback_for_canvas.zip")
        print(f"Canvas: grades in column {column or args.assignment!r} "
              f"({'as the export names it' if column else 'a new column: no column of the export matches'}); "
              f"{len(pages)} feedback page(s) in {course.root / 'feedback_for_canvas.zip'} "
              "(the assignment's Upload Submissions attaches each to its student)")
    return 0


def _cmd_similarity(args: argparse.Namespace) -> int:
    from grader.course_dir import CourseDir
    from grader.review.similarity_report import similarity, write_report
    from grader.terminal import printable

    course = CourseDir(Path(args.course).resolve())
    found = similarity(course, args.assignment)
    path = course.root / f"similarity_{args.assignment}.html"
    write_report(found, path, top=args.top)
    for answer in found.not_compared:
        print(printable(f"not compared: {answer.student}: {answer.problem}"))
    for pair in found.code[:5]:
        print(printable(f"code    {pair.similarity:4.0%}  {pair.first} and {pair.second}"))
    for pair in found.models[:5]:
        print(printable(f"models  {pair.surprise:4.1f}  {pair.first} and {pair.second} ({pair.shared} shared "
                        f"mistakes, {pair.expected:.2f} expected)"))
    print(f"similarity report: {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from grader.assets.environment import notebook_environment
    from grader.student.validate import format_report, validate

    notebook = _inputs([args.notebook])[0]
    release = Path(args.release) if args.release else None
    report = validate(notebook, env=notebook_environment(), timeout=args.cell_timeout, release=release)
    print(format_report(report))
    return 0 if all(t.passed for t in report.tests if not t.hidden) else 1


# The main job's default class: 05, the graded assignment, whose examples exercise most of the grader
# (a cut base, a callback re-run by the grader, held-out accuracy) in a few minutes.
DEFAULT_ROUNDTRIP = "05_horses_or_humans"


def _devtools() -> None:
    """Make the checkout's development tools importable: they are not installed with the grader (an instructor's
    installed `course` grades a class without them), and they need the checkout's solutions and examples."""
    if not (paths.REPO_ROOT / "devtools" / "__init__.py").is_file():
        raise SystemExit("this command runs from a checkout of the course repository (its devtools/ folder): "
                         "clone it and run `make grade` there")
    if str(paths.REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(paths.REPO_ROOT))


def _cmd_roundtrip(args: argparse.Namespace) -> int:
    _devtools()
    from devtools.roundtrip import roundtrip

    only = None if args.all else args.assignment or [DEFAULT_ROUNDTRIP]
    ok = roundtrip(only=only)
    print("round trip: every example got its expected points" if ok else "round trip: MISMATCH (see table)")
    return 0 if ok else 1


def _cmd_calibrate(args: argparse.Namespace) -> int:
    _devtools()
    from devtools.calibrate import calibrate, errors_report, summary
    from grader.release.build import assignments

    runs = calibrate(args.notebooks or assignments(), args.seeds, design=args.design)
    print(summary())
    problems = errors_report(runs)
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    return 1 if problems else 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from grader.doctor import FAIL, diagnose, format_findings

    findings = diagnose()
    print(format_findings(findings))
    failed = [f.what for f in findings if f.state == FAIL]
    print("grading can run here" if not failed else f"grading cannot run here: fix {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="what grading needs, and whether this machine has it")
    doctor.set_defaults(func=_cmd_doctor)

    assets = sub.add_parser("assets", help="what the notebooks load, and the offline mirror")
    assets.add_argument("action", choices=["status", "prepare", "env", "verify"], nargs="?", default="status",
                        help="verify: the solutions' downloads are all catalogued, and the mirror's exact copies "
                             "match the recorded sha256")
    assets.add_argument("--online", action="store_true",
                        help="with verify: download every catalogued URL and handle and compare sha256 and size")
    assets.set_defaults(func=_cmd_assets)

    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/ with nbgrader")
    rel.add_argument("--check", action="store_true", help="fail if notebooks/ differs from what solutions/ generate")
    rel.set_defaults(func=_cmd_release)

    def course_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("assignment")
        p.add_argument("files", nargs="+", help="notebooks, folders or .zip archives of notebooks")
        p.add_argument("--course", default=str(paths.build_dir() / "course"), help="nbgrader course directory")
        p.add_argument("--pattern", help="regexp with groups student_id and file_id, matched against each file's "
                                         "path (default: <student>__<notebook>.ipynb)")
        p.add_argument("--canvas-gradebook", metavar="EXPORT_CSV",
                       help="Canvas's gradebook export (Grades > Export): the files are Canvas's Download "
                            "Submissions zip, unchanged, each Canvas user the student the export names")

    col = sub.add_parser("collect", help="file handed-in notebooks under their students (nbgrader zip_collect)")
    course_options(col)
    col.set_defaults(func=_cmd_collect)

    grade = sub.add_parser("autograde", help="collect and grade handed-in notebooks in sandboxed workers")
    course_options(grade)
    grade.add_argument("--roster",
                       help="file of student ids, one a line: those without a submission are reported missing")
    grade.add_argument("--workers", type=int, help="parallel grading workers (default: one per core)")
    grade.add_argument("--scheduler", help="address of a Dask scheduler (default: local workers)")
    grade.add_argument("--threads", type=int, default=0,
                       help="TensorFlow threads per kernel, pinned to its share of the cores (default: TensorFlow's "
                            "own choice, unpinned; faster here, see the README)")
    grade.add_argument("--late-penalty", type=float, default=0.0, metavar="FRACTION",
                       help="with --canvas-gradebook: the fraction of the points a hand-in Canvas marked late loses "
                            "(default 0: Canvas's own late policy applies)")
    grade.add_argument("--regrade", action="store_true", help="grade again submissions already graded")
    grade.add_argument("--no-sandbox", action="store_true", help="run kernels without isolation (trusted notebooks)")
    grade.add_argument("--timeout", type=float, default=1800, help="seconds allowed per submission")
    grade.add_argument("--cell-timeout", type=int, default=600, help="seconds allowed per cell")
    grade.add_argument("--memory-gb", type=float, default=10, help="memory (address space) per submission")
    grade.add_argument("--output-chars", type=int, default=100_000, help="characters kept per cell output")
    grade.set_defaults(func=_cmd_autograde)

    sim = sub.add_parser("similarity", help="after autograde: rank pairs of students by how alike their answer code "
                                            "and their models' mistakes are (an HTML page)")
    sim.add_argument("assignment")
    sim.add_argument("--course", default=str(paths.build_dir() / "course"), help="nbgrader course directory")
    sim.add_argument("--top", type=int, default=50, help="pairs listed in each ranking, beside those over its mark")
    sim.set_defaults(func=_cmd_similarity)

    val = sub.add_parser("validate", help="run a notebook's visible tests and show the points, before handing in")
    val.add_argument("notebook")
    val.add_argument("--release", help="the release notebook, to restore cell metadata Colab dropped")
    val.add_argument("--cell-timeout", type=int, default=600)
    val.set_defaults(func=_cmd_validate)

    trip = sub.add_parser("roundtrip", help="release, autograde one assignment's example class, feedback, export, "
                                            "print the grade table")
    trip.add_argument("assignment", nargs="*", help=f"the assignments to grade (default: {DEFAULT_ROUNDTRIP})")
    trip.add_argument("--all", action="store_true", help="every assignment's examples (make grade-all)")
    trip.set_defaults(func=_cmd_roundtrip)

    cal = sub.add_parser("calibrate", help="run solutions with several seeds; write data/calibration.csv")
    cal.add_argument("notebooks", nargs="*", help="solution names (default: all)")
    cal.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    cal.add_argument("--design", help="a graded example of kind variant: calibrate that alternative design")
    cal.set_defaults(func=_cmd_calibrate)

    args = parser.parse_args(argv)
    from grader.assets.mirror import AssetError
    from grader.autograde.course_lock import CourseBusy
    from grader.autograde.kit import KitError
    from grader.canvas_roster import CanvasExportError
    from grader.notebooks import NotebookError
    from grader.review.similarity_report import SimilarityError
    from grader.sandbox.box import SandboxError

    try:
        return args.func(args)
    except (AssetError, NotebookError, SandboxError, KitError, CourseBusy, CanvasExportError,
            SimilarityError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

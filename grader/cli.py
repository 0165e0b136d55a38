"""`course`: one command for instructors, with a subcommand per step of the flow."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from pathlib import Path

from grader import paths


def _cmd_assets(args: argparse.Namespace) -> int:
    from grader.assets.environment import prepare, status

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


def _cmd_autograde(args: argparse.Namespace) -> int:
    from grader.assets.environment import notebook_environment
    from grader.course_dir import CourseDir
    from grader.grading.autograde import autograde, export_grades
    from grader.grading.report import format_table, grade_rows, write_csv
    from grader.release.build import release

    course = CourseDir(Path(args.course).resolve())
    if not course.release(args.assignment).is_dir():
        release(course)
    files = sorted(p for f in args.files for p in (Path(f).glob("*") if Path(f).is_dir() else [Path(f)]))
    results = autograde(course, args.assignment, files, notebook_environment(), timeout=args.timeout)
    rows = grade_rows(course, results)
    write_csv(rows, course.root / "grades.csv")
    export_grades(course, course.root / "nbgrader_grades.csv")
    print(format_table(rows))
    print(f"grades: {course.root / 'grades.csv'}")
    return 0


def _cmd_roundtrip(args: argparse.Namespace) -> int:
    from grader.roundtrip import roundtrip

    ok = roundtrip(only=args.assignment or None)
    print("round trip: every example got its expected points" if ok else "round trip: MISMATCH (see table)")
    return 0 if ok else 1


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from grader.calibrate import calibrate, errors_report, summary
    from grader.release.build import assignments

    runs = calibrate(args.notebooks or assignments(), args.seeds)
    print(summary())
    problems = errors_report(runs)
    for problem in problems:
        print("error:", problem, file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    assets = sub.add_parser("assets", help="what the notebooks load, and the offline mirror")
    assets.add_argument("action", choices=["status", "prepare", "env"], nargs="?", default="status")
    assets.set_defaults(func=_cmd_assets)

    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/ with nbgrader")
    rel.add_argument("--check", action="store_true", help="fail if notebooks/ differs from what solutions/ generate")
    rel.set_defaults(func=_cmd_release)

    grade = sub.add_parser("autograde", help="grade handed-in notebooks (<student>__<notebook>.ipynb)")
    grade.add_argument("assignment")
    grade.add_argument("files", nargs="+", help="notebooks or folders of notebooks")
    grade.add_argument("--course", default=str(paths.build_dir() / "course"), help="nbgrader course directory")
    grade.add_argument("--timeout", type=float, default=1800, help="seconds allowed per submission")
    grade.set_defaults(func=_cmd_autograde)

    trip = sub.add_parser("roundtrip", help="release, autograde the example submissions, print the grade table")
    trip.add_argument("assignment", nargs="*", help="only these assignments (default: all)")
    trip.set_defaults(func=_cmd_roundtrip)

    cal = sub.add_parser("calibrate", help="run solutions with several seeds; write data/calibration.csv")
    cal.add_argument("notebooks", nargs="*", help="solution names (default: all)")
    cal.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    cal.set_defaults(func=_cmd_calibrate)

    args = parser.parse_args(argv)
    from grader.assets.mirror import AssetError
    from grader.notebooks import NotebookError

    try:
        return args.func(args)
    except (AssetError, NotebookError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

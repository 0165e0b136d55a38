"""`course release`: regenerate every student notebook from its solution source.

solutions/NN_name.py  --jupytext-->  source/NN_name/NN_name.ipynb  --nbgrader generate_assignment-->
release/NN_name/NN_name.ipynb  -->  notebooks/NN_name.py (jupytext) and notebooks/NN_name.ipynb (Colab)
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
from pathlib import Path

from grader import paths
from grader.course_dir import CourseDir
from grader.notebooks import read_ipynb, read_source, write_ipynb, write_percent
from grader.release.colab import to_colab
from grader.release.handin_cell import add_handin_cell
from grader.release.how_graded import add_how_graded


class ReleaseError(RuntimeError):
    """nbgrader refused a source, or a generated file could not be written."""


def assignments(solutions_dir: Path | None = None) -> list[str]:
    """Assignment names, one per solution source (`01_cats_vs_dogs`, ...), in order."""
    solutions_dir = solutions_dir or paths.SOLUTIONS_DIR
    return sorted(p.stem for p in solutions_dir.glob("[0-9][0-9]_*.py"))


def write_sources(course: CourseDir, solutions_dir: Path, only: list[str] | None = None) -> list[str]:
    """Each solutions/NAME.py (those in `only`, when given) becomes the nbgrader source notebook
    source/NAME/NAME.ipynb."""
    names = [name for name in assignments(solutions_dir) if only is None or name in only]
    for name in names:
        target = course.source(name)
        if target.exists():
            shutil.rmtree(target)
        source = read_source(solutions_dir / f"{name}.py")
        add_how_graded(source, name)
        add_handin_cell(source, name)
        write_ipynb(source, target / f"{name}.ipynb")
    return names


def generate_release(course: CourseDir, names: list[str]) -> None:
    """nbgrader's own generate_assignment: clears solutions and hidden tests, records checksums."""
    for name in names:
        result = course.nbgrader("generate_assignment", name, "--force", "--create")
        if result.returncode != 0:
            raise ReleaseError(f"nbgrader generate_assignment {name} failed:\n{result.stdout}{result.stderr}")


def write_student_files(course: CourseDir, names: list[str], out_dir: Path) -> list[Path]:
    """notebooks/NAME.py for reading and diffs, notebooks/NAME.ipynb for Colab."""
    written = []
    for name in names:
        released = read_ipynb(course.release(name) / f"{name}.ipynb")
        write_percent(released, out_dir / f"{name}.py")
        write_ipynb(to_colab(released, f"{name}.ipynb"), out_dir / f"{name}.ipynb")
        written += [out_dir / f"{name}.py", out_dir / f"{name}.ipynb"]
    return written


def release(
    course: CourseDir, out_dir: Path | None = None, solutions_dir: Path | None = None, only: list[str] | None = None
) -> list[Path]:
    """Regenerate the nbgrader release in `course` and the student files in `out_dir` (of the assignments in
    `only`, when given: nbgrader's generate_assignment costs seconds per assignment)."""
    out_dir = out_dir or paths.NOTEBOOKS_DIR
    course.write_config()
    names = write_sources(course, solutions_dir or paths.SOLUTIONS_DIR, only)
    generate_release(course, names)
    return write_student_files(course, names, out_dir)


def check(solutions_dir: Path | None = None, notebooks_dir: Path | None = None) -> list[str]:
    """Differences between the committed notebooks/ and what the sources generate (empty: none)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "notebooks"
        release(CourseDir(Path(tmp) / "course"), fresh, solutions_dir)
        return compare(fresh, notebooks_dir or paths.NOTEBOOKS_DIR)


def compare(generated_dir: Path, notebooks_dir: Path) -> list[str]:
    """Differences between the notebooks a release generated and the committed ones (empty: none)."""
    problems = []
    generated = sorted(generated_dir.glob("*"))
    expected_names = {p.name for p in generated}
    for path in generated:
        committed = notebooks_dir / path.name
        if not committed.exists():
            problems.append(f"{committed} is missing: run `course release`")
            continue
        if committed.read_text() != path.read_text():
            diff = difflib.unified_diff(
                committed.read_text().splitlines(), path.read_text().splitlines(),
                str(committed), "generated", lineterm="", n=1,
            )
            problems.append(f"{committed} differs from its source:\n" + "\n".join(list(diff)[:40]))
    for stray in sorted(notebooks_dir.glob("*")):
        if stray.suffix in (".py", ".ipynb") and stray.name not in expected_names:
            problems.append(f"{stray} has no source in solutions/")
    return problems

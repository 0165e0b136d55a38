"""A tiny nbgrader course (one assignment `a1`, plain Python, no TensorFlow) for fast tests of
collecting and validating: nbgrader's generate_assignment runs once per session, each test gets
its own copy."""

import shutil

import nbformat
import pytest

from grader.autograde.kit import build_kit
from grader.course_dir import CourseDir
from grader.notebooks import assign_cell_ids, write_ipynb

ASSIGNMENT = "a1"


def pytest_collection_modifyitems(session, config, items):
    """The tests that read the graded examples' pool run last, in their collected order.

    `make test` runs nbval beside this session. The pool keeps both cores busy with two kernels; the
    other tests are mostly process start-ups and short waits (about half a core). Run first, those share
    the machine with nbval, and the pool then runs with both cores to itself instead of beside nbval.
    """
    items.sort(key=lambda item: "graded_on_one_pool" in getattr(item, "fixturenames", ()))


def _cell(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    meta = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    cell.metadata["nbgrader"] = {**meta, **nbgrader}
    return cell


def tiny_source():
    """One solution cell, one visible test (2 points), one hidden test (1 point)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# a1\nWrite `double`."),
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
              grade_id="double", solution=True),
        _cell('assert double(2) == 4, "double(2) should be 4"\nprint("ok")',
              grade_id="test_double", grade=True, locked=True, points=2),
        _cell("# Hidden test: negative numbers.\n### BEGIN HIDDEN TESTS\nassert double(-1) == -2\n"
              "### END HIDDEN TESTS", grade_id="test_hidden", grade=True, locked=True, points=1),
    ]
    assign_cell_ids(nb)
    return nb


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory):
    course = CourseDir(tmp_path_factory.mktemp("tiny") / "course")
    course.write_config()
    write_ipynb(tiny_source(), course.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    result = course.nbgrader("generate_assignment", ASSIGNMENT, "--force", "--create")
    assert result.returncode == 0, result.stdout + result.stderr
    # The grading kit once, here: every copy reuses it (its source is unchanged), as a course's later
    # grading runs do.
    build_kit(course, ASSIGNMENT, course.root / ".grading" / "kits")
    return course


@pytest.fixture
def tiny_course(tiny_template, tmp_path):
    """A fresh copy of the tiny course, its config pointing at the copy."""
    course = CourseDir(tmp_path / "course")
    shutil.copytree(tiny_template.root, course.root)
    course.write_config()
    return course


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """The course released once from solutions/ (nbgrader's generate_assignment) and its notebooks/, for
    every test that reads or grades the real release; the graders use their own student names."""
    from grader.release.build import release

    root = tmp_path_factory.mktemp("released")
    course = CourseDir(root / "course")
    release(course, root / "notebooks")
    return course, root / "notebooks"


def uncollected_copy(course: CourseDir, root) -> CourseDir:
    """`course` copied to `root`/course with its release and nothing collected or graded, its config pointing at
    the copy: for a test that collects into a course of its own beside the session's pool."""
    copy = CourseDir(root / "course")
    ignore = shutil.ignore_patterns("submitted", "autograded", "feedback", ".grading", "downloaded", "rejected")
    shutil.copytree(course.root, copy.root, ignore=ignore)
    copy.write_config()
    return copy


@pytest.fixture(scope="session")
def graded_on_one_pool(released, tmp_path_factory):
    """The graded examples of every assignment (test_grading.py), their untouched copies with the measured
    exploits added (test_tampering.py), graded in one run on one pool: one kit, collect and Dask start per
    assignment, and no core idle between the two sets. Returns (examples, results) per assignment."""
    from grader.assets.environment import notebook_environment
    from grader.autograde.class_run import autograde_many
    from tests.autograde.test_grading import example_files
    from tests.collect.test_tampering import exploit_files

    course = released[0]
    folder = tmp_path_factory.mktemp("handed_in")
    examples, files, rosters = example_files(course, folder)
    for assignment, exploits in exploit_files(course, folder, examples).items():
        files.setdefault(assignment, []).extend(exploits)
    return examples, autograde_many(course, files, notebook_environment(), rosters)

"""Notebooks as students really hand them in: copied test cells, scratch cells, names outside ASCII, old
notebook formats, another assignment's notebook. Each ends graded with the points its work earns, or in
a status whose reason a student understands (never a raw nbgrader traceback), through the real pipeline."""

import copy

import nbformat
import pytest

from grader.autograde.class_run import autograde
from grader.export.report import grade_rows
from grader.notebooks import read_ipynb
from grader.result import GRADED, MALFORMED
from tests.autograde.test_isolation import ASSIGNMENT, SOLUTION, cell_of, handed_in, plain_env


@pytest.fixture(scope="module")
def graded(tiny_template, tmp_path_factory):
    import shutil

    from grader.course_dir import CourseDir

    root = tmp_path_factory.mktemp("edits")
    course = CourseDir(root / "course")
    shutil.copytree(tiny_template.root, course.root)
    course.write_config()
    folder = root / "in"
    folder.mkdir()

    def copy_test_cell(nb):
        test = cell_of(nb, "test_double")
        nb.cells.insert(nb.cells.index(test) + 1, copy.deepcopy(test))  # same metadata, same id

    def scratch_cells(nb):
        nb.cells.insert(2, nbformat.v4.new_code_cell("print('trying things out')\ndouble(21)"))
        nb.cells.append(nbformat.v4.new_markdown_cell("My notes: doubling is easy."))
        nb.cells.append(nbformat.v4.new_code_cell("assert False, 'my own scratch check'"))

    files = [
        handed_in(course, folder, "ann_copies_a_test", SOLUTION, copy_test_cell),
        handed_in(course, folder, "ben_scratch_cells", SOLUTION, scratch_cells),
        handed_in(course, folder, "zoë_łukasz", SOLUTION),
        handed_in(course, folder, "李雷", SOLUTION),
        # A C/C++ library writing a log line to file descriptor 2 during a test (TensorFlow does) is not
        # the student's failure: nbgrader fails a cell with stderr output, so it must not reach the cell.
        handed_in(course, folder, "fin_library_logs", SOLUTION + "\nimport os\n_double = double\n"
                  "def double(x):\n    os.write(2, b'E0000 node_def_util.cc] a library log line\\n')\n"
                  "    return _double(x)"),
    ]
    # nbformat 3 (an old Jupyter), and 4.0 without cell ids (Colab's own downloads).
    for student, minor in (("cal_nbformat3", 3), ("dot_nbformat40", 0)):
        path = handed_in(course, folder, student, SOLUTION)
        nb = read_ipynb(path)
        if minor == 3:
            old = nbformat.convert(nb, 3)
        else:
            old = copy.deepcopy(nb)
            old.nbformat_minor = 0
            for cell in old.cells:
                cell.pop("id", None)
        path.write_text(nbformat.writes(old, version=3 if minor == 3 else nbformat.NO_CONVERT))
        files.append(path)
    # Another assignment's notebook under this assignment's name.
    other = nbformat.v4.new_notebook()
    other.cells = [nbformat.v4.new_markdown_cell("# Homework 7"),
                   nbformat.v4.new_code_cell("def triple(x):\n    return 3 * x")]
    other.cells[1].metadata["nbgrader"] = {"grade": False, "grade_id": "triple", "locked": False, "schema_version": 3,
                                          "solution": True, "task": False}
    (folder / f"eve_wrong_notebook__{ASSIGNMENT}.ipynb").write_text(nbformat.writes(other))
    files.append(folder / f"eve_wrong_notebook__{ASSIGNMENT}.ipynb")
    results = autograde(course, ASSIGNMENT, files, plain_env(root), workers=2)
    return course, {row.student: row for row in grade_rows(course, results)}


@pytest.mark.parametrize("student", ["ann_copies_a_test", "ben_scratch_cells", "zoë_łukasz", "李雷", "cal_nbformat3",
                                     "dot_nbformat40", "fin_library_logs"])
def test_ordinary_edits_are_graded_with_full_points(graded, student):
    course, rows = graded
    row = rows[student]
    assert row.status == GRADED, (student, row.status, row.reason)
    assert row.points == {"test_double": 2, "test_hidden": 1}, (student, row.points, row.reason)
    assert "Traceback" not in row.reason
    assert (course.feedback(student, ASSIGNMENT) / f"{ASSIGNMENT}.html").is_file()


def test_another_assignments_notebook_is_malformed_with_a_reason_a_student_understands(graded):
    row = graded[1]["eve_wrong_notebook"]
    assert row.status == MALFORMED, (row.status, row.reason)
    assert "none of the graded cells of a1" in row.reason and "another assignment" in row.reason
    assert "Traceback" not in row.reason

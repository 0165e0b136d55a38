"""Canvas's "Download Submissions" zip, collected unchanged with the gradebook export: each Canvas user filed as
the student the export names, the newest hand-in of a notebook collected and every other file set aside with
its reason, Canvas's late mark kept."""

import zipfile

import pytest

from grader.collect.intake import collect
from grader.notebooks import read_ipynb, write_ipynb

ASSIGNMENT = "a1"  # the tiny course of conftest.py
EXPORT = ("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,A1 (4711)\n"
          "    Points Possible,,,,,3.00\n"
          '"Smith, Bob",340934,S-001,bob,Section A,\n'
          '"Müller, Jörg",340935,S-002,jmuller@example.edu,Section B,\n'
          '"Liddell, Alice",340936,,,Section B,\n')


def notebook(course, tmp_path, answer):
    nb = read_ipynb(course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    cell.source = answer
    path = tmp_path / f"{abs(hash(answer))}.ipynb"
    write_ipynb(nb, path)
    return path.read_bytes()


@pytest.fixture
def canvas_download(tiny_course, tmp_path):
    """A zip as Canvas writes it, and the gradebook export beside it."""
    files = {
        "smithbob_340934_208490284_Copy of a1.ipynb": notebook(tiny_course, tmp_path, "# first try"),
        "smithbob_340934_208490290_a1-1.ipynb": notebook(tiny_course, tmp_path, "def double(x):\n    return 2 * x"),
        "smithbob_340934_208490291_notes.txt": b"my notes",
        "müllerjörg_LATE_340935_208490300_a1.ipynb": notebook(tiny_course, tmp_path, "def double(x):\n    return x"),
        "liddellalice_340936_208490310_a1 (1).ipynb": notebook(tiny_course, tmp_path, "def double(x):\n    return 0"),
        "strangerx_999_208490301_a1.ipynb": notebook(tiny_course, tmp_path, "# who?"),
        "anon_xK3pQ_208490302_a1.ipynb": notebook(tiny_course, tmp_path, "# anonymous"),
    }
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode())
    return archive, export


def test_canvas_download_is_collected_under_the_students_of_the_export(tiny_course, canvas_download):
    archive, export = canvas_download
    result = collect(tiny_course, ASSIGNMENT, [archive], canvas_roster=export)
    # The SIS Login ID where there is one, else Canvas's user id.
    assert result.students == ["340936", "bob", "jmuller@example.edu"]
    assert result.late == {"jmuller@example.edu"}
    submitted = read_ipynb(tiny_course.submitted("bob", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    assert any(c.source == "def double(x):\n    return 2 * x" for c in submitted.cells), "the newest hand-in"
    assert result.canvas_files[("bob", f"{ASSIGNMENT}.ipynb")] == "smithbob_340934_208490290_a1-1.ipynb"
    reasons = {name.rsplit("/", 1)[-1]: reason for name, reason in result.reasons.items()}
    assert "the newest, attachment 208490290, is graded" in reasons["smithbob_340934_208490284_Copy of a1.ipynb"]
    assert "Canvas user 999 is not on the gradebook export 'export.csv'" in reasons["strangerx_999_208490301_a1.ipynb"]
    assert "anonymous grading" in reasons["anon_xK3pQ_208490302_a1.ipynb"]
    assert "not a notebook" in reasons["smithbob_340934_208490291_notes.txt"]
    rejected = tiny_course.root / "rejected" / ASSIGNMENT
    kept = {p.name for p in rejected.rglob("*") if p.is_file()}
    assert {"smithbob_340934_208490284_Copy of a1.ipynb", "strangerx_999_208490301_a1.ipynb",
            "anon_xK3pQ_208490302_a1.ipynb"} <= kept, "nothing handed in is lost"


def test_without_the_export_canvas_names_are_explained(tiny_course, canvas_download):
    archive, _ = canvas_download
    result = collect(tiny_course, ASSIGNMENT, [archive])
    assert result.students == []
    reason = next(r for n, r in result.reasons.items() if n.endswith("smithbob_340934_208490290_a1-1.ipynb"))
    assert "pass --canvas-gradebook" in reason

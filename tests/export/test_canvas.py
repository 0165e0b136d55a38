"""canvas_grades.csv against the rules Canvas's gradebook importer applies (canvas-lms
lib/gradebook_importer.rb), on hand-built grade rows: no grading run."""

import csv
import re

import pytest

from grader import result as statuses
from grader.canvas_roster import CanvasStudent, read_canvas_roster
from grader.export.canvas import canvas_score, write_canvas_csv
from grader.export.report import GradeRow
from grader.result import CRASHED, GRADED, GRADER_ERROR, MALFORMED, MISSING, TIMED_OUT

HW = "05_horses_or_humans"
MAX = {"test_base": 2.0, "test_head": 3.0, "test_callback": 5.0}


def graded(student, points, assignment=HW):
    return GradeRow(student, assignment, GRADED, "", points=dict(points), max_points=dict(MAX))


def failed(student, status, reason="", assignment=HW):
    return GradeRow(student, assignment, status, reason)


CLASS = [
    graded("alice", {"test_base": 2.0, "test_head": 3.0, "test_callback": 2.5}),
    failed("bob", TIMED_OUT, "submission took longer than 1800 s"),
    failed("carol", CRASHED, "kernel died"),
    failed("dave", MALFORMED, "not a notebook"),
    failed("erin", MISSING, "no submission"),
    failed("frank", GRADER_ERROR, "bwrap: setting up uid map: Permission denied"),
]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def by_login(table):
    """SIS Login ID -> the student's row, as a dict by header."""
    header = table[0]
    return {row[3]: dict(zip(header, row, strict=True)) for row in table[2:]}


def test_header_and_points_possible_row(tmp_path):
    write_canvas_csv(CLASS, tmp_path / "c.csv")
    table = read(tmp_path / "c.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", HW]
    assert table[1] == ["Points Possible", "", "", "", "", "10"]
    assert all(len(row) == len(table[0]) for row in table)


def test_header_passes_canvas_importer_checks(tmp_path):
    # gradebook_importer.rb: row_has_student_headers? and the SIS columns read by update_column_count.
    write_canvas_csv(CLASS, tmp_path / "c.csv", assignment_columns={HW: "Horses or humans (4711)"})
    header = read(tmp_path / "c.csv")[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    assert re.match(r"SIS\s+User\s+ID", header[2]) and re.match(r"SIS\s+Login\s+ID", header[3])
    assert "Section" in header[4]
    # Assignment.title_and_id: "Title (id)" is matched to the Canvas assignment by its id.
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[5]).groups() == ("Horses or humans", "4711")


def test_one_row_per_student_each_status_mapped(tmp_path):
    write_canvas_csv(CLASS, tmp_path / "c.csv")
    rows = by_login(read(tmp_path / "c.csv"))
    assert len(read(tmp_path / "c.csv")) == 2 + len(CLASS)
    assert {s: r[HW] for s, r in rows.items()} == {
        "alice": "7.5", "bob": "0", "carol": "0", "dave": "0", "erin": "", "frank": ""}
    assert rows["alice"]["Student"] == "alice" and rows["alice"]["ID"] == ""


def test_grader_error_is_never_a_zero():
    row = failed("frank", GRADER_ERROR)
    assert canvas_score(row) == ""
    assert canvas_score(row, missing_score=0) == ""


def test_missing_is_blank_unless_the_course_says_zero():
    row = failed("erin", MISSING)
    assert canvas_score(row) == ""
    assert canvas_score(row, missing_score=0) == "0"


def test_every_status_has_a_canvas_value():
    # A status added to grader/result.py without a Canvas mapping fails here, not in an instructor's import.
    names = [v for k, v in vars(statuses).items() if k.isupper() and isinstance(v, str)]
    assert GRADER_ERROR in names
    for status in names:
        canvas_score(GradeRow("s", HW, status, ""))
    with pytest.raises(ValueError, match="no Canvas grade"):
        canvas_score(GradeRow("s", HW, "confused", ""))


def test_utf8_non_ascii_commas_and_quotes(tmp_path):
    roster = {
        "jm": CanvasStudent(name="Müller, Jörg", sis_login_id="jm"),
        "zz": CanvasStudent(name='Zoë "Z" 张', sis_login_id="zz", section="Sección 1"),
    }
    rows = [graded("jm", {"test_base": 1.0}), graded("zz", {"test_base": 2.0})]
    write_canvas_csv(rows, tmp_path / "c.csv", roster=roster)
    raw = (tmp_path / "c.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    assert '"Müller, Jörg"' in text and '"Zoë ""Z"" 张"' in text
    table = read(tmp_path / "c.csv")
    assert [r[0] for r in table[2:]] == ["Müller, Jörg", 'Zoë "Z" 张']
    assert table[3][4] == "Sección 1"


def test_several_assignments_one_row_per_student(tmp_path):
    rows = [graded("alice", {"test_base": 2.0}), graded("alice", {"test_base": 1.0}, "01_cats_vs_dogs"),
            failed("bob", CRASHED, assignment="01_cats_vs_dogs")]
    write_canvas_csv(rows, tmp_path / "c.csv", points_possible={"01_cats_vs_dogs": 4})
    table = read(tmp_path / "c.csv")
    assert table[0][5:] == ["01_cats_vs_dogs", HW]
    assert table[1][5:] == ["4", "10"]
    # bob has no row for HW in this run: blank (no change), not a grade.
    assert [r[3:] for r in table[2:]] == [["alice", "", "1", "2"], ["bob", "", "0", ""]]


def test_points_possible_blank_when_nothing_was_graded(tmp_path):
    write_canvas_csv([failed("erin", MISSING)], tmp_path / "c.csv")
    assert read(tmp_path / "c.csv")[1][5] == ""


def test_two_rows_for_one_student_and_assignment_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="two grade rows"):
        write_canvas_csv([graded("alice", {}), failed("alice", CRASHED)], tmp_path / "c.csv")


def test_roster_from_a_canvas_export(tmp_path):
    export = tmp_path / "export.csv"
    export.write_bytes(
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Quiz (1)\n"
        "    Points Possible,,,,,10\n"
        '"Liddell, Alice",101,S-1,alice,Sec A,9\n'
        '"Müller, Jörg",102,S-2,jmuller@example.edu,Sec B,8\n'.encode())
    roster = read_canvas_roster(export).by_student_id()
    assert roster == {
        "alice": CanvasStudent("Liddell, Alice", "101", "S-1", "alice", "Sec A"),
        "jmuller@example.edu": CanvasStudent("Müller, Jörg", "102", "S-2", "jmuller@example.edu", "Sec B"),
    }
    write_canvas_csv([graded("alice", {"test_base": 2.0}), graded("bob", {})], tmp_path / "c.csv", roster=roster)
    table = read(tmp_path / "c.csv")
    assert table[2] == ["Liddell, Alice", "101", "S-1", "alice", "Sec A", "2"]
    assert table[3] == ["bob", "", "", "bob", "", "0"]  # not in the roster: matched by SIS Login ID

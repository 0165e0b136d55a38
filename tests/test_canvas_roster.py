"""Canvas's gradebook export, read as Canvas's importer reads it (canvas-lms lib/gradebook_importer.rb), in every
shape Canvas writes: with and without SIS columns, with LastName/FirstName, with read-only totals and comments,
with a byte-order mark, with semicolons."""

import pytest

from grader.canvas_roster import CanvasExportError, CanvasStudent, read_canvas_roster

FULL = ("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Horses or humans (4711),Current Score,"
        "Unposted Current Score,Final Score,Unposted Final Score\n"
        "    Points Possible,,,,,10.00,(read only),(read only),(read only),(read only)\n"
        '"Smith, Bob",340934,S-001,bob,Section A,,,,,\n'
        '"Müller, Jörg",340935,S-002,jmuller@example.edu,Section B,8.00,,,,\n'
        '"Student, Test",340999,,,Section A,,,,,\n')
# canvas-lms spec/fixtures/gradebooks: basic_course_with_sis_login_id.csv and
# valid_gradebook_contents_with_last_and_first_names.csv, with realistic values.
NO_SIS_USER = ("Student,ID,SIS Login ID,Section,Assignment 1,Comments,Final Score (read only)\n"
               "Points Possible,,,,10,,\n"
               '"Blend, Bill",6,bblend,My Course,,,\n'
               '"Farner, Todd",4,tfarner,My Course,9,,\n')
LAST_FIRST = ("LastName,FirstName,ID,SIS Login ID,Section,Assignment 1,Comments,Final Score (read only)\n"
              "Points Possible,,,,,10,,\n"
              '"Blend","Bill",6,bblend,My Course,,,\n')
NO_SIS = 'Student,ID,Section,05 Horses or Humans (4711)\nPoints Possible,,,10\n"Blend, Bill",6,My Course,\n'
SEMICOLON = ('Student;ID;SIS User ID;SIS Login ID;Section;Horses or humans (4711)\n'
             'Points Possible;;;;;10,00\n"Smith, Bob";340934;S-001;bob;Section A;7,50\n')
INTEGRATION = ("Student,ID,SIS User ID,SIS Login ID,Integration ID,Root Account,Section,Quiz (9)\n"
               '"Smith, Bob",340934,S-001,bob,int-1,canvas.example.edu,Section A,\n')


def export(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_the_full_export_with_a_bom_and_read_only_columns(tmp_path):
    roster = read_canvas_roster(export(tmp_path, FULL))
    assert roster.students == [
        CanvasStudent("Smith, Bob", "340934", "S-001", "bob", "Section A"),
        CanvasStudent("Müller, Jörg", "340935", "S-002", "jmuller@example.edu", "Section B"),
        CanvasStudent("Student, Test", "340999", "", "", "Section A"),
    ]
    assert roster.assignment_columns == ["Horses or humans (4711)"]
    # The nbgrader id: the SIS Login ID, else Canvas's user id (Canvas's test student has no SIS ids).
    assert [s.student_id for s in roster.students] == ["bob", "jmuller@example.edu", "340999"]
    assert set(roster.by_canvas_id()) == {"340934", "340935", "340999"}


@pytest.mark.parametrize("text, students, columns", [
    (NO_SIS_USER, [CanvasStudent("Blend, Bill", "6", "", "bblend", "My Course"),
                   CanvasStudent("Farner, Todd", "4", "", "tfarner", "My Course")], ["Assignment 1"]),
    (LAST_FIRST, [CanvasStudent("Bill Blend", "6", "", "bblend", "My Course")], ["Assignment 1"]),
    (NO_SIS, [CanvasStudent("Blend, Bill", "6", "", "", "My Course")], ["05 Horses or Humans (4711)"]),
    (SEMICOLON, [CanvasStudent("Smith, Bob", "340934", "S-001", "bob", "Section A")], ["Horses or humans (4711)"]),
    (INTEGRATION, [CanvasStudent("Smith, Bob", "340934", "S-001", "bob", "Section A")], ["Quiz (9)"]),
], ids=["no SIS User ID", "LastName FirstName", "no SIS columns", "semicolons", "integration id"])
def test_every_shape_canvas_writes(tmp_path, text, students, columns):
    roster = read_canvas_roster(export(tmp_path, text))
    assert roster.students == students
    assert roster.assignment_columns == columns


def test_the_assignment_column_is_found_by_its_title(tmp_path):
    roster = read_canvas_roster(export(tmp_path, FULL))
    assert roster.assignment_column("05_horses_or_humans") == "Horses or humans (4711)"
    assert roster.assignment_column("01_cats_vs_dogs") == ""
    assert read_canvas_roster(export(tmp_path, NO_SIS)).assignment_column("05_horses_or_humans") == \
        "05 Horses or Humans (4711)"


@pytest.mark.parametrize("text, message", [
    ("Name,Email\nBob,b@example.edu\n", "its first columns are 'Name', 'Email'"),
    ("Student,ID,SIS Login ID,Quiz (1)\n\"Smith, Bob\",1,bob,\n", "no 'Section' column"),
    ("Student,ID,Section,Quiz (1)\n\"Smith, Bob\",,A,\n", "row 2 (Smith, Bob): no ID and no SIS Login ID"),
    ("", "empty"),
], ids=["not an export", "no section", "a row without ids", "empty"])
def test_an_export_that_cannot_be_read_says_which_column(tmp_path, text, message):
    with pytest.raises(CanvasExportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_canvas_roster(export(tmp_path, text))

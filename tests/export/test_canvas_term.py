"""An instructor's term on Canvas, through `course autograde` and the real pipeline on the tiny course: Canvas's
download zipped as Canvas writes it and the gradebook export go in; the grades come out as Canvas's importer
reads them (canvas-lms lib/gradebook_importer.rb, re-stated below), and the feedback pages as a zip that
Canvas's "Upload Submissions" attaches to each student's hand-in."""

import csv
import re
import subprocess
import sys
import zipfile

from tests.autograde.test_isolation import plain_env
from tests.collect.test_canvas_collect import notebook

ASSIGNMENT = "a1"
EXPORT = ("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,A1 (4711),Current Score,Final Score\n"
          "    Points Possible,,,,,3.00,(read only),(read only)\n"
          '"Smith, Bob",340934,S-001,bob,Section A,,,\n'
          '"Müller, Jörg",340935,S-002,jmuller@example.edu,Section B,,,\n'
          '"Liddell, Alice",340936,,,Section B,,,\n'
          '"Student, Test",340999,,,Section A,,,\n')
CORRECT, WRONG = "def double(x):\n    return 2 * x", "def double(x):\n    return x"


# Canvas's importer, the parts that decide which student and which assignment a cell is for.
NON_ASSIGNMENT = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                            "Override Score|Override Grade|Override Status")


def canvas_import(path, export_rows):
    """[(Canvas user id the row matches, {assignment header: grade})] as gradebook_importer.rb reads `path`;
    `export_rows` are the course's students (their ID, SIS User ID, SIS Login ID and names)."""
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "row_has_student_headers?"
    n = 3
    sis_user = sis_login = None
    if re.search(r"SIS\s+Login\s+ID", header[n - 1]):
        sis_login, n = n - 1, n + 1
    elif re.search(r"SIS\s+User\s+ID", header[n - 1]) and re.search(r"SIS\s+Login\s+ID", header[n]):
        sis_user, sis_login, n = n - 1, n, n + 2
    assert "Section" in header[n - 1], "the last student column must be Section"
    assignments = [(i, h) for i, h in enumerate(header) if i >= n and not NON_ASSIGNMENT.search(h)]
    by_id = {r["ID"]: r for r in export_rows}
    matched = []
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            continue
        student = by_id.get(row[1])
        student = student or next((r for r in export_rows if sis_user is not None and row[sis_user] and
                                   r["SIS User ID"] == row[sis_user]), None)
        student = student or next((r for r in export_rows if sis_login is not None and row[sis_login] and
                                   r["SIS Login ID"] == row[sis_login]), None)
        student = student or next((r for r in export_rows if r["Student"] == row[0]), None)
        # A blank or "-" is no score (no change); "EX" (any case) excuses the student.
        grades = {h: "excused" if row[i].strip().casefold() == "ex" else row[i].strip()
                  for i, h in assignments if row[i].strip() not in ("", "-")}
        matched.append((student["ID"] if student else None, grades))
    return matched


def test_a_canvas_term_in_and_out(tiny_course, tmp_path):
    archive = tmp_path / "a1-submissions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("smithbob_340934_208490284_Copy of a1.ipynb", notebook(tiny_course, tmp_path, WRONG))
        z.writestr("smithbob_340934_208490290_a1-1.ipynb", notebook(tiny_course, tmp_path, CORRECT))
        z.writestr("müllerjörg_LATE_340935_208490300_a1.ipynb", notebook(tiny_course, tmp_path, CORRECT))
        z.writestr("liddellalice_340936_208490310_a1 (1).ipynb", notebook(tiny_course, tmp_path, WRONG))
        z.writestr("strangerx_999_208490301_a1.ipynb", notebook(tiny_course, tmp_path, CORRECT))
    export = tmp_path / "export.csv"
    export.write_bytes(EXPORT.encode())
    command = [sys.executable, "-m", "grader.cli", "autograde", ASSIGNMENT, str(archive), "--canvas-gradebook",
               str(export), "--late-penalty", "0.1", "--course", str(tiny_course.root)]
    run = subprocess.run(command, env=plain_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "not collected: " in run.stdout and "Canvas user 999 is not on the gradebook export" in run.stdout
    assert "the newest, attachment 208490290, is graded" in run.stdout
    assert "Canvas: grades in column 'A1 (4711)'" in run.stdout

    grades = {r["student"]: r for r in csv.DictReader(open(tiny_course.root / "grades.csv"))}
    assert {s: (r["status"], r["total"], r["late"]) for s, r in grades.items()} == {
        "bob": ("graded", "3.0", ""),
        "jmuller@example.edu": ("graded", "2.7", "late, 10% off"),  # 3 points, 10 % off for Canvas's late mark
        "340936": ("graded", "0.0", ""),  # no SIS Login ID: Canvas's user id
        "340999": ("missing", "0", ""),  # on the export, nothing handed in
    }
    page = (tiny_course.feedback("jmuller@example.edu", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    assert "handed in late (Canvas marks it late): 10% of the points are taken off" in page

    # canvas_grades.csv: Canvas's own identities and column, read back by the importer's rules.
    table = list(csv.reader(open(tiny_course.root / "canvas_grades.csv", encoding="utf-8")))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "A1 (4711)"]
    assert ["Müller, Jörg", "340935", "S-002", "jmuller@example.edu", "Section B", "2.7"] in table
    export_rows = [r for r in csv.DictReader(open(export, encoding="utf-8-sig")) if r["ID"]]
    imported = canvas_import(tiny_course.root / "canvas_grades.csv", export_rows)
    assert sorted(user for user, _ in imported) == ["340934", "340935", "340936", "340999"], \
        "every row matches exactly one student of the export"
    assert dict(imported) == {"340934": {"A1 (4711)": "3"}, "340935": {"A1 (4711)": "2.7"},
                              "340936": {"A1 (4711)": "0"}, "340999": {}}
    assert re.fullmatch(r"(.*)\s\((\d+)\)", table[0][5]).groups() == ("A1", "4711"), "Assignment.title_and_id"

    # The feedback pages, named after the graded attachment: Canvas takes the first two all-digit parts of a
    # name split at "_" as the user and the attachment (Assignment#infer_comment_context_from_filename).
    with zipfile.ZipFile(tiny_course.root / "feedback_for_canvas.zip") as z:
        names = sorted(z.namelist())
        assert "handed in late" in z.read(next(n for n in names if "_340935_" in n)).decode()
    attached = {tuple(p for p in name.split("_") if re.fullmatch(r"\d+", p))[:2] for name in names}
    assert attached == {("340934", "208490290"), ("340935", "208490300"), ("340936", "208490310")}

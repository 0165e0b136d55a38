"""Collecting: Colab's lost metadata comes back from the release, Colab's file names are
recognised, and every handed-in file ends collected or set aside with a reason."""

import copy
import json
import os
import shutil
import zipfile

import nbformat
import pytest

from grader import paths
from grader.collect.cells import restore_cells
from grader.collect.intake import collect
from grader.nbgrader_ext.collector import ColabCollectorPlugin, undecorated
from grader.notebooks import read_ipynb
from grader.result import MALFORMED

REAL = paths.NOTEBOOKS_DIR / "01_cats_vs_dogs.ipynb"
ASSIGNMENT = "a1"  # the tiny course of conftest.py


@pytest.fixture(scope="module")
def real():
    return read_ipynb(REAL)


def nbgrader_cells(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def stripped(nb, ids=False):
    """What Colab may hand back: no nbgrader metadata; with ids=True no cell ids either (nbformat 4.0)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    if ids:
        data = json.loads(nbformat.writes(nb))
        data["nbformat_minor"] = 0
        for cell in data["cells"]:
            del cell["id"]
        nb = nbformat.reads(json.dumps(data), as_version=4)
    return nb


def cell_with_source(nb, start):
    (cell,) = [c for c in nb.cells if c.source.startswith(start)]
    return cell


# restore_cells


@pytest.mark.parametrize("ids", [False, True], ids=["ids kept", "ids lost"])
def test_lost_metadata_is_restored_identical_to_the_release(real, ids):
    submitted = stripped(real, ids=ids)
    before = copy.deepcopy(submitted)
    restored, messages = restore_cells(submitted, real)
    assert submitted == before, "the input must not change"
    expected = nbgrader_cells(real)
    got = nbgrader_cells(restored)
    assert got.keys() == expected.keys()
    for name, cell in expected.items():
        assert got[name].metadata["nbgrader"] == cell.metadata["nbgrader"]
        assert got[name].id == cell.id == name
        assert got[name].source == cell.source
    assert messages == [f"restored nbgrader metadata of cell {name!r} (lost, e.g. by Colab)" for name in expected]
    nbformat.validate(restored)
    again, messages = restore_cells(restored, real)
    assert messages == [] and again == restored, "a second run finds nothing to restore"


def test_an_untouched_submission_yields_no_messages(real):
    restored, messages = restore_cells(real, real)
    assert messages == []
    assert restored == real


def test_a_skip_tag_stays_only_on_a_cell_the_release_skips_too(real):
    """Jupyter does not run a cell tagged skip-execution, and nbgrader gives a test that did not run its
    points (graded end to end in test_isolation.py): the tag comes off, unless the release skips that cell."""
    from grader.collect.cells import SKIP_TAG

    release = copy.deepcopy(real)
    colab_only = next(c for c in release.cells if c.cell_type == "code" and "nbgrader" not in c.metadata)
    colab_only.metadata["tags"] = [SKIP_TAG]
    submitted = copy.deepcopy(release)
    tests = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in tests:
        cell.metadata["tags"] = ["mine", SKIP_TAG]
    restored, messages = restore_cells(submitted, release)
    assert [c.metadata["tags"] for c in nbgrader_cells(restored).values() if "tags" in c.metadata] == \
        [["mine"]] * len(tests)
    assert cell_with_source(restored, colab_only.source).metadata["tags"] == [SKIP_TAG]
    assert len(messages) == len(tests) and all(SKIP_TAG in m and "every cell runs" in m for m in messages)


def test_edited_nbgrader_metadata_is_graded_as_the_releases(real):
    """nbgrader stops on a test cell made unlocked or ungraded, or a solution cell made a graded one (measured:
    `Inconsistent checksums`, `No such grade cell`, so the student's notebook crashed): the release's metadata
    goes back, and the edit is reported. A copy of an earlier release, whose checksums differ, is not."""
    submitted = copy.deepcopy(real)
    cells = nbgrader_cells(submitted)
    test = next(name for name, c in cells.items() if c.metadata["nbgrader"]["grade"]
                and c.metadata["nbgrader"]["locked"])
    solution = next(name for name, c in cells.items() if c.metadata["nbgrader"]["solution"])
    cells[test].metadata["nbgrader"].update(grade=False, locked=False, points=100)
    cells[solution].metadata["nbgrader"].update(grade=True, points=50)
    other = next(name for name in cells if name not in (test, solution))
    cells[other].metadata["nbgrader"]["checksum"] = "from-an-earlier-release"
    restored, messages = restore_cells(submitted, real)
    assert nbgrader_cells(restored).keys() == nbgrader_cells(real).keys()
    for name, cell in nbgrader_cells(real).items():
        assert nbgrader_cells(restored)[name].metadata["nbgrader"] == cell.metadata["nbgrader"], name
    assert messages == [f"edited nbgrader metadata of cell {solution!r} (grade, points): graded with the release's",
                        f"edited nbgrader metadata of cell {test!r} (grade, locked, points): graded with the release's"]


def test_edited_and_deleted_test_cells_are_reported_by_grade_id(real):
    submitted = copy.deepcopy(real)
    edited = cell_with_source(submitted, "assert model.output_shape")
    edited.source = "# I fixed the test\n" + edited.source
    submitted.cells = [c for c in submitted.cells if c.get("id") != "test_base_frozen"]
    restored, messages = restore_cells(submitted, real)
    assert messages == [
        "deleted cell 'test_base_frozen': added back from the release",
        "edited locked cell 'test_head_shape': graded with the release's version",
    ]
    assert cell_with_source(restored, "# I fixed the test").metadata["nbgrader"]["grade_id"] == "test_head_shape"


def test_without_metadata_or_ids_answers_are_found_among_scratch_cells(real):
    """Colab lost everything; the student answered, edited a test, deleted one and added scratch cells."""
    submitted = stripped(real, ids=True)
    for cell in submitted.cells:
        if cell.source == "# YOUR CODE HERE\nraise NotImplementedError()":
            cell.source = 'model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])'
            position = submitted.cells.index(cell)
    submitted.cells.insert(position, nbformat.v4.new_code_cell("print('trying things')"))
    submitted.cells.insert(position + 2, nbformat.v4.new_code_cell("model.summary()"))
    cell_with_source(submitted, "assert model.output_shape").source += "\nprint('extra')"
    submitted.cells.remove(cell_with_source(submitted, "assert base_model.trainable"))

    restored, messages = restore_cells(submitted, real)

    assert cell_with_source(restored, "model.compile(").metadata["nbgrader"]["grade_id"] == "compile"
    assert "nbgrader" not in cell_with_source(restored, "print('trying things')").metadata
    assert "nbgrader" not in cell_with_source(restored, "model.summary()").metadata
    assert "deleted cell 'test_base_frozen': added back from the release" in messages
    assert "edited locked cell 'test_head_shape': graded with the release's version" in messages
    assert set(nbgrader_cells(restored)) == set(nbgrader_cells(real)) - {"test_base_frozen"}
    nbformat.validate(restored)


# the collector plugin


def test_colab_names_are_taken_for_the_release_notebook():
    assert undecorated("Copy of 01_Cats_vs_dogs (1).ipynb") == "01_cats_vs_dogs"
    two = ColabCollectorPlugin(notebooks=["01_cats_vs_dogs.ipynb", "02_flowers.ipynb"])
    assert two.notebook_for("01_cats_vs_dogs.ipynb") == ("01_cats_vs_dogs.ipynb", "")
    assert two.notebook_for("Copy of 02_flowers (2).ipynb")[0] == "02_flowers.ipynb"
    assert two.notebook_for("homework.ipynb") == (
        "homework.ipynb", "'homework.ipynb' is not a notebook of this assignment"
    )
    one = ColabCollectorPlugin(notebooks=["01_cats_vs_dogs.ipynb"])
    assert one.notebook_for("homework.ipynb") == (
        "01_cats_vs_dogs.ipynb",
        "file name 'homework.ipynb' taken as '01_cats_vs_dogs.ipynb', the assignment's only notebook",
    )


# collect


def test_collect_a_zip_of_colab_downloads(tiny_course, tmp_path):
    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    released = read_ipynb(release)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"bob__{ASSIGNMENT}.ipynb", release.read_text())
        z.writestr(f"carl__Copy of {ASSIGNMENT}.ipynb", nbformat.writes(stripped(released, ids=True)))
        z.writestr("notes.txt", "my notes")
        z.writestr(f"dan__{ASSIGNMENT}.ipynb", '{"cells": [')

    result = collect(tiny_course, ASSIGNMENT, [archive])

    assert result.students == ["bob", "carl"]
    assert result.unmatched == ["class/notes.txt"]
    assert result.reasons == {"class/notes.txt": "not a notebook (.txt)"}
    assert [(r.student, r.status) for r in result.rejects] == [("dan", MALFORMED)]
    assert "not a valid Jupyter notebook" in result.rejects[0].reason
    assert result.rejects[0].reason.startswith(f"class/dan__{ASSIGNMENT}.ipynb: ")
    carl = read_ipynb(tiny_course.submitted("carl", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    assert nbgrader_cells(carl).keys() == nbgrader_cells(released).keys()
    for name, cell in nbgrader_cells(released).items():
        assert nbgrader_cells(carl)[name].metadata["nbgrader"] == cell.metadata["nbgrader"]
    assert result.changes["carl"][0] == (
        f"class/carl__Copy of {ASSIGNMENT}.ipynb: file name 'Copy of {ASSIGNMENT}.ipynb' taken as '{ASSIGNMENT}.ipynb'"
    )
    assert f"{ASSIGNMENT}.ipynb: restored nbgrader metadata of cell 'test_double' (lost, e.g. by Colab)" in (
        result.changes["carl"]
    )
    assert "bob" not in result.changes
    assert not tiny_course.submitted("dan", ASSIGNMENT).exists()
    kept = tiny_course.root / "rejected" / ASSIGNMENT / "class"
    assert sorted(p.name for p in kept.iterdir()) == [f"dan__{ASSIGNMENT}.ipynb", "notes.txt"]
    assert (kept / f"dan__{ASSIGNMENT}.ipynb").read_text() == '{"cells": ['


def bad_files(folder, release):
    """The bad inputs of test_grading.py, for the tiny assignment."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"xavier__{ASSIGNMENT}.ipynb").write_text('{"cells": [')  # cut-off JSON
    (folder / f"fin__{ASSIGNMENT}.ipynb").write_text(json.dumps({"hello": "world"}))  # JSON, not a notebook
    (folder / "gus-homework.ipynb").write_text(release.read_text())
    (folder / f"hal__{ASSIGNMENT}_final.ipynb").write_text(release.read_text())
    return folder


def test_bad_files_folders_duplicates_and_broken_zips(tiny_course, tmp_path):
    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    bad = bad_files(tmp_path / "bad", release)
    ivy = tmp_path / "ivy"
    ivy.mkdir()
    newer, older = ivy / f"ivy__{ASSIGNMENT} (1).ipynb", ivy / f"ivy__{ASSIGNMENT}.ipynb"  # nbgrader's order
    newer.write_text(release.read_text().replace("Write", "Newer"))
    older.write_text(release.read_text().replace("Write", "Older"))
    os.utime(newer, (1_700_000_000, 1_700_000_000))
    os.utime(older, (1_600_000_000, 1_600_000_000))
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")

    result = collect(tiny_course, ASSIGNMENT, [bad, ivy, tmp_path / "broken.zip"])

    assert result.students == ["hal", "ivy"]
    reasons = {r.student: r.reason for r in result.rejects}
    assert all(r.status == MALFORMED for r in result.rejects)
    assert reasons.keys() == {"xavier", "fin"}, "a file that names no student is no student's row"
    assert "not a valid Jupyter notebook" in reasons["xavier"]
    assert "not a valid Jupyter notebook" in reasons["fin"]
    assert "does not match <student>__<notebook>.ipynb" in result.reasons["bad/gus-homework.ipynb"]
    assert result.changes["hal"] == [
        f"bad/hal__{ASSIGNMENT}_final.ipynb: file name '{ASSIGNMENT}_final.ipynb' taken as '{ASSIGNMENT}.ipynb', "
        "the assignment's only notebook"
    ]
    assert result.unmatched == ["bad/gus-homework.ipynb", "broken.zip"]
    assert result.reasons["broken.zip"].startswith("not a readable zip archive")
    assert "Newer" in (tiny_course.submitted("ivy", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    assert f"handed in 2 files for {ASSIGNMENT}.ipynb: kept the newest, 'ivy/{newer.name}'" in (
        result.changes["ivy"][-1]
    )
    rejected = tiny_course.root / "rejected" / ASSIGNMENT
    kept = {p.relative_to(rejected).as_posix() for p in rejected.rglob("*") if p.is_file()}
    assert kept == {
        f"bad/xavier__{ASSIGNMENT}.ipynb", f"bad/fin__{ASSIGNMENT}.ipynb", "bad/gus-homework.ipynb",
        f"ivy/{older.name}", "broken.zip",
    }


def test_symbolic_links_are_set_aside_never_followed(tiny_course, tmp_path):
    """A student's repository (git keeps links) or an extracted tar can hold links: one to the instructor's
    source notebook would be graded as the student's own work, one to a folder would copy whatever it
    points to. Links in folders and links given as inputs are kept as links in rejected/, with the reason."""
    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    source = tiny_course.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    repos = tmp_path / "repos"
    (repos / "eve").mkdir(parents=True)
    (repos / "eve" / f"eve__{ASSIGNMENT}.ipynb").symlink_to(source)  # the instructor's solution
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / f"fay__{ASSIGNMENT}.ipynb").write_text(release.read_text())
    (repos / "fay").symlink_to(elsewhere, target_is_directory=True)
    (repos / "ann").mkdir()
    (repos / "ann" / f"ann__{ASSIGNMENT}.ipynb").write_text(release.read_text())
    given = tmp_path / f"gil__{ASSIGNMENT}.ipynb"
    given.symlink_to(source)

    result = collect(tiny_course, ASSIGNMENT, [repos, given])

    assert result.students == ["ann"]
    links = ["repos/eve/eve__a1.ipynb", "repos/fay", "gil__a1.ipynb"]
    assert sorted(result.unmatched) == sorted(links)
    for name in links:
        assert result.reasons[name].startswith("a symbolic link (to "), name
    assert all("links are not followed" in result.reasons[name] for name in links)
    assert result.rejects == [], "a link is no student's row"
    rejected = tiny_course.root / "rejected" / ASSIGNMENT
    assert all((rejected / name).is_symlink() for name in links)
    assert not tiny_course.submitted("eve", ASSIGNMENT).exists()
    assert not tiny_course.submitted("fay", ASSIGNMENT).exists()


def test_a_name_of_another_notebook_is_rejected_when_the_assignment_has_several(tiny_course, tmp_path):
    release = tiny_course.release(ASSIGNMENT)
    shutil.copy(release / f"{ASSIGNMENT}.ipynb", release / "b1.ipynb")
    bad = bad_files(tmp_path / "bad", release / f"{ASSIGNMENT}.ipynb")
    shutil.copy(release / "b1.ipynb", bad / "hal__Copy of B1.ipynb")

    result = collect(tiny_course, ASSIGNMENT, [bad])

    assert result.students == ["hal"]
    assert sorted(p.name for p in tiny_course.submitted("hal", ASSIGNMENT).glob("*.ipynb")) == ["b1.ipynb"]
    assert any(
        f"set aside bad/hal__{ASSIGNMENT}_final.ipynb: '{ASSIGNMENT}_final.ipynb' is not a notebook of this assignment"
        in change for change in result.changes["hal"]
    )


def test_a_pattern_with_a_folder_per_student(tiny_course, tmp_path):
    """As an LMS hands them: one folder per student, the notebook named anyhow."""
    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    for student, name in (("ada", f"Copy of {ASSIGNMENT}.ipynb"), ("bea", f"{ASSIGNMENT} (1).ipynb")):
        (tmp_path / "lms" / student).mkdir(parents=True)
        shutil.copy(release, tmp_path / "lms" / student / name)

    folder_per_student = r".*/lms/(?P<student_id>[^/]+)/(?P<file_id>[^/]+)$"
    result = collect(tiny_course, ASSIGNMENT, [tmp_path / "lms"], pattern=folder_per_student)

    assert result.students == ["ada", "bea"]
    assert result.rejects == [] and result.unmatched == []
    assert (tiny_course.submitted("bea", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").is_file()


def test_of_two_files_in_a_zip_the_newest_entry_is_kept(tiny_course, tmp_path):
    """nbgrader's extraction loses the zip entries' times; the plugin reads them from the archive."""
    text = (tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    newer = zipfile.ZipInfo(f"eve__{ASSIGNMENT} (1).ipynb", (2024, 3, 2, 9, 0, 0))  # sorted first
    older = zipfile.ZipInfo(f"eve__{ASSIGNMENT}.ipynb", (2024, 3, 1, 9, 0, 0))
    with zipfile.ZipFile(tmp_path / "eve.zip", "w") as z:
        z.writestr(newer, text.replace("Write", "Newer"))
        z.writestr(older, text.replace("Write", "Older"))

    result = collect(tiny_course, ASSIGNMENT, [tmp_path / "eve.zip"])

    assert result.students == ["eve"]
    assert "Newer" in (tiny_course.submitted("eve", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    assert result.changes["eve"][-1].startswith(f"handed in 2 files for {ASSIGNMENT}.ipynb: kept the newest")


def test_a_course_folder_moved_after_its_release_collects_into_itself(tiny_template, tmp_path):
    """nbgrader_config.json names the folder it was written in; a copied course must not collect there."""
    from grader.course_dir import CourseDir

    moved = CourseDir(tmp_path / "moved")
    shutil.copytree(tiny_template.root, moved.root)  # its config still names the template's folder
    notebook = tmp_path / "ann__a1.ipynb"
    shutil.copy(moved.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb", notebook)
    result = collect(moved, ASSIGNMENT, [notebook])
    assert result.students == ["ann"]
    assert (moved.submitted("ann", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").is_file()
    assert not tiny_template.submitted("ann", ASSIGNMENT).exists()


def test_control_characters_in_a_file_name_reach_no_terminal(tiny_course, tmp_path, capsys):
    """A name in a student's archive is the student's to choose: terminal escapes in it (cursor up, erase the
    line) would rewrite the grade table an instructor reads. What is printed shows them escaped."""
    from grader.cli import main
    from grader.export.report import GradeRow, format_table

    text = (tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    erase = "\x1b[1A\x1b[2K"
    with zipfile.ZipFile(tmp_path / "eve.zip", "w") as z:
        z.writestr(f"eve__{erase}mine.ipynb", text)
        z.writestr(f"{erase}nobody.ipynb", text)

    result = collect(tiny_course, ASSIGNMENT, [tmp_path / "eve.zip"])
    assert result.students == ["eve"] and any("\x1b" in change for change in result.changes["eve"])
    table = format_table([GradeRow("eve", ASSIGNMENT, "graded", "; ".join(result.changes["eve"]))])
    assert "\x1b" not in table and "\\x1b[1A" in table, table
    capsys.readouterr()
    assert main(["collect", ASSIGNMENT, str(tmp_path / "eve.zip"), "--course", str(tiny_course.root)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\\x1b[2K" in printed, printed


def test_names_as_students_machines_write_them(tiny_course, tmp_path):
    """A macOS zip stores names decomposed (NFD); Windows and Colab composed (NFC): one student, the newer file
    graded. Names in other scripts, with apostrophes and spaces, are collected; none is lost."""
    import unicodedata
    import zipfile

    from grader.cli import read_roster_file

    release = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    text = release.read_text()
    composed = unicodedata.normalize("NFC", "renée")
    decomposed = unicodedata.normalize("NFD", "renée")
    assert composed != decomposed
    mac = tmp_path / "from_a_mac.zip"
    with zipfile.ZipFile(mac, "w") as archive:
        entry = zipfile.ZipInfo(f"class/{decomposed}__{ASSIGNMENT}.ipynb", date_time=(2026, 1, 2, 10, 0, 0))
        archive.writestr(entry, text.replace("Write", "Older"))
    colab = tmp_path / f"{composed}__Copy of {ASSIGNMENT}.ipynb"
    colab.write_text(text.replace("Write", "Newer"))
    os.utime(colab, (1_800_000_000, 1_800_000_000))
    others = ["o'brien", "josé maría", "李雷", "प्रिया", "zoë-ann.smith"]
    loose = []
    for name in others:
        loose.append(tmp_path / f"{unicodedata.normalize('NFD', name)}__{ASSIGNMENT}.ipynb")
        loose[-1].write_text(text)

    result = collect(tiny_course, ASSIGNMENT, [mac, colab, *loose])

    assert result.unmatched == [], result.reasons
    assert sorted(result.students) == sorted([composed, *(unicodedata.normalize("NFC", n) for n in others)])
    assert "Newer" in (tiny_course.submitted(composed, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb").read_text()
    assert any("kept the newest" in change for change in result.changes[composed]), result.changes
    roster = tmp_path / "roster.txt"
    roster.write_text(f"# typed on Windows\n{composed}\r\njosé maría\r\n\r\n{decomposed}\n", encoding="utf-8")
    assert read_roster_file(roster) == [composed, "josé maría", composed]

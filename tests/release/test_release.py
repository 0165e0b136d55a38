"""The release carries no solution, no hidden test and no source, and stays in sync with solutions/."""

import json
import re
import shutil

import pytest

from grader import paths
from grader.notebooks import read_source
from grader.release.build import assignments, compare
from grader.release.how_graded import graded_cell_points, how_graded_markdown
from grader.spec import spec_for

NAMES = assignments()
BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


def code_lines(text):
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 12 and not line.strip().startswith("#")}


def secret_lines(name):
    """Every meaningful line the students must not see: solution code and hidden tests, less the lines
    that the source also gives away elsewhere (a `model.compile(` in a given cell is no secret)."""
    text = (paths.SOLUTIONS_DIR / f"{name}.py").read_text()
    hidden = set().union(*(code_lines(body) for _, body in BLOCK.findall(text)))
    lines = hidden - code_lines(BLOCK.sub("", text))
    assert lines, f"{name} has no solution or hidden-test code to protect"
    return lines


def released_texts(course, notebooks, name):
    yield notebooks / f"{name}.py", (notebooks / f"{name}.py").read_text()
    for path in (notebooks / f"{name}.ipynb", course.release(name) / f"{name}.ipynb"):
        nb = json.loads(path.read_text())
        yield path, "\n".join("".join(c["source"]) for c in nb["cells"])


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_or_hidden_test_reaches_the_release(released, name):
    course, notebooks = released
    secrets = secret_lines(name)
    for path, text in released_texts(course, notebooks, name):
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, path
        leaked = sorted(secrets & {line.strip() for line in text.splitlines()})
        assert not leaked, f"{path} leaks: {leaked[:3]}"
        assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("name", NAMES)
def test_release_holds_only_the_student_notebook(released, name):
    course, notebooks = released
    assert sorted(p.name for p in course.release(name).iterdir()) == [f"{name}.ipynb"]
    for path in paths.NOTEBOOKS_DIR.iterdir():
        assert path.read_bytes() != (paths.SOLUTIONS_DIR / f"{name}.py").read_bytes(), path


@pytest.mark.parametrize("name", NAMES)
def test_colab_copy_opens_on_gpu_with_badge_and_setup(released, name):
    _, notebooks = released
    nb = json.loads((notebooks / f"{name}.ipynb").read_text())
    assert nb["metadata"]["accelerator"] == "GPU"
    assert "colab.research.google.com/github/" in "".join(nb["cells"][0]["source"])
    assert "google.colab" in "".join(nb["cells"][1]["source"])
    graded = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")]
    assert graded and all(c["id"] == c["metadata"]["nbgrader"]["grade_id"] for c in graded)


def test_committed_notebooks_match_their_sources(released):
    """`course release --check` compares a fresh release with notebooks/; the session's release is one."""
    assert compare(released[1], paths.NOTEBOOKS_DIR) == []


def test_check_catches_a_hand_edited_notebook(released, tmp_path):
    edited = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS_DIR, edited)
    target = edited / f"{NAMES[0]}.py"
    target.write_text(target.read_text().replace("raise NotImplementedError()", "pass", 1))
    (edited / "99_orphan.py").write_text("# %%\n")
    problems = compare(released[1], edited)
    assert any(f"{NAMES[0]}.py differs" in p for p in problems)
    assert any("99_orphan.py has no source" in p for p in problems)


# Words for the course's developers, not its students: no lesson and no "How this notebook is graded" uses them.
BACKSTAGE = re.compile(r"\b(CI|nbval|calibrat\w*|tripwire|sandbox|AST|mirror)\b|data/calibration|grader puts")


@pytest.mark.parametrize("name", NAMES)
def test_how_graded_gives_each_test_one_line(name):
    points = graded_cell_points(read_source(paths.SOLUTIONS_DIR / f"{name}.py"))
    text = how_graded_markdown(name, points)
    lines = [line for line in text.splitlines() if line.startswith("- `")]
    assert [line.split("`")[1] for line in lines] == list(points), "one line per test, in notebook order"
    for check in spec_for(name).checks if spec_for(name) else []:
        if "threshold" in check.params:
            line = next(line for line in lines if line.startswith(f"- `{check.test}`"))
            assert f"{check.params['threshold']}" in line, f"{check.test}: the line does not name its threshold"
    assert "first test cell with hidden tests" in text
    assert "flagged for your instructor" in text and "never flagged" in text
    assert not BACKSTAGE.search(text), BACKSTAGE.search(text)


@pytest.mark.parametrize("name", NAMES)
def test_lessons_speak_to_the_student(name):
    text = (paths.NOTEBOOKS_DIR / f"{name}.py").read_text()
    found = BACKSTAGE.search(text)
    assert not found, f"notebooks/{name}.py says {found.group(0)!r}: move it to docs/lessons.md"

"""The similarity report: disguised copies (names changed, cells reordered, comments changed) rank above the
mark, answers written apart stay below it; the release's own lines never count; shared model mistakes are
ranked by how unlikely they are for independent models; bad inputs say what is wrong."""

import json
import math
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import jupytext
import pytest

from conftest import uncollected_copy
from grader.autograde.writer import GradebookWriter
from grader.notebooks import read_ipynb, write_ipynb
from grader.review.answers import Answer
from grader.review.code_similarity import SIMILAR, fingerprints, rank_code_pairs
from grader.review.model_similarity import SURPRISING, _tail, rank_model_pairs

HW = "05_horses_or_humans"
PLACEHOLDER = re.compile(r"[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)")
FIXTURES = Path(__file__).parents[1] / "fixtures" / "similarity"
SOLUTION = Path(__file__).parents[2] / "solutions" / f"{HW}.py"
RELEASE = Path(__file__).parents[2] / "notebooks" / f"{HW}.ipynb"
COPIES = {("copy_of_solution", "solution"), ("copy_of_honest_c", "honest_c")}


def solution_cells() -> list[str]:
    """The solution's code in its three answer cells (what a student types between the release's lines)."""
    cells = []
    for cell in jupytext.read(SOLUTION).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cells += re.findall(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", cell.source, re.S)
    return cells


def fixture_answers() -> list[Answer]:
    answers = [Answer("solution", "\n".join(solution_cells()))]
    return answers + [Answer(p.stem, p.read_text()) for p in sorted(FIXTURES.glob("*.txt"))]


def release_code() -> str:
    return "\n".join(c.source for c in read_ipynb(RELEASE).cells if c.cell_type == "code")


def test_disguised_copies_rank_above_the_mark_and_answers_written_apart_below_it():
    pairs = rank_code_pairs(fingerprints(fixture_answers(), release_code()))
    scores = {tuple(sorted((p.first, p.second))): p.similarity for p in pairs}
    copies = [scores[tuple(sorted(pair))] for pair in COPIES]
    honest_names = ["solution", "honest_b", "honest_c", "honest_d"]
    honest = [scores[tuple(sorted(pair))] for pair in combinations(honest_names, 2)]
    assert min(copies) >= SIMILAR > max(honest), (copies, honest)
    assert {(p.first, p.second) for p in pairs[:2]} == {tuple(sorted(pair)) for pair in COPIES}
    # The separation docs/similarity.md quotes: copies at 0.98, answers written apart at 0.18 at most.
    assert min(copies) > 0.9 and max(honest) < 0.3


def test_the_release_lines_never_count():
    given = release_code()
    starter = "\n".join(line for line in given.splitlines() if "augment" in line or "CUT_LAYER =" in line)
    prints = fingerprints([Answer("a", starter), Answer("b", starter + "\n")], given)
    (pair,) = rank_code_pairs(prints)
    assert pair.similarity == 0.0


def test_shared_mistakes_rank_by_how_unlikely_they_are():
    n = 256
    same = {"photos": n, "wrong": {"3": 0, "17": 1, "200": 0}}
    mistakes = {
        "ann": {"test_acc": same}, "ben": {"test_acc": dict(same)},  # the same three mistakes
        "cat": {"test_acc": {"photos": n, "wrong": {"3": 0, "90": 1, "91": 1}}},  # one in common with ann, by chance
        "dan": {"test_acc": {"photos": n, "wrong": {}}},  # no mistake: no evidence either way
    }
    pairs = rank_model_pairs(mistakes)
    assert (pairs[0].first, pairs[0].second, pairs[0].shared) == ("ann", "ben", 3)
    assert pairs[0].surprise >= SURPRISING > max(p.surprise for p in pairs[1:])
    assert pairs[0].expected == pytest.approx(9 / 256)
    assert all(p.surprise == 0 for p in pairs if "dan" in (p.first, p.second))
    # The tail against counting every way the second model can place its mistakes.
    assert _tail(10, 3, 2, 1) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    assert _tail(256, 3, 3, 3) == pytest.approx(1 / math.comb(256, 3))


def handed_in(folder: Path, student: str, cells: list[str]) -> Path:
    """The release with `cells` typed into its three answer cells in place of "YOUR CODE HERE"."""
    nb = read_ipynb(RELEASE)
    answer_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for cell, code in zip(answer_cells, cells, strict=True):
        # The placeholder's own indent goes: each answer brings its own (the callback's lines are indented).
        cell.source = PLACEHOLDER.sub(lambda _, code=code: code, cell.source)
    path = folder / f"{student}__{HW}.ipynb"
    write_ipynb(nb, path)
    return path


@pytest.fixture
def course_05(released, tmp_path):
    """A course folder with 05 released and nothing collected, of this test's own."""
    return uncollected_copy(released[0], tmp_path)


def test_course_similarity_on_a_collected_class(course_05, tmp_path):
    from grader.collect.intake import collect

    folder = tmp_path / "in"
    folder.mkdir()
    solution = solution_cells()
    copy = (FIXTURES / "copy_of_solution.txt").read_text().split("# ---\n")
    copy = [copy[1], copy[2], copy[0]]  # its cells back in the notebook's order: cut_base, head, callback
    honest = (FIXTURES / "honest_b.txt").read_text().split("# ---\n")
    hostile = [honest[0] + '\nname = "</pre><script>alert(1)</script>"', honest[1], honest[2]]
    files = [handed_in(folder, "ann", solution), handed_in(folder, "ben", copy), handed_in(folder, "cat", hostile),
             handed_in(folder, "eve", ["# YOUR CODE HERE\nraise NotImplementedError()"] * 3)]
    assert collect(course_05, HW, files).students == ["ann", "ben", "cat", "eve"]
    # The journal as autograde leaves it: ann's and ben's models made the same mistakes, cat crashed.
    answers = {"photos": 256, "wrong": {"5": 1, "77": 0}}
    with open(GradebookWriter(course_05).journal, "a") as journal:
        for student, status in (("ann", "graded"), ("ben", "graded"), ("cat", "crashed")):
            check = {"test": "test_validation_accuracy", "check": "held_out_accuracy", "passed": True,
                     "message": "", "answers": answers}
            journal.write(json.dumps({"student": student, "assignment": HW, "status": status, "sha256": "",
                                      "checks": [check]}) + "\n")

    run = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", HW, "--course", str(course_05.root)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    page = course_05.root / f"similarity_{HW}.html"
    assert f"similarity report: {page}" in run.stdout
    lines = run.stdout.splitlines()
    assert re.match(r"code\s+\d+%\s+ann and ben", next(line for line in lines if line.startswith("code"))), lines
    assert "not compared: eve: no code of its own in the answer cells" in run.stdout
    text = page.read_text()
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    top = re.search(r"<tr class='over'><td>1</td><td><a href='#code-1'>ann and ben</a></td><td>(\d+)%", text)
    assert top and int(top.group(1)) >= SIMILAR * 100
    assert "id='code-1'" in text and "<mark>" in text.split("id='code-1'")[1]
    assert "No measured model: cat" in text
    assert re.search(r"<tr class='over'><td>1</td><td>ann and ben</td><td>test_validation_accuracy", text)


def test_a_class_of_one_says_so(course_05, tmp_path):
    from grader.collect.intake import collect

    folder = tmp_path / "in"
    folder.mkdir()
    collect(course_05, HW, [handed_in(folder, "ann", solution_cells())])
    run = subprocess.run([sys.executable, "-m", "grader.cli", "similarity", HW, "--course", str(course_05.root)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "1 student(s) collected" in run.stderr and "two at least" in run.stderr, run.stderr


def test_the_graded_examples_are_compared_by_their_code_and_their_measured_models(graded_on_one_pool, released):
    """On the graded examples' class: the mistakes the grader measured reach the journal and the report."""
    from grader.result import GRADED
    from grader.review.similarity_report import similarity

    _, results = graded_on_one_pool
    measured = {r.student: c["answers"] for r in results[HW] if r.status == GRADED
                for c in r.checks if c.get("answers")}
    assert len(measured) >= 2, "graded examples with a measured model"
    found = similarity(released[0], HW)
    pairs = {(p.first, p.second): p for p in found.models}
    for first, second in combinations(sorted(measured), 2):
        pair = pairs[first, second]
        assert pair.photos == measured[first]["photos"] and pair.mistakes[0] == len(measured[first]["wrong"])


def test_code_with_nothing_matched_is_shown_unmarked():
    """copydetect gives an empty array when two answers share nothing beyond the release."""
    import numpy as np

    from grader.review.code_similarity import marked

    assert marked("x = 1\n", np.array([])) == [("x = 1\n", False)]
    assert marked("abcdef", [np.array([1]), np.array([3])]) == [("a", False), ("bc", True), ("def", False)]

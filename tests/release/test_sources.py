"""The solution sources teach and grade the way the course promises."""

import re

import pytest

from grader import paths
from grader.notebooks import grade_id, read_source
from grader.release.build import assignments

NAMES = assignments()


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("name", NAMES)
def test_every_code_cell_follows_a_markdown_cell(name):
    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    for previous, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code":
            assert previous.cell_type == "markdown", f"{name}: code cell {cell['id']} has no markdown before it"


@pytest.mark.parametrize("name", NAMES)
def test_graded_cells_are_well_formed(name):
    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    ids = [grade_id(c) for c in nb.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), f"{name}: duplicate grade_id"
    tests = [c for c in nb.cells if nbgrader(c).get("grade")]
    solutions = [c for c in nb.cells if nbgrader(c).get("solution")]
    assert tests and solutions
    for cell in tests:
        assert nbgrader(cell)["points"] > 0 and nbgrader(cell)["locked"]
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests), f"{name}: no hidden tests"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_sets_seeds_and_profiles(name):
    text = (paths.SOLUTIONS_DIR / f"{name}.py").read_text()
    assert re.search(r"set_random_seed\(", text), "seeds must be set for reproducible grading"
    assert "COURSE_PROFILE" in text, "the CPU/full profile must be overridable"


@pytest.mark.parametrize("name", NAMES)
def test_every_test_is_confirmed_by_a_check_of_the_graders(name):
    """A flagged notebook's kernel may report a pass it did not earn: its points then rest on the grader's own
    checks (data/grading.toml), so every test cell needs one, or it would earn nothing there."""
    from grader.spec import spec_for

    nb = read_source(paths.SOLUTIONS_DIR / f"{name}.py")
    tests = {grade_id(c) for c in nb.cells if nbgrader(c).get("grade")}
    spec = spec_for(name)
    checked = {check.test for check in spec.checks} if spec else set()
    assert tests <= checked, f"{name}: no grader check for {sorted(tests - checked)}"


def test_every_check_of_the_course_is_registered_and_exists():
    """data/grading.toml names checks of the one registry (grader/checks/registry.py), and each registered
    check is a function of its module."""
    from grader.checks.registry import REGISTRY
    from grader.spec import spec_for

    for name in NAMES:
        spec = spec_for(name)
        for check in spec.checks if spec else []:
            assert check.check in REGISTRY, f"{name}: {check.check} is not a registered check"
    for check in REGISTRY.values():
        assert callable(check.function()), check

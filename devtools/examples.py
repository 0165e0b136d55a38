"""Example submissions built from the release and the solution, with the points each must earn."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import tomllib

from grader import paths
from grader.notebooks import read_ipynb, read_source

MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)


@dataclass(frozen=True)
class ExampleSubmission:
    student: str
    assignment: str
    notebook: nbformat.NotebookNode
    expected: dict[str, float]
    # "solution" (must get full marks), "untouched" (must get zero), "mutant" (breaks one thing) or
    # "variant" (a correct alternative to the solution: must get full marks too).
    kind: str = "mutant"
    # False: graded by `course roundtrip` (`make grade-all`) but not in `make test`'s pool, for its time there.
    in_pool: bool = True


def _is_solution_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def solved(released: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release with each solution cell replaced by the source's answer, as a student would type it."""
    answers = {cell["id"]: MARKER.sub("", cell.source) for cell in source.cells if _is_solution_cell(cell)}
    nb = copy.deepcopy(released)
    for cell in nb.cells:
        if _is_solution_cell(cell):
            cell.source = answers[cell["id"]]
    return nb


def _is_instructor_code(cell) -> bool:
    """A code cell of the release that is neither a solution nor a test (set-up, profiles, plots)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and not meta.get("solution") and not meta.get("grade")


def apply_replacements(nb: nbformat.NotebookNode, replacements: list[list[str]], where: str,
                       setup: bool = False) -> None:
    """Each [old, new] once in the solution cells (or, with `setup`, in the instructor's other code cells)."""
    cells, kind = (_is_instructor_code, "set-up") if setup else (_is_solution_cell, "solution")
    for old, new in replacements:
        hits = [cell for cell in nb.cells if cells(cell) and old in cell.source]
        count = sum(cell.source.count(old) for cell in hits)
        if count != 1:
            raise ValueError(f"{where}: {old!r} occurs {count} times in the {kind} cells, expected once")
        hits[0].source = hits[0].source.replace(old, new)


def example_setup(assignment: str, examples_dir: Path | None = None) -> list[list[str]]:
    """The top-level `setup_replace` of an assignment's examples: ungraded work trimmed for every example."""
    spec_file = (examples_dir or paths.EXAMPLES_DIR) / f"{assignment}.toml"
    if not spec_file.exists():
        return []
    with open(spec_file, "rb") as f:
        return tomllib.load(f).get("setup_replace", [])


def load_examples(assignment: str, release_notebook: Path, examples_dir: Path | None = None) -> list[ExampleSubmission]:
    """The example submissions of `assignment`, or [] when it has none."""
    spec_file = (examples_dir or paths.EXAMPLES_DIR) / f"{assignment}.toml"
    if not spec_file.exists():
        return []
    with open(spec_file, "rb") as f:
        spec = tomllib.load(f)
    released = read_ipynb(release_notebook)
    source = read_source(paths.SOLUTIONS_DIR / f"{assignment}.py")
    examples = []
    # `setup_replace` at the top of the file: for every example, ungraded work trimmed (a fixture).
    every = spec.get("setup_replace", [])
    for entry in spec["submission"]:
        base = solved(released, source) if entry["from"] == "solution" else copy.deepcopy(released)
        apply_replacements(base, entry.get("replace", []), f"{spec_file} [{entry['student']}]")
        # A test fixture, not the student's edit: fewer epochs where the mutant's points do not depend on
        # how long it trains (a base wrecked in one epoch stays wrecked), so the suite stays fast.
        apply_replacements(base, [*every, *entry.get("setup_replace", [])], f"{spec_file} [{entry['student']}]",
                           setup=True)
        kind = entry.get("kind") or (
            "untouched" if entry["from"] == "release" else ("mutant" if entry.get("replace") else "solution"))
        if kind not in ("solution", "untouched", "mutant", "variant"):
            raise ValueError(f"{spec_file} [{entry['student']}]: unknown kind {kind!r}")
        examples.append(ExampleSubmission(entry["student"], assignment, base, dict(entry["expected"]), kind,
                                          entry.get("pool", True)))
    return examples


def mutation_score(examples: list[ExampleSubmission], totals: dict[str, float], full_marks: float) -> tuple[int, int]:
    """(mutants caught, mutants): a mutant is caught when it earns less than full marks."""
    mutants = [e for e in examples if e.kind == "mutant"]
    caught = [e for e in mutants if totals.get(e.student, full_marks) < full_marks]
    return len(caught), len(mutants)

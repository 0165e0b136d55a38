"""05's callback test confirmed outside the grading kernel: the student's cell, re-run by the grader in a
fresh process on probes, for the solution, the graded mutant, the untouched release and a hang."""

import pytest

from grader import paths
from grader.grading import code_checks
from grader.grading.code_checks import callback_stops_at_target
from grader.grading.examples import load_examples
from grader.notebooks import write_ipynb

ASSIGNMENT = "05_horses_or_humans"
PARAMS = {"cell": "callback", "class": "StopAtAccuracy"}


@pytest.fixture(scope="module")
def examples():
    return {e.student: e for e in load_examples(ASSIGNMENT, paths.NOTEBOOKS_DIR / f"{ASSIGNMENT}.ipynb")}


def _check(example_nb, tmp_path):
    write_ipynb(example_nb, tmp_path / "handed_in.ipynb")
    return callback_stops_at_target(PARAMS, tmp_path / "handed_in.ipynb", tmp_path)


def test_the_solutions_callback_passes(examples, tmp_path):
    ok, message = _check(examples["ada_solution"].notebook, tmp_path)
    assert ok, message
    assert "fresh process" in message


def test_a_callback_that_sets_the_flag_on_itself_fails(examples, tmp_path):
    ok, message = _check(examples["dee_callback_never_stops"].notebook, tmp_path)
    assert not ok and "accuracy 0.95 with target 0.95: stop_training=False" in message


def test_the_untouched_callback_fails_with_the_reason(examples, tmp_path):
    ok, message = _check(examples["bo_untouched"].notebook, tmp_path)
    assert not ok and "NotImplementedError" in message


def test_a_callback_that_hangs_is_stopped(examples, tmp_path, monkeypatch):
    monkeypatch.setattr(code_checks, "PROBE_TIMEOUT_SECONDS", 20)
    nb = examples["ada_solution"].notebook
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "callback")
    cell.source = cell.source.replace("accuracy = (logs or {}).get", "while True:\n            pass\n"
                                      "        accuracy = (logs or {}).get")
    ok, message = _check(nb, tmp_path)
    assert not ok and "did not finish within 20 s" in message


def test_a_cell_cannot_plant_the_file_another_probe_job_is_judged_on(tmp_path):
    """02's two cells run in one child: the first one writes a correct head where the second job saves
    its result, and the second cell is left unsolved. The planted file earns nothing."""
    from grader.spec import spec_for

    nb = next(e for e in load_examples("02_flowers", paths.NOTEBOOKS_DIR / "02_flowers.ipynb")
              if e.student == "bo_untouched").notebook
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "inception_base")
    cell.source = ("import json\nfrom pathlib import Path\n"
                   "for job in json.loads(Path(open('/proc/self/cmdline').read().split(chr(0))[3]).read_text()):\n"
                   "    if job['cell'] == 'build_head':\n"
                   "        Path(job['out']).mkdir(parents=True, exist_ok=True)\n"
                   "        i = keras.Input((8,))\n"
                   "        h = keras.Model(i, keras.layers.Dense(5, activation='softmax')(i))\n"
                   "        h.compile(loss=keras.losses.SparseCategoricalCrossentropy())\n"
                   "        h.save(Path(job['out']) / 'built.keras')\n"
                   "        print('PLANTED')\n")
    write_ipynb(nb, tmp_path / "handed_in.ipynb")
    checks = list(spec_for("02_flowers").checks)
    code_checks.prefetch_cell_probes(checks, tmp_path / "handed_in.ipynb")
    params = next(c.params for c in checks if c.check == "head_fits_sparse_labels")
    ok, message = code_checks.head_fits_sparse_labels(params, tmp_path / "handed_in.ipynb", tmp_path)
    assert not ok and "NotImplementedError" in message, message

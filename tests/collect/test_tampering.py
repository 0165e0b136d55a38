"""Code that can change how the grading kernel reports a test is flagged and earns only what the grader's own
checks confirm, with the reason shown; ordinary code is never flagged. The two measured exploits (nbgrader
0.9.6 awards full points after `set_custom_exc`; an AST transformer that turns `assert` into `pass`) and their
variants, through the real pipeline."""

import copy
from pathlib import Path

import nbformat
import pytest

from devtools.examples import apply_replacements, example_setup
from grader.autograde.class_run import autograde
from grader.collect.tampering import scan
from grader.export.report import grade_rows
from grader.notebooks import read_ipynb, write_ipynb
from grader.release.build import assignments
from grader.result import GRADED
from tests.autograde.test_isolation import ASSIGNMENT, handed_in, plain_env

SWALLOW_ERRORS = "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: 0)\n"
ASSERT_TO_PASS = '''import ast
class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_NoAsserts())
'''
# Each can change how the kernel reports a test (tests/tampering_exploits.py makes each one hide a wrong answer
# from plain nbgrader and reports what it earned).
EXPLOITS = {
    "custom_exc": SWALLOW_ERRORS,
    "assert_to_pass": ASSERT_TO_PASS,
    "hidden_name": 'getattr(get_ipython(), "set_" + "custom_exc")((BaseException,), print)\n',
    "shell_kept": "shell = get_ipython()\nshell.set_custom_exc((BaseException,), print)\n",
    "input_transformer": "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n",
    "event_callback": "get_ipython().events.register('pre_run_cell', print)\n",
    "trace_hook": "import sys\nsys.settrace(None)\n",
    "trace_hook_by_name": "from sys import settrace\nsettrace(None)\n",
    "thread_trace": "import threading\nthreading.settrace(print)\n",
    "excepthook": "import sys as s\ns.excepthook = print\n",
    "displayhook": "import sys\nsys.displayhook = print\n",
    "import_machinery": "import sys\nsys.modules['numpy'] = None\nsys.meta_path.insert(0, object())\n",
    "patched_builtins": "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n",
    "dunder_builtins": "__builtins__.print = None\n",
    "rebound_builtin": "def isinstance(*args):\n    return True\n",
    "patched_module": "import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n",
    "module_setattr": "import numpy as np\nsetattr(np, 'allclose', print)\n",
    "globals_by_string": "globals()['len'] = print\n",
    "exec_string": "exec('import sy' + 's')\n",
    "pickled_code": "import pickle\npickle.loads(b'')\n",
    "frames": "import sys\nsys._getframe(1).f_locals['x'] = 1\n",
    "rewritten_code": "def f():\n    pass\nf.__code__ = (lambda: 1).__code__\n",
    # Code that runs inside a hidden test (a replaced predict) could print the test's source from these.
    "reads_history": "def spy():\n    print(In[-1])\n",
    "history_magic": "%history -n\n",
    "run_magic": "%run helper.py\n",
    "shell_config": "%config InteractiveShell.ast_node_interactivity = 'none'\n",
}
# Ordinary student code, one cell per construct found in real students' notebooks of this kind of coursework
# and in the lines the issue names; written for this test (docs/grading.md gives the measurement).
ORDINARY = Path(__file__).parents[1] / "fixtures" / "ordinary_student_cells.txt"


def ordinary_cells() -> list[str]:
    """The corpus's cells: each block after a "# ---- " line."""
    return [block.split("\n", 1)[1] for block in ORDINARY.read_text().split("\n# ---- ")[1:]]


def _solution_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


@pytest.mark.parametrize("name", EXPLOITS)
def test_every_exploit_is_found_in_the_cell_that_holds_it(tiny_course, name):
    release_nb = read_ipynb(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    nb = copy.deepcopy(release_nb)
    _solution_cell(nb).source = EXPLOITS[name] + "def double(x):\n    return 0\n"
    # Tests that rely on builtins and a library, as the course's do (04's hidden test calls np.allclose).
    tests = copy.deepcopy(release_nb)
    next(c for c in tests.cells if c.metadata.get("nbgrader", {}).get("grade")).source = (
        "import numpy as np\nassert isinstance(double(2), int) and np.allclose(double(2.0), 4.0)")
    findings = scan(nb, release_nb, tests)
    assert findings and all(f.cell == nb.cells.index(_solution_cell(nb)) + 1 for f in findings), findings


def test_ordinary_code_shell_commands_and_magics_are_not_flagged(tiny_course):
    """Every cell of the ordinary corpus, in the solution cell and as a new cell after it: nothing is flagged."""
    release_nb = read_ipynb(tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    cells = ordinary_cells()
    assert len(cells) >= 40
    for source in cells:
        nb = copy.deepcopy(release_nb)
        _solution_cell(nb).source = source + "\ndef double(x):\n    return x + x\n"
        nb.cells.append(nbformat.v4.new_code_cell(source))
        assert scan(nb, release_nb) == [], source


def test_a_colab_download_with_its_set_up_cell_is_not_flagged(tiny_course, tmp_path):
    """The Colab copy students open adds a set-up cell (imports sys, importlib, subprocess): it is the
    instructor's, and the same lines typed by the student are ordinary too; a hook beside them is not."""
    from grader.autograde.plan import tampering_findings
    from grader.release.colab import SETUP_CELL, to_colab

    release_path = tiny_course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    nb = to_colab(read_ipynb(release_path), release_path.name)
    _solution_cell(nb).source = "def double(x):\n    return x + x"
    write_ipynb(nb, tmp_path / "ann__a1.ipynb")
    assert tampering_findings(tmp_path / "ann__a1.ipynb", release_path) == []
    _solution_cell(nb).source = SETUP_CELL + "\nprint(sys.version)\n" + _solution_cell(nb).source
    write_ipynb(nb, tmp_path / "ann__a1.ipynb")
    assert tampering_findings(tmp_path / "ann__a1.ipynb", release_path) == []
    _solution_cell(nb).source = "import sys\nsys.settrace(None)\n" + _solution_cell(nb).source
    write_ipynb(nb, tmp_path / "ann__a1.ipynb")
    assert [str(f) for f in tampering_findings(tmp_path / "ann__a1.ipynb", release_path)] == [
        f"cell {nb.cells.index(_solution_cell(nb)) + 1} uses `sys.settrace`"]


def test_exploits_beside_an_honest_submission_earn_nothing_and_say_why(tiny_course, tmp_path):
    """Each exploit hides a wrong answer (nbgrader alone would count the failing tests as passed). The flagged
    notebooks are run; the tiny course has no grader checks, so no test of theirs is confirmed: 0 points, and
    the feedback and grades say which cell and what."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann_honest", "def double(x):\n    return x + x")]
    for name in ("custom_exc", "assert_to_pass"):
        files.append(handed_in(tiny_course, folder, f"cheat_{name}", EXPLOITS[name] + "def double(x):\n    return 0"))
    rows = {r.student: r for r in grade_rows(tiny_course, autograde(tiny_course, ASSIGNMENT, files,
                                                                    plain_env(tmp_path), workers=2))}
    assert rows["ann_honest"].status == GRADED and rows["ann_honest"].total == 3
    for name in ("custom_exc", "assert_to_pass"):
        row = rows[f"cheat_{name}"]
        assert row.status == GRADED and row.total == 0, (row.points, row.reason)
        assert "flagged for review: cell" in row.reason and "get_ipython()" in row.reason
        feedback = (tiny_course.feedback(row.student, ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
        assert "Code like this can change how the grading kernel reports test results" in feedback
        # The summary at the top: every test failed, the reason in the note above the table.
        summary = feedback[feedback.index('class="grading-summary"'):feedback.index("</table>")]
        assert "<b>Note:</b> flagged for review: cell" in summary and "see the note above" in summary
        assert "passed</td>" not in summary


@pytest.fixture(scope="module")
def course(released):
    return released[0]


# 05's callback cell, as a hostile student writes it for the grader's probes (probes.py): outside the kernel it
# looks for the held-out photos among its box's mounts and puts what it finds into its error, which reaches
# the feedback. Nothing in it trips the static check, so the notebook is run and the probes with it.
SNOOP_PROBES = """import os
import sys

if "ipykernel" not in sys.modules:  # the grading kernel has it; the grader's probes do not
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
    found = [name for path in mounts if "held_out" in path or "validation" in path
             for _, _, names in os.walk(path) for name in names][:5]
    raise RuntimeError("SNOOPED " + " ".join(found))
"""
SNOOPED = "05_horses_or_humans"


def exploit_files(course, folder, examples=None):
    """Both measured exploits added to the untouched copy of every notebook: the graded examples' untouched
    hand-in (its file rewritten, so no second run of the same notebook), or, for an assignment without
    examples here, a copy of the release. Flagged, run, and confirmed by nothing, a kernel that reports every
    test passed earns only what the grader's own checks find. And 05's release with a callback cell that
    snoops from inside the grader's probes: the files to add, per assignment."""
    files = {}
    for assignment in assignments():
        release_nb = read_ipynb(course.release(assignment) / f"{assignment}.ipynb")
        student = hooked_student(examples or {}, assignment)
        if student == HOOKED:
            nb = copy.deepcopy(release_nb)
            # The graded examples' trims of ungraded work (submissions/examples/*.toml's setup_replace).
            apply_replacements(nb, example_setup(assignment), f"{assignment} exploits", setup=True)
            files[assignment] = [folder / f"{HOOKED}__{assignment}.ipynb"]
        else:
            nb = copy.deepcopy(next(e.notebook for e in examples[assignment] if e.student == student))
            files[assignment] = []
        cell = _solution_cell(nb)
        cell.source = EXPLOITS["custom_exc"] + EXPLOITS["assert_to_pass"] + cell.source
        write_ipynb(nb, folder / f"{student}__{assignment}.ipynb")
        if assignment == SNOOPED:
            nb = copy.deepcopy(release_nb)
            next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "callback").source = \
                SNOOP_PROBES
            files[assignment].append(folder / f"snoop_probes__{assignment}.ipynb")
            write_ipynb(nb, files[assignment][-1])
    return files


HOOKED = "cheat_hooks"


def hooked_student(examples: dict, assignment: str) -> str:
    """Who hands in the untouched notebook with the exploits: the untouched example, or HOOKED."""
    return next((e.student for e in examples.get(assignment, []) if e.kind == "untouched"), HOOKED)


@pytest.fixture(scope="module")
def exploits_graded(graded_on_one_pool):
    """The exploits' results, graded on the session's one pool beside the graded examples (conftest.py)."""
    examples, results = graded_on_one_pool
    return {assignment: [r for r in rows if r.student == hooked_student(examples, assignment)]
            for assignment, rows in results.items()}


@pytest.mark.parametrize("assignment", assignments())
def test_the_measured_exploits_on_every_untouched_release_earn_zero(course, exploits_graded, assignment):
    """Run through the real pipeline, every test reported passed by the kernel, and zero points: the grader's
    own checks find nothing done. The flag and the cell are in the grades."""
    (row,) = grade_rows(course, exploits_graded[assignment])
    assert row.status == GRADED and row.points and row.total == 0, (row.student, row.points, row.reason)
    assert "flagged for review: cell" in row.reason and "set_custom_exc" in row.reason


def test_the_graders_probes_cannot_see_the_held_out_photos(course, graded_on_one_pool):
    """The snooping cell runs in the probes' box (its error reaches the feedback: the test is not vacuous), and
    that box has no held-out photo to name: not one of their file names is in the feedback or the notebook."""
    from grader import paths
    from grader.spec import spec_for

    held_out = spec_for(SNOOPED).held_out_dir(paths.mirror_dir())
    if held_out is None or not held_out.is_dir():
        pytest.skip("no asset mirror here: 05's held-out photos do not exist")
    _, results = graded_on_one_pool
    (result,) = [r for r in results[SNOOPED] if r.student == "snoop_probes"]
    assert result.status == GRADED, result.reason
    feedback = (course.feedback("snoop_probes", SNOOPED) / f"{SNOOPED}.html").read_text()
    graded = (course.autograded("snoop_probes", SNOOPED) / f"{SNOOPED}.ipynb").read_text()
    callback = next(c for c in result.checks if c["check"] == "callback_stops_at_target")
    assert not callback["passed"] and "SNOOPED" in callback["message"], callback
    assert "SNOOPED" in feedback
    names = {photo.name for photo in held_out.rglob("*") if photo.is_file()}
    assert len(names) > 100
    assert not [n for n in names if n in feedback or n in graded or n in callback["message"]]

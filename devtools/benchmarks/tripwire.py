"""What the tampering tripwire's constructs can do to plain nbgrader, and what it flags in real notebooks.

    python -m devtools.benchmarks.tripwire exploits [--only NAME ...]
    python -m devtools.benchmarks.tripwire corpus DIR

`exploits`: a tiny nbgrader course in a temporary folder (a1 is tests/conftest.py's `tiny_source()`:
`double(x)`, a visible test worth 2 points `assert double(2) == 4`, a hidden one worth 1; a2 and a3 ask
the same but their tests call `np.allclose` and the builtin `abs`, for the constructs that patch what a
test calls). Each construct the tripwire flags (grader/collect/tampering.py) is written as a working
exploit in front of a wrong answer (`def double(x): return 0`) and handed in as one student; nbgrader's
own `autograde` grades each assignment's students in one process (no tripwire, no sandbox, no grader
checks), and the gradebook says what the wrong answer earned out of 3. Controls: the wrong answer alone
(0/3) and the right one (3/3). Each row also says whether the tripwire flags the notebook (scan() against
the release, with the source's hidden tests as production does) and whether the hidden test's source
reached the output of the hidden test's cell (a leak: plain nbgrader's feedback shows that output).

Why: the tripwire is only worth its false positives for constructs that can change what nbgrader
records; this measures each one instead of arguing it.

`corpus DIR`: every .ipynb under DIR scanned as if its author wrote every cell (release: an empty
notebook; tests: every grade cell of the course's seven solutions), to count the notebooks and owners
(the file name's first `__`-separated part) an honest class would see flagged, and by what.
"""

from __future__ import annotations

import argparse
import ast
import marshal
import pickle
import tempfile
import textwrap
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from grader import paths
from grader.collect.tampering import Finding, scan
from grader.course_dir import CourseDir
from grader.notebooks import assign_cell_ids, read_source, write_ipynb

WRONG = "def double(x):\n    return 0\n"
RIGHT = "def double(x):\n    return 2 * x\n"
HIDDEN_TEST_LINE = "double(-1)"  # in every assignment's hidden test, and nowhere in what students see
# set_custom_exc alone is not enough in nbgrader 0.9.6: run_code records the error in the execution result,
# ipykernel's reply says "error", and nbgrader's Execute.on_cell_executed adds an error output from the reply
# when none was shown ("ERROR: An error occurred while showtraceback was disabled"). The handler shows nothing
# and clears the recorded error through the traceback it is given (its first frame is run_code's).
HIDE_ONLY = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)"
HANDLER = ("lambda shell, etype, value, tb, tb_offset=None: "
           "setattr(tb.tb_frame.f_locals['result'], 'error_in_exec', None)")
SWALLOW = f"get_ipython().set_custom_exc((BaseException,), {HANDLER})"
SWALLOW_IMPORTED = "from IPython import get_ipython\n" + SWALLOW + "\n"
NO_ASSERTS = """import ast
class _NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
"""
# The tests of each assignment: (visible test worth 2, hidden test worth 1). a1 is conftest's tiny course.
TESTS = {
    "a1": ('assert double(2) == 4, "double(2) should be 4"\nprint("ok")', "assert double(-1) == -2"),
    "a2": ("import numpy as np\nassert np.allclose(double(2.0), 4.0)",
           "import numpy as np\nassert np.allclose(double(-1.0), -2.0)"),
    "a3": ("assert abs(double(2) - 4) < 1e-9", "assert abs(double(-1) + 2) < 1e-9"),
}


def _cell(source: str, **nbgrader: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    meta = {"grade": False, "locked": False, "schema_version": 3, "solution": False, "task": False}
    cell.metadata["nbgrader"] = {**meta, **nbgrader}
    return cell


def tiny_source(assignment: str = "a1") -> nbformat.NotebookNode:
    """tests/conftest.py's tiny_source() (copied: tests/ is not importable from an installed grader), with
    the tests of `assignment`: one solution cell, a visible test (2 points), a hidden test (1 point)."""
    visible, hidden = TESTS[assignment]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {assignment}\nWrite `double`."),
        _cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
              grade_id="double", solution=True),
        _cell(visible, grade_id="test_double", grade=True, locked=True, points=2),
        _cell(f"# Hidden test: negative numbers.\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS",
              grade_id="test_hidden", grade=True, locked=True, points=1),
    ]
    assign_cell_ids(nb)
    return nb


class _Payload:
    """Unpickled, it runs SWALLOW: pickle calls what __reduce__ names, here exec."""

    def __reduce__(self) -> tuple:
        return exec, (SWALLOW_IMPORTED,)


def _marshalled_hook() -> bytes:
    """SWALLOW as a function's code object: types.FunctionType runs it with no exec or eval in sight."""
    module = compile("def hook():\n" + textwrap.indent(SWALLOW_IMPORTED, "    "), "<payload>", "exec")
    return marshal.dumps(next(c for c in module.co_consts if hasattr(c, "co_code")))


# sys.settrace's working exploit: IPython's run_code catches a cell's error in a bare `except:` that records it
# in the execution result (whose error nbgrader copies into the cell from the kernel's reply) and shows the
# traceback (the error output nbgrader reads). A line-event tracer on run_code jumps from the first line of
# that `except:` to `return outflag`: neither happens.
TRACER = """import linecache

def _lines(code):
    first = code.co_firstlineno
    body = linecache.getlines(code.co_filename)[first - 1:first + 80]
    record = first + next(i for i, l in enumerate(body) if "result.error_in_exec = sys.exc_info()[1]" in l)
    back = first + next(i for i, l in enumerate(body) if l.strip() == "return outflag")
    return record - 1, back  # from `if result is not None:` to `return outflag`

def _in_run_code(frame, event, arg):
    if event == "line" and frame.f_lineno == _JUMP[0]:
        frame.f_lineno = _JUMP[1]
    return _in_run_code

def _tracer(frame, event, arg):
    if frame.f_code.co_name == "run_code" and frame.f_code.co_filename.endswith("interactiveshell.py"):
        if not _JUMP:
            _JUMP.extend(_lines(frame.f_code))
        return _in_run_code
    return None

_JUMP = []
"""


@dataclass(frozen=True)
class Exploit:
    name: str
    assignment: str
    solution: str  # the solution cell's source
    extra: tuple[str, ...] = ()  # cells the student adds after it
    note: str = ""  # what the exploit does, for the table


def exploits() -> list[Exploit]:
    """Controls, then one working exploit per construct the tripwire flags (several where the construct
    has more than one way in), each hiding WRONG (the event_callback and frames rows: a `double` that returns
    0 but for the value it read from the test about to run)."""
    pickled = pickle.dumps(_Payload())
    marshalled = _marshalled_hook()
    no_asserts_config = NO_ASSERTS + "%config InteractiveShell.ast_transformers = [_NoAsserts()]\n"
    rows = []
    for assignment in TESTS:
        rows += [Exploit(f"control: wrong answer ({assignment})", assignment, WRONG, note="no exploit"),
                 Exploit(f"control: right answer ({assignment})", assignment, RIGHT, note="no exploit")]
    return rows + [
        Exploit("custom_exc (handler shows nothing)", "a1", HIDE_ONLY + "\n" + WRONG,
                note="set_custom_exc with `lambda *args, **kwargs: None`"),
        Exploit("custom_exc", "a1", SWALLOW + "\n" + WRONG,
                note="set_custom_exc; the handler clears the recorded error (tb.tb_frame)"),
        Exploit("assert_to_pass", "a1", NO_ASSERTS + "get_ipython().ast_transformers.append(_NoAsserts())\n" + WRONG,
                note="AST transformer: assert -> pass"),
        Exploit("hidden_name", "a1", 'getattr(get_ipython(), "set_" + "custom_exc")((BaseException,), '
                f"{HANDLER})\n" + WRONG, note="set_custom_exc named by a computed string"),
        Exploit("shell_kept", "a1", "shell = get_ipython()\nshell.set_custom_exc((BaseException,), "
                f"{HANDLER})\n" + WRONG, note="the shell kept in a variable"),
        Exploit("input_transformer", "a1", "get_ipython().input_transformers_post.append(\n"
                "    lambda lines: ['pass\\n'] if any(l.lstrip().startswith('assert') for l in lines) else lines)\n"
                + WRONG, note="a cell with an assert becomes `pass`"),
        Exploit("event_callback", "a1", "import re\n_asked = {}\n\ndef _read_the_test(info):\n"
                "    for arg, expected in re.findall(r'double\\((-?\\d+)\\) == (-?\\d+)', info.raw_cell):\n"
                "        _asked[int(arg)] = int(expected)\n\n"
                "get_ipython().events.register('pre_run_cell', _read_the_test)\n\n"
                "def double(x):\n    return _asked.get(x, 0)\n",
                note="pre_run_cell reads each test before it runs; double returns 0 but for what it asks"),
        Exploit("event_callback (post_run_cell)", "a1", "get_ipython().events.register('post_run_cell', "
                "lambda result: setattr(result, 'error_in_exec', None))\n" + WRONG,
                note="post_run_cell clears the recorded error (the traceback is still shown)"),
        Exploit("trace_hook", "a1", TRACER + "import sys\nsys.settrace(_tracer)\n" + WRONG,
                note="sys.settrace: jumps from run_code's `except:` past recording and showing the error"),
        Exploit("trace_hook_by_name", "a1", TRACER + "from sys import settrace\nsettrace(_tracer)\n" + WRONG,
                note="the same, `from sys import settrace`"),
        Exploit("thread_trace", "a1", TRACER + "import threading\nthreading.settrace(_tracer)\n" + WRONG,
                note="threading.settrace with the same tracer"),
        Exploit("excepthook", "a1", "import sys\nsys.excepthook = lambda *args: None\n" + WRONG,
                note="sys.excepthook silenced"),
        Exploit("displayhook", "a1", "import sys\nsys.displayhook = lambda value: None\n" + WRONG,
                note="sys.displayhook silenced"),
        Exploit("import_machinery (sys.modules)", "a2", "import sys, types\n_fake = types.ModuleType('numpy')\n"
                "_fake.allclose = lambda *args, **kwargs: True\nsys.modules['numpy'] = _fake\n" + WRONG,
                note="the test's `import numpy` gets a fake"),
        Exploit("import_machinery (sys.meta_path)", "a2",
                "import importlib.abc, importlib.util, sys\n\n"
                "class _Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
                "    def find_spec(self, name, path, target=None):\n"
                "        return importlib.util.spec_from_loader(name, self) if name == 'numpy' else None\n"
                "    def create_module(self, spec):\n        return None\n"
                "    def exec_module(self, module):\n"
                "        module.allclose = lambda *args, **kwargs: True\n\n"
                "sys.meta_path.insert(0, _Fake())\nsys.modules.pop('numpy', None)\n" + WRONG,
                note="a finder serves a fake numpy (numpy dropped from sys.modules)"),
        Exploit("patched_builtins (AssertionError)", "a1", "import builtins\n"
                "builtins.AssertionError = type('AssertionError', (Exception,), {})\n" + WRONG,
                note="builtins.AssertionError replaced"),
        Exploit("patched_builtins (abs)", "a3", "import builtins\nbuiltins.abs = lambda x: 0\n" + WRONG,
                note="builtins.abs replaced"),
        Exploit("patched_builtins (builtins.__dict__)", "a3",
                "import builtins\nbuiltins.__dict__['abs'] = lambda x: 0\n" + WRONG,
                note="builtins.__dict__['abs'] replaced"),
        Exploit("dunder_builtins", "a3", "__builtins__.abs = lambda x: 0\n" + WRONG,
                note="__builtins__.abs replaced"),
        Exploit("rebound_builtin", "a3", "def abs(x):\n    return 0\n" + WRONG, note="`def abs` at top level"),
        Exploit("patched_module", "a2", "import numpy as np\nnp.allclose = lambda *args, **kwargs: True\n" + WRONG,
                note="np.allclose replaced"),
        Exploit("module_setattr", "a2", "import numpy as np\nsetattr(np, 'allclose', lambda *args, **kwargs: True)\n"
                + WRONG, note="setattr(np, 'allclose', ...)"),
        Exploit("globals_by_string", "a3", "globals()['abs'] = lambda x: 0\n" + WRONG,
                note="globals()['abs'] = ..."),
        Exploit("exec_string", "a1", f"exec(bytes.fromhex('{SWALLOW.encode().hex()}').decode())\n" + WRONG,
                note="exec of a hex string that is SWALLOW"),
        Exploit("pickled_code", "a1", f"import pickle\npickle.loads({pickled!r})\n" + WRONG,
                note="pickle payload whose __reduce__ is (exec, (SWALLOW,))"),
        Exploit("marshal + types.FunctionType", "a1",
                f"import marshal, types\ntypes.FunctionType(marshal.loads({marshalled!r}), globals())()\n" + WRONG,
                note="SWALLOW as marshalled code, run as a function"),
        Exploit("frames", "a1", "import linecache, re, sys\n\ndef double(x):\n"
                "    caller = sys._getframe(1)\n"
                "    line = linecache.getline(caller.f_code.co_filename, caller.f_lineno)\n"
                "    asked = re.search(r'== *(-?\\d+)', line)\n"
                "    return int(asked.group(1)) if asked else 0\n",
                note="double reads the expected value from its caller's line; 0 otherwise"),
        Exploit("frames (inspect)", "a1", "import inspect, linecache, re\n\ndef double(x):\n"
                "    caller = inspect.currentframe().f_back\n"
                "    line = linecache.getline(caller.f_code.co_filename, caller.f_lineno)\n"
                "    asked = re.search(r'== *(-?\\d+)', line)\n"
                "    return int(asked.group(1)) if asked else 0\n",
                note="the same through inspect.currentframe().f_back"),
        Exploit("rewritten_code", "a2", "import numpy as np\n"
                "np.allclose._implementation.__code__ = (lambda *args, **kwargs: True).__code__\n" + WRONG,
                note="np.allclose's implementation rewritten in place through __code__"),
        Exploit("gc (finds the shell)", "a1", "import gc\n"
                "_shell = next(o for o in gc.get_objects() if type(o).__name__ == 'ZMQInteractiveShell')\n"
                f"_shell.set_custom_exc((BaseException,), {HANDLER})\n" + WRONG,
                note="the shell found among gc's objects, no get_ipython()"),
        # CPython 3.11's int: ob_size at 16, the first digit at 24; 0 has size 0.
        Exploit("ctypes", "a1", "import ctypes\nfor n in (4, -2):  # the cached small ints the tests compare with\n"
                "    ctypes.memmove(id(n) + 16, id(0) + 16, 12)  # ob_size and first digit: now 0\n" + WRONG,
                note="ctypes makes the interpreter's cached 4 and -2 equal to 0"),
        Exploit("runpy", "a1", f"import runpy\nopen('hook_runpy.py', 'w').write({SWALLOW_IMPORTED!r})\n"
                "runpy.run_path('hook_runpy.py')\n" + WRONG, note="runpy.run_path of a file with SWALLOW"),
        Exploit("run_magic", "a1", "%%writefile hook.py\n" + SWALLOW_IMPORTED, extra=("%run hook.py\n" + WRONG,),
                note="%%writefile a file with SWALLOW, %run it (next cell)"),
        Exploit("shell_config (ast_node_interactivity)", "a1",
                "%config InteractiveShell.ast_node_interactivity = 'none'\n" + WRONG,
                note="%config ast_node_interactivity = 'none'"),
        Exploit("shell_config (ast_transformers)", "a1", no_asserts_config + WRONG,
                note="%config installs the assert -> pass transformer"),
        Exploit("reads_history (_ih)", "a1", "def double(x):\n    print(_ih[-1])\n    return 0\n",
                note="double prints the cell that called it"),
        Exploit("reads_history (In)", "a1", "def double(x):\n    print(In[-1])\n    return 0\n",
                note="the same through In"),
        Exploit("history_magic", "a1", "def double(x):\n    %history\n    return 0\n",
                note="double runs %history"),
    ]


# Why a construct earned nothing here, for the rows that did (measured with nbgrader 0.9.6, ipykernel 7.4,
# IPython 9.19, Python 3.11): printed under the table only for a row that earned less than 3.
WHY = {
    "custom_exc (handler shows nothing)": "the traceback is hidden, but run_code has recorded the error, the "
    "kernel's reply says error, and nbgrader's Execute.on_cell_executed adds the reply's error as an output when "
    "none was shown (\"ERROR: An error occurred while showtraceback was disabled\"); a handler that also clears "
    "the recorded error (custom_exc) earns 3/3",
    "event_callback (post_run_cell)": "the reply says ok, but the traceback was already sent as an error output, "
    "which is what nbgrader reads",
    "thread_trace": "threading.settrace reaches only threads started after it, and the kernel runs every cell on "
    "its main thread, already running (Python 3.11 has no threading.settrace_all_threads): no working exploit here",
    "excepthook": "IPython never calls sys.excepthook for a cell's error (run_code puts its own in place while the "
    "cell runs and reports through showtraceback): no working exploit here",
    "displayhook": "sys.displayhook only receives the values of expression statements; a failing assert is "
    "reported by showtraceback (nbgrader's partial credit from a numeric result applies only to a cell without "
    "an error): no working exploit here",
    "patched_builtins (AssertionError)": "the assert statement raises the interpreter's own AssertionError, not "
    "the name in builtins; patching a builtin the tests call works (the abs rows)",
    "ctypes": "the cached small ints are the kernel's too: its message parser fails on the next request, the cell "
    "times out, and nbgrader removes the submission (no grade); no gentler ctypes exploit found",
    "shell_config (ast_node_interactivity)": "it changes which values are displayed, not how errors are reported; "
    "%config installing an AST transformer works (next row)",
    "reads_history (_ih)": "history cannot change a result: the hidden test's source reaches its cell's output",
    "reads_history (In)": "as above",
    "history_magic": "as above",
}


@dataclass
class Row:
    exploit: Exploit
    earned: str = "not graded"
    flagged: str = ""
    leak: bool = False


def _student(exploit: Exploit) -> str:
    """A student id nbgrader accepts, one per exploit."""
    return "".join(c if c.isalnum() else "_" for c in exploit.name).strip("_")


def _submitted(release: nbformat.NotebookNode, exploit: Exploit) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(release)
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells[index].source = exploit.solution
    for offset, source in enumerate(exploit.extra, start=1):
        added = nbformat.v4.new_code_cell(source)
        added.id = f"added-{offset}"
        nb.cells.insert(index + offset, added)
    return nb


def _hidden_output(autograded: Path) -> str:
    """The text the hidden test's cell printed in the autograded notebook."""
    if not autograded.is_file():
        return ""
    nb = nbformat.read(autograded, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_hidden")
    return "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def _describe(findings: list[Finding]) -> str:
    return "; ".join(str(f) for f in findings) if findings else "no"


def run_exploits(only: list[str] | None = None, keep: Path | None = None) -> list[Row]:
    """Build the course, hand in every exploit, autograde each assignment once with plain nbgrader.

    `keep`: build the course there and leave it (to read the autograded notebooks), not in a temporary folder.
    """
    from nbgrader.api import Gradebook, MissingEntry

    chosen = [e for e in exploits() if not only or any(o in e.name for o in only)]
    rows = [Row(e) for e in chosen]
    with tempfile.TemporaryDirectory(prefix="tripwire-") as tmp:
        course = CourseDir((keep or Path(tmp)).resolve() / "course")
        # A cell that hangs (the ctypes row breaks its kernel) is given up after 20 s, not the course's ten minutes.
        course.write_config(cell_timeout=20)
        for assignment in sorted({e.assignment for e in chosen}):
            write_ipynb(tiny_source(assignment), course.source(assignment) / f"{assignment}.ipynb")
            result = course.nbgrader("generate_assignment", assignment, "--force", "--create")
            if result.returncode:
                raise SystemExit(f"generate_assignment {assignment} failed:\n{result.stdout}{result.stderr}")
        for row in rows:
            e = row.exploit
            release = nbformat.read(course.release(e.assignment) / f"{e.assignment}.ipynb", as_version=4)
            nb = _submitted(release, e)
            write_ipynb(nb, course.submitted(_student(e), e.assignment) / f"{e.assignment}.ipynb")
            source = nbformat.read(course.source(e.assignment) / f"{e.assignment}.ipynb", as_version=4)
            row.flagged = _describe(scan(nb, release, source))
        for assignment in sorted({e.assignment for e in chosen}):
            # nbgrader's own autograde, every student of the assignment in one process.
            result = course.nbgrader("autograde", assignment, "--force")
            (course.root / f"autograde-{assignment}.log").write_text(result.stdout + result.stderr)
            if result.returncode:  # nbgrader goes on past a student it cannot grade, and exits 1 at the end
                failed = [line for line in (result.stdout + result.stderr).splitlines()
                          if "There was an error processing assignment" in line]
                print(f"autograde {assignment} exited {result.returncode}: " + "; ".join(failed or ["see its log"]))
        with Gradebook(course.gradebook_url) as gradebook:
            for row in rows:
                e, student = row.exploit, _student(row.exploit)
                try:
                    submission = gradebook.find_submission(e.assignment, student)
                    row.earned = f"{submission.score:g}/{submission.max_score:g}"
                except MissingEntry:
                    row.earned = "not graded"
                autograded = course.autograded(student, e.assignment) / f"{e.assignment}.ipynb"
                if not autograded.is_file():  # nbgrader gave up on it (its log says why): no grade to read
                    row.earned = "failed"
                hidden = _hidden_output(autograded)
                row.leak = HIDDEN_TEST_LINE in hidden
    return rows


def print_exploits(rows: list[Row]) -> None:
    width = max(len(r.exploit.name) for r in rows)
    print(f"{'construct':<{width}}  asg  earned  leak  flagged by the tripwire | what the exploit does")
    for row in rows:
        e = row.exploit
        print(f"{e.name:<{width}}  {e.assignment:<3}  {row.earned:<6}  {'yes' if row.leak else 'no':<4}  "
              f"{row.flagged} | {e.note}")
    unearned = [row for row in rows if row.earned != "3/3" and row.exploit.name in WHY]
    if unearned:
        print("\nwhy these earned nothing:")
    for row in unearned:
        print(f"  {row.exploit.name}: {WHY[row.exploit.name]}")


def course_tests() -> nbformat.NotebookNode:
    """Every grade cell of the course's seven solutions, as one notebook of tests."""
    tests = nbformat.v4.new_notebook()
    for source in sorted((paths.REPO_ROOT / "solutions").glob("0*.py")):
        tests.cells += [c for c in read_source(source).cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    return tests


def run_corpus(folder: Path) -> None:
    """Scan every notebook under `folder` as its author's own work; print what is flagged and for whom."""
    tests, release = course_tests(), nbformat.v4.new_notebook()
    notebooks = sorted(folder.rglob("*.ipynb"))
    owners = {nb: nb.name.split("__")[0] for nb in notebooks}
    by_construct: dict[str, set[Path]] = defaultdict(set)
    flagged, unreadable = set(), []
    cells = unparsed = 0
    for path in notebooks:
        try:
            with warnings.catch_warnings():  # old notebooks without cell ids: nbformat adds them, and says so
                warnings.simplefilter("ignore")
                nb = nbformat.read(path, as_version=4)  # not validated: real notebooks often are not, yet run
        except Exception as error:  # any unreadable file is counted, not fatal
            unreadable.append(f"{path.name}: {type(error).__name__}")
            continue
        # The scan skips a cell that is not Python once IPython has turned its magics into calls (it fails
        # when it runs): counted, so that "nothing flagged" is known to rest on cells that were read.
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cells += 1
                try:
                    ast.parse(TransformerManager().transform_cell(cell.source))
                except (SyntaxError, ValueError):
                    unparsed += 1
        for finding in scan(nb, release, tests):
            by_construct[finding.construct].add(path)
            flagged.add(path)
    print(f"{len(notebooks)} notebooks of {len(set(owners.values()))} owners under {folder}; "
          f"{len(unreadable)} unreadable; {cells} code cells, {unparsed} not Python (not read); "
          f"{len(tests.cells)} test cells from solutions/")
    print(f"flagged: {len(flagged)} notebooks of {len({owners[p] for p in flagged})} owners")
    print("notebooks  owners  construct")
    for construct, found in sorted(by_construct.items(), key=lambda item: (-len(item[1]), item[0])):
        print(f"{len(found):>9}  {len({owners[p] for p in found}):>6}  {construct}")
    for line in unreadable:
        print(f"unreadable: {line}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    measured = modes.add_parser("exploits", help="each construct's exploit graded by plain nbgrader")
    measured.add_argument("--only", nargs="*", help="only exploits whose name contains one of these")
    measured.add_argument("--keep", type=Path, help="build the course in this folder and leave it there")
    corpus = modes.add_parser("corpus", help="scan real notebooks and count what is flagged")
    corpus.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.mode == "exploits":
        print_exploits(run_exploits(args.only, args.keep))
    else:
        run_corpus(args.folder)
    print(f"run time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

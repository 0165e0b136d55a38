"""Bad submissions, graded through the real pipeline (collect, Dask workers, bwrap sandbox, nbgrader,
the single gradebook writer) on the tiny plain-Python assignment of conftest.py: each ends in one
clear status with its reason, and none of them touches another student's grade or the gradebook."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from grader import paths
from grader.autograde.class_run import autograde
from grader.autograde.scratch import OUTSIDE_FOLDERS
from grader.export.report import grade_rows
from grader.notebooks import read_ipynb, write_ipynb
from grader.result import CRASHED, GRADED, MALFORMED, MISSING, TIMED_OUT
from grader.sandbox.box import Limits

ASSIGNMENT = "a1"
# 3 GiB of address space: a kernel forked with TensorFlow imported (kernel_broker.py) starts with about 1.5 GB.
LIMITS = Limits(cell_timeout=6, submission_timeout=25, memory_bytes=3 * 2**30, output_chars=50_000,
                disk_bytes=64 * 2**20)


SECRET = "hunter2-not-for-students"


def plain_env(tmp_path):
    """The kernels need nothing of the course's assets; an empty IPYTHONDIR keeps Keras out of them.
    A fake credential in the grader's environment must never reach a kernel."""
    env = dict(os.environ)
    env["COURSE_TEST_CLOUD_TOKEN"] = SECRET
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    (tmp_path / "ipython").mkdir(exist_ok=True)
    env.pop("KERAS_HOME", None)
    return env


def handed_in(course, folder, student, answer=None, edit=None):
    """The tiny release with `answer` typed into the solution cell, then `edit(nb)` applied."""
    nb = read_ipynb(course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb")
    if answer is not None:
        (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        cell.source = answer
    if edit:
        edit(nb)
    path = folder / f"{student}__{ASSIGNMENT}.ipynb"
    write_ipynb(nb, path)
    return path


SOLUTION = "def double(x):\n    return x + x"
# Markdown links whose targets run script when clicked, in the spellings a browser still runs.
SCRIPT_LINKS = """[a plain link](javascript:document.title='LINKED-BY-STUDENT')
[mixed case](JaVaScRiPt:document.title='LINKED-BY-STUDENT')
[a tab inside](java&#9;script:document.title='LINKED-BY-STUDENT')
[a reference][r] ![an image](javascript:document.title='LINKED-BY-STUDENT')

[r]: vbscript:document.title='LINKED-BY-STUDENT'
"""
# Run by a shell command of the snooping notebook: attach to the kernel without stopping it
# (PTRACE_SEIZE), and read its memory.
PTRACE_PROBE = """
import ctypes, sys
pid = int(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, pid, None, None) == 0:
    print("ptrace the kernel SUCCEEDED")
else:
    print("ptrace the kernel blocked: errno", ctypes.get_errno())
try:
    print("read the kernel's memory SUCCEEDED", open(f"/proc/{pid}/mem", "rb").read(0))
except OSError as error:
    print("read the kernel's memory blocked:", type(error).__name__)
"""


# Code that copies each hidden test out of the kernel as it arrives (an IPython event hook) into every place
# the kernel writes: the test's own output and stderr, an earlier cell's display, the next execution count,
# and a later cell of the student's (base64). Loaded from a file of pickled code by NumPy, so the tripwire,
# which reads only the cells, sees ordinary code.
LEAK_HIDDEN_TESTS = r"""
import base64, sys, IPython
from IPython.display import display, update_display
shell = IPython.get_ipython()
def copy_hidden_test(info):
    if "HIDDEN" in info.raw_cell:
        sys.modules["__main__"].copied = base64.b64encode(info.raw_cell.encode()).decode()
        print("COPIED", info.raw_cell)
        sys.stderr.write("COPIED " + info.raw_cell)
        update_display("COPIED " + info.raw_cell, display_id="early")
        shell.execution_count = int.from_bytes(info.raw_cell.encode(), "big")
shell.events.register("pre_run_cell", copy_hidden_test)
display("shown before any hidden test", display_id="early")
"""


BREAK_NBGRADER = r"""
import sys, comm
sys.stderr.write("STDERR OF THE KERNEL\n")
comm.create_comm(target_name="jupyter.widget", buffers=[],
                 data={"state": {"_model_name": "OutputModel", "_model_module": "@jupyter-widgets/output"}})
"""


def unpickled_code(code):
    """A cell that writes `code` as a pickle calling exec, and has NumPy load it."""
    escaped = code.replace("\\", "\\u005c").replace("\n", "\\u000a")
    return ("import numpy as np\n"
            f"open('notes.bin', 'wb').write(b'cbuiltins\\nexec\\n(V' + {escaped!r}.encode() + b'\\n(dtR.')\n"
            "np.load('notes.bin', allow_pickle=True)\n")


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def graded(tiny_template, tmp_path_factory):
    """One grading run over every bad input beside two good submissions."""
    import shutil

    from grader.course_dir import CourseDir

    root = tmp_path_factory.mktemp("isolation")
    course = CourseDir(root / "course")
    shutil.copytree(tiny_template.root, course.root)
    course.write_config()
    folder = root / "in"
    folder.mkdir()
    gradebook = course.root / "gradebook.db"
    # A fake private key where the grading user keeps keys, the held-out photos, another student's file.
    home = root / "grading-user-home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(f"-----BEGIN OPENSSH PRIVATE KEY----- {SECRET}")
    held_out = paths.mirror_dir() / "images" / "cats_and_dogs" / "validation" if paths.mirror_dir() else root
    snoop = f'''
import os, socket
PTRACE_PROBE = {PTRACE_PROBE!r}
def attempt(what, action):
    try:
        found = action()
        print(what, "SUCCEEDED", repr(found)[:80])
    except Exception as error:
        print(what, "blocked:", type(error).__name__)
attempt("read gradebook", lambda: open({str(gradebook)!r}, "rb").read(100))
attempt("write gradebook", lambda: open({str(gradebook)!r}, "r+b").write(b"x"))
print("course folder as seen from the kernel:", sorted(os.listdir({str(course.root)!r})))
print("scratch folders as seen from the kernel:", os.listdir({str(course.root / ".grading" / "scratch")!r}))
attempt("read hidden tests", lambda: open({str(course.source(ASSIGNMENT) / "a1.ipynb")!r}).read())
attempt("read solutions", lambda: os.listdir({str(paths.SOLUTIONS_DIR)!r})[0])
attempt("read another submission", lambda: open({str(course.submitted("ann_good", ASSIGNMENT) / "a1.ipynb")!r}).read())
attempt("read held-out photos", lambda: os.listdir({str(held_out)!r})[0])
attempt("read held-back flower photos", lambda: os.listdir({str(paths.cache_dir() / "held_out")!r})[0])
attempt("read the grader's key", lambda: open({str(home / ".ssh" / "id_ed25519")!r}).read())
print("the grader's home as seen from the kernel:", os.listdir({str(Path.home())!r}))
attempt("read a secret variable", lambda: os.environ["COURSE_TEST_CLOUD_TOKEN"])
attempt("read a secret variable of the box's first process", lambda: next(
    v for v in open("/proc/1/environ").read().split(chr(0)) if v.startswith("COURSE_TEST_CLOUD_TOKEN=")))
attempt("network", lambda: socket.create_connection(("8.8.8.8", 53), timeout=5))
attempt("write repository", lambda: open({str(paths.REPO_ROOT / "snooped.txt")!r}, "w").write("x"))
print("user inside the box:", os.getuid())
# A child process the tripwire cannot read (it only sees a shell command) tries to reach into the kernel.
open("probe.py", "w").write(PTRACE_PROBE)
!python3 probe.py {{os.getpid()}}
# Script in an output would run in the browser of whoever opens the feedback page.
from IPython.display import HTML, display
display(HTML("<b>bold</b><script>document.title = 'INJECTED-BY-STUDENT'</script>"))
# A markdown link runs script when whoever opens the feedback clicks it; markdown is not HTML, so sanitizing
# HTML leaves it as it is.
from IPython.display import Markdown
display(Markdown("[a link in an output](javascript:document.title='LINKED-BY-STUDENT')"))
def double(x):
    return x + x
'''
    files = [
        handed_in(course, folder, "ann_good", SOLUTION),
        handed_in(course, folder, "ben_good_twin", SOLUTION),
        handed_in(course, folder, "cat_loops_forever", "while True:\n    pass"),
        handed_in(course, folder, "dan_swallows_interrupts",
                  "while True:\n    try:\n        while True:\n            pass\n"
                  "    except BaseException:\n        pass"),
        handed_in(course, folder, "eli_slow_overall", SOLUTION,
                  lambda nb: nb.cells.extend(nbformat.v4.new_code_cell("import time\ntime.sleep(5)")
                                             for _ in range(6))),
        # Blocks of 3 GiB: the first one asked for is over the 3 GiB limit and refused before a byte of it
        # is written. A hog that must write memory to reach the limit depends on the machine's speed:
        # beside nbval, smaller blocks (256 MB, 1 GiB) that must be written to reach the limit can run past
        # the 6 s cell limit. Without the limit each block would be granted and written (3 GiB
        # each, up to the machine's memory): no MemoryError, so the test still fails if the limit is gone
        # (reasoned, not run: it would fill the machine).
        handed_in(course, folder, "eve_memory_hog",
                  "blocks = []\nwhile True:\n    blocks.append(bytearray(3 * 2**30))"),
        handed_in(course, folder, "fay_prints_100mb", 'print("x" * 100_000_000)\n' + SOLUTION),
        handed_in(course, folder, "gus_snoops", snoop,
                  lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(SCRIPT_LINKS))),
        handed_in(course, folder, "hal_deleted_test", SOLUTION,
                  lambda nb: nb.cells.remove(cell_of(nb, "test_double"))),
        handed_in(course, folder, "ida_edited_test", "def double(x):\n    return 0",
                  lambda nb: setattr(cell_of(nb, "test_double"), "source", "print('all good')")),
        handed_in(course, folder, "jon_kills_kernel", "import os\nos.kill(os.getpid(), 9)"),
        # Leaves a detached process running (its own session, double fork) and a large file behind.
        handed_in(course, folder, "pat_leaves_a_process",
                  "import os\nos.system('setsid sleep 987654 > /dev/null 2>&1 &')\n"
                  "open('leftover.bin', 'wb').write(bytes(2**20))\n" + SOLUTION),
        # Asks for a kernel the grading machine has outside the box (an instructor's other kernels): nbgrader's
        # OverwriteKernelspec puts back the release's kernelspec, and the box's `python3` runs it.
        handed_in(course, folder, "ned_asks_for_another_kernel",
                  "import os\nprint('kernel:', os.environ.get('COURSE_TEST_CLOUD_TOKEN', 'no secret'), os.getuid())\n"
                  + SOLUTION,
                  lambda nb: nb.metadata.update(kernelspec={"name": "unboxed", "display_name": "Python (unboxed)",
                                                            "language": "python"})),
        # A wrong answer whose test cells are tagged so that Jupyter skips them: nbgrader would give the tests
        # that did not run their points.
        handed_in(course, folder, "oli_skips_the_tests", "def double(x):\n    return 0",
                  lambda nb: [c.metadata.update(tags=["skip-execution"]) for c in nb.cells
                              if c.metadata.get("nbgrader", {}).get("grade")]),
        # Its test cells edited to be neither locked nor graded: nbgrader would stop on them ("Inconsistent
        # checksums"), and the submission crashed.
        handed_in(course, folder, "pia_edits_test_metadata", "def double(x):\n    return 0",
                  lambda nb: [c.metadata["nbgrader"].update(grade=False, locked=False) for c in nb.cells
                              if c.metadata.get("nbgrader", {}).get("grade")]),
        handed_in(course, folder, "rex_copies_hidden_tests", unpickled_code(LEAK_HIDDEN_TESTS) + SOLUTION,
                  lambda nb: nb.cells.append(nbformat.v4.new_code_cell("print('COPIED', copied)"))),
        # Writes to stderr, then makes nbgrader itself fail (nbclient 0.11 cannot build an Output widget
        # without outputs): the reason holds nbgrader's log, which must not reach the student's page.
        handed_in(course, folder, "sam_breaks_nbgrader", unpickled_code(BREAK_NBGRADER) + SOLUTION),
        handed_in(course, folder, "quy_fills_the_disk",
                  "i = 0\nwhile True:\n    open(f'fill{i}.bin', 'wb').write(bytes(2**20))\n    i += 1"),
    ]
    (folder / f"kim__{ASSIGNMENT}.ipynb").write_text('{"cells": [')
    (folder / f"lea__{ASSIGNMENT}.ipynb").write_text(json.dumps({"hello": "world"}))
    (folder / "max-homework.ipynb").write_text(files[0].read_text())
    files += [folder / name for name in (f"kim__{ASSIGNMENT}.ipynb", f"lea__{ASSIGNMENT}.ipynb", "max-homework.ipynb")]
    env = plain_env(root)
    unboxed = root / "jupyter" / "kernels" / "unboxed"
    unboxed.mkdir(parents=True)
    (unboxed / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (unboxed)", "language": "python"}))
    env["JUPYTER_PATH"] = str(root / "jupyter")
    started = time.monotonic()
    results = autograde(course, ASSIGNMENT, files, env, roster=["ann_good", "zed_never_handed_in"],
                        limits=LIMITS, workers=2)
    rows = {row.student: row for row in grade_rows(course, results)}
    for row in rows.values():
        print(f"{row.student:24} {row.status:10} {row.total:g}  {row.reason[:150]!r}")
    print(f"graded in {time.monotonic() - started:.0f} s")
    return course, rows


def autograded(course, student):
    return nbformat.read(course.autograded(student, ASSIGNMENT) / f"{ASSIGNMENT}.ipynb", as_version=4)


def solution_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


def outputs_text(cell):
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


def test_good_submissions_get_full_marks_beside_bad_ones(graded):
    course, rows = graded
    for student in ("ann_good", "ben_good_twin"):
        assert rows[student].status == GRADED, rows[student].reason
        assert rows[student].points == {"test_double": 2, "test_hidden": 1}
        assert not rows[student].reason, rows[student].reason  # no note: feedback written, no limit hit


def test_an_endless_cell_hits_the_cell_time_limit_and_the_rest_is_graded(graded):
    course, rows = graded
    row = rows["cat_loops_forever"]
    assert row.status == GRADED and "interrupted at the 6 s cell time limit" in row.reason
    assert row.total == 0


def test_a_loop_that_swallows_interrupts_times_out(graded):
    row = graded[1]["dan_swallows_interrupts"]
    assert row.status == TIMED_OUT and "did not stop when interrupted" in row.reason


def test_a_notebook_slower_than_the_submission_limit_times_out(graded):
    row = graded[1]["eli_slow_overall"]
    assert row.status == TIMED_OUT and "longer than 25 s" in row.reason


def test_a_memory_hog_gets_memory_error_inside_its_own_kernel(graded):
    course, rows = graded
    assert rows["eve_memory_hog"].status == GRADED
    answer = solution_cell(autograded(course, "eve_memory_hog"))
    assert "MemoryError" in [o.get("ename") for o in answer.outputs]


def test_a_100_mb_print_is_cut_in_the_graded_notebook(graded):
    course, rows = graded
    assert rows["fay_prints_100mb"].status == GRADED and rows["fay_prints_100mb"].total == 3
    path = course.autograded("fay_prints_100mb", ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    assert path.stat().st_size < 1_000_000
    assert "characters of output dropped" in path.read_text()


def test_a_snooping_notebook_sees_nothing_of_the_instructors(graded):
    """Every attempt fails, the feedback holds none of the secrets, and the good answer still earns its points."""
    course, rows = graded
    assert rows["gus_snoops"].status == GRADED and rows["gus_snoops"].total == 3
    answer = solution_cell(autograded(course, "gus_snoops"))
    text = outputs_text(answer)
    # A checkout under /tmp appears in the box only as mount points inside its private /tmp: a write
    # there lands in that private /tmp, never in the repository (checked on the real disk below).
    in_tmp = str(paths.REPO_ROOT).startswith("/tmp/")
    succeeded = [line for line in text.splitlines() if "SUCCEEDED" in line
                 and not (in_tmp and line.startswith("write repository"))]
    assert not succeeded, text
    for attempt in ("read gradebook", "write gradebook", "read hidden tests", "read solutions",
                    "read another submission", "read held-out photos", "read held-back flower photos",
                    "read the grader's key",
                    "read a secret variable", "read a secret variable of the box's first process",
                    "network", "ptrace the kernel", "read the kernel's memory",
                    *(() if in_tmp else ("write repository",))):
        assert f"{attempt} blocked" in text, attempt
    assert not (paths.REPO_ROOT / "snooped.txt").exists()
    # Only the mount point of the kernel's own scratch folder shows, nothing of the course or of the others.
    assert "course folder as seen from the kernel: ['.grading']" in text
    assert "scratch folders as seen from the kernel: ['a1-gus_snoops-" in text
    assert "user inside the box: 1000" in text
    # The grader's home holds only the mount points of what the box needs (Python under ~/.pyenv, say).
    home_line = next(line for line in text.splitlines() if line.startswith("the grader's home as seen"))
    assert ".ssh" not in home_line and ".bash_history" not in home_line, home_line
    feedback = (course.feedback("gus_snoops", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    assert SECRET not in feedback and SECRET not in text


def test_deleted_and_edited_test_cells_are_restored_and_reported(graded):
    course, rows = graded
    hal, ida = rows["hal_deleted_test"], rows["ida_edited_test"]
    assert hal.status == GRADED and hal.points["test_double"] == 2 and "deleted cell 'test_double'" in hal.reason
    assert ida.status == GRADED and ida.points["test_double"] == 0 and "edited locked cell 'test_double'" in ida.reason


def test_nothing_a_notebook_starts_outlives_its_grading(graded):
    course, rows = graded
    assert rows["pat_leaves_a_process"].status == GRADED and rows["pat_leaves_a_process"].total == 3
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 987654" not in running, "a process started by a notebook survived its grading"
    assert not list(course.root.rglob("leftover.bin")), "the scratch folder was not removed"


# Looks for what an earlier submission could leave behind (module state, environment, files, a thread, a process),
# prints what it found, then leaves all five itself; `double` is right only when nothing was found.
LOOK = """import glob, json, os, subprocess, threading, time
def leftovers():
    found = []
    if hasattr(json, "left_behind"):
        found.append("module state")
    if "LEFT_BEHIND" in os.environ:
        found.append("environment")
    if glob.glob("/tmp/left-behind*") or glob.glob(os.path.expanduser("~/left-behind*")) or glob.glob("left-behind*"):
        found.append("file")
    if any(t.name == "left-behind" for t in threading.enumerate()):
        found.append("thread")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if b"876543" in open(f"/proc/{pid}/cmdline", "rb").read():
                found.append("process")
                break
        except OSError:
            pass
    return found
"""
LEAVE = """json.left_behind = True
os.environ["LEFT_BEHIND"] = "1"
for path in ("/tmp/left-behind", os.path.expanduser("~/left-behind-home"), "left-behind.txt"):
    open(path, "w").write("x")
threading.Thread(target=time.sleep, args=(600,), name="left-behind", daemon=True).start()
subprocess.Popen(["sleep", "876543"], start_new_session=True)
time.sleep(0.5)
"""
FOUND = """found = leftovers()
print("leftovers:", found)
def double(x):
    return x + x if not found else 0
"""


def test_each_submission_starts_from_nothing_an_earlier_one_left(tiny_course, tmp_path):
    """Two hand-ins graded one after the other on one worker: each looks for what the other may have left (a
    module global, an environment variable, files, a thread, a process), then leaves all five. Neither finds
    anything. A control that leaves them and then looks in its own kernel finds all five, so the look works."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, student, LOOK + FOUND + LEAVE) for student in ("ann_first", "bob_second")]
    files.append(handed_in(tiny_course, folder, "cat_control", LOOK + LEAVE + FOUND))
    results = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), limits=LIMITS, workers=1)
    rows = {row.student: row for row in grade_rows(tiny_course, results)}
    printed = {student: outputs_text(solution_cell(autograded(tiny_course, student))) for student in rows}
    for student in ("ann_first", "bob_second"):
        assert rows[student].status == GRADED and rows[student].total == 3, (student, rows[student].reason)
        assert "leftovers: []" in printed[student], printed[student]
    control = printed["cat_control"]
    for kind in ("module state", "environment", "file", "thread", "process"):
        assert kind in control, control
    assert rows["cat_control"].points["test_double"] == 0
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 876543" not in running, "a process started by a notebook survived its grading"


def test_a_notebook_that_fills_the_disk_is_stopped(graded):
    row = graded[1]["quy_fills_the_disk"]
    assert row.status == CRASHED and "wrote more than 64 MB" in row.reason, row.reason


def test_a_kernel_that_dies_is_reported(graded):
    row = graded[1]["jon_kills_kernel"]
    assert row.status == CRASHED and "kernel died" in row.reason


def test_every_hand_in_that_was_not_graded_gets_a_page_saying_why_and_no_log(graded):
    course, rows = graded
    said = {"dan_swallows_interrupts": "did not stop when interrupted", "eli_slow_overall": "longer than 25 s",
            "jon_kills_kernel": "the kernel died", "quy_fills_the_disk": "wrote more than 64 MB",
            "sam_breaks_nbgrader": "the grader could not finish running your notebook",
            "kim": "not a valid Jupyter notebook"}
    assert rows["sam_breaks_nbgrader"].status == CRASHED, rows["sam_breaks_nbgrader"]
    assert "nbgrader autograde failed" in rows["sam_breaks_nbgrader"].reason
    for student, words in said.items():
        page = (course.feedback(student, ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
        assert f"not graded ({rows[student].status})" in page and words in page, (student, page)
        assert "What to do:" in page and str(course.root) not in page
        assert not [w for w in ("nbgrader", "Traceback", "KeyError", "STDERR") if w in page], (student, page)
        assert not course.autograded(student, ASSIGNMENT).exists()
    assert not (course.root / "feedback" / "max-homework").exists(), "a file that matched no student got a page"


def test_a_hand_in_that_is_not_graded_replaces_what_the_earlier_one_left(tiny_course, tmp_path):
    """Graded 3/3, then a notebook that crashes, then one that is not JSON: nbgrader's export and the
    feedback page follow the latest hand-in (before: both still said 3/3 after each)."""
    import csv

    from grader.export.nbgrader_export import export_grades

    env = plain_env(tmp_path)
    expected = [(GRADED, "3.0", "Score: 3 / 3"), (CRASHED, "0.0", "not graded (crashed)"),
                (MALFORMED, "0.0", "not graded (malformed)")]
    for run, answer in enumerate([SOLUTION, "import os\nos.kill(os.getpid(), 9)", None]):
        folder = tmp_path / f"run{run}"
        folder.mkdir()
        path = handed_in(tiny_course, folder, "ann", answer)
        if answer is None:
            path.write_text('{"cells": [')
        (row,) = grade_rows(tiny_course, autograde(tiny_course, ASSIGNMENT, [path], env, limits=LIMITS, workers=1))
        export_grades(tiny_course, tmp_path / "nbgrader_grades.csv")
        (exported,) = csv.DictReader(open(tmp_path / "nbgrader_grades.csv"))
        page = (tiny_course.feedback("ann", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
        status, score, words = expected[run]
        assert (row.status, exported["score"]) == (status, score), (run, row, exported)
        assert words in page, (run, page[:500])
        assert tiny_course.autograded("ann", ASSIGNMENT).exists() == (status == GRADED)


def test_unreadable_or_misnamed_files_are_malformed_and_kept(graded):
    course, rows = graded
    assert rows["kim"].status == MALFORMED and "not a valid Jupyter notebook" in rows["kim"].reason
    assert rows["lea"].status == MALFORMED and "not a valid Jupyter notebook" in rows["lea"].reason
    assert rows["zed_never_handed_in"].status == MISSING
    kept = {p.name for p in (course.root / "rejected" / ASSIGNMENT).rglob("*") if p.is_file()}
    assert {f"kim__{ASSIGNMENT}.ipynb", f"lea__{ASSIGNMENT}.ipynb", "max-homework.ipynb"} <= kept


def test_a_file_that_names_no_student_never_becomes_a_students_row(tiny_course, tmp_path, capsys):
    """Without `<student>__` in its name a file belongs to nobody the grader can name: its stem is no student id.
    Before, `ann.ipynb` beside ann's graded notebook gave ann a second, malformed row, and the Canvas export of
    the whole class stopped ("two grade rows for ann"); `bob.ipynb` gave bob, who handed nothing in, a 0."""
    import csv

    from grader.export.canvas import write_canvas_csv
    from grader.export.report import write_csv

    folder = tmp_path / "in"
    folder.mkdir()
    good = handed_in(tiny_course, folder, "ann", SOLUTION)
    for stray in ("ann.ipynb", "bob.ipynb"):
        (folder / stray).write_bytes(good.read_bytes())
    results = autograde(tiny_course, ASSIGNMENT, [good, folder / "ann.ipynb", folder / "bob.ipynb"],
                        plain_env(tmp_path), roster=["ann", "bob"], limits=LIMITS, workers=1)
    rows = grade_rows(tiny_course, results)
    assert [(row.student, row.status, row.total) for row in rows] == [("ann", GRADED, 3), ("bob", MISSING, 0)]
    write_csv(rows, tmp_path / "grades.csv")
    write_canvas_csv(rows, tmp_path / "canvas.csv")
    assert [r["student"] for r in csv.DictReader(open(tmp_path / "grades.csv"))] == ["ann", "bob"]
    printed = capsys.readouterr().out
    for stray in ("ann.ipynb", "bob.ipynb"):
        assert f"not collected: {stray}: file name '{stray}' does not match" in printed, printed
        assert (tiny_course.root / "rejected" / ASSIGNMENT / stray).is_file(), "the file is kept"


def test_a_notebook_cannot_choose_a_kernel_outside_the_box(graded):
    course, rows = graded
    assert rows["ned_asks_for_another_kernel"].status == GRADED and rows["ned_asks_for_another_kernel"].total == 3
    text = outputs_text(solution_cell(autograded(course, "ned_asks_for_another_kernel")))
    assert "kernel: no secret 1000" in text, text


def test_test_cells_tagged_to_be_skipped_run_all_the_same(graded):
    row = graded[1]["oli_skips_the_tests"]
    assert row.status == GRADED and row.total == 0 and "tagged 'skip-execution'" in row.reason, row


def test_test_cells_whose_metadata_was_edited_are_graded_as_the_releases(graded):
    row = graded[1]["pia_edits_test_metadata"]
    assert row.status == GRADED and row.total == 0, row
    assert "edited nbgrader metadata of cell 'test_double'" in row.reason, row


def test_the_gradebook_is_intact_and_holds_every_graded_student(graded):
    course, rows = graded
    with Gradebook(course.gradebook_url) as gradebook:
        students = {s.id for s in gradebook.students}
        for student, row in rows.items():
            if row.status == GRADED:
                assert student in students
                assert gradebook.find_submission(ASSIGNMENT, student).score == row.total


def test_feedback_shows_points_and_messages_but_no_hidden_test_code(graded):
    course, rows = graded
    for student in ("ann_good", "ida_edited_test"):  # ida fails the hidden test: its traceback must not leak it
        html = (course.feedback(student, ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
        assert "hidden test: its code is not shown" in html
        assert "double(-1)" not in html, f"a hidden test's code reached {student}'s feedback"


def test_a_hidden_test_the_kernel_copies_out_never_reaches_the_feedback(graded):
    """The copies are in the graded notebook (the attack ran, unseen by the tripwire), which the instructor
    keeps; the feedback shows no output from the first hidden test on, and the earlier display kept its own."""
    import base64

    course, rows = graded
    assert rows["rex_copies_hidden_tests"].status == GRADED, rows["rex_copies_hidden_tests"].reason
    graded_nb = autograded(course, "rex_copies_hidden_tests")
    hidden = cell_of(graded_nb, "test_hidden").source
    assert "COPIED " + hidden in outputs_text(cell_of(graded_nb, "test_hidden"))
    assert base64.b64encode(hidden.encode()).decode() in outputs_text(graded_nb.cells[-1])
    display = solution_cell(graded_nb).outputs
    assert [o.data["text/plain"] for o in display if o.output_type == "display_data"] == [
        "'shown before any hidden test'"], "a later cell rewrote an earlier cell's display"
    page = (course.feedback("rex_copies_hidden_tests", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    for copy in ("double(-1)", base64.b64encode(hidden.encode()).decode()[:40],
                 str(int.from_bytes(hidden.encode(), "big"))[:40]):
        assert copy not in page, f"a copy of the hidden test reached the feedback: {copy}"
    assert "From here on, the outputs of the graded run are not shown" in page
    assert "shown before any hidden test" in page


def test_nbgraders_own_generate_feedback_in_the_course_folder_hides_the_same(graded, tmp_path):
    """An instructor who runs `nbgrader generate_feedback` by hand gets pages as safe as `course autograde`'s
    (nbgrader_config.json): no copied hidden test, the student's script escaped."""
    from grader.course_dir import CourseDir

    course = CourseDir(tmp_path / "course")
    shutil.copytree(graded[0].root, course.root)
    course.write_config()
    for student in ("rex_copies_hidden_tests", "gus_snoops"):
        shutil.rmtree(course.feedback(student, ASSIGNMENT))
        result = course.nbgrader("generate_feedback", ASSIGNMENT, f"--student={student}", "--force")
        assert result.returncode == 0, result.stdout + result.stderr
        page = (course.feedback(student, ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
        assert "double(-1)" not in page and "From here on, the outputs of the graded run are not shown" in page
        assert "<script>document.title" not in page
        assert script_links(page) == []


def test_feedback_opens_with_the_score_and_each_tests_points(graded):
    course, rows = graded
    page = (course.feedback("ida_edited_test", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    summary = page[page.index('class="grading-summary"'):]
    summary = summary[:summary.index("</table>")]
    assert page.index('class="grading-summary"') < page.index("Write <code>double</code>"), "summary not at the top"
    assert "Score: 0 / 3" in summary
    assert "<code>test_double</code></td><td>0 / 2</td><td>failed</td>" in summary, summary
    assert "AssertionError: double(2) should be 4" in summary
    assert "<code>test_hidden</code></td><td>0 / 1</td><td>failed</td>" in summary
    page = (course.feedback("ann_good", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    assert "Score: 3 / 3" in page and "<td>2 / 2</td><td>passed</td>" in page


def script_links(page: str) -> list[str]:
    """Every link or source in `page` whose target a browser would treat as a scheme other than http(s),
    mailto or an embedded image: browsers drop tabs and newlines anywhere in a URL, and leading controls."""
    from html.parser import HTMLParser

    found = []

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for name, value in attrs:
                if name in ("href", "src", "action", "formaction", "xlink:href") and value:
                    url = "".join(ch for ch in value if ch not in "\t\n\r").lstrip("".join(map(chr, range(33))))
                    scheme = url.split(":", 1)[0].lower() if ":" in url.split("/", 1)[0] else ""
                    if scheme not in ("", "http", "https", "mailto") and not url.lower().startswith("data:image/"):
                        found.append(f"<{tag} {name}={value!r}>")

    Links().feed(page)
    return found


def test_script_links_finds_what_a_browser_would_run():
    page = ('<a href="java&#9;script:x">t</a><img src="JavaScript:x"><a href=" vbscript:x">'
            '<a href="https://keras.io/">k</a><a href="#top">a</a><img src="data:image/png;base64,AA">')
    assert len(script_links(page)) == 3


def test_a_students_script_never_reaches_a_feedback_page(graded):
    course, _ = graded
    page = (course.feedback("gus_snoops", ASSIGNMENT) / f"{ASSIGNMENT}.html").read_text()
    assert "INJECTED-BY-STUDENT" in page, "the output is kept, as escaped text"
    assert "<script>document.title = 'INJECTED-BY-STUDENT'" not in page
    assert "a plain link" in page and "a link in an output" in page, "the links' text stays"
    assert script_links(page) == []


class GradingCommand:
    """`course autograde` on four tiny hand-ins that each sleep a while, as a process of its own, with a
    temporary directory of this test's own (short: the kernel's sockets live there) for it and a rerun."""

    def __init__(self, course, tmp_path, monkeypatch, prefix: str, sleep: int):
        folder = tmp_path / "in"
        folder.mkdir()
        self.course, self.students = course, [f"s{i}" for i in range(4)]
        self.files = [handed_in(course, folder, s, f"import time\ntime.sleep({sleep})\n" + SOLUTION)
                      for s in self.students]
        self.env = plain_env(tmp_path)
        self.temporary = Path(tempfile.mkdtemp(prefix=prefix))
        self.env["TMPDIR"] = str(self.temporary)
        monkeypatch.setattr(tempfile, "tempdir", str(self.temporary))
        self.journal = course.root / "grading_journal.jsonl"

    def start(self, **popen) -> subprocess.Popen:
        command = [sys.executable, "-m", "grader.cli", "autograde", ASSIGNMENT, *map(str, self.files),
                   "--course", str(self.course.root), "--workers", "1"]
        return subprocess.Popen(command, env=self.env, start_new_session=True, **popen)

    def wait_for_the_second_submission(self) -> None:
        """Until the first grade is written and the next submission's kernel, evaluator and probes have folders
        (and its kernel broker, where the kernel is forked)."""
        scratch = self.course.root / ".grading" / "scratch"

        def under_way() -> bool:
            records = [r.read_text() for r in scratch.glob(f"*/{OUTSIDE_FOLDERS}")]
            return self.journal.is_file() and self.journal.read_text().count("\n") >= 1 and \
                any(r.count("\n") >= 3 for r in records)

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not under_way():
            time.sleep(0.1)


def test_a_killed_run_resumes_without_grading_anyone_twice(tiny_course, tmp_path, monkeypatch):
    """`course autograde` killed once the first grade is written and the next submission is under way; the
    rerun grades only the rest, and removes the temporary folders the killed run left behind."""
    run = GradingCommand(tiny_course, tmp_path, monkeypatch, "killed-run-", sleep=2)
    process = run.start(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run.wait_for_the_second_submission()
    students, files, env, temporary, journal = run.students, run.files, run.env, run.temporary, run.journal
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first = journal.read_text().count("\n")
    assert 1 <= first < len(students), "the run should have been killed half-way"
    left = sorted(p.name for p in temporary.iterdir() if p.name.startswith("course-"))
    assert len(left) >= 3, f"the killed run should have left its kernel's, evaluator's and probes' folders: {left}"
    results = autograde(tiny_course, ASSIGNMENT, files, env, workers=1)
    left = sorted(p.name for p in temporary.iterdir() if p.name.startswith("course-"))
    shutil.rmtree(temporary)
    assert left == [], f"the killed run's temporary folders were left behind: {left}"
    assert all(r.status == GRADED for r in results), [(r.student, r.status, r.reason) for r in results]
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    graded_once = [e["student"] for e in entries]
    assert sorted(graded_once) == students, "every student graded exactly once over both runs"
    assert sum("already graded" in r.reason for r in results) == first
    with Gradebook(tiny_course.gradebook_url) as gradebook:
        assert all(gradebook.find_submission(ASSIGNMENT, s).score == 3 for s in students)


def test_ctrl_c_stops_at_once_keeps_what_was_graded_and_the_rerun_finishes(tiny_course, tmp_path, monkeypatch):
    """Ctrl-C (SIGINT to the terminal's process group) once the first grade is written: the run stops at once,
    with one line and no traceback; what was graded is in the journal, the gradebook, grades.csv and the
    feedback; no nbgrader, kernel or box of the run is left; the same command again grades only the rest."""
    import csv

    import psutil

    run = GradingCommand(tiny_course, tmp_path, monkeypatch, "stopped-run-", sleep=3)
    # As from an instructor's terminal: a test run started in the background of a shell (as CI may be) inherits
    # SIGINT ignored, and so would the command.
    process = run.start(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run.wait_for_the_second_submission()
    assert process.poll() is None, "the run ended before it could be stopped"
    time.sleep(1)  # the next submission's kernel is starting
    students, files, env, temporary, journal = run.students, run.files, run.env, run.temporary, run.journal
    os.killpg(process.pid, signal.SIGINT)
    stopped = time.monotonic()
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - stopped < 20, "Ctrl-C should stop the run at once"
    assert process.returncode == 130, (process.returncode, out[-2000:], err[-2000:])
    assert "Traceback" not in out + err, err[-3000:]
    graded = journal.read_text().count("\n")
    assert 1 <= graded < len(students), "the run should have been stopped half-way"
    assert f"stopped: {graded} submission(s) graded and saved" in out and "run the same command again" in out, out
    rows = list(csv.DictReader(open(tiny_course.root / "grades.csv")))
    assert len(rows) == graded and all(r["status"] == GRADED for r in rows), rows
    for row in rows:
        assert (tiny_course.feedback(row["student"], ASSIGNMENT) / f"{ASSIGNMENT}.html").is_file()
    time.sleep(2)
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if any(str(temporary) in part or "--student=s" in part for part in (p.info["cmdline"] or []))]
    assert left == [], f"processes of the stopped run still running: {left}"

    results = autograde(tiny_course, ASSIGNMENT, files, env, workers=1)
    shutil.rmtree(temporary, ignore_errors=True)
    assert all(r.status == GRADED for r in results), [(r.student, r.status, r.reason) for r in results]
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(e["student"] for e in entries) == students, "every student graded exactly once over both runs"
    assert sum("already graded" in r.reason for r in results) == graded


GRADE_IN_A_PROCESS = """
import json, sys
from pathlib import Path
from grader.course_dir import CourseDir
from grader.autograde.class_run import autograde
from grader.sandbox.box import Limits
root, limits, files = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
results = autograde(CourseDir(Path(root)), "a1", [Path(f) for f in files], dict(__import__("os").environ),
                    limits=Limits(**limits), workers=1)
print("ROWS", json.dumps(sorted((r.student, r.status) for r in results)))
"""


def test_a_second_grading_run_on_a_course_being_graded_is_refused(tiny_course, tmp_path):
    """Two `course autograde` runs on one course folder (two terminals, a cron job beside a hand-started run)
    would collect into the same folders and remove each other's scratch: one at a time, the second told why."""
    from dataclasses import asdict

    folder = tmp_path / "in"
    folder.mkdir()
    slow = SOLUTION + "\nimport time\ntime.sleep(4)"
    files = [str(handed_in(tiny_course, folder, name, slow)) for name in ("ann", "ben", "cat")]
    command = [sys.executable, "-c", GRADE_IN_A_PROCESS, str(tiny_course.root), json.dumps(asdict(LIMITS))]
    env = plain_env(tmp_path)

    def run(*args, **kwargs):
        return subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=paths.REPO_ROOT, **kwargs)

    first = run(*files)
    lock, scratch = tiny_course.root / ".grading" / "lock", tiny_course.root / ".grading" / "scratch"

    def under_way() -> bool:  # holding the lock, or (without one) grading its first submission
        return ((lock.is_file() and f"process {first.pid}," in lock.read_text())
                or (scratch.is_dir() and any(scratch.iterdir())))

    deadline = time.monotonic() + 120
    while not under_way() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert first.poll() is None and under_way(), "the first run should be under way"
    second = run(files[0])
    out, err = second.communicate(timeout=120)
    first_out, first_err = first.communicate(timeout=180)
    assert first.returncode == 0, first_err[-2000:]
    assert f"ROWS {json.dumps([['ann', GRADED], ['ben', GRADED], ['cat', GRADED]])}" in first_out, first_out
    assert second.returncode != 0 and "being graded by another run" in err, (out, err[-2000:])


def test_a_changed_assignment_grades_its_submissions_again(tiny_course, tmp_path):
    """The instructor changes a hidden test after a first grading run: the same hand-in is graded again with
    the new test, not reported as already graded (before: 3/3 from the old test); unchanged, it is not."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION)]
    env = plain_env(tmp_path)
    (first,) = autograde(tiny_course, ASSIGNMENT, files, env, workers=1)
    source = tiny_course.source(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    source.write_text(source.read_text().replace("assert double(-1) == -2", "assert double(-1) == 2"))
    (second,) = grade_rows(tiny_course, autograde(tiny_course, ASSIGNMENT, files, env, workers=1))
    (third,) = autograde(tiny_course, ASSIGNMENT, files, env, workers=1)
    assert first.status == GRADED and "already graded" not in first.reason
    assert second.status == GRADED and second.points == {"test_double": 2, "test_hidden": 0}, second
    assert "graded again: the assignment or the grader's checks changed" in second.reason, second.reason
    assert "already graded" in third.reason, third.reason


def test_without_the_sandbox_a_trusted_notebook_is_graded_the_same(tiny_course, tmp_path):
    """`--no-sandbox` (machines without bubblewrap, trusted notebooks) grades through the same pipeline."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION), handed_in(tiny_course, folder, "bob")]
    results = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1, sandbox=False)
    rows = {row.student: row for row in grade_rows(tiny_course, results)}
    assert rows["ann"].status == GRADED and rows["ann"].points == {"test_double": 2, "test_hidden": 1}
    assert rows["bob"].status == GRADED and rows["bob"].total == 0


def test_feedback_shows_nothing_of_the_graded_run_from_the_first_hidden_test_on():
    from grader.nbgrader_ext.preprocessors import HideHiddenTests, HideOutputsAfterHiddenTests

    def cell(source, grade_id, *outputs, count=1):
        made = nbformat.v4.new_code_cell(source, execution_count=count, outputs=list(outputs))
        made.metadata["nbgrader"] = {"grade_id": grade_id, "grade": True}
        return made

    stream = nbformat.v4.new_output("stream", name="stdout", text="visible test passed\n")
    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": "anything"}}, cells=[
        cell("assert visible(x)", "test_visible", stream),
        cell("# check\n### BEGIN HIDDEN TESTS\nassert secret_rule(x)\n### END HIDDEN TESTS\n", "test_secret",
             nbformat.v4.new_output("error", ename="AssertionError", evalue="x breaks the rule",
                                    traceback=["----> 3 assert secret_rule(x)"]), count=2),
        cell("print(copied)", "mine", nbformat.v4.new_output("stream", name="stdout", text="secret_rule"),
             count=int.from_bytes(b"secret_rule", "big")),
    ])
    nb, resources = HideOutputsAfterHiddenTests().preprocess(nb, {})
    nb, resources = HideHiddenTests().preprocess(nb, resources)
    assert nb.cells[0].outputs == [stream] and nb.cells[0].execution_count == 1
    assert "outputs of the graded run are not shown" in nb.cells[1].source
    assert [(c.outputs, c.execution_count) for c in nb.cells[2:]] == [([], None), ([], None)]
    assert "secret_rule" not in nbformat.writes(nb) and "widgets" not in nb.metadata
    assert resources["outputs_not_shown"] == {"test_secret", "mine"}


def test_a_kernel_message_stays_plain_text_in_the_summary_table():
    """A test cell's error message is the kernel's to write: with a blank line in it, it would end the summary's
    HTML block, and what follows would be read as markdown (a heading claiming full marks, a link)."""
    from grader.nbgrader_ext.preprocessors import summary_html
    from grader.nbgrader_ext.safe_links import SafeLinksHTMLExporter

    forged = "x is wrong\n\n## Score: 10 / 10\n\n[ask for a regrade](https://example.org)\n\n| a | table |"
    rows = [{"test": "test_visible", "score": 0, "points": 2, "messages": [("your notebook", forged)]}]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(summary_html(0, 2, rows, [forged]))])
    page, _ = SafeLinksHTMLExporter().from_notebook_node(nb)
    assert page.count("<h2") == 1 and "Score: 0 / 2" in page
    assert 'href="https://example.org"' not in page and "<td>a</td>" not in page
    assert "## Score: 10 / 10" in page, "the message is kept, as text"


def test_a_given_dask_scheduler_does_the_grading(tiny_course, tmp_path):
    """`--scheduler ADDRESS`: the same tasks go to an existing Dask cluster (here one started by the test)."""
    from distributed import LocalCluster

    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION)]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), scheduler=cluster.scheduler_address)
        assert any(name.startswith("grade") for name in cluster.scheduler.task_prefixes), "the cluster ran no task"
    rows = {row.student: row for row in grade_rows(tiny_course, results)}
    assert rows["ann"].status == GRADED and rows["ann"].total == 3

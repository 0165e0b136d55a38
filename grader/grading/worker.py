"""Grade one submission in a scratch folder of its own; return everything, write nothing shared.

This runs on a pool worker (see pool.py). The submission gets a private nbgrader course (a copy
of the assignment's grading kit: its source and a gradebook holding only the assignment), nbgrader's
own `autograde` runs the notebook with the hidden tests in a sandboxed kernel, the grader's checks
judge the saved model in a fresh sandboxed process, their verdicts are written into the test
cells' outputs, nbgrader scores the result and writes the feedback. The main process alone puts
the outcome into the class gradebook (writer.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import paths
from grader.course_dir import CourseDir
from grader.grading.cells import SKIP_TAG
from grader.grading.sandbox import (
    Box,
    Limits,
    asset_folders,
    box_environment,
    identity_files,
    sandbox_argv,
    thread_environment,
    write_kernelspec,
)
from grader.grading.statuses import CRASHED, GRADED, GRADER_ERROR, TIMED_OUT
from grader.notebooks import grade_id
from grader.spec import failed_checks, spec_for

EVALUATION_TIMEOUT_SECONDS = 600
DISK_POLL_SECONDS = 2.0


@dataclass
class GradingTask:
    assignment: str
    student: str
    notebook_name: str  # "01_cats_vs_dogs.ipynb"
    notebook_json: str  # the submission as collected
    kit: str  # the assignment's grading kit (see kit.py)
    scratch_root: str  # every worker's scratch folders live under it
    env: dict[str, str]
    limits: Limits = field(default_factory=Limits)
    held_out: tuple[str, ...] = ()  # never in the kernel's box, read by the grader's checks
    sandbox: bool = True
    tampering: str = ""  # why the notebook is flagged for review (tampering.py), or ""
    pin_cpus: bool = False  # pin this worker's kernels to its share of the cores
    grading: str = ""  # what grades it (kit.grading_fingerprint), kept in the grading journal

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.notebook_json.encode()).hexdigest()


@dataclass
class GradingOutcome:
    student: str
    assignment: str
    notebook_name: str
    status: str
    reason: str = ""
    sha256: str = ""
    autograded_json: str | None = None
    feedback_html: str | None = None
    checks: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    grading: str = ""  # the task's grading fingerprint
    # What the page of a hand-in that was not graded may tell the student ("": only its status's own words).
    # Never the grading log, which holds the kernel's stderr and the grader's own paths.
    student_reason: str = ""


def _tail(path: Path, lines: int = 12) -> str:
    if not path.is_file():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 20_000))
        text = f.read().decode(errors="replace")
    return "\n".join(line for line in text.strip().splitlines()[-lines:])


def folder_size(folder: Path, most_entries: int = 100_000) -> int:
    """Bytes under `folder`; a folder of more than `most_entries` entries counts as endless."""
    total = entries = 0
    stack = [folder]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                for entry in found:
                    entries += 1
                    if entries > most_entries:
                        return 2**62
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


def dies_with_this_worker(argv: list[str]) -> list[str]:
    """`argv`, killed by the kernel when the worker that started it dies (util-linux's `setpriv
    --pdeathsig`, kept across exec). A run stopped with Ctrl-C ends its workers; nbgrader, in a session of
    its own, would go on grading, and its sandboxed kernel dies with it (bubblewrap's --die-with-parent)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--", *argv] if setpriv else argv


def _start(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start with output to a file (a 100 MB print cannot fill memory), in a session of its own, so
    that a timeout kills everything it started, and ended with the worker that started it."""
    with open(log, "ab") as out:
        return subprocess.Popen(dies_with_this_worker(argv), cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _wait(process: subprocess.Popen, *, deadline: float, watch: Path | None = None,
          disk_bytes: int = 0) -> int | str | None:
    """The exit code; None on timeout, "disk" when the watched folder grew past `disk_bytes`."""
    while True:
        try:
            return process.wait(timeout=min(DISK_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            over_disk = watch is not None and disk_bytes and folder_size(watch) > disk_bytes
            if time.monotonic() < deadline and not over_disk:
                continue
            _kill(process)
            return "disk" if over_disk else None


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _run(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float,
         watch: Path | None = None, disk_bytes: int = 0) -> int | str | None:
    """Run to the end: the exit code, None on timeout, "disk" past the folder's limit (`_wait`)."""
    deadline = time.monotonic() + timeout
    return _wait(_start(argv, cwd=cwd, env=env, log=log), deadline=deadline, watch=watch, disk_bytes=disk_bytes)


def _failure(log: Path, limits: Limits, code: int | None) -> tuple[str, str, str]:
    """Status, reason and what the student may read of a notebook that nbgrader could not finish."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    box_failed = box_failure(text)
    if box_failed:
        return (GRADER_ERROR, f"the grading sandbox could not start the kernel (not the student's fault): {box_failed}",
                "")
    if "CellTimeoutError" in text:
        reason = f"a cell ran past the {limits.cell_timeout} s cell time limit and did not stop when interrupted"
        return TIMED_OUT, reason, reason
    if "DeadKernelError" in text or "Kernel died" in text:
        reason = "the kernel died while running the notebook (it was killed, or ran out of memory)"
        return CRASHED, reason, reason
    return CRASHED, f"nbgrader autograde failed (exit {code}):\n{_tail(log)}", ""


def box_failure(log_text: str) -> str:
    """bubblewrap's own error line, if the box failed before the kernel ever answered.

    bwrap prefixes its errors "bwrap: ". A student's code runs only after the kernel has answered
    nbgrader, so it cannot make its own crash pass for the grader's by printing such a line.
    """
    if "Kernel died before replying to kernel_info" not in log_text:
        return ""
    return next((line for line in log_text.splitlines() if line.startswith("bwrap: ")), "")


def grading_config(limits: Limits, runtime: Path) -> dict:
    """nbgrader settings of a scratch course, on top of the course's (course_dir.course_config): sandbox
    transport, restored cells, output caps, and the preprocessors that run and score the notebook."""
    return {
        # The sandboxed kernel has no network namespace of its own loopback: talk over Unix sockets.
        "KernelManager": {"transport": "ipc", "ip": str(runtime / "kernel")},
        # A test cell the student deleted is put back (nbgrader's own OverwriteCells).
        "OverwriteCells": {"add_missing_cells": True},
        # The tag collect() takes off every cell the release does not skip (cells.py).
        "Execute": {"skip_cells_with_tag": SKIP_TAG},
        "LimitOutput": {"max_lines": 1000},
        "LimitOutputSize": {"max_chars": limits.output_chars},
        "Autograde": {"autograde_preprocessors": [
            "grader.grading.preprocessors.ExecuteKeepingFinishedCells",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "grader.grading.preprocessors.LimitOutputSize",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]},
    }


def _check_outputs(check: dict) -> list:
    """The grader's verdict as outputs of the test cell: an error output costs the test its points."""
    metric = [f"METRIC grader_{check['check']}={check['metric']:.4f}\n"] if check.get("metric") is not None else []
    if check["passed"]:
        text = "".join(metric) + f"grader check on the saved model (fresh process): {check['message']}\n"
        return [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if check.get("not_measured"):
        text = f"NOT MEASURED: {check['not_measured']}\n"
        return [nbformat.v4.new_output("stream", name="stdout", text=text),
                nbformat.v4.new_output("error", ename="NotMeasured", evalue=check["not_measured"], traceback=[])]
    text = "".join(metric)
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
    return outputs + [nbformat.v4.new_output("error", ename="GraderCheckFailed", evalue=check["message"],
                                             traceback=[f"GraderCheckFailed: {check['message']}"])]


def fail_unconfirmed_tests(nb: nbformat.NotebookNode, checks: list[dict]) -> None:
    """A flagged notebook's kernel can report a pass it did not earn: a test that no check of the grader's
    confirms gets an error output, and nbgrader records zero points for it. (data/grading.toml gives
    every test of the course's notebooks a check; this keeps a new test without one honest.)"""
    confirmed = {check["test"] for check in checks}
    reason = "this notebook is flagged for review and no check of the grader's confirms this test"
    for cell in nb.cells:
        if grade_id(cell) and cell.get("metadata", {}).get("nbgrader", {}).get("grade") and \
                grade_id(cell) not in confirmed:
            cell.setdefault("outputs", []).append(nbformat.v4.new_output(
                "error", ename="NotConfirmed", evalue=reason, traceback=[f"NotConfirmed: {reason}"]))


def apply_checks(nb: nbformat.NotebookNode, checks: list[dict]) -> None:
    by_test = {}
    for check in checks:
        by_test.setdefault(check["test"], []).append(check)
    for cell in nb.cells:
        for check in by_test.get(grade_id(cell) or "", []):
            cell.setdefault("outputs", []).extend(_check_outputs(check))


def _link_tree(source: Path, target: Path) -> None:
    """`target` mirrors `source`: real folders, and links to its files (nothing large is copied)."""
    for folder, _, files in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            (here / name).symlink_to(Path(folder, name).resolve())


# Lists, in a scratch folder, the folders it made outside it: a run killed half-way (Ctrl-C, the OOM
# killer) cannot remove them itself, and the next run removes them with the scratch (`remove_scratch`).
OUTSIDE_FOLDERS = "outside-folders.txt"
OUTSIDE_PREFIX = "course-"


class _Scratch:
    """Folders of one grading run: a private course, the kernel's and the evaluator's runtime files, logs."""

    def __init__(self, task: GradingTask):
        self.root = Path(task.scratch_root) / f"{task.assignment}-{task.student}-{uuid.uuid4().hex[:8]}"
        self.root.mkdir(parents=True)
        self.course = CourseDir(self.root / "course")
        # Unix socket paths are limited to 107 characters: the kernel's sockets live in a short /tmp path.
        self.runtime = self._outside("kernel")
        # The evaluator's own: the kernel can write its runtime folder (its Keras home among it), and
        # must not be able to swap the reference weights the evaluator compares against.
        self.evaluator_runtime = self._outside("evaluator")
        # The probes' box writes here (probes.py) and the evaluator reads it: the student's cells re-run on
        # the grader's probes, in a box of their own that has no held-out photos and no evaluator to reach.
        self.probes = self._outside("probes")
        self.jupyter = self.root / "jupyter"
        self.log = self.root / "grading.log"
        shutil.copytree(task.kit, self.course.root)
        # nbconvert runs the kernel in the notebook's own folder: the submitted copy.
        self.workdir = self.course.submitted(task.student, task.assignment)

    def _outside(self, name: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix=f"{OUTSIDE_PREFIX}{name}-"))
        with open(self.root / OUTSIDE_FOLDERS, "a") as record:
            record.write(f"{folder}\n")
        return folder

    def remove(self) -> None:
        for folder in (self.runtime, self.evaluator_runtime, self.probes, self.root):
            shutil.rmtree(folder, ignore_errors=True)


def remove_scratch(scratch: Path) -> None:
    """Remove a run's scratch folder and the temporary folders its submissions made outside it, also
    those of submissions whose run was killed before it could clean up."""
    for record in scratch.glob(f"*/{OUTSIDE_FOLDERS}"):
        for line in record.read_text().splitlines():
            folder = Path(line)
            # Only what _Scratch makes: a course- folder right in a temporary directory.
            if folder.name.startswith(OUTSIDE_PREFIX) and folder.parent == Path(tempfile.gettempdir()):
                shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)


def asset_environment(env: dict[str, str]) -> dict[str, str]:
    """`env` with the asset locations filled in where this machine cached the downloads.

    The kernel has no network: it must find what the notebooks download where this machine
    cached it (online instructors: run each solution once first). Inside the box HOME is /tmp,
    so the usual places are passed explicitly.
    """
    env = dict(env)
    for name, cached in (("KERAS_HOME", Path.home() / ".keras"),
                         ("TFDS_DATA_DIR", Path.home() / "tensorflow_datasets"),
                         ("TFHUB_CACHE_DIR", Path(tempfile.gettempdir()) / "tfhub_modules")):
        if not env.get(name) and cached.is_dir():
            env[name] = str(cached)
    return env


def private_asset_homes(env: dict[str, str], runtime: Path) -> dict[str, str]:
    """`env` with IPython's and Keras's folders replaced by private folders of links in `runtime`.

    IPython and Keras use their folders only if they can write them (Keras falls back to
    /tmp/.keras and downloads), and the originals are shared by every submission.
    """
    env = dict(env)
    for name, folder in (("IPYTHONDIR", "ipython"), ("KERAS_HOME", "keras")):
        if env.get(name) and Path(env[name]).is_dir():
            _link_tree(Path(env[name]), runtime / folder)
            env[name] = str(runtime / folder)
    return env


def nbgrader_environment(env: dict[str, str], scratch: _Scratch, limits: Limits) -> dict[str, str]:
    """The environment of the nbgrader process (outside the box): where its kernelspec and runtime files are."""
    env = dict(env)
    env.update(thread_environment(limits))
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(scratch.jupyter), env.get("JUPYTER_PATH")]))
    env["JUPYTER_RUNTIME_DIR"] = str(scratch.runtime)
    env["TMPDIR"] = str(scratch.runtime)  # nbclient writes the kernel's connection file there
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("JPY_PARENT_PID", None)
    return env


def write_feedback(course: CourseDir, assignment: str, student: str, checks: list[dict] | None = None,
                   notes: list[str] | None = None) -> None:
    """nbgrader's own GenerateFeedback converter, run in this process (a subprocess costs seconds of
    start-up per submission); it reads the scores that SaveAutoGrades just wrote.

    The page opens with a summary (FeedbackSummary) built from the gradebook and the grader's own
    `checks`; the student's HTML and JavaScript outputs are sanitized (nbconvert's SanitizeHTML) and
    markdown links can run no script (SafeLinksHTMLExporter), since instructors open these pages too.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import GetGrades
    from traitlets.config import Config

    from grader.grading.preprocessors import FeedbackSummary, HideHiddenTests, HideOutputsAfterHiddenTests
    from grader.grading.safe_links import SafeLinksHTMLExporter

    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.assignment_id = assignment
    config.CourseDirectory.student_id = student
    config.GenerateFeedback.preprocessors = [GetGrades, HideOutputsAfterHiddenTests, HideHiddenTests, SanitizeHTML,
                                             FeedbackSummary, CSSHTMLHeaderPreprocessor]
    config.FeedbackSummary.checks = [{k: check.get(k) for k in ("test", "passed", "message", "not_measured")}
                                     for check in checks or []]
    config.FeedbackSummary.notes = list(notes or [])
    config.SanitizeHTML.enabled = True  # nbconvert's preprocessors are off unless enabled
    config.GenerateFeedback.exporter_class = SafeLinksHTMLExporter
    config.GenerateFeedback.force = True
    GenerateFeedback(coursedir=CourseDirectory(config=config), config=config).start()


def _worker_cpus(task: GradingTask) -> tuple[int, ...]:
    if not task.pin_cpus or not task.limits.threads:
        return task.limits.cpus
    try:
        from distributed import get_worker

        index = int(get_worker().name)
    except (ImportError, ValueError, TypeError):
        return task.limits.cpus
    cores = sorted(os.sched_getaffinity(0))
    share = task.limits.threads
    start = (index * share) % len(cores)
    return tuple(cores[(start + i) % len(cores)] for i in range(share))


class Evaluator:
    """The grader's checks (grader.grading.evaluate) in a fresh sandboxed process.

    Started before the notebook runs, so that importing TensorFlow overlaps with it; it judges the
    saved model only when `results()` tells it to, after the notebook has finished. Its box reads the
    notebook's folder, the probes' results, the held-out photos and the grading spec; it has its own
    runtime folder. No code of the student's runs in it (that is `ProbesBox`).
    """

    def __init__(self, task: GradingTask, scratch: _Scratch, env: dict[str, str], limits: Limits,
                 assets: list[Path]):
        self.spec = spec_for(task.assignment)
        self.process = None
        self.log = scratch.root / "evaluate.log"
        if self.spec is None:
            return
        # The notebook as handed in, where the kernel cannot write: code checks take the student's cells from it.
        handed_in = scratch.evaluator_runtime / "handed_in.ipynb"
        handed_in.write_text(task.notebook_json)
        command = [sys.executable, "-m", "grader.grading.evaluate", task.assignment,
                   str(scratch.workdir / (self.spec.model or "no-model")), "--wait", "--notebook", str(handed_in),
                   "--probes", str(scratch.probes / "out")]
        env = private_asset_homes(env, scratch.evaluator_runtime)
        env["COURSE_CACHE_DIR"] = str(paths.cache_dir())  # where held-back photos are (spec.held_out_dir)
        if task.sandbox:
            box = Box(workdir=scratch.workdir, writable=(scratch.evaluator_runtime,),
                      readable=(scratch.workdir, scratch.probes, paths.DATA_DIR, *assets, *map(Path, task.held_out)),
                      env=box_environment(env, extra=("COURSE_ASSETS_MIRROR", "COURSE_CACHE_DIR")),
                      files=identity_files(scratch.evaluator_runtime / "etc"))
            command = sandbox_argv(command, box, limits)
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(dies_with_this_worker(command), cwd=scratch.workdir, env=env,
                                            stdin=subprocess.PIPE,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def results(self) -> list[dict]:
        if self.process is None:
            return []
        try:
            self.process.communicate(b"go\n", timeout=EVALUATION_TIMEOUT_SECONDS)
            code = self.process.returncode
        except subprocess.TimeoutExpired:
            self.cancel()
            code = None
        try:
            return json.loads(self.log.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            why = "timed out" if code is None else f"exited with {code}"
            message = f"the grader's evaluation of the saved model {why}: {_tail(self.log, 3)}"
            return failed_checks(self.spec, message)

    def box_failed(self) -> str:
        """bubblewrap's error, if the evaluator's box never started (the grader's fault, not the student's)."""
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        first = text.splitlines()[:1]
        return first[0] if first and first[0].startswith("bwrap: ") else ""

    def cancel(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


PROBES_TIMEOUT_SECONDS = 300


class ProbesBox:
    """The student's cells on the grader's probes (probes.py), in a box of their own: the notebook as handed
    in, the prepared assets and the probes' folder; not the held-out photos, the spec or the evaluator.

    The probes need only the notebook as handed in, so the box starts with the graded run and works
    beside it (fewer idle cores, the TensorFlow import overlapped); `wait()` collects it afterwards,
    with its own time and disk limits. What it leaves in its folder is judged by the evaluator; a box
    that fails, hangs or is cancelled leaves nothing that earns a point.
    """

    def __init__(self, task: GradingTask, scratch: _Scratch, env: dict[str, str], limits: Limits,
                 assets: list[Path]):
        from grader.grading.probes import probe_plan, probe_seed

        self.process: subprocess.Popen | None = None
        self.result: int | str | None = None
        spec = spec_for(task.assignment)
        plan = probe_plan(list(spec.checks), probe_seed(task.notebook_json.encode())) if spec else {}
        if not plan:
            return
        (scratch.probes / "plan.json").write_text(json.dumps(plan))
        (scratch.probes / "handed_in.ipynb").write_text(task.notebook_json)
        command = [sys.executable, "-m", "grader.grading.probes", str(scratch.probes / "plan.json"),
                   str(scratch.probes / "handed_in.ipynb"), str(scratch.probes / "out")]
        env = private_asset_homes(env, scratch.probes / "runtime")
        if task.sandbox:
            box = Box(workdir=scratch.probes, writable=(scratch.probes,), readable=tuple(assets),
                      env=box_environment(env), files=identity_files(scratch.probes / "runtime" / "etc"))
            command = sandbox_argv(command, box, limits)
        self.deadline = time.monotonic() + PROBES_TIMEOUT_SECONDS
        self.watch, self.disk_bytes = scratch.probes, limits.disk_bytes
        self.process = _start(command, cwd=scratch.probes, env=env, log=scratch.root / "probes.log")
        # The disk limit is watched while the box runs, not only once the graded run is over.
        self._waiter = threading.Thread(target=self._watch, daemon=True)
        self._waiter.start()

    def _watch(self) -> None:
        self.result = _wait(self.process, deadline=self.deadline, watch=self.watch, disk_bytes=self.disk_bytes)

    def wait(self) -> None:
        if self.process is not None:
            self._waiter.join()

    def cancel(self) -> None:
        if self.process is not None:
            _kill(self.process)
            self._waiter.join()


def grade_submission(task: GradingTask) -> GradingOutcome:
    """Grade one submission; every failure becomes a status with its reason, never an exception."""
    from dataclasses import replace

    from nbgrader.preprocessors import SaveAutoGrades

    started = time.monotonic()
    timings: dict[str, float] = {}
    outcome = GradingOutcome(task.student, task.assignment, task.notebook_name, CRASHED, sha256=task.sha256,
                             grading=task.grading)
    limits = replace(task.limits, cpus=_worker_cpus(task))
    scratch = _Scratch(task)
    evaluator = probes = None
    try:
        env = asset_environment(task.env)
        mirror = Path(env["COURSE_ASSETS_MIRROR"]) if env.get("COURSE_ASSETS_MIRROR") else None
        assets = asset_folders(env, mirror)
        kernel_env = private_asset_homes(env, scratch.runtime)
        scratch.course.write_config(limits.cell_timeout, grading_config(limits, scratch.runtime))
        # The notebook as collect() left it (cell metadata already restored from the release).
        submitted = nbformat.reads(task.notebook_json, as_version=4)
        target = scratch.course.submitted(task.student, task.assignment) / task.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(submitted, target)
        if task.sandbox:
            box = Box(workdir=scratch.workdir, writable=(scratch.workdir, scratch.runtime), readable=tuple(assets),
                      env=box_environment(kernel_env), files=identity_files(scratch.runtime / "etc"))
            write_kernelspec(scratch.jupyter, box, limits)
            nbgrader_env = nbgrader_environment(env, scratch, limits)
        else:  # the kernel inherits nbgrader's environment
            write_kernelspec(scratch.jupyter, None, limits)
            nbgrader_env = nbgrader_environment(kernel_env, scratch, limits)
        evaluator = Evaluator(task, scratch, env, limits, assets)
        probes = ProbesBox(task, scratch, env, limits, assets)
        timings["setup"] = time.monotonic() - started
        budget = limits.submission_timeout - (time.monotonic() - started)
        code = _run([sys.executable, "-m", "nbgrader", "autograde", task.assignment, f"--student={task.student}",
                     "--force", "--create"], cwd=scratch.course.root, env=nbgrader_env, log=scratch.log,
                    timeout=budget, watch=scratch.workdir, disk_bytes=limits.disk_bytes)
        timings["nbgrader_autograde"] = time.monotonic() - started - timings["setup"]
        graded_path = scratch.course.autograded(task.student, task.assignment) / task.notebook_name
        if code is None:
            outcome.status, outcome.reason = TIMED_OUT, f"grading took longer than {limits.submission_timeout:.0f} s"
            outcome.student_reason = outcome.reason
            return outcome
        if code == "disk":
            outcome.reason = (f"the notebook wrote more than {limits.disk_bytes // 2**20} MB (or too many files) "
                              "into its folder and was stopped")
            outcome.student_reason = outcome.reason
            return outcome
        if code != 0 or not graded_path.is_file():
            outcome.status, outcome.reason, outcome.student_reason = _failure(scratch.log, limits, code)
            return outcome
        mark = time.monotonic()
        if probes is not None:
            probes.wait()
        timings["probes"] = time.monotonic() - mark  # what is left of them once the notebook is done
        mark = time.monotonic()
        outcome.checks = evaluator.results() if evaluator else []
        timings["grader_checks"] = time.monotonic() - mark
        if evaluator and evaluator.box_failed():
            outcome.status = GRADER_ERROR
            outcome.reason = f"the grading sandbox could not start the grader's checks: {evaluator.box_failed()}"
            return outcome
        mark = time.monotonic()
        graded = nbformat.read(graded_path, as_version=4)
        apply_checks(graded, outcome.checks)
        if task.tampering:
            fail_unconfirmed_tests(graded, outcome.checks)
        resources = {"nbgrader": {"notebook": Path(task.notebook_name).stem, "assignment": task.assignment,
                                  "student": task.student, "db_url": scratch.course.gradebook_url}}
        SaveAutoGrades().preprocess(graded, resources)
        nbformat.write(graded, graded_path)
        timeouts = scratch.log.read_text(errors="replace").count("Timeout waiting for execute reply")
        notes = [f"{timeouts} cell(s) interrupted at the {limits.cell_timeout} s cell time limit"] if timeouts else []
        if task.tampering:
            notes.append(task.tampering)
        try:
            write_feedback(scratch.course, task.assignment, task.student, outcome.checks, notes)
            feedback_problem = ""
        except Exception as error:  # the grades stand without feedback; say so
            feedback_problem = f"feedback failed: {type(error).__name__}: {error}"
        feedback = scratch.course.feedback(task.student, task.assignment) / f"{Path(task.notebook_name).stem}.html"
        timings["feedback"] = time.monotonic() - mark
        outcome.autograded_json = nbformat.writes(graded)
        outcome.feedback_html = feedback.read_text() if feedback.is_file() else None
        if feedback_problem:
            notes.append(feedback_problem)
        outcome.status, outcome.reason = GRADED, "; ".join(notes)
        return outcome
    except Exception as error:  # the worker must report, never die: one bad file cannot stop the class
        outcome.reason = f"grading failed: {type(error).__name__}: {error}\n{_tail(scratch.log)}"
        return outcome
    finally:
        if evaluator is not None:
            evaluator.cancel()
        if probes is not None:
            probes.cancel()
        timings["total"] = time.monotonic() - started
        outcome.timings = timings
        if not os.environ.get("COURSE_KEEP_SCRATCH"):
            scratch.remove()

"""The two boxes that start beside a submission's graded run: the grader's evaluator (its checks, no student
code) and the probes (the student's cells on the grader's inputs). Started before the notebook runs, so that
they work beside it; collected after it.

Each is a fresh fork of the worker's fork server, which has imported TensorFlow once, building its box around
itself (fork_server.py, grader.sandbox.forked_box); where the kernel allows no user namespace to such a process,
a fresh Python in bubblewrap's box, which imports TensorFlow again."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from grader import paths
from grader.autograde.failures import box_failure
from grader.autograde.fork_server import ForkedRun, can_fork, start_module
from grader.autograde.scratch import Prepared, Scratch
from grader.autograde.task import GradingTask
from grader.sandbox.box import Box, Limits, box_environment, identity_files, private_asset_homes, sandbox_argv
from grader.sandbox.forked_box import can_fork_boxes
from grader.sandbox.processes import kill, start, tail, wait
from grader.spec import failed_checks, spec_for

EVALUATION_TIMEOUT_SECONDS = 600
PROBES_TIMEOUT_SECONDS = 300


def forks(box: Box | None) -> bool:
    """Whether `start_in_box` forks the worker's fork server for `box` (else: a fresh Python)."""
    return can_fork() and (box is None or can_fork_boxes())


def start_in_box(module: str, args: list[str], box: Box | None, limits: Limits, *, cwd: Path, env: dict[str, str],
                 log: Path) -> subprocess.Popen | ForkedRun:
    """`python -m MODULE ARGS` in `box` (None: no box): a fork of the worker's fork server where it may build
    boxes, else a fresh Python (in bubblewrap's box)."""
    if forks(box):
        return start_module(module, args, box=box, limits=limits, cwd=cwd, env=env, log=log)
    command = [sys.executable, "-m", module, *args]
    return start(sandbox_argv(command, box, limits) if box else command, cwd=cwd, env=env, log=log)


class Evaluator:
    """The grader's checks (grader.checks.evaluate) in a fresh sandboxed process.

    It judges the saved model only when `results()` tells it to, after the notebook has finished. Its box
    reads the notebook's folder, the probes' results, the held-out photos and the grading spec; it has its
    own runtime folder. No code of the student's runs in it (that is `ProbesBox`).
    """

    def __init__(self, task: GradingTask, scratch: Scratch, env: dict[str, str], limits: Limits,
                 assets: list[Path]):
        self.spec = spec_for(task.assignment)
        self.process = None
        self.log = scratch.root / "evaluate.log"
        if self.spec is None:
            return
        # The notebook as handed in, where the kernel cannot write: code checks take the student's cells from it.
        handed_in = scratch.evaluator_runtime / "handed_in.ipynb"
        handed_in.write_text(task.notebook_json)
        # Its signal that the notebook has finished: a file in its own folder, which no student code can reach.
        self.go = scratch.evaluator_runtime / "go"
        args = [task.assignment, str(scratch.workdir / (self.spec.model or "no-model")), "--wait", str(self.go),
                "--notebook", str(handed_in), "--probes", str(scratch.probes / "out")]
        env = private_asset_homes(env, scratch.evaluator_runtime)
        env["COURSE_CACHE_DIR"] = str(paths.cache_dir())  # where held-back photos are (spec.held_out_dir)
        box = None
        if task.sandbox:
            box = Box(workdir=scratch.workdir, writable=(scratch.evaluator_runtime,),
                      readable=(scratch.workdir, scratch.probes, paths.DATA_DIR, *assets, *map(Path, task.held_out)),
                      env=box_environment(env, extra=("COURSE_ASSETS_MIRROR", "COURSE_CACHE_DIR")),
                      files=identity_files(scratch.evaluator_runtime / "etc"))
        self.process = start_in_box("grader.checks.evaluate", args, box, limits, cwd=scratch.workdir, env=env,
                                    log=self.log)

    def results(self) -> list[dict]:
        if self.process is None:
            return []
        self.go.touch()
        try:
            code = self.process.wait(timeout=EVALUATION_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.cancel()
            code = None
        try:
            return json.loads(self.log.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError):
            why = "timed out" if code is None else f"exited with {code}"
            message = f"the grader's evaluation of the saved model {why}: {tail(self.log, 3)}"
            return failed_checks(self.spec, message)

    def box_failed(self) -> str:
        """bubblewrap's error, if the evaluator's box never started (the grader's fault, not the student's)."""
        return box_failure(self.log.read_text(errors="replace") if self.log.is_file() else "")

    def cancel(self) -> None:
        kill(self.process)


class ProbesBox:
    """The student's cells on the grader's probes (checks/probes.py), in a box of their own: the notebook as
    handed in, the prepared assets and the probes' folder; not the held-out photos, the spec or the evaluator.

    The probes need only the notebook as handed in, so the box starts with the graded run and works
    beside it (fewer idle cores, the TensorFlow import overlapped); `wait()` collects it afterwards,
    with its own time and disk limits. What it leaves in its folder is judged by the evaluator; a box
    that fails, hangs or is cancelled leaves nothing that earns a point.
    """

    def __init__(self, task: GradingTask, scratch: Scratch, env: dict[str, str], limits: Limits,
                 assets: list[Path]):
        from grader.checks.probes import probe_plan, probe_seed

        self.process: subprocess.Popen | ForkedRun | None = None
        self.result: int | str | None = None
        spec = spec_for(task.assignment)
        plan = probe_plan(list(spec.checks), probe_seed(task.notebook_json.encode())) if spec else {}
        if not plan:
            return
        (scratch.probes / "plan.json").write_text(json.dumps(plan))
        (scratch.probes / "handed_in.ipynb").write_text(task.notebook_json)
        args = [str(scratch.probes / "plan.json"), str(scratch.probes / "handed_in.ipynb"), str(scratch.probes / "out")]
        env = private_asset_homes(env, scratch.probes / "runtime")
        box = None
        if task.sandbox:
            box = Box(workdir=scratch.probes, writable=(scratch.probes,), readable=tuple(assets),
                      env=box_environment(env), files=identity_files(scratch.probes / "runtime" / "etc"))
        if forks(box):
            args.append("--fork")  # TensorFlow is imported in the fork already: its children are forks too
        self.deadline = time.monotonic() + PROBES_TIMEOUT_SECONDS
        self.watch, self.disk_bytes = scratch.probes, limits.disk_bytes
        self.process = start_in_box("grader.checks.probes", args, box, limits, cwd=scratch.probes, env=env,
                                    log=scratch.root / "probes.log")
        # The disk limit is watched while the box runs, not only once the graded run is over.
        self._waiter = threading.Thread(target=self._watch, daemon=True)
        self._waiter.start()

    def _watch(self) -> None:
        self.result = wait(self.process, deadline=self.deadline, watch=self.watch, disk_bytes=self.disk_bytes)

    def wait(self) -> None:
        if self.process is not None:
            self._waiter.join()

    def cancel(self) -> None:
        if self.process is not None:
            kill(self.process)
            self._waiter.join()


def start_boxes(task: GradingTask, scratch: Scratch, prepared: Prepared) -> tuple[Evaluator, ProbesBox]:
    """The evaluator and the probes, started beside the graded run (neither left running if the other fails)."""
    evaluator = Evaluator(task, scratch, prepared.env, prepared.limits, prepared.assets)
    try:
        return evaluator, ProbesBox(task, scratch, prepared.env, prepared.limits, prepared.assets)
    except BaseException:
        evaluator.cancel()
        raise

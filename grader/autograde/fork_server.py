"""The worker's fork server: nbgrader's `autograde` and the grader's boxes, each a fresh fork of a process that
imported nbgrader and TensorFlow once.

`python -m nbgrader autograde` spends about 2 s of CPU importing nbgrader, nbconvert and jupyter_client before
it reads a notebook; the evaluator and the probes' box about 4 s each importing TensorFlow. A worker would pay
them for every submission. The standard library's fork server (multiprocessing's "forkserver") imports them
once per worker; each submission's nbgrader, evaluator and probes are fresh forks of that server. The server
never runs a student's code and never opens a student's file, so nothing passes from one submission to the
next: every run starts from the same clean copy.

- nbgrader's fork behaves as the command did: its own environment, folder and session (a timeout kills what it
  started), its output in the submission's log, its exit status. The kernel runs in its box, started by it.
- A box's fork builds its box around itself before it reads anything of the student's
  (grader.sandbox.forked_box), then runs its module as `python -m` would, inside.

Every fork dies with the server, which ends when the worker that started it does. The server listens on a Unix
socket in a private temporary folder (mode 0700, Python 3.10.9 and later), which no box mounts. Where a process
may not have children of its own (a daemonic Dask worker of someone else's cluster), the commands run as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from grader.sandbox.box import Box, Limits, box_variables
from grader.sandbox.processes import exit_as_python

# What the runs need before they read a notebook, imported once, in the server (what a run imports beyond them it
# imports itself): nbgrader's autograde, and TensorFlow with the grader's checks and probes.
PRELOAD = [
    "nbgrader.apps.nbgraderapp", "nbgrader.converters", "nbgrader.preprocessors", "nbgrader.api",
    "nbclient", "jupyter_client", "nbconvert", "grader.nbgrader_ext.preprocessors",
    "keras", "grader.checks.evaluate", "grader.checks.registry", "grader.checks.model_checks",
    "grader.checks.code_checks", "grader.checks.head_checks", "grader.checks.saved_models", "grader.checks.probes",
]
# Read by TensorFlow and Keras when they are imported, so the server must import them with the values every
# run gets (grader.assets.environment.notebook_environment).
IMPORT_TIME_VARIABLES = ("KERAS_BACKEND", "KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS",
                         "TF_DETERMINISTIC_OPS", "GLIBC_TUNABLES")
# The first line a box's log gets when its fork could not build the box (failures.box_failure).
BOX_ERROR = "forked box: "

_PR_SET_PDEATHSIG = 1
_context: multiprocessing.context.BaseContext | None = None


class ForkedRun:
    """A forked run, with the part of subprocess.Popen's interface that processes.py uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess):
        self._process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable when the process has ended (multiprocessing's)."""
        return self._process.sentinel

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self._process.name, timeout)
        return self._process.exitcode


def can_fork() -> bool:
    """Whether this process may start the fork server (multiprocessing forbids children to daemonic ones)."""
    return not multiprocessing.current_process().daemon and sys.platform.startswith("linux")


def start_nbgrader(args: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> ForkedRun:
    """`nbgrader ARGS` in a fresh fork of this worker's server (started on first use)."""
    process = _server().Process(target=_nbgrader_main, args=(list(args), str(cwd), dict(env), str(log)),
                                name="nbgrader autograde")
    process.start()
    return ForkedRun(process)


def start_module(module: str, args: list[str], *, box: Box | None, limits: Limits, cwd: Path, env: dict[str, str],
                 log: Path) -> ForkedRun:
    """`python -m MODULE ARGS` in a fresh fork of this worker's server, inside `box` (None: no box, for trusted
    notebooks). In a box, its environment and folder are the box's (`box_variables`, `box.workdir`): the rest of
    `env` is not even sent to the fork, whose memory a student's code in the box could read."""
    if box is not None:
        env, cwd = dict(box_variables(box, limits)), box.workdir
    process = _server().Process(target=_module_main, name=module,
                                args=(module, list(args), box, limits, str(cwd), dict(env), str(log)))
    process.start()
    return ForkedRun(process)


def warm() -> None:
    """Start this worker's server now and wait for its imports: once per worker, with the run's set-up, not in
    the first submission's time."""
    if can_fork():
        _server()  # it returns once the server has imported everything in PRELOAD and forked once


def _ready() -> None:
    pass


# What the server's environment holds besides IMPORT_TIME_VARIABLES: nothing of the instructor's. A box is a fork
# of the server, and a student's code can read its own memory, where the server's environment stays.
SERVER_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")


@contextlib.contextmanager
def _clean_environment() -> Iterator[None]:
    """While it is in force, multiprocessing starts the fork server with the variables it needs alone (`env -i`,
    as bubblewrap's boxes start): through a script in a private folder, since it starts the server with this
    process's whole environment."""
    from multiprocessing import spawn

    from grader.assets.environment import notebook_environment

    wanted = {name: value for name, value in notebook_environment().items()
              if name in IMPORT_TIME_VARIABLES or name in SERVER_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="course-fork-server-") as folder:
        script = Path(folder) / "python"
        assignments = " ".join(shlex.quote(f"{name}={value}") for name, value in sorted(wanted.items()))
        script.write_text(f'#!/bin/sh\nexec {shutil.which("env") or "/usr/bin/env"} -i {assignments} '
                          f'{shlex.quote(sys.executable)} "$@"\n')
        script.chmod(0o700)
        previous = spawn.get_executable()
        spawn.set_executable(str(script))
        try:
            yield
        finally:
            spawn.set_executable(previous)


def _server() -> multiprocessing.context.BaseContext:
    global _context
    if _context is None:
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        with _clean_environment():
            forkserver.ensure_running()
            # The script is read after the server's exec: it stays until the server has forked once.
            ready = context.Process(target=_ready, name="fork server ready")
            ready.start()
            ready.join()
        _context = context
    return _context


def _become_command(log: str) -> None:
    """In the forked process: killed with the server (as `setpriv --pdeathsig` did), a session of its own (a
    timeout kills everything it started), output line by line into `log`, no input."""
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    os.setsid()
    output = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # Line by line: a run killed at its time limit leaves its last lines in the log, where the reason is read.
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


def _take_environment(env: dict[str, str], cwd: str) -> None:
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # TMPDIR is read again (nbclient writes the kernel's connection file there)
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and "KERAS_HOME" in env:  # Keras read its folder when the server imported it
        config._KERAS_DIR = env["KERAS_HOME"]


def _nbgrader_main(args: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """In the forked process: become what `python -m nbgrader ARGS` with `env` in `cwd` would be, then run it."""
    _become_command(log)
    _take_environment(env, cwd)
    sys.argv = ["nbgrader", *args]
    from nbgrader.apps.nbgraderapp import main

    main()


def _module_main(module: str, args: list[str], box: Box | None, limits: Limits, cwd: str, env: dict[str, str],
                 log: str) -> None:
    """In the forked process: build the box around itself, then run MODULE as `python -m` would; never returns."""
    _become_command(log)
    if box is not None:
        from grader.sandbox.forked_box import enter_box
        from grader.sandbox.rlimits import apply_limits

        try:
            enter_box(box, limits)
            apply_limits(limits.memory_bytes, limits.file_bytes, list(limits.cpus))
        except BaseException as error:
            print(f"{BOX_ERROR}{type(error).__name__}: {error}", flush=True)
            os._exit(71)  # EX_OSERR
    _take_environment(env, cwd)
    sys.argv = [module, *args]
    # The box's program ends there, not in multiprocessing's clean-up (its pipes are closed in the box).
    exit_as_python(lambda: runpy.run_module(module, run_name="__main__", alter_sys=True))

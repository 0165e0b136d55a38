"""nbgrader's `autograde`, each submission in a fresh process forked from a server that imported nbgrader once.

`python -m nbgrader autograde` spends about 2 s of CPU importing nbgrader, nbconvert and jupyter_client before
it reads a notebook, and a worker pays it for every submission. The standard library's fork server
(multiprocessing's "forkserver") imports them once per worker; each submission's nbgrader is a fresh fork of
that server. The server never runs a student's code (the kernel runs in its box, started by the forked
process), so nothing passes from one submission to the next: every run starts from the same clean copy.

A forked run behaves as the command did: its own environment, folder and session (a timeout kills what it
started), its output in the submission's log, its exit status. It dies with the server, which ends when the
worker that started it does. The server listens on a Unix socket in a private temporary folder (mode 0700,
Python 3.10.9 and later), which no box mounts. Where a process may not have children of its own (a daemonic
Dask worker of someone else's cluster), the command runs as before.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

# The packages `nbgrader autograde` needs before it reads a notebook, imported once, in the server (what a run
# imports beyond them it imports itself). No module of TensorFlow's: the kernel imports that in its own box.
PRELOAD = [
    "nbgrader.apps.nbgraderapp", "nbgrader.converters", "nbgrader.preprocessors", "nbgrader.api",
    "nbclient", "jupyter_client", "nbconvert", "grader.nbgrader_ext.preprocessors",
]

_PR_SET_PDEATHSIG = 1
_context: multiprocessing.context.BaseContext | None = None


class ForkedRun:
    """A forked nbgrader run, with the part of subprocess.Popen's interface that processes.py uses."""

    def __init__(self, process: multiprocessing.process.BaseProcess):
        self._process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("nbgrader autograde", timeout)
        return self._process.exitcode


def can_fork_nbgrader() -> bool:
    """Whether this process may start the fork server (multiprocessing forbids children to daemonic ones)."""
    return not multiprocessing.current_process().daemon and sys.platform.startswith("linux")


def start_nbgrader(args: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> ForkedRun:
    """`nbgrader ARGS` in a fresh fork of this worker's nbgrader server (started on first use)."""
    process = _server().Process(target=_nbgrader_main, args=(list(args), str(cwd), dict(env), str(log)),
                                name="nbgrader autograde")
    process.start()
    return ForkedRun(process)


def warm() -> None:
    """Start this worker's server now: its imports run beside the rest of the run's set-up, not in the first
    submission's time."""
    if can_fork_nbgrader():
        from multiprocessing import forkserver

        _server()
        forkserver.ensure_running()


def _server() -> multiprocessing.context.BaseContext:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def _nbgrader_main(args: list[str], cwd: str, env: dict[str, str], log: str) -> None:
    """In the forked process: become what `python -m nbgrader ARGS` with `env` in `cwd` would be, then run it."""
    # Killed when the server ends (it ends with its worker), as the command was with setpriv --pdeathsig.
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
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None  # TMPDIR is read again: nbclient writes the kernel's connection file there
    sys.argv = ["nbgrader", *args]
    from nbgrader.apps.nbgraderapp import main

    main()

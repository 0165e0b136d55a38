"""The grading kernel of one submission, forked from the worker's fork server when nbgrader starts it.

nbgrader (through jupyter_client) starts a kernel as a command. Started as bubblewrap's box, the kernel is a fresh
Python that imports TensorFlow again, about 4 s of CPU per submission. Here the command is
`grader.sandbox.kernel_request`, which asks this broker, in the worker, for the kernel: a fresh fork of the worker's
fork server (which imported TensorFlow and Keras once and never runs a student's code) that builds the kernel's box
around itself (grader.sandbox.forked_box) and then runs ipykernel in it (grader.sandbox.kernel_launcher). So
every submission's kernel starts from the same clean copy, as every evaluator and probes' box does.

The broker listens on a Unix socket in a private folder (mode 0700) that no box mounts. A kernel ends when the
request that asked for it ends (jupyter_client kills it, nbgrader dies, or its run times out) and at the latest
when the submission's grading is over (`cancel`).
"""

from __future__ import annotations

import contextlib
import select
import shutil
import socket
import sys
import threading
from pathlib import Path

from grader.autograde.fork_server import BOX_ERROR, ForkedRun, start_module
from grader.sandbox.box import KERNEL_OPTIONS, Box, Limits
from grader.sandbox.processes import kill

KERNEL_MODULE = "grader.sandbox.kernel_launcher"
REQUEST_MODULE = "grader.sandbox.kernel_request"
MOST_REQUEST_BYTES = 4096


class KernelBroker:
    """Forks a kernel into `box` for each request of this submission's nbgrader, and ends it with the request."""

    def __init__(self, box: Box, limits: Limits, runtime: Path, log: Path, folder: Path):
        """`folder`: a new private folder (mode 0700) outside every box, for the socket."""
        self.box, self.limits, self.runtime, self.log = box, limits, runtime.resolve(), log
        self.folder = folder
        self.socket_path = self.folder / "socket"
        self._kernels: list[ForkedRun] = []
        self._lock = threading.Lock()
        self._closed = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.socket_path))
        self._listener.listen(4)
        threading.Thread(target=self._serve, name="kernel broker", daemon=True).start()

    def command(self) -> list[str]:
        """The kernelspec's argv: jupyter_client fills in the connection file."""
        return [sys.executable, "-m", REQUEST_MODULE, str(self.socket_path), "{connection_file}"]

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by cancel()
                return
            threading.Thread(target=self._kernel, args=(connection,), name="kernel", daemon=True).start()

    def _kernel(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while not request.endswith(b"\n") and len(request) < MOST_REQUEST_BYTES:
                chunk = connection.recv(MOST_REQUEST_BYTES)
                if not chunk:
                    return
                request += chunk
            connection_file = Path(request.decode(errors="replace").strip())
            # Only the connection files nbgrader's kernel manager writes, in the kernel's runtime folder.
            if connection_file.parent.resolve() != self.runtime or not connection_file.is_file():
                connection.sendall(f"refused: {connection_file} is not a connection file of this run\n".encode())
                return
            with self._lock:
                if self._closed:
                    return
                try:
                    process = start_module(KERNEL_MODULE, ["-f", str(connection_file), *KERNEL_OPTIONS],
                                           box=self.box, limits=self.limits, cwd=self.box.workdir, env={}, log=self.log)
                except Exception as error:  # the grader's fault: the request prints it where failures.py reads it
                    connection.sendall(f"{BOX_ERROR}{type(error).__name__}: {error}\n".encode())
                    return
                self._kernels.append(process)
            ready, _, _ = select.select([connection, process.sentinel], [], [])
            if process.sentinel in ready:
                with contextlib.suppress(OSError):
                    connection.sendall(f"exit {process.wait()}\n".encode())
            else:  # the request ended first (its connection closed): the kernel goes with it
                kill(process)

    def cancel(self) -> None:
        """End every kernel still running and stop listening."""
        with self._lock:
            self._closed = True
            kernels = list(self._kernels)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of _serve; close() alone does not
        with contextlib.suppress(OSError):
            self._listener.close()
        for process in kernels:
            kill(process)
        shutil.rmtree(self.folder, ignore_errors=True)

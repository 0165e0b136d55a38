"""`python -m grader.sandbox.kernel_request SOCKET CONNECTION_FILE`: the grading kernel's command, where the worker
forks kernels (grader.autograde.kernel_broker).

jupyter_client starts a kernel as a command and watches that process. This one asks the worker's broker, over
SOCKET, for a kernel with CONNECTION_FILE, forked from the worker's fork server (TensorFlow already imported) into
its box, then stands in for it: it exits when the kernel does, with its exit status. When this process ends for
any other reason (jupyter_client kills it, or nbgrader, its parent, dies), the broker sees the connection close
and kills the kernel and its box.

Standard library only: it starts in a few milliseconds, outside the box, and runs no code of the student's.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str] | None = None) -> int:
    socket_path, connection_file = (argv if argv is not None else sys.argv[1:])[:2]
    # Dies with nbgrader, which started it (a timeout kills nbgrader's session, not this one's).
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # jupyter_client's terminate(): exit, so that the connection closes and the broker kills the kernel.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(socket_path)
        connection.sendall(connection_file.encode() + b"\n")
        answer = b""
        while chunk := connection.recv(256):
            answer += chunk
    # The broker's last line: "exit N" once the kernel has ended, or why it could not start one.
    last = answer.decode(errors="replace").strip().splitlines()[-1:] or ["the kernel broker closed"]
    if last[0].startswith("exit "):
        code = int(last[0].split()[1])
        return 128 - code if code < 0 else code  # killed by signal -code: as a shell reports it
    print(last[0], file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())

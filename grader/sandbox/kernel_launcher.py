"""`python -m grader.sandbox.kernel_launcher -f CONNECTION_FILE`: the grading kernel, made non-dumpable first.

Every process in a box runs as the same user, and a machine without Yama's ptrace restriction lets a
process trace any other of its user. A non-dumpable process can be neither traced (ptrace) nor read
or written through /proc/PID/mem by processes without CAP_SYS_PTRACE, and nothing in the box has
capabilities: a shell command the notebook runs (`!cmd`) cannot inject code into the kernel that the
tampering tripwire never read. The flag is set before ipykernel starts, so before any student code.
"""

from __future__ import annotations

import ctypes
import os
import sys

PR_SET_DUMPABLE = 4


def make_undumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0) on this process (Linux); an error if the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_DUMPABLE, 0) failed: {os.strerror(errno)}")


INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def use_inline_plots() -> None:
    """The backend ipykernel picks, also where matplotlib was imported before the kernel started.

    ipykernel asks for its inline backend through MPLBACKEND, which matplotlib reads when it is imported. A kernel
    forked from the grader's fork server (grader.autograde.kernel_broker) finds matplotlib imported already
    (Keras imports it), its backend not yet chosen: it gets the one a fresh import would have read.
    """
    backend = os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    matplotlib = sys.modules.get("matplotlib")
    if matplotlib is not None:
        matplotlib.rcParams["backend"] = backend


def main() -> None:
    make_undumpable()
    # As ipykernel_launcher: the kernel's folder is not importable while ipykernel loads.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    use_inline_plots()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()

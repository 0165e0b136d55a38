"""The box a student's kernel runs in: no network, a private view of the disk, resource limits.

Built on bubblewrap (`bwrap`, the sandbox behind Flatpak): the kernel sees the machine read-only,
with the course folders (gradebook, hidden tests, other submissions), the solutions and the
held-out grading images replaced by empty folders, and may write only its own working folder and
a private /tmp. It gets its own network namespace (no network at all; it talks to nbgrader over
Unix sockets) and its own PID namespace (killing the box kills everything the student started).
Memory, file size and cores are capped by `grader.grading.rlimits`.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

GIB = 2**30


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine; the message says what to install."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Timeouts in seconds, sizes in bytes."""

    cell_timeout: int = 600  # CPU-profile training cells take about a minute here
    submission_timeout: float = 1800
    memory_bytes: int = 10 * GIB  # TensorFlow training reserves ~5.3 GB of address space (measured)
    file_bytes: int = 1 * GIB  # largest file the notebook may write (saved models are ~10 MB)
    output_chars: int = 100_000  # per cell, in the graded notebook and the feedback
    threads: int = 0  # TensorFlow threads per kernel; 0 = TensorFlow's own choice
    cpus: tuple[int, ...] = ()  # cores the kernel may run on; () = all


def bwrap_executable() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed, so submissions cannot be isolated. Install it "
            "(Debian/Ubuntu: `apt-get install bubblewrap`), or pass --no-sandbox to grade trusted "
            "notebooks without isolation."
        )
    return found


def thread_environment(limits: Limits) -> dict[str, str]:
    """TensorFlow's and OpenMP's own thread settings, so that parallel kernels do not fight."""
    if not limits.threads:
        return {}
    n = str(limits.threads)
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n, "OMP_NUM_THREADS": n}


def outermost(folders: list[Path]) -> list[Path]:
    """The folders not inside another one of them (an empty folder over a parent hides the child)."""
    resolved = sorted({f.resolve() for f in folders}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for folder in resolved:
        if not any(folder.is_relative_to(parent) for parent in kept):
            kept.append(folder)
    return kept


def sandbox_argv(
    command: list[str],
    *,
    workdir: Path,
    writable: list[Path],
    hidden: list[Path],
    limits: Limits,
    readable: list[Path] | None = None,
) -> list[str]:
    """`command` wrapped in bwrap and the resource limits.

    `hidden` folders appear empty; `writable` and `readable` folders (which may lie inside hidden
    ones) are mounted back, read-write or read-only.
    """
    argv = [bwrap_executable(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    hidden = outermost([p for p in hidden if p.exists()])
    for path in hidden:
        argv += ["--tmpfs", str(path)]
    for path in writable:
        argv += ["--bind", str(path), str(path)]
    for path in readable or []:
        argv += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        # Read-only too, so that nothing can be created where the real files would be.
        argv += ["--remount-ro", str(path)]
    argv += [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
        "--chdir", str(workdir),
        "--setenv", "HOME", "/tmp",
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
        "--setenv", "XDG_CACHE_HOME", "/tmp/cache",
        # ipykernel polls this parent PID, which does not exist inside the PID namespace.
        "--unsetenv", "JPY_PARENT_PID",
    ]
    for name, value in thread_environment(limits).items():
        argv += ["--setenv", name, value]
    argv += [sys.executable, "-m", "grader.grading.rlimits", "--memory", str(limits.memory_bytes),
             "--file-size", str(limits.file_bytes), "--cpus", ",".join(map(str, limits.cpus)), "--", *command]
    return argv


def write_kernelspec(
    jupyter_path: Path,
    *,
    workdir: Path,
    writable: list[Path],
    hidden: list[Path],
    limits: Limits,
    readable: list[Path] | None = None,
) -> Path:
    """A `python3` kernelspec under `jupyter_path` that starts ipykernel inside the sandbox.

    Put `jupyter_path` first on JUPYTER_PATH: jupyter_client then finds this spec before the
    native one, and nbgrader's Execute starts every kernel in the box.
    """
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": sandbox_argv(command, workdir=workdir, writable=writable, hidden=hidden, limits=limits,
                             readable=readable),
        "display_name": "Python 3 (sandboxed grading kernel)",
        "language": "python",
        "metadata": {"debugger": False},
        # A signal would reach bwrap, not the kernel: interrupts go as messages, which ipykernel
        # turns into a KeyboardInterrupt in its own process.
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir

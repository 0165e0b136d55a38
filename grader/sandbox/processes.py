"""Processes a grading run starts: output to a file, a session of their own, limits on time and disk, and
killed with the worker that started them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

DISK_POLL_SECONDS = 2.0


def tail(path: Path, lines: int = 12) -> str:
    """The last `lines` of a log (of its last 20 kB: a log can be huge)."""
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


def start(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path,
          stdin: int = subprocess.DEVNULL) -> subprocess.Popen:
    """Start with output to a file (a 100 MB print cannot fill memory), in a session of its own, so
    that a timeout kills everything it started, and ended with the worker that started it."""
    with open(log, "ab") as out:
        return subprocess.Popen(dies_with_this_worker(argv), cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=stdin, start_new_session=True)


def wait(process: subprocess.Popen, *, deadline: float, watch: Path | None = None,
         disk_bytes: int = 0) -> int | str | None:
    """The exit code; None on timeout, "disk" when the watched folder grew past `disk_bytes`."""
    while True:
        try:
            return process.wait(timeout=min(DISK_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            over_disk = watch is not None and disk_bytes and folder_size(watch) > disk_bytes
            if time.monotonic() < deadline and not over_disk:
                continue
            kill(process)
            return "disk" if over_disk else None


def kill(process: subprocess.Popen | None) -> None:
    """Kill the process and everything it started (its session), if it still runs."""
    if process is not None and process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # not yet the leader of its own session: it has started nothing yet
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


def run(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float,
        watch: Path | None = None, disk_bytes: int = 0) -> int | str | None:
    """Run to the end: the exit code, None on timeout, "disk" past the folder's limit (`wait`)."""
    deadline = time.monotonic() + timeout
    return wait(start(argv, cwd=cwd, env=env, log=log), deadline=deadline, watch=watch, disk_bytes=disk_bytes)


def exit_as_python(run: Callable[[], object]) -> NoReturn:
    """In a forked process that stands for a `python` command: `run()`, then end as the interpreter would (a
    SystemExit's code, else 0; 1 with the traceback on an error), never returning into the code it was forked
    from."""
    code = 1
    try:
        run()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

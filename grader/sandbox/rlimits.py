"""`python -m grader.sandbox.rlimits --memory N --file-size N [--cpus 0,1] -- COMMAND...`

Sets the kernel's resource limits with the operating system's own mechanism (setrlimit, CPU
affinity) and then becomes COMMAND, so the limits hold for everything the student's code starts.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys


def apply_limits(memory_bytes: int, file_bytes: int, cpus: list[int] | None) -> None:
    """Address space (a memory hog gets MemoryError, not the machine), file size, and cores."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if cpus:
        os.sched_setaffinity(0, cpus)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory", type=int, required=True, help="address-space limit in bytes")
    parser.add_argument("--file-size", type=int, required=True, help="largest file the process may write, in bytes")
    parser.add_argument("--cpus", default="", help="comma-separated cores to run on (default: all)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    apply_limits(args.memory, args.file_size, [int(c) for c in args.cpus.split(",") if c])
    os.execvp(command[0], command)


if __name__ == "__main__":
    sys.exit(main())

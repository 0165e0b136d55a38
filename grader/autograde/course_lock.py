"""One grading run per course folder at a time.

Two runs on one course (two terminals, a scheduled run beside one started by hand) would collect into
the same folders and remove each other's scratch: measured, a correct submission of the first run came
out *crashed*. The lock is the kernel's (`flock`), so a run that dies releases it with its process.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from grader.course_dir import CourseDir


class CourseBusy(RuntimeError):
    """Another run holds the course's grading lock."""


@contextmanager
def grading_lock(course: CourseDir) -> Iterator[None]:
    """Hold `course`'s grading lock while the block runs; raise CourseBusy at once if another run holds it."""
    path = course.root / ".grading" / "lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "a process that wrote nothing"
            raise CourseBusy(f"{course.root} is being graded by another run ({holder}): wait for it to finish, "
                             "or stop it; nothing was changed") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

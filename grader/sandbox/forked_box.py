"""box.py's box, built around a process forked from a server that has already imported TensorFlow.

bubblewrap builds a box and then executes its command: a fresh Python that imports TensorFlow again, about
4 s of CPU for each evaluator and each probes' box of each submission. Here a fresh fork of the worker's
fork server (grader.autograde.fork_server), which imported TensorFlow once and never runs a student's code,
builds the same box around itself, with the system calls bubblewrap makes, before it opens any file of the
student's:

- a user namespace in which it is uid 1000 ("student"), then no capabilities, no new privileges, no further
  user namespaces, and no file descriptor of the server's;
- its own PID namespace (under an init of its own, as bubblewrap's: killing it kills everything it started,
  and nothing outside is visible), network namespace (no interface but loopback), IPC, UTS (hostname
  "grading") and cgroup ones;
- a new root on a memory filesystem with what `box_mounts` lists, nothing else: the same list bubblewrap's
  options are made from (the system, Python, the box's folders, a fresh /proc, a minimal /dev, a private
  /tmp of bounded size), the root itself read-only.

Where the kernel refuses an unprivileged user namespace (Ubuntu 23.10+ AppArmor for a process without a
profile), or with `COURSE_BOXES=bubblewrap`, `can_fork_boxes()` is false and the boxes are bubblewrap's.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

from grader.sandbox.box import BOX_UID, Box, Limits, box_mounts

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 0x4000, 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 24, 38, 47, 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
# statvfs's flags of a mount, and the mount flags a read-only remount must keep (the kernel locks them).
KEPT_FLAGS = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
              (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME), (os.ST_RELATIME, MS_RELATIME))
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
# The parts of /proc bubblewrap makes read-only.
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")
BASE = "/tmp"  # any folder serves as the mount point of the box's scaffolding, in the box's own namespace

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _call(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _bytes(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _call(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
          f"mount {source or fstype} on {target}")


def _remount(target: str, read_only: bool) -> None:
    """The bind mount at `target`, nosuid and read-only if asked, keeping the flags the kernel has locked."""
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (MS_RDONLY if read_only else 0)
    kept = os.statvfs(target).f_flag
    flags |= sum(mount_flag for stat_flag, mount_flag in KEPT_FLAGS if kept & stat_flag)
    _mount(None, target, None, flags)


def _bind(source: str, target: str, read_only: bool) -> None:
    """`source` (under the machine's old root) at `target`; not recursive, so nothing mounted inside shows."""
    if Path(source).is_dir():
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            Path(target).touch()
    _mount(source, target, None, MS_BIND)
    _remount(target, read_only)


def _dev(target: str) -> None:
    """bubblewrap's --dev: a memory filesystem with the harmless devices, the usual links and a new devpts."""
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID, "mode=0755")
    for name in DEVICES:
        Path(target, name).touch()
        _mount(f"/oldroot/dev/{name}", f"{target}/{name}", None, MS_BIND)
        _mount(None, f"{target}/{name}", None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore"), ("ptmx", "pts/ptmx")):
        os.symlink(link, f"{target}/{name}")
    os.mkdir(f"{target}/shm", 0o1777)
    # Pseudo-terminals of the box's own (a kernel's `!command` runs in one), none of the machine's.
    os.mkdir(f"{target}/pts")
    _mount("devpts", f"{target}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")


def _proc(target: str) -> None:
    """A /proc of the box's own PID namespace; no further user namespaces; then bubblewrap's read-only parts."""
    os.makedirs(target, exist_ok=True)
    _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # bubblewrap's --disable-userns: this namespace may create no user namespace inside it.
    Path(target, "sys/user/max_user_namespaces").write_text("0")
    for name in PROC_READ_ONLY:
        if os.path.exists(f"{target}/{name}"):
            _mount(f"{target}/{name}", f"{target}/{name}", None, MS_BIND | MS_REC)
            _remount(f"{target}/{name}", read_only=True)


def _build_root(box: Box, limits: Limits) -> None:
    """The box's file system from `box_mounts`, then made the root; the machine's root is detached."""
    mounts = box_mounts(box, limits)
    # Sources resolved while the machine's root is still the root: an absolute link (/etc/localtime) points there.
    sources = {m.source: os.path.realpath(m.source) for m in mounts if m.kind in ("ro-bind", "bind")}
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    os.mkdir(f"{BASE}/oldroot")
    os.mkdir(f"{BASE}/newroot")
    os.chdir(BASE)
    _call(_libc.syscall(SYS_PIVOT_ROOT, b".", b"oldroot"), "pivot_root")
    os.chdir("/")
    _mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for mount in mounts:
        target = "/newroot" + mount.dest
        if mount.kind in ("ro-bind", "bind"):
            _bind("/oldroot" + sources[mount.source], target, read_only=mount.kind == "ro-bind")
        elif mount.kind == "symlink":
            os.symlink(mount.source, target)
        elif mount.kind == "proc":
            _proc(target)
        elif mount.kind == "dev":
            _dev(target)
        elif mount.kind == "tmpfs":
            os.makedirs(target, exist_ok=True)
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={mount.size},mode=1777")
        elif mount.kind == "remount-ro":
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        else:
            raise ValueError(f"unknown mount kind {mount.kind!r}")
    os.chdir("/newroot")
    # pivot_root(".", "."): the new root on top, the scaffolding (with the old root) under it, then detached.
    _call(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _call(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """No capability left, none to regain (bounding and ambient sets emptied, no new privileges)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        _call(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop a capability from the bounding set")
    _call(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear the ambient capabilities")
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()  # _LINUX_CAPABILITY_VERSION_3, all zero
    _call(_libc.capset(ctypes.byref(header), data), "capset")
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no new privileges")


def _close_inherited_files() -> None:
    """Only standard input, output and error stay open: the server's sockets and pipes do not reach the box."""
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def _exit_as(child: int) -> None:
    """In the process between the server and the box: wait for the box, end the way it ended."""
    _close_inherited_files()
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _init(payload: int) -> None:
    """The box's PID 1, as bubblewrap's: it reaps what the payload leaves and ends when the payload ends (the
    box and everything in it with it). The payload is not PID 1 itself, which ignores its own SIGKILL: a
    kernel that kills itself dies, as it would on the student's machine."""
    _close_inherited_files()
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == payload:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)  # killed by signal -code: as a shell reports it


def enter_box(box: Box, limits: Limits) -> None:
    """Make this freshly forked, single-threaded process a box; it returns in the box, as PID 2, under an init.

    Its parent stays outside, waits, and exits as the box did; the box dies with it (parent-death signal),
    so a caller that kills the process it forked kills the box and everything in it.
    """
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if _libc.unshare(flags | CLONE_NEWCGROUP) != 0:  # a kernel without cgroup namespaces: as --unshare-cgroup-try
        _call(_libc.unshare(flags), "unshare the namespaces")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{BOX_UID} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{BOX_UID} {gid} 1")
    child = os.fork()
    if child:
        _exit_as(child)
    _call(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "parent-death signal")
    _close_inherited_files()
    _build_root(box, limits)
    _call(_libc.sethostname(b"grading", 7), "sethostname")
    _drop_capabilities()
    payload = os.fork()
    if payload:
        _init(payload)


# Run in a fresh interpreter: what the kernel allows a process of this user (a fork of a threaded worker must not).
_CAN_BUILD = """
import os
from pathlib import Path
from grader.sandbox import forked_box as f
uid = os.getuid()
f._call(f._libc.unshare(f.CLONE_NEWUSER | f.CLONE_NEWNS | f.CLONE_NEWPID | f.CLONE_NEWNET), "unshare")
Path("/proc/self/setgroups").write_text("deny")
Path("/proc/self/uid_map").write_text(f"{f.BOX_UID} {uid} 1")
f._mount(None, "/", None, f.MS_REC | f.MS_PRIVATE)
f._mount("tmpfs", f.BASE, "tmpfs", f.MS_NOSUID | f.MS_NODEV, "size=4096")
print("box ok")
"""


@functools.cache
def can_fork_boxes() -> bool:
    """Whether a process may build a box here: the kernel allows this user namespaces and mounts in them, and
    `COURSE_BOXES=bubblewrap` does not ask for bubblewrap's boxes instead."""
    if os.environ.get("COURSE_BOXES") == "bubblewrap":
        return False
    if SYS_PIVOT_ROOT is None or not sys.platform.startswith("linux"):
        return False
    try:
        run = subprocess.run([sys.executable, "-c", _CAN_BUILD], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0 and "box ok" in run.stdout

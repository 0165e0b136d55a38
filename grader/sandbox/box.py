"""The box a student's kernel (and the grader's evaluation) runs in: an allowlist, not a blocklist.

Built on bubblewrap (`bwrap`, the sandbox behind Flatpak). A process in the box sees only:
- the system's programs and libraries (`/usr` and its merged-usr links, a few files of `/etc`),
  the Python installation and the project's virtual environment, the `grader` package;
- the prepared weights and datasets (never the held-out grading photos: they are not mounted);
- what its caller lists: its own working folder (writable), and read-only folders;
- a private `/tmp` of bounded size, a fresh `/proc` and a minimal `/dev`.
Nothing else of the machine exists inside: no home folders, no course folder, no gradebook, no
other submission, no solutions. It runs as uid 1000 ("student") in its own user namespace with no
capabilities, may not create further user namespaces, has no network (its own empty network
namespace: it talks to nbgrader over Unix sockets), its own PID namespace (killing the box kills
everything the student started), and an environment built from a short allowlist. Memory, file
size and cores are capped by `grader.sandbox.rlimits`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader import paths

GIB = 2**30

# The box's user: unprivileged, named so that libraries that look the user up find one.
BOX_UID = 1000
PASSWD = "student:x:1000:1000:student:/tmp:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n"
GROUP = "student:x:1000:\nnogroup:x:65534:\n"

# The only variables of the grader's environment that reach a box: the notebooks' own settings,
# the asset locations, TensorFlow's thread and determinism switches, glibc's allocator settings
# (grader.assets.environment.MALLOC_TUNABLES) and the locale.
PASSED_THROUGH = (
    "COURSE_PROFILE", "COURSE_SEED",
    "KERAS_HOME", "KERAS_BACKEND", "TFDS_DATA_DIR", "TFHUB_CACHE_DIR", "IPYTHONDIR",
    "TF_CPP_MIN_LOG_LEVEL", "TF_DETERMINISTIC_OPS", "TF_ENABLE_ONEDNN_OPTS", "GLIBC_TUNABLES",
    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "TZ",
)

# Files of /etc a Python process may look at (dynamic linker, time zone, name service, certificates).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "ssl", "alternatives")


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine; the message says what to do."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Timeouts in seconds, sizes in bytes."""

    cell_timeout: int = 600  # CPU-profile training cells take about a minute here
    submission_timeout: float = 1800
    memory_bytes: int = 10 * GIB  # TensorFlow training reserves ~5.3 GB of address space (measured)
    file_bytes: int = 1 * GIB  # largest file the notebook may write (saved models are ~10 MB)
    disk_bytes: int = 2 * GIB  # everything the notebook writes into its working folder
    tmp_bytes: int = 1 * GIB  # the private /tmp (memory-backed)
    output_chars: int = 100_000  # per cell, in the graded notebook and the feedback
    threads: int = 0  # TensorFlow threads per kernel; 0 = TensorFlow's own choice
    cpus: tuple[int, ...] = ()  # cores the kernel may run on; () = all


@dataclass(frozen=True)
class Box:
    """What one sandboxed process sees besides the system and Python: its folders and environment."""

    workdir: Path
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # already filtered by `box_environment`
    files: tuple[tuple[Path, Path], ...] = ()  # (file outside, path inside), read-only


def bwrap_executable() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed, so submissions cannot be isolated. Install it "
            "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; `make` does it), or pass --no-sandbox to grade "
            "trusted notebooks without isolation."
        )
    return found


def thread_environment(limits: Limits) -> dict[str, str]:
    """TensorFlow's and OpenMP's own thread settings, so that parallel kernels do not fight."""
    if not limits.threads:
        return {}
    n = str(limits.threads)
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n, "OMP_NUM_THREADS": n}


def box_environment(env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """The allowlisted part of `env` (plus the names in `extra`), and the box's own fixed settings."""
    kept = {name: env[name] for name in (*PASSED_THROUGH, *extra) if name in env}
    kept.update({
        "HOME": "/tmp",
        "USER": "student",
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "XDG_CACHE_HOME": "/tmp/cache",
        "PYTHONNOUSERSITE": "1",
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
    })
    kept.setdefault("LANG", "C.UTF-8")
    return tuple(sorted(kept.items()))


def python_folders() -> list[Path]:
    """The interpreter, its standard library, the virtual environment and the `grader` package."""
    folders = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent,
               paths.REPO_ROOT / "grader"]
    return [f for f in folders if not _is_system(f)]


def asset_folders(env: dict[str, str], mirror: Path | None) -> list[Path]:
    """The prepared weights, datasets, hub modules and IPython start-up files, and the folders of the
    mirror they link to. The mirror's photos are not among them: the held-out grading photos stay out."""
    folders = [Path(env[n]) for n in ("KERAS_HOME", "TFDS_DATA_DIR", "TFHUB_CACHE_DIR", "IPYTHONDIR")
               if env.get(n) and Path(env[n]).is_dir()]
    if mirror is not None:
        from grader.assets.catalog import load_catalog

        folders += [(mirror / a.mirror).parent for a in load_catalog() if a.kind in ("weights", "files") and a.mirror]
    return [f for f in folders if f.is_dir()]


def _is_system(path: Path) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(root) for root in (Path("/usr"),))


@dataclass(frozen=True)
class Mount:
    """One step of building a box, named after bubblewrap's option that takes it."""

    kind: str  # "ro-bind", "bind", "symlink", "proc", "dev", "tmpfs" or "remount-ro"
    dest: str
    source: str = ""  # the folder or file outside (binds), or the link's target (symlink)
    size: int = 0  # tmpfs: its size in bytes


def _system_mounts() -> list[Mount]:
    mounts = [Mount("ro-bind", "/usr", "/usr")]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            mounts.append(Mount("symlink", str(top), str(top.readlink())))
        elif top.is_dir():
            mounts.append(Mount("ro-bind", str(top), str(top)))
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            mounts.append(Mount("ro-bind", f"/etc/{name}", f"/etc/{name}"))
    if Path("/sys/devices/system/cpu").is_dir():  # core counts and caches, for TensorFlow and oneDNN
        mounts.append(Mount("ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"))
    return mounts


def _outermost(folders: list[Path]) -> list[Path]:
    """Each folder once, parents before children, children of a listed parent dropped."""
    resolved = sorted({f.resolve() for f in folders}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for folder in resolved:
        if not any(folder.is_relative_to(parent) for parent in kept):
            kept.append(folder)
    return kept


def box_mounts(box: Box, limits: Limits) -> list[Mount]:
    """What a box sees, in the order it is built: bubblewrap's options (`sandbox_argv`) and the forked
    boxes' system calls (forked_box.py) are both made from this one list."""
    mounts = [*_system_mounts(), Mount("proc", "/proc"), Mount("dev", "/dev"),
              Mount("tmpfs", "/tmp", size=limits.tmp_bytes)]
    mounts += [Mount("ro-bind", str(inside), str(outside)) for outside, inside in box.files]
    writable = _outermost(list(box.writable))
    readable = [p for p in _outermost([*python_folders(), *box.readable]) if p.exists()]
    # Read-only folders first, so that a writable folder inside one (a checkout's build/) is mounted over it.
    mounts += [Mount("ro-bind", str(path), str(path)) for path in readable]
    mounts += [Mount("bind", str(path), str(path)) for path in writable]
    # The box's own root (where the mount points were made) read-only: nothing can be created beside them.
    return [*mounts, Mount("remount-ro", "/")]


def _bwrap_options(mount: Mount) -> list[str]:
    if mount.kind in ("ro-bind", "bind", "symlink"):
        return [f"--{mount.kind}", mount.source, mount.dest]
    if mount.kind == "tmpfs":
        return ["--size", str(mount.size), "--tmpfs", mount.dest]
    return [f"--{mount.kind}", mount.dest]


def sandbox_argv(command: list[str], box: Box, limits: Limits) -> list[str]:
    """`command` wrapped in bwrap and the resource limits, seeing only what `box` allows."""
    argv = [
        # bwrap's own environment is visible inside the box (/proc/1/environ of its init): start it empty.
        shutil.which("env") or "/usr/bin/env", "-i", bwrap_executable(),
        "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--disable-userns", "--uid", str(BOX_UID), "--gid", str(BOX_UID), "--cap-drop", "ALL",
        "--hostname", "grading", "--die-with-parent", "--new-session", "--clearenv",
    ]
    for mount in box_mounts(box, limits):
        argv += _bwrap_options(mount)
    argv += ["--chdir", str(box.workdir)]
    for name, value in box_variables(box, limits):
        argv += ["--setenv", name, value]
    argv += [sys.executable, "-m", "grader.sandbox.rlimits", "--memory", str(limits.memory_bytes),
             "--file-size", str(limits.file_bytes), "--cpus", ",".join(map(str, limits.cpus)), "--", *command]
    return argv


def box_variables(box: Box, limits: Limits) -> list[tuple[str, str]]:
    """The whole environment of a process in `box`."""
    return [*box.env, *thread_environment(limits).items()]


def identity_files(folder: Path) -> tuple[tuple[Path, Path], ...]:
    """/etc/passwd and /etc/group naming only the box's user, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(PASSWD)
    (folder / "group").write_text(GROUP)
    return ((folder / "passwd", Path("/etc/passwd")), (folder / "group", Path("/etc/group")))


# nbgrader fails a test cell that wrote to stderr. ipykernel 6+ also forwards what C/C++ libraries write
# to the process's file descriptor 2 (TensorFlow's own log lines) into the cell's stderr: a solution's test
# then failed on a TensorFlow log line. Python's own stderr (warnings, print(file=sys.stderr)) still reaches
# the cell; the libraries' lines go to the grading log.
# ipykernel, made non-dumpable before any student code runs (kernel_launcher.py: no ptrace into it).
KERNEL_OPTIONS = ["--IPKernelApp.capture_fd_output=False"]
KERNEL_COMMAND = [sys.executable, "-m", "grader.sandbox.kernel_launcher", "-f", "{connection_file}", *KERNEL_OPTIONS]


def write_kernelspec(jupyter_path: Path, box: Box | None, limits: Limits, command: list[str] | None = None) -> Path:
    """A `python3` kernelspec under `jupyter_path` that starts ipykernel inside the sandbox (`box`; None:
    without one, for trusted notebooks), or with `command`, which starts the kernel in its box itself
    (grader.autograde.kernel_broker).

    Put `jupyter_path` first on JUPYTER_PATH: jupyter_client then finds this spec before the
    native one, and nbgrader's Execute starts every kernel with it.
    """
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": command or (sandbox_argv(KERNEL_COMMAND, box, limits) if box else KERNEL_COMMAND),
        "display_name": "Python 3 (grading kernel)",
        "language": "python",
        "metadata": {"debugger": False},
        # A signal would reach bwrap or the kernel's request (kernel_request.py), not the kernel: interrupts go
        # as messages, which ipykernel turns into a KeyboardInterrupt in its own process.
        "interrupt_mode": "message",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def _link_tree(source: Path, target: Path, skip: Callable[[Path], bool] = lambda folder: False) -> None:
    """`target` mirrors `source`: real folders, and links to its files (nothing large is copied).

    Folders of `source` for which `skip` holds are left out, with everything under them.
    """
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = [name for name in subfolders if not skip(Path(folder, name))]
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            (here / name).symlink_to(Path(folder, name).resolve())


def _extracted_download(folder: Path) -> bool:
    """A folder that `keras.utils.get_file(..., extract=True)` unpacked in `datasets/`: `<name>` beside the
    download `<name>_archive`, or `<stem>_extracted` (a name with a dot).

    Keras unpacks the archive again on every call. Linked into a box, each member would be skipped as a
    link that leaves the folder (a warning each: hundreds of lines in the student's feedback); and the
    files behind the links are the ones that unboxed kernels (nbval's, an instructor's) rewrite when they
    unpack it again. Left out, each box unpacks its own copy from the linked archive.
    """
    return folder.parent.name == "datasets" and (
        folder.with_name(folder.name + "_archive").is_file() or folder.name.endswith("_extracted"))


def private_asset_homes(env: dict[str, str], runtime: Path) -> dict[str, str]:
    """`env` with IPython's and Keras's folders replaced by private folders of links in `runtime`.

    IPython and Keras use their folders only if they can write them (Keras falls back to
    /tmp/.keras and downloads), and the originals are shared by every submission.
    """
    env = dict(env)
    for name, folder in (("IPYTHONDIR", "ipython"), ("KERAS_HOME", "keras")):
        if env.get(name) and Path(env[name]).is_dir():
            _link_tree(Path(env[name]), runtime / folder, skip=_extracted_download)
            env[name] = str(runtime / folder)
    return env

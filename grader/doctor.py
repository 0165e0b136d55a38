"""`course doctor`: what grading needs, and whether this machine has it, on one screen.

Each line is a requirement, its state (ok, warn, FAIL) and what was found or what to do. It
changes nothing: the sandbox check starts one box and removes it.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader import paths

OK, WARN, FAIL = "ok", "warn", "FAIL"
MIN_MEMORY_GIB = 8  # one CPU-profile training kernel peaks at ~2.3 GB resident, 5.3 GB of address space
MIN_DISK_GIB = 5  # the venv, prepared assets and a class's scratch folders
PACKAGES = ("tensorflow", "keras", "tf-keras", "tensorflow-datasets", "tensorflow-hub", "nbgrader", "jupytext",
            "nbval", "dask", "distributed")
APPARMOR_USERNS = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


@dataclass(frozen=True)
class Finding:
    what: str
    state: str
    detail: str


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (paths.REPO_ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if version and not line.startswith("#"):
            pins[name.strip().lower()] = version.strip()
    return pins


def packages() -> list[Finding]:
    pins = _pinned()
    findings = []
    for name in PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            findings.append(Finding(name, FAIL, "not installed: run `make` (it builds .venv from requirements.txt)"))
            continue
        pinned = pins.get(name)
        state = OK if pinned in (None, version) else WARN
        findings.append(Finding(name, state, version + ("" if state == OK else f" (requirements.txt pins {pinned})")))
    return findings


def machine() -> list[Finding]:
    cores = len(os.sched_getaffinity(0))
    memory = _meminfo_gib("MemTotal")
    available = _meminfo_gib("MemAvailable")
    build = paths.build_dir()
    build.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(build).free / 2**30
    return [
        Finding("python", OK if sys.version_info >= (3, 10) else FAIL,
                f"{platform.python_version()} ({sys.executable})"),
        Finding("cores", OK, f"{cores}: one grading worker per core (`--workers N` to change)"),
        Finding("memory", OK if memory >= MIN_MEMORY_GIB else WARN,
                f"{memory:.1f} GiB, {available:.1f} GiB available; each worker's kernel may use up to 10 GiB of "
                "address space (`--memory-gb`)"),
        Finding("disk", OK if free >= MIN_DISK_GIB else WARN, f"{free:.1f} GiB free under {build}"),
    ]


def _meminfo_gib(field: str) -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def sandbox() -> list[Finding]:
    from grader.assets.environment import notebook_environment
    from grader.sandbox.box import SandboxError, asset_folders
    from grader.sandbox.preflight import check_sandbox

    findings = []
    if APPARMOR_USERNS.is_file():
        restricted = APPARMOR_USERNS.read_text().strip() == "1"
        findings.append(Finding("apparmor userns", WARN if restricted else OK,
                                "unprivileged user namespaces restricted by AppArmor" if restricted
                                else "unprivileged user namespaces allowed"))
    try:
        env = notebook_environment()
        version = check_sandbox(asset_folders(env, paths.mirror_dir()), env)
        findings.append(Finding("sandbox", OK, f"{version}: a kernel's box starts and runs Python"))
    except SandboxError as error:
        findings.append(Finding("sandbox", FAIL, str(error)))
    from grader.sandbox.forked_box import can_fork_boxes

    findings.append(Finding("forked boxes", OK, "the kernel's, the evaluator's and the probes' boxes are forks of a "
                            "server that imported TensorFlow once") if can_fork_boxes() else Finding(
        "forked boxes", WARN, "this Python may not create a user namespace (AppArmor?), so the kernel's, the "
        "evaluator's and the probes' boxes are bubblewrap's: as closed, about 4 s of CPU more each per submission. "
        "To fork them: "
        "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile allowing `userns` "
        f"for {Path(sys.executable).resolve()}"))
    return findings


def assets() -> list[Finding]:
    from grader.assets.environment import status

    mirror = paths.mirror_dir()
    if mirror is None:
        return [Finding("assets", OK, "online: the notebooks download the official files (no offline mirror)")]
    rows = status()
    not_ready = [r.asset for r in rows if r.status == "not prepared"]
    missing = [r.asset for r in rows if r.status.startswith("missing")]
    findings = [Finding("asset mirror", OK, str(mirror))]
    findings.append(Finding("prepared assets", WARN if not_ready else OK,
                            f"{len(rows) - len(not_ready) - len(missing)} of {len(rows)} ready"
                            + (f"; run `course assets prepare` for {', '.join(not_ready)}" if not_ready else "")))
    if missing:
        findings.append(Finding("missing assets", WARN, f"{', '.join(missing)}: checks that need them report "
                                                         "NOT MEASURED (`course assets status`)"))
    return findings


def diagnose() -> list[Finding]:
    return [*machine(), *packages(), *sandbox(), *assets()]


def format_findings(findings: list[Finding]) -> str:
    width = max(len(f.what) for f in findings)
    lines = []
    for f in findings:
        first, *rest = f.detail.splitlines() or [""]
        lines.append(f"{f.state:<4}  {f.what.ljust(width)}  {first}")
        lines += [" " * (width + 8) + line for line in rest]
    return "\n".join(lines)

"""Before anyone is graded: does the sandbox start on this machine, and can Python run inside it?

A box that cannot start would otherwise make every submission "crash" and blame the students.
One short run of the same box a kernel gets (`python -c "import ipykernel"` inside) tells, and
its failure becomes one message naming the cause and the fix.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from grader.sandbox.box import Box, Limits, SandboxError, box_environment, identity_files, sandbox_argv

PREFLIGHT_TIMEOUT_SECONDS = 120

USERNS_FIX = (
    "bubblewrap cannot create the user namespace the grading sandbox needs. On Ubuntu 23.10 and later "
    "(GitHub's ubuntu-latest runners too) AppArmor forbids unprivileged user namespaces by default. Fix, "
    "one of:\n"
    "  sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   (until reboot; persist it in "
    "/etc/sysctl.d/)\n"
    "  an AppArmor profile that allows bwrap `userns` (see /etc/apparmor.d/ and Ubuntu's bwrap-userns-restrict)\n"
    "  --no-sandbox, only for notebooks you trust (no isolation at all)\n"
    "On other systems: `sysctl kernel.unprivileged_userns_clone=1` (Debian before 11) or "
    "`user.max_user_namespaces` > 0."
)

# What bwrap prints when the kernel refuses it a namespace (AppArmor, sysctl, seccomp of a container).
USERNS_MESSAGES = ("setting up uid map", "No permissions to create", "Creating new namespace failed",
                   "unshare", "Operation not permitted")


def explain(stderr: str) -> str:
    """The instructor's message for a box that failed to start, from what bwrap printed."""
    tail = "\n".join(stderr.strip().splitlines()[-5:])
    if any(m in stderr for m in USERNS_MESSAGES):
        return f"{USERNS_FIX}\nbwrap said: {tail}"
    return ("the grading sandbox starts, but Python cannot run inside it, so no kernel could start. "
            f"What failed:\n{tail}\nRun `course doctor` for what grading needs; pass --no-sandbox only for "
            "trusted notebooks.")


def check_sandbox(readable: list[Path] | None = None, env: dict[str, str] | None = None) -> str:
    """Start the kernel's box once; return bubblewrap's version line, or raise SandboxError with the fix."""
    from grader.sandbox.box import bwrap_executable

    bwrap = bwrap_executable()
    with tempfile.TemporaryDirectory(prefix="course-preflight-") as scratch:
        folder = Path(scratch)
        box = Box(workdir=folder, writable=(folder,), readable=tuple(readable or ()),
                  env=box_environment(env or {}), files=identity_files(folder / "etc"))
        argv = sandbox_argv([sys.executable, "-c", "import ipykernel, grader.sandbox.rlimits; print('box ok')"],
                            box, Limits())
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=PREFLIGHT_TIMEOUT_SECONDS,
                                    stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as error:
            raise SandboxError(f"the grading sandbox did not start within {PREFLIGHT_TIMEOUT_SECONDS} s") from error
        except OSError as error:
            raise SandboxError(f"{bwrap} cannot be run: {error}") from error
    if result.returncode != 0 or "box ok" not in result.stdout:
        raise SandboxError(explain(result.stderr or result.stdout))
    version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.strip()
    return version or "bubblewrap"

"""The sandbox's preflight and its failures: a machine whose bubblewrap cannot create namespaces (Ubuntu
23.10+ AppArmor, GitHub's runners) grades no one and says why; a box that fails at a kernel's start is
the grader's error, never the student's crash; a box under /tmp works."""

import os
import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from grader.assets.environment import MALLOC_TUNABLES, notebook_environment
from grader.autograde.class_run import autograde
from grader.doctor import FAIL, diagnose, format_findings
from grader.result import GRADER_ERROR
from grader.sandbox.box import (
    Box,
    Limits,
    SandboxError,
    box_environment,
    identity_files,
    private_asset_homes,
    sandbox_argv,
)
from grader.sandbox.forked_box import can_fork_boxes
from grader.sandbox.preflight import check_sandbox
from tests.autograde.test_isolation import ASSIGNMENT, SOLUTION, handed_in, plain_env

REAL_BWRAP = "/usr/bin/bwrap"
pytestmark = pytest.mark.skipif(not Path(REAL_BWRAP).exists(), reason="bubblewrap is not installed here")


def fake_bwrap(folder: Path, script: str, monkeypatch) -> None:
    """A `bwrap` first on PATH that behaves as `script` says (bash)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bwrap").write_text(f"#!/bin/bash\n{script}\n")
    (folder / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


APPARMOR_REFUSAL = 'echo "bwrap: setting up uid map: Permission denied" >&2; exit 1'


def test_a_bwrap_without_user_namespaces_stops_the_preflight_with_the_fix(tmp_path, monkeypatch):
    fake_bwrap(tmp_path / "bin", APPARMOR_REFUSAL, monkeypatch)
    with pytest.raises(SandboxError) as error:
        check_sandbox()
    message = str(error.value)
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in message
    assert "AppArmor profile" in message and "--no-sandbox" in message
    assert "setting up uid map: Permission denied" in message


def test_autograde_grades_no_one_when_the_sandbox_cannot_start(tiny_course, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION)]
    fake_bwrap(tmp_path / "bin", APPARMOR_REFUSAL, monkeypatch)
    with pytest.raises(SandboxError, match="apparmor_restrict_unprivileged_userns"):
        autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1)
    assert not (tiny_course.root / "grading_journal.jsonl").exists()
    assert not (tiny_course.root / "gradebook.db").exists() or "ann" not in _students(tiny_course)


def _students(course) -> set[str]:
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook:
        return {s.id for s in gradebook.students}


def test_a_box_that_fails_at_kernel_start_is_a_grader_error_not_a_crash(tiny_course, tmp_path, monkeypatch):
    """The preflight passes (the machine changed afterwards, say): the student is not blamed, and the
    next run grades them again. bubblewrap's kernel box (COURSE_BOXES=bubblewrap)."""
    monkeypatch.setenv("COURSE_BOXES", "bubblewrap")
    fake_bwrap(tmp_path / "bin", f'''if [[ "$*" == *"box ok"* ]]; then exec {REAL_BWRAP} "$@"; fi
echo "bwrap: Can't mount proc on /newroot/proc: Operation not permitted" >&2; exit 1''', monkeypatch)
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION)]
    (result,) = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1)
    assert result.status == GRADER_ERROR, (result.status, result.reason)
    assert "not the student's fault" in result.reason and "Can't mount proc" in result.reason
    monkeypatch.setenv("PATH", os.environ["PATH"].split(os.pathsep, 1)[1])
    (again,) = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1)
    assert again.status == "graded" and "already graded" not in again.reason


@pytest.mark.skipif(not can_fork_boxes(), reason="this machine allows no user namespace to a forked process")
def test_a_forked_kernel_box_that_fails_is_a_grader_error_not_a_crash(tiny_course, tmp_path):
    """The kernel forked into its box (grader.autograde.kernel_broker) whose box cannot be built: its private
    /tmp cannot be mounted (a size the kernel refuses). The student is not blamed; with a box that can be built
    the next run grades them."""
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", SOLUTION)]
    broken = Limits(tmp_bytes=-1)
    (result,) = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), limits=broken, workers=1)
    assert result.status == GRADER_ERROR, (result.status, result.reason)
    assert "not the student's fault" in result.reason and "forked box: " in result.reason, result.reason
    (again,) = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1)
    assert again.status == "graded" and again.reason == "", again.reason


def test_a_box_sees_folders_under_tmp_and_nothing_else_of_tmp(tmp_path):
    """A checkout, venv or course folder under /tmp is mounted into the box's private /tmp."""
    assert str(tmp_path).startswith("/tmp/"), "pytest's tmp_path is under /tmp here"
    visible, neighbour = tmp_path / "visible", tmp_path / "neighbour"
    visible.mkdir()
    neighbour.mkdir()
    (visible / "data.txt").write_text("seen")
    (neighbour / "secret.txt").write_text("not seen")
    box = Box(workdir=visible, readable=(visible,), env=box_environment({}), files=identity_files(tmp_path / "etc"))
    code = (f"import os; print(open({str(visible / 'data.txt')!r}).read(), "
            f"os.path.exists({str(neighbour / 'secret.txt')!r}))")
    result = subprocess.run(sandbox_argv([sys.executable, "-c", code], box, Limits()), capture_output=True, text=True)
    assert result.stdout.split() == ["seen", "False"], result.stderr


# Twenty 64 MB arrays made and freed one after another: the page faults of the last twenty.
FAULTS_OF_FREED_BLOCKS = """import resource, numpy as np
a = np.ones(2**23); del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    a = np.ones(2**23); del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator settings are glibc's")
def test_a_box_reuses_freed_memory_instead_of_faulting_it_in_again(tmp_path):
    """The kernels' allocator settings reach the box, and glibc keeps large freed blocks for reuse."""
    env = dict(box_environment(notebook_environment()))
    assert env["GLIBC_TUNABLES"] == MALLOC_TUNABLES
    faults = {}
    for setting in ("tuned", "glibc's default"):
        box_env = env if setting == "tuned" else {k: v for k, v in env.items() if k != "GLIBC_TUNABLES"}
        box = Box(workdir=tmp_path, readable=(tmp_path,), env=tuple(box_env.items()),
                  files=identity_files(tmp_path / "etc"))
        result = subprocess.run(sandbox_argv([sys.executable, "-c", FAULTS_OF_FREED_BLOCKS], box, Limits()),
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        faults[setting] = int(result.stdout)
    assert faults["tuned"] * 10 < faults["glibc's default"], faults


def test_doctor_names_a_sandbox_that_cannot_start(tmp_path, monkeypatch):
    fake_bwrap(tmp_path / "bin", APPARMOR_REFUSAL, monkeypatch)
    findings = {f.what: f for f in diagnose()}
    assert findings["sandbox"].state == FAIL
    assert "apparmor_restrict_unprivileged_userns=0" in findings["sandbox"].detail
    for what in ("cores", "memory", "disk", "tensorflow", "nbgrader"):
        assert what in findings
    assert "FAIL  sandbox" in format_findings(list(findings.values()))


UNPACK = """import os, keras
folder = keras.utils.get_file("photos", origin="https://example.invalid/photos.tgz", extract=True)
path = os.path.join(folder, "photos", "daisy", "1.jpg")
print(open(path).read(), os.path.islink(path))"""


def test_a_box_unpacks_its_own_copy_of_a_downloaded_archive(tmp_path):
    """`get_file(extract=True)` unpacks again on every call: a box gets the archive, not the shared unpacked
    folder (whose files unboxed kernels rewrite), and unpacks it without a warning per member."""
    home, runtime = tmp_path / "keras_home", tmp_path / "runtime"
    (tmp_path / "photos" / "daisy").mkdir(parents=True)
    (tmp_path / "photos" / "daisy" / "1.jpg").write_text("a daisy")
    (home / "datasets").mkdir(parents=True)
    with tarfile.open(home / "datasets" / "photos_archive", "w") as archive:
        archive.add(tmp_path / "photos", arcname="photos")
    shutil.copytree(tmp_path / "photos", home / "datasets" / "photos" / "photos")  # as an unboxed call left it
    (home / "models").mkdir()
    (home / "models" / "weights.h5").write_text("weights")

    env = private_asset_homes({"KERAS_HOME": str(home)}, runtime)
    private = Path(env["KERAS_HOME"])
    assert (private / "models" / "weights.h5").is_symlink() and (private / "datasets" / "photos_archive").is_symlink()
    assert not (private / "datasets" / "photos").exists()
    box = Box(workdir=runtime, writable=(runtime,), readable=(home,), env=box_environment(env),
              files=identity_files(tmp_path / "etc"))
    result = subprocess.run(sandbox_argv([sys.executable, "-c", UNPACK], box, Limits()), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[-2] == "a daisy False"
    assert "Skipping" not in result.stderr

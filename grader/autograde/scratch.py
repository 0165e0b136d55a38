"""A submission's scratch course: a private copy of the grading kit, the runtime folders of its kernel, its
evaluator and its probes, and the environments and nbgrader settings that point at them."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader.assets.environment import asset_environment
from grader.autograde.fork_server import can_fork
from grader.autograde.kernel_broker import KernelBroker
from grader.autograde.task import GradingTask
from grader.collect.cells import SKIP_TAG
from grader.course_dir import CourseDir
from grader.sandbox.box import (
    Box,
    Limits,
    asset_folders,
    box_environment,
    identity_files,
    private_asset_homes,
    thread_environment,
    write_kernelspec,
)
from grader.sandbox.forked_box import can_fork_boxes

# Lists, in a scratch folder, the folders it made outside it: a run killed half-way (Ctrl-C, the OOM
# killer) cannot remove them itself, and the next run removes them with the scratch (`remove_scratch`).
OUTSIDE_FOLDERS = "outside-folders.txt"
OUTSIDE_PREFIX = "course-"


class Scratch:
    """Folders of one grading run: a private course, the kernel's and the evaluator's runtime files, logs."""

    def __init__(self, task: GradingTask):
        self.root = Path(task.scratch_root) / f"{task.assignment}-{task.student}-{uuid.uuid4().hex[:8]}"
        self.root.mkdir(parents=True)
        self.course = CourseDir(self.root / "course")
        # Unix socket paths are limited to 107 characters: the kernel's sockets live in a short /tmp path.
        self.runtime = self.outside("kernel")
        # The evaluator's own: the kernel can write its runtime folder (its Keras home among it), and
        # must not be able to swap the reference weights the evaluator compares against.
        self.evaluator_runtime = self.outside("evaluator")
        # The probes' box writes here (checks/probes.py) and the evaluator reads it: the student's cells re-run
        # on the grader's probes, in a box of their own that has no held-out photos and no evaluator to reach.
        self.probes = self.outside("probes")
        self.jupyter = self.root / "jupyter"
        self.log = self.root / "grading.log"
        shutil.copytree(task.kit, self.course.root)
        # nbconvert runs the kernel in the notebook's own folder: the submitted copy.
        self.workdir = self.course.submitted(task.student, task.assignment)

    def outside(self, name: str) -> Path:
        """A new private folder in the temporary directory, removed with the scratch even after a killed run."""
        folder = Path(tempfile.mkdtemp(prefix=f"{OUTSIDE_PREFIX}{name}-"))
        with open(self.root / OUTSIDE_FOLDERS, "a") as record:
            record.write(f"{folder}\n")
        return folder

    def remove(self) -> None:
        for folder in (self.runtime, self.evaluator_runtime, self.probes, self.root):
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Prepared:
    """A scratch course ready to grade: what its processes are given."""

    env: dict[str, str]  # the task's, with the asset locations (the evaluator's and probes' boxes start from it)
    nbgrader_env: dict[str, str]
    assets: list[Path]  # folders every box reads
    limits: Limits  # the task's, pinned to this worker's cores where asked
    kernels: KernelBroker | None = None  # forks the kernel into its box (else the kernelspec starts bubblewrap's)


def prepare(task: GradingTask, scratch: Scratch) -> Prepared:
    """The submitted notebook, nbgrader's settings and the kernel's box in the scratch course."""
    limits = task.worker_limits()
    env = asset_environment(task.env)
    mirror = Path(env["COURSE_ASSETS_MIRROR"]) if env.get("COURSE_ASSETS_MIRROR") else None
    assets = asset_folders(env, mirror)
    kernel_env = private_asset_homes(env, scratch.runtime)
    scratch.course.write_config(limits.cell_timeout, grading_config(limits, scratch.runtime))
    # The notebook as collect() left it (cell metadata already restored from the release).
    target = scratch.workdir / task.notebook_name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.reads(task.notebook_json, as_version=4), target)
    if not task.sandbox:  # the kernel inherits nbgrader's environment
        write_kernelspec(scratch.jupyter, None, limits)
        return Prepared(env, nbgrader_environment(kernel_env, scratch, limits), assets, limits)
    box = Box(workdir=scratch.workdir, writable=(scratch.workdir, scratch.runtime), readable=tuple(assets),
              env=box_environment(kernel_env), files=identity_files(scratch.runtime / "etc"))
    nbgrader_env = nbgrader_environment(env, scratch, limits)
    if not (can_fork() and can_fork_boxes()):  # bubblewrap's box, a fresh Python that imports TensorFlow again
        write_kernelspec(scratch.jupyter, box, limits)
        return Prepared(env, nbgrader_env, assets, limits)
    kernels = KernelBroker(box, limits, scratch.runtime, scratch.log, scratch.outside("kernel-broker"))
    write_kernelspec(scratch.jupyter, box, limits, command=kernels.command())
    return Prepared(env, nbgrader_env, assets, limits, kernels)


def remove_scratch(scratch: Path) -> None:
    """Remove a run's scratch folder and the temporary folders its submissions made outside it, also
    those of submissions whose run was killed before it could clean up."""
    for record in scratch.glob(f"*/{OUTSIDE_FOLDERS}"):
        for line in record.read_text().splitlines():
            folder = Path(line)
            # Only what Scratch makes: a course- folder right in a temporary directory.
            if folder.name.startswith(OUTSIDE_PREFIX) and folder.parent == Path(tempfile.gettempdir()):
                shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)


def nbgrader_environment(env: dict[str, str], scratch: Scratch, limits: Limits) -> dict[str, str]:
    """The environment of the nbgrader process (outside the box): where its kernelspec and runtime files are."""
    env = dict(env)
    env.update(thread_environment(limits))
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(scratch.jupyter), env.get("JUPYTER_PATH")]))
    env["JUPYTER_RUNTIME_DIR"] = str(scratch.runtime)
    env["TMPDIR"] = str(scratch.runtime)  # nbclient writes the kernel's connection file there
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("JPY_PARENT_PID", None)
    return env


def grading_config(limits: Limits, runtime: Path) -> dict:
    """nbgrader settings of a scratch course, on top of the course's (course_dir.course_config): sandbox
    transport, restored cells, output caps, and the preprocessors that run and score the notebook."""
    return {
        # The sandboxed kernel has no network namespace of its own loopback: talk over Unix sockets.
        "KernelManager": {"transport": "ipc", "ip": str(runtime / "kernel")},
        # A test cell the student deleted is put back (nbgrader's own OverwriteCells).
        "OverwriteCells": {"add_missing_cells": True},
        # The tag collect() takes off every cell the release does not skip (collect/cells.py).
        "Execute": {"skip_cells_with_tag": SKIP_TAG},
        "LimitOutput": {"max_lines": 1000},
        "LimitOutputSize": {"max_chars": limits.output_chars},
        "Autograde": {"autograde_preprocessors": [
            "grader.nbgrader_ext.preprocessors.ExecuteKeepingFinishedCells",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "grader.nbgrader_ext.preprocessors.LimitOutputSize",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties",
            "nbgrader.preprocessors.CheckCellMetadata",
        ]},
    }

"""The probes' and the evaluator's boxes start the same program whichever way they are built: forked from the
worker's fork server (TensorFlow imported once) or as a fresh Python in bubblewrap's box. The same student's
cell on the same probes gives the same answers in both."""

import json
import os
import time
from pathlib import Path

import pytest

from grader.assets.environment import notebook_environment
from grader.autograde import boxes
from grader.sandbox.box import Box, Limits, box_environment, identity_files
from grader.sandbox.forked_box import can_fork_boxes
from grader.sandbox.processes import wait

CALLBACK_CELL = """
class StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) >= self.target:
            self.model.stop_training = True
"""
PLAN = {"callback": {"cell": "callback", "class": "StopAtAccuracy",
                     "probes": [[0.9, 0.95], [0.9, 0.5], [0.7, 0.7], [0.7, 0.69]]}}


@pytest.mark.parametrize("built_by", ["fork server", "bubblewrap"])
def test_the_probes_answer_the_same_in_either_box(built_by, tmp_path, monkeypatch):
    if built_by == "fork server" and not can_fork_boxes():
        pytest.skip("this machine allows no unprivileged user namespace: boxes are bubblewrap's")
    monkeypatch.setattr(boxes, "can_fork_boxes", lambda: built_by == "fork server")
    folder = tmp_path / "probes"
    folder.mkdir()
    (folder / "plan.json").write_text(json.dumps(PLAN))
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": CALLBACK_CELL, "metadata": {"nbgrader": {"grade_id": "callback"}},
         "outputs": [], "execution_count": None}]}
    (folder / "handed_in.ipynb").write_text(json.dumps(notebook))
    env = notebook_environment()
    box = Box(workdir=folder, writable=(folder,), env=box_environment(env),
              files=identity_files(tmp_path / "etc"))
    log = tmp_path / "probes.log"
    process = boxes.start_in_box("grader.checks.probes", [str(folder / "plan.json"), str(folder / "handed_in.ipynb"),
                                                           str(folder / "out")], box, Limits(), cwd=folder, env=env,
                                 log=log)
    assert isinstance(process, boxes.ForkedRun) == (built_by == "fork server")
    assert wait(process, deadline=time.monotonic() + 240) == 0, log.read_text()
    assert json.loads((folder / "out" / "callback" / "result.txt").read_text()) == [True, False, True, False]


def test_the_fork_server_holds_none_of_the_instructors_variables():
    """A box is a fork of the server and a student's code can read its own memory: the server starts with the
    variables it needs alone (`env -i`), not this process's."""
    from multiprocessing import forkserver

    from grader.autograde import fork_server

    assert "PYTEST_CURRENT_TEST" in os.environ  # the control: set in the process that starts the server
    fork_server.warm()
    pid = forkserver._forkserver._forkserver_pid
    names = {entry.split(b"=", 1)[0].decode() for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")}
    allowed = {*fork_server.IMPORT_TIME_VARIABLES, *fork_server.SERVER_VARIABLES}
    assert "PYTEST_CURRENT_TEST" not in names
    # (glibc rewrites GLIBC_TUNABLES's value in place, so its parts show as entries of their own)
    assert {name for name in names if name and not name.startswith("glibc.")} <= allowed

"""The grading kernel forked into its box (grader.autograde.kernel_broker): it behaves as a fresh kernel would,
and the broker starts kernels for its own run's connection files only."""

import socket

import pytest

from grader.autograde.class_run import autograde
from grader.autograde.kernel_broker import KernelBroker
from grader.result import GRADED
from grader.sandbox.box import Box, Limits, box_environment, identity_files
from grader.sandbox.forked_box import can_fork_boxes
from tests.autograde.test_isolation import ASSIGNMENT, SOLUTION, autograded, handed_in, plain_env, solution_cell

pytestmark = pytest.mark.skipif(not can_fork_boxes(), reason="no user namespace for a forked process here")

# What a student's notebook may do that depends on how its kernel was started: draw inline (matplotlib was
# imported in the fork server before ipykernel chose its backend), run a shell command (a pseudo-terminal of the
# box's own), and see itself as an ordinary process under the box's init.
LOOK = """import os
import matplotlib.pyplot as plt
plt.plot([0, 1], [1, 0])
plt.show()
print("pid", os.getpid(), "parent", os.getppid())
listing = !echo from-a-shell
print(listing)
""" + SOLUTION


def test_a_forked_kernel_draws_inline_runs_shell_commands_and_is_not_the_boxs_init(tiny_course, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    files = [handed_in(tiny_course, folder, "ann", LOOK)]
    (result,) = autograde(tiny_course, ASSIGNMENT, files, plain_env(tmp_path), workers=1)
    assert result.status == GRADED and result.reason == "", result.reason
    outputs = solution_cell(autograded(tiny_course, "ann")).outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    text = "".join(o.get("text", "") for o in outputs)
    assert "['from-a-shell']" in text, text
    pid = int(text.split("pid ")[1].split()[0])
    assert pid != 1, "the kernel must not be the box's PID 1 (which ignores its own SIGKILL)"


def test_the_broker_starts_kernels_for_its_runs_connection_files_only(tmp_path):
    runtime, broker_folder = tmp_path / "runtime", tmp_path / "broker"
    runtime.mkdir()
    broker_folder.mkdir(mode=0o700)
    box = Box(workdir=runtime, writable=(runtime,), env=box_environment({}), files=identity_files(runtime / "etc"))
    broker = KernelBroker(box, Limits(), runtime, tmp_path / "log", broker_folder)
    try:
        for path in ("/etc/passwd", str(runtime / "missing.json")):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(str(broker.socket_path))
                connection.sendall(path.encode() + b"\n")
                answer = connection.recv(4096).decode()
            assert answer.startswith("refused: "), answer
        assert not broker._kernels
    finally:
        broker.cancel()
    assert not broker_folder.exists()

"""The box a forked process builds around itself (grader/sandbox/forked_box.py): what it sees and may do is what
bubblewrap's box allows, it leaves nothing for the next box, and killing its outer process kills it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.box import Box, Limits, box_environment, identity_files, sandbox_argv
from grader.sandbox.forked_box import can_fork_boxes

pytestmark = pytest.mark.skipif(not can_fork_boxes(), reason="this machine allows no unprivileged user namespace")

# Run in a fresh interpreter: build the box from the JSON in argv[1], then run argv[2] in it.
IN_A_FORKED_BOX = """
import json, sys
from pathlib import Path
from grader.sandbox.box import Box, Limits
from grader.sandbox.forked_box import enter_box
spec = json.loads(sys.argv[1])
box = Box(workdir=Path(spec["workdir"]), writable=tuple(map(Path, spec["writable"])),
          readable=tuple(map(Path, spec["readable"])), env=tuple(map(tuple, spec["env"])),
          files=tuple((Path(a), Path(b)) for a, b in spec["files"]))
enter_box(box, Limits())
exec(sys.argv[2])
"""

# What a process in a box finds: run in the forked box and in bubblewrap's, printed as JSON.
LOOK_AROUND = """
import ctypes, json, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def attempt(action):
    try:
        result = action()
        return "refused" if result == -1 else "allowed"
    except OSError:
        return "refused"
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "root": sorted(os.listdir("/")), "uid": os.getuid(), "hostname": socket.gethostname(),
    "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
    "capabilities": [status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd")],
    "no new privileges": status["NoNewPrivs"].strip(),
    "readable": open(READABLE + "/data.txt").read(), "neighbour": os.path.exists(NEIGHBOUR),
    "user": open("/etc/passwd").read().split(":")[0],
    "write readable": attempt(lambda: open(READABLE + "/new.txt", "w")),
    "write root": attempt(lambda: open("/new.txt", "w")),
    "write workdir": attempt(lambda: open(WORKDIR + "/new.txt", "w")),
    "write tmp": attempt(lambda: open("/tmp/new.txt", "w")),
    "new user namespace": attempt(lambda: libc.unshare(0x10000000)),
    "remount": attempt(lambda: libc.mount(None, READABLE.encode(), None, 4096 | 32, None)),
    "network": attempt(lambda: socket.create_connection(("192.0.2.1", 80), timeout=2)),
}))
"""


def _box(tmp_path: Path) -> tuple[Box, dict[str, str]]:
    workdir, readable, neighbour = tmp_path / "work", tmp_path / "readable", tmp_path / "neighbour"
    for folder in (workdir, readable, neighbour):
        folder.mkdir(parents=True)
    (readable / "data.txt").write_text("seen")
    (neighbour / "secret.txt").write_text("not seen")
    box = Box(workdir=workdir, writable=(workdir,), readable=(readable,), env=box_environment({}),
              files=identity_files(tmp_path / "etc"))
    names = {"READABLE": str(readable), "NEIGHBOUR": str(neighbour / "secret.txt"), "WORKDIR": str(workdir)}
    return box, names


def _in_forked_box(box: Box, code: str, **popen) -> subprocess.Popen:
    spec = {"workdir": str(box.workdir), "writable": list(map(str, box.writable)),
            "readable": list(map(str, box.readable)), "env": [list(e) for e in box.env],
            "files": [[str(a), str(b)] for a, b in box.files]}
    return subprocess.Popen([sys.executable, "-c", IN_A_FORKED_BOX, json.dumps(spec), code], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def _with_names(code: str, names: dict[str, str]) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in names.items()) + code


def test_a_forked_box_allows_what_bubblewraps_box_allows_and_nothing_more(tmp_path):
    box, names = _box(tmp_path)
    forked = _in_forked_box(box, _with_names(LOOK_AROUND, names))
    out, err = forked.communicate(timeout=60)
    assert forked.returncode == 0, err
    seen = json.loads(out)
    bwrap = subprocess.run(sandbox_argv([sys.executable, "-c", _with_names(LOOK_AROUND, names)], box, Limits()),
                           capture_output=True, text=True, timeout=60)
    assert bwrap.returncode == 0, bwrap.stderr
    in_bwrap = json.loads(bwrap.stdout)
    # Only the box's own processes: an init and the program, in both.
    assert seen == in_bwrap  # bubblewrap's box shows and allows the same
    assert seen["processes"] == ["1", "2"]
    # and what both show is the allowlist
    assert seen["uid"] == 1000 and seen["user"] == "student" and seen["hostname"] == "grading"
    assert seen["capabilities"] == ["0000000000000000"] * 3 and seen["no new privileges"] == "1"
    assert seen["readable"] == "seen" and seen["neighbour"] is False
    assert seen["write workdir"] == seen["write tmp"] == "allowed"
    for what in ("write readable", "write root", "new user namespace", "remount", "network"):
        assert seen[what] == "refused", what


LEAVE = """
import os, subprocess
open("/tmp/left.txt", "w").write("x")
open("/dev/shm/left", "w").write("x")
open(WORKDIR + "/left.txt", "w").write("x")
subprocess.Popen(["sleep", "417"], start_new_session=True)
print(*(os.path.exists(path) for path in ("/tmp/left.txt", "/dev/shm/left", WORKDIR + "/left.txt")))
"""
LOOK = """
import os
print(*(os.path.exists(path) for path in ("/tmp/left.txt", "/dev/shm/left", "FIRST_WORKDIR/left.txt")))
"""


def _sleepers() -> list[str]:
    found = subprocess.run(["pgrep", "-f", "sleep 417"], capture_output=True, text=True)
    return found.stdout.split()


def test_a_forked_box_leaves_nothing_to_the_next_one(tmp_path):
    first_box, names = _box(tmp_path / "first")
    first = _in_forked_box(first_box, _with_names(LEAVE, names))
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert out.split() == ["True"] * 3  # the control: it did leave them, in its own box
    assert _sleepers() == [], "its detached process died with the box"
    second_box, second_names = _box(tmp_path / "second")
    look = LOOK.replace("FIRST_WORKDIR", names["WORKDIR"])
    second = _in_forked_box(second_box, _with_names(look, second_names))
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.split() == ["False"] * 3


def test_killing_the_outer_process_kills_the_box_and_what_it_started(tmp_path):
    box, names = _box(tmp_path)
    running = _in_forked_box(box, _with_names(LEAVE + "\nimport time\ntime.sleep(300)\n", names))
    deadline = time.monotonic() + 60
    while not _sleepers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sleepers(), "the box started its process"
    os.kill(running.pid, 9)
    running.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _sleepers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sleepers() == []

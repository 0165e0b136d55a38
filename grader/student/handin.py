"""The check-and-hand-in cell at the end of every graded notebook: what the grader will say when it collects
this notebook, said before the student hands it in.

It reads the notebook as it is now (on Colab, from the front end, as otter-grader's Colab support does; in
Jupyter, its file), then makes the checks `course autograde` makes before it runs anything, with the grader's
own code (collect/verdict.py, collect/tampering.py): size and format, the right assignment, the release's
locked and test cells, the tripwire's scan of the student's cells. It lists each visible test's result from
the current run and which tests have hidden parts, and saves a copy to hand in, with a small record (the
release's fingerprint, TensorFlow's and Keras's versions, the profile); on Colab the copy is downloaded.
What it cannot check (no notebook to read, no release to compare with) it says plainly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.collect.tampering import scan
from grader.collect.verdict import judge_notebook

# The Colab copy's own cells (release/colab.py): not in the release the grader collects against.
COLAB_CELL_IDS = ("colab-badge", "colab-setup")


@dataclass
class Line:
    what: str
    ok: bool | None  # None: could not be checked here
    detail: str = ""


@dataclass
class HandinReport:
    checks: list[Line] = field(default_factory=list)  # what the grader checks when it collects the notebook
    tests: list[Line] = field(default_factory=list)  # each test cell's result in the current run
    hidden: list[str] = field(default_factory=list)  # test cells with hidden tests, run only when graded
    record: dict = field(default_factory=dict)
    saved: str = ""  # where the copy to hand in was written

    def text(self) -> str:
        mark = {True: "ok  ", False: "FIX ", None: "??  "}
        lines = ["What the grader checks when it collects this notebook:"]
        lines += [f"  {mark[c.ok]}{c.what}" + (f": {c.detail}" if c.detail else "") for c in self.checks]
        if self.tests:
            lines.append("Your tests in this run (the grader runs them again, with its own checks):")
            lines += [f"  {mark[t.ok]}{t.what}" + (f": {t.detail}" if t.detail else "") for t in self.tests]
        if self.hidden:
            lines.append("Hidden tests run only when graded: " + ", ".join(self.hidden))
        if self.saved:
            lines.append(f"Hand in: {self.saved}")
        return "\n".join(lines)


def release_without_colab_cells(release_colab: NotebookNode) -> NotebookNode:
    """The release as the grader collects against it: the Colab copy without its badge and set-up cells."""
    nb = copy.deepcopy(release_colab)
    nb.cells = [cell for cell in nb.cells if cell.get("id") not in COLAB_CELL_IDS]
    return nb


def check_notebook(data: bytes, release_colab: NotebookNode, assignment: str, tested: dict[str, list[str]],
                   name: str | None = None) -> HandinReport:
    """The grader's collect-time verdicts on `data` (the notebook's bytes) against the Colab copy of the release,
    and the test cells' results as they stand in `data`. `tested`: tampering.tested_names of the source."""
    name = name or f"{assignment}.ipynb"
    report = HandinReport()
    release = release_without_colab_cells(release_colab)
    verdict = judge_notebook(data, release, name, assignment)
    if verdict.problem:
        report.checks.append(Line("a notebook of this assignment the grader can read", False, verdict.problem))
        return report
    report.checks.append(Line("a notebook of this assignment the grader can read", True,
                              f"{len(data) / 2**20:.1f} MB"))
    report.checks.append(Line("the release's locked and test cells as released", not verdict.changes,
                              "; ".join(verdict.changes) + ("; the grader puts them back as released, and your "
                                                            "points come from the release's tests"
                                                            if verdict.changes else "")))
    findings = scan(verdict.restored, release_colab, tested=tested)
    report.checks.append(Line("no code that can change how a test is reported", not findings,
                              "; ".join(map(str, findings)) + (": the notebook would be flagged for review, and "
                                                               "each test's points would rest on the grader's own "
                                                               "checks alone" if findings else "")))
    report.tests, report.hidden = run_results(verdict.restored, release)
    return report


def run_results(nb: NotebookNode, release: NotebookNode) -> tuple[list[Line], list[str]]:
    """Each test cell as it ran in this notebook: passed, failed (its error), or not run; and the test cells
    whose release holds only a comment (their tests are hidden, and run when graded)."""
    hidden = [_grade_id(c) for c in release.cells if _is_test(c) and not _has_code(c.source)]
    lines = []
    for cell in nb.cells:
        if not _is_test(cell) or _grade_id(cell) in hidden:
            continue
        points = cell.metadata["nbgrader"].get("points", 0)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.get("execution_count") is None and not cell.get("outputs"):
            lines.append(Line(f"{_grade_id(cell)} ({points:g} points)", None, "not run: run every cell, then this one"))
        elif errors:
            lines.append(Line(f"{_grade_id(cell)} ({points:g} points)", False,
                              f"{errors[-1].get('ename', '')}: {errors[-1].get('evalue', '')}"[:200]))
        else:
            lines.append(Line(f"{_grade_id(cell)} ({points:g} points)", True))
    return lines, hidden


def check_and_hand_in(assignment: str, release_url: str, tested: dict[str, list[str]],
                      notebook: str | None = None) -> HandinReport:
    """The cell's entry point: check this notebook, print what the grader will say, save a copy to hand in."""
    data, where = this_notebook(notebook)
    release_bytes, release_where = release_notebook(assignment, release_url)
    if data is None or release_bytes is None:
        report = HandinReport(checks=[Line("this notebook", None if data is None else True, where),
                                      Line("the release to compare with", None if release_bytes is None else True,
                                           release_where)])
        print(report.text() + "\nNothing else was checked: hand in the notebook as your course says "
              "(File > Download > Download .ipynb).")
        return report
    report = check_notebook(data, nbformat.reads(release_bytes.decode(), as_version=4), assignment, tested)
    report.record = handin_record(assignment, release_bytes)
    if report.checks[0].ok:  # the grader takes it (what it flags or puts back, it grades as it says above)
        report.saved = save_copy(data, assignment, report.record)
    print(report.text())
    return report


def this_notebook(path: str | None) -> tuple[bytes | None, str]:
    """The notebook as it is now, and where it came from (or why there is none)."""
    if path is None and "google.colab" in sys.modules:
        try:
            from google.colab import _message

            found = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
            return json.dumps(found["ipynb"]).encode(), "read from Colab"
        except Exception as error:  # an old or changed Colab front end
            return None, (f"Colab did not give this notebook's contents ({type(error).__name__}); save it "
                          "(File > Save) and run this cell again")
    path = path or os.environ.get("JPY_SESSION_NAME") or _ipython_global("__vsc_ipynb_file__")
    if not path or not Path(path).is_file():
        return None, ("this notebook's file was not found: save it, then run "
                      "check_and_hand_in(..., notebook='path/to/notebook.ipynb')")
    return Path(path).read_bytes(), f"{path} (as last saved: save before running this cell)"


def release_notebook(assignment: str, url: str) -> tuple[bytes | None, str]:
    """The release's Colab copy: from a checkout of the course when there is one, else from where it is
    published."""
    from grader import paths

    local = paths.NOTEBOOKS_DIR / f"{assignment}.ipynb"
    if local.is_file():
        return local.read_bytes(), str(local)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read(), url
    except Exception as error:
        return None, f"could not download {url} ({type(error).__name__}: {error})"


def handin_record(assignment: str, release_bytes: bytes) -> dict:
    """What is recorded beside the hand-in: which release, which versions, which profile."""
    def version(module: str) -> str:
        return getattr(sys.modules.get(module), "__version__", "not imported")

    return {"assignment": assignment, "release_sha256": hashlib.sha256(release_bytes).hexdigest(),
            "tensorflow": version("tensorflow"), "keras": version("keras"),
            "profile": str(_ipython_global("PROFILE") or os.environ.get("COURSE_PROFILE", "")),
            "checked": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def save_copy(data: bytes, assignment: str, record: dict) -> str:
    """The notebook with the record in its metadata, written to hand in (downloaded on Colab)."""
    nb = nbformat.reads(data.decode(), as_version=4)
    nb.metadata["course_handin"] = record
    folder = Path("/content" if "google.colab" in sys.modules else ".") / "hand_in"
    folder.mkdir(exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    if "google.colab" in sys.modules:
        from google.colab import files

        files.download(str(path))
        return f"{path} (downloading: hand in that file)"
    return f"{path} (hand in that file)"


def _ipython_global(name: str):
    try:
        from IPython import get_ipython

        return (get_ipython().user_ns if get_ipython() else {}).get(name)
    except ImportError:
        return None


def _grade_id(cell: NotebookNode) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _is_test(cell: NotebookNode) -> bool:
    return cell.get("cell_type") == "code" and bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def _has_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())

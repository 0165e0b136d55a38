"""An nbgrader course directory and nbgrader's own commands run inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Training in the CPU profile takes minutes, not nbgrader's default 30 s per cell.
CELL_TIMEOUT_SECONDS = 600

CONFIG_TEMPLATE = '''\
# Written by `course release`; every nbgrader command `course` runs also names this folder on its command line.
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "transfer-learning"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True
# Always the box's kernel (the grading kernelspec is `python3`), whatever kernelspec a handed-in notebook names:
# nbgrader's OverwriteKernelspec puts back the release's too, and without both a notebook naming another
# kernel of the machine ran outside the box (tests/test_isolation.py).
c.Execute.kernel_name = "python3"
c.FileNameCollectorPlugin.named_regexp = {named_regexp!r}
c.ZipCollectApp.archive_directory = "archive"
c.ZipCollectApp.extracted_directory = "extracted"
c.GenerateFeedback.force = True
# nbgrader's own generate_feedback, run by hand in this folder, as `course autograde` writes feedback (less its
# summary table): never a hidden test's code, no output of the graded run from the first hidden test on (code in
# the notebook could copy the test into it), the student's HTML and scripts sanitized, and no markdown link
# that runs script.
c.GenerateFeedback.exporter_class = "grader.grading.safe_links.SafeLinksHTMLExporter"
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.grading.preprocessors.HideOutputsAfterHiddenTests",
    "grader.grading.preprocessors.HideHiddenTests",
    "nbconvert.preprocessors.sanitize.SanitizeHTML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.SanitizeHTML.enabled = True
'''

# Submissions are handed in as "<student>__<notebook>.ipynb".
NAMED_REGEXP = r".*/(?P<student_id>[^\W_][\w.-]*?)__(?P<file_id>[A-Za-z0-9_.-]+\.ipynb)$"


@dataclass(frozen=True)
class CourseDir:
    root: Path

    def write_config(self, cell_timeout: int = CELL_TIMEOUT_SECONDS, extra: str = "") -> None:
        """nbgrader_config.py for this folder; `extra` is appended (the grading sandbox's settings)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(
            CONFIG_TEMPLATE.format(root=str(self.root), cell_timeout=cell_timeout, named_regexp=NAMED_REGEXP) + extra
        )

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def archive(self, assignment: str) -> Path:
        return self.root / "downloaded" / assignment / "archive"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def feedback(self, student: str, assignment: str) -> Path:
        return self.root / "feedback" / student / assignment

    def nbgrader(
        self, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        """Run `nbgrader ARGS` in this course directory; output is captured for the report.

        The folder is named on the command line too: nbgrader_config.py names the folder it was written
        in, and a course folder copied or moved since then would otherwise be read and written there.
        """
        env = dict(os.environ if env is None else env)
        # nbgrader shells out to `alembic` and `jupyter`: they live beside this interpreter.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return subprocess.run(
            [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={self.root}"],
            cwd=self.root,
            env=env,
            timeout=timeout,
            capture_output=True,
            text=True,
        )

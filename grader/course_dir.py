"""An nbgrader course directory and nbgrader's own commands run inside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Training in the CPU profile takes minutes, not nbgrader's default 30 s per cell.
CELL_TIMEOUT_SECONDS = 600

# Written into every course folder as nbgrader_config.json (settings as data: nbgrader reads JSON config
# files beside its .py ones). Every nbgrader command `course` runs also names the folder on its command line.
CONFIG_FILE = "nbgrader_config.json"
# What `course release` wrote before settings were data: replaced by CONFIG_FILE (an instructor's own
# nbgrader_config.py, without this first line, is left alone).
OLD_CONFIG_MARK = "# Written by `course release`"
# nbgrader warns on every command of a folder without a nbgrader_config.py: one that says where the settings are.
POINTER = "# nbgrader's settings for this folder are in nbgrader_config.json (written by grader/course_dir.py).\n"
# nbgrader's own generate_feedback, run by hand in the folder, writes feedback as `course autograde` does (less
# its summary table): never a hidden test's code, no output of the graded run from the first hidden test on
# (code in the notebook could copy the test into it), the student's HTML and scripts sanitized, and no markdown
# link that runs script.
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "grader.nbgrader_ext.preprocessors.HideOutputsAfterHiddenTests",
    "grader.nbgrader_ext.preprocessors.HideHiddenTests",
    "nbconvert.preprocessors.sanitize.SanitizeHTML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def course_config(root: Path, cell_timeout: int = CELL_TIMEOUT_SECONDS) -> dict:
    """nbgrader's settings for a course folder, as traitlets' nested {class: {trait: value}}."""
    return {
        "CourseDirectory": {"root": str(root), "course_id": "transfer-learning"},
        "ClearSolutions": {"code_stub": {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}},
        # Always the box's kernel (the grading kernelspec is `python3`), whatever kernelspec a handed-in notebook
        # names: nbgrader's OverwriteKernelspec puts back the release's too, and without both a notebook naming
        # another kernel of the machine would run outside the box (tests/autograde/test_isolation.py).
        "Execute": {"timeout": cell_timeout, "interrupt_on_timeout": True, "kernel_name": "python3"},
        "FileNameCollectorPlugin": {"named_regexp": NAMED_REGEXP},
        "ZipCollectApp": {"archive_directory": "archive", "extracted_directory": "extracted"},
        "GenerateFeedback": {"force": True, "exporter_class": "grader.nbgrader_ext.safe_links.SafeLinksHTMLExporter",
                             "preprocessors": FEEDBACK_PREPROCESSORS},
        "SanitizeHTML": {"enabled": True},
    }


def merged(base: dict, extra: dict) -> dict:
    """`base` with `extra`'s settings on top, class by class."""
    out = {name: dict(traits) for name, traits in base.items()}
    for name, traits in extra.items():
        out.setdefault(name, {}).update(traits)
    return out


# Submissions are handed in as "<student>__<notebook>.ipynb".
NAMED_REGEXP = r".*/(?P<student_id>[^\W_][\w.-]*?)__(?P<file_id>[A-Za-z0-9_.-]+\.ipynb)$"


@dataclass(frozen=True)
class CourseDir:
    root: Path

    def write_config(self, cell_timeout: int = CELL_TIMEOUT_SECONDS, extra: dict | None = None) -> None:
        """nbgrader_config.json for this folder: course_config, with `extra` on top (the grading sandbox's)."""
        self.root.mkdir(parents=True, exist_ok=True)
        python_config = self.root / "nbgrader_config.py"
        if not python_config.is_file() or python_config.read_text().startswith(OLD_CONFIG_MARK):
            python_config.write_text(POINTER)
        config = merged(course_config(self.root, cell_timeout), extra or {})
        (self.root / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

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

        The folder is named on the command line too: nbgrader_config.json names the folder it was written
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

"""How one student's hand-in of one assignment ended: one status, its reason, and what grading produced.

The same record travels from collect (a rejected hand-in) and the worker (autograde/grade_one.py) through the
single writer (autograde/writer.py) to the report and the exports. The files it carries (the graded notebook,
the feedback page) are dropped once written.
"""

from dataclasses import dataclass, field

GRADED = "graded"
TIMED_OUT = "timed out"
CRASHED = "crashed"
MALFORMED = "malformed"
MISSING = "missing"
# The grader failed (its sandbox could not start a kernel): not the student's fault, graded again next run.
GRADER_ERROR = "grader error"


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    checks: list[dict] = field(default_factory=list)  # the grader's own checks (grader/checks/registry.py)
    timings: dict[str, float] = field(default_factory=dict)
    notebook_name: str = ""
    sha256: str = ""  # of the notebook as collected: the journal regrades only what changed
    grading: str = ""  # what graded it (kit.grading_fingerprint)
    # What the page of a hand-in that was not graded may tell the student ("": only its status's own words).
    # Never the grading log, which holds the kernel's stderr and the grader's own paths.
    student_reason: str = ""
    late: bool = False  # Canvas marked the graded hand-in late (its download's "_LATE")
    canvas_file: str = ""  # the graded file's name in Canvas's download, where it came from one
    autograded_json: str | None = None
    feedback_html: str | None = None

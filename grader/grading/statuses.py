"""The one status each submission ends in; the report gives the reason beside it."""

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
    """How one student's submission of one assignment ended."""

    student: str
    assignment: str
    status: str
    reason: str = ""
    seconds: float = 0.0
    checks: list[dict] = field(default_factory=list)  # the grader's own checks (see model_checks.py)
    timings: dict[str, float] = field(default_factory=dict)

"""What a check of the grader's concludes: passed or not, why, and what it measured.

Kept apart from the checks themselves (which import TensorFlow), so that the worker, the writer and the
report can read results without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class CheckResult:
    test: str
    check: str
    passed: bool
    message: str
    metric: float | None = None
    # What the model answered where it was wrong, for the class's similarity report: {"photos": N,
    # "wrong": {photo index: predicted class}} on the held-out photos, in their order.
    answers: dict | None = None
    not_measured: str = ""  # reason, when the check could not run here

    def to_dict(self) -> dict:
        return asdict(self)

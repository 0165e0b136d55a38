"""One submission to grade: everything a pool worker needs, and nothing it could write back to."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from grader.sandbox.box import Limits


@dataclass
class GradingTask:
    assignment: str
    student: str
    notebook_name: str  # "01_cats_vs_dogs.ipynb"
    notebook_json: str  # the submission as collected
    kit: str  # the assignment's grading kit (see kit.py)
    scratch_root: str  # every worker's scratch folders live under it
    env: dict[str, str]
    limits: Limits = field(default_factory=Limits)
    held_out: tuple[str, ...] = ()  # never in the kernel's box, read by the grader's checks
    sandbox: bool = True
    tampering: str = ""  # why the notebook is flagged for review (collect/tampering.py), or ""
    pin_cpus: bool = False  # pin this worker's kernels to its share of the cores
    grading: str = ""  # what grades it (kit.grading_fingerprint), kept in the grading journal
    late: bool = False  # Canvas marked it late
    late_penalty: float = 0.0  # the fraction of the points a late hand-in loses (0: Canvas's own policy applies)
    canvas_file: str = ""  # its name in Canvas's download

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.notebook_json.encode()).hexdigest()

    def worker_limits(self) -> Limits:
        """The task's limits, its kernels pinned to this Dask worker's share of the cores when asked."""
        from dataclasses import replace

        if not self.pin_cpus or not self.limits.threads:
            return self.limits
        try:
            from distributed import get_worker

            index = int(get_worker().name)
        except (ImportError, ValueError, TypeError):
            return self.limits
        cores = sorted(os.sched_getaffinity(0))
        share = self.limits.threads
        start = (index * share) % len(cores)
        return replace(self.limits, cpus=tuple(cores[(start + i) % len(cores)] for i in range(share)))

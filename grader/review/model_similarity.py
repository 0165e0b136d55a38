"""How alike two students' models answer on the grader's held-out photos, beyond what their accuracies explain.

The grader measured every saved model on photos no notebook loads (the held-out accuracy check) and kept its
mistakes in the grading journal. Two models that each get a few photos wrong share a mistake by chance only
rarely: with m1 and m2 mistakes among N photos, the number they share is hypergeometric (N, m1, m2) if the
models err independently. A pair is ranked by how unlikely its shared mistakes (the same photo, the same
wrong class) are under that: -log10 of the chance of sharing at least as many.

The graded runs use the course's seeds: two notebooks with the same design (cut, head, learning rate) train
alike even when written apart. Shared mistakes are evidence of a shared design, to be read beside the code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

from grader.autograde.writer import GradebookWriter
from grader.course_dir import CourseDir
from grader.result import GRADED

# A pair whose shared mistakes are less likely than 1 in 1000 under independence is marked in the report.
SURPRISING = 3.0


@dataclass(frozen=True)
class ModelPair:
    first: str
    second: str
    test: str
    photos: int
    mistakes: tuple[int, int]
    shared: int
    expected: float  # shared mistakes expected of independent models with these accuracies
    surprise: float  # -log10 P(shared >= observed | independent)


def class_mistakes(course: CourseDir, assignment: str) -> dict[str, dict[str, dict]]:
    """student -> {test: answers} from the journal's last grading of each student (graded ones only)."""
    found = {}
    for student, entry in GradebookWriter(course).finished(assignment).items():
        answers = {check["test"]: check["answers"] for check in entry.get("checks", []) if check.get("answers")}
        if entry.get("status") == GRADED and answers:
            found[student] = answers
    return found


def rank_model_pairs(mistakes: dict[str, dict[str, dict]]) -> list[ModelPair]:
    """Every pair measured on the same held-out photos, most surprising first."""
    pairs = []
    for first, second in combinations(sorted(mistakes), 2):
        for test in sorted(set(mistakes[first]) & set(mistakes[second])):
            a, b = mistakes[first][test], mistakes[second][test]
            if a["photos"] != b["photos"]:
                continue
            wrong_a, wrong_b = a["wrong"], b["wrong"]
            shared = sum(1 for photo, label in wrong_a.items() if wrong_b.get(photo) == label)
            n, m1, m2 = a["photos"], len(wrong_a), len(wrong_b)
            pairs.append(ModelPair(first, second, test, n, (m1, m2), shared, m1 * m2 / n if n else 0.0,
                                   max(0.0, -math.log10(max(_tail(n, m1, m2, shared), 1e-300)))))
    return sorted(pairs, key=lambda pair: (-pair.surprise, pair.first, pair.second))


def _tail(n: int, m1: int, m2: int, k: int) -> float:
    """P(X >= k) for X ~ hypergeometric: m2 draws from n photos of which m1 are the first model's mistakes."""
    if k <= 0:
        return 1.0
    total = math.comb(n, m2)
    return sum(math.comb(m1, i) * math.comb(n - m1, m2 - i) for i in range(k, min(m1, m2) + 1)) / total

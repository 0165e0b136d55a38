"""How alike two students' answer code is: fingerprints of the normalised code, compared pair by pair.

copydetect (the method of MOSS: winnowed k-grams) normalises each answer first: comments and whitespace go,
every name becomes one letter, every string another. Renamed variables, moved or reordered cells and changed
comments therefore leave the fingerprints of copied lines as they were. The release's own code is boilerplate:
its fingerprints never count as a match.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from grader.review.answers import Answer

# copydetect's own defaults: a match is at least NOISE normalised characters long, and any match of GUARANTEE
# characters is found.
NOISE, GUARANTEE = 25, 30
# A pair at or above it is marked in the report: calibrated on 05's answers (tests/review/test_similarity.py,
# docs/similarity.md), between disguised copies and answers written apart.
SIMILAR = 0.6


@dataclass(frozen=True)
class CodePair:
    first: str
    second: str
    similarity: float  # the larger of the two shares of each student's code found in the other's
    shares: tuple[float, float]
    slices: tuple  # copydetect's matched character ranges in each student's code


def fingerprints(answers: list[Answer], boilerplate: str) -> dict:
    """student -> copydetect's CodeFingerprint of their answer code, the release's fingerprints removed."""
    from copydetect import CodeFingerprint

    def fingerprint(code: str, skip=()):
        return CodeFingerprint("answer.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=list(skip), fp=io.StringIO(code))

    given = fingerprint(boilerplate).hashes if boilerplate.strip() else np.array([])
    return {answer.student: fingerprint(answer.code, given) for answer in answers if not answer.problem}


def rank_code_pairs(prints: dict) -> list[CodePair]:
    """Every pair of students, most alike first."""
    from copydetect import compare_files

    pairs = []
    for first, second in combinations(sorted(prints), 2):
        _, shares, slices = compare_files(prints[first], prints[second])
        shares = (float(shares[0]), float(shares[1]))
        pairs.append(CodePair(first, second, max(shares), shares, slices))
    return sorted(pairs, key=lambda pair: (-pair.similarity, pair.first, pair.second))


def marked(code: str, slices) -> list[tuple[str, bool]]:
    """`code` cut into (text, matched) pieces, for the side-by-side view."""
    pieces, position = [], 0
    # copydetect gives [starts, ends], or an empty array when nothing matched: read both as 2 x n.
    starts, ends = np.asarray(slices, dtype=int).reshape(2, -1)
    for start, end in sorted(zip(starts, ends, strict=True)):
        start, end = max(start, position), max(end, position)
        if start > position:
            pieces.append((code[position:start], False))
        if end > start:
            pieces.append((code[start:end], True))
        position = end
    pieces.append((code[position:], False))
    return [piece for piece in pieces if piece[0]]

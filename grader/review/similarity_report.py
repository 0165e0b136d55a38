"""`course similarity NN_name`: one HTML page that ranks pairs of students by how alike their answers are.

Two rankings: the answer code (code_similarity.py) and the models' mistakes on the held-out photos
(model_similarity.py). Each code pair links to a side-by-side view of its matched lines. A high rank is a
reason to read two notebooks, never a verdict: the page says so. Everything a student wrote is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from grader.course_dir import CourseDir
from grader.review.answers import Answer, class_answers, release_code
from grader.review.code_similarity import SIMILAR, CodePair, fingerprints, marked, rank_code_pairs
from grader.review.model_similarity import SURPRISING, ModelPair, class_mistakes, rank_model_pairs


class SimilarityError(ValueError):
    """Nothing to compare: the message says why."""


@dataclass
class Similarity:
    assignment: str
    answers: list[Answer]
    code: list[CodePair] = field(default_factory=list)
    models: list[ModelPair] = field(default_factory=list)
    no_model: list[str] = field(default_factory=list)  # compared students without a measured model

    @property
    def not_compared(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.problem]


def similarity(course: CourseDir, assignment: str) -> Similarity:
    """Both rankings for the students collected in `course` (run after `course autograde`)."""
    answers = class_answers(course, assignment)
    if len(answers) < 2:
        raise SimilarityError(f"{assignment}: {len(answers)} student(s) collected in {course.root / 'submitted'}; "
                              "a similarity report needs two at least (run course autograde first)")
    prints = fingerprints(answers, release_code(course, assignment))
    if len(prints) < 2:
        raise SimilarityError(f"{assignment}: fewer than two students have code of their own in the answer cells")
    mistakes = class_mistakes(course, assignment)
    return Similarity(assignment, answers, rank_code_pairs(prints), rank_model_pairs(mistakes),
                      sorted(set(prints) - set(mistakes)))


def write_report(found: Similarity, path: Path, top: int = 50) -> None:
    """The page: both rankings (the `top` pairs, and every pair over its threshold), then the side by sides."""
    code = [p for i, p in enumerate(found.code) if i < top or p.similarity >= SIMILAR]
    models = [p for i, p in enumerate(found.models) if i < top or p.surprise >= SURPRISING]
    by_student = {a.student: a.code for a in found.answers}
    e = html.escape
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>Similarity: {e(found.assignment)}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse}"
        "td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}tr.over td{background:#fde8e8}"
        ".side{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1em}"
        "pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}mark{background:#fbd38d}</style>",
        f"<h1>Similarity of the hand-ins of {e(found.assignment)}</h1>",
        f"<p>{len(found.answers) - len(found.not_compared)} students compared, {len(found.code)} pairs. A pair "
        "high on either list is a reason to read both notebooks side by side, not a verdict: short, guided "
        "exercises make honest answers alike, and the graded runs share the course's seeds.</p>",
    ]
    if found.not_compared:
        parts.append("<p>Not compared: " + "; ".join(f"{e(a.student)} ({e(a.problem)})" for a in found.not_compared)
                     + "</p>")
    parts += [f"<h2>Answer code</h2><p>The share of each student's answer code (comments, names and layout "
              f"set aside, the release's own lines never counted) found in the other's. Pairs at "
              f"{SIMILAR:.0%} or more are marked.</p>",
              "<table><tr><th>#</th><th>students</th><th>similarity</th><th>share of each</th></tr>"]
    for i, pair in enumerate(code):
        over = " class='over'" if pair.similarity >= SIMILAR else ""
        parts.append(f"<tr{over}><td>{i + 1}</td><td><a href='#code-{i + 1}'>{e(pair.first)} and "
                     f"{e(pair.second)}</a></td><td>{pair.similarity:.0%}</td>"
                     f"<td>{pair.shares[0]:.0%} / {pair.shares[1]:.0%}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Models' mistakes on the held-out photos</h2><p>Mistakes two models share (the same photo, "
                 "the same wrong class) against what two independent models of the same accuracies would share; "
                 f"surprise is -log10 of the chance of sharing as many. Pairs at {SURPRISING:g} or more are "
                 "marked.</p>")
    if found.no_model:
        parts.append("<p>No measured model: " + ", ".join(e(s) for s in found.no_model) + "</p>")
    parts.append("<table><tr><th>#</th><th>students</th><th>test</th><th>mistakes</th><th>shared</th>"
                 "<th>expected</th><th>surprise</th></tr>")
    for i, pair in enumerate(models):
        over = " class='over'" if pair.surprise >= SURPRISING else ""
        parts.append(f"<tr{over}><td>{i + 1}</td><td>{e(pair.first)} and {e(pair.second)}</td><td>{e(pair.test)}</td>"
                     f"<td>{pair.mistakes[0]} / {pair.mistakes[1]} of {pair.photos}</td><td>{pair.shared}</td>"
                     f"<td>{pair.expected:.2f}</td><td>{pair.surprise:.1f}</td></tr>")
    parts.append("</table><h2>Side by side</h2>")
    for i, pair in enumerate(code):
        columns = []
        for student, slices in ((pair.first, pair.slices[0]), (pair.second, pair.slices[1])):
            text = "".join(f"<mark>{e(piece)}</mark>" if hit else e(piece)
                           for piece, hit in marked(by_student[student], slices))
            columns.append(f"<div><h3>{e(student)}</h3><pre>{text}</pre></div>")
        parts.append(f"<section id='code-{i + 1}'><h3>{i + 1}. {e(pair.first)} and {e(pair.second)}: "
                     f"{pair.similarity:.0%}</h3><div class='side'>{''.join(columns)}</div></section>")
    path.write_text("\n".join(parts), encoding="utf-8")

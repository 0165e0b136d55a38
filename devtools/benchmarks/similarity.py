"""How long `course similarity` takes on a class of made-up hand-ins of 05, and what one pair costs.

    python -m devtools.benchmarks.similarity [--students 200] [--repeat 3]

A course folder in a temporary directory holds 05's release (notebooks/) and N hand-ins made from the
solution and the similarity tests' answers written apart (tests/fixtures/similarity), each with its names
renamed, comments and blank lines added, and a few copies among them; the journal gives each a model's
mistakes on 256 photos. The whole report (answers read from the notebooks, fingerprints, every pair of code,
every pair of models, the HTML page) is timed, best of `--repeat`; the cost per pair is that time over the
number of pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from grader import paths
from grader.autograde.writer import GradebookWriter
from grader.course_dir import CourseDir
from grader.notebooks import read_ipynb, write_ipynb
from grader.review.similarity_report import similarity, write_report

HW = "05_horses_or_humans"
PLACEHOLDER = re.compile(r"[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)")
FIXTURES = paths.REPO_ROOT / "tests" / "fixtures" / "similarity"
NAMES = ["pretrained", "feature_extractor_base", "x", "inputs", "outputs", "accuracy", "cut", "base_model", "image",
         "augmented", "scaled", "features", "pooled", "hidden", "probability", "mobilenet", "head", "acc", "current"]


def variants() -> list[list[str]]:
    """The three answer cells of each model answer: the solution and the answers written apart."""
    import jupytext

    cells = []
    for cell in jupytext.read(paths.SOLUTIONS_DIR / f"{HW}.py").cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            cells += re.findall(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", cell.source, re.S)
    found = [cells]
    for name in ("honest_b", "honest_c", "honest_d"):
        found.append((FIXTURES / f"{name}.txt").read_text().split("# ---\n"))
    return found


def disguised(cells: list[str], rng: random.Random) -> list[str]:
    """Names renamed, comments and blank lines added: what copying students do."""
    renames = {name: f"{name}_{rng.randrange(1000)}" for name in NAMES if rng.random() < 0.7}
    out = []
    for cell in cells:
        for old, new in renames.items():
            cell = re.sub(rf"\b{old}\b", new, cell)
        lines = []
        for line in cell.splitlines():
            indent = line[: len(line) - len(line.lstrip())]
            if rng.random() < 0.2:
                lines.append(f"{indent}# note {rng.randrange(10**6)}")
            lines.append(line)
        out.append("\n".join(lines))
    return out


def make_class(root: Path, students: int, seed: int = 0) -> CourseDir:
    rng = random.Random(seed)
    course = CourseDir(root / "course")
    release = course.release(HW)
    release.mkdir(parents=True)
    shutil.copy(paths.NOTEBOOKS_DIR / f"{HW}.ipynb", release / f"{HW}.ipynb")
    models = variants()
    template = read_ipynb(release / f"{HW}.ipynb")
    with open(GradebookWriter(course).journal, "a") as journal:
        for i in range(students):
            student = f"s{i:03d}"
            cells = disguised(models[i % len(models)], rng)
            nb = template.copy()
            nb.cells = [cell.copy() for cell in template.cells]
            answer_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
            for cell, code in zip(answer_cells, cells, strict=True):
                cell.source = PLACEHOLDER.sub(lambda _, code=code: code, cell.source)
            write_ipynb(nb, course.submitted(student, HW) / f"{HW}.ipynb")
            wrong = {str(p): rng.randrange(2) for p in rng.sample(range(256), rng.randrange(0, 6))}
            check = {"test": "test_validation_accuracy", "check": "held_out_accuracy", "passed": True,
                     "message": "", "answers": {"photos": 256, "wrong": wrong}}
            journal.write(json.dumps({"student": student, "assignment": HW, "status": "graded", "sha256": "",
                                      "checks": [check]}) + "\n")
    return course


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        course = make_class(Path(tmp), args.students)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            found = similarity(course, HW)
            write_report(found, course.root / f"similarity_{HW}.html")
            times.append(time.perf_counter() - start)
        best = min(times)
        pairs = len(found.code)
        print(f"course similarity on {args.students} hand-ins of {HW}: {best:.1f} s (best of {args.repeat}: "
              f"{', '.join(f'{t:.1f}' for t in times)} s); {pairs} pairs of code, {len(found.models)} pairs of "
              f"models; {best / pairs * 1e6:.0f} us per pair, everything included")


if __name__ == "__main__":
    main()

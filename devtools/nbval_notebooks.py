"""Writes every solution source as an .ipynb for nbval: `python -m devtools.nbval_notebooks OUT_DIR`.

nbval runs .ipynb files; the sources are jupytext .py files, so CI converts them first.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grader import paths
from grader.notebooks import read_source, write_ipynb
from grader.release.build import assignments


def write_solution_notebooks(out_dir: Path) -> list[Path]:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    written = []
    for name in assignments():
        target = out_dir / f"{name}.ipynb"
        write_ipynb(read_source(paths.SOLUTIONS_DIR / f"{name}.py"), target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_solution_notebooks(Path(sys.argv[1]).resolve()):
        print("nbval notebook:", path)

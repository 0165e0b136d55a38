"""A tripwire for code that reaches into the grading kernel, read from the submission before it runs.

A student's cells run in the same kernel as the tests, before them, so they can change how that
kernel reports failures: `get_ipython().set_custom_exc(...)` hides every later error, an AST
transformer turns every `assert` into `pass`, input transformers, event callbacks, tracing hooks,
patched builtins or modules do the same in other ways. nbgrader then reads "no error" as a pass.

The grader-side checks on saved models (model_checks.py) are what makes points trustworthy; this
scan is the tripwire for the rest. It parses every code cell the student wrote or changed (cells
identical to the release are the instructor's) and reports constructs a course notebook never
needs but every known way in uses: the IPython shell object, imports outside a list of ordinary
libraries, dynamic attribute access and code execution (`getattr` with a computed name, `exec`,
`eval`, `compile`), dunder names, and `sys`/`builtins` internals. A submission with any finding is
not run: every test gets zero points, and the feedback names the cell and the construct.
What it cannot see, and what is not defended, is said in docs/grading.md.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import nbformat

# Top-level modules a course notebook may import (the notebooks' own, and ordinary data-science ones).
ALLOWED_MODULES = frozenset({
    "numpy", "tensorflow", "keras", "tf_keras", "tensorflow_datasets", "tensorflow_hub", "matplotlib", "PIL",
    "pandas", "scipy", "sklearn", "seaborn", "tqdm", "os", "pathlib", "time", "math", "random", "collections",
    "itertools", "functools", "json", "csv", "re", "string", "datetime", "statistics", "typing", "dataclasses",
    "zipfile", "shutil", "glob", "tempfile", "io", "pprint", "textwrap", "google",
    # Network and file I/O cannot change how the kernel reports; the sandbox decides what they reach.
    "socket", "urllib", "http",
})
# IPython's input and output history: code running inside a hidden test (a replaced `predict`, say)
# could print the test's source from it. `warnings`, `traceback` and `inspect` are left out of
# ALLOWED_MODULES for the same reason (they show the calling line).
HISTORY_NAMES = frozenset({"In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii"})
# Submodules allowed although their package is not (IPython's display helpers).
ALLOWED_SUBMODULES = frozenset({"IPython.display"})
# Calls that reach code by a computed name, or run code from a string.
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "vars", "globals", "locals", "breakpoint"})
ATTRIBUTE_CALLS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
# Dunder names a notebook may use (constructors, versions); any other reaches into internals.
ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__version__", "__call__", "__len__", "__getitem__",
                             "__class__", "__doc__", "__file__", "__main__"})
# What `!cmd` and `%magic` become, and the magics a notebook may use.
SHELL_METHODS = frozenset({"system", "getoutput"})
ALLOWED_MAGICS = frozenset({"matplotlib", "time", "timeit", "pip", "ls", "pwd", "cd", "env"})


@dataclass(frozen=True)
class Finding:
    cell: int  # 1-based index among the notebook's cells
    construct: str

    def __str__(self) -> str:
        return f"cell {self.cell} uses {self.construct}"


def _python_source(cell_source: str) -> str:
    """The cell as Python: IPython's own transformer turns `!cmd` and `%magic` into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


class _Scanner(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[str] = []

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self.found.append("a relative import")
        elif node.module:
            self._module(node.module)

    def _module(self, name: str) -> None:
        if name.split(".")[0] not in ALLOWED_MODULES and not any(
            name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_SUBMODULES
        ):
            self.found.append(f"`import {name}`")

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "get_ipython":
            pass  # judged where it is called (visit_Call)
        elif node.id in HISTORY_NAMES or (node.id.startswith("_i") and node.id[2:].isdigit()):
            self.found.append(f"`{node.id}` (the kernel's input history)")
        elif _is_dunder(node.id) and node.id not in ALLOWED_DUNDERS:
            self.found.append(f"`{node.id}`")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_dunder(node.attr) and node.attr not in ALLOWED_DUNDERS:
            self.found.append(f"`.{node.attr}`")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS:
            self.found.append(f"`{func.id}()`")
        elif isinstance(func, ast.Name) and func.id in ATTRIBUTE_CALLS:
            if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
                self.found.append(f"`{func.id}()` with a computed attribute name")
        elif _is_shell_call(func):
            if func.attr == "run_line_magic" and not _allowed_magic(node):
                self.found.append("an IPython magic other than " + ", ".join(sorted(ALLOWED_MAGICS)))
            elif func.attr not in SHELL_METHODS | {"run_line_magic"}:
                self.found.append(f"`get_ipython().{func.attr}`")
            for arg in node.args:
                self.visit(arg)
            return
        if isinstance(func, ast.Name) and func.id == "get_ipython":
            self.found.append("`get_ipython()` (the grading kernel's shell)")
        self.generic_visit(node)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _is_shell_call(func: ast.expr) -> bool:
    """`get_ipython().<method>(...)`, what IPython makes of `!cmd` and `%magic`."""
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython")


def _allowed_magic(node: ast.Call) -> bool:
    return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value in ALLOWED_MAGICS


def _normalized(source: str) -> str:
    """Line ends and surrounding blank lines do not matter (Colab and editors change them)."""
    return "\n".join(line.rstrip() for line in source.splitlines()).strip()


def scan(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[Finding]:
    """What in the student's own code can reach into the kernel; [] for an ordinary notebook."""
    trusted = {_normalized(cell.source) for cell in release.cells if cell.cell_type == "code"}
    findings = []
    for index, cell in enumerate(submitted.cells, start=1):
        if cell.cell_type != "code" or _normalized(cell.source) in trusted:
            continue
        try:
            tree = ast.parse(_python_source(cell.source))
        except (SyntaxError, ValueError):
            continue  # it fails when it runs, like any broken cell
        scanner = _Scanner()
        scanner.visit(tree)
        findings += [Finding(index, construct) for construct in dict.fromkeys(scanner.found)]
    return findings


def tampering_reason(findings: list[Finding]) -> str:
    """The student's explanation: what was found, where, and what to do."""
    listed = "; ".join(map(str, findings[:5])) + (f"; and {len(findings) - 5} more" if len(findings) > 5 else "")
    return (f"not graded: {listed}. Code like this can change how the grading kernel reports test results, so "
            "no test of this notebook is counted. Remove it and hand the notebook in again.")

"""A tripwire for code that can change how the grading kernel reports a test, read before it runs.

A student's cells run in the same kernel as the tests, before them, so they can change how that kernel
reports a failure: `get_ipython().set_custom_exc(...)` hides every later error, an AST transformer
turns every `assert` into `pass`, input transformers, event callbacks, tracing hooks, `sys.excepthook`,
patched builtins or a patched `np.allclose` do the same in other ways. nbgrader then reads "no error"
as a pass.

The tripwire flags only those constructs (`HOOKS` below names each and what it can do), never ordinary
Python: any module import, `sys.version` and `sys.path`, `%%time`, `%%capture`, `%load_ext`, `!pip`,
a variable named `_i` all pass. A flagged notebook is still run; its tests' points rest on the grader's
own checks, which run outside the student's kernel (grader/checks/), and the feedback and grades.csv name
the cell and the construct for the instructor to review. Cells identical to the release's are the
instructor's and are not read. What the scan cannot see (code in files the notebook writes and
imports, for one) is said in docs/grading.md; the grader's own checks do not depend on it.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass

import nbformat

# The shell's methods that `!cmd`, `%magic` and `%%magic` become, and nothing else of the shell object.
SHELL_CALLS = frozenset({"system", "getoutput", "run_line_magic", "run_cell_magic", "magic"})
# Magics that read the kernel's input history into code or output, run code the scan cannot read, or
# reconfigure the shell itself. `%config InlineBackend...` (figure formats) is ordinary and passes.
HOOK_MAGICS = {
    "history": "reads the kernel's input history", "hist": "reads the kernel's input history",
    "recall": "reads the kernel's input history", "rerun": "re-runs the kernel's input history",
    "macro": "runs the kernel's input history", "save": "reads the kernel's input history",
    "load": "loads history or a file into the kernel", "edit": "runs edited history",
    "pastebin": "reads the kernel's input history", "run": "runs code from a file the scan cannot read",
    "config": "reconfigures the shell that reports the tests", "alias_magic": "redefines a magic",
    "debug": "starts the debugger", "pdb": "turns on the post-mortem debugger",
}
# module -> attributes that install hooks, replace the shell's error reporting, reach into the callers'
# frames, or run code from bytes. Reading `sys.modules` or `sys.path` is ordinary; changing the import
# machinery is not (MUTABLE_SYS).
HOOK_ATTRIBUTES = {
    "sys": {"settrace", "setprofile", "monitoring", "excepthook", "displayhook", "__excepthook__",
            "__displayhook__", "addaudithook", "_getframe", "_current_frames", "unraisablehook",
            "breakpointhook"},
    "threading": {"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads", "excepthook"},
    "inspect": {"currentframe", "stack", "trace", "getouterframes"},
    "gc": {"get_referrers", "get_referents", "get_objects"},
    "ctypes": {"pythonapi", "memmove", "memset", "cast", "py_object"},
    "marshal": {"loads", "load"},
    "pickle": {"loads"},
    "types": {"FunctionType", "CodeType"},
    "runpy": {"run_path", "run_module"},
}
MUTABLE_SYS = frozenset({"modules", "meta_path", "path_hooks", "path_importer_cache"})
MUTATING_METHODS = frozenset({"append", "insert", "extend", "pop", "popitem", "remove", "clear", "update",
                              "setdefault", "__setitem__", "__delitem__"})
# Module settings a notebook sets by assignment (`pd.options.display.max_rows = 50`): not a patch.
SETTINGS = frozenset({"options", "rcParams", "environ", "defaults"})
# Calls that only look at the shell: `str(get_ipython())` tells where the notebook runs.
LOOKS_AT_THE_SHELL = frozenset({"str", "repr", "type", "print", "isinstance", "bool"})
# Builtins that run code from a string; `__import__` with a computed name hides what it imports.
CODE_FROM_STRINGS = frozenset({"exec", "eval", "compile"})
# Attributes of frames, tracebacks and functions: reading the tests' locals or rewriting a function's code.
FRAME_ATTRIBUTES = frozenset({"f_back", "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame",
                              "cr_frame", "__globals__", "__code__", "__closure__", "__builtins__",
                              "__subclasses__", "cell_contents"})
# IPython's input and output history: code running inside a hidden test could print the test's source.
HISTORY_NAMES = frozenset({"In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii", "_", "__", "___"})
BUILTIN_NAMES = frozenset(dir(builtins))


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


def _is_history_name(name: str) -> bool:
    numbered = name[2:] if name.startswith("_i") else name[1:] if name.startswith("_") else ""
    return name in HISTORY_NAMES or numbered.isdigit()


def _dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything that is not a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _is_shell(node: ast.expr) -> bool:
    """`get_ipython()` or `IPython.get_ipython()`: the grading kernel's shell."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "get_ipython") or (
        isinstance(func, ast.Attribute) and func.attr == "get_ipython")


class _Scanner(ast.NodeVisitor):
    """Collects what one of the student's cells can do to how the kernel reports a test.

    `modules`: each name an import binds, with the dotted name it stands for (`np` -> "numpy");
    `guarded`: builtins, functions, classes and modules of the instructor's cells that the tests read;
    `test_attributes`: attributes the tests read (`np.allclose`), `test_methods` those they call;
    `bound`: every name the notebook binds anywhere.
    """

    def __init__(self, modules: dict[str, str], guarded: frozenset[str], test_attributes: frozenset[str],
                 test_methods: frozenset[str], bound: frozenset[str]):
        self.guarded, self.bound = guarded, bound
        self.modules = modules
        self.test_attributes, self.test_methods = test_attributes, test_methods
        self.found: list[str] = []
        self._depth = 0  # > 0 inside a function, class, lambda or comprehension: its names are local
        self._shell_ok: set[int] = set()  # get_ipython() calls used only for `!`, `%` or to be printed

    def _path(self, node: ast.expr) -> list[str] | None:
        """["sys", "modules"] for `sys.modules` (or `m` after `from sys import modules as m`)."""
        chain = _dotted(node)
        if chain and chain[0] in self.modules:
            return [*self.modules[chain[0]].split("."), *chain[1:]]
        return None

    def _hook(self, path: list[str] | None) -> str:
        if path and len(path) > 1 and path[1] in HOOK_ATTRIBUTES.get(path[0], ()):
            return f"`{path[0]}.{path[1]}`"
        return ""

    # --- imports: any module passes; importing a hook by name is the hook -------------------------
    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            hook = self._hook([*(node.module or "").split("."), alias.name])
            if hook:
                self.found.append(hook)

    # --- names bound at the top level of a cell, and the kernel's history -------------------------
    def _binds(self, name: str) -> None:
        if not self._depth and name in self.guarded:
            what = "a builtin" if name in BUILTIN_NAMES else "a function or module of the instructor's cells"
            self.found.append(f"`{name} = ...` (rebinds {what} that the tests use)")

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._binds(node.id)
        elif node.id == "__builtins__":
            self.found.append("`__builtins__`")
        elif _is_history_name(node.id) and node.id not in self.bound:
            self.found.append(f"`{node.id}` (the kernel's input or output history)")

    def _scoped(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._binds(node.name)
        self._scoped(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._binds(node.name)
        self._scoped(node)

    def visit_Lambda(self, node: ast.AST) -> None:
        self._scoped(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    # --- attributes: hooks, frames, the import machinery, patched modules, the tests' methods ------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        path = self._path(node)
        if node.attr in FRAME_ATTRIBUTES:
            self.found.append(f"`.{node.attr}`")
        elif self._hook(path):
            self.found.append(self._hook(path))
        elif _is_shell(node.value) and node.attr not in SHELL_CALLS:
            self._shell_ok.add(id(node.value))
            self.found.append(f"`get_ipython().{node.attr}`")
        elif isinstance(node.ctx, ast.Store | ast.Del):
            self._stores(node, path)
        self.generic_visit(node)

    def _stores(self, node: ast.Attribute, path: list[str] | None) -> None:
        if path and path[0] == "sys" and len(path) > 1 and path[1] in MUTABLE_SYS:
            self.found.append(f"`sys.{path[1]}` changed (the import machinery)")
        elif path and self._patch_matters(path):
            self.found.append(f"`{'.'.join(path)} = ...` (patches a module the tests use)")
        elif not path and node.attr in self.test_methods:
            self.found.append(f"`.{node.attr} = ...` (replaces a method the tests call)")

    def _patch_matters(self, path: list[str]) -> bool:
        """A module's attribute replaced: the builtins, or something the tests read (`np.allclose`), not a
        setting (`pd.options.display.max_rows`) or a download address (`cats_vs_dogs._URL`)."""
        return path[0] == "builtins" or (not set(path) & SETTINGS and path[-1] in self.test_attributes)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self._changes(node.value)
        self.generic_visit(node)

    def _changes(self, container: ast.expr) -> None:
        """`container` is changed in place: the import machinery, a module's namespace, globals()."""
        path = self._path(container)
        if path and path[0] == "sys" and len(path) > 1 and path[1] in MUTABLE_SYS:
            self.found.append(f"`sys.{path[1]}` changed (the import machinery)")
        elif path and path[-1] == "__dict__" and (path[0] == "builtins" or len(path) > 1):
            self.found.append(f"`{'.'.join(path)}` changed (patches a module)")
        elif isinstance(container, ast.Call) and isinstance(container.func, ast.Name) and \
                container.func.id in ("globals", "vars", "locals"):
            self.found.append(f"`{container.func.id}()` changed (binds names from strings)")

    # --- calls ------------------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if _is_shell(node) and id(node) not in self._shell_ok:
            self.found.append("`get_ipython()` (the grading kernel's shell, kept or passed on)")
        elif isinstance(func, ast.Name) and func.id in CODE_FROM_STRINGS:
            self.found.append(f"`{func.id}()` (runs code from a string)")
        elif isinstance(func, ast.Name) and func.id == "__import__" and not (
                node.args and isinstance(node.args[0], ast.Constant)):
            self.found.append("`__import__()` with a computed name")
        elif isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr") and node.args:
            self._by_name(func.id, node)
        elif isinstance(func, ast.Name) and func.id in LOOKS_AT_THE_SHELL:
            self._shell_ok.update(id(arg) for arg in node.args if _is_shell(arg))
        elif isinstance(func, ast.Attribute) and _is_shell(func.value) and func.attr in SHELL_CALLS:
            self._shell_ok.add(id(func.value))
            self._magic(func.attr, node)
        elif isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            self._changes(func.value)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        # `get_ipython() is None`, `"google.colab" in str(get_ipython())`: where the notebook runs.
        self._shell_ok.update(id(side) for side in (node.left, *node.comparators) if _is_shell(side))
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if _is_shell(node.test):
            self._shell_ok.add(id(node.test))
        self.generic_visit(node)

    def _by_name(self, name: str, node: ast.Call) -> None:
        """getattr/setattr/delattr: on a module or the shell, judged as the attribute it names."""
        target = node.args[0]
        path = self._path(target)
        if _is_shell(target):
            self._shell_ok.add(id(target))
        computed = len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)
        named = [*(path or []), "" if computed else str(node.args[1].value)]
        if name != "getattr" and (_is_shell(target) or (path and (computed or self._patch_matters(named)))):
            self.found.append(f"`{name}()` on `{ast.unparse(target)}` (patches a module the tests use)")
        elif computed:
            if _is_shell(target) or (path and path[0] in (*HOOK_ATTRIBUTES, "builtins")):
                self.found.append(f"`{name}()` with a computed name on `{ast.unparse(target)}`")
        elif _is_shell(target) or path:
            named = ast.copy_location(ast.Attribute(value=target, attr=str(node.args[1].value), ctx=ast.Load()),
                                      node)
            self.visit_Attribute(named)

    def _magic(self, method: str, node: ast.Call) -> None:
        if method in ("system", "getoutput") or not node.args:
            return
        if not isinstance(node.args[0], ast.Constant):
            self.found.append(f"`get_ipython().{method}()` with a computed magic")
            return
        words = str(node.args[0].value).split()
        magic = words[0] if words else ""
        line = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else ""
        if magic == "config" and str(line).startswith("InlineBackend"):
            return
        if magic in HOOK_MAGICS:
            self.found.append(f"`%{magic}` ({HOOK_MAGICS[magic]})")


def _cells_python(cells: list[nbformat.NotebookNode]) -> Iterator[tuple[int, ast.AST]]:
    """(1-based index, parsed Python) of each code cell that parses."""
    for index, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        try:
            yield index, ast.parse(_python_source(cell.source))
        except (SyntaxError, ValueError):
            continue  # it fails when it runs, like any broken cell


def _normalized(source: str) -> str:
    """Line ends and surrounding blank lines do not matter (Colab and editors change them)."""
    return "\n".join(line.rstrip() for line in source.splitlines()).strip()


def _module_names(trees: list[ast.AST]) -> dict[str, str]:
    """Every name an import binds, with what it stands for (`np` -> "numpy", `m` -> "sys.modules")."""
    modules = {"IPython": "IPython"}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    modules[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname \
                        else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return modules


@dataclass(frozen=True)
class _Names:
    read: frozenset[str]  # names loaded
    attributes: frozenset[str]  # attributes loaded
    called: frozenset[str]  # methods called
    bound: frozenset[str]  # assignments, loops, parameters, definitions, imports


def _names(trees: list[ast.AST]) -> _Names:
    read, attributes, called, bound = set(), set(), set(), set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                attributes.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called.add(node.func.attr)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.alias):
                bound.add(node.asname or node.name.split(".")[0])
    return _Names(frozenset(read), frozenset(attributes), frozenset(called), frozenset(bound))


def _role(cell: nbformat.NotebookNode) -> str:
    """"test", "solution" or "given" (the instructor's other code cells)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return "solution" if meta.get("solution") else ("test" if meta.get("grade") else "given")


def tested_names(tests: nbformat.NotebookNode, release: nbformat.NotebookNode) -> dict[str, list[str]]:
    """What the scan needs of the test cells of `tests` (the source, hidden tests included), and nothing else:
    the names they read on trust, the attributes and methods they use, the history-like names they bind.
    None of their code and none of their own variables: the check-and-hand-in cell carries this much.

    What a test reads on trust: builtins, and the functions, classes and modules the instructor's cells of
    `release` define or import. Data (settings, the model, a history) is the student's to change: what a test
    makes of it is confirmed by the grader's own checks.
    """
    names = _names([tree for _, tree in _cells_python([c for c in tests.cells if _role(c) == "test"])])
    given = [tree for _, tree in _cells_python([c for c in release.cells if _role(c) == "given"])]
    given_code = {node.name for tree in given for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    given_code |= set(_module_names(given)) - {"IPython"}
    return {"read": sorted((names.read - names.bound) & (given_code | BUILTIN_NAMES)),
            "attributes": sorted(names.attributes), "called": sorted(names.called),
            "bound": sorted(name for name in names.bound if _is_history_name(name))}


def scan(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode,
         tests: nbformat.NotebookNode | None = None, tested: dict[str, list[str]] | None = None) -> list[Finding]:
    """What in the student's own code can change how the kernel reports a test; [] for ordinary code.

    Cells identical to one of `release`'s are the instructor's and are not read for findings. `tests`,
    where given, is the assignment's source with its hidden tests: the names its test cells rely on
    are guarded too; `tested` is what the scan needs of them (`tested_names(source, release)`), where the
    source is not at hand.
    """
    trusted = {_normalized(cell.source) for cell in release.cells if cell.cell_type == "code"}
    own = {index: tree for index, tree in _cells_python(submitted.cells)
           if _normalized(submitted.cells[index - 1].source) not in trusted}
    every = [tree for _, tree in _cells_python(submitted.cells)]
    tested = tested if tested is not None else tested_names(tests or release, release)
    guarded = frozenset(tested["read"])
    # Only history-like names matter of what the tests bind (_Scanner's check of the kernel's history).
    bound = _names(every).bound | frozenset(tested["bound"])
    modules = _module_names(every)
    findings = []
    for index, tree in own.items():
        # A name this cell binds otherwise (`for layers in model.layers: layers.trainable = False`) is not
        # the module an import bound to it elsewhere.
        rebound = _names([tree]).bound - {a.asname or a.name.split(".")[0] for node in ast.walk(tree)
                                           if isinstance(node, ast.Import | ast.ImportFrom) for a in node.names}
        cell_modules = {name: module for name, module in modules.items() if name not in rebound}
        scanner = _Scanner(cell_modules, guarded, frozenset(tested["attributes"]), frozenset(tested["called"]), bound)
        scanner.visit(tree)
        findings += [Finding(index, construct) for construct in dict.fromkeys(scanner.found)]
    return findings


def tampering_reason(findings: list[Finding]) -> str:
    """What the feedback and grades.csv say of a flagged notebook: where, what, and how it was graded."""
    listed = "; ".join(map(str, findings[:5])) + (f"; and {len(findings) - 5} more" if len(findings) > 5 else "")
    return (f"flagged for review: {listed}. Code like this can change how the grading kernel reports test "
            "results, so each test's points rest on the grader's own checks, run outside your notebook.")

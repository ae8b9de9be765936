"""Static integrity scan of a submission: find the lines where student code replaces library
or checker functions, rewrites ``sys.modules``, runs encoded code, reads course files, hooks
IPython or fakes test output. Findings are reported with the offending line; the runtime guard
(autograder.guard) is what keeps such code from earning points."""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode
from nbgrader import utils as nbutils

from autograder.notebook import grade_id

PROTECTED_ROOTS = {"numpy", "torch", "builtins", "math", "sympy", "scipy", "autograder",
                   "cvcourse", "nbgrader", "random"}
CHECK_NAMES = {"assert_close", "assert_equal", "assert_shape", "assert_sympy_equal",
               "assert_raises", "check", "passed", "rel_error", "numerical_gradient", "as_array"}
DYNAMIC_CODE = {"exec", "eval", "compile", "__import__"}
DECODERS = {"decode", "b64decode", "b32decode", "b16decode", "a85decode", "b85decode",
            "decodebytes", "decompress", "loads", "fromhex", "unhexlify"}
# settings students may legitimately assign (reproducibility switches)
CONFIG_ATTRIBUTES = ("torch.backends.", "numpy.random.seed")
# what IPython turns %magics and !commands into: not hooks (their arguments are still scanned)
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
DECODER_MODULES = {"base64", "codecs", "marshal", "pickle", "zlib", "bz2", "lzma", "binascii"}
COURSE_PATH = re.compile(r"(?<![A-Za-z0-9_])(source[/\\]|gradebook|autograded[/\\]"
                         r"|nbgrader_config|\.db\b)")
HOOKS = {"get_ipython", "settrace", "setprofile", "addaudithook"}


@dataclass
class Flag:
    """One suspicious line: where it is, the code, and why it is flagged."""

    cell: str
    line: int
    code: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def _dotted(node: ast.AST) -> str | None:
    """``np.linalg.norm`` -> "np.linalg.norm"; None for anything that is not a dotted name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, aliases: dict[str, str]):
        self.aliases = aliases  # local name -> real module path, from the notebook's imports
        self.found: list[tuple[int, str]] = []
        self.depth = 0

    def resolve(self, dotted: str | None) -> str | None:
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        real = self.aliases.get(head, head if head in PROTECTED_ROOTS else None)
        if head in ("__builtins__",):
            real = "builtins"
        if real is None:
            return None
        return f"{real}.{rest}" if rest else real

    def flag(self, node: ast.AST, reason: str) -> None:
        self.found.append((getattr(node, "lineno", 0), reason))

    def _target(self, target: ast.AST, node: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._target(elt, node)
            return
        if isinstance(target, ast.Attribute):
            real = self.resolve(_dotted(target))
            if real and real.split(".")[0] in PROTECTED_ROOTS \
                    and not real.startswith(CONFIG_ATTRIBUTES):
                self.flag(node, f"replaces {real} (monkeypatching)")
        elif isinstance(target, ast.Subscript):
            base = _dotted(target.value) or ""
            if self.resolve(base) == "sys.modules" or base.endswith("sys.modules"):
                self.flag(node, "rewrites sys.modules")
            elif base in ("globals", "__builtins__") or self.resolve(base) == "builtins":
                self.flag(node, "rewrites globals or builtins")
        elif isinstance(target, ast.Name) and target.id in CHECK_NAMES:
            self.flag(node, f"redefines the test helper {target.id}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target, node)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self._target(node.target, node)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._target(item.optional_vars, node)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target, node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in CHECK_NAMES and self.depth == 0:
            self.flag(node, f"redefines the test helper {node.name}")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.depth += 1  # methods of the student's own classes may be called ``check``
        self.generic_visit(node)
        self.depth -= 1

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Attribute) and node.func.attr in MAGIC_CALLS:
            self._magic(node)
            return
        name = _dotted(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        real = self.resolve(name) or name
        if last in ("setattr", "delattr") and node.args:
            owner = self.resolve(_dotted(node.args[0]))
            if owner and owner.split(".")[0] in PROTECTED_ROOTS:
                self.flag(node, f"replaces an attribute of {owner} (monkeypatching)")
        if name in DYNAMIC_CODE or last in ("exec", "eval"):
            self.flag(node, f"executes dynamically built code ({last})")
        if last in DECODERS and real.split(".")[0] in DECODER_MODULES | {"bytes"}:
            self.flag(node, f"decodes hidden data or code ({real})")
        if name in HOOKS or last in HOOKS:
            self.flag(node, f"hooks the interpreter or IPython ({last})")
        if real.startswith("sys.modules"):
            self.flag(node, "rewrites sys.modules")
        if real.startswith(("importlib.reload", "importlib.import_module")):
            self.flag(node, f"re-imports modules at run time ({real})")
        if last in ("print", "write", "display") and _mentions_pass(node):
            self.flag(node, "prints fake test output")
        self.generic_visit(node)

    def _magic(self, node: ast.Call) -> None:
        """A %magic or !command as IPython rewrote it: scan its arguments, and the body of a
        %%cell magic as Python (it starts on the cell's second line)."""
        for arg in node.args:
            self.visit(arg)
        body = node.args[2] if len(node.args) == 3 else None
        if node.func.attr == "run_cell_magic" and isinstance(body, ast.Constant) \
                and isinstance(body.value, str):
            tree = _parse(body.value)
            if tree is not None:
                inner = _Scanner({**self.aliases, **_aliases([tree])})
                inner.visit(tree)
                self.found += [(line + 1, reason) for line, reason in inner.found]

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and COURSE_PATH.search(node.value):
            self.flag(node, f"refers to the course's private files ({node.value[:40]!r})")


def _mentions_pass(call: ast.Call) -> bool:
    """A string literal in the call that reads like a test verdict (not a variable name)."""
    texts = [n.value.lower() for n in ast.walk(call)
             if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return any("\u2714" in t or "passed" in t or "all tests" in t for t in texts)


def _aliases(trees: list[ast.AST]) -> dict[str, str]:
    aliases = {"sys": "sys"}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _parse(source: str) -> ast.AST | None:
    """Parse a cell as IPython runs it (magics become calls, line numbers kept)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def student_cells(nb: NotebookNode) -> list[tuple[str, NotebookNode]]:
    """The code cells a student could write: every code cell that is not locked."""
    return [(grade_id(c) or f"cell {i}", c) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not nbutils.is_locked(c)]


def scan(nb: NotebookNode) -> list[Flag]:
    """Flag suspicious lines in the student's cells (locked cells are the course's own, but
    their imports define the aliases, e.g. the setup cell's ``import numpy as np``)."""
    every = [_parse(c.source) for c in nb.cells if c.cell_type == "code"]
    aliases = _aliases([tree for tree in every if tree is not None])
    cells = [(label, cell, _parse(cell.source)) for label, cell in student_cells(nb)]
    flags: list[Flag] = []
    for label, cell, tree in cells:
        if tree is None:
                continue  # a syntax error for IPython too: the cell cannot run
        scanner = _Scanner(aliases)
        scanner.visit(tree)
        lines = cell.source.split("\n")
        for lineno, reason in sorted(set(scanner.found)):
            code = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            flags.append(Flag(label, lineno, code, reason))
    return flags

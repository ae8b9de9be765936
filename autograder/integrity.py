"""Static integrity scan of a submission: report which lines of the student's cells tamper with
the grading, and how: monkeypatching library or checker modules (also through aliases, setattr,
getattr, vars, __dict__ and globals()), rewriting sys.modules, running dynamic or decoded code,
hooking the interpreter or IPython, inspecting frames or the object graph, signals, processes,
threads, ctypes, swapping a function's code or an object's class, test helpers redefined to
check nothing, and references to the course's private files or to files the grader would load.

Verdicts never depend on this scan (tests are judged in a trusted process outside the student's
kernel); it only reports. So it stays silent on legitimate code: seeding, documented settings,
printing, and whatever the student does to their own objects."""

from __future__ import annotations

import ast
import builtins
import re
from collections import ChainMap
from dataclasses import asdict, dataclass

from IPython.core.inputtransformer2 import TransformerManager
from nbformat import NotebookNode
from nbgrader import utils as nbutils

from autograder.notebook import grade_id

SHELL = "get_ipython()"  # what a call of get_ipython resolves to
PROTECTED_ROOTS = {"numpy", "torch", "builtins", "math", "random", "sympy", "scipy", "sklearn",
                   "autograder", "cvcourse", "nbgrader", "sys", "IPython", "ipykernel", SHELL}
# Documented settings inside protected modules that students may assign: reproducibility and
# speed switches (torch.backends.cudnn.deterministic, torch.compile's config) and sys.argv /
# sys.path. matplotlib is not protected, so plt.rcParams[...] and mpl.rcParams[...] are free,
# and calls (np.set_printoptions, torch.manual_seed) never count as patching.
SETTINGS = ("torch.backends", "torch._dynamo.config", "torch._inductor.config", "sys.argv",
            "sys.path")
IMPORT_HOOKS = ("sys.meta_path", "sys.path_hooks")
CONTAINERS = {"sys.modules", *IMPORT_HOOKS}  # mutating these in place is tampering (+ __dict__)
MUTATORS = set("update append extend insert pop popitem clear remove setdefault register "
               "unregister __setitem__ __delitem__".split())
VERDICT_HELPERS = set("assert_close assert_equal assert_shape assert_sympy_equal assert_raises "
                      "assert_gradient check passed".split())
CHECK_NAMES = VERDICT_HELPERS | {"rel_error", "relative_error", "numerical_gradient", "as_array",
                                 "count_calls", "torch_value_and_grad"}
FUNCTION_SLOTS = {"__code__", "__defaults__", "__kwdefaults__"}
SETATTRS = {"setattr", "delattr", "object.__setattr__", "object.__delattr__", "type.__setattr__"}
NAMESPACES = {"globals", "locals", "vars"}  # called without arguments: the student's namespace
INTERNALS = set("f_back f_globals f_locals f_builtins tb_frame gi_frame cr_frame ag_frame "
                "__globals__ __subclasses__".split())
DECODERS = set("decode b64decode b32decode b16decode a85decode b85decode decodebytes "
               "decompress loads fromhex unhexlify".split())
DECODER_MODULES = set("base64 codecs marshal pickle zlib bz2 lzma binascii bytes".split())
_CALL_GROUPS = {
    "executes dynamically built code": "exec eval compile __import__ importlib.__import__ "
    + " ".join(f"{SHELL}.{m}" for m in "run_cell run_cell_async run_code ex ev".split()),
    "hooks the interpreter or IPython": "sys.settrace sys.setprofile sys.addaudithook "
    f"threading.settrace threading.setprofile {SHELL}.set_custom_exc {SHELL}.set_hook",
    "inspects the interpreter's frames or live objects": "sys._getframe sys._current_frames "
    "inspect.currentframe inspect.stack inspect.trace inspect.getouterframes gc.get_objects "
    "gc.get_referrers gc.get_referents",
    "sends signals or starts processes": "os.kill os.killpg os.fork os.forkpty os.system "
    "os.popen signal.signal signal.alarm signal.setitimer signal.pthread_kill pty.spawn",
    "starts a thread that can outlive its cell": "threading.Thread threading.Timer "
    "_thread.start_new_thread",
    "re-imports modules at run time": "importlib.reload",
}
CALLS = {name: reason for reason, names in _CALL_GROUPS.items() for name in names.split()}
PROCESS_PREFIXES = ("subprocess.", "os.exec", "os.spawn", "os.posix_spawn")
# what IPython turns %magics and !commands into: not hooks (their arguments are still scanned)
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
CODE_MAGICS = {"time", "timeit", "prun"}  # line magics whose argument is Python code
COURSE_PATH = re.compile(r"(?<![A-Za-z0-9_])(?:source|autograded)[/\\]"
                         r"|[/\\](?:source|autograded)(?=$|[/\\])"
                         r"|(?<![A-Za-z0-9_])(?:gradebook|nbgrader_config)|\.db\b")
# paths of files that, planted, the grader or a restarted kernel would import or run
PLANTED = re.compile(r"(?<![A-Za-z0-9_.-])(?:autograder|cvcourse)[/\\]|\.ipython\b|sitecustomize"
                     r"|usercustomize")
PATH_CALLS = {"join", "joinpath", "Path", "PurePath", "PosixPath"}


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


def _text(node: ast.AST | None) -> str | None:
    """The string an expression always evaluates to ('a' + 'b', Path('..') / 'b',
    os.path.join('a', 'b')), or None when it depends on run-time values."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = _text(node.left), _text(node.right)
        sep = "/" if isinstance(node.op, ast.Div) else ""
        return None if left is None or right is None else f"{left}{sep}{right}"
    if isinstance(node, ast.Call) and (_dotted(node.func) or "").split(".")[-1] in PATH_CALLS:
        parts = [_text(a) for a in node.args]
        return "/".join(parts) if parts and None not in parts else None
    return None


def _protected(path: str | None) -> bool:
    """Is ``path`` inside a protected module and not a documented setting?"""
    if not path or path.split(".")[0] not in PROTECTED_ROOTS:
        return False
    return not any(path == s or path.startswith((f"{s}.", f"{s}[")) for s in SETTINGS)


def _tampers(path: str) -> str:
    """The reason for a write to ``path``."""
    if path.startswith("sys.modules"):
        return "rewrites sys.modules"
    if path.startswith(SHELL):
        return f"hooks the interpreter or IPython ({path})"
    if path.startswith(IMPORT_HOOKS):
        return f"installs an import hook ({path})"
    if path.endswith(".__dict__"):
        return f"replaces attributes of {path.removesuffix('.__dict__')} (monkeypatching)"
    return f"replaces {path} (monkeypatching)"


class _Scanner(ast.NodeVisitor):
    """Walks a notebook's code cells in order, tracking which names refer to which modules
    (imports, ``n_p = np``, ``getattr``, ``__import__``, ``sys.modules[...]``), and flags
    tampering in the cells it reports on."""

    def __init__(self) -> None:
        self.aliases: ChainMap[str, str | None] = ChainMap(
            {"sys": "sys", "__builtins__": "builtins", "__builtin__": "builtins"})
        self.defined: set[str] = set()  # functions and classes the student defined
        self.found: list[tuple[int, str]] = []
        self.report, self.scope, self.cond, self.offset = True, 0, 0, 0

    def scan(self, tree: ast.AST, report: bool) -> list[tuple[int, str]]:
        self.found, self.report = [], report
        try:
            self.visit(tree)
        except RecursionError:  # an expression nested hundreds deep: say so, keep going
            self.aliases, self.scope, self.cond, self.offset = \
                ChainMap(self.aliases.maps[-1]), 0, 0, 0
            self.flag(tree, "could not be scanned, nested too deeply: review this cell by hand")
        return self.found

    def flag(self, node: ast.AST, reason: str) -> None:
        if self.report:
            self.found.append((getattr(node, "lineno", 1) + self.offset, reason))

    def resolve(self, node: ast.AST | None) -> str | None:
        """The module path an expression refers to (``xp.linalg`` -> "numpy.linalg"), if any."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return f"{owner}.{node.attr}" if owner else None
        if isinstance(node, ast.NamedExpr):
            return self.resolve(node.value)
        if isinstance(node, ast.Subscript):
            return self._item(node)
        return self._returned(node) if isinstance(node, ast.Call) else None

    def callee(self, call: ast.Call) -> str:
        """The called function's path, a builtin's without ``builtins.`` (``exec``)."""
        name = self.resolve(call.func) or _dotted(call.func) or ""
        head, _, rest = name.partition(".")
        return rest if head == "builtins" and "." not in rest else name

    def _item(self, node: ast.Subscript) -> str | None:
        """A module reached by subscript: ``globals()['np']``, ``sys.modules['numpy']``,
        ``np.__dict__['linalg']``, ``__builtins__['abs']`` (other items are data, not modules)."""
        key = _text(node.slice)
        if self._namespace(node.value):
            return self.aliases.get(key) if key else None
        owner = self.resolve(node.value)
        if owner == "sys.modules":
            return key
        if owner and (owner.endswith(".__dict__") or owner == "builtins"):
            return f"{owner.removesuffix('.__dict__')}.{key or '?'}"
        return None

    def _returned(self, call: ast.Call) -> str | None:
        fn, args = self.callee(call), call.args
        first = _text(args[0]) if args else None
        owner = self.resolve(args[0]) if args else None
        if fn in ("get_ipython", "IPython.get_ipython", "IPython.core.getipython.get_ipython"):
            return SHELL
        if fn == "getattr" and len(args) >= 2 and owner:
            return f"{owner}.{_text(args[1]) or '?'}"
        if fn == "vars" and owner:
            return f"{owner}.__dict__"
        if fn in ("__import__", "importlib.__import__") and first:
            return first.split(".")[0]
        return first if fn in ("importlib.import_module", "sys.modules.get") else None

    def _namespace(self, node: ast.AST) -> bool:
        """``globals()``, ``locals()`` or ``vars()``."""
        return isinstance(node, ast.Call) and not node.args and self.callee(node) in NAMESPACES

    def _bind(self, name: str, value: ast.AST | None, node: ast.AST) -> None:
        """``name = value``: track module aliases (a rebinding that surely runs hides one)."""
        path = self.resolve(value)
        if path or not self.cond:
            self.aliases[name] = path
        if self.report and isinstance(value, (ast.Lambda, ast.FunctionDef,
                                              ast.AsyncFunctionDef, ast.ClassDef)):
            self.defined.add(name)
        if self.scope == 0 and name in CHECK_NAMES and self._noop(name, value):
            self.flag(node, f"redefines the test helper {name} so that it checks nothing")

    def _noop(self, name: str, value: ast.AST | None) -> bool:
        """A function that does nothing or, for a check, an existing callable (``print``)."""
        if isinstance(value, ast.Lambda):
            return isinstance(value.body, ast.Constant)
        if isinstance(value, (ast.FunctionDef, ast.AsyncFunctionDef)):  # pass, ..., return 1
            return all(isinstance(s, ast.Pass) or isinstance(getattr(s, "value", 0), ast.Constant)
                       or isinstance(s, ast.Return) and s.value is None for s in value.body)
        if name not in VERDICT_HELPERS or not isinstance(value, (ast.Name, ast.Attribute)):
            return False
        return hasattr(builtins, getattr(value, "id", "-")) or self.resolve(value) is not None

    def _store(self, target: ast.AST, value: ast.AST | None, node: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) \
                and len(value.elts) == len(target.elts) else [None] * len(target.elts)
            for elt, val in zip(target.elts, values, strict=True):
                self._store(elt, val, node)
        elif isinstance(target, ast.Starred):
            self._store(target.value, None, node)
        elif isinstance(target, ast.Name):
            self._bind(target.id, value, node)
        elif isinstance(target, ast.Attribute):
            self._set_attr(target.value, target.attr, node)
        elif isinstance(target, ast.Subscript):
            self._set_item(target, value, node)

    def _set_attr(self, owner_node: ast.AST, attr: str | None, node: ast.AST) -> None:
        """``owner.attr = ...``, ``del owner.attr`` or ``setattr(owner, attr, ...)``."""
        code = ast.unparse(owner_node)
        if attr == "__class__":
            self.flag(node, f"changes the class of {code} (__class__ assignment)")
            return
        owner = self.resolve(owner_node)
        if attr and _protected(f"{owner}.{attr}"):
            self.flag(node, _tampers(f"{owner}.{attr}"))
        elif not attr and _protected(owner):
            self.flag(node, f"replaces an attribute of {owner} (monkeypatching)")
        elif attr in FUNCTION_SLOTS and (_dotted(owner_node) or ".").split(".")[0] \
                not in self.defined | {"self", "cls"}:
            self.flag(node, f"replaces the {attr} of {code}, a function the student did not "
                            "define")

    def _set_item(self, target: ast.Subscript, value: ast.AST | None, node: ast.AST) -> None:
        key = _text(target.slice)
        if self._namespace(target.value):
            if key:
                self._bind(key, value, node)  # globals()["np"] = ... is np = ...
            return
        owner = self.resolve(target.value)
        path = "sys.modules" if owner == "sys.modules" else self._item(target)
        if path is None and owner:
            path = f"{owner}[{key!r}]" if key else f"{owner}[...]"
        if _protected(path):
            self.flag(node, _tampers(path))

    def visit_Assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign | ast.Delete) -> None:
        self.generic_visit(node)
        value = None if isinstance(node, ast.AugAssign) else getattr(node, "value", None)
        for target in getattr(node, "targets", None) or [node.target]:
            if value is not None or not isinstance(target, ast.Name):  # x += 1, x: int, del x
                self._store(target, value, node)
    visit_AnnAssign = visit_AugAssign = visit_Delete = visit_Assign

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._bind(node.target.id, node.value, node)

    def visit_If(self, node: ast.AST) -> None:
        """Statements that may not run: a rebinding in them does not hide a module alias."""
        self.cond += 1
        self.generic_visit(node)
        self.cond -= 1
    visit_While = visit_Try = visit_TryStar = visit_If

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._store(node.target, None, node)
        self.visit_If(node)
    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._store(item.optional_vars, None, node)
        self.generic_visit(node)
    visit_AsyncWith = visit_With

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        module = getattr(node, "module", None)
        if getattr(node, "level", 0):
            return  # relative imports: the student's own files
        for alias in node.names:
            top = alias.name.split(".")[0]
            path = f"{module}.{alias.name}" if module else alias.name if alias.asname else top
            if alias.name != "*":
                self.aliases[alias.asname or top] = path
            self._imported(module or alias.name, node)
    visit_ImportFrom = visit_Import

    def _imported(self, module: str, node: ast.AST) -> None:
        if module.split(".")[0] == "ctypes":
            self.flag(node, "loads ctypes (raw access to the interpreter's memory)")

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._bind(node.name, node, node)
        self.visit_Lambda(node)
    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._bind(node.name, node, node)
        for base in node.bases:
            if self.resolve(base) in ("threading.Thread", "threading.Timer"):
                self.flag(node, f"starts a thread that can outlive its cell ({ast.unparse(base)})")
        self.visit_Lambda(node)

    def visit_Lambda(self, node: ast.Lambda | ast.FunctionDef | ast.ClassDef) -> None:
        """A function or class body: its own names, its parameters hiding module aliases."""
        params = ast.walk(node.args) if hasattr(node, "args") else []
        self.aliases = self.aliases.new_child({a.arg: None for a in params
                                               if isinstance(a, ast.arg)})
        outer, self.cond = self.cond, 0
        self.scope += 1
        self.generic_visit(node)
        self.scope -= 1
        self.cond, self.aliases = outer, self.aliases.parents

    def visit_Call(self, node: ast.Call) -> None:
        fn = self.callee(node)
        owner, _, method = fn.rpartition(".")
        if owner == SHELL and method in MAGIC_CALLS:
            self._magic(node, method)
            return
        reason = CALLS.get(fn) or ("sends signals or starts processes"
                                   if fn.startswith(PROCESS_PREFIXES) else None)
        if reason:
            self.flag(node, f"{reason} ({fn})")
        if method in DECODERS and fn.split(".")[0] in DECODER_MODULES:
            self.flag(node, f"decodes hidden data or code ({fn})")
        if fn == "importlib.import_module" and node.args:
            name = _text(node.args[0])
            if name is None:
                self.flag(node, f"imports a module whose name is computed at run time ({fn})")
            else:
                self._imported(name, node)
        self._call_writes(node, fn, owner, method)
        self.visit_Constant(node)

    def _call_writes(self, node: ast.Call, fn: str, owner: str, method: str) -> None:
        """``setattr(np, ...)``, ``sys.modules.update(...)``, ``vars(np).update(...)``,
        ``get_ipython().events.register(...)``, ``dict.update(sys.modules, ...)``."""
        if fn in SETATTRS and len(node.args) >= 2:
            self._set_attr(node.args[0], _text(node.args[1]), node)
            return
        if fn.startswith(("dict.", "list.")) and node.args:
            owner = self.resolve(node.args[0]) or ""
        if method in MUTATORS and _protected(owner) and (
                owner in CONTAINERS or owner.startswith(f"{SHELL}.") or owner.endswith("__dict__")):
            self.flag(node, _tampers(f"{owner}.{method}" if owner.startswith(SHELL) else owner))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in INTERNALS:
            self.flag(node, f"reaches into interpreter internals ({node.attr})")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant | ast.BinOp | ast.Call) -> None:
        """A path to the course's files, also when built: 'sou' + 'rce/', Path('..') / 'source',
        os.path.join('..', 'source')."""
        text = _text(node)
        if text and COURSE_PATH.search(text):
            self.flag(node, f"refers to the course's private files ({text[:40]!r})")
        elif text and PLANTED.search(text):
            self.flag(node, f"refers to files the grader or IPython loads ({text[:40]!r})")
        elif isinstance(node, ast.BinOp):  # a + b + c ...: visit the operands, not each level
            while isinstance(node, ast.BinOp):
                self.visit(node.right)
                node = node.left
            self.visit(node)
        else:
            self.generic_visit(node)
    visit_BinOp = visit_Constant

    def _magic(self, node: ast.Call, method: str) -> None:
        """A %magic or !command as IPython rewrote it: scan its arguments, the code of
        %time/%timeit, and the body of a %%cell magic (it starts on the cell's second line)."""
        texts, tree, offset = [_text(a) for a in node.args], None, 0
        if method == "run_cell_magic" and len(texts) == 3 and texts[2] is not None:
            tree, offset = _parse(texts[2]), node.lineno
        elif method == "run_line_magic" and len(texts) == 2 and texts[0] in CODE_MAGICS:
            words = (texts[1] or "").split()  # skip options such as -n 3 -r 2
            trees = (_parse(" ".join(words[i:])) for i in range(min(len(words), 6)))
            tree, offset = next((t for t in trees if t is not None), None), node.lineno - 1
        for arg in node.args[:-1] if tree is not None else node.args:
            self.visit(arg)
        if tree is not None:
            self.offset += offset
            self.visit(tree)
            self.offset -= offset


def _parse(source: str) -> ast.AST | None:
    """Parse a cell as IPython runs it (magics become calls, line numbers kept); None when
    Python could not compile it either."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    except RecursionError:
        return None
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, RecursionError):
        return None


def scan(nb: NotebookNode) -> list[Flag]:
    """Flag tampering in the student's cells (every code cell that is not locked). All code
    cells are read in order, so the course's locked cells, never flagged, still define aliases
    such as the setup cell's ``import numpy as np`` for the student's cells after them."""
    scanner, flags = _Scanner(), []
    for i, cell in enumerate(nb.cells):
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        if tree is None:
            continue  # a syntax error for IPython too: the cell cannot run
        found = scanner.scan(tree, report=not nbutils.is_locked(cell))
        lines = cell.source.split("\n")
        for lineno, reason in sorted(set(found)):
            code = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            flags.append(Flag(grade_id(cell) or f"cell {i}", lineno, code, reason))
    return flags

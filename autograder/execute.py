"""Execute one submission for grading with two kernels: the student's cells run in a sandboxed
kernel, the test cells in a trusted judge kernel that reaches the student's functions through
``autograder.bridge``. Verdicts are the judge's alone. A cell that hangs (even one that swallows
KeyboardInterrupt), a kernel that dies or exits, or a notebook over its time budget costs only
the cells it touches: the student's kernel is restarted and its earlier cells replayed."""

from __future__ import annotations

import ast
import atexit
import builtins
import json
import shutil
import symtable
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils as nbutils

from autograder import sandbox
from autograder.bridge import BRIDGE_ENV
from autograder.client import Kernel, Run
from autograder.kernel import LIMITS_ENV, PRELOAD_ENV
from autograder.notebook import grade_id, is_answer, is_test

# evaluated as a user expression: IPython's input transformers (which student code can
# replace) never see it
SERVE = "__import__('autograder.bridge').bridge.serve()"
# IPython keeps a failed cell's traceback (sys.last_*), and with it the frames' locals: after a
# memory bomb that is the whole heap, and every later test would fail with MemoryError
FORGET_ERROR = ("import sys as _s\n_s.last_type = _s.last_value = _s.last_traceback = None\n"
                "_s.last_exc = None\ndel _s\nimport gc as _g\n_g.collect()\ndel _g")
SKIPPED_NOTE = "(not run while grading: no test and none of your code depends on this cell)\n"
JUDGE_ONLY_NOTE = "(run while grading in the grader's own kernel only: only the tests use it)\n"
_ERRORS = {"StudentTimeout": "CellTimeout", "StudentKernelDied": "DeadKernel"}


@dataclass
class Limits:
    """Per-cell and per-notebook time limits (seconds) and the kernel's memory cap (MiB)."""

    cell_s: float = 120.0
    notebook_s: float = 900.0
    memory_mb: int = 4096


@dataclass
class RunLog:
    """What happened while executing: restarts, timeouts, and whether the sandbox was used."""

    events: list[str] = field(default_factory=list)
    restarts: int = 0


def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
    cell.outputs.append(new_output("error", ename=ename, evalue=evalue,
                                   traceback=[f"{ename}: {evalue}"]))


def defined_names(source: str) -> list[str]:
    """Top-level names an answer cell defines (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


class GradingRun:
    """Runs ``nb`` in place (see the module docstring). ``answers`` are the names the release's
    answer cells define, ``preload`` the modules its locked cells import; ``spare``: launch
    the next submission's student kernel while this one runs; ``label`` (the student) is
    written next to the kernel's connection file, for whoever watches the processes;
    ``plan``: the demo cells not to run, or to run in the judge alone (:func:`plan_cells`)."""

    def __init__(self, nb: NotebookNode, answers: list[str], limits: Limits,
                 env: dict[str, str], use_sandbox: bool = True, gpu: bool = False,
                 preload: list[str] | None = None, spare: bool = True, label: str = "",
                 plan: CellPlan | None = None):
        self.nb, self.answers, self.limits = nb, answers, limits
        self.plan = plan or CellPlan()
        self.env, self.use_sandbox, self.gpu = env, use_sandbox, gpu
        self.preload, self.spare, self.label = preload or [], spare, label
        self.log = RunLog()
        self.completed: list[int] = []  # cells replayed after a restart
        self.judge_pending: list[int] = []  # locked cells the judge has not run yet
        self.judge_running: list[str] = []  # locked cells the judge runs meanwhile (msg ids)
        self.starts = 0
        self.student: Kernel | None = None
        self.judge: Kernel | None = None
        self.deadline = 0.0

    # --- kernels -------------------------------------------------------------------------------
    def _student_recipe(self) -> tuple[list[str], dict[str, str]]:
        limits = sandbox.Limits(memory_mb=self.limits.memory_mb,
                                cpu_s=int(self.limits.notebook_s * 4 + 120))
        env = {**self.env, LIMITS_ENV: json.dumps(limits.__dict__),
               PRELOAD_ENV: ",".join(self.preload)}
        return [sys.executable, "-I", "-m", "autograder.kernel", "-f", "{connection_file}"], env

    def _start_student(self, judge_ready: bool = True) -> None:
        """Take the spare student kernel (or launch one) and connect it to the judge; then
        launch the next spare, which starts while this one works."""
        self.starts += 1
        argv, env = self._student_recipe()
        key = json.dumps([argv, env, self.use_sandbox, self.gpu], sort_keys=True)
        spare = _SPARES.pop(key, None)
        if spare is not None and not spare.alive():
            _discard(spare)
            spare = None
        self.student = spare or _launch_student(argv, env, self.use_sandbox, self.gpu)
        (self.student.folder / "grading").write_text(self.label)
        path = self.student.folder / "bridge.sock"
        if not judge_ready:  # both started at once: the judge listens once it is up
            self.judge.wait_ready()
            self._judge_do("import autograder.bridge")
        self._judge_do(f"autograder.bridge.listen({str(path)!r})")
        self.student.wait_ready()
        self._judge_do(f"autograder.bridge.accept({str(path)!r}, 60)")
        if self.spare:
            _SPARES[key] = _launch_student(argv, env, self.use_sandbox, self.gpu)

    def _judge_env(self) -> dict[str, str]:
        # a new judge imports the notebook's modules as it boots, beside the student's kernel
        return {**self.env, PRELOAD_ENV: ",".join(self.preload)}

    def _start(self) -> None:
        self.judge, warm = _judge_kernel(self._judge_env())
        self._start_student(judge_ready=warm)
        names = json.dumps(self.answers)
        self._judge_do(f"globals().update(autograder.bridge.student_names({names}))")

    def _judge_do(self, code: str) -> str:
        run = self.judge.execute(code, 120, store_history=False)
        if run.status != "ok":
            detail = run.error.evalue if run.error else run.status
            raise RuntimeError(f"the judge kernel failed: {detail}")
        return run.result_text()

    def _stop(self, judge_healthy: bool = False) -> None:
        if self.student is not None:
            _discard(self.student)
        if self.judge is not None and not judge_healthy:
            _WARM_JUDGES.pop(_judge_key(self._judge_env()), None)
            _discard(self.judge)
        self.student = self.judge = None

    def _restart_student(self, why: str) -> None:
        self.log.restarts += 1
        self.log.events.append(f"{why}; kernel restarted, earlier cells replayed")
        _discard(self.student)
        self._start_student()
        self._replay()

    def _replay(self) -> None:
        for index in list(self.completed):
            run = self.student.execute(self.nb.cells[index].source, self.limits.cell_s,
                                       store_history=False)
            if run.status in ("timeout", "dead"):
                self.log.events.append(f"replaying cell {index} failed; later cells may fail")
                self.completed.remove(index)
                _discard(self.student)
                self._start_student()

    def _settle(self, label: str, run: Run, limit: float) -> None:
        """After a timeout or death: interrupt, and restart when the kernel does not recover."""
        if run.status == "dead" or not self.student.alive():
            self._restart_student(f"kernel died in {label}")
            return
        self.student.interrupt()
        if self.student.execute("pass", 5, store_history=False).status == "ok":
            self.log.events.append(f"{label} timed out after {limit:.0f} s; interrupted")
        else:
            self._restart_student(f"{label} timed out after {limit:.0f} s and ignored the "
                                  "interrupt")

    # --- cells ---------------------------------------------------------------------------------
    def _remaining(self) -> float:
        return min(self.limits.cell_s, self.deadline - time.monotonic())

    def _run_student_cell(self, index: int, cell: NotebookNode) -> None:
        label, limit = grade_id(cell) or f"cell {index}", self._remaining()
        run = self.student.execute(cell.source, limit)
        cell.outputs = run.outputs
        if run.status == "timeout":
            _error(cell, "CellTimeout", f"{label} ran longer than {limit:.0f} s and was stopped")
            self._settle(label, run, limit)
        elif run.status == "dead":
            _error(cell, "DeadKernel", f"the kernel died while running {label} "
                   "(os._exit, exit(), a crash or the memory cap)")
            self._settle(label, run, limit)
        elif run.status == "ok":
            self.completed.append(index)
        else:  # an error: release what its traceback holds, so it costs only this cell
            self.student.execute(FORGET_ERROR, 5, store_history=False)
        if nbutils.is_locked(cell):
            self._share_with_judge(index, cell)

    def _share_with_judge(self, index: int, cell: NotebookNode) -> None:
        """A read-only cell runs in the judge too, where the tests build on it."""
        uses_answers = set(self.answers) & set(used_names(cell.source))
        if uses_answers or self.judge_pending:  # needs the student: run it during a test
            self.judge_pending.append(index)
        else:  # the judge runs it now, in parallel with the student's kernel
            self.judge_running.append(self.judge.submit(cell.source))

    def _run_test_cell(self, cell: NotebookNode) -> None:
        label, limit = grade_id(cell) or "a test", self._remaining()
        for msg_id in self.judge_running:
            self.judge.collect(msg_id, self.limits.cell_s)
        self.judge_running = []
        serving = self.student.submit("", store_history=False, expressions={"serve": SERVE})
        for index in self.judge_pending:  # locked cells (setup ...) the tests build on
            self.judge.execute(self.nb.cells[index].source, self.limits.cell_s)
        self.judge_pending = []
        self._judge_do(f"autograder.bridge.begin({limit!r})")
        run = self.judge.execute(cell.source, limit + 30)
        cell.outputs = _verdict_outputs(run, label, limit)
        if run.status not in ("ok", "error"):  # the judge hung or died: start both afresh
            self.log.events.append(f"the judge stopped answering in {label}; both kernels "
                                   "restarted")
            self._stop()
            self._start()
            self.judge_pending = [i for i in self.completed if nbutils.is_locked(self.nb.cells[i])]
            self._replay()
            return
        status = self._judge_do("autograder.bridge.end()").strip("'\"")
        if status != "ok":
            self.student.interrupt()
        settle = self.student.collect(serving, 5 if status != "dead" else 1)
        if settle.status != "ok" or status != "ok":
            self._settle(label, settle, limit)

    def run(self) -> RunLog:
        self.deadline = time.monotonic() + self.limits.notebook_s
        healthy = False
        try:
            self._start()
            for index, cell in enumerate(list(self.nb.cells)):
                if cell.cell_type != "code":
                    continue
                cell.outputs, cell.execution_count = [], None
                if self.deadline - time.monotonic() <= 0:
                    _error(cell, "NotebookTimeout", "not run: the notebook exceeded its "
                           f"{self.limits.notebook_s:.0f} s budget")
                elif is_test(cell):
                    self._run_test_cell(cell)
                elif index in self.plan.skip:
                    cell.outputs = [new_output("stream", name="stdout", text=SKIPPED_NOTE)]
                elif index in self.plan.judge_only:
                    cell.outputs = [new_output("stream", name="stdout", text=JUDGE_ONLY_NOTE)]
                    self._share_with_judge(index, cell)
                else:
                    self._run_student_cell(index, cell)
            healthy = True
        finally:
            self._stop(judge_healthy=healthy)
        return self.log


# One judge kernel per grading process, kept warm between submissions: it is trusted and never
# runs student code; before each submission its namespace is reset and the setup cells rerun.
_WARM_JUDGES: dict[str, Kernel] = {}
# the student kernel's launcher, without limits or a bridge to connect: it only preloads
JUDGE_ARGV = [sys.executable, "-m", "autograder.kernel", "-f", "{connection_file}"]
RESET = "get_ipython().reset(new_session=False)\nimport autograder.bridge"


def _judge_key(env: dict[str, str]) -> str:
    return json.dumps(env, sort_keys=True)


def _judge_kernel(env: dict[str, str]) -> tuple[Kernel, bool]:
    """The warm judge for ``env`` after a reset (True), or a newly launched one (False)."""
    kernel = _WARM_JUDGES.pop(_judge_key(env), None)
    if kernel is not None:
        if kernel.alive() and kernel.execute(RESET, 30, store_history=False).status == "ok":
            _WARM_JUDGES[_judge_key(env)] = kernel
            return kernel, True
        _discard(kernel)
    folder = Path(tempfile.mkdtemp(prefix="cvcourse-judge-"))
    kernel = Kernel("judge", JUDGE_ARGV, env, folder, folder)
    kernel.launch()
    _WARM_JUDGES[_judge_key(env)] = kernel
    return kernel, False


# The next student kernel of this process, launched while the current submission runs. It
# never ran student code (a kernel serves one submission, then it is stopped); it has only
# imported the modules the notebook's locked cells import.
_SPARES: dict[str, Kernel] = {}


def _launch_student(argv: list[str], env: dict[str, str], use_sandbox: bool,
                    gpu: bool) -> Kernel:
    """Start a student kernel in a folder of its own (connection files and the bridge's
    socket; removed with the kernel); it connects to the judge once one listens there."""
    folder = Path(tempfile.mkdtemp(prefix="cvcourse-student-"))
    env = {**env, BRIDGE_ENV: str(folder / "bridge.sock")}
    if use_sandbox:
        argv, cwd, spec_env = sandbox.command(argv, folder, env, gpu), folder, {}
    else:
        cwd = folder / "work"
        cwd.mkdir()
        spec_env = {**env, "HOME": str(cwd)}
    kernel = Kernel("student", argv, spec_env, folder, cwd, interrupt_mode="message")
    kernel.launch()
    return kernel


def _discard(kernel: Kernel) -> None:
    kernel.stop()
    shutil.rmtree(kernel.folder, ignore_errors=True)


@atexit.register
def _stop_judges() -> None:
    for kernel in [*_WARM_JUDGES.values(), *_SPARES.values()]:
        _discard(kernel)
    _WARM_JUDGES.clear()
    _SPARES.clear()


def _verdict_outputs(run: Run, label: str, limit: float) -> list[NotebookNode]:
    """The judge's outputs as nbgrader should score them: text on stdout (a warning never
    zeroes a test), no result values (no partial credit from a printed number), one error."""
    text = "".join(o.text for o in run.outputs if o.output_type == "stream")
    outputs = [new_output("stream", name="stdout", text=text)] if text else []
    error = run.error
    if run.status == "timeout":
        outputs.append(new_output("error", ename="CellTimeout", evalue=f"{label} ran longer "
                                  f"than {limit:.0f} s", traceback=[]))
    elif error is not None:
        ename = _ERRORS.get(error.ename, error.ename)
        evalue = error.evalue
        if ename == "CellTimeout":
            evalue = f"{label}: student code ran longer than {limit:.0f} s and was stopped"
        elif ename == "DeadKernel":
            evalue = f"the student's kernel died during {label} (os._exit, exit(), a crash " \
                     "or the memory cap)"
        outputs.append(new_output("error", ename=ename, evalue=evalue,
                                  traceback=list(error.traceback)))
    return outputs


def used_names(source: str) -> list[str]:
    """Every name a cell's code mentions (to tell whether it calls student code)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [node.id for node in ast.walk(tree) if isinstance(node, ast.Name)]


# Student code that reaches names without spelling them out: with any of these in a student's
# cell, no name analysis is trusted and every cell runs
_DYNAMIC = {"globals", "locals", "vars", "eval", "exec", "compile", "__import__", "get_ipython",
            "dir", "__builtins__", "__main__", "sys", "importlib", "inspect", "builtins"}


def _scopes(source: str) -> tuple[set[str], set[str], set[str]] | None:
    """(names a cell binds in the notebook's namespace, names of that namespace it reads, the
    functions and classes it defines there),
    from Python's own symbol tables: a function's parameters and locals are not reads of the
    notebook's names, a ``global`` statement is. None when the cell is not plain Python
    (IPython magics, shell escapes, a syntax error)."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None
    binds, reads, defs, stack = set(), set(), set(), [top]
    while stack:
        table = stack.pop()
        stack += table.get_children()
        module = table.get_type() == "module"
        for sym in table.get_symbols():
            name = sym.get_name()
            if module and (sym.is_assigned() or sym.is_imported() or sym.is_namespace()):
                binds.add(name)
                if sym.is_namespace():  # def or class
                    defs.add(name)
            elif not module and sym.is_declared_global() and sym.is_assigned():
                binds.add(name)
            if (module and sym.is_referenced()) or (not module and sym.is_global()
                                                    and sym.is_referenced()):
                reads.add(name)
    return binds, reads - _bound_before_read(ast.parse(source)), defs


def _mentions(node: ast.AST | None) -> set[str]:
    """Names ``node`` mentions, less a function's own parameters inside its body."""
    if node is None:
        return set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                  *(a for a in (args.vararg, args.kwarg) if a is not None)]
        now = [*args.defaults, *args.kw_defaults, *getattr(node, "decorator_list", []),
               *(a.annotation for a in params), getattr(node, "returns", None)]
        body = node.body if isinstance(node.body, list) else [node.body]
        inner = set().union(set(), *(_mentions(stmt) for stmt in body))
        return set().union(set(), *(_mentions(n) for n in now)) | \
            (inner - {a.arg for a in params})
    names = set().union(set(), *(_mentions(child) for child in ast.iter_child_nodes(node)))
    if isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        names.update(node.names)
    return names


def _target_names(target: ast.AST) -> tuple[set[str], set[str]]:
    """(bare names an assignment target binds, names it reads: ``x[i]`` and ``x.a`` read x)."""
    fresh, reads, stack = set(), set(), [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            fresh.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            stack += node.elts
        elif isinstance(node, ast.Starred):
            stack.append(node.value)
        else:
            reads |= _mentions(node)
    return fresh, reads


def _fresh_binds(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """(names ``stmt`` binds outright, names it reads first) for the simple statements that
    bind without reading what they bind; ``(set(), mentions)`` for every other statement."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}, set()
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        fresh, reads = set(), _mentions(stmt.value)
        for target in targets:
            names, read = _target_names(target)
            fresh, reads = fresh | names, reads | read
        if isinstance(stmt, ast.AnnAssign):
            reads |= _mentions(stmt.annotation)
        return fresh - reads, reads
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        # decorators, defaults and bases run now; the body later, and may read the name
        return {stmt.name} - _mentions(stmt), _mentions(stmt) - {stmt.name}
    return set(), _mentions(stmt)


def _non_empty(node: ast.AST) -> bool:
    """An iterable a loop surely enters: a non-empty literal, ``range(n > 0)``, or
    ``enumerate``/``zip`` of such."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts) and not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        if node.func.id == "range" and len(node.args) == 1:
            arg = node.args[0]
            return isinstance(arg, ast.Constant) and type(arg.value) is int and arg.value > 0
        if node.func.id in ("enumerate", "zip") and node.args:
            return all(_non_empty(arg) for arg in node.args)
    return False


def _straight(body: list[ast.stmt]) -> bool:
    """A loop body that runs to its end on every pass (no break or continue to skip a part)."""
    return not any(isinstance(n, (ast.Break, ast.Continue)) for s in body for n in ast.walk(s))


def _first_mentions(block: list[ast.stmt], seen: set[str], fresh_first: set[str]) -> None:
    """Walk statements in the order they surely run, recording in ``fresh_first`` the names
    whose first mention binds them outright, and in ``seen`` every name mentioned so far."""

    def bind(names: set[str], reads: set[str]) -> None:
        seen.update(reads)
        fresh_first.update(names - seen)
        seen.update(names)

    for stmt in block:
        if isinstance(stmt, ast.For) and not stmt.orelse and _non_empty(stmt.iter) \
                and _straight(stmt.body):
            seen.update(_mentions(stmt.iter))
            bind(*_target_names(stmt.target))
            _first_mentions(stmt.body, seen, fresh_first)
        elif isinstance(stmt, ast.With):
            for item in stmt.items:
                seen.update(_mentions(item.context_expr))
                if item.optional_vars is not None:
                    bind(*_target_names(item.optional_vars))
            # a context manager may swallow an exception (suppress, assert_raises): what its
            # body binds may stay unbound after it, so none of it counts as bound first
            _first_mentions(stmt.body, seen, set())
        else:
            bind(*_fresh_binds(stmt))


def _bound_before_read(tree: ast.Module) -> set[str]:
    """Names whose first mention in a cell, in the order its statements surely run, binds them
    outright (``x = ...``, ``import x``, ``def x``, the target of a loop over a non-empty
    literal): whatever the cell reads of them is its own value, never the notebook's (a test's
    ``boxes, scores = f(...)`` does not read an earlier ``boxes``). A first mention anywhere
    else (an ``if``, a ``try``, a function body, a subscript) counts as a read."""
    seen: set[str] = set()
    fresh_first: set[str] = set()
    _first_mentions(tree.body, seen, fresh_first)
    return fresh_first


def _imported(nb: NotebookNode) -> set[str]:
    """Names the read-only cells import (np, plt, torch, plot, Callable ...): library objects
    that a demo reads without changing anything graded."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or not nbutils.is_locked(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


@dataclass
class CellPlan:
    """Which cells of a submission a graded run leaves out of the student's kernel."""

    skip: set[int] = field(default_factory=set)  # run nowhere
    judge_only: set[int] = field(default_factory=set)  # read-only cells only tests need


def demo_cells(nb: NotebookNode, release: NotebookNode) -> set[int]:
    """The cells :func:`plan_cells` skips altogether."""
    return plan_cells(nb, release).skip


def plan_cells(nb: NotebookNode, release: NotebookNode) -> CellPlan:
    """Plan the demo cells of ``nb`` (a sanitised submission): those nothing graded can depend
    on are skipped, and read-only ones only tests need run in the judge alone. A demo cell is
    a read-only code cell other than the setup, or an ordinary code cell the student left
    exactly as the release has it (one the student changed or added is the student's code, and
    runs). Walking back from the end, a demo is needed in the student's kernel when it binds a
    name that a later needed cell, an answer or a student's cell reads, or when it reads such
    a name itself (it might change it: ``model.train()``); a read-only demo is needed in the
    judge, where tests run with the read-only cells, likewise for the names tests read.
    Reading imported libraries, builtins, the setup's names and calling the student's
    functions does not count. Nothing is planned away when a cell cannot be analysed or the
    student's code reaches names dynamically (``globals()``, ``eval`` ...)."""
    as_released = {c.source for c in release.cells
                   if c.cell_type == "code" and "nbgrader" not in c.metadata}
    # reading these changes nothing graded: library objects, builtins, the setup's names, and
    # calling the student's functions and classes
    harmless = _imported(nb) | set(dir(builtins))
    needed: set[str] = set()  # names the student's kernel must have right
    tested: set[str] = set()  # names the judge must have right (tests, and what feeds them)
    candidates = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        scopes = _scopes(cell.source)
        if scopes is None:
            return CellPlan()
        binds, reads, defs = scopes
        locked = nbutils.is_locked(cell)
        graded = nbutils.is_grade(cell) or nbutils.is_solution(cell) or grade_id(cell) == "setup"
        if is_test(cell):
            tested |= reads
        elif not graded and (locked or ("nbgrader" not in cell.metadata
                                        and cell.source in as_released)):
            candidates.append((index, locked, binds, reads))
        else:
            if not locked and (binds | reads) & _DYNAMIC:
                return CellPlan()
            needed |= binds | reads
            if is_answer(cell):
                harmless |= defs
            elif grade_id(cell) == "setup":  # the course's constants (DEVICE) and imports
                harmless |= binds
    plan = CellPlan()
    for index, locked, binds, reads in reversed(candidates):
        inputs = reads - harmless
        if binds & needed or inputs & needed:
            needed |= binds | inputs
            if locked:  # it runs in the judge too
                tested |= inputs
        elif locked and (binds & tested or inputs & tested):
            tested |= inputs
            plan.judge_only.add(index)
        else:
            plan.skip.add(index)
    return plan


def imported_modules(release: NotebookNode) -> list[str]:
    """Modules the release's locked cells import (absolute imports), in order: the student's
    kernel imports them before it is used (``autograder.kernel.preload``)."""
    modules: list[str] = []
    for cell in release.cells:
        if cell.cell_type != "code" or not nbutils.is_locked(cell) or is_test(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # a name imported from a package may be a submodule (cvcourse.plot)
                found = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                         if a.name != "*"]
            else:
                continue
            modules += [m for m in found if m not in modules]
    return modules


def answer_names(release: NotebookNode) -> list[str]:
    """Names the student defines in answer cells, read from the release (trusted) notebook."""
    names: list[str] = []
    for cell in release.cells:
        if is_answer(cell):
            names += [n for n in defined_names(cell.source) if n not in names]
    return names

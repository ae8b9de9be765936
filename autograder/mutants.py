"""Known-wrong answers ("mutants") checked against a notebook's own tests in one kernel: the
notebook runs once with the model answers, then each mutant is swapped into its answer cell,
only its exercise's tests are rerun, and the model answer is put back."""

from __future__ import annotations

import ast
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import utils as nbutils

from autograder.client import Kernel, Run
from autograder.execute import defined_names
from autograder.notebook import exercises, grade_id, is_answer, is_test, read


class MutantError(ValueError):
    """A mutant that no longer applies to the model answer it patches."""


@dataclass(frozen=True)
class Mutant:
    """One plausible student bug: ``replace`` (text of the model answer, found exactly once)
    becomes ``by``."""

    answer: str  # grade_id of the answer cell
    bug: str  # what the student got wrong, in a few words
    replace: str
    by: str

    def apply(self, source: str) -> str:
        found = source.count(self.replace)
        if found != 1:
            raise MutantError(
                f"the mutant of {self.answer!r} ({self.bug}) no longer applies: the text it "
                f"replaces occurs {found} times in the model answer (expected once); the "
                "solution changed, so update the mutant to the new solution")
        return source.replace(self.replace, self.by)


@dataclass
class CellResult:
    """One executed cell: its grade id (or position), status, error and whether it wrote to
    stderr."""

    label: str
    status: str
    error: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass
class MutantResult:
    mutant: Mutant
    failed: list[str] = field(default_factory=list)  # test cells that caught it
    problem: str = ""  # why it does not count (does not apply, caught by nothing ...)


def _label(index: int, cell: NotebookNode) -> str:
    return grade_id(cell) or f"cell {index}"


def _result(label: str, run: Run) -> CellResult:
    error = run.error
    text = f"{error.ename}: {error.evalue}" if error is not None else \
        ("" if run.status in ("ok", "error") else run.status)
    stderr = "".join(o.text for o in run.outputs if o.get("name") == "stderr")
    return CellResult(label, run.status, text, stderr, run.seconds)


class NotebookSession:
    """A notebook executed top to bottom in one (trusted, local) kernel that stays up, so
    that cells can be rerun with other sources afterwards. Use as a context manager."""

    def __init__(self, path: Path, env: dict[str, str] | None = None, cell_s: float = 300):
        self.path, self.nb, self.cell_s = Path(path), read(path), cell_s
        self.folder = Path(tempfile.mkdtemp(prefix="cvcourse-session-"))
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self.kernel = Kernel("session", argv, dict(env or {}), self.folder, self.path.parent)
        self.results: list[CellResult] = []
        self.seconds = 0.0

    def __enter__(self) -> NotebookSession:
        self.kernel.launch()
        self.kernel.wait_ready()
        return self

    def __exit__(self, *_: object) -> None:
        self.kernel.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def run_all(self) -> list[CellResult]:
        """Execute every code cell in order (errors do not stop it); returns their results."""
        start = time.perf_counter()
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type == "code":
                self.results.append(_result(_label(index, cell), self.run(cell.source)))
        self.seconds = time.perf_counter() - start
        return self.results

    def run(self, source: str) -> Run:
        return self.kernel.execute(source, self.cell_s)


def _failing(session: NotebookSession, test_ids: list[str], tests: dict[str, str]) -> list[str]:
    return [gid for gid in test_ids if session.run(tests[gid]).status != "ok"]


def check_mutants(session: NotebookSession, mutants: list[Mutant]) -> list[MutantResult]:
    """Run each mutant against its exercise's tests in ``session`` (after ``run_all``). A
    mutant counts when at least one of its exercise's test cells fails on it. Before an
    exercise's mutants, its tests are rerun on the model answer: they must still pass (a test
    that depends on state later cells changed cannot be rerun alone)."""
    nb = session.nb
    answers = {grade_id(c): c.source for c in nb.cells if is_answer(c)}
    tests = {grade_id(c): c.source for c in nb.cells if is_test(c)}
    results = []
    for exercise in exercises(nb):
        own = [m for m in mutants if m.answer == exercise.answer_id]
        if not own:
            continue
        broken = _failing(session, exercise.test_ids, tests)
        if broken:
            results += [MutantResult(m, problem=f"the model answer fails {broken} when they "
                                     "are rerun after the whole notebook") for m in own]
            continue
        for mutant in own:
            try:
                wrong = mutant.apply(answers[exercise.answer_id])
            except MutantError as err:
                results.append(MutantResult(mutant, problem=str(err)))
                continue
            session.run(wrong)
            caught = _failing(session, exercise.test_ids, tests)
            problem = "" if caught else "every test of its exercise passes on it"
            results.append(MutantResult(mutant, caught, problem))
            session.run(answers[exercise.answer_id])  # the model answer again
    unknown = sorted({m.answer for m in mutants} - set(answers))
    results += [MutantResult(m, problem=f"no answer cell {m.answer!r}") for m in mutants
                if m.answer in unknown]
    return results


def _free_names(source: str) -> set[str]:
    """Names a cell reads but never binds itself (loop and comprehension variables, function
    parameters and local assignments are its own)."""
    tree = ast.parse(source)
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, (ast.Store, ast.Del))}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
              for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a}
    bound |= {n.name for n in ast.walk(tree)
              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    bound |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
              if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)} - bound


def rerun_rule_violations(nb: NotebookNode) -> list[str]:
    """The rule that lets a mutant's check rerun only its own exercise's tests: a test cell
    uses no name defined by another exercise's answer cell, by a cell the student may edit
    (an unlocked demonstration cell), or by another test cell. Returns the violations."""
    owner: dict[str, str] = {}  # name -> the cell that defines it, when a test may not use it
    current, problems = None, []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        label = _label(index, cell)
        if is_answer(cell):
            current = label
        elif is_test(cell):
            used = _free_names(cell.source)
            bad = sorted(n for n in used if n in owner and owner[n] != current)
            if bad:
                names = ", ".join(f"{n} (from {owner[n]})" for n in bad)
                problems.append(f"{label} uses {names}")
        for name in defined_names(cell.source):
            if nbutils.is_locked(cell) and not is_test(cell):
                owner.pop(name, None)  # given code: every test may use it
            else:
                owner[name] = label
    return problems

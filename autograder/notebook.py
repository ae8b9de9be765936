"""Reading course notebooks: which cells are answers, tests and manual answers, and how they pair.

Built on nbgrader's own cell predicates so the course and nbgrader never disagree.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbutils

KERNELSPEC = {"name": "cvcourse", "display_name": "Python 3 (cvcourse)", "language": "python"}
SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


class NotebookError(ValueError):
    """A notebook is missing, unreadable, or breaks the course's cell rules."""


def read(path: str | Path) -> NotebookNode:
    """Read a notebook, turning a missing or corrupt file into a one-line NotebookError."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types for bad JSON
        kind = type(err).__name__
        raise NotebookError(f"{path}: not a readable notebook ({kind}: {err})") from None


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_answer(cell: NotebookNode) -> bool:
    """An autograded answer: a code cell the student writes (nbgrader solution cell)."""
    return cell.cell_type == "code" and nbutils.is_solution(cell) and not nbutils.is_grade(cell)


def is_test(cell: NotebookNode) -> bool:
    """An autograder test cell (nbgrader grade cell holding code, not a solution)."""
    return cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell)


def is_manual(cell: NotebookNode) -> bool:
    """A manually graded answer (a solution cell that is also a grade cell)."""
    return nbutils.is_solution(cell) and nbutils.is_grade(cell)


def points(cell: NotebookNode) -> float:
    return float(cell.metadata.get("nbgrader", {}).get("points", 0) or 0)


@dataclass
class Exercise:
    """An answer cell and the test cells after it that grade it."""

    answer_id: str
    test_ids: list[str] = field(default_factory=list)
    points: float = 0.0


def exercises(nb: NotebookNode) -> list[Exercise]:
    """Pair each answer cell with the test cells that follow it, up to the next answer cell."""
    found: list[Exercise] = []
    for cell in nb.cells:
        if is_answer(cell):
            found.append(Exercise(grade_id(cell) or "?"))
        elif is_test(cell) and found:
            found[-1].test_ids.append(grade_id(cell) or "?")
            found[-1].points += points(cell)
    return found


def strip_region(source: str, begin: str, end: str, keep_inside: bool) -> str:
    """Remove the marker lines ``begin``/``end`` and, unless ``keep_inside``, what they enclose."""
    out, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
            continue
        if end in line:
            inside = False
            continue
        if keep_inside or not inside:
            out.append(line)
    return "\n".join(out)


def solution_source(cell: NotebookNode) -> str:
    """The answer cell's code with the solution markers removed (what a perfect student writes)."""
    return strip_region(cell.source, SOLUTION_BEGIN, SOLUTION_END, keep_inside=True)


def clear_outputs(nb: NotebookNode) -> NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def normalise(nb: NotebookNode, slug: str) -> NotebookNode:
    """Canonical form of a source notebook: no outputs, the course kernel, stable cell ids."""
    clear_outputs(nb)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("widgets", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        wanted = cell.get("id") or grade_id(cell) or f"{slug}-{index:03d}"
        wanted = re.sub(r"[^A-Za-z0-9_-]", "-", wanted)[:64]
        while wanted in used:
            wanted = f"{wanted[:58]}-{index:03d}"
        cell["id"] = wanted
        used.add(wanted)
    return nb


def dumps(nb: NotebookNode) -> str:
    """Serialise deterministically (nbformat's JSON with a final newline)."""
    return nbformat.writes(nb) + "\n"


def _code_lines(source: str) -> list[str]:
    """A cell's statements for comparison: stripped, without blank lines, comments, imports,
    docstrings and solution or hidden-test markers."""
    lines = source.split("\n")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    skip: set[int] = set()
    for node in ast.walk(tree) if tree is not None else []:
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and \
                isinstance(body[0].value.value, str):
            skip.update(range(body[0].lineno - 1, body[0].end_lineno))
    kept = []
    for index, line in enumerate(lines):
        text = line.strip()
        if index in skip or not text or text.startswith(("#", "import ", "from ")):
            continue
        kept.append(text)
    return kept


def duplicated_blocks(notebooks: dict[str, NotebookNode], window: int = 4) -> list[str]:
    """Runs of ``window`` statements that occur in more than one code cell of the given
    notebooks (code to move into ``cvcourse`` or ``autograder.checks``), with where. Answer
    cells are left out: each exercise is written from scratch on purpose."""
    where: dict[str, list[str]] = {}
    for name, nb in notebooks.items():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_answer(cell):
                continue
            lines = _code_lines(cell.source)
            label = f"{name}:{grade_id(cell) or f'cell {index}'}"
            for start in range(len(lines) - window + 1):
                places = where.setdefault("\n".join(lines[start:start + window]), [])
                if label not in places:
                    places.append(label)
    found, reported = [], set()
    for block, places in where.items():
        if len(places) > 1 and tuple(places) not in reported:
            reported.add(tuple(places))
            found.append(f"{' and '.join(places)} repeat:\n    {block.splitlines()[0]} ...")
    return found

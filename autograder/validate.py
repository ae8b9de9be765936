"""Validate notebooks with nbgrader's Validator under the course config, with an honest exit
status (nbgrader's own ``validate`` exits 0 even when tests fail)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.validator import Validator

from autograder.course import Course
from autograder.notebook import read


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0][:70] if lines else "(empty cell)"


def validate(path: Path, root: Path) -> list[str]:
    """Run ``path`` top to bottom in the course kernel; return one line per problem
    (a failing test, a changed read-only cell), empty when the notebook validates."""
    read(path)  # a clear one-line error for a missing or corrupt file, before a kernel starts
    result = Validator(config=Course(root).config()).validate(str(path.resolve()))
    problems = [f"cell type changed: {_first_line(c['source'])}"
                for c in result.get("type_changed", [])]
    problems += [f"read-only/test cell was edited: {_first_line(c['source'])}"
                 for c in result.get("changed", [])]
    for cell in result.get("failed", []):
        error = [line for line in cell.get("raw_error", "").strip().splitlines() if line.strip()]
        problems.append(f"failed: {_first_line(cell['source'])}  ->  "
                        f"{error[-1][:120] if error else 'no output'}")
    return problems

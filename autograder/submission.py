"""Student submissions as the tests and the demo class make them: a release notebook with
answer cells filled in, laid out the way nbgrader collects them."""

from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode

from autograder.course import Assignment, Course
from autograder.notebook import (
    SOLUTION_BEGIN,
    SOLUTION_END,
    dumps,
    grade_id,
    is_answer,
    is_manual,
    strip_region,
)


def model_answers(source: NotebookNode) -> dict[str, str]:
    """The instructor's answers by grade id: code and manual answers, markers removed."""
    return {grade_id(cell): strip_region(cell.source, SOLUTION_BEGIN, SOLUTION_END, True)
            for cell in source.cells if is_answer(cell) or is_manual(cell)}


def fill(release: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of the release notebook with the given answer cells' sources replaced."""
    unknown = set(answers) - {grade_id(c) for c in release.cells}
    if unknown:
        raise KeyError(f"no answer cell with grade id {', '.join(sorted(unknown))}")
    nb = NotebookNode(release.copy())
    nb.cells = []
    for cell in release.cells:
        cell = NotebookNode(cell.copy())
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
        nb.cells.append(cell)
    return nb


def submit(course: Path, student: str, assignment: str, nb: NotebookNode) -> Path:
    """Write ``nb`` to ``submitted/STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb`` under ``course``."""
    path = Assignment(Course(course), assignment).submitted(student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(nb))
    return path

"""Feedback that never reveals hidden tests: their source is cut and failing tests show only
the failure message, not the traceback (whose frames would quote hidden lines)."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.notebook import HIDDEN_BEGIN, HIDDEN_END, is_test, strip_region

HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)"


def hide_hidden_tests(cell: NotebookNode) -> NotebookNode:
    """Cut hidden test regions from a test cell and reduce its errors to ``Name: message``."""
    if not is_test(cell):
        return cell
    if HIDDEN_BEGIN in cell.source:
        kept = strip_region(cell.source, HIDDEN_BEGIN, HIDDEN_END, keep_inside=False)
        cell.source = kept.rstrip("\n") + "\n" + HIDDEN_NOTE
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    return cell


class HideHiddenTests(NbGraderPreprocessor):
    """nbgrader feedback preprocessor applying :func:`hide_hidden_tests` to every cell."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        return hide_hidden_tests(cell), resources

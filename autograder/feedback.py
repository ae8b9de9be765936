"""Feedback that never reveals hidden tests and shows its maths offline: hidden test source is
cut, failing tests show only the failure message, not the traceback (whose frames would quote
hidden lines), and the page typesets formulas with KaTeX inlined from the project's own npm
install instead of loading MathJax from a CDN (a student may open the file with no network)."""

from __future__ import annotations

import re
from typing import Any

from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.notebook import HIDDEN_BEGIN, HIDDEN_END, is_test, strip_region
from autograder.offline import katex_inline

HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)"

# nbconvert's mathjax() macro: the CDN script and its configuration script
_MATHJAX = [
    re.compile(r"<!--\s*Load mathjax\s*-->", re.IGNORECASE),
    re.compile(r"<script[^>]*\bsrc=[\"'][^\"']*mathjax[^\"']*[\"'][^>]*>\s*</script>",
               re.IGNORECASE),
    re.compile(r"<script[^>]*type=[\"']text/x-mathjax-config[\"'][^>]*>.*?</script>",
               re.IGNORECASE | re.DOTALL),
]


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


def offline_maths(html: str) -> str:
    """``html`` with nbconvert's MathJax (a CDN script and its configuration) replaced by KaTeX
    inlined at the end of ``<head>``: typeset formulas with no network and no file beside it."""
    for pattern in _MATHJAX:
        html = pattern.sub("", html)
    if "cvcourseTypeset" in html:
        return html
    head_end = re.search(r"</head\s*>", html, re.IGNORECASE)
    at = head_end.start() if head_end else 0
    return html[:at] + katex_inline() + html[at:]


class OfflineFeedbackExporter(HTMLExporter):
    """nbgrader's feedback page (its ``feedback`` template, set by nbgrader's own config) with
    :func:`offline_maths` applied; ``nbgrader_config.py`` names it as
    ``GenerateFeedback.exporter_class``."""

    def from_notebook_node(
        self, nb: NotebookNode, resources: dict | None = None, **kw: Any
    ) -> tuple[str, dict]:
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return offline_maths(html), resources

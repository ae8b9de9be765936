"""A one-exercise course (setup, `square` with visible and hidden tests, a manual answer) for
fast end-to-end tests of the build and grading tools."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def meta(gid: str, **flags) -> dict:
    return {"nbgrader": {"schema_version": 3, "task": False, "grade_id": gid, **flags}}


def tiny_course(folder: Path) -> Path:
    """A one-exercise course: setup, `square` with a visible and a hidden test, a manual answer."""
    (folder / "source" / "00_tiny").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", folder)
    nb = new_notebook(cells=[
        new_markdown_cell("# Tiny\n\nA course of one exercise."),
        new_code_cell("import autograder.checks\nfrom cvcourse import setup\nDEVICE = setup()",
                      metadata=meta("setup", grade=False, solution=False, locked=True)),
        new_code_cell("def square(x: float) -> float:\n    ### BEGIN SOLUTION\n"
                      "    return x * x  # the secret solution\n    ### END SOLUTION",
                      metadata=meta("square", grade=False, solution=True, locked=False)),
        new_code_cell("from autograder.checks import assert_close, passed\n"
                      "assert_close(square(3.0), 9.0)\n### BEGIN HIDDEN TESTS\n"
                      "assert_close(square(-2.5), 6.25)  # the secret hidden test\n"
                      "### END HIDDEN TESTS\npassed('square works')",
                      metadata=meta("test-square", grade=True, solution=False, locked=True,
                                    points=2)),
        new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause squares.\n### END SOLUTION",
                          metadata=meta("why", grade=True, solution=True, locked=False, points=1)),
    ])
    nb.metadata["kernelspec"] = {"name": "cvcourse", "display_name": "x", "language": "python"}
    nbformat.write(nb, folder / "source" / "00_tiny" / "00_tiny.ipynb")
    return folder

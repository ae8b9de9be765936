"""Student kernels launched ahead of use: the next submission's kernel starts (and imports the
notebook's modules) while the current one is graded. A kernel serves exactly one submission,
so nothing one student leaves behind reaches the next."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbgrader import utils as nbutils
from tiny_course import meta

from autograder import execute
from autograder.execute import GradingRun, Limits, answer_names, imported_modules
from autograder.notebook import grade_id


def _locked(source: str, gid: str):
    return new_code_cell(source, metadata=meta(gid, grade=False, solution=False, locked=True))


def _answer(source: str, gid: str):
    return new_code_cell(source, metadata=meta(gid, grade=False, solution=True, locked=False))


def _test(source: str, gid: str):
    return new_code_cell(source, metadata=meta(gid, grade=True, solution=False, locked=True,
                                               points=1))


def test_imported_modules_reads_locked_cells_only():
    nb = new_notebook(cells=[
        _locked("import numpy as np, os.path\nfrom cvcourse import plot\n"
                "from . import local\nfrom math import *", "setup"),
        _answer("import sympy\nfrom scipy import optimize", "answer"),
        _test("import torch", "test-answer"),
        new_markdown_cell("import wave"),
        _locked("def f():\n    import json\nimport numpy", "later"),
    ])
    assert imported_modules(nb) == ["numpy", "os.path", "cvcourse", "cvcourse.plot", "math"]


# The first student leaves every trace a kernel can keep; the second's tests pass only when
# none of it is visible (and when the module the locked cell imports was loaded beforehand).
TRACES = ("import os, sys, numpy, builtins\nLEAK = 1\nnumpy.LEAK = 1\nbuiltins.LEAK = 1\n"
          "os.environ['LEAK'] = '1'\nsys.modules['leak'] = numpy\n"
          "open('/tmp/leak', 'w').write('1')\nopen('leak', 'w').write('1')\n")
CHECKS = ("import sys\nPRELOADED = 'wave' in sys.modules\n"
          "def clean():\n    import builtins, os, sys, numpy\n"
          "    return [name for name, found in [('global', 'LEAK' in globals()),\n"
          "            ('numpy', hasattr(numpy, 'LEAK')),\n"
          "            ('builtins', hasattr(builtins, 'LEAK')),\n"
          "            ('environ', 'LEAK' in os.environ), ('modules', 'leak' in sys.modules),\n"
          "            ('tmp', os.path.exists('/tmp/leak')), ('cwd', os.path.exists('leak'))]"
          " if found]\n"
          "def preloaded():\n    return PRELOADED")


def _notebook(answer: str):
    return new_notebook(cells=[
        _locked("import autograder.checks\nfrom autograder.checks import check", "setup"),
        _answer(answer, "answer"),
        _locked("import wave", "imports"),
        _test("check(clean() == [], f'left behind: {clean()}')", "test-clean"),
        _test("check(preloaded() is True, 'wave was not imported before the answer cell')",
              "test-preloaded"),
    ])


def _grade(nb) -> dict[str, float]:
    GradingRun(nb, answer_names(nb), Limits(cell_s=30, notebook_s=120, memory_mb=2048), {},
               preload=imported_modules(nb)).run()
    return {grade_id(c): nbutils.determine_grade(c)[0] for c in nb.cells
            if grade_id(c).startswith("test-")}


@pytest.mark.slow
def test_a_kernel_serves_one_submission():
    execute._stop_judges()  # no spares left by other tests in this process
    # the first student's kernel sees its own traces (the check works) ...
    assert _grade(_notebook(TRACES + CHECKS)) == {"test-clean": 0, "test-preloaded": 1}
    spares = list(execute._SPARES.values())
    assert len(spares) == 1 and spares[0].alive()
    # ... the second student's kernel is the spare, launched beforehand, and sees none of them
    assert _grade(_notebook(CHECKS)) == {"test-clean": 1, "test-preloaded": 1}
    assert not spares[0].alive(), "the spare served the second submission and was stopped"
    assert [k.alive() for k in execute._SPARES.values()] == [True]

"""The guarded executor in a real kernel: cheats that would hide a failing test's error
(IPython input transformers, custom exception handlers, a silenced traceback, a transformer
disguised as a library's) score nothing and are reported."""

from __future__ import annotations

import os

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader import utils as nbutils
from tiny_course import meta

from autograder.execute import GuardedExecutor, Limits

CHEATS = {
    "rewrites-every-cell": "get_ipython().input_transformers_post.append("
                           "lambda lines: ['pass\\n'])",
    "disguised-transformer": "def t(lines):\n"
                             "    return ['pass\\n'] if any('assert' in ln for ln in lines) "
                             "else lines\n"
                             "t.__module__ = 'matplotlib_inline.backend_inline'\n"
                             "get_ipython().input_transformers_cleanup.append(t)",
    "custom-exception-handler": "get_ipython().set_custom_exc((BaseException,), "
                                "lambda *a, **k: None)",
    "silenced-traceback": "get_ipython().showtraceback = lambda *a, **k: None",
}


def run(student_code: str, tmp_path) -> tuple:
    nb = new_notebook(cells=[
        new_code_cell("x = 1", metadata=meta("setup", grade=False, solution=False, locked=True)),
        new_code_cell(student_code, metadata=meta("ans", grade=False, solution=True,
                                                  locked=False)),
        new_code_cell("from autograder.checks import check\ncheck(x == 2, 'x must be 2')",
                      metadata=meta("t", grade=True, solution=False, locked=True, points=1)),
    ])
    work = tmp_path / "work" / "a"
    work.mkdir(parents=True)
    log = GuardedExecutor(nb, work, Limits(cell_s=60, notebook_s=180),
                          {"PATH": os.environ["PATH"]}).run()
    return nbutils.determine_grade(nb.cells[2]), log


@pytest.mark.slow
def test_a_failing_test_fails_without_cheats(tmp_path):
    (score, top), log = run("y = 2", tmp_path)
    assert (score, top) == (0, 1.0) and log.tampered == {}
    (score, top), log = run("x = 2", tmp_path / "right")
    assert (score, top) == (1.0, 1.0) and log.tampered == {}


@pytest.mark.slow
@pytest.mark.parametrize("cheat", list(CHEATS))
def test_cheats_that_hide_errors_score_nothing_and_are_reported(cheat, tmp_path):
    (score, top), log = run(CHEATS[cheat], tmp_path)
    assert score == 0 and top == 1.0, f"{cheat} scored {score}"
    assert log.tampered.get("t"), f"{cheat} was not reported: {log.tampered}"

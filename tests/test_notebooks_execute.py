"""Every source notebook runs top to bottom with all its tests passing; every release notebook
runs too, and with the exercises stubbed every autograded test fails, only with
NotImplementedError."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, ROOT, execute

from autograder.notebook import grade_id, is_test

SOURCE_BUDGET_S = 180  # the limit per source notebook on a 2-core CI machine


def errors(nb):
    return [(cell, out) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if out.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_runs_and_passes_its_tests(name):
    nb, took = execute(ROOT / "source" / name / f"{name}.ipynb", allow_errors=True)
    failed = [f"{grade_id(c) or c.source[:50]!r}: {o.ename}: {o.evalue}" for c, o in errors(nb)]
    assert not failed, "source cells failed:\n" + "\n".join(failed)
    for cell in nb.cells:
        if is_test(cell):
            stderr = [o.text for o in cell.outputs if o.get("name") == "stderr"]
            assert not stderr, f"{grade_id(cell)} writes to stderr (nbgrader zeroes it): {stderr}"
    print(f"{name}: source executed in {took:.1f} s")
    assert took < SOURCE_BUDGET_S, f"{name} took {took:.0f} s (budget {SOURCE_BUDGET_S} s)"


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_notebook_runs_and_its_tests_fail_on_the_stubs(name):
    nb, took = execute(ROOT / "release" / name / f"{name}.ipynb", allow_errors=True)
    for cell, out in errors(nb):
        assert out.ename == "NotImplementedError", (
            f"release cell {grade_id(cell) or cell.source[:60]!r} failed with {out.ename}: "
            f"{out.evalue} (only the stubs' NotImplementedError may fail in the release)")
    passing = [grade_id(c) for c in nb.cells if is_test(c)
               and not any(o.output_type == "error" for o in c.outputs)]
    assert not passing, f"test cells pass on the stubs (they cannot catch anything): {passing}"
    print(f"{name}: release executed in {took:.1f} s")

"""The mutant engine on a small notebook: a replacement that no longer applies fails loudly, the
rerun rule finds tests that lean on other cells, and a mutant no test catches is reported."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from tiny_course import meta

from autograder.mutants import (
    Mutant,
    MutantError,
    NotebookSession,
    check_mutants,
    rerun_rule_violations,
)


def _notebook(test_double: str):
    return new_notebook(cells=[
        new_code_cell("import math\nSCALE = 2", metadata=meta("setup", grade=False,
                                                              solution=False, locked=True)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return SCALE * x\n"
                      "    ### END SOLUTION", metadata=meta("double", grade=False,
                                                            solution=True, locked=False)),
        new_code_cell(test_double, metadata=meta("test-double", grade=True, solution=False,
                                                 locked=True, points=1)),
        new_code_cell("demo = double(3)"),
        new_code_cell("def halve(x):\n    return x / 2", metadata=meta(
            "halve", grade=False, solution=True, locked=False)),
        new_code_cell("assert halve(4) == 2", metadata=meta(
            "test-halve", grade=True, solution=False, locked=True, points=1)),
    ])


def test_a_mutant_whose_text_changed_fails_loudly():
    mutant = Mutant("double", "adds instead of multiplying", "SCALE * x", "SCALE + x")
    assert mutant.apply("return SCALE * x") == "return SCALE + x"
    for source in ("return 2 * x", "return SCALE * x + SCALE * x"):
        with pytest.raises(MutantError, match="no longer applies"):
            mutant.apply(source)


def test_the_rerun_rule_finds_tests_that_use_other_cells():
    assert rerun_rule_violations(_notebook("assert double(2) == 4")) == []
    nb = _notebook("assert double(2) == 4")
    nb.cells[5].source = "assert halve(double(2)) == 2 and demo == 6\n[k for k in range(3)]"
    assert rerun_rule_violations(nb) == [
        "test-halve uses demo (from cell 3), double (from double)"]


@pytest.mark.slow
def test_a_mutant_no_test_catches_is_reported(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook("assert double(2) == 4\nassert double(0) == 0"), path)
    caught = Mutant("double", "adds instead of multiplying", "SCALE * x", "SCALE + x")
    missed = Mutant("double", "multiplies by x twice on zero", "return SCALE * x",
                    "return SCALE * x if x else x * x")
    stale = Mutant("double", "text that is gone", "3 * x", "4 * x")
    with NotebookSession(path) as session:
        assert [r.status for r in session.run_all()] == ["ok"] * 6
        results = check_mutants(session, [caught, missed, stale])
        assert results[0].failed == ["test-double"] and results[0].problem == ""
        assert results[1].failed == [] and "every test of its exercise passes" in \
            results[1].problem
        assert "no longer applies" in results[2].problem
        # the model answer is back in place afterwards
        assert session.run("assert double(5) == 10").status == "ok"

"""Each course notebook, executed once: the source runs top to bottom with every test passing;
in the same kernel every known-wrong answer (tests/mutants/) is swapped in and fails a test of
its own exercise; the release runs and its tests fail on the stubs, only with
NotImplementedError. One test class per notebook, so pytest-xdist spreads the notebooks."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, COURSE, SOURCE_BUDGET_S, execute, per_notebook
from test_course_rules import load_mutants

from autograder.mutants import NotebookSession, check_mutants
from autograder.notebook import grade_id, is_test


@pytest.fixture(scope="class")
def session(request):
    """The class's source notebook, executed once; its kernel stays up for the mutants."""
    name = request.cls.name
    with NotebookSession(COURSE.assignment(name).source,
                         cell_s=SOURCE_BUDGET_S) as running:
        running.run_all()
        yield running


@per_notebook
class NotebookChecks:
    name = ""

    @pytest.mark.slow
    def test_source_notebook_runs_and_passes_its_tests(self, session, record_property):
        failed = [f"{c.label}: {c.error}" for c in session.results if c.status != "ok"]
        assert not failed, "source cells failed:\n" + "\n".join(failed)
        tests = {grade_id(c) for c in session.nb.cells if is_test(c)}
        stderr = [(c.label, c.stderr) for c in session.results if c.label in tests and c.stderr]
        assert not stderr, f"test cells write to stderr (nbgrader zeroes them): {stderr}"
        # a time, not a verdict (a loaded machine is slower): conftest prints it in the summary
        # against the budget; the README's Performance section holds the measured figures
        record_property("source_s", session.seconds)

    @pytest.mark.slow
    def test_each_wrong_answer_fails_its_own_tests(self, session):
        results = check_mutants(session, load_mutants(self.name))
        problems = [f"{r.mutant.answer} ({r.mutant.bug}): {r.problem}" for r in results
                    if r.problem]
        assert not problems, "mutants not caught:\n" + "\n".join(problems)
        assert len(results) == len(load_mutants(self.name))

    @pytest.mark.slow
    def test_release_runs_and_its_tests_fail_on_the_stubs(self):
        nb, took = execute(COURSE.assignment(self.name).release,
                           allow_errors=True)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    assert out.ename == "NotImplementedError", (
                        f"release cell {grade_id(cell) or cell.source[:60]!r} failed with "
                        f"{out.ename}: {out.evalue} (only the stubs' NotImplementedError may "
                        "fail in the release)")
        passing = [grade_id(c) for c in nb.cells if is_test(c)
                   and not any(o.output_type == "error" for o in c.outputs)]
        assert not passing, f"test cells pass on the stubs (they cannot catch anything): {passing}"
        print(f"{self.name}: release executed in {took:.1f} s")


for _name in ASSIGNMENTS:
    globals()[f"Test_{_name}"] = type(f"Test_{_name}", (NotebookChecks,), {"name": _name})

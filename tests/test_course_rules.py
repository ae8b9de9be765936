"""Static rules every course notebook obeys: grade ids, points, tests per exercise, no outputs,
the course kernel, no solution or hidden test text in release/."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import ASSIGNMENTS, COURSE, ROOT, each_notebook

from autograder.mutants import Mutant, rerun_rule_violations
from autograder.notebook import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    KERNELSPEC,
    SOLUTION_BEGIN,
    SOLUTION_END,
    duplicated_blocks,
    exercises,
    grade_id,
    is_answer,
    is_manual,
    is_test,
    points,
    read,
    strip_region,
)


def test_the_course_has_its_first_notebooks():
    """Is a missing notebook an error rather than a silently smaller course?"""
    assert {"01_optimization", "02_gradients", "03_learning", "04_cnn_architectures",
            "05_receptive_fields", "06_attention_vit", "07_clip",
            "08_dense_prediction", "09_vlm"} <= set(ASSIGNMENTS)


def source(name: str):
    return read(COURSE.assignment(name).source)


def release(name: str):
    return read(COURSE.assignment(name).release)


def load_mutants(name: str) -> list[Mutant]:
    path = ROOT / "tests" / "mutants" / f"{name}.py"
    assert path.is_file(), f"{path} is missing: every exercise needs a known-wrong version"
    spec = importlib.util.spec_from_file_location(f"mutants_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTANTS


@each_notebook
def test_grade_ids_are_unique_kebab_case(name):
    ids = [grade_id(c) for c in source(name).cells if grade_id(c)]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert not twice, f"duplicated grade ids: {twice}"
    bad = [i for i in ids if not all(ch.islower() or ch.isdigit() or ch == "-" for ch in i)]
    assert not bad, f"grade ids must be kebab-case: {bad}"


@each_notebook
def test_every_answer_is_graded_by_tests_with_points(name):
    nb = source(name)
    found = exercises(nb)
    assert found, "no autograded exercises"
    for exercise in found:
        assert exercise.test_ids and exercise.points > 0, (
            f"answer cell {exercise.answer_id!r} has no test cell with points after it")
    for cell in nb.cells:
        if is_test(cell):
            assert points(cell) > 0, f"test cell {grade_id(cell)!r} has no points"
    assert any(is_manual(c) and points(c) > 0 for c in nb.cells), "no manually graded answer"


@each_notebook
def test_test_cells_have_visible_and_hidden_tests_and_end_safely(name):
    for cell in source(name).cells:
        if not is_test(cell):
            continue
        gid = grade_id(cell)
        assert HIDDEN_BEGIN in cell.source and HIDDEN_END in cell.source, f"{gid}: no hidden tests"
        visible = strip_region(cell.source, HIDDEN_BEGIN, HIDDEN_END, keep_inside=False)
        code = [ln for ln in visible.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        assert any("assert_" in ln or "check(" in ln for ln in code), f"{gid}: no visible check"
        assert code[-1].startswith("passed("), (
            f"{gid}: must end with passed(...) (a numeric last value is partial credit)")
        assert "\nassert " not in "\n" + cell.source, f"{gid}: bare assert; use autograder.checks"


@each_notebook
@pytest.mark.parametrize("kind", ["source", "release", "notebooks"])
def test_committed_notebooks_carry_no_outputs_and_use_the_course_kernel(name, kind):
    paths = COURSE.assignment(name)
    path = {"source": paths.source, "release": paths.release, "notebooks": paths.walkthrough}[kind]
    nb = read(path)
    assert nb.metadata.kernelspec.name == KERNELSPEC["name"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: a cell has outputs: {cell.source[:60]!r}")


DISTINCTIVE_CHARS = 40  # a secret line this long in another notebook's release is no accident


def _only_inside(nb, begin: str, end: str) -> set[str]:
    """Lines that appear inside begin/end regions of the source and nowhere else in it."""
    inside, outside = set(), set()
    for cell in nb.cells:
        kept = strip_region(cell.source, begin, end, keep_inside=False)
        outside |= {ln.strip() for ln in kept.splitlines()}
        everything = strip_region(cell.source, begin, end, keep_inside=True)
        inside |= {ln.strip() for ln in everything.splitlines()} - {
            ln.strip() for ln in kept.splitlines()}
    return {ln for ln in inside - outside if len(ln) >= 12}


@each_notebook
def test_release_holds_no_solution_and_no_hidden_test_text(name):
    """Does any line that the source has only inside a solution or hidden-test region appear
    as a line of any release file? (A hint that quotes part of a line is fine.) In another
    notebook's release only distinctive lines count: a later notebook may well write
    `model.eval()` or `for _ in range(num_steps):` in the open."""
    src = source(name)
    secret = _only_inside(src, SOLUTION_BEGIN, SOLUTION_END) | _only_inside(
        src, HIDDEN_BEGIN, HIDDEN_END)
    assert secret, "the source has no solution or hidden test text to protect"
    distinctive = {ln for ln in secret if len(ln) >= DISTINCTIVE_CHARS}
    for path in (ROOT / "release").rglob("*"):  # every release: a secret may leak anywhere
        if path.is_file():
            text = path.read_text(errors="replace")
            if path.suffix == ".ipynb":
                lines = {ln.strip() for c in read(path).cells for ln in c.source.splitlines()}
            else:
                lines = {ln.strip() for ln in text.splitlines()}
            own = path.relative_to(ROOT / "release").parts[0] == name
            leaked = sorted((secret if own else distinctive) & lines)
            assert not leaked, f"{path.relative_to(ROOT)} leaks: {leaked[:3]}"
            for marker in (SOLUTION_BEGIN, HIDDEN_BEGIN):
                assert marker not in text, f"{path.relative_to(ROOT)} contains {marker!r}"


@each_notebook
def test_walkthrough_is_complete_without_hidden_tests_and_has_slides(name):
    nb = read(COURSE.assignment(name).walkthrough)
    text = "\n".join(c.source for c in nb.cells)
    hidden = _only_inside(source(name), HIDDEN_BEGIN, HIDDEN_END)
    assert not [ln for ln in hidden if ln in text], "walkthrough shows hidden tests"
    solutions = _only_inside(source(name), SOLUTION_BEGIN, SOLUTION_END)
    assert solutions and all(ln in text for ln in solutions), "walkthrough lacks solutions"
    assert SOLUTION_BEGIN not in text and "nbgrader" not in str([c.metadata for c in nb.cells])
    kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    assert None not in kinds and kinds.count("slide") >= 3


@each_notebook
def test_every_exercise_has_a_known_wrong_implementation(name):
    nb = source(name)
    answers = {grade_id(c): c.source for c in nb.cells if is_answer(c)}
    mutants = load_mutants(name)
    named = {m.answer for m in mutants}
    missing, unknown = sorted(set(answers) - named), sorted(named - set(answers))
    assert not missing and not unknown, f"mutants missing for {missing}, unknown {unknown}"
    for mutant in mutants:  # each still patches the current solution (MutantError otherwise)
        assert mutant.apply(answers[mutant.answer]) != answers[mutant.answer]


@each_notebook
def test_a_test_cell_depends_only_on_its_own_exercise(name):
    """The rule that lets the mutant check rerun only one exercise's tests: a test cell uses
    no name from another exercise's answer, an editable demonstration cell or another test."""
    assert rerun_rule_violations(source(name)) == []


def test_paths_exist():
    for name in ASSIGNMENTS:
        assert COURSE.assignment(name).release.is_file()


def test_duplicated_blocks_finds_code_pasted_into_two_cells():
    from nbformat.v4 import new_code_cell, new_notebook

    helper = "def slide(s):\n    '''Doc.'''\n    y = s * 2\n    z = y + 1\n    return z\n"
    one = new_notebook(cells=[new_code_cell("import math\n" + helper + "print(slide(1))")])
    two = new_notebook(cells=[new_code_cell("# the same, pasted\n" + helper)])
    found = duplicated_blocks({"one": one, "two": two})
    assert len(found) == 1 and found[0].startswith("one:cell 0 and two:cell 0 repeat")
    two.cells[0].source = helper.replace("y + 1", "y + 2")
    assert duplicated_blocks({"one": one, "two": two}) == []


def test_no_code_is_pasted_between_notebook_cells():
    """Helpers that tests or demonstrations repeat belong in autograder.checks or cvcourse."""
    assert duplicated_blocks({name: source(name) for name in ASSIGNMENTS}) == []

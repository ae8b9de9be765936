"""The course's own notebooks through the grading pipeline: no false alarms on real work."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import COURSE, ROOT, cli, each_notebook, score
from nbformat.v4 import new_code_cell

from autograder.build import generate_release, prepare_workspace
from autograder.course import Course
from autograder.execute import JUDGE_ONLY_NOTE, SKIPPED_NOTE, plan_cells
from autograder.grade import GradeOptions, grade
from autograder.notebook import exercises, grade_id, is_test, points, read
from autograder.sample import cell_meta, faults, first_function
from autograder.submission import fill, model_answers, submit


@pytest.mark.slow
@each_notebook
def test_course_notebooks_grade_cleanly_through_the_pipeline(name, tmp_path):
    """On the real notebooks: does the model answer earn every point with no flag and no
    event (no false alarm from the integrity scan), and the unfilled release nothing?"""
    course = prepare_workspace(ROOT, name, tmp_path / "course")
    release = read(generate_release(course, name) / f"{name}.ipynb")
    answers = model_answers(read(COURSE.assignment(name).source))
    incoming = tmp_path / "incoming"
    submit(incoming.parent, "model", name, fill(release, answers))
    submit(incoming.parent, "stub", name, release)
    shutil.move(tmp_path / "submitted", incoming)
    summary = grade(course, name, incoming, GradeOptions(workers=2, quiet=True))
    got = {r.student: r.to_json() for r in summary["results"]}
    model, stub = got["model"], got["stub"]
    assert model["status"] == "graded" and model["flags"] == [] and model["events"] == []
    assert all(t["score"] == t["max"] > 0 for t in model["tests"].values()), model["tests"]
    assert score(stub) == 0 and stub["flags"] == []
    # the demos nothing graded depends on were skipped, those only tests need ran in the judge
    # alone, and the graded notebook says so in their place
    graded = read(Course(course).assignment(name).autograded("model"))
    plan = plan_cells(graded, release)
    notes = [c.outputs[0].get("text") if c.get("outputs") else None for c in graded.cells]
    assert {i for i, n in enumerate(notes) if n == SKIPPED_NOTE} == plan.skip != set()
    assert {i for i, n in enumerate(notes) if n == JUDGE_ONLY_NOTE} == plan.judge_only


# one fault per student, in the notebook's FIRST exercise (so every later cell runs after it),
# with a wrong answer in the second exercise whose failing test must still record its error
FAULTS = {"erin-timeout": "CellTimeout", "frank-swallows-interrupt": "CellTimeout",
          "grace-crash": "DeadKernel", "heidi-memory-bomb": "MemoryError",
          "hank-slow-memory-bomb": "CellTimeout"}


# Faults are the pipeline's business, not a notebook's: one real multi-exercise notebook shows
# them, so this cost does not grow with the course (each notebook's model answer is graded above).
FAULT_NOTEBOOK = "01_optimization"


@pytest.mark.slow
def test_faults_early_in_a_real_notebook_cost_only_their_exercise(tmp_path):
    """Through `python -m autograder grade`: does a hang, a swallowed interrupt, a crash, or a
    memory bomb (faster and slower than the cell limit) in the first exercise cost exactly that
    exercise, while a later wrong answer still fails with its own message and the rest scores?
    And do cells a student marked as graded themselves (a forged test, a forged locked cell)
    earn nothing and leave the rest of the notebook graded?"""
    name = FAULT_NOTEBOOK
    course = prepare_workspace(ROOT, name, tmp_path / "course")
    paths = Course(course).assignment(name)
    source = read(paths.source)
    release = read(generate_release(course, name) / f"{name}.ipynb")
    answers = model_answers(source)
    functions = [e for e in exercises(source) if first_function(answers[e.answer_id])]
    first, second = functions[0], functions[1]
    wrong = faults(first_function(answers[second.answer_id]),
                    answers[second.answer_id])["carol-wrong"]
    for student in FAULTS:
        fault = faults(first_function(answers[first.answer_id]),
                        answers[first.answer_id])[student]
        submit(tmp_path, student, name, fill(release, {**answers, first.answer_id: fault,
                                                       second.answer_id: wrong}))
    # cells the student marked as graded themselves: a test worth 50 points that always passes,
    # a "locked" cell, a mark without an id; nbgrader's checks would reject the whole notebook
    forged = fill(release, answers)
    forged.cells += [
        new_code_cell("assert True", metadata=cell_meta("test-forged", grade=True, solution=False,
                                                          locked=True, points=50)),
        new_code_cell("pass", metadata=cell_meta("setup-forged", grade=False, solution=False,
                                                 locked=True)),
        new_code_cell("pass", metadata={"nbgrader": {"grade": True, "locked": True, "points": 9,
                                                     "schema_version": 3}})]
    submit(tmp_path, "oscar-forged-marks", name, forged)
    result = cli("grade", name, "--submissions", str(tmp_path / "submitted"), "--workers", "2",
                 "--cell-timeout", "20", "--memory-mb", "2048", cwd=course)
    assert result.returncode == 0, result.stderr[-2000:]
    got = json.loads(paths.result("oscar-forged-marks").read_text())
    assert got["status"] == "graded", got["reason"]
    release_tests = {grade_id(c): points(c) for c in release.cells if is_test(c)}
    assert {t: v["max"] for t, v in got["tests"].items()} == release_tests
    assert all(v["score"] == v["max"] for v in got["tests"].values()), got["tests"]
    assert got["events"] == ["ignored grading marks on cells not in the assignment: "
                             "test-forged, setup-forged, (no id)"]
    for student, reason in FAULTS.items():
        got = json.loads(paths.result(student).read_text())
        assert got["status"] == "graded", (student, got["reason"])
        for test_id, test in got["tests"].items():
            if test_id in first.test_ids:
                assert test["score"] == 0 and test["message"].startswith(reason), (student, test)
            elif test_id in second.test_ids:
                # its own error (CheckFailure, or an AttributeError on None), not the fault's
                assert test["score"] == 0 and test["message"], (student, test_id, test)
                assert not test["message"].startswith(tuple(FAULTS.values())), test
            else:
                assert test["score"] == test["max"], (student, test_id, test, got["events"])

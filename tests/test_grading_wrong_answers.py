"""Graded through nbgrader itself: the model answers earn every point, the stubs earn none, and
a known-wrong implementation of each exercise loses that exercise's points and no other."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENTS, ROOT
from nbgrader.api import Gradebook
from test_course_rules import load_mutants

from autograder.build import generate_release, nbgrader, prepare_workspace
from autograder.notebook import exercises, is_test, read
from autograder.submission import fill, model_answers, submit


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_each_wrong_implementation_loses_exactly_its_points(name, tmp_path):
    course = prepare_workspace(ROOT, name, tmp_path / "course")
    release_nb = read(generate_release(course, name) / f"{name}.ipynb")
    source_nb = read(course / "source" / name / f"{name}.ipynb")
    answers = model_answers(source_nb)
    mutants = load_mutants(name)
    students = {"model": answers, "stub": {}}
    students |= {f"wrong-{gid}": {**answers, gid: code} for gid, code in mutants.items()}
    for student, filled in students.items():
        submit(course, student, name, fill(release_nb, filled))

    result = nbgrader(["autograde", name, "--force", f"--CourseDirectory.root={course}",
                       f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"], cwd=course)
    assert result.returncode == 0, result.stderr[-2000:]

    tests = [c.metadata.nbgrader.grade_id for c in source_nb.cells if is_test(c)]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        def score(student: str, gid: str) -> tuple[float, float]:
            grade = gb.find_grade(gid, name, name, student)
            return grade.score, grade.max_score

        for gid in tests:
            got, top = score("model", gid)
            assert got == top > 0, f"model answer loses points on {gid}: {got}/{top}"
            assert score("stub", gid)[0] == 0, f"{gid} gives points to the unfilled stub"
        for exercise in exercises(source_nb):
            student = f"wrong-{exercise.answer_id}"
            own = sum(score(student, gid)[0] for gid in exercise.test_ids)
            assert own < exercise.points, (
                f"the known-wrong {exercise.answer_id} still scores {own}/{exercise.points}")
            others = [gid for gid in tests if gid not in exercise.test_ids]
            lost = [gid for gid in others if score(student, gid)[0] < score(student, gid)[1]]
            assert not lost, f"wrong {exercise.answer_id} also loses points on {lost}"

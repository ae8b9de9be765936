"""The course's own notebooks through the grading pipeline: no false alarms on real work."""

from __future__ import annotations

import shutil

import pytest
from conftest import ASSIGNMENTS, ROOT, score

from autograder.build import generate_release, prepare_workspace
from autograder.grade import GradeOptions, grade
from autograder.notebook import read
from autograder.submission import fill, model_answers, submit


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_course_notebooks_grade_cleanly_through_the_pipeline(name, tmp_path):
    """On the real notebooks: does the model answer earn every point with no flag and no
    event (no false alarm from the integrity scan), and the unfilled release nothing?"""
    course = prepare_workspace(ROOT, name, tmp_path / "course")
    release = read(generate_release(course, name) / f"{name}.ipynb")
    answers = model_answers(read(course / "source" / name / f"{name}.ipynb"))
    incoming = tmp_path / "incoming"
    submit(incoming.parent, "model", name, fill(release, answers))
    submit(incoming.parent, "stub", name, release)
    shutil.move(tmp_path / "submitted", incoming)
    summary = grade(course, name, incoming, GradeOptions(workers=2, quiet=True))
    got = {r["student"]: r for r in summary["results"]}
    model, stub = got["model"], got["stub"]
    assert model["status"] == "graded" and model["flags"] == [] and model["events"] == []
    assert all(t["score"] == t["max"] > 0 for t in model["tests"].values()), model["tests"]
    assert score(stub) == 0 and stub["flags"] == []

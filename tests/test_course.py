"""`autograder.course`: the one place that knows the course layout agrees with nbgrader's own
CourseDirectory, finds the course from below, and names unknown assignments in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, COURSE, ROOT
from nbgrader.coursedir import CourseDirectory

from autograder.course import Course, CourseError


def _course(folder: Path, *names: str) -> Course:
    config = "c = get_config()\nc.CourseDirectory.course_id = 'x'\n"
    (folder / "nbgrader_config.py").write_text(config)
    for name in names:
        (folder / "source" / name).mkdir(parents=True)
        (folder / "source" / name / f"{name}.ipynb").write_text("{}")
    return Course(folder)


def test_paths_are_where_nbgrader_looks(tmp_path):
    course = _course(tmp_path, "01_a")
    nbgrader = CourseDirectory(root=str(tmp_path))
    paths = course.assignment("01_a")

    def step(directory: str, student: str = ".") -> Path:
        return Path(os.path.normpath(nbgrader.format_path(directory, student, "01_a")))

    assert paths.source_dir == step(nbgrader.source_directory)
    assert paths.release_dir == step(nbgrader.release_directory)
    assert paths.submitted("bob").parent == step(nbgrader.submitted_directory, "bob")
    assert paths.autograded("bob").parent == step(nbgrader.autograded_directory, "bob")
    assert course.feedback / "bob" / "01_a" == step(nbgrader.feedback_directory, "bob")
    assert course.db_url == nbgrader.db_url
    assert paths.source.name == paths.release.name == "01_a.ipynb"


def test_assignments_are_the_source_folders_with_their_notebook_in_order(tmp_path):
    course = _course(tmp_path, "02_b", "01_a")
    (tmp_path / "source" / "03_no_notebook").mkdir()
    (tmp_path / "source" / "04_other").mkdir()
    (tmp_path / "source" / "04_other" / "notes.ipynb").write_text("{}")
    assert course.assignments() == ["01_a", "02_b"]
    assert COURSE.assignments() == ASSIGNMENTS and "01_optimization" in ASSIGNMENTS


def test_unknown_assignment_is_one_line_naming_the_known_ones(tmp_path):
    course = _course(tmp_path, "01_a")
    with pytest.raises(CourseError, match=r"^unknown assignment '99_x'; known: 01_a$"):
        course.assignment("99_x")


def test_find_searches_upwards_and_says_where_it_looked(tmp_path):
    assert Course.find(ROOT / "autograder").root == ROOT
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    with pytest.raises(CourseError, match="no course found: no nbgrader_config.py"):
        Course.find(deep)


def test_config_is_read_from_the_course_and_empty_without_one(tmp_path):
    course = _course(tmp_path, "01_a")
    assert course.config().CourseDirectory.course_id == "x"
    (tmp_path / "nbgrader_config.py").unlink()
    assert course.config() == {}
    assert COURSE.config().CourseDirectory.course_id  # the real course names itself


def test_a_root_given_as_text_is_a_path():
    assert Course(str(ROOT)).assignments() == ASSIGNMENTS

"""A Dask worker that dies mid-batch (killed from outside: student code in the sandbox cannot
reach it) costs only the submission it was grading: the batch completes, every other
submission is recorded exactly once with full marks, and a rerun grades the lost one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import score, worker_grading
from nbgrader.api import Gradebook
from tiny_course import tiny_course

from autograder.build import generate_release, prepare_workspace
from autograder.course import Course
from autograder.notebook import read
from autograder.submission import fill, model_answers, submit

SLOW = "import time\ndef square(x):\n    time.sleep(60)\n    return x * x\n"


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_submission(tmp_path):
    course = tiny_course(tmp_path / "course")
    work = prepare_workspace(course, "00_tiny", tmp_path / "scratch")
    release = read(generate_release(work, "00_tiny") / "00_tiny.ipynb")
    paths = Course(course).assignment("00_tiny")
    answers = model_answers(read(paths.source))
    students = [f"s{i}" for i in range(5)]
    for student in students:
        submit(course, student, "00_tiny", fill(release, answers))
    submit(course, "victim", "00_tiny", fill(release, {**answers, "square": SLOW}))
    grading = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", "00_tiny", "--submissions", "submitted",
         "--workers", "2", "--cell-timeout", "90"], cwd=course, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    worker = None
    deadline = time.monotonic() + 300
    while worker is None and time.monotonic() < deadline and grading.poll() is None:
        worker = worker_grading(
            "victim", lambda p: "multiprocessing" in " ".join(p.cmdline()))
        time.sleep(0.5)
    assert worker is not None, "never saw the victim's kernel"
    time.sleep(3)  # the victim's test is now running
    os.kill(worker.pid, signal.SIGKILL)
    out, err = grading.communicate(timeout=600)
    assert grading.returncode == 0, out[-2000:] + err[-2000:]
    folder = paths.reports / "results"
    results = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    assert set(results) == {*students, "victim"}
    assert results["victim"]["status"] == "error" and "crashed" in results["victim"]["reason"]
    for student in students:
        assert results[student]["status"] == "graded", (student, results[student]["reason"])
        assert score(results[student]) == 2.0
    with Gradebook(paths.course.db_url) as gb:
        assert sorted(s.id for s in gb.students) == sorted([*students, "victim"])
    rerun = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "00_tiny", "--submissions", "submitted",
         "--workers", "1", "--cell-timeout", "5"], cwd=course, capture_output=True, text=True,
        timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "1 graded now, 5 already graded" in rerun.stdout, rerun.stdout[-800:]
    again = json.loads((folder / "victim.json").read_text())
    assert again["status"] == "graded" and again["tests"]["test-square"]["message"].startswith(
        "CellTimeout")

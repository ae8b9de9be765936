"""The submission corpus of tests/corpus.py graded through `python -m autograder grade` (real
sandboxed student kernels, a trusted judge kernel, a Dask LocalCluster), one run per notebook:
legitimate work earns every point with no flag, a cheat earns nothing on the exercise it cheats
on and costs nothing elsewhere, and exports and feedback stay consistent and secret."""

from __future__ import annotations

import csv
import html
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import COURSE, ROOT, cli, score
from corpus import CORPUS, Entry, resolve
from nbformat import NotebookNode

from autograder.build import generate_release, prepare_workspace
from autograder.course import Course
from autograder.notebook import HIDDEN_BEGIN, HIDDEN_END, exercises, is_test, read
from autograder.submission import fill, model_answers, submit

pytestmark = pytest.mark.slow

NAMES = ("01_optimization", "02_gradients")
GRADE = ["--workers", "2", "--cell-timeout", "20", "--force"]


@dataclass
class Graded:
    """One notebook's corpus after one CLI run."""

    name: str
    course: Path
    run: subprocess.CompletedProcess
    source: NotebookNode
    release: NotebookNode
    results: dict[str, dict]

    def tests_of(self, answer_ids) -> set[str]:
        """The test cells that grade the given answer cells."""
        return {t for e in exercises(self.source) if e.answer_id in answer_ids
                for t in e.test_ids}


def _grade(name: str, folder: Path) -> Graded:
    course = prepare_workspace(ROOT, name, folder / "course")
    release = read(generate_release(course, name) / f"{name}.ipynb")
    paths = Course(course).assignment(name)
    source = read(paths.source)
    model = model_answers(source)
    for entry in CORPUS:
        if entry.assignment == name:
            submit(course, entry.student, name, fill(release, {**model, **resolve(entry, model)}))
    run = cli("grade", name, "--submissions", "submitted", *GRADE, cwd=course)
    (course / "grade-output.txt").write_text(run.stdout + "\n" + run.stderr)
    folder = paths.reports / "results"
    results = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}
    return Graded(name, course, run, source, release, results)


# built once per module (per xdist worker: `--dist loadscope` keeps the module on one worker),
# each notebook's run started the first time a test needs it
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    runs: dict[str, Graded] = {}

    def get(name: str) -> Graded:
        if name not in runs:
            runs[name] = _grade(name, tmp_path_factory.mktemp(f"corpus-{name}"))
        return runs[name]

    return get


def students(name: str) -> set[str]:
    return {e.student for e in CORPUS if e.assignment == name}


def test_the_corpus_is_large_and_covers_both_notebooks():
    ids = [e.student for e in CORPUS]
    assert len(ids) == len(set(ids)) >= 34, "student ids must be unique"
    assert sum(e.kind == "legit" for e in CORPUS) >= 12
    assert sum(e.kind == "cheat" for e in CORPUS) >= 20
    for name in NAMES:
        assert len(students(name)) >= 10, name
    for entry in CORPUS:
        assert entry.kind == "cheat" or not entry.flagged, entry.student
        source = read(COURSE.assignment(entry.assignment).source)
        known = {e.answer_id for e in exercises(source)}
        assert set(entry.answers) <= known, (entry.student, set(entry.answers) - known)


@pytest.mark.parametrize("name", NAMES)
def test_the_whole_class_is_graded_and_exported(graded, name):
    g = graded(name)
    assert g.run.returncode == 0, g.run.stdout[-2000:] + g.run.stderr[-3000:]
    assert set(g.results) == students(name), "every submission gets a result, nothing else"
    bad = {s: (r["status"], r["reason"]) for s, r in g.results.items() if r["status"] != "graded"}
    assert not bad, bad
    rows = list(csv.DictReader(Course(g.course).assignment(name).grades_csv.open()))
    totals = {r["student_id"]: float(r["raw_score"]) for r in rows}
    assert set(totals) == students(name)
    differ = {s: (totals[s], score(r)) for s, r in g.results.items()
              if abs(totals[s] - score(r)) > 1e-9}
    assert not differ, f"grades.csv total vs results/STUDENT.json: {differ}"


def _hidden_lines(source: NotebookNode, release: NotebookNode) -> set[str]:
    """Lines of hidden test regions (over 25 characters) that students never see."""
    visible = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    hidden = set()
    for cell in source.cells:
        if not is_test(cell):
            continue
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text.startswith(HIDDEN_BEGIN):
                inside = True
            elif text.startswith(HIDDEN_END):
                inside = False
            elif inside and len(text) > 25 and text not in visible:
                hidden.add(text)
    return hidden


@pytest.mark.parametrize("name", NAMES)
def test_feedback_never_shows_hidden_test_code(graded, name):
    g = graded(name)
    hidden = _hidden_lines(g.source, g.release)
    assert len(hidden) > 10, "the notebook should have hidden tests to keep secret"
    leaks = {}
    for student in sorted(students(name)):
        page = g.course / "feedback" / student / name / f"{name}.html"
        assert page.is_file(), f"no feedback for {student}"
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        found = sorted(line for line in hidden if line in text)
        if found:
            leaks[student] = found[:5]
    assert not leaks, f"hidden test lines in feedback: {leaks}"


def _scores(result: dict, test_ids) -> dict[str, str]:
    return {t: f"{result['tests'][t]['score']:g}/{result['tests'][t]['max']:g} "
               f"{result['tests'][t]['message'][:160]}" for t in sorted(test_ids)}


@pytest.mark.parametrize("entry", CORPUS, ids=[e.student for e in CORPUS])
def test_each_submission_gets_exactly_what_it_deserves(graded, entry: Entry):
    g = graded(entry.assignment)
    result = g.results[entry.student]
    assert result["status"] == "graded", (result["status"], result["reason"])
    tests = result["tests"]
    assert set(tests) == {t for e in exercises(g.source) for t in e.test_ids}
    own = g.tests_of(set(entry.answers)) if entry.kind == "cheat" else set()
    lost = {t for t in set(tests) - own if tests[t]["score"] != tests[t]["max"]}
    assert not lost, f"{entry.student} ({entry.about}) loses points: {_scores(result, lost)}"
    if entry.kind == "legit":
        assert result["flags"] == [], f"legitimate code flagged: {result['flags']}"
        return
    earned = {t for t in own if tests[t]["score"] != 0}
    assert not earned, f"the cheat {entry.student} ({entry.about}) scores: " \
                       f"{_scores(result, earned)}"
    missing = [code for code in entry.flagged if not any(
        code in f["code"] and f["cell"] in entry.answers for f in result["flags"])]
    assert not missing, f"lines not flagged: {missing}; flags: {result['flags']}"

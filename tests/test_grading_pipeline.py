"""`python -m autograder grade` end to end (real kernels, real nbgrader, a Dask LocalCluster) on
the sample class of a one-exercise course: every fault and cheat costs only its own
submission's points, is recorded with a reason, and the cheats earn nothing."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import cli, score
from nbgrader.api import Gradebook
from tiny_course import tiny_course

from autograder.course import Assignment, Course
from autograder.sample import write_sample_class

pytestmark = pytest.mark.slow  # grades a sample class end to end

# cell limit well above a cold `import torch` on a loaded 2-core machine, far below a hang
FAST = ["--cell-timeout", "20", "--notebook-timeout", "120", "--memory-mb", "1024"]


# built once per xdist worker; `--dist loadscope` (Makefile) keeps this module on one worker
@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> Path:
    course = tiny_course(tmp_path_factory.mktemp("class"))
    write_sample_class(course, "00_tiny", course / "incoming")
    result = cli("grade", "00_tiny", "--submissions", "incoming", "--workers", "2", *FAST,
                 cwd=course)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    (course / "grade-output.txt").write_text(result.stdout)
    return course


def tiny(course: Path) -> Assignment:
    return Course(course).assignment("00_tiny")


def results(course: Path) -> dict[str, dict]:
    folder = tiny(course).reports / "results"
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")}


def test_every_student_is_graded_and_recorded(graded):
    got = results(graded)
    assert len(got) == 19
    assert got["alice-correct"]["status"] == "graded" and score(got["alice-correct"]) == 2.0
    assert got["alice-correct"]["flags"] == [] and got["alice-correct"]["events"] == []
    assert got["niaj-corrupt"]["status"] == "corrupt"
    assert "unreadable notebook" in got["niaj-corrupt"]["reason"]
    assert got["olivia-missing"]["status"] == "missing"
    with Gradebook(f"sqlite:///{graded / 'gradebook.db'}") as gb:
        for student, result in got.items():
            grade = gb.find_grade("test-square", "00_tiny", "00_tiny", student)
            assert grade.score == score(result), student


@pytest.mark.parametrize("student, message, event", [
    ("carol-wrong", "CheckFailure", None),
    ("dave-error", "ZeroDivisionError", None),
    ("erin-timeout", "CellTimeout", "timed out after"),
    ("frank-swallows-interrupt", "CellTimeout", "ignored the interrupt; kernel restarted"),
    ("grace-crash", "DeadKernel", "kernel died in test-square"),
    ("heidi-memory-bomb", "MemoryError", None),
    ("hank-slow-memory-bomb", "CellTimeout", "timed out after"),
    ("ivan-sys-exit", "NameError", None),
    ("judy-deleted-cells", "NameError", "restored deleted cells: setup, test-square"),
])
def test_faults_cost_only_their_tests_with_a_reason(graded, student, message, event):
    result = results(graded)[student]
    assert result["status"] == "graded"
    assert score(result) == 0.0
    assert message in result["tests"]["test-square"]["message"]
    if event:
        assert any(event in e for e in result["events"]), result["events"]


def test_duplicated_cells_do_not_break_grading(graded):
    result = results(graded)["mallory-duplicated-cells"]
    assert score(result) == 2.0
    assert any("ignored copies of cells" in e for e in result["events"])


@pytest.mark.parametrize("student, code, reason", [
    ("peggy-monkeypatch", "np.allclose = lambda *a, **k: True", "replaces numpy.allclose"),
    ("peggy-monkeypatch", "autograder.checks.assert_close = lambda", "replaces autograder.checks"),
    ("sybil-sys-modules", 'sys.modules["autograder.checks"] = fake', "rewrites sys.modules"),
    ("trent-encoded-exec", "exec(base64.b64decode(", "executes dynamically built code"),
    ("victor-reads-source", 'open("../../source/00_tiny/00_tiny.ipynb")', "private files"),
    ("victor-reads-source", 'open("../../gradebook.db", "rb")', "private files"),
    ("walter-fakes-output", "input_transformers_cleanup.append(", "hooks the interpreter"),
])
def test_cheats_are_flagged_with_the_offending_line_and_earn_nothing(graded, student, code,
                                                                       reason):
    result = results(graded)[student]
    assert score(result) == 0.0, "the cheat's wrong answer must not score"
    assert any(code in f["code"] and reason in f["reason"] for f in result["flags"]), (
        result["flags"])


def test_exports_grades_feedback_and_report(graded):
    rows = list(csv.DictReader(tiny(graded).grades_csv.open()))
    assert {r["student_id"] for r in rows} == set(results(graded))
    assert {r["student_id"]: float(r["raw_score"]) for r in rows}["alice-correct"] == 2.0
    for row in rows:  # the CSV, the results and the report agree, corrupt and missing too
        assert float(row["raw_score"]) == score(results(graded)[row["student_id"]]), row
    feedback = Course(graded).feedback / "carol-wrong" / "00_tiny" / "00_tiny.html"
    html = feedback.read_text()
    assert "test-square" in html or "square" in html
    assert "square(-2.5)" not in html and "secret hidden test" not in html
    assert "CheckFailure" in html
    assert not list(Course(graded).feedback.rglob("*.json")), "internal results leak to students"
    report = tiny(graded).report_html.read_text()
    assert "peggy-monkeypatch" in report and "np.allclose" in report
    assert report.count("data:image/png;base64,") >= 3
    assert "19 submissions" in (graded / "grade-output.txt").read_text()


def test_resume_skips_graded_and_regrades_changed_or_forced(graded, tmp_path):
    course = tmp_path / "again"
    shutil.copytree(graded, course)
    before = tiny(course).result("alice-correct").read_text()
    again = cli("grade", "00_tiny", "--submissions", "incoming", *FAST, cwd=course)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 graded now, 19 already graded" in again.stdout
    nb = course / "incoming" / "alice-correct" / "00_tiny" / "00_tiny.ipynb"
    nb.write_text(nb.read_text().replace("return x * x", "return x ** 2"))
    changed = cli("grade", "00_tiny", "--submissions", "incoming", *FAST, cwd=course)
    assert "1 graded now, 18 already graded" in changed.stdout, changed.stdout[-800:]
    after = json.loads(tiny(course).result("alice-correct").read_text())
    assert after["sha256"] != json.loads(before)["sha256"] and score(after) == 2.0


BAD_INPUT = [
    (["grade", "99_nothing", "--submissions", "incoming"], "unknown assignment"),
    (["grade", "00_tiny", "--submissions", "no-such-folder"], "no such submissions folder"),
]
if not torch.cuda.is_available():  # on a GPU machine --device cuda is valid input
    BAD_INPUT.append((["grade", "00_tiny", "--submissions", "incoming", "--device", "cuda"],
                      "no GPU"))


@pytest.mark.parametrize("args, says", BAD_INPUT)
def test_bad_input_is_one_line_and_keeps_recorded_grades(graded, tmp_path, args, says):
    course = tmp_path / "bad"
    shutil.copytree(graded, course)
    db_before = (course / "gradebook.db").read_bytes()
    result = cli(*args, cwd=course)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert (course / "gradebook.db").read_bytes() == db_before
    assert len(results(course)) == 19



def test_feedback_after_manual_grading_includes_the_manual_points(graded, tmp_path):
    course = tmp_path / "manual"
    shutil.copytree(graded, course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # what formgrader's API does
        grade = gb.find_grade("why", "00_tiny", "00_tiny", "alice-correct")
        grade.manual_score, grade.needs_manual_grade = 1.0, False
        gb.db.commit()
        assert gb.find_grade("why", "00_tiny", "00_tiny", "alice-correct").score == 1.0
    before = tiny(course).report_html.read_text()
    assert ">0 / 1 (1 to grade)<" in before
    result = cli("feedback", "00_tiny", cwd=course)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "manual answers graded: 1, still to grade: 16" in result.stdout, result.stdout
    rows = {r["student_id"]: r for r in csv.DictReader(tiny(course).grades_csv.open())}
    assert float(rows["alice-correct"]["raw_score"]) == 3.0  # 2 autograded + 1 manual
    assert float(rows["carol-wrong"]["raw_score"]) == 0.0
    html = (Course(course).feedback / "alice-correct" / "00_tiny" / "00_tiny.html").read_text()
    assert "3.0 / 3.0" in html, "the feedback shows the manual point"
    report = tiny(course).report_html.read_text()
    assert ">1 / 1<" in report and ">3 / 3<" in report  # alice: manual column and total
    assert report.count("(1 to grade)") == 16  # the other graded submissions still wait
    assert len(results(course)) == 19  # nothing recorded was lost


def test_feedback_before_any_grading_is_a_one_line_error(tmp_path):
    course = tiny_course(tmp_path / "fresh")
    result = cli("feedback", "00_tiny", cwd=course)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no recorded grades yet" in lines[0], result.stderr


def test_grading_without_katex_fails_before_grading_anyone(graded, tmp_path):
    course = tmp_path / "nokatex"
    shutil.copytree(graded, course)
    db_before = (course / "gradebook.db").read_bytes()
    result = cli("grade", "00_tiny", "--submissions", "incoming", "--force", *FAST, cwd=course,
                 env={"CVCOURSE_NODE_MODULES": str(tmp_path / "no-node-modules")})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "katex is not installed" in lines[0], result.stderr
    assert (course / "gradebook.db").read_bytes() == db_before

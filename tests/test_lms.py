"""LMS exports: the Canvas and Moodle import CSVs written from a real nbgrader gradebook, parsed
back with the csv module (exact headers and rows), mapped through rosters in each LMS's own
export format, and one-line errors for bad input."""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.lms import (
    CANVAS_FIXED,
    LmsError,
    export_csv,
    load_grades,
    number,
    read_roster,
)

NAME = "01_optimization"
COLUMN = "01 Optimization (4521)"  # the assignment's column in the Canvas roster
# student id (as the pipeline names it) -> (first, last, test-a, test-b, manual "why" or None)
CLASS = {
    "doejane": ("Jane", "Doe", 2.0, 5.0, 3.0),  # a Canvas download: "doejane_102_..._x.zip"
    "ghost": ("", "", 1.0, 0.0, 1.0),  # submitted, but in neither roster
    "jsmith": ("John", "Smith", 2.0, 2.5, 1.5),  # folder named by the login
    "lwei": ("Li", "Wei", 0.0, 1.25, None),  # manual answer not graded yet
    "mallory": ("Eve", "Mallory", 2.0, 5.0, 0.0),  # flagged by the integrity scan
}
NO_SUBMISSION = "nosub"  # in the gradebook (another assignment), nothing for this one
TOTAL = {s: a + b + (m or 0.0) for s, (_, _, a, b, m) in CLASS.items()} | {NO_SUBMISSION: 0.0}
MAX = 2.0 + 5.0 + 3.0
CANVAS_ROSTER = "\ufeff" + """Student,ID,SIS User ID,SIS Login ID,Section,01 Optimization (4521),\
02 Gradients (4522),Current Score
    Points Possible,,,,,10.00,8.00,(read only)
"Smith, John",101,S001,jsmith,CV 2026,,,
"Doe, Jane",102,S002,jdoe,CV 2026,,,
"Wei, Li",103,S003,lwei@uni.example,CV 2026 B,,,
"Mallory, Eve",104,S004,mallory,CV 2026,,,
"Nosub, Nora",105,S005,nosub,CV 2026,,,
"Student, Test",106,,,CV 2026,,,
"""
MOODLE_ROSTER = """First name,Last name,ID number,Institution,Department,Email address,\
Assignment: Optimisation (Real),Last downloaded from this course
John,Smith,S001,Uni,CS,jsmith@uni.example,,1760000000
Jane,Doe,S002,Uni,CS,jane.doe@uni.example,,1760000000
Li,Wei,S003,Uni,CS,lwei@uni.example,,1760000000
Eve,Mallory,S004,Uni,CS,mallory@uni.example,,1760000000
Nora,Nosub,S005,Uni,CS,nosub@uni.example,,1760000000
"""


def gradebook(root: Path) -> None:
    """The gradebook grading leaves: the assignment, students, auto and manual scores."""
    from nbgrader import api

    warnings.filterwarnings("ignore", module="nbgrader.api")
    with pytest.MonkeyPatch.context() as patch:
        # a new gradebook is stamped with alembic's head revision, found by running the alembic
        # CLI (1 s idle, 9 s on a loaded machine); the stamp plays no part in reading grades
        patch.setattr(api, "get_alembic_version", lambda: "test")
        gb = api.Gradebook(f"sqlite:///{root / 'gradebook.db'}")
    with gb:
        gb.add_assignment(NAME)
        gb.add_notebook(NAME, NAME)
        for cell, points, kind in (("test-a", 2, "code"), ("test-b", 5, "code"),
                                   ("why", 3, "markdown")):
            gb.add_grade_cell(cell, NAME, NAME, max_score=points, cell_type=kind)
        gb.add_solution_cell("why", NAME, NAME)
        for student, (first, last, a, b, manual) in CLASS.items():
            gb.add_student(student, first_name=first, last_name=last)
            gb.add_submission(NAME, student)
            scores = {"test-a": a, "test-b": b}
            for grade in gb.find_submission_notebook(NAME, NAME, student).grades:
                if grade.name in scores:
                    grade.auto_score, grade.needs_manual_grade = scores[grade.name], False
                elif manual is not None:
                    grade.manual_score, grade.needs_manual_grade = manual, False
        gb.add_student(NO_SUBMISSION, first_name="Nora", last_name="Nosub")
        gb.db.commit()


def results(root: Path) -> None:
    folder = root / "reports" / NAME / "results"
    folder.mkdir(parents=True)
    for student in CLASS:
        flags = ([{"cell": "bfgs", "line": 3, "code": "np.allclose = ...", "reason": "patch"}]
                 if student == "mallory" else [])
        (folder / f"{student}.json").write_text(json.dumps(
            {"student": student, "assignment": NAME, "status": "graded", "flags": flags}))


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lms")
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "source" / NAME).mkdir(parents=True)
    (root / "source" / NAME / f"{NAME}.ipynb").write_text("{}")
    gradebook(root)
    results(root)
    (root / "canvas-roster.csv").write_text(CANVAS_ROSTER, encoding="utf-8")
    (root / "moodle-roster.csv").write_text(MOODLE_ROSTER, encoding="utf-8")
    return root


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


# --- grades ---------------------------------------------------------------------------------
def test_grades_are_the_gradebooks(course):
    grades = {g.student: g for g in load_grades(course, NAME)}
    assert set(grades) == set(TOTAL)
    for student, total in TOTAL.items():
        assert grades[student].score == pytest.approx(total), student
        assert grades[student].max_score == MAX
    assert grades["lwei"].needs_manual and not grades["jsmith"].needs_manual
    assert grades["mallory"].flags == 1 and grades["jsmith"].flags == 0
    assert grades[NO_SUBMISSION].status == "not submitted"


@pytest.mark.parametrize(("value", "text"), [(2.5, "2.5"), (10.0, "10"), (1 / 3, "0.3333"),
                                             (1234567.0, "1234567"), (-0.0, "0"), (0.0, "0")])
def test_numbers_are_plain_decimals(value, text):
    assert number(value) == text


# --- Canvas ---------------------------------------------------------------------------------
def test_canvas_with_roster_exact_rows(course, tmp_path):
    out = tmp_path / "canvas.csv"
    done = export_csv(course, NAME, "canvas", out, course / "canvas-roster.csv")
    assert done.column == COLUMN  # found in the roster by the assignment's name
    assert rows(out) == [
        [*CANVAS_FIXED, COLUMN],
        ["Points Possible", "", "", "", "", "10"],
        ["Doe, Jane", "102", "S002", "jdoe", "CV 2026", "10"],
        ["Smith, John", "101", "S001", "jsmith", "CV 2026", "6"],
        ["Wei, Li", "103", "S003", "lwei@uni.example", "CV 2026 B", "1.25"],
        ["Mallory, Eve", "104", "S004", "mallory", "CV 2026", "7"],
        ["Nosub, Nora", "105", "S005", "nosub", "CV 2026", "0"],
    ]
    assert done.unmatched == [("ghost", "not in the roster")] and done.rows == 5
    assert any("lwei" in n and "manual" in n for n in done.notes)
    assert any("mallory" in n and "flagged" in n for n in done.notes)


def test_canvas_round_trip_through_the_roster(course, tmp_path):
    """Every exported row maps back, by Canvas's own ID, to the student and grade it came
    from, and carries that student's roster fields unchanged."""
    out = tmp_path / "canvas.csv"
    export_csv(course, NAME, "canvas", out, course / "canvas-roster.csv")
    roster = read_roster(course / "canvas-roster.csv")
    by_id = {r["ID"]: r for r in roster.rows}
    login = {"jsmith": "101", "doejane": "102", "lwei": "103", "mallory": "104", "nosub": "105"}
    with out.open(newline="", encoding="utf-8") as handle:
        exported = [r for r in csv.DictReader(handle) if r["Student"] != "Points Possible"]
    assert sorted(r["ID"] for r in exported) == sorted(login.values())
    for row in exported:
        student = next(s for s, i in login.items() if i == row["ID"])
        assert float(row[COLUMN]) == pytest.approx(TOTAL[student])
        assert all(row[h] == by_id[row["ID"]][h] for h in CANVAS_FIXED)


def test_canvas_without_roster(course, tmp_path):
    out = tmp_path / "canvas.csv"
    done = export_csv(course, NAME, "canvas", out)
    table = rows(out)
    assert table[0] == [*CANVAS_FIXED, NAME] and table[1][-1] == "10"
    assert ["Smith, John", "", "", "jsmith", "", "6"] in table
    assert ["ghost", "", "", "ghost", "", "2"] in table  # no name in the gradebook: the id
    assert len(table) == 2 + len(TOTAL) and not done.unmatched
    assert any("SIS Login ID" in n for n in done.notes)


def test_canvas_hold_flagged_and_manual(course, tmp_path):
    out = tmp_path / "canvas.csv"
    done = export_csv(course, NAME, "canvas", out, course / "canvas-roster.csv",
                      column="Notebook 1 (777)", hold_flagged=True, hold_manual=True)
    table = {r[3]: r[-1] for r in rows(out)[2:]}
    assert rows(out)[0][-1] == "Notebook 1 (777)"
    # left out, not blank: a missing row changes nothing, a blank clears a Moodle grade
    assert "mallory" not in table and "lwei@uni.example" not in table
    assert table == {"jdoe": "10", "jsmith": "6", "nosub": "0"} and done.rows == 3
    assert {s for s, _ in done.held} == {"mallory", "lwei"}
    export_csv(course, NAME, "moodle", out, course / "moodle-roster.csv", hold_flagged=True)
    assert [r[0] for r in rows(out)].count("mallory@uni.example") == 0


# --- Moodle ---------------------------------------------------------------------------------
def test_moodle_with_roster_exact_rows(course, tmp_path):
    out = tmp_path / "moodle.csv"
    done = export_csv(course, NAME, "moodle", out, course / "moodle-roster.csv")
    assert rows(out) == [
        ["Email address", NAME],
        ["jane.doe@uni.example", "10"],  # matched by name: the zip was "doejane_..."
        ["jsmith@uni.example", "6"],  # matched by the email's local part
        ["lwei@uni.example", "1.25"],
        ["mallory@uni.example", "7"],
        ["nosub@uni.example", "0"],
    ]
    assert done.unmatched == [("ghost", "not in the roster")]
    assert any("Email address" in n for n in done.notes)


def test_moodle_id_fields(course, tmp_path):
    out = tmp_path / "moodle.csv"
    export_csv(course, NAME, "moodle", out, course / "moodle-roster.csv", id_field="idnumber",
               column="Optimisation")
    assert rows(out)[:2] == [["ID number", "Optimisation"], ["S002", "10"]]
    export_csv(course, NAME, "moodle", out)  # no roster: the pipeline's id is the username
    table = rows(out)
    assert table[0] == ["Username", NAME] and ["ghost", "2"] in table
    assert len(table) == 1 + len(TOTAL)


def test_ambiguous_roster_rows_are_not_guessed(course, tmp_path):
    twins = tmp_path / "twins.csv"
    twins.write_text("Username,Email address\njsmith,a@x.example\njsmith,b@x.example\n")
    done = export_csv(course, NAME, "moodle", tmp_path / "out.csv", twins, id_field="email")
    assert ("jsmith", "matches 2 roster rows") in done.unmatched
    assert all("a@x" not in r[0] and "b@x" not in r[0] for r in rows(tmp_path / "out.csv"))


# --- the command ----------------------------------------------------------------------------
def test_cli_exit_1_and_warning_lines_when_a_student_is_not_exported(course, tmp_path,
                                                                       monkeypatch, capsys):
    monkeypatch.chdir(course)
    out = tmp_path / "up.csv"
    code = main(["export", NAME, "--lms", "canvas", "--roster", "canvas-roster.csv",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and out.is_file()
    assert "warning: not exported: ghost: not in the roster" in captured.err
    assert f"wrote 5 grade(s) for canvas column '{COLUMN}'" in captured.out
    assert main(["export", NAME, "--lms", "moodle", "--out", str(out)]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--lms", "canvas", "--roster", "absent.csv"], "absent.csv: no such roster file"),
    (["--lms", "canvas", "--roster", "bad-roster.csv"], "no student column"),
    (["--lms", "moodle", "--roster", "canvas-roster.csv", "--id-field", "email"],
     "no Email address column"),
    (["--lms", "canvas", "--id-field", "email"], "--id-field is for Moodle"),
    (["--lms", "canvas", "--column", " "], "--column must not be empty"),
    (["--lms", "canvas", "--column", "Section"], "one of Canvas's student columns"),
])
def test_bad_input_is_one_line_and_exit_2(course, tmp_path, monkeypatch, capsys, args, message):
    (course / "bad-roster.csv").write_text("colour,size\nred,3\n")
    monkeypatch.chdir(course)
    assert main(["export", NAME, *args, "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x.csv").exists()


def test_no_gradebook_unknown_assignment_and_bad_out(course, tmp_path, monkeypatch, capsys):
    bare = tmp_path / "bare"
    shutil.copytree(course, bare, ignore=shutil.ignore_patterns("gradebook.db"))
    with pytest.raises(LmsError, match="no gradebook"):
        export_csv(bare, NAME, "moodle", tmp_path / "x.csv")
    (course / "source" / "02_other").mkdir(exist_ok=True)
    (course / "source" / "02_other" / "02_other.ipynb").write_text("{}")
    with pytest.raises(LmsError, match="02_other is not in the gradebook"):
        export_csv(course, "02_other", "moodle", tmp_path / "x.csv")
    with pytest.raises(LmsError, match="no such folder"):
        export_csv(course, NAME, "moodle", tmp_path / "absent" / "x.csv")
    monkeypatch.chdir(course)
    assert main(["export", "99_nope", "--lms", "moodle", "--out", "x.csv"]) == 2
    assert "unknown assignment '99_nope'" in capsys.readouterr().err


def test_semicolon_roster_reads_as_the_comma_one(course, tmp_path):
    # Moodle's exporter offers ; and tab; Excel in many locales saves CSV with ;
    table = list(csv.reader(MOODLE_ROSTER.splitlines()))
    semi = tmp_path / "semi.csv"
    with semi.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";").writerows(table)
    export_csv(course, NAME, "moodle", tmp_path / "a.csv", course / "moodle-roster.csv")
    export_csv(course, NAME, "moodle", tmp_path / "b.csv", semi)
    assert rows(tmp_path / "a.csv") == rows(tmp_path / "b.csv")
    assert len(rows(tmp_path / "b.csv")) == 6


def test_a_crashed_grading_is_never_exported_as_zero(course, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(course, copy)
    result = copy / "reports" / NAME / "results" / "jsmith.json"
    result.write_text(json.dumps({"student": "jsmith", "assignment": NAME, "status": "error",
                                  "reason": "grading crashed: KilledWorker"}))
    corrupt = copy / "reports" / NAME / "results" / "doejane.json"
    corrupt.write_text(json.dumps({"student": "doejane", "assignment": NAME,
                                   "status": "corrupt"}))
    done = export_csv(copy, NAME, "moodle", tmp_path / "m.csv")
    assert ("jsmith", "grading failed: run grade again") in done.held
    assert "jsmith" not in [r[0] for r in rows(tmp_path / "m.csv")]
    assert any("doejane (corrupt)" in n for n in done.notes)  # the student's fault: kept

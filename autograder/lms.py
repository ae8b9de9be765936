"""Grades out of the course gradebook into a learning management system: the CSV files Canvas
and Moodle import.

The grades come from nbgrader's ``gradebook.db`` (autograded points plus any manual points given
since, less a late penalty: the ``score`` of ``nbgrader export``), the pipeline's results
(``reports/ASSIGNMENT/results/STUDENT.json``: status and integrity flags) tell which grades need
a look first. A roster exported from the LMS maps the pipeline's student ids (folder or zip
names) to the LMS's own ids.

Canvas (Grades > Import) reads ``Student, ID, SIS User ID, SIS Login ID, Section``, then one
column per assignment named ``Name (canvas id)`` (an unknown name creates a new assignment), and
an optional ``Points Possible`` row under the header. Moodle (Grades > Import > CSV file) reads
any header; its dialog maps one identifier column (email address, username, ID number) to its
users and each other column to a grade item.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from autograder.collect import student_id
from autograder.course import Course
from autograder.result import GradeResult

LMS = ("canvas", "moodle")
CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"
CANVAS_ID = re.compile(r"\s*\(\d+\)\s*$")  # "01 Optimization (4521)": Canvas's assignment id
# Moodle's own names for the user fields its import dialog can map (its grade export uses them)
MOODLE_FIELDS = {"email": "Email address", "username": "Username", "idnumber": "ID number"}
# roster headers (lower case) that identify a student; both LMSs' exports and plain lists
ID_HEADERS = ("id", "sis user id", "sis login id", "login id", "username", "user name",
              "email", "email address", "e-mail", "id number", "idnumber", "student id",
              "student_id", "userid", "user id")
NAME_HEADERS = ("student", "name", "full name")
ALIASES = {  # what to look for in a roster for each Moodle identifier
    "email": ("email address", "email", "e-mail"),
    "username": ("username", "user name", "login id", "sis login id"),
    "idnumber": ("id number", "idnumber", "sis user id", "student id"),
}


class LmsError(ValueError):
    """The export cannot be made as asked (no gradebook, unusable roster, bad options)."""


@dataclass
class Grade:
    """One student's grade for an assignment, as the gradebook holds it now."""

    student: str
    score: float  # autograded + manual points, less the late penalty (nbgrader export's score)
    max_score: float
    status: str = "graded"  # the pipeline's status, or "not submitted"
    needs_manual: bool = False  # manual answers not graded yet: their points are missing
    flags: int = 0  # integrity flags: read them before releasing this grade
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass
class Export:
    """What :func:`export_csv` wrote and what the instructor should know about it."""

    path: Path
    rows: int
    column: str
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (student, why)
    held: list[tuple[str, str]] = field(default_factory=list)  # row left out: (student, why)
    notes: list[str] = field(default_factory=list)


# --- grades ---------------------------------------------------------------------------------
def load_grades(root: Path, assignment: str) -> list[Grade]:
    """Every gradebook student's grade for ``assignment`` (0 when nothing was submitted, as
    ``nbgrader export`` does), sorted by student id."""
    from nbgrader.api import Gradebook, MissingEntry

    paths = Course(root).assignment(assignment)
    if not paths.course.gradebook.is_file():
        raise LmsError(f"no gradebook at {paths.course.gradebook}: grade {assignment} first")
    warnings.filterwarnings("ignore", module="nbgrader.api")  # SQLAlchemy SAWarning noise
    grades = []
    with Gradebook(paths.course.db_url) as gb:
        try:
            max_score = float(gb.find_assignment(assignment).max_score)
        except MissingEntry:
            raise LmsError(f"{assignment} is not in the gradebook: grade it first") from None
        for student in sorted(gb.students, key=lambda s: s.id):
            grade = Grade(student.id, 0.0, max_score, "not submitted",
                          first_name=student.first_name or "", last_name=student.last_name or "",
                          email=student.email or "")
            try:
                sub = gb.find_submission(assignment, student.id)
            except MissingEntry:
                grades.append(grade)
                continue
            grade.score = float(sub.score) - float(sub.late_submission_penalty or 0.0)
            grade.needs_manual = bool(sub.needs_manual_grade)
            grade.status = "graded"
            result = _result(paths.result(student.id))
            if result is not None:
                grade.status, grade.flags = result.status, len(result.flags)
            grades.append(grade)
    return grades


def _result(path: Path) -> GradeResult | None:
    try:
        return GradeResult.from_json(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def number(value: float) -> str:
    """A score as the LMSs read it: plain decimal, no exponent, at most 4 decimals."""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# --- roster ---------------------------------------------------------------------------------
def _key(value: str) -> str:
    """An id as the pipeline makes one (collect.student_id), compared case-insensitively."""
    return student_id(value.strip()).lower() if value.strip() else ""


def _name_key(value: str) -> str:
    # Canvas names downloaded submissions "lastfirst_...", Moodle "First Last_...": letters only
    return re.sub(r"[\W_]+", "", value).lower()


@dataclass
class Roster:
    """Students exported from the LMS: one dict per row, keyed by the file's own headers."""

    headers: list[str]
    rows: list[dict[str, str]]
    path: str = ""
    _keyed: list[tuple[set[str], set[str]]] = field(default_factory=list, repr=False)

    def column(self, *names: str) -> str | None:
        """The roster's header matching one of ``names`` (case-insensitive), if any."""
        lower = {h.strip().lower(): h for h in self.headers}
        return next((lower[n] for n in names if n in lower), None)

    def _keys(self, row: dict[str, str]) -> tuple[set[str], set[str]]:
        ids, names = set(), set()
        for header in self.headers:
            value = (row.get(header) or "").strip()
            name = header.strip().lower()
            if not value:
                continue
            if name in ID_HEADERS:
                ids.add(_key(value))
                if "@" in value:  # jo@uni.edu submits as "jo" as often as in full
                    ids.add(_key(value.split("@", 1)[0]))
            elif name in NAME_HEADERS:
                names.add(_name_key(value))
                if "," in value:  # "Smith, Jo": also "Jo Smith"
                    last, first = value.split(",", 1)
                    names.add(_name_key(first + last))
        first = row.get(self.column("first name") or "", "")
        last = row.get(self.column("last name", "surname") or "", "")
        if first or last:
            names |= {_name_key(first + last), _name_key(last + first)}
        return ids - {""}, names - {""}

    def match(self, student: str) -> tuple[dict[str, str] | None, str]:
        """The row for a pipeline student id, or None and why: an id column first, then the
        name the LMS put in the download's file name; two candidate rows are no match."""
        if len(self._keyed) != len(self.rows):  # once per roster, not once per student
            self._keyed = [self._keys(row) for row in self.rows]
        keyed = self._keyed
        for level, key in ((0, _key(student)), (1, _name_key(student))):
            hits = [row for row, keys in zip(self.rows, keyed, strict=True) if key in keys[level]]
            if len(hits) == 1:
                return hits[0], ""
            if len(hits) > 1:
                return None, f"matches {len(hits)} roster rows"
        return None, "not in the roster"


def read_roster(path: Path) -> Roster:
    """An LMS roster CSV: Canvas's gradebook export, Moodle's grade or participant export, or
    any CSV with an id, login, email or name column. Canvas's ``Points Possible`` row and
    rows without any identifying value are dropped."""
    path = Path(path)
    if not path.is_file():
        raise LmsError(f"{path}: no such roster file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel and Canvas write a BOM
        try:  # Moodle lets the exporter pick ; or tab; Excel in some locales writes ;
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        headers = [h for h in (reader.fieldnames or []) if h is not None]
        rows = [{k: (v or "") for k, v in r.items() if isinstance(k, str)} for r in reader]
    except (UnicodeDecodeError, csv.Error) as err:
        raise LmsError(f"{path}: not a readable CSV roster ({type(err).__name__})") from None
    lower = {h.strip().lower() for h in headers}
    if not lower & {*ID_HEADERS, *NAME_HEADERS, "first name", "last name"}:
        raise LmsError(f"{path}: no student column (ID, SIS Login ID, Username, Email address, "
                       f"Student ...) in the roster header: {', '.join(headers)[:200]}")
    roster = Roster(headers, [], str(path))
    for row in rows:
        first = (row.get(headers[0]) or "").strip() if headers else ""
        if first.lower() in (POINTS_POSSIBLE.lower(), "muted"):
            continue  # Canvas export's rows under the header, not students
        if any(roster._keys(row)):
            roster.rows.append(row)
    return roster


def canvas_column(assignment: str, roster: Roster | None) -> str:
    """The roster's Canvas column for this assignment (``01 Optimization (4521)``), matched by
    name without the id; else the assignment's name (Canvas makes it a new assignment)."""
    if roster is not None:
        want = _name_key(assignment)
        hits = [h for h in roster.headers
                if CANVAS_ID.search(h) and _name_key(CANVAS_ID.sub("", h)) == want]
        if len(hits) == 1:
            return hits[0]
    return assignment


# --- the CSV files --------------------------------------------------------------------------
def _held(grade: Grade, hold_flagged: bool, hold_manual: bool) -> str:
    if grade.status == "error":  # the grader crashed: the 0 in the gradebook is not a grade
        return "grading failed: run grade again"
    if hold_flagged and grade.flags:
        return f"{grade.flags} integrity flag(s): see the class report"
    if hold_manual and grade.needs_manual:
        return "manual answers not graded yet"
    return ""


def export_csv(root: Path, assignment: str, lms: str, out: Path, roster: Path | None = None,
               column: str | None = None, id_field: str | None = None,
               hold_flagged: bool = False, hold_manual: bool = False) -> Export:
    """Write ``out``: the gradebook's grades for ``assignment`` as ``lms``'s import CSV.

    With a ``roster`` each student is written with the LMS's own ids; a student it lacks is
    left out and listed in ``unmatched``. A held grade is left out too, and listed in ``held``:
    a missing row changes nothing in either LMS, whereas a blank cell clears the grade in
    Moodle (and a row Moodle cannot map aborts its whole import)."""
    if lms not in LMS:
        raise LmsError(f"unknown LMS {lms!r}; known: {', '.join(LMS)}")
    if id_field is not None and id_field not in MOODLE_FIELDS:
        raise LmsError(f"unknown --id-field {id_field!r}; known: {', '.join(MOODLE_FIELDS)}")
    if id_field is not None and lms != "moodle":
        raise LmsError("--id-field is for Moodle; Canvas rows carry all of Canvas's ids")
    if column is not None and not column.strip():
        raise LmsError("--column must not be empty")
    grades = load_grades(root, assignment)
    table = read_roster(roster) if roster is not None else None
    out = Path(out)
    if not out.parent.is_dir():
        raise LmsError(f"{out.parent}: no such folder for --out")
    if lms == "canvas":
        header, rows, result = _canvas(assignment, grades, table, column, hold_flagged,
                                       hold_manual, out)
    else:
        header, rows, result = _moodle(assignment, grades, table, column, id_field,
                                       hold_flagged, hold_manual, out)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    pending = [g.student for g in grades if g.needs_manual and not _held(g, False, hold_manual)]
    if pending:
        result.notes.append(f"{len(pending)} grade(s) lack manual points not graded yet: "
                            f"{', '.join(pending[:10])}{' ...' if len(pending) > 10 else ''}")
    ungraded = [f"{g.student} ({g.status})" for g in grades if g.status in ("missing", "corrupt")]
    if ungraded:
        result.notes.append(f"{len(ungraded)} submission(s) could not be graded and score 0: "
                            f"{', '.join(ungraded[:10])}")
    flagged = [g.student for g in grades if g.flags and not hold_flagged]
    if flagged:
        result.notes.append(f"{len(flagged)} flagged submission(s) keep their score "
                            f"(--hold-flagged leaves them out): {', '.join(flagged[:10])}")
    return result


def _canvas(assignment: str, grades: list[Grade], roster: Roster | None, column: str | None,
            hold_flagged: bool, hold_manual: bool, out: Path
            ) -> tuple[list[str], list[list[str]], Export]:
    name = column or canvas_column(assignment, roster)
    if name in CANVAS_FIXED:
        raise LmsError(f"--column {name!r} is one of Canvas's student columns")
    max_score = grades[0].max_score if grades else 0.0
    rows = [[POINTS_POSSIBLE, "", "", "", "", number(max_score)]]
    result = Export(out, 0, name)
    if roster is None:
        result.notes.append("no --roster: rows carry the pipeline's student id as SIS Login ID "
                            "and no Canvas ID; Canvas matches them only if those ids are its "
                            "SIS logins")
    if not CANVAS_ID.search(name):
        result.notes.append(f"column {name!r} has no Canvas assignment id: Canvas will create a "
                            "new assignment (pass --column 'Name (id)' to fill an existing one)")
    taken: dict[int, str] = {}
    for grade in grades:
        held = _held(grade, hold_flagged, hold_manual)
        if roster is None:
            display = ", ".join(p for p in (grade.last_name, grade.first_name) if p)
            fixed = [display or grade.student, "", "", grade.student, ""]
        else:
            row, why = roster.match(grade.student)
            if row is None or id(row) in taken:
                why = why or f"same roster row as {taken.get(id(row))}"
                result.unmatched.append((grade.student, why))
                continue
            taken[id(row)] = grade.student
            fixed = [row.get(roster.column(h.lower()) or "", "") for h in CANVAS_FIXED]
        if held:
            result.held.append((grade.student, held))
            continue
        rows.append([*fixed, number(grade.score)])
        result.rows += 1
    return [*CANVAS_FIXED, name], rows, result


def _moodle(assignment: str, grades: list[Grade], roster: Roster | None, column: str | None,
            id_field: str | None, hold_flagged: bool, hold_manual: bool, out: Path
            ) -> tuple[list[str], list[list[str]], Export]:
    # a roster from Moodle always has the email address; without one the pipeline's id is all
    # there is, and it is the username when students submitted under it
    field_name = id_field or ("email" if roster is not None else "username")
    ident = MOODLE_FIELDS[field_name]
    name = column or assignment
    if name == ident:
        raise LmsError(f"--column {name!r} is the identifier column")
    result = Export(out, 0, name)
    source = None
    if roster is not None:
        source = roster.column(*ALIASES[field_name])
        if source is None:
            raise LmsError(f"{roster.path}: no {ident} column in the roster for --id-field "
                           f"{field_name} (headers: {', '.join(roster.headers)[:200]})")
    taken: dict[int, str] = {}
    rows = []
    for grade in grades:
        held = _held(grade, hold_flagged, hold_manual)
        if roster is None:
            value = grade.email if field_name == "email" else grade.student
            why = "" if value else "no email address in the gradebook"
        else:
            row, why = roster.match(grade.student)
            if row is not None and id(row) in taken:
                row, why = None, f"same roster row as {taken[id(row)]}"
            value = (row or {}).get(source or "", "").strip()
            if row is not None and not value:
                why = f"empty {ident} in the roster"
            if row is not None and value:
                taken[id(row)] = grade.student
        if not value:
            result.unmatched.append((grade.student, why))
            continue
        if held:
            result.held.append((grade.student, held))
            continue
        rows.append([value, number(grade.score)])
        result.rows += 1
    result.notes.append(f"in Moodle's import dialog map {ident!r} to the user's {ident.lower()} "
                        f"and {name!r} to the grade item")
    return [ident, name], rows, result

"""Find the submissions to grade: nbgrader's ``STUDENT/ASSIGNMENT/`` folders and LMS-style zip
files (``STUDENT.zip`` or Canvas-like ``STUDENT_123_456_anything.zip``), one record each."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 64 * 2**20  # a bigger "notebook" is a zip bomb or not a notebook
_SAFE = re.compile(r"[^\w.@-]+")  # \w keeps non-ASCII letters: Émile stays Émile


@dataclass
class Submission:
    """One student's submission: the notebook's bytes, or why there are none."""

    student: str
    notebook: bytes | None
    problem: str = ""
    origin: str = ""


class CollectError(ValueError):
    """The submissions folder itself is unusable (missing, not a folder)."""


def student_id(raw: str) -> str:
    """A filesystem- and gradebook-safe student id."""
    cleaned = _SAFE.sub("-", raw).strip("-.")
    return cleaned or "unknown"


def _from_folder(folder: Path, assignment: str) -> Submission:
    student = student_id(folder.name)
    path = folder / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        return Submission(student, None, f"no {assignment}/{assignment}.ipynb submitted",
                          str(folder))
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return Submission(student, None, "notebook larger than 64 MiB", str(path))
    return Submission(student, path.read_bytes(), "", str(path))


def _zip_student(path: Path, assignment: str) -> str:
    stem = path.stem
    for suffix in (f"_{assignment}", f"-{assignment}"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return student_id(stem.split("_", 1)[0])


def _from_zip(path: Path, assignment: str) -> Submission:
    student = _zip_student(path, assignment)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".ipynb")
                       and "__MACOSX" not in m.filename and not m.is_dir()]
            wanted = [m for m in members if Path(m.filename).name == f"{assignment}.ipynb"]
            chosen = wanted or (members if len(members) == 1 else [])
            if not chosen:
                found = ", ".join(m.filename for m in members) or "no notebooks"
                return Submission(student, None, f"zip has no {assignment}.ipynb ({found})",
                                  str(path))
            member = chosen[0]
            if member.file_size > MAX_NOTEBOOK_BYTES:
                return Submission(student, None, "notebook larger than 64 MiB", str(path))
            return Submission(student, archive.read(member), "", f"{path}:{member.filename}")
    except Exception as err:  # noqa: BLE001 - bad CRCs, passwords, exotic codecs: all unreadable
        return Submission(student, None, f"unreadable zip file ({type(err).__name__}: {err})",
                          str(path))


def _unique(student: str, taken: dict[str, Submission]) -> str:
    """``student``, or ``student-2``, ``student-3`` ... when that id is already taken."""
    candidate, n = student, 1
    while candidate in taken:
        n += 1
        candidate = f"{student}-{n}"
    return candidate


def find_submissions(folder: Path, assignment: str) -> list[Submission]:
    """Every submission under ``folder`` for ``assignment``, sorted by student id.

    Folders come first; a second submission under the same id (a zip beside a folder, two
    Canvas zips, ``jo smith`` and ``jo-smith``) is kept as ``ID-2`` so nothing is dropped
    silently and the instructor sees both in the report.
    """
    if not folder.is_dir():
        raise CollectError(f"{folder}: no such submissions folder")
    entries = [e for e in sorted(folder.iterdir()) if not e.name.startswith(".")]
    found: dict[str, Submission] = {}
    for entry in entries:
        if entry.is_dir():
            submission = _from_folder(entry, assignment)
            submission.student = _unique(submission.student, found)
            found[submission.student] = submission
    for entry in entries:
        if entry.is_file() and entry.suffix.lower() == ".zip":
            submission = _from_zip(entry, assignment)
            submission.student = _unique(submission.student, found)
            found[submission.student] = submission
    return [found[k] for k in sorted(found)]

"""Does collecting submissions find exactly one record per student, from nbgrader folders and
LMS zip files, with the notebook's bytes or a problem that says what is wrong, without ever
letting one bad file stop the batch?"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder.collect import (
    MAX_NOTEBOOK_BYTES,
    CollectError,
    Submission,
    find_submissions,
    student_id,
)

HW = "hw1"


def notebook_bytes(tag: str) -> bytes:
    """A small valid notebook whose content names ``tag``, so tests can tell copies apart."""
    cell = new_markdown_cell(f"# {tag}", id="title")  # fixed id: equal tags, equal bytes
    return nbformat.writes(new_notebook(cells=[cell])).encode()


def add_folder(root: Path, student: str, data: bytes | None) -> Path:
    """nbgrader's ``STUDENT/ASSIGNMENT/ASSIGNMENT.ipynb``; ``data=None`` leaves it out."""
    folder = root / student / HW
    folder.mkdir(parents=True)
    if data is not None:
        (folder / f"{HW}.ipynb").write_bytes(data)
    return folder / f"{HW}.ipynb"


def add_zip(root: Path, name: str, members: dict[str, bytes]) -> Path:
    path = root / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def by_student(submissions: list[Submission]) -> dict[str, Submission]:
    ids = [s.student for s in submissions]
    assert len(ids) == len(set(ids)), f"a student appears twice: {ids}"
    return {s.student: s for s in submissions}


@pytest.fixture
def subs(tmp_path: Path) -> Path:
    root = tmp_path / "submitted"
    root.mkdir()
    return root


# --- nbgrader folders ----------------------------------------------------------------------------

def test_nbgrader_folders_give_the_notebook_or_a_problem_naming_it(subs: Path) -> None:
    """Does a student folder give the notebook's exact bytes, and one without the notebook give
    ``None`` with a problem naming the missing file?"""
    alice = add_folder(subs, "alice", notebook_bytes("alice"))
    add_folder(subs, "bob", None)
    (subs / "bob" / HW / "scratch.ipynb").write_bytes(notebook_bytes("wrong name"))
    found = by_student(find_submissions(subs, HW))
    assert set(found) == {"alice", "bob"}
    assert found["alice"] == Submission("alice", notebook_bytes("alice"), "", str(alice))
    assert found["bob"].notebook is None
    assert f"{HW}/{HW}.ipynb" in found["bob"].problem


def test_oversized_notebook_in_a_folder_is_refused(subs: Path) -> None:
    """Is a notebook file over 64 MiB refused (not read), and one of exactly 64 MiB kept?"""
    big = add_folder(subs, "bigsby", b"")
    with big.open("r+b") as handle:
        handle.truncate(MAX_NOTEBOOK_BYTES + 1)  # sparse: costs no disk
    edge = add_folder(subs, "edgar", b"")
    with edge.open("r+b") as handle:
        handle.truncate(MAX_NOTEBOOK_BYTES)
    found = by_student(find_submissions(subs, HW))
    assert found["bigsby"].notebook is None
    assert "larger than 64 MiB" in found["bigsby"].problem
    assert len(found["edgar"].notebook) == MAX_NOTEBOOK_BYTES and found["edgar"].problem == ""


# --- zip files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("members, chosen", [
    ({f"{HW}.ipynb": b"top"}, f"{HW}.ipynb"),
    ({f"Alice Smith - {HW}/{HW}/{HW}.ipynb": b"nested", "notes.txt": b"hi"},
     f"Alice Smith - {HW}/{HW}/{HW}.ipynb"),
    ({f"__MACOSX/._{HW}.ipynb": b"junk", f"__MACOSX/{HW}/._{HW}.ipynb": b"junk",
      f"{HW}/{HW}.ipynb": b"real"}, f"{HW}/{HW}.ipynb"),
    ({"my homework (1).ipynb": b"renamed", "__MACOSX/._my homework (1).ipynb": b"junk",
      "figures/": b""}, "my homework (1).ipynb"),
    ({"draft.ipynb": b"draft", f"{HW}.ipynb": b"final"}, f"{HW}.ipynb"),
], ids=["top-level", "nested-folder", "macosx-junk", "only-other-notebook", "named-wins"])
def test_zip_yields_the_assignment_notebook(subs: Path, members: dict[str, bytes],
                                            chosen: str) -> None:
    """Is the assignment's notebook taken from the zip wherever it sits, ``__MACOSX`` junk
    ignored, and a single differently named notebook accepted in its place?"""
    path = add_zip(subs, "alice.zip", members)
    [sub] = find_submissions(subs, HW)
    assert sub == Submission("alice", members[chosen], "", f"{path}:{chosen}")


@pytest.mark.parametrize("members, problem", [
    ({"a.ipynb": b"1", "b/b.ipynb": b"2"}, f"zip has no {HW}.ipynb (a.ipynb, b/b.ipynb)"),
    ({"README.txt": b"sorry", f"__MACOSX/._{HW}.ipynb": b"junk"},
     f"zip has no {HW}.ipynb (no notebooks)"),
    ({}, f"zip has no {HW}.ipynb (no notebooks)"),
], ids=["two-other-notebooks", "no-notebooks", "empty"])
def test_zip_without_a_clear_notebook_is_a_problem(subs: Path, members: dict[str, bytes],
                                                   problem: str) -> None:
    """Does a zip with no notebook, or several none of which is the assignment's, give no
    notebook and a problem listing what it found?"""
    path = add_zip(subs, "carol.zip", members)
    assert find_submissions(subs, HW) == [Submission("carol", None, problem, str(path))]


def test_corrupt_zip_is_a_problem_not_a_crash(subs: Path) -> None:
    """Does a file that is not a zip give that student a problem while the others are still
    collected?"""
    (subs / "dave.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    add_zip(subs, "erin.zip", {f"{HW}.ipynb": b"fine"})
    found = by_student(find_submissions(subs, HW))
    assert found["dave"].notebook is None
    assert found["dave"].problem.startswith("unreadable zip file")
    assert found["erin"].notebook == b"fine"


def test_zip_member_over_64_mib_is_refused_unread(subs: Path) -> None:
    """Is a member that inflates past 64 MiB (a zip bomb) refused, judging by its size alone?"""
    path = subs / "mallory.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(f"{HW}.ipynb", "w") as member:
            block = bytes(2**20)
            for _ in range(64):
                member.write(block)
            member.write(b"\0")
    assert path.stat().st_size < 2**20, "the test archive itself should stay small"
    assert find_submissions(subs, HW) == [
        Submission("mallory", None, "notebook larger than 64 MiB", str(path))]


def corrupt_member_data(members: bytes) -> bytes:
    """Flip bytes inside the deflated data of the first member (headers intact)."""
    raw = bytearray(members)
    start = raw.index(f"{HW}.ipynb".encode()) + len(f"{HW}.ipynb") + 2
    for k in range(start, start + 16):
        raw[k] ^= 0xFF
    return bytes(raw)


def set_header_field(members: bytes, local: int, central: int, value: int, bits: bool) -> bytes:
    """Write a 2-byte field into the local and central headers (``bits``: OR it in)."""
    raw = bytearray(members)
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = raw.index(signature) + offset
        old = int.from_bytes(raw[at:at + 2], "little")
        raw[at:at + 2] = ((old | value) if bits else value).to_bytes(2, "little")
    return bytes(raw)


@pytest.mark.parametrize("damage", [
    corrupt_member_data,
    lambda raw: set_header_field(raw, 6, 8, 0x1, bits=True),  # general flag bit 0: encrypted
    lambda raw: set_header_field(raw, 8, 10, 9, bits=False),  # method 9: deflate64
], ids=["corrupt-deflate-data", "encrypted", "unsupported-method"])
def test_unreadable_zip_member_is_a_problem_not_a_crash(subs: Path, damage) -> None:
    """Does a zip whose notebook cannot be extracted (damaged data, a password, an unsupported
    compression method) give that student a problem while the others are still collected?"""
    path = add_zip(subs, "frank.zip", {f"{HW}.ipynb": notebook_bytes("frank")})
    path.write_bytes(damage(path.read_bytes()))
    add_zip(subs, "grace.zip", {f"{HW}.ipynb": b"fine"})
    found = by_student(find_submissions(subs, HW))
    assert found["frank"].notebook is None and found["frank"].problem
    assert found["grace"].notebook == b"fine"


# --- student ids ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, student", [
    ("alice.zip", "alice"),
    (f"alice_{HW}.zip", "alice"),
    (f"alice-{HW}.zip", "alice"),
    ("alice_123_456_hw1.zip", "alice"),
    ("alice_98765_4321_submission-2.zip", "alice"),
    ("alicesmith_late_123_456_x.zip", "alicesmith"),
    ("Mary Jane_123_456_x.zip", "Mary-Jane"),
])
def test_zip_name_gives_the_student_id(subs: Path, name: str, student: str) -> None:
    """Is the student id the zip's name before the first underscore (Canvas-like names) or
    before the assignment suffix?"""
    add_zip(subs, name, {f"{HW}.ipynb": b"x"})
    assert [s.student for s in find_submissions(subs, HW)] == [student]


@pytest.mark.parametrize("raw, cleaned", [
    ("alice", "alice"),
    ("alice.smith@uni.edu", "alice.smith@uni.edu"),
    ("../evil", "evil"),
    ("../../etc/passwd", "etc-passwd"),
    ("Mary Jane", "Mary-Jane"),
    ("a\tb\nc", "a-b-c"),
    ("..", "unknown"),
    ("", "unknown"),
    ("   ", "unknown"),
    ("<script>", "script"),
])
def test_student_id_is_safe(raw: str, cleaned: str) -> None:
    """Is a student id stripped of path separators, leading dots and spaces, and never empty?"""
    assert student_id(raw) == cleaned
    assert re.fullmatch(r"[A-Za-z0-9@][A-Za-z0-9._@-]*", cleaned)


def test_unsafe_folder_names_are_sanitised(subs: Path) -> None:
    """Does a folder with spaces or leading dots-and-dashes become a safe id?"""
    add_folder(subs, "Mary Jane", b"mj")
    add_folder(subs, "-..-oscar", b"oscar")
    found = by_student(find_submissions(subs, HW))
    assert {k: v.notebook for k, v in found.items()} == {"Mary-Jane": b"mj", "oscar": b"oscar"}


# --- the whole folder ----------------------------------------------------------------------------

def test_folder_keeps_the_id_and_a_zip_of_the_same_student_is_kept_beside_it(subs: Path):
    """Does a student with both a folder and a zip keep the id for the folder version, with
    the zip graded as ``henry-2`` rather than dropped?"""
    folder = add_folder(subs, "henry", b"from the folder")
    add_zip(subs, "henry_123_456_hw1.zip", {f"{HW}.ipynb": b"from the zip"})
    henry, second = find_submissions(subs, HW)
    assert (henry.student, henry.notebook, henry.origin) == (
        "henry", b"from the folder", str(folder))
    assert (second.student, second.notebook) == ("henry-2", b"from the zip")


def test_hidden_folders_and_stray_files_are_not_students(subs: Path) -> None:
    """Are dot-folders (checkpoints, .git) and files that are neither folders nor zips
    ignored?"""
    add_folder(subs, ".ipynb_checkpoints", b"checkpoint")
    add_folder(subs, ".git", b"git")
    (subs / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (subs / "grades.csv").write_text("student,score\n")
    add_folder(subs, "ivy", b"ivy")
    assert [s.student for s in find_submissions(subs, HW)] == ["ivy"]


def test_hidden_zip_files_are_not_students(subs: Path) -> None:
    """Are hidden zips (macOS ``._`` AppleDouble files, a stray ``.alice.zip``) ignored, so that
    the student's real zip is the one collected?"""
    add_zip(subs, "alice.zip", {f"{HW}.ipynb": b"real"})
    add_zip(subs, ".alice.zip", {f"{HW}.ipynb": b"hidden copy"})
    (subs / "._bob.zip").write_bytes(b"\0\5\26\7AppleDouble junk")
    assert [(s.student, s.notebook) for s in find_submissions(subs, HW)] == [("alice", b"real")]


@pytest.mark.parametrize("make", [
    lambda root: (add_folder(root, "jo smith", b"1"), add_folder(root, "jo-smith", b"2")),
    lambda root: (add_zip(root, "kim_1_2_a.zip", {f"{HW}.ipynb": b"1"}),
                  add_zip(root, "kim_3_4_b.zip", {f"{HW}.ipynb": b"2"})),
    lambda root: (add_folder(root, "lee", b"1"), add_zip(root, "lee.zip", {f"{HW}.ipynb": b"2"})),
], ids=["folders-colliding-after-sanitising", "two-canvas-zips", "folder-and-zip"])
def test_a_second_submission_for_one_id_is_reported(subs: Path, make) -> None:
    """When two submissions map to one student id, is the one not graded still named in the
    results instead of vanishing?"""
    paths = make(subs)
    text = " ".join(f"{s.origin} {s.problem}" for s in find_submissions(subs, HW))
    assert all(str(path.relative_to(subs)).split("/")[0] in text for path in paths), text


def test_results_are_sorted_by_student(subs: Path) -> None:
    """Are folders and zips merged into one list sorted by student id?"""
    add_folder(subs, "zoe", b"z")
    add_zip(subs, "mike_1_2_x.zip", {f"{HW}.ipynb": b"m"})
    add_folder(subs, "alice", b"a")
    add_zip(subs, "bob.zip", {f"{HW}.ipynb": b"b"})
    found = find_submissions(subs, HW)
    assert [s.student for s in found] == ["alice", "bob", "mike", "zoe"]
    assert [s.notebook for s in found] == [b"a", b"b", b"m", b"z"]


def test_empty_folder_gives_no_submissions(subs: Path) -> None:
    """Does an empty submissions folder give an empty list, not an error?"""
    assert find_submissions(subs, HW) == []


def test_missing_submissions_folder_raises(tmp_path: Path) -> None:
    """Is a missing submissions folder, or a file in its place, a CollectError naming it?"""
    with pytest.raises(CollectError, match="no such submissions folder"):
        find_submissions(tmp_path / "nope", HW)
    (tmp_path / "file").write_text("x")
    with pytest.raises(CollectError, match="file"):
        find_submissions(tmp_path / "file", HW)


def test_student_ids_keep_non_ascii_letters() -> None:
    """Is a name like Émile kept (not shortened to 'mile', which could collide)?"""
    assert student_id("Émile Zola") == "Émile-Zola"

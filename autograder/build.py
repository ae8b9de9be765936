"""Build the student release (nbgrader generate_assignment) and the lecture walkthroughs from
``source/``; in check mode, report every generated file that is stale instead of writing."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nbformat import NotebookNode

from autograder.course import CONFIG, Assignment, Course, CourseError
from autograder.notebook import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    SOLUTION_BEGIN,
    SOLUTION_END,
    NotebookError,
    dumps,
    grade_id,
    is_test,
    normalise,
    read,
    strip_region,
)


class BuildError(CourseError):
    """The course cannot be built (an nbgrader step failed, a notebook is inconsistent)."""


def _select(course: Course, names: list[str] | None) -> list[str]:
    return [course.assignment(name).name for name in names] if names else course.assignments()


def nbgrader(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the nbgrader CLI of this interpreter in ``cwd`` (with its bin on PATH for alembic)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def prepare_workspace(root: Path, name: str, workspace: Path) -> Path:
    """Lay out a scratch nbgrader course at ``workspace``: the course config and assignment
    ``name``'s source folder, its notebook in normal form. Returns the workspace."""
    src_dir = Course(root).assignment(name).source_dir
    dest = Assignment(Course(workspace), name).source_dir
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Course(root).config_file, workspace / CONFIG)
    for extra in src_dir.iterdir():
        if extra.name.startswith(".") or extra.name == f"{name}.ipynb":
            continue
        if extra.is_dir():
            shutil.copytree(extra, dest / extra.name, dirs_exist_ok=True)
        else:
            shutil.copy2(extra, dest / extra.name)
    source = normalise(read(src_dir / f"{name}.ipynb"), name)
    (dest / f"{name}.ipynb").write_text(dumps(source))
    return workspace


def generate_release(workspace: Path, name: str) -> Path:
    """Run nbgrader generate_assignment for ``name`` in the course at ``workspace`` (its own
    gradebook there), returning the generated ``release/NAME`` folder."""
    course = Course(workspace)
    result = nbgrader(["generate_assignment", name, "--force", "--log-level=ERROR",
                       f"--CourseDirectory.root={workspace}",
                       f"--CourseDirectory.db_url={course.db_url}"], cwd=workspace)
    out = Assignment(course, name).release_dir
    if result.returncode != 0 or not out.is_dir():
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BuildError(f"nbgrader generate_assignment {name} failed:\n  " + "\n  ".join(tail))
    return out


def slide_type(cell: NotebookNode) -> str:
    """RISE slide type: headings open slides, tests are skipped in the talk, the rest follows."""
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().split("\n", 1)[0]
        if first.startswith(("# ", "## ")):
            return "slide"
        if first.startswith("### "):
            return "subslide"
        return "-"
    return "skip" if is_test(cell) else "-"


def walkthrough(source: NotebookNode, name: str) -> NotebookNode:
    """The lecturer's notebook: complete solutions, no hidden tests, no nbgrader metadata,
    slide metadata on every cell, and a banner saying where it comes from."""
    nb = NotebookNode(source.copy())
    nb.cells = []
    banner = NotebookNode(cell_type="markdown", id=f"{name}-generated", source=(
        f"*Lecture walkthrough generated from `source/{name}/{name}.ipynb` by "
        "`python -m autograder build`; do not edit. Present it with RISE "
        "(View \u2192 Render as slides) or run it top to bottom.*"),
        metadata={"slideshow": {"slide_type": "skip"}})
    nb.cells.append(banner)
    for original in source.cells:
        cell = NotebookNode(original.copy())
        cell.metadata = NotebookNode(dict(original.metadata))
        cell.source = strip_region(cell.source, HIDDEN_BEGIN, HIDDEN_END, keep_inside=False)
        cell.source = strip_region(cell.source, SOLUTION_BEGIN, SOLUTION_END, keep_inside=True)
        kind = slide_type(original)
        cell.metadata.pop("nbgrader", None)
        cell.metadata.setdefault("slideshow", {"slide_type": kind})
        nb.cells.append(cell)
    nb.metadata["rise"] = {"scroll": True, "transition": "none", "enable_chalkboard": False}
    return nb


def _expected_files(root: Path, names: list[str], scratch: Path) -> dict[Path, Path | str]:
    """Map each generated path (relative to root) to its new content (a file or a string)."""
    files: dict[Path, Path | str] = {}
    course = Course(root)
    for name in names:
        paths = course.assignment(name)
        source = normalise(read(paths.source), name)
        _check_grade_ids(source, paths.source)
        files[paths.source.relative_to(root)] = dumps(source)
        files[paths.walkthrough.relative_to(root)] = dumps(walkthrough(source, name))
        release = generate_release(prepare_workspace(root, name, scratch / name), name)
        for path in sorted(release.rglob("*")):
            if path.is_file():
                files[paths.release_dir.relative_to(root) / path.relative_to(release)] = path
    return files


def _check_grade_ids(nb: NotebookNode, path: Path) -> None:
    seen: set[str] = set()
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is None:
            continue
        if gid in seen:
            raise BuildError(f"{path}: grade id {gid!r} is used twice")
        seen.add(gid)


def _same(target: Path, content: Path | str) -> bool:
    if not target.is_file():
        return False
    if isinstance(content, Path):
        return filecmp.cmp(target, content, shallow=False)
    return target.read_text() == content


def build(root: Path, names: list[str] | None = None, check: bool = False) -> list[str]:
    """Regenerate (or, with ``check``, compare) source normal form, release/ and notebooks/.

    Returns the relative paths that were stale; in check mode nothing is written.
    """
    course = Course(root)
    selected = _select(course, names)
    if not selected:
        raise BuildError(f"{root / 'source'}: no assignments (want source/NN_slug/NN_slug.ipynb)")
    try:
        with tempfile.TemporaryDirectory(prefix="cvcourse-build-") as tmp:
            files = _expected_files(root, selected, Path(tmp))
            stale = [str(rel) for rel, content in files.items() if not _same(root / rel, content)]
            for name in selected:
                extra = [p for p in Assignment(course, name).release_dir.rglob("*") if p.is_file()
                         and p.relative_to(root) not in files]
                stale += [str(p.relative_to(root)) + " (not generated by the build)" for p in extra]
            if not check:
                for rel, content in files.items():
                    target = root / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if isinstance(content, Path):
                        shutil.copyfile(content, target)
                    else:
                        target.write_text(content)
                for name in selected:
                    for p in Assignment(course, name).release_dir.rglob("*"):
                        if p.is_file() and p.relative_to(root) not in files:
                            p.unlink()
    except NotebookError as err:
        raise BuildError(str(err)) from None
    return stale

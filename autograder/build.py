"""Build the student release (nbgrader generate_assignment) and the lecture walkthroughs from
``source/``; in check mode, report every generated file that is stale instead of writing."""

from __future__ import annotations

import filecmp
import os
import re
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


# How a walkthrough is cut for presenting (RISE in JupyterLab, or `make slides`)
LINES_PER_SLIDE = 14  # markdown longer than this continues on a sub-slide, at a paragraph
FOLD_LINES = 20  # solutions longer than this are folded (collapsed in JupyterLab, capped in decks)
GRADING_NOTE = re.compile(r"^\*\*What the tests? checks?\b", re.IGNORECASE)
POINTS = re.compile(r",? ?\(?\bmanually graded, \d+(?:\.\d+)? points?\)?", re.IGNORECASE)
HIDE_INPUT, FOLD = "hide-input", "fold"  # cell tags autograder.deck renders


def slide_type(cell: NotebookNode) -> str:
    """RISE slide type: headings open slides, tests and the setup are skipped in the talk, a
    figure gets a sub-slide of its own, the rest follows."""
    if cell.cell_type == "markdown":
        first = cell.source.lstrip().split("\n", 1)[0]
        if first.startswith(("# ", "## ")):
            return "slide"
        if first.startswith("### "):
            return "subslide"
        return "-"
    if is_test(cell) or grade_id(cell) == "setup":
        return "skip"
    return "subslide" if draws_figure(cell) else "-"


def draws_figure(cell: NotebookNode) -> bool:
    """A code cell whose point is its figure (the course draws through ``plot.show``)."""
    return cell.cell_type == "code" and "show(" in cell.source


def _blocks(markdown: str) -> list[str]:
    """Paragraphs of ``markdown``, never cutting a fenced code or a ``$$`` maths block."""
    blocks, current, fenced = [], [], None
    for line in markdown.splitlines():
        mark = line.strip()
        if fenced is None and not mark and current:
            blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
        for fence in ("```", "$$"):
            if mark.startswith(fence) and fenced in (None, fence):
                opened_and_closed = fence == "$$" and mark.count("$$") >= 2
                if not opened_and_closed:
                    fenced = None if fenced == fence else fence
    if current:
        blocks.append("\n".join(current))
    return [b for b in blocks if b.strip()]


def _present_markdown(cell: NotebookNode) -> list[NotebookNode]:
    """One markdown cell as slides: grading notes and point counts dropped, a long cell cut at
    paragraphs into sub-slides of at most about LINES_PER_SLIDE lines, a heading opening one."""
    kind = cell.metadata["slideshow"]["slide_type"]
    chunks: list[list[str]] = []
    for block in _blocks(POINTS.sub("", cell.source)):
        if GRADING_NOTE.match(block.lstrip()):
            continue
        lines = len(block.splitlines())
        if chunks and not block.lstrip().startswith("#") and (  # + the blank line between
                len("\n\n".join(chunks[-1]).splitlines()) + 1 + lines <= LINES_PER_SLIDE):
            chunks[-1].append(block)
        else:
            chunks.append([block])
    cells = []
    for i, chunk in enumerate(chunks):
        part = NotebookNode(cell.copy())
        part.metadata = NotebookNode({**cell.metadata, "slideshow": {
            "slide_type": kind if i == 0 else
            ("slide" if chunk[0].lstrip().startswith(("# ", "## ")) else "subslide")}})
        part.source = "\n\n".join(chunk)
        if i:
            part.id = f"{cell.get('id', 'cell')}-{i}"
        cells.append(part)
    return cells


def _present_code(cell: NotebookNode, solution: bool) -> NotebookNode:
    """Figure code hidden (its figure shows), long solutions folded; tags for the decks,
    ``jupyter.source_hidden`` for JupyterLab and RISE."""
    tags = list(cell.metadata.get("tags", []))
    if draws_figure(cell) and not solution:
        tags.append(HIDE_INPUT)
    elif solution and len(cell.source.splitlines()) > FOLD_LINES:
        tags.append(FOLD)
    if tags:
        cell.metadata["tags"] = tags
        cell.metadata["jupyter"] = {**cell.metadata.get("jupyter", {}), "source_hidden": True}
    return cell


def walkthrough(source: NotebookNode, name: str) -> NotebookNode:
    """The lecturer's notebook: complete solutions, no hidden tests, no nbgrader metadata, cut
    for presenting (see :func:`slide_type`, :func:`_present_markdown`, :func:`_present_code`),
    and a banner saying where it comes from."""
    nb = NotebookNode(source.copy())
    nb.cells = []
    banner = NotebookNode(cell_type="markdown", id=f"{name}-generated", source=(
        f"*Lecture walkthrough generated from `source/{name}/{name}.ipynb` by "
        "`python -m autograder build`; do not edit. Present it with RISE "
        "(View \u2192 Render as slides), as an offline deck (`make slides`), or run it top "
        "to bottom.*"),
        metadata={"slideshow": {"slide_type": "skip"}})
    nb.cells.append(banner)
    for original in source.cells:
        cell = NotebookNode(original.copy())
        cell.metadata = NotebookNode(dict(original.metadata))
        cell.source = strip_region(cell.source, HIDDEN_BEGIN, HIDDEN_END, keep_inside=False)
        cell.source = strip_region(cell.source, SOLUTION_BEGIN, SOLUTION_END, keep_inside=True)
        kind = slide_type(original)
        solution = bool(original.metadata.get("nbgrader", {}).get("solution"))
        cell.metadata.pop("nbgrader", None)
        cell.metadata.setdefault("slideshow", {"slide_type": kind})
        if cell.cell_type == "markdown":
            nb.cells.extend(_present_markdown(cell))
        else:
            nb.cells.append(_present_code(cell, solution) if kind != "skip" else cell)
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

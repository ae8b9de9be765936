"""``python -m autograder bench``: grade the same K model submissions with plain sequential
``nbgrader autograde`` and with the pipeline at 1 and N workers; print a table (the wall time
of the batch, and for the pipeline the median time of one submission's graded run)."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from autograder.build import BuildError, generate_release, nbgrader, prepare_workspace
from autograder.course import Course
from autograder.execute import Limits
from autograder.grade import GradeOptions, grade, sync_gradebook
from autograder.notebook import read
from autograder.submission import fill, model_answers, submit


def _course(root: Path, assignment: str, folder: Path, k: int) -> Path:
    course = prepare_workspace(root, assignment, folder)
    release = read(generate_release(course, assignment) / f"{assignment}.ipynb")
    answers = model_answers(read(Course(course).assignment(assignment).source))
    for i in range(k):
        submit(course, f"student-{i:03d}", assignment, fill(release, answers))
    return course


def bench(root: Path, assignment: str, k: int, workers: int) -> str:
    """Return the timing table (wall seconds; the pipeline's grading phase, without export)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="cvcourse-bench-") as tmp:
        course = _course(root, assignment, Path(tmp) / "nbgrader", k)
        start = time.perf_counter()
        result = nbgrader(["autograde", assignment, "--force", "--log-level=ERROR"], cwd=course)
        if result.returncode != 0:
            raise BuildError(f"nbgrader autograde failed: {result.stderr.strip()[-300:]}")
        rows.append(("nbgrader autograde (sequential)", 1, time.perf_counter() - start, None))
        for n in sorted({1, workers}):
            piped = _course(root, assignment, Path(tmp) / f"pipeline-{n}", k)
            # record the assignment in the gradebook, as nbgrader's generate_assignment does
            sync_gradebook(Course(piped).assignment(assignment))
            options = GradeOptions(workers=n, force=True, quiet=True, limits=Limits())
            summary = grade(piped, assignment, piped / "submitted", options)
            one = statistics.median(r.runtime_s for r in summary["results"])
            rows.append((f"autograder grade, {n} worker(s)", n, summary["grading_s"], one))
    base = rows[0][2]
    lines = [f"{k} submissions of {assignment}, {os.cpu_count()} CPU cores",
             f"{'method':<34} {'workers':>7} {'wall s':>8} {'s/submission':>13} {'speed-up':>9}"
             f" {'one run s':>10}"]
    for label, n, wall, one in rows:
        lines.append(f"{label:<34} {n:>7} {wall:>8.1f} {wall / k:>13.2f} {base / wall:>8.2f}x"
                     f" {'-' if one is None else f'{one:.1f}':>10}")
    return "\n".join(lines)

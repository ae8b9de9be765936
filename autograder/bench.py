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
from autograder.sample import tiny_course
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


def _threads(scheduler: str) -> int:
    from dask.distributed import Client

    with Client(scheduler, timeout="30s") as client:
        return sum(client.nthreads().values())


def bench_class(config: Path, n: int, workers: int, scheduler: str | None = None,
                sandbox: bool = True) -> str:
    """Grade a simulated class of ``n`` one-exercise submissions (`sample.tiny_course`) on a
    LocalCluster of ``workers`` or an existing ``scheduler``; return a table: throughput, the
    median graded run, the overhead per task around it (wall x slots - the graded runs, / n:
    Dask, transfers and the writer), the writer's time per result and its memory growth."""
    import psutil

    process = psutil.Process()
    marks: list[tuple[int, int]] = []  # (results recorded, writer RSS bytes)
    write_s: list[float] = []

    def on_recorded(_result, seconds: float) -> None:
        write_s.append(seconds)
        if len(write_s) in {max(1, n // 2), n}:  # from half way: warm caches, steady state
            marks.append((len(write_s), process.memory_info().rss))

    with tempfile.TemporaryDirectory(prefix="cvcourse-class-") as tmp:
        course = _course(tiny_course(Path(tmp) / "tiny", config), "00_tiny",
                         Path(tmp) / "course", n)
        sync_gradebook(Course(course).assignment("00_tiny"))
        options = GradeOptions(workers=workers, force=True, quiet=False, limits=Limits(),
                               scheduler=scheduler, sandbox=sandbox)
        summary = grade(course, "00_tiny", course / "submitted", options, on_recorded)
    results = summary["results"]
    graded = sum(r.graded and r.points == sum(t.max for t in r.tests.values()) for r in results)
    wall = summary["grading_s"]
    slots = workers if scheduler is None else _threads(scheduler)
    runs = [r.runtime_s for r in results]
    overhead = (wall * slots - sum(runs)) / max(1, len(runs))
    (first, rss_first), (last_n, rss_last) = marks[0], marks[-1]
    growth = (rss_last - rss_first) / max(1, last_n - first)
    where = scheduler or f"LocalCluster, {workers} workers"
    rows = [("submissions graded (full marks)", f"{len(results)} ({graded})"),
            ("grading wall s (export not included)", f"{wall:.1f}"),
            ("export s (nbgrader feedback + CSV, report)", f"{summary['wall_s'] - wall:.1f}"),
            ("throughput, submissions/s", f"{len(results) / wall:.2f}"),
            ("median graded run s", f"{statistics.median(runs):.2f}"),
            ("overhead per task s (Dask, transfer, writer)", f"{overhead:.2f}"),
            ("writer s per result (median)", f"{statistics.median(write_s):.3f}"),
            (f"writer RSS MiB at {first} / {last_n} results",
             f"{rss_first / 2**20:.0f} / {rss_last / 2**20:.0f}"),
            ("writer RSS growth KiB per result", f"{growth / 1024:.1f}")]
    width = max(len(label) for label, _ in rows)
    return "\n".join([f"simulated class of {n} on {where}, {os.cpu_count()} CPU cores",
                      *(f"{label:<{width}}  {value}" for label, value in rows)])

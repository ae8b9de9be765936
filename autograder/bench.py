"""``python -m autograder bench``: per notebook, the interactive run (a student's Run All), plain
sequential ``nbgrader autograde`` and the pipeline at 1 and N workers, on the same K model
submissions, as one table; and ``bench-class``, a simulated class through Dask."""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient

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


@dataclass
class BenchRow:
    """One notebook's figures, seconds: ``per_sub[method]`` is wall time / submissions."""

    assignment: str
    k: int
    interactive_s: float
    per_sub: dict[str, float]
    one_run_s: float  # median graded run of one submission inside a pipeline task, 1 worker


def interactive_run(course: Path, assignment: str) -> float:
    """Seconds of a student's Run All on the model answers: kernel start to last cell, figures
    drawn, no grading mode."""
    nb = read(Course(course).assignment(assignment).submitted("student-000"))
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="cvcourse", timeout=600, allow_errors=False,
                   resources={"metadata": {"path": str(course)}}).execute(env=env)
    return time.perf_counter() - start


def bench_notebook(root: Path, assignment: str, k: int, workers: int, folder: Path) -> BenchRow:
    """Time the three ways to run ``assignment`` on ``k`` model submissions (see module doc)."""
    course = _course(root, assignment, folder / "nbgrader", k)
    interactive = interactive_run(course, assignment)
    start = time.perf_counter()
    result = nbgrader(["autograde", assignment, "--force", "--log-level=ERROR"], cwd=course)
    if result.returncode != 0:
        raise BuildError(f"nbgrader autograde failed: {result.stderr.strip()[-300:]}")
    per_sub = {"nbgrader": (time.perf_counter() - start) / k}
    one = 0.0
    for n in sorted({1, workers}):
        piped = _course(root, assignment, folder / f"pipeline-{n}", k)
        # record the assignment in the gradebook, as nbgrader's generate_assignment does
        sync_gradebook(Course(piped).assignment(assignment))
        options = GradeOptions(workers=n, force=True, quiet=True, limits=Limits())
        summary = grade(piped, assignment, piped / "submitted", options)
        per_sub[f"pipeline-{n}"] = summary["grading_s"] / k
        if n == 1:
            one = statistics.median(r.runtime_s for r in summary["results"])
    return BenchRow(assignment, k, interactive, per_sub, one)


def format_bench(rows: list[BenchRow], workers: int) -> str:
    """The table: seconds per submission, and the pipeline's speed-up over nbgrader."""
    k = rows[0].k if rows else 0
    lines = [f"{k} model submissions per notebook, {os.cpu_count()} CPU cores; seconds per "
             "submission (wall time of the batch / submissions)",
             f"{'notebook':<22} {'interactive':>11} {'nbgrader':>9} {'pipeline 1w':>11}"
             f" {'speed-up':>8} {'one run':>8} {f'pipeline {workers}w':>12} {'speed-up':>8}"]
    for row in rows:
        nbg, one_w, n_w = (row.per_sub["nbgrader"], row.per_sub["pipeline-1"],
                           row.per_sub[f"pipeline-{workers}"])
        lines.append(f"{row.assignment:<22} {row.interactive_s:>11.1f} {nbg:>9.2f} {one_w:>11.2f}"
                     f" {nbg / one_w:>7.2f}x {row.one_run_s:>8.1f} {n_w:>12.2f}"
                     f" {nbg / n_w:>7.2f}x")
    return "\n".join(lines)


def bench(root: Path, assignments: list[str], k: int, workers: int) -> str:
    """Benchmark each assignment in turn (see the module docstring); return the table."""
    rows = []
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="cvcourse-bench-") as tmp:
            rows.append(bench_notebook(root, assignment, k, workers, Path(tmp)))
    return format_bench(rows, workers)


def _threads(scheduler: str) -> int:
    from dask.distributed import Client

    with Client(scheduler, timeout="30s") as client:
        return sum(client.nthreads().values())


def bench_class(config: Path, n: int, workers: int, scheduler: str | None = None,
                sandbox: bool = True, trace_memory: bool = False) -> str:
    """Grade a simulated class of ``n`` one-exercise submissions (`sample.tiny_course`) on a
    LocalCluster of ``workers`` or an existing ``scheduler``; return a table: throughput, the
    median graded run, the overhead per task around it (wall x slots - the graded runs, / n:
    Dask, transfers and the writer), the writer's time per result and its memory growth
    (RSS; with ``trace_memory`` also the Python heap tracemalloc counts, a slower run)."""
    import psutil

    process = psutil.Process()
    marks: list[tuple[int, int, int]] = []  # (results recorded, writer RSS, traced bytes)
    write_s: list[float] = []

    def on_recorded(_result, seconds: float) -> None:
        write_s.append(seconds)
        if len(write_s) in {max(1, n // 2), n}:  # from half way: warm caches, steady state
            gc.collect()
            traced = tracemalloc.get_traced_memory()[0] if trace_memory else 0
            marks.append((len(write_s), process.memory_info().rss, traced))

    if trace_memory:
        tracemalloc.start()

    with tempfile.TemporaryDirectory(prefix="cvcourse-class-") as tmp:
        course = _course(tiny_course(Path(tmp) / "tiny", config), "00_tiny",
                         Path(tmp) / "course", n)
        sync_gradebook(Course(course).assignment("00_tiny"))
        options = GradeOptions(workers=workers, force=True, quiet=False, limits=Limits(),
                               scheduler=scheduler, sandbox=sandbox)
        try:
            summary = grade(course, "00_tiny", course / "submitted", options, on_recorded)
        finally:
            tracemalloc.stop()
    results = summary["results"]
    graded = sum(r.graded and r.points == sum(t.max for t in r.tests.values()) for r in results)
    wall = summary["grading_s"]
    slots = workers if scheduler is None else _threads(scheduler)
    runs = [r.runtime_s for r in results]
    overhead = (wall * slots - sum(runs)) / max(1, len(runs))
    (first, rss_first, traced_first), (last_n, rss_last, traced_last) = marks[0], marks[-1]
    per_result = max(1, last_n - first)
    growth = (rss_last - rss_first) / per_result
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
    if trace_memory:
        rows += [(f"writer Python heap MiB at {first} / {last_n}",
                  f"{traced_first / 2**20:.1f} / {traced_last / 2**20:.1f}"),
                 ("writer heap growth KiB per result",
                  f"{(traced_last - traced_first) / per_result / 1024:.2f}")]
    width = max(len(label) for label, _ in rows)
    return "\n".join([f"simulated class of {n} on {where}, {os.cpu_count()} CPU cores",
                      *(f"{label:<{width}}  {value}" for label, value in rows)])

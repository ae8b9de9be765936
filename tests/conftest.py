"""Shared fixtures: the course root, its assignments, and running notebooks in the course kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from autograder.course import Course

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
ASSIGNMENTS = COURSE.assignments()

# nbgrader shells out to alembic and kernels start from the venv: its bin must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest-xdist runs two workers on two cores: kernels that each spin up two math threads fight
# for them (training ran 5-8x slower); one thread each, as the grading pipeline gives its kernels
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def execute(path: Path, allow_errors: bool = False, env: dict | None = None,
            timeout: int = 180) -> tuple[nbformat.NotebookNode, float]:
    """Run a notebook top to bottom in the course kernel (cwd = its folder); returns the
    executed notebook and the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="cvcourse", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(path.parent)}})
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        start = time.perf_counter()
        client.execute()
        return nb, time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(old)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` in ``cwd`` as an instructor would (``env`` added)."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=1800,
                          env={**os.environ, **env} if env else None)


def _read_marker(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # that kernel was just stopped
        return ""


def worker_grading(student: str, is_worker) -> psutil.Process | None:
    """The grading worker process (the first ancestor for which ``is_worker(process)`` holds)
    whose task runs ``student``'s sandboxed kernel, or None while there is none."""
    folders = [str(f.parent) for f in Path(tempfile.gettempdir()).glob("cvcourse-student-*/grading")
               if _read_marker(f) == student]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(f in cmdline for f in folders) and "autograder.kernel" in cmdline:
            for parent in proc.parents():
                if is_worker(parent):
                    return parent
    return None


def score(result: dict) -> float:
    """Autograded points of one grading result record."""
    return sum(t["score"] for t in result["tests"].values())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# A test that runs once for each course notebook costs more with every notebook added; the rest
# (the pipeline, its faults and cheats on representative notebooks, the packages) costs the same.
per_notebook = pytest.mark.per_notebook


def each_notebook(test):
    """Run ``test(name, ...)`` once per course notebook; its time counts toward the projection."""
    return per_notebook(pytest.mark.parametrize("name", ASSIGNMENTS)(test))


# --- time per notebook, and what nine notebooks would take ------------------------------------
NOTEBOOKS_PLANNED = 9  # the course's blueprint (COURSE.md)
_SECONDS: dict[str, float] = {}
_SOURCE_S: dict[str, float] = {}  # each source notebook's execution (tests/test_notebooks.py)
SOURCE_BUDGET_S = 180  # per source notebook on 2 cores (the issues); also a cell's hang limit
_STARTED = time.perf_counter()


def pytest_runtest_logreport(report) -> None:
    """Runs where the reports arrive (the xdist controller): add the time of each phase of a
    per-notebook test to the notebook its id names."""
    if "per_notebook" not in report.keywords:
        return
    for key, value in report.user_properties:
        if key == "source_s":
            _SOURCE_S[report.nodeid.split("::")[1].removeprefix("Test_")] = value
    for name in ASSIGNMENTS:
        if name in report.nodeid:
            _SECONDS[name] = _SECONDS.get(name, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, config) -> None:
    if not _SECONDS or hasattr(config, "workerinput"):
        return
    workers = max(1, int(getattr(config.option, "numprocesses", 0) or 1))
    wall = time.perf_counter() - _STARTED
    per_notebook = sum(_SECONDS.values()) / len(_SECONDS)
    projected = wall + (NOTEBOOKS_PLANNED - len(_SECONDS)) * per_notebook / workers
    write = terminalreporter.write_line
    write("")
    write("time of the per-notebook tests (seconds, all phases, summed over workers):")
    for name, seconds in sorted(_SECONDS.items()):
        source = _SOURCE_S.get(name)
        note = "" if source is None else f"   source executed in {source:6.1f} s" + (
            f"  OVER the {SOURCE_BUDGET_S} s budget (load {os.getloadavg()[0]:.1f})"
            if source > SOURCE_BUDGET_S else "")
        write(f"  {name:<24} {seconds:8.1f} s{note}")
    write(f"  this run: {wall / 60:.1f} min on {workers} worker(s); at {NOTEBOOKS_PLANNED} "
          f"notebooks (+{per_notebook:.0f} s each, spread over the workers): "
          f"{projected / 60:.1f} min (budget 40)")

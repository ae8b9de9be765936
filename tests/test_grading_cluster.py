"""Grading on an existing Dask cluster (`grade --scheduler ADDRESS`): a scheduler and two
workers started here as separate processes on 127.0.0.1, as a SLURM or Kubernetes deployment
would start them. A worker killed mid-batch loses no grade, every result is recorded once,
a resumed run skips what is graded, and CUDA grading refuses a cluster without GPU workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import score, worker_grading
from nbgrader.api import Gradebook
from tiny_course import tiny_course

from autograder.build import generate_release, prepare_workspace
from autograder.course import Course
from autograder.notebook import read
from autograder.submission import fill, model_answers, submit

DASK = str(Path(sys.executable).with_name("dask"))
# sleeps past the cell timeout, so its verdict is known wherever it runs: CellTimeout
SLOW = "import time\ndef square(x):\n    time.sleep(30)\n    return x * x\n"


class Cluster:
    """`dask scheduler` and `dask worker` processes on the loopback interface, stopped on exit."""

    def __init__(self, folder: Path, workers: list[dict[str, str]]):
        self.file = folder / "scheduler.json"
        self.env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--scheduler-file", str(self.file), "--no-dashboard"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.file.is_file(), "the scheduler did not start"
        self.address = json.loads(self.file.read_text())["address"]
        self.workers: list[subprocess.Popen] = []
        for spec in workers:
            self.add_worker(spec)
        if workers:
            self.wait_for(len(workers))

    def add_worker(self, spec: dict[str, str]) -> None:
        self.workers.append(subprocess.Popen(
            [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny",
             "--host", "127.0.0.1", "--no-dashboard",
             *([f"--resources={spec['resources']}"] if spec.get("resources") else []),
             *([f"--preload={spec['preload']}"] if spec.get("preload") else [])],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait_for(self, n: int) -> None:
        from dask.distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _grade(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "00_tiny",
                           "--submissions", "submitted", *args], cwd=course,
                          capture_output=True, text=True, timeout=timeout)


def _class(tmp_path: Path, students: list[str], slow: list[str]) -> Path:
    course = tiny_course(tmp_path / "course")
    work = prepare_workspace(course, "00_tiny", tmp_path / "scratch")
    release = read(generate_release(work, "00_tiny") / "00_tiny.ipynb")
    answers = model_answers(read(Course(course).assignment("00_tiny").source))
    for student in students:
        submit(course, student, "00_tiny", fill(release, answers))
    for student in slow:
        submit(course, student, "00_tiny", fill(release, {**answers, "square": SLOW}))
    return course


@pytest.mark.slow
def test_a_worker_killed_mid_batch_on_a_cluster_loses_no_grade(tmp_path):
    students = [f"s{i}" for i in range(5)]
    course = _class(tmp_path, students, ["victim"])
    cluster = Cluster(tmp_path, [{}, {}])
    try:
        grading = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", "00_tiny", "--submissions",
             "submitted", "--scheduler", cluster.address, "--cell-timeout", "10"],
            cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim_worker = None
        deadline = time.monotonic() + 300
        while victim_worker is None and time.monotonic() < deadline and grading.poll() is None:
            pids = {w.pid for w in cluster.workers}
            found = worker_grading("victim", lambda p, pids=pids: p.pid in pids)
            victim_worker = found.pid if found is not None else None
            time.sleep(0.3)
        assert victim_worker is not None, "never saw the victim's kernel on a cluster worker"
        time.sleep(2)  # the victim's test is now running
        os.kill(victim_worker, signal.SIGKILL)
        out, err = grading.communicate(timeout=600)
        assert grading.returncode == 0, out[-2000:] + err[-2000:]
        # the scheduler ran the lost task again on the surviving worker: nothing to regrade
        assert "6 submissions, 6 graded now, 0 already graded" in out, out[-800:]
        paths = Course(course).assignment("00_tiny")
        results = {p.stem: json.loads(p.read_text())
                   for p in (paths.reports / "results").glob("*.json")}
        assert set(results) == {*students, "victim"}
        for student in students:
            assert results[student]["status"] == "graded", (student, results[student]["reason"])
            assert score(results[student]) == 2.0
        assert results["victim"]["status"] == "graded"
        assert results["victim"]["tests"]["test-square"]["message"].startswith("CellTimeout")
        with Gradebook(paths.course.db_url) as gb:
            assert sorted(s.id for s in gb.students) == sorted([*students, "victim"])
            assert len(gb.assignment_submissions("00_tiny")) == 6
        stamps = {s: (paths.reports / "results" / f"{s}.json").stat().st_mtime_ns
                  for s in results}
        resumed = _grade(course, "--scheduler", cluster.address)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "0 graded now, 6 already graded" in resumed.stdout, resumed.stdout[-800:]
        assert stamps == {s: (paths.reports / "results" / f"{s}.json").stat().st_mtime_ns
                          for s in results}, "a resumed run rewrote a recorded result"
    finally:
        cluster.stop()


@pytest.mark.slow
def test_cpu_grading_never_waits_for_gpu_workers_and_cuda_needs_one(tmp_path):
    course = _class(tmp_path, ["ann", "bob"], [])
    cluster = Cluster(tmp_path, [{}])  # one CPU-only worker
    try:
        refused = _grade(course, "--scheduler", cluster.address, "--device", "cuda",
                         timeout=120)
        assert refused.returncode != 0
        message = refused.stderr.strip().splitlines()[-1]
        assert "GPU" in message and "--resources" in message, message
        graded = _grade(course, "--scheduler", cluster.address)
        assert graded.returncode == 0, graded.stderr[-2000:]
        assert "2 submissions, 2 graded now" in graded.stdout, graded.stdout[-800:]
    finally:
        cluster.stop()


@pytest.mark.slow
def test_a_worker_that_joins_mid_run_gets_the_assignment_files_and_the_run_takes_them_back(
        tmp_path):
    from dask.distributed import Client

    # lambdas travel by value: the scheduler and workers cannot import this test module
    on_scheduler = lambda dask_scheduler: [n for n in dask_scheduler.worker_plugins  # noqa: E731
                                           if n.startswith("autograder-files")]
    on_worker = lambda dask_worker: [n for n in dask_worker.plugins  # noqa: E731
                                     if n.startswith("autograder-files")]
    course = _class(tmp_path, ["ann", "bob", "cid"], [])
    cluster = Cluster(tmp_path, [])  # no worker yet: the tasks wait for one
    try:
        grading = subprocess.Popen(
            [sys.executable, "-m", "autograder", "grade", "00_tiny", "--submissions",
             "submitted", "--scheduler", cluster.address],
            cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with Client(cluster.address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while not client.run_on_scheduler(on_scheduler) and grading.poll() is None:
                assert time.monotonic() < deadline, "the run never registered its files"
                time.sleep(0.2)
            cluster.add_worker({})  # joins after the files were handed out
            out, err = grading.communicate(timeout=600)
            assert grading.returncode == 0, out[-2000:] + err[-2000:]
            assert "3 submissions, 3 graded now" in out, out[-800:]
            paths = Course(course).assignment("00_tiny")
            for student in ["ann", "bob", "cid"]:
                result = json.loads((paths.reports / "results" / f"{student}.json").read_text())
                assert result["status"] == "graded", result["reason"]
                assert score(result) == 2.0
            # the shared cluster keeps no copy of the assignment once the run is over
            assert client.run_on_scheduler(on_scheduler) == []
            assert list(client.run(on_worker).values()) == [[]]
    finally:
        cluster.stop()


@pytest.mark.slow
def test_a_worker_without_the_grading_code_is_a_one_line_error_before_anyone_is_graded(
        tmp_path):
    course = _class(tmp_path, ["ann"], [])
    # a worker where the course is not installed: importing the grading code fails there
    broken = tmp_path / "no_course.py"
    broken.write_text("import sys\nsys.modules['autograder.task'] = None\n")
    cluster = Cluster(tmp_path, [{"preload": str(broken)}])
    try:
        refused = _grade(course, "--scheduler", cluster.address, timeout=300)
        assert refused.returncode != 0
        message = refused.stderr.strip().splitlines()[-1]
        assert "cannot load the grading code" in message and "install the course" in message, (
            refused.stderr[-2000:])
        assert not list((Course(course).assignment("00_tiny").reports / "results").glob("*"))
    finally:
        cluster.stop()

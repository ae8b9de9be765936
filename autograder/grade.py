"""The instructor's grading pipeline: every submission is one task on ``dask.distributed``
(a LocalCluster by default, or an existing scheduler); this process is the single writer that
records each result as it arrives, then exports grades, feedback and the class report."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveAutoGrades
from nbgrader.preprocessors.base import NbGraderPreprocessor
from tqdm import tqdm

from autograder.build import BuildError, nbgrader, prepare_workspace
from autograder.collect import Submission, find_submissions
from autograder.course import Assignment, Course, CourseError
from autograder.execute import Limits
from autograder.report import write_report
from autograder.result import GRADED, GradeResult
from autograder.sandbox import bwrap
from autograder.task import (
    AssignmentFiles,
    AssignmentFilesPlugin,
    GradeJob,
    empty_result,
    grade_on_worker,
    sha256,
)


@dataclass
class GradeOptions:
    """How to grade: parallelism, device, limits, and where the Dask scheduler is."""

    workers: int = 2
    device: str = "cpu"
    force: bool = False
    limits: Limits = field(default_factory=Limits)
    scheduler: str | None = None  # address of an existing Dask scheduler
    quiet: bool = False
    sandbox: bool = True  # student kernels in bubblewrap (see autograder.sandbox)
    figures: bool = False  # render students' figures into the graded notebooks
    all_cells: bool = False  # also run the demo cells no test or student cell depends on
    mirror: bool = True  # copy submissions + timestamps to submitted/, where formgrader looks


def _source_key(paths: Assignment) -> str:
    files = [paths.course.config_file, *sorted(paths.source_dir.rglob("*"))]
    return sha256(b"".join(f.read_bytes() for f in files if f.is_file())) or ""


def sync_gradebook(paths: Assignment) -> tuple[bytes, bytes]:
    """Record the assignment's source cells and checksums in the course gradebook (nbgrader
    generate_assignment, released into a scratch folder); returns the release notebook and a
    gradebook of this assignment alone (what a grading task needs: it never grows with the
    class, and carries no other student's grades). Skipped when the source and config are
    unchanged since the last sync."""
    key, cache = _source_key(paths), paths.reports / "release-cache"
    cached, cached_db = cache / f"{key}.ipynb", cache / f"{key}.db"
    if cached.is_file() and cached_db.is_file() and paths.course.gradebook.is_file():
        return cached.read_bytes(), cached_db.read_bytes()
    with tempfile.TemporaryDirectory(prefix="cvcourse-sync-") as tmp:
        work = prepare_workspace(paths.root, paths.name, Path(tmp) / "course")
        alone = Path(tmp) / "assignment.db"
        for db_url in (f"sqlite:///{alone}", paths.course.db_url):
            result = nbgrader(["generate_assignment", paths.name, "--force",
                               "--log-level=ERROR", f"--CourseDirectory.root={work}",
                               f"--CourseDirectory.db_url={db_url}"], cwd=work)
            release = Assignment(Course(work), paths.name).release
            if result.returncode != 0 or not release.is_file():
                tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
                raise BuildError("cannot record the assignment in the gradebook: "
                                 + " | ".join(tail))
        cache.mkdir(parents=True, exist_ok=True)
        for old in [*cache.glob("*.ipynb"), *cache.glob("*.db")]:
            old.unlink()
        shutil.copyfile(alone, cached_db)
        shutil.copyfile(release, cached)
        return release.read_bytes(), alone.read_bytes()


def _already_graded(paths: Assignment, submission: Submission) -> bool:
    path = paths.result(submission.student)
    if not path.is_file():
        return False
    try:
        recorded = GradeResult.from_json(json.loads(path.read_text()))
    except (OSError, ValueError):
        return False
    # a submission whose grading crashed (a lost worker ...) is graded again on a rerun
    return recorded.sha256 == sha256(submission.notebook) and \
        recorded.status in (GRADED, "corrupt", "missing")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _SaveAutoGradesInto(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, writing through an open gradebook instead of opening its own
    (each Gradebook is a new SQLAlchemy engine, whose caches outlive it)."""

    def __init__(self, gradebook: Gradebook, **kwargs) -> None:
        super().__init__(**kwargs)
        self.open_gradebook = gradebook

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict):
        ids = resources["nbgrader"]
        self.notebook_id, self.assignment_id = ids["notebook"], ids["assignment"]
        self.student_id, self.gradebook = ids["student"], self.open_gradebook
        return NbGraderPreprocessor.preprocess(self, nb, resources)


class Recorder:
    """The single writer: records results through one gradebook connection for the whole run
    and keeps nothing per result (use as a context manager)."""

    def __init__(self, paths: Assignment) -> None:
        warnings.filterwarnings("ignore", module="nbgrader.api")  # SQLAlchemy SAWarning noise
        self.paths = paths
        self.gradebook = Gradebook(paths.course.db_url)
        self.save_grades = _SaveAutoGradesInto(self.gradebook)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.gradebook.close()
        self.gradebook.engine.dispose()

    def record(self, result: GradeResult) -> None:
        """Write one result: autograded notebook, gradebook scores (nbgrader's SaveAutoGrades),
        then result.json last, which marks the submission as done for a resumed run. The student
        gets a name and the submission its ``submitted/`` timestamp, as formgrader shows them."""
        from autograder.lab import student_names, submitted_at

        paths, gb = self.paths, self.gradebook
        student, name, notebook = result.student, paths.name, result.notebook
        try:
            gb.update_or_create_student(student, **student_names(gb, student))
            gb.update_or_create_submission(name, student, timestamp=submitted_at(paths, student))
            if notebook is not None:
                target = paths.autograded(student)
                if target.exists():
                    target.chmod(0o644)
                _write_atomic(target, notebook)
                resources = {"nbgrader": {"notebook": name, "assignment": name,
                                          "student": student, "db_url": paths.course.db_url}}
                self.save_grades.preprocess(nbformat.reads(notebook, as_version=4), resources)
            else:
                for grade in gb.find_submission_notebook(name, name, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
        finally:
            gb.db.close()  # back to the pool, identity map emptied: nothing kept per result
        _write_atomic(paths.result(student), json.dumps(result.to_json(), indent=1))


def record(paths: Assignment, result: GradeResult) -> None:
    """Record one result (see `Recorder.record`), opening and closing the gradebook."""
    with Recorder(paths) as recorder:
        recorder.record(result)


# Dask keeps the last N messages of every batched stream (client to scheduler, scheduler to
# each worker) and N stimuli per worker for debugging; at its default of 1,000 each grading
# task's payload stays referenced a thousand tasks long, some 300 KiB per result in the writer
DASK_DEBUG_LOG_LENGTH = 20


def _cluster(options: GradeOptions):
    import dask
    from dask.distributed import Client, LocalCluster

    dask.config.set({"distributed.admin.low-level-log-length": DASK_DEBUG_LOG_LENGTH})
    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout="30s")
        except OSError as err:
            raise CourseError(f"cannot reach the Dask scheduler at {options.scheduler} "
                              f"({err}); is it running, and is the address right?") from None
        if options.device == "cuda" and not _gpu_workers(client):
            client.close()
            raise CourseError(f"--device cuda, but no worker of {options.scheduler} advertises "
                              "a GPU; start GPU workers with `dask worker ... --resources GPU=1`")
        return client, None
    resources = {"GPU": 1} if options.device == "cuda" else None
    # a task whose worker dies is not run again elsewhere: the submission that killed it (or
    # was unlucky) is recorded as crashed, and a rerun of the command grades it again
    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    cluster = LocalCluster(n_workers=options.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, resources=resources, silence_logs=40)
    return Client(cluster), cluster


def _gpu_workers(client) -> list[str]:
    """Workers that advertise the ``GPU`` resource CUDA grading tasks ask for."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [addr for addr, info in workers.items() if info.get("resources", {}).get("GPU")]


def _kernel_threads(workers: int) -> int:
    """Share the cores between concurrent kernels instead of oversubscribing them."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_tasks(jobs: list[GradeJob], files: AssignmentFiles, options: GradeOptions,
              on_result) -> str:
    """Run the jobs on Dask; call ``on_result(result)`` in this process as each finishes.
    ``files`` (release notebook, a gradebook of this assignment alone, config) reach each
    worker once, through a worker plugin, so a task carries only its student's notebook.
    Returns a description of the scheduler used."""
    from dask.distributed import as_completed

    client, cluster = _cluster(options)
    plugin = f"autograder-files-{uuid.uuid4().hex[:12]}"  # one per run: runs may overlap
    try:
        try:
            client.register_plugin(AssignmentFilesPlugin(plugin, files), name=plugin)
        except Exception as err:  # noqa: BLE001 - raised by a worker: say which fix it needs
            raise CourseError(f"a Dask worker cannot load the grading code ({type(err).__name__}: "
                              f"{err}); install the course on every worker as the README's "
                              "'Grading on a cluster' says") from None
        resources = {"GPU": 1} if options.device == "cuda" else None
        queue = list(enumerate(jobs))
        futures: dict = {}
        done = as_completed()

        slots = max(1, sum(client.nthreads().values()) or options.workers)

        def submit_next() -> None:
            if queue:
                i, job = queue.pop(0)
                # the worker that takes this job likely takes the one a full round later
                job = dataclasses.replace(job, more_coming=len(queue) >= slots)
                # the files come from the worker plugin, not scattered data: Dask's memory
                # manager keeps one replica of that, and a task whose holder died would be lost
                future = client.submit(grade_on_worker, job, plugin,
                                       key=f"grade-{job.student}-{i}", pure=False,
                                       resources=resources)
                futures[future] = job
                done.add(future)

        # only as many tasks as worker threads are out at once: a worker that dies holds no
        # queued submission, and Dask hands the next one to whichever worker is free
        for _ in range(slots):
            submit_next()
        bar = tqdm(total=len(jobs), desc=f"grading ({options.workers} workers)",
                   unit="submission", disable=options.quiet or not jobs)
        for future in done:
            job = futures.pop(future)
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - a worker crash costs one submission
                result = _crashed(job, files, f"{type(err).__name__}: {err}")
            future.release()  # recorded: never recomputed if its worker dies later
            on_result(result)
            bar.update(1)
            submit_next()
        bar.close()
        return options.scheduler or f"LocalCluster ({options.workers} workers)"
    finally:
        if cluster is None:  # a shared cluster outlives the run: take the files back
            with contextlib.suppress(Exception):
                client.unregister_worker_plugin(plugin)
        client.close()
        if cluster is not None:
            cluster.close()


def _crashed(job: GradeJob, files: AssignmentFiles, why: str) -> GradeResult:
    return empty_result(job, files, "error", f"grading crashed: {why}"[:500])


def export(paths: Assignment) -> dict[str, Path]:
    """nbgrader feedback (hidden tests stripped by the course config) and grades CSV."""
    paths.reports.mkdir(parents=True, exist_ok=True)
    csv = paths.grades_csv
    out = {}
    for args, label in ((["generate_feedback", paths.name, "--force"], "feedback"),
                        (["export", f"--to={csv}"], "grades")):
        result = nbgrader([*args, "--log-level=ERROR", f"--CourseDirectory.root={paths.root}",
                           f"--CourseDirectory.db_url={paths.course.db_url}"], cwd=paths.root)
        if result.returncode != 0:
            raise BuildError(f"nbgrader {args[0]} failed: {result.stderr.strip()[-300:]}")
        out[label] = csv if label == "grades" else paths.course.feedback
    return out


def attach_manual_scores(paths: Assignment, results: list[GradeResult]) -> int:
    """Copy the points instructors gave in formgrader (the gradebook) into each result's manually
    graded answers (``manual[grade_id]["score"]``); returns how many answers are graded."""
    done = 0
    warnings.filterwarnings("ignore", module="nbgrader.api")
    with Gradebook(paths.course.db_url) as gb:
        for result in results:
            if not result.graded or not result.manual:
                continue
            try:
                grades = gb.find_submission_notebook(paths.name, paths.name, result.student).grades
            except MissingEntry:  # recorded before this gradebook existed: nothing given yet
                continue
            for grade in grades:
                cell = result.manual.get(grade.name)
                if cell is not None and grade.manual_score is not None:
                    cell["score"] = float(grade.manual_score)
                    done += 1
    return done


def write_class_report(paths: Assignment, meta: dict) -> tuple[Path, list[GradeResult], int]:
    """The class report from the recorded results and the gradebook's manual points."""
    results = load_results(paths)
    manual = attach_manual_scores(paths, results)
    return write_report(results, meta, paths.report_html), results, manual


def refresh(root: Path, assignment: str) -> dict:
    """After manual grading in formgrader: regenerate feedback, the grades CSV and the class
    report, so all three include the manual points (``python -m autograder feedback``)."""
    start = time.perf_counter()
    paths = Course(root).assignment(assignment)
    if not (paths.reports / "results").is_dir():
        raise CourseError(f"{assignment} has no recorded grades yet: run "
                          f"`python -m autograder grade {assignment} --submissions DIR` first")
    outputs = export(paths)
    config = paths.course.config()
    meta = {"assignment": assignment, "course_id": str(config.CourseDirectory.course_id),
            "generated": dt.datetime.now().isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - start, 1)}
    previous = _previous_meta(paths)
    report, results, manual = write_class_report(paths, {**previous, **meta})
    pending = sum(1 for r in results if r.graded for c in r.manual.values() if "score" not in c)
    return {"report": report, "results": results, "manual_graded": manual,
            "manual_pending": pending, **outputs}


def _previous_meta(paths: Assignment) -> dict:
    """How the last grading run went (device, workers, scheduler) for a regenerated report."""
    try:
        meta = json.loads((paths.reports / "report-meta.json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def load_results(paths: Assignment) -> list[GradeResult]:
    results = []
    for path in sorted((paths.reports / "results").glob("*.json")):
        try:
            results.append(GradeResult.from_json(json.loads(path.read_text())))
        except (OSError, ValueError):  # unreadable: that submission is graded again
            continue
    return results


def grade(root: Path, assignment: str, submissions: Path, options: GradeOptions,
          on_recorded: Callable[[GradeResult, float], None] | None = None) -> dict:
    """Grade every submission in ``submissions``; returns paths and counts for the CLI.
    ``on_recorded(result, seconds)`` runs in the writer after each result is recorded, with the
    seconds recording took (benchmarks)."""
    start = time.perf_counter()
    paths = Course(root).assignment(assignment)
    if options.device == "cuda" and not options.scheduler:
        import torch

        if not torch.cuda.is_available():
            raise CourseError("--device cuda, but torch sees no GPU here; grade with "
                             "--device cpu, or give --scheduler of a cluster with GPU workers")
    if options.scheduler:  # fail now on a wrong address or a cluster without GPU workers
        _cluster(options)[0].close()
    if "Offline" in str(paths.course.config().GenerateFeedback.get("exporter_class", "")):
        from autograder.offline import package_dir

        package_dir("katex")  # feedback inlines it: fail now, not after grading everyone
    if options.sandbox:
        bwrap()  # fail now, with the fix, rather than once per submission
    found = find_submissions(submissions, assignment)
    if options.mirror:  # formgrader counts submitted/ and reads its timestamps
        from autograder.lab import mirror_submissions

        mirror_submissions(root, assignment, submissions, found)
    release, gradebook = sync_gradebook(paths)
    config = paths.course.config()
    todo = [s for s in found if options.force or not _already_graded(paths, s)]
    threads = _kernel_threads(options.workers)
    files = AssignmentFiles(release, gradebook, config)
    jobs = [GradeJob(s.student, assignment, s.notebook, s.problem, options.limits,
                     options.device, threads, options.sandbox, options.figures, options.all_cells)
            for s in todo]

    with Recorder(paths) as recorder:
        def write(result: GradeResult) -> None:
            start_record = time.perf_counter()
            recorder.record(result)
            if on_recorded is not None:
                on_recorded(result, time.perf_counter() - start_record)

        scheduler = run_tasks(jobs, files, options, write) if jobs else "-"
    grading_s = time.perf_counter() - start
    outputs = export(paths)
    wall = time.perf_counter() - start
    meta = {"assignment": assignment, "course_id": str(config.CourseDirectory.course_id),
            "device": options.device, "workers": options.workers, "wall_s": round(wall, 1),
            "generated": dt.datetime.now().isoformat(timespec="seconds"),
            "scheduler": scheduler}
    report, results, _ = write_class_report(paths, meta)
    _write_atomic(paths.reports / "report-meta.json", json.dumps(meta, indent=1))
    return {"found": len(found), "graded": len(jobs), "skipped": len(found) - len(jobs),
            "wall_s": wall, "grading_s": grading_s, "report": report, **outputs, "results": results}

"""One grading task: one student's submission, graded in a scratch folder and a fresh capped
kernel, returned as a result record. Tasks share nothing and never write the gradebook."""

from __future__ import annotations

import hashlib
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from distributed.diagnostics.plugin import WorkerPlugin
from nbformat import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
)
from traitlets.config import Config

from autograder import integrity
from autograder.execute import (
    CellPlan,
    GradingRun,
    Limits,
    answer_names,
    imported_modules,
    plan_cells,
)
from autograder.notebook import grade_id, is_manual, is_test, points
from autograder.result import GRADED, GradeResult, TestScore

INLINE = "module://matplotlib_inline.backend_inline"
NO_FIGURES = "module://autograder.nofigures"  # figures built, never drawn


@dataclass
class AssignmentFiles:
    """What every task of one assignment shares; sent to each worker once, not once per task."""

    release: bytes = b""  # the release notebook: cell order, locked cells
    gradebook: bytes = b""  # a gradebook of this assignment alone: source cells and checksums
    config: dict = field(default_factory=dict)  # nbgrader config (plain dict)


class AssignmentFilesPlugin(WorkerPlugin):
    """Gives every worker, also one that joins or restarts mid-run, the assignment's files
    once, so a task carries one notebook, not the release and gradebook again."""

    def __init__(self, name: str, files: AssignmentFiles) -> None:
        self.name = name
        self.files = files


def grade_on_worker(job: GradeJob, plugin: str) -> GradeResult:
    """`grade_submission` with the files this Dask worker got from `AssignmentFilesPlugin`."""
    from distributed import get_worker

    shared = get_worker().plugins.get(plugin)
    if not isinstance(shared, AssignmentFilesPlugin):
        raise RuntimeError(f"worker never received the assignment's files (plugin {plugin})")
    return grade_submission(job, shared.files)


@dataclass
class GradeJob:
    """One student's share of the work; plain data, so it travels to any Dask worker."""

    student: str
    assignment: str
    notebook: bytes | None  # None when the submission has no notebook
    problem: str = ""  # why ``notebook`` is None
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    threads: int = 1  # math threads for the kernel (cores shared between workers)
    sandbox: bool = True  # run the student's kernel in the bubblewrap sandbox
    figures: bool = False  # render figures (else built, never drawn: nobody looks at them)
    all_cells: bool = False  # run the demo cells nothing graded depends on, too
    more_coming: bool = True  # this worker likely grades another one: start its kernel now


def sha256(data: bytes | None) -> str | None:
    return hashlib.sha256(data).hexdigest() if data is not None else None


def empty_result(job: GradeJob, files: AssignmentFiles, status: str, reason: str) -> GradeResult:
    release = nbformat.reads(files.release.decode(), as_version=4)
    tests = {grade_id(c): TestScore(0.0, points(c), reason)
             for c in release.cells if is_test(c)}
    return GradeResult(job.student, job.assignment, status, reason, sha256(job.notebook), tests,
                       _manual(release), device=job.device, worker=socket.gethostname())


def _manual(nb: NotebookNode) -> dict:
    return {grade_id(c): {"max": points(c)} for c in nb.cells if is_manual(c)}


def restore_locked_cells(nb: NotebookNode, release: NotebookNode) -> list[str]:
    """Put back locked cells (setup, prose, tests) the student deleted, after the release cell
    that preceded them; nbgrader itself only restores grade cells. Returns the restored ids."""
    present = {grade_id(c) for c in nb.cells}
    restored = []
    for position, cell in enumerate(release.cells):
        gid = grade_id(cell)
        if gid is None or gid in present or not nbutils.is_locked(cell):
            continue
        before = {grade_id(c) for c in release.cells[:position]} - {None}
        at = 0
        for index, existing in enumerate(nb.cells):
            if grade_id(existing) in before:
                at = index + 1
        nb.cells.insert(at, nbformat.from_dict(cell))
        present.add(gid)
        restored.append(gid)
    return restored


def drop_duplicates(nb: NotebookNode) -> list[str]:
    """Copies of a cell (same grade id): a copied locked or test cell is dropped (the original
    is restored anyway); a copied answer cell stays as ordinary code. nbgrader's own
    DeduplicateIds leaves metadata that crashes OverwriteCells. Returns the copied ids."""
    seen: set[str] = set()
    kept, copies = [], []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and gid in seen:
            copies.append(gid)
            if nbutils.is_locked(cell) or nbutils.is_grade(cell):
                continue
            cell.metadata.pop("nbgrader", None)
        seen.add(gid)
        kept.append(cell)
    nb.cells = kept
    return copies


def drop_foreign_marks(nb: NotebookNode, release: NotebookNode) -> list[str]:
    """Cells marked with a grade id the assignment does not have (copied from another notebook,
    or forged) become ordinary code: they earn nothing, and nbgrader's checks would reject the
    whole notebook. Returns their ids."""
    known = {grade_id(c) for c in release.cells} - {None}
    foreign = []
    for cell in nb.cells:
        gid, marks = grade_id(cell), cell.get("metadata", {}).get("nbgrader", {})
        marked = any(marks.get(flag) for flag in ("grade", "solution", "locked", "task"))
        if (gid is not None and gid not in known) or (gid is None and marked):
            cell.metadata.pop("nbgrader", None)
            foreign.append(gid or "(no id)")
    return foreign


def _sanitise(nb: NotebookNode, job: GradeJob, config: dict, db_url: str) -> NotebookNode:
    """nbgrader's own autograde sanitising steps, against a private copy of the gradebook."""
    resources = {"nbgrader": {"notebook": job.assignment, "assignment": job.assignment,
                              "student": job.student, "db_url": db_url}}
    config = Config(config)
    for step in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                 CheckCellMetadata):
        nb, resources = step(config=config).preprocess(nb, resources)
    return nb


def _message(cell: NotebookNode) -> str:
    for output in cell.outputs:
        if output.output_type == "error":
            return f"{output.ename}: {output.evalue}".strip()[:500]
    if any(o.get("name") == "stderr" for o in cell.outputs):
        return "wrote to stderr"
    return ""


def grade_submission(job: GradeJob, files: AssignmentFiles) -> GradeResult:
    """Grade one submission (runs on a Dask worker); see the module docstring."""
    if job.notebook is None:
        return empty_result(job, files, "missing", job.problem or "no notebook submitted")
    try:
        nb = nbformat.reads(job.notebook.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same verdict
        return empty_result(job, files, "corrupt", f"unreadable notebook ({type(err).__name__})")
    start = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.student[:20]}-"))
    try:
        private = scratch / "private"
        private.mkdir()
        db = private / "gradebook.db"
        db.write_bytes(files.gradebook)
        release = nbformat.reads(files.release.decode(), as_version=4)
        foreign = drop_foreign_marks(nb, release)
        copies = drop_duplicates(nb)
        restored = restore_locked_cells(nb, release)
        try:
            nb = _sanitise(nb, job, files.config, f"sqlite:///{db}")
        except Exception as err:  # noqa: BLE001 - nbgrader raises plain Exceptions here
            return empty_result(job, files, "error", f"cannot restore the test cells: {err}")
        shutil.rmtree(private)  # student code must not find the gradebook
        flags = [f.as_dict() for f in integrity.scan(nb)]
        env = {"CVCOURSE_DEVICE": job.device, "NBGRADER_EXECUTION": "autograde",
               "MPLBACKEND": INLINE if job.figures else NO_FIGURES,
               "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": str(job.threads),
               "MKL_NUM_THREADS": str(job.threads)}
        log = GradingRun(nb, answer_names(release), job.limits, env, use_sandbox=job.sandbox,
                         gpu=job.device == "cuda", preload=imported_modules(release),
                         spare=job.more_coming, label=job.student,
                         plan=CellPlan() if job.all_cells else plan_cells(nb, release)).run()
        nb, _ = LimitOutput(config=Config(files.config)).preprocess(nb, {})
        tests = {}
        for cell in nb.cells:
            if is_test(cell):
                score, top = nbutils.determine_grade(cell)
                tests[grade_id(cell)] = TestScore(float(score or 0), float(top), _message(cell))
        events = [f"restored deleted cells: {', '.join(restored)}"] if restored else []
        events += [f"ignored copies of cells: {', '.join(copies)}"] if copies else []
        events += ([f"ignored grading marks on cells not in the assignment: {', '.join(foreign)}"]
                   if foreign else [])
        return GradeResult(job.student, job.assignment, GRADED, "", sha256(job.notebook), tests,
                           _manual(nb), flags, events + log.events,
                           round(time.monotonic() - start, 2), _device(job.device),
                           socket.gethostname(), nbformat.writes(nb))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _device(requested: str) -> str:
    if requested == "cuda":
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
    return requested

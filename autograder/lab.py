"""JupyterLab on the course, the local nbgrader exchange students fetch from and submit to, and
what formgrader needs to agree with the grading pipeline.

The exchange lives in the course (``exchange/``, git-ignored; ``Exchange.root`` in
``nbgrader_config.py``): the instructor releases ``release/NN`` into it, a student fetches a copy
into ``work/NN/`` (``Exchange.assignment_dir``; never ``release/``, so saving or validating never
touches a generated file), submits from there, and the instructor collects into ``submitted/``
and grades that folder with the pipeline. Formgrader counts ``submitted/STUDENT/NN/`` folders and
compares their ``timestamp.txt`` with the gradebook's, so every graded submission is mirrored
there with its timestamp (:func:`mirror_submissions`), and :func:`student_names` gives each
student a name formgrader can show.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from autograder.build import nbgrader
from autograder.collect import Submission, find_submissions
from autograder.course import Assignment, Course, CourseError

EXCHANGE = "exchange"  # Exchange.root, relative to the course root
WORK = "work"  # the student's workspace (Exchange.assignment_dir)
TIMESTAMP = "timestamp.txt"  # nbgrader's submission time, beside the submitted notebook
# nbgrader's Exchange.timestamp_format, in UTC (what `nbgrader submit` writes)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
AUTOGRADE_POINTER = (
    "Formgrader's Autograde button is switched off for this course: it would run plain "
    "`nbgrader autograde` (student code unsandboxed, verdicts in the student's own kernel) and "
    "overwrite the pipeline's grades. Grade with `python -m autograder grade {assignment} "
    "--submissions submitted` (after `nbgrader collect {assignment}`), then reload this page.")


def exchange_root(root: Path) -> Path:
    return Path(root) / EXCHANGE


def workspace(root: Path) -> Path:
    """Where students' copies of the released notebooks live (``work/NN/NN.ipynb``)."""
    return Path(root) / WORK


def lab_command(root: Path, port: int | None = None, token: str | None = None,
                browser: bool = False) -> list[str]:
    """``jupyter lab`` on the course, on 127.0.0.1 only; Jupyter's token is kept (the printed
    URL carries it) unless ``token`` sets one (tests)."""
    cmd = [sys.executable, "-m", "jupyter", "lab", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={Path(root).resolve()}",
           "--ServerApp.open_browser=" + str(browser),
           # no "Would you like to receive official Jupyter news?" and no update checks
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class="
           "jupyterlab.handlers.announcements.NeverCheckForUpdate",
           # formgrader's Autograde button points to the pipeline (see below)
           "--ServerApp.jpserver_extensions=autograder.lab=True"]
    if os.geteuid() == 0:  # containers run as root; Jupyter refuses without this
        cmd.append("--allow-root")
    if port is not None:
        cmd.append(f"--ServerApp.port={port}")
    if token is not None:
        cmd.append(f"--IdentityProvider.token={token}")
    return cmd


def lab_env(root: Path) -> dict[str, str]:
    """The environment JupyterLab runs in: the venv's bin first on PATH (nbgrader shells out to
    alembic, kernels start from the venv)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def prepare(root: Path) -> None:
    """Create the exchange (world-writable, as nbgrader's exchange wants) and the workspace.
    The workspace gets a ``nbgrader_config.py`` that loads the course's: the Assignments tab
    reads the config of ``Exchange.assignment_dir`` (not the server's folder) to find the
    exchange and the course id."""
    exchange = exchange_root(root)
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)
    work = workspace(root)
    work.mkdir(exist_ok=True)
    course_config = Course(root).config_file.resolve()
    (work / "nbgrader_config.py").write_text(
        "# written by `python -m autograder lab`: the course's nbgrader settings (exchange,\n"
        "# course id) for the Assignments tab, which reads the config of this folder\n"
        f"load_subconfig({str(course_config)!r})  # noqa: F821\n")


def start_lab(root: Path, port: int | None = None) -> int:
    """Run JupyterLab on the course in the foreground (``make lab``); returns its exit code."""
    prepare(root)
    print(f"students fetch into {workspace(root)}/, submit to {exchange_root(root)}/; "
          "formgrader: Nbgrader menu > Formgrader")
    return subprocess.call(lab_command(root, port), cwd=root, env=lab_env(root))


def _run(root: Path, args: list[str]) -> str:
    result = nbgrader([*args, "--log-level=WARN"], cwd=Path(root))
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise CourseError(f"nbgrader {args[0]} failed: " + " | ".join(tail))
    return (result.stdout + result.stderr).strip()


def release(root: Path, assignment: str) -> Path:
    """Copy the committed ``release/NN`` into the exchange (``nbgrader release_assignment``),
    where the Assignments tab and ``nbgrader fetch_assignment`` find it."""
    paths = Course(root).assignment(assignment)
    if not paths.release.is_file():
        raise CourseError(f"no {paths.release}: run `python -m autograder build` first")
    prepare(root)
    _run(root, ["release_assignment", assignment, "--force"])
    return exchange_root(root)


def fetch(root: Path, assignment: str) -> Path:
    """A student's copy of a released assignment in ``work/NN/`` (``nbgrader fetch_assignment``);
    returns the notebook."""
    Course(root).assignment(assignment)
    prepare(root)
    _run(root, ["fetch_assignment", assignment])
    return workspace(root) / assignment / f"{assignment}.ipynb"


def submit(root: Path, assignment: str, student: str | None = None) -> None:
    """Submit ``work/NN/`` to the exchange as ``student`` (default: the login name)."""
    Course(root).assignment(assignment)
    _run(root, ["submit", assignment, *([f"--student={student}"] if student else [])])


def collect(root: Path, assignment: str) -> Path:
    """Copy every student's latest submission from the exchange to ``submitted/`` (``nbgrader
    collect --update``); returns that folder, ready for ``python -m autograder grade``."""
    Course(root).assignment(assignment)
    _run(root, ["collect", assignment, "--update"])
    return Path(root) / "submitted"


# --- what formgrader reads ------------------------------------------------------------------
def format_timestamp(when: dt.datetime) -> str:
    """``when`` as nbgrader writes ``timestamp.txt`` (naive datetimes are taken as UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.strftime(TIMESTAMP_FORMAT)


def read_timestamp(folder: Path) -> dt.datetime | None:
    """The submission time in ``folder/timestamp.txt`` as nbgrader reads it (naive UTC)."""
    from nbgrader.utils import parse_utc

    try:
        return parse_utc((folder / TIMESTAMP).read_text().strip())
    except (OSError, ValueError, OverflowError):
        return None


def submission_time(submission: Submission) -> dt.datetime | None:
    """When a submission was handed in (naive UTC): nbgrader's ``timestamp.txt`` beside the
    notebook, else the zip member's date (local time), else the notebook file's mtime."""
    origin = submission.origin
    if not origin:
        return None
    if ".zip:" in origin:
        archive, member = origin.split(".zip:", 1)
        try:
            with zipfile.ZipFile(archive + ".zip") as z:
                local = dt.datetime(*z.getinfo(member).date_time)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    path = Path(origin)
    folder = path if path.is_dir() else path.parent
    stamped = read_timestamp(folder)
    if stamped is not None or not path.is_file():
        return stamped
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)


def mirror_submissions(root: Path, assignment: str, folder: Path,
                       found: list[Submission] | None = None) -> list[str]:
    """Put every submission of ``folder`` (``found`` there already, or looked up) in nbgrader's
    ``submitted/STUDENT/NN/`` with its ``timestamp.txt`` (only the timestamp when ``folder`` is
    ``submitted/`` itself), so that formgrader counts what the pipeline grades and shows when
    it was handed in. A missing submission gets an empty folder (the report counts it too).
    Returns the student ids."""
    paths = Course(root).assignment(assignment)
    students = []
    for submission in found if found is not None else find_submissions(Path(folder), assignment):
        target = paths.submitted(submission.student)
        when = submission_time(submission)
        target.parent.mkdir(parents=True, exist_ok=True)
        same = submission.origin and Path(submission.origin).resolve() == target.resolve()
        if submission.notebook is not None and not same:
            if target.exists():
                target.chmod(0o644)
            target.write_bytes(submission.notebook)
        if when is not None:
            (target.parent / TIMESTAMP).write_text(format_timestamp(when))
        students.append(submission.student)
    return students


def submitted_at(paths: Assignment, student: str) -> dt.datetime | None:
    """The timestamp formgrader compares with the gradebook's (``submitted/.../timestamp.txt``)."""
    return read_timestamp(paths.submitted(student).parent)


def student_names(gb, student: str) -> dict[str, str]:
    """First and last name to record for ``student``: none when the gradebook already has a
    name (an imported roster: ``nbgrader db student import roster.csv``), else the id as the
    last name, so formgrader shows "ID, " instead of "None, None"."""
    from nbgrader.api import MissingEntry

    try:
        known = gb.find_student(student)
    except MissingEntry:
        return {"last_name": student, "first_name": ""}
    if known.first_name or known.last_name:
        return {}
    return {"last_name": student, "first_name": ""}


def _refused_autograde(self, assignment_id, student_id, force=True, create=True) -> dict:
    pointer = AUTOGRADE_POINTER.format(assignment=assignment_id)
    return {"success": False, "log": pointer, "error": pointer}


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "autograder.lab"}]


# formgrade.js waits for MathJax's start-up signal before it selects the first grade box
MATHJAX_STANDIN = (
    "<script>window.MathJax = window.MathJax || {Hub: {Queue: function () {}, Startup: {signal: "
    "{Interest: function (f) { if (document.readyState === 'complete') { f('End'); } else { "
    "window.addEventListener('load', function () { f('End'); }); } }}}}};</script>\n")


class OfflineGradingView:
    """Formgrader's HTML exporter with nbconvert's CDN MathJax replaced by KaTeX inlined from
    the course's npm install (as in feedback), and a stand-in for the MathJax start-up signal
    formgrader's script waits for."""

    def __init__(self, exporter) -> None:
        self.exporter = exporter

    def from_filename(self, filename, resources=None, **kw):
        from autograder.feedback import offline_maths
        from autograder.offline import AssetsMissing

        html, resources = self.exporter.from_filename(filename, resources=resources, **kw)
        try:
            html = offline_maths(html)
        except AssetsMissing:  # no `npm ci` yet: nbgrader's page as it was (CDN MathJax)
            return html, resources
        return html.replace("<!-- KaTeX ", MATHJAX_STANDIN + "<!-- KaTeX ", 1), resources

    def __getattr__(self, name):
        return getattr(self.exporter, name)


def _load_jupyter_server_extension(server_app) -> None:
    """Jupyter server extension (enabled by :func:`lab_command`): formgrader's Autograde button
    answers with a pointer to the pipeline instead of running plain ``nbgrader autograde``
    (which would first delete the pipeline's autograded notebook, then grade unsandboxed), and
    its grading view typesets maths offline (:class:`OfflineGradingView`)."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.server_extensions.formgrader.base import BaseHandler

    NbGraderAPI.autograde = _refused_autograde
    exporter = BaseHandler.__dict__["exporter"]
    if not getattr(exporter.fget, "cvcourse", False):  # loaded once per process
        offline = property(lambda handler: OfflineGradingView(exporter.fget(handler)))
        offline.fget.cvcourse = True
        BaseHandler.exporter = offline
    server_app.log.info("autograder.lab: formgrader's Autograde points to the pipeline, its "
                        "grading view typesets maths with KaTeX")


def shrink_png(source: Path, target: Path, width: int = 960) -> Path:
    """A copy of screenshot ``source`` for the README: at most ``width`` pixels wide, palette
    PNG (well under 150 KB for a UI screenshot)."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image = image.convert("RGB")
        if image.width > width:
            image = image.resize((width, round(image.height * width / image.width)),
                                 Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True)
    return target


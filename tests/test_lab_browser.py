"""The student's and the instructor's journeys in a real browser, offline: JupyterLab on a tiny
course (127.0.0.1, a random free port, Jupyter's token), a student fetches the released
assignment from the local exchange in the Assignments tab, opens their copy in ``work/`` with
the course kernel, validates it and submits it; formgrader, after the pipeline graded a small
class, lists the assignment with its submissions, names, timestamps and the report's scores.
Headless Chromium from Debian; every request that is not to 127.0.0.1 is refused. Screenshots
go to ``reports/screenshots/`` (or ``$CVCOURSE_SCREENSHOTS``), and with
``CVCOURSE_DOCS_SCREENSHOTS=docs/screenshots`` also a small copy for the README."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import cli
from nbgrader.api import Gradebook
from test_browser import _assert_local, _shot, chromium  # noqa: F401 - the browser fixture
from tiny_course import tiny_course

from autograder import lab
from autograder.build import generate_release
from autograder.course import Course
from autograder.grade import load_results
from autograder.notebook import dumps, read
from autograder.report import summarise
from autograder.submission import fill

pytestmark = pytest.mark.slow  # runs JupyterLab, nbgrader and the grading pipeline

NAME = "00_tiny"
STUDENTS = {"ada": "def square(x):\n    return x * x", "bo": "def square(x):\n    return x + x"}
WHY = "Because $x^2 = x \\cdot x$, and $$\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}.$$"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The tiny course with its release generated and released to its local exchange."""
    root = tiny_course(tmp_path_factory.mktemp("course"))
    generate_release(root, NAME)
    lab.release(root, NAME)
    return root


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory) -> Path:
    """A class of two graded through the pipeline (``ada`` right, ``bo`` wrong), each with
    nbgrader's ``timestamp.txt``."""
    release = read(course / "release" / NAME / f"{NAME}.ipynb")
    submissions = tmp_path_factory.mktemp("submissions")
    for student, answer in STUDENTS.items():
        folder = submissions / student / NAME
        folder.mkdir(parents=True)
        (folder / f"{NAME}.ipynb").write_text(dumps(fill(release, {"square": answer, "why": WHY})))
        (folder / lab.TIMESTAMP).write_text(f"2030-01-0{len(student)} 09:30:00.000000 UTC")
    with Gradebook(Course(course).db_url) as gb:  # a roster's name (nbgrader db student import)
        gb.update_or_create_student("ada", first_name="Ada", last_name="Lovelace")
    graded = cli("grade", NAME, "--submissions", str(submissions), "--workers", "1",
                 "--no-similarity", cwd=course)
    assert graded.returncode == 0, graded.stderr[-2000:]
    return course


@pytest.fixture(scope="module")
def server(course, tmp_path_factory):
    """JupyterLab on the course (what `make lab` runs), its own Jupyter config and data dirs;
    yields its base URL and token, stopped afterwards."""
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("jupyter")
    env = {**lab.lab_env(course), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "run")}
    lab.prepare(course)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(lab.lab_command(course, port, token), cwd=course, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" +
                                (home / "server.log").read_text()[-2000:])
                time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    return page, errors


def test_student_fetches_validates_and_submits_in_jupyterlab(chromium, server, course):  # noqa: F811
    context, refused, seen = chromium
    url, token = server
    page, _ = _page(context)
    page.goto(f"{url}/lab?token={token}", wait_until="domcontentloaded")
    page.get_by_role("menuitem", name="Nbgrader").click(timeout=60_000)
    page.get_by_role("menuitem", name="Assignment List").click()
    panel = page.locator("#released_assignments_list")
    panel.get_by_role("button", name="Fetch").click(timeout=30_000)
    copy = course / lab.WORK / NAME / f"{NAME}.ipynb"
    page.locator("#fetched_assignments_list").get_by_text(NAME).first.wait_for(timeout=30_000)
    assert copy.is_file(), "Fetch did not copy the assignment into work/"
    _shot(page, "lab_assignments.png")
    release = course / "release" / NAME / f"{NAME}.ipynb"
    before = release.read_bytes()
    # the student's copy opens with the course kernel
    page.goto(f"{url}/lab/tree/{lab.WORK}/{NAME}/{NAME}.ipynb?token={token}",
              wait_until="domcontentloaded")
    kernel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName").first
    kernel.wait_for(timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.jp-KernelName')]"
                           ".some(e => e.textContent.includes('Python 3 (cvcourse)'))",
                           timeout=60_000)
    page.get_by_role("button", name="Validate").first.click(timeout=30_000)
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=60_000)
    # the stub raises NotImplementedError: nbgrader names the failing cell
    assert "NotImplementedError" in dialog.inner_text()
    _shot(page, "lab_validate.png")
    dialog.get_by_role("button", name="Ok").click()
    assert release.read_bytes() == before, "validating touched release/"
    # hand it in from the Assignments tab: it lands in the exchange's inbound folder
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    page.locator("#fetched_assignments_list").get_by_role("button", name="Submit").click(
        timeout=30_000)
    page.locator("#submitted_assignments_list").get_by_text(NAME).first.wait_for(
        timeout=30_000)
    inbound = lab.exchange_root(course) / "cv-dl-intro" / "inbound"
    assert any(inbound.glob(f"*+{NAME}+*/{NAME}.ipynb")), "nothing in the exchange's inbound"
    _shot(page, "lab_submitted.png")
    page.close()
    _assert_local(refused, seen)


def test_formgrader_agrees_with_the_class_report(chromium, server, graded):  # noqa: F811
    context, refused, seen = chromium
    url, token = server
    summary = summarise(load_results(Course(graded).assignment(NAME)))
    page, errors = _page(context)
    page.goto(f"{url}/formgrader/manage_assignments?token={token}", wait_until="load")
    row = page.locator("tr", has_text=NAME).first
    row.wait_for(timeout=30_000)
    cells = row.locator("td").all_inner_texts()
    assert str(summary["n_submissions"]) in cells, cells  # the number of submissions
    _shot(page, "formgrader_assignments.png")
    page.goto(f"{url}/formgrader/manage_submissions/{NAME}?token={token}", wait_until="load")
    table = page.locator("table tbody")
    table.locator("tr", has_text="ada").first.wait_for(timeout=30_000)
    text = table.inner_text()
    assert "None" not in text, text  # names and timestamps, not "None, None"
    names = {"ada": "Lovelace, Ada", "bo": "bo,"}  # the roster's name kept, else the id
    for student, total in summary["total"].items():
        line = table.locator("tr", has_text=student).first.inner_text()
        assert names[student] in line and "2030-01-0" in line, line
        assert f"{total:g} / {summary['max_points']:g}" in line, line
    _shot(page, "formgrader_submissions.png")
    # the Autograde button points to the pipeline and leaves the graded notebook alone
    autograded = Course(graded).assignment(NAME).autograded("bo")
    table.locator("tr", has_text="bo").locator("td.autograde a").click()
    modal = page.locator("#error-modal")
    modal.wait_for(timeout=30_000)
    assert f"python -m autograder grade {NAME}" in modal.inner_text()
    assert autograded.is_file()
    modal.get_by_role("button", name="Close").first.click()
    page.goto(f"{url}/formgrader/gradebook/{NAME}?token={token}", wait_until="load")
    mean_all = sum(summary["total"].values()) / len(summary["total"])
    average = page.locator("tr", has_text=NAME).locator("td.avg-score").first
    average.wait_for(timeout=30_000)
    # formgrader averages over every recorded submission (one not graded counts 0)
    assert average.inner_text().strip() == f"{round(mean_all, 2):g} / {summary['max_points']:g}"
    _shot(page, "formgrader_gradebook.png")
    # the grading view: the student's written answer typeset offline (KaTeX, not CDN MathJax)
    page.goto(f"{url}/formgrader/gradebook/{NAME}/{NAME}?token={token}", wait_until="load")
    page.locator("a[href*='/formgrader/submissions/']").first.click(timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.katex').length >= 2", timeout=30_000)
    assert page.locator(".katex-display").count() >= 1
    assert "\\frac" not in page.inner_text("body"), "raw TeX left in the grading view"
    page.wait_for_timeout(500)  # formgrader scrolls to the first grade box once maths is done
    page.locator(".katex-display").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    _shot(page, "formgrader_grading.png")
    assert not errors, errors
    page.close()
    _assert_local(refused, seen)

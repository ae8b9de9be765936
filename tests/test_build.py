"""`python -m autograder build`: regenerates release/ and walkthroughs, --check names stale
files, bad input gets a one-line error and exit status 2; validate's exit status is honest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, cli
from nbformat.v4 import new_code_cell, new_output
from tiny_course import meta, tiny_course

from autograder.feedback import HIDDEN_NOTE, hide_hidden_tests

pytestmark = pytest.mark.slow  # every test here runs nbgrader or the build


# built once per xdist worker; `--dist loadscope` (Makefile) keeps this module on one worker
@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    course = tiny_course(tmp_path_factory.mktemp("tiny"))
    result = cli("build", cwd=course)
    assert result.returncode == 0, result.stderr
    return course


def test_build_writes_release_and_walkthrough_without_secrets(built):
    release = (built / "release" / "00_tiny" / "00_tiny.ipynb").read_text()
    assert "raise NotImplementedError()" in release and "YOUR ANSWER HERE" in release
    assert "secret" not in release and "BEGIN" not in release
    walk = nbformat.read(built / "notebooks" / "00_tiny.ipynb", as_version=4)
    text = "\n".join(c.source for c in walk.cells)
    assert "return x * x" in text and "secret hidden test" not in text and "BEGIN" not in text
    assert walk.cells[1].metadata.slideshow.slide_type == "slide"
    assert walk.cells[4].metadata.slideshow.slide_type == "skip"  # the test cell


def test_check_passes_after_build_and_names_stale_files(built, tmp_path):
    assert cli("build", "--check", cwd=built).returncode == 0
    stale = tmp_path / "stale"
    shutil.copytree(built, stale)
    src = stale / "source" / "00_tiny" / "00_tiny.ipynb"
    src.write_text(src.read_text().replace("x * x", "x ** 2"))
    (stale / "release" / "00_tiny" / "leftover.txt").write_text("old")
    result = cli("build", "--check", cwd=stale)
    assert result.returncode == 1
    assert "notebooks/00_tiny.ipynb" in result.stderr
    assert "release/00_tiny/leftover.txt" in result.stderr
    assert src.read_text().count("x ** 2") == 1, "--check must not write"


def test_build_normalises_source_outputs(built, tmp_path):
    course = tmp_path / "dirty"
    shutil.copytree(built, course)
    src = course / "source" / "00_tiny" / "00_tiny.ipynb"
    nb = nbformat.read(src, as_version=4)
    nb.cells[1].outputs = [new_output("stream", name="stdout", text="hello")]
    nb.cells[1].execution_count = 3
    nbformat.write(nb, src)
    assert "source/00_tiny/00_tiny.ipynb" in cli("build", "--check", cwd=course).stderr
    assert cli("build", cwd=course).returncode == 0
    assert nbformat.read(src, as_version=4).cells[1].outputs == []


@pytest.mark.parametrize("problem", ["unknown", "corrupt", "no-config"])
def test_bad_input_gets_one_line_error(built, tmp_path, problem):
    course = tmp_path / "bad"
    shutil.copytree(built, course)
    args = ["build"]
    if problem == "unknown":
        args.append("99_nothing")
    elif problem == "corrupt":
        (course / "source" / "00_tiny" / "00_tiny.ipynb").write_text("{ not json")
    else:
        (course / "nbgrader_config.py").unlink()
    result = cli(*args, cwd=course)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_validate_exit_status_is_honest(built):
    good = cli("validate", "source/00_tiny/00_tiny.ipynb", cwd=built)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = cli("validate", "release/00_tiny/00_tiny.ipynb", cwd=built)
    assert bad.returncode == 1 and "FAILED" in bad.stdout and "NotImplementedError" in bad.stdout
    missing = cli("validate", "release/00_tiny/nope.ipynb", cwd=built)
    assert missing.returncode == 2 and "no such notebook" in missing.stderr


def test_feedback_hides_hidden_tests_and_their_tracebacks():
    cell = new_code_cell("check_a()\n### BEGIN HIDDEN TESTS\nsecret_b()\n### END HIDDEN TESTS\n"
                         "passed('x')", metadata=meta("t", grade=True, solution=False, points=1))
    cell.outputs = [new_output("error", ename="CheckFailure", evalue="result differs",
                               traceback=["File cell, line 3", "secret_b()", "CheckFailure"])]
    hidden = hide_hidden_tests(cell)
    assert "secret" not in hidden.source and HIDDEN_NOTE in hidden.source
    assert "secret" not in json.dumps(hidden.outputs)
    assert hidden.outputs[0].traceback == ["CheckFailure: result differs"]


def test_the_committed_course_is_up_to_date():
    """Are release/ and notebooks/ exactly what source/ generates?"""
    result = cli("build", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_course_config_in_real_nbgrader(built, tmp_path):
    """Through nbgrader autograde + generate_feedback with the course config: does a correct
    answer that warns keep its points, a wrong one lose them, a deleted test cell come back,
    and does feedback hide the hidden test?"""
    from nbgrader.api import Gradebook

    from autograder.build import generate_release, nbgrader, prepare_workspace
    from autograder.notebook import read
    from autograder.submission import fill, submit

    course = prepare_workspace(built, "00_tiny", tmp_path / "course")
    release = read(generate_release(course, "00_tiny") / "00_tiny.ipynb")
    warns = "def square(x):\n    import warnings\n    warnings.warn('noise', UserWarning)\n" \
            "    return x * x"
    submit(course, "warner", "00_tiny", fill(release, {"square": warns}))
    submit(course, "wrong", "00_tiny", fill(release, {"square": "def square(x):\n    return 9.0"}))
    deleted = fill(release, {"square": "def square(x):\n    return x * x"})
    deleted.cells = [c for c in deleted.cells if "test-square" not in str(c.metadata)]
    submit(course, "deleter", "00_tiny", deleted)
    for step in ("autograde", "generate_feedback"):
        result = nbgrader([step, "00_tiny", "--force"], cwd=course)
        assert result.returncode == 0, result.stderr[-1500:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        score = {s: gb.find_grade("test-square", "00_tiny", "00_tiny", s).score
                 for s in ("warner", "wrong", "deleter")}
    assert score == {"warner": 2.0, "wrong": 0.0, "deleter": 2.0}
    html = (course / "feedback" / "wrong" / "00_tiny" / "00_tiny.html").read_text()
    assert "secret hidden test" not in html and "square(-2.5)" not in html
    assert "hidden tests ran here" in html

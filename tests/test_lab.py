"""autograder.lab without a browser: the JupyterLab command line, submission timestamps and the
``submitted/`` mirror formgrader counts, student names, the Autograde pointer, and the local
exchange round trip (release, fetch, submit, collect) through nbgrader."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, cli
from nbgrader.api import Gradebook
from tiny_course import tiny_course

from autograder import lab
from autograder.build import generate_release
from autograder.collect import find_submissions
from autograder.course import Course
from autograder.grade import record
from autograder.result import GradeResult

NAME = "00_tiny"


def test_lab_command_listens_on_localhost_with_news_off():
    cmd = lab.lab_command(ROOT, port=9999, token="t")
    assert "--ip=127.0.0.1" in cmd and "--ServerApp.port=9999" in cmd
    assert "--IdentityProvider.token=t" in cmd and "--LabApp.news_url=None" in cmd
    assert f"--ServerApp.root_dir={ROOT}" in cmd
    assert "--ServerApp.jpserver_extensions=autograder.lab=True" in cmd
    assert not any(a.startswith("--IdentityProvider.token") for a in lab.lab_command(ROOT))


def test_course_config_points_the_exchange_into_the_course():
    config = Course(ROOT).config()
    assert config.Exchange.root == str(ROOT / "exchange")
    assert config.Exchange.assignment_dir == str(ROOT / "work")
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "exchange/" in ignored and "work/" in ignored


def test_prepare_makes_the_workspace_load_the_course_config(tmp_path):
    course = tiny_course(tmp_path)
    lab.prepare(course)
    assert lab.exchange_root(course).is_dir()
    text = (course / "work" / "nbgrader_config.py").read_text()
    assert f"load_subconfig({str((course / 'nbgrader_config.py').resolve())!r})" in text


def test_timestamps_round_trip_as_nbgrader_reads_them(tmp_path):
    when = dt.datetime(2030, 5, 6, 7, 8, 9, 123456)
    (tmp_path / lab.TIMESTAMP).write_text(lab.format_timestamp(when))
    assert lab.read_timestamp(tmp_path) == when
    aware = dt.datetime(2030, 5, 6, 9, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert lab.format_timestamp(aware) == lab.format_timestamp(when)
    (tmp_path / lab.TIMESTAMP).write_text("not a time")
    assert lab.read_timestamp(tmp_path) is None


def _class(folder: Path) -> Path:
    """ada: folder with timestamp.txt; bo: folder, no timestamp; cy: zip; dee: nothing."""
    for student in ("ada", "bo", "dee"):
        (folder / student / NAME).mkdir(parents=True)
    (folder / "ada" / NAME / f"{NAME}.ipynb").write_text("{}")
    (folder / "ada" / NAME / lab.TIMESTAMP).write_text("2030-01-02 03:04:05.000000 UTC")
    (folder / "bo" / NAME / f"{NAME}.ipynb").write_text("{}")
    os.utime(folder / "bo" / NAME / f"{NAME}.ipynb", (1_900_000_000, 1_900_000_000))
    with zipfile.ZipFile(folder / f"cy_{NAME}.zip", "w") as z:
        z.writestr(zipfile.ZipInfo(f"{NAME}/{NAME}.ipynb", (2031, 2, 3, 4, 5, 6)), "{}")
    return folder


def test_submission_time_from_timestamp_file_mtime_or_zip(tmp_path):
    found = {s.student: s for s in find_submissions(_class(tmp_path), NAME)}
    assert lab.submission_time(found["ada"]) == dt.datetime(2030, 1, 2, 3, 4, 5)
    assert lab.submission_time(found["bo"]) == dt.datetime.fromtimestamp(
        1_900_000_000, dt.UTC).replace(tzinfo=None)
    local = dt.datetime(2031, 2, 3, 4, 5, 6).astimezone(dt.UTC).replace(tzinfo=None)
    assert lab.submission_time(found["cy"]) == local
    assert lab.submission_time(found["dee"]) is None


def test_mirror_puts_every_submission_in_submitted_with_its_timestamp(tmp_path):
    course = tiny_course(tmp_path / "course")
    paths = Course(course).assignment(NAME)
    students = lab.mirror_submissions(course, NAME, _class(tmp_path / "in"))
    assert students == ["ada", "bo", "cy", "dee"]
    for student in ("ada", "bo", "cy"):
        assert paths.submitted(student).read_text() == "{}"
        assert lab.submitted_at(paths, student) is not None
    assert paths.submitted("dee").parent.is_dir() and not paths.submitted("dee").exists()
    assert lab.submitted_at(paths, "ada") == dt.datetime(2030, 1, 2, 3, 4, 5)
    # grading submitted/ itself: only the missing timestamp is added, the notebook untouched
    (paths.submitted("bo").parent / lab.TIMESTAMP).unlink()
    before = paths.submitted("bo").stat().st_mtime_ns
    lab.mirror_submissions(course, NAME, course / "submitted")
    assert lab.submitted_at(paths, "bo") is not None
    assert paths.submitted("bo").stat().st_mtime_ns == before


def test_record_names_students_and_stamps_submissions(tmp_path):
    course = tiny_course(tmp_path)
    paths = Course(course).assignment(NAME)
    with Gradebook(paths.course.db_url) as gb:  # the assignment, as sync_gradebook records it
        gb.update_or_create_assignment(NAME)
        gb.update_or_create_notebook(NAME, NAME)
        gb.update_or_create_student("ada", first_name="Ada", last_name="Lovelace")
    paths.submitted("bo").parent.mkdir(parents=True)
    (paths.submitted("bo").parent / lab.TIMESTAMP).write_text("2030-01-02 03:04:05.5 UTC")
    for student in ("ada", "bo"):
        record(paths, GradeResult(student, NAME, "missing", "no notebook"))
    with Gradebook(paths.course.db_url) as gb:
        ada, bo = gb.find_student("ada"), gb.find_student("bo")
        assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")  # a roster's name is kept
        assert (bo.first_name, bo.last_name) == ("", "bo")
        assert gb.find_submission(NAME, "bo").timestamp == dt.datetime(2030, 1, 2, 3, 4, 5,
                                                                        500000)
        assert gb.find_submission(NAME, "ada").timestamp is None


def test_formgrader_autograde_answers_with_the_pipeline(monkeypatch):
    from nbgrader.apps.api import NbGraderAPI

    class App:
        class log:  # noqa: N801 - stands in for the server's logger
            info = staticmethod(lambda *a: None)

    from nbgrader.server_extensions.formgrader.base import BaseHandler

    monkeypatch.setattr(NbGraderAPI, "autograde", NbGraderAPI.autograde)
    monkeypatch.setattr(BaseHandler, "exporter", BaseHandler.__dict__["exporter"])
    lab._load_jupyter_server_extension(App())
    answer = NbGraderAPI.autograde(None, NAME, "ada")
    assert answer["success"] is False
    assert f"python -m autograder grade {NAME} --submissions submitted" in answer["error"]
    assert lab._jupyter_server_extension_points() == [{"module": "autograder.lab"}]


def test_formgrader_grading_view_typesets_maths_offline():
    page = ("<html><head><!-- Load mathjax -->\n<script src=\"https://cdnjs.cloudflare.com/ajax/"
            "libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe\"> </script>\n"
            "<script type=\"text/x-mathjax-config\">init_mathjax();</script></head>"
            "<body>$x^2$</body></html>")

    class Exporter:
        file_extension = ".html"

        def from_filename(self, filename, resources=None):
            return page, {"seen": filename}

    html, resources = lab.OfflineGradingView(Exporter()).from_filename("nb.ipynb")
    assert resources == {"seen": "nb.ipynb"} and lab.OfflineGradingView(Exporter()).file_extension
    assert "cdnjs" not in html and "x-mathjax-config" not in html
    assert "cvcourseTypeset" in html and html.index(lab.MATHJAX_STANDIN) < html.index("</head>")


def test_shrink_png_for_the_readme(tmp_path):
    from PIL import Image

    Image.new("RGB", (1600, 1000), "white").save(tmp_path / "big.png")
    small = lab.shrink_png(tmp_path / "big.png", tmp_path / "docs" / "small.png", width=800)
    with Image.open(small) as image:
        assert image.size == (800, 500)
    assert small.stat().st_size < 150_000


@pytest.mark.slow
def test_exchange_round_trip_release_fetch_submit_collect(tmp_path):
    """Through the CLI: the student's copy lands in work/, release/ is never written, the
    submission reaches submitted/ with nbgrader's timestamp."""
    course = tiny_course(tmp_path)
    generate_release(course, NAME)
    release = course / "release" / NAME / f"{NAME}.ipynb"
    before = release.read_bytes()
    for step in (["release", NAME], ["fetch", NAME], ["submit", NAME, "--student", "ada"],
                 ["collect", NAME]):
        done = cli(*step, cwd=course, env={"JUPYTER_DATA_DIR": str(tmp_path / "data")})
        assert done.returncode == 0, (step, done.stderr[-1500:])
    assert (course / "work" / NAME / f"{NAME}.ipynb").read_bytes() == before
    assert release.read_bytes() == before
    paths = Course(course).assignment(NAME)
    assert paths.submitted("ada").read_bytes() == before
    assert lab.submitted_at(paths, "ada") is not None
    again = cli("release", "99_nothing", cwd=course)
    assert again.returncode == 2 and again.stderr.startswith("error: unknown assignment")

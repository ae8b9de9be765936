"""The class report: summary numbers checked against numpy on synthetic results, and the HTML
checked for figures, escaping, flags, edge cases and being fully offline."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from autograder.report import summarise, write_report
from autograder.result import GradeResult

MAX = {"test-a": 2.0, "test-b": 3.0, "test-zero": 0.0, "test-d": 5.0}  # notebook order
INJECTION = "<script>alert(1)</script>"
SCORES = {  # graded students only: grade_id -> score
    "alice": {"test-a": 2.0, "test-b": 3.0, "test-zero": 0.0, "test-d": 5.0},
    "bob": {"test-a": 1.0, "test-b": 3.0, "test-zero": 0.0, "test-d": 0.0},
    "cheater": {"test-a": 2.0, "test-b": 3.0, "test-zero": 0.0, "test-d": 5.0},
    INJECTION: {"test-a": 0.0, "test-b": 1.5, "test-zero": 0.0, "test-d": 5.0},
}
FLAGS = [
    {"cell": "cell-bfgs", "line": 3, "code": "np.allclose = lambda *a, **k: True",
     "reason": "replaces numpy.allclose (monkeypatching)"},
    {"cell": "cell-grad", "line": 12,
     "code": "builtins.abs = lambda x: x if x < 0 else '<img src=x>'",
     "reason": "replaces builtins.abs <monkeypatching>"},
]
NOT_GRADED = {"dave": ("missing", "no notebook submitted"),
              "erin": ("corrupt", "notebook is not valid JSON: Expecting value <line 1>")}
META = {"assignment": "01_optimization", "course_id": "cv-2025", "device": "cuda (NVIDIA H100)",
        "workers": 4, "wall_s": 83.2, "generated": "2025-05-01T12:00:00+00:00",
        "scheduler": "LocalCluster"}


def make_result(student: str, status: str = "graded", scores: dict | None = None,
                reason: str = "", flags: list | None = None, events: list | None = None,
                order: list[str] | None = None) -> GradeResult:
    """One submission's result, as the grader stores it."""
    scores = scores or {}
    ids = order or list(scores)
    return GradeResult.from_json({
        "student": student, "assignment": "01_optimization", "status": status, "reason": reason,
        "tests": {g: {"score": scores[g], "max": MAX[g],
                      "message": "" if scores[g] == MAX[g] else f"<b>{g}</b> wrong value"}
                  for g in ids},
        "manual": {"answer-discuss": {"max": 2.0}} if status == "graded" else {},
        "flags": flags or [], "events": events or [], "runtime_s": 4.0 + len(student) / 10,
        "device": META["device"], "worker": "w0",
    })


def class_results() -> list[GradeResult]:
    results = [make_result(s, scores=sc) for s, sc in SCORES.items() if s != "cheater"]
    results.insert(2, make_result("cheater", scores=SCORES["cheater"], flags=FLAGS,
                                  events=["cell test-d timed out after 10 s; kernel restarted"],
                                  order=list(reversed(MAX))))  # a later result's order is ignored
    results += [make_result(s, status=st, reason=why) for s, (st, why) in NOT_GRADED.items()]
    return results


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_report(class_results(), META, tmp_path_factory.mktemp("r") / "sub" / "r.html")
    assert path.is_file()
    return path.read_text(encoding="utf-8")


# --- summarise ------------------------------------------------------------------------------
def test_counts_and_maximum() -> None:
    s = summarise(class_results())
    assert (s["n_submissions"], s["n_graded"], s["n_not_graded"]) == (6, 4, 2)
    assert s["max_points"] == 2 + 3 + 0 + 5 + 2  # the tests and the manual answer


def test_mean_and_median_match_numpy() -> None:
    totals = np.array([sum(sc.values()) for sc in SCORES.values()])
    s = summarise(class_results())
    assert s["mean_points"] == pytest.approx(np.mean(totals))
    assert s["median_points"] == pytest.approx(np.median(totals))
    assert s["mean_percent"] == pytest.approx(100 * np.mean(totals) / 12)
    # formgrader's average counts the two submissions that were not graded as 0
    assert s["mean_all_points"] == pytest.approx(np.sum(totals) / (len(totals) + 2))


def test_pass_rate_in_notebook_order() -> None:
    s = summarise(class_results())
    assert list(s["pass_rate"]) == list(MAX)  # first graded result's order, not the cheater's
    for g, m in MAX.items():
        expected = np.mean([sc[g] >= m for sc in SCORES.values()])
        assert s["pass_rate"][g] == pytest.approx(expected), g
    assert s["pass_rate"]["test-zero"] == 1.0  # a 0-point test is always at full marks


def test_totals_flags_and_manual() -> None:
    s = summarise(class_results())
    assert s["total"] == {**{k: sum(v.values()) for k, v in SCORES.items()}, "dave": 0.0,
                          "erin": 0.0}
    assert s["flagged"] == {"cheater": 2}
    assert s["manual"] == {"answer-discuss": {"max": 2.0, "submissions": 4}}


def test_summary_of_nothing() -> None:
    s = summarise([])
    assert (s["n_submissions"], s["n_graded"], s["max_points"]) == (0, 0, 0.0)
    assert s["mean_points"] is None and s["median_points"] is None
    assert s["mean_all_points"] is None
    assert s["pass_rate"] == {} and s["flagged"] == {} and s["total"] == {}


# --- the HTML report ------------------------------------------------------------------------
def test_report_has_inline_figures(report: str) -> None:
    assert report.count('<img src="data:image/png;base64,') >= 3


def test_report_escapes_student_ids_and_messages(report: str) -> None:
    assert html.escape(INJECTION) in report
    assert "<script" not in report.lower()
    assert "<b>" not in report and html.escape("<b>test-a</b> wrong value") in report


def test_report_lists_every_flag(report: str) -> None:
    for flag in FLAGS:
        assert html.escape(flag["code"]) in report
        assert html.escape(flag["reason"]) in report
    assert "<img src=x>" not in report and "<monkeypatching>" not in report
    assert "No submissions were flagged." not in report


def test_report_shows_header_numbers_and_reasons(report: str) -> None:
    for text in ["01_optimization", "cv-2025", "cuda (NVIDIA H100)", "LocalCluster",
                 "4 graded, 2 not graded", "1 corrupt, 1 missing", "timed out after 10 s"]:
        assert text in report, text
    for _, why in NOT_GRADED.values():
        assert html.escape(why) in report
    # pass-rate table rows follow notebook order
    positions = [report.index(f"<td>{g}</td>") for g in MAX]
    assert positions == sorted(positions)


def test_report_is_offline(report: str) -> None:
    assert "http://" not in report and "https://" not in report
    assert "<script" not in report and "<link" not in report


def test_empty_report(tmp_path: Path) -> None:
    text = write_report([], META, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "data:image/png" not in text
    assert "No graded submissions" in text and "No submissions were flagged." in text


def test_only_not_graded(tmp_path: Path) -> None:
    results = [make_result(s, status=st, reason=why) for s, (st, why) in NOT_GRADED.items()]
    results.append(make_result("frank", status="error", reason="kernel died <oom>"))
    text = write_report(results, META, tmp_path / "none.html").read_text(encoding="utf-8")
    assert "No graded submissions" in text
    assert html.escape("kernel died <oom>") in text and "<oom>" not in text
    assert "0 / 0" in text


def test_manual_points_count_once_an_instructor_gave_them(tmp_path: Path) -> None:
    results = class_results()
    results[0].manual["answer-discuss"]["score"] = 1.5  # alice, graded in formgrader
    results[1].manual["answer-discuss"]["score"] = 0.0  # bob, graded: zero is a grade
    s = summarise(results)
    assert s["total"]["alice"] == sum(SCORES["alice"].values()) + 1.5
    assert s["total"]["bob"] == sum(SCORES["bob"].values())
    assert s["manual"] == {"answer-discuss": {"max": 2.0, "submissions": 2}}  # two to grade
    text = write_report(results, META, tmp_path / "m.html").read_text(encoding="utf-8")
    assert ">1.5 / 2<" in text and ">0 / 2<" in text  # alice's and bob's manual column
    assert text.count(">0 / 2 (1 to grade)<") == 2  # cheater and the injection id: pending
    for result in results:
        for cell in result.manual.values():
            cell["score"] = 2.0
    assert summarise(results)["manual"] == {}  # nothing left to grade: no such table


def test_all_zero_point_tests(tmp_path: Path) -> None:
    results = [make_result(s, scores={"test-zero": 0.0}) for s in ["a", "b"]]
    for result in results:
        result.manual.clear()
    s = summarise(results)
    assert s["max_points"] == 0 and s["mean_percent"] is None
    text = write_report(results, META, tmp_path / "zero.html").read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 3


def test_odd_ids_render_without_touching_the_callers_matplotlib(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A '$...$' id must not be parsed as mathtext, and the report must not pick a backend."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must not choose a matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", refuse)
    backend = matplotlib.rcParams._get("backend")
    odd = r"$\notacommand{x}$_^"
    path = write_report([make_result(odd, scores=SCORES["bob"])], META, tmp_path / "m.html")
    text = path.read_text(encoding="utf-8")
    assert html.escape(odd) in text and text.count("data:image/png;base64,") == 3
    assert matplotlib.rcParams._get("backend") == backend


def test_a_result_survives_its_json_and_bad_records_are_refused() -> None:
    result = class_results()[2]
    again = GradeResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again == result and again.points == 10.0 and "notebook" not in result.to_json()
    assert class_results()[-1].points == 0.0  # not graded: no points
    for bad in ([], {"student": "x"}, {"student": "x", "assignment": "a", "status": "graded",
                                       "tests": {"t": {"score": "lots"}}}):
        with pytest.raises(ValueError):
            GradeResult.from_json(bad)

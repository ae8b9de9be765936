"""``python -m autograder bench`` on the one-exercise course: the table it prints."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from tiny_course import tiny_course

from autograder.bench import bench, bench_class


@pytest.mark.slow
def test_bench_prints_nbgrader_and_the_pipeline_side_by_side(tmp_path):
    course = tiny_course(tmp_path / "course")
    table = bench(course, "00_tiny", k=2, workers=2).splitlines()
    assert table[0].startswith("2 submissions of 00_tiny")
    rows = {line.split("  ")[0].strip(): line.split() for line in table[2:]}
    assert set(rows) == {"nbgrader autograde (sequential)", "autograder grade, 1 worker(s)",
                         "autograder grade, 2 worker(s)"}
    for label, cells in rows.items():
        wall, per, one = float(cells[-4]), float(cells[-3]), cells[-1]
        assert wall > 0 and per == pytest.approx(wall / 2, abs=0.06)
        assert (one == "-") == label.startswith("nbgrader") and (one == "-" or float(one) > 0)


@pytest.mark.slow
def test_the_class_benchmark_grades_every_submission_and_reports_the_writer(tmp_path):
    table = bench_class(ROOT / "nbgrader_config.py", n=8, workers=2).splitlines()
    cores = os.cpu_count()
    assert table[0] == f"simulated class of 8 on LocalCluster, 2 workers, {cores} CPU cores"
    rows = {line[:46].strip(): line[46:].strip() for line in table[1:]}
    assert rows["submissions graded (full marks)"] == "8 (8)"
    throughput = float(rows["throughput, submissions/s"])
    wall = float(rows["grading wall s (export not included)"])
    assert throughput == pytest.approx(8 / wall, rel=0.05)
    assert float(rows["median graded run s"]) > 0
    assert float(rows["writer s per result (median)"]) > 0
    assert "writer RSS MiB at 4 / 8 results" in rows

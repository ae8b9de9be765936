"""``python -m autograder bench`` on the one-exercise course: the table it prints."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from tiny_course import tiny_course

from autograder.bench import bench, bench_class


@pytest.mark.slow
def test_bench_prints_the_interactive_run_nbgrader_and_the_pipeline_per_notebook(tmp_path):
    course = tiny_course(tmp_path / "course")
    table = bench(course, ["00_tiny"], k=2, workers=2).splitlines()
    assert table[0].startswith("2 model submissions per notebook")
    assert table[1].split() == ["notebook", "interactive", "nbgrader", "pipeline", "1w",
                                "speed-up", "one", "run", "pipeline", "2w", "speed-up"]
    name, interactive, nbg, one_w, speed_1, one, two_w, speed_2 = table[2].split()
    assert name == "00_tiny" and len(table) == 3
    assert min(float(interactive), float(nbg), float(one_w), float(one), float(two_w)) > 0
    # the speed-ups are the ratios of the columns they sit beside (rounding allowed)
    assert float(speed_1[:-1]) == pytest.approx(float(nbg) / float(one_w), rel=0.02, abs=0.01)
    assert float(speed_2[:-1]) == pytest.approx(float(nbg) / float(two_w), rel=0.02, abs=0.01)


@pytest.mark.slow
def test_the_class_benchmark_grades_every_submission_and_reports_the_writer(tmp_path):
    table = bench_class(ROOT / "nbgrader_config.py", n=8, workers=2,
                        trace_memory=True).splitlines()
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
    heap_half, heap_all = map(float, rows["writer Python heap MiB at 4 / 8"].split(" / "))
    assert 0 < heap_half and 0 < heap_all  # tracemalloc was on while the class was graded
    assert float(rows["writer heap growth KiB per result"]) == pytest.approx(
        (heap_all - heap_half) * 1024 / 4, abs=26)  # MiB rounded to 0.1: 102 KiB / 4

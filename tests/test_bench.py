"""``python -m autograder bench`` on the one-exercise course: the table it prints."""

from __future__ import annotations

import pytest
from tiny_course import tiny_course

from autograder.bench import bench


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

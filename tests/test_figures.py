"""Graded runs draw no figures unless asked (``grade --figures``): the student's plotting code
still runs, the figures are never rendered, and nothing piles up between cells."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from tiny_course import tiny_course

from autograder.course import Course
from autograder.execute import Limits
from autograder.grade import GradeOptions, grade
from autograder.notebook import read
from autograder.submission import fill, model_answers, submit

PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title('mine')\nplt.show()"


def test_the_backend_builds_figures_but_never_draws_them(tmp_path):
    probe = f"""
import json
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
draws = []
real_draw = FigureCanvasAgg.draw
FigureCanvasAgg.draw = lambda self: (draws.append(1), real_draw(self))[1]
fig, ax = plt.subplots()
ax.plot([1, 2])
open_before = plt.get_fignums()
plt.show()
open_after = plt.get_fignums()
drawn_by_show = len(draws)
plt.plot([3, 4])
plt.savefig({str(tmp_path / "saved.png")!r})  # saving a figure still works, and draws it
print(json.dumps([plt.get_backend(), open_before, open_after, drawn_by_show, len(draws)]))
"""
    env = {"MPLBACKEND": "module://autograder.nofigures", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    backend, open_before, open_after, drawn_by_show, draws = json.loads(out.stdout)
    assert backend == "module://autograder.nofigures"
    assert open_before == [1] and open_after == []  # show() closed it without a draw
    assert drawn_by_show == 0 and draws > 0 and (tmp_path / "saved.png").stat().st_size > 1000


def _images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


@pytest.mark.slow
def test_graded_notebooks_have_figures_only_with_the_figures_option(tmp_path):
    course = tiny_course(tmp_path / "course")
    paths = Course(course).assignment("00_tiny")
    from autograder.build import generate_release, prepare_workspace

    release = read(generate_release(prepare_workspace(course, "00_tiny", tmp_path / "rel"),
                                    "00_tiny") / "00_tiny.ipynb")
    nb = fill(release, model_answers(read(paths.source)))
    nb.cells.insert(3, nbformat.v4.new_code_cell(PLOT))  # the student plots after the answer
    submit(course, "plotter", "00_tiny", nb)
    drawn = {}
    for figures in (False, True):
        options = GradeOptions(workers=1, force=True, quiet=True, figures=figures,
                               limits=Limits(cell_s=60, notebook_s=180))
        summary = grade(course, "00_tiny", course / "submitted", options)
        (result,) = summary["results"]
        assert result.points == 2.0, result.tests  # the plotting cell costs nothing either way
        drawn[figures] = _images(read(paths.autograded("plotter")))
    assert drawn == {False: 0, True: 1}

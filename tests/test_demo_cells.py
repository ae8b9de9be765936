"""Which demo cells a graded run may skip (``autograder.execute.demo_cells``): only those no
test, no answer and none of the student's own cells can depend on; any doubt runs them."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.execute import demo_cells, plan_cells
from autograder.sample import cell_meta

SETUP = new_code_cell("import numpy as np\nfrom cvcourse import plot\nDEVICE = 'cpu'",
                      metadata=cell_meta("setup", grade=False, solution=False, locked=True))


def answer(gid: str, source: str):
    return new_code_cell(source, metadata=cell_meta(gid, grade=False, solution=True,
                                                    locked=False))


def graded_test(gid: str, source: str):
    return new_code_cell(source, metadata=cell_meta(gid, grade=True, solution=False,
                                                    locked=True, points=1))


def locked(gid: str, source: str):
    return new_code_cell(source, metadata=cell_meta(gid, grade=False, solution=False,
                                                    locked=True))


def course(*cells) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """(release, a submission with the same cells): the student changed nothing."""
    release = new_notebook(cells=[SETUP, new_markdown_cell("# t"), *cells])
    return release, nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))


SQUARE = answer("square", "def square(x):\n    return x * x")
TEST = graded_test("test-square", "from autograder.checks import assert_close, passed\n"
                 "assert_close(square(3.0), 9.0)\npassed('ok')")


def test_a_demo_that_only_shows_results_is_skipped_and_the_rest_runs():
    demo = new_code_cell("xs = np.linspace(-2, 2, 50)\nys = [square(x) for x in xs]\n"
                         "plot.line(xs, ys)\nprint(DEVICE, len(xs))")
    release, nb = course(SQUARE, TEST, demo)
    assert demo_cells(nb, release) == {4}


def test_a_demo_the_student_changed_or_added_runs():
    demo = new_code_cell("xs = np.linspace(-2, 2, 50)")
    release, nb = course(SQUARE, TEST, demo)
    nb.cells[4].source += "\nimport torch\ntorch.set_default_dtype(torch.float64)"
    nb.cells.append(new_code_cell("print('my own cell')"))
    assert demo_cells(nb, release) == set()


def test_a_demo_binding_what_an_answer_or_a_students_cell_reads_runs():
    helper = new_code_cell("def helper(x):\n    return 2 * x")
    data = new_code_cell("SCALE = 3.0")
    shown = new_code_cell("print(square(2.0))")  # calling an answer changes nothing
    uses = answer("square", "def square(x):\n    return helper(x) * x / 2")
    release, nb = course(helper, data, uses, TEST, shown)
    nb.cells.append(new_code_cell("print(SCALE)"))  # the student's own cell reads SCALE
    assert demo_cells(nb, release) == {6}  # only the cell that shows results


def test_read_only_cells_that_tests_read_run_unlike_ordinary_cells():
    # read-only cells also run in the judge, where tests see them; ordinary cells never do
    shared = locked("shared-data", "POINTS = np.arange(5.0)")
    ordinary = new_code_cell("POINTS = np.arange(7.0)")
    reads = graded_test("test-square", "from autograder.checks import assert_close, passed\n"
                      "assert_close(square(POINTS), POINTS ** 2)\npassed('ok')")
    release, nb = course(SQUARE, shared, ordinary, reads)
    plan = plan_cells(nb, release)
    # only the tests read POINTS, so its read-only cell runs in the judge alone
    assert plan.skip == {4} and plan.judge_only == {3}
    # ... unless the student's code reads it too: then it runs in both kernels, and so does the
    # ordinary cell that rebinds it
    nb.cells[2].source = "def square(x):\n    return x * x + 0 * POINTS[0]"
    plan = plan_cells(nb, release)
    assert plan.skip == set() and plan.judge_only == set()
    # and what a judge-only cell reads from other read-only cells runs in the judge too
    base = locked("base", "STEP = 1.0")
    shared.source = "POINTS = np.arange(5.0) * STEP"
    release, nb = course(SQUARE, base, shared, ordinary, reads)
    plan = plan_cells(nb, release)
    assert plan.skip == {5} and plan.judge_only == {3, 4}


def test_a_demo_that_may_change_what_a_later_cell_uses_runs_and_so_do_its_inputs():
    build = new_code_cell("weights = np.ones(3)")
    change = new_code_cell("weights *= 2\nweights.sort()")
    unrelated = new_code_cell("shown = np.zeros(2)\nprint(shown)")
    uses = answer("square", "def square(x):\n    return x * x * weights[0] / weights[0]")
    release, nb = course(build, change, unrelated, uses, TEST)
    assert demo_cells(nb, release) == {4}


def test_a_cascade_keeps_every_cell_a_kept_demo_reads():
    first = new_code_cell("base = 2")
    second = new_code_cell("factor = base * 3")
    uses = answer("square", "def square(x):\n    return x * x * factor / factor")
    release, nb = course(first, second, uses, TEST)
    assert demo_cells(nb, release) == set()


def test_dynamic_name_access_or_a_magic_means_every_cell_runs():
    demo = new_code_cell("xs = np.linspace(-2, 2, 50)")
    for student_code in ("def square(x):\n    return globals()['xs'] is not None and x * x",
                         "def square(x):\n    return eval('x * x')",
                         "%timeit 1 + 1\ndef square(x):\n    return x * x"):
        release, nb = course(SQUARE, TEST, demo)
        nb.cells[2].source = student_code
        assert demo_cells(nb, release) == set(), student_code
    release, nb = course(SQUARE, TEST, demo, new_code_cell("%matplotlib inline"))
    assert demo_cells(nb, release) == set()


def test_the_setup_and_graded_cells_never_count_as_demos():
    release, nb = course(SQUARE, TEST)
    assert demo_cells(nb, release) == set()


def _judge_plan(test_source: str, demo_source: str = "boxes = np.arange(3.0)"):
    """Plan of a notebook whose read-only demo binds ``boxes`` before a test runs."""
    demo = locked("demo", demo_source)
    test = graded_test("test-square", "from autograder.checks import assert_close, passed\n"
                       + test_source + "\npassed('ok')")
    release, nb = course(SQUARE, demo, test)
    return plan_cells(nb, release)


def test_a_name_a_test_binds_before_reading_it_does_not_need_the_demo():
    for source in ("boxes = square(np.arange(3.0))\nassert_close(boxes, np.arange(3.0) ** 2)",
                   "boxes, scores = square(2.0), 1\nassert_close(boxes + scores, 5.0)",
                   "import numpy as boxes\nassert_close(square(boxes.ones(1)), 1.0)",
                   "def boxes(x):\n    return square(x)\nassert_close(boxes(2.0), 4.0)",
                   "for boxes in [1.0, 2.0]:\n    assert_close(square(boxes), boxes * boxes)\n"
                   "assert_close(boxes, 2.0)",
                   "for i, (boxes, n) in enumerate([(1.0, 2)]):\n    assert_close(boxes, 1.0)",
                   "with np.errstate(all='ignore') as boxes:\n    assert_close(square(2.0), 4.0)",
                   "def check(boxes):\n    assert_close(square(boxes), boxes ** 2)\n"
                   "check(3.0)\nboxes = 1"):
        assert _judge_plan(source).skip == {3}, source


def test_a_name_a_test_may_read_before_binding_it_keeps_the_demo():
    # the demo's boxes can reach the test whenever binding it first is not certain
    for source in ("assert_close(square(boxes), boxes ** 2)\nboxes = 1",
                   "boxes = boxes * 2\nassert_close(square(boxes), boxes ** 2)",
                   "boxes[0] = 1.0\nassert_close(square(boxes), boxes ** 2)",
                   "if square(1.0) > 2:\n    boxes = 1.0\nassert_close(boxes, boxes)",
                   "try:\n    boxes = square(None)\nexcept TypeError:\n    pass\n"
                   "assert_close(boxes, boxes)",
                   "for boxes in []:\n    pass\nassert_close(square(boxes), boxes ** 2)",
                   "for x in np.arange(3.0):\n    boxes = square(x)\nassert_close(boxes, 4.0)",
                   "for x in [1.0, 2.0]:\n    if x > 1:\n        continue\n    boxes = x\n"
                   "assert_close(boxes, 1.0)",
                   "def check(x=boxes):\n    return square(x)\nboxes = check()",
                   "def check():\n    return square(boxes)\nboxes = check()",
                   "values = [b for b in boxes]\nboxes = 1",
                   "from contextlib import suppress\nwith suppress(TypeError):\n"
                   "    boxes = square(None)\nassert_close(boxes, boxes)"):
        plan = _judge_plan(source)
        assert plan.skip == set() and plan.judge_only == {3}, source

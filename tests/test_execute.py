"""The two-kernel executor on one many-exercise notebook: every fault and cheat sits in its own
exercise, and each must cost exactly that exercise's points, with every later test scored as
if nothing had happened (no lost message after a timeout, a dead kernel or a memory cap).

Several tests here are "detectors": the test passes only when the protection holds (e.g. the
student's code could not see the hidden test's text), so a score of 1 means the cheat failed."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from nbgrader import utils as nbutils
from tiny_course import meta

from autograder.execute import GradingRun, Limits
from autograder.notebook import grade_id

SECRET = "hidden-expected-3f9c"

# name: (answer cell, test cell, points the answer should earn)
EXERCISES = {
    "right": ("def right():\n    return 2", "check(right() == 2, 'right() must be 2')", 1),
    "wrong": ("def wrong():\n    return 3", "check(wrong() == 2, 'wrong() must be 2')", 0),
    # a fault early in the notebook: every later test must still be scored exactly
    "hangs": ("def hangs():\n    while True:\n        pass", "check(hangs() == 2, 'hangs')", 0),
    "after_hang": ("def after_hang():\n    return 5",
                   "check(after_hang() == 6, 'after_hang() must be 6 (a failing test)')", 0),
    "swallows": ("def swallows():\n    import time\n    while True:\n        try:\n"
                 "            time.sleep(0.05)\n        except KeyboardInterrupt:\n"
                 "            pass", "check(swallows() == 2, 'swallows')", 0),
    "after_swallow": ("def after_swallow():\n    return 7",
                      "check(after_swallow() == 7, 'after_swallow')", 1),
    "dies": ("def dies():\n    import os\n    os._exit(3)", "check(dies() == 2, 'dies')", 0),
    "memory": ("def memory():\n    return bytearray(8 * 2**30)",
               "check(len(memory()) == 1, 'memory')", 0),
    "kills_parent": ("def kills_parent():\n    import os, signal\n"
                     "    for pid in (os.getppid(), 1):\n"
                     "        try:\n            os.kill(pid, signal.SIGKILL)\n"
                     "        except OSError:\n            pass\n    return 0",
                     "check(kills_parent() == 9, 'kills_parent')", 0),
    # cheats that would hide a failing test's error in a single-kernel grader
    "custom_exc": ("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                   "def custom_exc():\n    return 0", "check(custom_exc() == 2, 'custom_exc')", 0),
    "patched_checks": ("import autograder.checks, numpy\n"
                       "autograder.checks.check = lambda *a, **k: None\n"
                       "numpy.allclose = lambda *a, **k: True\n"
                       "def patched_checks():\n    return 0",
                       "import numpy as np\nfrom autograder.checks import assert_close\n"
                       "assert_close(np.array([patched_checks()]), np.array([2.0]))", 0),
    "liar": ("class Anything:\n    def __eq__(self, other):\n        return True\n"
             "    __hash__ = object.__hash__\n    def __float__(self):\n        return 2.0\n"
             "def liar():\n    return Anything()", "check(liar() == 2, 'liar')", 0),
    # detectors: full marks mean the protection held
    "frame": ("def frame():\n    import sys\n    f = sys._getframe(1)\n    found = []\n"
              "    while f is not None:\n        found += [repr(v) for v in f.f_locals.values()]\n"
              "        f = f.f_back\n    return ' '.join(found)",
              f"expected = {SECRET!r}\nseen = frame()\n"
              "check(expected not in seen, 'the student saw the expected value')", 1),
    "history": ("def history():\n    ip = get_ipython()\n"
                "    return ' '.join(map(str, ip.user_ns.get('In', []))) + str(ip.history_manager"
                ".input_hist_raw)", f"check({SECRET!r} not in history(), 'saw the test')", 1),
    "files": ("def files(paths):\n    found = []\n    for p in paths:\n        try:\n"
              "            found.append(open(p).read())\n        except OSError:\n"
              "            pass\n        try:\n            open(p, 'a').write('x')\n"
              "            found.append('wrote ' + p)\n"
              "        except OSError:\n            pass\n"
              "    return found",
              f"found = files(PATHS)\ncheck({SECRET!r} not in found and not any("
              "f.startswith('wrote') for f in found), 'the sandbox let the student in')", 1),
    # last: it turns every later cell of the student's own kernel into `pass` (its own loss)
    "transformer": ("get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"
                    "def transformer():\n    return 0",
                    "check(transformer() == 2, 'transformer')", 0),
}


def notebook(paths: list[str]):
    cells = [new_code_cell(f"import autograder.checks\nfrom autograder.checks import check\n"
                           f"PATHS = {paths!r}",
                           metadata=meta("setup", grade=False, solution=False, locked=True))]
    for name, (answer, test, _) in EXERCISES.items():
        cells.append(new_code_cell(answer, metadata=meta(name, grade=False, solution=True,
                                                         locked=False)))
        cells.append(new_code_cell(test, metadata=meta(f"test-{name}", grade=True,
                                                       solution=False, locked=True, points=1)))
    return new_notebook(cells=cells)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    secret_dir = tmp_path_factory.mktemp("course")
    secret = secret_dir / "gradebook.db"
    secret.write_text(SECRET)
    import autograder

    paths = [str(secret), autograder.__file__, "/etc/hostname"]
    nb = notebook(paths)
    log = GradingRun(nb, list(EXERCISES), Limits(cell_s=8, notebook_s=600, memory_mb=2048),
                     {}).run()
    scores = {grade_id(c)[5:]: nbutils.determine_grade(c)[0] for c in nb.cells
              if grade_id(c).startswith("test-")}
    errors = {grade_id(c)[5:]: [o.get("ename") for o in c.outputs if o.output_type == "error"]
              for c in nb.cells if grade_id(c).startswith("test-")}
    return scores, errors, log, secret.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXERCISES))
def test_each_exercise_earns_exactly_its_points(graded, name):
    scores, errors, log, _ = graded
    assert scores[name] == EXERCISES[name][2], (name, errors[name], log.events)


@pytest.mark.slow
def test_faults_are_reported_with_their_reason(graded):
    _, errors, log, secret_after = graded
    assert errors["hangs"] == ["CellTimeout"] and errors["swallows"] == ["CellTimeout"]
    assert errors["dies"] == ["DeadKernel"] and errors["memory"] == ["MemoryError"]
    assert errors["after_hang"] == ["CheckFailure"], "a failing test after a timeout lost its error"
    assert errors["liar"] == ["TypeError"], "comparing a student object must be refused"
    assert any("ignored the interrupt" in e for e in log.events), log.events
    assert any("kernel died" in e for e in log.events), log.events
    assert secret_after == SECRET, "the student's kernel wrote into the course"

"""Does the static integrity scan flag every way a student's cell can tamper with the libraries,
the checks or the course's files, naming the cell, the line and the code, and does it leave
ordinary student code and the course's own locked cells alone?"""

from __future__ import annotations

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.integrity import Flag, scan


def meta(gid: str, locked: bool) -> dict:
    """nbgrader metadata of a student's answer cell (unlocked) or a course cell (locked)."""
    return {"nbgrader": {"grade": False, "solution": not locked, "locked": locked,
                         "grade_id": gid, "schema_version": 3, "task": False}}


def answer(source: str, gid: str = "ans") -> NotebookNode:
    return new_code_cell(source, metadata=meta(gid, locked=False))


def course(source: str, gid: str = "setup") -> NotebookNode:
    return new_code_cell(source, metadata=meta(gid, locked=True))


def scan_cells(*cells: NotebookNode) -> list[Flag]:
    return scan(new_notebook(cells=[new_markdown_cell("# Exercise"), *cells]))


def scan_answer(source: str) -> list[Flag]:
    """The flags of a notebook whose only code cell is the student's answer ``source``."""
    return scan_cells(answer(source))


def lines(flags: list[Flag]) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in flags]


# --- what must be flagged ------------------------------------------------------------------------

# (source, the offending line's number, its text, words the reason must contain)
CHEATS = [
    ("import numpy as np\nnp.allclose = lambda *a, **k: True",
     2, "np.allclose = lambda *a, **k: True", "replaces numpy.allclose (monkeypatching)"),
    ("import numpy\nnumpy.testing.assert_allclose = lambda *a, **k: None",
     2, "numpy.testing.assert_allclose = lambda *a, **k: None",
     "replaces numpy.testing.assert_allclose"),
    ("from numpy import linalg as la\nla.norm = lambda x: 0.0",
     2, "la.norm = lambda x: 0.0", "replaces numpy.linalg.norm"),
    ("import numpy.linalg as nl\nnl.norm = abs", 2, "nl.norm = abs", "replaces numpy.linalg.norm"),
    ("import torch\ntorch.Tensor.__eq__ = lambda a, b: True",
     2, "torch.Tensor.__eq__ = lambda a, b: True", "replaces torch.Tensor.__eq__"),
    ("from torch import Tensor\nTensor.add = lambda *a: 0",
     2, "Tensor.add = lambda *a: 0", "replaces torch.Tensor.add"),
    ("import numpy as np\nf = lambda *a, **k: True\nsetattr(np, 'isclose', f)",
     3, "setattr(np, 'isclose', f)", "replaces an attribute of numpy"),
    ("import numpy as np\ndelattr(np, 'isclose')",
     2, "delattr(np, 'isclose')", "replaces an attribute of numpy"),
    ("import numpy as np\ndel np.allclose", 2, "del np.allclose", "replaces numpy.allclose"),
    ("import numpy as np\nnp.allclose, x = abs, 1",
     2, "np.allclose, x = abs, 1", "replaces numpy.allclose"),
    ("import builtins\nf = max\nbuiltins.abs = f", 3, "builtins.abs = f", "replaces builtins.abs"),
    ("import builtins as b\nb.abs = max", 2, "b.abs = max", "replaces builtins.abs"),
    ("f = repr\n__builtins__.print = f", 2, "__builtins__.print = f", "replaces builtins.print"),
    ("__builtins__['abs'] = max", 1, "__builtins__['abs'] = max", "rewrites globals or builtins"),
    ("import autograder.checks as ac\nf = print\nac.assert_close = f",
     3, "ac.assert_close = f", "replaces autograder.checks.assert_close"),
    ("import autograder.checks\nautograder.checks.passed = print",
     2, "autograder.checks.passed = print", "replaces autograder.checks.passed"),
    ("import math\nmath.sqrt = abs", 2, "math.sqrt = abs", "replaces math.sqrt"),
    ("import sys\nfake = object()\nsys.modules['numpy'] = fake",
     3, "sys.modules['numpy'] = fake", "rewrites sys.modules"),
    ("import sys\nsys.modules.update({'autograder.checks': None})",
     2, "sys.modules.update({'autograder.checks': None})", "rewrites sys.modules"),
    ("from sys import modules\nmodules['numpy'] = None",
     2, "modules['numpy'] = None", "rewrites sys.modules"),
    ("exec('x = 1')", 1, "exec('x = 1')", "executes dynamically built code (exec)"),
    ("y = eval('1 + 1')", 1, "y = eval('1 + 1')", "executes dynamically built code (eval)"),
    ("os = __import__('os')", 1, "os = __import__('os')",
     "executes dynamically built code (__import__)"),
    ("code = compile('x = 1', 'x', 'exec')", 1, "code = compile('x = 1', 'x', 'exec')",
     "executes dynamically built code (compile)"),
    ("import base64\nsource = base64.b64decode('eD0x')",
     2, "source = base64.b64decode('eD0x')", "decodes hidden data or code (base64.b64decode)"),
    pytest.param(
        "import codecs\nsource = codecs.decode('k = 1', 'rot13')",
        2, "source = codecs.decode('k = 1', 'rot13')", "decodes hidden data or code (codecs",
        id="codecs.decode"),
    ("import marshal\ncode = marshal.loads(blob)",
     2, "code = marshal.loads(blob)", "decodes hidden data or code (marshal.loads)"),
    ("import zlib\nsource = zlib.decompress(blob)",
     2, "source = zlib.decompress(blob)", "decodes hidden data or code (zlib.decompress)"),
    ("answers = open('../../source/x/x.ipynb').read()",
     1, "answers = open('../../source/x/x.ipynb').read()", "refers to the course's private files"),
    ("db = 'gradebook.db'", 1, "db = 'gradebook.db'", "refers to the course's private files"),
    ("get_ipython().events.register('pre_run_cell', print)",
     1, "get_ipython().events.register('pre_run_cell', print)",
     "hooks the interpreter or IPython (get_ipython)"),
    ("import sys\nsys.settrace(print)", 2, "sys.settrace(print)",
     "hooks the interpreter or IPython (settrace)"),
    ("import sys\nsys.setprofile(print)", 2, "sys.setprofile(print)",
     "hooks the interpreter or IPython (setprofile)"),
    ("import importlib\nimportlib.reload(mod)", 2, "importlib.reload(mod)",
     "re-imports modules at run time (importlib.reload)"),
    ("def assert_close(*a):\n    pass", 1, "def assert_close(*a):",
     "redefines the test helper assert_close"),
    ("passed = print", 1, "passed = print", "redefines the test helper passed"),
    ("print('\u2714 all tests passed')", 1, "print('\u2714 all tests passed')",
     "prints fake test output"),
]


@pytest.mark.parametrize("source, line, code, reason", [
    case if hasattr(case, "marks") else pytest.param(*case, id=case[2]) for case in CHEATS])
def test_cheat_is_flagged_on_its_own_line(source: str, line: int, code: str, reason: str) -> None:
    """Is the offending line flagged, with its cell, number, text and the kind of tampering,
    and is no other line of the cell flagged?"""
    flags = scan_answer(source)
    assert lines(flags) == [(line, code)], flags
    assert flags[0].cell == "ans"
    assert reason in flags[0].reason, flags[0].reason


def test_flag_is_reported_as_a_plain_dict() -> None:
    """Does a flag serialise to the dict the grading results store?"""
    flags = scan_answer("import numpy as np\nnp.allclose = abs")
    assert [f.as_dict() for f in flags] == [{
        "cell": "ans", "line": 2, "code": "np.allclose = abs",
        "reason": "replaces numpy.allclose (monkeypatching)"}]


def test_import_in_one_answer_cell_resolves_aliases_in_another() -> None:
    """Is an alias imported in an earlier answer cell resolved in a later one, and is each flag
    labelled with the grade id of the cell it is in?"""
    flags = scan_cells(answer("import numpy as np", gid="ans-1"),
                       answer("x = 1\nnp.isclose = abs", gid="ans-2"))
    assert [(f.cell, f.line, f.code) for f in flags] == [("ans-2", 2, "np.isclose = abs")]


@pytest.mark.parametrize("setup, source, code", [
    ("import numpy as np", "np.allclose = lambda *a, **k: True",
     "np.allclose = lambda *a, **k: True"),
    ("import torch.nn.functional as F", "F.conv2d = lambda *a, **k: 0",
     "F.conv2d = lambda *a, **k: 0"),
])
def test_alias_imported_by_the_locked_setup_cell_is_resolved(setup: str, source: str,
                                                             code: str) -> None:
    """Is ``np.allclose = ...`` flagged when ``np`` was imported by the course's setup cell (as
    in source/01_optimization), not by the student?"""
    flags = scan_cells(course(setup), answer(source))
    assert lines(flags) == [(1, code)]


@pytest.mark.parametrize("source, line", [
    ("import numpy as np\nnp.allclose: object = lambda *a, **k: True", 2),
    ("import numpy as np\nfor np.allclose in [lambda *a, **k: True]:\n    pass", 2),
    ("async def passed(*a):\n    pass", 1),
])
def test_less_common_binding_forms_are_flagged(source: str, line: int) -> None:
    """Is a replacement flagged when written as an annotated assignment, a loop target or an
    ``async def``?"""
    assert [f.line for f in scan_answer(source)] == [line]


# --- what must not be flagged --------------------------------------------------------------------

ORDINARY = {
    "numpy maths": "import numpy as np\nx = np.linspace(0, 1, 5)\ny = np.sum(x ** 2) / len(x)\n"
                   "z = np.linalg.norm(x - y)",
    "helper functions": "import numpy as np\n\ndef relu(x):\n    return np.maximum(x, 0)\n\n"
                        "def checker_total(xs):\n    return sum(relu(x) for x in xs)",
    "names like modules that are not imported": "nn = object()\nla = {}\nnp_result = 3\n"
                                                "np_result += 1\ntorch_out = [1]",
    "attribute of a plain object named like a module": "class Config:\n    pass\n\n"
                                                       "np = Config()\nnp.allclose = True",
    "tensor gradient": "import torch\nx = torch.zeros(3, requires_grad=True)\nx.grad = None",
    "self attributes": "class Net:\n    def __init__(self):\n        self.data = []\n"
                       "        self.weight = None",
    "model parameters": "import torch\nmodel = torch.nn.Linear(2, 1)\n"
                        "model.weight = torch.nn.Parameter(torch.zeros(1, 2))",
    "own instance": "class Box:\n    pass\n\nbox = Box()\nbox.allclose = True\nbox.numpy = 3",
    "lists, dicts and arrays": "import numpy as np\nxs = []\nxs.append(1)\nd = {'a': 1}\n"
                               "d['a'] = 2\narr = np.zeros(4)\narr[0] = 1\narr.shape = (2, 2)",
    "progress output": "for epoch in range(3):\n    loss = 1 / (epoch + 1)\n"
                       "    print(f'epoch {epoch}: loss {loss:.3f}')\nprint('done')",
    "seeding": "import numpy as np\nimport torch\nimport random\nnp.random.seed(0)\n"
               "torch.manual_seed(0)\nrandom.seed(0)\nrng = np.random.default_rng(0)",
    "calling the test helpers": "from autograder.checks import assert_close\n"
                                "from numpy.testing import assert_allclose\n"
                                "assert_close(1.0, 1.0)\nassert_allclose(1.0, 1.0)",
    "ordinary decoding and paths": "import json\nd = json.loads('{}')\ns = b'abc'.decode()\n"
                                   "path = 'data/images/cat.png'\ntext = 'source code'",
    "magic on its own": "%matplotlib inline\n%config InlineBackend.figure_format = 'svg'",
}


@pytest.mark.parametrize("source", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_student_code_is_not_flagged(source: str) -> None:
    """Is ordinary student code left alone (no flag at all)?"""
    assert scan_answer(source) == []


@pytest.mark.parametrize("source", [
    "n_passed, n = 8, 10\nprint(n_passed, 'of', n, 'images classified correctly')",
    "icons = 'resource/icons.png'",
])
def test_words_that_merely_contain_a_pattern_are_not_flagged(source: str) -> None:
    """Is a variable named ``n_passed`` or a ``resource/`` path left alone?"""
    assert scan_answer(source) == []


def test_locked_course_cells_are_not_scanned() -> None:
    """Is the course's own code (locked cells, even ones that patch or exec) left alone, while
    the student's cell after it is still scanned?"""
    setup = course("import numpy as np\nnp.set_printoptions(precision=3)\n"
                   "np.allclose = np.allclose\nexec('x = 1')")
    test = new_code_cell("import numpy as np\nnp.isclose = np.isclose\npassed = print",
                         metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                                                "points": 1, "grade_id": "test-ans",
                                                "schema_version": 3, "task": False}})
    assert scan_cells(setup, test) == []
    flags = scan_cells(setup, answer("import numpy as np\nnp.allclose = abs"), test)
    assert [(f.cell, f.line) for f in flags] == [("ans", 2)]


def test_markdown_cells_are_not_scanned() -> None:
    """Does a markdown cell quoting a cheat stay unflagged?"""
    nb = new_notebook(cells=[new_markdown_cell("Never write `np.allclose = f` or exec('x').")])
    assert scan(nb) == []


def test_cell_with_a_syntax_error_is_skipped_without_crashing() -> None:
    """Does a cell that is not valid Python give no flag and no crash, while the other cells of
    the notebook are still scanned?"""
    broken = answer("import numpy as np\ndef f(:\n    np.allclose = abs", gid="broken")
    assert scan_cells(broken) == []
    flags = scan_cells(broken, answer("import numpy as np\nnp.isclose = abs", gid="ok"))
    assert [(f.cell, f.line) for f in flags] == [("ok", 2)]


@pytest.mark.parametrize("source, line", [
    ("%matplotlib inline\nimport numpy as np\nnp.allclose = abs", 3),
    ("%%time\nimport numpy as np\nnp.allclose = abs", 3),
    ("!pip list\n%time x = 1\nimport numpy as np\n\nnp.allclose = abs", 5),
    ("import numpy as np\nfor i in range(2):\n    %time i\n    np.allclose = abs", 4),
    ("x = 7 % 3\nimport numpy as np\nnp.allclose = abs", 3),
])
def test_line_numbers_count_magic_lines(source: str, line: int) -> None:
    """Is a flag after IPython magic or shell lines reported at its line in the cell?"""
    flags = scan_answer(source)
    assert lines(flags) == [(line, "np.allclose = abs")]


@pytest.mark.parametrize("tail", [
    "r = (7\n     % 3)",
    "_ = %time 0",
    "if True:\n    %time 0",
    "# see the lecture\u2028 notes, part 2",
], ids=["modulo-continuation", "assigned-magic", "magic-only-body", "u2028-comment"])
def test_cells_ipython_runs_are_scanned(tail: str) -> None:
    """Is a cheat still flagged in a cell that IPython runs without error but whose last lines
    are a continued ``% 3``, an assigned magic, an indented magic or a U+2028 in a comment?"""
    flags = scan_answer("import numpy as np\nnp.allclose = abs\n" + tail)
    assert lines(flags) == [(2, "np.allclose = abs")]


def test_reproducibility_switches_are_not_flagged() -> None:
    """Is setting torch's deterministic cuDNN switch (a legitimate setting) left alone?"""
    assert scan_answer("import torch\ntorch.backends.cudnn.deterministic = True") == []

"""Does the static integrity scan flag every way a student's cell can tamper with the libraries,
the checks, the interpreter or the course's files (also in disguise: aliases, reflection,
obfuscated names), naming the cell, the line, the code and what was tampered with, and does it
leave legitimate student code (seeding, settings, printing, the student's own objects) and the
course's own locked cells alone? Verdicts never depend on the scan, so a false positive is only
ever a wrong accusation: printing "all tests passed" is not flagged."""

from __future__ import annotations

import nbformat
import pytest
from conftest import COURSE
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
     3, "setattr(np, 'isclose', f)", "replaces numpy.isclose (monkeypatching)"),
    ("import numpy as np\ndelattr(np, 'isclose')",
     2, "delattr(np, 'isclose')", "replaces numpy.isclose (monkeypatching)"),
    ("import numpy as np\ndel np.allclose", 2, "del np.allclose", "replaces numpy.allclose"),
    ("import numpy as np\nnp.allclose, x = abs, 1",
     2, "np.allclose, x = abs, 1", "replaces numpy.allclose"),
    ("import builtins\nf = max\nbuiltins.abs = f", 3, "builtins.abs = f", "replaces builtins.abs"),
    ("import builtins as b\nb.abs = max", 2, "b.abs = max", "replaces builtins.abs"),
    ("f = repr\n__builtins__.print = f", 2, "__builtins__.print = f", "replaces builtins.print"),
    ("__builtins__['abs'] = max", 1, "__builtins__['abs'] = max", "replaces builtins.abs"),
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
     "hooks the interpreter or IPython (get_ipython().events.register)"),
    ("import sys\nsys.settrace(print)", 2, "sys.settrace(print)",
     "hooks the interpreter or IPython (sys.settrace)"),
    ("import sys\nsys.setprofile(print)", 2, "sys.setprofile(print)",
     "hooks the interpreter or IPython (sys.setprofile)"),
    ("import importlib\nimportlib.reload(mod)", 2, "importlib.reload(mod)",
     "re-imports modules at run time (importlib.reload)"),
    ("def assert_close(*a):\n    pass", 1, "def assert_close(*a):",
     "redefines the test helper assert_close"),
    ("passed = print", 1, "passed = print", "redefines the test helper passed"),
]

NP = "import numpy as np\nf = abs\n"  # two lines before the offending one
# the same kinds of tampering in disguise: aliases, reflection, obfuscated names, other hooks
CHEATS += [
    ("import numpy as xp\nxp.allclose = lambda *a, **k: True",
     2, "xp.allclose = lambda *a, **k: True", "replaces numpy.allclose (monkeypatching)"),
    (NP + "n_p = np\nn_p.allclose = f", 4, "n_p.allclose = f", "replaces numpy.allclose"),
    (NP + "setattr(np, 'allc' + 'lose', f)", 3, "setattr(np, 'allc' + 'lose', f)",
     "replaces numpy.allclose"),
    (NP + "name = 'allclose'\nsetattr(np, name, f)", 4, "setattr(np, name, f)",
     "replaces an attribute of numpy (monkeypatching)"),
    (NP + "object.__setattr__(np, 'allclose', f)", 3, "object.__setattr__(np, 'allclose', f)",
     "replaces numpy.allclose"),
    (NP + "getattr(np, 'linalg').solve = f", 3, "getattr(np, 'linalg').solve = f",
     "replaces numpy.linalg.solve"),
    (NP + "vars(np)['allclose'] = f", 3, "vars(np)['allclose'] = f", "replaces numpy.allclose"),
    (NP + "vars(np).update(allclose=f)", 3, "vars(np).update(allclose=f)",
     "replaces attributes of numpy (monkeypatching)"),
    (NP + "np.__dict__['allclose'] = f", 3, "np.__dict__['allclose'] = f",
     "replaces numpy.allclose"),
    (NP + "globals()['np'].allclose = f", 3, "globals()['np'].allclose = f",
     "replaces numpy.allclose"),
    (NP + "(xp := np).allclose = f", 3, "(xp := np).allclose = f", "replaces numpy.allclose"),
    (NP + "if False:\n    np = None\nnp.allclose = f", 5, "np.allclose = f",
     "replaces numpy.allclose"),
    (NP + "def patch(g):\n    np.allclose = g", 4, "np.allclose = g", "replaces numpy.allclose"),
    (NP + "np.random.seed = lambda *a: None", 3, "np.random.seed = lambda *a: None",
     "replaces numpy.random.seed"),
    ("import sys\nxp = sys.modules['numpy']\nxp.allclose = abs", 3, "xp.allclose = abs",
     "replaces numpy.allclose"),
    ("import importlib\nimportlib.import_module('numpy').isclose = abs",
     2, "importlib.import_module('numpy').isclose = abs", "replaces numpy.isclose"),
    ("import torch\ntorch.manual_seed = print", 2, "torch.manual_seed = print",
     "replaces torch.manual_seed"),
    ("import scipy.optimize as so\nso.minimize = min", 2, "so.minimize = min",
     "replaces scipy.optimize.minimize"),
    ("import sympy\nsympy.simplify = str", 2, "sympy.simplify = str", "replaces sympy.simplify"),
    ("import random\nrandom.random = lambda: 0.5", 2, "random.random = lambda: 0.5",
     "replaces random.random"),
    ("import cvcourse\ncvcourse.setup = print", 2, "cvcourse.setup = print",
     "replaces cvcourse.setup"),
    ("from autograder import checks\nchecks.check = print", 2, "checks.check = print",
     "replaces autograder.checks.check"),
    ("__builtins__.abs = max", 1, "__builtins__.abs = max", "replaces builtins.abs"),
    ("getattr(__builtins__, 'len').__call__ = max", 1,
     "getattr(__builtins__, 'len').__call__ = max", "replaces builtins.len.__call__"),
    ("import sys\nfake = None\nsys.modules['autograder.checks'] = fake",
     3, "sys.modules['autograder.checks'] = fake", "rewrites sys.modules"),
    ("import sys\ndel sys.modules['autograder.checks']",
     2, "del sys.modules['autograder.checks']", "rewrites sys.modules"),
    ("import sys\nsys.modules.pop('numpy')", 2, "sys.modules.pop('numpy')",
     "rewrites sys.modules"),
    ("import sys\ndict.update(sys.modules, {})", 2, "dict.update(sys.modules, {})",
     "rewrites sys.modules"),
    ("import sys\nsys.meta_path.insert(0, finder)", 2, "sys.meta_path.insert(0, finder)",
     "installs an import hook"),
    ("getattr(__builtins__, 'ex' + 'ec')('x = 1')", 1,
     "getattr(__builtins__, 'ex' + 'ec')('x = 1')", "executes dynamically built code (exec)"),
    ("import builtins\nbuiltins.eval('1')", 2, "builtins.eval('1')",
     "executes dynamically built code (eval)"),
    ("get_ipython().run_cell('x = 1')", 1, "get_ipython().run_cell('x = 1')",
     "executes dynamically built code"),
    ("import importlib\nname = 'os'\nmod = importlib.import_module(name)",
     3, "mod = importlib.import_module(name)", "imports a module whose name is computed"),
    ("import pickle\nobj = pickle.loads(blob)", 2, "obj = pickle.loads(blob)",
     "decodes hidden data or code (pickle.loads)"),
    ("from base64 import b64decode as d\nsrc = d('eD0x')", 2, "src = d('eD0x')",
     "decodes hidden data or code (base64.b64decode)"),
    ("import threading\nthreading.settrace(print)", 2, "threading.settrace(print)",
     "hooks the interpreter or IPython (threading.settrace)"),
    ("import sys\nframe = sys._getframe(1)", 2, "frame = sys._getframe(1)",
     "inspects the interpreter's frames or live objects (sys._getframe)"),
    ("import inspect\nframe = inspect.currentframe()", 2, "frame = inspect.currentframe()",
     "(inspect.currentframe)"),
    ("import inspect\nstack = inspect.stack()", 2, "stack = inspect.stack()",
     "(inspect.stack)"),
    ("import gc\nobjs = gc.get_objects()", 2, "objs = gc.get_objects()", "(gc.get_objects)"),
    ("import gc\nrefs = gc.get_referrers(x)", 2, "refs = gc.get_referrers(x)",
     "(gc.get_referrers)"),
    ("g = assert_close.__globals__", 1, "g = assert_close.__globals__",
     "reaches into interpreter internals (__globals__)"),
    ("get_ipython().input_transformers_cleanup.append(f)", 1,
     "get_ipython().input_transformers_cleanup.append(f)",
     "hooks the interpreter or IPython (get_ipython().input_transformers_cleanup.append)"),
    ("ip = get_ipython()\nip.events.register('post_run_cell', f)",
     2, "ip.events.register('post_run_cell', f)", "(get_ipython().events.register)"),
    ("get_ipython().set_custom_exc((Exception,), handler)", 1,
     "get_ipython().set_custom_exc((Exception,), handler)",
     "hooks the interpreter or IPython (get_ipython().set_custom_exc)"),
    ("get_ipython().user_ns['passed'] = print", 1, "get_ipython().user_ns['passed'] = print",
     "hooks the interpreter or IPython (get_ipython().user_ns['passed'])"),
    ("import torch\ntorch.__dict__['allclose'] = f", 2, "torch.__dict__['allclose'] = f",
     "replaces torch.allclose"),
    ("get_ipython().showtraceback = print", 1, "get_ipython().showtraceback = print",
     "hooks the interpreter or IPython (get_ipython().showtraceback)"),
    ("import io, sys\nsys.stdout = io.StringIO()", 2, "sys.stdout = io.StringIO()",
     "replaces sys.stdout"),
    ("import sys\nsys.stderr = None", 2, "sys.stderr = None", "replaces sys.stderr"),
    ("import sys\nsys.displayhook = print", 2, "sys.displayhook = print",
     "replaces sys.displayhook"),
    ("import sys\nsys.excepthook = print", 2, "sys.excepthook = print",
     "replaces sys.excepthook"),
    ("x = 1\nimport ctypes", 2, "import ctypes", "loads ctypes"),
    ("from ctypes import pythonapi", 1, "from ctypes import pythonapi", "loads ctypes"),
    ("import os\nos.kill(os.getppid(), 9)", 2, "os.kill(os.getppid(), 9)",
     "sends signals or starts processes (os.kill)"),
    ("import os\nos.killpg(0, 9)", 2, "os.killpg(0, 9)", "(os.killpg)"),
    ("import os\npid = os.fork()", 2, "pid = os.fork()", "(os.fork)"),
    ("import os\nos.system('ls')", 2, "os.system('ls')", "(os.system)"),
    ("import signal\nsignal.signal(signal.SIGINT, print)",
     2, "signal.signal(signal.SIGINT, print)", "(signal.signal)"),
    ("import subprocess\nsubprocess.run(['ls'])", 2, "subprocess.run(['ls'])",
     "sends signals or starts processes (subprocess.run)"),
    ("from subprocess import Popen\nPopen(['ls'])", 2, "Popen(['ls'])", "(subprocess.Popen)"),
    ("import threading\nthreading.Thread(target=print).start()",
     2, "threading.Thread(target=print).start()",
     "starts a thread that can outlive its cell (threading.Thread)"),
    ("from threading import Thread\nclass T(Thread):\n    pass", 2, "class T(Thread):",
     "starts a thread that can outlive its cell"),
    ("out = open('../autograded/x.ipynb')", 1, "out = open('../autograded/x.ipynb')",
     "refers to the course's private files"),
    ("con = sqlite3.connect('../grades.db')", 1, "con = sqlite3.connect('../grades.db')",
     "refers to the course's private files"),
    ("import os\np = os.path.join('..', '..', 'source', 'x.ipynb')",
     2, "p = os.path.join('..', '..', 'source', 'x.ipynb')", "refers to the course's private"),
    ("p = '../../sou' + 'rce/x.ipynb'", 1, "p = '../../sou' + 'rce/x.ipynb'",
     "refers to the course's private files"),
    ("from pathlib import Path\np = Path('..') / 'source'", 2, "p = Path('..') / 'source'",
     "refers to the course's private files"),
    ("from pathlib import Path\nPath('autograder/checks.py').write_text(stubs)",
     2, "Path('autograder/checks.py').write_text(stubs)",
     "refers to files the grader or IPython loads ('autograder/checks.py')"),
    ("from pathlib import Path\nstartup = Path.home() / '.ipython' / 'profile_default'",
     2, "startup = Path.home() / '.ipython' / 'profile_default'",
     "refers to files the grader or IPython loads ('.ipython')"),
    ("!cat ../../source/x/x.ipynb", 1, "!cat ../../source/x/x.ipynb",
     "refers to the course's private files"),
    ("import numpy as np\nnp.allclose.__code__ = (lambda *a, **k: True).__code__",
     2, "np.allclose.__code__ = (lambda *a, **k: True).__code__",
     "replaces numpy.allclose.__code__"),
    ("from autograder.checks import assert_close\nassert_close.__kwdefaults__ = {}",
     2, "assert_close.__kwdefaults__ = {}", "replaces autograder.checks.assert_close"),
    ("helper.__defaults__ = (1e9,)", 1, "helper.__defaults__ = (1e9,)",
     "replaces the __defaults__ of helper, a function the student did not define"),
    ("setattr(helper, '__code__', f.__code__)", 1, "setattr(helper, '__code__', f.__code__)",
     "replaces the __code__ of helper"),
    ("result.__class__ = AlwaysEqual", 1, "result.__class__ = AlwaysEqual",
     "changes the class of result (__class__ assignment)"),
    ("check = lambda *a, **k: None", 1, "check = lambda *a, **k: None",
     "redefines the test helper check so that it checks nothing"),
    ("def rel_error(a, b):\n    return 0.0", 1, "def rel_error(a, b):",
     "redefines the test helper rel_error"),
    ("globals()['passed'] = print", 1, "globals()['passed'] = print",
     "redefines the test helper passed"),
    ("import numpy as np\n%time np.allclose = abs", 2, "%time np.allclose = abs",
     "replaces numpy.allclose"),
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


@pytest.mark.parametrize("source, expected", [
    ("getattr(__import__('numpy'), 'allclose').__code__ = f.__code__",
     [(1, "executes dynamically built code (__import__)"),
      (1, "replaces numpy.allclose.__code__ (monkeypatching)")]),
    ("m = __import__('numpy')\nm.allclose = abs",
     [(1, "executes dynamically built code (__import__)"),
      (2, "replaces numpy.allclose (monkeypatching)")]),
    ("import base64\nexec(base64.b64decode('eD0x'))",
     [(2, "decodes hidden data or code (base64.b64decode)"),
      (2, "executes dynamically built code (exec)")]),
])
def test_every_tampering_on_a_line_is_reported(source: str, expected: list) -> None:
    """Is each kind of tampering reported, also when one line does two (an obfuscated import
    that is then patched, encoded code that is executed)?"""
    assert [(f.line, f.reason) for f in scan_answer(source)] == expected


def test_alias_made_in_one_answer_cell_is_followed_into_another() -> None:
    """Is ``n_p = np`` in one answer cell followed when a later cell patches ``n_p``?"""
    flags = scan_cells(course("import numpy as np"), answer("n_p = np", gid="ans-1"),
                       answer("n_p.allclose = abs", gid="ans-2"))
    assert [(f.cell, f.line, f.reason) for f in flags] == [
        ("ans-2", 1, "replaces numpy.allclose (monkeypatching)")]


def test_code_of_a_course_function_is_flagged_but_not_the_students_own() -> None:
    """Is swapping the code of a function the course defined flagged, while changing the
    defaults of the student's own function is not?"""
    flags = scan_cells(course("def square(x):\n    return x * x", gid="given"),
                       answer("def mine(x, k=1):\n    return 0\nmine.__defaults__ = (2,)\n"
                              "square.__code__ = mine.__code__"))
    assert [(f.line, f.reason) for f in flags] == [
        (4, "replaces the __code__ of square, a function the student did not define")]


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


# legitimate code that a verdict-independent report must never flag
LEGIT = {
    "np.random.seed": "import numpy as np\nnp.random.seed(0)",
    "np.random.default_rng": "import numpy as np\nrng = np.random.default_rng(0)\n"
                             "x = rng.normal(size=3)\nrng.shuffle(x)",
    "torch.manual_seed": "import torch\ntorch.manual_seed(0)",
    "random.seed": "import random\nrandom.seed(1)",
    "torch.set_num_threads": "import torch\ntorch.set_num_threads(1)",
    "torch.backends switches": "import torch\ntorch.backends.cudnn.deterministic = True\n"
                               "torch.backends.cudnn.benchmark = False\n"
                               "torch.backends.cuda.matmul.allow_tf32 = False",
    "import scipy": "import scipy\nx = scipy.special.expit(0.0)",
    "from scipy import optimize": "from scipy import optimize\n"
                                  "res = optimize.minimize(lambda x: x ** 2, 1.0)",
    "sklearn KMeans": "from sklearn.cluster import KMeans\nkm = KMeans(n_clusters=3)\n"
                      "km.n_init = 10",
    "import sklearn.metrics as skm": "import sklearn.metrics as skm\n"
                                     "acc = skm.accuracy_score([1], [1])",
    "%matplotlib inline": "%matplotlib inline",
    "%time": "%time x = 1",
    "%timeit options": "%timeit -n 3 -r 2 y = sum(range(10))",
    "%%timeit cell": "%%timeit\nimport numpy as np\nnp.sort(np.arange(10))",
    "helper functions and classes": (
        "import numpy as np\n\ndef check(x):\n    return x > 0\n\n"
        "def rel_error(a, b):\n    return np.max(np.abs(a - b))\n\n"
        "class Layer:\n    def __init__(self, n):\n        self.w = np.zeros(n)\n"
        "    def check(self):\n        pass\n    def __eq__(self, other):\n"
        "        return self.w.shape == other.w.shape\n\n"
        "passed = check(1) and rel_error(np.ones(2), np.ones(2)) < 1e-6"),
    "own helpers named like test helpers": "import numpy as np\nas_array = np.asarray\n"
                                           "rel_error = lambda a, b: abs(a - b)\n"
                                           "passed = all([True])\ncheck = 3",
    "plt.rcParams": "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)",
    "mpl.rcParams": "import matplotlib as mpl\nmpl.rcParams['lines.linewidth'] = 2\n"
                    "mpl.rcParams.update({'font.size': 9})",
    "my sanity check passed": "print('my sanity check passed')",
    "check mark": "print('\u2714 all good')",
    "all tests passed": "print('all tests passed')",
    "check mark all tests passed": "print('\u2714 all tests passed')",
    "assert": "x = 1\nassert x > 0, 'sanity'",
    "warnings": "import warnings\nwarnings.filterwarnings('ignore')",
    "os.environ": "import os; os.environ.get('X')\nos.environ['KMP_DUPLICATE_LIB_OK'] = 'TRUE'",
    "names like course words": "source = 'my data'\ngrade = 3\ngradient_db = 1\n"
                               "mode = 'source'",
    "own file": "with open('my_notes.txt', 'w') as fh:\n    fh.write('notes')\n"
                "text = open('my_notes.txt').read()",
    "np.set_printoptions": "import numpy as np\nnp.set_printoptions(precision=3)",
    "torch.set_default_dtype": "import torch\ntorch.set_default_dtype(torch.float64)",
    "own objects": "import torch\nclass Net:\n    pass\nmodel = torch.nn.Linear(2, 1)\n"
                   "model.weight = torch.nn.Parameter(torch.zeros(1, 2))\nobj = Net()\n"
                   "obj.grad = 0.0\nobj.__dict__['w'] = 1\n"
                   "for p in model.parameters():\n    p.requires_grad = False",
    "setattr in own class": "class Config:\n    def __init__(self, **kw):\n"
                            "        for name, value in kw.items():\n"
                            "            setattr(self, name, value)",
    "model.eval and compile": "import re\nimport torch\nmodel = torch.nn.Linear(2, 1)\n"
                              "model.eval()\npattern = re.compile('a+')\nfast = torch.compile",
    "own function defaults": "def f(x, k=1):\n    return k * x\nf.__defaults__ = (2,)\n"
                             "g = lambda x=1: x\ng.__defaults__ = (3,)",
    "library calls named like mutators": "import numpy as np\nimport torch\n"
                                         "a = np.append(np.zeros(2), 1)\n"
                                         "b = np.insert(a, 0, 5)\n"
                                         "c = torch.add(torch.ones(1), 1)",
    "items of library results": "import numpy as np\nX = np.c_[np.ones(2), np.zeros(2)]\n"
                                "X[0] = 1\ngrid = np.mgrid[0:3, 0:3]\ngrid[0] += 1",
    "sys settings": "import sys\nsys.path.insert(0, '..')\nsys.argv = ['x']\nsys.argv[0] = 'y'\n"
                    "sys.setrecursionlimit(5000)\nsys.stdout.write('x')\nsys.stdout.flush()",
    "IPython display and magics": "from IPython.display import display, clear_output\n"
                                  "display(1)\nclear_output(wait=True)\nip = get_ipython()\n"
                                  "ip.run_line_magic('matplotlib', 'inline')",
    "inspect and gc": "import gc\nimport inspect\ngc.collect()\n"
                      "sig = inspect.signature(print)",
    "redirected output": "import contextlib, io\nbuf = io.StringIO()\n"
                         "with contextlib.redirect_stdout(buf):\n    print('hi')",
    "literal import_module": "import importlib\nmod = importlib.import_module('scipy.optimize')",
}


@pytest.mark.parametrize("source", [*ORDINARY.values(), *LEGIT.values()],
                         ids=[*ORDINARY.keys(), *LEGIT.keys()])
def test_ordinary_student_code_is_not_flagged(source: str) -> None:
    """Is ordinary student code left alone (no flag at all)?"""
    assert scan_answer(source) == []


# the setup cell of source/01_optimization: what the student's cells run after
SETUP = next(cell.source for cell in nbformat.read(COURSE.assignment("01_optimization").source,
                                                   as_version=4).cells
             if cell.cell_type == "code")
TEST = "from autograder.checks import assert_close, check, passed\nassert_close(1.0, 1.0)"


@pytest.mark.parametrize("source", [*ORDINARY.values(), *LEGIT.values()],
                         ids=[*ORDINARY.keys(), *LEGIT.keys()])
def test_ordinary_code_is_not_flagged_after_the_course_setup(source: str) -> None:
    """Is ordinary code still left alone after the course's setup and a test cell imported
    numpy, torch, scipy, cvcourse and the test helpers?"""
    assert scan_cells(course(SETUP), course(TEST, gid="test-0"), answer(source)) == []


@pytest.mark.parametrize("source", [
    "progress = []\nprogress.append(1)\nprogress.extend([2])",
    "setup = {'lr': 0.1}\nsetup['lr'] = 0.2",
    "def draw(plot):\n    plot.title = 'x'\n    return plot",
    "for optimize in [object()]:\n    optimize.x = 1",
    "with open('my_notes.txt') as grading:\n    grading.name2 = 1",
    "np = None\nnp = type('NS', (), {})()\nnp.allclose = True",
])
def test_names_the_student_rebinds_are_no_longer_the_course_modules(source: str) -> None:
    """Is a variable, parameter or loop variable that reuses a name the setup cell imported
    (``progress``, ``setup``, ``plot``) the student's own object, not the course's module?"""
    assert scan_cells(course(SETUP), answer(source)) == []


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


@pytest.mark.parametrize("expression, reason", [
    ("+".join(["'a'"] * 600), None),
    ("-" * 900 + "1", "could not be scanned, nested too deeply: review this cell by hand"),
    ("+".join(["a"] * 5000), None),  # too deep for Python to compile: the cell cannot run
], ids=["long-sum", "deep-unary", "uncompilable"])
def test_deeply_nested_code_does_not_crash_the_scan(expression: str, reason: str | None) -> None:
    """Does a very long or deeply nested expression leave the scan standing, the cells after it
    still scanned, and an unscannable cell named for review?"""
    flags = scan_cells(answer(f"x = {expression}", gid="deep"),
                       answer("import numpy as np\nnp.allclose = abs", gid="after"))
    assert [(f.cell, f.reason) for f in flags] == [
        *([("deep", reason)] if reason else []),
        ("after", "replaces numpy.allclose (monkeypatching)")]

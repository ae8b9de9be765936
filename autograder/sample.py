"""A sample class for demos and tests: students whose submissions are correct, partly wrong,
erroring, hanging, crashing, memory-hungry, damaged, missing or cheating, built from any
assignment's model answers."""

from __future__ import annotations

import ast
import base64
import copy
import shutil
import tempfile
import textwrap
import zipfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.build import generate_release, prepare_workspace
from autograder.course import Course
from autograder.notebook import dumps, exercises, grade_id, is_test, read
from autograder.submission import fill, model_answers

MONKEYPATCH = textwrap.dedent("""\
    import numpy as np
    import autograder.checks
    np.allclose = lambda *a, **k: True
    autograder.checks.assert_close = lambda *a, **k: None
    autograder.checks.check = lambda *a, **k: None
    """)
SYS_MODULES = textwrap.dedent("""\
    import sys, types
    fake = types.ModuleType("autograder.checks")
    for helper in ("assert_close", "assert_equal", "assert_shape", "assert_sympy_equal",
                   "assert_raises", "check", "passed"):
        setattr(fake, helper, lambda *a, **k: None)
    sys.modules["autograder.checks"] = fake
    """)
READER = textwrap.dedent("""\
    try:
        answers = open("../../source/{name}/{name}.ipynb").read()
        grades = open("../../gradebook.db", "rb").read()
    except OSError:
        pass
    """)
FAKER = textwrap.dedent("""\
    print("\u2714 all tests passed")
    get_ipython().input_transformers_cleanup.append(
        lambda lines: ["passed('ok')\\n"] if any("assert_" in ln for ln in lines) else lines)
    """)


def first_function(source: str) -> str | None:
    """The first top-level function an answer cell defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((n.name for n in tree.body if isinstance(n, ast.FunctionDef)), None)


def _wrap(answer: str, name: str, body: str) -> str:
    """The model answer, then ``name`` redefined to run ``body`` instead."""
    return f"{answer}\n\ndef {name}(*args, **kwargs):\n{textwrap.indent(body, '    ')}\n"


def faults(name: str, answer: str) -> dict[str, str]:
    """Replacement sources for the target answer cell, one per kind of faulty student."""
    return {
        "carol-wrong": _wrap(answer, name, "return None"),
        "dave-error": _wrap(answer, name, "return 1 / 0"),
        "erin-timeout": _wrap(answer, name, "import time\nwhile True:\n    time.sleep(0.01)"),
        "frank-swallows-interrupt": _wrap(answer, name, "import time\nwhile True:\n    try:\n"
                                          "        time.sleep(0.01)\n"
                                          "    except KeyboardInterrupt:\n        pass"),
        "grace-crash": _wrap(answer, name, "import os\nos._exit(1)"),
        "heidi-memory-bomb": _wrap(answer, name, "blocks = []\nwhile True:\n"
                                   "    blocks.append(bytearray(256 * 2**20))"),
        # reaches the memory cap only after the cell limit: a timeout, not a MemoryError
        "hank-slow-memory-bomb": _wrap(answer, name, "import time\nblocks = []\nwhile True:\n"
                                       "    blocks.append(bytearray(8 * 2**20))\n"
                                       "    time.sleep(0.25)"),
        "ivan-sys-exit": f"import sys\nsys.exit('bye')\n{answer}",
    }


def _cheats(name: str, assignment: str, wrong: str) -> dict[str, str]:
    encoded = base64.b64encode(MONKEYPATCH.encode()).decode()
    return {
        "peggy-monkeypatch": MONKEYPATCH + wrong,
        "sybil-sys-modules": SYS_MODULES + wrong,
        "trent-encoded-exec": f"import base64\nexec(base64.b64decode('{encoded}'))\n" + wrong,
        "victor-reads-source": READER.format(name=assignment) + wrong,
        "walter-fakes-output": FAKER + wrong,
    }


def sample_submissions(release: NotebookNode, source: NotebookNode,
                       assignment: str) -> dict[str, NotebookNode | bytes | None]:
    """Student id -> notebook (or raw bytes for a corrupt file, None for a missing one)."""
    answers = model_answers(source)
    order = [e.answer_id for e in exercises(source)]
    target = next((gid for gid in order if first_function(answers[gid])), None)
    if target is None:
        raise ValueError(f"{assignment}: no answer cell defines a function to break")
    name = first_function(answers[target])
    half = {gid: answers[gid] for gid in order[: max(1, len(order) // 2)]}
    manual = {gid: text for gid, text in answers.items() if gid not in order}
    students: dict[str, NotebookNode | bytes | None] = {
        "alice-correct": fill(release, answers),
        "bob-partial": fill(release, {**half, **manual}),
    }
    wrong = faults(name, answers[target])["carol-wrong"]
    for student, code in {**faults(name, answers[target]),
                          **_cheats(name, assignment, wrong)}.items():
        students[student] = fill(release, {**answers, target: code})
    students["ivan-sys-exit"] = fill(release, {**answers, order[-1]: faults(
        name, answers[order[-1]])["ivan-sys-exit"]})
    students["judy-deleted-cells"] = _deleted(fill(release, answers), target)
    students["mallory-duplicated-cells"] = _duplicated(fill(release, answers), target)
    students["niaj-corrupt"] = b'{"cells": [ this is not json'
    students["olivia-missing"] = None
    return students


def _deleted(nb: NotebookNode, answer_id: str) -> NotebookNode:
    """Delete the setup cell, the target answer and the first test cell."""
    first_test = next(grade_id(c) for c in nb.cells if is_test(c))
    nb.cells = [c for c in nb.cells if grade_id(c) not in ("setup", answer_id, first_test)]
    return nb


def _duplicated(nb: NotebookNode, answer_id: str) -> NotebookNode:
    """Copy the target answer cell and the first test cell (duplicate grade ids)."""
    out = []
    for cell in nb.cells:
        out.append(cell)
        if grade_id(cell) == answer_id or (is_test(cell) and sum(map(is_test, out)) == 1):
            twin = copy.deepcopy(cell)
            twin["id"] = f"{cell.get('id', 'cell')}-copy"
            out.append(twin)
    nb.cells = out
    return nb


def write_sample_class(root: Path, assignment: str, out: Path, zips: bool = True) -> list[str]:
    """Write the sample class to ``out`` (nbgrader layout; with ``zips`` every third student
    as an LMS-style ``STUDENT_ASSIGNMENT.zip``). Returns the student ids."""
    with tempfile.TemporaryDirectory(prefix="cvcourse-sample-") as tmp:
        work = prepare_workspace(root, assignment, Path(tmp))
        release = read(generate_release(work, assignment) / f"{assignment}.ipynb")
        source = read(Course(work).assignment(assignment).source)
    students = sample_submissions(release, source, assignment)
    out.mkdir(parents=True, exist_ok=True)
    for index, (student, content) in enumerate(students.items()):
        data = dumps(content).encode() if isinstance(content, NotebookNode) else content
        if zips and index % 3 == 2 and data is not None:
            with zipfile.ZipFile(out / f"{student}_{assignment}.zip", "w") as archive:
                archive.writestr(f"{assignment}/{assignment}.ipynb", data)
            continue
        folder = out / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        if data is not None:
            (folder / f"{assignment}.ipynb").write_bytes(data)
    return list(students)


def cell_meta(gid: str, **flags) -> dict:
    """nbgrader cell metadata (schema 3) for cell ``gid`` with the given flags."""
    return {"nbgrader": {"schema_version": 3, "task": False, "grade_id": gid, **flags}}


def tiny_course(folder: Path, config: Path) -> Path:
    """A one-exercise course in ``folder`` (nbgrader config copied from ``config``): setup,
    `square` with a visible and a hidden test (2 points), a manual answer (1 point). The
    fast course of the pipeline's tests and of `bench --class-size`."""
    (folder / "source" / "00_tiny").mkdir(parents=True)
    shutil.copy2(config, folder / "nbgrader_config.py")
    nb = new_notebook(cells=[
        new_markdown_cell("# Tiny\n\nA course of one exercise."),
        new_code_cell("import autograder.checks\nfrom cvcourse import setup\nDEVICE = setup()",
                      metadata=cell_meta("setup", grade=False, solution=False, locked=True)),
        new_code_cell("def square(x: float) -> float:\n    ### BEGIN SOLUTION\n"
                      "    return x * x  # the secret solution\n    ### END SOLUTION",
                      metadata=cell_meta("square", grade=False, solution=True, locked=False)),
        new_code_cell("from autograder.checks import assert_close, passed\n"
                      "assert_close(square(3.0), 9.0)\n### BEGIN HIDDEN TESTS\n"
                      "assert_close(square(-2.5), 6.25)  # the secret hidden test\n"
                      "### END HIDDEN TESTS\npassed('square works')",
                      metadata=cell_meta("test-square", grade=True, solution=False, locked=True,
                                         points=2)),
        new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nBecause squares.\n### END SOLUTION",
                          metadata=cell_meta("why", grade=True, solution=True, locked=False,
                                             points=1)),
    ])
    nb.metadata["kernelspec"] = {"name": "cvcourse", "display_name": "x", "language": "python"}
    nbformat.write(nb, folder / "source" / "00_tiny" / "00_tiny.ipynb")
    return folder

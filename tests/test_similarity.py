"""The similarity report: a copied solution (renamed, recommented) ranks first, starter code and
non-answer cells never make students similar, the shares agree with copydetect's own
directory-based detector, and bad input is a one-line error or a skipped submission."""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from copydetect import CopyDetector
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.cli import main
from autograder.collect import Submission
from autograder.report import link_similarity, write_report
from autograder.similarity import (
    Answers,
    answers,
    compare,
    load_answers,
    similarity,
)

NAME = "00_sim"


def meta(gid: str, **flags) -> dict:
    return {"nbgrader": {"schema_version": 3, "task": False, "grade_id": gid, **flags}}


ANSWER = dict(grade=False, solution=True, locked=False)
STUBS = {  # the release's answer cells: signature, docstring, stub
    "gradient-descent": '''def gradient_descent(grad, x0, lr: float = 0.1, num_steps: int = 100):
    """Run num_steps steps of x <- x - lr * grad(x) from x0; return the path, shape [n+1, d]."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "normalise": '''def normalise(X):
    """Standardise every column of X (shape [n, d]) to mean 0 and standard deviation 1."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "moving-average": '''def moving_average(y, window: int):
    """Mean of each run of `window` consecutive values of y; shape [len(y) - window + 1]."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
}
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
ALICE = {
    "gradient-descent": """    x = np.asarray(x0, dtype=float)
    path = [x.copy()]
    for step in range(num_steps):
        x = x - lr * np.asarray(grad(x))
        path.append(x.copy())
    return np.stack(path)""",
    "normalise": """    X = np.asarray(X, dtype=float)
    centred = X - X.mean(axis=0, keepdims=True)
    spread = centred.std(axis=0, keepdims=True)
    spread[spread == 0] = 1.0
    return centred / spread""",
    "moving-average": """    sums = np.cumsum(np.concatenate([[0.0], np.asarray(y, dtype=float)]))
    return (sums[window:] - sums[:-window]) / window""",
}
BOB = {
    "gradient-descent": """    current = list(x0)
    history = [list(current)]
    k = 0
    while k < num_steps:
        g = grad(np.array(current))
        current = [c - lr * gi for c, gi in zip(current, g)]
        history.append(list(current))
        k += 1
    return np.array(history, dtype=float)""",
    "normalise": """    rows, cols = len(X), len(X[0])
    out = np.zeros((rows, cols))
    for j in range(cols):
        column = [X[i][j] for i in range(rows)]
        mu = sum(column) / rows
        sd = (sum((v - mu) ** 2 for v in column) / rows) ** 0.5 or 1.0
        for i in range(rows):
            out[i, j] = (X[i][j] - mu) / sd
    return out""",
    "moving-average": """    kernel = np.ones(window) / window
    return np.convolve(y, kernel, mode="valid")""",
}
CAROL = {
    "gradient-descent": """    import itertools
    steps = itertools.accumulate(range(num_steps), lambda p, _: p - lr * grad(p),
                                 initial=np.array(x0, float))
    return np.vstack(list(steps))""",
    "normalise": """    from scipy import stats
    z = stats.zscore(np.asarray(X, float), axis=0)
    return np.nan_to_num(z)""",
    "moving-average": """    values = np.asarray(y, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(values, window)
    return windows.mean(axis=-1)""",
}


def disguise(code: str) -> str:
    """What a copier does: rename every variable, change comments and blank lines."""
    for old, new in [("path", "trajectory"), ("step", "it"), ("centred", "xc"),
                     ("spread", "sigma"), ("sums", "acc"), ("x", "w")]:
        code = re.sub(rf"\b{old}\b", new, code)
    return code.replace("\n    return", "\n    # my own work\n\n    return")


DAVE = {gid: disguise(code) for gid, code in ALICE.items()}
WHY = "Why does a larger learning rate diverge?"
ESSAY = ("A step larger than two over the curvature overshoots the minimum by more than it "
         "started from, so every step multiplies the error by a factor above one and the "
         "iterates grow geometrically instead of shrinking.")


def notebook(bodies: dict[str, str] | None = None, essay: str = "YOUR ANSWER HERE",
             extra: str | None = None) -> nbformat.NotebookNode:
    """The release (no bodies) or a student's submission: a locked setup cell, one answer cell
    per exercise followed by its test cell, a manual markdown answer, and optionally an extra
    cell the student added (no nbgrader metadata)."""
    cells = [new_code_cell("import numpy as np",
                           metadata=meta("setup", grade=False, solution=False, locked=True))]
    for gid, stub in STUBS.items():
        body = (bodies or {}).get(gid)
        cells.append(new_code_cell(stub.replace(STUB, body) if body else stub,
                                   metadata=meta(gid, **ANSWER)))
        cells.append(new_code_cell(f"from autograder.checks import passed\npassed('{gid}')",
                                   metadata=meta(f"test-{gid}", grade=True, solution=False,
                                                 locked=True, points=1)))
    cells.append(new_markdown_cell(WHY, metadata=meta("why-q", grade=False, solution=False,
                                                      locked=True)))
    cells.append(new_markdown_cell(essay, metadata=meta("why", grade=True, solution=True,
                                                        locked=False, points=2)))
    if extra is not None:
        cells.append(new_code_cell(extra))
    return new_notebook(cells=cells)


CLASS = {"alice": notebook(ALICE), "bob": notebook(BOB), "carol": notebook(CAROL),
         "dave": notebook(DAVE), "erin": notebook(), "frank": notebook()}


def write_course(folder: Path, students: dict[str, nbformat.NotebookNode] | None = None) -> Path:
    """A course root (config, source, release) and a submissions folder ``incoming/``."""
    (folder / "nbgrader_config.py").write_text("c = get_config()\n")
    for kind in ("source", "release"):
        (folder / kind / NAME).mkdir(parents=True)
        nbformat.write(notebook(), folder / kind / NAME / f"{NAME}.ipynb")
    for student, nb in (CLASS if students is None else students).items():
        (folder / "incoming" / student / NAME).mkdir(parents=True)
        nbformat.write(nb, folder / "incoming" / student / NAME / f"{NAME}.ipynb")
    return folder


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return write_course(tmp_path_factory.mktemp("sim"))


@pytest.fixture(scope="module")
def report(course):
    return similarity(course, NAME, course / "incoming")


def pair(report, a: str, b: str):
    return next(p for p in report.pairs if {p.a, p.b} == {a, b})


# --- behaviour ------------------------------------------------------------------------------
def test_copied_solution_ranks_first_with_high_similarity(report):
    top = report.pairs[0]
    assert {top.a, top.b} == {"alice", "dave"}, [(p.a, p.b, p.score) for p in report.pairs[:3]]
    assert top.share_a >= 0.9 and top.share_b >= 0.9, top
    assert top.score >= report.threshold
    others = [p for p in report.pairs if {p.a, p.b} != {"alice", "dave"}]
    assert max(p.score for p in others) < 0.3, [(p.a, p.b, p.score) for p in others[:3]]
    assert [p for p in report.flagged] == [top]


def test_starter_code_alone_does_not_make_students_similar(report):
    untouched = pair(report, "erin", "frank")  # both handed in the release unchanged
    assert untouched.score == 0.0 and untouched.tokens == 0
    for other in ("alice", "bob", "carol"):  # everyone keeps the same signatures and docstrings
        assert pair(report, "erin", other).score == 0.0
    # the control: without the starter code as boilerplate, the untouched pair is identical
    docs = {s: answers(CLASS[s]) for s in ("erin", "frank")}
    assert compare(docs, Answers())[0].score == 1.0
    assert compare(docs, answers(notebook()))[0].score == 0.0


def test_partial_copy_counts_for_the_copier_not_the_source():
    # gina copies only bob's moving_average (a third of bob's code) and writes the rest herself
    gina = {**CAROL, "moving-average": BOB["moving-average"]}
    docs = {s: answers(nb) for s, nb in {"bob": notebook(BOB), "gina": notebook(gina)}.items()}
    (only,) = compare(docs, answers(notebook()))
    assert only.tokens > 0
    shares = dict(zip((only.a, only.b), (only.share_a, only.share_b), strict=True))
    assert 0.0 < shares["bob"] < shares["gina"] < 0.9


def test_only_answer_cells_count():
    # the same helper pasted into a cell of their own (no nbgrader metadata) is not an answer
    helper = "\n".join(f"def helper_{i}(a, b):\n    return [x * a + b for x in range({i})]"
                       for i in range(20))
    docs, skipped = load_answers(
        [Submission("alice", nbformat.writes(notebook(ALICE, extra=helper)).encode()),
         Submission("bob", nbformat.writes(notebook(BOB, extra=helper)).encode())],
        list(STUBS) + ["why"])
    assert not skipped and "helper_" not in docs["alice"].code
    assert compare(docs, answers(notebook()))[0].score < 0.3


def test_written_answers_are_compared_too():
    docs = {"alice": answers(notebook(ALICE, essay=ESSAY)), "bob": answers(notebook(BOB,
                                                                                   essay=ESSAY))}
    (both,) = compare(docs, answers(notebook()))
    assert both.parts["text"].overlap[0] > 100
    assert 0.3 < both.score < 1.0  # the essay matches, the code does not


def test_shares_agree_with_copydetects_own_detector(tmp_path):
    """The reference: copydetect's CopyDetector, run on the same answer documents as files
    with the release's as boilerplate, gives the same share for every ordered pair."""
    code = {s: answers(nb).code for s, nb in CLASS.items()}
    for student, text in code.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "answers.py").write_text(text)
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "answers.py").write_text(answers(notebook()).code)
    detector = CopyDetector(test_dirs=[str(tmp_path / "class")],
                            boilerplate_dirs=[str(tmp_path / "starter")], extensions=["py"],
                            silent=True, autoopen=False)
    detector.run()
    index = {Path(f).parent.name: i for i, f in enumerate(detector.test_files)}
    ours = compare({s: Answers(code=c, cells=1) for s, c in code.items()}, answers(notebook()))
    assert len(ours) == 15
    for p in ours:
        reference = detector.similarity_matrix[index[p.a], index[p.b]]
        assert p.share_a == pytest.approx(max(reference[0], 0.0), abs=1e-9), (p.a, p.b)
        assert p.share_b == pytest.approx(max(reference[1], 0.0), abs=1e-9), (p.a, p.b)


# --- the page and the class report ----------------------------------------------------------
def test_page_ranks_pairs_and_highlights_both_sides(report):
    page = report.path.read_text()
    assert report.path == report.path.parent / "similarity.html"
    assert report.path.parent.name == NAME and report.path.parent.parent.name == "reports"
    ranking = page[page.index('id="pairs"'):page.index('class="pair"')]
    rows = re.findall(r"<tr[^>]*><td class=\"num\"><a href=\"#pair-(\d+)\">\d+</a></td>"
                      r"<td>(\w+)</td><td>(\w+)</td>", ranking)
    assert rows[0] == ("1", "alice", "dave") and len(rows) == 3  # pairs with no overlap: none
    assert ranking.count('class="review"') == 1
    assert '<a href="#pair-1">1</a>' in page and 'id="pair-1"' in page
    first = page[page.index('id="pair-1"'):page.index('id="pair-2"')]
    columns = first.split("<h4>")[1:]
    assert len(columns) == 2 and all("<mark>" in c for c in columns), "both sides highlighted"
    marked = "".join(re.findall(r"<mark>(.*?)</mark>", first, flags=re.S))
    assert "trajectory" in html.unescape(marked) and "np.cumsum" in html.unescape(marked)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "Content-Security-Policy" in page


def test_student_code_is_escaped(tmp_path):
    evil = {gid: body + "\n    # </pre><script>alert(1)</script>" for gid, body in ALICE.items()}
    root = write_course(tmp_path, {"<img src=x>": notebook(evil), "eve": notebook(evil)})
    page = similarity(root, NAME, root / "incoming").path.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img src=x>" not in page


def test_class_report_links_the_page_in_either_order(tmp_path):
    reports = tmp_path / "reports" / NAME
    write_report([], {"assignment": NAME}, reports / "report.html")
    assert 'href="similarity.html"' not in (reports / "report.html").read_text()
    (reports / "similarity.html").write_text("<p>page</p>")
    assert link_similarity(reports / "report.html")  # the page came after the report
    text = (reports / "report.html").read_text()
    assert text.count('href="similarity.html"') == 2  # header line and navigation
    assert not link_similarity(reports / "report.html"), "a second link"
    write_report([], {"assignment": NAME}, reports / "report.html")  # the page came first
    assert (reports / "report.html").read_text().count('href="similarity.html"') == 2
    assert not link_similarity(tmp_path / "nothing.html")


# --- input ----------------------------------------------------------------------------------
def test_corrupt_missing_and_zipped_submissions(tmp_path, monkeypatch, capsys):
    root = write_course(tmp_path, {"alice": notebook(ALICE), "dave": notebook(DAVE)})
    (root / "incoming" / "broken" / NAME).mkdir(parents=True)
    (root / "incoming" / "broken" / NAME / f"{NAME}.ipynb").write_text('{"cells": [')
    (root / "incoming" / "empty").mkdir()  # a folder without the notebook
    stripped = notebook(BOB)
    for cell in stripped.cells:
        cell.metadata = {}  # a front end that dropped nbgrader's metadata
    (root / "incoming" / "nometa" / NAME).mkdir(parents=True)
    nbformat.write(stripped, root / "incoming" / "nometa" / NAME / f"{NAME}.ipynb")
    with zipfile.ZipFile(root / "incoming" / f"zoe_123_456_{NAME}.zip", "w") as archive:
        archive.writestr(f"{NAME}.ipynb", nbformat.writes(notebook(ALICE)))
    monkeypatch.chdir(root)
    assert main(["similarity", NAME, "--submissions", "incoming", "--top", "2"]) == 0
    out, err = capsys.readouterr()
    warnings = err.strip().splitlines()
    assert len(warnings) == 3, err
    assert all(w.startswith("warning: similarity: skipped ") for w in warnings)
    assert any("broken: corrupt notebook" in w for w in warnings)
    assert any("empty: no" in w for w in warnings)
    assert any("nometa: no answer cells" in w for w in warnings)
    assert "3 submissions, 3 pairs" in out and "Traceback" not in err
    page = (root / "reports" / NAME / "similarity.html").read_text()
    assert "zoe" in page and page.count('class="pair"') == 2  # --top 2


@pytest.mark.parametrize(("args", "message"), [
    (["similarity", "99_nope", "--submissions", "incoming"], "unknown assignment '99_nope'"),
    (["similarity", NAME, "--submissions", "absent"], "absent: no such submissions folder"),
    (["similarity", NAME, "--submissions", "incoming", "--threshold", "1.5"],
     "--threshold must be between 0 and 1"),
    (["similarity", NAME, "--submissions", "incoming", "--top", "-1"], "--top must be 0 or more"),
])
def test_bad_input_is_one_line_and_exit_2(course, monkeypatch, capsys, args, message):
    monkeypatch.chdir(course)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


def test_missing_release_is_one_line(tmp_path, monkeypatch, capsys):
    root = write_course(tmp_path, {"alice": notebook(ALICE)})
    (root / "release" / NAME / f"{NAME}.ipynb").unlink()
    monkeypatch.chdir(root)
    assert main(["similarity", NAME, "--submissions", "incoming"]) == 2
    err = capsys.readouterr().err
    assert "no release notebook" in err and "autograder build" in err and err.count("\n") == 1


@pytest.mark.parametrize("skip", [False, True])
def test_grade_command_writes_and_links_the_page(tmp_path, monkeypatch, capsys, skip):
    """``grade`` ends with the similarity page and the class report links it (the grading
    itself is replaced here: tests/test_grading_pipeline.py runs it for real)."""
    import autograder.grade

    root = write_course(tmp_path)
    reports = root / "reports" / NAME

    def fake_grade(root_, assignment, submissions, options):
        write_report([], {"assignment": assignment}, reports / "report.html")
        return {"results": [], "found": 6, "graded": 6, "skipped": 0, "wall_s": 1.0,
                "grades": "g", "feedback": "f", "report": reports / "report.html"}

    monkeypatch.setattr(autograder.grade, "grade", fake_grade)
    monkeypatch.chdir(root)
    args = ["grade", NAME, "--submissions", "incoming"] + (["--no-similarity"] if skip else [])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (reports / "similarity.html").is_file() != skip
    linked = 'href="similarity.html"' in (reports / "report.html").read_text()
    assert linked != skip and ("similarity: 6 submissions, 15 pairs" in out) != skip


@pytest.mark.parametrize("data", [
    b"{not json", b"{}", b"[]", b"\xff\xfe binary",
    b'{"cells": [{"cell_type": "code", "source": "x", "metadata": {"nbgrader": 5}}], '
    b'"metadata": {}, "nbformat": 4, "nbformat_minor": 5}',  # valid JSON, wrong shapes inside
])
def test_malformed_notebooks_are_skipped_not_crashes(data):
    docs, skipped = load_answers([Submission("eve", data),
                                  Submission("ann", nbformat.writes(notebook(ALICE)).encode())],
                                 list(STUBS))
    assert list(docs) == ["ann"]
    assert len(skipped) == 1 and skipped[0][0] == "eve" and "corrupt notebook" in skipped[0][1]
    assert "\n" not in skipped[0][1]

"""The lecturer's walkthrough is cut for presenting: one idea per slide, setup and tests and
grading notes out of the talk, figures on their own slide with their code hidden, long solutions
folded, every solution line kept."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from tiny_course import meta

from autograder.build import FOLD, HIDE_INPUT, LINES_PER_SLIDE, walkthrough

PARAGRAPHS = "\n\n".join(f"Paragraph {i}: one line of prose,\nand its second line."
                         for i in range(12))
MATHS = "$$\nL(w) = \\frac{1}{n}\n\n\\sum_i \\ell_i\n$$"  # a blank line inside: never cut there
LONG_SOLUTION = "def solve(x):\n    ### BEGIN SOLUTION\n" + "".join(
    f"    x = x + {i}  # step {i}\n" for i in range(30)) + "    return x\n    ### END SOLUTION"


def _walkthrough():
    source = new_notebook(cells=[
        new_markdown_cell("# Title\n\nWhat this notebook teaches."),
        new_code_cell("import autograder.checks\nDEVICE = 'cpu'",
                      metadata=meta("setup", grade=False, solution=False, locked=True)),
        new_markdown_cell("## Section\n\n" + PARAGRAPHS + "\n\n" + MATHS),
        new_code_cell(LONG_SOLUTION, metadata=meta("solve", grade=False, solution=True,
                                                   locked=False)),
        new_markdown_cell("**What the test checks.** Hidden inputs, to the last digit.\n\n"
                          "**Question (manually graded, 2 points).** Why?"),
        new_code_cell("assert_close(solve(0), 435)\npassed('ok')",
                      metadata=meta("test-solve", grade=True, solution=False, locked=True,
                                    points=2)),
        new_code_cell("fig, ax = plot.subplots()\nax.plot([1, 2])\nplot.show(fig)"),
        new_code_cell("print(solve(1))"),
    ])
    return source, walkthrough(source, "99_demo")


def _kind(cell) -> str:
    return cell.metadata["slideshow"]["slide_type"]


def test_setup_tests_and_grading_notes_stay_out_of_the_talk():
    _, nb = _walkthrough()
    shown = [c for c in nb.cells if _kind(c) != "skip"]
    text = "\n".join(c.source for c in shown)
    assert "import autograder.checks" not in text and "assert_close" not in text
    assert "What the test checks" not in "\n".join(c.source for c in nb.cells)
    assert "**Question.** Why?" in text and "points" not in text


def test_long_prose_continues_on_sub_slides_cut_at_paragraphs_never_inside_maths():
    _, nb = _walkthrough()
    parts = [c for c in nb.cells if c.cell_type == "markdown" and (
        "Paragraph" in c.source or "$$" in c.source)]
    assert len(parts) >= 3
    assert _kind(parts[0]) == "slide" and all(_kind(p) == "subslide" for p in parts[1:])
    assert all(len(p.source.splitlines()) <= LINES_PER_SLIDE for p in parts)
    assert "\n\n".join(p.source for p in parts).endswith(MATHS)  # in order, maths whole
    assert len({p.id for p in nb.cells}) == len(nb.cells)


def test_figures_get_their_own_slide_with_the_code_hidden_and_long_solutions_fold():
    _, nb = _walkthrough()
    figure = next(c for c in nb.cells if "plot.show" in c.source)
    assert _kind(figure) == "subslide" and HIDE_INPUT in figure.metadata["tags"]
    assert figure.metadata["jupyter"]["source_hidden"] is True
    solution = next(c for c in nb.cells if "def solve" in c.source)
    assert FOLD in solution.metadata["tags"] and "x = x + 29" in solution.source
    assert "BEGIN SOLUTION" not in solution.source
    plain = next(c for c in nb.cells if c.source == "print(solve(1))")
    assert _kind(plain) == "-" and "tags" not in plain.metadata

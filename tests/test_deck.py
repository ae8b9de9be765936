"""Offline decks and feedback (`autograder.deck`, `autograder.offline`, `autograder.feedback`):
the pages name no remote URL outside text and links, every local file they name is copied,
and the check that guards this catches what a CDN-bound page would load. Fast: nothing is
executed and no browser runs (tests/test_browser.py does, marked slow)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import deck
from autograder.course import Course
from autograder.feedback import OfflineFeedbackExporter, offline_maths
from autograder.offline import (
    AssetsMissing,
    css_references,
    external_references,
    katex_inline,
    missing_files,
    package_dir,
)

# a 2x2 PNG, as a figure output would hold one
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73000000164944415478"
    "9c63f8cfc0f09f8181e13f0303c37f0600273e05fb7a2f5b4b0000000049454e44ae426082")).decode()


def _notebook() -> nbformat.NotebookNode:
    figure = new_code_cell("plot.show(fig)", outputs=[new_output(
        "display_data", data={"image/png": PNG, "text/plain": "<Figure>"})])
    nb = new_notebook(cells=[
        new_markdown_cell("# Gradients\n\nThe loss $L(x, w)$ and [a link](https://example.org).",
                          metadata={"slideshow": {"slide_type": "slide"}}),
        new_markdown_cell("$$\\nabla f(w) = 0$$", metadata={"slideshow": {"slide_type": "-"}}),
        figure,
        new_code_cell("hidden_test()", metadata={"slideshow": {"slide_type": "skip"}}),
    ])
    nb.metadata["rise"] = {"scroll": True, "transition": "none"}
    return nb


class _OutsideText(HTMLParser):
    """Everything of a page but its text and its links: attribute values (without ``<a href>``
    and namespaces), scripts and style sheets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._code = False

    def handle_starttag(self, tag, attrs):
        self.parts += [value or "" for name, value in attrs
                       if not (tag == "a" and name == "href") and not name.startswith("xmlns")]
        self._code = tag in ("script", "style")

    def handle_endtag(self, tag):
        self._code = False

    def handle_data(self, data):
        if self._code:
            self.parts.append(data)


def urls_outside_text(html: str) -> list[str]:
    parser = _OutsideText()
    parser.feed(html)
    return re.findall(r"https?://[^\s\"'<>)]+", "\n".join(parser.parts))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("slides")
    deck.copy_assets(out)
    html = deck.render(_notebook(), "00_demo")
    (out / "00_demo.slides.html").write_text(html)
    return out, html


def test_deck_names_no_remote_url_outside_text(built):
    out, html = built
    assert urls_outside_text(html) == []
    assert external_references(html) == []
    assert "https://example.org" in html, "a link in the prose stays a link"
    for cdn in ("cdnjs", "unpkg", "jsdelivr", "mathjax", "require.js", "jquery"):
        assert cdn not in html.lower(), cdn


def test_deck_files_it_names_are_copied_beside_it(built):
    out, html = built
    assert missing_files(html, out) == []
    for rel in ("reveal.js/dist/reveal.js", "reveal.js/dist/reveal.css",
                f"reveal.js/dist/theme/{deck.THEME}.css", "reveal.js/plugin/notes/notes.js",
                "katex/katex.min.js", "katex/katex.min.css", "katex/contrib/auto-render.min.js",
                "reveal.js/LICENSE", "katex/LICENSE"):
        assert (out / deck.ASSETS / rel).is_file(), rel
        assert f"{deck.ASSETS}/{rel}" in html or rel.endswith("LICENSE"), rel
    # and every file those style sheets load: KaTeX's fonts, the theme's fonts
    for css in (out / deck.ASSETS).rglob("*.css"):
        for url in re.findall(r"url\(['\"]?([^'\")]+)", css.read_text()):
            if not url.startswith("data:"):
                assert (css.parent / url.split("?")[0].split("#")[0]).is_file(), (css, url)
    assert css_references((out / deck.ASSETS / "reveal.js/dist/theme/white.css").read_text()) == []


def test_deck_embeds_figures_skips_tests_and_typesets_before_reveal(built):
    _, html = built
    assert f"data:image/png;base64,{PNG}" in html
    assert "hidden_test()" not in html
    assert html.index("cvcourseTypeset(document") < html.index("Reveal.initialize")
    assert 'transition: "none"' in html
    assert "$L(x, w)$" in html, "TeX stays in the page for KaTeX to typeset in the browser"


def test_the_walkthroughs_render_offline_as_they_are(tmp_path):
    """The template holds for a real walkthrough (unexecuted: no figures, all its maths)."""
    course = Course(ROOT)
    notebook = deck.walkthroughs(course, [course.assignments()[0]])[0]
    deck.copy_assets(tmp_path)
    result = deck.build_deck(notebook, tmp_path, run=False)
    html = result.path.read_text()
    assert urls_outside_text(html) == [] and missing_files(html, tmp_path) == []
    assert html.count("<section") > 5


def test_the_check_refuses_remote_and_missing_loads(tmp_path):
    with pytest.raises(deck.DeckError, match="remote"):
        deck.check('<script src="https://unpkg.com/reveal.js@4.0.2/dist/reveal.js"></script>',
                   tmp_path)
    with pytest.raises(deck.DeckError, match="missing"):
        deck.check('<link rel="stylesheet" href="assets/nope.css">', tmp_path)


@pytest.mark.parametrize("page, url", [
    ('<script src="https://cdn.example/x.js"></script>', "https://cdn.example/x.js"),
    ('<link rel="stylesheet" href="//cdn.example/a.css">', "//cdn.example/a.css"),
    ("<style>/* https://ok.example */ @import url(https://fonts.example/f.css);</style>",
     "https://fonts.example/f.css"),
    ("<style>@import 'http://fonts.example/g.css';</style>", "http://fonts.example/g.css"),
    ('<div style="background: url(\'https://img.example/b.png\')"></div>',
     "https://img.example/b.png"),
    ('<img srcset="a.png 1x, https://img.example/c.png 2x">', "https://img.example/c.png"),
    ("<script type=module>import mermaid from 'https://cdn.example/m.mjs';</script>",
     "https://cdn.example/m.mjs"),
    ('<script>require(["https://cdn.example/r.js"], f)</script>', "https://cdn.example/r.js"),
    ('<svg><image href="https://img.example/d.png"/></svg>', "https://img.example/d.png"),
])
def test_external_references_finds_what_a_page_would_fetch(page, url):
    assert external_references(page) == [url]


def test_external_references_ignores_links_namespaces_and_text():
    page = ('<p>see https://example.org</p><a href="https://example.org">x</a>'
            '<svg xmlns="http://www.w3.org/2000/svg"></svg><img src="data:image/png;base64,AA">'
            '<script src="assets/katex/katex.min.js"></script>'
            '<script>var ns = "http://www.w3.org/2000/svg";</script>')
    assert external_references(page) == []


def test_feedback_loads_katex_inlined_instead_of_mathjax(tmp_path):
    """nbgrader's feedback template, through the exporter the course config names."""
    from nbgrader.converters import GenerateFeedback

    nb = new_notebook(cells=[new_markdown_cell("Because $x^2 = x \\cdot x$.")])
    resources = {"nbgrader": {"notebook": "00_tiny", "score": 1, "max_score": 2,
                              "late_penalty": 0}}
    template = GenerateFeedback()  # sets the exporters' feedback template, as nbgrader runs it
    plain = HTMLExporter(config=template.config)
    page, _ = plain.from_notebook_node(nb, resources=dict(resources))
    assert "Score: 1" in page or "00_tiny" in page, "nbgrader's feedback template"
    assert external_references(page), "nbconvert's MathJax comes from a CDN"
    offline, _ = OfflineFeedbackExporter(config=template.config).from_notebook_node(
        nb, resources=dict(resources))
    assert external_references(offline) == [] and "cdnjs" not in offline
    assert "renderMathInElement" in offline and "katex" in offline
    assert "$x^2 = x \\cdot x$" in offline
    # a single file: nothing beside it (but the icon fonts nbgrader's inlined bootstrap names,
    # which no feedback element uses: never requested)
    missing = [url for url in missing_files(offline, tmp_path) if "glyphicons-halflings" not in url]
    assert missing == [], "a single file: nothing beside it"
    assert offline_maths(offline) == offline, "applied twice changes nothing"
    # fonts travel inside the page, as woff2 data URIs
    assert offline.count("data:font/woff2;base64,") >= 15


def test_katex_inline_is_self_contained():
    fragment = katex_inline()
    assert external_references(fragment) == []
    assert re.search(r"url\((?!data:)", fragment) is None
    assert 300_000 < len(fragment) < 1_500_000


def test_missing_npm_packages_name_the_fix(tmp_path):
    with pytest.raises(AssetsMissing, match="make setup"):
        package_dir("katex", tmp_path)

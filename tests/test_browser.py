"""In a real browser, offline: a lecture deck shows its first slides styled and sized to the
screen, with a figure and typeset maths, and a student's feedback page typesets maths, and
neither page sends a single request off the machine. Headless Chromium from Debian
(``apt-get install -y chromium``, done by ``make setup`` as root) driven by playwright;
screenshots go to ``reports/screenshots/`` (or ``$CVCOURSE_SCREENSHOTS``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ROOT, cli
from tiny_course import tiny_course

from autograder import deck
from autograder.offline import external_references

pytestmark = pytest.mark.slow  # executes a walkthrough, runs nbgrader and a browser

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("CVCOURSE_SCREENSHOTS", ROOT / "reports" / "screenshots"))
CURRENT = ".reveal .slides section.present:not(.stack)"  # the slide on screen
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """A headless Chromium (fresh profile) that refuses and records every request that is not
    a local file; yields ``(context, refused)``."""
    if not CHROMIUM.is_file():
        pytest.fail(f"no {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(`make setup` does, as root)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("no playwright: `.venv/bin/pip install playwright` (never "
                    "`playwright install`: the tests use Debian's chromium)", pytrace=False)
    refused: list[str] = []
    seen: list[str] = []

    def only_local(route) -> None:
        url = route.request.url
        seen.append(url)
        if url.startswith(("file://", "data:", "blob:", "about:", "http://127.0.0.1")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=ARGS, viewport={"width": 1280, "height": 800})
        context.route("**/*", only_local)
        # requests the router does not see (a service worker, a prefetch) are logged here too
        context.on("request", lambda request: seen.append(request.url))
        try:
            yield context, refused, seen
        finally:
            context.close()


def _open(context, path: Path):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors


def _shot(page, name: str) -> Path:
    """Screenshot ``name`` to SHOTS; with ``$CVCOURSE_DOCS_SCREENSHOTS`` (the README's
    ``docs/screenshots``) also a small copy there."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path))
    if os.environ.get("CVCOURSE_DOCS_SCREENSHOTS"):
        from autograder.lab import shrink_png

        shrink_png(path, Path(os.environ["CVCOURSE_DOCS_SCREENSHOTS"]) / name)
    return path


def _assert_local(refused: list[str], seen: list[str]) -> None:
    assert not refused, f"requests that would leave the machine: {sorted(set(refused))[:5]}"
    outside = [u for u in seen if not u.startswith(("file://", "data:", "blob:", "about:",
                                                    "http://127.0.0.1"))]
    assert not outside, f"requests to the network: {sorted(set(outside))[:5]}"


@pytest.fixture(scope="module")
def deck_01(tmp_path_factory) -> Path:
    """01_optimization's walkthrough, executed, as a deck with its assets in a scratch folder."""
    out = tmp_path_factory.mktemp("slides")
    deck.copy_assets(out)
    return deck.build_deck(ROOT / "notebooks" / "01_optimization.ipynb", out).path


def test_deck_shows_styled_slides_with_maths_and_a_figure_offline(chromium, deck_01):
    context, refused, seen = chromium
    page, errors = _open(context, deck_01)
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
    assert not errors, errors
    assert page.evaluate("Reveal.getTotalSlides()") > 5
    # reveal.js and its theme are applied: slides laid out, the theme's font in use
    font = page.evaluate("getComputedStyle(document.querySelector('.reveal')).fontFamily")
    assert "Source Sans Pro" in font, font
    # the title slide: KaTeX typeset its formulas, no raw $...$ left
    first = page.locator(CURRENT)
    assert first.locator(".katex").count() >= 3
    assert "$" not in first.inner_text()
    assert page.locator(".katex-error").count() == 0, "a formula KaTeX cannot parse"
    _shot(page, "deck_01_slide_1.png")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert page.locator(f"{CURRENT} .katex-display").count() >= 1
    _shot(page, "deck_01_slide_2.png")
    # the walkthrough is cut for presenting: this slide fits the screen, nothing to scroll
    fits = page.evaluate(f"""() => {{
        const s = document.querySelector('{CURRENT}');
        return s.scrollHeight <= s.clientHeight + 2 && !s.classList.contains('cvcourse-scroll');
    }}""")
    assert fits, "the second slide is taller than the screen"
    # the first figure (a PNG embedded in the page) is decoded and shown on its slide
    indices = page.evaluate("""() => {
        const img = document.querySelector('.reveal .slides section img');
        let s = img.closest('section');
        return Reveal.getIndices(s);
    }""")
    page.evaluate(f"Reveal.slide({indices['h']}, {indices.get('v') or 0})")
    page.wait_for_timeout(500)
    figure = page.locator(f"{CURRENT} img").first
    figure.scroll_into_view_if_needed()
    assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
    assert figure.get_attribute("src").startswith("data:image/png;base64,")
    assert figure.is_visible()
    _shot(page, "deck_01_first_figure.png")
    page.close()
    _assert_local(refused, seen)


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory) -> Path:
    """A real feedback page (nbgrader autograde + generate_feedback with the course config) of
    a student whose written answer holds maths."""
    from autograder.build import generate_release, nbgrader, prepare_workspace
    from autograder.notebook import read
    from autograder.submission import fill, submit

    course = tiny_course(tmp_path_factory.mktemp("tiny"))
    built = cli("build", cwd=course)
    assert built.returncode == 0, built.stderr
    work = prepare_workspace(course, "00_tiny", tmp_path_factory.mktemp("course"))
    release = read(generate_release(work, "00_tiny") / "00_tiny.ipynb")
    answer = ("Because $x^2 = x \\cdot x$ for every real $x$, and\n\n"
              "$$\\sum_{i=1}^{n} i^2 = \\frac{n(n+1)(2n+1)}{6}.$$")
    submit(work, "maths", "00_tiny", fill(release, {
        "square": "def square(x):\n    return x * x", "why": answer}))
    for step in ("autograde", "generate_feedback"):
        result = nbgrader([step, "00_tiny", "--force"], cwd=work)
        assert result.returncode == 0, result.stderr[-1500:]
    return work / "feedback" / "maths" / "00_tiny" / "00_tiny.html"


def test_feedback_typesets_maths_offline(chromium, feedback_page):
    context, refused, seen = chromium
    html = feedback_page.read_text()
    assert not external_references(html) and "cdnjs" not in html, "MathJax is still loaded"
    page, errors = _open(context, feedback_page)
    page.wait_for_function("document.querySelectorAll('.katex').length >= 3", timeout=20_000)
    assert not errors, errors
    assert page.locator(".katex-display").count() == 1
    assert page.locator(".katex-error").count() == 0
    body = page.inner_text("body")
    assert "$x^2" not in body and "\\frac" not in body, "raw TeX left on the page"
    page.locator(".katex-display").first.scroll_into_view_if_needed()
    _shot(page, "feedback_maths.png")
    page.close()
    _assert_local(refused, seen)

"""Offline lecture decks: every walkthrough ``notebooks/NN_slug.ipynb``, executed, becomes a
reveal.js deck ``slides/NN_slug.slides.html`` that loads nothing from the network.

``nbconvert --to slides`` fetches reveal.js, jQuery, require.js and MathJax from CDNs, so offline
a deck is an unstyled page with raw ``$...$``. Here the same slides exporter renders the notebook
through a template (:data:`TEMPLATE`, extending nbconvert's ``reveal`` one) that drops jQuery,
require.js, mermaid and the widget manager, and takes reveal.js and KaTeX from the project's own
npm install (``package.json``, ``npm ci`` in ``make setup``), copied to ``slides/assets/``.
Figures are embedded in the page as data URIs. Every deck is then scanned: a remote URL the page
would load, or a local file it names that is not there, fails the build.

Usage (``make slides``)::

    python -m autograder.deck                      every walkthrough -> slides/
    python -m autograder.deck 01_optimization      only that one
    python -m autograder.deck --out build/slides   elsewhere
    python -m autograder.deck --no-execute         as committed (no outputs, no figures)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert.exporters import SlidesExporter
from nbformat import NotebookNode

from autograder.course import Course, CourseError
from autograder.offline import (
    TYPESET_JS,
    copy_files,
    copy_katex,
    css_references,
    external_references,
    missing_files,
    package_dir,
)

ASSETS = "assets"  # beside the decks: assets/reveal.js/..., assets/katex/...
THEME = "white"  # a reveal.js theme whose fonts ship with it (simple, sky, ... use Google Fonts)
REVEAL_FILES = ["dist/reveal.css", "dist/reveal.js", f"dist/theme/{THEME}.css",
                "dist/theme/fonts/source-sans-pro", "plugin/notes/notes.js", "LICENSE"]
KERNEL = "cvcourse"

# Blocks of nbconvert's reveal/index.html.j2 replaced: its <head> scripts (jQuery, require.js,
# mermaid, all from CDNs), the widget manager (unpkg), MathJax (cdnjs), and the footer script
# that loads reveal.js through require.js. Each placeholder below is filled from ``resources``.
# Headings keep their case (the theme's capitals would turn a formula's w into W).
TEMPLATE = r"""{%- extends 'reveal/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}
<link rel="stylesheet" href="{{ resources.deck.katex }}/katex.min.css">
<script src="{{ resources.deck.katex }}/katex.min.js"></script>
<script src="{{ resources.deck.katex }}/contrib/auto-render.min.js"></script>
<script>
{{ resources.deck.typeset_js }}
</script>
<style>
.reveal .katex-display { margin: 0.6em 0; }
.reveal section.cvcourse-scroll { overflow-y: auto !important; }
.reveal .slides :is(h1, h2, h3, h4, h5, h6) { text-transform: none; }
.reveal .celltag_fold .jp-InputArea { max-height: 14em; overflow-y: auto; }
</style>
{%- endblock html_head_js_mathjax -%}
{% block footer_js %}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script src="{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"></script>
<script>
// Typeset before reveal.js measures the slides, so their heights include the formulas.
cvcourseTypeset(document.querySelector(".reveal .slides"));
Reveal.initialize({
  controls: true,
  progress: true,
  history: true,
  hash: true,
  transition: {{ resources.deck.transition | json_dumps }},
  slideNumber: {{ resources.deck.slide_number | json_dumps }},
  width: {{ resources.deck.width }},
  height: {{ resources.deck.height }},
  plugins: [RevealNotes]
});
// A slide taller than the screen scrolls instead of being cut (RISE's "scroll": true).
function cvcourseScrollTallSlides() {
  if (!{{ resources.deck.scroll | json_dumps }}) { return; }
  var limit = document.querySelector(".reveal").clientHeight * 0.95;
  document.querySelectorAll(".reveal section.present > section, .reveal section.present")
    .forEach(function (section) {
      if (section.querySelector("section") === null && section.scrollHeight > limit) {
        section.classList.add("cvcourse-scroll");
        section.style.height = "calc(95vh)";
        section.style.marginTop = "20px";
      }
    });
}
Reveal.on("ready", cvcourseScrollTallSlides);
Reveal.on("slidechanged", cvcourseScrollTallSlides);
</script>
{% endblock footer_js %}
"""


class DeckError(CourseError):
    """A deck cannot be built (the notebook fails, or the page would load something remote)."""


@dataclass(frozen=True)
class Deck:
    """One rendered deck: where it is, how big, and how long executing and rendering took."""

    name: str
    path: Path
    size: int
    seconds: float


def copy_assets(out: Path, modules: Path | None = None) -> Path:
    """Copy reveal.js (script, style, theme and its fonts, speaker notes) and KaTeX to
    ``out/assets``, replacing what an earlier build left; returns that folder."""
    assets = out / ASSETS
    if assets.exists():
        shutil.rmtree(assets)
    copy_files(package_dir("reveal.js", modules), assets / "reveal.js", REVEAL_FILES)
    copy_katex(assets / "katex", modules)
    for css in assets.rglob("*.css"):
        remote = css_references(css.read_text(errors="replace"))
        if remote:
            raise DeckError(f"{css} would fetch {remote[0]}: use a theme with local fonts")
    return assets


def execute(nb: NotebookNode, timeout: int, kernel: str = KERNEL) -> NotebookNode:
    """Run ``nb`` top to bottom in ``kernel`` with a fresh scratch folder as working directory
    (nothing the notebook writes lands in the repository) and matplotlib's inline backend (an
    inherited ``MPLBACKEND=Agg`` would leave the deck without figures); a failing cell is a
    DeckError."""
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    with tempfile.TemporaryDirectory(prefix="cvcourse-deck-") as cwd:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": cwd}})
        try:
            client.execute(env=env)
        except CellExecutionError as err:
            raise DeckError(f"a cell failed while executing the walkthrough:\n{err}") from None
        except (CellTimeoutError, DeadKernelError) as err:
            raise DeckError(f"executing the walkthrough: {type(err).__name__}: {err}") from None
    return nb


def exporter(nb: NotebookNode) -> SlidesExporter:
    """nbconvert's slides exporter with :data:`TEMPLATE`, reveal.js under ``assets/``."""
    from traitlets.config import Config

    from autograder.build import HIDE_INPUT

    # the walkthrough marks figure code (autograder.build): the talk shows the figure only
    config = Config({"TagRemovePreprocessor": {"enabled": True,
                                               "remove_input_tags": [HIDE_INPUT]}})
    slides = SlidesExporter(config=config, reveal_url_prefix=f"{ASSETS}/reveal.js",
                            reveal_theme=THEME)
    slides.raw_template = TEMPLATE
    return slides


def render(nb: NotebookNode, name: str) -> str:
    """The deck's HTML for notebook ``nb`` (executed or not), assets expected under
    ``assets/`` beside it; slide settings (transition, scroll) from its RISE metadata."""
    rise = nb.metadata.get("rise", {})
    resources = {
        "metadata": {"name": name},
        "deck": {
            "katex": f"{ASSETS}/katex",
            "typeset_js": TYPESET_JS,
            "transition": rise.get("transition", "none"),
            "slide_number": "c/t",
            "scroll": bool(rise.get("scroll", True)),
            "width": int(rise.get("width", 1280)),
            "height": int(rise.get("height", 800)),
        },
    }
    html, _ = exporter(nb).from_notebook_node(nb, resources=resources)
    return strip_css_comments(html)


def strip_css_comments(html: str) -> str:
    """Drop the comments of the page's inline style sheets (nbconvert's JupyterLab CSS credits
    its sources with URLs there): the deck then holds no URL outside text and links."""
    def clean(match: re.Match) -> str:
        return match.group(1) + re.sub(r"/\*.*?\*/", "", match.group(2), flags=re.DOTALL) \
            + match.group(3)
    return re.sub(r"(<style[^>]*>)(.*?)(</style>)", clean, html, flags=re.DOTALL | re.IGNORECASE)


def check(html: str, folder: Path) -> None:
    """Fail unless the page loads nothing remote and every local file it names is in
    ``folder``."""
    remote = external_references(html)
    if remote:
        raise DeckError(f"the deck would load {len(remote)} remote URL(s): {remote[:3]}")
    missing = missing_files(html, folder)
    if missing:
        raise DeckError(f"the deck names {len(missing)} missing file(s): {missing[:3]}")


def build_deck(notebook: Path, out: Path, run: bool = True, timeout: int = 1800) -> Deck:
    """Render ``notebook`` (executed first unless ``run`` is false) to
    ``out/NAME.slides.html``; the assets must already be in ``out/assets`` (:func:`copy_assets`)."""
    start = time.perf_counter()
    name = notebook.stem
    nb = nbformat.read(notebook, as_version=4)
    if run:
        nb = execute(nb, timeout)
    html = render(nb, name)
    check(html, out)
    path = out / f"{name}.slides.html"
    path.write_text(html, encoding="utf-8")
    return Deck(name, path, path.stat().st_size, time.perf_counter() - start)


def walkthroughs(course: Course, names: list[str] | None = None) -> list[Path]:
    """The walkthrough notebooks of ``names`` (every assignment when empty), in course order."""
    selected = names or course.assignments()
    paths = [course.assignment(name).walkthrough for name in selected]
    absent = [str(path) for path in paths if not path.is_file()]
    if absent:
        raise DeckError(f"no walkthrough {absent[0]}: run `python -m autograder build` first")
    return paths


def build_decks(course: Course, out: Path, names: list[str] | None = None, run: bool = True,
                timeout: int = 1800, progress=print) -> list[Deck]:
    """Copy the assets to ``out`` and build one deck per walkthrough, reporting each."""
    notebooks = walkthroughs(course, names)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    decks = []
    for notebook in notebooks:
        deck = build_deck(notebook, out, run=run, timeout=timeout)
        progress(f"{deck.path}  {deck.size / 1e6:.1f} MB  {deck.seconds:.1f} s")
        decks.append(deck)
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.deck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="NN_slug names (default: every one)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: slides/ in the course root)")
    parser.add_argument("--no-execute", dest="run", action="store_false",
                        help="render the walkthroughs as they are, without running them")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (1800)")
    args = parser.parse_args(argv)
    try:
        course = Course.find()
        out = args.out or course.root / "slides"
        start = time.perf_counter()
        decks = build_decks(course, out, args.assignments, run=args.run, timeout=args.timeout)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    assets = sum(p.stat().st_size for p in (out / ASSETS).rglob("*") if p.is_file())
    print(f"{len(decks)} deck(s) in {out} ({assets / 1e6:.1f} MB of assets in {out / ASSETS}), "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

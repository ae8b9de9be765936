"""Browser assets served from the project's own install, never from a CDN, and a check that a
page loads nothing from the network.

reveal.js and KaTeX come from the npm packages pinned in ``package.json``/``package-lock.json``
(``npm ci``, run by ``make setup``) under the repository's ``node_modules/``, or where
``CVCOURSE_NODE_MODULES`` points. Lecture decks (:mod:`autograder.deck`) copy them beside the deck;
feedback (:mod:`autograder.feedback`) inlines KaTeX, since a student gets one HTML file.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from autograder.course import CourseError

ENV_VAR = "CVCOURSE_NODE_MODULES"
INSTALL_HINT = ("run `make setup` (or `npm ci` in the repository root; it needs Node.js and npm: "
                "`apt-get install -y nodejs npm`)")

# TeX delimiters KaTeX's auto-render looks for: the ones Jupyter's MathJax set-up accepts.
_ENVIRONMENTS = ("equation", "equation*", "align", "align*", "alignat", "alignat*", "gather",
                 "gather*", "multline", "multline*", "CD")
DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    *({"left": f"\\begin{{{env}}}", "right": f"\\end{{{env}}}", "display": True}
      for env in _ENVIRONMENTS),
    {"left": "$", "right": "$", "display": False},
    {"left": "\\(", "right": "\\)", "display": False},
]
# Called once the page has loaded: typesets every formula outside code and program output.
TYPESET_JS = (
    "function cvcourseTypeset(root) {\n"
    "  renderMathInElement(root || document.body, {\n"
    f"    delimiters: {json.dumps(DELIMITERS)},\n"
    '    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],\n'
    "    throwOnError: false\n"
    "  });\n"
    "}\n")


class AssetsMissing(CourseError):
    """The npm packages (reveal.js, KaTeX) are not installed where the course looks for them."""


def node_modules() -> Path:
    """The ``node_modules`` folder holding the course's npm packages: ``$CVCOURSE_NODE_MODULES``,
    else the one in the repository this package lives in."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path(__file__).resolve().parent.parent / "node_modules"


def package_dir(name: str, modules: Path | None = None) -> Path:
    """Folder of the installed npm package ``name`` (``katex``, ``reveal.js``); a one-line
    :class:`AssetsMissing` naming the fix when it is not there."""
    folder = (modules or node_modules()) / name
    if not (folder / "package.json").is_file():
        raise AssetsMissing(f"{name} is not installed in {folder.parent}: {INSTALL_HINT}")
    return folder


def package_version(name: str, modules: Path | None = None) -> str:
    """Installed version of npm package ``name``."""
    return json.loads((package_dir(name, modules) / "package.json").read_text())["version"]


def copy_files(src: Path, dest: Path, relative: list[str]) -> list[Path]:
    """Copy files or whole folders ``relative`` to ``src`` into the same places under ``dest``."""
    copied = []
    for rel in relative:
        source, target = src / rel, dest / rel
        if not source.exists():
            raise AssetsMissing(f"{source} is missing (a damaged npm install?): {INSTALL_HINT}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
            copied += [p for p in target.rglob("*") if p.is_file()]
        else:
            shutil.copyfile(source, target)
            copied.append(target)
    return copied


KATEX_FILES = ["katex.min.css", "katex.min.js", "contrib/auto-render.min.js", "fonts"]


def copy_katex(dest: Path, modules: Path | None = None) -> Path:
    """Copy KaTeX (script, style sheet, fonts, auto-render, licence) to ``dest``; returns it."""
    katex = package_dir("katex", modules)
    copy_files(katex / "dist", dest, KATEX_FILES)
    shutil.copyfile(katex / "LICENSE", dest / "LICENSE")
    return dest


def _inline_fonts(css: str, base: Path) -> str:
    """Replace each ``@font-face`` source list by its woff2 file as a data URI (every browser that
    runs KaTeX reads woff2), so the style sheet needs no file beside it."""
    def woff2(match: re.Match) -> str:
        rel = re.search(r"url\(([^)]+\.woff2)\)", match.group(0))
        if rel is None:
            raise AssetsMissing(f"KaTeX style sheet: no woff2 font in {match.group(0)[:80]}")
        data = base64.b64encode((base / rel.group(1).strip("'\"")).read_bytes()).decode()
        return f"src:url(data:font/woff2;base64,{data}) format(\"woff2\")"
    return re.sub(r"src:[^;}]+", woff2, css)


def katex_inline(modules: Path | None = None) -> str:
    """KaTeX as one self-contained HTML fragment (``<style>`` with the fonts as data URIs, the
    scripts, and a call that typesets the page once it has loaded): about 0.7 MB."""
    dist = package_dir("katex", modules) / "dist"
    css = _inline_fonts((dist / "katex.min.css").read_text(), dist)
    scripts = [(dist / name).read_text() for name in ("katex.min.js", "contrib/auto-render.min.js")]
    # "</" cannot end an inline script early: the libraries never hold "</script"
    if any("</script" in text.lower() for text in scripts):
        raise AssetsMissing("KaTeX's script holds '</script': it cannot be inlined")
    version = package_version("katex", modules)
    return (f"<!-- KaTeX {version} (MIT licence), inlined: nothing is fetched -->\n"
            f"<style>{css}</style>\n"
            + "".join(f"<script>{text}</script>\n" for text in scripts)
            + f"<script>{TYPESET_JS}\n"
            "document.addEventListener('DOMContentLoaded', function () { cvcourseTypeset(); });"
            "</script>\n")


# -- what a page would fetch ---------------------------------------------------------------------

_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""",
                      re.IGNORECASE)
# in a script: a URL it would load (src/href set, an import, require, fetch, XHR open)
_JS_LOAD = re.compile(
    r"""(?:\bsrc\s*[=:]|\bhref\s*[=:]|\bimport\s*\(?|\bfrom|\brequire\s*\(\s*\[?|\bfetch\s*\(|"""
    r"""\.open\s*\(\s*['"]\w+['"]\s*,)\s*['"`]((?:https?:)?//[^'"`]+)""", re.IGNORECASE)
_LOADING_ATTRS = {"src", "href", "srcset", "data", "poster", "background", "action", "formaction",
                  "xlink:href", "manifest", "codebase", "archive", "lowsrc", "dynsrc", "longdesc",
                  "imagesrcset", "ping"}
_LINK_TAGS = {"a", "area"}  # following a link is the reader's choice, not something the page loads


def _css_urls(css: str) -> list[str]:
    matches = _CSS_URL.finditer(_CSS_COMMENT.sub("", css))
    return [(match.group(2) or match.group(4)).strip() for match in matches]


def css_references(css: str) -> list[str]:
    """Remote URLs a style sheet would fetch (``url(...)``, ``@import``), comments ignored."""
    return [url for url in _css_urls(css) if _REMOTE.match(url)]


class _Scanner(HTMLParser):
    """Collects every URL a page loads by itself, local or remote."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if not value:
                continue
            if name == "style":
                self.found += _css_urls(value)
            elif name in _LOADING_ATTRS and not (tag in _LINK_TAGS and name in ("href", "ping")):
                if name.endswith("srcset"):
                    self.found += [part.split()[0] for part in value.split(",") if part.strip()]
                else:
                    self.found.append(value.strip())
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.found += _css_urls(data)
        elif self._in == "script":
            self.found += [match.group(1) for match in _JS_LOAD.finditer(data)]


def references(html: str) -> list[str]:
    """Every URL the page would load by itself: attributes that load something (``src``,
    ``href`` of a ``<link>``, ``srcset``, ...), CSS ``url()``/``@import`` in style sheets and
    ``style`` attributes, and URLs inline scripts load. Links a reader may follow
    (``<a href>``), namespaces and plain text are not loads."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


def external_references(html: str) -> list[str]:
    """The remote (http, https or protocol-relative) URLs among :func:`references`."""
    return [url for url in references(html) if _REMOTE.match(url)]


def missing_files(html: str, base: Path) -> list[str]:
    """Local references of the page (relative paths, ``file:`` URLs excluded) with no file
    under ``base``, the page's folder; data URIs and in-page anchors need no file."""
    missing = []
    for url in references(html):
        if _REMOTE.match(url) or re.match(r"^(data|blob|about|javascript|file):|^#", url, re.I):
            continue
        path = url.split("#", 1)[0].split("?", 1)[0]
        if path and not (base / path).is_file():
            missing.append(url)
    return missing

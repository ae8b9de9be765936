"""Similarity between students' answers: which pairs of submissions share unusually much code.

Only the answer cells count (the cells nbgrader marks ``solution: true``); the same cells of the
release notebook are the starter code, passed to the detector as boilerplate, so a signature,
docstring or ``raise NotImplementedError()`` every student was given never makes two students
similar. Fingerprinting, winnowing, boilerplate removal and locating the copied spans are
`copydetect <https://github.com/blingenf/copydetect>`_'s (Stanford MOSS's winnowing: tokens are
normalised, so renamed variables and changed comments or strings still match). This module
extracts the documents, ranks the pairs and writes ``reports/ASSIGNMENT/similarity.html``:
a self-contained page (same offline policy as the class report) with both students' answers
side by side and the overlap highlighted.

A high score is a reason to look, not a verdict: short exercises with one natural solution
overlap by construction.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect import __version__ as copydetect_version
from copydetect.utils import highlight_overlap
from nbformat import NotebookNode
from nbgrader import utils as nbutils

from autograder.collect import Submission, find_submissions
from autograder.course import Assignment, Course

SIMILARITY_HTML = "similarity.html"  # beside report.html, which links to it
CODE_K = 25  # copydetect's default noise threshold: matches shorter than 25 normalised tokens
TEXT_K = 50  # prose is not normalised, so a match must be longer (about 8 words) to count
THRESHOLD = 0.5  # pairs at or above this share are marked for review
TOP = 50  # pairs shown with their code (the table lists the same pairs)
# a comment line before each answer cell: the detector drops comments, the reader sees the cell
CELL_HEADER = "# ── {grade_id} " + "─" * 40
# copydetect picks its tokenizer from the file name: the code document is Python, prose is not
# tokenised at all (filter=False: a text lexer would drop every word)
CODE_NAME, TEXT_NAME = "answers.py", "answers.md"


class SimilarityError(ValueError):
    """The similarity report cannot be made as asked (no release notebook, bad parameters)."""


@dataclass
class Answers:
    """One notebook's answer cells, joined into a code document and a prose document."""

    code: str = ""
    text: str = ""
    cells: int = 0


@dataclass
class Part:
    """The overlap of one document kind (code or prose) between the two students of a pair."""

    overlap: tuple[float, float] = (0.0, 0.0)  # matched tokens in a's and in b's document
    slices: tuple[np.ndarray, np.ndarray] | None = None  # copied spans in the raw text


@dataclass
class Pair:
    """Two students and how much of each one's answers (beyond the starter code) the other has."""

    a: str
    b: str
    share_a: float  # fraction of a's fingerprinted answer tokens also found in b's
    share_b: float
    tokens: int  # matched tokens (in a's document: code and prose together)
    parts: dict[str, Part] = field(default_factory=dict, repr=False)

    @property
    def score(self) -> float:
        """The larger share: one student's work found whole in a longer one still ranks high."""
        return max(self.share_a, self.share_b)


@dataclass
class SimilarityReport:
    """Everything the page shows; ``pairs`` are ranked, most similar first."""

    assignment: str
    students: list[str]
    skipped: list[tuple[str, str]]  # (student, why): missing or corrupt notebooks
    pairs: list[Pair]
    answers: dict[str, Answers]
    seconds: float
    boilerplate: str  # which release notebook gave the starter code
    threshold: float = THRESHOLD
    top: int = TOP
    path: Path | None = None

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.score >= self.threshold]


# --- documents ------------------------------------------------------------------------------
def answer_cells(nb: NotebookNode) -> list[tuple[str, str, str]]:
    """``(grade_id, cell_type, source)`` of every answer cell (nbgrader ``solution: true``)."""
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if nbutils.is_solution(cell):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index}"
            cells.append((str(gid), cell.cell_type, str(cell.get("source", ""))))
    return cells


def answers(nb: NotebookNode, order: list[str] | None = None) -> Answers:
    """A notebook's answer cells as one code and one prose document.

    Cells are put in ``order`` (the release's grade ids; others last) so that two untouched
    stubs next to each other join exactly as in the release, and the k-grams spanning their
    junction are boilerplate too.
    """
    cells = answer_cells(nb)
    rank = {gid: i for i, gid in enumerate(order or [])}
    cells.sort(key=lambda c: rank.get(c[0], len(rank)))  # stable: unknown cells keep their order
    code, text = [], []
    for gid, kind, source in cells:
        if kind == "code":
            code.append(CELL_HEADER.format(grade_id=gid) + "\n" + source.rstrip() + "\n")
        else:  # markdown answers: whitespace carries no meaning in prose
            text.append(f"[{gid}] " + " ".join(source.split()) + "\n")
    return Answers("\n".join(code), "\n".join(text), len(cells))


def _read(data: bytes) -> NotebookNode:
    with warnings.catch_warnings():  # nbformat's schema warnings: a bad one is skipped anyway
        warnings.simplefilter("ignore")
        return nbformat.reads(data.decode("utf-8"), as_version=4)


def load_answers(submissions: Iterable[Submission], order: list[str]
                 ) -> tuple[dict[str, Answers], list[tuple[str, str]]]:
    """Answer documents per student, and the students skipped with the reason (one line)."""
    found, skipped = {}, []
    for sub in submissions:
        if sub.notebook is None:
            skipped.append((sub.student, sub.problem or "no notebook"))
            continue
        try:  # valid JSON with the wrong shapes inside fails only when its cells are read
            doc = answers(_read(sub.notebook), order)
        except Exception as err:  # noqa: BLE001 - nbformat raises many types for bad input
            skipped.append((sub.student, f"corrupt notebook ({type(err).__name__}: "
                                         f"{str(err).splitlines()[0][:120] if str(err) else ''})"))
            continue
        if not doc.cells:
            skipped.append((sub.student, "no answer cells (nbgrader cell metadata removed?)"))
            continue
        found[sub.student] = doc
    return found, skipped


# --- comparison (copydetect) ----------------------------------------------------------------
def _fingerprint(text: str, kind: str, k: int, boilerplate: np.ndarray) -> CodeFingerprint:
    # window size 1 (guarantee threshold = noise threshold): every k-gram is kept, as
    # copydetect's defaults do; documents are small, so winnowing would save nothing
    name = CODE_NAME if kind == "code" else TEXT_NAME
    return CodeFingerprint(name, k, 1, boilerplate=boilerplate, filter=kind == "code",
                           language="python" if kind == "code" else None,
                           fp=io.StringIO(text))


def _boilerplate(text: str, kind: str, k: int) -> np.ndarray:
    if not text.strip():
        return np.array([], dtype=np.int64)
    hashes = _fingerprint(text, kind, k, np.array([], dtype=np.int64)).hashes
    return np.unique(np.array(sorted(hashes), dtype=np.int64))


def compare(docs: dict[str, Answers], starter: Answers, code_k: int = CODE_K,
            text_k: int = TEXT_K) -> list[Pair]:
    """Every pair of students, ranked by :attr:`Pair.score` (then matched tokens, then names).

    A student's share is the matched tokens over the tokens copydetect fingerprinted in their
    answers after removing the starter code's fingerprints, code and prose together.
    """
    ks = {"code": code_k, "text": text_k}
    if min(ks.values()) < 1:
        raise SimilarityError("the noise thresholds must be at least 1 token")
    prints: dict[str, dict[str, CodeFingerprint]] = {}
    for kind, k in ks.items():
        base = _boilerplate(getattr(starter, kind), kind, k)
        for student, doc in docs.items():
            prints.setdefault(student, {})[kind] = _fingerprint(getattr(doc, kind), kind, k, base)
    pairs = []
    for a, b in itertools.combinations(sorted(docs), 2):
        parts, matched, covered = {}, [0.0, 0.0], [0.0, 0.0]
        for kind in ks:
            fa, fb = prints[a][kind], prints[b][kind]
            covered[0] += fa.token_coverage
            covered[1] += fb.token_coverage
            tokens, (sim_a, sim_b), slices = compare_files(fa, fb)
            if tokens:
                # copydetect reports a's matched tokens; b's follow from b's share
                overlap = (float(tokens), float(sim_b) * fb.token_coverage)
                matched[0] += overlap[0]
                matched[1] += overlap[1]
                parts[kind] = Part(overlap, slices)
        share = [m / c if c else 0.0 for m, c in zip(matched, covered, strict=True)]
        pairs.append(Pair(a, b, min(1.0, share[0]), min(1.0, share[1]), int(matched[0]), parts))
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a, p.b))
    return pairs


# --- the whole job --------------------------------------------------------------------------
def _release(paths: Assignment) -> tuple[NotebookNode, Path]:
    """The release notebook: ``release/`` (what students got), else the copy grading caches."""
    candidates = [paths.release]
    cache = paths.reports / "release-cache"
    if cache.is_dir():
        candidates += sorted(cache.glob("*.ipynb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        if path.is_file():
            try:
                return nbformat.read(path, as_version=4), path
            except Exception as err:  # noqa: BLE001 - one line, not a traceback
                raise SimilarityError(f"{path}: release notebook unreadable "
                                      f"({type(err).__name__})") from None
    raise SimilarityError(f"no release notebook {paths.release} (run `python -m autograder "
                          "build` first): the starter code to exclude comes from it")


def similarity(root: Path, assignment: str, submissions: Path, threshold: float = THRESHOLD,
               top: int = TOP, out: Path | None = None) -> SimilarityReport:
    """Compare the answer cells of every submission in ``submissions`` and write the page
    (``out``, default ``reports/ASSIGNMENT/similarity.html``). Missing and corrupt notebooks
    are skipped and listed in ``skipped``; bad input raises a one-line error."""
    if not 0.0 <= threshold <= 1.0:
        raise SimilarityError(f"--threshold must be between 0 and 1, not {threshold}")
    if top < 0:
        raise SimilarityError(f"--top must be 0 or more, not {top}")
    start = time.perf_counter()
    paths = Course(root).assignment(assignment)
    found = find_submissions(Path(submissions), assignment)
    release, release_path = _release(paths)
    order = [gid for gid, _, _ in answer_cells(release)]
    docs, skipped = load_answers(found, order)
    pairs = compare(docs, answers(release, order))
    report = SimilarityReport(assignment, sorted(docs), skipped, pairs, docs,
                              time.perf_counter() - start, _shown(release_path, root),
                              threshold, top)
    report.path = Path(out) if out else paths.reports / SIMILARITY_HTML
    write_similarity(report, report.path)
    return report


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


# --- the page -------------------------------------------------------------------------------
CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222;
       padding: 0 1em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2em 1.2em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
table { border-collapse: collapse; margin: .8em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.review td { background: #fff0f0; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.side > div { min-width: 0; }
pre { font: 12px/1.35 ui-monospace, Menlo, Consolas, monospace; background: #fafafa;
      border: 1px solid #e3e3e3; padding: .5em; white-space: pre-wrap; word-break: break-all; }
mark { background: #ffd54f; }
section.pair { border-top: 2px solid #888; margin-top: 2em; }
p.note { background: #f6f6f6; border-left: 4px solid #999; padding: .5em .8em; }
p.warn { background: #fff0f0; border-left: 4px solid #c33; padding: .5em .8em; }
"""
CSP = "default-src 'none'; style-src 'unsafe-inline'"  # no scripts, no fetches: offline


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _highlight(text: str, slices: np.ndarray | None) -> str:
    """``text`` escaped, with the copied spans in ``<mark>`` (copydetect's highlighter)."""
    if slices is None or slices.size == 0:
        return escape(text)
    marked, _ = highlight_overlap(text, np.asarray(slices, dtype=np.int64), "<mark>", "</mark>",
                                  escape_html=True)
    return marked


def _column(report: SimilarityReport, pair: Pair, side: int) -> str:
    student = (pair.a, pair.b)[side]
    doc = report.answers[student]
    share = (pair.share_a, pair.share_b)[side]
    html = [f"<div><h4>{escape(student)}: {_pct(share)} of the answers also in the other</h4>"]
    for kind, label in (("code", "Code answers"), ("text", "Written answers")):
        body = getattr(doc, kind)
        if not body.strip():
            continue
        part = pair.parts.get(kind)
        slices = part.slices[side] if part is not None and part.slices is not None else None
        html.append(f"<h5>{label}</h5><pre>{_highlight(body, slices)}</pre>")
    return "".join(html) + "</div>"


def _pair_section(report: SimilarityReport, rank: int, pair: Pair) -> str:
    title = escape(f"#{rank}: {pair.a} and {pair.b}, {_pct(pair.score)}")
    return (f'<section class="pair" id="pair-{rank}"><h3>{title}</h3>'
            f'<p>{pair.tokens} matching tokens beyond the starter code; '
            f'<a href="#pairs">back to the ranking</a></p>'
            f'<div class="side">{_column(report, pair, 0)}{_column(report, pair, 1)}</div>'
            "</section>")


def render(report: SimilarityReport) -> str:
    """The page as one HTML string: summary, ranked pairs, each pair side by side."""
    shown = [p for p in report.pairs if p.tokens > 0][: report.top]
    items = {
        "Assignment": report.assignment,
        "Generated": dt.datetime.now().isoformat(timespec="seconds"),
        "Compared": f"{len(report.students)} submissions, {len(report.pairs)} pairs, "
                    f"answer cells only",
        "Skipped": f"{len(report.skipped)} submission(s)",
        "Starter code excluded": report.boilerplate,
        "Review": f"{len(report.flagged)} pair(s) at or above {_pct(report.threshold)}",
        "Detector": f"copydetect {copydetect_version}: code {CODE_K} normalised tokens, "
                    f"prose {TEXT_K} characters; {report.seconds:.2f} s",
    }
    meta = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items.items())
    rows = []
    for rank, p in enumerate(shown, 1):
        css = ' class="review"' if p.score >= report.threshold else ""
        rows.append(f"<tr{css}><td class=\"num\"><a href=\"#pair-{rank}\">{rank}</a></td>"
                    f"<td>{escape(p.a)}</td><td>{escape(p.b)}</td>"
                    f'<td class="num">{_pct(p.score)}</td><td class="num">{_pct(p.share_a)}</td>'
                    f'<td class="num">{_pct(p.share_b)}</td><td class="num">{p.tokens}</td></tr>')
    if rows:
        head = "".join(f"<th>{h}</th>" for h in ["rank", "student A", "student B", "similarity",
                                                 "of A in B", "of B in A", "matching tokens"])
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        more = len([p for p in report.pairs if p.tokens > 0]) - len(shown)
        if more > 0:
            table += (f'<p class="note">{more} more pair(s) with a smaller overlap are not '
                      f"shown (raise --top).</p>")
    else:
        table = ('<p class="note">No two submissions share answer code beyond the starter code.'
                 "</p>")
    skipped = ""
    if report.skipped:
        lis = "".join(f"<li>{escape(s)}: {escape(why)}</li>" for s, why in report.skipped)
        skipped = f'<section id="skipped"><h2>Skipped</h2><ul>{lis}</ul></section>'
    note = ('<p class="note">Similarity is the share of a student\'s answer cells (beyond the '
            "starter code of the release notebook) that also occurs in the other student's, "
            "after renaming every identifier and dropping comments. Short exercises with one "
            "natural solution overlap by construction: a high share is a reason to read both, "
            "not a verdict.</p>")
    sections = "".join(_pair_section(report, rank, p) for rank, p in enumerate(shown, 1))
    title = escape(f"{report.assignment}: answer similarity")
    # beside the class report (the default place) it links back; elsewhere it stands alone
    beside = report.path is not None and (report.path.parent / "report.html").is_file()
    nav = '<nav><a href="report.html">Class report</a></nav>' if beside else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{title}</title><style>{CSS}</style></head>\n<body>\n"
            f'<header><h1>{title}</h1><dl class="meta">{meta}</dl>'
            f"{nav}</header>\n{note}"
            f'<section id="pairs"><h2>Most similar pairs</h2>{table}</section>\n{skipped}\n'
            f"{sections}\n</body></html>\n")


def write_similarity(report: SimilarityReport, path: Path) -> Path:
    """Write the page to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path


def summary_lines(report: SimilarityReport, limit: int = 5) -> list[str]:
    """What the CLI prints: the most similar pairs, one line each."""
    lines = [f"{p.a} ~ {p.b}: {_pct(p.score)} ({p.tokens} tokens)"
             for p in report.pairs[:limit] if p.tokens > 0]
    return lines


"""The class report an instructor opens after grading: one self-contained, offline HTML file
(inline CSS, figures as base64 PNG) built from the per-submission results."""

from __future__ import annotations

import base64
import io
import math
import statistics
from html import escape
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from autograder.result import GRADED, GradeResult

FULL_MARKS_TOL = 1e-9  # a score within this of the maximum counts as full marks
MAX_TICK_LABELS = 80  # runtime figure: above this many students, drop the per-bar names
LABEL_CHARS = 24  # longer student ids are clipped in figures (tables show them in full)

CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2em 1.2em; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; }
tr.flagged td { background: #fff0f0; } tr.notgraded td { color: #777; }
img { max-width: 100%; display: block; margin: .8em 0; }
p.note { background: #f6f6f6; border-left: 4px solid #999; padding: .5em .8em; }
p.warn { background: #fff0f0; border-left: 4px solid #c33; padding: .5em .8em; }
ul.cells { margin: 0; padding-left: 1.1em; }
"""
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --- numbers --------------------------------------------------------------------------------
def _manual_points(result: GradeResult) -> float:
    """Points given so far to manually graded answers (``score`` set once an instructor graded
    them in formgrader, see ``grade.attach_manual_scores``)."""
    if not result.graded:
        return 0.0
    return float(sum(c.get("score") or 0.0 for c in result.manual.values()))


def _total(result: GradeResult) -> float:
    """Autograded plus manually given points of one submission; a non-graded one scores 0."""
    return result.points + _manual_points(result)


def _manual_maxima(graded: list[GradeResult]) -> dict[str, float]:
    maxima: dict[str, float] = {}
    for result in graded:
        for grade_id, cell in result.manual.items():
            maxima.setdefault(grade_id, float(cell["max"]))
    return maxima


def _test_maxima(graded: list[GradeResult]) -> dict[str, float]:
    """Each autograded test's maximum, in notebook order (first graded result, then new ids)."""
    maxima: dict[str, float] = {}
    for result in graded:
        for grade_id, test in result.tests.items():
            maxima.setdefault(grade_id, float(test.max))
    return maxima


def _full_marks(result: GradeResult, grade_id: str, max_score: float) -> bool:
    test = result.tests.get(grade_id)
    return test is not None and test.score >= max_score - FULL_MARKS_TOL


def _percent(points: float | None, max_points: float) -> float | None:
    if points is None or max_points <= 0:
        return None
    return 100.0 * points / max_points


def _manual_pending(results: list[GradeResult]) -> dict[str, dict]:
    """Manually graded cells: their points and how many submissions still need grading."""
    pending: dict[str, dict] = {}
    for result in results:
        for grade_id, cell in result.manual.items():
            entry = pending.setdefault(grade_id, {"max": float(cell["max"]), "submissions": 0})
            entry["submissions"] += cell.get("score") is None
    return {g: entry for g, entry in pending.items() if entry["submissions"]}


def summarise(results: list[GradeResult]) -> dict:
    """The numbers the report shows. Mean, median and pass rates are over graded submissions
    only (None / empty when there are none); a test passes on full marks, so a 0-point test
    is always passed."""
    graded = [r for r in results if r.graded]
    test_max = _test_maxima(graded)
    max_points = float(sum(test_max.values()) + sum(_manual_maxima(graded).values()))
    scores = [_total(r) for r in graded]
    mean = statistics.fmean(scores) if scores else None
    median = float(statistics.median(scores)) if scores else None
    statuses: dict[str, int] = {}
    for result in results:
        statuses[result.status] = statuses.get(result.status, 0) + 1
    return {
        "n_submissions": len(results),
        "n_graded": len(graded),
        "n_not_graded": len(results) - len(graded),
        "status_counts": statuses,
        "max_points": max_points,
        "mean_points": mean,
        "median_points": median,
        "mean_percent": _percent(mean, max_points),
        # formgrader's average: every submission, those not graded (missing, corrupt) as 0
        "mean_all_points": statistics.fmean(_total(r) for r in results) if results else None,
        "median_percent": _percent(median, max_points),
        "test_max": test_max,
        "pass_rate": {g: sum(_full_marks(r, g, m) for r in graded) / len(graded)
                      for g, m in test_max.items()},
        "manual": _manual_pending(results),
        "flagged": {r.student: len(r.flags) for r in results if r.flags},
        "total": {r.student: _total(r) for r in results},
    }


# --- formatting -----------------------------------------------------------------------------
def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _row(cells: list[str], css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<tr{klass}>" + "".join(cells) + "</tr>"


def _td(text: object, num: bool = False) -> str:
    """A table cell; ``text`` is escaped here, so pass raw values."""
    return f'<td class="num">{escape(str(text))}</td>' if num else f"<td>{escape(str(text))}</td>"


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _note(text: str, css: str = "note") -> str:
    return f'<p class="{css}">{escape(text)}</p>'


# --- figures (matplotlib's object API: the caller's backend and pyplot state are untouched) --
def _img(fig: Figure, alt: str) -> str:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _score_figure(scores: list[float], max_points: float) -> str:
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    top = max(max_points, *scores)
    bins = max(1, min(20, math.ceil(top))) if top > 0 else 1
    ax.hist(scores, bins=bins, range=(min(0.0, *scores), top or 1.0), color="#4c72b0",
            edgecolor="white")
    ax.axvline(max_points, color="#c44e52", linestyle="--",
               label=f"maximum ({_num(max_points)} pts)")
    ax.set(title="Autograded score per student", xlabel="points", ylabel="students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left")
    return _img(fig, "Histogram of autograded scores")


def _pass_rate_figure(pass_rate: dict[str, float]) -> str:
    fig = Figure(figsize=(8, 1.2 + 0.35 * len(pass_rate)), layout="constrained")
    ax = fig.add_subplot()
    ids, rates = list(pass_rate), list(pass_rate.values())
    bars = ax.barh(range(len(ids)), rates, color="#55a868")
    ax.set_yticks(range(len(ids)), ids, parse_math=False)
    ax.invert_yaxis()  # notebook order, top to bottom
    ax.bar_label(bars, labels=[f"{r:.0%}" for r in rates], padding=3)
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(title="Pass rate per test (full marks)", xlabel="graded students with full marks")
    return _img(fig, "Pass rate per test")


def _runtime_figure(results: list[GradeResult], device: str) -> str:
    n = len(results)
    fig = Figure(figsize=(min(16, max(6, 2 + 0.25 * n)), 3.8), layout="constrained")
    ax = fig.add_subplot()
    colours = ["#4c72b0" if r.graded else "#bbbbbb" for r in results]
    ax.bar(range(n), [float(r.runtime_s) for r in results], color=colours)
    if n <= MAX_TICK_LABELS:
        names = [_clip(str(r.student), LABEL_CHARS) for r in results]
        ax.set_xticks(range(n), names, rotation=90,
                      fontsize=7, parse_math=False)
    else:
        ax.set_xticks([])
    ax.set_title(f"Runtime per submission on {device}", parse_math=False)
    ax.set(xlabel=f"submissions ({n}; grey = not graded)", ylabel="seconds")
    return _img(fig, "Runtime per submission")


# --- the similarity page (autograder.similarity) --------------------------------------------
SIMILARITY_PAGE = "similarity.html"  # written beside report.html
_SIMILARITY_MARK = "<!--similarity-{}-->"  # where link_similarity puts the link later


def _similarity_link(href: str | None, where: str) -> str:
    """The link to the similarity page, or a marker for it when the page does not exist yet
    (``grade`` writes the class report first; the page may come after, or from the
    ``similarity`` command, and :func:`link_similarity` then fills the marker in)."""
    if not href:
        return _SIMILARITY_MARK.format(where)
    link = f'<a href="{escape(href)}">'
    if where == "nav":
        return f"{link}Similarity</a>"
    return f"<dt>Similarity</dt><dd>{link}answer-cell similarity between students</a></dd>"


def link_similarity(report: Path, page: str = SIMILARITY_PAGE) -> bool:
    """Link an already written class report to the similarity page; False if there is no
    report (or it already links it)."""
    report = Path(report)
    if not report.is_file():
        return False
    text = report.read_text(encoding="utf-8")
    marks = [_SIMILARITY_MARK.format(w) for w in ("meta", "nav")]
    if not all(m in text for m in marks):
        return False
    for mark, where in zip(marks, ("meta", "nav"), strict=True):
        text = text.replace(mark, _similarity_link(page, where), 1)
    report.write_text(text, encoding="utf-8")
    return True


# --- sections -------------------------------------------------------------------------------
def _header(summary: dict, meta: dict) -> str:
    breakdown = ", ".join(f"{n} {s}" for s, n in sorted(summary["status_counts"].items())
                          if s != GRADED)
    items = {
        "Course": meta.get("course_id", "?"),
        "Generated": meta.get("generated", "?"),
        "Graded on": meta.get("device", "?"),
        "Workers": f"{meta.get('workers', '?')} on {meta.get('scheduler', '?')}",
        "Wall time": _duration(meta.get("wall_s")),
        "Submissions": f"{summary['n_submissions']}: {summary['n_graded']} graded, "
                       f"{summary['n_not_graded']} not graded"
                       + (f" ({breakdown})" if breakdown else ""),
        "Flagged": f"{len(summary['flagged'])} submission(s)",
        "Mean score": f"{_num(summary['mean_points'])} / {_num(summary['max_points'])} pts "
                      f"({_pct(summary['mean_percent'])})",
        "Median score": f"{_num(summary['median_points'])} / {_num(summary['max_points'])} pts "
                        f"({_pct(summary['median_percent'])})",
        "Mean over all submissions (formgrader's average; not graded = 0)":
            f"{_num(summary['mean_all_points'])} / {_num(summary['max_points'])} pts",
    }
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items.items())
    rows += _similarity_link(meta.get("similarity"), "meta")
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in [
        ("scores", "Scores"), ("tests", "Tests"), ("flags", "Flags"), ("runtime", "Runtime"),
        ("students", "Students")]) + _similarity_link(meta.get("similarity"), "nav")
    title = escape(f"Class report: {meta.get('assignment', '?')}")
    return f'<header><h1>{title}</h1><dl class="meta">{rows}</dl><nav>{nav}</nav></header>'


def _scores_section(results: list[GradeResult], summary: dict) -> str:
    scores = [_total(r) for r in results if r.graded]
    body = (_score_figure(scores, summary["max_points"]) if scores
            else _note("No graded submissions: there is no score distribution to plot."))
    return f'<section id="scores"><h2>Score distribution</h2>{body}</section>'


def _tests_section(results: list[GradeResult], summary: dict) -> str:
    graded = [r for r in results if r.graded]
    if not summary["pass_rate"]:
        body = _note("No graded submissions with autograded tests: no pass rates to show.")
    else:
        rows = [_row([_td(g), _td(_num(summary["test_max"][g]), True),
                      _td(f"{sum(_full_marks(r, g, m) for r in graded)} / {len(graded)}", True),
                      _td(f"{summary['pass_rate'][g]:.0%}", True)])
                for g, m in summary["test_max"].items()]
        body = _pass_rate_figure(summary["pass_rate"]) + _table(
            ["test", "points", "full marks", "pass rate"], rows)
    manual = [_row([_td(g), _td(_num(c["max"]), True), _td(c["submissions"], True)])
              for g, c in summary["manual"].items()]
    if manual:
        body += "<h3>Needs manual grading</h3>" + _table(
            ["cell", "points", "submissions to grade"], manual)
    return f'<section id="tests"><h2>Pass rate per test</h2>{body}</section>'


def _flags_section(results: list[GradeResult]) -> str:
    rows = [_row([_td(r.student), _td(f["cell"]), _td(f["line"], True),
                  f"<td><pre><code>{escape(str(f['code']))}</code></pre></td>", _td(f["reason"])])
            for r in results for f in r.flags]
    body = (_note(f"{len({r.student for r in results if r.flags})} submission(s) "
                  f"flagged by the integrity checks: review before releasing grades.", "warn")
            + _table(["student", "cell", "line", "code", "reason"], rows)
            if rows else _note("No submissions were flagged."))
    return f'<section id="flags"><h2>Flagged submissions</h2>{body}</section>'


def _runtime_section(results: list[GradeResult], meta: dict) -> str:
    body = (_runtime_figure(results, str(meta.get("device", "?"))) if results
            else _note("No submissions: there are no runtimes to plot."))
    return f'<section id="runtime"><h2>Runtime per submission</h2>{body}</section>'


def _details(result: GradeResult) -> str:
    """Events, the reason a submission was not graded, and failed-test messages, escaped."""
    lines = [result.reason] if not result.graded else []
    lines += list(result.events)
    lines += [f"{g}: {t.score:g}/{t.max:g} {t.message}".rstrip()
              for g, t in result.tests.items()
              if result.graded and t.score < t.max - FULL_MARKS_TOL]
    items = "".join(f"<li>{escape(str(line))}</li>" for line in lines if line)
    return f'<td><ul class="cells">{items}</ul></td>' if items else "<td></td>"


def _manual_cell(result: GradeResult) -> str:
    """A submission's manual points so far, and how many of its answers are still ungraded."""
    if not result.graded or not result.manual:
        return "-"
    top = sum(float(c["max"]) for c in result.manual.values())
    todo = sum(c.get("score") is None for c in result.manual.values())
    return f"{_num(_manual_points(result))} / {_num(top)}" + (f" ({todo} to grade)" if todo else "")


def _students_section(results: list[GradeResult], summary: dict) -> str:
    max_points = summary["max_points"]
    rows = []
    for r in sorted(results, key=lambda r: str(r.student)):
        total, n_flags = _total(r), len(r.flags)
        css = "flagged" if n_flags else ("" if r.graded else "notgraded")
        rows.append(_row([
            _td(r.student), _td(r.status),
            _td(f"{_num(total)} / {_num(max_points)}", True),
            _td(_pct(_percent(total, max_points)), True), _td(_manual_cell(r), True),
            _td(_duration(r.runtime_s), True), _td(n_flags, True), _details(r)], css))
    body = (_table(["student", "status", "points", "percent", "manual", "runtime", "flags",
                    "events / reason / failed tests"], rows)
            if rows else _note("No submissions."))
    return f'<section id="students"><h2>Students</h2>{body}</section>'


def render(results: list[GradeResult], meta: dict) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    summary = summarise(results)
    ordered = sorted(results, key=lambda r: str(r.student))
    parts = [_header(summary, meta), _scores_section(results, summary),
             _tests_section(results, summary), _flags_section(ordered),
             _runtime_section(ordered, meta), _students_section(results, summary)]
    title = escape(f"{meta.get('assignment', '?')}: class report")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{title}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def write_report(results: list[GradeResult], meta: dict, path: Path) -> Path:
    """Write the class report for ``results`` (one per submission) to ``path``; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "similarity" not in meta and (path.parent / SIMILARITY_PAGE).is_file():
        meta = {**meta, "similarity": SIMILARITY_PAGE}
    path.write_text(render(results, meta), encoding="utf-8")
    return path

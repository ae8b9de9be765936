"""The instructor's command line: ``python -m autograder COMMAND`` (build, validate, grade, ...).

Examples:
  python -m autograder build                 regenerate release/ and notebooks/ from source/
  python -m autograder build --check         fail (naming the files) if anything is stale
  python -m autograder build 01_optimization only that assignment
  python -m autograder validate source/01_optimization/01_optimization.ipynb
  python -m autograder sample-class 01_optimization --out sample-class
  python -m autograder grade 01_optimization --submissions sample-class --workers 2
  python -m autograder grade 01_optimization --submissions submitted --device cuda --force
  python -m autograder grade 01_optimization --submissions DIR --scheduler tcp://host:8786
  python -m autograder bench [01_optimization ...] --submissions 2 --workers 2
  python -m autograder bench-class --submissions 2000 --scheduler tcp://host:8786
  python -m autograder feedback 01_optimization      after manual grading in formgrader
  python -m autograder slides 01_optimization        offline reveal.js deck in slides/
  python -m autograder similarity 01_optimization --submissions DIR
  python -m autograder export 01_optimization --lms canvas --roster canvas.csv --out up.csv
  python -m autograder export 01_optimization --lms moodle --roster moodle.csv --out up.csv
  python -m autograder lab                           JupyterLab on the course (make lab)
  python -m autograder release 01_optimization       into the local exchange (exchange/)
  python -m autograder fetch 01_optimization         a student's copy in work/01_optimization/
  python -m autograder submit 01_optimization        ... handed in to the exchange
  python -m autograder collect 01_optimization       submissions into submitted/, then grade
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.build import build
from autograder.collect import CollectError
from autograder.course import Course, CourseError
from autograder.notebook import NotebookError
from autograder.sandbox import SandboxUnavailable
from autograder.validate import validate


def _build(args: argparse.Namespace) -> int:
    root = Course.find().root
    start = time.perf_counter()
    stale = build(root, args.assignments or None, check=args.check)
    took = time.perf_counter() - start
    if args.check:
        if stale:
            print("stale (run `python -m autograder build` and commit):", file=sys.stderr)
            for path in stale:
                print(f"  {path}", file=sys.stderr)
            return 1
        print(f"build is up to date ({took:.1f} s)")
        return 0
    print(f"built {len(stale)} changed file(s) in {took:.1f} s" +
          "".join(f"\n  {p}" for p in stale))
    return 0


def _validate(args: argparse.Namespace) -> int:
    root = Course.find().root
    worst = 0
    for path in args.notebooks:
        start = time.perf_counter()
        problems = validate(Path(path), root)
        took = time.perf_counter() - start
        verdict = "FAILED" if problems else "passed"
        print(f"{path}: {verdict} ({took:.1f} s)")
        for line in problems:
            print(f"  {line}")
        worst = max(worst, 1 if problems else 0)
    return worst


def _grade(args: argparse.Namespace) -> int:
    from autograder.execute import Limits
    from autograder.grade import GradeOptions, grade

    root = Course.find().root
    limits = Limits(cell_s=args.cell_timeout, notebook_s=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    options = GradeOptions(workers=args.workers, device=args.device, force=args.force,
                           limits=limits, scheduler=args.scheduler, sandbox=not args.no_sandbox,
                           figures=args.figures, mirror=not args.no_mirror,
                           all_cells=args.all_cells)
    summary = grade(root, args.assignment, Path(args.submissions), options)
    results = summary["results"]
    width = max([len(r.student) for r in results] + [7])
    print(f"\n{'student':<{width}}  status   score        flags  runtime")
    for r in sorted(results, key=lambda r: r.student):
        top = sum(t.max for t in r.tests.values())
        print(f"{r.student:<{width}}  {r.status:<7}  {r.points:5.1f}/{top:<5.1f}  "
              f"{len(r.flags):5d}  {r.runtime_s:6.1f} s")
    print(f"\n{summary['found']} submissions, {summary['graded']} graded now, "
          f"{summary['skipped']} already graded (use --force to regrade), "
          f"{summary['wall_s']:.1f} s")
    print(f"grades:   {summary['grades']}\nfeedback: {summary['feedback']}\n"
          f"report:   {summary['report']}")
    if not args.no_similarity:
        # seconds next to minutes of grading, and no kernels: the class report should link it
        # without a second command. A failure here costs the page, never the recorded grades.
        try:
            _run_similarity(root, args.assignment, Path(args.submissions), quiet=True)
        except (CourseError, CollectError, NotebookError, ValueError) as err:
            print(f"warning: no similarity report: {err}", file=sys.stderr)
    return 0


def _run_similarity(root: Path, assignment: str, submissions: Path, threshold: float | None = None,
                    top: int | None = None, out: str | None = None, quiet: bool = False) -> int:
    from autograder.report import link_similarity
    from autograder.similarity import THRESHOLD, TOP, similarity, summary_lines

    report = similarity(root, assignment, submissions,
                        THRESHOLD if threshold is None else threshold,
                        TOP if top is None else top, Path(out) if out else None)
    for student, why in report.skipped:
        print(f"warning: similarity: skipped {student}: {why}", file=sys.stderr)
    paths = Course(root).assignment(assignment)
    if report.path is not None and report.path.parent == paths.reports:
        link_similarity(paths.report_html)  # a class report written before the page links it
    print(f"similarity: {len(report.students)} submissions, {len(report.pairs)} pairs, "
          f"{len(report.flagged)} at or above {report.threshold:.0%} "
          f"({report.seconds:.1f} s): {report.path}")
    if not quiet:
        for line in summary_lines(report):
            print(f"  {line}")
    return 0


def _similarity(args: argparse.Namespace) -> int:
    return _run_similarity(Course.find().root, args.assignment, Path(args.submissions),
                           args.threshold, args.top, args.out)


def _export(args: argparse.Namespace) -> int:
    from autograder.lms import export_csv

    done = export_csv(Course.find().root, args.assignment, args.lms, Path(args.out),
                      Path(args.roster) if args.roster else None, args.column, args.id_field,
                      args.hold_flagged, args.hold_manual)
    for note in done.notes:
        print(f"note: {note}", file=sys.stderr)
    for student, why in done.held:
        print(f"held (not exported): {student}: {why}", file=sys.stderr)
    for student, why in done.unmatched:
        print(f"warning: not exported: {student}: {why}", file=sys.stderr)
    print(f"wrote {done.rows} grade(s) for {args.lms} column {done.column!r} to {done.path}")
    # a grade that silently never reaches the LMS is worse than a failed command
    return 1 if done.unmatched else 0


def _feedback(args: argparse.Namespace) -> int:
    from autograder.grade import refresh

    summary = refresh(Course.find().root, args.assignment)
    print(f"manual answers graded: {summary['manual_graded']}, still to grade: "
          f"{summary['manual_pending']}")
    print(f"grades:   {summary['grades']}\nfeedback: {summary['feedback']}\n"
          f"report:   {summary['report']}")
    return 0


def _slides(args: argparse.Namespace) -> int:
    from autograder.deck import build_decks

    course = Course.find()
    build_decks(course, Path(args.out) if args.out else course.root / "slides",
                args.assignments or None, run=not args.no_execute, timeout=args.timeout)
    return 0


def _sample(args: argparse.Namespace) -> int:
    from autograder.sample import write_sample_class

    students = write_sample_class(Course.find().root, args.assignment, Path(args.out),
                                  zips=not args.no_zip)
    print(f"wrote {len(students)} sample submissions to {args.out}: {', '.join(students)}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from autograder.bench import bench

    course = Course.find()
    if args.submissions < 1 or args.workers < 1:
        raise CourseError("--submissions and --workers must be at least 1")
    names = args.assignment or course.assignments()
    for name in names:
        course.assignment(name)  # an unknown name is one line before anything runs
    print(bench(course.root, names, args.submissions, args.workers))
    return 0


def _bench_class(args: argparse.Namespace) -> int:
    from autograder.bench import bench_class

    if args.submissions < 1:
        raise CourseError(f"--submissions must be at least 1, not {args.submissions}")
    print(bench_class(Course.find().root / "nbgrader_config.py", args.submissions, args.workers,
                      args.scheduler, sandbox=not args.no_sandbox,
                      trace_memory=args.trace_memory))
    return 0


def _lab(args: argparse.Namespace) -> int:
    from autograder import lab

    root = Course.find().root
    if args.command == "lab":
        return lab.start_lab(root, args.port)
    for assignment in args.assignments:
        if args.command == "release":
            print(f"released {assignment} to {lab.release(root, assignment)}")
        elif args.command == "fetch":
            print(f"your copy: {lab.fetch(root, assignment)}")
        elif args.command == "submit":
            lab.submit(root, assignment, args.student)
            print(f"submitted {assignment} to {lab.exchange_root(root)}")
        else:
            print(f"collected {assignment} into {lab.collect(root, assignment)}; grade with "
                  f"`python -m autograder grade {assignment} --submissions submitted`")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate release/ and notebooks/ from source/")
    b.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    b.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    b.set_defaults(run=_build)
    v = sub.add_parser("validate", help="run notebooks and report failing tests (exit 1 if any)")
    v.add_argument("notebooks", nargs="+", help="notebook paths")
    v.set_defaults(run=_validate)
    g = sub.add_parser("grade", help="grade every submission in parallel (Dask)")
    g.add_argument("assignment")
    g.add_argument("--submissions", required=True,
                   help="folder of STUDENT/ASSIGNMENT/ folders and/or LMS zip files")
    g.add_argument("--workers", type=int, default=2, help="kernels at once (default 2)")
    g.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    g.add_argument("--force", action="store_true", help="regrade already graded submissions")
    g.add_argument("--scheduler", help="address of an existing Dask scheduler")
    g.add_argument("--cell-timeout", type=float, default=120.0, help="seconds per cell")
    g.add_argument("--notebook-timeout", type=float, default=900.0, help="seconds per notebook")
    g.add_argument("--memory-mb", type=int, default=4096, help="memory cap per kernel (MiB)")
    g.add_argument("--no-sandbox", action="store_true",
                   help="run student kernels without bubblewrap (trusted submissions only)")
    g.add_argument("--figures", action="store_true",
                   help="draw the students' figures into their graded notebooks (slower; by "
                        "default figures are built but never rendered)")
    g.add_argument("--all-cells", action="store_true",
                   help="run every cell, as nbgrader does (by default the read-only demo cells "
                        "that no test and none of the student's code depends on are skipped)")
    g.add_argument("--no-similarity", action="store_true",
                   help="skip the answer similarity report at the end")
    g.add_argument("--no-mirror", action="store_true",
                   help="do not copy the submissions and their timestamps to submitted/ "
                        "(formgrader then shows none)")
    g.set_defaults(run=_grade)
    d = sub.add_parser("slides", help="offline reveal.js decks of the walkthroughs in slides/")
    d.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    d.add_argument("--out", help="output folder (default slides/)")
    d.add_argument("--no-execute", action="store_true", help="render the walkthroughs unexecuted")
    d.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    d.set_defaults(run=_slides)
    f = sub.add_parser("feedback", help="after manual grading in formgrader: regenerate "
                                        "feedback, grades CSV and class report with those points")
    f.add_argument("assignment")
    f.set_defaults(run=_feedback)
    m = sub.add_parser("similarity", help="rank pairs of students by shared answer code")
    m.add_argument("assignment")
    m.add_argument("--submissions", required=True,
                   help="folder of STUDENT/ASSIGNMENT/ folders and/or LMS zip files")
    m.add_argument("--threshold", type=float, default=None,
                   help="mark pairs at or above this share for review (default 0.5)")
    m.add_argument("--top", type=int, default=None,
                   help="pairs shown with their code (default 50)")
    m.add_argument("--out", help="HTML file (default reports/ASSIGNMENT/similarity.html)")
    m.set_defaults(run=_similarity)
    e = sub.add_parser("export", help="grades as a Canvas or Moodle import CSV")
    e.add_argument("assignment")
    e.add_argument("--lms", required=True, choices=["canvas", "moodle"])
    e.add_argument("--out", required=True, help="CSV file to write")
    e.add_argument("--roster", help="students exported from the LMS (CSV) to map ids")
    e.add_argument("--column", help="grade column: Canvas 'Name (id)', Moodle grade item "
                                    "(default: the roster's column for it, or ASSIGNMENT)")
    e.add_argument("--id-field", choices=["email", "username", "idnumber"],
                   help="Moodle identifier (default: email with --roster, else username)")
    e.add_argument("--hold-flagged", action="store_true",
                   help="leave flagged submissions out (their LMS grade stays)")
    e.add_argument("--hold-manual", action="store_true",
                   help="leave out grades whose manual answers are ungraded")
    e.set_defaults(run=_export)
    s = sub.add_parser("sample-class", help="write a sample class of submissions")
    s.add_argument("assignment")
    s.add_argument("--out", required=True)
    s.add_argument("--no-zip", action="store_true", help="no LMS-style zip files")
    s.set_defaults(run=_sample)
    b = sub.add_parser("bench", help="per notebook: a student's Run All, nbgrader autograde "
                                     "and the pipeline, side by side")
    b.add_argument("assignment", nargs="*", help="default: every assignment")
    b.add_argument("--submissions", type=int, default=2, help="model submissions per notebook")
    b.add_argument("--workers", type=int, default=2)
    b.set_defaults(run=_bench)
    c = sub.add_parser("bench-class", help="grade a simulated class of one-exercise notebooks: "
                                           "throughput, overhead per task, writer memory")
    c.add_argument("--submissions", type=int, default=2000)
    c.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    c.add_argument("--scheduler", help="address of an existing Dask scheduler instead")
    c.add_argument("--no-sandbox", action="store_true", help="kernels without bubblewrap")
    c.add_argument("--trace-memory", action="store_true",
                   help="also the writer's Python heap growth (tracemalloc; slower)")
    c.set_defaults(run=_bench_class)
    lab = sub.add_parser("lab", help="JupyterLab on the course (127.0.0.1; formgrader, "
                                     "Assignments tab, Validate)")
    lab.add_argument("--port", type=int, help="port (default: Jupyter's, 8888 or the next free)")
    lab.set_defaults(run=_lab)
    for name, what in (("release", "instructor: put release/NN in the local exchange"),
                       ("fetch", "student: copy a released assignment into work/NN/"),
                       ("submit", "student: submit work/NN/ to the exchange"),
                       ("collect", "instructor: copy submissions from the exchange to "
                                   "submitted/")):
        x = sub.add_parser(name, help=what)
        x.add_argument("assignments", nargs="+", help="assignment names")
        if name == "submit":
            x.add_argument("--student", help="student id (default: your login name)")
        x.set_defaults(run=_lab)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (CourseError, NotebookError, CollectError, SandboxUnavailable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

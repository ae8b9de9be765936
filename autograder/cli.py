"""The instructor's command line: ``python -m autograder build|validate``.

Examples:
  python -m autograder build                 regenerate release/ and notebooks/ from source/
  python -m autograder build --check         fail (naming the files) if anything is stale
  python -m autograder build 01_optimization only that assignment
  python -m autograder validate source/01_optimization/01_optimization.ipynb
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.build import BuildError, build, course_root
from autograder.notebook import NotebookError
from autograder.validate import validate


def _build(args: argparse.Namespace) -> int:
    root = course_root()
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
    root = course_root()
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
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (BuildError, NotebookError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

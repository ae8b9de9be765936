"""Facts about how a notebook is being run: by a student, or by the autograder."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def grading() -> bool:
    """True while nbgrader executes the notebook (it sets ``NBGRADER_EXECUTION``).

    Notebooks use it to shrink demos and training runs so grading stays fast.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None) -> Iterator[T]:
    """A tqdm progress bar on stdout (never stderr, which nbgrader counts as a failure).

    Silent while grading, so feedback stays clean.
    """
    return iter(
        tqdm(iterable, desc=desc, total=total, file=sys.stdout, disable=grading(), leave=True)
    )

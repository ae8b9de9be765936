"""The one-exercise course of the pipeline's fast end-to-end tests (built by
`autograder.sample.tiny_course`, with this repository's nbgrader config)."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

from autograder.sample import cell_meta as meta
from autograder.sample import tiny_course as _tiny_course

__all__ = ["meta", "tiny_course"]


def tiny_course(folder: Path) -> Path:
    """A one-exercise course: setup, `square` with a visible and a hidden test, a manual answer."""
    return _tiny_course(folder, ROOT / "nbgrader_config.py")

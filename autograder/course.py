"""The course on disk: where nbgrader's layout keeps each file, and the course's config. Tools and
tests ask a `Course` (or one assignment's `Assignment`) for a path instead of joining it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG = "nbgrader_config.py"


class CourseError(RuntimeError):
    """The course cannot be used as asked (no course here, unknown assignment, a tool failed)."""


@dataclass(frozen=True)
class Course:
    """A course root: ``nbgrader_config.py``, ``source/``, ``release/``, ``notebooks/``, the
    gradebook, students' ``submitted/``, ``autograded/`` and ``feedback/``, and ``reports/``."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))  # a str from a caller is a path too

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course whose root holds ``nbgrader_config.py`` and ``source/``, searching upwards
        from ``start`` (or the working directory)."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG).is_file() and (folder / "source").is_dir():
                return cls(folder)
        raise CourseError(f"no course found: no {CONFIG} with a source/ folder above {here}")

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG

    def config(self) -> Config:
        """``nbgrader_config.py`` as a traitlets Config (empty if there is none)."""
        if not self.config_file.is_file():
            return Config()
        return PyFileConfigLoader(CONFIG, path=str(self.root)).load_config()

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.gradebook}"

    @property
    def feedback(self) -> Path:
        """nbgrader's feedback folder: what students get back."""
        return self.root / "feedback"

    def assignments(self) -> list[str]:
        """Assignment names: ``source/NN_slug/`` folders that hold ``NN_slug.ipynb``, in order."""
        return sorted(p.parent.name for p in (self.root / "source").glob("*/*.ipynb")
                      if p.stem == p.parent.name)

    def assignment(self, name: str) -> Assignment:
        """Assignment ``name`` of this course; an unknown name is a one-line CourseError."""
        known = self.assignments()
        if name not in known:
            raise CourseError(f"unknown assignment {name!r}; known: {', '.join(known) or 'none'}")
        return Assignment(self, name)

    def walkthrough(self, name: str) -> Path:
        """The lecture walkthrough generated from assignment ``name``."""
        return self.root / "notebooks" / f"{name}.ipynb"


@dataclass(frozen=True)
class Assignment:
    """Where one assignment's files live in its course."""

    course: Course
    name: str

    @property
    def root(self) -> Path:
        return self.course.root

    @property
    def source_dir(self) -> Path:
        return self.root / "source" / self.name

    @property
    def source(self) -> Path:
        """The instructor's master notebook (solutions, visible and hidden tests)."""
        return self.source_dir / f"{self.name}.ipynb"

    @property
    def release_dir(self) -> Path:
        return self.root / "release" / self.name

    @property
    def release(self) -> Path:
        """The student notebook nbgrader generates from the source."""
        return self.release_dir / f"{self.name}.ipynb"

    @property
    def walkthrough(self) -> Path:
        return self.course.walkthrough(self.name)

    def submitted(self, student: str) -> Path:
        """Where a student's submission sits in nbgrader's ``submitted/`` layout."""
        return self.root / "submitted" / student / self.name / f"{self.name}.ipynb"

    def autograded(self, student: str) -> Path:
        return self.root / "autograded" / student / self.name / f"{self.name}.ipynb"

    @property
    def reports(self) -> Path:
        """The pipeline's outputs: results, grades.csv, report.html (not shown to students)."""
        return self.root / "reports" / self.name

    def result(self, student: str) -> Path:
        # not under autograded/: nbgrader copies that folder into the students' feedback
        return self.reports / "results" / f"{student}.json"

    @property
    def grades_csv(self) -> Path:
        return self.reports / "grades.csv"

    @property
    def report_html(self) -> Path:
        return self.reports / "report.html"

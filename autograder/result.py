"""One graded submission's result: the record a grading task returns, the single writer stores
as ``reports/ASSIGNMENT/results/STUDENT.json``, and the report, the CLI and a resumed run read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

GRADED = "graded"
STATUSES = (GRADED, "missing", "corrupt", "error")  # error: grading itself failed or crashed


@dataclass
class TestScore:
    """One autograded test cell: points earned, its maximum, and why points were lost."""

    score: float
    max: float
    message: str = ""


@dataclass
class GradeResult:
    student: str
    assignment: str
    status: str  # one of STATUSES
    reason: str = ""  # why a submission was not graded
    sha256: str | None = None  # of the submitted notebook's bytes (a rerun skips unchanged)
    tests: dict[str, TestScore] = field(default_factory=dict)  # grade_id -> score
    manual: dict[str, dict] = field(default_factory=dict)  # grade_id -> {"max": points}
    flags: list[dict] = field(default_factory=list)  # integrity.Flag.as_dict()
    events: list[str] = field(default_factory=list)  # restarts, timeouts, restored cells
    runtime_s: float = 0.0
    device: str = ""
    worker: str = ""
    notebook: str | None = None  # the executed notebook; stored beside, not in, the JSON

    @property
    def graded(self) -> bool:
        return self.status == GRADED

    @property
    def points(self) -> float:
        """Autograded points; a submission that was not graded scores 0."""
        return float(sum(t.score for t in self.tests.values())) if self.graded else 0.0

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("notebook")
        return data

    @classmethod
    def from_json(cls, data: Any) -> GradeResult:
        """Read a stored result; raises ValueError when it is not one."""
        if not isinstance(data, dict) or not {"student", "assignment", "status"} <= set(data):
            raise ValueError("not a grading result (student, assignment and status needed)")
        names = {f.name for f in dataclasses.fields(cls)} - {"tests", "notebook"}
        try:
            tests = {str(k): TestScore(float(v["score"]), float(v["max"]),
                                       str(v.get("message", "")))
                     for k, v in (data.get("tests") or {}).items()}
        except (TypeError, KeyError, ValueError, AttributeError) as err:
            raise ValueError(f"malformed test scores ({err})") from None
        return cls(**{k: v for k, v in data.items() if k in names}, tests=tests)

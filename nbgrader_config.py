"""nbgrader configuration for the course; nbgrader and `python -m autograder` both read it."""

import os

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "cv-dl-intro"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# Every notebook runs in the course kernel (installed into .venv by `make`).
c.Execute.kernel_name = "cvcourse"
# A test cell costs seconds and training is shrunk while grading (NBGRADER_EXECUTION),
# so two minutes per cell only stops genuinely stuck code; the kernel is then interrupted.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# nbgrader zeroes a test that writes to stderr; PyTorch and numpy warnings are not failures.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning\b|^\s*warnings\.warn\("

# A student who deletes a test cell gets it back at grading instead of a stuck autograde.
c.OverwriteCells.add_missing_cells = True

# Feedback shows test names, visible test code and failure messages, never hidden test code
# (ClearHiddenTests alone leaves hidden lines in tracebacks; autograder.feedback strips both).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# ... and typesets maths with KaTeX inlined from node_modules/ (npm ci in `make setup`), never
# MathJax from a CDN: a student opens the file offline.
c.GenerateFeedback.exporter_class = "autograder.feedback.OfflineFeedbackExporter"

# The local exchange (`make lab`, README "For students"): the instructor releases into
# exchange/, a student fetches a copy into work/NN/ (never release/) and submits from there,
# `nbgrader collect` copies submissions to submitted/. Both folders are git-ignored.
_course = os.path.dirname(os.path.abspath(__file__))
c.Exchange.root = os.path.join(_course, "exchange")
c.Exchange.assignment_dir = os.path.join(_course, "work")

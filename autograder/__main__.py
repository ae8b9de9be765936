"""``python -m autograder``: the instructor's command line."""

import sys

try:
    from autograder.cli import main
except ModuleNotFoundError as err:  # an interpreter without the course's packages
    sys.exit(f"error: {err.name or err} is not installed for {sys.executable}; install the "
             "course with `make setup` and run `.venv/bin/python -m autograder ...`")

sys.exit(main())

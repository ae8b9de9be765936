"""The two ways to install the course agree, and the setup files say what the README says."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from conftest import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(req: str) -> str:
    return re.sub(r"\[.*?\]", "", req.replace(" ", "")).lower()


def environment_dependencies() -> list[str]:
    deps, in_deps = [], False
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if line.startswith("dependencies:"):
            in_deps = True
        elif in_deps and line.strip().startswith("- ") and line.strip() != "- pip:":
            deps.append(line.strip()[2:].strip())
    return [d for d in deps if not d.startswith(("python=", "-e")) and d != "pip"]


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    want = {_name(r): _spec(r) for r in wanted}
    have = {_name(r): _spec(r) for r in environment_dependencies()}
    assert have == want, (f"only in pyproject: {sorted(set(want) - set(have))}; only in "
                          f"environment.yml: {sorted(set(have) - set(want))}; differing pins: "
                          f"{sorted(k for k in want.keys() & have.keys() if want[k] != have[k])}")


def test_torch_is_pinned():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in text


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_the_command_line_without_the_course_installed_is_a_one_line_error():
    # an interpreter lacking one of the course's packages (here nbformat, hidden)
    hide = ("import runpy, sys; sys.modules['nbformat'] = None; "
            "sys.argv = ['autograder', 'build', '--check']; "
            "runpy.run_module('autograder', run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", hide], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode != 0
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("error: nbformat is not installed") and "make setup" in run.stderr

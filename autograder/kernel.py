"""Launcher of the grading kernels. The student's, run inside the sandbox, applies the resource
limits (memory, CPU, processes, open files, file size) and connects to the judge in the
background; both kernels import the modules the notebook's locked cells import, then start an
ordinary IPython kernel."""

from __future__ import annotations

import importlib
import json
import os
import resource
import threading
import time

LIMITS_ENV = "AUTOGRADER_LIMITS"
PRELOAD_ENV = "AUTOGRADER_PRELOAD"  # comma-separated module names


def apply_limits(limits: dict[str, int]) -> None:
    """setrlimit for this process and everything it starts."""
    table = {"memory_mb": (resource.RLIMIT_DATA, 2**20), "cpu_s": (resource.RLIMIT_CPU, 1),
             "processes": (resource.RLIMIT_NPROC, 1), "open_files": (resource.RLIMIT_NOFILE, 1),
             "file_mb": (resource.RLIMIT_FSIZE, 2**20)}
    for key, (which, unit) in table.items():
        value = int(limits.get(key, 0) or 0)
        if value > 0:
            soft_hard = value * unit
            if which == resource.RLIMIT_CPU:  # SIGXCPU first, SIGKILL a little later
                resource.setrlimit(which, (soft_hard, soft_hard + 5))
            else:
                resource.setrlimit(which, (soft_hard, soft_hard))


def _connect_when_ready(path: str) -> None:
    from autograder import bridge

    while True:  # the judge opens its socket when this kernel is taken into use
        try:
            bridge.connect(path)
            return
        except OSError:
            time.sleep(0.05)


def preload(names: list[str]) -> None:
    """Import the notebook's modules now, so that its setup cell finds them loaded. A module
    that fails to import is skipped: the cell that imports it reports the error itself."""
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the cell that imports it reports the error
            continue


def main() -> None:
    from autograder.bridge import BRIDGE_ENV

    apply_limits(json.loads(os.environ.pop(LIMITS_ENV, "{}") or "{}"))
    path = os.environ.pop(BRIDGE_ENV, "")
    if path:
        threading.Thread(target=_connect_when_ready, args=(path,), daemon=True).start()
    preload([n for n in os.environ.pop(PRELOAD_ENV, "").split(",") if n])
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()

"""The grading kernel: an IPython kernel started under a memory cap, so a memory bomb becomes
a MemoryError in one cell instead of a dead kernel or a dead machine."""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

MEMORY_ENV = "AUTOGRADER_MEMORY_MB"
KERNEL_NAME = "cvcourse-grading"


def limit_memory(megabytes: int) -> None:
    """Cap this process's data segment (heap and anonymous mmaps: numpy and torch buffers)."""
    limit = megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def write_kernelspec(folder: Path, env: dict[str, str]) -> Path:
    """Write a kernelspec for this launcher under ``folder/KERNEL_NAME``; returns ``folder``."""
    spec_dir = folder / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "autograder.kernel", "-f", "{connection_file}"],
            "display_name": "cvcourse (grading)", "language": "python", "env": env}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def main() -> None:
    megabytes = int(os.environ.get(MEMORY_ENV, "0") or 0)
    if megabytes > 0:
        limit_memory(megabytes)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()

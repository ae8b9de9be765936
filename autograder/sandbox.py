"""The student's kernel runs in a bubblewrap sandbox: its own mount, PID, network and IPC
namespaces, the interpreter and the course packages read-only, a fresh empty /tmp, no course
root (no source/, gradebook or reports/), as ``nobody`` when the grader runs as root."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
WORKDIR, HOME = "/tmp/work", "/tmp/home"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass(frozen=True)
class Limits:
    """Resource limits applied inside the sandbox by the kernel launcher (setrlimit)."""

    memory_mb: int = 4096  # RLIMIT_DATA: heap and anonymous mmaps
    cpu_s: int = 3600  # RLIMIT_CPU: CPU seconds of the kernel process
    processes: int = 1024  # RLIMIT_NPROC: processes and threads of the sandbox user
    open_files: int = 1024  # RLIMIT_NOFILE
    file_mb: int = 256  # RLIMIT_FSIZE: largest file it may write


def bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: "
            "apt-get install -y bubblewrap) or grade with --no-sandbox on trusted submissions")
    return path


def readable_paths() -> list[Path]:
    """What the kernel needs to read: the interpreter, the venv and the course packages."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for package in ("autograder", "cvcourse"):  # found, not imported (cvcourse loads torch)
        folder = Path(importlib.util.find_spec(package).origin).resolve().parent
        if not any(folder.is_relative_to(p) for p in paths):
            paths.add(folder)
    return sorted(paths)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _with_parents(binds: list[tuple[str, Path]]) -> list[str]:
    """bwrap creates missing parent folders as 0700; make them traversable for ``nobody``."""
    args, made = [], {"/", "/usr", "/etc", "/tmp"}
    for _, path in binds:
        for parent in reversed(path.parents):
            if str(parent) not in made and not str(parent).startswith("/usr/"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
    for flag, path in binds:
        args += [flag, str(path), str(path)]
    return args


def _gpu_binds() -> list[str]:
    args = []
    for device in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind", str(device), str(device)]
    if Path("/sys").is_dir():
        args += ["--ro-bind", "/sys", "/sys"]
    return args


def command(argv: list[str], sockets: Path, env: dict[str, str], gpu: bool = False) -> list[str]:
    """``argv`` wrapped to run in the sandbox, with exactly ``env`` as its environment and
    ``sockets`` (the kernel's connection files and the judge's socket) the only shared folder."""
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(sockets, NOBODY, NOBODY)
    binds = [("--ro-bind", p) for p in readable_paths()] + [("--bind", sockets.resolve())]
    args = [bwrap(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
    if not as_root:
        args += ["--unshare-user"]  # an unprivileged user needs a user namespace for mounts
    args += _system_binds() + ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--tmpfs", "/tmp", "--perms", "0777", "--dir", WORKDIR,
             "--perms", "0777", "--dir", HOME]
    args += _with_parents(binds)
    if gpu:
        args += _gpu_binds()
    full_env = {"PATH": "/usr/bin:/bin", "HOME": HOME, "LANG": "C.UTF-8",
                "MPLCONFIGDIR": f"{HOME}/.matplotlib", "IPYTHONDIR": f"{HOME}/.ipython",
                "TMPDIR": "/tmp", **env}
    for key, value in full_env.items():
        args += ["--setenv", key, value]
    args += ["--chdir", WORKDIR, "--"]
    if as_root:
        args += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    return args + argv

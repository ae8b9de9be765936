"""Execute one notebook for grading, cell by cell, so that faults stay local: a cell that
hangs (even one that swallows KeyboardInterrupt), a kernel that dies or exits, or a notebook
over its time budget costs only the cells it touches; the kernel is restarted and the
student's earlier cells replayed. Before each test cell the guard restores the libraries."""

from __future__ import annotations

import ast
import logging
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from nbgrader import utils as nbutils

from autograder import guard
from autograder.kernel import KERNEL_NAME, MEMORY_ENV, write_kernelspec
from autograder.notebook import grade_id, is_test

# nbclient logs (and asyncio reports) every dead kernel and timeout with a traceback; those
# outcomes are expected here and recorded in the result instead.
_QUIET = logging.getLogger("autograder.kernel-client")
_QUIET.setLevel(logging.CRITICAL)
logging.getLogger("asyncio").setLevel(logging.CRITICAL)


@dataclass
class Limits:
    """Per-cell and per-notebook time limits (seconds) and the kernel's memory cap (MiB)."""

    cell_s: float = 120.0
    notebook_s: float = 900.0
    memory_mb: int = 4096


@dataclass
class RunLog:
    """What happened while executing: restarts, timeouts, and tampering the guard undid."""

    events: list[str] = field(default_factory=list)
    tampered: dict[str, list[str]] = field(default_factory=dict)
    restarts: int = 0


def _error(cell: NotebookNode, ename: str, evalue: str) -> None:
    cell.outputs.append(new_output("error", ename=ename, evalue=evalue,
                                   traceback=[f"{ename}: {evalue}"]))


class GuardedExecutor:
    """Runs ``nb`` in place in a fresh capped kernel in ``workdir`` (see module docstring)."""

    def __init__(self, nb: NotebookNode, workdir: Path, limits: Limits, env: dict[str, str]):
        self.nb, self.workdir, self.limits = nb, workdir, limits
        self.env = {**env, MEMORY_ENV: str(limits.memory_mb)}
        self.token = "_autograder_guard_" + secrets.token_hex(8)
        self.log = RunLog()
        self.client: NotebookClient | None = None
        self.completed: list[int] = []  # student/setup cells that ran cleanly (replayed on restart)
        self.deadline = 0.0
        self.guarded = False

    # --- kernel life cycle ------------------------------------------------------------------
    def _start(self) -> None:
        specs = write_kernelspec(self.workdir.parent / "kernels", self.env)
        km = AsyncKernelManager(kernel_name=KERNEL_NAME,
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]))
        self.client = NotebookClient(
            self.nb, km=km, timeout=int(self.limits.cell_s), allow_errors=True,
            interrupt_on_timeout=False, record_timing=False, startup_timeout=120, log=_QUIET,
            resources={"metadata": {"path": str(self.workdir)}})
        # the kernel process's own stderr is only ipykernel's start-up chatter; what student
        # code prints reaches the notebook through the kernel protocol, not this pipe
        self.client.start_new_kernel(cwd=str(self.workdir), stderr=subprocess.DEVNULL)
        self.client.start_new_kernel_client()
        self.guarded = False

    def _guard_once(self, cell: NotebookNode) -> None:
        """Snapshot right before the first cell a student could have written (or a test)."""
        if not self.guarded and (is_test(cell) or not nbutils.is_locked(cell)):
            self._silent(guard.snapshot_code(self.token), timeout=120)
            self.guarded = True

    def _stop(self) -> None:
        if self.client is None:
            return
        try:
            if self.client.kc is not None:
                self.client.kc.stop_channels()
            if self.client.km is not None:
                run_sync(self.client.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a dead kernel may fail to shut down; it is gone anyway
            pass
        self.client = None

    def _restart(self, why: str) -> None:
        self.log.restarts += 1
        self.log.events.append(f"{why}; kernel restarted, earlier cells replayed")
        self._stop()
        self._start()
        for index in list(self.completed):
            try:
                self._guard_once(self.nb.cells[index])
                self._silent(self.nb.cells[index].source, timeout=self.limits.cell_s)
            except (CellTimeoutError, DeadKernelError):
                self.log.events.append(f"replaying cell {index} failed; later cells may fail")
                self.completed.remove(index)
                self._stop()
                self._start()

    def _silent(self, source: str, timeout: float) -> NotebookNode:
        """Execute code that is not part of the notebook; returns the throwaway cell."""
        cell = new_code_cell(source)
        self.nb.cells.append(cell)
        try:
            self.client.timeout = max(1, int(timeout))
            self.client.execute_cell(cell, len(self.nb.cells) - 1, store_history=False)
        finally:
            self.nb.cells.pop()
            self.client.timeout = int(self.limits.cell_s)
        return cell

    def _kernel_idle(self) -> bool:
        try:
            self._silent("pass", timeout=5)
            return True
        except (CellTimeoutError, DeadKernelError):
            return False

    # --- the run ----------------------------------------------------------------------------
    def _guard_before(self, cell: NotebookNode) -> bool:
        """Restore the libraries before a test; False when the guard could not report (its
        cell was rewritten or silenced by student code), which voids the test."""
        out = self._silent(guard.restore_code(self.token), timeout=60)
        for output in out.outputs:
            text = output.get("text", "")
            if output.get("name") == "stdout" and text.startswith(self.token):
                try:
                    names = ast.literal_eval(text[len(self.token):].strip())
                except (ValueError, SyntaxError):
                    return False
                if names:
                    self.log.tampered[grade_id(cell) or "?"] = list(names)
                return True
        self.log.tampered[grade_id(cell) or "?"] = ["the grader's guard (disabled)"]
        return False

    def _run_cell(self, index: int, cell: NotebookNode) -> None:
        remaining = self.deadline - time.monotonic()
        label = grade_id(cell) or f"cell {index}"
        if remaining <= 0:
            _error(cell, "NotebookTimeout",
                   f"not run: the notebook exceeded its {self.limits.notebook_s:.0f} s budget")
            return
        self.client.timeout = max(1, int(min(self.limits.cell_s, remaining)))
        guarded = True
        try:
            self._guard_once(cell)
            if is_test(cell):
                guarded = self._guard_before(cell)
            self.client.execute_cell(cell, index)
            if not guarded:
                _error(cell, "IntegrityError", "student code disabled the grader's guard "
                       "before this test, so it cannot be trusted and scores nothing")
        except CellTimeoutError:
            limit = self.client.timeout
            _error(cell, "CellTimeout", f"{label} ran longer than {limit} s and was stopped")
            run_sync(self.client.km.interrupt_kernel)()
            if self._kernel_idle():
                self.log.events.append(f"{label} timed out after {limit} s; interrupted")
            else:
                self._restart(f"{label} timed out after {limit} s and ignored the interrupt")
            return
        except DeadKernelError:
            _error(cell, "DeadKernel", f"the kernel died while running {label} "
                   "(os._exit, exit(), a crash or the memory cap)")
            self._restart(f"kernel died in {label}")
            return
        finally:
            self.client.timeout = int(self.limits.cell_s)
        if not is_test(cell) and not any(o.output_type == "error" for o in cell.outputs):
            self.completed.append(index)

    def run(self) -> RunLog:
        start = time.monotonic()
        self.deadline = start + self.limits.notebook_s
        self._start()
        try:
            for index, cell in enumerate(list(self.nb.cells)):
                if cell.cell_type != "code":
                    continue
                cell.outputs, cell.execution_count = [], None
                self._run_cell(index, cell)
        finally:
            self._stop()
        return self.log

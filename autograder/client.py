"""One kernel process and a blocking client that runs code in it: every output message is
matched to its request by id (nothing from an abandoned request can land in a later cell),
outputs are capped in bytes, and a hang or a death is reported instead of raised."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbformat import NotebookNode
from nbformat.v4 import new_output

OUTPUT_BYTES = 1 << 20  # per cell: text, images and errors together
TRUNCATED = "\n[output truncated: more than {} KiB]\n"


@dataclass
class Run:
    """The outcome of one execute request."""

    status: str  # "ok", "error", "timeout" or "dead"
    outputs: list[NotebookNode] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def error(self) -> NotebookNode | None:
        return next((o for o in self.outputs if o.output_type == "error"), None)

    def result_text(self) -> str:
        for output in self.outputs:
            if output.output_type == "execute_result":
                return str(output.data.get("text/plain", ""))
        return ""


class OutputCollector:
    """Builds nbformat outputs from iopub messages, at most ``limit`` bytes of them."""

    def __init__(self, limit: int = OUTPUT_BYTES):
        self.outputs: list[NotebookNode] = []
        self.left, self.limit, self.cut = limit, limit, False

    def _take(self, text: str) -> str:
        if self.left <= 0:
            self.cut = True
            return ""
        data = text.encode("utf-8", "replace")
        if len(data) > self.left:
            self.cut = True
            text = data[: self.left].decode("utf-8", "ignore")
        self.left -= len(text.encode("utf-8", "replace"))
        return text

    def add(self, msg_type: str, content: dict) -> None:
        if msg_type == "stream":
            text = self._take(str(content.get("text", "")))
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            last = self.outputs[-1] if self.outputs else None
            if last is not None and last.output_type == "stream" and last.name == name:
                last.text += text
            elif text:
                self.outputs.append(new_output("stream", name=name, text=text))
        elif msg_type in ("display_data", "execute_result"):
            data = content.get("data", {})
            size = len(json.dumps(data))
            if size > self.left:
                self.cut, self.left = True, 0
                return
            self.left -= size
            kind = "display_data" if msg_type == "display_data" else "execute_result"
            extra = {"execution_count": content.get("execution_count")} \
                if kind == "execute_result" else {}
            self.outputs.append(new_output(kind, data=data, metadata=content.get("metadata", {}),
                                           **extra))
        elif msg_type == "error":
            ename = self._take(str(content.get("ename", "Error"))[:200]) or "Error"
            evalue = self._take(str(content.get("evalue", ""))[:4000])
            trace = [self._take(str(line)[:4000]) for line in content.get("traceback", [])[:60]]
            self.outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=trace))
        elif msg_type == "clear_output":
            self.outputs = []

    def finish(self) -> list[NotebookNode]:
        if self.cut:
            self.outputs.append(new_output("stream", name="stdout",
                                           text=TRUNCATED.format(self.limit // 1024)))
        return self.outputs


class Kernel:
    """A kernel started from ``argv`` (with ``{connection_file}``) in ``cwd``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], folder: Path,
                 cwd: Path, interrupt_mode: str = "signal"):
        spec_dir = folder / "kernels" / name
        spec_dir.mkdir(parents=True, exist_ok=True)
        (spec_dir / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": name, "language": "python", "env": env,
            "interrupt_mode": interrupt_mode}))
        self.km = KernelManager(
            kernel_name=name, transport="ipc", ip=str(folder / f"{name}-ipc"),
            connection_file=str(folder / f"{name}.json"),
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder / "kernels")]))
        self.cwd, self.folder, self.client = cwd, folder, None

    def launch(self) -> None:
        """Start the process (returns at once; ``wait_ready`` waits for it)."""
        # the sandboxed kernel runs as another user: it must read its connection file, which
        # lies in a folder only it (and this process) can enter
        self.km.write_connection_file()
        os.chmod(self.km.connection_file, 0o644)
        # its own stderr is start-up chatter; what code prints arrives through the protocol
        self.km.start_kernel(cwd=str(self.cwd), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)

    def wait_ready(self, seconds: float = 120) -> None:
        self.client = self.km.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=seconds)

    def alive(self) -> bool:
        try:
            return bool(self.km.is_alive())
        except Exception:  # noqa: BLE001 - a half-started kernel is not alive
            return False

    def stop(self) -> None:
        try:
            if self.client is not None:
                self.client.stop_channels()
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 - a dead kernel may fail to shut down; it is gone
            pass
        finally:
            self.client = None
            self.km.cleanup_resources()

    def interrupt(self) -> None:
        try:
            self.km.interrupt_kernel()
        except Exception:  # noqa: BLE001 - a dead kernel cannot be interrupted
            pass

    def submit(self, code: str, store_history: bool = True,
               expressions: dict[str, str] | None = None) -> str:
        return self.client.execute(code, silent=False, store_history=store_history,
                                   allow_stdin=False, stop_on_error=False,
                                   user_expressions=expressions or {})

    def collect(self, msg_id: str, seconds: float, limit: int = OUTPUT_BYTES) -> Run:
        """Outputs of request ``msg_id`` until the kernel is idle again, at most ``seconds``."""
        start = time.monotonic()
        deadline = start + max(0.0, seconds)
        out, status, next_check = OutputCollector(limit), "ok", start + 1.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                return Run("timeout", out.finish(), now - start)
            if now >= next_check:
                next_check = now + 1.0
                if not self.alive():
                    return Run("dead", out.finish(), now - start)
            try:
                msg = self.client.get_iopub_msg(timeout=min(0.25, deadline - now))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue  # from an earlier, abandoned request
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return Run(status, out.finish(), time.monotonic() - start)
            if kind == "error":
                status = "error"
            out.add(kind, content)

    def execute(self, code: str, seconds: float, store_history: bool = True,
                limit: int = OUTPUT_BYTES) -> Run:
        return self.collect(self.submit(code, store_history), seconds, limit)

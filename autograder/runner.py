"""Execute a grading plan in a fresh kernel: student cells, then probes for each test.

Each submission gets its own kernel in its own scratch directory, in a sandbox
(:mod:`autograder.sandbox`) or, when the instructor turns that off, just under ``prlimit``, so
that an address-space limit turns a runaway allocation into a ``MemoryError``; every cell has a
time limit. The kernel imports the course from the notebook's grading copy
(:mod:`autograder.grading_copy`) and talks to the grader over Unix sockets in the scratch
folder. A cell that times out or kills the kernel costs only the tests that depend on it: the
kernel (and every process it started) is killed, a new one is started, and the cells executed so
far are replayed before grading goes on.

The loop that talks to the kernel is jupyter_client's blocking client with a deadline on every
read, so no state of a timed-out execution survives into the next one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from traitlets import Any, Dict, Int

from . import sandbox as sandboxing
from . import wire

DEFAULT_TIMEOUT = 60
DEFAULT_MEMORY = 4 * 1024**3
STARTUP_TIMEOUT = 60
OUTPUT_LIMIT = 2 * 1024**2  # bytes of a cell's outputs kept for the autograded notebook


class GradingKernelManager(KernelManager):
    """A kernel started in ``sandbox`` or, without one, under ``prlimit --as=<memory_bytes>``."""

    memory_bytes = Int(DEFAULT_MEMORY)
    sandbox = Any(None, allow_none=True)
    kernel_env = Dict()

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.sandbox is not None:
            self.sandbox.give(Path(self.connection_file))

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if self.sandbox is not None:
            return self.sandbox.wrap(command, self.kernel_env)
        prlimit = shutil.which("prlimit")
        if prlimit and self.memory_bytes > 0:
            return [prlimit, f"--as={self.memory_bytes}", "--", *command]
        return command


@dataclass
class CellOutcome:
    status: str  # "ok", "error", "timeout", "dead"
    error: str = ""
    payload: dict | None = None
    outputs: list = field(default_factory=list)  # nbformat outputs, the probe's payload excluded


class _Outputs:
    """A cell's outputs as nbformat records them, up to :data:`OUTPUT_LIMIT` bytes (a cell that
    prints without end must not fill the grader's memory)."""

    def __init__(self):
        self.outputs: list = []
        self.size = 0
        self.truncated = False
        self.clear_pending = False

    def add(self, message: dict) -> None:
        if self.clear_pending:
            self.outputs, self.size, self.clear_pending = [], 0, False
        if self.truncated:
            return
        try:
            output = nbformat.v4.output_from_msg(message)
        except (KeyError, TypeError, ValueError):  # a message the kernel's code forged, malformed
            return
        self.size += len(str(output))
        if self.size > OUTPUT_LIMIT:
            self.truncated = True
            output = nbformat.v4.new_output(
                "stream", name="stdout", text=f"[output truncated: over {OUTPUT_LIMIT} bytes]\n"
            )
        last = self.outputs[-1] if self.outputs else None
        if (
            output.output_type == "stream"
            and last is not None
            and last.output_type == "stream"
            and last.name == output.name
        ):
            last.text += output.text
        else:
            self.outputs.append(output)

    def clear(self, wait: bool) -> None:
        if wait:
            self.clear_pending = True
        else:
            self.outputs, self.size, self.clear_pending = [], 0, False


class KernelSession:
    """A kernel for one submission, with replay after a timeout or a crash.

    ``copy`` is the grading copy of the course the kernel imports; ``sandboxed`` runs it in the
    sandbox; ``files`` ({name: bytes}) are put in its working directory.
    """

    def __init__(
        self,
        *,
        copy: Path,
        sandboxed: bool = True,
        timeout: int = DEFAULT_TIMEOUT,
        memory_bytes: int = DEFAULT_MEMORY,
        env: dict | None = None,
        files: dict[str, bytes] | None = None,
    ):
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.env = env or {}
        self.copy = Path(copy)
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.sandbox = (
            sandboxing.Sandbox(self.scratch, self.copy, memory_bytes, uid=sandboxing.new_uid())
            if sandboxed
            else None
        )
        if self.sandbox is not None:
            self.sandbox.prepare()
            self.workdir, ipc = self.sandbox.home, self.sandbox.ipc
        else:
            self.workdir = ipc = self.scratch
        for name, content in (files or {}).items():
            (self.workdir / Path(name).name).write_bytes(content)
        self.ipc_prefix, self.connection_file = str(ipc / "kernel"), str(ipc / "kernel.json")
        self.history: list[str] = []
        self.km: GradingKernelManager | None = None
        self.kc: BlockingKernelClient | None = None

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self._stop()
        if self.sandbox is not None:
            self.sandbox.release()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _start(self):
        self.km = GradingKernelManager(
            kernel_name="python3",
            memory_bytes=self.memory_bytes,
            transport="ipc",
            ip=self.ipc_prefix,
            connection_file=self.connection_file,
            sandbox=self.sandbox,
        )
        if self.sandbox is not None:
            self.km.kernel_env = self.sandbox.environment(self.env)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:
            env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(self.copy), **self.env)
            env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}"
        # the kernel's own log lines (transport warnings) are not the grader's output
        self.km.start_kernel(
            env=env, cwd=str(self.workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        except RuntimeError:
            self._stop()
            raise

    def _stop(self):
        if self.km is None:
            return
        process = getattr(self.km.provisioner, "process", None)
        if self.kc is not None:
            self.kc.stop_channels()
        with contextlib.suppress(Exception):  # a dead kernel may fail to shut down cleanly
            self.km.shutdown_kernel(now=True)
        if process is not None:
            # the kernel runs in a session of its own: kill whatever it started, too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.km = self.kc = None

    def _restart(self):
        self._stop()
        self._start()
        for source in self.history:
            if self._execute(source).status in ("timeout", "dead"):
                return

    def _execute(self, source: str) -> CellOutcome:
        km, kc = self.km, self.kc
        assert km is not None and kc is not None, "the kernel is started by __enter__"
        msg_id = kc.execute(source, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.timeout
        errors, payload, outputs = [], None, _Outputs()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return CellOutcome(
                    "timeout", f"the cell ran longer than {self.timeout} s", outputs=outputs.outputs
                )
            try:
                message = kc.get_iopub_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not km.is_alive():
                    return CellOutcome(
                        "dead",
                        "the kernel died (out of memory, or the code exited)",
                        outputs=outputs.outputs,
                    )
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "error":
                errors.append(f"{content.get('ename')}: {content.get('evalue')}")
            if kind == "display_data" and wire.MIME in content.get("data", {}):
                payload = content["data"][wire.MIME]
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.add(message)
            elif kind == "clear_output":
                outputs.clear(bool(content.get("wait")))
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if errors:
            return CellOutcome("error", errors[0], payload, outputs.outputs)
        return CellOutcome("ok", payload=payload, outputs=outputs.outputs)

    def run(self, source: str, *, remember: bool = True) -> CellOutcome:
        """Execute ``source``; after a timeout or crash restart and replay what came before."""
        outcome = self._execute(source)
        if outcome.status in ("timeout", "dead"):
            self._restart()
        elif remember:
            self.history.append(source)
        return outcome

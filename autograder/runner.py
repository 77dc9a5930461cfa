"""Execute a grading plan in a fresh kernel: student cells, then probes for each test.

Each submission gets its own kernel in its own scratch directory, started under ``prlimit`` so
that an address-space limit turns a runaway allocation into a ``MemoryError``, and every cell has
a time limit. A cell that times out or kills the kernel costs only the tests that depend on it:
the kernel is restarted and the cells executed so far are replayed before grading goes on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Int

from . import wire

DEFAULT_TIMEOUT = 60
DEFAULT_MEMORY = 4 * 1024**3


class LimitedKernelManager(KernelManager):
    """A kernel started under ``prlimit --as=<memory_bytes>`` (where prlimit exists)."""

    memory_bytes = Int(DEFAULT_MEMORY).tag(config=True)

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        prlimit = shutil.which("prlimit")
        if prlimit and self.memory_bytes > 0:
            return [prlimit, f"--as={self.memory_bytes}", "--", *command]
        return command


@dataclass
class CellOutcome:
    status: str  # "ok", "error", "timeout", "dead"
    error: str = ""
    payload: dict | None = None


class KernelSession:
    """A kernel for one submission, with replay after a timeout or a crash."""

    def __init__(self, *, timeout: int = DEFAULT_TIMEOUT, memory_bytes: int = DEFAULT_MEMORY,
                 env: dict | None = None):
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.env = env or {}
        self.scratch = tempfile.mkdtemp(prefix="autograder-")
        self.history: list[str] = []
        self.client = None
        self._context = None

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self._stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _start(self):
        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        km = LimitedKernelManager(kernel_name="python3", memory_bytes=self.memory_bytes)
        self.client = NotebookClient(notebook, km=km, timeout=self.timeout, allow_errors=True,
                                     interrupt_on_timeout=False, kernel_name="python3",
                                     resources={"metadata": {"path": self.scratch}})
        env = dict(os.environ, MPLBACKEND="Agg", **self.env)
        python_bin = os.path.dirname(sys.executable)
        env["PATH"] = f"{python_bin}{os.pathsep}{env.get('PATH', '')}"
        # the kernel's own log lines (transport warnings) are not the grader's output
        self._context = self.client.setup_kernel(env=env, cwd=self.scratch,
                                                 stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
        self._context.__enter__()

    def _stop(self):
        if self._context is not None:
            try:
                self._context.__exit__(None, None, None)
            except Exception:  # a dead kernel may fail to shut down cleanly
                pass
            self._context = None

    def _restart(self):
        self._stop()
        self._start()
        for source in self.history:
            outcome = self._execute(source)
            if outcome.status in ("timeout", "dead"):
                return False
        return True

    def _execute(self, source: str) -> CellOutcome:
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells.append(cell)
        index = len(self.client.nb.cells) - 1
        try:
            self.client.execute_cell(cell, index)
        except CellTimeoutError:
            return CellOutcome("timeout", f"the cell ran longer than {self.timeout} s")
        except DeadKernelError:
            return CellOutcome("dead", "the kernel died (out of memory, or the code exited)")
        errors = [output for output in cell.outputs if output.output_type == "error"]
        payload = next((output.data[wire.MIME] for output in cell.outputs
                        if output.output_type == "display_data"
                        and wire.MIME in output.get("data", {})), None)
        if errors:
            return CellOutcome("error", f"{errors[0].ename}: {errors[0].evalue}", payload)
        return CellOutcome("ok", payload=payload)

    def run(self, source: str, *, remember: bool = True) -> CellOutcome:
        """Execute ``source``; after a timeout or crash restart and replay what came before."""
        outcome = self._execute(source)
        if outcome.status in ("timeout", "dead"):
            self._restart()
        elif remember:
            self.history.append(source)
        return outcome

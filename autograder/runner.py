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

The kernel can change its ``home`` and ``ipc`` folders at will, so the grader (root, on the
host) never reads a file in them, and writes there only new files through a descriptor of the
folder that follows no symlink (:func:`autograder.sandbox.write_new_file`); the scratch folder
around them is the grader's, and its connection file lies there. Before a kernel starts again,
both folders are put back as they were made (:func:`autograder.sandbox.reset_kernel_folders`)
and the submission's files put in again. A kernel that cannot be started again all the same
was broken by the cells before it: the cells and tests after it fail with the reason (the
submission's failure), and grading goes on.

For speed, a session can be started before its submission is known (:mod:`autograder.pool`
starts the next submission's kernel while the current one is graded): :meth:`KernelSession.launch`
starts the kernel process without waiting for it, with the modules of ``preload`` imported at
kernel start-up, before any student code (ipykernel's ``exec_lines``); :meth:`KernelSession.begin`
then waits for it, puts the submission in its scratch folder and sets its environment. Most of a
cold kernel's time is its start-up and the imports of NumPy, matplotlib and the course, so these
then overlap with grading the submission before.
"""

from __future__ import annotations

import contextlib
import json
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
import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import port_names
from jupyter_client.manager import KernelManager
from traitlets import Any, Dict, Int

from . import sandbox as sandboxing
from . import wire
from .zygote import ForkedKernel, Zygote, ZygoteUnavailable, write_kernel_connection

DEFAULT_TIMEOUT = 60
DEFAULT_MEMORY = 4 * 1024**3
#: the least address-space limit the command line takes (``--memory``): every instructor
#: solution of the course keeps full marks in a sandboxed kernel with 1 GiB
#: (``tests/test_sandbox.py`` grades them with it); at 768 MiB three of the seven notebooks'
#: solutions lost points to ``MemoryError``, and at 512 MiB a kernel could not start
MIN_MEMORY = 1024**3
STARTUP_TIMEOUT = 60
#: how many times one submission's kernel is started again after a cell that ran too long or
#: ended it (each time, the cells before are run again): past that, nothing more runs. Without a
#: cap, a notebook of K cells that each nearly reach the time limit, followed by K cells that
#: never end, took about K**2 time limits: 1 min 44 s at 3 s, 14 hours at 60 s for K = 30
MAX_RESTARTS = 3
OUTPUT_LIMIT = 2 * 1024**2  # bytes of a cell's outputs kept for the autograded notebook
# milliseconds between the client's attempts to connect to a kernel's sockets (ZeroMQ's default
# is 100): see :func:`start_channels`
RECONNECT_MS = 5


# ipykernel_launcher's own start, with debugpy left out: a grading kernel is never debugged, and
# ipykernel imports debugpy and sets up its debugger whenever it finds it installed (measured in
# the sandbox: 0.08 s of CPU of every kernel, with the history below)
LAUNCHER = (
    "import sys\n"
    "from pathlib import Path\n"
    "if sys.path[0] == '' or Path(sys.path[0]) == Path.cwd():\n"
    "    del sys.path[0]\n"
    "sys.modules['debugpy'] = None\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n"
)
# no history database: nothing is stored in it (cells run with store_history=False)
KERNEL_OPTIONS = ("--HistoryManager.hist_file=:memory:",)


def start_channels(client: BlockingKernelClient) -> None:
    """Connect ``client`` to its kernel, trying again every :data:`RECONNECT_MS` milliseconds
    until the kernel's sockets exist.

    For speed: a kernel launched ahead of time is not listening yet when its client connects,
    and ZeroMQ tries again only every 100 ms; the status the kernel then publishes before its
    IOPub channel is connected is lost, so a kernel that was ready 40 ms after it was forked
    was found ready 150 to 350 ms after (measured on notebook 03, a submission right after the
    one before; 14 to 49 ms at 5 ms). Connecting costs nothing more once connected.
    """
    client.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
    client.start_channels()


class GradingKernelManager(KernelManager):
    """A kernel started in ``sandbox`` or, without one, under ``prlimit --as=<memory_bytes>``."""

    memory_bytes = Int(DEFAULT_MEMORY)
    sandbox = Any(None, allow_none=True)
    kernel_env = Dict()

    def write_connection_file(self, **kwargs):
        """Write the connection file; in the sandbox, as a new file that the kernel's user can
        read and not change (:meth:`autograder.sandbox.Sandbox.give`), on fixed socket numbers
        (the kernel's ``ipc`` folder is new and empty at each start), without following a
        symlink (jupyter_client's own follows one, and looks at what the ``ipc`` folder
        holds)."""
        if self.sandbox is None:
            super().write_connection_file(**kwargs)
            return
        for number, name in enumerate(port_names, start=1):
            setattr(self, name, number)
        info = {name: getattr(self, name) for name in port_names}
        info.update(
            ip=self.ip,
            key=self.session.key.decode(),
            transport=self.transport,
            signature_scheme=self.session.signature_scheme,
            kernel_name=self.kernel_name,
        )
        path = Path(self.connection_file)
        content = json.dumps(info, indent=2).encode()
        os.close(sandboxing.write_new_file(path.parent, path.name, content, mode=0o600))
        self.sandbox.give(path)
        self._connection_file_written = True

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        if command[1:3] == ["-m", "ipykernel_launcher"]:
            command[1:3] = ["-c", LAUNCHER]
        if self.sandbox is not None:
            return self.sandbox.wrap(command, self.kernel_env)
        setpriv = shutil.which("setpriv")
        if setpriv:
            # a kernel started ahead of time waits idle: it must not outlive a grader that died
            # (bubblewrap's --die-with-parent does this in the sandbox)
            command = [setpriv, "--pdeathsig", "KILL", "--", *command]
        prlimit = shutil.which("prlimit")
        if prlimit and self.memory_bytes > 0:
            command = [prlimit, f"--as={self.memory_bytes}", "--", *command]
        return command


@dataclass
class CellOutcome:
    status: str  # "ok", "error", "timeout", "dead"
    error: str = ""
    payload: dict | None = None
    outputs: list = field(default_factory=list)  # nbformat outputs, the probe's payload excluded
    buffers: list = field(default_factory=list)  # the binary buffers of the payload's message


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


def preload_line(modules) -> str:
    """The start-up line of a kernel that imports ``modules`` (through the grading copy's
    :func:`autograder.harness.preload`), binding no name in the user's namespace."""
    return f"__import__('autograder.harness', fromlist=['preload']).preload({tuple(modules)!r})"


class KernelSession:
    """A kernel for one submission, with replay after a timeout or a crash.

    ``copy`` is the grading copy of the course the kernel imports; ``sandboxed`` runs it in the
    sandbox; ``files`` ({name: bytes}) are put in its working directory (and again before a
    replay); ``preload`` names modules the kernel imports when it starts, before any cell runs
    (and again after a restart, so a replay sees the same kernel).

    Used as a context manager, it starts the kernel and waits for it. Started ahead of time, it
    is :meth:`launch`-ed, then :meth:`begin`-ed when its submission is known, and
    :meth:`close`-d after it.
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
        preload: tuple[str, ...] = (),
        zygote: Zygote | None = None,
    ):
        self.timeout = timeout
        self.preload = tuple(preload)
        self.memory_bytes = memory_bytes
        self.env = env or {}
        self.copy = Path(copy)
        self.zygote = zygote
        self.sandbox = None
        self.km: GradingKernelManager | ForkedKernel | None = None
        self.kc: BlockingKernelClient | None = None
        if zygote is not None:  # forked in the zygote's sandbox, with a scratch folder there
            self.scratch = zygote.new_scratch()
            self.workdir, ipc = self.scratch / "home", self.scratch / "ipc"
        else:
            self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
            self.workdir = ipc = self.scratch
        if sandboxed and zygote is None:
            try:
                self.sandbox = sandboxing.Sandbox.for_grading(self.scratch, self.copy, memory_bytes)
                self.sandbox.prepare()
            except BaseException:
                self.close()
                raise
            self.workdir, ipc = self.sandbox.home, self.sandbox.ipc
        self.ipc = ipc
        self.files: dict[str, bytes] = {}
        self._put(files or {})
        # the connection file in the scratch folder, which is the grader's in the sandbox
        self.ipc_prefix = str(ipc / "kernel")
        self.connection_file = str(self.scratch / "kernel.json")
        self.history: list[str] = []
        # why the kernel could not be started again, once the cells before broke it (see run)
        self.broken = ""
        self.restarts = 0

    def __enter__(self):
        try:
            self._start()
        except BaseException:  # a kernel that died while starting: its sandbox and folder go too
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Kill the kernel and everything it started; remove its scratch folder (idempotent)."""
        self._stop()
        if self.sandbox is not None:
            self.sandbox.release()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _put(self, files: dict[str, bytes], *, again: bool = False) -> None:
        """Put ``files`` in the kernel's working directory, each a new file that replaces
        whatever the kernel left under its name (:func:`autograder.sandbox.write_new_file`).

        ``again`` (before a replay): a file that cannot be written, in a folder the cells
        before changed, is left out, as the kernel's doing; otherwise OSError is raised."""
        for name, content in files.items():
            name = Path(name).name
            self.files[name] = content
            try:
                os.close(sandboxing.write_new_file(self.workdir, name, content))
            except OSError:
                if not again:
                    raise

    def launch(self) -> None:
        """Start the kernel process without waiting for it (see :meth:`begin`)."""
        self._launch()

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def begin(
        self,
        *,
        files: dict[str, bytes] | None = None,
        env: dict[str, str] | None = None,
        timeout: int | None = None,
    ) -> None:
        """Wait for a launched kernel; then put ``files`` in its working directory and ``env``
        in its ``os.environ`` (and in the environment of any kernel that replaces it).

        Raises RuntimeError if the kernel died or did not start in time.
        """
        self._wait_ready()
        if timeout is not None:
            self.timeout = timeout
        self._put(files or {})
        if env:
            self.env.update(env)
            outcome = self._execute(f"__import__('os').environ.update({dict(env)!r})", silent=True)
            if outcome.status != "ok":
                raise RuntimeError(f"the kernel could not be prepared: {outcome.error}")

    def _start(self):
        self._launch()
        self._wait_ready()

    def kernel_pid(self) -> int | None:
        """The PID of the kernel's outermost process (killing it kills the kernel)."""
        if isinstance(self.km, ForkedKernel):
            return self.km.pid
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return None if process is None else process.pid

    def _launch(self):
        if self.zygote is not None:
            connection = write_kernel_connection(self.ipc, self.zygote.sandbox.give)
            self.km = self.zygote.fork(self.scratch, connection, self.env, KERNEL_OPTIONS)
            self.kc = self.km.client()
            start_channels(self.kc)
            return
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
        extra = [*KERNEL_OPTIONS]
        if self.preload:
            extra.append(f"--IPKernelApp.exec_lines={preload_line(self.preload)}")
        # the kernel's own log lines (transport warnings) are not the grader's output
        self.km.start_kernel(
            env=env,
            cwd=str(self.workdir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            extra_arguments=extra,
        )
        self.kc = self.km.client()
        start_channels(self.kc)

    def _wait_ready(self):
        """Wait until the kernel answers on its shell channel and publishes on its IOPub channel.

        jupyter_client's ``wait_for_ready`` then waits for 0.2 s of silence on IOPub, on the
        path of every submission; here the kernel's "idle" status for one of our requests is
        the proof that both channels work (older messages are ignored by their parent id).
        Raises RuntimeError if the kernel dies or takes longer than :data:`STARTUP_TIMEOUT`.

        For speed, it asks again after 0.05 s, then after twice as long each time, up to 1 s:
        the status a kernel publishes while its IOPub channel is not yet connected to ours is
        lost, and a kernel that was not ready at the first question waited a whole second
        for the next one before (each grading process's first kernel: a second on the path of
        every grading run).
        """
        km, kc = self.km, self.kc
        assert km is not None and kc is not None, "the kernel is launched first"
        deadline, asked, pause = time.monotonic() + STARTUP_TIMEOUT, set(), 0.05
        try:
            while True:
                asked.add(kc.kernel_info())
                answer_by = min(deadline, time.monotonic() + pause)
                pause = min(2 * pause, 1.0)
                while (remaining := answer_by - time.monotonic()) > 0:
                    try:
                        message = kc.get_iopub_msg(timeout=remaining)
                    except queue.Empty:
                        break
                    if (
                        message["parent_header"].get("msg_id") in asked
                        and message["msg_type"] == "status"
                        and message["content"].get("execution_state") == "idle"
                    ):
                        return
                if not km.is_alive():
                    # what the zygote's code said over its pipe; never a file of the scratch
                    # folder, which a kernel before this one may have replaced (by a symlink
                    # to a host file, a FIFO)
                    detail = km.start_error() if isinstance(km, ForkedKernel) else ""
                    raise RuntimeError(
                        f"the kernel died while starting{': ' if detail else ''}{detail}"
                    )
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"the kernel did not start in {STARTUP_TIMEOUT} s")
        except RuntimeError:
            self._stop()
            raise

    def _stop(self):
        if self.km is None:
            return
        process = getattr(self.km.provisioner, "process", None)
        if isinstance(self.km, ForkedKernel):
            if self.kc is not None:
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
            self.km = self.kc = None
            return
        if self.kc is not None:
            self.kc.stop_channels()
        with contextlib.suppress(Exception):  # a dead kernel may fail to shut down cleanly
            self.km.shutdown_kernel(now=True)
        if process is not None:
            # the kernel runs in a session of its own: kill whatever it started, too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.km = self.kc = None

    def _reset_folders(self) -> None:
        """Put the kernel's folders back as they were made, and its files in again (before a
        kernel starts again in them)."""
        if self.zygote is not None:
            self.zygote.reset_scratch(self.scratch)
        elif self.sandbox is not None:
            self.sandbox.reset_folders()
        self._put(self.files, again=True)

    def _restart(self):
        """Start a new kernel after a timeout or a crash, and replay the cells that ran.

        A new kernel that does not start, in folders put back as they were, is the doing of
        the cells before (a submission that kept its own kernel from starting again): it is
        not raised but recorded in :attr:`broken`, and every cell after fails with it. The
        zygote ending is the grader's failure: :class:`ZygoteUnavailable` is raised."""
        self._stop()
        for pause in (0.5, 1.0, 2.0, 4.0, None):
            try:
                self._reset_folders()
                self._start()
                break
            except ZygoteUnavailable:
                raise
            except (RuntimeError, OSError) as error:
                if pause is None:
                    self.broken = (
                        "the kernel could not be started again after the code before it ended "
                        f"it ({error}); nothing after that could run"
                    )
                    return
                # the processes of the kernel just killed (a fork bomb's) still count against
                # the sandbox's process limit until they are reaped: the new kernel could not
                # start its threads and died; they go within moments
                time.sleep(pause)
        for source in self.history:
            if self._execute(source).status in ("timeout", "dead"):
                return

    def _execute(self, source: str, *, silent: bool = False) -> CellOutcome:
        km, kc = self.km, self.kc
        assert km is not None and kc is not None, "the kernel is started by __enter__"
        msg_id = kc.execute(source, silent=silent, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.timeout
        errors, payload, buffers, outputs = [], None, [], _Outputs()
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
                payload, buffers = content["data"][wire.MIME], message.get("buffers") or []
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.add(message)
            elif kind == "clear_output":
                outputs.clear(bool(content.get("wait")))
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if errors:
            return CellOutcome("error", errors[0], payload, outputs.outputs, buffers)
        return CellOutcome("ok", payload=payload, outputs=outputs.outputs, buffers=buffers)

    def run(self, source: str, *, remember: bool = True) -> CellOutcome:
        """Execute ``source``; after a timeout or crash restart and replay what came before,
        at most :data:`MAX_RESTARTS` times for the session.

        Once no kernel could be started again (:meth:`_restart`), or it has been started again
        that many times, the outcome is "dead", with the reason, and nothing runs."""
        if self.broken:
            return CellOutcome("dead", self.broken)
        outcome = self._execute(source)
        if outcome.status in ("timeout", "dead"):
            if self.restarts == MAX_RESTARTS:
                self._stop()
                self.broken = (
                    f"cells ran longer than the time limit or ended the kernel "
                    f"{MAX_RESTARTS + 1} times; nothing after that was run"
                )
            else:
                self.restarts += 1
                self._restart()
        elif remember:
            self.history.append(source)
        return outcome

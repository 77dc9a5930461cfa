"""Grading kernels forked from a sandboxed process that has imported what they all import.

Measured on notebook 03 (2 cores): a kernel started from scratch spent 0.6 to 0.7 s of CPU
before it ran a cell (Python, ipykernel, NumPy, matplotlib, the course library), three quarters
of the CPU that grading a submission cost. A :class:`Zygote` pays that once per notebook (and
worker, unless the workers share it: see below): it is one process in a sandbox of
:mod:`autograder.sandbox` (its own user, limits, control groups and grading copy), which
imports those modules and then forks a kernel for each submission
(:mod:`autograder.zygote_server` says how). What a fork costs instead is measured by
``benchmarks/bench_grading.py``.

A forked kernel is as fresh as a cold one, and nothing of one submission reaches the next:

* its memory is a copy of the zygote's, which ran no student code: a module a submission
  patches, or an environment variable it sets, is changed in its own copy only;
* it has its own empty ``/tmp`` and ``/dev/shm`` (each of :func:`autograder.sandbox.tmpfs_bytes`),
  and its own scratch folder (made here, empty but for its submission, removed after it; the
  grader's, with only its ``home`` and ``ipc`` folders the kernel's); the other kernels' scratch
  folders are hidden;
* it has its own PID, network and IPC namespaces: the processes it starts die with it, and it
  cannot signal, trace or connect to the zygote or another kernel;
* it has no capability, so it cannot undo any of this;
* the sandbox's limits (memory, file size, processes) hold in it as in the zygote.

The grader talks to the zygote over its standard input and output, and to each kernel over the
Unix sockets in that kernel's scratch folder, as to any kernel (:class:`ForkedKernel` stands in
for jupyter_client's ``KernelManager``). Why a kernel died while starting comes back over the
zygote's pipe too (:meth:`ForkedKernel.start_error`), never through a file: a kernel can write
its scratch folder, and a file there is whatever it made it (a symlink to a host file, a FIFO).

A zygote made with ``shared=True`` serves every grading process forked from the one that made
it (the workers of a class, :func:`autograder.pool.share_zygotes`): they take turns on its pipes
under a lock of the operating system's, and each kernel still has control groups of its own, made
by the worker that asked for it. Such a zygote starts without its modules (almost no CPU) and
imports them on :meth:`Zygote.load`, or when first asked for a kernel; only the process that
made it ends it. With two workers on two cores, one zygote for both instead of one each saves
the second one's start (about 0.6 s of CPU) for each notebook of the class, and the workers
start grading sooner: the grader starts it before it forks them and imports it while they start
(``benchmarks/bench_grading.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import KernelConnectionInfo

from . import sandbox as sandboxing
from . import signals

SERVER = Path(__file__).with_name("zygote_server.py")
STARTUP_TIMEOUT = 60
# the folders of a scratch folder that the zygote mounts on (zygote_server._fresh_tmp)
STAGES = (".tmp", ".spool")
START_ERROR_CHARS = 300  # of the reason a forked kernel died while starting
# what a zygote is doing, in a number that the processes sharing it all see
STARTED, LOADING, READY, FAILED, CLOSED = range(5)
LOAD = "load"  # the id of the one load request, whichever process sends it or reads its answer


class ZygoteUnavailable(RuntimeError):
    """The zygote could not start or fork (kernels are then started from scratch)."""


def _status(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/status") as stream:
            return stream.read().splitlines()
    except OSError:
        return None


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has)."""
    for line in _status(pid) or ("State:\tX",):
        if line.startswith("State:"):
            return line.split()[1] not in ("Z", "X")
    return False


def _host_pid(root: int, inner_pid: int) -> int | None:
    """The PID in this namespace of the descendant of ``root`` whose PID in its own namespace
    is ``inner_pid`` (a process of the sandbox's PID namespace)."""
    pending, seen = [root], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for line in _status(pid) or ():
            if line.startswith("NSpid:"):
                pids = line.split()[1:]
                if len(pids) == 2 and int(pids[1]) == inner_pid and pid != root:
                    return pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as stream:
                pending += [int(child) for child in stream.read().split()]
        except OSError:
            continue
    return None


class Zygote:
    """One sandboxed process for the grading copy ``copy`` that forks kernels on request.

    ``preload`` are the modules it imports first (:func:`autograder.pool.preload_modules`).
    Raises :class:`ZygoteUnavailable` if it cannot start here. With ``shared``, it may be used by
    the processes forked from this one (``workers`` of them at once), and it returns at once: the
    zygote imports its modules on :meth:`load` or on the first request (and raises
    :class:`ZygoteUnavailable` then if it cannot start). Without ``wait``, it starts importing
    them and returns at once (:meth:`wait_ready` waits).
    """

    def __init__(
        self,
        *,
        copy: Path,
        memory_bytes: int,
        preload: tuple[str, ...] = (),
        shared: bool = False,
        workers: int = 1,
        wait: bool = True,
    ):
        self.copy = Path(copy)
        self.spool = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.sandbox = sandboxing.Sandbox.for_grading(self.spool, self.copy, memory_bytes)
        # all its kernels run as the sandbox's user, whose process limit (prlimit) counts them
        # together; each worker runs one kernel and starts the next. Where it is shared, each
        # kernel gets a sandbox's limit in a pids control group of its own (a kernel without
        # one is not handed out) and the user's limit covers them all: a fork bomb in one
        # kernel cannot keep another worker's kernel from starting
        self.kernel_nproc = self.sandbox.nproc
        self.shared = shared
        self._owner = os.getpid()
        if shared:  # held across fork(): a lock and a number in memory shared with the workers
            self.sandbox.nproc = self.kernel_nproc * (2 * max(1, workers) + 1)
            context = multiprocessing.get_context("fork")
            self._lock = context.Lock()
            self._state = context.Value("i", STARTED, lock=False)
        else:
            self._lock = threading.Lock()
            self._state = _Number(STARTED)
        self._asked = itertools.count()
        self._pending = b""  # what was read from the zygote past the last answer
        self.process: subprocess.Popen | None = None
        self.forked = 0  # kernels forked, for tests and benchmarks
        self.kernels: set[ForkedKernel] = set()  # forked and not shut down yet
        try:
            self._start(preload)
            if not shared:
                self.load()
                if wait:
                    self.wait_ready()
        except BaseException:
            self.close()
            raise

    def _start(self, preload: tuple[str, ...]) -> None:
        self.sandbox.prepare()
        settings = {
            "preload": list(preload),
            "spool": str(self.spool),
            "kept": sandboxing.python_trees(),
            "tmpfs_bytes": sandboxing.tmpfs_bytes(self.sandbox.memory_bytes),
        }
        command = [sys.executable, "-c", SERVER.read_text(), json.dumps(settings)]
        self.process = subprocess.Popen(
            self.sandbox.wrap(command, self.sandbox.environment({})),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=str(self.sandbox.home),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            start_new_session=True,
        )

    @contextlib.contextmanager
    def _turn(self):
        """This process's turn on the zygote's pipes (another worker may hold it while its
        zygote loads: up to STARTUP_TIMEOUT).

        Ctrl-C and SIGTERM are handled when the turn is over (a request takes milliseconds,
        loading the zygote about a second). Raised in between, right after the lock was taken
        and before the code that gives it back, they would keep it taken for good, and the
        other workers would wait for it: when both workers of a class were stopped at once,
        the grader hung in 1 run of 3 (the worker woken by the other's release took the lock,
        then raised).
        """
        with signals.deferred():
            if not self._lock.acquire(timeout=2 * STARTUP_TIMEOUT):
                raise ZygoteUnavailable("the zygote stayed busy")
            try:
                yield
            finally:
                self._lock.release()

    def _send(self, request: dict, ident: str | None = None) -> str:
        """Write ``request`` with an id of its own (``ident``, or a new one); returns the id."""
        process = self.process
        if process is None or self._state.value == CLOSED:
            raise ZygoteUnavailable("the zygote ended")
        assert process.stdin is not None
        ident = ident or f"{os.getpid()}-{next(self._asked)}"
        try:
            process.stdin.write(json.dumps({**request, "id": ident}).encode() + b"\n")
            process.stdin.flush()
        except OSError as error:
            raise ZygoteUnavailable(f"the zygote ended ({error})") from None
        return ident

    def _read(self, ident: str, timeout: float) -> dict:
        """The answer to request ``ident``; answers to requests whose process was interrupted
        before it read them are skipped."""
        process = self.process
        assert process is not None and process.stdout is not None
        descriptor = process.stdout.fileno()  # read unbuffered: what one reads, others do not
        while True:
            line, newline, rest = self._pending.partition(b"\n")
            if newline:
                self._pending = rest
                answer = json.loads(line)
                if answer.get("id") == ident:
                    return answer
                continue
            ready, _, _ = select.select([descriptor], [], [], timeout)
            chunk = os.read(descriptor, 65536) if ready else b""
            if not chunk:
                raise ZygoteUnavailable("the zygote ended or did not answer")
            self._pending += chunk

    def load(self) -> None:
        """Have the zygote import its modules now, without waiting for it."""
        with self._turn():
            if self._state.value == STARTED:
                self._send({"load": True}, LOAD)
                self._state.value = LOADING

    def wait_ready(self) -> None:
        """Wait until the zygote has imported its modules (asking it to, if nobody has);
        raises :class:`ZygoteUnavailable` if it cannot fork kernels."""
        if self._state.value == READY:
            return
        with self._turn():
            self._ready()

    def _ready(self) -> None:  # in this process's turn
        state = self._state.value
        if state == STARTED:
            self._send({"load": True}, LOAD)
            state = self._state.value = LOADING
        if state == LOADING:
            try:
                answer = self._read(LOAD, STARTUP_TIMEOUT)
            except ZygoteUnavailable:
                self._state.value = FAILED
                raise
            if not answer.get("ready"):
                self._state.value = FAILED
                raise ZygoteUnavailable(answer.get("error", "the zygote did not start"))
            self._state.value = READY
        elif state != READY:
            raise ZygoteUnavailable("the zygote ended")

    def _ask(self, request: dict) -> dict:
        with self._turn():
            self._ready()
            if not self.alive():
                raise ZygoteUnavailable("the zygote ended")
            return self._read(self._send(request), STARTUP_TIMEOUT)

    def alive(self) -> bool:
        if self.process is None or self._state.value in (FAILED, CLOSED):
            return False
        if os.getpid() == self._owner:
            return self.process.poll() is None
        return _running(self.process.pid)  # a worker sharing it cannot wait for it

    def new_scratch(self) -> Path:
        """An empty scratch folder for one kernel: the grader's, with the kernel's ``home`` and
        ``ipc`` in it (:func:`autograder.sandbox.reset_kernel_folders`) and the two empty
        folders the zygote mounts its new ``/tmp`` and spool on while it makes the kernel's
        namespaces (:func:`autograder.zygote_server._fresh_tmp`)."""
        scratch = self.spool / secrets.token_hex(8)
        scratch.mkdir(mode=0o711)
        for stage in STAGES:
            (scratch / stage).mkdir(mode=0o755)
        sandboxing.reset_kernel_folders(scratch, self.sandbox.uid)
        return scratch

    def reset_scratch(self, scratch: Path) -> None:
        """Before a kernel starts again in ``scratch``: its folders as :meth:`new_scratch`
        made them (``home`` keeps its files)."""
        sandboxing.reset_kernel_folders(scratch, self.sandbox.uid)

    def start_error(self, inner_pid: int) -> str:
        """Why the kernel forked as ``inner_pid`` died while starting: the last line of the
        traceback the zygote's code wrote to the pipe of that fork (empty if none; at most
        :data:`START_ERROR_CHARS` characters)."""
        try:
            answer = self._ask({"start_error": inner_pid})
        except ZygoteUnavailable:
            return ""
        lines = str(answer.get("start_error", "")).strip().splitlines()
        return lines[-1][:START_ERROR_CHARS] if lines else ""

    def fork(
        self, scratch: Path, connection_file: KernelConnection, env: dict, options
    ) -> ForkedKernel:
        """A kernel forked for ``scratch`` (a folder of :meth:`new_scratch`), listening on
        ``connection_file``, with ``env`` in its environment."""
        request = {
            "scratch": str(scratch),
            "connection_file": str(connection_file),
            "env": dict(env),
            "options": list(options),
        }
        answer = self._ask({"fork": request})
        if "pid" not in answer:
            raise ZygoteUnavailable(f"could not fork a kernel: {answer.get('error')}")
        inner = int(answer["pid"])
        assert self.process is not None
        host = _host_pid(self.process.pid, inner)
        if host is None:
            self._ask({"reap": inner})
            raise ZygoteUnavailable("the forked kernel was not found")
        # control groups of its own, as a kernel started in a sandbox of its own has: a fork
        # bomb shares the CPU and the process limit with its own processes only
        name = f"{sandboxing.CGROUP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        kernel = ForkedKernel(self, inner, host, connection_file, name)
        # kept until it is shut down, so that closing the zygote shuts it down even where this
        # was interrupted (Ctrl-C, SIGTERM) before the caller got it
        self.kernels.add(kernel)
        try:
            kernel.cgroups = sandboxing.make_cgroups(name, self.kernel_nproc)
            if self.shared and not any(group.parent.name == "pids" for group in kernel.cgroups):
                raise OSError("no pids control group for a kernel of a shared zygote")
            for group in kernel.cgroups:
                (group / "cgroup.procs").write_text(str(host))
            self._ask({"go": inner})
        except OSError as error:
            kernel.shutdown_kernel()
            message = f"the forked kernel could not join its control groups: {error}"
            raise ZygoteUnavailable(message) from None
        except BaseException:
            kernel.shutdown_kernel()
            raise
        self.forked += 1
        return kernel

    def shutdown_kernels(self) -> None:
        """Shut down every kernel this process had the zygote fork and has not shut down, and
        remove the control groups of every kernel this process shut down."""
        for kernel in list(self.kernels):
            kernel.shutdown_kernel()
        sandboxing.remove_leaving_cgroups()

    def close(self) -> None:
        """End the zygote, every kernel it forked and its sandbox; remove its folders and every
        control group of its kernels. In a process that shares it but did not make it: shut
        down this process's kernels only (:meth:`shutdown_kernels`)."""
        self.shutdown_kernels()
        if os.getpid() != self._owner:
            return
        self._state.value = CLOSED
        process, self.process = self.process, None
        if process is not None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        self.sandbox.release()
        shutil.rmtree(self.spool, ignore_errors=True)


class _Number:
    """A number in this process's memory, where a zygote is not shared (as
    ``multiprocessing.Value`` would be)."""

    def __init__(self, value: int):
        self.value = value


class ForkedKernel:
    """A kernel the zygote forked, with the part of jupyter_client's ``KernelManager`` that
    :class:`autograder.runner.KernelSession` uses."""

    provisioner = None

    def __init__(
        self,
        zygote: Zygote,
        inner_pid: int,
        pid: int,
        connection_file: KernelConnection,
        cgroup_name: str,
    ):
        self.zygote, self.inner_pid, self.pid = zygote, inner_pid, pid
        self.connection_file = connection_file
        self.ended = False
        self.cgroup_name = cgroup_name  # of its control groups, made or about to be
        self.cgroups: list[Path] = []
        # its PID is not reused while the zygote holds it unreaped, but a shared zygote may be
        # ended by the grader under a worker: a descriptor of the process itself is never
        # another's (Linux 5.3 and newer; else the PID)
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def is_alive(self) -> bool:
        if self.ended:
            return False
        if self._pidfd is not None:  # readable once the process has ended
            return not select.select([self._pidfd], [], [], 0)[0]
        return _running(self.pid)

    def client(self) -> BlockingKernelClient:
        """A client of the kernel, made from the connection info the grader wrote (not read
        back from the file, which lies in a folder the kernel may change)."""
        client = BlockingKernelClient()
        client.load_connection_info(self.connection_file.info)
        return client

    def start_error(self) -> str:
        """Why this kernel died while starting, as the zygote's code reported it (empty if it
        did not say): :meth:`Zygote.start_error`."""
        return self.zygote.start_error(self.inner_pid)

    def shutdown_kernel(self, now: bool = True) -> None:
        """Kill the kernel and every process of its namespace (its first process and the kernel
        die with this one); the zygote then reaps it."""
        if not self.ended:
            self.ended = True
            with contextlib.suppress(OSError):
                if self._pidfd is None:
                    os.kill(self.pid, signal.SIGKILL)
                else:
                    signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
            if self.zygote.alive():
                with contextlib.suppress(ZygoteUnavailable):
                    self.zygote._ask({"reap": self.inner_pid})
        # once the rest of its processes have left them, without waiting for it (a closing
        # pool or zygote waits for the last ones); by name, and again on a second call, for
        # groups being made, or a shutdown, that Ctrl-C or SIGTERM interrupted
        sandboxing.remove_cgroups_named(self.cgroup_name, wait=False)
        self.cgroups = []
        self.zygote.kernels.discard(self)


@dataclass(frozen=True)
class KernelConnection:
    """A connection file the grader wrote (``path``) and what it holds (``info``), which the
    grader's client uses instead of reading the file back."""

    path: Path
    info: KernelConnectionInfo

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


def write_kernel_connection(ipc: Path, give) -> KernelConnection:
    """A new connection file for a kernel listening on Unix sockets in ``ipc``, readable by the
    kernel's user (``give``, :meth:`autograder.sandbox.Sandbox.give`).

    It is written next to ``ipc``, in the scratch folder, which only the grader can change, as
    a new file of a new name, through a descriptor of that folder that follows no symlink:
    where the kernel could write, a kernel before this one could have left a symlink to a host
    file under the name (which the grader, as root, would write and hand to the kernel).
    """
    info: KernelConnectionInfo = {
        "shell_port": 1,
        "iopub_port": 2,
        "stdin_port": 3,
        "control_port": 4,
        "hb_port": 5,
        "ip": str(ipc / "kernel"),
        "key": secrets.token_hex(16),
        "transport": "ipc",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }
    name = f"kernel-{secrets.token_hex(6)}.json"
    descriptor = sandboxing.write_new_file(ipc.parent, name, json.dumps(info).encode(), mode=0o600)
    os.close(descriptor)
    path = ipc.parent / name
    give(path)
    return KernelConnection(path, info)

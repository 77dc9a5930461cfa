"""The process inside a grading sandbox that forks one fresh kernel per submission.

It runs in the sandbox of :mod:`autograder.sandbox`, started by :class:`autograder.zygote.Zygote`
(its source is handed to ``python -c``, so it imports nothing of the grader: only the standard
library, ipykernel and the modules of the grading copy). It imports ipykernel and the modules
every kernel of its notebook imports, and then, on each ``fork`` request read from its standard
input, forks a kernel. It runs no student code itself and opens no socket and starts no thread:
a fork copies only what it imported.

Each kernel is made fresh, in this order:

1. a child of this process calls ``setsid`` and ``unshare``\\s new mount, PID, network and IPC
   namespaces (so nothing of another kernel is visible to it by PID, by abstract socket or by
   System V IPC), which it may do in the user namespace the zygote made for itself when it
   started;
2. in its mount namespace it puts a new empty ``/tmp`` and ``/dev/shm`` (tmpfs, each of the
   size the grader gives: host memory a kernel could otherwise fill without bound), and hides
   the other kernels' scratch folders: only its own stays visible, at the same path;
3. it forks the first process of the new PID namespace, which forks the kernel and reaps
   whatever the kernel leaves; when the kernel ends, or when the grader kills the child of step
   1, the whole namespace dies (each process has a parent-death signal);
4. the kernel drops every capability (so it cannot undo step 2: umount needs one, and in a user
   namespace of its own every inherited mount is locked), reseeds NumPy's legacy global
   generator from the operating system as a fresh import does, and starts ipykernel on the
   connection file the grader wrote (with its command-line options as the zygote parsed them
   once for all its kernels).

Every process here is non-dumpable (``PR_SET_DUMPABLE`` 0): a kernel cannot read or trace this
process or another kernel through ``/proc``, and PIDs it passes to ``kill`` or ``ptrace`` are
those of its own namespace.

Protocol: one JSON object a line on standard input, one answer a line on standard output,
which repeats the request's ``"id"`` (several grading processes may share one zygote, one
request at a time: an answer that a process interrupted before it read it is then told apart
from the next one). The first request is ``{"load": true}`` -> ``{"ready": true}`` once the
modules are imported (``{"error": ...}`` if the zygote cannot fork kernels here): until then a
zygote costs almost nothing, so a grader can start one for each notebook of a class early and
load each when its notebook comes. Then, any number of:
``{"fork": {"scratch", "connection_file", "env", "options"}}`` -> ``{"pid": <its PID here>}``
(or ``{"error": ...}`` if it could not fork), a child that waits for ``{"go": <pid>}`` (the
grader puts it in control groups of its own first) before it makes its namespaces;
``{"reap": <pid>}`` -> ``{}`` once that child, which the grader killed, is reaped (a child is
reaped only then, so the grader never signals a PID that was reused);
``{"start_error": <pid>}`` -> ``{"start_error": <text>}``, the traceback (if any) of what failed
while that child made its kernel. Each fork writes it to a pipe of its own, which the kernel
closes before it serves its first request: never to a file in the scratch folder, which the
kernel before it may have replaced by anything. At the end of its input it exits; its children
die with it (parent-death signals) or with its sandbox.
"""

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LAST_CAPABILITY = 63
CAPABILITY_VERSION_3 = 0x20080522
GO_FD = 3  # in a forked child: the pipe it waits on for the grader's go
ERROR_FD = 4  # in a forked child, until its kernel serves: the pipe for why it failed
START_ERROR_BYTES = 16 * 1024  # of a start error kept

libc = ctypes.CDLL(None, use_errno=True)

# what ipykernel's IPKernelApp.initialize imports in every kernel (its shell's debugger, magics
# and history, the event loop's tornado parts): imported once here instead, they cost a forked
# kernel nothing (measured on notebook 03, the mean of 60 kernels: 59 ms of CPU from fork to
# ready before, 49 ms after; the object inspector and its wildcard matching, found later by
# profiling 20 kernels' starts, 1.9 ms more)
KERNEL_START_MODULES = (
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.utils.wildcard",
    "IPython.extensions.storemagic",
    "ipykernel.debugger",
    "sqlite3",
    "tornado.gen",
    "tornado.locks",
    "tornado.queues",
    "tornado.platform.asyncio",
    "faulthandler",
)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source, target, kind, flags, data=None) -> None:
    _check(
        libc.mount(
            source and os.fsencode(source),
            os.fsencode(target),
            kind and kind.encode(),
            ctypes.c_ulong(flags),
            data and data.encode(),
        ),
        f"mount {target}",
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _fresh_tmp(own: str, spool: str, kept: list, size: int) -> None:
    """A new, empty ``/tmp`` and ``/dev/shm``, of ``size`` bytes each; of the spool, only
    ``own`` stays visible. ``kept`` are read-only trees under ``/tmp`` (a Python environment
    there) bound again into the new one. The grader made the folders mounted on here
    (``own/.tmp``, ``own/.spool``): ``own`` is the grader's, and the kernel cannot write it."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    stage = os.path.join(own, ".tmp")
    os.makedirs(stage, exist_ok=True)
    _mount("tmpfs", stage, "tmpfs", 0, f"mode=1777,size={size}")
    os.mkdir(os.path.join(stage, "matplotlib"))
    os.chmod(os.path.join(stage, "matplotlib"), 0o1777)
    binds = [(tree, tree, MS_BIND | MS_REC) for tree in kept if _inside(tree, "/tmp")]
    if _inside(spool, "/tmp"):
        binds.append((own, own, MS_BIND))
    for source, target, flags in binds:
        inner = os.path.join(stage, os.path.relpath(target, "/tmp"))
        os.makedirs(inner, exist_ok=True)
        _mount(source, inner, None, flags)
    _mount(stage, "/tmp", None, MS_MOVE)
    if not _inside(spool, "/tmp"):
        # a new tmpfs on the spool folder with only this kernel's folder in it
        stage = os.path.join(own, ".spool")
        os.makedirs(stage, exist_ok=True)
        _mount("tmpfs", stage, "tmpfs", 0, f"mode=0755,size={size}")
        inner = os.path.join(stage, os.path.basename(own))
        os.mkdir(inner)
        _mount(own, inner, None, MS_BIND)
        _mount(stage, spool, None, MS_MOVE)
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", 0, f"mode=1777,size={size}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _drop_capabilities() -> None:
    for capability in range(LAST_CAPABILITY + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)  # EINVAL past the last one
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


def _own_user_namespace() -> None:
    """Enter a user namespace of this process's own, with its user and group mapped to
    themselves: there it may make the namespaces and mounts of its kernels."""
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER), "unshare")
    with open("/proc/self/setgroups", "w") as stream:
        stream.write("deny")
    with open("/proc/self/uid_map", "w") as stream:
        stream.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as stream:
        stream.write(f"{gid} {gid} 1")


def _die_with_parent(alive_fd: int) -> None:
    """Die when the parent dies; it may have died already (the pipe ``alive_fd`` then reads EOF)."""
    _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    os.set_blocking(alive_fd, False)
    try:
        if os.read(alive_fd, 1) == b"":
            os._exit(1)
    except BlockingIOError:
        pass
    os.close(alive_fd)


def _kernel_app(options: list, made: dict):
    """ipykernel's application with the command-line options ``options`` parsed once, here in
    the zygote, for every kernel it forks (``made``: the classes made so far, by options): to
    parse them, traitlets builds an argparse parser of every configurable class, several
    milliseconds of each kernel's CPU, and so does making a subclass of it."""
    key = tuple(options)
    if key not in made:
        from ipykernel.kernelapp import IPKernelApp

        parser = IPKernelApp()  # not the singleton: only its command line is used
        try:
            parser.parse_command_line(list(options))
        except SystemExit:  # traitlets reports a bad option by exiting
            raise ValueError(f"ipykernel does not take the options {options}") from None
        config = parser.cli_config

        class KernelApp(IPKernelApp):
            def parse_command_line(self, argv=None) -> None:
                self.argv, self.extra_args, self.cli_config = [], [], config
                self.update_config(config)

        made[key] = KernelApp
    return made[key]


def _start_kernel(request: dict, app_class) -> None:
    """In the kernel's own process: become the fresh kernel of ``request``, an instance of
    ``app_class`` (:func:`_kernel_app`; never returns)."""
    _drop_capabilities()
    os.setsid()
    home = os.path.join(request["scratch"], "home")
    os.chdir(home)
    os.environ.update({"HOME": home, **request["env"]})
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # a fresh import seeds it from the operating system: so does this
        numpy.random.set_state(numpy.random.RandomState().get_state())
    app = app_class.instance(connection_file=request["connection_file"])
    app.initialize([])
    # from here on it runs the grader's requests, student code among them: that must not be
    # able to write what the grader is told about a failed start
    os.close(ERROR_FD)
    app.start()
    os._exit(0)


def _child(request: dict, settings: dict, app_class) -> None:
    """The first child: new namespaces, a fresh ``/tmp``, then the PID namespace's first
    process, which starts the kernel and ends with it (never returns)."""
    os.setsid()
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    _fresh_tmp(request["scratch"], settings["spool"], settings["kept"], settings["tmpfs_bytes"])
    alive_read, alive_write = os.pipe()
    first = os.fork()
    if first == 0:  # PID 1 of the new namespace
        os.close(alive_write)
        _die_with_parent(alive_read)
        alive_read, alive_write = os.pipe()
        kernel = os.fork()
        if kernel == 0:
            os.close(alive_write)
            _die_with_parent(alive_read)
            _start_kernel(request, app_class)
        os.close(alive_read)
        _drop_capabilities()
        while True:
            pid, status = os.wait()
            if pid == kernel:
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    os.close(alive_read)
    _, status = os.waitpid(first, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _fork(request: dict, settings: dict, children: dict, app_class) -> int:
    """Fork the first child for ``request`` (its kernel an instance of ``app_class``); it
    waits until :func:`_go` (the grader has put it in control groups of its own, so that all it
    starts is in them). ``children`` gets, by its PID, the pipe to tell it to go and the pipe
    it reports a failed start on."""
    go_read, go_write = os.pipe()
    error_read, error_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            for descriptor in (0, 1, 2):
                os.dup2(devnull, descriptor)
            # above the descriptors they go to, so that neither overwrites the other
            go_high = fcntl.fcntl(go_read, fcntl.F_DUPFD, 16)
            error_high = fcntl.fcntl(error_write, fcntl.F_DUPFD, 16)
            os.dup2(go_high, GO_FD)
            os.dup2(error_high, ERROR_FD)
            os.closerange(ERROR_FD + 1, 1 << 16)
            os.set_blocking(ERROR_FD, False)  # a full pipe loses the rest, never blocks
        except BaseException:  # ERROR_FD may be one of the zygote's own: nothing is written
            os._exit(70)
        try:
            if os.read(GO_FD, 1) != b"g":  # the zygote ended, or the grader gave up on it
                os._exit(1)
            os.close(GO_FD)
            _child(request, settings, app_class)
        except BaseException:  # the grader reports it: the kernel died while starting
            import traceback

            text = traceback.format_exc()[-START_ERROR_BYTES:]
            with contextlib.suppress(OSError):  # closed: the kernel was serving
                os.write(ERROR_FD, text.encode(errors="replace"))
        finally:
            os._exit(70)
    os.close(go_read)
    os.close(error_write)
    os.set_blocking(error_read, False)
    children[pid] = (go_write, error_read)
    return pid


def _start_error(pid: int, children: dict) -> str:
    """What the child ``pid`` wrote about its failed start so far (never waits for more)."""
    pipes = children.get(pid)
    if pipes is None:
        return ""
    written = b""
    with contextlib.suppress(OSError):  # BlockingIOError: nothing (more) written
        while len(written) < START_ERROR_BYTES and (chunk := os.read(pipes[1], 4096)):
            written += chunk
    return written.decode(errors="replace")


def _go(pid: int, children: dict) -> None:
    pipes = children.get(pid)
    if pipes is not None and pipes[0] is not None:
        os.write(pipes[0], b"g")
        os.close(pipes[0])
        children[pid] = (None, pipes[1])


def _reap(pid: int, children: dict) -> None:
    """Wait for a child the grader killed (until then its PID is not reused)."""
    pipes = children.pop(pid, None)
    for descriptor in pipes or ():
        if descriptor is not None:
            os.close(descriptor)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def main() -> None:
    settings = json.loads(sys.argv[1])
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    # as autograder.runner.LAUNCHER: no debugger
    sys.modules["debugpy"] = None  # pyright: ignore[reportArgumentType]
    answers = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr

    def answer(message: dict, request: dict) -> None:
        answers.write(json.dumps({**message, "id": request.get("id")}) + "\n")
        answers.flush()

    requests = sys.stdin.buffer
    first = requests.readline()
    if not first:
        return
    load = json.loads(first)
    if not load.get("load"):
        answer({"error": "the first request must be load"}, load)
        return
    try:
        _own_user_namespace()
    except OSError as error:
        answer({"error": str(error)}, load)
        return
    # from here on (before any kernel exists) no process of this sandbox can be read or
    # traced through /proc by one of the same user: the zygote, nor any kernel, a fork of it
    _check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl")
    import threading

    import ipykernel.ipkernel
    import ipykernel.kernelapp  # noqa: F401

    for name in KERNEL_START_MODULES:
        __import__(name)
    __import__("autograder.harness", fromlist=["preload"]).preload(tuple(settings["preload"]))
    if threading.active_count() != 1:
        answer({"error": "threads were started before the fork"}, load)
        return
    answer({"ready": True}, load)
    # the pipes of each forked child, by its PID: the one it waits on for its go (None once
    # it went) and the one it reports a failed start on
    children: dict[int, tuple[int | None, int]] = {}
    apps: dict[tuple, type] = {}  # the kernels' application, by their command line
    for line in requests:
        request = json.loads(line)
        reply = {}
        if "fork" in request:
            try:
                fork = request["fork"]
                app_class = _kernel_app(fork["options"], apps)
                reply = {"pid": _fork(fork, settings, children, app_class)}
            except (OSError, ValueError) as error:  # the process limit, reached by a kernel
                # still dying; options ipykernel does not take
                reply = {"error": f"{type(error).__name__}: {error}"}
        elif "go" in request:
            _go(int(request["go"]), children)
        elif "reap" in request:
            _reap(int(request["reap"]), children)
        elif "start_error" in request:
            reply = {"start_error": _start_error(int(request["start_error"]), children)}
        answer(reply, request)


if __name__ == "__main__":
    main()

"""The sandbox of a grading kernel: bubblewrap, a private scratch folder, no network.

A kernel started through :func:`wrap` sees

* its scratch folder, which belongs to the grader, and in it its ``home`` (the working
  directory, holding only the submission) and its ``ipc`` folder (the Unix sockets of its
  connection to the grader): the only folders of the host it can write, besides a private
  ``/tmp`` and ``/dev/shm`` that vanish with it and hold at most :func:`tmpfs_bytes`;
* read-only: ``/usr``, the few files of ``/etc`` that programs need, the Python environment and
  the base interpreter it links to, and the grading copy of the course (:mod:`.grading_copy`)
  at ``/course``; no other copy of ``course_lib`` or ``autograder`` (an installed one is hidden);
* nothing else: no repository checkout, no instructor notebook, no gradebook, no results, no other
  submission, no home folder;

and runs in its own PID, network (no interface but a loopback of its own), IPC and UTS
namespaces, as a user of its own, under ``prlimit`` limits on memory, processes and file size.
When the grader kills the kernel or dies, bubblewrap's init process dies and the kernel takes
every process of its namespace with it.

Where the machine lets the grader make control groups (cgroup v1 ``cpu`` and ``pids``
hierarchies it can write), each sandbox also gets a group of its own: the scheduler then shares
the CPU between sandboxes, not between processes, so a fork bomb that starts a new session per
child slows its own kernel, not a classmate's, and the group caps the sandbox's processes.

When the grader runs as root, the kernel runs as a fresh unprivileged user id (``setpriv``),
because the kernel ignores the process limit of root; otherwise bubblewrap maps the grader's own
user into a new user namespace, where the process limit counts only the sandbox's processes.

For speed, the sandbox's matplotlib cache folder (``MPLCONFIGDIR``, in the private ``/tmp``)
starts with matplotlib's font list already in it, read-only: without it every kernel scans the
system's fonts again when it imports matplotlib (0.15 s of CPU, measured inside the sandbox).
The list is built once (:func:`matplotlib_fontlist`), by matplotlib itself in a sandbox of its
own, so that it names exactly the fonts a kernel sees; it holds no student's data and no kernel
can change it, so every submission still starts from the same files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import autograder
import course_lib

COPY_MOUNT = "/course"
MPLCONFIGDIR = "/tmp/matplotlib"  # matplotlib's config and cache folder in the sandbox
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/etc/fonts")
ETC_ENTRIES = (
    "alternatives",
    "fonts",
    "group",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "passwd",
    "ssl",
    "timezone",
)
DEFAULT_NPROC = 64  # ipykernel and NumPy use about 15 threads; a fork bomb stops here
DEFAULT_FSIZE = 100 * 1024**2
#: the size of each of a kernel's in-memory file systems (its ``/tmp`` and its ``/dev/shm``):
#: a quarter of its memory limit, and never more than TMPFS_CAP. What a kernel writes there is
#: host memory that its address-space limit does not count, so without a size one kernel with
#: ``--memory 1G`` held 3 GiB of the host's memory in files; with it, a write past the size
#: fails with ENOSPC in the kernel's own cell. At runner.MIN_MEMORY (1 GiB) that is 256 MiB
#: each; grading uses a few MiB (matplotlib's cache, IPython's folder)
TMPFS_SHARE = 4
TMPFS_CAP = 512 * 1024**2
UID_BASE = 1_800_000_000  # far above any real account
CGROUP_ROOT = Path("/sys/fs/cgroup")
INSTALL_HINT = "on Debian or Ubuntu: apt-get install bubblewrap"


class SandboxUnavailable(RuntimeError):
    """Bubblewrap is missing or cannot create namespaces on this machine."""


def python_trees() -> list[str]:
    """The environment and the interpreter it runs on (the base of a virtual environment)."""
    trees = {sys.prefix, sys.base_prefix, str(Path(os.path.realpath(sys.executable)).parent.parent)}
    return sorted(trees)


def _parents(paths) -> list[str]:
    """bwrap arguments that create every parent of ``paths`` traversable (bwrap makes them 0700)."""
    made, arguments = {"/", "/usr", "/tmp", "/etc"}, []
    for path in paths:
        for parent in reversed(PurePath(path).parents):
            if str(parent) not in made:
                made.add(str(parent))
                arguments += ["--perms", "0755", "--dir", str(parent)]
    return arguments


def _hidden_packages(trees) -> list[str]:
    """Folders of the real ``course_lib`` and ``autograder`` that lie inside a bound tree
    (a non-editable install): they get an empty tmpfs on top."""
    hidden = []
    for package in (course_lib, autograder):
        assert package.__file__ is not None  # regular packages, each with an __init__.py
        folder = str(Path(package.__file__).resolve().parent)
        if any(folder == tree or folder.startswith(tree.rstrip("/") + "/") for tree in trees):
            hidden += ["--tmpfs", folder]
    return hidden


def running_as_root() -> bool:
    return os.geteuid() == 0


def tmpfs_bytes(memory_bytes: int) -> int:
    """The size of each in-memory file system of a kernel with the address-space limit
    ``memory_bytes``: ``memory_bytes // TMPFS_SHARE``, at most :data:`TMPFS_CAP` (see there)."""
    return max(1024**2, min(memory_bytes // TMPFS_SHARE, TMPFS_CAP))


# A kernel may replace anything in the folders it can write (its home and ipc folder) at any
# time: with a symlink to a host file, a hard link, a FIFO, a folder, a huge file. The grader
# runs as root on the host, where such a symlink leads anywhere. So the grader keeps the scratch
# folder itself (the kernel can pass through it, not change it), never reads a file the kernel
# can write, and writes into the kernel's folders only through a descriptor of the folder,
# creating each file anew without following a symlink.
FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _remove_entry(folder_fd: int, name: str) -> None:
    """Remove ``name`` from the folder ``folder_fd``, whatever it is (a folder with all it
    holds; a symlink itself, never what it points to)."""
    try:
        os.unlink(name, dir_fd=folder_fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        shutil.rmtree(name, dir_fd=folder_fd)


def write_new_file(
    folder: Path, name: str, content: bytes, *, mode: int = 0o644, replace: bool = True
) -> int:
    """Write ``content`` to a new file ``name`` (of mode ``mode``) in ``folder``, one a kernel
    may write: opened through a descriptor of the folder that follows no symlink, and created
    anew, whatever a kernel left under that name removed first (``replace``). Returns the new
    file's descriptor, open for writing (the caller closes it). Raises OSError (a kernel's
    folder replaced by a symlink: ELOOP or ENOTDIR)."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"not a file name: {name!r}")
    folder_fd = os.open(folder, FOLDER_FLAGS)
    try:
        if replace:
            _remove_entry(folder_fd, name)
        descriptor = os.open(name, NEW_FILE_FLAGS, mode, dir_fd=folder_fd)
    finally:
        os.close(folder_fd)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view) :]
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def reset_kernel_folders(scratch: Path, uid: int | None) -> None:
    """Make ``scratch`` a folder of the grader's that a kernel can pass through but not change
    (mode 0711), with a new, empty ``ipc`` folder and a ``home`` folder, both the kernel's
    (``uid``'s, when the grader is root; mode 0700).

    Called before each kernel of a scratch folder starts, so that what the kernel before left
    (a home it made unreadable, a symlink, FIFO or folder in place of a socket) cannot keep
    the next one from starting or lead the grader elsewhere. ``home`` keeps what the cells
    before wrote (a replay expects it); ``ipc`` holds only sockets and is made anew. Raises
    OSError if ``scratch`` is not a folder of the grader's (a symlink, another user's).
    """
    scratch_fd = os.open(scratch, FOLDER_FLAGS)
    try:
        if os.fstat(scratch_fd).st_uid != os.geteuid():
            raise PermissionError(f"{scratch} does not belong to the grader")
        os.fchmod(scratch_fd, 0o711)
        _remove_entry(scratch_fd, "ipc")
        for name in ("home", "ipc"):
            try:
                folder_fd = os.open(name, FOLDER_FLAGS, dir_fd=scratch_fd)
            except FileNotFoundError:
                os.mkdir(name, 0o700, dir_fd=scratch_fd)
                folder_fd = os.open(name, FOLDER_FLAGS, dir_fd=scratch_fd)
            try:
                if uid is not None:
                    os.fchown(folder_fd, uid, uid)
                os.fchmod(folder_fd, 0o700)
            finally:
                os.close(folder_fd)
    finally:
        os.close(scratch_fd)


@dataclass
class Sandbox:
    """The sandbox of one kernel: its scratch folder, its grading copy and its limits."""

    scratch: Path
    copy: Path
    memory_bytes: int
    nproc: int = DEFAULT_NPROC
    fsize: int = DEFAULT_FSIZE
    uid: int | None = None
    cgroups: list[Path] = field(default_factory=list)
    fontlist: Path | None = None  # matplotlib's font list, put read-only in MPLCONFIGDIR

    @classmethod
    def for_grading(cls, scratch: Path, copy: Path, memory_bytes: int) -> Sandbox:
        """The sandbox a grading kernel (or the zygote it is forked from) runs in: a fresh user id
        and matplotlib's font list built once (:func:`matplotlib_fontlist`)."""
        return cls(scratch, copy, memory_bytes, uid=new_uid(), fontlist=matplotlib_fontlist())

    @property
    def home(self) -> Path:
        return self.scratch / "home"

    @property
    def ipc(self) -> Path:
        return self.scratch / "ipc"

    def prepare(self) -> None:
        """Create the kernel's folders in the scratch folder (:func:`reset_kernel_folders`)
        and its control groups."""
        self.scratch.mkdir(mode=0o711, parents=True, exist_ok=True)
        self.reset_folders()
        self.cgroups = make_cgroups(
            f"{CGROUP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}", self.nproc
        )

    def release(self) -> None:
        """Remove the sandbox's control groups (killing any process still in them)."""
        for group in self.cgroups:
            remove_cgroup(group)
        self.cgroups = []

    def reset_folders(self) -> None:
        """:func:`reset_kernel_folders` for this sandbox's scratch folder and user (before a
        kernel starts again in it)."""
        reset_kernel_folders(self.scratch, self.uid)

    def give(self, path: Path) -> None:
        """Let the kernel's user read a file the grader wrote and keeps (the connection file:
        its group becomes the user's, mode 0640, so the kernel can read it and not change it;
        a symlink is not followed)."""
        if self.uid is None:
            return
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            os.fchown(descriptor, -1, self.uid)
            os.fchmod(descriptor, 0o640)
        finally:
            os.close(descriptor)

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        python_bin = str(Path(sys.executable).parent)
        return {
            "PATH": f"{python_bin}:/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONPATH": COPY_MOUNT,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": MPLCONFIGDIR,
            "IPYTHONDIR": "/tmp/ipython",
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            **extra,
        }

    def wrap(self, command: list[str], env: dict[str, str]) -> list[str]:
        """``command`` (the kernel's) as it runs in this sandbox, with ``env`` only."""
        trees = python_trees()
        scratch = str(self.scratch)
        arguments = [
            shutil.which("bwrap") or "bwrap",
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "grading",
        ]
        if self.uid is None:
            arguments.append("--unshare-user")
        arguments += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
            path = Path("/") / name
            if path.is_symlink():
                arguments += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                arguments += ["--ro-bind", str(path), str(path)]
        arguments += ["--perms", "0755", "--dir", "/etc"]
        for entry in ETC_ENTRIES:
            if os.path.lexists(f"/etc/{entry}"):
                arguments += ["--ro-bind", f"/etc/{entry}", f"/etc/{entry}"]
        # the private /tmp first: a tmpfs mounted later would hide whatever was bound below it
        # (the scratch folder, and an environment that lives under /tmp)
        # both sized (tmpfs_bytes): what a kernel writes in them is host memory
        size = str(tmpfs_bytes(self.memory_bytes))
        arguments += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", size]
        arguments += ["--tmpfs", "/tmp", "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]
        if self.fontlist is not None:
            # a folder the kernel can write (matplotlib wants one) with the font list read-only
            arguments += ["--perms", "1777", "--dir", MPLCONFIGDIR]
            arguments += ["--ro-bind", str(self.fontlist), f"{MPLCONFIGDIR}/{self.fontlist.name}"]
        arguments += _parents(trees)
        for tree in trees:
            arguments += ["--ro-bind", tree, tree]
        arguments += _hidden_packages(trees)
        arguments += [
            "--ro-bind",
            str(self.copy),
            COPY_MOUNT,
            *_parents([scratch]),
            "--bind",
            scratch,
            scratch,
            "--chdir",
            str(self.home),
            "--clearenv",
        ]
        for name, value in env.items():
            arguments += ["--setenv", name, value]
        if self.uid is not None:
            arguments += [
                "setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
            ]
        arguments += [
            "prlimit",
            f"--as={self.memory_bytes}",
            f"--nproc={self.nproc}",
            f"--fsize={self.fsize}",
            "--",
        ]
        if self.cgroups:
            # a shell joins the groups, then becomes bwrap: everything it starts is inside
            join = "; ".join(
                f"echo $$ > {shlex.quote(str(group / 'cgroup.procs'))}" for group in self.cgroups
            )
            arguments = ["/bin/sh", "-c", f'{join} && exec "$@"', "sh", *arguments]
        return arguments + list(command)


CGROUP_PREFIX = "autograder-"  # then the grader's PID, a dash and a random token
CGROUP_CONTROLLERS = ("cpu", "pids")  # the hierarchies a sandbox has a group in


def remove_cgroup(group: Path, wait: float = 2.5) -> bool:
    """Remove a control group of a sandbox; whether it is gone. Killed processes leave their
    group a moment later, so it waits for them up to ``wait`` seconds; a process still in it
    then (one that outlived its kernel) is killed, and the group removed after it."""
    for attempt in range(2):
        deadline = time.monotonic() + wait
        pause = 0.001
        while True:
            if _removed(group):
                return True
            if time.monotonic() >= deadline:
                break
            # a killed kernel leaves its group within 3 to 15 ms: look again after 1 ms, then
            # twice as long each time up to 20 ms (a fixed 20 ms pause made removing a group
            # take 10 ms on average; this, 5.5 ms)
            time.sleep(pause)
            pause = min(2 * pause, 0.02)
        if attempt == 0:
            try:
                left = (group / "cgroup.procs").read_text().split()
            except OSError:
                left = []
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
    return False


@functools.cache
def remove_stale_cgroups() -> list[Path]:
    """Remove the control groups that graders which no longer run left behind (a grader that
    was killed cleans up nothing); done once per process, before it makes its first group.
    Returns the groups removed."""
    return remove_cgroups_of(lambda owner: not Path(f"/proc/{owner}").exists())


def remove_cgroups_of(owners: Callable[[int], bool]) -> list[Path]:
    """Remove the control groups made by the processes whose PID ``owners`` accepts (which
    must have ended: a grading worker that was killed, say). Returns the groups removed."""
    removed = []
    for controller in CGROUP_CONTROLLERS:
        hierarchy = CGROUP_ROOT / controller
        if not os.access(hierarchy, os.W_OK):
            continue
        for group in hierarchy.glob(f"{CGROUP_PREFIX}*-*"):
            owner = group.name[len(CGROUP_PREFIX) :].split("-", 1)[0]
            if owner.isdigit() and owners(int(owner)) and remove_cgroup(group):
                removed.append(group)
    return removed


def _writable(controller: str) -> bool:
    """Whether the cgroup v1 hierarchy of ``controller`` is mounted and this process may make
    groups in it."""
    hierarchy = CGROUP_ROOT / controller
    return (hierarchy / "cgroup.procs").exists() and os.access(hierarchy, os.W_OK)


def process_groups_available() -> bool:
    """Whether :func:`make_cgroups` can cap a group's processes here."""
    return _writable("pids")


def make_cgroups(name: str, nproc: int) -> list[Path]:
    """A ``cpu`` group (the default, equal share) and a ``pids`` group capped at ``nproc``,
    where cgroup v1 hierarchies are mounted and writable; none elsewhere."""
    remove_stale_cgroups()
    remove_leaving_cgroups(wait=False)
    made = []
    for controller in CGROUP_CONTROLLERS:
        limits = {"pids.max": str(nproc)} if controller == "pids" else {}
        if not _writable(controller):
            continue
        group = CGROUP_ROOT / controller / name
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            for setting, value in limits.items():
                (group / setting).write_text(value)
        except OSError:  # a group without its limit is not made
            remove_cgroup(group)
            continue
        made.append(group)
    return made


def remove_cgroups_named(name: str, *, wait: bool = True) -> None:
    """Remove the control groups :func:`make_cgroups` made, or began to make, as ``name`` (for
    a grader interrupted while it made them, which may not know which exist).

    Without ``wait``, a group its killed processes have not left yet is removed later instead
    of waited for: by the next :func:`make_cgroups` of this process if they have left it by
    then, else by :func:`remove_leaving_cgroups`, which a closing kernel pool or zygote calls.
    For speed: a killed kernel takes 3 to 15 ms to leave its groups, on the path of every
    submission where its grader waits."""
    for controller in CGROUP_CONTROLLERS:
        group = CGROUP_ROOT / controller / name
        if not group.exists():
            continue
        if wait:
            remove_cgroup(group)
        elif not _removed(group):
            _leaving.add(group)


# groups of killed kernels whose processes were still leaving them (remove_cgroups_named)
_leaving: set[Path] = set()


def _removed(group: Path) -> bool:
    """Remove ``group`` if no process is left in it; whether it is gone."""
    try:
        group.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


def remove_leaving_cgroups(*, wait: bool = True) -> None:
    """Remove the groups :func:`remove_cgroups_named` left to be removed later: each once its
    processes have left it (``wait``: as :func:`remove_cgroup` waits), or those they have left
    already."""
    for group in list(_leaving):
        if remove_cgroup(group) if wait else _removed(group):
            _leaving.discard(group)


def _fontlist_key() -> str:
    """A hash of what matplotlib's font list depends on: matplotlib's version, the Python
    trees a kernel sees, and every folder of the system's fonts (with its time of change)."""
    from importlib import metadata

    digest = hashlib.sha256(metadata.version("matplotlib").encode())
    for tree in python_trees():
        digest.update(b"\0" + tree.encode())
    for root in FONT_DIRS:
        for folder, _, _ in sorted(os.walk(root)):
            with_time = f"{folder}\0{os.stat(folder).st_mtime_ns}"
            digest.update(b"\0" + with_time.encode())
    return digest.hexdigest()[:16]


@functools.cache
def matplotlib_fontlist() -> Path | None:
    """matplotlib's font list as a sandboxed kernel builds it, built once (by matplotlib, in a
    sandbox with a writable ``MPLCONFIGDIR``) and kept with the grading copies; None where it
    cannot be built (each kernel then builds its own, as matplotlib does by default)."""
    from .grading_copy import cache_root

    target_dir = cache_root() / "matplotlib" / _fontlist_key()
    built = sorted(target_dir.glob("fontlist-*.json")) if target_dir.is_dir() else []
    if built:
        return built[0]
    with tempfile.TemporaryDirectory(prefix="autograder-fonts-") as scratch:
        box = Sandbox(Path(scratch), Path(scratch), memory_bytes=4 * 1024**3, uid=new_uid())
        box.prepare()
        config = box.home / "matplotlib"
        command = box.wrap(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            box.environment({"MPLCONFIGDIR": str(config)}),
        )
        try:
            subprocess.run(command, capture_output=True, timeout=120, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        finally:
            box.release()
        made = sorted(config.glob("fontlist-*.json"))
        if not made:
            return None
        target_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkstemp(prefix=".fontlist-", dir=target_dir)[1])
        partial.write_bytes(made[0].read_bytes())
        os.chmod(partial, 0o644)
        os.replace(partial, target_dir / made[0].name)  # atomic: concurrent graders agree
    return target_dir / made[0].name


_sessions = 0


def new_uid() -> int | None:
    """A user id no other sandbox of this machine uses now (None unless running as root)."""
    global _sessions
    if not running_as_root():
        return None
    _sessions += 1
    return UID_BASE + (os.getpid() % 100_000) * 100 + _sessions % 100


@functools.cache
def unavailable_reason() -> str | None:
    """Why kernels cannot be sandboxed here, or None if they can (tried once per process)."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed ({INSTALL_HINT})"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as scratch:
        sandbox = Sandbox(Path(scratch), Path(scratch), memory_bytes=1024**3, uid=new_uid())
        sandbox.prepare()
        command = sandbox.wrap([sys.executable, "-c", "pass"], {"PATH": "/usr/bin"})
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start: {error}"
        finally:
            sandbox.release()
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"bubblewrap cannot create the sandbox here ({detail}); it needs user "
            "namespaces (or root)"
        )
    return None


def require() -> None:
    """Raise :class:`SandboxUnavailable` with the reason when kernels cannot be sandboxed."""
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailable(
            f"cannot sandbox the grading kernels: {reason}. Grading "
            "untrusted notebooks without a sandbox lets them read the "
            "instructor notebooks and the gradebook; pass --no-sandbox to "
            "do it anyway."
        )

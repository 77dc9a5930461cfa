"""autograder.pool: kernels started ahead of time, one per submission, and nothing left behind.

Every test here starts grading kernels (marked slow), in the sandbox where this machine has one.
No test times anything: what the pool is for (speed) is measured by benchmarks/bench_grading.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import zmq

from autograder import runner, sandbox
from autograder.classroom import Job, grade_jobs
from autograder.grading_copy import grading_copy
from autograder.pool import KernelPool, close_process_pool, preload_modules, process_pool
from grading_helpers import ROOT, submission, write
from test_classroom import grade_command
from test_grading import FORWARD, FULL, INFINITE_LOOP, POINTS

NB = "03_inverted_dropout"
SANDBOXED = sandbox.unavailable_reason() is None
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pool")]


def _kernel_pid(session) -> int:
    pid = session.kernel_pid()  # its local process: the kernel's Popen, or the forked kernel's
    assert pid is not None, "the kernel has no local process"
    return pid


def _children() -> dict[int, int]:
    """{pid: parent pid} of every live process of this machine (zombies left out)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry.name)] = int(fields[1])
    return parents


def _descendants(pid: int | None = None) -> set[int]:
    """The live processes below ``pid`` (this process by default)."""
    parents, found = _children(), set()
    pending = [pid or os.getpid()]
    while pending:
        parent = pending.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found.add(child)
                pending.append(child)
    return found


def _none_left(pids=None, *, besides=frozenset(), wait: float = 15.0) -> bool:
    """Whether this process has no descendant but ``besides`` (the servers other tests of the
    session started), or none of ``pids`` lives, within ``wait`` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        alive = _descendants() - besides if pids is None else set(pids) & set(_children())
        if not alive:
            return True
        time.sleep(0.1)
    return False


def _groups_emptied(groups, wait: float = 15.0) -> bool:
    """Whether every process has left the control groups ``groups`` (or they are gone) within
    ``wait`` s."""

    def used(group) -> bool:
        try:
            return bool((group / "cgroup.procs").read_text().strip())
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + wait
    while any(used(group) for group in groups):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _in_session(session: int) -> set[int]:
    """Live processes of the session ``session``."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session:
                found.add(int(entry.name))
        except OSError:  # ended meanwhile
            continue
    return found


def _with_command_line(text: str) -> set[int]:
    """Live processes whose command line contains ``text``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) in _children():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def copy():
    return grading_copy(NB)


@pytest.fixture
def pool():
    before = frozenset(_descendants())
    with KernelPool() as pool:
        yield pool
    assert _none_left(besides=before), "the closed pool left processes behind"


def _session(pool, copy, seed: int, files=None, timeout=20):
    return pool.session(
        copy=copy,
        sandboxed=SANDBOXED,
        timeout=timeout,
        env={"AUTOGRADER_SEED": str(seed)},
        files=files or {},
    )


def test_the_waiting_kernel_imports_the_course_and_only_modules():
    modules = preload_modules(grading_copy(NB))
    assert {"numpy", "course_lib", f"course_lib.lessons.nb{NB}", "autograder.harness"} <= set(
        modules
    )
    assert all(
        module.split(".")[0] in {"numpy", "matplotlib", "ipywidgets", "course_lib", "autograder"}
        for module in modules
    )
    # SciPy's statistics only where grading uses them (they cost a kernel 0.6 s of CPU)
    assert "scipy.stats" not in modules
    assert "scipy.stats" in preload_modules(grading_copy("02_bernoulli_binomial"))


def test_each_submission_gets_a_kernel_of_its_own_that_nothing_of_the_last_reaches(pool, copy):
    with _session(pool, copy, 1, {f"{NB}.ipynb": b"student A"}) as first:
        first_pid, first_scratch = _kernel_pid(first), first.scratch
        setup = first.run(
            "secret_of_a = 'A'\n"
            "import os, sys\n"
            "open('/tmp/left_by_a', 'w').write('A')\n"
            "open('left_by_a.txt', 'w').write('A')\n"
            "sys.modules['numpy'].left_by_a = True\n"
            "os.environ['LEFT_BY_A'] = '1'"
        )
        assert setup.status == "ok", setup.error
        seen = first.run("assert os.environ['AUTOGRADER_SEED'] == '1'")
        assert seen.status == "ok", seen.error
    assert _none_left([first_pid]) and not first_scratch.exists()
    with _session(pool, copy, 2, {f"{NB}.ipynb": b"student B"}) as second:
        assert _kernel_pid(second) != first_pid and second.scratch != first_scratch
        checks = {
            "secret_of_a": "NameError: name 'secret_of_a' is not defined",
            "assert not __import__('os').path.exists('/tmp/left_by_a')": "",
            "assert 'left_by_a.txt' not in __import__('os').listdir('.')": "",
            "assert open('03_inverted_dropout.ipynb').read() == 'student B'": "",
            "assert not hasattr(__import__('numpy'), 'left_by_a')": "",
            "assert 'LEFT_BY_A' not in __import__('os').environ": "",
            "assert __import__('os').environ['AUTOGRADER_SEED'] == '2'": "",
        }
        for source, error in checks.items():
            outcome = second.run(source, remember=False)
            assert (outcome.status, outcome.error) == ("error" if error else "ok", error), source


def test_the_waiting_kernel_has_imported_its_modules_bound_no_name_and_holds_no_submission(
    pool, copy
):
    with _session(pool, copy, 1):
        waiting = next(iter(pool._waiting.values()))
        # started, with no submission in its scratch folder: the next one is not known yet
        assert waiting.alive()
        assert not [name for name in os.listdir(waiting.workdir) if not name.startswith(".")]
    with _session(pool, copy, 2) as second:
        assert second is waiting
        imported = second.run(
            "import sys\n"
            f"assert {{'numpy', 'course_lib', 'course_lib.lessons.nb{NB}'}} <= set(sys.modules)",
            remember=False,
        )
        assert imported.status == "ok", imported.error
        for name in ("np", "numpy", "plt", "course_lib", "importlib"):
            outcome = second.run(f"{name}", remember=False)
            assert outcome.status == "error" and "NameError" in outcome.error, name
        # as in a kernel just started: no output kept, nothing in the history
        fresh = second.run("assert _ == '' and len(In) <= 2 and not Out", remember=False)
        assert fresh.status == "ok", fresh.error


def test_the_clients_of_a_waiting_kernel_connect_again_every_few_milliseconds(pool, copy):
    """A kernel launched ahead is not listening yet when its client connects: at ZeroMQ's
    default of one new attempt every 100 ms, its client found it ready 150 to 350 ms after it
    was (runner.start_channels)."""
    with _session(pool, copy, 1) as first:
        channels = (first.kc.shell_channel, first.kc.iopub_channel)
        assert all(
            channel.socket.getsockopt(zmq.RECONNECT_IVL) == runner.RECONNECT_MS <= 10
            for channel in channels
        )
        waiting = next(iter(pool._waiting.values()))
        assert waiting.kc.iopub_channel.socket.getsockopt(zmq.RECONNECT_IVL) == runner.RECONNECT_MS


def test_a_waiting_kernel_that_died_is_replaced(pool, copy):
    with _session(pool, copy, 1):
        waiting = next(iter(pool._waiting.values()))
    os.killpg(_kernel_pid(waiting), signal.SIGKILL)
    assert _none_left([_kernel_pid(waiting)])
    with _session(pool, copy, 2) as second:
        assert second is not waiting and pool.replaced == 1
        outcome = second.run("1 + 1")
        assert outcome.status == "ok", outcome.error


def test_without_starting_ahead_a_kernel_is_launched_only_for_its_submission(copy, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_AHEAD", "0")
    close_process_pool()
    pool = process_pool()
    try:
        assert not pool.ahead
        for seed in (1, 2):
            with _session(pool, copy, seed) as session:
                assert not pool._waiting and pool.live() == 1
                assert session.run("1 + 1").status == "ok"
        assert pool.started == 2
    finally:
        close_process_pool()
    monkeypatch.delenv("AUTOGRADER_AHEAD")
    assert process_pool().ahead
    close_process_pool()


def test_a_timeout_or_a_crash_does_not_reach_the_next_submission(pool, copy):
    with _session(pool, copy, 1, timeout=2) as first:
        first.run("kept = 1")
        assert first.run("import time\ntime.sleep(600)").status == "timeout"
        assert first.run("assert kept == 1").status == "ok"  # replayed in a new kernel
        assert first.run("import os\nos._exit(3)").status == "dead"
        restarted = first.run("import os\nassert os.environ['AUTOGRADER_SEED'] == '1'")
        assert restarted.status == "ok", restarted.error
    with _session(pool, copy, 2, timeout=20) as second:
        outcome = second.run("kept", remember=False)
        assert outcome.error == "NameError: name 'kept' is not defined"
        assert second.timeout == 20


def test_an_exception_while_grading_kills_that_kernel_and_closing_kills_the_rest(copy):
    before = frozenset(_descendants())
    pool = KernelPool()
    with pytest.raises(ZeroDivisionError), _session(pool, copy, 1) as first:
        first_pid = _kernel_pid(first)
        raise ZeroDivisionError
    assert _none_left([first_pid])
    assert pool.live() == 1  # the next submission's kernel
    pool.close()
    assert _none_left(besides=before) and pool.live() == 0
    with pytest.raises(RuntimeError, match="closed"), _session(pool, copy, 2):
        pass


def _class(root: Path, students: int) -> list[Job]:
    right = submission(NB, correct=True)
    hanging = submission(NB, {FORWARD: INFINITE_LOOP}, correct=True)
    jobs = []
    for number in range(students):
        path = write(hanging if number == 1 else right, root / f"s{number}" / f"{NB}.ipynb")
        jobs.append(
            Job(
                f"s{number}",
                NB,
                str(path),
                number,
                SANDBOXED,
                3,
                4 * 1024**3,
                str(ROOT / "autograder" / "course" / "source"),
            )
        )
    return jobs


@pytest.mark.parametrize("workers", [1, 2])
def test_grading_a_class_leaves_no_process_and_a_hang_costs_only_its_own_notebook(
    tmp_path, workers
):
    before = frozenset(_descendants())
    results = []
    graded = grade_jobs(
        _class(tmp_path, 4),
        [lambda each: results.append(each.result)],
        workers=workers,
        progress=False,
    )
    assert graded == 4 and _none_left(besides=before)
    scores = {result["student"]: result["score"] for result in results}
    hung = FULL - POINTS["dropout_forward"]  # the hanging forward costs only its own points
    assert scores == {"s0": FULL, "s1": hung, "s2": FULL, "s3": FULL}


def _cgroups_of(pids: set[int]) -> list[Path]:
    """Control groups made by the processes ``pids`` (their names start with the maker's PID)."""
    return [
        group
        for pid in pids
        for group in sandbox.CGROUP_ROOT.glob(f"*/{sandbox.CGROUP_PREFIX}{pid}-*")
    ]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_while_grading_leaves_no_kernel_and_no_control_group(tmp_path, stop):
    # not under tmp_path: once pytest's numbered folders pass pytest-99, the kernels' socket
    # paths there exceed the 107 bytes allowed, and every kernel fails to start
    scratch = Path(tempfile.mkdtemp(prefix="pool-ctrl-c-"))
    try:
        graders = _interrupt_grading(tmp_path, scratch, stop)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert _cgroups_of(graders) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_as_the_workers_start_ends_the_grader(tmp_path, stop):
    """A signal right after the grader forked its first worker, before its process pool can
    tell its workers to end: the grader once waited for them for good there, and they for a
    job."""
    scratch = Path(tempfile.mkdtemp(prefix="pool-ctrl-c-"))
    try:
        graders = _interrupt_grading(tmp_path, scratch, stop, how="first-fork")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert _cgroups_of(graders) == []


def test_a_worker_killed_ends_the_grader_with_one_line_and_leaves_nothing(tmp_path):
    """A worker killed (the kernel's out-of-memory killer, say): the process pool breaks,
    and the grader ends its other worker and says what happened, in one line."""
    scratch = Path(tempfile.mkdtemp(prefix="pool-ctrl-c-"))
    try:
        graders = _interrupt_grading(tmp_path, scratch, signal.SIGKILL, how="worker")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert _cgroups_of(graders) == []


# ``python -m autograder`` that sends itself the signal numbered by its first argument as soon
# as it has started a process of multiprocessing's (the first worker of its process pool, before
# the pool has noted it: the pool then starts the others and its thread that ends them)
SIGNAL_AT_FIRST_FORK = """
import os, sys
from multiprocessing.process import BaseProcess
from autograder import cli
stop, start, started = int(sys.argv.pop(1)), BaseProcess.start, []
def start_then_signal(self):
    start(self)
    if not started:
        started.append(self)
        os.kill(os.getpid(), stop)
BaseProcess.start = start_then_signal
cli.run()
"""


def _interrupt_grading(tmp_path: Path, scratch: Path, stop: int, *, how: str = "group") -> set[int]:
    """Stop a grader with the signal ``stop`` while it grades, sent to its process group
    (``how="group"``, as Ctrl-C in a terminal does) or to one of its workers (``"worker"``),
    or by the grader to itself as it starts its workers (``"first-fork"``). Returns the PIDs
    of the grader and of the workers known then."""
    submissions = tmp_path / "submitted"
    _class(submissions, 6)
    (tmp_path / "course").mkdir()
    env = dict(
        os.environ,
        TMPDIR=str(scratch),  # every kernel's scratch folder, and so its command line
        JUPYTER_CONFIG_DIR=str(tmp_path / "course" / ".jupyter"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    options = ["--workers", "2", "--quiet", *([] if SANDBOXED else ["--no-sandbox"])]
    command = grade_command(submissions, tmp_path / "out", tmp_path / "course", *options)
    if how == "first-fork":
        assert command[1:3] == ["-m", "autograder"]
        command = [sys.executable, "-c", SIGNAL_AT_FIRST_FORK, str(int(stop)), *command[3:]]
    errors = tmp_path / "stderr.txt"
    with open(errors, "w") as stderr:
        grader = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    graders = {grader.pid}
    try:
        if how != "first-fork":
            deadline = time.monotonic() + 120
            while not _with_command_line(str(scratch)) and time.monotonic() < deadline:
                assert grader.poll() is None, "the grader ended before it started a kernel"
                time.sleep(0.2)
            assert _with_command_line(str(scratch)), "no kernel started"
            graders |= _descendants(grader.pid)
            if how == "group":
                os.killpg(grader.pid, stop)
            else:  # its zygote starts before its workers: they may not all be forked yet
                workers = _in_session(grader.pid) - {grader.pid}
                while len(workers) < 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                    workers = _in_session(grader.pid) - {grader.pid}
                assert len(workers) == 2, workers
                os.kill(min(workers), stop)
        grader.wait(timeout=120)
        if how == "worker":  # one line says what happened
            assert grader.returncode == 2, errors.read_text()
            assert "a worker process of the grader ended abruptly" in errors.read_text()
        else:
            assert grader.returncode in (128 + stop, -stop), grader.returncode
    finally:
        if grader.poll() is None:
            os.killpg(grader.pid, signal.SIGKILL)
            grader.wait()
    assert not _in_session(grader.pid), "a worker outlived its grader"
    deadline = time.monotonic() + 15
    while _with_command_line(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _with_command_line(str(scratch))
    assert not [path for path in scratch.iterdir() if path.name.startswith("autograder-")]
    graded = [json.loads(path.read_text()) for path in (tmp_path / "out").glob("results/*/*.json")]
    assert len(graded) < 6  # it was interrupted, not finished
    return graders


def test_grading_on_a_dask_cluster_leaves_no_kernel_in_its_workers(tmp_path, monkeypatch):
    """Dask's workers outlive the run, and each keeps a kernel started for a next submission
    that never comes: the grader has them close their pools when grading ends."""
    # the workers start after this: their kernels' scratch folders (on their command lines) go
    # here (not under tmp_path: the kernels' socket paths would exceed the 107 bytes allowed)
    scratch = Path(tempfile.mkdtemp(prefix="pool-dask-"))
    monkeypatch.setenv("TMPDIR", str(scratch))
    try:
        _grade_on_dask(tmp_path, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _grade_on_dask(tmp_path: Path, scratch: Path) -> None:
    from services import dask_cluster

    results = []
    with dask_cluster() as address:
        graded = grade_jobs(
            _class(tmp_path / "submitted", 3),
            [lambda each: results.append(each.result)],
            scheduler=address,
            progress=False,
        )
        assert graded == 3
        hung = FULL - POINTS["dropout_forward"]  # the hanging forward costs only its own points
        assert {result["student"]: result["score"] for result in results} == {
            "s0": FULL,
            "s1": hung,
            "s2": FULL,
        }
        # checked while the workers still run
        deadline = time.monotonic() + 15
        while _with_command_line(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _with_command_line(str(scratch)), "a Dask worker kept a kernel"
        assert not [path for path in scratch.iterdir() if path.name.startswith("autograder-")]


LEAVE_EVERYTHING = """
import ctypes, os, subprocess, sys
import numpy, course_lib.dropout
open('/tmp/left_by_a', 'w').write('A')
open('/dev/shm/left_by_a', 'w').write('A') if os.path.isdir('/dev/shm') else None
open('left_by_a.txt', 'w').write('A')
numpy.mean = lambda *args, **kwargs: 'patched by A'
course_lib.dropout.dropout_forward = lambda *args, **kwargs: 'patched by A'
sys.modules['left_by_a'] = sys
os.environ['LEFT_BY_A'] = '1'
# a System V shared memory segment outlives its process, in its IPC namespace
assert ctypes.CDLL(None).shmget(0x5EED, 4096, 0o1000 | 0o600) >= 0  # IPC_CREAT
forever = 'import time\\nwhile True:\\n    open("/tmp/still_here", "w"); time.sleep(0.05)'
background = subprocess.Popen([sys.executable, '-c', forever], start_new_session=True)
"""
# what a submission could try against the kernel waiting for the next one, and the zygote
REACH_OUT = """
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
spool = os.path.dirname(os.path.dirname(os.getcwd()))
own = os.path.basename(os.path.dirname(os.getcwd()))
others = [name for name in os.listdir(spool) if name != own]
assert others == [], others
assert libc.umount2(b'/tmp', 2) != 0  # MNT_DETACH: no capability to undo the fresh /tmp
assert libc.umount2(spool.encode(), 2) != 0
assert sorted(int(p) for p in os.listdir('/proc') if p.isdigit())  # the zygote's namespace
readable = []
for pid in (p for p in os.listdir('/proc') if p.isdigit()):
    try:
        open(f'/proc/{pid}/mem', 'rb').close()
        if os.readlink(f'/proc/{pid}/ns/pid') != os.readlink('/proc/self/ns/pid'):
            readable.append(pid)
    except OSError:
        pass
assert readable == [], readable  # its own processes only: not the zygote, not another kernel
assert os.getpid() == 2  # after the first process of its own PID namespace
"""


@pytest.mark.parametrize("spool", ["/tmp", "/var/tmp"], ids=["spool-in-tmp", "spool-elsewhere"])
def test_a_forked_kernel_leaves_nothing_for_the_next_and_cannot_reach_it(
    pool, copy, spool, monkeypatch
):
    """What forking kernels from one zygote newly risks: a file in /tmp, /dev/shm or scratch, a
    background process, a patched module, sys.modules, an environment variable, a System V
    shared memory segment; and the kernel waiting for the next submission, or the zygote,
    reached from this one. The zygote's folder of scratch folders is under /tmp (the kernel's
    new /tmp hides the others) or elsewhere (a new tmpfs on it does)."""
    if not os.access(spool, os.W_OK):
        pytest.skip(f"{spool} is not writable here")
    monkeypatch.setattr(tempfile, "tempdir", spool)
    with _session(pool, copy, 1) as first:
        if SANDBOXED:
            assert first.zygote is not None, "a sandboxed kernel is forked"
        setup = first.run(LEAVE_EVERYTHING)
        assert setup.status == "ok", setup.error
        if SANDBOXED:
            reach = first.run(REACH_OUT, remember=False)
            assert reach.status == "ok", reach.error
        pid = _kernel_pid(first)
        if SANDBOXED:  # namespaces of its own: not those of the kernel waiting for the next
            waiting = next(iter(pool._waiting.values()))
            # which may still be making them, on a busy machine (its first process has no PID
            # namespace for its children until the namespace's first process runs)
            waiting._wait_ready()
            for kind in ("mnt", "net", "ipc", "pid_for_children"):
                ours, theirs = (os.readlink(f"/proc/{p}/ns/{kind}") for p in (pid, waiting.km.pid))
                assert ours != theirs, kind
        drawn = first.run("print(numpy.random.randint(2**62))").outputs[0]["text"]
        groups = list(first.km.cgroups) if SANDBOXED else []
        if SANDBOXED and first.zygote.sandbox.cgroups:
            # control groups of its own (CPU share, process limit), not its zygote's
            assert {group.parent.name for group in groups} == {"cpu", "pids"}
            joined = Path(f"/proc/{pid}/cgroup").read_text()
            assert all(f":/{group.name}\n" in joined for group in groups)
            assert first.zygote.sandbox.cgroups[0].name not in joined
    assert _none_left([pid])
    # its groups go once its processes have left them, without the grader waiting for it
    assert not [group for group in groups if group.exists() and group not in sandbox._leaving]
    # which, on a busy machine, the last of them (a background process, its namespace's first
    # process) may not have done yet, killed as they were
    assert _groups_emptied(groups)
    with _session(pool, copy, 2) as second:
        if SANDBOXED:
            assert second.zygote is first.zygote, "both were forked by the same zygote"
        # the kernel started for a next submission, when this one was taken, made its groups
        # and removed the first kernel's, which its processes had left by then
        assert not [group for group in groups if group.exists()]
        time.sleep(0.3)  # a background process of the first would have written by now
        checks = [
            "import os, sys, numpy, course_lib.dropout",
            "assert not os.path.exists('/tmp/left_by_a') and not os.path.exists('/tmp/still_here')",
            "assert not os.path.exists('/dev/shm/left_by_a')",
            "assert not os.path.exists('left_by_a.txt')",
            "assert numpy.mean([1, 3]) == 2",
            "assert course_lib.dropout.dropout_forward.__name__ == 'dropout_forward'",
            "assert 'left_by_a' not in sys.modules",
            "assert 'LEFT_BY_A' not in os.environ",
            "import ctypes; assert ctypes.CDLL(None).shmget(0x5EED, 0, 0) == -1",
        ]
        for source in checks:
            outcome = second.run(source)
            assert outcome.status == "ok", (source, outcome.error)
        # NumPy's global generator is seeded afresh in each kernel, as a new import seeds it:
        # the same draw of 62 bits in both by chance has probability 2**-62
        assert second.run("print(numpy.random.randint(2**62))").outputs[0]["text"] != drawn


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_a_fork_interrupted_or_never_handed_over_leaves_no_kernel_and_no_control_group(copy):
    """Ctrl-C or SIGTERM may land while a kernel is being forked: after its control groups
    were made but before it was told to go, or before the caller got it. Either way its
    groups and its processes go, at once or when the zygote closes."""
    from autograder.zygote import Zygote, write_kernel_connection

    zygote = Zygote(copy=copy, memory_bytes=2**31, preload=("numpy",))
    try:
        asks = zygote._ask

        def interrupted(request):
            if "go" in request:
                raise KeyboardInterrupt
            return asks(request)

        zygote._ask = interrupted
        scratch = zygote.new_scratch()
        connection = write_kernel_connection(scratch / "ipc", zygote.sandbox.give)
        with pytest.raises(KeyboardInterrupt):
            zygote.fork(scratch, connection, {}, ())
        zygote._ask = asks
        assert not zygote.kernels
        mine = sandbox.CGROUP_ROOT.glob(f"*/{sandbox.CGROUP_PREFIX}{os.getpid()}-*")
        # but the zygote's own, none; or, on a busy machine, the kernel's, until its killed
        # processes have left them (then by the next kernel's start, or the zygote's closing)
        leftover = set(mine) - set(zygote.sandbox.cgroups)
        assert leftover <= sandbox._leaving
        # a kernel the caller never got: closing the zygote shuts it down
        scratch = zygote.new_scratch()
        connection = write_kernel_connection(scratch / "ipc", zygote.sandbox.give)
        kernel = zygote.fork(scratch, connection, {}, ())
        groups, pid = list(kernel.cgroups), kernel.pid
        assert zygote.kernels == {kernel}
    finally:
        zygote.close()
    assert not [group for group in [*groups, *leftover] if group.exists()]
    assert _none_left([pid])


def _zygote_python(zygote) -> int:
    """The PID of the zygote's Python process (the last of its sandbox's chain of processes)."""
    pid = zygote.process.pid
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children:
            return pid
        pid = int(children[0])


def _imported_numpy(pid: int) -> bool:
    return "numpy" in Path(f"/proc/{pid}/maps").read_text()


def _printed(outcome) -> str:
    assert outcome.status == "ok", outcome.error
    return "".join(each.get("text", "") for each in outcome.outputs)


def _printed_in_a_kernel_of(zygote, copy, source: str) -> str:
    """What ``source`` prints in a kernel forked by ``zygote`` (closed afterwards)."""
    session = runner.KernelSession(copy=copy, zygote=zygote)
    try:
        session.launch()
        session.begin()
        return _printed(session.run(source)).strip()
    finally:
        session.close()


def _in_worker(zygote, copy, answers) -> None:
    """In a forked process: a kernel from ``zygote``, its PID and a cell's output to ``answers``;
    then close this process's share of the zygote (which must leave the zygote running)."""
    code = 1
    try:
        session = runner.KernelSession(copy=copy, zygote=zygote)
        session.launch()
        session.begin()
        outcome = session.run("import os; print(os.getpid(), 6 * 7)")
        answers.send((session.kernel_pid(), _printed(outcome).split()))
        session.close()
        zygote.close()
        code = 0
    except BaseException as error:
        answers.send((None, repr(error)))
    finally:
        os._exit(code)


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_a_shared_zygote_loads_when_asked_and_serves_the_processes_forked_after_it(copy):
    """The workers of a class share one zygote: made before they are forked, it imports its
    modules only when asked, each worker's kernels are its own (PID, control groups), a worker
    that closes it shuts down its own kernels only, and only its maker ends it."""
    import multiprocessing

    from autograder.zygote import Zygote

    context = multiprocessing.get_context("fork")
    before = frozenset(_descendants())
    zygote = Zygote(copy=copy, memory_bytes=2**31, preload=("numpy",), shared=True, workers=2)
    try:
        time.sleep(0.5)
        python = _zygote_python(zygote)
        assert "zygote" in Path(f"/proc/{python}/cmdline").read_text()
        assert not _imported_numpy(python), "the zygote imported its modules before it was asked"
        zygote.load()
        pipes = [context.Pipe(duplex=False) for _ in "ab"]
        workers = [
            context.Process(target=_in_worker, args=(zygote, copy, writer)) for _, writer in pipes
        ]
        for worker in workers:
            worker.start()
        got = [reader.recv() if reader.poll(60) else (None, "no answer") for reader, _ in pipes]
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0, 0], got
        assert _imported_numpy(python)
        (pid_a, out_a), (pid_b, out_b) = got
        assert pid_a != pid_b and out_a[1] == out_b[1] == "42"
        assert _none_left([pid_a, pid_b])
        workers_pids = {worker.pid for worker in workers if worker.pid is not None}
        assert _cgroups_of(workers_pids) == []
        # still serving its maker after both workers closed their share
        assert _printed_in_a_kernel_of(zygote, copy, "print(1 + 1)") == "2"
    finally:
        zygote.close()
    assert _none_left(besides=before)


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_an_answer_nobody_read_is_not_taken_for_the_next_one(copy):
    """A worker interrupted between a request and its answer leaves the answer in the pipe; the
    next request, by any process, must get its own answer, not that one."""
    from autograder.zygote import Zygote, write_kernel_connection

    zygote = Zygote(copy=copy, memory_bytes=2**31, preload=("numpy",), shared=True)
    try:
        zygote.wait_ready()
        zygote._send({"reap": 1})  # answered by {}, never read
        scratch = zygote.new_scratch()
        connection = write_kernel_connection(scratch / "ipc", zygote.sandbox.give)
        kernel = zygote.fork(scratch, connection, {}, ())  # reads {"pid": ...} past the {}
        assert kernel.is_alive()
        kernel.shutdown_kernel()
        assert not kernel.is_alive()
    finally:
        zygote.close()


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_forked_kernels_get_their_command_line_options_and_a_bad_one_is_refused(copy):
    """The zygote parses the kernels' options once and hands the result to every kernel it
    forks: each kernel has them (and its own connection file); other options make other
    kernels; an option ipykernel does not take is refused, and the zygote goes on."""
    from autograder.zygote import Zygote, ZygoteUnavailable, write_kernel_connection

    settings = "get_ipython().history_manager.hist_file, get_ipython().ast_node_interactivity"
    zygote = Zygote(copy=copy, memory_bytes=2**31, preload=("numpy",))
    try:
        printed = []
        for options in [
            runner.KERNEL_OPTIONS,
            (*runner.KERNEL_OPTIONS, "--InteractiveShell.ast_node_interactivity=all"),
            runner.KERNEL_OPTIONS,
        ]:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(runner, "KERNEL_OPTIONS", options)
                printed.append(_printed_in_a_kernel_of(zygote, copy, f"print({settings})"))
        assert printed == [
            ":memory: last_expr",
            ":memory: all",
            ":memory: last_expr",
        ]
        scratch = zygote.new_scratch()
        connection = write_kernel_connection(scratch / "ipc", zygote.sandbox.give)
        with pytest.raises(ZygoteUnavailable, match="no-such-option"):
            zygote.fork(scratch, connection, {}, ("--no-such-option",))
        assert zygote.alive() and zygote.forked == 3
        assert _printed_in_a_kernel_of(zygote, copy, "print(6 * 7)") == "42"
    finally:
        zygote.close()


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_a_shared_zygote_that_ended_is_replaced_by_one_of_the_pools_own(copy):
    from autograder import pool as pools

    key = (copy, True, runner.DEFAULT_MEMORY)
    before = frozenset(_descendants())
    pools.share_zygotes([key], workers=2, load=key)
    shared = pools._shared[key]
    try:
        shared.wait_ready()
        process = shared.process
        assert process is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        with KernelPool() as pool, _session(pool, copy, 1) as session:
            assert _printed(session.run("print(6 * 7)")).strip() == "42"
            assert session.zygote is not shared and key in pool._unshared
    finally:
        pools.close_shared_zygotes()
    assert not pools._shared and _none_left(besides=before)


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_two_workers_grade_a_class_with_one_zygote(tmp_path, monkeypatch):
    import multiprocessing

    from autograder import zygote as zygotes

    made = multiprocessing.get_context("fork").Value("i", 0)
    start = zygotes.Zygote.__init__

    def counted(self, **arguments):
        with made.get_lock():
            made.value += 1
        start(self, **arguments)

    monkeypatch.setattr(zygotes.Zygote, "__init__", counted)
    results = []
    jobs = [job for job in _class(tmp_path, 6) if job.student != "s1"]  # no hang: 5 kernels
    assert grade_jobs(jobs, [lambda each: results.append(each.result)], workers=2, progress=False)
    assert sorted(result["score"] for result in results) == [FULL] * 5
    assert made.value == 1


@pytest.mark.skipif(not SANDBOXED, reason="kernels are forked in the sandbox only")
def test_one_worker_starts_its_zygote_without_waiting_for_it(tmp_path):
    """With one worker, the grader starts the first notebook's zygote and goes on (it opens
    the gradebook meanwhile); the first submission then waits for it, and is graded."""
    from autograder import zygote as zygotes
    from autograder.classroom import start_ahead
    from autograder.pool import close_process_pool, process_pool

    jobs = [job for job in _class(tmp_path, 3) if job.student != "s1"]
    before = frozenset(_descendants())
    try:
        start_ahead(jobs, workers=1)
        pool = process_pool()
        (zygote,) = pool._zygotes.values()
        assert zygote._state.value == zygotes.LOADING  # importing NumPy and the rest: not ready
        results = []
        grade_jobs(jobs, [lambda each: results.append(each.result)], workers=1, progress=False)
        assert [result["score"] for result in results] == [FULL, FULL]
        assert zygote.forked == pool.started >= 2  # every kernel forked from it
    finally:
        close_process_pool()
    assert _none_left(besides=before)


def test_ctrl_c_just_after_a_zygote_lock_is_taken_does_not_keep_it_taken():
    """A worker woken by the other's release takes the lock with its own Ctrl-C pending: the
    KeyboardInterrupt comes once the lock is given back, not before the code that gives it
    back (the grader then hung, its other worker waiting for the lock for good)."""
    import multiprocessing

    from autograder.zygote import Zygote

    lock = multiprocessing.get_context("fork").Lock()

    class Interrupted:
        def acquire(self, timeout):
            taken = lock.acquire(timeout=timeout)
            os.kill(os.getpid(), signal.SIGINT)  # lands as the lock is taken
            return taken

        def release(self):
            lock.release()

    zygote = Zygote.__new__(Zygote)
    zygote._lock = Interrupted()  # pyright: ignore[reportAttributeAccessIssue] - a stand-in under test
    ran = []
    with pytest.raises(KeyboardInterrupt), zygote._turn():
        ran.append(True)
    assert ran == [True]  # the turn ran, then Ctrl-C
    assert lock.acquire(timeout=0), "the lock was left taken"
    lock.release()

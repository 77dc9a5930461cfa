"""What a grading kernel can do to the folders it shares with the grader, and what it cannot.

The grader runs as root on the host; a kernel can write its ``home`` and ``ipc`` folders and,
before, could write the scratch folder around them. Each test is an attack a red team found or
one of its class: a symlink, a FIFO or a folder where the grader reads or writes, a home renamed
or made unreadable so that the next kernel cannot start, a kernel that keeps its own restart
from working, and in-memory file systems filled without bound. The kernels are forked from a
zygote, as ``python -m autograder grade`` forks them; the last tests use the cold sandbox too.
"""

import errno
import os
import stat
import threading
from pathlib import Path

import nbformat
import pytest

from autograder import runner, sandbox
from autograder.classroom import GRADER_FAILED, Job, grade_job
from autograder.grading_copy import grading_copy
from autograder.pool import close_process_pool
from autograder.zygote import Zygote
from grading_helpers import ROOT, submission, write

SANDBOXED = sandbox.unavailable_reason() is None
NB = "03_inverted_dropout"
SECRET = "a1b2c3d4e5f6-the-course-seed-key"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("scratch"),
    pytest.mark.skipif(not SANDBOXED, reason="the sandbox is needed"),
]


@pytest.fixture(scope="module")
def copy():
    return grading_copy(NB)


@pytest.fixture(scope="module")
def zygote(copy):
    made = Zygote(copy=copy, memory_bytes=runner.MIN_MEMORY, preload=("numpy",))
    yield made
    made.close()


@pytest.fixture
def session(zygote, copy):
    made = runner.KernelSession(copy=copy, zygote=zygote, timeout=30)
    try:
        made.launch()
        made.begin(files={f"{NB}.ipynb": b"the submission"})
        yield made
    finally:
        made.close()


@pytest.fixture
def secret(tmp_path) -> Path:
    """A host file only root can read, as the course's seed key is."""
    path = tmp_path / ".autograder-seed-key"
    path.write_text(SECRET + "\n")
    path.chmod(0o600)
    return path


def _attempt(*steps: str) -> str:
    """A cell that tries each step (a failure is the kernel's own business) and then ends its
    kernel, so that the grader starts a new one in the same scratch folder."""
    tries = "".join(f"try:\n    {step}\nexcept OSError:\n    pass\n" for step in steps)
    return f"import os\nscratch = os.path.dirname(os.getcwd())\n{tries}os._exit(0)\n"


def _run_after_a_restart(session, cell: str, *, wait: float = 120) -> runner.CellOutcome:
    """Run ``cell`` (which ends the kernel) and then one more cell, in a thread: the grader
    must neither raise nor hang (a FIFO read blocks for good)."""
    result: dict = {}

    def go():
        try:
            session.run("x = 41")
            assert session.run(cell).status == "dead"
            result["outcome"] = session.run("print(x + 1)")
        except BaseException as error:  # reported below, in the test's thread
            result["error"] = error

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(wait)
    if thread.is_alive():
        fifo = session.scratch / "start-error.txt"
        if fifo.exists() and stat.S_ISFIFO(fifo.lstat().st_mode):  # let the blocked read end
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail("the grader hung after the kernel ended")
    if "error" in result:
        raise AssertionError(f"the grader raised: {result['error']!r}")
    return result["outcome"]


def _everything_said(outcome: runner.CellOutcome) -> str:
    return f"{outcome.error} {outcome.outputs}"


def test_a_start_error_symlinked_to_a_host_file_is_never_read(session, secret):
    """The red team's attack: start-error.txt a symlink to the seed key, home renamed, exit."""
    cell = _attempt(
        f"os.symlink({str(secret)!r}, os.path.join(scratch, 'start-error.txt'))",
        "os.rename(os.getcwd(), os.path.join(scratch, 'moved-home'))",
    )
    outcome = _run_after_a_restart(session, cell)
    assert SECRET not in _everything_said(outcome) and SECRET not in session.broken
    assert outcome.status == "ok" and outcome.outputs[0]["text"] == "42\n"  # replayed
    assert not os.path.lexists(session.scratch / "start-error.txt")
    assert (session.scratch / "home").is_dir()


def test_a_fifo_in_place_of_the_start_error_does_not_hang_the_grader(session):
    cell = _attempt(
        "os.mkfifo(os.path.join(scratch, 'start-error.txt'))",
        "os.rename(os.getcwd(), os.path.join(scratch, 'moved-home'))",
    )
    outcome = _run_after_a_restart(session, cell)
    assert outcome.status == "ok" and outcome.outputs[0]["text"] == "42\n"


def test_a_home_made_unreadable_before_the_kernel_ends_is_given_back(session):
    """A kernel owns its home, so it may chmod it 000: the next kernel could not enter it."""
    outcome = _run_after_a_restart(session, _attempt("os.chmod(os.getcwd(), 0)"))
    assert outcome.status == "ok" and outcome.outputs[0]["text"] == "42\n"
    assert not session.broken


def test_the_scratch_folder_is_the_graders_and_only_home_and_ipc_the_kernels(session):
    outcome = session.run(
        "import os\n"
        "scratch = os.path.dirname(os.getcwd())\n"
        "for attempt in (lambda: open(os.path.join(scratch, 'planted'), 'w'),\n"
        "                lambda: os.rename(os.path.join(scratch, 'ipc'), scratch + '/x'),\n"
        "                lambda: os.rename(os.getcwd(), scratch + '/y')):\n"
        "    try:\n"
        "        attempt()\n"
        "        print('done')\n"
        "    except PermissionError:\n"
        "        print('refused')\n"
        "_ = open('mine', 'w').write('a file of its own')\n"
    )
    assert outcome.status == "ok", outcome.error
    assert "".join(each["text"] for each in outcome.outputs).split() == ["refused"] * 3
    info = session.scratch.stat()
    assert info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == 0o711


def test_an_ipc_folder_replaced_by_a_symlink_to_a_host_folder_gets_nothing_written(
    session, tmp_path
):
    """Before, the grader wrote the next connection file into ``ipc`` as root, handed it to the
    kernel's user and set the sticky bit of the folder: through a symlink, in a host folder."""
    host = tmp_path / "host-folder"
    host.mkdir(mode=0o755)
    cell = _attempt(
        "os.rename(os.path.join(scratch, 'ipc'), os.path.join(scratch, 'ipc-old'))",
        f"os.symlink({str(host)!r}, os.path.join(scratch, 'ipc'))",
    )
    outcome = _run_after_a_restart(session, cell)
    assert list(host.iterdir()) == []
    assert stat.S_IMODE(host.stat().st_mode) == 0o755
    assert outcome.status == "ok" and outcome.outputs[0]["text"] == "42\n"


def test_files_put_in_again_before_a_replay_replace_what_the_kernel_left(session, secret):
    """The submission's file, which a kernel replaced by a symlink to a host file, is written
    anew for the replay: never through the symlink."""
    name = f"{NB}.ipynb"
    cell = _attempt(f"os.remove({name!r})", f"os.symlink({str(secret)!r}, {name!r})")
    outcome = _run_after_a_restart(session, cell)
    assert outcome.status == "ok"
    assert secret.read_text() == SECRET + "\n"
    placed = session.workdir / name
    assert not placed.is_symlink() and placed.read_bytes() == b"the submission"


def test_a_kernel_that_cannot_start_again_fails_the_submission_not_the_grader(
    tmp_path, monkeypatch
):
    """However the cells broke it, a kernel that does not start again costs the tests after it
    (with the reason), and the notebook is not reported as the grader's failure."""
    close_process_pool()

    def never(self):
        raise RuntimeError("the kernel died while starting: it was broken")

    monkeypatch.setattr(runner.KernelSession, "_start", never)

    def exit_first(notebook):
        first = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
        notebook.cells.insert(first + 1, nbformat.v4.new_code_cell("import os\nos._exit(0)"))

    path = write(
        submission(NB, correct=True, edit=exit_first), tmp_path / "mallory" / f"{NB}.ipynb"
    )
    job = Job(
        student="mallory",
        assignment=NB,
        path=str(path),
        seed=1,
        sandboxed=True,
        timeout=30,
        memory_bytes=runner.MIN_MEMORY,
        source_dir=str(ROOT / "autograder" / "course" / "source"),
        with_notebook=False,
    )
    try:
        result = grade_job(job).result
    finally:
        close_process_pool()
    assert not result.get(GRADER_FAILED), result.get("error")
    assert result["score"] == 0 and result["tests"]
    assert "error" not in result  # not ungradable: graded, and every test failed
    for test in result["tests"]:
        assert "could not be started again" in test["message"], test


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "cold"])
@pytest.mark.parametrize("where", ["/tmp", "/dev/shm"])
def test_a_kernel_that_fills_tmp_or_shm_gets_enospc_in_its_own_cell(zygote, copy, forked, where):
    """At the least memory limit, /tmp and /dev/shm hold sandbox.tmpfs_bytes (256 MiB) each: a
    cell that writes more gets ENOSPC, and the kernel goes on."""
    fill = (
        "import errno, os\n"
        "chunk = b'x' * (64 * 1024**2)\n"
        "try:\n"
        "    for i in range(8):\n"
        f"        with open(os.path.join({where!r}, f'fill{{i}}'), 'wb') as f:\n"
        "            f.write(chunk)\n"
        "    print('wrote 512 MiB')\n"
        "except OSError as error:\n"
        "    print(errno.errorcode[error.errno])\n"
        "    raise\n"
    )
    made = runner.KernelSession(
        copy=copy,
        zygote=zygote if forked else None,
        memory_bytes=runner.MIN_MEMORY,
        timeout=60,
    )
    with made if not forked else _launched(made) as session:
        outcome = session.run(fill)
        assert outcome.status == "error", _everything_said(outcome)
        assert outcome.outputs[0]["text"].strip() == errno.errorcode[errno.ENOSPC]
        after = session.run(f"import shutil; print(shutil.disk_usage({where!r}).total)")
        assert after.status == "ok"
        assert int(after.outputs[0]["text"]) <= 256 * 1024**2
    assert sandbox.tmpfs_bytes(runner.MIN_MEMORY) == 256 * 1024**2


class _launched:
    """A forked session, launched and begun, closed on exit."""

    def __init__(self, session):
        self.session = session

    def __enter__(self):
        self.session.launch()
        self.session.begin()
        return self.session

    def __exit__(self, *exc):
        self.session.close()

"""autograder.runner: a kernel per submission, what a cell's outcome says, its time limit, the
replay after a timeout or a crash, and what is left when the session ends.

The tests marked slow start Jupyter kernels (outside the sandbox, which tests/test_sandbox.py
covers): one shared by the module, and one more for a second submission.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from autograder import runner, wire
from autograder.runner import DEFAULT_MEMORY, GradingKernelManager, KernelSession

TIMEOUT = 3  # seconds per cell: short, since two tests wait for it
# the module's tests share one kernel, so they run on one worker
pytestmark = pytest.mark.xdist_group("runner")

SHOW_PAYLOAD = "from IPython.display import display\ndisplay({{{mime!r}: {payload!r}}}, raw=True)"


def _show(payload) -> str:
    """A cell that displays ``payload`` the way the grader's probe does."""
    return SHOW_PAYLOAD.format(mime=wire.MIME, payload=payload)


def _kernel_pid(session: KernelSession) -> int:
    pid = session.kernel_pid()  # its local process: the kernel's Popen, or the forked kernel's
    assert pid is not None, "the kernel has no local process"
    return pid


def _gone(pid: int, wait: float = 10.0) -> bool:
    """Whether process ``pid`` ends (or is a zombie) within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """A stand-in for the grading copy: one module for the kernel to import."""
    root = tmp_path_factory.mktemp("copy")
    (root / "course_module.py").write_text("VALUE = 42\n")
    return root


@pytest.fixture(scope="module")
def session(copy):
    with KernelSession(
        copy=copy,
        sandboxed=False,
        timeout=TIMEOUT,
        env={"AUTOGRADER_SEED": "17"},
        files={"../data.txt": b"hello"},
    ) as session:
        yield session


# --- without a kernel -------------------------------------------------------------------------


def test_the_kernel_command_runs_under_an_address_space_limit():
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit is not installed (util-linux)")
    command = GradingKernelManager(kernel_name="python3", memory_bytes=2**30).format_kernel_cmd()
    assert command[:3] == [shutil.which("prlimit"), f"--as={2**30}", "--"]
    assert "kernelapp.launch_new_instance()" in " ".join(command[3:])  # the kernel itself
    unlimited = GradingKernelManager(kernel_name="python3", memory_bytes=0).format_kernel_cmd()
    assert unlimited == command[3:]


def _message(kind: str, **content) -> dict:
    return {"header": {"msg_type": kind}, "msg_type": kind, "content": content}


def test_outputs_are_kept_as_nbformat_keeps_them_up_to_a_limit(monkeypatch):
    outputs = runner._Outputs()
    outputs.add(_message("stream", name="stdout", text="epoch 1\n"))
    outputs.add(_message("stream", name="stdout", text="epoch 2\n"))
    outputs.add(_message("error", ename="ValueError", evalue="p_drop", traceback=["..."]))
    outputs.add(_message("error", evalue="forged: no ename"))  # ignored, not a crash
    assert [o.output_type for o in outputs.outputs] == ["stream", "error"]
    assert outputs.outputs[0].text == "epoch 1\nepoch 2\n"
    outputs.clear(wait=True)  # as IPython's clear_output(wait=True): on the next output
    assert len(outputs.outputs) == 2
    outputs.add(_message("display_data", data={"text/plain": "frame 2"}, metadata={}))
    assert [o.data["text/plain"] for o in outputs.outputs] == ["frame 2"]
    monkeypatch.setattr(runner, "OUTPUT_LIMIT", 1000)
    for _ in range(100):
        outputs.add(_message("stream", name="stdout", text="x" * 50))
    assert outputs.outputs[-1].text.endswith("[output truncated: over 1000 bytes]\n")
    assert sum(len(str(o)) for o in outputs.outputs) < 2000


# --- one kernel ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_outcome_has_the_cells_outputs_but_not_the_probes_payload(session):
    outcome = session.run(
        "print('hello')\n" + _show({"observed": 1}) + "\nfrom IPython.display import Markdown\n"
        "display(Markdown('*shown*'))\n6 * 7",
        remember=False,
    )
    assert outcome.payload == {"observed": 1}
    kinds = [output.output_type for output in outcome.outputs]
    assert kinds == ["stream", "display_data", "execute_result"]
    assert outcome.outputs[-1].data["text/plain"] == "42"
    failed = session.run("print('before'); 1 / 0", remember=False)
    assert [o.output_type for o in failed.outputs] == ["stream", "error"]
    assert failed.outputs[1].ename == "ZeroDivisionError"


@pytest.mark.slow
def test_cells_share_one_namespace_and_the_kernel_its_folder_files_and_course(session):
    assert session.run("answer = 6 * 7").status == "ok"
    checks = (
        "import os, course_module\n"
        "assert answer == 42 and course_module.VALUE == 42\n"
        "assert open('data.txt').read() == 'hello'\n"  # put in the folder, not next to it
        f"assert os.getcwd() == {str(session.workdir)!r}\n"
        "assert os.environ['AUTOGRADER_SEED'] == '17'\n"
        "assert os.environ['MPLBACKEND'] == 'Agg'\n"
    )
    assert session.run(checks).status == "ok"


@pytest.mark.slow
def test_a_cell_that_raises_reports_its_first_error_and_the_kernel_goes_on(session):
    outcome = session.run("marker_before_error = 1\n1 / 0")
    assert (outcome.status, outcome.error) == ("error", "ZeroDivisionError: division by zero")
    assert session.run("assert marker_before_error == 1").status == "ok"
    failed = session.run("assert False, 'a message'", remember=False)
    assert (failed.status, failed.error) == ("error", "AssertionError: a message")


@pytest.mark.slow
def test_a_cell_that_asks_for_input_fails_instead_of_waiting(session):
    outcome = session.run("input('your name? ')", remember=False)
    assert outcome.status == "error" and "StdinNotImplementedError" in outcome.error


@pytest.mark.slow
def test_the_payload_a_cell_displays_is_captured_and_nothing_else(session):
    shown = session.run(
        f"print('text')\n{_show({'observed': [1, 2]})}\n"
        "display({'text/plain': 'not a payload'}, raw=True)"
    )
    assert (shown.status, shown.payload) == ("ok", {"observed": [1, 2]})
    assert session.run("print('no payload')").payload is None  # nothing left from the last cell
    # the grader's probe displays after the student's function returns: the last one counts
    last = session.run(f"{_show({'observed': 'forged'})}\n{_show({'observed': 'probed'})}")
    assert last.payload == {"observed": "probed"}
    raised = session.run(f"{_show({'failure': 'partial'})}\nraise ValueError('late')")
    assert (raised.status, raised.error, raised.payload) == (
        "error",
        "ValueError: late",
        {"failure": "partial"},
    )


@pytest.mark.slow
def test_a_cell_that_runs_too_long_times_out_and_a_new_kernel_replays_the_cells_before(session):
    session.run("replayed_after_timeout = 'kept'")
    old = _kernel_pid(session)
    started = time.monotonic()
    outcome = session.run("import time\ntime.sleep(600)")
    assert (outcome.status, outcome.error) == ("timeout", f"the cell ran longer than {TIMEOUT} s")
    assert time.monotonic() - started < TIMEOUT + 30  # the limit, then a restart and replay
    assert _kernel_pid(session) != old and _gone(old)
    # the timed-out cell is not replayed (it would time out again), what came before is
    assert session.run("assert replayed_after_timeout == 'kept'").status == "ok"
    assert session.run(_show({"observed": 1})).payload == {"observed": 1}


@pytest.mark.slow
def test_a_cell_that_kills_its_kernel_costs_only_itself(session):
    session.run("counter = 0")
    session.run("counter += 1", remember=False)  # as the grader runs its probes
    outcome = session.run("import os\nos._exit(3)")
    assert outcome.status == "dead" and "the kernel died" in outcome.error
    assert session.run("assert counter == 0, counter").status == "ok"


@pytest.mark.slow
def test_after_a_few_restarts_nothing_more_runs_so_replays_cannot_pile_up(copy, tmp_path):
    """Each timeout or crash starts the kernel again and runs the cells before it again: a
    notebook of cells that never end, after one that counts its runs, would otherwise cost as
    many replays as it has such cells (and a replay of cells that nearly reach the limit, that
    many limits each time)."""
    count = tmp_path / "runs"
    hangs = runner.MAX_RESTARTS + 3
    with KernelSession(copy=copy, sandboxed=False, timeout=1) as session:
        assert session.run(f"open({str(count)!r}, 'a').write('x')").status == "ok"
        outcomes = [session.run("while True: pass") for _ in range(hangs)]
        after = session.run("1 + 1")
    statuses = [outcome.status for outcome in outcomes]
    assert statuses == ["timeout"] * (runner.MAX_RESTARTS + 1) + ["dead"] * 2, statuses
    assert after.status == "dead" and "nothing after that was run" in after.error
    assert outcomes[-1].error == after.error
    # the first cell ran once, then once in each replay
    assert count.read_text() == "x" * (1 + runner.MAX_RESTARTS)


@pytest.mark.slow
def test_an_allocation_beyond_the_memory_limit_is_a_memory_error(session):
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit is not installed (util-linux): the kernel would get the memory")
    limit = session.run(
        f"import resource\nassert resource.getrlimit(resource.RLIMIT_AS)[0] == {DEFAULT_MEMORY}",
        remember=False,
    )
    assert limit.status == "ok", limit.error
    session.run("before_the_memory_error = 1")
    outcome = session.run(f"block = bytearray({2 * DEFAULT_MEMORY})", remember=False)
    assert outcome.status == "error" and outcome.error.startswith("MemoryError")
    assert session.run("assert before_the_memory_error == 1").status == "ok"


# --- a second submission ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_next_submission_gets_a_fresh_kernel_and_nothing_is_left_after_one(session, copy):
    session.run("left_by_the_last_submission = True")
    with KernelSession(copy=copy, sandboxed=False, timeout=TIMEOUT) as fresh:
        assert _kernel_pid(fresh) != _kernel_pid(session)
        outcome = fresh.run("left_by_the_last_submission")
        assert (outcome.status, outcome.error) == (
            "error",
            "NameError: name 'left_by_the_last_submission' is not defined",
        )
        # a process the student's code starts: shutting the kernel down alone would leave it
        started = fresh.run(
            "import subprocess\n"
            "child = subprocess.Popen(['sleep', '600'])\n"
            "open('child.pid', 'w').write(str(child.pid))"
        )
        assert started.status == "ok", started.error
        kernel, child = _kernel_pid(fresh), int((fresh.workdir / "child.pid").read_text())
        scratch = fresh.scratch
    assert _gone(kernel) and _gone(child)
    assert not scratch.exists()
    assert os.path.isdir(session.workdir)  # the other session is untouched
    assert session.run("assert left_by_the_last_submission").status == "ok"


class _SlowStartingKernel:
    """A kernel client and manager whose kernel answers only the ``answered``-th question whether
    it is ready, on a clock that moves only while the grader waits for a message."""

    def __init__(self, answered: int):
        self.now, self.answered, self.asked, self.waits = 0.0, answered, [], []

    def kernel_info(self):
        self.asked.append(f"ask-{len(self.asked)}")
        return self.asked[-1]

    def get_iopub_msg(self, timeout):
        self.waits.append(round(timeout, 6))
        if len(self.asked) < self.answered:
            self.now += timeout
            raise runner.queue.Empty
        return {
            "parent_header": {"msg_id": self.asked[-1]},
            "msg_type": "status",
            "content": {"execution_state": "idle"},
        }

    def is_alive(self):
        return True


def test_a_starting_kernel_is_asked_again_soon_then_less_and_less_often(monkeypatch):
    """Its first status can be lost while its IOPub channel connects: the grader asks again after
    0.05 s, then after twice as long each time, up to once a second (not a timing: the waits
    are the timeouts the grader asks for, on a clock that moves only while it waits)."""
    kernel = _SlowStartingKernel(answered=8)
    monkeypatch.setattr(runner.time, "monotonic", lambda: kernel.now)
    session = KernelSession.__new__(KernelSession)
    session.km, session.kc = kernel, kernel  # pyright: ignore[reportAttributeAccessIssue]
    session._wait_ready()
    assert kernel.waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert len(kernel.asked) == 8

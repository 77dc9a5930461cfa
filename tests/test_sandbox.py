"""autograder.sandbox: what a grading kernel sees, and what happens where it cannot be had.

The tests marked slow start bubblewrap or a grading kernel.
"""

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.grading import grade_notebook
from autograder.grading_copy import grading_copy
from autograder.runner import MIN_MEMORY, KernelSession
from grading_helpers import ROOT, autograded_points, submission, write

NB = "03_inverted_dropout"

LOOK_AROUND = textwrap.dedent("""
    import json, os, socket, sys
    def reachable(host, port):
        try:
            socket.create_connection((host, port), timeout=2).close()
            return True
        except OSError:
            return False
    def forks():
        children = []
        try:
            for _ in range(500):
                pid = os.fork()
                if pid == 0:
                    import time
                    time.sleep(30)
                    os._exit(0)
                children.append(pid)
        except OSError:
            pass
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        return len(children)
    seen = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(),
            "files": sorted(os.listdir(".")), "root": sorted(os.listdir("/")),
            "repository": sorted(os.listdir(@ROOT@)) if os.path.isdir(@ROOT@) else [],
            "home": os.path.exists(os.path.expanduser("~root/.cache")),
            "course_lib": __import__("course_lib").__file__,
            "environment": sorted(os.environ), "forks": forks(),
            "network": reachable("127.0.0.1", @PORT@)}
    print(json.dumps(seen))
""")


def _look_around(port: int) -> dict:
    """What LOOK_AROUND prints from inside a sandboxed kernel."""
    source = LOOK_AROUND.replace("@ROOT@", repr(str(ROOT))).replace("@PORT@", str(port))
    with KernelSession(copy=grading_copy(NB), files={f"{NB}.ipynb": b"{}"}) as session:
        kc = session.kc
        assert kc is not None
        message = kc.execute(source)
        text = ""
        while True:
            reply = kc.get_iopub_msg(timeout=60)
            if reply["parent_header"].get("msg_id") != message:
                continue
            if reply["msg_type"] == "stream":
                text += reply["content"]["text"]
            if reply["msg_type"] == "error":
                raise AssertionError(reply["content"]["evalue"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
        scratch = session.scratch
    assert not scratch.exists()
    return json.loads(text)


@pytest.mark.slow
def test_the_kernel_sees_its_scratch_folder_and_the_grading_copy_only():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        seen = _look_around(server.getsockname()[1])
    assert seen["files"] == [f"{NB}.ipynb"]
    # the repository's folder exists only where the environment inside it is bound (.venv)
    assert set(seen["repository"]) <= {".venv"} and not seen["home"]
    assert seen["course_lib"].startswith(sandbox.COPY_MOUNT + "/")
    assert not seen["network"]
    assert seen["pid"] < 10  # its own PID namespace
    assert not {"DATABASE_URL", "JUPYTERHUB_API_TOKEN"} & set(seen["environment"])
    assert set(seen["environment"]) <= {
        "PATH",
        "HOME",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
        "MPLBACKEND",
        "MPLCONFIGDIR",
        "IPYTHONDIR",
        "TMPDIR",
        "LANG",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "AUTOGRADER_SEED",
        "PWD",
        "JPY_SESSION_NAME",
        "PYDEVD_USE_FRAME_EVAL",
        # set by ipykernel for its own output
        "TERM",
        "PAGER",
        "GIT_PAGER",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
    }
    if sandbox.running_as_root():
        assert seen["uid"] >= sandbox.UID_BASE
    assert 0 < seen["forks"] < sandbox.DEFAULT_NPROC


def test_wrap_binds_no_repository_and_limits_the_kernel(tmp_path):
    box = sandbox.Sandbox(tmp_path, tmp_path / "copy", memory_bytes=2**31, uid=None)
    command = box.wrap(["python", "-m", "ipykernel_launcher"], {"PATH": "/usr/bin"})
    for flag in (
        "--die-with-parent",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-user",
        "--clearenv",
        "--new-session",
    ):
        assert flag in command
    assert f"--as={2**31}" in command and f"--nproc={sandbox.DEFAULT_NPROC}" in command
    binds = [command[i + 1] for i, arg in enumerate(command) if arg in ("--bind", "--ro-bind")]
    assert str(ROOT) not in binds and "/etc" not in binds and "/" not in binds
    assert str(tmp_path / "copy") in binds and command[-3:] == [
        "python",
        "-m",
        "ipykernel_launcher",
    ]


@pytest.mark.slow
def test_an_environment_under_tmp_stays_visible(tmp_path, monkeypatch):
    """The private /tmp is mounted before the Python trees, so a virtual environment that lives
    under /tmp (a CI checkout, say) is not hidden by it."""
    environment = tmp_path / "env"
    environment.mkdir()
    (environment / "marker").write_text("visible")
    assert str(environment).startswith("/tmp/")
    trees = sandbox.python_trees()
    monkeypatch.setattr(sandbox, "python_trees", lambda: [*trees, str(environment)])
    box = sandbox.Sandbox(tmp_path / "scratch", tmp_path, memory_bytes=2**31, uid=sandbox.new_uid())
    box.prepare()
    try:
        run = subprocess.run(
            box.wrap(["cat", str(environment / "marker")], {"PATH": "/usr/bin"}),
            capture_output=True,
            text=True,
        )
    finally:
        box.release()
    assert run.stdout == "visible", run.stderr


@pytest.mark.slow
def test_each_sandbox_gets_control_groups_of_its_own_where_the_machine_allows(tmp_path):
    box = sandbox.Sandbox(tmp_path / "scratch", tmp_path, memory_bytes=2**31, uid=sandbox.new_uid())
    box.prepare()
    if not box.cgroups:
        pytest.skip("no writable cgroup v1 cpu or pids hierarchy on this machine")
    assert {group.parent.name for group in box.cgroups} == {"cpu", "pids"}
    pids = next(group for group in box.cgroups if group.parent.name == "pids")
    assert (pids / "pids.max").read_text().strip() == str(sandbox.DEFAULT_NPROC)
    command = box.wrap(["sh", "-c", "sleep 1 & sleep 1 & wait"], {"PATH": "/usr/bin:/bin"})
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 10
        while int((pids / "pids.current").read_text()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert int((pids / "pids.current").read_text()) >= 3  # sh, two sleeps (and bwrap)
    finally:
        process.wait(timeout=30)
    box.release()
    assert not any(group.exists() for group in (box.cgroups or [pids]))


FONTS_SEEN = textwrap.dedent("""
    import json, os
    import matplotlib.font_manager as fm
    cache = os.environ["MPLCONFIGDIR"]
    try:
        open(os.path.join(cache, os.listdir(cache)[0]), "a").close()
        writable = True
    except OSError:
        writable = False
    print(json.dumps({
        "read": sorted(font.fname for font in fm.fontManager.ttflist),
        "scanned": sorted(font.fname for font in fm.FontManager().ttflist),
        "files": os.listdir(cache), "writable": writable,
        "folder_writable": os.access(cache, os.W_OK),
    }))
""")


@pytest.mark.slow
def test_the_kernel_reads_a_prebuilt_font_list_it_cannot_change(tmp_path):
    fontlist = sandbox.matplotlib_fontlist()
    assert fontlist is not None and fontlist.name.startswith("fontlist-")
    before = fontlist.read_bytes()
    box = sandbox.Sandbox(
        tmp_path / "scratch", tmp_path, memory_bytes=2**32, uid=sandbox.new_uid(), fontlist=fontlist
    )
    box.prepare()
    try:
        run = subprocess.run(
            box.wrap([sys.executable, "-c", FONTS_SEEN], box.environment({})),
            capture_output=True,
            text=True,
        )
    finally:
        box.release()
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    # what the kernel read is what matplotlib finds scanning the fonts inside the sandbox
    assert seen["read"] and seen["read"] == seen["scanned"]
    assert seen["files"] == [fontlist.name]
    assert not seen["writable"] and seen["folder_writable"]
    assert fontlist.read_bytes() == before


def test_an_installed_course_inside_a_bound_tree_is_hidden():
    hidden = sandbox._hidden_packages([str(ROOT)])
    assert hidden == ["--tmpfs", str(ROOT / "course_lib"), "--tmpfs", str(ROOT / "autograder")]
    assert sandbox._hidden_packages(["/usr"]) == []


@pytest.mark.slow
def test_grading_in_a_user_namespace_gives_the_same_marks(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "new_uid", lambda: None)
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    graded = grade_notebook(path, seed=11)
    full = sum(autograded_points(NB).values())
    assert graded["sandbox"] is True and graded["score"] == graded["max_score"] == full


@pytest.mark.slow
def test_check_refuses_without_bubblewrap_unless_told_and_says_why(tmp_path):
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    env = dict(os.environ, PATH=str(Path(sys.executable).parent))
    refused = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert "bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    allowed = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path), "--seed", "3", "--no-sandbox"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert allowed.returncode == 0, allowed.stderr
    graded = json.loads(allowed.stdout)
    assert graded["sandbox"] is False and graded["score"] == sum(autograded_points(NB).values())


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "01_intuition",
        "02_bernoulli_binomial",
        NB,
        "04_backprop",
        "05_variants",
        "06_mc_dropout",
        "07_capstone",
    ],
)
def test_every_instructor_solution_keeps_full_marks_in_the_sandbox(name, tmp_path):
    """With the least memory ``--memory`` takes, which is that least for this reason."""
    path = write(submission(name, correct=True), tmp_path / f"{name}.ipynb")
    graded = grade_notebook(path, seed=5, memory_bytes=MIN_MEMORY)
    failed = [
        (test["id"], test["message"]) for test in graded["tests"] if test["status"] != "passed"
    ]
    assert not failed and graded["score"] == graded["max_score"] > 0


def test_groups_not_left_yet_by_their_killed_processes_are_removed_later():
    """A forked kernel's grader does not wait for its killed processes to leave their groups:
    the next groups it makes remove those they have left, and a closing pool waits for the
    rest."""
    if not os.access(sandbox.CGROUP_ROOT / "pids", os.W_OK):
        pytest.skip("no writable cgroup v1 pids hierarchy on this machine")
    names = [f"{sandbox.CGROUP_PREFIX}{os.getpid()}-later{i}" for i in range(2)]
    processes: list[subprocess.Popen] = []
    try:
        made = []
        for name in names:
            groups = sandbox.make_cgroups(name, 64)
            assert groups
            processes.append(subprocess.Popen(["sleep", "600"]))
            for group in groups:
                (group / "cgroup.procs").write_text(str(processes[-1].pid))
            sandbox.remove_cgroups_named(name, wait=False)
            assert all(group.exists() for group in groups)  # its process is still in them
            assert set(groups) <= sandbox._leaving
            made.append(groups)
        processes[0].kill()
        processes[0].wait()
        sandbox.make_cgroups(names[0] + "-next", 64)
        sandbox.remove_cgroups_named(names[0] + "-next")
        assert not any(group.exists() for group in made[0])
        assert not set(made[0]) & sandbox._leaving
        assert all(group.exists() for group in made[1])
        threading.Timer(0.3, processes[1].kill).start()
        sandbox.remove_leaving_cgroups()  # waits for it
        assert not any(group.exists() for group in made[1]) and not sandbox._leaving
    finally:
        for process in processes:
            process.kill()
            process.wait()
        for name in names:
            sandbox.remove_cgroups_named(name)


@pytest.mark.slow
def test_control_groups_are_removed_even_with_a_process_left_or_a_grader_killed(tmp_path):
    hierarchy = sandbox.CGROUP_ROOT / "pids"
    if not os.access(hierarchy, os.W_OK):
        pytest.skip("no writable cgroup v1 pids hierarchy on this machine")
    # a process that outlived its kernel, still in its sandbox's group: killed, group removed
    box = sandbox.Sandbox(tmp_path / "scratch", tmp_path, memory_bytes=2**31, uid=sandbox.new_uid())
    box.prepare()
    group = next(group for group in box.cgroups if group.parent.name == "pids")
    command = box.wrap(["sleep", "600"], {"PATH": "/usr/bin:/bin"})
    process = subprocess.Popen(command, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not (group / "cgroup.procs").read_text().split() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (group / "cgroup.procs").read_text().split()
        assert sandbox.remove_cgroup(group, wait=0.5)
        assert not group.exists()
    finally:
        process.kill()
        process.wait()
        box.release()
    # the groups of a grader that was killed (its PID is gone) are removed by the next one
    finished = subprocess.Popen(["true"])
    finished.wait()
    stale = hierarchy / f"{sandbox.CGROUP_PREFIX}{finished.pid}-deadbeef"
    stale.mkdir()
    sandbox.remove_stale_cgroups.cache_clear()
    assert stale in sandbox.remove_stale_cgroups() and not stale.exists()
    live = hierarchy / f"{sandbox.CGROUP_PREFIX}{os.getpid()}-deadbeef"
    live.mkdir()
    try:
        sandbox.remove_stale_cgroups.cache_clear()
        assert live not in sandbox.remove_stale_cgroups() and live.exists()
    finally:
        live.rmdir()

"""A hostile class, graded in one sandboxed run beside honest students.

Every submission below tries one route to something a grading kernel must not reach: course_lib's
reference (by import, importlib, a file path, exec of its source, a thread, a lesson wrapper, a
search of every function), the instructor notebook, the gradebook, the seed key, another
student's file, the network, files outside its scratch folder, the grader's processes; or it
switches off or forges what the grader runs in the kernel. Each scores no more than its honest
score (what its honest cells earn), honest students score what they score alone, the gradebook
is intact, nothing was written or connected to, and no process is left.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from autograder import exercises, wire
from autograder.grading import default_seed, grade_notebook, seed_key
from grading_helpers import ROOT, solution_sources, submission, write
from test_classroom import BINOMIAL_FORWARD, BOOSTED_LR, grade_command
from test_grading import CORRECT_LR, FULL, MONKEYPATCH_CHECKS, NO_SCALING, POINTS

NB3, NB7 = "03_inverted_dropout", "07_capstone"
FORWARD, LR, SWEEP = (
    "dropout_forward_solution",
    "equivalent_standard_lr_solution",
    "sweep_p_drop_solution",
)
GONE = "does not exist while notebook {} is graded"
TIMEOUT = 30  # per cell; the fork bomb holds its kernel this long
# the class is graded once, by one worker, for all the tests of this module, in sandboxed kernels
pytestmark = [pytest.mark.xdist_group("hostile"), pytest.mark.slow]

# --- routes to the reference ---------------------------------------------------------------

# Tries each way of making a dropout_forward and keeps the first that behaves like inverted
# dropout; if none does, the solution cell fails and dropout_forward stays undefined.
FIRST_WORKING = """
import numpy as np, signal

def _behaves(fn):
    out = np.asarray(fn(np.ones((8, 8)), 0.5, rng=np.random.default_rng(0))[0])
    return set(np.unique(out).tolist()) <= {0.0, 2.0} and 0 < int((out != 0).sum()) < 64

def _first_working(makers):
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError()))
    for make in makers:
        try:
            signal.alarm(3)
            fn = make()
            if _behaves(fn):
                return fn
        except BaseException:
            pass
        finally:
            signal.alarm(0)
    raise RuntimeError("no route to the reference worked")
"""

CANDIDATE_FILES = """
import glob, os, sys, course_lib

def _files(name):
    found = [os.path.join(os.path.dirname(course_lib.__file__), name), "@ROOT@/course_lib/" + name]
    for entry in sys.path:
        found += glob.glob(os.path.join(entry, "course_lib", name))
    for depth in range(1, 5):
        found += glob.glob("/" + "*/" * depth + "course_lib/" + name)
    return list(dict.fromkeys(found))
"""

REFERENCE_ROUTES = {
    "ref_import": "from course_lib.dropout import dropout_forward\n",
    "ref_importlib": """import importlib
def dropout_forward(x, p_drop, *, rng, training=True):
    module = importlib.import_module("course_" + "lib.drop" + "out")
    return getattr(module, "dropout_" + "forward")(x, p_drop, rng=rng, training=training)
""",
    "ref_profiler_off": """import sys
sys.setprofile = lambda *a, **k: None
sys.settrace = lambda *a, **k: None
def dropout_forward(x, p_drop, *, rng, training=True):
    module = __import__("importlib").import_module("course_lib.dropout")
    return module.dropout_forward(x, p_drop, rng=rng, training=training)
""",
    "ref_thread": """import importlib, threading
def dropout_forward(x, p_drop, *, rng, training=True):
    box = {}
    def work():
        try:
            box["out"] = importlib.import_module("course_lib.dropout").dropout_forward(
                x, p_drop, rng=rng, training=training)
        except Exception as error:
            box["error"] = error
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["out"]
""",
    "ref_lesson_wrapper": """from course_lib import nn
def dropout_forward(x, p_drop, *, rng, training=True):
    forward, _ = nn._DROPOUT_STYLES["inverted"]
    return forward(x, p_drop, rng=rng, training=training)
""",
    "ref_file_path": FIRST_WORKING
    + CANDIDATE_FILES
    + """
import importlib.util
def _loader(path):
    def make():
        spec = importlib.util.spec_from_file_location("course_lib.dropout_copy", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.dropout_forward
    return make
dropout_forward = _first_working([_loader(path) for path in _files("dropout.py")])
""",
    "ref_exec_source": FIRST_WORKING
    + CANDIDATE_FILES
    + """
def _executor(path):
    def make():
        namespace = {"__name__": "course_lib.dropout", "__package__": "course_lib"}
        with open(path) as stream:
            exec(compile(stream.read(), path, "exec"), namespace)
        return namespace["dropout_forward"]
    return make
dropout_forward = _first_working([_executor(path) for path in _files("dropout.py")])
""",
    "ref_any_function": FIRST_WORKING
    + """
import importlib, pkgutil, course_lib
def _every_function():
    makers = []
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        try:
            module = importlib.import_module(info.name)
        except Exception:
            continue
        for name, value in vars(module).items():
            if callable(value) and not name.startswith(("draw_", "main")):
                makers.append(lambda value=value: value)
                # another notebook's layer standing in: one "channel" per entry
                makers.append(lambda value=value: lambda x, p, *, rng, training=True: (
                    value(x.reshape(-1, 1, 1, 1), p, rng=rng, training=training)[0]
                    .reshape(x.shape), None))
                # standard dropout, rescaled
                makers.append(lambda value=value: lambda x, p, *, rng, training=True: (
                    value(x, p, rng=rng, training=training)[0] / (1 - p), None))
    return makers
dropout_forward = _first_working(_every_function())
""",
}

SWEEP_ROUTES = {
    "ref7_import": "from course_lib.experiments import sweep_p_drop\n",
    "ref7_lesson": """from course_lib.lessons import nb07_capstone as lesson
def sweep_p_drop(p_drops, **settings):
    return lesson.sweep_p_drop(p_drops, **settings)
""",
    "ref7_sweep_errors": """from course_lib import experiments
def sweep_p_drop(p_drops, **settings):
    return experiments.sweep_errors(p_drops, **settings)["test"]
""",
    "ref7_run_digits": """import numpy as np
from course_lib.experiments import run_digits, hidden_widths
def sweep_p_drop(p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150,
                 keep_product=False):
    return np.array([run_digits([0.0] + [p] * len(hidden), seed=seed, n_train=n_train,
                                hidden=hidden_widths(hidden, p, keep_product), epochs=epochs)
                     .test_error for p in p_drops])
""",
    "ref7_train_run": """import numpy as np
from course_lib.experiments import train_run
from course_lib.lessons.nb07_capstone import make_config
def sweep_p_drop(p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150,
                 keep_product=False):
    return np.array([train_run(make_config(
        p, hidden=[round(n / (1 - p)) if keep_product else n for n in hidden],
        n_train=n_train, epochs=epochs), seed)["test_error"] for p in p_drops])
""",
    "ref7_exec_source": CANDIDATE_FILES
    + """
def _load():
    for path in _files("experiments.py"):
        namespace = {"__name__": "course_lib.experiments", "__package__": "course_lib"}
        try:
            with open(path) as stream:
                exec(compile(stream.read(), path, "exec"), namespace)
            namespace["sweep_p_drop"]([0.0], seed=0, n_train=50, hidden=(4,), epochs=1)
            return namespace["sweep_p_drop"]
        except Exception:
            continue
    raise RuntimeError("no copy of experiments.py worked")
sweep_p_drop = _load()
""",
    "read7_instructor": """import json
_cells = json.load(open("@ROOT@/autograder/course/source/07_capstone/07_capstone.ipynb"))["cells"]
exec("".join(next(cell["source"] for cell in _cells if cell["metadata"].get("nbgrader", {})
                  .get("grade_id") == "sweep_p_drop_solution")))
""",
}

# --- reading, writing, connecting, processes ------------------------------------------------

EXEC_SOLUTION_OF = """import json
def _solution(path):
    cells = json.load(open(path))["cells"]
    return "".join(next(cell["source"] for cell in cells
                        if cell["metadata"].get("nbgrader", {}).get("grade_id")
                        == "dropout_forward_solution"))
try:
    exec(_solution("@PATH@"))
except Exception as error:
    _why = repr(error)
    def dropout_forward(x, p_drop, *, rng, training=True):
        raise RuntimeError("could not read it: " + _why)
"""

LEAK = """_seen = []
for _path in @PATHS@:
    try:
        with open(_path, "rb") as stream:
            _seen.append(repr(stream.read(300)))
    except Exception as error:
        _seen.append(type(error).__name__)
    try:
        with open(_path, "r+b") as stream:
            stream.write(bytes(4096))
        _seen.append("overwrote " + _path)
    except Exception as error:
        _seen.append(type(error).__name__)
def dropout_forward(x, p_drop, *, rng, training=True):
    raise RuntimeError(" | ".join(_seen))
"""

WRITE_OUTSIDE = """_done = []
for _path in @PATHS@:
    try:
        with open(_path, "w") as stream:
            stream.write("@MARKER@")
        _done.append("wrote " + _path)
    except Exception as error:
        _done.append(type(error).__name__)
def dropout_forward(x, p_drop, *, rng, training=True):
    raise RuntimeError(" | ".join(_done))
"""

CONNECT = """import socket
_done = []
for _host in @HOSTS@:
    try:
        with socket.create_connection((_host, @PORT@), timeout=3) as connection:
            connection.sendall(b"@MARKER@")
        _done.append("connected to " + _host)
    except Exception as error:
        _done.append(_host + ": " + type(error).__name__)
try:
    socket.getaddrinfo("pypi.org", 443)
    _done.append("resolved pypi.org")
except Exception as error:
    _done.append("dns: " + type(error).__name__)
def dropout_forward(x, p_drop, *, rng, training=True):
    raise RuntimeError(" | ".join(_done))
"""

FORK_BOMB = """import os
while True:
    try:
        if os.fork() == 0:
            os.setsid()
    except OSError:
        pass
"""

LINGER = (
    """import os, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)", "@MARKER@"],
                 start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(900)",
                                  "@MARKER@"])
    os._exit(0)
"""
    + NO_SCALING
)

KILL_EVERYTHING = """import os, signal
def dropout_forward(x, p_drop, *, rng, training=True):
    os.kill(-1, signal.SIGKILL)
"""

# --- forging what runs in the kernel (with a wrong dropout_forward) -------------------------

FORGERIES = {
    "forge_checks": MONKEYPATCH_CHECKS,
    "forge_display": NO_SCALING
    + """
_session = get_ipython().display_pub.session
_real_send = _session.send
def _forged(stream, message, *args, **kwargs):
    data = message.get("content", {}).get("data", {}) if isinstance(message, dict) else {}
    for key in [key for key in data if "dropout-course" in key]:
        data[key], kwargs["buffers"] = {"observed": "{}", "reference": False}, []
    return _real_send(stream, message, *args, **kwargs)
_session.send = _forged
""",
    "forge_harness": NO_SCALING
    + """
import autograder.harness as _harness
_harness.probe = lambda name, fn, seed, hidden: {}
""",
    "forge_exercises": NO_SCALING
    + """
import dataclasses, numpy as np, autograder.exercises as _exercises
_real_get = _exercises.get
def _fake_probe(fn, seed, hidden):
    return {f"train_{i}": np.zeros((200, 100)) for i in range(6)}
_exercises.get = lambda name: dataclasses.replace(_real_get(name), probe=_fake_probe)
""",
    "forge_numpy": NO_SCALING
    + """
import numpy as np
np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
_real_rng = np.random.default_rng
np.random.default_rng = lambda *a, **k: _real_rng(0)
""",
}

# the replayed observations of equivalent_standard_lr, recorded at home with course_lib's
# reference for seeds a student can know: the public self-check seed and guesses of the hidden
REPLAY = """
import autograder.harness as _harness
_RECORDED = @RECORDED@
_real_probe = _harness.probe
def _replay(name, fn, seed, hidden):
    if name == "equivalent_standard_lr":
        return {"observed": _RECORDED.get(str(seed), _RECORDED["guess"])}
    return _real_probe(name, fn, seed, hidden)
_harness.probe = _replay
"""


def _recorded_lr_observations(*known_seeds: int) -> str:
    """The reference's observations for the public self-check seed, for ``known_seeds`` and
    for a guess, as a replay embeds them."""
    from course_lib.analysis import equivalent_standard_lr

    exercise = exercises.get("equivalent_standard_lr")
    recorded = {
        str(exercises.SELF_CHECK_SEED): wire.encode(
            exercise.probe(equivalent_standard_lr, exercises.SELF_CHECK_SEED, False)
        )
    }
    for seed in known_seeds:
        recorded[str(seed)] = wire.encode(exercise.probe(equivalent_standard_lr, seed, True))
    recorded["guess"] = wire.encode(exercise.probe(equivalent_standard_lr, 1129, True))
    return repr(recorded)


# a notebook the student "forge_leaked_seed" handed in before, whose seed its feedback showed
EARLIER_FILE = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def _host_addresses() -> list[str]:
    """127.0.0.1 and the address this machine would leave by (no packet is sent)."""
    addresses = {"127.0.0.1"}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            addresses.add(probe.getsockname()[0])
        except OSError:
            pass
    return sorted(addresses)


class Listener:
    """A TCP server on every interface that records whatever connects."""

    def __init__(self):
        self.server = socket.create_server(("0.0.0.0", 0))
        self.port = self.server.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, address = self.server.accept()
            except OSError:
                return
            self.connections.append(address)
            connection.close()

    def close(self):
        self.server.close()


def _replace(template: str, **values) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", str(value))
    return template


def build_class(root: Path, listener: Listener, marker: str):
    """SUBMISSIONS, and for every student: (notebook, honest score ceiling, kind)."""
    submissions, course, out = root / "submitted", root / "course", root / "out"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'hostile'\n"
    )
    honest_path = submissions / "h_correct_1" / f"{NB3}.ipynb"
    written = [
        ROOT / f"HACKED-{marker}",
        course / f"HACKED-{marker}",
        out / f"HACKED-{marker}",
        submissions / f"HACKED-{marker}",
        Path("/tmp") / f"HACKED-{marker}",
        Path.home() / f"HACKED-{marker}",
    ]
    secrets = [
        course / "gradebook.db",
        course / ".autograder-seed-key",
        ROOT / "autograder" / "course" / "source" / NB3 / f"{NB3}.ipynb",
    ]
    fill = dict(ROOT=ROOT, MARKER=marker)
    # notebook 03's submissions have every other solution cell filled with the instructor's, so
    # a hostile forward earns at most the rest of the notebook (FULL and POINTS read its source)
    without_forward = FULL - POINTS["dropout_forward"]
    without_lr = FULL - POINTS["equivalent_standard_lr"]
    students: dict[str, tuple[str, dict, float, str]] = {
        "h_correct_1": (NB3, {}, FULL, "honest"),
        "h_correct_2": (NB3, {}, FULL, "honest"),
        "h_binomial": (NB3, {FORWARD: BINOMIAL_FORWARD, LR: CORRECT_LR}, FULL, "honest"),
        "h_no_scaling": (NB3, {FORWARD: NO_SCALING, LR: CORRECT_LR}, without_forward, "honest"),
        "h7_correct": (NB7, {}, 6, "honest"),  # sweep_p_drop 4 + choose_sweep_rate 2
    }
    for name, source in {**REFERENCE_ROUTES, **FORGERIES}.items():
        students[name] = (
            NB3,
            {FORWARD: _replace(source, **fill), LR: CORRECT_LR},
            without_forward,
            "hostile",
        )
    for name, source in SWEEP_ROUTES.items():
        students[name] = (NB7, {SWEEP: _replace(source, **fill)}, 0, "hostile")
    others = {
        "read_instructor": _replace(EXEC_SOLUTION_OF, PATH=secrets[2]),
        "read_classmate": _replace(EXEC_SOLUTION_OF, PATH=honest_path),
        "read_and_overwrite": _replace(LEAK, PATHS=[str(path) for path in secrets]),
        "write_outside": _replace(WRITE_OUTSIDE, PATHS=[str(path) for path in written], **fill),
        "connect": _replace(CONNECT, HOSTS=_host_addresses(), PORT=listener.port, **fill),
        "fork_bomb": FORK_BOMB,
        "linger": _replace(LINGER, **fill),
        "kill_everything": KILL_EVERYTHING,
    }
    for name, source in others.items():
        students[name] = (NB3, {FORWARD: source, LR: CORRECT_LR}, without_forward, "hostile")
    students["forge_replay"] = (
        NB3,
        {LR: BOOSTED_LR + _replace(REPLAY, RECORDED=_recorded_lr_observations())},
        without_lr,
        "hostile",
    )
    # what an earlier file of the student's could show in its feedback (its own seed: its code
    # reads it while it runs), recorded at home and replayed by the next file
    leaked = default_seed("forge_leaked_seed", NB3, seed_key(course), EARLIER_FILE)
    students["forge_leaked_seed"] = (
        NB3,
        {LR: BOOSTED_LR + _replace(REPLAY, RECORDED=_recorded_lr_observations(leaked))},
        without_lr,
        "hostile",
    )
    for student, (notebook, cells, _, kind) in students.items():
        correct = kind == "honest" or notebook == NB3
        filled = {**(solution_sources(notebook) if correct else {}), **cells}
        write(submission(notebook, filled), submissions / student / f"{notebook}.ipynb")
    return submissions, course, out, students, written, secrets


def _processes_left(*markers: str) -> list[str]:
    """Processes whose command line holds a marker (the kernels of the run hold their scratch
    folder's path, and every process they fork inherits it)."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in command for marker in markers):
            left.append(f"{entry.name}: {command[:160]}")
    return left


@pytest.fixture(scope="session")  # once per worker; the group keeps its tests on one
def hostile_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    marker = f"hostile-{uuid.uuid4().hex[:12]}"
    listener = Listener()
    submissions, course, out, students, written, secrets = build_class(root, listener, marker)
    scratch = root / "scratch"
    scratch.mkdir()
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
        TMPDIR=str(scratch),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    run = subprocess.run(
        grade_command(
            submissions, out, course, "--workers", "2", "--timeout", str(TIMEOUT), "--quiet"
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    listener.close()
    assert run.returncode == 0, run.stderr
    results = {
        path.parent.name: json.loads(path.read_text())
        for path in (out / "results").glob("*/*.json")
    }
    yield dict(
        root=root,
        course=course,
        out=out,
        students=students,
        results=results,
        written=written,
        secrets=secrets,
        listener=listener,
        marker=marker,
        scratch=scratch,
    )
    for path in written:
        path.unlink(missing_ok=True)


def test_every_student_was_graded_in_the_sandbox(hostile_class):
    results = hostile_class["results"]
    assert set(results) == set(hostile_class["students"])
    assert all(result["sandbox"] is True for result in results.values())


def test_no_hostile_submission_scores_more_than_its_honest_cells(hostile_class):
    too_high = {
        student: (
            result["score"],
            hostile_class["students"][student][2],
            [test["message"][:200] for test in result["tests"]],
        )
        for student, result in hostile_class["results"].items()
        if result["score"] > hostile_class["students"][student][2]
    }
    assert not too_high


@pytest.mark.parametrize(
    "student",
    ["ref_import", "ref_importlib", "ref_profiler_off", "ref_thread", "ref_lesson_wrapper"],
)
def test_a_reference_reached_directly_fails_naming_the_exercise(hostile_class, student):
    test = hostile_class["results"][student]["tests"][0]
    assert test["id"] == "dropout_forward" and test["status"] == "failed"
    assert "ReferenceUnavailable" in test["message"]
    assert "exercise dropout_forward" in test["message"] and GONE.format(NB3) in test["message"]


@pytest.mark.parametrize(
    "student", ["ref7_import", "ref7_sweep_errors", "ref7_run_digits", "ref7_train_run"]
)
def test_notebook_07s_reference_and_its_wrappers_are_gone(hostile_class, student):
    test = hostile_class["results"][student]["tests"][0]
    assert test["status"] == "failed" and GONE.format(NB7) in test["message"]
    assert "exercise sweep_p_drop" in test["message"]


def test_honest_students_score_what_they_score_alone(hostile_class):
    for student, (notebook, _, expected, kind) in hostile_class["students"].items():
        if kind != "honest":
            continue
        result = hostile_class["results"][student]
        alone = grade_notebook(
            hostile_class["root"] / "submitted" / student / f"{notebook}.ipynb",
            student=student,
            seed=result["seed"],
            timeout=TIMEOUT,
        )
        assert result["score"] == alone["score"] == expected, student
        assert result["tests"] == alone["tests"], student


def test_nothing_secret_reaches_results_or_feedback(hostile_class):
    out, course = hostile_class["out"], hostile_class["course"]
    key = (course / ".autograder-seed-key").read_text().strip()
    instructor_line = "mask = (rng.random(x.shape) < keep_prob) / keep_prob"
    for path in [*out.rglob("*.json"), *out.rglob("*.html"), out / "grades.csv"]:
        text = path.read_text()
        for secret in ("SQLite format", key, instructor_line, "BEGIN SOLUTION"):
            assert secret not in text, (path, secret)
    leak = hostile_class["results"]["read_and_overwrite"]["tests"][0]["message"]
    assert "FileNotFoundError" in leak and "overwrote" not in leak


def test_the_gradebook_is_intact(hostile_class):
    from nbgrader.api import Gradebook

    course = hostile_class["course"]
    with sqlite3.connect(course / "gradebook.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        recorded = {
            (s.student.id, s.assignment.name): s.score
            for notebook in (NB3, NB7)
            for s in gradebook.assignment_submissions(notebook)
        }
    assert recorded == {
        (student, result["notebook"]): result["score"]
        for student, result in hostile_class["results"].items()
    }


def test_nothing_was_written_outside_the_scratch_folder(hostile_class):
    assert [path for path in hostile_class["written"] if path.exists()] == []
    message = hostile_class["results"]["write_outside"]["tests"][0]["message"]
    assert f"wrote /tmp/HACKED-{hostile_class['marker']}" in message  # its own private /tmp


def test_no_connection_left_the_sandbox(hostile_class):
    assert hostile_class["listener"].connections == []
    message = hostile_class["results"]["connect"]["tests"][0]["message"]
    assert "connected" not in message and "resolved" not in message


def test_no_process_is_left_running(hostile_class):
    assert _processes_left(hostile_class["marker"], str(hostile_class["scratch"])) == []
    assert list(hostile_class["scratch"].iterdir()) == []  # every scratch folder removed


def test_a_fork_bomb_costs_only_its_own_test(hostile_class):
    tests = {t["id"]: t for t in hostile_class["results"]["fork_bomb"]["tests"]}
    assert tests["dropout_forward"]["points"] == 0
    assert tests["equivalent_standard_lr"]["status"] == "passed"


def test_observations_rewritten_on_their_way_out_of_the_kernel_are_judged_as_sent(hostile_class):
    """The forged sender reached the probe's message (its observations are the forger's empty
    ones, not the wrong function's), and what it sent failed."""
    test = hostile_class["results"]["forge_display"]["tests"][0]
    assert test["id"] == "dropout_forward" and test["status"] == "failed"
    assert "the results could not be checked" in test["message"], test["message"]


def test_replayed_observations_for_a_guessed_seed_fail(hostile_class):
    tests = {t["id"]: t for t in hostile_class["results"]["forge_replay"]["tests"]}
    assert tests["dropout_forward"]["status"] == "passed"
    assert tests["equivalent_standard_lr"]["status"] == "failed"


def test_a_seed_shown_by_an_earlier_file_does_not_replay_in_the_next(hostile_class):
    result = hostile_class["results"]["forge_leaked_seed"]
    key = seed_key(hostile_class["course"])
    assert result["seed"] != default_seed("forge_leaked_seed", NB3, key, EARLIER_FILE)
    tests = {t["id"]: t for t in result["tests"]}
    assert tests["equivalent_standard_lr"]["status"] == "failed"


def test_recorded_observations_are_what_a_replay_would_need():
    """The replay above fails only because the hidden seed is unknown: with the right seed the
    recorded reference observations pass the verdict."""
    from course_lib.analysis import equivalent_standard_lr

    exercise = exercises.get("equivalent_standard_lr")
    assert exercise.verdict is not None  # only the grading kernel's copy lacks verdicts
    observed = wire.decode(wire.encode(exercise.probe(equivalent_standard_lr, 77, True)))
    exercise.verdict(observed, 77, True)
    with pytest.raises(AssertionError):
        exercise.verdict(observed, 78, True)
    assert isinstance(observed, dict) and isinstance(observed["values"], list)
    assert all(isinstance(value, float) and math.isfinite(value) for value in observed["values"])

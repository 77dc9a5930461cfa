"""What a class grading run does before its workers grade and beside them: it imports only
what grading the submitted notebooks needs, and opens the gradebook (nbgrader) and imports the
report's charts (matplotlib) once the jobs are out, while the workers grade."""

import subprocess
import sys
from typing import Any

import pytest

from autograder import classroom
from grading_helpers import ROOT

NB = "03_inverted_dropout"


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_verdicts_of_one_notebook_load_without_the_others():
    out = run_python(
        "import sys\n"
        "from autograder import exercises\n"
        f"exercises.load_notebook({NB!r})\n"
        "exercises.load_notebook('99_no_such_notebook')\n"
        "print(sorted({ex.notebook for ex in exercises.REGISTRY.values()}))\n"
        "print('scipy.stats' in sys.modules)\n"
        # every notebook's verdicts: those that need SciPy's statistics import them on first use
        "exercises.all_exercises()\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    assert out.split("\n")[:3] == [f"[{NB!r}]", "False", "False"]


def test_the_class_grader_imports_neither_nbgrader_nor_matplotlib_before_grading():
    out = run_python(
        "import sys\n"
        "import autograder.cli, autograder.classroom\n"
        "print(sorted(m for m in ('nbgrader', 'matplotlib', 'scipy.stats') if m in sys.modules))\n"
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize("workers", [1, 2])
def test_started_runs_once_in_this_process_before_the_first_result(tmp_path, workers):
    """Notebooks that are not there: each is graded as ungradable, quickly, in the workers."""
    jobs = [
        classroom.Job(f"s{i}", NB, str(tmp_path / f"s{i}.ipynb"), i, False, 10, 2**30, str(ROOT))
        for i in range(3)
    ]
    events = []
    graded = classroom.grade_jobs(
        jobs,
        [lambda graded: events.append(graded.result["student"])],
        workers=workers,
        progress=False,
        started=lambda: events.append("started"),
    )
    assert graded == 3
    assert events[0] == "started" and sorted(events[1:]) == ["s0", "s1", "s2"]


def test_grading_one_notebook_judges_with_its_verdicts_only():
    """The checks of 03 need no other notebook's verdicts and no scipy.stats (their binomial
    regions are computed with NumPy): a grading process that loaded them paid 1.2 s for it."""
    out = run_python(
        "import sys\n"
        "from autograder import exercises\n"
        "from autograder.grading import SOURCE_DIR, grade_notebook\n"
        f"path = SOURCE_DIR / {NB!r} / {NB + '.ipynb'!r}\n"
        "result = grade_notebook(str(path), sandboxed=False, seed=1)\n"
        "print(result['score'] == result['max_score'] > 0)\n"
        "print(sorted({ex.notebook for ex in exercises.REGISTRY.values()}))\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    assert out.split("\n")[:3] == ["True", f"[{NB!r}]", "False"]


def test_the_command_exits_after_its_exit_handlers_without_the_teardown():
    """``python -m autograder`` skips the interpreter's teardown: its exit status, its whole
    output and its atexit handlers (which close the kernel pools) are kept, and an object
    that the teardown would free is never freed."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import atexit, sys\n"
            "from autograder import cli\n"
            "cli.main = lambda argv=None: (sys.stdout.write('x' * 200_000), 3)[1]\n"
            "atexit.register(lambda: sys.stdout.write('handler ran'))\n"
            "class Freed:\n"
            "    def __del__(self):\n"
            "        sys.stdout.write(' in the teardown')\n"
            "kept = Freed()\n"
            "cli.run()\n"
            "sys.stdout.write('after run')\n",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert result.stdout == "x" * 200_000 + "handler ran"


def test_a_workers_stop_ends_it_but_never_in_the_middle_of_a_result(monkeypatch):
    """In a worker of the process pool, the first Ctrl-C or SIGTERM ends it: while a job is
    graded it raises there, once, and the worker ends after it reports the job; between jobs
    it ends at once; while a result is written (through a pipe all workers share) it ends
    once the result is written whole."""
    import os
    import signal
    import time
    from concurrent.futures import process as futures_process

    from autograder import signals

    graded, sent = [], []
    jobs = {
        name: classroom.Job(name, "nb", f"{name}.ipynb", 1, True, 60, 2**31, "source")
        for name in ("first", "interrupted")
    }

    def grade_job(job):
        graded.append(job.student)
        if job.student == "interrupted":
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # while the first unwinds: nothing more
        return job

    def send(result_queue, work_id, result=None, exception=None, exit_pid=None):
        os.kill(os.getpid(), signal.SIGINT)  # in the middle of the write
        sent.append(work_id)  # the rest of it

    fresh = {"grading": False, "sending": False, "noted": None}
    monkeypatch.setattr(classroom, "grade_job", grade_job)
    monkeypatch.setattr(classroom, "_worker", dict(fresh))
    monkeypatch.setattr(futures_process, "_sendback_result", send)
    before = {signum: signal.getsignal(signum) for signum in (*signals.STOPS, signal.SIGALRM)}
    try:
        classroom._worker_started()
        assert classroom._grade_in_worker(jobs["first"]) is jobs["first"]
        classroom._worker_sent()  # no signal: the worker goes on
        with pytest.raises(SystemExit) as stopped:
            classroom._grade_in_worker(jobs["interrupted"])
        assert stopped.value.code == 128 + signal.SIGTERM
        assert classroom._worker == {**fresh, "noted": signal.SIGTERM}
        with pytest.raises(SystemExit):  # once the job is reported
            classroom._worker_sent()
        assert graded == ["first", "interrupted"]

        monkeypatch.setattr(classroom, "_worker", dict(fresh))
        with pytest.raises(SystemExit) as stopped:  # between jobs: at once
            os.kill(os.getpid(), signal.SIGINT)
        assert stopped.value.code == 128 + signal.SIGINT

        monkeypatch.setattr(classroom, "_worker", dict(fresh))
        with pytest.raises(SystemExit) as stopped:
            written: Any = futures_process._sendback_result  # the pool's, in the worker
            written(None, 7, result="graded")
        assert sent == [7], "the result was written whole before the worker ended"
        assert stopped.value.code == 128 + signal.SIGINT
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), "its closing is not cut"

        def send_to_nobody(result_queue, work_id, result=None, exception=None, exit_pid=None):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(60)  # a write that nobody reads never ends
            sent.append(work_id)

        monkeypatch.setattr(classroom, "_worker", dict(fresh))
        monkeypatch.setattr(classroom, "SENDING_GRACE", 0.2)
        monkeypatch.setattr(futures_process, "_sendback_result", send_to_nobody)
        classroom._worker_started()
        written = futures_process._sendback_result
        began = time.monotonic()
        with pytest.raises(SystemExit) as stopped:
            written(None, 8, result="graded")
        assert time.monotonic() - began < 30
        assert sent == [7] and stopped.value.code == 128 + signal.SIGTERM
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)

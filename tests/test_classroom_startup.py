"""What a class grading run does before its workers grade and beside them: it imports only
what grading the submitted notebooks needs, and opens the gradebook (nbgrader) and imports the
report's charts (matplotlib) once the jobs are out, while the workers grade."""

import subprocess
import sys

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
        "exercises.load_notebook('05_variants')\n"  # its verdicts need SciPy's statistics
        "print('scipy.stats' in sys.modules)\n"
    )
    assert out.split("\n")[:3] == [f"[{NB!r}]", "False", "True"]


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


def test_a_workers_stop_raises_only_while_it_grades(monkeypatch):
    """In a worker of the process pool, Ctrl-C or SIGTERM between jobs (while the pool's own
    code reads a job or writes a result through the pipes the workers share) is only noted,
    and stops the next job before it starts; while a job is graded it raises, once."""
    import os
    import signal

    graded = []
    jobs = {
        name: classroom.Job(name, "nb", f"{name}.ipynb", 1, True, 60, 2**31, "source")
        for name in ("first", "interrupted", "never")
    }

    def grade_job(job):
        graded.append(job.student)
        if job.student == "interrupted":
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # while the first unwinds: noted only
        return job

    monkeypatch.setattr(classroom, "grade_job", grade_job)
    monkeypatch.setattr(classroom, "_worker", {"grading": False, "noted": None})
    before = {signum: signal.getsignal(signum) for signum in classroom.STOPS}
    try:
        classroom._worker_started()
        assert classroom._grade_in_worker(jobs["first"]) is jobs["first"]
        with pytest.raises(SystemExit) as stopped:
            classroom._grade_in_worker(jobs["interrupted"])
        assert stopped.value.code == 128 + signal.SIGTERM
        assert classroom._worker == {"grading": False, "noted": signal.SIGINT}
        os.kill(os.getpid(), signal.SIGTERM)  # between jobs: noted, nothing raised
        assert classroom._worker["noted"] == signal.SIGTERM
        with pytest.raises(SystemExit):
            classroom._grade_in_worker(jobs["never"])
        assert graded == ["first", "interrupted"]
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)

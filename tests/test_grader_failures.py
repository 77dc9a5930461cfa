"""What the grader does with a mistake of the person running it, or with a failure of its own.

A wrong argument (a timeout of -1 s, a memory limit a kernel cannot start in, a folder that is
not there) stops the command before anything is graded: exit status 2 and one line naming the
argument and what it takes, never a traceback and never a class scored 0. A notebook the grader
fails on (a kernel that cannot start, say) is not the student's doing: the run names it, exits
with status 1, keeps any result graded before, and grades it again the next time.

The tests marked slow run sandboxed kernels.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import autograded, classroom, cli, runner, sandbox
from autograder.autograde import AutogradedWriter, Course, load_course
from autograder.grading import Graded
from grading_helpers import autograded_points, instructor, submission, write

NB = "03_inverted_dropout"
FULL = sum(autograded_points(NB).values())


def run(argv, capsys) -> tuple[object, str, str]:
    """``python -m autograder ARGV`` in this process: exit status, stdout, stderr."""
    try:
        code = cli.main([str(each) for each in argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


# --- wrong arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--timeout", "-1", "--timeout: must be a whole number of seconds, at least 1; got '-1'"),
        ("--timeout", "0", "at least 1; got '0'"),
        ("--timeout", "1.5", "whole number of seconds"),
        ("--workers", "0", "--workers: must be a whole number of worker processes, at least 1"),
        ("--memory", "0", "--memory: 0 is below 1 GiB"),
        ("--memory", "512M", "--memory: 512M is below 1 GiB"),
        ("--memory", "1073741823", "is below 1 GiB"),
        ("--memory", "lots", "--memory: 'lots' is not a size"),
        ("--memory", "inf", "'inf' is not a size"),
        ("--memory", "4X", "'4X' is not a size"),
    ],
)
def test_a_wrong_number_stops_grade_before_anything_is_graded(
    option, value, says, tmp_path, capsys
):
    code, out, err = run(["grade", tmp_path, "--out", tmp_path / "out", option, value], capsys)
    assert code == 2 and out == ""
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1073741824", 2**30),
        ("1G", 2**30),
        ("4g", 4 * 2**30),
        ("4GiB", 4 * 2**30),
        ("4GB", 4 * 2**30),
        ("1536M", 1536 * 2**20),
        ("1.5G", 3 * 2**29),
        ("1T", 2**40),
        ("2097152K", 2**31),
    ],
)
def test_memory_is_bytes_or_a_number_with_k_m_g_or_t(text, size):
    assert cli._size(text) == size


def test_the_similarity_threshold_is_a_fraction(tmp_path, capsys):
    for value in ("2", "-0.1", "nan", "x"):
        code, _, err = run(
            ["similarity", tmp_path, "--out", tmp_path / "out", "--threshold", value], capsys
        )
        assert code == 2 and "--threshold:" in err and "Traceback" not in err
    assert cli._fraction("0") == 0 and cli._fraction("1") == 1 and cli._fraction("0.7") == 0.7


def _class(root: Path, students=("ann",)) -> Path:
    for student in students:
        write(submission(NB, correct=True), root / student / f"{NB}.ipynb")
    return root


@pytest.mark.parametrize(
    ("command", "which"),
    [
        ("grade", "--course-dir missing"),
        ("grade", "--course-dir file"),
        ("grade", "--source-dir missing"),
        ("grade", "--out file"),
        ("check", "--course-dir missing"),
        ("similarity", "--source-dir missing"),
        ("similarity", "--out file"),
    ],
)
def test_a_folder_that_is_not_one_is_named_in_one_line(command, which, tmp_path, capsys):
    submissions = _class(tmp_path / "class")
    (tmp_path / "file").write_text("not a folder")
    option, kind = which.split()
    value = tmp_path / kind
    out = value if option == "--out" else tmp_path / "out"
    argv = [command, submissions / "ann" / f"{NB}.ipynb" if command == "check" else submissions]
    if command != "check":
        argv += ["--out", out]
    if option != "--out":
        argv += [option, value]
    code, stdout, err = run(argv, capsys)
    assert code == 2 and stdout == ""
    assert err.strip().endswith(f"{value} is not a folder ({option})"), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# --- failures of the grader's own -----------------------------------------------------------------


def test_check_says_in_one_line_that_the_grader_failed_and_exits_1(tmp_path, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the kernel died while starting")

    monkeypatch.setattr(cli, "grade_notebook", fail)
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    code, out, err = run(["check", path], capsys)
    assert code == 1 and out == ""
    assert err == (
        f"autograder: {path}: the grader failed, not because of what the notebook holds: "
        "the kernel died while starting\n"
    )


@pytest.mark.slow
def test_check_of_a_kernel_that_cannot_start_fails_in_one_line(tmp_path, capsys, monkeypatch):
    """A real failure: below 1 GiB (allowed here only) the sandboxed kernel dies as it starts;
    its sandbox's control groups and its scratch folder go with it."""
    monkeypatch.setattr(cli, "MIN_MEMORY", 1)
    scratches, mkdtemp = [], tempfile.mkdtemp

    def recorded(*args, **kwargs):
        folder = mkdtemp(*args, **kwargs)
        scratches.append(Path(folder))
        return folder

    monkeypatch.setattr(runner.tempfile, "mkdtemp", recorded)
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    ours = f"*/{sandbox.CGROUP_PREFIX}{os.getpid()}-*"
    before = set(sandbox.CGROUP_ROOT.glob(ours))
    code, out, err = run(["check", path, "--memory", "256M"], capsys)
    assert code == 1 and out == ""
    assert "the grader failed, not because of what the notebook holds: the kernel" in err
    assert len(err.strip().splitlines()) == 1
    assert set(sandbox.CGROUP_ROOT.glob(ours)) == before
    assert scratches and not [folder for folder in scratches if folder.exists()]


@pytest.mark.slow
def test_a_class_run_names_what_the_grader_failed_on_keeps_earlier_results_and_retries_them(
    tmp_path, capsys, monkeypatch
):
    submissions = _class(tmp_path / "class", ("ann", "bob"))
    out, course = tmp_path / "out", tmp_path / "course"
    course.mkdir()
    argv = ["grade", submissions, "--out", out, "--course-dir", course, "--workers", "1"]
    argv += ["--quiet"]
    real, failing = classroom.grade_submission, set()

    def grade_submission(path, **kwargs):
        if kwargs["student"] in failing:
            raise RuntimeError("the kernel died while starting")
        return real(path, **kwargs)

    monkeypatch.setattr(classroom, "grade_submission", grade_submission)

    def results():
        return {
            path.parent.name: json.loads(path.read_text())
            for path in (out / "results").glob(f"*/{NB}.json")
        }

    def rows():
        lines = (out / "grades.csv").read_text().splitlines()[1:]
        return {line.split(",")[0]: float(line.split(",")[2]) for line in lines}

    code, text, _ = run(argv, capsys)
    assert code == 0 and "the grader failed" not in text
    assert rows() == {"ann": FULL, "bob": FULL}
    graded_before = results()

    # a regrade on which the grader fails: ann's result stays, the run says so and exits 1
    failing.add("ann")
    code, text, _ = run([*argv, "--regrade"], capsys)
    assert code == 1
    assert "the grader failed on 1 notebooks, not because of what they hold" in text
    assert f"  ann/{NB}: the grader failed on this notebook: RuntimeError: the kernel died" in text
    assert results()["ann"] == graded_before["ann"] and rows()["ann"] == FULL

    # a new student the grader fails on: scored 0 with the reason, marked
    shutil.copytree(submissions / "ann", submissions / "cy")
    failing.add("cy")
    code, text, _ = run(argv, capsys)
    assert code == 1 and "graded 1 notebooks of 3 students (2 already graded, skipped)" in text
    assert f"  cy/{NB}: the grader failed" in text
    assert results()["cy"]["grader_failed"] is True and rows()["cy"] == 0

    # the next run, the grader working again, grades cy again and only cy
    failing.clear()
    code, text, _ = run(argv, capsys)
    assert code == 0 and "graded 1 notebooks of 3 students (2 already graded, skipped)" in text
    assert "grader_failed" not in results()["cy"] and rows() == {s: FULL for s in rows()}
    assert set(rows()) == {"ann", "bob", "cy"}


# --- the same in nbgrader's folders (autograde) -------------------------------------------------


def _autograded(course: Course, student: str, result: dict) -> None:
    notebook = instructor(NB)
    notebook.metadata[autograded.RESULT_KEY] = result
    course.autograded(student).mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, course.autograded(student) / f"{NB}.ipynb")


def test_autograde_grades_again_what_the_grader_failed_on_and_keeps_what_it_graded(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    course = Course(load_course(tmp_path), NB)
    for student in ("ann", "bob", "cy"):
        course.submitted(student).mkdir(parents=True)
    _autograded(course, "ann", {"score": 8.0})
    _autograded(course, "bob", {"score": 0.0, "grader_failed": True})
    assert [s for s in ("ann", "bob", "cy") if course.needs_grading(s)] == ["bob", "cy"]

    class Gradebook:
        def record_autograded(self, *args):
            raise AssertionError("a failure of the grader reached the gradebook")

    writer = AutogradedWriter(course, Gradebook())  # type: ignore[arg-type]
    failure = {"student": "ann", "error": "the grader failed on this notebook: …"}
    writer(Graded({**failure, "grader_failed": True}, instructor(NB)))
    assert writer.failed == [f"ann/{NB}: the grader failed on this notebook: …"]
    assert not course.needs_grading("ann")
    kept = nbformat.read(course.autograded("ann") / f"{NB}.ipynb", as_version=4)
    assert autograded.result_of(kept) == {"score": 8.0}

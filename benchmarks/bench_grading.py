"""Time to grade a class of 30 synthetic students: the course's grader with 1 and 2 workers,
and plain ``nbgrader autograde`` on the same submissions, as ratios measured in one run.

    python benchmarks/bench_grading.py [--students 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_classroom import NB, make_class  # noqa: E402


def _env(course: Path) -> dict:
    return dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )


def time_course_grader(submissions: Path, workers: int, work: Path) -> float:
    course = work / f"course-{workers}"
    course.mkdir()
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(submissions),
            "--out",
            str(work / f"out-{workers}"),
            "--course-dir",
            str(course),
            "--workers",
            str(workers),
            "--quiet",
        ],
        check=True,
        cwd=ROOT,
        env=_env(course),
        capture_output=True,
    )
    return time.perf_counter() - started


def time_nbgrader(submissions: Path, work: Path) -> float:
    course = work / "nbgrader-course"
    shutil.copytree(ROOT / "autograder" / "course" / "source" / NB, course / "source" / NB)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'dropout'\n"
    )
    nbgrader = [sys.executable, "-m", "nbgrader"]
    subprocess.run(
        [*nbgrader, "generate_assignment", NB],
        cwd=course,
        env=_env(course),
        check=True,
        capture_output=True,
    )
    for student_dir in submissions.iterdir():
        shutil.copytree(student_dir, course / "submitted" / student_dir.name / NB)
        subprocess.run(
            [*nbgrader, "db", "student", "add", student_dir.name],
            cwd=course,
            env=_env(course),
            check=True,
            capture_output=True,
        )
    started = time.perf_counter()
    # nbgrader stops at nothing but reports failures in its exit status: ignore it here
    subprocess.run([*nbgrader, "autograde", NB], cwd=course, env=_env(course), capture_output=True)
    return time.perf_counter() - started


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_class(work / "submitted")
        timings = {
            "python -m autograder grade --workers 1": time_course_grader(
                work / "submitted", 1, work
            ),
            "python -m autograder grade --workers 2": time_course_grader(
                work / "submitted", 2, work
            ),
            "nbgrader autograde (one process)": time_nbgrader(work / "submitted", work),
        }
    baseline = timings["nbgrader autograde (one process)"]
    print(f"{len(list(timings))} ways to grade the same 30 notebooks of {NB}:")
    for name, seconds in timings.items():
        print(f"  {name:42s} {seconds:7.1f} s   ratio to nbgrader {seconds / baseline:5.2f}")
    return timings


if __name__ == "__main__":
    main()

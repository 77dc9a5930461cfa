"""Time to grade a class of 30 synthetic students: the course's grader with 1 and 2 workers,
and plain ``nbgrader autograde`` on the same submissions, as ratios measured in one run.

It prints the two ratios the grader is built to (each with its target): one worker against
plain ``nbgrader autograde`` (at least 3x faster per notebook), and two workers against one
(at least 1.8x faster). ``--students N`` grades N of the 30 (spread over every kind of
submission), for a quicker run.

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

from test_classroom import NB, grade_command, make_class  # noqa: E402

TARGETS = {  # ratio name: (faster way, slower way, target speed-up)
    "1 worker vs nbgrader autograde": ("workers 1", "nbgrader", 3.0),
    "2 workers vs 1 worker": ("workers 2", "workers 1", 1.8),
}


def make_submissions(root: Path, students: int) -> int:
    """The class of ``tests/test_classroom.py`` in ``root``, thinned out evenly to ``students``
    of its 30 (so that every kind of submission stays); returns how many are left."""
    make_class(root)
    everyone = sorted(root.iterdir())
    keep = {everyone[i * len(everyone) // students] for i in range(min(students, len(everyone)))}
    for student_dir in everyone:
        if student_dir not in keep:
            shutil.rmtree(student_dir)
    return len(keep)


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
        grade_command(
            submissions, work / f"out-{workers}", course, "--workers", str(workers), "--quiet"
        ),
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
    parser.add_argument("--students", type=int, default=30, help="how many of the 30 (1 to 30)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        students = make_submissions(work / "submitted", max(1, args.students))
        timings = {
            "workers 1": time_course_grader(work / "submitted", 1, work),
            "workers 2": time_course_grader(work / "submitted", 2, work),
            "nbgrader": time_nbgrader(work / "submitted", work),
        }
    names = {
        "workers 1": "python -m autograder grade --workers 1",
        "workers 2": "python -m autograder grade --workers 2",
        "nbgrader": "nbgrader autograde (one process)",
    }
    print(f"{len(timings)} ways to grade the same {students} notebooks of {NB}:")
    for way, seconds in timings.items():
        print(f"  {names[way]:42s} {seconds:7.1f} s   {seconds / students:5.2f} s a notebook")
    print("speed-ups (target in brackets):")
    for name, (fast, slow, target) in TARGETS.items():
        ratio = timings[slow] / timings[fast]
        verdict = "met" if ratio >= target else "not met"
        print(f"  {name:32s} {ratio:5.2f}x   [target >= {target:.1f}x: {verdict}]")
    return timings


if __name__ == "__main__":
    main()

"""Command line: ``python -m autograder check NOTEBOOK``, ``grade``, ``autograde`` and
``similarity``."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from . import similarity
from .grading import COURSE_DIR, SOURCE_DIR, GradingError, grade_notebook
from .runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, MIN_MEMORY

_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def _whole_number(least: int, unit: str):
    """An argparse type: a whole number of ``unit`` no less than ``least``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of {unit}, at least {least}; got {text!r}"
            )
        return value

    return parse


def _size(text: str) -> int:
    """An argparse type: a memory size in bytes, written ``4294967296``, ``4G``, ``4GiB`` or
    ``4096M`` (K, M, G and T are powers of 1024), no less than :data:`MIN_MEMORY`."""
    spelled = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = spelled.rstrip("KMGT"), spelled[len(spelled.rstrip("KMGT")) :]
    try:
        value = int(float(number) * _UNITS[unit])
    except (ValueError, KeyError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: give bytes, or a number with K, M or G (4G is 4 GiB)"
        ) from None
    if value < MIN_MEMORY:
        raise argparse.ArgumentTypeError(
            f"{text} is below 1 GiB, the least in which every notebook's own solutions keep "
            "full marks (the default is 4G)"
        )
    return value


def _fraction(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{value:g} is not between 0 and 1")
    return value


def _source_dir(args):
    """The instructor notebooks: ``--source-dir``, else the course's own, else (where the
    installed course has none, as in ``make classroom``'s environment) the ``source`` folder of
    ``--course-dir``."""
    if args.source_dir is not None:
        return args.source_dir
    course_dir = getattr(args, "course_dir", None)
    if SOURCE_DIR.is_dir() or not course_dir:
        return SOURCE_DIR
    return Path(course_dir) / "source"


def _check(args) -> int:
    try:
        result = grade_notebook(
            args.notebook,
            assignment=args.assignment,
            seed=args.seed,
            student=args.student,
            course_dir=args.course_dir or COURSE_DIR,
            sandboxed=not args.no_sandbox,
            timeout=args.timeout,
            memory_bytes=args.memory,
            source_dir=_source_dir(args),
        )
    except GradingError as error:
        raise GradingError(f"{args.notebook}: {error}") from None
    except RuntimeError as error:
        # not the notebook's doing: a kernel that could not start or be prepared, a zygote or
        # a sandbox that failed (RuntimeError and its kinds, each with a one-line message)
        print(
            f"autograder: {args.notebook}: the grader failed, not because of what the notebook "
            f"holds: {error}",
            file=sys.stderr,
        )
        return 1
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


def _grade(args) -> int:
    from .classroom import grade_class

    summary = grade_class(
        args.submissions,
        args.out,
        workers=args.workers,
        seed=args.seed,
        sandboxed=not args.no_sandbox,
        timeout=args.timeout,
        memory_bytes=args.memory,
        source_dir=_source_dir(args),
        course_dir=args.course_dir,
        db_url=args.db_url,
        scheduler=args.scheduler,
        regrade=args.regrade,
        progress=not args.quiet,
        similarity=args.similarity,
        report_names=args.report_names,
    )
    print(summary)
    return 1 if summary.grader_failed else 0


def _autograde(args) -> int:
    from .autograde import autograde

    summary = autograde(
        args.assignment,
        course_dir=args.course_dir,
        student=args.student,
        regrade=args.regrade,
        feedback_only=args.feedback_only,
        workers=args.workers,
        scheduler=args.scheduler,
        seed=args.seed,
        sandboxed=not args.no_sandbox,
        timeout=args.timeout,
        memory_bytes=args.memory,
        progress=not args.quiet,
        report_names=args.report_names,
    )
    print(summary)
    return 1 if summary.grader_failed else 0


def _similarity(args) -> int:
    print(
        similarity.similarity_report(
            args.submissions,
            args.out,
            source_dir=_source_dir(args),
            released_dir=args.released_dir,
            threshold=args.threshold,
        )
    )
    return 0


def _parallel(parser) -> None:
    """The options of commands that grade a class: local workers or a Dask cluster."""
    parser.add_argument(
        "--workers",
        type=_whole_number(1, "worker processes"),
        default=None,
        help="parallel worker processes (default: number of cores)",
    )
    parser.add_argument(
        "--scheduler", default=None, help="address of a Dask distributed scheduler to grade on"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _common(parser, *, source_dir: bool = True):
    if source_dir:
        parser.add_argument(
            "--course-dir",
            default=None,
            help="nbgrader course directory: its gradebook receives the scores and "
            "its secret key derives the seeds (default: autograder/course/)",
        )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the hidden tests (default: derived from the student, the notebook and the "
        "file)",
    )
    parser.add_argument(
        "--timeout",
        type=_whole_number(1, "seconds"),
        default=DEFAULT_TIMEOUT,
        help=f"seconds per cell (default {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--memory",
        type=_size,
        default=DEFAULT_MEMORY,
        help="address-space limit of the kernel: bytes, or with K, M or G "
        "(default 4G; at least 1G)",
    )
    if source_dir:
        parser.add_argument(
            "--source-dir",
            default=None,
            help="folder of instructor notebooks (default: autograder/course/source, or the "
            "source folder of --course-dir where the installed course has none)",
        )
    parser.add_argument(
        "--no-sandbox",
        action="store_true",
        help="run the kernels without the bubblewrap sandbox (they can then "
        "read and write whatever your user can); only for machines "
        "without user namespaces, and only for notebooks you trust",
    )


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description="Grade notebooks of the dropout course."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one notebook and print JSON")
    check.add_argument("notebook")
    check.add_argument(
        "--assignment", default=None, help="assignment name (default: the file name without .ipynb)"
    )
    check.add_argument("--student", default="", help="student id (for the default seed)")
    _common(check)
    check.set_defaults(run=_check)
    grade = commands.add_parser("grade", help="grade SUBMISSIONS/<student>/<notebook>.ipynb")
    grade.add_argument("submissions")
    grade.add_argument("--out", required=True, help="folder for JSON, grades.csv and feedback")
    _parallel(grade)
    grade.add_argument(
        "--db-url",
        default=None,
        help="SQLAlchemy URL of the gradebook (default: the course's SQLite)",
    )
    grade.add_argument(
        "--regrade",
        action="store_true",
        help="grade again notebooks that already have results in --out",
    )
    grade.add_argument(
        "--similarity",
        action="store_true",
        help="also write the similarity report of the solution cells to --out",
    )
    grade.add_argument(
        "--report-names",
        action="store_true",
        help="name the students of each group of failure messages in report.html "
        "(by default it names no student)",
    )
    _common(grade)
    grade.set_defaults(run=_grade)
    autograde = commands.add_parser(
        "autograde",
        help="nbgrader's autograde in a course directory: submitted/ to autograded/, "
        "gradebook and feedback/",
    )
    autograde.add_argument("assignment")
    autograde.add_argument(
        "--course-dir",
        default=None,
        help="the nbgrader course directory (default: the current directory if it holds an "
        "nbgrader_config.py, else autograder/course/); its config, folders and gradebook are used",
    )
    autograde.add_argument("--student", default=None, help="autograde this student only")
    autograde.add_argument(
        "--report-names",
        action="store_true",
        help="name the students of each group of failure messages in "
        "reports/<assignment>/report.html (by default it names no student)",
    )
    autograde.add_argument(
        "--regrade",
        action="store_true",
        help="grade again students already autograded (manual grades and comments are kept)",
    )
    autograde.add_argument(
        "--feedback-only",
        action="store_true",
        help="grade nothing: write feedback/ again from autograded/ and the gradebook "
        "(after manual grading in formgrader)",
    )
    _parallel(autograde)
    _common(autograde, source_dir=False)
    autograde.set_defaults(run=_autograde)
    similar = commands.add_parser(
        "similarity", help="flag solution cells that are alike (never changes a score)"
    )
    similar.add_argument("submissions")
    similar.add_argument(
        "--out", required=True, help="folder for similarity.json and similarity.html"
    )
    similar.add_argument(
        "--threshold",
        type=_fraction,
        default=similarity.THRESHOLD,
        help="pairs scoring above it are shown in the HTML report "
        f"(default {similarity.THRESHOLD:g})",
    )
    similar.add_argument(
        "--source-dir",
        default=SOURCE_DIR,
        help="folder of instructor notebooks (default: autograder/course/source)",
    )
    similar.add_argument(
        "--released-dir",
        default=similarity.RELEASED_DIR,
        help="folder of the released student notebooks, whose given code is "
        "ignored (default: notebooks/)",
    )
    similar.set_defaults(run=_similarity)
    args = parser.parse_args(argv)
    # a grader stopped with SIGTERM (kill, a job scheduler, a container stopping) cleans up as
    # on Ctrl-C: its kernels, zygotes, scratch folders and control groups go
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return args.run(args)
    except GradingError as error:  # what cannot be graded at all: one line, exit status 2
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def run(argv=None) -> NoReturn:
    """``python -m autograder``: :func:`main`, then exit with its status, without the
    interpreter's teardown once it has succeeded or failed normally.

    For speed: the teardown frees every module one by one, 0.3 to 0.6 s after grading a class
    (nbgrader's gradebook, SQLAlchemy and matplotlib are loaded by then), on the path of every
    command. What it would still do that matters is done first: the ``atexit`` handlers run
    (kernel pools, zygotes and control groups are closed there) and the output is flushed.
    Where a thread that is not a daemon still runs (a Dask client's, say), Python exits as
    usual, waiting for it.
    """
    code = main(argv)
    if any(not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else 1)

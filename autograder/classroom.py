"""Grade a whole class: ``SUBMISSIONS/<student>/<notebook>.ipynb`` in parallel.

Results go to ``OUT/results/<student>/<notebook>.json`` as each notebook finishes, so a crash
midway loses nothing already graded and a rerun skips what is done (unless ``regrade``); a
notebook the grader failed on (a kernel that could not start, say) is graded again by the next
run, and never replaces a result graded before. When all are done, ``OUT/grades.csv`` gets
one row per student and notebook and one column per test, ``OUT/feedback/<student>.html`` one
page per student, and ``OUT/report.html`` the class's report (:mod:`autograder.report`). Scores
go into the nbgrader gradebook from this process only.

The grading itself (:func:`grade_jobs`: a list of jobs, graded in parallel, each graded notebook
handed to writers as it arrives) is shared with ``autograde`` (:mod:`autograder.autograde`),
which reads and writes nbgrader's own folders instead.

For speed, every grading process (this one with one worker, each worker of the process pool or
of the Dask cluster) keeps a pool of kernels started ahead of time (:mod:`autograder.pool`):
while one notebook is graded the next one's kernel starts. Jobs go out sorted by notebook, so the
kernel waiting in a worker is usually the one its next job needs; every pool is closed, and its
kernels killed, when grading ends, however it ends. What only this process needs, and only once
results arrive (nbgrader, for the gradebook: about 1 s; matplotlib, for the report's charts:
0.8 s), it imports once the jobs are out, while the workers start their kernels; the workers,
forked before, never import it, nor the verdicts of notebooks not graded.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures import process as futures_process
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from . import autograded, exercises, feedback, report, signals
from . import sandbox as sandboxing
from .assemble import assemble
from .grading import (
    COURSE_DIR,
    SOURCE_DIR,
    Graded,
    GradingError,
    default_db_url,
    find_assignment,
    grade_submission,
    require_sandbox,
    seed_key,
)
from .grading_copy import grading_copy
from .pool import (
    close_process_pool,
    close_shared_zygote,
    close_shared_zygotes,
    load_shared_zygote,
    process_pool,
    share_zygotes,
)


@dataclass(frozen=True)
class Job:
    """One notebook to grade; ``with_notebook`` asks for the notebook as graded too. Its
    ``seed``, where it is None, is derived from the notebook file with the course's secret
    ``key`` (:func:`autograder.grading.default_seed`), where the file is read."""

    student: str
    assignment: str
    path: str
    seed: int | None
    sandboxed: bool
    timeout: int
    memory_bytes: int
    source_dir: str
    with_notebook: bool = False
    key: bytes = field(default=b"", repr=False)


def discover(submissions: Path, source_dir: Path) -> list[tuple[str, str, Path]]:
    """(student, assignment, path) of every submitted notebook of a known assignment."""
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise GradingError(f"{submissions} is not a folder of <student>/<notebook>.ipynb")
    known = {path.name for path in Path(source_dir).iterdir() if path.is_dir()}
    found = []
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for notebook in sorted(student_dir.glob("*.ipynb")):
            if notebook.stem in known:
                found.append((student_dir.name, notebook.stem, notebook))
    return found


#: the key, true, of a result that the grader failed to make (see :func:`grade_job`)
GRADER_FAILED = "grader_failed"


@dataclass(frozen=True)
class Summary:
    """What a class run says when it ends: ``text``, and the notebooks the grader failed on
    (``student/notebook: reason``), which the command's exit status reports."""

    text: str
    grader_failed: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


def grader_failures(failed: Sequence[str]) -> str:
    """The lines that tell of the notebooks the grader failed on (empty if none)."""
    if not failed:
        return ""
    shown = "\n".join(f"  {each}" for each in failed[:5])
    more = f"\n  and {len(failed) - 5} more" if len(failed) > 5 else ""
    return (
        f"\nthe grader failed on {len(failed)} notebooks, not because of what they hold; each "
        "scored 0 with the reason (a result graded before was kept instead), and the same "
        f"command run again grades them again:\n{shown}{more}"
    )


def failed_by_grader(result: dict | None) -> bool:
    return isinstance(result, dict) and result.get(GRADER_FAILED) is True


def _graded_before(target: Path) -> bool:
    """Whether ``target`` holds a result that the grader did not fail to make."""
    try:
        return not failed_by_grader(json.loads(target.read_text()))
    except (OSError, ValueError):
        return False


def _ungradable(job: Job, reason: str) -> Graded:
    """A notebook that could not be graded: every test 0, with the reason (and, if asked for,
    the instructor's notebook with nothing of the student's in it and the reason on top)."""
    instructor = None
    try:
        _, instructor = find_assignment(Path(job.path), Path(job.source_dir), job.assignment)
        tests = [
            {
                "id": cell.metadata.nbgrader.grade_id,
                "points": 0.0,
                "max_points": float(cell.metadata.nbgrader.points),
                "status": "error",
                "message": reason,
            }
            for cell in instructor.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
        ]
    except GradingError:
        tests = []
    result = {
        "notebook": job.assignment,
        "assignment": job.assignment,
        "student": job.student,
        "score": 0.0,
        "max_score": sum(t["max_points"] for t in tests),
        "seed": job.seed,
        "sandbox": job.sandboxed,
        "tests": tests,
        "warnings": [],
        "error": reason,
    }
    if not job.with_notebook or instructor is None:
        return Graded(result)
    plan = assemble(instructor, {"cells": []})
    return Graded(result, autograded.build(plan, instructor, {}, tests, note=reason))


def grade_job(job: Job) -> Graded:
    """Grade one notebook, in a kernel of this process's pool; never raises (a broken notebook
    gets a result with the reason)."""
    started = time.time()
    try:
        graded = grade_submission(
            job.path,
            assignment=job.assignment,
            student=job.student,
            seed=job.seed,
            key=job.key or None,
            sandboxed=job.sandboxed,
            timeout=job.timeout,
            memory_bytes=job.memory_bytes,
            source_dir=Path(job.source_dir),
            with_notebook=job.with_notebook,
            pool=process_pool(),
        )
    except GradingError as error:
        graded = _ungradable(job, str(error))
    except Exception as error:
        # not the notebook's doing (a kernel that could not start, a full disk, a bug of the
        # grader's): scored 0 with the reason, and marked, so that the run says so and the
        # next one grades it again
        graded = _ungradable(
            job, f"the grader failed on this notebook: {type(error).__name__}: {error}"
        )
        graded.result[GRADER_FAILED] = True
    graded.result["graded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    return graded


# Ctrl-C and SIGTERM in a worker of the process pool (see _worker_started)
_worker = {"grading": False, "sending": False, "noted": None}
# how long a result being written may take once a worker is stopped (seconds)
SENDING_GRACE = 10.0


def _worker_stop(signum, frame) -> None:
    if _worker["noted"] is not None:  # stopping already: another signal changes nothing
        return
    _worker["noted"] = signum
    if _worker["sending"]:  # it ends once its result is written whole (_worker_sent), or
        # once it is clear that nobody reads it (a process pool that broke ends its workers
        # without reading what they write)
        signal.signal(signal.SIGALRM, _worker_end)
        signal.setitimer(signal.ITIMER_REAL, SENDING_GRACE)
        return
    if _worker["grading"] and signum == signal.SIGINT:
        raise KeyboardInterrupt
    _worker_end()


def _worker_end(*signal_and_frame) -> None:
    raise SystemExit(128 + (_worker["noted"] or signal.SIGTERM))


def _worker_started() -> None:
    """In each worker of the process pool, first: the first Ctrl-C or SIGTERM ends it, at once
    (a job it grades raises, unwinds and is reported), except while it writes a result.

    The pool's own code in the worker writes results to a pipe that all workers share: an
    exception raised by a signal in the middle of a write can leave half a message there, and
    the grader waits for the rest for good. So a signal that comes while a result is written
    ends the worker right after the write. A worker must end, and not only stop grading, on
    its signal: the grader, stopped too, may not get to tell it to (its workers are forked
    with the signals held back, but a process pool that broke ends its workers with SIGTERM
    only), and it waits for its workers to end before it does.
    """
    for signum in signals.STOPS:
        signal.signal(signum, _worker_stop)
    send = getattr(futures_process, "_sendback_result", None)
    if send is not None:  # Python 3.11 to 3.13 write every result through it

        def sending(*args, **kwargs):
            _worker["sending"] = True
            try:
                send(*args, **kwargs)
            finally:
                _worker["sending"] = False
            _worker_sent()

        futures_process._sendback_result = sending


def _worker_sent() -> None:
    """After a result is written: end the worker if a signal came meanwhile."""
    if _worker["noted"] is not None:
        signal.setitimer(signal.ITIMER_REAL, 0)  # not in the middle of its pool's closing
        _worker_end()


def _grade_in_worker(job: Job) -> Graded:
    """:func:`grade_job` in a worker of the process pool (see :func:`_worker_started`)."""
    _worker["grading"] = True
    try:
        return grade_job(job)
    finally:
        _worker["grading"] = False


def start_ahead(jobs: list[Job], workers: int | None = None, scheduler: str | None = None):
    """With one worker, start the first notebook's zygote in this process's pool now (or,
    where kernels are not forked, launch its first kernel).

    For speed: where this process grades, the zygote then imports its modules while the
    gradebook opens (nbgrader starts ``alembic`` for that: seconds) and the report's chart
    modules are imported, instead of before them.
    """
    if scheduler or (workers or os.cpu_count() or 1) > 1 or not jobs:
        return
    first = min(jobs, key=lambda job: job.assignment)
    where = {
        "copy": grading_copy(first.assignment),
        "sandboxed": first.sandboxed,
        "memory_bytes": first.memory_bytes,
    }
    pool = process_pool()
    if not pool.start_zygote(**where) and pool.ahead:
        pool.prepare(**where)


def _write_json(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def _run(
    jobs: list[Job], workers: int, scheduler: str | None, started: Callable[[], None]
) -> Iterable[Graded]:
    """Graded notebooks as they arrive; ``started()`` is called in this process once the jobs
    are out (to the workers, or, with one worker, before the first), and its work overlaps the
    workers'. The kernel pools of the processes that graded them are closed when this ends
    (normally, on an exception or on Ctrl-C): the workers of a process pool close theirs when
    they exit, Dask's workers, which outlive the run, are told to."""
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            try:
                futures = client.map(grade_job, jobs, pure=False)
                started()
                for future in dask_completed(futures):
                    yield future.result()
            finally:
                # a worker that is gone took its kernels with it
                with contextlib.suppress(Exception):
                    client.run(close_process_pool)
    elif workers <= 1:
        try:
            started()
            for job in jobs:
                yield grade_job(job)
        finally:
            close_process_pool()
    else:
        # one zygote a notebook for all workers, started here before they are forked (the
        # first notebook's loads now, on the other core, while this process goes on)
        copies = {
            assignment: grading_copy(assignment) for assignment in {j.assignment for j in jobs}
        }
        keys = {job: (copies[job.assignment], job.sandboxed, job.memory_bytes) for job in jobs}
        order = list(dict.fromkeys(keys.values()))
        left = collections.Counter(keys.values())
        ours = set()  # the workers
        try:
            share_zygotes(order, workers=workers, load=order[0] if order else None)
            # the verdicts' modules of the notebooks graded, once here: the workers are forked
            # from this process and find them imported (only these: all seven cost about
            # 0.1 s of CPU more)
            for assignment in sorted({job.assignment for job in jobs}):
                exercises.load_notebook(assignment)
            fork = multiprocessing.get_context("fork")  # the workers inherit the zygotes
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=fork, initializer=_worker_started
            ) as pool:
                futures = {}
                try:
                    # the workers forked (at the first job) and every job handed out, whole:
                    # cut in two by a signal, the pool could be left with workers it never
                    # tells to end, and this process waits for them before it ends
                    with signals.deferred():
                        before = set(multiprocessing.active_children())
                        futures = {pool.submit(_grade_in_worker, job): job for job in jobs}
                        ours = set(multiprocessing.active_children()) - before
                    started()
                    for future in as_completed(futures):
                        key = keys[futures[future]]
                        left[key] -= 1
                        if left[key] == 0:
                            close_shared_zygote(key)
                        # the next notebook's zygote loads while the last jobs of this one run
                        coming = [each for each in order if left[each] > 0]
                        if len(coming) > 1 and left[coming[0]] <= workers:
                            load_shared_zygote(coming[1])
                        yield future.result()
                except BaseException as error:
                    # the workers end now, as on their own Ctrl-C (a job being graded unwinds
                    # and kills its kernel), where a signal did not reach them (sent to this
                    # process only) or where what stopped this process was not a signal
                    for future in futures:
                        future.cancel()
                    for worker in ours:
                        worker.terminate()
                    if isinstance(error, BrokenProcessPool):
                        raise GradingError(
                            "a worker process of the grader ended abruptly (killed, or out of "
                            "memory); the notebooks graded before it are kept: run the same "
                            "command again to grade the rest"
                        ) from error
                    raise
        finally:
            close_shared_zygotes()
            # the control groups of a worker killed before it removed its kernels' (which
            # ended with their zygote)
            sandboxing.remove_cgroups_of({worker.pid for worker in ours}.__contains__)


def grade_jobs(
    jobs: list[Job],
    writers: Sequence[Callable[[Graded], None]],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    started: Callable[[], None] = lambda: None,
) -> int:
    """Grade ``jobs`` on local worker processes (``workers``, default one per core) or on the
    Dask cluster at ``scheduler``; hand each graded notebook, as it arrives, to every writer in
    turn, in this process only. ``started()`` is called in this process, before the first
    writer, once the jobs are handed out: what it does runs while the workers grade. Returns
    how many were graded."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="grading", unit="notebook")
    graded = 0
    # by notebook, so that a worker's next job can use the kernel its pool started for it
    jobs = sorted(jobs, key=lambda job: job.assignment)
    for each in _run(jobs, workers or os.cpu_count() or 1, scheduler, started):
        for write in writers:
            write(each)
        graded += 1
        if bar is not None:
            bar.update()
            bar.set_postfix(last=f"{each.result['student']}/{each.result['notebook']}")
    if bar is not None:
        bar.close()
    return graded


def write_reports(out: Path, source_dir: Path, *, report_names: bool = False) -> tuple[Path, Path]:
    """grades.csv, per-student feedback and report.html (students named in it only with
    ``report_names``) from every result under ``out/results``."""
    results = [json.loads(path.read_text()) for path in sorted((out / "results").glob("*/*.json"))]
    order = {}
    for name in sorted(p.name for p in Path(source_dir).iterdir() if p.is_dir()):
        # the course's own notebooks, read as JSON only for the order of their tests (nbformat
        # would validate each against its schema: 50 ms for the seven, at the end of a run)
        notebook = json.loads((Path(source_dir) / name / f"{name}.ipynb").read_text())
        for cell in notebook["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("grade"):
                order.setdefault(meta["grade_id"], len(order))
    test_ids = sorted(
        {t["id"] for r in results for t in r["tests"]},
        key=lambda grade_id: (order.get(grade_id, len(order)), grade_id),
    )
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", "notebook", "score", "max_score", "seed", *test_ids])
        for result in sorted(results, key=lambda r: (r["student"], r["notebook"])):
            points = {t["id"]: t["points"] for t in result["tests"]}
            writer.writerow(
                [
                    result["student"],
                    result["notebook"],
                    result["score"],
                    result["max_score"],
                    result["seed"],
                    *[points.get(grade_id, "") for grade_id in test_ids],
                ]
            )
    feedback_dir = out / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[dict]] = {}
    for result in results:
        by_student.setdefault(result["student"], []).append(result)
    for student, student_results in by_student.items():
        (feedback_dir / f"{student}.html").write_text(feedback.render(student, student_results))
    report.write_report(out / "report.html", results, test_order=test_ids, names=report_names)
    return csv_path, feedback_dir


def grade_class(
    submissions,
    out,
    *,
    workers: int | None = None,
    seed: int | None = None,
    sandboxed: bool = True,
    timeout: int = 60,
    memory_bytes: int = 4 * 1024**3,
    source_dir=SOURCE_DIR,
    course_dir=None,
    db_url: str | None = None,
    scheduler: str | None = None,
    regrade: bool = False,
    progress: bool = True,
    similarity: bool = False,
    report_names: bool = False,
) -> Summary:
    """Grade every submission; return a one-paragraph summary, which lists the notebooks the
    grader failed on (not their fault, see :func:`grade_job`), if any. With ``similarity``,
    also write the similarity report of the solution cells (:mod:`autograder.similarity`) into
    ``out``."""
    if sandboxed:
        require_sandbox()
    out = Path(out)
    source_dir = Path(source_dir)
    course_dir = Path(course_dir) if course_dir else COURSE_DIR
    for folder, option in ((course_dir, "--course-dir"), (source_dir, "--source-dir")):
        if not folder.is_dir():
            raise GradingError(f"{folder} is not a folder ({option})")
    if out.exists() and not out.is_dir():
        raise GradingError(f"{out} is not a folder (--out)")
    db_url = db_url or default_db_url(course_dir)
    found = discover(Path(submissions), source_dir)
    jobs, skipped = [], 0
    key = seed_key(course_dir) if seed is None else b""
    for student, assignment, path in found:
        target = out / "results" / student / f"{assignment}.json"
        if not regrade and _graded_before(target):
            skipped += 1
            continue
        jobs.append(
            Job(
                student,
                assignment,
                str(path),
                seed,
                sandboxed,
                timeout,
                memory_bytes,
                str(source_dir),
                key=key,
            )
        )

    gradebooks, failed = [], []

    def write(graded: Graded) -> None:
        """The result's JSON, then its scores into the gradebook; where the grader failed on
        the notebook, neither over a result graded before."""
        result = graded.result
        target = out / "results" / result["student"] / f"{result['notebook']}.json"
        if failed_by_grader(result):
            failed.append(f"{result['student']}/{result['notebook']}: {result['error']}")
            if _graded_before(target):
                return
        _write_json(target, result)
        gradebooks[0].record(result["student"], result)

    def started() -> None:
        """For speed, while the workers start their kernels and grade: import nbgrader and open
        the gradebook (about 1 s), then import what the report's charts need (0.8 s)."""
        from .gradebook import GradebookWriter

        gradebooks.append(GradebookWriter(db_url, source_dir))
        report.import_charts()

    start_ahead(jobs, workers, scheduler)
    try:
        graded = grade_jobs(
            jobs,
            [write],
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            started=started,
        )
    finally:
        for gradebook in gradebooks:
            gradebook.close()
        close_process_pool()
    csv_path, feedback_dir = write_reports(out, source_dir, report_names=report_names)
    students = len({student for student, _, _ in found})
    summary = (
        f"graded {graded} notebooks of {students} students"
        f"{f' ({skipped} already graded, skipped)' if skipped else ''}; "
        f"{csv_path}, feedback in {feedback_dir}/, gradebook {db_url}"
    )
    if similarity:
        from .similarity import similarity_report

        summary += "\n" + similarity_report(submissions, out, source_dir=source_dir)
    return Summary(summary + grader_failures(failed), tuple(failed))

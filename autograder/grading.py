"""Grade one submission: run it in its own kernel, judge every test in this process.

The result is the grading JSON that ``python -m autograder check`` prints::

    {"notebook", "assignment", "student", "score", "max_score", "seed", "sandbox",
     "tests": [{"id", "points", "max_points", "status", "message"}], "warnings"}

with status one of "passed", "failed", "error", "timeout", and ``sandbox`` true when the kernel
ran in the sandbox of :mod:`autograder.sandbox`.

A test whose exercise is scored in parts (:mod:`autograder.exercises`: the behaviour, then the
argument checks) earns the points of the parts that passed in each of its ``check`` calls, up to
the first part that failed. One that earned some but not all is "failed" with those points
(nbgrader, too, gives partial credit to a test cell that did not pass), and its message names
each failed part: ``"argument checks: dropout_forward with p_drop=1.0 must raise ValueError ..."``.
"""

from __future__ import annotations

import copy as copying
import functools
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import nbformat

from . import autograded, exercises, sandbox, wire
from .assemble import Plan, TestCell, assemble, parse_notebook, read_submission
from .grading_copy import grading_copy
from .pool import KernelPool
from .runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, KernelSession

COURSE_DIR = Path(__file__).resolve().parent / "course"
SOURCE_DIR = COURSE_DIR / "source"
SEED_KEY_FILE = ".autograder-seed-key"


class GradingError(ValueError):
    """A submission that cannot be graded at all; the message is one line."""


def require_sandbox() -> None:
    """Raise :class:`GradingError` saying why, where kernels cannot be sandboxed here."""
    try:
        sandbox.require()
    except sandbox.SandboxUnavailable as error:
        raise GradingError(str(error)) from None


def seed_key(course_dir: Path = COURSE_DIR) -> bytes:
    """The course's secret for deriving seeds, made on first use (``<course>/SEED_KEY_FILE``).

    Without it a student could compute the seed of their own hidden tests, record what the
    reference returns for it at home, and make the grading kernel send that recording instead
    of what their code returns. The file is readable by the instructor only, and no grading
    kernel sees the course directory.
    """
    if not Path(course_dir).is_dir():
        raise GradingError(f"{course_dir} is not a folder (--course-dir)")
    path = Path(course_dir) / SEED_KEY_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def default_db_url(course_dir: Path) -> str:
    """The course's own gradebook: ``gradebook.db`` in its folder, as nbgrader names it (here,
    not in :mod:`autograder.gradebook`, so that naming it does not import nbgrader)."""
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def default_seed(student: str, notebook: str, key: bytes, content: bytes) -> int:
    """The seed of one submission: a student's notebook file, whose bytes are ``content``.

    Stable for one course ``key`` (grading the same file again gives the same seed), different
    for every student, notebook and file, and unpredictable without the key. A submission's
    code sees its own seed while it is graded, and can put it in its feedback (in an
    exception's message, say); a seed that depended on the student and the notebook only would
    then let that student record the reference's answers for it at home and hand in a notebook
    that replays them. Since the file is part of the seed, that notebook gets a seed of its own,
    which nobody can know before it is graded.
    """
    message = f"{student}\0{notebook}\0".encode() + hashlib.sha256(content).digest()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def find_assignment(path: Path, source_dir: Path = SOURCE_DIR, assignment: str | None = None):
    """The instructor notebook for a submission, from its file name or ``assignment``."""
    name = assignment or Path(path).stem
    instructor = Path(source_dir) / name / f"{name}.ipynb"
    if not instructor.exists():
        known = (
            sorted(p.name for p in Path(source_dir).iterdir() if p.is_dir())
            if Path(source_dir).exists()
            else []
        )
        raise GradingError(
            f"no assignment named {name!r} (known: {', '.join(known)}); "
            "name the file after its notebook or pass --assignment"
        )
    status = instructor.stat()
    return name, copying.deepcopy(
        _instructor_notebook(str(instructor.resolve()), status.st_mtime_ns, status.st_size)
    )


@functools.lru_cache(maxsize=16)
def _instructor_notebook(path: str, mtime_ns: int, size: int) -> nbformat.NotebookNode:
    """An instructor notebook, read and validated once per grading process while the file is
    unchanged (a worker grades a whole class of the same notebook); callers get a copy."""
    return nbformat.read(path, as_version=4)


def _probe_source(call, seed: int) -> str:
    return (
        f"__import__('autograder.harness', fromlist=['display_probe']).display_probe("
        f"{call.exercise!r}, {call.function_source}, {seed}, {call.hidden!r})"
    )


def _judge_call(session: KernelSession, call, seed: int) -> exercises.Judgement | tuple[str, str]:
    """The judgement of one check() call, or (status, message) when nothing could be judged and
    the test scores 0."""
    call_seed = seed if call.hidden else exercises.SELF_CHECK_SEED
    outcome = session.run(_probe_source(call, call_seed), remember=False)
    if outcome.status == "timeout":
        return "timeout", f"{call.exercise}: {outcome.error}"
    if outcome.status == "dead":
        return "error", f"{call.exercise}: {outcome.error}"
    payload = outcome.payload
    if outcome.status == "error" and payload is None:
        return "error", f"{call.exercise}: {outcome.error}"
    if not isinstance(payload, dict):
        return "error", f"{call.exercise}: the probe produced no result"
    if "failure" in payload:
        return "failed", str(payload["failure"])
    try:
        observed = wire.decode(payload.get("observed"), outcome.buffers)
        return exercises.get(call.exercise).judge(observed, call_seed, call.hidden)
    except Exception as error:  # malformed or forged observations
        return "failed", (
            f"{call.exercise}: the results could not be checked ({type(error).__name__}: {error})"
        )


def _judge_checks(session: KernelSession, test: TestCell, seed: int) -> tuple[str, Fraction, str]:
    """(status, share of the points earned, message) of a test cell made of check() calls.

    The calls run in order until the test can earn nothing more; each exercise's parts are
    combined over its calls (:func:`autograder.exercises.combined`).
    """
    judged: dict[str, list[exercises.Judgement]] = {}
    for call in test.calls or ():
        result = _judge_call(session, call, seed)
        if isinstance(result, tuple):
            return result[0], Fraction(0), result[1]
        judged.setdefault(call.exercise, []).append(result)
        if result.points == 0:
            break
    combined = [exercises.combined(judgements) for judgements in judged.values()]
    share = Fraction(1)
    for judgement in combined:
        share *= Fraction(judgement.points) / Fraction(judgement.max_points)
    status = "passed" if all(judgement.passed for judgement in combined) else "failed"
    return status, share, " ".join(j.message for j in combined if j.message)


def _judge_plain(session: KernelSession, test: TestCell) -> tuple[str, str]:
    outcome = session.run(test.source, remember=False)
    if outcome.status == "ok":
        return "passed", ""
    if outcome.status == "timeout":
        return "timeout", outcome.error
    return ("failed" if outcome.status == "error" else "error"), outcome.error


def grade_plan(
    plan: Plan,
    *,
    notebook: str,
    seed: int,
    sandboxed: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY,
    files: dict[str, bytes] | None = None,
    copy: Path | None = None,
    outputs: dict[int, list] | None = None,
    pool: KernelPool | None = None,
    warnings: list[str] | None = None,
) -> list[dict]:
    """Run ``plan`` in a kernel that imports the grading copy of ``notebook`` (or the course
    found in ``copy``); judge each test. ``outputs``, if given, receives the outputs of every
    cell that ran, by its index in ``plan.cells``; ``warnings``, if given, a line for each cell
    of the submission that ran too long, ended its kernel or could not run (the instructor sees
    these in the result, the student in the feedback). With ``pool``, the kernel is one the pool
    started ahead of time (:mod:`autograder.pool`); without, one is started now."""
    results = []
    # the verdicts of this notebook only (an exercise unknown after this loads all of them)
    exercises.load_notebook(notebook)
    start = pool.session if pool is not None else KernelSession
    with start(
        copy=copy or grading_copy(notebook),
        sandboxed=sandboxed,
        timeout=timeout,
        memory_bytes=memory_bytes,
        env={"AUTOGRADER_SEED": str(seed)},
        files=files,
    ) as session:
        for step in plan.steps:
            if step[0] == "code":
                outcome = session.run(step[1])
                if outputs is not None:
                    outputs[step[3]] = autograded.cell_outputs(outcome)
                if outcome.status in ("timeout", "dead") and warnings is not None:
                    warnings.append(f"{step[2]}: {outcome.error}")
                continue
            test = step[1]
            if test.calls is None:
                status, message = _judge_plain(session, test)
                share = Fraction(status == "passed")
            else:
                status, share, message = _judge_checks(session, test, seed)
            results.append(
                {
                    "id": test.grade_id,
                    "points": float(Fraction(test.points) * share),
                    "max_points": test.points,
                    "status": status,
                    "message": message,
                }
            )
    return results


@dataclass
class Graded:
    """A graded submission: its result (the grading JSON above) and, when asked for, the notebook
    as graded, with the outputs of its cells and of its tests (:mod:`autograder.autograded`)."""

    result: dict
    notebook: nbformat.NotebookNode | None = None


def grade_notebook(
    path,
    *,
    assignment: str | None = None,
    student: str = "",
    seed: int | None = None,
    course_dir: Path = COURSE_DIR,
    sandboxed: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY,
    source_dir: Path = SOURCE_DIR,
) -> dict:
    """Grade one notebook file; raises :class:`GradingError` if it cannot be graded at all
    (or, when ``sandboxed``, if this machine cannot sandbox the kernel)."""
    return grade_submission(
        path,
        assignment=assignment,
        student=student,
        seed=seed,
        course_dir=course_dir,
        sandboxed=sandboxed,
        timeout=timeout,
        memory_bytes=memory_bytes,
        source_dir=source_dir,
    ).result


def grade_submission(
    path,
    *,
    assignment: str | None = None,
    student: str = "",
    seed: int | None = None,
    course_dir: Path = COURSE_DIR,
    sandboxed: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY,
    source_dir: Path = SOURCE_DIR,
    with_notebook: bool = False,
    pool: KernelPool | None = None,
    key: bytes | None = None,
) -> Graded:
    """:func:`grade_notebook`, and with ``with_notebook`` the notebook as graded too; with
    ``pool``, in a kernel the pool started ahead of time. Without ``seed``, the seed is derived
    from the file with the course's secret ``key`` (read from ``course_dir`` if not given).

    The submission is read once: the bytes the kernel gets are the ones parsed here, and the
    ones its seed is derived from."""
    name, instructor = find_assignment(Path(path), Path(source_dir), assignment)
    if sandboxed:
        require_sandbox()
    try:
        content = read_submission(Path(path))
        submission = parse_notebook(content)
    except (OSError, ValueError) as error:
        raise GradingError(str(error)) from None
    if seed is None:
        seed = default_seed(student, name, key or seed_key(course_dir), content)
    plan = assemble(instructor, submission)
    outputs: dict[int, list] | None = {} if with_notebook else None
    warnings = list(plan.warnings)
    tests = grade_plan(
        plan,
        notebook=name,
        seed=seed,
        sandboxed=sandboxed,
        timeout=timeout,
        memory_bytes=memory_bytes,
        files={f"{name}.ipynb": content},
        outputs=outputs,
        pool=pool,
        warnings=warnings,
    )
    result = {
        "notebook": name,
        "assignment": name,
        "student": student,
        "score": sum(test["points"] for test in tests),
        "max_score": sum(test["max_points"] for test in tests),
        "seed": seed,
        "sandbox": sandboxed,
        "tests": tests,
        "warnings": warnings,
    }
    if outputs is None:
        return Graded(result)
    return Graded(result, autograded.build(plan, instructor, outputs, tests))

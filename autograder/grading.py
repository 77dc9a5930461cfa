"""Grade one submission: run it in its own kernel, judge every test in this process.

The result is the JSON of the course spec (section 5)::

    {"notebook", "assignment", "student", "score", "max_score", "seed",
     "tests": [{"id", "points", "max_points", "status", "message"}], "warnings"}

with status one of "passed", "failed", "error", "timeout".
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import nbformat

from . import exercises, wire
from .assemble import Plan, TestCell, assemble, read_notebook
from .runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT, KernelSession

SOURCE_DIR = Path(__file__).resolve().parent / "source"
REFERENCE_MESSAGE = ("uses course_lib's reference implementation of {name}; the exercise asks "
                     "for your own code, so it scores 0.")


class GradingError(ValueError):
    """A submission that cannot be graded at all; the message is one line."""


def default_seed(student: str, notebook: str) -> int:
    """The seed of a student's notebook: stable, different for every student and notebook."""
    digest = hashlib.sha256(f"{student}\0{notebook}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def find_assignment(path: Path, source_dir: Path = SOURCE_DIR, assignment: str | None = None):
    """The instructor notebook for a submission, from its file name or ``assignment``."""
    name = assignment or Path(path).stem
    instructor = Path(source_dir) / name / f"{name}.ipynb"
    if not instructor.exists():
        known = sorted(p.name for p in Path(source_dir).iterdir() if p.is_dir()) \
            if Path(source_dir).exists() else []
        raise GradingError(f"no assignment named {name!r} (known: {', '.join(known)}); "
                           "name the file after its notebook or pass --assignment")
    return name, nbformat.read(instructor, as_version=4)


def uses_reference(solution_source: str, exercise: str) -> bool:
    """Does a solution cell import or call course_lib's reference for ``exercise``?"""
    try:
        tree = ast.parse(solution_source)
    except SyntaxError:
        return False
    course_lib_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "course_lib":
            if any(alias.name in (exercise, "*") for alias in node.names):
                return True
            course_lib_names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "course_lib":
                    course_lib_names.add((alias.asname or alias.name).split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == exercise:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in course_lib_names:
                return True
    return False


def _probe_source(call, seed: int) -> str:
    # a fresh copy of the harness module: patching the imported one from a solution cell
    # does not change what the probe runs
    return (f"import importlib.util as __autograder_util\n"
            f"__autograder_spec = __autograder_util.find_spec('autograder.harness')\n"
            f"__autograder_harness = __autograder_util.module_from_spec(__autograder_spec)\n"
            f"__autograder_spec.loader.exec_module(__autograder_harness)\n"
            f"__autograder_harness.display_probe({call.exercise!r}, {call.function_source}, "
            f"{seed}, {call.hidden!r})\n"
            f"del __autograder_util, __autograder_spec, __autograder_harness")


def _judge_call(session: KernelSession, call, seed: int, plan: Plan) -> tuple[str, str]:
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
    if payload.get("reference") or any(uses_reference(source, call.exercise)
                                       for source in plan.solution_sources.values()):
        return "failed", REFERENCE_MESSAGE.format(name=call.exercise)
    if "failure" in payload:
        return "failed", str(payload["failure"])
    try:
        observed = wire.decode(payload.get("observed"))
        exercises.get(call.exercise).verdict(observed, call_seed, call.hidden)
    except AssertionError as failure:
        return "failed", str(failure)
    except Exception as error:  # malformed or forged observations
        return "failed", f"{call.exercise}: the results could not be checked ({type(error).__name__}: {error})"
    return "passed", ""


def _judge_plain(session: KernelSession, test: TestCell) -> tuple[str, str]:
    outcome = session.run(test.source, remember=False)
    if outcome.status == "ok":
        return "passed", ""
    if outcome.status == "timeout":
        return "timeout", outcome.error
    return ("failed" if outcome.status == "error" else "error"), outcome.error


def grade_plan(plan: Plan, *, seed: int, timeout: int = DEFAULT_TIMEOUT,
               memory_bytes: int = DEFAULT_MEMORY) -> list[dict]:
    results = []
    with KernelSession(timeout=timeout, memory_bytes=memory_bytes,
                       env={"AUTOGRADER_SEED": str(seed)}) as session:
        for step in plan.steps:
            if step[0] == "code":
                session.run(step[1])
                continue
            test = step[1]
            status, messages = "passed", []
            for call in test.calls or ():
                call_status, message = _judge_call(session, call, seed, plan)
                if call_status != "passed":
                    status = call_status
                    messages.append(message)
                    break
            if test.calls is None:
                status, message = _judge_plain(session, test)
                messages.append(message)
            results.append({"id": test.grade_id,
                            "points": test.points if status == "passed" else 0.0,
                            "max_points": test.points, "status": status,
                            "message": " ".join(m for m in messages if m)})
    return results


def grade_notebook(path, *, assignment: str | None = None, student: str = "",
                   seed: int | None = None, timeout: int = DEFAULT_TIMEOUT,
                   memory_bytes: int = DEFAULT_MEMORY, source_dir: Path = SOURCE_DIR) -> dict:
    """Grade one notebook file; raises :class:`GradingError` if it cannot be graded at all."""
    name, instructor = find_assignment(Path(path), Path(source_dir), assignment)
    if seed is None:
        seed = default_seed(student, name)
    try:
        submission = read_notebook(path)
    except (OSError, ValueError) as error:
        raise GradingError(str(error)) from None
    plan = assemble(instructor, submission)
    tests = grade_plan(plan, seed=seed, timeout=timeout, memory_bytes=memory_bytes)
    return {"notebook": name, "assignment": name, "student": student,
            "score": sum(test["points"] for test in tests),
            "max_score": sum(test["max_points"] for test in tests),
            "seed": seed, "tests": tests, "warnings": plan.warnings}

"""The points a student's function earns for an exercise scored in parts, as the grader counts
them: those of the parts that passed, none when the probe fails (nothing to judge)."""

from __future__ import annotations

from autograder.exercises import ARGUMENT_CHECKS, BEHAVIOUR, get, judge
from course_lib.checks import CheckFailure


def points(name: str, fn, *, seed: int, hidden: bool = True) -> tuple[float, str]:
    """(points, message) of ``fn`` for exercise ``name`` in one check."""
    try:
        judgement = judge(name, fn, seed=seed, hidden=hidden)
    except CheckFailure as failure:  # not implemented, or raised: the probe observed nothing
        return 0.0, str(failure)
    return judgement.points, judgement.message


def not_implemented(*args, **kwargs):
    raise NotImplementedError()


def assert_scored_in_parts(
    name: str, correct, unchecked, behaviour: float, *, seed: int, unwritten=not_implemented
) -> None:
    """``correct`` earns every point of ``name``; ``unchecked``, right but missing a
    ValueError, exactly the ``behaviour`` points, with a message naming the argument checks;
    ``unwritten``, which raises NotImplementedError, nothing."""
    parts = {part.name: part.points for part in get(name).parts}
    assert parts[BEHAVIOUR] == behaviour
    assert points(name, correct, seed=seed) == (sum(parts.values()), "")
    earned, message = points(name, unchecked, seed=seed)
    assert earned == behaviour, message
    assert message.startswith(f"{ARGUMENT_CHECKS}: ") and "must raise ValueError" in message
    earned, message = points(name, unwritten, seed=seed)
    assert earned == 0 and "is not implemented yet" in message


# Run in a grading copy of the course (what a grading kernel imports): probe the exercise with a
# student's function and print what the probe said.
_PROBE_IN_COPY = """
import json, sys
from autograder import exercises
from course_lib.checks import CheckFailure
namespace = {}
exec(sys.argv[2], namespace)
try:
    exercises.get(sys.argv[1]).probe(namespace["student"], 7, True)
except CheckFailure as failure:
    print(json.dumps({"failed": str(failure)}))
else:
    print(json.dumps({"failed": ""}))
"""


def assert_reference_scores_zero(notebook: str, name: str, source: str, root) -> None:
    """A student's ``source`` (defining ``student``) that calls course_lib's reference of
    ``name`` fails the probe in the grading kernel, with a message naming the exercise: zero."""
    import json
    import os
    import subprocess
    import sys

    from autograder import grading_copy

    copy = grading_copy.grading_copy(notebook, root=root)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE_IN_COPY, name, source],
        capture_output=True,
        text=True,
        cwd=copy,
        env=dict(os.environ, PYTHONPATH=str(copy)),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    failed = json.loads(result.stdout.strip().splitlines()[-1])["failed"]
    assert f"exercise {name}" in failed, failed

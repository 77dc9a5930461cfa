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

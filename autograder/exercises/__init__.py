"""Checks of the graded exercises, shared by the notebooks' self-checks and hidden tests.

A notebook's test cell calls :func:`check`::

    check("dropout_forward", dropout_forward)               # visible self-check
    ### BEGIN HIDDEN TESTS
    check("dropout_forward", dropout_forward, hidden=True)  # the grader's fuller test
    ### END HIDDEN TESTS

When a check fails there, its message ends with ``(stuck? hint("dropout_forward") gives a
hint)``: :func:`hint` gives the exercise's hints one at a time, in the student's kernel only.

Every exercise is split in two, so that a grader can run the halves in different processes:

* ``probe(fn, seed, hidden)`` is the only part that runs the student's code: it calls ``fn`` on
  inputs derived from ``seed`` and returns plain data (arrays, numbers, strings);
* ``verdict(observed, seed, hidden)`` decides from that data alone (it may rebuild the inputs
  from ``seed``) and raises :class:`course_lib.checks.CheckFailure` with a message saying what
  was expected, what was seen and the likely mistake.

Where a test checks separable things, the exercise is scored in **parts**, in order, each worth
its share of the test's points: the behaviour (``verdict``: values, statistics), then the
argument checks (``arguments``: bad arguments raise ValueError). Every part is judged and a failed
one keeps its message, but a part counts only if the parts before it passed: right values that
miss a ValueError keep the behaviour's points, wrong values score nothing whatever the argument
checks say. (What a probe reports of its bad calls is a few words that student code in the kernel
could forge; the values it reports cannot be, without doing the work.)

Statistical verdicts spend a false-failure probability of at most 1e-9 per assertion, so a
correct solution passes whatever way it draws its random numbers. The seed of hidden tests comes
from the environment variable ``AUTOGRADER_SEED`` when the grader sets it, else it is fixed.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import pkgutil
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from course_lib.checks import CheckFailure

SELF_CHECK_SEED = 2026
DEFAULT_HIDDEN_SEED = 1129

MIN_HINTS, MAX_HINTS = 2, 3

BEHAVIOUR = "behaviour"
ARGUMENT_CHECKS = "argument checks"
#: the method of an exercise class that judges each part, in the order parts are judged
PART_VERDICTS = {BEHAVIOUR: "verdict", ARGUMENT_CHECKS: "arguments"}


@dataclass(frozen=True)
class Part:
    """A part of an exercise scored on its own: its name as students read it, its points and its
    verdict (None in the grading kernel's copy)."""

    name: str
    points: float
    verdict: Callable | None


@dataclass(frozen=True)
class PartResult:
    """Whether one part passed, and if not, why."""

    name: str
    max_points: float
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class Judgement:
    """What the verdicts of one exercise made of what its probe observed, part by part.

    An exercise scored as a whole has one part, named ``""``, worth 1.
    """

    parts: tuple[PartResult, ...]

    def earned(self) -> list[float]:
        """The points of each part: all of them up to the first part that failed, none after."""
        earned, counting = [], True
        for part in self.parts:
            counting = counting and part.passed
            earned.append(part.max_points if counting else 0.0)
        return earned

    @property
    def points(self) -> float:
        return sum(self.earned())

    @property
    def max_points(self) -> float:
        return sum(part.max_points for part in self.parts)

    @property
    def passed(self) -> bool:
        return all(part.passed for part in self.parts)

    @property
    def message(self) -> str:
        """The message of every failed part, each after its part's name ("argument checks:
        ...") where the exercise has parts."""
        return " ".join(
            f"{part.name}: {part.message}" if part.name else part.message
            for part in self.parts
            if not part.passed
        )

    def summary(self) -> str:
        """How each part fared and its points: ``"behaviour passed (2 / 2 points); argument
        checks failed (0 / 1 point)"``."""
        lines, failed = [], None
        for part, earned in zip(self.parts, self.earned(), strict=True):
            outcome = "passed" if part.passed else "failed"
            points = f"{earned:g} / {part.max_points:g} point{'s' * (part.max_points != 1)}"
            if part.passed and failed is not None:
                points += f", counted once the {failed} passes"
            lines.append(f"{part.name} {outcome} ({points})")
            failed = failed if failed is not None or part.passed else part.name
        return "; ".join(lines)


def combined(judgements: Sequence[Judgement]) -> Judgement:
    """One judgement of an exercise from those of several probes (a test cell's self-check and
    hidden check): a part passes if it passed in each, and keeps its first failure's message."""
    if not judgements:
        raise ValueError("no judgement to combine")
    parts = []
    for results in zip(*(judgement.parts for judgement in judgements), strict=True):
        parts.append(next((result for result in results if not result.passed), results[0]))
    return Judgement(tuple(parts))


@dataclass(frozen=True)
class Exercise:
    """One graded exercise, in one record.

    ``name`` is the grade_id of its test cell and the name of the function students write;
    ``reference`` the dotted name of course_lib's reference implementation; ``equivalents`` other
    course_lib functions that hand over the same answer (a helper doing the reference's work, a
    twin that differs by a constant factor). While the exercise's notebook is graded, none of
    them exists in the grading kernel (see :mod:`autograder.grading_copy`).
    """

    name: str
    notebook: str
    reference: str
    equivalents: tuple[str, ...]
    probe: Callable
    verdict: Callable | None  # None in the grading kernel's copy, which has only the probes
    module: str
    parts: tuple[Part, ...] = ()  # empty for an exercise scored as a whole
    hints: tuple[str, ...] = ()  # empty in the grading kernel's copy (see hint())

    @property
    def references(self) -> tuple[str, ...]:
        return (self.reference, *self.equivalents)

    def judge(self, observed, seed: int, hidden: bool) -> Judgement:
        """Run the verdict of each part, in order, on what the probe observed.

        A part whose verdict raises AssertionError (:class:`CheckFailure`) fails with its
        message; the next parts are judged all the same (:class:`Judgement` counts their points
        only after parts that passed). Any other exception propagates: the observations could
        not be judged at all.
        """
        parts = self.parts or (Part("", 1.0, self.verdict),)
        results = []
        for part in parts:
            if part.verdict is None:
                raise RuntimeError(
                    f"the verdict of {self.name} runs in the grader, not in a grading kernel"
                )
            try:
                part.verdict(observed, seed, hidden)
            except AssertionError as failure:
                message = str(failure) or f"{type(failure).__name__} without a message"
                results.append(PartResult(part.name, part.points, False, message))
            else:
                results.append(PartResult(part.name, part.points, True))
        return Judgement(tuple(results))


REGISTRY: dict[str, Exercise] = {}


def exercise(
    name: str,
    notebook: str,
    *,
    reference: str,
    equivalents: tuple[str, ...] = (),
    parts: dict[str, float] | None = None,
    hints: Sequence[str] = (),
):
    """Register ``probe`` and the verdicts of a module-level class as the exercise ``name``.

    ``parts``, for an exercise scored in parts, gives each part's points in the order they are
    judged, e.g. ``{BEHAVIOUR: 2, ARGUMENT_CHECKS: 1}``; the class's method that
    :data:`PART_VERDICTS` names judges each part. The points, whole or half, must add up to
    those of the exercise's test cell (the build refuses a notebook where they do not).

    ``hints``, two or three, from the idea to the common trap, are what :func:`hint` shows a
    student one at a time. They never give the answer: no line of the reference, no formula to
    paste. The grading copy of the registry has none (:mod:`autograder.grading_copy`).
    """
    if hints and not MIN_HINTS <= len(hints) <= MAX_HINTS:
        raise ValueError(f"{name}: give {MIN_HINTS} to {MAX_HINTS} hints, got {len(hints)}")

    def register(cls):
        REGISTRY[name] = Exercise(
            name,
            notebook,
            reference,
            tuple(equivalents),
            cls.probe,
            getattr(cls, "verdict", None),
            cls.__module__,
            _parts(name, cls, parts or {}),
            tuple(hints),
        )
        return cls

    return register


def _parts(name: str, cls, points: dict[str, float]) -> tuple[Part, ...]:
    """The parts of exercise ``name`` (class ``cls``) with their points and verdicts."""
    if not points:
        extra = [m for part, m in PART_VERDICTS.items() if part != BEHAVIOUR and hasattr(cls, m)]
        if extra:
            raise ValueError(f"{name}: {', '.join(extra)} judge a part, but no parts are given")
        return ()
    if next(iter(points)) != BEHAVIOUR or not set(points) <= set(PART_VERDICTS):
        raise ValueError(
            f"{name}: parts are {', '.join(PART_VERDICTS)}, behaviour first; got {list(points)}"
        )
    if any(value <= 0 or (2 * value) % 1 for value in points.values()):
        raise ValueError(f"{name}: the points of a part are whole or half and > 0: {points}")
    verdicts = {part: getattr(cls, PART_VERDICTS[part], None) for part in points}
    missing = [PART_VERDICTS[part] for part, verdict in verdicts.items() if verdict is None]
    if missing and verdicts[BEHAVIOUR] is not None:  # the grading kernel's copy has no verdict
        raise ValueError(f"{name}: no method {', '.join(missing)} to judge its part")
    return tuple(Part(part, float(value), verdicts[part]) for part, value in points.items())


def _load_all() -> None:
    """Import every exercise module: ``nb01_intuition`` ... ``nb07_capstone``, one per notebook
    and named after it (not the kit)."""
    for module in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"nb\d\d_\w+", module.name):
            importlib.import_module(f"{__name__}.{module.name}")


def load_notebook(notebook: str) -> None:
    """Import the exercise module of one notebook (``03_inverted_dropout`` ->
    ``nb03_inverted_dropout``), if it has one; the other notebooks' modules stay unimported
    (the other six cost about 0.1 s of CPU that grading 03 does not need)."""
    name = f"nb{notebook}"
    if re.fullmatch(r"nb\d\d_\w+", name) and importlib.util.find_spec(f"{__name__}.{name}"):
        importlib.import_module(f"{__name__}.{name}")


def all_exercises() -> list[Exercise]:
    """Every exercise of the course, in notebook order, then in the order of its module."""
    _load_all()
    return sorted(REGISTRY.values(), key=lambda ex: ex.notebook)


def of_notebook(notebook: str) -> list[Exercise]:
    return [ex for ex in all_exercises() if ex.notebook == notebook]


def get(name: str) -> Exercise:
    if name not in REGISTRY:
        _load_all()
    if name not in REGISTRY:
        raise KeyError(f"no exercise named {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def hidden_seed() -> int:
    value = os.environ.get("AUTOGRADER_SEED")
    return int(value) if value else DEFAULT_HIDDEN_SEED


class NotImplementedYet(CheckFailure):
    """The student's function still raises NotImplementedError."""


def call(fn: Callable, *args, **kwargs):
    """Call the student's function; turn its exceptions into a readable CheckFailure."""
    name = getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotImplementedYet(
            f"{name} is not implemented yet (it raises "
            "NotImplementedError): replace the 'raise "
            "NotImplementedError()' line with your code."
        ) from None
    except CheckFailure:
        raise
    except Exception as error:  # the student's bug, reported as a failed check
        where = traceback.extract_tb(error.__traceback__)[-1]
        raise CheckFailure(
            f"{name} raised {type(error).__name__}: {error} (line {where.lineno}: {where.line})"
        ) from None


class Failed(CheckFailure):
    """Some part of an exercise failed; ``judgement`` holds the points of each part."""

    def __init__(self, judgement: Judgement):
        super().__init__(judgement.message)
        self.judgement = judgement


def judge(name: str, fn: Callable, *, seed: int, hidden: bool) -> Judgement:
    """Probe and judge in this process (the notebook's kernel). A probe that fails (the
    function is not implemented, or raises) raises its CheckFailure: that scores 0."""
    if not callable(fn):
        raise CheckFailure(f"{name} must be a function, got {type(fn).__name__}")
    ex = get(name)
    return ex.judge(ex.probe(fn, seed, hidden), seed, hidden)


def run(name: str, fn: Callable, *, seed: int, hidden: bool) -> None:
    """:func:`judge`, raising :class:`Failed` unless every part passed."""
    judgement = judge(name, fn, seed=seed, hidden=hidden)
    if not judgement.passed:
        raise Failed(judgement)


def check(name: str, fn: Callable, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check the student's ``fn`` for exercise ``name``; print a line when every check passes.

    When a part of an exercise scored in parts fails, print how each part fared and its points
    first, then raise with the failed parts' messages.
    """
    if seed is None:
        seed = hidden_seed() if hidden else SELF_CHECK_SEED
    kind = "hidden checks" if hidden else "self-checks"
    try:
        judgement = judge(name, fn, seed=seed, hidden=hidden)
        if judgement.passed:
            print(f"{name}: all {kind} passed")
            return
        if len(judgement.parts) > 1:
            print(
                f"{name}: {judgement.points:g} / {judgement.max_points:g} points in these "
                f"{kind}: {judgement.summary()}"
            )
        raise Failed(judgement)
    except CheckFailure as failure:
        pointer = hint_pointer(name)
        if pointer:
            failure.args = (f"{failure} {pointer}",)
        raise


# --- hints ------------------------------------------------------------------------------------
# Which hint comes next is state of the student's kernel: hints are not graded, and the grader
# never calls hint() (its kernel's copy of the registry has no hints).

_hints_offered = True
_hints_given: dict[str, int] = {}


def offer_hints(offered: bool = True) -> None:
    """Turn :func:`hint`, and the pointer to it that ends a failed check's message, on or off in
    this kernel. A notebook released without hints calls ``offer_hints(False)`` in its first
    code cell (:mod:`autograder.release`)."""
    global _hints_offered
    _hints_offered = bool(offered)


def hint_pointer(name: str) -> str:
    """The words that end a failed check of exercise ``name`` in a notebook, or ``""`` when no
    hint is offered for it."""
    if not _hints_offered or name not in REGISTRY or not REGISTRY[name].hints:
        return ""
    return f'(stuck? hint("{name}") gives a hint)'


def _exercise_for_hint(name) -> Exercise:
    """The exercise ``name`` (or the function of that name); ValueError listing the exercises
    of the notebook the name seems to belong to, or of every notebook."""
    name = getattr(name, "__name__", name)
    _load_all()
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    close = difflib.get_close_matches(str(name), REGISTRY, n=1, cutoff=0.6)
    notebooks = (
        [REGISTRY[close[0]].notebook]
        if close
        else sorted({ex.notebook for ex in REGISTRY.values()})
    )
    listed = "; ".join(
        f"notebook {notebook}: {', '.join(repr(ex.name) for ex in of_notebook(notebook))}"
        for notebook in notebooks
    )
    raise ValueError(
        f"no exercise named {name!r}: hint() takes the name of an exercise as check() does. "
        f"The exercises of {listed}"
    )


def solution_pointer(exercise: Exercise) -> str:
    notebook = exercise.notebook
    return (
        f"The worked solution is in the instructor version of the notebook, "
        f"autograder/course/source/{notebook}/{notebook}.ipynb in the course's repository "
        f"(in a class, ask your instructor): read it once you have made your own attempt."
    )


def hint(name) -> None:
    """Print the next hint for exercise ``name``: each call gives the next one, from the idea to
    the NumPy building block to the common trap; after the last, print that there are no more
    and where the worked solution is. Raise ValueError for an unknown name, listing the
    exercises of its notebook."""
    exercise = _exercise_for_hint(name)
    if not _hints_offered:
        print(
            f"{exercise.name}: this course is released without hints; the self-check's message "
            "says what is wrong."
        )
        return
    given = _hints_given.get(exercise.name, 0)
    total = len(exercise.hints)
    if given >= total:
        more = "no more hints" if total else "no hints for this exercise"
        print(f"{exercise.name}: {more}. {solution_pointer(exercise)}")
        return
    _hints_given[exercise.name] = given + 1
    last = " (the last one)" if given + 1 == total else ""
    print(f"{exercise.name}, hint {given + 1} of {total}{last}: {exercise.hints[given]}")

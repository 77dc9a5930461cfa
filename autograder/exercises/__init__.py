"""Checks of the graded exercises, shared by the notebooks' self-checks and hidden tests.

A notebook's test cell calls :func:`check`::

    check("dropout_forward", dropout_forward)               # visible self-check
    ### BEGIN HIDDEN TESTS
    check("dropout_forward", dropout_forward, hidden=True)  # the grader's fuller test
    ### END HIDDEN TESTS

Every exercise is split in two, so that a grader can run the halves in different processes:

* ``probe(fn, seed, hidden)`` is the only part that runs the student's code: it calls ``fn`` on
  inputs derived from ``seed`` and returns plain data (arrays, numbers, strings);
* ``verdict(observed, seed, hidden)`` decides from that data alone (it may rebuild the inputs
  from ``seed``) and raises :class:`course_lib.checks.CheckFailure` with a message saying what
  was expected, what was seen and the likely mistake.

Statistical verdicts spend a false-failure probability of at most 1e-9 per assertion, so a
correct solution passes whatever way it draws its random numbers. The seed of hidden tests comes
from the environment variable ``AUTOGRADER_SEED`` when the grader sets it, else it is fixed.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from course_lib.checks import CheckFailure

SELF_CHECK_SEED = 2026
DEFAULT_HIDDEN_SEED = 1129


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

    @property
    def references(self) -> tuple[str, ...]:
        return (self.reference, *self.equivalents)

    def judge(self, observed, seed: int, hidden: bool) -> None:
        """Run the verdict on what the probe observed."""
        if self.verdict is None:
            raise RuntimeError(
                f"the verdict of {self.name} runs in the grader, not in a grading kernel"
            )
        self.verdict(observed, seed, hidden)


REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, notebook: str, *, reference: str, equivalents: tuple[str, ...] = ()):
    """Register ``probe`` and ``verdict`` of a module-level class as the exercise ``name``."""

    def register(cls):
        REGISTRY[name] = Exercise(
            name,
            notebook,
            reference,
            tuple(equivalents),
            cls.probe,
            getattr(cls, "verdict", None),
            cls.__module__,
        )
        return cls

    return register


def _load_all() -> None:
    """Import every exercise module: ``nb01_intuition`` ... ``nb07_capstone``, one per notebook
    and named after it (not the kit)."""
    for module in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"nb\d\d_\w+", module.name):
            importlib.import_module(f"{__name__}.{module.name}")


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


def run(name: str, fn: Callable, *, seed: int, hidden: bool) -> None:
    """Probe and judge in this process (the notebook's kernel)."""
    if not callable(fn):
        raise CheckFailure(f"{name} must be a function, got {type(fn).__name__}")
    ex = get(name)
    ex.judge(ex.probe(fn, seed, hidden), seed, hidden)


def check(name: str, fn: Callable, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check the student's ``fn`` for exercise ``name``; print a line when every check passes."""
    if seed is None:
        seed = hidden_seed() if hidden else SELF_CHECK_SEED
    run(name, fn, seed=seed, hidden=hidden)
    print(f"{name}: all {'hidden checks' if hidden else 'self-checks'} passed")

"""The code the grader runs *inside* the student's kernel to probe one exercise.

It calls the exercise's probe on the student's function and displays the observed data with a
private MIME type; the grader reads it from that one cell's outputs and judges it in its own
process (see :mod:`autograder.grading`), where student code cannot reach the verdict.
"""

from __future__ import annotations

import importlib
import sys

REFERENCE_MODULES = ("analysis", "dropout", "gradcheck", "masks", "mc", "nn", "variants")


def _reference_codes(name: str) -> set:
    codes = set()
    for module_name in REFERENCE_MODULES:
        try:
            module = importlib.import_module(f"course_lib.{module_name}")
        except ImportError:
            continue
        function = getattr(module, name, None)
        code = getattr(function, "__code__", None)
        if code is not None:
            codes.add(code)
    return codes


def probe(name: str, fn, seed: int, hidden: bool) -> dict:
    """Run the probe of exercise ``name`` on ``fn``; return the payload to display."""
    from course_lib.checks import CheckFailure

    from . import exercises, wire

    exercise = exercises.fresh(name)
    reference = _reference_codes(name)
    used_reference = []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code in reference:
            used_reference.append(frame.f_code.co_filename)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        observed = exercise.probe(fn, seed, hidden)
    except CheckFailure as error:
        return {"failure": str(error), "reference": bool(used_reference)}
    finally:
        sys.setprofile(previous)
    try:
        return {"observed": wire.encode(observed), "reference": bool(used_reference)}
    except wire.WireError as error:
        return {"failure": f"the results of {name} could not be read: {error}",
                "reference": bool(used_reference)}


def display_probe(name: str, fn, seed: int, hidden: bool) -> None:
    from IPython.display import display

    from . import wire

    display({wire.MIME: probe(name, fn, seed, hidden)}, raw=True)

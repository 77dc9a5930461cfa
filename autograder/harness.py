"""The code the grader runs *inside* the student's kernel to probe one exercise.

It calls the exercise's probe on the student's function and displays the observed data with a
private MIME type; the grader reads it from that one cell's outputs and judges it in its own
process (see :mod:`autograder.grading`). Nothing here is a defence: student code runs in the
same kernel and can replace any of it. What makes grading sound lies outside the kernel: the
verdict is computed by the grader, and the grading kernel has no reference code to hand over
(:mod:`autograder.grading_copy`) and no files but the submission (:mod:`autograder.sandbox`).
"""

from __future__ import annotations


def probe(name: str, fn, seed: int, hidden: bool) -> dict:
    """Run the probe of exercise ``name`` on ``fn``; return the payload to display: what it
    observed as JSON (``observed``), the bytes of its arrays apart (``buffers``, see
    :mod:`autograder.wire`), or the ``failure`` it reported."""
    from course_lib.checks import CheckFailure

    from . import exercises, wire

    try:
        observed = exercises.get(name).probe(fn, seed, hidden)
    except CheckFailure as error:
        return {"failure": str(error)}
    buffers: list[bytes] = []
    try:
        return {"observed": wire.encode(observed, buffers), "buffers": buffers}
    except wire.WireError as error:
        return {"failure": f"the results of {name} could not be read: {error}"}


def display_probe(name: str, fn, seed: int, hidden: bool) -> None:
    """Display the payload of :func:`probe` as the kernel's display publisher does, but with
    its ``buffers`` as the message's binary buffers (a display's data must be JSON)."""
    from IPython import get_ipython

    from . import wire

    payload = probe(name, fn, seed, hidden)
    buffers = payload.pop("buffers", []) if isinstance(payload, dict) else []
    publisher = get_ipython().display_pub  # pyright: ignore[reportOptionalMemberAccess]
    session = publisher.session
    content = {"data": {wire.MIME: payload}, "metadata": {}, "transient": {}}
    message = session.msg("display_data", content, parent=publisher.parent_header)
    publisher._flush_streams()  # what the cell printed first comes first, as with display()
    session.send(publisher.pub_socket, message, ident=publisher.topic, buffers=buffers)


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` when a grading kernel starts, before any student code runs.

    For speed only (:mod:`autograder.pool` starts a submission's kernel while the submission
    before is graded): the imports a notebook makes anyway are then done ahead of time. Nothing
    is bound in the user's namespace, and a student could have run the same imports first; a
    module that fails to import is left to the notebook's own import to report.
    """
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            continue

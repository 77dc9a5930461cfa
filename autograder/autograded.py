"""The autograded notebook: what nbgrader's ``autograde`` leaves in ``autograded/``, for formgrader.

nbgrader's autograde keeps the student's notebook with the instructor's locked cells and test
cells put back (hidden tests included: the autograded notebook is for instructors only), runs it
and keeps the outputs. nbgrader scores a test cell by its outputs
(:func:`nbgrader.utils.determine_grade`): an error, or anything on stderr, scores 0; an
``execute_result`` holding a number scores that many points (partial credit); anything else
scores full marks. Here the cells run in the grader's kernel and the tests are judged in the
grader's process, so each test cell gets one output that states the grader's result in that
convention, and nbgrader reading the notebook arrives at the grader's score.

The notebook's metadata keeps the grader's result (:data:`RESULT_KEY`), so that feedback can be
written again after manual grading without running anything.
"""

from __future__ import annotations

import copy

import nbformat

from .runner import CellOutcome

RESULT_KEY = "autograder"
ERROR_NAMES = {"failed": "AssertionError", "error": "GradingError", "timeout": "TimeoutError"}


def cell_outputs(outcome: CellOutcome) -> list:
    """The outputs of a cell that ran; a time-out or a dead kernel is stated as an error."""
    outputs = list(outcome.outputs)
    if outcome.status in ("timeout", "dead") and not any(
        output.output_type == "error" for output in outputs
    ):
        ename = "TimeoutError" if outcome.status == "timeout" else "KernelDied"
        outputs.append(
            nbformat.v4.new_output(
                "error", ename=ename, evalue=outcome.error, traceback=[f"{ename}: {outcome.error}"]
            )
        )
    return outputs


def score_outputs(test: dict) -> list:
    """The outputs of a test cell from which nbgrader reads the score ``test["points"]``.

    ``test`` is one entry of the result's ``tests``: full marks print the outcome; partial
    credit prints it and returns the points as an ``execute_result``; no points raise an error
    whose message is the test's message.
    """
    points, max_points = float(test["points"]), float(test["max_points"])
    summary = f"{test['id']}: {test['status']}, {points:g} / {max_points:g} points"
    message = test.get("message") or ""
    text = f"{summary}\n{message}\n" if message else f"{summary}\n"
    if test["status"] == "passed" and points >= max_points:
        return [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if points > 0:
        return [
            nbformat.v4.new_output("stream", name="stdout", text=text),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(points)}),
        ]
    ename = ERROR_NAMES.get(test["status"], "GradingError")
    evalue = message or summary
    return [
        nbformat.v4.new_output(
            "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
        )
    ]


def build(plan, instructor, outputs: dict[int, list], tests: list[dict], *, note: str = ""):
    """The notebook as graded: ``plan.cells`` with the ``outputs`` of the cells that ran (by
    index in ``plan.cells``) and, in each test cell, the outputs of its result in ``tests``;
    ``note``, if any, in a markdown cell at the top (why the submission could not be graded)."""
    results = {test["id"]: test for test in tests}
    tests_at = {step[2]: step[1].grade_id for step in plan.steps if step[0] == "test"}
    cells = copy.deepcopy(plan.cells)
    count = 0
    for position, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        if position in outputs:
            cell.outputs = copy.deepcopy(outputs[position])
        elif tests_at.get(position) in results:
            cell.outputs = score_outputs(results[tests_at[position]])
        else:
            continue  # a demonstration the grader did not need to run
        count += 1
        cell.execution_count = count
        for output in cell.outputs:
            if output.output_type == "execute_result":
                output.execution_count = count
    if note:
        cells.insert(0, nbformat.v4.new_markdown_cell(f"**Not graded:** {note}"))
    notebook = nbformat.v4.new_notebook(metadata=copy.deepcopy(dict(instructor.metadata)))
    notebook.cells = cells
    return notebook


def result_of(notebook) -> dict | None:
    """The grader's result kept in an autograded notebook, or None (not written by the grader)."""
    result = notebook.get("metadata", {}).get(RESULT_KEY)
    return result if isinstance(result, dict) else None

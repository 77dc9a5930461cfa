"""autograder.autograded: the notebook as graded, and the outputs from which nbgrader reads the
grader's scores (nbgrader's own determine_grade is the judge)."""

import nbformat
import pytest
from nbgrader.utils import determine_grade

from autograder.assemble import assemble
from autograder.autograded import build, cell_outputs, result_of, score_outputs
from autograder.runner import CellOutcome
from grading_helpers import instructor, submission

NB = "03_inverted_dropout"
ANSWER = "Scaled once by the mask and once more relative to smaller weights."


def _test_cell(points: float):
    cell = nbformat.v4.new_code_cell('check("dropout_forward", dropout_forward)')
    cell.metadata.nbgrader = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "dropout_forward",
        "points": points,
        "schema_version": 3,
    }
    return cell


@pytest.mark.parametrize(
    "status,points,max_points",
    [
        ("passed", 4.0, 4.0),
        ("passed", 1.5, 4.0),  # partial credit: an execute_result holding the points
        ("failed", 3.0, 4.0),  # the parts that passed (autograder.exercises), as partial credit
        ("failed", 0.5, 2.0),
        ("failed", 0.0, 4.0),
        ("error", 0.0, 4.0),
        ("timeout", 0.0, 4.0),
        ("passed", 0.0, 0.0),
    ],
)
def test_nbgrader_reads_the_graders_score_from_a_test_cells_outputs(status, points, max_points):
    message = "kept units are not scaled" if status != "passed" else ""
    cell = _test_cell(max_points)
    test = {
        "id": "dropout_forward",
        "points": points,
        "max_points": max_points,
        "status": status,
        "message": message,
    }
    cell.outputs = score_outputs(test)
    assert determine_grade(cell) == (points, max_points)
    shown = nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))
    assert message in shown


def test_a_cell_that_timed_out_or_killed_its_kernel_ends_in_an_error():
    printed = nbformat.v4.new_output("stream", name="stdout", text="epoch 1\n")
    timed_out = cell_outputs(
        CellOutcome("timeout", "the cell ran longer than 5 s", None, [printed])
    )
    assert [o.output_type for o in timed_out] == ["stream", "error"]
    assert timed_out[-1].ename == "TimeoutError" and "longer than 5 s" in timed_out[-1].evalue
    died = cell_outputs(CellOutcome("dead", "the kernel died"))
    assert died[0].ename == "KernelDied"
    raised = nbformat.v4.new_output("error", ename="ValueError", evalue="p_drop", traceback=[])
    assert cell_outputs(CellOutcome("error", "ValueError: p_drop", None, [raised])) == [raised]


def _answered(notebook):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "explain_boosting_factor":
            cell.source = ANSWER
    # a cell of the student's own after the first solution, and a note of theirs
    at = next(
        i
        for i, cell in enumerate(notebook.cells)
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "dropout_forward_solution"
    )
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell("print(dropout_forward)"))
    notebook.cells.insert(at + 2, nbformat.v4.new_markdown_cell("My note."))
    # a test cell the student emptied
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "equivalent_standard_lr":
            cell.source = "pass"


def test_the_graded_notebook_has_every_output_in_its_cell():
    teacher = instructor(NB)
    plan = assemble(teacher, submission(NB, correct=True, edit=_answered))
    outputs = {
        step[3]: [nbformat.v4.new_output("stream", name="stdout", text=f"ran {step[2]}\n")]
        for step in plan.steps
        if step[0] == "code"
    }
    tests = [
        {"id": t.grade_id, "points": t.points, "max_points": t.points, "status": "passed"}
        for t in plan.tests
    ]
    notebook = build(plan, teacher, outputs, tests)
    nbformat.validate(notebook)
    cells = notebook.cells
    for step in plan.steps:
        if step[0] == "code":
            assert cells[step[3]].source == step[1]
            assert cells[step[3]].outputs[0].text == f"ran {step[2]}\n"
        else:  # the instructor's test cell, hidden tests included, with its result
            assert (
                cells[step[2]].source == step[1].source and "BEGIN HIDDEN TESTS" in step[1].source
            )
            assert cells[step[2]].metadata.nbgrader["grade_id"] == step[1].grade_id
            assert determine_grade(cells[step[2]]) == (step[1].points, step[1].points)
    counts = [cell.execution_count for cell in cells if cell.cell_type == "code"]
    ran = [count for count in counts if count is not None]
    assert ran == list(range(1, len(ran) + 1)) and len(ran) == len(plan.steps)
    assert None in counts  # the demonstrations the grader skipped did not run
    # the student's cells: solutions, written answer, added code and markdown, in place
    sources = [cell.source for cell in cells]
    solution = sources.index(plan.solution_sources["dropout_forward_solution"])
    assert sources[solution + 1 : solution + 3] == ["print(dropout_forward)", "My note."]
    assert ANSWER in sources
    teacher_ids = [cell.id for cell in teacher.cells]
    assert [cell.id for cell in cells if cell.id in teacher_ids] == teacher_ids
    assert "pass" not in sources  # the emptied test cell is the instructor's again


def test_an_ungradable_notebook_says_why_on_top():
    teacher = instructor(NB)
    plan = assemble(teacher, {"cells": []})
    tests = [
        {"id": t.grade_id, "points": 0.0, "max_points": t.points, "status": "error"}
        for t in plan.tests
    ]
    notebook = build(plan, teacher, {}, tests, note="not a notebook: the file is empty")
    assert notebook.cells[0].source == "**Not graded:** not a notebook: the file is empty"
    graded = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    # every test cell scores 0; a written answer has no automatic grade (None)
    assert [determine_grade(cell)[0] for cell in graded] == [
        0 if cell.cell_type == "code" else None for cell in graded
    ]
    assert [cell.cell_type for cell in graded].count("markdown") >= 1


def test_the_result_is_kept_in_the_notebooks_metadata():
    notebook = nbformat.v4.new_notebook()
    assert result_of(notebook) is None
    notebook.metadata["autograder"] = {"score": 3.0}
    assert result_of(nbformat.reads(nbformat.writes(notebook), as_version=4)) == {"score": 3.0}

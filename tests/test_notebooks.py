"""Every notebook: built from its source, runs top to bottom, draws its figures, and nbgrader
grades the instructor version full marks and the untouched student version zero.

The tests marked slow run nbgrader or execute notebooks in a kernel."""

import json

import pytest

from autograder import build, exercises
from notebook_helpers import (
    NOTEBOOKS,
    STUDENT,
    execute,
    grade_with_nbgrader,
    graded_cells,
    instructor_path,
    outputs_of,
)


def test_every_notebook_has_a_source():
    assert build.names() == NOTEBOOKS


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_built_notebooks_are_up_to_date(name):
    stale = build.build(name, check=True)
    assert not stale, f"run `make notebooks`: {[str(path) for path in stale]} out of date"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_autograded_cells_are_the_registered_exercises(name):
    cells = graded_cells(name)
    autograded = {grade_id for grade_id, meta in cells.items() if not meta["solution"]}
    assert autograded, f"{name} has no autograded test cell"
    assert autograded == {exercise.name for exercise in exercises.of_notebook(name)}
    assert all(cells[grade_id]["points"] > 0 for grade_id in autograded)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebook_runs_headless_and_draws(name, tmp_path):
    notebook, seconds = execute(instructor_path(name), cwd=tmp_path)
    errors = [output for _, output in outputs_of(notebook, "error")]
    assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    stderr = [
        output["text"]
        for _, output in outputs_of(notebook, "stream")
        if output["name"] == "stderr" and "Traceback" in output["text"]
    ]
    assert not stderr
    figures = [
        output for _, output in outputs_of(notebook) if "image/png" in output.get("data", {})
    ]
    assert figures, f"{name} drew no figure"
    print(f"{name}: executed in {seconds:.1f} s, {len(figures)} figures")


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nbgrader_full_marks_for_solutions_and_zero_for_the_blank_notebook(name, tmp_path):
    scores = grade_with_nbgrader(
        name, {"solution": instructor_path(name), "blank": STUDENT / f"{name}.ipynb"}, tmp_path
    )
    autograded = {
        grade_id: meta["points"]
        for grade_id, meta in graded_cells(name).items()
        if not meta["solution"]
    }
    assert {grade_id: score for grade_id, (score, _) in scores["solution"].items()} == autograded
    assert all(score == 0 for score, _ in scores["blank"].values()), scores["blank"]
    assert set(scores["blank"]) == set(autograded)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_version_hides_solutions_and_hidden_tests(name):
    text = (STUDENT / f"{name}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "hidden=True" not in text
    notebook = json.loads(text)
    stubs = [
        cell for cell in notebook["cells"] if cell["metadata"].get("nbgrader", {}).get("solution")
    ]
    assert stubs and all("YOUR" in "".join(cell["source"]) for cell in stubs)

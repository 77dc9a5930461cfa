"""Every notebook: built from its source, runs top to bottom, draws its figures, and nbgrader
grades the instructor version full marks and the untouched student version zero."""

import json

import pytest

from autograder import build
from notebook_helpers import (NOTEBOOKS, STUDENT, execute, grade_with_nbgrader, graded_cells,
                              instructor_path, outputs_of)

SPEC_EXERCISES = {
    "01_intuition": ["count_parameters", "count_subnetworks"],
    "02_bernoulli_binomial": ["sample_mask", "prob_exactly_dropped", "dropped_count_range"],
    "03_inverted_dropout": ["dropout_forward", "equivalent_standard_lr"],
    "04_backprop": ["dropout_backward", "relative_error"],
    "05_variants": ["spatial_dropout_forward", "gaussian_dropout_forward",
                    "alpha_dropout_forward", "dropconnect_forward"],
    "06_mc_dropout": ["mc_predict", "predictive_entropy", "mutual_information"],
    "07_capstone": [],
}


def test_every_notebook_has_a_source():
    assert NOTEBOOKS == build.names()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_built_notebooks_are_up_to_date(name):
    stale = build.build(name, check=True)
    assert not stale, f"run `make notebooks`: {[str(path) for path in stale]} out of date"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_ids_follow_the_spec(name):
    cells = graded_cells(name)
    for exercise in SPEC_EXERCISES[name]:
        assert exercise in cells, f"{name} has no test cell with grade_id {exercise!r}"
        assert cells[exercise]["points"] > 0
    autograded = [grade_id for grade_id, meta in cells.items() if not meta["solution"]]
    assert autograded, f"{name} has no autograded test cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solution_notebook_runs_headless_and_draws(name, tmp_path):
    notebook, seconds = execute(instructor_path(name), cwd=tmp_path)
    errors = [output for _, output in outputs_of(notebook, "error")]
    assert not errors, f"{name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    stderr = [output["text"] for _, output in outputs_of(notebook, "stream")
              if output["name"] == "stderr" and "Traceback" in output["text"]]
    assert not stderr
    figures = [output for _, output in outputs_of(notebook)
               if "image/png" in output.get("data", {})]
    assert figures, f"{name} drew no figure"
    print(f"{name}: executed in {seconds:.1f} s, {len(figures)} figures")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_nbgrader_full_marks_for_solutions_and_zero_for_the_blank_notebook(name, tmp_path):
    scores = grade_with_nbgrader(name, {"solution": instructor_path(name),
                                        "blank": STUDENT / f"{name}.ipynb"}, tmp_path)
    autograded = {grade_id: meta["points"] for grade_id, meta in graded_cells(name).items()
                  if not meta["solution"]}
    assert {grade_id: score for grade_id, (score, _) in scores["solution"].items()} == autograded
    assert all(score == 0 for score, _ in scores["blank"].values()), scores["blank"]
    assert set(scores["blank"]) == set(autograded)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_student_version_hides_solutions_and_hidden_tests(name):
    text = (STUDENT / f"{name}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "hidden=True" not in text
    notebook = json.loads(text)
    stubs = [cell for cell in notebook["cells"]
             if cell["metadata"].get("nbgrader", {}).get("solution")]
    assert stubs and all("YOUR" in "".join(cell["source"]) for cell in stubs)

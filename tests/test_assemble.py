"""autograder.assemble: which cells a submission's grading runs, demo cells included or not."""

import nbformat
import pytest

from autograder import build
from autograder.assemble import DEMO_TAG, _names, assemble
from grading_helpers import instructor, submission


def _notebook(*cells, ids="cell"):
    """A notebook from (kind, source) pairs: "setup", "demo", or "solution:<grade_id>"."""
    notebook = nbformat.v4.new_notebook()
    for index, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source)
        cell.id = f"{ids}-{index}"
        if kind == "demo":
            cell.metadata["tags"] = [DEMO_TAG]
        elif kind.startswith("solution:"):
            cell.metadata["nbgrader"] = {"grade_id": kind.split(":")[1], "solution": True,
                                         "grade": False, "locked": False}
        notebook.cells.append(cell)
    return notebook


INSTRUCTOR = _notebook(
    ("setup", "import numpy as np"),
    ("demo", "table = np.arange(4)\nfigure = 'a figure'"),
    ("demo", "weights = table * 2"),
    ("demo", "curve = 'another figure'"),
    ("solution:f_solution", "def f(x):\n    return x"),
)


def _ran(plan):
    return [step[1] for step in plan.steps if step[0] == "code"]


def test_demo_cells_are_skipped_when_no_student_code_needs_them():
    plan = assemble(INSTRUCTOR, _notebook(("solution:f_solution", "def f(x):\n    return 2 * x")))
    assert _ran(plan) == ["import numpy as np", "def f(x):\n    return 2 * x"]
    assert plan.skipped == ["cell cell-1", "cell cell-2", "cell cell-3"]


def test_a_demo_cell_runs_when_a_solution_reads_its_name_and_so_do_the_cells_it_needs():
    solution = "def f(x):\n    return x @ weights"
    plan = assemble(INSTRUCTOR, _notebook(("solution:f_solution", solution)))
    assert _ran(plan) == ["import numpy as np", "table = np.arange(4)\nfigure = 'a figure'",
                          "weights = table * 2", solution]
    assert plan.skipped == ["cell cell-3"]


def test_a_cell_the_student_added_counts_as_student_code():
    submitted = _notebook(("solution:f_solution", "def f(x):\n    return x"),
                          ("setup", "print(curve)"), ids="added")
    plan = assemble(INSTRUCTOR, submitted)
    assert "curve = 'another figure'" in _ran(plan) and "print(curve)" in _ran(plan)


def test_a_functions_own_names_do_not_pull_in_a_demo_cell():
    solution = "def f(x):\n    weights = x + 1\n    table = [weights]\n    return table"
    plan = assemble(INSTRUCTOR, _notebook(("solution:f_solution", solution)))
    assert len(plan.skipped) == 3


def test_keeping_every_demo_cell_on_request():
    plan = assemble(INSTRUCTOR, _notebook(), skip_demos=False)
    assert len(_ran(plan)) == 5 and plan.skipped == []


@pytest.mark.parametrize("name", build.names())
def test_the_instructors_own_solutions_need_only_demo_cells_that_define_what_they_read(name):
    notebook = instructor(name)
    demos = {f"cell {cell.id}": cell.source for cell in notebook.cells
             if DEMO_TAG in cell.metadata.get("tags", [])}
    plan = assemble(notebook, submission(name, correct=True))
    pulled = set(demos) - set(plan.skipped)
    read = set().union(*(_names(source)[1] for source in plan.solution_sources.values()))
    assert demos and all(_names(demos[label])[0] & read for label in pulled)
    # notebook 05's solution reads ALPHA_PRIME, which a demo cell defines; nothing else is needed
    assert {name: len(pulled)} == {name: 1 if name == "05_variants" else 0}


@pytest.mark.parametrize("name", build.names())
def test_a_cell_inserted_in_the_source_leaves_a_students_cells_matched(name, tmp_path):
    """The instructor inserts a cell and rebuilds after students got the notebook: their setup
    and demo cells keep matching the instructor's by id, so none runs as a cell they added."""
    text = (build.SOURCES / f"{name}.py").read_text()
    second = text.index("\n# %%") + 1
    source = tmp_path / f"{name}.py"
    source.write_text(text[:second] + '# %% id="inserted"\nINSERTED = 1\n\n' + text[second:])
    rebuilt = build.parse(source)
    assert [cell.id for cell in rebuilt.cells if cell.id != "inserted"] == [
        cell.id for cell in instructor(name).cells]
    plan = assemble(rebuilt, submission(name, correct=True))
    labels = [step[2] for step in plan.steps if step[0] == "code"]
    assert "cell inserted" in labels and plan.warnings == []
    assert not [label for label in labels if label.startswith("added")]

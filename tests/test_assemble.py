"""autograder.assemble: which cells a submission's grading runs and in which order, what of the
submission counts and what is reported, demo cells included or not."""

import copy
import json
import os

import nbformat
import pytest

from autograder import assemble as assemble_module
from autograder import build
from autograder.assemble import (
    DEMO_TAG,
    STUB,
    CheckCall,
    _names,
    assemble,
    nbgrader_meta,
    parse_check_calls,
    parse_notebook,
    read_notebook,
    read_submission,
    released,
)
from grading_helpers import instructor, submission


def _notebook(*cells, ids="cell"):
    """A notebook from (kind, source) pairs: "setup", "demo", "solution:<grade_id>",
    "test:<grade_id>" (2 points), "answer:<grade_id>" (a written answer, 1 point), "markdown"
    or "raw"."""
    notebook = nbformat.v4.new_notebook()
    for index, (kind, source) in enumerate(cells):
        role, _, grade_id = kind.partition(":")
        if role in ("answer", "markdown"):
            cell = nbformat.v4.new_markdown_cell(source)
        elif role == "raw":
            cell = nbformat.v4.new_raw_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
        cell.id = f"{ids}-{index}"
        if role == "demo":
            cell.metadata["tags"] = [DEMO_TAG]
        elif role == "solution":
            cell.metadata["nbgrader"] = {
                "grade_id": grade_id,
                "solution": True,
                "grade": False,
                "locked": False,
            }
        elif role in ("test", "answer"):
            cell.metadata["nbgrader"] = {
                "grade_id": grade_id,
                "solution": role == "answer",
                "grade": True,
                "locked": role == "test",
                "points": 2 if role == "test" else 1,
            }
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
    assert _ran(plan) == [
        "import numpy as np",
        "table = np.arange(4)\nfigure = 'a figure'",
        "weights = table * 2",
        solution,
    ]
    assert plan.skipped == ["cell cell-3"]


def test_a_cell_the_student_added_counts_as_student_code():
    submitted = _notebook(
        ("solution:f_solution", "def f(x):\n    return x"), ("setup", "print(curve)"), ids="added"
    )
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
    demos = {
        f"cell {cell.id}": cell.source
        for cell in notebook.cells
        if DEMO_TAG in cell.metadata.get("tags", [])
    }
    plan = assemble(notebook, submission(name, correct=True))
    pulled = set(demos) - set(plan.skipped)
    read = set().union(*(_names(source)[1] for source in plan.solution_sources.values()))
    assert demos and all(_names(demos[label])[0] & read for label in pulled)
    # what a solution reads (notebook 05's ALPHA_PRIME) is defined in a setup cell, so grading the
    # instructor's own solutions runs no demo cell
    assert pulled == set()


# --- a course notebook and what students do to it -------------------------------------------

F_TEST = 'check("f", f)\n### BEGIN HIDDEN TESTS\ncheck("f", f, hidden=True)\n### END HIDDEN TESTS'
COURSE = _notebook(
    ("markdown", "# Exercise f"),
    ("setup", "import numpy as np"),
    ("solution:f_solution", "def f(x):\n    return x"),
    ("test:f", F_TEST),
    ("answer:why", "Because the mask is resampled."),
    ("raw", "raw text"),
    ("setup", "scale = 2"),
    ("solution:g_solution", "def g(x):\n    return scale * x"),
    ("test:g", "assert g(1) == 2"),
    ids="course",
)
HANDED_OUT_STEPS = [
    "cell course-1",
    "solution f_solution",
    "test f",
    "cell course-6",
    "solution g_solution",
    "test g",
]


def _handed_out(notebook):
    """What students receive: solutions stubbed, hidden tests removed, answers blank."""
    handed_out = copy.deepcopy(notebook)
    for cell in handed_out.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = (
                f"# YOUR CODE HERE\n{STUB}" if cell.cell_type == "code" else "YOUR ANSWER HERE"
            )
        elif meta.get("grade"):
            cell.source = released(cell.source)
    return handed_out


def _cell(notebook, grade_id):
    return next(cell for cell in notebook.cells if nbgrader_meta(cell).get("grade_id") == grade_id)


def _labels(plan):
    return [f"test {step[1].grade_id}" if step[0] == "test" else step[2] for step in plan.steps]


def _sources(plan):
    return {step[2]: step[1] for step in plan.steps if step[0] == "code"}


def test_the_notebook_as_handed_out_runs_the_instructors_cells_in_order():
    plan = assemble(COURSE, _handed_out(COURSE))
    assert _labels(plan) == HANDED_OUT_STEPS
    assert _sources(plan)["cell course-1"] == "import numpy as np"
    assert [test.grade_id for test in plan.tests] == ["f", "g"]
    assert plan.solution_sources == {
        "f_solution": f"# YOUR CODE HERE\n{STUB}",
        "g_solution": f"# YOUR CODE HERE\n{STUB}",
    }
    assert plan.written_answers == {"why": "YOUR ANSWER HERE"}
    assert plan.warnings == [] and plan.skipped == []


def test_the_students_solutions_replace_the_instructors_and_a_deleted_one_is_the_stub():
    submitted = _handed_out(COURSE)
    _cell(submitted, "f_solution").source = "def f(x):\n    return 1 * x"
    submitted.cells.remove(_cell(submitted, "g_solution"))
    plan = assemble(COURSE, submitted)
    assert plan.solution_sources == {
        "f_solution": "def f(x):\n    return 1 * x",
        "g_solution": STUB,
    }
    assert _labels(plan) == HANDED_OUT_STEPS
    assert _sources(plan)["solution g_solution"] == STUB
    assert not any(
        "return x" in source or "scale * x" in source for source in _sources(plan).values()
    )


def test_the_instructors_order_and_cells_count_whatever_the_student_moved_or_edited():
    submitted = _handed_out(COURSE)
    submitted.cells.reverse()
    submitted.cells[-2].source = "import numpy as np\nraise SystemExit"  # the setup cell
    _cell(submitted, "f_solution").source = "def f(x):\n    return x + 0"
    plan = assemble(COURSE, submitted)
    assert _labels(plan) == HANDED_OUT_STEPS
    assert _sources(plan)["cell course-1"] == "import numpy as np"
    assert _sources(plan)["solution f_solution"] == "def f(x):\n    return x + 0"


def test_cells_the_student_added_run_after_the_instructor_cell_they_follow():
    handed_out, new = _handed_out(COURSE).cells, nbformat.v4.new_code_cell
    nothing_to_run = [
        nbformat.v4.new_markdown_cell("my notes"),
        nbformat.v4.new_raw_cell("raw"),
        new(""),
        new("  \n\n"),
    ]
    submitted = _handed_out(COURSE)
    submitted.cells = [
        new("on_top = True"),
        *handed_out[:3],
        *nothing_to_run,
        new("def helper():\n    return 1"),
        *handed_out[3:6],
        new("first = 1"),
        new("second = 2"),
        *handed_out[6:],
        new("print('at the end')"),
    ]
    plan = assemble(COURSE, submitted)
    assert _labels(plan) == [
        "added cell 1",
        "cell course-1",
        "solution f_solution",
        "added cell after course-2",
        "test f",
        "added cell after course-5",
        "added cell after course-5",
        "cell course-6",
        "solution g_solution",
        "test g",
        "added cell after course-8",
    ]
    added = [step[1] for step in plan.steps if step[0] == "code" and step[2].startswith("added")]
    assert added == [
        "on_top = True",
        "def helper():\n    return 1",
        "first = 1",
        "second = 2",
        "print('at the end')",
    ]
    assert plan.warnings == []


def _retag_as_solution(notebook):
    cell = _cell(notebook, "f")
    cell.metadata.nbgrader.update(solution=True, grade=False, locked=False)
    cell.source = "print('no test here')"


@pytest.mark.parametrize(
    "edit,warnings",
    [
        (lambda notebook: None, []),
        (lambda notebook: setattr(_cell(notebook, "f"), "source", F_TEST), []),
        (
            lambda notebook: setattr(_cell(notebook, "f"), "source", "pass"),
            ["test cell 'f' was edited; the original is used"],
        ),
        (
            lambda notebook: setattr(
                _cell(notebook, "f"), "source", 'check("f", lambda x: x)\n' + F_TEST
            ),
            ["test cell 'f' was edited; the original is used"],
        ),
        (
            lambda notebook: notebook.cells.remove(_cell(notebook, "f")),
            ["test cell 'f' is missing from the submission; the instructor's version is used"],
        ),
        (
            lambda notebook: _cell(notebook, "f").metadata.nbgrader.update(points=100),
            ["points of 'f' were edited (2 -> 100); the instructor's value is used"],
        ),
        (
            _retag_as_solution,
            [
                f"nbgrader flag {flag!r} of 'f' was edited; the instructor's cell type is used"
                for flag in ("grade", "solution", "locked")
            ]
            + ["test cell 'f' was edited; the original is used"],
        ),
    ],
    ids=[
        "as handed out",
        "hidden tests pasted back",
        "replaced",
        "a check added",
        "deleted",
        "points raised",
        "retagged as a solution",
    ],
)
def test_the_test_cell_and_its_hidden_tests_are_the_instructors_whatever_the_student_did(
    edit, warnings
):
    submitted = _handed_out(COURSE)
    edit(submitted)
    plan = assemble(COURSE, submitted)
    test = plan.tests[0]
    assert (test.grade_id, test.points, test.source) == ("f", 2.0, F_TEST)
    assert test.calls == (CheckCall("f", "f", hidden=False), CheckCall("f", "f", hidden=True))
    assert _labels(plan) == HANDED_OUT_STEPS and plan.solution_sources["f_solution"] != "pass"
    assert plan.warnings == warnings


def test_a_cell_with_a_grade_id_the_instructor_does_not_have_is_ignored_and_reported():
    submitted = _handed_out(COURSE)
    bonus = nbformat.v4.new_code_cell("bonus = True")
    bonus.metadata["nbgrader"] = {
        "grade_id": "bonus",
        "grade": True,
        "points": 100,
        "solution": False,
        "locked": True,
    }
    submitted.cells.insert(3, bonus)
    plan = assemble(COURSE, submitted)
    assert _labels(plan) == HANDED_OUT_STEPS and [test.points for test in plan.tests] == [2, 2]
    assert plan.warnings == ["cell with unknown grade_id 'bonus' ignored"]


@pytest.mark.parametrize("copy_first", [False, True])
def test_of_two_cells_with_one_grade_id_the_first_counts_and_the_other_never_runs(copy_first):
    """Copying a cell in Jupyter copies its nbgrader metadata: the submission then holds two
    cells with one grade_id, of which only the first is graded."""
    submitted = _handed_out(COURSE)
    original = _cell(submitted, "f_solution")
    original.source = "def f(x):\n    return 'original'"
    duplicate = copy.deepcopy(original)
    duplicate.id, duplicate.source = "pasted", "def f(x):\n    return 'copy'"
    submitted.cells.insert(submitted.cells.index(original) + (0 if copy_first else 1), duplicate)
    plan = assemble(COURSE, submitted)
    first = duplicate if copy_first else original
    assert plan.solution_sources["f_solution"] == first.source
    assert _labels(plan) == HANDED_OUT_STEPS  # the other one is not an added cell either
    assert plan.warnings == [
        "the submission has two cells with grade_id 'f_solution'; the first one is used"
    ]


def test_a_solution_retyped_into_a_new_cell_runs_before_the_stub_and_the_test():
    """A student who deleted the solution cell and wrote the function in a cell of their own
    still has it defined when the test runs: the stub that replaces the solution raises, but
    does not undefine it."""
    submitted = _handed_out(COURSE)
    index = submitted.cells.index(_cell(submitted, "f_solution"))
    submitted.cells[index] = nbformat.v4.new_code_cell("def f(x):\n    return x")
    plan = assemble(COURSE, submitted)
    assert _labels(plan)[:4] == [
        "cell course-1",
        "added cell after course-1",
        "solution f_solution",
        "test f",
    ]
    assert plan.solution_sources["f_solution"] == STUB


def test_a_solution_cell_that_lost_its_nbgrader_metadata_is_graded_or_reported():
    submitted = _handed_out(COURSE)
    solution = _cell(submitted, "f_solution")
    solution.source = "def f(x):\n    return x"
    del solution.metadata["nbgrader"]
    plan = assemble(COURSE, submitted)
    assert "def f(x):\n    return x" in _sources(plan).values()
    assert plan.warnings == [
        "the nbgrader metadata of 'f_solution' was removed; the cell with its id is used"
    ]


def test_written_answers_are_the_students_and_no_markdown_or_raw_cell_runs():
    submitted = _handed_out(COURSE)
    _cell(submitted, "why").source = "Each step draws a new mask."
    for cell in submitted.cells:
        if cell.cell_type == "markdown" and not nbgrader_meta(cell):
            cell.source = "x = 'markdown the student edited'"
    plan = assemble(COURSE, submitted)
    assert plan.written_answers == {"why": "Each step draws a new mask."}
    assert _labels(plan) == HANDED_OUT_STEPS
    assert all(
        "markdown" not in source and "raw" not in source and "Exercise" not in source
        for source in _sources(plan).values()
    )
    submitted.cells.remove(_cell(submitted, "why"))
    assert assemble(COURSE, submitted).written_answers == {"why": ""}


# --- the pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source,calls",
    [
        ('check("f", f)', (CheckCall("f", "f", False),)),
        (
            'check("f", f)\ncheck("f", f, hidden=True)\n# a comment',
            (CheckCall("f", "f", False), CheckCall("f", "f", True)),
        ),
        (
            'check("pair", LayerPair(forward, backward), hidden=1)',
            (CheckCall("pair", "LayerPair(forward, backward)", True),),
        ),
        ("", None),
        ("assert f(1) == 1", None),
        ('check("f", f)\nprint("done")', None),
        ('result = check("f", f)', None),
        ("check(name, f)", None),
        ('check("f", f, 3)', None),
        ('check("f", f, seed=3)', None),
        ('check("f", f, hidden=flag)', None),
        ('checks.check("f", f)', None),
        ('check("f", f', None),
    ],
)
def test_a_test_cell_is_made_of_check_calls_or_runs_as_plain_code(source, calls):
    assert parse_check_calls(source) == calls


def test_released_removes_exactly_the_hidden_tests():
    assert released(F_TEST) == 'check("f", f)'
    assert (
        released("a = 1\n### BEGIN HIDDEN TESTS\nb = 2\n### END HIDDEN TESTS\nc = 3\n")
        == "a = 1\nc = 3"
    )
    assert released('check("f", f)\n') == 'check("f", f)'


@pytest.mark.parametrize(
    "source,bound,read",
    [
        ("x = y + 1", {"x"}, {"y"}),
        ("x += 1", {"x"}, {"x"}),
        ("def step():\n    global W\n    W -= lr", {"step"}, {"W", "lr"}),
        ("def f(v):\n    total = 0\n    total += v\n    return total", {"f"}, set()),
        ("class C:\n    n = 1\n    n += 1", {"C"}, set()),
        ("import numpy as np\nfrom math import pi", {"np", "pi"}, set()),
        ("def f(a):\n    b = a + w\n    return b", {"f"}, {"w"}),
        ("class Model:\n    size = width * 2", {"Model"}, {"width"}),
        ("squares = [v * v for v in data]", {"squares"}, {"data"}),
        ("for i in steps:\n    total = i", {"i", "total"}, {"i", "steps"}),
        ("f = lambda x: x * rate", {"f"}, {"rate"}),
        ("def f(:", set(), set()),
    ],
)
def test_names_a_cell_binds_and_reads_at_module_level(source, bound, read):
    assert _names(source) == (bound, read)


@pytest.mark.parametrize("name", build.names())
def test_only_solutions_read_names_that_only_demo_cells_bind(name):
    """Setup and test cells always run, while demo cells run only when student code needs them:
    a setup or test cell that read what only a demo binds would fail whenever they are
    skipped."""
    bound_by_demos, bound_by_others, reads = set(), set(), {}
    for cell in instructor(name).cells:
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        if DEMO_TAG in cell.metadata.get("tags", []):
            bound_by_demos |= bound
            continue
        if not nbgrader_meta(cell).get("solution"):
            reads[cell.id] = read & bound_by_demos - bound_by_others
        bound_by_others |= bound
    assert {cell: names for cell, names in reads.items() if names} == {}


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
        cell.id for cell in instructor(name).cells
    ]
    plan = assemble(rebuilt, submission(name, correct=True))
    labels = [step[2] for step in plan.steps if step[0] == "code"]
    assert "cell inserted" in labels and plan.warnings == []
    assert not [label for label in labels if label.startswith("added")]


@pytest.mark.parametrize("kind", ["code", "markdown", "raw"])
def test_a_new_cell_is_the_cell_nbformat_makes_and_is_valid(kind):
    from autograder.assemble import _new_cell

    ours, theirs = _new_cell(kind, "x = 1"), getattr(nbformat.v4, f"new_{kind}_cell")("x = 1")
    assert ours.id != theirs.id  # fresh ids
    ours.id = theirs.id
    assert ours == theirs
    nbformat.validate(nbformat.v4.new_notebook(cells=[ours]))


# --- reading a submission ----------------------------------------------------------------------


def _notebook_bytes() -> bytes:
    return nbformat.writes(submission("03_inverted_dropout", {})).encode()


def test_a_submission_is_read_from_a_regular_file(tmp_path):
    path = tmp_path / "s1" / "03_inverted_dropout.ipynb"
    path.parent.mkdir()
    path.write_bytes(_notebook_bytes())
    assert read_submission(path) == _notebook_bytes()
    assert read_notebook(path).cells


def _linked_file(tmp_path, target):
    path = tmp_path / "s1" / "03_inverted_dropout.ipynb"
    path.parent.mkdir()
    path.symlink_to(target)
    return path


def _linked_folder(tmp_path, target):
    (target / "03_inverted_dropout.ipynb").write_bytes(_notebook_bytes())
    (tmp_path / "s1").symlink_to(target, target_is_directory=True)
    return tmp_path / "s1" / "03_inverted_dropout.ipynb"


def _fifo(tmp_path, _):
    path = tmp_path / "s1" / "03_inverted_dropout.ipynb"
    path.parent.mkdir()
    os.mkfifo(path)
    return path


def _folder(tmp_path, _):
    path = tmp_path / "s1" / "03_inverted_dropout.ipynb"
    path.mkdir(parents=True)
    return path


@pytest.mark.parametrize(
    "make, reason",
    [
        (_linked_file, "is a symbolic link"),
        (_linked_folder, "the folder of 03_inverted_dropout.ipynb is a symbolic link"),
        (_fifo, "is not a regular file"),  # opening it for reading would wait for a writer
        (_folder, "is not a regular file"),
    ],
)
def test_a_submission_that_is_not_a_regular_file_of_its_own_folder_is_refused(
    tmp_path, make, reason
):
    # the instructor's notebook, reachable by the grader but not by a student
    secret = tmp_path / "source"
    secret.mkdir()
    (secret / "notebook.ipynb").write_bytes(_notebook_bytes())
    path = make(tmp_path, secret / "notebook.ipynb" if make is _linked_file else secret)
    with pytest.raises(
        ValueError, match=f"^not a notebook: (03_inverted_dropout.ipynb )?{reason}$"
    ):
        read_submission(path)
    with pytest.raises(ValueError, match=reason):
        read_notebook(path)


def test_a_link_to_a_device_is_refused_without_reading_it(tmp_path):
    path = _linked_file(tmp_path, "/dev/zero")
    with pytest.raises(ValueError, match="is a symbolic link"):
        read_submission(path)


def test_a_submission_larger_than_nbgrader_allows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(assemble_module, "MAX_SUBMISSION_BYTES", 1000)
    path = tmp_path / "03_inverted_dropout.ipynb"
    path.write_bytes(b" " * 1000)
    assert read_submission(path) == b" " * 1000
    path.write_bytes(b" " * 1001)
    with pytest.raises(ValueError, match="larger than 1,000 bytes"):
        read_submission(path)


@pytest.mark.parametrize(
    "metadata, reason",
    [
        ({"nbgrader": "x"}, "metadata.nbgrader of cell 2 is not a mapping"),
        ({"nbgrader": ["grade_id"]}, "metadata.nbgrader of cell 2 is not a mapping"),
        ({"tags": "demo"}, "metadata.tags of cell 2 is not a list of strings"),
        ({"tags": [["demo"]]}, "metadata.tags of cell 2 is not a list of strings"),
    ],
)
def test_cell_metadata_of_the_wrong_type_makes_a_file_no_notebook(metadata, reason):
    """nbformat only logs what its schema refuses; grading would fail on it, and blame itself."""
    notebook = submission("03_inverted_dropout", {})
    notebook.cells[1].metadata.update(metadata)
    with pytest.raises(ValueError, match=f"not a notebook: {reason}"):
        parse_notebook(json.dumps(notebook).encode())

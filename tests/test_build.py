"""autograder.build: the percent sources, their checks, stable ids, and what a rebuild changes."""

import difflib
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import jupytext
import nbformat
import pytest

from autograder import build, grading
from autograder.assemble import assemble

SOLUTION = {
    "grade": False,
    "grade_id": "double_solution",
    "locked": False,
    "schema_version": 3,
    "solution": True,
    "task": False,
}
TESTS = {
    "grade": True,
    "grade_id": "double",
    "locked": True,
    "points": 3,
    "schema_version": 3,
    "solution": False,
    "task": False,
}
ANSWER = {
    "grade": True,
    "grade_id": "explain_double",
    "locked": False,
    "points": 2,
    "schema_version": 3,
    "solution": True,
    "task": False,
}


def _nbgrader(meta) -> str:
    return "nbgrader=" + json.dumps(meta)


# a small source, one cell per item; every kind of cell the course uses
CELLS = [
    '# %% [markdown] id="intro"\n# # Doubling\n#\n# Learn to *double*.',
    '# %% id="setup"\nimport numpy as np\n\nSCALE = 2',
    '# %% id="figure" tags=["demo"]\nfigure = np.arange(3) * SCALE',
    '# %% [markdown] id="exercise"\n# ## Exercise\n#\n# Write `double`.',
    (
        f'# %% id="double-solution" {_nbgrader(SOLUTION)}\n'
        'def double(x):\n    """Twice x."""\n    ### BEGIN SOLUTION\n    return SCALE * x\n'
        "    ### END SOLUTION"
    ),
    (
        f'# %% id="double" {_nbgrader(TESTS)}\nassert double(1) == 2\n### BEGIN HIDDEN TESTS\n'
        "assert double(-3) == -6\nassert double(0.5) == 1.0\n"
        "assert double(np.ones(2)).tolist() == [2, 2]\n### END HIDDEN TESTS"
    ),
    f'# %% [markdown] id="explain-double" {_nbgrader(ANSWER)}\n# Because 2x = x + x.',
    '# %% [markdown] id="summary"\n# ## Summary\n#\n# You doubled.',
]


def _text(cells) -> str:
    return "\n\n".join(cells) + "\n"


def _write(tmp_path, cells, name="90_small") -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(_text(cells) if isinstance(cells, list) else cells)
    return path


def _parse(tmp_path, cells):
    return build.parse(_write(tmp_path, cells))


# --- the format -------------------------------------------------------------------------------


def test_markdown_cells_lose_their_comment_marks(tmp_path):
    cell = _parse(tmp_path, CELLS).cells[0]
    assert (cell.cell_type, cell.id, cell.source) == (
        "markdown",
        "intro",
        "# Doubling\n\nLearn to *double*.",
    )
    assert cell.metadata == {}


def test_code_cells_keep_their_text_and_demo_cells_their_tag(tmp_path):
    notebook = _parse(tmp_path, CELLS)
    setup, demo = notebook.cells[1], notebook.cells[2]
    assert (setup.cell_type, setup.source, setup.metadata) == (
        "code",
        "import numpy as np\n\nSCALE = 2",
        {},
    )
    assert demo.metadata == {"tags": [build.DEMO_TAG]}


def test_nbgrader_roles_are_the_cells_metadata(tmp_path):
    cells = {cell.id: cell for cell in _parse(tmp_path, CELLS).cells}
    assert cells["double-solution"].cell_type == "code"
    assert cells["double-solution"].metadata == {"nbgrader": SOLUTION}
    assert "### BEGIN SOLUTION" in cells["double-solution"].source
    assert cells["double"].cell_type == "code" and cells["double"].metadata == {"nbgrader": TESTS}
    assert cells["explain-double"].cell_type == "markdown"
    assert cells["explain-double"].metadata == {"nbgrader": ANSWER}
    assert cells["explain-double"].source == "Because 2x = x + x."


def test_ids_come_from_the_headers_and_jupytexts_bookkeeping_is_dropped(tmp_path):
    # two blank lines after a cell: jupytext records lines_to_next_cell, the notebook must not
    text = _text(CELLS).replace("SCALE = 2\n\n", "SCALE = 2\n\n\n")
    assert "lines_to_next_cell" in jupytext.reads(text, fmt=build.FORMAT).cells[1].metadata
    notebook = build.parse(_write(tmp_path, text))
    assert [cell.id for cell in notebook.cells] == [
        "intro",
        "setup",
        "figure",
        "exercise",
        "double-solution",
        "double",
        "explain-double",
        "summary",
    ]
    assert all(set(cell.metadata) <= {"tags", "nbgrader"} for cell in notebook.cells)


def test_notebook_metadata_is_the_courses_and_not_jupytexts(tmp_path):
    notebook = _parse(tmp_path, CELLS)
    assert notebook.metadata == build.NOTEBOOK_METADATA
    assert (notebook.nbformat, notebook.nbformat_minor) == (4, 5)


@pytest.mark.parametrize("name", build.names())
def test_each_course_source_round_trips_through_jupytext(name):
    """JupyterLab saves a source through jupytext: it must not rewrite the file."""
    text = (build.SOURCES / f"{name}.py").read_text()
    assert jupytext.writes(jupytext.reads(text, fmt=build.FORMAT), fmt=build.FORMAT) == text


@pytest.mark.parametrize("name", build.names())
def test_opening_and_saving_a_source_as_jupyterlab_does_leaves_it_unchanged(name, tmp_path):
    """Through jupytext's contents manager, with the metadata JupyterLab adds on the way."""
    text = (build.SOURCES / f"{name}.py").read_text()
    (tmp_path / f"{name}.py").write_text(text)
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get(f"{name}.py", type="notebook", content=True)
    notebook = model["content"]
    notebook.metadata.kernelspec = build.NOTEBOOK_METADATA["kernelspec"]
    notebook.metadata.language_info = {"name": "python", "version": "3.11.7"}
    for cell in notebook.cells:
        cell.metadata.update(trusted=True, execution={"iopub.status.idle": "2025-01-01"})
    manager.save(model, f"{name}.py")
    assert (tmp_path / f"{name}.py").read_text() == text


@pytest.mark.parametrize("name", build.names())
def test_each_course_source_is_valid(name):
    notebook = build.parse(build.SOURCES / f"{name}.py")
    assert any("nbgrader" in cell.metadata for cell in notebook.cells)


def _git(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(build.ROOT), *args], capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(
    shutil.which("git") is None or _git("rev-parse").returncode != 0,
    reason="needs the git checkout",
)
def test_the_course_folder_holds_the_nbgrader_course_and_ignores_what_nbgrader_makes():
    assert build.COURSE == grading.COURSE_DIR and build.INSTRUCTOR == grading.SOURCE_DIR
    files = set(
        _git("ls-files", "-co", "--exclude-standard", "--", "autograder/course").stdout.split()
    )
    expected = {"autograder/course/README.md", "autograder/course/nbgrader_config.py"}
    for name in build.names():
        expected |= {
            f"autograder/course/src/{name}.py",
            f"autograder/course/source/{name}/{name}.ipynb",
        }
    assert files == expected
    runtime = [
        "gradebook.db",
        "release/x",
        "submitted/x",
        "autograded/x",
        "feedback/x",
        ".autograder-seed-key",
        ".nbgrader.log",
    ]
    ignored = _git("check-ignore", *(f"autograder/course/{item}" for item in runtime)).stdout
    assert len(ignored.split()) == len(runtime)


# --- what the build refuses ---------------------------------------------------------------------


def _replace(index, old, new):
    cells = list(CELLS)
    assert old in cells[index]
    cells[index] = cells[index].replace(old, new)
    return cells


def _meta(index, meta, **changes):
    return _replace(index, _nbgrader(meta), _nbgrader({**meta, **changes}))


def _without(meta, key):
    return {k: v for k, v in meta.items() if k != key}


def _checking(exercise, **changes):
    """The small source with a test cell that checks ``exercise`` of the course."""
    cells = _meta(5, TESTS, **changes)
    cells[5] = cells[5].split("\n")[0] + f'\ncheck("{exercise}", double)'
    return cells


BROKEN = {
    "no id": (
        _replace(2, 'id="figure" ', ""),
        (
            r":11: cell 3: the cell has no id; run "
            r"`python -m autograder.build --assign-ids`"
        ),
    ),
    "duplicate id": (
        _replace(3, 'id="exercise"', 'id="setup"'),
        r":14: cell 4 \(id 'setup'\): duplicate id \(first at 90_small.py:6: cell 2",
    ),
    "id with a space": (
        _replace(1, 'id="setup"', 'id="set up"'),
        r":6: cell 2 \(id 'set up'\): a cell id is 1 to 64 letters",
    ),
    "id too long": (_replace(1, 'id="setup"', f'id="{"x" * 65}"'), r"a cell id is 1 to 64"),
    "id not a string": (_replace(1, 'id="setup"', "id=12"), r"\(id 12\): a cell id is"),
    "graded cell without points": (
        _replace(5, _nbgrader(TESTS), _nbgrader(_without(TESTS, "points"))),
        r":26: cell 6 \(id 'double'\): graded cell 'double' has no points",
    ),
    "points on an ungraded cell": (
        _meta(4, SOLUTION, points=1),
        r"'double_solution' has points but is not graded",
    ),
    "negative points": (_meta(5, TESTS, points=-1), r"must be a number >= 0, got -1"),
    "duplicate grade_id": (
        _meta(6, ANSWER, grade_id="double"),
        r":34: cell 7 .*duplicate grade_id 'double' \(first at 90_small.py:26",
    ),
    "unknown nbgrader key": (
        _meta(5, TESTS, point=3),
        r"unknown nbgrader key\(s\) point \(known: grade, grade_id",
    ),
    "missing nbgrader key": (
        _replace(4, _nbgrader(SOLUTION), _nbgrader(_without(SOLUTION, "locked"))),
        r"nbgrader metadata lacks locked",
    ),
    "flag not a boolean": (
        _meta(4, SOLUTION, solution="yes"),
        r"nbgrader solution must be true or false",
    ),
    "old schema": (_meta(4, SOLUTION, schema_version=2), r"schema_version must be 3"),
    "bad grade_id": (_meta(4, SOLUTION, grade_id="double solution"), r"grade_id 'double sol"),
    "markdown tests cell": (
        _meta(6, ANSWER, solution=False),
        r"markdown cell 'explain_double' must be both grade and solution",
    ),
    "unknown cell metadata": (
        _replace(2, 'tags=["demo"]', 'tag=["demo"]'),
        r"unknown cell metadata tag \(known: id, tags, nbgrader\)",
    ),
    "points that are not the sum of the parts": (
        _checking("sample_mask", points=4),
        r":26: cell 6 \(id 'double'\): 'double' has 4 points, but the parts of sample_mask "
        r"add up to 2 \(behaviour\) \+ 1 \(argument checks\)",
    ),
    "check of an unknown exercise": (_checking("triple"), r"no exercise named 'triple'"),
}


def test_a_test_cell_worth_the_sum_of_its_exercises_parts_is_accepted(tmp_path):
    notebook = _parse(tmp_path, _checking("sample_mask"))
    assert notebook.cells[5].source == 'check("sample_mask", double)'


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_source_is_refused_naming_file_line_and_cell(case, tmp_path):
    cells, message = BROKEN[case]
    with pytest.raises(build.SourceError, match=r"^90_small\.py:") as error:
        _parse(tmp_path, cells)
    assert error.match(message)


def test_text_before_the_first_marker_is_a_cell_without_an_id(tmp_path):
    with pytest.raises(build.SourceError, match=r"^90_small\.py:1: cell 1: the cell has no id"):
        _parse(tmp_path, "import os\n\n" + _text(CELLS))


# --- the command line: --check and --assign-ids ------------------------------------------------


@pytest.fixture
def course(tmp_path, monkeypatch):
    """build's folders in tmp_path, one source in it, and a stand-in for nbgrader (the student
    version is the instructor's text, reversed: what matters here is only that it is derived)."""
    folders = {
        "SOURCES": tmp_path / "src",
        "INSTRUCTOR": tmp_path / "source",
        "STUDENT": tmp_path / "notebooks",
    }
    for name, folder in folders.items():
        monkeypatch.setattr(build, name, folder)
    monkeypatch.setattr(build, "student_notebook", lambda name, text: text[::-1])
    folders["SOURCES"].mkdir()
    _write(folders["SOURCES"], CELLS)
    return folders


def test_check_reports_stale_notebooks_and_writes_nothing(course, capsys):
    instructor = course["INSTRUCTOR"] / "90_small" / "90_small.ipynb"
    student = course["STUDENT"] / "90_small.ipynb"
    assert build.main(["--check"]) == 1
    assert not instructor.exists() and not student.exists()
    assert build.main([]) == 0
    assert instructor.exists() and student.exists()
    capsys.readouterr()
    assert build.main(["--check"]) == 0 and capsys.readouterr().out == ""

    source = course["SOURCES"] / "90_small.py"
    source.write_text(source.read_text().replace("You doubled.", "You doubled it."))
    before = instructor.read_text()
    assert build.main(["--check", "90_small"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"out of date: {instructor}",
        f"out of date: {student}",
    ]
    assert instructor.read_text() == before


def test_a_broken_source_fails_the_command_with_one_line(course, capsys):
    source = course["SOURCES"] / "90_small.py"
    source.write_text(source.read_text().replace(' id="figure"', ""))
    assert build.main(["--check"]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("error: 90_small.py:11: cell 3: the cell has no id")
        and error.count("\n") == 1
    )


def test_assign_ids_gives_ids_to_the_cells_without_one_and_nothing_else(course, capsys):
    source = course["SOURCES"] / "90_small.py"
    cells = _replace(2, 'id="figure" ', "")
    cells = [
        cells[0].replace(' id="intro"', ""),
        *cells[1:5],
        cells[5].replace(' id="double"', ""),
        *cells[6:],
    ]
    source.write_text(_text(cells))
    assert build.main(["--assign-ids"]) == 0
    assert capsys.readouterr().out == f"{source}: 3 new ids\n"

    text = source.read_text()
    old_lines, new_lines = _text(cells).splitlines(), text.splitlines()
    changed = [(old, new) for old, new in zip(old_lines, new_lines) if old != new]
    assert len(old_lines) == len(new_lines) and len(changed) == 3
    assert [old for old, _ in changed] == [
        "# %% [markdown]",
        '# %% tags=["demo"]',
        f"# %% {_nbgrader(TESTS)}",
    ]
    ids = [cell.id for cell in build.parse(source).cells]
    assert ids[1:] == [
        "setup",
        ids[2],
        "exercise",
        "double-solution",
        "double",
        "explain-double",
        "summary",
    ]  # a graded cell's id comes from its grade_id
    assert len(set(ids)) == len(ids) and all(len(ids[i]) == 8 for i in (0, 2))

    assert build.main(["--assign-ids"]) == 0 and capsys.readouterr().out == ""
    assert source.read_text() == text


def test_assign_ids_in_a_source_with_no_ids_at_all(tmp_path):
    text = re.sub(r'^(# %%.*?) id="[^"]*"', r"\1", _text(CELLS), flags=re.MULTILINE)
    assert " id=" not in text
    path = _write(tmp_path, text)
    assert build.assign_ids(path) == len(CELLS)
    notebook = build.parse(path)
    ids = [cell.id for cell in notebook.cells]
    assert len(set(ids)) == len(ids)
    assert ids[4:7] == ["double-solution", "double", "explain-double"]
    (tmp_path / "original").mkdir()
    original = _parse(tmp_path / "original", CELLS)
    assert [(cell.cell_type, cell.source, cell.metadata) for cell in notebook.cells] == [
        (cell.cell_type, cell.source, cell.metadata) for cell in original.cells
    ]
    text = path.read_text()
    assert jupytext.writes(jupytext.reads(text, fmt=build.FORMAT), fmt=build.FORMAT) == text


# --- stable ids: what a change to a source changes in the built notebooks ----------------------


def test_inserting_a_cell_keeps_every_other_cells_id(tmp_path):
    before = [cell.id for cell in _parse(tmp_path, CELLS).cells]
    after = [
        cell.id for cell in _parse(tmp_path, [*CELLS[:2], '# %% id="new"\nx = 1', *CELLS[2:]]).cells
    ]
    assert after == [*before[:2], "new", *before[2:]]


def _cell_lines(text: str, cell_id: str) -> list[str]:
    """The lines of one cell's JSON object in a notebook written with indent=1."""
    lines = text.splitlines()
    at = lines.index(f'   "id": "{cell_id}",')
    start = max(i for i in range(at) if lines[i] == "  {")
    end = min(i for i in range(at, len(lines)) if lines[i] in ("  }", "  },"))
    return lines[start : end + 1]


def _assert_only_the_cell_moved(old: str, new: str, cell_id: str):
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    removed, added = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += old_lines[i1:i2]
            added += new_lines[j1:j2]
    cell = _cell_lines(old, cell_id)
    assert cell == _cell_lines(new, cell_id)
    assert Counter(removed) == Counter(cell) == Counter(added), "".join(
        difflib.unified_diff(old.splitlines(True), new.splitlines(True))
    )


@pytest.fixture(scope="module")
def small_built(tmp_path_factory):
    """Instructor and student versions (real nbgrader) of the small source, and of the same
    source with its "exercise" cell moved after the tests."""
    folder = tmp_path_factory.mktemp("moved")
    moved = [*CELLS[:3], CELLS[4], CELLS[5], CELLS[3], *CELLS[6:]]
    built = []
    for cells in (CELLS, moved):
        instructor = build._dumps(build.parse(_write(folder, cells)))
        built.append((instructor, build.student_notebook("90_small", instructor)))
    return built


def test_moving_a_cell_changes_only_its_lines_in_the_instructor_version(small_built):
    (old, _), (new, _) = small_built
    assert old != new
    _assert_only_the_cell_moved(old, new, "exercise")


def test_moving_a_cell_changes_only_its_lines_in_the_student_version(small_built):
    (_, old), (_, new) = small_built
    assert "YOUR CODE HERE" in old and "BEGIN HIDDEN TESTS" not in old
    _assert_only_the_cell_moved(old, new, "exercise")


def test_a_rebuilt_notebook_does_not_turn_a_students_setup_cells_into_added_cells(
    small_built, tmp_path
):
    """A student works on the released notebook; the instructor then inserts a cell and
    rebuilds. The student's cells still match the instructor's, so none counts as added."""
    (_, released), _ = small_built
    submission = nbformat.reads(released, as_version=4)
    for cell in submission.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "double_solution":
            cell.source = "def double(x):\n    return x + x"
    inserted = [*CELLS[:2], '# %% id="more-setup"\nOFFSET = 0', *CELLS[2:]]
    rebuilt = build.parse(_write(tmp_path, inserted))

    plan = assemble(rebuilt, submission)
    labels = [step[2] for step in plan.steps if step[0] == "code"]
    assert not [label for label in labels if label.startswith("added")], labels
    assert "cell more-setup" in labels and plan.warnings == []

    # the failure this guards against: ids that do not match make setup cells "added"
    for cell in submission.cells:
        if "nbgrader" not in cell.metadata:
            cell.id = cell.id + "-renumbered"
    labels = [step[2] for step in assemble(rebuilt, submission).steps if step[0] == "code"]
    assert any(label.startswith("added") for label in labels)

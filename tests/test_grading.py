"""`python -m autograder check`: one notebook, its JSON, and what it withstands.

The tests marked slow grade in a real, sandboxed kernel.
"""

import json
import subprocess
import sys

import nbformat
import pytest
from nbgrader.utils import determine_grade, is_grade

from autograder.gradebook import GradebookWriter
from autograder.grading import SOURCE_DIR, default_seed, grade_notebook, grade_submission, seed_key
from grading_helpers import ROOT, autograded_points, instructor, submission, write

NB = "03_inverted_dropout"
FORWARD = "dropout_forward_solution"
LR = "equivalent_standard_lr_solution"
#: the notebook's autograded points (dropout_forward 4, equivalent_standard_lr 2, and the
#: judgement exercise choose_keep_probs), read from its source
POINTS = autograded_points(NB)
FULL = sum(POINTS.values())
# the exercises these tests do not exercise: full marks when solved, 0 when left as the stub
OTHERS_SOLVED = {name: (points, "passed") for name, points in POINTS.items()
                 if name not in ("dropout_forward", "equivalent_standard_lr")}  # fmt: skip
OTHERS_BLANK = {name: (0, "failed") for name in OTHERS_SOLVED}

CORRECT_LR = (
    "def equivalent_standard_lr(lr, p_drop):\n"
    "    if lr <= 0 or not 0 <= p_drop < 1:\n        raise ValueError('bad')\n"
    "    return lr / (1 - p_drop) ** 2\n"
)
NO_SCALING = (
    "def dropout_forward(x, p_drop, *, rng, training=True):\n"
    "    if not 0 <= p_drop < 1:\n        raise ValueError('p_drop')\n"
    "    if not training:\n        return x.copy(), None\n"
    "    mask = rng.random(x.shape) < 1 - p_drop\n"
    "    return (x * mask).astype(x.dtype), mask\n"
)
# right, but without the checks of their arguments: the behaviour's 3 of 4 and 1.5 of 2 points
UNCHECKED_FORWARD = (
    "def dropout_forward(x, p_drop, *, rng, training=True):\n"
    "    if not training:\n        return x.copy(), None\n"
    "    mask = rng.random(x.shape) < 1 - p_drop\n"
    "    return (x * mask / (1 - p_drop)).astype(x.dtype), mask\n"
)
UNCHECKED_LR = "def equivalent_standard_lr(lr, p_drop):\n    return lr / (1 - p_drop) ** 2\n"


def check(path, *args):
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "check", str(path), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return result


def scores(result):
    return {test["id"]: (test["points"], test["status"]) for test in result["tests"]}


@pytest.mark.slow
def test_check_prints_the_spec_json_for_a_correct_notebook(tmp_path):
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    result = check(path, "--seed", "7")
    assert result.returncode == 0, result.stderr
    graded = json.loads(result.stdout)
    assert {"notebook", "score", "max_score", "seed", "tests"} <= set(graded)
    assert graded["notebook"] == NB and graded["seed"] == 7
    assert graded["score"] == graded["max_score"] == FULL
    for test in graded["tests"]:
        assert set(test) == {"id", "points", "max_points", "status", "message"}
        assert test["status"] == "passed"


@pytest.mark.slow
def test_assignment_from_file_name_anywhere_or_given(tmp_path):
    path = write(submission(NB, correct=True), tmp_path / "deep" / "mine.ipynb")
    result = check(path, "--assignment", NB, "--seed", "1")
    assert json.loads(result.stdout)["score"] == FULL
    assert check(path).returncode == 2  # "mine" is no assignment


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "the file is empty"),
        (b"{not json", "not a notebook"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"cells": 3}', "not a notebook"),
        (
            b'{"cells": [{"cell_type": "code", "id": "a", "source": "", "outputs": [], '
            b'"execution_count": null, "metadata": {"nbgrader": "x"}}], "metadata": {}, '
            b'"nbformat": 4, "nbformat_minor": 5}',
            "metadata.nbgrader of cell 1 is not a mapping",
        ),
    ],
)
def test_files_that_are_not_notebooks_exit_2_with_one_line(tmp_path, content, reason):
    path = tmp_path / f"{NB}.ipynb"
    path.write_bytes(content)
    result = check(path)
    assert result.returncode == 2 and result.stdout == ""
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_wrong_exercise_loses_its_points_with_the_check_message(tmp_path):
    path = write(submission(NB, {FORWARD: NO_SCALING}, correct=True), tmp_path / f"{NB}.ipynb")
    graded = grade_notebook(path, seed=3)
    assert scores(graded) == {
        "dropout_forward": (0, "failed"),
        "equivalent_standard_lr": (2, "passed"),
        **OTHERS_SOLVED,
    }
    message = graded["tests"][0]["message"]
    assert "did you forget to divide by keep_prob" in message
    assert "check(" not in message and "hidden" not in message


@pytest.mark.slow
def test_partial_credit_reaches_the_result_nbgrader_and_the_gradebook(tmp_path):
    """Right values without the ValueErrors keep the behaviour's points: 3 of 4, 1.5 of 2."""
    solutions = {FORWARD: UNCHECKED_FORWARD, LR: UNCHECKED_LR}
    path = write(submission(NB, solutions), tmp_path / f"{NB}.ipynb")
    graded = grade_submission(path, seed=3, with_notebook=True)
    result = graded.result
    assert scores(result) == {
        "dropout_forward": (3, "failed"),
        "equivalent_standard_lr": (1.5, "failed"),
        **OTHERS_BLANK,
    }
    assert result["score"] == 4.5 and result["max_score"] == FULL
    forward, lr, *_ = result["tests"]
    assert forward["message"].startswith(
        "argument checks: dropout_forward with p_drop=1.0 must raise ValueError"
    )
    assert lr["message"].startswith(
        "argument checks: equivalent_standard_lr with lr=0.1, p_drop=1.0"
    )
    # nbgrader reads the same points from the autograded notebook, and records them
    assert graded.notebook is not None
    tests = [c for c in graded.notebook.cells if is_grade(c) and c.cell_type == "code"]
    assert {c.metadata.nbgrader["grade_id"]: determine_grade(c)[0] for c in tests} == {
        "dropout_forward": 3.0,
        "equivalent_standard_lr": 1.5,
        **{name: 0.0 for name in OTHERS_BLANK},
    }
    with GradebookWriter(f"sqlite:///{tmp_path / 'gradebook.db'}", SOURCE_DIR) as writer:
        writer.record_autograded("ann", NB, NB, graded.notebook)
        book = writer.grades("ann", NB, NB)
    assert book["grades"]["dropout_forward"]["auto_score"] == 3.0
    assert book["grades"]["equivalent_standard_lr"]["auto_score"] == 1.5
    assert book["score"] == 4.5


@pytest.mark.slow
def test_wrong_values_score_nothing_whatever_the_argument_checks(tmp_path):
    """NO_SCALING refuses a bad p_drop: its argument checks pass, and do not count."""
    path = write(submission(NB, {FORWARD: NO_SCALING}, correct=True), tmp_path / f"{NB}.ipynb")
    forward = grade_notebook(path, seed=3)["tests"][0]
    assert (forward["points"], forward["status"]) == (0, "failed")
    assert forward["message"].startswith("behaviour: ")
    assert "argument checks" not in forward["message"]


@pytest.mark.slow
def test_seeds_20_regrades_of_a_correct_solution_all_score_full_marks(tmp_path):
    path = write(submission(NB, correct=True), tmp_path / f"{NB}.ipynb")
    for seed in range(20):
        assert grade_notebook(path, seed=seed)["score"] == FULL, seed


@pytest.mark.slow
def test_regrading_with_the_recorded_seed_reproduces_the_json(tmp_path):
    path = write(submission(NB, {FORWARD: NO_SCALING}, correct=True), tmp_path / f"{NB}.ipynb")
    course = tmp_path / "course"
    course.mkdir()
    first = check(path, "--student", "s017", "--course-dir", course)
    recorded = json.loads(first.stdout)["seed"]
    assert recorded == default_seed("s017", NB, seed_key(course), path.read_bytes())
    again = check(path, "--seed", str(recorded), "--student", "s017", "--course-dir", course)
    assert again.stdout == first.stdout


def test_default_seed_depends_on_student_notebook_file_and_the_course_key(tmp_path):
    key = seed_key(tmp_path)
    assert seed_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / ".autograder-seed-key").stat().st_mode & 0o777 == 0o600
    file = b'{"cells": []}'
    seeds = {default_seed(s, n, key, file) for s in ("a", "b") for n in ("01_intuition", NB)}
    assert len(seeds) == 4
    assert default_seed("a", NB, key, file) != default_seed("a", NB, bytes(32), file)
    # a seed seen in the feedback of one file says nothing of the next file's, however alike
    assert default_seed("a", NB, key, file) == default_seed("a", NB, key, bytes(file))
    assert default_seed("a", NB, key, file) != default_seed("a", NB, key, file + b"\n")
    # the fields cannot be shifted into one another
    assert default_seed("ab", NB, key, file) != default_seed("a", "b" + NB, key, file)


# --- hostile and broken submissions ---------------------------------------------------------

MONKEYPATCH_CHECKS = (
    NO_SCALING
    + """
import course_lib.checks as _c, autograder.exercises as _e
import autograder.exercises.nb03_inverted_dropout as _n
import autograder.exercises.kit as _k
_k.check_inverted_dropout_output = _k.require_array = lambda *a, **k: None
_k.assert_independent_pairs = _k.close = lambda *a, **k: True
_c.assert_binomial_count = lambda *a, **k: None
_e.check = lambda *a, **k: print("all checks passed")
_n.DropoutForward.verdict = staticmethod(lambda *a: None)
"""
)

REFERENCE_GONE = "does not exist while notebook 03_inverted_dropout is graded"
REFERENCE_IMPORT = """from course_lib.dropout import dropout_forward
"""

REFERENCE_ATTRIBUTE = """import course_lib.dropout as d
def dropout_forward(x, p_drop, *, rng, training=True):
    return d.dropout_forward(x, p_drop, rng=rng, training=training)
"""

REFERENCE_HIDDEN = """import importlib
def dropout_forward(x, p_drop, *, rng, training=True):
    module = importlib.import_module('course_' + 'lib.drop' + 'out')
    return getattr(module, 'dropout_' + 'forward')(x, p_drop, rng=rng, training=training)
"""

INFINITE_LOOP = """def dropout_forward(x, p_drop, *, rng, training=True):
    while True:
        pass
"""

EXIT_KERNEL = """import os
def dropout_forward(x, p_drop, *, rng, training=True):
    os._exit(1)
"""

MEMORY_BOMB = """import numpy as np
def dropout_forward(x, p_drop, *, rng, training=True):
    big = np.ones((1 << 40,), dtype=np.uint8)
    return x, big
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "source,status,message",
    [
        (MONKEYPATCH_CHECKS, "failed", "forget to divide by keep_prob"),
        (REFERENCE_IMPORT, "failed", REFERENCE_GONE),
        (REFERENCE_ATTRIBUTE, "failed", REFERENCE_GONE),
        (REFERENCE_HIDDEN, "failed", REFERENCE_GONE),
        (MEMORY_BOMB, "failed", "MemoryError"),
    ],
)
def test_hostile_or_lazy_forward_scores_zero_and_lr_still_counts(tmp_path, source, status, message):
    path = write(submission(NB, {FORWARD: source, LR: CORRECT_LR}), tmp_path / f"{NB}.ipynb")
    graded = grade_notebook(path, seed=5, timeout=20, memory_bytes=3 * 1024**3)
    assert scores(graded)["dropout_forward"] == (0, status), graded
    assert message in graded["tests"][0]["message"]
    assert scores(graded)["equivalent_standard_lr"] == (2, "passed")


@pytest.mark.slow
@pytest.mark.parametrize("source,status", [(INFINITE_LOOP, "timeout"), (EXIT_KERNEL, "error")])
def test_a_hanging_or_crashing_exercise_costs_only_its_own_test(tmp_path, source, status):
    path = write(submission(NB, {FORWARD: source, LR: CORRECT_LR}), tmp_path / f"{NB}.ipynb")
    graded = grade_notebook(path, seed=5, timeout=10)
    assert scores(graded)["dropout_forward"] == (0, status)
    assert scores(graded)["equivalent_standard_lr"] == (2, "passed")


@pytest.mark.slow
def test_a_solution_cell_that_never_ends_is_named_in_the_results_warnings(tmp_path):
    path = write(
        submission(NB, {FORWARD: "while True:\n    pass\n", LR: CORRECT_LR}),
        tmp_path / f"{NB}.ipynb",
    )
    graded = grade_notebook(path, seed=5, timeout=5)
    assert f"solution {FORWARD}: the cell ran longer than 5 s" in graded["warnings"]
    assert scores(graded)["dropout_forward"][0] == 0
    assert scores(graded)["equivalent_standard_lr"] == (2, "passed")


def _edit_points_and_remove_tests(notebook):
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "dropout_forward":
            meta["points"] = 100
            cell.source = "pass"
    notebook.cells = [
        cell
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") != "equivalent_standard_lr"
    ]


@pytest.mark.slow
def test_edited_metadata_and_removed_tests_use_the_instructors_version(tmp_path):
    path = write(
        submission(NB, {FORWARD: NO_SCALING, LR: CORRECT_LR}, edit=_edit_points_and_remove_tests),
        tmp_path / f"{NB}.ipynb",
    )
    graded = grade_notebook(path, seed=5)
    assert graded["max_score"] == FULL
    assert scores(graded) == {
        "dropout_forward": (0, "failed"),
        "equivalent_standard_lr": (2, "passed"),
        **OTHERS_BLANK,
    }
    warnings = " ".join(graded["warnings"])
    assert "points of 'dropout_forward' were edited" in warnings
    assert "'equivalent_standard_lr' is missing" in warnings
    assert "test cell 'dropout_forward' was edited" in warnings


@pytest.mark.slow
def test_a_grade_cell_turned_into_a_solution_cell_is_still_the_instructors_test(tmp_path):
    def retag(notebook):
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "dropout_forward":
                cell.metadata.nbgrader.update(solution=True, grade=False, locked=False)
                cell.source = "print('skipped')"

    path = write(
        submission(NB, {FORWARD: NO_SCALING}, correct=True, edit=retag), tmp_path / f"{NB}.ipynb"
    )
    graded = grade_notebook(path, seed=5)
    assert scores(graded)["dropout_forward"] == (0, "failed")
    assert any("flag" in warning for warning in graded["warnings"])


@pytest.mark.slow
def test_instructor_notebook_is_untouched_by_grading(tmp_path):
    source = ROOT / "autograder" / "course" / "source" / NB / f"{NB}.ipynb"
    before = source.read_bytes()
    grade_notebook(write(submission(NB), tmp_path / f"{NB}.ipynb"), seed=1)
    assert source.read_bytes() == before
    assert nbformat.read(source, as_version=4) == instructor(NB)


@pytest.mark.slow
def test_a_helper_cell_the_student_added_runs_before_the_tests(tmp_path):
    def add_helper(notebook):
        index = next(
            i
            for i, cell in enumerate(notebook.cells)
            if cell.metadata.get("nbgrader", {}).get("grade_id") == FORWARD
        )
        notebook.cells.insert(
            index,
            nbformat.v4.new_code_cell("def kept_scale(p_drop):\n    return 1.0 / (1.0 - p_drop)\n"),
        )

    uses_helper = NO_SCALING.replace(
        "return (x * mask).astype(x.dtype), mask",
        "return (x * mask * kept_scale(p_drop)).astype(x.dtype), mask",
    )
    path = write(
        submission(NB, {FORWARD: uses_helper}, correct=True, edit=add_helper),
        tmp_path / f"{NB}.ipynb",
    )
    assert scores(grade_notebook(path, seed=4)) == {
        "dropout_forward": (4, "passed"),
        "equivalent_standard_lr": (2, "passed"),
        **OTHERS_SOLVED,
    }

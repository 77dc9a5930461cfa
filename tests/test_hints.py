"""hint("name") in a notebook: two or three hints per exercise, given one at a time and then no
more; never the answer; named by every failed check in the notebook; not part of grading."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap

import pytest

from autograder import build, exercises
from course_lib.checks import CheckFailure
from grading_helpers import ROOT, instructor, solution_sources

EXERCISES = exercises.all_exercises()
NAMES = [exercise.name for exercise in EXERCISES]
#: a line of code shorter than this (without spaces) is too generic to give an answer away
SIGNIFICANT = 12
#: what every notebook states as the course's convention, not part of any answer
CONVENTIONS = {"keep_prob=1-p_drop"}


@pytest.fixture(autouse=True)
def fresh_hints(monkeypatch):
    """Every test starts in a kernel that has seen no hint and offers them."""
    monkeypatch.setattr(exercises, "_hints_given", {})
    monkeypatch.setattr(exercises, "_hints_offered", True)


def _normalized(code: str) -> str:
    """Code without spaces, a leading ``return`` or the ``.0`` of whole floats, so that
    ``return lr / (1.0 - p_drop) ** 2`` and ``lr/(1-p_drop)**2`` compare equal."""
    code = re.sub(r"^\s*return\b", "", code)
    code = re.sub(r"(\d)\.0\b", r"\1", code)
    return re.sub(r"\s+", "", code)


def _fragments(code: str) -> set[str]:
    """The significant fragments of some code: each statement's line, and the right-hand side
    of each assignment, normalized."""
    fragments = set()
    for line in code.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fragments.add(_normalized(stripped))
        target, equals, value = stripped.partition("=")
        if equals and not value.startswith("=") and not target.rstrip().endswith(("<", ">", "!")):
            fragments.add(_normalized(value))
    return {
        fragment
        for fragment in fragments
        if len(fragment) >= SIGNIFICANT and fragment not in CONVENTIONS
    }


def _solution_code(exercise) -> str:
    """The instructor's solution (between BEGIN and END SOLUTION) and the body of course_lib's
    reference, without its docstring."""
    cell = solution_sources(exercise.notebook)[f"{exercise.name}_solution"]
    solution = cell.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    module, _, function = exercise.reference.rpartition(".")
    reference = ast.parse(
        textwrap.dedent(inspect.getsource(getattr(importlib.import_module(module), function)))
    )
    body = reference.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return solution + "\n" + "\n".join(ast.unparse(statement) for statement in body)


def answers_given_away(text: str, exercise) -> list[str]:
    """The fragments of the exercise's solution code that ``text`` contains."""
    said = _normalized(text)
    return sorted(fragment for fragment in _fragments(_solution_code(exercise)) if fragment in said)


# --- the hints themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
def test_every_exercise_has_two_or_three_distinct_hints(exercise):
    assert exercises.MIN_HINTS <= len(exercise.hints) <= exercises.MAX_HINTS
    assert len(set(exercise.hints)) == len(exercise.hints)
    for text in exercise.hints:
        assert isinstance(text, str) and len(text.split()) >= 8, text


def test_the_readme_table_lists_exactly_the_exercises_that_have_hints():
    readme = (ROOT / "README.md").read_text().split("<!-- exercises -->")[1]
    listed = re.findall(r"^\| \d\d_\w+ \| `(\w+)` \|", readme, re.M)
    assert listed == NAMES and len(listed) == 24


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
def test_no_hint_contains_the_solution_or_the_references_code(exercise):
    assert _fragments(_solution_code(exercise)), "no solution code to compare with"
    for text in exercise.hints:
        assert answers_given_away(text, exercise) == [], text


def test_the_comparison_catches_an_answer_pasted_into_a_hint():
    forward = exercises.get("dropout_forward")
    rate = exercises.get("equivalent_standard_lr")
    assert answers_given_away(
        "Write mask = (rng.random(x.shape) < keep_prob) / keep_prob and multiply.", forward
    )
    assert answers_given_away("The answer is lr / (1 - p_drop) ** 2, of course.", rate)
    assert not answers_given_away("Each costs one factor of keep_prob.", rate)


def test_the_exercise_declaration_refuses_too_few_or_too_many_hints():
    for hints in (("only one",), ("1", "2", "3", "4")):
        with pytest.raises(ValueError, match="2 to 3 hints"):
            exercises.exercise("x", "99_none", reference="course_lib.x.y", hints=hints)


# --- hint(): progressive, then no more ---------------------------------------------------------


def test_each_call_gives_the_next_hint_then_says_there_are_no_more(capsys):
    exercise = exercises.get("dropout_forward")
    total = len(exercise.hints)
    for number, text in enumerate(exercise.hints, start=1):
        exercises.hint("dropout_forward")
        shown = capsys.readouterr().out
        assert shown.startswith(f"dropout_forward, hint {number} of {total}")
        assert text in shown
        assert ("the last one" in shown) == (number == total)
    for _ in range(2):
        exercises.hint("dropout_forward")
        shown = capsys.readouterr().out
        assert "no more hints" in shown
        assert not any(text in shown for text in exercise.hints)
        solution = "autograder/course/source/03_inverted_dropout/03_inverted_dropout.ipynb"
        assert solution in shown and (ROOT / solution).exists()


def test_each_exercise_keeps_its_own_place_and_the_function_itself_names_it(capsys):
    def dropout_forward(x, p_drop, *, rng, training=True):
        raise NotImplementedError()

    exercises.hint("dropout_forward")
    exercises.hint("equivalent_standard_lr")
    exercises.hint(dropout_forward)
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("dropout_forward, hint 1 of")
    assert shown[1].startswith("equivalent_standard_lr, hint 1 of")
    assert shown[2].startswith("dropout_forward, hint 2 of")


def test_an_unknown_name_lists_the_exercises_of_its_notebook():
    with pytest.raises(ValueError) as error:
        exercises.hint("dropout_foward")
    message = str(error.value)
    assert "'dropout_foward'" in message and "03_inverted_dropout" in message
    assert "'dropout_forward'" in message and "'equivalent_standard_lr'" in message
    assert "'sample_mask'" not in message


def test_a_name_like_none_lists_every_notebooks_exercises():
    with pytest.raises(ValueError) as error:
        exercises.hint("my_function")
    for exercise in EXERCISES:
        assert f"'{exercise.name}'" in str(error.value)
        assert exercise.notebook in str(error.value)


def test_with_hints_switched_off_hint_gives_none(capsys):
    exercises.offer_hints(False)
    exercises.hint("dropout_forward")
    shown = capsys.readouterr().out
    assert "without hints" in shown
    assert not any(text in shown for text in exercises.get("dropout_forward").hints)
    with pytest.raises(ValueError):
        exercises.hint("no_such_exercise")


# --- failed checks point to hint(); grading does not ------------------------------------------


def _too_small_rate(lr, p_drop):
    return lr / (1 - p_drop)  # the raw gradient scale, not the equivalent rate


def _not_written(lr, p_drop):
    raise NotImplementedError()


def _crashing(lr, p_drop):
    return lr / undefined  # noqa: F821  # pyright: ignore[reportUndefinedVariable]


def _right_rate_without_checks(lr, p_drop):
    return lr / (1 - p_drop) ** 2


POINTER = '(stuck? hint("equivalent_standard_lr") gives a hint)'


@pytest.mark.parametrize(
    "fn, hidden",
    [
        (_too_small_rate, False),
        (_not_written, False),
        (_crashing, False),
        (_right_rate_without_checks, True),  # a part failed: the argument checks
    ],
)
def test_a_failed_check_in_the_notebook_ends_with_the_pointer_to_hint(fn, hidden):
    with pytest.raises(CheckFailure) as failure:
        exercises.check("equivalent_standard_lr", fn, hidden=hidden)
    assert str(failure.value).endswith(POINTER)
    assert str(failure.value).count("hint(") == 1


def test_the_pointer_names_the_failed_exercise():
    with pytest.raises(CheckFailure) as failure:
        exercises.check("count_parameters", lambda layer_sizes: (0, 0))
    assert str(failure.value).endswith('(stuck? hint("count_parameters") gives a hint)')


def test_without_hints_a_failed_check_does_not_point_to_them():
    exercises.offer_hints(False)
    with pytest.raises(CheckFailure) as failure:
        exercises.check("equivalent_standard_lr", _too_small_rate)
    assert "hint" not in str(failure.value)


def test_the_graders_judgement_never_mentions_hints_and_does_not_depend_on_them():
    judgements = []
    for offered in (True, False):
        exercises.offer_hints(offered)
        exercises.hint("equivalent_standard_lr")
        judgement = exercises.judge(
            "equivalent_standard_lr", _right_rate_without_checks, seed=7, hidden=True
        )
        judgements.append(judgement)
        assert "hint" not in judgement.message
    assert judgements[0] == judgements[1] and not judgements[0].passed


# --- the notebooks offer hint() once, near the top --------------------------------------------


@pytest.mark.parametrize("name", build.names())
def test_each_notebook_offers_hint_once_before_its_first_exercise(name):
    cells = instructor(name).cells
    offering = [i for i, cell in enumerate(cells) if "hints" in cell.metadata.get("tags", [])]
    assert len(offering) == 1
    cell = cells[offering[0]]
    assert cell.cell_type == "markdown" and "check(" in cell.source
    named = re.findall(r'hint\("(\w+)"\)', cell.source)
    assert named and {exercises.get(n).notebook for n in named} == {name}
    first_exercise = next(
        i for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("grade")
    )
    assert offering[0] < first_exercise
    assert "from autograder.exercises import check, hint" in cells[offering[0] - 1].source.split(
        "\n"
    )

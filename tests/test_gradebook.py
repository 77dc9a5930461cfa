"""autograder.gradebook: the assignment saved as generate_assignment saves it, and autograded
notebooks recorded as nbgrader's autograde records them, manual grades kept (SQLite, no kernel)."""

import nbformat
import pytest

from autograder.assemble import assemble
from autograder.autograded import build
from autograder.gradebook import GradebookWriter, alembic_head
from autograder.grading import GradingError
from grading_helpers import ROOT, autograded_points, instructor, released, submission, write

NB = "03_inverted_dropout"
#: the notebook's other exercises and written answers, which these tests leave as they come
JUDGEMENT, JUDGEMENT_ANSWER = "choose_keep_probs", "explain_keep_probs"
JUDGEMENT_POINTS = autograded_points(NB)[JUDGEMENT]
SOURCE = ROOT / "autograder" / "course" / "source"
ANSWER = "Once by the mask, once more against weights keep_prob times smaller."


def _answered(notebook):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "explain_boosting_factor":
            cell.source = ANSWER


def _autograded(notebook, forward_points: float):
    """The notebook as graded, with dropout_forward scoring ``forward_points`` of 4."""
    plan = assemble(instructor(NB), notebook)
    tests = [
        {
            "id": test.grade_id,
            "points": forward_points if test.grade_id == "dropout_forward" else test.points,
            "max_points": test.points,
            "status": "passed" if test.grade_id != "dropout_forward" else "failed",
            "message": "",
        }
        for test in plan.tests
    ]
    return build(plan, instructor(NB), {}, tests)


@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    """One gradebook for the module; each test records students of its own."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with GradebookWriter(f"sqlite:///{path}", SOURCE, course_id="dropout") as shared:
        yield shared


def test_the_assignment_is_saved_as_generate_assignment_saves_it(writer):
    writer.ensure_assignment(NB)
    released_cells = {
        cell.metadata.nbgrader["grade_id"]: cell
        for cell in released(NB).cells
        if cell.metadata.get("nbgrader", {}).get("grade_id")
    }
    assert writer.gradebook.find_assignment(NB).course_id == "dropout"
    for grade_id, cell in released_cells.items():
        saved = writer.gradebook.find_source_cell(grade_id, NB, NB)
        if cell.metadata.nbgrader.get("solution"):  # solutions saved as the students got them
            assert (
                saved.source == cell.source and saved.checksum == cell.metadata.nbgrader["checksum"]
            )
        else:  # tests saved with their hidden part, as nbgrader does to restore them
            assert "BEGIN HIDDEN TESTS" in saved.source


def test_recording_an_autograded_notebook_as_nbgrader_does(writer):
    scores = writer.record_autograded("ann", NB, NB, _autograded(submission(NB, correct=True), 0))
    assert scores == {
        "dropout_forward": 0,
        "equivalent_standard_lr": 2,
        "explain_boosting_factor": 0,
        JUDGEMENT: JUDGEMENT_POINTS,
        JUDGEMENT_ANSWER: 0,
    }
    book = writer.grades("ann", NB, NB)
    max_score = sum(
        cell.metadata.nbgrader["points"]
        for cell in instructor(NB).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    )
    assert book["score"] == 2 + JUDGEMENT_POINTS and book["max_score"] == max_score
    assert book["comments"] == {
        "explain_boosting_factor": "No response.",
        JUDGEMENT_ANSWER: "No response.",
    }
    blank = _autograded(submission(NB), 0)
    writer.record_autograded("bo", NB, NB, blank)
    assert set(writer.grades("bo", NB, NB)["comments"]) == {
        "dropout_forward_solution",
        "equivalent_standard_lr_solution",
        "explain_boosting_factor",
        f"{JUDGEMENT}_solution",
        JUDGEMENT_ANSWER,
    }
    answered = _autograded(submission(NB, correct=True, edit=_answered), 4)
    assert writer.record_autograded("cy", NB, NB, answered)["explain_boosting_factor"] is None
    grade = writer.gradebook.find_grade("explain_boosting_factor", NB, NB, "cy")
    assert grade.needs_manual_grade  # a person grades a written answer


def test_an_emptied_answer_gets_its_stub_back_and_scores_no_response(writer):
    def empty(notebook):
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "explain_boosting_factor":
                cell.source = "  "

    notebook = _autograded(submission(NB, edit=empty), 0)
    assert writer.record_autograded("di", NB, NB, notebook)["explain_boosting_factor"] == 0
    answer = next(c for c in notebook.cells if c.get("id") == "explain-boosting-factor")
    assert answer.source == "YOUR ANSWER HERE"
    assert answer.metadata.nbgrader["checksum"]
    nbformat.validate(notebook)


def test_recording_again_keeps_manual_grades_and_comments(writer):
    answered = submission(NB, correct=True, edit=_answered)
    writer.record_autograded("eve", NB, NB, _autograded(answered, 4))
    gradebook = writer.gradebook
    answer = gradebook.find_grade("explain_boosting_factor", NB, NB, "eve")
    answer.manual_score = 1.5
    forward = gradebook.find_grade("dropout_forward", NB, NB, "eve")
    forward.manual_score = 3.0
    comment = gradebook.find_comment("explain_boosting_factor", NB, NB, "eve")
    comment.manual_comment = "Right, and clearly put."
    gradebook.db.commit()
    writer.record_autograded("eve", NB, NB, _autograded(answered, 0))  # graded again
    book = writer.grades("eve", NB, NB)
    assert book["grades"]["explain_boosting_factor"]["manual_score"] == 1.5
    assert book["grades"]["dropout_forward"] == {
        "score": 3.0,
        "max_score": 4.0,
        "auto_score": 0.0,
        "manual_score": 3.0,
        "extra_credit": None,
    }
    assert book["comments"]["explain_boosting_factor"] == "Right, and clearly put."
    assert book["score"] == 3.0 + 2.0 + 1.5 + JUDGEMENT_POINTS
    # nbgrader's rule: a grade a person changed is flagged for review after an autograde
    assert gradebook.find_grade("dropout_forward", NB, NB, "eve").needs_manual_grade


def test_a_changed_assignment_is_refused_once_students_submitted(writer, tmp_path):
    """nbgrader keeps the graded cells of an assignment with submissions; so does the writer,
    with a one-line reason instead of a traceback."""
    source = tmp_path / "source"
    teacher = instructor(NB)
    write(teacher, source / "late" / "late.ipynb")
    with GradebookWriter(writer.db_url, source, course_id="dropout") as first:
        first.record_autograded("fay", "late", "late", _autograded(submission(NB), 0))
    extra = nbformat.v4.new_code_cell("assert True")
    extra.metadata.nbgrader = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "one_more_test",
        "points": 1,
        "schema_version": 3,
    }
    teacher.cells.append(extra)
    write(teacher, source / "late" / "late.ipynb")
    second = GradebookWriter(writer.db_url, source, course_id="dropout")
    refused = "the gradebook refuses late: Cannot add or remove"
    with second, pytest.raises(GradingError, match=refused):
        second.ensure_assignment("late")


@pytest.mark.slow
def test_a_new_gradebook_is_stamped_with_the_revision_alembic_heads_prints(tmp_path):
    from nbgrader.api import get_alembic_version
    from sqlalchemy import text

    with GradebookWriter(f"sqlite:///{tmp_path / 'gradebook.db'}", SOURCE) as new:
        stamped = new.gradebook.db.execute(text("SELECT version_num FROM alembic_version"))
        revision = stamped.scalar_one()
    # nbgrader's own way: the alembic command (on PATH since the writer opened the gradebook)
    assert revision == alembic_head() == get_alembic_version()

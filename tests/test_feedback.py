"""autograder.feedback: a test that kept the points of some of its parts shows them and the
message of the part that failed."""

from autograder import feedback

PARTIAL = {
    "id": "dropout_forward",
    "points": 3.0,
    "max_points": 4.0,
    "status": "failed",
    "message": "argument checks: dropout_forward with p_drop=1.0 must raise ValueError",
}
PASSED = {"id": "equivalent_standard_lr", "points": 2.0, "max_points": 2.0, "status": "passed"}
RESULT = {"notebook": "03_inverted_dropout", "score": 5.0, "max_score": 6.0}


def _row(page: str, grade_id: str) -> str:
    start = page.index(f"<tr><td>{grade_id}</td>")
    return page[start : page.index("</tr>", start)]


def test_the_feedback_page_shows_partial_points_and_the_failed_part():
    page = feedback.render("ann", [{**RESULT, "tests": [PARTIAL, PASSED]}])
    row = _row(page, "dropout_forward")
    assert "failed, partial credit" in row
    assert "<td>3 / 4</td><td class='message'>argument checks: dropout_forward" in row
    assert ">passed<" in _row(page, "equivalent_standard_lr")
    assert "5 / 6" in page


def test_the_autograde_page_shows_the_gradebooks_partial_points():
    book = {
        "score": 5.0,
        "max_score": 6.0,
        "late_penalty": 0.0,
        "grades": {
            "dropout_forward": {"auto_score": 3.0, "manual_score": None, "max_score": 4.0},
            "equivalent_standard_lr": {"auto_score": 2.0, "manual_score": None},
        },
        "comments": {},
    }
    cells = [("dropout_forward", "test"), ("equivalent_standard_lr", "test")]
    page = feedback.render_notebook("ann", {**RESULT, "tests": [PARTIAL, PASSED]}, book, cells)
    row = _row(page, "dropout_forward")
    assert "failed, partial credit" in row and "3 / 4" in row
    assert "argument checks: dropout_forward with p_drop=1.0 must raise ValueError" in row

"""Feedback pages: every test's outcome and message, never the test code.

:func:`render` makes one page per student over the results of ``grade``; :func:`render_notebook`
one page per submitted notebook for ``autograde``, with the scores and comments of the nbgrader
gradebook, so that what a grader changes or adds in formgrader (manual scores, written answers,
comments) reaches the student.

A message is the grader's verdict as it stands, without the pointer to ``hint("name")`` that
ends a failed check in the notebook (:func:`autograder.exercises.check`): feedback arrives after
the deadline, a class may be released without hints (:mod:`autograder.release`) and the grader
does not know it, and the instructor's report groups messages by their text.
"""

from __future__ import annotations

import html

_STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#9a6700",
    "timeout": "#9a6700",
}
_PARTIAL_COLOUR = "#bc4c00"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Feedback for {student}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1f2328; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2rem; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: .4rem .6rem; text-align: left;
          vertical-align: top; }}
td.status {{ font-weight: 600; white-space: nowrap; }}
.message {{ white-space: pre-wrap; }}
</style></head><body>
<h1>Feedback for {student}</h1>
{sections}
</body></html>
"""


def _outcome(test: dict) -> str:
    """The outcome cell of a test: its status, and "partial credit" for a test that failed in
    some of its parts (the message names them) but kept the points of the others."""
    status = test["status"]
    if status == "failed" and 0 < test["points"] < test["max_points"]:
        return f"<td class='status' style='color:{_PARTIAL_COLOUR}'>failed, partial credit</td>"
    colour = _STATUS_COLOURS.get(status, "#1f2328")
    return f"<td class='status' style='color:{colour}'>{html.escape(status)}</td>"


def _section(result: dict) -> str:
    rows = []
    for test in result.get("tests", []):
        rows.append(
            f"<tr><td>{html.escape(test['id'])}</td>{_outcome(test)}"
            f"<td>{test['points']:g} / {test['max_points']:g}</td>"
            f"<td class='message'>{html.escape(test.get('message') or '')}</td></tr>"
        )
    note = ""
    if result.get("error"):
        note = f"<p><strong>Not graded:</strong> {html.escape(result['error'])}</p>"
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in result.get("warnings", []))
    if warnings:
        note += f"<p>Notes from the grader:</p><ul>{warnings}</ul>"
    return (
        f"<h2>{html.escape(result['notebook'])}: {result['score']:g} / "
        f"{result['max_score']:g}</h2>{note}"
        f"<table><tr><th>test</th><th>outcome</th><th>points</th><th>message</th></tr>"
        f"{''.join(rows)}</table>"
    )


def render(student: str, results: list[dict]) -> str:
    """The HTML feedback page of one student over all their graded notebooks."""
    sections = "\n".join(
        _section(result) for result in sorted(results, key=lambda r: r["notebook"])
    )
    return _PAGE.format(student=html.escape(student), sections=sections)


def _points(score, max_score) -> str:
    return "not graded yet" if score is None else f"{score:g} / {max_score:g}"


def _score(grade: dict):
    """The score of a gradebook grade (with any extra credit), None while it has neither a
    manual nor an auto score."""
    manual, auto = grade.get("manual_score"), grade.get("auto_score")
    score = manual if manual is not None else auto
    return None if score is None else score + (grade.get("extra_credit") or 0.0)


def render_notebook(student: str, result: dict, book: dict, cells: list[tuple[str, str]]) -> str:
    """The feedback page of one autograded notebook.

    ``result`` is the grader's result, ``book`` what the gradebook holds for the submission
    (:meth:`autograder.gradebook.GradebookWriter.grades`), ``cells`` the graded cells in
    notebook order as (grade_id, kind), kind one of "test", "answer" (manually graded) and
    "solution" (a solution cell, which may carry a comment). A score from the gradebook that a
    grader set by hand replaces the grader's, and says so.
    """
    grades, comments = book["grades"], book["comments"]
    tests = {test["id"]: test for test in result.get("tests", [])}
    rows, answers, remarks = [], [], []
    for grade_id, kind in cells:
        grade = grades.get(grade_id, {})
        comment = comments.get(grade_id, "")
        if kind == "test" and grade_id in tests:
            test = tests[grade_id]
            score = _score(grade)
            score = test["points"] if score is None else score
            by_hand = " (set by your grader)" if grade.get("manual_score") is not None else ""
            rows.append(
                f"<tr><td>{html.escape(grade_id)}</td>{_outcome(test)}"
                f"<td>{_points(score, test['max_points'])}{by_hand}</td>"
                f"<td class='message'>{html.escape(test.get('message') or '')}"
                f"{_comment(comment)}</td></tr>"
            )
        elif kind == "answer":
            answers.append(
                f"<tr><td>{html.escape(grade_id)}</td>"
                f"<td>{_points(_score(grade), grade.get('max_score', 0.0))}</td>"
                f"<td class='message'>{html.escape(comment)}</td></tr>"
            )
        elif comment:
            remarks.append(
                f"<li><strong>{html.escape(grade_id)}</strong>: {html.escape(comment)}</li>"
            )
    score = book["score"] - book["late_penalty"]
    heading = f"{html.escape(result['notebook'])}: {score:g} / {book['max_score']:g}"
    parts = [f"<h2>{heading}</h2>"]
    if book["late_penalty"]:
        parts.append(f"<p>Late submission penalty: {book['late_penalty']:g} points.</p>")
    if result.get("error"):
        parts.append(f"<p><strong>Not graded:</strong> {html.escape(result['error'])}</p>")
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in result.get("warnings", []))
    if notes:
        parts.append(f"<p>Notes from the grader:</p><ul>{notes}</ul>")
    parts.append(
        "<table><tr><th>test</th><th>outcome</th><th>points</th><th>message</th></tr>"
        f"{''.join(rows)}</table>"
    )
    if answers:
        parts.append(
            "<h3>Written answers</h3><table><tr><th>answer</th><th>points</th>"
            f"<th>comment</th></tr>{''.join(answers)}</table>"
        )
    if remarks:
        parts.append(f"<h3>Comments on your code</h3><ul>{''.join(remarks)}</ul>")
    return _PAGE.format(student=html.escape(student), sections="\n".join(parts))


def _comment(comment: str) -> str:
    return f"<br><em>Comment: {html.escape(comment)}</em>" if comment else ""

"""``python -m autograder.exercises``: the table of graded exercises for the README, from the
registry and the instructor notebooks' points."""

from __future__ import annotations

import nbformat

from ..grading import SOURCE_DIR
from . import all_exercises


def points_of(notebook: str) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells of an instructor notebook."""
    cells = nbformat.read(SOURCE_DIR / notebook / f"{notebook}.ipynb", as_version=4).cells
    return {
        cell.metadata.nbgrader.grade_id: cell.metadata.nbgrader.points
        for cell in cells
        if cell.metadata.get("nbgrader", {}).get("grade")
        and not cell.metadata.nbgrader.get("solution")
    }


def _points(exercise) -> str:
    """The points of an exercise's test cell, and how its parts share them: ``3 = 2 + 1``."""
    points = f"{points_of(exercise.notebook)[exercise.name]:g}"
    if exercise.parts:
        points += " = " + " + ".join(f"{part.points:g}" for part in exercise.parts)
    return points


def markdown_table() -> str:
    rows = [
        "| notebook | exercise (grade_id) | points (= behaviour + argument checks) | reference "
        "in course_lib | also removed while graded |",
        "|---|---|---|---|---|",
    ]
    for exercise in all_exercises():
        also = ", ".join(f"`{name.removeprefix('course_lib.')}`" for name in exercise.equivalents)
        rows.append(
            f"| {exercise.notebook} | `{exercise.name}` | {_points(exercise)} | "
            f"`{exercise.reference.removeprefix('course_lib.')}` | {also or '-'} |"
        )
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")

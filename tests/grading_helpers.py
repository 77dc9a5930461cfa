"""Synthetic submissions for the grader's tests."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def instructor(name: str):
    return nbformat.read(
        ROOT / "autograder" / "course" / "source" / name / f"{name}.ipynb", as_version=4
    )


def autograded_points(name: str) -> dict[str, float]:
    """{grade_id: points} of the autograded test cells of notebook ``name``, in order, as its
    source gives them (so that expected scores follow the notebook when an exercise is added)."""
    return {
        cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
        for cell in instructor(name).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    }


def released(name: str):
    return nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)


def solution_sources(name: str) -> dict[str, str]:
    return {
        cell.metadata.nbgrader.grade_id: cell.source
        for cell in instructor(name).cells
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"
    }


def submission(
    name: str, solutions: dict[str, str] | None = None, *, correct: bool = False, edit=None
):
    """The released notebook with some solution cells filled in.

    ``correct`` fills every solution with the instructor's; ``solutions`` then overrides cells
    by grade_id; ``edit(notebook)`` may change anything else (hostile submissions).
    """
    notebook = copy.deepcopy(released(name))
    filled = dict(solution_sources(name)) if correct else {}
    filled.update(solutions or {})
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in filled:
            cell.source = filled[grade_id]
    if edit is not None:
        edit(notebook)
    return notebook


def write(notebook, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path

"""Scores into nbgrader's gradebook, so that formgrader and ``nbgrader export`` see them.

Only the process that runs :func:`record` writes to the database (the class grader calls it from
its main process as results arrive), so parallel workers never contend for it. Recording the same
submission again updates its grades in place: one entry per student, notebook and test.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import SaveCells
from sqlalchemy.exc import SAWarning


def _alembic_on_path() -> None:
    """nbgrader runs its migrations with the ``alembic`` command, found on PATH: put this
    interpreter's bin/ first so a bare ``.venv/bin/python -m autograder`` works too."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def default_db_url(course_dir: Path) -> str:
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


class GradebookWriter:
    """One connection to the gradebook, used by one process."""

    def __init__(self, db_url: str, source_dir: Path):
        self.db_url = db_url
        self.source_dir = Path(source_dir)
        _alembic_on_path()
        self.gradebook = Gradebook(db_url)
        self._assignments: set[str] = set()

    def close(self) -> None:
        self.gradebook.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ensure_assignment(self, name: str) -> None:
        """Create the assignment's notebook, grade cells and solution cells (nbgrader's own
        SaveCells preprocessor, as ``generate_assignment`` does)."""
        if name in self._assignments:
            return
        self.gradebook.update_or_create_assignment(name)
        notebook = nbformat.read(self.source_dir / name / f"{name}.ipynb", as_version=4)
        resources = ResourcesDict()
        resources["nbgrader"] = {"db_url": self.db_url, "assignment": name, "notebook": name}
        SaveCells().preprocess(notebook, resources)
        self._assignments.add(name)

    def record(self, student: str, result: dict) -> None:
        """Write one graded notebook's autograded scores (manual grades are left alone)."""
        name = result["assignment"]
        self.ensure_assignment(name)
        self.gradebook.update_or_create_student(student)
        try:
            self.gradebook.find_submission(name, student)
        except MissingEntry:
            with warnings.catch_warnings():
                # nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings; harmless
                warnings.simplefilter("ignore", SAWarning)
                self.gradebook.add_submission(name, student)
        for test in result["tests"]:
            try:
                grade = self.gradebook.find_grade(test["id"], name, name, student)
            except MissingEntry:
                continue  # a test the gradebook does not know (should not happen)
            # nbgrader's models declare untyped Columns, which pyright reads as Column[...] here
            grade.auto_score = float(test["points"])  # pyright: ignore[reportAttributeAccessIssue]
            needs_manual = grade.manual_score is not None
            grade.needs_manual_grade = needs_manual  # pyright: ignore[reportAttributeAccessIssue]
        self.gradebook.db.commit()

    def totals(self, assignment: str) -> dict[str, float]:
        """Each student's total score on an assignment, as nbgrader computes it."""
        # score is a column_property nbgrader attaches after the class, declared there as None
        return {
            submission.student.id: submission.score  # pyright: ignore[reportReturnType]
            for submission in self.gradebook.assignment_submissions(assignment)
        }

"""Scores into nbgrader's gradebook, so that formgrader and ``nbgrader export`` see them.

Only the process that runs :meth:`GradebookWriter.record` (or ``record_autograded``) writes to the
database (the class grader calls it from its main process as results arrive), so parallel workers
never contend for it. Recording the same submission again updates its grades in place: one entry
per student, notebook and test; manual grades and comments are never touched.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader import api as nbgrader_api
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearOutput, ClearSolutions, ComputeChecksums, SaveCells
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from .grading import GradingError, default_db_url  # noqa: F401 (a name of this module)


def _alembic_on_path() -> None:
    """nbgrader runs its migrations with the ``alembic`` command, found on PATH: put this
    interpreter's bin/ first so a bare ``.venv/bin/python -m autograder`` works too."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read from nbgrader's migration
    scripts in this process.

    nbgrader's ``Gradebook`` stamps a new gradebook with it, and asks for it by running the
    ``alembic heads`` command: a new interpreter that imports alembic, seconds of CPU on the path
    of every first grading of a course (measured: 3 to 4 s of CPU, on 2 busy cores). Reading the
    same scripts here gives the same revision (a test compares the two) for a fraction of that.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    if head is None:
        raise RuntimeError("nbgrader's migration scripts name no revision")
    return head


def open_gradebook(db_url: str, course_id: str = "default_course") -> Gradebook:
    """nbgrader's ``Gradebook`` at ``db_url``; a new one is stamped with :func:`alembic_head`
    instead of the revision the ``alembic heads`` command prints."""
    asks = nbgrader_api.get_alembic_version
    nbgrader_api.get_alembic_version = alembic_head
    try:
        return Gradebook(db_url, course_id)
    finally:
        nbgrader_api.get_alembic_version = asks


class GradebookWriter:
    """One connection to the gradebook, used by one process.

    ``course_id`` and ``config`` (nbgrader's configuration, for the code stubs) are the course's,
    as nbgrader's own commands would read them.
    """

    def __init__(
        self,
        db_url: str,
        source_dir: Path,
        *,
        course_id: str = "default_course",
        config: Config | None = None,
    ):
        self.db_url = db_url
        self.source_dir = Path(source_dir)
        self.config = config or Config()
        _alembic_on_path()
        self.gradebook = open_gradebook(db_url, course_id)
        self._assignments: set[str] = set()

    def close(self) -> None:
        self.gradebook.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ensure_assignment(self, name: str) -> None:
        """Create or update the assignment's notebook, grade cells and solution cells as
        ``nbgrader generate_assignment`` does: nbgrader's own preprocessors clear the solutions,
        compute the checksums and save the cells (hidden tests included)."""
        if name in self._assignments:
            return
        self.gradebook.update_or_create_assignment(name)
        notebook = nbformat.read(self.source_dir / name / f"{name}.ipynb", as_version=4)
        resources = ResourcesDict()
        resources["nbgrader"] = {"db_url": self.db_url, "assignment": name, "notebook": name}
        try:
            for preprocessor in (ClearSolutions, ClearOutput, ComputeChecksums, SaveCells):
                notebook, resources = preprocessor(config=self.config).preprocess(
                    notebook, resources
                )
        except RuntimeError as error:  # SaveCells: graded cells changed after submissions
            raise GradingError(f"the gradebook refuses {name}: {error}") from None
        self._assignments.add(name)

    def _submission(self, student: str, assignment: str, timestamp=None) -> None:
        self.ensure_assignment(assignment)
        self.gradebook.update_or_create_student(student)
        with warnings.catch_warnings():
            # nbgrader's add_submission trips SQLAlchemy 2's autoflush warnings; harmless
            warnings.simplefilter("ignore", SAWarning)
            if timestamp is None:
                self.gradebook.update_or_create_submission(assignment, student)
            else:
                self.gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)

    def record(self, student: str, result: dict) -> None:
        """Write one graded notebook's autograded scores (manual grades are left alone)."""
        name = result["assignment"]
        self._submission(student, name)
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

    def record_autograded(
        self, student: str, assignment: str, notebook_id: str, notebook, timestamp=None
    ) -> dict[str, float | None]:
        """Record an autograded notebook as ``nbgrader autograde`` does; return the auto score
        of every grade cell, by grade_id.

        The submission is created (with its ``timestamp``, the one formgrader compares with
        ``submitted/``) or updated. As nbgrader's OverwriteCells does, every cell of the
        gradebook gets its checksum back, and a written answer left empty gets the stub it was
        released with. Then, as its SaveAutoGrades does, each grade cell's auto score is what
        :func:`nbgrader.utils.determine_grade` reads from the notebook (None for a written
        answer: a person grades it), the grade needs manual grading if it has a manual score
        or no auto score, and an unchanged solution gets the comment "No response.". Manual
        scores and comments stay as they are. ``notebook`` is changed in place.
        """
        self._submission(student, assignment, timestamp)
        gradebook, scores = self.gradebook, {}
        for cell in notebook.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if not grade_id:
                continue
            try:
                source = gradebook.find_source_cell(grade_id, notebook_id, assignment)
            except MissingEntry:
                continue
            cell.metadata.nbgrader["checksum"] = source.checksum
            if utils.is_solution(cell) and not cell.source.strip():
                cell.source = source.source
            if utils.is_grade(cell):
                grade = gradebook.find_grade(grade_id, notebook_id, assignment, student)
                auto_score, _ = utils.determine_grade(cell)
                scores[grade_id] = auto_score
                # untyped Columns in nbgrader's models, which pyright reads as Column[...] here
                grade.auto_score = auto_score  # pyright: ignore[reportAttributeAccessIssue]
                has_manual_score = grade.manual_score is not None
                needs_manual = auto_score is None or has_manual_score
                grade.needs_manual_grade = needs_manual  # pyright: ignore[reportAttributeAccessIssue]
            if utils.is_solution(cell) or utils.is_task(cell):
                comment = gradebook.find_comment(grade_id, notebook_id, assignment, student)
                released = str(source.checksum)
                unanswered = released == utils.compute_checksum(cell) and not utils.is_task(cell)
                no_response = "No response." if unanswered else None
                comment.auto_comment = no_response  # pyright: ignore[reportAttributeAccessIssue]
        gradebook.db.commit()
        return scores

    def grades(self, student: str, assignment: str, notebook_id: str) -> dict:
        """What the gradebook holds for one submitted notebook, manual grading included::

        {"score", "max_score", "late_penalty",
         "grades": {grade_id: {"score", "max_score", "auto_score", "manual_score"}},
         "comments": {grade_id: comment}}   # only the cells that have one
        """
        submitted = self.gradebook.find_submission_notebook(notebook_id, assignment, student)
        return {
            "score": submitted.score,
            "max_score": submitted.max_score,
            "late_penalty": submitted.late_submission_penalty or 0.0,
            "grades": {
                grade.name: {
                    "score": grade.score,
                    "max_score": grade.max_score,
                    "auto_score": grade.auto_score,
                    "manual_score": grade.manual_score,
                    "extra_credit": grade.extra_credit,
                }
                for grade in submitted.grades
            },
            "comments": {
                comment.name: comment.comment for comment in submitted.comments if comment.comment
            },
        }

    def totals(self, assignment: str) -> dict[str, float]:
        """Each student's total score on an assignment, as nbgrader computes it."""
        # score is a column_property nbgrader attaches after the class, declared there as None
        return {
            submission.student.id: submission.score  # pyright: ignore[reportReturnType]
            for submission in self.gradebook.assignment_submissions(assignment)
        }

"""``python -m autograder autograde ASSIGNMENT``: nbgrader's ``autograde``, with this grader.

It works in an nbgrader course directory (:func:`find_course`), configured by the course's
``nbgrader_config.py`` as nbgrader's own commands are, and does what ``nbgrader autograde``
does, with this project's grading (each notebook in its own sandboxed kernel, verdicts in the
grader's process, in parallel or on Dask: :func:`autograder.classroom.grade_jobs`):

* reads ``submitted/<student>/<assignment>/<notebook>.ipynb`` of every student (or one), and
  skips a student already autograded unless the submission is newer or ``regrade`` is set;
* writes ``autograded/<student>/<assignment>/<notebook>.ipynb``, the notebook as graded
  (:mod:`autograder.autograded`), beside a copy of the other submitted files (``timestamp.txt``);
* records the submission, its auto scores and comments in the gradebook as nbgrader does
  (:meth:`autograder.gradebook.GradebookWriter.record_autograded`), so that formgrader lists it
  and opens its written answers for manual grading; manual grades and comments are kept;
* writes ``feedback/<student>/<assignment>/<notebook>.html`` (with the autograded folder's other
  files, which ``nbgrader release_feedback`` reads), from the grader's results and the
  gradebook's scores and comments. nbgrader's own ``generate_feedback`` would render the
  autograded notebook, hidden tests included; this page shows each test's outcome and message
  and never test code. After manual grading, ``feedback_only`` writes it again from the
  autograded notebooks and the gradebook, without running anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import find_all_files
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from . import autograded, feedback, report
from .classroom import Job, Summary, failed_by_grader, grade_jobs, grader_failures
from .gradebook import GradebookWriter
from .grading import COURSE_DIR, Graded, GradingError, require_sandbox, seed_key
from .runner import DEFAULT_MEMORY, DEFAULT_TIMEOUT

CONFIG_FILE = "nbgrader_config.py"


def find_course(course_dir=None, cwd=None) -> Path:
    """The course directory: ``course_dir``, else ``cwd`` (the current directory) when it holds
    an ``nbgrader_config.py``, else the course of this repository (``autograder/course/``)."""
    if course_dir:
        path = Path(course_dir).resolve()
        if not path.is_dir():
            raise GradingError(f"{course_dir} is not a folder (--course-dir)")
        return path
    here = Path(cwd or os.getcwd()).resolve()
    return here if (here / CONFIG_FILE).exists() else COURSE_DIR


def load_course(root: Path) -> CourseDirectory:
    """nbgrader's view of the course at ``root``: its folders, course id and gradebook URL, as
    the course's ``nbgrader_config.py`` sets them (nbgrader's defaults otherwise)."""
    config = Config()
    if (Path(root) / CONFIG_FILE).exists():
        config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(root)
    return CourseDirectory(config=config)


@dataclass(frozen=True)
class Course:
    """The folders of one assignment in an nbgrader course."""

    coursedir: CourseDirectory
    assignment: str

    def folder(self, step: str, student: str) -> Path:
        """``<root>/<step>/<student>/<assignment>`` as nbgrader's ``directory_structure`` says."""
        return Path(os.path.normpath(self.coursedir.format_path(step, student, self.assignment)))

    def submitted(self, student: str) -> Path:
        return self.folder(self.coursedir.submitted_directory, student)

    def autograded(self, student: str) -> Path:
        return self.folder(self.coursedir.autograded_directory, student)

    def feedback(self, student: str) -> Path:
        return self.folder(self.coursedir.feedback_directory, student)

    @property
    def source(self) -> Path:
        """The folder of the instructor notebooks, one subfolder per assignment."""
        return self.folder(self.coursedir.source_directory, ".").parent

    @property
    def notebook(self) -> str:
        """The assignment's notebook: one per assignment, named after it, in this course."""
        return self.assignment

    def students(self, step: str) -> list[str]:
        """Students with a folder for the assignment under ``step`` (submitted, autograded),
        less nbgrader's ``student_id_exclude``."""
        pattern = self.coursedir.format_path(step, "(?P<student>[^/]+)", self.assignment, True)
        found = []
        for path in Path(self.coursedir.root).glob(
            os.path.relpath(self.coursedir.format_path(step, "*", self.assignment), self.root)
        ):
            match = re.fullmatch(pattern, str(path))
            if path.is_dir() and match:
                found.append(match["student"])
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        return sorted(set(found) - excluded)

    @property
    def root(self) -> str:
        return self.coursedir.root

    def graded_before(self, student: str) -> bool:
        """Whether the student has an autograded notebook that the grader did not fail to
        make (see :func:`autograder.classroom.grade_job`)."""
        try:
            notebook = json.loads((self.autograded(student) / f"{self.notebook}.ipynb").read_text())
        except (OSError, ValueError):
            return False
        return isinstance(notebook, dict) and not failed_by_grader(autograded.result_of(notebook))

    def needs_grading(self, student: str) -> bool:
        """nbgrader's rule: not yet autograded, or submitted again since; and here, also where
        the grader failed on the notebook last time."""
        if not self.graded_before(student):
            return True
        submitted = self.coursedir.get_existing_timestamp(str(self.submitted(student)))
        graded = self.coursedir.get_existing_timestamp(str(self.autograded(student)))
        return submitted is not None and graded is not None and submitted > graded


def _copy_files(source: Path, target: Path, ignore: list[str]) -> None:
    """Every file under ``source`` but notebooks and nbgrader's ignored ones, into ``target``
    (as nbgrader copies ``timestamp.txt`` and ``submission_secret.txt`` along)."""
    for name in find_all_files(str(source), [*ignore, "*.ipynb"]):
        destination = target / os.path.relpath(name, source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.unlink(missing_ok=True)
        shutil.copy(name, destination)


def _graded_cells(notebook) -> list[tuple[str, str]]:
    """(grade_id, kind) of the graded and solution cells of a notebook, in order."""
    cells = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade_id"):
            continue
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            cells.append((meta["grade_id"], "test"))
        elif meta.get("grade") or meta.get("task"):
            cells.append((meta["grade_id"], "answer"))
        elif meta.get("solution"):
            cells.append((meta["grade_id"], "solution"))
    return cells


def write_feedback(course: Course, gradebook: GradebookWriter, student: str) -> Path | None:
    """``feedback/<student>/<assignment>/<notebook>.html`` from the student's autograded
    notebook and the gradebook, with the autograded folder's other files; None if there is no
    autograded notebook this grader wrote."""
    path = course.autograded(student) / f"{course.notebook}.ipynb"
    if not path.exists():
        return None
    notebook = nbformat.read(path, as_version=4)
    result = autograded.result_of(notebook)
    if result is None:
        return None
    book = gradebook.grades(student, course.assignment, course.notebook)
    page = feedback.render_notebook(student, result, book, _graded_cells(notebook))
    folder = course.feedback(student)
    folder.mkdir(parents=True, exist_ok=True)
    _copy_files(course.autograded(student), folder, course.coursedir.ignore)
    target = folder / f"{course.notebook}.html"
    target.write_text(page)
    return target


def write_class_report(course: Course, *, names: bool = False) -> Path:
    """``reports/<assignment>/report.html`` in the course directory: the class's scores, pass
    rates and most frequent failure messages (:mod:`autograder.report`) over every notebook of
    the assignment this grader autograded; students named only with ``names``."""
    results = []
    for student in course.students(course.coursedir.autograded_directory):
        path = course.autograded(student) / f"{course.notebook}.ipynb"
        result = autograded.result_of(nbformat.read(path, as_version=4)) if path.exists() else None
        if result is not None:
            results.append(result)
    instructor = nbformat.read(
        course.source / course.assignment / f"{course.notebook}.ipynb", as_version=4
    )
    order = [grade_id for grade_id, kind in _graded_cells(instructor) if kind == "test"]
    target = Path(course.root) / "reports" / course.assignment / "report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    return report.write_report(target, results, test_order=order, names=names)


class AutogradedWriter:
    """Writes one graded notebook where nbgrader's autograde and feedback would."""

    def __init__(self, course: Course, gradebook: GradebookWriter):
        self.course = course
        self.gradebook = gradebook
        self.failed: list[str] = []  # "student/notebook: reason" where the grader failed

    def __call__(self, graded: Graded) -> None:
        course, result = self.course, graded.result
        student, notebook = result["student"], graded.notebook
        if notebook is None:  # only when the instructor notebook is missing, checked before
            raise GradingError(f"{course.assignment}: no instructor notebook")
        if failed_by_grader(result):
            self.failed.append(f"{student}/{course.notebook}: {result['error']}")
            if course.graded_before(student):
                return  # kept
        notebook.metadata[autograded.RESULT_KEY] = result
        submitted = course.submitted(student)
        scores = self.gradebook.record_autograded(
            student,
            course.assignment,
            course.notebook,
            notebook,
            course.coursedir.get_existing_timestamp(str(submitted)),
        )
        for test in result["tests"]:
            if test["id"] in scores and scores[test["id"]] != test["points"]:
                raise RuntimeError(
                    f"{student}: nbgrader reads {scores[test['id']]} points for "
                    f"{test['id']} from the autograded notebook, the grader gave {test['points']}"
                )
        target = course.autograded(student)
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        _copy_files(submitted, target, course.coursedir.ignore)
        _copy_files(course.source / course.assignment, target, course.coursedir.ignore)
        nbformat.write(notebook, target / f"{course.notebook}.ipynb")
        write_feedback(course, self.gradebook, student)


def autograde(
    assignment: str,
    *,
    course_dir=None,
    student: str | None = None,
    regrade: bool = False,
    feedback_only: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int | None = None,
    sandboxed: bool = True,
    timeout: int = DEFAULT_TIMEOUT,
    memory_bytes: int = DEFAULT_MEMORY,
    progress: bool = True,
    report_names: bool = False,
) -> Summary:
    """Autograde ``assignment`` in the course found by :func:`find_course`; return a summary.

    With ``feedback_only``, grade nothing: write the feedback of every autograded student again
    (after manual grading in formgrader).
    """
    root = find_course(course_dir)
    coursedir = load_course(root)
    course = Course(coursedir, assignment)
    if not (course.source / assignment / f"{assignment}.ipynb").exists():
        raise GradingError(
            f"no assignment {assignment!r} in {course.source} (its notebook would be "
            f"{assignment}/{assignment}.ipynb)"
        )
    step = coursedir.autograded_directory if feedback_only else coursedir.submitted_directory
    students = course.students(step)
    if student is not None:
        if student not in students:
            raise GradingError(f"no folder {course.folder(step, student)}")
        students = [student]
    if not students:
        raise GradingError(f"no submissions of {assignment} in {course.folder(step, '*')}")
    writer = GradebookWriter(
        coursedir.db_url, course.source, course_id=coursedir.course_id, config=coursedir.config
    )
    with writer as gradebook:
        gradebook.ensure_assignment(assignment)  # before any kernel runs: it may refuse
        if feedback_only:
            written = [s for s in students if write_feedback(course, gradebook, s) is not None]
            missing = sorted(set(students) - set(written))
            feedback_dir = course.folder(coursedir.feedback_directory, "*")
            report_path = write_class_report(course, names=report_names)
            summary = f"feedback for {len(written)} students in {feedback_dir}"
            summary += f"; class report {report_path}"
            if missing:
                summary += f"; not autograded by this grader: {', '.join(missing)}"
            return Summary(summary)
        if sandboxed:
            require_sandbox()
        todo = [s for s in students if regrade or course.needs_grading(s)]
        skipped = [s for s in students if s not in todo]
        key = seed_key(root) if seed is None else b""
        jobs = [
            Job(
                name,
                assignment,
                str(course.submitted(name) / f"{course.notebook}.ipynb"),
                seed,
                sandboxed,
                timeout,
                memory_bytes,
                str(course.source),
                with_notebook=True,
                key=key,
            )
            for name in todo
        ]
        writer = AutogradedWriter(course, gradebook)
        graded = grade_jobs(
            jobs,
            [writer],
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    report_path = write_class_report(course, names=report_names)
    summary = (
        f"autograded {graded} notebooks of {assignment} into "
        f"{course.folder(coursedir.autograded_directory, '*')}, feedback in "
        f"{course.folder(coursedir.feedback_directory, '*')}, gradebook {coursedir.db_url}, "
        f"class report {report_path}"
    )
    if skipped:
        summary += (
            f"\nalready autograded, skipped ({len(skipped)}): {', '.join(skipped)}"
            " (--regrade grades them again)"
        )
    return Summary(summary + grader_failures(writer.failed), tuple(writer.failed))

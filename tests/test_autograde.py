"""`python -m autograder autograde`: nbgrader's autograde in a course directory, end to end.

A course in a temporary folder, as an instructor has it: the assignment generated and released
with nbgrader, one submission made through nbgrader's exchange (fetch, submit, collect) by the
user running the tests, and others put in ``submitted/`` as ``collect`` leaves them. The tests
marked slow run nbgrader and sandboxed kernels; the class is autograded once for all of them.
"""

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import determine_grade, get_username, is_grade

from autograder.autograde import Course, find_course, load_course
from autograder.grading import COURSE_DIR
from grading_helpers import ROOT, instructor, submission, write
from test_grading import FORWARD, FULL, NO_SCALING, POINTS

NB = "03_inverted_dropout"
ANSWER = "The gradient is 1/keep_prob larger, and so is the step relative to the weight."
CONFIG = "c = get_config()\nc.CourseDirectory.course_id = 'dropout'\n"
TIMESTAMP = "2026-11-30 09:00:00.000000 UTC"


# --- without a kernel ---------------------------------------------------------------------------


def test_the_course_is_the_option_else_the_current_folder_with_a_config_else_the_courses(
    tmp_path,
):
    assert find_course(tmp_path / "..", cwd="/") == (tmp_path / "..").resolve()
    assert find_course(None, cwd=tmp_path) == COURSE_DIR  # no nbgrader_config.py here
    (tmp_path / "nbgrader_config.py").write_text(CONFIG)
    assert find_course(None, cwd=tmp_path) == tmp_path.resolve()


def test_the_courses_own_config_names_its_folders_and_gradebook(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        CONFIG + "c.CourseDirectory.submitted_directory = 'collected'\n"
    )
    coursedir = load_course(tmp_path)
    assert coursedir.course_id == "dropout"
    assert coursedir.db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"
    course = Course(coursedir, NB)
    assert course.submitted("ann") == tmp_path / "collected" / "ann" / NB
    assert course.source == tmp_path / "source"
    ours = load_course(COURSE_DIR)
    assert Path(ours.root) == COURSE_DIR and ours.course_id == "dropout"


def _folder(path: Path, timestamp: str | None = None) -> None:
    path.mkdir(parents=True)
    (path / f"{NB}.ipynb").write_text("{}")
    if timestamp:
        (path / "timestamp.txt").write_text(timestamp)


def test_who_needs_grading_follows_nbgraders_rule(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        CONFIG + "c.CourseDirectory.student_id_exclude = 'teacher'\n"
    )
    course = Course(load_course(tmp_path), NB)
    for student in ("ann", "bo", "cy", "teacher"):
        _folder(course.submitted(student), "2026-11-30 10:00:00 UTC")
    (course.submitted("dee")).mkdir(parents=True)  # a folder without the notebook
    (tmp_path / "submitted" / "eve" / "01_intuition").mkdir(parents=True)  # another assignment
    _folder(course.autograded("ann"), "2026-11-30 10:00:00 UTC")  # graded: skipped
    _folder(course.autograded("bo"), "2026-11-30 09:00:00 UTC")  # submitted again since
    assert course.students("submitted") == ["ann", "bo", "cy", "dee"]
    assert [s for s in course.students("submitted") if course.needs_grading(s)] == [
        "bo",
        "cy",
        "dee",
    ]


# --- a class, autograded ------------------------------------------------------------------------


def _env(course: Path) -> dict:
    return dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        JUPYTER_CONFIG_DIR=str(course.parent / ".jupyter"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )


def nbgrader(course: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    exchange = f"--Exchange.root={course.parent / 'exchange'}"
    command = [sys.executable, "-m", "nbgrader", *args, exchange, "--log-level=WARN"]
    result = subprocess.run(
        command, cwd=cwd or course, env=_env(course), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result


def autograde(course: Path, *args: str) -> subprocess.CompletedProcess:
    """The command as an instructor runs it: in the course directory, no --course-dir."""
    command = [sys.executable, "-m", "autograder", "autograde", NB, "--quiet", *args]
    result = subprocess.run(command, cwd=course, env=_env(course), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def _answered(notebook):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "explain_boosting_factor":
            cell.source = ANSWER


def _test_cell_emptied(notebook):
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "dropout_forward":
            cell.source = "pass"


def _cell_of_her_own(notebook):
    notebook.cells.insert(2, nbformat.v4.new_code_cell("print('carol was here')\n1 / 0"))


ME = get_username()  # the one student who submits through nbgrader's exchange
# student: expected autograded score (of the FULL autograded points the notebook's source gives;
# the written answers are graded by hand)
EXPECTED = {ME: FULL, "alice": FULL, "bob": FULL - POINTS["dropout_forward"], "carol": 0.0,
            "dave": 0.0}  # fmt: skip
JUDGEMENT = "choose_keep_probs"  # solved by alice, with its written answer left empty
MAX_SCORE = sum(
    cell.metadata.nbgrader["points"]
    for cell in instructor(NB).cells
    if cell.metadata.get("nbgrader", {}).get("grade")
)


def _collected(course: Path, student: str, notebook) -> None:
    """What ``nbgrader collect`` leaves for a student: the notebook, its timestamp, its secret."""
    folder = course / "submitted" / student / NB
    if notebook is None:
        folder.mkdir(parents=True)
        (folder / f"{NB}.ipynb").write_text("this is not a notebook")
    else:
        write(notebook, folder / f"{NB}.ipynb")
    (folder / "timestamp.txt").write_text(TIMESTAMP)
    (folder / "submission_secret.txt").write_text(f"secret of {student}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("autograde")
    course, home = root / "course", root / "home"
    shutil.copytree(ROOT / "autograder" / "course" / "source" / NB, course / "source" / NB)
    (course / "nbgrader_config.py").write_text(CONFIG)
    (root / "exchange").mkdir()
    home.mkdir()
    nbgrader(course, "generate_assignment", NB)
    nbgrader(course, "release_assignment", NB)
    nbgrader(course, "fetch_assignment", NB, "--course=dropout", cwd=home)
    write(submission(NB, correct=True, edit=_answered), home / NB / f"{NB}.ipynb")
    nbgrader(course, "submit", NB, "--course=dropout", cwd=home)
    nbgrader(course, "collect", NB)
    _collected(course, "alice", submission(NB, correct=True, edit=_answered))
    bob = submission(NB, {FORWARD: NO_SCALING}, correct=True, edit=_test_cell_emptied)
    _collected(course, "bob", bob)
    _collected(course, "carol", submission(NB, edit=_cell_of_her_own))
    _collected(course, "dave", None)
    run = autograde(course, "--workers", "2")
    return course, home, run


def _autograded(course: Path, student: str):
    return nbformat.read(course / "autograded" / student / NB / f"{NB}.ipynb", as_version=4)


def _cell(notebook, grade_id: str):
    return next(
        c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id
    )


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_autograde_writes_nbgraders_folders_for_every_student(graded):
    course, _, run = graded
    assert f"autograded {len(EXPECTED)} notebooks of {NB}" in run.stdout
    for student in EXPECTED:
        submitted = course / "submitted" / student / NB
        for folder in (course / "autograded" / student / NB, course / "feedback" / student / NB):
            assert (folder / "timestamp.txt").read_text() == (
                submitted / "timestamp.txt"
            ).read_text()
            secret = (submitted / "submission_secret.txt").read_text()
            assert (folder / "submission_secret.txt").read_text() == secret
        assert (course / "autograded" / student / NB / f"{NB}.ipynb").exists()
        assert (course / "feedback" / student / NB / f"{NB}.html").exists()
    assert (course / ".autograder-seed-key").exists()


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_autograde_writes_the_class_report_naming_no_student(graded):
    course, _, run = graded
    path = course / "reports" / NB / "report.html"
    assert f"class report {path}" in run.stdout
    page = path.read_text()
    assert "dropout_forward" in page and "<svg" in page
    assert not [student for student in EXPECTED if student in page]


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_the_autograded_notebook_is_the_submission_as_nbgrader_leaves_it(graded):
    course, _, _ = graded
    teacher = {
        c.metadata.nbgrader["grade_id"]: c.source
        for c in instructor(NB).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    }
    for student, expected in EXPECTED.items():
        notebook = _autograded(course, student)
        nbformat.validate(notebook)
        result = notebook.metadata["autograder"]
        tests = [c for c in notebook.cells if is_grade(c) and c.cell_type == "code"]
        # the instructor's test cells, hidden tests included (bob's emptied one restored)
        assert {c.metadata.nbgrader["grade_id"]: c.source for c in tests} == teacher
        assert all("### BEGIN HIDDEN TESTS" in c.source for c in tests)
        # nbgrader's own reading of the notebook gives the grader's score
        assert sum(determine_grade(c)[0] or 0.0 for c in tests) == result["score"] == expected
    bob = _autograded(course, "bob")
    assert _cell(bob, "dropout_forward_solution").source == NO_SCALING
    failure = _cell(bob, "dropout_forward").outputs
    assert failure[0].output_type == "error" and "divide by keep_prob" in failure[0].evalue
    assert _cell(bob, "equivalent_standard_lr").outputs[0].output_type == "stream"
    assert _cell(_autograded(course, "alice"), "explain_boosting_factor").source == ANSWER
    carol = _autograded(course, "carol")
    own = next(c for c in carol.cells if c.source.startswith("print('carol was here')"))
    assert [o.output_type for o in own.outputs] == ["stream", "error"]
    assert own.outputs[0].text == "carol was here\n" and own.outputs[1].ename == "ZeroDivisionError"
    stub = _cell(carol, "dropout_forward").outputs[0]
    assert "is not implemented yet" in stub.evalue
    dave = _autograded(course, "dave")
    assert dave.cells[0].source.startswith("**Not graded:** not a notebook")


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_formgrader_lists_every_submission_and_opens_the_written_answers(graded):
    course, _, _ = graded
    from nbconvert.exporters import HTMLExporter
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    coursedir = load_course(course)
    api = NbGraderAPI(coursedir, config=coursedir.config)
    submissions = {s["student"]: s for s in api.get_submissions(NB)}
    assert {s: submissions[s]["score"] for s in EXPECTED} == EXPECTED
    assert all(submissions[s]["autograded"] for s in EXPECTED)
    assert [s for s in EXPECTED if submissions[s]["needs_manual_grade"]] == [ME, "alice"]
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    with Gradebook(coursedir.db_url, "dropout") as gradebook:
        alice = gradebook.find_submission_notebook(NB, NB, "alice").id
    resources = {
        "assignment_id": NB,
        "notebook_id": NB,
        "submission_id": alice,
        "index": 0,
        "total": len(EXPECTED),
        "base_url": "",
        "student": "alice",
        "last_name": None,
        "first_name": None,
        "notebook_path": f"autograded/alice/{NB}/{NB}.ipynb",
    }
    page, _ = HTMLExporter(config=config).from_filename(
        str(course / "autograded" / "alice" / NB / f"{NB}.ipynb"), resources=resources
    )
    assert ANSWER in page
    assert re.search(r'<input class="score[^>]*id="explain_boosting_factor"', page)


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_feedback_shows_outcomes_never_test_code_and_release_feedback_delivers_it(graded):
    course, home, _ = graded
    pages = {s: (course / "feedback" / s / NB / f"{NB}.html").read_text() for s in EXPECTED}
    assert "did you forget to divide by keep_prob" in pages["bob"]
    assert "not a notebook" in pages["dave"]
    assert "not graded yet" in pages["alice"]  # the written answer, until a person grades it
    for page in pages.values():
        for secret in ("BEGIN HIDDEN", "hidden=True", "check(", "def verdict", "probe("):
            assert secret not in page
    nbgrader(course, "release_feedback", NB)
    nbgrader(course, "fetch_feedback", NB, "--course=dropout", cwd=home)
    fetched = list((home / NB / "feedback").glob(f"*/{NB}.html"))
    assert [path.read_text() for path in fetched] == [pages[ME]]


def _grade_by_hand(db_url: str, student: str, scores: dict, comments: dict) -> None:
    """What a grader does in formgrader, whose handlers set these columns of the gradebook."""
    with Gradebook(db_url, "dropout") as gradebook:
        for grade_id, score in scores.items():
            grade = gradebook.find_grade(grade_id, NB, NB, student)
            grade.manual_score = score  # pyright: ignore[reportAttributeAccessIssue]
        for grade_id, text in comments.items():
            comment = gradebook.find_comment(grade_id, NB, NB, student)
            comment.manual_comment = text  # pyright: ignore[reportAttributeAccessIssue]
        gradebook.db.commit()


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_a_regrade_keeps_manual_grades_and_comments_and_they_reach_feedback_and_export(graded):
    course, _, _ = graded
    again = autograde(course)
    assert "autograded 0 notebooks" in again.stdout
    assert f"already autograded, skipped ({len(EXPECTED)}): {', '.join(sorted(EXPECTED))}" in (
        again.stdout
    )
    db_url = load_course(course).db_url
    _grade_by_hand(
        db_url,
        "alice",
        {"explain_boosting_factor": 1.5, "dropout_forward": 3.0},
        {
            "explain_boosting_factor": "Right; say why the weights are smaller.",
            "dropout_forward_solution": "Tidy code.",
        },
    )
    regraded = autograde(course, "--student", "alice", "--regrade")
    assert "autograded 1 notebooks" in regraded.stdout
    with Gradebook(db_url, "dropout") as gradebook:
        book = gradebook.find_submission_notebook(NB, NB, "alice")
        grades = {g.name: (g.auto_score, g.manual_score) for g in book.grades}
        comments = {c.name: c.manual_comment for c in book.comments if c.manual_comment}
        assert grades == {
            "dropout_forward": (4.0, 3.0),
            "equivalent_standard_lr": (2.0, None),
            "explain_boosting_factor": (None, 1.5),
            JUDGEMENT: (POINTS[JUDGEMENT], None),
            "explain_keep_probs": (0.0, None),
        }
        assert comments == {
            "explain_boosting_factor": "Right; say why the weights are smaller.",
            "dropout_forward_solution": "Tidy code.",
        }
        assert book.score == 3.0 + 2.0 + 1.5 + POINTS[JUDGEMENT]
    refreshed = autograde(course, "--feedback-only")
    assert f"feedback for {len(EXPECTED)} students" in refreshed.stdout
    page = (course / "feedback" / "alice" / NB / f"{NB}.html").read_text()
    assert f"{NB}: {3.0 + 2.0 + 1.5 + POINTS[JUDGEMENT]:g} / {MAX_SCORE:g}" in page
    assert "3 / 4 (set by your grader)" in page and "1.5 / 2" in page
    assert "Right; say why the weights are smaller." in page and "Tidy code." in page
    nbgrader(course, "export")
    with open(course / "grades.csv") as stream:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(stream)}
    assert exported == {**EXPECTED, "alice": 3.0 + 2.0 + 1.5 + POINTS[JUDGEMENT]}


@pytest.mark.slow
@pytest.mark.xdist_group("autograde")
def test_on_a_dask_cluster_the_same_notebook_and_scores(graded):
    from services import dask_cluster

    course, _, _ = graded
    before = _autograded(course, "bob")
    with dask_cluster() as address:
        autograde(course, "--student", "bob", "--regrade", "--scheduler", address)
    after = _autograded(course, "bob")
    assert after.metadata["autograder"]["tests"] == before.metadata["autograder"]["tests"]
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]

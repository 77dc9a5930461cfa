"""`python -m autograder grade`: a class of 30 synthetic students, end to end, with nbgrader's
gradebook and export, on local workers, on a Dask cluster, and with a PostgreSQL gradebook."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grading_helpers import ROOT, submission, write
from services import dask_cluster, postgres_server
from test_grading import CORRECT_LR, FORWARD, FULL, LR, MONKEYPATCH_CHECKS, NO_SCALING, POINTS

NB = "03_inverted_dropout"
# the class is graded once, by one worker, for all the tests of this module; grading it starts
# sandboxed kernels, nbgrader, a Dask cluster and PostgreSQL
pytestmark = [pytest.mark.xdist_group("classroom"), pytest.mark.slow]
BINOMIAL_FORWARD = """def dropout_forward(x, p_drop, *, rng, training=True):
    if p_drop < 0 or p_drop >= 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if not training:
        return x, None
    keep = rng.binomial(1, 1 - p_drop, size=x.shape).astype(bool)
    return np.where(keep, x / x.dtype.type(1 - p_drop), x.dtype.type(0)), keep
"""
BOOSTED_LR = "def equivalent_standard_lr(lr, p_drop):\n    return lr / (1 - p_drop)\n"

# (how many, kind, expected score)
# (of FULL autograded points, read from the notebook: dropout_forward 4, equivalent_standard_lr 2
# and choose_keep_probs; "hostile" fills in the forward and the rate only)
CLASS = [
    (10, "correct", FULL),
    (5, "correct_binomial", FULL),
    (5, "forward_wrong", FULL - POINTS["dropout_forward"]),
    (4, "lr_wrong", FULL - POINTS["equivalent_standard_lr"]),
    (4, "blank", 0),
    (1, "not_a_notebook", 0),
    (1, "hostile", POINTS["equivalent_standard_lr"]),
]


def make_class(root: Path) -> dict[str, float]:
    kinds = {
        "correct": lambda: submission(NB, correct=True),
        "correct_binomial": lambda: submission(NB, {FORWARD: BINOMIAL_FORWARD}, correct=True),
        "forward_wrong": lambda: submission(NB, {FORWARD: NO_SCALING}, correct=True),
        "lr_wrong": lambda: submission(NB, {LR: BOOSTED_LR}, correct=True),
        "blank": lambda: submission(NB),
        "hostile": lambda: submission(NB, {FORWARD: MONKEYPATCH_CHECKS, LR: CORRECT_LR}),
    }
    expected, number = {}, 0
    for count, kind, score in CLASS:
        for _ in range(count):
            student = f"s{number:02d}_{kind}"
            path = root / student / f"{NB}.ipynb"
            if kind == "not_a_notebook":
                path.parent.mkdir(parents=True)
                path.write_text("this is not a notebook")
            else:
                write(kinds[kind](), path)
            expected[student] = score
            number += 1
    return expected


def grade_command(submissions, out, course, *extra) -> list[str]:
    """``python -m autograder grade`` of a class into ``out``, scores into ``course``."""
    return [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        str(submissions),
        "--out",
        str(out),
        "--course-dir",
        str(course),
        *extra,
    ]


def grade(submissions, out, course, *extra):
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(course / ".jupyter"))
    result = subprocess.run(
        grade_command(submissions, out, course, *extra),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result


def results(out: Path) -> dict[str, dict]:
    return {
        path.parent.name: json.loads(path.read_text())
        for path in (out / "results").glob(f"*/{NB}.json")
    }


@pytest.fixture(scope="session")  # once per worker; the group keeps its tests on one
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    submissions, out, course = root / "submitted", root / "results", root / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'dropout'\n"
    )
    expected = make_class(submissions)
    run = grade(submissions, out, course, "--workers", "2", "--similarity")
    return submissions, out, course, expected, run


def test_every_score_is_the_expected_one(graded_class):
    _, out, _, expected, run = graded_class
    graded = results(out)
    assert len(expected) == 30
    assert {student: result["score"] for student, result in graded.items()} == expected
    assert "graded 30 notebooks of 30 students" in run.stdout
    assert "grading" in run.stderr  # the progress bar


def test_csv_has_one_row_per_notebook_and_a_column_per_test(graded_class):
    _, out, _, expected, _ = graded_class
    with open(out / "grades.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 30
    assert list(rows[0])[:5] == ["student", "notebook", "score", "max_score", "seed"]
    # a column per test, in the order of the notebook's graded cells
    import nbformat

    source = nbformat.read(ROOT / "autograder" / "course" / "source" / NB / f"{NB}.ipynb", 4)
    tests = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in source.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    ]
    assert list(rows[0])[5:] == tests and {"dropout_forward", "equivalent_standard_lr"} <= set(
        tests
    )
    by_student = {row["student"]: row for row in rows}
    assert by_student["s15_forward_wrong"]["dropout_forward"] == "0.0"
    assert by_student["s15_forward_wrong"]["equivalent_standard_lr"] == "2.0"
    assert all(float(row["score"]) == expected[row["student"]] for row in rows)


def test_feedback_shows_outcomes_and_messages_but_no_test_code(graded_class):
    _, out, _, expected, _ = graded_class
    pages = {path.stem: path.read_text() for path in (out / "feedback").glob("*.html")}
    assert set(pages) == set(expected)
    assert "forget to divide by keep_prob" in pages["s15_forward_wrong"]
    assert "not a notebook" in pages["s28_not_a_notebook"]
    for page in pages.values():
        for secret in ("BEGIN HIDDEN", "hidden=True", "check(", "def verdict", "probe("):
            assert secret not in page


def test_similarity_report_flags_exactly_the_identical_cells(graded_class):
    _, out, _, expected, run = graded_class
    assert "similarity: " in run.stdout and (out / "similarity.html").exists()
    pairs = json.loads((out / "similarity.json").read_text())
    readable = [student for student in expected if not student.endswith("_not_a_notebook")]
    n_exercises = len(POINTS)  # one comparison of every pair per exercise's solution cell
    assert len(pairs) == n_exercises * (len(readable) * (len(readable) - 1) // 2 + len(readable))
    assert [pair["score"] for pair in pairs] == sorted(
        (pair["score"] for pair in pairs), reverse=True
    )
    forward = {
        frozenset((pair["a"], pair["b"])): pair["score"]
        for pair in pairs
        if pair["exercise"] == "dropout_forward"
    }
    # students of one kind handed in the same forward pass: the "correct" and "lr_wrong" ones
    # the instructor's own, the hostile one the "forward_wrong" pass plus lines of its own.
    # Those score 1 with each other, and only those.
    aliases = {"lr_wrong": "correct", "hostile": "forward_wrong"}
    kinds = {student: student.split("_", 1)[1] for student in readable}
    kinds = {student: aliases.get(kind, kind) for student, kind in kinds.items()}
    kinds["reference"] = "correct"
    for pair, score in forward.items():
        a, b = sorted(pair)
        same = kinds[a] == kinds[b] != "blank"
        assert (score == 1.0) == same, (a, b, score)


def test_nbgrader_export_sees_the_same_totals(graded_class):
    _, _out, course, expected, _ = graded_class
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
    )
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--log-level=WARN"],
        cwd=course,
        env=env,
        check=True,
        capture_output=True,
    )
    with open(course / "grades.csv") as stream:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(stream)}
    assert exported == expected


def test_rerun_skips_done_work_and_regrade_is_idempotent(graded_class, tmp_path):
    submissions, out, course, expected, _ = graded_class
    again = grade(submissions, out, course, "--workers", "2")
    assert "30 already graded, skipped" in again.stdout
    # a crash midway: five results lost; the rerun grades exactly those five
    for student in list(expected)[:5]:
        (out / "results" / student / f"{NB}.json").unlink()
    resumed = grade(submissions, out, course, "--workers", "2")
    assert "graded 5 notebooks" in resumed.stdout
    # regrading a student with the recorded seed: same JSON, one gradebook entry, same score
    one = tmp_path / "one"
    shutil.copytree(submissions / "s16_forward_wrong", one / "s16_forward_wrong")
    before = (out / "results" / "s16_forward_wrong" / f"{NB}.json").read_text()
    grade(one, out, course, "--regrade", "--workers", "1")
    after = (out / "results" / "s16_forward_wrong" / f"{NB}.json").read_text()

    def strip(text):
        return {k: v for k, v in json.loads(text).items() if k != "graded_at"}

    assert strip(after) == strip(before)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submissions_of = gradebook.find_student("s16_forward_wrong").submissions
        assert submissions_of[0].score == FULL - POINTS["dropout_forward"]
        assert len(submissions_of) == 1
        assert len(gradebook.students) == 30


SUBSET = [
    "s00_correct",
    "s10_correct_binomial",
    "s15_forward_wrong",
    "s20_lr_wrong",
    "s24_blank",
    "s28_not_a_notebook",
    "s29_hostile",
]


def _subset(submissions: Path, target: Path) -> Path:
    for student in SUBSET:
        shutil.copytree(submissions / student, target / student)
    return target


def _scores(out: Path) -> dict[str, tuple]:
    return {
        student: (
            result["score"],
            result["seed"],
            tuple((t["id"], t["status"], t["points"]) for t in result["tests"]),
        )
        for student, result in results(out).items()
    }


def _same_course(course: Path, target: Path) -> Path:
    """A course directory for the same class elsewhere: it shares the seed key."""
    target.mkdir()
    shutil.copy2(course / ".autograder-seed-key", target)
    return target


def test_dask_grades_the_class_to_the_same_results(graded_class, tmp_path):
    submissions, out, main_course, _, _ = graded_class
    subset = _subset(submissions, tmp_path / "subset")
    course = _same_course(main_course, tmp_path / "course")
    with dask_cluster() as address:
        grade(subset, tmp_path / "dask", course, "--scheduler", address)
    local = {s: v for s, v in _scores(out).items() if s in SUBSET}
    assert _scores(tmp_path / "dask") == local


def test_postgresql_gradebook_gets_the_same_scores(graded_class, tmp_path):
    submissions, out, main_course, expected, _ = graded_class
    subset = _subset(submissions, tmp_path / "subset")
    course = _same_course(main_course, tmp_path / "course")
    with postgres_server() as url:
        grade(subset, tmp_path / "pg", course, "--db-url", url, "--workers", "2")
        from nbgrader.api import Gradebook

        with Gradebook(url) as gradebook:
            totals = {s.student.id: s.score for s in gradebook.assignment_submissions(NB)}
    assert totals == {student: expected[student] for student in SUBSET}
    local = {s: v for s, v in _scores(out).items() if s in SUBSET}
    assert _scores(tmp_path / "pg") == local


def test_report_shows_the_class_mistakes_and_names_no_student(graded_class):
    _, out, _, expected, _ = graded_class
    page = (out / "report.html").read_text()
    assert not [student for student in expected if student in page]
    # the six students whose forward pass does not rescale (the hostile one's among them) are
    # one group, whatever numbers their seeds gave
    rescale = re.search(
        r"<td class='n'>(\d+)</td><td style='[^']*'>failed</td>"
        r"<td class='message'>[^<]*forget to divide by keep_prob",
        page,
    )
    assert rescale and rescale.group(1) == "6", page
    assert "Not graded" in page and "not a notebook" in page
    for secret in ("BEGIN HIDDEN", "hidden=True", "def verdict"):
        assert secret not in page

"""The instructor's report (autograder/report.py), on class results built in memory."""

import doctest
import json
import re

import nbformat
import pytest

from autograder import classroom, cli, report

NB = "03_inverted_dropout"
FORWARD_MESSAGE = (
    "kept units must equal x / keep_prob = x * {factor}, saw x times 1 (median). "
    "Did you forget to divide by keep_prob?"
)
SHAPE_MESSAGE = "dropout_forward must have shape ({n}, {m}), got ({m}, {n})."


def outcome(grade_id, max_points, status="passed", message=""):
    return {
        "id": grade_id,
        "points": max_points if status == "passed" else 0.0,
        "max_points": max_points,
        "status": status,
        "message": message,
    }


def result(student, forward=("passed", ""), lr=("passed", ""), notebook=NB, **extra):
    tests = [outcome("dropout_forward", 4.0, *forward), outcome("lr", 2.0, *lr)]
    return {
        "notebook": notebook,
        "assignment": notebook,
        "student": student,
        "score": sum(t["points"] for t in tests),
        "max_score": 6.0,
        "seed": 1234,
        "sandbox": True,
        "tests": tests,
        "warnings": [],
        **extra,
    }


def not_a_notebook(student, notebook=NB):
    reason = "not a notebook: the file is empty"
    return result(
        student, ("error", reason), ("error", reason), notebook=notebook, error=reason
    ) | {"score": 0.0}


def make_class() -> list[dict]:
    """Ten students: six pass all, three forget to rescale (their messages differing in the
    numbers), one has the wrong shape, and one more handed in an empty file."""
    results = [result(f"ada_{i}") for i in range(6)]
    results += [
        result(f"grace_{i}", ("failed", FORWARD_MESSAGE.format(factor=factor)))
        for i, factor in enumerate(["2", "1.25", "1.66667"])
    ]
    results.append(result("alan", ("failed", SHAPE_MESSAGE.format(n=3, m=4)), ("timeout", "")))
    results.append(not_a_notebook("edsger"))
    return results


STUDENTS = [f"ada_{i}" for i in range(6)] + [f"grace_{i}" for i in range(3)] + ["alan", "edsger"]


def test_docstring_examples():
    assert doctest.testmod(report).failed == 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x * 2, saw 1 (median)", "x * 1.66667, saw 0.999 (median)"),
        ("p_drop must be in [0, 1), got 1.2", "p_drop must be in [0, 1), got -3e-05"),
        ("shape (3, 4), got (4, 3)", "shape (10, 2), got (2,)"),
        ("got array([1., 0., 2.])", "got array([[0.5, 0. ],\n       [2. , 2. ]], dtype=float32)"),
        ("got [0.1 0.2 ... 0.9]", "got [1 2 3]"),
        ("mean np.float64(0.5) at 0x7f3a2c", "mean np.float64(nan) at 0x55d0"),
        ("got inf  and\n  -inf", "got 1 and 2"),
        ("seed 8812: wrong.", "seed 7: wrong."),
    ],
)
def test_messages_that_differ_only_in_numbers_normalise_alike(a, b):
    assert report.normalise_message(a) == report.normalise_message(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("dtype float32 expected, got float64", "dtype float32 expected, got float16"),
        ("did you forget to divide by keep_prob?", "the inference output must equal x"),
        ("ValueError not raised for p_drop", "ValueError not raised for rng"),
    ],
)
def test_messages_that_differ_in_words_stay_apart(a, b):
    assert report.normalise_message(a) != report.normalise_message(b)


def test_whole_point_histogram():
    # bins 0..6: k <= score < k + 1, the last holding the full marks
    scores = [0, 0, 0.5, 1, 2.9999999999, 3.5, 6, 6, 6]
    assert report.whole_point_histogram(scores, 6) == [3, 1, 0, 2, 0, 0, 3]
    assert report.whole_point_histogram([], 2.5) == [0, 0, 0]
    assert report.whole_point_histogram([2.5], 2.5) == [0, 0, 1]


def test_summary_counts_scores_and_outcomes():
    (summary,) = report.summarise(make_class())
    assert summary.notebook == NB
    assert summary.histogram == [2, 0, 3, 0, 0, 0, 6]  # edsger and alan 0, grace 2, ada 6
    assert summary.not_graded_histogram == [1, 0, 0, 0, 0, 0, 0]
    assert summary.max_score == 6
    assert summary.median == 6
    assert summary.mean == pytest.approx((3 * 2 + 6 * 6) / 11)
    forward, lr = summary.tests
    assert (forward.grade_id, forward.max_points) == ("dropout_forward", 4)
    # the submission that could not be graded is left out of the tests
    assert forward.counts == {"passed": 6, "failed": 4, "error": 0, "timeout": 0}
    assert lr.counts == {"passed": 9, "failed": 0, "error": 0, "timeout": 1}
    assert forward.pass_rate == pytest.approx(0.6)
    assert lr.pass_rate == pytest.approx(0.9)


def test_a_test_scored_in_parts_counts_who_kept_some_points_and_the_mean_points():
    unchecked = "argument checks: dropout_forward with p_drop=1.0 must raise ValueError"
    partly = result("barbara", ("failed", unchecked))
    partly["tests"][0]["points"] = 3.0  # the behaviour's 3 of 4
    results = [*make_class(), partly]
    (summary,) = report.summarise(results)
    forward, lr = summary.tests
    assert forward.counts["failed"] == 5 and forward.partly_passed == 1
    assert lr.partly_passed == 0  # a timeout keeps nothing
    assert forward.mean_points == pytest.approx((6 * 4 + 3) / 11)
    page = report.render(results)
    assert "did not pass (1 kept some points)" in page
    assert f"{(6 * 4 + 3) / 11:.3g} / 4" in page


def test_failure_messages_are_grouped_by_their_numbers_free_form():
    (summary,) = report.summarise(make_class())
    forward = summary.tests[0]
    assert [len(group.students) for group in forward.groups] == [3, 1]
    rescale, shape = forward.groups
    assert rescale.students == ["grace_0", "grace_1", "grace_2"]
    assert rescale.example == FORWARD_MESSAGE.format(factor="2")  # a real message
    assert shape.students == ["alan"]
    (not_graded,) = summary.not_graded
    assert not_graded.students == ["edsger"]
    assert not_graded.example == "not a notebook: the file is empty"


def test_a_student_counts_once_per_group():
    results = [result("ada"), result("grace")]
    results[0]["warnings"] = ["edited points of cell 3", "edited points of cell 5"]
    results[1]["warnings"] = ["edited points of cell 2"]
    (summary,) = report.summarise(results)
    assert [group.students for group in summary.warnings] == [["ada", "grace"]]


def test_groups_are_largest_first_and_the_rest_summed_up():
    results = [result(f"s{i}", ("failed", f"mistake {'ab'[i % 2]} {i}")) for i in range(9)]
    results += [result(f"t{i}", ("failed", f"rare mistake {i * 'x'}")) for i in range(1, 7)]
    forward = report.summarise(results)[0].tests[0]
    assert [len(group.students) for group in forward.groups] == [5, 4, 1, 1, 1, 1, 1, 1]
    page = report.render(results)
    assert "and 3 other messages (3 students)" in page


def test_tests_follow_the_given_order():
    (summary,) = report.summarise(make_class(), test_order=["lr", "dropout_forward"])
    assert [test.grade_id for test in summary.tests] == ["lr", "dropout_forward"]


def test_no_student_is_named_by_default():
    results = make_class()
    # a message that happens to hold a student's id (a path, say) has it replaced
    results[9]["tests"][1]["message"] = "cell timed out in /scratch/alan/03.ipynb"
    page = report.render(results)
    for student in STUDENTS:
        assert student not in page
    assert "/scratch/[student]/03.ipynb" in page
    assert "forget to divide by keep_prob" in page


def test_names_are_listed_with_each_group_when_asked():
    page = report.render(make_class(), names=True)
    assert "grace_0, grace_1, grace_2" in page
    for student in ["alan", "edsger"]:
        assert student in page
    assert "ada_0" not in page  # passed everything: in no group


def test_every_message_is_escaped():
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    results = [
        result("mallory", ("failed", hostile)),
        result("<b>eve</b>", lr=("error", "& <i>")),
    ]
    results[0]["warnings"] = ["<script>warn()</script>"]
    for names in (False, True):
        page = report.render(results, names=names)
        assert "<script" not in page and "<img" not in page and "<i>" not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
        assert "&lt;script&gt;warn()&lt;/script&gt;" in page
        assert "<b>eve" not in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in report.render(results, names=True)


def test_page_is_self_contained_with_one_chart_pair_per_notebook():
    results = [*make_class(), result("ada_0", notebook="02_bernoulli_binomial")]
    page = report.render(results)
    assert page.count("<svg") == 4
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""\s(?:src|href)=["']?(?:https?:|//|file:)""", page)
    ids = re.findall(r"""\sid=["']([^"']+)""", page)
    assert len(ids) == len(set(ids))  # the charts' ids do not collide


def test_ungradable_submissions_are_a_group_of_their_own():
    results = [not_a_notebook(f"s{i}") for i in range(3)] + [result("ok")]
    (summary,) = report.summarise(results)
    assert [len(group.students) for group in summary.not_graded] == [3]
    assert summary.tests[0].counts == {"passed": 1, "failed": 0, "error": 0, "timeout": 0}
    page = report.render(results)
    assert "Not graded" in page and "not a notebook: the file is empty" in page


def test_a_class_that_could_not_be_graded_at_all():
    page = report.render([not_a_notebook("s0")])
    assert "Not graded" in page and page.count("<svg") == 1  # a histogram, no test chart


def test_empty_class():
    assert report.summarise([]) == []
    page = report.render([])
    assert "No graded notebooks yet" in page and "<svg" not in page


def _source_dir(tmp_path):
    notebook = nbformat.v4.new_notebook()
    for grade_id, points in [("dropout_forward", 4), ("lr", 2)]:
        cell = nbformat.v4.new_code_cell("assert True")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": points}
        notebook.cells.append(cell)
    (tmp_path / "source" / NB).mkdir(parents=True)
    nbformat.write(notebook, tmp_path / "source" / NB / f"{NB}.ipynb")
    return tmp_path / "source"


@pytest.mark.parametrize("names", [False, True])
def test_write_reports_writes_the_report_next_to_grades_csv(tmp_path, names):
    out = tmp_path / "out"
    for graded in make_class():
        path = out / "results" / graded["student"] / f"{NB}.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(graded))
    classroom.write_reports(out, _source_dir(tmp_path), report_names=names)
    page = (out / "report.html").read_text()
    assert "forget to divide by keep_prob" in page
    assert ("grace_0" in page) == names


def test_grade_passes_report_names_on(monkeypatch):
    seen = []
    summary = classroom.Summary("done")
    monkeypatch.setattr(classroom, "grade_class", lambda *a, **k: seen.append(k) or summary)
    cli.main(["grade", "submitted", "--out", "results", "--quiet"])
    cli.main(["grade", "submitted", "--out", "results", "--quiet", "--report-names"])
    assert [k["report_names"] for k in seen] == [False, True]

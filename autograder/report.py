"""The instructor's report of a graded class: ``RESULTS/report.html``.

For every notebook it shows how the class scored (a histogram of whole points, count, mean,
median, max score), how often each test passed (a chart and a table of passed, failed, error and
timeout counts, how many of the failed kept some points of a test scored in parts, and the mean
points), and the messages the class got most often from each test, so that an instructor
sees what was misunderstood. Messages differ from student to student only in numbers (seeds,
values, shapes), so they are grouped by a normalised form (:func:`normalise_message`) and each
group is shown with one real message and the number of students in it. Submissions that could not
be graded at all (not a notebook, unreadable) are a group of their own and left out of the test
statistics.

Students appear nowhere in the report unless ``names`` is set: no list of who is in a group, and
every student id of the class that a message happens to contain (a path, say) is replaced by
``[student]``. Every message is HTML-escaped: it is text that student code can control. The page
is self-contained: the charts are inline SVG drawn by matplotlib, and there is no script.
"""

from __future__ import annotations

import html
import io
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STATUSES: tuple[str, ...] = ("passed", "failed", "error", "timeout")
STATUS_COLOURS = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "error": "#9a6700",
    "timeout": "#8250df",
}
GRADED_COLOUR = "#0969da"
NOT_GRADED_COLOUR = "#8c959f"
# the groups of messages shown per test; the rest are summed up in one line
TOP_GROUPS = 5
# a message longer than this (a traceback, say) is cut in the report; its group keeps it whole
EXAMPLE_CHARS = 1000
PLACEHOLDER = "#"
STUDENT_PLACEHOLDER = "[student]"

# what varies between students in a message of the same kind
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+|\d+|\.\d+)(?:[eE][-+]?\d+)?(?!\w)")
_NON_FINITE = re.compile(r"(?<![\w.])[-+]?\b(?:nan|inf)\b")
# a bracketed run of numbers: a list, a shape, the body of a NumPy array repr (which may be
# summarised with "...")
_GROUP = re.compile(r"\[[\s,.+\-…]*#[\s#,.+\-…]*\]|\([\s,.+\-…]*#[\s#,.+\-…]*\)")
# what is left of an array or NumPy scalar repr once its body is a placeholder
_REPR = re.compile(
    r"\b(?:(?:np|numpy)\.)?(?:array|float\d+|int\d+|uint\d+)\(\s*#\s*"
    r"(?:,\s*dtype=[\w.'\"]+\s*)?\)"
)
_SPACE = re.compile(r"\s+")


def normalise_message(message: str) -> str:
    """The form of a message that is the same for every student who made the same mistake.

    Hexadecimal addresses, numbers (with sign, decimals and exponent; not the digits of a name
    such as ``float32``), ``nan`` and ``inf`` become ``#``; then a bracketed run of placeholders
    (a list, a shape, an array's body) and an array or NumPy scalar repr around one become a
    single ``#``, until nothing changes; whitespace runs become one space.

    >>> normalise_message("saw x times 1.25 (median), seed 8812")
    'saw x times # (median), seed #'
    >>> normalise_message("got array([[0. , 2.5],\\n [2.5, 0. ]], dtype=float32), shape (2, 2)")
    'got #, shape #'
    """
    text = _HEX.sub(PLACEHOLDER, message)
    text = _NUMBER.sub(PLACEHOLDER, text)
    text = _NON_FINITE.sub(PLACEHOLDER, text)
    while True:
        collapsed = _REPR.sub(PLACEHOLDER, _GROUP.sub(PLACEHOLDER, text))
        if collapsed == text:
            break
        text = collapsed
    return _SPACE.sub(" ", text).strip()


def is_ungradable(result: dict) -> bool:
    """Whether a result is of a submission that could not be graded at all."""
    return bool(result.get("error")) or result.get("status") in ("error", "not-a-notebook")


def whole_point_histogram(scores: Iterable[float], max_score: float) -> list[int]:
    """Counts of scores in bins of whole points: bin ``k`` holds ``k <= score < k + 1``, and the
    last bin is ``floor(max_score)`` (scores above it, which a correct grader never gives, are
    counted there)."""
    last = max(0, math.floor(max_score + 1e-9))
    counts = [0] * (last + 1)
    for score in scores:
        # a sum of fractional points may fall a rounding error short of a whole point
        counts[min(max(math.floor(score + 1e-9), 0), last)] += 1
    return counts


@dataclass
class MessageGroup:
    """Students who got the same message, up to the numbers in it."""

    status: str
    pattern: str
    example: str
    students: list[str] = field(default_factory=list)


@dataclass
class TestSummary:
    """How the graded submissions did on one test."""

    grade_id: str
    max_points: float
    counts: dict[str, int]
    groups: list[MessageGroup]
    points: list[float] = field(default_factory=list)  # each graded submission's points

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def pass_rate(self) -> float:
        return self.counts["passed"] / self.total if self.total else 0.0

    @property
    def partly_passed(self) -> int:
        """Submissions that did not pass but kept some points (a test scored in parts)."""
        return sum(1 for points in self.points if 0 < points < self.max_points)

    @property
    def mean_points(self) -> float:
        return statistics.fmean(self.points) if self.points else 0.0


@dataclass
class NotebookSummary:
    """The class's results on one notebook."""

    notebook: str
    scores: list[float]
    max_score: float
    histogram: list[int]
    not_graded_histogram: list[int]
    tests: list[TestSummary]
    not_graded: list[MessageGroup]
    warnings: list[MessageGroup]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0


class _Redactor:
    """Replaces the id of every student of the class, where it stands as a word of its own (with
    no students, it changes nothing)."""

    def __init__(self, students: Iterable[str]):
        names = sorted({s for s in students if s}, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
            if names
            else None
        )

    def __call__(self, text: str) -> str:
        return self._pattern.sub(STUDENT_PLACEHOLDER, text) if self._pattern else text


def group_messages(
    outcomes: Iterable[tuple[str, str, str]], redact: _Redactor | None = None
) -> list[MessageGroup]:
    """Group ``(student, status, message)`` by status and normalised message, largest first.

    A student counts once in a group (a notebook may warn twice alike). A group's example is the
    message of its first student in sorted order, so the report is the same on every run."""
    redact = redact or _Redactor(())
    groups: dict[tuple[str, str], MessageGroup] = {}
    for student, status, message in sorted(outcomes):
        pattern = normalise_message(redact(message))
        group = groups.setdefault((status, pattern), MessageGroup(status, pattern, message))
        if not (student and student in group.students[-1:]):
            group.students.append(student)
    return sorted(groups.values(), key=lambda g: (-len(g.students), g.status, g.pattern))


def _notebook_name(result: dict) -> str:
    return str(result.get("notebook") or result.get("assignment") or "?")


def _test_order(results: Sequence[dict], test_order: Sequence[str]) -> list[str]:
    rank = {grade_id: number for number, grade_id in enumerate(test_order)}
    seen: dict[str, int] = {}
    for result in results:
        for test in result.get("tests", []):
            seen.setdefault(test["id"], len(seen))
    return sorted(seen, key=lambda grade_id: (rank.get(grade_id, len(rank)), seen[grade_id]))


def _summarise_notebook(
    notebook: str, results: Sequence[dict], test_order: Sequence[str], redact: _Redactor
) -> NotebookSummary:
    graded = [r for r in results if not is_ungradable(r)]
    not_graded = [r for r in results if is_ungradable(r)]
    max_score = max((float(r.get("max_score") or 0) for r in results), default=0.0)
    tests = []
    for grade_id in _test_order(graded, test_order):
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        max_points, outcomes, points = 0.0, [], []
        for result in graded:
            for test in result.get("tests", []):
                if test["id"] != grade_id:
                    continue
                status = test["status"] if test["status"] in counts else "error"
                counts[status] += 1
                max_points = max(max_points, float(test.get("max_points") or 0))
                points.append(float(test.get("points") or 0))
                if status != "passed":
                    outcomes.append((result.get("student", ""), status, test.get("message") or ""))
        groups = group_messages(outcomes, redact)
        tests.append(TestSummary(grade_id, max_points, counts, groups, points))

    def reason(result: dict) -> str:
        if result.get("error"):
            return str(result["error"])
        return next((t.get("message") or "" for t in result.get("tests", [])), "")

    warnings = [
        (r.get("student", ""), "warning", w) for r in results for w in r.get("warnings", [])
    ]
    return NotebookSummary(
        notebook=notebook,
        scores=[float(r.get("score") or 0) for r in results],
        max_score=max_score,
        histogram=whole_point_histogram((float(r.get("score") or 0) for r in results), max_score),
        not_graded_histogram=whole_point_histogram(
            (float(r.get("score") or 0) for r in not_graded), max_score
        ),
        tests=tests,
        not_graded=group_messages(
            ((r.get("student", ""), "not graded", reason(r)) for r in not_graded), redact
        ),
        warnings=group_messages(warnings, redact),
    )


def summarise(results: Sequence[dict], test_order: Sequence[str] = ()) -> list[NotebookSummary]:
    """One summary per notebook, in name order; tests in ``test_order`` (then as found)."""
    redact = _Redactor(r.get("student", "") for r in results)
    by_notebook: dict[str, list[dict]] = {}
    for result in results:
        by_notebook.setdefault(_notebook_name(result), []).append(result)
    return [
        _summarise_notebook(name, by_notebook[name], test_order, redact)
        for name in sorted(by_notebook)
    ]


# ---------------------------------------------------------------- charts


def _svg(figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element whose ids start with ``prefix`` (unique on the page)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)


def import_charts() -> None:
    """Import what drawing the charts needs (matplotlib's figure, its SVG backend and its fonts:
    about 0.8 s), ahead of the first chart.

    For speed: the class grader calls it while its workers grade, so that the report, which it
    writes once every notebook is graded, does not wait for these imports at the end.
    """
    import matplotlib.backends.backend_svg
    import matplotlib.figure
    import matplotlib.font_manager
    import matplotlib.ticker  # noqa: F401


def _rc():
    import matplotlib

    return matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "report", "font.size": 9})


def histogram_svg(summary: NotebookSummary, prefix: str) -> str:
    """Bars of students per whole point; submissions not graded stacked in grey."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    with _rc():
        figure = Figure(figsize=(6.4, 2.4))
        axes = figure.add_subplot()
        points = list(range(len(summary.histogram)))
        graded = [a - b for a, b in zip(summary.histogram, summary.not_graded_histogram)]
        axes.bar(points, graded, width=0.85, color=GRADED_COLOUR, label="graded")
        if any(summary.not_graded_histogram):
            axes.bar(
                points,
                summary.not_graded_histogram,
                bottom=graded,
                width=0.85,
                color=NOT_GRADED_COLOUR,
                label="not graded",
            )
            axes.legend(frameon=False)
        axes.set_xlabel("score (whole points)")
        axes.set_ylabel("students")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure, prefix)


def pass_rate_svg(tests: Sequence[TestSummary], prefix: str) -> str:
    """One bar per test, split into the shares of passed, failed, error and timeout."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    with _rc():
        figure = Figure(figsize=(6.4, 0.8 + 0.32 * len(tests)))
        axes = figure.add_subplot()
        rows = list(range(len(tests)))
        left = [0.0] * len(tests)
        for status in STATUSES:
            shares = [t.counts[status] / t.total if t.total else 0.0 for t in tests]
            axes.barh(
                rows, shares, left=left, height=0.7, color=STATUS_COLOURS[status], label=status
            )
            left = [a + b for a, b in zip(left, shares)]
        for row, test in enumerate(tests):
            axes.text(1.01, row, f"{test.pass_rate:.0%}", va="center")
        axes.set_yticks(rows, [t.grade_id for t in tests])
        axes.invert_yaxis()
        axes.set_xlim(0, 1)
        axes.xaxis.set_major_formatter(PercentFormatter(1.0))
        axes.set_xlabel("share of graded submissions")
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(ncols=4, frameon=False, loc="lower left", bbox_to_anchor=(0, 1))
        return _svg(figure, prefix)


# ---------------------------------------------------------------- HTML

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 64rem; margin: 2rem auto; color: #1f2328;
        padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left;
          vertical-align: top; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.message {{ white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .9em; }}
.students {{ font-size: .9em; color: #57606a; }}
svg {{ max-width: 100%; height: auto; }}
section {{ border-top: 2px solid #d0d7de; margin-top: 2rem; }}
</style></head><body>
<h1>Class report</h1>
{intro}
{sections}
</body></html>
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _anchor(notebook: str) -> str:
    return "nb-" + re.sub(r"[^\w-]", "_", notebook)


def _example(group: MessageGroup, redact: _Redactor) -> str:
    text = redact(group.example)
    if len(text) > EXAMPLE_CHARS:
        text = text[:EXAMPLE_CHARS] + " …"
    return f"<td class='message'>{_esc(text) if text else '<em>(no message)</em>'}</td>"


def _groups_table(
    groups: Sequence[MessageGroup], redact: _Redactor, names: bool, *, status: bool
) -> str:
    head = "<tr><th class='n'>students</th>" + ("<th>outcome</th>" if status else "")
    head += "<th>message (one example)</th>" + ("<th>who</th>" if names else "") + "</tr>"
    rows = []
    for group in groups:
        row = f"<tr><td class='n'>{len(group.students)}</td>"
        if status:
            colour = STATUS_COLOURS.get(group.status, "#1f2328")
            row += f"<td style='color:{colour}'>{_esc(group.status)}</td>"
        row += _example(group, redact)
        if names:
            row += f"<td class='students'>{_esc(', '.join(group.students))}</td>"
        rows.append(row + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _stats(summary: NotebookSummary) -> str:
    not_graded = sum(len(g.students) for g in summary.not_graded)
    cells = [
        ("submissions", f"{len(summary.scores)}"),
        ("not graded", f"{not_graded}"),
        ("mean", f"{summary.mean:.2f}"),
        ("median", f"{summary.median:g}"),
        ("highest", f"{max(summary.scores, default=0.0):g}"),
        ("max score", f"{summary.max_score:g}"),
    ]
    head = "".join(f"<th class='n'>{name}</th>" for name, _ in cells)
    body = "".join(f"<td class='n'>{value}</td>" for _, value in cells)
    return f"<table><tr>{head}</tr><tr>{body}</tr></table>"


def _tests_table(tests: Sequence[TestSummary]) -> str:
    head = (
        "<tr><th>test</th><th class='n'>points</th>"
        + "".join(f"<th class='n'>{status}</th>" for status in STATUSES)
        + "<th class='n'>of the failed, partly passed</th><th class='n'>pass rate</th>"
        + "<th class='n'>mean points</th></tr>"
    )
    rows = [
        f"<tr><td>{_esc(t.grade_id)}</td><td class='n'>{t.max_points:g}</td>"
        + "".join(f"<td class='n'>{t.counts[status]}</td>" for status in STATUSES)
        + f"<td class='n'>{t.partly_passed}</td><td class='n'>{t.pass_rate:.0%}</td>"
        + f"<td class='n'>{t.mean_points:.3g} / {t.max_points:g}</td></tr>"
        for t in tests
    ]
    return f"<table>{head}{''.join(rows)}</table>"


def _failures(tests: Sequence[TestSummary], redact: _Redactor, names: bool) -> str:
    parts = []
    for test in tests:
        if not test.groups:
            continue
        failing = test.total - test.counts["passed"]
        partly = f" ({test.partly_passed} kept some points)" if test.partly_passed else ""
        shown, rest = test.groups[:TOP_GROUPS], test.groups[TOP_GROUPS:]
        parts.append(
            f"<h4>{_esc(test.grade_id)}: {failing} of {test.total} did not pass{partly}</h4>"
            + _groups_table(shown, redact, names, status=True)
        )
        if rest:
            others = sum(len(g.students) for g in rest)
            parts.append(
                f"<p>and {len(rest)} other message{'s' if len(rest) > 1 else ''} "
                f"({others} student{'s' if others > 1 else ''}).</p>"
            )
    if not parts:
        return "<p>Every graded submission passed every test.</p>" if tests else ""
    return "".join(parts)


def _section(summary: NotebookSummary, redact: _Redactor, names: bool) -> str:
    anchor = _anchor(summary.notebook)
    parts = [
        f"<section id='{anchor}'><h2>{_esc(summary.notebook)}</h2>",
        "<h3>Scores</h3>",
        _stats(summary),
        f"<figure>{histogram_svg(summary, anchor + '-scores')}</figure>",
    ]
    if summary.not_graded:
        parts += [
            "<h3>Not graded</h3><p>These submissions could not be graded at all; they count "
            "as their score (0) above and are left out of the tests below.</p>",
            _groups_table(summary.not_graded, redact, names, status=False),
        ]
    if summary.tests:
        graded = max(t.total for t in summary.tests)
        parts += [
            f"<h3>Tests</h3><p>Over the {graded} graded submissions.</p>",
            f"<figure>{pass_rate_svg(summary.tests, anchor + '-tests')}</figure>",
            _tests_table(summary.tests),
            "<h3>What went wrong</h3><p>The most frequent messages of each test, grouped where "
            "they differ only in numbers (seeds, values, shapes), with one real message each."
            "</p>",
            _failures(summary.tests, redact, names),
        ]
    if summary.warnings:
        parts += [
            "<h3>Notes from the grader</h3>",
            _groups_table(summary.warnings, redact, names, status=False),
        ]
    return "".join(parts) + "</section>"


def render(results: Sequence[dict], *, test_order: Sequence[str] = (), names: bool = False) -> str:
    """The report page of a class's results (the dicts of ``RESULTS/results/*/*.json``).

    With ``names``, every group of messages lists its students; without, no student id appears
    in the page."""
    students = {r.get("student", "") for r in results}
    redact = _Redactor(() if names else students)
    summaries = summarise(results, test_order)
    if not summaries:
        intro = "<p>No graded notebooks yet.</p>"
    else:
        links = ", ".join(
            f"<a href='#{_anchor(s.notebook)}'>{_esc(s.notebook)}</a>" for s in summaries
        )
        who = (
            "Students are named in each group."
            if names
            else "No student is named (grade with --report-names to list them)."
        )
        intro = (
            f"<p>{len(results)} notebooks of {len(students)} students. "
            f"{who}</p><p>Notebooks: {links}</p>"
        )
    sections = "\n".join(_section(s, redact, names) for s in summaries)
    return _PAGE.format(intro=intro, sections=sections)


def write_report(
    path: Path, results: Sequence[dict], *, test_order: Sequence[str] = (), names: bool = False
) -> Path:
    """Write :func:`render`'s page to ``path``; return the path."""
    path = Path(path)
    path.write_text(render(results, test_order=test_order, names=names), encoding="utf-8")
    return path

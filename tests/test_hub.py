"""A whole class in a browser, on ``make classroom``'s JupyterHub (``python -m autograder.hub``).

The instructor generates and releases notebook 03 in formgrader; two students log in, fetch it,
solve it in JupyterLab (one right, one with a ``dropout_forward`` that forgets to divide by
keep_prob), answer the written question and submit; the instructor collects in formgrader,
autogrades with this project's grader in JupyterLab's terminal, grades one written answer by hand
in formgrader, regrades, and releases feedback; each student fetches the feedback and reads the
score and the message; ``nbgrader export`` gives the totals. Every step goes through the pages a
person would use, in headless Chromium; screenshots of the key pages are written to
``build/classroom/`` (the README shows copies of them).

It needs root (the class creates one system user per account), Chromium and npm; the class's
environment is installed under /opt/dropout-classroom on first use (a few minutes, once).
"""

from __future__ import annotations

import csv
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.hub import DEFAULT_ENV, user_exists
from grading_helpers import ROOT, instructor, solution_sources
from services import CHROMIUM, _free_port
from test_grading import FORWARD, NO_SCALING

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("classroom")]

NB = "03_inverted_dropout"
WRITTEN = "explain_boosting_factor"
ANSWER = (
    "Each kept unit is scaled by 1/keep_prob, so its gradient and its step grow by that factor."
)
PASSWORD = secrets.token_urlsafe(12)
SCREENSHOTS = ROOT / "build" / "classroom"


def _points(name: str) -> dict[str, tuple[str, float]]:
    """{grade_id: (cell type, points)} of the graded cells of notebook ``name``'s source."""
    return {
        cell.metadata.nbgrader["grade_id"]: (
            cell.cell_type,
            float(cell.metadata.nbgrader["points"]),
        )
        for cell in instructor(name).cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }


# the notebook's points, as its source gives them: the right student passes every autograded
# test and gets MANUAL for the written answer, the wrong one loses dropout_forward's points
POINTS = _points(NB)
MAX_SCORE = sum(points for _, points in POINTS.values())
AUTOGRADED = sum(points for kind, points in POINTS.values() if kind == "code")
MANUAL = 1.5
EXPECTED_TOTAL = {"right": AUTOGRADED + MANUAL, "wrong": AUTOGRADED - POINTS["dropout_forward"][1]}
TIMEOUT = 120_000  # ms, for anything that starts a server or a kernel


def _require(condition: bool, why: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


class Class:
    """The running class: its URL, accounts and files."""

    def __init__(self, url: str, root: Path, instructor: str, students: dict[str, str]):
        self.url, self.root, self.instructor, self.students = url, root, instructor, students

    def home(self, user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self) -> Path:
        return self.home(self.instructor) / "dropout"

    def as_instructor(self, *command: str) -> subprocess.CompletedProcess:
        """A command as the instructor runs it in the course, with the class's environment."""
        bin_dir = DEFAULT_ENV / "venv" / "bin"
        result = subprocess.run(
            ["runuser", "-u", self.instructor, "--", "env", f"PATH={bin_dir}:/usr/bin:/bin",
             f"HOME={self.home(self.instructor)}", *command],
            cwd=self.course, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture(scope="module")
def classroom():
    _require(os.geteuid() == 0, "a class creates system users: run the tests as root")
    _require(os.path.exists(CHROMIUM), "chromium is not installed (apt-get install chromium)")
    _require(shutil.which("npm") is not None, "npm is not installed (apt-get install npm)")
    tag = secrets.token_hex(3)
    instructor, students = f"teach{tag}", {"right": f"ann{tag}", "wrong": f"bob{tag}"}
    root = Path(tempfile.mkdtemp(prefix="classroom-", dir="/var/tmp"))
    port = _free_port()
    log = open(root.parent / f"{root.name}.out", "w+")  # noqa: SIM115 (read while it runs)
    hub = subprocess.Popen(
        [sys.executable, "-m", "autograder.hub", "--port", str(port), "--root", str(root),
         "--instructor", instructor, "--students", ",".join(students.values()),
         f"--password={PASSWORD}"],  # one form: a random password may begin with "-"
        stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 900  # the environment's first install takes a few minutes
    try:
        while "The class is open at" not in Path(log.name).read_text():
            assert hub.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.5)
        yield Class(f"http://127.0.0.1:{port}", root, instructor, students)
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(60)
        finally:
            log.close()
        output = Path(log.name).read_text()
        shutil.rmtree(root, ignore_errors=True)
        os.unlink(log.name)
    # the class removes the system users (and their homes) it created, and only those
    assert "Removed the system users" in output, output
    for user in (instructor, *students.values()):
        assert not user_exists(user) and not Path(f"/home/{user}").exists()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


def _login(browser, classroom: Class, user: str):
    page = browser.new_context(viewport={"width": 1280, "height": 820}).new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{classroom.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_selector("#jp-main-dock-panel")  # the hub spawned JupyterLab for this user
    return page


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _formgrader_action(page, classroom: Class, icon: str) -> None:
    """Click one of formgrader's buttons in notebook 03's row and wait for its success."""
    page.goto(f"{classroom.url}/user/{classroom.instructor}/formgrader/manage_assignments")
    row = page.locator("tr", has=page.locator(f'a:text-is("{NB}")'))
    row.locator(f".glyphicon-{icon}").click()
    page.wait_for_selector("#success-modal, #error-modal", state="visible")
    error = page.locator("#error-modal")
    assert not error.count(), f"formgrader's {icon} failed: {error.inner_text()}"
    page.locator("#success-modal button.close, #success-modal .btn-primary").first.click()
    page.wait_for_selector("#success-modal", state="detached")


def _assignment_list(page):
    page.locator('#jp-menu-panel div.lm-MenuBar-itemLabel:text("Nbgrader")').click()
    page.locator('li[data-command="nbgrader:open-assignment-list"]').click()
    page.wait_for_selector("#released_assignments_list")


def _refresh(page, listing: str, status_text: str):
    """Refresh the assignment list until notebook 03's row in ``listing`` shows a button."""
    for _ in range(20):
        page.locator("#refresh_assignments_list").click()
        button = page.locator(
            f"#{listing}_assignments_list .item_status button", has_text=status_text
        )
        try:
            button.first.wait_for(state="visible", timeout=3000)
            return button.first
        except Exception:
            continue
    raise AssertionError(f"no {status_text!r} button in the {listing} assignments")


def _type_into(page, cell, text: str) -> None:
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def _solve(browser, classroom: Class, who: str) -> None:
    student = classroom.students[who]
    page = _login(browser, classroom, student)
    # students have no formgrader, in the menu or on the server
    expect_menu = page.locator('li[data-command="nbgrader:open-formgrader"]')
    _assignment_list(page)
    assert expect_menu.count() == 0
    assert page.request.get(f"{classroom.url}/user/{student}/formgrader").status == 404
    _refresh(page, "released", "Fetch").click()
    submit = _refresh(page, "fetched", "Submit")
    _shot(page, f"student-{who}-fetched")

    notebook_page = page.context.new_page()
    notebook_page.set_default_timeout(TIMEOUT)
    notebook_page.goto(f"{classroom.url}/user/{student}/lab/tree/{NB}/{NB}.ipynb")
    cells = notebook_page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    cells.first.wait_for()
    solutions = dict(solution_sources(NB))
    if who == "wrong":
        solutions[FORWARD] = NO_SCALING
    released = _released(classroom, student)
    for index, cell in enumerate(released.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            _type_into(notebook_page, cells.nth(index), solutions[grade_id])
        elif grade_id == WRITTEN:
            cells.nth(index).locator(".jp-MarkdownOutput").dblclick()
            _type_into(notebook_page, cells.nth(index), ANSWER)
            notebook_page.keyboard.press("Shift+Enter")
    # saved (Ctrl-S), and what was saved is what the student typed, cell for cell
    expected = {**solutions, WRITTEN: ANSWER}
    typed = None
    for _ in range(60):
        notebook_page.keyboard.press("Control+s")
        try:
            saved = _released(classroom, student)
        except ValueError:  # read while Jupyter saves it, which it does in place: not JSON yet
            notebook_page.wait_for_timeout(200)
            continue
        typed = {
            c.metadata.nbgrader["grade_id"]: c.source
            for c in saved.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") in expected
        }
        if typed == expected:
            break
        notebook_page.wait_for_timeout(1000)
    assert typed == expected
    _shot(notebook_page, f"student-{who}-solving")
    notebook_page.close()

    submit.click()
    page.locator("#submitted_assignments_list > .list_item").first.wait_for()
    _shot(page, f"student-{who}-submitted")
    page.context.close()


def _released(classroom: Class, student: str):
    import nbformat

    return nbformat.read(classroom.home(student) / NB / f"{NB}.ipynb", as_version=4)


def _terminal(page, classroom: Class, command: str, done: Path, since: float) -> None:
    """Type ``command`` in the instructor's JupyterLab terminal (opened on first use) and wait
    until it has written ``done``."""
    terminal = page.locator(".jp-Terminal .xterm")
    if not terminal.count():
        page.goto(f"{classroom.url}/user/{classroom.instructor}/lab")
        page.wait_for_selector("#jp-main-dock-panel")
        palette = page.locator("#modal-command-palette")
        for _ in range(20):  # JupyterLab takes shortcuts only once it has finished starting
            page.keyboard.press("Control+Shift+c")
            try:
                palette.wait_for(state="visible", timeout=3000)
                break
            except Exception:
                page.keyboard.press("Escape")
        palette.locator('li[data-command="terminal:create-new"]').click()
    terminal.last.click()
    page.keyboard.type(f"{command}\n")
    deadline = time.monotonic() + 300
    while not (done.exists() and done.stat().st_mtime >= since):
        assert time.monotonic() < deadline, f"{command!r} wrote no {done} in 5 minutes"
        time.sleep(0.5)
    page.wait_for_timeout(1000)  # the last lines reach the terminal


def test_a_whole_class_in_the_browser(classroom, browser):
    teacher = _login(browser, classroom, classroom.instructor)
    shell = teacher.context.new_page()  # the instructor's JupyterLab, with a terminal
    shell.set_default_timeout(TIMEOUT)
    # 1. the instructor generates and releases notebook 03
    _formgrader_action(teacher, classroom, "education")  # Generate
    _formgrader_action(teacher, classroom, "cloud-upload")  # Release
    _shot(teacher, "instructor-released")

    # 2. two students fetch it, solve it, answer the written question and submit
    for who in ("right", "wrong"):
        _solve(browser, classroom, who)

    # the class's environment, which every user reads, holds no instructor notebook (solutions,
    # hidden tests) and no notebook source
    package = next((DEFAULT_ENV / "venv" / "lib").glob("python3*/site-packages/autograder"))
    assert (package / "grading.py").exists()
    assert not list(package.rglob("*.ipynb")) and not (package / "course" / "src").exists()

    # no student can read the instructor's course (hidden tests, gradebook) or another's work
    ann, bob = classroom.students.values()
    for reader, path in [
        (ann, classroom.course / "source" / NB / f"{NB}.ipynb"),
        (ann, classroom.course / "gradebook.db"),
        (bob, classroom.home(ann) / NB / f"{NB}.ipynb"),
    ]:
        denied = subprocess.run(
            ["runuser", "-u", reader, "--", "cat", str(path)], capture_output=True
        )
        assert denied.returncode != 0 and b"Permission denied" in denied.stderr

    # 3. the instructor collects, autogrades with the project's grader, grades by hand
    _formgrader_action(teacher, classroom, "cloud-download")  # Collect
    for student in classroom.students.values():
        assert (classroom.course / "submitted" / student / NB / f"{NB}.ipynb").exists()
    report = classroom.course / "reports" / NB / "report.html"
    started = time.time()
    _terminal(shell, classroom, f"cd ~/dropout && python -m autograder autograde {NB}", report,
              started)  # fmt: skip
    _shot(shell, "instructor-autograde")
    for student in classroom.students.values():
        assert (classroom.course / "autograded" / student / NB / f"{NB}.ipynb").exists()

    right = classroom.students["right"]
    notebooks = teacher.request.get(
        f"{classroom.url}/user/{classroom.instructor}/formgrader/api/submitted_notebooks/{NB}/{NB}"
    ).json()
    submission = next(n for n in notebooks if n["student"] == right)
    teacher.goto(
        f"{classroom.url}/user/{classroom.instructor}/formgrader/submissions/{submission['id']}/"
        "?index=0"
    )
    score = teacher.locator(f"input#{WRITTEN}")
    score.scroll_into_view_if_needed()
    assert ANSWER in teacher.locator("body").inner_text()
    with teacher.expect_response(lambda r: "/api/grade/" in r.url and r.request.method == "PUT"):
        score.fill(str(MANUAL))
        score.press("Tab")
    comment = teacher.locator(f"textarea#{WRITTEN}-comment")
    with teacher.expect_response(lambda r: "/api/comment/" in r.url and r.request.method == "PUT"):
        comment.fill("Right: the factor is 1/keep_prob.")
        comment.press("Tab")
    _shot(teacher, "instructor-formgrader-manual")

    # a regrade keeps the manual grade and writes the feedback again with it
    started = time.time()
    feedback = classroom.course / "feedback" / right / NB / f"{NB}.html"
    _terminal(shell, classroom, f"python -m autograder autograde {NB} --regrade", feedback,
              started)  # fmt: skip
    _shot(shell, "instructor-regrade")
    _formgrader_action(teacher, classroom, "envelope")  # Release feedback
    teacher.context.close()

    # 4. each student fetches the feedback and reads the score and the message
    for who, student in classroom.students.items():
        page = _login(browser, classroom, student)
        _assignment_list(page)
        _refresh(page, "submitted", "Fetch Feedback").click()
        link = page.locator("#submitted_assignments_list a", has_text="view feedback")
        for _ in range(20):
            if link.count():
                break
            page.locator("#refresh_assignments_list").click()
            page.wait_for_timeout(1000)
        link.first.click()  # the file browser goes to the feedback's folder
        page.locator(".jp-DirListing-item", has_text=f"{NB}.html").dblclick()
        frame = page.frame_locator(".jp-HTMLViewer iframe")
        frame.locator("h2").first.wait_for()
        _shot(page, f"student-{who}-feedback")
        text = frame.locator("body").inner_text()
        total = EXPECTED_TOTAL[who]
        assert f"{NB}: {total:g} / {MAX_SCORE:g}" in text, text
        if who == "wrong":
            assert "did you forget to divide by keep_prob" in text
            assert "not graded yet" in text  # nobody has read this student's answer
        else:
            assert "Right: the factor is 1/keep_prob." in text and f"{MANUAL:g} / 2" in text
        page.context.close()

    # 5. nbgrader export gives the totals, manual grade included
    classroom.as_instructor("nbgrader", "export", "--to", str(classroom.course / "grades.csv"))
    with open(classroom.course / "grades.csv") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == NB}
    for who, student in classroom.students.items():
        assert float(rows[student]["score"]) == EXPECTED_TOTAL[who]
        assert float(rows[student]["max_score"]) == MAX_SCORE
    assert re.search(r"<svg", report.read_text())

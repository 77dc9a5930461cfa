"""autograder.release: the course's nbgrader configuration releases the notebooks with hints, or,
with ``c.ReleaseHints.offered = False``, without them; the instructor versions never change."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import build, exercises, release
from grading_helpers import ROOT, instructor, released

COURSE = ROOT / "autograder" / "course"


def _mentions_hints(notebook) -> bool:
    return any("hint(" in cell.source for cell in notebook.cells if cell.cell_type == "markdown")


def _setup_lines(notebook) -> list[str]:
    """The lines of the code cell that imports the grader's functions."""
    return next(
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and "from autograder.exercises import" in cell.source
    ).source.split("\n")


@pytest.mark.parametrize("name", build.names())
def test_without_hints_drops_the_offer_and_switches_hint_off(name):
    notebook = instructor(name)
    assert _mentions_hints(notebook) and release.IMPORT in _setup_lines(notebook)
    stripped = release.without_hints(copy.deepcopy(notebook))
    assert not _mentions_hints(stripped)
    assert len(stripped.cells) == len(notebook.cells) - 1
    lines = _setup_lines(stripped)
    assert release.IMPORT not in lines
    assert "offer_hints(False)" in "\n".join(lines)
    # everything else, the exercises and their tests included, is as it was
    kept = [cell for cell in notebook.cells if "hints" not in cell.metadata.get("tags", [])]
    for before, after in zip(kept, stripped.cells, strict=True):
        assert before.id == after.id
        if release.IMPORT not in before.source.split("\n"):
            assert before == after


def test_the_rewritten_setup_cell_imports_check_and_hint_and_turns_hints_off(monkeypatch):
    monkeypatch.setattr(exercises, "_hints_offered", True)
    namespace: dict = {}
    exec(release.WITHHELD, namespace)
    assert namespace["check"] is exercises.check and namespace["hint"] is exercises.hint
    assert exercises.hint_pointer("dropout_forward") == ""


def test_with_hints_offered_the_preprocessor_changes_nothing():
    notebook = instructor("03_inverted_dropout")
    unchanged, _ = release.ReleaseHints(offered=True).preprocess(copy.deepcopy(notebook), {})
    assert unchanged == notebook
    stripped, _ = release.ReleaseHints(offered=False).preprocess(copy.deepcopy(notebook), {})
    assert stripped != notebook and not _mentions_hints(stripped)


def test_a_notebook_offering_hints_without_the_import_is_refused():
    notebook = instructor("03_inverted_dropout")
    for cell in notebook.cells:
        cell.source = cell.source.replace(release.IMPORT, "from autograder.exercises import check")
    with pytest.raises(ValueError, match="no line"):
        release.without_hints(notebook)


def test_the_course_configuration_offers_hints_and_runs_the_preprocessor():
    text = (COURSE / "nbgrader_config.py").read_text()
    assert "c.ReleaseHints.offered = True" in text
    assert 'c.GenerateAssignment.preprocessors.append("autograder.release.ReleaseHints")' in text


def _release(tmp_path: Path, name: str, offered: bool):
    """Run nbgrader generate_assignment on ``name`` in a copy of the course whose configuration
    sets ``c.ReleaseHints.offered``."""
    course = tmp_path / f"course-{offered}"
    (course / "source").mkdir(parents=True)
    shutil.copytree(COURSE / "source" / name, course / "source" / name)
    config = (COURSE / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(
        config.replace("c.ReleaseHints.offered = True", f"c.ReleaseHints.offered = {offered}")
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--no-db"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    return nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)


@pytest.mark.slow
def test_nbgrader_releases_with_or_without_hints_as_the_course_configuration_says(tmp_path):
    name = "03_inverted_dropout"
    with_hints = _release(tmp_path, name, True)
    assert [cell.source for cell in with_hints.cells] == [
        cell.source for cell in released(name).cells
    ]
    without = _release(tmp_path, name, False)
    assert not _mentions_hints(without)
    assert "offer_hints(False)" in "\n".join(_setup_lines(without))
    assert len(without.cells) == len(with_hints.cells) - 1
    # solutions are stripped and hidden tests gone either way
    for notebook in (with_hints, without):
        text = "\n".join(cell.source for cell in notebook.cells)
        assert "BEGIN SOLUTION" not in text and "hidden=True" not in text
    # the instructor version is untouched
    assert instructor(name) == nbformat.read(
        COURSE / "source" / name / f"{name}.ipynb", as_version=4
    )

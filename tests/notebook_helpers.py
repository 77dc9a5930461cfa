"""Running notebooks and nbgrader end to end, for the notebook tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "autograder" / "course" / "source"
STUDENT = ROOT / "notebooks"
NOTEBOOKS = (
    sorted(path.name for path in SOURCE.iterdir() if path.is_dir()) if SOURCE.exists() else []
)


def instructor_path(name: str) -> Path:
    return SOURCE / name / f"{name}.ipynb"


def execute(path: Path, *, timeout: int = 60, cwd: Path | None = None):
    """Execute a notebook with nbclient; return the executed notebook and the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    started = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - started


def outputs_of(notebook, output_type=None):
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output_type is None or output["output_type"] == output_type:
                yield cell, output


def nbgrader(args: list[str], course: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        JUPYTER_CONFIG_DIR=str(course / ".jupyter"),
    )
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            *args,
            f"--CourseDirectory.root={course}",
            "--log-level=WARN",
        ],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def grade_with_nbgrader(name: str, submissions: dict[str, Path], course: Path) -> dict:
    """Release ``name`` in a fresh course, submit the given notebooks and autograde them.

    Returns ``{student: {grade_id: (score, max_score)}}`` for the autograded test cells, read
    back from the gradebook.
    """
    from nbgrader.api import Gradebook

    shutil.copytree(SOURCE / name, course / "source" / name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'dropout'\n"
    )
    nbgrader(["generate_assignment", name, "--force"], course)
    for student, notebook in submissions.items():
        target = course / "submitted" / student / name
        target.mkdir(parents=True)
        shutil.copy(notebook, target / f"{name}.ipynb")
        nbgrader(["db", "student", "add", student], course)
    nbgrader(["autograde", name, "--force"], course)
    scores = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
        for student in submissions:
            submission = gradebook.find_submission_notebook(name, name, student)
            scores[student] = {
                grade.name: (grade.score, grade.max_score)
                for grade in submission.grades
                if grade.cell.cell_type == "code"
            }
    return scores


def graded_cells(name: str) -> dict[str, dict]:
    """nbgrader metadata of the graded cells of the instructor version, by grade_id."""
    notebook = json.loads(instructor_path(name).read_text())
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: cell["metadata"]["nbgrader"]
        for cell in notebook["cells"]
        if cell["metadata"].get("nbgrader", {}).get("grade")
    }

"""Build the course notebooks from their sources.

    autograder/course/src/NN_name.py                       the source, edited by hand
        -> autograder/course/source/NN_name/NN_name.ipynb  instructor version (solutions, tests)
        -> notebooks/NN_name.ipynb                         student version (generate_assignment)

Usage::

    python -m autograder.build [NAME ...]               write both versions (default: all notebooks)
    python -m autograder.build --check [NAME ...]       write nothing; exit 1 if one is out of date
    python -m autograder.build --assign-ids [NAME ...]  write an id into each cell lacking one

A source is a notebook in jupytext's percent format (JupyterLab opens it as a notebook with
"Open With > Notebook"). Each cell starts at a ``# %%`` line that carries the cell's metadata as
``key=value`` pairs with JSON values, all on that one line; markdown cells are commented with
``# ``. The nbgrader dicts are shortened to ``{...}`` here::

    # %% [markdown] id="7cdcdc1caa40"
    # ## 1. Two ways to keep the expectation

    # %% id="36c5fbd0a987"
    import numpy as np

    # %% id="cfe30319cdb9" tags=["demo"]
    expectations = live_figure(lesson.draw_expectations, {...})

    # %% id="dropout-forward-solution" nbgrader={...}
    def dropout_forward(x, p_drop, *, rng, training=True):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

    # %% id="dropout-forward" nbgrader={...}
    check("dropout_forward", dropout_forward)
    ### BEGIN HIDDEN TESTS
    check("dropout_forward", dropout_forward, hidden=True)
    ### END HIDDEN TESTS

    # %% [markdown] id="explain-boosting-factor" nbgrader={...}
    # The model answer; students get "YOUR ANSWER HERE".

* ``id`` (every cell) becomes the notebook cell's id. It never changes when cells are inserted,
  moved or edited, so a rebuilt notebook differs from the last one only where the source does,
  and a student's cells still match the instructor's. New cells get theirs from
  ``--assign-ids``: random for ordinary cells, the grade_id with "-" for "_" for graded ones.
* ``tags=["demo"]`` marks a code cell that only draws or demonstrates; grading skips it
  (:mod:`autograder.assemble`).
* ``nbgrader`` is nbgrader's cell metadata, copied as it stands, with every key: ``grade_id``,
  ``schema_version`` 3, ``task`` false, and for the three kinds of cell the course uses::

      cell                       type      grade  solution  locked  points
      autograded answer          code      false  true      false   (none)
      its tests                  code      true   false     true    e.g. 4
      written answer (manual)    markdown  true   true      false   e.g. 2

  for example ``nbgrader={"grade": true, "grade_id": "dropout_forward", "locked": true,
  "points": 4, "schema_version": 3, "solution": false, "task": false}``.

The metadata jupytext records about the text (blank lines between cells) is dropped. The
notebook metadata is the same for every notebook (:data:`NOTEBOOK_METADATA`); a source needs no
header. The build refuses a source, naming file, line and cell, for a cell without an id, a
duplicate id or one nbformat rejects, any other cell metadata key, and nbgrader metadata that is
inconsistent (unknown or missing keys, a graded cell without points, points on an ungraded one,
a duplicate grade_id, a markdown cell that is only one of grade and solution), and a test cell
whose points differ from the sum of its exercise's parts (:mod:`autograder.exercises`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import jupytext
import nbformat

from . import exercises
from .assemble import parse_check_calls

AUTOGRADER = Path(__file__).resolve().parent
ROOT = AUTOGRADER.parent
COURSE = AUTOGRADER / "course"  # the nbgrader course (autograder/course/README.md)
SOURCES = COURSE / "src"
INSTRUCTOR = COURSE / "source"
STUDENT = ROOT / "notebooks"

FORMAT = "py:percent"
DEMO_TAG = "demo"
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "pygments_lexer": "ipython3"},
}
CELL_KEYS = ("id", "tags", "nbgrader")
# what jupytext records about the text (blank lines, markers), not about the notebook
JUPYTEXT_CELL_KEYS = ("cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker")
NBGRADER_FLAGS = ("grade", "locked", "solution", "task")
NBGRADER_KEYS = ("grade", "grade_id", "locked", "points", "schema_version", "solution", "task")
NBGRADER_SCHEMA = 3
# nbformat 4.5's cell id, and nbgrader's grade_id
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
GRADE_ID = re.compile(r"[a-zA-Z0-9_-]+")
_MARKER = re.compile(r"^\s*#\s*%%")


class SourceError(ValueError):
    """A notebook source that does not follow the format; the message names file, line and cell."""


def _locations(path: Path, text: str, n_cells: int) -> list[str]:
    """``file:line: cell N`` for each cell, the line being its ``# %%`` marker when known."""
    markers = [
        number for number, line in enumerate(text.splitlines(), start=1) if _MARKER.match(line)
    ]
    if len(markers) == n_cells - 1:  # text before the first marker is a cell too
        markers.insert(0, 1)
    if len(markers) != n_cells:
        return [f"{path.name}: cell {index}" for index in range(1, n_cells + 1)]
    return [f"{path.name}:{line}: cell {index}" for index, line in enumerate(markers, start=1)]


def _check_nbgrader(meta, cell_type: str, where: str, grade_ids: dict[str, str]) -> None:
    if not isinstance(meta, dict):
        raise SourceError(f"{where}: nbgrader must be a JSON object, got {meta!r}")
    unknown = sorted(set(meta) - set(NBGRADER_KEYS))
    if unknown:
        raise SourceError(
            f"{where}: unknown nbgrader key(s) {', '.join(unknown)} "
            f"(known: {', '.join(NBGRADER_KEYS)})"
        )
    missing = sorted(set(NBGRADER_KEYS) - {"points"} - set(meta))
    if missing:
        raise SourceError(f"{where}: nbgrader metadata lacks {', '.join(missing)}")
    for flag in NBGRADER_FLAGS:
        if not isinstance(meta[flag], bool):
            raise SourceError(f"{where}: nbgrader {flag} must be true or false, got {meta[flag]!r}")
    if meta["schema_version"] != NBGRADER_SCHEMA:
        raise SourceError(
            f"{where}: nbgrader schema_version must be {NBGRADER_SCHEMA}, "
            f"got {meta['schema_version']!r}"
        )
    grade_id = meta["grade_id"]
    if not (isinstance(grade_id, str) and GRADE_ID.fullmatch(grade_id)):
        raise SourceError(
            f"{where}: nbgrader grade_id {grade_id!r} is not letters, digits, '-' and '_'"
        )
    if grade_id in grade_ids:
        raise SourceError(
            f"{where}: duplicate grade_id {grade_id!r} (first at {grade_ids[grade_id]})"
        )
    grade_ids[grade_id] = where
    graded = meta["grade"] or meta["task"]
    if graded and "points" not in meta:
        raise SourceError(f"{where}: graded cell {grade_id!r} has no points")
    if not graded and "points" in meta:
        raise SourceError(f"{where}: cell {grade_id!r} has points but is not graded")
    points = meta.get("points", 0)
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise SourceError(f"{where}: points of {grade_id!r} must be a number >= 0, got {points!r}")
    # nbgrader's own rules for the cell type (nbgraderformat.v3)
    if meta["task"] and cell_type != "markdown":
        raise SourceError(f"{where}: task cell {grade_id!r} must be markdown")
    if not meta["task"] and cell_type == "markdown" and meta["grade"] != meta["solution"]:
        raise SourceError(
            f"{where}: markdown cell {grade_id!r} must be both grade and "
            "solution (a written answer) or neither"
        )


def _check_parts(meta: dict, source: str, where: str) -> None:
    """The points of a test cell must be the sum of the parts of each exercise it checks."""
    for call in parse_check_calls(source) or ():
        try:
            parts = exercises.get(call.exercise).parts
        except KeyError as error:
            raise SourceError(f"{where}: {error.args[0]}") from None
        if parts and sum(part.points for part in parts) != meta["points"]:
            shares = " + ".join(f"{part.points:g} ({part.name})" for part in parts)
            raise SourceError(
                f"{where}: {meta['grade_id']!r} has {meta['points']} points, but the parts of "
                f"{call.exercise} add up to {shares}"
            )


def _cell(cell, where: str, ids: dict[str, str], grade_ids: dict[str, str]):
    """The notebook cell of one source cell, its metadata checked."""
    metadata = {key: value for key, value in cell.metadata.items() if key not in JUPYTEXT_CELL_KEYS}
    unknown = sorted(set(metadata) - set(CELL_KEYS))
    if unknown:
        raise SourceError(
            f"{where}: unknown cell metadata {', '.join(unknown)} (known: {', '.join(CELL_KEYS)})"
        )
    if "id" not in metadata:
        raise SourceError(
            f"{where}: the cell has no id; run `python -m autograder.build "
            "--assign-ids` to give it one"
        )
    cell_id = metadata.pop("id")
    where = f"{where} (id {cell_id!r})"
    if not (isinstance(cell_id, str) and CELL_ID.fullmatch(cell_id)):
        raise SourceError(f"{where}: a cell id is 1 to 64 letters, digits, '-' and '_' (nbformat)")
    if cell_id in ids:
        raise SourceError(f"{where}: duplicate id (first at {ids[cell_id]})")
    ids[cell_id] = where
    tags = metadata.get("tags", [])
    if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
        raise SourceError(f"{where}: tags must be a list of strings, got {tags!r}")
    if "nbgrader" in metadata:
        _check_nbgrader(metadata["nbgrader"], cell.cell_type, where, grade_ids)
        if cell.cell_type == "code" and metadata["nbgrader"]["grade"]:
            _check_parts(metadata["nbgrader"], cell.source, where)
    make = {
        "code": nbformat.v4.new_code_cell,
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
    }[cell.cell_type]
    node = make(cell.source, metadata=metadata)
    node.id = cell_id
    return node


def parse(path: Path) -> nbformat.NotebookNode:
    """Read one source file into an (output-free) notebook; raise :class:`SourceError` if it
    does not follow the format."""
    path = Path(path)
    text = path.read_text()
    source = jupytext.reads(text, fmt=FORMAT)
    notebook = nbformat.v4.new_notebook(metadata=json.loads(json.dumps(NOTEBOOK_METADATA)))
    ids: dict[str, str] = {}
    grade_ids: dict[str, str] = {}
    for cell, where in zip(source.cells, _locations(path, text, len(source.cells))):
        notebook.cells.append(_cell(cell, where, ids, grade_ids))
    nbformat.validate(notebook)
    return notebook


def _new_id(cell, taken: set[str]) -> str:
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    if (
        isinstance(grade_id, str)
        and grade_id.replace("_", "-") not in taken
        and CELL_ID.fullmatch(grade_id)
    ):
        return grade_id.replace("_", "-")
    while True:
        candidate = uuid.uuid4().hex[:8]  # as nbformat makes them
        if candidate not in taken:
            return candidate


def assign_ids(path: Path) -> int:
    """Give every cell of the source ``path`` that has no id a new one, in place; return how
    many were added. The rest of the text is left as it is."""
    path = Path(path)
    source = jupytext.reads(path.read_text(), fmt=FORMAT)
    taken = {cell.metadata["id"] for cell in source.cells if "id" in cell.metadata}
    added = 0
    for cell in source.cells:
        if "id" not in cell.metadata:
            cell.metadata = {"id": _new_id(cell, taken), **cell.metadata}
            taken.add(cell.metadata["id"])
            added += 1
    if added:
        # jupytext keeps the cell metadata it saw when reading: let it see the ids
        source.metadata.get("jupytext", {}).pop("cell_metadata_filter", None)
        path.write_text(jupytext.writes(source, fmt=FORMAT))
    return added


def _dumps(notebook) -> str:
    return nbformat.writes(notebook) + "\n"


def instructor_notebook(name: str) -> str:
    return _dumps(parse(SOURCES / f"{name}.py"))


def student_notebook(name: str, instructor_text: str) -> str:
    """Run nbgrader's generate_assignment on the instructor version in a throwaway course."""
    with tempfile.TemporaryDirectory() as course:
        source = Path(course, "source", name)
        source.mkdir(parents=True)
        (source / f"{name}.ipynb").write_text(instructor_text)
        env = dict(
            os.environ,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        result = subprocess.run(
            # --no-db: the throwaway course needs no gradebook, and making one takes half the time
            [
                sys.executable,
                "-m",
                "nbgrader",
                "generate_assignment",
                name,
                "--force",
                f"--CourseDirectory.root={course}",
                "--no-db",
                "--log-level=WARN",
            ],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{result.stderr}")
        released = json.loads(Path(course, "release", name, f"{name}.ipynb").read_text())
    return json.dumps(released, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def names() -> list[str]:
    return sorted(path.stem for path in SOURCES.glob("[0-9][0-9]_*.py"))


def build(name: str, *, check: bool = False) -> list[Path]:
    """Write (or, with ``check``, compare) both versions of one notebook; return stale paths."""
    instructor = instructor_notebook(name)
    student = student_notebook(name, instructor)
    targets = {INSTRUCTOR / name / f"{name}.ipynb": instructor, STUDENT / f"{name}.ipynb": student}
    stale = [
        path for path, text in targets.items() if not path.exists() or path.read_text() != text
    ]
    if not check:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(targets[path])
    return stale


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed notebook is out of date",
    )
    action.add_argument(
        "--assign-ids",
        action="store_true",
        help="give every source cell without an id a new one (builds nothing)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names()))
    if unknown:
        parser.error(f"no source for {', '.join(unknown)}; known: {', '.join(names())}")
    try:
        if args.assign_ids:
            for name in args.names or names():
                path = SOURCES / f"{name}.py"
                added = assign_ids(path)
                if added:
                    print(f"{_shown(path)}: {added} new id{'s' * (added != 1)}")
            return 0
        stale = [path for name in (args.names or names()) for path in build(name, check=args.check)]
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {_shown(path)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())

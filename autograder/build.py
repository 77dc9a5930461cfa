"""Build the course notebooks from their readable sources.

    autograder/notebook_src/NN_name.py
        -> autograder/source/NN_name/NN_name.ipynb   instructor version (solutions, hidden tests)
        -> notebooks/NN_name.ipynb                   student version (nbgrader generate_assignment)

Usage: ``python -m autograder.build [NAME ...] [--check]`` (all notebooks by default); with
``--check`` nothing is written and the exit status is 1 if a committed notebook is out of date.

Source format: cells start at lines beginning with ``# %%``::

    # %% [markdown]                       markdown; each line's leading "# " is removed
    # %%                                  an ordinary code cell (setup: imports, data)
    # %% [demo]                           a code cell that only draws or demonstrates: tagged
    #                                     "demo", and skipped when grading (autograder.assemble)
    # %% [solution] id=dropout_forward    autograded solution (### BEGIN/END SOLUTION inside)
    # %% [tests] id=dropout_forward points=3
    #                                     autograded tests (### BEGIN/END HIDDEN TESTS inside)
    # %% [answer] id=explain_gap points=2
    #                                     manually graded written answer (markdown): write the
    #                                     model answer; students get "YOUR ANSWER HERE"
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

AUTOGRADER = Path(__file__).resolve().parent
ROOT = AUTOGRADER.parent
SOURCES = AUTOGRADER / "notebook_src"
INSTRUCTOR = AUTOGRADER / "source"
STUDENT = ROOT / "notebooks"

_HEADER = re.compile(r"^# %%(?:\s*\[(?P<kind>\w+)\])?(?P<attrs>(?:\s+\w+=\S+)*)\s*$")
_KINDS = {None, "markdown", "demo", "solution", "tests", "answer"}
DEMO_TAG = "demo"


class SourceError(ValueError):
    """A notebook source that does not follow the format; the message names file and line."""


def _nbgrader_metadata(kind: str, attrs: dict[str, str], where: str) -> dict:
    if "id" not in attrs:
        raise SourceError(f"{where}: a [{kind}] cell needs id=...")
    graded = kind in ("tests", "answer")
    if graded and "points" not in attrs:
        raise SourceError(f"{where}: a [{kind}] cell needs points=...")
    meta = {"grade": graded, "grade_id": attrs["id"], "locked": kind == "tests",
            "schema_version": 3, "solution": kind in ("solution", "answer"), "task": False}
    if graded:
        meta["points"] = float(attrs["points"]) if "." in attrs["points"] else int(
            attrs["points"])
    return meta


def _markdown(lines: list[str]) -> str:
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#")
                     for line in lines)


def parse(path: Path) -> nbformat.NotebookNode:
    """Read one source file into an (output-free) notebook with nbgrader metadata."""
    text = path.read_text()
    cells, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            match = _HEADER.match(line)
            where = f"{path.name}:{number}"
            if not match or match["kind"] not in _KINDS:
                raise SourceError(f"{where}: unknown cell header {line!r}")
            attrs = dict(pair.split("=", 1) for pair in match["attrs"].split())
            current = {"kind": match["kind"], "attrs": attrs, "lines": [], "where": where}
            cells.append(current)
        elif current is None:
            if line.strip():
                raise SourceError(f"{path.name}:{number}: text before the first '# %%'")
        else:
            current["lines"].append(line)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                       "name": "python3"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
    }
    seen_ids = set()
    for index, cell in enumerate(cells):
        lines = cell["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        kind, attrs = cell["kind"], cell["attrs"]
        if kind in ("markdown", "answer"):
            node = nbformat.v4.new_markdown_cell(_markdown(lines))
        else:
            node = nbformat.v4.new_code_cell("\n".join(lines))
        if kind == "demo":
            node.metadata["tags"] = [DEMO_TAG]
        if kind in ("solution", "tests", "answer"):
            node.metadata["nbgrader"] = _nbgrader_metadata(kind, attrs, cell["where"])
            grade_id = attrs["id"]
            if grade_id in seen_ids:
                raise SourceError(f"{cell['where']}: duplicate id={grade_id}")
            seen_ids.add(grade_id)
            node.id = grade_id.replace("_", "-")
        else:
            digest = hashlib.sha1(f"{path.stem}:{index}:{node.source}".encode()).hexdigest()
            node.id = digest[:12]
        notebook.cells.append(node)
    nbformat.validate(notebook)
    return notebook


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
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                    f"{os.environ.get('PATH', '')}")
        result = subprocess.run(
            # --no-db: the throwaway course needs no gradebook, and making one takes half the time
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
             f"--CourseDirectory.root={course}", "--no-db", "--log-level=WARN"],
            cwd=course, env=env, capture_output=True, text=True)
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
    targets = {INSTRUCTOR / name / f"{name}.ipynb": instructor,
               STUDENT / f"{name}.ipynb": student}
    stale = [path for path, text in targets.items()
             if not path.exists() or path.read_text() != text]
    if not check:
        for path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(targets[path])
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the course notebooks from their sources.")
    parser.add_argument("names", nargs="*", help="notebooks to build (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed notebook is out of date")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names()))
    if unknown:
        parser.error(f"no source for {', '.join(unknown)}; known: {', '.join(names())}")
    stale = [path for name in (args.names or names()) for path in build(name, check=args.check)]
    for path in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())

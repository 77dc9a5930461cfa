"""From an instructor notebook and a student's submission, the notebook the grader runs.

The instructor's notebook is the source of truth: its cell order, its ordinary code cells, its
test cells and its points. From the submission only the solution cells (matched by grade_id) and
cells the student added are taken. Whatever was edited in the submission's nbgrader metadata
(points, ids, removed or re-tagged test cells) is reported and has no effect.

Instructor cells tagged ``demo`` only draw or demonstrate, so grading skips them, unless the
student's own code (solutions and added cells) reads a name one of them defines: then that cell
runs, and so, in turn, does every earlier demo cell that defines a name it reads.

The plan also holds the notebook as graded (``Plan.cells``): the instructor's cells, with the
student's solutions, written answers and added cells in their places; every step names the cell
it runs, so that the outputs can be put back where they belong (:mod:`autograder.autograded`).
"""

from __future__ import annotations

import ast
import copy
import errno
import itertools
import os
import re
import stat
import symtable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.corpus.words import generate_corpus_id as random_cell_id
from nbformat.notebooknode import NotebookNode

STUB = "raise NotImplementedError()"
DEMO_TAG = "demo"


@dataclass(frozen=True)
class CheckCall:
    """One ``check("<exercise>", <function expression>, hidden=...)`` statement of a test cell."""

    exercise: str
    function_source: str
    hidden: bool


@dataclass(frozen=True)
class TestCell:
    grade_id: str
    points: float
    source: str
    calls: tuple[CheckCall, ...] | None  # None: not made of check() calls, run as plain code


@dataclass
class Plan:
    """Cells to execute (in order) and where the tests go."""

    # each: ("code", source, label, cell) or ("test", TestCell, cell), where cell is the index in
    # ``cells`` of the notebook cell the step runs
    steps: list
    tests: list[TestCell]
    solution_sources: dict[str, str]
    written_answers: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # labels of the demo cells left out
    cells: list = field(default_factory=list)  # the notebook as graded, without outputs


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def parse_check_calls(source: str) -> tuple[CheckCall, ...] | None:
    """The check() calls of a test cell, or None if it contains anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = []
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "check"
            and len(call.args) == 2
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            return None
        hidden = False
        for keyword in call.keywords:
            if keyword.arg != "hidden" or not isinstance(keyword.value, ast.Constant):
                return None
            hidden = bool(keyword.value.value)
        calls.append(CheckCall(call.args[0].value, ast.unparse(call.args[1]), hidden))
    return tuple(calls) or None


_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


def released(source: str) -> str:
    """A test cell's source as students receive it (hidden tests removed)."""
    return _HIDDEN.sub("", source).strip()


def _global_reads(table: symtable.SymbolTable) -> set[str]:
    """Names a scope and the scopes inside it read from the module's namespace."""
    top = table.get_type() == "module"
    reads = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_referenced() and (top or symbol.is_global())
    }
    for child in table.get_children():
        reads |= _global_reads(child)
    return reads


def _augmented_reads(
    node: ast.AST, declared_global: frozenset = frozenset(), module_level: bool = True
) -> set[str]:
    """Module names that ``x += 1`` reads: symtable counts its target as assigned only. At
    module level every such target; inside a function, those it declares ``global``."""
    reads = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            names = frozenset(
                name
                for inner in ast.walk(child)
                if isinstance(inner, ast.Global)
                for name in inner.names
            )
            reads |= _augmented_reads(child, names, module_level=False)
        elif isinstance(child, ast.ClassDef):  # its body's names are the class's
            reads |= _augmented_reads(child, frozenset(), module_level=False)
        else:
            target = child.target if isinstance(child, ast.AugAssign) else None
            if isinstance(target, ast.Name) and (module_level or target.id in declared_global):
                reads.add(target.id)
            reads |= _augmented_reads(child, declared_global, module_level)
    return reads


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds in the module's namespace, names it reads from there); a function's
    own parameters and locals are neither. Both empty if the cell does not parse."""
    try:
        table = symtable.symtable(source, "cell", "exec")
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    bound = {
        symbol.get_name()
        for symbol in table.get_symbols()
        if symbol.is_assigned() or symbol.is_imported()
    }
    return bound, _global_reads(table) | _augmented_reads(tree)


def _without_unneeded_demos(steps: list, student_sources) -> tuple[list, list[str]]:
    """``steps`` where each ("demo", ...) step became a code step if student code needs a name
    it binds, or was dropped; and the labels of the dropped ones."""
    needed = set().union(*(_names(source)[1] for source in student_sources))
    kept, skipped = [], []
    for step in reversed(steps):
        if step[0] == "demo":
            bound, read = _names(step[1])
            if not bound & needed:
                skipped.append(step[2])
                continue
            needed |= read - bound
            step = ("code", *step[1:])
        kept.append(step)
    return kept[::-1], skipped[::-1]


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _new_cell(kind: str, source: str = ""):
    """A new cell as ``nbformat.v4.new_<kind>_cell`` makes it, without its schema check of each
    cell (fields fixed by the format, so valid by construction; a written notebook is checked
    whole): the check cost about a quarter of the grader's CPU spent assembling a plan."""
    cell = NotebookNode(id=random_cell_id(), cell_type=kind, metadata=NotebookNode(), source=source)
    if kind == "code":
        cell.execution_count = None
        cell.outputs = []
    return cell


def _graded_cell(instructor_cell, source: str, theirs=None):
    """A fresh cell of the graded notebook: the instructor's type, id and metadata with
    ``source``, and the attachments of the student's cell ``theirs`` (pasted images)."""
    kind = instructor_cell.cell_type if instructor_cell.cell_type in ("code", "markdown") else "raw"
    cell = _new_cell(kind, source)
    cell.metadata = copy.deepcopy(instructor_cell.get("metadata", {}))
    if instructor_cell.get("id"):
        cell.id = instructor_cell.id
    attachments = theirs.get("attachments") if theirs is not None else None
    if cell.cell_type != "code" and isinstance(attachments, dict):
        cell.attachments = copy.deepcopy(attachments)
    return cell


def _added_cell(theirs):
    """A cell the student added, as a fresh cell of its type (its metadata is not kept)."""
    kind = theirs.get("cell_type")
    cell = _new_cell(kind if kind in ("code", "markdown") else "raw", cell_source(theirs))
    if isinstance(theirs.get("id"), str) and re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", theirs["id"]):
        cell.id = theirs["id"]
    return cell


def assemble(instructor, submission, *, skip_demos: bool = True) -> Plan:
    """Build the :class:`Plan` for one submission (both arguments are nbformat notebooks);
    ``skip_demos=False`` keeps every demo cell (for timing what skipping them saves)."""
    warnings: list[str] = []
    by_grade_id: dict[str, dict] = {}
    for cell in submission.get("cells", []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if isinstance(grade_id, str):
            if grade_id in by_grade_id:
                warnings.append(
                    f"the submission has two cells with grade_id {grade_id!r}; "
                    "the first one is used"
                )
                continue
            by_grade_id[grade_id] = cell

    # a cell whose nbgrader metadata the student removed is still theirs by its cell id
    by_cell_id = {
        cell.get("id"): cell
        for cell in submission.get("cells", [])
        if not nbgrader_meta(cell).get("grade_id")
    }
    instructor_ids = {cell.get("id") for cell in instructor.cells}
    known_grade_ids = {nbgrader_meta(cell).get("grade_id") for cell in instructor.cells} - {None}
    # cells the student added, keyed by the instructor cell they follow
    added: dict[str | None, list] = {}
    anchor = None
    for cell in submission.get("cells", []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.get("id") in instructor_ids or grade_id in known_grade_ids:
            anchor = cell.get("id") if cell.get("id") in instructor_ids else anchor
            continue
        if grade_id is not None:
            warnings.append(f"cell with unknown grade_id {grade_id!r} ignored")
            continue
        if cell.get("cell_type") != "code" or cell_source(cell).strip():
            added.setdefault(anchor, []).append(cell)

    steps, tests, solutions, answers = [], [], {}, {}
    cells: list = []
    ids = {cell.get("id") for cell in instructor.cells}

    def place(cell) -> int:
        cells.append(cell)
        return len(cells) - 1

    def place_added(after: str | None, label) -> None:
        for theirs in added.get(after, []):
            cell = _added_cell(theirs)
            if cell.id in ids:
                cell.id = _new_cell("code").id
            ids.add(cell.id)
            position = place(cell)
            if cell.cell_type == "code":
                steps.append(("code", cell.source, label(), position))

    added_before = itertools.count(1)
    place_added(None, lambda: f"added cell {next(added_before)}")
    for cell in instructor.cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        theirs = by_grade_id.get(grade_id) if grade_id else None
        if grade_id and theirs is None and meta.get("solution") and cell.get("id") in by_cell_id:
            theirs = by_cell_id[cell.get("id")]
            warnings.append(
                f"the nbgrader metadata of {grade_id!r} was removed; the cell with its id is used"
            )
        elif grade_id and theirs is not None:
            their_meta = nbgrader_meta(theirs)
            if meta.get("grade") and their_meta.get("points") != meta.get("points"):
                warnings.append(
                    f"points of {grade_id!r} were edited "
                    f"({meta.get('points')} -> {their_meta.get('points')}); "
                    "the instructor's value is used"
                )
            for flag in ("grade", "solution", "locked"):
                if bool(their_meta.get(flag)) != bool(meta.get(flag)):
                    warnings.append(
                        f"nbgrader flag {flag!r} of {grade_id!r} was edited; "
                        "the instructor's cell type is used"
                    )
        elif grade_id and meta.get("grade") and not meta.get("solution"):
            warnings.append(
                f"test cell {grade_id!r} is missing from the submission; "
                "the instructor's version is used"
            )
        if cell.cell_type == "code" and meta.get("solution"):
            source = cell_source(theirs) if theirs is not None else STUB
            solutions[grade_id] = source
            position = place(_graded_cell(cell, source, theirs))
            steps.append(("code", source, f"solution {grade_id}", position))
        elif cell.cell_type == "code" and meta.get("grade"):
            assert grade_id is not None  # the build requires a grade_id in all nbgrader metadata
            if theirs is not None and cell_source(theirs).strip() not in (
                cell_source(cell).strip(),
                released(cell_source(cell)),
            ):
                warnings.append(f"test cell {grade_id!r} was edited; the original is used")
            test = TestCell(
                grade_id,
                float(meta.get("points", 0)),
                cell_source(cell),
                parse_check_calls(cell_source(cell)),
            )
            tests.append(test)
            steps.append(("test", test, place(_graded_cell(cell, cell_source(cell)))))
        elif cell.cell_type == "code":
            kind = "demo" if DEMO_TAG in cell.get("metadata", {}).get("tags", []) else "code"
            position = place(_graded_cell(cell, cell_source(cell)))
            steps.append((kind, cell_source(cell), f"cell {cell.get('id')}", position))
        elif meta.get("solution") and meta.get("grade"):
            answers[grade_id] = cell_source(theirs) if theirs is not None else ""
            place(_graded_cell(cell, answers[grade_id], theirs))
        else:
            place(_graded_cell(cell, cell_source(cell)))
        place_added(cell.get("id"), lambda cell=cell: f"added cell after {cell.get('id')}")
    added_code = [c for cells in added.values() for c in cells if c.get("cell_type") == "code"]
    student_sources = [*solutions.values(), *(cell_source(c) for c in added_code)]
    if skip_demos:
        steps, skipped = _without_unneeded_demos(steps, student_sources)
    else:
        steps, skipped = [("code", *step[1:]) if step[0] == "demo" else step for step in steps], []
    return Plan(steps, tests, solutions, answers, warnings, skipped, cells)


#: the largest submission read, as nbgrader's own ``submit`` allows (100,000 KiB)
MAX_SUBMISSION_BYTES = 100_000 * 1024


def read_submission(path) -> bytes:
    """The bytes of a submitted notebook; raises ValueError with a one-line reason if it is not
    a regular file of at most :data:`MAX_SUBMISSION_BYTES`, or if it, or the student's folder
    it is in, is a symbolic link.

    The grader reads submissions with rights a student does not have: a link planted in a
    class's folder (by an unpacked archive, say) could hand it the instructor's notebook, or
    any file, as a submission; a FIFO would stop the whole run, ``/dev/zero`` fill its memory.
    """
    path = Path(path)
    for entry, what in ((path.parent, "the folder of "), (path, "")):
        if entry.is_symlink():
            raise ValueError(f"not a notebook: {what}{path.name} is a symbolic link")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:  # made a link since the check above
            raise ValueError(f"not a notebook: {path.name} is a symbolic link") from None
        raise
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise ValueError(f"not a notebook: {path.name} is not a regular file")
    with os.fdopen(descriptor, "rb") as stream:
        content = stream.read(MAX_SUBMISSION_BYTES + 1)
    if len(content) > MAX_SUBMISSION_BYTES:
        raise ValueError(
            f"not a notebook: {path.name} is larger than {MAX_SUBMISSION_BYTES:,} bytes"
        )
    return content


def read_notebook(path) -> nbformat.NotebookNode:
    """Read a submission; raises ValueError with a one-line reason if it is not a notebook."""
    return parse_notebook(read_submission(path))


def parse_notebook(content: bytes) -> nbformat.NotebookNode:
    """A submission from the bytes of its file; raises ValueError with a one-line reason if it
    is not a notebook."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not a notebook: the file is not UTF-8 text") from None
    if not text.strip():
        raise ValueError("not a notebook: the file is empty")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for bad JSON or schema
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"not a notebook: {reason}") from None
    if not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook: no list of cells")
    # nbformat only logs what its schema refuses; what grading reads must have the right type
    for number, cell in enumerate(notebook.cells, start=1):
        if not isinstance(cell, dict):
            raise ValueError(f"not a notebook: cell {number} is not a mapping")
        metadata = cell.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ValueError(f"not a notebook: the metadata of cell {number} is not a mapping")
        if not isinstance(metadata.get("nbgrader", {}), dict):
            raise ValueError(f"not a notebook: metadata.nbgrader of cell {number} is not a mapping")
        tags = metadata.get("tags", [])
        if not (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)):
            raise ValueError(
                f"not a notebook: metadata.tags of cell {number} is not a list of strings"
            )
    return notebook

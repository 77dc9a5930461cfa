"""The course library as a grading kernel sees it: the answers of the graded notebook removed.

For each notebook the grader builds, once per course version, a folder with two packages:

* ``course_lib``, a copy of the course library in which every function that an exercise of that
  notebook, or of a later one, names as its reference or an equivalent (see
  :class:`autograder.exercises.Exercise`) is replaced, in its source file, by a function that
  raises :class:`ReferenceUnavailable` with a message naming the exercise. (Later notebooks'
  answers go too: they are not yet taught, and some would stand in for an earlier one, as
  spatial dropout on a tensor of shape (n, 1, 1, 1) is inverted dropout.) However a solution
  reaches one (an import, ``importlib``, loading the file by path, ``exec`` of its source, a
  thread, a lesson function that calls it), there is no reference code left to run. Everything
  else works as in the course library.
* ``autograder``, only what runs inside the kernel: the probes of the exercises (the halves that
  call the student's code), the harness that displays what they observed, and the wire format.
  The verdicts and the hints, and every helper only they use, are cut out of the exercise
  modules, and the shared kit (:mod:`autograder.exercises.kit`) keeps only what the remaining
  probes use, so no expected value is computed where student code runs.

The folder is the kernel's ``PYTHONPATH``; the sandbox (:mod:`autograder.sandbox`) shows the
kernel this folder and no other copy of either package. Copies live in
``$AUTOGRADER_CACHE`` (default ``~/.cache/dropout-course/grading``) under a hash of every file
they are made from, so editing the course builds new ones and old ones are never reused.
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import importlib
import os
import shutil
import tempfile
from pathlib import Path

import course_lib

from . import exercises

COURSE_LIB = Path(course_lib.__file__).resolve().parent
AUTOGRADER = Path(__file__).resolve().parent
# the kernel side of the grader: everything a probe cell imports
KERNEL_MODULES = ("__init__.py", "harness.py", "wire.py")
KIT = "autograder/exercises/kit.py"
HINTS = "hints"  # the keyword of @exercise(...) that the grading copy leaves out
STUB_MODULE = "_grading.py"
STUB_SOURCE = '''"""Only in the grading copy of the course library (see autograder.grading_copy)."""


class ReferenceUnavailable(RuntimeError):
    """Raised by a reference implementation that is removed while its exercise is graded."""
'''


def cache_root() -> Path:
    configured = os.environ.get("AUTOGRADER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dropout-course" / "grading"


def _sources() -> list[tuple[str, Path]]:
    """(path in the copy, file) of every file a copy is made from, this module included."""
    files = [
        (f"course_lib/{path.relative_to(COURSE_LIB)}", path)
        for path in sorted(COURSE_LIB.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    files += [(f"autograder/{name}", AUTOGRADER / name) for name in KERNEL_MODULES]
    files += [
        (f"autograder/exercises/{path.name}", path)
        for path in sorted((AUTOGRADER / "exercises").glob("*.py"))
        if path.name != "__main__.py"
    ]
    files.append(("grading_copy.py", Path(__file__)))
    return files


def course_version() -> str:
    """A hash of every file a grading copy is made from."""
    digest = hashlib.sha256()
    for name, path in _sources():
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# --- removing references from the course library ---------------------------------------------


def _definition(dotted: str) -> tuple[str, str]:
    """(file relative to course_lib, function name) where ``dotted`` is defined, following
    re-exports (``course_lib.analysis.sample_mask`` is defined in ``masks.py``)."""
    module_name, _, attribute = dotted.rpartition(".")
    function = getattr(importlib.import_module(module_name), attribute, None)
    if function is None or not callable(function):
        raise LookupError(f"{dotted} is not a function of the course library")
    module = importlib.import_module(function.__module__)
    assert module.__file__ is not None  # every module of the course library is a .py file
    relative = Path(module.__file__).resolve().relative_to(COURSE_LIB)
    return str(relative), function.__name__


def _stub(name: str, dotted: str, exercise: exercises.Exercise, graded: str) -> str:
    what = (
        "is the reference answer of" if dotted == exercise.reference else "hands over the answer of"
    )
    message = (
        f"{dotted} {what} the exercise {exercise.name} of notebook {exercise.notebook} "
        f"and does not exist while notebook {graded} is graded: the exercise asks for "
        f"your own code."
    )
    return (
        f"def {name}(*args, **kwargs):\n"
        f"    from course_lib._grading import ReferenceUnavailable\n"
        f"    raise ReferenceUnavailable({message!r})\n"
    )


def without_functions(source: str, stubs: dict[str, str]) -> str:
    """``source`` with each top-level function named in ``stubs`` replaced by its stub text."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in stubs:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = (first - 1, node.end_lineno)
    missing = set(stubs) - set(found)
    if missing:
        raise LookupError(f"no top-level function {', '.join(sorted(missing))} to remove")
    for name, (start, end) in sorted(found.items(), key=lambda item: -item[1][0]):
        lines[start:end] = [stubs[name]]
    return "".join(lines)


def removed_references(notebook: str) -> dict[str, dict[str, str]]:
    """{file of course_lib: {function: stub source}} for the exercises of ``notebook`` and of
    every later notebook (notebooks are named in course order: ``01_...``, ``02_...``)."""
    removed: dict[str, dict[str, str]] = {}
    for exercise in exercises.all_exercises():
        if exercise.notebook < notebook:
            continue
        for dotted in exercise.references:
            relative, name = _definition(dotted)
            removed.setdefault(relative, {}).setdefault(
                name, _stub(name, dotted, exercise, notebook)
            )
    return removed


# --- keeping only the probes of the exercise modules -------------------------------------------


def _names_used(nodes) -> set[str]:
    return {node.id for tree in nodes for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _defined_name(node) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def probes_only(source: str) -> str:
    """An exercise module without its verdicts and hints.

    The verdict methods of every exercise class go (``verdict``, ``arguments``: see
    :data:`autograder.exercises.PART_VERDICTS`), and the ``hints`` of its ``@exercise(...)``
    (grading never needs them, and they may quote the kit's catalogue of mistakes, which is
    verdict half), then, until nothing changes, every private
    module-level function, class or constant that nothing left refers to. Public names stay (a
    notebook may import them, as notebook 04 imports ``LayerPair``).
    """
    verdicts = set(exercises.PART_VERDICTS.values())
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            node.body = [
                item
                for item in node.body
                if not (isinstance(item, ast.FunctionDef) and item.name in verdicts)
            ]
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    decorator.keywords = [
                        keyword for keyword in decorator.keywords if keyword.arg != HINTS
                    ]
    body = list(tree.body)
    while True:
        unused = []
        for node in body:
            name = _defined_name(node)
            if (
                name
                and name.startswith("_")
                and not name.startswith("__")
                and name not in _names_used(other for other in body if other is not node)
            ):
                unused.append(node)
        if not unused:
            break
        body = [node for node in body if node not in unused]
    tree.body = body
    return ast.unparse(tree) + "\n"


def _kit_names(source: str) -> set[str]:
    """The names of the kit that ``source`` (an exercise module) uses: ``kit.NAME`` or
    ``from .kit import NAME``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "kit"
        ):
            names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module == "kit" and node.level == 1:
            names.update(alias.name for alias in node.names)
    return names


def only_what_is_used(source: str, used: set[str]) -> str:
    """A helper module with only its top-level definitions named in ``used``, those they use in
    turn, and the imports these need (public or private alike: nothing else imports it)."""
    tree = ast.parse(source)
    definitions = {name: node for node in tree.body if (name := _defined_name(node))}
    kept: set[str] = set()
    pending = [name for name in used if name in definitions]
    while pending:
        name = pending.pop()
        if name not in kept:
            kept.add(name)
            pending += [
                other
                for other in _names_used([definitions[name]])
                if other in definitions and other not in kept
            ]
    body = [
        node for node in tree.body if (_defined_name(node) in kept if _defined_name(node) else True)
    ]
    needed = _names_used(
        node for node in body if not isinstance(node, (ast.Import, ast.ImportFrom))
    )
    for node in body:
        if (
            isinstance(node, (ast.Import, ast.ImportFrom))
            and getattr(node, "module", None) != "__future__"
        ):
            node.names = [
                alias
                for alias in node.names
                if (alias.asname or alias.name).split(".")[0] in needed
            ]
    tree.body = [
        node
        for node in body
        if not (isinstance(node, (ast.Import, ast.ImportFrom)) and not node.names)
    ]
    return ast.unparse(tree) + "\n"


# --- building and caching -----------------------------------------------------------------------


def _write_copy(notebook: str, target: Path) -> None:
    removed = removed_references(notebook)
    probes = {
        name: probes_only(path.read_text())
        for name, path in _sources()
        if name.startswith("autograder/exercises/nb")
    }
    kit_used = set().union(*(_kit_names(text) for text in probes.values()))
    for name, path in _sources():
        if name == "grading_copy.py":
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        relative = name.removeprefix("course_lib/")
        if relative in removed:
            destination.write_text(without_functions(path.read_text(), removed[relative]))
        elif name in probes:
            destination.write_text(probes[name])
        elif name == KIT:
            destination.write_text(only_what_is_used(path.read_text(), kit_used))
        else:
            shutil.copyfile(path, destination)
    (target / "course_lib" / STUB_MODULE).write_text(STUB_SOURCE)
    compileall.compile_dir(target, quiet=1, workers=1)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for file in files:
            os.chmod(os.path.join(folder, file), 0o644)


def grading_copy(notebook: str, *, root: Path | None = None) -> Path:
    """The folder to put on the grading kernel's ``PYTHONPATH`` for ``notebook``.

    Built on first use (atomically: concurrent graders build their own and keep the first one
    renamed into place) and reused while the course files are unchanged.
    """
    root = Path(root) if root is not None else cache_root()
    target = root / course_version() / notebook
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{notebook}-", dir=target.parent))
    try:
        _write_copy(notebook, building)
        try:
            os.rename(building, target)
        except OSError:  # another grader was faster: use its copy
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target

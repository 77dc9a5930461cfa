"""Releasing notebooks to a class with or without hints: an nbgrader preprocessor.

Every notebook offers ``hint("name")`` (:func:`autograder.exercises.hint`): its first code cell
imports it, and the markdown cell tagged ``hints`` after it tells students it exists. A class
whose instructor does not want to give hints sets, in the course's ``nbgrader_config.py``::

    c.ReleaseHints.offered = False

and releases as usual (formgrader's Generate, or ``nbgrader generate_assignment``). Each
released notebook then lacks the cell tagged ``hints``, and its first code cell calls
``offer_hints(False)`` after the import, so that ``hint(...)`` says the class has none and no
failed check points to it. The instructor versions in ``source/`` are not changed, and grading
does not depend on hints either way: the grader never calls ``hint`` and its kernel's copy of
the exercises has none (:mod:`autograder.grading_copy`).

Hints are not secret: they are text in :mod:`autograder.exercises`, which every student's
environment has installed. The switch decides what the released notebooks offer, not what a
student who reads the package's source can find.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

HINTS_TAG = "hints"
#: the import in the first code cell of every notebook source
IMPORT = "from autograder.exercises import check, hint"
WITHHELD = f"{IMPORT}, offer_hints\noffer_hints(False)  # this class's notebooks come without hints"


def without_hints(notebook):
    """``notebook`` (an nbformat notebook, changed in place and returned) as released without
    hints: the cells tagged ``hints`` removed, and :data:`IMPORT` followed by
    ``offer_hints(False)``. A notebook that offers hints but does not import ``hint`` as the
    sources do is refused with ValueError, rather than released half without hints."""
    offering = [cell for cell in notebook.cells if HINTS_TAG in cell.metadata.get("tags", [])]
    notebook.cells = [cell for cell in notebook.cells if cell not in offering]
    rewritten = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        if IMPORT in lines:
            cell.source = "\n".join(WITHHELD if line == IMPORT else line for line in lines)
            rewritten += 1
    if offering and not rewritten:
        raise ValueError(
            f"the notebook has a cell tagged {HINTS_TAG!r} but no line {IMPORT!r} to switch "
            "hints off in"
        )
    return notebook


class ReleaseHints(NbGraderPreprocessor):
    """Releases the notebooks without hints when ``offered`` is False (see the module)."""

    offered = Bool(
        True,
        help="Whether released notebooks offer hint('name'); False leaves out the cell that "
        "tells students about hints and switches hint() off in each notebook.",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        if not self.offered:
            without_hints(nb)
        return nb, resources

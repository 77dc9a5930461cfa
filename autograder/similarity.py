"""Similarity of solution cells: which students' code overlaps with a classmate's or the reference.

Every solution cell of every submitted notebook is compared with the reference (the instructor's
solution cell and course_lib's reference functions) and with the same cell of every other
student, the way MOSS does it (Schleimer, Wilkerson & Aiken 2003, "Winnowing: local algorithms
for document fingerprinting"):

1. the cell is cut into Python tokens, normalised so that renaming does not hide a copy: every
   identifier becomes ``V``, every number ``N``, every string ``S``; comments, blank lines and
   docstrings are dropped; keywords, operators and the block structure (newline, indent, dedent)
   stay;
2. every run of ``K`` consecutive tokens (a k-gram) is hashed, and winnowing keeps the smallest
   hash of every ``WINDOW`` consecutive k-grams: the cell's fingerprints;
3. fingerprints of the code the released notebook already gives (signature, docstring, stub)
   are dropped, and so are fingerprints found in more than ``BOILERPLATE_SHARE`` of the class's
   distinct cells (code every honest student writes, such as the check of ``p_drop``);
4. a pair scores the share of the smaller side's fingerprints found in the other side (counting
   that side as at least ``MIN_FINGERPRINTS``, so that a cell with no code of its own scores 0).

The reference of a solution cell is the instructor's cell followed by the source of every
course_lib function that the exercise registry names for the exercises the cell defines (the
reference and its equivalents: the grader hides all of them from students, so copying any of
them is copying the reference). In the reports a student is named by their folder, the
reference by ``"reference"``.

The result is ``similarity.json`` (every pair, highest score first) and ``similarity.html`` (the
pairs above a threshold, side by side, the shared code marked). It flags pairs for a human to
read; it never changes a score.
"""

from __future__ import annotations

import ast
import hashlib
import html
import importlib
import inspect
import io
import itertools
import json
import keyword
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import exercises
from .assemble import cell_source, nbgrader_meta, read_notebook
from .grading import SOURCE_DIR, GradingError

RELEASED_DIR = Path(__file__).resolve().parents[1] / "notebooks"
REFERENCE = "reference"

# A k-gram of 12 normalised tokens is about one line of code (``mask = rng.random(x.shape) <
# keep_prob`` is 12 tokens with its newline). With every name folded into one symbol, shorter
# k-grams match by chance between independent solutions (``V = V.V(V.V)`` is any call on an
# attribute); longer ones are broken by every line a copier inserts, so that a disguised copy
# loses more of its score. On the generated classes of tests/test_similarity.py, K from 11 to 13
# separated copies from honest pairs best (at 10, honest pairs of the shorter exercise caught up
# with the copies; from 14 on, the copies lost too much).
K = 12
# Winnowing keeps one fingerprint in every WINDOW consecutive k-grams (about half of them), and
# any run of WINDOW + K - 1 = 14 tokens that two cells share is certain to be found. Solution
# cells are short (30 to 70 fingerprints each), so a dense selection costs nothing and keeps the
# scores of short cells from being decided by a handful of fingerprints.
WINDOW = 3
# Code found in more than half of the cells that a class wrote (the given code left out) is what
# the exercise makes everyone write, such as the check of p_drop, and is ignored: it is no
# evidence of copying (MOSS's -m option counts files; a share works for any class size). Fewer
# than BOILERPLATE_MIN_CELLS cells are too few to tell boilerplate from a ring of copies.
BOILERPLATE_SHARE = 0.5
BOILERPLATE_MIN_CELLS = 6  # distinct cells
# A side with fewer fingerprints of its own than this (about two lines of code) cannot score 1
# by sharing them all: two students who both replaced the stub by ``pass`` copied nothing.
MIN_FINGERPRINTS = 10
# Above this score a pair is shown in the HTML report: most of one side's own code appears in
# the other. On 30 generated classes of 20 honest students (as in tests/test_similarity.py),
# copies disguised by renaming, comments, blank lines and a line or two of their own scored 0.83
# to 0.95, while independently written solutions scored 0.2 in the median and above 0.7 in
# 0.6 % (dropout_forward) and 2 % (prob_exactly_dropped, a shorter cell) of the pairs (above
# 0.6: 2.4 % and 10 %). 0.7 keeps the list a person reads short; similarity.json has every pair.
THRESHOLD = 0.7


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """A normalised token and the characters ``text[start:end]`` it came from."""

    symbol: str
    start: int
    end: int


_DROPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRUCTURE = {tokenize.NEWLINE: "NEWLINE", tokenize.INDENT: "INDENT", tokenize.DEDENT: "DEDENT"}
# Python 3.12 splits f-strings (3.14 also t-strings) into several tokens; they count as one string.
_STRING_OPENERS = {
    getattr(tokenize, name)
    for name in ("FSTRING_START", "TSTRING_START")
    if hasattr(tokenize, name)
}
_STRING_CLOSERS = {
    getattr(tokenize, name) for name in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, name)
}


def _symbol(token: tokenize.TokenInfo) -> str | None:
    if token.type in _DROPPED:
        return None
    if token.type == tokenize.NAME:
        return token.string if keyword.iskeyword(token.string) else "V"
    if token.type == tokenize.NUMBER:
        return "N"
    if token.type == tokenize.STRING:
        return "S"
    if token.type in _STRUCTURE:
        return _STRUCTURE[token.type]
    return token.string.strip() or None  # operators; ERRORTOKEN such as a stray "$" or "?"


def _error_line(error: Exception) -> int | None:
    """The line (1-based) a tokenize error points at, if it says."""
    if isinstance(error, SyntaxError):
        return error.lineno
    position = error.args[1] if len(error.args) > 1 else None
    return position[0] if isinstance(position, tuple) else None


def _raw_tokens(lines: list[str]) -> list[tokenize.TokenInfo]:
    """Python's tokens of ``lines``; where tokenizing fails, the line it fails on is skipped and
    tokenizing starts again after it, so a syntax error costs one line, not the cell."""
    found, first = [], 0
    while first < len(lines):
        readline = io.StringIO("".join(lines[first:])).readline
        try:
            for token in tokenize.generate_tokens(readline):
                found.append(
                    token._replace(
                        start=(token.start[0] + first, token.start[1]),
                        end=(token.end[0] + first, token.end[1]),
                    )
                )
            break
        except (tokenize.TokenError, SyntaxError) as error:
            bad = _error_line(error)
            if bad is None:
                break
            first += max(bad, 1)
    return found


def _without_docstrings(tokens: list[Token]) -> list[Token]:
    """Drop strings that are whole statements (docstrings): they are prose, not code."""
    kept, statement_start, in_docstring = [], True, False
    for i, token in enumerate(tokens):
        following = tokens[i + 1].symbol if i + 1 < len(tokens) else "NEWLINE"
        if token.symbol == "S" and statement_start and following in ("S", "NEWLINE"):
            in_docstring = True  # "a" "b" on their own: both pieces go, and then the newline
            continue
        if not (token.symbol == "NEWLINE" and in_docstring):
            kept.append(token)
        in_docstring = False
        statement_start = token.symbol in ("NEWLINE", "INDENT", "DEDENT")
    return kept


def tokens(text: str) -> list[Token]:
    """The normalised tokens of a cell's source; never raises, whatever the text.

    Parameters
    ----------
    text : str
        Python source, possibly with syntax errors or IPython magics.

    Returns
    -------
    list of Token
        ``symbol`` is ``"V"`` for an identifier, ``"N"`` for a number, ``"S"`` for a string,
        ``"NEWLINE"``, ``"INDENT"``, ``"DEDENT"`` for the block structure, else the keyword or
        operator itself. Comments, blank lines and docstrings are left out.
    """
    lines = io.StringIO(text).readlines()  # split exactly as tokenize's readline splits
    offsets = list(itertools.accumulate((len(line) for line in lines), initial=0))

    def at(row: int, col: int) -> int:
        # tokenize ends a last line without "\n" with a NEWLINE one character beyond the text
        return min(offsets[min(row - 1, len(lines))] + col, len(text))

    normalised, string_depth = [], 0
    for raw in _raw_tokens(lines):
        start, end = at(*raw.start), at(*raw.end)
        if raw.type in _STRING_OPENERS:
            string_depth += 1
            if string_depth == 1:
                normalised.append(Token("S", start, end))
        elif raw.type in _STRING_CLOSERS:
            string_depth = max(string_depth - 1, 0)
            normalised[-1] = Token("S", normalised[-1].start, end)
        elif string_depth == 0 and (symbol := _symbol(raw)) is not None:
            normalised.append(Token(symbol, start, end))
    return _without_docstrings(normalised)


# --- fingerprints -----------------------------------------------------------------------------


def _hash(symbols: tuple[str, ...]) -> int:
    # a stable hash (Python's own is salted per process), so that reports can be compared
    digest = hashlib.blake2b("\x00".join(symbols).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def kgram_hashes(cell_tokens: list[Token], k: int = K) -> list[int]:
    """The hash of every run of ``k`` consecutive tokens, by position of its first token."""
    symbols = [token.symbol for token in cell_tokens]
    return [_hash(tuple(symbols[i : i + k])) for i in range(len(symbols) - k + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> set[int]:
    """Positions that winnowing selects: in every ``window`` consecutive hashes, the smallest
    (the rightmost of equal ones). A cell shorter than one window keeps its smallest hash."""
    if not hashes:
        return set()
    window = min(window, len(hashes))
    selected = set()
    for first in range(len(hashes) - window + 1):
        block = hashes[first : first + window]
        selected.add(first + min(range(window), key=lambda i: (block[i], -i)))
    return selected


@dataclass(frozen=True)
class Fingerprinted:
    """A cell's text, the character span of each k-gram, and its fingerprints.

    ``prints`` maps each selected hash to the positions of every k-gram with that hash, so
    that shared fingerprints can be marked in the text.
    """

    text: str
    spans: tuple[tuple[int, int], ...]
    prints: dict[int, tuple[int, ...]]

    def without(self, ignored: set[int]) -> Fingerprinted:
        prints = {h: where for h, where in self.prints.items() if h not in ignored}
        return Fingerprinted(self.text, self.spans, prints)


def fingerprint(text: str, k: int = K, window: int = WINDOW) -> Fingerprinted:
    """Winnowed fingerprints of a cell's source."""
    cell_tokens = tokens(text)
    hashes = kgram_hashes(cell_tokens, k)
    positions: dict[int, list[int]] = {}
    for position, value in enumerate(hashes):
        positions.setdefault(value, []).append(position)
    prints = {hashes[p]: tuple(positions[hashes[p]]) for p in winnow(hashes, window)}
    spans = tuple((cell_tokens[p].start, cell_tokens[p + k - 1].end) for p in range(len(hashes)))
    return Fingerprinted(text, spans, prints)


def score(a: Fingerprinted, b: Fingerprinted) -> float:
    """Share of the smaller side's fingerprints that the other side has too, in [0, 1].

    The smaller side, not the union (Jaccard): the reference (the instructor's cell plus
    course_lib's functions) is larger than any one student's cell, and a student who copied a
    classmate and added lines of their own still holds most of the classmate's cell. The
    smaller side counts as at least MIN_FINGERPRINTS, so that a side without code of its own
    (an untouched cell) scores 0 and one with a line or two cannot score high.
    """
    shared = a.prints.keys() & b.prints.keys()
    if not shared:
        return 0.0
    return len(shared) / max(min(len(a.prints), len(b.prints)), MIN_FINGERPRINTS)


# --- the class's cells ------------------------------------------------------------------------


def _solutions(notebook) -> dict[str, str]:
    """Source of each solution code cell by grade_id (the first cell of a repeated id)."""
    cells = {}
    for cell in notebook.get("cells", []):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if (
            cell.get("cell_type") == "code"
            and nbgrader_meta(cell).get("solution")
            and isinstance(grade_id, str)
        ):
            cells.setdefault(grade_id, cell_source(cell))
    return cells


def _defined_functions(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _reference_functions(notebook: str, cell: str) -> list[str]:
    """Dotted names of course_lib's functions behind the exercises that ``cell`` defines:
    each exercise's reference and its equivalents (the helpers and twins that the grader also
    hides from students, so copying any of them is copying the reference)."""
    defined = _defined_functions(cell)
    return [
        dotted
        for exercise in exercises.of_notebook(notebook)
        if exercise.name in defined
        for dotted in exercise.references
    ]


def _source_of(dotted: str) -> str:
    module, _, name = dotted.rpartition(".")
    try:
        function = getattr(importlib.import_module(module), name)
        return textwrap.dedent(inspect.getsource(function))
    except (ImportError, AttributeError, OSError, TypeError) as error:
        # a registry that names a function course_lib no longer has must not stop the report
        return f"# the source of {dotted} is not available ({type(error).__name__}: {error})"


def reference_source(notebook: str, instructor_cell: str) -> str:
    """The instructor's solution cell followed by the source of course_lib's functions."""
    parts = [instructor_cell.rstrip()]
    for dotted in _reference_functions(notebook, instructor_cell):
        parts.append(f"# --- {dotted} ---\n{_source_of(dotted).rstrip()}")
    return "\n\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class SolutionCell:
    """One solution cell across the class: the texts to compare and the code to ignore."""

    label: str
    given: str
    reference: str
    students: dict[str, str]


def _solution_cells(
    submitted: dict[str, dict[str, dict[str, str]]], source_dir: Path, released_dir: Path
) -> list[SolutionCell]:
    """``submitted[notebook][student]`` are a student's solution cells by grade_id."""
    found = []
    for notebook, by_student in sorted(submitted.items()):
        instructor = _solutions(
            nbformat.read(Path(source_dir) / notebook / f"{notebook}.ipynb", as_version=4)
        )
        released_path = Path(released_dir) / f"{notebook}.ipynb"
        released = (
            _solutions(nbformat.read(released_path, as_version=4)) if released_path.exists() else {}
        )
        for grade_id, instructor_cell in instructor.items():
            found.append(
                SolutionCell(
                    label=grade_id.removesuffix("_solution"),
                    given=released.get(grade_id, ""),
                    reference=reference_source(notebook, instructor_cell),
                    students={
                        student: cells.get(grade_id, "")
                        for student, cells in sorted(by_student.items())
                    },
                )
            )
    return found


# --- comparing --------------------------------------------------------------------------------


def _boilerplate(students: list[Fingerprinted]) -> set[int]:
    """Fingerprints in more than BOILERPLATE_SHARE of the distinct cells with code of their own.

    Cells with the same fingerprints count once: otherwise a ring of copies (of a classmate or
    of a leaked solution) larger than half the class would pass for boilerplate and vanish.
    """
    written = {frozenset(cell.prints) for cell in students if cell.prints}
    if len(written) < BOILERPLATE_MIN_CELLS:
        return set()
    counts: dict[int, int] = {}
    for cell in written:
        for value in cell:
            counts[value] = counts.get(value, 0) + 1
    return {value for value, count in counts.items() if count > BOILERPLATE_SHARE * len(written)}


def compare(solution: SolutionCell) -> tuple[list[dict], dict[str, Fingerprinted]]:
    """Every pair of one solution cell (student with student, student with reference) and the
    fingerprinted cells by name, with given code and boilerplate already left out."""
    given = set(kgram_hashes(tokens(solution.given)))
    cells = {name: fingerprint(text).without(given) for name, text in solution.students.items()}
    ignored = _boilerplate(list(cells.values()))
    cells = {name: cell.without(ignored) for name, cell in cells.items()}
    cells[REFERENCE] = fingerprint(solution.reference).without(given | ignored)
    names = sorted(solution.students)
    pairs = list(itertools.combinations(names, 2)) + [(name, REFERENCE) for name in names]
    return [
        {"exercise": solution.label, "a": a, "b": b, "score": round(score(cells[a], cells[b]), 4)}
        for a, b in pairs
    ], cells


def shared_spans(cell: Fingerprinted, other: Fingerprinted) -> list[tuple[int, int]]:
    """Character spans of ``cell`` covered by fingerprints that ``other`` has too, merged."""
    spans = sorted(
        cell.spans[position]
        for value in cell.prints.keys() & other.prints.keys()
        for position in cell.prints[value]
    )
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# --- the HTML report --------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Similarity of solution cells</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 90rem; margin: 2rem auto; padding: 0 1rem;
        color: #1f2328; }}
.pair {{ border-top: 1px solid #d0d7de; margin-top: 2rem; }}
.columns {{ display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1rem; }}
.columns h3 {{ font-size: 1rem; margin: .5rem 0; }}
pre {{ background: #f6f8fa; padding: .6rem; overflow-x: auto; font-size: .85rem;
       line-height: 1.35; margin: 0; }}
mark {{ background: #fff0a8; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: .3rem .8rem; text-align: left; }}
td.score {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head><body>
<h1>Similarity of solution cells</h1>
<p>Each solution cell was compared with the reference solution and with the same cell of every
other student by token fingerprints (winnowing, as MOSS does: names, numbers and strings are
folded, so renaming hides nothing; code the notebook gives and code most of the class wrote are
ignored). This report only flags pairs for a person to read; it never changes a score.</p>
<p>{n_pairs} pairs compared; {n_flagged} scored above {threshold:g} (the share of one side's
fingerprints found in the other) and are shown below, highest first, the shared code
<mark>marked</mark>. Every pair and its score is in <code>similarity.json</code>.</p>
{contents}
{sections}
</body></html>
"""


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    parts, done = [], 0
    for start, end in spans:
        parts.append(html.escape(text[done:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        done = end
    parts.append(html.escape(text[done:]))
    return "".join(parts)


def _section(number: int, pair: dict, a: Fingerprinted, b: Fingerprinted) -> str:
    columns = "".join(
        f"<div><h3>{html.escape(name)}</h3><pre>{_marked(cell.text, shared_spans(cell, other))}"
        f"</pre></div>"
        for name, cell, other in ((pair["a"], a, b), (pair["b"], b, a))
    )
    return (
        f"<section class='pair' id='pair-{number}'><h2>{html.escape(pair['exercise'])}: "
        f"{html.escape(pair['a'])} and {html.escape(pair['b'])}, {pair['score']:.2f}</h2>"
        f"<div class='columns'>{columns}</div></section>"
    )


def _contents(flagged: list[dict]) -> str:
    rows = "".join(
        f"<tr><td><a href='#pair-{number}'>{html.escape(pair['exercise'])}</a></td>"
        f"<td>{html.escape(pair['a'])}</td><td>{html.escape(pair['b'])}</td>"
        f"<td class='score'>{pair['score']:.2f}</td></tr>"
        for number, pair in enumerate(flagged)
    )
    return (
        "<table><tr><th>solution cell</th><th>student</th><th>student or reference</th>"
        f"<th>score</th></tr>{rows}</table>"
    )


def render(pairs: list[dict], cells: dict[str, dict[str, Fingerprinted]], threshold: float) -> str:
    """The HTML page of the pairs above ``threshold``; ``cells[exercise][name]``."""
    flagged = [pair for pair in pairs if pair["score"] > threshold]
    sections = "\n".join(
        _section(
            number, pair, cells[pair["exercise"]][pair["a"]], cells[pair["exercise"]][pair["b"]]
        )
        for number, pair in enumerate(flagged)
    )
    return _PAGE.format(
        n_pairs=len(pairs),
        n_flagged=len(flagged),
        threshold=threshold,
        contents=_contents(flagged) if flagged else "",
        sections=sections or "<p>No pair is above the threshold.</p>",
    )


# --- the report -------------------------------------------------------------------------------


def _read_submissions(submissions: Path, source_dir: Path):
    """Solution cells by notebook, student and grade_id, and how many files were not notebooks."""
    from .classroom import discover  # here, not above: classroom may import this module

    submitted: dict[str, dict[str, dict[str, str]]] = {}
    skipped = 0
    for student, notebook, path in discover(Path(submissions), Path(source_dir)):
        try:
            cells = _solutions(read_notebook(path))
        except (OSError, ValueError):
            skipped += 1
            continue
        submitted.setdefault(notebook, {})[student] = cells
    return submitted, skipped


def similarity_report(
    submissions,
    out,
    *,
    source_dir=SOURCE_DIR,
    released_dir=RELEASED_DIR,
    threshold: float = THRESHOLD,
) -> str:
    """Write ``out/similarity.json`` and ``out/similarity.html``; return a one-line summary.

    Parameters
    ----------
    submissions : path
        Folder of ``<student>/<notebook>.ipynb``; notebooks of unknown assignments are ignored,
        files that are not notebooks are skipped (and counted in the summary).
    out : path
        Folder for the two reports (created if needed).
    source_dir : path
        The instructor notebooks, ``<notebook>/<notebook>.ipynb``.
    released_dir : path
        The released student notebooks, ``<notebook>.ipynb``, whose given code is ignored.
    threshold : float in [0, 1]
        Pairs scoring above it are shown in the HTML report.

    Raises
    ------
    GradingError
        If ``submissions``, ``source_dir`` or (where it exists) ``out`` is not a folder.
    """
    if not Path(source_dir).is_dir():
        raise GradingError(f"{source_dir} is not a folder (--source-dir)")
    if Path(out).exists() and not Path(out).is_dir():
        raise GradingError(f"{out} is not a folder (--out)")
    submitted, skipped = _read_submissions(submissions, source_dir)
    pairs, cells = [], {}
    for solution in _solution_cells(submitted, source_dir, released_dir):
        cell_pairs, cells[solution.label] = compare(solution)
        pairs += cell_pairs
    pairs.sort(key=lambda pair: (-pair["score"], pair["exercise"], pair["a"], pair["b"]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "similarity.json").write_text(json.dumps(pairs, indent=1) + "\n")
    (out / "similarity.html").write_text(render(pairs, cells, threshold))
    students = {student for by_student in submitted.values() for student in by_student}
    flagged = sum(pair["score"] > threshold for pair in pairs)
    note = f"; {_count(skipped, 'file')} skipped (not a notebook)" if skipped else ""
    return (
        f"similarity: {_count(len(pairs), 'pair')} of {_count(len(students), 'student')} "
        f"in {_count(len(cells), 'solution cell')} compared, {flagged} above {threshold:g}; "
        f"{out / 'similarity.html'}{note}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"

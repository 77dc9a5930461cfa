"""The audit behind ``test_quoted_figures.py``: find every figure the notebooks' prose quotes and
check that exactly one ledger entry accounts for it.

What counts as a figure (:data:`FIGURE`), in the markdown cells of a notebook's source:

* any number with a decimal point (``0.5``, ``2.05``, ``6.1.2``), in prose, code spans or LaTeX;
* any percentage (``95%``, ``1.38 %``, ``95\\%``);
* any ratio written with a multiplication sign (``3×``, ``2.5x``, ``$2\\times$``);
* any power or scientific number (``10^{-9}``, ``1e-7``, ``2^{512}``);
* any interval or range of numbers (``[0, 1)``, ``2–3``, ``486 to 538``, ``2-3 times``);
* any number with a thousands separator (``1,797``, ``100 000``);
* any integer that counts something an experiment is made of: followed, after at most one
  word, by a unit such as *seeds*, *epochs*, *images*, *units*, *parameters*, *samples*
  (``10 seeds``, ``150 epochs``, ``300 training digits``); or set with ``=`` and of two
  digits or more (``n = 1024``);
* any layer-size string (``64-256-256-10``);
* any other integer of two digits or more (``epoch 27``, ``1071``), except a year (19xx, 20xx)
  and the number of a part of the course or of a cited work (``notebook 02``, ``section 12``,
  ``§11``, ``Table 9``).

p-values are covered by the decimal (``p = 0.003``) or the interval rule. What is not a figure:
single-digit integers without a unit ("3 of 10", "two phases"), years, and the numbers of parts.

A ledger entry is either

* a **tie** (:func:`tie`): a phrase of the prose with ``{name}`` placeholders (``{{`` and ``}}``
  for LaTeX's braces, as in :meth:`str.format`), filled from a
  function that computes the numbers from the repository's code or recorded files. The filled
  phrase must occur in the prose, so a change in the code's output fails. It accounts for the
  figures whose digits all lie inside its placeholders; or
* an **exemption** (:func:`exempt`): a phrase of the prose and one of the fixed
  :data:`REASONS`, for numbers that are not measurements: the year, section or table of a cited
  work, a number quoted from a work cited with it, an example input that a code cell of the same
  section shows (checked), a mathematical identity or convention, and a value, rule or point
  count that a question or exercise sets. The phrase must hold words besides its numbers (never
  a bare number) and accounts for every figure inside it.

Each entry must match the prose exactly ``times`` times (default once): an entry that no longer
matches is stale, and a second copy of a sentence needs its own entry.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# --- what a figure is ---------------------------------------------------------------------------

_UNITS = (
    r"seeds?|epochs?|images?|digits?|units?|neurons?|samples?|runs?|networks?|minutes?|"
    r"seconds?|hours?|steps?|layers?|parameters?|weights?|passes|masks?|pixels?|classes|"
    r"features?|channels?|draws?|trials?|submissions?|batch(?:es)?|examples?|words?|"
    r"subnetworks?|iterations?|updates?|mini-batches|repeats?|repetitions?|points?|"
    r"inputs?|outputs?|rows?|columns?|times|bins?|students?|thresholds?|rates?|values?"
)
_NUMBER = r"[-−+]?\d[\d,]*(?:\.\d+)*"
FIGURE = re.compile(
    r"(?<![\w.\\^{])(?<!\w-)(?:"  # not inside a word; a minus sign may lead: -1.22
    rf"\d+(?:-\d+){{2,}}(?![\w.])"  # a layer-size string, 64-256-256-10
    rf"|[\[(]\s*{_NUMBER}\s*,\s*{_NUMBER}\s*[\])]"  # an interval [0, 1), (0.4, 0.8]
    rf"|{_NUMBER}\s*(?:%|\\%|×|x\b|\\times\b)?\s*(?:–|--|to)\s*{_NUMBER}"
    r"(?:\s*(?:%|\\%|×|x\b|\\times\b))?"  # a range 2–3×, 486 to 538
    r"|\d+(?:\.\d+)?-\d+(?:\.\d+)?(?=\s*(?:%|×|x\b|times\b))"  # 2-3 times, 10-20%
    r"|\d+\s*\^\s*\{?\s*[-−]?\s*[\d.]+\}?|\d+(?:\.\d+)?e[-+]?\d+"  # 10^{-9}, 1e-7
    rf"|{_NUMBER}\s*(?:%|\\%|×|x\b|\\times\b)"  # 95%, 3×
    r"|\d*\.\d+(?:\.\d+)*|\d{1,3}(?:[, ]\d{3})+(?![\d.])"  # 0.5, .5, 6.1.2, 1,797, 100 000
    rf"|\d+(?=\s+(?:[\w-]+\s+)?(?:{_UNITS})\b)"  # 10 seeds, 300 training digits
    r"|(?:(?<==)|(?<== ))\d{2,}(?![\d.])"  # n = 1024
    r"|(?P<bare>(?!(?:19|20)\d\d\b)\d{2,}(?![\w.,]\d|[\w-]))"  # 1071, epoch 27 (see below)
    r")"
)
#: what a bare integer may follow without being a figure: the name of a part of the course or of
#: a cited work ("notebook 02", "section 3", "§11", "Table 9"), or the notebook's own number
_NAMED = re.compile(
    r"(?:notebooks?|sections?|§|tables?|figures?|chapters?|claims?|items?|week|#)\s*$",
    re.IGNORECASE,
)

# --- the fixed reasons for which a figure in prose is not a measurement ---------------------------

CITED_YEAR = "year of a cited work"
CITED_PLACE = "section, table, figure or equation number of a cited work"
CITED_NUMBER = "a number quoted from a work cited in the same sentence"
EXAMPLE = "an example input the student sees in a code cell of its section"
MATH = "a mathematical identity, definition or convention"
TASK = "a value, rule or point count that a question or exercise sets"
REASONS = (CITED_YEAR, CITED_PLACE, CITED_NUMBER, EXAMPLE, MATH, TASK)

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Entry:
    """One line of a ledger: a tie (``numbers`` set) or an exemption (``reason`` set)."""

    phrase: str
    reason: str | None = None
    numbers: Callable[[], Mapping[str, str]] | None = None
    times: int = 1

    def filled(self) -> tuple[str, list[tuple[int, int]]]:
        """The phrase as the prose should read, and the spans of its filled placeholders."""
        if self.numbers is None:
            return self.phrase, []
        values = self.numbers()
        text, spans = "", []
        for literal, field, _, _ in string.Formatter().parse(self.phrase):
            text += literal
            if field is not None:
                value = values[field]
                spans.append((len(text), len(text) + len(value)))
                text += value
        return text, spans

    def describe(self) -> str:
        kind = f"exempt ({self.reason})" if self.reason else "tie"
        return f"{kind}: {self.phrase!r}"


def tie(phrase: str, numbers: Callable[[], Mapping[str, str]], times: int = 1) -> Entry:
    """An entry tying the figures in ``phrase``'s ``{name}`` placeholders to ``numbers()``."""
    if not _PLACEHOLDER.search(phrase):
        raise ValueError(f"a tie needs at least one {{name}} placeholder, got {phrase!r}")
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    return Entry(phrase, numbers=numbers, times=times)


def exempt(phrase: str, reason: str, times: int = 1) -> Entry:
    """An entry exempting the figures inside ``phrase`` for ``reason`` (one of REASONS)."""
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {REASONS}, got {reason!r}")
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    words = re.findall(r"[A-Za-z]{2,}", FIGURE.sub(" ", phrase))
    if sum(map(len, words)) < 6:
        raise ValueError(f"an exemption needs the words around its number, got {phrase!r}")
    return Entry(phrase, reason=reason, times=times)


# --- the notebook's prose -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    text: str  # markdown: all whitespace runs made one space


def notebook_cells(path: Path) -> list[Cell]:
    """The cells of the percent-format source ``path``, as the build reads them."""
    from autograder import build

    return [
        Cell(cell.cell_type, _flat(cell.source) if cell.cell_type == "markdown" else cell.source)
        for cell in build.parse(path).cells
    ]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Figure:
    cell: int
    start: int
    end: int
    text: str

    def digits(self) -> list[int]:
        return [self.start + i for i, char in enumerate(self.text) if char.isdigit()]


def figures(cells: Sequence[Cell]) -> list[Figure]:
    """Every figure quoted in the markdown cells."""
    return [
        Figure(index, match.start(), match.end(), match.group(0).strip())
        for index, cell in enumerate(cells)
        if cell.kind == "markdown"
        for match in FIGURE.finditer(cell.text)
        if not (match.group("bare") and _names_a_part(cell.text, match.start()))
    ]


def _names_a_part(text: str, start: int) -> bool:
    """Whether the integer at ``start`` numbers a part ("notebook 02", "Table 9")."""
    return _NAMED.search(text[max(0, start - 12) : start]) is not None


def sentence(text: str, start: int, end: int, width: int = 240) -> str:
    """The sentence of ``text`` around ``start:end``, at most about ``width`` characters."""
    left = max(text.rfind(". ", 0, start), text.rfind(": ", 0, start), start - width // 2)
    right = text.find(". ", end)
    right = len(text) if right < 0 else right + 1
    return text[max(left + 2, 0) if left > 0 else 0 : min(right, end + width // 2)].strip()


def _section_code(cells: Sequence[Cell], index: int) -> str:
    """The code cells of the section of cell ``index`` (between the section headings, ``#`` or
    ``##``, around it), and at least the next code cell."""

    def heading(cell: Cell) -> bool:
        return cell.kind == "markdown" and re.match(r"#{1,2} ", cell.text) is not None

    first = index
    while first > 0 and not heading(cells[first]):
        first -= 1
    code = [cell.text for cell in cells[first:index] if cell.kind == "code"]
    after = []
    for cell in cells[index + 1 :]:
        if heading(cell) and after:
            break
        if cell.kind == "code":
            after.append(cell.text)
    return "\n".join(code + after)


@cache
def _filled(entry: Entry) -> tuple[str, list[tuple[int, int]]]:
    return entry.filled()


def _starts(phrase: str, text: str) -> list[int]:
    """Where ``phrase`` starts in ``text``, not overlapping (as ``re.finditer`` would find)."""
    if not phrase:
        return []
    starts, start = [], text.find(phrase)
    while start >= 0:
        starts.append(start)
        start = text.find(phrase, start + len(phrase))
    return starts


def audit(name: str, cells: Sequence[Cell], ledger: Sequence[Entry]) -> list[str]:
    """Everything wrong with ``ledger`` against the notebook ``name``'s ``cells``, one message
    per problem: untied figures, figures two entries claim, entries that match the prose a
    different number of times than they say (stale or changed ties), and examples the next
    code cell does not show."""
    problems = []
    owner: dict[tuple[int, int], Entry] = {}  # (cell, character) of a digit -> its entry
    clashes: set[tuple[Entry, Entry]] = set()
    matched: set[int] = set()  # the entries found in the prose as often as they say
    for entry in ledger:
        try:
            phrase, spans = _filled(entry)
        except KeyError as error:
            problems.append(f"{name}: {entry.describe()} names no number {error}")
            continue
        matches = [
            (index, start)
            for index, cell in enumerate(cells)
            if cell.kind == "markdown" and phrase in cell.text
            for start in _starts(phrase, cell.text)
        ]
        if len(matches) != entry.times:
            where = "no longer in the prose" if not matches else f"found {len(matches)} times"
            shown = f" (the code now gives {phrase!r})" if entry.numbers else ""
            problems.append(f"{name}: {entry.describe()} is {where}, expected {entry.times}{shown}")
            continue
        matched.add(id(entry))
        for index, offset in matches:
            if entry.numbers is not None:
                claimed = [range(offset + a, offset + b) for a, b in spans]
            else:
                claimed = [range(offset, offset + len(phrase))]
            text = cells[index].text
            for span in claimed:
                for char in span:
                    if not text[char].isdigit():  # two phrases may share words, not numbers
                        continue
                    key = (index, char)
                    if (
                        key in owner
                        and owner[key] is not entry
                        and (owner[key], entry) not in clashes
                    ):
                        clashes.add((owner[key], entry))
                        problems.append(
                            f"{name}: {entry.describe()} and {owner[key].describe()} both claim "
                            f"{text[max(char - 10, 0) : char + 10]!r}"
                        )
                    owner[key] = entry
            if entry.reason == EXAMPLE:
                code = _section_code(cells, index)
                for number in FIGURE.finditer(phrase):
                    bare = re.sub(r"[^\d.]", " ", number.group(0)).split()
                    if not all(part in code for part in bare):
                        problems.append(
                            f"{name}: {entry.describe()}: {number.group(0)!r} is not in the "
                            "code cells of its section"
                        )
    exempting = set()
    for figure in figures(cells):
        keys = [(figure.cell, char) for char in figure.digits()]
        claimants = {id(owner[key]) for key in keys if key in owner}
        exempting |= claimants
        if len(claimants) == 1 and all(key in owner for key in keys):
            continue
        text = cells[figure.cell].text
        how = "is claimed by more than one entry" if len(claimants) > 1 else "is not in the ledger"
        problems.append(
            f"{name}: the figure {figure.text!r} {how}, in: "
            f"{sentence(text, figure.start, figure.end)!r}"
        )
    for entry in ledger:
        if entry.reason is not None and id(entry) in matched and id(entry) not in exempting:
            problems.append(f"{name}: {entry.describe()} holds no figure to exempt")
    return problems


# --- formats the prose uses, for the ledgers' numbers -------------------------------------------


def power_of_ten(value: float) -> str:
    """``1e-9`` as the prose writes it in LaTeX: ``10^{-9}``."""
    import math

    exponent = round(math.log10(value))
    if not math.isclose(value, 10.0**exponent):
        raise ValueError(f"value must be a power of ten, got {value}")
    return f"10^{{{exponent}}}"


def mantissa_exponent(value: float, digits: int = 1) -> tuple[str, str]:
    """``6.06e-06`` rounded to ``digits`` significant digits as ``("6", "-6")``."""
    from decimal import Decimal

    exact = Decimal(value) if isinstance(value, int) else value  # 2**1024 overflows a float
    mantissa, exponent = f"{exact:.{digits - 1}e}".split("e")
    return mantissa, str(int(exponent))


def tex_sci(value: float, digits: int = 1, sep: str = "") -> str:
    """``6.06e-06`` as the prose writes it in LaTeX: ``6\\cdot 10^{-6}``; ``sep`` goes before
    the dot."""
    mantissa, exponent = mantissa_exponent(value, digits)
    return f"{mantissa}{sep}\\cdot 10^{{{exponent}}}"


def short_sci(value: float) -> str:
    """One significant digit as the prose's code-style text writes it: ``6e-6``, ``0.1``."""
    mantissa, exponent = mantissa_exponent(value)
    return (
        f"{float(mantissa) * 10 ** int(exponent):g}"
        if int(exponent) >= -1
        else (f"{mantissa}e{exponent}")
    )

"""The targets of ``make bench`` in one table, measured in one run.

Each benchmark prints its own measurements and, for every measure that has a target, calls
:func:`record`. When the environment variable :data:`SUMMARY_ENV` names a file (``make bench``
sets it), the record is appended to that file as one JSON line; run alone, a benchmark records
nothing. At the end of ``make bench``, ``python benchmarks/targets.py FILE`` prints every record
as one table: the measure, its target, what was measured and whether the target was met, with
the load average of the machine when it was measured (timings on a shared machine vary with it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SUMMARY_ENV = "BENCH_TARGETS"


def load_average() -> str:
    """The one-minute load average, or ``"?"`` where the system does not say."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def record(measure: str, measured: str, target: str, met: bool | None) -> None:
    """Append one measure to the summary file named by :data:`SUMMARY_ENV`, if any.

    ``met`` is ``None`` when the measure could not be taken (PyTorch not installed, say);
    ``measured`` then says why.
    """
    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    line = {
        "measure": measure,
        "target": target,
        "measured": measured,
        "met": met,
        "load": load_average(),
    }
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")


def table(records: list[dict]) -> str:
    """The records as a plain-text table, one line each, and a last line counting the met."""
    verdicts = {True: "met", False: "NOT met", None: "not measured"}
    columns = ("measure", "target", "measured")
    widths = [max([len(key)] + [len(str(row[key])) for row in records]) for key in columns]
    lines = ["  ".join(f"{key:{width}s}" for key, width in zip(columns, widths)) + "  verdict"]
    for row in records:
        cells = "  ".join(f"{row[key]:{width}s}" for key, width in zip(columns, widths))
        lines.append(f"{cells}  {verdicts[row['met']]} (load {row['load']})")
    met = sum(row["met"] is True for row in records)
    taken = sum(row["met"] is not None for row in records)
    lines.append(f"{met} of {taken} measured targets met ({len(records) - taken} not measured)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Print the targets that make bench measured.")
    parser.add_argument("path", type=Path, help="the file the benchmarks recorded into")
    args = parser.parse_args(argv)
    if not args.path.exists():
        print(f"{args.path}: no benchmark recorded anything", file=sys.stderr)
        return 1
    lines = args.path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    print("\nmake bench, every target in one run:")
    print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())

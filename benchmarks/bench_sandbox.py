"""What the sandbox and the skipped demonstration cells cost or save, per notebook.

Grades the instructor's solution of every notebook, one kernel after another, in four ways:

* before: no sandbox, the full course library, every cell run (grading as it was);
* all cells: the sandbox and the grading copy, every cell run;
* unsandboxed: the grading copy, demonstration cells skipped, no sandbox;
* now: the sandbox, the grading copy, demonstration cells skipped (what ``grade`` does).

and prints the median of ``--repeats`` runs of each, with the ratios that matter: the sandbox's
overhead (now / unsandboxed) and what skipping demonstrations saves (all cells / now).

    python benchmarks/bench_sandbox.py [--repeats 3] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from autograder import build  # noqa: E402
from autograder.assemble import assemble  # noqa: E402
from autograder.grading import grade_plan  # noqa: E402
from grading_helpers import instructor, submission  # noqa: E402

WAYS = {  # name: (sandboxed, the grading copy, skip demonstration cells)
    "before": (False, False, False),
    "all cells": (True, True, False),
    "unsandboxed": (False, True, True),
    "now": (True, True, True),
}


def grade_once(name: str, sandboxed: bool, grading_copy: bool, skip_demos: bool) -> float:
    plan = assemble(instructor(name), submission(name, correct=True), skip_demos=skip_demos)
    started = time.perf_counter()
    tests = grade_plan(
        plan, notebook=name, seed=1, sandboxed=sandboxed, copy=None if grading_copy else ROOT
    )
    seconds = time.perf_counter() - started
    if any(test["status"] != "passed" for test in tests):
        raise RuntimeError(f"{name}: the instructor's solution did not pass: {tests}")
    return seconds


def main(argv=None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("notebooks", nargs="*", default=build.names())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    medians: dict[str, dict[str, float]] = {}
    print(f"median of {args.repeats} gradings of each instructor solution, in seconds")
    print(
        f"{'notebook':24s}"
        + "".join(f"{way:>13s}" for way in WAYS)
        + "   sandbox overhead   skipping saves"
    )
    for name in args.notebooks:
        grade_once(name, *WAYS["now"])  # builds the grading copy, warms the caches
        times = {way: [] for way in WAYS}
        for _ in range(args.repeats):
            for way, settings in WAYS.items():  # interleaved, so load changes hit all alike
                times[way].append(grade_once(name, *settings))
        medians[name] = {way: statistics.median(values) for way, values in times.items()}
        row = medians[name]
        print(
            f"{name:24s}"
            + "".join(f"{row[way]:13.2f}" for way in WAYS)
            + f"   {row['now'] / row['unsandboxed']:16.2f}x"
            + f"   {row['all cells'] / row['now']:13.2f}x"
        )
    return medians


if __name__ == "__main__":
    main()

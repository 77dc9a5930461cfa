"""The results files that the notebooks load: what every one of them opens with, and the pieces
that every recording script shares.

Long computations behind the notebooks (notebook 01's guided experiment, 05's noise experiment,
07's sweeps, the README's comparison) are run once by a script and stored as JSON beside the
code that reads them. Each file opens with the same header (:func:`record_header`): the command
that wrote it, the versions it was made with, when, and how long it took. Settings are frozen
dataclasses stored as plain JSON (:func:`settings_dict`, :func:`settings_from`), files are read
with :func:`read_record` and, when their runs are grouped by configuration, written one run per
line with :func:`write_results`, and a recording prints one line per finished job
(:func:`progress_printer`, for :func:`course_lib.experiments.run_jobs`).
"""

from __future__ import annotations

import json
import numbers
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ._validate import ArgumentTypeError

#: the entries :func:`record_header` writes after the command, which nothing may replace
HEADER_ENTRIES = ("course_lib_version", "numpy_version", "python_version", "created", "seconds")


def record_header(
    command: str, started: float, *, key: str = "generator", created: bool = True, **extra
) -> dict:
    """The opening entries of a results file, in the order every file has them.

    ``key: command`` (the command that wrote the file), ``course_lib_version``,
    ``numpy_version`` and ``python_version``, ``created`` (UTC, to the second; left out when
    ``created`` is False), ``seconds`` (the wall time since ``started``, a
    :func:`time.perf_counter` reading, to 0.1 s), then ``extra`` in the order given.

    Parameters
    ----------
    command : str
        The command line that reproduces the file.
    started : float
        ``time.perf_counter()`` when the recording began.
    key : str
        The name of the first entry (``"generator"``, or ``"command"`` for the README's record);
        not one of :data:`HEADER_ENTRIES`.
    created : bool
    **extra
        Further entries (``training_seconds``, ``recipe``, ``workers``, ...); none named
        ``key`` or one of :data:`HEADER_ENTRIES`.

    Returns
    -------
    dict, in insertion order (the order :func:`json.dumps` writes)
    """
    from . import __version__

    if not isinstance(key, str):
        raise ArgumentTypeError(f"key must be a str, got {type(key).__name__}")
    if key in HEADER_ENTRIES:
        raise ValueError(
            f"key must not be one of the header's own entries {HEADER_ENTRIES}, got {key!r}"
        )
    clashes = [name for name in extra if name in HEADER_ENTRIES or name == key]
    if clashes:
        raise ValueError(
            f"extra entries must not replace the command ({key!r}) or the header's own entries "
            f"{HEADER_ENTRIES}, got {clashes}"
        )

    header: dict[str, object] = {
        key: command,
        "course_lib_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }
    if created:
        header["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    header["seconds"] = round(time.perf_counter() - started, 1)
    header.update(extra)
    return header


def settings_dict(settings) -> dict:
    """A settings dataclass as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(asdict(settings)))


def settings_from(settings_class, stored: Mapping):
    """The settings dataclass ``settings_class`` from its JSON form (lists become tuples):
    the inverse of :func:`settings_dict`.

    ``stored`` must be a mapping whose keys are fields of ``settings_class``, with every field
    that has no default among them.
    """
    # read as is_dataclass reads it, without narrowing the type of what this returns
    if not (isinstance(settings_class, type) and hasattr(settings_class, "__dataclass_fields__")):
        raise ArgumentTypeError(
            f"settings_class must be a dataclass (a class), got {settings_class!r}"
        )
    if not isinstance(stored, Mapping):
        raise ArgumentTypeError(
            f"stored must be a mapping {{field: value}} (what settings_dict returns), "
            f"got {type(stored).__name__}"
        )
    names = {field.name for field in fields(settings_class) if field.init}
    unknown = [name for name in stored if name not in names]
    if unknown:
        raise ValueError(
            f"stored must hold fields of {settings_class.__name__} ({', '.join(sorted(names))}), "
            f"got also {unknown}"
        )
    missing = [
        field.name
        for field in fields(settings_class)
        if field.init
        and field.default is MISSING
        and field.default_factory is MISSING
        and field.name not in stored
    ]
    if missing:
        raise ValueError(
            f"stored must hold every field of {settings_class.__name__} that has no default, "
            f"missing {missing}"
        )
    return settings_class(
        **{
            name: tuple(value) if isinstance(value, list) else value
            for name, value in stored.items()
        }
    )


def read_record(path) -> dict:
    """A results file, as written (JSON)."""
    return json.loads(Path(path).read_text())


def write_results(results: Mapping, path) -> None:
    """Write results whose ``"runs"`` are ``{key: [run, ...]}`` as JSON with one run per line,
    so that a diff of a new recording stays readable: the layout of notebook 05's and 07's
    files. Every other entry is indented JSON.

    ``results`` must be a mapping; its ``"runs"``, if any, a mapping whose values are lists (or
    tuples) of runs.
    """
    if not isinstance(results, Mapping):
        raise ArgumentTypeError(f"results must be a mapping, got {type(results).__name__}")
    runs = results.get("runs", {})
    if not isinstance(runs, Mapping):
        raise ArgumentTypeError(
            f"results['runs'] must be a mapping {{key: [run, ...]}}, got {type(runs).__name__}"
        )
    for key, seeds in runs.items():
        if not isinstance(seeds, (list, tuple)):
            raise ArgumentTypeError(
                f"results['runs'][{key!r}] must be a list of runs, got {type(seeds).__name__}"
            )

    def runs_text(runs: Mapping) -> str:
        blocks = []
        for key, seeds in runs.items():
            lines = ",\n".join("    " + json.dumps(run, separators=(",", ":")) for run in seeds)
            blocks.append(f"   {json.dumps(key)}: [\n{lines}\n   ]")
        return "{\n" + ",\n".join(blocks) + "\n  }"

    fields = [
        f"  {json.dumps(name)}: "
        + (
            runs_text(value)
            if name == "runs"
            else json.dumps(value, indent=1).replace("\n", "\n  ")
        )
        for name, value in results.items()
    ]
    Path(path).write_text("{\n" + ",\n".join(fields) + "\n}\n")


def progress_printer(labels: Sequence[str], started: float, *, enabled: bool = True):
    """An ``on_done(index, done)`` for :func:`course_lib.experiments.run_jobs` that prints
    ``[done/total]  seconds  label`` to stderr as each job finishes (nothing if not
    ``enabled``); ``labels[index]`` names job ``index``, so ``index`` must be in
    ``[0, len(labels))``."""
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise ArgumentTypeError(
            f"labels must be a sequence of str, one per job, got {type(labels).__name__}"
        )

    def report(index: int, done: int) -> None:
        if not (isinstance(index, numbers.Integral) and 0 <= index < len(labels)):
            raise ValueError(
                f"index must be an integer in [0, {len(labels) - 1}] (one of the "
                f"{len(labels)} labels), got {index!r}"
            )
        if enabled:
            print(
                f"[{done}/{len(labels)}] {time.perf_counter() - started:6.0f} s  {labels[index]}",
                file=sys.stderr,
                flush=True,
            )

    return report

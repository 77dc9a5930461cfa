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
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


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
        The name of the first entry (``"generator"``, or ``"command"`` for the README's record).
    created : bool
    **extra
        Further entries (``training_seconds``, ``recipe``, ``workers``, ...).

    Returns
    -------
    dict, in insertion order (the order :func:`json.dumps` writes)
    """
    from . import __version__

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
    the inverse of :func:`settings_dict`."""
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
    files. Every other entry is indented JSON."""

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
    ``enabled``); ``labels[index]`` names job ``index``."""

    def report(index: int, done: int) -> None:
        if enabled:
            print(
                f"[{done}/{len(labels)}] {time.perf_counter() - started:6.0f} s  {labels[index]}",
                file=sys.stderr,
                flush=True,
            )

    return report

"""course_lib.records: the header every results file opens with, settings stored as JSON, and
the recording scripts' progress lines; and the committed results files, which the scripts'
writers must write back exactly as they are. (That each script's header has its committed
file's keys, in order, is tested with each script's round trip.)"""

import json
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pytest

import course_lib
from course_lib import experiments, records
from course_lib.lessons import nb01_intuition, nb05_noise_experiment, nb07_capstone

PROVENANCE = ["course_lib_version", "numpy_version", "python_version"]


def test_record_header_opens_with_the_command_then_the_versions_then_the_times():
    started = time.perf_counter() - 2.04
    header = records.record_header("python -m x", started, recipe="r", training_seconds=5.0)
    assert list(header) == [
        "generator",
        *PROVENANCE,
        "created",
        "seconds",
        "recipe",
        "training_seconds",
    ]
    assert header["generator"] == "python -m x" and header["recipe"] == "r"
    assert header["course_lib_version"] == course_lib.__version__
    assert header["numpy_version"] == np.__version__
    assert header["python_version"] == platform.python_version()
    assert 2.0 <= header["seconds"] < 60 and header["seconds"] == round(header["seconds"], 1)
    created = datetime.fromisoformat(header["created"])
    assert created.tzinfo is not None and abs(datetime.now(UTC) - created).total_seconds() < 60
    plain = records.record_header("c", time.perf_counter(), key="command", created=False, workers=2)
    assert list(plain) == ["command", *PROVENANCE, "seconds", "workers"]


@pytest.mark.parametrize(
    "settings",
    [
        nb01_intuition.ExperimentSettings(),
        nb05_noise_experiment.Settings(),
        nb07_capstone.Settings(),
        nb07_capstone.Settings(seeds=(3, 4), p_drops=(0.5,)),
    ],
)
def test_settings_survive_json(settings):
    stored = json.loads(json.dumps(records.settings_dict(settings)))
    assert stored == records.settings_dict(settings)
    assert all(not isinstance(value, tuple) for value in stored.values())
    assert records.settings_from(type(settings), stored) == settings


def test_progress_printer_names_each_finished_job(capsys):
    report = records.progress_printer(["first job", "second job"], time.perf_counter())
    report(1, 1)
    report(0, 2)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("[1/2]") and lines[0].endswith("s  second job")
    assert lines[1].startswith("[2/2]") and lines[1].endswith("s  first job")
    records.progress_printer(["a"], time.perf_counter(), enabled=False)(0, 1)
    assert capsys.readouterr().err == ""


# --- the committed results files ----------------------------------------------------------------


def test_the_committed_files_are_written_back_byte_for_byte():
    """Each recording script's writer turns the record it loads into the same bytes."""
    for path, write in (
        (nb01_intuition.RECORD_PATH, nb01_intuition.save_record),
        (nb05_noise_experiment.RESULTS_PATH, nb05_noise_experiment.save_results),
        (nb07_capstone.RESULTS_PATH, nb07_capstone.save_results),
        (experiments.RECORD_PATH, experiments.write_record),
    ):
        text = path.read_text()
        record = records.read_record(path)
        written = path.with_name("again.json")
        try:
            write(record, written)
            assert written.read_text() == text, path.name
        finally:
            written.unlink(missing_ok=True)


# --- bad arguments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    seeds: tuple = (0, 1)
    epochs: int = 3


@dataclass(frozen=True)
class _Required:
    n_train: int


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: records.record_header("c", time.perf_counter(), key="seconds"),
            r"key must not be one of the header's own entries .*got 'seconds'",
        ),
        (
            lambda: records.record_header("c", time.perf_counter(), seconds=1.0),
            r"extra entries must not replace the command \('generator'\) or the header's own "
            r"entries .*got \['seconds'\]",
        ),
        (
            lambda: records.record_header("c", time.perf_counter(), key="recipe", recipe="r"),
            r"extra entries must not replace the command \('recipe'\) .*got \['recipe'\]",
        ),
        (
            lambda: records.settings_from(_Settings, None),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"stored must be a mapping \{field: value\} .*got NoneType",
        ),
        (
            lambda: records.settings_from(_Settings, {"seeds": [0], "epoch": 3}),
            r"stored must hold fields of _Settings \(epochs, seeds\), got also \['epoch'\]",
        ),
        (
            lambda: records.settings_from(_Required, {}),
            r"stored must hold every field of _Required that has no default, missing \['n_train'\]",
        ),
        (
            lambda: records.settings_from(dict, {}),
            r"settings_class must be a dataclass",
        ),
        (
            lambda: records.write_results({"runs": [1, 2]}, "unused.json"),
            r"results\['runs'\] must be a mapping \{key: \[run, \.\.\.\]\}, got list",
        ),
        (
            lambda: records.write_results({"runs": {"a": 1}}, "unused.json"),
            r"results\['runs'\]\['a'\] must be a list of runs, got int",
        ),
        (
            lambda: records.progress_printer(["a", "b"], time.perf_counter())(2, 3),
            r"index must be an integer in \[0, 1\] \(one of the 2 labels\), got 2",
        ),
        (
            lambda: records.progress_printer(["a", "b"], 0.0, enabled=False)(-1, 1),
            r"index must be an integer in \[0, 1\]",
        ),
        (
            lambda: records.progress_printer("ab", time.perf_counter()),
            r"labels must be a sequence of str, one per job, got str",
        ),
    ],
)
def test_bad_arguments_are_named(call, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written, and surely not in the repository
    with pytest.raises(ValueError, match=pattern):
        call()
    assert not list(tmp_path.iterdir())


def test_settings_from_fills_in_defaults_and_makes_lists_tuples():
    assert records.settings_from(_Settings, {"seeds": [3]}) == _Settings(seeds=(3,))

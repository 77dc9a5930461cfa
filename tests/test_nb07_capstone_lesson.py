"""Notebook 07's lesson module: the shipped results file (its provenance, recomputed), the
computations the notebook reads from it, and every widget callback."""

import json
import math
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from scipy import stats as scipy_stats

import course_lib
from course_lib.experiments import train_run
from course_lib.lessons import nb07_capstone as capstone
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import assert_redraws_in_place

matplotlib.use("Agg")

NOTEBOOK_SOURCE = (
    Path(__file__).resolve().parents[1] / "autograder" / "course" / "src" / "07_capstone.py"
)
N_TEST = 500


@pytest.fixture(scope="module")
def results():
    return capstone.load_results()


# --- provenance of the shipped results ------------------------------------------------------


def test_results_file_records_where_it_came_from(results):
    assert (
        results["generator"] == capstone.GENERATOR == "python -m course_lib.lessons.nb07_capstone"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", results["course_lib_version"])
    assert results["course_lib_version"] == course_lib.__version__
    assert results["numpy_version"] and results["created"] and results["seconds"] > 0
    assert results["training_seconds"] == pytest.approx(
        sum(run["seconds"] for runs in results["runs"].values() for run in runs), abs=0.1
    )
    assert "SeedSequence(seed).spawn(3)" in results["recipe"]


def test_results_file_settings_are_the_generators_defaults(results):
    assert results["settings"] == capstone.settings_dict(capstone.Settings())
    assert capstone.settings_of(results) == capstone.Settings()


def test_results_file_holds_exactly_the_generators_plan(results):
    plan = capstone.experiments(capstone.Settings())
    assert results["experiments"] == {
        name: {label: capstone.config_key(config) for label, config in table.items()}
        for name, table in plan.items()
    }
    keys = {capstone.config_key(c) for table in plan.values() for c in table.values()}
    assert set(results["configs"]) == set(results["runs"]) == keys
    for key, runs in results["runs"].items():
        assert json.loads(key) == results["configs"][key]
        assert [run["seed"] for run in runs] == list(capstone.Settings().seeds)
        for run in runs:
            assert 0.0 <= run["test_error"] <= 1.0
            assert len(run["val_mistakes"]) == results["configs"][key]["epochs"]
            # test errors are whole numbers of test images
            assert abs(run["test_error"] * N_TEST - round(run["test_error"] * N_TEST)) < 1e-9


def _cheapest(results):
    """The stored run that is quickest to retrain: the smallest net on the fewest steps."""
    key = results["experiments"]["p_drop_fixed_product"]["0"]
    return results["configs"][key], results["runs"][key][0]


def test_a_stored_run_is_recomputed_by_the_generators_own_function(results):
    """Provenance: retrain one stored configuration (the narrowest net: 128 units, no dropout)
    with the generator's train_run and compare. Tolerance: float32 results may differ between
    BLAS builds and thread counts, which can flip a nearly tied test image; allow 2 of the 500
    test images, 2 validation images in any epoch, and 1e-3 in activation fractions."""
    config, stored = _cheapest(results)
    again = train_run(config, stored["seed"], near_zero=capstone.settings_of(results).near_zero)
    assert abs(again["test_error"] - stored["test_error"]) <= 2 / N_TEST + 1e-12
    assert again["n_val"] == stored["n_val"]
    assert np.max(np.abs(np.subtract(again["val_mistakes"], stored["val_mistakes"]))) <= 2
    for new, old in zip(again["activations"]["layers"], stored["activations"]["layers"]):
        assert abs(new["zero"] - old["zero"]) <= 1e-3
        assert abs(new["mean"] - old["mean"]) <= 1e-3 * max(1.0, old["mean"])


def test_save_and_load_round_trip(tmp_path):
    settings = capstone.Settings(
        seeds=(0,),
        epochs=1,
        p_drops=(0.0, 0.5),
        data_sizes=(50,),
        regularizer_n_train=50,
        weight_decays=(1e-3,),
        max_norms=(2.0,),
        hidden=16,
        kept_units=8,
    )
    results = capstone.compute_results(settings)
    path = tmp_path / "results.json"
    capstone.save_results(results, path)
    assert capstone.load_results(path) == json.loads(json.dumps(results))
    assert capstone.settings_of(capstone.load_results(path)) == settings
    # the header (course_lib.records.record_header) has the committed file's keys, in order
    assert list(results) == list(capstone.load_results())


# --- the computations -----------------------------------------------------------------------


def test_settings_give_every_data_size_the_same_number_of_steps():
    settings = capstone.Settings()
    assert settings.steps == 1500
    assert settings.epochs_for(1000) == 150
    assert settings.epochs_for(300) == 500
    assert settings.epochs_for(50) == 1500


def test_regularizer_table_picks_each_familys_best_validation_strength(results):
    table = capstone.regularizer_table(results)
    last = results["settings"]["smoothing"]
    assert [row["family"] for row in table] == [
        "none",
        "dropout",
        "L2",
        "max-norm",
        "dropout + L2",
        "dropout + max-norm",
    ]
    for row in table:
        options = {
            strength: capstone.runs_of(
                results,
                "regularizers",
                f"{row['family']}/{strength}" if strength else row["family"],
            )
            for strength in row["candidates"]
        }
        vals = {
            s: np.mean([np.mean(r["val_mistakes"][-last:]) / r["n_val"] for r in runs])
            for s, runs in options.items()
        }
        assert vals[row["strength"]] == min(vals.values())


def _flat(text: str) -> str:
    """The source without the ``# `` of its markdown lines and with all whitespace one space, so
    that a phrase broken over two lines is still found."""
    return re.sub(r"\s+", " ", re.sub(r"(?m)^\s*# ?", "", text))


def test_the_numbers_quoted_in_the_notebook_are_the_shipped_results(results):
    """If the results file is regenerated, the prose must be updated with it: every number of
    key_numbers (means with their t-intervals, paired differences with their p-values, medians
    and censored runs) appears, phrase for phrase, in the notebook."""
    text = _flat(NOTEBOOK_SOURCE.read_text())
    numbers = capstone.key_numbers(results)
    missing = {name: value for name, value in numbers.items() if value not in text}
    assert not missing, f"numbers of the results file not quoted in the notebook: {missing}"


# --- the widget callbacks -------------------------------------------------------------------


def test_overview_figure_follows_the_dropdown(results):
    pictures = [
        figure_pixels(capstone.draw_experiment(results, name)) for name in capstone.EXPERIMENTS
    ]
    for i, first in enumerate(pictures):
        for second in pictures[i + 1 :]:
            assert first.shape != second.shape or not np.array_equal(first, second)
    with pytest.raises(ValueError, match="experiment must be one of"):
        capstone.draw_experiment(results, "6. something else")


def test_sparsity_figure_follows_p_drop_and_layer(results):
    first = figure_pixels(capstone.draw_sparsity(results, 0.2, 1))
    assert not np.array_equal(first, figure_pixels(capstone.draw_sparsity(results, 0.8, 1)))
    assert not np.array_equal(first, figure_pixels(capstone.draw_sparsity(results, 0.2, 2)))


def test_convergence_figure_follows_the_threshold(results):
    pictures = [figure_pixels(capstone.draw_convergence(results, t)) for t in (0.02, 0.03, 0.05)]
    assert not np.array_equal(pictures[0], pictures[1])
    assert not np.array_equal(pictures[1], pictures[2])


@pytest.mark.parametrize("before, after", [((0.2, 1), (0.8, 1)), ((0.2, 1), (0.5, 2))])
def test_sparsity_redraws_in_place_as_a_fresh_figure(results, before, after):
    names = ("p_drop", "layer")
    assert_redraws_in_place(
        capstone.draw_sparsity,
        {"results": results, **dict(zip(names, before))},
        {"results": results, **dict(zip(names, after))},
    )


@pytest.mark.parametrize("before, after", [(0.03, 0.015), (0.02, 0.06)])
def test_convergence_redraws_in_place_as_a_fresh_figure(results, before, after):
    assert_redraws_in_place(
        capstone.draw_convergence,
        {"results": results, "threshold": before},
        {"results": results, "threshold": after},
    )


def test_convergence_table_never_reached_is_nan(results):
    table = capstone.convergence_table(results, 0.0)
    assert np.isnan(table["reach"]).all()
    table = capstone.convergence_table(results, 1.0)
    assert (table["reach"] == 1).all()


def test_convergence_table_marks_the_runs_the_budget_cut_off(results):
    table = capstone.convergence_table(results, 0.0)
    assert table["censored_reach"].all()
    assert (table["censored_reach"] == np.isnan(table["reach"])).all()
    epochs, window = results["settings"]["epochs"], results["settings"]["smoothing"]
    assert (table["censored_best"] == (table["best"] > epochs - window)).all()
    assert table["epochs"] == epochs


def test_censored_median():
    assert capstone.censored_median([3, 5, 150, 7], [False, False, True, False]) == 6.0
    assert capstone.censored_median([9, 1, 5], [False] * 3) == 5.0
    assert capstone.censored_median([1, 2, 3, 4], [False, False, False, True]) == 2.5
    assert math.isinf(capstone.censored_median([1, 2, 3, 4], [False, False, True, True]))
    assert math.isinf(capstone.censored_median([3, 150, 150], [False, True, True]))
    with pytest.raises(ValueError, match="at least one value"):
        capstone.censored_median([], [])


# --- statistics as the notebook quotes them ---------------------------------------------------


def test_interval_and_paired_texts_are_scipys_numbers():
    a = np.array([0.026, 0.020, 0.030, 0.024, 0.022])
    b = np.array([0.020, 0.018, 0.022, 0.020, 0.016])
    low, high = scipy_stats.t.interval(0.95, 4, loc=a.mean(), scale=scipy_stats.sem(a))
    assert capstone.interval_text(a) == (
        f"{100 * a.mean():.2f}% (95% t-interval {100 * low:.2f}% to {100 * high:.2f}%, df = 4)"
    )
    test = scipy_stats.ttest_rel(a, b)
    interval = test.confidence_interval(0.95)
    assert capstone.paired_text(a, b) == (
        f"{100 * (a - b).mean():.2f} pp (95% t-interval {100 * interval.low:.2f} to "
        f"{100 * interval.high:.2f} pp, df = 4, p = {test.pvalue:.2g})"
    )
    assert capstone.p_text(0.0004) == "p < 0.001"
    assert capstone.p_text(0.0123) == "p = 0.012"


def test_the_rate_of_claim_1_is_chosen_on_the_validation_set(results):
    sweep = capstone.p_drop_sweep(results)
    last = results["settings"]["smoothing"]
    for name in ("fixed_n", "fixed_product"):
        choice = capstone.validation_choice(results, name)
        experiment = f"p_drop_{name}"
        by_hand = [
            np.mean(
                [
                    np.mean(run["val_mistakes"][-last:]) / run["n_val"]
                    for run in capstone.runs_of(results, experiment, label)
                ]
            )
            for label in results["experiments"][experiment]
        ]
        assert choice["index"] == int(np.argmin(by_hand))
        assert choice["p_drop"] == sweep["p_drops"][choice["index"]]
        np.testing.assert_array_equal(choice["test"], sweep[name][choice["index"]])
        assert choice["test_choice"] == sweep["p_drops"][np.argmin(sweep[name].mean(axis=1))]
        assert choice["defensible"][choice["index"]]


# --- the recording: parallel and resumed recordings give the sequential one -------------------

TINY = capstone.Settings(
    seeds=(0, 1),
    epochs=2,
    p_drops=(0.0, 0.5),
    data_sizes=(50,),
    regularizer_n_train=50,
    weight_decays=(1e-3,),
    max_norms=(2.0,),
    hidden=16,
    kept_units=8,
)


def _runs_without_timings(results):
    runs = json.loads(json.dumps(results["runs"]))
    for seeds in runs.values():
        for run in seeds:
            del run["seconds"]
    return runs


@pytest.mark.slow
def test_workers_and_checkpoints_do_not_change_the_results(tmp_path):
    sequential = capstone.compute_results(TINY)
    parallel = capstone.compute_results(TINY, workers=2)
    assert _runs_without_timings(parallel) == _runs_without_timings(sequential)
    assert list(parallel["runs"]) == list(sequential["runs"])
    checkpoint = tmp_path / "runs.jsonl"
    first = capstone.compute_results(TINY, checkpoint=checkpoint)
    lines = checkpoint.read_text().splitlines()
    assert len(lines) == sum(len(seeds) for seeds in first["runs"].values())
    # a recording stopped after 3 runs, one line cut short, resumes with the same runs
    checkpoint.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    resumed = capstone.compute_results(TINY, checkpoint=checkpoint)
    assert _runs_without_timings(resumed) == _runs_without_timings(sequential)
    assert len(checkpoint.read_text().splitlines()) == len(lines) + 1  # 3 kept, 1 cut, rest new


def test_workers_must_be_at_least_one():
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        capstone.compute_results(TINY, workers=0)

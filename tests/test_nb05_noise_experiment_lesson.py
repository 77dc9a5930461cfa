"""Notebook 05's measured experiment (Bernoulli against Gaussian noise on the digits): the record
is what its generator computes, the rates were chosen on validation data only, and the notebook
quotes the record's numbers."""

import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from course_lib.lessons import nb05_noise_experiment as experiment
from test_prose import source

matplotlib.use("Agg")

N_TEST = 500


@pytest.fixture(scope="module")
def results():
    return experiment.load_results()


def test_the_record_holds_the_generators_plan(results):
    settings = experiment.settings_of(results)
    assert settings == experiment.Settings()
    assert results["generator"] == experiment.GENERATOR
    assert results["configs"] == json.loads(json.dumps(experiment.plan(settings)))
    for label, runs in results["runs"].items():
        assert [run["seed"] for run in runs] == list(settings.seeds), label
        for run in runs:
            assert len(run["val_mistakes"]) == settings.epochs
            if "test_error" in run:  # whole numbers of the 500 test images
                assert abs(run["test_error"] * N_TEST - round(run["test_error"] * N_TEST)) < 1e-9


def test_rates_are_chosen_on_validation_and_only_the_chosen_have_a_test_error(results):
    settings = experiment.settings_of(results)
    assert results["chosen"] == experiment.chosen_labels(results["runs"], settings)
    table = experiment.validation_table(results)
    for noise in settings.noises:
        label = results["chosen"][noise]
        assert label == f"{noise}/{settings.p_drops[int(np.argmin(table[noise]))]:g}"
    for label, runs in results["runs"].items():
        looked_at = label in results["chosen"].values()
        assert all(("test_error" in run) == looked_at for run in runs), label


def test_a_recorded_run_is_recomputed_exactly():
    """Provenance: retrain one recorded configuration that uses the new noise (Gaussian, seed 0,
    its chosen rate) with the generator's own function. One BLAS thread and float32 on the
    machine that recorded it give the same numbers bit for bit."""
    results = experiment.load_results()
    label = results["chosen"]["gaussian"]
    stored = results["runs"][label][0]
    again = experiment.run_one(results["configs"][label], stored["seed"])
    for name in ("test_error", "val_mistakes", "n_val", "final_train_error"):
        assert again[name] == stored[name], name


def test_save_and_load_round_trip(tmp_path):
    settings = experiment.Settings(seeds=(0, 1), n_train=30, hidden=(8,), epochs=2)
    results = experiment.compute_results(settings, workers=2)
    path = tmp_path / "results.json"
    experiment.save_results(results, path)
    assert experiment.load_results(path) == json.loads(json.dumps(results))
    assert experiment.settings_of(experiment.load_results(path)) == settings
    # the header (course_lib.records.record_header) has the committed file's keys, in order
    assert list(results) == list(experiment.load_results())
    assert set(experiment.key_numbers(results)) >= {"bernoulli_vs_gaussian_p", "none_test"}


def test_comparisons_are_scipys_paired_t_tests_with_the_seed_counts(results):
    from scipy import stats

    errors = experiment.test_errors(results)
    for a, b in experiment.COMPARISONS:
        result = experiment.comparisons(results)[f"{a} - {b}"]
        differences = errors[a] - errors[b]
        n = differences.size
        test = stats.ttest_rel(errors[a], errors[b])
        interval = test.confidence_interval(0.95)
        assert result["df"] == n - 1
        assert (result["low"], result["high"]) == pytest.approx((interval.low, interval.high))
        assert result["p_value"] == pytest.approx(test.pvalue, rel=1e-9)
        assert result["a_higher"] == int(np.sum(differences > 0))
        assert result["a_lower"] == int(np.sum(differences < 0))


def test_the_notebook_quotes_the_record(results):
    """If the record is regenerated, the prose must be updated with it."""
    n = experiment.key_numbers(results)
    text = source("05")
    quoted = [
        f"No dropout errs on {n['none_test']} of the test digits, Bernoulli dropout at "
        f"`p_drop` {n['bernoulli_rate']} on {n['bernoulli_test']}, Gaussian dropout at "
        f"`p_drop` {n['gaussian_rate']} on {n['gaussian_test']}",
        f"higher by {n['none_vs_bernoulli_mean']} points than with Bernoulli dropout (95% "
        f"interval [{n['none_vs_bernoulli_low']}, {n['none_vs_bernoulli_high']}], "
        f"{n['none_vs_bernoulli_df']} degrees of freedom, p = {n['none_vs_bernoulli_p']})",
        f"by {n['none_vs_gaussian_mean']} than with Gaussian dropout "
        f"([{n['none_vs_gaussian_low']}, {n['none_vs_gaussian_high']}], "
        f"p = {n['none_vs_gaussian_p']})",
        f"Bernoulli minus Gaussian is {n['bernoulli_vs_gaussian_mean']} points "
        f"([{n['bernoulli_vs_gaussian_low']}, {n['bernoulli_vs_gaussian_high']}], "
        f"p = {n['bernoulli_vs_gaussian_p']})",
        f"lower on {n['bernoulli_vs_gaussian_lower']} seeds, higher on "
        f"{n['bernoulli_vs_gaussian_higher']}, tied on {n['bernoulli_vs_gaussian_ties']}",
        f"{n['bernoulli_val']} for each at its chosen rate",
        f"with {n['n_seeds']} seeds",
        f"from {n['n_train']} training digits",
    ]
    missing = [phrase for phrase in quoted if phrase not in text]
    assert not missing, missing
    assert n["bernoulli_val"] == n["gaussian_val"]  # the prose says validation could not tell
    comparison = experiment.comparisons(results)["bernoulli - gaussian"]
    assert comparison["p_value"] < 0.05 / 3  # "p stays below 0.05 / 3"
    assert comparison["high"] < 0  # "the interval excludes 0"
    gain = experiment.comparisons(results)["none - bernoulli"]["mean"]
    assert round(gain / abs(comparison["mean"])) == 5  # "a fifth of what dropout itself gains"
    assert Path(experiment.RESULTS_PATH).name == "nb05_noise_experiment_results.json"


def test_the_figure_draws_the_record(results):
    import matplotlib.pyplot as plt

    figure = experiment.draw_noise_experiment(results)
    left, right = figure.axes
    assert len(left.lines) == 1 + len(results["settings"]["noises"])
    assert [t.get_text().split("\n")[0] for t in right.get_xticklabels()] == list(results["chosen"])
    plt.close(figure)


def test_the_judgement_exercise_quotes_section_1s_correlations():
    from course_lib.lessons import nb05_variants as lesson

    correlations = lesson.neighbour_correlation(lesson.feature_maps()[0])
    low, high = f"{correlations.min():.2f}", f"{correlations.max():.2f}"
    assert f"section 1 measured {low} to {high} on the digit's four maps" in source("05")

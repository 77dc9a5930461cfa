"""Notebook 06's figures and computations: every widget callback follows its slider, and the
numbers the notebook's prose states are what the lesson functions compute."""

import functools

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

from course_lib import mc
from course_lib.lessons import nb06_mc_dropout as lesson
from course_lib.lessons.widgets import figure_pixels
from course_lib.nn import softmax
from figure_helpers import assert_every_move_redraws_in_place, assert_redraws_in_place

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def toy():
    return lesson.fit_toy_regression(seed=1, epochs=150, n_samples=40)


@pytest.fixture(scope="module")
def digits():
    return lesson.fit_digits(seed=0, hidden=(64, 64), epochs=8, n_samples=30)


# --- widget callbacks -------------------------------------------------------------------------


def test_regression_bands_follow_the_number_of_masks(toy):
    pictures = [figure_pixels(lesson.draw_regression_bands(toy, n)) for n in (1, 5, 40)]
    assert not np.array_equal(pictures[0], pictures[1])
    assert not np.array_equal(pictures[1], pictures[2])


@pytest.mark.parametrize("before, after", [(40, 1), (1, 5), (5, 40)])
def test_regression_bands_redraw_in_place_as_a_fresh_figure(toy, before, after):
    assert_redraws_in_place(
        lesson.draw_regression_bands,
        {"toy": toy, "n_samples": before},
        {"toy": toy, "n_samples": after},
    )


@pytest.mark.parametrize("before, after", [(30, 1), (1, 4), (4, 30)])
def test_digits_metrics_redraw_in_place_as_a_fresh_figure(digits, before, after):
    assert_redraws_in_place(
        lesson.draw_digits_metrics,
        {"digits": digits, "n_samples": before},
        {"digits": digits, "n_samples": after},
    )


def test_every_position_of_the_masks_slider_redraws_in_place_without_a_warning(digits):
    slider = widgets.IntSlider(value=30, min=1, max=len(digits.prob_samples), step=1)
    draw = functools.partial(lesson.draw_digits_metrics, digits)
    grid = {"n_samples": list(range(1, len(digits.prob_samples) + 1))}
    assert_every_move_redraws_in_place(draw, {"n_samples": slider}, grid)


def test_digits_metrics_follow_the_number_of_masks(digits):
    pictures = [figure_pixels(lesson.draw_digits_metrics(digits, n)) for n in (1, 4, 30)]
    assert not np.array_equal(pictures[0], pictures[1])
    assert not np.array_equal(pictures[1], pictures[2])


def test_static_figures_draw(digits):
    for figure in (
        lesson.draw_uncertainty_histograms(digits),
        lesson.draw_uncertainty_histograms(digits, 3),
        lesson.draw_most_uncertain(digits, n_show=4),
    ):
        assert figure_pixels(figure).std() > 0


@pytest.mark.parametrize("n_samples", [0, 41])
def test_slider_values_outside_the_pool_are_refused(toy, digits, n_samples):
    with pytest.raises(ValueError, match=r"n_samples must be in \[1, 40\]"):
        toy.mean_std(n_samples)
    with pytest.raises(ValueError, match=r"n_samples must be in \[1, 30\]"):
        digits.mc_probs(n_samples)


# --- regression -------------------------------------------------------------------------------


def test_regions_partition_the_grid(toy):
    masks = np.stack(list(toy.region_masks().values()))
    assert list(toy.region_masks()) == list(lesson.REGIONS)
    np.testing.assert_array_equal(masks.sum(axis=0), 1)


def test_mean_std_takes_the_first_samples(toy):
    mean, std = toy.mean_std(7)
    np.testing.assert_array_equal(mean, toy.samples[:7].mean(axis=0))
    np.testing.assert_array_equal(std, toy.samples[:7].std(axis=0))
    assert np.all(toy.mean_std(1)[1] == 0)
    assert toy.samples.shape == (40, toy.grid.size)


def test_every_sample_is_one_smooth_function(toy):
    # one thinned network per sample: piecewise linear in x, so second differences vanish
    # except at the kinks; a mask drawn per grid point would make them noisy everywhere
    second = np.abs(np.diff(toy.samples, n=2, axis=1))
    assert np.median(second) < 1e-9


def test_band_coverage_grows_when_the_noise_is_added(toy):
    coverage = lesson.band_coverage(toy, 40, n_points=500)
    assert 0 <= coverage["model only"] <= coverage["model + noise"] <= 1


# --- digits -----------------------------------------------------------------------------------


def test_digit_pools_are_consistent(digits):
    assert digits.prob_samples.shape == (30, 500, 10)
    np.testing.assert_allclose(digits.prob_samples, softmax(digits.logit_samples))
    np.testing.assert_allclose(digits.mc_probs(30).sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        lesson.rotate_digits(
            lesson.rotate_digits(lesson.rotate_digits(lesson.rotate_digits(digits.X_test)))
        ),
        digits.X_test,
    )


def test_metric_curves_match_the_mc_average(digits):
    for S in (1, 9, 30):
        probs = digits.mc_probs(S)
        assert digits.curves["error"][S - 1] == pytest.approx(mc.error_rate(probs, digits.y_test))
        assert digits.curves["nll"][S - 1] == pytest.approx(mc.nll(probs, digits.y_test))
        assert digits.curves["ece"][S - 1] == pytest.approx(
            mc.expected_calibration_error(probs, digits.y_test)
        )


def test_softmax_of_mean_logits_is_the_normalised_geometric_mean(digits):
    log_probs = np.log(digits.prob_samples)
    np.testing.assert_allclose(
        softmax(digits.logit_samples.mean(axis=0)), softmax(log_probs.mean(axis=0)), atol=1e-12
    )
    table = lesson.averaging_comparison(digits, 10)
    assert set(table) == {"mean of probabilities", "softmax of mean logits", "weight scaling"}
    for row in table.values():
        assert 0 <= row["error"] <= 1 and row["nll"] >= 0 and 0 <= row["ece"] <= 1


def test_rejection_starts_at_the_accuracy_and_auroc_is_a_probability(digits):
    curves = lesson.rejection_curves(digits, 30)
    accuracy = 1 - mc.error_rate(digits.mc_probs(30), digits.y_test)
    for name, curve in curves.items():
        assert curve.shape == lesson.REJECTION_FRACTIONS.shape
        if name.startswith("MC"):
            assert curve[0] == pytest.approx(accuracy)
    for value in lesson.rotation_detection_auroc(digits).values():
        assert 0 <= value <= 1


# --- the numbers the notebook states ------------------------------------------------------------


def test_the_notebooks_regression_claims():
    toy = lesson.fit_toy_regression(p_drop=0.1, seed=1)
    std = toy.region_std(200)
    assert std["inside the gap"] > 2 * std["on the data"]
    assert std["beyond the data"] > std["inside the gap"]
    coverage = lesson.band_coverage(toy, 200)
    assert coverage["model only"] < 0.8 < coverage["model + noise"] < 0.95


def test_the_notebooks_digits_claims():
    digits = lesson.fit_digits(p_drop=(0.0, 0.5, 0.5), seed=0)
    y = digits.y_test
    curves = digits.curves
    weight_scaled = digits.weight_scaled_probs
    assert curves["error"][0] > 2 * mc.error_rate(weight_scaled, y)  # one mask: worse net
    assert curves["error"][-1] <= mc.error_rate(weight_scaled, y) + 0.004
    assert curves["ece"][-1] > mc.expected_calibration_error(weight_scaled, y)  # underconfident
    assert curves["nll"][-1] > mc.nll(weight_scaled, y)
    assert curves["ece"][-1] > curves["ece"][0]
    table = lesson.averaging_comparison(digits)
    assert (
        table["mean of probabilities"]["rotated entropy"]
        > 3 * table["weight scaling"]["rotated entropy"]
    )
    assert abs(table["softmax of mean logits"]["nll"] - table["weight scaling"]["nll"]) < 0.01
    auroc = lesson.rotation_detection_auroc(digits)
    assert auroc["MC, mutual information"] > auroc["weight scaling, 1 - max prob"] + 0.15


def test_the_recorded_numbers_are_those_of_the_notebooks_fits():
    """The prose's numbers are checked against nb06_mc_dropout_numbers.json (test_quoted_figures);
    fitting the notebook's two networks again gives that record exactly."""
    from autograder import build

    source = (build.SOURCES / "06_mc_dropout.py").read_text()
    toy_fit, digits_fit = lesson.TOY_FIT, lesson.DIGITS_FIT
    assert f"fit_toy_regression(p_drop={toy_fit['p_drop']}, seed={toy_fit['seed']})" in source
    assert f"fit_digits(p_drop={digits_fit['p_drop']}, seed={digits_fit['seed']})" in source
    toy = lesson.fit_toy_regression(**lesson.TOY_FIT)
    digits = lesson.fit_digits(**lesson.DIGITS_FIT)
    assert lesson.key_numbers(toy, digits) == lesson.load_numbers()

"""Notebook 01's figures and computations: every widget callback is called with a few control
values, the builder's state functions are checked one by one, and the numbers the notebook states
(the bias-variance identity, dropout's adaptive L2) are verified."""

import math

import matplotlib
import numpy as np
import pytest

from course_lib.analysis import count_parameters, count_subnetworks
from course_lib.lessons import nb01_intuition as lesson
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import assert_redraws_in_place

matplotlib.use("Agg")

SIZES, RATES = list(lesson.DEFAULT_SIZES), list(lesson.DEFAULT_RATES)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _differ(first, second) -> bool:
    first, second = figure_pixels(first), figure_pixels(second)
    return first.shape != second.shape or not np.array_equal(first, second)


# --- bias and variance ------------------------------------------------------------------------


@pytest.mark.parametrize("degree", [1, 3, 7, 12])
def test_test_error_is_bias2_plus_variance_plus_noise(degree):
    result = lesson.bias_variance(degree, 1e-6)
    total = result.bias2 + result.variance + result.noise
    # fresh noise on 200 x 200 test points: the Monte Carlo error is far below 2%
    assert math.isclose(result.test_mse, total, rel_tol=0.02)
    assert result.train_mse < result.test_mse


def test_degree_trades_bias_for_variance_and_l2_cuts_variance():
    stiff, flexible = lesson.bias_variance(2, 1e-6), lesson.bias_variance(10, 1e-6)
    assert stiff.bias2 > 10 * flexible.bias2
    assert flexible.variance > 10 * stiff.variance
    penalised = lesson.bias_variance(10, 1.0)
    assert penalised.variance < flexible.variance / 10


def test_bias_variance_rejects_bad_arguments():
    with pytest.raises(ValueError, match="l2"):
        lesson.bias_variance(3, -1.0)
    with pytest.raises(ValueError, match="degree"):
        lesson.bias_variance(-1)


def test_bias_variance_figure_follows_degree_and_l2():
    first = lesson.draw_bias_variance(3, -6.0)
    assert _differ(first, lesson.draw_bias_variance(9, -6.0))
    assert _differ(first, lesson.draw_bias_variance(3, 1.0))


@pytest.mark.parametrize("before, after", [((3, -6.0), (9, -6.0)), ((3, -6.0), (12, 1.0))])
def test_bias_variance_redraws_in_place_as_a_fresh_figure(before, after):
    names = ("degree", "log10_l2")
    assert_redraws_in_place(
        lesson.draw_bias_variance, dict(zip(names, before)), dict(zip(names, after))
    )


def test_precomputed_fits_are_the_fits():
    assert len(lesson.LOG10_L2_SLIDER) == 17 and lesson.LOG10_L2_SLIDER[-1] == 2.0
    lesson.precompute_bias_variance((-1.0,), max_degree=3)
    cached = lesson._bias_variance_of(3, 10.0**-1.0)
    assert np.array_equal(cached.fits, lesson.bias_variance(3, 10.0**-1.0).fits)


# --- the network builder ----------------------------------------------------------------------


def test_add_layer_inserts_before_the_output_and_does_not_mutate():
    sizes, rates = lesson.add_layer(SIZES, RATES, 5, 0.25)
    assert sizes == [3, 7, 7, 3, 2, 5, 1]
    assert rates == [0.0, 0.5, 0.3, 0.0, 0.0, 0.25]
    assert list(lesson.DEFAULT_SIZES) == SIZES and list(lesson.DEFAULT_RATES) == RATES


def test_add_layer_refuses_a_full_builder_and_bad_values():
    sizes, rates = [2, 3], [0.0]
    while len(sizes) < lesson.MAX_LAYERS:
        sizes, rates = lesson.add_layer(sizes, rates)
    with pytest.raises(ValueError, match="at most"):
        lesson.add_layer(sizes, rates)
    with pytest.raises(ValueError, match="size"):
        lesson.add_layer([2, 3], [0.0], 0)
    with pytest.raises(ValueError, match="p_drop"):
        lesson.add_layer([2, 3], [0.0], 4, 1.0)


def test_remove_layer_takes_the_layer_and_its_rate():
    assert lesson.remove_layer(SIZES, RATES) == ([3, 7, 7, 3, 1], [0.0, 0.5, 0.3, 0.0])
    assert lesson.remove_layer(SIZES, RATES, 1) == ([3, 7, 3, 2, 1], [0.0, 0.3, 0.0, 0.0])
    with pytest.raises(ValueError, match="no hidden layer"):
        lesson.remove_layer([4, 2], [0.1])
    with pytest.raises(ValueError, match="index"):
        lesson.remove_layer(SIZES, RATES, 0)


def test_resize_and_set_p_drop():
    assert lesson.resize_layer(SIZES, RATES, 0, 10)[0] == [10, 7, 7, 3, 2, 1]
    assert lesson.set_p_drop(SIZES, RATES, 3, 0.4)[1] == [0.0, 0.5, 0.3, 0.4, 0.0]
    with pytest.raises(ValueError, match="never dropped"):
        lesson.set_p_drop(SIZES, RATES, 5, 0.5)
    with pytest.raises(ValueError, match="layer"):
        lesson.resize_layer(SIZES, RATES, 6, 3)
    with pytest.raises(ValueError, match="size"):
        lesson.resize_layer(SIZES, RATES, 1, 0)


def test_summary_counts_the_example_network():
    summary = lesson.network_summary(SIZES, RATES)
    assert (summary.n_layers, summary.n_hidden_layers, summary.n_neurons) == (6, 4, 23)
    assert (summary.n_weights, summary.n_biases, summary.n_parameters) == (99, 20, 119)
    assert summary.n_droppable == 14 and summary.n_subnetworks == 2**14
    assert any("2^14 = 16,384" in line for line in summary.lines())


@pytest.mark.parametrize(
    "sizes,rates",
    [
        ([64, 192, 192, 10], [0.0, 0.5, 0.5]),
        ([784, 1024, 1024, 10], [0.2, 0.5, 0.5]),
        ([5, 2], [0.0]),
    ],
)
def test_summary_agrees_with_course_lib(sizes, rates):
    summary = lesson.network_summary(sizes, rates)
    assert (summary.n_weights, summary.n_biases) == tuple(count_parameters(sizes))
    assert summary.n_subnetworks == count_subnetworks(sizes, rates) == 2**summary.n_droppable


def test_format_power_of_two():
    assert lesson.format_power_of_two(14) == "2^14 = 16,384"
    assert lesson.format_power_of_two(384) == "2^384 ≈ 3.94e115"


def test_masks_follow_the_seed_and_never_drop_the_output():
    masks = lesson.sample_network_masks(SIZES, RATES, seed=3)
    assert [mask.shape for mask in masks] == [(size,) for size in SIZES]
    assert all(mask.dtype == bool for mask in masks)
    for mask, rate in zip(masks, [*RATES, 0.0]):
        if rate == 0.0:
            assert mask.all()
    again = lesson.sample_network_masks(SIZES, RATES, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))
    wide = ([10, 400, 10], [0.0, 0.5])
    assert not np.array_equal(
        lesson.sample_network_masks(*wide, seed=0)[1], lesson.sample_network_masks(*wide, seed=1)[1]
    )


def test_unit_details():
    hidden = lesson.unit_details(SIZES, RATES, 0, 2, 4)
    assert (hidden.role, hidden.fan_in, hidden.fan_out, hidden.p_drop) == ("hidden", 7, 3, 0.3)
    assert hidden.kept == bool(lesson.sample_network_masks(SIZES, RATES, 0)[2][4])
    assert hidden.n_parameters == 8
    first = lesson.unit_details(SIZES, RATES, 0, 0, 1)
    assert (first.role, first.fan_in, first.fan_out, first.n_parameters) == ("input", 0, 7, 0)
    output = lesson.unit_details(SIZES, RATES, 0, 5, 0)
    assert (output.role, output.p_drop, output.kept, output.fan_out) == ("output", 0.0, True, 0)
    assert any("never dropped" in line for line in output.lines())
    with pytest.raises(ValueError, match="unit"):
        lesson.unit_details(SIZES, RATES, 0, 1, 7)
    with pytest.raises(ValueError, match="layer"):
        lesson.unit_details(SIZES, RATES, 0, 6, 0)


@pytest.mark.parametrize(
    "after",
    [
        (SIZES, RATES, 1, (1, 2)),  # resampled mask
        (SIZES, RATES, 0, None),  # nothing inspected
        (lesson.resize_layer(SIZES, RATES, 1, 30)[0], RATES, 0, (1, 20)),  # "+14 more"
        (SIZES, lesson.set_p_drop(SIZES, RATES, 0, 0.9)[1], 0, (0, 0)),
    ],
)
def test_network_redraws_in_place_as_a_fresh_figure(after):
    names = ("sizes", "rates", "seed", "highlight")
    before = (SIZES, RATES, 0, (1, 2))
    assert_redraws_in_place(lesson.draw_network, dict(zip(names, before)), dict(zip(names, after)))


def test_a_network_with_more_layers_gets_a_new_figure():
    first = lesson.draw_network(SIZES, RATES, 0, (1, 2))
    grown = lesson.add_layer(SIZES, RATES, 4, 0.5)
    assert lesson.draw_network(*grown, 0, (1, 2), figure=first) is not first


def test_network_drawing_follows_every_control():
    first = lesson.draw_network(SIZES, RATES, 0, (1, 2))
    assert _differ(first, lesson.draw_network(SIZES, RATES, 1, (1, 2)))  # resampled mask
    assert _differ(first, lesson.draw_network(SIZES, RATES, 0, (2, 0)))  # inspected unit
    assert _differ(first, lesson.draw_network(SIZES, RATES, 0, None))
    grown = lesson.add_layer(SIZES, RATES, 6, 0.5)
    assert _differ(first, lesson.draw_network(*grown, 0, (1, 2)))
    assert _differ(first, lesson.draw_network(*lesson.set_p_drop(SIZES, RATES, 1, 0.0), 0, (1, 2)))
    assert _differ(first, lesson.draw_network(*lesson.resize_layer(SIZES, RATES, 1, 12), 0, (1, 2)))


def test_wide_and_minimal_networks_draw():
    wide = lesson.draw_network([64, 192, 192, 10], [0.0, 0.5, 0.5], 0, (2, 100))
    assert figure_pixels(wide).size
    assert figure_pixels(lesson.draw_network([3, 1], [0.0], 0, None)).size


# --- dropout on a linear unit -----------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_dropout_solution_minimises_the_expected_loss_and_spreads_weight(p_drop):
    fit = lesson.dropout_linear_regression(p_drop, seed=2)
    gradient = 2 * (fit.X.T @ (fit.X @ fit.exact - fit.y) + fit.penalties * fit.exact)
    assert np.abs(gradient).max() < 1e-8 * np.abs(fit.X.T @ fit.y).max()
    assert np.allclose(fit.sampled, fit.exact, atol=0.05)
    assert abs(fit.exact[0] - fit.exact[1]) < 0.05 < abs(fit.ols[0] - fit.ols[1])
    assert math.isclose(fit.ridge @ fit.ridge, fit.exact @ fit.exact, rel_tol=1e-6)
    assert fit.exact[3] < fit.ridge[3]  # the large-scale input is penalised more


def test_linear_dropout_figure_follows_p_drop_and_seed():
    first = lesson.draw_linear_dropout(0.5, 2)
    assert _differ(first, lesson.draw_linear_dropout(0.2, 2))
    assert _differ(first, lesson.draw_linear_dropout(0.5, 3))


@pytest.mark.parametrize("before, after", [((0.5, 2), (0.2, 2)), ((0.5, 2), (0.9, 7))])
def test_linear_dropout_redraws_in_place_as_a_fresh_figure(before, after):
    names = ("p_drop", "seed")
    assert_redraws_in_place(
        lesson.draw_linear_dropout, dict(zip(names, before)), dict(zip(names, after))
    )


# --- the digits experiment ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_curves():
    return lesson.digits_curves(
        (0.0, 0.5), hidden=(32, 32), n_train=150, n_val=100, epochs=15, seeds=(0, 1)
    )


def test_curves_have_one_value_per_epoch(small_curves):
    assert small_curves.layer_sizes == (64, 32, 32, 10)
    for curve in ("train_error", "val_error", "train_loss", "val_loss"):
        assert all(getattr(small_curves, curve)[p].shape == (15,) for p in (0.0, 0.5))
    assert len(small_curves.models[0.5]) == 2 and small_curves.seconds > 0
    rows = lesson.curves_table(small_curves)
    assert [row["p_drop"] for row in rows] == [0.0, 0.5]
    assert all(
        math.isclose(row["error_gap"], row["val_error"] - row["train_error"]) for row in rows
    )
    assert "lowest val err" in lesson.format_curves_table(small_curves)


def test_curves_accept_per_site_rates():
    curves = lesson.digits_curves(
        [(0.2, 0.5, 0.5)], hidden=(8, 8), n_train=30, n_val=20, epochs=2, seeds=(0,)
    )
    assert "0.2/0.5/0.5" in lesson.format_curves_table(curves)
    assert figure_pixels(lesson.draw_curves((0.2, 0.5, 0.5), curves)).size


def test_curves_figure_follows_its_controls(small_curves):
    first = lesson.draw_curves(0.0, small_curves)
    assert _differ(first, lesson.draw_curves(0.5, small_curves))
    assert _differ(first, lesson.draw_curves(0.0, small_curves, metric="loss"))
    # the faint curves of p_drop = 0 fall inside the plotted range when 0.5 is chosen
    assert _differ(
        lesson.draw_curves(0.5, small_curves, overlay=True),
        lesson.draw_curves(0.5, small_curves, overlay=False),
    )
    with pytest.raises(ValueError, match="precomputed"):
        lesson.draw_curves(0.3, small_curves)
    with pytest.raises(ValueError, match="metric"):
        lesson.draw_curves(0.0, small_curves, metric="accuracy")


def test_the_default_experiment_overfits_without_dropout_and_underfits_at_08():
    curves = lesson.digits_curves((0.0, 0.8), seeds=(0,), epochs=40)
    rows = {row["p_drop"]: row for row in lesson.curves_table(curves)}
    assert rows[0.0]["train_error"] == 0.0 and rows[0.0]["val_error"] > 2.0
    assert rows[0.8]["train_error"] > 2.0
    assert rows[0.8]["loss_gap"] < rows[0.0]["loss_gap"]


def test_ensemble_errors(small_curves):
    split = small_curves.splits[0]
    result = lesson.ensemble_errors(
        small_curves.models[0.5][0], split.X_val, split.y_val, sizes=(1, 5), seed=0
    )
    assert set(result.averaged) == {1, 5}
    for error in (result.weight_scaled, result.single_thinned, *result.averaged.values()):
        assert 0.0 <= error <= 1.0
    full = lesson.ensemble_errors(
        small_curves.models[0.0][0], split.X_val, split.y_val, sizes=(1, 3), seed=0
    )
    # without dropout every "thinned" network is the full network
    assert full.single_thinned == pytest.approx(full.weight_scaled)
    assert full.averaged[3] == full.weight_scaled

"""Notebook 01's figures and computations: every widget callback is called with a few control
values, the builder's state functions are checked one by one, and the numbers the notebook states
(the bias-variance identity, dropout's adaptive L2) are verified."""

import functools
import math

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

from course_lib.analysis import count_parameters, count_subnetworks
from course_lib.lessons import nb01_intuition as lesson
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import (
    assert_every_move_redraws_in_place,
    assert_inside_figure,
    assert_redraws_in_place,
    overlapping_texts,
)

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


def _builder(*, figure=None, seed=3, **values):
    """The builder's figure as its sliders set it: ``size_<layer>`` and ``p_drop_<layer>``,
    inspecting unit 2 of layer 1 (or the last unit, when the layer is smaller)."""
    sizes = [values.get(f"size_{layer}", size) for layer, size in enumerate(SIZES)]
    rates = [values.get(f"p_drop_{layer}", rate) for layer, rate in enumerate(RATES)]
    highlight = (1, min(2, sizes[1] - 1))
    return lesson.draw_network(sizes, rates, seed, highlight, figure=figure)


def _builder_sliders():
    sliders: dict[str, widgets.ValueWidget] = {
        "seed": widgets.BoundedIntText(value=3, min=0, max=10**6)
    }
    for layer, size in enumerate(SIZES):  # as the notebook makes them
        sliders[f"size_{layer}"] = widgets.IntSlider(value=size, min=1, max=32)
        if layer < len(RATES):
            sliders[f"p_drop_{layer}"] = widgets.FloatSlider(
                value=RATES[layer], min=0.0, max=0.9, step=0.05
            )
    return sliders


@pytest.mark.parametrize(
    "name", [f"size_{layer}" for layer in range(6)] + [f"p_drop_{layer}" for layer in range(5)]
)
def test_every_builder_slider_moves_through_its_positions_in_place(name):
    positions = [1, 2, 9, 16, 17, 32] if name.startswith("size") else [0.0, 0.05, 0.45, 0.9]
    sliders = _builder_sliders()
    assert_every_move_redraws_in_place(_builder, sliders, {name: positions, "seed": [3, 4]})


def test_builder_figure_fits_and_its_texts_do_not_overlap():
    for figure in (_builder(), _builder(size_1=32, size_2=32), lesson.draw_network([3, 1], [0.0])):
        assert_inside_figure(figure)
        assert overlapping_texts(figure) == []


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


def test_fits_trained_side_by_side_are_the_fits_trained_alone():
    together = lesson.dropout_linear_fits(lesson.LINEAR_P_DROP_SLIDER, seed=7)
    alone = lesson.dropout_linear_regression(0.85, seed=7)
    assert together[16].p_drop == 0.85
    assert np.array_equal(together[16].sampled, alone.sampled)
    assert np.array_equal(together[16].ridge, alone.ridge)


def test_linear_dropout_fits_reject_bad_arguments():
    with pytest.raises(ValueError, match="p_drop"):
        lesson.dropout_linear_fits((0.5, 1.0))
    with pytest.raises(ValueError, match="n_steps"):
        lesson.dropout_linear_regression(0.5, n_steps=0)


def test_every_position_of_the_linear_dropout_sliders_fits_and_draws_without_a_warning():
    """Through the real callback, from an empty cache: every fit of the 18 x 10 positions is
    finite and within 0.05 of the exact minimiser (with 8000 steps the worst is 0.017), no
    warning is raised (the fixed step of earlier versions overflowed at p_drop 0.9), and the
    axis limits never change, so that every move redraws in place."""
    lesson._LINEAR_FITS.clear()
    lesson._slider_weight_limits.cache_clear()
    sliders = {
        "seed": widgets.IntSlider(value=2, min=0, max=9, description="data seed"),
        "p_drop": widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05),
    }
    # the floats a frontend sends (0.15000000000000002), not the grid's rounded values
    grid = {"seed": lesson.LINEAR_SEED_SLIDER, "p_drop": [0.05 + 0.05 * k for k in range(18)]}
    assert_every_move_redraws_in_place(lesson.draw_linear_dropout, sliders, grid)
    fits = [
        lesson._LINEAR_FITS[p, s]
        for p in lesson.LINEAR_P_DROP_SLIDER
        for s in lesson.LINEAR_SEED_SLIDER
    ]
    assert all(np.isfinite(fit.sampled).all() for fit in fits)
    assert max(np.abs(fit.sampled - fit.exact).max() for fit in fits) < 0.05
    assert len(lesson._LINEAR_FITS) == 180  # every frontend value found its grid position


@pytest.mark.parametrize(
    "before, after", [((0.5, 2), (0.2, 2)), ((0.5, 2), (0.9, 7)), ((0.05, 0), (0.85, 9))]
)
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


def test_curves_figure_redraws_in_place_for_each_rate(small_curves):
    for metric in ("error", "loss"):
        draw = functools.partial(lesson.draw_curves, curves=small_curves, metric=metric)
        assert_redraws_in_place(draw, {"p_drop": 0.0}, {"p_drop": 0.5})
    # another metric or overlay is another layout: a new figure
    figure = lesson.draw_curves(0.0, small_curves)
    assert lesson.draw_curves(0.0, small_curves, metric="loss", figure=figure) is not figure
    assert lesson.draw_curves(0.0, small_curves, overlay=False, figure=figure) is not figure


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


# --- the recorded guided experiment -------------------------------------------------------------

TINY = lesson.ExperimentSettings(
    hidden=(16, 16), n_train=60, n_val=50, n_test=40, epochs=4, seeds=(0, 1, 2)
)


@pytest.fixture(scope="module")
def tiny_record(tmp_path_factory):
    record = lesson.compute_record(TINY)
    path = tmp_path_factory.mktemp("record") / "record.json"
    lesson.save_record(record, path)
    return lesson.load_record(path)


def test_a_record_holds_every_rate_and_seed_and_survives_json(tiny_record):
    assert tiny_record["generator"] == "python -m course_lib.lessons.nb01_intuition"
    # the header (course_lib.records.record_header): the versions and the time of creation, in
    # the order of the committed record's keys
    provenance = ["course_lib_version", "numpy_version", "python_version", "created"]
    assert list(tiny_record) == ["generator", *provenance, "settings", "seconds", "runs"]
    assert list(tiny_record) == list(RECORD)
    assert lesson.settings_of(tiny_record) == TINY
    assert len(tiny_record["runs"]) == 4 * 3
    run = lesson.recorded_run(tiny_record, 0.5, 2)
    assert run == lesson.record_run(TINY, 0.5, 2)  # reproducible, run by run
    assert len(run["val_mistakes"]) == len(run["train_loss"]) == 4
    assert all(isinstance(m, int) and 0 <= m <= 50 for m in run["val_mistakes"])


def test_workers_give_the_same_record():
    settings = lesson.ExperimentSettings(
        p_drops=(0.0, 0.5), hidden=(8,), n_train=30, n_val=20, n_test=20, epochs=2, seeds=(0, 1)
    )
    one = lesson.compute_record(settings)
    two = lesson.compute_record(lesson.settings_of(one), workers=2)
    assert one["runs"] == two["runs"]


def test_record_readers_agree_with_the_runs(tiny_record):
    val = lesson.final_errors(tiny_record, "val")
    test = lesson.final_errors(tiny_record, "test")
    for p_drop in TINY.p_drops:
        runs = [lesson.recorded_run(tiny_record, p_drop, seed) for seed in TINY.seeds]
        np.testing.assert_array_equal(val[p_drop], [r["val_mistakes"][-1] / 50 for r in runs])
        np.testing.assert_array_equal(test[p_drop], [r["test_mistakes"] / 40 for r in runs])
    curves = lesson.record_curves(tiny_record)
    assert curves.n_seeds == 3 and curves.layer_sizes == (64, 16, 16, 10)
    assert curves.val_error[0.5][-1] == pytest.approx(val[0.5].mean())
    comparison = lesson.validation_comparison(tiny_record)
    means = {p: float(v.mean()) for p, v in val.items()}
    assert comparison["best"] == min(means, key=means.__getitem__)
    assert comparison["best"] in comparison["not_worse"]
    for p_drop, result in comparison["against_none"].items():
        assert result.df == 2
        assert result.mean == pytest.approx(means[p_drop] - means[0.0])
    report = lesson.test_report(tiny_record)
    assert report["chosen"] == comparison["best"]
    assert report["none_error"] == pytest.approx(test[0.0].mean())
    table = lesson.format_experiment_table(tiny_record)
    assert "95% t-interval (2 df)" in table and len(table.splitlines()) == 5
    assert lesson.draw_curves(0.5, curves) is not None
    with pytest.raises(ValueError, match="split must be"):
        lesson.final_errors(tiny_record, "validation")
    with pytest.raises(ValueError, match="p_drop must be one of the recorded"):
        lesson.recorded_run(tiny_record, 0.3, 0)
    with pytest.raises(ValueError, match="seed must be one of the recorded"):
        lesson.recorded_run(tiny_record, 0.5, 7)


def test_record_run_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"p_drop must be in \[0, 1\)"):
        lesson.record_run(TINY, 1.0, 0)
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        lesson.record_run(TINY, 0.5, -1)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        lesson.compute_record(TINY, workers=0)


# --- the committed record and what the notebook says about it ----------------------------------

RECORD = lesson.load_record()
# Every line of notebook 01 that quotes the guided experiment, with each figure as a placeholder
# for the lesson function that produces it: the notebook must contain each line as filled in here.
PROSE = [
    "Neural networks sit at the high-variance end. The network of section 7 has about {n_params_k}",
    "parameters and is trained on {n_train} images: it can fit them "
    "perfectly, noise and all, and does",
    "section 7 ({n_train} images, {epochs} epochs) draws {masks} masks.",
    "Real data now: scikit-learn's handwritten digits (8×8 pixels, 10 "
    "classes), split into {n_train}",
    "training, {n_val} validation and {n_test} test images. The network is "
    "{layers} with ReLU, trained",
    "with SGD (momentum 0.9, learning rate {lr}, batches of {batch_size}) "
    "for {epochs} epochs, with the",
    "error by a point or more. So every rate is trained with {n_seeds} "
    "seeds, each fixing the split,",
    "the initial weights and the order of the mini-batches, and every rate "
    "sees the same {n_seeds}.",
    "that both share. The {n_runs} runs take several minutes, so they were recorded once with",
    "The table gives, for each rate, the mean over the {n_seeds} seeds of "
    "the final networks (after",
    "epoch {epochs}): training and validation error, the standard "
    "deviation of the validation error",
    "large if the rate did no better or worse than no dropout at all. With {n_seeds} seeds the",
    "interval has {df} degrees of freedom: it is the mean ± {t_quantile} standard errors, not ± 2.",
    "1. **`p_drop` = 0.** Every seed's training error is 0 at epoch "
    "{fit_epoch_0}. Switch to *loss*:",
    "the validation loss is lowest at epoch {val_loss_epoch_0} and then rises while the training",
    "ends at {val_0}, with a standard deviation of {sd_0} points from seed to seed.",
    "2. **0.2.** The same shape, later: the training error reaches 0 at epoch {fit_epoch_0.2} and",
    "the validation loss is lowest at epoch {val_loss_epoch_0.2}. The validation error ends at",
    "{val_0.2}, {diff_0.2} points against no dropout; the interval [{low_0.2}, {high_0.2}]",
    "lies below 0 (p = {p_0.2}).",
    "3. **0.5.** The training error reaches 0 only at epoch {fit_epoch_0.5}: dropout networks need",
    "more epochs. The validation error ends at {val_0.5} ({diff_0.5} points, interval",
    "[{low_0.5}, {high_0.5}], p = {p_0.5}), and the loss gap is {gap_0.5} against {gap_0} without",
    "4. **0.8.** Each thinned network keeps about {kept_0.8} of 256 units "
    "per layer, and the network",
    "no longer fits its training set in {epochs} epochs: a training loss of {train_loss_0.8}",
    "where the other rates reach {train_loss_0}, and a training error of {train_0.8}. Its",
    "validation error is back at {val_0.8}, {diff_0.8} points against no dropout (interval",
    "[{low_0.8}, {high_0.8}], p = {p_0.8}): no significant gain. The network "
    "**underfits**: too much",
    "`p_drop` = {chosen} ({val_0.5}), with 0.2 close behind ({val_0.2}): "
    "paired over the seeds, 0.2",
    "is not significantly worse (one-sided p = {p_best_0.2}), while 0 and "
    "0.8 are (p = {p_best_0} and",
    "{p_best_0.8}). So {not_worse} are both defensible choices, and the "
    "lowest mean picks {chosen}.",
    "for no dropout: {test_none} test error without dropout, {test_chosen} "
    "with `p_drop` = {chosen},",
    "{test_diff} points (paired over the {n_seeds} seeds: 95% t-interval "
    "[{test_low}, {test_high}],",
    "{df} degrees of freedom, p = {test_p}). This is the number to report. The rate was chosen",
    "`p_drop` would you use for this network and these {n_train} images, and why? Say which table",
    "I would use p_drop = {chosen}, the lowest mean validation error (0.2 would be as "
    "defensible: the paired test cannot tell the two apart, p = {p_best_0.2}). The choice is "
    "made on the validation errors because the test errors must stay untouched to report the "
    "chosen network's error honestly; read once, they give a difference of {test_diff} points "
    "against no dropout, 95% interval [{test_low}, {test_high}].",
    "The network just trained again with `p_drop` = 0.5 holds {power} "
    "thinned networks. Compare, on",
    "A single thinned network makes more errors than the full one ({ens_single} against",
    "{ens_full}); the average of 10 or of 50 thinned networks does as well as the full network, "
    "or a little better",
    "({ens_10} and {ens_50}). The full network, at the cost of one forward pass, behaves like the",
    "**In two sentences:** training drew {masks} masks out of {power}, so almost every thinned",
    "* On the digits ({layers}, {n_train} training images, {n_seeds} seeds), `p_drop` 0.2 and 0.5",
    "lowered the validation error from {val_0} to {val_0.2} and {val_0.5}, gains whose paired 95%",
    "intervals exclude 0; chosen on validation, 0.5 has a test error of {test_chosen} against",
    "{test_none} without dropout. At 0.8 the network underfit and the gain was gone.",
]


@pytest.fixture(scope="module")
def live_run():
    """The recorded run that notebook 01 trains again (p_drop 0.5, seed 0): a few seconds."""
    return lesson.train_recorded_network(lesson.settings_of(RECORD), 0.5, 0)


def test_one_recorded_run_is_reproduced_exactly(live_run):
    settings = lesson.settings_of(RECORD)
    _, _, history, test_error = live_run
    again = lesson.run_record(settings, 0.5, 0, history, test_error)
    assert again == lesson.recorded_run(RECORD, 0.5, 0)


def test_the_record_is_complete_and_made_by_its_generator():
    settings = lesson.settings_of(RECORD)
    assert settings == lesson.ExperimentSettings()  # the record is of the notebook's settings
    assert RECORD["generator"] == lesson.GENERATOR
    pairs = sorted((run["p_drop"], run["seed"]) for run in RECORD["runs"])
    assert pairs == sorted((p, s) for p in settings.p_drops for s in settings.seeds)
    assert all(len(run["val_mistakes"]) == settings.epochs for run in RECORD["runs"])


def test_section_8s_recorded_ensemble_numbers_are_the_live_networks(live_run):
    import json

    model, split, _, _ = live_run
    recorded = json.loads(lesson.ENSEMBLE_PATH.read_text())
    assert lesson.ensemble_numbers(model, split) == recorded


def _prose_numbers(live_run) -> dict[str, str]:
    model, split, _, _ = live_run
    numbers = lesson.key_numbers(RECORD)
    result = lesson.ensemble_errors(model, split.X_val, split.y_val, sizes=(1, 10, 50), seed=0)
    numbers["ens_full"] = f"{100 * result.weight_scaled:.1f}%"
    numbers["ens_single"] = f"{100 * result.single_thinned:.1f}%"
    numbers["ens_10"] = f"{100 * result.averaged[10]:.1f}%"
    numbers["ens_50"] = f"{100 * result.averaged[50]:.1f}%"
    return numbers


def test_every_figure_notebook_01_quotes_about_the_experiment_comes_from_the_record(live_run):
    import re

    from test_prose import source

    numbers = _prose_numbers(live_run)
    text = source("01")
    for phrase in PROSE:
        filled = re.sub(r"\{([^}]+)\}", lambda match: numbers[match.group(1)], phrase)
        assert " ".join(filled.split()) in text, phrase


def test_what_the_prose_says_in_words_holds():
    numbers = lesson.key_numbers(RECORD)
    comparison = lesson.validation_comparison(RECORD)
    # "0.2 close behind ... not significantly worse, while 0 and 0.8 are"; "0.5 has a test error"
    assert comparison["best"] == 0.5 and comparison["not_worse"] == [0.2, 0.5]
    assert numbers["not_worse"] == "0.2 and 0.5"
    # the gains of 0.2 and 0.5 have intervals below 0; 0.8's contains 0
    for p_drop in (0.2, 0.5):
        assert comparison["against_none"][p_drop].high < 0
    assert comparison["against_none"][0.8].low < 0 < comparison["against_none"][0.8].high
    report = lesson.test_report(RECORD)
    assert report["difference"].high < 0
    # without dropout the validation loss rises after its lowest point; 0.8 never fits every image
    curves = lesson.record_curves(RECORD)
    assert curves.val_loss[0.0][-1] > curves.val_loss[0.0].min() + 0.02
    assert numbers["fit_epoch_0.8"] == "never"
    rows = {row["p_drop"]: row for row in lesson.experiment_table(RECORD)}
    assert rows[0.8]["train_loss"] == max(row["train_loss"] for row in rows.values())
    assert rows[0.5]["loss_gap"] < rows[0.0]["loss_gap"]


def test_the_chance_of_dropping_a_whole_hidden_layer_is_quoted_for_its_width():
    from test_prose import source

    width = lesson.ExperimentSettings().hidden[0]
    exponent = round(width * math.log10(0.5))
    assert f"about $10^{{{exponent}}}$ for {width} units at 0.5" in source("01")


def test_the_notebooks_table_needs_no_answer_the_grading_kernel_lacks(monkeypatch):
    """While notebook 01 is graded, the functions of the rule for choosing a rate are stubs that
    raise (autograder.grading_copy); the demonstration cell that prints the table, which runs
    when a student's code reads its ``record``, must not call them."""

    def unavailable(*args, **kwargs):
        raise RuntimeError("removed while notebook 01 is graded")

    for name in ("rates_not_worse", "against_lowest"):
        monkeypatch.setattr(lesson, name, unavailable)
    table = lesson.format_experiment_table(RECORD)
    assert len(table.splitlines()) == 1 + len(lesson.settings_of(RECORD).p_drops)
    with pytest.raises(RuntimeError, match="removed while"):
        lesson.validation_comparison(RECORD)  # the stubs are in place: the test can fail

"""Notebook 04's figures and computations: every widget callback is called with a few slider
values, and the numbers the notebook states are tested."""

import math

import matplotlib
import numpy as np
import pytest

from course_lib.lessons import nb04_backprop as backprop
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import assert_redraws_in_place

matplotlib.use("Agg")


# --- the widget ---------------------------------------------------------------------------------


def test_gradient_check_figure_follows_both_sliders():
    first = figure_pixels(backprop.draw_gradient_check(-5.0, 0.5))
    assert not np.array_equal(first, figure_pixels(backprop.draw_gradient_check(-9.0, 0.5)))
    assert not np.array_equal(first, figure_pixels(backprop.draw_gradient_check(-5.0, 0.0)))


@pytest.mark.parametrize(
    "before, after",
    [((-5.0, 0.5), (-9.0, 0.5)), ((-5.0, 0.5), (-5.0, 0.0)), ((-12.0, 0.8), (-1.0, 0.1))],
)
def test_gradient_check_redraws_in_place_as_a_fresh_figure(before, after):
    names = ("log10_h", "p_drop")
    assert_redraws_in_place(
        backprop.draw_gradient_check, dict(zip(names, before)), dict(zip(names, after))
    )


def test_precomputing_fills_the_cache_for_every_slider_position():
    assert backprop.P_DROP_SLIDER == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    backprop.precompute_gradient_checks((0.0, 0.5))
    hits = backprop.gradient_check_curves.cache_info().hits
    backprop.draw_gradient_check(-5.0, 0.5)
    assert backprop.gradient_check_curves.cache_info().hits == hits + 1


def test_without_dropout_the_two_checks_coincide_and_draw_a_v():
    curves = backprop.gradient_check_curves(0.0)
    assert np.array_equal(curves.fixed, curves.naive)
    bottom = int(np.argmin(curves.fixed))
    assert 1e-7 <= curves.hs[bottom] <= 1e-4
    assert curves.fixed[bottom] < 1e-9
    assert curves.fixed[0] > 1e3 * curves.fixed[bottom]  # rounding arm, h = 1e-12
    assert curves.fixed[-1] > 1e3 * curves.fixed[bottom]  # truncation (and kink) arm


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_with_dropout_only_the_fixed_mask_check_works(p_drop):
    curves = backprop.gradient_check_curves(p_drop)
    assert curves.fixed.min() < 1e-9
    small = curves.hs <= 1e-3
    assert np.all(curves.naive[small] > 0.9)
    # the naive quotient compares two networks: it grows like 1/h
    norms = np.linalg.norm(curves.numerical_naive, axis=1)
    ratio = norms[0] * curves.hs[0] / (norms[10] * curves.hs[10])
    assert 0.5 < ratio < 2.0


def test_cached_curves_cannot_be_modified():
    curves = backprop.gradient_check_curves(0.5)
    with pytest.raises(ValueError):
        curves.fixed[0] = 0.0


def test_the_toy_loss_does_not_modify_the_model():
    model, X, y = backprop.toy_problem(0.5)
    before = backprop.flat_parameters(model)
    loss = backprop.loss_of_parameters(model, X, y, lambda: np.random.default_rng(1))
    loss(before + 1.0)
    assert np.array_equal(backprop.flat_parameters(model), before)


# --- truncation vs rounding -------------------------------------------------------------------


def test_centred_differences_beat_one_sided_at_the_predicted_steps():
    errors = backprop.difference_errors()
    eps = np.finfo(np.float64).eps
    best_centred = errors.hs[np.argmin(errors.centred)]
    best_one_sided = errors.hs[np.argmin(errors.one_sided)]
    assert abs(math.log10(best_centred / eps ** (1 / 3))) <= 1.0
    assert abs(math.log10(best_one_sided / eps**0.5)) <= 1.0
    assert errors.centred.min() < 1e-9 < errors.one_sided.min()


def test_difference_figure_draws():
    pixels = figure_pixels(backprop.draw_difference_errors())
    assert pixels.std() > 0


# --- the cost J with dropout ------------------------------------------------------------------


def test_j_falls_monotonically_only_without_dropout():
    plain = backprop.loss_traces(0.0)
    assert np.all(np.diff(plain.sampled) < 0)
    assert np.allclose(plain.sampled, plain.inference)
    noisy = backprop.loss_traces(0.5)
    assert np.count_nonzero(np.diff(noisy.sampled) > 0) >= 5
    assert noisy.expected[-1] < noisy.expected[0]
    assert noisy.inference[-1] < noisy.expected[-1]


def test_loss_figure_follows_its_rates():
    assert not np.array_equal(
        figure_pixels(backprop.draw_loss_traces((0.0, 0.5))),
        figure_pixels(backprop.draw_loss_traces((0.0, 0.3))),
    )


# --- backward through the mask ----------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.8])
def test_a_fresh_mask_in_backward_costs_sqrt_p_drop_over_two(p_drop):
    assert backprop.fresh_mask_backward_error(p_drop) == pytest.approx(
        math.sqrt(p_drop / 2), abs=0.01
    )


def _dropout_dense_forward(x, W, b, p_drop, *, rng, training=True):
    keep_prob = 1.0 - p_drop
    scale, mask = 1.0, np.ones(x.shape, dtype=bool)
    if training:
        scale = 1.0 / keep_prob
        mask = rng.random(x.shape) < keep_prob
    x_dropped = x * mask * scale
    return x_dropped @ W + b, (x_dropped, W, mask, scale)


def _buggy_backward(dout, cache):
    x_dropped, W, _mask, scale = cache
    return scale * (dout @ W.T), x_dropped.T @ dout, dout.sum(axis=0)


def _fixed_backward(dout, cache):
    x_dropped, W, mask, scale = cache
    return scale * mask * (dout @ W.T), x_dropped.T @ dout, dout.sum(axis=0)


def test_the_find_the_bug_layer_fails_only_with_dropout_on():
    without = backprop.layer_gradient_errors(_dropout_dense_forward, _buggy_backward, p_drop=0.0)
    assert max(without.values()) < 1e-7
    with_dropout = backprop.layer_gradient_errors(
        _dropout_dense_forward, _buggy_backward, p_drop=0.5
    )
    assert with_dropout["dx"] > 0.1
    assert with_dropout["dW"] < 1e-7 and with_dropout["db"] < 1e-7
    fixed = backprop.layer_gradient_errors(_dropout_dense_forward, _fixed_backward, p_drop=0.5)
    assert max(fixed.values()) < 1e-7

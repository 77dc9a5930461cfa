"""Notebook 03's figures: every widget callback is called with a few slider values."""

import warnings

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

from course_lib.lessons import nb03_inverted_dropout as inverted
from course_lib.lessons.widgets import figure_pixels, slider_key
from figure_helpers import assert_every_move_redraws_in_place, assert_redraws_in_place

matplotlib.use("Agg")


def test_expectation_figure_follows_p_drop():
    pictures = [figure_pixels(inverted.draw_expectations(p)) for p in (0.1, 0.5, 0.8)]
    assert not np.array_equal(pictures[0], pictures[1])
    assert not np.array_equal(pictures[1], pictures[2])


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_equivalent_twin_matches_and_naive_twin_drifts(p_drop):
    result = inverted.train_side_by_side(p_drop, n_steps=30)
    assert result.distance_equivalent.max() < 1e-12
    assert result.distance_naive[-1] > 1e-3
    if p_drop <= 0.5:  # at 0.8 the noise swamps 30 steps of learning at this rate
        assert result.loss_inverted[-5:].mean() < result.loss_inverted[:5].mean()


def test_side_by_side_figure_follows_its_sliders():
    first = figure_pixels(inverted.draw_side_by_side(0.3, 0.05))
    assert not np.array_equal(first, figure_pixels(inverted.draw_side_by_side(0.6, 0.05)))
    assert not np.array_equal(first, figure_pixels(inverted.draw_side_by_side(0.3, 0.2)))


@pytest.mark.parametrize(
    "before, after", [((0.3, 0.05), (0.6, 0.05)), ((0.3, 0.05), (0.8, 10**-0.5))]
)
def test_side_by_side_redraws_in_place_as_a_fresh_figure(before, after):
    names = ("p_drop", "lr")
    assert_redraws_in_place(
        inverted.draw_side_by_side, dict(zip(names, before)), dict(zip(names, after))
    )


def test_the_cached_runs_are_the_runs():
    assert len(inverted.P_DROP_SLIDER) == 8 and len(inverted.LR_SLIDER) == 11
    inverted.precompute_side_by_side((0.3,), (10**-2.75,))
    cached = inverted._side_by_side_of(0.3, slider_key(10**-2.75))
    fresh = inverted.train_side_by_side(0.3, lr=10**-2.75)
    assert np.allclose(cached.distance_naive, fresh.distance_naive, rtol=1e-6)
    assert np.array_equal(cached.steps, fresh.steps)


@pytest.mark.parametrize("before, after", [(0.3, 0.0), (0.0, 0.9), (0.5, 0.1)])
def test_expectations_redraw_in_place_as_a_fresh_figure(before, after):
    assert_redraws_in_place(inverted.draw_expectations, {"p_drop": before}, {"p_drop": after})


def test_a_diverging_run_stops_where_its_loss_explodes_and_the_figure_says_so():
    # lr / keep_prob**2 = 7.9 for the inverted net's twin: the inverted net itself diverges
    result = inverted.train_side_by_side(0.8, lr=10**-0.5)
    step = result.diverged["inverted"]
    assert 1 < step < 60
    assert len(result.distance_equivalent) == len(result.distance_naive) == step - 1
    assert len(result.loss_inverted) == step - 1
    assert np.all(result.loss_inverted <= inverted.DIVERGED_LOSS)
    assert np.all(np.isfinite(result.distance_equivalent))
    title = inverted.draw_side_by_side(0.8, 10**-0.5).axes[0].get_title()
    assert f"diverges at step {step}" in title
    calm = inverted.train_side_by_side(0.3, lr=0.05)
    assert calm.diverged == {} and len(calm.distance_naive) == 60
    assert "diverges" not in inverted.draw_side_by_side(0.3, 0.05).axes[0].get_title()


def test_every_position_of_the_side_by_side_sliders_trains_and_draws_without_a_warning():
    inverted._side_by_side_of.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inverted.precompute_side_by_side()
    sliders = {
        "p_drop": widgets.FloatSlider(value=0.5, min=0.1, max=0.8, step=0.1),
        "lr": widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=-0.5, step=0.25),
    }
    grid = {
        "p_drop": [0.1 * k for k in range(1, 9)],
        "lr": [10 ** (-3 + 0.25 * k) for k in range(11)],
    }
    assert_every_move_redraws_in_place(inverted.draw_side_by_side, sliders, grid)
    # the grid and the starting lr (at which p_drop moves first), nothing else
    assert inverted._side_by_side_of.cache_info().currsize == 8 * 12


def test_every_position_of_the_expectation_slider_draws_in_place_without_a_warning():
    p_drop = widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05)
    grid = {"p_drop": [0.05 * k for k in range(19)]}
    assert_every_move_redraws_in_place(inverted.draw_expectations, {"p_drop": p_drop}, grid)

"""Notebook 03's figures: every widget callback is called with a few slider values."""

import matplotlib
import numpy as np
import pytest

from course_lib.lessons import nb03_inverted_dropout as inverted
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import assert_redraws_in_place

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
    cached = inverted._side_by_side_of(0.3, inverted._slider_key(10**-2.75))
    fresh = inverted.train_side_by_side(0.3, lr=10**-2.75)
    assert np.allclose(cached.distance_naive, fresh.distance_naive, rtol=1e-6)
    assert np.array_equal(cached.steps, fresh.steps)


@pytest.mark.parametrize("before, after", [(0.3, 0.0), (0.0, 0.9), (0.5, 0.1)])
def test_expectations_redraw_in_place_as_a_fresh_figure(before, after):
    assert_redraws_in_place(inverted.draw_expectations, {"p_drop": before}, {"p_drop": after})

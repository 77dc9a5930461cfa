"""Notebook 02's figures and computations: every widget callback follows its sliders, and the
numbers the notebook prints agree with the Binomial law."""

import math

import matplotlib
import numpy as np
import pytest
from scipy import stats

from course_lib.checks import assert_binomial_count
from course_lib.lessons import nb02_bernoulli_binomial as binomial
from course_lib.lessons.widgets import figure_pixels
from figure_helpers import (
    assert_every_move_redraws_in_place,
    assert_inside_figure,
    assert_redraws_in_place,
    overlapping_texts,
)

matplotlib.use("Agg")

ALPHA = 1e-9  # false-failure probability of each statistical assertion below


def _differ(first, second):
    return not np.array_equal(figure_pixels(first), figure_pixels(second))


def test_mask_picture_follows_p_drop_and_the_draw():
    base = binomial.draw_masks(0.5, seed=0)
    assert _differ(base, binomial.draw_masks(0.2, seed=0))
    assert _differ(base, binomial.draw_masks(0.5, seed=1))
    assert not _differ(base, binomial.draw_masks(0.5, seed=0))  # reproducible


@pytest.mark.parametrize("changed", [{"n": 200}, {"p_drop": 0.1}, {"n_layers": 300}])
def test_dropped_count_figure_follows_each_slider(changed):
    base = {"n": 1024, "p_drop": 0.5, "n_layers": 2000}
    assert _differ(
        binomial.draw_dropped_counts(**base), binomial.draw_dropped_counts(**{**base, **changed})
    )


@pytest.mark.parametrize("n,p_drop", [(10, 0.0), (10, 0.95), (4096, 0.05), (2, 0.5)])
def test_dropped_count_figure_draws_at_the_slider_ends(n, p_drop):
    figure = binomial.draw_dropped_counts(n, p_drop, 100)
    assert figure_pixels(figure).size


def test_concentration_figure_follows_p_drop():
    assert _differ(binomial.draw_concentration(0.5), binomial.draw_concentration(0.2))


def test_dropped_counts_are_binomial():
    n, p_drop, n_layers = 64, 0.3, 20_000
    dropped = binomial.dropped_counts(n, p_drop, n_layers, seed=5)
    assert dropped.shape == (n_layers,) and dropped.min() >= 0 and dropped.max() <= n
    # each layer drops exactly the mode with probability pmf(mode): the number that do is binomial
    mode = int((n + 1) * p_drop)
    assert_binomial_count(
        int(np.sum(dropped == mode)), n_layers, float(stats.binom.pmf(mode, n, p_drop)), alpha=ALPHA
    )
    # and the total over all layers is Binomial(n * n_layers, p_drop)
    assert_binomial_count(int(dropped.sum()), n * n_layers, p_drop, alpha=ALPHA)


def test_spread_table_matches_the_formula_and_falls_as_one_over_root_n():
    rows = binomial.spread_table(ns=(100, 10_000), p_drop=0.5, n_layers=2000, seed=0)
    small, large = rows
    assert small.relative_spread == pytest.approx(0.1)
    assert large.relative_spread == pytest.approx(0.01)
    for row in rows:
        assert row.mean == row.n * 0.5 and row.sd == pytest.approx(math.sqrt(row.n) / 2)
        # sample sd of 2000 near-normal counts: relative error sd * sqrt(1 / (2 * 1999)),
        # about 1.6%; 15% is more than 9 of those (plus the mean's far smaller error)
        assert row.measured_relative_spread == pytest.approx(row.relative_spread, rel=0.15)


def test_count_moments_kept_and_dropped_share_the_variance():
    moments = binomial.count_moments(1000, 0.2, n_layers=5000, seed=0)
    assert (moments.kept_mean, moments.dropped_mean) == (800.0, 200.0)
    assert moments.kept_var == moments.dropped_var == pytest.approx(160.0)
    assert moments.measured_kept_var == pytest.approx(moments.measured_dropped_var)
    assert moments.measured_kept_mean + moments.measured_dropped_mean == pytest.approx(1000)
    # mean of 5000 counts with sd sqrt(160): its own sd is 0.18; 6.1 of those is 1.1
    assert moments.measured_dropped_mean == pytest.approx(200, abs=1.1)
    # sample variance of 5000 near-normal counts: sd 160 * sqrt(2 / 4999) = 3.2; 25 is ~8 sd
    assert moments.measured_dropped_var == pytest.approx(160, abs=25)


def test_pair_table_shows_independence():
    table = binomial.pair_table(0.3, n_layers=200_000, seed=0)
    assert table["keep_prob²"] == pytest.approx(0.49)
    # both kept: Binomial(200 000, 0.49) under independence
    assert_binomial_count(round(table["P(both kept)"] * 200_000), 200_000, 0.49, alpha=ALPHA)
    assert abs(table["correlation"]) < 0.02


@pytest.mark.parametrize("before, after", [((0.5, 0), (0.2, 0)), ((0.5, 0), (0.95, 7))])
def test_masks_redraw_in_place_as_a_fresh_figure(before, after):
    names = ("p_drop", "seed")
    assert_redraws_in_place(binomial.draw_masks, dict(zip(names, before)), dict(zip(names, after)))


@pytest.mark.parametrize(
    "before, after",
    [
        ((1024, 0.5, 5000), (1024, 0.3, 5000)),  # the x range moves
        ((1024, 0.5, 5000), (20, 0.1, 100)),  # few counts: the pmf gets markers
        ((20, 0.1, 100), (4096, 0.95, 10_000)),
        ((1024, 0.5, 5000), (1024, 0.0, 5000)),  # nothing dropped
    ],
)
def test_dropped_counts_redraw_in_place_as_a_fresh_figure(before, after):
    names = ("n", "p_drop", "n_layers")
    assert_redraws_in_place(
        binomial.draw_dropped_counts, dict(zip(names, before)), dict(zip(names, after))
    )


def _slider(kind, value, low, high, step):
    import ipywidgets as widgets

    return getattr(widgets, kind)(value=value, min=low, max=high, step=step)


def test_mask_sliders_move_through_their_positions_in_place():
    sliders = {
        "p_drop": _slider("FloatSlider", 0.5, 0.0, 0.95, 0.05),
        "seed": _slider("IntSlider", 0, 0, 30, 1),
    }
    # every p_drop the notebook's slider sends, each with three draws
    grid = {"p_drop": [round(0.05 * k, 2) for k in range(20)], "seed": [3, 17, 30]}
    assert_every_move_redraws_in_place(binomial.draw_masks, sliders, grid)


def test_count_sliders_move_through_their_positions_in_place():
    sliders = {
        "n": _slider("IntSlider", 1024, 10, 4096, 2),
        "p_drop": _slider("FloatSlider", 0.5, 0.0, 0.95, 0.05),
        "n_layers": _slider("IntSlider", 5000, 100, 10_000, 100),
    }
    grid = {
        "n": [10, 20, 826, 4096],
        "p_drop": [0.0, 0.05, 0.1, 0.5, 0.95],
        "n_layers": [100, 10_000],
    }
    assert_every_move_redraws_in_place(binomial.draw_dropped_counts, sliders, grid)


@pytest.mark.parametrize("n,p_drop", [(10, 0.95), (1024, 0.5), (4096, 0.05)])
def test_count_figure_fits_and_its_texts_do_not_overlap(n, p_drop):
    figure = binomial.draw_dropped_counts(n, p_drop, 10_000)
    assert_inside_figure(figure)
    assert overlapping_texts(figure) == []


def test_mask_figure_fits_and_its_texts_do_not_overlap():
    figure = binomial.draw_masks(0.55)
    assert_inside_figure(figure)
    assert overlapping_texts(figure) == []


def test_mask_rows_list_their_dropped_counts():
    figure = binomial.draw_masks(0.3, seed=4)
    masks = binomial.sample_mask((12, 48), 0.3, rng=np.random.default_rng(4))
    shown = [
        int(text.get_text()) for text in figure.axes[0].texts if text.get_text().strip().isdigit()
    ]
    assert shown == [48 - int(row.sum()) for row in masks]


def test_count_figure_lists_the_law_and_the_sample():
    figure = binomial.draw_dropped_counts(1024, 0.5, 5000)
    texts = [text.get_text() for text in figure.axes[1].texts]
    listed = dict(zip(texts[0::2], texts[1::2]))  # label, then its value
    low, high = binomial.dropped_count_range(1024, 0.5)
    assert listed["95% central range"] == f"[{low}, {high}]"
    assert listed["sampled masks in it"].endswith("of 5000")
    assert listed["most likely count"] == "512 dropped"
    assert listed["its probability"] == f"{binomial.prob_exactly_dropped(1024, 512, 0.5):.4f}"
    # the curve is the pmf over the fraction k / n, divided by its peak
    pmf = figure.axes[0].lines[0]
    fractions, heights = pmf.get_data()
    assert max(heights) == 1.0 and fractions[np.argmax(heights)] == 0.5

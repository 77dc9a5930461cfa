"""Notebook 05's figures and computations: every widget callback follows its controls, and the
numbers the notebook states are what the computations give."""

import json
import math
from pathlib import Path

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest

from course_lib.lessons import nb05_variants as lesson
from course_lib.lessons.widgets import figure_pixels
from course_lib.variants import ALPHA_PRIME, alpha_dropout_affine
from figure_helpers import (
    assert_every_move_redraws_in_place,
    assert_inside_figure,
    assert_redraws_in_place,
    overlapping_texts,
)

matplotlib.use("Agg")


def _pixels(figure):
    import matplotlib.pyplot as plt

    pixels = figure_pixels(figure)
    plt.close(figure)
    return pixels


# --- the data -------------------------------------------------------------------------------


def test_digit_and_feature_maps():
    image = lesson.digit_image()
    assert image.shape == (8, 8) and image.min() >= 0 and image.max() <= 1
    maps = lesson.feature_maps()
    assert maps.shape == (1, 4, 32, 32) and not maps.flags.writeable
    np.testing.assert_allclose(maps.mean(axis=(2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(maps.std(axis=(2, 3)), 1, rtol=1e-12)
    # the premise of section 1: neighbouring pixels are strongly correlated
    assert np.all(lesson.neighbour_correlation(maps[0]) > 0.85)


# --- pixel vs channel -----------------------------------------------------------------------


def test_recovery_error_extremes():
    maps = lesson.feature_maps()[0]
    assert lesson.recovery_error(maps, np.ones(maps.shape, dtype=bool)) == 0.0
    nothing_kept = np.zeros(maps.shape, dtype=bool)
    assert lesson.recovery_error(maps, nothing_kept) == pytest.approx(1.0)
    # a constant map is recovered exactly from any kept neighbour
    constant = np.full((1, 6, 6), 3.0)
    kept = np.ones((1, 6, 6), dtype=bool)
    kept[0, 2, 3] = False
    assert lesson.recovery_error(constant, kept) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("p_drop", [0.1, 0.5])
def test_pixels_come_back_and_channels_do_not(p_drop):
    result = lesson.pixel_vs_channel(p_drop, seed=1)
    assert result.pixel < 0.3  # what the notebook states: about 11% and 21%
    assert result.channel == pytest.approx(1.0)
    assert result.pixel_masks.shape == (4, 32, 32) and result.channel_masks.shape == (4, 1, 1)


def test_pixel_error_grows_with_p_drop():
    errors = [lesson.pixel_vs_channel(p).pixel for p in (0.1, 0.3, 0.5, 0.7)]
    assert errors == sorted(errors)


# --- Gaussian, alpha ------------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.8])
def test_factor_moments_match(p_drop):
    moments = lesson.factor_moments(p_drop, n=400_000)
    exact = p_drop / (1 - p_drop)
    assert moments.exact_var == pytest.approx(exact)
    # 1e6-draw means within 8 standard deviations of 1 (std sqrt(exact / n))
    tolerance = 8 * math.sqrt(exact / 400_000)
    assert abs(moments.bernoulli_mean - 1) < tolerance
    assert abs(moments.gaussian_mean - 1) < tolerance
    assert moments.bernoulli_var == pytest.approx(exact, rel=0.05)
    assert moments.gaussian_var == pytest.approx(exact, rel=0.05)


def test_zero_dropping_moments():
    moments = lesson.zero_dropping_moments(0.1, n=400_000)
    assert moments["inverted"].var == pytest.approx(1 / 0.9, rel=0.02)
    assert moments["alpha' only"].mean == pytest.approx(0.1 * ALPHA_PRIME, abs=0.01)
    assert moments["alpha"].mean == pytest.approx(0.0, abs=0.01)
    assert moments["alpha"].var == pytest.approx(1.0, rel=0.02)


def test_affine_table_uses_the_reference_constants():
    for p_drop, a, b, dropped in lesson.affine_constants_table():
        assert (a, b) == alpha_dropout_affine(p_drop)
        assert dropped == pytest.approx(a * ALPHA_PRIME + b)


def test_alpha_dropout_keeps_a_selu_network_normalized():
    result = lesson.selu_depth_statistics(0.1, depth=10, width=128, n=300)
    assert set(result.means) == {"no dropout", "alpha", "inverted"}
    assert np.all(np.abs(result.variances["alpha"] - 1) < 0.1)
    assert np.all(np.abs(result.means["alpha"]) < 0.1)
    assert result.variances["inverted"][-1] > 1.3  # the drift the notebook shows


# --- DropConnect ----------------------------------------------------------------------------


def test_dropconnect_has_the_variance_of_input_dropout_but_no_correlation():
    result = lesson.dropconnect_vs_dropout(0.5, n_draws=8000)
    exact_input, exact_dc = result["exact, dropout on x"], result["exact, DropConnect"]
    for name, exact in (("dropout on x", exact_input), ("DropConnect", exact_dc)):
        assert result[name].var_first == pytest.approx(exact.var_first, rel=0.1)
        assert result[name].var_second == pytest.approx(exact.var_second, rel=0.1)
    assert result["dropout on x"].correlation == pytest.approx(exact_input.correlation, abs=0.05)
    assert exact_input.correlation > 0.8
    assert abs(result["DropConnect"].correlation) < 0.07  # 8000 draws: std about 0.011


def test_blur_matrix_columns_sum_to_one():
    W = lesson.blur_matrix(6)
    assert W.shape == (36, 36)
    np.testing.assert_allclose(W.sum(axis=0), 1.0)
    assert np.argmax(W[:, 14]) == 14  # each pixel's output leans most on the pixel itself


# --- the widget -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", lesson.VARIANTS[:-1])
def test_apply_variant(variant):
    view = lesson.apply_variant(variant, 0.4, seed=2)
    assert view.inputs.shape == view.noise.shape == view.outputs.shape == (4, 32, 32)
    if variant == "none":
        assert np.array_equal(view.outputs, view.inputs) and view.noise.all()
    elif variant == "spatial":
        assert np.array_equal(view.noise, np.broadcast_to(view.noise[:, :1, :1], view.noise.shape))
    elif variant == "Gaussian":
        assert view.noise.dtype.kind == "f" and np.allclose(view.outputs, view.inputs * view.noise)
    else:
        assert view.noise.dtype == bool and 0.4 < view.noise.mean() < 0.8


def test_apply_variant_rejects_unknown_names():
    with pytest.raises(ValueError, match="variant must be one of"):
        lesson.apply_variant("DropConnect", 0.3)


def test_dropconnect_view():
    image, thinned, dense, out = lesson.dropconnect_view(0.3, seed=1)
    assert image.shape == dense.shape == out.shape == (16, 16) and thinned.shape == (256, 256)
    W = lesson.blur_matrix(16)
    kept = thinned != 0
    np.testing.assert_allclose(thinned[kept], W[kept] / 0.7)
    np.testing.assert_allclose(out.ravel(), image.ravel() @ thinned, atol=1e-12)


@pytest.mark.parametrize("variant", lesson.VARIANTS)
def test_variant_figure_follows_every_control(variant):
    first = _pixels(lesson.draw_variant(variant, 0.3, 0))
    assert not np.array_equal(first, _pixels(lesson.draw_variant(variant, 0.6, 0)))
    if variant != "none":  # "none" draws no random numbers
        assert not np.array_equal(first, _pixels(lesson.draw_variant(variant, 0.3, 1)))


def test_variant_figure_changes_with_the_variant():
    pictures = [_pixels(lesson.draw_variant(variant, 0.3, 0)) for variant in lesson.VARIANTS]
    for i, picture in enumerate(pictures):
        for other in pictures[i + 1 :]:
            assert picture.shape != other.shape or not np.array_equal(picture, other)


def test_pixel_figure_follows_its_sliders():
    first = _pixels(lesson.draw_pixel_vs_channel(0.5, 0))
    assert not np.array_equal(first, _pixels(lesson.draw_pixel_vs_channel(0.2, 0)))
    assert not np.array_equal(first, _pixels(lesson.draw_pixel_vs_channel(0.5, 3)))


def test_gaussian_figure_follows_p_drop():
    first = _pixels(lesson.draw_gaussian_vs_bernoulli(0.2))
    assert not np.array_equal(first, _pixels(lesson.draw_gaussian_vs_bernoulli(0.6)))


@pytest.mark.parametrize(
    "draw,args_a,args_b",
    [
        (lesson.draw_selu_depth, (0.1,), (0.3,)),
        (lesson.draw_dropblock, (0.3, 7), (0.3, 3)),
        (lesson.draw_concrete_and_targeted, (0.3,), (0.6,)),
    ],
)
def test_static_figures_follow_their_arguments(draw, args_a, args_b):
    assert not np.array_equal(_pixels(draw(*args_a)), _pixels(draw(*args_b)))


def test_time_mask_figure():
    rng = np.random.default_rng(0)
    fresh = rng.random((10, 8)) < 0.7
    tied = np.broadcast_to(fresh[0], (10, 8))
    assert not np.array_equal(
        _pixels(lesson.draw_time_masks(fresh, tied)), _pixels(lesson.draw_time_masks(tied, tied))
    )


# --- placement ------------------------------------------------------------------------------


def test_order_of_relu_and_dropout_does_not_matter():
    assert lesson.order_difference("relu") == 0.0
    assert lesson.order_difference("tanh") > 0.1
    assert lesson.order_difference("selu") > 0.1
    with pytest.raises(ValueError, match="activation must be one of"):
        lesson.order_difference("gelu")


@pytest.mark.parametrize("p_drop", [0.1, 0.5])
def test_variance_shift_matches_its_formula(p_drop):
    shift = lesson.variance_shift(p_drop, n=200_000)
    assert shift.train_var == pytest.approx(shift.exact_train_var, rel=0.02)
    assert shift.test_var == pytest.approx(shift.exact_test_var, rel=0.02)
    assert shift.gaussian_train_var == pytest.approx(shift.exact_train_var, rel=0.02)
    assert shift.test_std_after_bn < 1
    if p_drop == 0.5:
        assert shift.test_std_after_bn == pytest.approx(0.637, abs=0.01)


@pytest.mark.parametrize("before, after", [((0.5, 0), (0.2, 0)), ((0.5, 0), (0.9, 3))])
def test_pixel_vs_channel_redraws_in_place_as_a_fresh_figure(before, after):
    names = ("p_drop", "seed")
    assert_redraws_in_place(
        lesson.draw_pixel_vs_channel, dict(zip(names, before)), dict(zip(names, after))
    )


@pytest.mark.parametrize("before, after", [(0.5, 0.05), (0.2, 0.9)])
def test_gaussian_vs_bernoulli_redraws_in_place_as_a_fresh_figure(before, after):
    assert_redraws_in_place(
        lesson.draw_gaussian_vs_bernoulli, {"p_drop": before}, {"p_drop": after}
    )


def test_every_position_of_the_gaussian_slider_redraws_in_place_without_a_warning():
    p_drop = widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05)
    grid = {"p_drop": [0.05 + 0.05 * k for k in range(18)]}  # the floats a frontend sends
    lesson._preactivation_sums.cache_clear()
    lesson.precompute_gaussian_vs_bernoulli()
    assert_every_move_redraws_in_place(lesson.draw_gaussian_vs_bernoulli, {"p_drop": p_drop}, grid)
    # every frontend value found its precomputed position
    assert lesson._preactivation_sums.cache_info().currsize == 18


def test_precomputed_preactivations_are_the_draws():
    assert len(lesson.GAUSSIAN_P_DROP_SLIDER) == 18
    lesson.precompute_gaussian_vs_bernoulli((0.35,))
    hits = lesson._preactivation_sums.cache_info().hits
    lesson.draw_gaussian_vs_bernoulli(0.35)
    assert lesson._preactivation_sums.cache_info().hits == hits + 1


@pytest.mark.parametrize("variant", lesson.VARIANTS)
def test_variant_redraws_in_place_as_a_fresh_figure(variant):
    names = ("variant", "p_drop", "seed")
    assert_redraws_in_place(
        lesson.draw_variant,
        dict(zip(names, (variant, 0.3, 0))),
        dict(zip(names, (variant, 0.6, 4))),
    )


def test_another_variant_gets_a_new_figure():
    spatial = lesson.draw_variant("spatial", 0.3, 0)
    assert lesson.draw_variant("Gaussian", 0.3, 0, figure=spatial) is not spatial
    assert lesson.draw_variant("DropConnect", 0.3, 0, figure=spatial) is not spatial


# --- nothing cut off, nothing on top of something else ----------------------------------------


@pytest.mark.parametrize("variant", lesson.VARIANTS)
def test_every_variant_figure_stays_inside_its_edges_as_the_sliders_move(variant):
    """The layout is computed once, for p_drop 0.5, and the sliders then change the colour
    limits and their tick labels: a wider label once pushed a colour bar's "value" past the
    figure's right edge (Gaussian at p_drop 0 and 0.3, inverted at 0.5 and 0.9, spatial at 0.5
    with seed 7, alpha at 0.9). Redrawn in place, as the widget does."""
    import matplotlib.pyplot as plt

    figure = lesson.draw_variant(variant, 0.5, 0)
    for seed in (0, 7):
        for p_drop in (0.0, 0.3, 0.5, 0.9):
            assert lesson.draw_variant(variant, p_drop, seed, figure=figure) is figure
            try:
                assert_inside_figure(figure)
            except AssertionError as error:
                raise AssertionError(f"p_drop {p_drop}, seed {seed}: {error}") from None
    plt.close(figure)


def test_no_colour_bar_tick_label_is_wider_than_the_one_laid_out_for():
    """Over the whole slider range (p_drop 0 to 0.9 by 0.05, seeds 0, 25 and 50), every tick
    label of a colour bar of the variant figure is at most as wide as the label the layout
    reserved room for, so the test above holds between the positions it draws."""
    import matplotlib.pyplot as plt
    from matplotlib.textpath import TextPath

    def width(label: str) -> float:
        return TextPath((0, 0), label, size=10).get_extents().width

    reserved = width(lesson._WIDEST_TICK_LABEL)
    widest = ("", 0.0)
    for variant in lesson.VARIANTS[:-1]:
        figure = lesson.draw_variant(variant, 0.5, 0)
        images = [image for axis in figure.axes for image in axis.images]
        colorbars = [image.colorbar for image in images if image.colorbar is not None]
        assert colorbars
        for seed in (0, 25, 50):
            for k in range(19):
                lesson.draw_variant(variant, round(0.05 * k, 6), seed, figure=figure)
                for colorbar in colorbars:
                    low, high = colorbar.mappable.get_clim()
                    ticks = [t for t in colorbar.locator.tick_values(low, high) if low <= t <= high]
                    for label in colorbar.formatter.format_ticks(ticks):
                        widest = max(widest, (label, width(label)), key=lambda pair: pair[1])
        plt.close(figure)
    assert widest[1] <= reserved, f"{widest[0]!r} is wider than the layout's tick label"


def test_the_edge_check_catches_a_colour_bar_label_cut_off():
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4, 3))
    colorbar = figure.colorbar(axis.imshow(np.eye(3)), label="value")
    assert_inside_figure(figure)
    colorbar.ax.set_position((0.9, 0.1, 0.05, 0.8))  # the label now lies past the right edge
    with pytest.raises(AssertionError, match="right"):
        assert_inside_figure(figure)
    plt.close(figure)


def test_the_overlap_check_catches_a_title_under_a_suptitle():
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4, 3))
    axis.set_title("a title")
    assert overlapping_texts(figure) == []
    figure.suptitle("a suptitle", y=axis.title.get_position()[1])
    figure.subplots_adjust(top=0.95)
    assert overlapping_texts(figure)
    plt.close(figure)


def _noise_experiment_figure():
    from course_lib.lessons import nb05_noise_experiment

    return nb05_noise_experiment.draw_noise_experiment(nb05_noise_experiment.load_results())


def _time_mask_figure():
    fresh = np.random.default_rng(3).random((20, 12)) < 0.7
    return lesson.draw_time_masks(fresh, np.broadcast_to(fresh[0], fresh.shape))


STATIC_FIGURES = {
    "pixel vs channel, p_drop 0.05": lambda: lesson.draw_pixel_vs_channel(0.05, 0),
    "pixel vs channel, p_drop 0.9": lambda: lesson.draw_pixel_vs_channel(0.9, 20),
    "Gaussian vs Bernoulli, p_drop 0.05": lambda: lesson.draw_gaussian_vs_bernoulli(0.05),
    "Gaussian vs Bernoulli, p_drop 0.9": lambda: lesson.draw_gaussian_vs_bernoulli(0.9),
    "noise experiment": _noise_experiment_figure,
    "SELU depth": lambda: lesson.draw_selu_depth(p_drop=0.1),
    "time masks": _time_mask_figure,
    "DropBlock": lambda: lesson.draw_dropblock(p_drop=0.3, block_size=7),
    "concrete and targeted": lambda: lesson.draw_concrete_and_targeted(p_drop=0.3),
    **{
        f"variant {variant}": (lambda variant=variant: lesson.draw_variant(variant, 0.3, 0))
        for variant in lesson.VARIANTS
    },
}


@pytest.mark.parametrize("name", STATIC_FIGURES)
def test_every_figure_of_the_notebook_has_no_text_cut_off_or_overlapping(name):
    import matplotlib.pyplot as plt

    figure = STATIC_FIGURES[name]()
    assert_inside_figure(figure)
    assert overlapping_texts(figure) == []
    plt.close(figure)


@pytest.mark.parametrize("p_drop", lesson.GAUSSIAN_P_DROP_SLIDER)
def test_the_gaussian_figures_legends_sit_above_the_curves(p_drop):
    """Each legend keeps to the top of its panel, where the y axis leaves room above the
    highest bar, curve or histogram step."""
    import matplotlib.pyplot as plt

    figure = lesson.draw_gaussian_vs_bernoulli(p_drop)
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    for axis in figure.axes:
        data_top = max(
            [line.get_ydata().max() for line in axis.lines if len(line.get_ydata()) > 2]
            + [patch.get_data().values.max() for patch in axis.patches]
            + [segment[:, 1].max() for c in axis.collections for segment in c.get_segments()]
        )
        legend_bottom = axis.get_legend().get_window_extent(renderer).y0
        assert axis.transData.transform((0, data_top))[1] < legend_bottom
    plt.close(figure)


# --- length ---------------------------------------------------------------------------------

#: the most words the markdown of the student notebook may hold. It was cut from 5,219 to under
#: this; students read every word, so a new paragraph has to make room for itself.
WORD_BUDGET = 4_300
STUDENT_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_variants.ipynb"


def markdown_words(notebook: dict) -> int:
    """Whitespace-separated words in the markdown cells of ``notebook`` (a parsed .ipynb)."""
    return sum(
        len("".join(cell["source"]).split())
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
    )


def test_the_notebooks_prose_stays_within_its_word_budget():
    words = markdown_words(json.loads(STUDENT_NOTEBOOK.read_text()))
    assert words <= WORD_BUDGET, f"{words} words of markdown, budget {WORD_BUDGET}"


def test_markdown_words_counts_only_markdown_cells():
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": ["## Two words\n", "and three more"]},
            {"cell_type": "code", "source": ["x = 1  # not counted"]},
        ]
    }
    assert markdown_words(notebook) == 6

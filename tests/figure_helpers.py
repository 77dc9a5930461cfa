"""Checks shared by the lesson tests of figures that a slider redraws in place."""

from __future__ import annotations

import numpy as np

from course_lib.lessons.widgets import figure_pixels


def assert_redraws_in_place(draw, before: dict, after: dict) -> None:
    """``draw(**after, figure=draw(**before))`` reuses the figure and shows exactly the pixels
    of a fresh ``draw(**after)``, and ``before`` and ``after`` draw different pictures."""
    figure = draw(**before)
    first = figure_pixels(figure)
    assert draw(**after, figure=figure) is figure, "the figure was not reused"
    redrawn = figure_pixels(figure)
    fresh = figure_pixels(draw(**after))
    assert not np.array_equal(first, fresh), "the two settings draw the same picture"
    assert redrawn.shape == fresh.shape
    differing = np.count_nonzero(np.any(redrawn != fresh, axis=-1))
    assert differing == 0, f"{differing} pixels differ from a fresh drawing"


def assert_inside_figure(figure) -> None:
    """Everything ``figure`` draws (tick labels, axis and colour-bar labels, titles, legends)
    lies inside the figure, so nothing is cut off at its edge. The notebooks show a figure's own
    pixels, without ``bbox_inches="tight"``, which would otherwise widen the picture to fit."""
    from course_lib.lessons.widgets import render

    render(figure)
    drawn = figure.get_tightbbox(figure.canvas.get_renderer())  # inches
    width, height = figure.get_size_inches()
    slack = 0.5 / figure.dpi  # half a pixel of rounding
    outside = {
        "left": -drawn.x0,
        "bottom": -drawn.y0,
        "right": drawn.x1 - width,
        "top": drawn.y1 - height,
    }
    cut = {edge: f"{100 * inches:.0f} px" for edge, inches in outside.items() if inches > slack}
    assert not cut, f"drawn past the figure's edge by {cut} (at 100 dpi)"


def overlapping_texts(figure) -> list[tuple[str, str]]:
    """Pairs of texts of ``figure`` that overlap: titles, the figure's own texts, texts placed
    in axes, axis labels and legends (tick labels are left out)."""
    import itertools

    from course_lib.lessons.widgets import render

    render(figure)
    renderer = figure.canvas.get_renderer()
    texts = [text for text in figure.texts if text.get_text()]
    for axis in figure.axes:
        texts += [axis.title, axis.xaxis.label, axis.yaxis.label, *axis.texts]
        texts += [axis.get_legend()] if axis.get_legend() is not None else []
    shown = [
        (text, text.get_window_extent(renderer))
        for text in texts
        if text.get_visible() and (not hasattr(text, "get_text") or text.get_text())
    ]

    def name(text) -> str:
        return text.get_text()[:40] if hasattr(text, "get_text") else "legend"

    overlaps = []
    for (a, box_a), (b, box_b) in itertools.combinations(shown, 2):
        width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if width > 0.5 and height > 0.5:  # more than half a pixel each way
            overlaps.append((name(a), name(b)))
    return overlaps


class PngHandle:
    """Stands in for a notebook's display handle: counts the PNG figures it is given."""

    def __init__(self):
        self.updates = 0

    def update(self, image):
        assert image.data.startswith(b"\x89PNG")
        self.updates += 1


def assert_every_move_redraws_in_place(draw, sliders: dict, grid: dict) -> None:
    """Move the sliders (``grid``: slider name -> values, as a frontend sends them; the first
    name is the outermost loop) through every combination of values, through the real callback
    of ``live_figure`` and its PNG, with every warning an error: the figure is redrawn in place
    and no axis limit moves, so that every move draws only what changed."""
    import itertools
    import warnings

    from course_lib.lessons.widgets import live_figure

    combinations = list(itertools.product(*grid.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        live = live_figure(draw, sliders, display_now=False)
        live.handle = PngHandle()
        figure = live.render()
        limits = [(axis.get_xlim(), axis.get_ylim()) for axis in figure.axes]
        for values in combinations:
            for name, value in zip(grid, values):
                sliders[name].value = value
            assert live.figure is figure
            assert [(a.get_xlim(), a.get_ylim()) for a in figure.axes] == limits
    # each combination differs from the one before, so each redraws (the first maybe not)
    assert live.handle.updates == live.redraws >= len(combinations) - 1

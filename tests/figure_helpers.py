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

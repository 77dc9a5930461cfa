"""The live-figure helper: moving a control calls the drawing function and replaces the figure,
redrawn in place when the drawing function can."""

import io

import ipywidgets as widgets
import matplotlib
import matplotlib.image
import numpy as np
import pytest
from PIL import Image

from course_lib.lessons.widgets import (
    figure_pixels,
    figure_png,
    live_figure,
    png_bytes,
    recall_parts,
    remember_parts,
)

matplotlib.use("Agg")


def _draw(level=1.0):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(2, 2))
    axis.bar([0], [level])
    axis.set_ylim(0, 2)
    return figure


def _draw_in_place(level=1.0, *, figure=None):
    import matplotlib.pyplot as plt

    parts = recall_parts(figure, _draw_in_place)
    if parts is None:
        new_figure, axis = plt.subplots(figsize=(2, 2))
        bar = axis.bar([0], [0.0])[0]
        parts = remember_parts(new_figure, _draw_in_place, moving=(bar,), axis=axis, bar=bar)
    parts.bar.set_height(level)
    parts.axis.set_ylim(0, max(2.0, 1.2 * level))  # tall bars change the axis: a full redraw
    return parts.figure


def _png_pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


class RecordingHandle:
    def __init__(self):
        self.updates = []

    def update(self, image):
        self.updates.append(_png_pixels(image.data))


def test_moving_a_control_redraws_with_its_value():
    slider = widgets.FloatSlider(value=0.5, min=0, max=2)
    live = live_figure(_draw, {"level": slider}, display_now=False)
    live.handle = RecordingHandle()
    slider.value = 1.5
    slider.value = 0.25
    assert live.redraws == 2 and len(live.handle.updates) == 2
    assert not np.array_equal(live.handle.updates[0], live.handle.updates[1])
    assert np.array_equal(live.handle.updates[1], _png_pixels(figure_png(_draw(0.25))))


def test_a_drawing_that_takes_figure_is_redrawn_in_place_and_shows_the_same_pixels():
    slider = widgets.FloatSlider(value=0.5, min=0, max=4)
    live = live_figure(_draw_in_place, {"level": slider}, display_now=False)
    live.handle = RecordingHandle()
    first = live.render()
    slider.value = 1.5
    slider.value = 0.25
    assert live.figure is first and live.redraws == 2
    assert not np.array_equal(live.handle.updates[0], live.handle.updates[1])
    assert np.array_equal(live.handle.updates[1], _png_pixels(figure_png(_draw_in_place(0.25))))
    for level in (3.0, 0.5, 0.5, 1.9):  # a new axis limit, back to the old one, the same twice
        slider.value = level
        assert live.figure is first
        shown = (live.handle.updates[-1] * 255).round().astype(np.uint8)
        assert np.array_equal(shown, figure_pixels(_draw_in_place(level)))


def test_parts_are_recalled_only_for_the_drawing_that_built_the_figure():
    figure = _draw_in_place(1.0)
    parts = recall_parts(figure, _draw_in_place)
    assert parts is not None and parts.figure is figure
    assert recall_parts(figure, _draw) is None
    assert recall_parts(_draw(1.0), _draw_in_place) is None
    assert recall_parts(None, _draw_in_place) is None
    assert _draw_in_place(0.5, figure=figure) is figure
    assert _draw_in_place(0.5, figure=_draw(1.0)) is not figure


def test_the_png_is_the_rendered_figure():
    figure = _draw(0.7)
    png = figure_png(figure)
    assert png.startswith(b"\x89PNG")
    assert np.array_equal((_png_pixels(png) * 255).round().astype(np.uint8), figure_pixels(figure))


@pytest.mark.parametrize("level", [0, 1, 9])
def test_png_bytes_decode_to_the_same_pixels(level):
    rng = np.random.default_rng(0)
    # noise, flat areas and every alpha value, in a shape that is not square
    pixels = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)
    pixels[10:30, 5:40] = (255, 255, 255, 255)
    png = png_bytes(pixels, level)
    image = Image.open(io.BytesIO(png))
    image.load()  # checks the chunks' CRCs and the zlib stream
    assert image.mode == "RGBA" and image.size == (53, 37)
    assert np.array_equal(np.asarray(image), pixels)


def test_png_bytes_rejects_what_is_not_rgba_bytes():
    with pytest.raises(ValueError, match="pixels"):
        png_bytes(np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="pixels"):
        png_bytes(np.zeros((4, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="level"):
        png_bytes(np.zeros((4, 4, 4), dtype=np.uint8), level=10)


def test_controls_are_laid_out_in_a_box():
    live = live_figure(_draw, {"level": widgets.FloatSlider()}, display_now=False)
    assert isinstance(live.box, widgets.Box)
    assert list(live.box.children) == list(live.controls.values())
    assert live.values() == {"level": 0.0}


def _draw_texts(words=("a", "b", "c"), colour="black", *, figure=None):
    """Three texts, the last two overlapping, under a moving line that crosses them."""
    import matplotlib.pyplot as plt

    parts = recall_parts(figure, _draw_texts)
    if parts is None:
        new_figure, axis = plt.subplots(figsize=(3, 2))
        axis.set(xlim=(0, 1), ylim=(0, 1))
        texts = [axis.text(0.1, 0.8, ""), axis.text(0.1, 0.3, ""), axis.text(0.15, 0.32, "")]
        (line,) = axis.plot([0, 1], [0, 1], linewidth=3)
        parts = remember_parts(new_figure, _draw_texts, moving=(line,), texts=texts, texts_=texts)
    for text, word in zip(parts.texts_, words):
        text.set_text(word)
        text.set_color(colour)
    return parts.figure


@pytest.mark.parametrize(
    "before, after",
    [
        ({"words": ("one", "two", "three")}, {"words": ("one", "two", "four")}),  # overlapping
        ({"words": ("one", "two", "three")}, {"words": ("a much longer one", "two", "three")}),
        ({"words": ("one long text", "", "x")}, {"words": ("one", "two", "x")}),  # shorter
        ({"words": ("one", "two", "three")}, {"words": ("one", "two", "three"), "colour": "red"}),
    ],
)
def test_texts_are_redrawn_only_when_changed_and_show_a_fresh_drawing(before, after):
    from figure_helpers import assert_redraws_in_place

    assert_redraws_in_place(_draw_texts, before, after)


def test_a_run_of_text_changes_keeps_every_pixel_of_a_fresh_drawing():
    rng = np.random.default_rng(0)
    words = ["", "0", "12", "dropped 345", "a longer line of text"]
    figure = _draw_texts()
    for _ in range(12):
        chosen = tuple(words[i] for i in rng.integers(0, len(words), size=3))
        figure = _draw_texts(chosen, figure=figure)
        assert np.array_equal(figure_pixels(figure), figure_pixels(_draw_texts(chosen)))


def test_a_text_with_a_box_is_refused():
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    boxed = axis.text(0, 0, "x", bbox={"facecolor": "w"})
    with pytest.raises(ValueError, match="texts"):
        remember_parts(figure, _draw_texts, texts=(boxed,))

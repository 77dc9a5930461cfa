"""The live-figure helper: moving a control calls the drawing function and replaces the figure."""

import ipywidgets as widgets
import matplotlib
import numpy as np

from course_lib.lessons.widgets import figure_pixels, live_figure

matplotlib.use("Agg")


def _draw(level=1.0):
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(2, 2))
    axis.bar([0], [level])
    axis.set_ylim(0, 2)
    return figure


class RecordingHandle:
    def __init__(self):
        self.updates = []

    def update(self, figure):
        self.updates.append(figure_pixels(figure))


def test_moving_a_control_redraws_with_its_value():
    slider = widgets.FloatSlider(value=0.5, min=0, max=2)
    live = live_figure(_draw, {"level": slider}, display_now=False)
    live.handle = RecordingHandle()
    slider.value = 1.5
    slider.value = 0.25
    assert live.redraws == 2 and len(live.handle.updates) == 2
    assert not np.array_equal(live.handle.updates[0], live.handle.updates[1])
    assert np.array_equal(live.handle.updates[1], figure_pixels(_draw(0.25)))


def test_controls_are_laid_out_in_a_box():
    live = live_figure(_draw, {"level": widgets.FloatSlider()}, display_now=False)
    assert isinstance(live.box, widgets.Box)
    assert list(live.box.children) == list(live.controls.values())
    assert live.values() == {"level": 0.0}

"""The playground's widget layer without a browser: buttons and controls call the state machine,
every frame is drawn on the canvas in one batch, and the displayed output carries a static PNG."""

import asyncio
import base64
import itertools

import matplotlib
import numpy as np
import pytest

from course_lib.lessons import playground as pg
from course_lib.lessons import playground_widget as pw

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


class RecordingCanvas:
    """Stands in for an ipycanvas Canvas: records every drawing call."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args))

    def __setattr__(self, name, value):
        if name == "calls":
            object.__setattr__(self, name, value)
        else:
            self.calls.append((name, (value,)))

    def named(self, name):
        return [args for called, args in self.calls if called == name]


def test_a_frame_draws_both_boundaries_the_points_curves_and_mask():
    playground = pg.Playground()
    playground.step(3)
    canvas = RecordingCanvas()
    pw.draw_frame(canvas, playground)
    assert canvas.calls[0][0] == "clear"
    boundaries = canvas.named("fill_styled_rects")
    assert len(boundaries) == 2
    for (x, y, width, height, colours), name in zip(boundaries, ("dropout", "plain")):
        assert len(x) == len(y) == len(colours) == pg.GRID**2 and width == height == pw._CELL
        expected = pg.boundary_image(playground.boundary(name))[..., :3].reshape(-1, 3)
        assert np.array_equal(colours, expected)
    assert len(canvas.named("stroke_lines")) == 4  # train and test loss of both networks
    segments, _ = canvas.named("stroke_styled_line_segments")[0][:2]
    kept = [mask.sum() for mask in playground.mask]
    assert len(segments) == sum(a * b for a, b in itertools.pairwise(kept))
    units = canvas.named("fill_styled_circles")[-1]
    grey = units[3][:, 0] > 100
    assert grey.sum() == sum(len(mask) - mask.sum() for mask in playground.mask)
    texts = " ".join(args[0] for args in canvas.named("fill_text"))
    assert "step 3" in texts and "p_drop 0.2/0.5/0.5" in texts


def test_buttons_step_reset_and_controls_start_a_new_run():
    widget = pw.PlaygroundWidget()
    widget.buttons["Step"].click()
    widget.buttons["Step"].click()
    assert widget.playground.steps == 2 and widget.player.frames == 2
    assert "step 2" in widget.status.value and "data-frame='2'" in widget.status.value
    widget.buttons["Reset"].click()
    assert widget.playground.steps == 0 and "paused" in widget.status.value
    widget.rate_sliders[1].value = 0.8
    assert widget.playground.settings.rates == (0.2, 0.8, 0.5)
    widget.controls["dataset"].value = "xor"
    widget.controls["noise"].value = 0.1
    widget.controls["n_train"].value = 100
    s = widget.playground.settings
    assert (s.dataset, s.noise, s.n_train, s.rates) == ("xor", 0.1, 100, (0.2, 0.8, 0.5))
    assert len(widget.playground.X_train) == 100


def test_a_gaussian_preset_keeps_its_noise_when_a_control_starts_a_new_run():
    widget = pw.PlaygroundWidget(pg.Settings(n_train=300, dropout_noise="gaussian"))
    assert widget.playground.dropout_net.noise == "gaussian"
    widget.controls["n_train"].value = 100
    assert widget.playground.settings.dropout_noise == "gaussian"
    assert widget.playground.dropout_net.noise == "gaussian"


def test_play_and_pause_buttons_drive_the_player():
    widget = pw.PlaygroundWidget(fps=50)

    async def session():
        widget.buttons["Play"].click()
        assert "playing" in widget.status.value
        await asyncio.sleep(0.3)
        widget.buttons["Pause"].click()
        stopped_at = widget.playground.steps
        await asyncio.sleep(0.1)
        return stopped_at

    stopped_at = asyncio.run(session())
    assert stopped_at >= 2 and widget.playground.steps == stopped_at
    assert "paused" in widget.status.value and f"step {stopped_at} " in widget.status.value


def test_a_control_changed_while_playing_restarts_and_keeps_playing():
    widget = pw.PlaygroundWidget(fps=50)

    async def session():
        widget.play()
        await asyncio.sleep(0.2)
        widget.controls["dataset"].value = "circles"
        assert widget.player.playing and widget.playground.steps == 0
        await asyncio.sleep(0.2)
        widget.pause()

    asyncio.run(session())
    assert widget.playground.settings.dataset == "circles" and widget.playground.steps >= 2


def test_the_displayed_output_is_the_widget_with_a_static_frame():
    widget = pw.PlaygroundWidget()
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == widget.box.model_id
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "dropout-playground" in widget.box._dom_classes


def test_the_mc_slider_changes_the_drawing_not_the_run():
    assert (
        not hasattr(pw.PlaygroundWidget(), "mc_slider") or not pw.PlaygroundWidget().extra_controls
    )
    widget = pw.PlaygroundWidget(pg.Settings(mc_samples=20))
    widget.step()
    widget.mc_slider.value = 40
    assert widget.playground.settings.mc_samples == 40 and widget.playground.steps == 1
    widget.rate_sliders[1].value = 0.3  # a new run keeps the MC setting
    assert widget.playground.settings.mc_samples == 40 and widget.playground.steps == 0


def test_one_playground_plays_at_a_time():
    first, second = pw.PlaygroundWidget(fps=50), pw.PlaygroundWidget(fps=50)

    async def session():
        first.play()
        await asyncio.sleep(0.1)
        second.play()  # e.g. the cell run again: the old playground stops
        assert second.player.playing and not first.player.playing
        await asyncio.sleep(0.1)
        second.pause()

    asyncio.run(session())
    assert "paused" in first.status.value and first.playground.steps >= 1


def test_layer_width_and_learning_rate_controls_start_a_new_run():
    widget = pw.PlaygroundWidget()
    assert widget.layer_slider.value == 2 and widget.controls["lr"].value == pytest.approx(0.01)
    shown = [slider.layout.display != "none" for slider in widget.width_sliders]
    assert shown == [True, True, False]
    widget.step()
    widget.layer_slider.value = 3
    s = widget.playground.settings
    assert s.hidden == (24, 24, pw.NEW_LAYER[0]) and s.rates == (0.2, 0.5, 0.5, pw.NEW_LAYER[1])
    assert widget.playground.steps == 0 and widget.width_sliders[2].layout.display != "none"
    assert widget.rate_sliders[3].layout.display != "none"
    widget.width_sliders[0].value = 6
    assert widget.playground.settings.hidden == (6, 24, 24)
    widget.layer_slider.value = 1
    assert widget.playground.settings.layer_sizes == (2, 6, 2)
    assert widget.playground.settings.rates == (0.2, 0.5)
    assert widget.width_sliders[1].layout.display == "none"
    assert widget.rate_sliders[2].layout.display == "none"
    widget.step()
    widget.controls["lr"].value = 0.1
    assert widget.playground.settings.lr == pytest.approx(0.1) and widget.playground.steps == 0
    layer_sizes = widget.playground.settings.layer_sizes
    assert [w.shape for w in widget.playground.dropout_net.weights] == [(2, 6), (6, 2)]
    assert layer_sizes == (2, 6, 2)
    canvas = RecordingCanvas()
    pw.draw_frame(canvas, widget.playground)  # a one-layer network draws
    assert len(canvas.named("fill_styled_rects")) == 2


def test_the_widget_refuses_a_network_it_cannot_show():
    with pytest.raises(ValueError, match=r"settings\.hidden must have 1 to 3 layers"):
        pw.PlaygroundWidget(pg.Settings(hidden=(4, 4, 4, 4), p_drop=0.5))
    with pytest.raises(ValueError, match="at most 32 units"):
        pw.PlaygroundWidget(pg.Settings(hidden=(64,), p_drop=0.5))

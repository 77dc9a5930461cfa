"""The dropout playground in the browser: controls, Play/Pause/Step/Reset and one ipycanvas canvas.

The kernel sends each frame as one batch of canvas commands (``hold_canvas``) and the browser
draws it, so a frame costs a few milliseconds instead of the ~100 ms of a matplotlib PNG. The
state, the step and the loop live in :mod:`course_lib.lessons.playground`; this module only binds
controls to them and draws. Displayed, the widget also carries a static PNG of its first frame,
which is what a notebook executed without a browser (nbclient, grading) keeps.
"""

from __future__ import annotations

import base64
import io
import weakref
from typing import Any, ClassVar

import numpy as np

from .playground import (
    CLASS_COLOURS,
    DATASETS,
    GRID,
    Player,
    Playground,
    Settings,
    boundary_image,
    curve_points,
    draw_playground,
    dropout_title,
    network_geometry,
    to_plane,
)

WIDTH, HEIGHT = 950, 262
TOP = 36  # panels start below their titles
PLANE = 200  # side of a decision-boundary panel, a multiple of GRID
CURVES = (460, TOP, 230, PLANE)  # x, y, width, height
NETWORK = (710, TOP, 235, PLANE)
MAX_P_DROP = 0.9
_CELL = PLANE // GRID
_CELL_Y, _CELL_X = (np.indices((GRID, GRID)).reshape(2, -1) * _CELL).astype(np.int32)


def draw_frame(canvas, playground: Playground) -> None:
    """Draw the playground's current state on ``canvas`` (an ipycanvas Canvas) in one batch."""
    from ipycanvas import hold_canvas

    s = playground.settings
    with hold_canvas():
        canvas.clear()
        canvas.fill_style = "white"
        canvas.fill_rect(0, 0, WIDTH, HEIGHT)
        canvas.font = "13px sans-serif"
        canvas.fill_style = "#222"
        for left, name, title in ((10, "dropout", dropout_title(s)), (240, "plain", "no dropout")):
            test_loss = playground.histories[name].val_loss[-1]
            canvas.fill_text(f"{title}: test loss {test_loss:.3f}", left, 24)
            _draw_plane(canvas, playground, name, left)
        canvas.fill_text(f"loss, step {playground.steps}", CURVES[0], 24)
        _draw_curves(canvas, playground)
        canvas.fill_text("mask of one example (grey = dropped)", NETWORK[0], 24)
        _draw_network(canvas, playground)


def _draw_plane(canvas, playground: Playground, name: str, left: float) -> None:
    # one rectangle per grid cell: drawn synchronously with the rest of the frame, where
    # put_image_data decodes an image asynchronously and could show half-drawn frames
    colours = boundary_image(playground.boundary(name))[..., :3].reshape(-1, 3)
    canvas.fill_styled_rects(left + _CELL_X, TOP + _CELL_Y, _CELL, _CELL, colours)
    # points sit at the pixel centres of the grid, which spans [-EXTENT, EXTENT] edge to edge
    points = to_plane(playground.X_train, PLANE)
    canvas.fill_styled_circles(
        left + points[:, 0], TOP + points[:, 1], 4.0, CLASS_COLOURS[playground.y_train]
    )
    canvas.stroke_style = "white"
    canvas.line_width = 1.0
    canvas.stroke_circles(left + points[:, 0], TOP + points[:, 1], 4.0)
    canvas.stroke_style = "#999"
    canvas.stroke_rect(left, TOP, PLANE, PLANE)


def _draw_curves(canvas, playground: Playground) -> None:
    x0, y0, width, height = CURVES
    curves = [
        (history, key, colour, dashed)
        for name, dashed in (("dropout", False), ("plain", True))
        for history in [playground.histories[name]]
        for key, colour in (("train_loss", "#1f77b4"), ("val_loss", "#ff7f0e"))
    ]
    top = max(1e-3, max(max(getattr(h, key)) for h, key, _, _ in curves))
    n_steps = max(playground.steps, 1)
    canvas.stroke_style = "#999"
    canvas.line_width = 1.0
    canvas.stroke_rect(x0, y0, width, height)
    canvas.font = "11px sans-serif"
    canvas.fill_style = "#555"
    canvas.fill_text(f"{top:.2f}", x0 + 3, y0 + 12)
    canvas.fill_text(f"{n_steps}", x0 + width - 30, y0 + height - 4)
    for history, key, colour, dashed in curves:
        steps, values = curve_points(getattr(history, key))
        points = np.column_stack([x0 + width * steps / n_steps, y0 + height * (1.0 - values / top)])
        canvas.stroke_style = colour
        canvas.line_width = 1.5
        canvas.set_line_dash([5, 4] if dashed else [])
        canvas.stroke_lines(points)
    canvas.set_line_dash([])
    legend = (("train", "#1f77b4"), ("test", "#ff7f0e"), ("solid: dropout, dashed: none", "#555"))
    for row, (label, colour) in enumerate(legend):
        canvas.fill_style = colour
        canvas.fill_text(label, x0 + width - 160, y0 + 14 + 13 * row)
    canvas.font = "13px sans-serif"


def _draw_network(canvas, playground: Playground) -> None:
    x0, y0, width, height = NETWORK
    geometry = network_geometry(
        playground.settings.layer_sizes, playground.mask, playground.dropout_net.weights
    )
    scale = np.array([width, height])
    offset = np.array([x0, y0])
    if geometry.weights.size:
        magnitude = np.abs(geometry.weights) / max(np.abs(geometry.weights).max(), 1e-12)
        colours = np.where(geometry.weights[:, None] > 0, CLASS_COLOURS[1], CLASS_COLOURS[0])
        canvas.line_width = 1.0
        canvas.stroke_styled_line_segments(
            geometry.segments * scale + offset, colours, alpha=0.1 + 0.8 * magnitude
        )
    units = geometry.units * scale + offset
    colours = np.where(geometry.kept[:, None], 40, 215).repeat(3, axis=1)
    canvas.fill_styled_circles(units[:, 0], units[:, 1], 4.0, colours)
    canvas.stroke_style = "#888"
    canvas.stroke_circles(units[:, 0], units[:, 1], 4.0)


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class PlaygroundWidget:
    """Controls, buttons, a status line and the canvas of a :class:`Playground`.

    Parameters
    ----------
    settings : Settings, optional
        The first run (defaults: :class:`Settings`).
    fps : float
        Frames a second while playing; each frame is ``steps_per_frame`` steps.
    steps_per_frame : int
    """

    _playing: ClassVar[weakref.WeakSet[PlaygroundWidget]] = weakref.WeakSet()

    def __init__(
        self, settings: Settings | None = None, *, fps: float = 20.0, steps_per_frame: int = 1
    ):
        import ipywidgets as widgets
        from ipycanvas import Canvas

        self.playground = Playground(settings)
        self.canvas = Canvas(width=WIDTH, height=HEIGHT, layout=widgets.Layout(width=f"{WIDTH}px"))
        self.status = widgets.HTML()
        self.player = Player(self.playground, self.draw, fps=fps, steps_per_frame=steps_per_frame)
        s = self.playground.settings
        self.controls = {
            "dataset": widgets.Dropdown(options=DATASETS, value=s.dataset, description="data"),
            "noise": widgets.FloatSlider(
                value=s.noise, min=0.0, max=0.6, step=0.05, description="noise"
            ),
            "n_train": widgets.IntSlider(
                value=s.n_train, min=10, max=300, step=10, description="train size"
            ),
        }
        self.rate_sliders = [
            widgets.FloatSlider(
                value=rate,
                min=0.0,
                max=MAX_P_DROP,
                step=0.05,
                description="p_drop input" if layer == 0 else f"p_drop h{layer}",
                style={"description_width": "initial"},
            )
            for layer, rate in enumerate(s.rates)
        ]
        self.buttons = {
            label: widgets.Button(description=label, icon=icon, layout={"width": "90px"})
            for label, icon in (
                ("Play", "play"),
                ("Pause", "pause"),
                ("Step", "step-forward"),
                ("Reset", "refresh"),
            )
        }
        if s.mc_samples:  # MC dropout (notebook 06): only how the boundary is drawn changes
            self.mc_slider = widgets.IntSlider(
                value=s.mc_samples, min=0, max=50, step=5, description="MC samples"
            )
            self.mc_slider.observe(self._change_mc_samples, names="value")
            self.extra_controls = [self.mc_slider]
        else:
            self.extra_controls = []
        self.buttons["Play"].on_click(lambda _: self.play())
        self.buttons["Pause"].on_click(lambda _: self.pause())
        self.buttons["Step"].on_click(lambda _: self.step())
        self.buttons["Reset"].on_click(lambda _: self.reset())
        for control in [*self.controls.values(), *self.rate_sliders]:
            control.observe(lambda _: self.reset(), names="value")
        self.box = widgets.VBox(
            [
                widgets.HBox(list(self.buttons.values())),
                widgets.HBox(list(self.controls.values())),
                widgets.HBox([*self.rate_sliders, *self.extra_controls]),
                self.status,
                self.canvas,
            ]
        )
        self.box.add_class("dropout-playground")
        self.draw(self.playground)

    def settings_from_controls(self) -> Settings:
        values = {name: control.value for name, control in self.controls.items()}
        rates = tuple(slider.value for slider in self.rate_sliders)
        return Settings(**{**self._base_settings(), **values, "p_drop": rates})

    def _base_settings(self) -> dict:
        s = self.playground.settings
        fields = ("hidden", "lr", "batch_size", "seed", "mc_samples", "dropout_noise")
        return {field: getattr(s, field) for field in fields}

    def _change_mc_samples(self, change) -> None:
        self.playground.set_mc_samples(change["new"])
        self.draw(self.playground)

    # the buttons

    def play(self) -> None:
        """Play, and pause any other playground: one plays at a time, so running its cell again
        leaves no old one training unseen."""
        for other in list(PlaygroundWidget._playing):
            if other is not self:
                other.pause()
        PlaygroundWidget._playing.add(self)
        self.player.play()
        self._show_status()

    def pause(self) -> None:
        self.player.pause()
        PlaygroundWidget._playing.discard(self)
        self._show_status()

    def step(self) -> None:
        """One frame by hand (pauses first)."""
        self.pause()
        self.player.frame()

    def reset(self) -> None:
        """A new run from the controls' settings and the same initial weights; keeps playing if
        it was playing."""
        self.playground.reset(self.settings_from_controls())
        self.draw(self.playground)

    # drawing

    def draw(self, playground: Playground) -> None:
        draw_frame(self.canvas, playground)
        self._show_status()

    def _show_status(self) -> None:
        state = "playing" if self.player.playing else "paused"
        if self.player.error is not None:
            state = f"stopped by an error: {self.player.error!r}"
        self.status.value = (
            f"<span class='playground-frame' data-frame='{self.player.frames}'>"
            f"{self.playground.summary()} · {state}</span>"
        )

    def _repr_mimebundle_(self, **kwargs) -> dict[str, Any]:
        """The live widget, and a PNG of the current frame for viewers without a kernel (a
        frontend with the widget manager shows the widget, the others the image)."""
        import matplotlib.pyplot as plt

        bundle: dict[str, Any] = dict(self.box._repr_mimebundle_(**kwargs) or {})
        figure = draw_playground(self.playground)
        bundle["image/png"] = _png(figure)
        plt.close(figure)
        return bundle

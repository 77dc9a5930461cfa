"""Interactive figures for the notebooks: controls above a matplotlib figure that redraws.

The figure is displayed as an ordinary PNG output with a display id and replaced in place when a
control moves, so a notebook executed without a frontend (nbconvert, grading) still holds the
first figure, and the drawing function is a plain function that tests call directly.

A slider should answer within about 150 ms. Four things make that possible here:

* **Redraw in place.** A drawing function that takes a keyword argument ``figure`` receives the
  figure it returned last time and changes the data of its artists (``set_data``, ``set_text``,
  ``set_height``, axis limits) instead of building new axes, which costs more than drawing them.
  Such a function builds its figure once with :func:`remember_parts`, and finds the artists again
  with :func:`recall_parts`; called without ``figure`` it builds a new one, as tests do.
* **Draw only what moves.** The artists a control changes are named ``moving`` in
  :func:`remember_parts`. :func:`render` draws the rest of the figure (axes, ticks, labels: most of
  the cost) once, keeps those pixels, and on later renders pastes them back and draws only the
  moving artists on top, in the order given (matplotlib's "blitting"). The kept pixels are redrawn
  whenever an axis limit, the figure's size or its dpi changed.
* **Draw only the text that changed.** Matplotlib draws text glyph by glyph, about 50-80 µs a
  character on this machine, so a figure's texts can cost more than all its lines. The texts a
  control changes are named ``texts`` in :func:`remember_parts`; :func:`render` keeps their
  pixels too and draws again only those whose string, place or colour changed. A figure drawn
  in place keeps its axis limits fixed and splits its texts into short pieces (one line, one
  number), so that a move changes few characters.
* **Encode the PNG ourselves** (:func:`figure_png`): from the pixels of :func:`render`, without
  IPython's ``bbox_inches="tight"`` (which lays the figure out once more before drawing it), with
  zlib level 1, the fastest, and without PNG's per-row filters (:func:`png_bytes`).
* **No training behind a slider.** What a figure needs and the slider does not change is computed
  once, by the lesson modules (cached, or precomputed for the whole grid of slider values).

Every output is a plain PNG, so the static notebook, nbconvert and grading show the same figure.
"""

from __future__ import annotations

import inspect
import struct
import weakref
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

#: zlib level of the PNGs sent to the frontend: 1 is the fastest (see the module docstring)
PNG_COMPRESS_LEVEL = 1


class FigureDisplay(Protocol):
    """Where the figure is shown: IPython's ``DisplayHandle``, or a recorder in tests."""

    def update(self, obj, /) -> object: ...


def _agg_canvas(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas
    return canvas if isinstance(canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)


def _static_key(figure) -> tuple:
    """What the kept background pixels depend on besides the static artists themselves."""
    limits = tuple((axis.get_xlim(), axis.get_ylim()) for axis in figure.axes)
    return (tuple(figure.get_size_inches()), figure.dpi, limits)


# figure -> _Layers: the kept pixels of a figure drawn in place
_BACKGROUNDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: pixels added around a text's box when its old pixels are wiped (antialiased edges)
_TEXT_MARGIN = 1


@dataclass
class _Layers:
    """Kept pixels: the still artists alone (``still``), the same with the texts of
    :func:`remember_parts` on top (``with_texts``), and what each text looked like then."""

    key: tuple
    still: np.ndarray
    with_texts: np.ndarray
    drawn: dict  # text -> its _text_look when drawn


def _text_look(text, renderer) -> tuple:
    """Everything a redrawn text depends on, its pixel box last (see :func:`_text_box`)."""
    box = text.get_window_extent(renderer) if text.get_visible() and text.get_text() else None
    return (
        text.get_text(),
        text.get_visible(),
        str(text.get_color()),
        text.get_alpha(),
        text.get_rotation(),
        hash(text.get_fontproperties()),
        None if box is None else tuple(np.round(box.extents, 3)),
    )


def _text_box(look: tuple, height: int, width: int) -> tuple[int, int, int, int] | None:
    """Rows and columns (top, bottom, left, right) of the pixels a text may have touched."""
    extents = look[-1]
    if extents is None:
        return None
    x0, y0, x1, y1 = extents
    top = max(0, height - int(np.ceil(y1)) - _TEXT_MARGIN)
    bottom = min(height, height - int(np.floor(y0)) + _TEXT_MARGIN)
    left = max(0, int(np.floor(x0)) - _TEXT_MARGIN)
    right = min(width, int(np.ceil(x1)) + _TEXT_MARGIN)
    return (top, bottom, left, right) if top < bottom and left < right else None


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _texts_to_redraw(texts, drawn: dict, looks: dict, height: int, width: int):
    """The texts whose look changed, and every text whose pixels touch theirs (repeatedly, so
    that no text is wiped without being redrawn); returns them and the boxes to wipe."""
    dirty = {text for text in texts if looks[text] != drawn[text]}
    boxes = []
    for text in dirty:
        boxes += [_text_box(drawn[text], height, width), _text_box(looks[text], height, width)]
    boxes = [box for box in boxes if box is not None]
    grown = True
    while grown:
        grown = False
        for text in texts:
            if text in dirty:
                continue
            box = _text_box(looks[text], height, width)
            if box is not None and any(_overlap(box, other) for other in boxes):
                dirty.add(text)
                boxes.append(box)
                grown = True
    return [text for text in texts if text in dirty], boxes


def render(figure) -> np.ndarray:
    """Draw ``figure`` with Agg and return its RGBA pixels, shape (height, width, 4), uint8.

    For a figure drawn in place (see :func:`remember_parts`), the still artists are drawn only
    when their kept pixels are missing or out of date; of its texts, only those whose look
    changed since the last render are drawn again (with any text touching them), over the kept
    pixels; the moving artists are drawn on top, every time.
    """
    canvas = _agg_canvas(figure)
    moving = _MOVING.get(figure, ())
    texts = _TEXTS.get(figure, ())
    if not moving and not texts:
        canvas.draw()
        return np.asarray(canvas.buffer_rgba())
    key = _static_key(figure)
    layers = _BACKGROUNDS.get(figure)
    renderer = canvas.get_renderer()
    if layers is None or layers.key != key:
        canvas.draw()  # skips the moving artists and the texts, which are marked animated
        still = np.asarray(canvas.buffer_rgba()).copy()
        for text in texts:
            figure.draw_artist(text)
        drawn = {text: _text_look(text, renderer) for text in texts}
        pixels = np.asarray(canvas.buffer_rgba())
        layers = _Layers(key, still, pixels.copy(), drawn)
        _BACKGROUNDS[figure] = layers
    else:
        pixels = np.asarray(canvas.buffer_rgba())
        looks = {text: _text_look(text, renderer) for text in texts}
        height, width = pixels.shape[:2]
        redrawn, boxes = _texts_to_redraw(texts, layers.drawn, looks, height, width)
        for top, bottom, left, right in boxes:
            layers.with_texts[top:bottom, left:right] = layers.still[top:bottom, left:right]
        pixels[...] = layers.with_texts
        for text in redrawn:
            figure.draw_artist(text)
        if redrawn:
            layers.with_texts[...] = pixels
            layers.drawn = looks
    for artist in moving:
        figure.draw_artist(artist)
    return np.asarray(canvas.buffer_rgba())


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(pixels: np.ndarray, level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """RGBA pixels as a PNG file: 8-bit RGBA, one zlib stream (``level``), rows unfiltered.

    Pillow's encoder tries PNG's row filters on every row and keeps the best one. On these
    figures, large flat areas of one colour, the search takes longer than the compression itself
    and hardly shrinks the file, so every row here gets filter type 0 ("none") and goes to zlib
    as it is (``benchmarks/bench_widgets.py --png`` compares the two).

    Parameters
    ----------
    pixels : ndarray of uint8, shape (height, width, 4)
    level : int in [0, 9]
        zlib compression level.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 4:
        raise ValueError(
            f"pixels must be a uint8 array of shape (height, width, 4), got {pixels.dtype} "
            f"{pixels.shape}"
        )
    if not 0 <= level <= 9:
        raise ValueError(f"level must be in [0, 9], got {level}")
    height, width, _ = pixels.shape
    rows = np.empty((height, 1 + 4 * width), dtype=np.uint8)
    rows[:, 0] = 0  # each row starts with its filter type
    rows[:, 1:] = pixels.reshape(height, 4 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows.data, level)),
            _png_chunk(b"IEND", b""),
        )
    )


def figure_png(figure) -> bytes:
    """The pixels of :func:`render` as PNG bytes (:func:`png_bytes`)."""
    return png_bytes(render(figure))


def png_output(figure):
    """An IPython output object holding the figure as a PNG, for ``display`` and ``update``."""
    from IPython.display import Image

    return Image(data=figure_png(figure), format="png")


# the artists of every figure drawn in place, those a control moves, and its texts, keyed by
# the figure (forgotten with the figure)
_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MOVING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TEXTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember_parts(figure, draw: Callable, *, moving=(), texts=(), **artists) -> SimpleNamespace:
    """Record the artists of ``figure``, built by ``draw``, for later in-place redraws.

    ``moving`` lists, bottom to top, every artist whose look a control can change (data,
    colour, visibility); :func:`render` draws them over the kept pixels of the rest, at every
    render. ``texts`` lists the matplotlib ``Text`` artists a control can change (string,
    place, colour): they lie under the moving artists, and :func:`render` draws again only
    those whose look changed, so a move pays for the characters it changes, not for every
    character of the figure (drawing text is most of what a figure costs). A text must not
    have a box (``bbox=``). An artist left out of both keeps its first look in the displayed
    figure. Returns a namespace holding ``figure`` and every artist given by name.
    """
    for text in texts:
        if text.get_bbox_patch() is not None:
            raise ValueError("texts must be Text artists without a box (bbox=None)")
    for artist in (*moving, *texts):
        artist.set_animated(True)
    _MOVING[figure] = tuple(moving)
    _TEXTS[figure] = tuple(texts)
    _BACKGROUNDS.pop(figure, None)
    parts = SimpleNamespace(figure=figure, **artists)
    _PARTS[figure] = (draw, parts)
    return parts


def recall_parts(figure, draw: Callable) -> SimpleNamespace | None:
    """The artists recorded for ``figure`` if ``draw`` built it, else None (build a new one)."""
    if figure is None:
        return None
    builder, parts = _PARTS.get(figure, (None, None))
    return parts if builder is draw else None


def draws_in_place(draw: Callable) -> bool:
    """Whether ``draw`` takes the ``figure`` to redraw (see the module docstring)."""
    return "figure" in inspect.signature(draw).parameters


@dataclass
class LiveFigure:
    """Controls and the display handle of a figure that follows them.

    ``figure`` is the figure shown last; a drawing function that draws in place gets it back.
    """

    draw: Callable
    controls: Mapping
    handle: FigureDisplay | None = None
    box: object = None
    figure: Any = None  # a matplotlib Figure once drawn
    redraws: int = field(default=0)

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def render(self):
        """Draw the figure for the current control values (in place when ``draw`` can)."""
        import matplotlib.pyplot as plt

        values = self.values()
        if self.figure is not None and draws_in_place(self.draw):
            values["figure"] = self.figure
        figure = self.draw(**values)
        if self.figure is not None and figure is not self.figure:
            plt.close(self.figure)
        # out of pyplot's list, so that the end of the cell does not display it a second time
        plt.close(figure)
        self.figure = figure
        return figure

    def redraw(self, *_):
        """Draw the figure for the current control values and replace the displayed one."""
        figure = self.render()
        if self.handle is not None:
            self.handle.update(png_output(figure))
        self.redraws += 1
        return figure


def live_figure(draw: Callable, controls: Mapping, *, display_now: bool = True) -> LiveFigure:
    """Show ``controls`` (ipywidgets, keyed by ``draw``'s argument names) above ``draw(**values)``.

    Parameters
    ----------
    draw : callable returning a matplotlib Figure
        If it takes a keyword argument ``figure``, every move passes the figure of the previous
        call, to be redrawn in place.
    controls : {argument name: ipywidgets value widget}
    display_now : bool
        Display the controls and the first figure (False in tests).
    """
    import ipywidgets
    from IPython.display import display

    live = LiveFigure(draw, dict(controls))
    live.box = ipywidgets.HBox(
        list(live.controls.values()), layout=ipywidgets.Layout(flex_flow="row wrap")
    )
    if display_now:
        display(live.box)
        live.handle = display(png_output(live.render()), display_id=True)
    for control in live.controls.values():
        control.observe(live.redraw, names="value")
    return live


def slider_key(value: float) -> float:
    """A slider value rounded to 10 significant digits, to key a cache of precomputed positions:
    the frontend's float (``0.35000000000000003``) and the grid's (``0.35``) agree."""
    return float(f"{float(value):.10g}")


def figure_pixels(figure) -> np.ndarray:
    """The rendered RGBA pixels of a figure (:func:`render`), to tell whether two figures differ."""
    return render(figure).copy()

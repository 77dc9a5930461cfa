"""The dropout playground: two copies of one network learn a 2-D data set side by side, one with
dropout and one without, one mini-batch at a time.

This module holds the state and the loop, as plain objects that tests drive directly:

* :class:`Settings`: the data set, its noise and size, the network (hidden layer sizes and
  ``p_drop`` per layer) and the learning rate; :func:`settings_from_controls` reads them from the
  widget's controls;
* :class:`Playground`: the data (a training set drawn from the seed, a test set fixed per data set
  and noise), the two networks (the same initial weights; one without dropout), one training step
  (:func:`course_lib.nn.train_step` on the same mini-batch for both), their loss curves and the
  latest dropout mask; :meth:`Playground.reset` starts again from the same weights;
* :class:`Player`: Play and Pause, an asyncio task on the running event loop (in a notebook, the
  kernel's) that steps and calls a drawing function about ``fps`` times a second;
* what both drawings need: the decision boundary as an RGBA image (:func:`boundary_image`) and the
  network diagram's geometry (:func:`network_geometry`), plus the static drawing
  (:func:`draw_playground`, matplotlib) that a notebook run without a browser shows.

:mod:`course_lib.lessons.playground_widget` draws the same state on a browser canvas.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._validate import (
    check_count,
    check_layer_sizes,
    check_nonnegative,
    check_positive,
    per_layer_p_drop,
)
from ..data import TOY_2D, toy_2d
from ..experiments import seed_streams
from ..mc import mc_predict, thinned_network
from ..nn import MLP, SGD, History, evaluate, one_blas_thread, train_step

DATASETS = tuple(TOY_2D)
N_TEST = 500
TEST_SEED = 2026  # the test set of a data set and a noise level never changes
EXTENT = 2.0  # the plane drawn is [-EXTENT, EXTENT]²
GRID = 40  # the decision boundary is evaluated on GRID x GRID points
CLASS_COLOURS = np.array([[245, 147, 34], [8, 119, 189]])  # class 0 orange, class 1 blue


@dataclass(frozen=True)
class Settings:
    """What defines a run; changing any of it but ``mc_samples`` starts a new one.

    ``p_drop`` is one rate per dropout site (the input and each hidden layer), or one number for
    every hidden layer, as for :class:`course_lib.nn.MLP`; it is stored as the tuple per site.
    ``mc_samples = 0`` draws the dropout network's boundary as inverted dropout predicts at test
    time (no mask); ``mc_samples = T > 0`` as the average of ``T`` thinned networks (MC dropout).
    ``dropout_noise = "gaussian"`` trains the dropout network with Gaussian noise of the same
    variance instead of masks (:class:`course_lib.nn.MLP`'s ``noise``): no unit is dropped, so
    the network drawing shows every unit kept.
    """

    dataset: str = "moons"
    noise: float = 0.3
    n_train: int = 50
    hidden: tuple[int, ...] = (24, 24)
    p_drop: float | tuple[float, ...] = (0.2, 0.5, 0.5)
    lr: float = 0.01
    batch_size: int = 10
    seed: int = 0
    mc_samples: int = 0  # > 0: the dropout network's boundary is an MC average (notebook 06)
    dropout_noise: str = "bernoulli"  # or "gaussian": the MLP's noise (notebook 05)

    def __post_init__(self):
        if self.dataset not in TOY_2D:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        check_nonnegative(self.noise, "noise")
        check_count(self.n_train, "n_train", minimum=2)
        hidden = tuple(self.hidden)
        check_layer_sizes([2, *hidden, 2])
        object.__setattr__(self, "hidden", hidden)
        rates = per_layer_p_drop(
            list(self.p_drop) if isinstance(self.p_drop, tuple) else self.p_drop,
            self.layer_sizes,
        )
        object.__setattr__(self, "p_drop", rates)
        check_positive(self.lr, "lr")
        check_count(self.batch_size, "batch_size", minimum=1)
        check_count(self.seed, "seed")
        check_count(self.mc_samples, "mc_samples")
        if self.dropout_noise not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"dropout_noise must be 'bernoulli' or 'gaussian', got {self.dropout_noise!r}"
            )

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (2, *self.hidden, 2)

    @property
    def rates(self) -> tuple[float, ...]:
        """``p_drop`` per dropout site, as a tuple of floats."""
        assert isinstance(self.p_drop, tuple)
        return self.p_drop


MAX_HIDDEN_LAYERS = 3  # the widget offers one to three hidden layers


def settings_from_controls(base: Settings, *, n_hidden: int, widths, rates, **changes) -> Settings:
    """The settings that the widget's controls describe.

    The widget keeps a width slider and a ``p_drop`` slider for every hidden layer it can show,
    and hides those beyond ``n_hidden``: this function reads only the shown ones, so a layer
    removed and added again comes back with its old width and rate.

    Parameters
    ----------
    base : Settings
        What the controls do not set (seed, batch size, MC samples, the dropout noise) comes
        from here.
    n_hidden : int in [1, MAX_HIDDEN_LAYERS]
        Hidden layers in use.
    widths : sequence of int >= 1, at least ``n_hidden`` of them
        Units per hidden layer; the first ``n_hidden`` are used.
    rates : sequence of float in [0, 1), at least ``n_hidden + 1`` of them
        ``p_drop`` of the inputs, then of each hidden layer; the first ``n_hidden + 1`` are used.
    **changes
        Any other field of :class:`Settings` (``dataset``, ``noise``, ``n_train``, ``lr``).

    Raises
    ------
    ValueError
        If ``n_hidden`` is outside [1, MAX_HIDDEN_LAYERS], if there are too few widths or rates,
        or if a value is out of its range (as :class:`Settings` checks it).
    """
    n_hidden = check_count(n_hidden, "n_hidden", minimum=1)
    if n_hidden > MAX_HIDDEN_LAYERS:
        raise ValueError(f"n_hidden must be in [1, {MAX_HIDDEN_LAYERS}], got {n_hidden}")
    widths, rates = tuple(widths), tuple(rates)
    if len(widths) < n_hidden:
        raise ValueError(f"widths must give at least n_hidden = {n_hidden}, got {len(widths)}")
    if len(rates) < n_hidden + 1:
        raise ValueError(
            f"rates must give at least n_hidden + 1 = {n_hidden + 1} (inputs and hidden "
            f"layers), got {len(rates)}"
        )
    return dataclasses.replace(
        base,
        hidden=tuple(int(width) for width in widths[:n_hidden]),
        p_drop=tuple(float(rate) for rate in rates[: n_hidden + 1]),
        **changes,
    )


@lru_cache(maxsize=32)
def fixed_test_set(dataset: str, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The fixed test set (``N_TEST`` points) of ``dataset`` at ``noise``; read-only arrays."""
    rng = np.random.default_rng([TEST_SEED, DATASETS.index(dataset)])
    X, y = toy_2d(dataset, N_TEST, rng=rng, noise=noise)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _grid() -> np.ndarray:
    """The GRID² points of the plane, row by row from the top (largest x2) down: (GRID², 2)."""
    centres = np.linspace(-EXTENT, EXTENT, GRID)
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


class Playground:
    """The state of the playground: the data, the two networks, their curves and the last mask.

    Parameters
    ----------
    settings : Settings, optional
    **changes
        Fields of :class:`Settings` to change from ``settings`` (or from the defaults).

    Attributes
    ----------
    settings : Settings
    X_train, y_train, X_test, y_test : the data
    dropout_net, plain_net : MLP
        The same initial weights; ``plain_net`` has ``p_drop = 0`` everywhere.
    histories : {"dropout": History, "plain": History}
        One entry per step: ``train_loss``/``train_error`` on the training set and
        ``val_loss``/``val_error`` on the test set, both at inference; ``minibatch_loss`` is the
        step's mini-batch loss (with dropout for the dropout network).
    mask : list of bool arrays, one per layer
        The keep-mask of the first example of the latest mini-batch (``True`` = kept); all True
        before the first step and for the output layer.
    steps : int
    """

    def __init__(self, settings: Settings | None = None, **changes):
        self.settings = Settings()
        self.reset(settings, **changes)

    def reset(self, settings: Settings | None = None, **changes) -> None:
        """Start again: new settings (if any), the same initial weights for the same seed."""
        base = self.settings if settings is None else settings
        self.settings = dataclasses.replace(base, **changes)
        s = self.settings
        data_rng, init_rng, self._batch_rng, self._mask_rng, self._mc_rng = seed_streams(s.seed, 5)
        self.X_train, self.y_train = toy_2d(s.dataset, s.n_train, rng=data_rng, noise=s.noise)
        self.X_test, self.y_test = fixed_test_set(s.dataset, s.noise)
        self.dropout_net = MLP(s.layer_sizes, list(s.rates), rng=init_rng, noise=s.dropout_noise)
        # the twin: a fresh generator of the same stream gives the same initial weights
        self.plain_net = MLP(s.layer_sizes, 0.0, rng=seed_streams(s.seed, 2)[1])
        self._optimizers = {
            "dropout": SGD.for_model(self.dropout_net, s.lr),
            "plain": SGD.for_model(self.plain_net, s.lr),
        }
        self.histories = {"dropout": History(), "plain": History()}
        self.mask = [np.ones(size, dtype=bool) for size in s.layer_sizes]
        self.steps = 0
        self._record()

    @property
    def nets(self) -> dict[str, MLP]:
        return {"dropout": self.dropout_net, "plain": self.plain_net}

    def step(self, n_steps: int = 1) -> None:
        """Train both networks for ``n_steps`` steps, each on the same random mini-batch."""
        n_steps = check_count(n_steps, "n_steps", minimum=1)
        s = self.settings
        batch_size = min(s.batch_size, s.n_train)
        with one_blas_thread():
            for _ in range(n_steps):
                batch = self._batch_rng.choice(s.n_train, size=batch_size, replace=False)
                X, y = self.X_train[batch], self.y_train[batch]
                losses = {}
                for name, net in self.nets.items():
                    losses[name], masks = train_step(
                        net, self._optimizers[name], X, y, rng=self._mask_rng
                    )
                    if name == "dropout":
                        self._keep_first_mask(masks)
                self.steps += 1
                self._record(losses)

    def _keep_first_mask(self, masks: list) -> None:
        sizes = self.settings.layer_sizes
        self.mask = [
            mask[0].copy() if mask is not None else np.ones(size, dtype=bool)
            for mask, size in zip([*masks, None], sizes)
        ]

    def _record(self, minibatch_losses: dict | None = None) -> None:
        for name, net in self.nets.items():
            history = self.histories[name]
            train_loss, train_error = evaluate(net, self.X_train, self.y_train)
            test_loss, test_error = evaluate(net, self.X_test, self.y_test)
            history.train_loss.append(train_loss)
            history.train_error.append(train_error)
            history.val_loss.append(test_loss)
            history.val_error.append(test_error)
            history.minibatch_loss.append(
                np.nan if minibatch_losses is None else minibatch_losses[name]
            )

    def set_mc_samples(self, mc_samples: int) -> None:
        """How the dropout network's boundary is drawn from now on; the run goes on."""
        self.settings = dataclasses.replace(self.settings, mc_samples=mc_samples)

    def boundary(self, name: str) -> np.ndarray:
        """P(class 1) of network ``name`` ("dropout" or "plain") on the grid, shape (GRID, GRID),
        top row first; for "dropout" with ``mc_samples > 0``, the mean over that many thinned
        networks (:func:`course_lib.mc.thinned_network`, one mask for the whole grid each)."""
        net = self.nets[name]
        n_samples = self.settings.mc_samples if name == "dropout" else 0
        with one_blas_thread():
            if n_samples:
                probs = mc_predict(
                    lambda X, rng: thinned_network(net, rng=rng).predict_proba(X),
                    _GRID_POINTS,
                    n_samples,
                    rng=self._mc_rng,
                )[0]
            else:
                probs = net.predict_proba(_GRID_POINTS)
        return probs[:, 1].reshape(GRID, GRID)

    def boundary_label(self) -> str:
        """What the dropout network's boundary shows."""
        n_samples = self.settings.mc_samples
        return f"MC average of {n_samples} masks" if n_samples else "no mask (weight scaling)"

    def summary(self) -> str:
        """One line: the step and, for each network, its test loss and error."""
        parts = [f"step {self.steps}"]
        for name, label in (("dropout", "with dropout"), ("plain", "without")):
            history = self.histories[name]
            parts.append(
                f"{label}: test loss {history.val_loss[-1]:.3f}, "
                f"test error {100 * history.val_error[-1]:.1f}%"
            )
        return " · ".join(parts)


_GRID_POINTS = _grid()


def boundary_image(probs: np.ndarray) -> np.ndarray:
    """RGBA pixels (uint8, shape ``probs.shape + (4,)``) of a probability map: the colour of the
    more likely class, stronger where the network is surer, white at 0.5."""
    probs = np.asarray(probs, dtype=float)
    confidence = np.abs(2.0 * probs - 1.0)[..., None]
    colour = np.where((probs > 0.5)[..., None], CLASS_COLOURS[1], CLASS_COLOURS[0])
    rgb = 255.0 + (colour - 255.0) * 0.65 * confidence
    alpha = np.full((*probs.shape, 1), 255.0)
    return np.concatenate([rgb, alpha], axis=-1).round().astype(np.uint8)


def to_plane(X: np.ndarray, size: float) -> np.ndarray:
    """Pixel coordinates of points of the plane in a ``size`` x ``size`` panel (y downwards)."""
    X = np.asarray(X, dtype=float)
    return np.column_stack([X[:, 0] + EXTENT, EXTENT - X[:, 1]]) * (size / (2.0 * EXTENT))


@dataclass(frozen=True)
class NetworkGeometry:
    """The network diagram in the unit square (y downwards).

    ``units`` has one row per unit, layer after layer: (x, y); ``kept`` says which units the
    current mask keeps; ``segments`` (S, 2, 2) joins kept units of consecutive layers, and
    ``weights`` (S,) holds the weight each segment draws.
    """

    units: np.ndarray
    kept: np.ndarray
    segments: np.ndarray
    weights: np.ndarray


def network_geometry(sizes, mask, weights) -> NetworkGeometry:
    """Where the units and connections of a network with ``sizes`` go, given its keep-``mask``
    (one bool array per layer) and its weight matrices."""
    n_layers = len(sizes)
    columns = []
    for layer, size in enumerate(sizes):
        x = 0.08 + 0.84 * layer / (n_layers - 1)
        y = 0.5 + (np.arange(size) - (size - 1) / 2.0) * min(0.9 / max(size - 1, 1), 0.2)
        columns.append(np.column_stack([np.full(size, x), y]))
    segments, drawn = [], []
    for layer, W in enumerate(weights):
        source, target = columns[layer], columns[layer + 1]
        ins = np.flatnonzero(mask[layer])
        outs = np.flatnonzero(mask[layer + 1])
        i, j = np.meshgrid(ins, outs, indexing="ij")
        segments.append(np.stack([source[i.ravel()], target[j.ravel()]], axis=1))
        drawn.append(W[i.ravel(), j.ravel()])
    return NetworkGeometry(
        np.concatenate(columns),
        np.concatenate([np.asarray(m, dtype=bool) for m in mask]),
        np.concatenate(segments) if segments else np.zeros((0, 2, 2)),
        np.concatenate(drawn) if drawn else np.zeros(0),
    )


def curve_points(values, max_points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of a curve, thinned to at most ``max_points`` (evenly spaced, last kept)."""
    values = np.asarray(values, dtype=float)
    steps = np.arange(len(values))
    if len(values) > max_points:
        keep = np.unique(np.linspace(0, len(values) - 1, max_points).round().astype(int))
        steps, values = steps[keep], values[keep]
    return steps, values


# --- Play and Pause ----------------------------------------------------------------------------


class Player:
    """Plays a :class:`Playground`: steps it and calls ``on_frame`` about ``fps`` times a second,
    in an asyncio task on the running event loop, so the kernel stays free between frames.

    Parameters
    ----------
    playground : Playground
    on_frame : callable taking the playground
        Draws a frame; called after every ``steps_per_frame`` steps.
    fps : float > 0
    steps_per_frame : int >= 1
    """

    def __init__(
        self,
        playground: Playground,
        on_frame: Callable[[Playground], object],
        *,
        fps: float = 20.0,
        steps_per_frame: int = 1,
    ):
        self.playground = playground
        self.on_frame = on_frame
        self.fps = check_positive(fps, "fps")
        self.steps_per_frame = check_count(steps_per_frame, "steps_per_frame", minimum=1)
        self.frames = 0
        self.error: BaseException | None = None
        self._task: asyncio.Task | None = None

    @property
    def playing(self) -> bool:
        return self._task is not None and not self._task.done()

    def play(self) -> None:
        """Start playing (nothing happens if it already plays); needs a running event loop."""
        if not self.playing:
            self.error = None
            self._task = asyncio.get_running_loop().create_task(self._run())

    def pause(self) -> None:
        """Stop after the current frame; no step is taken once this returns."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def frame(self) -> None:
        """One frame: ``steps_per_frame`` steps, then ``on_frame``."""
        self.playground.step(self.steps_per_frame)
        self.frames += 1
        self.on_frame(self.playground)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.fps
        try:
            while True:
                started = loop.time()
                self.frame()
                await asyncio.sleep(max(0.0, period - (loop.time() - started)))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # shown by the widget; a task's exception is otherwise lost
            self.error = error


# --- the static drawing -------------------------------------------------------------------------


def draw_playground(playground: Playground):
    """The playground's current frame as a matplotlib figure: the two decision boundaries, the
    loss curves and the network with its mask (what a notebook run without a browser shows)."""
    import matplotlib.pyplot as plt

    s = playground.settings
    figure, axes = plt.subplots(
        1, 4, figsize=(13, 3.3), gridspec_kw={"width_ratios": (1, 1, 1.3, 1.2)}
    )
    for axis, name, title in (
        (axes[0], "dropout", dropout_title(s)),
        (axes[1], "plain", "without dropout"),
    ):
        axis.imshow(
            boundary_image(playground.boundary(name)),
            extent=(-EXTENT, EXTENT, -EXTENT, EXTENT),
            interpolation="bilinear",
        )
        axis.scatter(
            *playground.X_train.T,
            c=CLASS_COLOURS[playground.y_train] / 255.0,
            s=18,
            edgecolors="white",
            linewidths=0.6,
        )
        history = playground.histories[name]
        axis.set(xticks=[], yticks=[], title=f"{title}\ntest loss {history.val_loss[-1]:.3f}")
        axis.title.set_fontsize(9)
    curves = axes[2]
    for name, style in (("dropout", "-"), ("plain", "--")):
        history = playground.histories[name]
        label = "dropout" if name == "dropout" else "no dropout"
        curves.plot(*curve_points(history.train_loss), style, color="C0", label=f"train, {label}")
        curves.plot(*curve_points(history.val_loss), style, color="C1", label=f"test, {label}")
    curves.set(xlabel="step", ylabel="loss", title=f"step {playground.steps}")
    curves.title.set_fontsize(9)
    curves.legend(fontsize=7)
    diagram = axes[3]
    geometry = network_geometry(s.layer_sizes, playground.mask, playground.dropout_net.weights)
    _draw_geometry(diagram, geometry)
    diagram.set_title("mask of one example (grey = dropped)", fontsize=9)
    figure.suptitle(
        f"{s.dataset}, noise {s.noise:g}, {s.n_train} training points, "
        f"network {'-'.join(map(str, s.layer_sizes))}",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


def dropout_title(settings: Settings) -> str:
    """``p_drop 0.2/0.5/0.5``, with ``, Gaussian`` for Gaussian noise and ``, MC 30`` when the
    boundary is an MC average."""
    rates = "/".join(f"{rate:g}" for rate in settings.rates)
    noise = ", Gaussian" if settings.dropout_noise == "gaussian" else ""
    return f"p_drop {rates}{noise}" + (f", MC {settings.mc_samples}" if settings.mc_samples else "")


def _draw_geometry(axis, geometry: NetworkGeometry) -> None:
    from matplotlib.collections import LineCollection

    scale = np.abs(geometry.weights).max() if geometry.weights.size else 1.0
    colours = np.where(geometry.weights[:, None] > 0, CLASS_COLOURS[1], CLASS_COLOURS[0]) / 255.0
    alphas = 0.1 + 0.8 * np.abs(geometry.weights) / max(scale, 1e-12)
    axis.add_collection(
        LineCollection(
            list(geometry.segments),
            colors=np.column_stack([colours, alphas]),
            linewidths=0.8,
        )
    )
    units = geometry.units
    axis.scatter(*units[geometry.kept].T, s=22, color="0.15", zorder=3)
    axis.scatter(*units[~geometry.kept].T, s=22, color="0.85", edgecolors="0.6", zorder=3)
    axis.set(xlim=(0, 1), ylim=(1, 0), xticks=[], yticks=[])

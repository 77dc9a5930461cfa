"""Notebook 01: overfitting, the regularizers, the two intuitions behind dropout, and a network
builder.

Four groups of plain functions, each used by one part of the notebook:

* bias and variance of polynomial fits with an L2 penalty (:func:`bias_variance`);
* the network builder: state in, state out (:func:`add_layer`, :func:`remove_layer`,
  :func:`resize_layer`, :func:`set_p_drop`), counts (:func:`network_summary`), one sampled mask
  (:func:`sample_network_masks`), a unit inspector (:func:`unit_details`) and the drawing
  (:func:`draw_network`). A network's state is ``(sizes, rates)``: ``sizes`` lists the units of
  every layer, input first; ``rates`` holds one ``p_drop`` per dropout site, that is the input and
  each hidden layer, as in :class:`course_lib.nn.MLP` (the output is never dropped);
* dropout on the inputs of a linear model, the exact "adaptive L2" case
  (:func:`dropout_linear_regression`);
* train and validation curves on the digits for a few ``p_drop`` (:func:`digits_curves`), and
  what averaging thinned networks buys (:func:`ensemble_errors`);
* the guided experiment of section 7, recorded: ``python -m course_lib.lessons.nb01_intuition
  [--workers 2]`` trains every rate with every seed (:func:`record_run`) and writes
  ``nb01_intuition_results.json`` beside this module; :func:`record_curves`,
  :func:`final_errors`, :func:`validation_comparison`, :func:`test_report` and
  :func:`key_numbers` read it for the notebook.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._validate import check_count, check_layer_sizes, check_p_drop, per_layer_p_drop
from ..analysis import count_parameters, count_subnetworks, dropout_penalties
from ..data import gap_function, load_digits_split
from ..dropout import dropout_forward
from ..experiments import against_lowest, errors_table, rates_not_worse, run_jobs, seed_streams
from ..masks import sample_mask
from ..mc import mc_predict
from ..nn import MLP, evaluate, one_blas_thread, train
from ..records import progress_printer, read_record, record_header, settings_from
from ..stats import paired_comparison
from .widgets import recall_parts, remember_parts, slider_key

# --- 1. bias and variance ---------------------------------------------------------------------

X_RANGE = (-3.0, 3.0)


@dataclass(frozen=True)
class BiasVariance:
    """Polynomial ridge fits of ``gap_function`` on many independent training sets.

    Attributes
    ----------
    x : ndarray, shape (G,)
        Test inputs, evenly spaced over the input range.
    truth : ndarray, shape (G,)
    fits : ndarray, shape (S, G)
        The fitted curve of each of the S training sets.
    bias2, variance : float
        Averaged over ``x``: ``(mean fit - truth)**2`` and the variance of the fits.
    noise : float
        Variance of the label noise (the irreducible error).
    test_mse : float
        Mean squared error on fresh noisy labels, averaged over training sets; equals
        ``bias2 + variance + noise`` up to Monte Carlo error.
    train_mse : float
        Mean squared error on the training sets themselves.
    """

    x: np.ndarray
    truth: np.ndarray
    fits: np.ndarray
    bias2: float
    variance: float
    noise: float
    test_mse: float
    train_mse: float


def _features(x: np.ndarray, degree: int) -> np.ndarray:
    # Legendre polynomials on [-1, 1] keep high degrees well conditioned
    scaled = (x - X_RANGE[0]) / (X_RANGE[1] - X_RANGE[0]) * 2.0 - 1.0
    return np.polynomial.legendre.legvander(scaled, degree)


def bias_variance(
    degree: int,
    l2: float = 0.0,
    *,
    n_points: int = 40,
    n_datasets: int = 200,
    noise_std: float = 0.3,
    n_grid: int = 200,
    seed: int = 0,
) -> BiasVariance:
    """Fit ``n_datasets`` training sets of ``n_points`` noisy samples with a ridge polynomial.

    Each fit minimises ``sum (y - Phi w)**2 + l2 * ||w[1:]||**2`` (the constant is not
    penalised). The decomposition ``E[test error] = bias**2 + variance + noise`` holds exactly
    in expectation; here every term is an average over the training sets.
    """
    degree = check_count(degree, "degree")
    if not l2 >= 0.0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(*X_RANGE, size=(n_datasets, n_points))
    y_train = gap_function(x_train) + noise_std * rng.standard_normal(x_train.shape)
    x = np.linspace(*X_RANGE, n_grid)
    truth = gap_function(x)
    penalty = l2 * np.eye(degree + 1)
    penalty[0, 0] = 0.0
    features = _features(x_train, degree)  # (S, n_points, degree + 1)
    gram = np.einsum("snk,snl->skl", features, features) + penalty
    weights = np.linalg.solve(gram, np.einsum("snk,sn->sk", features, y_train)[..., None])[..., 0]
    fits = weights @ _features(x, degree).T
    train_fits = np.einsum("snk,sk->sn", features, weights)
    fresh = truth + noise_std * rng.standard_normal(fits.shape)
    # the mean of S fits is itself noisy: (mean - truth)**2 overestimates bias**2 by
    # variance / S, so remove that (the unbiased estimate; bias2 + variance is unchanged)
    variance = fits.var(axis=0, ddof=1)
    bias2 = (fits.mean(axis=0) - truth) ** 2 - variance / n_datasets
    return BiasVariance(
        x=x,
        truth=truth,
        fits=fits,
        bias2=float(np.mean(bias2)),
        variance=float(np.mean(variance)),
        noise=noise_std**2,
        test_mse=float(np.mean((fits - fresh) ** 2)),
        train_mse=float(np.mean((train_fits - y_train) ** 2)),
    )


#: the positions of the notebook's L2 slider: log10 λ from -6 to 2 by 0.5
LOG10_L2_SLIDER = tuple(-6.0 + 0.5 * k for k in range(17))


@lru_cache(maxsize=512)
def _bias_variance_of(degree: int, l2: float) -> BiasVariance:
    return bias_variance(degree, l2)


def precompute_bias_variance(
    log10_l2s: tuple[float, ...] = LOG10_L2_SLIDER, *, max_degree: int = 12, progress: bool = False
) -> None:
    """Fit every degree at every L2 strength of the slider once (about 200 ridge fits, a second
    or two), so that moving a slider only redraws. ``progress`` shows a tqdm bar."""
    from tqdm.auto import tqdm

    for log10_l2 in tqdm(log10_l2s, desc="ridge fits", unit="λ", disable=not progress):
        for degree in range(1, max_degree + 1):
            _bias_variance_of(degree, 10.0**log10_l2)


def _bias_variance_parts(max_degree: int):
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.linspace(*X_RANGE, 200)
    fits = [left.plot(x, 0 * x, color="0.6", linewidth=0.7)[0] for _ in range(20)]
    (mean,) = left.plot(x, 0 * x, color="C0", linewidth=2, label="mean of 200 fits")
    (truth,) = left.plot(x, 0 * x, "k--", linewidth=1.5, label="truth")
    left.set(ylim=(-2.5, 2.5), xlabel="x", ylabel="y", title=" ")
    left.legend(loc="lower right")
    degrees = np.arange(1, max_degree + 1)
    sweep = [
        right.semilogy(degrees, np.ones(max_degree), style, label=label)[0]
        for style, label in (
            ("o-", "bias²"),
            ("s-", "variance"),
            ("^-", "test error"),
            ("v:", "training error"),
        )
    ]
    noise = right.axhline(
        1.0, color="grey", linewidth=0.8, linestyle="--", label="noise (irreducible)"
    )
    chosen = right.axvline(1, color="C3", linewidth=1)
    right.set(
        xlabel="polynomial degree",
        ylabel="mean squared error",
        ylim=(_BIAS_FLOOR / 1.5, 300),
        title="test error = bias² + variance + noise",
    )
    right.legend(fontsize=8, ncol=2, loc="upper center")
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_bias_variance,
        moving=(
            *fits,
            mean,
            truth,
            left.title,
            left.get_legend(),
            *sweep,
            noise,
            chosen,
            right.get_legend(),
        ),
        left=left,
        fits=fits,
        mean=mean,
        truth=truth,
        sweep=sweep,
        noise=noise,
        chosen=chosen,
    )


_BIAS_FLOOR = 1e-3  # an estimated bias² can be 0 or slightly negative; drawn at the floor


def draw_bias_variance(
    degree: int = 3, log10_l2: float = -6.0, *, max_degree: int = 12, figure=None
):
    """Left: 20 of the fits, their mean and the truth. Right: bias², variance, train and test
    error against the degree, at the chosen L2 strength ``10**log10_l2``.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    l2 = 10.0**log10_l2
    chosen = _bias_variance_of(int(degree), l2)
    sweep = [_bias_variance_of(d, l2) for d in range(1, max_degree + 1)]
    parts = recall_parts(figure, draw_bias_variance)
    if parts is None or len(parts.sweep[0].get_xdata()) != max_degree:
        parts = _bias_variance_parts(max_degree)
    for line, fit in zip(parts.fits, chosen.fits[:20]):
        line.set_ydata(fit)
    parts.mean.set_ydata(chosen.fits.mean(axis=0))
    parts.truth.set_ydata(chosen.truth)
    parts.left.set_title(
        f"degree {degree}, L2 = {l2:.0e}: bias² {chosen.bias2:.3f}, variance {chosen.variance:.3f}"
    )
    columns = (
        [max(s.bias2, _BIAS_FLOOR) for s in sweep],
        [s.variance for s in sweep],
        [s.test_mse for s in sweep],
        [s.train_mse for s in sweep],
    )
    for line, values in zip(parts.sweep, columns):
        line.set_ydata(values)
    parts.noise.set_ydata([chosen.noise, chosen.noise])
    parts.chosen.set_xdata([degree, degree])
    return parts.figure


# --- 2. the network builder -------------------------------------------------------------------

DEFAULT_SIZES = (3, 7, 7, 3, 2, 1)
DEFAULT_RATES = (0.0, 0.5, 0.3, 0.0, 0.0)
MAX_LAYERS = 8


def _state(sizes, rates) -> tuple[list[int], list[float]]:
    sizes = check_layer_sizes(list(sizes))
    return list(sizes), list(per_layer_p_drop(list(rates), sizes))


def add_layer(
    sizes, rates, size: int = 4, p_drop: float = 0.5, *, max_layers: int = MAX_LAYERS
) -> tuple[list[int], list[float]]:
    """A new hidden layer of ``size`` units with dropout rate ``p_drop``, just before the output.

    Returns new ``(sizes, rates)``; the arguments are not modified.
    """
    sizes, rates = _state(sizes, rates)
    if len(sizes) >= max_layers:
        raise ValueError(f"the builder holds at most {max_layers} layers, got {len(sizes)} already")
    size = check_count(size, "size", minimum=1)
    return [*sizes[:-1], size, sizes[-1]], [*rates, check_p_drop(p_drop)]


def remove_layer(sizes, rates, index: int = -1) -> tuple[list[int], list[float]]:
    """Remove hidden layer ``index`` (``1 .. len(sizes) - 2``, or -1 for the last hidden layer)
    together with its dropout rate."""
    sizes, rates = _state(sizes, rates)
    if len(sizes) <= 2:
        raise ValueError("the network has no hidden layer to remove")
    if index == -1:
        index = len(sizes) - 2
    if not 1 <= index <= len(sizes) - 2:
        raise ValueError(f"index must be a hidden layer, in [1, {len(sizes) - 2}], got {index}")
    return sizes[:index] + sizes[index + 1 :], rates[:index] + rates[index + 1 :]


def resize_layer(sizes, rates, layer: int, size: int) -> tuple[list[int], list[float]]:
    """Give layer ``layer`` (0 = input) ``size`` units."""
    sizes, rates = _state(sizes, rates)
    if not 0 <= layer < len(sizes):
        raise ValueError(f"layer must be in [0, {len(sizes) - 1}], got {layer}")
    sizes[layer] = check_count(size, "size", minimum=1)
    return sizes, rates


def set_p_drop(sizes, rates, layer: int, p_drop: float) -> tuple[list[int], list[float]]:
    """Set the dropout rate of layer ``layer`` (the input or a hidden layer; never the output)."""
    sizes, rates = _state(sizes, rates)
    if not 0 <= layer < len(rates):
        raise ValueError(
            f"layer must be the input or a hidden layer, in [0, {len(rates) - 1}]; "
            f"the output layer (layer {len(sizes) - 1}) is never dropped, got {layer}"
        )
    rates[layer] = check_p_drop(p_drop)
    return sizes, rates


def format_power_of_two(exponent: int) -> str:
    """``2^14 = 16,384`` for small exponents, ``2^512 ≈ 1.34e154`` for large ones."""
    if exponent <= 40:
        return f"2^{exponent} = {2**exponent:,}"
    mantissa_log10 = exponent * np.log10(2.0)
    power = int(np.floor(mantissa_log10))
    return f"2^{exponent} ≈ {10 ** (mantissa_log10 - power):.2f}e{power}"


@dataclass(frozen=True)
class NetworkSummary:
    """Counts of a fully connected network with per-layer dropout."""

    sizes: tuple[int, ...]
    rates: tuple[float, ...]
    n_weights: int
    n_biases: int
    n_droppable: int
    n_subnetworks: int = field(repr=False)

    @property
    def n_layers(self) -> int:
        return len(self.sizes)

    @property
    def n_hidden_layers(self) -> int:
        return len(self.sizes) - 2

    @property
    def n_neurons(self) -> int:
        return sum(self.sizes)

    @property
    def n_parameters(self) -> int:
        return self.n_weights + self.n_biases

    def lines(self) -> list[str]:
        """Short lines (at most about 35 characters: the builder's side panel)."""
        return [
            f"{self.n_layers} layers ({self.n_hidden_layers} hidden), {self.n_neurons} neurons",
            f"{self.n_weights} weights + {self.n_biases} biases",
            f"  = {self.n_parameters} parameters",
            f"{self.n_droppable} droppable units:",
            f"  {format_power_of_two(self.n_droppable)} thinned networks",
        ]


def network_summary(sizes, rates) -> NetworkSummary:
    """Layers, neurons, parameters (:func:`course_lib.analysis.count_parameters`) and thinned
    subnetworks (:func:`course_lib.analysis.count_subnetworks`) of ``(sizes, rates)``."""
    sizes, rates = _state(sizes, rates)
    count = count_parameters(sizes)
    n_droppable = sum(size for size, rate in zip(sizes[:-1], rates) if rate > 0.0)
    return NetworkSummary(
        tuple(sizes),
        tuple(rates),
        count.weights,
        count.biases,
        n_droppable,
        count_subnetworks(sizes, rates),
    )


def layer_rate(sizes, rates, layer: int) -> float:
    """``p_drop`` of layer ``layer``; 0 for the output layer, which is never dropped."""
    return rates[layer] if layer < len(sizes) - 1 else 0.0


def sample_network_masks(sizes, rates, seed: int) -> list[np.ndarray]:
    """One keep-mask per layer (``True`` = kept), drawn with ``default_rng(seed)``; the output
    layer's mask is all True."""
    sizes, rates = _state(sizes, rates)
    rng = np.random.default_rng(seed)
    return [
        sample_mask(size, layer_rate(sizes, rates, layer), rng=rng)
        for layer, size in enumerate(sizes)
    ]


@dataclass(frozen=True)
class UnitDetails:
    """What the inspector shows about one unit."""

    layer: int
    unit: int
    role: str
    fan_in: int
    fan_out: int
    p_drop: float
    kept: bool

    @property
    def n_parameters(self) -> int:
        """Incoming weights and the bias (the input layer has neither)."""
        return self.fan_in + (self.role != "input")

    def lines(self) -> list[str]:
        """Short lines (at most about 35 characters: the builder's side panel)."""
        state = "kept" if self.kept else "DROPPED"
        return [
            f"{self.role} layer {self.layer}, unit {self.unit}",
            f"fan-in {self.fan_in}, fan-out {self.fan_out}",
            f"{self.n_parameters} own parameters (weights + bias)",
            f"p_drop {self.p_drop:g}"
            + (" (output: never dropped)" if self.role == "output" else ""),
            f"in this mask: {state}",
        ]


def unit_details(sizes, rates, seed: int, layer: int, unit: int) -> UnitDetails:
    """Fan-in, fan-out, ``p_drop`` and kept/dropped (in the mask of ``seed``) of one unit."""
    sizes, rates = _state(sizes, rates)
    if not 0 <= layer < len(sizes):
        raise ValueError(f"layer must be in [0, {len(sizes) - 1}], got {layer}")
    if not 0 <= unit < sizes[layer]:
        raise ValueError(f"unit must be in [0, {sizes[layer] - 1}] for layer {layer}, got {unit}")
    last = len(sizes) - 1
    role = "input" if layer == 0 else "output" if layer == last else "hidden"
    masks = sample_network_masks(sizes, rates, seed)
    return UnitDetails(
        layer,
        unit,
        role,
        fan_in=sizes[layer - 1] if layer > 0 else 0,
        fan_out=sizes[layer + 1] if layer < last else 0,
        p_drop=layer_rate(sizes, rates, layer),
        kept=bool(masks[layer][unit]),
    )


def _layer_label(sizes, rates, layer: int) -> list[str]:
    """The four lines above a layer: its name, units, rate and kept units in the mask."""
    last = len(sizes) - 1
    name = "input" if layer == 0 else "output" if layer == last else f"hidden {layer}"
    rate = "never dropped" if layer == last else f"p_drop {rates[layer]:g}"
    units = "unit" if sizes[layer] == 1 else "units"
    return [name, f"{sizes[layer]} {units}", rate]


#: the side panel's rows, a label and a value each: the network's counts, then the unit's
_NETWORK_ROWS = (
    "layers",
    "neurons",
    "weights + biases",
    "parameters",
    "droppable units",
    "thinned networks",
)
_UNIT_ROWS = ("unit", "fan-in, fan-out", "own parameters", "p_drop", "in this mask")
_LINE_POINTS = 13.0  # line spacing of the 9-point panel: 4 pixels between the lines


def _network_parts(n_layers: int):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import offset_copy

    figure = plt.figure(figsize=(11, 4.8))
    grid = figure.add_gridspec(1, 2, width_ratios=(3.1, 1))
    axis, panel = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    dropped_edges = LineCollection([], colors="0.85", linewidths=0.4, linestyles="dotted")
    kept_edges = LineCollection([], colors="C0", linewidths=0.6, alpha=0.45)
    lit_edges = LineCollection([], colors="C1", linewidths=1.6)
    for edges in (dropped_edges, kept_edges, lit_edges):
        axis.add_collection(edges)
    empty = np.empty((0, 2))
    kept = axis.scatter(*empty.T, s=160, edgecolors="k", zorder=3)
    hollow = axis.scatter(*empty.T, s=160, facecolors="white", edgecolors="0.6", zorder=3)
    crosses = axis.scatter(*empty.T, s=70, marker="x", color="C3", zorder=4)
    ring = axis.scatter(
        *empty.T, s=420, facecolors="none", edgecolors="C1", linewidths=2.5, zorder=5
    )
    # one text per line, so that a move draws again only the lines it changed
    labels = [
        [
            axis.text(
                layer,
                1.0,
                " ",
                ha="center",
                va="bottom",
                fontsize=8,
                transform=offset_copy(
                    axis.get_xaxis_transform(), figure, y=(3 - line) * 11.0, units="points"
                ),
            )
            for line in range(4)
        ]
        for layer in range(n_layers)
    ]
    more = [
        axis.text(layer, 0.0, "", ha="center", va="top", fontsize=8) for layer in range(n_layers)
    ]
    # the units are placed on a fixed vertical range, (0, 1): a move never changes a limit
    axis.set(xlim=(-0.5, n_layers - 0.5), ylim=(0.0, 1.0))
    axis.axis("off")
    # a title over the whole figure, held by the axis so that savefig draws it too
    title = axis.text(
        0.5, 0.98, " ", ha="center", va="top", fontsize=10, transform=figure.transFigure
    )
    panel.axis("off")

    def panel_text(row: int, x: float, text: str = "", **style):
        # baselines, so that a label and its value line up whatever their letters
        offset = offset_copy(panel.transAxes, figure, y=-_LINE_POINTS * (row + 1), units="points")
        return panel.text(x, 1.0, text, va="baseline", fontsize=9, transform=offset, **style)

    # a row's label is drawn once, its value again when it changes; the unit's labels come
    # and go with the selection
    panel_text(0, 0.0, "Network:")
    for row, label in enumerate(_NETWORK_ROWS, start=1):
        panel_text(row, 0.0, label)
    network_values = [panel_text(row, 1.0, ha="right") for row in range(1, 7)]
    unit_labels = [panel_text(row, 0.0) for row in range(8, 14)]
    unit_values = [panel_text(row, 1.0, ha="right") for row in range(9, 14)]
    panel.text(
        0.0,
        0.0,
        "filled = kept, crossed = dropped;\nedges join kept units only",
        va="bottom",
        ha="left",
        fontsize=9,
        color="0.35",
        transform=panel.transAxes,
    )
    title.set_in_layout(False)
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 0.94))
    return remember_parts(
        figure,
        draw_network,
        moving=(dropped_edges, kept_edges, lit_edges, kept, hollow, crosses, ring),
        texts=(
            *[text for layer in labels for text in layer],
            *more,
            title,
            *network_values,
            *unit_labels,
            *unit_values,
        ),
        axis=axis,
        edges=(kept_edges, dropped_edges, lit_edges),
        kept=kept,
        hollow=hollow,
        crosses=crosses,
        ring=ring,
        labels=labels,
        more=more,
        title=title,
        network_values=network_values,
        unit_labels=unit_labels,
        unit_values=unit_values,
    )


def draw_network(
    sizes=DEFAULT_SIZES,
    rates=DEFAULT_RATES,
    seed: int = 0,
    highlight=None,
    *,
    max_drawn: int = 16,
    figure=None,
):
    """Draw the network with the keep-mask of ``seed``: kept units filled, dropped units hollow
    and crossed, connections drawn only between kept units.

    ``highlight = (layer, unit)`` rings one unit, colours its connections and lists its details
    in the side panel. Layers wider than ``max_drawn`` show their first ``max_drawn`` units.
    ``figure``: a figure returned by an earlier call, redrawn in place when the number of layers
    is the same (what the builder's sliders do). For speed, every text is one short line, and
    the axis limits never change (see :mod:`course_lib.lessons.widgets`).
    """
    sizes, rates = _state(sizes, rates)
    summary = network_summary(sizes, rates)
    masks = sample_network_masks(sizes, rates, seed)
    drawn = [min(size, max_drawn) for size in sizes]
    tallest = max(drawn)
    parts = recall_parts(figure, draw_network)
    if parts is None or len(parts.labels) != len(sizes):
        parts = _network_parts(len(sizes))
    # unit i of a layer of n sits at i - (n - 1) / 2, on a range that fits the tallest layer
    # and the "+k more" below it, drawn on the fixed range (0, 1)
    bottom = -tallest / 2.0 - (1.3 if max(sizes) > max_drawn else 0.8)
    height = tallest / 2.0 + 0.3 - bottom

    def place(y):
        return (np.asarray(y, dtype=float) - bottom) / height

    def positions(layer):
        n = drawn[layer]
        return layer * np.ones(n), place(np.arange(n) - (n - 1) / 2.0)

    kept_edges, dropped_edges, lit_edges = [], [], []
    for layer in range(len(sizes) - 1):
        xs0, ys0 = positions(layer)
        xs1, ys1 = positions(layer + 1)
        for i in range(drawn[layer]):
            for j in range(drawn[layer + 1]):
                segment = [(xs0[i], ys0[i]), (xs1[j], ys1[j])]
                live = masks[layer][i] and masks[layer + 1][j]
                lit = highlight is not None and (
                    tuple(highlight) == (layer, i) or tuple(highlight) == (layer + 1, j)
                )
                (lit_edges if lit and live else kept_edges if live else dropped_edges).append(
                    segment
                )
    for collection, segments in zip(parts.edges, (kept_edges, dropped_edges, lit_edges)):
        collection.set_segments(segments)
    kept_points, kept_colours, dropped_points = [], [], []
    for layer in range(len(sizes)):
        xs, ys = positions(layer)
        kept = masks[layer][: drawn[layer]]
        kept_points += list(zip(xs[kept], ys[kept]))
        kept_colours += ["C2" if layer == len(sizes) - 1 else "C0"] * int(kept.sum())
        dropped_points += list(zip(xs[~kept], ys[~kept]))
        hidden = sizes[layer] - drawn[layer]
        parts.more[layer].set_text(f"+{hidden} more" if hidden > 0 else "")
        parts.more[layer].set_y(float(place(-(drawn[layer] + 1) / 2.0)))
        n_kept = int(masks[layer].sum())
        label = _layer_label(sizes, rates, layer)
        label.append(f"kept {n_kept}/{sizes[layer]}" if layer < len(sizes) - 1 else "")
        for text, line in zip(parts.labels[layer], label):
            text.set_text(line)
    parts.kept.set_offsets(np.reshape(kept_points, (-1, 2)))
    parts.kept.set_facecolors(kept_colours)
    parts.hollow.set_offsets(np.reshape(dropped_points, (-1, 2)))
    parts.crosses.set_offsets(np.reshape(dropped_points, (-1, 2)))
    ring, unit_labels, unit_values = np.empty((0, 2)), [""] * 6, [""] * 5
    if highlight is not None:
        layer, unit = highlight
        info = unit_details(sizes, rates, seed, layer, unit)
        if unit < drawn[layer]:
            xs, ys = positions(layer)
            ring = np.array([[xs[unit], ys[unit]]])
        unit_labels = ["Selected unit:", *_UNIT_ROWS]
        unit_values = [
            f"{info.role} layer {layer}, unit {unit}",
            f"{info.fan_in}, {info.fan_out}",
            f"{info.n_parameters} (weights + bias)",
            f"{info.p_drop:g}" + (" (never dropped)" if info.role == "output" else ""),
            "kept" if info.kept else "DROPPED",
        ]
    parts.ring.set_offsets(ring)
    n_sites = sum(sizes[:-1])
    n_kept = sum(int(mask.sum()) for mask in masks[:-1])
    parts.title.set_text(
        f"one thinned network (mask seed {seed}): {n_kept} of {n_sites} units "
        "before the output kept"
    )
    network_values = [
        f"{summary.n_layers} ({summary.n_hidden_layers} hidden)",
        f"{summary.n_neurons}",
        f"{summary.n_weights} + {summary.n_biases}",
        f"{summary.n_parameters}",
        f"{summary.n_droppable}",
        format_power_of_two(summary.n_droppable),
    ]
    for texts, values in (
        (parts.network_values, network_values),
        (parts.unit_labels, unit_labels),
        (parts.unit_values, unit_values),
    ):
        for text, value in zip(texts, values):
            text.set_text(value)
    return parts.figure


# --- 3. dropout on the inputs of a linear model: an adaptive L2 penalty -----------------------


@dataclass(frozen=True)
class LinearDropout:
    """Weights of a 4-input linear unit fitted four ways (each of shape (4,)).

    ``ols``: least squares, no regularization. ``exact``: the minimiser of the expected squared
    error under inverted dropout on the inputs, in closed form. ``sampled``: the same objective
    minimised by gradient descent with a fresh dropout mask at every step (iterates averaged).
    ``ridge``: plain L2, one strength ``ridge_l2`` for every weight, chosen so that
    ``|ridge|**2 == |exact|**2``.
    """

    p_drop: float
    X: np.ndarray
    y: np.ndarray
    ols: np.ndarray
    exact: np.ndarray
    sampled: np.ndarray
    ridge: np.ndarray
    penalties: np.ndarray  # dropout's L2 strength on each weight
    ridge_l2: float


def coadaptation_data(n: int = 40, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``x1, x2`` (two nearly identical copies of one signal), ``x3`` and a large-scale
    ``x4``; the target is ``2 * signal + 0.5 * x3 + 0.1 * x4`` plus noise."""
    rng = np.random.default_rng(seed)
    signal = rng.standard_normal(n)
    X = np.column_stack(
        [
            signal + 0.02 * rng.standard_normal(n),
            signal + 0.02 * rng.standard_normal(n),
            rng.standard_normal(n),
            3.0 * rng.standard_normal(n),
        ]
    )
    y = 2.0 * signal + 0.5 * X[:, 2] + 0.1 * X[:, 3] + 0.5 * rng.standard_normal(n)
    return X, y


def _ridge_with_norm(X: np.ndarray, y: np.ndarray, squared_norm: float) -> tuple[np.ndarray, float]:
    """Ridge weights whose squared norm is ``squared_norm`` (bisection on log l2)."""
    gram, target = X.T @ X, X.T @ y
    low, high = -8.0, 8.0
    for _ in range(80):
        middle = (low + high) / 2.0
        w = np.linalg.solve(gram + 10.0**middle * np.eye(len(gram)), target)
        low, high = (middle, high) if w @ w > squared_norm else (low, middle)
    l2 = 10.0 ** ((low + high) / 2.0)
    return np.linalg.solve(gram + l2 * np.eye(len(gram)), target), l2


#: the positions of the notebook's sliders for the linear unit: p_drop 0.05 to 0.9 by 0.05, and
#: the data seeds 0 to 9
LINEAR_P_DROP_SLIDER = tuple(round(0.05 * k, 2) for k in range(1, 19))
LINEAR_SEED_SLIDER = tuple(range(10))
_MASK_BLOCK = 500  # steps whose masks are drawn in one call of dropout_forward


def _descent_step(X: np.ndarray, p_drop: float) -> float:
    """``1 / L``, where ``L`` is the largest curvature of the expected loss
    ``|y - dropout(X) w|**2 / n``, that is the largest eigenvalue of
    ``2 (X^T X + diag(penalties)) / n``.

    Inverted dropout multiplies a kept input by ``1 / keep_prob``, so the curvature along an
    input grows like ``1 / keep_prob`` (the dropout penalty is ``p_drop / keep_prob`` times the
    input's sum of squares), and one step size for every rate makes gradient descent diverge at
    the large rates, until its weights overflow. Half the largest stable step of plain gradient
    descent, ``2 / L``, leaves room for the noise of the masks.
    """
    curvature = 2.0 * (X.T @ X + np.diag(dropout_penalties(X, p_drop))) / len(X)
    return 1.0 / float(np.linalg.eigvalsh(curvature)[-1])


def _train_with_sampled_masks(
    X: np.ndarray, y: np.ndarray, p_drops, *, n_steps: int, seed: int
) -> np.ndarray:
    """Gradient descent on ``|y - dropout(X) w|**2 / n`` from ``w = 0``, a fresh mask at every
    step, for every rate in ``p_drops`` side by side. Returns the mean of the last half of the
    iterates, shape (P, D).

    Each rate draws its masks with :func:`~course_lib.dropout.dropout_forward` from its own
    generator ``default_rng(seed + 1)``, ``_MASK_BLOCK`` steps at a time, so its result does not
    depend on which other rates are trained beside it. For speed, the products with the thinned
    inputs are computed for a whole block of steps at once; what is left for each step is one
    (P, D, D) by (P, D, 1) product.
    """
    n, d = X.shape
    rngs = [np.random.default_rng(seed + 1) for _ in p_drops]
    rates = np.array([2.0 / n * _descent_step(X, p_drop) for p_drop in p_drops])[:, None, None]
    w = np.zeros((len(p_drops), d, 1))
    total = np.zeros_like(w)
    first_averaged = n_steps - n_steps // 2
    for start in range(0, n_steps, _MASK_BLOCK):
        block = np.broadcast_to(X, (min(_MASK_BLOCK, n_steps - start), n, d))
        # the gradient at step t is 2 / n (A_t w - b_t), with A_t = T_t^T T_t and b_t = T_t^T y
        # for the thinned inputs T_t: both computed for a block of steps at once, (steps, P, ...)
        gram = np.empty((len(block), len(p_drops), d, d))
        moment = np.empty((len(block), len(p_drops), d, 1))
        for k, (p_drop, rng) in enumerate(zip(p_drops, rngs)):
            thinned = dropout_forward(block, p_drop, rng=rng)[0]
            gram[:, k] = thinned.transpose(0, 2, 1) @ thinned
            moment[:, k, :, 0] = thinned.transpose(0, 2, 1) @ y
        # one step, w <- w - rate (A_t w - b_t), as w <- M_t w + c_t
        transitions = np.eye(d) - rates * gram
        shifts = rates * moment
        for step, (transition, shift) in enumerate(zip(transitions, shifts), start):
            w = transition @ w + shift
            if step >= first_averaged:
                total += w
    return total[:, :, 0] / (n_steps - first_averaged)


def dropout_linear_fits(p_drops, *, n_steps: int = 8000, seed: int = 0) -> list[LinearDropout]:
    """:func:`dropout_linear_regression` for each rate of ``p_drops`` on the data set of ``seed``,
    trained side by side: faster than one by one, with the same results."""
    p_drops = [check_p_drop(p_drop) for p_drop in p_drops]
    n_steps = check_count(n_steps, "n_steps", minimum=2)  # the last half is averaged
    X, y = coadaptation_data(seed=seed)
    sampled = _train_with_sampled_masks(X, y, p_drops, n_steps=n_steps, seed=seed)
    gram = X.T @ X
    ols = np.linalg.solve(gram, X.T @ y)
    fits = []
    for p_drop, weights in zip(p_drops, sampled):
        penalties = dropout_penalties(X, p_drop)
        exact = np.linalg.solve(gram + np.diag(penalties), X.T @ y)
        ridge, ridge_l2 = _ridge_with_norm(X, y, float(exact @ exact)) if p_drop > 0 else (ols, 0.0)
        fits.append(LinearDropout(p_drop, X, y, ols, exact, weights, ridge, penalties, ridge_l2))
    return fits


def dropout_linear_regression(
    p_drop: float = 0.5, *, n_steps: int = 8000, seed: int = 0
) -> LinearDropout:
    """Fit :func:`coadaptation_data` without and with dropout on the inputs.

    The sampled-mask fit runs ``n_steps`` of gradient descent at the step size ``1 / L`` of
    :func:`_descent_step`, with a fresh mask at every step, and averages the last half of the
    iterates; the expected gradient is linear in the weights, so that average converges to the
    exact minimiser.
    """
    return dropout_linear_fits((p_drop,), n_steps=n_steps, seed=seed)[0]


# (slider_key(p_drop), seed) -> fit, filled by precompute_linear_dropout and by the figure
_LINEAR_FITS: dict[tuple[float, int], LinearDropout] = {}


def precompute_linear_dropout(
    p_drops: tuple[float, ...] = LINEAR_P_DROP_SLIDER,
    seeds: tuple[int, ...] = LINEAR_SEED_SLIDER,
    *,
    progress: bool = False,
) -> None:
    """Fit every rate on every data seed of the sliders once (180 fits, one seed's 18 rates
    side by side), so that moving a slider only redraws. ``progress`` shows a tqdm bar."""
    from tqdm.auto import tqdm

    for seed in tqdm(seeds, desc="fitting the linear unit", unit="seed", disable=not progress):
        missing = [p for p in p_drops if (slider_key(p), int(seed)) not in _LINEAR_FITS]
        for fit in dropout_linear_fits(missing, seed=int(seed)) if missing else ():
            _LINEAR_FITS[slider_key(fit.p_drop), int(seed)] = fit


def _linear_fit_of(p_drop: float, seed: int) -> LinearDropout:
    key = (slider_key(p_drop), int(seed))
    if key not in _LINEAR_FITS:
        _LINEAR_FITS[key] = dropout_linear_regression(key[0], seed=key[1])
    return _LINEAR_FITS[key]


def _weight_range(fits) -> tuple[float, float]:
    """The lowest and highest of the four weight vectors of ``fits``, 0 included."""
    values = np.concatenate([np.r_[f.ols, f.exact, f.sampled, f.ridge, 0.0] for f in fits])
    return float(values.min()), float(values.max())


@lru_cache(maxsize=1)
def _slider_weight_limits() -> tuple[float, float]:
    """One y-range for every slider position (padded by 5%), so that a move redraws in place."""
    precompute_linear_dropout()
    low, high = _weight_range(
        _LINEAR_FITS[slider_key(p), s] for p in LINEAR_P_DROP_SLIDER for s in LINEAR_SEED_SLIDER
    )
    pad = 0.05 * (high - low)
    return low - pad, high + pad


_LINEAR_INPUTS = [
    "x1 (copy of the signal)",
    "x2 (copy of the signal)",
    "x3",
    "x4 (3x larger scale)",
]
_LINEAR_ROWS = (
    ("least squares, no dropout", "0.55"),
    ("dropout, exact minimiser of the expected loss", "C0"),
    ("dropout, trained with sampled masks", "C9"),
    ("plain L2, one λ = {:.3g} for all, same |w|²", "C1"),
)


def _linear_dropout_parts():
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 4))
    width = 0.2
    bars = [
        axis.bar(np.arange(4) + (k - 1.5) * width, np.zeros(4), width, color=colour, label=label)
        for k, (label, colour) in enumerate(_LINEAR_ROWS)
    ]
    axis.axhline(0, color="k", linewidth=0.6)
    axis.set_xticks(np.arange(4), [f"{name}\ndropout's λ_j = 0" for name in _LINEAR_INPUTS])
    axis.set(ylabel="weight", title=" ", ylim=_slider_weight_limits())
    axis.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    patches = [patch for container in bars for patch in container]
    return remember_parts(
        figure,
        draw_linear_dropout,
        moving=(*patches, axis.xaxis, axis.title, axis.get_legend()),
        axis=axis,
        bars=bars,
    )


def draw_linear_dropout(p_drop: float = 0.5, seed: int = 2, *, figure=None):
    """Bars of the four weight vectors of :func:`dropout_linear_regression` on the data set of
    ``seed``. Every slider position is fitted once (:func:`precompute_linear_dropout`, which
    the first call runs), and the y-axis covers all of them, so that a move changes only the
    bars and the text; a value off the sliders' grid is fitted when asked for, and widens the
    axis if it must.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    fit = _linear_fit_of(p_drop, seed)
    parts = recall_parts(figure, draw_linear_dropout) or _linear_dropout_parts()
    axis = parts.axis
    weights = (fit.ols, fit.exact, fit.sampled, fit.ridge)
    legend_texts = axis.get_legend().get_texts()
    for (label, _), w, container, text in zip(_LINEAR_ROWS, weights, parts.bars, legend_texts):
        for patch, value in zip(container, w):
            patch.set_height(value)
        text.set_text(f"{label.format(fit.ridge_l2)}: |w|² = {w @ w:.2f}")
    axis.set_xticks(
        np.arange(4),
        [
            f"{name}\ndropout's λ_j = {penalty:.0f}"
            for name, penalty in zip(_LINEAR_INPUTS, fit.penalties)
        ],
    )
    axis.set_title(
        f"one linear unit, p_drop = {p_drop:.2f} on its 4 inputs "
        f"({len(fit.y)} examples, data seed {seed})"
    )
    low, high = _slider_weight_limits()
    fit_low, fit_high = _weight_range([fit])
    axis.set_ylim(min(low, fit_low), max(high, fit_high))
    return parts.figure


# --- 4. train/validation curves on the digits --------------------------------------------------

CURVE_P_DROPS = (0.0, 0.2, 0.5, 0.8)
DIGITS_LAYERS = (64, 192, 192, 10)


@dataclass
class DigitsCurves:
    """Per-epoch curves (averaged over seeds) for each ``p_drop`` of the hidden layers.

    ``train_error[p]`` etc. have shape (epochs,); ``models[p]`` holds the trained networks (one per
    seed); ``seconds`` is the wall time of the whole computation.
    """

    p_drops: tuple[float, ...]
    layer_sizes: tuple[int, ...]
    n_train: int
    n_val: int
    train_error: dict = field(default_factory=dict)
    val_error: dict = field(default_factory=dict)
    train_loss: dict = field(default_factory=dict)
    val_loss: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    splits: list = field(default_factory=list)
    seconds: float = 0.0
    n_seeds: int = 0

    def final(self, p_drop: float, curve: str = "val_error", last: int = 10) -> float:
        """Mean of a curve over its ``last`` epochs (steadier than the very last epoch)."""
        return float(np.mean(getattr(self, curve)[p_drop][-last:]))

    def best(self, p_drop: float) -> tuple[float, int]:
        """Lowest validation error and its epoch (1-based): where early stopping would stop."""
        curve = self.val_error[p_drop]
        return float(curve.min()), int(curve.argmin()) + 1


def digits_curves(
    p_drops=CURVE_P_DROPS,
    *,
    hidden: tuple[int, ...] = DIGITS_LAYERS[1:-1],
    n_train: int = 300,
    n_val: int = 500,
    epochs: int = 80,
    lr: float = 0.05,
    batch_size: int = 50,
    seeds=(0, 1),
) -> DigitsCurves:
    """Train a ``64-hidden-10`` MLP with ``p_drop`` on every hidden layer, for each ``p_drop``
    and seed, and record its train and validation curves.

    Each seed fixes the split, the initial weights and the training randomness, and every
    ``p_drop`` sees the same three, so the comparison is paired. BLAS is limited to one thread:
    the matrices are small, and threads only add overhead (and contention on a shared machine).
    """
    import time

    started = time.perf_counter()
    seeds = tuple(seeds)
    result = DigitsCurves(tuple(p_drops), (64, *hidden, 10), n_train, n_val, n_seeds=len(seeds))
    result.splits = [
        load_digits_split(
            n_train, rng=seed_streams(seed)[0], n_val=n_val, n_test=0, dtype=np.float32
        )
        for seed in seeds
    ]
    with one_blas_thread():
        for p_drop in result.p_drops:
            runs, models = [], []
            for split, seed in zip(result.splits, seeds):
                # streams rebuilt for every p_drop: each rate starts from the same weights
                _, init_rng, train_rng = seed_streams(seed)
                model = MLP(result.layer_sizes, p_drop, rng=init_rng, dtype=np.float32)
                runs.append(
                    train(
                        model,
                        split.X_train,
                        split.y_train,
                        epochs=epochs,
                        lr=lr,
                        batch_size=batch_size,
                        rng=train_rng,
                        X_val=split.X_val,
                        y_val=split.y_val,
                    )
                )
                models.append(model)
            for curve in ("train_error", "val_error", "train_loss", "val_loss"):
                getattr(result, curve)[p_drop] = np.mean(
                    [getattr(history, curve) for history in runs], axis=0
                )
            result.models[p_drop] = models
    result.seconds = time.perf_counter() - started
    return result


def rate_label(p_drop) -> str:
    """``0.5`` or ``0.2/0.5/0.5`` (one rate per dropout site)."""
    if isinstance(p_drop, (tuple, list)):
        return "/".join(f"{rate:g}" for rate in p_drop)
    return f"{p_drop:g}"


def curves_table(curves: DigitsCurves) -> list[dict]:
    """One row per ``p_drop``: train and validation error over the last 10 epochs (percent),
    their gap, the same for the loss, and the lowest validation error with its epoch."""
    rows = []
    for p_drop in curves.p_drops:
        train_error = 100 * curves.final(p_drop, "train_error")
        val_error = 100 * curves.final(p_drop, "val_error")
        train_loss = curves.final(p_drop, "train_loss")
        val_loss = curves.final(p_drop, "val_loss")
        best, epoch = curves.best(p_drop)
        rows.append(
            {
                "p_drop": p_drop,
                "train_error": train_error,
                "val_error": val_error,
                "error_gap": val_error - train_error,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "loss_gap": val_loss - train_loss,
                "best_val_error": 100 * best,
                "best_epoch": epoch,
            }
        )
    return rows


def format_curves_table(curves: DigitsCurves) -> str:
    """:func:`curves_table` as aligned text."""
    lines = [
        f"{'p_drop':>12} | {'train err':>9} {'val err':>8} {'gap':>6} | {'train loss':>10} "
        f"{'val loss':>8} {'gap':>6} | lowest val err (epoch)"
    ]
    for row in curves_table(curves):
        lines.append(
            f"{rate_label(row['p_drop']):>12} | {row['train_error']:8.2f}% "
            f"{row['val_error']:7.2f}% {row['error_gap']:6.2f} | "
            f"{row['train_loss']:10.3f} {row['val_loss']:8.3f} {row['loss_gap']:6.3f} | "
            f"{row['best_val_error']:.2f}% ({row['best_epoch']})"
        )
    return "\n".join(lines)


_METRICS = {
    "error": ("error", 100.0, "error (%)", (0, 20)),
    "loss": ("loss", 1.0, "cross-entropy loss", (0, 1.0)),
}


def _curves_parts(curves: DigitsCurves, metric: str, overlay: bool):
    """The figure of :func:`draw_curves` for one metric and overlay, without a chosen rate."""
    import matplotlib.pyplot as plt

    name, scale, ylabel, ylim = _METRICS[metric]
    train, val = getattr(curves, f"train_{name}"), getattr(curves, f"val_{name}")
    epochs = np.arange(1, len(train[curves.p_drops[0]]) + 1)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": (1.6, 1)}
    )
    if overlay:  # every rate faint; the chosen one is drawn bold over its own
        for other in curves.p_drops:
            left.plot(epochs, scale * val[other], color="C1", alpha=0.25, linewidth=1)
            left.plot(epochs, scale * train[other], color="C0", alpha=0.25, linewidth=1)
    zeros = np.zeros(len(epochs))
    (train_line,) = left.plot(epochs, zeros, color="C0", linewidth=2, label=f"training {name}")
    (val_line,) = left.plot(epochs, zeros, color="C1", linewidth=2, label=f"validation {name}")
    gap = left.fill_between(
        epochs, zeros, zeros, color="C1", alpha=0.12, label="train/validation gap"
    )
    star = None
    if metric == "error":
        (star,) = left.plot([1], [0.0], "k*", markersize=11, label=" ")
    left.set(xlabel="epoch", ylabel=ylabel, ylim=ylim, title=" ")
    left.legend(fontsize=8, loc="upper right")
    rows = curves_table(curves)
    key = "error" if metric == "error" else "loss"
    positions = np.arange(len(rows))
    span = right.axvspan(-0.45, 0.45, color="0.9", zorder=0)
    bars = [
        *right.bar(
            positions - 0.2,
            [row[f"train_{key}"] for row in rows],
            0.4,
            color="C0",
            label="training",
        ),
        *right.bar(
            positions + 0.2,
            [row[f"val_{key}"] for row in rows],
            0.4,
            color="C1",
            label="validation",
        ),
    ]
    right.set_xticks(positions, [rate_label(p) for p in curves.p_drops])
    right.set(
        xlabel="p_drop",
        ylabel=f"{name} over the last 10 epochs{' (%)' if metric == 'error' else ''}",
        title="where each rate ends",
    )
    right.legend(fontsize=8)
    figure.tight_layout()
    # the chosen rate's shading lies under the frame, the bars and the legend, so they are drawn
    # over it again at every move
    return remember_parts(
        figure,
        draw_curves,
        moving=(
            train_line,
            val_line,
            gap,
            *([star] if star is not None else []),
            left.title,
            left.get_legend(),
            span,
            *right.spines.values(),
            *bars,
            right.get_legend(),
        ),
        key=(id(curves), metric, bool(overlay)),
        curves=curves,
        left=left,
        train_line=train_line,
        val_line=val_line,
        gap=gap,
        star=star,
        span=span,
    )


def draw_curves(
    p_drop, curves: DigitsCurves, metric: str = "error", overlay: bool = True, *, figure=None
):
    """Training and validation curves per epoch for ``p_drop`` (bold), the other rates faint
    (``overlay``), and where every rate ends on the right; ``metric`` is "error" or "loss".

    ``figure``: a figure returned by an earlier call, redrawn in place (what the slider does;
    a change of ``metric`` or ``overlay`` draws a new one).
    """
    if p_drop not in curves.train_error:
        raise ValueError(f"p_drop must be one of the precomputed {curves.p_drops}, got {p_drop}")
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {tuple(_METRICS)}, got {metric!r}")
    parts = recall_parts(figure, draw_curves)
    if (
        parts is None
        or parts.key != (id(curves), metric, bool(overlay))
        or parts.curves is not curves
    ):
        parts = _curves_parts(curves, metric, overlay)
    name, scale, _, _ = _METRICS[metric]
    train_curve = scale * getattr(curves, f"train_{name}")[p_drop]
    val_curve = scale * getattr(curves, f"val_{name}")[p_drop]
    epochs = np.arange(1, len(train_curve) + 1)
    parts.train_line.set_ydata(train_curve)
    parts.val_line.set_ydata(val_curve)
    parts.gap.set_data(epochs, train_curve, val_curve)
    legend_texts = parts.left.get_legend().get_texts()
    if parts.star is not None:
        best, best_epoch = curves.best(p_drop)
        parts.star.set_data([best_epoch], [100 * best])
        label = f"lowest validation error {100 * best:.1f}% (epoch {best_epoch})"
        parts.star.set_label(label)
        legend_texts[-1].set_text(label)
    parts.left.set_title(
        f"p_drop = {rate_label(p_drop)} ({'-'.join(map(str, curves.layer_sizes))}, "
        f"{curves.n_train} training images, mean of {curves.n_seeds} runs)"
    )
    chosen = curves.p_drops.index(p_drop)
    parts.span.set_x(chosen - 0.45)
    return parts.figure


@dataclass(frozen=True)
class EnsembleErrors:
    """Validation errors (fractions) of a dropout network used four ways."""

    weight_scaled: float  # the full network at inference (no mask)
    single_thinned: float  # one sampled subnetwork, averaged over the samples
    averaged: dict  # {k: error of the average of k thinned networks' probabilities}


def ensemble_errors(
    model: MLP, X: np.ndarray, y: np.ndarray, *, sizes=(1, 10, 100), seed: int = 0
) -> EnsembleErrors:
    """Compare the full network with single thinned networks and averages of ``k`` of them."""

    rng = np.random.default_rng(seed)
    with one_blas_thread():  # small matrices: threads cost more than they save
        _, _, samples = mc_predict(
            lambda X_, rng_: model.predict_proba(X_, training=True, rng=rng_),
            X,
            max(sizes),
            rng=rng,
            return_samples=True,
        )
    single = float(np.mean([np.mean(s.argmax(axis=1) != y) for s in samples]))
    averaged = {k: float(np.mean(samples[:k].mean(axis=0).argmax(axis=1) != y)) for k in sizes}
    return EnsembleErrors(float(evaluate(model, X, y)[1]), single, averaged)


# --- 5. the guided experiment, recorded --------------------------------------------------------

RECORD_PATH = Path(__file__).with_name("nb01_intuition_results.json")
GENERATOR = "python -m course_lib.lessons.nb01_intuition"
CONFIDENCE = 0.95  # of every interval the notebook quotes


@dataclass(frozen=True)
class ExperimentSettings:
    """The guided experiment: a 64-256-256-10 network, 300 training images, 500 epochs.

    Wide layers, few images and a long run: without dropout the network fits the training set
    perfectly, and what it learns beyond that is noise. Each seed fixes the split, the initial
    weights and the training randomness (:func:`course_lib.experiments.seed_streams`); every rate
    sees the same ones, so the comparison between rates is paired.
    """

    p_drops: tuple[float, ...] = CURVE_P_DROPS
    hidden: tuple[int, ...] = (256, 256)
    n_train: int = 300
    n_val: int = 500
    n_test: int = 500
    epochs: int = 500
    lr: float = 0.05
    batch_size: int = 100
    seeds: tuple[int, ...] = tuple(range(10))

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (64, *self.hidden, 10)


def train_recorded_network(settings: ExperimentSettings, p_drop: float, seed: int):
    """Train one rate with one seed of the guided experiment.

    Returns
    -------
    (model, split, history, test_error) : the trained MLP, the data split
    (:func:`course_lib.data.load_digits_split`), its :class:`course_lib.nn.History` and the
    final network's test error.
    """
    p_drop = check_p_drop(p_drop)
    seed = check_count(seed, "seed")
    split_rng, init_rng, train_rng = seed_streams(seed)
    split = load_digits_split(
        settings.n_train,
        rng=split_rng,
        n_val=settings.n_val,
        n_test=settings.n_test,
        dtype=np.float32,
    )
    with one_blas_thread():
        model = MLP(settings.layer_sizes, p_drop, rng=init_rng, dtype=np.float32)
        history = train(
            model,
            split.X_train,
            split.y_train,
            epochs=settings.epochs,
            lr=settings.lr,
            batch_size=settings.batch_size,
            rng=train_rng,
            X_val=split.X_val,
            y_val=split.y_val,
        )
        test_error = evaluate(model, split.X_test, split.y_test)[1]
    return model, split, history, test_error


def run_record(settings: ExperimentSettings, p_drop: float, seed: int, history, test_error) -> dict:
    """One run as plain (JSON) data: ``p_drop``, ``seed``, per epoch ``train_mistakes`` and
    ``val_mistakes`` (misclassified images, whole numbers) and ``train_loss``, ``val_loss``
    (rounded to 5 decimals), and ``test_mistakes`` of the final network."""
    return {
        "p_drop": float(p_drop),
        "seed": int(seed),
        "train_mistakes": [round(e * settings.n_train) for e in history.train_error],
        "val_mistakes": [round(e * settings.n_val) for e in history.val_error],
        "train_loss": [round(float(loss), 5) for loss in history.train_loss],
        "val_loss": [round(float(loss), 5) for loss in history.val_loss],
        "test_mistakes": round(test_error * settings.n_test),
    }


def record_run(settings: ExperimentSettings, p_drop: float, seed: int) -> dict:
    """Train one rate with one seed (:func:`train_recorded_network`) and return its record
    (:func:`run_record`). The same arguments give the same record on any machine that computes
    float32 the same way (BLAS runs on one thread)."""
    _, _, history, test_error = train_recorded_network(settings, p_drop, seed)
    return run_record(settings, p_drop, seed, history, test_error)


def recorded_run(record: dict, p_drop: float, seed: int) -> dict:
    """The run of ``p_drop`` and ``seed`` in the record."""
    for run in _runs(record, p_drop):
        if run["seed"] == seed:
            return run
    raise ValueError(f"seed must be one of the recorded {settings_of(record).seeds}, got {seed}")


def compute_record(
    settings: ExperimentSettings = ExperimentSettings(), *, workers: int = 1, progress: bool = False
) -> dict:
    """Every rate with every seed (:func:`record_run`), in ``workers`` processes
    (:func:`course_lib.experiments.run_jobs`; the record does not depend on ``workers``)."""
    workers = check_count(workers, "workers", minimum=1)
    jobs = [(settings, p_drop, seed) for p_drop in settings.p_drops for seed in settings.seeds]
    started = time.perf_counter()
    labels = [f"p_drop {p_drop:g}, seed {seed}" for _, p_drop, seed in jobs]
    report = progress_printer(labels, started, enabled=progress)
    runs = run_jobs(record_run, jobs, workers=workers, on_done=report)
    header = record_header(GENERATOR, started)
    seconds = header.pop("seconds")  # the committed record has its settings first: keep the order
    return {**header, "settings": asdict(settings), "seconds": seconds, "runs": runs}


def save_record(record: dict, path: Path = RECORD_PATH) -> None:
    """Write the record as JSON, one run per line."""
    head = {name: value for name, value in record.items() if name != "runs"}
    lines = ",\n".join("  " + json.dumps(run, separators=(",", ":")) for run in record["runs"])
    text = json.dumps(head, indent=1)[:-2] + ',\n "runs": [\n' + lines + "\n ]\n}\n"
    Path(path).write_text(text)


def load_record(path: Path = RECORD_PATH) -> dict:
    """The recorded guided experiment (see :func:`compute_record`)."""
    return read_record(path)


def settings_of(record: dict) -> ExperimentSettings:
    """The :class:`ExperimentSettings` a record was made with."""
    return settings_from(ExperimentSettings, record["settings"])


def _runs(record: dict, p_drop: float) -> list[dict]:
    runs = [run for run in record["runs"] if run["p_drop"] == p_drop]
    if not runs:
        raise ValueError(
            f"p_drop must be one of the recorded {settings_of(record).p_drops}, got {p_drop}"
        )
    return sorted(runs, key=lambda run: run["seed"])


def record_curves(record: dict) -> DigitsCurves:
    """The recorded curves, averaged over seeds, in the form :func:`draw_curves` draws."""
    s = settings_of(record)
    curves = DigitsCurves(s.p_drops, s.layer_sizes, s.n_train, s.n_val, n_seeds=len(s.seeds))
    for p_drop in s.p_drops:
        runs = _runs(record, p_drop)
        curves.train_error[p_drop] = (
            np.mean([r["train_mistakes"] for r in runs], axis=0) / s.n_train
        )
        curves.val_error[p_drop] = np.mean([r["val_mistakes"] for r in runs], axis=0) / s.n_val
        curves.train_loss[p_drop] = np.mean([r["train_loss"] for r in runs], axis=0)
        curves.val_loss[p_drop] = np.mean([r["val_loss"] for r in runs], axis=0)
    curves.seconds = record["seconds"]
    return curves


def final_errors(record: dict, split: str = "val") -> dict[float, np.ndarray]:
    """Error (fraction) of every seed's final network, per rate, in seed order: ``split`` is
    "train", "val" (both after the last epoch) or "test"."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    s = settings_of(record)
    size = {"train": s.n_train, "val": s.n_val, "test": s.n_test}[split]
    errors = {}
    for p_drop in s.p_drops:
        runs = _runs(record, p_drop)
        if split == "test":
            mistakes = [run["test_mistakes"] for run in runs]
        else:
            mistakes = [run[f"{split}_mistakes"][-1] for run in runs]
        errors[p_drop] = np.array(mistakes, dtype=float) / size
    return errors


def validation_comparison(record: dict) -> dict:
    """Choose ``p_drop`` on the validation errors, and say how sure that choice is.

    Returns
    -------
    dict with ``means`` {p_drop: mean final validation error}, ``best`` (the rate with the lowest
    mean), ``against_best`` {p_drop: :func:`course_lib.stats.paired_comparison` of that rate
    minus the best}, ``against_none`` {p_drop: the same against ``p_drop = 0``} and
    ``not_worse`` (the rates that are not significantly worse than the best,
    :func:`course_lib.experiments.rates_not_worse`, the best included).
    """
    val = final_errors(record, "val")
    rates, table = errors_table(val)
    best_row, comparisons = against_lowest(table)
    best = rates[best_row]
    not_worse = [rate for rate, ok in zip(rates, rates_not_worse(table)) if ok]
    return {
        "means": {p_drop: float(errors.mean()) for p_drop, errors in val.items()},
        "best": best,
        "against_best": {p: c for p, c in zip(rates, comparisons) if p != best},
        "against_none": against_none(record),
        "not_worse": sorted(not_worse),
    }


def against_none(record: dict) -> dict:
    """``{p_drop: paired comparison of its final validation errors minus those of p_drop = 0}``
    (:func:`course_lib.stats.paired_comparison`), for every rate but 0.

    Apart from :func:`validation_comparison` on purpose: the notebook's table needs only this,
    and while notebook 01 is graded the rule for choosing a rate
    (:func:`course_lib.experiments.rates_not_worse`) is an answer the grading kernel does not
    have."""
    val = final_errors(record, "val")
    return {p: _paired(val[p], val[0.0]) for p in val if p != 0.0}


def _paired(a, b):
    return paired_comparison(a, b, CONFIDENCE, sign_flip=False)


def test_report(record: dict) -> dict:
    """The test errors, read once for the rate chosen on validation against ``p_drop = 0``:
    ``chosen``, the mean test errors of both and the
    :func:`course_lib.stats.paired_comparison` of chosen minus none."""
    chosen = validation_comparison(record)["best"]
    test = final_errors(record, "test")
    return {
        "chosen": chosen,
        "chosen_error": float(test[chosen].mean()),
        "none_error": float(test[0.0].mean()),
        "difference": _paired(test[chosen], test[0.0]),
    }


def experiment_table(record: dict) -> list[dict]:
    """One row per rate, means over seeds of the final networks: training and validation error
    (percent), the loss gap, the validation error's standard deviation over seeds, and the
    lowest point of the mean validation curve (percent, epoch)."""
    curves = record_curves(record)
    val = final_errors(record, "val")
    train_final = final_errors(record, "train")
    rows = []
    for p_drop in curves.p_drops:
        best, epoch = curves.best(p_drop)
        rows.append(
            {
                "p_drop": p_drop,
                "train_error": 100 * float(train_final[p_drop].mean()),
                "val_error": 100 * float(val[p_drop].mean()),
                "val_error_sd": 100 * float(np.std(val[p_drop], ddof=1)),
                "train_loss": float(curves.train_loss[p_drop][-1]),
                "val_loss": float(curves.val_loss[p_drop][-1]),
                "loss_gap": float(curves.val_loss[p_drop][-1] - curves.train_loss[p_drop][-1]),
                "best_val_error": 100 * best,
                "best_epoch": epoch,
            }
        )
    return rows


def format_experiment_table(record: dict) -> str:
    """:func:`experiment_table` and the paired comparison with ``p_drop = 0`` as aligned text."""
    compared = against_none(record)
    df = len(settings_of(record).seeds) - 1
    lines = [
        f"{'p_drop':>6} | {'train err':>9} {'val err':>8} {'(sd)':>6} | {'train loss':>10} "
        f"{'val loss':>8} {'gap':>6} | val err - none: mean, {100 * CONFIDENCE:.0f}% t-interval "
        f"({df} df), p"
    ]
    for row in experiment_table(record):
        p_drop = row["p_drop"]
        if p_drop == 0.0:
            paired = "(the reference)"
        else:
            c = compared[p_drop]
            paired = (
                f"{100 * c.mean:+.2f} [{100 * c.low:+.2f}, {100 * c.high:+.2f}], "
                f"p = {c.p_value:.2g}"
            )
        lines.append(
            f"{p_drop:>6g} | {row['train_error']:8.2f}% {row['val_error']:7.2f}% "
            f"{row['val_error_sd']:6.2f} | {row['train_loss']:10.4f} {row['val_loss']:8.3f} "
            f"{row['loss_gap']:6.3f} | {paired}"
        )
    return "\n".join(lines)


def key_numbers(record: dict) -> dict[str, str]:
    """Every figure the notebook's prose quotes about the guided experiment, as it is printed
    there (tests check that the notebook contains each one)."""
    s = settings_of(record)
    rows = {row["p_drop"]: row for row in experiment_table(record)}
    comparison = validation_comparison(record)
    report = test_report(record)

    def pct(value):
        return f"{value:.2f}%"

    from scipy import stats

    n_weights, n_biases = count_parameters(list(s.layer_sizes))
    labels = [f"{p_drop:g}" for p_drop in comparison["not_worse"]]
    numbers = {
        "layers": "-".join(map(str, s.layer_sizes)),
        "n_train": str(s.n_train),
        "n_val": str(s.n_val),
        "n_test": str(s.n_test),
        "epochs": str(s.epochs),
        "lr": f"{s.lr:g}",
        "batch_size": str(s.batch_size),
        "n_params_k": f"{round((n_weights + n_biases) / 1000):,},000",
        "masks": f"{s.n_train * s.epochs:,}",
        "power": f"$2^{{{sum(s.hidden)}}}$",
        "n_runs": str(len(s.p_drops) * len(s.seeds)),
        "n_seeds": str(len(s.seeds)),
        "df": str(len(s.seeds) - 1),
        "t_quantile": f"{stats.t.ppf(0.5 + CONFIDENCE / 2, len(s.seeds) - 1):.2f}",
        "chosen": f"{comparison['best']:g}",
        "not_worse": " and ".join(
            [", ".join(labels[:-1]), labels[-1]] if len(labels) > 1 else labels
        ),
        "test_none": pct(100 * report["none_error"]),
        "test_chosen": pct(100 * report["chosen_error"]),
        "test_diff": f"{100 * report['difference'].mean:+.2f}",
        "test_low": f"{100 * report['difference'].low:+.2f}",
        "test_high": f"{100 * report['difference'].high:+.2f}",
        "test_p": f"{report['difference'].p_value:.2g}",
    }
    curves = record_curves(record)
    for p_drop, row in rows.items():
        label = f"{p_drop:g}"
        fitted = np.flatnonzero(curves.train_error[p_drop] == 0)  # every seed fits its images
        numbers[f"fit_epoch_{label}"] = str(fitted[0] + 1) if fitted.size else "never"
        numbers[f"val_loss_epoch_{label}"] = str(int(np.argmin(curves.val_loss[p_drop])) + 1)
        numbers[f"kept_{label}"] = str(round(s.hidden[0] * (1 - p_drop)))
        if p_drop != comparison["best"]:
            numbers[f"p_best_{label}"] = f"{comparison['against_best'][p_drop].p_greater:.2g}"
        numbers[f"val_{label}"] = pct(row["val_error"])
        numbers[f"sd_{label}"] = f"{row['val_error_sd']:.2f}"
        numbers[f"train_{label}"] = pct(row["train_error"])
        numbers[f"gap_{label}"] = f"{row['loss_gap']:.2f}"
        numbers[f"train_loss_{label}"] = f"{row['train_loss']:.3f}"
        if p_drop != 0.0:
            c = comparison["against_none"][p_drop]
            numbers[f"diff_{label}"] = f"{100 * c.mean:+.2f}"
            numbers[f"low_{label}"] = f"{100 * c.low:+.2f}"
            numbers[f"high_{label}"] = f"{100 * c.high:+.2f}"
            numbers[f"p_{label}"] = f"{c.p_value:.2g}"
    return numbers


#: section 8's ensemble numbers (:func:`ensemble_numbers`), recorded with ``--ensemble`` so that
#: checking the prose needs no training
ENSEMBLE_PATH = Path(__file__).with_name("nb01_intuition_ensemble.json")
ENSEMBLE_SIZES = (1, 10, 50)  # the numbers of thinned networks section 8 averages


def ensemble_numbers(model: MLP, split) -> dict[str, str]:
    """Section 8's figures, as its prose quotes them: the validation error of ``model`` (the
    network the notebook trains again, p_drop 0.5, seed 0) without a mask, of one thinned network
    at a time, and of averages of :data:`ENSEMBLE_SIZES` thinned networks."""
    result = ensemble_errors(model, split.X_val, split.y_val, sizes=ENSEMBLE_SIZES, seed=0)
    numbers = {
        "ens_full": f"{100 * result.weight_scaled:.1f}%",
        "ens_single": f"{100 * result.single_thinned:.1f}%",
    }
    for k in ENSEMBLE_SIZES[1:]:
        numbers[f"ens_{k}"] = f"{100 * result.averaged[k]:.1f}%"
    return numbers


def record_ensemble(path: Path = ENSEMBLE_PATH) -> dict[str, str]:
    """Train section 8's network as the notebook does and write its :func:`ensemble_numbers`."""
    model, split, _, _ = train_recorded_network(ExperimentSettings(), 0.5, 0)
    numbers = ensemble_numbers(model, split)
    path.write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    return numbers


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Run notebook 01's guided experiment and write the record the notebook loads."
    )
    parser.add_argument("--out", type=Path, default=RECORD_PATH, help="default: beside this module")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--ensemble", action="store_true", help=f"only record section 8's {ENSEMBLE_PATH.name}"
    )
    args = parser.parse_args(argv)
    if args.ensemble:
        print(f"{record_ensemble()} -> {ENSEMBLE_PATH}")
        return
    record = compute_record(ExperimentSettings(), workers=args.workers, progress=not args.quiet)
    save_record(record, args.out)
    print(f"wrote {args.out} ({record['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

"""Notebook 02: one unit is a Bernoulli trial, a layer's dropped count is Binomial(n, p_drop).

Conventions: ``p_drop`` is the probability that a unit is dropped, ``keep_prob = 1 - p_drop``;
masks are boolean, ``True`` = kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..analysis import (
    dropped_count_distribution,
    dropped_count_range,
    prob_exactly_dropped,
    relative_spread,
)
from ..masks import sample_mask
from .widgets import recall_parts, remember_parts

_KEPT_COLOR, _DROPPED_COLOR = "#4C72B0", "#E8E8E8"


def dropped_counts(n: int, p_drop: float, n_layers: int, *, seed: int = 0) -> np.ndarray:
    """Dropped counts of ``n_layers`` sampled masks of an ``n``-unit layer, shape (n_layers,)."""
    masks = sample_mask((n_layers, n), p_drop, rng=np.random.default_rng(seed))
    return n - np.count_nonzero(masks, axis=1)


def _masks_average(p_drop: float, n_units: int) -> str:
    return f"p_drop = {p_drop:.2f}: {n_units * p_drop:g} dropped on average"


def _masks_parts(n_samples: int, n_units: int):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    figure, axis = plt.subplots(figsize=(10, 0.28 * n_samples + 1.2))
    # one cell per mask entry, white edges between the cells (cheaper to draw than an image
    # resampled to the screen under a grid of tick lines)
    cells = axis.pcolormesh(
        np.arange(n_units + 1) - 0.5,
        np.arange(n_samples + 1) - 0.5,
        np.zeros((n_samples, n_units)),
        cmap=ListedColormap([_DROPPED_COLOR, _KEPT_COLOR]),
        vmin=0,
        vmax=1,
        edgecolors="white",
        linewidth=1,
    )
    axis.set(xlim=(-0.5, n_units - 0.5), ylim=(n_samples - 0.5, -0.5), xlabel="unit")
    axis.set_yticks([])
    axis.set_ylabel("one mask per example", fontsize=9)
    axis.set_title(
        f"{n_samples} sampled masks of a {n_units}-unit layer (blue = kept, grey = dropped)",
        loc="left",
        fontsize=11,
    )
    average = axis.text(
        1.0, 1.02, _masks_average(0.55, n_units), transform=axis.transAxes, ha="right", fontsize=10
    )
    axis.text(n_units + 0.1, -0.9, "dropped", fontsize=8, va="bottom")
    dropped = [
        axis.text(n_units + 0.1, row, "00", fontsize=8, family="monospace", va="center")
        for row in range(n_samples)
    ]
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_masks,
        moving=(cells,),
        texts=(average, *dropped),
        cells=cells,
        average=average,
        dropped=dropped,
    )


def draw_masks(
    p_drop: float = 0.5, n_samples: int = 12, n_units: int = 48, *, seed: int = 0, figure=None
):
    """Sampled keep-masks of one layer, one row per training example (filled = kept), with the
    number of dropped units of each row at its right.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    masks = sample_mask((n_samples, n_units), p_drop, rng=np.random.default_rng(seed))
    parts = recall_parts(figure, draw_masks)
    if parts is None or parts.cells.get_array().shape != masks.shape:
        parts = _masks_parts(n_samples, n_units)
    parts.cells.set_array(masks.astype(float))
    for text, row in zip(parts.dropped, masks):
        text.set_text(f"{n_units - int(row.sum()):>2}")
    parts.average.set_text(_masks_average(p_drop, n_units))
    return parts.figure


#: top of the counts figure, relative to the most likely count (a noisy bar may reach past it)
_COUNTS_TOP = 1.3
#: the numbers listed beside the counts figure: a fixed label, then the value a move changes
_COUNTS_ROWS = (
    "layer",
    "mean n · p_drop",
    "95% central range",
    "as fractions of n",
    "sampled masks in it",
    "the law puts in it",
    "most likely count",
    "its probability",
    "sd",
    "sd / mean",
)


def _counts_parts():
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(10, 4))
    grid = figure.add_gridspec(1, 2, width_ratios=(2.4, 1))
    axis, panel = figure.add_subplot(grid[0]), figure.add_subplot(grid[1])
    band = axis.axvspan(0, 1, color="C2", alpha=0.13, label="95% central range")
    # one step outline for the histogram: gapless bars of width 1/n, far cheaper than bar patches
    histogram = axis.stairs(
        [0.0], [0.0, 1.0], fill=True, color="C0", alpha=0.5, label="dropped counts of the masks"
    )
    (pmf,) = axis.plot([], [], color="black", linewidth=1.2, markersize=3, label="Binomial pmf")
    mean = axis.axvline(0.5, color="C3", linestyle="--", linewidth=1.2, label="n · p_drop")
    # fixed limits: a move redraws the data and the numbers, never the axes
    axis.set(
        xlim=(-0.05, 1.05),
        ylim=(0, _COUNTS_TOP),
        xlabel="fraction of the layer dropped, k / n",
        ylabel="probability ÷ that of the most likely k",
        title="dropped units in one layer of n units",
    )
    panel.axis("off")
    panel.legend(*axis.get_legend_handles_labels(), loc="upper left", fontsize=9)
    # a label never changes: only the values are drawn again when a slider moves
    values = []
    for row, label in enumerate(_COUNTS_ROWS):
        height = 0.58 - 0.068 * row  # baselines, so that a label and its value line up
        panel.text(0.0, height, label, fontsize=9, transform=panel.transAxes, va="baseline")
        values.append(
            panel.text(
                1.0, height, " ", fontsize=9, transform=panel.transAxes, va="baseline", ha="right"
            )
        )
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_dropped_counts,
        moving=(band, histogram, pmf, mean),
        texts=values,
        axis=axis,
        band=band,
        histogram=histogram,
        pmf=pmf,
        mean=mean,
        values=values,
    )


def draw_dropped_counts(
    n: int = 1024, p_drop: float = 0.5, n_layers: int = 5000, *, seed: int = 0, figure=None
):
    """The Binomial(n, p_drop) pmf of the dropped count, with the histogram of the dropped counts
    of ``n_layers`` sampled masks on top; n * p_drop and the 95% central range are marked.

    The horizontal axis is the fraction dropped, k / n, on [0, 1] for every n, and both the pmf
    and the histogram are divided by the probability of the most likely count, so that one
    figure with fixed axes shows every layer, and a wider layer shows a narrower peak. The
    numbers are listed at the right.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    law = dropped_count_distribution(n, p_drop)
    lo, hi = dropped_count_range(n, p_drop, 0.95)
    dropped = dropped_counts(n, p_drop, n_layers, seed=seed)
    mean, sd = n * p_drop, float(law.std())
    first = max(0, math.floor(mean - 5 * sd) - 1)
    last = min(n, max(math.ceil(mean + 5 * sd) + 1, first + 10))
    counts = np.arange(first, last + 1)
    frequencies = np.bincount(dropped, minlength=n + 1)[first : last + 1] / n_layers
    # scipy types a frozen law as rv_continuous_frozen | rv_discrete_frozen, whichever it is
    pmf = law.pmf(counts)  # pyright: ignore[reportAttributeAccessIssue]
    peak = float(pmf.max())
    most_likely = int(counts[np.argmax(pmf)])

    parts = recall_parts(figure, draw_dropped_counts) or _counts_parts()
    parts.band.set_x((lo - 0.5) / n)
    parts.band.set_width((hi - lo + 1.0) / n)
    parts.histogram.set_data(frequencies / peak, np.append(counts - 0.5, last + 0.5) / n)
    parts.pmf.set_data(counts / n, pmf / peak)
    parts.pmf.set_marker("o" if counts.size <= 80 else "None")
    parts.mean.set_xdata([p_drop, p_drop])
    inside = float(np.mean((dropped >= lo) & (dropped <= hi)))
    coverage = float(law.cdf(hi) - law.cdf(lo - 1))
    values = (
        f"n = {n}, p_drop = {p_drop:.2f}",
        f"{mean:g} dropped",
        f"[{lo}, {hi}]",
        f"{lo / n:.1%} to {hi / n:.1%}",
        f"{inside:.1%} of {n_layers}",
        f"{coverage:.1%}",
        f"{most_likely} dropped",
        f"{prob_exactly_dropped(n, most_likely, p_drop):.4f}",
        f"{sd:.3g} units",
        f"{sd / mean:.3g}" if mean else "undefined",
    )
    for text, value in zip(parts.values, values):
        text.set_text(value)
    return parts.figure


@dataclass(frozen=True)
class SpreadRow:
    """Spread of the dropped count of an ``n``-unit layer: formula and measured on masks."""

    n: int
    mean: float  # n * p_drop
    sd: float  # sqrt(n * p_drop * keep_prob)
    relative_spread: float  # sd / mean = sqrt(keep_prob / (n * p_drop))
    measured_mean: float
    measured_relative_spread: float  # sample sd / sample mean of the dropped counts


def spread_table(
    ns=(10, 30, 100, 300, 1000, 3000, 10_000),
    p_drop: float = 0.5,
    n_layers: int = 2000,
    *,
    seed: int = 0,
) -> list[SpreadRow]:
    """The relative spread of the dropped count, from the formula and from sampled masks."""
    rows = []
    for i, n in enumerate(ns):
        dropped = dropped_counts(n, p_drop, n_layers, seed=seed + i)
        measured_mean = float(dropped.mean())
        rows.append(
            SpreadRow(
                n=n,
                mean=n * p_drop,
                sd=math.sqrt(n * p_drop * (1 - p_drop)),
                relative_spread=relative_spread(n, p_drop),
                measured_mean=measured_mean,
                measured_relative_spread=float(dropped.std(ddof=1)) / measured_mean,
            )
        )
    return rows


def draw_concentration(p_drop: float = 0.5, *, seed: int = 0):
    """Left: the law of the dropped FRACTION K/n for growing n. Right: sd/mean of K against n
    on log-log axes, formula and sampled masks (slope -1/2)."""
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for i, n in enumerate((16, 64, 256, 1024, 4096)):
        law = dropped_count_distribution(n, p_drop)
        counts = np.arange(n + 1)
        # pmf * n is a density over the fraction axis, so the curves share one scale
        # (scipy types a frozen law as rv_continuous_frozen | rv_discrete_frozen, whichever it is)
        density = law.pmf(counts) * n  # pyright: ignore[reportAttributeAccessIssue]
        left.plot(counts / n, density, color=plt.cm.viridis(i / 4.5), label=f"n = {n}")
    left.axvline(p_drop, color="C3", linestyle="--", linewidth=1)
    left.set(
        xlabel="fraction of units dropped, K / n",
        ylabel="probability × n",
        title=f"the dropped fraction concentrates at p_drop = {p_drop:.2f}",
        xlim=(max(0.0, p_drop - 0.4), min(1.0, p_drop + 0.4)),
    )
    left.legend(fontsize=9)

    rows = spread_table(p_drop=p_drop, seed=seed)
    ns = np.array([row.n for row in rows])
    right.loglog(
        ns,
        [row.relative_spread for row in rows],
        color="black",
        label="sqrt(keep_prob / (n · p_drop))",
    )
    right.loglog(
        ns,
        [row.measured_relative_spread for row in rows],
        "o",
        color="C1",
        label="measured on 2000 sampled masks per n",
    )
    right.set(
        xlabel="units in the layer, n",
        ylabel="sd / mean of the dropped count",
        title="relative spread falls as 1/√n (10× units → 3.2× narrower)",
    )
    right.legend(fontsize=9)
    right.grid(which="both", alpha=0.3)
    figure.tight_layout()
    return figure


@dataclass(frozen=True)
class CountMoments:
    """Mean and variance of the kept and dropped counts: formula and measured."""

    kept_mean: float
    kept_var: float
    dropped_mean: float
    dropped_var: float
    measured_kept_mean: float
    measured_kept_var: float
    measured_dropped_mean: float
    measured_dropped_var: float


def count_moments(n: int, p_drop: float, n_layers: int = 5000, *, seed: int = 0) -> CountMoments:
    """Kept count ~ Binomial(n, keep_prob), dropped count ~ Binomial(n, p_drop): both have
    variance n * p_drop * keep_prob; only the means differ."""
    keep_prob = 1.0 - p_drop
    dropped = dropped_counts(n, p_drop, n_layers, seed=seed)
    kept = n - dropped
    return CountMoments(
        kept_mean=n * keep_prob,
        kept_var=n * keep_prob * p_drop,
        dropped_mean=n * p_drop,
        dropped_var=n * p_drop * keep_prob,
        measured_kept_mean=float(kept.mean()),
        measured_kept_var=float(kept.var(ddof=1)),
        measured_dropped_mean=float(dropped.mean()),
        measured_dropped_var=float(dropped.var(ddof=1)),
    )


def pair_table(p_drop: float, n_layers: int = 200_000, *, seed: int = 0) -> dict[str, float]:
    """Two units of the same layer, measured over ``n_layers`` masks: how often each is kept,
    how often both are, and the product keep_prob**2 that independence predicts."""
    masks = sample_mask((n_layers, 2), p_drop, rng=np.random.default_rng(seed))
    first, second = masks[:, 0], masks[:, 1]
    return {
        "P(unit 1 kept)": float(first.mean()),
        "P(unit 2 kept)": float(second.mean()),
        "P(both kept)": float((first & second).mean()),
        "keep_prob²": (1.0 - p_drop) ** 2,
        "correlation": float(np.corrcoef(first, second)[0, 1]),
    }

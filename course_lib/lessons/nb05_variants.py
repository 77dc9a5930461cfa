"""Notebook 05: the variants of dropout, seen on one digit and measured.

Conventions: ``p_drop`` is the probability that a unit (channel, weight, block, branch) is
dropped, ``keep_prob = 1 - p_drop``; masks are boolean, ``True`` = kept.

Every variant, the four graded ones (spatial, Gaussian, alpha, DropConnect) and those the notebook
only illustrates (DropBlock, DropPath and stochastic depth, concrete and targeted dropout), comes
from :mod:`course_lib.variants`; this module draws them and measures them on one digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from .._validate import check_p_drop
from ..data import load_digits_split
from ..dropout import dropout_forward
from ..masks import sample_mask
from ..variants import (
    ALPHA_PRIME,
    alpha_dropout_affine,
    alpha_dropout_forward,
    dropblock_mask,
    dropconnect_forward,
    gaussian_dropout_forward,
    relaxed_drop,
    selu,
    spatial_dropout_forward,
    targeted_keep_mask,
)
from .widgets import recall_parts, remember_parts, slider_key

CHANNEL_NAMES = ("intensity", "vertical edges", "horizontal edges", "blobs")
VARIANTS = ("none", "inverted", "spatial", "Gaussian", "alpha", "DropConnect")
_KEPT_CMAP, _VALUE_CMAP, _NOISE_CMAP = "gray", "RdBu_r", "PuOr_r"
#: as wide as any colour-bar tick label of :func:`draw_variant` over its sliders' range (a sign,
#: three digits and a point, e.g. "-12.5"); the figure is laid out for it
_WIDEST_TICK_LABEL = "\N{MINUS SIGN}00.0"


# --- one digit, and a small feature map made from it -------------------------------------------


@cache
def digit_image(label: int = 8) -> np.ndarray:
    """The first image of digit ``label`` in a fixed shuffle of the digits: 8x8, values in
    [0, 1]."""
    split = load_digits_split(n_train=1797, n_val=0, n_test=0, rng=np.random.default_rng(0))
    image = split.X_train[np.flatnonzero(split.y_train == label)[0]].reshape(8, 8)
    image.setflags(write=False)
    return image


@cache
def feature_maps(size: int = 32, label: int = 8) -> np.ndarray:
    """A (1, 4, size, size) stack of smooth feature maps computed from one digit.

    The 8x8 digit is upsampled (cubic spline) and filtered like an early convolutional layer
    would: the intensity itself, vertical and horizontal edges (Sobel filters of a blurred copy)
    and blobs (a Laplacian of Gaussian). Each channel is standardized to mean 0 and variance 1.
    """
    from scipy import ndimage

    # scipy types the result as any array-API array; it is NumPy's for a NumPy input
    image = np.asarray(ndimage.zoom(digit_image(label), size / 8, order=3))
    blurred = ndimage.gaussian_filter(image, 1.0)
    channels = np.stack(
        [
            image,
            ndimage.sobel(blurred, axis=1),
            ndimage.sobel(blurred, axis=0),
            -ndimage.gaussian_laplace(image, 1.5),
        ]
    )
    channels -= channels.mean(axis=(1, 2), keepdims=True)
    channels /= channels.std(axis=(1, 2), keepdims=True)
    maps = channels[None]
    maps.setflags(write=False)
    return maps


def neighbour_correlation(maps: np.ndarray) -> np.ndarray:
    """Correlation between horizontally adjacent pixels, one value per channel of (C, H, W)."""
    maps = np.asarray(maps)
    return np.array(
        [np.corrcoef(channel[:, :-1].ravel(), channel[:, 1:].ravel())[0, 1] for channel in maps]
    )


def _neighbour_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the 8 neighbours of every pixel of (..., H, W), zero outside the map."""
    padded = np.pad(values, [(0, 0)] * (values.ndim - 2) + [(1, 1), (1, 1)])
    h, w = values.shape[-2:]
    total = np.zeros(values.shape, dtype=np.float64)
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            if (di, dj) != (1, 1):
                total += padded[..., di : di + h, dj : dj + w]
    return total


def recovery_error(maps: np.ndarray, kept: np.ndarray) -> float:
    """How well the dropped pixels of (C, H, W) feature maps can be guessed from what is left.

    Each dropped pixel is replaced by the mean of its kept 3x3 neighbours in the same channel
    (by 0, the channel mean, when none is kept). Returns the relative error
    ``||guess - truth|| / ||truth||`` over the dropped pixels: 0 means nothing was lost, 1 means
    nothing could be recovered.
    """
    maps, kept = np.asarray(maps, dtype=np.float64), np.asarray(kept, dtype=bool)
    kept = np.broadcast_to(kept, maps.shape)
    if kept.all():
        return 0.0
    total = _neighbour_sum(np.where(kept, maps, 0.0))
    count = _neighbour_sum(kept.astype(np.float64))
    guess = np.where(count > 0, total / np.maximum(count, 1.0), 0.0)
    dropped = ~kept
    return float(np.linalg.norm((guess - maps)[dropped]) / np.linalg.norm(maps[dropped]))


@dataclass(frozen=True)
class Recovery:
    """Relative recovery errors of pixel and channel dropout at one ``p_drop``."""

    p_drop: float
    pixel: float
    channel: float
    pixel_masks: np.ndarray  # (C, H, W) bool
    channel_masks: np.ndarray  # (C, 1, 1) bool


def pixel_vs_channel(p_drop: float = 0.5, *, seed: int = 0) -> Recovery:
    """Drop the feature maps pixel by pixel and channel by channel; measure what is recoverable.

    Both masks come from the course's layers (:func:`dropout_forward` and
    :func:`spatial_dropout_forward`) on a batch of 50 copies of the feature maps, so the errors
    are averages over 200 channels.
    """
    p_drop = check_p_drop(p_drop)
    maps = np.repeat(feature_maps(), 50, axis=0)  # (50, 4, 32, 32)
    rng = np.random.default_rng(seed)
    _, pixel_cache = dropout_forward(maps, p_drop, rng=rng)
    _, channel_cache = spatial_dropout_forward(maps, p_drop, rng=rng)
    pixel_kept = _kept(pixel_cache.mask, maps.shape)
    channel_kept = _kept(channel_cache.mask, maps.shape)
    flat = maps.reshape(-1, *maps.shape[2:])
    return Recovery(
        p_drop,
        recovery_error(flat, pixel_kept.reshape(flat.shape)),
        recovery_error(flat, channel_kept.reshape(flat.shape)),
        pixel_kept[0],
        channel_kept[0, :, :1, :1],
    )


def _kept(mask, shape) -> np.ndarray:
    """A cache's mask broadcast to ``shape`` (None, when nothing was dropped, is all kept)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    return np.broadcast_to(mask, shape)


_cached_pixel_vs_channel = lru_cache(maxsize=256)(pixel_vs_channel)


def _pixel_titles(p_drop: float, pixel_error: float, channel_error: float) -> tuple[str, ...]:
    return (
        f"pixel dropout, p_drop={p_drop:.2f}",
        f"dropped pixels guessed from\nkept neighbours (error {100 * pixel_error:.0f}%)",
        f"channel dropped: nothing left\nto guess from (error {100 * channel_error:.0f}%)",
    )


def _pixel_vs_channel_parts():
    import matplotlib.pyplot as plt

    channel = feature_maps()[0, 0]
    limit = np.abs(channel).max()
    figure, axes = plt.subplots(1, 4, figsize=(11, 3.4))
    cmap = plt.get_cmap(_VALUE_CMAP).with_extremes(bad="black")
    images = []
    for axis in axes:
        images.append(
            axis.imshow(channel, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        )
        axis.axis("off")
    # titles as long as the longest the sliders give, for the layout
    for axis, title in zip(axes, ("feature map (intensity channel)", *_pixel_titles(0.5, 1, 1))):
        axis.set_title(title, fontsize=9)
    images[3].set_data(np.full_like(channel, np.nan))
    figure.suptitle(
        "Neighbouring pixels of a feature map are nearly copies of each other "
        "(black = dropped; errors averaged over 200 channels)",
        fontsize=10,
    )
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))  # room for the suptitle
    return remember_parts(
        figure,
        draw_pixel_vs_channel,
        moving=(images[1], images[2], *(axis.title for axis in axes[1:])),
        axes=axes,
        images=images,
    )


def draw_pixel_vs_channel(p_drop: float = 0.5, seed: int = 0, *, figure=None):
    """One channel: the map, pixel dropout, its recovery from neighbours, channel dropout.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    result = _cached_pixel_vs_channel(float(p_drop), seed=int(seed))
    channel = feature_maps()[0, 0]
    kept = result.pixel_masks[0]
    total = _neighbour_sum(np.where(kept, channel, 0.0))
    count = _neighbour_sum(kept.astype(np.float64))
    recovered = np.where(kept, channel, np.where(count > 0, total / np.maximum(count, 1), 0.0))
    parts = recall_parts(figure, draw_pixel_vs_channel) or _pixel_vs_channel_parts()
    parts.images[1].set_data(np.where(kept, channel, np.nan))
    parts.images[2].set_data(recovered)
    for axis, title in zip(parts.axes[1:], _pixel_titles(p_drop, result.pixel, result.channel)):
        axis.set_title(title, fontsize=9)
    return parts.figure


# --- DropBlock ---------------------------------------------------------------------------------


def draw_dropblock(p_drop: float = 0.3, block_size: int = 7, seed: int = 0):
    """Pixel dropout, DropBlock and channel dropout at one ``p_drop`` on the intensity channel,
    with the dropped fraction and the neighbour-recovery error of each (over 200 channels)."""
    import matplotlib.pyplot as plt

    maps = np.repeat(feature_maps(), 50, axis=0)
    flat = maps.reshape(-1, *maps.shape[2:])
    rng = np.random.default_rng(seed)
    masks = {
        "pixel dropout": dropblock_mask(maps.shape, p_drop, 1, rng=rng),
        f"DropBlock, {block_size}x{block_size}": dropblock_mask(
            maps.shape, p_drop, block_size, rng=rng
        ),
        "spatial (channel) dropout": _kept(
            spatial_dropout_forward(maps, p_drop, rng=rng)[1].mask, maps.shape
        ),
    }
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    channel = maps[0, 0]
    limit = np.abs(channel).max()
    cmap = plt.get_cmap(_VALUE_CMAP).with_extremes(bad="black")
    for axis, (name, kept) in zip(axes, masks.items()):
        error = recovery_error(flat, kept.reshape(flat.shape))
        axis.imshow(
            np.where(kept[0, 0], channel, np.nan),
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            interpolation="nearest",
        )
        axis.set_title(
            f"{name}\ndropped {100 * (1 - kept.mean()):.0f}%, recovery error {100 * error:.0f}%",
            fontsize=9,
        )
        axis.axis("off")
    figure.suptitle(
        f"Three ways to drop p_drop={p_drop:.2f} of a feature map (black = dropped)", fontsize=10
    )
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 0.95))  # room for the suptitle
    return figure


# --- Gaussian dropout --------------------------------------------------------------------------


@dataclass(frozen=True)
class FactorMoments:
    """Mean and variance of the multiplicative factor of two dropouts, measured and exact."""

    p_drop: float
    bernoulli_mean: float
    bernoulli_var: float
    gaussian_mean: float
    gaussian_var: float
    exact_var: float  # p_drop / keep_prob, for both


def factor_moments(p_drop: float, *, n: int = 1_000_000, seed: int = 0) -> FactorMoments:
    """Moments of ``out / x`` for inverted and Gaussian dropout, from ``n`` draws each."""
    p_drop = check_p_drop(p_drop)
    ones = np.ones(n)
    rng = np.random.default_rng(seed)
    bernoulli = dropout_forward(ones, p_drop, rng=rng)[0]
    gaussian = gaussian_dropout_forward(ones, p_drop, rng=rng)[0]
    return FactorMoments(
        p_drop,
        float(bernoulli.mean()),
        float(bernoulli.var()),
        float(gaussian.mean()),
        float(gaussian.var()),
        p_drop / (1 - p_drop),
    )


#: the positions of the notebook's p_drop slider for the Gaussian figure (0.05 to 0.9)
GAUSSIAN_P_DROP_SLIDER = tuple(round(0.05 * k, 6) for k in range(1, 19))


@lru_cache(maxsize=64)
def _preactivation_sums(
    p_drop: float, seed: int, n_inputs: int, n_draws: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """``x @ w`` and the pre-activations under inverted and Gaussian dropout (``n_draws`` each)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n_inputs)
    w = rng.standard_normal(n_inputs) / math.sqrt(n_inputs)
    batch = np.broadcast_to(x, (n_draws, n_inputs))
    inverted = dropout_forward(batch, p_drop, rng=rng)[0] @ w
    gaussian = gaussian_dropout_forward(batch, p_drop, rng=rng)[0] @ w
    return float(x @ w), inverted, gaussian


def precompute_gaussian_vs_bernoulli(
    p_drops: tuple[float, ...] = GAUSSIAN_P_DROP_SLIDER, *, progress: bool = False
) -> None:
    """Draw the pre-activations once for every ``p_drop`` of the slider, so that moving it only
    redraws. ``progress`` shows a tqdm bar."""
    from tqdm.auto import tqdm

    for p_drop in tqdm(p_drops, desc="sampling", unit="p_drop", disable=not progress):
        _preactivation_sums(slider_key(p_drop), 0, 256, 4000)


def _histogram_bins(sums) -> np.ndarray:
    """60 bins over the range of all the pre-activations drawn."""
    return np.linspace(min(s.min() for s in sums), max(s.max() for s in sums), 60)


def _factor_extent(p_drop: float) -> tuple[float, float, float]:
    """Lowest and highest factor drawn (the Gaussian's 1 ± 4 std, 0, 1 / keep_prob), and the
    highest bar or density."""
    keep_prob = 1 - p_drop
    std = math.sqrt(p_drop / keep_prob)
    peak = 1 / (std * math.sqrt(2 * math.pi))
    return min(0.0, 1 - 4 * std), max(1 + 4 * std, 1 / keep_prob), max(peak, p_drop, keep_prob)


@cache
def _gaussian_limits() -> tuple[tuple[float, float], ...]:
    """One range for every p_drop of the slider, for each axis of the figure (factor: x and
    y; pre-activation: x and y), so that a move redraws in place; the y axes keep the legends'
    headroom (:data:`_LEGEND_HEADROOM`) over the highest curve of all. Drawn apart from the
    cache of :func:`_preactivation_sums`, with the same draws."""
    extents = [_factor_extent(p_drop) for p_drop in GAUSSIAN_P_DROP_SLIDER]
    low, high = min(e[0] for e in extents), max(e[1] for e in extents)
    top = max(e[2] for e in extents)
    sums_low, sums_high, density_top = math.inf, -math.inf, 0.0
    for p_drop in GAUSSIAN_P_DROP_SLIDER:
        _, *sums = _preactivation_sums.__wrapped__(p_drop, 0, 256, 4000)
        bins = _histogram_bins(sums)
        sums_low, sums_high = min(sums_low, bins[0]), max(sums_high, bins[-1])
        density_top = max(
            density_top, *(np.histogram(s, bins=bins, density=True)[0].max() for s in sums)
        )
    margin = 0.05 * (high - low), 0.05 * float(sums_high - sums_low)
    return (
        (low - margin[0], high + margin[0]),
        (0.0, _LEGEND_HEADROOM * top),
        (float(sums_low) - margin[1], float(sums_high) + margin[1]),
        (0.0, _LEGEND_HEADROOM * float(density_top)),
    )


def _gaussian_parts():
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    (density,) = axes[0].plot([], [], color="C1", label=" ")
    factors = axes[0].vlines([0, 1], 0, [0, 0], color="C0", linewidth=4, label="\n")
    axes[0].axvline(1, color="grey", linestyle=":", linewidth=1)
    axes[0].set(title=" ", xlabel="factor")
    axes[0].legend(fontsize=8, loc="upper right")
    steps = [
        axes[1].stairs([0.0], [0.0, 1.0], linewidth=2, color=color, label=" ")
        for color in ("C0", "C1")
    ]
    plain = axes[1].axvline(0, color="grey", linestyle=":", label=" ")
    axes[1].set(title=" ", xlabel="sum of w * x * factor")
    axes[1].legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_gaussian_vs_bernoulli,
        moving=(
            density,
            factors,
            axes[0].title,
            axes[0].get_legend(),
            *steps,
            plain,
            axes[1].title,
            axes[1].get_legend(),
        ),
        axes=axes,
        density=density,
        factors=factors,
        steps=steps,
        plain=plain,
    )


#: the top of the y axis over the top of the data in the Gaussian figure: the top quarter of each
#: panel is left to its legend, which then never covers a curve
_LEGEND_HEADROOM = 1.45


def _set_legend_labels(axis, artists, labels) -> None:
    for artist, text, label in zip(artists, axis.get_legend().get_texts(), labels):
        artist.set_label(label)
        text.set_text(label)


def draw_gaussian_vs_bernoulli(
    p_drop: float = 0.5, seed: int = 0, n_inputs: int = 256, n_draws: int = 4000, *, figure=None
):
    """Left: the two multiplicative factors. Right: one unit's pre-activation ``sum_d w_d x_d
    factor_d`` over ``n_draws`` draws, for a unit with ``n_inputs`` inputs.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the slider does).
    """
    from scipy import stats

    keep_prob = 1 - p_drop
    std = math.sqrt(p_drop / keep_prob)
    parts = recall_parts(figure, draw_gaussian_vs_bernoulli) or _gaussian_parts()
    left, right = parts.axes
    grid = np.linspace(1 - 4 * std, 1 + 4 * std, 400)
    parts.density.set_data(grid, stats.norm.pdf(grid, 1, std))
    parts.factors.set_segments(
        [[(0, 0), (0, p_drop)], [(1 / keep_prob, 0), (1 / keep_prob, keep_prob)]]
    )
    _set_legend_labels(
        left,
        (parts.density, parts.factors),
        (
            f"Gaussian: N(1, {std**2:.3g})",
            f"inverted: 0 or 1/keep_prob = {1 / keep_prob:.3g}\n(bar height = probability)",
        ),
    )
    left.set_title(
        f"the factor a unit is multiplied by (mean 1, variance {p_drop / keep_prob:.3g})"
    )
    factor_x, factor_y, sums_x, sums_y = _gaussian_limits()
    low, high, top = _factor_extent(p_drop)
    # the ranges of the slider's grid; a value beyond them widens the axis
    left.set_xlim(min(factor_x[0], low), max(factor_x[1], high))
    left.set_ylim(0.0, max(factor_y[1], _LEGEND_HEADROOM * top))
    plain, inverted, gaussian = _preactivation_sums(
        slider_key(p_drop), int(seed), n_inputs, n_draws
    )
    sums = {"inverted": inverted, "Gaussian": gaussian}
    bins = _histogram_bins(sums.values())
    heights = [np.histogram(values, bins=bins, density=True)[0] for values in sums.values()]
    for step, height in zip(parts.steps, heights):
        step.set_data(height, bins)
    parts.plain.set_xdata([plain, plain])
    _set_legend_labels(
        right,
        (*parts.steps, parts.plain),
        [
            f"{name}: mean {values.mean():.3f}, var {values.var():.4f}"
            for name, values in sums.items()
        ]
        + [f"no dropout: {plain:.3f}"],
    )
    right.set_title(f"pre-activation of a unit with {n_inputs} inputs, {n_draws} draws")
    right.set_xlim(min(sums_x[0], bins[0]), max(sums_x[1], bins[-1]))
    right.set_ylim(0.0, max(sums_y[1], _LEGEND_HEADROOM * max(h.max() for h in heights)))
    return parts.figure


# --- alpha dropout and SELU --------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    mean: float
    var: float


def zero_dropping_moments(
    p_drop: float = 0.1, *, n: int = 1_000_000, seed: int = 0
) -> dict[str, Moments]:
    """Mean and variance of ``n`` standard normal inputs after four ways of dropping them.

    ``"input"``: no dropout; ``"inverted"``: inverted dropout (dropped units 0, kept ones
    scaled); ``"alpha' only"``: dropped units set to ``ALPHA_PRIME``, no affine correction;
    ``"alpha"``: alpha dropout with its affine correction.
    """
    p_drop = check_p_drop(p_drop)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    kept = sample_mask(n, p_drop, rng=rng)
    outputs = {
        "input": x,
        "inverted": dropout_forward(x, p_drop, rng=rng)[0],
        "alpha' only": np.where(kept, x, ALPHA_PRIME),
        "alpha": alpha_dropout_forward(x, p_drop, rng=rng)[0],
    }
    return {name: Moments(float(out.mean()), float(out.var())) for name, out in outputs.items()}


@dataclass(frozen=True)
class DepthStatistics:
    """Mean and variance of the activations after each layer of a deep SELU network."""

    layers: np.ndarray
    means: dict[str, np.ndarray]
    variances: dict[str, np.ndarray]


def selu_depth_statistics(
    p_drop: float = 0.1, *, depth: int = 16, width: int = 256, n: int = 500, seed: int = 0
) -> DepthStatistics:
    """Push ``n`` standard normal inputs through ``depth`` SELU layers (weights N(0, 1/width),
    the self-normalizing initialization) with a dropout after every activation, in training.

    Variants: ``"no dropout"`` (also what every variant computes at inference), ``"alpha"``
    (alpha dropout) and ``"inverted"`` (inverted dropout). The same weights, inputs and mask
    generator seed are used for all.
    """
    p_drop = check_p_drop(p_drop)
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((width, width)) / math.sqrt(width) for _ in range(depth)]
    inputs = rng.standard_normal((n, width))
    layers = {
        "no dropout": lambda a, r: a,
        "alpha": lambda a, r: alpha_dropout_forward(a, p_drop, rng=r)[0],
        "inverted": lambda a, r: dropout_forward(a, p_drop, rng=r)[0],
    }
    means, variances = {}, {}
    for name, drop in layers.items():
        h, mask_rng = inputs, np.random.default_rng(seed + 1)
        layer_means, layer_vars = [], []
        for W in weights:
            h = drop(selu(h @ W), mask_rng)
            layer_means.append(h.mean())
            layer_vars.append(h.var())
        means[name], variances[name] = np.array(layer_means), np.array(layer_vars)
    return DepthStatistics(np.arange(1, depth + 1), means, variances)


def draw_selu_depth(p_drop: float = 0.1, depth: int = 16):
    """Mean and variance of the activations across depth, for each dropout in a SELU network."""
    import matplotlib.pyplot as plt

    result = selu_depth_statistics(p_drop, depth=depth)
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for name in result.means:
        style = {"linestyle": "--"} if name == "no dropout" else {"marker": "o", "markersize": 3}
        axes[0].plot(result.layers, result.means[name], label=name, **style)
        axes[1].plot(result.layers, result.variances[name], label=name, **style)
    axes[0].set(title="mean of the activations (training)", xlabel="layer", ylim=(-0.5, 0.5))
    axes[1].set(title="variance of the activations (training)", xlabel="layer")
    axes[1].axhline(1.0, color="grey", linewidth=0.8)
    axes[1].legend(fontsize=8)
    figure.suptitle(
        f"{depth} SELU layers of width 256, dropout after each, p_drop={p_drop:.2f}. "
        "At inference dropout is off: both networks then follow the dashed curve.",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


# --- DropConnect -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputStatistics:
    """Variance of two outputs of one dense layer and their correlation, under a dropout."""

    var_first: float
    var_second: float
    correlation: float


def dropconnect_vs_dropout(
    p_drop: float = 0.5, *, n_draws: int = 20_000, seed: int = 0
) -> dict[str, OutputStatistics]:
    """One input ``x`` (64 values) through a dense layer with two similar output columns, drawn
    ``n_draws`` times with dropout on the input and with DropConnect.

    Returns the measured statistics and the exact ones: both have variance
    ``(p_drop / keep_prob) * sum_d x_d**2 W_dj**2`` per output; dropout on the input correlates
    the outputs (they share the mask), DropConnect does not.
    """
    p_drop = check_p_drop(p_drop)
    rng = np.random.default_rng(seed)
    d = 64
    x = rng.uniform(0.2, 1.0, d)
    first = rng.standard_normal(d)
    W = np.stack([first, first + 0.3 * rng.standard_normal(d)], axis=1) / math.sqrt(d)
    batch = np.broadcast_to(x, (n_draws, d))
    b = np.zeros(2)
    outputs = {
        "dropout on x": dropout_forward(batch, p_drop, rng=rng)[0] @ W + b,
        "DropConnect": dropconnect_forward(batch, W, b, p_drop, rng=rng)[0],
    }
    ratio = p_drop / (1 - p_drop)
    variances = ratio * (x**2) @ (W**2)
    covariance = ratio * np.sum(x**2 * W[:, 0] * W[:, 1])
    result = {
        name: OutputStatistics(
            float(out[:, 0].var()),
            float(out[:, 1].var()),
            float(np.corrcoef(out[:, 0], out[:, 1])[0, 1]),
        )
        for name, out in outputs.items()
    }
    result["exact, dropout on x"] = OutputStatistics(
        float(variances[0]),
        float(variances[1]),
        float(covariance / math.sqrt(variances[0] * variances[1])),
    )
    result["exact, DropConnect"] = OutputStatistics(float(variances[0]), float(variances[1]), 0.0)
    return result


def blur_matrix(side: int = 16, width: float = 1.2) -> np.ndarray:
    """A (side**2, side**2) linear map that blurs a flattened side x side image (Gaussian
    kernel of standard deviation ``width`` pixels, each column summing to 1)."""
    rows, cols = np.divmod(np.arange(side * side), side)
    distance2 = (rows[:, None] - rows[None, :]) ** 2 + (cols[:, None] - cols[None, :]) ** 2
    W = np.exp(-distance2 / (2 * width**2))
    return W / W.sum(axis=0, keepdims=True)


# --- the widget: every variant on one digit ----------------------------------------------------


@dataclass(frozen=True)
class VariantView:
    """What the widget shows for one variant: input, mask or noise, output (each (C, H, W))."""

    variant: str
    inputs: np.ndarray
    noise: np.ndarray  # bool keep-mask, or the multiplicative noise for Gaussian dropout
    outputs: np.ndarray


def apply_variant(variant: str, p_drop: float, seed: int = 0) -> VariantView:
    """Run one of :data:`VARIANTS` (except DropConnect) on :func:`feature_maps`, in training."""
    if variant not in VARIANTS[:-1]:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS[:-1])}, got {variant!r}")
    p_drop = check_p_drop(p_drop)
    maps = feature_maps()
    rng = np.random.default_rng(seed)
    if variant == "none":
        return VariantView(variant, maps[0], np.ones(maps.shape[1:], dtype=bool), maps[0].copy())
    forward = {
        "inverted": dropout_forward,
        "spatial": spatial_dropout_forward,
        "Gaussian": gaussian_dropout_forward,
        "alpha": alpha_dropout_forward,
    }[variant]
    out, cache = forward(maps, p_drop, rng=rng)
    if variant == "Gaussian":
        noise = np.ones(maps.shape) if cache.noise is None else cache.noise
    else:
        noise = _kept(cache.mask, maps.shape)
    return VariantView(variant, maps[0], np.asarray(noise[0]), out[0])


def dropconnect_view(p_drop: float, seed: int = 0):
    """DropConnect on the blur map of the 16x16 digit: (x, thinned W, x @ W, x @ thinned W)."""
    from scipy import ndimage

    p_drop = check_p_drop(p_drop)
    x = np.asarray(ndimage.zoom(digit_image(), 2, order=1)).reshape(1, -1)
    W = blur_matrix(16)
    b = np.zeros(W.shape[1])
    out, cache = dropconnect_forward(x, W, b, p_drop, rng=np.random.default_rng(seed))
    thinned = W * _kept(cache.mask, (1, *W.shape))[0] * cache.scale
    return x[0].reshape(16, 16), thinned, (x @ W)[0].reshape(16, 16), out[0].reshape(16, 16)


_FORMULAS = {
    "none": "out = x",
    "inverted": "out = x * mask / keep_prob, one mask entry per pixel",
    "spatial": "out = x * mask / keep_prob, one mask entry per (sample, channel)",
    "Gaussian": "out = x * noise, noise ~ N(1, p_drop / keep_prob) per pixel",
    "alpha": "out = a * (x if kept else alpha') + b",
}


def _freeze_layout(figure, title: str):
    """Run the constrained layout once, then keep it: later draws skip the layout (most of
    their cost). The figure title becomes a text held by the first axes, which ``savefig``
    draws even while it moves (see :func:`course_lib.lessons.widgets.remember_parts`)."""
    suptitle = figure.suptitle(title, fontsize=10)
    figure.draw_without_rendering()
    figure.set_layout_engine("none")
    x, y = suptitle.get_position()
    suptitle.set_text("")
    return figure.axes[0].text(
        x, y, title, ha="center", va="top", fontsize=10, transform=figure.transFigure
    )


def _variant_title(variant: str, p_drop: float, seed: int) -> str:
    return f"{variant}: {_FORMULAS[variant]}   (p_drop={p_drop:.2f}, seed {seed})"


def _variant_parts(variant: str):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    # laid out once for p_drop = 0.5, seed 0, whatever the first values: a figure redrawn in
    # place then looks exactly like a new one
    p_drop, seed = 0.5, 0
    view = apply_variant(variant, p_drop, seed)
    n_channels = view.inputs.shape[0]
    figure, axes = plt.subplots(
        3, n_channels, figsize=(2.4 * n_channels + 1.2, 7.4), layout="constrained"
    )
    noise_cmap = _NOISE_CMAP if variant == "Gaussian" else _KEPT_CMAP
    rows = [[], [], []]
    for c in range(n_channels):
        rows[0].append(axes[0, c].imshow(view.inputs[c], cmap=_VALUE_CMAP, interpolation="nearest"))
        rows[1].append(
            axes[1, c].imshow(
                view.noise[c], cmap=noise_cmap, vmin=0, vmax=1, interpolation="nearest"
            )
        )
        rows[2].append(
            axes[2, c].imshow(view.outputs[c], cmap=_VALUE_CMAP, interpolation="nearest")
        )
        axes[0, c].set_title(CHANNEL_NAMES[c], fontsize=9)
        for row in (1, 2):
            axes[row, c].set_title("mean +0.00, var 0.00", fontsize=8)
    # the colour limits of the first values, so that the colour bars are laid out with them
    limit = float(max(np.abs(view.inputs).max(), np.abs(view.outputs).max()))
    std = math.sqrt(p_drop / (1 - p_drop))
    for c in range(n_channels):
        rows[0][c].set_clim(-limit, limit)
        rows[2][c].set_clim(-limit, limit)
        if variant == "Gaussian":
            rows[1][c].set_clim(1 - 3 * std, 1 + 3 * std)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    for row, label in enumerate(
        (
            "input\n(mean 0, var 1)",
            "noise" if variant == "Gaussian" else "mask\n(white = kept)",
            "output",
        )
    ):
        axes[row, 0].set_ylabel(label, fontsize=9)
    colorbars = [
        figure.colorbar(rows[row][-1], ax=axes[row].tolist(), shrink=0.9, label="value")
        for row in (0, 2)
    ]
    if variant == "Gaussian":
        colorbars.append(
            figure.colorbar(rows[1][-1], ax=axes[1].tolist(), shrink=0.9, label="noise")
        )
    # The layout is computed once, but the sliders change the colour limits and with them the
    # tick labels ("2" at one p_drop, "-12.5" at another): lay out with the widest label, so
    # that no colour bar's label is pushed past the figure's edge later.
    formatters = [colorbar.ax.yaxis.get_major_formatter() for colorbar in colorbars]
    for colorbar in colorbars:
        colorbar.ax.yaxis.set_major_formatter(FuncFormatter(lambda *_: _WIDEST_TICK_LABEL))
    title = _freeze_layout(figure, _variant_title(variant, p_drop, seed))
    for colorbar, formatter in zip(colorbars, formatters):
        colorbar.ax.yaxis.set_major_formatter(formatter)
    return remember_parts(
        figure,
        draw_variant,
        moving=(*rows[1], *rows[2], *(axis.title for axis in axes[1:].ravel()), title),
        variant=variant,
        axes=axes,
        rows=rows,
        title=title,
    )


def draw_variant(variant: str = "spatial", p_drop: float = 0.3, seed: int = 0, *, figure=None):
    """The widget's figure: the chosen variant's mask (or noise) and output on one digit.

    ``figure``: a figure returned by an earlier call, redrawn in place when it shows the same
    variant (what the sliders do).
    """
    if variant == "DropConnect":
        return _draw_dropconnect(p_drop, seed, figure=figure)
    view = apply_variant(variant, p_drop, seed)
    parts = recall_parts(figure, draw_variant)
    if parts is None or parts.variant != variant:
        parts = _variant_parts(variant)
    limit = float(max(np.abs(view.inputs).max(), np.abs(view.outputs).max()))
    std = math.sqrt(p_drop / (1 - p_drop))
    axes = parts.axes
    for c, (value, noise, output) in enumerate(zip(*parts.rows)):
        value.set_clim(-limit, limit)
        output.set_data(view.outputs[c])
        output.set_clim(-limit, limit)
        noise.set_data(view.noise[c])
        if variant == "Gaussian":
            noise.set_clim(1 - 3 * std, 1 + 3 * std)
            axes[1, c].set_title(
                f"noise: mean {view.noise[c].mean():.2f}, var {view.noise[c].var():.2f}", fontsize=8
            )
        else:
            kept_title = (
                ("channel kept" if view.noise[c].all() else "channel dropped")
                if variant == "spatial"
                else f"kept {100 * view.noise[c].mean():.0f}% of pixels"
            )
            axes[1, c].set_title(kept_title, fontsize=8)
        axes[2, c].set_title(
            f"mean {view.outputs[c].mean():+.2f}, var {view.outputs[c].var():.2f}", fontsize=8
        )
    parts.title.set_text(_variant_title(variant, p_drop, seed))
    return parts.figure


def _dropconnect_title(p_drop: float, seed: int) -> str:
    return (
        f"DropConnect on a linear map: every weight kept with probability "
        f"{1 - p_drop:.2f} (p_drop={p_drop:.2f}, seed {seed})"
    )


def _dropconnect_parts():
    import matplotlib.pyplot as plt

    p_drop, seed = 0.5, 0  # the layout's values, as in _variant_parts
    image, thinned, dense, out = dropconnect_view(p_drop, seed)
    figure, axes = plt.subplots(1, 4, figsize=(12, 3.7), layout="constrained")
    images = [
        axes[0].imshow(image, cmap="gray_r"),
        axes[1].imshow(thinned[:96, :96], cmap="magma", interpolation="nearest"),
        axes[2].imshow(dense, cmap="gray_r"),
        axes[3].imshow(out, cmap="gray_r"),
    ]
    axes[0].set_title("input x (16x16 digit)", fontsize=9)
    axes[1].set_title(
        "W * mask / keep_prob (blur map, first 96x96)\n100% of the weights kept", fontsize=9
    )
    axes[2].set_title("x @ W (inference)", fontsize=9)
    axes[3].set_title("x @ (W * mask / keep_prob) (training)\nrelative difference 0.00", fontsize=9)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    title = _freeze_layout(figure, _dropconnect_title(p_drop, seed))
    return remember_parts(
        figure,
        draw_variant,
        moving=(*images, axes[1].title, axes[3].title, title),
        variant="DropConnect",
        axes=axes,
        images=images,
        title=title,
    )


def _draw_dropconnect(p_drop: float, seed: int, *, figure=None):
    image, thinned, dense, out = dropconnect_view(p_drop, seed)
    parts = recall_parts(figure, draw_variant)
    if parts is None or parts.variant != "DropConnect":
        parts = _dropconnect_parts()
    limit = float(max(dense.max(), out.max(), image.max()))
    shown = thinned[:96, :96]
    for artist, data in zip(parts.images, (image, shown, dense, out)):
        artist.set_data(data)
    for index in (0, 2, 3):
        parts.images[index].set_clim(0, limit)
    parts.images[1].set_clim(shown.min(), shown.max())
    kept = np.count_nonzero(thinned) / np.count_nonzero(blur_matrix(16))
    parts.axes[1].set_title(
        f"W * mask / keep_prob (blur map, first 96x96)\n{100 * kept:.0f}% of the weights kept",
        fontsize=9,
    )
    parts.axes[3].set_title(
        f"x @ (W * mask / keep_prob) (training)\nrelative difference "
        f"{np.linalg.norm(out - dense) / np.linalg.norm(dense):.2f}",
        fontsize=9,
    )
    parts.title.set_text(_dropconnect_title(p_drop, seed))
    return parts.figure


# --- variational (recurrent) dropout -----------------------------------------------------------


def draw_time_masks(fresh_masks: np.ndarray, tied_masks: np.ndarray):
    """Two (time, units) mask histories side by side: a fresh mask per step vs one per sequence."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for axis, masks, title in (
        (axes[0], fresh_masks, "a fresh mask at every time step"),
        (axes[1], tied_masks, "one mask for the whole sequence (variational)"),
    ):
        masks = np.asarray(masks, dtype=bool)
        axis.imshow(
            masks.T, cmap=_KEPT_CMAP, vmin=0, vmax=1, aspect="auto", interpolation="nearest"
        )
        survivors = int(masks.all(axis=0).sum())
        axis.set(
            title=f"{title}\n{survivors} of {masks.shape[1]} units kept at every step",
            xlabel="time step",
        )
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("hidden unit (white = kept)")
    figure.tight_layout()
    return figure


# --- concrete and targeted dropout -------------------------------------------------------------


def draw_concrete_and_targeted(p_drop: float = 0.3, seed: int = 0):
    """Left: concrete dropout's relaxed drop indicators at two temperatures. Right: how often
    targeted dropout drops each weight, against the weight's magnitude rank in its column."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    bins = np.linspace(0, 1, 41)
    for temperature, color in ((0.1, "C0"), (0.5, "C1")):
        z = relaxed_drop(p_drop, temperature, 100_000, rng=rng)
        axes[0].hist(
            z,
            bins=bins,
            density=True,
            histtype="step",
            linewidth=2,
            color=color,
            label=f"temperature {temperature}: mean {z.mean():.3f}",
        )
    axes[0].set(
        title=f"relaxed drop indicator, p_drop={p_drop:.2f}", xlabel="z (1 = dropped)", yscale="log"
    )
    axes[0].legend(fontsize=8)
    W = rng.standard_normal((64, 32))
    n_draws, target, rate = 400, 0.5, 0.6
    dropped = np.zeros(W.shape)
    for _ in range(n_draws):
        dropped += ~targeted_keep_mask(W, target, rate, rng=rng)
    ranks = np.argsort(np.argsort(np.abs(W), axis=0), axis=0)
    axes[1].scatter(ranks.ravel(), dropped.ravel() / n_draws, s=4, alpha=0.4)
    axes[1].set(
        title=f"targeted dropout: the smallest {target:.0%} of each column are\n"
        f"candidates, each dropped with probability {rate}",
        xlabel="magnitude rank of the weight in its column (0 = smallest)",
        ylabel=f"fraction of {n_draws} draws dropped",
    )
    axes[1].title.set_fontsize(9)
    figure.tight_layout()
    return figure


# --- placement: activation order, BatchNorm variance shift -------------------------------------


def order_difference(
    activation: str, p_drop: float = 0.5, *, n: int = 10_000, seed: int = 0
) -> float:
    """Largest ``|act(dropout(x)) - dropout(act(x))|`` over ``n`` standard normal inputs with the
    same mask on both sides (``activation`` in ``"relu"``, ``"tanh"``, ``"selu"``)."""
    functions = {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh, "selu": selu}
    if activation not in functions:
        raise ValueError(f"activation must be one of relu, tanh, selu, got {activation!r}")
    act = functions[activation]
    x = np.random.default_rng(seed).standard_normal(n)
    mask_seed = seed + 1  # one seed for both sides: the same mask
    before = act(dropout_forward(x, p_drop, rng=np.random.default_rng(mask_seed))[0])
    after = dropout_forward(act(x), p_drop, rng=np.random.default_rng(mask_seed))[0]
    return float(np.max(np.abs(before - after)))


@dataclass(frozen=True)
class VarianceShift:
    """A ReLU unit followed by dropout and then BatchNorm (Li et al. 2019's setting)."""

    p_drop: float
    train_var: float  # what BatchNorm's running variance converges to
    test_var: float  # the variance it sees at inference, with dropout off
    exact_train_var: float  # (E[a**2] / keep_prob) - E[a]**2
    exact_test_var: float  # Var[a]
    gaussian_train_var: float  # the same with Gaussian dropout at the same p_drop

    @property
    def test_std_after_bn(self) -> float:
        """Standard deviation of BatchNorm's output at inference (1 if there were no shift)."""
        return math.sqrt(self.test_var / self.train_var)


def variance_shift(p_drop: float, *, n: int = 400_000, seed: int = 0) -> VarianceShift:
    """Measure the variance shift of dropout placed before BatchNorm, on ``a = relu(z)``,
    ``z ~ N(0, 1)``: mean ``1/sqrt(2 pi)``, second moment 1/2."""
    p_drop = check_p_drop(p_drop)
    rng = np.random.default_rng(seed)
    a = np.maximum(rng.standard_normal(n), 0.0)
    mean, second = 1 / math.sqrt(2 * math.pi), 0.5
    keep_prob = 1 - p_drop
    return VarianceShift(
        p_drop,
        float(dropout_forward(a, p_drop, rng=rng)[0].var()),
        float(a.var()),
        second / keep_prob - mean**2,
        second - mean**2,
        float(gaussian_dropout_forward(a, p_drop, rng=rng)[0].var()),
    )


def affine_constants_table(
    p_drops=(0.05, 0.1, 0.2, 0.5),
) -> list[tuple[float, float, float, float]]:
    """``(p_drop, a, b, a * alpha' + b)`` of alpha dropout for a few rates."""
    rows = []
    for p_drop in p_drops:
        a, b = alpha_dropout_affine(p_drop)
        rows.append((p_drop, a, b, a * ALPHA_PRIME + b))
    return rows

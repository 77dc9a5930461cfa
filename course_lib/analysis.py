"""Counting and probability around dropout.

* A layer of ``n`` units under dropout keeps each unit with probability ``keep_prob`` (a Bernoulli
  trial), so the number of dropped units follows ``Binomial(n, p_drop)``.
* A network whose dropout sites hold ``n`` units in total has ``2**n`` thinned subnetworks.
* With inverted dropout the weights that read a dropout layer get ``1 / keep_prob`` times the
  gradient they would get under standard dropout; see :func:`equivalent_standard_lr`.
* On the inputs of a linear model, dropout is an L2 penalty whose strength adapts to each input;
  see :func:`dropout_penalties`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ._lazy import lazy_module
from ._validate import (
    check_count,
    check_float_array,
    check_layer_sizes,
    check_open_unit,
    check_p_drop,
    check_positive,
    per_layer_p_drop,
)
from .masks import sample_mask

if TYPE_CHECKING:
    from scipy import stats
else:  # imported on first use: most users of this module never need it (see course_lib._lazy)
    stats = lazy_module("scipy.stats")

__all__ = [
    "MaskSummary",
    "ParameterCount",
    "boosting_factor",
    "choose_keep_probs",
    "choose_layer_width",
    "count_parameters",
    "count_subnetworks",
    "dropout_penalties",
    "dropped_count_distribution",
    "dropped_count_range",
    "equivalent_standard_lr",
    "expected_dropout_loss",
    "prob_exactly_dropped",
    "prob_fraction_within",
    "relative_spread",
    "sample_mask",
    "summarize_mask",
]


@dataclass(frozen=True)
class MaskSummary:
    """Counts of one keep-mask (``True`` = kept)."""

    n_units: int
    n_kept: int

    @property
    def n_dropped(self) -> int:
        return self.n_units - self.n_kept

    @property
    def kept_fraction(self) -> float:
        return self.n_kept / self.n_units if self.n_units else float("nan")


def summarize_mask(mask: np.ndarray) -> MaskSummary:
    """Count the kept and dropped entries of a boolean keep-mask."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array (True = kept), got dtype {mask.dtype}")
    return MaskSummary(n_units=int(mask.size), n_kept=int(np.count_nonzero(mask)))


#: the widest layer whose dropped count SciPy's binomial law describes exactly. It computes in
#: float64: at n = 10**12 its cdf is off by up to about 3e-11, a few ten-thousandths of the
#: step between neighbouring counts at the ends of a 95% range (1e-7), but at 10**15 by up to
#: about 1e-9, a sizeable part of that step (4e-9); from about 7e15 its quantiles are NaN, and
#: from 10**17 their search runs for minutes inside SciPy (11 at 10**18), out of reach of Ctrl-C.
MAX_BINOMIAL_N = 10**12


def _check_layer_units(n) -> int:
    """``n`` units of a layer, for SciPy's binomial law: an integer in [0, MAX_BINOMIAL_N]."""
    n = check_count(n, "n")
    if n > MAX_BINOMIAL_N:
        raise ValueError(
            f"n must be an integer in [0, {MAX_BINOMIAL_N:.0e}] (where SciPy's binomial law is "
            f"exact), got {n}"
        )
    return n


def dropped_count_distribution(n: int, p_drop: float):
    """Law of the number of dropped units in a layer of ``n``: ``scipy.stats.binom(n, p_drop)``.

    ``n`` is an integer in [0, :data:`MAX_BINOMIAL_N`], ``p_drop`` a float in [0, 1).
    """
    return stats.binom(_check_layer_units(n), check_p_drop(p_drop))


def prob_exactly_dropped(n: int, k: int, p_drop: float) -> float:
    """P(exactly ``k`` of ``n`` units are dropped) = C(n, k) p_drop^k keep_prob^(n-k).

    Parameters
    ----------
    n : int in [0, MAX_BINOMIAL_N]
        Units in the layer.
    k : int
        Dropped units; the probability is 0 outside ``[0, n]``.
    p_drop : float in [0, 1)

    Examples
    --------
    >>> round(prob_exactly_dropped(1024, 512, 0.5), 4)
    0.0249
    """
    n = _check_layer_units(n)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise ValueError(f"k must be an integer, got {k!r}")
    p_drop = check_p_drop(p_drop)
    if not 0 <= k <= n:  # also keeps a k beyond int64 away from SciPy
        return 0.0
    return float(stats.binom.pmf(int(k), n, p_drop))


def dropped_count_range(n: int, p_drop: float, coverage: float = 0.95) -> tuple[int, int]:
    """Central range ``(lo, hi)`` that holds the dropped count with probability >= ``coverage``.

    Each tail outside the range has probability at most ``(1 - coverage) / 2``: ``lo`` is the
    smallest count with ``P(K <= lo) >= (1 - coverage) / 2`` and ``hi`` the smallest with
    ``P(K <= hi) >= (1 + coverage) / 2``.

    Parameters
    ----------
    n : int in [0, MAX_BINOMIAL_N]
    p_drop : float in [0, 1)
    coverage : float in (0, 1)
    """
    n = _check_layer_units(n)
    p_drop = check_p_drop(p_drop)
    coverage = check_open_unit(coverage, "coverage")
    lo, hi = stats.binom.interval(coverage, n, p_drop)
    return max(int(lo), 0), int(hi)


def relative_spread(n: int, p_drop: float) -> float:
    """Standard deviation over mean of the dropped count: ``sqrt(keep_prob / (n p_drop))``.

    It shrinks as ``1 / sqrt(n)``: wide layers drop an almost fixed fraction of their units.
    """
    n = check_count(n, "n", minimum=1)
    p_drop = check_p_drop(p_drop)
    if p_drop == 0.0:
        raise ValueError("p_drop must be in (0, 1) for a relative spread, got 0.0")
    return math.sqrt((1.0 - p_drop) / (n * p_drop))


#: the widest layer :func:`choose_layer_width` considers
MAX_LAYER_WIDTH = 1_000_000


def prob_fraction_within(n, p_drop: float, delta: float) -> np.ndarray | float:
    """Probability that the fraction of dropped units of a layer of ``n`` units is within
    ``delta`` of ``p_drop``: ``P(|K / n - p_drop| <= delta)`` for ``K ~ Binomial(n, p_drop)``.

    Exact (the binomial cdf, no normal approximation). The boundary counts ``n (p_drop +- delta)``
    count as inside, with a relative slack of 1e-9 so that rounding of ``n * delta`` cannot move
    a count that lies exactly on the boundary outside.

    Parameters
    ----------
    n : int >= 1, or an array of them
    p_drop : float in (0, 1)
    delta : float > 0

    Returns
    -------
    float, or an array shaped like ``n``
    """
    p_drop = check_p_drop(p_drop)
    if p_drop == 0.0:
        raise ValueError("p_drop must be in (0, 1) here, got 0.0")
    delta = check_positive(delta, "delta")
    widths = np.asarray(n)
    if widths.dtype.kind not in "iu" or np.any(widths < 1):
        raise ValueError(f"n must be an integer >= 1 (or an array of them), got {n!r}")
    widths = widths.astype(np.float64)
    slack = 1e-9 * widths
    lo = np.ceil(widths * (p_drop - delta) - slack)
    hi = np.floor(widths * (p_drop + delta) + slack)
    inside = stats.binom.cdf(hi, widths, p_drop) - stats.binom.cdf(lo - 1, widths, p_drop)
    return float(inside) if np.ndim(inside) == 0 else inside


def choose_layer_width(p_drop: float, delta: float, alpha: float) -> int:
    """The smallest layer width ``n`` whose dropped fraction stays within ``delta`` of
    ``p_drop`` with probability at least ``1 - alpha``, by the exact binomial law.

    The probability (:func:`prob_fraction_within`) is not monotone in ``n``: the counts inside
    the band change by whole units, so a width just above the answer can fall short again.
    The answer is the first width that reaches ``1 - alpha``.

    Parameters
    ----------
    p_drop : float in (0, 1)
    delta : float in (0, 1)
    alpha : float in (0, 1)

    Returns
    -------
    int >= 1

    Raises
    ------
    ValueError
        If an argument is out of its range, or no width up to :data:`MAX_LAYER_WIDTH` suffices.
    """
    p_drop = check_p_drop(p_drop)
    if p_drop == 0.0:
        raise ValueError("p_drop must be in (0, 1) here, got 0.0")
    delta = check_open_unit(delta, "delta")
    alpha = check_open_unit(alpha, "alpha")
    start = 1
    while start <= MAX_LAYER_WIDTH:
        widths = np.arange(start, min(2 * start + 1024, MAX_LAYER_WIDTH + 1))
        enough = np.flatnonzero(prob_fraction_within(widths, p_drop, delta) >= 1.0 - alpha)
        if enough.size:
            return int(widths[enough[0]])
        start = int(widths[-1]) + 1
    raise ValueError(
        f"no layer width up to {MAX_LAYER_WIDTH} keeps the dropped fraction within delta={delta} "
        f"with probability 1 - alpha = {1 - alpha}: increase delta or alpha"
    )


class ParameterCount(NamedTuple):
    """Trainable parameters of a fully connected network."""

    weights: int
    biases: int

    @property
    def total(self) -> int:
        return self.weights + self.biases


def count_parameters(layer_sizes) -> ParameterCount:
    """Weights and biases of a fully connected network with the given layer sizes.

    Layer ``i`` to ``i + 1`` has ``layer_sizes[i] * layer_sizes[i + 1]`` weights and
    ``layer_sizes[i + 1]`` biases.

    Examples
    --------
    >>> count_parameters([3, 7, 7, 3, 2, 1])
    ParameterCount(weights=99, biases=20)
    """
    sizes = check_layer_sizes(layer_sizes)
    weights = sum(fan_in * fan_out for fan_in, fan_out in pairwise(sizes))
    return ParameterCount(weights=weights, biases=sum(sizes[1:]))


def count_subnetworks(layer_sizes, p_drop) -> int:
    """Number of distinct thinned networks dropout can sample: ``2**n_droppable``.

    A unit is droppable when its layer has ``p_drop > 0``. The layout of ``p_drop`` is the one of
    :class:`course_lib.nn.MLP`: one rate per dropout site (the input and each hidden layer), or a
    single rate applied to every hidden layer. The count includes the degenerate subnetworks in
    which a whole layer is dropped.

    Examples
    --------
    >>> count_subnetworks([784, 1024, 10], [0.2, 0.5]) == 2 ** (784 + 1024)
    True
    >>> count_subnetworks([784, 1024, 10], 0.5) == 2 ** 1024
    True
    """
    sizes = check_layer_sizes(layer_sizes)
    rates = per_layer_p_drop(p_drop, sizes)
    n_droppable = sum(size for size, rate in zip(sizes[:-1], rates) if rate > 0.0)
    return 2**n_droppable


def choose_keep_probs(layer_sizes) -> list[float]:
    """One ``keep_prob`` per dropout site (the input, then each hidden layer, the layout of
    :class:`course_lib.nn.MLP`) for a fully connected network that overfits.

    The rule, one of many defensible ones: the input keeps everything; a hidden layer drops in
    proportion to the weights it feeds, ``p_drop = 0.5 * weights / (largest weights fed by a
    hidden layer)``, but never so much that the whole layer is dropped at once in more than one
    step in ten (``p_drop ** width <= 0.1``); then no layer drops more than a layer that feeds
    more weights. For 3-7-7-3-2-1 that is ``[1.0, 0.5, 0.7857..., 0.9388..., 0.9796...]``.

    Parameters
    ----------
    layer_sizes : sequence of int >= 1, at least 3 (input, a hidden layer, output)

    Returns
    -------
    list of float in (0, 1], one per dropout site: ``len(layer_sizes) - 1`` of them

    Raises
    ------
    ValueError
        If ``layer_sizes`` is not a sequence of at least 3 integers >= 1.
    """
    sizes = check_layer_sizes(layer_sizes)
    if len(sizes) < 3:
        raise ValueError(
            f"layer_sizes must have at least one hidden layer (3 sizes), got {list(sizes)}"
        )
    hidden = sizes[1:-1]
    fed = [width * fan_out for width, fan_out in zip(hidden, sizes[2:])]
    capped = [
        min(0.5 * weights / max(fed), 0.1 ** (1.0 / width)) for weights, width in zip(fed, hidden)
    ]
    p_drops = [min(rate for rate, other in zip(capped, fed) if other >= weights) for weights in fed]
    return [1.0] + [1.0 - rate for rate in p_drops]


def boosting_factor(p_drop: float) -> float:
    """The factor ``1 / keep_prob`` by which inverted dropout scales the kept units.

    The same factor multiplies the gradient of every weight that reads a dropout layer, compared
    with standard dropout at mapped weights (see :func:`equivalent_standard_lr`).
    """
    return 1.0 / (1.0 - check_p_drop(p_drop))


def equivalent_standard_lr(lr: float, p_drop: float) -> float:
    """Learning rate at which standard dropout reproduces inverted dropout step for step.

    Take an inverted-dropout network trained at ``lr`` and a standard-dropout network whose
    weights after a dropout layer are ``1 / keep_prob`` times larger (all else equal). With the
    same masks, the inverted network's gradient on those weights is ``1 / keep_prob`` times the
    standard one, and its weights are ``keep_prob`` times smaller, so the two networks stay the same
    function after every step exactly when the standard network's post-dropout weights learn at
    ``lr / keep_prob**2`` (and every other parameter at ``lr``).

    The often quoted ``lr / keep_prob`` is the raw gradient scale (:func:`boosting_factor`), not
    the equivalent rate.
    """
    lr = check_positive(lr, "lr")
    keep_prob = 1.0 - check_p_drop(p_drop)
    return lr / keep_prob**2


# --- dropout on the inputs of a linear model: an adaptive L2 penalty ---------------------------


def _check_design(X) -> np.ndarray:
    X = check_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must have 2 dimensions (N, D), got shape {X.shape}")
    return X


def dropout_penalties(X: np.ndarray, p_drop: float) -> np.ndarray:
    """Dropout's L2 strength on each weight of a linear model: ``p_drop / keep_prob * sum_i
    X[i, j]**2``.

    For inverted dropout on the inputs of a linear model, averaging the squared error over masks
    gives exactly ``||y - X w||**2 + sum_j penalties[j] * w_j**2`` (Wager et al. 2013; see
    :func:`expected_dropout_loss`): an L2 penalty that is stronger on inputs of larger scale.

    Parameters
    ----------
    X : ndarray of float, shape (N, D)
        The inputs, one example per row.
    p_drop : float in [0, 1)

    Returns
    -------
    penalties : ndarray, shape (D,), dtype of ``X``, all >= 0
    """
    X = _check_design(X)
    p_drop = check_p_drop(p_drop)
    return p_drop / (1.0 - p_drop) * np.sum(X**2, axis=0)


def expected_dropout_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray, p_drop: float) -> float:
    """``E_mask ||y - dropout(X) w||**2`` in closed form, for inverted dropout on every input.

    Parameters
    ----------
    X : ndarray of float, shape (N, D)
    y : ndarray of float, shape (N,)
    w : ndarray of float, shape (D,)
    p_drop : float in [0, 1)

    Returns
    -------
    float: ``||y - X w||**2 + dropout_penalties(X, p_drop) @ w**2``
    """
    X = _check_design(X)
    y, w = check_float_array(y, "y"), check_float_array(w, "w")
    if y.shape != X.shape[:1]:
        raise ValueError(
            f"y must have shape ({X.shape[0]},) for X of shape {X.shape}, got {y.shape}"
        )
    if w.shape != X.shape[1:]:
        raise ValueError(
            f"w must have shape ({X.shape[1]},) for X of shape {X.shape}, got {w.shape}"
        )
    return float(np.sum((y - X @ w) ** 2) + dropout_penalties(X, p_drop) @ (w**2))

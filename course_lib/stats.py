"""The statistics behind the course's tests of random code: acceptance regions, concentration
bounds and ranges, each with a stated false-failure probability.

Everything here is pure: it takes the parameters of a law and returns numbers. Deciding, and
saying what went wrong, is the business of :mod:`course_lib.checks` and of the grader.

``alpha`` is always a *false-failure probability*: under the law named in the docstring, the
statistic falls outside the returned region (or further than the returned radius from its
mean) with probability at most ``alpha``. A test that fails exactly when that happens therefore
fails a correct implementation with probability at most ``alpha``, however the implementation
draws its random numbers. Two-sided regions spend ``alpha / 2`` on each side.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._lazy import lazy_module
from ._validate import check_count, check_nonnegative, check_open_unit, check_probability

if TYPE_CHECKING:
    from scipy import stats
else:  # imported on first use: most users of this module never need it (see course_lib._lazy)
    stats = lazy_module("scipy.stats")

DEFAULT_ALPHA = 1e-9


# --- counts --------------------------------------------------------------------------------------


def binomial_acceptance(n: int, p: float, alpha: float = DEFAULT_ALPHA) -> tuple[int, int]:
    """The exact two-sided acceptance region ``[lo, hi]`` of a Binomial(n, p) count.

    ``lo`` is the smallest ``k`` with ``P(K <= k) >= alpha / 2`` and ``hi`` the smallest ``k``
    with ``P(K <= k) >= 1 - alpha / 2``, so ``P(K < lo) < alpha / 2`` and
    ``P(K > hi) <= alpha / 2``: a Binomial(n, p) count falls outside with probability at most
    ``alpha``. Because the upper tail ``P(K > hi)`` grows with ``p``, ``hi`` also bounds a count
    whose success probability is only known to be ``<= p``.

    >>> binomial_acceptance(1000, 0.5)
    (404, 596)
    >>> binomial_acceptance(10, 0.0)
    (0, 0)
    """
    n = check_count(n, "n")
    p = check_probability(p, "p", allow_one=True)
    alpha = check_open_unit(alpha, "alpha")
    lo, hi = stats.binom.interval(1.0 - alpha, n, p)
    return max(int(lo), 0), int(hi)


def agreement_probability(p: float) -> float:
    """``P(A == B) = p**2 + (1 - p)**2`` for independent Bernoulli(p) draws ``A`` and ``B``.

    Two independent dropout masks agree on an entry with this probability (at ``p = p_drop`` or
    ``p = keep_prob`` alike), so the agreements of ``n`` independent pairs are
    Binomial(n, agreement_probability(p)); masks that are copies agree everywhere.

    >>> agreement_probability(0.3)
    0.58
    """
    p = check_probability(p, "p", allow_one=True)
    return p * p + (1.0 - p) * (1.0 - p)


def coincidence_probability(n: int, p: float) -> float:
    """``P(A == B)`` for two independent arrays of ``n`` Bernoulli(p) draws:
    ``agreement_probability(p) ** n``. A test that two masks drawn from different seeds differ
    fails a correct implementation with this probability.

    >>> coincidence_probability(4096, 0.5) == 0.5**4096
    True
    """
    n = check_count(n, "n")
    return agreement_probability(p) ** n


# --- means ---------------------------------------------------------------------------------------


def hoeffding_radius(n: int, value_range: float, alpha: float = DEFAULT_ALPHA) -> float:
    """Hoeffding's radius: ``t = value_range * sqrt(log(2 / alpha) / (2 n))``.

    For the mean of ``n`` independent values that each lie in an interval of width
    ``value_range``, ``P(|mean - mu| >= t) <= 2 exp(-2 n t**2 / value_range**2) = alpha``.

    >>> round(hoeffding_radius(100, 1.0, 0.05), 4)
    0.1358
    """
    n = check_count(n, "n", minimum=1)
    value_range = check_nonnegative(value_range, "value_range")
    alpha = check_open_unit(alpha, "alpha")
    return value_range * math.sqrt(math.log(2.0 / alpha) / (2.0 * n))


def bernstein_radius(n: int, variance: float, bound: float, alpha: float = DEFAULT_ALPHA) -> float:
    """Bernstein's radius: the positive root ``t`` of
    ``n t**2 = log(2 / alpha) * (2 variance + 2 bound t / 3)``.

    For the mean of ``n`` independent values of variance at most ``variance`` with
    ``|X - mu| <= bound``, ``P(|mean - mu| >= t) <= 2 exp(-n t**2 / (2 variance + 2 bound t / 3))
    = alpha``. Tighter than Hoeffding's when the variance is small next to the range.

    >>> round(bernstein_radius(1000, 0.25, 1.0), 4)
    0.1109
    """
    n = check_count(n, "n", minimum=1)
    variance = check_nonnegative(variance, "variance")
    bound = check_nonnegative(bound, "bound")
    alpha = check_open_unit(alpha, "alpha")
    log_term = math.log(2.0 / alpha)
    linear = 2.0 * bound * log_term / 3.0
    return (linear + math.sqrt(linear**2 + 8.0 * n * variance * log_term)) / (2.0 * n)


def normal_mean_radius(n: int, variance: float, alpha: float = DEFAULT_ALPHA) -> float:
    """The two-sided z-test radius ``t = sqrt(variance / n) * z``, ``z`` the ``1 - alpha / 2``
    quantile of the standard normal.

    The mean of ``n`` independent N(mu, variance) values is exactly N(mu, variance / n), so
    ``P(|mean - mu| > t) = alpha``; no bound on the range of the values is needed.

    >>> round(normal_mean_radius(100, 1.0, 0.05), 4)
    0.196
    """
    n = check_count(n, "n", minimum=1)
    variance = check_nonnegative(variance, "variance")
    alpha = check_open_unit(alpha, "alpha")
    return math.sqrt(variance / n) * float(stats.norm.isf(alpha / 2.0))


def normal_central_probability(z: float) -> float:
    """``P(|Z| < z) = 2 Phi(z) - 1`` for a standard normal ``Z``.

    >>> round(normal_central_probability(0.25), 4)
    0.1974
    """
    return float(2.0 * stats.norm.cdf(z) - 1.0) if z > 0 else 0.0


def close_pair_probability_bound(delta: float, variance: float) -> float:
    """An upper bound on ``P(|X - Y| < delta)`` for independent ``X, Y`` of law N(mu, variance):
    ``min(1, delta / sqrt(pi variance))``.

    ``X - Y`` is N(0, 2 variance), whose density is at most ``1 / sqrt(4 pi variance)``; the
    interval ``(-delta, delta)`` has length ``2 delta``. With the note under
    :func:`binomial_acceptance`, the count of such close pairs among ``n`` independent ones has
    an acceptance region computed at this bound.

    >>> close_pair_probability_bound(1e-9, 1.0 / math.pi)
    1e-09
    """
    delta = check_nonnegative(delta, "delta")
    variance = check_nonnegative(variance, "variance")
    if variance == 0:
        return 1.0
    return min(1.0, delta / math.sqrt(math.pi * variance))


# --- variances -----------------------------------------------------------------------------------


def mean_square_range(variance: float, n: int, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """The two-sided acceptance range of ``mean((x - mu)**2)`` for ``n`` independent
    N(mu, variance) values ``x`` and the known mean ``mu``.

    ``sum((x - mu)**2) / variance`` is exactly chi-square with ``n`` degrees of freedom, so the
    range is ``variance * [chi2.ppf(alpha / 2, n), chi2.isf(alpha / 2, n)] / n``.

    >>> [round(end, 3) for end in mean_square_range(4.0, 10_000, 0.05)]
    [3.89, 4.112]
    """
    variance = check_nonnegative(variance, "variance")
    n = check_count(n, "n", minimum=1)
    alpha = check_open_unit(alpha, "alpha")
    return (
        variance * float(stats.chi2.ppf(alpha / 2.0, n)) / n,
        variance * float(stats.chi2.isf(alpha / 2.0, n)) / n,
    )


def variance_ratio_range(n1: int, n2: int, alpha: float = DEFAULT_ALPHA) -> tuple[float, float]:
    """The two-sided acceptance range of ``mean((x - mu)**2) / mean((y - mu)**2)`` for ``n1``
    and ``n2`` independent normal values of one variance and the known mean ``mu``.

    The ratio is exactly F(n1, n2), so the range is
    ``[f.ppf(alpha / 2, n1, n2), f.isf(alpha / 2, n1, n2)]``.

    >>> [round(end, 3) for end in variance_ratio_range(1000, 1000, 0.05)]
    [0.883, 1.132]
    """
    n1 = check_count(n1, "n1", minimum=1)
    n2 = check_count(n2, "n2", minimum=1)
    alpha = check_open_unit(alpha, "alpha")
    return (float(stats.f.ppf(alpha / 2.0, n1, n2)), float(stats.f.isf(alpha / 2.0, n1, n2)))


# --- normal approximations of the binomial law ---------------------------------------------------


def binomial_normal_pmf(n: int, k: int, p: float) -> tuple[float, float]:
    """Two normal approximations of ``P(K = k)`` for K ~ Binomial(n, p), with 0 < p < 1:
    the density of N(n p, n p (1 - p)) at ``k``, and its mass on ``[k - 1/2, k + 1/2]``
    (continuity correction). Neither is exact; both are close near the mean of a large ``n``.

    >>> [round(value, 4) for value in binomial_normal_pmf(1024, 512, 0.5)]
    [0.0249, 0.0249]
    """
    n = check_count(n, "n", minimum=1)
    p = check_probability(p, "p")
    if p == 0:
        raise ValueError("p must be > 0 for a normal approximation")
    law = stats.norm(n * p, math.sqrt(n * p * (1.0 - p)))
    # scipy types a frozen law as rv_continuous_frozen | rv_discrete_frozen, whichever it is
    return float(law.pdf(k)), float(law.cdf(k + 0.5) - law.cdf(k - 0.5))  # pyright: ignore[reportAttributeAccessIssue]


def binomial_normal_range(n: int, p: float, coverage: float) -> tuple[float, float]:
    """The normal approximation of the central range of Binomial(n, p) that holds
    ``coverage``: ``n p -/+ z sqrt(n p (1 - p))``, ``z`` the ``(1 + coverage) / 2`` quantile of
    the standard normal. Real numbers, not rounded; not the exact range.

    >>> [round(end, 2) for end in binomial_normal_range(1024, 0.5, 0.95)]
    [480.64, 543.36]
    """
    n = check_count(n, "n")
    p = check_probability(p, "p", allow_one=True)
    coverage = check_open_unit(coverage, "coverage")
    z = float(stats.norm.isf((1.0 - coverage) / 2.0))
    mean, sd = n * p, math.sqrt(n * p * (1.0 - p))
    return mean - z * sd, mean + z * sd

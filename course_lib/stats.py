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
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._lazy import lazy_module
from ._validate import (
    ArgumentTypeError,
    check_count,
    check_nonnegative,
    check_open_unit,
    check_probability,
)

if TYPE_CHECKING:
    from scipy import stats
else:  # imported on first use: most users of this module never need it (see course_lib._lazy)
    stats = lazy_module("scipy.stats")

DEFAULT_ALPHA = 1e-9

#: the largest ``n`` of :func:`binomial_acceptance`. The rounding of ``lgamma(n)`` grows with
#: ``n``: up to 10**8 the region has SciPy's ends on all but about one law in a thousand, from
#: 10**8 to 10**9 it misses one end by one on about two laws in a hundred, and beyond on more.
#: Its window also grows, as ``sqrt(n log(1 / alpha))`` probabilities: 0.8 MB per array at
#: 10**8 (alpha 1e-9), 75 MiB at 10**12.
MAX_ACCEPTANCE_N = 10**8


# --- counts --------------------------------------------------------------------------------------


def binomial_acceptance(n: int, p: float, alpha: float = DEFAULT_ALPHA) -> tuple[int, int]:
    """The exact two-sided acceptance region ``[lo, hi]`` of a Binomial(n, p) count.

    ``lo`` is the smallest ``k`` with ``P(K <= k) >= alpha / 2`` and ``hi`` the smallest ``k``
    with ``P(K > k) <= alpha / 2`` (``P(K <= k) >= 1 - alpha / 2``, the same ends as SciPy's
    ``binom.interval(1 - alpha, n, p)``), so ``P(K < lo) < alpha / 2`` and
    ``P(K > hi) <= alpha / 2``: a Binomial(n, p) count falls outside with probability at most
    ``alpha``. Because the upper tail ``P(K > hi)`` grows with ``p``, ``hi`` also bounds a count
    whose success probability is only known to be ``<= p``.

    Parameters
    ----------
    n : int in [0, MAX_ACCEPTANCE_N]
    p : float in [0, 1]
    alpha : float in (0, 1)

    >>> binomial_acceptance(1000, 0.5)
    (404, 596)
    >>> binomial_acceptance(10, 0.0)
    (0, 0)
    """
    n = check_count(n, "n")
    if n > MAX_ACCEPTANCE_N:
        raise ValueError(
            f"n must be an integer in [0, {MAX_ACCEPTANCE_N:.0e}] (beyond, the region is no "
            f"longer exact and its arrays grow), got {n}"
        )
    p = check_probability(p, "p", allow_one=True)
    alpha = check_open_unit(alpha, "alpha")
    if p in (0.0, 1.0):
        return (0, 0) if p == 0.0 else (n, n)
    tail = alpha / 2.0
    first, pmf = _binomial_window(n, p, tail * 1e-12)
    below = np.cumsum(pmf)  # P(K <= k), k = first, first + 1, ...
    above = np.cumsum(pmf[::-1])[::-1]  # P(K >= k)
    lo = first + int(np.argmax(below >= tail))
    beyond = np.append(above[1:], 0.0)  # P(K > k)
    hi = first + int(np.argmax(beyond <= tail))
    return lo, hi


def _binomial_window(n: int, p: float, negligible: float) -> tuple[int, np.ndarray]:
    """``(first, pmf)``: the Binomial(n, p) probabilities of ``first, first + 1, ...``, over a
    window outside which each tail holds at most ``negligible`` (Hoeffding's bound
    ``P(|K - n p| >= t) <= 2 exp(-2 t**2 / n)``), for ``0 < p < 1``.

    Each tail is summed from its far end (small terms first), so both are accurate to a
    relative 1e-9 or better even where they are 1e-12 (checked against ``scipy.stats.binom``
    in the tests): this, and not SciPy's ``binom.interval``, is what the acceptance regions use
    because importing ``scipy.stats`` costs 0.7 s of CPU in every grading process whose checks
    call it, and only the NumPy here is needed. The window keeps the arrays small for large
    ``n`` (31,000 entries at n = 10**7 and ``negligible`` 1e-21).
    """
    radius = math.sqrt(n / 2.0 * math.log(1.0 / negligible))
    first = max(0, math.floor(n * p - radius))
    last = min(n, math.ceil(n * p + radius))
    log_first = (
        math.lgamma(n + 1)
        - math.lgamma(first + 1)
        - math.lgamma(n - first + 1)
        + first * math.log(p)
        + (n - first) * math.log1p(-p)
    )
    k = np.arange(first, last, dtype=np.float64)
    # log P(K = k + 1) - log P(K = k) = log((n - k) / (k + 1)) + log(p / (1 - p))
    steps = np.log((n - k) / (k + 1.0)) + (math.log(p) - math.log1p(-p))
    return first, np.exp(np.concatenate(([log_first], log_first + np.cumsum(steps))))


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
    """``P(|Z| < z) = 2 Phi(z) - 1 = erf(z / sqrt(2))`` for a standard normal ``Z``.

    ``z`` is a real number other than NaN (0 for ``z <= 0``, 1 for ``z = inf``). Computed with
    ``math.erf``, which needs no SciPy (the grader's kernels import the modules that call this
    without paying for ``scipy.stats``) and keeps full relative precision for small ``z``, where
    ``2 Phi(z) - 1`` cancels.

    >>> round(normal_central_probability(0.25), 4)
    0.1974
    """
    if not isinstance(z, numbers.Real) or isinstance(z, (bool, np.bool_)):
        raise ArgumentTypeError(f"z must be a real number (not NaN), got {z!r}")
    if math.isnan(z):
        raise ValueError(f"z must be a real number (not NaN), got {z!r}")
    return math.erf(float(z) / math.sqrt(2.0)) if z > 0 else 0.0


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

    Parameters
    ----------
    n : int >= 1
    k : int in [0, n], a value of K
    p : float in (0, 1)

    >>> [round(value, 4) for value in binomial_normal_pmf(1024, 512, 0.5)]
    [0.0249, 0.0249]
    """
    n = check_count(n, "n", minimum=1)
    p = check_probability(p, "p")
    if p == 0:
        raise ValueError("p must be in (0, 1) for a normal approximation, got 0.0")
    if not isinstance(k, numbers.Integral) or isinstance(k, (bool, np.bool_)):
        raise ArgumentTypeError(f"k must be an integer in [0, {n}] (a value of K), got {k!r}")
    if not 0 <= k <= n:
        raise ValueError(f"k must be an integer in [0, {n}] (a value of K), got {k!r}")
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


# --- intervals and paired comparisons over seeds -------------------------------------------------
# The course's experiments repeat a training run with a few seeds. The mean over seeds is
# uncertain, and with n seeds its standard error is estimated from only n - 1 degrees of freedom,
# so an interval uses Student's t law with n - 1 degrees of freedom, not the normal law: with 3
# seeds the 95% interval is the mean +- 4.30 standard errors, not +- 1.96.

MAX_SIGN_FLIP_VALUES = 20  # 2**20 sign patterns: about a second; beyond, the t-test is enough


@dataclass(frozen=True)
class TInterval:
    """A t-interval of a mean: ``mean -/+ t * standard_error`` with ``t`` the
    ``(1 + confidence) / 2`` quantile of Student's t law with ``df`` degrees of freedom."""

    mean: float
    low: float
    high: float
    standard_error: float
    df: int
    confidence: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


@dataclass(frozen=True)
class PairedComparison:
    """A paired comparison of two sets of values measured on the same seeds.

    ``differences`` are ``a - b`` seed by seed; ``mean``, ``low``, ``high``, ``standard_error``
    and ``df`` are their :class:`TInterval`. The p-values are those of the paired t-test of mean
    difference 0 (:func:`paired_t_p_value`): ``p_value`` two-sided (is ``a`` different from
    ``b``?), ``p_greater`` one-sided (is ``a`` greater: for errors, is ``a`` worse?) and
    ``p_less`` one-sided the other way; ``scipy.stats.ttest_rel``'s with ``alternative``
    ``"two-sided"``, ``"greater"`` and ``"less"``. ``sign_flip_p_value`` is the two-sided
    p-value of the exact sign-flip permutation test (NaN when it was not computed).
    """

    differences: np.ndarray
    mean: float
    low: float
    high: float
    standard_error: float
    df: int
    confidence: float
    p_value: float
    p_greater: float
    p_less: float
    sign_flip_p_value: float


def _sample(values, name: str, minimum: int = 2) -> np.ndarray:
    try:
        sample = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a sequence of numbers, got {values!r}") from None
    if sample.ndim != 1 or sample.size < minimum:
        raise ValueError(
            f"{name} must be a 1-D sequence of at least {minimum} numbers, got shape {sample.shape}"
        )
    if not np.all(np.isfinite(sample)):
        raise ValueError(f"{name} must hold finite numbers, got {sample}")
    return sample


def t_interval(values, confidence: float = 0.95) -> TInterval:
    """The two-sided t-interval of the mean of ``values``.

    With ``n`` values, mean ``m`` and sample standard deviation ``s`` (``ddof=1``), the interval
    is ``m -/+ t * s / sqrt(n)`` with ``t = stats.t.ppf((1 + confidence) / 2, n - 1)``. If the
    values are independent draws of one normal law, it contains that law's mean with probability
    ``confidence`` exactly; for other laws approximately (the mean of a few seeds' test errors is
    close to normal when no single seed dominates).

    Parameters
    ----------
    values : sequence of float, shape (n,), n >= 2, finite
    confidence : float in (0, 1)

    Returns
    -------
    TInterval, with ``df = n - 1``

    Raises
    ------
    ValueError
        If there are fewer than 2 values, any is not finite, or ``confidence`` is not in (0, 1).

    >>> interval = t_interval([1.0, 2.0, 3.0])
    >>> interval.df, round(interval.half_width, 3)
    (2, 2.484)
    """
    sample = _sample(values, "values")
    confidence = check_open_unit(confidence, "confidence")
    n = sample.size
    df = n - 1
    mean = float(sample.mean())
    # values that are all equal have no spread, though their computed one may be 1e-17
    standard_error = 0.0 if np.ptp(sample) == 0.0 else _spread(sample) / math.sqrt(n)
    half_width = float(stats.t.ppf((1.0 + confidence) / 2.0, df)) * standard_error
    return TInterval(mean, mean - half_width, mean + half_width, standard_error, df, confidence)


ALTERNATIVES = ("two-sided", "greater", "less")


def _spread(sample: np.ndarray) -> float:
    """The standard deviation (``ddof=1``) of a ``sample`` whose values are not all equal,
    computed on the values divided by their largest magnitude and scaled back: the squares of
    values below about 1e-154 underflow to 0, which would make a real spread look like none.

    >>> round(_spread(np.array([0.0, 2e-179])) / 1e-179, 6)
    1.414214
    """
    scale = float(np.max(np.abs(sample)))
    return scale * float((sample / scale).std(ddof=1))


def paired_t_statistic(differences) -> float:
    """Student's ``t = mean / (s / sqrt(n))`` of the paired ``differences`` (``s`` with
    ``ddof=1``). Where the differences do not vary the ratio is 0 / 0 or infinite: ``t`` is then
    0 if they are all 0 (no evidence either way) and ``+-inf`` with the sign of their value.

    Parameters
    ----------
    differences : sequence of float, shape (n,), n >= 2, finite

    >>> round(paired_t_statistic([1.0, 2.0, 3.0]), 4)
    3.4641
    >>> paired_t_statistic([0.25, 0.25])
    inf
    """
    sample = _sample(differences, "differences")
    if np.ptp(sample) == 0.0:  # all equal (their computed spread may still be 1e-17, not 0)
        return 0.0 if sample[0] == 0.0 else math.copysign(math.inf, float(sample[0]))
    spread = _spread(sample)
    return float(sample.mean()) / (spread / math.sqrt(sample.size))


def paired_t_p_value(differences, alternative: str = "two-sided") -> float:
    """The p-value of the paired t-test that the mean of ``differences`` is 0, for ``T`` of
    Student's t law with ``n - 1`` degrees of freedom and ``t`` the
    :func:`paired_t_statistic`: ``P(|T| >= |t|)`` (``"two-sided"``), ``P(T >= t)``
    (``"greater"``: the evidence that the mean is above 0) or ``P(T <= t)`` (``"less"``).
    These are ``scipy.stats.ttest_rel``'s, except where the differences do not vary: all 0 give
    1 (two-sided) and 0.5 (one-sided), all equal to ``c != 0`` give 0 or 1.

    Parameters
    ----------
    differences : sequence of float, shape (n,), n >= 2, finite
    alternative : "two-sided", "greater" or "less"

    Raises
    ------
    ValueError
        If there are fewer than 2 differences, any is not finite, or ``alternative`` is not one
        of :data:`ALTERNATIVES`.

    >>> round(paired_t_p_value([1.0, 2.0, 3.0]), 4)
    0.0742
    >>> round(paired_t_p_value([1.0, 2.0, 3.0], "greater"), 4)
    0.0371
    """
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f"alternative must be one of {', '.join(map(repr, ALTERNATIVES))}, got {alternative!r}"
        )
    t = paired_t_statistic(differences)
    df = np.asarray(differences).size - 1
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    if alternative == "less":
        return float(stats.t.cdf(t, df))
    return float(min(1.0, 2.0 * stats.t.sf(abs(t), df)))


def sign_flip_p_value(differences) -> float:
    """The exact two-sided p-value of the sign-flip permutation test of paired differences.

    If the two configurations of each pair are exchangeable (no effect), each difference is as
    likely to have either sign. Over all ``2**n`` sign patterns, the p-value is the fraction
    whose ``|sum|`` is at least the observed one (the observed pattern included, so it is at
    least ``2 / 2**n``; ``1`` when every difference is 0). It needs no normality, only the
    symmetry; with few values it cannot be small: 3 seeds give at least 0.25.

    Parameters
    ----------
    differences : sequence of float, shape (n,), 1 <= n <= MAX_SIGN_FLIP_VALUES, finite

    >>> sign_flip_p_value([1.0, 2.0, 3.0])
    0.25
    """
    sample = _sample(differences, "differences", minimum=1)
    if sample.size > MAX_SIGN_FLIP_VALUES:
        raise ValueError(
            f"differences must hold at most {MAX_SIGN_FLIP_VALUES} values for the exact "
            f"sign-flip test, got {sample.size}"
        )
    n = sample.size
    patterns = (np.arange(2**n)[:, None] >> np.arange(n)) & 1  # (2**n, n) of 0/1
    sums = np.abs((1 - 2 * patterns) @ sample)
    observed = abs(float(sample.sum()))
    # a pattern whose |sum| equals the observed one up to rounding counts as "at least"
    slack = 1e-9 * max(1.0, float(np.abs(sample).sum()))
    return float(np.count_nonzero(sums >= observed - slack)) / 2**n


def paired_comparison(
    a, b, confidence: float = 0.95, *, sign_flip: bool = True
) -> PairedComparison:
    """Compare values ``a`` and ``b`` measured on the same seeds, seed by seed.

    The differences ``a - b`` cancel what a seed gives both (the split, the initial weights, the
    batch order), so their interval is usually much narrower than either mean's.

    Parameters
    ----------
    a, b : sequences of float, shape (n,), n >= 2, finite, in the same seed order
    confidence : float in (0, 1)
        Of the t-interval of the mean difference (``df = n - 1``).
    sign_flip : bool
        Also compute :func:`sign_flip_p_value` (only for n <= ``MAX_SIGN_FLIP_VALUES``;
        NaN otherwise or when False).

    Returns
    -------
    PairedComparison

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length, hold fewer than 2 values or a value that is not
        finite, or ``confidence`` is not in (0, 1).

    >>> comparison = paired_comparison([3.0, 4.0, 6.0], [2.0, 2.0, 3.0])
    >>> comparison.mean, comparison.df, round(comparison.p_value, 4), comparison.sign_flip_p_value
    (2.0, 2, 0.0742, 0.25)
    >>> round(comparison.p_greater, 4), round(comparison.p_less, 4)
    (0.0371, 0.9629)
    """
    first, second = _sample(a, "a"), _sample(b, "b")
    if first.shape != second.shape:
        raise ValueError(
            f"a and b must hold one value per seed for the same seeds, got {first.size} and "
            f"{second.size} values"
        )
    differences = first - second
    interval = t_interval(differences, confidence)
    flips = (
        sign_flip_p_value(differences)
        if sign_flip and differences.size <= MAX_SIGN_FLIP_VALUES
        else math.nan
    )
    return PairedComparison(
        differences,
        interval.mean,
        interval.low,
        interval.high,
        interval.standard_error,
        interval.df,
        interval.confidence,
        paired_t_p_value(differences),
        paired_t_p_value(differences, "greater"),
        paired_t_p_value(differences, "less"),
        flips,
    )

"""Statistical assertions for tests of random code, and the failure that every check raises.

:class:`CheckFailure` is what a student sees when a self-check of a notebook fails
(``autograder.exercises.check`` raises it, with a message that says what was expected, what was
seen and the likely mistake); the course's own tests use the assertions below. A correct random
implementation must pass them, whatever way it draws its random numbers.

Every assertion takes ``alpha``, the false-failure probability it may spend (default 1e-9), and
takes its tolerance from an exact law or a proven bound of :mod:`course_lib.stats`:

* counts: the exact two-sided binomial acceptance region, each tail <= ``alpha / 2``;
* means of bounded variables: Hoeffding's inequality, or Bernstein's when the variance is known;
* means and variances of Gaussian samples: the exact normal, chi-square and F laws.

So a correct implementation fails one assertion with probability at most ``alpha``. The checks
of dropout layers, and the hints for dropout mistakes, belong to the grader
(:mod:`autograder.exercises.kit`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .stats import (
    DEFAULT_ALPHA,
    bernstein_radius,
    binomial_acceptance,
    hoeffding_radius,
    mean_square_range,
    normal_mean_radius,
    variance_ratio_range,
)


class CheckFailure(AssertionError):
    """A check failed; the message says what was expected, what was seen and the likely mistake."""


@dataclass(frozen=True)
class CheckResult:
    """A passed statistical check: the observed statistic and the range it had to fall in."""

    statistic: float
    low: float
    high: float
    alpha: float


def _fail(message: str, hint: str | None = None) -> None:
    raise CheckFailure(message + (f" {hint}" if hint else ""))


# --- general-purpose statistical assertions ---------------------------------------------------


def assert_binomial_count(
    count: int,
    n: int,
    p: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    what: str = "count",
    alternatives: Mapping[str, float] | None = None,
    hint: str | None = None,
) -> CheckResult:
    """Assert that ``count`` is a plausible draw from Binomial(n, p).

    Parameters
    ----------
    count : observed number of successes
    n, p : the law under a correct implementation
    alpha : false-failure probability spent by this assertion
    what : what is counted, for the message
    alternatives : {likely mistake: its success probability}
        On failure, every mistake whose own acceptance range holds ``count`` is named.
    hint : said when no alternative matches
    """
    lo, hi = binomial_acceptance(n, p, alpha)
    if not lo <= count <= hi:
        matches = [
            mistake
            for mistake, q in (alternatives or {}).items()
            if q != p
            and binomial_acceptance(n, q, alpha)[0] <= count <= binomial_acceptance(n, q, alpha)[1]
        ]
        fraction = count / n if n else float("nan")
        _fail(
            f"{what}: expected between {lo} and {hi} of {n} (probability {p:.4g} each; a correct "
            f"implementation falls outside with probability < {alpha:.0e}), saw {count} "
            f"(fraction {fraction:.4f}).",
            " ".join(matches) if matches else hint,
        )
    return CheckResult(float(count), float(lo), float(hi), alpha)


def assert_mean_close(
    values,
    expected: float,
    *,
    lower: float,
    upper: float,
    variance: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    what: str = "mean",
    hint: str | None = None,
) -> CheckResult:
    """Assert that the mean of i.i.d. ``values`` in ``[lower, upper]`` is close to ``expected``.

    The tolerance is Bernstein's radius when ``variance`` is given (tighter), else Hoeffding's.
    Values outside ``[lower, upper]`` fail at once, since the bound would not hold for them.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("values must not be empty")
    if np.any(~np.isfinite(values)) or values.min() < lower or values.max() > upper:
        _fail(
            f"{what}: every value must lie in [{lower:.6g}, {upper:.6g}], saw values in "
            f"[{np.nanmin(values):.6g}, {np.nanmax(values):.6g}].",
            hint,
        )
    if variance is None:
        radius = hoeffding_radius(values.size, upper - lower, alpha)
    else:
        bound = max(upper - expected, expected - lower)
        radius = bernstein_radius(values.size, variance, bound, alpha)
    mean = float(values.mean())
    if abs(mean - expected) > radius:
        _fail(
            f"{what}: expected {expected:.6g} +/- {radius:.3g} (a correct implementation falls "
            f"outside with probability < {alpha:.0e}), saw {mean:.6g}.",
            hint,
        )
    return CheckResult(mean, expected - radius, expected + radius, alpha)


def assert_normal_variance(
    samples,
    variance: float,
    *,
    mean: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    what: str = "variance",
    hint: str | None = None,
) -> CheckResult:
    """Assert that Gaussian ``samples`` with known ``mean`` have variance ``variance``.

    Under the hypothesis, ``sum((x - mean)**2) / variance`` is chi-square with ``n`` degrees of
    freedom exactly; the acceptance region cuts ``alpha / 2`` from each tail.
    """
    samples = np.asarray(samples, dtype=np.float64).ravel()
    n = samples.size
    if n == 0:
        raise ValueError("samples must not be empty")
    observed = float(np.mean((samples - mean) ** 2))
    low, high = mean_square_range(variance, n, alpha)
    if not low <= observed <= high:
        _fail(
            f"{what}: expected {variance:.6g} (between {low:.6g} and {high:.6g} for {n} "
            f"samples; a correct implementation falls outside with probability < {alpha:.0e}), "
            f"saw {observed:.6g}.",
            hint,
        )
    return CheckResult(observed, low, high, alpha)


# --- Gaussian means and variance ratios -------------------------------------------------------


def assert_normal_mean(
    samples,
    mean: float,
    *,
    variance: float,
    alpha: float = DEFAULT_ALPHA,
    what: str = "mean",
    hint: str | None = None,
) -> CheckResult:
    """Assert that i.i.d. Gaussian ``samples`` of known ``variance`` have mean ``mean``.

    Under the hypothesis the sample mean is exactly N(mean, variance / n); the acceptance region
    cuts ``alpha / 2`` from each tail (a z-test, no bound on the range of the values needed).
    """
    samples = np.asarray(samples, dtype=np.float64).ravel()
    n = samples.size
    if n == 0:
        raise ValueError("samples must not be empty")
    radius = normal_mean_radius(n, variance, alpha)
    observed = float(samples.mean())
    if not abs(observed - mean) <= radius:
        _fail(
            f"{what}: expected {mean:.6g} +/- {radius:.3g} (a correct implementation falls "
            f"outside with probability < {alpha:.0e}), saw {observed:.6g}.",
            hint,
        )
    return CheckResult(observed, mean - radius, mean + radius, alpha)


def assert_equal_normal_variances(
    first,
    second,
    *,
    mean: float = 0.0,
    alpha: float = DEFAULT_ALPHA,
    what: str = "variance ratio",
    hint: str | None = None,
) -> CheckResult:
    """Assert that two independent Gaussian samples with the same known ``mean`` share a variance.

    Under the hypothesis the ratio of the mean squared deviations is exactly F(n1, n2); the
    acceptance region cuts ``alpha / 2`` from each tail.
    """
    first = np.asarray(first, dtype=np.float64).ravel()
    second = np.asarray(second, dtype=np.float64).ravel()
    if first.size == 0 or second.size == 0:
        raise ValueError("first and second must not be empty")
    n1, n2 = first.size, second.size
    ratio = float(np.mean((first - mean) ** 2) / np.mean((second - mean) ** 2))
    low, high = variance_ratio_range(n1, n2, alpha)
    if not low <= ratio <= high:
        _fail(
            f"{what}: expected 1 (between {low:.6g} and {high:.6g} for {n1} and {n2} samples; "
            f"a correct implementation falls outside with probability < {alpha:.0e}), "
            f"saw {ratio:.6g}.",
            hint,
        )
    return CheckResult(ratio, low, high, alpha)

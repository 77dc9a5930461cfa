"""Statistical and exact assertions for self-checks and hidden tests.

A correct random implementation must pass, whatever way it draws its random numbers; a wrong one
must fail with a message that says what was expected, what was seen and the likely mistake.

Every statistical assertion takes ``alpha``, the false-failure probability it may spend (default
1e-9), and derives its tolerance from an exact law or a proven bound:

* counts of kept units: exact two-sided binomial acceptance region, each tail <= ``alpha / 2``;
* means of bounded variables: Hoeffding's inequality, or Bernstein's when the variance is known;
* variances of Gaussian noise: the exact chi-square law of the sum of squares.

So a correct implementation fails one assertion with probability at most ``alpha``.
All failures raise :class:`CheckFailure`, an ``AssertionError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ._validate import check_p_drop
from .stats import (DEFAULT_ALPHA, agreement_probability, bernstein_radius, binomial_acceptance,
                    coincidence_probability, hoeffding_radius, mean_square_range,
                    normal_mean_radius, variance_ratio_range)


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


def assert_binomial_count(count: int, n: int, p: float, *, alpha: float = DEFAULT_ALPHA,
                          what: str = "count", alternatives: Mapping[str, float] | None = None,
                          hint: str | None = None) -> CheckResult:
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
        matches = [mistake for mistake, q in (alternatives or {}).items()
                   if q != p and binomial_acceptance(n, q, alpha)[0] <= count
                   <= binomial_acceptance(n, q, alpha)[1]]
        fraction = count / n if n else float("nan")
        _fail(f"{what}: expected between {lo} and {hi} of {n} (probability {p:.4g} each; a correct "
              f"implementation falls outside with probability < {alpha:.0e}), saw {count} "
              f"(fraction {fraction:.4f}).", " ".join(matches) if matches else hint)
    return CheckResult(float(count), float(lo), float(hi), alpha)


def assert_mean_close(values, expected: float, *, lower: float, upper: float,
                      variance: float | None = None, alpha: float = DEFAULT_ALPHA,
                      what: str = "mean", hint: str | None = None) -> CheckResult:
    """Assert that the mean of i.i.d. ``values`` in ``[lower, upper]`` is close to ``expected``.

    The tolerance is Bernstein's radius when ``variance`` is given (tighter), else Hoeffding's.
    Values outside ``[lower, upper]`` fail at once, since the bound would not hold for them.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("values must not be empty")
    if np.any(~np.isfinite(values)) or values.min() < lower or values.max() > upper:
        _fail(f"{what}: every value must lie in [{lower:.6g}, {upper:.6g}], saw values in "
              f"[{np.nanmin(values):.6g}, {np.nanmax(values):.6g}].", hint)
    if variance is None:
        radius = hoeffding_radius(values.size, upper - lower, alpha)
    else:
        bound = max(upper - expected, expected - lower)
        radius = bernstein_radius(values.size, variance, bound, alpha)
    mean = float(values.mean())
    if abs(mean - expected) > radius:
        _fail(f"{what}: expected {expected:.6g} +/- {radius:.3g} (a correct implementation falls "
              f"outside with probability < {alpha:.0e}), saw {mean:.6g}.", hint)
    return CheckResult(mean, expected - radius, expected + radius, alpha)


def assert_normal_variance(samples, variance: float, *, mean: float = 0.0,
                           alpha: float = DEFAULT_ALPHA, what: str = "variance",
                           hint: str | None = None) -> CheckResult:
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
        _fail(f"{what}: expected {variance:.6g} (between {low:.6g} and {high:.6g} for {n} "
              f"samples; a correct implementation falls outside with probability < {alpha:.0e}), "
              f"saw {observed:.6g}.", hint)
    return CheckResult(observed, low, high, alpha)


# --- exact assertions -------------------------------------------------------------------------


def assert_same_shape_dtype(expected_like: np.ndarray, actual, *, name: str = "output") -> None:
    """Assert ``actual`` is an ndarray with the shape and dtype of ``expected_like``."""
    if not isinstance(actual, np.ndarray):
        _fail(f"{name} must be a numpy array, got {type(actual).__name__}.")
    if actual.shape != expected_like.shape:
        _fail(f"{name} must have shape {expected_like.shape}, got {actual.shape}.")
    if actual.dtype != expected_like.dtype:
        _fail(f"{name} must keep the input's dtype {expected_like.dtype}, got {actual.dtype}.",
              "Multiplying by a float64 array (e.g. rng.random(...) < keep_prob then a division) "
              "can upcast float32: cast the mask or the result back with .astype(x.dtype).")


def assert_unchanged(original: np.ndarray, after: np.ndarray, *, name: str = "x") -> None:
    """Assert that an argument was not modified (compare a copy taken before the call)."""
    if original.shape != after.shape or not np.array_equal(original, after, equal_nan=True):
        _fail(f"{name} was modified by the call.",
              "Layer functions must not change their inputs: compute the output in a new array "
              "(x * mask / keep_prob), not in place (x *= mask).")


def _tolerance(dtype) -> float:
    return 50.0 * float(np.finfo(dtype).eps)


# --- dropout-specific checks ------------------------------------------------------------------

_SCALE_MISTAKES = (
    (lambda keep, p: 1.0, "kept units are not scaled: did you forget to divide by keep_prob?"),
    (lambda keep, p: 1.0 / p if p else math.inf,
     "kept units are divided by p_drop: inverted dropout divides by keep_prob = 1 - p_drop."),
    (lambda keep, p: p, "kept units are multiplied by p_drop instead of divided by keep_prob."),
    (lambda keep, p: keep, "kept units are multiplied by keep_prob (that is standard dropout's "
                           "inference rule): inverted dropout divides by keep_prob in training."),
)


def kept_units(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Boolean array of the entries of ``x != 0`` that survived: ``out != 0`` there (1D)."""
    nonzero = x != 0
    return out[nonzero] != 0


def check_inverted_dropout_output(x: np.ndarray, out, p_drop: float, *,
                                  alpha: float = DEFAULT_ALPHA) -> CheckResult:
    """Check one training-time output of inverted dropout on input ``x``.

    Exact: same shape and dtype; every entry is 0 or ``x / keep_prob``. Statistical (``alpha``):
    the number of kept entries among the non-zero entries of ``x`` is Binomial(n, keep_prob).
    """
    x = np.asarray(x)
    p_drop = check_p_drop(p_drop)
    keep_prob = 1.0 - p_drop
    assert_same_shape_dtype(x, out)
    nonzero = x != 0
    ratios = out[nonzero].astype(np.float64) / x[nonzero].astype(np.float64)
    kept = ratios != 0
    tolerance = _tolerance(x.dtype)
    if not np.all(np.isfinite(ratios)):
        _fail("output contains NaN or infinite values.")
    if np.any(out[~nonzero] != 0):
        _fail("output must be 0 where the input is 0 (dropout only multiplies).")
    scales = ratios[kept]
    expected_scale = 1.0 / keep_prob
    if scales.size and not np.allclose(scales, expected_scale, rtol=tolerance, atol=0):
        median = float(np.median(scales))
        hint = next((text for scale_of, text in _SCALE_MISTAKES
                     if math.isclose(median, scale_of(keep_prob, p_drop), rel_tol=1e-3)
                     and np.allclose(scales, median, rtol=1e-3)),
                    "each output must be either 0 (dropped) or x / keep_prob (kept).")
        _fail(f"kept units must equal x / keep_prob = x * {expected_scale:.6g}, saw x times "
              f"{median:.6g} (median).", hint)
    return assert_binomial_count(
        int(kept.sum()), int(kept.size), keep_prob, alpha=alpha, what="kept units",
        alternatives={
            "keep and drop are swapped: units are kept with probability p_drop, they should be "
            "dropped with it.": p_drop,
            "nothing is dropped: is the mask applied?": 1.0,
        },
        hint=f"each unit must be kept with probability keep_prob = 1 - p_drop = {keep_prob:.4g}.")


def check_inference_identity(x: np.ndarray, out) -> None:
    """At inference inverted dropout is the identity: ``out`` must equal ``x`` exactly."""
    x = np.asarray(x)
    assert_same_shape_dtype(x, out)
    if np.array_equal(out, x):
        return
    nonzero = x != 0
    if np.any(out[nonzero] == 0):
        _fail("at inference (training=False) no unit may be dropped, but some outputs are 0.",
              "Dropout must be switched off when training is False.")
    ratio = float(np.median(out[nonzero] / x[nonzero])) if nonzero.any() else 1.0
    _fail(f"at inference (training=False) the output must equal the input, saw x times "
          f"{ratio:.6g}.", "With inverted dropout the scaling happens in training only; "
          "inference returns x unchanged.")


def assert_expectation_preserved(x: np.ndarray, outputs, p_drop: float, *,
                                 alpha: float = DEFAULT_ALPHA) -> CheckResult:
    """The mean of ``out / x`` over entries and draws must be 1 (inverted dropout is unbiased).

    ``outputs`` holds one or more outputs for the same ``x`` (stacked on a new first axis or a
    list). Per entry ``out / x`` is 0 or ``1 / keep_prob``, with mean 1 and variance
    ``p_drop / keep_prob``; Bernstein's bound gives the tolerance.
    """
    x = np.asarray(x)
    tolerance = _tolerance(np.result_type(x, np.asarray(outputs[0]).dtype))
    x = x.astype(np.float64)
    p_drop = check_p_drop(p_drop)
    keep_prob = 1.0 - p_drop
    stacked = np.asarray(outputs, dtype=np.float64).reshape((-1,) + x.shape)
    nonzero = x != 0
    ratios = stacked[:, nonzero] / x[nonzero]
    # x / keep_prob rounded in the input's dtype is not exactly x * (1 / keep_prob): snap it
    ratios[np.isclose(ratios, 1.0 / keep_prob, rtol=tolerance, atol=0)] = 1.0 / keep_prob
    return assert_mean_close(
        ratios, 1.0, lower=0.0, upper=1.0 / keep_prob, variance=p_drop / keep_prob, alpha=alpha,
        what="mean of output / input",
        hint=f"inverted dropout keeps E[out] = x; if the mean is keep_prob = {keep_prob:.4g} "
             f"times the input, did you forget to divide by keep_prob?")


def assert_masks_independent(masks, p_drop: float, *, alpha: float = DEFAULT_ALPHA,
                             what: str = "samples") -> CheckResult:
    """Masks of different samples (first axis) must be drawn independently.

    Samples are paired (0 with 1, 2 with 3, ...). Two independent masks agree on an entry with
    probability ``keep_prob**2 + p_drop**2``, so the agreements over all pairs are binomial; a mask
    shared by the whole batch agrees everywhere.
    """
    masks = np.asarray(masks, dtype=bool)
    p_drop = check_p_drop(p_drop)
    if masks.shape[0] < 2:
        raise ValueError(f"need at least 2 {what} to compare, got {masks.shape[0]}")
    n_pairs = masks.shape[0] // 2
    first, second = masks[0:2 * n_pairs:2], masks[1:2 * n_pairs:2]
    agreements = int(np.count_nonzero(first == second))
    return assert_binomial_count(
        agreements, first.size, agreement_probability(p_drop), alpha=alpha,
        what=f"entries on which the masks of two {what} agree",
        alternatives={f"one mask is shared by all {what}: draw a mask with the full shape of x, "
                      "not one row broadcast over the batch.": 1.0},
        hint=f"the masks of different {what} must be independent.")


def check_rng_use(first, again, other, p_drop: float, *, alpha: float = DEFAULT_ALPHA) -> None:
    """Randomness must come from the ``rng`` argument only, judged from three outputs.

    ``first`` and ``again`` come from generators with the same seed, ``other`` from a different
    seed; each is a keep-mask or an output whose zeros are the dropped units. The first two must
    be equal; the third must differ (two independent masks of ``n`` entries coincide with
    probability ``(keep_prob**2 + p_drop**2)**n``, which must not exceed ``alpha``).
    """
    p_drop = check_p_drop(p_drop)
    first, again, other = (np.asarray(a) != 0 for a in (first, again, other))
    if first.shape != again.shape or not np.array_equal(first, again):
        _fail("two calls with generators of the same seed gave different masks.",
              "Draw every random number from the rng argument (rng.random, rng.binomial, ...), "
              "never from np.random.* or another generator.")
    if coincidence_probability(first.size, p_drop) > alpha:
        raise ValueError(f"{first.size} entries are too few to tell two seeds apart with "
                         f"alpha={alpha:g}; use a larger input")
    if first.shape == other.shape and np.array_equal(first, other):
        _fail("generators with different seeds gave the same mask.",
              "The mask must be drawn from the rng argument, not fixed or seeded inside the "
              "function.")


def assert_uses_rng(fn: Callable[[np.random.Generator], np.ndarray], *, p_drop: float,
                    seeds: tuple[int, int] = (12345, 54321), alpha: float = DEFAULT_ALPHA) -> None:
    """:func:`check_rng_use` on ``fn(rng)`` called with seeds ``seeds[0]`` (twice) and
    ``seeds[1]``."""
    outputs = [fn(np.random.default_rng(seed)) for seed in (seeds[0], seeds[0], seeds[1])]
    check_rng_use(*outputs, p_drop, alpha=alpha)


def check_dropout_backward(x: np.ndarray, out: np.ndarray, dout: np.ndarray, dx,
                           p_drop: float) -> None:
    """Exact check of inverted dropout's backward for one forward pass.

    ``out`` is the forward output on ``x`` (all entries of ``x`` non-zero, so that the zeros of
    ``out`` are the dropped units) and ``dx`` the backward of ``dout``; it must be
    ``dout * mask / keep_prob`` with the forward pass's mask.
    """
    x, out, dout = np.asarray(x), np.asarray(out), np.asarray(dout)
    if np.any(x == 0):
        raise ValueError("x must have no zero entries, so that the mask can be read from out")
    keep_prob = 1.0 - check_p_drop(p_drop)
    assert_same_shape_dtype(dout, dx, name="dx")
    mask = out != 0
    expected = np.where(mask, dout / keep_prob, 0.0)
    tolerance = _tolerance(dout.dtype)
    if np.allclose(dx, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max(initial=0)):
        return
    if np.allclose(dx, dout):
        _fail("dx equals dout: the backward pass ignores the mask.",
              "Dropped units get no gradient: multiply dout by the same mask (and 1/keep_prob).")
    dx_mask = np.asarray(dx) != 0
    if not np.array_equal(dx_mask & (dout != 0), mask & (dout != 0)):
        _fail("dx is non-zero for units the forward pass dropped (or zero for units it kept).",
              "Use the mask saved in cache by the forward pass; drawing a new mask in backward "
              "gives the gradient of a different network.")
    if np.allclose(dx, np.where(mask, dout, 0.0)):
        _fail("dx has the right zeros but is not scaled.",
              "The forward pass divides kept units by keep_prob, so the backward must too.")
    _fail("dx must equal dout * mask / keep_prob, with the mask of the forward pass.")


# --- Gaussian means and variance ratios -------------------------------------------------------


def assert_normal_mean(samples, mean: float, *, variance: float, alpha: float = DEFAULT_ALPHA,
                       what: str = "mean", hint: str | None = None) -> CheckResult:
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
        _fail(f"{what}: expected {mean:.6g} +/- {radius:.3g} (a correct implementation falls "
              f"outside with probability < {alpha:.0e}), saw {observed:.6g}.", hint)
    return CheckResult(observed, mean - radius, mean + radius, alpha)


def assert_equal_normal_variances(first, second, *, mean: float = 0.0,
                                  alpha: float = DEFAULT_ALPHA, what: str = "variance ratio",
                                  hint: str | None = None) -> CheckResult:
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
        _fail(f"{what}: expected 1 (between {low:.6g} and {high:.6g} for {n1} and {n2} samples; "
              f"a correct implementation falls outside with probability < {alpha:.0e}), "
              f"saw {ratio:.6g}.", hint)
    return CheckResult(ratio, low, high, alpha)

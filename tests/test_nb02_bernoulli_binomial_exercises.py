"""Notebook 02's graded exercises: correct solutions written differently pass under 20 seeds;
each realistic mistake fails its exercise's checks with a message naming it."""

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from scipy import stats

from autograder.exercises import run
from course_lib.checks import CheckFailure
from parts_helpers import assert_scored_in_parts

SEEDS = range(20)


def _check_p(p_drop):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")


# --- sample_mask ------------------------------------------------------------------------------


def mask_by_comparison(shape, p_drop, *, rng):
    _check_p(p_drop)
    return rng.random(shape) < 1 - p_drop


def mask_by_binomial(shape, p_drop, *, rng):
    if p_drop < 0 or p_drop >= 1:
        raise ValueError("p_drop out of range")
    return rng.binomial(1, 1 - p_drop, size=shape).astype(bool)


def mask_by_uniform_above_p_drop(shape, p_drop, *, rng):
    _check_p(p_drop)
    return rng.uniform(0.0, 1.0, size=shape) >= p_drop


def mask_from_course_lib(shape, p_drop, *, rng):
    from course_lib.masks import sample_mask

    return sample_mask(shape, p_drop, rng=rng)


@pytest.mark.parametrize(
    "fn", [mask_by_comparison, mask_by_binomial, mask_by_uniform_above_p_drop, mask_from_course_lib]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_sample_mask_passes(fn, seed):
    run("sample_mask", fn, seed=seed, hidden=True)


def _mask_mistake(draw):
    def sample_mask(shape, p_drop, *, rng):
        _check_p(p_drop)
        return draw(shape, p_drop, rng)

    return sample_mask


def _fixed_count(shape, p_drop, rng):
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    n = dims[-1]
    rows = [rng.permutation(n) >= round(n * p_drop) for _ in range(math.prod(dims[:-1]))]
    return np.array(rows, dtype=bool).reshape(dims)


def _fixed_count_whole(shape, p_drop, rng):
    """Drop exactly round(size * p_drop) entries of the whole array, chosen at random."""
    dims = _dims(shape)
    size = math.prod(dims)
    dropped = rng.choice(size, size=round(size * p_drop), replace=False)
    mask = np.ones(size, dtype=bool)
    mask[dropped] = False
    return mask.reshape(dims)


def _reseeded(shape, p_drop, rng):
    own = np.random.default_rng(rng.bit_generator.seed_seq)  # same stream on every call
    return own.random(shape) < 1 - p_drop


def _dims(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


MASK_MISTAKES = {
    "True = dropped": (_mask_mistake(lambda s, p, rng: rng.random(s) < p), "swapped"),
    "float 0/1 mask": (
        _mask_mistake(lambda s, p, rng: (rng.random(s) < 1 - p).astype(float)),
        "boolean array.*0s and 1s",
    ),
    "int mask from binomial": (
        _mask_mistake(lambda s, p, rng: rng.binomial(1, 1 - p, size=s)),
        "astype\\(bool\\)",
    ),
    "wrong shape": (
        _mask_mistake(lambda s, p, rng: rng.random(_dims(s)[::-1]) < 1 - p),
        "must return an array of shape",
    ),
    "global np.random": (
        _mask_mistake(lambda s, p, rng: np.random.random(s) < 1 - p),
        "same seed gave different masks",
    ),
    "fixed seed inside": (
        _mask_mistake(lambda s, p, rng: np.random.default_rng(0).random(s) < 1 - p),
        "different seeds gave the same mask",
    ),
    "re-seeded from rng's seed": (_mask_mistake(_reseeded), "same rng gave the same mask"),
    "one row for the batch": (
        _mask_mistake(
            lambda s, p, rng: (
                np.broadcast_to(rng.random(_dims(s)[1:]) < 1 - p, _dims(s))
                if len(_dims(s)) > 1
                else rng.random(s) < 1 - p
            )
        ),
        "every row of the mask is the same",
    ),
    "whole row kept or dropped": (
        _mask_mistake(
            lambda s, p, rng: (
                np.broadcast_to(rng.random((*_dims(s)[:-1], 1)) < 1 - p, _dims(s))
                if len(_dims(s)) > 1
                else rng.random(s) < 1 - p
            )
        ),
        "kept or dropped together",
    ),
    "exactly n * p_drop dropped per row": (
        _mask_mistake(_fixed_count),
        "every row of the mask keeps exactly",
    ),
    "exactly n * p_drop dropped per call": (
        _mask_mistake(_fixed_count_whole),
        "Every call drops exactly the same number",
    ),
    "ignores p_drop": (
        _mask_mistake(lambda s, p, rng: rng.integers(0, 2, size=s).astype(bool)),
        "ignores p_drop",
    ),
    "nothing dropped": (
        _mask_mistake(lambda s, p, rng: np.ones(s, dtype=bool)),
        "Nothing is dropped",
    ),
    "no ValueError": (lambda s, p, *, rng: rng.random(s) < 1 - p, "must raise ValueError"),
    "returns a list": (
        _mask_mistake(lambda s, p, rng: (rng.random(s) < 1 - p).tolist()),
        "must return a boolean numpy array",
    ),
}


@pytest.mark.parametrize("mistake", MASK_MISTAKES)
def test_each_sample_mask_mistake_fails_with_its_message(mistake):
    fn, message = MASK_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("sample_mask", fn, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "True = dropped",
        "float 0/1 mask",
        "global np.random",
        "exactly n * p_drop dropped per row",
        "exactly n * p_drop dropped per call",
        "no ValueError",
    ],
)
def test_the_visible_self_check_already_catches_the_common_mask_mistakes(mistake):
    fn, message = MASK_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("sample_mask", fn, seed=2026, hidden=False)


def test_unimplemented_sample_mask_says_so():
    def sample_mask(shape, p_drop, *, rng):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("sample_mask", sample_mask, seed=0, hidden=False)


def test_a_crash_in_sample_mask_is_reported_with_its_line():
    def sample_mask(shape, p_drop, *, rng):
        return rng.random(shape) < keep_prob  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    with pytest.raises(CheckFailure, match=r"raised NameError.*keep_prob"):
        run("sample_mask", sample_mask, seed=0, hidden=False)


# --- prob_exactly_dropped ---------------------------------------------------------------------


def prob_by_lgamma(n, k, p_drop):
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    _check_p(p_drop)
    if not 0 <= k <= n:
        return 0.0
    if p_drop == 0:
        return float(k == 0)
    return math.exp(
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p_drop)
        + (n - k) * math.log(1 - p_drop)
    )


def prob_by_scipy(n, k, p_drop):
    if n < 0 or not 0 <= p_drop < 1:
        raise ValueError("n must be >= 0 and p_drop in [0, 1)")
    return stats.binom.pmf(k, n, p_drop)  # a numpy float64, 0 outside [0, n]


def prob_by_exact_fractions(n, k, p_drop):
    if n < 0 or not 0 <= p_drop < 1:
        raise ValueError("bad argument")
    if k < 0 or k > n:
        return 0.0
    p = Fraction(p_drop)
    return float(math.comb(n, k) * p**k * (1 - p) ** (n - k))


def prob_by_log_sums(n, k, p_drop):
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= p_drop < 1.0:
        raise ValueError("p_drop must be in [0, 1)")
    if k < 0 or k > n:
        return 0.0
    small = min(k, n - k)  # log C(n, k) as a sum of logs of the ratio's factors
    log_comb = float(
        np.sum(np.log(np.arange(n - small + 1, n + 1))) - np.sum(np.log(np.arange(1, small + 1)))
    )
    with np.errstate(divide="ignore"):
        log_p = np.log(p_drop)
    return float(np.exp(log_comb + (k * log_p if k else 0.0) + (n - k) * np.log1p(-p_drop)))


@pytest.mark.parametrize(
    "fn", [prob_by_lgamma, prob_by_scipy, prob_by_exact_fractions, prob_by_log_sums]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_prob_exactly_dropped_passes(fn, seed):
    run("prob_exactly_dropped", fn, seed=seed, hidden=True)


# more textbook ways: each guards n, p_drop, k outside [0, n] and p_drop = 0 the same way


def _sound(log_pmf):
    """A prob_exactly_dropped that computes exp(log_pmf(n, k, p_drop, q_drop)) in the range
    where logs are defined."""

    def prob_exactly_dropped(n, k, p_drop):
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        _check_p(p_drop)
        if not 0 <= k <= n:
            return 0.0
        if p_drop == 0:
            return float(k == 0)
        return float(math.exp(log_pmf(n, k, p_drop, 1.0 - p_drop)))

    return prob_exactly_dropped


def _log_recursion(n, k, p, q):
    """log P(j) = log P(j - 1) + log((n - j + 1) / j) + log(p / q) from log P(0) = n log q, one
    step at a time: the longest chain of roundings of all."""
    log_prob = n * math.log(q)
    for j in range(1, k + 1):
        log_prob += math.log(n - j + 1) - math.log(j) + math.log(p) - math.log(q)
    return log_prob


def _log_factors_one_by_one(n, k, p, q):
    log_prob = 0.0
    for j in range(1, k + 1):
        log_prob += math.log(n - k + j) - math.log(j)
    return log_prob + k * math.log(p) + (n - k) * math.log(q)


def _log_gammaln(n, k, p, q):
    from scipy.special import gammaln

    return (
        gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + k * np.log(p) + (n - k) * np.log(q)
    )


def _log_betaln(n, k, p, q):
    """log C(n, k) = -log(n + 1) - log B(n - k + 1, k + 1)."""
    from scipy.special import betaln

    log_comb = -math.log(n + 1) - betaln(n - k + 1, k + 1)
    return log_comb + k * math.log(p) + (n - k) * math.log1p(-p)


def _log_of_the_exact_coefficient(n, k, p, q):
    """math.log takes Python's exact integers of any size."""
    return math.log(math.comb(n, k)) + k * math.log(p) + (n - k) * math.log(q)


def _scipy_logpmf(n, k, p, q):
    return stats.binom.logpmf(k, n, p)


PROB_ALTERNATIVES = {
    "log-space recursion": _sound(_log_recursion),
    "log of the factors of C(n, k), one by one": _sound(_log_factors_one_by_one),
    "scipy.special.gammaln": _sound(_log_gammaln),
    "scipy.special.betaln": _sound(_log_betaln),
    "log of math.comb": _sound(_log_of_the_exact_coefficient),
    "exp of binom.logpmf": _sound(_scipy_logpmf),
}


@pytest.mark.parametrize("way", PROB_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_textbook_binomial_pmf_passes(way, seed):
    run("prob_exactly_dropped", PROB_ALTERNATIVES[way], seed=seed, hidden=True)


def test_the_pmf_tolerance_comes_from_the_log_terms_and_still_catches_the_normal_approximation():
    from autograder.exercises.nb02_bernoulli_binomial import _pmf_tolerance
    from course_lib import stats as course_stats

    # grows with n and the log terms: from rounding of a few terms to a sum of 80 000
    assert _pmf_tolerance(10, 0.2) < 1e-11
    assert _pmf_tolerance(1024, 0.5) < 2e-8
    assert _pmf_tolerance(20_000, 0.5) < 1e-5
    # the visible cases are far from the normal approximation: 700 tolerances at n = 2000
    for n, k, p_drop in [(1024, 512, 0.5), (10, 3, 0.2), (50, 40, 0.7), (2000, 1000, 0.5)]:
        exact = stats.binom.pmf(k, n, p_drop)
        for guess in course_stats.binomial_normal_pmf(n, k, p_drop):
            assert abs(guess - exact) > 700 * _pmf_tolerance(n, p_drop) * exact


def test_a_subnormal_probability_is_judged_to_its_last_bit():
    """0.5**1024 = 5.6e-309 is below the smallest normal number: computed, it passes; 0.0 does
    not (the far tail of a layer is small, not impossible)."""
    from autograder.exercises.nb02_bernoulli_binomial import _same_probability

    exact = 0.5**1024
    assert _same_probability(math.exp(1024 * math.log(0.5)), exact, 1024, 0.5)
    assert _same_probability(prob_by_lgamma(1024, 0, 0.5), exact, 1024, 0.5)
    assert not _same_probability(0.0, exact, 1024, 0.5)


def _prob_mistake(formula):
    def prob_exactly_dropped(n, k, p_drop):
        if n < 0:
            raise ValueError("n must be >= 0")
        _check_p(p_drop)
        if not 0 <= k <= n:
            return 0.0
        return formula(n, k, p_drop)

    return prob_exactly_dropped


def _float_factorial(n):
    return float(np.prod(np.arange(1, n + 1, dtype=float)))


PROB_MISTAKES = {
    "p_drop and keep_prob swapped": (
        _prob_mistake(lambda n, k, p: math.comb(n, k) * (1 - p) ** k * p ** (n - k)),
        "swapped",
    ),
    "k counted as kept": (_prob_mistake(lambda n, k, p: stats.binom.pmf(k, n, 1 - p)), "KEPT"),
    "float factorials overflow to nan": (
        _prob_mistake(
            lambda n, k, p: (
                _float_factorial(n)
                / (_float_factorial(k) * _float_factorial(n - k))
                * p**k
                * (1 - p) ** (n - k)
            )
        ),
        "nan or inf comes from overflow",
    ),
    "math.comb times powers overflows beyond 1024": (
        _prob_mistake(lambda n, k, p: math.comb(n, k) * p**k * (1 - p) ** (n - k)),
        "171! already overflows",
    ),
    "normal approximation": (
        _prob_mistake(lambda n, k, p: stats.norm.pdf(k, n * p, math.sqrt(n * p * (1 - p)))),
        "normal approximation",
    ),
    "normal approximation with continuity correction": (
        _prob_mistake(
            lambda n, k, p: (
                stats.norm.cdf(k + 0.5, n * p, math.sqrt(n * p * (1 - p)))
                - stats.norm.cdf(k - 0.5, n * p, math.sqrt(n * p * (1 - p)))
            )
        ),
        "normal approximation",
    ),
    "no special case for k outside [0, n]": (
        lambda n, k, p: math.exp(
            math.lgamma(n + 1)
            - math.lgamma(k + 1)
            - math.lgamma(n - k + 1)
            + k * math.log(p)
            + (n - k) * math.log1p(-p)
        ),
        "outside \\[0, n\\]",
    ),
    "0 * log(0) at p_drop = 0": (
        _prob_mistake(
            lambda n, k, p: float(
                np.exp(
                    math.lgamma(n + 1)
                    - math.lgamma(k + 1)
                    - math.lgamma(n - k + 1)
                    + k * np.log(np.float64(p))
                    + (n - k) * np.log1p(-p)
                )
            )
        ),
        "p_drop = 0",
    ),
    "math.log(0) at p_drop = 0": (
        _prob_mistake(
            lambda n, k, p: math.exp(
                math.lgamma(n + 1)
                - math.lgamma(k + 1)
                - math.lgamma(n - k + 1)
                + k * math.log(p)
                + (n - k) * math.log1p(-p)
            )
        ),
        "handle it separately",
    ),
    "tiny probabilities rounded to 0": (
        _prob_mistake(lambda n, k, p: prob_by_lgamma(n, k, p) * (prob_by_lgamma(n, k, p) > 1e-300)),
        "should be positive came out as 0",
    ),
    "no ValueError": (
        lambda n, k, p: float(stats.binom.pmf(k, max(n, 0), min(max(p, 0), 1))),
        "must raise ValueError",
    ),
    "returns a string": (
        _prob_mistake(lambda n, k, p: f"{stats.binom.pmf(k, n, p):.4f}"),
        "returned a str",
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", PROB_MISTAKES)
def test_each_prob_exactly_dropped_mistake_fails_with_its_message(mistake):
    fn, message = PROB_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("prob_exactly_dropped", fn, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "p_drop and keep_prob swapped",
        "math.comb times powers overflows beyond 1024",
        "normal approximation",
        "no special case for k outside [0, n]",
    ],
)
def test_the_visible_self_check_already_catches_the_common_prob_mistakes(mistake):
    fn, message = PROB_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("prob_exactly_dropped", fn, seed=2026, hidden=False)


def test_underflowing_powers_are_named():
    def prob_exactly_dropped(n, k, p_drop):
        if n < 0:
            raise ValueError("n must be >= 0")
        _check_p(p_drop)
        if not 0 <= k <= n:
            return 0.0
        # the coefficient in logs, but the powers multiplied as floats first: 0.5**2000 == 0
        log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        with np.errstate(divide="ignore"):
            return float(np.exp(log_comb + np.log(p_drop**k * (1 - p_drop) ** (n - k))))

    with pytest.raises(CheckFailure, match="underflows"):
        run("prob_exactly_dropped", prob_exactly_dropped, seed=0, hidden=False)


def test_unimplemented_prob_exactly_dropped_says_so():
    def prob_exactly_dropped(n, k, p_drop):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("prob_exactly_dropped", prob_exactly_dropped, seed=0, hidden=False)


# --- dropped_count_range ----------------------------------------------------------------------


def _check_range_args(p_drop, coverage):
    _check_p(p_drop)
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")


def range_by_scipy_ppf(n, p_drop, coverage=0.95):
    _check_range_args(p_drop, coverage)
    law = stats.binom(n, p_drop)
    tail = (1 - coverage) / 2
    return int(law.ppf(tail)), int(law.ppf(1 - tail))


def range_by_cumulative_sum(n, p_drop, coverage=0.95):
    _check_range_args(p_drop, coverage)
    tail = (1 - coverage) / 2
    cdf = np.cumsum([prob_by_lgamma(n, k, p_drop) for k in range(n + 1)])
    lo = int(np.searchsorted(cdf, tail))
    hi = int(np.searchsorted(cdf, 1 - tail))
    return lo, min(hi, n)


def range_by_trimming_tails(n, p_drop, coverage=0.95):
    """Walk inward from both ends while the trimmed tail stays below the bound."""
    _check_range_args(p_drop, coverage)
    tail = (1 - coverage) / 2
    pmf = stats.binom.pmf(np.arange(n + 1), n, p_drop)
    lo, below = 0, 0.0
    while lo < n and below + pmf[lo] < tail:
        below += pmf[lo]
        lo += 1
    hi, above = n, 0.0
    while hi > 0 and above + pmf[hi] <= tail:
        above += pmf[hi]
        hi -= 1
    return np.int64(lo), np.int64(hi)


@pytest.mark.parametrize(
    "fn", [range_by_scipy_ppf, range_by_cumulative_sum, range_by_trimming_tails]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_dropped_count_range_passes(fn, seed):
    run("dropped_count_range", fn, seed=seed, hidden=True)


def _range_mistake(ends):
    def dropped_count_range(n, p_drop, coverage=0.95):
        _check_range_args(p_drop, coverage)
        return ends(n, p_drop, coverage)

    return dropped_count_range


def _shift(d_lo, d_hi):
    def ends(n, p, c):
        lo, hi = range_by_scipy_ppf(n, p, c)
        return max(lo + d_lo, 0), min(hi + d_hi, n)

    return ends


def _normal(n, p, c):
    z = stats.norm.isf((1 - c) / 2)
    sd = math.sqrt(n * p * (1 - p))
    return max(0, round(n * p - z * sd)), min(n, round(n * p + z * sd))


def _shortest(n, p, c):
    """The narrowest range with coverage >= c: not central when the law is lopsided."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, p)
    best = (0, n)
    for lo in range(n + 1):
        total = np.cumsum(pmf[lo:])
        hi = lo + int(np.searchsorted(total, c))
        if hi <= n and hi - lo < best[1] - best[0]:
            best = (lo, hi)
    return best


RANGE_MISTAKES = {
    "floats from scipy interval": (
        _range_mistake(lambda n, p, c: stats.binom.interval(c, n, p)),
        "must return two integers",
    ),
    "lo one too low": (_range_mistake(_shift(-1, 0)), "not tight: lo can be raised"),
    "hi one too high": (_range_mistake(_shift(0, 1)), "not tight: hi can be lowered"),
    "lo one too high": (_range_mistake(_shift(1, 0)), "lower tail.*lo is too high"),
    "hi one too low": (_range_mistake(_shift(0, -1)), "upper tail.*hi is too low"),
    "normal approximation": (_range_mistake(_normal), "normal approximation"),
    "coverage as one tail": (
        _range_mistake(lambda n, p, c: range_by_scipy_ppf(n, p, 2 * c - 1) if c > 0.5 else (0, n)),
        "Each tail got 1 - coverage",
    ),
    "one-sided range": (
        _range_mistake(lambda n, p, c: (0, int(stats.binom.ppf(c, n, p)))),
        "one-sided range",
    ),
    "shortest range, not central": (_range_mistake(_shortest), "not central"),
    "p_drop and keep_prob swapped": (
        _range_mistake(lambda n, p, c: range_by_scipy_ppf(n, 1 - p, c) if p else (0, 0)),
        "swapped",
    ),
    "kept count instead of dropped": (
        _range_mistake(lambda n, p, c: range_by_scipy_ppf(n, 1 - p, c) if p else (n, n)),
        "counted kept",
    ),
    "no ValueError for coverage": (
        lambda n, p, c=0.95: range_by_scipy_ppf(n, p, min(max(c, 1e-6), 1 - 1e-6)),
        "must raise ValueError",
    ),
    "returns one number": (
        _range_mistake(lambda n, p, c: int(n * p)),
        "must return a pair \\(lo, hi\\)",
    ),
}


@pytest.mark.parametrize("mistake", RANGE_MISTAKES)
def test_each_dropped_count_range_mistake_fails_with_its_message(mistake):
    fn, message = RANGE_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("dropped_count_range", fn, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "floats from scipy interval",
        "lo one too low",
        "hi one too low",
        "normal approximation",
        "coverage as one tail",
        "p_drop and keep_prob swapped",
    ],
)
def test_the_visible_self_check_already_catches_the_common_range_mistakes(mistake):
    fn, message = RANGE_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("dropped_count_range", fn, seed=2026, hidden=False)


def test_a_range_that_ignores_the_coverage_argument_fails():
    fn = _range_mistake(lambda n, p, c: range_by_scipy_ppf(n, p, 0.95))
    with pytest.raises(CheckFailure, match="should be"):
        run("dropped_count_range", fn, seed=0, hidden=True)


def test_unimplemented_dropped_count_range_says_so():
    def dropped_count_range(n, p_drop, coverage=0.95):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("dropped_count_range", dropped_count_range, seed=0, hidden=False)


def test_the_notebook_solutions_pass():
    """The solution cells of the notebook source, executed as they stand."""
    from autograder import build

    notebook = build.parse(build.SOURCES / "02_bernoulli_binomial.py")
    namespace: dict[str, Any] = {"np": np, "math": math}
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(cell.source, namespace)
    for name in ("sample_mask", "prob_exactly_dropped", "dropped_count_range"):
        run(name, namespace[name], seed=3, hidden=True)


# --- points: the behaviour, then the argument checks ------------------------------------------


@pytest.mark.parametrize(
    "name,correct,unchecked",
    [
        ("sample_mask", mask_by_comparison, MASK_MISTAKES["no ValueError"][0]),
        ("prob_exactly_dropped", prob_by_lgamma, PROB_MISTAKES["no ValueError"][0]),
        (
            "dropped_count_range",
            range_by_scipy_ppf,
            RANGE_MISTAKES["no ValueError for coverage"][0],
        ),
    ],
)
def test_a_missing_value_error_costs_only_the_argument_checks(name, correct, unchecked):
    assert_scored_in_parts(name, correct, unchecked, 2, seed=11)


# --- choose_layer_width (a judgement) ---------------------------------------------------------
# The verdict is deterministic (exact binomial probabilities): no false-failure probability to
# spend, and every accepted or rejected width below is so by the exact law.


def width_first_enough(p_drop, delta, alpha):
    """One width after the other, summing the Binomial pmf over the band."""
    n = 1
    while True:
        k = np.arange(n + 1)
        inside = np.abs(k - n * p_drop) <= n * delta + 1e-9 * n
        if stats.binom.pmf(k[inside], n, p_drop).sum() >= 1 - alpha:
            return n
        n += 1


def width_strict_band(p_drop, delta, alpha):
    """Reads "within" as strictly inside the band, in exact rational arithmetic."""
    p, d = Fraction(p_drop), Fraction(delta)
    n = 1
    while True:
        lo = math.floor(n * (p - d)) + 1
        hi = math.ceil(n * (p + d)) - 1
        inside = stats.binom.cdf(hi, n, p_drop) - stats.binom.cdf(lo - 1, n, p_drop)
        if inside >= 1 - alpha:
            return n
        n += 1


def width_from_which_all_work(p_drop, delta, alpha):
    """The smallest width beyond which every width works (a float, from NumPy)."""
    from course_lib.analysis import prob_fraction_within

    widths = np.arange(1, 20_000)
    short = widths[prob_fraction_within(widths, p_drop, delta) < 1 - alpha]
    return np.float64(short[-1] + 1)


def width_normal(p_drop, delta, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    return math.ceil(z * z * p_drop * (1 - p_drop) / delta**2)


def width_hoeffding(p_drop, delta, alpha):
    return math.ceil(math.log(2 / alpha) / (2 * delta**2))


def width_one_short(p_drop, delta, alpha):
    from course_lib.analysis import choose_layer_width

    return choose_layer_width(p_drop, delta, alpha) - 1


WIDTHS = [width_first_enough, width_strict_band, width_from_which_all_work]


@pytest.mark.parametrize("fn", WIDTHS)
@pytest.mark.parametrize("seed", range(4))
def test_every_defensible_width_passes(fn, seed):
    run("choose_layer_width", fn, seed=seed, hidden=True)


def test_the_slack_covers_the_other_readings_of_smallest_in_every_situation():
    from autograder.exercises.nb02_bernoulli_binomial import WIDTH_SLACK, _width_cases
    from course_lib.analysis import choose_layer_width

    ratios = [
        max(width_strict_band(*case), width_from_which_all_work(*case)) / choose_layer_width(*case)
        for seed in range(20)
        for case in _width_cases(seed, True)
    ]
    assert 1.0 <= max(ratios) <= 1 + WIDTH_SLACK
    # a loose bound stays outside the slack in every situation
    assert (
        min(
            width_hoeffding(*case) / choose_layer_width(*case)
            for seed in range(20)
            for case in _width_cases(seed, True)
        )
        > 1 + WIDTH_SLACK
    )


@pytest.mark.parametrize(
    "fn,message",
    [
        (width_normal, "That is the normal approximation"),
        (width_one_short, "more than alpha"),
        (width_hoeffding, "not the smallest width.*Hoeffding"),
        (lambda p, d, a: 1071.5, "whole number of units"),
        (lambda p, d, a: [1071], "whole number of units >= 1, got list"),
        (lambda p, d, a: 0, "whole number of units >= 1"),
    ],
)
def test_indefensible_widths_are_refused_naming_the_mistake(fn, message):
    with pytest.raises(CheckFailure, match=message):
        run("choose_layer_width", fn, seed=0, hidden=False)


def test_the_widths_quoted_in_the_answer():
    from course_lib.analysis import choose_layer_width, prob_fraction_within

    assert choose_layer_width(0.5, 0.05, 1e-3) == 1071
    assert width_normal(0.5, 0.05, 1e-3) == 1083
    assert 1 - prob_fraction_within(1083, 0.5, 0.05) > 1e-3


def test_the_reference_refuses_bad_arguments():
    from course_lib.analysis import choose_layer_width, prob_fraction_within

    for args, name in [((0.0, 0.05, 1e-3), "p_drop"), ((1.2, 0.05, 1e-3), "p_drop"),
                       ((0.5, 0.0, 1e-3), "delta"), ((0.5, 0.05, 1.0), "alpha")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            choose_layer_width(*args)
    with pytest.raises(ValueError, match="n must be an integer"):
        prob_fraction_within(0, 0.5, 0.1)
    with pytest.raises(ValueError, match="no layer width"):
        choose_layer_width(0.5, 1e-4, 1e-9)


@pytest.mark.slow
def test_a_choose_layer_width_that_calls_the_reference_scores_zero(tmp_path):
    """Graded in a sandboxed kernel: course_lib's reference does not exist there, so handing
    the choice to it scores 0 with a message naming the exercise; the rest scores in full."""
    from autograder.grading import grade_notebook
    from grading_helpers import submission, write

    notebook = "02_bernoulli_binomial"
    lazy = "from course_lib.analysis import choose_layer_width\n"
    path = write(
        submission(notebook, {"choose_layer_width_solution": lazy}, correct=True),
        tmp_path / f"{notebook}.ipynb",
    )
    graded = grade_notebook(path, seed=5, timeout=60)
    (lazy_test,) = [test for test in graded["tests"] if test["id"] == "choose_layer_width"]
    assert (lazy_test["points"], lazy_test["status"]) == (0, "failed")
    assert f"does not exist while notebook {notebook} is graded" in lazy_test["message"]
    assert "exercise choose_layer_width" in lazy_test["message"]
    others = [test for test in graded["tests"] if test["id"] != "choose_layer_width"]
    assert others and all(test["points"] == test["max_points"] for test in others), others


def test_the_notebook_states_the_slack_the_verdict_allows():
    from autograder.exercises.nb02_bernoulli_binomial import WIDTH_SLACK
    from test_prose import source

    assert f"at most {WIDTH_SLACK:.0%} above the exact smallest one" in source("02")

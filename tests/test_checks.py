"""course_lib.checks: the statistical assertions pass what they should, fail with a message that
states expectation, observation and alpha, and spend the alpha they state. (The checks of
dropout layers are the grader's: tests/test_kit.py.)"""

import math

import numpy as np
import pytest
from scipy import stats

from course_lib import checks
from course_lib.checks import CheckFailure

KEEP = 0.7


# --- the statistical primitives themselves --------------------------------------------------


def test_binomial_acceptance_tails_are_within_alpha():
    for n, p, alpha in [(1000, 0.3, 1e-9), (50, 0.9, 1e-3), (10_000, 0.5, 1e-6)]:
        lo, hi = checks.binomial_acceptance(n, p, alpha)
        law = stats.binom(n, p)
        assert law.cdf(lo - 1) <= alpha / 2 and law.sf(hi) <= alpha / 2
        assert law.cdf(lo) > alpha / 2 or lo == 0  # tight: one step in would exceed alpha/2


def test_false_failure_rate_matches_alpha_at_a_measurable_alpha():
    """At alpha = 0.05 the binomial check must fail about 5% of correct masks (at most, since
    the law is discrete): over 4000 masks the failures are <= Binomial(4000, 0.05)'s 1e-9
    quantile; and more than a handful, so the check is not vacuous."""
    rng = np.random.default_rng(0)
    n = 500
    failures = 0
    for _ in range(4000):
        mask = rng.random(n) < KEEP
        try:
            checks.assert_binomial_count(int(mask.sum()), n, KEEP, alpha=0.05)
        except CheckFailure:
            failures += 1
    assert 0.02 * 4000 < failures <= checks.binomial_acceptance(4000, 0.05, 1e-9)[1]


def test_hoeffding_and_bernstein_radii():
    assert checks.hoeffding_radius(100, 1.0, 0.05) == pytest.approx(math.sqrt(math.log(40) / 200))
    t = checks.bernstein_radius(1000, 0.25, 1.0, 1e-9)
    log_term = math.log(2e9)
    assert 1000 * t**2 == pytest.approx(log_term * (2 * 0.25 + 2 * t / 3))
    assert t < checks.hoeffding_radius(1000, 2.0, 1e-9)


def test_mean_check_rejects_values_outside_the_declared_range():
    with pytest.raises(CheckFailure, match=r"every value must lie in \[0, 1\]"):
        checks.assert_mean_close([0.5, 2.0], 0.5, lower=0, upper=1)


def test_normal_variance_check():
    rng = np.random.default_rng(0)
    checks.assert_normal_variance(rng.normal(0, 2, 10_000), 4.0)
    with pytest.raises(CheckFailure, match="variance: expected 4"):
        checks.assert_normal_variance(rng.normal(0, 1.8, 10_000), 4.0)


def test_messages_state_expectation_observation_and_alpha():
    with pytest.raises(CheckFailure) as info:
        checks.assert_binomial_count(100, 1000, 0.7, what="kept units")
    text = str(info.value)
    assert "kept units: expected between" in text and "saw 100" in text and "1e-09" in text

"""course_lib.stats: each region or radius holds what its docstring says, exactly where the law
is known (tails computed with scipy) and empirically at a measurable alpha.

The empirical tests run ``M`` seeded experiments at ``alpha = 0.05`` and count how often the
statistic falls outside. That count is Binomial(M, q) with ``q`` the true exceedance
probability: ``q <= alpha`` for a bound (Hoeffding, Bernstein, the discrete binomial region), so
the count must stay below the upper end of Binomial(M, alpha)'s acceptance region at 1e-9;
``q = alpha`` exactly for an exact law (normal, chi-square, F), so the count must lie inside
the two-sided region at 1e-9. Each such assertion fails by chance with probability <= 1e-9.
"""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from course_lib import stats

M = 20_000  # experiments per empirical test
ALPHA = 0.05  # a false-failure probability large enough to be measured
TEST_ALPHA = 1e-9  # what each empirical assertion of this file may spend


def _at_most_alpha(exceedances: int) -> None:
    """``exceedances`` ~ Binomial(M, q) with q <= ALPHA (the upper tail grows with q)."""
    assert exceedances <= stats.binomial_acceptance(M, ALPHA, TEST_ALPHA)[1], exceedances


def _exactly(exceedances: int, q: float) -> None:
    lo, hi = stats.binomial_acceptance(M, q, TEST_ALPHA)
    assert lo <= exceedances <= hi, (exceedances, lo, hi)


# --- binomial acceptance regions -----------------------------------------------------------------


@pytest.mark.parametrize(
    "n,p,alpha",
    [
        (1000, 0.3, 1e-9),
        (50, 0.9, 1e-3),
        (10_000, 0.5, 1e-6),
        (1, 0.5, 0.5),
        (200, 0.01, 1e-9),
        (30, 0.0, 1e-9),
        (30, 1.0, 1e-9),
    ],
)
def test_binomial_acceptance_tails_are_within_alpha_and_tight(n, p, alpha):
    lo, hi = stats.binomial_acceptance(n, p, alpha)
    law = scipy_stats.binom(n, p)
    assert 0 <= lo <= hi <= n
    assert law.cdf(lo - 1) <= alpha / 2 and law.sf(hi) <= alpha / 2
    assert lo == 0 or law.cdf(lo) > alpha / 2  # one step in would spend more than alpha/2
    assert hi == n or law.sf(hi - 1) > alpha / 2


def test_binomial_acceptance_coverage_is_measured():
    n, p = 200, 0.3
    lo, hi = stats.binomial_acceptance(n, p, ALPHA)
    counts = np.random.default_rng(0).binomial(n, p, size=M)
    outside = int(np.count_nonzero((counts < lo) | (counts > hi)))
    _at_most_alpha(outside)
    law = scipy_stats.binom(n, p)
    _exactly(outside, float(law.cdf(lo - 1) + law.sf(hi)))


def test_the_upper_end_bounds_a_count_of_smaller_success_probability():
    """The note of binomial_acceptance: hi computed at p also holds for any q <= p."""
    n, p = 500, 0.2
    _, hi = stats.binomial_acceptance(n, p, 1e-6)
    for q in (0.0, 0.05, 0.1, 0.19, 0.2):
        assert scipy_stats.binom.sf(hi, n, q) <= 1e-6 / 2


def test_agreement_and_coincidence_probabilities():
    assert stats.agreement_probability(0.3) == pytest.approx(0.7**2 + 0.3**2)
    assert stats.agreement_probability(0.3) == pytest.approx(stats.agreement_probability(0.7))
    assert stats.agreement_probability(0.0) == stats.agreement_probability(1.0) == 1.0
    assert stats.coincidence_probability(10, 0.5) == pytest.approx(0.5**10)
    rng = np.random.default_rng(1)
    first, second = rng.random(M) < 0.3, rng.random(M) < 0.3
    agree = int(np.count_nonzero(first == second))
    lo, hi = stats.binomial_acceptance(M, stats.agreement_probability(0.3), TEST_ALPHA)
    assert lo <= agree <= hi


# --- means ---------------------------------------------------------------------------------------


def _mean_exceedances(values: np.ndarray, mu: float, radius: float) -> int:
    """values: (M, n) experiments; how many means lie at least ``radius`` from ``mu``."""
    return int(np.count_nonzero(np.abs(values.mean(axis=1) - mu) >= radius))


def test_hoeffding_formula_and_coverage():
    assert stats.hoeffding_radius(100, 1.0, 0.05) == pytest.approx(math.sqrt(math.log(40) / 200))
    n = 50
    rng = np.random.default_rng(2)
    for values, mu, width in (
        (rng.random((M, n)) < 0.5, 0.5, 1.0),  # the extreme law
        (rng.uniform(-1, 3, (M, n)), 1.0, 4.0),
    ):
        radius = stats.hoeffding_radius(n, width, ALPHA)
        _at_most_alpha(_mean_exceedances(values.astype(float), mu, radius))


def test_bernstein_formula_and_coverage():
    t = stats.bernstein_radius(1000, 0.25, 1.0, 1e-9)
    assert 1000 * t**2 == pytest.approx(math.log(2e9) * (2 * 0.25 + 2 * t / 3))
    assert t < stats.hoeffding_radius(1000, 2.0, 1e-9)
    n, p = 200, 0.1  # Bernoulli(0.1): variance 0.09, |X - mu| <= 0.9
    values = (np.random.default_rng(3).random((M, n)) < p).astype(float)
    radius = stats.bernstein_radius(n, p * (1 - p), 1 - p, ALPHA)
    assert radius < stats.hoeffding_radius(n, 1.0, ALPHA)
    _at_most_alpha(_mean_exceedances(values, p, radius))


def test_normal_mean_radius_has_exact_coverage():
    n, mu, variance = 10, 2.0, 3.0
    values = np.random.default_rng(4).normal(mu, math.sqrt(variance), (M, n))
    radius = stats.normal_mean_radius(n, variance, ALPHA)
    _exactly(_mean_exceedances(values, mu, radius), ALPHA)


def test_normal_central_probability():
    assert stats.normal_central_probability(1.959963984540054) == pytest.approx(0.95)
    assert stats.normal_central_probability(0.0) == 0.0
    z = np.random.default_rng(5).standard_normal(M)
    _exactly(int(np.count_nonzero(np.abs(z) < 0.25)), stats.normal_central_probability(0.25))


def test_close_pair_bound_holds_and_is_nearly_tight():
    variance, delta = 2.0, 0.05
    bound = stats.close_pair_probability_bound(delta, variance)
    exact = stats.normal_central_probability(delta / math.sqrt(2 * variance))
    assert exact <= bound <= 1.001 * exact
    rng = np.random.default_rng(6)
    x, y = rng.normal(1.0, math.sqrt(variance), (2, M))
    _exactly(int(np.count_nonzero(np.abs(x - y) < delta)), exact)
    assert stats.close_pair_probability_bound(1.0, 0.0) == 1.0


# --- variances -----------------------------------------------------------------------------------


def test_mean_square_range_has_exact_coverage():
    n, mu, variance = 8, -1.0, 0.5
    values = np.random.default_rng(7).normal(mu, math.sqrt(variance), (M, n))
    low, high = stats.mean_square_range(variance, n, ALPHA)
    squares = np.mean((values - mu) ** 2, axis=1)
    _exactly(int(np.count_nonzero((squares < low) | (squares > high))), ALPHA)


def test_variance_ratio_range_has_exact_coverage():
    n1, n2 = 6, 9
    rng = np.random.default_rng(8)
    first, second = rng.normal(0, 3, (M, n1)), rng.normal(0, 3, (M, n2))
    ratios = np.mean(first**2, axis=1) / np.mean(second**2, axis=1)
    low, high = stats.variance_ratio_range(n1, n2, ALPHA)
    _exactly(int(np.count_nonzero((ratios < low) | (ratios > high))), ALPHA)


# --- normal approximations -----------------------------------------------------------------------


def test_normal_approximations_of_the_binomial_law():
    density, corrected = stats.binomial_normal_pmf(1024, 512, 0.5)
    exact = scipy_stats.binom.pmf(512, 1024, 0.5)
    assert density != exact and math.isclose(density, exact, rel_tol=1e-3)
    assert math.isclose(corrected, exact, rel_tol=1e-3)
    low, high = stats.binomial_normal_range(1024, 0.5, 0.95)
    assert (low + high) / 2 == pytest.approx(512)
    exact_lo, exact_hi = scipy_stats.binom.interval(0.95, 1024, 0.5)
    assert abs(low - exact_lo) < 2 and abs(high - exact_hi) < 2


# --- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: stats.binomial_acceptance(10, 1.5),
        lambda: stats.binomial_acceptance(10, 0.5, alpha=0.0),
        lambda: stats.binomial_acceptance(-1, 0.5),
        lambda: stats.hoeffding_radius(0, 1.0),
        lambda: stats.bernstein_radius(10, -1.0, 1.0),
        lambda: stats.normal_mean_radius(10, float("nan")),
        lambda: stats.mean_square_range(1.0, 10, alpha=1.0),
        lambda: stats.variance_ratio_range(0, 5),
        lambda: stats.binomial_normal_pmf(10, 3, 0.0),
        lambda: stats.binomial_normal_range(10, 0.5, coverage=1.0),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_scipy_stats_is_imported_on_first_use_only():
    """Importing the course library leaves SciPy's statistics out (0.6 s of CPU that most
    notebooks and grading kernels never need); the first function that uses them imports them,
    with the same results."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "import course_lib.analysis, course_lib.checks, course_lib.stats\n"
        "before = 'scipy.stats' in sys.modules\n"
        "region = course_lib.stats.binomial_acceptance(1000, 0.3)\n"
        "from scipy import stats\n"
        "lo, hi = stats.binom.interval(1 - course_lib.stats.DEFAULT_ALPHA, 1000, 0.3)\n"
        "print(before, region == (int(lo), int(hi)))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "True"]

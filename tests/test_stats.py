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
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from course_lib import stats
from course_lib._validate import ArgumentTypeError

M = 20_000  # experiments per empirical test
ALPHA = 0.05  # a false-failure probability large enough to be measured
TEST_ALPHA = 1e-9  # what each empirical assertion of this file may spend
finite = st.floats(-1.0, 1.0)


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


def test_binomial_acceptance_has_scipys_ends():
    """The region is computed with NumPy alone; it has the ends of SciPy's binom.interval on
    2,000 seeded laws: n from 1 to 3 million, p anywhere in (0, 1) and within 1e-8 of either
    end, alpha from 1e-12 to 0.3."""
    rng = np.random.default_rng(2026)
    for _ in range(2000):
        n = int(10 ** rng.uniform(0, 6.5))
        p = float(
            rng.choice([rng.uniform(0, 1), 10 ** rng.uniform(-8, 0), 1 - 10 ** rng.uniform(-8, 0)])
        )
        alpha = float(10 ** rng.uniform(-12, -0.5))
        lo, hi = scipy_stats.binom.interval(1 - alpha, n, p)
        assert stats.binomial_acceptance(n, p, alpha) == (max(int(lo), 0), int(hi)), (n, p, alpha)


def test_binomial_acceptance_does_not_import_scipy_stats():
    """The grading processes call it in the checks of random masks: importing scipy.stats
    would cost each of them 0.7 s of CPU."""
    code = (
        "import sys; from course_lib import stats; stats.binomial_acceptance(4096, 0.3); "
        "print('scipy.stats' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


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


def test_binomial_acceptance_has_a_largest_n():
    """Beyond MAX_ACCEPTANCE_N the region is no longer exact and its arrays grow (75 MiB at
    10**12, 2.3 GiB at 10**15); up to it, it is SciPy's."""
    n = stats.MAX_ACCEPTANCE_N
    lo, hi = scipy_stats.binom.interval(1 - 1e-9, n, 0.5)
    assert stats.binomial_acceptance(n, 0.5) == (int(lo), int(hi))
    for too_many in (n + 1, 10**12, 10**30):
        with pytest.raises(ValueError, match=r"n must be an integer in \[0, 1e\+08\]"):
            stats.binomial_acceptance(too_many, 0.5)


@pytest.mark.parametrize(
    "call,error,pattern",
    [
        (
            lambda: stats.normal_central_probability(float("nan")),
            ValueError,
            r"z must be a real number \(not NaN\), got nan",
        ),
        (
            lambda: stats.normal_central_probability("1.0"),  # pyright: ignore[reportArgumentType] - the wrong type under test
            ArgumentTypeError,
            r"z must be a real number \(not NaN\), got '1.0'",
        ),
        (
            lambda: stats.binomial_normal_pmf(10, float("nan"), 0.5),  # pyright: ignore[reportArgumentType] - the wrong type under test
            ArgumentTypeError,
            r"k must be an integer in \[0, 10\] \(a value of K\), got nan",
        ),
        (
            lambda: stats.binomial_normal_pmf(10, 2.5, 0.5),  # pyright: ignore[reportArgumentType] - the wrong type under test
            ArgumentTypeError,
            r"k must be an integer in \[0, 10\]",
        ),
        (
            lambda: stats.binomial_normal_pmf(10, 10**30, 0.5),
            ValueError,
            r"k must be an integer in \[0, 10\] \(a value of K\), got 10000",
        ),
        (
            lambda: stats.binomial_normal_pmf(10, 3, 0.0),
            ValueError,
            r"p must be in \(0, 1\) for a normal approximation, got 0.0",
        ),
    ],
)
def test_bad_arguments_are_named_with_their_range(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_normal_central_probability_at_the_ends():
    assert stats.normal_central_probability(math.inf) == 1.0
    assert stats.normal_central_probability(-math.inf) == 0.0
    z = np.float32(0.25)  # a NumPy number is a real number too
    assert stats.normal_central_probability(z) == pytest.approx(0.1974, abs=1e-4)  # pyright: ignore[reportArgumentType]


# --- t-intervals and paired comparisons ----------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 10, 30])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_t_interval_is_scipys(n, confidence):
    values = np.random.default_rng(n).normal(1.0, 2.0, n)
    interval = stats.t_interval(values, confidence)
    expected = scipy_stats.ttest_1samp(values, 0.0).confidence_interval(confidence)
    assert interval.df == n - 1 and interval.confidence == confidence
    assert interval.low == pytest.approx(expected.low, rel=1e-12, abs=1e-12)
    assert interval.high == pytest.approx(expected.high, rel=1e-12, abs=1e-12)
    assert interval.mean == pytest.approx(values.mean())
    assert interval.standard_error == pytest.approx(scipy_stats.sem(values))
    assert interval.half_width == pytest.approx(
        scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * scipy_stats.sem(values)
    )


def _misses(values: np.ndarray, half_widths: np.ndarray) -> int:
    """How many intervals ``mean -/+ half_width`` of the rows of ``values`` miss the mean 0."""
    return int(np.count_nonzero(np.abs(values.mean(axis=1)) > half_widths))


def test_t_interval_has_exact_coverage_with_n_minus_1_degrees_of_freedom():
    """M experiments of 3 N(0, 1) values: the 95% t-interval misses the mean 0 in exactly 5% of
    them, so the count of misses is Binomial(M, 0.05) (false-failure probability TEST_ALPHA).
    The same interval with the quantile of df = n or df = n - 2 (or the normal one) misses it
    in about 9%, 0.3% and 21% of them, far outside the acceptance region: the test fails if
    df were wrong."""
    n = 3
    values = np.random.default_rng(20).standard_normal((M, n))
    intervals = [stats.t_interval(row, 0.95) for row in values]
    assert {interval.df for interval in intervals} == {n - 1}
    half_widths = np.array([interval.half_width for interval in intervals])
    _exactly(_misses(values, half_widths), 0.05)
    lo, hi = stats.binomial_acceptance(M, 0.05, TEST_ALPHA)
    sem = values.std(axis=1, ddof=1) / math.sqrt(n)
    for wrong in (
        scipy_stats.t.ppf(0.975, n),
        scipy_stats.t.ppf(0.975, n - 2),
        scipy_stats.norm.ppf(0.975),
    ):
        assert not lo <= _misses(values, wrong * sem) <= hi


@pytest.mark.parametrize("n", [2, 3, 5, 10, 25])
def test_paired_comparison_is_scipys_paired_t_test(n):
    rng = np.random.default_rng(100 + n)
    shared = rng.normal(0.0, 1.0, n)  # what a seed gives both configurations
    a, b = shared + rng.normal(0.3, 0.2, n), shared + rng.normal(0.0, 0.2, n)
    comparison = stats.paired_comparison(a, b, 0.9)
    expected = scipy_stats.ttest_rel(a, b)
    assert comparison.df == n - 1 == expected.df
    assert comparison.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval(0.9)
    assert (comparison.low, comparison.high) == pytest.approx((interval.low, interval.high))
    np.testing.assert_allclose(comparison.differences, a - b)
    assert comparison.mean == pytest.approx(np.mean(a - b))
    # pairing removes the shared part: the paired interval is narrower than an unpaired one
    assert comparison.high - comparison.low < 2 * stats.t_interval(a, 0.9).half_width
    for alternative, p_value in (("greater", comparison.p_greater), ("less", comparison.p_less)):
        expected_one_sided = scipy_stats.ttest_rel(a, b, alternative=alternative).pvalue
        assert p_value == pytest.approx(expected_one_sided, rel=1e-9)
    assert stats.paired_t_statistic(a - b) == pytest.approx(expected.statistic, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_one_sided_p_values_are_scipys_either_way(seed):
    """Both signs of the mean difference, and p_greater + p_less = 1 (a continuous law)."""
    rng = np.random.default_rng(300 + seed)
    a = rng.normal(0.05, 0.01, size=10)
    b = a - rng.normal(0.004 * (-1) ** seed, 0.005, size=10)
    comparison = stats.paired_comparison(a, b)
    for alternative in stats.ALTERNATIVES:
        ours = stats.paired_t_p_value(a - b, alternative)
        assert ours == pytest.approx(
            scipy_stats.ttest_rel(a, b, alternative=alternative).pvalue, rel=1e-9
        )
    assert comparison.p_greater + comparison.p_less == pytest.approx(1.0)
    assert comparison.p_value == pytest.approx(2 * min(comparison.p_greater, comparison.p_less))


@given(pairs=st.lists(st.tuples(finite, finite), min_size=2, max_size=8))
def test_paired_comparison_reads_the_differences_seed_by_seed(pairs):
    a, b = (np.array(values) for values in zip(*pairs))
    comparison = stats.paired_comparison(list(a), list(b))
    np.testing.assert_array_equal(comparison.differences, a - b)
    assert comparison.mean == pytest.approx(np.mean(a - b), abs=1e-15)
    assert comparison.df == len(pairs) - 1
    if np.ptp(a - b) > 0:
        assert comparison.standard_error == pytest.approx(
            np.std(a - b, ddof=1) / math.sqrt(len(pairs)), abs=1e-15
        )
    swapped = stats.paired_comparison(b, a)
    assert swapped.mean == pytest.approx(-comparison.mean, abs=1e-15)
    assert swapped.p_value == pytest.approx(comparison.p_value)
    assert swapped.p_greater == pytest.approx(comparison.p_less)


def test_paired_comparison_by_hand():
    comparison = stats.paired_comparison(np.array([0.03, 0.02, 0.04]), [0.02, 0.02, 0.03])
    assert comparison.mean == pytest.approx(0.02 / 3)
    np.testing.assert_allclose(comparison.differences, [0.01, 0.0, 0.01])
    assert comparison.standard_error == pytest.approx(np.std([0.01, 0, 0.01], ddof=1) / np.sqrt(3))
    # t = (0.02 / 3) / (0.01 / sqrt(3) / sqrt(3)) = 2, with 2 degrees of freedom
    assert stats.paired_t_statistic(comparison.differences) == pytest.approx(2.0)
    assert comparison.p_greater == pytest.approx(scipy_stats.t.sf(2.0, 2))


@pytest.mark.parametrize("n", [2, 3, 5, 9])
def test_sign_flip_p_value_is_scipys_exact_permutation_test(n):
    differences = np.random.default_rng(200 + n).normal(0.5, 1.0, n)
    expected = scipy_stats.permutation_test(
        (differences,),
        np.mean,
        permutation_type="samples",
        n_resamples=np.inf,  # pyright: ignore[reportArgumentType] - scipy's way to ask for all
        alternative="two-sided",
    ).pvalue
    assert stats.sign_flip_p_value(differences) == pytest.approx(expected)


def test_sign_flip_p_value_by_hand_and_at_ties():
    assert stats.sign_flip_p_value([1.0, 2.0, 3.0]) == 2 / 8  # +-(1+2+3) only
    assert stats.sign_flip_p_value([1.0, 1.0, -2.0]) == 1.0  # every |sum| >= 0
    assert stats.sign_flip_p_value([0.0, 0.0]) == 1.0
    # 0.1 + 0.2 and 0.3 are tied up to rounding: both patterns count
    assert stats.sign_flip_p_value([0.1, 0.2, -0.3, 1.0]) == stats.sign_flip_p_value(
        [1.0, 2.0, -3.0, 10.0]
    )
    comparison = stats.paired_comparison(np.ones(25), np.zeros(25))
    assert math.isnan(comparison.sign_flip_p_value)  # more than MAX_SIGN_FLIP_VALUES


def test_paired_p_values_hold_their_level():
    """Under no effect (differences N(0, 1)), P(p-value <= 0.05) is exactly 0.05 for the t-test
    (two-sided, and one-sided) and at most 0.05 for the sign-flip test (2**8 patterns: the
    p-value moves in steps of 1/128). The counts of M experiments: false-failure probability
    TEST_ALPHA each."""
    n = 8
    differences = np.random.default_rng(22).standard_normal((M, n))
    t_rejections = sum(stats.paired_t_p_value(row) <= ALPHA for row in differences)
    _exactly(int(t_rejections), ALPHA)
    one_sided = sum(stats.paired_t_p_value(row, "greater") <= ALPHA for row in differences)
    _exactly(int(one_sided), ALPHA)
    flips = sum(stats.sign_flip_p_value(row) <= ALPHA for row in differences[:4000])
    assert flips <= stats.binomial_acceptance(4000, ALPHA, TEST_ALPHA)[1]


def test_paired_p_value_where_the_differences_do_not_vary():
    assert stats.paired_t_p_value([0.0, 0.0, 0.0]) == 1.0
    assert stats.paired_t_p_value([0.0, 0.0, 0.0], "greater") == 0.5  # t = 0: no evidence
    assert stats.paired_t_p_value([0.2, 0.2, 0.2]) == 0.0
    assert stats.paired_t_statistic([0.2, 0.2]) == math.inf
    assert stats.paired_t_statistic([-0.2, -0.2]) == -math.inf
    comparison = stats.paired_comparison([0.5, 0.75], [0.25, 0.5])  # differences exactly 0.25
    assert comparison.p_value == 0.0 and comparison.low == comparison.high == 0.25
    assert comparison.p_greater == 0.0 and comparison.p_less == 1.0
    same = stats.paired_comparison([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    assert same.p_value == 1.0 and (same.low, same.high) == (0.0, 0.0)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: stats.t_interval([1.0]), "values must be a 1-D sequence of at least 2"),
        (lambda: stats.t_interval([[1.0, 2.0]]), "values must be a 1-D sequence"),
        (lambda: stats.t_interval([1.0, float("nan")]), "values must hold finite numbers"),
        (lambda: stats.t_interval(["a", "b"]), "values must be a sequence of numbers"),
        (lambda: stats.t_interval([1.0, 2.0], 1.0), r"confidence must be in \(0, 1\)"),
        (lambda: stats.t_interval([1.0, 2.0], 0), r"confidence must be in \(0, 1\)"),
        (
            lambda: stats.paired_comparison([1.0, 2.0], [1.0, 2.0, 3.0]),
            "a and b must hold one value",
        ),
        (lambda: stats.paired_comparison([1.0], [1.0]), "a must be a 1-D sequence"),
        (lambda: stats.paired_t_p_value([1.0]), "differences must be a 1-D sequence"),
        (
            lambda: stats.paired_t_p_value([1.0, 2.0], "worse"),
            "alternative must be one of 'two-sided', 'greater', 'less', got 'worse'",
        ),
        (lambda: stats.paired_t_statistic([1.0]), "differences must be a 1-D sequence"),
        (lambda: stats.paired_comparison([0.1], [0.2]), "a must be a 1-D sequence of at least 2"),
        (
            lambda: stats.paired_comparison([0.1, 0.2], [0.2, 0.3], 1.0),
            r"confidence must be in \(0, 1\)",
        ),
        (
            lambda: stats.paired_comparison([0.1, 0.2], [0.2, 0.3], 0.0),
            r"confidence must be in \(0, 1\)",
        ),
        (lambda: stats.paired_comparison(["a", "b"], [0.1, 0.2]), "a must be a sequence of"),
        (lambda: stats.sign_flip_p_value([]), "differences must be a 1-D sequence"),
        (lambda: stats.sign_flip_p_value(np.ones(21)), "at most 20 values"),
    ],
)
def test_bad_arguments_of_intervals_and_comparisons(call, pattern):
    with pytest.raises(ValueError, match=pattern):
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


@pytest.mark.parametrize("scale", [1e-179, 1e-300, 1e150])
def test_the_paired_test_does_not_depend_on_the_unit_even_where_squares_underflow(scale):
    """t and its p-values are unchanged when every difference is multiplied by one factor, down
    to differences whose squares underflow to 0 (hypothesis found 0 and 1.7e-179)."""
    a, b = np.array([0.3, 1.2, -0.4, 0.9]), np.array([0.1, 0.2, 0.5, -0.3])
    reference = stats.paired_comparison(a, b)
    scaled = stats.paired_comparison(a * scale, b * scale)
    for name in ("p_value", "p_greater", "p_less"):
        assert getattr(scaled, name) == pytest.approx(getattr(reference, name), rel=1e-12)
    assert scaled.standard_error == pytest.approx(scale * reference.standard_error, rel=1e-12)

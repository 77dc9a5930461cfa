"""The Binomial law of dropped units, counting, boosting factor and equivalent learning rate,
dropout as an adaptive L2 penalty."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from conftest import p_drops as p_drops_strategy
from course_lib import analysis
from course_lib.checks import assert_binomial_count, assert_mean_close
from course_lib.dropout import dropout_forward
from course_lib.masks import sample_mask

ALPHA = 1e-9  # false-failure probability of each statistical assertion below


def test_seed_number_exactly_half_of_1024_dropped():
    assert analysis.prob_exactly_dropped(1024, 512, 0.5) == pytest.approx(0.0249, abs=5e-5)
    # the same from the formula, with exact integers
    assert analysis.prob_exactly_dropped(1024, 512, 0.5) == pytest.approx(
        math.comb(1024, 512) / 2**1024, rel=1e-12
    )


@given(n=st.integers(0, 60), k=st.integers(-3, 63), p_drop=st.floats(0, 0.99))
def test_prob_exactly_dropped_matches_the_formula(n, k, p_drop):
    expected = math.comb(n, k) * p_drop**k * (1 - p_drop) ** (n - k) if 0 <= k <= n else 0.0
    assert analysis.prob_exactly_dropped(n, k, p_drop) == pytest.approx(
        expected, rel=1e-9, abs=1e-300
    )


@given(n=st.integers(1, 60), p_drop=st.floats(0.01, 0.99))
def test_probabilities_sum_to_one(n, p_drop):
    total = sum(analysis.prob_exactly_dropped(n, k, p_drop) for k in range(n + 1))
    assert total == pytest.approx(1.0, rel=1e-9)


@given(n=st.integers(0, 300), p_drop=st.floats(0, 0.99), coverage=st.floats(0.01, 0.999))
def test_dropped_count_range_is_central_and_covers(n, p_drop, coverage):
    lo, hi = analysis.dropped_count_range(n, p_drop, coverage)
    assert 0 <= lo <= hi <= n
    law = stats.binom(n, p_drop)
    tail = (1 - coverage) / 2
    assert law.cdf(lo - 1) <= tail + 1e-12 and law.sf(hi) <= tail + 1e-12
    assert law.cdf(hi) - law.cdf(lo - 1) >= coverage - 1e-12
    # and it is the tightest such range: moving either end inward breaks its tail bound
    assert lo == 0 or law.cdf(lo) >= tail - 1e-12
    assert hi == 0 or law.sf(hi - 1) > tail - 1e-12


def test_range_of_1024_at_half():
    lo, hi = analysis.dropped_count_range(1024, 0.5, 0.95)
    assert (lo, hi) == (481, 543)  # 512 +/- 1.96 * 16, on integers


def test_sampled_masks_follow_the_binomial_law():
    """Dropped counts of many sampled layers: each count is Binomial(n, p_drop); the number of
    layers whose count lands in the 95% range is Binomial(n_layers, coverage of that range)."""
    n, p_drop, n_layers = 1024, 0.5, 4000
    masks = sample_mask((n_layers, n), p_drop, rng=np.random.default_rng(2))
    dropped = n - masks.sum(axis=1)
    lo, hi = analysis.dropped_count_range(n, p_drop, 0.95)
    coverage = float(stats.binom.cdf(hi, n, p_drop) - stats.binom.cdf(lo - 1, n, p_drop))
    inside = int(np.sum((dropped >= lo) & (dropped <= hi)))
    assert_binomial_count(inside, n_layers, coverage, alpha=ALPHA)
    exactly_half = int(np.sum(dropped == 512))
    assert_binomial_count(
        exactly_half, n_layers, analysis.prob_exactly_dropped(n, 512, p_drop), alpha=ALPHA
    )


def test_relative_spread_shrinks_as_one_over_root_n():
    assert analysis.relative_spread(100, 0.5) == pytest.approx(0.1)
    assert analysis.relative_spread(10_000, 0.5) == pytest.approx(0.01)
    law = analysis.dropped_count_distribution(400, 0.2)
    assert analysis.relative_spread(400, 0.2) == pytest.approx(law.std() / law.mean())


def test_summarize_mask():
    summary = analysis.summarize_mask(np.array([[True, False], [True, True]]))
    assert (summary.n_units, summary.n_kept, summary.n_dropped) == (4, 3, 1)
    assert summary.kept_fraction == 0.75
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        analysis.summarize_mask(np.ones(3))


def test_seed_network_has_99_weights_and_20_biases():
    count = analysis.count_parameters([3, 7, 7, 3, 2, 1])
    assert (count.weights, count.biases, count.total) == (99, 20, 119)


@given(sizes=st.lists(st.integers(1, 50), min_size=2, max_size=6))
def test_count_parameters_matches_the_mlp(sizes):
    from course_lib.nn import MLP

    model = MLP(sizes, rng=np.random.default_rng(0))
    weights = sum(W.size for W in model.weights)
    biases = sum(b.size for b in model.biases)
    assert analysis.count_parameters(sizes) == (weights, biases)


def test_count_subnetworks():
    assert analysis.count_subnetworks([4, 3, 2], [0.5, 0.5]) == 2**7
    assert analysis.count_subnetworks([4, 3, 2], 0.5) == 2**3  # one rate: hidden layers only
    assert analysis.count_subnetworks([4, 3, 2], [0.2, 0.0]) == 2**4
    assert analysis.count_subnetworks([4, 3, 2], 0.0) == 1
    assert analysis.count_subnetworks([784, 1024, 1024, 10], [0.2, 0.5, 0.5]) == 2**2832


@pytest.mark.parametrize("rates,expected", [([0.5, 0.5], 32), ([0.5, 0.0], 4), (0.5, 8)])
def test_count_subnetworks_equals_the_masks_an_mlp_samples(rates, expected):
    """Collect the joint keep-masks an MLP draws over 3000 forward passes. Every one of the
    ``count`` patterns has probability >= 1/32 here, so one is missed with probability
    <= 32 * (31/32)**3000 < 1e-39."""
    from course_lib.nn import MLP

    sizes = [2, 3, 1]
    model = MLP(sizes, rates, rng=np.random.default_rng(0))
    for W, b in zip(model.weights, model.biases):
        # every pre-activation positive: a hidden layer's mask (ReLU and dropout share one,
        # positive and kept) is then its keep-mask
        W[...], b[...] = np.abs(W) + 0.1, 0.1
    rng = np.random.default_rng(1)
    patterns = set()
    for _ in range(3000):
        caches = model.forward(np.ones((1, 2)), training=True, rng=rng)[1]
        # the input's dropout, then each hidden layer's ReLU and dropout
        site_caches = [caches[0], *(activation for _, activation in caches[1:-1])]
        masks = [
            cache.mask if cache is not None and cache.mask is not None else np.ones((1, size), bool)
            for cache, size in zip(site_caches, sizes)
        ]
        patterns.add(tuple(np.concatenate([m.ravel() for m in masks])))
    assert len(patterns) == analysis.count_subnetworks(sizes, rates) == expected


@pytest.mark.parametrize("p_drop", [0.0, 0.2, 0.5, 0.8])
def test_boosting_factor_and_equivalent_lr(p_drop):
    keep_prob = 1 - p_drop
    assert analysis.boosting_factor(p_drop) == pytest.approx(1 / keep_prob)
    assert analysis.equivalent_standard_lr(0.1, p_drop) == pytest.approx(0.1 / keep_prob**2)
    assert analysis.equivalent_standard_lr(0.1, p_drop) == pytest.approx(
        0.1 * analysis.boosting_factor(p_drop) ** 2
    )


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: analysis.prob_exactly_dropped(-1, 0, 0.5), r"n must be an integer >= 0, got -1"),
        # a float where an int belongs, on purpose
        (
            lambda: analysis.prob_exactly_dropped(10.5, 0, 0.5),  # pyright: ignore[reportArgumentType]
            r"n must be an integer >= 0",
        ),
        (
            lambda: analysis.prob_exactly_dropped(10, 0.5, 0.5),  # pyright: ignore[reportArgumentType]
            r"k must be an integer",
        ),
        (lambda: analysis.prob_exactly_dropped(10, 1, 1.0), r"p_drop must be in \[0, 1\)"),
        (lambda: analysis.dropped_count_range(10, 0.5, 1.0), r"coverage must be in \(0, 1\)"),
        (lambda: analysis.dropped_count_range(10, 0.5, 0), r"coverage must be in \(0, 1\)"),
        (lambda: analysis.count_parameters([3]), r"layer_sizes must list at least 2 layers"),
        (lambda: analysis.count_parameters([3, 0, 2]), r"layer_sizes\[1\] must be an integer >= 1"),
        (lambda: analysis.count_parameters("32"), r"layer_sizes must be a sequence"),
        (lambda: analysis.count_subnetworks([3, 4, 2], [0.5]), r"p_drop must have one rate per"),
        (lambda: analysis.count_subnetworks([3, 4, 2], [0.5, 1.5]), r"p_drop\[1\] must be in"),
        (lambda: analysis.equivalent_standard_lr(0, 0.5), r"lr must be a finite number > 0"),
        (lambda: analysis.equivalent_standard_lr(0.1, -0.1), r"p_drop must be in \[0, 1\)"),
        (lambda: analysis.boosting_factor(1.0), r"p_drop must be in \[0, 1\), got 1.0"),
        (lambda: analysis.relative_spread(10, 0.0), r"p_drop must be in \(0, 1\)"),
    ],
)
def test_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


WIDER_THAN_SCIPY = r"n must be an integer in \[0, 1e\+12\] \(where SciPy's binomial law is exact\)"


@pytest.mark.parametrize(
    "n",
    # 10**16 gave "cannot convert float NaN to integer", 10**30 a ufunc error; 10**18 is left
    # out on purpose: before the bound it hung inside SciPy, where Ctrl-C cannot reach
    [analysis.MAX_BINOMIAL_N + 1, 10**16, 10**30],
)
def test_the_binomial_law_of_a_layer_is_refused_where_scipy_is_not_exact(n):
    with pytest.raises(ValueError, match=WIDER_THAN_SCIPY):
        analysis.dropped_count_range(n, 0.5)
    with pytest.raises(ValueError, match=WIDER_THAN_SCIPY):
        analysis.prob_exactly_dropped(n, 3, 0.5)
    with pytest.raises(ValueError, match=WIDER_THAN_SCIPY):
        analysis.dropped_count_distribution(n, 0.5)


def test_the_widest_layer_scipy_describes_is_answered():
    n = analysis.MAX_BINOMIAL_N
    lo, hi = analysis.dropped_count_range(n, 0.5)
    assert (lo, hi) == tuple(int(end) for end in stats.binom.interval(0.95, n, 0.5))
    assert 0.0 < analysis.prob_exactly_dropped(n, n // 2, 0.5) < 1e-6


@pytest.mark.parametrize("k", [-1, 11, 10**30, -(10**30), np.int64(2**62)])
def test_any_integer_k_outside_the_layer_has_probability_zero(k):
    assert analysis.prob_exactly_dropped(10, k, 0.3) == 0.0


# --- dropout on the inputs of a linear model ----------------------------------------------------

small_designs = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
    lambda nd: st.tuples(
        hnp.arrays(np.float64, nd, elements=st.floats(-10, 10)),
        hnp.arrays(np.float64, nd[:1], elements=st.floats(-10, 10)),
        hnp.arrays(np.float64, nd[1:], elements=st.floats(-10, 10)),
    )
)


@given(design=small_designs, p_drop=st.floats(0, 0.9))
def test_expected_dropout_loss_is_the_average_over_every_mask(design, p_drop):
    # all 2**(N*D) masks, each with its exact probability: the closed form is an identity
    X, y, w = design
    keep_prob = 1 - p_drop
    total = 0.0
    for bits in itertools.product((False, True), repeat=X.size):
        mask = np.array(bits).reshape(X.shape)
        probability = keep_prob ** mask.sum() * p_drop ** (~mask).sum()
        total += probability * np.sum((y - (X * mask / keep_prob) @ w) ** 2)
    closed = analysis.expected_dropout_loss(X, y, w, p_drop)
    scale = (np.abs(y).sum() + np.abs(X).sum() * np.abs(w).sum() / keep_prob) ** 2
    assert closed == pytest.approx(total, rel=1e-9, abs=1e-12 * scale)


@given(
    X=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        st.tuples(st.integers(0, 6), st.integers(0, 4)),
        elements=st.floats(-10, 10, width=32),
    ),
    p_drop=p_drops_strategy,
    factor=st.floats(0.1, 10),
)
def test_dropout_penalties_shape_sign_and_scale(X, p_drop, factor):
    penalties = analysis.dropout_penalties(X, p_drop)
    assert penalties.shape == X.shape[1:] and penalties.dtype == X.dtype
    assert np.all(penalties >= 0)
    wide = X.astype(np.float64)
    # float32 rounds each square and sum; squares below the normal range underflow
    np.testing.assert_allclose(
        penalties,
        p_drop / (1 - p_drop) * np.sum(wide**2, axis=0),
        rtol=1e-5 if X.dtype == np.float32 else 1e-12,
        atol=20 * X.shape[0] * float(np.finfo(X.dtype).smallest_normal),
    )
    # an input ten times larger is penalised a hundred times more: L2 that adapts to the scale
    scaled = analysis.dropout_penalties(factor * wide, p_drop)
    # (a subnormal p_drop gives subnormal penalties, which carry fewer significant bits)
    np.testing.assert_allclose(
        scaled,
        factor**2 * analysis.dropout_penalties(wide, p_drop),
        rtol=1e-12,
        atol=float(np.finfo(np.float64).smallest_normal),
    )
    if p_drop == 0:
        assert not penalties.any()


def test_expected_dropout_loss_matches_the_masks_of_dropout_forward():
    # the closed form against the course's own dropout layer; each sampled loss lies in
    # [0, upper] with upper = sum_i (|y_i| + sum_j |x_ij w_j| / keep_prob)**2 (Hoeffding)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    y, w = rng.standard_normal(6), np.array([1.5, -0.5, 0.4])
    thinned = dropout_forward(np.broadcast_to(X, (200_000, *X.shape)), 0.5, rng=rng)[0]
    losses = np.sum((y - thinned @ w) ** 2, axis=1)
    upper = float(np.sum((np.abs(y) + np.abs(X) @ np.abs(w) / 0.5) ** 2))
    assert_mean_close(
        losses, analysis.expected_dropout_loss(X, y, w, 0.5), lower=0.0, upper=upper, alpha=ALPHA
    )


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: analysis.dropout_penalties(np.ones((3, 2), dtype=int), 0.5),
            r"X must have a floating dtype",
        ),
        (lambda: analysis.dropout_penalties(np.ones(3), 0.5), r"X must have 2 dimensions \(N, D\)"),
        (lambda: analysis.dropout_penalties(np.ones((3, 2)), 1.0), r"p_drop must be in \[0, 1\)"),
        (
            lambda: analysis.expected_dropout_loss(np.ones((3, 2)), np.ones(2), np.ones(2), 0.5),
            r"y must have shape \(3,\) for X of shape \(3, 2\), got \(2,\)",
        ),
        (
            lambda: analysis.expected_dropout_loss(np.ones((3, 2)), np.ones(3), np.ones(3), 0.5),
            r"w must have shape \(2,\) for X of shape \(3, 2\), got \(3,\)",
        ),
        (
            lambda: analysis.expected_dropout_loss(
                np.ones((3, 2)), np.ones(3, dtype=int), np.ones(2), 0.5
            ),
            r"y must have a floating dtype",
        ),
        (
            lambda: analysis.expected_dropout_loss(np.ones((3, 2)), np.ones(3), np.ones(2), -0.2),
            r"p_drop must be in \[0, 1\), got -0.2",
        ),
    ],
)
def test_adaptive_l2_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- choose_layer_width, prob_fraction_within, choose_keep_probs ------------------------------


@pytest.mark.parametrize(
    "p_drop,delta,alpha", [(0.5, 0.05, 1e-3), (0.1, 0.05, 1e-3), (0.3, 0.1, 0.05), (0.9, 0.2, 0.1)]
)
def test_choose_layer_width_is_the_first_width_whose_exact_band_probability_is_enough(
    p_drop, delta, alpha
):
    from course_lib.analysis import choose_layer_width, prob_fraction_within

    def by_pmf(n):
        k = np.arange(n + 1)
        return stats.binom.pmf(k[np.abs(k / n - p_drop) <= delta + 1e-12], n, p_drop).sum()

    n = choose_layer_width(p_drop, delta, alpha)
    assert by_pmf(n) >= 1 - alpha
    assert all(by_pmf(m) < 1 - alpha for m in range(1, n))
    assert math.isclose(prob_fraction_within(n, p_drop, delta), by_pmf(n), rel_tol=1e-12)
    widths = np.arange(1, n + 1)
    assert np.shape(prob_fraction_within(widths, p_drop, delta)) == widths.shape


def test_choose_keep_probs_gives_one_rate_per_site_highest_where_the_weights_are():
    from course_lib.analysis import choose_keep_probs

    keep = choose_keep_probs([3, 7, 7, 3, 2, 1])
    assert len(keep) == 5 and keep[0] == 1.0 and keep[1] == min(keep) == 0.5
    assert all(0.5 <= k <= 1 for k in keep)
    assert all((1 - k) ** width <= 0.1 + 1e-12 for k, width in zip(keep[1:], [7, 7, 3, 2]))

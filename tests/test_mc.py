"""MC dropout prediction and thinned networks, entropies, likelihood, error and calibration."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import mc
from course_lib.checks import assert_binomial_count, assert_mean_close
from course_lib.nn import MLP

ALPHA = 1e-9  # false-failure probability of each statistical assertion below


def test_mc_predict_mean_and_std_of_a_known_law():
    # predict_fn returns Uniform(0, 1) noise of shape (N,): mean 1/2, std 1/sqrt(12)
    mean, std, samples = mc.mc_predict(
        lambda X, rng: rng.random(len(X)),
        np.zeros((500, 1)),
        400,
        rng=np.random.default_rng(0),
        return_samples=True,
    )
    assert samples.shape == (400, 500) and mean.shape == std.shape == (500,)
    np.testing.assert_array_equal(mean, samples.mean(axis=0))
    # pooled over inputs: 200000 uniform values, Hoeffding on [0, 1]
    assert_mean_close(samples, 0.5, lower=0, upper=1, alpha=ALPHA)
    assert np.mean(std) == pytest.approx(np.sqrt(1 / 12), rel=0.01)


def test_mc_predict_draws_a_new_mask_each_sample():
    model = MLP([4, 64, 3], 0.5, rng=np.random.default_rng(0), dtype=np.float64)
    X = np.random.default_rng(1).random((5, 4))
    mean, std, samples = mc.mc_predict(
        lambda X, rng: model.predict_proba(X, training=True, rng=rng),
        X,
        30,
        rng=np.random.default_rng(2),
        return_samples=True,
    )
    assert samples.shape == (30, 5, 3)
    assert np.all(std > 0)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    # reproducible from the seed
    again = mc.mc_predict(
        lambda X, rng: model.predict_proba(X, training=True, rng=rng),
        X,
        30,
        rng=np.random.default_rng(2),
    )[0]
    np.testing.assert_array_equal(mean, again)


def test_mc_predict_bad_n_samples():
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1, got 0"):
        mc.mc_predict(lambda X, rng: X, np.ones(2), 0, rng=np.random.default_rng(0))


def test_entropy_extremes():
    assert mc.predictive_entropy(np.array([0.0, 1.0, 0.0])) == 0.0
    assert mc.predictive_entropy(np.full(4, 0.25)) == pytest.approx(np.log(4))
    assert mc.predictive_entropy(np.array([[0.5, 0.5], [1.0, 0.0]])) == pytest.approx(
        [np.log(2), 0.0]
    )


probability_rows = hnp.arrays(
    np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)), elements=st.floats(0.01, 1.0)
).map(lambda a: a / a.sum(axis=-1, keepdims=True))


@given(probs=probability_rows)
def test_entropy_is_between_zero_and_log_k(probs):
    entropy = mc.predictive_entropy(probs)
    assert entropy.shape == probs.shape[:1]
    assert np.all(entropy >= -1e-12) and np.all(entropy <= np.log(probs.shape[1]) + 1e-12)


@given(
    samples=st.integers(2, 6)
    .flatmap(
        lambda s: hnp.arrays(
            np.float64,
            st.tuples(st.just(s), st.integers(1, 4), st.integers(2, 5)),
            elements=st.floats(0.01, 1.0),
        )
    )
    .map(lambda a: a / a.sum(axis=-1, keepdims=True))
)
def test_mutual_information_bounds(samples):
    mi = mc.mutual_information(samples)
    assert mi.shape == samples.shape[1:2]
    assert np.all(mi >= 0)
    assert np.all(mi <= mc.predictive_entropy(samples.mean(axis=0)) + 1e-12)


def test_mutual_information_zero_when_samples_agree_and_high_when_they_disagree():
    p = np.array([[0.7, 0.2, 0.1]])
    assert mc.mutual_information(np.stack([p, p, p])) == pytest.approx([0.0], abs=1e-15)
    # two confident samples that disagree: total entropy log 2, expected entropy 0
    disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert mc.mutual_information(disagree) == pytest.approx([np.log(2)])


def test_probability_validation():
    with pytest.raises(ValueError, match="probs must hold probability vectors"):
        mc.predictive_entropy(np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="prob_samples must have at least 3 dimensions"):
        mc.mutual_information(np.array([[0.5, 0.5]]))


def test_reliability_bins_by_hand():
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.5, 0.5]])
    y = np.array([0, 1, 0, 1, 1])
    bins = mc.reliability_bins(probs, y, n_bins=5)
    # confidences 0.95, 0.9, 0.6, 0.7, 0.5 in bins [0.4, 0.6), [0.6, 0.8) and [0.8, 1]
    np.testing.assert_array_equal(bins.counts, [0, 0, 1, 2, 2])
    assert bins.accuracy[4] == 0.5 and bins.confidence[4] == pytest.approx(0.925)
    # bin [0.6, 0.8): confidences 0.6 (correct) and 0.7 (correct)
    assert bins.accuracy[3] == 1.0 and bins.confidence[3] == pytest.approx(0.65)
    # the tie 0.5/0.5 predicts class 0, label 1: wrong
    assert bins.accuracy[2] == 0.0
    expected = (1 * 0.5 + 2 * 0.35 + 2 * 0.425) / 5
    assert mc.expected_calibration_error(probs, y, n_bins=5) == pytest.approx(expected)


def test_ece_is_small_for_calibrated_predictions():
    """Labels drawn from the predicted probabilities are calibrated by construction: in each of
    10 bins, the number correct is Binomial(n_b, mean confidence) (confidences within a bin
    differ, so the law is Poisson-binomial; binning by exact confidence value avoids that)."""
    rng = np.random.default_rng(0)
    confidences = rng.choice([0.55, 0.65, 0.75, 0.85, 0.95], size=200_000)
    probs = np.stack([confidences, 1 - confidences], axis=1)
    y = (rng.random(len(probs)) >= confidences).astype(int)  # class 0 with prob = confidence
    bins = mc.reliability_bins(probs, y, n_bins=10)
    for count, accuracy, confidence in zip(bins.counts, bins.accuracy, bins.confidence):
        if count:
            assert_binomial_count(round(accuracy * count), int(count), confidence, alpha=ALPHA)
    assert mc.expected_calibration_error(probs, y) < 0.01
    overconfident = np.stack(
        [np.minimum(confidences + 0.04, 1), 1 - np.minimum(confidences + 0.04, 1)], axis=1
    )
    assert mc.expected_calibration_error(overconfident, y) > 0.03


def test_accuracy_after_rejection():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    y = np.array([0, 0, 1, 1])  # the two least confident are wrong
    uncertainty = mc.predictive_entropy(probs)
    np.testing.assert_allclose(
        mc.accuracy_after_rejection(probs, y, uncertainty, [0.0, 0.25, 0.5]), [0.5, 2 / 3, 1.0]
    )
    with pytest.raises(ValueError, match=r"fractions must be in \[0, 1\)"):
        mc.accuracy_after_rejection(probs, y, uncertainty, [1.0])


# --- thinned networks: one function from the approximate posterior -----------------------------


@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    rates=st.lists(st.sampled_from([0.0, 0.3, 0.7]), min_size=3, max_size=3),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_thinned_network_zeroes_or_scales_whole_rows(sizes, rates, dtype, seed):
    model = MLP(sizes, rates[: len(sizes) - 1], rng=np.random.default_rng(seed), dtype=dtype)
    before = [W.copy() for W in model.weights]
    thinned = mc.thinned_network(model, rng=np.random.default_rng(seed + 1))
    assert thinned is not model and thinned.layer_sizes == model.layer_sizes
    assert thinned.p_drop == model.p_drop and thinned.dtype == model.dtype
    for W, W_thin, b, b_thin, p_drop in zip(
        model.weights, thinned.weights, model.biases, thinned.biases, model.p_drop
    ):
        assert W_thin.shape == W.shape and W_thin.dtype == W.dtype
        np.testing.assert_array_equal(b_thin, b)
        # scaled in float64, rounded once to the model's dtype
        scaled = (W.astype(np.float64) * (1.0 / (1 - p_drop))).astype(W.dtype)
        # each row (the weights read from one unit) is all zero or all scaled
        zero = (W_thin == 0).all(axis=1)
        whole = (W_thin == scaled).all(axis=1)
        assert np.all(zero | whole)
        if p_drop == 0:
            np.testing.assert_array_equal(W_thin, W)
    for W, W_before in zip(model.weights, before):
        np.testing.assert_array_equal(W, W_before)
    again = mc.thinned_network(model, rng=np.random.default_rng(seed + 1))
    for W_thin, W_again in zip(thinned.weights, again.weights):
        np.testing.assert_array_equal(W_thin, W_again)


def test_thinned_network_zeroes_whole_rows_and_scales_the_rest():
    model = MLP([3, 50, 40, 2], [0.0, 0.3, 0.6], rng=np.random.default_rng(0), dtype=np.float64)
    thinned = mc.thinned_network(model, rng=np.random.default_rng(1))
    for W, W_thin, p_drop in zip(model.weights, thinned.weights, model.p_drop):
        kept = np.any(W_thin != 0, axis=1)
        np.testing.assert_allclose(W_thin[kept], W[kept] / (1 - p_drop))
        assert np.all(W_thin[~kept] == 0)
        if p_drop == 0:
            assert kept.all()


def test_thinned_networks_keep_rows_with_keep_prob_and_average_to_the_model():
    model = MLP([4, 200, 3], [0.0, 0.4], rng=np.random.default_rng(0))
    rng = np.random.default_rng(2)
    thinned = [mc.thinned_network(model, rng=rng).weights[1] for _ in range(400)]
    kept = sum(int(np.count_nonzero(np.any(W != 0, axis=1))) for W in thinned)
    assert_binomial_count(kept, 400 * 200, 0.6, alpha=ALPHA, what="kept rows")
    # each row's factor is 0 or 1 / keep_prob, mean 1 (Bernstein, known variance)
    ratios = np.stack([np.any(W != 0, axis=1) for W in thinned]) / 0.6
    assert_mean_close(ratios, 1.0, lower=0.0, upper=1 / 0.6, variance=0.4 / 0.6, alpha=ALPHA)


# --- negative log-likelihood and error rate ---------------------------------------------------


@given(probs=probability_rows, data=st.data())
def test_nll_and_error_rate_properties(probs, data):
    n, k = probs.shape
    y = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, k - 1)))
    nll, error = mc.nll(probs, y), mc.error_rate(probs, y)
    assert nll == pytest.approx(-np.mean(np.log(probs[np.arange(n), y])))
    assert nll >= 0 and 0 <= error <= 1
    assert error == np.mean(probs.argmax(axis=1) != y)
    order = data.draw(st.permutations(range(n)))
    assert mc.nll(probs[order], y[order]) == pytest.approx(nll)
    assert mc.error_rate(probs[order], y[order]) == error
    one_hot = np.eye(k)[y]
    assert mc.nll(one_hot, y) == 0.0 and mc.error_rate(one_hot, y) == 0.0


def test_nll_and_error_rate_on_known_values():
    probs = np.array([[1.0, 0.0], [0.25, 0.75]])
    assert mc.nll(probs, np.array([0, 1])) == pytest.approx(-np.log(0.75) / 2)
    assert mc.error_rate(probs, np.array([1, 1])) == 0.5
    assert np.isfinite(mc.nll(probs, np.array([1, 1])))  # probability 0: large but finite


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: mc.thinned_network("model", rng=np.random.default_rng(0)),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"model must be a course_lib.nn.MLP, got str",
        ),
        (
            lambda: mc.thinned_network(MLP([2, 3, 2], 0.5, rng=np.random.default_rng(0)), rng=1),  # pyright: ignore[reportArgumentType] - the wrong type under test
            "rng must be a numpy.random.Generator",
        ),
        (lambda: mc.nll(np.array([0.5, 0.5]), np.array([0])), r"probs must have at least 2 dim"),
        (
            lambda: mc.nll(np.full((2, 2, 2), 0.5), np.array([0, 1])),
            r"probs must have shape \(N, K\)",
        ),
        (lambda: mc.nll(np.array([[0.5, 0.6]]), np.array([0])), "probs must hold probability"),
        (lambda: mc.nll(np.full((2, 2), 0.5), np.array([0])), r"y must have shape \(2,\)"),
        (
            lambda: mc.error_rate(np.full((2, 2), 0.5), np.array([0.0, 1.0])),
            r"y must hold integer labels in \[0, 1\]",
        ),
        (
            lambda: mc.error_rate(np.full((2, 2), 0.5), np.array([0, 2])),
            r"y must hold integer labels in \[0, 1\]",
        ),
    ],
)
def test_bad_arguments_name_the_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()

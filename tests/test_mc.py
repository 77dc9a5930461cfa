"""MC dropout prediction and thinned networks, entropies, likelihood, error and calibration."""

import contextlib
import math
import signal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib import mc
from course_lib._validate import ArgumentTypeError
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


# --- every function that reads labels, probabilities or predictions checks them -----------------

BAD_LABELS = [
    np.array([5, 7]),  # out of range: an ECE of 0.65 came out of these
    np.array([-1, 0]),
    np.array([0.0, 1.0]),  # floats, even whole ones
    np.array(["0", "1"]),
    np.array([True, False]),
    np.array([None, 1], dtype=object),
]
LABEL_READERS = {
    "reliability_bins": lambda probs, y: mc.reliability_bins(probs, y),
    "expected_calibration_error": lambda probs, y: mc.expected_calibration_error(probs, y),
    "accuracy_after_rejection": lambda probs, y: mc.accuracy_after_rejection(
        probs, y, np.array([0.1, 0.2]), [0.0, 0.5]
    ),
}


@pytest.mark.parametrize("reader", sorted(LABEL_READERS))
@pytest.mark.parametrize("y", BAD_LABELS, ids=repr)
def test_calibration_and_rejection_check_the_labels_as_nll_does(reader, y):
    with pytest.raises(ValueError, match=r"y must hold integer labels in \[0, 1\], got "):
        LABEL_READERS[reader](np.full((2, 2), 0.5), y)
    with pytest.raises(ValueError, match=r"y must hold integer labels in \[0, 1\], got "):
        mc.nll(np.full((2, 2), 0.5), y)


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: mc.reliability_bins(np.full((2, 2, 2), 0.5), np.array([0, 1])),
            r"probs must have shape \(N, K\), got \(2, 2, 2\)",
        ),
        (
            lambda: mc.expected_calibration_error(np.full((2, 2), 0.5), np.array([0, 1, 1])),
            r"y must have shape \(2,\)",
        ),
        (
            lambda: mc.accuracy_after_rejection(
                np.full((2, 2), 0.5), np.array([0, 1]), np.array([0.1, 0.2]), "0.5"
            ),
            r"fractions must be a number in \[0, 1\) or a sequence of them, got '0.5'",
        ),
        (
            lambda: mc.accuracy_after_rejection(
                np.full((2, 2), 0.5), np.array([0, 1]), np.array([0.1, 0.2]), [np.nan]
            ),
            r"fractions must be in \[0, 1\), got nan",
        ),
        (
            lambda: mc.accuracy_after_rejection(
                np.full((2, 2), 0.5), np.array([0, 1]), np.array([np.nan, 0.2]), [0.5]
            ),
            r"uncertainty must hold numbers, not NaN, got NaN at rows \[0\]",
        ),
        (
            lambda: mc.accuracy_after_rejection(
                np.full((2, 2), 0.5), np.array([0, 1]), np.array([0.1]), [0.5]
            ),
            r"uncertainty must have shape \(2,\), one value per row of probs, got \(1,\)",
        ),
    ],
)
def test_calibration_and_rejection_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_mc_predict_checks_what_predict_fn_is_and_returns():
    rng = np.random.default_rng(0)
    model = MLP([2, 3, 2], 0.5, rng=rng)
    with pytest.raises(ArgumentTypeError, match=r"predict_fn must be a callable .*got MLP"):
        mc.mc_predict(model, np.zeros((1, 2)), 3, rng=rng)  # pyright: ignore[reportArgumentType] - the wrong type under test

    def ragged(X, rng):
        return np.zeros(int(rng.integers(1, 4)))

    with pytest.raises(ValueError, match=r"predict_fn must return predictions of one shape"):
        mc.mc_predict(ragged, np.zeros((1, 2)), 20, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"predict_fn must return numbers"):
        mc.mc_predict(lambda X, rng: None, np.zeros((1, 2)), 2, rng=rng)  # pyright: ignore[reportArgumentType, reportReturnType] - the wrong return under test


# --- choose_mc_samples: the first n that meets the target, computed directly -------------------


def _first_n_one_step_at_a_time(prediction_std, target_se):
    """The search choose_mc_samples made before, kept as the reference of what it returns."""

    def meets(n):
        return prediction_std / math.sqrt(n) <= target_se * (1.0 + 1e-12)

    n = max(1, math.ceil((prediction_std / target_se) ** 2))
    while n > 1 and meets(n - 1):
        n -= 1
    while not meets(n):
        n += 1
    return n


def test_choose_mc_samples_is_the_one_step_search_on_ordinary_inputs():
    rng = np.random.default_rng(6)
    stds = [0.0, 1e-3, 0.01, 0.1, 0.2, 0.25, 0.3, 0.31, 0.41, 0.5, 1.0, 3.0]
    stds += [round(float(s), 4) for s in rng.uniform(0.001, 2.0, 60)]
    targets = [1e-4, 7e-4, 0.001, 0.007, 0.01, 0.013, 0.02, 0.03, 0.05, 0.2, 0.5, 1.0, 2.0]
    targets += [round(float(t), 5) for t in rng.uniform(1e-4, 0.5, 40)]
    pairs = [(s, t) for s in stds for t in targets]
    # targets that make the square a whole number, where rounding matters most
    pairs += [(s, s / math.sqrt(m)) for s in (0.1, 0.3, 0.77, 1.0) for m in range(1, 2000)]
    pairs += [(s, s / m) for s in (0.1, 0.3, 1.0) for m in range(1, 300)]
    pairs += [(float(10**e), 1.0) for e in np.arange(0.0, 8.01, 0.25)]  # up to 10**16 samples
    for prediction_std, target_se in pairs:
        expected = _first_n_one_step_at_a_time(prediction_std, target_se)
        assert mc.choose_mc_samples(prediction_std, target_se) == expected, (
            prediction_std,
            target_se,
        )


@contextlib.contextmanager
def _within(seconds: float):
    """Fail, rather than hang, when the block runs longer than ``seconds`` (a Python loop sees
    the alarm; the one-step search took hours to centuries on the ratios below)."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("prediction_std,target_se", [(1e10, 1.0), (1e20, 1e-20), (1e150, 1.0)])
def test_choose_mc_samples_answers_huge_ratios_at_once(prediction_std, target_se):
    with _within(5.0):
        n = mc.choose_mc_samples(prediction_std, target_se)
    assert prediction_std / math.sqrt(n) <= target_se * (1 + 1e-12)
    assert prediction_std / math.sqrt(n - 1) > target_se * (1 + 1e-12)


@pytest.mark.parametrize(
    "prediction_std,target_se", [(1e200, 1e-10), (1e300, 1e-300), (1.0, 5e-324), (1e151, 1.0)]
)
def test_choose_mc_samples_refuses_ratios_whose_answer_does_not_fit(prediction_std, target_se):
    with (
        _within(5.0),
        pytest.raises(
            ValueError,
            match=r"prediction_std / target_se must be at most 1e\+150 .*got prediction_std=",
        ),
    ):
        mc.choose_mc_samples(prediction_std, target_se)

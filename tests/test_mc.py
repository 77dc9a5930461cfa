"""MC dropout prediction, entropies and calibration."""

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
    mean, std, samples = mc.mc_predict(lambda X, rng: rng.random(len(X)), np.zeros((500, 1)),
                                       400, rng=np.random.default_rng(0), return_samples=True)
    assert samples.shape == (400, 500) and mean.shape == std.shape == (500,)
    np.testing.assert_array_equal(mean, samples.mean(axis=0))
    # pooled over inputs: 200000 uniform values, Hoeffding on [0, 1]
    assert_mean_close(samples, 0.5, lower=0, upper=1, alpha=ALPHA)
    assert np.mean(std) == pytest.approx(np.sqrt(1 / 12), rel=0.01)


def test_mc_predict_draws_a_new_mask_each_sample():
    model = MLP([4, 64, 3], 0.5, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).random((5, 4))
    mean, std, samples = mc.mc_predict(
        lambda X, rng: model.predict_proba(X, training=True, rng=rng), X, 30,
        rng=np.random.default_rng(2), return_samples=True)
    assert samples.shape == (30, 5, 3)
    assert np.all(std > 0)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    # reproducible from the seed
    again = mc.mc_predict(lambda X, rng: model.predict_proba(X, training=True, rng=rng), X, 30,
                          rng=np.random.default_rng(2))[0]
    np.testing.assert_array_equal(mean, again)


def test_mc_predict_bad_n_samples():
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1, got 0"):
        mc.mc_predict(lambda X, rng: X, np.ones(2), 0, rng=np.random.default_rng(0))


def test_entropy_extremes():
    assert mc.predictive_entropy(np.array([0.0, 1.0, 0.0])) == 0.0
    assert mc.predictive_entropy(np.full(4, 0.25)) == pytest.approx(np.log(4))
    assert mc.predictive_entropy(np.array([[0.5, 0.5], [1.0, 0.0]])) == pytest.approx(
        [np.log(2), 0.0])


probability_rows = hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 6)),
                              elements=st.floats(0.01, 1.0)).map(
    lambda a: a / a.sum(axis=-1, keepdims=True))


@given(probs=probability_rows)
def test_entropy_is_between_zero_and_log_k(probs):
    entropy = mc.predictive_entropy(probs)
    assert entropy.shape == probs.shape[:1]
    assert np.all(entropy >= -1e-12) and np.all(entropy <= np.log(probs.shape[1]) + 1e-12)


@given(samples=st.integers(2, 6).flatmap(lambda s: hnp.arrays(
    np.float64, st.tuples(st.just(s), st.integers(1, 4), st.integers(2, 5)),
    elements=st.floats(0.01, 1.0))).map(lambda a: a / a.sum(axis=-1, keepdims=True)))
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
            assert_binomial_count(round(accuracy * count), int(count), confidence,
                                  alpha=ALPHA)
    assert mc.expected_calibration_error(probs, y) < 0.01
    overconfident = np.stack([np.minimum(confidences + 0.04, 1), 1 - np.minimum(
        confidences + 0.04, 1)], axis=1)
    assert mc.expected_calibration_error(overconfident, y) > 0.03


def test_accuracy_after_rejection():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    y = np.array([0, 0, 1, 1])  # the two least confident are wrong
    uncertainty = mc.predictive_entropy(probs)
    np.testing.assert_allclose(mc.accuracy_after_rejection(probs, y, uncertainty,
                                                           [0.0, 0.25, 0.5]), [0.5, 2 / 3, 1.0])
    with pytest.raises(ValueError, match=r"fractions must be in \[0, 1\)"):
        mc.accuracy_after_rejection(probs, y, uncertainty, [1.0])

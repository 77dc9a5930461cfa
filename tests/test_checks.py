"""The course's assertions: correct implementations pass (for many seeds, whatever way they draw
their random numbers), and each common mistake fails with a message that names it."""

import math

import numpy as np
import pytest
from scipy import stats

from course_lib import checks
from course_lib.checks import CheckFailure

P_DROP = 0.3
KEEP = 1 - P_DROP


# --- implementations a student might write ----------------------------------------------------

def correct_random(x, p_drop, *, rng, training=True):
    if not training:
        return x.copy(), None
    mask = rng.random(x.shape) < 1 - p_drop
    return (x * mask / (1 - p_drop)).astype(x.dtype), mask


def correct_binomial(x, p_drop, *, rng, training=True):
    if not training:
        return x.copy(), None
    mask = rng.binomial(1, 1 - p_drop, size=x.shape).astype(x.dtype) / (1 - p_drop)
    return x * mask, mask


def correct_permutation(x, p_drop, *, rng, training=True):
    """Drops by thresholding uniform ranks per entry: unusual, still exactly Bernoulli."""
    if not training:
        return x.copy(), None
    mask = rng.uniform(size=x.shape) >= p_drop
    return np.where(mask, x / (1 - p_drop), 0).astype(x.dtype), mask


CORRECT = [correct_random, correct_binomial, correct_permutation]


def no_scaling(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape) < 1 - p_drop), None


def divide_by_p_drop(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape) < 1 - p_drop) / p_drop, None


def multiply_by_keep(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape) < 1 - p_drop) * (1 - p_drop), None


def swapped(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape) < p_drop) / (1 - p_drop), None


def shared_mask(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape[1:]) < 1 - p_drop) / (1 - p_drop), None


def global_random(x, p_drop, *, rng, training=True):
    return x * (np.random.random(x.shape) < 1 - p_drop) / (1 - p_drop), None


def fixed_seed(x, p_drop, *, rng, training=True):
    local = np.random.default_rng(0)
    return x * (local.random(x.shape) < 1 - p_drop) / (1 - p_drop), None


def mutates_input(x, p_drop, *, rng, training=True):
    x *= rng.random(x.shape) < 1 - p_drop
    x /= 1 - p_drop
    return x, None


def upcasts(x, p_drop, *, rng, training=True):
    return x * (rng.random(x.shape) < 1 - p_drop) / np.float64(1 - p_drop), None


def on_at_inference(x, p_drop, *, rng, training=True):
    return correct_random(x, p_drop, rng=rng, training=True)


def scales_at_inference(x, p_drop, *, rng, training=True):
    if not training:
        return x * (1 - p_drop), None
    return correct_random(x, p_drop, rng=rng)


def sample_x(seed=0, shape=(200, 100), dtype=np.float64):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape).astype(dtype)


# --- correct implementations pass -----------------------------------------------------------

@pytest.mark.parametrize("impl", CORRECT)
@pytest.mark.parametrize("seed", range(20))
def test_correct_implementations_pass_for_20_seeds(impl, seed):
    x = sample_x(seed)
    before = x.copy()
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(seed))
    checks.assert_unchanged(before, x)
    checks.check_inverted_dropout_output(x, out, P_DROP)
    checks.assert_masks_independent(out != 0, P_DROP)
    checks.check_inference_identity(x, impl(x, P_DROP, rng=np.random.default_rng(seed),
                                            training=False)[0])


@pytest.mark.parametrize("impl", CORRECT)
def test_correct_implementations_pass_rng_and_expectation_checks(impl):
    x = sample_x(shape=(50, 40))
    checks.assert_uses_rng(lambda rng: impl(x, P_DROP, rng=rng)[0], p_drop=P_DROP)
    rng = np.random.default_rng(1)
    checks.assert_expectation_preserved(x, [impl(x, P_DROP, rng=rng)[0] for _ in range(50)],
                                        P_DROP)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_outputs_pass(dtype):
    x = sample_x(dtype=dtype)
    from course_lib.dropout import dropout_forward

    out, _ = dropout_forward(x, P_DROP, rng=np.random.default_rng(0))
    checks.check_inverted_dropout_output(x, out, P_DROP)
    checks.assert_expectation_preserved(x, out, P_DROP)


# --- each mistake fails with its own message ---------------------------------------------------

@pytest.mark.parametrize("impl,message", [
    (no_scaling, "did you forget to divide by keep_prob"),
    (divide_by_p_drop, "divided by p_drop"),
    (multiply_by_keep, "multiplied by keep_prob"),
    (swapped, "keep and drop are swapped"),
    (upcasts, "must keep the input's dtype float32"),
])
def test_output_mistakes_are_named(impl, message):
    x = sample_x(dtype=np.float32)
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match=message):
        checks.check_inverted_dropout_output(x, out, P_DROP)


def test_shared_mask_is_caught():
    x = sample_x()
    out, _ = shared_mask(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match="one mask is shared by all samples"):
        checks.assert_masks_independent(out != 0, P_DROP)


@pytest.mark.parametrize("impl,message", [
    (global_random, "generators of the same seed gave different masks"),
    (fixed_seed, "generators with different seeds gave the same mask"),
])
def test_ignoring_rng_is_caught(impl, message):
    x = sample_x(shape=(40, 40))
    with pytest.raises(CheckFailure, match=message):
        checks.assert_uses_rng(lambda rng: impl(x, P_DROP, rng=rng)[0], p_drop=P_DROP)


def test_mutation_is_caught():
    x = sample_x()
    before = x.copy()
    mutates_input(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match="x was modified by the call"):
        checks.assert_unchanged(before, x)


@pytest.mark.parametrize("impl,message", [
    (on_at_inference, "no unit may be dropped"),
    (scales_at_inference, "the output must equal the input, saw x times 0.7"),
])
def test_inference_mistakes_are_named(impl, message):
    x = sample_x()
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(0), training=False)
    with pytest.raises(CheckFailure, match=message):
        checks.check_inference_identity(x, out)


def test_unscaled_mean_is_named_by_the_expectation_check():
    x = sample_x(shape=(100, 100))
    rng = np.random.default_rng(0)
    outs = [no_scaling(x, P_DROP, rng=rng)[0] for _ in range(10)]
    with pytest.raises(CheckFailure, match="did you forget to divide by keep_prob"):
        checks.assert_expectation_preserved(x, outs, P_DROP)


# --- backward -------------------------------------------------------------------------------

def _forward_backward_case(seed=0):
    from course_lib.dropout import dropout_backward, dropout_forward

    x = sample_x(seed, shape=(30, 20))
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    out, cache = dropout_forward(x, P_DROP, rng=np.random.default_rng(seed))
    return x, out, dout, dropout_backward(dout, cache), cache


def test_correct_backward_passes():
    x, out, dout, dx, _ = _forward_backward_case()
    checks.check_dropout_backward(x, out, dout, dx, P_DROP)


@pytest.mark.parametrize("wrong_dx,message", [
    (lambda dout, mask, rng: dout, "ignores the mask"),
    (lambda dout, mask, rng: dout * (rng.random(dout.shape) < KEEP) / KEEP,
     "drawing a new mask in backward"),
    (lambda dout, mask, rng: dout * mask, "not scaled"),
    (lambda dout, mask, rng: dout * mask / P_DROP, "must equal dout \\* mask / keep_prob"),
])
def test_backward_mistakes_are_named(wrong_dx, message):
    x, out, dout, _, cache = _forward_backward_case()
    dx = wrong_dx(dout, cache.mask, np.random.default_rng(5))
    with pytest.raises(CheckFailure, match=message):
        checks.check_dropout_backward(x, out, dout, dx, P_DROP)


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
    assert checks.hoeffding_radius(100, 1.0, 0.05) == pytest.approx(
        math.sqrt(math.log(40) / 200))
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


def test_uses_rng_refuses_inputs_too_small_to_decide():
    with pytest.raises(ValueError, match="too few to tell two seeds apart"):
        checks.assert_uses_rng(lambda rng: rng.random(5) < 0.7, p_drop=P_DROP)


def test_messages_state_expectation_observation_and_alpha():
    with pytest.raises(CheckFailure) as info:
        checks.assert_binomial_count(100, 1000, 0.7, what="kept units")
    text = str(info.value)
    assert "kept units: expected between" in text and "saw 100" in text and "1e-09" in text

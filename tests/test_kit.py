"""autograder.exercises.kit: inputs and observations of probes, requirements, the float tolerance
rule, the catalogue of dropout mistakes and the dropout checks.

The checks must pass correct implementations (for many seeds, whatever way they draw their random
numbers and however they order their arithmetic) and fail each common mistake with a message that
names it. Statistical checks spend their default false-failure probability, 1e-9 each.
"""

import math

import numpy as np
import pytest
from numpy.typing import DTypeLike

from autograder.exercises import NotImplementedYet, kit
from course_lib.checks import CheckFailure

P_DROP = 0.3
KEEP = 1 - P_DROP
DTYPES = [np.float16, np.float32, np.float64]


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


def sample_x(seed=0, shape=(200, 100), dtype: DTypeLike = np.float64):
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape).astype(dtype)


# --- correct implementations pass -----------------------------------------------------------


@pytest.mark.parametrize("impl", CORRECT)
@pytest.mark.parametrize("seed", range(20))
def test_correct_implementations_pass_for_20_seeds(impl, seed):
    x = sample_x(seed)
    before = x.copy()
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(seed))
    kit.assert_unchanged(before, x)
    kit.check_inverted_dropout_output(x, out, P_DROP)
    kit.assert_masks_independent(out != 0, P_DROP)
    kit.check_inference_identity(
        x, impl(x, P_DROP, rng=np.random.default_rng(seed), training=False)[0]
    )


@pytest.mark.parametrize("impl", CORRECT)
def test_correct_implementations_pass_rng_and_expectation_checks(impl):
    x = sample_x(shape=(50, 40))
    kit.assert_uses_rng(lambda rng: impl(x, P_DROP, rng=rng)[0], p_drop=P_DROP)
    rng = np.random.default_rng(1)
    kit.assert_expectation_preserved(x, [impl(x, P_DROP, rng=rng)[0] for _ in range(50)], P_DROP)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_outputs_pass(dtype):
    x = sample_x(dtype=dtype)
    from course_lib.dropout import dropout_forward

    out, _ = dropout_forward(x, P_DROP, rng=np.random.default_rng(0))
    kit.check_inverted_dropout_output(x, out, P_DROP)
    kit.assert_expectation_preserved(x, out, P_DROP)


# --- each mistake fails with its own message ---------------------------------------------------


@pytest.mark.parametrize(
    "impl,message",
    [
        (no_scaling, "did you forget to divide by keep_prob"),
        (divide_by_p_drop, "divided by p_drop"),
        (multiply_by_keep, "multiplied by keep_prob"),
        (swapped, "keep and drop are swapped"),
        (upcasts, "must keep the input's dtype float32"),
    ],
)
def test_output_mistakes_are_named(impl, message):
    x = sample_x(dtype=np.float32)
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match=message):
        kit.check_inverted_dropout_output(x, out, P_DROP)


def test_shared_mask_is_caught():
    x = sample_x()
    out, _ = shared_mask(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match="one mask is shared by the whole batch"):
        kit.assert_masks_independent(out != 0, P_DROP)


@pytest.mark.parametrize(
    "impl,message",
    [
        (global_random, "generators of the same seed gave different masks"),
        (fixed_seed, "with different seeds gave the same mask"),
    ],
)
def test_ignoring_rng_is_caught(impl, message):
    x = sample_x(shape=(40, 40))
    with pytest.raises(CheckFailure, match=message):
        kit.assert_uses_rng(lambda rng: impl(x, P_DROP, rng=rng)[0], p_drop=P_DROP)


def test_mutation_is_caught():
    x = sample_x()
    before = x.copy()
    mutates_input(x, P_DROP, rng=np.random.default_rng(0))
    with pytest.raises(CheckFailure, match="x was modified by the call"):
        kit.assert_unchanged(before, x)


@pytest.mark.parametrize(
    "impl,message",
    [
        (on_at_inference, "no unit may be dropped"),
        (scales_at_inference, "the output must equal the input, saw x times 0.7"),
    ],
)
def test_inference_mistakes_are_named(impl, message):
    x = sample_x()
    out, _ = impl(x, P_DROP, rng=np.random.default_rng(0), training=False)
    with pytest.raises(CheckFailure, match=message):
        kit.check_inference_identity(x, out)


def test_unscaled_mean_is_named_by_the_expectation_check():
    x = sample_x(shape=(100, 100))
    rng = np.random.default_rng(0)
    outs = [no_scaling(x, P_DROP, rng=rng)[0] for _ in range(10)]
    with pytest.raises(CheckFailure, match="did you forget to divide by keep_prob"):
        kit.assert_expectation_preserved(x, outs, P_DROP)


# --- backward -------------------------------------------------------------------------------


def _forward_backward_case(seed=0):
    from course_lib.dropout import dropout_backward, dropout_forward

    x = sample_x(seed, shape=(30, 20))
    dout = np.random.default_rng(seed + 1).standard_normal(x.shape)
    out, cache = dropout_forward(x, P_DROP, rng=np.random.default_rng(seed))
    return x, out, dout, dropout_backward(dout, cache), cache


def test_correct_backward_passes():
    x, out, dout, dx, _ = _forward_backward_case()
    kit.check_dropout_backward(x, out, dout, dx, P_DROP)


@pytest.mark.parametrize(
    "wrong_dx,message",
    [
        (lambda dout, mask, rng: dout, "ignores the mask"),
        (
            lambda dout, mask, rng: dout * (rng.random(dout.shape) < KEEP) / KEEP,
            "drawing a new mask in backward",
        ),
        (lambda dout, mask, rng: dout * mask, "not scaled"),
        (lambda dout, mask, rng: dout * mask / P_DROP, "not by p_drop"),
        (lambda dout, mask, rng: dout / KEEP, "scales but ignores the mask"),
        (lambda dout, mask, rng: dout * mask * KEEP, "multiplying by keep_prob"),
        (lambda dout, mask, rng: dout * mask * (1 + 1e-3), "must equal dout \\* mask / keep_prob"),
    ],
)
def test_backward_mistakes_are_named(wrong_dx, message):
    x, out, dout, _, cache = _forward_backward_case()
    dx = wrong_dx(dout, cache.mask, np.random.default_rng(5))
    with pytest.raises(CheckFailure, match=message):
        kit.check_dropout_backward(x, out, dout, dx, P_DROP)


def test_uses_rng_refuses_inputs_too_small_to_decide():
    with pytest.raises(ValueError, match="too few to tell two seeds apart"):
        kit.assert_uses_rng(lambda rng: rng.random(5) < 0.7, p_drop=P_DROP)


# --- the tolerance rule: correct alternatives are close, mistakes are far ----------------------


def test_rounding_tolerance_is_two_gamma():
    unit = np.finfo(np.float64).eps / 2
    assert kit.rounding_tolerance(np.float64, 4) == pytest.approx(8 * unit / (1 - 4 * unit))
    assert kit.rounding_tolerance(np.float32, 10) == pytest.approx(
        10 * float(np.finfo(np.float32).eps), rel=1e-5
    )
    with pytest.raises(ValueError):
        kit.rounding_tolerance(np.float16, 0)


def _dropout_ways(x, mask, p_drop):
    """Correct inverted dropout written the ways students write it."""
    dtype = x.dtype.type
    keep = 1 - p_drop
    yield "x * mask / keep", (x * mask / keep).astype(x.dtype)
    yield "x / keep * mask", (x / keep * mask).astype(x.dtype)
    yield "scaled float64 mask, cast back", (x * (mask / keep)).astype(x.dtype)
    yield "where, keep in the dtype", np.where(mask, x / dtype(keep), dtype(0))
    yield "keep computed in the dtype", x * mask / (dtype(1) - dtype(p_drop))
    yield "times 1 / keep in the dtype", x * mask * dtype(1 / keep)
    yield "float64 then cast", (x.astype(np.float64) * mask / keep).astype(x.dtype)
    yield "mask cast, divided, multiplied", x * (mask.astype(x.dtype) / dtype(keep))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p_drop", [0.1, 0.25, 0.3, 1 / 3, 0.7, 0.9])
def test_every_way_of_writing_inverted_dropout_is_within_the_rounding_tolerance(dtype, p_drop):
    x = kit.inputs(0, (40, 50), dtype)
    mask = np.random.default_rng(1).random(x.shape) >= p_drop
    for way, out in _dropout_ways(x, mask, p_drop):
        assert out.dtype == dtype, way
        ratios = out[mask].astype(np.float64) / x[mask].astype(np.float64)
        assert np.all(kit.near(ratios, 1 / (1 - p_drop), dtype)), way
        assert np.all(out[~mask] == 0), way


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p_drop", [0.1, 0.3, 0.7, 0.9])
def test_scale_mistakes_are_at_least_ten_tolerances_away(dtype, p_drop):
    """The closest mistake is 10% off (1 vs 1 / 0.9); float16's tolerance is 0.4%."""
    keep = 1 - p_drop
    tolerance = kit.rounding_tolerance(dtype, kit.DROPOUT_OPS)
    for scale_of, mistake in kit.SCALE_MISTAKES:
        wrong = scale_of(keep, p_drop)
        assert abs(wrong * keep - 1) > 10 * tolerance, mistake


def _sums(terms):
    """The sum of ``terms`` (in their dtype) in different orders and groupings."""
    dtype = terms.dtype.type
    yield "np.sum (pairwise)", float(np.sum(terms))
    sequential = dtype(0)
    for term in terms:
        sequential = dtype(sequential + term)
    yield "left to right", float(sequential)
    backwards = dtype(0)
    for term in terms[::-1]:
        backwards = dtype(backwards + term)
    yield "right to left", float(backwards)
    yield "largest first", float(np.sum(terms[np.argsort(-np.abs(terms))]))
    yield "in float64, cast", float(dtype(np.sum(terms.astype(np.float64))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_in_any_order_are_close_with_the_terms_as_scale(dtype):
    terms = kit.inputs(3, (100,), dtype)  # both signs: the sum cancels
    exact = math.fsum(terms.astype(np.float64))
    scale = float(np.sum(np.abs(terms.astype(np.float64))))
    for way, total in _sums(terms):
        assert kit.close(total, exact, dtype, ops=terms.size, scale=scale), way
    # a term left out, or the mean returned instead of the sum, is far outside
    tolerance = kit.rounding_tolerance(dtype, terms.size) * scale
    assert abs(float(np.sum(terms[:-1])) - exact) > 100 * tolerance
    assert abs(float(np.mean(terms)) - exact) > 100 * tolerance


def _stds(samples):
    """Standard deviations (ddof=0) over axis 0, computed in the samples' dtype."""
    dtype = samples.dtype.type
    n = samples.shape[0]
    yield "np.std (two passes)", samples.std(axis=0)
    total = np.zeros(samples.shape[1:], dtype=dtype)
    squares = np.zeros(samples.shape[1:], dtype=dtype)
    for sample in samples:
        total = total + sample
        squares = squares + sample * sample
    mean = total / dtype(n)
    yield "running sums", np.sqrt(np.maximum(squares / dtype(n) - mean * mean, dtype(0)))
    mean = np.zeros(samples.shape[1:], dtype=dtype)
    m2 = np.zeros(samples.shape[1:], dtype=dtype)
    for count, sample in enumerate(samples, start=1):
        delta = sample - mean
        mean = mean + delta / dtype(count)
        m2 = m2 + delta * (sample - mean)
    yield "Welford", np.sqrt(m2 / dtype(n))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_std_from_running_sums_is_close_with_the_mean_square_as_scale(dtype):
    """A variance from running sums of n values is within about n roundings of the mean square
    mean(x**2); the std s is then within that divided by 2 s: scale = mean(x**2) / s."""
    n = 30
    samples = np.random.default_rng(4).uniform(0.2, 0.8, size=(n, 200)).astype(dtype)
    exact = samples.astype(np.float64).std(axis=0)
    scale = np.mean(samples.astype(np.float64) ** 2, axis=0) / exact
    for way, std in _stds(samples):
        assert kit.close(std, exact, dtype, ops=n + 2, scale=scale), way
    # the mistakes of mc_predict's std are far outside: ddof=1 is 1.7% off at n = 30
    tolerance = kit.rounding_tolerance(dtype, n + 2) * scale
    for wrong in (
        samples.astype(np.float64).std(axis=0, ddof=1),
        samples.astype(np.float64).var(axis=0),
    ):
        assert np.all(np.abs(wrong - exact) > 100 * tolerance)


def _means(samples):
    """Means over axis 0, computed in the samples' dtype."""
    dtype = samples.dtype.type
    yield "np.mean (pairwise)", samples.mean(axis=0)
    total = np.zeros(samples.shape[1:], dtype=dtype)
    for sample in samples:
        total = total + sample
    yield "running total", total / dtype(len(samples))
    mean = np.zeros(samples.shape[1:], dtype=dtype)
    for count, sample in enumerate(samples, start=1):
        mean = mean + (sample - mean) / dtype(count)
    yield "Welford", mean


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0.0, 1.0, 1e3, 1e6])
def test_every_textbook_mean_and_std_is_near_even_when_the_mean_dwarfs_the_spread(dtype, offset):
    """Running sums lose about n u (mean / s)**2 of the variance to cancellation; near_std
    accepts every algorithm there too, and still tells ddof=1 and the variance apart wherever
    the spread is above what rounding can hide."""
    rng = np.random.default_rng(6)
    n = 25
    spreads = 10.0 ** rng.uniform(-3, 0, size=400)
    samples = (offset + spreads * rng.standard_normal((n, 400))).astype(dtype)
    for way, mean in _means(samples):
        assert np.all(kit.near_mean(mean, samples, dtype)), way
    for way, std in _stds(samples):
        assert np.all(kit.near_std(std, samples, dtype)), way
    exact = samples.astype(np.float64)
    # spreads whose variance is 100 times what rounding may cost: all of them without an
    # offset, most at offset 1000 in float64, none at 1e6 (nor at 1000 in float32)
    resolvable = exact.std(axis=0) ** 2 > 100 * kit.variance_error(samples, dtype)
    if offset == 0.0 or (dtype == np.float64 and offset <= 1e3):
        assert resolvable.mean() > 0.9
    for wrong in (exact.std(axis=0, ddof=1), exact.var(axis=0)):
        assert not np.any(kit.near_std(wrong, samples, dtype)[resolvable])
    one_left_out = kit.near_mean(exact[1:].mean(axis=0), samples, dtype)
    assert np.count_nonzero(one_left_out & resolvable) <= 0.1 * np.count_nonzero(resolvable)


def test_moments_of_tiny_float32_values_allow_for_underflow():
    """Squares of float32 values below 1e-19 are subnormal: rounded to multiples of 1.4e-45."""
    samples = np.random.default_rng(7).uniform(0.0, 3e-21, size=(12, 50)).astype(np.float32)
    assert np.all(kit.near_std(samples.std(axis=0), samples, np.float32))
    assert np.all(kit.near_variance(samples.var(axis=0), samples, np.float32))
    assert np.all(kit.near_mean(samples.mean(axis=0), samples, np.float32))
    assert kit.underflow_tolerance(np.float32, 2) == 2 * float(
        np.finfo(np.float32).smallest_subnormal
    )


def test_a_std_of_samples_that_agree_may_be_any_rounding_sized_value():
    """Identical samples have s = 0, which running sums see as sqrt of a rounding error."""
    samples = np.full((30, 5), 0.7)
    error = kit.variance_error(samples, np.float64)
    assert np.all(kit.near_std(np.sqrt(error), samples, np.float64))
    assert not np.any(kit.near_std(2 * np.sqrt(error), samples, np.float64))
    assert np.all(kit.near_variance(error, samples, np.float64))


def _dense_ways(x, W, b):
    dtype = x.dtype
    yield "matmul", x @ W + b
    yield "einsum", np.einsum("nd,dm->nm", x, W) + b
    yield "loop over samples", np.stack([row @ W + b for row in x])
    yield "float64 then cast", (x.astype(np.float64) @ W.astype(np.float64) + b).astype(dtype)
    yield "sum of outer products", sum(np.outer(x[:, d], W[d]) for d in range(len(W))) + b


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_dense_layer_in_any_order_is_close_with_the_dot_product_bound(dtype):
    rng = np.random.default_rng(5)
    x, W = (rng.uniform(-1.5, 1.5, size=shape).astype(dtype) for shape in ((50, 16), (16, 24)))
    b = rng.uniform(-1, 1, size=24).astype(dtype)
    x64, W64, b64 = (a.astype(np.float64) for a in (x, W, b))
    exact = x64 @ W64 + b64
    scale = np.abs(x64) @ np.abs(W64) + np.abs(b64)
    ops = W.shape[0] + 2
    for way, out in _dense_ways(x, W, b):
        assert out.dtype == dtype, way
        assert kit.close(out, exact, dtype, ops=ops, scale=scale), way
    if dtype == np.float16:
        return  # 18 roundings of 2**-11 over terms of magnitude ~10: no room to tell mistakes
    # the bias forgotten, or x @ W scaled by 0.9, is far outside
    tolerance = kit.rounding_tolerance(dtype, ops) * scale
    assert np.mean(np.abs(x64 @ W64 - exact) > 1000 * tolerance) > 0.9
    assert np.mean(np.abs(0.9 * (x64 @ W64) + b64 - exact) > 1000 * tolerance) > 0.9


def test_close_needs_equal_shapes_and_finite_values():
    assert not kit.close(np.ones(3), np.ones(4), np.float64)
    assert not kit.close(np.array([np.nan]), np.array([1.0]), np.float64)
    assert not kit.close(np.array([np.inf]), np.array([np.inf]), np.float64)
    assert kit.close(np.zeros(2), np.zeros(2), np.float16)
    assert not kit.close(np.array([1e-30]), np.array([0.0]), np.float64)


# --- probes: inputs, observations, bad calls ---------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_are_seeded_signed_and_away_from_zero(dtype):
    x = kit.inputs(7, (30, 40), dtype, key=(1, 2))
    assert x.dtype == dtype and x.shape == (30, 40)
    assert np.array_equal(x, kit.inputs(7, (30, 40), dtype, key=(1, 2)))
    assert not np.array_equal(x, kit.inputs(7, (30, 40), dtype, key=(1, 3)))
    assert np.all((np.abs(x) >= 0.49) & (np.abs(x) <= 1.51))
    assert 0.3 < np.mean(x > 0) < 0.7
    relu_like = kit.inputs(7, (100, 100), dtype, zeros=0.5)
    assert 0.45 < np.mean(relu_like == 0) < 0.55


def test_observed_passes_numeric_arrays_and_describes_the_rest():
    array = np.arange(3.0)
    seen = kit.observed(array)
    assert np.array_equal(seen, array) and seen is not array
    number, single = kit.observed(2.5), kit.observed(np.float32(1))
    assert isinstance(number, np.ndarray) and number.shape == ()
    assert isinstance(single, np.ndarray) and single.dtype == np.float32
    assert kit.observed(True) == "bool"
    assert kit.observed(None) == "NoneType"
    assert kit.observed([1.0, 2.0]) == "list"
    assert np.array_equal(kit.observed([1.0, 2.0], sequences=True), [1.0, 2.0])
    assert kit.observed(["a", object()], sequences=True) == "list"
    assert kit.observed(np.array(["a"], dtype=object)) == "ndarray of dtype object"


def test_output_requires_a_pair():
    assert np.array_equal(kit.output((np.ones(2), None), "f"), np.ones(2))
    with pytest.raises(CheckFailure, match=r"f must return a pair \(out, cache\), got ndarray"):
        kit.output(np.ones(2), "f")


def test_attempt_records_failures_but_not_missing_code():
    def crashes(x):
        return x / undefined  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    def missing(x):
        raise NotImplementedError()

    assert kit.attempt(lambda x: x + 1, 1) == 2
    recorded = kit.attempt(crashes, 1)
    failure = kit.failure_of(recorded)
    assert failure is not None and "raised NameError" in failure
    assert kit.failure_of(2) is None and kit.failure_of({"value": 1}) is None
    with pytest.raises(NotImplementedYet, match="not implemented yet"):
        kit.attempt(missing, 1)


def test_bad_calls_and_their_verdict():
    def strict(x, p_drop, *, rng):
        if not 0 <= p_drop < 1:
            raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")

    def lenient(x, p_drop, *, rng):
        return x

    def crashes(x, p_drop, *, rng):
        raise TypeError("no")

    rng = np.random.default_rng(0)
    assert kit.bad_p_drop_outcomes(lambda p: strict(1, p, rng=rng)) == ["ValueError"] * 3
    kit.require_bad_p_drops_refused(["ValueError"] * 3, "f")
    with pytest.raises(
        CheckFailure,
        match=r"^f with p_drop=1.0 must raise ValueError "
        r"\(p_drop must be in \[0, 1\)\), got: no error\.$",
    ):
        kit.require_bad_p_drops_refused(
            kit.bad_p_drop_outcomes(lambda p: lenient(1, p, rng=rng)), "f"
        )
    assert kit.outcome_of_bad_call(crashes, 1, 2.0, rng=rng) == "TypeError"
    with pytest.raises(CheckFailure, match=r"got: TypeError. Check it first."):
        kit.require_value_errors(["TypeError"], ["x=1"], "f", "x > 1", advice="Check it first.")
    with pytest.raises(CheckFailure, match="recorded 1 bad calls, expected 3"):
        kit.require_bad_p_drops_refused(["ValueError"], "f")
    assert kit.outcome_of_bad_call_naming("p_drop", strict, 1, 2.0, rng=rng) == "ValueError"
    assert kit.outcome_of_bad_call_naming("n_samples", strict, 1, 2.0, rng=rng).startswith(
        "a ValueError whose message does not name n_samples"
    )


def test_require_array_names_what_came_back():
    with pytest.raises(CheckFailure, match="f must return a numpy array as dx, got list"):
        kit.require_array("list", "f", what="dx")
    with pytest.raises(CheckFailure, match="dx must have shape"):
        kit.require_array(np.ones(3), "f", what="dx", like=np.ones(4))


# --- the catalogue of mistakes -----------------------------------------------------------------


def test_every_mistake_reads_as_sentences_with_its_fields_filled():
    mistakes = [value for value in vars(kit).values() if isinstance(value, kit.Mistake)]
    assert len(mistakes) >= 20
    fields = dict(name="dx", expected="float32", actual="float64")
    for mistake in mistakes:
        text = mistake.say(
            **{key: value for key, value in fields.items() if "{" + key + "}" in mistake.text}
        )
        assert "{" not in text and "}" not in text, text
        assert text.rstrip().endswith((".", "?", ")")), text
    assert "weight mask" in kit.SHARED_ACROSS_BATCH.say(draw="weight mask")
    assert "one mask is shared by the whole batch" in str(kit.SHARED_ACROSS_BATCH)


def test_inference_rules_and_affine_outputs_are_named():
    x = kit.inputs(0, (20, 30))
    with pytest.raises(CheckFailure, match=r"saw x times 0.7. Rule."):
        kit.check_inference_identity(x, x * 0.7, rule="Rule.")
    with pytest.raises(CheckFailure, match=r"saw 1.2 \* x \+ 0.3. Rule."):
        kit.check_inference_identity(x, 1.2 * x + 0.3, rule="Rule.")
    noisy = x * (1 + 0.1 * np.random.default_rng(0).standard_normal(x.shape))
    with pytest.raises(CheckFailure, match="it is random: the mask or noise"):
        kit.check_inference_identity(x, noisy)
    kit.check_inference_identity(x, x.copy())
    kit.check_p_zero_identity(x, x.copy(), "f")
    with pytest.raises(CheckFailure, match="f with p_drop = 0 must return the input unchanged"):
        kit.check_p_zero_identity(x, "ndarray of dtype object", "f")


def test_the_registry_does_not_take_the_kit_for_an_exercise_module():
    from autograder import build, exercises

    assert {exercise.module for exercise in exercises.all_exercises()} == {
        f"autograder.exercises.nb{notebook}" for notebook in build.names()
    }


@pytest.mark.parametrize("hidden", [False, True])
def test_no_verdict_passes_an_observation_with_cases_left_out(hidden):
    """Observations come from the student's kernel: one that leaves cases out (empty lists) must
    fail, not be judged on the cases that are there."""
    from autograder import exercises

    forged = {"values": [], "bad": [], "results": [], "ranges": [], "default": [1, 2]}
    for exercise in exercises.all_exercises():
        # checked outside the raises block, where calling a missing verdict would pass the test
        assert exercise.verdict is not None
        with pytest.raises(Exception):  # noqa: B017 - any failure will do
            exercise.verdict(dict(forged), 7, hidden)
    if hidden:  # the argument checks, which judge nothing in most self-checks, too
        for exercise in exercises.all_exercises():
            for part in exercise.parts[1:]:
                assert part.verdict is not None
                with pytest.raises(Exception):  # noqa: B017 - any failure will do
                    part.verdict(dict(forged), 7, hidden)


# --- the registry: exercises scored in parts ---------------------------------------------------


def test_the_parts_of_every_exercise_add_up_to_its_test_cells_points():
    from autograder import exercises
    from autograder.exercises.__main__ import points_of

    split = [exercise for exercise in exercises.all_exercises() if exercise.parts]
    assert len(split) == 15
    for exercise in split:
        names = [part.name for part in exercise.parts]
        assert names == [exercises.BEHAVIOUR, exercises.ARGUMENT_CHECKS], exercise.name
        points = [part.points for part in exercise.parts]
        assert all(value > 0 and (2 * value) % 1 == 0 for value in points), exercise.name
        assert sum(points) == points_of(exercise.notebook)[exercise.name], exercise.name


def _three_points(judge_behaviour, judge_arguments):
    """An exercise worth 2 + 1 points whose verdicts are the two functions given."""
    from autograder import exercises

    @exercises.exercise(
        "three_points",
        "00_test",
        reference="course_lib.x",
        parts={exercises.BEHAVIOUR: 2, exercises.ARGUMENT_CHECKS: 1},
    )
    class ThreePoints:
        probe = staticmethod(lambda fn, seed, hidden: {"value": kit.call(fn)})
        verdict = staticmethod(judge_behaviour)
        arguments = staticmethod(judge_arguments)

    return exercises.REGISTRY.pop("three_points")


def _fails(message, kind=CheckFailure):
    def verdict(observed, seed, hidden):
        raise kind(message)

    return verdict


def _passes(observed, seed, hidden):
    return None


def test_parts_are_judged_in_order_and_a_failed_argument_check_loses_only_its_share():
    from autograder.exercises import Judgement

    seen = []

    def behaviour(observed, seed, hidden):
        seen.append("behaviour")

    def arguments(observed, seed, hidden):
        seen.append("argument checks")
        raise CheckFailure("f with p_drop=1.5 must raise ValueError")

    judgement = _three_points(behaviour, arguments).judge({}, 1, True)
    assert isinstance(judgement, Judgement) and seen == ["behaviour", "argument checks"]
    assert (judgement.points, judgement.max_points, judgement.passed) == (2, 3, False)
    assert judgement.earned() == [2, 0]
    assert judgement.message == "argument checks: f with p_drop=1.5 must raise ValueError"
    assert judgement.summary() == (
        "behaviour passed (2 / 2 points); argument checks failed (0 / 1 point)"
    )
    whole = _three_points(_passes, _passes).judge({}, 1, True)
    assert (whole.points, whole.passed, whole.message) == (3, True, "")


def test_a_failing_behaviour_scores_nothing_whatever_the_argument_checks():
    """The argument checks are judged, and their message kept, but count only after a passing
    behaviour: what a probe reports of its bad calls is easy to forge in the kernel."""
    from autograder.exercises import Failed, NotImplementedYet, judge

    wrong = _three_points(_fails("the values are wrong"), _passes).judge({}, 1, True)
    assert (wrong.points, wrong.earned()) == (0, [0, 0])
    assert wrong.message == "behaviour: the values are wrong"
    assert wrong.summary() == (
        "behaviour failed (0 / 2 points); argument checks passed (0 / 1 point, counted once "
        "the behaviour passes)"
    )
    both = _three_points(_fails("wrong"), _fails("no ValueError")).judge({}, 1, True)
    assert both.points == 0 and both.message == "behaviour: wrong argument checks: no ValueError"
    # observations the verdict cannot read (forged, malformed): no judgement at all
    with pytest.raises(KeyError):
        _three_points(lambda observed, seed, hidden: observed["missing"], _passes).judge(
            {}, 1, True
        )
    # a function that is not written, or that raises, fails its probe: nothing is judged
    assert issubclass(Failed, CheckFailure) and issubclass(NotImplementedYet, CheckFailure)

    def not_written():
        raise NotImplementedError

    with pytest.raises(NotImplementedYet):
        _three_points(_passes, _passes).probe(not_written, 1, True)
    with pytest.raises(CheckFailure, match="must be a function"):
        judge("sample_mask", None, seed=1, hidden=True)  # pyright: ignore[reportArgumentType]


def test_an_exercise_scored_as_a_whole_is_one_unnamed_part():
    from autograder import exercises

    exercise = exercises.get("predictive_entropy")
    assert exercise.parts == ()
    assert exercise.verdict is not None
    observed = exercise.probe(lambda probs: "no", 1, False)
    judgement = exercise.judge(observed, 1, False)
    assert [part.name for part in judgement.parts] == [""]
    assert judgement.points == 0 and judgement.max_points == 1
    assert not judgement.message.startswith((":", "behaviour"))


def test_a_part_passes_only_if_it_passed_in_every_check():
    from autograder.exercises import combined

    self_check = _three_points(_passes, _fails("visible ValueError")).judge({}, 1, False)
    hidden = _three_points(_fails("hidden values"), _passes).judge({}, 1, True)
    both = combined([self_check, hidden])
    assert both.points == 0 and both.earned() == [0, 0]
    assert both.message == "behaviour: hidden values argument checks: visible ValueError"
    assert combined([hidden, hidden]) == hidden
    assert combined([self_check, self_check]).points == 2
    with pytest.raises(ValueError):
        combined([])


def test_the_self_check_prints_each_part_and_its_points(capsys):
    from autograder import exercises

    def unchecked_mask(shape, p_drop, *, rng):
        return rng.random(shape) < 1 - p_drop

    with pytest.raises(
        exercises.Failed, match=r"^argument checks: sample_mask with p_drop=1\.0"
    ) as info:
        exercises.check("sample_mask", unchecked_mask)
    assert info.value.judgement.points == 2
    assert capsys.readouterr().out == (
        "sample_mask: 2 / 3 points in these self-checks: behaviour passed (2 / 2 points); "
        "argument checks failed (0 / 1 point)\n"
    )
    exercises.check(
        "sample_mask", lambda shape, p_drop, *, rng: _checked(unchecked_mask, shape, p_drop, rng)
    )
    assert capsys.readouterr().out == "sample_mask: all self-checks passed\n"


def _checked(fn, shape, p_drop, rng):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    return fn(shape, p_drop, rng=rng)


@pytest.mark.parametrize(
    "parts,methods,message",
    [
        ({"argument checks": 1, "behaviour": 2}, ("verdict", "arguments"), "behaviour first"),
        ({"behaviour": 2, "speed": 1}, ("verdict",), "behaviour first"),
        ({"behaviour": 2.25, "argument checks": 0.75}, ("verdict", "arguments"), "whole or half"),
        (None, ("verdict", "arguments"), "no parts are given"),
        ({"behaviour": 2, "argument checks": 1}, ("verdict",), "no method arguments"),
    ],
)
def test_the_registry_refuses_parts_that_do_not_match_the_verdicts(parts, methods, message):
    from autograder import exercises

    body = {"probe": staticmethod(_passes), **{m: staticmethod(_passes) for m in methods}}
    with pytest.raises(ValueError, match=message):
        exercises.exercise("refused", "00_test", reference="course_lib.x", parts=parts)(
            type("Refused", (), body)
        )
    assert "refused" not in exercises.REGISTRY


# --- masks independent across samples and across units ---------------------------------------


def test_the_identical_draws_bound_is_the_union_bound_over_rows_and_columns():
    agree = 0.7**2 + 0.3**2
    assert kit.identical_draws_bound(200, 100, 0.3) == pytest.approx(
        math.comb(200, 2) * agree**100 + math.comb(100, 2) * agree**200, rel=1e-12
    )
    assert kit.identical_draws_bound(64, 64, 0.5) == pytest.approx(2 * 2016 * 2.0**-64)
    # the probes' square masks at p_drop = 1/2 are far inside the course's 1e-9; a thin mask at
    # p_drop = 0.1 is not (two of 300 rows of 64 units may coincide by chance)
    assert kit.identical_draws_bound(64, 64, 0.5) < 1e-15
    assert kit.identical_draws_bound(200, 100, 0.3) < 1e-19
    assert kit.identical_draws_bound(300, 64, 0.1) > 0.1
    assert kit.identical_draws_bound(2, 1, 0.5) == pytest.approx(0.5)  # one pair of rows


def _thin_half_batch(mask):
    mask[mask.shape[0] // 2 :] = mask[: mask.shape[0] - mask.shape[0] // 2]
    return mask


def _thin_neighbour_units(mask):
    mask[:, 1::2] = mask[:, 0 : 2 * (mask.shape[1] // 2) : 2]
    return mask


@pytest.mark.parametrize(
    "shape,p_drop", [((200, 100), 0.3), ((300, 64), 0.1), ((64, 32), 0.5), ((40, 500), 0.8)]
)
@pytest.mark.parametrize("seed", range(5))
def test_independent_masks_pass_and_shared_ones_fail_thin_or_wide(shape, p_drop, seed):
    rng = np.random.default_rng(seed)
    kit.assert_masks_independent(rng.random(shape) < 1 - p_drop, p_drop)
    kit.assert_masks_independent(rng.binomial(1, 1 - p_drop, shape[::-1]), p_drop)
    with pytest.raises(CheckFailure, match="reuse the mask of another sample"):
        kit.assert_masks_independent(_thin_half_batch(rng.random(shape) < 1 - p_drop), p_drop)
    with pytest.raises(CheckFailure, match=r"Units 0 and 1 agree|Neighbouring units agree"):
        kit.assert_masks_independent(_thin_neighbour_units(rng.random(shape) < 1 - p_drop), p_drop)


def test_anti_correlated_masks_are_not_independent_either():
    mask = np.random.default_rng(0).random((100, 80)) < 0.5
    mask[1::2] = ~mask[0::2]
    with pytest.raises(CheckFailure, match="agree on 0 of their 80 units"):
        kit.assert_masks_independent(mask, 0.5)


def test_the_commonest_sharings_keep_their_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(CheckFailure, match="one mask is shared by the whole batch"):
        kit.assert_masks_independent(np.tile(rng.random(50) < 0.5, (40, 1)), 0.5)
    with pytest.raises(CheckFailure, match="All channels of a sample share one draw"):
        kit.assert_masks_independent(
            np.tile(rng.random((40, 1)) < 0.5, (1, 30)), 0.5, units="channels", unit="channel"
        )

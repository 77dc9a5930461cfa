"""Inverted and standard dropout: properties, statistics with a stated alpha, gradients."""

import re

import numpy as np
import pytest
from hypothesis import given

from autograder.exercises import kit
from conftest import float_arrays, p_drops, peak_bytes, seeds
from course_lib import checks
from course_lib._validate import ArgumentTypeError
from course_lib.dropout import (
    CHUNK,
    DropoutCache,
    dropout_backward,
    dropout_forward,
    standard_dropout_backward,
    standard_dropout_forward,
)
from course_lib.gradcheck import numerical_gradient_array, relative_error
from course_lib.masks import BLOCK, sample_mask

ALPHA = 1e-9  # false-failure probability of each statistical assertion below
FORWARDS = [dropout_forward, standard_dropout_forward]
BACKWARDS = {dropout_forward: dropout_backward, standard_dropout_forward: standard_dropout_backward}


# --- properties (hypothesis) ------------------------------------------------------------------


@pytest.mark.parametrize("forward", FORWARDS)
@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_shape_dtype_and_input_untouched(forward, x, p_drop, seed):
    before = x.copy()
    for training in (True, False):
        out, cache = forward(x, p_drop, rng=np.random.default_rng(seed), training=training)
        assert out.shape == x.shape and out.dtype == x.dtype
        dx = BACKWARDS[forward](np.ones_like(x), cache)
        assert dx.shape == x.shape and dx.dtype == x.dtype
    assert np.array_equal(x, before, equal_nan=True)


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_inverted_inference_is_identity(x, p_drop, seed):
    out, cache = dropout_forward(x, p_drop, rng=np.random.default_rng(seed), training=False)
    assert np.array_equal(out, x)
    assert out is not x  # the caller may write into the output without touching x
    assert np.array_equal(dropout_backward(x, cache), x)


@pytest.mark.parametrize("forward", FORWARDS)
@given(x=float_arrays(), seed=seeds)
def test_p_drop_zero_is_identity_in_training(forward, x, seed):
    out, cache = forward(x, 0.0, rng=np.random.default_rng(seed))
    assert np.array_equal(out, x)
    assert np.array_equal(BACKWARDS[forward](x, cache), x)


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_standard_inference_scales_by_keep_prob(x, p_drop, seed):
    out, cache = standard_dropout_forward(
        x, p_drop, rng=np.random.default_rng(seed), training=False
    )
    keep_prob = np.asarray(1 - p_drop, dtype=x.dtype)
    assert np.array_equal(out, x * keep_prob)
    assert np.array_equal(
        standard_dropout_backward(np.ones_like(x), cache), np.full_like(x, keep_prob)
    )


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_outputs_are_zero_or_scaled_input(x, p_drop, seed):
    """Inverted: 0 or x / keep_prob; standard: 0 or x; both with the same mask for one seed."""
    inverted, _ = dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    standard, _ = standard_dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    kept = standard != 0
    assert np.array_equal(standard, np.where(kept, x, 0))
    expected = (x.astype(np.float64) / (1 - p_drop)).astype(x.dtype)
    np.testing.assert_allclose(inverted[kept], expected[kept], rtol=4 * np.finfo(x.dtype).eps)
    assert not np.any(inverted[~kept])


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_backward_uses_forward_mask(x, p_drop, seed):
    _, cache = dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    dout = np.ones_like(x)
    dx = dropout_backward(dout, cache)
    # d out_i / d x_i is 1/keep_prob for kept units and 0 for dropped ones, whatever x_i is
    np.testing.assert_allclose(
        dx,
        np.where(cache.mask if cache.mask is not None else True, 1 / (1 - p_drop), 0).astype(
            x.dtype
        ),
        rtol=4 * np.finfo(x.dtype).eps,
    )


# --- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inverted_output_passes_the_course_check(p_drop, dtype):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 2.0, size=(500, 400)).astype(dtype)
    out, _ = dropout_forward(x, p_drop, rng=rng)
    kit.check_inverted_dropout_output(x, out, p_drop, alpha=ALPHA)
    kit.assert_masks_independent(out != 0, p_drop, alpha=ALPHA)


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.9])
def test_inverted_dropout_preserves_the_expectation(p_drop):
    rng = np.random.default_rng(12)
    x = rng.uniform(-3, 3, size=1000)
    outs = [dropout_forward(x, p_drop, rng=rng)[0] for _ in range(200)]
    kit.assert_expectation_preserved(x, outs, p_drop, alpha=ALPHA)


@pytest.mark.parametrize("p_drop", [0.2, 0.5])
def test_standard_dropout_mean_is_keep_prob_times_input(p_drop):
    # E[out / x] = keep_prob for standard dropout in training; out / x is Bernoulli(keep_prob).
    rng = np.random.default_rng(13)
    x = rng.uniform(0.5, 1.5, size=200_000)
    out, _ = standard_dropout_forward(x, p_drop, rng=rng)
    keep_prob = 1 - p_drop
    checks.assert_mean_close(
        out / x, keep_prob, lower=0, upper=1, variance=keep_prob * p_drop, alpha=ALPHA
    )


def test_standard_and_inverted_agree_in_expectation_at_inference():
    """Train-time mean of inverted == its inference output; standard's likewise (keep_prob x)."""
    rng = np.random.default_rng(14)
    x = rng.uniform(1, 2, size=2000)
    p_drop = 0.4
    standard_train = np.mean(
        [standard_dropout_forward(x, p_drop, rng=rng)[0] for _ in range(400)], axis=0
    )
    standard_infer = standard_dropout_forward(x, p_drop, rng=rng, training=False)[0]
    # each entry of standard_train / x is a mean of 400 Bernoulli(0.6); pooled over entries the
    # overall mean is a mean of 800000 Bernoulli values
    checks.assert_mean_close(
        standard_train / x, float(np.mean(standard_infer / x)), lower=0, upper=1, alpha=ALPHA
    )


def test_uses_rng_only():
    x = np.random.default_rng(0).uniform(1, 2, size=(64, 64))
    kit.assert_uses_rng(lambda rng: dropout_forward(x, 0.5, rng=rng)[0], p_drop=0.5, alpha=ALPHA)


# --- memory and reproducibility ---------------------------------------------------------------


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1 << 16,), (100_000,), (2000, 2000)])
def test_forward_allocates_at_most_one_and_a_half_times_the_input(forward, dtype, shape):
    """Peak memory allocated by a forward pass in training, output and mask included, at sizes
    below, near and above a block of the mask: the block's random words are freed before the
    output is allocated, so they never add to it."""
    x = np.ones(shape, dtype=dtype)
    rng = np.random.default_rng(0)
    peak = peak_bytes(lambda: forward(x, 0.3, rng=rng))
    assert peak <= 1.5 * x.nbytes, f"peak {peak / x.nbytes:.2f} times the input"


def _replayed_mask(seed: int, n_entries: int, p_drop: float) -> np.ndarray:
    """The mask rule written out in one piece: all 16-bit draws first, then one uniform per tie."""
    rng = np.random.default_rng(seed)
    draws = rng.bit_generator.random_raw(-(-n_entries // 4)).view(np.uint16)[:n_entries]
    scaled = (1 - p_drop) * 2**16
    mask = draws < int(scaled)
    ties = np.flatnonzero(draws == int(scaled))
    if scaled > int(scaled) and ties.size:
        mask[ties] = rng.random(ties.size) < scaled - int(scaled)
    return mask


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("n_entries", [1, 7, BLOCK - 1, BLOCK, 3 * BLOCK + 5])
def test_mask_is_sample_masks_whatever_the_blocks(forward, n_entries):
    """Drawing by blocks changes nothing: the mask is the one-piece rule's for the same seed.

    The masks (and so every recorded training run) are the same as before the layer drew and
    applied its mask block by block; 3 blocks and a remainder hold about 6 ties at p_drop 0.3.
    """
    x = np.random.default_rng(1).standard_normal(n_entries).astype(np.float32)
    out, cache = forward(x, 0.3, rng=np.random.default_rng(42))
    expected = _replayed_mask(42, n_entries, 0.3)
    assert cache.mask is not None and np.array_equal(cache.mask, expected)
    assert np.array_equal(sample_mask(n_entries, 0.3, rng=np.random.default_rng(42)), expected)
    scale = cache.scale
    assert np.array_equal(out, (x * expected).astype(np.float32) * np.float32(scale))


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_chunks_change_nothing(layout):
    """Masking chunk by chunk (or in one piece, for a non-contiguous array) gives the values of
    ``x * mask * scale`` computed in one go, across chunk edges, forward and backward."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2 * CHUNK + 3, 2)).astype(np.float32)
    if layout == "transposed":
        x = x.T
    assert x.flags.c_contiguous == (layout == "contiguous")
    out, cache = dropout_forward(x, 0.3, rng=rng)
    assert cache.mask is not None
    scale = np.float32(cache.scale)
    assert np.array_equal(out, np.where(cache.mask, x * scale, np.float32(0)))
    dout = x[::-1].copy()
    assert np.array_equal(
        dropout_backward(dout, cache), np.where(cache.mask, dout * scale, np.float32(0))
    )


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("p_drop", [0.0, 0.3, 0.7])
def test_gradient_check(forward, training, p_drop):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((4, 7))
    dout = rng.standard_normal((4, 7))

    def f(point):  # a fresh generator with one seed: every evaluation sees the same mask
        return forward(point, p_drop, rng=np.random.default_rng(99), training=training)[0]

    _, cache = forward(x, p_drop, rng=np.random.default_rng(99), training=training)
    dx = BACKWARDS[forward](dout, cache)
    assert relative_error(dx, numerical_gradient_array(f, x, dout)) < 1e-7


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize(
    "p_drop,pattern",
    [
        (1.0, r"p_drop must be in \[0, 1\), got 1.0"),
        (-0.5, r"p_drop must be in \[0, 1\), got -0.5"),
        (1.2, r"p_drop must be in \[0, 1\), got 1.2"),
    ],
)
def test_bad_p_drop_names_argument_and_range(forward, p_drop, pattern, rng):
    with pytest.raises(ValueError, match=pattern):
        forward(np.ones(3), p_drop, rng=rng)


@pytest.mark.parametrize("forward", FORWARDS)
def test_integer_input_is_refused(forward, rng):
    with pytest.raises(ValueError, match="x must have a floating dtype"):
        forward(np.arange(3), 0.5, rng=rng)


def test_backward_rejects_foreign_cache_and_shape(rng):
    with pytest.raises(ValueError, match="cache"):  # a bare mask instead of the cache, on purpose
        dropout_backward(np.ones(3), np.ones(3, dtype=bool))  # pyright: ignore[reportArgumentType]
    _, cache = dropout_forward(np.ones(3), 0.5, rng=rng)
    with pytest.raises(ValueError, match=r"dout must have the forward input's shape \(3,\)"):
        dropout_backward(np.ones(4), cache)


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("training,p_drop", [(True, 0.5), (True, 0.0), (False, 0.5), (False, 0.0)])
@pytest.mark.parametrize("dout_shape", [(5, 7), (), (4, 1), (4, 3), (12,)])
def test_backward_checks_the_shape_of_dout_in_every_mode(
    forward, training, p_drop, dout_shape, rng
):
    """At inference and with p_drop = 0 (the first step of a gradient check) there is no mask,
    and dx = dout would pass any dout through: the cache keeps the input's shape for them too."""
    _, cache = forward(np.ones((3, 4)), p_drop, rng=rng, training=training)
    assert cache.shape == (3, 4)
    pattern = re.escape(f"dout must have the forward input's shape (3, 4), got {dout_shape}")
    with pytest.raises(ValueError, match=pattern):
        BACKWARDS[forward](np.ones(dout_shape), cache)


def test_a_cache_without_a_mask_needs_the_shape():
    assert DropoutCache(mask=np.ones((2, 5), dtype=bool), scale=2.0).shape == (2, 5)
    with pytest.raises(ValueError, match="DropoutCache needs the forward input's shape"):
        DropoutCache(mask=None, scale=1.0)


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("training", ["no", "False", 0, 1, None, np.float64(0.0), [True]])
def test_training_must_be_a_bool(forward, training, rng):
    """Any object is a condition in Python, so training="no" would train: only bools pass."""
    pattern = re.escape(f"training must be a bool (True or False), got {training!r}")
    with pytest.raises(ArgumentTypeError, match=pattern):
        forward(np.ones(3), 0.5, rng=rng, training=training)


@pytest.mark.parametrize("forward", FORWARDS)
@pytest.mark.parametrize("training", [True, False])
def test_numpy_bools_are_bools(forward, training):
    x = np.random.default_rng(2).standard_normal((4, 5))
    expected, _ = forward(x, 0.5, rng=np.random.default_rng(3), training=training)
    out, _ = forward(x, 0.5, rng=np.random.default_rng(3), training=np.bool_(training))
    assert np.array_equal(out, expected)


def test_cache_holds_mask_and_scale(rng):
    _, cache = dropout_forward(np.ones((2, 3)), 0.2, rng=rng)
    assert isinstance(cache, DropoutCache) and cache.mask is not None
    assert cache.mask.dtype == bool and cache.mask.shape == (2, 3)
    assert cache.scale == pytest.approx(1 / 0.8)

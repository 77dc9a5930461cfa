"""Spatial, Gaussian and alpha dropout and DropConnect: properties, statistics with a stated
alpha, gradients, and agreement with PyTorch where it is installed. SELU and the masks of
DropBlock, DropPath, concrete and targeted dropout: properties, exact keep rates, argument
checks."""

import math
import re
from typing import Literal, cast

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from autograder.exercises import kit
from conftest import FLOAT_DTYPES, float_arrays, p_drops, seeds
from course_lib import checks
from course_lib._validate import ArgumentTypeError
from course_lib.checks import assert_binomial_count, assert_mean_close
from course_lib.gradcheck import numerical_gradient_array, relative_error
from course_lib.masks import sample_mask
from course_lib.variants import (
    ALPHA_PRIME,
    SELU_ALPHA,
    SELU_SCALE,
    AlphaDropoutCache,
    DropConnectCache,
    GaussianDropoutCache,
    SpatialDropoutCache,
    alpha_dropout_affine,
    alpha_dropout_backward,
    alpha_dropout_forward,
    dropblock_mask,
    dropconnect_backward,
    dropconnect_forward,
    gaussian_dropout_backward,
    gaussian_dropout_forward,
    linear_decay_rates,
    relaxed_drop,
    sample_active_blocks,
    selu,
    spatial_dropout_backward,
    spatial_dropout_forward,
    targeted_keep_mask,
)

ALPHA = 1e-9  # false-failure probability of each statistical assertion below

BACKWARDS = {
    spatial_dropout_forward: spatial_dropout_backward,
    gaussian_dropout_forward: gaussian_dropout_backward,
    alpha_dropout_forward: alpha_dropout_backward,
}
UNIT_FORWARDS = list(BACKWARDS)  # the variants with the (x, p_drop) signature


def _elements(dtype, bound):
    width = cast(Literal[16, 32, 64], np.dtype(dtype).itemsize * 8)  # bits of a float dtype
    return st.floats(-bound, bound, width=width, allow_subnormal=False)


# (N, C, H, W) feature maps of any float dtype, including empty ones
feature_maps = FLOAT_DTYPES.flatmap(
    lambda dt: hnp.arrays(
        dt,
        hnp.array_shapes(min_dims=4, max_dims=4, min_side=0, max_side=5),
        elements=_elements(dt, 100),
    )
)


@st.composite
def dense_layers(draw):
    """``(x, W, b)`` of one float dtype, shapes (N, D), (D, M), (M,); small values so that
    ``x @ W / keep_prob`` stays finite in float16."""
    dtype = draw(FLOAT_DTYPES)
    n, d, m = draw(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)))
    return tuple(
        draw(hnp.arrays(dtype, shape, elements=_elements(dtype, 10)))
        for shape in ((n, d), (d, m), (m,))
    )


def _inputs_for(forward):
    return feature_maps if forward is spatial_dropout_forward else float_arrays()


# --- properties (hypothesis) ------------------------------------------------------------------


@pytest.mark.parametrize("forward", UNIT_FORWARDS)
@given(data=st.data(), p_drop=p_drops, seed=seeds)
def test_shape_dtype_and_input_untouched(forward, data, p_drop, seed):
    x = data.draw(_inputs_for(forward))
    before = x.copy()
    for training in (True, False):
        out, cache = forward(x, p_drop, rng=np.random.default_rng(seed), training=training)
        assert isinstance(out, np.ndarray) and out.shape == x.shape and out.dtype == x.dtype
        dx = BACKWARDS[forward](np.ones_like(x), cache)
        assert isinstance(dx, np.ndarray) and dx.shape == x.shape and dx.dtype == x.dtype
    assert np.array_equal(x, before, equal_nan=True)


@pytest.mark.parametrize("forward", UNIT_FORWARDS)
@given(data=st.data(), p_drop=p_drops, seed=seeds)
def test_inference_and_p_drop_zero_are_the_identity(forward, data, p_drop, seed):
    x = data.draw(_inputs_for(forward))
    for rate, training in ((p_drop, False), (0.0, True)):
        out, cache = forward(x, rate, rng=np.random.default_rng(seed), training=training)
        assert np.array_equal(out, x)
        assert out is not x  # the caller may write into the output without touching x
        assert np.array_equal(BACKWARDS[forward](x, cache), x)


@given(x=feature_maps, p_drop=p_drops, seed=seeds)
def test_spatial_drops_whole_channels(x, p_drop, seed):
    out, cache = spatial_dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    if cache.mask is None:  # p_drop == 0
        return
    n, c = x.shape[:2]
    assert cache.mask.dtype == bool and cache.mask.shape == (n, c, 1, 1)
    kept = np.broadcast_to(cache.mask, x.shape)
    expected = (x.astype(np.float64) / (1 - p_drop)).astype(x.dtype)
    np.testing.assert_allclose(out[kept], expected[kept], rtol=4 * np.finfo(x.dtype).eps)
    assert not np.any(out[~kept])
    dx = spatial_dropout_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(
        dx, np.where(kept, 1 / (1 - p_drop), 0).astype(x.dtype), rtol=4 * np.finfo(x.dtype).eps
    )


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_gaussian_output_is_input_times_the_cached_noise(x, p_drop, seed):
    out, cache = gaussian_dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    if cache.noise is None:  # p_drop == 0
        return
    assert cache.noise.shape == x.shape and cache.noise.dtype in (np.float32, np.float64)
    expected = (x.astype(np.float64) * cache.noise).astype(x.dtype)
    np.testing.assert_allclose(out, expected, rtol=4 * np.finfo(x.dtype).eps)
    dx = gaussian_dropout_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(dx, cache.noise.astype(x.dtype))


@given(x=float_arrays(), p_drop=p_drops, seed=seeds)
def test_alpha_outputs_are_affine_in_kept_units_and_constant_in_dropped(x, p_drop, seed):
    out, cache = alpha_dropout_forward(x, p_drop, rng=np.random.default_rng(seed))
    if cache.mask is None:  # p_drop == 0
        return
    a, b = alpha_dropout_affine(p_drop)
    reference = np.where(cache.mask, a * x.astype(np.float64) + b, a * ALPHA_PRIME + b)
    # two roundings in x's dtype (a * x, then + b), each within half an ulp of its result, or
    # half the smallest subnormal when it underflows (b ~ 1e-9 is 0 in float16)
    info = np.finfo(x.dtype)
    tolerance = (
        2 * info.eps * (np.abs(a * x.astype(np.float64)) + abs(b) + np.abs(reference))
        + info.smallest_subnormal
    )
    assert np.all(np.abs(out - reference) <= tolerance)
    dx = alpha_dropout_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(dx, np.where(cache.mask, a, 0).astype(x.dtype), rtol=2 * info.eps)


@given(layer=dense_layers(), p_drop=p_drops, seed=seeds)
def test_dropconnect_shape_dtype_and_inputs_untouched(layer, p_drop, seed):
    x, W, b = layer
    before = [array.copy() for array in layer]
    for training in (True, False):
        out, cache = dropconnect_forward(
            x, W, b, p_drop, rng=np.random.default_rng(seed), training=training
        )
        assert out.shape == (x.shape[0], W.shape[1]) and out.dtype == x.dtype
        grads = dropconnect_backward(np.ones_like(out), cache)
        for grad, array in zip(grads, layer):
            assert isinstance(grad, np.ndarray)
            assert grad.shape == array.shape and grad.dtype == array.dtype
    for array, original in zip(layer, before):
        assert np.array_equal(array, original, equal_nan=True)


@given(layer=dense_layers(), p_drop=p_drops, seed=seeds)
def test_dropconnect_inference_and_p_drop_zero_are_the_dense_layer(layer, p_drop, seed):
    x, W, b = layer
    dout = np.ones((x.shape[0], W.shape[1]), dtype=x.dtype)
    for rate, training in ((p_drop, False), (0.0, True)):
        out, cache = dropconnect_forward(
            x, W, b, rate, rng=np.random.default_rng(seed), training=training
        )
        assert np.array_equal(out, x @ W + b)
        dx, dW, db = dropconnect_backward(dout, cache)
        assert np.array_equal(dx, dout @ W.T)
        assert np.array_equal(dW, x.T @ dout)
        assert np.array_equal(db, dout.sum(axis=0))


@given(layer=dense_layers(), p_drop=p_drops, seed=seeds)
def test_dropconnect_uses_one_weight_mask_per_sample(layer, p_drop, seed):
    x, W, b = layer
    out, cache = dropconnect_forward(x, W, b, p_drop, rng=np.random.default_rng(seed))
    if cache.mask is None:  # p_drop == 0
        return
    assert cache.mask.dtype == bool and cache.mask.shape == (x.shape[0], *W.shape)
    thinned = np.where(cache.mask, W.astype(np.float64) / (1 - p_drop), 0)
    expected = np.einsum("nd,ndm->nm", x.astype(np.float64), thinned) + b
    eps = float(np.finfo(x.dtype).eps)
    # the products and sums in x's dtype: error below (D + 3) eps times the sum of |terms|
    magnitude = np.einsum("nd,ndm->nm", np.abs(x.astype(np.float64)), np.abs(thinned)) + abs(b)
    assert np.all(np.abs(out - expected) <= (W.shape[0] + 3) * eps * magnitude)


# --- statistics --------------------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_spatial_masks_are_per_channel_and_binomial(p_drop):
    rng = np.random.default_rng(21)
    x = rng.uniform(0.5, 2.0, size=(300, 64, 5, 6))
    out, _ = spatial_dropout_forward(x, p_drop, rng=rng)
    kept = out != 0
    # exact: a channel is kept or dropped as a whole
    assert np.array_equal(kept, np.broadcast_to(kept[:, :, :1, :1], kept.shape))
    # each channel is one unit: scale exact, kept count Binomial(N * C, keep_prob), alpha each
    kit.check_inverted_dropout_output(x[:, :, 0, 0], out[:, :, 0, 0], p_drop, alpha=ALPHA)
    kit.assert_masks_independent(kept[:, :, 0, 0], p_drop, alpha=ALPHA)


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_noise_has_mean_one_and_variance_p_over_keep(p_drop, dtype):
    rng = np.random.default_rng(22)
    x = rng.uniform(0.5, 2.0, size=1_000_000).astype(dtype)
    out, _ = gaussian_dropout_forward(x, p_drop, rng=rng)
    # out / x - 1 is the noise minus 1: N(0, p_drop / keep_prob) exactly (float32 rounding,
    # ~1e-7, is far below the tolerance of ~1e-2 relative); exact z-test and chi-square test
    centred = out.astype(np.float64) / x.astype(np.float64) - 1.0
    variance = p_drop / (1 - p_drop)
    checks.assert_normal_mean(centred, 0.0, variance=variance, alpha=ALPHA)
    checks.assert_normal_variance(centred, variance, alpha=ALPHA)


def test_gaussian_noise_is_normal():
    """Kolmogorov-Smirnov's exact test: P(p-value <= ALPHA) = ALPHA for a correct layer."""
    rng = np.random.default_rng(23)
    x = rng.uniform(0.5, 2.0, size=5000)
    p_drop = 0.3
    out, _ = gaussian_dropout_forward(x, p_drop, rng=rng)
    standardized = (out / x - 1.0) / math.sqrt(p_drop / (1 - p_drop))
    assert stats.kstest(standardized, "norm", method="exact").pvalue > ALPHA


def _alpha_dropout_moment_radii(n, k, p_drop, alpha):
    """Radii for ``|mean(out)|`` and ``|mean(out**2) - 1|`` of alpha dropout on N(0, 1) inputs.

    With ``c = a * alpha' + b`` (a dropped unit) and ``S = sum of the kept x``, ``C = sum of
    their squares``, given ``k`` kept units ``S ~ N(0, k)`` and ``C ~ chi2(k)`` exactly, and

        mean(out)          = (k - n q) (b - c) / n + a S / n
        mean(out**2) - 1   = (k - n q) (a**2 + b**2 - c**2) / n + a**2 (C - k + 2 (b / a) S) / n.

    The union of three events bounds both: ``k`` in its binomial acceptance region, ``|S|`` and
    ``C`` within their two-sided quantiles, each spending ``alpha / 3``.
    """
    keep_prob = 1 - p_drop
    a, b = alpha_dropout_affine(p_drop)
    c = a * ALPHA_PRIME + b
    lo, hi = checks.binomial_acceptance(n, keep_prob, alpha / 3)
    k_spread = max(n * keep_prob - lo, hi - n * keep_prob)
    s_bound = stats.norm.isf(alpha / 6) * math.sqrt(k)
    c_bound = max(k - stats.chi2.ppf(alpha / 6, k), stats.chi2.isf(alpha / 6, k) - k)
    mean_radius = (k_spread * abs(b - c) + a * s_bound) / n
    second_radius = (
        k_spread * abs(a**2 + b**2 - c**2) + a**2 * (c_bound + 2 * abs(b / a) * s_bound)
    ) / n
    return mean_radius, second_radius, (lo, hi)


@pytest.mark.parametrize("p_drop", [0.05, 0.2, 0.5])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(p_drop):
    rng = np.random.default_rng(24)
    n = 1_000_000
    x = rng.standard_normal(n)
    out, _ = alpha_dropout_forward(x, p_drop, rng=rng)
    a, b = alpha_dropout_affine(p_drop)
    dropped_value = a * ALPHA_PRIME + b
    # a kept output equals the dropped value only if x == alpha' exactly: probability 0
    dropped = np.isclose(out, dropped_value, rtol=1e-12, atol=0)
    kept_count = n - int(dropped.sum())
    # one assertion, alpha = ALPHA in total (a third each to k, S and C; see the helper)
    mean_radius, second_radius, (lo, hi) = _alpha_dropout_moment_radii(n, kept_count, p_drop, ALPHA)
    assert lo <= kept_count <= hi
    assert abs(out.mean()) <= mean_radius
    assert abs(np.mean(out**2) - 1.0) <= second_radius


@pytest.mark.parametrize("p_drop", [0.05, 0.2, 0.5])
def test_alpha_dropout_given_the_mask(p_drop):
    """Conditional on the mask: dropped units are the constant, kept ones are N(b, a**2)."""
    rng = np.random.default_rng(25)
    n = 1_000_000
    x = rng.standard_normal(n)
    out, _ = alpha_dropout_forward(x, p_drop, rng=rng)
    keep_prob = 1 - p_drop
    a, b = alpha_dropout_affine(p_drop)
    dropped_value = a * ALPHA_PRIME + b
    dropped = np.isclose(out, dropped_value, rtol=1e-12, atol=0)
    # alpha = ALPHA for each of the three assertions
    checks.assert_binomial_count(
        n - int(dropped.sum()), n, keep_prob, alpha=ALPHA, what="kept units"
    )
    checks.assert_normal_mean(out[~dropped], b, variance=a**2, alpha=ALPHA)
    checks.assert_normal_variance(out[~dropped], a**2, mean=b, alpha=ALPHA)
    # and those three laws have mean 0, variance 1 together (exact algebra)
    assert keep_prob * b + p_drop * dropped_value == pytest.approx(0.0, abs=1e-14)
    assert keep_prob * (a**2 + b**2) + p_drop * dropped_value**2 == pytest.approx(1.0, rel=1e-14)


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_dropconnect_keeps_each_weight_with_keep_prob(p_drop):
    """One-hot inputs read the mask off the output: x[n] = e_d gives W[d] * mask[n, d] / keep."""
    rng = np.random.default_rng(26)
    d, m, repeats = 8, 50, 500
    x = np.tile(np.eye(d), (repeats, 1))  # sample n reads weight row n % d
    W = rng.uniform(1.0, 2.0, size=(d, m))
    out, _ = dropconnect_forward(x, W, np.zeros(m), p_drop, rng=rng)
    weights_seen = np.tile(W, (repeats, 1))
    # scale exact; kept weights Binomial(N * M, keep_prob) (alpha)
    kit.check_inverted_dropout_output(weights_seen, out, p_drop, alpha=ALPHA)
    # samples reading the same weight row must see independent masks (alpha)
    same_row = (out != 0).reshape(repeats, d, m)
    kit.assert_masks_independent(same_row, p_drop, alpha=ALPHA)


@pytest.mark.parametrize("p_drop", [0.2, 0.5, 0.8])
def test_dropconnect_expected_output_is_the_dense_layer(p_drop):
    rng = np.random.default_rng(27)
    n, d, m = 2000, 20, 30
    x = rng.uniform(0.5, 1.5, size=(n, d))
    W = rng.uniform(0.5, 1.5, size=(d, m))
    b = rng.uniform(-1.0, 1.0, size=m)
    out, _ = dropconnect_forward(x, W, b, p_drop, rng=rng)
    keep_prob = 1 - p_drop
    dense = x @ W
    # positive terms: ratio = (out - b) / (x @ W) lies in [0, 1 / keep_prob], has mean 1 and
    # variance (p_drop / keep_prob) * sum_d (x_d W_dm)**2 / (x @ W)**2; the entries are
    # independent (independent masks), so Bernstein's bound holds with the largest variance
    terms_squared = (x**2) @ (W**2)
    variance = float(np.max(p_drop / keep_prob * terms_squared / dense**2))
    # (1 + 1e-12): room for rounding when all weights of an entry are kept; a wider range
    # keeps the bound valid
    checks.assert_mean_close(
        (out - b) / dense,
        1.0,
        lower=0.0,
        upper=(1 + 1e-12) / keep_prob,
        variance=variance,
        alpha=ALPHA,
        what="mean of (out - b) / (x @ W)",
    )


@pytest.mark.parametrize(
    "make_output",
    [
        lambda rng, x: spatial_dropout_forward(x.reshape(64, 64, 1, 1), 0.5, rng=rng)[0],
        lambda rng, x: gaussian_dropout_forward(x, 0.5, rng=rng)[0],
        lambda rng, x: alpha_dropout_forward(x, 0.5, rng=rng)[0],
        lambda rng, x: dropconnect_forward(x[:8], x[:64, :16], x[0, :16], 0.5, rng=rng)[0],
    ],
    ids=["spatial", "gaussian", "alpha", "dropconnect"],
)
def test_randomness_comes_from_rng_only(make_output):
    x = np.random.default_rng(0).uniform(1, 2, size=(64, 64))
    first = make_output(np.random.default_rng(5), x)
    assert np.array_equal(first, make_output(np.random.default_rng(5), x))
    assert not np.array_equal(first, make_output(np.random.default_rng(6), x))


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("forward", UNIT_FORWARDS)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("p_drop", [0.0, 0.3, 0.7])
def test_gradient_check(forward, training, p_drop):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((3, 4, 2, 3))
    dout = rng.standard_normal(x.shape)

    def f(point):  # a fresh generator with one seed: every evaluation sees the same mask
        return forward(point, p_drop, rng=np.random.default_rng(99), training=training)[0]

    _, cache = forward(x, p_drop, rng=np.random.default_rng(99), training=training)
    dx = BACKWARDS[forward](dout, cache)
    assert relative_error(dx, numerical_gradient_array(f, x, dout)) < 1e-7


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("p_drop", [0.0, 0.3, 0.7])
def test_dropconnect_gradient_check(training, p_drop):
    rng = np.random.default_rng(32)
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))

    def forward(x_, W_, b_):  # one seed: every evaluation sees the same weight masks
        return dropconnect_forward(
            x_, W_, b_, p_drop, rng=np.random.default_rng(99), training=training
        )[0]

    _, cache = dropconnect_forward(
        x, W, b, p_drop, rng=np.random.default_rng(99), training=training
    )
    dx, dW, db = dropconnect_backward(dout, cache)
    assert relative_error(dx, numerical_gradient_array(lambda v: forward(v, W, b), x, dout)) < 1e-7
    assert relative_error(dW, numerical_gradient_array(lambda v: forward(x, v, b), W, dout)) < 1e-7
    assert relative_error(db, numerical_gradient_array(lambda v: forward(x, W, v), b, dout)) < 1e-7


# --- agreement with PyTorch -------------------------------------------------------------------


def test_alpha_prime_is_selus_negative_saturation():
    assert pytest.approx(-SELU_SCALE * SELU_ALPHA, rel=1e-15) == ALPHA_PRIME
    torch = pytest.importorskip("torch")
    saturated = torch.nn.functional.selu(torch.tensor(-60.0, dtype=torch.float64)).item()
    assert saturated == pytest.approx(ALPHA_PRIME, rel=1e-15)


@pytest.mark.parametrize("p_drop", [0.1, 0.5, 0.9])
def test_alpha_dropout_matches_torch(p_drop):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(41).standard_normal(100_000)
    torch.manual_seed(41)
    out_torch = torch.nn.functional.alpha_dropout(
        torch.from_numpy(x), p_drop, training=True
    ).numpy()
    # torch's dropped units all share the one most frequent output value
    values, counts = np.unique(out_torch, return_counts=True)
    dropped_torch = out_torch == values[np.argmax(counts)]
    slope, intercept = np.polyfit(x[~dropped_torch], out_torch[~dropped_torch], 1)
    a, b = alpha_dropout_affine(p_drop)
    assert slope == pytest.approx(a, rel=1e-12) and intercept == pytest.approx(b, abs=1e-12)
    assert values[np.argmax(counts)] == pytest.approx(a * ALPHA_PRIME + b, rel=1e-12)
    # where the two masks agree (both kept or both dropped) the outputs must agree
    out, cache = alpha_dropout_forward(x, p_drop, rng=np.random.default_rng(42))
    assert cache.mask is not None  # a mask is drawn in training
    same = cache.mask == ~dropped_torch
    assert same[cache.mask].any() and same[~cache.mask].any()
    np.testing.assert_allclose(out[same], out_torch[same], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("p_drop", [0.2, 0.6])
def test_gaussian_noise_variance_matches_a_torch_reference(p_drop):
    """Same variance as ``x * (1 + sqrt(p / (1 - p)) * randn)`` drawn by torch: exact F-test."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(43).uniform(0.5, 2.0, size=200_000)
    torch.manual_seed(43)
    std = math.sqrt(p_drop / (1 - p_drop))
    out_torch = torch.from_numpy(x) * (1 + std * torch.randn(x.shape, dtype=torch.float64))
    out, _ = gaussian_dropout_forward(x, p_drop, rng=np.random.default_rng(44))
    checks.assert_equal_normal_variances(out / x - 1, out_torch.numpy() / x - 1, alpha=ALPHA)


@pytest.mark.parametrize("p_drop", [0.3, 0.7])
def test_spatial_mask_has_dropout2d_semantics(p_drop):
    torch = pytest.importorskip("torch")
    shape = (6, 5, 4, 3)
    torch.manual_seed(45)
    out_torch = torch.nn.functional.dropout2d(
        torch.ones(shape, dtype=torch.float64), p_drop, training=True
    ).numpy()
    out, cache = spatial_dropout_forward(np.ones(shape), p_drop, rng=np.random.default_rng(45))
    for output in (out_torch, out):
        kept = output != 0
        # one entry per (sample, channel), broadcast over H and W, kept units scaled alike
        assert np.array_equal(kept, np.broadcast_to(kept[:, :, :1, :1], shape))
        np.testing.assert_allclose(output[kept], 1 / (1 - p_drop), rtol=1e-15)
    assert cache.mask is not None  # a mask is drawn in training
    assert cache.mask.shape == (out_torch != 0)[:, :, :1, :1].shape == (6, 5, 1, 1)


# --- errors -----------------------------------------------------------------------------------


def _call_with_p_drop(name, p_drop, rng):
    x = np.ones((2, 3, 4, 5))
    if name == "dropconnect":
        return dropconnect_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), p_drop, rng=rng)
    if name == "affine":
        return alpha_dropout_affine(p_drop)
    forward = {
        "spatial": spatial_dropout_forward,
        "gaussian": gaussian_dropout_forward,
        "alpha": alpha_dropout_forward,
    }[name]
    return forward(x, p_drop, rng=rng)


@pytest.mark.parametrize("name", ["spatial", "gaussian", "alpha", "dropconnect", "affine"])
@pytest.mark.parametrize(
    "p_drop,pattern",
    [
        (1.0, r"p_drop must be in \[0, 1\), got 1.0"),
        (-0.5, r"p_drop must be in \[0, 1\), got -0.5"),
        (1.2, r"p_drop must be in \[0, 1\), got 1.2"),
    ],
)
def test_bad_p_drop_names_argument_and_range(name, p_drop, pattern, rng):
    with pytest.raises(ValueError, match=pattern):
        _call_with_p_drop(name, p_drop, rng)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (1, 2, 3, 4, 5), ()])
def test_spatial_requires_four_dimensions(shape, rng):
    pattern = rf"x must have 4 dimensions \(N, C, H, W\), got shape {re.escape(str(shape))}"
    with pytest.raises(ValueError, match=pattern):
        spatial_dropout_forward(np.ones(shape), 0.5, rng=rng)


@pytest.mark.parametrize(
    "x_shape,W_shape,b_shape,pattern",
    [
        (
            (2, 3),
            (4, 5),
            (5,),
            r"W must have shape \(D, M\) with D = 3 \(the second dimension of x\), "
            r"got shape \(4, 5\)",
        ),
        ((2, 3), (3,), (5,), r"W must have 2 dimensions \(D, M\), got shape \(3,\)"),
        ((3,), (3, 5), (5,), r"x must have 2 dimensions \(N, D\), got shape \(3,\)"),
        ((2, 3), (3, 5), (4,), r"b must have shape \(M,\) = \(5,\) to match W, got shape \(4,\)"),
        (
            (2, 3),
            (3, 5),
            (1, 5),
            r"b must have shape \(M,\) = \(5,\) to match W, got shape \(1, 5\)",
        ),
    ],
)
def test_dropconnect_shape_mismatch_names_the_argument(x_shape, W_shape, b_shape, pattern, rng):
    with pytest.raises(ValueError, match=pattern):
        dropconnect_forward(np.ones(x_shape), np.ones(W_shape), np.ones(b_shape), 0.5, rng=rng)


@pytest.mark.parametrize("forward", UNIT_FORWARDS)
def test_integer_input_is_refused(forward, rng):
    with pytest.raises(ValueError, match="x must have a floating dtype"):
        forward(np.ones((2, 2, 2, 2), dtype=int), 0.5, rng=rng)


@pytest.mark.parametrize("argument", ["x", "W", "b"])
def test_dropconnect_integer_arguments_are_refused(argument, rng):
    layer = {"x": np.ones((2, 3)), "W": np.ones((3, 4)), "b": np.ones(4)}
    layer[argument] = layer[argument].astype(int)
    with pytest.raises(ValueError, match=f"{argument} must have a floating dtype"):
        dropconnect_forward(layer["x"], layer["W"], layer["b"], 0.5, rng=rng)


def test_random_functions_require_a_generator():
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        gaussian_dropout_forward(np.ones(3), 0.5, rng=0)  # pyright: ignore[reportArgumentType] - the wrong type under test


def _forward_with_training(name, training, rng):
    x = np.ones((2, 3, 4, 5))
    if name == "dropconnect":
        return dropconnect_forward(
            np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), 0.5, rng=rng, training=training
        )
    forward = {
        "spatial": spatial_dropout_forward,
        "gaussian": gaussian_dropout_forward,
        "alpha": alpha_dropout_forward,
    }[name]
    return forward(x, 0.5, rng=rng, training=training)


@pytest.mark.parametrize("name", ["spatial", "gaussian", "alpha", "dropconnect"])
@pytest.mark.parametrize("training", ["no", 0, 1, None])
def test_training_must_be_a_bool(name, training, rng):
    """Any object is a condition in Python, so training="no" would train: only bools pass."""
    pattern = re.escape(f"training must be a bool (True or False), got {training!r}")
    with pytest.raises(ArgumentTypeError, match=pattern):
        _forward_with_training(name, training, rng)


@pytest.mark.parametrize("name", ["spatial", "gaussian", "alpha", "dropconnect"])
@pytest.mark.parametrize("training", [True, False])
def test_numpy_bools_are_bools(name, training):
    expected, _ = _forward_with_training(name, training, np.random.default_rng(1))
    out, _ = _forward_with_training(name, np.bool_(training), np.random.default_rng(1))
    assert np.array_equal(out, expected)


@pytest.mark.parametrize(
    "forward,cache_type",
    [
        (spatial_dropout_forward, SpatialDropoutCache),
        (gaussian_dropout_forward, GaussianDropoutCache),
        (alpha_dropout_forward, AlphaDropoutCache),
    ],
)
@pytest.mark.parametrize("training", [True, False])
def test_backward_rejects_foreign_cache_and_shape(forward, cache_type, training, rng):
    x = np.ones((2, 3, 4, 5))
    _, cache = forward(x, 0.5, rng=rng, training=training)
    assert isinstance(cache, cache_type)
    with pytest.raises(ValueError, match=f"cache must be the {cache_type.__name__}"):
        BACKWARDS[forward](x, np.ones(x.shape, dtype=bool))
    with pytest.raises(
        ValueError,
        match=r"dout must have the forward input's shape "
        r"\(2, 3, 4, 5\), got \(2, 3, 4, 4\)",
    ):
        BACKWARDS[forward](np.ones((2, 3, 4, 4)), cache)


@pytest.mark.parametrize("training", [True, False])
def test_dropconnect_backward_rejects_foreign_cache_and_shape(training, rng):
    _, cache = dropconnect_forward(
        np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), 0.5, rng=rng, training=training
    )
    assert isinstance(cache, DropConnectCache)
    with pytest.raises(ValueError, match="cache must be the DropConnectCache"):
        dropconnect_backward(np.ones((2, 4)), None)  # pyright: ignore[reportArgumentType] - the wrong type under test
    with pytest.raises(
        ValueError,
        match=r"dout must have the forward output's shape \(2, 4\), "
        r"got \(2, 3\)",
    ):
        dropconnect_backward(np.ones((2, 3)), cache)


# --- the assertions these tests added to course_lib.checks ------------------------------------


def test_normal_mean_and_variance_ratio_checks_pass_and_fail():
    rng = np.random.default_rng(51)
    samples = rng.normal(0.5, 2.0, size=100_000)
    checks.assert_normal_mean(samples, 0.5, variance=4.0, alpha=ALPHA)
    with pytest.raises(checks.CheckFailure, match=r"expected 0.6"):
        checks.assert_normal_mean(samples, 0.6, variance=4.0, alpha=ALPHA)
    other = rng.normal(0.0, 2.0, size=50_000)
    checks.assert_equal_normal_variances(samples - 0.5, other, alpha=ALPHA)
    with pytest.raises(checks.CheckFailure, match="variance ratio"):
        checks.assert_equal_normal_variances(samples - 0.5, 1.1 * other, alpha=ALPHA)


# --- SELU and the variants notebook 05 illustrates: DropBlock, DropPath, concrete, targeted ----


@given(x=float_arrays())
def test_selu_shape_dtype_and_formula(x):
    before = x.copy()
    out = np.asarray(selu(x))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert np.array_equal(x, before)
    wide = x.astype(np.float64)
    exact = SELU_SCALE * np.where(wide > 0, wide, SELU_ALPHA * np.expm1(np.minimum(wide, 0)))
    # a few roundings in x's dtype (expm1, two products), each within half an ulp
    np.testing.assert_allclose(
        out.astype(np.float64),
        exact,
        rtol=8 * np.finfo(x.dtype).eps,
        atol=8 * np.finfo(x.dtype).smallest_normal,
    )


@given(x=float_arrays())
def test_selu_is_increasing_and_bounded_below_by_alpha_prime(x):
    ordered = np.sort(x.ravel())
    out = np.asarray(selu(ordered))
    assert np.all(np.diff(out.astype(np.float64)) >= 0)
    assert np.all(out >= ALPHA_PRIME * (1 + 4 * np.finfo(x.dtype).eps))


def test_selu_saturates_at_alpha_prime():
    assert selu(np.array(-60.0)) == pytest.approx(ALPHA_PRIME, rel=1e-12)
    assert selu(np.array(2.0)) == pytest.approx(2 * SELU_SCALE)


def test_selu_keeps_a_standard_normal_input_at_mean_0_and_variance_1():
    # the self-normalizing fixed point, by quadrature (no sampling): E selu(z) = 0, E selu(z)^2 = 1
    from scipy import integrate

    def moment(k):
        return integrate.quad(
            lambda z: float(selu(np.array(z))) ** k * stats.norm.pdf(z),
            -np.inf,
            np.inf,
            epsabs=1e-12,
        )[0]

    assert moment(1) == pytest.approx(0.0, abs=1e-8)
    assert moment(2) == pytest.approx(1.0, abs=1e-8)


@st.composite
def dropblock_calls(draw):
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w)
    return shape, draw(st.integers(1, min(h, w)))


@given(call=dropblock_calls(), p_drop=p_drops, seed=seeds)
def test_dropblock_drops_whole_blocks(call, p_drop, seed):
    shape, block_size = call
    mask = dropblock_mask(shape, p_drop, block_size, rng=np.random.default_rng(seed))
    assert mask.shape == shape and mask.dtype == bool
    assert np.array_equal(
        mask, dropblock_mask(shape, p_drop, block_size, rng=np.random.default_rng(seed))
    )
    # the dropped pixels are exactly a union of block_size x block_size squares inside the map
    dropped = ~mask
    windows = np.lib.stride_tricks.sliding_window_view(
        dropped, (block_size, block_size), axis=(2, 3)
    )
    whole = windows.all(axis=(-2, -1))
    covered = np.zeros_like(dropped)
    rows, cols = windows.shape[2:4]
    for di in range(block_size):
        for dj in range(block_size):
            covered[:, :, di : di + rows, dj : dj + cols] |= whole
    assert np.array_equal(covered, dropped)
    if p_drop == 0.0:
        assert mask.all()


def _corners_covering(side: int, block_size: int) -> np.ndarray:
    """For each position along one side, how many block corners put it inside their block."""
    starts = side - block_size + 1
    position = np.arange(side)
    return np.minimum(position, starts - 1) - np.maximum(0, position - block_size + 1) + 1


@pytest.mark.parametrize("p_drop,block_size", [(0.3, 1), (0.3, 3), (0.5, 4), (0.1, 6)])
def test_dropblock_keeps_each_pixel_with_its_exact_probability(p_drop, block_size):
    # A pixel inside k possible blocks is kept when none of their corners is drawn:
    # (1 - gamma)**k exactly. Over 20000 independent maps the kept count at each of the 36
    # positions is Binomial; ALPHA is split over the positions (Bonferroni).
    n, h, w = 20_000, 6, 6
    mask = dropblock_mask((n, 1, h, w), p_drop, block_size, rng=np.random.default_rng(8))
    starts = (h - block_size + 1) * (w - block_size + 1)
    gamma = min(1.0, p_drop / block_size**2 * h * w / starts)
    k = np.outer(_corners_covering(h, block_size), _corners_covering(w, block_size))
    keep = (1 - gamma) ** k
    if block_size == 1:
        assert np.allclose(keep, 1 - p_drop)
    kept = mask[:, 0].sum(axis=0)
    for i in range(h):
        for j in range(w):
            assert_binomial_count(
                int(kept[i, j]),
                n,
                float(keep[i, j]),
                alpha=ALPHA / (h * w),
                what=f"kept at ({i}, {j})",
            )


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"block_size": 0}, r"block_size must be an integer >= 1, got 0"),
        ({"block_size": 2.0}, r"block_size must be an integer >= 1, got 2.0"),
        ({"block_size": 40}, r"block_size must be in \[1, 32\] for maps of 32x32, got 40"),
        ({"p_drop": 1.0}, r"p_drop must be in \[0, 1\), got 1.0"),
        ({"shape": (1, 32, 32)}, r"shape must be \(N, C, H, W\)"),
        ({"shape": (1, 0, 32, 32)}, r"shape\[1\] must be an integer >= 1, got 0"),
        ({"shape": (1, 1, 32.0, 32)}, r"shape\[2\] must be an integer >= 1, got 32.0"),
        ({"rng": None}, "rng must be a numpy.random.Generator"),
    ],
)
def test_dropblock_rejects_bad_arguments(kwargs, pattern):
    arguments = {
        "shape": (1, 1, 32, 32),
        "p_drop": 0.3,
        "block_size": 3,
        "rng": np.random.default_rng(0),
    } | kwargs
    with pytest.raises(ValueError, match=pattern):
        dropblock_mask(**arguments)


@given(n_blocks=st.integers(1, 300), p_last=p_drops)
def test_linear_decay_rates(n_blocks, p_last):
    rates = linear_decay_rates(n_blocks, p_last)
    assert rates.shape == (n_blocks,) and rates.dtype == np.float64
    np.testing.assert_array_equal(rates, np.arange(1, n_blocks + 1) / n_blocks * p_last)
    assert rates[-1] == p_last and np.all(np.diff(rates) >= 0) and rates[0] >= 0


def test_a_resnet_110_keeps_40_25_blocks_on_average():
    rates = linear_decay_rates(54, 0.5)
    assert rates[0] == pytest.approx(0.5 / 54) and 54 - rates.sum() == pytest.approx(40.25)
    depths = sample_active_blocks(rates, 20_000, rng=np.random.default_rng(0))
    # a sum of 54 independent Bernoulli: values in [0, 54], variance sum p (1 - p) (Bernstein)
    assert_mean_close(
        depths, 40.25, lower=0, upper=54, variance=float(np.sum(rates * (1 - rates))), alpha=ALPHA
    )


@given(rates=st.lists(p_drops, max_size=6), n_samples=st.integers(0, 50), seed=seeds)
def test_sample_active_blocks_counts_one_keep_mask_per_block(rates, n_samples, seed):
    counts = sample_active_blocks(rates, n_samples, rng=np.random.default_rng(seed))
    assert counts.shape == (n_samples,) and counts.dtype == np.int64
    assert np.all((counts >= 0) & (counts <= len(rates)))
    # the documented draws: one sample_mask of shape (n_samples,) per block, in block order
    rng = np.random.default_rng(seed)
    expected = sum(
        (sample_mask(n_samples, p, rng=rng).astype(np.int64) for p in rates),
        np.zeros(n_samples, dtype=np.int64),
    )
    np.testing.assert_array_equal(counts, expected)


@pytest.mark.parametrize("p_drop", [0.0, 0.2, 0.7])
def test_sample_active_blocks_total_is_binomial(p_drop):
    counts = sample_active_blocks([p_drop] * 12, 5000, rng=np.random.default_rng(3))
    assert_binomial_count(
        int(counts.sum()), 12 * 5000, 1 - p_drop, alpha=ALPHA, what="blocks passed through"
    )


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda rng: linear_decay_rates(0), r"n_blocks must be an integer >= 1, got 0"),
        (lambda rng: linear_decay_rates(5.0), r"n_blocks must be an integer >= 1, got 5.0"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (lambda rng: linear_decay_rates(5, 1.0), r"p_last must be in \[0, 1\), got 1.0"),
        (
            lambda rng: sample_active_blocks([0.1, 1.0], 5, rng=rng),
            r"p_drops\[1\] must be in \[0, 1\), got 1.0",
        ),
        (lambda rng: sample_active_blocks(0.5, 5, rng=rng), r"p_drops must be a sequence"),
        (
            lambda rng: sample_active_blocks([0.5], -1, rng=rng),
            r"n_samples must be an integer >= 0, got -1",
        ),
        (
            lambda rng: sample_active_blocks([0.5], 5, rng=None),  # pyright: ignore[reportArgumentType] - the wrong type under test
            "rng must be a numpy.random.Generator",
        ),
        (lambda rng: relaxed_drop(0.0, 0.1, 10, rng=rng), r"p_drop must be in \(0, 1\), got 0.0"),
        (lambda rng: relaxed_drop(1.0, 0.1, 10, rng=rng), r"p_drop must be in \(0, 1\), got 1.0"),
        (
            lambda rng: relaxed_drop(0.3, 0.0, 10, rng=rng),
            r"temperature must be a finite number > 0, got 0.0",
        ),
        (lambda rng: relaxed_drop(0.3, float("inf"), 10, rng=rng), r"temperature must be a finite"),
        (lambda rng: relaxed_drop(0.3, 0.1, -1, rng=rng), r"size must be an integer >= 0, got -1"),
        (lambda rng: relaxed_drop(0.3, 0.1, 10, rng=0), "rng must be a numpy.random.Generator"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (
            lambda rng: targeted_keep_mask(np.ones((4, 3), dtype=int), 0.5, 0.5, rng=rng),
            r"W must have a floating dtype",
        ),
        (
            lambda rng: targeted_keep_mask(np.ones(4), 0.5, 0.5, rng=rng),
            r"W must have 2 dimensions \(D, M\), got shape \(4,\)",
        ),
        (
            lambda rng: targeted_keep_mask(np.ones((4, 3)), 1.5, 0.5, rng=rng),
            r"target_fraction must be in \[0, 1\], got 1.5",
        ),
        (
            lambda rng: targeted_keep_mask(np.ones((4, 3)), 0.5, -0.1, rng=rng),
            r"drop_rate must be in \[0, 1\], got -0.1",
        ),
        (
            lambda rng: targeted_keep_mask(np.ones((4, 3)), 0.5, 0.5, rng=None),  # pyright: ignore[reportArgumentType] - the wrong type under test
            "rng must be a numpy.random.Generator",
        ),
    ],
)
def test_illustrated_variants_reject_bad_arguments(call, pattern, rng):
    with pytest.raises(ValueError, match=pattern):
        call(rng)


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda rng: linear_decay_rates(10**30),
            rf"n_blocks must be at most \d+ \(NumPy's longest array of float64\), got {10**30}",
        ),
        (
            lambda rng: sample_active_blocks([0.5], 2**62, rng=rng),
            rf"n_samples must be at most \d+ \(NumPy's longest array of int64\), got {2**62}",
        ),
        (
            lambda rng: relaxed_drop(0.3, 0.1, 10**30, rng=rng),
            rf"size must be at most \d+ \(NumPy's longest array of float64\), got {10**30}",
        ),
        (
            lambda rng: dropblock_mask((2**30, 2**30, 2, 2), 0.3, 1, rng=rng),  # 2**62 bool
            r"shape must describe an array of at most \d+ bytes of float64 \(NumPy's limit\)",
        ),
        (
            lambda rng: dropblock_mask((10**30, 1, 2, 2), 0.3, 1, rng=rng),
            r"shape must describe an array of at most \d+ bytes of bool \(NumPy's limit\)",
        ),
    ],
)
def test_sizes_numpy_cannot_make_name_the_argument(call, pattern, rng):
    """Beyond NumPy's largest array, the message names the argument; below it, a size that
    memory cannot hold is left to NumPy's MemoryError, which says how much was asked for."""
    with pytest.raises(ValueError, match=pattern):
        call(rng)


@given(
    p_drop=st.floats(0.01, 0.99),
    temperature=st.floats(0.01, 10.0),
    size=st.integers(0, 100),
    seed=seeds,
)
def test_relaxed_drop_values_and_monotonicity(p_drop, temperature, size, seed):
    z = relaxed_drop(p_drop, temperature, size, rng=np.random.default_rng(seed))
    assert z.shape == (size,) and z.dtype == np.float64
    assert np.all((z >= 0) & (z <= 1))
    # the same noise with a larger p_drop: every indicator moves towards "dropped"
    larger = relaxed_drop(
        min(0.995, p_drop + 0.005), temperature, size, rng=np.random.default_rng(seed)
    )
    assert np.all(larger >= z)


@pytest.mark.parametrize("p_drop", [0.1, 0.3, 0.8])
@pytest.mark.parametrize("temperature", [0.01, 0.5, 3.0])
def test_relaxed_drop_is_above_one_half_with_probability_p_drop(p_drop, temperature):
    # logit(p) + logistic noise > 0 with probability p exactly, at every temperature (Binomial)
    z = relaxed_drop(p_drop, temperature, 100_000, rng=np.random.default_rng(4))
    assert_binomial_count(int(np.sum(z > 0.5)), z.size, p_drop, alpha=ALPHA, what="z > 1/2")


def test_relaxed_drop_is_almost_binary_when_cold():
    # z lies in (0.01, 0.99) when |logit(p) + L| < T logit(0.99): exact logistic probability
    p_drop, temperature = 0.3, 0.01
    z = relaxed_drop(p_drop, temperature, 200_000, rng=np.random.default_rng(0))
    edge = temperature * math.log(0.99 / 0.01)
    centre = math.log(p_drop / (1 - p_drop))
    inside = stats.logistic.cdf(edge - centre) - stats.logistic.cdf(-edge - centre)
    assert inside < 0.02
    assert_binomial_count(
        int(np.sum((z > 0.01) & (z < 0.99))),
        z.size,
        float(inside),
        alpha=ALPHA,
        what="z strictly between 0.01 and 0.99",
    )


weight_matrices = FLOAT_DTYPES.flatmap(
    lambda dt: hnp.arrays(
        dt,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=8),
        elements=_elements(dt, 100),
    )
)


@given(W=weight_matrices, target_fraction=st.floats(0, 1), drop_rate=st.floats(0, 1), seed=seeds)
def test_targeted_mask_drops_only_the_smallest_weights(W, target_fraction, drop_rate, seed):
    before = W.copy()
    keep = targeted_keep_mask(W, target_fraction, drop_rate, rng=np.random.default_rng(seed))
    assert keep.shape == W.shape and keep.dtype == bool and np.array_equal(W, before)
    n_candidates = int(target_fraction * W.shape[0])
    magnitude = np.abs(W.astype(np.float64))
    assert np.all((~keep).sum(axis=0) <= n_candidates)
    if n_candidates:
        # a dropped weight is never larger than the n_candidates-th smallest of its column
        limit = np.sort(magnitude, axis=0)[n_candidates - 1]
        assert np.all(np.where(keep, -np.inf, magnitude) <= limit)
    if drop_rate == 0.0 or n_candidates == 0:
        assert keep.all()
    if drop_rate == 1.0:
        assert np.all((~keep).sum(axis=0) == n_candidates)
        for column, kept in zip(magnitude.T, keep.T):
            if kept.any() and (~kept).any():
                assert column[~kept].max() <= column[kept].min()


@pytest.mark.parametrize("target_fraction,drop_rate", [(0.5, 0.3), (0.25, 0.9), (1.0, 0.5)])
def test_targeted_candidates_are_dropped_with_drop_rate(target_fraction, drop_rate):
    # the int(target_fraction * D) candidates of each column are each dropped independently
    # with probability drop_rate: the dropped count is Binomial(candidates, drop_rate)
    rng = np.random.default_rng(6)
    W = rng.standard_normal((400, 50))
    keep = targeted_keep_mask(W, target_fraction, drop_rate, rng=rng)
    n_candidates = int(target_fraction * 400) * 50
    assert_binomial_count(
        int(np.sum(~keep)), n_candidates, drop_rate, alpha=ALPHA, what="dropped candidates"
    )


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: dropblock_mask((2, 3, 8, 8), 0.4, 3, rng=rng),
        lambda rng: sample_active_blocks([0.2, 0.5, 0.7], 100, rng=rng),
        lambda rng: relaxed_drop(0.4, 0.2, 100, rng=rng),
        lambda rng: targeted_keep_mask(np.linspace(-1, 1, 60).reshape(20, 3), 0.5, 0.5, rng=rng),
    ],
)
def test_illustrated_variants_draw_from_rng_only(draw):
    first = draw(np.random.default_rng(11))
    np.testing.assert_array_equal(first, draw(np.random.default_rng(11)))
    rng = np.random.default_rng(11)
    draw(rng)
    # the generator has moved on: a second draw differs (probability of equality < 1e-12)
    assert not np.array_equal(first, draw(rng))

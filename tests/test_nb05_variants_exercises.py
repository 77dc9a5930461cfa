"""Notebook 05's graded exercises: correct solutions written differently pass under 20 seeds;
each realistic mistake fails with a CheckFailure whose message names it."""

import math
import re

import numpy as np
import pytest

from autograder.exercises import run
from course_lib.checks import CheckFailure
from parts_helpers import assert_reference_scores_zero, assert_scored_in_parts

SEEDS = range(20)
ALPHA_PRIME = -1.7580993408473766


def _check_p(p_drop):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")


def _expect(name, fn, message, *, seed=0, hidden=True):
    with pytest.raises(CheckFailure, match=message) as failure:
        run(name, fn, seed=seed, hidden=hidden)
    # a crash report quotes the crashing line, which could match by accident
    assert " raised " not in str(failure.value) or "raised" in message, str(failure.value)


# --- spatial_dropout_forward ------------------------------------------------------------------


def spatial_broadcast(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if x.ndim != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W), got shape {x.shape}")
    if not training or p_drop == 0:
        return x.copy(), None
    keep_prob = 1 - p_drop
    mask = rng.random((x.shape[0], x.shape[1], 1, 1)) < keep_prob
    return (x * mask / keep_prob).astype(x.dtype), mask


def spatial_binomial_repeat(x, p_drop, *, rng, training=True):
    if p_drop < 0 or p_drop >= 1:
        raise ValueError("p_drop out of range")
    n, c, h, w = x.shape
    if not training:
        return x, None
    keep = rng.binomial(1, 1 - p_drop, size=(n, c)).astype(bool)
    full = np.repeat(np.repeat(keep[:, :, None, None], h, axis=2), w, axis=3)
    out = np.where(full, x / x.dtype.type(1 - p_drop), x.dtype.type(0))
    return out, keep


def spatial_loop(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if len(x.shape) != 4:
        raise ValueError("x must be (N, C, H, W)")
    out = x.copy()
    if training and p_drop > 0:
        scale = 1 / (1 - p_drop)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c] = x[n, c] * scale if rng.uniform() >= p_drop else 0
    return out, None


@pytest.mark.parametrize("fn", [spatial_broadcast, spatial_binomial_repeat, spatial_loop])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_spatial_dropout_passes(fn, seed):
    run("spatial_dropout_forward", fn, seed=seed, hidden=True)


def _spatial_mistake(
    mask_shape=None,
    scale=lambda keep, p: 1 / keep,
    infer=None,
    use_global=False,
    mutate=False,
    swap=False,
    dtype_kept=True,
):
    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if x.ndim != 4:
            raise ValueError("x must be 4-D")
        keep_prob = 1 - p_drop
        if not training:
            return (infer(x, keep_prob) if infer else x.copy()), None
        shape = mask_shape(x) if mask_shape else (*x.shape[:2], 1, 1)
        draws = np.random.random(shape) if use_global else rng.random(shape)
        mask = (draws >= keep_prob) if swap else (draws < keep_prob)
        if mutate:
            x *= mask * scale(keep_prob, p_drop)
            return x, None
        if not dtype_kept:  # a float64 mask array upcasts float32 inputs
            return x * (mask / keep_prob), None
        return (x * mask * scale(keep_prob, p_drop)).astype(x.dtype), None

    return forward


SPATIAL_MISTAKES = {
    "mask per pixel": (
        _spatial_mistake(mask_shape=lambda x: x.shape),
        "keeps or drops each feature map as a whole",
    ),
    "mask per row": (
        _spatial_mistake(mask_shape=lambda x: (*x.shape[:3], 1)),
        "shape \\(N, C, 1, 1\\)",
    ),
    "one channel mask for the batch": (
        _spatial_mistake(mask_shape=lambda x: (1, x.shape[1], 1, 1)),
        "shared by the whole batch",
    ),
    "one draw per sample": (
        _spatial_mistake(mask_shape=lambda x: (x.shape[0], 1, 1, 1)),
        "All channels of a sample share one draw",
    ),
    "no scaling": (_spatial_mistake(scale=lambda keep, p: 1.0), "forget to divide by keep_prob"),
    "scaled by p_drop": (_spatial_mistake(scale=lambda keep, p: p), "multiplied by p_drop"),
    "scaled by 1/p_drop": (
        _spatial_mistake(scale=lambda keep, p: 1 / p if p else 1.0),
        "divided by p_drop",
    ),
    "keep and drop swapped": (_spatial_mistake(swap=True), "keep and drop are swapped"),
    "dropout on at inference": (
        _spatial_mistake(infer=lambda x, k: x * (np.random.random((*x.shape[:2], 1, 1)) < k) / k),
        "it is random",
    ),
    "scaled at inference": (
        _spatial_mistake(infer=lambda x, k: x * k),
        "saw x times 0.7. Spatial dropout scales",
    ),
    "global np.random": (_spatial_mistake(use_global=True), "same seed gave different masks"),
    "mutates its input": (_spatial_mistake(mutate=True), "x was modified"),
    "float64 output": (_spatial_mistake(dtype_kept=False), "must keep the input.s dtype"),
    "no ValueError for p_drop": (
        lambda x, p, *, rng, training=True: spatial_broadcast(
            x, min(max(p, 0.0), 0.99), rng=rng, training=training
        ),
        "must raise ValueError",
    ),
    "no ValueError for 3-D x": (
        lambda x, p, *, rng, training=True: (
            (x.copy(), None) if x.ndim != 4 else spatial_broadcast(x, p, rng=rng, training=training)
        ),
        "x must have 4 dimensions",
    ),
}


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("mistake", SPATIAL_MISTAKES)
def test_each_spatial_mistake_fails_with_its_message(mistake):
    fn, message = SPATIAL_MISTAKES[mistake]
    _expect("spatial_dropout_forward", fn, message)


def test_spatial_self_check_catches_a_pixel_mask():
    fn, message = SPATIAL_MISTAKES["mask per pixel"]
    _expect("spatial_dropout_forward", fn, message, hidden=False)


# --- gaussian_dropout_forward -----------------------------------------------------------------


def gaussian_standard_normal(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if not training or p_drop == 0:
        return x.copy(), None
    noise = 1 + math.sqrt(p_drop / (1 - p_drop)) * rng.standard_normal(x.shape)
    return (x * noise).astype(x.dtype), noise


def gaussian_rng_normal_float32(x, p_drop, *, rng, training=True):
    if not 0 <= p_drop < 1:
        raise ValueError("bad p_drop")
    if not training:
        return x, None
    noise = rng.normal(1.0, np.sqrt(p_drop / (1 - p_drop)), size=x.shape).astype(np.float32)
    out = np.multiply(x, noise, dtype=np.float64).astype(x.dtype)
    return out, noise


def gaussian_box_muller(x, p_drop, *, rng, training=True):
    """Normals from uniforms by Box-Muller: any correct way of drawing must pass."""
    _check_p(p_drop)
    if not training:
        return x.copy(), None
    u1 = rng.random(x.shape)
    u2 = rng.random(x.shape)
    z = np.sqrt(-2 * np.log1p(-u1)) * np.cos(2 * np.pi * u2)
    noise = 1 + z * (p_drop / (1 - p_drop)) ** 0.5
    return (x * noise).astype(x.dtype), noise


@pytest.mark.parametrize(
    "fn", [gaussian_standard_normal, gaussian_rng_normal_float32, gaussian_box_muller]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_gaussian_dropout_passes(fn, seed):
    run("gaussian_dropout_forward", fn, seed=seed, hidden=True)


def _gaussian_mistake(
    noise_of=None,
    combine=lambda x, noise: x * noise,
    infer=None,
    use_global=False,
    mutate=False,
    dtype_kept=True,
    shape=None,
):
    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training:
            return (infer(x, p_drop) if infer else x.copy()), None
        if p_drop == 0:
            return x.copy(), None
        draw_shape = shape(x) if shape else x.shape
        z = np.random.standard_normal(draw_shape) if use_global else rng.standard_normal(draw_shape)
        keep_prob = 1 - p_drop
        noise = (
            noise_of(z, p_drop, keep_prob, rng, draw_shape)
            if noise_of
            else 1 + math.sqrt(p_drop / keep_prob) * z
        )
        if mutate:
            x *= noise.astype(x.dtype)
            return x, None
        out = combine(x, noise)
        return (out.astype(x.dtype) if dtype_kept else out), None

    return forward


GAUSSIAN_MISTAKES = {
    "variance p_drop": (
        _gaussian_mistake(lambda z, p, k, r, s: 1 + math.sqrt(p) * z),
        "variance is p_drop; it must be",
    ),
    "std p_drop": (_gaussian_mistake(lambda z, p, k, r, s: 1 + p * z), "standard deviation p_drop"),
    "std p/keep (variance as std)": (
        _gaussian_mistake(lambda z, p, k, r, s: 1 + p / k * z),
        "that is the variance",
    ),
    "variance keep/p": (
        _gaussian_mistake(lambda z, p, k, r, s: 1 + math.sqrt(k / p) * z),
        "keep and drop are swapped",
    ),
    "variance p*keep": (
        _gaussian_mistake(lambda z, p, k, r, s: 1 + math.sqrt(p * k) * z),
        "that of the unscaled mask",
    ),
    "unit variance": (_gaussian_mistake(lambda z, p, k, r, s: 1 + z), "unscaled standard normal"),
    "noise added": (
        _gaussian_mistake(combine=lambda x, noise: x + (noise - 1)),
        "added \\(x \\+ noise\\) instead of multiplied",
    ),
    "noise with mean 0": (
        _gaussian_mistake(lambda z, p, k, r, s: math.sqrt(p / k) * z),
        "noise has mean 0",
    ),
    "noise divided by keep_prob": (
        _gaussian_mistake(lambda z, p, k, r, s: (1 + math.sqrt(p / k) * z) / k),
        "do not divide by keep_prob",
    ),
    "Bernoulli mask instead": (
        _gaussian_mistake(lambda z, p, k, r, s: (r.random(s) < k) / k),
        "that is a Bernoulli mask",
    ),
    "uniform noise of the right variance": (
        _gaussian_mistake(lambda z, p, k, r, s: 1 + math.sqrt(3 * p / k) * r.uniform(-1, 1, s)),
        "does not look Gaussian",
    ),
    "one noise for the batch": (
        _gaussian_mistake(shape=lambda x: x.shape[1:]),
        "shared by the whole batch",
    ),
    "noise on at inference": (
        _gaussian_mistake(
            infer=lambda x, p: x * (1 + math.sqrt(p / (1 - p)) * np.random.standard_normal(x.shape))
        ),
        "it is random",
    ),
    "scaled at inference": (
        _gaussian_mistake(infer=lambda x, p: x * (1 - p)),
        "needs no correction",
    ),
    "global np.random": (_gaussian_mistake(use_global=True), "same seed gave different outputs"),
    "mutates its input": (_gaussian_mistake(mutate=True), "x was modified"),
    "float64 output": (_gaussian_mistake(dtype_kept=False), "must keep the input.s dtype"),
    "no ValueError": (
        lambda x, p, *, rng, training=True: gaussian_standard_normal(
            x, min(max(p, 0.0), 0.99), rng=rng, training=training
        ),
        "must raise ValueError",
    ),
}


@pytest.mark.parametrize("mistake", GAUSSIAN_MISTAKES)
def test_each_gaussian_mistake_fails_with_its_message(mistake):
    fn, message = GAUSSIAN_MISTAKES[mistake]
    _expect("gaussian_dropout_forward", fn, message)


def test_gaussian_fixed_seed_inside_is_caught():
    def forward(x, p_drop, *, rng, training=True):
        return gaussian_standard_normal(x, p_drop, rng=np.random.default_rng(0), training=training)

    _expect("gaussian_dropout_forward", forward, "different seeds gave the same output")


# --- alpha_dropout_forward --------------------------------------------------------------------


def alpha_where(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if not training or p_drop == 0:
        return x.copy(), None
    keep_prob = 1 - p_drop
    a = (keep_prob + ALPHA_PRIME**2 * keep_prob * p_drop) ** -0.5
    b = -a * ALPHA_PRIME * p_drop
    mask = rng.random(x.shape) < keep_prob
    out = a * np.where(mask, x, ALPHA_PRIME) + b
    return out.astype(x.dtype), mask


def alpha_torch_style(x, p_drop, *, rng, training=True):
    """PyTorch's formulation: x * mask * a + (alpha' * a * (1 - mask) + b), float mask."""
    if p_drop < 0 or p_drop >= 1:
        raise ValueError("p_drop must be in [0, 1)")
    if not training:
        return x, None
    q = 1.0 - p_drop
    alpha_prime = -1.0507009873554805 * 1.6732632423543772
    a = 1.0 / math.sqrt(q + alpha_prime**2 * q * p_drop)
    b = alpha_prime * a * p_drop * -1
    keep = rng.binomial(1, q, size=x.shape).astype(x.dtype)
    out = x * keep * x.dtype.type(a) + x.dtype.type(alpha_prime * a) * (1 - keep) + x.dtype.type(b)
    return out.astype(x.dtype), keep


def alpha_in_place_on_copy(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    out = np.array(x, copy=True)
    if training and p_drop > 0:
        dropped = rng.uniform(size=x.shape) < p_drop
        out[dropped] = ALPHA_PRIME
        q = 1 - p_drop
        a = 1 / np.sqrt(q * (1 + ALPHA_PRIME**2 * p_drop))
        out *= a
        out += -a * ALPHA_PRIME * p_drop
    return out, None


@pytest.mark.parametrize("fn", [alpha_where, alpha_torch_style, alpha_in_place_on_copy])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_alpha_dropout_passes(fn, seed):
    run("alpha_dropout_forward", fn, seed=seed, hidden=True)


def _alpha_mistake(
    transform=None,
    infer=None,
    use_global=False,
    mutate=False,
    dtype_kept=True,
    mask_shape=None,
    swap=False,
):
    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training:
            return (infer(x, p_drop) if infer else x.copy()), None
        keep_prob = 1 - p_drop
        shape = mask_shape(x) if mask_shape else x.shape
        draws = np.random.random(shape) if use_global else rng.random(shape)
        mask = (draws >= keep_prob) if swap else (draws < keep_prob)
        a = (keep_prob + ALPHA_PRIME**2 * keep_prob * p_drop) ** -0.5
        b = -a * ALPHA_PRIME * p_drop
        if transform:
            out = transform(x, mask, keep_prob, p_drop, a, b)
        elif mutate:
            x[...] = a * np.where(mask, x, ALPHA_PRIME) + b
            return x, None
        elif not dtype_kept:  # a float mask (0.0 / 1.0) upcasts float32 inputs
            keep = mask.astype(float)
            return a * (x * keep + ALPHA_PRIME * (1 - keep)) + b, None
        else:
            out = a * np.where(mask, x, ALPHA_PRIME) + b
        return out.astype(x.dtype), None

    return forward


ALPHA_MISTAKES = {
    "inverted dropout instead": (
        _alpha_mistake(lambda x, m, q, p, a, b: x * m / q),
        "This is inverted dropout",
    ),
    "dropped set to 0 before affine": (
        _alpha_mistake(lambda x, m, q, p, a, b: a * x * m + b),
        "set to 0 before the affine map",
    ),
    "dropped set to 0 after affine": (
        _alpha_mistake(lambda x, m, q, p, a, b: np.where(m, a * x + b, 0.0)),
        "Dropped units are 0 in the ",
    ),
    "alpha' without a, b": (
        _alpha_mistake(lambda x, m, q, p, a, b: np.where(m, x, ALPHA_PRIME)),
        "affine correction is missing",
    ),
    "alpha' with inverted scaling": (
        _alpha_mistake(lambda x, m, q, p, a, b: np.where(m, x / q, ALPHA_PRIME)),
        "divided by keep_prob",
    ),
    "wrong sign of alpha'": (
        _alpha_mistake(
            lambda x, m, q, p, a, b: a * np.where(m, x, -ALPHA_PRIME) + a * ALPHA_PRIME * p
        ),
        "wrong sign: it is negative",
    ),
    "wrong sign of b": (
        _alpha_mistake(lambda x, m, q, p, a, b: a * np.where(m, x, ALPHA_PRIME) - b),
        "b has the wrong sign",
    ),
    "b missing": (
        _alpha_mistake(lambda x, m, q, p, a, b: a * np.where(m, x, ALPHA_PRIME)),
        "shift b is missing",
    ),
    "b only on kept units": (
        _alpha_mistake(lambda x, m, q, p, a, b: np.where(m, a * x + b, a * ALPHA_PRIME)),
        "added to the dropped units too",
    ),
    "wrong slope": (
        _alpha_mistake(lambda x, m, q, p, a, b: np.where(m, x, ALPHA_PRIME) / q + b),
        "every output must be a \\* x \\+ b",
    ),
    "keep and drop swapped": (_alpha_mistake(swap=True), "keep and drop are swapped"),
    "one mask for the batch": (
        _alpha_mistake(mask_shape=lambda x: x.shape[1:]),
        "shared by the whole batch",
    ),
    "dropout on at inference": (
        _alpha_mistake(
            infer=lambda x, p: np.where(np.random.random(x.shape) < 1 - p, x, 0.0).astype(x.dtype)
        ),
        "it is random",
    ),
    "slope a at inference": (
        _alpha_mistake(
            infer=lambda x, p: ((1 - p + ALPHA_PRIME**2 * (1 - p) * p) ** -0.5 * x).astype(x.dtype)
        ),
        "belongs to training only",
    ),
    "affine map at inference": (
        _alpha_mistake(
            infer=lambda x, p: (
                (1 - p + ALPHA_PRIME**2 * (1 - p) * p) ** -0.5 * (x - ALPHA_PRIME * p)
            ).astype(x.dtype)
        ),
        "saw 0.8.* \\* x \\+ 0.3.*belongs to training only",
    ),
    "global np.random": (_alpha_mistake(use_global=True), "same seed gave different masks"),
    "mutates its input": (_alpha_mistake(mutate=True), "x was modified"),
    "float64 output": (_alpha_mistake(dtype_kept=False), "must keep the input.s dtype"),
    "no ValueError": (
        lambda x, p, *, rng, training=True: alpha_where(
            x, min(max(p, 0.0), 0.99), rng=rng, training=training
        ),
        "must raise ValueError",
    ),
}


@pytest.mark.parametrize("mistake", ALPHA_MISTAKES)
def test_each_alpha_mistake_fails_with_its_message(mistake):
    fn, message = ALPHA_MISTAKES[mistake]
    _expect("alpha_dropout_forward", fn, message)


def test_alpha_self_check_catches_missing_affine_correction():
    fn, message = ALPHA_MISTAKES["alpha' without a, b"]
    _expect("alpha_dropout_forward", fn, message, hidden=False)


# --- dropconnect_forward ----------------------------------------------------------------------


def dropconnect_batched(x, W, b, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if x.shape[1] != W.shape[0]:
        raise ValueError("W must have shape (D, M) with D = x.shape[1]")
    if not training or p_drop == 0:
        return x @ W + b, None
    keep_prob = 1 - p_drop
    mask = rng.random((x.shape[0], *W.shape)) < keep_prob
    thinned = W * mask / keep_prob
    out = np.einsum("nd,ndm->nm", x, thinned) + b
    return out.astype(np.result_type(x, W, b)), mask


def dropconnect_loop(x, W, b, p_drop, *, rng, training=True):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    out = np.empty((x.shape[0], W.shape[1]), dtype=np.result_type(x, W, b))
    for n in range(x.shape[0]):
        if training and p_drop > 0:
            keep = rng.binomial(1, 1 - p_drop, size=W.shape).astype(bool)
            weights = np.where(keep, W / W.dtype.type(1 - p_drop), W.dtype.type(0))
        else:
            weights = W
        out[n] = x[n] @ weights + b
    return out, None


def dropconnect_matmul(x, W, b, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if not training:
        return np.matmul(x, W) + b, None
    keep_prob = 1 - p_drop
    keep = rng.uniform(size=(len(x), *W.shape)) >= p_drop
    per_sample = (x[:, None, :] @ (W * keep))[:, 0, :]
    return (per_sample / keep_prob + b).astype(x.dtype), None


@pytest.mark.parametrize("fn", [dropconnect_batched, dropconnect_loop, dropconnect_matmul])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_dropconnect_passes(fn, seed):
    run("dropconnect_forward", fn, seed=seed, hidden=True)


def _dropconnect_mistake(compute=None, infer=None, use_global=False, mutate=False, dtype_kept=True):
    def forward(x, W, b, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if x.shape[1] != W.shape[0]:
            raise ValueError("shapes")
        keep_prob = 1 - p_drop
        if not training:
            return (infer(x, W, b, keep_prob) if infer else x @ W + b), None
        draw = np.random.random if use_global else rng.random
        if compute:
            out = compute(x, W, b, keep_prob, draw)
        elif mutate:
            W *= draw(W.shape) < keep_prob
            W /= keep_prob
            out = x @ W + b
        elif not dtype_kept:  # a float64 scaled mask upcasts float32 weights
            mask = draw((x.shape[0], *W.shape)) < keep_prob
            return np.einsum("nd,ndm->nm", x, W * (mask / keep_prob)) + b, None
        else:
            mask = draw((x.shape[0], *W.shape)) < keep_prob
            out = np.einsum("nd,ndm->nm", x, W * mask / keep_prob) + b
        return out.astype(np.result_type(x, W, b)), None

    return forward


def _per_sample(x, W, b, keep_prob, draw, scale=None):
    mask = draw((x.shape[0], *W.shape)) < keep_prob
    factor = 1 / keep_prob if scale is None else scale
    return np.einsum("nd,ndm->nm", x, W * mask * factor) + b


DROPCONNECT_MISTAKES = {
    "no scaling": (
        _dropconnect_mistake(lambda x, W, b, k, d: _per_sample(x, W, b, k, d, 1.0)),
        "forget to divide by keep_prob",
    ),
    "scaled by 1/p_drop": (
        _dropconnect_mistake(
            lambda x, W, b, k, d: _per_sample(x, W, b, k, d, 1 / (1 - k) if k < 1 else 1.0)
        ),
        "divided by p_drop",
    ),
    "mask on the inputs": (
        _dropconnect_mistake(lambda x, W, b, k, d: (x * (d(x.shape) < k) / k) @ W + b),
        "dropout on the inputs x",
    ),
    "mask on the outputs": (
        _dropconnect_mistake(
            lambda x, W, b, k, d: (x @ W) * (d((x.shape[0], W.shape[1])) < k) / k + b
        ),
        "Whole outputs are dropped",
    ),
    "one mask for the batch": (
        _dropconnect_mistake(lambda x, W, b, k, d: x @ (W * (d(W.shape) < k) / k) + b),
        "shared by the whole batch",
    ),
    "bias dropped too": (
        _dropconnect_mistake(
            lambda x, W, b, k, d: (
                _per_sample(x, W, b * 0, k, d) + b * (d((x.shape[0], b.shape[0])) < k) / k
            )
        ),
        "The bias b is added unchanged",
    ),
    "keep and drop swapped": (
        _dropconnect_mistake(lambda x, W, b, k, d: _per_sample(x, W, b, 1 - k, d, 1 / k)),
        "keep and drop are swapped",
    ),
    "dropout on at inference": (
        _dropconnect_mistake(infer=lambda x, W, b, k: _per_sample(x, W, b, k, np.random.random)),
        "must be the plain dense layer",
    ),
    "scaled at inference": (
        _dropconnect_mistake(infer=lambda x, W, b, k: x @ W * k + b),
        "scaling happens in training only",
    ),
    "global np.random": (_dropconnect_mistake(use_global=True), "same seed gave different masks"),
    "mutates W": (_dropconnect_mistake(mutate=True), "W was modified"),
    "float64 output": (_dropconnect_mistake(dtype_kept=False), "must keep the input.s dtype"),
    "no ValueError": (
        lambda x, W, b, p, *, rng, training=True: dropconnect_batched(
            x, W, b, min(max(p, 0.0), 0.99), rng=rng, training=training
        ),
        "must raise ValueError",
    ),
}


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("mistake", DROPCONNECT_MISTAKES)
def test_each_dropconnect_mistake_fails_with_its_message(mistake):
    fn, message = DROPCONNECT_MISTAKES[mistake]
    _expect("dropconnect_forward", fn, message)


def test_dropconnect_self_check_catches_a_shared_mask():
    fn, message = DROPCONNECT_MISTAKES["one mask for the batch"]
    _expect("dropconnect_forward", fn, message, hidden=False)


# --- every exercise: unimplemented, crashing, wrong return type -------------------------------

EXERCISES = [
    "spatial_dropout_forward",
    "gaussian_dropout_forward",
    "alpha_dropout_forward",
    "dropconnect_forward",
]


@pytest.mark.parametrize("name", EXERCISES)
def test_unimplemented_exercise_says_so(name):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    _expect(name, stub, "not implemented yet", hidden=False)


@pytest.mark.parametrize("name", EXERCISES)
def test_a_crash_in_student_code_is_reported_with_its_line(name):
    def crashing(*args, rng, training=True):
        return args[0] * undefined_name, None  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    _expect(name, crashing, "raised NameError.*undefined_name", hidden=False)


@pytest.mark.parametrize("name", EXERCISES)
def test_returning_only_the_output_is_named(name):
    _expect(
        name,
        lambda *args, rng, training=True: args[0],
        r"must return a pair \(out, cache\)",
        hidden=False,
    )


@pytest.mark.parametrize("name", EXERCISES)
def test_returning_a_list_is_named(name):
    _expect(
        name,
        lambda *args, rng, training=True: (args[0].tolist(), None),
        "must return a numpy array",
        hidden=False,
    )


def test_the_reference_passes_every_exercise():
    from course_lib import variants

    for name in EXERCISES:
        for seed in range(3):
            run(name, getattr(variants, name), seed=seed, hidden=True)


# --- points: the behaviour, then the argument checks ------------------------------------------


@pytest.mark.parametrize(
    "name,correct,unchecked",
    [
        (
            "spatial_dropout_forward",
            spatial_broadcast,
            SPATIAL_MISTAKES["no ValueError for p_drop"][0],
        ),
        (
            "gaussian_dropout_forward",
            gaussian_standard_normal,
            GAUSSIAN_MISTAKES["no ValueError"][0],
        ),
        ("alpha_dropout_forward", alpha_where, ALPHA_MISTAKES["no ValueError"][0]),
        ("dropconnect_forward", dropconnect_batched, DROPCONNECT_MISTAKES["no ValueError"][0]),
    ],
)
def test_a_missing_value_error_costs_only_the_argument_checks(name, correct, unchecked):
    assert_scored_in_parts(name, correct, unchecked, 2, seed=11)


# --- choose_feature_map_dropout: a judgement -----------------------------------------------------
# Deterministic: no statistical assertion, so no false-failure probability to spend.


def feature_map_blocks_always(n_channels, correlation):
    """DropBlock at a mid rate is defensible in every situation."""
    return "dropblock", 0.25


def feature_map_by_table(n_channels, correlation):
    """Written differently: a list, numpy numbers, the extreme rates of the range."""
    if correlation < 0.5:
        return ["dropout", np.float32(0.5)]
    if 0.05**n_channels <= 0.01:
        return ("spatial", np.float64(0.05))
    return ("dropblock", 0.5)


def feature_map_highest_spatial_rate(n_channels, correlation):
    """Spatial dropout at the highest rate the channel rule allows, capped at 0.5."""
    p_drop = min(0.5, 0.01 ** (1 / n_channels))
    if p_drop >= 0.05:
        return "spatial", p_drop
    return "dropblock", 0.1


@pytest.mark.parametrize(
    "fn", [feature_map_blocks_always, feature_map_by_table, feature_map_highest_spatial_rate]
)
@pytest.mark.parametrize("seed", range(10))
def test_every_defensible_feature_map_choice_passes(fn, seed):
    run("choose_feature_map_dropout", fn, seed=seed, hidden=True)
    run("choose_feature_map_dropout", fn, seed=seed, hidden=False)


FEATURE_MAP_MISTAKES = {
    "element-wise dropout on correlated maps": (
        lambda c, r: ("dropout", 0.2),
        "element-wise dropout on a map whose neighbouring pixels correlate",
    ),
    "spatial dropout with one channel": (
        lambda c, r: ("spatial", 0.2),
        "drops all 1 channel(s) of a sample",
    ),
    "rate too high": (lambda c, r: ("dropblock", 0.8), "more than half of the features gone"),
    "rate too low": (lambda c, r: ("dropblock", 0.01), "too little noise"),
    "keep_prob instead of p_drop": (lambda c, r: ("dropblock", 0.9), "outside [0.05, 0.5]"),
    "unknown variant": (lambda c, r: ("Dropout2d", 0.2), "the variant must be one of"),
    "rate as a string": (lambda c, r: ("spatial", "0.2"), "p_drop must be a number"),
    "not a pair": (lambda c, r: "spatial", "return a pair (variant, p_drop)"),
    "spatial rule checked at another rate": (
        # allowed at 0.1 with 2 channels (0.01), but returned at 0.3 (0.09)
        lambda c, r: ("spatial", 0.3) if 0.1**c <= 0.01 else ("dropblock", 0.3),
        "channel(s) of a sample with probability",
    ),
}


@pytest.mark.parametrize("mistake", FEATURE_MAP_MISTAKES)
def test_each_feature_map_mistake_fails_with_its_message(mistake):
    fn, message = FEATURE_MAP_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=re.escape(message)):
        run("choose_feature_map_dropout", fn, seed=3, hidden=True)


def test_the_hidden_situations_probe_both_rules_at_their_boundaries():
    from autograder.exercises.nb05_variants import _feature_map_cases

    cases = _feature_map_cases(5, hidden=True)
    assert (8, 0.5) in cases and (4, 0.49) in cases  # correlation just at and below 0.5
    assert (2, 0.85) in cases and (3, 0.8) in cases  # spatial allowed at 0.1 / 0.2, not 0.3
    # element-wise dropout on strongly correlated maps fails even the visible self-check
    with pytest.raises(CheckFailure):
        run("choose_feature_map_dropout", lambda c, r: ("dropout", 0.2), seed=0, hidden=False)


def test_feature_map_reference_validates_and_follows_its_rules():
    from course_lib.variants import choose_feature_map_dropout

    assert choose_feature_map_dropout(64, 0.9) == ("spatial", 0.2)
    assert choose_feature_map_dropout(1, 0.9) == ("dropblock", 0.2)
    assert choose_feature_map_dropout(16, 0.1) == ("dropout", 0.2)
    for kwargs, pattern in (
        ({"n_channels": 0, "correlation": 0.5}, "n_channels"),
        ({"n_channels": "4", "correlation": 0.5}, "n_channels"),
        ({"n_channels": 4, "correlation": 1.5}, r"correlation must be a number in \[-1, 1\]"),
        ({"n_channels": 4, "correlation": "high"}, "correlation"),
    ):
        with pytest.raises(ValueError, match=pattern):
            choose_feature_map_dropout(**kwargs)


def test_handing_the_choice_to_the_reference_scores_zero_in_the_grading_kernel(tmp_path):
    assert_reference_scores_zero(
        "05_variants",
        "choose_feature_map_dropout",
        "from course_lib.variants import choose_feature_map_dropout as reference\n"
        "def student(n_channels, correlation):\n"
        "    return reference(n_channels, correlation)\n",
        tmp_path,
    )


# --- masks shared in a pattern (half the batch, neighbours, tiles) lose the behaviour points ----

PATTERN_SEEDS = range(6)


def _half_batch(draws):
    """The first half of the batch's draws, used again for the second half."""
    n = draws.shape[0]
    return np.concatenate([draws[: (n + 1) // 2]] * 2)[:n]


def _chained(draws):
    """Sample 2k + 2 reuses the draws of sample 2k + 1."""
    draws = draws.copy()
    draws[2::2] = draws[1:-1:2][: draws[2::2].shape[0]]
    return draws


def _spatial_shared(share):
    def spatial_dropout_forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if x.ndim != 4:
            raise ValueError(f"x must have 4 dimensions (N, C, H, W), got shape {x.shape}")
        if not training or p_drop == 0:
            return x.copy(), None
        keep_prob = 1 - p_drop
        mask = share(rng.random((x.shape[0], x.shape[1], 1, 1))) < keep_prob
        return (x * mask / keep_prob).astype(x.dtype), mask

    return spatial_dropout_forward


def _alpha_shared(share):
    def alpha_dropout_forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training or p_drop == 0:
            return x.copy(), None
        keep_prob = 1 - p_drop
        a = (keep_prob + ALPHA_PRIME**2 * keep_prob * p_drop) ** -0.5
        mask = share(rng.random(x.shape)) < keep_prob
        return (a * np.where(mask, x, ALPHA_PRIME) - a * ALPHA_PRIME * p_drop).astype(x.dtype), mask

    return alpha_dropout_forward


def _dropconnect_shared(share):
    def dropconnect_forward(x, W, b, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if x.shape[1] != W.shape[0]:
            raise ValueError("W must have shape (D, M) with D = x.shape[1]")
        if not training or p_drop == 0:
            return x @ W + b, None
        keep_prob = 1 - p_drop
        mask = share(rng.random((x.shape[0], *W.shape))) < keep_prob
        out = np.einsum("nd,ndm->nm", x, W * mask / keep_prob) + b
        return out.astype(np.result_type(x, W, b)), mask

    return dropconnect_forward


@pytest.mark.parametrize("seed", PATTERN_SEEDS)
@pytest.mark.parametrize(
    "name,make",
    [
        ("spatial_dropout_forward", _spatial_shared),
        ("alpha_dropout_forward", _alpha_shared),
        ("dropconnect_forward", _dropconnect_shared),
    ],
)
@pytest.mark.parametrize("share", [_half_batch, _chained], ids=["half batch", "chained"])
def test_masks_shared_between_samples_lose_the_behaviour_points(name, make, share, seed):
    if name == "dropconnect_forward" and share is _chained:
        pytest.skip(
            "not observable yet: through one-hot inputs, samples n and n + 1 read different "
            "rows of W, so the weights they share are never both seen"
        )
    with pytest.raises(CheckFailure, match="reuse the mask of another sample"):
        run(name, make(share), seed=seed, hidden=True)


def _units_in_pairs(draws):
    """Neighbouring units (the last axis) share one draw."""
    return np.repeat(draws[..., : (draws.shape[-1] + 1) // 2], 2, axis=-1)[..., : draws.shape[-1]]


@pytest.mark.parametrize("seed", PATTERN_SEEDS)
def test_alpha_dropout_units_in_pairs_lose_the_behaviour_points(seed):
    with pytest.raises(CheckFailure, match="kept or dropped together"):
        run("alpha_dropout_forward", _alpha_shared(_units_in_pairs), seed=seed, hidden=True)


@pytest.mark.parametrize("seed", PATTERN_SEEDS)
def test_spatial_channels_in_pairs_lose_the_behaviour_points(seed):
    def channel_pairs(draws):
        return np.repeat(draws[:, : (draws.shape[1] + 1) // 2], 2, axis=1)[:, : draws.shape[1]]

    with pytest.raises(CheckFailure, match="kept or dropped together"):
        run("spatial_dropout_forward", _spatial_shared(channel_pairs), seed=seed, hidden=True)

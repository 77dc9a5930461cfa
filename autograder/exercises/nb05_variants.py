"""Exercises of notebook 05: ``spatial_dropout_forward``, ``gaussian_dropout_forward``,
``alpha_dropout_forward`` and ``dropconnect_forward``.

Conventions: ``p_drop`` is the probability of dropping, ``keep_prob = 1 - p_drop``. Every
statistical assertion below spends a false-failure probability of at most ``ALPHA`` = 1e-9 and
names the exact law it relies on; everything else is checked exactly (up to float rounding).
"""

from __future__ import annotations

import math

import numpy as np

from course_lib import stats as course_stats
from course_lib.checks import (
    CheckFailure,
    assert_binomial_count,
    assert_mean_close,
    assert_normal_mean,
)

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "05_variants"
ALPHA = course_stats.DEFAULT_ALPHA
#: alpha' of alpha dropout: SELU's negative saturation value, -scale * alpha (as in PyTorch)
ALPHA_PRIME = -1.7580993408473766


# --- shared helpers ---------------------------------------------------------------------------

_INFERENCE_RULES = {
    "spatial_dropout_forward": "Spatial dropout scales the kept channels by 1 / keep_prob in "
    "training only; at inference it returns x unchanged.",
    "gaussian_dropout_forward": "The noise already has mean 1, so inference needs no "
    "correction: return x unchanged.",
    "alpha_dropout_forward": "The affine map a * (.) + b belongs to training only: at inference "
    "alpha dropout returns x unchanged.",
}


def _check_inference(x, out, name: str) -> None:
    """At inference every unit variant is the identity: ``out`` must equal ``x`` exactly."""
    kit.check_inference_identity(x, out, name=name, rule=_INFERENCE_RULES[name])


# --- spatial_dropout_forward ------------------------------------------------------------------


def _spatial_cases(hidden: bool):
    """(p_drop, (N, C, H, W), dtype) of the training-mode calls."""
    cases = [(0.3, (64, 32, 4, 5), np.float64), (0.5, (48, 40, 3, 3), np.float32)]
    if hidden:
        cases += [
            (0.1, (80, 50, 2, 3), np.float64),
            (0.7, (64, 40, 4, 4), np.float32),
            (0.25, (40, 32, 5, 5), np.float16),
            (0.4, (60, 36, 1, 6), np.float64),
        ]
    return cases


_SPATIAL_RNG_SHAPE = (64, 64, 2, 2)


@exercise(
    "spatial_dropout_forward",
    NOTEBOOK,
    reference="course_lib.variants.spatial_dropout_forward",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "A feature map is kept or dropped as a whole: there is one keep decision per (sample, "
        "channel) pair, shared by all of its pixels.",
        "Draw the decisions with shape (N, C, 1, 1): NumPy's broadcasting then applies each one to "
        "its whole H x W map, and the kept maps are scaled as in inverted dropout.",
        "Not one decision per pixel (that is ordinary dropout), nor one per channel shared by the "
        "batch: every sample draws its own. Refuse an x that is not 4-dimensional, keep x's "
        "dtype and leave x unchanged.",
    ),
)
class SpatialDropoutForward:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = kit.probe_layer(
            fn,
            seed,
            hidden,
            name="spatial_dropout_forward",
            cases=_spatial_cases(hidden),
            rng_shape=_SPATIAL_RNG_SHAPE,
            rng_p_drop=0.5,
            key=(0,),
        )
        if hidden:
            observed["bad_shape"] = kit.outcome_of_bad_call(
                fn, np.ones((4, 5, 6)), 0.5, rng=np.random.default_rng(seed)
            )
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        name = "spatial_dropout_forward"
        for p_drop, x, out, inferred in kit.recorded_layer_outputs(
            observed, seed, _spatial_cases(hidden), name, key=(0,)
        ):
            _check_spatial_output(x, out, p_drop)
            _check_inference(x, inferred, name)
        x, runs = kit.recorded_rng_runs(observed, seed, _SPATIAL_RNG_SHAPE, name, key=(0,))
        # one entry per channel: the pixels of a channel are not independent draws
        kit.check_rng_use(*(out[:, :, 0, 0] for out in runs), p_drop=0.5, alpha=ALPHA)
        # 64 x 64 channels at p_drop = 1/2: a repeated row or column of the channel mask is a
        # sign of sharing (kit.identical_draws_bound(64, 64, 0.5) = 2.2e-16)
        _check_channel_masks_independent(runs[2][:, :, 0, 0] != 0, 0.5)
        kit.check_p_zero_identity(x, observed["p_zero"], name)

    @staticmethod
    def arguments(observed, seed, hidden):
        name = "spatial_dropout_forward"
        if hidden:
            kit.require_bad_p_drops_refused(observed["bad"], name)
            kit.require_value_errors(
                [observed["bad_shape"]],
                ["x of shape (4, 5, 6)"],
                name,
                "x must have 4 dimensions (N, C, H, W)",
            )


def _check_spatial_output(x: np.ndarray, out: np.ndarray, p_drop: float) -> None:
    keep_prob = 1.0 - p_drop
    kept = out != 0
    if not np.array_equal(kept, np.broadcast_to(kept[:, :, :1, :1], kept.shape)):
        per_pixel = np.mean(kept.any(axis=(2, 3)) & ~kept.all(axis=(2, 3)))
        raise CheckFailure(
            f"inside {100 * per_pixel:.0f}% of the (sample, channel) feature maps some pixels are "
            "kept and others dropped. Spatial dropout keeps or drops each feature map as a whole: "
            "draw the mask with shape (N, C, 1, 1) and let it broadcast over H and W (a mask of "
            "shape x.shape is ordinary pixel dropout)."
        )
    # exact scale and the kept count, one entry per channel: Binomial(N * C, keep_prob) (ALPHA)
    kit.check_inverted_dropout_output(x[:, :, 0, 0], out[:, :, 0, 0], p_drop, alpha=ALPHA)
    ratios = out[kept].astype(np.float64) / x[kept].astype(np.float64)
    if not np.all(kit.near(ratios, 1.0 / keep_prob, x.dtype)):
        raise CheckFailure(
            "every pixel of a kept channel must be x / keep_prob, but some are "
            "not (only the first pixel of each channel is scaled right)."
        )
    # the masks of samples, and of the channels of a sample, are independent: no two agree
    # beyond chance, nor do the samples (channels) s apart taken together (kit, ALPHA)
    _check_channel_masks_independent(kept[:, :, 0, 0], p_drop)


def _check_channel_masks_independent(channel_kept: np.ndarray, p_drop: float) -> None:
    kit.assert_masks_independent(
        channel_kept,
        p_drop,
        alpha=ALPHA,
        units="channels",
        unit="channel",
        draw="channel mask (shape (1, C, 1, 1))",
        fix="Every sample needs its own draw, so the mask has shape (N, C, 1, 1).",
        more=" A mask of shape (N, 1, 1, 1) drops whole samples; spatial dropout's has shape "
        "(N, C, 1, 1).",
    )


# --- gaussian_dropout_forward -----------------------------------------------------------------


def _gaussian_cases(hidden: bool):
    cases = [(0.3, (200, 100), np.float64), (0.2, (100, 150), np.float32)]
    if hidden:
        cases += [
            (0.6, (250, 80), np.float64),
            (0.1, (64, 10, 20), np.float32),
            (0.5, (100, 100), np.float64),
            (0.25, (120, 60), np.float16),
            (0.4, (20, 8, 6, 10), np.float64),
        ]
    return cases


_GAUSSIAN_RNG_SHAPE = (32, 32)
# P(|Z| < 1/4) for a standard normal Z: how often |noise - 1| < std / 4
_INNER_PROB = course_stats.normal_central_probability(0.25)


@exercise(
    "gaussian_dropout_forward",
    NOTEBOOK,
    reference="course_lib.variants.gaussian_dropout_forward",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "Instead of a 0/1 mask, every entry is multiplied by its own random factor of mean 1, so "
        "the expectation is kept without any rescaling.",
        "rng.normal(loc, scale, size) draws Gaussian numbers of mean loc and standard deviation "
        "scale, one per entry of an array of shape size; the text gives the variance "
        "p_drop / keep_prob, and the standard deviation is its square root.",
        "Passing the variance where NumPy expects the standard deviation is the usual mistake. "
        "Draw one factor per entry (shape of x), cast the result to x's dtype, and return x "
        "unchanged at inference and when p_drop = 0.",
    ),
)
class GaussianDropoutForward:
    @staticmethod
    def probe(fn, seed, hidden):
        return kit.probe_layer(
            fn,
            seed,
            hidden,
            name="gaussian_dropout_forward",
            cases=_gaussian_cases(hidden),
            rng_shape=_GAUSSIAN_RNG_SHAPE,
            rng_p_drop=0.3,
            key=(1,),
        )

    @staticmethod
    def verdict(observed, seed, hidden):
        name = "gaussian_dropout_forward"
        for p_drop, x, out, inferred in kit.recorded_layer_outputs(
            observed, seed, _gaussian_cases(hidden), name, key=(1,)
        ):
            _check_gaussian_output(x, out, p_drop)
            _check_inference(x, inferred, name)
        x, (first, again, other) = kit.recorded_rng_runs(
            observed, seed, _GAUSSIAN_RNG_SHAPE, name, key=(1,)
        )
        if not np.array_equal(first, again):
            raise CheckFailure(
                kit.RANDOMNESS_NOT_FROM_RNG.say(
                    results="outputs", methods="rng.standard_normal, rng.normal"
                )
            )
        # continuous noise: two different seeds give equal outputs with probability 0
        if np.array_equal(first, other):
            raise CheckFailure(kit.SEEDED_INSIDE.say(result="output", draws="noise"))
        kit.check_p_zero_identity(x, observed["p_zero"], name)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_bad_p_drops_refused(observed["bad"], "gaussian_dropout_forward")


def _variance_hint(x, out, r, p_drop) -> str:
    """The likely mistake behind a wrong noise variance, if one of the usual ones fits."""
    keep_prob = 1.0 - p_drop
    n = r.size
    added = out.astype(np.float64) - x.astype(np.float64)
    low, high = course_stats.mean_square_range(p_drop / keep_prob, n)
    if low <= np.mean(added**2) <= high:
        return (
            "The noise is added (x + noise) instead of multiplied: Gaussian dropout is "
            "out = x * noise with noise ~ N(1, p_drop / keep_prob)."
        )
    observed = float(np.mean(r**2))
    mistakes = [
        (
            p_drop,
            "The noise variance is p_drop; it must be p_drop / keep_prob, the variance of "
            "inverted dropout's factor mask / keep_prob.",
        ),
        (
            p_drop**2,
            "The noise has standard deviation p_drop: its VARIANCE must be "
            "p_drop / keep_prob, so its standard deviation is sqrt(p_drop / keep_prob).",
        ),
        (
            (p_drop / keep_prob) ** 2,
            "The noise has standard deviation p_drop / keep_prob: that "
            "is the variance. rng.normal(loc, scale) takes the standard "
            "deviation, sqrt(p_drop / keep_prob).",
        ),
        (
            keep_prob / p_drop,
            "The variance is keep_prob / p_drop: keep and drop are swapped; it "
            "must be p_drop / keep_prob.",
        ),
        (
            p_drop * keep_prob,
            "The variance is p_drop * keep_prob, that of the unscaled mask; the "
            "scaled mask / keep_prob has variance p_drop / keep_prob.",
        ),
        (1.0, "The noise is an unscaled standard normal: multiply it by sqrt(p_drop / keep_prob)."),
    ]
    target = p_drop / keep_prob
    for variance, text in mistakes:
        if not math.isclose(variance, target, rel_tol=1e-6):
            lo, hi = course_stats.mean_square_range(variance, n)
            if lo <= observed <= hi:
                return text
    return (
        "Gaussian dropout multiplies x by independent noise with mean 1 and variance "
        "p_drop / keep_prob."
    )


def _check_noise_not_shared(rows: np.ndarray, variance: float) -> None:
    """Two samples' noise must be independent (float64 cases, rounding ~1e-16).

    For independent N(0, v) values the difference is N(0, 2 v), so
    P(|r_a - r_b| < delta) <= delta / sqrt(pi v). The count of such pairs is Binomial with at
    most that probability, and the binomial upper tail grows with p, so the acceptance region
    computed at the bound is valid (ALPHA). Noise shared by the batch makes every pair equal.
    """
    delta = 1e-9
    half = rows.shape[0] // 2
    close = np.abs(rows[0 : 2 * half : 2] - rows[1 : 2 * half : 2]) < delta
    bound = course_stats.close_pair_probability_bound(delta, variance)
    count, n = int(np.count_nonzero(close)), int(close.size)
    if count > course_stats.binomial_acceptance(n, bound, ALPHA)[1]:
        raise CheckFailure(
            f"in {count} of {n} places two samples got the same noise. "
            + kit.SHARED_ACROSS_BATCH.say(
                draw="noise array",
                fix="Draw the noise with the full shape of x, one independent value per unit.",
            )
        )


def _check_gaussian_output(x: np.ndarray, out: np.ndarray, p_drop: float) -> None:
    keep_prob = 1.0 - p_drop
    variance = p_drop / keep_prob
    if not np.all(np.isfinite(out)):
        raise CheckFailure("the output contains NaN or infinite values.")
    r = out.astype(np.float64) / x.astype(np.float64) - 1.0  # the noise minus its mean 1
    n = r.size
    n_zero = int(np.count_nonzero(out == 0))
    if n_zero > n // 10:  # Gaussian noise is exactly -1 with probability 0
        raise CheckFailure(
            f"{n_zero} of {n} outputs are exactly 0: that is a Bernoulli mask. "
            "Gaussian dropout multiplies every unit by noise drawn from "
            "N(1, p_drop / keep_prob) and drops nothing."
        )
    if x.dtype == np.float64 and x.shape[0] >= 2:
        _check_noise_not_shared(r.reshape(x.shape[0], -1), variance)
    # mean of r: exactly N(0, variance / n) under the correct law (z-test, ALPHA). The rounding
    # of out to x's dtype moves it by at most 2**-11 relative (float16), far inside the radius.
    mean = float(r.mean())
    hint = "the noise must have mean 1 (E[out] = x)."
    if abs(mean + 1) < 0.1:
        hint = "the noise has mean 0: Gaussian dropout's noise is 1 + std * z, not std * z."
    elif abs(mean - (1 / keep_prob - 1)) < 0.05:
        hint = (
            "the noise has mean 1 / keep_prob: do not divide by keep_prob, the noise "
            "already has mean 1."
        )
    assert_normal_mean(
        r,
        0.0,
        variance=variance,
        alpha=ALPHA,
        what="mean of out / x - 1 (the noise minus 1)",
        hint=hint,
    )
    # variance: sum(r**2) / variance is chi-square with n degrees of freedom (ALPHA)
    low, high = course_stats.mean_square_range(variance, n)
    if not low <= float(np.mean(r**2)) <= high:
        raise CheckFailure(
            f"variance of the noise out / x: expected p_drop / keep_prob = "
            f"{variance:.4g} (between {low:.4g} and {high:.4g}), saw "
            f"{float(np.mean(r**2)):.4g}. {_variance_hint(x, out, r, p_drop)}"
        )
    # shape: |Z| < 1/4 has probability 0.1974 for a normal Z, so the count is Binomial (ALPHA).
    # A two-valued (Bernoulli) or uniform noise of the same variance gives far fewer.
    inner = int(np.count_nonzero(np.abs(r) < math.sqrt(variance) / 4))
    distinct = np.unique(np.round(r, 6)).size
    assert_binomial_count(
        inner,
        n,
        _INNER_PROB,
        alpha=ALPHA,
        what="noise values within a quarter standard deviation of 1",
        alternatives={},
        hint=(
            "the noise takes only a few values: that is a scaled Bernoulli mask, not Gaussian "
            "noise (use rng.standard_normal)."
            if distinct < 10
            else "the noise does not look Gaussian: draw it with rng.standard_normal or rng.normal."
        ),
    )


# --- alpha_dropout_forward --------------------------------------------------------------------


def _alpha_cases(hidden: bool):
    cases = [(0.2, (200, 100), np.float64), (0.1, (100, 150), np.float32)]
    if hidden:
        cases += [
            (0.05, (300, 100), np.float64),
            (0.5, (80, 50, 5), np.float32),
            (0.3, (100, 64), np.float16),
            (0.8, (250, 40), np.float64),
        ]
    return cases


_ALPHA_RNG_SHAPE = (64, 64)


def _affine(p_drop: float, alpha_prime: float = ALPHA_PRIME) -> tuple[float, float]:
    keep_prob = 1.0 - p_drop
    a = (keep_prob + alpha_prime**2 * keep_prob * p_drop) ** -0.5
    return a, -a * alpha_prime * p_drop


def _alpha_hypotheses(p_drop: float):
    """(kept slope, kept intercept, dropped value, what it means) of the usual mistakes."""
    keep_prob = 1.0 - p_drop
    a, b = _affine(p_drop)
    a_flip, b_flip = _affine(p_drop, -ALPHA_PRIME)
    return [
        (
            1 / keep_prob,
            0.0,
            0.0,
            "This is inverted dropout (dropped units 0, kept ones divided "
            "by keep_prob). Alpha dropout sets dropped units to alpha' and "
            "then applies out = a * (.) + b to every unit.",
        ),
        (
            1.0,
            0.0,
            0.0,
            "Dropped units are set to 0 and nothing else is done. Alpha dropout sets "
            "them to alpha' and then applies out = a * (.) + b.",
        ),
        (
            a,
            b,
            b,
            "Dropped units were set to 0 before the affine map: they must be set to "
            "alpha' = -1.7581 (SELU's negative saturation value), not 0.",
        ),
        (a, b, 0.0, "Dropped units are 0 in the output: they must be a * alpha' + b."),
        (
            1.0,
            0.0,
            ALPHA_PRIME,
            "Dropped units are alpha', but the affine correction is missing: "
            "out = a * (x * mask + alpha' * (1 - mask)) + b restores mean 0 "
            "and variance 1.",
        ),
        (
            1 / keep_prob,
            0.0,
            ALPHA_PRIME,
            "Kept units are divided by keep_prob: alpha dropout "
            "does not use inverted scaling; the affine map a, b "
            "corrects the moments instead.",
        ),
        (
            a_flip,
            b_flip,
            -a_flip * ALPHA_PRIME + b_flip,
            "alpha' has the wrong sign: it is negative, alpha' = -1.7581.",
        ),
        (
            a,
            -b,
            a * ALPHA_PRIME - b,
            "b has the wrong sign: b = -a * alpha' * p_drop, which is positive since alpha' < 0.",
        ),
        (
            a,
            b,
            a * ALPHA_PRIME,
            "The shift b must be added to the dropped units too: they become a * alpha' + b.",
        ),
        (
            a,
            0.0,
            a * ALPHA_PRIME,
            "The shift b is missing: out = a * (.) + b with b = -a * alpha' * p_drop.",
        ),
    ]


#: roundings of a correct alpha dropout output a * x + b (or a * alpha' + b): a and b rounded to
#: the dtype, the product, the sum, a cast from float64, one more for a sum of three terms
_ALPHA_OPS = 6
#: alpha' is quoted to five figures (-1.7581) in the notebook: a solution that uses that value
#: is off by about 1e-6 relative, so outputs within 1e-4 (relative to 1 + |value|) also count
_ALPHA_PRIME_SLACK = 1e-4


def _alpha_close(out, slope, value, intercept, dtype) -> np.ndarray:
    """Entry by entry, whether ``out`` is ``slope * value + intercept`` computed in ``dtype``:
    up to rounding (relative to the terms' magnitude) or to the slack of a quoted alpha'."""
    target = slope * value + intercept
    rounding = kit.near(
        out, target, dtype, ops=_ALPHA_OPS, scale=np.abs(slope * value) + abs(intercept)
    )
    return rounding | (np.abs(out - target) <= _ALPHA_PRIME_SLACK * (1.0 + np.abs(target)))


def _alpha_dropped(x: np.ndarray, out: np.ndarray, p_drop: float) -> np.ndarray:
    """Which outputs hold the dropped value; fails with the likely mistake unless every output is
    ``a * x + b`` or ``a * alpha' + b``."""
    a, b = _affine(p_drop)
    x64, out64 = x.astype(np.float64), out.astype(np.float64)
    dropped = _alpha_close(out64, a, ALPHA_PRIME, b, x.dtype)
    kept = _alpha_close(out64, a, x64, b, x.dtype)
    if np.all(dropped | kept):
        return dropped
    for slope, intercept, value, text in _alpha_hypotheses(p_drop):
        other_kept = _alpha_close(out64, slope, x64, intercept, x.dtype)
        other_dropped = _alpha_close(out64, 1.0, value, 0.0, x.dtype)
        if np.all(other_kept | other_dropped) and other_dropped.any() and other_kept.any():
            raise CheckFailure(f"alpha dropout at p_drop={p_drop}: {text}")
    bad = np.flatnonzero(~(dropped | kept))
    first = bad[0]
    raise CheckFailure(
        f"alpha dropout at p_drop={p_drop}: every output must be a * x + b (kept) or "
        f"a * alpha' + b = {a * ALPHA_PRIME + b:.6g} (dropped), with a = {a:.6g}, b = {b:.6g}; "
        f"{bad.size} of {out.size} outputs are neither (e.g. x = {x64.ravel()[first]:.6g} gave "
        f"{out64.ravel()[first]:.6g})."
    )


@exercise(
    "alpha_dropout_forward",
    NOTEBOOK,
    reference="course_lib.variants.alpha_dropout_forward",
    equivalents=("course_lib.variants.alpha_dropout_affine",),
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "Alpha dropout keeps SELU activations at mean 0 and variance 1: dropped entries are set "
        "to SELU's negative saturation value ALPHA_PRIME instead of 0, then an affine map a * "
        "(.) + b restores the moments.",
        "Compute a and b from keep_prob and p_drop with the formulas of section 5. "
        "np.where(condition, if_true, if_false) chooses entry by entry between two arrays (or "
        "an array and a number): a boolean keep-mask can choose between x and ALPHA_PRIME.",
        "The affine map applies to every entry, kept or dropped, and only in training: at "
        "inference x comes back unchanged. a and b use keep_prob and p_drop as section 5 "
        "writes them, not swapped; cast the result to x's dtype.",
    ),
)
class AlphaDropoutForward:
    @staticmethod
    def probe(fn, seed, hidden):
        return kit.probe_layer(
            fn,
            seed,
            hidden,
            name="alpha_dropout_forward",
            cases=_alpha_cases(hidden),
            rng_shape=_ALPHA_RNG_SHAPE,
            rng_p_drop=0.5,
            key=(2,),
        )

    @staticmethod
    def verdict(observed, seed, hidden):
        name = "alpha_dropout_forward"
        for p_drop, x, out, inferred in kit.recorded_layer_outputs(
            observed, seed, _alpha_cases(hidden), name, key=(2,)
        ):
            if not np.all(np.isfinite(out)):
                raise CheckFailure("the output contains NaN or infinite values.")
            dropped = _alpha_dropped(x, out, p_drop)
            # dropped count: Binomial(n, p_drop) (exact acceptance region, ALPHA)
            assert_binomial_count(
                int(dropped.sum()),
                int(dropped.size),
                p_drop,
                alpha=ALPHA,
                what=f"dropped units at p_drop={p_drop}",
                alternatives={str(kit.KEEP_DROP_SWAPPED): 1 - p_drop},
                hint="each unit must be dropped with probability p_drop.",
            )
            # masks of samples, and of units, independent (kit, ALPHA); dropped or kept alike
            kit.assert_masks_independent(dropped.reshape(x.shape[0], -1), p_drop, alpha=ALPHA)
            _check_inference(x, inferred, name)
        x, runs = kit.recorded_rng_runs(observed, seed, _ALPHA_RNG_SHAPE, name, key=(2,))
        a, b = _affine(0.5)
        kept = [~_alpha_close(out.astype(np.float64), a, ALPHA_PRIME, b, x.dtype) for out in runs]
        kit.check_rng_use(*kept, p_drop=0.5, alpha=ALPHA)
        # a square mask at p_drop = 1/2 (kit.identical_draws_bound(64, 64, 0.5) = 2.2e-16)
        kit.assert_masks_independent(kept[2], 0.5, alpha=ALPHA)
        kit.check_p_zero_identity(x, observed["p_zero"], name)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_bad_p_drops_refused(observed["bad"], "alpha_dropout_forward")


# --- dropconnect_forward ----------------------------------------------------------------------


def _one_hot_cases(hidden: bool):
    """(p_drop, D, M, repeats, dtype): x is repeats stacked copies of the D x D identity, so
    sample n reads row n % D of W and its output is b + W[n % D] * mask[n, n % D] / keep_prob."""
    cases = [(0.3, 8, 40, 100, np.float64), (0.5, 6, 30, 80, np.float32)]
    if hidden:
        cases += [
            (0.1, 10, 50, 120, np.float64),
            (0.7, 8, 32, 100, np.float32),
            (0.25, 5, 20, 100, np.float16),
        ]
    return cases


def _dense_cases(hidden: bool):
    """(p_drop, N, D, M): positive x and W (float64), to check E[out] = x @ W + b."""
    cases = [(0.4, 400, 16, 24)]
    if hidden:
        cases += [(0.5, 500, 16, 32), (0.2, 300, 24, 16)]
    return cases


def _one_hot_layer(seed, i, p_drop, d, m, repeats, dtype):
    rng = np.random.default_rng([seed, i, 3])
    x = np.tile(np.eye(d), (repeats, 1)).astype(dtype)
    W = (rng.choice([-1.0, 1.0], size=(d, m)) * rng.uniform(0.5, 1.5, size=(d, m))).astype(dtype)
    b = rng.uniform(-1.0, 1.0, size=m).astype(dtype)
    return x, W, b


def _dense_layer(seed, i, n, d, m):
    rng = np.random.default_rng([seed, i, 4])
    return (
        rng.uniform(0.5, 1.5, size=(n, d)),
        rng.uniform(0.5, 1.5, size=(d, m)),
        rng.uniform(0.1, 1.0, size=m),
    )


_DC_RNG_CASE = (8, 32, 64)  # D, M, repeats of the one-hot layer used for the rng checks


@exercise(
    "dropconnect_forward",
    NOTEBOOK,
    reference="course_lib.variants.dropconnect_forward",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "DropConnect drops weights, not units: every sample sees its own thinned copy of W, with "
        "each weight kept with probability keep_prob and the kept ones scaled so that the "
        "expected output is x @ W + b.",
        "A mask of shape (N, D, M) gives each of the N samples its own (D, M) mask. np.einsum "
        "multiplies each sample's row of x by that sample's own matrix when its subscripts "
        "share the sample axis (n) between both operands; np.matmul on x[:, None, :] does the "
        "same.",
        "One (D, M) mask shared by the whole batch is the common mistake, and so is dropping the "
        "bias: b is never dropped. At inference the layer is the plain x @ W + b. Refuse "
        "shapes that do not fit with ValueError.",
    ),
)
class DropconnectForward:
    @staticmethod
    def probe(fn, seed, hidden):
        name = "dropconnect_forward"
        observed = {}
        for i, (p_drop, d, m, repeats, dtype) in enumerate(_one_hot_cases(hidden)):
            x, W, b = _one_hot_layer(seed, i, p_drop, d, m, repeats, dtype)
            rng = np.random.default_rng([seed, i, 5])
            observed[f"train_{i}"] = kit.output(call(fn, x, W, b, p_drop, rng=rng), name)
            observed[f"after_{i}"] = [x, W, b]
            observed[f"infer_{i}"] = kit.output(
                call(fn, x, W, b, p_drop, rng=rng, training=False), name
            )
        for i, (p_drop, n, d, m) in enumerate(_dense_cases(hidden)):
            x, W, b = _dense_layer(seed, i, n, d, m)
            rng = np.random.default_rng([seed, i, 6])
            observed[f"dense_{i}"] = kit.output(call(fn, x, W, b, p_drop, rng=rng), name)
            observed[f"dense_infer_{i}"] = kit.output(
                call(fn, x, W, b, p_drop, rng=rng, training=False), name
            )
        d, m, repeats = _DC_RNG_CASE
        x, W, b = _one_hot_layer(seed, 99, 0.5, d, m, repeats, np.float64)
        observed["rng_runs"] = [
            kit.output(call(fn, x, W, b, 0.5, rng=np.random.default_rng(s)), name)
            for s in (seed, seed, seed + 1)
        ]
        observed["p_zero"] = kit.output(
            call(fn, x, W, b, 0.0, rng=np.random.default_rng(seed)), name
        )
        if hidden:
            observed["bad"] = kit.bad_p_drop_outcomes(
                lambda bad: fn(x, W, b, bad, rng=np.random.default_rng(seed))
            )
            observed["bad_shape"] = kit.outcome_of_bad_call(
                fn, x, np.ones((d + 1, m)), b, 0.5, rng=np.random.default_rng(seed)
            )
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        name = "dropconnect_forward"
        for i, (p_drop, d, m, repeats, dtype) in enumerate(_one_hot_cases(hidden)):
            x, W, b = _one_hot_layer(seed, i, p_drop, d, m, repeats, dtype)
            for original, after, arg in zip(
                (x, W, b), observed[f"after_{i}"], ("x", "W", "b"), strict=True
            ):
                kit.assert_unchanged(
                    original, after, name=arg, new="W * mask / keep_prob", in_place="W *= mask"
                )
            out = kit.require_array(
                observed[f"train_{i}"], name, like=np.empty((x.shape[0], m), dtype=dtype)
            )
            _check_one_hot_output(x, W, b, out, p_drop, repeats)
            _check_dense_inference(x, W, b, observed[f"infer_{i}"])
        for i, (p_drop, n, d, m) in enumerate(_dense_cases(hidden)):
            x, W, b = _dense_layer(seed, i, n, d, m)
            out = kit.require_array(observed[f"dense_{i}"], name, like=np.empty((n, m)))
            _check_dense_output(x, W, b, out, p_drop)
            _check_dense_inference(x, W, b, observed[f"dense_infer_{i}"])
        d, m, repeats = _DC_RNG_CASE
        x, W, b = _one_hot_layer(seed, 99, 0.5, d, m, repeats, np.float64)
        runs = observed["rng_runs"]
        for out in runs:
            kit.require_array(out, name, like=np.empty((x.shape[0], m)))
        kit.check_rng_use(*(out - b != 0 for out in runs), p_drop=0.5, alpha=ALPHA)
        p_zero = kit.require_array(observed["p_zero"], name, like=np.empty((x.shape[0], m)))
        if not _dense_close(x, W, b, p_zero):
            raise CheckFailure("dropconnect_forward with p_drop = 0 must return x @ W + b.")

    @staticmethod
    def arguments(observed, seed, hidden):
        name = "dropconnect_forward"
        if hidden:
            d, m, repeats = _DC_RNG_CASE  # x is repeats stacked d x d identities
            kit.require_bad_p_drops_refused(observed["bad"], name)
            kit.require_value_errors(
                [observed["bad_shape"]],
                [f"W of shape ({d + 1}, {m}) for x of shape {(repeats * d, d)}"],
                name,
                "W must have shape (D, M) with D = x.shape[1]",
            )


def _check_one_hot_output(x, W, b, out, p_drop, repeats) -> None:
    """Sample n reads row n % D of W: ``out[n] - b = W[n % D] * mask[n, n % D] / keep_prob``."""
    d, m = W.shape
    seen = np.tile(W, (repeats, 1))  # the weights each output reads
    through = (out.astype(np.float64) - b.astype(np.float64)).astype(W.dtype)
    ratios = through.astype(np.float64) / seen.astype(np.float64)
    scales = ratios[ratios != 0]
    # a gate for outputs that are not masked weights at all (b dropped or scaled); the exact
    # scale is judged next, with kit's rounding tolerance. Correct float16 outputs spread by at
    # most about 5e-3 (b added and taken off: 2 roundings relative to |W / keep_prob| + |b|
    # <= 2.5 |W / keep_prob|, W / keep_prob and the cast: 2 more), so 1e-2 never stops them.
    if scales.size and not np.allclose(scales, np.median(scales), rtol=1e-2, atol=0):
        raise CheckFailure(
            "DropConnect, read through one-hot inputs (x[n] = e_d): out[n] - b must be row d of "
            "W times its mask / keep_prob, so each entry is 0 (weight dropped) or "
            "W[d, j] / keep_prob (kept), but other values appear. The bias b is added "
            "unchanged, never dropped or scaled; only the weights are masked."
        )
    kept = (through != 0).reshape(repeats, d, m)
    agree_prob = course_stats.agreement_probability(p_drop)
    # independence first: a mask shared across samples or across a row also skews the kept
    # count, and naming the sharing is what helps.
    # Samples reading the same row of W have independent masks: Binomial agreements (ALPHA).
    half = repeats // 2
    kit.assert_independent_pairs(
        kept[0 : 2 * half : 2],
        kept[1 : 2 * half : 2],
        agree_prob,
        alpha=ALPHA,
        what="weights kept or dropped alike for two samples",
        mistake=kit.SHARED_ACROSS_BATCH.say(
            draw="weight mask (shape (D, M))",
            fix="This exercise asks for an independent mask per sample, shape (N, D, M), as in "
            "Wan et al. 2013.",
        ),
        hint="Each sample must get its own weight mask.",
    )
    # weights of one row (one input) are independent too (ALPHA)
    kit.assert_independent_pairs(
        kept[:, :, 0 : m - m % 2 : 2],
        kept[:, :, 1 : m - m % 2 : 2],
        agree_prob,
        alpha=ALPHA,
        what="pairs of weights of one input that are kept or dropped together",
        mistake=kit.SHARED_ACROSS_UNITS.say(
            units="All weights leaving one input",
            unit="weight",
            more=" That is dropout on the inputs x (a mask of shape (N, D)), not DropConnect.",
        ),
        hint="Every weight must be kept or dropped independently.",
    )
    # beyond neighbours: the masks of any two samples (each sees one row of W, M weights), and
    # of any two weights of a row, independent; so are samples or weights s apart (kit, ALPHA)
    kit.assert_masks_independent(
        kept.reshape(repeats * d, m),
        p_drop,
        alpha=ALPHA,
        units="weights",
        unit="weight",
        draw="weight mask (shape (D, M))",
        fix="This exercise asks for an independent mask per sample, shape (N, D, M), as in "
        "Wan et al. 2013.",
    )
    try:
        # exact scale, and kept weights Binomial(N * M, keep_prob) (ALPHA). Adding b and taking
        # it off again costs two more roundings, each relative to |W / keep_prob| + |b| <=
        # 3 |W / keep_prob| (|b| <= 1 <= 2 |W|): up to 6 more in units of the kept value.
        kit.check_inverted_dropout_output(
            seen, through, p_drop, alpha=ALPHA, units="weights", ops=kit.DROPOUT_OPS + 6
        )
    except CheckFailure as failure:
        raise CheckFailure(
            f"DropConnect, read through one-hot inputs (x[n] = e_d, so out[n] - b is row d of W "
            f"times its mask / keep_prob): {failure} The bias b is added unchanged, never "
            f"dropped or scaled."
        ) from None


def _check_dense_output(x, W, b, out, p_drop) -> None:
    keep_prob = 1.0 - p_drop
    d = W.shape[0]
    dense = x @ W
    # An output equals b only when all D of its weights are dropped: probability p_drop**D.
    # Entries are independent (separate weights), so the count is Binomial (ALPHA).
    blank = int(np.count_nonzero((out == b) | (out == 0)))
    assert_binomial_count(
        blank,
        int(out.size),
        p_drop**d,
        alpha=ALPHA,
        what=f"outputs equal to b or 0 (all {d} weights of the output dropped)",
        alternatives={
            "Whole outputs are dropped: that is dropout applied after x @ W. "
            "DropConnect drops single weights, so an output vanishes only when all "
            "its weights are dropped.": p_drop
        },
        hint="an output should lose only some of its weights, almost never all of them.",
    )
    # ratio = (out - b) / (x @ W) lies in [0, 1 / keep_prob] and has mean 1 and variance
    # (p_drop / keep_prob) * sum_d (x_d W_dm)**2 / (x @ W)**2 <= the largest over entries;
    # entries are independent, so Bernstein's bound holds (ALPHA). The upper end has room for
    # rounding when all weights are kept (a wider range keeps the bound valid): out adds
    # positive terms, within gamma(D + 2) of exact, and b <= 1 <= (x @ W) / 4 makes
    # out <= 2 (out - b), so out - b is within gamma(2 D + 5) of exact, and the division by
    # x @ W (itself within gamma(D)) gives gamma(3 D + 6).
    rounding = kit.rounding_tolerance(np.float64, 3 * d + 6)
    ratio = (out - b) / dense
    variance = float(np.max(p_drop / keep_prob * ((x**2) @ (W**2)) / dense**2))
    hint = "E[out] must be x @ W + b."
    if abs(ratio.mean() - keep_prob) < 0.02:
        hint = (
            "the mean is keep_prob times x @ W: the kept weights must be divided by "
            "keep_prob (inverted DropConnect)."
        )
    assert_mean_close(
        ratio,
        1.0,
        lower=0.0,
        upper=(1 + rounding) / keep_prob,
        variance=variance,
        alpha=ALPHA,
        what="mean of (out - b) / (x @ W)",
        hint=hint,
    )


def _dense_close(x, W, b, out) -> bool:
    """``out`` is ``x @ W + b`` up to rounding: a dot product of D terms plus b, in any order,
    in the output's dtype (D + 2 roundings, relative to |x| @ |W| + |b|; see kit.close)."""
    x64, W64, b64 = (np.asarray(a, dtype=np.float64) for a in (x, W, b))
    return kit.close(
        out,
        x64 @ W64 + b64,
        out.dtype,
        ops=W.shape[0] + 2,
        scale=np.abs(x64) @ np.abs(W64) + np.abs(b64),
    )


def _check_dense_inference(x, W, b, out) -> None:
    expected = x.astype(np.float64) @ W.astype(np.float64) + b.astype(np.float64)
    out = kit.require_array(
        out,
        "dropconnect_forward",
        what="out at inference (training=False)",
        like=np.empty(expected.shape, dtype=np.result_type(x, W, b)),
    )
    if _dense_close(x, W, b, out):
        return
    through = (out.astype(np.float64) - b) / (expected - b)
    if np.allclose(through, np.median(through), rtol=1e-3) and not math.isclose(
        float(np.median(through)), 1.0, rel_tol=1e-3
    ):
        raise CheckFailure(
            f"at inference (training=False) the output must be x @ W + b, saw "
            f"(x @ W) times {float(np.median(through)):.4g} + b. With inverted "
            "DropConnect the scaling happens in training only."
        )
    raise CheckFailure(
        "at inference (training=False) DropConnect must be the plain dense layer "
        "x @ W + b: no mask, no noise."
    )


# --- choose_feature_map_dropout: a judgement ----------------------------------------------------
# The rules the exercise states, and from which the accepted set follows exactly: a rate in
# [0.05, 0.5]; element-wise dropout only where adjacent pixels correlate below 0.5; spatial
# dropout only where p_drop ** n_channels <= 0.01; DropBlock always. Nothing is random.

_FEATURE_MAP_VARIANTS = ("dropout", "spatial", "dropblock")
_STRONG_CORRELATION = 0.5
_CONV_P_DROP = (0.05, 0.5)
_ALL_CHANNELS_DROPPED = 0.01


def _feature_map_cases(seed: int, hidden: bool) -> list[tuple[int, float]]:
    """(n_channels, correlation) of each situation the probe asks about."""
    cases = [(64, 0.9), (1, 0.95), (32, 0.2)]
    if hidden:
        cases += [(2, 0.85), (3, 0.8), (8, 0.5), (4, 0.49), (256, 0.99), (1, 0.1), (16, -0.3)]
        rng = np.random.default_rng([seed, 51])
        for _ in range(4):
            n_channels = int(np.exp(rng.uniform(0.0, np.log(300.0))))
            correlation = round(float(rng.uniform(0.0, 1.0)), 3)
            cases.append((max(1, n_channels), correlation))
    return cases


def _choice_record(result):
    """What a verdict may see of a returned ``(variant, p_drop)``."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return {
            "error": f"a {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        }
    variant, p_drop = result
    record: dict[str, str | float] = {
        "variant": variant if isinstance(variant, str) else type(variant).__name__
    }
    if isinstance(p_drop, (int, float, np.integer, np.floating)) and not isinstance(
        p_drop, (bool, np.bool_)
    ):
        record["p_drop"] = float(p_drop)
    else:
        record["p_drop_type"] = type(p_drop).__name__
    return record


def _judge_feature_map_choice(n_channels: int, correlation: float, record: dict) -> str:
    """ "" if the choice is defensible, else why not."""
    where = f"[{n_channels} channels, adjacent-pixel correlation {correlation:g}]"
    if "error" in record:
        return f"{where} return a pair (variant, p_drop), got {record['error']}."
    variant = record["variant"]
    if variant not in _FEATURE_MAP_VARIANTS:
        return (
            f"{where} the variant must be one of {', '.join(map(repr, _FEATURE_MAP_VARIANTS))}, "
            f"got {variant!r}."
        )
    if "p_drop" not in record:
        return f"{where} p_drop must be a number, got a {record['p_drop_type']}."
    p_drop = record["p_drop"]
    low, high = _CONV_P_DROP
    if not low <= p_drop <= high:
        why = (
            "too little noise to regularize anything"
            if p_drop < low
            else "more than half of the features gone in every step: the network underfits"
        )
        return f"{where} p_drop = {p_drop:g} is outside [{low}, {high}]: {why}."
    if variant == "dropout" and correlation >= _STRONG_CORRELATION:
        return (
            f"{where} element-wise dropout on a map whose neighbouring pixels correlate "
            f"{correlation:g} (>= {_STRONG_CORRELATION}): the kept neighbours give each dropped "
            "pixel back, so it removes almost nothing. Drop whole channels or blocks."
        )
    # a relative 1e-9 for rounding: p_drop = 0.01 ** (1 / n_channels) meets the rule exactly
    if variant == "spatial" and p_drop**n_channels > _ALL_CHANNELS_DROPPED * (1 + 1e-9):
        return (
            f"{where} spatial dropout at p_drop = {p_drop:g} drops all {n_channels} channel(s) of "
            f"a sample with probability {p_drop:g}**{n_channels} = {p_drop**n_channels:.3g}, "
            f"above {_ALL_CHANNELS_DROPPED}: the sample loses the whole map. Use fewer "
            "dropped channels (a lower rate) or DropBlock."
        )
    return ""


@exercise(
    "choose_feature_map_dropout",
    NOTEBOOK,
    reference="course_lib.variants.choose_feature_map_dropout",
    hints=(
        "Go through the three variants and ask of each what it takes away from the next layer: "
        "a pixel whose neighbours are still there, a whole channel, or a square of pixels.",
        "Two numbers decide: the correlation says whether a dropped pixel can be guessed from "
        "its neighbours (section 1); the number of channels says how likely channel dropout is "
        "to drop all of them at once, p_drop to the power of the channel count.",
        "Keep the rate inside the range the exercise states for convolutional layers, whatever "
        "the variant, and check the channel rule for the rate you return, not for a "
        "different one.",
    ),
)
class ChooseFeatureMapDropout:
    @staticmethod
    def probe(fn, seed, hidden):
        return {
            f"{n_channels}/{correlation}": _choice_record(call(fn, n_channels, correlation))
            for n_channels, correlation in _feature_map_cases(seed, hidden)
        }

    @staticmethod
    def verdict(observed, seed, hidden):
        problems = [
            _judge_feature_map_choice(
                n_channels, correlation, observed[f"{n_channels}/{correlation}"]
            )
            for n_channels, correlation in _feature_map_cases(seed, hidden)
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            more = (
                f" ({len(problems) - 1} more situation(s) fail too.)" if len(problems) > 1 else ""
            )
            raise CheckFailure(problems[0] + more)

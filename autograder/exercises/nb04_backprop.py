"""Exercises of notebook 04: ``dropout_backward`` (graded with its own forward),
``relative_error`` and the judgement ``choose_gradient_check``.

Conventions: ``p_drop`` is the probability that a unit is dropped, ``keep_prob = 1 - p_drop``;
inverted dropout computes ``out = x * mask / keep_prob`` in training and ``out = x`` at inference.

**The layer pair.** The student writes ``dropout_forward`` and ``dropout_backward`` in one cell
and chooses what the cache holds, so a backward can only be run on the cache of the student's own
forward. The test cell therefore passes both::

    check("dropout_backward", LayerPair(dropout_forward, dropout_backward))

:class:`LayerPair` is callable (calling it runs the forward pass) only so that ``check`` accepts
it; the probe reads its ``forward`` and ``backward`` attributes. The probe accepts any object with
those two callable attributes, or a plain ``(forward, backward)`` tuple, and never tests
``isinstance``: a grader that executes a fresh copy of this module gets a new ``LayerPair`` class.
The verdict judges the forward output first (a wrong forward makes every backward check
meaningless), then the backward against the mask read from that output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from course_lib.checks import CheckFailure, assert_binomial_count
from course_lib.gradcheck import masked_layer_check
from course_lib.gradcheck import relative_error as reference_relative_error

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "04_backprop"


@dataclass(frozen=True)
class LayerPair:
    """A layer's ``forward`` and ``backward`` functions, checked together.

    ``forward(x, p_drop, *, rng, training=True) -> (out, cache)`` and
    ``backward(dout, cache) -> dx``. Calling the pair runs the forward pass.
    """

    forward: Callable
    backward: Callable

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)


def _pair(fn) -> tuple[Callable, Callable]:
    if isinstance(fn, (tuple, list)) and len(fn) == 2:
        forward, backward = fn
    else:
        forward, backward = getattr(fn, "forward", None), getattr(fn, "backward", None)
    if not (callable(forward) and callable(backward)):
        raise CheckFailure(
            "dropout_backward is checked together with the dropout_forward that fills its "
            'cache: pass both, as in check("dropout_backward", '
            "LayerPair(dropout_forward, dropout_backward))."
        )
    return forward, backward


# --- dropout_backward -------------------------------------------------------------------------


def _inputs(
    seed: int, key: int, shape, dtype: DTypeLike = np.float64, zeros: float = 0.0
) -> np.ndarray:
    """Activations with no zeros, except a fraction ``zeros`` set exactly to 0 (as ReLU
    outputs are), so that elsewhere the zeros of an output are exactly the dropped units."""
    return kit.inputs(seed, shape, dtype, key=(key, 1), zeros=zeros)


def _douts(seed: int, key: int, shape, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Upstream gradients with no zero entry, so that the zeros of dx are the dropped units."""
    return kit.inputs(seed, shape, dtype, key=(key, 2))


def _cases(hidden: bool):
    """(p_drop, shape, dtype, fraction of exact zeros in x) of the training-mode calls."""
    cases = [
        (0.3, (200, 100), np.float64, 0.0),
        (0.3, (200, 100), np.float32, 0.0),
        (0.5, (100, 80), np.float64, 0.5),
    ]
    if hidden:
        cases += [
            (0.1, (300, 64), np.float64, 0.0),
            (0.6, (40, 25, 20), np.float32, 0.0),
            (0.8, (250, 80), np.float64, 0.0),
            (0.25, (128, 96), np.float16, 0.0),
            (0.4, (200, 50), np.float32, 0.5),
        ]
    return cases


_INFER = (0.5, (50, 40), np.float32)
_P_ZERO_SHAPE = (30, 20)
_RNG_SHAPE = (64, 64)
_GRADCHECK = (0.4, (5, 6), 1e-4)  # p_drop, shape, h: the layer is linear, any h works


def _backward(backward, dout, cache, context: str):
    try:
        return call(backward, dout, cache)
    except CheckFailure as failure:
        raise CheckFailure(f"{failure} This happened {context}.") from None


@exercise(
    "dropout_backward",
    NOTEBOOK,
    reference="course_lib.dropout.dropout_backward",
    equivalents=(
        "course_lib.dropout.dropout_forward",
        "course_lib.dropout.standard_dropout_forward",
        "course_lib.dropout.standard_dropout_backward",
    ),
    parts={BEHAVIOUR: 3, ARGUMENT_CHECKS: 1},
    hints=(
        "The forward pass multiplies each entry of x by a number that does not depend on x (0 "
        "or the scale). The derivative of such a product with respect to x is that number: "
        "the backward multiplies dout by the same numbers.",
        "So the forward has to remember its numbers: put the mask (and keep_prob) in the cache, "
        "and read them back in dropout_backward. At inference, or with p_drop = 0, the cache "
        "can say so and dx is dout unchanged.",
        "Two traps the checks name. "
        + kit.BACKWARD_NEW_MASK.say()
        + " "
        + kit.MASK_FROM_OUTPUT.say(),
    ),
)
class DropoutBackward:
    @staticmethod
    def probe(fn, seed, hidden):
        forward, backward = _pair(fn)
        name = getattr(forward, "__name__", "dropout_forward")
        observed = {}
        for i, (p_drop, shape, dtype, zeros) in enumerate(_cases(hidden)):
            x = _inputs(seed, i, shape, dtype, zeros)
            dout = _douts(seed, i, shape, dtype)
            rng = np.random.default_rng([seed, i])
            out, cache = kit.layer_result(call(forward, x, p_drop, rng=rng), name)
            observed[f"out_{i}"] = kit.observed(out)
            observed[f"x_after_{i}"] = x.copy()
            dx = _backward(
                backward,
                dout,
                cache,
                f"in the backward of a training-mode forward (p_drop={p_drop})",
            )
            observed[f"dx_{i}"] = kit.observed(dx)
            observed[f"dout_after_{i}"] = dout.copy()
            if hidden and i == 0:
                again = _backward(
                    backward,
                    _douts(seed, i, shape, dtype),
                    cache,
                    "when the same cache was used a second time",
                )
                observed["dx_again"] = kit.observed(again)

        p_drop, shape, dtype = _INFER
        x, dout = _inputs(seed, 100, shape, dtype), _douts(seed, 100, shape, dtype)
        out, cache = kit.layer_result(
            call(forward, x, p_drop, rng=np.random.default_rng(seed), training=False), name
        )
        observed["infer_out"] = kit.observed(out)
        observed["infer_dx"] = kit.observed(
            _backward(
                backward, dout, cache, "in the backward of an inference forward (training=False)"
            )
        )

        x, dout = _inputs(seed, 101, _P_ZERO_SHAPE), _douts(seed, 101, _P_ZERO_SHAPE)
        out, cache = kit.layer_result(call(forward, x, 0.0, rng=np.random.default_rng(seed)), name)
        observed["p_zero_out"] = kit.observed(out)
        observed["p_zero_dx"] = kit.observed(
            _backward(backward, dout, cache, "in the backward of a forward with p_drop=0")
        )

        x = _inputs(seed, 102, _RNG_SHAPE)
        observed["rng_runs"] = [
            kit.output(call(forward, x, 0.5, rng=np.random.default_rng(s)), name)
            for s in (seed, seed, seed + 1)
        ]

        # gradient check: f(x) = sum(forward(x) * dout), the mask fixed by reseeding rng
        p_drop, shape, h = _GRADCHECK
        x, dout = _inputs(seed, 103, shape), _douts(seed, 103, shape)
        mask_seed = [seed, 103]

        def f(point):
            out = kit.layer_result(
                call(forward, point, p_drop, rng=np.random.default_rng(mask_seed)), name
            )[0]
            if not (isinstance(out, np.ndarray) and out.shape == shape):
                got = (
                    f"shape {out.shape}"
                    if isinstance(out, np.ndarray)
                    else f"a {type(out).__name__}"
                )
                raise CheckFailure(
                    f"{name} must return an output array of the input's shape {shape}, got {got}."
                )
            return float(np.sum(out.astype(np.float64) * dout))

        upper, lower = np.empty(x.size), np.empty(x.size)
        for k in range(x.size):
            step = np.zeros(x.size)
            step[k] = h
            upper[k] = f(x + step.reshape(shape))
            lower[k] = f(x - step.reshape(shape))
        _, cache = kit.layer_result(
            call(forward, x, p_drop, rng=np.random.default_rng(mask_seed)), name
        )
        observed["gradcheck_upper"], observed["gradcheck_lower"] = upper, lower
        observed["gradcheck_dx"] = kit.observed(
            _backward(backward, dout, cache, "in the gradient check")
        )

        if hidden:
            observed["bad"] = kit.bad_p_drop_outcomes(
                lambda bad: forward(x, bad, rng=np.random.default_rng(seed))
            )
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for i, (p_drop, shape, dtype, zeros) in enumerate(_cases(hidden)):
            x = _inputs(seed, i, shape, dtype, zeros)
            dout = _douts(seed, i, shape, dtype)
            kit.assert_unchanged(x, observed[f"x_after_{i}"])
            out = _require_array(observed[f"out_{i}"], "out", like=x)
            if not zeros:  # (where x is 0 the output shows no mask) independence first: a
                # mask shared by the batch also skews the kept count, and "shared" is the hint
                kit.assert_masks_independent(np.reshape(out != 0, (shape[0], -1)), p_drop)
            kit.check_inverted_dropout_output(x, out, p_drop)
            kit.assert_unchanged(
                dout,
                observed[f"dout_after_{i}"],
                name="dout",
                new="dx = dout * mask / keep_prob",
                in_place="dout *= mask",
            )
            dx = _require_array(observed[f"dx_{i}"], "dx", like=dout)
            _check_backward(x, out, dout, dx, p_drop)
        if hidden:
            dx_again = _require_array(observed["dx_again"], "dx")
            if not np.array_equal(dx_again, observed["dx_0"]):
                raise CheckFailure(
                    "two backward passes with the same cache and the same dout gave different "
                    "dx. The backward must not draw random numbers or change the cache: it "
                    "reuses the mask of the forward pass."
                )
        _check_inference(observed, seed)
        _check_p_zero(observed, seed)
        runs = [
            _require_array(out, "out", like=_inputs(seed, 102, _RNG_SHAPE))
            for out in observed["rng_runs"]
        ]
        kit.check_rng_use(*runs, p_drop=0.5)
        # a square mask at p_drop = 1/2: a repeated row or column is a sign of sharing
        # (kit.identical_draws_bound(64, 64, 0.5) = 2.2e-16), however the sharing is arranged
        kit.assert_masks_independent(runs[2] != 0, 0.5)
        _check_gradient(observed, seed)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_bad_p_drops_refused(observed["bad"], "dropout_forward")


def _require_array(value, what: str, like: np.ndarray | None = None) -> np.ndarray:
    function = "dropout_backward" if what == "dx" else "dropout_forward"
    return kit.require_array(value, function, what=what, like=like)


def _check_backward(x, out, dout, dx, p_drop) -> None:
    """dx must be dout * mask / keep_prob with the forward's mask: exact where the mask can be
    read from ``out`` (x != 0), statistical where it cannot (x == 0)."""
    keep_prob = 1.0 - p_drop
    known = x != 0
    kit.check_dropout_backward(x[known], out[known], dout[known], dx[known], p_drop)
    unknown = ~known
    if not unknown.any():
        return
    # where x == 0 the output is 0 whether the unit was kept or dropped; dx still tells:
    # dout / keep_prob if kept, 0 if dropped, and kept units are Binomial(n, keep_prob)
    values = dx[unknown].astype(np.float64)
    kept = kit.near(values, dout[unknown].astype(np.float64) / keep_prob, dout.dtype)
    dropped = values == 0
    if not np.all(kept | dropped):
        raise CheckFailure(
            "for units whose input x is 0, dx must still be 0 (dropped) or "
            "dout / keep_prob (kept); saw other values."
        )
    assert_binomial_count(
        int(kept.sum()),
        int(kept.size),
        keep_prob,
        what="units with input 0 that pass the gradient",
        alternatives={
            str(kit.MASK_FROM_OUTPUT): 0.0,
            f"Every unit with input 0 passes the gradient. {kit.NOTHING_DROPPED}": 1.0,
        },
        hint=f"each unit is kept with probability keep_prob = {keep_prob:.4g}, and only kept "
        "units pass the gradient.",
    )


def _check_inference(observed, seed) -> None:
    _, shape, dtype = _INFER
    x, dout = _inputs(seed, 100, shape, dtype), _douts(seed, 100, shape, dtype)
    kit.check_inference_identity(x, observed["infer_out"], name="dropout_forward")
    _check_identity_backward(
        _require_array(observed["infer_dx"], "dx"), dout, "At inference (training=False)"
    )


def _check_p_zero(observed, seed) -> None:
    x, dout = _inputs(seed, 101, _P_ZERO_SHAPE), _douts(seed, 101, _P_ZERO_SHAPE)
    out = _require_array(observed["p_zero_out"], "out")
    if not (out.shape == x.shape and np.array_equal(out, x)):
        raise CheckFailure(
            "with p_drop = 0 nothing is dropped and nothing is scaled: the "
            "forward output must equal the input."
        )
    _check_identity_backward(_require_array(observed["p_zero_dx"], "dx"), dout, "With p_drop = 0")


def _check_identity_backward(dx, dout, when: str) -> None:
    kit.assert_same_shape_dtype(dout, dx, name="dx")
    if kit.close(dx, dout, dout.dtype):
        return
    if np.any(dx == 0):
        raise CheckFailure(
            f"{when} the forward pass is the identity, so dx must equal dout, "
            "but some entries of dx are 0: the backward applied a mask that the "
            "forward did not use."
        )
    ratio = float(np.median(np.asarray(dx, dtype=np.float64) / dout))
    raise CheckFailure(
        f"{when} the forward pass is the identity, so dx must equal dout; saw "
        f"dout times {ratio:.6g}."
    )


def _check_gradient(observed, seed) -> None:
    _p_drop, shape, h = _GRADCHECK
    dout = _douts(seed, 103, shape)
    dx = _require_array(observed["gradcheck_dx"], "dx", like=dout)
    numerical = (observed["gradcheck_upper"] - observed["gradcheck_lower"]) / (2 * h)
    error = reference_relative_error(numerical.reshape(shape), dx)
    # the threshold the notebook teaches for a gradient check ("below 1e-7 they agree"). The
    # layer is linear, so centred differences are exact up to rounding: f sums 30 terms of
    # size about 2, within 2 gamma(34) * 60 = 5e-13 of exact, and / (2 h) makes that 3e-9 per
    # entry, a relative error below 1e-9; a wrong mask is off by about 0.3
    if not error <= 1e-7:
        raise CheckFailure(
            f"gradient check failed: the relative error between centred differences of "
            f"sum(dropout_forward(x) * dout) (the mask fixed by reseeding rng for every "
            f"evaluation, h={h}) and your backward is {error:.2e}, expected below 1e-7. Does "
            f"the forward draw its mask from rng alone, and does the backward use that mask?"
        )


# --- relative_error ---------------------------------------------------------------------------


def _rel_cases(seed: int, hidden: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng([seed, 4])
    a = rng.standard_normal(7)
    cases: list[tuple[np.ndarray, np.ndarray]] = []
    cases.append((a, a + 0.3 * rng.standard_normal(7)))  # plain vectors
    cases.append((rng.standard_normal((5, 4)), rng.standard_normal((5, 4))))  # matrices
    small = 1e-6 * rng.standard_normal(50)  # tiny gradients
    cases.append((small, small * (1 + 1e-3 * rng.standard_normal(50))))
    cases.append((np.zeros(6), rng.standard_normal(6)))  # one side zero
    cases.append((np.zeros((3, 3)), np.zeros((3, 3))))  # both zero
    relu = rng.standard_normal(20) * (rng.random(20) < 0.5)  # shared zeros
    cases.append((relu, relu + 0.01 * rng.standard_normal(20) * (relu != 0)))
    big = 1e8 * rng.standard_normal((2, 3, 4))
    cases.append((big, big * 1.001))
    if hidden:
        for _ in range(8):
            shape = tuple(int(n) for n in rng.integers(1, 6, size=rng.integers(1, 4)))
            scale = 10.0 ** rng.uniform(-8, 8)
            a = scale * rng.standard_normal(shape)
            cases.append((a, a + scale * 10.0 ** rng.uniform(-9, 0) * rng.standard_normal(shape)))
        a = rng.standard_normal(10)
        cases.append((a, a + 1e-9 * rng.standard_normal(10)))  # nearly equal
        cases.append((np.array(3.0), np.array(4.0)))  # 0-d
        a32 = rng.standard_normal((4, 5)).astype(np.float32)
        cases.append((a32, (a32 + 0.1 * rng.standard_normal((4, 5))).astype(np.float32)))
        cases.append((rng.standard_normal(4), -np.zeros(4)))
    return cases


def _bad_shapes(hidden: bool):
    shapes = [((4, 1), (4,)), ((3,), (1,))]
    if hidden:
        shapes += [((5,), (5, 1)), ((2, 3), (3, 2)), ((1,), ())]
    return shapes


def _norm(v) -> np.float64:
    """Euclidean norm of all entries (a NumPy float: dividing by 0 gives inf or nan)."""
    return np.float64(np.linalg.norm(np.ravel(v)))


def _rel_mistakes(a, b):
    """(value of a wrong formula, what it is) for the realistic mistakes."""
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = _norm(a - b)
        yield (
            diff / _norm(a),
            (
                "divides by ||a|| only: the relative error must be symmetric "
                "in a and b, divide by ||a|| + ||b||."
            ),
        )
        yield (
            diff / _norm(b),
            (
                "divides by ||b|| only: the relative error must be symmetric "
                "in a and b, divide by ||a|| + ||b||."
            ),
        )
        yield (
            diff,
            (
                "is the absolute error ||a - b||: divide by ||a|| + ||b|| so that the "
                "result does not depend on the scale of the gradients."
            ),
        )
        yield (
            np.max(np.abs(a - b)) / (np.max(np.abs(a)) + np.max(np.abs(b))),
            "uses max |entry| instead of the Euclidean norm: use np.linalg.norm, which sees "
            "every entry.",
        )
        yield (
            np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b))),
            "uses max |entry| instead of the Euclidean norm: use np.linalg.norm, which sees "
            "every entry.",
        )
        elementwise = np.abs(a - b) / (np.abs(a) + np.abs(b))
        message = (
            "is an elementwise relative error ({}) over entries: the exercise asks for "
            "one ratio of norms, ||a - b|| / (||a|| + ||b||), which also needs no care "
            "for entries where both gradients are 0."
        )
        yield np.mean(elementwise), message.format("mean")
        yield np.max(elementwise), message.format("max")
        yield (
            np.nanmean(elementwise) if np.any(np.isfinite(elementwise)) else np.nan,
            message.format("mean"),
        )
        yield (
            diff**2 / (_norm(a) ** 2 + _norm(b) ** 2),
            "uses squared norms: take the square roots, ||a - b|| / (||a|| + ||b||).",
        )
        yield (
            diff / max(_norm(a), _norm(b)),
            "divides by max(||a||, ||b||): use ||a|| + ||b|| (as course_lib does), which "
            "keeps the result in [0, 1].",
        )
        if np.ndim(a) == 2:
            spectral = np.linalg.norm(a - b, 2) / (np.linalg.norm(a, 2) + np.linalg.norm(b, 2))
            yield (
                spectral,
                "uses the spectral norm: for a matrix, np.linalg.norm(m, 2) is the "
                "largest singular value. Use the Euclidean norm of all entries, "
                "np.linalg.norm(m) without ord.",
            )


@exercise(
    "relative_error",
    NOTEBOOK,
    reference="course_lib.gradcheck.relative_error",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "A relative error compares the size of the difference a - b with the sizes of a and b "
        "themselves, so that it means the same for tiny and for huge gradients.",
        "Use the Euclidean norm over all entries (np.linalg.norm of the flattened arrays, or the "
        "square root of a sum of squares), in the formula of section 3's 'Why relative'.",
        "Two equal arrays of zeros have error 0, not 0 / 0 = nan: handle a zero denominator. "
        "Arrays of different shapes raise ValueError (no broadcasting), and the result is a "
        "Python float.",
    ),
)
class RelativeError:
    @staticmethod
    def probe(fn, seed, hidden):
        values = []
        for a, b in _rel_cases(seed, hidden):
            result = kit.attempt(fn, a.copy(), b.copy())  # judged in case order
            values.append(result if kit.failure_of(result) else kit.observed(result))
        observed = {"values": values}
        observed["bad"] = [
            kit.outcome_of_bad_call(fn, np.ones(sa), np.ones(sb)) for sa, sb in _bad_shapes(hidden)
        ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _rel_cases(seed, hidden)
        for (a, b), seen in zip(cases, observed["values"], strict=True):
            _judge_relative_error(a, b, seen, cases, observed["values"])

    @staticmethod
    def arguments(observed, seed, hidden):
        kit.require_value_errors(
            observed["bad"],
            [f"arrays of shapes {sa} and {sb}" for sa, sb in _bad_shapes(hidden)],
            "relative_error",
            "a and b must have the same shape",
            advice="NumPy would broadcast them and compare different things without a word.",
        )


def _describe(a, b) -> str:
    return f"a of shape {np.shape(a)} with ||a|| = {_norm(a):.3g} and b with ||b|| = {_norm(b):.3g}"


def _relative_error_ops(size: int) -> int:
    """Roundings of ``||a - b|| / (||a|| + ||b||)`` over ``size`` entries, however the Euclidean
    norms are computed (``np.linalg.norm``, ``sqrt(sum(a * a))``, dot products, BLAS ``nrm2``).

    A norm adds ``size`` squares: each carries the rounding of its square and of the
    ``size - 1`` additions, and with ``nrm2``'s rescaling the running sum is also multiplied by
    a squared ratio of scales at each step, so at most ``3 size`` roundings, plus the square
    root; the terms have one sign, so the norm is within ``gamma(3 size + 1)``, relative
    (Higham, section 3.1). The entries of ``a - b`` round once each, twice once squared: the
    numerator ``3 size + 3``; the denominator two norms and their sum, ``3 size + 2``; the
    division one. Relative errors compose (Higham, Lemma 3.3): ``6 size + 6``, and a cast.
    """
    return 6 * size + 7


def _matches(value, wrong) -> bool:
    # a diagnosis after the value failed: the mistakes differ from the right ratio by factors,
    # and a loose match (1e-6) names them however they were computed (spectral norms by SVD)
    wrong = float(wrong)
    return (math.isnan(wrong) and math.isnan(value)) or math.isclose(value, wrong, rel_tol=1e-6)


def _diagnose(value, a, b, cases, values) -> str | None:
    """The mistake that explains ``value``; when several do, the one that explains the most
    of the other cases' results too."""

    def formulas(x, y):
        return _rel_mistakes(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))

    candidates = [mistake for wrong, mistake in formulas(a, b) if _matches(value, wrong)]
    if len(set(candidates)) <= 1:
        return candidates[0] if candidates else None
    support = dict.fromkeys(candidates, 0)
    for (x, y), seen in zip(cases, values):
        if isinstance(seen, np.ndarray) and seen.ndim == 0:
            for wrong, mistake in formulas(x, y):
                if mistake in support and _matches(float(seen), wrong):
                    support[mistake] += 1
    return max(candidates, key=lambda mistake: support[mistake])


def _judge_relative_error(a, b, seen, cases, values) -> None:
    expected = reference_relative_error(a, b)
    where = _describe(a, b)
    if kit.failure_of(seen):
        raise CheckFailure(f"{kit.failure_of(seen)} (for {where})")
    if isinstance(seen, str):
        raise CheckFailure(f"relative_error must return a float, got {seen} (for {where}).")
    if np.ndim(seen) != 0:
        raise CheckFailure(
            f"relative_error must return one number, got an array of shape {np.shape(seen)} "
            f"(for {where}): reduce with norms, ||a - b|| / (||a|| + ||b||)."
        )
    value = float(seen)
    both_zero = _norm(a) == 0 and _norm(b) == 0
    if both_zero and value != 0.0:
        raise CheckFailure(
            f"relative_error of two zero arrays must be 0.0 (the gradients agree), got {value}: "
            f"return 0.0 when ||a|| + ||b|| == 0 instead of dividing 0 by 0."
        )
    # in the inputs' dtype: float32 gradients may be compared in float32
    dtype = np.result_type(np.asarray(a).dtype, np.asarray(b).dtype)
    if kit.close(value, expected, dtype, ops=_relative_error_ops(np.size(a))):
        return
    mistake = _diagnose(value, a, b, cases, values)
    if mistake:
        raise CheckFailure(
            f"relative_error gave {value:.6g} for {where}, expected {expected:.6g}: it {mistake}"
        )
    raise CheckFailure(
        f"relative_error gave {value:.6g} for {where}, expected {expected:.6g} "
        "= ||a - b|| / (||a|| + ||b||) with Euclidean norms."
    )


# --- choose_gradient_check (a judgement) ------------------------------------------------------

#: the rate of the layer the check is run on, as in section 6
_CHECK_P_DROP = 0.5


def _check_dtypes(hidden: bool) -> list[np.dtype]:
    names = ["float64", "float32", "float16"] if hidden else ["float64", "float32"]
    return [np.dtype(name) for name in names]


def _check_seeds(seed: int, hidden: bool) -> list[int]:
    """The layers (inputs and mask) the student's check is run on: the choice must work for
    every one, not for one draw."""
    return [int(s) for s in np.random.default_rng([seed, 4]).integers(0, 2**31, 8 if hidden else 3)]


@exercise(
    "choose_gradient_check",
    NOTEBOOK,
    reference="course_lib.gradcheck.choose_gradient_check",
    hints=(
        "A check works when a correct backward passes it and the buggy one of section 6 fails "
        "it: the threshold must lie between the relative error a correct gradient keeps and "
        "the error of the bug. Both depend on the step and on the precision.",
        "The error of a correct gradient has two parts (section 3): truncation, which grows "
        "with the step, and rounding, about the precision's epsilon (np.finfo(dtype).eps) "
        "divided by the step. Where do they balance in each dtype, and how large is the error "
        "there?",
        "The float64 recipe of section 3 does not carry over: in float32 a step of 1e-7 is "
        "lost in rounding, and no step gets a correct gradient below 1e-7. Run "
        "masked_layer_check for a few steps in each dtype and leave a margin on both sides.",
    ),
)
class ChooseGradientCheck:
    @staticmethod
    def probe(fn, seed, hidden):
        return {
            "choices": [
                kit.observed(call(fn, dtype), sequences=True) for dtype in _check_dtypes(hidden)
            ]
        }

    @staticmethod
    def verdict(observed, seed, hidden):
        dtypes = _check_dtypes(hidden)
        if len(observed["choices"]) != len(dtypes):
            raise CheckFailure(
                f"expected {len(dtypes)} choices, the probe recorded another number."
            )
        for dtype, seen in zip(dtypes, observed["choices"], strict=True):
            _judge_gradient_check(dtype, seen, _check_seeds(seed, hidden))


def _judge_gradient_check(dtype: np.dtype, seen, seeds: list[int]) -> None:
    call_text = f"choose_gradient_check({dtype.name})"
    if not isinstance(seen, np.ndarray) or seen.shape != (2,):
        raise CheckFailure(
            f"{call_text} must return a pair (h, threshold) of numbers, got "
            f"{seen if isinstance(seen, str) else f'shape {np.shape(seen)}'}."
        )
    h, threshold = (float(value) for value in seen)
    if not (math.isfinite(h) and h > 0 and dtype.type(h) > 0 and h < 1):
        raise CheckFailure(
            f"{call_text} returned the step h = {h:g}: it must be > 0, below 1 and not round to "
            f"0 in {dtype.name} (whose smallest positive number is "
            f"{float(np.finfo(dtype).smallest_subnormal):.3g})."
        )
    if not 0 < threshold < 1:
        raise CheckFailure(
            f"{call_text} returned the threshold {threshold:g}: a relative error lies in [0, 1], "
            "so a threshold that tells anything apart is in (0, 1)."
        )
    eps = float(np.finfo(dtype).eps)
    for seed in seeds:
        errors = masked_layer_check(h, dtype, p_drop=_CHECK_P_DROP, seed=seed)
        correct, buggy = errors["correct"], errors["ignores_mask"]
        if correct > threshold:
            best = masked_layer_check(eps ** (1 / 3), dtype, p_drop=_CHECK_P_DROP, seed=seed)
            if best["correct"] > threshold:
                why = (
                    f"No step does much better in {dtype.name}: even at h = eps**(1/3) = "
                    f"{eps ** (1 / 3):.2g} a correct gradient keeps a relative error of "
                    f"{best['correct']:.2g}. The threshold must sit above the error that "
                    f"{dtype.name}'s rounding leaves (eps = {eps:.3g})."
                )
            elif h < eps ** (1 / 3):
                why = (
                    f"The step is too small for {dtype.name}: each J is rounded by about eps "
                    f"* |J| (eps = {eps:.3g}), and divided by 2h that rounding swamps the "
                    "difference."
                )
            else:
                why = (
                    "The step is too large: the truncation error of centred differences grows "
                    "like h**2."
                )
            raise CheckFailure(
                f"{call_text} = ({h:g}, {threshold:g}) fails a correct backward pass: its "
                f"relative error against centred differences is {correct:.2g} > {threshold:g} "
                f"on the layer of section 6 (p_drop = {_CHECK_P_DROP}, layer seed {seed}). {why}"
            )
        if buggy <= threshold:
            raise CheckFailure(
                f"{call_text} = ({h:g}, {threshold:g}) lets the backward that ignores the mask "
                f"pass: its relative error is {buggy:.2g} <= {threshold:g} (layer seed {seed}). "
                "A check this loose cannot see section 6's bug: lower the threshold towards the "
                "error a correct gradient keeps."
            )

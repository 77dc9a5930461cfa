"""Exercises of notebook 06: ``mc_predict``, ``predictive_entropy`` and ``mutual_information``.

Conventions: ``p_drop`` is the probability that a unit is dropped (keep_prob = 1 - p_drop);
entropies are in nats (natural logarithm) and ``0 * log 0 = 0``.

**mc_predict.** The probe hands the student's ``mc_predict`` a ``predict_fn`` of its own: a tiny
dropout network that draws its mask from the generator it is called with and records every call
(the X and the generator it got, the mask it drew, the prediction it returned). The verdict then
judges exactly, from those records, without assuming anything about how the student uses
``rng``: the number of calls, that the masks differ from call to call, that ``mean`` and ``std``
(ddof=0) are those of the recorded predictions, and that the masks drawn are reproducible from
the seed of ``rng`` and change with it. Nothing here is statistical: two calls that draw
independent masks of ``N x 32`` entries at p_drop = 0.5 coincide with probability
``2**-(32 N)``; every case has N >= 6 inputs, so that is at most 2**-192 per pair, far below
1e-9 even summed over all pairs of all cases. ``mean`` and ``std`` may come from any textbook
algorithm (``np.mean``/``np.std``, running sums, Welford's updates), in the dtype of the
predictions: :func:`kit.near_mean` and :func:`kit.near_std` bound each one's rounding, including
the cancellation of ``sqrt(mean(x**2) - mean(x)**2)`` that the large-offset case provokes.

**Entropies.** Deterministic; judged against the exact values with tolerances derived from the
dtype's precision and the magnitude of the terms (see :func:`_entropy_error`).
"""

from __future__ import annotations

import math

import numpy as np

from course_lib.checks import CheckFailure

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "06_mc_dropout"

_HIDDEN_UNITS = 32
_P_DROP = 0.5  # of the probe's tiny network: the most random masks


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


# --- mc_predict ----------------------------------------------------------------------------------


#: added to the regression output of the "large offset" case: a mean a million times the
#: prediction's spread, where sqrt(mean(x**2) - mean(x)**2) loses most of its digits
_LARGE_OFFSET = 1e6


def _mc_cases(hidden: bool):
    """(name, kind, X shape, n_samples): kind "probs" returns class probabilities ("probs32" in
    float32), "values" a regression output of shape (N,) ("offset" plus
    :data:`_LARGE_OFFSET`), "column" shape (N, 1)."""
    cases = [("classes", "probs", (20, 5), 30), ("regression", "values", (12, 3), 25)]
    if hidden:
        cases += [
            ("one sample", "column", (9, 4), 1),
            ("two samples", "probs", (6, 5), 2),
            ("3-D inputs", "probs", (4, 6, 5), 40),
            ("column output", "column", (15, 2), 17),
            ("large offset", "offset", (10, 3), 20),
            ("float32 predictions", "probs32", (8, 5), 12),
        ]
    return cases


def _mc_inputs(seed: int, index: int, shape) -> np.ndarray:
    return np.random.default_rng([seed, 61, index]).normal(size=shape)


class _RecordingNet:
    """The ``predict_fn`` given to the student's ``mc_predict``: a tiny dropout network.

    ``predict_fn(X, rng)`` computes positive hidden units from X, drops each with probability
    0.5 using ``rng.random`` (inverted dropout), and returns probabilities (softmax of 4 logits),
    or one regression value per input. Every call is recorded.
    """

    def __init__(self, seed: int, index: int, kind: str, X: np.ndarray, given_rng):
        params = np.random.default_rng([seed, 62, index])
        n_out = 4 if kind.startswith("probs") else 1
        self.W1 = params.normal(size=(X.shape[-1], _HIDDEN_UNITS))
        self.W2 = params.normal(size=(_HIDDEN_UNITS, n_out))
        self.b2 = params.normal(size=n_out)
        self.kind = kind
        self.X = X.copy()
        self.given_rng = given_rng
        self.outputs, self.masks, self.same_rng, self.same_x = [], [], [], []

    def __call__(self, X, rng):
        if not isinstance(rng, np.random.Generator):
            raise CheckFailure(
                f"predict_fn must be called as predict_fn(X, rng) with a "
                f"numpy Generator as rng, got {type(rng).__name__}. Pass it the "
                "rng that mc_predict received."
            )
        X = np.asarray(X, dtype=np.float64)
        self.same_x.append(X.shape == self.X.shape and bool(np.array_equal(X, self.X)))
        self.same_rng.append(rng is self.given_rng)
        hidden = np.abs(X @ self.W1) + 0.1  # positive: a dropped unit always changes the output
        keep = rng.random(hidden.shape) >= _P_DROP
        out = (hidden * keep / (1.0 - _P_DROP)) @ self.W2 + self.b2
        if self.kind.startswith("probs"):
            out = _softmax(out).astype(np.float32 if self.kind == "probs32" else np.float64)
        elif self.kind == "values":
            out = out[..., 0]
        elif self.kind == "offset":
            out = out[..., 0] + _LARGE_OFFSET
        self.outputs.append(out.copy())
        self.masks.append(keep)
        return out


def _run_mc(fn, seed, index, kind, shape, n_samples, rng_seed):
    X = _mc_inputs(seed, index, shape)
    rng = np.random.default_rng(rng_seed)
    net = _RecordingNet(seed, index, kind, X, rng)
    result = call(fn, net, X, n_samples, rng=rng)
    if isinstance(result, (tuple, list)) and len(result) == 2:
        returned = [
            kit.observed(result[0], sequences=True),
            kit.observed(result[1], sequences=True),
        ]
    else:
        returned = f"a {type(result).__name__}" + (
            f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        )
    outputs = np.stack(net.outputs) if net.outputs else np.zeros((0,))
    masks = (
        np.stack(net.masks).reshape(len(net.masks), -1)
        if net.masks
        else np.zeros((0, 0), dtype=bool)
    )
    return {
        "returned": returned,
        "outputs": outputs,
        "masks": masks,
        "same_rng": list(net.same_rng),
        "same_x": list(net.same_x),
        "x_unchanged": bool(np.array_equal(X, net.X)),
    }


_BAD_N_SAMPLES = (0, -2)


@exercise(
    "mc_predict",
    NOTEBOOK,
    reference="course_lib.mc.mc_predict",
    equivalents=("course_lib.mc.mc_samples",),
    parts={BEHAVIOUR: 3, ARGUMENT_CHECKS: 1},
    hints=(
        "MC dropout averages several stochastic forward passes: call predict_fn n_samples times "
        "and summarise what it returns entry by entry.",
        "Stack the predictions into one array with a new first axis (np.stack), then take the mean "
        "and the standard deviation over that axis; np.std uses ddof=0 by default.",
        "The trap the check names: "
        + kit.RESEEDED_EACH_CALL.say(result="prediction")
        + " Pass the rng you received to every "
        "call, and average the probabilities themselves, not logits or argmaxes.",
    ),
)
class McPredict:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {}
        for index, (name, kind, shape, n_samples) in enumerate(_mc_cases(hidden)):
            observed[name] = _run_mc(fn, seed, index, kind, shape, n_samples, [seed, 63, index])
        # reproducibility: the same seed again, then another seed, on the first case
        _, kind, shape, n_samples = _mc_cases(hidden)[0]
        observed["same seed"] = _run_mc(fn, seed, 0, kind, shape, n_samples, [seed, 63, 0])
        observed["other seed"] = _run_mc(fn, seed, 0, kind, shape, n_samples, [seed, 64, 0])
        if hidden:
            X = _mc_inputs(seed, 0, (5, 3))
            observed["bad"] = [
                kit.outcome_of_bad_call_naming(
                    "n_samples", fn, lambda X, rng: X, X, bad, rng=np.random.default_rng(seed)
                )
                for bad in _BAD_N_SAMPLES
            ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for name, _, _, n_samples in _mc_cases(hidden):
            _judge_mc_case(name, observed[name], n_samples)
        _, _, _, n_samples = _mc_cases(hidden)[0]
        for name in ("same seed", "other seed"):
            _judge_mc_case(name, observed[name], n_samples)
        # the masks drawn, not the means: equal masks give equal predictions, and comparing them
        # needs no tolerance
        first = observed["classes"]["masks"]
        again = observed["same seed"]["masks"]
        other = observed["other seed"]["masks"]
        if not np.array_equal(first, again):
            hint = (
                ""
                if all(observed["classes"]["same_rng"])
                else " predict_fn did not receive the rng you were given: pass that rng itself "
                "to every call."
            )
            raise CheckFailure(
                "two runs with generators of the same seed drew different dropout masks: "
                "mc_predict used randomness that does not come from rng (np.random.*, or a new "
                f"unseeded generator).{hint}"
            )
        if np.array_equal(first, other):
            raise CheckFailure(
                "generators with different seeds drew the same dropout masks: the samples do not "
                "depend on rng (a generator created with a fixed seed inside mc_predict?). "
                "Pass the rng you were given to predict_fn."
            )

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"n_samples={bad}" for bad in _BAD_N_SAMPLES],
                "mc_predict",
                "with a message that names n_samples and its "
                "range: n_samples must be an integer >= 1",
            )


def _judge_mc_case(name, case, n_samples):
    where = f"[{name}, n_samples={n_samples}]"
    returned = case["returned"]
    if isinstance(returned, str):
        raise CheckFailure(f"{where} mc_predict must return a pair (mean, std), got {returned}.")
    if not case["x_unchanged"]:
        raise CheckFailure(f"{where} mc_predict modified X: it must not change its input.")
    outputs = case["outputs"]
    calls = len(case["same_x"])
    if calls == 0:
        raise CheckFailure(
            f"{where} mc_predict never called predict_fn: each sample is one call "
            "predict_fn(X, rng)."
        )
    if not all(case["same_x"]):
        raise CheckFailure(
            f"{where} predict_fn must be called with the whole X (one stochastic prediction "
            "of every input per call), but it received something else."
        )
    if calls != n_samples:
        if calls == 1:
            raise CheckFailure(
                f"{where} predict_fn was called once for {n_samples} samples, so every sample "
                "shares one dropout mask. Call predict_fn(X, rng) once per sample, "
                "n_samples times: each call draws a fresh mask."
            )
        raise CheckFailure(
            f"{where} predict_fn was called {calls} times for n_samples = {n_samples}: call "
            "it exactly n_samples times, once per sample."
        )
    masks = case["masks"]
    if n_samples >= 2:
        distinct = len({row.tobytes() for row in np.asarray(masks, dtype=bool)})
        if distinct == 1:
            raise CheckFailure(
                f"{where} all {n_samples} samples used the same dropout mask: predict_fn got "
                "a generator in the same state every time (a new generator seeded the same "
                "way, or a copy of rng). Pass the rng you were given to every call, so that "
                "each call draws a fresh mask."
            )
        if distinct < n_samples:
            raise CheckFailure(
                f"{where} only {distinct} different dropout masks among {n_samples} samples: "
                "the samples must be independent. Pass the rng you were given to every "
                "call."
            )
    mean, std = returned
    for label, value in (("mean", mean), ("std", std)):
        if isinstance(value, str):
            raise CheckFailure(f"{where} {label} must be a numpy array, got {value}.")
    one = outputs.shape[1:]
    if mean.shape != one:
        raise CheckFailure(
            f"{where} mean must have the shape of one prediction, {one}, got {mean.shape}. "
            "Stack the samples on a new first axis and average over that axis (axis 0) "
            "only." + (" Did you average over the wrong axis?" if mean.shape else "")
        )
    # rounding of any textbook algorithm in the predictions' dtype (kit.near_mean, kit.near_std)
    dtype = outputs.dtype
    expected_mean = outputs.mean(axis=0, dtype=np.float64)
    if not np.all(kit.near_mean(mean, outputs, dtype)):
        raise CheckFailure(
            f"{where} mean is not the average of the {n_samples} predictions predict_fn "
            f"returned (largest difference {np.max(np.abs(mean - expected_mean)):.3g})."
            + _mean_hint(mean, outputs.astype(np.float64), dtype)
        )
    if std.shape != one:
        raise CheckFailure(
            f"{where} std must have the shape of one prediction, {one}, got {std.shape}. "
            "Take it over the samples axis (axis 0) only."
        )
    expected_std = outputs.std(axis=0, dtype=np.float64)
    if not np.all(kit.near_std(std, outputs, dtype)):
        raise CheckFailure(
            f"{where} std is not the standard deviation (ddof=0) of the {n_samples} "
            f"predictions (largest difference {np.max(np.abs(std - expected_std)):.3g})."
            + _std_hint(std, outputs.astype(np.float64), dtype)
        )


def _close(a, b) -> bool:
    """Whether a wrong mean is one of the transformed averages that :func:`_mean_hint` names.

    A diagnosis, not a judgement: it runs after the mean has failed and only chooses the
    message. Those averages go through logarithms and exponentials in whatever dtype and order
    the student chose, so the match is loose (1e-7 relative); they differ from the right mean,
    and from each other, by far more.
    """
    return (
        bool(np.all(np.isfinite(b)))
        and a.shape == b.shape
        and bool(np.allclose(a, b, rtol=1e-7, atol=1e-10))
    )


def _mean_hint(mean, outputs, dtype) -> str:
    if (
        np.all(outputs > 0)
        and np.allclose(outputs.sum(axis=-1), 1.0)
        and _close(mean, _softmax(np.log(outputs).mean(axis=0)))
    ):
        return (
            " It is the softmax of the averaged logits (log-probabilities): that normalised "
            "geometric mean is not the MC estimate of the predictive distribution. Average "
            "the probabilities themselves."
        )
    if _close(mean, _softmax(outputs.mean(axis=0))):
        return (
            " You applied a softmax to the average: predict_fn already returns "
            "probabilities, so average them and stop."
        )
    if np.all(kit.near_mean(mean, outputs[:1], dtype)) or np.all(
        kit.near_mean(mean, outputs[-1:], dtype)
    ):
        return " It equals a single sample: average all of them."
    if len(outputs) > 1 and (
        np.all(kit.near_mean(mean, outputs[1:], dtype))
        or np.all(kit.near_mean(mean, outputs[:-1], dtype))
    ):
        return " It averages all samples but one: check the range of your loop."
    return ""


def _std_hint(std, outputs, dtype) -> str:
    n_samples = len(outputs)
    if n_samples > 1 and np.all(kit.near_std(std, outputs, dtype, ddof=1)):
        return " That is the ddof=1 (sample) standard deviation: use ddof=0, np.std's default."
    if np.all(kit.near_variance(std, outputs, dtype)):
        return " That is the variance: return its square root."
    if n_samples > 1 and np.all(kit.near_variance(std, outputs, dtype, ddof=1)):
        return " That is the ddof=1 variance: return the square root of the ddof=0 variance."
    if not np.all(np.isfinite(std)):
        return " It contains NaN or infinite values (ddof=1 with one sample divides by zero)."
    return ""


# --- entropies ---------------------------------------------------------------------------------


def _entropy(probs: np.ndarray, epsilon: float = 0.0) -> np.ndarray:
    """``-sum p log p`` over the last axis, ``0 log 0 = 0``; with ``epsilon``, the common
    ``-sum p log(p + epsilon)`` instead (for the hint that names it)."""
    probs = np.asarray(probs, dtype=np.float64)
    logs = np.log(np.where(probs > 0, probs + epsilon, 1.0))
    return -np.sum(probs * logs, axis=-1)


def _entropy_error(probs, dtype, *, more_ops: int = 0) -> np.ndarray:
    """How far a correct entropy of each vector of ``probs``, computed in ``dtype``, may be from
    the exact one.

    Every term ``p log p`` is <= 0 for ``p`` in [0, 1], so ``-sum p log p`` adds terms of one
    sign and its rounding is relative to the entropy ``H`` itself: the logarithm costs
    :data:`kit.LIBRARY_OPS` roundings, relative to ``log p`` (also near ``p = 1``, where
    ``log p`` is small: a library log is accurate relative to its result), the product one, the
    sum of K terms ``K - 1`` in any order, a cast one; ``np.where``, a mask, ``xlogy`` or a loop
    alike. An implementation may also divide ``p`` by its computed sum first, as
    ``scipy.stats.entropy`` does: that moves each ``p_k`` by the sum's and the division's
    roundings (``K + 1``) and by the vector's own distance ``|sum p - 1|`` from 1 (the
    probabilities given are rounded), and moving ``p_k`` by a relative ``d`` moves
    ``p_k log p_k`` by ``d p_k |log p_k + 1|``, so the entropy by at most ``d (H + sum p)``.
    With ``m = H + sum p``, ``ops = 2 K + LIBRARY_OPS + 4 + more_ops``:
    ``(2 gamma(ops) + |sum p - 1|) m`` plus underflow (:func:`kit.underflow_tolerance`).

    The logarithm's condition number ``1 / |log p|`` is large only near ``p = 1``, where the
    term ``p log p`` itself is small, and the bound above is relative to the terms: a
    probability rounded to float32 near 0 or 1 costs no more than elsewhere. An ``epsilon``
    inside the log (``log(p + epsilon)``) is not rounding: it lowers each term by up to
    ``epsilon``, and the exercise asks for ``0 log 0 = 0`` itself, so it fails once its cost
    exceeds this bound (1e-12 does in float64; 1e-300 does not) and is named in the hint.
    """
    probs = np.asarray(probs, dtype=np.float64)
    total = probs.sum(axis=-1)
    ops = 2 * probs.shape[-1] + kit.LIBRARY_OPS + 4 + more_ops
    relative = kit.rounding_tolerance(dtype, ops) + np.abs(total - 1.0)
    return relative * (_entropy(probs) + total) + kit.underflow_tolerance(dtype, ops)


def _dirichlet(rng, shape, alpha=1.0, zeros=0.0):
    """Probability vectors along the last axis; a fraction ``zeros`` of entries set to 0."""
    draws = rng.gamma(alpha, size=shape)
    if zeros:
        draws[rng.random(shape) < zeros] = 0.0
        empty = draws.sum(axis=-1) == 0
        draws[empty, 0] = 1.0
    return draws / draws.sum(axis=-1, keepdims=True)


def _entropy_cases(seed: int, hidden: bool) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng([seed, 66])
    table = _dirichlet(rng, (7, 5))
    table[0] = [0.0, 0.0, 1.0, 0.0, 0.0]
    table[1] = 0.2
    table[2] = [0.5, 0.0, 0.5, 0.0, 0.0]
    cases = [("7 x 5 table", table), ("one vector", np.array([0.1, 0.0, 0.6, 0.3]))]
    if hidden:
        cases += [
            ("3-D array", _dirichlet(rng, (3, 4, 6), zeros=0.3)),
            (
                "two classes",
                np.array(
                    [
                        [1.0, 0.0],
                        [0.5, 0.5],
                        [0.9, 0.1],
                        [0.0, 1.0],
                        [0.25, 0.75],
                        [1 - 1e-12, 1e-12],
                    ]
                ),
            ),
            ("one row", _dirichlet(rng, (1, 10), alpha=0.3)),
            ("float32", _dirichlet(rng, (6, 3)).astype(np.float32)),
            (
                "tiny probabilities",
                np.array([[1.0 - 2e-300, 1e-300, 1e-300], [1.0 / 3, 1.0 / 3, 1.0 / 3]]),
            ),
            ("random 40 x 8", _dirichlet(rng, (40, 8), alpha=0.5, zeros=0.2)),
        ]
    return cases


def _probe_on_tables(fn, cases) -> dict:
    """For each named table of probabilities: what ``fn`` returned for a copy of it, and
    whether the copy was left unchanged."""
    observed = {}
    for name, table in cases:
        argument = table.copy()
        observed[name] = {
            "value": kit.observed(call(fn, argument), sequences=True),
            "unchanged": bool(np.array_equal(argument, table)),
        }
    return observed


@exercise(
    "predictive_entropy",
    NOTEBOOK,
    reference="course_lib.mc.predictive_entropy",
    equivalents=("course_lib.mc._entropy",),
    hints=(
        "The entropy of a probability vector is the expected surprise, the sum over classes of "
        "p times -log p, in nats (natural logarithm).",
        "Sum over the last axis only (axis=-1), so that any leading shape works and a single "
        "vector gives one number.",
        "0 * log(0) is nan in NumPy, but its limit is 0: give the log a harmless argument where "
        "p is 0 (np.where, or scipy.special.xlogy / entr) instead of letting nan spread.",
    ),
)
class PredictiveEntropy:
    @staticmethod
    def probe(fn, seed, hidden):
        return _probe_on_tables(fn, _entropy_cases(seed, hidden))

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _entropy_cases(seed, hidden)
        for name, probs in cases:
            value = _recorded_value(observed, name, "predictive_entropy")
            expected_shape = probs.shape[:-1]
            if value.shape != expected_shape:
                raise CheckFailure(
                    f"[{name}] for probs of shape {probs.shape} the entropy must have shape "
                    f"{expected_shape} (one number per probability vector), got "
                    f"{value.shape}." + _entropy_shape_hint(value.shape, probs.shape)
                )
        for name, probs in cases:
            value = np.asarray(observed[name]["value"], dtype=np.float64)
            expected = _entropy(probs)
            if not np.all(np.isfinite(value)):
                hint = (
                    " 0 * log 0 must count as 0, but np.log(0) is -inf and 0 * -inf is nan: "
                    "skip the zero probabilities (np.where, a mask, or "
                    "scipy.special.xlogy)."
                    if np.any(probs == 0)
                    else ""
                )
                raise CheckFailure(f"[{name}] the entropy contains NaN or infinite values.{hint}")
            error = _entropy_error(probs, probs.dtype)
            if not np.all(np.abs(value - expected) <= error):
                epsilon = next(
                    (
                        epsilon
                        for epsilon in _EPSILONS
                        if np.all(np.abs(value - _entropy(probs, epsilon)) <= error)
                    ),
                    None,
                )
                raise CheckFailure(
                    f"[{name}] expected entropies {_show(expected)}, got {_show(value)}."
                    + (
                        _epsilon_hint(epsilon, probs.dtype)
                        if epsilon
                        else _scale_hint(value, expected, probs.shape[-1])
                    )
                )


#: epsilons that solutions add inside the log, for the hint that names them
_EPSILONS = (1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5)


def _epsilon_hint(epsilon: float, dtype) -> str:
    return (
        f" That is -sum p log(p + {epsilon:g}): an epsilon inside the log lowers every term "
        f"by up to {epsilon:g}, more than {np.dtype(dtype).name} rounding allows. The "
        "exercise asks for 0 log 0 = 0 exactly: skip the zero probabilities instead "
        "(np.where, a mask, or scipy.special.xlogy)."
    )


def _recorded_value(observed, name: str, function: str) -> np.ndarray:
    """What ``function`` returned for the table ``name``, which it must have left unchanged."""
    if not observed[name]["unchanged"]:
        raise CheckFailure(f"[{name}] {function} modified its input: it must not.")
    value = observed[name]["value"]
    if isinstance(value, str):
        raise CheckFailure(
            f"[{name}] {function} must return a numpy array (or a float for one vector), got "
            f"{value}."
        )
    return np.asarray(value, dtype=np.float64)


def _entropy_shape_hint(shape, probs_shape) -> str:
    if len(probs_shape) == 1 and shape == (1,):
        return " For a single probability vector return one number (a float or a 0-d array)."
    if shape == probs_shape:
        return " Sum -p log p over the classes (the last axis)."
    if shape == (*probs_shape[:-1], 1):
        return " Drop the summed axis (no keepdims)."
    if shape == probs_shape[1:] or (len(probs_shape) > 1 and shape == probs_shape[-1:]):
        return " You summed over the first axis: the classes are on the last axis (axis=-1)."
    return " Sum over the last axis (axis=-1) only."


def _show(values: np.ndarray, limit: int = 4) -> str:
    flat = np.ravel(values)
    text = ", ".join(f"{v + 0.0:.6g}" for v in flat[:limit])  # + 0.0 prints -0 as 0
    return f"[{text}{', ...' if flat.size > limit else ''}]"


def _scale_hint(value, expected, n_classes) -> str:
    # a diagnosis after the entropies failed: log bases and sign are factors far from 1, so a
    # loose match (1e-6) names them however they were computed
    nonzero = np.abs(expected) > 1e-6
    if not nonzero.any():
        return ""
    ratio = value[nonzero] / expected[nonzero]
    if np.allclose(ratio, 1 / math.log(2), rtol=1e-6):
        return " Those are bits (log base 2): use the natural logarithm np.log (nats)."
    if np.allclose(ratio, 1 / math.log(10), rtol=1e-6):
        return " That is log base 10: use the natural logarithm np.log (nats)."
    if np.allclose(ratio, -1.0, rtol=1e-6):
        return " The sign is wrong: the entropy is -sum p log p, which is >= 0."
    if np.allclose(ratio, 1 / n_classes, rtol=1e-6):
        return " You averaged over the classes: sum instead."
    return ""


# --- mutual information -------------------------------------------------------------------------


def _mi_cases(seed: int, hidden: bool) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng([seed, 67])
    identical = np.broadcast_to(_dirichlet(rng, (3, 3)), (5, 3, 3)).copy()
    cases = [
        ("6 samples x 9 inputs x 4 classes", _dirichlet(rng, (6, 9, 4), alpha=0.7)),
        ("samples that agree", identical),
    ]
    if hidden:
        one_hot = np.array(
            [
                [[1.0, 0.0], [1.0, 0.0]],
                [[0.0, 1.0], [1.0, 0.0]],
                [[1.0, 0.0], [1.0, 0.0]],
                [[0.0, 1.0], [1.0, 0.0]],
            ]
        )
        cases += [
            ("confident samples that disagree", one_hot),
            ("30 x 12 x 3 with zeros", _dirichlet(rng, (30, 12, 3), alpha=0.4, zeros=0.2)),
            ("one sample", _dirichlet(rng, (1, 5, 4))),
            ("50 samples, one input", _dirichlet(rng, (50, 1, 10), alpha=0.5)),
            ("float32", _dirichlet(rng, (3, 7, 2)).astype(np.float32)),
        ]
    return cases


def _mutual_information(samples: np.ndarray, epsilon: float = 0.0) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    return _entropy(samples.mean(axis=0), epsilon) - _entropy(samples, epsilon).mean(axis=0)


def _mutual_information_error(samples: np.ndarray, dtype) -> np.ndarray:
    """How far a correct mutual information of ``samples`` (S, N, K), computed in ``dtype``, may
    be from the exact one.

    ``H(mean) - mean of H(sample)`` cancels: its error is relative to the two entropies, not to
    their difference. The mean over the S samples is within ``gamma(S)`` of exact, relative to
    each probability (terms of one sign), which moves ``H(mean)`` by at most
    ``gamma(S) (H(mean) + sum mean)`` (see :func:`_entropy_error`); each entropy rounds as
    :func:`_entropy_error` says; their mean over S costs ``gamma(S)`` relative, the difference
    one rounding. Written as the mean KL divergence of each sample from the mean,
    ``mean_s sum_k p_sk (log p_sk - log mean_k)``, the terms add to ``p_sk |log p_sk| +
    p_sk |log mean_k|``, whose mean over the samples is ``mean of H(sample) + H(mean)``: the
    same magnitude. Each entropy's bound with ``S + 2`` more roundings covers both orders.
    """
    samples = np.asarray(samples, dtype=np.float64)
    more_ops = samples.shape[0] + 2
    return _entropy_error(samples.mean(axis=0), dtype, more_ops=more_ops) + _entropy_error(
        samples, dtype, more_ops=more_ops
    ).mean(axis=0)


@exercise(
    "mutual_information",
    NOTEBOOK,
    reference="course_lib.mc.mutual_information",
    hints=(
        "The mutual information is the disagreement between the masks: the uncertainty of the "
        "averaged prediction, minus the average uncertainty of each single prediction.",
        "Average over the samples (axis 0, shape (S, N, K) -> (N, K)) before one entropy, and "
        "after the other: your predictive_entropy works on the last axis of any shape.",
        "Mind the order: entropy of the mean, minus the mean of the entropies; swapped, the "
        "result is negative. It is never below 0 (up to rounding), and is 0 when all the masks "
        "agree.",
    ),
)
class MutualInformation:
    @staticmethod
    def probe(fn, seed, hidden):
        return _probe_on_tables(fn, _mi_cases(seed, hidden))

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _mi_cases(seed, hidden)
        for name, samples in cases:
            value = _recorded_value(observed, name, "mutual_information")
            n_samples, n_inputs, _ = samples.shape
            if value.shape != (n_inputs,):
                hint = " Average over the samples, axis 0, and take entropies over the last axis."
                if value.shape == (n_samples,):
                    hint = (
                        " That is one number per sample: you averaged over axis 1 (the "
                        "inputs). prob_samples is (S, N, K): average over axis 0."
                    )
                raise CheckFailure(
                    f"[{name}] for prob_samples of shape {samples.shape} (S, N, K) the mutual "
                    f"information must have shape ({n_inputs},), one number per input, got "
                    f"{value.shape}.{hint}"
                )
        for name, samples in cases:
            value = np.asarray(observed[name]["value"], dtype=np.float64)
            expected = _mutual_information(samples)
            error = _mutual_information_error(samples, samples.dtype)
            if not np.all(np.isfinite(value)):
                hint = (
                    " 0 * log 0 must count as 0 in both entropies." if np.any(samples == 0) else ""
                )
                raise CheckFailure(
                    f"[{name}] the mutual information contains NaN or infinite values.{hint}"
                )
            if not np.all(np.abs(value - expected) <= error):
                epsilon = next(
                    (
                        epsilon
                        for epsilon in _EPSILONS
                        if np.all(np.abs(value - _mutual_information(samples, epsilon)) <= error)
                    ),
                    None,
                )
                raise CheckFailure(
                    f"[{name}] expected {_show(expected)}, got {_show(value)}."
                    + (
                        _epsilon_hint(epsilon, samples.dtype)
                        if epsilon
                        else _mi_hint(value, samples)
                    )
                )


def _mi_hint(value, samples) -> str:
    samples = np.asarray(samples, dtype=np.float64)
    total = _entropy(samples.mean(axis=0))
    expected_entropy = _entropy(samples).mean(axis=0)
    mi = total - expected_entropy
    # a diagnosis after the value failed: each named mistake is a factor or a missing term away,
    # so a loose match (1e-6) names it however it was computed
    close = lambda other: bool(np.allclose(value, other, rtol=1e-6, atol=1e-9))  # noqa: E731
    if close(-mi):
        return (
            " The terms are swapped: MI = H(mean of the samples) - mean of H(sample), which "
            "is >= 0 (the entropy is concave)."
        )
    if close(mi / math.log(2)):
        return " Those are bits (log base 2): use the natural logarithm (nats)."
    if close(total):
        return (
            " That is the entropy of the mean prediction (the total uncertainty): subtract "
            "the mean of the per-sample entropies."
        )
    if close(expected_entropy):
        return (
            " That is the mean of the per-sample entropies (the expected, aleatoric part): "
            "MI is the entropy of the mean minus it."
        )
    if close(total - len(samples) * expected_entropy):
        return " You summed the per-sample entropies: average them over the samples."
    return ""


# --- choose_mc_samples: a judgement -------------------------------------------------------------
# Accepted: every whole n >= 1 whose standard error prediction_std / sqrt(n) meets the target
# (a relative 1e-12 of rounding allowed) and that is at most _SLACK times the fewest such n.
# Nothing is random.

_SLACK = 2.0


def _mc_sample_cases(seed: int, hidden: bool) -> list[tuple[float, float]]:
    """(prediction_std, target_se) of each situation the probe asks about."""
    cases = [(0.2, 0.01), (0.35, 0.05), (0.12, 0.2)]
    if hidden:
        cases += [(0.3, 0.03), (0.25, 0.007), (0.0, 0.01), (0.5, 0.5), (0.41, 0.013)]
        rng = np.random.default_rng([seed, 66])
        for _ in range(4):
            std = round(float(rng.uniform(0.02, 0.5)), 3)
            target = round(float(std / np.sqrt(rng.uniform(3.0, 2000.0))), 5)
            cases.append((std, max(target, 1e-4)))
    return cases


def _fewest_samples(prediction_std: float, target_se: float) -> int:
    def meets(n: int) -> bool:
        return prediction_std / math.sqrt(n) <= target_se * (1.0 + 1e-12)

    n = max(1, math.ceil((prediction_std / target_se) ** 2))
    while n > 1 and meets(n - 1):
        n -= 1
    while not meets(n):
        n += 1
    return n


def _count_record(result):
    """What a verdict may see of a returned number of samples."""
    if isinstance(result, (bool, np.bool_)) or not isinstance(
        result, (int, float, np.integer, np.floating)
    ):
        return type(result).__name__
    return float(result)


def _judge_mc_samples(prediction_std: float, target_se: float, n) -> str:
    """ "" if ``n`` is a defensible number of samples, else why not."""
    where = f"[prediction std {prediction_std:g}, target standard error {target_se:g}]"
    if isinstance(n, str):
        return f"{where} return a whole number of samples (an int), got a {n}."
    if not math.isfinite(n) or n != math.floor(n) or n < 1:
        return f"{where} the number of samples must be a whole number >= 1, got {n:g}."
    fewest = _fewest_samples(prediction_std, target_se)
    ratio = prediction_std / target_se
    if n < fewest:
        if n == max(1, math.ceil(ratio)):
            mistake = (
                " That is std / target, not squared: the standard error falls as 1 / sqrt(n), "
                "so halving it takes four times the samples."
            )
        elif n == math.floor(ratio**2):
            mistake = " That is (std / target)**2 rounded down: round up, or the target is missed."
        else:
            mistake = ""
        return (
            f"{where} {n:g} samples give a standard error of "
            f"{prediction_std / math.sqrt(n):.4g}, above the target; at least {fewest} are "
            f"needed.{mistake}"
        )
    if n > _SLACK * fewest:
        return (
            f"{where} {n:g} samples meet the target, but {fewest} already do: more than "
            f"{_SLACK:g} times that many costs forward passes for nothing."
        )
    return ""


@exercise(
    "choose_mc_samples",
    NOTEBOOK,
    reference="course_lib.mc.choose_mc_samples",
    hints=(
        "The MC estimate is a mean of n independent stochastic predictions: how does the "
        "standard error of a mean depend on n and on the spread of one prediction?",
        "Write the standard error as a function of n, set it equal to the target and solve for "
        "n; the answer is rarely a whole number, so decide which way to round.",
        "Check your answer by computing the standard error it gives: at or below the target, "
        "and not far more samples than the fewest that get there.",
    ),
)
class ChooseMcSamples:
    @staticmethod
    def probe(fn, seed, hidden):
        return {
            f"{std}/{target}": _count_record(call(fn, std, target))
            for std, target in _mc_sample_cases(seed, hidden)
        }

    @staticmethod
    def verdict(observed, seed, hidden):
        problems = [
            _judge_mc_samples(std, target, observed[f"{std}/{target}"])
            for std, target in _mc_sample_cases(seed, hidden)
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            more = (
                f" ({len(problems) - 1} more situation(s) fail too.)" if len(problems) > 1 else ""
            )
            raise CheckFailure(problems[0] + more)

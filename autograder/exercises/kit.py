"""What the exercise modules share: inputs and observations for probes; requirements, float
tolerances, the catalogue of dropout mistakes and the dropout checks for verdicts.

The module has two halves. The **probe half** (up to "verdict half" below) runs inside the
student's kernel: it builds seeded inputs, turns what the student's code returned into plain
data, and records how bad arguments are refused. The **verdict half** runs in the grader: the
grading copy (:mod:`autograder.grading_copy`) keeps of this module only what the probes of the
exercise modules use, so no check and no expected value exists where student code runs.

Every statistical check spends a false-failure probability ``alpha`` (default 1e-9) computed
with :mod:`course_lib.stats`. Outputs that the student's code computes deterministically are
compared with tolerances derived from the dtype's precision, the number of roundings and the
magnitude of the values, so that every sound way of computing them passes: :func:`close` for a
chain of float operations, :func:`near_mean`, :func:`near_variance` and :func:`near_std` for
moments over samples by any algorithm; an exercise whose answer goes through library functions
(a probability from log-gamma values, an entropy) derives its own bound by the same rule, with
:data:`LIBRARY_OPS` for each call, and a trained network's error states its slack next to the
reason for it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import DTypeLike

from course_lib import stats
from course_lib.checks import DEFAULT_ALPHA, CheckFailure, assert_binomial_count, assert_mean_close

from . import NotImplementedYet, call

# --- probe half: inputs ---------------------------------------------------------------------

#: rates that every dropout function must refuse with ValueError: 1 (nothing left to keep, and
#: 1 / keep_prob is infinite), a negative rate and one above 1
BAD_P_DROPS = (1.0, -0.1, 1.5)


def inputs(
    seed: int, shape, dtype: DTypeLike = np.float64, *, key: Sequence[int] = (), zeros: float = 0.0
) -> np.ndarray:
    """Seeded activations of ``shape`` and ``dtype``: random signs times values in [0.5, 1.5].

    No entry is 0, so the zeros of a dropout output are exactly its dropped units, and every
    entry is far from alpha dropout's alpha' = -1.758, so its two output values never meet;
    with ``zeros`` a fraction of entries is set exactly to 0, as ReLU outputs are. The generator
    is seeded with ``[seed, *key, *shape, itemsize]``: cases that differ in ``key``, shape or
    dtype get independent inputs, and a verdict rebuilds the probe's inputs from the seed.
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    rng = np.random.default_rng([seed, *key, *shape, np.dtype(dtype).itemsize])
    signs = rng.choice([-1.0, 1.0], size=shape)
    x = (signs * rng.uniform(0.5, 1.5, size=shape)).astype(dtype)
    if zeros:
        x[rng.random(shape) < zeros] = 0
    return x


# --- probe half: observations ---------------------------------------------------------------


def observed(value, *, sequences: bool = False):
    """What a verdict may see of a value the student's code returned.

    A NumPy array of a numeric or boolean dtype crosses as a copy, a number (NumPy or Python,
    not ``bool``) as a 0-d array; with ``sequences``, a list or tuple of numbers as a float
    array. Anything else becomes the name of its type (``"list"``, ``"NoneType"``,
    ``"ndarray of dtype object"``), which the verdict quotes: see :func:`require_array`.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            return value.copy()
        return f"ndarray of dtype {value.dtype}"
    if isinstance(value, (int, float, np.number, np.bool_)) and not isinstance(value, bool):
        return np.asarray(value)
    if sequences and isinstance(value, (list, tuple)):
        try:
            return np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    return type(value).__name__


def layer_result(result, name: str) -> tuple:
    """``result`` of a layer function, which must be a pair ``(out, cache)``."""
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{name} must return a pair (out, cache), got {type(result).__name__}.")
    return result


def output(result, name: str):
    """The ``out`` of a layer function's ``(out, cache)``, as :func:`observed` passes it on."""
    return observed(layer_result(result, name)[0])


def attempt(fn: Callable, *args, **kwargs):
    """``call(fn, ...)``, or ``{"failure": message}`` when the call raised.

    For probes that go on with their other cases, so that the verdict reports the first
    failing case in order, whether it raised or returned a wrong value. A function that is
    not implemented yet still fails the probe at once.
    """
    try:
        return call(fn, *args, **kwargs)
    except NotImplementedYet:
        raise
    except CheckFailure as failure:
        return {"failure": str(failure)}


def failure_of(value) -> str | None:
    """The message that :func:`attempt` recorded in place of a result, if it did."""
    if isinstance(value, dict) and isinstance(value.get("failure"), str):
        return value["failure"]
    return None


# --- probe half: bad arguments --------------------------------------------------------------


def outcome_of_bad_call(fn: Callable, *args, **kwargs) -> str:
    """What calling ``fn`` with a bad argument did: ``"ValueError"`` (as the course asks),
    another exception's name, or ``"no error"``; judged by :func:`require_value_errors`."""
    return _outcome(fn, args, kwargs, naming=None)


def outcome_of_bad_call_naming(argument: str, fn: Callable, *args, **kwargs) -> str:
    """:func:`outcome_of_bad_call`, where a ValueError counts only if its message names
    ``argument`` (the course's messages name the argument and its valid range)."""
    return _outcome(fn, args, kwargs, naming=argument)


def _outcome(fn: Callable, args: tuple, kwargs: dict, naming: str | None) -> str:
    try:
        fn(*args, **kwargs)
    except ValueError as error:
        if naming is None or naming in str(error):
            return "ValueError"
        return f"a ValueError whose message does not name {naming} ({error})"
    except Exception as error:
        return type(error).__name__
    return "no error"


def bad_p_drop_outcomes(
    call_with: Callable[[float], object], p_drops: Sequence[float] = BAD_P_DROPS
) -> list[str]:
    """:func:`outcome_of_bad_call` of ``call_with(p_drop)`` for each bad rate, e.g.
    ``bad_p_drop_outcomes(lambda p: fn(x, p, rng=np.random.default_rng(seed)))``."""
    return [outcome_of_bad_call(call_with, p_drop) for p_drop in p_drops]


# --- probe half: layers ---------------------------------------------------------------------


def probe_layer(
    fn: Callable,
    seed: int,
    hidden: bool,
    *,
    name: str,
    cases,
    rng_shape,
    rng_p_drop: float,
    key: Sequence[int] = (),
) -> dict:
    """What a layer ``fn(x, p_drop, *, rng, training=True) -> (out, cache)`` did on the inputs
    that every dropout layer is checked on (see :func:`recorded_layer_outputs`).

    For each ``(p_drop, shape, dtype)`` of ``cases``: the training and inference outputs on
    ``inputs(seed + i, shape, dtype, key=key)`` (``train_i``, ``infer_i``) and that input after
    the calls (``x_after_i``); three training outputs on ``inputs(seed, rng_shape, key=key)``
    from generators seeded ``seed``, ``seed`` and ``seed + 1`` (``rng_runs``); the output at
    ``p_drop = 0`` (``p_zero``); in hidden mode, what each of :data:`BAD_P_DROPS` did (``bad``).
    """
    observed = {}
    for i, (p_drop, shape, dtype) in enumerate(cases):
        x = inputs(seed + i, shape, dtype, key=key)
        rng = np.random.default_rng([seed, i, *key])
        observed[f"train_{i}"] = output(call(fn, x, p_drop, rng=rng), name)
        observed[f"x_after_{i}"] = x
        observed[f"infer_{i}"] = output(call(fn, x, p_drop, rng=rng, training=False), name)
    x = inputs(seed, rng_shape, key=key)
    observed["rng_runs"] = [
        output(call(fn, x, rng_p_drop, rng=np.random.default_rng(s)), name)
        for s in (seed, seed, seed + 1)
    ]
    observed["p_zero"] = output(call(fn, x, 0.0, rng=np.random.default_rng(seed)), name)
    if hidden:
        observed["bad"] = bad_p_drop_outcomes(
            lambda bad: fn(x, bad, rng=np.random.default_rng(seed))
        )
    return observed


# ============================================================================================
# --- verdict half: requirements -------------------------------------------------------------


def require_value_errors(
    outcomes: Sequence[str], cases: Sequence[str], name: str, valid: str, *, advice: str = ""
) -> None:
    """Each bad call (``cases`` says how it was made, e.g. ``"p_drop=1.5"``) must have raised
    ValueError; ``valid`` states the valid arguments, ``advice`` is added to the message."""
    if len(outcomes) != len(cases):
        raise CheckFailure(
            f"the probe of {name} recorded {len(outcomes)} bad calls, expected {len(cases)}."
        )
    for case, outcome in zip(cases, outcomes, strict=True):
        if outcome != "ValueError":
            raise CheckFailure(
                f"{name} with {case} must raise ValueError ({valid}), got: "
                f"{outcome}." + (f" {advice}" if advice else "")
            )


def require_bad_p_drops_refused(
    outcomes: Sequence[str], name: str, p_drops: Sequence[float] = BAD_P_DROPS
) -> None:
    """:func:`require_value_errors` for the outcomes of :func:`bad_p_drop_outcomes`."""
    require_value_errors(
        outcomes, [f"p_drop={bad}" for bad in p_drops], name, "p_drop must be in [0, 1)"
    )


def require_array(
    value, name: str, *, what: str = "out", like: np.ndarray | None = None
) -> np.ndarray:
    """``value`` as :func:`observed` passed it on must be an array; with ``like``, of its shape
    and dtype. ``name`` is the student's function, ``what`` the returned value."""
    if not isinstance(value, np.ndarray):
        raise CheckFailure(f"{name} must return a numpy array as {what}, got {value}.")
    if like is not None:
        assert_same_shape_dtype(like, value, name=what)
    return value


def assert_same_shape_dtype(expected_like: np.ndarray, actual, *, name: str = "output") -> None:
    """``actual`` must be an ndarray with the shape and dtype of ``expected_like``."""
    if not isinstance(actual, np.ndarray):
        raise CheckFailure(f"{name} must be a numpy array, got {type(actual).__name__}.")
    if actual.shape != expected_like.shape:
        raise CheckFailure(f"{name} must have shape {expected_like.shape}, got {actual.shape}.")
    if actual.dtype != expected_like.dtype:
        raise CheckFailure(
            DTYPE_NOT_KEPT.say(name=name, expected=expected_like.dtype, actual=actual.dtype)
        )


def assert_unchanged(
    original: np.ndarray, after: np.ndarray, *, name: str = "x", **fields: str
) -> None:
    """An argument must not be modified (``after`` is its copy taken after the call)."""
    if original.shape != after.shape or not np.array_equal(original, after, equal_nan=True):
        raise CheckFailure(MUTATED_ARGUMENT.say(name=name, **fields))


def recorded_layer_outputs(observed: dict, seed: int, cases, name: str, *, key: Sequence[int] = ()):
    """``(p_drop, x, out, out_at_inference)`` of each case that :func:`probe_layer` recorded,
    ``x`` rebuilt from the seed. The calls must have left ``x`` unchanged, and ``out`` must be
    an array of its shape and dtype."""
    for i, (p_drop, shape, dtype) in enumerate(cases):
        x = inputs(seed + i, shape, dtype, key=key)
        assert_unchanged(x, observed[f"x_after_{i}"])
        yield p_drop, x, require_array(observed[f"train_{i}"], name, like=x), observed[f"infer_{i}"]


def recorded_rng_runs(
    observed: dict, seed: int, rng_shape, name: str, *, key: Sequence[int] = ()
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The input of :func:`probe_layer`'s three runs for the use of rng, and their outputs."""
    x = inputs(seed, rng_shape, key=key)
    return x, [require_array(out, name, like=x) for out in observed["rng_runs"]]


# --- verdict half: float tolerances ---------------------------------------------------------

#: roundings of a correct inverted-dropout output x * mask / keep_prob, however it is written:
#: keep_prob rounded to the dtype, 1 / keep_prob or mask / keep_prob, the product with x, and a
#: cast back from float64 - at most 4; the verdict's own float64 ratio out / x and
#: 1 / keep_prob take fewer, each at most as coarse
DROPOUT_OPS = 4


def rounding_tolerance(dtype, ops: int) -> float:
    """Relative distance two correct computations in ``dtype`` may be apart: ``2 gamma(ops)``.

    See :func:`close` for the derivation; ``2 gamma(ops)`` is about ``ops * eps``.
    """
    unit = float(np.finfo(dtype).eps) / 2.0
    if not 0 < ops * unit < 1:
        raise ValueError(f"ops must be >= 1 and small next to 1 / eps, got {ops}")
    return 2.0 * ops * unit / (1.0 - ops * unit)


def underflow_tolerance(dtype, ops: int) -> float:
    """Absolute distance two correct computations in ``dtype`` may be apart through underflow:
    ``ops`` times the smallest subnormal number (see :func:`close`)."""
    return ops * float(np.finfo(dtype).smallest_subnormal)


def near(actual, expected, dtype, *, ops: int = DROPOUT_OPS, scale=None) -> np.ndarray:
    """Entry by entry, whether ``actual`` equals ``expected`` up to rounding (see :func:`close`)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected) if scale is None else np.asarray(scale, dtype=np.float64)
    tolerance = rounding_tolerance(dtype, ops) * scale + underflow_tolerance(dtype, ops)
    with np.errstate(invalid="ignore"):  # inf - inf: not near
        return np.abs(actual - expected) <= tolerance


def close(actual, expected, dtype, *, ops: int = DROPOUT_OPS, scale=None) -> bool:
    """Whether ``actual`` is a correct computation of ``expected`` in ``dtype``, up to rounding.

    Every entry must satisfy ``|actual - expected| <= 2 gamma(ops) * scale`` with
    ``gamma(k) = k u / (1 - k u)``, ``u = eps / 2`` the unit roundoff of ``dtype``
    (``eps = np.finfo(dtype).eps``); ``2 gamma(ops)`` is about ``ops * eps``. Shapes must match.

    Derivation. Each floating-point operation returns its exact result times ``(1 + d)`` with
    ``|d| <= u``. A value obtained through ``k`` such roundings, each of a product, quotient or
    cast (or of a sum of terms of one sign), is within ``gamma(k)`` of the exact value, relative
    (Higham, *Accuracy and Stability of Numerical Algorithms*, Lemma 3.1). The student's
    computation and the verdict's expected value each take at most ``ops`` roundings, whatever
    their order and grouping, so they are at most ``2 gamma(ops) |exact|`` apart: the default
    ``scale`` is ``|expected|``. A rounding in a finer type (float64 for a float32 result) is
    smaller and may be counted as one of ``ops``: counting too many only widens the tolerance.
    Below the smallest normal number a result is rounded to a multiple of the smallest subnormal
    ``eta`` instead, an absolute error of up to ``eta / 2`` (Higham, section 2.1): ``ops`` of
    them in each computation add ``ops * eta`` to the tolerance, which matters only for values
    near ``eta`` (1.4e-45 in float32), such as the squares of tiny probabilities.

    Where terms of both signs are added, the error is relative to the terms, not to the result:
    a sum of ``n`` terms in any order is within ``gamma(n - 1) sum |terms|`` of exact, and a dot
    product of length ``n`` within ``gamma(n) sum |x_i y_i|`` (Higham, section 3.1); pass that
    magnitude as ``scale`` (for ``x @ W + b``: ``|x| @ |W| + |b|`` with ``ops = n + 2``). Means,
    variances and standard deviations over samples have bounds of their own, whatever the
    algorithm: :func:`near_mean`, :func:`near_variance`, :func:`near_std`. Mistakes change
    values by factors (keep_prob, 1/2, a missing term) that are many orders of magnitude above
    these tolerances.

    ``ops`` is stated by the caller next to the count it makes; :data:`DROPOUT_OPS` for outputs
    of dropout layers and their gradients.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        return False
    return bool(np.all(near(actual, expected, dtype, ops=ops, scale=scale)))


#: roundings that one call of a library logarithm or exponential (NumPy, SciPy, ``math``) may
#: cost: NumPy's own accuracy tests allow its float32 ``log`` 4 ulp and ``exp`` 3 ulp (float64:
#: 1 ulp), and an ulp is up to two unit roundoffs
LIBRARY_OPS = 8


def moment_ops(n_samples: int) -> int:
    """Roundings that bound a mean or a variance of ``n_samples`` values, however computed:
    ``5 n + 5``, the largest count among the textbook algorithms (see :func:`near_mean` and
    :func:`variance_error`)."""
    return 5 * n_samples + 5


def near_mean(actual, samples, dtype) -> np.ndarray:
    """Entry by entry, whether ``actual`` is the mean over axis 0 of ``samples``, computed in
    ``dtype`` by any textbook algorithm.

    With ``M = max |x_i|`` over the ``n`` samples of an entry, the tolerance is
    ``2 gamma(5 n + 5) M`` (:func:`moment_ops`), for the student's value and the verdict's
    float64 mean together. Derivation, with ``u`` the unit roundoff of ``dtype``:

    * a sum in any order, then a division (``np.mean``, a running total): the sum is within
      ``gamma(n - 1) sum |x_i|`` (Higham, section 3.1), so the mean is within
      ``gamma(n) mean |x_i| <= gamma(n) M``;
    * Welford's running mean ``m_k = m_(k-1) + (x_k - m_(k-1)) / k``: step ``k`` adds at most
      ``u |m_k| + 2 u |x_k - m_(k-1)| / k <= (1 + 4 / k) u M`` and multiplies the error carried
      in by ``1 - 1 / k``, so the total is at most ``(n + 4 (1 + ln n)) u M <= 5 n u M``.

    Leaving out a sample, or returning one, moves the mean by about ``spread / n``: far outside
    unless the samples agree to within rounding.
    """
    samples = np.asarray(samples, dtype=np.float64)
    scale = np.max(np.abs(samples), axis=0)
    return near(actual, samples.mean(axis=0), dtype, ops=moment_ops(samples.shape[0]), scale=scale)


def variance_error(samples, dtype, *, ddof: int = 0) -> np.ndarray:
    """How far a variance over axis 0 of ``samples`` (``ddof``), computed in ``dtype`` by any
    textbook algorithm, may be from the verdict's: ``2 gamma(5 n + 5) Q n / (n - ddof)``.

    The error of a computed variance is relative to the mean square ``Q = mean(x**2)``, not to
    the variance ``v = Q - mean(x)**2``, which may be far smaller (a large mean, a small spread).
    With ``u`` the unit roundoff of ``dtype`` and ``a = mean |x_i| <= sqrt(Q)``:

    * running sums, ``mean(x**2) - mean(x)**2``: the mean square is within ``gamma(n + 1) Q``;
      the mean within ``gamma(n) a``, so its square within ``(2 gamma(n) + gamma(n)**2) a**2 +
      u Q <= gamma(2 n + 1) Q``; the difference rounds once more, ``u Q``: in all
      ``gamma(3 n + 3) Q``. A ``max(., 0)`` against a negative result only moves it closer;
    * two passes (``np.var``): the deviations from the computed mean ``m'`` add
      ``(m' - m)**2 <= gamma(n)**2 Q`` (the first-order term cancels), their squares and sum
      ``gamma(n + 3) v``: within ``gamma(n + 4) Q``;
    * Welford's updates: within about ``n kappa u v`` with ``kappa = sqrt(Q / v)`` (Chan, Golub
      and LeVeque, *Algorithms for computing the sample variance*, 1983), that is
      ``n u sqrt(Q v) <= n u Q``.

    ``gamma(5 n + 5)`` (:func:`moment_ops`) covers each, twice over for the student's value and
    the verdict's, and so does the absolute error of underflow (:func:`underflow_tolerance`:
    squares of values below 1e-19 are subnormal in float32); dividing by ``n - ddof`` instead
    of ``n`` scales the error by ``n / (n - ddof)``.
    """
    samples = np.asarray(samples, dtype=np.float64)
    n_samples = samples.shape[0]
    ops = moment_ops(n_samples)
    mean_square = np.mean(samples**2, axis=0)
    error = rounding_tolerance(dtype, ops) * mean_square + underflow_tolerance(dtype, ops)
    return error * (n_samples / (n_samples - ddof))


def near_variance(actual, samples, dtype, *, ddof: int = 0) -> np.ndarray:
    """Entry by entry, whether ``actual`` is the variance (``ddof``) over axis 0 of ``samples``
    computed in ``dtype`` by any textbook algorithm (see :func:`variance_error`)."""
    samples = np.asarray(samples, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    error = variance_error(samples, dtype, ddof=ddof)
    with np.errstate(invalid="ignore"):  # inf - inf: not near
        return np.abs(actual - samples.var(axis=0, ddof=ddof)) <= error


def near_std(actual, samples, dtype, *, ddof: int = 0) -> np.ndarray:
    """Entry by entry, whether ``actual`` is the standard deviation (``ddof``) over axis 0 of
    ``samples`` computed in ``dtype`` by any textbook algorithm, including
    ``sqrt(max(mean(x**2) - mean(x)**2, 0))`` from running sums.

    A computed variance ``v'`` is within ``e`` (:func:`variance_error`) of ``v = s**2``, and
    ``|sqrt(v') - s| = |v' - v| / (sqrt(v') + s)`` is at most ``e / s`` and, since
    ``|sqrt(a) - sqrt(b)| <= sqrt(|a - b|)``, at most ``sqrt(e)``: the bound that still holds
    when ``s`` is 0 or lost to cancellation. The square root rounds once more, by
    ``u (s + sqrt(e))``. Tolerance: ``min(e / s, sqrt(e)) + 2 u (s + sqrt(e))``.

    Where the samples agree to within rounding (``s`` about ``sqrt(e)`` or less) no algorithm
    that forms ``mean(x**2) - mean(x)**2`` can tell ``s`` from 0, and any value of that size
    passes. Elsewhere the tolerance is ``e / s``: for 30 float64 samples whose mean is 1000
    times their spread, about ``3e-8 s``, against the 1.7% of ddof=1.
    """
    samples = np.asarray(samples, dtype=np.float64)
    expected = samples.std(axis=0, ddof=ddof)
    error = variance_error(samples, dtype, ddof=ddof)
    root = np.sqrt(error)
    spread = np.where(expected > 0, expected, 1.0)
    through_s = np.where(expected > 0, error / spread, np.inf)
    tolerance = np.minimum(through_s, root) + rounding_tolerance(dtype, 1) * (expected + root)
    actual = np.asarray(actual, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: not near
        return np.abs(actual - expected) <= tolerance


# --- verdict half: the catalogue of dropout mistakes ----------------------------------------


class Mistake:
    """A mistake of dropout code that verdicts diagnose, and the hint they give for it.

    ``text`` says what was done and what to do instead, in whole sentences; its ``{fields}``
    let a verdict name what it checked (a weight mask, noise), ``defaults`` fit a plain mask.
    """

    def __init__(self, text: str, **defaults: str):
        self.text = text
        self.defaults = defaults

    def say(self, **fields) -> str:
        return self.text.format(**{**self.defaults, **fields})

    def __str__(self) -> str:
        return self.say()

    def __repr__(self) -> str:
        return f"Mistake({self.say()!r})"


# the scale of kept units
NOT_RESCALED = Mistake(
    "Kept {units} are not scaled: did you forget to divide by keep_prob?", units="units"
)
DIVIDED_BY_P_DROP = Mistake(
    "Kept {units} are divided by p_drop: divide by keep_prob = 1 - p_drop, not by p_drop.",
    units="units",
)
MULTIPLIED_BY_P_DROP = Mistake(
    "Kept {units} are multiplied by p_drop: the scale is 1 / keep_prob = 1 / (1 - p_drop).",
    units="units",
)
MULTIPLIED_BY_KEEP_PROB = Mistake(
    "Kept {units} are multiplied by keep_prob: multiplying by keep_prob is standard dropout's "
    "inference rule; inverted dropout divides by keep_prob in training, and its backward pass "
    "multiplies dout by the same mask / keep_prob.",
    units="units",
)
#: (scale of the kept units as a function of keep_prob and p_drop, the mistake it shows)
SCALE_MISTAKES = (
    (lambda keep_prob, p_drop: 1.0, NOT_RESCALED),
    (lambda keep_prob, p_drop: 1.0 / p_drop if p_drop else math.inf, DIVIDED_BY_P_DROP),
    (lambda keep_prob, p_drop: p_drop, MULTIPLIED_BY_P_DROP),
    (lambda keep_prob, p_drop: keep_prob, MULTIPLIED_BY_KEEP_PROB),
)

# the law of the mask
KEEP_DROP_SWAPPED = Mistake(
    "{Units} are kept with probability p_drop: keep and drop are swapped. Each is kept (True in "
    "a mask) with probability keep_prob = 1 - p_drop, e.g. rng.random(shape) < 1 - p_drop.",
    Units="Units",
)
NOTHING_DROPPED = Mistake("Nothing is dropped: is the mask applied?")
IGNORES_P_DROP = Mistake("The mask ignores p_drop: every entry is kept with probability 1/2.")
FIXED_COUNT = Mistake(
    "Dropout decides each unit independently, so the number of dropped units is random "
    "(Binomial); do not choose a fixed number of units to drop (permutation, rng.choice "
    "without replacement)."
)

# draws shared where they must be independent
SHARED_ACROSS_BATCH = Mistake(
    "The samples of the batch share one draw: one {draw} is shared by the whole batch. {fix}",
    draw="mask",
    fix="Every sample needs its own draw: draw the mask with the full shape of x, "
    "not one row broadcast over the batch.",
)
SHARED_ACROSS_UNITS = Mistake(
    "{units} share one draw and are kept or dropped together: every {unit} needs its own "
    "draw.{more}",
    units="Neighbouring units",
    unit="entry",
    more="",
)
SHARED_BETWEEN_SAMPLES = Mistake(
    "{seen}: some samples reuse the mask of another sample (a mask drawn for part of the batch "
    "and used twice, or copied from a neighbouring sample). {fix}",
    seen="Two samples have the same mask",
    fix=SHARED_ACROSS_BATCH.defaults["fix"],
)
SHARED_BETWEEN_UNITS = Mistake(
    "{seen}: some units are kept or dropped together (one draw shared by neighbouring units, "
    "or a mask repeated in tiles). Every {unit} needs its own draw: draw the mask with the "
    "full shape of x, not part of it repeated.",
    seen="Two units have the same mask",
    unit="entry",
)

# the use of rng
RANDOMNESS_NOT_FROM_RNG = Mistake(
    "Two calls with generators of the same seed gave different {results}: draw every random "
    "number from the rng argument ({methods}), never from np.random.* or a generator of your "
    "own.",
    results="masks",
    methods="rng.random, rng.binomial, ...",
)
SEEDED_INSIDE = Mistake(
    "Generators with different seeds gave the same {result}: the {draws} must be drawn from the "
    "rng argument, not from a generator fixed or seeded inside the function.",
    result="mask",
    draws="mask",
)
RESEEDED_EACH_CALL = Mistake(
    "Two calls with the same rng gave the same {result}: every call must draw fresh numbers "
    "from rng; do not seed a new generator from rng's seed, or copy rng, inside the function.",
    result="mask",
)

# arguments and dtype
MUTATED_ARGUMENT = Mistake(
    "{name} was modified by the call. Functions must not change their arguments: compute the "
    "result in a new array ({new}), not in place ({in_place}).",
    name="x",
    new="x * mask / keep_prob",
    in_place="x *= mask",
)
DTYPE_NOT_KEPT = Mistake(
    "{name} must keep the input's dtype {expected}, got {actual}. Multiplying by a float64 "
    "array (e.g. rng.random(...) < keep_prob then a division) upcasts float32: cast the mask "
    "or the result back with .astype(x.dtype)."
)

# inference
ON_AT_INFERENCE = Mistake(
    "At inference (training=False) the output must equal the input, but it is random{seen}: "
    "the mask or noise must be switched off when training is False.",
    seen="",
)
SCALED_AT_INFERENCE = Mistake(
    "With inverted dropout the scaling happens in training only; inference returns x unchanged."
)

# the backward pass
BACKWARD_IGNORES_MASK = Mistake(
    "dx equals dout: the backward pass ignores the mask. Dropped units get no gradient: "
    "multiply dout by the same mask (and by 1 / keep_prob)."
)
BACKWARD_SCALES_ONLY = Mistake(
    "dx = dout / keep_prob everywhere: the backward scales but ignores the mask, so units the "
    "forward pass dropped receive a gradient. Multiply by the mask saved in the cache too."
)
BACKWARD_NEW_MASK = Mistake(
    "dx is non-zero for units the forward pass dropped (or zero for units it kept). Use the "
    "mask saved in cache by the forward pass: drawing a new mask in backward gives the "
    "gradient of a different network."
)
BACKWARD_USES_OUTPUT = Mistake(
    "dx was multiplied by the forward output: the derivative of x * mask / keep_prob with "
    "respect to x is mask / keep_prob, which does not depend on x. Cache the mask, not the "
    "output."
)
MASK_FROM_OUTPUT = Mistake(
    "dx is 0 wherever x is 0: did you read the mask from the output (out != 0)? A kept unit "
    "whose input is 0 also outputs 0, and ReLU outputs are often exactly 0: cache the mask "
    "itself."
)


# --- verdict half: dropout checks -----------------------------------------------------------


def check_inverted_dropout_output(
    x: np.ndarray,
    out,
    p_drop: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    units: str = "units",
    ops: int = DROPOUT_OPS,
):
    """One training-mode output of inverted dropout on ``x``.

    Exact: ``out`` has the shape and dtype of ``x``; every entry is 0 or ``x / keep_prob`` (up
    to :func:`close` with ``ops`` roundings). Statistical: the kept entries among the non-zero
    entries of ``x`` are Binomial(n, keep_prob), spending ``alpha``. ``units`` names what is
    dropped in the messages ("weights" for DropConnect).
    """
    x = np.asarray(x)
    keep_prob = 1.0 - p_drop
    assert_same_shape_dtype(x, out)
    nonzero = x != 0
    ratios = out[nonzero].astype(np.float64) / x[nonzero].astype(np.float64)
    kept = ratios != 0
    if not np.all(np.isfinite(ratios)):
        raise CheckFailure("output contains NaN or infinite values.")
    if np.any(out[~nonzero] != 0):
        raise CheckFailure("output must be 0 where the input is 0 (dropout only multiplies).")
    scales = ratios[kept]
    if not np.all(near(scales, 1.0 / keep_prob, x.dtype, ops=ops)):
        median = float(np.median(scales))
        hint = next(
            (
                mistake.say(units=units)
                for scale_of, mistake in SCALE_MISTAKES
                if math.isclose(median, scale_of(keep_prob, p_drop), rel_tol=1e-3)
                and np.allclose(scales, median, rtol=1e-3)
            ),
            "Each output must be either 0 (dropped) or x / keep_prob (kept).",
        )
        raise CheckFailure(
            f"kept {units} must equal x / keep_prob = x * {1.0 / keep_prob:.6g}, "
            f"saw x times {median:.6g} (median). {hint}"
        )
    return assert_binomial_count(
        int(kept.sum()),
        int(kept.size),
        keep_prob,
        alpha=alpha,
        what=f"kept {units}",
        alternatives={
            KEEP_DROP_SWAPPED.say(Units=units.capitalize()): p_drop,
            NOTHING_DROPPED.say(): 1.0,
        },
        hint=f"Each of the {units} must be kept with probability keep_prob = 1 - p_drop = "
        f"{keep_prob:.4g}.",
    )


def check_inference_identity(
    x: np.ndarray, out, *, name: str = "the layer", rule: str = str(SCALED_AT_INFERENCE)
) -> None:
    """At inference a dropout layer ``name`` is the identity: ``out`` must equal ``x`` exactly.

    A scaled or affine output is reported with ``rule`` (what the variant does at inference), a
    random one as the mask or noise left on.
    """
    x = np.asarray(x)
    require_array(out, name, what="out at inference (training=False)", like=x)
    if np.array_equal(out, x):
        return
    x64, out64 = x.astype(np.float64), out.astype(np.float64)
    nonzero = x != 0
    if np.any(out[nonzero] == 0):
        raise CheckFailure(
            ON_AT_INFERENCE.say(
                seen=" (some outputs are 0, and no unit may be dropped at inference)"
            )
        )
    ratios = out64[nonzero] / x64[nonzero]
    median = float(np.median(ratios)) if ratios.size else 1.0
    if np.allclose(ratios, median, rtol=1e-3):
        raise CheckFailure(
            f"at inference (training=False) the output must equal the input, saw "
            f"x times {median:.6g}. {rule}"
        )
    if np.all(np.isfinite(out64)) and x.size > 1:
        slope, intercept = np.polyfit(x64.ravel(), out64.ravel(), 1)
        if np.allclose(out64, slope * x64 + intercept, rtol=1e-3, atol=1e-3):
            raise CheckFailure(
                f"at inference (training=False) the output must equal the input, "
                f"saw {slope:.6g} * x + {intercept:.6g}. {rule}"
            )
    raise CheckFailure(ON_AT_INFERENCE.say())


def check_p_zero_identity(x: np.ndarray, out, name: str) -> None:
    """With p_drop = 0 a dropout layer is the identity in training too."""
    if not isinstance(out, np.ndarray) or out.shape != x.shape or not np.array_equal(out, x):
        raise CheckFailure(
            f"{name} with p_drop = 0 must return the input unchanged: nothing is "
            "dropped, nothing is scaled and no noise is added."
        )


def assert_expectation_preserved(
    x: np.ndarray, outputs, p_drop: float, *, alpha: float = DEFAULT_ALPHA
):
    """The mean of ``out / x`` over entries and draws must be 1 (inverted dropout is unbiased).

    ``outputs`` holds one or more outputs for the same ``x``. Per entry ``out / x`` is 0 or
    ``1 / keep_prob``, with mean 1 and variance ``p_drop / keep_prob``; Bernstein's bound gives
    the tolerance (``alpha``).
    """
    x = np.asarray(x)
    dtype = np.result_type(x, np.asarray(outputs[0]).dtype)
    x = x.astype(np.float64)
    keep_prob = 1.0 - p_drop
    stacked = np.asarray(outputs, dtype=np.float64).reshape((-1, *x.shape))
    nonzero = x != 0
    ratios = stacked[:, nonzero] / x[nonzero]
    # x / keep_prob rounded in the input's dtype is not exactly x * (1 / keep_prob): snap it
    ratios[near(ratios, 1.0 / keep_prob, dtype)] = 1.0 / keep_prob
    return assert_mean_close(
        ratios,
        1.0,
        lower=0.0,
        upper=1.0 / keep_prob,
        variance=p_drop / keep_prob,
        alpha=alpha,
        what="mean of output / input",
        hint=f"Inverted dropout keeps E[out] = x; a mean of keep_prob = {keep_prob:.4g} times "
        f"the input says: {NOT_RESCALED}",
    )


def assert_independent_pairs(
    first: np.ndarray,
    second: np.ndarray,
    agree_prob: float,
    *,
    what: str,
    mistake: str,
    hint: str,
    alpha: float = DEFAULT_ALPHA,
):
    """Paired entries of ``first`` and ``second`` must be independent draws that agree with
    probability ``agree_prob``: the agreements are Binomial (exact acceptance region,
    ``alpha``). ``mistake`` is named when (nearly) all pairs agree."""
    return assert_binomial_count(
        int(np.count_nonzero(first == second)),
        int(first.size),
        agree_prob,
        alpha=alpha,
        what=what,
        alternatives={mistake: 1.0},
        hint=hint,
    )


def identical_draws_bound(n_samples: int, n_units: int, p_drop: float) -> float:
    """Union bound on the probability that independent masks show two identical rows or columns.

    In an ``n_samples`` x ``n_units`` mask of independent Bernoulli entries two given rows agree
    on all ``n_units`` units with probability ``a**n_units``, two given columns on all
    ``n_samples`` samples with ``a**n_samples``, where ``a = keep_prob**2 + p_drop**2``
    (:func:`course_lib.stats.agreement_probability`). Some two rows or some two columns are
    identical with probability at most
    ``C(n_samples, 2) a**n_units + C(n_units, 2) a**n_samples``: where that is below ``alpha``,
    a mask with a repeated row or column is not independent, whatever the structure of the
    sharing (halves of the batch, a chain of samples, pairs or tiles of units).
    :func:`assert_masks_independent` applies a sharper form of this test.

    >>> identical_draws_bound(64, 64, 0.5) == 2 * math.comb(64, 2) * 0.5**64
    True
    """
    agree = stats.agreement_probability(p_drop)
    return math.comb(n_samples, 2) * agree**n_units + math.comb(n_units, 2) * agree**n_samples


@functools.lru_cache(maxsize=4096)
def _agreement_region(n: int, agree: float, alpha: float) -> tuple[int, int]:
    # verdicts ask for the same regions seed after seed: the shapes and rates are fixed
    return stats.binomial_acceptance(n, agree, alpha)


#: the most rows (or columns) whose pairs :func:`_shared_rows` compares one by one (it holds a
#: matrix of this size squared); beyond, it judges only the rows ``s`` apart taken together
_MAX_PAIRED_ROWS = 1024


def _agreement_counts(masks: np.ndarray) -> np.ndarray:
    """``counts[i, j]``: on how many columns rows ``i`` and ``j`` of a boolean matrix agree.

    The rows are packed into bits, and ``m`` minus the bits set in ``row_i XOR row_j`` counted,
    64 columns at a time: exact, and without BLAS, whose threads would spin on the grader's
    other core (a product of the matrix by itself in float64 took about 0.1 s of CPU a
    notebook, on two threads)."""
    n, m = masks.shape
    # 64 units a word; the padding bits are 0 in every row, so never a difference
    packed = np.packbits(masks, axis=1)
    packed = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, -packed.shape[1] % 8))))
    packed = packed.view(np.uint64)
    counts = np.full((n, n), m, dtype=np.int64)
    for word in packed.T:  # one word of every row at a time: n x n values, never more
        counts -= np.bitwise_count(word[:, None] ^ word[None, :])
    return counts


@functools.lru_cache(maxsize=16)
def _upper_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)``, ``i < j < n``, as two arrays (shapes repeat from seed to seed)."""
    return np.triu_indices(n, 1)


@functools.lru_cache(maxsize=16)
def _pair_families(n: int) -> np.ndarray:
    """For each pair of :func:`_upper_pairs`, ``2 s + (i // s) % 2`` with ``s = j - i``: the
    family :func:`_shared_rows` judges it in."""
    first, second = _upper_pairs(n)
    shift = second - first
    return 2 * shift + (first // shift) % 2


def _shared_rows(masks: np.ndarray, agree: float, alpha: float) -> str | None:
    """Whether the rows of ``masks`` (``n`` x ``m``, independent Bernoulli entries under the
    correct law) share draws; if so, how, in words. Spends ``alpha``: half on every pair of
    rows, half on the rows ``s`` apart for every shift ``s``.

    Any two rows agree on Binomial(m, agree) columns. All ``C(n, 2)`` pairs must fall in the
    exact acceptance region of ``alpha / 2 / C(n, 2)`` (union bound): a row repeated anywhere
    fails as soon as ``C(n, 2) agree**m`` is below that, whatever the sharing's pattern. For
    thin masks, where chance alone lets two of many rows coincide, the pairs ``(i, i + s)`` with
    ``i // s`` even are disjoint, as are those with ``i // s`` odd: their agreements, summed,
    are Binomial(pairs * m, agree), judged for each of the ``2 (n - 1)`` families with
    ``alpha / 4 / (n - 1)``. A batch split in halves that share a mask, samples that copy a
    neighbour, and masks that repeat every few samples all make some family agree too often.
    """
    n, m = masks.shape
    if n < 2 or m < 1:
        return None
    # totals[s, parity]: the agreements of the pairs (i, i + s) with (i // s) % 2 == parity,
    # summed; pairs[s, parity]: how many such pairs
    if n <= _MAX_PAIRED_ROWS:
        first, second = _upper_pairs(n)
        pair_counts = _agreement_counts(masks)[first, second]
        lo, hi = _agreement_region(m, agree, alpha / 2 / first.size)
        outside = np.flatnonzero((pair_counts < lo) | (pair_counts > hi))
        if outside.size:
            worst = outside[np.argmax(np.abs(pair_counts[outside] - agree * m))]
            i, j, count = int(first[worst]), int(second[worst]), int(pair_counts[worst])
            return (
                f"{{What}} {i} and {j} agree on {count} of their {m} {{units}}, where "
                f"independent masks agree on {lo} to {hi} (on about {agree:.0%})"
            )
        family = _pair_families(n)  # one pass over the pairs instead of a loop over shifts
        totals = np.bincount(family, weights=pair_counts, minlength=2 * n).reshape(n, 2)
        pairs = np.bincount(family, minlength=2 * n).reshape(n, 2)
    else:
        totals, pairs = np.zeros((n, 2)), np.zeros((n, 2), dtype=np.int64)
        for shift in range(1, n):
            diagonal = np.sum(masks[:-shift] == masks[shift:], axis=1)
            block = (np.arange(n - shift) // shift) % 2
            for parity in (0, 1):
                totals[shift, parity] = diagonal[block == parity].sum()
                pairs[shift, parity] = np.count_nonzero(block == parity)
    for shift in range(1, n):
        for parity in (0, 1):
            if not pairs[shift, parity]:
                continue
            trials = int(pairs[shift, parity]) * m
            count = int(totals[shift, parity])
            lo, hi = _agreement_region(trials, agree, alpha / 4 / (n - 1))
            if not lo <= count <= hi:
                apart = "Neighbouring {what}" if shift == 1 else f"{{What}} {shift} apart"
                return (
                    f"{apart} agree on {count / trials:.1%} of their {{units}} "
                    f"({count} of {trials} compared), where independent masks agree on "
                    f"{lo / trials:.1%} to {hi / trials:.1%}"
                )
    return None


def assert_masks_independent(
    masks,
    p_drop: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    what: str = "samples",
    units: str = "units",
    unit: str = "unit",
    draw: str = SHARED_ACROSS_BATCH.defaults["draw"],
    fix: str = SHARED_ACROSS_BATCH.defaults["fix"],
    more: str = "",
) -> None:
    """The keep-masks of different samples (first axis), and of different units (the other axes,
    flattened), must be drawn independently.

    Under the correct law the ``N`` x ``d`` mask has independent Bernoulli(keep_prob) entries,
    so its rows (samples) and its columns (units) each pass :func:`_shared_rows`, which spends
    ``alpha / 2`` on each: every pair agrees within its exact binomial region, and so do the
    rows (columns) ``s`` apart taken together, for every ``s``. A mask shared by the whole
    batch, by two halves of it, by neighbouring samples, by neighbouring units or by tiles of
    units fails; where a repeated row or column could happen by chance
    (:func:`identical_draws_bound` above ``alpha``) the aggregated families still see it when
    the sharing has a pattern. ``what`` and ``units`` (``unit``) name the two axes in messages;
    ``draw`` and ``fix`` fill :data:`SHARED_ACROSS_BATCH`, ``more`` :data:`SHARED_ACROSS_UNITS`.
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.shape[0] < 2:
        raise ValueError(f"need at least 2 {what} to compare, got {masks.shape[0]}")
    rows = masks.reshape(masks.shape[0], -1)
    agree = stats.agreement_probability(p_drop)
    constant = bool(rows.all() or not rows.any())  # nothing to compare: the kept count judges
    if constant:
        return
    across_samples = _shared_rows(rows, agree, alpha / 2)
    across_units = None if across_samples else _shared_rows(rows.T, agree, alpha / 2)
    if across_samples is None and across_units is None:
        return
    # the commonest sharings have messages of their own
    if np.all(rows == rows[:, :1]):
        raise CheckFailure(
            SHARED_ACROSS_UNITS.say(units=f"All {units} of a sample", unit=unit, more=more)
        )
    if np.all(rows == rows[0]):
        raise CheckFailure(SHARED_ACROSS_BATCH.say(draw=draw, fix=fix))
    if across_samples is not None:
        raise CheckFailure(
            SHARED_BETWEEN_SAMPLES.say(
                seen=across_samples.format(What=what.capitalize(), what=what, units=units),
                fix=fix,
            )
        )
    raise CheckFailure(
        SHARED_BETWEEN_UNITS.say(
            seen=str(across_units).format(What=units.capitalize(), what=units, units=what),
            unit=unit,
        )
    )


def check_rng_use(first, again, other, *, p_drop: float, alpha: float = DEFAULT_ALPHA) -> None:
    """Randomness must come from the ``rng`` argument only, judged from three outputs.

    ``first`` and ``again`` come from generators with the same seed, ``other`` from another
    seed; each is a keep-mask or an output whose zeros are the dropped units. The first two must
    be equal; the third must differ, which a correct implementation fails with probability
    :func:`course_lib.stats.coincidence_probability` ``<= alpha``.
    """
    first, again, other = (np.asarray(a) != 0 for a in (first, again, other))
    if first.shape != again.shape or not np.array_equal(first, again):
        raise CheckFailure(RANDOMNESS_NOT_FROM_RNG.say())
    if stats.coincidence_probability(first.size, p_drop) > alpha:
        raise ValueError(
            f"{first.size} entries are too few to tell two seeds apart with "
            f"alpha={alpha:g}; use a larger input"
        )
    if first.shape == other.shape and np.array_equal(first, other):
        raise CheckFailure(SEEDED_INSIDE.say())


def assert_uses_rng(
    fn: Callable[[np.random.Generator], np.ndarray],
    *,
    p_drop: float,
    seeds: tuple[int, int] = (12345, 54321),
    alpha: float = DEFAULT_ALPHA,
) -> None:
    """:func:`check_rng_use` on ``fn(rng)`` with seeds ``seeds[0]`` (twice) and ``seeds[1]``."""
    outputs = [fn(np.random.default_rng(seed)) for seed in (seeds[0], seeds[0], seeds[1])]
    check_rng_use(*outputs, p_drop=p_drop, alpha=alpha)


def _backward_mistakes(dout, out, mask, keep_prob, p_drop):
    """(dx that a mistake gives, the mistake), for inverted dropout's backward."""
    yield dout, BACKWARD_IGNORES_MASK
    yield dout / keep_prob, BACKWARD_SCALES_ONLY
    for scale_of, mistake in SCALE_MISTAKES:
        scale = scale_of(keep_prob, p_drop)
        if math.isfinite(scale):
            yield np.where(mask, dout * scale, 0.0), mistake
    yield dout * out, BACKWARD_USES_OUTPUT
    yield dout * out / keep_prob, BACKWARD_USES_OUTPUT


def check_dropout_backward(
    x: np.ndarray, out: np.ndarray, dout: np.ndarray, dx, p_drop: float
) -> None:
    """Inverted dropout's backward for one forward pass: ``dx = dout * mask / keep_prob``.

    ``out`` is the forward output on ``x``, whose entries are all non-zero so that the zeros of
    ``out`` are the dropped units; the comparison is :func:`close` (:data:`DROPOUT_OPS`). A
    wrong ``dx`` is matched against the catalogue's backward mistakes.
    """
    x, out, dout = np.asarray(x), np.asarray(out), np.asarray(dout)
    if np.any(x == 0):
        raise ValueError("x must have no zero entries, so that the mask can be read from out")
    keep_prob = 1.0 - p_drop
    assert_same_shape_dtype(dout, dx, name="dx")
    mask = out != 0
    dout64, out64 = dout.astype(np.float64), out.astype(np.float64)
    if close(dx, np.where(mask, dout64 / keep_prob, 0.0), dout.dtype):
        return
    for wrong, mistake in _backward_mistakes(dout64, out64, mask, keep_prob, p_drop):
        if close(dx, wrong, dout.dtype):
            raise CheckFailure(f"dx must be dout * mask / keep_prob. {mistake}")
    if not np.array_equal((np.asarray(dx) != 0) & (dout != 0), mask & (dout != 0)):
        raise CheckFailure(str(BACKWARD_NEW_MASK))
    raise CheckFailure("dx must equal dout * mask / keep_prob, with the mask of the forward pass.")

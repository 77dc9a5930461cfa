"""Exercises of notebook 02: ``sample_mask``, ``prob_exactly_dropped``, ``dropped_count_range``
and the judgement ``choose_layer_width``.

Conventions: ``p_drop`` is the probability that a unit is dropped, ``keep_prob = 1 - p_drop``;
a mask is a boolean array with ``True`` = kept. Float masks of 0.0/1.0 are refused: the course's
masks are ``bool`` (spec section 2), and a bool mask cannot be confused with a scaled one.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from course_lib import checks
from course_lib import stats as course_stats
from course_lib._lazy import lazy_module
from course_lib.analysis import choose_layer_width, dropped_count_range, prob_fraction_within
from course_lib.checks import CheckFailure

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

if TYPE_CHECKING:
    from scipy import stats
else:  # imported on first use: most users of this module never need it (see course_lib._lazy)
    stats = lazy_module("scipy.stats")

NOTEBOOK = "02_bernoulli_binomial"


# --- sample_mask ------------------------------------------------------------------------------


def _mask_cases(hidden: bool):
    """(shape, p_drop) of the calls whose masks are judged one by one."""
    cases = [((200, 300), 0.3), ((30, 40, 50), 0.8)]
    if hidden:
        cases += [
            ((1000, 100), 0.1),
            (5000, 0.6),
            ((64, 1024), 0.5),
            ((300, 200), 0.25),
            ((8, 6, 20, 20), 0.4),
            ((10, 10), 0.0),
        ]
    return cases


_REPEAT_SHAPE, _REPEAT_P_DROP = (40,), 0.25


def _bad_p_drops(hidden: bool) -> tuple[float, ...]:
    return kit.BAD_P_DROPS if hidden else kit.BAD_P_DROPS[:1]


@exercise(
    "sample_mask",
    NOTEBOOK,
    reference="course_lib.masks.sample_mask",
    equivalents=("course_lib.masks.fill_mask_by_blocks",),
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "Every entry is its own coin flip: True (kept) with probability keep_prob = 1 - p_drop, "
        "independently of all the others.",
        "rng.random(shape) gives uniform numbers in [0, 1), one per entry; a comparison with a "
        "threshold turns them into booleans, and the fraction below t is about t. Which "
        "threshold keeps a fraction keep_prob?",
        "A trap the check names: " + kit.FIXED_COUNT.say() + " Return a boolean array, True = "
        "kept, and draw only from rng.",
    ),
)
class SampleMask:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {}
        for i, (shape, p_drop) in enumerate(_mask_cases(hidden)):
            observed[f"mask_{i}"] = kit.observed(
                call(fn, shape, p_drop, rng=np.random.default_rng([seed, i]))
            )
        observed["rng_runs"] = [
            kit.observed(call(fn, (64, 64), 0.5, rng=np.random.default_rng(s)))
            for s in (seed, seed, seed + 1)
        ]
        rng = np.random.default_rng([seed, 99])
        observed["consecutive"] = [kit.observed(call(fn, (64, 64), 0.5, rng=rng)) for _ in range(2)]
        rng = np.random.default_rng([seed, 100])
        observed["repeats"] = [
            kit.observed(call(fn, _REPEAT_SHAPE, _REPEAT_P_DROP, rng=rng))
            for _ in range(400 if hidden else 200)
        ]
        observed["bad"] = kit.bad_p_drop_outcomes(
            lambda bad: fn((10, 10), bad, rng=np.random.default_rng(seed)), _bad_p_drops(hidden)
        )
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for i, (shape, p_drop) in enumerate(_mask_cases(hidden)):
            _check_one_mask(observed[f"mask_{i}"], shape, p_drop)
        runs = observed["rng_runs"]
        for mask in runs:
            _check_mask_type(mask, (64, 64))
        kit.check_rng_use(*runs, p_drop=0.5)
        first, second = observed["consecutive"]
        for mask in (first, second):
            _check_mask_type(mask, (64, 64))
        # two independent masks of 4096 entries coincide with probability 2**-4096
        if np.array_equal(first, second):
            raise CheckFailure(str(kit.RESEEDED_EACH_CALL))
        _check_repeats(observed["repeats"])

    @staticmethod
    def arguments(observed, seed, hidden):
        kit.require_bad_p_drops_refused(observed["bad"], "sample_mask", _bad_p_drops(hidden))


_SHARED_ROWS = kit.SHARED_ACROSS_BATCH.say(
    draw="row", fix="Draw random numbers for the full shape, not for shape[1:]."
)


def _check_mask_type(mask, shape) -> None:
    expected_shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not isinstance(mask, np.ndarray):
        raise CheckFailure(f"sample_mask must return a boolean numpy array, got {mask}.")
    if mask.dtype != bool:
        values = np.unique(mask)
        hint = ""
        if values.size <= 2 and np.all(np.isin(values, (0, 1))):
            hint = (
                f" Your mask holds 0s and 1s of dtype {mask.dtype}: return the comparison "
                "itself (rng.random(shape) < keep_prob is already bool), or convert "
                "with .astype(bool) (rng.binomial returns integers)."
            )
        raise CheckFailure(
            f"the mask must be a boolean array (dtype bool, True = kept), got "
            f"dtype {mask.dtype}.{hint}"
        )
    if mask.shape != expected_shape:
        raise CheckFailure(
            f"sample_mask(shape={shape!r}, ...) must return an array of shape "
            f"{expected_shape}, got {mask.shape}."
        )


def _check_one_mask(mask, shape, p_drop) -> None:
    _check_mask_type(mask, shape)
    keep_prob = 1.0 - p_drop
    if p_drop == 0.0:
        if not mask.all():
            raise CheckFailure(
                f"with p_drop = 0 every entry must be kept (True), but "
                f"{int(mask.size - mask.sum())} of {mask.size} are False."
            )
        return
    constant = bool(mask.all() or not mask.any())  # judged by the kept count below
    if mask.ndim >= 2 and not constant:
        # exact pre-checks, so that a shared mask is named before it skews the kept count: for
        # independent entries, all rows (or all entries of every row) agree with probability
        # below (keep_prob**2 + p_drop**2)**(number of compared pairs), far below 1e-9 here
        rows = mask.reshape(mask.shape[0], -1)
        if np.all(rows == rows[0]):
            raise CheckFailure(
                f"every row of the mask is the same, repeated (broadcast) over "
                f"the first axis. {_SHARED_ROWS}"
            )
        units = mask.reshape(-1, mask.shape[-1])
        if np.all(units == units[:, :1]):
            raise CheckFailure(
                f"every row of the mask is all True or all False. {kit.SHARED_ACROSS_UNITS}"
            )
        # at least 20 rows here, each count at most max(pmf) likely: equal with prob < 0.2**19
        row_counts = units.sum(axis=1)
        if units.shape[0] >= 20 and np.all(row_counts == row_counts[0]):
            raise CheckFailure(
                f"every row of the mask keeps exactly {row_counts[0]} of its "
                f"{units.shape[1]} entries. {kit.FIXED_COUNT}"
            )
    # exact binomial acceptance region, false-failure probability <= 1e-9
    checks.assert_binomial_count(
        int(mask.sum()),
        int(mask.size),
        keep_prob,
        what=f"kept entries (True) at p_drop={p_drop}",
        alternatives={
            str(kit.KEEP_DROP_SWAPPED): p_drop,
            str(kit.IGNORES_P_DROP): 0.5,
            str(kit.NOTHING_DROPPED): 1.0,
        },
        hint=f"each entry must be True with probability keep_prob = 1 - p_drop = {keep_prob:.4g}.",
    )
    if mask.ndim >= 2:
        rows = mask.reshape(mask.shape[0], -1)
        units = mask.reshape(-1, mask.shape[-1])
        # partial dependence: pairs of rows, then pairs of neighbouring units
        agree_prob = course_stats.agreement_probability(p_drop)
        n_pairs = rows.shape[0] // 2
        kit.assert_independent_pairs(
            rows[0 : 2 * n_pairs : 2],
            rows[1 : 2 * n_pairs : 2],
            agree_prob,
            what="entries on which two rows of the mask agree",
            mistake=_SHARED_ROWS,
            hint="The rows of the mask must be drawn independently.",
        )
        n_pairs = units.shape[1] // 2
        kit.assert_independent_pairs(
            units[:, 0 : 2 * n_pairs : 2],
            units[:, 1 : 2 * n_pairs : 2],
            agree_prob,
            what="neighbouring entries that agree",
            mistake=str(kit.SHARED_ACROSS_UNITS),
            hint="Every entry must be kept or dropped independently of its neighbours.",
        )


def _check_repeats(masks) -> None:
    """Many masks of 40 units: how many drop exactly the most likely count?

    Under the correct law each call does so independently with probability
    pmf(mode) = 0.144, so that number is Binomial(n_calls, 0.144) (exact acceptance region,
    false-failure probability <= 1e-9). A function that always drops round(n * p_drop) units
    (a random permutation, rng.choice without replacement) does so on every call.
    """
    for mask in masks:
        _check_mask_type(mask, _REPEAT_SHAPE)
    n_units = _REPEAT_SHAPE[0]
    dropped = np.array([n_units - int(mask.sum()) for mask in masks])
    law = stats.binom(n_units, _REPEAT_P_DROP)
    mode = int(n_units * _REPEAT_P_DROP)
    checks.assert_binomial_count(
        int(np.sum(dropped == mode)),
        len(masks),
        # scipy types a frozen law as rv_continuous_frozen | rv_discrete_frozen, whichever it is
        float(law.pmf(mode)),  # pyright: ignore[reportAttributeAccessIssue]
        what=f"calls of sample_mask({n_units}, {_REPEAT_P_DROP}) that drop exactly {mode} units",
        alternatives={f"Every call drops exactly the same number of units. {kit.FIXED_COUNT}": 1.0},
        hint="the number of dropped units must vary from call to call like Binomial(n, p_drop).",
    )


# --- prob_exactly_dropped ---------------------------------------------------------------------


def _prob_cases(seed: int, hidden: bool):
    cases = [
        (1024, 512, 0.5),
        (10, 3, 0.2),
        (50, 40, 0.7),
        (10, -1, 0.2),
        (10, 11, 0.2),
        (2000, 1000, 0.5),
    ]
    if hidden:
        rng = np.random.default_rng([seed, 2])
        for _ in range(8):
            n = int(rng.integers(1, 3000))
            p_drop = float(rng.uniform(0.02, 0.95))
            sd = math.sqrt(n * p_drop * (1 - p_drop))
            k = int(np.clip(round(n * p_drop + rng.uniform(-3, 3) * sd), 0, n))
            cases.append((n, k, p_drop))
        cases += [
            (1024, 0, 0.5),
            (300, 300, 0.9),
            (5, 0, 0.0),
            (5, 2, 0.0),
            (0, 0, 0.3),
            (10_000, 3000, 0.3),
            (20_000, 10_050, 0.5),
            (1, 1, 0.25),
            (30, 7, 0.1),
        ]
    return cases


_BAD_PROB_CALLS = ((-1, 0, 0.5), (10, 2, 1.0), (10, 2, -0.1))


@exercise(
    "prob_exactly_dropped",
    NOTEBOOK,
    reference="course_lib.analysis.prob_exactly_dropped",
    equivalents=("course_lib.analysis.dropped_count_distribution",),
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "The number of dropped units is Binomial(n, p_drop): choose which k units are dropped, "
        "times the probability of one such pattern.",
        "For n in the thousands, C(n, k) and p_drop ** k over- and underflow: work with "
        "logarithms (math.lgamma gives log(m!) as lgamma(m + 1), math.log1p(-p) is log(1 - p) "
        "without cancellation) and exponentiate at the end. scipy.stats.binom has an exact pmf "
        "too.",
        "Edge cases: k outside [0, n] has probability 0.0, and with p_drop = 0 nothing is ever "
        "dropped (log(0) is -inf). n < 0 and p_drop outside [0, 1) raise ValueError.",
    ),
)
class ProbExactlyDropped:
    @staticmethod
    def probe(fn, seed, hidden):
        values = []
        for n, k, p_drop in _prob_cases(seed, hidden):
            result = kit.attempt(fn, n, k, p_drop)
            seen = result if kit.failure_of(result) else kit.observed(result)
            if isinstance(seen, np.ndarray) and seen.size == 1 and seen.dtype.kind in "biuf":
                seen = float(seen.reshape(()))
            values.append(seen)
        observed = {"values": values}
        if hidden:
            observed["bad"] = [kit.outcome_of_bad_call(fn, *args) for args in _BAD_PROB_CALLS]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for (n, k, p_drop), value in zip(
            _prob_cases(seed, hidden), observed["values"], strict=True
        ):
            _judge_probability(n, k, p_drop, value)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"n={n}, k={k}, p_drop={p}" for n, k, p in _BAD_PROB_CALLS],
                "prob_exactly_dropped",
                "n >= 0, p_drop in [0, 1)",
            )


def _pmf_ops(n: int) -> int:
    """Roundings of a binomial pmf computed in logs: the sum of at most ``4 n + 4`` log terms,
    each from a library function, then an exponential (see :func:`_pmf_tolerance`)."""
    return 4 * n + 4 + 2 * kit.LIBRARY_OPS


def _pmf_tolerance(n: int, p_drop: float) -> float:
    """Relative distance from the exact ``P(K = k)``, K ~ Binomial(n, p_drop), within which every
    sound computation of it in float64 lies.

    Whatever the route, a pmf for n in the thousands is ``exp(L)`` with ``L`` a sum of logs:
    ``lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)`` (math.lgamma, scipy's gammaln or
    betaln), or the logs of the factors of ``C(n, k)`` one by one, or a recursion
    ``log P(j) = log P(j - 1) + log((n - j + 1) / j) + log(p / q)`` from ``n log q``, plus
    ``k log p + (n - k) log q``. That is at most ``4 n + 4`` terms, each from a library
    function (:data:`kit.LIBRARY_OPS`), so ``L`` is within ``gamma(4 n + 4 + LIBRARY_OPS) M``
    (Higham, section 3.1), where ``M`` bounds the sum of the terms' magnitudes:
    ``lgamma(k + 1) + lgamma(n - k + 1) <= lgamma(n + 1)`` (``C(n, k) >= 1``) and the powers
    and the recursion's steps add at most ``2 n (|log p| + |log q|)``, so
    ``M = 2 lgamma(n + 1) + 2 n (|log p| + |log q|)``. An error ``d`` in ``L`` is a relative
    error ``d`` of ``exp(L)``, and the exponential rounds once more (LIBRARY_OPS); ``q = 1 - p``
    rounded, in ``(n - k) log q``, moves ``L`` by ``(n - k) u``, well inside. Exact arithmetic
    (``math.comb`` with fractions) and scipy's ``binom.pmf`` are closer still. Tolerance:
    ``2 gamma(4 n + 4 + 2 LIBRARY_OPS) (M + 1)``, about 7e-6 at n = 20000 and 1e-8 at n = 1024;
    the mistakes (keep_prob for p_drop, a normal approximation) are off by far more.
    """
    q_drop = 1.0 - p_drop
    logs = abs(math.log(p_drop)) + abs(math.log(q_drop)) if 0.0 < p_drop < 1.0 else 0.0
    magnitude = 2.0 * math.lgamma(n + 1) + 2.0 * n * logs
    return kit.rounding_tolerance(np.float64, _pmf_ops(n)) * (magnitude + 1.0)


def _same_probability(value: float, expected: float, n: int, p_drop: float) -> bool:
    """Whether ``value`` is ``expected``, a Binomial(n, p_drop) probability, up to the rounding
    of a sound computation (:func:`_pmf_tolerance`). A probability below the smallest normal
    number (2.2e-308, e.g. 0.5**1024) is rounded to a multiple of the smallest subnormal
    instead, and each step may cost one (:func:`kit.underflow_tolerance`)."""
    tolerance = _pmf_tolerance(n, p_drop) * abs(expected)
    return abs(value - expected) <= tolerance + kit.underflow_tolerance(np.float64, _pmf_ops(n))


def _judge_probability(n, k, p_drop, value) -> None:
    call_text = f"prob_exactly_dropped({n}, {k}, {p_drop:.6g})"
    expected = float(stats.binom.pmf(k, n, p_drop))
    failure = kit.failure_of(value)
    if failure is not None:
        hint = ""
        if not 0 <= k <= n:
            hint = (
                " For k outside [0, n] the probability is simply 0.0: return it before "
                "computing anything."
            )
        elif p_drop == 0.0:
            hint = (
                " With p_drop = 0 nothing is ever dropped: handle it separately "
                "(log(0) is undefined, and 0 * log(0) is nan)."
            )
        elif "Overflow" in failure or "too large" in failure:
            hint = (
                " Factorials of large n do not fit in a float (171! already overflows): "
                "compute log C(n, k) with math.lgamma and exponentiate at the end, or use "
                "scipy.stats.binom.pmf."
            )
        raise CheckFailure(f"{call_text}: {failure}.{hint}")
    if not isinstance(value, float):
        what = value if isinstance(value, str) else f"array of shape {value.shape}"
        raise CheckFailure(f"{call_text} returned a {what}, not a float.")
    if _same_probability(value, expected, n, p_drop):
        return
    seen = f"{call_text} should be {expected:.10g}, got {value:.10g}."
    if not math.isfinite(value):
        hint = (
            " With p_drop = 0, 0 * log(0) is nan: handle p_drop = 0 separately."
            if p_drop == 0.0
            else " A nan or inf comes from overflow: n! and C(n, k) are far beyond the largest "
            "float (1.8e308) for n = 1024. Work in logs (math.lgamma) and exponentiate at "
            "the end, or use scipy.stats.binom.pmf."
        )
    elif not 0 <= k <= n:
        hint = " For k outside [0, n] the probability is 0.0."
    elif _same_probability(value, float(stats.binom.pmf(k, n, 1.0 - p_drop)), n, p_drop):
        hint = (
            " That is the probability that k units are KEPT: p_drop and keep_prob are "
            "swapped. P(k dropped) = C(n, k) p_drop^k keep_prob^(n-k)."
        )
    elif value == 0.0 and expected > 0.0:
        hint = (
            " A probability that should be positive came out as 0: p_drop**k or "
            "keep_prob**(n-k) underflows for large n. Add logarithms instead of "
            "multiplying powers."
        )
    elif _normal_approximation(n, k, p_drop, value):
        hint = (
            " That is the normal approximation. It is close near the mean of large layers "
            "but not exact; use the binomial formula itself."
        )
    else:
        hint = " P(exactly k dropped) = C(n, k) p_drop^k (1 - p_drop)^(n - k)."
    raise CheckFailure(seen + hint)


def _normal_approximation(n, k, p_drop, value) -> bool:
    # a diagnosis after the value failed: the normal density or cdf difference, computed with
    # scipy, math.erf or by hand, matches to 1e-6 relative; the exact pmf is further off
    if n == 0 or p_drop == 0:
        return False
    return any(
        math.isclose(value, guess, rel_tol=1e-6)
        for guess in course_stats.binomial_normal_pmf(n, k, p_drop)
    )


# --- dropped_count_range ----------------------------------------------------------------------


def _reference_range(n: int, p_drop: float, coverage: float) -> tuple[int, int]:
    """The central range as the exercise's docstring defines it (the course's reference)."""
    return dropped_count_range(n, p_drop, coverage)


def _cdf_margin(n: int, p_drop: float) -> float:
    """How far a sound computation of a Binomial(n, p_drop) cdf or tail may be off: summed from
    pmf values, each within :func:`_pmf_tolerance` of exact, it adds ``n + 1`` terms of one
    sign, and its complement costs one rounding more, all relative to at most 1."""
    return _pmf_tolerance(n, p_drop) + kit.rounding_tolerance(np.float64, n + 2)


def _unambiguous(n: int, p_drop: float, coverage: float) -> bool:
    """No cdf value lies within :func:`_cdf_margin` of a threshold, so rounding cannot move an
    end of the range."""
    margin = _cdf_margin(n, p_drop)
    cdf = stats.binom.cdf(np.arange(n + 1), n, p_drop)
    tail = (1.0 - coverage) / 2.0
    return bool(np.min(np.abs(cdf - tail)) > margin and np.min(np.abs(cdf - (1 - tail))) > margin)


def _range_cases(seed: int, hidden: bool):
    cases = [(1024, 0.5, 0.95), (20, 0.2, 0.95), (100, 0.1, 0.95)]
    if hidden:
        cases += [
            (40, 0.3, 0.95),
            (100, 0.05, 0.95),
            (60, 0.9, 0.99),
            (80, 0.1, 0.9),
            (50, 0.0, 0.95),
            (1, 0.5, 0.5),
            (4096, 0.2, 0.99),
            (30, 0.8, 0.95),
        ]
        rng = np.random.default_rng([seed, 3])
        while len(cases) < 19:
            n = int(rng.integers(2, 2000))
            p_drop = float(rng.uniform(0.02, 0.95))
            coverage = float(rng.choice([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]))
            if _unambiguous(n, p_drop, coverage):
                cases.append((n, p_drop, coverage))
    return cases


_BAD_RANGE_CALLS = (
    (10, 0.5, 1.0),
    (10, 0.5, 0.0),
    (10, 0.5, 1.5),
    (10, 1.0, 0.95),
    (10, -0.2, 0.95),
)


@exercise(
    "dropped_count_range",
    NOTEBOOK,
    reference="course_lib.analysis.dropped_count_range",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "Split what coverage leaves out equally between the two tails of the exact law of the "
        "dropped count: lo and hi are read off its cumulative distribution.",
        "Build the probabilities for k = 0 ... n (your prob_exactly_dropped, or "
        "scipy.stats.binom), accumulate them with np.cumsum, and find the first k where the "
        "running sum reaches each threshold (np.searchsorted does that search).",
        "Return integers: scipy's ppf and interval return floats. Each threshold is 'the smallest "
        "k whose cumulative probability is at least ...', so mind off-by-one errors, and never "
        "let hi exceed n.",
    ),
)
class DroppedCountRange:
    @staticmethod
    def probe(fn, seed, hidden):
        ranges = []
        for n, p_drop, coverage in _range_cases(seed, hidden):
            result = call(fn, n, p_drop, coverage)
            ranges.append(_describe_pair(result))
        observed = {"ranges": ranges, "default": _describe_pair(call(fn, 1024, 0.5))}
        if hidden:
            observed["bad"] = [kit.outcome_of_bad_call(fn, *args) for args in _BAD_RANGE_CALLS]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for (n, p_drop, coverage), seen in zip(
            _range_cases(seed, hidden), observed["ranges"], strict=True
        ):
            _judge_range(n, p_drop, coverage, seen)
        _judge_range(
            1024,
            0.5,
            0.95,
            observed["default"],
            call_text="dropped_count_range(1024, 0.5) (default coverage)",
        )

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"n={n}, p_drop={p}, coverage={c}" for n, p, c in _BAD_RANGE_CALLS],
                "dropped_count_range",
                "p_drop in [0, 1), coverage in (0, 1)",
            )


def _describe_end(end):
    """An end of the range as plain data: an int stays an int, anything else becomes a string."""
    if isinstance(end, numbers.Integral) and not isinstance(end, (bool, np.bool_)):
        return int(end)
    return f"{end!r} ({type(end).__name__})"


def _describe_pair(result):
    """A returned range as plain data: two ends, or a description of what came back."""
    if (isinstance(result, (tuple, list)) and len(result) == 2) or (
        isinstance(result, np.ndarray) and result.shape == (2,)
    ):
        return [_describe_end(end) for end in result]
    try:
        length = f" of length {len(result)}"
    except TypeError:
        length = ""
    return f"a value of type {type(result).__name__}{length}"


def _judge_range(n, p_drop, coverage, seen, call_text=None) -> None:
    call_text = call_text or f"dropped_count_range({n}, {p_drop:.6g}, {coverage:g})"
    if isinstance(seen, str):
        raise CheckFailure(f"{call_text} must return a pair (lo, hi) of integers, got {seen}.")
    not_int = [end for end in seen if isinstance(end, str)]
    if not_int:
        raise CheckFailure(
            f"{call_text} must return two integers, got {not_int[0]}. "
            "scipy's binom.ppf and binom.interval return floats: convert the ends "
            "with int(...)."
        )
    lo, hi = seen
    expected = _reference_range(n, p_drop, coverage)
    if (lo, hi) == expected:
        return
    tail = (1.0 - coverage) / 2.0
    message = f"{call_text} should be {expected}, got ({lo}, {hi})."
    if not 0 <= lo <= hi <= n:
        raise CheckFailure(message + f" The range must satisfy 0 <= lo <= hi <= n = {n}.")
    law = stats.binom(n, p_drop)
    low_tail, high_tail = float(law.cdf(lo - 1)), float(law.sf(hi))
    if p_drop and (lo, hi) == _reference_range(n, 1.0 - p_drop, coverage):
        hint = (
            f" That range sits around n * keep_prob = {n * (1 - p_drop):g}: p_drop and "
            f"keep_prob are swapped (or you counted kept units). The dropped count is "
            f"Binomial(n, p_drop), centred on n * p_drop = {n * p_drop:g}."
        )
    elif coverage > 0.5 and (lo, hi) == _reference_range(n, p_drop, 2 * coverage - 1):
        hint = (
            f" Each tail got 1 - coverage = {1 - coverage:g}: the two tails together may "
            f"hold 1 - coverage, so each gets (1 - coverage) / 2 = {tail:g}."
        )
    elif lo == 0 and expected[0] > 0 and hi == int(law.ppf(coverage)):
        hint = (
            " That is a one-sided range (everything below a quantile). The central range "
            f"leaves at most (1 - coverage) / 2 = {tail:g} in EACH tail."
        )
    elif (lo, hi) in _normal_ranges(n, p_drop, coverage):
        hint = (
            " That is the normal approximation n p_drop +/- z sd. It is off by one or more "
            "at small n or skewed p_drop; use the exact binomial cdf."
        )
    elif max(low_tail, high_tail) > tail + _cdf_margin(n, p_drop):
        too_low = low_tail > tail + _cdf_margin(n, p_drop)
        side, value = ("lower", low_tail) if too_low else ("upper", high_tail)
        end = "lo is too high" if side == "lower" else "hi is too low"
        hint = (
            f" The {side} tail outside it has probability {value:.4g}, more than "
            f"(1 - coverage) / 2 = {tail:.4g}: {end} (an off-by-one, or a range that is "
            "not central)."
        )
    else:
        loose = "lo can be raised" if lo < expected[0] else "hi can be lowered"
        hint = (
            f" Both tails are within (1 - coverage) / 2 = {tail:.4g}, but the range is not "
            f"tight: {loose} and the tail bound still holds (an off-by-one at an end?). "
            "lo is the smallest k with P(K <= k) >= (1 - coverage) / 2, hi the smallest "
            "with P(K <= k) >= (1 + coverage) / 2."
        )
    raise CheckFailure(message + hint)


def _normal_ranges(n, p_drop, coverage) -> set:
    """The normal approximation's range, rounded the three usual ways."""
    low, high = course_stats.binomial_normal_range(n, p_drop, coverage)
    clip = lambda value: int(min(max(value, 0), n))  # noqa: E731
    return {
        (clip(round(low)), clip(round(high))),
        (clip(math.floor(low)), clip(math.ceil(high))),
        (clip(math.ceil(low)), clip(math.floor(high))),
    }


# --- choose_layer_width (a judgement) ---------------------------------------------------------

#: how far above the exact smallest width an answer may lie and still count as "the smallest":
#: the probability is not monotone in n, so the smallest width beyond which every width works is
#: a defensible answer too, and so is reading "within" as strictly inside the band; both lie at
#: most 7.1% above the first width that works in the cases below (at p_drop 0.1, delta 0.05,
#: alpha 1e-3; tests/test_nb02_bernoulli_binomial_exercises.py checks them against the slack)
WIDTH_SLACK = 0.10


def _width_cases(seed: int, hidden: bool) -> list[tuple[float, float, float]]:
    """(p_drop, delta, alpha) of the situations the student's choice is asked for."""
    cases = [(0.5, 0.05, 1e-3), (0.1, 0.05, 1e-3)]
    if hidden:
        cases += [
            (0.2, 0.05, 1e-4),
            (0.05, 0.02, 1e-4),
            (0.8, 0.05, 1e-5),
            (0.3, 0.05, 1e-2),
            (0.5, 0.1, 1e-6),
        ]
        rng = np.random.default_rng([seed, 3])
        for _ in range(2):
            cases.append(
                (
                    float(rng.choice([0.2, 0.25, 0.3, 0.4, 0.5, 0.6])),
                    float(rng.choice([0.03, 0.04, 0.05])),
                    float(10.0 ** rng.uniform(-6, -2)),
                )
            )
    return cases


@exercise(
    "choose_layer_width",
    NOTEBOOK,
    reference="course_lib.analysis.choose_layer_width",
    equivalents=("course_lib.analysis.prob_fraction_within",),
    hints=(
        "For a given width n, the fraction dropped stays in the band exactly when the dropped "
        "count K lies between n (p_drop - delta) and n (p_drop + delta): add up the Binomial "
        "probabilities of those counts, and compare the total with 1 - alpha.",
        "Then try widths one after the other (or a whole array of them at once with "
        "scipy.stats.binom.cdf) and stop at the first that is enough. The probability wobbles "
        "as n grows, so do not assume that a width just above a good one is good too.",
        "A trap the check names: the normal approximation n = z**2 p_drop (1 - p_drop) / delta**2 "
        "is a good first guess, but in the tails the binomial is lopsided and discrete, and the "
        "exact probability at that n can fall short of 1 - alpha.",
    ),
)
class ChooseLayerWidth:
    @staticmethod
    def probe(fn, seed, hidden):
        return {
            "widths": [
                kit.observed(call(fn, p_drop, delta, alpha))
                for p_drop, delta, alpha in _width_cases(seed, hidden)
            ]
        }

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _width_cases(seed, hidden)
        if len(observed["widths"]) != len(cases):
            raise CheckFailure(f"expected {len(cases)} widths, the probe recorded another number.")
        for (p_drop, delta, alpha), seen in zip(cases, observed["widths"], strict=True):
            _judge_width(p_drop, delta, alpha, seen)


def _whole_number(seen) -> int | None:
    if isinstance(seen, np.ndarray) and seen.shape == () and seen.dtype.kind in "iuf":
        value = float(seen)
        if math.isfinite(value) and value == round(value):
            return round(value)
    return None


def _normal_widths(p_drop: float, delta: float, alpha: float) -> dict[int, str]:
    """Widths the normal approximation gives, with how each was obtained."""
    variance = p_drop * (1 - p_drop)
    z = float(stats.norm.ppf(1 - alpha / 2))
    n = z * z * variance / delta**2
    # with a continuity correction: z sqrt(n p q) + 1/2 <= n delta, a quadratic in sqrt(n)
    root = (z * math.sqrt(variance) + math.sqrt(z * z * variance + 2 * delta)) / (2 * delta)
    return {
        math.ceil(n): f"n = z**2 p_drop (1 - p_drop) / delta**2 = {n:.1f}",
        round(n): f"n = z**2 p_drop (1 - p_drop) / delta**2 = {n:.1f}",
        math.ceil(root**2): "n from the normal approximation with a continuity correction",
    }


def _judge_width(p_drop: float, delta: float, alpha: float, seen) -> None:
    call_text = f"choose_layer_width({p_drop:g}, {delta:g}, {alpha:g})"
    n = _whole_number(seen)
    if n is None or n < 1:
        raise CheckFailure(
            f"{call_text} must return a whole number of units >= 1, got "
            f"{seen if isinstance(seen, str) else np.asarray(seen).tolist()}."
        )
    smallest = choose_layer_width(p_drop, delta, alpha)
    outside = 1.0 - float(prob_fraction_within(n, p_drop, delta))
    if outside > alpha:
        normal = _normal_widths(p_drop, delta, alpha).get(n)
        because = (
            f" That is the normal approximation ({normal}): the exact binomial tail says it "
            "falls short; count with the Binomial law itself."
            if normal
            else " Add up the exact Binomial probabilities of the counts inside the band."
        )
        raise CheckFailure(
            f"{call_text} returned {n}, but with {n} units the fraction dropped leaves "
            f"p_drop +- delta with probability {outside:.3g}, more than alpha = {alpha:g} "
            f"(exact Binomial({n}, {p_drop:g}) law).{because}"
        )
    if n > (1 + WIDTH_SLACK) * smallest:
        hoeffding = math.log(2 / alpha) / (2 * delta**2)
        chebyshev = p_drop * (1 - p_drop) / (alpha * delta**2)
        bound = ""
        if n >= 0.9 * min(hoeffding, chebyshev):
            bound = (
                f" Bounds such as Hoeffding's (n >= ln(2/alpha) / (2 delta**2) = {hoeffding:.0f})"
                f" or Chebyshev's (n >= p_drop (1 - p_drop) / (alpha delta**2) = {chebyshev:.0f})"
                " guarantee the band for every n beyond them, but they are loose: the exact law "
                "gets there with far fewer units."
            )
        raise CheckFailure(
            f"{call_text} returned {n}: enough, but not the smallest width. {smallest} units "
            f"already keep the fraction dropped within p_drop +- delta with probability >= "
            f"1 - alpha (answers up to {WIDTH_SLACK:.0%} above the smallest are accepted).{bound}"
        )

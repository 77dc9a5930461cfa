"""Exercises of notebook 07: ``sweep_p_drop``, the student's own dropout-rate sweep, and
``choose_sweep_rate``, a judgement: choosing a dropout rate from a sweep's validation errors.

``choose_sweep_rate`` (below ``sweep_p_drop``'s checks) is judged on the sweeps recorded for the
notebook; its verdict accepts every defensible choice, stated there.

``sweep_p_drop``:

Training is deterministic once the seeds are fixed, so the verdict retrains the same tiny
networks with :func:`course_lib.experiments.sweep_errors` and compares numbers, not
distributions. Tolerance: each test error may differ from the reference by at most
``TOLERANCE_IMAGES`` of the 500 test images. The recipe fixes every random draw, so a correct
solution gives the reference's numbers exactly on the same machine; the slack absorbs float32
rounding differences between BLAS builds and thread counts, which can flip a test image whose two
top logits are nearly tied. Every mistake below moves at least one error by more than that. On
top of the images, the rounding of the fraction itself: a count divided by 500, perhaps as
``1 - accuracy``, in float32 at coarsest (the networks' dtype), is within
``2 gamma(3)`` of the exact fraction, which is at most 1.
"""

from __future__ import annotations

import functools
from itertools import permutations
from pathlib import Path

import numpy as np

import course_lib
from course_lib import experiments
from course_lib.checks import CheckFailure
from course_lib.records import read_record

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "07_capstone"
N_TEST = 500
TOLERANCE_IMAGES = 2
#: roundings of an error rate: the cast of the count, the division, a 1 - accuracy
ERROR_RATE_OPS = 3
TOLERANCE = TOLERANCE_IMAGES / N_TEST + kit.rounding_tolerance(np.float32, ERROR_RATE_OPS)


def _cases(seed: int, hidden: bool) -> list[dict]:
    """Tiny sweeps (well under a second each) whose p_drops are deliberately not sorted and
    never start with 0, so that order, reuse and evaluation mistakes show."""
    cases = [
        dict(
            p_drops=[0.5, 0.0, 0.8],
            seed=seed,
            n_train=200,
            hidden=(32,),
            epochs=15,
            keep_product=False,
        )
    ]
    if hidden:
        # the keep_product case comes last: by then every other mistake has shown in the
        # first two, so a mismatch there is about the widths
        cases += [
            dict(
                p_drops=(0.2, 0.7, 0.0, 0.4),
                seed=seed + 1,
                n_train=150,
                hidden=(24,),
                epochs=10,
                keep_product=False,
            ),
            dict(
                p_drops=[0.3, 0.0, 0.6],
                seed=seed + 2,
                n_train=300,
                hidden=(16, 16),
                epochs=6,
                keep_product=True,
            ),
        ]
    return cases


_BAD_CALLS = [
    dict(p_drops=[0.3, 1.0], keep_product=True),
    dict(p_drops=[-0.1, 0.2], keep_product=False),
]


def _percent(values) -> str:
    return "[" + ", ".join(f"{100 * v:.1f}%" for v in np.ravel(values)) + "]"


def _close(a, b) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.all(np.abs(np.asarray(a) - b) <= TOLERANCE))


@exercise(
    "sweep_p_drop",
    NOTEBOOK,
    reference="course_lib.experiments.sweep_p_drop",
    equivalents=(
        "course_lib.experiments.sweep_errors",
        "course_lib.experiments.run_digits",
        "course_lib.experiments.train_run",
    ),
    parts={BEHAVIOUR: 3, ARGUMENT_CHECKS: 1},
    hints=(
        "One fresh network per rate: everything random (split, initial weights, training) comes "
        "from the seed, anew for every rate, so that rates differ only in p_drop.",
        "For each rate, spawn three seeds from np.random.SeedSequence(seed) and build one "
        "np.random.default_rng per stream inside the loop; then follow the recipe's steps in "
        "order, with float32 data and network.",
        "Common traps: generators created once outside the loop, so each rate gets different "
        "random numbers; the error on the training or validation set instead of the test "
        "set; predicting with training=True (dropout on); widths not rounded to integers "
        "with keep_product.",
    ),
)
class SweepPDrop:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {}
        for i, case in enumerate(_cases(seed, hidden)):
            args = dict(case)
            p_drops = args.pop("p_drops")
            observed[f"case_{i}"] = kit.observed(call(fn, p_drops, **args), sequences=True)
            if i == 0:
                observed["again"] = kit.observed(call(fn, p_drops, **args), sequences=True)
        if hidden:
            observed["bad"] = [
                kit.outcome_of_bad_call(
                    fn,
                    bad["p_drops"],
                    seed=seed,
                    n_train=100,
                    hidden=(8,),
                    epochs=1,
                    keep_product=bad["keep_product"],
                )
                for bad in _BAD_CALLS
            ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for i, case in enumerate(_cases(seed, hidden)):
            if i == 0:
                _judge_shape(observed["case_0"], case)
                _judge_repeat(observed["case_0"], observed["again"], case)
            _judge_case(observed[f"case_{i}"], case)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [
                    f"p_drops={bad['p_drops']}, keep_product={bad['keep_product']}"
                    for bad in _BAD_CALLS
                ],
                "sweep_p_drop",
                "every p_drop must be in [0, 1)",
                advice="Check the rates before training anything.",
            )


def _describe(case: dict) -> str:
    return (
        f"sweep_p_drop({list(case['p_drops'])}, seed={case['seed']}, "
        f"n_train={case['n_train']}, hidden={case['hidden']}, epochs={case['epochs']}, "
        f"keep_product={case['keep_product']})"
    )


def _judge_shape(values, case: dict) -> np.ndarray:
    where = _describe(case)
    if isinstance(values, str):
        raise CheckFailure(
            f"{where} must return one test error per p_drop (a list or array of "
            f"floats), got {values}."
        )
    n = len(case["p_drops"])
    if values.shape != (n,):
        raise CheckFailure(
            f"{where} must return an array of shape ({n},), one test error per "
            f"p_drop in the order given, got shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise CheckFailure(f"{where} returned non-finite values {values}.")
    if np.any(values > 1.0) and np.all(values <= 100.0):
        raise CheckFailure(
            f"{where} returned {values}: errors are fractions in [0, 1] "
            "(0.05 for 5%), not percentages."
        )
    if np.any(values < 0.0) or np.any(values > 1.0):
        raise CheckFailure(
            f"{where} returned {values}: a test error is a fraction of "
            "misclassified test images, in [0, 1]."
        )
    return values


def _judge_repeat(first, again, case: dict) -> None:
    if (
        isinstance(again, str)
        or np.shape(first) != np.shape(again)
        or not np.array_equal(first, again)
    ):
        raise CheckFailure(
            f"two calls of {_describe(case)} gave different errors: {_percent(first)} then "
            f"{_percent(again)}. Every random draw (split, weights, shuffles, masks) must come "
            "from generators built from `seed` (np.random.SeedSequence(seed).spawn(3)), never "
            "from np.random.default_rng() without a seed or from np.random.*."
        )


def _judge_case(values, case: dict) -> None:
    values = _judge_shape(values, case)
    args = dict(case)
    p_drops = list(args.pop("p_drops"))
    expected = experiments.sweep_errors(p_drops, **args)
    test = expected["test"]
    if _close(values, test):
        return
    where = _describe(case)
    seen = f"expected test errors {_percent(test)}, got {_percent(values)}"
    if _close(1.0 - values, test):
        raise CheckFailure(
            f"{where}: {seen}. These are accuracies: return the test error, "
            "1 - accuracy (the fraction of misclassified test images)."
        )
    for order in permutations(range(len(values))):
        if list(order) != sorted(order) and _close(values[list(order)], test):
            raise CheckFailure(
                f"{where}: {seen}. The right numbers in the wrong order: return "
                "the errors in the order of p_drops as given (do not sort them)."
            )
    if _close(values, expected["val"]):
        raise CheckFailure(
            f"{where}: {seen}. Your numbers are the validation errors: measure "
            "on split.X_test, split.y_test."
        )
    if _close(values, expected["train"]):
        raise CheckFailure(
            f"{where}: {seen}. Your numbers are the training errors: measure "
            "on split.X_test, split.y_test."
        )
    if case["keep_product"]:
        unscaled = experiments.sweep_errors(p_drops, **{**args, "keep_product": False})["test"]
        if _close(values, unscaled):
            raise CheckFailure(
                f"{where}: {seen}. With keep_product=True every hidden layer "
                "must have round(n / keep_prob) units; your widths were not "
                "scaled."
            )
        raise CheckFailure(
            f"{where}: {seen}. With keep_product=True each hidden layer has "
            "round(n / keep_prob) units, keep_prob = 1 - p_drop (so that "
            "n_units * keep_prob stays n), e.g. 16 units at p_drop 0.3 -> 23."
        )
    zero = np.array([p == 0.0 for p in p_drops])
    fits = np.abs(values - test) <= TOLERANCE
    if zero.any() and fits[zero].all() and not fits[~zero].any():
        raise CheckFailure(
            f"{where}: {seen}. Only the p_drop = 0 errors are right: dropout is "
            "still on when you measure. Evaluate at inference "
            "(model.predict(X, training=False), the default)."
        )
    if fits[0] and not fits.all():
        raise CheckFailure(
            f"{where}: {seen}. The first p_drop is right but later ones are "
            "not: each p_drop needs a fresh start, a new MLP and new generators "
            "rebuilt from seed, not a model (or a generator) carried over from "
            "the previous p_drop."
        )
    raise CheckFailure(
        f"{where}: {seen}. Follow the recipe exactly: split, init, train = "
        "SeedSequence(seed).spawn(3), one default_rng per stream, rebuilt for "
        "every p_drop; float32 data and model; MLP([64, *widths, 10], p_drop) "
        "(inputs kept whole); train(..., epochs, lr=0.05, batch_size=100, "
        "rng=train generator); test error at inference."
    )


# --- choose_sweep_rate: a rate chosen on the validation set -----------------------------------
#
# The student's function gets a sweep (rates, validation errors and test errors per rate and
# seed) and returns one rate. Defensible: any rate whose validation error is not significantly
# worse than that of the rate with the lowest mean, by the one-sided paired t-test over the seeds
# at the 5% level that notebook 01's choice is judged by too (course_lib.experiments.
# rates_not_worse). The cases are the sweeps recorded for the
# notebook, and rearrangements of them: rates in another order, a subset of the seeds, test
# errors moved to other rates so that the lowest test error belongs to a rate that the
# validation set rules out (a choice made on the test set shows there), and one seed made lucky
# for a rate that is worse on the others (a choice made on one seed shows there). Nothing is random
# beyond the rearrangements, which come from the seed.

RESULTS_FILE = Path(course_lib.__file__).resolve().parent / "lessons" / "nb07_capstone_results.json"
SWEEPS = ("p_drop_fixed_n", "p_drop_fixed_product")
MIN_SEEDS = 6  # a subset of seeds keeps at least this many
N_VAL = 297  # validation images of every recorded run
RATE_TOLERANCE = 1e-6


@functools.cache
def _recorded_results() -> dict:
    return read_record(RESULTS_FILE)


def recorded_sweep(experiment: str) -> dict:
    """One recorded sweep over p_drop: ``p_drops`` (R,), ``val`` and ``test`` (R, S), new
    arrays at every call.

    A run's validation error is the mean over its last ``smoothing`` epochs (one epoch's is
    noisy: one validation image is 0.34 pp), as the notebook reads it.
    """
    results = _recorded_results()
    last = results["settings"]["smoothing"]
    rates, val, test = [], [], []
    for label, key in results["experiments"][experiment].items():
        runs = results["runs"][key]
        rates.append(float(label))
        val.append([experiments.run_val_error(run, last) for run in runs])
        test.append([run["test_error"] for run in runs])
    return {"p_drops": np.array(rates), "val": np.array(val), "test": np.array(test)}


def _misleading_test(case: dict) -> dict:
    """The same sweep with the test errors' rows swapped so that the lowest mean test error
    belongs to the rate with the highest mean validation error."""
    test = case["test"].copy()
    worst_val = int(np.argmax(case["val"].mean(axis=1)))
    best_test = int(np.argmin(test.mean(axis=1)))
    test[[worst_val, best_test]] = test[[best_test, worst_val]]
    return {**case, "test": test}


def _lucky_seed(case: dict) -> dict:
    """The same sweep with one seed made lucky for the rate of the highest mean validation
    error: on the seed where the lowest-mean rate does best, that rate's validation error is set
    one validation image (1/297) below the lowest of the whole sweep. It then has the single
    lowest validation error, and is still significantly worse on the other seeds."""
    val = case["val"].copy()
    worst, best = int(np.argmax(val.mean(axis=1))), int(np.argmin(val.mean(axis=1)))
    column = int(np.argmin(val[best]))
    val[worst, column] = val.min() - 1.0 / N_VAL
    return {**case, "val": val}


def _rearranged(case: dict, seed: int, key: int) -> dict:
    """The sweep with its rates in a seeded order and a seeded subset of its seeds."""
    rng = np.random.default_rng([seed, key])
    order = rng.permutation(len(case["p_drops"]))
    n_seeds = case["val"].shape[1]
    columns = (
        np.sort(rng.choice(n_seeds, size=max(MIN_SEEDS, n_seeds - 3), replace=False))
        if n_seeds > MIN_SEEDS
        else np.arange(n_seeds)
    )
    return {
        "p_drops": case["p_drops"][order],
        "val": case["val"][np.ix_(order, columns)],
        "test": case["test"][np.ix_(order, columns)],
    }


def choice_cases(seed: int, hidden: bool) -> dict[str, dict]:
    """The sweeps ``choose_sweep_rate`` is called on, by name."""
    fixed_n = recorded_sweep(SWEEPS[0])
    cases = {"fixed n": fixed_n, "fixed n, test errors moved": _misleading_test(fixed_n)}
    if hidden:
        product = recorded_sweep(SWEEPS[1])
        cases["fixed n * keep_prob"] = product
        cases["fixed n * keep_prob, rates reordered, fewer seeds"] = _rearranged(product, seed, 1)
        cases["fixed n, rates reordered, fewer seeds, test errors moved"] = _misleading_test(
            _rearranged(fixed_n, seed, 2)
        )
        cases["fixed n, one lucky seed"] = _lucky_seed(fixed_n)
    return cases


@exercise(
    "choose_sweep_rate",
    NOTEBOOK,
    reference="course_lib.experiments.choose_sweep_rate",
    equivalents=(
        "course_lib.experiments.rates_not_worse",
        "course_lib.experiments.against_lowest",
        "course_lib.experiments.lowest_mean",
        "course_lib.experiments.choose_p_drop",
    ),
    hints=(
        "A rate is chosen on data that played no part in judging it afterwards: here, the "
        "validation errors. The test errors are read once, for the rate you chose.",
        "Summarize each rate over its seeds first (a row of val_errors), then decide which "
        "rates are as good as the best one within the noise: the seeds are paired, so compare "
        "each rate with the best seed by seed (course_lib.stats.paired_comparison; the question "
        "is one-sided, is this rate worse?, so read its p_greater).",
        "Return the rate itself (an element of p_drops), not its position, and do not assume "
        "that p_drops is sorted: the check also passes the rates in another order.",
    ),
)
class ChoosePDrop:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {}
        for name, case in choice_cases(seed, hidden).items():
            choice = call(fn, list(case["p_drops"]), case["val"].copy(), case["test"].copy())
            observed[name] = kit.observed(choice)
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for name, case in choice_cases(seed, hidden).items():
            _judge_choice(observed[name], case, name)


def _rate(value: float) -> str:
    return f"{value:g}"


def _judge_choice(value, case: dict, name: str) -> None:
    p_drops, val, test = case["p_drops"], case["val"], case["test"]
    where = (
        f"choose_sweep_rate on the sweep '{name}' (rates {[_rate(p) for p in p_drops]}, "
        f"{val.shape[1]} seeds)"
    )
    if isinstance(value, str) or np.ndim(value) != 0:
        shown = value if isinstance(value, str) else f"an array of shape {np.shape(value)}"
        raise CheckFailure(f"{where} must return one rate (a float), got {shown}.")
    choice = float(value)
    # rates are multiples of 0.1: a rate returned in float32 is still that rate
    matches = np.flatnonzero(np.abs(p_drops - choice) <= RATE_TOLERANCE)
    if matches.size == 0:
        if choice == int(choice) and 0 <= int(choice) < len(p_drops):
            raise CheckFailure(
                f"{where} returned {choice:g}, which is not one of the rates: return the rate "
                f"itself (p_drops[{int(choice)}] = {_rate(p_drops[int(choice)])}), not its "
                "position in p_drops."
            )
        raise CheckFailure(
            f"{where} returned {choice:g}: the choice must be one of the rates of p_drops."
        )
    chosen = int(matches[0])
    defensible = experiments.rates_not_worse(val)
    if defensible[chosen]:
        return
    best, comparisons = experiments.against_lowest(val)
    worse = comparisons[chosen]
    against = (
        f"its validation error is higher than that of p_drop = {_rate(p_drops[best])} (the "
        f"lowest mean, {100 * val[best].mean():.2f}%) by {100 * worse.mean:.2f} pp on average "
        f"over the seeds, a one-sided paired t-test gives p = {worse.p_greater:.2g} < "
        f"{experiments.SIGNIFICANCE:g} (df = {worse.df})"
    )
    accepted = ", ".join(_rate(p) for p in p_drops[defensible])
    if chosen == int(np.argmin(test.mean(axis=1))):
        raise CheckFailure(
            f"{where} chose p_drop = {_rate(p_drops[chosen])}, the rate with the lowest test "
            f"error, but {against}. That is a choice made on the test set: choose from "
            "val_errors, and only then read the chosen rate's test error. (Rates the "
            f"validation set cannot tell apart from the best here: {accepted}.)"
        )
    single = [s for s in range(val.shape[1]) if int(np.argmin(val[:, s])) == chosen]
    if single and chosen != best:
        raise CheckFailure(
            f"{where} chose p_drop = {_rate(p_drops[chosen])}, the best rate of seed column "
            f"{single[0]} alone, but {against}. Use every seed: one seed's validation error "
            f"is noisy. (Defensible here: {accepted}.)"
        )
    raise CheckFailure(
        f"{where} chose p_drop = {_rate(p_drops[chosen])}, but {against}: the validation set "
        f"says it is worse. {experiments.NOT_WORSE_RULE} (Here: {accepted}.)"
    )

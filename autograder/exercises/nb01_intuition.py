"""Exercises of notebook 01: ``count_parameters``, ``count_subnetworks`` and ``choose_p_drop``.

All three are deterministic, so every verdict is exact. ``choose_p_drop`` is a judgement: the
student's rule picks a dropout rate from recorded errors, and every rate that is not significantly
worse than the best on validation is accepted. The probes record what the student's function
returned (its type as well as its value, since a float or a NumPy integer is the mistake that
``count_subnetworks`` is about) and which exception each invalid argument raised.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from course_lib.checks import CheckFailure
from course_lib.experiments import NOT_WORSE_RULE, against_lowest, errors_table, rates_not_worse

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "01_intuition"
EXAMPLE = [3, 7, 7, 3, 2, 1]


def _describe(value) -> dict:
    """Plain data about one returned value: its type name and the value itself if numeric."""
    kind = type(value).__name__
    if isinstance(value, (bool, np.bool_)):
        return {"type": kind, "value": repr(value)}
    if isinstance(value, numbers.Integral):
        return {"type": kind, "value": int(value)}
    if isinstance(value, numbers.Real):
        return {"type": kind, "value": float(value)}
    return {"type": kind, "value": repr(value)[:200]}


def _is_int(described: dict) -> bool:
    return described["type"] == "int"


# --- count_parameters -------------------------------------------------------------------------


def _random_sizes(seed: int, index: int, n_layers=(2, 8), largest: int = 60) -> list[int]:
    rng = np.random.default_rng([seed, index])
    n = int(rng.integers(*n_layers))
    return [int(size) for size in rng.integers(1, largest, size=n)]


def _parameter_cases(seed: int, hidden: bool) -> list[list[int]]:
    cases = [EXAMPLE, _random_sizes(seed, 0, n_layers=(4, 7))]
    if hidden:
        cases += [_random_sizes(seed, k) for k in range(1, 9)]
        cases += [[784, 1024, 1024, 10], [5, 1], [1, 1, 1], [64, 256, 256, 10]]
    return cases


_BAD_SIZES = ([5], [], [3, 0, 2], [4, -1, 3])


def _expected_parameters(sizes) -> tuple[int, int]:
    return (sum(a * b for a, b in itertools.pairwise(sizes)), sum(sizes[1:]))


def _weights_hint(sizes, weights) -> str:
    right_w, right_b = _expected_parameters(sizes)
    products = [a * b for a, b in itertools.pairwise(sizes)]
    if weights == right_w + right_b:
        return "That is weights + biases: the biases are counted in the second number only."
    if len(products) > 1 and weights == right_w - products[-1]:
        return (
            "The last weight matrix is missing (off by one: layer i connects to i + 1 for "
            "i = 0 .. len(layer_sizes) - 2)."
        )
    if len(products) > 1 and weights == right_w - products[0]:
        return "The first weight matrix (input to first layer) is missing (off by one)."
    if weights == sum(size * size for size in sizes):
        return "Each matrix has fan_in * fan_out entries, not size ** 2."
    if weights == sum(sizes):
        return "That is the number of units; weights connect consecutive layers."
    return "Layer i to layer i + 1 has layer_sizes[i] * layer_sizes[i + 1] weights."


def _biases_hint(sizes, biases) -> str:
    right_w, _ = _expected_parameters(sizes)
    if biases == 0:
        return "Did you forget the biases? Every unit after the input has one."
    if biases == sum(sizes):
        return "The input layer has no biases: only layer_sizes[1:] have one per unit."
    if biases == sum(sizes[:-1]):
        return (
            "That counts the input layer and misses the output layer (off by one): the "
            "biases belong to layer_sizes[1:]."
        )
    if biases == sum(sizes[1:-1]):
        return "The output layer's units have biases too."
    if biases == right_w:
        return "That is the number of weights."
    return "There is one bias per unit of every layer except the input."


@exercise(
    "count_parameters",
    NOTEBOOK,
    reference="course_lib.analysis.count_parameters",
    parts={BEHAVIOUR: 1.5, ARGUMENT_CHECKS: 0.5},
    hints=(
        "Go layer by layer: each pair of neighbouring layers contributes one weight matrix, "
        "and every layer after the input contributes its biases.",
        "zip(layer_sizes[:-1], layer_sizes[1:]) walks through the pairs of neighbouring layers; "
        "a matrix between a layer of a units and one of b units has a * b entries.",
        "The input layer has no biases, and the output layer has no outgoing weights. Refuse "
        "fewer than two layers, and a layer with fewer than one unit, with ValueError.",
    ),
)
class CountParameters:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {"results": []}
        for sizes in _parameter_cases(seed, hidden):
            result = call(fn, list(sizes))
            if isinstance(result, (tuple, list)):
                observed["results"].append(
                    {
                        "container": type(result).__name__,
                        "items": [_describe(item) for item in result],
                    }
                )
            else:
                observed["results"].append({"container": "none", "items": [_describe(result)]})
        if hidden:
            observed["bad"] = [kit.outcome_of_bad_call(fn, list(sizes)) for sizes in _BAD_SIZES]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for sizes, result in zip(_parameter_cases(seed, hidden), observed["results"], strict=True):
            right_w, right_b = _expected_parameters(sizes)
            items = result["items"]
            if result["container"] == "none" or len(items) != 2:
                shown = (
                    items[0]["value"]
                    if result["container"] == "none"
                    else [item["value"] for item in items]
                )
                hint = (
                    " That is the total; return the two counts separately."
                    if shown == right_w + right_b
                    else ""
                )
                raise CheckFailure(
                    f"count_parameters({sizes}) must return a tuple "
                    f"(n_weights, n_biases) = ({right_w}, {right_b}), got "
                    f"{shown!r}.{hint}"
                )
            weights, biases = items
            for name, item in (("n_weights", weights), ("n_biases", biases)):
                if item["type"] in ("bool", "bool_") or not isinstance(item["value"], int):
                    raise CheckFailure(
                        f"count_parameters({sizes}): {name} must be an integer, "
                        f"got {item['type']} {item['value']!r}."
                    )
            got = (weights["value"], biases["value"])
            if got == (right_w, right_b):
                continue
            message = f"count_parameters({sizes}) should be ({right_w}, {right_b}), got {got}."
            if got == (right_b, right_w):
                raise CheckFailure(
                    f"{message} The two numbers are swapped: weights first, then biases."
                )
            if got[0] != right_w:
                raise CheckFailure(f"{message} Weights: {_weights_hint(sizes, got[0])}")
            raise CheckFailure(f"{message} Biases: {_biases_hint(sizes, got[1])}")

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"layer_sizes={sizes}" for sizes in _BAD_SIZES],
                "count_parameters",
                "at least 2 layers, each with at least 1 unit",
            )


# --- count_subnetworks ------------------------------------------------------------------------


def _random_rates(seed: int, index: int, n_sites: int) -> list[float]:
    rng = np.random.default_rng([seed, index, 1])
    rates = rng.choice([0.0, 0.0, 0.1, 0.2, 0.3, 0.5, 0.8], size=n_sites)
    return [float(rate) for rate in rates]


def _subnetwork_cases(seed: int, hidden: bool) -> list[tuple[list[int], float | list[float]]]:
    cases = [
        (EXAMPLE, [0.0, 0.5, 0.3, 0.0, 0.0]),
        ([784, 1024, 10], 0.5),
        ([784, 1024, 10], [0.2, 0.5]),
    ]
    if hidden:
        for k in range(8):
            sizes = _random_sizes(seed, 100 + k, n_layers=(3, 7))
            cases.append((sizes, _random_rates(seed, k, len(sizes) - 1)))
        for k in range(4):
            sizes = _random_sizes(seed, 200 + k, n_layers=(3, 7))
            cases.append((sizes, [0.1, 0.2, 0.3, 0.5][k]))
        cases += [
            ([64, 256, 256, 10], 0.5),
            ([64, 256, 256, 10], [0.2, 0.5, 0.5]),
            ([784, 1024, 1024, 1024, 10], 0.5),
            ([5, 3], 0.5),  # no hidden layer: a single rate drops nothing
            ([5, 3], [0.2]),  # the input is the only dropout site
            ([6, 4, 2], 0.0),
            ([6, 4, 2], [0.0, 0.0]),
        ]
    return cases


_BAD_SUBNETWORKS: tuple[tuple[list[int], float | list[float]], ...] = (
    ([5], 0.5),  # fewer than 2 layers
    ([3, 0, 2], 0.5),  # a layer with no unit
    ([3, 4, 2], [0.5]),  # one rate for two dropout sites
    ([3, 4, 2], [0.0, 0.5, 0.5]),  # a rate for the output too
    ([3, 4, 2], [0.0, 1.0]),  # p_drop must be < 1
    ([3, 4, 2], 1.2),
)


def _rates_of(sizes, p_drop) -> list[float]:
    if isinstance(p_drop, float):
        return [0.0] + [p_drop] * (len(sizes) - 2)
    return list(p_drop)


def _droppable(sizes, p_drop) -> int:
    return sum(size for size, rate in zip(sizes[:-1], _rates_of(sizes, p_drop)) if rate > 0)


def _subnetwork_hint(sizes, p_drop, exponent: int | None, value) -> str:
    n = _droppable(sizes, p_drop)
    rates = _rates_of(sizes, p_drop)
    scalar = isinstance(p_drop, float)
    if value == n and n != 2**n:
        return "That is the number of droppable units n; the count of subnetworks is 2 ** n."
    if exponent is None:
        return "The answer is 2 ** (number of droppable units)."
    candidates = []
    if scalar and p_drop > 0:
        candidates += [
            (
                sum(sizes[:-1]),
                "A single p_drop applies to every hidden layer only: the input "
                "layer is kept whole (as in course_lib.nn.MLP).",
            ),
            (
                sum(sizes),
                "A single p_drop applies to the hidden layers only: neither the input "
                "nor the output layer is dropped.",
            ),
            (
                sum(sizes[1:]),
                "The output layer is never dropped: a single p_drop applies to the "
                "hidden layers only.",
            ),
        ]
    candidates += [
        (n + sizes[-1], "The output units are never dropped: do not count them."),
        (
            sum(sizes[:-1]),
            "Layers with p_drop = 0 are never dropped: count only the units of "
            "sites whose rate is > 0.",
        ),
        (
            sum(size for size, rate in zip(sizes[1:], rates) if rate > 0),
            "The rates are shifted by one layer: rate i belongs to layer i (0 = the input), "
            "which feeds weight matrix i.",
        ),
        (sum(rate > 0 for rate in rates), "Count droppable units, not droppable layers."),
    ]
    for wrong, hint in candidates:
        if exponent == wrong and wrong != n:
            return hint
    return "The exponent is the number of units in the input and hidden layers whose p_drop is > 0."


@exercise(
    "count_subnetworks",
    NOTEBOOK,
    reference="course_lib.analysis.count_subnetworks",
    parts={BEHAVIOUR: 2, ARGUMENT_CHECKS: 1},
    hints=(
        "A mask keeps or drops every droppable unit independently: each unit doubles the number "
        "of possible masks. Count the droppable units first.",
        "Give every dropout site its rate first: a list has one per site (the input layer and each "
        "hidden layer); a single float applies to the hidden layers and leaves the input whole. "
        "A unit is droppable when its layer's rate is above 0; the output layer never is.",
        "The count is huge: compute it with Python integers, which are exact at any size. A "
        "float rounds, and a NumPy integer overflows beyond 2**63. Refuse a list of the wrong "
        "length and rates outside [0, 1) with ValueError.",
    ),
)
class CountSubnetworks:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {"results": []}
        for sizes, p_drop in _subnetwork_cases(seed, hidden):
            rates = list(p_drop) if isinstance(p_drop, list) else p_drop
            result = kit.attempt(fn, list(sizes), rates)
            observed["results"].append(result if kit.failure_of(result) else _describe(result))
        if hidden:
            observed["bad"] = [
                kit.outcome_of_bad_call(
                    fn, list(sizes), list(p_drop) if isinstance(p_drop, list) else p_drop
                )
                for sizes, p_drop in _BAD_SUBNETWORKS
            ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for (sizes, p_drop), result in zip(
            _subnetwork_cases(seed, hidden), observed["results"], strict=True
        ):
            n = _droppable(sizes, p_drop)
            expected = 2**n
            where = f"count_subnetworks({sizes}, {p_drop})"
            failure = kit.failure_of(result)
            if failure and "raised OverflowError" in failure:
                raise CheckFailure(
                    f"{failure} Hint: {where} is 2 ** {n}; a float "
                    "(2.0 ** n, math.pow) overflows past 2 ** 1023, while "
                    "Python's integer 2 ** n is exact at any size."
                )
            if failure:
                raise CheckFailure(failure)
            value = result["value"]
            if result["type"] == "float":
                raise CheckFailure(
                    f"{where} must return an exact Python int, got the float "
                    f"{value!r}. Use the integer power 2 ** n: a float is "
                    "inexact past 2 ** 53 and overflows past 2 ** 1023."
                )
            if not _is_int(result):
                extra = ""
                if isinstance(value, int):
                    extra = (
                        " NumPy integers have 64 bits and overflow silently past 2 ** 63: "
                        "compute n as a Python int (sum(...), or int(np.sum(...))) and "
                        "return 2 ** n."
                    )
                raise CheckFailure(
                    f"{where} must return a Python int, got {result['type']} {value!r}.{extra}"
                )
            if value == expected:
                continue
            exponent = value.bit_length() - 1 if value > 0 and value & (value - 1) == 0 else None
            shown = f"2 ** {exponent}" if exponent is not None else f"{value}"
            raise CheckFailure(
                f"{where} should be 2 ** {n}, got {shown}. "
                f"{_subnetwork_hint(sizes, p_drop, exponent, value)}"
            )

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"layer_sizes={sizes}, p_drop={p_drop}" for sizes, p_drop in _BAD_SUBNETWORKS],
                "count_subnetworks",
                "at least 2 layers of at least 1 unit; p_drop one float "
                "in [0, 1) or a list of len(layer_sizes) - 1 of them",
                advice="zip silently drops extra or missing rates: check the length.",
            )


# --- choose_p_drop ------------------------------------------------------------------------------
# Tables of final errors over seeds, built so that every rate is either tied with the best on
# validation (the same mean: its paired one-sided p-value is about 0.5) or clearly worse (an
# offset of at least 1.5 points against a noise of 0.4 points per seed: p-values below 0.01).
# Nothing sits near the significance level, so any sensible reading of "not significantly worse"
# gives the same set of defensible rates as the verdict's paired t-test.

_CHOICE_KINDS = ("tied", "test_trap", "lucky_seed", "none_best", "tied", "test_trap")


def _choice_case(seed: int, index: int, kind: str) -> tuple[dict, dict]:
    """``(val_errors, test_errors)``: {p_drop: [error per seed]} of one case (fractions)."""
    rng = np.random.default_rng([seed, index, 7])
    n_seeds = int(rng.choice([8, 10, 12]))
    rates = [0.0, 0.2, 0.5, 0.8] if index % 2 == 0 else [0.0, 0.1, 0.3, 0.5, 0.7]
    base = {split: rng.uniform(0.03, 0.07, size=n_seeds) for split in ("val", "test")}
    if kind == "none_best":
        tied = [0.0]
    elif kind == "tied":
        tied = [rates[1], rates[2]] if index % 4 == 0 else [rates[1], rates[2], rates[3]]
    else:
        tied = [rates[int(rng.integers(1, len(rates) - 1))]]
    errors = {"val": {}, "test": {}}
    for rate in rates:
        for split in ("val", "test"):
            noise = rng.normal(0.0, 0.004, size=n_seeds)
            noise -= noise.mean()  # tied rates share the best mean exactly
            offset = 0.0 if rate in tied else float(rng.uniform(0.015, 0.04))
            errors[split][rate] = base[split] + offset + noise
    if kind == "test_trap":  # a rate clearly worse on validation is the best on test
        trap = next(rate for rate in rates[::-1] if rate not in tied)
        # lower than the trap's validation offset (< 0.04) can make up for: a rule that adds
        # the validation and test errors is caught too
        errors["test"][trap] = base["test"] - 0.045 + rng.normal(0.0, 0.002, size=n_seeds)
    if kind == "lucky_seed":  # the single lowest validation error belongs to a worse rate
        lucky, luckiest = rates[-1], int(np.argmin(base["val"]))
        errors["val"][lucky] = errors["val"][lucky] + 0.015  # clearly worse on the other seeds
        errors["val"][lucky][luckiest] = min(float(e.min()) for e in errors["val"].values()) - 0.002
    val, test = (
        {rate: [float(value) for value in errors[split][rate]] for rate in rates}
        for split in ("val", "test")
    )
    return val, test


def _choice_cases(seed: int, hidden: bool) -> list[tuple[str, dict, dict]]:
    kinds = _CHOICE_KINDS if hidden else _CHOICE_KINDS[:3]
    return [(kind, *_choice_case(seed, index, kind)) for index, kind in enumerate(kinds)]


def defensible_rates(val_errors: dict) -> tuple[float, list[float], dict]:
    """The best rate on validation (lowest mean over seeds), every rate not significantly worse
    than it (:func:`course_lib.experiments.rates_not_worse`, the rule notebooks 01 and 07
    share), and each rate's paired comparison with it."""
    rates, table = errors_table(val_errors)
    best, comparisons = against_lowest(table)
    accepted = [rate for rate, ok in zip(rates, rates_not_worse(table)) if ok]
    return rates[best], accepted, dict(zip(rates, comparisons))


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


@exercise(
    "choose_p_drop",
    NOTEBOOK,
    reference="course_lib.experiments.choose_p_drop",
    equivalents=(
        "course_lib.experiments.rates_not_worse",
        "course_lib.experiments.against_lowest",
        "course_lib.experiments.lowest_mean",
    ),
    hints=(
        "Only one of the two tables may decide. The other one is there to report, once, how "
        "the network you chose does on images that played no part in any decision.",
        "A single seed can be lucky: judge each rate by all of its seeds. Every rate was trained "
        "with the same seeds, so two rates can be compared seed by seed.",
        "Several rates may be within noise of each other, and any of them is a defensible "
        "choice; the rule should never pick one whose errors are higher than another's on "
        "almost every seed (the check rules a rate out when a one-sided paired t-test against "
        "the best says it is worse, p < 0.05). Return the rate itself, one of the keys.",
    ),
)
class ChooseDropRate:
    @staticmethod
    def probe(fn, seed, hidden):
        results = []
        for _kind, val, test in _choice_cases(seed, hidden):
            # fresh copies: a rule that edits its arguments cannot change the next case
            val_copy = {rate: list(errors) for rate, errors in val.items()}
            test_copy = {rate: list(errors) for rate, errors in test.items()}
            result = kit.attempt(fn, val_copy, test_copy)
            results.append(result if kit.failure_of(result) else _describe(result))
        return {"results": results}

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _choice_cases(seed, hidden)
        for (_kind, val, test), result in zip(cases, observed["results"], strict=True):
            failure = kit.failure_of(result)
            if failure:
                raise CheckFailure(failure)
            rates = list(val)
            value = result["value"]
            if result["type"] in ("bool", "bool_") or not isinstance(value, (int, float)):
                raise CheckFailure(
                    f"choose_p_drop must return one of the rates tried, {rates}, got "
                    f"{result['type']} {value!r}."
                )
            if value not in rates:
                extra = ""
                if isinstance(value, int) and 0 <= value < len(rates) and value not in rates:
                    extra = (
                        f" {value} looks like a position in the list; return the rate itself "
                        f"(here rates[{value}] = {rates[value]:g})."
                    )
                raise CheckFailure(
                    f"choose_p_drop must return one of the rates tried, {rates}, got "
                    f"{value!r}.{extra}"
                )
            best, accepted, tests = defensible_rates(val)
            if value in accepted:
                continue
            chosen = rates[rates.index(value)]
            against = tests[chosen]
            n_seeds = len(val[best])
            evidence = (
                f"on validation p_drop = {chosen:g} has a mean error of "
                f"{_pct(np.mean(val[chosen]))} against {_pct(np.mean(val[best]))} at "
                f"p_drop = {best:g}, higher by {100 * against.mean:.2f} points on average "
                f"over the {n_seeds} seeds (paired t-test, {against.df} degrees of freedom, "
                f"one-sided p = {against.p_greater:.1g}): significantly worse"
            )
            test_means = {rate: float(np.mean(errors)) for rate, errors in test.items()}
            lowest_single = min(rates, key=lambda rate: min(val[rate]))
            if chosen == min(test_means, key=test_means.__getitem__):
                raise CheckFailure(
                    f"choose_p_drop chose p_drop = {chosen:g}, the best on the test errors, but "
                    f"{evidence}. A rate chosen on the test set makes its test error an "
                    "optimistic estimate: decide on the validation errors, and read the test "
                    "errors once, for the rate you chose."
                )
            if chosen == lowest_single:
                raise CheckFailure(
                    f"choose_p_drop chose p_drop = {chosen:g}, which has the single lowest "
                    f"validation error (one lucky seed), but {evidence}. Judge a rate by all "
                    "its seeds."
                )
            raise CheckFailure(
                f"choose_p_drop chose p_drop = {chosen:g}, but {evidence}. {NOT_WORSE_RULE} "
                f"Defensible choices here: {', '.join(f'{rate:g}' for rate in accepted)}."
            )

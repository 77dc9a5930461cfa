"""Notebook 01's graded exercises: each realistic mistake fails its exercise's checks with a
message naming it; correct solutions written differently pass under 20 seeds."""

import itertools
import math

import numpy as np
import pytest

from autograder.exercises import run
from course_lib import experiments
from course_lib.checks import CheckFailure
from parts_helpers import assert_scored_in_parts

SEEDS = range(20)


# --- count_parameters -------------------------------------------------------------------------


def _check_sizes(layer_sizes):
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError(f"layer_sizes must list >= 2 layers of >= 1 unit, got {layer_sizes}")


def parameters_with_zip(layer_sizes):
    _check_sizes(layer_sizes)
    weights = sum(fan_in * fan_out for fan_in, fan_out in itertools.pairwise(layer_sizes))
    return weights, sum(layer_sizes[1:])


def parameters_with_numpy(layer_sizes):
    sizes = np.asarray(layer_sizes)
    if sizes.size < 2:
        raise ValueError("need an input and an output layer")
    if np.any(sizes < 1):
        raise ValueError("every layer needs at least one unit")
    return int(np.dot(sizes[:-1], sizes[1:])), int(sizes[1:].sum())


def parameters_with_a_loop(layer_sizes):
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes: at least 2 layers")
    n_weights = n_biases = 0
    for i in range(1, len(layer_sizes)):
        if layer_sizes[i] < 1 or layer_sizes[i - 1] < 1:
            raise ValueError("layer_sizes: sizes must be >= 1")
        n_weights += layer_sizes[i - 1] * layer_sizes[i]
        n_biases += layer_sizes[i]
    return (n_weights, n_biases)


@pytest.mark.parametrize("fn", [parameters_with_zip, parameters_with_numpy, parameters_with_a_loop])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_count_parameters_passes(fn, seed):
    run("count_parameters", fn, seed=seed, hidden=True)


def _parameters_mistake(weights=None, biases=None, validate=True, output=None):
    def count_parameters(layer_sizes):
        if validate:
            _check_sizes(layer_sizes)
        w = sum(a * b for a, b in itertools.pairwise(layer_sizes))
        b = sum(layer_sizes[1:])
        w = weights(layer_sizes, w, b) if weights else w
        b = biases(layer_sizes, w, b) if biases else b
        return output(w, b) if output else (w, b)

    return count_parameters


PARAMETER_MISTAKES = {
    "biases forgotten": (_parameters_mistake(biases=lambda s, w, b: 0), "forget the biases"),
    "biases counted as weights": (
        _parameters_mistake(weights=lambda s, w, b: w + b),
        "weights \\+ biases",
    ),
    "input layer's biases": (
        _parameters_mistake(biases=lambda s, w, b: sum(s)),
        "input layer has no biases",
    ),
    "biases of the input, not the output": (
        _parameters_mistake(biases=lambda s, w, b: sum(s[:-1])),
        "off by one",
    ),
    "output biases forgotten": (
        _parameters_mistake(biases=lambda s, w, b: sum(s[1:-1])),
        "output layer's units have biases",
    ),
    "last matrix missed": (
        _parameters_mistake(
            weights=lambda s, w, b: sum(s[i] * s[i + 1] for i in range(len(s) - 2))
        ),
        "last weight matrix is missing",
    ),
    "first matrix missed": (
        _parameters_mistake(
            weights=lambda s, w, b: sum(s[i] * s[i + 1] for i in range(1, len(s) - 1))
        ),
        "first weight matrix",
    ),
    "swapped": (_parameters_mistake(output=lambda w, b: (b, w)), "swapped"),
    "total only": (_parameters_mistake(output=lambda w, b: w + b), "That is the total"),
    "floats": (_parameters_mistake(output=lambda w, b: (float(w), float(b))), "must be an integer"),
    "no ValueError": (_parameters_mistake(validate=False), "must raise ValueError"),
}


@pytest.mark.parametrize("mistake", PARAMETER_MISTAKES)
def test_each_count_parameters_mistake_fails_with_its_message(mistake):
    fn, message = PARAMETER_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("count_parameters", fn, seed=0, hidden=True)


def test_the_visible_self_check_catches_the_common_mistakes():
    for mistake in (
        "biases forgotten",
        "biases counted as weights",
        "input layer's biases",
        "swapped",
        "total only",
    ):
        fn, message = PARAMETER_MISTAKES[mistake]
        with pytest.raises(CheckFailure, match=message):
            run("count_parameters", fn, seed=2026, hidden=False)


def test_unimplemented_count_parameters_says_so():
    def count_parameters(layer_sizes):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("count_parameters", count_parameters, seed=0, hidden=False)


def test_a_crash_in_count_parameters_is_reported_with_its_line():
    def count_parameters(layer_sizes):
        return sum(layer_sizes[i] * layer_sizes[i + 1] for i in range(len(layer_sizes))), 0

    with pytest.raises(CheckFailure, match="raised IndexError"):
        run("count_parameters", count_parameters, seed=0, hidden=False)


# --- count_subnetworks ------------------------------------------------------------------------


def _site_rates(layer_sizes, p_drop):
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError(f"layer_sizes must list >= 2 layers of >= 1 unit, got {layer_sizes}")
    if isinstance(p_drop, (int, float)):
        rates = [0.0] + [p_drop] * (len(layer_sizes) - 2)
    else:
        rates = list(p_drop)
        if len(rates) != len(layer_sizes) - 1:
            raise ValueError(f"p_drop needs {len(layer_sizes) - 1} rates, got {len(rates)}")
    if not all(0 <= rate < 1 for rate in rates):
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    return rates


def subnetworks_by_sum(layer_sizes, p_drop):
    rates = _site_rates(layer_sizes, p_drop)
    return 2 ** sum(size for size, rate in zip(layer_sizes, rates) if rate > 0)


def subnetworks_by_product(layer_sizes, p_drop):
    rates = _site_rates(layer_sizes, p_drop)
    count = 1
    for size, rate in zip(layer_sizes[:-1], rates):
        if rate:
            count *= 1 << size  # each layer multiplies the count by 2 ** size
    return count


def subnetworks_with_numpy_then_int(layer_sizes, p_drop):
    rates = np.asarray(_site_rates(layer_sizes, p_drop))
    sizes = np.asarray(layer_sizes[:-1])
    return 2 ** int(sizes[rates > 0].sum())


@pytest.mark.parametrize(
    "fn", [subnetworks_by_sum, subnetworks_by_product, subnetworks_with_numpy_then_int]
)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_count_subnetworks_passes(fn, seed):
    run("count_subnetworks", fn, seed=seed, hidden=True)


def _subnetworks_mistake(units=None, result=None, rates_of=None):
    """A wrong count: ``units(sizes, rates)`` droppable units, ``result(n)`` returned."""

    def count_subnetworks(layer_sizes, p_drop):
        rates = (rates_of or _site_rates)(layer_sizes, p_drop)
        n = (
            units(layer_sizes, rates)
            if units
            else sum(size for size, rate in zip(layer_sizes, rates) if rate > 0)
        )
        return result(n) if result else 2**n

    return count_subnetworks


def _scalar_everywhere(layer_sizes, p_drop):
    if isinstance(p_drop, float):
        return [p_drop] * (len(layer_sizes) - 1)
    return _site_rates(layer_sizes, p_drop)


def _unchecked_rates(layer_sizes, p_drop):
    if isinstance(p_drop, float):
        return [0.0] + [p_drop] * (len(layer_sizes) - 2)
    return list(p_drop)


SUBNETWORK_MISTAKES = {
    "output units counted": (
        _subnetworks_mistake(
            units=lambda s, r: sum(size for size, rate in zip(s, r) if rate > 0) + s[-1]
        ),
        "output units are never dropped",
    ),
    "zero-rate layers counted": (
        _subnetworks_mistake(units=lambda s, r: sum(s[:-1])),
        "p_drop = 0 are never dropped",
    ),
    "rates shifted by one layer": (
        _subnetworks_mistake(
            units=lambda s, r: sum(size for size, rate in zip(s[1:], r) if rate > 0)
        ),
        "shifted by one layer",
    ),
    "float power": (_subnetworks_mistake(result=lambda n: 2.0**n), "exact Python int"),
    "math.pow": (_subnetworks_mistake(result=lambda n: math.pow(2, n)), "exact Python int"),
    "int of a float power": (
        _subnetworks_mistake(result=lambda n: int(2.0**n)),
        "OverflowError.*Hint.*overflows past 2 \\*\\* 1023",
    ),
    "numpy integer": (
        _subnetworks_mistake(result=lambda n: 2 ** np.int64(n)),
        "NumPy integers have 64 bits",
    ),
    "n instead of 2 ** n": (_subnetworks_mistake(result=lambda n: n), "count of subnetworks is 2"),
    "droppable layers, not units": (
        _subnetworks_mistake(units=lambda s, r: sum(rate > 0 for rate in r)),
        "not droppable layers",
    ),
    "scalar applied to the input too": (
        _subnetworks_mistake(rates_of=_scalar_everywhere),
        "input layer is kept whole",
    ),
    "scalar read as a list": (
        lambda layer_sizes, p_drop: subnetworks_by_sum(layer_sizes, list(p_drop)),
        "raised TypeError",
    ),
    "no length check (zip truncates)": (
        _subnetworks_mistake(rates_of=_unchecked_rates),
        "must raise ValueError.*zip silently",
    ),
}


@pytest.mark.filterwarnings("ignore:overflow")
@pytest.mark.parametrize("mistake", SUBNETWORK_MISTAKES)
def test_each_count_subnetworks_mistake_fails_with_its_message(mistake):
    fn, message = SUBNETWORK_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("count_subnetworks", fn, seed=0, hidden=True)


@pytest.mark.filterwarnings("ignore:overflow")
def test_the_visible_self_check_catches_floats_and_the_scalar_layout():
    for mistake in (
        "float power",
        "int of a float power",
        "numpy integer",
        "output units counted",
        "zero-rate layers counted",
        "scalar applied to the input too",
    ):
        fn, message = SUBNETWORK_MISTAKES[mistake]
        with pytest.raises(CheckFailure, match=message):
            run("count_subnetworks", fn, seed=2026, hidden=False)


def test_scalar_applied_to_every_layer_is_named():
    def count_subnetworks(layer_sizes, p_drop):
        if isinstance(p_drop, float):
            return 2 ** (sum(layer_sizes) if p_drop > 0 else 0)
        return subnetworks_by_sum(layer_sizes, p_drop)

    with pytest.raises(CheckFailure, match="neither the input nor the output"):
        run("count_subnetworks", count_subnetworks, seed=0, hidden=False)


def test_unimplemented_count_subnetworks_says_so():
    def count_subnetworks(layer_sizes, p_drop):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("count_subnetworks", count_subnetworks, seed=0, hidden=False)


# --- points: the behaviour, then the argument checks ------------------------------------------


@pytest.mark.parametrize(
    "name,correct,unchecked,behaviour",
    [
        ("count_parameters", parameters_with_zip, _parameters_mistake(validate=False), 1.5),
        (
            "count_subnetworks",
            subnetworks_by_sum,
            _subnetworks_mistake(rates_of=_unchecked_rates),
            2,
        ),
    ],
)
def test_a_missing_value_error_costs_only_the_argument_checks(name, correct, unchecked, behaviour):
    assert_scored_in_parts(name, correct, unchecked, behaviour, seed=11)


# --- choose_p_drop ------------------------------------------------------------------------------


def _means(errors):
    return {rate: float(np.mean(values)) for rate, values in errors.items()}


def choose_by_mean(val_errors, test_errors):
    means = _means(val_errors)
    return min(means, key=means.__getitem__)


def choose_by_median(val_errors, test_errors):
    medians = {rate: float(np.median(values)) for rate, values in val_errors.items()}
    return min(medians, key=medians.__getitem__)


def choose_smallest_rate_within_noise(val_errors, test_errors):
    """The least dropout that is not significantly worse than the best (scipy's paired test)."""
    from scipy import stats

    best = choose_by_mean(val_errors, test_errors)
    for rate in sorted(val_errors):
        result = stats.ttest_rel(val_errors[rate], val_errors[best], alternative="greater")
        if rate == best or result.pvalue >= 0.05:
            return rate
    return best


def choose_largest_rate_within_two_standard_errors(val_errors, test_errors):
    """The most dropout whose mean paired difference to the best is within 2 standard errors."""
    best = choose_by_mean(val_errors, test_errors)
    chosen = best
    for rate, values in val_errors.items():
        differences = np.array(values) - np.array(val_errors[best])
        standard_error = differences.std(ddof=1) / np.sqrt(len(differences))
        if differences.mean() <= 2 * standard_error and rate > chosen:
            chosen = rate
    return chosen


def choose_with_arrays(val_errors, test_errors):
    rates = np.array(list(val_errors))
    table = np.array([val_errors[rate] for rate in rates])
    return float(rates[np.argmin(table.sum(axis=1))])


@pytest.mark.parametrize(
    "fn",
    [
        choose_by_mean,
        choose_by_median,
        choose_smallest_rate_within_noise,
        choose_largest_rate_within_two_standard_errors,
        choose_with_arrays,
    ],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_defensible_choice_of_p_drop_passes(fn, seed):
    run("choose_p_drop", fn, seed=seed, hidden=True)
    run("choose_p_drop", fn, seed=seed, hidden=False)


def choose_on_test(val_errors, test_errors):
    means = _means(test_errors)
    return min(means, key=means.__getitem__)


def choose_on_both(val_errors, test_errors):
    means = {rate: np.mean(val_errors[rate]) + np.mean(test_errors[rate]) for rate in val_errors}
    return min(means, key=means.__getitem__)


def choose_lowest_single_run(val_errors, test_errors):
    return min(val_errors, key=lambda rate: min(val_errors[rate]))


def choose_most_dropout(val_errors, test_errors):
    return max(val_errors)


def choose_highest_mean(val_errors, test_errors):
    means = _means(val_errors)
    return max(means, key=means.__getitem__)


def choose_position(val_errors, test_errors):
    means = list(_means(val_errors).values())
    return int(np.argmin(means))


def choose_text(val_errors, test_errors):
    return f"p_drop = {choose_by_mean(val_errors, test_errors)}"


@pytest.mark.parametrize(
    "mistake, message",
    [
        (choose_on_test, "the best on the test errors"),
        (choose_lowest_single_run, "single lowest validation error"),
        (choose_most_dropout, "significantly worse"),
        (choose_highest_mean, "significantly worse"),
        (choose_position, "looks like a position"),
        (choose_text, "must return one of the rates tried"),
    ],
)
def test_each_wrong_choice_of_p_drop_fails_with_its_message(mistake, message):
    for seed in SEEDS:
        for hidden in (False, True):
            with pytest.raises(CheckFailure, match=message):
                run("choose_p_drop", mistake, seed=seed, hidden=hidden)


def test_a_choice_on_validation_and_test_together_is_caught():
    for seed in SEEDS:
        for hidden in (False, True):
            with pytest.raises(CheckFailure, match="the best on the test errors"):
                run("choose_p_drop", choose_on_both, seed=seed, hidden=hidden)


def test_the_choice_cases_are_far_from_the_significance_level():
    from autograder.exercises.nb01_intuition import _choice_cases, defensible_rates

    for seed in range(50):
        for kind, val, test in _choice_cases(seed, hidden=True):
            best, accepted, tests = defensible_rates(val)
            for rate, result in tests.items():
                if rate != best:
                    assert not 0.01 < result.p_greater < 0.3, (seed, kind, rate)
            if kind == "test_trap":
                assert choose_on_test(val, test) not in accepted
            if kind == "lucky_seed":
                assert choose_lowest_single_run(val, test) not in accepted


def test_both_verdicts_and_both_references_use_the_one_rule():
    """Notebook 01's verdict (errors as a mapping) and 07's (an array) accept exactly the rates
    of course_lib.experiments.rates_not_worse on the same errors, and each reference returns
    one of them."""
    from autograder.exercises.nb01_intuition import defensible_rates
    from autograder.exercises.nb07_capstone import _judge_choice

    rng = np.random.default_rng(5)
    rates = [0.0, 0.2, 0.5, 0.8]
    shared = rng.normal(0.05, 0.01, size=8)  # what each seed gives every rate
    table = shared + rng.normal(0.0, 0.002, size=(4, 8)) + np.array([[0.006], [0], [0.001], [0]])
    not_worse = experiments.rates_not_worse(table)
    assert 2 <= not_worse.sum() < len(rates)  # the case has rates on both sides of the rule
    mapping = {rate: list(row) for rate, row in zip(rates, table)}
    best, accepted, _ = defensible_rates(mapping)
    assert accepted == [rate for rate, ok in zip(rates, not_worse) if ok]
    case = {"p_drops": np.array(rates), "val": table, "test": table}
    for rate, ok in zip(rates, not_worse):
        if ok:
            _judge_choice(rate, case, "a sweep")
        else:
            with pytest.raises(CheckFailure, match="one-sided paired t-test"):
                _judge_choice(rate, case, "a sweep")
    assert experiments.choose_p_drop(mapping) == experiments.choose_sweep_rate(rates, table) == best
    assert best == rates[experiments.lowest_mean(table)]
    assert f"gives p < {experiments.SIGNIFICANCE:g};" in experiments.NOT_WORSE_RULE


def test_unimplemented_choose_p_drop_says_so():
    def choose_p_drop(val_errors, test_errors):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("choose_p_drop", choose_p_drop, seed=0, hidden=False)

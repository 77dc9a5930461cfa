"""Notebook 07's graded exercises. ``sweep_p_drop``: correct sweeps written differently pass
under 20 seeds; each realistic mistake fails with a CheckFailure whose message names it.
``choose_sweep_rate``: every defensible choice rule passes, and each indefensible choice fails
with a message that names it."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from autograder.exercises import run
from autograder.exercises.nb07_capstone import TOLERANCE, _cases, choice_cases
from course_lib.checks import CheckFailure
from course_lib.data import load_digits_split
from course_lib.experiments import SIGNIFICANCE, rates_not_worse, run_digits
from course_lib.nn import MLP, evaluate, train
from course_lib.stats import paired_comparison
from parts_helpers import assert_scored_in_parts

SEEDS = range(20)


def _check_rates(p_drops):
    for p in p_drops:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p_drop must be in [0, 1), got {p}")


def _widths(hidden, p_drop, keep_product):
    return [round(n / (1 - p_drop)) if keep_product else n for n in hidden]


def _recipe_streams(seed):
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]


def _sweep(
    p_drops,
    *,
    seed,
    n_train=1000,
    hidden=(256, 256),
    epochs=150,
    keep_product=False,
    evaluate_on="test",
    eval_training=False,
    widths=_widths,
    new_model=True,
    new_train_rng=True,
    streams=_recipe_streams,
    split_rng=None,
    check=True,
):
    """A hand-written sweep with switches for the mistakes; the defaults are correct."""
    if check:
        _check_rates(p_drops)
    errors = []
    model = train_rng = None
    for p in p_drops:
        data_rng, init_rng, fresh_train_rng = streams(seed)
        split = load_digits_split(
            n_train, rng=split_rng() if split_rng else data_rng, dtype=np.float32
        )
        if new_model or model is None:
            sizes = [64, *widths(hidden, p, keep_product), 10]
            model = MLP(sizes, p, rng=init_rng, dtype=np.float32)
        else:  # the same network keeps training, with the new rate
            model.p_drop = (0.0,) + (float(p),) * len(hidden)
        if new_train_rng or train_rng is None:
            train_rng = fresh_train_rng
        train(
            model,
            split.X_train,
            split.y_train,
            epochs=epochs,
            lr=0.05,
            batch_size=100,
            rng=train_rng,
        )
        X, y = {
            "test": (split.X_test, split.y_test),
            "val": (split.X_val, split.y_val),
            "train": (split.X_train, split.y_train),
        }[evaluate_on]
        errors.append(float(np.mean(model.predict(X, training=eval_training) != y)))
    return np.array(errors)


# --- correct solutions, written differently -------------------------------------------------


def sweep_by_hand(
    p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
):
    return _sweep(
        p_drops, seed=seed, n_train=n_train, hidden=hidden, epochs=epochs, keep_product=keep_product
    )


def sweep_with_run_digits(
    p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
):
    if any(not 0 <= p < 1 for p in p_drops):
        raise ValueError("p_drop must be in [0, 1)")
    results = []
    for p in p_drops:
        keep = 1.0 - p
        widths = tuple(round(n / keep) for n in hidden) if keep_product else tuple(hidden)
        results.append(
            run_digits(p, seed=seed, n_train=n_train, hidden=widths, epochs=epochs).test_error
        )
    return results


def sweep_split_once(
    p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
):
    p_drops = np.asarray(p_drops, dtype=float)
    if p_drops.size and (p_drops.min() < 0 or p_drops.max() >= 1):
        raise ValueError(f"every p_drop must be in [0, 1), got {p_drops}")
    split_seq, init_seq, train_seq = np.random.SeedSequence(seed).spawn(3)
    split = load_digits_split(n_train, rng=np.random.default_rng(split_seq), dtype=np.float32)
    errors = np.empty(len(p_drops))
    for i, p in enumerate(p_drops):
        widths = [max(1, round(n / (1 - p))) for n in hidden] if keep_product else list(hidden)
        model = MLP(
            [64, *widths, 10],
            [0.0] + [p] * len(widths),
            rng=np.random.default_rng(init_seq),
            dtype=np.float32,
        )
        train(
            model,
            split.X_train,
            split.y_train,
            epochs=epochs,
            lr=0.05,
            batch_size=100,
            rng=np.random.default_rng(train_seq),
            X_val=split.X_val,
            y_val=split.y_val,
        )
        errors[i] = evaluate(model, split.X_test, split.y_test)[1]
    return errors


CORRECT = [sweep_by_hand, sweep_with_run_digits, sweep_split_once]


@pytest.mark.parametrize("fn", CORRECT)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_sweeps_pass(fn, seed):
    run("sweep_p_drop", fn, seed=seed, hidden=True)


def test_the_visible_check_passes_a_correct_sweep():
    run("sweep_p_drop", sweep_by_hand, seed=2026, hidden=False)


def _one_minus_accuracy_in_float32(p_drops, errors):
    """The errors as a float32 computation gives them: 1 - accuracy, both rounded to float32."""
    accuracies = [np.float32(1.0) - np.float32(error) for error in errors]
    return [float(np.float32(1.0) - accuracy) for accuracy in accuracies]


def _count_over_n_in_float32(p_drops, errors):
    return [float(np.float32(round(error * 500)) / np.float32(500)) for error in errors]


@pytest.mark.parametrize("transform", [_one_minus_accuracy_in_float32, _count_over_n_in_float32])
@pytest.mark.parametrize("seed", [0, 1])
def test_errors_computed_in_float32_pass(transform, seed):
    run("sweep_p_drop", _transformed(transform), seed=seed, hidden=True)


def test_the_slack_of_two_images_holds_for_errors_rounded_to_float32():
    """An error two images off is inside however it was rounded (the former slack of 1e-9 failed
    about half of them); three images off is not."""
    from autograder.exercises.nb07_capstone import N_TEST, TOLERANCE_IMAGES, _close

    for wrong in range(N_TEST + 1):
        expected = np.array([wrong / N_TEST])
        for off in (-TOLERANCE_IMAGES, TOLERANCE_IMAGES):
            if 0 <= wrong + off <= N_TEST:
                accuracy = np.float32(1.0) - np.float32((wrong + off) / N_TEST)
                assert _close(np.array([float(np.float32(1.0) - accuracy)]), expected)
        if wrong + TOLERANCE_IMAGES + 1 <= N_TEST:
            assert not _close(np.array([(wrong + TOLERANCE_IMAGES + 1) / N_TEST]), expected)


# --- mistakes -------------------------------------------------------------------------------


def _variant(**switches):
    def sweep_p_drop(
        p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
    ):
        return _sweep(
            p_drops,
            seed=seed,
            n_train=n_train,
            hidden=hidden,
            epochs=epochs,
            keep_product=keep_product,
            **switches,
        )

    return sweep_p_drop


def _transformed(transform):
    def sweep_p_drop(
        p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
    ):
        return transform(
            list(p_drops),
            sweep_by_hand(
                p_drops,
                seed=seed,
                n_train=n_train,
                hidden=hidden,
                epochs=epochs,
                keep_product=keep_product,
            ),
        )

    return sweep_p_drop


def _sorted_order(p_drops, errors):
    return errors[np.argsort(p_drops)]


MISTAKES = {
    "one model trained across p_drops": (_variant(new_model=False), "fresh start, a new MLP"),
    "one training generator for all p_drops": (
        _variant(new_train_rng=False),
        "new generators\\s+rebuilt from seed",
    ),
    "validation set": (_variant(evaluate_on="val"), "validation errors"),
    "training set": (_variant(evaluate_on="train"), "training errors"),
    "dropout on at evaluation": (_variant(eval_training=True), "dropout is still on"),
    "unseeded split": (
        _variant(split_rng=lambda: np.random.default_rng()),
        "gave different errors",
    ),
    "accuracies": (_transformed(lambda p, e: 1.0 - e), "accuracies"),
    "percentages": (_transformed(lambda p, e: 100.0 * e), "not percentages"),
    "sorted by p_drop": (_transformed(_sorted_order), "wrong order"),
    "widths not scaled": (
        _variant(widths=lambda hidden, p, k: list(hidden)),
        "widths were not\\s+scaled",
    ),
    "floor instead of round": (
        _variant(widths=lambda hidden, p, k: [int(n / (1 - p)) if k else n for n in hidden]),
        r"round\(n / keep_prob\) units",
    ),
    "widths shrunk": (
        _variant(
            widths=lambda hidden, p, k: [max(1, round(n * (1 - p))) if k else n for n in hidden]
        ),
        r"round\(n / keep_prob\) units",
    ),
    "no ValueError": (_variant(check=False), "must raise ValueError"),
    "default_rng(seed) for every stream": (
        _variant(streams=lambda seed: [np.random.default_rng(seed) for _ in range(3)]),
        "Follow the recipe exactly",
    ),
    "returns a dict": (_transformed(lambda p, e: dict(zip(p, e))), "one test error per p_drop"),
    "returns the errors of every seed": (
        _transformed(lambda p, e: np.stack([e, e])),
        r"shape \(3,\)",
    ),
}


def test_the_one_model_mistake_is_realistic():
    """Training one model across p_drops really does give different numbers after the first."""
    case = _cases(0, hidden=False)[0]
    args = {k: v for k, v in case.items() if k != "p_drops"}
    right = sweep_by_hand(case["p_drops"], **args)
    wrong = _variant(new_model=False)(case["p_drops"], **args)
    assert abs(right[0] - wrong[0]) <= TOLERANCE
    assert np.any(np.abs(right[1:] - wrong[1:]) > TOLERANCE)


@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_mistake_fails_with_its_message(mistake):
    fn, message = MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("sweep_p_drop", fn, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "one model trained across p_drops",
        "validation set",
        "dropout on at evaluation",
        "accuracies",
        "sorted by p_drop",
    ],
)
@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_the_main_mistakes_are_named_under_other_seeds(mistake, seed):
    fn, message = MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("sweep_p_drop", fn, seed=seed, hidden=False)


def test_unimplemented_sweep_says_so():
    def sweep_p_drop(
        p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
    ):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("sweep_p_drop", sweep_p_drop, seed=0, hidden=False)


def test_a_crash_in_student_code_is_reported_with_its_line():
    def sweep_p_drop(
        p_drops, *, seed, n_train=1000, hidden=(256, 256), epochs=150, keep_product=False
    ):
        return [run_digits(p, seed=seed, n_train=n_train, hiden=hidden) for p in p_drops]  # pyright: ignore[reportCallIssue] - the typo under test

    with pytest.raises(CheckFailure, match=r"raised TypeError.*hiden"):
        run("sweep_p_drop", sweep_p_drop, seed=0, hidden=False)


# --- points: the behaviour, then the argument checks ------------------------------------------


def test_a_missing_value_error_costs_only_the_argument_checks():
    assert_scored_in_parts("sweep_p_drop", sweep_by_hand, MISTAKES["no ValueError"][0], 3, seed=11)


# --- choose_sweep_rate: every defensible choice passes, each indefensible one is named --------


CHOICE_SEEDS = [0, 1, 2, 1129, 2026]


def choose_lowest_mean(p_drops, val_errors, test_errors):
    return p_drops[int(np.argmin(np.mean(val_errors, axis=1)))]


def _not_worse_by_hand(val_errors):
    """The rates not significantly worse than the lowest mean, by a one-sided paired t-test
    written out."""
    val = np.asarray(val_errors)
    best = int(np.argmin(val.mean(axis=1)))
    keep = []
    for r in range(len(val)):
        d = val[r] - val[best]
        sd = d.std(ddof=1)
        t = d.mean() / (sd / np.sqrt(len(d))) if sd > 0 else (np.inf if d.any() else 0.0)
        keep.append(r == best or scipy_stats.t.sf(t, len(d) - 1) >= 0.05)
    return np.array(keep)


def choose_smallest_defensible(p_drops, val_errors, test_errors):
    """The least dropout that the validation set cannot tell from the best."""
    rates = np.asarray(p_drops, dtype=float)
    return float(rates[_not_worse_by_hand(val_errors)].min())


def choose_largest_defensible(p_drops, val_errors, test_errors):
    """The most dropout that is not significantly worse than the best (paired_comparison)."""
    val = np.asarray(val_errors)
    best = int(np.argmin(val.mean(axis=1)))
    ok = [
        r == best or paired_comparison(val[r], val[best]).p_greater >= 0.05 for r in range(len(val))
    ]
    return max(p for p, keep in zip(p_drops, ok) if keep)


def choose_lowest_mean_as_numpy(p_drops, val_errors, test_errors):
    return np.float32(choose_lowest_mean(p_drops, val_errors, test_errors))


ACCEPTED = [
    choose_lowest_mean,
    choose_smallest_defensible,
    choose_largest_defensible,
    choose_lowest_mean_as_numpy,
]


@pytest.mark.parametrize("fn", ACCEPTED)
@pytest.mark.parametrize("seed", CHOICE_SEEDS)
def test_defensible_choices_pass(fn, seed):
    run("choose_sweep_rate", fn, seed=seed, hidden=True)
    run("choose_sweep_rate", fn, seed=seed, hidden=False)


def test_the_hand_written_test_is_rates_not_worse():
    for seed in CHOICE_SEEDS:
        for case in choice_cases(seed, hidden=True).values():
            np.testing.assert_array_equal(
                _not_worse_by_hand(case["val"]), rates_not_worse(case["val"], SIGNIFICANCE)
            )


def test_the_cases_can_catch_a_choice_made_on_the_test_set():
    """In the cases with moved test errors, the rate with the lowest test error is one the
    validation set rules out, so a choice made on the test set fails there."""
    for seed in CHOICE_SEEDS:
        cases = choice_cases(seed, hidden=True)
        moved = [name for name in cases if "test errors moved" in name]
        assert len(moved) == 2
        for name in moved:
            case = cases[name]
            test_best = int(np.argmin(case["test"].mean(axis=1)))
            assert not rates_not_worse(case["val"])[test_best], (seed, name)


def _choose_on_test(p_drops, val_errors, test_errors):
    return p_drops[int(np.argmin(np.mean(test_errors, axis=1)))]


def _choose_worst(p_drops, val_errors, test_errors):
    return p_drops[int(np.argmax(np.mean(val_errors, axis=1)))]


def _choose_index(p_drops, val_errors, test_errors):
    return int(np.argmin(np.mean(val_errors, axis=1))) or len(p_drops) - 1


def _choose_between(p_drops, val_errors, test_errors):
    return float(np.mean(p_drops)) + 0.01


def _choose_array(p_drops, val_errors, test_errors):
    return np.asarray(p_drops)[np.argmin(val_errors, axis=0)]


CHOICE_MISTAKES = {
    "chosen on the test set": (_choose_on_test, "choice made on the test set"),
    "the worst rate": (_choose_worst, "the validation set\\s+says it is worse"),
    "an index": (_choose_index, "not its\\s+position"),
    "not a rate of the sweep": (_choose_between, "must be one of the rates"),
    "one rate per seed": (_choose_array, "must return one rate"),
}


@pytest.mark.parametrize("mistake", CHOICE_MISTAKES)
@pytest.mark.parametrize("hidden", [False, True])
def test_each_indefensible_choice_fails_with_its_message(mistake, hidden):
    fn, message = CHOICE_MISTAKES[mistake]
    for seed in CHOICE_SEEDS[:2]:
        with pytest.raises(CheckFailure, match=message):
            run("choose_sweep_rate", fn, seed=seed, hidden=hidden)


def _choose_lowest_single_run(p_drops, val_errors, test_errors):
    row, _ = np.unravel_index(np.argmin(val_errors), np.shape(val_errors))
    return p_drops[int(row)]


def test_a_choice_made_on_one_lucky_seed_fails():
    from autograder.exercises.nb07_capstone import N_VAL, _recorded_results

    runs = _recorded_results()["runs"].values()
    assert {run["n_val"] for seeds in runs for run in seeds} == {N_VAL}
    case = choice_cases(0, hidden=True)["fixed n, one lucky seed"]
    lucky = _choose_lowest_single_run(list(case["p_drops"]), case["val"], case["test"])
    assert not rates_not_worse(case["val"])[list(case["p_drops"]).index(lucky)]
    for seed in CHOICE_SEEDS:
        with pytest.raises(CheckFailure, match="the best rate of seed column"):
            run("choose_sweep_rate", _choose_lowest_single_run, seed=seed, hidden=True)


def test_an_unwritten_choice_says_so():
    def choose_sweep_rate(p_drops, val_errors, test_errors):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("choose_sweep_rate", choose_sweep_rate, seed=0, hidden=False)


def test_the_student_gets_copies_of_the_sweep():
    """A function that sorts the arrays in place does not change what the verdict judges."""

    def choose_and_scribble(p_drops, val_errors, test_errors):
        chosen = choose_lowest_mean(p_drops, val_errors, test_errors)
        val_errors[:] = 1.0
        test_errors[:] = 0.0
        return chosen

    run("choose_sweep_rate", choose_and_scribble, seed=3, hidden=True)

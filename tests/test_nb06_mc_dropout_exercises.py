"""Notebook 06's graded exercises: each realistic mistake fails its exercise's checks with a
message naming it; correct solutions written differently pass under 20 seeds."""

import copy
import math
import re

import numpy as np
import pytest

from autograder.exercises import get, run
from course_lib.checks import CheckFailure
from parts_helpers import assert_reference_scores_zero, assert_scored_in_parts

SEEDS = range(20)


def _check_n(n_samples):
    if n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples}")


# --- mc_predict ----------------------------------------------------------------------------


def mc_stack(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_running(predict_fn, X, n_samples, *, rng):
    """Welford's running mean and variance, one sample in memory at a time."""
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    mean = squares = 0.0  # arrays of the samples' shape from the first sample on
    for count in range(1, n_samples + 1):
        sample = np.asarray(predict_fn(X=X, rng=rng), dtype=np.float64)
        delta = sample - mean
        mean = mean + delta / count
        squares = squares + delta * (sample - mean)
    return mean, np.sqrt(squares / n_samples)


def mc_spawned(predict_fn, X, n_samples, *, rng):
    """A child generator per sample, all derived from rng: also correct."""
    _check_n(n_samples)
    samples = [predict_fn(X, child) for child in rng.spawn(n_samples)]
    return np.mean(samples, axis=0), np.std(samples, axis=0)


@pytest.mark.parametrize("fn", [mc_stack, mc_running, mc_spawned])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_mc_predict_passes(fn, seed):
    run("mc_predict", fn, seed=seed, hidden=True)


# textbook ways of computing the mean and the std (ddof=0), in the predictions' own dtype
# (float64, or float32 in the hidden float32 case) unless they say otherwise


def mc_running_sums(predict_fn, X, n_samples, *, rng):
    """sqrt(E[x**2] - E[x]**2) from two running sums, clipped at 0: cancels when the mean is
    large next to the spread, and still correct to the rounding the check allows."""
    _check_n(n_samples)
    total = squares = None
    for _ in range(n_samples):
        sample = np.asarray(predict_fn(X, rng))
        total = sample.copy() if total is None else total + sample
        squares = sample * sample if squares is None else squares + sample * sample
    assert total is not None and squares is not None
    mean = total / n_samples
    return mean, np.sqrt(np.maximum(squares / n_samples - mean * mean, 0))


def mc_running_sums_float64(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    total = squares = 0.0
    for _ in range(n_samples):
        sample = np.asarray(predict_fn(X, rng), dtype=np.float64)
        total, squares = total + sample, squares + sample**2
    mean = total / n_samples
    return mean, np.sqrt(np.clip(squares / n_samples - mean**2, 0.0, None))


def mc_sum_of_squares(predict_fn, X, n_samples, *, rng):
    """The textbook shortcut (sum x**2 - (sum x)**2 / n) / n, over the stacked samples."""
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
    total, squares = samples.sum(axis=0), (samples**2).sum(axis=0)
    variance = (squares - total**2 / n_samples) / n_samples
    return total / n_samples, np.sqrt(np.maximum(variance, 0))


def mc_two_pass(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = [predict_fn(X, rng) for _ in range(n_samples)]
    mean = sum(samples) / n_samples
    variance = sum((sample - mean) ** 2 for sample in samples) / n_samples
    return mean, np.sqrt(variance)


def mc_welford_in_place(predict_fn, X, n_samples, *, rng):
    """Welford's updates in place, in the dtype of the first prediction."""
    _check_n(n_samples)
    mean = np.array(predict_fn(X, rng))
    squares = np.zeros_like(mean)
    for count in range(2, n_samples + 1):
        sample = predict_fn(X, rng)
        delta = sample - mean
        mean += delta / count
        squares += delta * (sample - mean)
    return mean, np.sqrt(squares / n_samples)


def mc_var_then_sqrt(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.array([predict_fn(X, rng) for _ in range(n_samples)])
    return np.average(samples, axis=0), np.sqrt(np.var(samples, axis=0))


MC_ALTERNATIVES = [
    mc_running_sums,
    mc_running_sums_float64,
    mc_sum_of_squares,
    mc_two_pass,
    mc_welford_in_place,
    mc_var_then_sqrt,
]


@pytest.mark.parametrize("fn", MC_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_textbook_mean_and_std_passes(fn, seed):
    run("mc_predict", fn, seed=seed, hidden=True)


def test_the_hidden_cases_include_float32_predictions_and_a_large_offset():
    observed = get("mc_predict").probe(mc_stack, 0, True)
    assert observed["float32 predictions"]["outputs"].dtype == np.float32
    offset = observed["large offset"]["outputs"]
    assert np.all(np.abs(offset.mean(axis=0)) > 1e4 * offset.std(axis=0))


@pytest.mark.parametrize("seed", SEEDS)
def test_running_sums_cancel_far_beyond_the_old_fixed_tolerance_and_pass(seed):
    """The std of the large-offset case from running sums is off by far more than the former
    rtol=1e-8 (which failed it, as it failed the "two samples" case for seed 11 by 9.12e-11),
    and passes: the bound is derived from the mean square, not from the std."""
    observed = get("mc_predict").probe(mc_running_sums, seed, True)
    case = observed["large offset"]
    std, exact = case["returned"][1], case["outputs"].std(axis=0)
    assert np.max(np.abs(std - exact) / exact) > 1e-8
    get("mc_predict").judge(observed, seed, True)


def test_the_reported_running_sums_failure_passes():
    run("mc_predict", mc_running_sums_float64, seed=11, hidden=True)


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)


def mc_log_average(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
    mean = _softmax(np.log(samples).mean(axis=0)) if np.all(samples > 0) else samples.mean(0)
    return mean, samples.std(axis=0)


def mc_softmax_of_mean(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
    return _softmax(samples.mean(axis=0)), samples.std(axis=0)


def mc_one_call(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng)] * n_samples)
    return samples.mean(axis=0), samples.std(axis=0)


def mc_fixed_seed(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, np.random.default_rng(0)) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_copied_rng(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, copy.deepcopy(rng)) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_unseeded(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, np.random.default_rng()) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_seed_per_index(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, np.random.default_rng(i)) for i in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_global_module(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, np.random) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


def _stacked(transform):
    def mc_predict(predict_fn, X, n_samples, *, rng):
        _check_n(n_samples)
        samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
        return transform(samples)

    return mc_predict


def mc_off_by_one(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples + 1)])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_no_value_error(predict_fn, X, n_samples, *, rng):
    samples = np.stack([predict_fn(X, rng) for _ in range(max(n_samples, 1))])
    return samples.mean(axis=0), samples.std(axis=0)


def mc_unnamed_value_error(predict_fn, X, n_samples, *, rng):
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])  # np.stack([]) fails
    return samples.mean(axis=0), samples.std(axis=0)


def mc_mutates(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack([predict_fn(X, rng) for _ in range(n_samples)])
    X += 1.0
    return samples.mean(axis=0), samples.std(axis=0)


def mc_per_row(predict_fn, X, n_samples, *, rng):
    _check_n(n_samples)
    samples = np.stack(
        [
            np.concatenate([predict_fn(X[i : i + 1], rng) for i in range(len(X))])
            for _ in range(n_samples)
        ]
    )
    return samples.mean(axis=0), samples.std(axis=0)


MC_MISTAKES = {
    "averages logits (log-probabilities)": (mc_log_average, "geometric mean"),
    "softmax of the average": (mc_softmax_of_mean, "already returns probabilities"),
    "one mask for all samples (one call)": (mc_one_call, "called once"),
    "a fixed seed per call": (mc_fixed_seed, "same dropout mask"),
    "a copy of rng per call": (mc_copied_rng, "same dropout mask"),
    "ignores rng (fresh unseeded generator)": (mc_unseeded, "does not come from rng"),
    "ignores rng (seed per index)": (mc_seed_per_index, "do not depend on rng"),
    "passes np.random": (mc_global_module, "numpy Generator"),
    "std with ddof=1": (_stacked(lambda s: (s.mean(0), s.std(0, ddof=1))), "ddof=1"),
    "std with ddof=1 from running sums": (
        _stacked(
            lambda s: (
                s.mean(0),
                np.sqrt(np.maximum((s**2).sum(0) - s.sum(0) ** 2 / len(s), 0) / (len(s) - 1)),
            )
        ),
        "ddof=1",
    ),
    "returns the variance": (_stacked(lambda s: (s.mean(0), s.var(0))), "the variance"),
    "variance from running sums": (
        _stacked(lambda s: (s.mean(0), np.maximum((s**2).mean(0) - s.mean(0) ** 2, 0))),
        "the variance",
    ),
    "float64 predictions averaged in float32": (
        _stacked(lambda s: (s.astype(np.float32).mean(0), s.astype(np.float32).std(0))),
        "mean is not the average",
    ),
    "mean over the wrong axis": (_stacked(lambda s: (s.mean(1), s.std(0))), "wrong axis"),
    "std over the wrong axis": (_stacked(lambda s: (s.mean(0), s.std(-1))), "std must have"),
    "mean of one sample": (_stacked(lambda s: (s[0], s.std(0))), "single sample"),
    "off by one": (mc_off_by_one, "called 31 times"),
    "returns only the mean": (_stacked(lambda s: s.mean(0)), "must return a pair"),
    "no ValueError": (mc_no_value_error, "must raise ValueError"),
    "ValueError not naming n_samples": (mc_unnamed_value_error, "does not name n_samples"),
    "mutates X": (mc_mutates, "modified X"),
    "calls predict_fn row by row": (mc_per_row, "the whole X"),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", MC_MISTAKES)
def test_each_mc_predict_mistake_fails_with_its_message(mistake):
    fn, message = MC_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("mc_predict", fn, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "averages logits (log-probabilities)",
        "one mask for all samples (one call)",
        "a fixed seed per call",
        "std with ddof=1",
    ],
)
def test_the_self_check_already_catches_the_common_mc_mistakes(mistake):
    fn, message = MC_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("mc_predict", fn, seed=0, hidden=False)


def test_unimplemented_mc_predict_says_so():
    def mc_predict(predict_fn, X, n_samples, *, rng):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("mc_predict", mc_predict, seed=0, hidden=False)


# --- predictive_entropy ---------------------------------------------------------------------


def entropy_where(probs):
    probs = np.asarray(probs, dtype=np.float64)
    safe = np.where(probs > 0, probs, 1.0)
    return -np.sum(probs * np.log(safe), axis=-1)


def entropy_xlogy(probs):
    from scipy.special import xlogy

    return -xlogy(probs, probs).sum(axis=-1)


def entropy_masked_loop(probs):
    probs = np.asarray(probs, dtype=np.float64)
    flat = probs.reshape(-1, probs.shape[-1])
    out = np.empty(len(flat))
    for i, row in enumerate(flat):
        kept = row[row > 0]
        out[i] = -(kept * np.log(kept)).sum()
    return out.reshape(probs.shape[:-1])


@pytest.mark.parametrize("fn", [entropy_where, entropy_xlogy, entropy_masked_loop])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_predictive_entropy_passes(fn, seed):
    run("predictive_entropy", fn, seed=seed, hidden=True)


# textbook ways, in the input's own dtype (float32 for the hidden float32 table) unless they
# cast


def entropy_in_the_input_dtype(probs):
    probs = np.asarray(probs)
    return -np.sum(probs * np.log(np.where(probs > 0, probs, 1)), axis=-1)


def entropy_scipy_stats(probs):
    """scipy.stats.entropy normalises each vector by its sum first."""
    from scipy.stats import entropy

    return entropy(probs, axis=-1)


def entropy_entr(probs):
    from scipy.special import entr

    return entr(probs).sum(axis=-1)


def entropy_dot(probs):
    logs = np.log(np.where(probs > 0, probs, 1))
    return -np.einsum("...k,...k->...", probs, logs)


def entropy_log2_converted_to_nats(probs):
    bits = -np.sum(probs * np.log2(np.where(probs > 0, probs, 1)), axis=-1)
    return bits * np.log(2)


def entropy_tiny_epsilon(probs):
    """An epsilon inside the log too small to change anything: the smallest normal number."""
    return -np.sum(probs * np.log(probs + np.finfo(probs.dtype).tiny), axis=-1)


def entropy_loop_in_the_input_dtype(probs):
    flat = probs.reshape(-1, probs.shape[-1])
    out = np.zeros(len(flat), dtype=probs.dtype)
    for i, row in enumerate(flat):
        for p in row:
            if p > 0:
                out[i] -= p * np.log(p)
    return out.reshape(probs.shape[:-1])


ENTROPY_ALTERNATIVES = [
    entropy_in_the_input_dtype,
    entropy_scipy_stats,
    entropy_entr,
    entropy_dot,
    entropy_log2_converted_to_nats,
    entropy_tiny_epsilon,
    entropy_loop_in_the_input_dtype,
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn", ENTROPY_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_textbook_entropy_passes(fn, seed):
    run("predictive_entropy", fn, seed=seed, hidden=True)


def _nan_entropy(probs):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(probs * np.log(probs)).sum(axis=-1)


ENTROPY_MISTAKES = {
    "log base 2": (lambda p: entropy_where(p) / np.log(2), "bits"),
    "log base 10": (lambda p: entropy_where(p) / np.log(10), "base 10"),
    "NaN for zero probabilities": (_nan_entropy, "0 \\* log 0"),
    "wrong axis": (lambda p: entropy_where(np.moveaxis(p, 0, -1)), "first axis"),
    "missing minus sign": (lambda p: -entropy_where(p), "sign is wrong"),
    "mean instead of sum": (lambda p: entropy_where(p) / p.shape[-1], "averaged over the classes"),
    "keepdims": (lambda p: entropy_where(p)[..., None], "no keepdims"),
    "no sum": (lambda p: -p * np.log(np.where(p > 0, p, 1.0)), "over the classes"),
    "mutates its input": (
        lambda p: (p.__setitem__(..., np.clip(p, 1e-12, 1)), entropy_where(p))[1],
        "modified its input",
    ),
    "an epsilon of 1e-12 inside the log": (
        lambda p: -np.sum(p * np.log(p + 1e-12), axis=-1),
        r"log\(p \+ 1e-12\): an epsilon inside the log",
    ),
    "an epsilon of 1e-8 inside the log, in float64": (
        lambda p: -np.sum(p * np.log(p.astype(np.float64) + 1e-8), axis=-1),
        r"log\(p \+ 1e-08\)",
    ),
    "float64 probabilities rounded to float32": (
        lambda p: entropy_in_the_input_dtype(p.astype(np.float32)),
        "expected entropies",
    ),
    "one vector as shape (1,)": (
        lambda p: list(np.atleast_1d(entropy_where(p))),
        "return one number",
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", ENTROPY_MISTAKES)
def test_each_entropy_mistake_fails_with_its_message(mistake):
    fn, message = ENTROPY_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("predictive_entropy", fn, seed=0, hidden=True)


def test_unimplemented_entropy_says_so():
    def predictive_entropy(probs):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("predictive_entropy", predictive_entropy, seed=0, hidden=False)


def test_returning_none_is_named():
    with pytest.raises(CheckFailure, match=r"must return a numpy array.*NoneType"):
        run("predictive_entropy", lambda probs: None, seed=0, hidden=False)


# --- mutual_information ---------------------------------------------------------------------


def mi_direct(prob_samples):
    return entropy_where(prob_samples.mean(axis=0)) - entropy_where(prob_samples).mean(axis=0)


def mi_clipped_kl(prob_samples):
    """MI as the mean KL divergence of each sample from the mean, clipped at 0."""
    from scipy.special import rel_entr

    mean = prob_samples.mean(axis=0, dtype=np.float64)
    kl = rel_entr(prob_samples, mean[None]).sum(axis=-1)
    return np.maximum(kl.mean(axis=0), 0.0)


@pytest.mark.parametrize("fn", [mi_direct, mi_clipped_kl])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_mutual_information_passes(fn, seed):
    run("mutual_information", fn, seed=seed, hidden=True)


# textbook ways, in the input's own dtype (float32 for the hidden float32 samples)


def mi_in_the_input_dtype(prob_samples):
    entropy = entropy_in_the_input_dtype
    return entropy(prob_samples.mean(axis=0)) - entropy(prob_samples).mean(axis=0)


def mi_mean_of_entropies_first(prob_samples):
    expected = entropy_entr(prob_samples).mean(axis=0)
    return -(expected - entropy_entr(prob_samples.mean(axis=0)))


def mi_scipy_stats(prob_samples):
    from scipy.stats import entropy

    mean = prob_samples.mean(axis=0)
    return entropy(mean, axis=-1) - entropy(prob_samples, axis=-1).mean(axis=0)


def mi_mean_kl_xlogy(prob_samples):
    """MI as the mean KL divergence of each sample from the mean: sum p (log p - log mean)."""
    from scipy.special import xlogy

    mean = prob_samples.mean(axis=0)
    kl = (xlogy(prob_samples, prob_samples) - xlogy(prob_samples, mean)).sum(axis=-1)
    return kl.mean(axis=0)


def mi_scipy_kl_per_sample(prob_samples):
    from scipy.stats import entropy

    mean = prob_samples.mean(axis=0)
    return np.mean([entropy(sample, mean, axis=-1) for sample in prob_samples], axis=0)


def mi_running_sums(prob_samples):
    """One sample at a time: a running sum of the probabilities and of the entropies."""
    total = np.zeros(prob_samples.shape[1:], dtype=prob_samples.dtype)
    entropies = np.zeros(prob_samples.shape[1], dtype=prob_samples.dtype)
    for sample in prob_samples:
        total += sample
        entropies += entropy_in_the_input_dtype(sample)
    n_samples = len(prob_samples)
    return entropy_in_the_input_dtype(total / n_samples) - entropies / n_samples


MI_ALTERNATIVES = [
    mi_in_the_input_dtype,
    mi_mean_of_entropies_first,
    mi_scipy_stats,
    mi_mean_kl_xlogy,
    mi_scipy_kl_per_sample,
    mi_running_sums,
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("fn", MI_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_textbook_mutual_information_passes(fn, seed):
    run("mutual_information", fn, seed=seed, hidden=True)


def test_the_entropy_checks_hold_float32_to_float32_precision():
    """The float32 cases are judged with float32's rounding, the others with float64's: a
    float64 table rounded to float32 fails, a float32 one computed in float32 passes."""
    from autograder.exercises.nb06_mc_dropout import _entropy_cases, _entropy_error

    for name, probs in _entropy_cases(0, True):
        error = _entropy_error(probs, probs.dtype)
        ceiling = 1e-5 if probs.dtype == np.float32 else 1e-13
        assert np.all(error < ceiling), name


def _nan_mi(prob_samples):
    return _nan_entropy(prob_samples.mean(axis=0)) - _nan_entropy(prob_samples).mean(axis=0)


MI_MISTAKES = {
    "terms swapped": (lambda s: -mi_direct(s), "terms are swapped"),
    "log base 2": (lambda s: mi_direct(s) / np.log(2), "bits"),
    "wrong axis (inputs)": (
        lambda s: entropy_where(s.mean(axis=1)) - entropy_where(s).mean(axis=1),
        "averaged over axis 1",
    ),
    "total entropy only": (lambda s: entropy_where(s.mean(axis=0)), "entropy of the mean"),
    "expected entropy only": (lambda s: entropy_where(s).mean(axis=0), "aleatoric"),
    "summed entropies": (
        lambda s: entropy_where(s.mean(axis=0)) - entropy_where(s).sum(axis=0),
        "summed the per-sample entropies",
    ),
    "NaN for zero probabilities": (_nan_mi, "NaN"),
    "an epsilon of 1e-10 inside the log": (
        lambda s: (
            -np.sum(s.mean(0) * np.log(s.mean(0) + 1e-10), axis=-1)
            + np.sum(s * np.log(s + 1e-10), axis=-1).mean(0)
        ),
        r"log\(p \+ 1e-10\): an epsilon inside the log",
    ),
    "float64 samples rounded to float32": (
        lambda s: mi_in_the_input_dtype(s.astype(np.float32)),
        "expected",
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", MI_MISTAKES)
def test_each_mutual_information_mistake_fails_with_its_message(mistake):
    fn, message = MI_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("mutual_information", fn, seed=0, hidden=True)


def test_visible_self_check_catches_swapped_terms():
    with pytest.raises(CheckFailure, match="terms are swapped"):
        run("mutual_information", lambda s: -mi_direct(s), seed=0, hidden=False)


def test_unimplemented_mutual_information_says_so():
    def mutual_information(prob_samples):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("mutual_information", mutual_information, seed=0, hidden=False)


def test_a_crash_in_student_code_is_reported_with_its_line():
    def mutual_information(prob_samples):
        return undefined_name  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    with pytest.raises(CheckFailure, match=r"raised NameError.*undefined_name"):
        run("mutual_information", mutual_information, seed=0, hidden=False)


# --- all three --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,fn",
    [
        ("mc_predict", mc_stack),
        ("predictive_entropy", entropy_where),
        ("mutual_information", mi_direct),
    ],
)
def test_correct_solutions_pass_the_visible_self_check(name, fn):
    from autograder.exercises import SELF_CHECK_SEED

    run(name, fn, seed=SELF_CHECK_SEED, hidden=False)


# --- points: the behaviour, then the argument checks ------------------------------------------


def test_a_missing_value_error_costs_only_the_argument_checks():
    assert_scored_in_parts("mc_predict", mc_stack, mc_no_value_error, 3, seed=11)


# --- choose_mc_samples: a judgement --------------------------------------------------------------


def samples_ceil(prediction_std, target_se):
    return max(1, math.ceil((prediction_std / target_se) ** 2))


def samples_float(prediction_std, target_se):
    """Written differently: a whole-number float from numpy, with a 10% margin kept in range."""
    fewest = max(1.0, np.ceil(prediction_std**2 / target_se**2))
    return float(np.ceil(fewest * 1.1)) if fewest > 10 else fewest


def samples_by_search(prediction_std, target_se):
    """Doubling, then the last doubling that met the target: at most twice the fewest."""
    n = 1
    while prediction_std / np.sqrt(n) > target_se:
        n *= 2
    return np.int64(n)


def samples_twice_the_fewest(prediction_std, target_se):
    return 2 * max(1, math.ceil((prediction_std / target_se) ** 2))


@pytest.mark.parametrize(
    "fn", [samples_ceil, samples_float, samples_by_search, samples_twice_the_fewest]
)
@pytest.mark.parametrize("seed", range(10))
def test_every_defensible_number_of_samples_passes(fn, seed):
    run("choose_mc_samples", fn, seed=seed, hidden=True)
    run("choose_mc_samples", fn, seed=seed, hidden=False)


MC_SAMPLES_MISTAKES = {
    "not squared": (
        lambda s, t: max(1, math.ceil(s / t)),
        "That is std / target, not squared",
    ),
    "rounded down": (
        lambda s, t: max(1, math.floor((s / t) ** 2)),
        "rounded down",
    ),
    "far too many": (lambda s, t: 10_000, "costs forward passes for nothing"),
    "three times the fewest": (
        lambda s, t: 3 * max(1, math.ceil((s / t) ** 2)),
        "costs forward passes for nothing",
    ),
    "variance over target": (lambda s, t: max(1, math.ceil(s**2 / t)), "above the target"),
    "not whole": (lambda s, t: (s / t) ** 2 + 0.5, "must be a whole number"),
    "zero samples": (lambda s, t: 0, "must be a whole number >= 1"),
    "a string": (lambda s, t: "100", "return a whole number of samples"),
    "a bool": (lambda s, t: True, "return a whole number of samples"),
}


@pytest.mark.parametrize("mistake", MC_SAMPLES_MISTAKES)
def test_each_mc_samples_mistake_fails_with_its_message(mistake):
    fn, message = MC_SAMPLES_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=re.escape(message)):
        run("choose_mc_samples", fn, seed=4, hidden=True)


def test_mc_samples_reference_is_the_fewest_that_meet_the_target():
    from course_lib.mc import choose_mc_samples

    assert choose_mc_samples(0.2, 0.01) == 400  # (0.2 / 0.01)**2 = 400 exactly, in floats too
    assert choose_mc_samples(0.3, 0.02) == 225
    assert choose_mc_samples(0.31, 0.02) == 241  # 240.25 rounds up
    assert choose_mc_samples(0.0, 0.01) == 1
    assert choose_mc_samples(0.1, 0.5) == 1
    for n_std, n_target in ((0.2, 0.01), (0.123, 0.004), (0.5, 0.0101)):
        n = choose_mc_samples(n_std, n_target)
        assert n_std / math.sqrt(n) <= n_target * (1 + 1e-12)
        assert n == 1 or n_std / math.sqrt(n - 1) > n_target
    for args, pattern in (
        ((-0.1, 0.01), "prediction_std must be a finite number >= 0"),
        ((0.1, 0.0), "target_se must be a finite number > 0"),
        ((0.1, float("inf")), "target_se"),
    ):
        with pytest.raises(ValueError, match=pattern):
            choose_mc_samples(*args)


def test_the_chosen_number_of_samples_meets_the_target_standard_error_in_simulation():
    """MC means of the reference's n samples, over many repetitions, have the standard error it
    promises. Statistical: R = 4000 means of n draws of N(0, std**2) have a sample variance
    with (R - 1) s**2 / (std**2 / n) ~ chi2(R - 1); the check fails with probability 1e-9 for
    a correct n (two-sided chi-square quantiles at 0.5e-9 each)."""
    from scipy import stats

    from course_lib.mc import choose_mc_samples

    std, target = 0.3, 0.02
    n = choose_mc_samples(std, target)
    repetitions = 4000
    means = np.random.default_rng(0).normal(0.0, std, size=(repetitions, n)).mean(axis=1)
    low, high = stats.chi2.ppf([0.5e-9, 1 - 0.5e-9], repetitions - 1) / (repetitions - 1)
    ratio = means.var(ddof=1) / (std**2 / n)
    assert low <= ratio <= high
    assert std / np.sqrt(n) <= target  # and that standard error meets the target


def test_handing_the_choice_to_the_reference_scores_zero_in_the_grading_kernel(tmp_path):
    assert_reference_scores_zero(
        "06_mc_dropout",
        "choose_mc_samples",
        "from course_lib.mc import choose_mc_samples as reference\n"
        "def student(prediction_std, target_se):\n"
        "    return reference(prediction_std, target_se)\n",
        tmp_path,
    )

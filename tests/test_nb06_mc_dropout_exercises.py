"""Notebook 06's graded exercises: each realistic mistake fails its exercise's checks with a
message naming it; correct solutions written differently pass under 20 seeds."""

import copy

import numpy as np
import pytest

from autograder.exercises import run
from course_lib.checks import CheckFailure
from parts_helpers import assert_scored_in_parts

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
    "returns the variance": (_stacked(lambda s: (s.mean(0), s.var(0))), "the variance"),
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

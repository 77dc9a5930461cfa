"""Monte Carlo dropout: keep dropout on at test time and average the predictions.

Gal & Ghahramani (2016) read a network trained with dropout as an approximate Bayesian model;
sampling masks at test time samples from its approximate posterior predictive. The spread of the
samples measures the model's uncertainty.

Entropies and negative log-likelihoods are in nats (natural logarithm).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_nonnegative,
    check_positive,
    check_rng,
)
from .masks import sample_mask
from .nn import MLP

PredictFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]
MeanStd = tuple[np.ndarray, np.ndarray]
MeanStdSamples = tuple[np.ndarray, np.ndarray, np.ndarray]


def mc_samples(
    predict_fn: PredictFn, X: np.ndarray, n_samples: int, *, rng: np.random.Generator
) -> np.ndarray:
    """Stack ``n_samples`` stochastic predictions ``predict_fn(X, rng)``: ``(S, *pred.shape)``.

    Each call must draw its own dropout mask from ``rng``, e.g.
    ``lambda X, rng: model.predict_proba(X, training=True, rng=rng)``, and return numbers of
    one shape; a ``predict_fn`` that is not callable, or whose predictions differ in shape or
    are not numbers, raises ``ValueError`` naming ``predict_fn``.
    """
    if not callable(predict_fn):
        raise ArgumentTypeError(
            "predict_fn must be a callable (X, rng) -> prediction, e.g. "
            "lambda X, rng: model.predict_proba(X, training=True, rng=rng); "
            f"got {type(predict_fn).__name__}"
        )
    n_samples = check_count(n_samples, "n_samples", minimum=1)
    check_rng(rng)
    predictions = [np.asarray(predict_fn(X, rng)) for _ in range(n_samples)]
    for i, prediction in enumerate(predictions):
        if prediction.dtype.kind not in "biuf":
            raise ValueError(
                f"predict_fn must return numbers (an array of them), got dtype {prediction.dtype} "
                f"from call {i + 1}"
            )
        if prediction.shape != predictions[0].shape:
            raise ValueError(
                "predict_fn must return predictions of one shape, got shape "
                f"{predictions[0].shape} from call 1 and {prediction.shape} from call {i + 1}"
            )
    return np.stack(predictions)


@overload
def mc_predict(
    predict_fn: PredictFn,
    X: np.ndarray,
    n_samples: int,
    *,
    rng: np.random.Generator,
    return_samples: Literal[False] = False,
) -> MeanStd: ...
@overload
def mc_predict(
    predict_fn: PredictFn,
    X: np.ndarray,
    n_samples: int,
    *,
    rng: np.random.Generator,
    return_samples: Literal[True],
) -> MeanStdSamples: ...
@overload
def mc_predict(
    predict_fn: PredictFn,
    X: np.ndarray,
    n_samples: int,
    *,
    rng: np.random.Generator,
    return_samples: bool,
) -> MeanStd | MeanStdSamples: ...
def mc_predict(
    predict_fn: PredictFn,
    X: np.ndarray,
    n_samples: int,
    *,
    rng: np.random.Generator,
    return_samples: bool = False,
) -> MeanStd | MeanStdSamples:
    """Mean and standard deviation of ``n_samples`` stochastic predictions.

    Parameters
    ----------
    predict_fn : callable ``(X, rng) -> prediction``
        One stochastic forward pass (a fresh mask per call), an array of numbers of the same
        shape at every call (see :func:`mc_samples`). For classification it must return
        probabilities, so that the mean is the MC estimate of the predictive distribution
        (averaging logits and then applying softmax is a different, biased estimate).
    X : ndarray
    n_samples : int >= 1
    rng : numpy.random.Generator
    return_samples : bool
        Also return the stacked samples, shape ``(S, *prediction.shape)``.

    Returns
    -------
    mean, std : ndarrays shaped like one prediction (std with ``ddof=0``)
    samples : only with ``return_samples``
    """
    samples = mc_samples(predict_fn, X, n_samples, rng=rng)
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    return (mean, std, samples) if return_samples else (mean, std)


def thinned_network(model: MLP, *, rng: np.random.Generator) -> MLP:
    """One draw from the dropout distribution over weights: a copy of ``model`` in which the rows
    of each weight matrix that read a dropped unit are zero and the others are scaled by
    ``1 / keep_prob``.

    This is Gal & Ghahramani's ``W = diag(z) M`` (one Bernoulli ``z`` per input unit of each
    weight matrix, drawn with :func:`course_lib.masks.sample_mask` for every dropout site with
    ``p_drop > 0``, in layer order). Run with dropout off, the copy computes what ``model``
    computes in training under that mask, but the *same* mask now serves every input, so its
    predictions over a grid form one function: a sample from the approximate posterior over
    functions.

    Parameters
    ----------
    model : course_lib.nn.MLP
        Not modified.
    rng : numpy.random.Generator

    Returns
    -------
    MLP, a copy with the same biases, dtype and dropout rates
    """
    if not isinstance(model, MLP):
        raise ArgumentTypeError(f"model must be a course_lib.nn.MLP, got {type(model).__name__}")
    check_rng(rng)
    thinned = model.copy()
    for i, p_drop in enumerate(model.p_drop):
        if p_drop > 0:
            keep = sample_mask(model.layer_sizes[i], p_drop, rng=rng)
            thinned.weights[i] = (model.weights[i] * (keep / (1.0 - p_drop))[:, None]).astype(
                model.dtype
            )
    return thinned


def _check_probs(probs, name: str, min_ndim: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {probs.shape}"
        )
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError(
            f"{name} must hold probability vectors along the last axis (non-negative, summing to 1)"
        )
    return probs


def _entropy(probs: np.ndarray) -> np.ndarray:
    # 0 * log 0 = 0
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return -np.sum(probs * logs, axis=-1)


def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy ``-sum_k p_k log p_k`` of each probability vector along the last axis (nats).

    0 for a one-hot vector, ``log K`` for the uniform one.
    """
    return _entropy(_check_probs(probs, "probs", 1))


def mutual_information(prob_samples: np.ndarray) -> np.ndarray:
    """Mutual information between the prediction and the model, from MC samples (BALD).

    ``H(mean_s p_s) - mean_s H(p_s)`` for ``prob_samples`` of shape (S, N, K); returns shape (N,).
    It is high where the samples disagree (epistemic uncertainty) and 0 when they all agree.
    """
    prob_samples = _check_probs(prob_samples, "prob_samples", 3)
    total = _entropy(prob_samples.mean(axis=0))
    expected = _entropy(prob_samples).mean(axis=0)
    return np.maximum(total - expected, 0.0)


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width confidence bins of a reliability diagram.

    ``counts[i]`` predictions have their confidence (top probability) in
    ``[edges[i], edges[i + 1])`` (the last bin includes 1); ``accuracy[i]`` and ``confidence[i]``
    are their mean correctness and mean confidence (NaN for an empty bin).
    """

    edges: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray


def reliability_bins(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> ReliabilityBins:
    """Bin predictions by confidence.

    Parameters
    ----------
    probs : ndarray, shape (N, K), probability vectors
    y : ndarray of int, shape (N,), labels in [0, K)
    n_bins : int >= 1

    Raises
    ------
    ValueError
        If ``probs`` is not of shape (N, K) with probability vectors along its rows, ``y`` does
        not hold one integer label in [0, K) per row, or ``n_bins`` is not an integer >= 1.
    """
    probs, y = _check_labelled(probs, y)
    n_bins = check_count(n_bins, "n_bins", minimum=1)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # floor(c * n_bins) rather than a search in `edges`, whose rounding (0.6000000000000001)
    # would move a confidence of exactly 0.6 into the bin below
    index = np.minimum(np.floor(confidence * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(index, weights=correct, minlength=n_bins) / counts
        mean_confidence = np.bincount(index, weights=confidence, minlength=n_bins) / counts
    return ReliabilityBins(edges, counts, accuracy, mean_confidence)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 10) -> float:
    """``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width confidence bins.

    The arguments, and what they must be, are those of :func:`reliability_bins`.
    """
    bins = reliability_bins(probs, y, n_bins)
    filled = bins.counts > 0
    weights = bins.counts[filled] / bins.counts.sum()
    return float(np.sum(weights * np.abs(bins.accuracy[filled] - bins.confidence[filled])))


def _check_labelled(probs, y) -> tuple[np.ndarray, np.ndarray]:
    probs = _check_probs(probs, "probs", 2)
    if probs.ndim != 2:
        raise ValueError(f"probs must have shape (N, K), got {probs.shape}")
    y = np.asarray(y)
    n, k = probs.shape
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), one label per row of probs, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or (n and (y.min() < 0 or y.max() >= k)):
        raise ValueError(
            f"y must hold integer labels in [0, {k - 1}], got {y.dtype} values {_some_values(y)}"
        )
    return probs, y


def _some_values(values: np.ndarray) -> np.ndarray:
    """Up to five distinct values, for a message (in their order if they cannot be sorted)."""
    try:
        return np.unique(values)[:5]
    except TypeError:  # an object array of values that do not compare, such as None and 1
        return values.ravel()[:5]


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of integer labels ``y`` under ``probs``.

    A probability of 0 for the true label counts as the smallest positive float64, so the result
    is finite (about 708 nats for that example).

    Parameters
    ----------
    probs : ndarray, shape (N, K), probability vectors
    y : ndarray of int, shape (N,), labels in [0, K)

    Returns
    -------
    float >= 0 (NaN when N = 0)
    """
    probs, y = _check_labelled(probs, y)
    picked = probs[np.arange(len(y)), y]
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(np.float64).tiny))))


def error_rate(probs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose most probable class (the first, if tied) is not the label.

    Parameters
    ----------
    probs : ndarray, shape (N, K), probability vectors
    y : ndarray of int, shape (N,), labels in [0, K)

    Returns
    -------
    float in [0, 1] (NaN when N = 0)
    """
    probs, y = _check_labelled(probs, y)
    return float(np.mean(np.argmax(probs, axis=-1) != y))


def accuracy_after_rejection(
    probs: np.ndarray, y: np.ndarray, uncertainty: np.ndarray, fractions
) -> np.ndarray:
    """Accuracy on the inputs kept after rejecting the most uncertain fraction of them.

    For each ``f`` in ``fractions`` (in [0, 1)), the ``floor(f * N)`` inputs with the highest
    ``uncertainty`` are set aside and the accuracy of the rest is returned.

    Parameters
    ----------
    probs : ndarray, shape (N, K), probability vectors
    y : ndarray of int, shape (N,), labels in [0, K)
    uncertainty : ndarray of float, shape (N,), no NaN (it decides the order of rejection)
    fractions : float in [0, 1), or a 1-D sequence of them

    Returns
    -------
    ndarray of float, one accuracy per fraction

    Raises
    ------
    ValueError
        If an argument is not of that shape or range.
    """
    probs, y = _check_labelled(probs, y)
    uncertainty = _check_uncertainty(uncertainty, len(y))
    fractions = _check_fractions(fractions)
    correct = (probs.argmax(axis=1) == y)[np.argsort(uncertainty, kind="stable")]
    result = []
    for fraction in fractions:
        n_kept = len(correct) - int(np.floor(fraction * len(correct)))
        result.append(correct[:n_kept].mean())
    return np.asarray(result)


def _check_uncertainty(uncertainty, n: int) -> np.ndarray:
    try:
        values = np.asarray(uncertainty, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"uncertainty must be an array of {n} numbers, one per row of probs, "
            f"got {uncertainty!r}"
        ) from None
    if values.shape != (n,):
        raise ValueError(
            f"uncertainty must have shape ({n},), one value per row of probs, got {values.shape}"
        )
    if np.any(np.isnan(values)):
        # NaN sorts after every number: it would be rejected first without a word
        raise ValueError(
            f"uncertainty must hold numbers, not NaN, got NaN at rows "
            f"{np.flatnonzero(np.isnan(values))[:5].tolist()}"
        )
    return values


def _check_fractions(fractions) -> np.ndarray:
    values = np.atleast_1d(np.asarray(fractions))
    if values.dtype.kind not in "iuf":
        raise ArgumentTypeError(
            f"fractions must be a number in [0, 1) or a sequence of them, got {fractions!r}"
        )
    if values.ndim != 1:
        raise ValueError(
            f"fractions must be a number in [0, 1) or a 1-D sequence of them, got shape "
            f"{values.shape}"
        )
    for fraction in values:
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"fractions must be in [0, 1), got {fraction}")
    return values


#: how far above the fewest samples a choice of the number of MC samples may go
MC_SAMPLES_SLACK = 2.0
#: the largest ``prediction_std / target_se`` :func:`choose_mc_samples` answers for: the number
#: of samples, about its square, must stay within the range of a float (1.8e308)
MAX_MC_SAMPLES_RATIO = 1e150


def choose_mc_samples(prediction_std: float, target_se: float) -> int:
    """The number of MC dropout samples to average for a target standard error of the mean
    prediction: the fewest that meet it.

    The mean of ``n`` independent stochastic predictions of standard deviation
    ``prediction_std`` has standard error ``prediction_std / sqrt(n)``; the smallest ``n >= 1``
    with ``prediction_std / sqrt(n) <= target_se`` is ``ceil((prediction_std / target_se) ** 2)``,
    moved by one where rounding puts the square a hair off a whole number (the comparison
    allows a relative 1e-12 on the target). Any ``n`` from that minimum up to
    ``MC_SAMPLES_SLACK`` times it is a defensible choice (a round number, a little margin);
    fewer miss the target, more waste forward passes.

    Parameters
    ----------
    prediction_std : float >= 0
        Standard deviation of one stochastic prediction (over dropout masks).
    target_se : float > 0
        The standard error wanted for the mean of the samples.

    Returns
    -------
    int >= 1

    Raises
    ------
    ValueError
        If ``prediction_std`` is not a finite number >= 0, ``target_se`` not a finite
        number > 0, or ``prediction_std / target_se`` is above :data:`MAX_MC_SAMPLES_RATIO`.
    """
    prediction_std = check_nonnegative(prediction_std, "prediction_std")
    target_se = check_positive(target_se, "target_se")
    ratio = prediction_std / target_se
    if ratio > MAX_MC_SAMPLES_RATIO:
        raise ValueError(
            f"prediction_std / target_se must be at most {MAX_MC_SAMPLES_RATIO:g} (the number "
            f"of samples, about its square, must fit in a float), got prediction_std="
            f"{prediction_std!r} and target_se={target_se!r}"
        )

    def meets(n: int) -> bool:
        return prediction_std / math.sqrt(n) <= target_se * (1.0 + 1e-12)

    # `meets` is monotone in n (sqrt and division round correctly, hence monotonically), so the
    # answer is the first n that meets the target: bisect between a miss (0 stands for one) and
    # a hit, found from the estimate ceil(ratio**2) by doubling steps if it misses
    hit, step = max(1, math.ceil(ratio**2)), 1
    while not meets(hit):
        hit, step = hit + step, 2 * step
    miss = 0
    while hit - miss > 1:
        middle = (miss + hit) // 2
        if meets(middle):
            hit = middle
        else:
            miss = middle
    return hit

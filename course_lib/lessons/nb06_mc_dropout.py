"""Notebook 06: Monte Carlo dropout, uncertainty from dropout left on at test time.

Two experiments, each trained once and then read many times:

* :func:`fit_toy_regression` trains a 1-64-64-1 network with dropout on
  :func:`course_lib.data.gap_regression_toy` and keeps a pool of MC predictions on a grid;
* :func:`fit_digits` trains a 64-256-256-10 network on 1000 digits and keeps a pool of MC logits
  on the test digits and on the same digits turned by 90 degrees.

The widgets take the first ``n_samples`` of a pool, so moving a slider never reruns a network.
Matrices here are small, and a multi-threaded BLAS spends more time waking threads than
multiplying them (several times more on a busy two-core machine), so training and sampling run
with BLAS limited to one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import mc
from ..data import gap_regression_toy, load_digits_split
from ..experiments import seed_streams
from ..mc import error_rate, nll, thinned_network
from ..nn import MLP, one_blas_thread, softmax, train
from .widgets import recall_parts, remember_parts

#: the toy's inputs lie in [-3, 3] minus this gap
GAP = (-0.75, 1.25)
DATA_RANGE = (-3.0, 3.0)
#: the regions of the grid whose mean MC standard deviation the notebook compares
REGIONS = ("on the data", "inside the gap", "beyond the data")
#: the numbers the notebook's prose quotes about its two fits (:func:`key_numbers`), recorded by
#: ``python -m course_lib.lessons.nb06_mc_dropout`` so that checking the prose needs no training
NUMBERS_PATH = Path(__file__).with_name("nb06_mc_dropout_numbers.json")
#: the fits the notebook makes: ``fit_toy_regression(**TOY_FIT)``, ``fit_digits(**DIGITS_FIT)``
TOY_FIT = {"p_drop": 0.1, "seed": 1}
DIGITS_FIT = {"p_drop": (0.0, 0.5, 0.5), "seed": 0}


# --- 1D regression --------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyRegression:
    """A dropout network fitted to the gap toy, and a pool of its MC predictions on a grid.

    ``samples[s]`` is the network's prediction on ``grid`` under the s-th dropout mask (shape
    (S, G)); ``weight_scaled`` is the deterministic prediction (dropout off, which for inverted
    dropout is the weight-scaling rule); ``model`` is the trained network.
    """

    x: np.ndarray  # (N, 1) training inputs
    y: np.ndarray  # (N, 1) training targets
    grid: np.ndarray  # (G,)
    samples: np.ndarray  # (S, G)
    weight_scaled: np.ndarray  # (G,)
    p_drop: float
    noise: float  # standard deviation of the targets' noise
    train_rmse: float  # of the weight-scaled net on the training data
    seconds: float
    model: MLP

    def region_masks(self) -> dict[str, np.ndarray]:
        """Boolean masks over ``grid`` for the three regions of :data:`REGIONS`."""
        inside_range = (self.grid >= DATA_RANGE[0]) & (self.grid <= DATA_RANGE[1])
        in_gap = (self.grid > GAP[0]) & (self.grid < GAP[1])
        return {
            "on the data": inside_range & ~in_gap,
            "inside the gap": in_gap,
            "beyond the data": ~inside_range,
        }

    def mean_std(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """MC mean and standard deviation (ddof=0) on the grid from the first ``n_samples``."""
        pool = self.samples[: _clip_count(n_samples, len(self.samples))]
        return pool.mean(axis=0), pool.std(axis=0)

    def region_std(self, n_samples: int) -> dict[str, float]:
        """Mean MC standard deviation in each region, from the first ``n_samples``."""
        std = self.mean_std(n_samples)[1]
        return {name: float(std[mask].mean()) for name, mask in self.region_masks().items()}


def _clip_count(n_samples, available: int) -> int:
    n_samples = int(n_samples)
    if not 1 <= n_samples <= available:
        raise ValueError(f"n_samples must be in [1, {available}], got {n_samples}")
    return n_samples


def fit_toy_regression(
    p_drop: float = 0.1,
    *,
    seed: int = 0,
    n_samples: int = 200,
    epochs: int = 1500,
    n_points: int = 80,
    noise: float = 0.1,
) -> ToyRegression:
    """Train ``MLP([1, 64, 64, 1], [0, p_drop, p_drop], output="linear")`` on the gap toy.

    SGD with momentum (lr 0.01, batches of 16), weight decay 1e-3 (the Gaussian prior of the
    Bayesian reading) and max-norm 4 (which keeps this small problem from diverging). Then
    ``n_samples`` thinned networks (:func:`course_lib.mc.thinned_network`), each evaluated on 401
    points of [-5, 5].
    """
    data_rng, init_rng, train_rng, mc_rng = seed_streams(seed, 4)
    x, y = gap_regression_toy(n_points, rng=data_rng, noise=noise)
    started = time.perf_counter()
    with one_blas_thread():
        model = MLP(
            [1, 64, 64, 1], [0.0, p_drop, p_drop], rng=init_rng, output="linear", dtype=np.float64
        )
        history = train(
            model,
            x,
            y,
            epochs=epochs,
            lr=0.01,
            batch_size=16,
            rng=train_rng,
            weight_decay=1e-3,
            max_norm=4.0,
        )
        grid = np.linspace(-5.0, 5.0, 401)
        samples = mc.mc_samples(
            lambda X, rng: thinned_network(model, rng=rng).predict(X)[:, 0],
            grid[:, None],
            n_samples,
            rng=mc_rng,
        )
        weight_scaled = model.predict(grid[:, None])[:, 0]
    return ToyRegression(
        x,
        y,
        grid,
        samples,
        weight_scaled,
        p_drop,
        noise,
        history.train_error[-1],
        time.perf_counter() - started,
        model,
    )


def band_coverage(
    toy: ToyRegression, n_samples: int, *, n_points: int = 2000, seed: int = 1
) -> dict[str, float]:
    """Fraction of fresh noisy observations (same law as the training data) inside two bands.

    ``"model only"``: MC mean +/- 2 MC std; ``"model + noise"``: MC mean +/- 2 sqrt(std**2 +
    noise**2), which adds the targets' noise that the masks know nothing about.
    """
    x_new, y_new = gap_regression_toy(n_points, rng=np.random.default_rng(seed), noise=toy.noise)
    mean, std = toy.mean_std(n_samples)
    at_x_mean = np.interp(x_new[:, 0], toy.grid, mean)
    at_x_std = np.interp(x_new[:, 0], toy.grid, std)
    error = np.abs(y_new[:, 0] - at_x_mean)
    return {
        "model only": float(np.mean(error <= 2 * at_x_std)),
        "model + noise": float(np.mean(error <= 2 * np.hypot(at_x_std, toy.noise))),
    }


def _bands_parts(toy: ToyRegression):
    import matplotlib.pyplot as plt

    from ..data import gap_function

    figure, (left, right) = plt.subplots(
        1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    for axis in (left, right):
        axis.axvspan(*GAP, color="0.92", zorder=0)
        for edge in DATA_RANGE:
            axis.axvline(edge, color="0.7", linewidth=0.8, linestyle=":")
    flat = np.zeros_like(toy.grid)
    band = left.fill_between(
        toy.grid, flat, flat, color="C0", alpha=0.25, linewidth=0, label="MC mean ± 2 std"
    )
    singles = [left.plot(toy.grid, flat, color="C0", linewidth=0.6, alpha=0.5)[0] for _ in range(5)]
    (mean,) = left.plot(toy.grid, flat, color="C0", linewidth=2, label=" ")
    (scaled,) = left.plot(
        toy.grid,
        toy.weight_scaled,
        color="C3",
        linestyle="--",
        linewidth=1.2,
        label="weight scaling (dropout off)",
    )
    (truth,) = left.plot(
        toy.grid, gap_function(toy.grid), color="k", linewidth=0.8, alpha=0.6, label="true function"
    )
    data = left.scatter(toy.x[:, 0], toy.y[:, 0], s=9, color="k", zorder=3, label="training data")
    left.set(
        ylim=(-4, 4),
        xlabel="x",
        ylabel="y",
        title=f"p_drop = {toy.p_drop:g}: thin lines are single masks; grey = the gap",
    )
    left.legend(loc="upper left", fontsize=8)
    (std_line,) = right.plot(toy.grid, flat, color="C0")
    region_lines = [
        right.plot(
            toy.grid[mask],
            np.zeros(np.count_nonzero(mask)),
            ".",
            markersize=1.5,
            color=color,
            label=" ",
        )[0]
        for mask, color in zip(toy.region_masks().values(), ("C2", "C1", "C4"))
    ]
    # tick labels of three decimals, as wide as the standard deviations will need
    right.set(xlabel="x", ylabel="MC standard deviation", ylim=(0, 0.123), title=" ")
    right.legend(loc="upper center", fontsize=8)
    figure.tight_layout()
    # one range for every number of masks (the largest std of any prefix of the pool), so that
    # moving the slider redraws only the lines
    counts = np.arange(1, len(toy.samples) + 1)[:, None]
    means = np.cumsum(toy.samples, axis=0) / counts
    variances = np.cumsum(toy.samples**2, axis=0) / counts - means**2
    right.set_ylim(0, 1.05 * math.sqrt(max(float(variances.max()), 0.0)))
    # the lines that do not move are listed too, to stay drawn above the band and the masks
    return remember_parts(
        figure,
        draw_regression_bands,
        moving=(
            band,
            *singles,
            mean,
            scaled,
            truth,
            data,
            left.get_legend(),
            std_line,
            *region_lines,
            right.title,
            right.get_legend(),
        ),
        toy=toy,
        axes=(left, right),
        band=band,
        singles=singles,
        mean=mean,
        std_line=std_line,
        region_lines=region_lines,
    )


def draw_regression_bands(toy: ToyRegression, n_samples: int = 200, *, figure=None):
    """Left: data, MC mean +/- 2 std from the first ``n_samples`` masks, a few single masks and
    the weight-scaled net. Right: the MC standard deviation along x, with each region's mean.

    ``figure``: a figure returned by an earlier call for the same ``toy``, redrawn in place
    (what the slider does).
    """
    n_samples = _clip_count(n_samples, len(toy.samples))
    mean, std = toy.mean_std(n_samples)
    regions = toy.region_std(n_samples)
    parts = recall_parts(figure, draw_regression_bands)
    if parts is None or parts.toy is not toy:
        parts = _bands_parts(toy)
    left, right = parts.axes
    parts.band.set_data(toy.grid, mean - 2 * std, mean + 2 * std)
    for k, line in enumerate(parts.singles):
        line.set_visible(k < n_samples)
        line.set_ydata(toy.samples[k] if k < n_samples else np.zeros_like(toy.grid))
    parts.mean.set_ydata(mean)
    _set_label(left, 1, parts.mean, f"MC mean of {n_samples} masks")  # after the band
    parts.std_line.set_ydata(std)
    for k, (line, (name, value)) in enumerate(zip(parts.region_lines, regions.items())):
        line.set_ydata(np.full(len(line.get_xdata()), value))
        _set_label(right, k, line, f"{name}: mean std {value:.3f}")
    right.set_title(f"uncertainty along x ({n_samples} masks)")
    return parts.figure


def _set_label(axis, index: int, artist, label: str) -> None:
    """Give ``artist`` a new label, also in entry ``index`` of the axis's legend."""
    artist.set_label(label)
    axis.get_legend().get_texts()[index].set_text(label)


# --- digits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitsMC:
    """A dropout network trained on digits, with pools of MC logits.

    ``logit_samples`` (S, N, K) are the test digits' logits under S dropout masks and
    ``prob_samples`` their softmax; ``rotated_*`` are the same for the test digits turned by 90
    degrees, inputs unlike anything in training. ``weight_scaled_probs`` come from the network
    with dropout off. ``curves`` holds :func:`metrics_vs_samples`; ``model`` is the trained
    network, for further experiments.
    """

    y_test: np.ndarray
    X_test: np.ndarray
    logit_samples: np.ndarray
    prob_samples: np.ndarray
    weight_scaled_probs: np.ndarray
    rotated_logit_samples: np.ndarray
    rotated_prob_samples: np.ndarray
    rotated_weight_scaled_probs: np.ndarray
    p_drop: tuple
    seconds: float
    curves: dict
    model: MLP

    def mc_probs(self, n_samples: int, *, rotated: bool = False) -> np.ndarray:
        """Mean of the first ``n_samples`` probability samples (the MC predictive), (N, K)."""
        pool = self.rotated_prob_samples if rotated else self.prob_samples
        return pool[: _clip_count(n_samples, len(pool))].mean(axis=0)


def rotate_digits(X: np.ndarray) -> np.ndarray:
    """Turn each 8x8 digit (rows of 64 pixels) by 90 degrees counter-clockwise."""
    return np.rot90(np.asarray(X).reshape(-1, 8, 8), 1, axes=(1, 2)).reshape(-1, 64)


def fit_digits(
    p_drop=(0.0, 0.5, 0.5),
    *,
    seed: int = 0,
    n_train: int = 1000,
    hidden=(256, 256),
    epochs: int = 50,
    n_samples: int = 100,
) -> DigitsMC:
    """Train ``MLP([64, *hidden, 10], p_drop)`` on ``n_train`` digits (SGD, lr 0.05, batches of
    100) and draw ``n_samples`` dropout masks on the 500 test digits and their rotations."""
    split_rng, init_rng, train_rng, mc_rng, rotated_rng = seed_streams(seed, 5)
    split = load_digits_split(n_train, rng=split_rng, dtype=np.float32)
    started = time.perf_counter()
    with one_blas_thread():
        model = MLP([64, *hidden, 10], p_drop, rng=init_rng, dtype=np.float32)
        train(
            model,
            split.X_train,
            split.y_train,
            epochs=epochs,
            lr=0.05,
            batch_size=100,
            rng=train_rng,
        )

        def logits(X, rng):
            return model.forward(X, training=True, rng=rng)[0].astype(np.float64)

        rotated = rotate_digits(split.X_test)
        logit_samples = mc.mc_samples(logits, split.X_test, n_samples, rng=mc_rng)
        rotated_logit_samples = mc.mc_samples(logits, rotated, n_samples, rng=rotated_rng)
        weight_scaled = softmax(model.forward(split.X_test)[0].astype(np.float64))
        rotated_weight_scaled = softmax(model.forward(rotated)[0].astype(np.float64))
    prob_samples = softmax(logit_samples)
    return DigitsMC(
        split.y_test,
        split.X_test,
        logit_samples,
        prob_samples,
        weight_scaled,
        rotated_logit_samples,
        softmax(rotated_logit_samples),
        rotated_weight_scaled,
        model.p_drop,
        time.perf_counter() - started,
        metrics_vs_samples(prob_samples, split.y_test),
        model,
    )


def metrics_vs_samples(prob_samples: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Test error, NLL and ECE of the MC average of the first S of ``prob_samples`` (S, N, K),
    for S = 1 ... S_max."""
    counts = np.arange(1, len(prob_samples) + 1)
    running = np.cumsum(prob_samples, axis=0) / counts[:, None, None]
    return {
        "n_samples": counts,
        "error": np.array([error_rate(p, y) for p in running]),
        "nll": np.array([nll(p, y) for p in running]),
        "ece": np.array([mc.expected_calibration_error(p, y) for p in running]),
    }


def averaging_comparison(digits: DigitsMC, n_samples: int | None = None) -> dict[str, dict]:
    """Three ways to combine the masks, and what each gives on the test digits.

    ``"mean of probabilities"``: the MC predictive; ``"softmax of mean logits"``: the normalised
    geometric mean of the samples; ``"weight scaling"``: one pass with dropout off. For each:
    test error, NLL, ECE, mean top probability, and mean entropy on the rotated digits.
    """
    n_samples = len(digits.prob_samples) if n_samples is None else n_samples
    n_samples = _clip_count(n_samples, len(digits.prob_samples))
    y = digits.y_test
    ways = {
        "mean of probabilities": (
            digits.mc_probs(n_samples),
            digits.mc_probs(n_samples, rotated=True),
        ),
        "softmax of mean logits": (
            softmax(digits.logit_samples[:n_samples].mean(axis=0)),
            softmax(digits.rotated_logit_samples[:n_samples].mean(axis=0)),
        ),
        "weight scaling": (digits.weight_scaled_probs, digits.rotated_weight_scaled_probs),
    }
    return {
        name: {
            "error": error_rate(probs, y),
            "nll": nll(probs, y),
            "ece": mc.expected_calibration_error(probs, y),
            "confidence": float(probs.max(axis=1).mean()),
            "rotated entropy": float(mc.predictive_entropy(rotated).mean()),
        }
        for name, (probs, rotated) in ways.items()
    }


REJECTION_FRACTIONS = np.linspace(0.0, 0.2, 41)


def rejection_curves(digits: DigitsMC, n_samples: int) -> dict[str, np.ndarray]:
    """Accuracy after rejecting the most uncertain test digits, for :data:`REJECTION_FRACTIONS`.

    MC predictions ranked by predictive entropy and by mutual information, and the weight-scaled
    net ranked by its top probability (lowest first), the usual deterministic baseline.
    """
    n_samples = _clip_count(n_samples, len(digits.prob_samples))
    probs = digits.mc_probs(n_samples)
    y = digits.y_test
    deterministic = digits.weight_scaled_probs
    return {
        "MC, predictive entropy": mc.accuracy_after_rejection(
            probs, y, mc.predictive_entropy(probs), REJECTION_FRACTIONS
        ),
        "MC, mutual information": mc.accuracy_after_rejection(
            probs, y, mc.mutual_information(digits.prob_samples[:n_samples]), REJECTION_FRACTIONS
        ),
        "weight scaling, 1 - max prob": mc.accuracy_after_rejection(
            deterministic, y, -deterministic.max(axis=1), REJECTION_FRACTIONS
        ),
    }


def rotation_detection_auroc(digits: DigitsMC, n_samples: int | None = None) -> dict[str, float]:
    """How well each uncertainty score tells rotated digits from upright test digits.

    The area under the ROC curve of the score (rotated = positive): 1 separates them perfectly,
    0.5 is chance. Scores: MC predictive entropy and mutual information, and the weight-scaled
    net's 1 - max probability.
    """
    from sklearn.metrics import roc_auc_score

    n_samples = len(digits.prob_samples) if n_samples is None else n_samples
    n_samples = _clip_count(n_samples, len(digits.prob_samples))
    labels = np.r_[np.zeros(len(digits.y_test)), np.ones(len(digits.y_test))]
    scores = {
        "MC, predictive entropy": (
            mc.predictive_entropy(digits.mc_probs(n_samples)),
            mc.predictive_entropy(digits.mc_probs(n_samples, rotated=True)),
        ),
        "MC, mutual information": (
            mc.mutual_information(digits.prob_samples[:n_samples]),
            mc.mutual_information(digits.rotated_prob_samples[:n_samples]),
        ),
        "weight scaling, 1 - max prob": (
            1 - digits.weight_scaled_probs.max(axis=1),
            1 - digits.rotated_weight_scaled_probs.max(axis=1),
        ),
    }
    return {
        name: float(roc_auc_score(labels, np.r_[upright, rotated]))
        for name, (upright, rotated) in scores.items()
    }


#: reliability-diagram bins holding fewer digits than this are not drawn: their accuracy is noise
MIN_BIN_COUNT = 5


def _reliability(axis, probs, y, label, color, marker):
    """Accuracy against mean confidence per confidence bin; marker area follows the bin's size."""
    points = axis.scatter([], [], color=color, marker=marker, alpha=0.7, label=label)
    _set_reliability(points, probs, y, label)
    return points


def _set_reliability(points, probs, y, label) -> str:
    """Put the bins of ``probs`` into the scatter ``points``; returns its legend label."""
    bins = mc.reliability_bins(probs, y, n_bins=10)
    shown = bins.counts >= MIN_BIN_COUNT
    points.set_offsets(np.column_stack([bins.confidence[shown], bins.accuracy[shown]]))
    points.set_sizes(12 + 300 * bins.counts[shown] / len(y))
    points.set_label(f"{label}: ECE {mc.expected_calibration_error(probs, y):.3f}")
    return points.get_label()


def _metrics_parts(digits: DigitsMC):
    import matplotlib.pyplot as plt

    y = digits.y_test
    deterministic = digits.weight_scaled_probs
    figure, axes = plt.subplots(2, 2, figsize=(12, 8))
    (calibration, error), (likelihood, rejection) = axes
    mc_points = _reliability(calibration, deterministic, y, "MC", "C0", "o")
    scaled_points = _reliability(calibration, deterministic, y, "weight scaling", "C3", "s")
    calibration.plot([0, 1], [0, 1], color="0.5", linewidth=0.8, linestyle="--")
    calibration.set(
        xlim=(0, 1.02),
        ylim=(0, 1.05),
        xlabel="confidence (top probability)",
        ylabel="accuracy in the bin",
        title=f"reliability: above the diagonal = underconfident\n(marker area = "
        f"digits in the bin; bins with < {MIN_BIN_COUNT} digits not shown)",
    )
    calibration.legend(loc="upper left", fontsize=8, markerscale=0.4)
    curves = digits.curves
    counts = curves["n_samples"]
    chosen = {}
    for axis, key, scale, unit in (
        (error, "error", 100, "test error (%)"),
        (likelihood, "nll", 1, "negative log-likelihood (nats)"),
    ):
        reference = {"error": error_rate, "nll": nll}[key](deterministic, y) * scale
        axis.semilogx(counts, scale * curves[key], color="C0", label="MC average of S masks")
        axis.axhline(reference, color="C3", linestyle="--", label="weight scaling")
        (point,) = axis.plot([1], [scale * curves[key][0]], "o", color="C0")
        line = axis.axvline(1, color="0.7", linewidth=0.8)
        chosen[key] = (point, line, scale)
        axis.set(xlabel="number of masks S", ylabel=unit, title=" ")
        axis.legend(fontsize=8, loc="upper right")  # "best" would follow the moving point
    # the rejection curves of every S, computed once: a move only looks its curves up, and one
    # y-range (the lowest accuracy over every S, rounded down to 2%) keeps the axis still
    accuracies = [
        rejection_curves(digits, n_samples) for n_samples in range(1, len(digits.prob_samples) + 1)
    ]
    lowest = min(float(100 * curve.min()) for curves in accuracies for curve in curves.values())
    lines = [
        rejection.plot(
            100 * REJECTION_FRACTIONS, 100 * np.ones(len(REJECTION_FRACTIONS)), style, label=name
        )[0]
        for style, name in zip(("-", "--", ":"), accuracies[0])
    ]
    rejection.set(
        xlabel="most uncertain test digits set aside (%)",
        ylabel="accuracy on the rest (%)",
        ylim=(2.0 * np.floor(lowest / 2.0 - 0.25), 100.5),
        title=" ",
    )
    rejection.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    moving = (
        mc_points,
        scaled_points,
        calibration.get_legend(),
        *(artist for key in chosen for artist in chosen[key][:2]),
        error.title,
        likelihood.title,
        *lines,
        rejection.title,
    )
    return remember_parts(
        figure,
        draw_digits_metrics,
        moving=moving,
        digits=digits,
        axes=axes,
        mc_points=mc_points,
        chosen=chosen,
        lines=lines,
        accuracies=accuracies,
    )


def draw_digits_metrics(digits: DigitsMC, n_samples: int = 100, *, figure=None):
    """Reliability diagram, test error and NLL against S, and rejection curves, for the MC
    average of the first ``n_samples`` masks and for the weight-scaled net.

    The rejection curves of every S are computed when the figure is built, and every axis keeps
    its range, so that a move of the slider changes only the data and the text.

    ``figure``: a figure returned by an earlier call for the same ``digits``, redrawn in place
    (what the slider does).
    """
    n_samples = _clip_count(n_samples, len(digits.prob_samples))
    y = digits.y_test
    probs = digits.mc_probs(n_samples)
    deterministic = digits.weight_scaled_probs
    parts = recall_parts(figure, draw_digits_metrics)
    if parts is None or parts.digits is not digits:
        parts = _metrics_parts(digits)
    (calibration, error), (likelihood, rejection) = parts.axes
    label = _set_reliability(parts.mc_points, probs, y, f"MC, {n_samples} masks")
    calibration.get_legend().get_texts()[0].set_text(label)
    curves = digits.curves
    for key, (point, line, scale) in parts.chosen.items():
        point.set_data([n_samples], [scale * curves[key][n_samples - 1]])
        line.set_xdata([n_samples, n_samples])
    error.set_title(
        f"test error: MC {100 * curves['error'][n_samples - 1]:.1f}% at S = "
        f"{n_samples}, weight scaling {100 * error_rate(deterministic, y):.1f}%"
    )
    likelihood.set_title(
        f"NLL: MC {curves['nll'][n_samples - 1]:.3f} at S = {n_samples}, "
        f"weight scaling {nll(deterministic, y):.3f}"
    )
    for line, accuracy in zip(parts.lines, parts.accuracies[n_samples - 1].values()):
        line.set_ydata(100 * accuracy)
    rejection.set_title(f"rejecting what the model is unsure of (MC: {n_samples} masks)")
    return parts.figure


def draw_uncertainty_histograms(digits: DigitsMC, n_samples: int | None = None):
    """Predictive entropy and mutual information on the test digits and on rotated digits."""
    import matplotlib.pyplot as plt

    n_samples = len(digits.prob_samples) if n_samples is None else n_samples
    n_samples = _clip_count(n_samples, len(digits.prob_samples))
    measures = {
        "predictive entropy (nats)": (
            mc.predictive_entropy(digits.mc_probs(n_samples)),
            mc.predictive_entropy(digits.mc_probs(n_samples, rotated=True)),
        ),
        "mutual information (nats)": (
            mc.mutual_information(digits.prob_samples[:n_samples]),
            mc.mutual_information(digits.rotated_prob_samples[:n_samples]),
        ),
    }
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    for axis, (name, (test, rotated)) in zip(axes, measures.items()):
        bins = np.linspace(0, max(test.max(), rotated.max()), 31)
        axis.hist(test, bins=bins, alpha=0.6, label=f"test digits (mean {test.mean():.3f})")
        axis.hist(
            rotated, bins=bins, alpha=0.6, label=f"rotated digits (mean {rotated.mean():.3f})"
        )
        axis.set(
            xlabel=name,
            ylabel="digits",
            yscale="log",
            title=f"{name.split(' (')[0]} from {n_samples} masks",
        )
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def draw_most_uncertain(digits: DigitsMC, n_show: int = 8):
    """The test digits with the highest mutual information, with label and MC prediction."""
    import matplotlib.pyplot as plt

    info = mc.mutual_information(digits.prob_samples)
    probs = digits.mc_probs(len(digits.prob_samples))
    deterministic = digits.weight_scaled_probs
    order = np.argsort(info)[::-1][:n_show]
    figure, axes = plt.subplots(1, n_show, figsize=(1.6 * n_show, 2.6))
    for axis, index in zip(np.atleast_1d(axes), order):
        axis.imshow(digits.X_test[index].reshape(8, 8), cmap="gray_r")
        guess, ws_guess = int(probs[index].argmax()), int(deterministic[index].argmax())
        axis.set_title(
            f"label {digits.y_test[index]}, MI {info[index]:.2f}\n"
            f"MC: {guess} ({probs[index, guess]:.2f})\n"
            f"WS: {ws_guess} ({deterministic[index, ws_guess]:.2f})",
            fontsize=8,
            color="C3" if guess != digits.y_test[index] else "k",
        )
        axis.axis("off")
    figure.suptitle(
        "the test digits on which the masks disagree most: MC average and weight "
        "scaling (WS), top class (probability); red = MC is wrong",
        fontsize=9,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.9))
    return figure


# --- the numbers the prose quotes --------------------------------------------------------------


def key_numbers(toy: ToyRegression, digits: DigitsMC) -> dict[str, str]:
    """The measured numbers notebook 06's prose quotes about ``toy`` and ``digits`` (the fits
    of :data:`TOY_FIT` and :data:`DIGITS_FIT`), formatted as the prose quotes them."""
    n_masks = len(toy.samples)
    region = toy.region_std(n_masks)
    coverage = band_coverage(toy, n_masks)
    auroc = rotation_detection_auroc(digits)
    curves, y = digits.curves, digits.y_test
    scaled = digits.weight_scaled_probs
    numbers = {
        "toy_masks": str(n_masks),
        "std_data": f"{region['on the data']:.3f}",
        "std_gap": f"{region['inside the gap']:.3f}",
        "std_beyond": f"{region['beyond the data']:.3f}",
        "ratio_gap": f"{region['inside the gap'] / region['on the data']:.1f}",
        "ratio_beyond": f"{region['beyond the data'] / region['on the data']:.1f}",
        "coverage_model": f"{100 * coverage['model only']:.0f}%",
        "coverage_noise": f"{100 * coverage['model + noise']:.0f}%",
        "auroc_mi": f"{auroc['MC, mutual information']:.2f}",
        "auroc_entropy": f"{auroc['MC, predictive entropy']:.2f}",
        "auroc_scaled": f"{auroc['weight scaling, 1 - max prob']:.2f}",
        "n_test": str(len(y)),
        "digit_masks": str(len(digits.prob_samples)),
        "error_scaled": f"{100 * error_rate(scaled, y):.1f}%",
        "ece_scaled": f"{mc.expected_calibration_error(scaled, y):.3f}",
        "nll_scaled": f"{nll(scaled, y):.3f}",
    }
    for n_samples in (1, 10, len(digits.prob_samples)):
        numbers[f"error_S{n_samples}"] = f"{100 * curves['error'][n_samples - 1]:.1f}%"
        numbers[f"ece_S{n_samples}"] = f"{curves['ece'][n_samples - 1]:.3f}"
        numbers[f"nll_S{n_samples}"] = f"{curves['nll'][n_samples - 1]:.3f}"
    return numbers


def record_numbers(path: Path = NUMBERS_PATH) -> dict[str, str]:
    """Fit the notebook's two networks and write their :func:`key_numbers` to ``path``."""
    numbers = key_numbers(fit_toy_regression(**TOY_FIT), fit_digits(**DIGITS_FIT))
    Path(path).write_text(json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    return numbers


def load_numbers(path: Path = NUMBERS_PATH) -> dict[str, str]:
    """The recorded :func:`key_numbers` of the notebook's fits."""
    return json.loads(Path(path).read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Fit notebook 06's two networks and record the numbers its prose quotes."
    )
    parser.add_argument(
        "--out", type=Path, default=NUMBERS_PATH, help="default: beside this module"
    )
    args = parser.parse_args(argv)
    numbers = record_numbers(args.out)
    print(f"wrote {len(numbers)} numbers to {args.out}")


if __name__ == "__main__":
    main()

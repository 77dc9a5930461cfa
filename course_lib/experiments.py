"""Dropout experiments on the digits set: one training run, and paired comparisons over seeds.

Run from the command line, e.g. the comparison that the README quotes (``make experiment``)::

    python -m course_lib.experiments --p-drop 0 --p-drop 0.1,0.3,0.3 --hidden 256 256 \
        --epochs 150 --seeds 0 1 2 3 4 5 6 7 8 9 --workers 2

It prints each configuration's mean test error with its t-interval and its paired difference
from the first configuration with the p-value of the paired t-test (:func:`comparison_table`);
``--out FILE`` also writes the runs as JSON (:func:`compare_and_record`).
``experiments_digits.json`` beside this module is the record the README quotes
(:data:`RECORD_PATH`).

Each seed fixes the data split, the initial weights and the training randomness
(:func:`seed_streams`); every configuration sees the same three for a given seed, so the
comparison is paired. :func:`rates_not_worse` says which rates of a sweep are defensible
choices on the validation set (the course's one rule for "significantly worse"), and
:func:`smooth`, :func:`epochs_to_reach` and :func:`best_epoch` read a validation curve.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_nonnegative,
    check_open_unit,
    check_p_drop,
    check_positive,
    check_probability,
)
from .data import load_digits_split
from .nn import MLP, History, evaluate, one_blas_thread, train
from .records import progress_printer, record_header
from .stats import PairedComparison, paired_comparison


def seed_streams(seed: int, n_streams: int = 3) -> tuple[np.random.Generator, ...]:
    """Independent generators derived from one seed: one ``default_rng`` per child of
    ``np.random.SeedSequence(seed).spawn(n_streams)``.

    A run of the course uses the first three for the data split, the initial weights and the
    training (shuffles and masks); a recipe that needs more (notebook 06 samples masks after
    training) asks for more, and its first streams are the same, since child ``i`` does not depend
    on ``n_streams``. Every call builds fresh generators, so calling again with the same seed
    replays the same draws.

    Parameters
    ----------
    seed : int >= 0
    n_streams : int >= 1

    Returns
    -------
    tuple of ``n_streams`` numpy.random.Generator
    """
    seed = check_count(seed, "seed")
    n_streams = check_count(n_streams, "n_streams", minimum=1)
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_streams))


@dataclass(frozen=True)
class RunResult:
    """One training run: its settings, final test error and history."""

    p_drop: tuple[float, ...]
    seed: int
    n_train: int
    test_error: float
    history: History
    seconds: float


def run_digits(
    p_drop,
    *,
    seed: int,
    n_train: int = 1000,
    hidden: tuple[int, ...] = (1024, 1024),
    epochs: int = 300,
    lr: float = 0.05,
    batch_size: int = 100,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    max_norm: float | None = None,
    dtype=np.float32,
    progress: bool = False,
) -> RunResult:
    """Train a ``64-hidden-10`` MLP on ``n_train`` digits and measure its test error.

    ``p_drop`` follows :class:`course_lib.nn.MLP` (one rate per dropout site, or one for the
    hidden layers). The seed is split into independent streams for the data split, the weights
    and the training (shuffles and masks). ``hidden`` is a sequence of widths >= 1, one per
    hidden layer; ``dtype`` a floating dtype.
    """
    hidden = _check_hidden(hidden)
    split_rng, init_rng, train_rng = seed_streams(seed)
    split = load_digits_split(n_train, rng=split_rng, dtype=dtype)
    model = MLP([split.X_train.shape[1], *hidden, 10], p_drop, rng=init_rng, dtype=dtype)
    started = time.perf_counter()
    history = train(
        model,
        split.X_train,
        split.y_train,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        rng=train_rng,
        momentum=momentum,
        weight_decay=weight_decay,
        max_norm=max_norm,
        X_val=split.X_val,
        y_val=split.y_val,
        progress=progress,
    )
    test_error = evaluate(model, split.X_test, split.y_test)[1]
    return RunResult(
        model.p_drop, seed, n_train, test_error, history, time.perf_counter() - started
    )


def _check_hidden(hidden) -> tuple[int, ...]:
    """The widths of the hidden layers: a sequence of integers >= 1 (empty for none)."""
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        raise ArgumentTypeError(
            f"hidden must be a sequence of widths >= 1, one per hidden layer, got {hidden!r}"
        )
    return tuple(check_count(width, f"hidden[{i}]", minimum=1) for i, width in enumerate(hidden))


def _check_configs(configs) -> None:
    if not isinstance(configs, Mapping):
        raise ArgumentTypeError(
            f"configs must be a mapping {{name: p_drop}}, got {type(configs).__name__}"
        )
    if not configs:
        raise ValueError("configs must hold at least one configuration {name: p_drop}, got none")


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ArgumentTypeError(f"seeds must be a sequence of integers >= 0, got {seeds!r}")
    seeds = [check_count(seed, f"seeds[{i}]") for i, seed in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got none")
    return seeds


def run_jobs(function, jobs, *, workers: int = 1, on_done=None, on_result=None) -> list:
    """``[function(*job) for job in jobs]``, in that order, with ``workers`` processes.

    Every run of the course is deterministic given its arguments (its randomness comes from its
    seed, BLAS runs on one thread), so the results do not depend on ``workers``. The pool starts
    its processes with ``spawn``: a forked child would inherit the parent's BLAS thread state. A
    script that calls this with ``workers > 1`` needs the ``if __name__ == "__main__":`` guard
    that ``spawn`` requires.

    Parameters
    ----------
    function : callable, importable by name (a module-level function)
    jobs : sequence of tuples of arguments
    workers : int >= 1
    on_done : callable(index, done) or None
        Called as each job finishes (index in ``jobs``, number finished so far).
    on_result : callable(index, done, result) or None
        The same, with the job's result.
    """
    workers = check_count(workers, "workers", minimum=1)
    jobs = list(jobs)
    finished: list = [None] * len(jobs)
    if workers == 1:
        for index, job in enumerate(jobs):
            finished[index] = function(*job)
            _report(on_done, on_result, index, index + 1, finished[index])
        return finished
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(function, *job): index for index, job in enumerate(jobs)}
        for done, future in enumerate(as_completed(futures), start=1):
            index = futures[future]
            finished[index] = future.result()
            _report(on_done, on_result, index, done, finished[index])
    return finished


def _report(on_done, on_result, index: int, done: int, result) -> None:
    if on_done is not None:
        on_done(index, done)
    if on_result is not None:
        on_result(index, done, result)


def compare_on_digits(
    configs, seeds, *, workers: int = 1, **settings
) -> dict[str, list[RunResult]]:
    """Run every configuration (``{name: p_drop}``, at least one) with every seed (integers
    >= 0, at least one); results keyed by name, in seed order. ``workers`` processes train at
    once (:func:`run_jobs`); the results do not depend on it."""
    _check_configs(configs)
    seeds = _check_seeds(seeds)
    jobs = [(p_drop, seed, settings) for p_drop in configs.values() for seed in seeds]
    runs = iter(run_jobs(_run_digits_job, jobs, workers=workers))
    return {name: [next(runs) for _ in seeds] for name in configs}


def _run_digits_job(p_drop, seed: int, settings: dict) -> RunResult:
    return run_digits(p_drop, seed=seed, **settings)


# --- one run of notebook 07's sweeps, summarized -------------------------------------------------

LR, BATCH_SIZE = 0.05, 100  # run_digits's defaults, used by every run of notebook 07
CONFIG_KEYS = ("p_drop", "hidden", "n_train", "epochs", "weight_decay", "max_norm")
# Fixed bins of the activation histograms of a run (the last bin also counts larger values).
UNIT_MEAN_BINS = np.linspace(0.0, 2.0, 41)
ACTIVATION_BINS = np.linspace(0.0, 4.0, 41)


def activation_summary(model: MLP, X: np.ndarray, near_zero: float) -> dict:
    """Sparsity of each hidden layer's post-ReLU activations at inference on ``X``.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (N, D)
    near_zero : float > 0
        An activation below this counts as near zero.

    Returns
    -------
    ``{"layers": [...]}``, one dict per hidden layer: the fraction of activations that are
    exactly 0 (``"zero"``) and below ``near_zero`` (``"near_zero"``), the mean activation, and
    histograms (counts over :data:`UNIT_MEAN_BINS` of each unit's mean over ``X``,
    ``"unit_mean_hist"``, and over :data:`ACTIVATION_BINS` of all activations,
    ``"activation_hist"``; larger values in the last bin).
    """
    if not isinstance(model, MLP):
        raise ArgumentTypeError(f"model must be a course_lib.nn.MLP, got {type(model).__name__}")
    near_zero = check_positive(near_zero, "near_zero")
    layers = []
    for activations in model.hidden_activations(X):
        activations = np.asarray(activations, dtype=np.float64)
        unit_means = activations.mean(axis=0)
        layers.append(
            {
                "zero": float(np.mean(activations == 0.0)),
                "near_zero": float(np.mean(activations < near_zero)),
                "mean": float(activations.mean()),
                "unit_mean_hist": _histogram(unit_means, UNIT_MEAN_BINS),
                "activation_hist": _histogram(activations.ravel(), ACTIVATION_BINS),
            }
        )
    return {"layers": layers}


def _histogram(values: np.ndarray, bins: np.ndarray) -> list[int]:
    counts, _ = np.histogram(np.minimum(values, bins[-1]), bins=bins)
    return counts.tolist()


def _check_config(config) -> None:
    if not isinstance(config, Mapping):
        raise ArgumentTypeError(
            f"config must be a mapping with the keys {', '.join(CONFIG_KEYS)}, "
            f"got {type(config).__name__}"
        )
    missing = [key for key in CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(
            f"config must have the keys {', '.join(CONFIG_KEYS)}, missing {', '.join(missing)}"
        )
    hidden = config["hidden"]
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, (list, tuple)):
        raise ArgumentTypeError(f"config['hidden'] must be a list of widths >= 1, got {hidden!r}")
    for i, width in enumerate(hidden):
        check_count(width, f"config['hidden'][{i}]", minimum=1)
    check_count(config["n_train"], "config['n_train']", minimum=1)
    check_count(config["epochs"], "config['epochs']", minimum=1)
    check_nonnegative(config["weight_decay"], "config['weight_decay']")
    if config["max_norm"] is not None:
        check_positive(config["max_norm"], "config['max_norm']")


def train_run(config: Mapping, seed: int, *, near_zero: float = 0.1) -> dict:
    """Train one configuration with one seed and summarize the run as plain (JSON) data.

    The recipe is :func:`run_digits`'s (the streams of :func:`seed_streams`, float32, SGD with
    momentum 0.9 at lr :data:`LR`, batches of :data:`BATCH_SIZE`), so its test error is the
    same; BLAS runs on one thread.

    Parameters
    ----------
    config : mapping with the keys of :data:`CONFIG_KEYS`
        ``p_drop`` (one rate per dropout site: input and each hidden layer, as in
        :class:`~course_lib.nn.MLP`), ``hidden`` (widths, each >= 1), ``n_train`` (>= 1),
        ``epochs`` (>= 1), ``weight_decay`` (>= 0) and ``max_norm`` (None or > 0); optionally
        ``noise`` (``"bernoulli"``, the default, or ``"gaussian"``; see
        :class:`~course_lib.nn.MLP`).
    seed : int >= 0
    near_zero : float > 0
        Threshold of :func:`activation_summary`.

    Returns
    -------
    dict with ``seed``, ``test_error``, ``val_mistakes`` (misclassified validation images per
    epoch), ``n_val``, ``final_train_loss``, ``final_train_error``, ``activations`` (on the test
    set, see :func:`activation_summary`) and ``seconds`` (training time).
    """
    _check_config(config)
    noise = config.get("noise", "bernoulli")
    seed = check_count(seed, "seed")
    near_zero = check_positive(near_zero, "near_zero")
    with one_blas_thread():
        split_rng, init_rng, train_rng = seed_streams(seed)
        split = load_digits_split(config["n_train"], rng=split_rng, dtype=np.float32)
        model = MLP(
            [split.X_train.shape[1], *config["hidden"], 10],
            config["p_drop"],
            rng=init_rng,
            noise=noise,
            dtype=np.float32,
        )
        started = time.perf_counter()
        history = train(
            model,
            split.X_train,
            split.y_train,
            epochs=config["epochs"],
            lr=LR,
            batch_size=BATCH_SIZE,
            rng=train_rng,
            weight_decay=config["weight_decay"],
            max_norm=config["max_norm"],
            X_val=split.X_val,
            y_val=split.y_val,
        )
        seconds = time.perf_counter() - started
        n_val = len(split.y_val)
        return {
            "seed": seed,
            "test_error": float(evaluate(model, split.X_test, split.y_test)[1]),
            # whole numbers of misclassified validation images: exact and compact
            "val_mistakes": [round(error * n_val) for error in history.val_error],
            "n_val": n_val,
            "final_train_loss": float(history.train_loss[-1]),
            "final_train_error": float(history.train_error[-1]),
            "activations": activation_summary(model, split.X_test, near_zero),
            "seconds": round(seconds, 2),
        }


# --- the dropout-rate sweep (the reference of notebook 07's exercise) ---------------------------


def hidden_widths(hidden, p_drop: float, keep_product: bool) -> tuple[int, ...]:
    """Units per hidden layer: ``hidden`` itself, or ``round(n / keep_prob)`` for each ``n`` so
    that the expected number of kept units ``n * keep_prob`` stays at the given ``n``."""
    p_drop = check_p_drop(p_drop)
    widths = _check_hidden(hidden)
    if not keep_product:
        return widths
    return tuple(max(1, round(n / (1.0 - p_drop))) for n in widths)


def sweep_errors(
    p_drops,
    *,
    seed: int,
    n_train: int = 1000,
    hidden=(256, 256),
    epochs: int = 150,
    keep_product: bool = False,
) -> dict[str, np.ndarray]:
    """Train one fresh network per ``p_drop`` and return its test, validation and training errors.

    Each run is :func:`run_digits`'s recipe (float32, lr 0.05, batches of 100): the streams are
    rebuilt from ``seed`` for every ``p_drop``, so every network sees the same split, initial
    weights (for equal widths) and batch order. ``p_drop`` drops hidden units; inputs are kept
    whole. Returns ``{"test", "val", "train"}``, each of shape ``(len(p_drops),)``, in the order
    of ``p_drops`` (a sequence of rates in [0, 1)); ``hidden`` is a sequence of widths >= 1.
    """
    p_drops = _check_rates(p_drops)
    _check_hidden(hidden)
    errors = {"test": [], "val": [], "train": []}
    with one_blas_thread():
        for p_drop in p_drops:
            split_rng, init_rng, train_rng = seed_streams(seed)
            split = load_digits_split(n_train, rng=split_rng, dtype=np.float32)
            widths = hidden_widths(hidden, p_drop, keep_product)
            model = MLP(
                [split.X_train.shape[1], *widths, 10], p_drop, rng=init_rng, dtype=np.float32
            )
            train(
                model,
                split.X_train,
                split.y_train,
                epochs=epochs,
                lr=0.05,
                batch_size=100,
                rng=train_rng,
            )
            for name, X, y in (
                ("test", split.X_test, split.y_test),
                ("val", split.X_val, split.y_val),
                ("train", split.X_train, split.y_train),
            ):
                errors[name].append(evaluate(model, X, y)[1])
    return {name: np.array(values, dtype=float) for name, values in errors.items()}


def sweep_p_drop(
    p_drops,
    *,
    seed: int,
    n_train: int = 1000,
    hidden=(256, 256),
    epochs: int = 150,
    keep_product: bool = False,
) -> np.ndarray:
    """Test error of one fresh network per ``p_drop`` (see :func:`sweep_errors`)."""
    return sweep_errors(
        p_drops, seed=seed, n_train=n_train, hidden=hidden, epochs=epochs, keep_product=keep_product
    )["test"]


def _check_rates(p_drops) -> list[float]:
    """The rates of a sweep: a sequence (or 1-D array) of floats in [0, 1)."""
    if isinstance(p_drops, np.ndarray) and p_drops.ndim != 1:
        raise ValueError(f"p_drops must be a 1-D sequence of rates, got shape {p_drops.shape}")
    if isinstance(p_drops, (str, bytes)) or not isinstance(p_drops, (Sequence, np.ndarray)):
        raise ArgumentTypeError(f"p_drops must be a sequence of rates in [0, 1), got {p_drops!r}")
    return [check_probability(rate, f"p_drops[{i}]") for i, rate in enumerate(p_drops)]


# --- choosing a rate on the validation set: the one rule for "significantly worse" ------------


def run_val_error(run: Mapping, last: int) -> float:
    """The validation error of one recorded run (a :func:`train_run` summary): its
    ``val_mistakes`` of the last ``last`` epochs averaged, over ``n_val`` images. One epoch's
    error jumps by a whole image; the average of a few is what a rate is chosen on.

    ``run`` needs ``n_val`` (an integer >= 1) and ``val_mistakes`` (at least one count in
    ``[0, n_val]``); ``last`` is an integer >= 1.
    """
    last = check_count(last, "last", minimum=1)
    _check_run(run)
    return float(np.mean(run["val_mistakes"][-last:]) / run["n_val"])


def _check_run(run) -> None:
    if not isinstance(run, Mapping):
        raise ArgumentTypeError(
            f"run must be a train_run summary (a mapping), got {type(run).__name__}"
        )
    missing = [key for key in ("val_mistakes", "n_val") if key not in run]
    if missing:
        raise ValueError(f"run must have the keys val_mistakes and n_val, missing {missing}")
    n_val = check_count(run["n_val"], "run['n_val']", minimum=1)
    mistakes = _check_curve(run["val_mistakes"], "run['val_mistakes']")
    if mistakes.size == 0:
        raise ValueError("run['val_mistakes'] must hold at least one epoch, got none")
    if not np.all((mistakes >= 0) & (mistakes <= n_val)):
        raise ValueError(
            f"run['val_mistakes'] must hold counts in [0, {n_val}] (run['n_val']), got "
            f"values in [{mistakes.min()}, {mistakes.max()}]"
        )


def mean_val_error(runs, last: int) -> float:
    """:func:`run_val_error` averaged over ``runs`` (one per seed, at least one)."""
    if isinstance(runs, (str, bytes, Mapping)) or not isinstance(runs, Iterable):
        raise ArgumentTypeError(
            f"runs must be a sequence of train_run summaries, got {type(runs).__name__}"
        )
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one run (one per seed), got none")
    return float(np.mean([run_val_error(run, last) for run in runs]))


def _check_curve(curve, name: str) -> np.ndarray:
    try:
        values = np.asarray(curve, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a sequence of numbers, got {curve!r}") from None
    if values.ndim != 1:
        raise ValueError(f"{name} must have 1 dimension, got shape {values.shape}")
    return values


SIGNIFICANCE = 0.05  # the level of "significantly worse" (see rates_not_worse)

#: :func:`rates_not_worse` in words, as both notebooks that choose a rate (01 and 07) state it
NOT_WORSE_RULE = (
    "A rate is significantly worse than the rate with the lowest mean validation error when a "
    "one-sided paired t-test over the seeds, which asks whether its validation error is higher, "
    f"gives p < {SIGNIFICANCE:g}; every rate that is not significantly worse is a defensible "
    "choice."
)


def _check_errors_table(errors, name: str) -> np.ndarray:
    try:
        table = np.asarray(errors, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(
            f"{name} must be an array of shape (rates, seeds), got {errors!r}"
        ) from None
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] < 2:
        raise ValueError(
            f"{name} must have shape (rates, seeds) with >= 1 rate and >= 2 seeds, got shape "
            f"{table.shape}"
        )
    if not np.all(np.isfinite(table)):
        raise ValueError(f"{name} must hold finite errors, got {table}")
    return table


def errors_table(val_errors: Mapping) -> tuple[list, np.ndarray]:
    """A mapping ``{p_drop: errors per seed}`` as the rates (in the mapping's order) and an
    array of shape (rates, seeds), the form :func:`rates_not_worse` reads.

    Raises
    ------
    ValueError
        If the mapping is empty, or its rates do not have the same number (>= 2) of seeds.
    """
    if not isinstance(val_errors, Mapping) or not val_errors:
        raise ValueError("val_errors must be a non-empty mapping {p_drop: errors per seed}")
    rows = [_check_curve(errors, "val_errors") for errors in val_errors.values()]
    if len({row.size for row in rows}) != 1:
        raise ValueError("val_errors must give every p_drop the same number of seeds")
    return list(val_errors), _check_errors_table(rows, "val_errors")


def lowest_mean(val_errors) -> int:
    """The row of ``val_errors`` (shape (rates, seeds)) with the lowest mean over seeds, the
    first if tied: the best rate on validation."""
    table = _check_errors_table(val_errors, "val_errors")
    return int(np.argmin(table.mean(axis=1)))


def against_lowest(val_errors) -> tuple[int, list[PairedComparison]]:
    """The :func:`lowest_mean` row of ``val_errors`` (shape (rates, seeds)) and, for every row
    ``r``, ``paired_comparison(val_errors[r], val_errors[lowest])`` (the lowest row against
    itself included): what :func:`rates_not_worse` decides on, for quoting."""
    table = _check_errors_table(val_errors, "val_errors")
    best = lowest_mean(table)
    return best, [paired_comparison(row, table[best], sign_flip=False) for row in table]


def rates_not_worse(val_errors, level: float = SIGNIFICANCE) -> np.ndarray:
    """Which rates of a sweep are defensible choices on the validation set: the course's one
    rule for "not significantly worse than the best" (:data:`NOT_WORSE_RULE`).

    Each rate is compared with the rate of the lowest mean validation error seed by seed (both
    were trained on the same split, initial weights and batch order): it is significantly worse
    when the one-sided p-value ``p_greater`` of the paired t-test
    (:func:`course_lib.stats.paired_comparison`, ``df = seeds - 1``) is below ``level``. The
    lowest rate itself is always defensible.

    Why one-sided: the question is directional, "is this rate worse than the best?". A rate
    whose errors are *lower* is never a reason to reject it, and a two-sided test at the same
    level would spend half of ``level`` on that impossible side, so a rate that is worse with
    p = 0.03 (one-sided) would pass as "not different". Since every rate's mean is at least the
    lowest, its one-sided p-value is half its two-sided one. Two caveats the level does not
    cover: the lowest rate is chosen on the same errors, which favours it a little (its mean is
    biased low), and with many rates some comparisons come out significant by chance. The rule
    is a screen for defensible choices, not a family-wise test.

    Parameters
    ----------
    val_errors : array, shape (R, S)
        Validation error of rate ``r`` (row) with seed ``s`` (column), S >= 2.
    level : float in (0, 1)
        Significance level of the one-sided paired t-test.

    Returns
    -------
    ndarray of bool, shape (R,)

    Raises
    ------
    ValueError
        If ``val_errors`` is not of shape (R, S) with R >= 1 and S >= 2, holds a value that is
        not finite, or ``level`` is not in (0, 1).
    """
    level = check_open_unit(level, "level")
    best, comparisons = against_lowest(val_errors)
    return np.array(
        [r == best or c.p_greater >= level for r, c in enumerate(comparisons)], dtype=bool
    )


def choose_p_drop(val_errors: Mapping, test_errors: Mapping | None = None) -> float:
    """The ``p_drop`` with the lowest mean validation error over seeds (the first, if tied).

    The reference of notebook 01's exercise. ``test_errors`` is accepted and ignored on purpose:
    a rate chosen on the test errors makes the test error of the chosen network an optimistic
    estimate. Any rate of :func:`rates_not_worse` is an equally defensible choice; this one is
    always among them.

    Parameters
    ----------
    val_errors : mapping {p_drop: sequence of float, one per seed}
        Every rate with the same seeds (at least 2), in the same order.
    test_errors : mapping of the same form, or None
        Not used.

    Returns
    -------
    float, one of the keys of ``val_errors``

    Raises
    ------
    ValueError
        If ``val_errors`` is empty, a key is not a rate in [0, 1), or its rates do not have the
        same number of seeds.
    """
    rates, table = errors_table(val_errors)
    for rate in rates:
        try:
            check_p_drop(rate)
        except ValueError as error:
            raise type(error)(
                f"val_errors must be keyed by rates p_drop in [0, 1), got the key {rate!r}"
            ) from None
    return rates[lowest_mean(table)]


def choose_sweep_rate(p_drops, val_errors, test_errors=None) -> float:
    """The reference of notebook 07's exercise ``choose_sweep_rate``: the rate with the lowest
    validation error averaged over seeds (the first, if tied), always one of
    :func:`rates_not_worse`. ``test_errors`` are not used: a rate chosen on the test set makes
    its test error look better than it will be.

    Parameters
    ----------
    p_drops : sequence of float, shape (R,)
    val_errors : array, shape (R, S), S >= 2
    test_errors : ignored

    Returns
    -------
    float, one of ``p_drops``
    """
    rates = _check_rates(p_drops)
    table = _check_errors_table(val_errors, "val_errors")
    if table.shape[0] != len(rates):
        raise ValueError(
            f"val_errors must have one row per rate: {len(rates)} rows, got {table.shape[0]}"
        )
    return rates[lowest_mean(table)]


# --- reading a validation curve -----------------------------------------------------------------


def smooth(curve, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` epochs (the first epochs average what there is so
    far): entry ``t`` is the mean of ``curve[max(0, t - window + 1):t + 1]``.

    Parameters
    ----------
    curve : sequence of float, shape (T,)
    window : int >= 1

    Returns
    -------
    ndarray of float64, shape (T,)
    """
    curve = _check_curve(curve, "curve")
    window = check_count(window, "window", minimum=1)
    # a window longer than the curve averages what there is so far at every epoch, as one of its
    # length does: cap it, so that the zeros below stay as short as the curve
    window = min(window, max(len(curve), 1))
    sums = np.cumsum(curve)
    counts = np.minimum(np.arange(1, len(curve) + 1), window)
    shifted = np.concatenate([np.zeros(window), sums])[: len(curve)]
    return (sums - shifted) / counts


def epochs_to_reach(curve, threshold: float, window: int) -> float:
    """First epoch (1-based) at which the :func:`smooth`-ed curve is <= ``threshold``; NaN if
    never.

    Parameters
    ----------
    curve : sequence of float, shape (T,)
        An error per epoch.
    threshold : float >= 0
    window : int >= 1
    """
    threshold = check_nonnegative(threshold, "threshold")
    below = np.flatnonzero(smooth(curve, window) <= threshold + 1e-12)
    return float(below[0] + 1) if below.size else math.nan


def best_epoch(curve, window: int) -> int:
    """Epoch (1-based) of the lowest :func:`smooth`-ed value of ``curve`` (the first, if tied).

    Parameters
    ----------
    curve : sequence of float, shape (T,), T >= 1
    window : int >= 1
    """
    smoothed = smooth(curve, window)
    if smoothed.size == 0:
        raise ValueError("curve must hold at least one epoch, got an empty curve")
    return int(np.argmin(smoothed) + 1)


def _rates(text: str):
    rates = [float(part) for part in text.split(",")]
    return rates[0] if len(rates) == 1 else rates


# --- the command line: a paired comparison on the digits, printed and recorded ----------------

#: the options of :func:`main` that change how a comparison runs or where it goes, not its results
_NOT_RESULTS = {"--workers": 1, "--out": 1, "--progress": 0, "--confidence": 1}
COMMAND = "python -m course_lib.experiments"
#: the record of the comparison the README quotes, written by its ``command`` with ``--out``
RECORD_PATH = Path(__file__).with_name("experiments_digits.json")


def command_line(argv) -> str:
    """The command that reproduces a comparison: ``COMMAND`` and ``argv`` without the options
    that do not change the runs (``--workers``, ``--out``, ``--progress``, ``--confidence``)."""
    kept, skip = [], 0
    for arg in argv:
        if skip:
            skip -= 1
            continue
        name = arg.partition("=")[0]
        if name in _NOT_RESULTS:
            skip = _NOT_RESULTS[name] if "=" not in arg else 0
            continue
        kept.append(arg)
    return " ".join([COMMAND, *kept])


def _digits_job(p_drop, seed: int, settings: dict) -> dict:
    """One run of :func:`compare_and_record`, on one BLAS thread so that its numbers do not
    depend on the machine's cores or on the number of workers."""
    with one_blas_thread():
        run = run_digits(p_drop, seed=seed, **settings)
    return {
        "seed": run.seed,
        "test_error": run.test_error,
        "final_train_error": float(run.history.train_error[-1]),
        "seconds": round(run.seconds, 1),
    }


def compare_and_record(
    configs, seeds, *, command: str = COMMAND, workers: int = 1, progress: bool = False, **settings
) -> dict:
    """Run every configuration (``{name: p_drop}``) with every seed (see :func:`run_digits`,
    whose keyword arguments ``settings`` are) and return a record of the runs as plain data:
    the command, the versions, the settings and, per configuration, one entry per seed.
    ``configs`` and ``seeds`` each hold at least one entry; seeds are integers >= 0."""
    _check_configs(configs)
    seeds = _check_seeds(seeds)
    jobs = [(p_drop, seed, settings) for p_drop in configs.values() for seed in seeds]
    started = time.perf_counter()
    labels = [f"p_drop={p_drop} seed {seed}" for p_drop, seed, _ in jobs]
    report = progress_printer(labels, started, enabled=progress)
    runs = iter(run_jobs(_digits_job, jobs, workers=workers, on_done=report))
    return {
        **record_header(command, started, key="command", created=False, workers=workers),
        "settings": {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in settings.items()
        },
        "seeds": seeds,
        "configs": {name: p_drop for name, p_drop in configs.items()},
        "runs": {name: [next(runs) for _ in seeds] for name in configs},
    }


def write_record(record: dict, path) -> None:
    """Write a record of :func:`compare_and_record` as JSON (indented by one space)."""
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


def comparison_table(record: dict, confidence: float = 0.95) -> str:
    """The table :func:`main` prints: per configuration the mean test error over seeds with its
    t-interval, and its paired difference from the first configuration with the interval and
    the two-sided p-value of the paired t-test (see :mod:`course_lib.stats`).

    ``record`` is one of :func:`compare_and_record` (at least one configuration, one run per
    seed in each); ``confidence`` is in (0, 1), even when one seed leaves no interval to print.
    """
    from .stats import t_interval

    confidence = check_open_unit(confidence, "confidence")
    _check_record(record)
    names = list(record["runs"])
    errors = {name: [run["test_error"] for run in record["runs"][name]] for name in names}
    n = len(record["seeds"])
    level = f"{100 * confidence:g}%"
    lines = [
        f"test error over {n} seeds {record['seeds']}; intervals: {level} t-intervals, "
        f"df = {n - 1}",
        f"{'p_drop':>18}  {'mean':>7}  {level + ' interval':>18}  "
        f"{'minus ' + names[0]:>16}  {level + ' interval':>20}  {'p-value':>8}",
    ]
    for name in names:
        mean = t_interval(errors[name], confidence) if n > 1 else None
        row = f"{name:>18}  {100 * np.mean(errors[name]):6.2f}%  "
        row += (
            f"[{100 * mean.low:5.2f}%, {100 * mean.high:5.2f}%]" if mean else f"{'-':>18}"
        ).rjust(18)
        if name != names[0] and n > 1:
            paired = paired_comparison(errors[name], errors[names[0]], confidence)
            row += (
                f"  {100 * paired.mean:+14.2f} pp  [{100 * paired.low:+6.2f}, "
                f"{100 * paired.high:+6.2f}] pp  {paired.p_value:8.3f}"
            )
        lines.append(row)
    lines.append(
        "per seed: "
        + "; ".join(
            f"{name}: " + ", ".join(f"{100 * e:.2f}%" for e in errors[name]) for name in names
        )
    )
    return "\n".join(lines)


def _check_record(record) -> None:
    if not isinstance(record, Mapping):
        raise ArgumentTypeError(
            f"record must be a record of compare_and_record (a mapping), got "
            f"{type(record).__name__}"
        )
    missing = [key for key in ("seeds", "runs") if key not in record]
    if missing:
        raise ValueError(f"record must have the keys seeds and runs, missing {missing}")
    seeds, runs = record["seeds"], record["runs"]
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ValueError(f"record['seeds'] must list at least one seed, got {seeds!r}")
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError(
            "record['runs'] must map at least one configuration to its runs, got "
            + ("none" if isinstance(runs, Mapping) else type(runs).__name__)
        )
    for name, seed_runs in runs.items():
        if not isinstance(seed_runs, (list, tuple)) or len(seed_runs) != len(seeds):
            raise ValueError(
                f"record['runs'][{name!r}] must be a list of one run per seed ({len(seeds)}), "
                "got "
                + (
                    f"{len(seed_runs)} runs"
                    if isinstance(seed_runs, (list, tuple))
                    else type(seed_runs).__name__
                )
            )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument(
        "--p-drop",
        action="append",
        type=_rates,
        required=True,
        help="one rate for the hidden layers, or comma-separated rates for the "
        "input and each hidden layer; repeat to compare (the first is the baseline)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-norm", type=float, default=None)
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="of the t-intervals (default 0.95)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that train at once (default 1); the results do not depend on it",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="also write the runs to this JSON file"
    )
    parser.add_argument("--progress", action="store_true", help="one line per finished run")
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    if args.workers < 1:
        parser.error(f"--workers must be an integer >= 1, got {args.workers}")
    if not 0.0 < args.confidence < 1.0:  # checked before hours of training, not after
        parser.error(f"--confidence must be in (0, 1), got {args.confidence}")
    record = compare_and_record(
        {str(rates): rates for rates in args.p_drop},
        args.seeds,
        command=command_line(raw),
        workers=args.workers,
        progress=args.progress,
        n_train=args.n_train,
        hidden=tuple(args.hidden),
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_norm=args.max_norm,
    )
    print(comparison_table(record, confidence=args.confidence))
    if args.out is not None:
        write_record(record, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

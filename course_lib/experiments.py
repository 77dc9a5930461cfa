"""Dropout experiments on the digits set: one training run, and paired comparisons over seeds.

Run from the command line, e.g. the comparison of the course's foundation::

    python -m course_lib.experiments --p-drop 0 --p-drop 0.1,0.3,0.3 --seeds 0 1 2

Each seed fixes the data split, the initial weights and the training randomness; every
configuration sees the same three for a given seed, so the comparison is paired.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from ._validate import check_count, check_p_drop
from .data import load_digits_split
from .nn import MLP, History, evaluate, one_blas_thread, train


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


def run_digits(p_drop, *, seed: int, n_train: int = 1000, hidden: tuple[int, ...] = (1024, 1024),
               epochs: int = 300, lr: float = 0.05, batch_size: int = 100,
               momentum: float = 0.9, weight_decay: float = 0.0, max_norm: float | None = None,
               dtype=np.float32, progress: bool = False) -> RunResult:
    """Train a ``64-hidden-10`` MLP on ``n_train`` digits and measure its test error.

    ``p_drop`` follows :class:`course_lib.nn.MLP` (one rate per dropout site, or one for the
    hidden layers). The seed is split into independent streams for the data split, the weights
    and the training (shuffles and masks).
    """
    split_rng, init_rng, train_rng = seed_streams(seed)
    split = load_digits_split(n_train, rng=split_rng, dtype=dtype)
    model = MLP([split.X_train.shape[1], *hidden, 10], p_drop, rng=init_rng, dtype=dtype)
    started = time.perf_counter()
    history = train(model, split.X_train, split.y_train, epochs=epochs, lr=lr,
                    batch_size=batch_size, rng=train_rng,
                    momentum=momentum, weight_decay=weight_decay, max_norm=max_norm,
                    X_val=split.X_val, y_val=split.y_val, progress=progress)
    test_error = evaluate(model, split.X_test, split.y_test)[1]
    return RunResult(model.p_drop, seed, n_train, test_error, history,
                     time.perf_counter() - started)


def compare_on_digits(configs, seeds, **settings) -> dict[str, list[RunResult]]:
    """Run every configuration (``{name: p_drop}``) with every seed; results keyed by name."""
    return {name: [run_digits(p_drop, seed=seed, **settings) for seed in seeds]
            for name, p_drop in configs.items()}


# --- the dropout-rate sweep (the reference of notebook 07's exercise) ---------------------------


def hidden_widths(hidden, p_drop: float, keep_product: bool) -> tuple[int, ...]:
    """Units per hidden layer: ``hidden`` itself, or ``round(n / keep_prob)`` for each ``n`` so
    that the expected number of kept units ``n * keep_prob`` stays at the given ``n``."""
    p_drop = check_p_drop(p_drop)
    widths = tuple(check_count(n, "hidden", minimum=1) for n in hidden)
    if not keep_product:
        return widths
    return tuple(max(1, round(n / (1.0 - p_drop))) for n in widths)


def sweep_errors(p_drops, *, seed: int, n_train: int = 1000, hidden=(256, 256),
                 epochs: int = 150, keep_product: bool = False) -> dict[str, np.ndarray]:
    """Train one fresh network per ``p_drop`` and return its test, validation and training errors.

    Each run is :func:`run_digits`'s recipe (float32, lr 0.05, batches of 100): the streams are
    rebuilt from ``seed`` for every ``p_drop``, so every network sees the same split, initial
    weights (for equal widths) and batch order. ``p_drop`` drops hidden units; inputs are kept
    whole. Returns ``{"test", "val", "train"}``, each of shape ``(len(p_drops),)``, in the order
    of ``p_drops``.
    """
    p_drops = [check_p_drop(p) for p in p_drops]
    errors = {"test": [], "val": [], "train": []}
    with one_blas_thread():
        for p_drop in p_drops:
            split_rng, init_rng, train_rng = seed_streams(seed)
            split = load_digits_split(n_train, rng=split_rng, dtype=np.float32)
            widths = hidden_widths(hidden, p_drop, keep_product)
            model = MLP([split.X_train.shape[1], *widths, 10], p_drop, rng=init_rng,
                        dtype=np.float32)
            train(model, split.X_train, split.y_train, epochs=epochs, lr=0.05, batch_size=100,
                  rng=train_rng)
            for name, X, y in (("test", split.X_test, split.y_test),
                               ("val", split.X_val, split.y_val),
                               ("train", split.X_train, split.y_train)):
                errors[name].append(evaluate(model, X, y)[1])
    return {name: np.array(values, dtype=float) for name, values in errors.items()}


def sweep_p_drop(p_drops, *, seed: int, n_train: int = 1000, hidden=(256, 256),
                 epochs: int = 150, keep_product: bool = False) -> np.ndarray:
    """Test error of one fresh network per ``p_drop`` (see :func:`sweep_errors`)."""
    return sweep_errors(p_drops, seed=seed, n_train=n_train, hidden=hidden, epochs=epochs,
                        keep_product=keep_product)["test"]


def _rates(text: str):
    rates = [float(part) for part in text.split(",")]
    return rates[0] if len(rates) == 1 else rates


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p-drop", action="append", type=_rates, required=True,
                        help="one rate for the hidden layers, or comma-separated rates for the "
                             "input and each hidden layer; repeat to compare")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[1024, 1024])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--max-norm", type=float, default=None)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    configs = {str(rates): rates for rates in args.p_drop}
    results = compare_on_digits(configs, args.seeds, n_train=args.n_train,
                                hidden=tuple(args.hidden), epochs=args.epochs, lr=args.lr,
                                batch_size=args.batch_size, max_norm=args.max_norm,
                                progress=args.progress)
    for name, runs in results.items():
        errors = np.array([run.test_error for run in runs])
        per_seed = ", ".join(f"{100 * e:.2f}%" for e in errors)
        print(f"p_drop={name}: test error {100 * errors.mean():.2f}% "
              f"(seeds {args.seeds}: {per_seed}; {sum(r.seconds for r in runs):.0f} s)")


if __name__ == "__main__":
    main()

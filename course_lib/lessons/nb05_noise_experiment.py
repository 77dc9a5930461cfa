"""Notebook 05's measured experiment: does the noise of dropout change the test error?

On the digits (300 training images, a 64-256-256-10 network), three ways to regularize the hidden
layers are compared: none, Bernoulli dropout (a keep-mask, scaled by ``1 / keep_prob``) and
Gaussian dropout (noise of mean 1 and the same variance ``p_drop / keep_prob``), each noise at
the ``p_drop`` that gives it the lowest validation error. Every run is
:func:`course_lib.experiments.train_run` (a seed fixes the data split, the initial weights and
the mini-batch order, so the comparison is paired by seed).

The rates are chosen on the validation set only (mean over seeds of the validation error of the
last ``smoothing`` epochs), and the test error is kept only for the chosen configurations: it is
looked at once. The runs take minutes, so they are precomputed:
``python -m course_lib.lessons.nb05_noise_experiment --workers 2`` writes
``nb05_noise_experiment_results.json`` beside this file; the notebook loads it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import records
from ..experiments import BATCH_SIZE, LR, mean_val_error, run_jobs, train_run
from ..stats import paired_comparison

RESULTS_PATH = Path(__file__).with_name("nb05_noise_experiment_results.json")
GENERATOR = "python -m course_lib.lessons.nb05_noise_experiment"
#: what each run keeps of :func:`~course_lib.experiments.train_run`'s summary
RUN_FIELDS = ("seed", "test_error", "val_mistakes", "n_val", "final_train_error", "seconds")


@dataclass(frozen=True)
class Settings:
    """Everything the generator varies or fixes; stored in the results file."""

    seeds: tuple[int, ...] = tuple(range(16))
    n_train: int = 300
    hidden: tuple[int, ...] = (256, 256)
    epochs: int = 150
    p_drops: tuple[float, ...] = (0.3, 0.5, 0.7)
    noises: tuple[str, ...] = ("bernoulli", "gaussian")
    smoothing: int = 10  # epochs of validation error averaged to choose a rate


def make_config(settings: Settings, p_drop: float, noise: str) -> dict:
    """The :func:`~course_lib.experiments.train_run` configuration of one arm: ``p_drop`` on
    both hidden layers (the inputs kept whole) with the given noise."""
    return {
        "p_drop": [0.0] + [float(p_drop)] * len(settings.hidden),
        "hidden": [int(n) for n in settings.hidden],
        "n_train": settings.n_train,
        "epochs": settings.epochs,
        "weight_decay": 0.0,
        "max_norm": None,
        "noise": noise,
    }


def plan(settings: Settings = Settings()) -> dict[str, dict]:
    """Every configuration, ``{label: config}``: ``"none"``, then ``"<noise>/<p_drop>"``."""
    configs = {"none": make_config(settings, 0.0, "bernoulli")}
    for noise in settings.noises:
        for p_drop in settings.p_drops:
            configs[f"{noise}/{p_drop:g}"] = make_config(settings, p_drop, noise)
    return configs


def run_one(config: dict, seed: int) -> dict:
    """One run, trimmed to :data:`RUN_FIELDS` (the activation histograms are not needed here)."""
    summary = train_run(config, seed)
    return {name: summary[name] for name in RUN_FIELDS}


def chosen_labels(runs: dict[str, list[dict]], settings: Settings) -> dict[str, str]:
    """``{arm: label}``: ``"none"``, and for each noise the rate with the lowest
    :func:`mean_val_error` (the first of a tie, in the order of ``settings.p_drops``)."""
    chosen = {"none": "none"}
    for noise in settings.noises:
        labels = [f"{noise}/{p:g}" for p in settings.p_drops]
        chosen[noise] = min(
            labels, key=lambda label: mean_val_error(runs[label], settings.smoothing)
        )
    return chosen


def compute_results(
    settings: Settings = Settings(), *, workers: int = 1, progress: bool = False
) -> dict:
    """Run every configuration with every seed (``workers`` processes), choose each noise's
    rate on the validation set, and drop the test error of every configuration not chosen."""
    configs = plan(settings)
    jobs = [(label, seed) for label in configs for seed in settings.seeds]
    started = time.perf_counter()
    report = records.progress_printer([f"seed {seed} {label}" for label, seed in jobs], started)
    finished = iter(
        run_jobs(
            run_one,
            [(configs[label], seed) for label, seed in jobs],
            workers=workers,
            on_done=report if progress else None,
        )
    )
    runs = {label: [next(finished) for _ in settings.seeds] for label in configs}
    chosen = chosen_labels(runs, settings)
    for label, label_runs in runs.items():
        if label not in chosen.values():
            for run in label_runs:
                del run["test_error"]  # never looked at: the rate was not chosen
    recipe = (
        "per run: course_lib.experiments.train_run (SeedSequence(seed).spawn(3) -> split, "
        f"init, train generators; float32; SGD lr={LR}, batch_size={BATCH_SIZE}, "
        "momentum=0.9; inverted dropout); test error kept for the chosen rates only"
    )
    return {
        **records.record_header(GENERATOR, started, recipe=recipe),
        "settings": records.settings_dict(settings),
        "configs": configs,
        "chosen": chosen,
        "runs": runs,
    }


def save_results(results: dict, path: Path = RESULTS_PATH) -> None:
    """Write the results as JSON, one run per line (:func:`course_lib.records.write_results`)."""
    records.write_results(results, path)


def load_results(path: Path = RESULTS_PATH) -> dict:
    """The precomputed results (see :func:`compute_results`)."""
    return records.read_record(path)


def settings_of(results: dict) -> Settings:
    """The :class:`Settings` a results file was made with."""
    return records.settings_from(Settings, results["settings"])


# --- reading the results -----------------------------------------------------------------------


def validation_table(results: dict) -> dict[str, np.ndarray]:
    """Mean validation error (last ``smoothing`` epochs, over seeds) per noise and rate,
    ``{noise: array over settings.p_drops}``, and ``"none"`` as a 1-element array."""
    s = results["settings"]
    runs = results["runs"]
    table = {"none": np.array([mean_val_error(runs["none"], s["smoothing"])])}
    for noise in s["noises"]:
        table[noise] = np.array(
            [mean_val_error(runs[f"{noise}/{p:g}"], s["smoothing"]) for p in s["p_drops"]]
        )
    return table


def test_errors(results: dict) -> dict[str, np.ndarray]:
    """Test error per seed of each arm at its chosen rate, ``{arm: array (seeds,)}``."""
    return {
        arm: np.array([run["test_error"] for run in results["runs"][label]])
        for arm, label in results["chosen"].items()
    }


COMPARISONS = (("none", "bernoulli"), ("none", "gaussian"), ("bernoulli", "gaussian"))


def comparisons(results: dict) -> dict[str, dict]:
    """The paired comparison of the test errors of each pair of :data:`COMPARISONS`, keyed
    ``"a - b"``: the mean of ``a - b`` over seeds, its 95% t-interval ``low`` to ``high`` with
    ``df = n - 1``, the two-sided ``p_value`` of the paired t-test
    (:func:`course_lib.stats.paired_comparison`), and the numbers of seeds where ``a``'s error
    is higher (``a_higher``) and lower (``a_lower``) than ``b``'s (the rest are ties)."""
    errors = test_errors(results)
    table = {}
    for a, b in COMPARISONS:
        c = paired_comparison(errors[a], errors[b], sign_flip=False)
        table[f"{a} - {b}"] = {
            "mean": c.mean,
            "low": c.low,
            "high": c.high,
            "df": c.df,
            "p_value": c.p_value,
            "a_higher": int(np.count_nonzero(c.differences > 0)),
            "a_lower": int(np.count_nonzero(c.differences < 0)),
        }
    return table


def key_numbers(results: dict) -> dict[str, str]:
    """The measured numbers the notebook quotes, formatted as it quotes them."""

    def pct(x: float) -> str:
        return f"{100 * x:.2f}%"

    def points(x: float) -> str:
        return f"{100 * x:+.2f}"

    s = results["settings"]
    numbers = {"n_seeds": str(len(s["seeds"])), "n_train": str(s["n_train"])}
    for arm, label in results["chosen"].items():
        numbers[f"{arm}_rate"] = label.partition("/")[2] or "0"
        numbers[f"{arm}_val"] = pct(mean_val_error(results["runs"][label], s["smoothing"]))
    for arm, errors in test_errors(results).items():
        numbers[f"{arm}_test"] = pct(errors.mean())
    for name, comparison in comparisons(results).items():
        key = name.replace(" - ", "_vs_")
        numbers[f"{key}_mean"] = points(comparison["mean"])
        numbers[f"{key}_low"] = points(comparison["low"])
        numbers[f"{key}_high"] = points(comparison["high"])
        numbers[f"{key}_df"] = str(comparison["df"])
        numbers[f"{key}_p"] = f"{comparison['p_value']:.2g}"
        numbers[f"{key}_higher"] = str(comparison["a_higher"])
        numbers[f"{key}_lower"] = str(comparison["a_lower"])
        numbers[f"{key}_ties"] = str(
            len(s["seeds"]) - comparison["a_higher"] - comparison["a_lower"]
        )
    return numbers


# --- the figure ---------------------------------------------------------------------------------


def draw_noise_experiment(results: dict):
    """Left: validation error against ``p_drop`` for each noise (none as a line); right: the
    test error of each arm at its chosen rate, one grey line per seed joining the arms."""
    import matplotlib.pyplot as plt

    s = results["settings"]
    table = validation_table(results)
    errors = test_errors(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.axhline(100 * table["none"][0], color="grey", linestyle="--", label="no dropout")
    for noise, marker in zip(s["noises"], "os"):
        left.plot(s["p_drops"], 100 * table[noise], marker=marker, label=f"{noise} noise")
    left.set_xlabel("p_drop of both hidden layers")
    left.set_ylabel("validation error (%)")
    left.set_title(f"choosing the rate: mean of {len(s['seeds'])} seeds")
    left.legend()
    arms = list(errors)
    values = 100 * np.array([errors[arm] for arm in arms])
    positions = np.arange(len(arms))
    right.plot(positions, values, color="0.8", linewidth=0.8)
    right.plot(positions, values.mean(axis=1), "ko-", label="mean over seeds")
    right.set_xticks(
        positions,
        [
            arm if arm == "none" else f"{arm}\np_drop {results['chosen'][arm].partition('/')[2]}"
            for arm in arms
        ],
    )
    right.set_ylabel("test error (%)")
    right.set_title("test error at the chosen rates, one line per seed")
    right.legend()
    fig.tight_layout()
    return fig


# --- command line ------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Run notebook 05's noise experiment and write the results file it loads."
    )
    parser.add_argument("--out", type=Path, default=RESULTS_PATH, help="where to write the results")
    parser.add_argument("--workers", type=int, default=1, help="processes that train (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    results = compute_results(Settings(), workers=args.workers, progress=not args.quiet)
    save_results(results, args.out)
    print(f"wrote {args.out} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

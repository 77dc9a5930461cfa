"""Notebook 07: the shape of Srivastava et al. (2014)'s claims, measured on the digits.

Five experiments, all with the same recipe as :func:`course_lib.experiments.run_digits` (a seed is
split into independent streams for the data split, the initial weights and the training), so
that every configuration of a comparison sees the same data, the same initial weights and the
same mini-batch order for a given seed:

1. test error against ``p_drop`` at a fixed number of hidden units ``n``, and at a fixed
   ``n * keep_prob`` (the expected number of kept units);
2. test error against the training-set size, with and without dropout;
3. sparsity of the hidden activations (at inference, on the test set);
4. dropout, max-norm, L2 and their combinations, each strength chosen on the validation set;
5. epochs to converge, from the validation curves of experiment 1; runs that the epoch budget
   cut off are counted and treated as censored (:func:`convergence_table`,
   :func:`censored_median`).

Every figure the notebook quotes is a mean over seeds with its t-interval or a paired difference
with its p-value (:func:`key_numbers`, from :mod:`course_lib.stats`); rates are chosen on the
validation set (:func:`validation_choice`), and their test error is read once.

Every run is :func:`course_lib.experiments.train_run`, and the statistics read from the runs
(paired differences, smoothed validation curves) are in :mod:`course_lib.experiments` too; this
module plans the runs, stores them, and turns them into the notebook's tables and figures.

The full sweeps take over an hour of training, so they are precomputed:
``python -m course_lib.lessons.nb07_capstone --workers 2`` writes ``nb07_capstone_results.json``
beside this file, with the settings, seeds and library version that produced it; the notebook
loads it (or recomputes it with ``RECOMPUTE = True``). ``--checkpoint FILE`` keeps every finished
run in ``FILE`` so that a stopped recording resumes; the record's ``seconds`` is then the wall
time of the last invocation only, and ``training_seconds`` the sum over all runs.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from .._validate import check_count
from ..experiments import (
    ACTIVATION_BINS,
    BATCH_SIZE,
    LR,
    UNIT_MEAN_BINS,
    best_epoch,
    epochs_to_reach,
    hidden_widths,
    lowest_mean,
    mean_val_error,
    rates_not_worse,
    run_jobs,
    run_val_error,
    smooth,
    train_run,
)
from ..nn import one_blas_thread  # noqa: F401 - the notebook's demo runs under lesson.one_blas_thread
from ..records import (
    progress_printer,
    read_record,
    record_header,
    settings_dict,
    settings_from,
    write_results,
)
from ..stats import paired_comparison, t_interval
from .widgets import recall_parts, remember_parts

RESULTS_PATH = Path(__file__).with_name("nb07_capstone_results.json")
GENERATOR = "python -m course_lib.lessons.nb07_capstone"


@dataclass(frozen=True)
class Settings:
    """Everything the generator varies or fixes; stored in the results file.

    The data-size and regularizer experiments train for the same number of SGD steps at every
    training-set size (``steps``), so a small training set gets more epochs, not less training.
    """

    seeds: tuple[int, ...] = tuple(range(10))
    n_train: int = 1000
    hidden: int = 256  # units per hidden layer in the fixed-n sweep
    n_hidden_layers: int = 2
    kept_units: int = 128  # n * keep_prob in the fixed-product sweep
    epochs: int = 150  # at n_train images; 1500 SGD steps of 100 images
    p_drops: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    dropout: float = 0.5  # p_drop of the hidden layers in experiments 2 and 4
    data_sizes: tuple[int, ...] = (50, 100, 200, 300, 500, 1000)
    regularizer_n_train: int = 300
    weight_decays: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    max_norms: tuple[float, ...] = (1.5, 2.5, 4.0)
    near_zero: float = 0.1  # an activation below this counts as "near zero"
    smoothing: int = 10  # epochs in the moving average of validation curves

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.n_train / BATCH_SIZE)

    def epochs_for(self, n_train: int) -> int:
        """Epochs that give ``steps`` SGD steps on ``n_train`` images."""
        return math.ceil(self.steps / math.ceil(n_train / BATCH_SIZE))


# --- the configuration of one run --------------------------------------------------------------


def make_config(
    p_drop: float,
    *,
    hidden,
    n_train: int,
    epochs: int,
    input_p_drop: float = 0.0,
    weight_decay: float = 0.0,
    max_norm: float | None = None,
) -> dict:
    """A run configuration for :func:`course_lib.experiments.train_run`: hidden-layer ``p_drop``
    (inputs ``input_p_drop``) and the rest."""
    hidden = [int(n) for n in hidden]
    return {
        "p_drop": [float(input_p_drop)] + [float(p_drop)] * len(hidden),
        "hidden": hidden,
        "n_train": int(n_train),
        "epochs": int(epochs),
        "weight_decay": float(weight_decay),
        "max_norm": None if max_norm is None else float(max_norm),
    }


def config_key(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


# --- the experiments ---------------------------------------------------------------------------


def experiments(settings: Settings = Settings()) -> dict[str, dict]:
    """Every experiment's configurations, ``{experiment: {label: config}}``, in display order."""
    s = settings
    layers = s.n_hidden_layers
    fixed_n = {
        f"{p:g}": make_config(
            p,
            hidden=hidden_widths([s.hidden] * layers, p, False),
            n_train=s.n_train,
            epochs=s.epochs,
        )
        for p in s.p_drops
    }
    fixed_product = {
        f"{p:g}": make_config(
            p,
            hidden=hidden_widths([s.kept_units] * layers, p, True),
            n_train=s.n_train,
            epochs=s.epochs,
        )
        for p in s.p_drops
    }
    hidden = [s.hidden] * layers

    def at(n_train, p_drop, **extra):
        return make_config(
            p_drop, hidden=hidden, n_train=n_train, epochs=s.epochs_for(n_train), **extra
        )

    data_size = {}
    for n_train in s.data_sizes:
        data_size[f"none/{n_train}"] = at(n_train, 0.0)
        data_size[f"dropout/{n_train}"] = at(n_train, s.dropout)
    n_reg = s.regularizer_n_train
    regularizers = {"none": at(n_reg, 0.0), "dropout": at(n_reg, s.dropout)}
    for wd in s.weight_decays:
        regularizers[f"L2/{wd:g}"] = at(n_reg, 0.0, weight_decay=wd)
    for c in s.max_norms:
        regularizers[f"max-norm/{c:g}"] = at(n_reg, 0.0, max_norm=c)
    for wd in s.weight_decays:
        regularizers[f"dropout + L2/{wd:g}"] = at(n_reg, s.dropout, weight_decay=wd)
    for c in s.max_norms:
        regularizers[f"dropout + max-norm/{c:g}"] = at(n_reg, s.dropout, max_norm=c)
    return {
        "p_drop_fixed_n": fixed_n,
        "p_drop_fixed_product": fixed_product,
        "data_size": data_size,
        "regularizers": regularizers,
    }


def _train_job(config: dict, seed: int, near_zero: float) -> dict:
    return train_run(config, seed, near_zero=near_zero)


def _load_checkpoint(path: Path | None) -> dict[tuple[str, int], dict]:
    """The runs a checkpoint file holds, by (configuration key, seed): one JSON object
    ``{"key", "seed", "run"}`` per line (a line cut short by a crash is ignored)."""
    if path is None or not Path(path).exists():
        return {}
    done = {}
    for line in Path(path).read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        done[(entry["key"], entry["seed"])] = entry["run"]
    return done


def compute_results(
    settings: Settings = Settings(),
    *,
    progress: bool = False,
    workers: int = 1,
    checkpoint: Path | None = None,
) -> dict:
    """Run every experiment (each distinct configuration once per seed) and return the results.

    Each (configuration, seed) job is independent and deterministic, so ``workers > 1`` runs
    the jobs in a pool of that many processes (:func:`course_lib.experiments.run_jobs`) and
    gives the same runs, in the same order, as ``workers = 1`` (only the timings differ). BLAS
    runs on one thread in every process (see :func:`one_blas_thread`).

    Parameters
    ----------
    settings : Settings
    progress : bool
        Print one line per finished job to stderr.
    workers : int >= 1
        Processes that train at once.
    checkpoint : path or None
        A file to which each finished run is appended; the runs it already holds are not
        trained again, so a recording that was stopped resumes where it was. The jobs run seed
        by seed, so a stopped recording has whole seeds done.
    """
    workers = check_count(workers, "workers", minimum=1)
    plan = experiments(settings)
    configs = {config_key(c): c for table in plan.values() for c in table.values()}
    done = _load_checkpoint(checkpoint)
    if checkpoint is not None and Path(checkpoint).exists():
        text = Path(checkpoint).read_text()
        if text and not text.endswith("\n"):  # a line cut short: new runs start a new line
            with open(checkpoint, "a") as file:
                file.write("\n")
    todo = [(key, seed) for seed in settings.seeds for key in configs if (key, seed) not in done]
    started = time.perf_counter()
    report = progress_printer([f"seed {seed} {key}" for key, seed in todo], started)

    def run_and_keep(index: int, count: int, run: dict) -> None:
        key, seed = todo[index]
        done[(key, seed)] = run
        if checkpoint is not None:
            with open(checkpoint, "a") as file:
                file.write(json.dumps({"key": key, "seed": seed, "run": run}) + "\n")
        if progress:
            report(index, count)

    run_jobs(
        _train_job,
        [(configs[key], seed, settings.near_zero) for key, seed in todo],
        workers=workers,
        on_result=run_and_keep,
    )
    runs = {key: [done[(key, seed)] for seed in settings.seeds] for key in configs}
    recipe = (
        "per run: SeedSequence(seed).spawn(3) -> split, init, train generators; "
        f"float32; SGD lr={LR}, batch_size={BATCH_SIZE}, momentum=0.9; inverted "
        "dropout; test error at inference on the 500 test images"
    )
    training_seconds = round(sum(run["seconds"] for r in runs.values() for run in r), 1)
    return {
        **record_header(GENERATOR, started, training_seconds=training_seconds, recipe=recipe),
        "settings": settings_dict(settings),
        "experiments": {
            name: {label: config_key(c) for label, c in table.items()}
            for name, table in plan.items()
        },
        "configs": configs,
        "runs": runs,
    }


def settings_of(results: dict) -> Settings:
    """The :class:`Settings` a results file was made with."""
    return settings_from(Settings, results["settings"])


def save_results(results: dict, path: Path = RESULTS_PATH) -> None:
    """Write the results as JSON, one run per line (:func:`course_lib.records.write_results`)."""
    write_results(results, path)


def load_results(path: Path = RESULTS_PATH) -> dict:
    """The precomputed results (see :func:`compute_results`)."""
    return read_record(path)


# --- reading the results -----------------------------------------------------------------------


def runs_of(results: dict, experiment: str, label: str) -> list[dict]:
    return results["runs"][results["experiments"][experiment][label]]


def test_errors(results: dict, experiment: str) -> dict[str, np.ndarray]:
    """``{label: test error per seed}`` for one experiment, in display order."""
    return {
        label: np.array([run["test_error"] for run in runs_of(results, experiment, label)])
        for label in results["experiments"][experiment]
    }


def val_errors(results: dict, experiment: str) -> dict[str, np.ndarray]:
    """``{label: validation error per seed}`` for one experiment, in display order: each run's
    validation error averaged over its last ``smoothing`` epochs
    (:func:`course_lib.experiments.run_val_error`; one epoch's is noisy)."""
    last = results["settings"]["smoothing"]
    return {
        label: np.array([run_val_error(run, last) for run in runs_of(results, experiment, label)])
        for label in results["experiments"][experiment]
    }


def p_drop_sweep(results: dict) -> dict:
    """Both ``p_drop`` sweeps: p_drops, widths of the fixed-product nets, and test errors,
    validation errors (see :func:`val_errors`) and final training errors, each (p, seed)."""
    product = test_errors(results, "p_drop_fixed_product")
    widths = [
        results["configs"][results["experiments"]["p_drop_fixed_product"][label]]["hidden"][0]
        for label in product
    ]
    sweep = {
        "p_drops": np.array([float(label) for label in product]),
        "widths": np.array(widths),
    }
    for name in ("fixed_n", "fixed_product"):
        experiment = f"p_drop_{name}"
        sweep[name] = np.array(list(test_errors(results, experiment).values()))
        sweep[f"{name}_val"] = np.array(list(val_errors(results, experiment).values()))
        sweep[f"{name}_train"] = np.array(
            [
                [run["final_train_error"] for run in runs_of(results, experiment, label)]
                for label in results["experiments"][experiment]
            ]
        )
    return sweep


def validation_choice(results: dict, name: str = "fixed_n") -> dict:
    """The rate of one sweep (``"fixed_n"`` or ``"fixed_product"``) chosen on the validation
    set, as the notebook chooses it: the lowest validation error averaged over seeds.

    Returns its index and rate, the test errors of that rate (read once, per seed), which rates
    are not significantly worse than it (:func:`course_lib.experiments.rates_not_worse`), and,
    for contrast, the rate a choice on the test set would have made.
    """
    sweep = p_drop_sweep(results)
    val = sweep[f"{name}_val"]
    best = lowest_mean(val)
    test_best = int(np.argmin(sweep[name].mean(axis=1)))
    return {
        "index": best,
        "p_drop": float(sweep["p_drops"][best]),
        "val": val[best],
        "test": sweep[name][best],
        "defensible": rates_not_worse(val),
        "test_choice": float(sweep["p_drops"][test_best]),
    }


def data_size_table(results: dict) -> dict:
    """Test errors (size, seed) with and without dropout, and the paired gain none - dropout."""
    errors = test_errors(results, "data_size")
    sizes = results["settings"]["data_sizes"]
    none = np.array([errors[f"none/{n}"] for n in sizes])
    dropout = np.array([errors[f"dropout/{n}"] for n in sizes])
    return {"sizes": np.array(sizes), "none": none, "dropout": dropout, "gain": none - dropout}


def regularizer_table(results: dict) -> list[dict]:
    """Each family (none, dropout, L2, ...) with its strength chosen on the validation set.

    The choice minimises the validation error averaged over seeds and over the last
    ``smoothing`` epochs; the test error of the chosen strength is reported per seed.
    """
    last = results["settings"]["smoothing"]
    families: dict[str, list[tuple[str, list[dict]]]] = {}
    for label in results["experiments"]["regularizers"]:
        family, _, strength = label.partition("/")
        families.setdefault(family, []).append((strength, runs_of(results, "regularizers", label)))
    table = []
    for family, options in families.items():
        strength, runs = min(options, key=lambda option: mean_val_error(option[1], last))
        table.append(
            {
                "family": family,
                "strength": strength,
                "val_error": mean_val_error(runs, last),
                "test_errors": np.array([run["test_error"] for run in runs]),
                "candidates": [s for s, _ in options],
            }
        )
    return table


def never_binding_max_norms(results: dict) -> list[str]:
    """The max-norm strengths ``c`` (without dropout) whose runs are identical to the runs
    without any regularizer, seed for seed: the constraint never bound."""
    none = runs_of(results, "regularizers", "none")
    same = []
    for label in results["experiments"]["regularizers"]:
        family, _, strength = label.partition("/")
        if family == "max-norm":
            runs = runs_of(results, "regularizers", label)
            if all(
                a["val_mistakes"] == b["val_mistakes"] and a["test_error"] == b["test_error"]
                for a, b in zip(runs, none)
            ):
                same.append(strength)
    return same


def regularizer_rows(results: dict) -> list[dict]:
    """Every configuration of the regularizer experiment: mean validation error (last
    ``smoothing`` epochs) and mean test error over seeds, for the notebook's full table."""
    last = results["settings"]["smoothing"]
    rows = []
    for label in results["experiments"]["regularizers"]:
        runs = runs_of(results, "regularizers", label)
        rows.append(
            {
                "label": label,
                "val_error": mean_val_error(runs, last),
                "test_error": float(np.mean([run["test_error"] for run in runs])),
            }
        )
    return rows


def val_curves(results: dict, p_drop: float) -> np.ndarray:
    """Validation error per epoch (seed, epoch) of the fixed-n net at ``p_drop``."""
    runs = runs_of(results, "p_drop_fixed_n", f"{p_drop:g}")
    return np.array([np.array(run["val_mistakes"]) / run["n_val"] for run in runs])


def convergence_table(results: dict, threshold: float) -> dict:
    """Per p_drop and seed: epochs to reach ``threshold`` and the best epoch, smoothed curves.

    Both are cut off by the budget of ``epochs``: ``reach`` is NaN for a run whose smoothed
    validation error never got to ``threshold`` (``censored_reach``: it would need more than
    ``epochs``), and a run whose best epoch lies in the last ``smoothing`` epochs was still
    improving when training stopped (``censored_best``: its best epoch is at least the one
    recorded).
    """
    window = results["settings"]["smoothing"]
    p_drops = results["settings"]["p_drops"]
    epochs = results["settings"]["epochs"]
    reach = np.array(
        [[epochs_to_reach(c, threshold, window) for c in val_curves(results, p)] for p in p_drops]
    )
    best = np.array([[best_epoch(c, window) for c in val_curves(results, p)] for p in p_drops])
    return {
        "p_drops": np.array(p_drops),
        "reach": reach,
        "best": best,
        "censored_reach": np.isnan(reach),
        "censored_best": best > epochs - window,
        "epochs": epochs,
    }


def censored_median(values, censored) -> float:
    """The median of values some of which are only known to be at least what is recorded
    (``censored``): they sort last, so the median is exact when fewer than half are censored,
    and ``inf`` (unknown, beyond the budget) otherwise. With an even count, the mean of the
    two middle values.

    >>> censored_median([3, 5, 150, 7], [False, False, True, False])
    6.0
    >>> censored_median([3, 150, 150], [False, True, True])
    inf
    """
    values = np.where(np.asarray(censored, dtype=bool), np.inf, np.asarray(values, dtype=float))
    ordered = np.sort(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("values must hold at least one value, got none")
    middle = ordered[(n - 1) // 2 : n // 2 + 1]
    return float(np.inf if np.isinf(middle).any() else middle.mean())


def sparsity_table(results: dict) -> dict:
    """Fractions of zero / near-zero activations and mean activation, (p_drop, seed, layer)."""
    p_drops = results["settings"]["p_drops"]
    table = {"p_drops": np.array(p_drops)}
    for stat in ("zero", "near_zero", "mean"):
        table[stat] = np.array(
            [
                [
                    [layer[stat] for layer in run["activations"]["layers"]]
                    for run in runs_of(results, "p_drop_fixed_n", f"{p:g}")
                ]
                for p in p_drops
            ]
        )
    return table


CONFIDENCE = 0.95  # of every interval the notebook quotes


def pct(x) -> str:
    return f"{100 * float(x):.2f}%"


def p_text(p_value: float) -> str:
    """A p-value as the notebook quotes it: two significant digits, or ``p < 0.001``."""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def interval_text(values) -> str:
    """``"2.60% (95% t-interval 2.31% to 2.89%, df = 9)"``: the mean over seeds of errors
    (fractions) and its t-interval (:func:`course_lib.stats.t_interval`)."""
    interval = t_interval(values, CONFIDENCE)
    return (
        f"{pct(interval.mean)} ({100 * CONFIDENCE:g}% t-interval {pct(interval.low)} to "
        f"{pct(interval.high)}, df = {interval.df})"
    )


def paired_text(a, b) -> str:
    """``"0.93 pp (95% t-interval 0.40 to 1.46 pp, df = 9, p = 0.003)"``: the mean of the
    paired differences ``a - b`` over seeds, in percentage points, its t-interval and the
    two-sided p-value of the paired t-test (:func:`course_lib.stats.paired_comparison`)."""
    c = paired_comparison(a, b, CONFIDENCE, sign_flip=False)
    return (
        f"{100 * c.mean:.2f} pp ({100 * CONFIDENCE:g}% t-interval {100 * c.low:.2f} to "
        f"{100 * c.high:.2f} pp, df = {c.df}, {p_text(c.p_value)})"
    )


def _seed_list(p_drops, seeds, flags) -> str:
    """``"p_drop 0.8: seeds 2, 5"``, for the runs flagged in ``flags`` (p, seed); "none"."""
    parts = []
    for p, row in zip(p_drops, flags):
        hit = [str(seed) for seed, flag in zip(seeds, row) if flag]
        if hit:
            parts.append(f"p_drop {p:g}: seed{'s' * (len(hit) > 1)} {', '.join(hit)}")
    return "; ".join(parts) if parts else "none"


def _epochs_text(value: float, budget: int) -> str:
    return f"more than {budget}" if math.isinf(value) else f"{value:.0f}"


def key_numbers(results: dict, threshold: float = 0.03) -> dict[str, str]:
    """The measured numbers the notebook quotes, formatted as it quotes them: means over seeds
    with their t-intervals, paired differences with their p-values, and for claim 5 medians
    and the runs cut off by the budget (``threshold``: the validation error to reach)."""
    seeds = results["settings"]["seeds"]
    numbers = {
        "n_seeds": f"{len(seeds)} seeds",
        "df": f"df = {len(seeds) - 1}",
        "n_networks": f"{sum(len(runs) for runs in results['runs'].values())}",
        "training_minutes": f"{results['training_seconds'] / 60:.0f}",
        "t_quantile": f"{stats.t.ppf(0.5 + CONFIDENCE / 2, len(seeds) - 1):.2f}",
        "t_quantile_3_seeds": f"{stats.t.ppf(0.5 + CONFIDENCE / 2, 2):.2f}",
        "normal_quantile": f"{stats.norm.ppf(0.5 + CONFIDENCE / 2):.2f}",
    }
    sweep = p_drop_sweep(results)
    rates = list(sweep["p_drops"])
    last = len(rates) - 1
    for name in ("fixed_n", "fixed_product"):
        errors = sweep[name]
        choice = validation_choice(results, name)
        numbers[f"{name}_val_best_p"] = f"{choice['p_drop']:g}"
        numbers[f"{name}_val_best"] = interval_text(choice["test"])
        numbers[f"{name}_test_best_p"] = f"{choice['test_choice']:g}"
        numbers[f"{name}_defensible"] = ", ".join(
            f"{p:g}" for p, ok in zip(rates, choice["defensible"]) if ok
        )
        numbers[f"{name}_p0"] = interval_text(errors[0])
        numbers[f"{name}_last"] = interval_text(errors[last])
        numbers[f"{name}_gain"] = paired_text(errors[0], choice["test"])
    numbers["fixed_n_last_vs_p0"] = paired_text(sweep["fixed_n"][last], sweep["fixed_n"][0])
    numbers["n_vs_product_last"] = paired_text(sweep["fixed_n"][last], sweep["fixed_product"][last])
    for i in (last - 1, last):
        numbers[f"train_error_{rates[i]:g}"] = pct(sweep["fixed_n_train"][i].mean())
    sizes = data_size_table(results)
    for n, none, drop in zip(sizes["sizes"], sizes["none"], sizes["dropout"]):
        numbers[f"size_{n}_none"] = pct(none.mean())
        numbers[f"size_{n}_dropout"] = pct(drop.mean())
        numbers[f"size_{n}_gain"] = paired_text(none, drop)
    largest = int(np.argmax(sizes["gain"].mean(axis=1)))
    numbers["largest_gain_size"] = f"{sizes['sizes'][largest]}"
    numbers["largest_gain_vs_last"] = paired_text(sizes["gain"][largest], sizes["gain"][-1])
    sparsity = sparsity_table(results)
    dropout = results["settings"]["dropout"]
    i = rates.index(dropout)
    for p in (0.0, dropout):
        j = rates.index(p)
        for layer in (0, 1):
            tag = f"{p:g}_L{layer + 1}"
            numbers[f"zero_{tag}"] = pct(sparsity["zero"][j, :, layer].mean())
            numbers[f"near_zero_{tag}"] = pct(sparsity["near_zero"][j, :, layer].mean())
            numbers[f"mean_act_{tag}"] = f"{sparsity['mean'][j, :, layer].mean():.2f}"
    numbers["zero_gain_L1"] = paired_text(sparsity["zero"][i, :, 0], sparsity["zero"][0, :, 0])
    table = {row["family"]: row for row in regularizer_table(results)}
    for family, row in table.items():
        numbers[f"reg_{family}"] = pct(row["test_errors"].mean())
        numbers[f"reg_{family}_strength"] = row["strength"]
    numbers["max_norm_never_binds"] = ", ".join(never_binding_max_norms(results)) or "none"
    numbers["reg_dropout_gain"] = paired_text(
        table["none"]["test_errors"], table["dropout"]["test_errors"]
    )
    for family in ("dropout + max-norm", "dropout + L2"):
        numbers[f"reg_{family}_vs_dropout"] = paired_text(
            table[family]["test_errors"], table["dropout"]["test_errors"]
        )
    conv = convergence_table(results, threshold)
    budget = conv["epochs"]
    for p in (0.0, dropout, rates[last]):
        j = rates.index(p)
        reach = censored_median(conv["reach"][j], conv["censored_reach"][j])
        best = censored_median(conv["best"][j], conv["censored_best"][j])
        numbers[f"reach_{p:g}"] = _epochs_text(reach, budget)
        numbers[f"best_{p:g}"] = _epochs_text(best, budget)
        numbers[f"reach_censored_{p:g}"] = f"{int(conv['censored_reach'][j].sum())} of {len(seeds)}"
        numbers[f"best_censored_{p:g}"] = f"{int(conv['censored_best'][j].sum())} of {len(seeds)}"
    numbers["reach_censored_runs"] = _seed_list(rates, seeds, conv["censored_reach"])
    medians = [
        censored_median(conv["best"][rates.index(p)], conv["censored_best"][rates.index(p)])
        for p in (0.0, dropout)
    ]
    numbers["best_ratio"] = f"{medians[1] / medians[0]:.1f}" if np.isfinite(medians).all() else "?"
    numbers["reach_censored_total"] = f"{int(conv['censored_reach'].sum())}"
    numbers["best_censored_total"] = f"{int(conv['censored_best'].sum())}"
    numbers["n_runs"] = f"{conv['best'].size}"
    return numbers


# --- figures -----------------------------------------------------------------------------------


def _scatter_seeds(axis, x, values, color, offset=0.0):
    for column in np.asarray(values).T:
        axis.plot(np.asarray(x) + offset, 100 * column, "o", color=color, alpha=0.3, markersize=3.5)


def draw_p_drop(results: dict):
    """Test error against p_drop at fixed n and at fixed n * keep_prob (means and seeds)."""
    import matplotlib.pyplot as plt

    sweep = p_drop_sweep(results)
    s = results["settings"]
    p = sweep["p_drops"]
    figure, axis = plt.subplots(figsize=(8.5, 4.2))
    for name, color, label in (
        ("fixed_n", "C0", f"fixed n = {s['hidden']} units per hidden layer"),
        (
            "fixed_product",
            "C1",
            f"fixed n·keep_prob = {s['kept_units']} (n = round({s['kept_units']} / keep_prob))",
        ),
    ):
        errors = sweep[name]
        axis.plot(p, 100 * errors.mean(axis=1), "-", color=color, linewidth=2, label=label)
        _scatter_seeds(axis, p, errors, color, offset=0.006 if name == "fixed_product" else 0)
    for x, width, error in zip(p, sweep["widths"], sweep["fixed_product"].mean(axis=1)):
        axis.annotate(
            f"{width}",
            (x, 100 * error),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=7.5,
            color="C1",
        )
    axis.set(
        xlabel="p_drop of both hidden layers (inputs kept)",
        ylabel="test error (%)",
        title=f"{s['n_train']} training digits, {s['epochs']} epochs; line: mean of "
        f"{len(s['seeds'])} seeds, dots: seeds; orange numbers: units per layer",
    )
    axis.title.set_fontsize(10)
    highest = 100 * max(sweep["fixed_n"].max(), sweep["fixed_product"].max())
    axis.set_ylim(top=highest + 0.45)  # room for the legend above the highest seed
    axis.legend(loc="upper left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def draw_data_size(results: dict):
    """Test error against training-set size with and without dropout, and the paired gain."""
    import matplotlib.pyplot as plt

    table = data_size_table(results)
    s = results["settings"]
    sizes = table["sizes"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.0))
    for name, color, label in (
        ("none", "C0", "no dropout"),
        ("dropout", "C1", f"p_drop = {s['dropout']:g} (hidden)"),
    ):
        left.plot(sizes, 100 * table[name].mean(axis=1), "-o", color=color, label=label)
        _scatter_seeds(left, sizes, table[name], color)
    left.set(
        xscale="log",
        xlabel="training images",
        ylabel="test error (%)",
        title=f"same {settings_of(results).steps} SGD steps at every size",
    )
    left.legend()
    gain = 100 * table["gain"]
    right.axhline(0, color="grey", linewidth=0.8)
    right.plot(sizes, gain.mean(axis=1), "-o", color="C2", label="mean over seeds")
    _scatter_seeds(right, sizes, table["gain"], "C2")
    right.set(
        xscale="log",
        xlabel="training images",
        ylabel="error without − error with dropout (pp)",
        title="gain from dropout (paired by seed)",
    )
    right.legend()
    for axis in (left, right):
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _sparsity_parts(results: dict):
    import matplotlib.pyplot as plt

    s = results["settings"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.9))
    steps = {}
    for color in ("C0", "C1"):
        steps[color] = (
            left.stairs(
                np.ones(len(UNIT_MEAN_BINS) - 1),
                UNIT_MEAN_BINS,
                color=color,
                linewidth=2,
                label=" ",
            ),
            right.stairs(
                np.ones(len(ACTIVATION_BINS) - 1),
                ACTIVATION_BINS,
                color=color,
                linewidth=2,
                label=" ",
            ),
        )
    left.set(
        xlabel=f"mean activation of a unit over the test set (last bin: ≥ {UNIT_MEAN_BINS[-1]:g})",
        ylabel="fraction of units",
        title=" ",
    )
    right.set(
        yscale="log",
        xlabel=f"activation (last bin: ≥ {ACTIVATION_BINS[-1]:g})",
        ylabel="fraction of activations (log)",
        title=" ",
    )
    for axis in (left, right):
        axis.legend(fontsize=8.5)
        axis.grid(alpha=0.3)
    # per layer, one range for every p_drop: moving p_drop redraws only the histograms
    ranges = {}
    for label in {f"{p:g}" for p in s["p_drops"]}:
        for run in runs_of(results, "p_drop_fixed_n", label):
            for layer, entry in enumerate(run["activations"]["layers"], start=1):
                unit = np.asarray(entry["unit_mean_hist"], dtype=float)
                activation = np.asarray(entry["activation_hist"], dtype=float)
                activation = activation / activation.sum()
                unit_top, activation_low, activation_top = ranges.get(layer, (0.0, 1.0, 0.0))
                ranges[layer] = (
                    max(unit_top, float((unit / unit.sum()).max())),
                    min(activation_low, float(activation[activation > 0].min())),
                    max(activation_top, float(activation.max())),
                )
    right.set_ylim(1e-6, 1.0)  # laid out with a range like the histograms'
    figure.tight_layout()
    moving = (
        *(artist for pair in steps.values() for artist in pair),
        left.title,
        right.title,
        left.get_legend(),
        right.get_legend(),
    )
    return remember_parts(
        figure,
        draw_sparsity,
        moving=moving,
        results=results,
        axes=(left, right),
        steps=steps,
        ranges=ranges,
    )


def draw_sparsity(results: dict, p_drop: float = 0.5, layer: int = 1, *, figure=None):
    """Histograms of unit mean activations and of all activations, p_drop = 0 against
    ``p_drop``, for hidden layer ``layer`` (1-based), pooled over seeds.

    ``figure``: a figure returned by an earlier call for the same ``results``, redrawn in place
    (what the slider does).
    """
    s = results["settings"]
    parts = recall_parts(figure, draw_sparsity)
    if parts is None or parts.results is not results:
        parts = _sparsity_parts(results)
    left, right = parts.axes
    labels = {left: [], right: []}
    for p, color in ((0.0, "C0"), (p_drop, "C1")):
        runs = runs_of(results, "p_drop_fixed_n", f"{p:g}")
        layers = [run["activations"]["layers"][layer - 1] for run in runs]
        unit_hist = np.sum([entry["unit_mean_hist"] for entry in layers], axis=0)
        act_hist = np.sum([entry["activation_hist"] for entry in layers], axis=0)
        zero = np.mean([entry["zero"] for entry in layers])
        near = np.mean([entry["near_zero"] for entry in layers])
        mean = np.mean([entry["mean"] for entry in layers])
        unit_step, activation_step = parts.steps[color]
        unit_step.set_data(unit_hist / unit_hist.sum())
        activation_step.set_data(act_hist / act_hist.sum())
        labels[left].append((unit_step, f"p_drop = {p:g}: mean activation {mean:.2f}"))
        labels[right].append(
            (
                activation_step,
                f"p_drop = {p:g}: {100 * zero:.0f}% exactly 0, "
                f"{100 * near:.0f}% < {s['near_zero']:g}",
            )
        )
    for axis, entries in labels.items():
        for (artist, label), text in zip(entries, axis.get_legend().get_texts()):
            artist.set_label(label)
            text.set_text(label)
    unit_top, activation_low, activation_top = parts.ranges[layer]
    left.set_ylim(0.0, 1.05 * unit_top)
    right.set_ylim(activation_low / 2.0, 2.0 * activation_top)
    left.set_title(f"hidden layer {layer}: mean activation per unit")
    right.set_title(f"hidden layer {layer}: all activations on the test set")
    return parts.figure


def draw_regularizers(results: dict):
    """Test error of each regularizer family at its validation-chosen strength."""
    import matplotlib.pyplot as plt

    table = regularizer_table(results)
    s = results["settings"]
    figure, axis = plt.subplots(figsize=(9, 3.9))
    positions = np.arange(len(table))
    means = [100 * row["test_errors"].mean() for row in table]
    colors = ["C1" if row["family"].startswith("dropout") else "C0" for row in table]
    axis.bar(positions, means, color=colors, alpha=0.7)
    for x, row in zip(positions, table):
        axis.plot(
            [x] * len(row["test_errors"]),
            100 * row["test_errors"],
            "o",
            color="k",
            alpha=0.5,
            markersize=3.5,
        )
        axis.annotate(
            f"{100 * row['test_errors'].mean():.2f}%",
            (x, 100 * row["test_errors"].max()),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=8.5,
        )
    symbol = {"L2": "λ", "max-norm": "c"}
    labels = [
        row["family"]
        + (
            f"\n{symbol[row['family'].split(' + ')[-1]]} = {row['strength']}"
            if row["strength"]
            else ""
        )
        for row in table
    ]
    axis.set_xticks(positions, labels, fontsize=8.5)
    axis.set_ylim(0, 1.15 * 100 * max(row["test_errors"].max() for row in table))
    axis.set(
        ylabel="test error (%)",
        title=f"{s['regularizer_n_train']} training digits; each strength chosen on the "
        f"validation set; bars: mean, dots: {len(s['seeds'])} seeds",
    )
    axis.title.set_fontsize(10)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return figure


def _convergence_parts(results: dict):
    import matplotlib.pyplot as plt

    s = results["settings"]
    window = s["smoothing"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.0))
    shown = [0.0, 0.3, s["dropout"], 0.7]
    for i, p in enumerate(shown):
        curves = val_curves(results, p)
        smoothed = np.mean([smooth(curve, window) for curve in curves], axis=0)
        epochs = np.arange(1, len(smoothed) + 1)
        left.plot(epochs, 100 * smoothed, color=f"C{i}", label=f"p_drop = {p:g}")
    level = left.axhline(3.0, color="k", linestyle="--", linewidth=1, label=" ")
    left.set(
        yscale="log",
        xlabel="epoch",
        ylabel="validation error (%)",
        title=f"{window}-epoch moving average, mean of {len(s['seeds'])} seeds",
    )
    left.legend(fontsize=8.5)
    table = convergence_table(results, 0.03)  # the epochs of the lowest error: no threshold
    p = table["p_drops"]
    budget = table["epochs"]
    # epochs to reach the threshold: filled in by draw_convergence, which the slider moves
    (reach_median,) = right.plot(p, np.zeros(len(p)), "-o", color="C3", label=" ")
    reach_seeds = [right.plot([], [], "o", color="C3", alpha=0.3, markersize=3.5)[0] for _ in p]
    reach_cut = [right.plot([], [], "x", color="C3", alpha=0.6)[0] for _ in p]
    # the epoch of the lowest error does not depend on the threshold: drawn once
    best, cut_best = table["best"], table["censored_best"]
    right.plot(
        p,
        _median_or_nan(best, cut_best),
        "-s",
        color="C4",
        label="epoch of the lowest smoothed validation error (median)",
    )
    for row, cut, x in zip(best, cut_best, p):
        right.plot(*_seed_points(x, row, ~cut), "s", color="C4", alpha=0.3, markersize=3.5)
        if cut.any():  # cut off by the budget: drawn above it
            right.plot(*_cut_points(x, cut, budget), "x", color="C4", alpha=0.6)
    right.axhline(budget, color="grey", linewidth=0.8, linestyle=":")
    right.set(
        xlabel="p_drop (hidden layers)",
        ylabel="epochs",
        title=f"time to converge; x: runs cut off by the {budget}-epoch budget",
    )
    right.set_ylim(0, 1.3 * budget)
    right.legend(fontsize=8.5, loc="upper left")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_convergence,
        moving=(
            level,
            left.get_legend(),
            reach_median,
            *reach_seeds,
            *reach_cut,
            right.get_legend(),
        ),
        results=results,
        axes=(left, right),
        level=level,
        reach_median=reach_median,
        reach_seeds=reach_seeds,
        reach_cut=reach_cut,
        budget=budget,
    )


def _median_or_nan(values, censored) -> np.ndarray:
    """:func:`censored_median` of each row, NaN (not drawn) where it is beyond the budget."""
    medians = np.array([censored_median(v, c) for v, c in zip(values, censored)])
    return np.where(np.isinf(medians), np.nan, medians)


def _seed_points(x, row, kept):
    return [x] * int(kept.sum()), row[kept]


def _cut_points(x, cut, budget):
    return [x] * int(cut.sum()), [1.08 * budget] * int(cut.sum())


def draw_convergence(results: dict, threshold: float = 0.03, *, figure=None):
    """Smoothed validation curves for several p_drop, and epochs to reach ``threshold``.

    ``figure``: a figure returned by an earlier call for the same ``results``, redrawn in place
    (what the slider does).
    """
    table = convergence_table(results, threshold)
    parts = recall_parts(figure, draw_convergence)
    if parts is None or parts.results is not results:
        parts = _convergence_parts(results)
    left, right = parts.axes
    parts.level.set_ydata([100 * threshold, 100 * threshold])
    label = f"threshold {100 * threshold:.1f}%"
    parts.level.set_label(label)
    left.get_legend().get_texts()[-1].set_text(label)
    reach, cut = table["reach"], table["censored_reach"]
    p = table["p_drops"]
    parts.reach_median.set_data(p, _median_or_nan(reach, cut))
    for seeds, cut_off, row, runs_cut, x in zip(parts.reach_seeds, parts.reach_cut, reach, cut, p):
        seeds.set_data(*_seed_points(x, row, ~runs_cut))
        cut_off.set_data(*_cut_points(x, runs_cut, parts.budget))
    label = f"epochs to reach {100 * threshold:.1f}% (median)"
    parts.reach_median.set_label(label)
    right.get_legend().get_texts()[0].set_text(label)
    return parts.figure


EXPERIMENTS = {
    "1. error vs p_drop": draw_p_drop,
    "2. error vs training-set size": draw_data_size,
    "3. sparsity of activations": draw_sparsity,
    "4. max-norm, L2, dropout": draw_regularizers,
    "5. epochs to converge": draw_convergence,
}


def draw_experiment(results: dict, experiment: str = "1. error vs p_drop"):
    """One experiment's figure, by its name in :data:`EXPERIMENTS` (for the overview dropdown)."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {list(EXPERIMENTS)}, got {experiment!r}")
    return EXPERIMENTS[experiment](results)


# --- command line ------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description="Run notebook 07's sweeps and write the results file the notebook loads."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_PATH,
        help="where to write the results (default: beside this module)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that train at once (default 1); the results do not depend on it",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="append each finished run to this file and skip the runs it holds (resume)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be an integer >= 1, got {args.workers}")
    results = compute_results(
        Settings(), progress=not args.quiet, workers=args.workers, checkpoint=args.checkpoint
    )
    save_results(results, args.out)
    print(f"wrote {args.out} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

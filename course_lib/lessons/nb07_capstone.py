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
5. epochs to converge, from the validation curves of experiment 1.

Every run is :func:`course_lib.experiments.train_run`, and the statistics read from the runs
(paired differences, smoothed validation curves) are in :mod:`course_lib.experiments` too; this
module plans the runs, stores them, and turns them into the notebook's tables and figures.

The full sweeps take minutes, so they are precomputed:
``python -m course_lib.lessons.nb07_capstone`` writes ``nb07_capstone_results.json`` beside this
file, with the settings, seeds and library version that produced it; the notebook loads it (or
recomputes it with ``RECOMPUTE = True``).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..experiments import (
    ACTIVATION_BINS,
    BATCH_SIZE,
    LR,
    UNIT_MEAN_BINS,
    best_epoch,
    epochs_to_reach,
    hidden_widths,
    smooth,
    train_run,
)
from ..nn import one_blas_thread
from .widgets import recall_parts, remember_parts

RESULTS_PATH = Path(__file__).with_name("nb07_capstone_results.json")
GENERATOR = "python -m course_lib.lessons.nb07_capstone"


@dataclass(frozen=True)
class Settings:
    """Everything the generator varies or fixes; stored in the results file.

    The data-size and regularizer experiments train for the same number of SGD steps at every
    training-set size (``steps``), so a small training set gets more epochs, not less training.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
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


def compute_results(settings: Settings = Settings(), *, progress: bool = False) -> dict:
    """Run every experiment (each distinct configuration once per seed) and return the results.

    BLAS runs on one thread (see :func:`one_blas_thread`), which leaves the other core free.
    """
    plan = experiments(settings)
    configs = {config_key(c): c for table in plan.values() for c in table.values()}
    jobs = [(key, seed) for key in configs for seed in settings.seeds]
    runs = {key: [] for key in configs}
    started = time.perf_counter()
    with one_blas_thread():
        for index, (key, seed) in enumerate(jobs, start=1):
            runs[key].append(train_run(configs[key], seed, near_zero=settings.near_zero))
            if progress:
                print(
                    f"[{index}/{len(jobs)}] {time.perf_counter() - started:6.0f} s  "
                    f"seed {seed} {key}",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "generator": GENERATOR,
        "course_lib_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "recipe": (
            "per run: SeedSequence(seed).spawn(3) -> split, init, train generators; "
            f"float32; SGD lr={LR}, batch_size={BATCH_SIZE}, momentum=0.9; inverted "
            "dropout; test error at inference on the 500 test images"
        ),
        "settings": settings_dict(settings),
        "experiments": {
            name: {label: config_key(c) for label, c in table.items()}
            for name, table in plan.items()
        },
        "configs": configs,
        "runs": runs,
    }


def settings_dict(settings: Settings = Settings()) -> dict:
    """The settings as they read back from JSON (tuples become lists)."""
    return json.loads(json.dumps(asdict(settings)))


def settings_of(results: dict) -> Settings:
    """The :class:`Settings` a results file was made with."""
    stored: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in results["settings"].items()
    }
    return Settings(**stored)


def save_results(results: dict, path: Path = RESULTS_PATH) -> None:
    """Write the results as JSON, one run per line so that a diff stays readable."""

    def runs_text(runs: dict) -> str:
        blocks = []
        for key, seeds in runs.items():
            lines = ",\n".join("    " + json.dumps(run, separators=(",", ":")) for run in seeds)
            blocks.append(f"   {json.dumps(key)}: [\n{lines}\n   ]")
        return "{\n" + ",\n".join(blocks) + "\n  }"

    fields = [
        f"  {json.dumps(name)}: "
        + (
            runs_text(value)
            if name == "runs"
            else json.dumps(value, indent=1).replace("\n", "\n  ")
        )
        for name, value in results.items()
    ]
    Path(path).write_text("{\n" + ",\n".join(fields) + "\n}\n")


def load_results(path: Path = RESULTS_PATH) -> dict:
    """The precomputed results (see :func:`compute_results`)."""
    return json.loads(Path(path).read_text())


# --- reading the results -----------------------------------------------------------------------


def runs_of(results: dict, experiment: str, label: str) -> list[dict]:
    return results["runs"][results["experiments"][experiment][label]]


def test_errors(results: dict, experiment: str) -> dict[str, np.ndarray]:
    """``{label: test error per seed}`` for one experiment, in display order."""
    return {
        label: np.array([run["test_error"] for run in runs_of(results, experiment, label)])
        for label in results["experiments"][experiment]
    }


def p_drop_sweep(results: dict) -> dict:
    """Both ``p_drop`` sweeps: p_drops, widths of the fixed-product nets, and errors (p, seed)."""
    fixed_n = test_errors(results, "p_drop_fixed_n")
    product = test_errors(results, "p_drop_fixed_product")
    widths = [
        results["configs"][results["experiments"]["p_drop_fixed_product"][label]]["hidden"][0]
        for label in product
    ]
    return {
        "p_drops": np.array([float(label) for label in fixed_n]),
        "fixed_n": np.array(list(fixed_n.values())),
        "fixed_product": np.array(list(product.values())),
        "widths": np.array(widths),
    }


def data_size_table(results: dict) -> dict:
    """Test errors (size, seed) with and without dropout, and the paired gain none - dropout."""
    errors = test_errors(results, "data_size")
    sizes = results["settings"]["data_sizes"]
    none = np.array([errors[f"none/{n}"] for n in sizes])
    dropout = np.array([errors[f"dropout/{n}"] for n in sizes])
    return {"sizes": np.array(sizes), "none": none, "dropout": dropout, "gain": none - dropout}


def _mean_val_error(runs: list[dict], last: int) -> float:
    return float(np.mean([np.mean(run["val_mistakes"][-last:]) / run["n_val"] for run in runs]))


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
        strength, runs = min(options, key=lambda option: _mean_val_error(option[1], last))
        table.append(
            {
                "family": family,
                "strength": strength,
                "val_error": _mean_val_error(runs, last),
                "test_errors": np.array([run["test_error"] for run in runs]),
                "candidates": [s for s, _ in options],
            }
        )
    return table


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
                "val_error": _mean_val_error(runs, last),
                "test_error": float(np.mean([run["test_error"] for run in runs])),
            }
        )
    return rows


def val_curves(results: dict, p_drop: float) -> np.ndarray:
    """Validation error per epoch (seed, epoch) of the fixed-n net at ``p_drop``."""
    runs = runs_of(results, "p_drop_fixed_n", f"{p_drop:g}")
    return np.array([np.array(run["val_mistakes"]) / run["n_val"] for run in runs])


def convergence_table(results: dict, threshold: float) -> dict:
    """Per p_drop and seed: epochs to reach ``threshold`` and the best epoch, smoothed curves."""
    window = results["settings"]["smoothing"]
    p_drops = results["settings"]["p_drops"]
    reach = np.array(
        [[epochs_to_reach(c, threshold, window) for c in val_curves(results, p)] for p in p_drops]
    )
    best = np.array([[best_epoch(c, window) for c in val_curves(results, p)] for p in p_drops])
    return {"p_drops": np.array(p_drops), "reach": reach, "best": best}


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


def key_numbers(results: dict, threshold: float = 0.03) -> dict[str, str]:
    """The measured numbers the notebook quotes, formatted as it quotes them."""

    def pct(x):
        return f"{100 * float(x):.2f}%"

    sweep = p_drop_sweep(results)
    numbers = {}
    for name in ("fixed_n", "fixed_product"):
        means = sweep[name].mean(axis=1)
        best = int(np.argmin(means))
        numbers[f"{name}_best_p"] = f"{sweep['p_drops'][best]:g}"
        numbers[f"{name}_best"] = pct(means[best])
        numbers[f"{name}_p0"] = pct(means[0])
        numbers[f"{name}_last"] = pct(means[-1])
    sizes = data_size_table(results)
    for n, none, drop in zip(sizes["sizes"], sizes["none"], sizes["dropout"]):
        numbers[f"size_{n}_none"] = pct(none.mean())
        numbers[f"size_{n}_dropout"] = pct(drop.mean())
    sparsity = sparsity_table(results)
    p_drops = list(sparsity["p_drops"])
    dropout = results["settings"]["dropout"]
    for p in (0.0, dropout):
        i = p_drops.index(p)
        for layer in (0, 1):
            tag = f"{p:g}_L{layer + 1}"
            numbers[f"zero_{tag}"] = pct(sparsity["zero"][i, :, layer].mean())
            numbers[f"near_zero_{tag}"] = pct(sparsity["near_zero"][i, :, layer].mean())
            numbers[f"mean_act_{tag}"] = f"{sparsity['mean'][i, :, layer].mean():.2f}"
    for row in regularizer_table(results):
        numbers[f"reg_{row['family']}"] = pct(row["test_errors"].mean())
    conv = convergence_table(results, threshold)
    i = p_drops.index(dropout)
    numbers["reach_0"] = f"{np.nanmean(conv['reach'][0]):.0f}"
    numbers[f"reach_{dropout:g}"] = f"{np.nanmean(conv['reach'][i]):.0f}"
    numbers["best_0"] = f"{conv['best'][0].mean():.0f}"
    numbers[f"best_{dropout:g}"] = f"{conv['best'][i].mean():.0f}"
    numbers["best_ratio"] = f"{conv['best'][i].mean() / conv['best'][0].mean():.1f}"
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
    (reach_mean,) = right.plot(p, np.zeros(len(p)), "-o", color="C3", label=" ")
    reach_seeds = [
        right.plot([x] * len(row), row, "o", color="C3", alpha=0.3, markersize=3.5)[0]
        for row, x in zip(table["reach"], p)
    ]
    right.plot(
        p,
        table["best"].mean(axis=1),
        "-s",
        color="C4",
        label="epoch of the lowest smoothed validation error",
    )
    for row, x in zip(table["best"], p):
        right.plot([x] * len(row), row, "s", color="C4", alpha=0.3, markersize=3.5)
    right.set(
        xlabel="p_drop (hidden layers)",
        ylabel="epochs",
        title="time to converge (lines: mean over the seeds that get there)",
    )
    right.set_ylim(0, 1.3 * s["epochs"])
    right.legend(fontsize=8.5, loc="upper left")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_convergence,
        moving=(level, left.get_legend(), reach_mean, *reach_seeds, right.get_legend()),
        results=results,
        axes=(left, right),
        level=level,
        reach_mean=reach_mean,
        reach_seeds=reach_seeds,
    )


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
    reach = table["reach"]
    p = table["p_drops"]
    with np.errstate(all="ignore"):
        parts.reach_mean.set_data(
            p, np.nanmean(reach, axis=1) if np.isfinite(reach).any() else p * np.nan
        )
    for line, row, x in zip(parts.reach_seeds, reach, p):
        line.set_data([x] * len(row), row)
    label = f"epochs to reach {100 * threshold:.1f}%"
    parts.reach_mean.set_label(label)
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
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    results = compute_results(Settings(), progress=not args.quiet)
    save_results(results, args.out)
    print(f"wrote {args.out} ({results['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

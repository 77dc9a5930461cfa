"""Notebook 03: standard vs inverted dropout, and what the "boosting factor" does to learning."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..analysis import boosting_factor, equivalent_standard_lr
from ..dropout import dropout_forward, standard_dropout_forward
from ..nn import MLP, SGD
from .widgets import recall_parts, remember_parts, slider_key

#: the output axis of the training panel reaches the kept value 1 / keep_prob = 10 at the
#: slider's largest p_drop, 0.9: one range for every position, so that a move redraws in place
_OUTPUT_RANGE = (-0.5, 10.5)
_BAR_WIDTH = 0.25  # in output units; standard's bars left of each value, inverted's right


def _expectations_parts():
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    training, inference = {}, {}
    for k, name in enumerate(("standard", "inverted")):
        # two bars per dropout, at 0 and at the kept value (the one at 0 is empty at p_drop 0)
        training[name] = axes[0].bar([0.0, 1.0], [0.0, 0.0], width=_BAR_WIDTH, label=name)
        inference[name] = axes[1].bar(name, 0.0, color=f"C{k}")[0]
    means = {
        name: axes[0].axvline(1.0, linestyle="--", color=f"C{k}")
        for k, name in enumerate(("standard", "inverted"))
    }
    axes[0].set(
        xlabel="output value", ylabel="fraction of draws", xlim=_OUTPUT_RANGE, ylim=(0, 1.05)
    )
    axes[0].set_title(" ")
    axes[0].legend()
    axes[1].axhline(1.0, color="grey", linewidth=0.8)
    axes[1].set(ylabel="output", ylim=(0, 1.1), title=" ")
    figure.tight_layout()
    patches = [patch for bars in training.values() for patch in bars]
    return remember_parts(
        figure,
        draw_expectations,
        moving=(*patches, *means.values(), axes[0].title, *inference.values(), axes[1].title),
        axes=axes,
        training=training,
        means=means,
        inference=inference,
    )


def draw_expectations(p_drop: float = 0.5, n_draws: int = 4000, *, seed: int = 0, figure=None):
    """Outputs of one unit with input 1.0 under both dropouts, in training and at inference.

    Left: the two possible training outputs and their mean for standard and inverted dropout;
    right: the inference output of each. Inverted dropout's training mean is 1 and its inference
    output is 1; standard dropout's are keep_prob and keep_prob.
    ``figure``: a figure returned by an earlier call, redrawn in place (what the slider does).
    """
    rng = np.random.default_rng(seed)
    x = np.ones(n_draws)
    keep_prob = 1 - p_drop
    rows = {
        "standard": (
            standard_dropout_forward(x, p_drop, rng=rng)[0],
            standard_dropout_forward(x[:1], p_drop, rng=rng, training=False)[0][0],
        ),
        "inverted": (
            dropout_forward(x, p_drop, rng=rng)[0],
            dropout_forward(x[:1], p_drop, rng=rng, training=False)[0][0],
        ),
    }
    parts = recall_parts(figure, draw_expectations) or _expectations_parts()
    left, right = parts.axes
    for offset, (name, (train_out, infer_out)) in zip((-0.5, 0.5), rows.items()):
        kept_value = float(train_out.max())
        dropped, kept = parts.training[name]
        for patch, value, fraction in (
            (dropped, 0.0, float(np.mean(train_out == 0.0))),
            (kept, kept_value, float(np.mean(train_out == kept_value))),
        ):
            patch.set_x(value + (offset - 0.5) * _BAR_WIDTH)
            patch.set_height(fraction)
        mean = float(train_out.mean())
        parts.means[name].set_xdata([mean, mean])
        parts.inference[name].set_height(infer_out)
    left.set_title(f"training, input 1.0, p_drop={p_drop:.2f} (dashed: mean over {n_draws} draws)")
    right.set_title(f"inference output (keep_prob = {keep_prob:.2f})")
    # fixed ranges; a p_drop beyond the slider's widens the axis (1e-6: 1 / (1 - 0.9) is
    # 10.000000000000002 in floating point, which must not move the axis)
    low, high = _OUTPUT_RANGE
    right_end = 1 / keep_prob + 0.5
    left.set_xlim(low, right_end if right_end > high + 1e-6 else high)
    return parts.figure


#: a net whose training loss passes this has diverged (guessing uniformly among the 3 classes
#: costs ln 3 = 1.1); it is stopped there, long before its weights overflow
DIVERGED_LOSS = 1e6


@dataclass(frozen=True)
class SideBySide:
    """Distance between an inverted net's weights and standard nets' mapped weights, per step.

    Each array holds one value per step until the comparison ends: at ``n_steps``, or at the
    step where the inverted net or that twin diverged (its loss passed :data:`DIVERGED_LOSS`),
    which ``diverged`` records, by net, counting steps from 1.
    """

    steps: np.ndarray
    distance_equivalent: np.ndarray  # standard net at lr / keep_prob**2 on post-dropout weights
    distance_naive: np.ndarray  # standard net at lr / keep_prob (the "boosting factor")
    loss_inverted: np.ndarray
    diverged: dict[str, int] = field(default_factory=dict)


def train_side_by_side(
    p_drop: float = 0.5, *, lr: float = 0.05, n_steps: int = 60, seed: int = 0
) -> SideBySide:
    """Train an inverted-dropout net and two standard-dropout twins with the same masks.

    The twins start from the mapped weights (``W_standard = W_inverted / keep_prob`` after each
    dropout site). One learns at :func:`equivalent_standard_lr` on its post-dropout weights, the
    other at ``lr * boosting_factor``. The distance is the largest relative difference between
    the inverted net's weights and ``keep_prob`` times the twin's, over all weight matrices.

    At large ``lr`` and ``p_drop`` a net diverges: its loss grows step after step until its
    weights overflow. A net is stopped at the first step whose loss (computed before the
    update) passes :data:`DIVERGED_LOSS`; a twin's distance ends there, and every distance ends
    where the inverted net stops.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((128, 8))
    y = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1).astype(int)
    rates = [0.0, p_drop, p_drop]
    # float64: the twins are compared to 1e-9, beyond float32's precision
    inverted = MLP([8, 32, 32, 3], rates, rng=np.random.default_rng(seed + 1), dtype=np.float64)
    twins = {
        "equivalent": equivalent_standard_lr(lr, p_drop),
        "naive": lr * boosting_factor(p_drop),
    }
    nets = {"inverted": (inverted, SGD(inverted.parameters(), lr, momentum=0.9))}
    for name, post_dropout_lr in twins.items():
        twin = inverted.converted("standard")
        lrs = [post_dropout_lr if reads else lr for reads in twin.reads_dropout()]
        nets[name] = (twin, SGD(twin.parameters(), lrs, momentum=0.9))
    mask_rngs = {name: np.random.default_rng(seed + 2) for name in nets}
    keep = [1 - rate for rate in rates]
    distances = {name: [] for name in twins}
    losses = []
    diverged: dict[str, int] = {}
    for step in range(n_steps):
        batch = np.arange(step * 16, step * 16 + 16) % len(X)
        for name, (net, optimizer) in nets.items():
            if name in diverged:
                continue
            loss, grads = net.loss_and_grads(X[batch], y[batch], rng=mask_rngs[name])
            if not loss <= DIVERGED_LOSS:  # NaN included
                diverged[name] = step + 1
                continue
            optimizer.step(grads)
            if name == "inverted":
                losses.append(loss)
        if "inverted" in diverged:
            break
        for name in twins:
            if name in diverged:
                continue
            twin = nets[name][0]
            distances[name].append(
                max(
                    np.abs(W_i - k * W_s).max() / np.abs(W_i).max()
                    for W_i, W_s, k in zip(inverted.weights, twin.weights, keep)
                )
            )
    return SideBySide(
        np.arange(1, n_steps + 1),
        np.array(distances["equivalent"]),
        np.array(distances["naive"]),
        np.array(losses),
        diverged,
    )


#: the positions of the notebook's sliders: p_drop 0.1 to 0.8 by 0.1, lr 10**-3 to 10**-0.5;
#: the lr slider starts at LR_START, off its grid until it is first moved
P_DROP_SLIDER = tuple(round(0.1 * k, 6) for k in range(1, 9))
LR_SLIDER = tuple(10.0 ** (-3.0 + 0.25 * k) for k in range(11))
LR_START = 0.05


@lru_cache(maxsize=256)
def _side_by_side_of(p_drop: float, lr: float) -> SideBySide:
    return train_side_by_side(p_drop, lr=lr)


def precompute_side_by_side(
    p_drops: tuple[float, ...] = P_DROP_SLIDER,
    lrs: tuple[float, ...] = (*LR_SLIDER, LR_START),
    *,
    progress: bool = False,
) -> None:
    """Train the three nets once for every slider position, the starting lr included (96 short
    runs of 60 steps), so that moving a slider only redraws. ``progress`` shows a tqdm bar."""
    from tqdm.auto import tqdm

    grid = [(p_drop, lr) for p_drop in p_drops for lr in lrs]
    for p_drop, lr in tqdm(grid, desc="training side by side", unit="run", disable=not progress):
        _side_by_side_of(slider_key(p_drop), slider_key(lr))


def _side_by_side_parts():
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 3.6))
    steps = np.arange(1, 61)
    (equivalent,) = axis.semilogy(steps, np.ones(steps.size), label=" ")
    (naive,) = axis.semilogy(steps, np.ones(steps.size), label=" ")
    # fixed limits: the floor of exact agreement up to weights that differ entirely; the title
    # has room for two lines, the second saying when a net diverged
    axis.set(xlabel="SGD step", ylabel="relative weight difference", ylim=(3e-18, 3.0))
    axis.set_title(" \n ")
    axis.legend(loc="center right")
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_side_by_side,
        moving=(equivalent, naive, axis.title, axis.get_legend()),
        axis=axis,
        lines=(equivalent, naive),
    )


def draw_side_by_side(p_drop: float = 0.5, lr: float = 0.05, *, figure=None):
    """Plot :func:`train_side_by_side`: the equivalent rate stays at rounding error, the naive
    boosted rate drifts away. Each run is trained once and cached. A curve stops where its
    comparison ended; the title and the legend say which net diverged, and at which step.

    ``figure``: a figure returned by an earlier call, redrawn in place (what the sliders do).
    """
    result = _side_by_side_of(slider_key(p_drop), slider_key(lr))
    parts = recall_parts(figure, draw_side_by_side) or _side_by_side_parts()
    tiny = 1e-17  # exact agreement (distance 0) is drawn at this floor
    rates = {
        "equivalent": f"lr / keep_prob² = {equivalent_standard_lr(lr, p_drop):.3g}",
        "naive": f"lr / keep_prob = {lr * boosting_factor(p_drop):.3g}",
    }
    distances = {"equivalent": result.distance_equivalent, "naive": result.distance_naive}
    legend_texts = parts.axis.get_legend().get_texts()
    for line, text, name in zip(parts.lines, legend_texts, rates):
        label = f"standard net at {rates[name]}"
        if name in result.diverged:
            label += f" (diverges at step {result.diverged[name]})"
        distance = distances[name]
        line.set_data(result.steps[: len(distance)], np.maximum(distance, tiny))
        line.set_label(label)
        text.set_text(label)
    title = f"inverted net at lr = {lr:g}, p_drop = {p_drop:.2f}, vs its standard twins"
    if "inverted" in result.diverged:
        title += f"\nthe inverted net diverges at step {result.diverged['inverted']}: curves stop"
    parts.axis.set_title(title)
    return parts.figure

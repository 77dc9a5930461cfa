"""Notebook 04: backpropagation through the dropout mask, and gradient checks with dropout.

The gradient checks run on a tiny :class:`course_lib.nn.MLP` (5-8-8-3, float64) whose loss is
seen as a function of one flat parameter vector. A *fixed-mask* check draws every evaluation's
masks from a generator reseeded with the same seed, so every evaluation sees the same thinned
network; a *naive* check lets one generator run on, so every evaluation draws new masks.

Matrices here are tiny, and a multi-threaded BLAS spends more time waking threads than
multiplying them (ten times more on a busy two-core machine), so the heavy loops run with BLAS
limited to one thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..data import load_digits_split
from ..dropout import dropout_backward, dropout_forward
from ..gradcheck import (
    forward_difference_gradient,
    numerical_gradient,
    numerical_gradient_array,
    relative_error,
)
from ..nn import MLP, SGD, one_blas_thread
from .widgets import recall_parts, remember_parts

#: step sizes of the gradient-check curves: 1e-12 ... 1e-1 in half decades
H_GRID = tuple(float(h) for h in 10.0 ** np.arange(-12.0, -0.75, 0.5))
#: the same range in whole decades, for the comparison of difference quotients
H_DECADES = tuple(float(h) for h in 10.0 ** np.arange(-12.0, -0.5, 1.0))
#: relative errors below this: the gradients agree (float64); above WRONG: one of them is wrong
AGREE, WRONG = 1e-7, 1e-3
_EPS = float(np.finfo(np.float64).eps)


def _read_only(result):
    """Make the arrays of a cached result read-only: every caller shares them."""
    for value in vars(result).values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    return result


# --- backward through the mask ------------------------------------------------------------------


def fresh_mask_backward_error(p_drop: float, *, n_units: int = 100_000, seed: int = 0) -> float:
    """Relative error of a backward pass that draws a *new* mask instead of reusing the forward's.

    The correct gradient is ``dout * m1 / keep_prob``; the broken one ``dout * m2 / keep_prob``
    with an independent mask ``m2``. For large layers the error tends to ``sqrt(p_drop / 2)``:
    the masks disagree on a fraction ``2 p_drop keep_prob`` of the units.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_units)
    dout = rng.standard_normal(n_units)
    _, cache = dropout_forward(x, p_drop, rng=rng)
    _, other_cache = dropout_forward(x, p_drop, rng=rng)  # the mask a careless backward redraws
    return relative_error(dropout_backward(dout, cache), dropout_backward(dout, other_cache))


# --- the network of the gradient checks ---------------------------------------------------------


def toy_problem(p_drop: float, *, seed: int = 0) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A 5-8-8-3 float64 MLP with dropout ``p_drop`` on both hidden layers, and 16 labelled points.

    The biases get small random values instead of zeros: with zero biases, a sample whose hidden
    units are all dropped gives the next layer pre-activations equal to its biases, exactly 0,
    on the kink of the ReLU, where no finite difference matches the backward pass.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((16, 5))
    y = rng.integers(0, 3, size=16)
    model = MLP([5, 8, 8, 3], [0.0, p_drop, p_drop], rng=rng, dtype=np.float64)  # gradient checks
    for b in model.biases:
        b[...] = rng.normal(0.0, 0.1, size=b.shape)
    return model, X, y


def flat_parameters(model: MLP) -> np.ndarray:
    """All parameters of ``model`` in one vector, in the order of ``model.parameters()``."""
    return np.concatenate([p.ravel() for p in model.parameters()])


def loss_of_parameters(
    model: MLP, X: np.ndarray, y: np.ndarray, mask_rng: Callable[[], np.random.Generator]
) -> Callable[[np.ndarray], float]:
    """The training loss as a function of a flat parameter vector.

    Every evaluation loads the vector into a copy of ``model`` and runs a training-mode forward
    pass whose masks come from ``mask_rng()``: return a freshly seeded generator to fix the mask,
    or one shared generator to draw new masks at every evaluation.
    """
    work = model.copy()
    params = work.parameters()

    def loss(theta: np.ndarray) -> float:
        offset = 0
        for p in params:
            p[...] = theta[offset : offset + p.size].reshape(p.shape)
            offset += p.size
        outputs, _ = work.forward(X, training=True, rng=mask_rng())
        return work.loss(outputs, y)[0]

    return loss


@dataclass(frozen=True)
class GradientCheckCurves:
    """Relative errors of numerical vs backprop gradients, per step size ``h``.

    ``fixed``: every evaluation sees the backward pass's masks; ``naive``: every evaluation draws
    new ones. ``numerical_*[k]`` is the numerical gradient at ``hs[k]``; ``analytic`` is backprop's.
    """

    p_drop: float
    hs: np.ndarray
    fixed: np.ndarray
    naive: np.ndarray
    analytic: np.ndarray
    numerical_fixed: np.ndarray
    numerical_naive: np.ndarray


@lru_cache(maxsize=16)
def gradient_check_curves(
    p_drop: float, *, seed: int = 0, hs: tuple[float, ...] = H_GRID
) -> GradientCheckCurves:
    """Gradient check of :func:`toy_problem` at every ``h`` of ``hs``, fixed-mask and naive."""
    model, X, y = toy_problem(p_drop, seed=seed)
    mask_seed = seed + 1000
    with one_blas_thread():
        _, grads = model.loss_and_grads(X, y, training=True, rng=np.random.default_rng(mask_seed))
        analytic = np.concatenate([g.ravel() for g in grads])
        theta = flat_parameters(model)
        fixed_loss = loss_of_parameters(model, X, y, lambda: np.random.default_rng(mask_seed))
        shared = np.random.default_rng(mask_seed)
        naive_loss = loss_of_parameters(model, X, y, lambda: shared)
        numerical_fixed = np.array([numerical_gradient(fixed_loss, theta, h=h) for h in hs])
        numerical_naive = np.array([numerical_gradient(naive_loss, theta, h=h) for h in hs])
    return _read_only(
        GradientCheckCurves(
            p_drop,
            np.array(hs),
            np.array([relative_error(g, analytic) for g in numerical_fixed]),
            np.array([relative_error(g, analytic) for g in numerical_naive]),
            analytic,
            numerical_fixed,
            numerical_naive,
        )
    )


def _threshold_lines(axis) -> None:
    axis.axhspan(1e-17, AGREE, color="tab:green", alpha=0.08, linewidth=0)
    axis.axhspan(WRONG, 2.0, color="tab:red", alpha=0.08, linewidth=0)
    axis.text(
        0.01,
        AGREE / 3,
        f"agree (< {AGREE:.0e})",
        transform=axis.get_yaxis_transform(),
        color="tab:green",
        fontsize=8,
        va="top",
    )
    axis.text(
        0.01,
        WRONG * 2,
        f"wrong (> {WRONG:.0e})",
        transform=axis.get_yaxis_transform(),
        color="tab:red",
        fontsize=8,
        va="bottom",
    )


#: the positions of the notebook's p_drop slider (0 to 0.8 by 0.1)
P_DROP_SLIDER = tuple(round(0.1 * k, 6) for k in range(9))


def precompute_gradient_checks(
    p_drops: tuple[float, ...] = P_DROP_SLIDER, *, progress: bool = False
) -> None:
    """Run :func:`gradient_check_curves` once for every ``p_drop`` of the slider (about a second
    each), so that moving the slider only redraws. ``progress`` shows a tqdm bar."""
    from tqdm.auto import tqdm

    for p_drop in tqdm(p_drops, desc="gradient checks", unit="p_drop", disable=not progress):
        gradient_check_curves(round(float(p_drop), 6))


def _gradient_check_parts():
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=(1.1, 1))
    _threshold_lines(left)
    hs = np.array(H_GRID)
    (naive_curve,) = left.loglog(
        hs,
        np.ones_like(hs),
        "s--",
        color="C1",
        markersize=5,
        markerfacecolor="none",
        label="naive (new mask every evaluation)",
    )
    (fixed_curve,) = left.loglog(
        hs,
        np.ones_like(hs),
        "o-",
        color="C0",
        markersize=3,
        label="fixed mask (reseeded every evaluation)",
    )
    chosen_h = left.axvline(1e-5, color="grey", linewidth=1)
    left.set(xlabel="step h", ylabel="relative error", ylim=(1e-13, 3.0), title=" ")
    left.legend(loc="lower right", fontsize=8)
    (naive_points,) = right.semilogy(
        [], [], "s", color="C1", markersize=5, markerfacecolor="none", label="naive"
    )
    (fixed_points,) = right.semilogy([], [], "o", color="C0", markersize=2.5, label="fixed mask")
    typical = right.axhline(
        1.0, color="black", linewidth=1, linestyle=":", label="median |backprop gradient|"
    )
    n_parameters = sum(p.size for p in toy_problem(0.0)[0].parameters())
    right.set(
        xlabel="parameter index (W0, b0, W1, b1, W2, b2)",
        ylabel="|numerical - backprop|  (0 drawn at 1e-16)",
        xlim=(-0.05 * n_parameters, 1.05 * n_parameters),
        ylim=(3e-17, 1e13),
        title=" ",
    )
    right.legend(loc="upper right", fontsize=8, ncols=3)
    figure.tight_layout()
    return remember_parts(
        figure,
        draw_gradient_check,
        moving=(
            naive_curve,
            fixed_curve,
            chosen_h,
            left.title,
            left.get_legend(),
            naive_points,
            fixed_points,
            typical,
            right.title,
            right.get_legend(),
        ),
        left=left,
        right=right,
        naive_curve=naive_curve,
        fixed_curve=fixed_curve,
        chosen_h=chosen_h,
        naive_points=naive_points,
        fixed_points=fixed_points,
        typical=typical,
    )


def draw_gradient_check(log10_h: float = -5.0, p_drop: float = 0.5, *, figure=None):
    """The widget: relative error vs ``h`` for the fixed-mask and the naive check (left), and the
    error of every parameter's numerical gradient at the chosen ``h`` (right).

    ``figure``: a figure returned by an earlier call, redrawn in place (what the slider does).
    """
    curves = gradient_check_curves(round(float(p_drop), 6))
    k = int(np.argmin(np.abs(np.log10(curves.hs) - log10_h)))
    h = curves.hs[k]
    parts = recall_parts(figure, draw_gradient_check) or _gradient_check_parts()
    parts.naive_curve.set_data(curves.hs, np.maximum(curves.naive, 1e-17))
    parts.fixed_curve.set_data(curves.hs, np.maximum(curves.fixed, 1e-17))
    parts.chosen_h.set_xdata([h, h])
    parts.left.set_title(
        f"p_drop = {p_drop:.1f}: fixed {curves.fixed[k]:.1e}, naive "
        f"{curves.naive[k]:.1e} at h = {h:.0e}"
    )
    index = np.arange(curves.analytic.size)
    tiny = 1e-16  # an exact agreement (difference 0) is drawn on this floor
    parts.naive_points.set_data(
        index, np.maximum(np.abs(curves.numerical_naive[k] - curves.analytic), tiny)
    )
    parts.fixed_points.set_data(
        index, np.maximum(np.abs(curves.numerical_fixed[k] - curves.analytic), tiny)
    )
    median = np.median(np.abs(curves.analytic))
    parts.typical.set_ydata([median, median])
    parts.right.set_title(f"each parameter's gradient error at h = {h:.0e}")
    return parts.figure


# --- truncation vs rounding ---------------------------------------------------------------------


@dataclass(frozen=True)
class DifferenceErrors:
    """Relative errors of centred and one-sided differences on the toy network without dropout."""

    hs: np.ndarray
    centred: np.ndarray
    one_sided: np.ndarray


@lru_cache(maxsize=4)
def difference_errors(*, seed: int = 0, hs: tuple[float, ...] = H_DECADES) -> DifferenceErrors:
    """Both difference quotients (:func:`~course_lib.gradcheck.numerical_gradient` and
    :func:`~course_lib.gradcheck.forward_difference_gradient`) against backprop on
    :func:`toy_problem` with ``p_drop = 0``."""
    model, X, y = toy_problem(0.0, seed=seed)
    with one_blas_thread():
        _, grads = model.loss_and_grads(X, y, training=True, rng=np.random.default_rng(0))
        analytic = np.concatenate([g.ravel() for g in grads])
        theta = flat_parameters(model)
        loss = loss_of_parameters(model, X, y, lambda: np.random.default_rng(0))
        centred = [relative_error(numerical_gradient(loss, theta, h=h), analytic) for h in hs]
        one_sided = [
            relative_error(forward_difference_gradient(loss, theta, h=h), analytic) for h in hs
        ]
    return _read_only(DifferenceErrors(np.array(hs), np.array(centred), np.array(one_sided)))


def draw_difference_errors():
    """Centred vs one-sided differences: two V shapes, with their slopes and best steps marked."""
    import matplotlib.pyplot as plt

    errors = difference_errors()
    hs = errors.hs
    figure, axis = plt.subplots(figsize=(8, 4))
    _threshold_lines(axis)
    axis.loglog(hs, errors.centred, "o-", markersize=3, label="centred: (f(x+h) - f(x-h)) / 2h")
    axis.loglog(hs, errors.one_sided, "s-", markersize=3, label="one-sided: (f(x+h) - f(x)) / h")

    # slope guides anchored on the measured curves at h = 1e-10 (rounding) and h = 1e-4
    # (truncation, before any step crosses a ReLU kink)
    def at(h):
        return int(np.argmin(np.abs(np.log10(hs / h))))

    left, right = hs <= 1e-7, (hs >= 1e-6) & (hs <= 1e-3)
    rounding = errors.centred[at(1e-10)] * hs[at(1e-10)] / hs
    axis.loglog(hs[left], rounding[left], ":", color="grey")
    axis.text(hs[at(1e-11)], rounding[at(1e-11)] * 4, "∝ ε/h (rounding)", color="grey", fontsize=8)
    truncation2 = errors.centred[at(1e-4)] * (hs / hs[at(1e-4)]) ** 2
    axis.loglog(hs[right], truncation2[right], ":", color="C0")
    axis.text(hs[at(1e-4)] * 1.5, truncation2[at(1e-4)] / 20, "∝ h²", color="C0", fontsize=8)
    truncation1 = errors.one_sided[at(1e-4)] * hs / hs[at(1e-4)]
    middle = (hs >= 1e-8) & (hs <= 1e-3)
    axis.loglog(hs[middle], truncation1[middle], ":", color="C1")
    axis.text(hs[at(1e-6)], truncation1[at(1e-6)] * 4, "∝ h", color="C1", fontsize=8)
    for h_best, color in ((_EPS ** (1 / 3), "C0"), (_EPS**0.5, "C1")):
        axis.axvline(h_best, color=color, linewidth=0.8, alpha=0.6)
    axis.set(
        xlabel="step h",
        ylabel="relative error vs backprop",
        ylim=(1e-13, 3.0),
        title="5-8-8-3 network, p_drop = 0; vertical lines: the predicted best h, "
        "ε^(1/3) and ε^(1/2)",
    )
    axis.legend(loc="lower left", fontsize=8, bbox_to_anchor=(0.0, 0.08))
    figure.tight_layout()
    return figure


# --- the cost J with dropout --------------------------------------------------------------------


@dataclass(frozen=True)
class LossTraces:
    """Full-batch gradient descent on 300 digits: the loss at every step, seen three ways.

    ``sampled``: the loss of the step's own thinned network (what a training loop can print);
    ``expected``: the mean over ``n_masks`` fixed masks, an estimate of ``E_mask[J]``;
    ``inference``: the loss of the full network without dropout.
    """

    p_drop: float
    sampled: np.ndarray
    expected: np.ndarray
    inference: np.ndarray


@lru_cache(maxsize=8)
def loss_traces(
    p_drop: float, *, steps: int = 60, lr: float = 0.2, n_masks: int = 10, seed: int = 0
) -> LossTraces:
    """Train a 64-64-10 MLP with dropout ``p_drop`` on its hidden layer by full-batch descent."""
    split = load_digits_split(300, rng=np.random.default_rng(seed), n_val=0, n_test=0)
    X, y = split.X_train, split.y_train
    model = MLP([64, 64, 10], [0.0, p_drop], rng=np.random.default_rng(seed + 1), dtype=np.float64)
    optimizer = SGD(model.parameters(), lr, momentum=0.0)
    rng = np.random.default_rng(seed + 2)
    sampled, expected, inference = [], [], []
    with one_blas_thread():
        for _ in range(steps):
            loss, grads = model.loss_and_grads(X, y, training=True, rng=rng)
            sampled.append(loss)
            expected.append(
                np.mean(
                    [
                        model.loss(
                            model.forward(X, training=True, rng=np.random.default_rng([seed, s]))[
                                0
                            ],
                            y,
                        )[0]
                        for s in range(n_masks)
                    ]
                )
            )
            inference.append(model.loss(model.forward(X)[0], y)[0])
            optimizer.step(grads)
    return _read_only(
        LossTraces(p_drop, np.array(sampled), np.array(expected), np.array(inference))
    )


def draw_loss_traces(p_drops: tuple[float, float] = (0.0, 0.5)):
    """The cost J per step without and with dropout, side by side."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(p_drops), figsize=(11, 3.8), sharey=True)
    for axis, p_drop in zip(np.atleast_1d(axes), p_drops):
        traces = loss_traces(p_drop)
        steps = np.arange(1, traces.sampled.size + 1)
        rises = int(np.count_nonzero(np.diff(traces.sampled) > 0))
        axis.plot(
            steps,
            traces.sampled,
            color="C1",
            linewidth=1,
            label=f"J of the step's own mask ({rises} rises)",
        )
        if p_drop > 0:
            axis.plot(steps, traces.expected, color="C0", label="mean J over 10 fixed masks ≈ E[J]")
        axis.plot(
            steps,
            traces.inference,
            color="black",
            linestyle="--",
            linewidth=1,
            label="J without dropout (inference)",
        )
        axis.set(title=f"p_drop = {p_drop:g}", xlabel="gradient step (full batch)")
        axis.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("cross-entropy J")
    figure.tight_layout()
    return figure


# --- find the bug -------------------------------------------------------------------------------


def layer_gradient_errors(
    forward, backward, *, p_drop: float, seed: int = 0, h: float = 1e-6
) -> dict[str, float]:
    """Gradient check of a dropout-then-dense layer with the mask fixed by reseeding.

    ``forward(x, W, b, p_drop, *, rng, training=True) -> (out, cache)`` and
    ``backward(dout, cache) -> (dx, dW, db)``. Returns the relative error of each gradient
    against centred differences of ``sum(out * dout)``.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 10))
    W = rng.standard_normal((10, 4))
    b = rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    mask_seed = seed + 1

    def output(x_, W_, b_):
        return forward(x_, W_, b_, p_drop, rng=np.random.default_rng(mask_seed))[0]

    _, cache = forward(x, W, b, p_drop, rng=np.random.default_rng(mask_seed))
    dx, dW, db = backward(dout.copy(), cache)
    numerical = {
        "dx": numerical_gradient_array(lambda v: output(v, W, b), x, dout, h=h),
        "dW": numerical_gradient_array(lambda v: output(x, v, b), W, dout, h=h),
        "db": numerical_gradient_array(lambda v: output(x, W, v), b, dout, h=h),
    }
    return {
        name: relative_error(numerical[name], value)
        for name, value in (("dx", dx), ("dW", dW), ("db", db))
    }

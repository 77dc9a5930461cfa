# %% [markdown] id="e7e7169ae039"
# # 04 · Backpropagation through dropout, and how to check it
#
# **Learning goals.** After this notebook you can
#
# 1. derive the backward pass of inverted dropout, $dx = dout \odot m / \text{keep\_prob}$, and
#    say why the forward pass must cache its mask;
# 2. implement a dropout forward/backward pair that passes exact, statistical and numerical
#    checks;
# 3. check any backward pass against centred differences with a relative error, and choose the
#    step $h$ knowing what truncation and rounding each cost;
# 4. explain why the cost $J$ is not one function once dropout is on, and debug in two phases:
#    first with `p_drop = 0`, then with dropout on and the mask held fixed;
# 5. find a real-world bug: a dropout layer whose backward pass ignores the mask;
# 6. choose the step and the pass threshold of a gradient check in float64, float32 and float16,
#    and defend the choice.
#
# **Convention.** `p_drop` is the probability that a unit is **dropped** and
# `keep_prob = 1 - p_drop`. A mask $m$ is boolean, `True` (1) = kept. The deeplearning.ai notes
# quoted below speak of `keep_prob`; Srivastava et al. write $p$ for the probability of
# *keeping* a unit. Inverted dropout, the kind used everywhere here, computes
# $\text{out} = x \odot m / \text{keep\_prob}$ in training and $\text{out} = x$ at inference.

# %% id="f0f4572be863"
import numpy as np
import ipywidgets as widgets

from course_lib import dropout
from course_lib.lessons import nb04_backprop as lesson
from course_lib.lessons.widgets import live_figure
from autograder.exercises import check, hint
from autograder.exercises.nb04_backprop import LayerPair

# %% [markdown] id="5adeb045" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("dropout_backward")` gives a first hint for that exercise; call it again for a more specific
# one (two or three per exercise). Hints are not graded, and they never give the answer away.

# %% [markdown] id="22e578360f16"
# ## 1. The backward pass goes through the same mask
#
# Each output of inverted dropout depends on one input only, through a constant factor:
#
# $$\text{out}_i = \frac{m_i}{\text{keep\_prob}}\, x_i
#   \qquad\Longrightarrow\qquad
#   \frac{\partial\, \text{out}_j}{\partial x_i} = \frac{m_i}{\text{keep\_prob}}\,\delta_{ij}.$$
#
# The chain rule sums over the outputs, and only $j = i$ survives:
#
# $$dx_i = \sum_j dout_j\, \frac{\partial\, \text{out}_j}{\partial x_i}
#        = \frac{m_i}{\text{keep\_prob}}\; dout_i ,
#   \qquad dx = dout \odot m / \text{keep\_prob}.$$
#
# Three consequences:
#
# * **Kept units** pass the gradient on, scaled by the same $1/\text{keep\_prob}$ as in the
#   forward pass.
# * **Dropped units get exactly zero gradient.** They did not influence the loss, so for this
#   example nothing before them learns through them.
# * **At inference** the forward pass is the identity, so the backward pass is the identity too.
#   (Standard dropout, which does not scale in training, has $dx = dout \odot m$.)
#
# The mask $m$ in the backward pass must be **the mask of the forward pass**. It was random, so
# the backward pass cannot know it unless the forward pass leaves it behind: that is what the
# `cache` is for. (Saving the generator's state and redrawing the same mask is equivalent and
# saves memory; FlashAttention does this with the dropout on its attention weights.) Here is one
# layer of 8 units, with `course_lib`'s implementation and an upstream gradient of ones:

# %% id="38d4c9ce1359" tags=["demo"]
rng = np.random.default_rng(4)
x = np.round(rng.uniform(0.5, 2.0, size=8), 2)
out, cache = dropout.dropout_forward(x, 0.5, rng=rng)
dx = dropout.dropout_backward(np.ones(8), cache)
print("x    ", x)
print("mask ", cache.mask.astype(int))
print("out  ", out)
print("dx   ", dx, "  (dout = 1 everywhere)")

# %% [markdown] id="ab36eb0bae7c"
# What if the backward pass draws a **new** mask instead? Two independent masks disagree on a
# unit with probability $2\,\text{p\_drop}\,\text{keep\_prob}$, and on those units the gradient
# is either missing or invented. For a large layer the relative error between the right and the
# wrong gradient (defined in section 3) tends to
# $\sqrt{2\,\text{p\_drop}\,\text{keep\_prob}} / (2\sqrt{\text{keep\_prob}}) =
# \sqrt{\text{p\_drop}/2}$, which is far from small:

# %% id="f1ee273e65de" tags=["demo"]
for p_drop in (0.1, 0.3, 0.5, 0.8):
    error = lesson.fresh_mask_backward_error(p_drop)
    print(f"p_drop = {p_drop}: relative error {error:.3f}   (sqrt(p_drop / 2) = "
          f"{np.sqrt(p_drop / 2):.3f})")

# %% [markdown] id="bf4c301f8f08"
# ## 2. Exercise: a dropout layer, forward and backward
#
# Write **both** functions in the cell below; you decide what `cache` holds.
#
# * `dropout_forward(x, p_drop, *, rng, training=True)` is inverted dropout as in notebook 03:
#   an independent keep-mask for every entry, drawn from `rng` only; kept entries scaled by
#   `1 / keep_prob` in training; `x` returned unchanged at inference or when `p_drop == 0`;
#   `ValueError` when `p_drop` is not in `[0, 1)`.
# * `dropout_backward(dout, cache)` returns `dx = dout * mask / keep_prob` with the forward's
#   mask, and `dx = dout` when the forward pass was the identity (inference, or `p_drop == 0`).
# * Neither function modifies its inputs (`x`, `dout`); both return the dtype they were given
#   (float32 in, float32 out).
#
# The checks pair your forward with your backward. They judge the forward's output
# statistically (false-failure probability below $10^{-9}$ per check), compare `dx` exactly with
# the mask read from that output, feed inputs with exact zeros (as ReLU outputs have), run
# inference and `p_drop = 0`, and gradient-check the pair with the mask fixed. One hint: the
# output is 0 for a kept unit whose input is 0, so the output does not tell you the mask.
#
# **Points** (4): 3 for the forward and backward pair, 1 for the forward refusing a bad `p_drop`
# with `ValueError`.

# %% id="dropout-backward-solution" nbgrader={"grade": false, "grade_id": "dropout_backward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropout_forward(x, p_drop, *, rng, training=True):
    """Inverted dropout, forward pass.

    Parameters
    ----------
    x : ndarray of float, any shape
        Activations.
    p_drop : float in [0, 1)
        Probability that a unit is dropped (keep_prob = 1 - p_drop).
    rng : numpy.random.Generator
        The only source of randomness.
    training : bool
        In training, drop and scale; at inference return x unchanged.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : whatever dropout_backward needs

    Raises
    ------
    ValueError
        If p_drop is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if not training or p_drop == 0.0:
        return x.copy(), None
    keep_prob = 1.0 - p_drop
    mask = rng.random(x.shape) < keep_prob
    out = (x * mask / keep_prob).astype(x.dtype)
    return out, (mask, keep_prob)
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Inverted dropout, backward pass.

    Parameters
    ----------
    dout : ndarray of float, the shape of the forward input
        Gradient of the loss with respect to the forward output.
    cache : what dropout_forward returned with its output

    Returns
    -------
    dx : ndarray, same shape and dtype as dout
        dout * mask / keep_prob with the forward pass's mask (keep_prob = 1 - p_drop);
        dout itself (a copy) if the forward pass was the identity.
    """
    ### BEGIN SOLUTION
    if cache is None:
        return dout.copy()
    mask, keep_prob = cache
    return (dout * mask / keep_prob).astype(dout.dtype)
    ### END SOLUTION

# %% id="dropout-backward" nbgrader={"grade": true, "grade_id": "dropout_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check("dropout_backward", LayerPair(dropout_forward, dropout_backward))
### BEGIN HIDDEN TESTS
check("dropout_backward", LayerPair(dropout_forward, dropout_backward), hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="fcbb5024a899"
# ## 3. Gradient checking: centred differences and a relative error
#
# A backward pass is a claim about derivatives, and finite differences test it. Nudge one
# parameter $\theta_i$ by $\pm h$ and compare
#
# $$g_i^{\text{num}} = \frac{J(\theta + h e_i) - J(\theta - h e_i)}{2h}
#   \qquad\text{with the backprop gradient } g_i.$$
#
# **Why centred.** By Taylor,
# $J(\theta \pm h e_i) = J \pm h J' + \tfrac{h^2}{2} J'' \pm \tfrac{h^3}{6} J''' + \dots$, so the
# centred quotient is $J' + \tfrac{h^2}{6} J''' + O(h^4)$: a **truncation error of order
# $h^2$**. The one-sided quotient $(J(\theta + h e_i) - J(\theta))/h = J' + \tfrac{h}{2}J'' +
# \dots$ is only $O(h)$.
#
# **Why not the smallest h.** Each evaluation of $J$ is rounded, with an error of about
# $\varepsilon |J|$ ($\varepsilon \approx 2.2\cdot 10^{-16}$ in float64). The difference of two
# evaluations keeps that error while the true difference shrinks with $h$, so rounding
# contributes about $\varepsilon |J| / h$. The total for centred differences,
# $\tfrac{h^2}{6}|J'''| + \varepsilon |J|/h$, is smallest near $h \approx \varepsilon^{1/3}
# \approx 6\cdot 10^{-6}$ (for $J$ and $J'''$ of order 1), with an error of order
# $\varepsilon^{2/3} \approx 4 \cdot 10^{-11}$. One-sided differences do best near
# $h \approx \varepsilon^{1/2} \approx 1.5\cdot 10^{-8}$, with an error of order
# $\varepsilon^{1/2}$.
#
# **Why relative.** To compare the whole gradient vector at once use
#
# $$\text{rel}(a, b) = \frac{\lVert a - b\rVert}{\lVert a\rVert + \lVert b\rVert}$$
#
# with Euclidean norms. It does not change when the loss is multiplied by a constant, it is
# symmetric, it lies in $[0, 1]$, and it is meaningful when one gradient is zero (the result is
# 1). When both are zero they agree, and the answer is 0. In float64, below about $10^{-7}$ the
# gradients agree; above $10^{-3}$ one of them is wrong; in between, look closer.
#
# The figure checks the full gradient (147 parameters) of a small 5-8-8-3 ReLU network
# (`course_lib.nn.MLP`) with `p_drop = 0`, for every power of ten from $h = 10^{-12}$ to
# $10^{-1}$:

# %% id="65726bc9dfe8" tags=["demo"]
lesson.draw_difference_errors();

# %% id="333fd24bb802" tags=["demo"]
errors = lesson.difference_errors()
for name, curve in (("centred", errors.centred), ("one-sided", errors.one_sided)):
    best = int(np.argmin(curve))
    print(f"{name:>9}: smallest relative error {curve[best]:.1e} at h = {errors.hs[best]:.0e}")

# %% [markdown] id="ef14c1ff625b"
# Both curves are V-shaped: rounding on the left, truncation on the right, and each bottom sits
# within a power of ten of where the analysis puts it, at about the predicted height. Beyond
# $h \approx 10^{-3}$ both jump towards $10^{-2}$: the step now carries some hidden unit's
# pre-activation across 0, the kink of its ReLU, where no Taylor expansion holds. So keep $h$
# near $10^{-5}$, and before you believe a bad relative error, try a second $h$.
#
# ## 4. Exercise: the relative error
#
# Write `relative_error(a, b)`: $\lVert a - b\rVert / (\lVert a\rVert + \lVert b\rVert)$ with
# the Euclidean norm of **all** entries (for a matrix, the norm of its flattened entries), as a
# Python `float`; `0.0` when both arrays are entirely zero; `ValueError` when the shapes differ
# (NumPy would otherwise broadcast `(4, 1)` against `(4,)` and compare the wrong things
# silently).
#
# **Points** (3): 2 for the value, 1 for refusing arrays of different shapes with `ValueError`.

# %% id="relative-error-solution" nbgrader={"grade": false, "grade_id": "relative_error_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relative_error(a, b):
    """Relative error between two gradients.

    Parameters
    ----------
    a, b : ndarray of float, the same shape (any, including 0-d)

    Returns
    -------
    float
        ||a - b|| / (||a|| + ||b||) with Euclidean norms over all entries, in [0, 1];
        0.0 when a and b are both zero.

    Raises
    ------
    ValueError
        If a and b do not have the same shape.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    denominator = np.sqrt(np.sum(a * a)) + np.sqrt(np.sum(b * b))
    if denominator == 0.0:
        return 0.0
    return float(np.sqrt(np.sum((a - b) ** 2)) / denominator)
    ### END SOLUTION

# %% id="relative-error" nbgrader={"grade": true, "grade_id": "relative_error", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("relative_error", relative_error)
### BEGIN HIDDEN TESTS
check("relative_error", relative_error, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="c69b777c0183"
# ## 5. With dropout, $J$ is not one function
#
# The deeplearning.ai notes warn that with dropout "the cost function $J$ is no longer
# well-defined". Precisely: the loss depends on the mask, $J(\theta; m)$, and every forward pass
# draws a new $m$. What training minimises is the expectation
# $\bar J(\theta) = \mathbb{E}_m[J(\theta; m)]$, a perfectly good function; each step follows
# $\nabla_\theta J(\theta; m)$ for its own mask, an unbiased estimate of $\nabla \bar J$. But no
# single forward pass computes $\bar J$, so the number a training loop prints is one random
# draw, and it need not fall at every step even under full-batch gradient descent.
#
# The figure trains a 64-64-10 network on 300 digits by full-batch descent (so the data is the
# same at every step and only the mask changes), once with `p_drop = 0` and once with
# `p_drop = 0.5` on the hidden layer:

# %% id="3038f636a52e" tags=["demo"]
lesson.draw_loss_traces();

# %% id="b83f71fad836" tags=["demo"]
for p_drop in (0.0, 0.5):
    traces = lesson.loss_traces(p_drop)
    rises = np.count_nonzero(np.diff(traces.sampled) > 0)
    print(f"p_drop = {p_drop}: the printed J rose at {rises} of {traces.sampled.size - 1} steps;"
          f" final J {traces.sampled[-1]:.3f}, mean over 10 masks {traces.expected[-1]:.3f}, "
          f"without dropout {traces.inference[-1]:.3f}")

# %% [markdown] id="0830b484debd"
# Without dropout, $J$ falls at every step and you can debug with it. With dropout the printed
# $J$ wobbles around the smooth mean over masks, which itself stays above the loss of the full
# network at inference: three different numbers, all called "the loss".
#
# **A gradient check sees the same problem, sharper.** If every evaluation of $J$ draws its own
# mask, the centred quotient is
#
# $$\frac{J(\theta + h e_i; m_1) - J(\theta - h e_i; m_2)}{2h}
#   = \underbrace{\frac{J(\theta; m_1) - J(\theta; m_2)}{2h}}_{\text{two different networks}}
#   + \frac{g_i(m_1) + g_i(m_2)}{2} + O(h),$$
#
# and the first term, of size (spread of $J$ over masks)$/h$, explodes as $h \to 0$. There are
# two ways out:
#
# * **Two phases** (deeplearning.ai's recipe): first set `p_drop = 0` (`keep_prob = 1`),
#   gradient-check and watch $J$ fall monotonically; then turn dropout on and monitor the
#   validation error rather than $J$.
# * **Fix the mask**: give every evaluation a generator reseeded with the same seed, so that all
#   of them, and the backward pass, see the same thinned network. Then $J(\cdot\,; m)$ is an
#   ordinary function and the check works with dropout on.
#
# Move the sliders. Left: the relative error of the whole gradient of the 5-8-8-3 network
# against the step $h$, for the fixed-mask check and for the naive one that draws a new mask
# per evaluation. Right: each parameter's error at the chosen $h$, against the typical size of a
# gradient entry. Points on the bottom edge agree exactly: with dropout on, many weights are cut
# off in every sample by a dropped (or inactive) unit before or after them, so their gradient is
# exactly 0 both ways. At `p_drop = 0` the two checks coincide, as there is nothing to redraw;
# with dropout on, the fixed-mask check keeps its V while the naive one is stuck at 1.

# %% id="850be8ef7c63" tags=["demo"]
lesson.precompute_gradient_checks(progress=True)  # every p_drop of the slider, once
gradient_check = live_figure(lesson.draw_gradient_check, {
    "log10_h": widgets.FloatSlider(value=-5.0, min=-12.0, max=-1.0, step=0.5,
                                   description="log10(h)"),
    "p_drop": widgets.FloatSlider(value=0.5, min=0.0, max=0.8, step=0.1, description="p_drop"),
})

# %% [markdown] id="4941e85b9d27"
# **In two sentences:** why does the naive check get *worse* as $h$ shrinks, and why does
# reseeding the generator for every evaluation cure it?

# %% [markdown] id="explain-naive-check" nbgrader={"grade": true, "grade_id": "explain_naive_check", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Each evaluation of the naive check draws its own mask, so the two losses in the difference
# quotient belong to two different thinned networks; their difference stays of the size of the
# loss's spread over masks while we divide it by 2h, so the quotient grows like 1/h. Reseeding
# gives every evaluation (and the backward pass) the same mask, so the quotient differentiates
# one fixed, ordinary function and its error falls to the usual truncation and rounding terms.

# %% [markdown] id="762b3f3bc554"
# ## 6. Find the bug
#
# Phase one of the recipe cannot see one kind of bug: with `p_drop = 0` the mask is all ones
# and $1/\text{keep\_prob} = 1$, so **a backward pass that ignores the mask is exactly right**.
# Bugs in the dropout layer itself only show with dropout on, so phase two needs a fixed-mask
# gradient check too.
#
# The layer below applies dropout to the inputs of a dense layer,
# $\text{out} = (x \odot m / \text{keep\_prob})\, W + b$. It is modelled on the dropout wrapper
# of numpy-ml, a carefully written NumPy library of models, whose backward pass has the same
# flaw. Read it, then run the check in both phases.

# %% id="3fc690b3b69a" tags=["demo"]
def dropout_dense_forward(x, W, b, p_drop, *, rng, training=True):
    """Dropout on the inputs of a dense layer: out = (x * mask / keep_prob) @ W + b."""
    keep_prob = 1.0 - p_drop
    scale, mask = 1.0, np.ones(x.shape, dtype=bool)
    if training:
        scale = 1.0 / keep_prob
        mask = rng.random(x.shape) < keep_prob
    x_dropped = x * mask * scale
    return x_dropped @ W + b, (x_dropped, W, mask, scale)


def dropout_dense_backward(dout, cache):
    """Gradients (dx, dW, db) of dropout_dense_forward."""
    x_dropped, W, mask, scale = cache
    dW = x_dropped.T @ dout
    db = dout.sum(axis=0)
    dx = scale * (dout @ W.T)
    return dx, dW, db


for p_drop in (0.0, 0.5):
    errors = lesson.layer_gradient_errors(dropout_dense_forward, dropout_dense_backward,
                                          p_drop=p_drop)
    print(f"p_drop = {p_drop}: " + ", ".join(f"{name} {value:.1e}"
                                             for name, value in errors.items()))

# %% [markdown] id="7d98a7843453"
# **Find the bug.** Which line is wrong, and what is the fix? Why do `dW` and `db` pass the
# check while `dx` fails, and why did the check with `p_drop = 0` see nothing?

# %% [markdown] id="find-the-bug" nbgrader={"grade": true, "grade_id": "find_the_bug", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# The line `dx = scale * (dout @ W.T)` is wrong: it scales the gradient but never applies the
# mask, so dropped inputs receive a gradient although they did not affect the output. The fix
# is `dx = scale * mask * (dout @ W.T)`, i.e. dout @ W.T is the gradient with respect to
# x_dropped and the chain rule through x_dropped = x * mask * scale multiplies it by
# mask * scale. dW and db are right because they are computed from the cached x_dropped, which
# already holds the forward's mask. With p_drop = 0 the mask is all ones and scale is 1, so the
# buggy and the correct dx coincide: only a check with dropout on (and the mask held fixed)
# can see the bug.

# %% [markdown] id="choose-gradient-check-intro"
# ## 7. Exercise: a gradient check for every precision (your choice, defended)
#
# Section 3's recipe (a step near $10^{-5}$, agreement below $10^{-7}$) is for float64. Models
# are often trained in float32 or float16, and a check must then be run, or at least read, in
# that precision. Write `choose_gradient_check(dtype)` returning a pair `(h, threshold)`: the
# step of the centred differences and the relative error at or below which the check passes,
# for `dtype` one of `np.dtype("float64")`, `np.dtype("float32")`, `np.dtype("float16")`.
#
# The check accepts every pair that **really tells a correct backward from section 6's buggy
# one**: run on the layer of section 6 at `p_drop = 0.5` in that precision, with the mask fixed,
# a correct `dx` must pass (relative error $\le$ threshold) and the `dx` that ignores the mask
# must fail (relative error $>$ threshold), for every one of several layers drawn at random.
# `masked_layer_check(h, dtype, seed=...)` runs that check and returns both relative errors:
# use it to explore, then choose with a margin on both sides.
#
# **Points** (4): 2 for the choices, 2 for your defence below.

# %% id="d5b2e8f1c4a7" tags=["demo"]
from course_lib.gradcheck import masked_layer_check

for dtype in ("float64", "float32"):
    for h in (1e-7, 1e-5, 1e-3):
        errors = masked_layer_check(h, dtype, seed=0)
        print(f"{dtype}, h = {h:.0e}: correct {errors['correct']:.1e}, "
              f"ignores the mask {errors['ignores_mask']:.1e}")

# %% id="choose-gradient-check-solution" nbgrader={"grade": false, "grade_id": "choose_gradient_check_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_gradient_check(dtype):
    """Step and pass threshold of a centred-difference gradient check in ``dtype``.

    Parameters
    ----------
    dtype : numpy dtype, float64, float32 or float16

    Returns
    -------
    (h, threshold) : two floats in (0, 1)
    """
    ### BEGIN SOLUTION
    eps = float(np.finfo(dtype).eps)
    h = eps ** (1 / 3)  # where truncation (h**2) and rounding (eps / h) balance
    # the best error a correct gradient reaches is about eps**(2/3), a wrong one about 1:
    # put the threshold halfway between them on a log scale
    threshold = eps ** (1 / 3)
    return h, threshold
    ### END SOLUTION

# %% id="choose-gradient-check" nbgrader={"grade": true, "grade_id": "choose_gradient_check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_gradient_check", choose_gradient_check)
### BEGIN HIDDEN TESTS
check("choose_gradient_check", choose_gradient_check, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="choose-gradient-check-question"
# **Defend your choice in a few sentences:** why does the float64 recipe fail in float32, how
# did you place `h` and the threshold in each precision, and what does a float16 check still
# tell you?

# %% [markdown] id="explain-gradient-check" nbgrader={"grade": true, "grade_id": "explain_gradient_check", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The error of centred differences is about h**2 (truncation) plus eps / h (rounding of J), so
# the best step is near eps**(1/3) and the best error near eps**(2/3): about 6e-6 and 4e-11 in
# float64, but 5e-3 and 2e-5 in float32 and 0.1 and 1e-2 in float16. In float32 a step of 1e-7
# is lost in rounding, and no step brings a correct gradient below 1e-7, so the float64
# threshold would fail every correct backward. I take h = eps**(1/3) and a threshold halfway
# (on a log scale) between the best correct error and 1, which is eps**(1/3) again: far above
# what rounding leaves and far below the 0.3 or more of a gradient that ignores half the mask. In
# float16 the window is narrow: the check still catches a mask ignored at p_drop = 0.5, but it
# could not see a bug that changes the gradient by a few percent.

# %% [markdown] id="cb86a3fc1004"
# ## Summary
#
# * The backward pass of inverted dropout is $dx = dout \odot m / \text{keep\_prob}$ with the
#   **forward pass's** mask: kept units pass the gradient scaled by $1/\text{keep\_prob}$,
#   dropped units get none, and at inference the layer and its backward are the identity. A
#   freshly drawn mask gives a gradient with relative error about $\sqrt{\text{p\_drop}/2}$.
# * Centred differences have truncation error $O(h^2)$ and rounding error $O(\varepsilon/h)$;
#   in float64 the best $h$ is near $10^{-5}$. Compare gradients with
#   $\lVert a-b\rVert / (\lVert a\rVert + \lVert b\rVert)$: below $10^{-7}$ they agree.
# * With dropout, $J(\theta; m)$ changes with every mask; the objective is $\mathbb{E}_m[J]$.
#   A numerical gradient that draws a new mask per evaluation compares different networks and
#   is garbage. Check with `p_drop = 0` first, then with dropout on and the mask fixed by
#   reseeding; only the second can catch bugs in the dropout layer itself.
#
# ## Further study
#
# 1. Fix `dropout_dense_backward` and confirm that the relative error of `dx` falls below
#    $10^{-7}$ with `p_drop = 0.5`.
# 2. Gradient-check `course_lib.dropout.standard_dropout_forward` / `standard_dropout_backward`
#    in training and at inference (where the forward multiplies by `keep_prob`).
# 3. Plot the norm of the naive numerical gradient against $h$ from
#    `lesson.gradient_check_curves(0.5)`: confirm that it grows like $1/h$, and predict its size
#    from the spread of $J$ over masks.
# 4. Instead of caching the mask, cache a copy of the generator's state
#    (`copy.deepcopy(rng)`) and redraw the mask in the backward pass. Check your new pair with
#    `check("dropout_backward", ...)`: does it pass, and what memory does it save?

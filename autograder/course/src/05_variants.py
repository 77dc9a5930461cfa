# %% [markdown] id="287446f083a1"
# # 05 · Variants of dropout
#
# **Learning goals.** After this notebook you can
#
# 1. explain, with numbers, why dropping single pixels of a convolutional feature map removes
#    almost nothing, and implement **spatial (channel) dropout**;
# 2. implement **Gaussian dropout** and show that it matches inverted dropout's first two moments;
# 3. explain why zeroing units breaks a self-normalizing (SELU) network, and implement **alpha
#    dropout** with its affine correction;
# 4. implement **DropConnect** and say exactly how it differs from dropout on the inputs;
# 5. describe variational (recurrent) dropout, DropPath / stochastic depth, DropBlock, concrete
#    and targeted dropout well enough to pick one, and defend the choice for a given layer;
# 6. place dropout correctly (activation order, output layer, BatchNorm, convolutions,
#    Transformers) and decide whether to use it at all;
# 7. read a paired comparison over seeds (a t-interval, a p-value) of two noises on real data.
#
# **Convention.** `p_drop` is the probability that a unit (or channel, weight, block, branch) is
# **dropped**; `keep_prob = 1 - p_drop`. A mask is boolean with `True` = kept. Several papers
# quoted here use the probability of *keeping*: Srivastava et al. (2014) and Wan et al. (2013)
# write it $p$, Klambauer et al. (2017) write it $q$, and Huang et al. (2016) write $p_\ell$
# for the survival probability of a residual block. Every formula below has been translated to
# `p_drop`.

# %% id="6c08b93b6c8d"
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets

from course_lib.masks import sample_mask
from course_lib.variants import linear_decay_rates, sample_active_blocks
from course_lib.lessons import nb05_variants as lesson
from course_lib.lessons import nb05_noise_experiment as noise_experiment
from course_lib.lessons.widgets import live_figure
from autograder.exercises import check, hint

# %% [markdown] id="b7ce1bf2" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("spatial_dropout_forward")` gives a first hint for that exercise; call it again for a more
# specific one (two or three per exercise). Hints are not graded, and they never give the answer
# away.

# %% [markdown] id="46a61174bbb3"
# ## 1. Why dropping pixels of a feature map does little
#
# Dropout works by taking information away: a unit that is dropped cannot be relied on. That
# premise fails for the feature maps of a convolutional network. A feature map is smooth:
# neighbouring pixels respond to almost the same patch of the input, so a dropped pixel is
# almost exactly recoverable from the pixels around it, and the next convolution, which sums
# over a neighbourhood, barely notices it is gone.
#
# To see it on real data, we take one digit from the course's data set (scikit-learn's 8x8
# digits), upsample it to 32x32 and filter it like an early convolutional layer would. That gives
# four feature maps (intensity, vertical edges, horizontal edges, blobs), each standardized to
# mean 0 and variance 1. First, how alike are neighbouring pixels?

# %% id="78f10a340e17" tags=["demo"]
maps = lesson.feature_maps()  # shape (1, 4, 32, 32): one sample, four channels
for name, r in zip(lesson.CHANNEL_NAMES, lesson.neighbour_correlation(maps[0])):
    print(f"{name:>17}: correlation of horizontally adjacent pixels = {r:.3f}")

# %% [markdown] id="ea1d9538d1f1"
# Now drop pixels (inverted dropout, one mask entry per pixel) and try to undo it: replace every
# dropped pixel by the mean of its kept 3x3 neighbours. The relative error of that guess, over the
# dropped pixels, says how much information dropout really removed (0: nothing; 1: everything,
# the same as guessing the channel mean). Then drop whole channels instead (spatial dropout): a
# dropped channel leaves no neighbour to guess from.

# %% id="748ea87e13cf" tags=["demo"]
print("p_drop   error after pixel dropout   error after channel dropout")
for p_drop in (0.1, 0.3, 0.5, 0.7):
    result = lesson.pixel_vs_channel(p_drop)
    print(f"  {p_drop:.1f}   {result.pixel:>14.1%}              {result.channel:>14.1%}")

# %% [markdown] id="6ad36efd88d8"
# At `p_drop = 0.5`, half the pixels are gone, yet the neighbours give them back to within about
# 21%; at `p_drop = 0.1` the lost pixels come back to about 11% (most of that small error is what
# interpolating a smooth map costs even when nothing is dropped). A network can learn the same
# trick, which is why pixel dropout on convolutional features is a weak regularizer. Dropping
# channels removes 100% of what was dropped. Move the slider to see one channel:

# %% id="d696d37f13eb" tags=["demo"]
pixel_figure = live_figure(lesson.draw_pixel_vs_channel, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05, description="p_drop"),
    "seed": widgets.IntSlider(value=0, min=0, max=20, description="seed"),
})

# %% [markdown] id="4edff7cd2d55"
# **Spatial dropout** (Tompson et al. 2015; PyTorch `nn.Dropout2d`, Keras `SpatialDropout2D`)
# draws **one keep-mask entry per (sample, channel)** of an `(N, C, H, W)` tensor, a mask of
# shape `(N, C, 1, 1)` broadcast over `H` and `W`, and scales the kept channels by
# `1 / keep_prob` as inverted dropout does. The network can no longer rely on one feature map
# being there; it must spread the information over several channels, which is the
# co-adaptation argument of dropout, applied to the units that actually carry independent
# information.
#
# ## 2. Exercise: spatial dropout
#
# The four layers you write in this notebook share one contract: draw randomness from the
# generator `rng` only; return `x` unchanged at inference (`training=False`; DropConnect
# returns the plain layer `x @ W + b`); never modify `x`, and keep its shape and dtype; raise
# `ValueError` if `p_drop` is not in `[0, 1)`. The checks are statistical where the output is
# random (false-failure probability below $10^{-9}$ per check), so any correct way of drawing
# the mask passes.
#
# Write `spatial_dropout_forward`. On top of the contract it must
#
# * draw an independent keep decision for every **(sample, channel)** pair, each kept with
#   probability `keep_prob = 1 - p_drop`: not one decision per pixel, not one per channel
#   shared by the batch, not one per sample shared by its channels;
# * keep or drop each feature map **as a whole** and scale the kept ones by `1 / keep_prob`;
# * raise `ValueError` also if `x` is not 4-dimensional.
#
# **Points** (3): 2 for the layer, 1 for refusing a bad `p_drop` or `x` with `ValueError`.

# %% id="spatial-dropout-forward-solution" nbgrader={"grade": false, "grade_id": "spatial_dropout_forward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def spatial_dropout_forward(x, p_drop, *, rng, training=True):
    """Spatial (channel) inverted dropout, forward pass.

    Parameters
    ----------
    x : ndarray of float, shape (N, C, H, W)
        Feature maps: N samples, C channels of H x W pixels.
    p_drop : float in [0, 1)
        Probability that a channel of a sample is dropped (keep_prob = 1 - p_drop).
    rng : numpy.random.Generator
        The only source of randomness.
    training : bool
        In training, keep each (sample, channel) feature map with probability keep_prob and
        scale it by 1 / keep_prob, or drop it (all zeros); at inference return x unchanged.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : anything a backward pass would need (e.g. the mask of shape (N, C, 1, 1)), or None

    Raises
    ------
    ValueError
        If p_drop is not in [0, 1), or x does not have 4 dimensions.
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if x.ndim != 4:
        raise ValueError(f"x must have 4 dimensions (N, C, H, W), got shape {x.shape}")
    if not training or p_drop == 0.0:
        return x.copy(), None
    keep_prob = 1.0 - p_drop
    n_samples, n_channels = x.shape[:2]
    mask = rng.random((n_samples, n_channels, 1, 1)) < keep_prob
    out = (x * mask / keep_prob).astype(x.dtype)
    return out, mask
    ### END SOLUTION

# %% id="spatial-dropout-forward" nbgrader={"grade": true, "grade_id": "spatial_dropout_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("spatial_dropout_forward", spatial_dropout_forward)
### BEGIN HIDDEN TESTS
check("spatial_dropout_forward", spatial_dropout_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="4f90daec05ac"
# **In two sentences:** why does pixel dropout barely regularize a convolutional feature map, and
# what does spatial dropout change?

# %% [markdown] id="explain-spatial-dropout" nbgrader={"grade": true, "grade_id": "explain_spatial_dropout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Neighbouring pixels of a feature map are strongly correlated (about 0.9 here), so a dropped
# pixel is almost recoverable from its kept neighbours and the next convolution, which sums over
# a neighbourhood, loses little information. Spatial dropout drops a whole (sample, channel) map,
# which removes that feature completely and forces the network to spread what it needs over
# several channels.

# %% [markdown] id="f7600e2e7cf0"
# ## 3. Gaussian dropout: the same first two moments
#
# Inverted dropout multiplies each unit by the random factor $m/\text{keep\_prob}$ with
# $m \sim \text{Bernoulli}(\text{keep\_prob})$. Its mean and variance are
#
# $$\mathbb{E}\Big[\frac{m}{\text{keep\_prob}}\Big] = 1, \qquad
#   \operatorname{Var}\Big[\frac{m}{\text{keep\_prob}}\Big]
#   = \frac{\mathbb{E}[m^2]}{\text{keep\_prob}^2} - 1 = \frac{1}{\text{keep\_prob}} - 1
#   = \frac{p_\text{drop}}{\text{keep\_prob}}.$$
#
# **Gaussian dropout** replaces the two-valued factor by a continuous one with the same two
# moments, $\xi \sim \mathcal{N}\big(1,\; p_\text{drop}/\text{keep\_prob}\big)$
# (Srivastava et al. 2014, section 10, who write the variance as $(1-p)/p$ with $p$ the keep
# probability; Keras `GaussianDropout`). No unit is ever exactly zero, and since the mean is
# already 1, no rescaling is needed: at inference the layer is the identity. Measured over a
# million draws of each:

# %% id="12446a3d342e" tags=["demo"]
print("p_drop   inverted: mean   var     Gaussian: mean   var     exact var p_drop/keep_prob")
for p_drop in (0.1, 0.3, 0.5, 0.8):
    m = lesson.factor_moments(p_drop)
    print(f"  {p_drop:.1f}        {m.bernoulli_mean:.4f}  {m.bernoulli_var:.4f}          "
          f"{m.gaussian_mean:.4f}  {m.gaussian_var:.4f}       {m.exact_var:.4f}")

# %% [markdown] id="3977a31880a8"
# Matching two moments does not make the two factors alike (left panel: two spikes against a
# bell). What makes the two dropouts behave alike is what the next layer sees: a weighted sum of
# many noisy inputs, which by the central limit theorem is close to Gaussian either way, with the
# same mean and the same variance (right panel, a unit with 256 inputs). Wang and Manning (2013)
# used this to speed dropout up ("fast dropout"). Kingma et al. (2015, variational dropout)
# *learn* the noise variance $\alpha = p_\text{drop}/\text{keep\_prob}$, one per layer or one
# per unit; Molchanov et al. (2017, sparse variational dropout) learn one $\alpha$ per weight
# and remove the weights whose $\alpha$ grows large.
#
# One precise difference: the Gaussian factor is negative with probability
# $\Phi\big(-\sqrt{\text{keep\_prob}/p_\text{drop}}\big)$, which flips the sign of the unit. At
# `p_drop = 0.5` that is 16% of the units:

# %% id="352426f8013f" tags=["demo"]
from scipy import stats

for p_drop in (0.1, 0.3, 0.5):
    print(f"p_drop={p_drop}: P(Gaussian factor < 0) = "
          f"{stats.norm.cdf(-np.sqrt((1 - p_drop) / p_drop)):.4f}")

lesson.precompute_gaussian_vs_bernoulli(progress=True)  # every p_drop of the slider, once
gaussian_figure = live_figure(lesson.draw_gaussian_vs_bernoulli, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05, description="p_drop"),
})

# %% [markdown] id="ea4ad8f20958"
# ## 4. Exercise: Gaussian dropout
#
# Write `gaussian_dropout_forward` (the contract of section 2): multiply every entry of `x` by
# its own noise drawn from $\mathcal{N}(1, p_\text{drop}/\text{keep\_prob})$. Mind that
# NumPy's `rng.normal(loc, scale)` takes the **standard deviation**, not the variance.
#
# **Points** (3): 2 for the layer, 1 for refusing a bad `p_drop` with `ValueError`.

# %% id="gaussian-dropout-forward-solution" nbgrader={"grade": false, "grade_id": "gaussian_dropout_forward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gaussian_dropout_forward(x, p_drop, *, rng, training=True):
    """Gaussian dropout, forward pass: multiplicative noise of mean 1.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Sets the noise variance p_drop / keep_prob (keep_prob = 1 - p_drop), the variance of
        inverted dropout's factor mask / keep_prob.
    rng : numpy.random.Generator
        The only source of randomness.
    training : bool
        In training, out = x * noise with independent noise ~ N(1, p_drop / keep_prob) for every
        entry; at inference return x unchanged.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : anything a backward pass would need (e.g. the noise), or None

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
    std = np.sqrt(p_drop / (1.0 - p_drop))
    noise = 1.0 + std * rng.standard_normal(x.shape)
    return (x * noise).astype(x.dtype), noise
    ### END SOLUTION

# %% id="gaussian-dropout-forward" nbgrader={"grade": true, "grade_id": "gaussian_dropout_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("gaussian_dropout_forward", gaussian_dropout_forward)
### BEGIN HIDDEN TESTS
check("gaussian_dropout_forward", gaussian_dropout_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="noise-experiment-intro"
# ### Does the noise change the result? Bernoulli against Gaussian on the digits
#
# Same mean, same variance: does it matter which noise a network trains with? We measured it.
# A 64-256-256-10 network learns from 300 training digits with no dropout, with Bernoulli
# (inverted) dropout and with Gaussian dropout on both hidden layers
# (`MLP(..., noise="gaussian")`), at `p_drop` 0.3, 0.5 and 0.7, each with 16 seeds. A seed fixes
# the data split, the initial weights and the order of the mini-batches, so every configuration
# of one seed sees the same three: the comparison is **paired**. Each noise gets the rate with
# the lowest validation error (mean over the seeds and the last 10 epochs); only then is the
# test error of those configurations looked at, once. The runs take minutes, so they were
# recorded by `python -m course_lib.lessons.nb05_noise_experiment --workers 2`; the cell below
# reads the record.

# %% id="noise-experiment" tags=["demo"]
noise_results = noise_experiment.load_results()
chosen = noise_results["chosen"]
print("chosen on validation:", ", ".join(f"{arm} {label}" for arm, label in chosen.items()))
for arm, errors in noise_experiment.test_errors(noise_results).items():
    print(f"{arm:>9}: test error {100 * errors.mean():.2f}% (mean of {len(errors)} seeds)")
print("\npaired difference of test error (percentage points), 95% t-interval:")
for name, c in noise_experiment.comparisons(noise_results).items():
    print(f"  {name:<20} {100 * c['mean']:+.2f}  [{100 * c['low']:+.2f}, {100 * c['high']:+.2f}]"
          f"  df {c['df']}  p = {c['p_value']:.2g}")
noise_experiment.draw_noise_experiment(noise_results);

# %% [markdown] id="noise-experiment-reading"
# What the record says:
#
# * **Dropout pays, with either noise.** No dropout errs on 5.74% of the test digits, Bernoulli
#   dropout at `p_drop` 0.5 on 4.47%, Gaussian dropout at `p_drop` 0.3 on 4.74%. Without
#   dropout the error is higher by +1.26 points than with Bernoulli dropout (95% interval
#   [+0.94, +1.58], 15 degrees of freedom, p = 4.7e-07) and by +1.00 than with Gaussian
#   dropout ([+0.77, +1.23], p = 1.1e-07).
# * **The noise changes the result, a little.** Bernoulli minus Gaussian is -0.26 points
#   ([-0.46, -0.07], p = 0.011): Bernoulli's test error is lower on 11 seeds, higher on 2,
#   tied on 3. The interval excludes 0, and p stays below 0.05 / 3 even when the three
#   comparisons are counted (Bonferroni).
# * **How much to make of it.** The validation set, which chose the rates, could not tell the
#   two apart: 4.51% for each at its chosen rate. The gap is a fifth of what dropout itself
#   gains, on one data set and one network. Matching the first two moments makes the two
#   noises nearly interchangeable; choosing the rate, and using dropout at all, matter more
#   than which noise.

# %% [markdown] id="13d7031827f6"
# ## 5. Alpha dropout for self-normalizing networks
#
# A **SELU** network (Klambauer et al. 2017) keeps its activations at mean 0 and variance 1 by
# itself, layer after layer, without BatchNorm:
#
# $$\text{selu}(x) = \lambda \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0
#   \end{cases}, \qquad \lambda \approx 1.0507,\ \alpha \approx 1.6733,$$
#
# with weights initialized with variance $1/\text{fan\_in}$. The constants are chosen so that
# mean 0 and variance 1 are a stable fixed point of the layer map. Ordinary dropout breaks it
# twice:
#
# * **the variance.** For inputs of mean 0 and variance 1, inverted dropout keeps the mean but
#   makes the variance $\mathbb{E}[(m x/\text{keep\_prob})^2] = 1/\text{keep\_prob}$; the next
#   layers then settle at a different fixed point in training than at inference;
# * **the value 0.** For SELU, 0 is not "off": it is the output for an input of exactly 0. The
#   "inactive" value of a SELU unit is its lower saturation value
#   $\lim_{x\to-\infty}\text{selu}(x) = -\lambda\alpha = \alpha' \approx -1.7581$.
#
# **Alpha dropout** sets dropped units to $\alpha'$, then applies one affine map to every unit
# that restores mean 0 and variance 1. With $y = m\,x + (1-m)\,\alpha'$ and $x$ of mean 0 and
# variance 1:
#
# $$\mathbb{E}[y] = p_\text{drop}\,\alpha', \qquad \operatorname{Var}[y] = \text{keep\_prob}
#   + \alpha'^2\,\text{keep\_prob}\;p_\text{drop},$$
#
# so $\text{out} = a\,y + b$ with
#
# $$a = \big(\text{keep\_prob} + \alpha'^2\,\text{keep\_prob}\;p_\text{drop}\big)^{-1/2},
#   \qquad b = -a\,\alpha'\,p_\text{drop}$$
#
# has mean 0 and variance 1 again. (These are the constants of
# `torch.nn.functional.alpha_dropout`. Klambauer et al. write them with $q$ = keep_prob.)
# Measured on a million standard normal inputs at `p_drop = 0.1`:

# %% id="alpha-prime"
ALPHA_PRIME = -1.7580993408473766  # SELU's negative saturation value, -lambda * alpha

# %% id="519a76d1fa14" tags=["demo"]
for name, m in lesson.zero_dropping_moments(0.1).items():
    print(f"{name:>12}: mean {m.mean:+.4f}   variance {m.var:.4f}")
print("\np_drop      a        b       value of a dropped unit (a * alpha' + b)")
for p_drop, a, b, dropped in lesson.affine_constants_table():
    print(f"  {p_drop:<5} {a:.4f}   {b:.4f}   {dropped:+.4f}")

# %% [markdown] id="f39785c8e732"
# Inverted dropout leaves the variance at $1/0.9 = 1.11$; setting dropped units to $\alpha'$
# without the correction moves the mean to $0.1\,\alpha' = -0.18$; alpha dropout gets both back.
# Across depth the effect compounds. Below, 16 SELU layers of width 256 with a dropout after
# each: with inverted dropout the activations drift to a variance near 1.6 in training, while
# at inference (dropout off) they sit at 1, so every layer sees inputs at inference unlike those
# it was trained on. With alpha dropout, training and inference agree. Klambauer et al.
# recommend small rates, `p_drop` = 0.05 or 0.1.

# %% id="4e8215d7cd2c" tags=["demo"]
lesson.draw_selu_depth(p_drop=0.1);

# %% [markdown] id="9903cfff60f6"
# ## 6. Exercise: alpha dropout
#
# Write `alpha_dropout_forward` (the contract of section 2). Keep each entry with probability
# `keep_prob`; set the dropped entries to `ALPHA_PRIME = -1.7580993408473766` (defined above);
# then return `a * (x * mask + ALPHA_PRIME * (1 - mask)) + b` with `a` and `b` from the
# formulas of section 5.
#
# **Points** (3): 2 for the layer, 1 for refusing a bad `p_drop` with `ValueError`.

# %% id="alpha-dropout-forward-solution" nbgrader={"grade": false, "grade_id": "alpha_dropout_forward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def alpha_dropout_forward(x, p_drop, *, rng, training=True):
    """Alpha dropout (Klambauer et al. 2017), forward pass, for SELU networks.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Probability that a unit is dropped (keep_prob = 1 - p_drop).
    rng : numpy.random.Generator
        The only source of randomness.
    training : bool
        In training, each unit is kept with probability keep_prob; a dropped unit is set to
        alpha' = -1.7580993408473766 (SELU's negative saturation value, -scale * alpha). Then
        every unit y (x if kept, alpha' if dropped) goes through out = a * y + b with
        a = (keep_prob + alpha'**2 * keep_prob * p_drop) ** -0.5 and b = -a * alpha' * p_drop,
        so that inputs of mean 0 and variance 1 keep mean 0 and variance 1. At inference
        return x unchanged.

    Returns
    -------
    out : ndarray, same shape and dtype as x
    cache : anything a backward pass would need (e.g. the mask), or None

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
    a = (keep_prob + ALPHA_PRIME**2 * keep_prob * p_drop) ** -0.5
    b = -a * ALPHA_PRIME * p_drop
    mask = rng.random(x.shape) < keep_prob
    out = a * np.where(mask, x, ALPHA_PRIME) + b
    return out.astype(x.dtype), mask
    ### END SOLUTION

# %% id="alpha-dropout-forward" nbgrader={"grade": true, "grade_id": "alpha_dropout_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("alpha_dropout_forward", alpha_dropout_forward)
### BEGIN HIDDEN TESTS
check("alpha_dropout_forward", alpha_dropout_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="916fadc51b93"
# ## 7. DropConnect: drop weights, not units
#
# **DropConnect** (Wan et al. 2013) keeps each *weight* of a dense layer with probability
# `keep_prob`: sample $n$ goes through its own thinned matrix,
#
# $$\text{out}_n = x_n \,\big(W \odot M_n\big) / \text{keep\_prob} + b, \qquad
#   M_n \in \{0, 1\}^{D \times M} \text{ i.i.d. Bernoulli(keep\_prob)},$$
#
# and the bias is never dropped (Wan et al. mask the biases too; this exercise, like most
# implementations, does not).
#
# Dropout is the special case of DropConnect whose mask is constant along whole rows or columns
# of a weight matrix; which ones depends on the matrix you look at. Wan et al. compare
# DropConnect with dropout on a layer's **outputs**, $r = m \odot a(Wv)$, with their $W$ of
# shape (outputs, inputs). For an activation with $a(0) = 0$ (ReLU, tanh) that is
# $a\big((\operatorname{diag}(m)\,W)\,v\big)$: dropping output $i$ drops **row** $i$ of their
# $W$, every weight into unit $i$. The same mask is dropout on the **inputs** of the next layer:
# dropping an input drops every weight leaving it, a **column** of that layer's matrix in the
# $Wv$ layout. In this course's layout (`x @ W`, `W` of shape `(D, M)`) the two swap: the
# weights leaving input $d$ are row $d$, the weights into output $j$ are column $j$.
#
# The comparison below pits DropConnect against dropout on the layer's inputs. Both have the
# same mean, $x_n W + b$, and, output by output, even the same variance,
# $(p_\text{drop}/\text{keep\_prob})\sum_d x_d^2 W_{dj}^2$. The difference is the
# **correlation between outputs**: outputs that share inputs are dropped together by input
# dropout, independently by DropConnect. One input through a layer whose two output columns are
# similar, 20 000 draws each:

# %% id="274d1aa5accb" tags=["demo"]
stats_by_method = lesson.dropconnect_vs_dropout(p_drop=0.5)
print("method                 var(out_1)   var(out_2)   corr(out_1, out_2)")
for name, s in stats_by_method.items():
    correlation = round(s.correlation, 3) + 0.0  # no "-0.000"
    print(f"{name:<21}  {s.var_first:>9.4f}    {s.var_second:>9.4f}    {correlation:>+12.3f}")

# %% [markdown] id="1bc1b7823e12"
# Three practical points.
#
# * **One mask per sample or one per batch?** Wan et al. draw a mask per sample, which costs
#   $N \cdot D \cdot M$ random numbers and a separate matrix product per sample. Many
#   implementations share one mask across the batch (cheaper, and it is what AWD-LSTM's
#   "weight-dropped" recurrent matrix does, Merity et al. 2017); then the samples of one batch
#   are not thinned independently. The exercise below asks for **one mask per sample**.
# * **Inference.** With inverted scaling (kept weights times `1 / keep_prob`) the inference
#   layer is plain `x @ W + b`, the weight-scaling rule of ordinary dropout. Wan et al. instead
#   moment-match: at inference they approximate each pre-activation by a Gaussian with the
#   training mean and variance and average the activation over samples from it, which is more
#   faithful after a nonlinearity.
# * **PyTorch** has no DropConnect module; it is written by hand or with
#   `torch.nn.utils.parametrize` on the weight.
#
# ## 8. Exercise: DropConnect
#
# Write `dropconnect_forward(x, W, b, p_drop, *, rng, training=True)` for a dense layer (the
# contract of section 2; its docstring says what else).
#
# **Points** (3): 2 for the layer, 1 for refusing a bad `p_drop` or `W` with `ValueError`.

# %% id="dropconnect-forward-solution" nbgrader={"grade": false, "grade_id": "dropconnect_forward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropconnect_forward(x, W, b, p_drop, *, rng, training=True):
    """DropConnect on a dense layer x @ W + b, forward pass.

    Every sample gets its OWN weight mask: mask of shape (N, D, M), each weight kept with
    probability keep_prob = 1 - p_drop independently (not one (D, M) mask shared by the batch,
    and not a mask on x). Sample n's output is x[n] @ (W * mask[n] / keep_prob) + b: kept
    weights are scaled by 1 / keep_prob, the bias is never dropped, so E[out] = x @ W + b.

    Parameters
    ----------
    x : ndarray of float, shape (N, D)
    W : ndarray of float, shape (D, M)
    b : ndarray of float, shape (M,)
    p_drop : float in [0, 1)
        Probability that a weight is dropped.
    rng : numpy.random.Generator
        The only source of randomness.
    training : bool
        At inference return the plain dense layer x @ W + b.

    Returns
    -------
    out : ndarray, shape (N, M), dtype of x @ W + b (float32 inputs give float32)
    cache : anything a backward pass would need (e.g. the mask), or None

    Raises
    ------
    ValueError
        If p_drop is not in [0, 1), or the shapes of x, W, b do not fit together.
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if x.ndim != 2 or W.ndim != 2 or W.shape[0] != x.shape[1] or b.shape != (W.shape[1],):
        raise ValueError(f"need x (N, D), W (D, M), b (M,), got {x.shape}, {W.shape}, {b.shape}")
    if not training or p_drop == 0.0:
        return x @ W + b, None
    keep_prob = 1.0 - p_drop
    mask = rng.random((x.shape[0],) + W.shape) < keep_prob  # (N, D, M): one mask per sample
    thinned = np.where(mask, W / keep_prob, 0)
    out = np.einsum("nd,ndm->nm", x, thinned) + b
    return out.astype(np.result_type(x, W, b)), mask
    ### END SOLUTION

# %% id="dropconnect-forward" nbgrader={"grade": true, "grade_id": "dropconnect_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("dropconnect_forward", dropconnect_forward)
### BEGIN HIDDEN TESTS
check("dropconnect_forward", dropconnect_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="d9c94c931e18"
# ## 9. All of them on one digit
#
# The widget runs the course's reference implementations on the four feature maps of section 1
# (and, for DropConnect, on a linear map that blurs the 16x16 digit). Row 2 shows the mask
# (white = kept) or, for Gaussian dropout, the noise; row 3 the output, on the same colour
# scale as the input. Things to look for:
#
# * **inverted**: salt-and-pepper holes, kept pixels brighter by `1 / keep_prob`, and the digit
#   still perfectly readable;
# * **spatial**: whole channels black or brighter; nothing in between;
# * **Gaussian**: nothing is dropped, every pixel is jittered; the variance of the noise,
#   printed above each panel, is `p_drop / keep_prob`;
# * **alpha**: dropped pixels take one constant value (`a * alpha' + b`, light blue for
#   moderate `p_drop`), and each output channel keeps mean about 0 and variance about 1;
# * **DropConnect**: the speckle is on the weights, so every output pixel is still computed,
#   from a random subset of its inputs. Change the seed to resample.

# %% id="019f1bf3aeb3" tags=["demo"]
variant_figure = live_figure(lesson.draw_variant, {
    "variant": widgets.Dropdown(options=lesson.VARIANTS, value="spatial", description="variant"),
    "p_drop": widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05, description="p_drop"),
    "seed": widgets.IntSlider(value=0, min=0, max=50, description="seed"),
})

# %% [markdown] id="0ab6aba82099"
# ## 10. More variants, briefly
#
# ### Variational (recurrent) dropout: one mask for the whole sequence
#
# An RNN applies the same weights at every time step. Drawing a fresh dropout mask at every step
# on the recurrent state cuts each unit's memory with probability `p_drop` at every step: a value
# survives $t$ steps through a given unit with probability $\text{keep\_prob}^t$. Gal and
# Ghahramani (2016) derive from their Bayesian view that the mask should be drawn **once per
# sequence** and reused at every time step (on the inputs, the outputs and the recurrent
# connections): the network is then one thinned RNN for the whole sequence. A tiny loop shows
# the difference:

# %% id="2b89859a973e" tags=["demo"]
rng = np.random.default_rng(3)
n_units, n_steps, p_rec = 12, 20, 0.3
keep_rec = 1 - p_rec
W_hh = rng.standard_normal((n_units, n_units)) / np.sqrt(n_units)
inputs = rng.standard_normal((n_steps, n_units))

tied = sample_mask(n_units, p_rec, rng=rng)  # drawn once for the whole sequence
h_fresh = h_tied = np.zeros(n_units)
fresh_history, tied_history = [], []
for t in range(n_steps):
    fresh = sample_mask(n_units, p_rec, rng=rng)  # drawn again at every step
    h_fresh = np.tanh((h_fresh * fresh / keep_rec) @ W_hh + inputs[t])
    h_tied = np.tanh((h_tied * tied / keep_rec) @ W_hh + inputs[t])
    fresh_history.append(fresh)
    tied_history.append(tied)

print(f"a value survives {n_steps} steps through one unit with probability "
      f"{keep_rec**n_steps:.1e} (fresh masks) vs {keep_rec} (one mask)")
lesson.draw_time_masks(np.array(fresh_history), np.array(tied_history));

# %% [markdown] id="38d8ec6bb35a"
# "Recurrent dropout" names a family: Gal and Ghahramani's tied masks; Semeniuta et al. (2016),
# who drop only the candidate update of an LSTM cell so the memory itself is never erased;
# and DropConnect on the recurrent weight matrix (AWD-LSTM). Keras' LSTM arguments `dropout`
# and `recurrent_dropout` use tied masks; PyTorch's `nn.LSTM(dropout=...)` does something else:
# ordinary dropout on the outputs of each stacked layer but the last, none on the recurrent
# connections.
#
# ### DropPath / stochastic depth: drop whole residual branches
#
# In a residual network each block computes $x + f(x)$. The identity path keeps the signal
# flowing, which is what makes dropping a whole branch $f$ possible. There are two forms:
#
# * **Stochastic depth** (Huang et al. 2016) drops a block for a whole **mini-batch**: one
#   decision per block and per mini-batch. A dropped block is skipped, its branch is not
#   computed at all, so the batch passes through a shallower network and training is cheaper.
#   No scaling in training; at test time every branch is kept and multiplied by its survival
#   probability (standard dropout's rule).
# * **DropPath** drops a block for one **sample**: a mask of shape `(N, 1, 1, 1)` per block
#   for `(N, C, H, W)` features, and inverted scaling, $x + m_n f(x)/\text{keep\_prob}$
#   (timm's `DropPath`; torchvision's `stochastic_depth(..., mode="row")`, whose
#   `mode="batch"` draws Huang et al.'s one decision per batch). timm and torchvision compute
#   the branch for the whole batch and then multiply it by the mask, so the per-sample form
#   saves no compute.
#
# Huang et al. let the rate grow linearly with depth. They write $p_\ell$ for the **survival**
# probability of block $\ell$ of $L$, $p_\ell = 1 - \frac{\ell}{L}(1 - p_L)$, falling from
# $p_0 = 1$ (the input) to $p_L = 0.5$; in this course's convention block $\ell$ is dropped with
# probability $p_\text{drop} = 1 - p_\ell = \frac{\ell}{L}(1 - p_L)$, so early blocks are
# almost always kept (`linear_decay_rates`). For the 54 residual blocks of a ResNet-110, drawn
# per sample as DropPath does (`sample_active_blocks`; under stochastic depth the number of
# blocks a mini-batch passes through has the same law):

# %% id="85c89d4b9201" tags=["demo"]
rates = linear_decay_rates(54, p_last=0.5)
depths = sample_active_blocks(rates, 10_000, rng=np.random.default_rng(0))
print(f"expected number of active blocks: {54 - rates.sum():.2f} of 54 "
      f"(sampled over 10 000 samples: {depths.mean():.2f}, from {depths.min()} to {depths.max()})")

# %% [markdown] id="054def6c7752"
# A quarter of the residual blocks are skipped on average. With stochastic depth's one decision
# per mini-batch, a skipped block's branch is never computed, which saves about a quarter of the
# branch computations in training; DropPath computes every branch and saves nothing. DropPath
# is standard in vision transformers (DeiT, Swin) and ConvNeXt.
#
# ### DropBlock: drop contiguous regions
#
# Between pixel dropout (too little) and channel dropout (all or nothing) sits **DropBlock**
# (Ghiasi et al. 2018; torchvision `drop_block2d`): it drops `block_size x block_size` squares.
# Block corners are drawn with rate
# $\gamma = \frac{p_\text{drop}}{\text{block\_size}^2}\,
#   \frac{H W}{(H - \text{block\_size} + 1)(W - \text{block\_size} + 1)}$
# so that about `p_drop` of the pixels fall in a block, and the output is rescaled by the number
# of pixels over the number kept. Blocks overlap, so the dropped fraction comes out a little
# below `p_drop`; the titles below show it, and the neighbour-recovery error of section 1:

# %% id="63e22ee4deef" tags=["demo"]
lesson.draw_dropblock(p_drop=0.3, block_size=7);

# %% [markdown] id="091b41c20e22"
# ### Concrete dropout: learn `p_drop`
#
# Tuning `p_drop` per layer by grid search is expensive. **Concrete dropout** (Gal, Hron and
# Kendall 2017) makes the mask differentiable in `p_drop`: it replaces the Bernoulli drop
# indicator by the relaxed variable
#
# $$\tilde z = \sigma\Big(\frac{1}{\tau}\big(\log p_\text{drop} - \log \text{keep\_prob}
#   + \log u - \log(1-u)\big)\Big), \qquad u \sim U(0, 1),$$
#
# which tends to Bernoulli(`p_drop`) as the temperature $\tau \to 0$ (they use $\tau = 0.1$), and
# multiplies units by $(1-\tilde z)/\text{keep\_prob}$. The loss gains a regularizer whose
# entropy term pulls `p_drop` towards 1/2 and weakens as the data set grows, so the learned rate
# falls with more data, as it should. Left panel below: at $\tau = 0.1$ most values sit near 0
# or 1 and their mean is close to `p_drop`; at $\tau = 0.5$ the values spread and the mean moves
# away from `p_drop` (the relaxation is exact only in the limit).
#
# ### Targeted dropout: drop what you will prune
#
# **Targeted dropout** (Gomez et al. 2019) prepares a network for pruning. In each column of
# $W$ (the weights into one unit), the fraction $\gamma$ of weights with the smallest magnitude
# are candidates, and each candidate is dropped with probability $\alpha$; large weights are
# never dropped (right panel: a step at the $\gamma$ quantile). The network learns not to rely
# on its small weights, so pruning them costs little. The authors' code applies the mask
# without rescaling, and at inference it prunes: every candidate, the fraction $\gamma$ of
# smallest weights of each column, is set to zero. The same idea exists for whole units
# (ranked by the norm of their weight vector).

# %% id="cf54f4a26303" tags=["demo"]
lesson.draw_concrete_and_targeted(p_drop=0.3);

# %% [markdown] id="bcdcd6a539dd"
# ## 11. Where to put dropout
#
# **Linear → activation → dropout.** Dropout goes on a layer's *output activations*, which are
# the *inputs* of the next weight matrix. For ReLU the order of activation and dropout does not
# even matter: ReLU is positively homogeneous, $\text{relu}(c\,x) = c\,\text{relu}(x)$ for
# $c \ge 0$, so $\text{relu}(m x/\text{keep\_prob}) = m\,\text{relu}(x)/\text{keep\_prob}$
# exactly. For tanh or SELU the order matters: a kept unit becomes $\tanh(x/\text{keep\_prob})$
# one way and $\tanh(x)/\text{keep\_prob}$ the other, and a SELU unit dropped *before* the
# activation comes out as $\text{selu}(0) = 0$, not as its "off" value $\alpha'$ (alpha
# dropout's point again). With the same mask on both sides:

# %% id="22d6c7eeaa8c" tags=["demo"]
for activation in ("relu", "tanh", "selu"):
    print(f"{activation:>4}: max |act(dropout(x)) - dropout(act(x))| = "
          f"{lesson.order_difference(activation):.3g}")

# %% [markdown] id="ff76e7cfa324"
# **Not on the output layer.** Dropping logits or regression outputs makes the prediction itself
# random and biases the loss; dropout belongs *before* the last weight matrix (on its input),
# never after it.
#
# **BatchNorm: the variance shift** (Li et al. 2019). When dropout comes *before* a BatchNorm
# layer, BatchNorm's running variance is estimated on dropout's noisy training activations. At
# inference dropout is off and the variance is smaller, but BatchNorm still divides by the
# training variance, so everything after it is shrunk. For a unit $a$ with mean $\mu$ and
# variance $\sigma^2$:
#
# $$\operatorname{Var}_\text{train}\Big[\frac{m a}{\text{keep\_prob}}\Big]
#   = \frac{\sigma^2 + \mu^2}{\text{keep\_prob}} - \mu^2
#   \quad > \quad \sigma^2 = \operatorname{Var}_\text{test}[a].$$
#
# Measured on $a = \text{relu}(z)$, $z \sim \mathcal{N}(0, 1)$ (mean 0.399, variance 0.341):

# %% id="67af120a8989" tags=["demo"]
print("p_drop   BN running var (train)   var at inference   BN output std at inference"
      "   same with Gaussian dropout")
for p_drop in (0.1, 0.3, 0.5):
    s = lesson.variance_shift(p_drop)
    print(f"  {p_drop}          {s.train_var:.3f} (exact {s.exact_train_var:.3f})"
          f"       {s.test_var:.3f}              {s.test_std_after_bn:.3f}"
          f"                     {np.sqrt(s.test_var / s.gaussian_train_var):.3f}")

# %% [markdown] id="270a9dbe591f"
# At `p_drop = 0.5` the BatchNorm output has standard deviation 0.64 at inference instead of 1.
# Gaussian dropout does not help: it has the same variance by design. What to do:
#
# * put dropout **after the last BatchNorm layer** (typically only before the classifier), so no
#   BatchNorm ever sees its noise; this is Li et al.'s main recommendation, and it is the
#   opposite of the "apply dropout before BatchNorm" advice found in some tutorials, which is
#   precisely the arrangement that shifts the variance;
# * or use a noise with a smaller variance shift: Li et al. propose "Uout", multiplying by
#   $1 + u$ with $u$ uniform on $[-\beta, \beta]$, whose variance $\beta^2/3$ is small;
# * or, after training, re-estimate BatchNorm's running statistics on training data with
#   dropout switched off (one pass in inference mode), which removes the mismatch by
#   construction;
# * wide layers suffer less (Li et al. explain why Wide ResNets tolerate dropout between their
#   convolutions), and low rates shift little (0.927 at `p_drop = 0.1` above).
#
# **Convolutional layers.** Use spatial dropout or DropBlock rather than pixel dropout, at low
# rates: on street-view digits (SVHN) Srivastava et al. (section 6.1.2) used retain
# probabilities 0.9, 0.75, 0.75, 0.5, 0.5, 0.5 from the input through the three convolutional
# layers to the two fully connected ones, that is `p_drop` 0.1 on the inputs, 0.25 in the first
# two convolutional layers and 0.5 in the third and in both fully connected layers. Many modern
# CNNs (ResNets) use no dropout in their convolutional body at all, and rely on BatchNorm,
# weight decay and data augmentation.
#
# **Transformers.** The original Transformer (Vaswani et al. 2017, rate 0.1 for the base model)
# applies dropout to the output of each sub-layer *before* it is added to the residual stream,
# $x + \text{Dropout}(\text{Sublayer}(x))$, and to the sum of token and position embeddings;
# implementations such as BERT also drop **attention weights** after the softmax (each query
# then attends to a random subset of keys; the rows no longer sum to 1, only in expectation).
# DropPath on the residual branches is the stronger version used by vision transformers.

# %% [markdown] id="5eeb2aab8df8"
# **In two sentences:** why does putting dropout right before a BatchNorm layer hurt at
# inference, and what would you change?

# %% [markdown] id="explain-variance-shift" nbgrader={"grade": true, "grade_id": "explain_variance_shift", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# BatchNorm's running variance is measured in training on dropout's noisy activations, whose
# variance (sigma^2 + mu^2) / keep_prob - mu^2 is larger than the variance sigma^2 the layer
# sees at inference when dropout is off, so at inference BatchNorm over-divides and shrinks
# everything after it. Move dropout after the last BatchNorm layer (or re-estimate the
# BatchNorm statistics with dropout off after training, or use a low rate).

# %% [markdown] id="choose-feature-map-intro"
# ### Exercise: choose the dropout of a convolutional feature map
#
# This one has no single answer: you choose, and the check accepts every choice that the rules
# of this notebook defend. A convolutional layer outputs `n_channels` feature maps, and
# horizontally adjacent pixels of a map have correlation `correlation` (section 1 measured
# 0.90 to 0.96 on the digit's four maps). Write `choose_feature_map_dropout(n_channels, correlation)`
# returning a pair `(variant, p_drop)`, with `variant` one of `"dropout"` (element-wise, one
# mask entry per pixel), `"spatial"` (one per sample and channel) or `"dropblock"`. A choice is
# defensible when
#
# * `p_drop` is in `[0.05, 0.5]`: less is too little noise to regularize, more takes away over
#   half of the features at every step (the SVHN network above dropped 0.25 to 0.5 in its
#   convolutional layers);
# * element-wise dropout is used only where neighbours are weakly correlated,
#   `correlation < 0.5`; on a strongly correlated map the kept neighbours give each dropped
#   pixel back (section 1);
# * spatial dropout is used only where it rarely drops **every** channel of a sample at once:
#   that happens with probability `p_drop ** n_channels`, which must be at most 0.01;
# * DropBlock, which drops squares inside each map, is defensible on any map.
#
# The hidden checks ask about several layers, from one channel to hundreds.
#
# **Points** (2) for the choice, and 2 for defending it below.

# %% id="choose-feature-map-dropout-solution" nbgrader={"grade": false, "grade_id": "choose_feature_map_dropout_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_feature_map_dropout(n_channels, correlation):
    """The dropout variant and rate you would use on a convolutional feature map.

    Parameters
    ----------
    n_channels : int >= 1
        Channels (feature maps) the layer outputs.
    correlation : float in [-1, 1]
        Correlation of horizontally adjacent pixels within a channel.

    Returns
    -------
    (variant, p_drop) : (str, float)
        variant is "dropout", "spatial" or "dropblock"; p_drop the probability of dropping.
    """
    ### BEGIN SOLUTION
    if correlation < 0.5:
        return "dropout", 0.2
    if 0.2**n_channels <= 0.01:
        return "spatial", 0.2
    return "dropblock", 0.2
    ### END SOLUTION

# %% id="choose-feature-map-dropout" nbgrader={"grade": true, "grade_id": "choose_feature_map_dropout", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_feature_map_dropout", choose_feature_map_dropout)
### BEGIN HIDDEN TESTS
check("choose_feature_map_dropout", choose_feature_map_dropout, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="choose-feature-map-prompt"
# **In two or three sentences:** defend your choice for a layer of 64 channels whose adjacent
# pixels correlate 0.9, and say what you would change for a layer with a single channel.

# %% [markdown] id="explain-feature-map-dropout" nbgrader={"grade": true, "grade_id": "explain_feature_map_dropout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# At correlation 0.9 a dropped pixel is recovered from its kept neighbours, so element-wise
# dropout removes almost nothing; dropping whole channels (spatial dropout at p_drop 0.2) takes
# a feature away completely, and with 64 channels the chance of dropping all of them,
# 0.2 ** 64, is nil. With one channel spatial dropout would blank the sample's whole map with
# probability p_drop, so there I would use DropBlock, which drops squares inside the map.

# %% [markdown] id="bc0fcb8978a1"
# ## 12. When to use dropout at all
#
# Dropout is a regularizer: it pays when the model overfits, and costs accuracy and 2-3 times
# more epochs when it does not.
#
# * **Vision with large fully connected heads:** by default. AlexNet and VGG put `p_drop = 0.5`
#   on their two big fully connected layers, where most of their parameters are.
# * **Everywhere else:** when the train/validation gap says the model overfits (small data, a
#   large model); notebook 07 measures the trade-off on the digits.
# * **Large pretrained language models** train on so much text that they overfit little, and
#   many are pre-trained with little or no dropout. BERT used 0.1 while making about 40 passes
#   over its 3.3 billion words (1 million steps of 256 sequences); the LLaMA models' published
#   code has no dropout layer. Dropout comes back when fine-tuning on a small data set.

# %% id="d2dafe9d" tags=["demo"]
# Notebook 01's playground, started with 300 training points, where the network without dropout
# hardly overfits, and with Gaussian noise in place of dropout masks: does it pay here? Then
# lower the training-set size, or raise the data's noise, until it does; compare with
# dropout_noise="bernoulli".
from course_lib.lessons.playground import Settings
from course_lib.lessons.playground_widget import PlaygroundWidget

display(PlaygroundWidget(Settings(n_train=300, dropout_noise="gaussian")))

# %% [markdown] id="f4d08708"
# ## 13. The variants side by side
#
# `p_drop` = probability of dropping, `keep_prob = 1 - p_drop`.
#
# | variant | what is dropped | noise law | scale in training | inference | typical use | PyTorch |
# |---|---|---|---|---|---|---|
# | inverted dropout | units | mask ~ Bernoulli(keep_prob) per unit | kept × 1/keep_prob | identity | fully connected layers, 0.1–0.5 | `nn.Dropout` |
# | spatial dropout | whole channels | Bernoulli per (sample, channel), mask (N, C, 1, 1) | kept × 1/keep_prob | identity | conv feature maps, 0.1–0.3 | `nn.Dropout1d/2d/3d` |
# | Gaussian dropout | nothing (multiplicative noise) | N(1, p_drop/keep_prob) per unit | none (mean already 1) | identity | fully connected layers; basis of variational dropout | none built in: `x * (1 + s * torch.randn_like(x))`, `s = sqrt(p_drop/keep_prob)` |
# | alpha dropout | units, set to α' = −1.7581 | Bernoulli per unit, then affine a·y + b | a, b restore mean 0, variance 1 | identity | SELU networks, 0.05–0.1 | `nn.AlphaDropout`, `nn.FeatureAlphaDropout` (channels) |
# | DropConnect | weights | Bernoulli per weight (per sample here) | kept × 1/keep_prob | `x @ W + b` (Wan et al.: Gaussian moment matching) | fully connected layers; recurrent weights (AWD-LSTM) | none built in (`torch.nn.utils.parametrize`) |
# | variational (RNN) | units, same mask at every time step | Bernoulli per (sample, unit), tied over time | kept × 1/keep_prob | identity | RNNs, 0.1–0.5 | none built in (`nn.LSTM(dropout=)` is not it) |
# | stochastic depth / DropPath | residual branches: per mini-batch (Huang et al.; a dropped block is skipped) or per sample (DropPath; every branch computed) | Bernoulli per (batch, block) or per (sample, block), often growing with depth | DropPath: kept × 1/keep_prob; Huang et al.: none | DropPath: identity; Huang et al.: branch × survival probability | ResNets, vision transformers, 0.1–0.5 | `torchvision.ops.StochasticDepth` (`mode="batch"` or `"row"`), timm `DropPath` |
# | DropBlock | block_size² squares | Bernoulli block corners at rate γ | × pixels / kept pixels | identity | conv nets | `torchvision.ops.DropBlock2d` |
# | concrete dropout | units, rate learned | relaxed Bernoulli, temperature τ | kept × 1/keep_prob | identity (or MC averaging) | when tuning `p_drop` is costly; uncertainty | none built in |
# | targeted dropout | the smallest-magnitude weights or units | Bernoulli(α) among the γ smallest, others kept | none in the authors' code | the γ smallest weights of each column set to 0 (pruned) | networks to be pruned | none built in |
#
# ## Summary
#
# * Feature maps are smooth, so pixel dropout removes little (a dropped pixel comes back from its
#   neighbours to within about 21% at `p_drop = 0.5`); **spatial dropout** drops whole
#   (sample, channel) maps with a mask of shape `(N, C, 1, 1)`.
# * **Gaussian dropout** multiplies by $\mathcal{N}(1, p_\text{drop}/\text{keep\_prob})$: the
#   mean and variance of inverted dropout's factor, no zeros, no rescaling. On the digits, at
#   rates chosen on validation, the two noises differed by a fifth of what dropout itself gained
#   over no dropout.
# * **Alpha dropout** sets dropped SELU units to $\alpha' = -1.7581$ and applies
#   $a\,(\cdot) + b$ so that mean 0 and variance 1 survive; inverted dropout would drift the
#   variance of a deep SELU network to about 1.6 in training.
# * **DropConnect** drops weights; per output it has the same mean and variance as dropout on the
#   inputs, but its outputs are uncorrelated.
# * Tie the mask over time in RNNs; drop residual branches (stochastic depth per mini-batch,
#   DropPath per sample) or blocks (DropBlock) in deep vision models; learn the rate
#   (concrete) or target it (targeted) when that is the goal.
# * Put dropout after the activation, never after the output layer, after the last BatchNorm,
#   and only where the model overfits.
#
# ## Further study
#
# 1. Write `spatial_dropout_backward`, `gaussian_dropout_backward` and `alpha_dropout_backward`
#    and check them with `course_lib.gradcheck` (notebook 04's recipe). Why does alpha dropout's
#    backward not depend on `b` or on $\alpha'$?
# 2. Rerun the SELU experiment of section 5 with `p_drop = 0.3`, and with inverted dropout at
#    inference (dropout off) starting from the training statistics. How far is layer 16 from
#    mean 0, variance 1?
# 3. Derive the variance shift for Li et al.'s "Uout" noise $1 + u$, $u \sim U(-\beta, \beta)$,
#    and find the $\beta$ that gives the same variance as inverted dropout at `p_drop = 0.1`.
# 4. Implement DropConnect with one mask shared by the batch and compare, on the digits, its
#    training speed and test error with the per-sample version.
# 5. Concrete dropout: differentiate $\mathbb{E}[\tilde z]$ with respect to the logit of
#    `p_drop` by finite differences at $\tau = 0.1$ and $\tau = 0.5$. Which temperature gives the
#    more useful gradient, and which the more faithful mask?

# %% [markdown] id="287446f083a1"
# # 05 · Variants of dropout
#
# **Learning goals.** After this notebook you can
#
# 1. show with numbers why dropping single pixels of a feature map removes almost nothing, and
#    implement **spatial (channel) dropout**;
# 2. implement **Gaussian dropout** and read a paired comparison over seeds of it against inverted
#    dropout on real data;
# 3. implement **alpha dropout** for self-normalizing (SELU) networks and **DropConnect**;
# 4. choose among variational dropout, DropPath / stochastic depth, DropBlock, concrete and targeted
#    dropout for a layer, and defend the choice;
# 5. place dropout correctly and decide whether to use it at all.
#
# **Convention.** `p_drop` is the probability that a unit (or channel, weight, block, branch) is
# **dropped**; `keep_prob = 1 - p_drop`; a mask is boolean, `True` = kept. Several papers use the
# probability of *keeping*: Srivastava et al. (2014) and Wan et al. (2013) write it $p$, Klambauer
# et al. (2017) write it $q$, and Huang et al. (2016) write $p_\ell$ for the survival probability of
# a residual block. Every formula below is written with `p_drop`.

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
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`, which
# says what looks wrong. Stuck? `hint("spatial_dropout_forward")` gives a first hint; call it again
# for a more specific one. Hints are not graded and never give the answer away.

# %% [markdown] id="46a61174bbb3"
# ## 1. Why dropping pixels of a feature map does little
#
# Dropout works by taking information away. In a convolutional feature map, neighbouring pixels
# respond to almost the same patch of the input, so a dropped pixel is almost exactly recoverable
# from the pixels around it, and the next convolution, which sums over a neighbourhood, barely
# notices it is gone.
#
# We upsample one of scikit-learn's 8x8 digits to 32x32 and filter it as an early convolutional
# layer would: four feature maps (intensity, vertical edges, horizontal edges, blobs), each
# standardized to mean 0 and variance 1. How alike are neighbouring pixels?

# %% id="78f10a340e17" tags=["demo"]
maps = lesson.feature_maps()  # shape (1, 4, 32, 32): one sample, four channels
for name, r in zip(lesson.CHANNEL_NAMES, lesson.neighbour_correlation(maps[0])):
    print(f"{name:>17}: correlation of horizontally adjacent pixels = {r:.3f}")

# %% [markdown] id="ea1d9538d1f1"
# Now drop pixels (one mask entry per pixel) and try to undo it: replace every dropped pixel by the
# mean of its kept 3x3 neighbours. The relative error of that guess over the dropped pixels says how
# much dropout really removed (0: nothing; 1: everything, no better than the channel mean). Dropping
# whole channels (spatial dropout) leaves no neighbour to guess from.

# %% id="748ea87e13cf" tags=["demo"]
print("p_drop   error after pixel dropout   error after channel dropout")
for p_drop in (0.1, 0.3, 0.5, 0.7):
    result = lesson.pixel_vs_channel(p_drop)
    print(f"  {p_drop:.1f}   {result.pixel:>14.1%}              {result.channel:>14.1%}")

# %% [markdown] id="6ad36efd88d8"
# At `p_drop = 0.5` half the pixels are gone, yet their neighbours give them back to within about
# 21% (about 11% at `p_drop = 0.1`, mostly what interpolating a smooth map costs even when nothing
# is dropped). A network can learn the same trick, so pixel dropout on convolutional features is a
# weak regularizer. Move the sliders to see one channel:

# %% id="d696d37f13eb" tags=["demo"]
pixel_figure = live_figure(lesson.draw_pixel_vs_channel, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05, description="p_drop"),
    "seed": widgets.IntSlider(value=0, min=0, max=20, description="seed"),
})

# %% [markdown] id="4edff7cd2d55"
# **Spatial dropout** (Tompson et al. 2015; PyTorch `nn.Dropout2d`, Keras `SpatialDropout2D`) draws
# **one keep decision per (sample, channel)** of an `(N, C, H, W)` tensor, a mask of shape
# `(N, C, 1, 1)` broadcast over `H` and `W`, and scales the kept channels by `1 / keep_prob`. The
# network can no longer count on any one feature map and must spread information over channels.
#
# ## 2. Exercise: spatial dropout
#
# **The contract of the four layers you write here**; each exercise says only what differs. Draw
# randomness from `rng` only. At inference (`training=False`) return `x` unchanged. Never modify
# `x`; return its shape and dtype. Raise `ValueError` if `p_drop` is not in `[0, 1)`. Random outputs
# are checked statistically (false-failure probability below $10^{-9}$ per check), so any correct
# way of drawing the mask passes. Each layer is worth 3 points: 2 for the layer, 1 for refusing bad
# arguments with `ValueError`.
#
# Write `spatial_dropout_forward`. Draw an independent keep decision for every **(sample, channel)**
# pair: not one per pixel, not one per channel shared by the batch, not one per sample shared by its
# channels. Keep or drop each feature map **as a whole**, scaling the kept ones by `1 / keep_prob`.
# Also raise `ValueError` if `x` is not 4-dimensional.

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
# Inverted dropout multiplies each unit by the random factor $m/\text{keep\_prob}$ with $m \sim
# \text{Bernoulli}(\text{keep\_prob})$, of mean and variance
#
# $$\mathbb{E}\Big[\frac{m}{\text{keep\_prob}}\Big] = 1, \qquad
#   \operatorname{Var}\Big[\frac{m}{\text{keep\_prob}}\Big]
#   = \frac{\mathbb{E}[m^2]}{\text{keep\_prob}^2} - 1 = \frac{1}{\text{keep\_prob}} - 1
#   = \frac{p_\text{drop}}{\text{keep\_prob}}.$$
#
# **Gaussian dropout** replaces the two-valued factor by a continuous one with the same two moments,
# $\xi \sim \mathcal{N}\big(1,\; p_\text{drop}/\text{keep\_prob}\big)$ (Srivastava et al. 2014,
# section 10, who write the variance as $(1-p)/p$ with $p$ the keep probability; Keras
# `GaussianDropout`). No unit is ever exactly zero, and with mean 1 no rescaling is needed: at
# inference the layer is the identity. Over a million draws of each:

# %% id="12446a3d342e" tags=["demo"]
print("p_drop   inverted: mean   var     Gaussian: mean   var     exact var p_drop/keep_prob")
for p_drop in (0.1, 0.3, 0.5, 0.8):
    m = lesson.factor_moments(p_drop)
    print(f"  {p_drop:.1f}        {m.bernoulli_mean:.4f}  {m.bernoulli_var:.4f}          "
          f"{m.gaussian_mean:.4f}  {m.gaussian_var:.4f}       {m.exact_var:.4f}")

# %% [markdown] id="3977a31880a8"
# The two factors differ (left panel: two spikes against a bell), but what the next layer sees is
# alike: a weighted sum of many noisy inputs, close to Gaussian either way by the central limit
# theorem, with the same mean and variance (right panel, a unit with 256 inputs), which Wang and
# Manning (2013) used for "fast dropout". Kingma et al. (2015, variational dropout) *learn* the
# noise variance $\alpha = p_\text{drop}/\text{keep\_prob}$, one per layer or one per unit;
# Molchanov et al. (2017, sparse variational dropout) learn one $\alpha$ per weight and remove the
# weights whose $\alpha$ grows large.
#
# One real difference: the Gaussian factor is negative, flipping the unit's sign, with probability
# $\Phi\big(-\sqrt{\text{keep\_prob}/p_\text{drop}}\big)$, 16% at `p_drop = 0.5`:

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
# Write `gaussian_dropout_forward`: multiply every entry of `x` by its own noise drawn from
# $\mathcal{N}(1, p_\text{drop}/\text{keep\_prob})$. NumPy's `rng.normal(loc, scale)` takes the
# **standard deviation**, not the variance.

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
# Same mean, same variance: does it matter which noise a network trains with? A 64-256-256-10
# network learns from 300 training digits with no dropout, with Bernoulli (inverted) dropout and
# with Gaussian dropout on both hidden layers (`MLP(..., noise="gaussian")`), at `p_drop` 0.3, 0.5
# and 0.7, each with 16 seeds. A seed fixes the data split, the initial weights and the batch order,
# so the configurations of one seed are **paired**. Each noise gets the rate with the lowest
# validation error (mean over the seeds and the last 10 epochs); only then is the test error of
# those configurations looked at, once. The cell below reads the runs recorded by
# `python -m course_lib.lessons.nb05_noise_experiment --workers 2`.

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
#   dropout at `p_drop` 0.5 on 4.46%, Gaussian dropout at `p_drop` 0.3 on 4.71%. Without
#   dropout the error is higher by +1.28 points than with Bernoulli dropout (95% interval
#   [+0.96, +1.59], 15 degrees of freedom, p = 3.5e-07) and by +1.02 than with Gaussian
#   dropout ([+0.79, +1.26], p = 1.4e-07).
# * **The noise changes the result, a little.** Bernoulli minus Gaussian is -0.25 points
#   ([-0.44, -0.06], p = 0.013): Bernoulli's test error is lower on 11 seeds, higher on 2,
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
# with weights of variance $1/\text{fan\_in}$: mean 0 and variance 1 are then a stable fixed point
# of the layer map. Ordinary dropout breaks it twice:
#
# * **the variance.** On inputs of mean 0 and variance 1, inverted dropout keeps the mean but makes
#   the variance $\mathbb{E}[(m x/\text{keep\_prob})^2] = 1/\text{keep\_prob}$, so the layers settle
#   at another fixed point in training than at inference;
# * **the value 0.** For SELU, 0 is not "off". A SELU unit's inactive value is its lower saturation
#   value $\lim_{x\to-\infty}\text{selu}(x) = -\lambda\alpha = \alpha' \approx -1.7581$.
#
# **Alpha dropout** sets dropped units to $\alpha'$, then applies one affine map to every unit to
# restore mean 0 and variance 1. With $y = m\,x + (1-m)\,\alpha'$ and $x$ of mean 0 and variance 1:
#
# $$\mathbb{E}[y] = p_\text{drop}\,\alpha', \qquad \operatorname{Var}[y] = \text{keep\_prob}
#   + \alpha'^2\,\text{keep\_prob}\;p_\text{drop},$$
#
# so $\text{out} = a\,y + b$ with
#
# $$a = \big(\text{keep\_prob} + \alpha'^2\,\text{keep\_prob}\;p_\text{drop}\big)^{-1/2},
#   \qquad b = -a\,\alpha'\,p_\text{drop}$$
#
# has mean 0 and variance 1 again (the constants of `torch.nn.functional.alpha_dropout`). On a
# million standard normal inputs at `p_drop = 0.1`:

# %% id="alpha-prime"
ALPHA_PRIME = -1.7580993408473766  # SELU's negative saturation value, -lambda * alpha

# %% id="519a76d1fa14" tags=["demo"]
for name, m in lesson.zero_dropping_moments(0.1).items():
    print(f"{name:>12}: mean {m.mean:+.4f}   variance {m.var:.4f}")
print("\np_drop      a        b       value of a dropped unit (a * alpha' + b)")
for p_drop, a, b, dropped in lesson.affine_constants_table():
    print(f"  {p_drop:<5} {a:.4f}   {b:.4f}   {dropped:+.4f}")

# %% [markdown] id="f39785c8e732"
# Inverted dropout leaves the variance at $1/0.9 = 1.11$; dropped units set to $\alpha'$ without the
# correction move the mean to $0.1\,\alpha' = -0.18$; alpha dropout restores both. Over depth the
# effect compounds. Below, 16 SELU layers of width 256 with a dropout after each: with inverted
# dropout the training variance drifts to near 1.6 while at inference (dropout off) it stays at 1;
# with alpha dropout, training and inference agree. Klambauer et al. recommend `p_drop` = 0.05 or
# 0.1.

# %% id="4e8215d7cd2c" tags=["demo"]
lesson.draw_selu_depth(p_drop=0.1);

# %% [markdown] id="9903cfff60f6"
# ## 6. Exercise: alpha dropout
#
# Write `alpha_dropout_forward`: keep each entry with probability `keep_prob`, set the dropped
# entries to `ALPHA_PRIME` (defined above), then return
# `a * (x * mask + ALPHA_PRIME * (1 - mask)) + b` with `a` and `b` from section 5.

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
# `keep_prob`; sample $n$ goes through its own thinned matrix,
#
# $$\text{out}_n = x_n \,\big(W \odot M_n\big) / \text{keep\_prob} + b, \qquad
#   M_n \in \{0, 1\}^{D \times M} \text{ i.i.d. Bernoulli(keep\_prob)}.$$
#
# Wan et al. mask the biases too; this exercise, like most implementations, does not.
#
# Dropout is the special case whose mask is constant along whole rows or columns of a weight matrix;
# which ones depends on the layout. Wan et al. compare DropConnect with dropout on a layer's
# **outputs**, $r = m \odot a(Wv)$, with their $W$ of shape (outputs, inputs). For an activation
# with $a(0) = 0$ (ReLU, tanh) that is $a\big((\operatorname{diag}(m)\,W)\,v\big)$: dropping output
# $i$ drops **row** $i$ of their $W$, every weight into unit $i$. The same mask is dropout on the
# **inputs** of the next layer: dropping an input drops every weight leaving it, a **column** of
# that layer's matrix in the $Wv$ layout. In this course's layout (`x @ W`, `W` of shape `(D, M)`)
# the two swap: the weights leaving input $d$ are row $d$, the weights into output $j$ are column
# $j$.
#
# Against dropout on the layer's inputs, DropConnect has the same mean $x_n W + b$ and, output by
# output, the same variance $(p_\text{drop}/\text{keep\_prob})\sum_d x_d^2 W_{dj}^2$. What differs
# is the **correlation between outputs**: input dropout removes shared inputs for all outputs at
# once, DropConnect thins each output independently. One input, two similar output columns, 20 000
# draws each:

# %% id="274d1aa5accb" tags=["demo"]
stats_by_method = lesson.dropconnect_vs_dropout(p_drop=0.5)
print("method                 var(out_1)   var(out_2)   corr(out_1, out_2)")
for name, s in stats_by_method.items():
    correlation = round(s.correlation, 3) + 0.0  # no "-0.000"
    print(f"{name:<21}  {s.var_first:>9.4f}    {s.var_second:>9.4f}    {correlation:>+12.3f}")

# %% [markdown] id="1bc1b7823e12"
# Two practical points:
#
# * **One mask per sample or per batch?** Wan et al. draw one per sample: $N \cdot D \cdot M$ random
#   numbers and a matrix product per sample. Many implementations, such as AWD-LSTM's
#   "weight-dropped" recurrent matrix (Merity et al. 2017), share one mask across the batch, which
#   is cheaper but thins the samples of a batch together.
# * **Inference.** With inverted scaling, inference is plain `x @ W + b`. Wan et al. instead average
#   the activation over samples of a Gaussian matching each pre-activation's training mean and
#   variance, more faithful after a nonlinearity.
#
# ## 8. Exercise: DropConnect
#
# Write `dropconnect_forward(x, W, b, p_drop, *, rng, training=True)` for a dense layer, with **one
# mask per sample**, shape `(N, D, M)`. Where it differs from the contract: it returns an `(N, M)`
# output, the plain layer `x @ W + b` at inference, and also refuses `W` or `b` whose shapes do not
# fit `x`. The docstring has the details.

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
# The widget applies the reference implementations to section 1's four feature maps (DropConnect: to
# a linear map that blurs the digit). Row 2 is the mask (white = kept) or the Gaussian noise, row 3
# the output on the input's colour scale. Look for:
#
# * **inverted**: salt-and-pepper holes, kept pixels brighter, the digit still readable;
# * **spatial**: whole channels black or brighter, nothing in between;
# * **Gaussian**: nothing dropped, every pixel jittered by noise of variance `p_drop / keep_prob`;
# * **alpha**: dropped pixels all take the value `a * alpha' + b`, and each output channel keeps
#   mean about 0 and variance about 1;
# * **DropConnect**: the speckle is on the weights, so every output pixel is still computed, from a
#   random subset of its inputs.

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
# A fresh mask on an RNN's recurrent state at every step cuts each unit's memory with probability
# `p_drop` per step: a value survives $t$ steps through a unit with probability
# $\text{keep\_prob}^t$. Gal and Ghahramani (2016) derive from their Bayesian view that the mask
# should be drawn **once per sequence** and reused at every step (on the inputs, the outputs and the
# recurrent connections).

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
# "Recurrent dropout" also names Semeniuta et al. (2016), who drop only an LSTM cell's candidate
# update so that the memory itself is never erased, and DropConnect on the recurrent weights
# (AWD-LSTM). Keras' LSTM arguments `dropout` and `recurrent_dropout` use tied masks; PyTorch's
# `nn.LSTM(dropout=...)` applies ordinary dropout to the outputs of each stacked layer but the last,
# and none to the recurrent connections.
#
# ### DropPath / stochastic depth: drop whole residual branches
#
# A residual block computes $x + f(x)$; its identity path lets a whole branch $f$ be dropped:
#
# * **Stochastic depth** (Huang et al. 2016) drops a block for a whole **mini-batch**: one decision
#   per block and mini-batch. A dropped block is skipped, its branch not computed. No scaling in
#   training; at test time every branch is multiplied by its survival probability.
# * **DropPath** drops a block for one **sample**: a mask of shape `(N, 1, 1, 1)` per block for
#   `(N, C, H, W)` features, with inverted scaling, $x + m_n f(x)/\text{keep\_prob}$ (timm's
#   `DropPath`; torchvision's `stochastic_depth(..., mode="row")`, whose `mode="batch"` is Huang et
#   al.'s one decision per batch). Both compute the branch for the whole batch and multiply it by
#   the mask, so the per-sample form saves no compute.
#
# Huang et al. let the rate grow linearly with depth. They write $p_\ell$ for the **survival**
# probability of block $\ell$ of $L$, $p_\ell = 1 - \frac{\ell}{L}(1 - p_L)$, falling from $p_0 = 1$
# to $p_L = 0.5$: block $\ell$ is dropped with probability $p_\text{drop} = \frac{\ell}{L}(1 - p_L)$
# (`linear_decay_rates`). For the 54 residual blocks of a ResNet-110, drawn per sample as DropPath
# does (`sample_active_blocks`; stochastic depth's count per mini-batch has the same law):

# %% id="85c89d4b9201" tags=["demo"]
rates = linear_decay_rates(54, p_last=0.5)
depths = sample_active_blocks(rates, 10_000, rng=np.random.default_rng(0))
print(f"expected number of active blocks: {54 - rates.sum():.2f} of 54 "
      f"(sampled over 10 000 samples: {depths.mean():.2f}, from {depths.min()} to {depths.max()})")

# %% [markdown] id="054def6c7752"
# A quarter of the blocks are skipped on average, which under stochastic depth saves about a quarter
# of the branch computations in training. DropPath, which saves nothing, is standard in vision
# transformers (DeiT, Swin) and ConvNeXt.
#
# ### DropBlock: drop contiguous regions
#
# Between pixel dropout (too little) and channel dropout (all or nothing) sits **DropBlock** (Ghiasi
# et al. 2018; torchvision `drop_block2d`), which drops `block_size x block_size` squares. Block
# corners are drawn at rate $\gamma = \frac{p_\text{drop}}{\text{block\_size}^2}\, \frac{H W}{(H -
# \text{block\_size} + 1)(W - \text{block\_size} + 1)}$ so that about `p_drop` of the pixels fall in
# a block, and the output is rescaled by the number of pixels over the number kept. Blocks overlap,
# so a little less than `p_drop` is dropped; the titles show it, with section 1's recovery error:

# %% id="63e22ee4deef" tags=["demo"]
lesson.draw_dropblock(p_drop=0.3, block_size=7);

# %% [markdown] id="091b41c20e22"
# ### Concrete dropout: learn `p_drop`
#
# **Concrete dropout** (Gal, Hron and Kendall 2017) saves the grid search over `p_drop`: it makes
# the mask differentiable in `p_drop` by replacing the Bernoulli drop indicator with the relaxed
# variable
#
# $$\tilde z = \sigma\Big(\frac{1}{\tau}\big(\log p_\text{drop} - \log \text{keep\_prob}
#   + \log u - \log(1-u)\big)\Big), \qquad u \sim U(0, 1),$$
#
# which tends to Bernoulli(`p_drop`) as the temperature $\tau \to 0$ (they use $\tau = 0.1$); units
# are multiplied by $(1-\tilde z)/\text{keep\_prob}$. A regularizer's entropy term pulls `p_drop`
# towards 1/2 and weakens as the data set grows, so the learned rate falls with more data. Left
# panel: at $\tau = 0.1$ the values sit near 0 or 1 with mean close to `p_drop`; at $\tau = 0.5$
# they spread and the mean moves away.
#
# ### Targeted dropout: drop what you will prune
#
# **Targeted dropout** (Gomez et al. 2019) prepares a network for pruning. In each column of $W$
# (the weights into one unit), the fraction $\gamma$ of weights with the smallest magnitude are
# candidates, each dropped with probability $\alpha$; larger weights are never dropped (right panel:
# a step at the $\gamma$ quantile), so the network learns not to rely on them and pruning costs
# little. The authors' code applies the mask without rescaling and at inference prunes: every
# candidate is set to zero. The same idea exists for whole units.

# %% id="cf54f4a26303" tags=["demo"]
lesson.draw_concrete_and_targeted(p_drop=0.3);

# %% [markdown] id="bcdcd6a539dd"
# ## 11. Where to put dropout
#
# **Linear → activation → dropout.** Dropout goes on a layer's output activations, the inputs of the
# next weight matrix. For ReLU the order does not matter: ReLU is positively homogeneous,
# $\text{relu}(c\,x) = c\,\text{relu}(x)$ for $c \ge 0$, so $\text{relu}(m x/\text{keep\_prob}) =
# m\,\text{relu}(x)/\text{keep\_prob}$ exactly. For tanh or SELU it does: a kept unit becomes
# $\tanh(x/\text{keep\_prob})$ one way and $\tanh(x)/\text{keep\_prob}$ the other, and a SELU unit
# dropped *before* the activation comes out as $\text{selu}(0) = 0$, not as its "off" value
# $\alpha'$. With the same mask both ways:

# %% id="22d6c7eeaa8c" tags=["demo"]
for activation in ("relu", "tanh", "selu"):
    print(f"{activation:>4}: max |act(dropout(x)) - dropout(act(x))| = "
          f"{lesson.order_difference(activation):.3g}")

# %% [markdown] id="ff76e7cfa324"
# **Not on the output layer.** Dropping logits or regression outputs makes the prediction itself
# random and biases the loss; dropout belongs on the input of the last weight matrix, never after
# it.
#
# **BatchNorm: the variance shift** (Li et al. 2019). With dropout *before* a BatchNorm layer,
# BatchNorm's running variance is estimated on dropout's noisy training activations. At inference
# dropout is off and the variance smaller, but BatchNorm still divides by the training variance, so
# everything after it is shrunk. For a unit $a$ with mean $\mu$ and variance $\sigma^2$:
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
# At `p_drop = 0.5` the BatchNorm output has standard deviation 0.64 at inference instead of 1, and
# Gaussian dropout, with the same variance by design, does no better. Remedies:
#
# * put dropout **after the last BatchNorm layer** (often only before the classifier), Li et al.'s
#   main recommendation, and not before BatchNorm as some tutorials advise;
# * use a noise with a smaller shift: Li et al.'s "Uout" multiplies by $1 + u$ with $u$ uniform on
#   $[-\beta, \beta]$, of variance $\beta^2/3$;
# * after training, re-estimate BatchNorm's running statistics on training data with dropout off;
# * use low rates (standard deviation 0.927 at `p_drop = 0.1` above) or wide layers, which suffer
#   less (why Wide ResNets tolerate dropout between convolutions, Li et al. show).
#
# **Convolutional layers.** Use spatial dropout or DropBlock rather than pixel dropout, at low
# rates. On street-view digits (SVHN) Srivastava et al. (section 6.1.2) used retain probabilities
# 0.9, 0.75, 0.75, 0.5, 0.5, 0.5 from the input through the three convolutional layers to the two
# fully connected ones, that is `p_drop` 0.1 on the inputs, 0.25 in the first two convolutional
# layers and 0.5 in the third and in both fully connected layers. ResNets use no dropout in their
# convolutional body and rely on BatchNorm, weight decay and data augmentation.
#
# **Transformers.** The original Transformer (Vaswani et al. 2017, rate 0.1 for the base model)
# applies dropout to each sub-layer's output before it is added to the residual stream, $x +
# \text{Dropout}(\text{Sublayer}(x))$, and to the sum of token and position embeddings;
# implementations such as BERT also drop **attention weights** after the softmax (the rows then sum
# to 1 only in expectation). Vision transformers add DropPath on the residual branches.

# %% [markdown] id="5eeb2aab8df8"
# **In two sentences:** why does putting dropout right before a BatchNorm layer hurt at inference,
# and what would you change?

# %% [markdown] id="explain-variance-shift" nbgrader={"grade": true, "grade_id": "explain_variance_shift", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# BatchNorm's running variance is measured in training on dropout's noisy activations, whose
# variance (sigma^2 + mu^2) / keep_prob - mu^2 is larger than the variance sigma^2 the layer
# sees at inference when dropout is off, so at inference BatchNorm over-divides and shrinks
# everything after it. Move dropout after the last BatchNorm layer (or re-estimate the
# BatchNorm statistics with dropout off after training, or use a low rate).

# %% [markdown] id="choose-feature-map-intro"
# ### Exercise: choose the dropout of a convolutional feature map
#
# You choose; the check accepts every choice this notebook's rules defend. A convolutional layer
# outputs `n_channels` feature maps whose horizontally adjacent pixels have correlation
# `correlation` (section 1 measured 0.90 to 0.96 on the digit's four maps). Write
# `choose_feature_map_dropout(n_channels, correlation)` returning `(variant, p_drop)`, with
# `variant` one of `"dropout"` (one mask entry per pixel), `"spatial"` (one per sample and channel)
# or `"dropblock"`. A choice is defensible when
#
# * `p_drop` is in `[0.05, 0.5]`: less barely regularizes, more removes over half the features at
#   every step (the SVHN network above used 0.25 to 0.5);
# * element-wise dropout is used only where `correlation < 0.5`; on a strongly correlated map the
#   kept neighbours give each dropped pixel back (section 1);
# * spatial dropout is used only where it rarely drops **every** channel of a sample at once: the
#   probability of that, `p_drop ** n_channels`, must be at most 0.01;
# * DropBlock, which drops squares inside each map, is defensible on any map.
#
# The hidden checks ask about layers from one channel to hundreds.
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
# **In two or three sentences:** defend your choice for a layer of 64 channels whose adjacent pixels
# correlate 0.9, and say what you would change for a layer with a single channel.

# %% [markdown] id="explain-feature-map-dropout" nbgrader={"grade": true, "grade_id": "explain_feature_map_dropout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# At correlation 0.9 a dropped pixel is recovered from its kept neighbours, so element-wise
# dropout removes almost nothing; dropping whole channels (spatial dropout at p_drop 0.2) takes
# a feature away completely, and with 64 channels the chance of dropping all of them,
# 0.2 ** 64, is nil. With one channel spatial dropout would blank the sample's whole map with
# probability p_drop, so there I would use DropBlock, which drops squares inside the map.

# %% [markdown] id="bc0fcb8978a1"
# ## 12. When to use dropout at all
#
# Dropout pays when the model overfits. When it does not, it costs accuracy and training time: a
# dropout network typically takes 2-3 times longer to train (Srivastava et al. 2014, section 11).
#
# * **Vision with large fully connected heads:** by default. AlexNet and VGG put `p_drop = 0.5` on
#   their two big fully connected layers, which hold most of their parameters.
# * **Elsewhere:** when the train/validation gap says the model overfits (small data, a large
#   model).
# * **Large pretrained language models** overfit little on so much text, and many are pre-trained
#   with little or no dropout. BERT used 0.1 while making about 40 passes over its 3.3 billion words
#   (1 million steps of 256 sequences); the LLaMA models' published code has no dropout layer.
#   Dropout comes back when fine-tuning on a small data set.

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
# | variant | what is dropped | noise law | scale in training | inference | typical use | PyTorch |
# |---|---|---|---|---|---|---|
# | inverted dropout | units | Bernoulli(keep_prob) per unit | kept × 1/keep_prob | identity | dense layers, 0.1–0.5 | `nn.Dropout` |
# | spatial dropout | channels | Bernoulli per (sample, channel) | kept × 1/keep_prob | identity | conv maps, 0.1–0.3 | `nn.Dropout1d/2d/3d` |
# | Gaussian dropout | nothing | N(1, p_drop/keep_prob) per unit | none | identity | dense layers | none built in |
# | alpha dropout | units, set to α' | Bernoulli per unit, then a·y + b | a, b restore mean 0, variance 1 | identity | SELU networks, 0.05–0.1 | `nn.AlphaDropout` |
# | DropConnect | weights | Bernoulli per weight and sample | kept × 1/keep_prob | `x @ W + b` (Wan et al.: moment matching) | dense and recurrent weights | none built in |
# | variational (RNN) | units | Bernoulli per (sample, unit), tied over time | kept × 1/keep_prob | identity | RNNs, 0.1–0.5 | none built in |
# | stochastic depth / DropPath | residual branches | Bernoulli per (mini-batch, block) / per (sample, block) | none / kept × 1/keep_prob | branch × survival probability / identity | ResNets, vision transformers | `torchvision.ops.StochasticDepth`, timm `DropPath` |
# | DropBlock | squares | block corners at rate γ | × pixels / kept pixels | identity | conv maps | `torchvision.ops.DropBlock2d` |
# | concrete dropout | units, rate learned | relaxed Bernoulli, temperature τ | kept × 1/keep_prob | identity | when tuning `p_drop` is costly | none built in |
# | targeted dropout | small weights or units | Bernoulli(α) among the γ smallest | none | the γ smallest of each column pruned | networks to be pruned | none built in |
#
# ## Summary
#
# * Feature maps are smooth, so pixel dropout removes little; **spatial dropout** drops whole
#   (sample, channel) maps.
# * **Gaussian dropout** has the mean and variance of inverted dropout's factor; on the digits the
#   two noises differed by a fifth of what dropout itself gained.
# * **Alpha dropout** keeps a SELU network at mean 0 and variance 1.
# * **DropConnect** drops weights: dropout's mean and variance per output, uncorrelated outputs.
# * Tie the mask over time in RNNs; drop residual branches (stochastic depth per mini-batch,
#   DropPath per sample) or blocks (DropBlock) in deep vision models; learn the rate (concrete) or
#   target it (targeted) when that is the goal.
# * Put dropout after the activation, never after the output layer, after the last BatchNorm, and
#   only where the model overfits.
#
# ## Further study
#
# 1. Write `spatial_dropout_backward`, `gaussian_dropout_backward` and `alpha_dropout_backward` and
#    check them with `course_lib.gradcheck`. Why does alpha dropout's backward not depend on `b` or
#    on $\alpha'$?
# 2. Rerun the SELU experiment of section 5 with `p_drop = 0.3`. How far is layer 16 from mean 0,
#    variance 1?
# 3. Derive the variance shift for Li et al.'s "Uout" noise, and find the $\beta$ that gives the
#    same variance as inverted dropout at `p_drop = 0.1`.
# 4. Concrete dropout: differentiate $\mathbb{E}[\tilde z]$ with respect to the logit of `p_drop` by
#    finite differences at $\tau = 0.1$ and $\tau = 0.5$. Which temperature gives the more useful
#    gradient, and which the more faithful mask?

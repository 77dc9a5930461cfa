# %% [markdown] id="6c9a09c2af45"
# # 03 · Inverted dropout
#
# **Learning goals.** After this notebook you can
#
# 1. say what standard (direct) and inverted dropout do in training and at inference, and why both
#    keep the expected input of the next layer unchanged;
# 2. implement inverted dropout as a pure layer function that passes a statistical test;
# 3. state *exactly* how inverted dropout changes the gradients and the learning rate (the
#    so-called boosting factor), and check the statement numerically;
# 4. choose a different `p_drop` per layer, defend the choice, and pair dropout with L2 or
#    max-norm.
#
# **Convention.** Throughout the course `p_drop` is the probability that a unit is **dropped** and
# `keep_prob = 1 - p_drop`. Some texts write `p` for the probability of *keeping* a unit (Srivastava
# et al. 2014 do; so does the `keep_prob` of many lecture notes). When you read a formula
# elsewhere, translate it first.

# %% id="36c5fbd0a987"
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets

from course_lib.analysis import count_parameters
from course_lib.lessons import nb03_inverted_dropout as lesson
from course_lib.lessons.widgets import live_figure
from autograder.exercises import check, hint

# %% [markdown] id="8c43c1fd" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("dropout_forward")` gives a first hint for that exercise; call it again for a more specific
# one (two or three per exercise). Hints are not graded, and they never give the answer away.

# %% [markdown] id="7cdcdc1caa40"
# ## 1. Two ways to keep the expectation
#
# In training, dropout multiplies a layer's activations $a$ by a random keep-mask
# $m \sim \text{Bernoulli}(\text{keep\_prob})$. On average only a fraction `keep_prob` of each
# unit's value reaches the next layer: $\mathbb{E}[m\,a] = \text{keep\_prob}\cdot a$. At inference
# there is no mask, so *something* must compensate, or the next layer sees inputs
# $1/\text{keep\_prob}$ times larger than it was trained on. There are two places to put the
# compensation:
#
# | | training | inference | used by |
# |---|---|---|---|
# | **standard** (direct) dropout | $\tilde a = m\,a$ | $\tilde a = \text{keep\_prob}\cdot a$ | Hinton et al. 2012 and Srivastava et al. 2014 (they scale the weights, $W_{test} = \text{keep\_prob}\, W$) |
# | **inverted** dropout | $\tilde a = m\,a / \text{keep\_prob}$ | $\tilde a = a$ | PyTorch, TensorFlow and Keras, Flax's `flax.linen.Dropout` and Haiku's `hk.dropout` (both built on JAX): every modern framework |
#
# JAX's core library has no dropout layer; the libraries built on it provide one. (JAX ships a
# `Dropout` only in `jax.example_libraries.stax`, an example library whose `rate` is the
# probability of *keeping* a unit.)
#
# Both give $\mathbb{E}_{\text{train}}[\tilde a] = \tilde a_{\text{inference}}$. Inverted dropout
# does the work in training, so the deployed network is just the network: no flag, no rescaled
# copy of the weights, and `p_drop` can change between epochs without touching inference.
#
# Move the slider: the dashed lines are the training means over 4000 draws for one unit with
# input 1.0; the bars on the right are the inference outputs.

# %% id="cfe30319cdb9" tags=["demo"]
expectations = live_figure(lesson.draw_expectations, {
    "p_drop": widgets.FloatSlider(value=0.3, min=0.0, max=0.9, step=0.05, description="p_drop"),
})

# %% [markdown] id="031a0396ddc6"
# ## 2. Exercise: inverted dropout, forward
#
# Write `dropout_forward`. It must
#
# * draw an independent keep-mask for **every entry** of `x` (not one mask for the whole batch),
#   each entry kept with probability `keep_prob = 1 - p_drop`, using **only** the generator `rng`
#   it is given (`rng.random`, `rng.binomial`, ... but never `np.random.*`);
# * scale the kept entries by `1 / keep_prob` in training and return `x` unchanged at inference;
# * never modify `x`, and return an array of the same shape and dtype (float32 in, float32 out);
# * raise `ValueError` when `p_drop` is not in `[0, 1)`.
#
# The checks below are statistical: they compare the number of kept units with the Binomial law,
# with a false-failure probability below $10^{-9}$, so a correct solution passes whichever way it
# draws its random numbers, and the message tells you what looks wrong.
#
# **Points** (4): 3 for the layer, 1 for refusing a bad `p_drop` with `ValueError`.

# %% id="dropout-forward-solution" nbgrader={"grade": false, "grade_id": "dropout_forward_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
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
    cache : anything your backward pass will need (here: the scaled mask, or None)

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
    mask = (rng.random(x.shape) < keep_prob) / keep_prob
    out = (x * mask).astype(x.dtype)
    return out, mask
    ### END SOLUTION

# %% id="dropout-forward" nbgrader={"grade": true, "grade_id": "dropout_forward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check("dropout_forward", dropout_forward)
### BEGIN HIDDEN TESTS
check("dropout_forward", dropout_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="ab933efd008d"
# ## 3. The "boosting factor", precisely
#
# Tutorials often say that inverted dropout "boosts the learning rate by $1/\text{keep\_prob}$".
# That is true of one thing and false of another, and the difference is worth a factor of
# `keep_prob`.
#
# Take a weight matrix $W$ that reads a dropout layer. With inverted dropout its input is
# $m\,a / \text{keep\_prob}$, so its gradient is
#
# $$\frac{\partial L}{\partial W_{\text{inv}}} = \frac{(m \odot a)^\top}{\text{keep\_prob}}\,
#   \delta = \frac{1}{\text{keep\_prob}}\,\frac{\partial L}{\partial W_{\text{std}}}$$
#
# where $\delta$ is the gradient at the layer's output and the standard net has the same
# $\delta$ when it computes the same function. *That* is the boosting factor: the **raw
# gradient** is $1/\text{keep\_prob}$ times larger.
#
# But the two nets compute the same function only when $W_{\text{inv}} = \text{keep\_prob}\cdot
# W_{\text{std}}$: the inverted net's weights are smaller by `keep_prob`. An SGD step of size
# $\eta$ on $W_{\text{inv}}$ moves the *function* as much as a step of
# $\eta/\text{keep\_prob}$ on $W_{\text{inv}}/\text{keep\_prob}$ would, which is a step of
# $\eta/\text{keep\_prob}^2$ measured on the standard net's weights:
#
# $$W_{\text{inv}} - \eta\, g_{\text{inv}} = \text{keep\_prob}\,\Big(W_{\text{std}} -
#   \frac{\eta}{\text{keep\_prob}^2}\, g_{\text{std}}\Big).$$
#
# **Statement.** From mapped weights, an inverted net trained at $\eta$ follows, step for step, the
# standard net whose weights after each dropout layer learn at $\eta/\text{keep\_prob}^2$ and whose
# other parameters (biases, weights that read no dropout) learn at $\eta$. With momentum the
# same holds, since the velocities map the same way.
#
# The figure trains three nets on the same mini-batches with the same masks: an inverted net at
# $\eta$, a standard twin at $\eta/\text{keep\_prob}^2$ and a standard twin at the "boosted"
# $\eta/\text{keep\_prob}$. It plots how far each twin's mapped weights are from the inverted
# net's. Try several `p_drop`: the first twin stays at the floor of the plot (identical to the
# last bit), the second drifts away at once. With a large `p_drop` and the largest learning
# rates, the inverted net itself diverges (and its exact twin with it): its loss explodes, so the
# curves stop at that step and the title says which one.

# %% id="69d0a153b0a8" tags=["demo"]
lesson.precompute_side_by_side(progress=True)  # every slider position, once
side_by_side = live_figure(lesson.draw_side_by_side, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.1, max=0.8, step=0.1, description="p_drop"),
    "lr": widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=-0.5, step=0.25,
                                 description="lr"),
})

# %% [markdown] id="1e3c49349d45"
# ## 4. Exercise: the equivalent learning rate
#
# Write `equivalent_standard_lr(lr, p_drop)`: the learning rate at which the post-dropout weights of
# a standard-dropout net must learn so that it follows an inverted-dropout net trained at `lr`.
# Raise `ValueError` if `lr <= 0` or `p_drop` is not in `[0, 1)`.
#
# **Points** (2): 1.5 for the rate, 0.5 for refusing bad arguments with `ValueError`.

# %% id="equivalent-standard-lr-solution" nbgrader={"grade": false, "grade_id": "equivalent_standard_lr_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def equivalent_standard_lr(lr, p_drop):
    """Learning rate of a standard-dropout net's post-dropout weights that reproduces inverted
    dropout at rate ``lr``.

    Parameters
    ----------
    lr : float > 0
        Learning rate of the inverted-dropout net.
    p_drop : float in [0, 1)
        Probability that a unit is dropped.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If lr <= 0 or p_drop is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    return lr / (1.0 - p_drop) ** 2
    ### END SOLUTION

# %% id="equivalent-standard-lr" nbgrader={"grade": true, "grade_id": "equivalent_standard_lr", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("equivalent_standard_lr", equivalent_standard_lr)
### BEGIN HIDDEN TESTS
check("equivalent_standard_lr", equivalent_standard_lr, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="f8867d0df037"
# **In two sentences:** why is the often-quoted rate $\eta/\text{keep\_prob}$ not the equivalent
# rate, even though the gradient really is $1/\text{keep\_prob}$ times larger?

# %% [markdown] id="explain-boosting-factor" nbgrader={"grade": true, "grade_id": "explain_boosting_factor", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The gradient of a post-dropout weight is 1/keep_prob times larger, but the inverted net's
# weights are keep_prob times smaller than the standard net's, so the same step is
# 1/keep_prob larger again relative to the weight. Together that is 1/keep_prob², so the
# standard net needs lr / keep_prob² to follow the inverted one.

# %% [markdown] id="5069b5b9fe10"
# ## 5. Why L2 and max-norm pair well with dropout
#
# Dropout makes each unit's input noisy, and the cheapest way for the network to shout over the
# noise is to grow its weights. Two constraints stop that:
#
# * **L2 weight decay** adds $\tfrac{\lambda}{2}\lVert W\rVert^2$ to the loss. Note that the
#   penalty does not map between the two dropout styles with the same $\lambda$: the inverted
#   net's weights are `keep_prob` times smaller, so the same $\lambda$ is a weaker penalty there.
# * **Max-norm** caps the norm of each unit's incoming weight vector at $c$ after every step.
#   Srivastava et al. found that it lets you use large learning rates (and momentum) without the
#   weights blowing up, and that dropout + max-norm beat dropout + L2 (on MNIST, their
#   Table 9).
#   `course_lib.nn.train(..., max_norm=c)` implements it; notebook 07 measures it.
#
# ## 6. A different `p_drop` per layer
#
# Layers with many parameters overfit most, so they get the highest `p_drop`; layers with few
# parameters, the input and the output get little or none. For the network 3-7-7-3-2-1 of the
# deeplearning.ai notes:

# %% id="2877fd257f7b" tags=["demo"]
sizes = [3, 7, 7, 3, 2, 1]
count = count_parameters(sizes)
print(f"{count.weights} weights and {count.biases} biases in total")
for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    print(f"  {fan_in:>2} -> {fan_out}: {fan_in * fan_out:>3} weights")

# %% [markdown] id="e3c23606d4c5"
# The 7→7 matrix holds 49 of the 99 weights, so that is where dropout pays most. The
# deeplearning.ai notes and this course agree on that, but attach the rates to different units:
#
# * the notes set `keep_prob` = [1.0, 0.5, 0.7, 0.7, 1.0] on the **outputs** of $W^{[1]}$ to
#   $W^{[5]}$: no dropout on the first hidden layer, `p_drop = 0.5` on the second (the output of
#   the 7→7 matrix), 0.3 on the third and fourth, none on the output. In the layout of
#   `course_lib.nn.MLP`, one rate per dropout site (the input and each hidden layer), that is
#   `p_drop=[0.0, 0.0, 0.5, 0.3, 0.3]`;
# * this course attaches each rate to the units that **feed** a matrix: `p_drop = 0.5` on the
#   first hidden layer (the input of the 7→7 matrix), 0.3 on the second (the input of the 7→3
#   matrix) and 0 on the input and on the tiny last layers, `p_drop=[0.0, 0.5, 0.3, 0.0, 0.0]`.
#   That is the default of notebook 01's network builder.
#
# Both thin the 7→7 matrix: a dropped unit takes with it the weights into it (their gradient is 0
# for that example) and the weights out of it (their input is 0). The notes' 0.5 removes weights
# going into some of the matrix's output units, ours removes weights coming out of some of its
# input units. More knobs cost more tuning: most practitioners keep one rate for all hidden layers
# and a smaller one (or none) for the input.

# %% [markdown] id="choose-keep-probs-intro"
# ## 7. Exercise: choose the rates of a network (your choice, defended)
#
# Write `choose_keep_probs(layer_sizes)`: for a fully connected network that overfits, return one
# `keep_prob` per dropout site, in the layout of `course_lib.nn.MLP` (the input first, then each
# hidden layer; the output is never dropped). There is no single right answer; the check accepts
# every choice that obeys the rules of section 6, made precise:
#
# * the input keeps at least 0.8 (it carries the data itself; Srivastava et al. keep 80% of
#   the inputs);
# * no hidden layer keeps less than 0.4 (with the width fixed, their error is flat for
#   `keep_prob` from 0.4 to 0.8 and rises below);
# * a narrow layer must not vanish: all $w$ units of a hidden layer are dropped at once with
#   probability $\text{p\_drop}^w$ (notebook 02), which must stay at most 0.1;
# * the network overfits, so if some hidden layer has 5 units or more, some hidden layer drops
#   at least 20%;
# * bigger layers are kept no more than smaller ones, up to a slack of 0.05. "Bigger" may mean
#   the weights a layer feeds (this course's attachment), its width, the weights that feed it
#   (the attachment of the deeplearning.ai notes) or all the weights around it: a choice that
#   follows any one of these rankings is accepted.
#
# The check asks for several architectures, not one.
#
# **Points** (4): 2 for the choices, 2 for your defence below.

# %% id="choose-keep-probs-solution" nbgrader={"grade": false, "grade_id": "choose_keep_probs_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_keep_probs(layer_sizes):
    """One keep_prob per dropout site (the input, then each hidden layer) for an overfitting
    fully connected network with the given layer sizes.

    Parameters
    ----------
    layer_sizes : list of int, at least 3 (input, hidden layers, output)

    Returns
    -------
    list of float in (0, 1], len(layer_sizes) - 1 of them
    """
    ### BEGIN SOLUTION
    hidden = layer_sizes[1:-1]
    widest = max(hidden)
    keep = [0.9]
    for width in hidden:
        # drop in proportion to the width, at most 0.5, and never so much that the whole
        # layer vanishes in more than one step in ten
        p_drop = min(0.5 * width / widest, 0.1 ** (1 / width))
        keep.append(1 - p_drop)
    return keep
    ### END SOLUTION

# %% id="choose-keep-probs" nbgrader={"grade": true, "grade_id": "choose_keep_probs", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_keep_probs", choose_keep_probs)
### BEGIN HIDDEN TESTS
check("choose_keep_probs", choose_keep_probs, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="choose-keep-probs-question"
# **Defend your choice in a few sentences:** which ranking of the layers did you follow and
# why, what does your rule give for 3-7-7-3-2-1, and what would go wrong with `p_drop = 0.5`
# on every hidden layer of that network?

# %% [markdown] id="explain-keep-probs" nbgrader={"grade": true, "grade_id": "explain_keep_probs", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# I rank hidden layers by width: a wide layer has many units that can co-adapt and feeds many
# weights, so it gets the highest p_drop, 0.5 for the widest, and narrower layers get
# proportionally less. The input keeps 0.9, since what it loses no later layer can recover. For
# 3-7-7-3-2-1 that gives keep_prob 0.9 on the input, 0.5 on both 7-unit layers and about 0.79
# and 0.86 on the 3- and 2-unit layers, whose p_drop is capped so that the whole layer is
# dropped at once in at most one step in ten. With p_drop = 0.5 everywhere the 2-unit layer
# would be dropped entirely in a quarter of the steps (0.5 ** 2), so the output would often see
# nothing, and the input would lose half of the data.

# %% [markdown] id="a1f3c5e7b9d2"
# ## Summary
#
# * Standard dropout scales at inference, inverted dropout scales in training; both keep
#   $\mathbb{E}[\tilde a]$ equal in the two phases, and inverted dropout leaves inference alone.
# * With inverted dropout the gradient of a post-dropout weight is $1/\text{keep\_prob}$ times the
#   standard one (the boosting factor: `boosting_factor(0.5)` is 2), and the equivalent standard learning rate is
#   $\eta/\text{keep\_prob}^2$, not $\eta/\text{keep\_prob}$.
# * Pair dropout with max-norm (or L2) so that the network cannot simply outgrow the noise.
#
# ## Further study
#
# 1. Add weight decay $\lambda$ to both nets of section 3. Which $\lambda'$ must the standard net
#    use so that the two still agree? (Answer: $\lambda\,\text{keep\_prob}^2$ measured in the
#    standard net's rate units; derive it.)
# 2. Adam divides each step by a running gradient scale. Does the boosting factor survive Adam?
#    Modify `lesson.train_side_by_side` to find out.
# 3. Gal & Ghahramani keep dropout on at test time; notebook 06 shows what that buys.

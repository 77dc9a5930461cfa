# %% [markdown] id="c091fc1d3730"
# # 01 · Why dropout works: the intuition
#
# **Learning goals.** After this notebook you can
#
# 1. read training and validation curves: tell overfitting (a large train/validation gap) from
#    underfitting (a high training error), and split a test error into bias², variance and noise;
# 2. place dropout among the other regularizers (L2, L1, early stopping, max-norm);
# 3. state the two intuitions behind dropout (training thinned networks; no co-adaptation) and say
#    exactly in which case dropout *is* an L2 penalty, an adaptive one;
# 4. count the parameters and the thinned subnetworks of any fully connected network, and explain
#    why $2^n$ subnetworks is both enormous and beside the point;
# 5. run the classic experiment on real data: `p_drop` = 0, 0.2, 0.5, 0.8, and see the gap narrow,
#    then the network underfit.
#
# **Convention.** Throughout the course `p_drop` is the probability that a unit is **dropped** and
# `keep_prob = 1 - p_drop`; a mask is a boolean array with `True` = kept. The notes of
# deeplearning.ai's course *Improving Deep Neural Networks* (week 1, "Understanding Dropout"),
# quoted below as the deeplearning.ai notes, speak of `keep_prob`, and some lecture notes write
# $p$ for the probability of *keeping* a unit ("$p = 0.8$ for the inputs" there means
# `p_drop = 0.2`). Translate before you compare numbers.

# %% id="74b390c546a3"
from functools import partial

import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
from IPython.display import display

from course_lib import analysis
from course_lib.dropout import dropout_forward
from course_lib.lessons import nb01_intuition as lesson
from course_lib.lessons.widgets import live_figure
from course_lib.lessons.playground_widget import PlaygroundWidget
from autograder.exercises import check, hint

# %% [markdown] id="e41fe29f" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("count_parameters")` gives a first hint for that exercise; call it again for a more specific
# one (two or three per exercise). Hints are not graded, and they never give the answer away.

# %% [markdown] id="21abb7e12c0c"
# ## 1. Overfitting, the gap, bias and variance
#
# We train on one set of examples and care about examples we have not seen. The **training
# error** says how well the model fits the data it was given; the **validation error**, measured
# on held-out data, estimates the error on new data. Their difference is the **generalization
# gap**.
#
# * **Overfitting**: training error near zero, validation error much higher. The model has learned
#   the particular training examples, noise included.
# * **Underfitting**: the training error itself stays high. The model cannot even represent the
#   data it was shown.
#
# For the squared error there is an exact account of where test error comes from. Let the data be
# $y = f(x) + \varepsilon$ with noise of variance $\sigma^2$, and let $\hat f_D$ be the model fitted
# on a random training set $D$. At every input $x$,
#
# $$\mathbb{E}_{D,\varepsilon}\big[(\hat f_D(x) - y)^2\big]
#   = \underbrace{\big(\mathbb{E}_D \hat f_D(x) - f(x)\big)^2}_{\text{bias}^2}
#   + \underbrace{\operatorname{Var}_D \hat f_D(x)}_{\text{variance}}
#   + \underbrace{\sigma^2}_{\text{noise}}.$$
#
# *Bias* is the error of the average model: what the model class cannot represent. *Variance* is how
# much the fit changes from one training set to another: what it memorises. (The identity is for
# the squared error; for the 0-1 error of a classifier no split of this kind is exact, but the
# picture carries over.) A regularizer trades a little bias for a large cut in variance.
#
# The figure fits polynomials to 200 independent training sets of 40 noisy points each. Move the
# degree: low degrees are too stiff (high bias), high degrees chase the noise (high variance).
# Then raise the L2 penalty $\lambda$ at degree 12 and watch the variance fall.

# %% id="28ad0e63b220" tags=["demo"]
lesson.precompute_bias_variance(progress=True)  # every degree at every λ of the slider, once
bias_variance = live_figure(lesson.draw_bias_variance, {
    "degree": widgets.IntSlider(value=3, min=1, max=12, description="degree"),
    "log10_l2": widgets.FloatSlider(value=-6.0, min=-6.0, max=2.0, step=0.5,
                                    description="log10 λ"),
})

# %% [markdown] id="cbc3deb04114"
# The decomposition is an identity, so we can check it: the test error measured on fresh noisy
# labels equals the sum of the three terms (up to the Monte Carlo error of 200 training sets).

# %% id="390160ef7226" tags=["demo"]
for degree in (3, 7, 12):
    result = lesson.bias_variance(degree, 1e-6)
    total = result.bias2 + result.variance + result.noise
    print(f"degree {degree:>2}: bias² {result.bias2:8.4f} + variance {result.variance:8.4f} "
          f"+ noise {result.noise:.4f} = {total:8.4f}; measured test error {result.test_mse:8.4f}, "
          f"training error {result.train_mse:.4f}")

# %% [markdown] id="aaaf323e3376"
# Neural networks sit at the high-variance end. The network of section 7 has about 85,000
# parameters and is trained on 300 images: it can fit them perfectly, noise and all, and does
# so within a few epochs.
#
# ## 2. Dropout among the regularizers
#
# | method | what it does in training | knob | what it does to the weights |
# |---|---|---|---|
# | **L2** (weight decay) | adds $\tfrac{\lambda}{2}\lVert W\rVert^2$ to the loss, so each step also does $w \leftarrow w - \eta\lambda w$ | $\lambda$ | shrinks all weights toward 0 in proportion to their size |
# | **L1** | adds $\lambda \lVert W\rVert_1$, a constant pull $\eta\lambda\,\mathrm{sign}(w)$ toward 0 | $\lambda$ | makes many weights exactly 0 (sparse) with proximal steps, $w \leftarrow \mathrm{sign}(w)\max(\lvert w\rvert - \eta\lambda, 0)$ (soft-thresholding); plain (sub)gradient steps leave small weights hopping around 0, almost never exactly at 0 |
# | **early stopping** | tracks the validation error and keeps the weights of its best epoch | patience | limits how far the weights travel from their small initial values; for a quadratic loss and gradient descent it acts like L2 with $\lambda \approx 1/(\eta\, t)$ after $t$ steps |
# | **max-norm** | after every step, rescales each unit's incoming weight vector to norm $\le c$ | $c$ | caps every unit's weights, whatever the learning rate |
# | **dropout** | multiplies the units by a random keep-mask (and, in inverted dropout, by $1/\text{keep\_prob}$), a new mask for every example; nothing at inference | `p_drop` per layer | no direct constraint: noise in the *structure* of the network, which (section 6) acts on the weights like an L2 penalty adapted to each input |
#
# They combine: Srivastava et al. (2014) trained their best networks with dropout *and* max-norm;
# `course_lib.nn.train` has `weight_decay=` and `max_norm=`, and `History.best_epoch()` tells
# where early stopping would stop. Notebook 03 explains why L2 and max-norm pair well with dropout.
#
# ## 3. One mask, one thinned network
#
# Dropout was introduced by Hinton et al. (2012), "Improving neural networks by preventing
# co-adaptation of feature detectors", and studied at length by Srivastava et al. (2014).
# In training, dropout keeps each unit of a dropout layer with probability `keep_prob`,
# independently of every other unit and of every other example, and removes the rest together
# with all their connections. What remains is a **thinned network**, on average `keep_prob` times
# as wide. Every example of every mini-batch is processed by a different one.
#
# **Intuition 1: training smaller networks.** A smaller network has less capacity to memorise.
# Dropout trains a new small network at every step, so no single configuration of units gets to
# memorise the training set. Note what a thinned network is *not*: it is not a separate small
# model. All thinned networks share one set of weights, and a step updates only the weights of the
# kept units (dropped units pass no gradient).
#
# Build a network below. Each row sets one layer's size and its `p_drop` (the output layer is
# never dropped). *Resample mask* draws a new thinned network; the inspector highlights one unit
# and lists its fan-in, fan-out, rate and fate in the current mask. The counts follow every change.
# The default is the 3-7-7-3-2-1 network of the deeplearning.ai notes, with `p_drop` 0.5 on the
# first hidden layer (it feeds the largest weight matrix, 7×7) and 0.3 on the second. These are
# the notes' rates moved one layer down: the notes attach `keep_prob` = [1.0, 0.5, 0.7, 0.7, 1.0]
# to the *outputs* of the five weight matrices, so 0.5 on the second hidden layer (the output of
# the 7×7 matrix), while this course attaches each rate to the units that *feed* a matrix.
# Notebook 03 sets the two side by side.

# %% id="d25c0024ab16" tags=["demo"]
# The widgets only pass values around: every computation is a function of course_lib.lessons.
from course_lib.lessons.widgets import png_output

builder = {"sizes": list(lesson.DEFAULT_SIZES), "rates": list(lesson.DEFAULT_RATES),
           "drawing": False, "handle": None, "figure": None}
add_button = widgets.Button(description="add hidden layer", icon="plus")
remove_button = widgets.Button(description="remove hidden layer", icon="minus")
resample_button = widgets.Button(description="resample mask", icon="refresh")
mask_seed = widgets.BoundedIntText(value=3, min=0, max=10**6, description="mask seed")
inspect_layer = widgets.BoundedIntText(value=1, min=0, max=5, description="inspect layer")
inspect_unit = widgets.BoundedIntText(value=2, min=0, max=6, description="unit")
counts = widgets.HTML()
layer_rows = widgets.VBox()


def redraw_network(*_):
    if builder["drawing"]:  # changing a bound below may fire this again; draw once
        return
    builder["drawing"] = True
    try:
        sizes, rates = builder["sizes"], builder["rates"]
        inspect_layer.max = len(sizes) - 1
        inspect_unit.max = sizes[inspect_layer.value] - 1
        highlight = (inspect_layer.value, inspect_unit.value)
        counts.value = "<br>".join(
            lesson.network_summary(sizes, rates).lines()
            + lesson.unit_details(sizes, rates, mask_seed.value, *highlight).lines())
        # the same figure is redrawn in place while the number of layers stays the same
        figure = lesson.draw_network(sizes, rates, mask_seed.value, highlight,
                                     figure=builder["figure"])
        plt.close(figure)
        builder["figure"] = figure
        if builder["handle"] is None:
            builder["handle"] = display(png_output(figure), display_id=True)
        else:
            builder["handle"].update(png_output(figure))
    finally:
        builder["drawing"] = False


def change_layer(layer, kind, change):
    update = lesson.resize_layer if kind == "size" else lesson.set_p_drop
    builder["sizes"], builder["rates"] = update(builder["sizes"], builder["rates"], layer,
                                                change["new"])
    redraw_network()


def make_rows():
    rows = []
    for layer, size in enumerate(builder["sizes"]):
        last = layer == len(builder["sizes"]) - 1
        name = "input" if layer == 0 else "output" if last else f"hidden {layer}"
        size_slider = widgets.IntSlider(value=size, min=1, max=32, description=name)
        size_slider.observe(partial(change_layer, layer, "size"), names="value")
        if last:
            rows.append(widgets.HBox([size_slider, widgets.Label("never dropped")]))
            continue
        rate_slider = widgets.FloatSlider(value=builder["rates"][layer], min=0.0, max=0.9,
                                          step=0.05, description="p_drop")
        rate_slider.observe(partial(change_layer, layer, "p_drop"), names="value")
        rows.append(widgets.HBox([size_slider, rate_slider]))
    layer_rows.children = rows


def change_structure(action, _button):
    try:
        builder["sizes"], builder["rates"] = action(builder["sizes"], builder["rates"])
    except ValueError as error:  # no hidden layer left, or the builder is full
        counts.value = f"<b>{error}</b>"
        return
    make_rows()
    redraw_network()


add_button.on_click(partial(change_structure, lesson.add_layer))
remove_button.on_click(partial(change_structure, lesson.remove_layer))
resample_button.on_click(lambda _button: setattr(mask_seed, "value", mask_seed.value + 1))
for control in (mask_seed, inspect_layer, inspect_unit):
    control.observe(redraw_network, names="value")
make_rows()
display(widgets.VBox([widgets.HBox([add_button, remove_button, resample_button, mask_seed]),
                      layer_rows, widgets.HBox([inspect_layer, inspect_unit]), counts]))
redraw_network()

# %% [markdown] id="15aac3523d39"
# Try: resample a few times and count how many units of the first hidden layer survive (it varies:
# notebook 02 gives its law). Set the mask seed to 0: all 7 units of the first hidden layer are
# dropped, a degenerate network whose output no longer depends on the input (it happens to one
# example in $2^7 = 128$). Set every `p_drop` to 0: one network is left. Add a hidden layer of
# 32 units with `p_drop` 0.5 and watch the number of thinned networks jump by a factor of $2^{32}$
# while the parameters grow by about a hundred.
#
# ## 4. Exercise: count the parameters
#
# Layer $l$ of a fully connected network maps the $n_{l-1}$ units before it to its $n_l$ units
# with an $n_{l-1}\times n_l$ weight matrix and one bias per unit. Write `count_parameters`.
#
# **Points** (2): 1.5 for the two counts, 0.5 for refusing bad `layer_sizes` with `ValueError`.
# Every exercise that asks for a `ValueError` splits its points like this, and its check says which
# part failed. The argument checks count once the values are right: right counts without the
# `ValueError` keep 1.5 points, wrong counts score nothing.

# %% id="count-parameters-solution" nbgrader={"grade": false, "grade_id": "count_parameters_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_parameters(layer_sizes):
    """Weights and biases of a fully connected network.

    Parameters
    ----------
    layer_sizes : list of int
        Units per layer, input first, output last, e.g. [3, 7, 7, 3, 2, 1]. Layer i and layer
        i + 1 are joined by a layer_sizes[i] x layer_sizes[i + 1] weight matrix, and every unit
        after the input layer has one bias.

    Returns
    -------
    (n_weights, n_biases) : tuple of two ints
        For [3, 7, 7, 3, 2, 1]: (99, 20).

    Raises
    ------
    ValueError
        If there are fewer than 2 layers or a layer has fewer than 1 unit.
    """
    ### BEGIN SOLUTION
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes must list at least 2 layers, got {layer_sizes}")
    if min(layer_sizes) < 1:
        raise ValueError(f"every layer must have at least 1 unit, got {layer_sizes}")
    n_weights = sum(fan_in * fan_out for fan_in, fan_out in zip(layer_sizes[:-1],
                                                                  layer_sizes[1:]))
    n_biases = sum(layer_sizes[1:])
    return n_weights, n_biases
    ### END SOLUTION

# %% id="count-parameters" nbgrader={"grade": true, "grade_id": "count_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("count_parameters", count_parameters)
### BEGIN HIDDEN TESTS
check("count_parameters", count_parameters, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="251968605ca6"
# The network of the digits experiment (section 7) against its training set (counted with
# `course_lib.analysis.count_parameters`, so that this cell runs before you solve the exercise):

# %% id="2280ad21990d" tags=["demo"]
guided = lesson.ExperimentSettings()
digits_net = list(guided.layer_sizes)
n_weights, n_biases = analysis.count_parameters(digits_net)
print(f"{'-'.join(map(str, digits_net))}: {n_weights:,} weights + {n_biases} biases = "
      f"{n_weights + n_biases:,} parameters, for {guided.n_train} training images of 64 pixels "
      f"({guided.n_train * 64:,} numbers)")

# %% [markdown] id="2ef5c8618787"
# ## 5. The implicit ensemble: $2^n$ thinned networks
#
# Call a unit *droppable* when its layer has `p_drop > 0`. Each of $n$ droppable units is kept or
# dropped, so a mask is one of $2^n$ patterns, and dropout samples one thinned network out of
# $2^n$ at every example. At test time the full network, with no mask, stands in for the average
# of all of them (section 8 measures how well).
#
# Two precisions the usual statement leaves out:
#
# * $2^n$ counts **masks**, an upper bound on distinct functions: it includes masks that drop a
#   whole layer (probability $p_{\text{drop}}^{\,n_l}$, about $10^{-77}$ for 256 units at 0.5), and
#   different masks can compute the same function.
# * The subnetworks are not independent models. They share every weight, so training one of them
#   trains a part of all the others.
#
# The layout of `p_drop` is the one of `course_lib.nn.MLP`: a list with one rate per *dropout site*
# (the input layer and each hidden layer: `len(layer_sizes) - 1` rates), or a single float that
# applies to every hidden layer and leaves the input whole. The output layer is never dropped.
#
# **Points** (3): 2 for the count, 1 for refusing bad arguments with `ValueError`.

# %% id="count-subnetworks-solution" nbgrader={"grade": false, "grade_id": "count_subnetworks_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def count_subnetworks(layer_sizes, p_drop):
    """Number of thinned networks dropout can sample: 2 ** (number of droppable units).

    Parameters
    ----------
    layer_sizes : list of int
        Units per layer, input first (at least 2 layers, each with at least 1 unit).
    p_drop : float or list of float, each in [0, 1)
        Probability that a unit is dropped (keep_prob = 1 - p_drop). Either a list with one rate
        per dropout site, that is the input layer and each hidden layer
        (len(layer_sizes) - 1 rates), or one float applied to every hidden layer (the input is
        then not dropped). The output layer is never dropped. A unit is droppable when its
        layer's rate is > 0.

    Returns
    -------
    int
        An exact Python int (these numbers are far beyond what a float can hold).

    Raises
    ------
    ValueError
        If layer_sizes is invalid, if a list of rates does not have len(layer_sizes) - 1 entries,
        or if a rate is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if len(layer_sizes) < 2 or min(layer_sizes) < 1:
        raise ValueError(f"layer_sizes must list at least 2 layers of at least 1 unit, "
                         f"got {layer_sizes}")
    if isinstance(p_drop, (int, float)):
        rates = [0.0] + [p_drop] * (len(layer_sizes) - 2)
    else:
        rates = list(p_drop)
        if len(rates) != len(layer_sizes) - 1:
            raise ValueError(f"p_drop must have {len(layer_sizes) - 1} rates (input and hidden "
                             f"layers), got {len(rates)}")
    for rate in rates:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"p_drop must be in [0, 1), got {rate}")
    n_droppable = sum(size for size, rate in zip(layer_sizes[:-1], rates) if rate > 0)
    return 2 ** n_droppable
    ### END SOLUTION

# %% id="count-subnetworks" nbgrader={"grade": true, "grade_id": "count_subnetworks", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("count_subnetworks", count_subnetworks)
### BEGIN HIDDEN TESTS
check("count_subnetworks", count_subnetworks, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="170257dea209"
# How many of them does training ever see? Each training example gets its own mask, so one run of
# section 7 (300 images, 500 epochs) draws 150,000 masks.

# %% id="a51ce530fa68" tags=["demo"]
n_subnetworks = analysis.count_subnetworks(digits_net, 0.5)
n_masks_drawn = guided.n_train * guided.epochs
print(f"thinned networks of {'-'.join(map(str, digits_net))} at p_drop 0.5: "
      f"{lesson.format_power_of_two(n_subnetworks.bit_length() - 1)}")
print(f"masks drawn in training: {n_masks_drawn:,}, a fraction "
      f"{n_masks_drawn / n_subnetworks:.1e} of them")

# %% [markdown] id="c573089e54b6"
# Almost every thinned network is never trained even once, yet section 8 shows that their average
# is good. The weight sharing is what makes the ensemble work: it is one set of parameters
# trained under noise, not $2^n$ models.
#
# ## 6. Intuition 2: no co-adaptation, and dropout as an adaptive L2 penalty
#
# Hinton et al. (2012) and Srivastava et al. describe **co-adaptation**: without dropout a unit can
# come to rely on other specific units to correct its mistakes, and such arrangements fit the
# training set without generalizing. With dropout any input of a unit may vanish, so the unit
# cannot rely on any single one of them: it spreads its weights over all of them.
#
# In one case this can be made exact. Take a linear unit $\hat y = \sum_j w_j \tilde x_j$ with
# inverted dropout on its inputs, $\tilde x_j = m_j x_j/\text{keep\_prob}$, $m_j \sim
# \text{Bernoulli}(\text{keep\_prob})$. Then $\mathbb{E}[\tilde x_j] = x_j$ and
# $\operatorname{Var}[\tilde x_j] = x_j^2\, p_{\text{drop}}/\text{keep\_prob}$, and the squared
# error averaged over masks is, summed over the examples $i$,
#
# $$\mathbb{E}_m \sum_i \big(y_i - \hat y_i\big)^2 = \lVert y - Xw \rVert^2
#   + \sum_j \lambda_j w_j^2, \qquad
#   \lambda_j = \frac{p_{\text{drop}}}{\text{keep\_prob}} \sum_i x_{ij}^2 .$$
#
# So dropout on the inputs of a linear model *is* L2 regularization (Wager, Wang & Liang 2013),
# with a strength $\lambda_j$ per weight set by the energy of that input: that is what "adaptive"
# means. Two consequences:
#
# * **Weights spread out.** If $x_1 \approx x_2$, least squares only cares about $w_1 + w_2$, and
#   the noise in the data decides the split, often as two large weights of opposite sign that
#   cancel (co-adaptation in miniature). For a fixed sum $w_1 + w_2$, the penalty
#   $\lambda(w_1^2 + w_2^2)$ is smallest at $w_1 = w_2$: dropout splits the weight evenly.
# * **Large inputs are penalized more**, not less: $\lambda_j$ grows with $\sum_i x_{ij}^2$, so the
#   penalty is on each input's contribution $w_j x_j$, not on the raw weight.
#
# For a deep network, or a cross-entropy loss, the same computation holds only to second order: an
# approximation. So the statement of the deeplearning.ai notes that dropout "can be formally shown
# to be an adaptive form of L2 regularization" is exact in this linear case and a useful
# approximation elsewhere. First the identity itself, checked by averaging over sampled masks:

# %% id="271ecf4352bb" tags=["demo"]
X_demo, y_demo = lesson.coadaptation_data(seed=2)
w_demo = np.array([1.5, 0.5, 0.4, 0.1])
demo_rng = np.random.default_rng(0)
# 20,000 independent masks at once: dropout_forward draws a fresh mask for every entry
thinned = dropout_forward(np.broadcast_to(X_demo, (20_000, *X_demo.shape)), 0.5,
                          rng=demo_rng)[0]
sampled = np.sum((y_demo - thinned @ w_demo) ** 2, axis=1)
print(f"expected loss under dropout, closed form: "
      f"{analysis.expected_dropout_loss(X_demo, y_demo, w_demo, 0.5):.2f}")
print(f"mean over 20,000 sampled masks:           {np.mean(sampled):.2f} "
      f"(± {2 * np.std(sampled) / np.sqrt(len(sampled)):.2f}, two standard errors)")

# %% [markdown] id="12eb480daa44"
# Now fit a unit with four inputs: $x_1$ and $x_2$ are two copies of one signal (differing by
# noise of standard deviation 0.02), $x_3$ is an independent input, and $x_4$ has three times the
# scale of the others. The bars compare least squares, the exact dropout solution
# $w = (X^\top X + \operatorname{diag}\lambda)^{-1} X^\top y$, a unit trained by gradient descent
# with real sampled masks (`dropout_forward`), and plain L2 with one $\lambda$ for every weight
# (tuned to the same $\lvert w\rvert^2$, so that only the *distribution* of the shrinkage differs).
# Change the data seed to see how arbitrary the least-squares split is.

# %% id="6c5436751110" tags=["demo"]
lesson.precompute_linear_dropout(progress=True)  # every p_drop on every data seed, once
linear_dropout = live_figure(lesson.draw_linear_dropout, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.05, max=0.9, step=0.05,
                                  description="p_drop"),
    "seed": widgets.IntSlider(value=2, min=0, max=9, description="data seed"),
})

# %% [markdown] id="edde3a21ecb6"
# The sampled-mask training lands on the closed form, and the copies share their weight equally.
# Against the uniform L2 (same $\lvert w\rvert^2$), dropout takes more off $x_4$, the input with
# the largest scale:

# %% id="d1a919b22427" tags=["demo"]
for p_drop in (0.2, 0.5, 0.8):
    fit = lesson.dropout_linear_regression(p_drop, seed=2)
    print(f"p_drop {p_drop}: weight of x4 {fit.exact[3]:.3f} with dropout, {fit.ridge[3]:.3f} "
          f"with plain L2; weights of the copies {fit.exact[0]:.3f} and {fit.exact[1]:.3f} "
          f"(least squares: {fit.ols[0]:.2f} and {fit.ols[1]:.2f})")

# %% [markdown] id="af84958f6e59"
# ## 7. The guided experiment: `p_drop` = 0, 0.2, 0.5, 0.8 on the digits
#
# Real data now: scikit-learn's handwritten digits (8×8 pixels, 10 classes), split into 300
# training, 500 validation and 500 test images. The network is 64-256-256-10 with ReLU, trained
# with SGD (momentum 0.9, learning rate 0.05, batches of 100) for 500 epochs, with the
# same `p_drop` on both hidden layers. Wide layers, few images and a long run: without dropout
# this network can memorise its training set many times over, which is where dropout should
# pay.
#
# One run proves little: a different split or a different initialisation moves the validation
# error by a point or more. So every rate is trained with 10 seeds, each fixing the split,
# the initial weights and the order of the mini-batches, and every rate sees the same 10.
# Two rates can then be compared seed by seed (a *paired* comparison), which removes the noise
# that both share. The 40 runs take several minutes, so they were recorded once with
# `python -m course_lib.lessons.nb01_intuition --workers 2`, which writes
# `course_lib/lessons/nb01_intuition_results.json`; this cell loads the record.

# %% id="bd6934594877" tags=["demo"]
record = lesson.load_record()
curves = lesson.record_curves(record)
print(f"{len(record['runs'])} recorded runs ({record['seconds'] / 60:.0f} minutes of training)")
print(lesson.format_experiment_table(record))

# %% id="373d11565d1e" tags=["demo"]
experiment = live_figure(partial(lesson.draw_curves, curves=curves), {
    "p_drop": widgets.SelectionSlider(options=list(curves.p_drops), value=0.0,
                                      description="p_drop"),
    "metric": widgets.ToggleButtons(options=["error", "loss"], value="error"),
    "overlay": widgets.Checkbox(value=True, description="show the other rates"),
})

# %% [markdown] id="0f65e84c73c4"
# The table gives, for each rate, the mean over the 10 seeds of the final networks (after
# epoch 500): training and validation error, the standard deviation of the validation error
# over seeds, and the training and validation loss. The last column compares each rate with
# `p_drop` = 0 seed by seed: the mean difference of validation error in points, its 95%
# t-interval, and the p-value of a paired t-test, the probability of a difference at least that
# large if the rate did no better or worse than no dropout at all. With 10 seeds the
# interval has 9 degrees of freedom: it is the mean ± 2.26 standard errors, not ± 2.
#
# Walk through it with the slider:
#
# 1. **`p_drop` = 0.** Every seed's training error is 0 at epoch 22. Switch to *loss*:
#    the validation loss is lowest at epoch 27 and then rises while the training
#    loss goes on to 0, the signature of overfitting: the network grows ever more confident, and
#    on the validation images it gets wrong it becomes confidently wrong. The validation error
#    ends at 5.36%, with a standard deviation of 1.55 points from seed to seed.
# 2. **0.2.** The same shape, later: the training error reaches 0 at epoch 33 and
#    the validation loss is lowest at epoch 72. The validation error ends at
#    4.20%, -1.16 points against no dropout; the interval [-1.66, -0.66]
#    lies below 0 (p = 0.00052).
# 3. **0.5.** The training error reaches 0 only at epoch 60: dropout networks need
#    more epochs. The validation error ends at 4.12% (-1.24 points, interval
#    [-2.04, -0.44], p = 0.0065), and the loss gap is 0.20 against 0.23 without
#    dropout.
# 4. **0.8.** Each thinned network keeps about 51 of 256 units per layer, and the network
#    no longer fits its training set in 500 epochs: a training loss of 0.025
#    where the other rates reach 0.000, and a training error of 0.13%. Its
#    validation error is back at 5.18%, -0.18 points against no dropout (interval
#    [-0.84, +0.48], p = 0.55): no significant gain. The network **underfits**: too much
#    noise.
#
# **Choosing the rate.** The choice is made on the validation errors only, by one rule (notebook
# 07 uses it too). A rate is significantly worse than the rate with the lowest mean validation
# error when a one-sided paired t-test over the seeds, which asks whether its validation error is
# higher, gives p < 0.05; every rate that is not significantly worse is a defensible choice.
# One-sided, because the question has a direction: a rate with lower errors is never a reason to
# reject it. The lowest mean is at `p_drop` = 0.5 (4.12%), with 0.2 close behind (4.20%): paired
# over the seeds, 0.2 is not significantly worse (one-sided p = 0.37), while 0 and 0.8 are
# (p = 0.0033 and 0.00049). So 0.2 and 0.5 are both defensible choices, and the lowest mean
# picks 0.5.
#
# **The test set, once.** Only now do we look at the test images, for the rate just chosen and
# for no dropout: 5.48% test error without dropout, 4.24% with `p_drop` = 0.5,
# -1.24 points (paired over the 10 seeds: 95% t-interval [-1.71, -0.77],
# 9 degrees of freedom, p = 0.00021). This is the number to report. The rate was chosen
# without looking at these images, so it is an honest estimate of how the chosen network does on
# new ones; had we picked the rate with the lowest test error, that error would be the luckiest
# of four draws, an optimistic one.
#
# For comparison, notebook 07 trains two layers of 256 units for 500 epochs on 300 images with
# its own seeds and splits, and goes from 5.46% test error without dropout to 4.22% with
# `p_drop = 0.5` (means of 10 seeds). Paired by seed, dropout is better by
# 1.24 pp (95% t-interval 0.85 to 1.63 pp, df = 9, p < 0.001).

# %% id="guided-live-run" tags=["demo"]
# One recorded run, trained again here (a few seconds): the same seed gives the same network.
settings = lesson.settings_of(record)
live_model, live_split, live_history, live_test_error = lesson.train_recorded_network(
    settings, 0.5, seed=0)
again = lesson.run_record(settings, 0.5, 0, live_history, live_test_error)
print(f"p_drop 0.5, seed 0: final validation error "
      f"{100 * live_history.val_error[-1]:.2f}%, test error {100 * live_test_error:.2f}%; "
      f"identical to the record: {again == lesson.recorded_run(record, 0.5, seed=0)}")

# %% [markdown] id="choose-p-drop-intro"
# ## Exercise: choose `p_drop`, and defend the choice
#
# Write `choose_p_drop(val_errors, test_errors)`: given the final errors of each rate over the
# seeds, it returns the rate you would use for this network and data size. The record gives both
# tables, so the function gets both; deciding which one may inform the choice is part of the
# exercise. The checks run it on tables like the one above and accept every rate that is not
# significantly worse, by the rule of the section above: there is more than one defensible rule.
#
# **Points** (2) for the function, and 2 for the answer below it.

# %% id="choose-p-drop-solution" nbgrader={"grade": false, "grade_id": "choose_p_drop_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_p_drop(val_errors, test_errors):
    """The dropout rate to use, chosen from recorded errors.

    Parameters
    ----------
    val_errors : dict {p_drop: list of float}
        For each rate tried, the validation error of each seed's final network (fractions), the
        same seeds in the same order for every rate.
    test_errors : dict {p_drop: list of float}
        The same for the test images.

    Returns
    -------
    float
        One of the keys of val_errors.
    """
    ### BEGIN SOLUTION
    means = {p_drop: np.mean(errors) for p_drop, errors in val_errors.items()}
    return min(means, key=means.get)
    ### END SOLUTION

# %% id="choose-p-drop" nbgrader={"grade": true, "grade_id": "choose_p_drop", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_p_drop", choose_p_drop)
### BEGIN HIDDEN TESTS
check("choose_p_drop", choose_p_drop, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="defend-p-drop-question"
# Your rule applied to the record (the tables are `lesson.final_errors(record, "val")` and
# `lesson.final_errors(record, "test")`) gives one rate. **In three or four sentences:** which
# `p_drop` would you use for this network and these 300 images, and why? Say which table
# decided and why the other one could not, how sure the choice is (quote an interval or a p-value
# from the table), and what would make you choose differently.

# %% [markdown] id="defend-p-drop" nbgrader={"grade": true, "grade_id": "defend_p_drop", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# I would use p_drop = 0.5, the lowest mean validation error (0.2 would be as defensible: the
# paired test cannot tell the two apart, p = 0.37). The choice is made on the validation errors
# because the test errors must stay untouched to report the chosen network's error honestly; read
# once, they give a difference of -1.24 points against no dropout, 95% interval [-1.71, -0.77]. I
# would choose differently with more training images or a smaller network, where there is less to
# overfit.

# %% [markdown] id="underfitting-question"
# **In two sentences:** more dropout helped up to `p_drop` = 0.5, yet at 0.8 the validation error
# is back at the level of no dropout while the training loss is the highest of the four rates.
# Explain why in terms of bias and variance.

# %% [markdown] id="explain-underfitting" nbgrader={"grade": true, "grade_id": "explain_underfitting", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Dropout lowers the variance, how much the fit depends on the particular training images, and
# up to 0.5 that is what the lower validation error shows. At 0.8 each thinned network keeps only
# about a fifth of the units, too few to fit even the training set (the bias grows), and this
# loss of fit outweighs what the extra noise still saves in variance: the best rate balances the
# two.

# %% [markdown] id="03f7f2594391"
# ## 8. The ensemble inside one trained network
#
# The network just trained again with `p_drop` = 0.5 holds $2^{512}$ thinned networks. Compare, on
# its validation images, the full network with no mask (what inverted dropout uses at test time),
# one thinned network at a time, and the average of the predicted probabilities of $k$ thinned
# networks.

# %% id="8b600eed4c5e" tags=["demo"]
result = lesson.ensemble_errors(live_model, live_split.X_val, live_split.y_val,
                                sizes=(1, 10, 50), seed=0)
sizes = " / ".join(str(k) for k in result.averaged)
errors = " / ".join(f"{100 * error:.1f}%" for error in result.averaged.values())
print(f"full network {100 * result.weight_scaled:.1f}%; one thinned network "
      f"{100 * result.single_thinned:.1f}% (mean of 50); average of {sizes} thinned "
      f"networks: {errors}")

# %% [markdown] id="cdff1346590e"
# A single thinned network makes more errors than the full one (6.5% against
# 5.0%); the average of 10 or of 50 thinned networks does as well as the full network, or a
# little better (4.4% and 4.4%). The full network, at the cost of one forward pass, behaves like the
# average of the ensemble. For a single softmax layer
# with dropout on its inputs this is exact: the network without a mask predicts the normalized,
# probability-weighted geometric mean of the predictions of all $2^n$ subnetworks (Hinton et al.
# 2012 showed it for one hidden layer feeding a softmax, at `p_drop = 0.5`). With hidden
# ReLU layers it is an approximation, and notebook 06 measures when sampling masks at test time
# does better.
#
# **In two sentences:** training drew 150,000 masks out of $2^{512}$, so almost every thinned
# network was never trained once. Why can their average still be a good classifier?

# %% [markdown] id="explain-weight-sharing" nbgrader={"grade": true, "grade_id": "explain_weight_sharing", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The thinned networks are not separate models: they all use the same weights, and each training
# step on one of them updates the weights of its kept units, which every other subnetwork
# containing those units shares. So every weight is trained on a large fraction of all examples
# (keep_prob, or keep_prob² when both of its units can be dropped), and a mask never drawn is
# just a new combination of well-trained units.

# %% [markdown] id="afb26e1e"
# ## 9. The dropout playground: watch it train
#
# Everything so far was trained before you saw it. The playground trains while you watch: two
# copies of one network, 2-24-24-2 with ReLU, learn a 2-D data set one mini-batch of 10 points at
# a time. They start from the same initial weights and see the same mini-batches; the left one
# trains with dropout (one `p_drop` per layer: the inputs and each hidden layer), the other one
# without. Each frame is one training step and shows
#
# * the two decision boundaries (orange and blue, paler where the network is less sure), with the
#   training points;
# * the training and test loss of both networks (solid: dropout, dashed: none), measured at
#   inference on the whole training set and on a fixed test set of 500 points;
# * the network with the dropout mask of one example of the latest mini-batch: grey units are
#   dropped, the lines are the weights between kept units (blue positive, orange negative).
#
# **Play** trains until **Pause**; **Step** takes one step; **Reset** starts again from the same
# initial weights. Changing the data, its noise, the training-set size, the learning rate, the
# number of hidden layers (one to three), their sizes or a `p_drop` starts a new run too, and the
# two networks again start from one set of initial weights and see the same data. Things to try:
#
# 1. Press Play with the defaults (moons, noise 0.3, 50 training points, `p_drop` 0.2 on the
#    inputs and 0.5 on both hidden layers) and watch the test loss. Without dropout it falls, then
#    climbs again while the training loss goes on falling: the boundary bends around single noisy
#    points. With dropout the training loss stays higher and the test loss levels off instead of
#    climbing. (Early stopping would have caught the network without dropout at its lowest point:
#    the two regularizers of section 2 at work side by side.)
# 2. Raise both hidden `p_drop` to 0.8, then to 0.9. The training loss of the dropout network
#    stays high and jumpy: it underfits, the playground's version of section 7's 0.8.
# 3. Set the training-set size to 300. With that much data the network without dropout hardly
#    overfits, and dropout now costs more than it saves: its test loss ends higher.
# 4. Try the spirals with noise 0: clean data, nothing to overfit, and dropout only slows
#    learning down.
# 5. Back at the defaults, shrink both hidden layers to 4 units: the network without dropout
#    overfits less, and dropout takes away capacity that so small a network needs: its test loss
#    ends far above the other's. Then use one hidden layer of 32 units and raise the learning
#    rate tenfold, to 0.1: the network without dropout reaches its lowest test loss about ten
#    times sooner, and climbs from there.

# %% id="4010d32d" tags=["demo"]
playground = PlaygroundWidget()
display(playground)

# %% [markdown] id="b96655938dc1"
# ## Summary
#
# * Overfitting shows as a large gap between training and validation error; underfitting as a high
#   training error. For the squared error, test error = bias² + variance + noise, exactly.
# * L2 shrinks weights, L1 zeroes many of them (with proximal steps), early stopping limits how
#   far they travel, max-norm caps them; dropout adds noise to the network's structure instead.
# * Intuition 1: every example trains a different thinned network, on average `keep_prob` as wide,
#   and all of them share one set of weights.
# * Intuition 2: a unit cannot rely on any single input. For a linear unit with dropout on its
#   inputs this is exactly an L2 penalty with strength $\frac{p_{\text{drop}}}{\text{keep\_prob}}
#   \sum_i x_{ij}^2$ per weight, which spreads weight over redundant inputs.
# * $n$ droppable units give $2^n$ masks, far more than training can visit; weight sharing is why
#   the implicit ensemble works, and the full network at test time approximates its average.
# * On the digits (64-256-256-10, 300 training images, 10 seeds), `p_drop` 0.2 and 0.5
#   lowered the validation error from 5.36% to 4.20% and 4.12%, gains whose paired 95%
#   intervals exclude 0; chosen on validation, 0.5 has a test error of 4.24% against
#   5.48% without dropout. At 0.8 the network underfit and the gain was gone.
#
# ## Further study
#
# 1. With the builder, find a network with fewer than 400 parameters and more than $10^{30}$
#    thinned networks. What does that say about $2^n$ as a measure of capacity?
# 2. Rerun the experiment with 790 training images, all that the digits have beside the
#    validation and test images: `lesson.compute_record(lesson.ExperimentSettings(n_train=790,
#    seeds=(0, 1, 2)), workers=2)` (it takes a while). Does dropout still help, and does the best
#    rate move?
# 3. Add dropout on the inputs. `lesson.digits_curves` trains smaller, faster runs (64-192-192-10,
#    80 epochs) and takes `p_drop` values that are tuples such as `(0.2, 0.5, 0.5)`, one rate per
#    dropout site. Which combination is best on this data?
# 4. Redo the derivation of section 6 for *standard* dropout (no scaling in training,
#    multiplication by `keep_prob` at test time). Which penalty do you get?
# 5. Compare dropout with early stopping alone: is the lowest validation error at `p_drop` = 0 (the
#    star) better or worse than the final error at 0.5?

# %% [markdown] id="f4abe49e9338"
# # 06 · Monte Carlo dropout: uncertainty from dropout at test time
#
# **Learning goals.** After this notebook you can
#
# 1. state what Gal & Ghahramani's reading of dropout as approximate Bayesian inference
#    approximates, and what it leaves out;
# 2. implement MC prediction (the mean and spread of S stochastic forward passes) with correct
#    use of the random generator;
# 3. read the uncertainty of a regression network: where it grows, and what it does not include;
# 4. compute the predictive entropy and the mutual information of a classifier and use them to
#    set aside the inputs it is unsure of;
# 5. measure calibration (reliability diagram, expected calibration error) and compare MC
#    averaging with the deterministic weight-scaled network as the number of samples grows;
# 6. explain why the MC average is taken over probabilities, not logits.
#
# **Convention.** `p_drop` is the probability that a unit is **dropped**, `keep_prob = 1 - p_drop`,
# and a mask is `True` where a unit is kept. Gal & Ghahramani (2016) write $p_i$ for the
# probability that their Bernoulli variable is 1, that is that a unit of layer $i$ is **kept**:
# their $p_i$ is our `keep_prob`. Entropies are in nats (natural logarithm).

# %% id="151f6a9b2ac2"
import numpy as np
import matplotlib.pyplot as plt
import ipywidgets as widgets
from functools import partial

from course_lib import mc
from course_lib.nn import softmax
from course_lib.lessons import nb06_mc_dropout as lesson
from course_lib.lessons.widgets import live_figure
from autograder.exercises import check, hint

# %% [markdown] id="44cd486f" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("mc_predict")` gives a first hint for that exercise; call it again for a more specific one
# (two or three per exercise). Hints are not graded, and they never give the answer away.

# %% [markdown] id="2c29aa317868"
# ## 1. What dropout at test time approximates, and what it does not
#
# A Bayesian network does not pick one set of weights $W$: it keeps the posterior
# $p(W \mid \mathcal D)$ given the data $\mathcal D$ and predicts by averaging over it,
#
# $$p(y \mid x, \mathcal D) = \int p(y \mid x, W)\, p(W \mid \mathcal D)\, dW .$$
#
# Neither the posterior nor the integral is tractable for a neural network. Gal & Ghahramani
# (2016) showed that a network trained with dropout (before every weight layer) and L2 weight
# decay can be read as an approximation of both, in three steps.
#
# **Approximated, step 1: the posterior is replaced by a dropout distribution.** Let $q_M(W)$ be
# the distribution of the weights *as dropout sees them*: for each weight matrix $M_i$ (rows =
# input units, as in `x @ W`), draw $z_{ij} \sim \text{Bernoulli}(\text{keep\_prob}_i)$ and set
# $W_i = \text{diag}(z_i)\, M_i$, so dropping input unit $j$ zeroes row $j$. The only free
# parameters of $q$ are the matrices $M_i$ (and the biases); `keep_prob` is fixed.
#
# **Approximated, step 2: training fits $q$ to the posterior.** They show that the dropout loss
# plus weight decay is, up to a constant, the variational objective whose minimum makes
# $\mathrm{KL}(q_M \,\|\, p(W \mid \mathcal D))$ smallest, for a Gaussian prior on the weights
# (with a length-scale $l$ you choose) and, in regression, Gaussian noise of precision
# $\tau = \text{keep\_prob}\, l^2 / (2 N \lambda)$, where $N$ is the number of training points and
# $\lambda$ the weight-decay coefficient of their objective (mean loss $+ \lambda \sum_i \lVert W_i
# \rVert^2$).
#
# **Approximated, step 3: the integral is replaced by a Monte Carlo average.** Sample $S$ masks,
# i.e. $S$ weight sets $\hat W_s \sim q$, and average:
#
# $$p(y \mid x, \mathcal D) \approx \int p(y \mid x, W)\, q_M(W)\, dW \approx \frac1S \sum_{s=1}^S
#   p(y \mid x, \hat W_s).$$
#
# That is **MC dropout**: leave dropout on at test time and average $S$ forward passes. The
# usual deterministic prediction, *weight scaling*, instead runs the network once with the mean
# weights $\mathbb E_q[W_i] = \text{keep\_prob}_i M_i$ (with inverted dropout: the network as
# trained, dropout off). That equals the average over masks only where the output is linear in
# the weights, which a deep network never is.
#
# **In PyTorch**, do not turn dropout back on with `model.train()`: that also switches every
# BatchNorm layer to the statistics of the test batch and updates its running averages with
# them. Switch on the dropout modules only:
#
# ```python
# model.eval()
# for module in model.modules():
#     if isinstance(module, torch.nn.Dropout):  # add Dropout1d/2d/3d if the model has them
#         module.train()
# ```
#
# **Not approximated, or left out entirely:**
#
# * **The width of $q$ is not learned.** `p_drop` is a hyperparameter, so the spread of the
#   "posterior" is set by you, not by the data: a true posterior narrows as $N$ grows, $q$ does
#   not unless you retune `p_drop` (concrete dropout, Gal, Hron & Kendall 2017, learns it).
# * **The family is tiny.** Whole rows switch off together, independently across rows and
#   layers, and each weight's spread is tied to its mean. Minimising $\mathrm{KL}(q \,\|\, p)$ over
#   such a family prefers a $q$ that is too narrow where it cannot match $p$.
# * **The equivalence itself needs a patch.** The KL divergence of a Bernoulli spike from a
#   Gaussian prior is infinite; the derivation replaces each spike with a narrow Gaussian and
#   drops a term that grows without bound as it narrows (Hron, Matthews & Ghahramani 2018). The
#   link between dropout training and variational inference is a motivation, not an identity.
# * **The noise in the targets.** In regression the predictive variance is
#   $\tau^{-1} + \mathrm{Var}_q[f(x)]$. The spread of the masks gives the second term only;
#   $\tau$ has to come from elsewhere (the formula above needs $l$, which you choose).
#
# Only step 3 has an error you control: it shrinks like $1/\sqrt S$. Everything else is a
# modelling choice whose quality has to be checked on data, which is what this notebook does.

# %% [markdown] id="9f775edd04ea"
# ## 2. Exercise: MC prediction
#
# Write `mc_predict(predict_fn, X, n_samples, *, rng)`. `predict_fn(X, rng)` is **one**
# stochastic forward pass: it draws a fresh dropout mask from the generator it gets and returns
# one prediction (class probabilities, or regression values). Your function must
#
# * call `predict_fn(X, rng)` exactly `n_samples` times, passing the `rng` it received (not a new
#   generator, not a copy: a copy would draw the same mask every time);
# * return the mean over the samples and their standard deviation with `ddof=0`, both shaped like
#   one prediction;
# * average the outputs themselves: for a classifier they are probabilities, and the mean of
#   the probabilities is the MC estimate of $p(y \mid x, \mathcal D)$ (section 7 shows why not
#   logits);
# * raise `ValueError` naming `n_samples` when `n_samples < 1`.
#
# The checks give your function a small dropout network as `predict_fn`, record every mask it
# draws, and compare your mean and standard deviation with those of the recorded predictions.
#
# **Points** (4): 3 for the mean and the standard deviation, 1 for refusing a bad `n_samples` with
# `ValueError`.

# %% id="mc-predict-solution" nbgrader={"grade": false, "grade_id": "mc_predict_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mc_predict(predict_fn, X, n_samples, *, rng):
    """Monte Carlo prediction: mean and standard deviation of ``n_samples`` stochastic passes.

    Parameters
    ----------
    predict_fn : callable ``predict_fn(X, rng) -> ndarray``
        One stochastic forward pass. It draws a fresh dropout mask from ``rng`` (each unit
        dropped with probability p_drop, kept with keep_prob = 1 - p_drop). For a classifier it
        returns class probabilities.
    X : ndarray
        The inputs, passed unchanged to every call.
    n_samples : int >= 1
        Number of forward passes (masks), S.
    rng : numpy.random.Generator
        Passed to every call of ``predict_fn``, so that each call draws a new mask.

    Returns
    -------
    mean, std : ndarrays shaped like one prediction
        The average of the S predictions and their standard deviation (ddof=0).

    Raises
    ------
    ValueError
        If n_samples < 1 (the message names n_samples).
    """
    ### BEGIN SOLUTION
    if n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples}")
    samples = np.stack([np.asarray(predict_fn(X, rng)) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)
    ### END SOLUTION

# %% id="mc-predict" nbgrader={"grade": true, "grade_id": "mc_predict", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check("mc_predict", mc_predict)
### BEGIN HIDDEN TESTS
check("mc_predict", mc_predict, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="6ea4ecbbaf5e"
# ## 3. Regression: where the uncertainty grows
#
# `course_lib.data.gap_regression_toy` gives 80 noisy points of $\sin 2x + x/3$ (noise standard
# deviation 0.1) on $[-3, 3]$, with no data in the gap $(-0.75, 1.25)$. We train a 1-64-64-1
# ReLU network with `p_drop = 0.1` on both hidden layers (not on the single input), weight decay
# (the Gaussian prior of step 2) and max-norm, then draw 200 masks.
#
# One detail matters for the picture. A framework's dropout draws a separate mask for every row
# of a batch, which is fine for the mean and spread at each $x$ separately, but a curve drawn
# through such predictions mixes many networks. Here every sample is one **thinned network**
# (`mc.thinned_network`: rows of each weight matrix zeroed by one mask, the rest scaled by
# $1/\text{keep\_prob}$) evaluated on the whole grid, so each thin line below is one function
# $f(\cdot\,; \hat W_s)$ drawn from $q$.
#
# Move the slider: with few masks the band is ragged and can even shrink; it settles as $S$
# grows. The right panel shows the MC standard deviation along $x$ and its mean in three regions.

# %% id="d07097999162" tags=["demo"]
toy = lesson.fit_toy_regression(p_drop=0.1, seed=1)
print(f"trained in {toy.seconds:.1f} s; training RMSE of the weight-scaled net: "
      f"{toy.train_rmse:.3f} (noise std {toy.noise})")
bands = live_figure(partial(lesson.draw_regression_bands, toy), {
    "n_samples": widgets.IntSlider(value=200, min=1, max=len(toy.samples), step=1,
                                   description="masks S"),
})

# %% id="1a49efc4636c" tags=["demo"]
region_std = toy.region_std(200)
for name, value in region_std.items():
    print(f"mean MC std {name:>16}: {value:.3f}  "
          f"({value / region_std['on the data']:.1f} x the value on the data)")

# %% [markdown] id="cd4e14e043fe"
# In our run (seed 1) the mean standard deviation is 0.118 on the data, 0.285 inside the gap
# (2.4 times as much) and 0.452 beyond the data (3.8 times), where it keeps growing with the
# distance. The growth inside the gap is the robust part: the masks pin every thinned network
# to the data on both sides, and between them they are free to disagree. Beyond the data a
# ReLU network extrapolates linearly, and how much the thinned networks' slopes differ depends
# on which units are active there: train with other seeds (further study 1) and you may meet
# runs where one side stays narrow, because the few units still active there give every
# thinned network nearly the same slope.
#
# Now the uncertainty that is *not* there. Draw fresh noisy points from the same law and count
# how many fall inside the band $\text{mean} \pm 2\,\text{std}$:

# %% id="21374df8c037" tags=["demo"]
coverage = lesson.band_coverage(toy, 200)
print(f"fresh observations inside mean ± 2 std: {100 * coverage['model only']:.1f}% "
      "(a 95% band would hold 95%)")

# %% [markdown] id="297f4c6e8a7c"
# **In two sentences:** why does the band hold far fewer than 95% of new observations, and what
# would you add to it?

# %% [markdown] id="explain-band-coverage" nbgrader={"grade": true, "grade_id": "explain_band_coverage", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The band is the spread of the *function* across dropout masks (the model's uncertainty,
# Var_q[f(x)]); new observations also carry the noise of the targets (std 0.1 here), which no
# mask knows about, and on the data the model's spread is about as small as that noise. Adding
# the noise variance, mean ± 2·sqrt(std² + τ⁻¹) with τ⁻¹ = 0.1² (or τ⁻¹ estimated from
# held-out residuals), brings the coverage close to 95%.

# %% id="e212910eeaba" tags=["demo"]
print(f"with the noise variance added, mean ± 2 sqrt(std² + 0.1²) holds "
      f"{100 * coverage['model + noise']:.1f}% of fresh observations")

# %% [markdown] id="55cd8877c869"
# The remaining shortfall is the fit's own error (the mean misses the true function by more
# than the masks' spread in places) together with a $q$ whose width is set by `p_drop`, not by
# the data.
#
# ## 4. Classification: predictive entropy and mutual information
#
# On the digits, each mask gives a probability vector $p_s = p(y \mid x, \hat W_s)$ over the 10
# classes and the MC prediction is their mean $\bar p = \frac1S \sum_s p_s$. Two numbers
# summarise its uncertainty:
#
# * the **predictive entropy** $H[\bar p] = -\sum_k \bar p_k \log \bar p_k$: 0 for a one-hot
#   prediction, $\log 10 \approx 2.30$ for a uniform one. It is high whenever the prediction is
#   unsure, for whatever reason;
# * the **mutual information** between the label and the weights (BALD),
#   $\mathrm{MI} = H[\bar p] - \frac1S \sum_s H[p_s]$. Subtracting the average entropy of the
#   individual samples leaves only the part that comes from the samples **disagreeing**: MI is 0
#   when every mask predicts the same vector, even a very unsure one (an ambiguous digit that all
#   thinned networks find ambiguous), and large when each mask is confident about a different
#   class. It is the *epistemic* part of the uncertainty, the part that more data would reduce.
#
# MI $\ge 0$ always, because the entropy is concave.
#
# First the network: 64-256-256-10 with `p_drop = 0.5` on both hidden layers (none on the
# pixels), trained on 1000 digits for 50 epochs; then 100 masks on the 500 test digits and on
# the same digits turned by 90°, which look like nothing in the training set.

# %% id="738e171ae3ca" tags=["demo"]
digits = lesson.fit_digits(p_drop=(0.0, 0.5, 0.5), seed=0)
print(f"trained and sampled in {digits.seconds:.1f} s")
y_test, weight_scaled = digits.y_test, digits.weight_scaled_probs
print(f"test error: weight scaling {100 * mc.error_rate(weight_scaled, y_test):.1f}%, "
      f"MC average of 100 masks {100 * mc.error_rate(digits.mc_probs(100), y_test):.1f}%")

# %% [markdown] id="169eecae346b"
# ### Exercise: predictive entropy
#
# Write `predictive_entropy(probs)`: the entropy of each probability vector along the **last**
# axis, in nats, for any leading shape (a single vector gives one number). A probability of 0
# contributes 0 ($0 \log 0 = 0$), not NaN.

# %% id="predictive-entropy-solution" nbgrader={"grade": false, "grade_id": "predictive_entropy_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def predictive_entropy(probs):
    """Entropy -sum_k p_k log p_k of each probability vector along the last axis (nats).

    Parameters
    ----------
    probs : ndarray, shape (..., K)
        Probability vectors along the last axis (non-negative, summing to 1).

    Returns
    -------
    ndarray of shape probs.shape[:-1] (a float, or 0-d array, for a single vector)
        Zero probabilities contribute 0 (0 log 0 = 0).

    Nothing needs to be raised: the checks pass valid probability vectors only.
    """
    ### BEGIN SOLUTION
    probs = np.asarray(probs, dtype=np.float64)
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return -np.sum(probs * logs, axis=-1)
    ### END SOLUTION

# %% id="predictive-entropy" nbgrader={"grade": true, "grade_id": "predictive_entropy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("predictive_entropy", predictive_entropy)
### BEGIN HIDDEN TESTS
check("predictive_entropy", predictive_entropy, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="45d9b9729284"
# ### Exercise: mutual information
#
# Write `mutual_information(prob_samples)` for `prob_samples` of shape `(S, N, K)`: S samples
# (masks), N inputs, K classes. Return shape `(N,)`: the entropy of the mean over the samples
# minus the mean of the samples' entropies, in nats. You may use your `predictive_entropy`.

# %% id="mutual-information-solution" nbgrader={"grade": false, "grade_id": "mutual_information_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mutual_information(prob_samples):
    """Mutual information between the label and the weights, from MC samples (BALD).

    Parameters
    ----------
    prob_samples : ndarray, shape (S, N, K)
        Probability vectors of N inputs under S dropout masks.

    Returns
    -------
    ndarray, shape (N,)
        H[mean over samples] - mean over samples of H[sample], in nats (>= 0).

    Nothing needs to be raised: the checks pass valid probability samples only.
    """
    ### BEGIN SOLUTION
    prob_samples = np.asarray(prob_samples, dtype=np.float64)
    total = predictive_entropy(prob_samples.mean(axis=0))
    expected = predictive_entropy(prob_samples).mean(axis=0)
    return total - expected
    ### END SOLUTION

# %% id="mutual-information" nbgrader={"grade": true, "grade_id": "mutual_information", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("mutual_information", mutual_information)
### BEGIN HIDDEN TESTS
check("mutual_information", mutual_information, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="c86fa3269db9"
# The histograms use `course_lib.mc`'s versions of the same two functions. On upright test
# digits most of the mass sits near 0; on the rotated digits both measures spread out. Note
# the log scale of the counts.

# %% id="6f50e2fa9a0e" tags=["demo"]
fig = lesson.draw_uncertainty_histograms(digits)
plt.show()
auroc = lesson.rotation_detection_auroc(digits)
print("telling rotated from upright digits by each score (AUROC; 0.5 = chance, 1 = perfect):")
for name, value in auroc.items():
    print(f"  {name:>30}: {value:.3f}")

# %% [markdown] id="575b201eaf67"
# In our run the mutual information separates rotated from upright digits best (AUROC 0.73),
# the MC predictive entropy next (0.68), and the weight-scaled net's top probability not at all
# (0.46, below chance: it is on average *more* confident on the rotated digits than on the
# upright ones). The masks' disagreement is a signal that a single deterministic pass cannot
# produce. Rotated digits are a mild kind of novelty (a rotated 0 is still a 0, a rotated 6
# looks like nothing in particular), so no score separates them perfectly.
#
# And these are the test digits on which the masks disagree most:

# %% id="fb2d508c96d6" tags=["demo"]
fig = lesson.draw_most_uncertain(digits)
plt.show()

# %% id="3ffae9c8" tags=["demo"]
# Notebook 01's playground with MC dropout: the left boundary is the average of 30 thinned
# networks (one mask for the whole plane each, as in section 3), the second one that of the twin
# trained without dropout. Press Play, then move "MC samples" to 0 (weight scaling) and back:
# where do the two ways of predicting with the same network differ?
from course_lib.lessons.playground import Settings
from course_lib.lessons.playground_widget import PlaygroundWidget

display(PlaygroundWidget(Settings(mc_samples=30)))

# %% [markdown] id="4d37ee457772"
# ## 5. Rejection, calibration and the number of samples
#
# Three uses of the MC samples, on one figure whose slider sets the number of masks $S$ (the
# first $S$ of the 100 drawn once, so the slider answers at once):
#
# * **Left: calibration.** Group the test digits by the confidence of the prediction (its top
#   probability, bins of width 0.1) and plot each bin's accuracy against its mean confidence. A
#   calibrated model sits on the diagonal; above it, the model is more often right than it
#   claims (underconfident). The **expected calibration error** is the average gap, weighted by
#   the bins' sizes:
#   $\mathrm{ECE} = \sum_b \frac{n_b}{N}\,\lvert \mathrm{acc}_b - \mathrm{conf}_b \rvert$.
# * **Middle: MC averaging vs weight scaling as $S$ grows.** Test error and negative
#   log-likelihood (NLL, the mean of $-\log \bar p_{y}$) of the MC average of the first $S$
#   masks; dashed lines are the weight-scaled network.
# * **Right: rejection.** Set aside the fraction of test digits the model is least sure of and
#   measure the accuracy on the rest, ranking by the MC predictive entropy, by the MI, or by the
#   weight-scaled net's top probability (the usual deterministic baseline).

# %% id="1b884de48c75" tags=["demo"]
metrics = live_figure(partial(lesson.draw_digits_metrics, digits), {
    "n_samples": widgets.IntSlider(value=100, min=1, max=len(digits.prob_samples), step=1,
                                   description="masks S"),
})

# %% id="47f7dd1cb24a" tags=["demo"]
def scores(probs):
    return (f"{100 * mc.error_rate(probs, y_test):6.1f}%   {mc.nll(probs, y_test):.4f}"
            f"   {mc.expected_calibration_error(probs, y_test):.4f}")

print("                 error      NLL      ECE")
for S in (1, 3, 10, 30, 100):
    print(f"MC, S = {S:>3}    {scores(digits.mc_probs(S))}")
print(f"weight scaling {scores(weight_scaled)}")
rejection = lesson.rejection_curves(digits, 100)
for fraction in (0.05, 0.10):
    index = int(np.argmin(np.abs(lesson.REJECTION_FRACTIONS - fraction)))
    print(f"accuracy after setting aside {fraction:.0%}: " + ", ".join(
        f"{name} {100 * curve[index]:.1f}%" for name, curve in rejection.items()))
n_errors = {name: int(np.count_nonzero(probs.argmax(axis=1) != y_test))
            for name, probs in (("MC", digits.mc_probs(100)), ("weight scaling", weight_scaled))}
print(f"errors among the {len(y_test)} test digits: {n_errors}")

# %% [markdown] id="0f6d929af679"
# What the table says, on this network and this split (our run: the numbers above):
#
# * **One mask is a worse network.** A single thinned network errs on 5.2% of the test digits,
#   against 2.0% for the weight-scaled one; the MC average closes most of that gap within ten
#   masks (3.0%) and matches weight scaling at a hundred (2.0%). MC averaging is not an accuracy
#   gain here, and it costs $S$ forward passes.
# * **Calibration is an empirical question.** The MC average is *less* confident than it is
#   accurate: its points sit above the diagonal, its ECE is 0.035 against weight scaling's
#   0.012, and its NLL 0.102 against 0.078. Notice that the ECE *grows* with $S$ (0.022 for one
#   mask): each thinned network is about as confident as it is accurate, and averaging removes
#   their errors faster than it restores their confidence. That is the first item of the "not
#   approximated" list at work: `p_drop = 0.5` sets the width of $q$, and for 1000 training
#   digits that width is more than the data warrant (further study 2 varies it).
# * **Rejection.** With ten errors among 500 digits, every ranking leaves at most three of them
#   after setting aside 5% of the digits, and a difference of one or two digits between the
#   curves is noise. Where MC dropout clearly pays is the rotated digits of section 4: inputs
#   unlike the training data, where the deterministic network has no way to say it is lost.

# %% [markdown] id="choose-mc-samples-intro"
# ### Exercise: how many masks?
#
# The MC prediction is a mean of $S$ stochastic predictions, so it is itself random: draw
# another $S$ masks and it moves. How many masks are enough is a choice you make for a purpose,
# and this exercise asks you to make it. Suppose one stochastic prediction (say, the probability
# of the predicted class) has standard deviation `prediction_std` over the masks, and you want
# the MC mean to have a standard error of at most `target_se`.
#
# Write `choose_mc_samples(prediction_std, target_se)` returning the number of masks $S$ you
# would use. The masks are independent, so work out the standard error of a mean of $S$ of
# them. Any whole $S \ge 1$ is accepted if
#
# * its standard error is at or below `target_se` (fewer masks miss the target), and
# * it is at most **twice** the fewest masks that meet the target (a round number or a margin is
#   fine; far more costs forward passes for nothing).
#
# The hidden checks ask about several situations, including a `prediction_std` of 0.
#
# **Points** (2) for the choice, and 2 for defending it below.

# %% id="choose-mc-samples-solution" nbgrader={"grade": false, "grade_id": "choose_mc_samples_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_mc_samples(prediction_std, target_se):
    """The number of MC dropout masks to average.

    Parameters
    ----------
    prediction_std : float >= 0
        Standard deviation of one stochastic prediction over the dropout masks.
    target_se : float > 0
        The largest standard error you accept for the mean of the predictions.

    Returns
    -------
    int >= 1
        A number of masks whose standard error meets target_se, at most twice the fewest that do.
    """
    ### BEGIN SOLUTION
    import math

    return max(1, math.ceil((prediction_std / target_se) ** 2))
    ### END SOLUTION

# %% id="choose-mc-samples" nbgrader={"grade": true, "grade_id": "choose_mc_samples", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_mc_samples", choose_mc_samples)
### BEGIN HIDDEN TESTS
check("choose_mc_samples", choose_mc_samples, hidden=True)
### END HIDDEN TESTS

# %% id="choose-mc-samples-demo" tags=["demo"]
# Your choice for the digits above: the spread of the predicted class's probability over the
# 100 masks, for the most uncertain test digit, and a target standard error of 0.01.
top = digits.mc_probs(100).argmax(axis=1)
spread = digits.prob_samples[:, np.arange(len(top)), top].std(axis=0)
print(f"largest spread over the test digits: {spread.max():.3f}")
try:
    print(f"your choice: {choose_mc_samples(float(spread.max()), 0.01)} masks "
          "for a standard error of 0.01")
except NotImplementedError:
    print("(write choose_mc_samples above to see your choice)")

# %% [markdown] id="choose-mc-samples-prompt"
# **In two or three sentences:** defend your rule. Why does halving the target standard error
# cost more than twice the masks, and why is the spread of one prediction, not the spread of
# the data, what sets the number?

# %% [markdown] id="explain-mc-samples" nbgrader={"grade": true, "grade_id": "explain_mc_samples", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The MC prediction is a mean of S independent draws, so its standard error is
# prediction_std / sqrt(S); meeting target_se needs S >= (prediction_std / target_se)^2,
# rounded up, and halving the target multiplies S by four. What varies from one draw to the
# next is the mask, so the spread of one prediction over the masks sets S; the data only enter
# through that spread, which is large for uncertain inputs and zero where every mask agrees
# (then one mask is enough).

# %% [markdown] id="mc-averaging-precisely"
# ## 6. MC averaging vs weight scaling, precisely
#
# Why does weight scaling do so well? For the last layer it is exact in a specific sense: with
# inverted dropout on the last hidden layer $h$, the logits
# $z = (m \odot h / \text{keep\_prob})\, W + b$ are linear in the mask, so
# $\mathbb E_m[z] = hW + b$: the weight-scaled logits are the average logits over that layer's
# masks, and weight scaling returns $\text{softmax}(\mathbb E[z])$.
# Averaging logits and then applying the softmax is the normalised **geometric** mean of the
# samples' distributions, $\bar p^{\text{geo}}_k \propto \exp\big(\frac1S \sum_s \log p_{s,k}\big)$,
# because $\log p_s$ and $z_s$ differ by a constant per sample. So weight scaling approximates
# the geometric mean (exactly, over all masks weighted by their probability, when dropout sits
# only on the input of the softmax layer; Hinton et al. 2012); MC dropout computes the
# arithmetic mean (a mixture). The table compares
# the three on the test digits, plus the mean entropy each gives the rotated digits:

# %% id="0f18ba5651dc" tags=["demo"]
comparison = lesson.averaging_comparison(digits)
print(f"{'':>24} {'error':>7} {'NLL':>7} {'ECE':>7} {'mean top p':>11} {'entropy, rotated':>17}")
for name, row in comparison.items():
    print(f"{name:>24} {100 * row['error']:6.1f}% {row['nll']:7.4f} {row['ece']:7.4f} "
          f"{row['confidence']:11.3f} {row['rotated entropy']:17.3f}")

# %% [markdown] id="3128c8864bc8"
# The softmax of the mean logits lands next to weight scaling in every column, as the
# argument predicts, and both are far surer of themselves on the rotated digits than the mean of
# the probabilities is.
#
# ## 7. Why average probabilities, not logits
#
# Two masks, two classes. One thinned network is very sure of class 0, the other fairly sure
# of class 1:

# %% id="8c82d08bdc73" tags=["demo"]
logit_samples = np.array([[4.0, 0.0], [0.0, 1.0]])
prob_samples = softmax(logit_samples)
print("each sample's probabilities:", np.round(prob_samples, 3).tolist())
print("mean of probabilities:      ", np.round(prob_samples.mean(axis=0), 3).tolist())
print("softmax of mean logits:     ", np.round(softmax(logit_samples.mean(axis=0)), 3).tolist())
print(f"mutual information of the two samples: "
      f"{mc.mutual_information(prob_samples[:, None, :])[0]:.3f} nats")

# %% [markdown] id="e1d93f93bcda"
# The mixture says "probably 0, but the masks disagree" (0.625 / 0.375); the geometric mean says
# "0, with 82%": the confident sample outvotes the other, and the disagreement is gone. Three
# reasons to average probabilities:
#
# 1. **It is the quantity the theory names.** The predictive distribution is
#    $\mathbb E_q[p(y \mid x, W)]$, an expectation of probabilities. The mean of $S$ probability
#    samples is an unbiased estimate of it that converges as $S$ grows; the softmax of the mean
#    logits converges to $\text{softmax}(\mathbb E_q[z])$, a different number
#    ($\mathbb E[\text{softmax}(z)] \ne \text{softmax}(\mathbb E[z])$, the softmax is not linear).
# 2. **It keeps the disagreement.** A mixture of confident but conflicting samples is uncertain;
#    a geometric mean lets the most confident sample dominate. The mutual information, the
#    epistemic part, is defined on the probability samples and has no logit counterpart.
# 3. **If you want the geometric mean, you already have it for free**: weight scaling gives
#    almost the same numbers in one pass (section 6), so averaging $S$ logits buys nothing.
#
# Whether the mixture also scores a better log-likelihood depends on whether $q$ has the right
# width; section 5 showed a network where it does not. The reasons above are about what the
# average *means*, not about a guarantee.

# %% [markdown] id="e7a0ccc7fb3d"
# **In two sentences:** a colleague computes MC dropout predictions by averaging the logits of
# 50 masks and applying a softmax. What does that estimate, and what do they lose?

# %% [markdown] id="explain-average-probabilities" nbgrader={"grade": true, "grade_id": "explain_average_probabilities", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Softmax of the mean logits is the normalised geometric mean of the masks' distributions, which
# converges to softmax(E_q[logits]), essentially what weight scaling gives in one pass, and not
# the MC estimate E_q[softmax(logits)] of the predictive distribution. It lets the most confident
# mask dominate, so disagreement between masks (the epistemic uncertainty that the mutual
# information measures, e.g. on unfamiliar inputs) disappears from the prediction.

# %% [markdown] id="9f1ea03baffe"
# ## Summary
#
# * Gal & Ghahramani read dropout + weight decay as variational inference with the dropout
#   distribution $q$ over weights; MC dropout averages $S$ forward passes with fresh masks to
#   estimate $\int p(y \mid x, W) q(W) dW$. Only that last step has a controlled error
#   ($1/\sqrt S$); the width of $q$ is fixed by `p_drop`, the family is small, and the target
#   noise is not included.
# * `mc_predict` needs one call per sample with the same generator, the mean of the outputs and
#   their ddof=0 standard deviation.
# * In 1D regression the spread grows inside the gap (2.4 times its value on the data in our
#   run) and usually beyond the data; the band covers new observations only once the noise
#   variance $\tau^{-1}$ is added (72% without it, 90% with it).
# * Predictive entropy measures all uncertainty; mutual information only the masks'
#   disagreement. On digits, MC averaging matched weight scaling's error with a hundred masks
#   but was less well calibrated (`p_drop = 0.5` makes $q$ too wide); its advantage was on
#   inputs unlike the training data, which its mutual information flagged and weight scaling
#   did not.
# * Average probabilities, not logits: the mean of logits is the geometric mean that weight
#   scaling already approximates, and it hides disagreement.
#
# ## Further study
#
# 1. Retrain the regression toy with `seed=0 ... 5` (`lesson.fit_toy_regression(seed=s)`) and
#    tabulate `toy.region_std(200)`. Which ratio is stable across seeds, the gap's or the one
#    beyond the data? Find a seed where one side stays narrow and look at which hidden units
#    are active there (`toy.model.hidden_activations(toy.grid[:, None])`).
# 2. Refit the digits with `p_drop=(0, 0.1, 0.1)` and `(0, 0.3, 0.3)` and compare the ECE and
#    NLL of the MC average with weight scaling. How does the gap between them move with
#    `p_drop`? Add input dropout (`p_drop=(0.1, 0.3, 0.3)`) and look again.
# 3. Compute the predictive standard deviation with Gal & Ghahramani's $\tau$ for a length-scale
#    $l$ of your choice and the weight decay used here (`course_lib.nn.train` adds
#    $\tfrac{\text{weight\_decay}}{2}\lVert W\rVert^2$, so $\lambda = \text{weight\_decay}/2$).
#    Which $l$ gives 95% coverage?
# 4. Replace the rotated digits by pure noise images: with `noise = rng.random((500, 64))`, draw
#    `mc.mc_predict(lambda X, rng: digits.model.predict_proba(X, training=True, rng=rng), noise,
#    100, rng=rng, return_samples=True)` and compare the entropy and MI with section 4. Which
#    score detects noise best, and why might the weight-scaled net's top probability fail?

# %% [markdown] id="7ec6ee6687ac"
# # 02 · Bernoulli and Binomial: counting the dropped units
#
# **Learning goals.** After this notebook you can
#
# 1. model the fate of one unit as a Bernoulli trial and sample keep-masks that pass a
#    statistical test;
# 2. explain why the number of dropped units in a layer follows a Binomial law, and compute its
#    probabilities exactly, for layers of thousands of units, without overflow;
# 3. explain why "exactly 512 of 1024 dropped" is unlikely even though 512 is the most likely count;
# 4. say how tightly the dropped count concentrates around $n\cdot p_{drop}$ (its relative spread
#    falls as $1/\sqrt n$), and compute a central range that holds it 95% of the time;
# 5. translate every formula between the "p = keep" and "p = drop" conventions;
# 6. choose how wide a layer must be for its dropped fraction to stay near `p_drop`, with the
#    exact law rather than a normal approximation, and defend the choice.
#
# **Convention.** In this course `p_drop` is the probability that a unit is **dropped** and
# `keep_prob = 1 - p_drop`, as in PyTorch's `nn.Dropout(p)` and Keras's `Dropout(rate)`. A mask is a
# boolean array with `True` = kept. Srivastava et al. (2014) and many lecture notes write $p$ for
# the probability of *keeping* a unit; section 10 has a conversion table.

# %% id="7e5401adeac1"
import math

import numpy as np
import ipywidgets as widgets

from course_lib import analysis, masks
from course_lib.lessons import nb02_bernoulli_binomial as lesson
from course_lib.lessons.widgets import live_figure
from autograder.exercises import check, hint

# %% [markdown] id="fcdba5b2" tags=["hints"]
# **Checks and hints.** Each exercise ends with a cell that calls `check("name", function)`: it runs
# the checks on your function and, when one fails, says what looks wrong. Stuck?
# `hint("sample_mask")` gives a first hint for that exercise; call it again for a more specific one
# (two or three per exercise). Hints are not graded, and they never give the answer away.

# %% [markdown] id="d3474ae63859"
# ## 1. One unit is a biased coin
#
# In one training step, dropout flips a coin for every unit: with probability `keep_prob` the unit
# is kept ($m = 1$), with probability `p_drop` it is dropped ($m = 0$). That is a **Bernoulli**
# variable,
#
# $$m \sim \text{Bernoulli}(\text{keep\_prob}):\qquad P(m = 1) = \text{keep\_prob},\quad
#   \mathbb{E}[m] = \text{keep\_prob},\quad \operatorname{Var}[m] = \text{keep\_prob}\cdot p_{drop}.$$
#
# The variance is largest, $1/4$, at `p_drop = 0.5`: that is the rate at which a unit's presence is
# least predictable. Here are 100 000 coin flips for one unit at `p_drop = 0.3`:

# %% id="1d2e010ce63e" tags=["demo"]
rng = np.random.default_rng(0)
flips = masks.sample_mask(100_000, 0.3, rng=rng)
print(f"kept in {flips.mean():.4f} of the draws   (keep_prob = 0.7)")
print(f"variance of m: {flips.var():.4f}           (keep_prob * p_drop = {0.7 * 0.3:.4f})")

# %% [markdown] id="5bdbab3e0e1a"
# A **mask** is one coin per unit. In a mini-batch every example gets its own row of coins. Move
# `p_drop`, and move `draw` to sample new masks: the rows differ, their dropped counts differ, and
# there are no stripes or blocks, because every cell is its own coin.

# %% id="9bfb7601cc14" tags=["demo"]
mask_picture = live_figure(lesson.draw_masks, {
    "p_drop": widgets.FloatSlider(value=0.5, min=0.0, max=0.95, step=0.05, description="p_drop"),
    "seed": widgets.IntSlider(value=0, min=0, max=30, description="draw"),
})

# %% [markdown] id="a4d0209193a2"
# ## 2. Exercise: sample a keep-mask
#
# Write `sample_mask(shape, p_drop, *, rng)`. It returns a **boolean** array of the given shape in
# which every entry is `True` (kept) with probability `keep_prob = 1 - p_drop`, independently of all
# the others, drawn from the generator `rng` only (never `np.random.*`). A float array of 0.0 and
# 1.0 is **not** accepted: the course's masks are `bool`, which makes it impossible to confuse a
# mask with a scaled mask. Raise `ValueError` when `p_drop` is not in `[0, 1)`.
#
# Hint: `rng.random(shape)` is uniform on $[0, 1)$, so `u < keep_prob` happens with probability
# exactly `keep_prob`, and a comparison already returns a boolean array.
#
# The checks count your kept entries and compare them with the Binomial law (a correct solution
# fails with probability below $10^{-9}$), check that rows and neighbouring units are independent,
# that the same seed gives the same mask, and that the number of dropped units varies between
# calls as it should.
#
# **Points** (3): 2 for the mask, 1 for refusing a bad `p_drop` with `ValueError`.

# %% id="sample-mask-solution" nbgrader={"grade": false, "grade_id": "sample_mask_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sample_mask(shape, p_drop, *, rng):
    """Draw a keep-mask: each entry is True (kept) with probability 1 - p_drop.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the mask.
    p_drop : float in [0, 1)
        Probability that an entry is dropped (keep_prob = 1 - p_drop).
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    mask : ndarray of bool, shape ``shape`` (``(shape,)`` for an int)
        True = kept. Entries are independent.

    Raises
    ------
    ValueError
        If p_drop is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    keep_prob = 1.0 - p_drop
    return rng.random(shape) < keep_prob
    ### END SOLUTION

# %% id="sample-mask" nbgrader={"grade": true, "grade_id": "sample_mask", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("sample_mask", sample_mask)
### BEGIN HIDDEN TESTS
check("sample_mask", sample_mask, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="c0856ef01eb7"
# ## 3. Units are independent
#
# Dropout flips a *separate* coin for every unit, so knowing that one unit was dropped tells you
# nothing about its neighbour: $P(\text{both kept}) = \text{keep\_prob}^2$. Measured over 200 000
# masks of two units at `p_drop = 0.3`:

# %% id="80af21c2daf8" tags=["demo"]
for name, value in lesson.pair_table(0.3).items():
    print(f"{name:>15}: {value:+.4f}")

# %% [markdown] id="1c977835fb8f"
# Independence is what makes the count of the next section Binomial. It is also what separates
# dropout from a tempting alternative, "drop exactly $n\cdot p_{drop}$ units, chosen at random"
# (a random permutation). That scheme fixes the count and couples the units: in a layer of 10 with
# exactly 5 dropped, two given units are both kept with probability
# $\frac{5}{10}\cdot\frac{4}{9} = 0.222$, not $0.5^2 = 0.25$. PyTorch, Keras and this course all
# flip independent coins; the self-check of `sample_mask` rejects the fixed-count scheme.
#
# ## 4. A layer: the dropped count is Binomial
#
# Take a layer of $n$ units and let $K = \sum_i (1 - m_i)$ be the number dropped. $K$ is a sum of
# $n$ independent Bernoulli($p_{drop}$) variables, so it is **Binomial**$(n, p_{drop})$:
#
# $$P(K = k) = \binom{n}{k}\, p_{drop}^{\,k}\, \text{keep\_prob}^{\,n-k},\qquad
#   \mathbb{E}[K] = n\,p_{drop},\qquad \operatorname{Var}[K] = n\,p_{drop}\,\text{keep\_prob}.$$
#
# ($p_{drop}^k \text{keep\_prob}^{n-k}$ is the probability of one particular mask with $k$ drops,
# and $\binom{n}{k}$ counts those masks.)
#
# Evaluating the formula naively fails long before $n = 1024$: the factorials and the binomial
# coefficient do not fit in a float, and the powers underflow.

# %% id="e64ba9c5e85c" tags=["demo"]
print(f"1024! has {len(str(math.factorial(1024)))} digits; the largest float is "
      f"{np.finfo(float).max:.3g}")
try:
    float(math.factorial(1024))
except OverflowError as error:
    print(f"float(1024!) -> OverflowError: {error}")
print(f"C(2000, 1000) has {len(str(math.comb(2000, 1000)))} digits: too large for a float too")
print(f"0.5 ** 1100 = {0.5 ** 1100}   (underflow: the true value is about 7e-332)")

# %% [markdown] id="7a18f3ea469d"
# The cure is to **add logarithms** instead of multiplying huge and tiny numbers:
#
# $$\log P(K = k) = \log n! - \log k! - \log (n-k)! + k \log p_{drop} + (n-k)\log \text{keep\_prob},$$
#
# with `math.lgamma(n + 1)` $= \log n!$, and to exponentiate only at the end, where the result is a
# modest number. (`scipy.stats.binom.pmf` does the same work for you, and is also an acceptable
# answer.)
#
# ## 5. Exercise: the probability of exactly k dropped units
#
# Write `prob_exactly_dropped(n, k, p_drop)`. It must be exact (no normal approximation), work for
# $n$ in the thousands and beyond, return `0.0` when `k` is outside $[0, n]$, handle `p_drop = 0`
# (nothing is ever dropped), and raise `ValueError` when `n < 0` or `p_drop` is not in `[0, 1)`.
#
# **Points** (3): 2 for the probabilities, 1 for refusing bad arguments with `ValueError`.

# %% id="prob-exactly-dropped-solution" nbgrader={"grade": false, "grade_id": "prob_exactly_dropped_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def prob_exactly_dropped(n, k, p_drop):
    """P(exactly k of n units are dropped) = C(n, k) p_drop^k (1 - p_drop)^(n - k).

    Parameters
    ----------
    n : int >= 0
        Units in the layer.
    k : int
        Number of dropped units; the probability is 0.0 for k outside [0, n].
    p_drop : float in [0, 1)
        Probability that a unit is dropped.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If n < 0 or p_drop is not in [0, 1).
    """
    ### BEGIN SOLUTION
    if n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n}")
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if not 0 <= k <= n:
        return 0.0
    if p_drop == 0.0:
        return 1.0 if k == 0 else 0.0
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    log_prob = log_comb + k * math.log(p_drop) + (n - k) * math.log1p(-p_drop)
    return math.exp(log_prob)
    ### END SOLUTION

# %% id="prob-exactly-dropped" nbgrader={"grade": true, "grade_id": "prob_exactly_dropped", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("prob_exactly_dropped", prob_exactly_dropped)
### BEGIN HIDDEN TESTS
check("prob_exactly_dropped", prob_exactly_dropped, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="07b76d1a2724"
# ## 6. The most likely count is unlikely
#
# A layer of 1024 units at `p_drop = 0.5` drops 512 units on average, and 512 is also its single
# most likely count. How often does it drop *exactly* 512?

# %% id="7c45ee1aed77" tags=["demo"]
law = analysis.dropped_count_distribution(1024, 0.5)
counts = np.arange(1025)
p_512 = analysis.prob_exactly_dropped(1024, 512, 0.5)
print(f"most likely count: {counts[np.argmax(law.pmf(counts))]}")
print(f"P(exactly 512 of 1024 dropped) = {p_512:.4f}")
print(f"P(496 <= K <= 528), within one sd = {law.cdf(528) - law.cdf(495):.3f}")

dropped = lesson.dropped_counts(1024, 0.5, 20_000, seed=1)
print(f"measured on 20 000 sampled masks: {np.mean(dropped == 512):.4f} drop exactly 512")

# %% [markdown] id="e15f1f300c81"
# About one step in forty. There is no contradiction: being the most likely count only means
# beating every *other single* count. The standard deviation is $\sqrt{1024\cdot 0.5\cdot 0.5} = 16$
# units, so the probability is shared by some sixty counts around 512: those from 481 to 543
# together hold 95% of it, and even the outermost of them is still 15% as likely as 512 itself.
# Near its peak the Binomial looks like a normal density, whose height is
# $1/(\sigma\sqrt{2\pi}) = 1/(16\cdot 2.507) = 0.0249$. Put in counting terms: of the $2^{1024}$
# equally likely masks, $\binom{1024}{512} \approx 4.5\cdot 10^{306}$ drop exactly half, which is
# only 2.5% of $2^{1024} \approx 1.8\cdot 10^{308}$.
#
# The peak falls as the layer grows, by half each time $n$ is multiplied by four:

# %% id="8d2d2a664fee" tags=["demo"]
for n in (16, 64, 256, 1024, 4096):
    peak = analysis.prob_exactly_dropped(n, n // 2, 0.5)
    print(f"n = {n:>4}: P(exactly n/2 dropped) = {peak:.4f}    "
          f"1 / (sd * sqrt(2 pi)) = {1 / math.sqrt(2 * math.pi * n * 0.25):.4f}")

# %% [markdown] id="24cc3c3c5959"
# **In two sentences:** 512 is the most likely number of dropped units in a layer of 1024 at
# `p_drop = 0.5`, yet a training step drops exactly 512 only 2.5% of the time. Why is that not a
# contradiction, and what *does* dropout guarantee about the count?

# %% [markdown] id="explain-most-likely-count" nbgrader={"grade": true, "grade_id": "explain_most_likely_count", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The count has a standard deviation of 16 units, so the probability is shared by about sixty
# counts near 512, each of the same order as 512; 512 beats each of them but holds only
# 1/(16·√(2π)) ≈ 2.5% by itself. What dropout guarantees is closeness, not equality: the count is
# within 481 to 543 (512 ± 31) in 95% of steps.

# %% [markdown] id="45927f7427ab"
# ## 7. Concentration: the relative spread shrinks as $1/\sqrt n$
#
# The spread of the count, $\sqrt{n\,p_{drop}\,\text{keep\_prob}}$, *grows* with $n$, but more
# slowly than its mean $n\,p_{drop}$. Relative to the mean,
#
# $$\frac{\operatorname{sd}[K]}{\mathbb{E}[K]} = \sqrt{\frac{\text{keep\_prob}}{n\,p_{drop}}}
#   \;\propto\; \frac{1}{\sqrt n},$$
#
# and the dropped **fraction** $K/n$ has standard deviation $\sqrt{p_{drop}\,\text{keep\_prob}/n}$.
# A wide layer drops almost exactly a fraction `p_drop` of its units in every step; a narrow one
# does not. Formula against 2000 sampled masks per width, at `p_drop = 0.5`:

# %% id="921411edd288" tags=["demo"]
print(f"{'n':>6} {'mean':>7} {'sd':>7} {'sd/mean':>8} {'measured sd/mean':>17}")
for row in lesson.spread_table(p_drop=0.5):
    print(f"{row.n:>6} {row.mean:>7.0f} {row.sd:>7.2f} {row.relative_spread:>8.4f} "
          f"{row.measured_relative_spread:>17.4f}")

# %% id="7d70229dd0e9" tags=["demo"]
concentration = lesson.draw_concentration(0.5)

# %% [markdown] id="ea9e70ed5ef9"
# Ten times more units, $\sqrt{10} \approx 3.2$ times narrower. At `p_drop = 0.5` the 95% central
# range of a 16-unit layer is 4 to 12 dropped units (a quarter to three quarters of the layer),
# that of a 1024-unit layer 481 to 543 (47% to 53%). So the strength of dropout itself fluctuates
# from step to step in small layers, one more reason to use little or no dropout there.
#
# Now explore the law yourself. The bars are the dropped counts of `n_layers` masks sampled with
# `course_lib.masks.sample_mask`; the black curve is the Binomial pmf; the dashed line is
# $n\cdot p_{drop}$ and the green band the 95% central range of the next section. The horizontal
# axis is the *fraction* of the layer dropped, $k/n$, the same for every width, and the heights
# are divided by the probability of the most likely count, so that every layer fits one picture;
# the exact numbers are listed at the right. Try a small layer
# ($n = 20$) at `p_drop = 0.1`: the law is visibly lopsided, and the range is not symmetric about
# the mean. Then try `n = 4000`: the same `p_drop`, a much narrower band relative to the mean.

# %% id="3afc584ced56" tags=["demo"]
counts_widget = live_figure(lesson.draw_dropped_counts, {
    "n": widgets.IntSlider(value=1024, min=10, max=4096, step=2, description="n"),
    "p_drop": widgets.FloatSlider(value=0.5, min=0.0, max=0.95, step=0.05, description="p_drop"),
    "n_layers": widgets.IntSlider(value=5000, min=100, max=10_000, step=100,
                                  description="n_layers"),
})

# %% [markdown] id="14a2383d6bbf"
# ## 8. Central ranges
#
# "The count is usually between lo and hi" needs a definition. With $K \sim$ Binomial$(n, p_{drop})$
# and $t = (1 - \text{coverage})/2$, the **central range** is
#
# * `lo` = the smallest $k$ with $P(K \le k) \ge t$, and
# * `hi` = the smallest $k$ with $P(K \le k) \ge 1 - t$.
#
# Then each tail outside $[\text{lo}, \text{hi}]$ has probability at most $t$, so the range holds
# $K$ with probability at least `coverage`; it is **central** (both tails are bounded, not just
# their sum) and **tight** (raising `lo` or lowering `hi` by one would put more than $t$ in a
# tail). Because $K$ is an integer, the coverage is usually a little *more* than asked: the
# 95% range of 1024 units at 0.5 is $[481, 543]$ and holds $K$ with probability 95.1%.
#
# The normal approximation $n p_{drop} \pm 1.96\,\text{sd}$ is fine for large layers and wrong by
# one for small or lopsided ones. For 20 units at `p_drop = 0.2` it gives $4 \pm 3.5$:

# %% id="1c4bb456a7e1" tags=["demo"]
small = analysis.dropped_count_distribution(20, 0.2)
print(f"exact 95% range: {analysis.dropped_count_range(20, 0.2)}")
print(f"normal approximation: ({4 - 1.96 * small.std():.2f}, {4 + 1.96 * small.std():.2f})")
print(f"P(K = 0) = {small.pmf(0):.4f} <= 0.025, so 0 may be left out of the range")
print(f"P(K > 7) = {small.sf(7):.4f}  > 0.025, so 8 must be in it")
print(f"1024 units at 0.5: {analysis.dropped_count_range(1024, 0.5)}, normal approximation "
      f"({512 - 1.96 * 16:.1f}, {512 + 1.96 * 16:.1f})")

# %% [markdown] id="ea09c890cc81"
# Rounding $4 \pm 3.5$ outward gives $(0, 8)$, which is not tight at the bottom; rounding inward
# gives $(1, 7)$, which leaves 3.2% in the upper tail. Only the exact cdf gets both ends right.
#
# ## 9. Exercise: the central range of the dropped count
#
# Write `dropped_count_range(n, p_drop, coverage=0.95)` returning the pair `(lo, hi)` of **Python
# or NumPy integers** defined above. Use the exact law: you may call your `prob_exactly_dropped`
# and accumulate, or use `scipy.stats.binom` (note that its `ppf` and `interval` return floats).
# Raise `ValueError` when `p_drop` is not in `[0, 1)` or `coverage` is not in `(0, 1)`.
#
# **Points** (3): 2 for the ranges, 1 for refusing bad arguments with `ValueError`.

# %% id="dropped-count-range-solution" nbgrader={"grade": false, "grade_id": "dropped_count_range_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropped_count_range(n, p_drop, coverage=0.95):
    """Central range (lo, hi) that holds the dropped count with probability >= coverage.

    With K ~ Binomial(n, p_drop) and t = (1 - coverage) / 2: lo is the smallest k with
    P(K <= k) >= t and hi the smallest k with P(K <= k) >= 1 - t, so each tail outside
    [lo, hi] has probability at most t.

    Parameters
    ----------
    n : int >= 0
        Units in the layer.
    p_drop : float in [0, 1)
        Probability that a unit is dropped.
    coverage : float in (0, 1)

    Returns
    -------
    (lo, hi) : tuple of int, 0 <= lo <= hi <= n

    Raises
    ------
    ValueError
        If p_drop is not in [0, 1) or coverage is not in (0, 1).
    """
    ### BEGIN SOLUTION
    if not 0.0 <= p_drop < 1.0:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    tail = (1.0 - coverage) / 2.0
    pmf = np.array([prob_exactly_dropped(n, k, p_drop) for k in range(n + 1)])
    cdf = np.cumsum(pmf)
    lo = int(np.searchsorted(cdf, tail))  # first k with cdf[k] >= tail
    hi = int(np.searchsorted(cdf, 1.0 - tail))
    return lo, min(hi, n)
    ### END SOLUTION

# %% id="dropped-count-range" nbgrader={"grade": true, "grade_id": "dropped_count_range", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check("dropped_count_range", dropped_count_range)
### BEGIN HIDDEN TESTS
check("dropped_count_range", dropped_count_range, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="d46c7d5ad338"
# ## 10. Two conventions, one table
#
# Texts on dropout use $p$ for opposite things. Srivastava et al. (2014) write $p$ for the
# probability of **retaining** a unit, and so do the deeplearning.ai notes (`keep_prob`),
# TensorFlow 1's `tf.nn.dropout(x, keep_prob)`, and many lecture notes ("with probability $p$,
# keep the neuron"). PyTorch (`nn.Dropout(p)`), Keras and TensorFlow 2
# (`rate`) and this course use the probability of **dropping**. Everything translates with
# $p_{\text{keep}} = 1 - p_{drop}$:
#
# | | drop convention: `p_drop` (this course, PyTorch, Keras, TF 2) | keep convention: $p$ = `keep_prob` (Srivastava et al., deeplearning.ai, TF 1's `tf.nn.dropout`) |
# |---|---|---|
# | a unit is kept with probability | $1 - p_{drop}$ | $p$ |
# | mask entry $m$ | Bernoulli$(1 - p_{drop})$ | Bernoulli$(p)$ |
# | kept count | Binomial$(n, 1 - p_{drop})$: mean $n(1 - p_{drop})$, variance $n\,p_{drop}(1 - p_{drop})$ | Binomial$(n, p)$: mean $np$, variance $np(1-p)$ |
# | dropped count | Binomial$(n, p_{drop})$: mean $n\,p_{drop}$, variance $n\,p_{drop}(1 - p_{drop})$ | Binomial$(n, 1-p)$: mean $n(1-p)$, variance $np(1-p)$ |
# | relative spread of the dropped count | $\sqrt{(1 - p_{drop})/(n\,p_{drop})}$ | $\sqrt{p/(n(1-p))}$ |
# | inverted dropout, training | divide kept units by $1 - p_{drop}$ | divide kept units by $p$ |
# | standard dropout, inference | multiply by $1 - p_{drop}$ | multiply by $p$ (Srivastava: $W_{test} = pW$) |
# | typical hidden layer | $p_{drop} = 0.5$ | $p = 0.5$ |
# | typical input layer | $p_{drop} = 0.1$ to $0.2$ | $p = 0.8$ to $0.9$ |
#
# Three traps. At 0.5, the most quoted value, the conventions agree, so a mix-up stays invisible
# until someone uses 0.2. The kept and dropped counts have the **same variance**
# $n\,p_{drop}(1 - p_{drop})$: swapping conventions changes only the means, so a check of the
# spread alone cannot catch it. And TensorFlow changed the meaning of a **positional argument**:
# the second parameter of `tf.nn.dropout` is `keep_prob` in TensorFlow 1 and `rate` in
# TensorFlow 2, so `tf.nn.dropout(x, 0.8)` keeps 80% of the units in TensorFlow 1 and drops 80%
# in TensorFlow 2. Up to 1.12 `keep_prob` is the only way to give the rate; 1.13 to 1.15 also
# accept `rate=` and deprecate `keep_prob`, which stays second. BERT's original TensorFlow 1
# code, whose `dropout_prob` is a drop probability, converts on the call:
# `tf.nn.dropout(input_tensor, 1.0 - dropout_prob)`. Run unchanged under TensorFlow 2, that line
# would drop `1 - dropout_prob` of the units. Pass the rate by keyword: `keep_prob=` and `rate=`
# each mean one thing, and a version that lacks the name raises an error instead of silently
# inverting the rate.
#
# Notes that recommend "$p = 0.8$" for input layers mean keeping 80% of the inputs, the same
# advice as "input dropout 0.1 to 0.2" in texts that count drops. Checked on 5000 sampled layers
# of 1000 units with `p_drop = 0.2` (that is, $p = 0.8$ in the keep convention):

# %% id="cc13d01ce430" tags=["demo"]
moments = lesson.count_moments(1000, 0.2)
print(f"{'':>14} {'formula':>9} {'measured':>9}")
print(f"{'kept mean':>14} {moments.kept_mean:>9.1f} {moments.measured_kept_mean:>9.1f}")
print(f"{'kept var':>14} {moments.kept_var:>9.1f} {moments.measured_kept_var:>9.1f}")
print(f"{'dropped mean':>14} {moments.dropped_mean:>9.1f} {moments.measured_dropped_mean:>9.1f}")
print(f"{'dropped var':>14} {moments.dropped_var:>9.1f} {moments.measured_dropped_var:>9.1f}")

# %% [markdown] id="16c26f5fcb11"
# **In two sentences:** a paper reports "p = 0.8 on the inputs and p = 0.5 on the hidden layers"
# without naming its convention. What do you pass to `torch.nn.Dropout` for the inputs, and what
# in the paper would settle the question?

# %% [markdown] id="explain-conventions" nbgrader={"grade": true, "grade_id": "explain_conventions", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Almost certainly p is the keep probability (Srivastava et al.'s convention): dropping 80% of the
# inputs would be extreme, so keep 80% and pass torch.nn.Dropout(p=0.2). The hidden value 0.5
# cannot tell the conventions apart; the scaling can: weights multiplied by p at test time (or
# activations divided by p in training) mean p is the keep probability.

# %% [markdown] id="choose-layer-width-intro"
# ## 11. Exercise: how wide must a layer be? (your choice, defended)
#
# Section 7 showed that wide layers drop an almost fixed fraction of their units. How wide is
# wide enough? Say you want the fraction dropped in one step to stay within $\pm\delta$ of
# `p_drop` with probability at least $1 - \alpha$. Write `choose_layer_width(p_drop, delta,
# alpha)` returning the **smallest** width $n$ that achieves it.
#
# You choose the method, and you defend it below. The check accepts every width whose exact
# Binomial probability of staying in the band (boundaries included) is at least $1 - \alpha$ and
# that is at most 10% above the exact smallest one: the probability wobbles as $n$ grows, so
# "the smallest width from which every larger width works" is a fair answer too. It rejects a
# width that falls short by the exact law (whatever formula produced it) and one far above the
# smallest (a loose bound). It asks for several situations, not one.
#
# **Points** (4): 2 for the widths, 2 for your defence below.

# %% id="choose-layer-width-solution" nbgrader={"grade": false, "grade_id": "choose_layer_width_solution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_layer_width(p_drop, delta, alpha):
    """Smallest layer width n whose dropped fraction stays within p_drop +- delta with
    probability at least 1 - alpha.

    Parameters
    ----------
    p_drop : float in (0, 1)
    delta : float in (0, 1)
        Allowed distance of the fraction dropped from p_drop.
    alpha : float in (0, 1)
        Allowed probability of leaving the band.

    Returns
    -------
    int >= 1
    """
    ### BEGIN SOLUTION
    from scipy import stats

    start = 1
    while True:
        n = np.arange(start, 2 * start + 1000)
        lo = np.ceil(n * (p_drop - delta) - 1e-9 * n)
        hi = np.floor(n * (p_drop + delta) + 1e-9 * n)
        inside = stats.binom.cdf(hi, n, p_drop) - stats.binom.cdf(lo - 1, n, p_drop)
        enough = np.flatnonzero(inside >= 1 - alpha)
        if enough.size:
            return int(n[enough[0]])
        start = int(n[-1]) + 1
    ### END SOLUTION

# %% id="choose-layer-width" nbgrader={"grade": true, "grade_id": "choose_layer_width", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check("choose_layer_width", choose_layer_width)
### BEGIN HIDDEN TESTS
check("choose_layer_width", choose_layer_width, hidden=True)
### END HIDDEN TESTS

# %% [markdown] id="choose-layer-width-question"
# **Defend your choice in a few sentences:** how does your function find the width, why is it
# the smallest (or why is yours a fair reading of "smallest"), and when would the normal
# approximation $n \approx z^2\,p(1-p)/\delta^2$ have led you astray?

# %% [markdown] id="explain-layer-width" nbgrader={"grade": true, "grade_id": "explain_layer_width", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The dropped count K is Binomial(n, p_drop), so the fraction stays in the band exactly when K
# lies between n(p_drop - delta) and n(p_drop + delta); the function adds up those Binomial
# probabilities with the exact cdf and tries every width in turn, returning the first that
# reaches 1 - alpha, which is by construction the smallest. The probability is not monotone in
# n (the band gains or loses a whole count at a time), so a width just above the answer can fall
# short again; asking for the width from which every larger one works is a fair, slightly larger
# answer. The normal approximation ignores both the discreteness and the skew of the binomial:
# with small alpha or p_drop far from 1/2 its width can sit just below what the exact tail needs
# (at p_drop = 0.5, delta = 0.05, alpha = 1e-3 it gives 1083, where the band is left with
# probability just above alpha, while the exact answer is 1071).

# %% [markdown] id="0f4cf69b3483"
# ## Summary
#
# * One unit under dropout is a Bernoulli(`keep_prob`) coin; a mask is one independent coin per
#   unit, a boolean array with `True` = kept.
# * A layer's dropped count is Binomial$(n, p_{drop})$, mean $n\,p_{drop}$, variance
#   $n\,p_{drop}\,\text{keep\_prob}$. Compute its probabilities in logs: $n!$ overflows a float for
#   $n \ge 171$.
# * P(exactly 512 of 1024 dropped at `p_drop = 0.5`) = 0.0249: the most likely count, and still
#   unlikely, because the probability is shared by the sixty or so counts within two standard
#   deviations (16 units each).
# * The relative spread $\sqrt{\text{keep\_prob}/(n\,p_{drop})}$ falls as $1/\sqrt n$: wide layers
#   drop an almost fixed fraction of units; the central 95% range of 1024 units at 0.5 is
#   $[481, 543]$.
# * Read every formula with its convention: $p$ is a keep probability in Srivastava et al. and a
#   drop probability in PyTorch and Keras; the variances agree, the means do not. The second
#   positional argument of `tf.nn.dropout` is `keep_prob` in TensorFlow 1 and `rate` in
#   TensorFlow 2: pass it by keyword.
#
# ## Further study
#
# 1. For `p_drop = 0.1`, find the smallest $n$ from which the rounded normal approximation
#    $\text{round}(n p_{drop} \pm 1.96\,\text{sd})$ gives the same 95% range as
#    `analysis.dropped_count_range` for every larger $n$ up to 2000. Is there one?
# 2. How many units must a layer have so that, at `p_drop = 0.5`, the dropped fraction stays within
#    one percentage point of 0.5 in 95% of steps? Estimate it from the relative spread, then
#    confirm with `analysis.dropped_count_range`.
# 3. Implement the fixed-count scheme of section 3 with `rng.permutation` and measure
#    $P(\text{both kept})$ for two units of a 10-unit layer. Which statements of this notebook
#    still hold for it, and which fail?
# 4. With inverted dropout, the sum of a layer's outputs is $\sum_i a_i m_i/\text{keep\_prob}$.
#    Show that its mean is $\sum_i a_i$ and its variance $\frac{p_{drop}}{\text{keep\_prob}}\sum_i
#    a_i^2$; notebook 05 meets the same ratio $p_{drop}/\text{keep\_prob}$ as the variance of
#    Gaussian dropout.

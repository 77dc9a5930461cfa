"""Notebook 02's quoted figures: the Binomial law of the dropped count, computed with
``course_lib.analysis`` and scipy, and the sample sizes of the lesson's simulations."""

import inspect
import math
import sys
from functools import cache

from scipy import stats

from course_lib import analysis
from course_lib.checks import DEFAULT_ALPHA
from course_lib.lessons import nb02_bernoulli_binomial as lesson
from quoted_figures import (
    CITED_NUMBER,
    EXAMPLE,
    MATH,
    TASK,
    exempt,
    power_of_ten,
    tex_sci,
    tie,
)


def _first_factorial_overflow() -> int:
    """The smallest n whose n! is too large for a float."""
    n = 1
    while math.factorial(n) <= sys.float_info.max:
        n += 1
    return n


def _range(n: int, p_drop: float) -> str:
    low, high = analysis.dropped_count_range(n, p_drop)
    return f"{low} to {high}"


@cache
def numbers() -> dict[str, str]:
    coverage = inspect.signature(analysis.dropped_count_range).parameters["coverage"].default
    law = stats.binom(1024, 0.5)
    low, high = analysis.dropped_count_range(1024, 0.5)
    peak = analysis.prob_exactly_dropped(1024, 512, 0.5)
    z = stats.norm.ppf(0.5 + coverage / 2)
    small = stats.binom(20, 0.2)
    radius = z * small.std()
    spread = inspect.signature(lesson.spread_table).parameters
    pairs = inspect.signature(lesson.pair_table).parameters["n_layers"].default
    return {
        "coverage": f"{100 * coverage:.0f}%",
        "coverage_default": f"{coverage:g}",
        "n": "1024",  # the layer of sections 6 to 8, at p_drop = 0.5
        "k": f"{law.mean():.0f}",  # its most likely count
        "exact_width": str(analysis.choose_layer_width(0.5, 0.05, 1e-3)),
        "normal_width": str(math.ceil(stats.norm.ppf(1 - 1e-3 / 2) ** 2 * 0.25 / 0.05**2)),
        "overflow": str(_first_factorial_overflow()),
        "p": "0.5",
        "coverage_exact": f"{100 * (law.cdf(high) - law.cdf(low - 1)):.1f}%",
        "alpha": power_of_ten(DEFAULT_ALPHA),
        "pairs": f"{pairs:,}".replace(",", " "),
        "sd": f"{law.std():.0f}",
        "range_1024": _range(1024, 0.5),
        "interval_1024": f"[{low}, {high}]",
        "radius_1024": f"{512 - low}",
        "edge": f"{100 * analysis.prob_exactly_dropped(1024, low, 0.5) / peak:.0f}%",
        "peak": f"{peak:.4f}",
        "sqrt_2pi": f"{math.sqrt(2 * math.pi):.3f}",
        "peak_pct": f"{100 * peak:.1f}%",
        "comb": tex_sci(math.comb(1024, 512), 2),
        "masks": tex_sci(2**1024, 2),
        "spread_layers": str(spread["n_layers"].default),
        "range_16": _range(16, 0.5),
        "fraction_1024": f"{100 * low / 1024:.0f}% to {100 * high / 1024:.0f}%",
        "z": f"{z:.2f}",
        "small": f"{small.mean():g} \\pm {radius:.1f}",
        "outward": f"({math.floor(small.mean() - radius)}, {math.ceil(small.mean() + radius)})",
        "inward": f"({math.ceil(small.mean() - radius)}, {math.floor(small.mean() + radius)})",
        "upper_tail": f"{100 * small.sf(math.floor(small.mean() + radius)):.1f}%",
        "moments_layers": str(
            inspect.signature(lesson.count_moments).parameters["n_layers"].default
        ),
    }


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    tie("holds it {coverage} of", numbers),
    tie("explain why \"exactly {k} of {n} dropped\" is unlikely even though {k} is the most likely count", numbers),
    exempt("`p_drop = 0.5`: that is the rate at which a unit's presence", MATH),
    exempt("Here are 100 000 coin flips for one unit at `p_drop = 0.3`", EXAMPLE),
    exempt("array of 0.0 and 1.0 is", EXAMPLE),
    exempt("in `[0, 1)`. Hint: `rng.random(shape)` is uniform on $[0, 1)$", MATH),
    tie("probability below ${alpha}$), check", numbers),
    tie("Measured over {pairs} masks of two units", numbers),
    exempt("masks of two units at `p_drop = 0.3`", EXAMPLE),
    exempt("in a layer of 10 with exactly 5 dropped, two given units are both kept with probability $\\frac{5}{10}\\cdot\\frac{4}{9} = 0.222$, not $0.5^2 = 0.25$.", MATH),
    exempt("before $n = 1024$: the", EXAMPLE),
    exempt("beyond, return `0.0` when", MATH),
    exempt("not in `[0, 1)`. **Points**", MATH),
    exempt("layer of 1024 units at `p_drop = 0.5` drops 512 units on average, and 512 is also", EXAMPLE),
    exempt("How often does it drop *exactly* 512?", EXAMPLE),
    exempt("some sixty counts around 512:", EXAMPLE),
    exempt("as likely as 512 itself", EXAMPLE),
    tie("$\\sqrt{{1024\\cdot 0.5\\cdot 0.5}} = {sd}$", numbers),
    exempt("$\\sqrt{1024\\cdot 0.5\\cdot 0.5} =", EXAMPLE),
    tie("those from {range_1024} together hold {coverage} of it, and even the outermost of them is still {edge} as", numbers),
    tie("$1/(\\sigma\\sqrt{{2\\pi}}) = 1/({sd}\\cdot {sqrt_2pi}) = {peak}$", numbers),
    exempt("of the $2^{1024}$ equally likely masks", MATH),
    tie("$\\binom{{1024}}{{512}} \\approx {comb}$ drop exactly half, which is only {peak_pct} of $2^{{1024}} \\approx {masks}$.", numbers),
    exempt("of $2^{1024} \\approx", MATH),
    exempt("512 is the most likely number of dropped units in a layer of 1024 at `p_drop = 0.5`, yet", EXAMPLE),
    tie("drops exactly {k} only {peak_pct} of", numbers),
    tie("counts near {k}, each of the same order as {k}; {k} beats each", numbers),
    tie("deviation of {sd} units", numbers),
    tie("1/({sd}·√(2π)) ≈ {peak_pct} by itself.", numbers),
    tie("the count is within {range_1024} ({k} ± {radius_1024}) in {coverage} of", numbers),
    tie("Formula against {spread_layers} sampled masks per width", numbers),
    exempt("sampled masks per width, at `p_drop = 0.5`", EXAMPLE),
    exempt("$\\sqrt{10} \\approx 3.2$ times narrower.", MATH),
    tie("At `p_drop = {p}` the {coverage} central range of a 16-unit layer is {range_16} dropped units", numbers),
    tie("that of a 1024-unit layer {range_1024} ({fraction_1024}).", numbers),
    tie("band the {coverage} central range of the next section", numbers),
    exempt("Try a small layer ($n = 20$) at `p_drop = 0.1`", TASK),
    exempt("Then try `n = 4000`: the same", TASK),
    tie("asked: the {coverage} range of {n} units at {p} is ${interval_1024}$ and holds $K$ with probability {coverage_exact}.", numbers),
    tie("$n p_{{drop}} \\pm {z}\\,\\text{{sd}}$ is fine", numbers),
    tie("it gives ${small}$:", numbers),
    exempt("For 20 units at `p_drop = 0.2` it", EXAMPLE),
    tie("Rounding ${small}$ outward gives ${outward}$, which is not tight at the bottom; rounding inward gives ${inward}$, which leaves {upper_tail} in", numbers),
    tie("p_drop, coverage={coverage_default})`", numbers),
    exempt("in `[0, 1)` or `coverage` is not in `(0, 1)`.", MATH),
    exempt("| typical hidden layer | $p_{drop} = 0.5$ | $p = 0.5$ | | typical input layer | $p_{drop} = 0.1$ to $0.2$ | $p = 0.8$ to $0.9$ |", CITED_NUMBER),
    exempt("Three traps. At 0.5, the most quoted value", MATH),
    exempt("until someone uses 0.2.", MATH),
    exempt("so `tf.nn.dropout(x, 0.8)` keeps 80% of the units in TensorFlow 1 and drops 80% in TensorFlow 2", MATH),
    exempt("Up to 1.12 `keep_prob` is the only way to give the rate; 1.13 to 1.15 also", CITED_NUMBER),
    exempt("call: `tf.nn.dropout(input_tensor, 1.0 -", CITED_NUMBER),
    exempt("Notes that recommend \"$p = 0.8$\" for input layers mean keeping 80% of the inputs, the same advice as \"input dropout 0.1 to 0.2\" in texts", CITED_NUMBER),
    tie("Checked on {moments_layers} sampled layers", numbers),
    exempt("layers of 1000 units with `p_drop = 0.2` (that", EXAMPLE),
    exempt("(that is, $p = 0.8$ in the keep convention)", MATH),
    exempt("\"p = 0.8 on the inputs and p = 0.5 on", TASK),
    exempt("convention): dropping 80% of the inputs would be extreme, so keep 80% and pass torch.nn.Dropout(p=0.2). The hidden value 0.5 cannot", MATH),
    exempt("at most 10% above", TASK),
    exempt("p_drop = 0.5, delta = 0.05, alpha = 1e-3 it", TASK),
    tie("it gives {normal_width}, where", numbers),
    tie("the exact answer is {exact_width})", numbers),
    tie("$n!$ overflows a float for $n \\ge {overflow}$.", numbers),
    tie("P(exactly {k} of {n} dropped at `p_drop = {p}`) = {peak}: the", numbers),
    tie("deviations ({sd} units", numbers),
    tie("the central {coverage} range of {n} units at {p} is ${interval_1024}$.", numbers),
    exempt("For `p_drop = 0.1`, find", TASK),
    tie("p_{{drop}} \\pm {z}\\,\\text{{sd}})$ gives the same {coverage} range", numbers),
    exempt("`p_drop = 0.5`, the dropped fraction stays within one percentage point of 0.5 in 95% of", TASK),
]
# fmt: on

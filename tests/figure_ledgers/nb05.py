"""Notebook 05's quoted figures: the noise experiment's record and the lesson's cheap
measurements (recovery of dropped pixels, variance shift before BatchNorm, SELU depth), and the
points of the layer exercises."""

import inspect
import math
from functools import cache

import numpy as np
from scipy import stats

from autograder import build, exercises
from autograder.exercises import ARGUMENT_CHECKS, BEHAVIOUR
from course_lib import stats as course_stats
from course_lib import variants
from course_lib.checks import DEFAULT_ALPHA
from course_lib.lessons import nb05_noise_experiment as experiment
from course_lib.lessons import nb05_variants as lesson
from quoted_figures import (
    CITED_NUMBER,
    CITED_PLACE,
    EXAMPLE,
    MATH,
    TASK,
    exempt,
    power_of_ten,
    tie,
)


@cache
def numbers() -> dict[str, str]:
    results = experiment.load_results()
    found = dict(experiment.key_numbers(results))
    settings = results["settings"]
    found["p_drops"] = "{:g}, {:g} and {:g}".format(*settings["p_drops"])
    found["layers"] = "-".join(map(str, [64, *settings["hidden"], 10]))
    found["smoothing"] = str(settings["smoothing"])
    found["alpha"] = power_of_ten(DEFAULT_ALPHA)
    confidence = inspect.signature(course_stats.paired_comparison).parameters["confidence"].default
    found["confidence"] = f"{100 * confidence:g}%"
    found["half"], found["tenth"] = "0.5", "0.1"  # the rates the measurements below are made at
    found["standard"] = "(0, 1)"  # variance_shift's z ~ N(0, 1)
    gaussian = inspect.signature(lesson.draw_gaussian_vs_bernoulli).parameters
    found["n_inputs"] = str(gaussian["n_inputs"].default)
    temperatures = 'for temperature, color in ((0.1, "C0"), (0.5, "C1"))'
    assert temperatures in inspect.getsource(lesson.draw_concrete_and_targeted)
    found["tau_low"], found["tau_high"] = "0.1", "0.5"
    for p_drop in (0.5, 0.1):
        found[f"pixel_{p_drop:g}"] = f"{100 * lesson.pixel_vs_channel(p_drop).pixel:.0f}%"
    correlation = lesson.neighbour_correlation(lesson.feature_maps()[0])
    found["correlation"] = f"{np.mean(correlation):.1f}"
    found["correlations"] = f"{np.min(correlation):.2f} to {np.max(correlation):.2f}"
    flipped_p = 0.5  # the Gaussian factor N(1, p_drop / keep_prob) is negative
    found["flipped"] = f"{100 * stats.norm.cdf(-math.sqrt((1 - flipped_p) / flipped_p)):.0f}%"
    found["flipped_p"] = f"{flipped_p:g}"
    found.update(_layer_points())
    depth = inspect.signature(lesson.selu_depth_statistics).parameters
    found["selu_depth"] = str(depth["depth"].default)
    found["selu_width"] = str(depth["width"].default)
    found["selu_var"] = f"{lesson.selu_depth_statistics().variances['inverted'][-1]:.1f}"
    draws = inspect.signature(lesson.dropconnect_vs_dropout).parameters["n_draws"].default
    found["draws"] = f"{draws:,}".replace(",", " ")
    found["relu_mean"] = f"{1 / math.sqrt(2 * math.pi):.3f}"
    found["relu_var"] = f"{0.5 - 1 / (2 * math.pi):.3f}"
    for p_drop in (0.5, 0.1):
        shift = lesson.variance_shift(p_drop)
        found[f"bn_std_{p_drop:g}"] = f"{shift.test_std_after_bn:.{2 if p_drop == 0.5 else 3}f}"
    found["alpha_prime"] = f"{variants.ALPHA_PRIME:.4f}"
    return found


def _layer_points() -> dict[str, str]:
    """The points of each layer exercise (its grade cell's), split as grading splits them: in
    proportion to the exercise's parts, the behaviour first, then the argument checks."""
    cells = build.parse(build.SOURCES / "05_variants.py").cells
    points = {
        cell.metadata["nbgrader"]["grade_id"]: cell.metadata["nbgrader"]["points"]
        for cell in cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }
    layers = (
        "spatial_dropout_forward",
        "gaussian_dropout_forward",
        "alpha_dropout_forward",
        "dropconnect_forward",
    )
    found = set()
    for name in layers:
        parts = {part.name: part.points for part in exercises.get(name).parts}
        share = points[name] / sum(parts.values())
        found.add((points[name], share * parts[BEHAVIOUR], share * parts[ARGUMENT_CHECKS]))
    assert len(found) == 1, f"the layer exercises differ in points: {found}"
    ((total, behaviour, arguments),) = found
    return {
        "layer_points": f"{total:g}",
        "behaviour_points": f"{behaviour:g}",
        "argument_points": f"{arguments:g}",
    }


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    tie("At `p_drop = {half}` half the pixels are gone, yet their neighbours give them back to within about {pixel_0.5} (about {pixel_0.1} at `p_drop = {tenth}`, mostly", numbers),
    exempt("Raise `ValueError` if `p_drop` is not in `[0, 1)`.", MATH),
    tie("Each layer is worth {layer_points} points: {behaviour_points} for the layer, {argument_points} for refusing bad arguments", numbers),
    tie("probability below ${alpha}$ per", numbers),
    tie("correlated (about {correlation} here)", numbers),
    tie("(right panel, a unit with {n_inputs} inputs)", numbers),
    tie("\\big)$, {flipped} at `p_drop = {flipped_p}`:", numbers),
    tie("with? A {layers} network", numbers),
    tie("learns from {n_train} training", numbers),
    tie("at `p_drop` {p_drops}, each with {n_seeds} seeds.", numbers),
    tie("the last {smoothing} epochs)", numbers),
    tie("errs on {none_test} of the test digits, Bernoulli dropout at `p_drop` {bernoulli_rate} on {bernoulli_test}, Gaussian dropout at `p_drop` {gaussian_rate} on {gaussian_test}. Without dropout the error is higher by {none_vs_bernoulli_mean} points", numbers),
    tie("with Bernoulli dropout ({confidence} interval", numbers),
    tie("interval [{none_vs_bernoulli_low}, {none_vs_bernoulli_high}], {none_vs_bernoulli_df} degrees of freedom, p = {none_vs_bernoulli_p}) and by {none_vs_gaussian_mean} than with Gaussian dropout ([{none_vs_gaussian_low}, {none_vs_gaussian_high}], p = {none_vs_gaussian_p}).", numbers),
    tie("{bernoulli_vs_gaussian_mean} points ([{bernoulli_vs_gaussian_low}, {bernoulli_vs_gaussian_high}], p = {bernoulli_vs_gaussian_p}): Bernoulli's", numbers),
    tie("lower on {bernoulli_vs_gaussian_lower} seeds, higher on {bernoulli_vs_gaussian_higher}, tied on {bernoulli_vs_gaussian_ties}.", numbers),
    exempt("p stays below 0.05 /", MATH),
    tie("two apart: {bernoulli_val} for", numbers),
    exempt("\\lambda \\approx 1.0507,\\ \\alpha \\approx 1.6733,$$", MATH),
    exempt("inputs at `p_drop = 0.1`", EXAMPLE),
    exempt("Inverted dropout leaves the variance at $1/0.9 = 1.11$; dropped units set to $\\alpha'$ without the correction move the mean to $0.1\\,\\alpha' = -0.18$", MATH),
    tie("\\alpha' \\approx {alpha_prime}$.", numbers),
    exempt("typically takes 2-3 times longer to train (Srivastava et al. 2014, section 11)", CITED_NUMBER),
    tie("compounds. Below, {selu_depth} SELU layers of width {selu_width}", numbers),
    tie("training variance drifts to near {selu_var} while", numbers),
    exempt("Klambauer et al. recommend `p_drop` = 0.05 or 0.1.", CITED_NUMBER),
    exempt("ALPHA_PRIME * (1 - mask))", EXAMPLE),
    tie("two similar output columns, {draws} draws each", numbers),
    exempt("Gaussian noise, row 3 the output", MATH),
    exempt("falling from $p_0 = 1$ to $p_L = 0.5$: block", CITED_NUMBER),
    exempt("(they use $\\tau = 0.1$); units", CITED_NUMBER),
    tie("at $\\tau = {tau_low}$ the values sit near 0 or 1", numbers),
    tie("close to `p_drop`; at $\\tau = {tau_high}$", numbers),
    tie("\\sim \\mathcal{{N}}{standard}$ (mean {relu_mean}, variance {relu_var})", numbers),
    tie("`p_drop = {half}` the BatchNorm output has standard deviation {bn_std_0.5} at", numbers),
    tie("use low rates (standard deviation {bn_std_0.1} at `p_drop = {tenth}` above)", numbers),
    exempt("Srivastava et al. (section 6.1.2)", CITED_PLACE),
    exempt("used retain probabilities 0.9, 0.75, 0.75, 0.5, 0.5, 0.5 from", CITED_NUMBER),
    exempt("is `p_drop` 0.1 on the inputs, 0.25 in the first two convolutional layers and 0.5 in", CITED_NUMBER),
    exempt("al. 2017, rate 0.1 for the", CITED_NUMBER),
    tie("measured {correlations} on", numbers),
    exempt("is in `[0.05, 0.5]`: less", TASK),
    exempt("the SVHN network above used 0.25 to 0.5)", CITED_NUMBER),
    exempt("`correlation < 0.5`", TASK),
    exempt("be at most 0.01; *", TASK),
    exempt("layer of 64 channels whose adjacent pixels correlate 0.9", TASK),
    exempt("At correlation 0.9 a", TASK),
    exempt("at p_drop 0.2) takes a feature away completely, and with 64 channels the chance of dropping all of them, 0.2 ** 64, is nil", TASK),
    exempt("For the 54 residual blocks of a ResNet-110", EXAMPLE),
    exempt("How far is layer 16 from mean 0", TASK),
    exempt("put `p_drop = 0.5` on", TASK),
    exempt("BERT used 0.1 while making about 40 passes over its 3.3 billion words (1 million steps of 256 sequences)", CITED_NUMBER),
    exempt("| dense layers, 0.1–0.5 | `nn.Dropout`", CITED_NUMBER),
    exempt("| conv maps, 0.1–0.3 |", CITED_NUMBER),
    exempt("SELU networks, 0.05–0.1 |", CITED_NUMBER),
    exempt("identity | RNNs, 0.1–0.5 | none", CITED_NUMBER),
    exempt("SELU experiment of section 5 with `p_drop = 0.3`.", TASK),
    exempt("as inverted dropout at `p_drop = 0.1`. 4. Concrete", TASK),
    exempt("$\\tau = 0.1$ and $\\tau = 0.5$.", TASK),
]
# fmt: on

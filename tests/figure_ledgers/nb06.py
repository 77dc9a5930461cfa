"""Notebook 06's quoted figures: the recorded numbers of its two fits (``python -m
course_lib.lessons.nb06_mc_dropout``), their settings, and the two-mask example of section 7."""

import inspect
from functools import cache

import numpy as np

from course_lib import data, mc
from course_lib.lessons import nb06_mc_dropout as lesson
from course_lib.nn import softmax
from quoted_figures import EXAMPLE, MATH, TASK, exempt, tie


@cache
def numbers() -> dict[str, str]:
    found = dict(lesson.load_numbers())
    digits = inspect.signature(lesson.fit_digits).parameters
    toy = inspect.signature(lesson.fit_toy_regression).parameters
    toy_data = inspect.signature(data.gap_regression_toy).parameters
    assert toy_data["n"].default == toy["n_points"].default
    assert "MLP([1, 64, 64, 1]" in inspect.getsource(lesson.fit_toy_regression)
    found["digits_layers"] = "-".join(map(str, [64, *digits["hidden"].default, 10]))
    found["digits_train"] = str(digits["n_train"].default)
    found["digits_epochs"] = str(digits["epochs"].default)
    found["digits_p"] = f"{lesson.DIGITS_FIT['p_drop'][1]:g}"
    found["toy_p"] = f"{lesson.TOY_FIT['p_drop']:g}"
    found["toy_points"] = str(toy["n_points"].default)
    found["toy_noise"] = f"{toy['noise'].default:g}"
    found["toy_range"] = "[{:g}, {:g}]".format(*lesson.DATA_RANGE)
    found["toy_gap"] = "({:g}, {:g})".format(*lesson.GAP)
    found["toy_layers"] = "1-64-64-1"
    n_bins = inspect.signature(mc.expected_calibration_error).parameters["n_bins"].default
    found["bin_width"] = f"{1 / n_bins:g}"
    # section 7: two masks, two classes
    prob_samples = softmax(np.array([[4.0, 0.0], [0.0, 1.0]]))
    mixture = prob_samples.mean(axis=0)
    found["mixture_0"], found["mixture_1"] = (f"{p:.3f}" for p in mixture)
    geometric = softmax(np.log(prob_samples).mean(axis=0))
    found["geometric_0"] = f"{100 * geometric[0]:.0f}%"
    return found


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    tie("`course_lib.data.gap_regression_toy` gives {toy_points} noisy points", numbers),
    exempt("of $\\sin 2x + x/3$ (noise", MATH),
    tie("(noise standard deviation {toy_noise}) on ${toy_range}$, with no data in the gap ${toy_gap}$. We train a {toy_layers} ReLU network with `p_drop = {toy_p}`", numbers),
    tie("then draw {toy_masks} masks.", numbers),
    tie("deviation is {std_data} on the data, {std_gap} inside the gap ({ratio_gap} times as much) and {std_beyond} beyond the data ({ratio_beyond} times)", numbers),
    exempt("fewer than 95% of new observations", MATH),
    tie("targets (std {toy_noise} here)", numbers),
    tie("τ⁻¹ = {toy_noise}²", numbers),
    exempt("brings the coverage close to 95%.", MATH),
    exempt("over the 10 classes", EXAMPLE),
    exempt("the same digits turned by 90°", MATH),
    tie("(the first $S$ of the {digit_masks} drawn once", numbers),
    exempt("tabulate `toy.region_std(200)`", TASK),
    exempt("noise, 100, rng=rng, return_samples=True)", TASK),
    exempt("$\\log 10 \\approx 2.30$ for", MATH),
    tie("the network: {digits_layers} with `p_drop = {digits_p}` on", numbers),
    tie("trained on {digits_train} digits for {digits_epochs} epochs; then {digit_masks} masks on the {n_test} test", numbers),
    tie("best (AUROC {auroc_mi}), the MC predictive entropy next ({auroc_entropy}), and the weight-scaled net's top probability not at all ({auroc_scaled}", numbers),
    tie("bins of width {bin_width}) and", numbers),
    tie("errs on {error_S1} of the test digits, against {error_scaled} for the weight-scaled one; the MC average closes most of that gap within ten masks ({error_S10}) and matches weight scaling at a hundred ({error_S100}).", numbers),
    tie("ECE is {ece_S100} against weight scaling's {ece_scaled}, and its NLL {nll_S100} against {nll_scaled}. Notice that the ECE *grows* with $S$ ({ece_S1} for", numbers),
    tie("work: `p_drop = {digits_p}` sets", numbers),
    tie("and for {digits_train} training", numbers),
    tie("errors among {n_test} digits", numbers),
    exempt("setting aside 5% of", EXAMPLE),
    tie("disagree\" ({mixture_0} / {mixture_1}); the geometric mean says \"0, with {geometric_0}\"", numbers),
    exempt("logits of 50 masks", TASK),
    tie("the gap ({ratio_gap} times its", numbers),
    tie("added ({coverage_model} without it, {coverage_noise} with", numbers),
    tie("calibrated (`p_drop = {digits_p}` makes", numbers),
    exempt("with `p_drop=(0, 0.1, 0.1)` and `(0, 0.3, 0.3)`", TASK),
    exempt("dropout (`p_drop=(0.1, 0.3, 0.3)`)", TASK),
    exempt("$l$ gives 95% coverage? 4. Replace", TASK),
    exempt("with `noise = rng.random((500, 64))`", TASK),
]
# fmt: on

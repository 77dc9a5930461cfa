"""Notebook 04's quoted figures: machine epsilons and the steps they imply, the thresholds and
networks of the lesson module, the graders' false-failure probability."""

import inspect
import math
from functools import cache

import numpy as np

from course_lib.analysis import count_parameters
from course_lib.checks import DEFAULT_ALPHA
from course_lib.gradcheck import masked_layer_check
from course_lib.lessons import nb04_backprop as lesson
from quoted_figures import EXAMPLE, MATH, TASK, exempt, power_of_ten, short_sci, tex_sci, tie


@cache
def numbers() -> dict[str, str]:
    eps = {name: float(np.finfo(name).eps) for name in ("float64", "float32", "float16")}
    found = {"alpha": power_of_ten(DEFAULT_ALPHA)}
    found["eps"] = tex_sci(eps["float64"], 2)
    found["h3"] = tex_sci(eps["float64"] ** (1 / 3))
    found["e23"] = tex_sci(eps["float64"] ** (2 / 3), sep=" ")
    found["h2"] = tex_sci(eps["float64"] ** (1 / 2), 2)
    for name, value in eps.items():
        found[f"h_{name}"] = short_sci(value ** (1 / 3))
        found[f"err_{name}"] = short_sci(value ** (2 / 3))
    found["agree"], found["wrong"] = power_of_ten(lesson.AGREE), power_of_ten(lesson.WRONG)
    found["agree_code"] = f"{lesson.AGREE:.0e}".replace("e-0", "e-")
    found["h_first"] = power_of_ten(lesson.H_DECADES[0])
    found["h_last"] = power_of_ten(lesson.H_DECADES[-1])
    model = lesson.toy_problem(0.0)[0]
    found["toy_layers"] = "-".join(map(str, model.layer_sizes))
    found["toy_parameters"] = str(sum(count_parameters(list(model.layer_sizes))))
    traces = inspect.signature(lesson.draw_loss_traces).parameters["p_drops"].default
    found["traces_p_drop"] = f"{traces[1]:g}"
    found["traces_layers"], found["traces_digits"] = "64-64-10", "300"  # see loss_traces
    source = inspect.getsource(lesson.loss_traces)
    assert "MLP([64, 64, 10]" in source and "load_digits_split(300" in source
    # section 3's figure: the first step at which both difference quotients err by more than
    # WRONG, and the power of ten just above both errors there
    errors = lesson.difference_errors()
    jump = int(np.argmax((errors.centred > lesson.WRONG) & (errors.one_sided > lesson.WRONG)))
    larger = max(errors.centred[jump], errors.one_sided[jump])
    found["jump_h"] = power_of_ten(errors.hs[jump])
    found["jump_error"] = power_of_ten(10.0 ** math.ceil(math.log10(larger)))  # the decade above
    # the model answer's lower bound: the relative error of a backward pass that ignores the
    # mask, over 20 seeds of the check's layer at h = eps**(1/3), rounded down
    ignored = min(
        masked_layer_check(eps["float64"] ** (1 / 3), np.float64, p_drop=0.5, seed=seed)[
            "ignores_mask"
        ]
        for seed in range(20)
    )
    found["ignored_mask"] = f"{math.floor(10 * ignored) / 10:g}"
    found["best_h"] = power_of_ten(10 ** round(math.log10(eps["float64"] ** (1 / 3))))
    return found


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    exempt("layer of 8 units", EXAMPLE),
    exempt("is not in `[0, 1)`. * `dropout_backward(dout", MATH),
    tie("probability below ${alpha}$ per", numbers),
    tie("($\\varepsilon \\approx {eps}$", numbers),
    tie("\\approx {h3}$", numbers),
    tie("\\approx {e23}$", numbers),
    tie("\\varepsilon^{{1/2}} \\approx {h2}$", numbers),
    exempt("lies in $[0, 1]$, and", MATH),
    tie("about ${agree}$ the gradients agree; above ${wrong}$ one of them", numbers),
    tie("full gradient ({toy_parameters} parameters) of a small {toy_layers} ReLU", numbers),
    tie("from $h = {h_first}$ to ${h_last}$", numbers),
    tie("$h \\approx {jump_h}$ both jump towards ${jump_error}$", numbers),
    tie("keep $h$ near ${best_h}$, and before", numbers),
    exempt("Python `float`; `0.0` when", EXAMPLE),
    exempt("broadcast `(4, 1)`", EXAMPLE),
    tie("trains a {traces_layers} network on {traces_digits} digits", numbers),
    tie("with `p_drop = {traces_p_drop}` on", numbers),
    tie("of the {toy_layers} network", numbers),
    exempt("With p_drop = 0 the mask", EXAMPLE),
    tie("near ${best_h}$, agreement below ${agree}$)", numbers),
    exempt("at `p_drop = 0.5` in", TASK),
    tie(
        "eps**(2/3): about {h_float64} and {err_float64} in float64, but {h_float32} and "
        "{err_float32} in float32 and {h_float16} and {err_float16} in float16",
        numbers,
    ),
    tie("In float32 a step of {agree_code} is lost", numbers),
    tie("brings a correct gradient below {agree_code}", numbers),
    tie("below the {ignored_mask} or more of a gradient that ignores half the mask", numbers),
    exempt("at p_drop = 0.5, but", TASK),
    tie("near ${best_h}$. Compare gradients", numbers),
    tie("\\rVert)$: below ${agree}$", numbers),
    tie("below ${agree}$ with `p_drop", numbers),
    exempt("with `p_drop = 0.5`. 2. Gradient-check", TASK),
    exempt("from `lesson.gradient_check_curves(0.5)`", TASK),
]
# fmt: on

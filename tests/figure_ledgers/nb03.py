"""Notebook 03's quoted figures: the lesson's settings, the judgement exercise's rules (the
checker's constants) and its model answer (the solution cell, run on 3-7-7-3-2-1)."""

import inspect
from functools import cache

from autograder import build
from autograder.exercises import nb03_inverted_dropout as rules
from course_lib.analysis import boosting_factor, count_parameters
from course_lib.checks import DEFAULT_ALPHA
from course_lib.lessons import nb01_intuition, nb03_inverted_dropout
from quoted_figures import CITED_NUMBER, EXAMPLE, MATH, TASK, exempt, power_of_ten, tie

NETWORK = [3, 7, 7, 3, 2, 1]


def _solution(name: str):
    """The function ``name`` as the notebook's solution cell defines it."""
    (cell,) = [
        cell.source
        for cell in build.parse(build.SOURCES / "03_inverted_dropout.py").cells
        if cell.cell_type == "code" and f"def {name}(" in cell.source
    ]
    namespace: dict = {}
    exec(cell, namespace)
    return namespace[name]


@cache
def numbers() -> dict[str, str]:
    draws = inspect.signature(nb03_inverted_dropout.draw_expectations).parameters["n_draws"]
    assert "x = np.ones(n_draws)" in inspect.getsource(nb03_inverted_dropout.draw_expectations)
    keep = _solution("choose_keep_probs")(NETWORK)
    weights, _ = count_parameters(NETWORK)
    return {
        "draws": str(draws.default),
        "input": "1.0",
        "alpha": power_of_ten(DEFAULT_ALPHA),
        "weights": str(weights),
        "middle": str(NETWORK[1] * NETWORK[2]),
        "course_first": f"{nb01_intuition.DEFAULT_RATES[1]:g}",
        "course_second": f"{nb01_intuition.DEFAULT_RATES[2]:g}",
        "course_rates": f"[{', '.join(map(str, nb01_intuition.DEFAULT_RATES))}]",
        "input_keep": f"{rules.INPUT_KEEP_MIN:g}",
        "hidden_keep": f"{rules.HIDDEN_KEEP_MIN:g}",
        "vanish": f"{rules.WHOLE_LAYER_DROPPED_MAX:g}",
        "wide": str(rules.WIDE_LAYER),
        "strongest": f"{100 * rules.STRONGEST_P_DROP_MIN:.0f}%",
        "slack": f"{rules.ORDER_SLACK:g}",
        "keep_input": f"{keep[0]:g}",
        "keep_7": f"{keep[1]:g}",
        "keep_3": f"{keep[3]:.2f}",
        "keep_2": f"{keep[4]:.2f}",
        "boost_p": "0.5",
        "boost": f"{boosting_factor(0.5):g}",
        "network": "-".join(map(str, NETWORK)),
    }


# one entry a line, however long: easy to read, edit and merge
# fmt: off
LEDGER = [
    tie("means over {draws} draws for one unit with input {input}", numbers),
    exempt("not in `[0, 1)`. The", MATH),
    tie("probability below ${alpha}$, so", numbers),
    exempt("in `[0, 1)`. **Points** (2): 1.5 for the rate, 0.5 for", TASK),
    exempt("the network 3-7-7-3-2-1 of", EXAMPLE),
    tie("holds {middle} of the {weights} weights", numbers),
    exempt("the notes set `keep_prob` = [1.0, 0.5, 0.7, 0.7, 1.0] on", CITED_NUMBER),
    exempt("`p_drop = 0.5` on the second (the output of the 7→7 matrix), 0.3 on", CITED_NUMBER),
    exempt("is `p_drop=[0.0, 0.0, 0.5, 0.3, 0.3]`;", CITED_NUMBER),
    tie("`p_drop = {course_first}` on the first hidden layer (the input of the 7→7 matrix), {course_second} on", numbers),
    tie("layers, `p_drop={course_rates}`.", numbers),
    exempt("The notes' 0.5 removes", CITED_NUMBER),
    tie("the input keeps at least {input_keep} (it carries", numbers),
    exempt("Srivastava et al. keep 80% of the inputs", CITED_NUMBER),
    tie("no hidden layer keeps less than {hidden_keep} (with", numbers),
    exempt("their error is flat for `keep_prob` from 0.4 to 0.8 and", CITED_NUMBER),
    tie("which must stay at most {vanish};", numbers),
    tie("hidden layer has {wide} units or more, some hidden layer drops at least {strongest};", numbers),
    tie("up to a slack of {slack}.", numbers),
    exempt("give for 3-7-7-3-2-1, and what would go wrong with `p_drop = 0.5`", TASK),
    exempt("highest p_drop, 0.5 for the widest", MATH),
    tie("The input keeps {keep_input}, since", numbers),
    tie("For {network} that gives", numbers),
    tie("keep_prob {keep_input} on the input, {keep_7} on both 7-unit layers and about {keep_3} and {keep_2} on", numbers),
    exempt("p_drop = 0.5 everywhere the 2-unit layer would be dropped entirely in a quarter of the steps (0.5 **", MATH),
    tie("factor: `boosting_factor({boost_p})` is {boost})", numbers),
]
# fmt: on

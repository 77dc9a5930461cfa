"""Exercises of notebook 03: ``dropout_forward`` (inverted dropout) and
``equivalent_standard_lr``."""

from __future__ import annotations

import numpy as np

from course_lib.checks import CheckFailure

from . import ARGUMENT_CHECKS, BEHAVIOUR, call, exercise, kit

NOTEBOOK = "03_inverted_dropout"


def _cases(hidden: bool):
    """(p_drop, shape, dtype) of the training-mode calls."""
    cases = [(0.3, (200, 100), np.float64), (0.3, (200, 100), np.float32)]
    if hidden:
        cases += [
            (0.1, (300, 64), np.float64),
            (0.5, (40, 25, 20), np.float32),
            (0.8, (250, 80), np.float64),
            (0.25, (128, 96), np.float16),
        ]
    return cases


_RNG_SHAPE = (64, 64)
_MEAN_SHAPE = (20, 50)  # the input of the repeated calls whose mean output is judged


@exercise(
    "dropout_forward",
    NOTEBOOK,
    reference="course_lib.dropout.dropout_forward",
    equivalents=(
        "course_lib.dropout.standard_dropout_forward",
        "course_lib.dropout._draw_and_mask",
    ),
    parts={BEHAVIOUR: 3, ARGUMENT_CHECKS: 1},
    hints=(
        "Inverted dropout does two things in training: it zeroes a random subset of the entries "
        "and scales the survivors so that the expected output equals x. At inference it does "
        "nothing.",
        "Draw a boolean keep-mask with the full shape of x from rng (as sample_mask did in "
        "notebook 02), then combine it with x; the scale of the survivors is the factor of "
        "the 'inverted' row of section 1's table.",
        "Traps the checks name: one mask for the whole batch ("
        + kit.SHARED_ACROSS_BATCH.defaults["fix"].rstrip(".")
        + "); a float32 x that comes back float64 after a product with a float64 mask (give the "
        "result x's dtype with .astype(x.dtype)); and x changed in place instead of a new array.",
    ),
)
class DropoutForward:
    @staticmethod
    def probe(fn, seed, hidden):
        name = "dropout_forward"
        observed = kit.probe_layer(
            fn, seed, hidden, name=name, cases=_cases(hidden), rng_shape=_RNG_SHAPE, rng_p_drop=0.5
        )
        x_mean = kit.inputs(seed + 100, _MEAN_SHAPE)
        rng = np.random.default_rng([seed, 100])
        observed["repeats"] = [
            kit.output(call(fn, x_mean, 0.4, rng=rng), name) for _ in range(200 if hidden else 40)
        ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        name = "dropout_forward"
        for p_drop, x, out, inferred in kit.recorded_layer_outputs(
            observed, seed, _cases(hidden), name
        ):
            # independence first: a mask shared by the batch also skews the kept count, and
            # "shared mask" is the message that helps
            kit.assert_masks_independent(np.reshape(out != 0, (x.shape[0], -1)), p_drop)
            kit.check_inverted_dropout_output(x, out, p_drop)
            kit.check_inference_identity(x, inferred, name=name)
        x, runs = kit.recorded_rng_runs(observed, seed, _RNG_SHAPE, name)
        kit.check_rng_use(*runs, p_drop=0.5)
        kit.check_p_zero_identity(x, observed["p_zero"], name)
        x_mean = kit.inputs(seed + 100, _MEAN_SHAPE)
        repeats = [kit.require_array(out, name, like=x_mean) for out in observed["repeats"]]
        kit.assert_expectation_preserved(x_mean, repeats, 0.4)

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_bad_p_drops_refused(observed["bad"], "dropout_forward")


def _lr_cases(seed: int, hidden: bool):
    rng = np.random.default_rng(seed)
    cases = [(0.1, 0.5), (0.01, 0.2)]
    if hidden:
        cases += [(float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0, 0.95))) for _ in range(8)]
        cases += [(0.05, 0.0)]
    return cases


_BAD_LR_CALLS = ((0.1, 1.0), (0.1, -0.2), (-0.1, 0.5), (0.0, 0.5))

#: roundings of lr / keep_prob**2 however it is written: keep_prob = 1 - p_drop rounded (once,
#: but it enters squared: 2), the square or 1 / keep_prob (1 or 2, squared: up to 3) and the
#: product or quotient with lr (1): at most 6, e.g. lr * (1 / (1 - p_drop))**2
_LR_OPS = 6


def _same_rate(value: float, expected: float) -> bool:
    return kit.close(value, expected, np.float64, ops=_LR_OPS)


@exercise(
    "equivalent_standard_lr",
    NOTEBOOK,
    reference="course_lib.analysis.equivalent_standard_lr",
    parts={BEHAVIOUR: 1.5, ARGUMENT_CHECKS: 0.5},
    hints=(
        "Two effects of inverted dropout stack up on a post-dropout weight: its gradient is "
        "larger, and the weight itself is smaller than the standard net's. Each costs one "
        "factor of keep_prob.",
        "Write one SGD step of the inverted net in the standard net's units, as in the displayed "
        "equation of section 3, and read off the rate in front of the standard gradient.",
        "The seeds' 1 / keep_prob is the raw gradient scale, not the equivalent rate; and the "
        "standard net needs a larger rate than lr, not a smaller one. Use keep_prob = 1 - "
        "p_drop, and refuse lr <= 0 and p_drop outside [0, 1) with ValueError.",
    ),
)
class EquivalentStandardLr:
    @staticmethod
    def probe(fn, seed, hidden):
        observed: dict[str, list[float] | list[str]] = {
            "values": [float(call(fn, lr, p_drop)) for lr, p_drop in _lr_cases(seed, hidden)]
        }
        if hidden:
            observed["bad"] = [
                kit.outcome_of_bad_call(fn, lr, p_drop) for lr, p_drop in _BAD_LR_CALLS
            ]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for (lr, p_drop), value in zip(_lr_cases(seed, hidden), observed["values"], strict=True):
            keep_prob = 1 - p_drop
            expected = lr / keep_prob**2
            if not _same_rate(value, expected):
                hint = ""
                if _same_rate(value, lr / keep_prob):
                    hint = (
                        " That is lr / keep_prob, the raw gradient scale; the weights are "
                        "also keep_prob times smaller, which costs another factor."
                    )
                elif _same_rate(value, lr * keep_prob**2):
                    hint = " The standard net needs a larger rate, not a smaller one."
                elif p_drop and _same_rate(value, lr / p_drop**2):
                    hint = " Use keep_prob = 1 - p_drop, not p_drop."
                raise CheckFailure(
                    f"equivalent_standard_lr({lr:.6g}, {p_drop:.6g}) should be "
                    f"{expected:.6g}, got {value:.6g}.{hint}"
                )

    @staticmethod
    def arguments(observed, seed, hidden):
        if hidden:
            kit.require_value_errors(
                observed["bad"],
                [f"lr={lr}, p_drop={p_drop}" for lr, p_drop in _BAD_LR_CALLS],
                "equivalent_standard_lr",
                "lr > 0, p_drop in [0, 1)",
            )

"""Exercises of notebook 03: ``dropout_forward`` (inverted dropout), ``equivalent_standard_lr``
and the judgement ``choose_keep_probs``."""

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
        # a square mask at p_drop = 1/2: a repeated row or column is a sign of sharing
        # (kit.identical_draws_bound(64, 64, 0.5) = 2.2e-16), however the sharing is arranged
        kit.assert_masks_independent(runs[2] != 0, 0.5)
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


# --- choose_keep_probs (a judgement) ----------------------------------------------------------

#: the rules of section 6 that every accepted choice obeys
INPUT_KEEP_MIN = 0.8  # the input carries the data itself
HIDDEN_KEEP_MIN = (
    0.4  # error is flat for keep_prob in [0.4, 0.8] (Srivastava et al. 2014, section 7.3)
)
WHOLE_LAYER_DROPPED_MAX = 0.1  # p_drop ** width: how often a whole layer may vanish at once
STRONGEST_P_DROP_MIN = 0.2  # an overfitting net needs real dropout in some layer this wide:
WIDE_LAYER = 5  # (narrower layers lose too much of themselves, and may go without)
ORDER_SLACK = 0.05  # a wider layer may be kept up to this much more than a narrower one


def _architectures(seed: int, hidden: bool) -> list[list[int]]:
    cases = [[3, 7, 7, 3, 2, 1], [784, 1024, 1024, 10]]
    if hidden:
        cases += [
            [64, 256, 256, 10],
            [10, 100, 20, 200, 2],
            [784, 2048, 512, 128, 10],
            [2, 50, 50, 50, 1],
            [100, 4, 300, 10],
            [20, 3, 2],  # no layer wide enough to need dropout: any light choice will do
        ]
        rng = np.random.default_rng([seed, 6])
        for _ in range(3):
            depth = int(rng.integers(1, 5))
            widths = rng.choice([2, 3, 5, 8, 16, 32, 64, 128, 512, 1024], size=depth)
            cases.append([int(rng.choice([4, 64, 784])), *map(int, widths), 10])
    return cases


#: the measures of a hidden layer's size by which "wider layers drop more" can be read: each
#: ranks the layers its own way, and a choice that follows any one of them is accepted
def _measures(sizes: list[int]) -> dict[str, list[int]]:
    hidden = range(1, len(sizes) - 1)
    return {
        "the weights it feeds": [sizes[i] * sizes[i + 1] for i in hidden],
        "its width": [sizes[i] for i in hidden],
        "the weights that feed it": [sizes[i - 1] * sizes[i] for i in hidden],
        "the weights around it": [sizes[i] * (sizes[i - 1] + sizes[i + 1]) for i in hidden],
    }


@exercise(
    "choose_keep_probs",
    NOTEBOOK,
    reference="course_lib.analysis.choose_keep_probs",
    hints=(
        "Go through section 6's rules one by one for a given list of layer sizes: what the "
        "input may lose, which layers hold the most weights, and which layers are so narrow "
        "that dropping them hurts.",
        "For a hidden layer of width w at rate p_drop, every unit is dropped at once with "
        "probability p_drop ** w (notebook 02): work out the largest p_drop a narrow layer "
        "can take. Return one keep_prob per dropout site, the input first.",
        "Rank the hidden layers by the weights they feed (or by width) and make sure a bigger "
        "layer never keeps clearly more than a smaller one; and do not leave an overfitting "
        "network without real dropout anywhere.",
    ),
)
class ChooseKeepProbs:
    @staticmethod
    def probe(fn, seed, hidden):
        return {
            "choices": [
                kit.observed(call(fn, list(sizes)), sequences=True)
                for sizes in _architectures(seed, hidden)
            ]
        }

    @staticmethod
    def verdict(observed, seed, hidden):
        cases = _architectures(seed, hidden)
        if len(observed["choices"]) != len(cases):
            raise CheckFailure(f"expected {len(cases)} choices, the probe recorded another number.")
        for sizes, seen in zip(cases, observed["choices"], strict=True):
            _judge_keep_probs(sizes, seen)


def _judge_keep_probs(sizes: list[int], seen) -> None:
    call_text = f"choose_keep_probs({sizes})"
    n_sites = len(sizes) - 1
    if not isinstance(seen, np.ndarray) or seen.shape != (n_sites,):
        got = seen if isinstance(seen, str) else f"shape {np.shape(seen)}"
        raise CheckFailure(
            f"{call_text} must return one keep_prob per dropout site, the input and each of the "
            f"{n_sites - 1} hidden layers: a list of {n_sites} numbers, got {got}."
        )
    keep = seen.astype(np.float64)
    if not np.all(np.isfinite(keep)) or np.any((keep <= 0) | (keep > 1)):
        raise CheckFailure(
            f"{call_text} returned {keep.tolist()}: a keep_prob is the probability of keeping "
            "a unit, in (0, 1] (keep_prob = 1 - p_drop: did you return p_drop?)."
        )
    if keep[0] < INPUT_KEEP_MIN:
        raise CheckFailure(
            f"{call_text}: the input keeps {keep[0]:g}, below {INPUT_KEEP_MIN:g}. The input "
            "carries the data itself, and what it loses no later layer can recover: keep it "
            "close to 1 (Srivastava et al. keep 80% of the inputs; p_drop 0.1 to 0.2 is usual)."
        )
    for i, (width, k) in enumerate(zip(sizes[1:-1], keep[1:]), start=1):
        if k < HIDDEN_KEEP_MIN:
            raise CheckFailure(
                f"{call_text}: hidden layer {i} (width {width}) keeps {k:g}, below "
                f"{HIDDEN_KEEP_MIN:g}. Dropping more than {1 - HIDDEN_KEEP_MIN:.0%} of a layer "
                "makes the network underfit (Srivastava et al. 2014, section 7.3: with the width "
                "fixed, the error is flat for keep_prob from 0.4 to 0.8 and rises below)."
            )
        vanish = (1 - k) ** width
        if vanish > WHOLE_LAYER_DROPPED_MAX * (1 + 1e-9):  # rounding of p_drop ** width
            raise CheckFailure(
                f"{call_text}: hidden layer {i} has only {width} unit{'s' * (width > 1)}; at "
                f"p_drop = {1 - k:.3g} all of them are dropped at once with probability "
                f"p_drop ** {width} = {vanish:.3g}, so in more than one step in "
                f"{1 / WHOLE_LAYER_DROPPED_MAX:.0f} the next layer sees nothing. Narrow layers "
                "need a small p_drop."
            )
    hidden_keep = keep[1:]
    if 1 - hidden_keep.min() < STRONGEST_P_DROP_MIN and max(sizes[1:-1]) >= WIDE_LAYER:
        fed = _measures(sizes)["the weights it feeds"]
        largest = int(np.argmax(fed)) + 1
        raise CheckFailure(
            f"{call_text}: no hidden layer drops {STRONGEST_P_DROP_MIN:.0%} or more "
            f"(the largest p_drop is {1 - hidden_keep.min():.3g}). The network overfits, and "
            f"dropout pays where the weights are: hidden layer {largest} (width "
            f"{sizes[largest]}) feeds {fed[largest - 1]} of the {sum(fed)} weights that hidden "
            "layers feed."
        )
    violations = {
        measure: _order_violation(values, hidden_keep)
        for measure, values in _measures(sizes).items()
    }
    fed_violation = violations["the weights it feeds"]
    if fed_violation is not None and all(violations.values()):
        i, j = fed_violation
        fed = _measures(sizes)["the weights it feeds"]
        raise CheckFailure(
            f"{call_text}: hidden layer {i + 1} (width {sizes[i + 1]}, feeding {fed[i]} weights) "
            f"keeps {hidden_keep[i]:g}, more than hidden layer {j + 1} (width {sizes[j + 1]}, "
            f"feeding {fed[j]} weights), which keeps {hidden_keep[j]:g}. Layers with more "
            "weights overfit more: give them the lower keep_prob. (Ranking layers by width, or "
            "by the weights into or around them, is accepted too; this choice follows none of "
            f"these rankings, even with a slack of {ORDER_SLACK:g}.)"
        )


def _order_violation(measure: list[int], keep: np.ndarray) -> tuple[int, int] | None:
    """A pair (i, j) where layer i is larger by ``measure`` but keeps more than layer j beyond
    :data:`ORDER_SLACK`; None if there is none."""
    for i, bigger in enumerate(measure):
        for j, smaller in enumerate(measure):
            if bigger > smaller and keep[i] > keep[j] + ORDER_SLACK:
                return i, j
    return None

"""Notebook 03's graded exercises: each realistic mistake fails its exercise's checks with a
message naming it; correct solutions written differently pass under 20 seeds."""

import math

import numpy as np
import pytest

from autograder.exercises import run
from course_lib.checks import CheckFailure
from parts_helpers import assert_scored_in_parts

SEEDS = range(20)


# --- dropout_forward ------------------------------------------------------------------------


def _check_p(p_drop):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")


def forward_random_scaled_mask(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if not training:
        return x.copy(), None
    mask = (rng.random(x.shape) < 1 - p_drop) / (1 - p_drop)
    return (x * mask).astype(x.dtype), mask


def forward_binomial_bool_mask(x, p_drop, *, rng, training=True):
    if p_drop < 0 or p_drop >= 1:
        raise ValueError("p_drop out of range")
    if not training:
        return x, None
    keep = rng.binomial(1, 1 - p_drop, size=x.shape).astype(bool)
    out = np.where(keep, x / x.dtype.type(1 - p_drop), x.dtype.type(0))
    return out, keep


def forward_from_course_lib(x, p_drop, *, rng, training=True):
    from course_lib.dropout import dropout_forward

    return dropout_forward(x, p_drop, rng=rng, training=training)


CORRECT = [forward_random_scaled_mask, forward_binomial_bool_mask]


@pytest.mark.parametrize("fn", CORRECT)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_dropout_forward_passes(fn, seed):
    run("dropout_forward", fn, seed=seed, hidden=True)


def _mistake(transform_train=None, infer=None, mutate=False, mask_shape=None, use_global=False):
    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        keep_prob = 1 - p_drop
        if not training:
            return (infer(x, keep_prob) if infer else x.copy()), None
        shape = mask_shape(x) if mask_shape else x.shape
        draws = np.random.random(shape) if use_global else rng.random(shape)
        mask = draws < keep_prob
        if transform_train:
            return transform_train(x, mask, keep_prob, p_drop), None
        if mutate:
            x *= mask
            x /= keep_prob
            return x, None
        return (x * mask / keep_prob).astype(x.dtype), None

    return forward


MISTAKES = {
    "no scaling": (
        _mistake(lambda x, m, k, p: (x * m).astype(x.dtype)),
        "forget to divide by keep_prob",
    ),
    "scaled by p_drop": (
        _mistake(lambda x, m, k, p: (x * m * p).astype(x.dtype)),
        "multiplied by p_drop",
    ),
    "scaled by 1/p_drop": (
        _mistake(lambda x, m, k, p: (x * m / p).astype(x.dtype)),
        "divided by p_drop",
    ),
    "keep and drop swapped": (
        _mistake(lambda x, m, k, p: (x * ~m / k).astype(x.dtype)),
        "keep and drop are swapped",
    ),
    "dropout on at inference": (
        _mistake(infer=lambda x, k: x * (np.random.random(x.shape) < k) / k),
        "no unit may be dropped",
    ),
    "scaled at inference": (_mistake(infer=lambda x, k: x * k), "the output must equal the input"),
    "global np.random": (_mistake(use_global=True), "same seed gave different masks"),
    "one mask for the batch": (_mistake(mask_shape=lambda x: x.shape[1:]), "one mask is shared"),
    "mutates its input": (_mistake(mutate=True), "x was modified"),
    "float64 output": (_mistake(lambda x, m, k, p: x * (m / k)), "must keep the input.s dtype"),
    "no ValueError": (
        lambda x, p, *, rng, training=True: forward_random_scaled_mask(
            x, min(p, 0.99), rng=rng, training=training
        ),
        "must raise ValueError",
    ),
}


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_dropout_forward_mistake_fails_with_its_message(mistake):
    fn, message = MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("dropout_forward", fn, seed=0, hidden=True)


def test_unimplemented_exercise_says_so():
    def dropout_forward(x, p_drop, *, rng, training=True):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("dropout_forward", dropout_forward, seed=0, hidden=False)


def test_a_crash_in_student_code_is_reported_with_its_line():
    def dropout_forward(x, p_drop, *, rng, training=True):
        return x * undefined_name, None  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    with pytest.raises(CheckFailure, match=r"raised NameError.*undefined_name"):
        run("dropout_forward", dropout_forward, seed=0, hidden=False)


def test_returning_only_the_output_is_named():
    with pytest.raises(CheckFailure, match=r"must return a pair \(out, cache\)"):
        run("dropout_forward", lambda x, p, *, rng, training=True: x, seed=0, hidden=False)


# --- equivalent_standard_lr -----------------------------------------------------------------


def lr_direct(lr, p_drop):
    if lr <= 0 or not 0 <= p_drop < 1:
        raise ValueError("bad argument")
    return lr / (1 - p_drop) ** 2


def lr_via_boost(lr, p_drop):
    from math import isfinite

    if not (isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")
    boost = 1 / (1 - p_drop)
    return lr * boost * boost


@pytest.mark.parametrize("fn", [lr_direct, lr_via_boost])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_equivalent_lr_passes(fn, seed):
    run("equivalent_standard_lr", fn, seed=seed, hidden=True)


def _checked_lr(formula):
    def equivalent_standard_lr(lr, p_drop):
        if lr <= 0 or not 0 <= p_drop < 1:
            raise ValueError(f"lr must be > 0 and p_drop in [0, 1), got {lr}, {p_drop}")
        return formula(lr, p_drop)

    return equivalent_standard_lr


LR_ALTERNATIVES = {
    "divided twice": lambda lr, p: lr / (1 - p) / (1 - p),
    "squared reciprocal": lambda lr, p: lr * (1 / (1 - p)) ** 2,
    "math.pow": lambda lr, p: lr * math.pow(1 - p, -2),
    "product of keep_probs": lambda lr, p: lr / ((1 - p) * (1 - p)),
    "numpy float64": lambda lr, p: float(np.float64(lr) / np.square(np.float64(1) - p)),
    "keep_prob squared first, then inverted": lambda lr, p: lr * (1 / (1 - p) ** 2),
}


@pytest.mark.parametrize("way", LR_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_way_of_writing_the_equivalent_rate_passes(way, seed):
    run("equivalent_standard_lr", _checked_lr(LR_ALTERNATIVES[way]), seed=seed, hidden=True)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda lr, p: lr / (1 - p), "raw gradient scale"),
        (lambda lr, p: lr * (1 - p) ** 2, "larger rate, not a smaller one"),
        (lambda lr, p: lr / p**2, "not p_drop"),
        (lambda lr, p: lr / (1 - p) ** 2, "must raise ValueError"),
        (_checked_lr(lambda lr, p: float(np.float32(lr) / np.float32(1 - p) ** 2)), "should be"),
    ],
)
def test_equivalent_lr_mistakes(fn, message):
    with pytest.raises(CheckFailure, match=message):
        run("equivalent_standard_lr", fn, seed=0, hidden=True)


# --- points: the behaviour, then the argument checks ------------------------------------------


@pytest.mark.parametrize(
    "name,correct,unchecked,behaviour",
    [
        ("dropout_forward", forward_random_scaled_mask, MISTAKES["no ValueError"][0], 3),
        ("equivalent_standard_lr", lr_direct, lambda lr, p: lr / (1 - p) ** 2, 1.5),
    ],
)
def test_a_missing_value_error_costs_only_the_argument_checks(name, correct, unchecked, behaviour):
    assert_scored_in_parts(name, correct, unchecked, behaviour, seed=11)


# --- choose_keep_probs (a judgement) ----------------------------------------------------------
# Deterministic rules (section 7 of the notebook): nothing random to spend a probability on.


def keep_by_width(layer_sizes):
    """The notebook's solution: p_drop in proportion to the width, capped for narrow layers."""
    hidden = layer_sizes[1:-1]
    return [0.9] + [1 - min(0.5 * w / max(hidden), 0.1 ** (1 / w)) for w in hidden]


def keep_one_rate(layer_sizes):
    """One rate for every hidden layer wide enough, light dropout on the input, as a tuple."""
    return (0.8, *(0.5 if w >= 4 else 1.0 for w in layer_sizes[1:-1]))


def keep_by_weights_in(layer_sizes):
    """Ranks by the weights that feed a layer (the deeplearning.ai attachment), as an array."""
    sizes = np.asarray(layer_sizes)
    fed_by = sizes[:-2] * sizes[1:-1]
    p_drop = np.minimum(0.5 * fed_by / fed_by.max(), 0.1 ** (1 / sizes[1:-1]))
    return np.concatenate([[1.0], 1 - p_drop])


KEEP_CHOICES = [keep_by_width, keep_one_rate, keep_by_weights_in]


@pytest.mark.parametrize("fn", KEEP_CHOICES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_defensible_choice_of_rates_passes(fn, seed):
    run("choose_keep_probs", fn, seed=seed, hidden=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_reference_choice_passes(seed):
    from course_lib.analysis import choose_keep_probs

    run("choose_keep_probs", choose_keep_probs, seed=seed, hidden=True)


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda s: [1.0] + [0.5] * (len(s) - 2), "only 3 units.*0.125"),
        (lambda s: [0.5] + [0.8] * (len(s) - 2), "the input keeps 0.5, below 0.8"),
        (lambda s: [0.0] + [0.5] * (len(s) - 2), "did you return p_drop"),
        (lambda s: [1.0] + [0.3] * (len(s) - 2), "keeps 0.3, below 0.4"),
        (lambda s: [1.0] * (len(s) - 1), "no hidden layer drops 20%"),
        (lambda s: [1.0, 0.9, 0.9, 0.7, 1.0], "keeps 0.9, more than hidden layer 3.*none of"),
        (lambda s: [1.0] * len(s), "a list of 5 numbers, got shape \\(6,\\)"),
        (lambda s: "0.5", "one keep_prob per dropout site"),
    ],
)
def test_indefensible_rates_are_refused_naming_the_mistake(fn, message):
    with pytest.raises(CheckFailure, match=message):
        run("choose_keep_probs", fn, seed=0, hidden=False)


def test_the_rates_quoted_in_the_answer():
    keep = keep_by_width([3, 7, 7, 3, 2, 1])
    assert [round(k, 2) for k in keep] == [0.9, 0.5, 0.5, 0.79, 0.86]
    assert 0.5**2 == 0.25


def test_the_reference_refuses_bad_layer_sizes():
    from course_lib.analysis import choose_keep_probs

    for sizes in ([3, 1], [3, 0, 1], "3-7-1"):
        with pytest.raises(ValueError, match="layer_sizes"):
            choose_keep_probs(sizes)


@pytest.mark.slow
def test_a_choose_keep_probs_that_calls_the_reference_scores_zero(tmp_path):
    """Graded in a sandboxed kernel: course_lib's reference does not exist there, so handing
    the choice to it scores 0 with a message naming the exercise; the rest scores in full."""
    from autograder.grading import grade_notebook
    from grading_helpers import submission, write

    notebook = "03_inverted_dropout"
    lazy = "from course_lib.analysis import choose_keep_probs\n"
    path = write(
        submission(notebook, {"choose_keep_probs_solution": lazy}, correct=True),
        tmp_path / f"{notebook}.ipynb",
    )
    graded = grade_notebook(path, seed=5, timeout=60)
    (lazy_test,) = [test for test in graded["tests"] if test["id"] == "choose_keep_probs"]
    assert (lazy_test["points"], lazy_test["status"]) == (0, "failed")
    assert f"does not exist while notebook {notebook} is graded" in lazy_test["message"]
    assert "exercise choose_keep_probs" in lazy_test["message"]
    others = [test for test in graded["tests"] if test["id"] != "choose_keep_probs"]
    assert others and all(test["points"] == test["max_points"] for test in others), others


def test_the_notebook_states_the_rules_the_verdict_applies():
    from autograder.exercises import nb03_inverted_dropout as rules
    from test_prose import source

    text = source("03")
    assert f"the input keeps at least {rules.INPUT_KEEP_MIN:g}" in text
    assert f"no hidden layer keeps less than {rules.HIDDEN_KEEP_MIN:g}" in text
    assert f"which must stay at most {rules.WHOLE_LAYER_DROPPED_MAX:g}" in text
    assert f"some hidden layer has {rules.WIDE_LAYER} units or more" in text
    assert f"drops at least {rules.STRONGEST_P_DROP_MIN:.0%}" in text
    assert f"up to a slack of {rules.ORDER_SLACK:g}" in text


# --- dropout_forward: masks independent across samples and across units -----------------------
# Found by a red team: masks that share draws in a pattern passed the pairs (0, 1), (2, 3), ...
# of samples that were all the check compared. Each sharing below must cost the behaviour
# points on every seed; each correct way of drawing the mask must keep them.

INDEPENDENCE_SEEDS = range(12)


def _forward_with_mask(draw_mask):
    """dropout_forward whose keep-mask is ``draw_mask(shape, keep_prob, rng)``."""

    def dropout_forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training or p_drop == 0:
            return x.copy(), None
        keep = 1.0 - p_drop
        mask = draw_mask(x.shape, keep, rng)
        return (x * mask / keep).astype(x.dtype), mask

    return dropout_forward


def _half_batch_twice(shape, keep, rng):
    half = rng.random(((shape[0] + 1) // 2, *shape[1:])) < keep
    return np.concatenate([half, half])[: shape[0]]


def _pairs_of_units(shape, keep, rng):
    size = math.prod(shape)
    return np.repeat(rng.random((size + 1) // 2) < keep, 2)[:size].reshape(shape)


def _chained_rows(shape, keep, rng):
    mask = rng.random(shape) < keep
    mask[2::2] = mask[1:-1:2][: mask[2::2].shape[0]]
    return mask


def _column_tiles(shape, keep, rng):
    """Unit j and unit j + d/2 of every sample share a draw (a half-width mask tiled twice)."""
    flat = (shape[0], math.prod(shape[1:]))
    half = rng.random((flat[0], (flat[1] + 1) // 2)) < keep
    return np.tile(half, (1, 2))[:, : flat[1]].reshape(shape)


def _every_fourth_sample_repeats(shape, keep, rng):
    mask = rng.random(shape) < keep
    mask[3::4] = mask[0 : shape[0] - 3 : 4][: mask[3::4].shape[0]]
    return mask


def _tiles_of_eight_samples(shape, keep, rng):
    """A mask drawn for 8 samples, repeated down the batch."""
    block = rng.random((8, *shape[1:])) < keep
    return np.resize(block, shape)


def _few_units_copied(shape, keep, rng):
    """Only the first quarter of the units of an odd sample reuse the draws of the sample
    before it: no two masks are equal, but neighbouring ones agree too often."""
    mask = rng.random(shape).reshape(shape[0], -1) < keep
    width = max(1, mask.shape[1] // 4)
    odd = mask[1::2]
    odd[:, :width] = mask[0 : 2 * odd.shape[0] : 2, :width]
    return mask.reshape(shape)


SHARING_MASKS = {
    "half batch twice": _half_batch_twice,
    "pairs of units": _pairs_of_units,
    "chained rows": _chained_rows,
    "column tiles j and j + d/2": _column_tiles,
    "every 4th sample repeats": _every_fourth_sample_repeats,
    "tiles of 8 samples": _tiles_of_eight_samples,
}
_SHARING_MESSAGE = "reuse the mask of another sample|kept or dropped together|share one draw"


@pytest.mark.parametrize("seed", INDEPENDENCE_SEEDS)
@pytest.mark.parametrize("sharing", SHARING_MASKS)
def test_a_mask_shared_in_any_pattern_loses_the_behaviour_points(sharing, seed):
    fn = _forward_with_mask(SHARING_MASKS[sharing])
    for hidden in (False, True):
        with pytest.raises(CheckFailure, match=_SHARING_MESSAGE):
            run("dropout_forward", fn, seed=seed, hidden=hidden)


def test_sharing_is_named_in_words_a_student_understands():
    def message(sharing):
        with pytest.raises(CheckFailure) as failure:
            run("dropout_forward", _forward_with_mask(SHARING_MASKS[sharing]), seed=3, hidden=True)
        return str(failure.value)

    assert "Samples 0 and 100 agree on 100 of their 100 units" in message("half batch twice")
    assert "some samples reuse the mask of another sample" in message("chained rows")
    assert "some units are kept or dropped together" in message("pairs of units")
    assert "Every sample needs its own draw" in message("every 4th sample repeats")


@pytest.mark.parametrize("seed", range(4))
def test_partial_sharing_between_neighbouring_samples_is_caught(seed):
    with pytest.raises(CheckFailure, match="Neighbouring samples agree on"):
        run("dropout_forward", _forward_with_mask(_few_units_copied), seed=seed, hidden=True)


def _row_by_row(shape, keep, rng):
    rows = np.empty((shape[0], math.prod(shape[1:])), dtype=bool)
    for i in range(shape[0]):
        rows[i] = rng.random(rows.shape[1]) < keep
    return rows.reshape(shape)


def _column_by_column(shape, keep, rng):
    columns = np.empty((math.prod(shape[1:]), shape[0]), dtype=bool)
    for j in range(columns.shape[0]):
        columns[j] = rng.random(shape[0]) < keep
    return columns.T.reshape(shape)


def _float32_draws(shape, keep, rng):
    return rng.random(shape, dtype=np.float32) < np.float32(keep)


RIGHT_MASKS = {
    "random < keep": lambda shape, keep, rng: rng.random(shape) < keep,
    "random >= p_drop": lambda shape, keep, rng: rng.random(shape) >= 1 - keep,
    "binomial": lambda shape, keep, rng: rng.binomial(1, keep, shape).astype(bool),
    "uniform": lambda shape, keep, rng: rng.uniform(0, 1, shape) < keep,
    "choice": lambda shape, keep, rng: rng.choice([True, False], size=shape, p=[keep, 1 - keep]),
    "row by row": _row_by_row,
    "column by column": _column_by_column,
    "float32 draws": _float32_draws,
}


@pytest.mark.parametrize("seed", INDEPENDENCE_SEEDS)
@pytest.mark.parametrize("way", RIGHT_MASKS)
def test_every_way_of_drawing_independent_masks_keeps_full_marks(way, seed):
    run("dropout_forward", _forward_with_mask(RIGHT_MASKS[way]), seed=seed, hidden=True)

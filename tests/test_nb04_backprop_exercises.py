"""Notebook 04's graded exercises: each realistic mistake fails its exercise's checks with a
message naming it; correct solutions written differently pass under 20 seeds."""

import copy
import math

import numpy as np
import pytest

from autograder.exercises import get, run
from autograder.exercises.nb04_backprop import LayerPair
from course_lib.checks import CheckFailure
from course_lib.gradcheck import relative_error as reference_relative_error
from parts_helpers import assert_scored_in_parts, not_implemented

SEEDS = range(20)


# --- dropout_backward: correct pairs ----------------------------------------------------------


def _check_p(p_drop):
    if not 0 <= p_drop < 1:
        raise ValueError(f"p_drop must be in [0, 1), got {p_drop}")


def forward_bool_mask(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    if not training or p_drop == 0:
        return x.copy(), None
    keep_prob = 1 - p_drop
    mask = rng.random(x.shape) < keep_prob
    return (x * mask / keep_prob).astype(x.dtype), (mask, keep_prob)


def backward_bool_mask(dout, cache):
    if cache is None:
        return dout.copy()
    mask, keep_prob = cache
    return (dout * mask / keep_prob).astype(dout.dtype)


def forward_scaled_mask(x, p_drop, *, rng, training=True):
    """Caches the mask already scaled, in the input's dtype, and a scale of 1 at inference."""
    if p_drop < 0 or p_drop >= 1:
        raise ValueError("p_drop out of range")
    if not training:
        return x, np.ones((), dtype=x.dtype)
    keep = rng.binomial(1, 1 - p_drop, size=x.shape)
    scaled = keep.astype(x.dtype) / x.dtype.type(1 - p_drop)
    return x * scaled, scaled


def backward_scaled_mask(dout, cache):
    return dout * cache


def forward_replayed_mask(x, p_drop, *, rng, training=True):
    """Caches a copy of the generator, not the mask; backward redraws the same mask."""
    _check_p(p_drop)
    state = {"rng": copy.deepcopy(rng), "shape": x.shape, "p_drop": p_drop, "training": training}
    if not training or p_drop == 0:
        return np.array(x, copy=True), state
    keep_prob = 1 - p_drop
    mask = rng.random(x.shape) < keep_prob
    return np.where(mask, x / x.dtype.type(keep_prob), x.dtype.type(0)), state


def backward_replayed_mask(dout, cache):
    if not cache["training"] or cache["p_drop"] == 0:
        return dout.copy()
    keep_prob = 1 - cache["p_drop"]
    mask = copy.deepcopy(cache["rng"]).random(cache["shape"]) < keep_prob
    return np.where(mask, dout / dout.dtype.type(keep_prob), dout.dtype.type(0))


CORRECT_PAIRS = {
    "bool mask": LayerPair(forward_bool_mask, backward_bool_mask),
    "scaled mask": LayerPair(forward_scaled_mask, backward_scaled_mask),
    "replayed generator": LayerPair(forward_replayed_mask, backward_replayed_mask),
}


@pytest.mark.parametrize("pair", CORRECT_PAIRS)
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_dropout_pairs_pass(pair, seed):
    run("dropout_backward", CORRECT_PAIRS[pair], seed=seed, hidden=True)


def test_the_probe_also_takes_a_plain_tuple():
    exercise = get("dropout_backward")
    observed = exercise.probe((forward_bool_mask, backward_bool_mask), 3, True)
    assert exercise.verdict is not None  # only the grading kernel's copy lacks verdicts
    exercise.verdict(observed, 3, True)


# --- dropout_backward: mistakes ---------------------------------------------------------------


def _backward(compute):
    """A backward on forward_bool_mask's cache, with dx = compute(dout, mask, keep_prob)."""

    def backward(dout, cache):
        if cache is None:
            return dout.copy()
        mask, keep_prob = cache
        return compute(dout, mask, keep_prob)

    return backward


def _cast(values, like):
    return np.asarray(values).astype(like.dtype)


def forward_caching_output(x, p_drop, *, rng, training=True):
    out, cache = forward_bool_mask(x, p_drop, rng=rng, training=training)
    return out, (None if cache is None else (out, cache[1]))


def backward_output_as_mask(dout, cache):
    if cache is None:
        return dout.copy()
    out, _keep_prob = cache
    return _cast(dout * out, dout)


def backward_mask_from_output(dout, cache):
    if cache is None:
        return dout.copy()
    out, keep_prob = cache
    return _cast(dout * (out != 0) / keep_prob, dout)


def forward_keeping_rng(x, p_drop, *, rng, training=True):
    out, cache = forward_bool_mask(x, p_drop, rng=rng, training=training)
    return out, (None if cache is None else (rng, 1 - p_drop))


def backward_redraws_from_rng(dout, cache):
    if cache is None:
        return dout.copy()
    rng, keep_prob = cache
    return _cast(dout * (rng.random(dout.shape) < keep_prob) / keep_prob, dout)


def backward_in_place(dout, cache):
    if cache is None:
        return dout
    mask, keep_prob = cache
    dout *= mask
    dout /= keep_prob
    return dout


def forward_mask_at_inference(x, p_drop, *, rng, training=True):
    _check_p(p_drop)
    keep_prob = 1 - p_drop
    if not training or p_drop == 0:
        return x.copy(), (np.ones(x.shape, dtype=bool), keep_prob)
    return forward_bool_mask(x, p_drop, rng=rng)


def forward_consumable_cache(x, p_drop, *, rng, training=True):
    out, cache = forward_bool_mask(x, p_drop, rng=rng, training=training)
    return out, (None if cache is None else list(cache))


def backward_consumes_cache(dout, cache):
    if cache is None:
        return dout.copy()
    keep_prob = cache.pop()
    mask = cache.pop()
    return _cast(dout * mask / keep_prob, dout)


def _forward(transform=None, mask_shape=None, use_global=False, mutate=False, swap=False):
    """A forward with one mistake, paired with a backward consistent with it."""

    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training or p_drop == 0:
            return x.copy(), None
        keep_prob = 1 - p_drop
        shape = mask_shape(x) if mask_shape else x.shape
        draws = np.random.random(shape) if use_global else rng.random(shape)
        mask = draws < (p_drop if swap else keep_prob)
        mask = np.broadcast_to(mask, x.shape)
        scale = transform(keep_prob) if transform else 1 / keep_prob
        if mutate:
            x *= mask
            x *= scale
            return x, (mask, 1 / scale)
        return _cast(x * mask * scale, x), (mask, 1 / scale)

    return LayerPair(forward, backward_bool_mask)


def _pair_with_backward(backward, forward=forward_bool_mask):
    return LayerPair(forward, backward)


MISTAKES = {
    "backward ignores the mask": (
        _pair_with_backward(_backward(lambda d, m, k: d.copy())),
        "ignores the mask",
    ),
    "backward scales but ignores the mask": (
        _pair_with_backward(_backward(lambda d, m, k: _cast(d / k, d))),
        "scales but ignores the mask",
    ),
    "new mask drawn in backward (global np.random)": (
        _pair_with_backward(
            _backward(lambda d, m, k: _cast(d * (np.random.random(d.shape) < k) / k, d))
        ),
        "non-zero for units the forward pass dropped",
    ),
    "new mask drawn in backward (from the forward's rng)": (
        LayerPair(forward_keeping_rng, backward_redraws_from_rng),
        "non-zero for units the forward pass dropped",
    ),
    "missing 1/keep_prob in backward": (
        _pair_with_backward(_backward(lambda d, m, k: _cast(d * m, d))),
        "not scaled",
    ),
    "scaled by keep_prob in backward": (
        _pair_with_backward(_backward(lambda d, m, k: _cast(d * m * k, d))),
        "multiplying by keep_prob",
    ),
    "scaled by 1/p_drop in backward": (
        _pair_with_backward(_backward(lambda d, m, k: _cast(d * m / (1 - k), d))),
        "not by p_drop",
    ),
    "forward output used as the mask": (
        LayerPair(forward_caching_output, backward_output_as_mask),
        "multiplied by the forward output",
    ),
    "mask read from the output": (
        LayerPair(forward_caching_output, backward_mask_from_output),
        r"read the mask from the output \(out != 0\)",
    ),
    "backward mutates dout": (_pair_with_backward(backward_in_place), "dout was modified"),
    "float64 dx": (
        _pair_with_backward(_backward(lambda d, m, k: d * (m / k))),
        "dx must keep the input.s dtype",
    ),
    "backward crashes on the inference cache": (
        _pair_with_backward(
            _backward(lambda d, m, k: d * m / k),
            forward=lambda x, p, *, rng, training=True: (
                forward_bool_mask(x, p, rng=rng, training=training)
                if training
                else (x.copy(), "inference")
            ),
        ),
        "inference forward",
    ),
    "backward scales at inference": (
        LayerPair(forward_mask_at_inference, backward_bool_mask),
        r"At inference \(training=False\) .* dout times 2",
    ),
    "backward consumes its cache": (
        LayerPair(forward_consumable_cache, backward_consumes_cache),
        "same cache was used a second time",
    ),
    "forward not scaled": (_forward(transform=lambda k: 1.0), "forget to divide by keep_prob"),
    "forward divides by p_drop": (_forward(transform=lambda k: 1 / (1 - k)), "divided by p_drop"),
    "forward keep and drop swapped": (_forward(swap=True), "keep and drop are swapped"),
    "forward uses global np.random": (_forward(use_global=True), "same seed gave different masks"),
    "one mask for the batch": (_forward(mask_shape=lambda x: x.shape[1:]), "one mask is shared"),
    "forward mutates x": (_forward(mutate=True), "x was modified"),
    "no ValueError": (
        LayerPair(
            lambda x, p, *, rng, training=True: forward_bool_mask(
                x, min(p, 0.99), rng=rng, training=training
            ),
            backward_bool_mask,
        ),
        "must raise ValueError",
    ),
}


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_each_dropout_backward_mistake_fails_with_its_message(mistake):
    pair, message = MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("dropout_backward", pair, seed=0, hidden=True)


@pytest.mark.parametrize(
    "mistake",
    [
        "backward ignores the mask",
        "mask read from the output",
        "backward mutates dout",
        "scaled by keep_prob in backward",
    ],
)
def test_the_self_check_already_catches_the_common_backward_mistakes(mistake):
    pair, message = MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("dropout_backward", pair, seed=0, hidden=False)


def test_passing_only_the_backward_asks_for_the_pair():
    with pytest.raises(CheckFailure, match=r"pass both.*LayerPair\(dropout_forward, "):
        run("dropout_backward", backward_bool_mask, seed=0, hidden=False)


def test_unimplemented_pair_says_so():
    def dropout_forward(x, p_drop, *, rng, training=True):
        raise NotImplementedError()

    def dropout_backward(dout, cache):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("dropout_backward", LayerPair(dropout_forward, dropout_backward), seed=0, hidden=False)


def test_unimplemented_backward_says_so():
    def dropout_backward(dout, cache):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="dropout_backward is not implemented yet"):
        run(
            "dropout_backward", LayerPair(forward_bool_mask, dropout_backward), seed=0, hidden=False
        )


def test_a_crash_in_the_backward_is_reported_with_its_line():
    def dropout_backward(dout, cache):
        return dout * undefined_name  # noqa: F821  # pyright: ignore[reportUndefinedVariable] - the crash under test

    with pytest.raises(CheckFailure, match=r"raised NameError.*undefined_name"):
        run(
            "dropout_backward", LayerPair(forward_bool_mask, dropout_backward), seed=0, hidden=False
        )


def test_returning_only_the_output_is_named():
    pair = LayerPair(lambda x, p, *, rng, training=True: x, backward_bool_mask)
    with pytest.raises(CheckFailure, match=r"must return a pair \(out, cache\)"):
        run("dropout_backward", pair, seed=0, hidden=False)


def test_a_disagreeing_gradient_check_is_reported():
    exercise = get("dropout_backward")
    observed = exercise.probe(CORRECT_PAIRS["bool mask"], 5, False)
    observed["gradcheck_dx"] = observed["gradcheck_dx"] * 1.5
    assert exercise.verdict is not None  # only the grading kernel's copy lacks verdicts
    with pytest.raises(CheckFailure, match=r"gradient check failed.*your backward is 2.00e-01"):
        exercise.verdict(observed, 5, False)


def test_layer_pair_runs_the_forward_when_called():
    pair = LayerPair(forward_bool_mask, backward_bool_mask)
    x = np.ones((3, 4))
    out, _ = pair(x, 0.5, rng=np.random.default_rng(0))
    assert np.array_equal(out, forward_bool_mask(x, 0.5, rng=np.random.default_rng(0))[0])


# --- relative_error ---------------------------------------------------------------------------


def rel_with_norms(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    total = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if total == 0 else float(np.linalg.norm(a - b) / total)


def rel_with_dot_products(a, b):
    if np.shape(a) != np.shape(b):
        raise ValueError("a and b must have the same shape")
    diff = np.subtract(a, b, dtype=np.float64).ravel()
    norm_a = math.sqrt(float(np.vdot(a, a)))
    norm_b = math.sqrt(float(np.vdot(b, b)))
    if norm_a == norm_b == 0.0:
        return 0.0
    return math.sqrt(float(diff @ diff)) / (norm_a + norm_b)


@pytest.mark.parametrize("fn", [rel_with_norms, rel_with_dot_products, reference_relative_error])
@pytest.mark.parametrize("seed", SEEDS)
def test_correct_relative_error_passes(fn, seed):
    run("relative_error", fn, seed=seed, hidden=True)


# more textbook ways, in the gradients' own dtype (float32 in the hidden float32 case) unless they
# cast; the exercise asks for Euclidean norms of all entries, so max-abs norms are mistakes


def _ratio_of_norms(norm):
    def relative_error(a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
        denominator = norm(a) + norm(b)
        return 0.0 if denominator == 0 else float(norm(a - b) / denominator)

    return relative_error


def _scipy_nrm2(v):
    """scipy.linalg.norm of a flat float array calls BLAS nrm2, which rescales as it goes."""
    from scipy.linalg import norm

    return norm(np.ravel(v))


REL_ALTERNATIVES = {
    "np.linalg.norm in the input dtype": _ratio_of_norms(np.linalg.norm),
    "sqrt of a sum of squares": _ratio_of_norms(lambda v: np.sqrt(np.sum(v * v))),
    "sqrt of np.square summed in float64": _ratio_of_norms(
        lambda v: math.sqrt(float(np.sum(np.square(v), dtype=np.float64)))
    ),
    "einsum": _ratio_of_norms(lambda v: np.sqrt(np.einsum("i,i->", np.ravel(v), np.ravel(v)))),
    "BLAS nrm2 (scipy.linalg.norm)": _ratio_of_norms(_scipy_nrm2),
    "math.hypot over the entries": _ratio_of_norms(lambda v: math.hypot(*np.ravel(v).tolist())),
    "a Python loop": _ratio_of_norms(lambda v: math.sqrt(sum(x * x for x in np.ravel(v).tolist()))),
}


@pytest.mark.parametrize("way", REL_ALTERNATIVES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_way_of_computing_the_norms_passes(way, seed):
    run("relative_error", REL_ALTERNATIVES[way], seed=seed, hidden=True)


def _same_shape(fn):
    def checked(a, b):
        if np.shape(a) != np.shape(b):
            raise ValueError("shape")
        return fn(np.asarray(a, dtype=float), np.asarray(b, dtype=float))

    return checked


def _elementwise(a, b):
    return np.abs(a - b) / (np.abs(a) + np.abs(b))


REL_MISTAKES = {
    "divides by ||a|| only": (
        _same_shape(lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(a)),
        r"divides by \|\|a\|\| only",
    ),
    "max-abs instead of norms": (
        _same_shape(lambda a, b: np.max(np.abs(a - b)) / (np.max(np.abs(a)) + np.max(np.abs(b)))),
        r"max \|entry\| instead of the Euclidean norm",
    ),
    "missing zero case": (
        _same_shape(lambda a, b: np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))),
        "two zero arrays must be 0.0",
    ),
    "absolute error": (_same_shape(lambda a, b: float(np.linalg.norm(a - b))), "absolute error"),
    "elementwise mean": (
        _same_shape(lambda a, b: float(np.mean(_elementwise(a, b)))),
        r"elementwise relative error \(mean\)",
    ),
    "elementwise max with a floor (CS231n style)": (
        _same_shape(
            lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
        ),
        r"elementwise relative error \(max\)",
    ),
    "squared norms": (
        _same_shape(lambda a, b: np.sum((a - b) ** 2) / (np.sum(a * a) + np.sum(b * b))),
        "squared norms",
    ),
    "spectral norm": (
        _same_shape(
            lambda a, b: np.linalg.norm(a - b, 2) / (np.linalg.norm(a, 2) + np.linalg.norm(b, 2))
        ),
        "spectral norm",
    ),
    "max of the norms": (
        _same_shape(lambda a, b: np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b))),
        r"max\(\|\|a\|\|, \|\|b\|\|\)",
    ),
    "no reduction": (_same_shape(_elementwise), "must return one number"),
    "no shape check": (
        lambda a, b: reference_relative_error(*np.broadcast_arrays(a, b)),
        "must raise ValueError",
    ),
    "forgot to return": (_same_shape(lambda a, b: None), "must return a float, got NoneType"),
    "float64 gradients compared in float32": (
        _same_shape(lambda a, b: rel_with_norms(a.astype(np.float32), b.astype(np.float32))),
        r"expected .* = \|\|a - b\|\| / \(\|\|a\|\| \+ \|\|b\|\|\)",
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mistake", REL_MISTAKES)
def test_each_relative_error_mistake_fails_with_its_message(mistake):
    fn, message = REL_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("relative_error", fn, seed=0, hidden=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "mistake",
    [
        "divides by ||a|| only",
        "missing zero case",
        "elementwise mean",
        "no shape check",
        "spectral norm",
    ],
)
def test_the_relative_error_self_check_catches_them_too(mistake):
    fn, message = REL_MISTAKES[mistake]
    with pytest.raises(CheckFailure, match=message):
        run("relative_error", fn, seed=0, hidden=False)


def test_unimplemented_relative_error_says_so():
    def relative_error(a, b):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        run("relative_error", relative_error, seed=0, hidden=False)


def test_probe_output_survives_the_wire():
    """The grader sends what a probe observed through its JSON wire format."""
    wire = pytest.importorskip("autograder.wire")
    for name, fn in (
        ("dropout_backward", CORRECT_PAIRS["replayed generator"]),
        ("relative_error", rel_with_norms),
    ):
        exercise = get(name)
        observed = wire.decode(wire.encode(exercise.probe(fn, 7, True)))
        assert exercise.verdict is not None  # only the grading kernel's copy lacks verdicts
        exercise.verdict(observed, 7, True)


# --- points: the behaviour, then the argument checks ------------------------------------------


@pytest.mark.parametrize(
    "name,correct,unchecked,behaviour,unwritten",
    [
        (
            "dropout_backward",
            CORRECT_PAIRS["bool mask"],
            MISTAKES["no ValueError"][0],
            3,
            LayerPair(not_implemented, not_implemented),
        ),
        ("relative_error", rel_with_norms, REL_MISTAKES["no shape check"][0], 2, not_implemented),
    ],
)
def test_a_missing_value_error_costs_only_the_argument_checks(
    name, correct, unchecked, behaviour, unwritten
):
    assert_scored_in_parts(name, correct, unchecked, behaviour, seed=11, unwritten=unwritten)


# --- choose_gradient_check (a judgement) ------------------------------------------------------
# The verdict runs the check itself, deterministically: nothing random to spend a probability on.


def check_from_epsilon(dtype):
    """The notebook's solution: h and the threshold both eps ** (1/3)."""
    eps = np.finfo(dtype).eps
    return float(eps ** (1 / 3)), float(eps ** (1 / 3))


def check_table(dtype):
    """A table by name, in a list."""
    return {"float64": [1e-5, 1e-7], "float32": [1e-3, 1e-2], "float16": [3e-2, 0.1]}[
        np.dtype(dtype).name
    ]


def check_by_comparison(dtype):
    """Compares with the NumPy types, returns NumPy scalars."""
    if dtype == np.float64:
        return np.float64(1e-6), np.float64(1e-6)
    if dtype == np.float32:
        return np.float32(3e-3), np.float32(3e-3)
    return np.float16(0.05), np.float16(0.12)


CHECK_CHOICES = [check_from_epsilon, check_table, check_by_comparison]


@pytest.mark.parametrize("fn", CHECK_CHOICES)
@pytest.mark.parametrize("seed", range(5))
def test_every_defensible_gradient_check_passes(fn, seed):
    run("choose_gradient_check", fn, seed=seed, hidden=True)


@pytest.mark.parametrize("seed", range(5))
def test_the_reference_gradient_check_passes(seed):
    from course_lib.gradcheck import choose_gradient_check

    run("choose_gradient_check", choose_gradient_check, seed=seed, hidden=True)


def _float64_recipe_everywhere(dtype):
    return 1e-5, 1e-7


@pytest.mark.parametrize(
    "fn,hidden,message",
    [
        (_float64_recipe_everywhere, False, r"float32\) = \(1e-05, 1e-07\) fails a correct.*"
         "No step does much better"),
        (lambda d: (1e-12, 1e-2), False, "step is too small for float32"),
        (lambda d: (0.9, 0.05), False, "step is too large"),
        (lambda d: (1e-3, 0.5), False, "lets the backward that ignores the mask pass"),
        (lambda d: check_table(d) if np.dtype(d).name != "float16" else (1e-2, 1e-3), True,
         r"float16\) = \(0.01, 0.001\) fails a correct"),
        (lambda d: (0.0, 1e-3), False, "step h = 0"),
        (lambda d: (1e-5, 1.5), False, "threshold 1.5"),
        (lambda d: 1e-5, False, "pair \\(h, threshold\\)"),
    ],
)  # fmt: skip
def test_indefensible_gradient_checks_are_refused_naming_the_mistake(fn, hidden, message):
    with pytest.raises(CheckFailure, match=message):
        run("choose_gradient_check", fn, seed=0, hidden=hidden)


def test_the_accepted_steps_are_those_where_running_the_check_tells_the_two_apart():
    """In float32 with a threshold of 1e-2, the verdict accepts a step exactly when, on every
    layer it draws, the correct dx passes and the dx that ignores the mask fails."""
    from autograder.exercises.nb04_backprop import _check_seeds
    from course_lib.gradcheck import masked_layer_check

    seeds = _check_seeds(0, False)
    outcomes = {}
    for h in (1e-7, 1e-6, 1e-4, 1e-2, 0.3):
        errors = [masked_layer_check(h, "float32", seed=seed) for seed in seeds]
        works = all(e["correct"] <= 1e-2 < e["ignores_mask"] for e in errors)

        def choice(dtype, h=h):
            return (h, 1e-2) if np.dtype(dtype) == np.float32 else check_table(dtype)

        try:
            run("choose_gradient_check", choice, seed=0, hidden=False)
            accepted = True
        except CheckFailure:
            accepted = False
        assert accepted == works, h
        outcomes[h] = accepted
    assert outcomes == {1e-7: False, 1e-6: False, 1e-4: True, 1e-2: True, 0.3: True}


def test_the_numbers_quoted_in_the_answer():
    from course_lib.gradcheck import masked_layer_check

    for dtype, h, best in (("float32", 5e-3, 2e-5), ("float16", 0.1, 1e-2)):
        eps = float(np.finfo(dtype).eps)
        assert f"{eps ** (1 / 3):.0e}" == f"{h:.0e}" and f"{eps ** (2 / 3):.0e}" == f"{best:.0e}"
    buggy = [masked_layer_check(0.1, "float16", seed=s)["ignores_mask"] for s in range(50)]
    assert round(min(buggy), 1) == 0.3  # "0.3 or more" for the ignored mask


def test_masked_layer_check_refuses_bad_arguments():
    from course_lib.gradcheck import choose_gradient_check, masked_layer_check

    for args, kwargs, name in [((0.0, "float64"), {}, "h"), ((1e-5, "int32"), {}, "dtype"),
                               ((1e-5, "float64"), {"p_drop": 1.0}, "p_drop"),
                               ((1e-9, "float16"), {}, "h must be representable")]:  # fmt: skip
        with pytest.raises(ValueError, match=name):
            masked_layer_check(*args, **kwargs)
    with pytest.raises(ValueError, match="dtype"):
        choose_gradient_check("int8")


@pytest.mark.slow
def test_a_choose_gradient_check_that_calls_the_reference_scores_zero(tmp_path):
    """Graded in a sandboxed kernel: course_lib's reference does not exist there, so handing
    the choice to it scores 0 with a message naming the exercise; the rest scores in full."""
    from autograder.grading import grade_notebook
    from grading_helpers import submission, write

    notebook = "04_backprop"
    lazy = "from course_lib.gradcheck import choose_gradient_check\n"
    path = write(
        submission(notebook, {"choose_gradient_check_solution": lazy}, correct=True),
        tmp_path / f"{notebook}.ipynb",
    )
    graded = grade_notebook(path, seed=5, timeout=60)
    (lazy_test,) = [test for test in graded["tests"] if test["id"] == "choose_gradient_check"]
    assert (lazy_test["points"], lazy_test["status"]) == (0, "failed")
    assert f"does not exist while notebook {notebook} is graded" in lazy_test["message"]
    assert "exercise choose_gradient_check" in lazy_test["message"]
    others = [test for test in graded["tests"] if test["id"] != "choose_gradient_check"]
    assert others and all(test["points"] == test["max_points"] for test in others), others


def test_the_notebook_states_the_rate_the_check_runs_at():
    from autograder.exercises.nb04_backprop import _CHECK_P_DROP
    from test_prose import source

    assert f"section 6 at `p_drop = {_CHECK_P_DROP}`" in source("04")


# --- a forward mask shared in a pattern loses the behaviour points -----------------------------


def _forward_sharing(share):
    def forward(x, p_drop, *, rng, training=True):
        _check_p(p_drop)
        if not training or p_drop == 0:
            return x.copy(), None
        keep_prob = 1 - p_drop
        mask = share(rng.random(x.shape)) < keep_prob
        return (x * mask / keep_prob).astype(x.dtype), (mask, keep_prob)

    return LayerPair(forward, backward_bool_mask)


def _half_batch_twice(draws):
    n = draws.shape[0]
    return np.concatenate([draws[: (n + 1) // 2]] * 2)[:n]


def _every_fourth_sample_repeats(draws):
    draws = draws.copy()
    draws[3::4] = draws[0 : draws.shape[0] - 3 : 4][: draws[3::4].shape[0]]
    return draws


def _units_in_pairs(draws):
    return np.repeat(draws[..., : (draws.shape[-1] + 1) // 2], 2, axis=-1)[..., : draws.shape[-1]]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "share", [_half_batch_twice, _every_fourth_sample_repeats, _units_in_pairs]
)
def test_a_forward_mask_shared_in_a_pattern_loses_the_behaviour_points(share, seed):
    with pytest.raises(CheckFailure, match=r"reuse the mask of another sample|kept or dropped"):
        run("dropout_backward", _forward_sharing(share), seed=seed, hidden=True)

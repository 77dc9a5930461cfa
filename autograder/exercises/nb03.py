"""Exercises of notebook 03: ``dropout_forward`` (inverted dropout) and ``equivalent_standard_lr``."""

from __future__ import annotations

import math

import numpy as np

from course_lib import checks
from course_lib.checks import CheckFailure

from . import call, exercise, kit

NOTEBOOK = "03_inverted_dropout"


def _inputs(seed: int, shape, dtype=np.float64) -> np.ndarray:
    """Inputs with no zero entries, so that the zeros of an output are exactly the dropped units."""
    rng = np.random.default_rng([seed, *shape, np.dtype(dtype).itemsize])
    signs = rng.choice([-1.0, 1.0], size=shape)
    return (signs * rng.uniform(0.5, 1.5, size=shape)).astype(dtype)


def _cases(hidden: bool):
    """(p_drop, shape, dtype) of the training-mode calls."""
    cases = [(0.3, (200, 100), np.float64), (0.3, (200, 100), np.float32)]
    if hidden:
        cases += [(0.1, (300, 64), np.float64), (0.5, (40, 25, 20), np.float32),
                  (0.8, (250, 80), np.float64), (0.25, (128, 96), np.float16)]
    return cases


def _output(result, name="dropout_forward"):
    if not (isinstance(result, tuple) and len(result) == 2):
        raise CheckFailure(f"{name} must return a pair (out, cache), got "
                           f"{type(result).__name__}.")
    return result[0]


@exercise("dropout_forward", NOTEBOOK,
          reference="course_lib.dropout.dropout_forward",
          equivalents=("course_lib.dropout.standard_dropout_forward",))
class DropoutForward:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {}
        for i, (p_drop, shape, dtype) in enumerate(_cases(hidden)):
            x = _inputs(seed + i, shape, dtype)
            rng = np.random.default_rng([seed, i])
            observed[f"train_{i}"] = _output(call(fn, x, p_drop, rng=rng))
            observed[f"x_after_{i}"] = x
            observed[f"infer_{i}"] = _output(call(fn, x, p_drop, rng=rng, training=False))
        x = _inputs(seed, (64, 64))
        observed["rng_runs"] = [_output(call(fn, x, 0.5, rng=np.random.default_rng(s)))
                                for s in (seed, seed, seed + 1)]
        observed["p_zero"] = _output(call(fn, x, 0.0, rng=np.random.default_rng(seed)))
        x_mean = _inputs(seed + 100, (20, 50))
        rng = np.random.default_rng([seed, 100])
        observed["repeats"] = [_output(call(fn, x_mean, 0.4, rng=rng))
                               for _ in range(200 if hidden else 40)]
        if hidden:
            for bad in (1.0, -0.1, 1.5):
                observed[f"bad_{bad}"] = kit.outcome_of_bad_call(fn, x, bad,
                                                             rng=np.random.default_rng(seed))
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for i, (p_drop, shape, dtype) in enumerate(_cases(hidden)):
            x = _inputs(seed + i, shape, dtype)
            checks.assert_unchanged(x, observed[f"x_after_{i}"])
            out = observed[f"train_{i}"]
            checks.assert_same_shape_dtype(x, out)
            # independence first: a mask shared by the batch also skews the kept count, and
            # "shared mask" is the message that helps
            checks.assert_masks_independent(np.reshape(out != 0, (shape[0], -1)), p_drop)
            checks.check_inverted_dropout_output(x, out, p_drop)
            checks.check_inference_identity(x, observed[f"infer_{i}"])
        x = _inputs(seed, (64, 64))
        checks.check_rng_use(*observed["rng_runs"], 0.5)
        if not np.array_equal(observed["p_zero"], x):
            raise CheckFailure("with p_drop = 0 nothing is dropped and nothing is scaled: the "
                               "output must equal the input.")
        checks.assert_expectation_preserved(_inputs(seed + 100, (20, 50)),
                                            observed["repeats"], 0.4)
        if hidden:
            for bad in (1.0, -0.1, 1.5):
                outcome = observed[f"bad_{bad}"]
                if outcome != "ValueError":
                    raise CheckFailure(f"p_drop={bad} must raise ValueError (p_drop must be in "
                                       f"[0, 1)), got: {outcome}.")


def _lr_cases(seed: int, hidden: bool):
    rng = np.random.default_rng(seed)
    cases = [(0.1, 0.5), (0.01, 0.2)]
    if hidden:
        cases += [(float(rng.uniform(1e-4, 1.0)), float(rng.uniform(0, 0.95))) for _ in range(8)]
        cases += [(0.05, 0.0)]
    return cases


@exercise("equivalent_standard_lr", NOTEBOOK,
          reference="course_lib.analysis.equivalent_standard_lr")
class EquivalentStandardLr:
    @staticmethod
    def probe(fn, seed, hidden):
        observed = {"values": [float(call(fn, lr, p_drop)) for lr, p_drop in
                               _lr_cases(seed, hidden)]}
        if hidden:
            observed["bad"] = [kit.outcome_of_bad_call(fn, lr, p_drop) for lr, p_drop in
                               ((0.1, 1.0), (0.1, -0.2), (-0.1, 0.5), (0.0, 0.5))]
        return observed

    @staticmethod
    def verdict(observed, seed, hidden):
        for (lr, p_drop), value in zip(_lr_cases(seed, hidden), observed["values"]):
            keep_prob = 1 - p_drop
            expected = lr / keep_prob**2
            if not math.isclose(value, expected, rel_tol=1e-9):
                hint = ""
                if math.isclose(value, lr / keep_prob, rel_tol=1e-9):
                    hint = (" That is lr / keep_prob, the raw gradient scale; the weights are "
                            "also keep_prob times smaller, which costs another factor.")
                elif math.isclose(value, lr * keep_prob**2, rel_tol=1e-9):
                    hint = " The standard net needs a larger rate, not a smaller one."
                elif p_drop and math.isclose(value, lr / p_drop**2, rel_tol=1e-9):
                    hint = " Use keep_prob = 1 - p_drop, not p_drop."
                raise CheckFailure(f"equivalent_standard_lr({lr:.6g}, {p_drop:.6g}) should be "
                                   f"{expected:.6g}, got {value:.6g}.{hint}")
        if hidden:
            cases = ((0.1, 1.0), (0.1, -0.2), (-0.1, 0.5), (0.0, 0.5))
            for (lr, p_drop), outcome in zip(cases, observed["bad"]):
                if outcome != "ValueError":
                    raise CheckFailure(f"equivalent_standard_lr({lr}, {p_drop}) must raise "
                                       f"ValueError (lr > 0, p_drop in [0, 1)), got: {outcome}.")

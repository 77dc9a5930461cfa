"""The course's data: scikit-learn's handwritten digits, a 1D regression toy with a gap, and four
2-D classification toys (moons, circles, spirals, xor) for the dropout playground.

Nothing is downloaded: the digits (1797 images of 8x8 pixels, 10 classes) ship with scikit-learn,
and the toys are drawn here from an explicit ``rng``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import DTypeLike

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_float_dtype,
    check_nonnegative,
    check_rng,
)

N_DIGITS = 1797


@dataclass(frozen=True)
class Split:
    """Train, validation and test arrays. ``X_*`` has shape (N, D); ``y_*`` has shape (N,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    pixels, digits = load_digits(return_X_y=True)
    images = pixels / 16.0  # pixel intensities 0..16 -> [0, 1]
    images.setflags(write=False)
    labels = digits.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def load_digits_split(
    n_train: int = 1000,
    *,
    rng: np.random.Generator,
    n_val: int = 297,
    n_test: int = 500,
    dtype: DTypeLike = np.float64,
) -> Split:
    """Shuffle the 1797 digits with ``rng`` and split them into test, validation and training sets.

    The test set is taken first, then the validation set, then the training set, so with the same
    seed a smaller ``n_train`` keeps the same test and validation images and a subset of the same
    training images: that is what a data-size experiment needs.

    Parameters
    ----------
    n_train : int >= 1
        Training images; ``n_train + n_val + n_test`` may not exceed 1797.
    rng : numpy.random.Generator
        Decides the shuffle.
    n_val, n_test : int >= 0
    dtype : a floating dtype (float16, float32, float64)
        Of the pixel arrays (values in [0, 1]); an integer dtype would truncate them.
    """
    n_train = check_count(n_train, "n_train", minimum=1)
    n_val = check_count(n_val, "n_val")
    n_test = check_count(n_test, "n_test")
    check_rng(rng)
    dtype = check_float_dtype(dtype)
    if n_train + n_val + n_test > N_DIGITS:
        raise ValueError(
            f"n_train + n_val + n_test must be <= {N_DIGITS}, got "
            f"{n_train} + {n_val} + {n_test} = {n_train + n_val + n_test}"
        )
    images, labels = _digits()
    order = rng.permutation(N_DIGITS)
    test, val = order[:n_test], order[n_test : n_test + n_val]
    train = order[n_test + n_val : n_test + n_val + n_train]

    def take(indices):
        return images[indices].astype(dtype), labels[indices].copy()

    return Split(*take(train), *take(val), *take(test))


def gap_function(x: np.ndarray) -> np.ndarray:
    """The noiseless target of the regression toy: ``sin(2x) + x / 3``."""
    return np.sin(2.0 * x) + x / 3.0


def gap_regression_toy(
    n: int = 80,
    *,
    rng: np.random.Generator,
    noise: float = 0.1,
    low: float = -3.0,
    high: float = 3.0,
    gap: tuple[float, float] = (-0.75, 1.25),
) -> tuple[np.ndarray, np.ndarray]:
    """1D regression data with no inputs inside ``gap``, where a Bayesian model should be unsure.

    Inputs are uniform on ``[low, gap[0]] U [gap[1], high]`` (each side in proportion to its
    length); targets are :func:`gap_function` plus Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n : int >= 1
    rng : numpy.random.Generator
    noise : float >= 0
    low, high : finite floats
    gap : pair of finite floats, ``low < gap[0] < gap[1] < high``

    Returns
    -------
    x : ndarray, shape (n, 1), sorted
    y : ndarray, shape (n, 1)
    """
    n = check_count(n, "n", minimum=1)
    check_rng(rng)
    noise = check_nonnegative(noise, "noise")
    low, high = _check_finite(low, "low"), _check_finite(high, "high")
    if not isinstance(gap, (tuple, list)) or len(gap) != 2:
        raise ArgumentTypeError(f"gap must be a pair (gap[0], gap[1]) of numbers, got {gap!r}")
    gap_lo, gap_hi = (_check_finite(end, f"gap[{i}]") for i, end in enumerate(gap))
    if not low < gap_lo < gap_hi < high:
        raise ValueError(
            f"need low < gap[0] < gap[1] < high, got low={low}, gap={gap}, high={high}"
        )
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be a finite number, got low={low}, high={high}")
    left, right = gap_lo - low, high - gap_hi
    u = rng.uniform(0.0, left + right, size=n)
    x = np.where(u < left, low + u, gap_hi + (u - left))
    x = np.sort(x)[:, None]
    return x, gap_function(x) + noise * rng.standard_normal(x.shape)


def _check_finite(value: float, name: str) -> float:
    """``value`` itself, once it is known to be a finite real number."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be a finite number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


# --- 2-D classification toys ----------------------------------------------------------------


def _labels(n: int) -> np.ndarray:
    """``n // 2`` zeros then ``n - n // 2`` ones: both classes as balanced as ``n`` allows."""
    return (np.arange(n) >= n // 2).astype(np.int64)


def _moons(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, np.pi, size=len(y))
    upper = np.column_stack([np.cos(angle) - 0.5, np.sin(angle) - 0.25])
    lower = np.column_stack([0.5 - np.cos(angle), 0.25 - np.sin(angle)])
    return np.where(y[:, None] == 0, upper, lower)


def _circles(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi, size=len(y))
    radius = np.where(y == 0, 1.2, 0.5)
    return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _spirals(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # two arms of 1.25 turns each, the second the first turned by half a turn
    t = np.sqrt(rng.uniform(0.04, 1.0, size=len(y)))  # sqrt: even density along the arm
    angle = 2.5 * np.pi * t + np.pi * y
    return 1.4 * t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


def _xor(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # class 0 in quadrants 1 and 3, class 1 in 2 and 4, kept 0.1 away from the axes
    magnitude = rng.uniform(0.1, 1.4, size=(len(y), 2))
    first = rng.choice(np.array([-1.0, 1.0]), size=len(y))
    second = np.where(y == 0, first, -first)
    return magnitude * np.column_stack([first, second])


TOY_2D = {"moons": _moons, "circles": _circles, "spirals": _spirals, "xor": _xor}


def toy_2d(
    name: str, n: int, *, rng: np.random.Generator, noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D, two-class data set: ``"moons"``, ``"circles"``, ``"spirals"`` or ``"xor"``.

    Every set lies within about [-1.5, 1.5]² before noise; the noise is Gaussian, added to both
    coordinates, so it blurs the classes into each other as it grows.

    Parameters
    ----------
    name : one of ``TOY_2D``
    n : int >= 2
        Points; ``n // 2`` of class 0 and the rest of class 1, in that order.
    rng : numpy.random.Generator
    noise : float >= 0
        Standard deviation of the noise on each coordinate.

    Returns
    -------
    X : ndarray of float64, shape (n, 2)
    y : ndarray of int64, shape (n,), values 0 and 1
    """
    if not isinstance(name, str) or name not in TOY_2D:
        error = ValueError if isinstance(name, str) else ArgumentTypeError
        raise error(f"name must be one of {tuple(TOY_2D)}, got {name!r}")
    n = check_count(n, "n", minimum=2)
    check_rng(rng)
    noise = check_nonnegative(noise, "noise")
    y = _labels(n)
    X = TOY_2D[name](y, rng)
    return X + noise * rng.standard_normal(X.shape), y

"""The course's data: scikit-learn's handwritten digits, and a 1D regression toy with a gap.

Nothing is downloaded: the digits (1797 images of 8x8 pixels, 10 classes) ship with scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import DTypeLike

from ._validate import check_count, check_nonnegative, check_rng

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
    dtype : float dtype of the pixel arrays (values in [0, 1]).
    """
    n_train = check_count(n_train, "n_train", minimum=1)
    n_val = check_count(n_val, "n_val")
    n_test = check_count(n_test, "n_test")
    check_rng(rng)
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

    Returns
    -------
    x : ndarray, shape (n, 1), sorted
    y : ndarray, shape (n, 1)
    """
    n = check_count(n, "n", minimum=1)
    check_rng(rng)
    noise = check_nonnegative(noise, "noise")
    gap_lo, gap_hi = gap
    if not low < gap_lo < gap_hi < high:
        raise ValueError(
            f"need low < gap[0] < gap[1] < high, got low={low}, gap={gap}, high={high}"
        )
    left, right = gap_lo - low, high - gap_hi
    u = rng.uniform(0.0, left + right, size=n)
    x = np.where(u < left, low + u, gap_hi + (u - left))
    x = np.sort(x)[:, None]
    return x, gap_function(x) + noise * rng.standard_normal(x.shape)

"""Numerical gradients by centred differences, and the relative error used to compare gradients.

With dropout the loss is random, so a gradient check must see the *same* mask in every
evaluation: either check with ``p_drop = 0`` first and then switch dropout on, or build the
function so that each call draws its mask from a fresh generator with one fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validate import check_positive


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function by centred differences: ``(f(x + h e_i) - f(x - h e_i)) / 2h``.

    ``x`` is not modified: each evaluation sees a perturbed copy. The error is O(h**2).

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` and returning a scalar
    x : ndarray of float
    h : float > 0

    Returns
    -------
    grad : ndarray, shape and dtype of ``x``
    """
    h = check_positive(h, "h")
    point = np.array(x, dtype=np.result_type(x, np.float64), copy=True)
    grad = np.zeros_like(point)
    flat_point, flat_grad = point.reshape(-1), grad.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + h
        upper = float(f(point))
        flat_point[i] = original - h
        lower = float(f(point))
        flat_point[i] = original
        flat_grad[i] = (upper - lower) / (2.0 * h)
    return grad.astype(np.asarray(x).dtype, copy=False)


def forward_difference_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, *, h: float
) -> np.ndarray:
    """Gradient by one-sided differences ``(f(x + h e_i) - f(x)) / h``: error O(h), the contrast
    to the O(h**2) centred differences of :func:`numerical_gradient`.

    ``x`` is not modified: each evaluation sees a perturbed float64 copy.

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` and returning a scalar
    x : ndarray of numbers
    h : float > 0

    Returns
    -------
    grad : ndarray of float64, shape of ``x``
    """
    h = check_positive(h, "h")
    point = np.array(x, dtype=np.float64, copy=True)
    base = float(f(point))
    grad = np.empty_like(point)
    for i in range(point.size):
        original = point.flat[i]
        point.flat[i] = original + h
        grad.flat[i] = (float(f(point)) - base) / h
        point.flat[i] = original
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, *, h: float = 1e-5
) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``: what a layer's backward returns."""
    dout = np.asarray(dout)
    return numerical_gradient(lambda point: float(np.sum(f(point) * dout)), x, h=h)


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    """``||a - b|| / (||a|| + ||b||)`` with Euclidean norms; 0 when both are zero.

    Around 1e-7 or below (float64) means two gradients agree; above 1e-3 one of them is wrong.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    if denominator == 0.0:
        return 0.0
    # <= 1 by the triangle inequality; min() removes the last bit of rounding above it
    return min(float(np.linalg.norm(a - b) / denominator), 1.0)

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


# --- choosing the step and the threshold of a check ---------------------------------------------

#: the dtypes in which :func:`masked_layer_check` runs a check
CHECK_DTYPES = ("float16", "float32", "float64")


def _check_dtype(dtype) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be one of {', '.join(CHECK_DTYPES)}, got {dtype!r}") from None
    if resolved.name not in CHECK_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(CHECK_DTYPES)}, got {resolved.name}")
    return resolved


def masked_layer_check(h: float, dtype, *, p_drop: float = 0.5, seed: int = 0) -> dict[str, float]:
    """Gradient check, in ``dtype``, of ``dx`` for inverted dropout on the inputs of a dense
    layer, against a correct backward pass and one that ignores the mask.

    The layer is ``out = (x * mask / keep_prob) @ W + b`` with ``x`` of shape (6, 10), ``W`` of
    shape (10, 4) and one mask drawn from ``seed`` and held fixed; the loss is
    ``J(x) = sum(tanh(out) * G)`` for a fixed ``G``, so that the centred differences have a
    truncation error (a linear loss would have none). Every array, the perturbed ``x`` and each
    evaluation of ``J`` are in ``dtype``, as a check run in that precision is; the relative
    errors are computed in float64.

    Parameters
    ----------
    h : float > 0
        The step of the centred differences (rounded to ``dtype`` where it is added to ``x``).
    dtype : "float16", "float32" or "float64" (or the NumPy type)
    p_drop : float in (0, 1)
    seed : int
        Seeds the inputs and the mask.

    Returns
    -------
    dict
        ``{"correct": e1, "ignores_mask": e2}``: the relative error (:func:`relative_error`) of
        the numerical ``dx`` against the correct ``dx = ((1 - tanh(out)**2) * G) @ W.T * mask /
        keep_prob`` and against the same without ``* mask``. A check with threshold ``t`` tells
        the two backward passes apart when ``e1 <= t < e2``.

    Raises
    ------
    ValueError
        If ``h`` is not a finite number > 0, ``dtype`` is not one of :data:`CHECK_DTYPES`, or
        ``p_drop`` is not in (0, 1).
    """
    h = check_positive(h, "h")
    dtype = _check_dtype(dtype)
    if not isinstance(p_drop, (int, float)) or not 0.0 < float(p_drop) < 1.0:
        raise ValueError(f"p_drop must be in (0, 1), got {p_drop!r}")
    keep_prob = 1.0 - float(p_drop)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (6, 10)).astype(dtype)
    W = (rng.standard_normal((10, 4)) / np.sqrt(10)).astype(dtype)
    b = rng.uniform(-0.5, 0.5, 4).astype(dtype)
    G = rng.standard_normal((6, 4)).astype(dtype)
    mask = rng.random(x.shape) < keep_prob
    scaled_mask = (mask / keep_prob).astype(dtype)

    def loss(point: np.ndarray) -> float:
        out = (point * scaled_mask) @ W + b
        return float(np.sum(np.tanh(out) * G, dtype=dtype))

    out = (x * scaled_mask) @ W + b
    upstream = ((1 - np.tanh(out.astype(np.float64)) ** 2) * G) @ W.T.astype(np.float64)
    correct = upstream * scaled_mask
    ignores_mask = upstream / keep_prob
    numerical = np.empty(x.shape, dtype=np.float64)
    step = dtype.type(h)
    if step == 0 or not np.isfinite(step):
        raise ValueError(f"h must be representable in {dtype.name}, got {h!r}")
    for index in np.ndindex(x.shape):
        point = x.copy()
        point[index] = x[index] + step
        upper = loss(point)
        point[index] = x[index] - step
        lower = loss(point)
        numerical[index] = (upper - lower) / (2.0 * float(step))
    return {
        "correct": relative_error(numerical, correct),
        "ignores_mask": relative_error(numerical, ignores_mask),
    }


def choose_gradient_check(dtype) -> tuple[float, float]:
    """A step ``h`` and a pass threshold for a centred-difference gradient check in ``dtype``.

    With ``eps`` the machine epsilon of ``dtype``: ``h = eps ** (1/3)``, where truncation
    (``h**2``) and rounding (``eps / h``) errors balance, and the threshold ``eps ** (1/3)``,
    the geometric midpoint between the error a correct gradient keeps at that step (order
    ``eps ** (2/3)``) and the relative error of a wrong one (order 1). One defensible choice
    of many; :func:`masked_layer_check` tests a choice.

    Parameters
    ----------
    dtype : "float16", "float32" or "float64" (or the NumPy type)

    Returns
    -------
    (h, threshold) : two floats in (0, 1)

    Raises
    ------
    ValueError
        If ``dtype`` is not one of :data:`CHECK_DTYPES`.
    """
    eps = float(np.finfo(_check_dtype(dtype)).eps)
    return eps ** (1 / 3), eps ** (1 / 3)

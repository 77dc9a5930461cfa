"""Numerical gradients by centred differences, and the relative error used to compare gradients.

With dropout the loss is random, so a gradient check must see the *same* mask in every
evaluation: either check with ``p_drop = 0`` first and then switch dropout on, or build the
function so that each call draws its mask from a fresh generator with one fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_float_array,
    check_open_unit,
    check_positive,
    check_real_array,
)


def _check_function(f) -> None:
    if not callable(f):
        raise ArgumentTypeError(f"f must be a callable (a function of x), got {type(f).__name__}")


def _scalar(value) -> float:
    """``f``'s value as a float; ``f`` must return one number (a loss), not an array."""
    if np.ndim(value) != 0:
        raise ValueError(
            f"f must return a scalar (one number, such as a loss), got an array of shape "
            f"{np.shape(value)}"
        )
    return float(value)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: ArrayLike, *, h: float = 1e-5
) -> np.ndarray:
    """Gradient of a scalar function by centred differences: ``(f(x + h e_i) - f(x - h e_i)) / 2h``.

    ``x`` is not modified: each evaluation sees a perturbed copy (in float64, or in ``x``'s
    dtype if it is wider). The error is O(h**2).

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` and returning a scalar
    x : ndarray of float (float16, float32 or float64), or a list of floats
    h : float > 0

    Returns
    -------
    grad : ndarray, shape and dtype of ``x``

    Raises
    ------
    ValueError
        If ``f`` is not callable, ``x`` does not have a floating dtype (integers would truncate
        the gradient: 0.3 becomes 0), ``h`` is not a finite number > 0, or ``f`` returns an
        array instead of a scalar. A wrong type raises ``ArgumentTypeError``, also a
        ``TypeError``.
    """
    _check_function(f)
    x = check_float_array(x)
    h = check_positive(h, "h")
    point = np.array(x, dtype=np.result_type(x, np.float64), copy=True)
    grad = np.zeros_like(point)
    flat_point, flat_grad = point.reshape(-1), grad.reshape(-1)
    for i in range(flat_point.size):
        original = flat_point[i]
        flat_point[i] = original + h
        upper = _scalar(f(point))
        flat_point[i] = original - h
        lower = _scalar(f(point))
        flat_point[i] = original
        flat_grad[i] = (upper - lower) / (2.0 * h)
    return grad.astype(x.dtype, copy=False)


def forward_difference_gradient(
    f: Callable[[np.ndarray], float], x: ArrayLike, *, h: float
) -> np.ndarray:
    """Gradient by one-sided differences ``(f(x + h e_i) - f(x)) / h``: error O(h), the contrast
    to the O(h**2) centred differences of :func:`numerical_gradient`.

    ``x`` is not modified: each evaluation sees a perturbed float64 copy.

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` and returning a scalar
    x : ndarray of numbers (integers or floats)
    h : float > 0

    Returns
    -------
    grad : ndarray of float64, shape of ``x``

    Raises
    ------
    ValueError
        If ``f`` is not callable, ``x`` is not an array of real numbers (an
        ``ArgumentTypeError``, also a ``TypeError``), ``h`` is not a finite number > 0, or
        ``f`` returns an array instead of a scalar.
    """
    _check_function(f)
    x = check_real_array(x, "x")
    h = check_positive(h, "h")
    point = np.array(x, dtype=np.float64, copy=True)
    base = _scalar(f(point))
    grad = np.empty_like(point)
    for i in range(point.size):
        original = point.flat[i]
        point.flat[i] = original + h
        grad.flat[i] = (_scalar(f(point)) - base) / h
        point.flat[i] = original
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: ArrayLike, dout: ArrayLike, *, h: float = 1e-5
) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``: what a layer's backward returns.

    Parameters
    ----------
    f : callable taking an array shaped like ``x`` and returning an array (a layer's output)
    x : ndarray of float, as for :func:`numerical_gradient`
    dout : ndarray of real numbers, the shape of ``f(x)``
        The upstream gradient. Its shape is compared with that of every ``f(x)`` evaluated,
        so that a ``dout`` that NumPy would broadcast against the output is refused.
    h : float > 0

    Returns
    -------
    grad : ndarray, shape and dtype of ``x``

    Raises
    ------
    ValueError
        As :func:`numerical_gradient`; also if ``dout`` is not an array of real numbers or
        does not have the shape of ``f(x)``.
    """
    _check_function(f)
    dout = check_real_array(dout, "dout")

    def projected(point: np.ndarray) -> float:
        out = np.asarray(f(point))
        if out.shape != dout.shape:
            raise ValueError(f"dout must have the shape of f(x), {out.shape}, got {dout.shape}")
        return float(np.sum(out * dout))

    return numerical_gradient(projected, x, h=h)


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    """``||a - b|| / (||a|| + ||b||)`` with Euclidean norms; 0 when both are zero.

    Around 1e-7 or below (float64) means two gradients agree; above 1e-3 one of them is wrong.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not an array of real numbers (an ``ArgumentTypeError``, also a
        ``TypeError``), or their shapes differ.
    """
    a = check_real_array(a, "a").astype(np.float64, copy=False)
    b = check_real_array(b, "b").astype(np.float64, copy=False)
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
    seed : int >= 0
        Seeds the inputs and the mask; the check is reproducible, so there is no ``None``.

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
        If ``h`` is not a finite number > 0, ``dtype`` is not one of :data:`CHECK_DTYPES`,
        ``p_drop`` is not in (0, 1) or ``seed`` is not an integer >= 0.
    """
    h = check_positive(h, "h")
    dtype = _check_dtype(dtype)
    p_drop = check_open_unit(p_drop, "p_drop")
    seed = check_count(seed, "seed")
    keep_prob = 1.0 - p_drop
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

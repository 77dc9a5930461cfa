"""Argument checks shared by every module.

Each check raises :class:`ValueError` with a message that names the argument and its valid range,
so that a student who passes ``p_drop=1.2`` reads ``p_drop must be in [0, 1), got 1.2``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type.

    It is both a ``TypeError`` (what Python raises for a wrong type) and a ``ValueError`` (what the
    course promises for every bad argument), so either ``except`` clause catches it.
    """


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_probability(value, name: str, *, allow_one: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or [0, 1] with ``allow_one``)."""
    upper = "1]" if allow_one else "1)"
    if not _is_real(value):
        raise ArgumentTypeError(f"{name} must be a real number in [0, {upper}, got {value!r}")
    value = float(value)
    if not (0.0 <= value < 1.0 or (allow_one and value == 1.0)):
        raise ValueError(f"{name} must be in [0, {upper}, got {value!r}")
    return value


def check_p_drop(p_drop) -> float:
    """``p_drop`` is the probability of dropping a unit: [0, 1), since dropping all is undefined."""
    return check_probability(p_drop, "p_drop")


def check_open_unit(value, name: str) -> float:
    """A number strictly between 0 and 1, such as a coverage or a significance level."""
    if not _is_real(value) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    """A finite real number > 0, such as a learning rate."""
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative(value, name: str) -> float:
    """A finite real number >= 0, such as a weight decay."""
    if not _is_real(value) or not math.isfinite(float(value)) or float(value) < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_count(value, name: str, *, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (Python or NumPy integer; bools and floats are refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_rng(rng) -> np.random.Generator:
    """Every random function takes an explicit ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError(
            "rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def check_float_array(x, name: str = "x") -> np.ndarray:
    """An array with a floating dtype; dtype is preserved, so integer input is refused."""
    array = np.asarray(x)
    if array.dtype.kind != "f":  # the floating dtypes; faster than np.issubdtype on small arrays
        raise ArgumentTypeError(
            f"{name} must have a floating dtype (float16, float32 or float64), got {array.dtype}"
        )
    return array


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """A NumPy floating dtype, such as ``np.float32`` or ``"float64"``; ``None`` (which NumPy
    reads as float64) and anything that is not a dtype are refused."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    if resolved is None or resolved.kind != "f":
        got = dtype if resolved is None else resolved.name
        raise ArgumentTypeError(
            f"{name} must be a floating dtype (float16, float32 or float64), got {got!r}"
        )
    return resolved


def check_real_array(x, name: str, *, unsigned: bool = True) -> np.ndarray:
    """An array of real numbers: floats or integers; bools, complex numbers, strings and objects
    are refused. Unsigned integers wrap around when subtracted (``1 - 2`` is 255 in uint8): where
    the caller subtracts without converting to floats first, ``unsigned=False`` refuses them."""
    array = np.asarray(x)
    if array.dtype.kind not in ("fiu" if unsigned else "fi"):
        integers = "integer" if unsigned else "signed integer"
        got = f"dtype {array.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ArgumentTypeError(
            f"{name} must hold real numbers (a float or {integers} dtype), got {got}"
        )
    return array


def check_flag(value, name: str) -> bool:
    """A switch such as ``training``: ``True`` or ``False`` (a NumPy bool too), nothing else.

    Python would take any object as a condition, so ``training="no"`` or ``training=None``
    would silently choose a mode; a flag that is not a bool is refused instead.
    """
    if value is True or value is False or isinstance(value, np.bool_):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be a bool (True or False), got {value!r}")


def check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    """At least an input and an output layer, each with at least one unit."""
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise ArgumentTypeError(
            f"layer_sizes must be a sequence of integers >= 1, got {layer_sizes!r}"
        )
    if len(layer_sizes) < 2:
        raise ValueError(
            f"layer_sizes must list at least 2 layers (input and output), got {list(layer_sizes)}"
        )
    return tuple(
        check_count(size, f"layer_sizes[{i}]", minimum=1) for i, size in enumerate(layer_sizes)
    )


def per_layer_p_drop(p_drop, layer_sizes: tuple[int, ...]) -> tuple[float, ...]:
    """One dropout rate per dropout site of an MLP.

    A network with ``L`` layers has ``L - 1`` dropout sites: the input and every hidden layer (the
    output is never dropped). A sequence gives one ``p_drop`` per site; a single number applies to
    every hidden layer and leaves the input intact, as a ``Dropout`` after each hidden activation
    would.
    """
    n_sites = len(layer_sizes) - 1
    if _is_real(p_drop):
        rate = check_p_drop(p_drop)
        return (0.0,) + (rate,) * (n_sites - 1)
    if isinstance(p_drop, (str, bytes)) or not isinstance(p_drop, Sequence):
        raise ArgumentTypeError(
            f"p_drop must be a number in [0, 1) or a sequence of {n_sites} of them, got {p_drop!r}"
        )
    if len(p_drop) != n_sites:
        raise ValueError(
            f"p_drop must have one rate per dropout site (input and hidden layers): "
            f"{n_sites} for layer_sizes {list(layer_sizes)}, got {len(p_drop)}"
        )
    rates = []
    for i, rate in enumerate(p_drop):
        try:
            rates.append(check_p_drop(rate))
        except ValueError as error:
            raise type(error)(str(error).replace("p_drop", f"p_drop[{i}]", 1)) from None
    return tuple(rates)


#: NumPy's limits on an array: its size in bytes is an ``intp``, and it has at most 64 axes
MAX_BYTES = int(np.iinfo(np.intp).max)
MAX_DIMS = 64


def check_fits(dims: tuple[int, ...], dtype, name: str, given) -> None:
    """Refuse, naming the argument, a shape ``dims`` that NumPy cannot make into an array of
    ``dtype`` at all.

    NumPy's own rule: the product of the non-zero axes times the item size must fit in an
    ``intp`` (2**63 - 1 bytes on a 64-bit machine). Sizes below it that do not fit in memory
    are left to NumPy's ``MemoryError``, whose message says how much was asked for.
    """
    itemsize = np.dtype(dtype).itemsize
    if itemsize * math.prod(n for n in dims if n) > MAX_BYTES:
        raise ValueError(
            f"{name} must describe an array of at most {MAX_BYTES} bytes of "
            f"{np.dtype(dtype).name} (NumPy's limit), got {given!r}"
        )


def check_max_count(n: int, dtype, name: str) -> None:
    """Refuse, naming the argument, a length ``n`` larger than NumPy's largest 1-D array of
    ``dtype`` (see :func:`check_fits`)."""
    limit = MAX_BYTES // np.dtype(dtype).itemsize
    if n > limit:
        raise ValueError(
            f"{name} must be at most {limit} (NumPy's longest array of "
            f"{np.dtype(dtype).name}), got {n!r}"
        )

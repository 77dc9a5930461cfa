"""A safe wire format for what a probe observed: JSON with NumPy arrays encoded as base64.

The grading kernel runs untrusted code, so the trusted side never unpickles anything from it:
:func:`decode` accepts only dicts with string keys, lists, strings, numbers, booleans, None and
arrays of plain numeric or boolean dtypes, within size limits.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np

MIME = "application/vnd.dropout-course.probe+json"
_ARRAY = "__ndarray__"
_DTYPES = {
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
}
MAX_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 16


class WireError(ValueError):
    """Data that is not in the wire format (or too large)."""


def _encode(value, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.name not in _DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        # the dtype's name says nothing of byte order: send the bytes in the native one
        native = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
        return {
            _ARRAY: {
                "dtype": array.dtype.name,
                "shape": list(array.shape),
                "data": base64.b64encode(native.tobytes()).decode(),
            }
        }
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys must be strings")
        if _ARRAY in value:
            raise WireError(f"the dict key {_ARRAY!r} is reserved for arrays")
        return {key: _encode(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"values of type {type(value).__name__} cannot be sent")


def encode(value) -> str:
    """Serialize ``value`` (see module docstring for what is allowed) to a JSON string."""
    return json.dumps(_encode(value, 0), allow_nan=True)


def _decode_array(spec) -> np.ndarray:
    if not (isinstance(spec, dict) and set(spec) == {"dtype", "shape", "data"}):
        raise WireError("malformed array: its keys must be dtype, shape and data")
    if not (isinstance(spec["dtype"], str) and spec["dtype"] in _DTYPES):
        raise WireError(f"malformed array: arrays of dtype {spec['dtype']!r:.40} cannot be sent")
    shape = spec["shape"]
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError("malformed array: its shape must be a list of non-negative integers")
    # a zero-length axis leaves the others free: bound them too, for loops over an axis
    if math.prod(max(n, 1) for n in shape) > MAX_BYTES:
        raise WireError("malformed array: its shape is too large")
    if not isinstance(spec["data"], str):
        raise WireError("malformed array: its data must be a base64 string")
    try:
        raw = base64.b64decode(spec["data"], validate=True)
    except ValueError:  # binascii.Error, or characters that are not ASCII
        raise WireError("malformed array: its data is not base64") from None
    dtype = np.dtype(spec["dtype"])
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode(value, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, dict):
        if _ARRAY in value:
            if set(value) != {_ARRAY}:
                raise WireError(f"unexpected keys beside {_ARRAY!r}")
            return _decode_array(value[_ARRAY])
        return {str(key): _decode(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"unexpected {type(value).__name__}")


def decode(text: object):
    """Parse a string produced by :func:`encode`, validating every value (anything else, such
    as a missing payload, raises :class:`WireError`)."""
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("payload missing or too large")
    try:
        parsed = json.loads(text)
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise WireError("nested too deeply") from None
    except ValueError as error:
        raise WireError(f"not JSON: {error}") from None
    try:
        return _decode(parsed, 0)
    except (ValueError, TypeError) as error:
        raise WireError(str(error)) from None

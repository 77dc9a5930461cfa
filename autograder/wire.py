"""A safe wire format for what a probe observed: JSON with NumPy arrays encoded as base64.

The grading kernel runs untrusted code, so the trusted side never unpickles anything from it:
:func:`decode` accepts only dicts with string keys, lists, strings, numbers, booleans, None and
arrays of plain numeric or boolean dtypes, within size limits.
"""

from __future__ import annotations

import base64
import json

import numpy as np

MIME = "application/vnd.dropout-course.probe+json"
_ARRAY = "__ndarray__"
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}
MAX_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 16


class WireError(ValueError):
    """Data that is not in the wire format (or too large)."""


def _encode(value, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.asarray(value)
        if array.dtype.name not in _DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        return {_ARRAY: {"dtype": array.dtype.name, "shape": list(array.shape),
                         "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()}}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys must be strings")
        return {key: _encode(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"values of type {type(value).__name__} cannot be sent")


def encode(value) -> str:
    """Serialize ``value`` (see module docstring for what is allowed) to a JSON string."""
    return json.dumps(_encode(value, 0), allow_nan=True)


def _decode(value, depth):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            spec = value[_ARRAY]
            if not (isinstance(spec, dict) and set(spec) == {"dtype", "shape", "data"}
                    and spec["dtype"] in _DTYPES and isinstance(spec["shape"], list)
                    and all(isinstance(n, int) and n >= 0 for n in spec["shape"])
                    and isinstance(spec["data"], str)):
                raise WireError("malformed array")
            raw = base64.b64decode(spec["data"], validate=True)
            dtype = np.dtype(spec["dtype"])
            count = int(np.prod(spec["shape"], dtype=np.int64))
            if count * dtype.itemsize != len(raw):
                raise WireError("array data does not match its shape")
            return np.frombuffer(raw, dtype=dtype).reshape(spec["shape"]).copy()
        return {str(key): _decode(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, depth + 1) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"unexpected {type(value).__name__}")


def decode(text: str):
    """Parse a string produced by :func:`encode`, validating every value."""
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("payload missing or too large")
    try:
        return _decode(json.loads(text), 0)
    except (ValueError, TypeError) as error:
        raise WireError(str(error)) from None

"""A safe wire format for what a probe observed: JSON, with each NumPy array's bytes either in
a binary buffer of the message that carries the JSON, or written out in it as base64.

The grading kernel runs untrusted code, so the trusted side never unpickles anything from it:
:func:`decode` accepts only dicts with string keys, lists, strings, numbers, booleans, None and
arrays of plain numeric or boolean dtypes, within size limits; an array's buffer is one of the
message's, read at most once.

For speed, the grader's probes send their arrays as buffers (:mod:`autograder.harness`): the
probes of notebook 03's hidden tests observe 5 MB of arrays, and written as base64 inside JSON
(then escaped, signed and parsed again as the JSON of a message) they cost the kernel and the
grader 57 ms of CPU a submission more (``benchmarks/bench_grading.py``, 30 submissions: 8.8 CPU
seconds before, 7.1 after).
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


def _encode(value, depth, buffers):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.name not in _DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        # the dtype's name says nothing of byte order: send the bytes in the native one
        native = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
        spec = {"dtype": array.dtype.name, "shape": list(array.shape)}
        if buffers is None:
            spec["data"] = base64.b64encode(native.tobytes()).decode()
        else:
            spec["buffer"] = len(buffers)
            buffers.append(native.tobytes())
        return {_ARRAY: spec}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise WireError("dict keys must be strings")
        if _ARRAY in value:
            raise WireError(f"the dict key {_ARRAY!r} is reserved for arrays")
        return {key: _encode(item, depth + 1, buffers) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item, depth + 1, buffers) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"values of type {type(value).__name__} cannot be sent")


def encode(value, buffers: list[bytes] | None = None) -> str:
    """Serialize ``value`` (see module docstring for what is allowed) to a JSON string; with a
    list ``buffers``, each array's bytes are appended to it (to travel as binary buffers beside
    the JSON, which names their indices) instead of written into the JSON as base64."""
    return json.dumps(_encode(value, 0, buffers), allow_nan=True)


_ARRAY_KEYS = ({"dtype", "shape", "data"}, {"dtype", "shape", "buffer"})


def _array_bytes(spec, buffers, read: set) -> bytes | memoryview:
    """The bytes of the array ``spec``: its base64 data, or the buffer it names, which no
    other array of the payload has read (``read``)."""
    if "data" in spec:
        if not isinstance(spec["data"], str):
            raise WireError("malformed array: its data must be a base64 string")
        try:
            return base64.b64decode(spec["data"], validate=True)
        except ValueError:  # binascii.Error, or characters that are not ASCII
            raise WireError("malformed array: its data is not base64") from None
    index = spec["buffer"]
    if not (type(index) is int and 0 <= index < len(buffers)):
        raise WireError(f"malformed array: the message has no buffer {index!r:.40}")
    if index in read:  # else a small buffer read many times could fill the grader's memory
        raise WireError(f"malformed array: buffer {index} read twice")
    read.add(index)
    return buffers[index]


def _decode_array(spec, buffers, read: set) -> np.ndarray:
    if not (isinstance(spec, dict) and set(spec) in _ARRAY_KEYS):
        raise WireError("malformed array: its keys must be dtype, shape and data or buffer")
    if not (isinstance(spec["dtype"], str) and spec["dtype"] in _DTYPES):
        raise WireError(f"malformed array: arrays of dtype {spec['dtype']!r:.40} cannot be sent")
    shape = spec["shape"]
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError("malformed array: its shape must be a list of non-negative integers")
    # a zero-length axis leaves the others free: bound them too, for loops over an axis
    if math.prod(max(n, 1) for n in shape) > MAX_BYTES:
        raise WireError("malformed array: its shape is too large")
    raw = _array_bytes(spec, buffers, read)
    dtype = np.dtype(spec["dtype"])
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode(value, depth, buffers, read):
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, dict):
        if _ARRAY in value:
            if set(value) != {_ARRAY}:
                raise WireError(f"unexpected keys beside {_ARRAY!r}")
            return _decode_array(value[_ARRAY], buffers, read)
        return {str(key): _decode(item, depth + 1, buffers, read) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, depth + 1, buffers, read) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"unexpected {type(value).__name__}")


def decode(text: object, buffers=()):
    """Parse a string produced by :func:`encode`, with the binary ``buffers`` that came with
    it (bytes-like), validating every value (anything else, such as a missing payload, raises
    :class:`WireError`)."""
    if not isinstance(text, str) or len(text) > MAX_BYTES:
        raise WireError("payload missing or too large")
    try:
        buffers = [memoryview(buffer).cast("B") for buffer in buffers]
    except (TypeError, ValueError):
        raise WireError("a buffer that is not a block of bytes") from None
    if sum(len(buffer) for buffer in buffers) > MAX_BYTES:
        raise WireError("buffers too large")
    try:
        parsed = json.loads(text)
    except RecursionError:  # nesting deep enough to exhaust the parser's stack
        raise WireError("nested too deeply") from None
    except ValueError as error:
        raise WireError(f"not JSON: {error}") from None
    try:
        return _decode(parsed, 0, buffers, set())
    except (ValueError, TypeError) as error:
        raise WireError(str(error)) from None

"""autograder.wire: what a grading kernel may send back, and everything else refused."""

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import wire
from autograder.wire import WireError, decode, encode

# every dtype the format carries, in both byte orders where that means anything
DTYPES = (
    hnp.boolean_dtypes()
    | hnp.integer_dtypes(endianness="?")
    | hnp.unsigned_integer_dtypes(endianness="?")
    | hnp.floating_dtypes(endianness="?")
    | hnp.complex_number_dtypes(endianness="?")
)
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | ARRAYS.map(lambda array: array[()] if array.ndim == 0 else array)
)
KEYS = st.text().filter(lambda key: key != "__ndarray__")
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=20,
)


def assert_same(sent, received):
    """``received`` is ``sent`` after a round trip: tuples come back as lists and NumPy scalars
    as 0-d arrays, in native byte order, with identical bits."""
    if isinstance(sent, (np.ndarray, np.generic)):
        sent = np.asarray(sent)
        assert isinstance(received, np.ndarray)
        assert received.dtype == sent.dtype.newbyteorder("=") and received.dtype.isnative
        assert received.shape == sent.shape
        assert received.tobytes() == sent.astype(received.dtype).tobytes()
    elif isinstance(sent, dict):
        assert isinstance(received, dict) and list(received) == list(sent)
        for key in sent:
            assert_same(sent[key], received[key])
    elif isinstance(sent, (list, tuple)):
        assert isinstance(received, list) and len(received) == len(sent)
        for item, back in zip(sent, received):
            assert_same(item, back)
    else:
        assert type(received) is type(sent)
        assert repr(received) == repr(sent)  # nan, inf and -0.0 included


def _nested(depth: int, leaf=0):
    """``leaf`` inside ``depth`` lists."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def _array_payload(**spec) -> str:
    """An encoded uint8 array of 4 elements with ``spec`` changed."""
    base = json.loads(encode(np.arange(4, dtype=np.uint8)))["__ndarray__"]
    return json.dumps({"__ndarray__": {**base, **spec}})


# --- round trips ------------------------------------------------------------------------------


@given(VALUES)
def test_every_value_of_the_format_survives_a_round_trip(value):
    assert_same(value, decode(encode(value)))


@given(ARRAYS)
def test_arrays_of_either_byte_order_keep_their_values(array):
    assert_same(array, decode(encode(array)))


@pytest.mark.parametrize("dtype", sorted(wire._DTYPES))
def test_each_supported_dtype_by_name(dtype):
    array = np.arange(6).reshape(2, 3).astype(dtype)
    # typed Any: decode may return any value of the format, and the test knows which it sent
    received: Any = decode(encode({"x": array}))
    back = received["x"]
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)


def test_decoded_arrays_own_writable_memory_and_views_are_sent_as_their_values():
    matrix = np.arange(12.0).reshape(3, 4)
    view = matrix[::2, 1::2].T  # neither C-contiguous nor owning its memory
    back: Any = decode(encode(view))
    assert np.array_equal(back, view) and back.flags.writeable and back.flags.owndata
    back[0, 0] = -1.0
    assert matrix[0, 1] == 1.0


def test_nesting_up_to_the_limit_is_accepted():
    assert decode(encode(_nested(wire.MAX_DEPTH))) == _nested(wire.MAX_DEPTH)


@given(VALUES)
def test_every_value_survives_a_round_trip_with_its_arrays_in_buffers(value):
    buffers: list[bytes] = []
    text = encode(value, buffers)
    assert '"data"' not in text and text.count('"buffer"') == len(buffers)
    assert_same(value, decode(text, [memoryview(buffer) for buffer in buffers]))


def test_arrays_read_from_buffers_own_writable_memory():
    buffers: list[bytes] = []
    text = encode({"a": np.arange(4.0), "b": [np.ones((2, 2), dtype=np.float32)]}, buffers)
    assert len(buffers) == 2
    received: Any = decode(text, [memoryview(buffer) for buffer in buffers])  # read-only views
    for back in (received["a"], received["b"][0]):
        assert back.flags.writeable and back.flags.owndata
    received["a"][0] = 7.0
    assert np.frombuffer(buffers[0], dtype=np.float64)[0] == 0.0


# --- what encode refuses (in the kernel, where a probe's result is sent) ---------------------


@pytest.mark.parametrize(
    "value,message",
    [
        (np.array([object()]), "dtype object cannot be sent"),
        (np.array(["a"]), "dtype <U1 cannot be sent"),
        (np.array([1], dtype="datetime64[s]"), "dtype datetime64"),
        ({1: "a"}, "keys must be strings"),
        ({"__ndarray__": 1}, "reserved for arrays"),
        ({1, 2}, "values of type set"),
        (b"bytes", "values of type bytes"),
        (_nested(wire.MAX_DEPTH + 1), "nested too deeply"),
    ],
)
def test_encode_refuses_what_decode_could_not_read_back(value, message):
    with pytest.raises(WireError, match=message):
        encode(value)


# --- what decode refuses (in the grader, from untrusted kernels) ------------------------------


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_nested(wire.MAX_DEPTH + 1)),
        json.dumps({"a": _nested(wire.MAX_DEPTH)}),
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser's own stack
    ],
)
def test_nesting_deeper_than_the_limit(text):
    with pytest.raises(WireError, match="nested too deeply"):
        decode(text)


@pytest.mark.parametrize(
    "dtype",
    [
        "object",
        "O",
        "<U1",
        "V1",
        "datetime64[s]",
        "float128",
        "<u1",
        "|u1",
        "uint8 ",
        "UINT8",
        "",
        8,
        None,
        ["uint8"],
        {"name": "uint8"},
    ],
)
def test_dtypes_outside_the_list(dtype):
    with pytest.raises(WireError, match=r"malformed array: arrays of dtype .* cannot be sent"):
        decode(_array_payload(dtype=dtype))


@pytest.mark.parametrize("shape", [[5], [3], [2, 3], [], [4, 0], [0]])
def test_a_shape_the_data_does_not_fill_exactly(shape):
    with pytest.raises(WireError, match="does not match its shape"):
        decode(_array_payload(shape=shape))


@pytest.mark.parametrize("dtype,count", [("uint16", 4), ("float64", 1), ("complex128", 1)])
def test_the_same_bytes_declared_as_a_wider_dtype(dtype, count):
    with pytest.raises(WireError, match="does not match its shape"):
        decode(_array_payload(dtype=dtype, shape=[count]))


@pytest.mark.parametrize(
    "shape", [[-1], [4.0], [True, 4], ["4"], [[4]], [None], 4, "4", None, {"0": 4}]
)
def test_a_shape_that_is_not_a_list_of_sizes(shape):
    with pytest.raises(WireError, match="shape must be a list of non-negative integers"):
        decode(_array_payload(shape=shape))


@pytest.mark.parametrize("shape", [[2**64], [2**32, 2**32], [0, 2**62], [0, 2**20, 2**20]])
def test_a_shape_larger_than_any_payload(shape):
    """Even an empty array is refused when its other axes are huge: a verdict that loops over
    an axis would never finish."""
    with pytest.raises(WireError, match="shape is too large"):
        decode(_array_payload(shape=shape, data=""))


def test_payloads_over_the_size_limit(monkeypatch):
    text = encode({"x": np.zeros(10)})
    monkeypatch.setattr(wire, "MAX_BYTES", len(text))
    received: Any = decode(text)
    assert received["x"].shape == (10,)
    monkeypatch.setattr(wire, "MAX_BYTES", len(text) - 1)
    with pytest.raises(WireError, match="too large"):
        decode(text)


def test_arrays_over_the_element_limit(monkeypatch):
    monkeypatch.setattr(wire, "MAX_BYTES", 10_000)
    with pytest.raises(WireError, match="shape is too large"):
        decode(encode(np.zeros((0, 10_001), dtype=np.uint8)))


@pytest.mark.parametrize(
    "data", ["A*==", "AAE", "AAECAw", "AAECAw==\n", "AA ECAw==", "ÄÄÄÄ", "data:AAECAw=="]
)
def test_array_data_that_is_not_base64(data):
    with pytest.raises(WireError, match="data is not base64"):
        decode(_array_payload(data=data))


@pytest.mark.parametrize("data", [None, 4, ["AAECAw=="], {"b64": "AAECAw=="}])
def test_array_data_that_is_not_a_string(data):
    with pytest.raises(WireError, match="data must be a base64 string"):
        decode(_array_payload(data=data))


@pytest.mark.parametrize(
    "text",
    ["", "{not json", "[1, 2", "{'single': 'quotes'}", "1 2", '"unterminated', "[1,]", "Nan"],
)
def test_text_that_is_not_json(text):
    with pytest.raises(WireError, match="not JSON"):
        decode(text)


@pytest.mark.parametrize("value", [None, b'{"a": 1}', 42, {"a": 1}, ["[]"]])
def test_a_payload_that_is_not_a_string(value):
    with pytest.raises(WireError, match="payload missing or too large"):
        decode(value)


@pytest.mark.parametrize(
    "text",
    [
        _array_payload(strides=[1]),
        json.dumps({"__ndarray__": {"dtype": "uint8", "shape": [0]}}),
        json.dumps({"__ndarray__": {}}),
        json.dumps({"__ndarray__": "AAECAw=="}),
        json.dumps({"__ndarray__": None}),
        json.dumps({"__ndarray__": [["dtype", "uint8"], ["shape", [0]], ["data", ""]]}),
    ],
)
def test_an_array_with_missing_or_unexpected_keys(text):
    with pytest.raises(WireError, match="its keys must be dtype, shape and data"):
        decode(text)


def _buffered_payload(*indices) -> str:
    """Arrays of 4 uint8 elements, each read from the buffer of its index in ``indices``."""
    arrays = [
        {"__ndarray__": {"dtype": "uint8", "shape": [4], "buffer": index}} for index in indices
    ]
    return json.dumps(arrays)


def test_a_buffer_is_read_once_at_most():
    """Else one small buffer named by many arrays would fill the grader's memory."""
    arrays: Any = decode(_buffered_payload(0, 1), [b"abcd", b"efgh"])
    assert [bytes(array) for array in arrays] == [b"abcd", b"efgh"]
    with pytest.raises(WireError, match="buffer 0 read twice"):
        decode(_buffered_payload(0, 0), [b"abcd"])
    with pytest.raises(WireError, match="buffer 1 read twice"):
        decode(json.dumps({"x": json.loads(_buffered_payload(1, 0, 1))}), [b"abcd", b"efgh"])


@pytest.mark.parametrize("index", [1, 2, -1, True, 0.0, "0", None, [0], 2**70])
def test_an_array_naming_a_buffer_the_message_has_not(index):
    with pytest.raises(WireError, match="the message has no buffer"):
        decode(_buffered_payload(index), [b"abcd"])


def test_an_array_naming_a_buffer_with_no_buffers_sent():
    with pytest.raises(WireError, match="the message has no buffer 0"):
        decode(_buffered_payload(0))


@pytest.mark.parametrize("buffer", [b"abc", b"abcde", b""])
def test_a_buffer_the_shape_does_not_fill_exactly(buffer):
    with pytest.raises(WireError, match="does not match its shape"):
        decode(_buffered_payload(0), [buffer])


@pytest.mark.parametrize("buffer", ["abcd", 4, None, [1, 2, 3, 4]])
def test_a_buffer_that_is_not_bytes(buffer):
    with pytest.raises(WireError, match="not a block of bytes"):
        decode(_buffered_payload(0), [buffer])


def test_buffers_over_the_size_limit(monkeypatch):
    text = _buffered_payload(0)
    monkeypatch.setattr(wire, "MAX_BYTES", len(text) + 1)
    arrays: Any = decode(text, [b"abcd", b"e" * (len(text) - 3)])
    assert [bytes(array) for array in arrays] == [b"abcd"]
    with pytest.raises(WireError, match="buffers too large"):  # even one the payload never reads
        decode(text, [b"abcd", b"e" * (len(text) - 2)])


def test_an_array_with_both_data_and_a_buffer():
    spec = {"dtype": "uint8", "shape": [4], "data": "AAECAw==", "buffer": 0}
    with pytest.raises(WireError, match="its keys must be dtype, shape and data or buffer"):
        decode(json.dumps({"__ndarray__": spec}), [b"abcd"])


def test_keys_beside_an_array_marker():
    """An encoded array with a key added is neither an array nor a dict encode could make."""
    array = json.loads(encode(np.arange(4, dtype=np.uint8)))
    for extra in ({"x": 1}, {"__ndarray__ ": 1}, {"": None}):
        with pytest.raises(WireError, match="unexpected keys beside '__ndarray__'"):
            decode(json.dumps({**array, **extra}))
    with pytest.raises(WireError, match="unexpected keys"):
        decode(json.dumps({"ok": [1, {**array, "x": 1}]}))


def test_refusals_are_value_errors_with_one_short_line():
    """The grader reports these to the student: one line, never the whole payload."""
    for text in [_array_payload(dtype="x" * 10_000), "[" * 100_000, _array_payload(data="!" * 10)]:
        with pytest.raises(ValueError) as refused:
            decode(text)
        assert isinstance(refused.value, WireError)
        message = str(refused.value)
        assert "\n" not in message and len(message) < 200, message


def test_special_floats_pass_as_json_extensions():
    """The kernel's JSON may hold NaN and Infinity (Python's json writes them)."""
    back: Any = decode('{"nan": NaN, "inf": Infinity, "minus": -Infinity}')
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["minus"] == -math.inf

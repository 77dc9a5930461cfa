"""Numerical gradients (centred and one-sided differences) and relative errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from course_lib._validate import ArgumentTypeError
from course_lib.gradcheck import (
    forward_difference_gradient,
    masked_layer_check,
    numerical_gradient,
    numerical_gradient_array,
    relative_error,
)


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    grad = numerical_gradient(lambda v: np.sum(v**3), x)
    assert relative_error(grad, 3 * x**2) < 1e-9


def test_numerical_gradient_does_not_modify_x():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert np.array_equal(x, before)


def test_numerical_gradient_array_is_a_vector_jacobian_product():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    dout = rng.standard_normal(3)
    assert relative_error(numerical_gradient_array(lambda v: A @ v, x, dout), A.T @ dout) < 1e-9


def test_relative_error_values():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [1.0, 0.0]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == 1.0
    assert relative_error([1.0], [1.0 + 2e-7]) == pytest.approx(1e-7, rel=1e-6)


@given(
    a=hnp.arrays(np.float64, 5, elements=st.floats(-1e3, 1e3)),
    b=hnp.arrays(np.float64, 5, elements=st.floats(-1e3, 1e3)),
    scale=st.floats(1e-3, 1e3),
)
def test_relative_error_is_symmetric_bounded_and_scale_free(a, b, scale):
    error = relative_error(a, b)
    assert error == relative_error(b, a)
    assert 0.0 <= error <= 1.0
    assert relative_error(a * scale, b * scale) == pytest.approx(error, rel=1e-9, abs=1e-12)


def test_relative_error_shape_mismatch():
    with pytest.raises(
        ValueError, match=r"a and b must have the same shape, got \(3,\) and \(2,\)"
    ):
        relative_error(np.ones(3), np.ones(2))


def test_a_wrong_gradient_is_caught():
    x = np.linspace(-1, 1, 6)
    numeric = numerical_gradient(lambda v: np.sum(np.maximum(v, 0) ** 2), x)
    wrong = 2 * x  # ignores the ReLU
    assert relative_error(numeric, wrong) > 1e-3


def test_bad_step():
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        numerical_gradient(np.sum, np.ones(2), h=0.0)


@pytest.mark.parametrize(
    "x,dtype",
    [
        (np.array([1, 2, 3]), "int64"),
        ([1, 2, 3], "int64"),
        (np.array([True, False]), "bool"),
        (None, "object"),
        (np.array([1 + 0j]), "complex128"),
    ],
)
def test_numerical_gradient_needs_a_floating_x(x, dtype):
    """A gradient held in x's integer or bool dtype would be truncated (0.3 becomes 0)."""
    pattern = f"x must have a floating dtype \\(float16, float32 or float64\\), got {dtype}"
    with pytest.raises(ArgumentTypeError, match=pattern):
        numerical_gradient(lambda v: float(np.sum(0.3 * v)), x)
    with pytest.raises(ArgumentTypeError, match=pattern):
        numerical_gradient_array(lambda v: 0.3 * v, x, np.ones(np.shape(x)))


def test_numerical_gradient_takes_a_list_of_floats():
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), [1.0, 2.0])
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(
        grad, numerical_gradient(lambda v: np.sum(v**2), np.array([1.0, 2.0]))
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_numerical_gradient_keeps_a_floating_dtype(dtype):
    x = np.array([0.5, -1.0, 2.0], dtype=dtype)
    grad = numerical_gradient(lambda v: float(np.sum(v**2)), x, h=1e-3)
    assert grad.dtype == dtype
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-3)


@pytest.mark.parametrize("dout_shape", [(1,), (3, 1), (1, 3), (), (4,)])
def test_numerical_gradient_array_refuses_a_dout_numpy_would_broadcast(dout_shape):
    A = np.arange(12.0).reshape(3, 4)
    pattern = re.escape(f"dout must have the shape of f(x), (3,), got {dout_shape}")
    with pytest.raises(ValueError, match=pattern):
        numerical_gradient_array(lambda v: A @ v, np.ones(4), np.ones(dout_shape))


@pytest.mark.parametrize("dout", [None, np.array(["a", "b", "c"]), np.ones(3, dtype=bool)])
def test_numerical_gradient_array_needs_a_numeric_dout(dout):
    with pytest.raises(
        ArgumentTypeError, match=r"dout must hold real numbers \(a float or integer dtype\)"
    ):
        numerical_gradient_array(lambda v: 2.0 * v, np.ones(3), dout)


@pytest.mark.parametrize("gradient", [numerical_gradient, forward_difference_gradient])
def test_f_must_be_a_callable_returning_a_scalar(gradient):
    with pytest.raises(ArgumentTypeError, match=r"f must be a callable .*got ndarray"):
        gradient(np.ones(3), np.ones(3), h=1e-5)
    with pytest.raises(ValueError, match=r"f must return a scalar .*got an array of shape \(3,\)"):
        gradient(lambda v: 2.0 * v, np.ones(3), h=1e-5)


@pytest.mark.parametrize(
    "x,got", [(None, "NoneType"), (np.array(["a"]), "dtype <U1"), ("ab", "str")]
)
def test_forward_difference_needs_numbers(x, got):
    with pytest.raises(
        ArgumentTypeError,
        match=rf"x must hold real numbers \(a float or integer dtype\), got {got}",
    ):
        forward_difference_gradient(np.sum, x, h=1e-5)


def test_forward_difference_still_takes_integers():
    grad = forward_difference_gradient(lambda v: float(np.sum(v**2)), [1, 2], h=2.0**-10)
    np.testing.assert_array_equal(grad, [2 + 2.0**-10, 4 + 2.0**-10])


@pytest.mark.parametrize(
    "a,b,got",
    [
        (None, None, "NoneType"),
        ([1.0], ["a"], "list"),
        (np.ones(2, bool), np.ones(2), "dtype bool"),
    ],
)
def test_relative_error_needs_arrays_of_numbers(a, b, got):
    name = "a" if got != "list" else "b"
    with pytest.raises(
        ArgumentTypeError,
        match=rf"{name} must hold real numbers \(a float or integer dtype\), got {got}",
    ):
        relative_error(a, b)


def test_relative_error_takes_integers():
    assert relative_error([3, 4], [3, 4]) == 0.0
    assert relative_error(np.array([1, 0]), np.array([0.0, 0.0])) == 1.0


# --- one-sided differences --------------------------------------------------------------------


@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
        elements=st.integers(-100, 100).map(float),
    ),
    k=st.integers(0, 10),
)
def test_forward_difference_of_a_quadratic_is_2x_plus_h_exactly(x, k):
    # with x integer and h = 2**-k every step is exact in float64: ((x + h)**2 - x**2) / h
    h = 2.0**-k
    before = x.copy()
    grad = forward_difference_gradient(lambda v: float(np.sum(v**2)), x, h=h)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_array_equal(grad, 2 * x + h)
    np.testing.assert_array_equal(x, before)


@given(
    x=hnp.arrays(np.float32, st.integers(0, 6), elements=st.floats(-10, 10, width=32)),
    h=st.floats(1e-4, 1e-1),
)
def test_forward_difference_accepts_any_float_input_and_returns_float64(x, h):
    grad = forward_difference_gradient(lambda v: float(np.sum(3.0 * v)), x, h=h)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3.0, rtol=1e-6)


def test_forward_difference_is_first_order():
    x = np.array([0.3, -1.2, 2.0])
    exact = np.cos(x)
    errors = [
        np.abs(forward_difference_gradient(lambda v: np.sum(np.sin(v)), x, h=h) - exact).max()
        for h in (1e-2, 1e-3)
    ]
    assert 5 < errors[0] / errors[1] < 20  # O(h): ten times smaller for a ten times smaller h
    centred = [
        np.abs(numerical_gradient(lambda v: np.sum(np.sin(v)), x, h=h) - exact).max()
        for h in (1e-2, 1e-3)
    ]
    assert centred[0] / centred[1] > 50  # O(h^2)


@pytest.mark.parametrize("h", [0.0, -1e-5, float("nan"), float("inf"), "1e-5", None])
def test_forward_difference_bad_step(h):
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        forward_difference_gradient(np.sum, np.ones(2), h=h)


# --- masked_layer_check, choose_gradient_check -------------------------------------------------


def test_masked_layer_check_tells_a_correct_backward_from_one_that_ignores_the_mask():
    errors = masked_layer_check(1e-5, "float64", seed=3)
    assert errors["correct"] < 1e-8 < 0.2 < errors["ignores_mask"]
    # the same check in float32 at the float64 step is swamped by rounding
    assert masked_layer_check(1e-7, np.float32, seed=3)["correct"] > 1e-2


def test_masked_layer_check_takes_numpy_numbers():
    expected = masked_layer_check(1e-5, "float64", p_drop=0.5, seed=3)
    p_drop, seed = np.float32(0.5), np.int64(3)  # NumPy numbers, as a notebook computes them
    assert masked_layer_check(1e-5, "float64", p_drop=p_drop, seed=seed) == expected  # pyright: ignore[reportArgumentType] - NumPy numbers are numbers


@pytest.mark.parametrize(
    "kwargs,error,pattern",
    [
        ({"seed": -1}, ValueError, r"seed must be an integer >= 0, got -1"),
        ({"seed": 2.5}, ArgumentTypeError, r"seed must be an integer >= 0, got 2.5"),
        ({"seed": None}, ArgumentTypeError, r"seed must be an integer >= 0, got None"),
        ({"seed": True}, ArgumentTypeError, r"seed must be an integer >= 0, got True"),
        ({"p_drop": 0.0}, ValueError, r"p_drop must be in \(0, 1\), got 0.0"),
        (
            {"p_drop": np.float64(1.0)},
            ValueError,
            r"p_drop must be in \(0, 1\), got np.float64\(1.0\)",
        ),
        ({"p_drop": "0.5"}, ValueError, r"p_drop must be in \(0, 1\), got '0.5'"),
    ],
)
def test_masked_layer_check_refuses_bad_arguments(kwargs, error, pattern):
    """The check is reproducible by design: ``seed=None`` (a fresh seed each call) is refused."""
    with pytest.raises(error, match=pattern):
        masked_layer_check(1e-5, "float64", **kwargs)


def test_choose_gradient_check_balances_truncation_and_rounding_in_each_dtype():
    from course_lib.gradcheck import choose_gradient_check

    for dtype in ("float64", "float32", "float16"):
        h, threshold = choose_gradient_check(np.dtype(dtype))
        assert h == threshold == pytest.approx(float(np.finfo(dtype).eps) ** (1 / 3))
        errors = masked_layer_check(h, dtype, seed=0)
        assert errors["correct"] <= threshold < errors["ignores_mask"]

"""Digits split and the regression toy with a gap."""

import numpy as np
import pytest

from course_lib import data


def _split(seed, n_train=1000, **kwargs):
    return data.load_digits_split(n_train, rng=np.random.default_rng(seed), **kwargs)


def test_default_split_uses_all_1797_digits_once():
    split = _split(0)
    assert (len(split.X_train), len(split.X_val), len(split.X_test)) == (1000, 297, 500)
    rows = np.concatenate([split.X_train, split.X_val, split.X_test])
    assert len(np.unique(rows, axis=0)) == len(np.unique(data._digits()[0], axis=0))
    assert split.X_train.shape[1] == 64 and split.X_train.dtype == np.float64
    assert split.X_train.min() >= 0.0 and split.X_train.max() <= 1.0
    assert set(np.unique(split.y_train)) == set(range(10))


def test_split_is_reproducible_and_depends_on_the_seed():
    a, b, c = _split(1), _split(1), _split(2)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_train, c.y_train)


def test_smaller_train_keeps_test_and_validation():
    full, small = _split(3), _split(3, n_train=100)
    assert np.array_equal(full.X_test, small.X_test)
    assert np.array_equal(full.X_val, small.X_val)
    assert np.array_equal(full.X_train[:100], small.X_train)


def test_arrays_are_independent_copies():
    split = _split(4, dtype=np.float32)
    assert split.X_train.dtype == np.float32
    split.X_train[:] = 0  # writing to one split must not change the cached data set
    assert _split(4).X_train.max() > 0


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"n_train": 1500}, r"n_train \+ n_val \+ n_test must be <= 1797"),
        ({"n_train": 0}, r"n_train must be an integer >= 1"),
        ({"n_train": 10, "n_val": -1}, r"n_val must be an integer >= 0"),
    ],
)
def test_bad_sizes(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.load_digits_split(rng=np.random.default_rng(0), **kwargs)


def test_gap_toy_has_no_inputs_in_the_gap():
    x, y = data.gap_regression_toy(500, rng=np.random.default_rng(0), gap=(-0.5, 1.0))
    assert x.shape == y.shape == (500, 1)
    assert not np.any((x > -0.5) & (x < 1.0))
    assert x.min() >= -3 and x.max() <= 3 and np.all(np.diff(x[:, 0]) >= 0)
    # noise-free targets are the gap function exactly
    x0, y0 = data.gap_regression_toy(50, rng=np.random.default_rng(1), noise=0.0)
    assert np.array_equal(y0, data.gap_function(x0))


def test_gap_toy_noise_has_the_requested_spread():
    from course_lib.checks import assert_normal_variance

    x, y = data.gap_regression_toy(20_000, rng=np.random.default_rng(2), noise=0.3)
    # residuals are N(0, 0.09) exactly; chi-square acceptance at alpha = 1e-9
    assert_normal_variance(y - data.gap_function(x), 0.09, alpha=1e-9)


def test_gap_toy_bad_gap():
    with pytest.raises(ValueError, match="need low < gap"):
        data.gap_regression_toy(10, rng=np.random.default_rng(0), gap=(2.0, 1.0))


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"gap": (0.0, 1.0, 2.0)}, r"gap must be a pair \(gap\[0\], gap\[1\]\) of numbers"),
        ({"gap": 0.5}, r"gap must be a pair \(gap\[0\], gap\[1\]\) of numbers, got 0.5"),
        ({"gap": ("0", 1.0)}, r"gap\[0\] must be a finite number, got '0'"),
        ({"gap": (0.0, np.nan)}, r"gap\[1\] must be a finite number, got nan"),
        ({"low": -np.inf}, r"low must be a finite number, got -inf"),
        ({"high": np.inf}, r"high must be a finite number, got inf"),
        ({"low": -1e308, "high": 1e308}, r"high - low must be a finite number"),
    ],
)
def test_gap_toy_bad_bounds(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.gap_regression_toy(10, rng=np.random.default_rng(0), **kwargs)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, bool, complex, str, "junk", None])
def test_split_refuses_a_dtype_that_is_not_floating(dtype):
    # an integer dtype truncated every pixel in [0, 1) to 0
    with pytest.raises(ValueError, match=r"dtype must be a floating dtype \(float16, float32"):
        _split(0, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float16, "float32", np.dtype(np.float64)])
def test_split_keeps_a_floating_dtype(dtype):
    split = _split(0, n_train=10, dtype=dtype)
    assert split.X_train.dtype == np.dtype(dtype) == split.X_test.dtype


# --- 2-D toys -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(data.TOY_2D))
def test_toys_have_balanced_labels_and_bounded_points(name):
    X, y = data.toy_2d(name, 301, rng=np.random.default_rng(0))
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [150, 151]
    assert np.abs(X).max() <= 1.5


@pytest.mark.parametrize("name", sorted(data.TOY_2D))
def test_toys_follow_the_rng_and_noise_only_moves_the_points(name):
    clean, y = data.toy_2d(name, 50, rng=np.random.default_rng(1))
    again, _ = data.toy_2d(name, 50, rng=np.random.default_rng(1))
    other, _ = data.toy_2d(name, 50, rng=np.random.default_rng(2))
    noisy, y_noisy = data.toy_2d(name, 50, rng=np.random.default_rng(1), noise=0.2)
    assert np.array_equal(clean, again) and not np.array_equal(clean, other)
    assert np.array_equal(y, y_noisy)
    shift = np.linalg.norm(noisy - clean, axis=1)
    assert 0.05 < shift.mean() < 0.5  # E|noise| = 0.2 * sqrt(pi / 2) ≈ 0.25


def _nearest_neighbour_accuracy(X, y):
    distances = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(distances, np.inf)
    return np.mean(y[distances.argmin(axis=1)] == y)


@pytest.mark.parametrize("name", sorted(data.TOY_2D))
def test_clean_toys_are_separable_and_noise_mixes_them(name):
    rng = np.random.default_rng(3)
    assert _nearest_neighbour_accuracy(*data.toy_2d(name, 400, rng=rng)) > 0.97
    assert _nearest_neighbour_accuracy(*data.toy_2d(name, 400, rng=rng, noise=1.0)) < 0.8


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"name": "swirl"}, r"name must be one of \('moons'"),
        ({"name": ["moons"]}, r"name must be one of \('moons'.*, got \['moons'\]"),
        ({"name": None}, r"name must be one of \('moons'.*, got None"),
        ({"n": 1}, r"n must be an integer >= 2"),
        ({"noise": -0.1}, r"noise must be a finite number >= 0"),
    ],
)
def test_toy_rejects_bad_arguments(kwargs, pattern):
    arguments = {"name": "moons", "n": 10, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        data.toy_2d(
            arguments.pop("name"), arguments.pop("n"), rng=np.random.default_rng(0), **arguments
        )

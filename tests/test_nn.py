"""Layers, the MLP, SGD and train, including the inverted/standard step-for-step equivalence."""

import contextlib

import numpy as np
import pytest

from course_lib import nn
from course_lib.analysis import equivalent_standard_lr
from course_lib.dropout import (
    dropout_backward,
    dropout_forward,
    standard_dropout_backward,
    standard_dropout_forward,
)
from course_lib.gradcheck import numerical_gradient, numerical_gradient_array, relative_error

GRAD_TOL = 1e-7  # relative error of analytic vs centred-difference gradients, float64


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 5))
    y = rng.integers(0, 3, size=12)
    return X, y


def test_one_blas_thread_limits_blas_and_restores_it():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_threads()
    with nn.one_blas_thread():
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


# --- layer gradients ------------------------------------------------------------------------


def test_dense_gradients():
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    _, cache = nn.dense_forward(x, W, b)
    dx, dW, db = nn.dense_backward(dout, cache)
    assert (
        relative_error(
            dx, numerical_gradient_array(lambda v: nn.dense_forward(v, W, b)[0], x, dout)
        )
        < GRAD_TOL
    )
    assert (
        relative_error(
            dW, numerical_gradient_array(lambda v: nn.dense_forward(x, v, b)[0], W, dout)
        )
        < GRAD_TOL
    )
    assert (
        relative_error(
            db, numerical_gradient_array(lambda v: nn.dense_forward(x, W, v)[0], b, dout)
        )
        < GRAD_TOL
    )


def test_relu_gradient_and_values():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep clear of the kink, where the derivative is undefined
    dout = rng.standard_normal(x.shape)
    out, cache = nn.relu_forward(x)
    assert np.array_equal(out, np.maximum(x, 0))
    numeric = numerical_gradient_array(lambda v: nn.relu_forward(v)[0], x, dout)
    assert relative_error(nn.relu_backward(dout, cache), numeric) < GRAD_TOL


def test_relu_keeps_dtype():
    out, _ = nn.relu_forward(np.array([-1.0, 2.0], dtype=np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("dropout", ["inverted", "standard"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("p_drop", [0.0, 0.4])
def test_relu_dropout_is_relu_then_dropout_with_one_mask(dropout, training, p_drop):
    """The fused hidden-layer step gives the values and gradients of the two layers in a row,
    with the same mask for the same seed, and its gradient passes the numerical check."""
    forward, backward = {
        "inverted": (dropout_forward, dropout_backward),
        "standard": (standard_dropout_forward, standard_dropout_backward),
    }[dropout]
    rng = np.random.default_rng(6)
    z = rng.standard_normal((8, 9))
    z[np.abs(z) < 1e-3] = 0.5  # clear of ReLU's kink
    dout = rng.standard_normal(z.shape)

    def fused(v):
        return nn.relu_dropout_forward(
            v, p_drop, rng=np.random.default_rng(9), training=training, dropout=dropout
        )

    out, cache = fused(z)
    relu_out, relu_cache = nn.relu_forward(z)
    expected, drop_cache = forward(
        relu_out, p_drop, rng=np.random.default_rng(9), training=training
    )
    assert out.dtype == z.dtype and np.array_equal(out, expected)
    dz = dropout_backward(dout, cache)
    assert np.array_equal(dz, nn.relu_backward(backward(dout, drop_cache), relu_cache))
    numeric = numerical_gradient_array(lambda v: fused(v)[0], z, dout)
    assert relative_error(dz, numeric) < GRAD_TOL


def test_relu_dropout_keeps_float32_and_leaves_its_input():
    z = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    before = z.copy()
    out, cache = nn.relu_dropout_forward(z, 0.5, rng=np.random.default_rng(1))
    assert out.dtype == np.float32 and np.array_equal(z, before)
    assert cache.mask is not None and np.array_equal(cache.mask, out > 0)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"z": np.arange(3)}, "z must have a floating dtype"),
        ({"p_drop": 1.2}, r"p_drop must be in \[0, 1\), got 1.2"),
        ({"rng": 0}, "rng must be a numpy.random.Generator"),
        ({"dropout": "gaussian"}, "dropout must be one of"),
    ],
)
def test_relu_dropout_bad_arguments(kwargs, pattern):
    args = {"z": np.ones(3), "p_drop": 0.5, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=pattern):
        nn.relu_dropout_forward(args.pop("z"), args.pop("p_drop"), **args)


def test_one_blas_thread_for_small_products_only():
    from threadpoolctl import threadpool_info

    with nn.blas_threads_for([64, 256, 256, 10], 50):
        assert all(
            pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas"
        )
    assert isinstance(nn.blas_threads_for([64, 4096, 4096, 10], 1000), contextlib.nullcontext)


def test_softmax_cross_entropy_value_and_gradient():
    rng = np.random.default_rng(3)
    logits, y = rng.standard_normal((5, 4)) * 3, np.array([0, 3, 1, 1, 2])
    loss, dlogits = nn.softmax_cross_entropy(logits, y)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(5), y])), rel=1e-12)
    numeric = numerical_gradient(lambda v: nn.softmax_cross_entropy(v, y)[0], logits)
    assert relative_error(dlogits, numeric) < GRAD_TOL


def test_softmax_is_stable_for_huge_logits():
    probs = nn.softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.all(np.isfinite(probs)) and probs[0, 0] == pytest.approx(1.0)
    loss, _ = nn.softmax_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert loss == pytest.approx(2000.0)


def test_squared_error_gradient():
    rng = np.random.default_rng(4)
    pred, target = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    loss, grad = nn.squared_error(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    numeric = numerical_gradient(lambda v: nn.squared_error(v, target)[0], pred)
    assert relative_error(grad, numeric) < GRAD_TOL


# --- the MLP --------------------------------------------------------------------------------


def _check_mlp_gradients(model, rng, output):
    """Every parameter's gradient against the numerical one, each loss evaluation drawing its
    masks (or noise) from a generator with the same seed: one fixed thinned network."""
    for b in model.biases:  # zero biases put a sample whose units are all dropped on ReLU's kink
        b[:] = rng.uniform(0.1, 0.5, size=b.shape) * rng.choice([-1, 1], size=b.shape)
    X = rng.standard_normal((7, 5))
    y = rng.integers(0, 3, size=7) if output == "softmax" else rng.standard_normal((7, 3))
    _, grads = model.loss_and_grads(X, y, training=True, rng=np.random.default_rng(42))
    for param, grad, name in zip(model.parameters(), grads, model.parameter_names()):

        def loss_at(value, param=param):
            saved = param.copy()
            param[...] = value
            result = model.loss_and_grads(X, y, training=True, rng=np.random.default_rng(42))[0]
            param[...] = saved
            return result

        assert relative_error(grad, numerical_gradient(loss_at, param.copy())) < GRAD_TOL, name


@pytest.mark.parametrize("dropout", ["inverted", "standard"])
@pytest.mark.parametrize("output", ["softmax", "linear"])
@pytest.mark.parametrize("p_drop", [0.0, [0.2, 0.5, 0.3]])
def test_mlp_gradient_check_with_a_fixed_mask(dropout, output, p_drop):
    """Every parameter's gradient, with dropout on: each loss evaluation draws its mask from a
    generator with the same seed, so the numerical derivative sees one fixed thinned network."""
    rng = np.random.default_rng(5)
    model = nn.MLP([5, 8, 6, 3], p_drop, rng=rng, output=output, dropout=dropout, dtype=np.float64)
    _check_mlp_gradients(model, rng, output)


@pytest.mark.parametrize("output", ["softmax", "linear"])
@pytest.mark.parametrize("p_drop", [[0.0, 0.5, 0.3], [0.2, 0.5, 0.3]])
def test_mlp_gradient_check_with_gaussian_noise(output, p_drop):
    """The same check with noise="gaussian": one fixed draw of the noise per loss evaluation."""
    rng = np.random.default_rng(6)
    model = nn.MLP([5, 8, 6, 3], p_drop, rng=rng, output=output, noise="gaussian", dtype=np.float64)
    _check_mlp_gradients(model, rng, output)


def test_gaussian_noise_is_relu_times_noise_of_the_matched_variance():
    z = np.random.default_rng(0).standard_normal((400, 500))
    out, cache = nn.relu_gaussian_forward(z, 0.3, rng=np.random.default_rng(1))
    positive = z > 0
    noise = out[positive] / z[positive]
    np.testing.assert_array_equal(out[~positive], 0.0)
    np.testing.assert_allclose(cache.gain[positive], noise, rtol=1e-12)
    # the noise's sample mean over n ~ 1e5 draws of N(1, 0.3 / 0.7): |mean - 1| exceeds
    # 6.11 standard errors with probability 1e-9 (normal tail, two-sided)
    n = noise.size
    assert abs(noise.mean() - 1.0) <= 6.11 * np.sqrt(0.3 / 0.7 / n)
    # its sample variance, (n - 1) s^2 / sigma^2 ~ chi2(n - 1): within 1e-9 quantiles
    from scipy import stats

    low, high = stats.chi2.ppf([0.5e-9, 1 - 0.5e-9], n - 1) / (n - 1)
    assert low <= noise.var(ddof=1) / (0.3 / 0.7) <= high


def test_gaussian_noise_is_off_at_inference_and_keeps_float32():
    model = nn.MLP([6, 40, 4], 0.5, rng=np.random.default_rng(0), noise="gaussian")
    plain = model.copy()
    plain.noise = "bernoulli"
    X = np.random.default_rng(1).random((3, 6))
    assert np.array_equal(model.predict_proba(X), plain.predict_proba(X))
    sampled = model.forward(X, training=True, rng=np.random.default_rng(2))[0]
    assert sampled.dtype == np.float32 and not np.allclose(sampled, plain.forward(X)[0])
    assert "noise='gaussian'" in repr(model)
    with pytest.raises(ValueError, match="only the inverted form"):
        model.converted("standard")


def test_train_step_with_gaussian_noise_reports_no_masks(toy):
    X, y = toy
    model = nn.MLP([5, 7, 3], [0.2, 0.5], rng=np.random.default_rng(0), noise="gaussian")
    optimizer = nn.SGD.for_model(model, 0.1)
    _, masks = nn.train_step(model, optimizer, X, y, rng=np.random.default_rng(1))
    assert masks == [None, None]


def test_mlp_shapes_dtype_and_repr():
    model = nn.MLP([64, 32, 10], [0.1, 0.5], rng=np.random.default_rng(0), dtype=np.float32)
    X = np.random.default_rng(1).random((9, 64))
    probs = model.predict_proba(X)
    assert probs.shape == (9, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.predict(X).shape == (9,)
    assert [a.shape for a in model.parameters()] == [(64, 32), (32,), (32, 10), (10,)]
    assert model.parameter_names() == ["W0", "b0", "W1", "b1"]
    assert model.reads_dropout() == [True, False, True, False]
    assert "p_drop=[0.1, 0.5]" in repr(model)


def test_float32_by_default(toy):
    X, y = toy  # float64 data: the model works in its own dtype
    model = nn.MLP([5, 16, 3], 0.3, rng=np.random.default_rng(0))
    nn.train(model, X, y, epochs=2, lr=0.1, batch_size=4, rng=np.random.default_rng(1))
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.predict_proba(X).dtype == np.float32
    assert "dtype=float32" in repr(model)


def test_scalar_p_drop_applies_to_hidden_layers_only():
    model = nn.MLP([4, 5, 6, 2], 0.5, rng=np.random.default_rng(0))
    assert model.p_drop == (0.0, 0.5, 0.5)


def test_inference_is_deterministic_and_training_samples_masks():
    model = nn.MLP([6, 50, 4], 0.5, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).random((3, 6))
    assert np.array_equal(model.predict_proba(X), model.predict_proba(X))
    rng = np.random.default_rng(2)
    # two masks of 50 units at p_drop = 0.5 coincide with probability 2**-50 per row
    a = model.predict_proba(X, training=True, rng=rng)
    b = model.predict_proba(X, training=True, rng=rng)
    assert not np.allclose(a, b)
    # without an explicit rng the model's own generator supplies the masks
    assert not np.allclose(
        model.predict_proba(X, training=True), model.predict_proba(X, training=True)
    )


def test_hidden_activations_are_relu_outputs_before_dropout():
    model = nn.MLP([3, 5, 4, 2], 0.5, rng=np.random.default_rng(0), dtype=np.float64)
    X = np.random.default_rng(1).standard_normal((6, 3))
    h1, h2 = model.hidden_activations(X)
    expected_h1 = np.maximum(X @ model.weights[0] + model.biases[0], 0)
    np.testing.assert_allclose(h1, expected_h1)
    np.testing.assert_allclose(h2, np.maximum(h1 @ model.weights[1] + model.biases[1], 0))


@pytest.mark.parametrize("start", ["inverted", "standard"])
def test_converted_network_is_the_same_function(start):
    model = nn.MLP(
        [5, 9, 7, 3], [0.2, 0.5, 0.4], rng=np.random.default_rng(0), dropout=start, dtype=np.float64
    )
    other = model.converted("standard" if start == "inverted" else "inverted")
    X = np.random.default_rng(1).standard_normal((4, 5))
    np.testing.assert_allclose(model.predict_proba(X), other.predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(
        model.forward(X, training=True, rng=np.random.default_rng(3))[0],
        other.forward(X, training=True, rng=np.random.default_rng(3))[0],
        rtol=1e-12,
    )
    assert np.array_equal(other.converted(start).weights[1], model.weights[1]) or np.allclose(
        other.converted(start).weights[1], model.weights[1], rtol=1e-15
    )


def test_max_norm_caps_every_incoming_weight_vector():
    model = nn.MLP([20, 30, 5], rng=np.random.default_rng(0), dtype=np.float64)
    model.weights[0] *= 10
    small_column = model.weights[1][:, 0].copy() * 1e-3
    model.weights[1][:, 0] = small_column
    model.max_norm_(1.5)
    for W in model.weights:
        assert np.all(np.linalg.norm(W, axis=0) <= 1.5 * (1 + 1e-12))
    assert np.array_equal(model.weights[1][:, 0], small_column)  # below the cap: unchanged
    np.testing.assert_allclose(np.linalg.norm(model.weights[0], axis=0), 1.5)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"layer_sizes": [3]}, "layer_sizes must list at least 2 layers"),
        ({"p_drop": [0.5]}, "p_drop must have one rate per dropout site"),
        ({"p_drop": 1.0}, r"p_drop must be in \[0, 1\), got 1.0"),
        ({"output": "sigmoid"}, "output must be one of"),
        ({"dropout": "gaussian"}, "dropout must be one of"),
        ({"noise": "uniform"}, "noise must be one of"),
        ({"noise": "gaussian", "dropout": "standard"}, "noise='gaussian' needs dropout='inverted'"),
        ({"dtype": np.int32}, "dtype must be a floating dtype"),
        (
            {"dtype": None},
            r"dtype must be a floating dtype \(float16, float32 or float64\), got None",
        ),
        (
            {"dtype": "foo"},
            r"dtype must be a floating dtype \(float16, float32 or float64\), got 'foo'",
        ),
        ({"dtype": complex}, "dtype must be a floating dtype .*, got 'complex128'"),
        ({"rng": 0}, "rng must be a numpy.random.Generator"),
    ],
)
def test_mlp_bad_arguments(kwargs, pattern):
    args = {"layer_sizes": [3, 4, 2], "p_drop": 0.5, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ValueError, match=pattern):
        nn.MLP(args.pop("layer_sizes"), args.pop("p_drop"), **args)


def test_wrong_input_width():
    model = nn.MLP([3, 4, 2], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\), got \(2, 5\)"):
        model.predict(np.ones((2, 5)))


# --- SGD and train ----------------------------------------------------------------------------


def test_sgd_step_matches_the_update_rule():
    p = np.array([1.0, -2.0])
    opt = nn.SGD([p], 0.1, momentum=0.5, weight_decay=0.01)
    g = np.array([0.3, 0.4])
    opt.step([g])
    v1 = g + 0.01 * np.array([1.0, -2.0])
    np.testing.assert_allclose(p, np.array([1.0, -2.0]) - 0.1 * v1)
    before = p.copy()
    opt.step([g])
    v2 = 0.5 * v1 + g + 0.01 * before
    np.testing.assert_allclose(p, before - 0.1 * v2)


def test_sgd_bad_arguments():
    p = np.zeros(2)
    with pytest.raises(ValueError, match="lr must be one number or one per parameter"):
        nn.SGD([p], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        nn.SGD([p], 0.1, momentum=1.0)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0"):
        nn.SGD([p], 0.1, weight_decay=-1)


def test_sgd_for_model_decays_weights_only():
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    optimizer = nn.SGD.for_model(model, 0.1, momentum=0.5, weight_decay=0.01)
    assert all(mine is its for mine, its in zip(optimizer.params, model.parameters()))
    assert optimizer.decay == [True, False, True, False]
    assert optimizer.momentum == 0.5 and optimizer.weight_decay == 0.01


def test_train_step_returns_the_masks_it_trained_with(toy):
    X, y = toy
    model = nn.MLP([5, 8, 3], p_drop=[0.0, 0.5], rng=np.random.default_rng(1))
    before = model.copy()
    optimizer = nn.SGD.for_model(model, 0.1)
    loss, masks = nn.train_step(model, optimizer, X, y, rng=np.random.default_rng(2))
    assert masks[0] is None and masks[1] is not None
    assert masks[1].shape == (12, 8) and masks[1].dtype == bool
    # the same step by hand: the loss and gradients of the mask drawn from the same generator
    expected_loss, grads = before.loss_and_grads(X, y, rng=np.random.default_rng(2))
    assert loss == pytest.approx(expected_loss)
    for after, start, grad in zip(model.parameters(), before.parameters(), grads):
        np.testing.assert_allclose(after, start - 0.1 * grad)


def test_train_step_applies_max_norm(toy):
    X, y = toy
    model = nn.MLP([5, 8, 3], rng=np.random.default_rng(1))
    nn.train_step(
        model, nn.SGD.for_model(model, 5.0), X, y, rng=np.random.default_rng(0), max_norm=0.5
    )
    # a few roundings of the rescaling, in the weights' own precision (float32 by default)
    assert all(
        np.linalg.norm(W, axis=0).max() <= 0.5 * (1 + 8 * np.finfo(W.dtype).eps)
        for W in model.weights
    )


def test_train_fits_and_records_history(toy):
    X, y = toy
    model = nn.MLP([5, 32, 3], rng=np.random.default_rng(0))
    history = nn.train(
        model,
        X,
        y,
        epochs=60,
        lr=0.1,
        batch_size=4,
        rng=np.random.default_rng(1),
        X_val=X[:4],
        y_val=y[:4],
    )
    assert history.epochs == 60
    for curve in (
        history.train_loss,
        history.train_error,
        history.val_loss,
        history.val_error,
        history.minibatch_loss,
        history.seconds,
    ):
        assert len(curve) == 60
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]
    assert history.train_error[-1] == 0.0
    assert history.train_loss[-1] == pytest.approx(nn.evaluate(model, X, y)[0])
    assert 0 <= history.best_epoch() < 60
    assert set(history.to_dict()) >= {"train_loss", "val_error", "diverged"}


def test_train_is_reproducible(toy):
    X, y = toy

    def run():
        model = nn.MLP([5, 16, 3], 0.5, rng=np.random.default_rng(0))
        nn.train(model, X, y, epochs=5, lr=0.1, batch_size=5, rng=np.random.default_rng(1))
        return model.weights[0]

    assert np.array_equal(run(), run())


def test_train_with_max_norm_respects_the_cap(toy):
    X, y = toy
    model = nn.MLP([5, 16, 3], 0.3, rng=np.random.default_rng(0), dtype=np.float64)
    nn.train(
        model, X, y, epochs=20, lr=0.5, batch_size=3, rng=np.random.default_rng(1), max_norm=0.8
    )
    assert all(np.linalg.norm(W, axis=0).max() <= 0.8 * (1 + 1e-12) for W in model.weights)


def test_weight_decay_shrinks_weights(toy):
    X, y = toy
    norms = []
    for decay in (0.0, 0.1):
        model = nn.MLP([5, 16, 3], rng=np.random.default_rng(0))
        nn.train(
            model,
            X,
            y,
            epochs=30,
            lr=0.1,
            batch_size=4,
            rng=np.random.default_rng(1),
            weight_decay=decay,
        )
        norms.append(sum(np.sum(W**2) for W in model.weights))
    assert norms[1] < 0.8 * norms[0]


def test_regression_training(toy):
    X, _ = toy
    target = X[:, :1] * 2 - X[:, 1:2]
    model = nn.MLP([5, 32, 1], rng=np.random.default_rng(0), output="linear")
    history = nn.train(
        model, X, target, epochs=200, lr=0.02, batch_size=12, rng=np.random.default_rng(1)
    )
    assert history.train_error[-1] == pytest.approx(np.sqrt(history.train_loss[-1]))
    assert history.train_loss[-1] < 0.05 * np.var(target)


def test_progress_bar_writes_to_stderr(toy, capsys):
    X, y = toy
    nn.train(
        nn.MLP([5, 4, 3], rng=np.random.default_rng(0)),
        X,
        y,
        epochs=3,
        lr=0.1,
        batch_size=4,
        rng=np.random.default_rng(1),
        X_val=X,
        y_val=y,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "training" in err and "3/3" in err and "val_error" in err


def test_divergence_stops_with_a_warning_and_keeps_history(toy):
    X, y = toy
    model = nn.MLP([5, 16, 3], rng=np.random.default_rng(0))
    with (
        pytest.warns(RuntimeWarning, match="training diverged at epoch"),
        np.errstate(all="ignore"),
    ):
        history = nn.train(
            model,
            X * 1e6,
            y,
            epochs=50,
            lr=1e3,
            batch_size=4,
            rng=np.random.default_rng(1),
            momentum=0.99,
        )
    assert history.diverged and history.epochs < 50
    assert all(np.isfinite(history.minibatch_loss))


@pytest.mark.parametrize(
    "kwargs,pattern",
    [
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"lr": -0.1}, "lr must be a finite number > 0"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"max_norm": 0.0}, "max_norm must be a finite number > 0"),
        ({"rng": None}, "rng must be a numpy.random.Generator"),
        ({"X_val": np.ones((2, 5))}, "X_val and y_val must be given together"),
        ({"y": np.arange(12) % 5}, r"y must be integer labels of shape \(N,\) in \[0, 3\)"),
        ({"y": np.zeros(11, int)}, "y must have one target per row of X"),
        ({"X_val": np.ones((2, 5)), "y_val": np.array([0.5, 1.0])}, "y_val must be integer labels"),
        # checked up front, with the right argument named
        ({"y": None}, r"y must be integer labels of shape \(N,\) in \[0, 3\), got None"),
        ({"y": 2}, r"y must be integer labels .*, got dtype int64, shape \(\)"),
        ({"y": np.arange(12) - 1}, r"y must be integer labels of shape \(N,\) in \[0, 3\), got -1"),
        ({"X_val": np.ones((2, 4)), "y_val": np.array([0, 1])}, r"X_val must have shape \(N, 5\)"),
        ({"X_val": np.ones((2, 5)), "y_val": np.array([0])}, "y_val must have one target per row"),
        ({"X": np.ones((0, 5)), "y": np.zeros(0, int)}, "X must hold at least one row"),
        (
            {"X_val": np.ones((0, 5)), "y_val": np.zeros(0, int)},
            r"X_val must hold at least one row \(sample\), got shape \(0, 5\)",
        ),
    ],
)
def test_train_bad_arguments(toy, kwargs, pattern):
    X, y = toy
    args = {
        "X": X,
        "y": y,
        "epochs": 1,
        "lr": 0.1,
        "batch_size": 4,
        "rng": np.random.default_rng(0),
    } | kwargs
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=pattern):
        nn.train(model, args.pop("X"), args.pop("y"), **args)


@pytest.mark.parametrize(
    "y,pattern",
    [
        (
            np.array([[1.0], [0.0]] * 6),
            r"y must be real-valued targets of shape \(N, 2\), got shape",
        ),
        (np.ones((12, 3)), r"y must be real-valued targets of shape \(N, 2\), got shape \(12, 3\)"),
        (np.ones(24), "y must have one target per row of X: 12 rows, got 24 targets"),
        (np.ones((2, 12)), "y must have one target per row of X: 12 rows, got 2 targets"),
        (None, r"y must be real-valued targets of shape \(N, 2\), got None"),
    ],
)
def test_train_checks_regression_targets_before_training(toy, y, pattern):
    """A linear network's targets must match its outputs row for row; a wrong shape used to fail
    only at the first mini-batch, with a reshape error."""
    X, _ = toy
    model = nn.MLP([5, 4, 2], rng=np.random.default_rng(0), output="linear")
    before = model.copy()
    with pytest.raises(ValueError, match=pattern):
        nn.train(model, X, y, epochs=1, lr=0.1, batch_size=4, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(), before.parameters()))


# --- argument checks below train ------------------------------------------------------------


def _label_entry_points(model, X, y):
    """Every public function that reads class labels, called on ``(X, y)``."""
    logits = np.ones((len(X), 3))
    return {
        "softmax_cross_entropy": lambda: nn.softmax_cross_entropy(logits, y),
        "MLP.loss": lambda: model.loss(model.forward(X)[0], y),
        "MLP.loss_and_grads": lambda: model.loss_and_grads(X, y, rng=np.random.default_rng(0)),
        "train_step": lambda: nn.train_step(
            model, nn.SGD.for_model(model, 0.1), X, y, rng=np.random.default_rng(0)
        ),
        "evaluate": lambda: nn.evaluate(model, X, y),
        "train": lambda: nn.train(
            model, X, y, epochs=1, lr=0.1, batch_size=2, rng=np.random.default_rng(0)
        ),
    }


@pytest.mark.parametrize(
    "entry",
    ["softmax_cross_entropy", "MLP.loss", "MLP.loss_and_grads", "train_step", "evaluate", "train"],
)
@pytest.mark.parametrize(
    "y,pattern,error",
    [
        ([0, 1, 7, 2], r"y must be integer labels of shape \(N,\) in \[0, 3\), got 7", ValueError),
        (
            [0, -1, 2, 1],
            r"y must be integer labels of shape \(N,\) in \[0, 3\), got -1",
            ValueError,
        ),
        ([0.0, 1.0, 2.0, 1.0], r"y must be integer labels .*, got dtype float64", TypeError),
        ([0, 1], r"y must have one target per row of \w+: 4 rows, got 2 targets", ValueError),
        ([1], r"y must have one target per row of \w+: 4 rows, got 1 targets", ValueError),
        ([[0], [1], [2], [1]], r"y must be integer labels .*, shape \(4, 1\)", ValueError),
        (None, r"y must be integer labels .*, got None", TypeError),
    ],
)
def test_every_function_that_reads_labels_checks_them_as_train_does(entry, y, pattern, error):
    """Labels out of range used to be an IndexError, or (-1) silently the last class; a y of one
    label was broadcast over every row. Every entry point now gives train's message; a wrong
    type is an ArgumentTypeError, both a TypeError and a ValueError."""
    model = nn.MLP([5, 4, 3], 0.5, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((4, 5))
    before = model.copy()
    with pytest.raises(error, match=pattern) as raised:
        _label_entry_points(model, X, y)[entry]()
    assert isinstance(raised.value, ValueError)
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(), before.parameters()))


@pytest.mark.parametrize(
    "batch_size,error",
    [(-1, ValueError), (0, ValueError), (2.5, TypeError), (True, TypeError), ("8", TypeError)],
)
def test_evaluate_refuses_a_bad_batch_size(toy, batch_size, error):
    """batch_size=-1 used to return (0.0, 0.0), a perfect score for a network never run."""
    X, y = toy
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    with pytest.raises(error, match=f"batch_size must be an integer >= 1, got {batch_size!r}"):
        nn.evaluate(model, X, y, batch_size=batch_size)


@pytest.mark.parametrize("output", ["softmax", "linear"])
def test_empty_data_is_refused(output):
    """No samples: a mean over nothing, which used to be a ZeroDivisionError."""
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0), output=output)
    X = np.ones((0, 5))
    y = np.zeros(0, int) if output == "softmax" else np.ones((0, 3))
    pattern = r"X must hold at least one row \(sample\), got shape \(0, 5\)"
    with pytest.raises(ValueError, match=pattern):
        nn.evaluate(model, X, y)
    with pytest.raises(ValueError, match=pattern):
        model.loss_and_grads(X, y, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=pattern):
        nn.train_step(model, nn.SGD.for_model(model, 0.1), X, y, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"outputs must have shape \(N, 3\) with N >= 1"):
        model.loss(np.ones((0, 3)), y)


@pytest.mark.parametrize("max_norm", [-1.0, 0, 0.0, float("nan"), float("inf"), "1", None])
def test_max_norm_must_be_a_positive_number(toy, max_norm):
    """As train already required: -1 flipped every weight's sign, 0 zeroed them, nan made NaNs."""
    X, y = toy
    model = nn.MLP([5, 4, 3], rng=np.random.default_rng(0))
    before = model.copy()
    pattern = f"max_norm must be a finite number > 0, got {max_norm!r}"
    with pytest.raises(ValueError, match=pattern):
        model.max_norm_(max_norm)
    if max_norm is not None:  # None means "no constraint" for train_step, as for train
        with pytest.raises(ValueError, match=pattern):
            nn.train_step(
                model,
                nn.SGD.for_model(model, 0.1),
                X,
                y,
                rng=np.random.default_rng(0),
                max_norm=max_norm,
            )
    assert all(np.array_equal(a, b) for a, b in zip(model.parameters(), before.parameters()))


def test_train_step_needs_a_generator_and_the_models_own_optimizer(toy):
    """rng has no default in train_step (the course's rule for random functions); an optimizer
    must have a step method, and an SGD must hold this model's parameters."""
    X, y = toy
    model = nn.MLP([5, 4, 3], 0.5, rng=np.random.default_rng(0))
    optimizer = nn.SGD.for_model(model, 0.1)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator .*, got NoneType"):
        nn.train_step(model, optimizer, X, y, rng=None)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"optimizer must have a step\(grads\) method"):
        nn.train_step(model, None, X, y, rng=np.random.default_rng(0))  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="optimizer must update model's own parameters"):
        nn.train_step(
            model, nn.SGD.for_model(model.copy(), 0.1), X, y, rng=np.random.default_rng(0)
        )
    with pytest.raises(ValueError, match=r"model must be a course_lib\.nn\.MLP, got NoneType"):
        nn.train_step(None, optimizer, X, y, rng=np.random.default_rng(0))  # pyright: ignore[reportArgumentType]


def test_sgd_refuses_what_it_would_apply_to_some_parameters_only():
    """A short decay list or gradient list used to leave the last parameters out silently; a
    gradient of another shape was broadcast over its parameter."""
    params = [np.zeros((2, 2)), np.zeros(2)]
    with pytest.raises(ValueError, match=r"decay must have one bool per parameter \(2\), got 1"):
        nn.SGD(params, 0.1, decay=[True])
    with pytest.raises(TypeError, match=r"decay\[1\] must be a bool, got 0"):
        nn.SGD(params, 0.1, decay=[True, 0])
    with pytest.raises(ValueError, match="decay must be a sequence of bools"):
        nn.SGD(params, 0.1, decay=True)
    with pytest.raises(ValueError, match=r"params\[0\] must be a float array"):
        nn.SGD([np.zeros(2, dtype=int)], 0.1)
    with pytest.raises(ValueError, match="params must be a list of float arrays, got NoneType"):
        nn.SGD(None, 0.1)
    optimizer = nn.SGD(params, 0.1)
    with pytest.raises(
        ValueError, match=r"grads must hold one gradient per parameter \(2\), got 1"
    ):
        optimizer.step([np.ones((2, 2))])
    with pytest.raises(
        ValueError, match=r"grads\[0\] must have the shape of its parameter, \(2, 2\), got \(2,\)"
    ):
        optimizer.step([np.ones(2), np.ones(2)])
    with pytest.raises(ValueError, match="grads must be a list of arrays, one per parameter"):
        nn.SGD([np.zeros(2)], 0.1).step(np.ones(2))
    assert all(not p.any() for p in params)  # nothing was updated
    with pytest.raises(ValueError, match=r"model must be a course_lib\.nn\.MLP, got NoneType"):
        nn.SGD.for_model(None, 0.1)  # pyright: ignore[reportArgumentType]


def test_sgd_still_takes_any_list_of_gradients_and_decay_flags():
    p = np.ones(2)
    optimizer = nn.SGD([p], 0.5, momentum=0.0, weight_decay=0.1, decay=np.array([False]))
    optimizer.step(g for g in [np.ones(2)])  # any iterable, as before
    np.testing.assert_array_equal(p, [0.5, 0.5])


_X45, _W53, _B3 = np.ones((4, 5)), np.ones((5, 3)), np.ones(3)


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: nn.dense_forward(_X45, _W53, np.ones(1)),
            r"b must have shape \(M,\) = \(3,\), .*got \(1,\)",
        ),
        (
            lambda: nn.dense_forward(_X45, _W53, np.ones((4, 3))),
            r"b must have shape .*got \(4, 3\)",
        ),
        (lambda: nn.dense_forward(np.ones((2, 4, 5)), _W53, _B3), r"x must have shape \(N, D\)"),
        (
            lambda: nn.dense_forward(_X45, np.ones((4, 3)), _B3),
            r"W must have shape \(D, M\) with D = 5",
        ),
        (lambda: nn.dense_forward(_X45.astype(int), _W53, _B3), "x must have a floating dtype"),
        (
            lambda: nn.dense_backward(np.ones((4, 2)), nn.dense_forward(_X45, _W53, _B3)[1]),
            r"dout must have the forward output's shape \(4, 3\), got \(4, 2\)",
        ),
        (lambda: nn.dense_backward(np.ones((4, 3)), None), r"cache must be the \(x, W\) pair"),  # pyright: ignore[reportArgumentType]
        (lambda: nn.relu_forward(["a"]), "x must have a floating dtype"),  # pyright: ignore[reportArgumentType]
        (
            lambda: nn.relu_backward(np.ones(4), nn.relu_forward(np.ones((3, 4)))[1]),
            r"dout must have the forward input's shape \(3, 4\), got \(4,\)",
        ),
        (lambda: nn.relu_backward(np.ones(4), None), "cache must be the boolean array"),  # pyright: ignore[reportArgumentType]
        (lambda: nn.softmax(np.ones((3, 0))), r"logits must have shape \(..., K\) with K >= 1"),
        (lambda: nn.softmax(["a", "b"]), "logits must hold real numbers"),  # pyright: ignore[reportArgumentType]
        (lambda: nn.softmax_cross_entropy(np.ones(3), [0]), r"logits must have shape \(N, K\)"),  # pyright: ignore[reportArgumentType]
        (
            lambda: nn.squared_error(np.ones((3, 1)), np.ones(3)),
            r"targets must have the shape of predictions \(3, 1\), got \(3,\)",
        ),
        (
            lambda: nn.squared_error(np.ones((0, 2)), np.ones((0, 2))),
            "predictions must hold at least one",
        ),
    ],
)
def test_layer_functions_check_shapes(call, pattern):
    """Mismatched shapes used to be broadcast (a (3, 1) prediction against (3,) targets gave a
    (3, 3) gradient), or fail with NumPy's messages (matmul's 'core dimension', AttributeError
    on a list, a reduction over an empty axis)."""
    with pytest.raises(ValueError, match=pattern):
        call()


def test_layer_functions_still_take_lists_and_any_leading_shape():
    out, _ = nn.relu_forward([1.0, -2.0])  # pyright: ignore[reportArgumentType]
    np.testing.assert_array_equal(out, [1.0, 0.0])
    np.testing.assert_allclose(nn.softmax([[0.0, 0.0]]), [[0.5, 0.5]])  # pyright: ignore[reportArgumentType]
    samples = np.random.default_rng(0).standard_normal((3, 4, 5))  # (S, N, K), as notebook 06
    np.testing.assert_allclose(nn.softmax(samples).sum(axis=-1), 1.0)
    assert nn.MLP([2, 2], rng=np.random.default_rng(0), dtype="float64").dtype == np.float64


# --- inverted vs standard dropout, step for step ---------------------------------------------


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_inverted_net_follows_standard_net_at_the_equivalent_learning_rate(momentum):
    """An inverted-dropout net trained at lr follows, step for step, the standard-dropout net
    with mapped weights (W_inverted = keep_prob * W_standard after each dropout site) whose
    post-dropout weights learn at lr / keep_prob**2 and other parameters at lr. Same masks:
    both draw them from generators with the same seed, in the same order and shapes."""
    rates = [0.2, 0.5, 0.3]
    lr = 0.2 * (1 - momentum)  # the same effective step with and without momentum
    data_rng = np.random.default_rng(0)
    X = data_rng.standard_normal((64, 6))
    y = X[:, :4].argmax(axis=1)  # a learnable rule, so that the check below means something
    standard = nn.MLP(
        [6, 20, 16, 4], rates, rng=np.random.default_rng(1), dropout="standard", dtype=np.float64
    )
    inverted = standard.converted("inverted")
    standard_lrs = [
        equivalent_standard_lr(lr, rates[int(name[1:])]) if reads else lr
        for name, reads in zip(standard.parameter_names(), standard.reads_dropout())
    ]
    opt_standard = nn.SGD(standard.parameters(), standard_lrs, momentum=momentum)
    opt_inverted = nn.SGD(inverted.parameters(), lr, momentum=momentum)
    mask_rng_standard, mask_rng_inverted = np.random.default_rng(7), np.random.default_rng(7)
    initial_loss = nn.evaluate(standard, X, y)[0]
    keep = {f"W{i}": 1 - rate for i, rate in enumerate(rates)}
    for step in range(80):
        batch = np.arange(step * 8, step * 8 + 8) % 64
        loss_s, grads_s = standard.loss_and_grads(X[batch], y[batch], rng=mask_rng_standard)
        loss_i, grads_i = inverted.loss_and_grads(X[batch], y[batch], rng=mask_rng_inverted)
        assert loss_i == pytest.approx(loss_s, rel=1e-10), step
        for name, g_s, g_i in zip(standard.parameter_names(), grads_s, grads_i):
            # the gradient of a post-dropout weight is 1/keep_prob times the standard one
            factor = 1 / keep[name] if name.startswith("W") else 1.0
            np.testing.assert_allclose(g_i, factor * g_s, rtol=1e-9, atol=1e-13)
        opt_standard.step(grads_s)
        opt_inverted.step(grads_i)
        for name, p_s, p_i in zip(
            standard.parameter_names(), standard.parameters(), inverted.parameters()
        ):
            factor = keep[name] if name.startswith("W") else 1.0
            np.testing.assert_allclose(p_i, factor * p_s, rtol=1e-9, atol=1e-13)
    # the inference outputs are the same function too
    np.testing.assert_allclose(inverted.predict_proba(X), standard.predict_proba(X), rtol=1e-9)
    assert nn.evaluate(standard, X, y)[0] < 0.8 * initial_loss  # and they did learn


def test_the_naive_boosted_rate_does_not_follow():
    """The often-quoted lr / keep_prob on the standard net drifts away from the inverted net."""
    rates = [0.0, 0.5]
    lr = 0.05
    data_rng = np.random.default_rng(0)
    X, y = data_rng.standard_normal((32, 4)), data_rng.integers(0, 3, size=32)
    standard = nn.MLP(
        [4, 12, 3], rates, rng=np.random.default_rng(1), dropout="standard", dtype=np.float64
    )
    inverted = standard.converted("inverted")
    naive = [lr / 0.5 if reads else lr for reads in standard.reads_dropout()]
    opt_s, opt_i = nn.SGD(standard.parameters(), naive), nn.SGD(inverted.parameters(), lr)
    rng_s, rng_i = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(10):
        opt_s.step(standard.loss_and_grads(X, y, rng=rng_s)[1])
        opt_i.step(inverted.loss_and_grads(X, y, rng=rng_i)[1])
    assert relative_error(inverted.weights[1], 0.5 * standard.weights[1]) > 1e-3


def test_relu_dropout_keeps_the_dropout_mask_apart_from_the_mask_of_positive_kept_units():
    from course_lib.masks import sample_mask

    z = np.random.default_rng(3).normal(size=(40, 30)).astype(np.float32)
    _, cache = nn.relu_dropout_forward(z, 0.4, rng=np.random.default_rng(7))
    keep = sample_mask(z.shape, 0.4, rng=np.random.default_rng(7))
    assert cache.keep is not None
    np.testing.assert_array_equal(cache.keep, keep)
    np.testing.assert_array_equal(cache.mask, keep & (z > 0))
    assert (~keep & (z > 0)).any()  # dropped although positive: told apart only by keep
    _, inference = nn.relu_dropout_forward(z, 0.4, rng=np.random.default_rng(7), training=False)
    assert inference.keep is None

"""A small fully connected network in NumPy, with dropout, for the experiments of the course.

Layers follow the course's layer API: ``forward(x, ...) -> (out, cache)`` and
``backward(dout, cache) -> dx`` (plus parameter gradients). :class:`MLP` stacks
``dropout -> dense -> ReLU`` blocks and ends in a dense layer read by a softmax cross-entropy (or a
squared error, for regression). :func:`train` runs mini-batch SGD with momentum, L2 weight decay and
an optional max-norm constraint, and returns a :class:`History`.

Speed, at the sizes students train (a few hundred units, mini-batches of tens): networks are
float32 unless asked otherwise (half the memory traffic of float64; gradient checks pass
``dtype=np.float64``); each hidden layer applies ReLU and dropout in one step with one mask for
the backward pass (:func:`relu_dropout_forward`); layers write into the arrays they have just
created and SGD updates the parameters in place, without temporaries; and :func:`train` runs
BLAS on one thread when the matrices are small (:func:`blas_threads_for`), where a second
thread costs more than it saves.

Argument checks: every public function checks its arguments and raises ``ValueError`` (or
:class:`~course_lib._validate.ArgumentTypeError`, both a ``TypeError`` and a ``ValueError``, for
a wrong type) with a message that names the argument and its valid range. :func:`train` checks its
data once, up front, and then runs the mini-batches through unchecked twins of the public
functions (the same name with a leading underscore, e.g. :func:`_dense_forward`), so that the
checks cost nothing per mini-batch.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import DTypeLike

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_float_array,
    check_float_dtype,
    check_layer_sizes,
    check_nonnegative,
    check_p_drop,
    check_positive,
    check_probability,
    check_real_array,
    check_rng,
    per_layer_p_drop,
)
from .dropout import (
    DropoutCache,
    dropout_backward,
    dropout_forward,
    standard_dropout_backward,
    standard_dropout_forward,
)
from .masks import sample_mask

_DROPOUT_STYLES = {
    "inverted": (dropout_forward, dropout_backward),
    "standard": (standard_dropout_forward, standard_dropout_backward),
}
_OUTPUTS = ("softmax", "linear")
_NOISES = ("bernoulli", "gaussian")


def _check_model(model) -> None:
    if not isinstance(model, MLP):
        raise ArgumentTypeError(f"model must be a course_lib.nn.MLP, got {type(model).__name__}")


def _describe(value) -> str:
    """What a wrong argument is, for a message: its dtype and shape if an array, else its type."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}, shape {value.shape}"
    return type(value).__name__


def one_blas_thread():
    """A context in which BLAS uses one thread.

    The course multiplies small matrices (layers of a few hundred units); on a busy machine the
    threads of a multithreaded BLAS cost more than they save (training ran 5 to 40 times slower
    with two threads than with one while other jobs shared the two cores), and with one thread
    float32 results do not depend on how many cores the machine has.

    The thread pools are found once per process: finding them reads the process's memory map,
    which took several milliseconds a call, too slow for the playground's 20 frames a second.
    """
    return _thread_pools().limit(limits=1, user_api="blas")


@functools.cache
def _thread_pools():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


SMALL_PRODUCT = 1 << 24
"""Multiply-adds below which a matrix product counts as small: a few milliseconds on one core."""


def blas_threads_for(layer_sizes: Sequence[int], batch_size: int):
    """The BLAS thread setting for training with mini-batches of ``batch_size``: one thread
    (:func:`one_blas_thread`) when every product of a training step is small
    (``batch_size * fan_in * fan_out < SMALL_PRODUCT``), else BLAS's own default.

    A 64-256-256-10 network on batches of 50 multiplies at most 50 x 256 x 256 = 3.3M
    multiply-adds at a time, far too few to share between threads: on two cores shared with
    other work, training it for 20 epochs took 1.6 to 16 s with BLAS's two threads and about
    1 s on one thread.
    """
    largest = max(
        batch_size * fan_in * fan_out for fan_in, fan_out in itertools.pairwise(layer_sizes)
    )
    return one_blas_thread() if largest < SMALL_PRODUCT else contextlib.nullcontext()


# --- layers ---------------------------------------------------------------------------------


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer ``x @ W + b``.

    Parameters
    ----------
    x : ndarray of float, shape (N, D)
    W : ndarray of float, shape (D, M)
    b : ndarray of float, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : (x, W)

    Raises
    ------
    ValueError
        If an array is not a float array or the shapes do not fit together. A bias of another
        shape, such as (1,) or (N, M), would otherwise be broadcast without a word.
    """
    x, W, b = check_float_array(x, "x"), check_float_array(W, "W"), check_float_array(b, "b")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, D), one row per sample, got {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(
            f"W must have shape (D, M) with D = {x.shape[1]}, the columns of x, got {W.shape}"
        )
    if b.shape != W.shape[1:]:
        raise ValueError(
            f"b must have shape (M,) = ({W.shape[1]},), one bias per column of W, got {b.shape}"
        )
    return _dense_forward(x, W, b)


def _dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """:func:`dense_forward` without its checks, for the network's own passes."""
    out = x @ W
    out += b  # in place: the product is a new array, no need for a second one
    return out, (x, W)


def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dW, db)`` of :func:`dense_forward`.

    Parameters
    ----------
    dout : ndarray of float, shape (N, M), the shape of the forward output
    cache : the ``(x, W)`` returned by :func:`dense_forward`

    Raises
    ------
    ValueError
        If ``cache`` is not that pair, or ``dout`` is not a float array of shape (N, M).
    """
    if not (
        isinstance(cache, tuple)
        and len(cache) == 2
        and all(isinstance(array, np.ndarray) and array.ndim == 2 for array in cache)
    ):
        raise ValueError(
            f"cache must be the (x, W) pair returned by dense_forward, got {type(cache).__name__}"
        )
    dout = check_float_array(dout, "dout")
    x, W = cache
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(
            f"dout must have the forward output's shape {(x.shape[0], W.shape[1])}, "
            f"got {dout.shape}"
        )
    return _dense_backward(dout, cache)


def _dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`dense_backward` without its checks, for the network's own passes."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``max(x, 0)``; the cache is the boolean array of positive inputs.

    ``x`` is a float array of any shape (a ``ValueError`` otherwise); the output has its shape and
    dtype.

    ``np.maximum`` rather than ``np.where(x > 0, x, 0)``, for speed and with the same values:
    3 times faster on a mini-batch of 50 x 256 float32, 10 times on 1000 x 256.
    """
    x = check_float_array(x, "x")
    return np.maximum(x, np.zeros((), dtype=x.dtype)), x > 0


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu_forward`: ``dout`` where the input was positive, else 0.

    ``dout`` must be a float array of the forward input's shape and ``cache`` the boolean array
    :func:`relu_forward` returned (a ``ValueError`` otherwise: a ``dout`` of another shape would
    be broadcast against the cache without a word).
    """
    if not isinstance(cache, np.ndarray) or cache.dtype != bool:
        raise ValueError(
            f"cache must be the boolean array returned by relu_forward, got {_describe(cache)}"
        )
    dout = check_float_array(dout, "dout")
    if dout.shape != cache.shape:
        raise ValueError(
            f"dout must have the forward input's shape {cache.shape}, got {dout.shape}"
        )
    return dout * cache


@dataclass(frozen=True)
class ReluDropoutCache(DropoutCache):
    """The cache of :func:`relu_dropout_forward`: ``mask`` (positive and kept) is what the
    backward pass needs; ``keep`` is the dropout mask alone (``None`` when none was drawn), kept
    for whoever wants to see which units were dropped, at no extra cost."""

    keep: np.ndarray | None = None


def relu_dropout_forward(
    z: np.ndarray,
    p_drop: float,
    *,
    rng: np.random.Generator,
    training: bool = True,
    dropout: str = "inverted",
) -> tuple[np.ndarray, ReluDropoutCache]:
    """ReLU followed by dropout, in one step: what every hidden layer of :class:`MLP` does.

    The result equals ``dropout_forward(relu_forward(z)[0], p_drop, ...)`` (or the standard
    form), with the same mask for the same ``rng``. A unit passes a gradient back only if it was
    positive *and* kept, so the cache holds one mask, ``out > 0``, and the backward pass is
    :func:`~course_lib.dropout.dropout_backward`. For speed the ReLU's output is masked and
    scaled in place, and the backward pass multiplies by one mask instead of two.

    Parameters
    ----------
    z : ndarray of float, shape (N, M)
        Pre-activations.
    p_drop : float in [0, 1)
    rng : numpy.random.Generator
    training : bool
    dropout : {"inverted", "standard"}

    Returns
    -------
    out : ndarray, shape and dtype of ``z``
    cache : ReluDropoutCache whose mask is ``out > 0`` (positive and kept) and whose ``keep`` is
        the dropout mask drawn

    Raises
    ------
    ValueError
        If ``z`` is not a float array, ``p_drop`` is outside [0, 1), ``rng`` is not a Generator
        or ``dropout`` is not one of the two styles.
    """
    z = check_float_array(z, "z")
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if dropout not in _DROPOUT_STYLES:
        raise ValueError(f"dropout must be one of {tuple(_DROPOUT_STYLES)}, got {dropout!r}")
    out = np.maximum(z, np.zeros((), dtype=z.dtype))
    keep_prob = 1.0 - p_drop
    keep = None
    if training and p_drop > 0.0:
        keep = sample_mask(z.shape, p_drop, rng=rng)
        out *= keep
        scale = 1.0 / keep_prob if dropout == "inverted" else 1.0
    else:
        scale = keep_prob if dropout == "standard" and not training else 1.0
    if scale != 1.0:
        out *= scale
    return out, ReluDropoutCache(mask=out > 0, scale=scale, keep=keep)


@dataclass(frozen=True)
class ReluGaussianCache:
    """The cache of :func:`relu_gaussian_forward`: ``gain`` is the derivative of the output with
    respect to the pre-activation, the noise where the unit was positive and 0 elsewhere."""

    gain: np.ndarray
    keep: None = None  # no unit is ever dropped: there is no keep-mask to show


def relu_gaussian_forward(
    z: np.ndarray, p_drop: float, *, rng: np.random.Generator
) -> tuple[np.ndarray, ReluGaussianCache]:
    """ReLU followed by Gaussian dropout in training: ``relu(z) * noise``, with independent
    ``noise ~ N(1, p_drop / keep_prob)`` per entry, the mean and variance of inverted dropout's
    factor ``mask / keep_prob`` (see :func:`course_lib.variants.gaussian_dropout_forward`).

    What :class:`MLP` does in its hidden layers with ``noise="gaussian"`` while training; at
    inference the noise is off and the layer is a ReLU. The backward pass is ``dout * gain``.

    Parameters
    ----------
    z : ndarray of float, shape (N, M)
    p_drop : float in [0, 1)
    rng : numpy.random.Generator

    Returns
    -------
    out : ndarray, shape and dtype of ``z``
    cache : ReluGaussianCache

    Raises
    ------
    ValueError
        If ``z`` is not a float array, ``p_drop`` is outside [0, 1) or ``rng`` is not a
        Generator.
    """
    z = check_float_array(z, "z")
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    noise_dtype = z.dtype if z.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    gain = rng.standard_normal(z.shape, dtype=noise_dtype)
    gain *= np.sqrt(p_drop / (1.0 - p_drop)).astype(noise_dtype)
    gain += 1.0
    gain *= z > 0
    gain = gain.astype(z.dtype, copy=False)
    return z * gain, ReluGaussianCache(gain=gain)


def _times_gaussian_noise(x: np.ndarray, variance: float, generator: np.random.Generator):
    """``x * noise`` with independent ``noise ~ N(1, variance)`` per entry, in ``x``'s dtype:
    what :class:`MLP` does to its inputs with ``noise="gaussian"`` in training. The network
    learns nothing at its inputs, so nothing is kept for a backward pass."""
    noise_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    noise = generator.standard_normal(x.shape, dtype=noise_dtype)
    noise *= np.sqrt(variance).astype(noise_dtype)
    noise += 1.0
    return (x * noise).astype(x.dtype, copy=False)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for numerical stability.

    ``logits`` is an array of real numbers (float or signed integer) of any shape ``(..., K)``
    with at least one class, ``K >= 1``; the probabilities have the same shape.
    """
    logits = check_real_array(logits, "logits", unsigned=False)
    if logits.ndim == 0 or logits.shape[-1] == 0:
        raise ValueError(
            f"logits must have shape (..., K) with K >= 1 classes on the last axis, "
            f"got {logits.shape}"
        )
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels under ``softmax(logits)``, and its gradient.

    Parameters
    ----------
    logits : ndarray of float (or int), shape (N, K), N >= 1 and K >= 1
    y : ndarray of int, shape (N,), values in [0, K)

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K): ``(softmax(logits) - onehot(y)) / N``

    Raises
    ------
    ValueError
        If ``logits`` is not such an array, or ``y`` is not one integer label in [0, K) per row
        (a label out of range or a ``y`` of another length would otherwise be an ``IndexError``,
        or a negative label silently read as a class counted from the end).
    """
    logits = check_real_array(logits, "logits")
    if logits.ndim != 2 or 0 in logits.shape:
        raise ValueError(
            f"logits must have shape (N, K) with N >= 1 rows and K >= 1 classes, got {logits.shape}"
        )
    y = _check_labels(y, *logits.shape, rows_name="logits")
    return _softmax_cross_entropy(logits, y)


def _softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`softmax_cross_entropy` without its checks, for the network's own passes."""
    n_samples = logits.shape[0]
    float_dtype = np.result_type(logits.dtype, 1.0)  # integer logits give float64, as before
    log_probs = np.subtract(logits, logits.max(axis=1, keepdims=True), dtype=float_dtype)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    rows = np.arange(n_samples)
    loss = -float(log_probs[rows, y].mean())
    dlogits = np.exp(log_probs, out=log_probs)  # in place: the log-probabilities are done
    dlogits[rows, y] -= 1.0
    dlogits /= n_samples
    return loss, dlogits


def squared_error(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries, and its gradient.

    Both arrays hold real numbers (float or signed integer) and have the same shape, (N, K) for
    the network's outputs, with at least one entry. A ``ValueError`` otherwise: predictions of
    shape (N, 1) against targets of shape (N,) would be broadcast to an (N, N) difference.
    """
    predictions = check_real_array(predictions, "predictions", unsigned=False)
    targets = check_real_array(targets, "targets", unsigned=False)
    if predictions.size == 0:
        raise ValueError(f"predictions must hold at least one value, got shape {predictions.shape}")
    if targets.shape != predictions.shape:
        raise ValueError(
            f"targets must have the shape of predictions {predictions.shape}, got {targets.shape}"
        )
    return _squared_error(predictions, targets)


def _squared_error(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`squared_error` without its checks, for the network's own passes."""
    diff = predictions - targets
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


# --- targets ------------------------------------------------------------------------------


def _check_labels(
    y, n_rows: int, n_classes: int, *, name: str = "y", rows_name: str = "X"
) -> np.ndarray:
    """``y`` as an array of ``n_rows`` integer class labels in [0, ``n_classes``).

    The one check of class labels, for :func:`train`, :func:`evaluate`, :func:`train_step`,
    :meth:`MLP.loss`, :meth:`MLP.loss_and_grads` and :func:`softmax_cross_entropy`. Floats and
    bools are refused, even 0.0 and 1.0; a label out of range is named in the message.
    """
    expected = f"{name} must be integer labels of shape (N,) in [0, {n_classes})"
    if y is None:
        raise ArgumentTypeError(f"{expected}, got None")
    y = np.asarray(y)
    if y.dtype.kind not in "iu":  # the integer dtypes, signed and unsigned
        raise ArgumentTypeError(f"{expected}, got dtype {y.dtype}, shape {y.shape}")
    if y.ndim != 1:
        raise ValueError(f"{expected}, got dtype {y.dtype}, shape {y.shape}")
    _check_one_per_row(y, n_rows, name, rows_name)
    if y.size:
        lowest, highest = y.min(), y.max()
        if lowest < 0 or highest >= n_classes:
            raise ValueError(f"{expected}, got {lowest if lowest < 0 else highest}")
    return y


def _check_real_targets(
    y, n_rows: int, n_outputs: int, *, name: str = "y", rows_name: str = "X"
) -> np.ndarray:
    """``y`` as an array of real-valued regression targets, shape (``n_rows``, ``n_outputs``),
    or (``n_rows``,) for a single output: what :meth:`MLP.loss` can compare with the outputs
    row by row, rather than reshape silently."""
    shapes = f"(N, {n_outputs})" + (" or (N,)" if n_outputs == 1 else "")
    expected = f"{name} must be real-valued targets of shape {shapes}"
    if y is None:
        raise ArgumentTypeError(f"{expected}, got None")
    y = np.asarray(y)
    if y.dtype.kind not in "fiu":
        raise ArgumentTypeError(f"{expected}, got dtype {y.dtype}")
    if y.ndim == 0:
        raise ValueError(f"{expected}, got shape {y.shape}")
    _check_one_per_row(y, n_rows, name, rows_name)
    if y.shape[1:] != (n_outputs,) and not (n_outputs == 1 and y.ndim == 1):
        raise ValueError(f"{expected}, got shape {y.shape}")
    return y


def _check_one_per_row(y: np.ndarray, n_rows: int, name: str, rows_name: str) -> None:
    if len(y) != n_rows:
        raise ValueError(
            f"{name} must have one target per row of {rows_name}: {n_rows} rows, "
            f"got {len(y)} targets"
        )


# --- the network ----------------------------------------------------------------------------


class MLP:
    """Fully connected ReLU network with dropout before every dense layer that has ``p_drop > 0``.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first, e.g. ``[64, 1024, 1024, 10]``.
    p_drop : float or sequence of float in [0, 1)
        One rate per dropout site, that is the input and each hidden layer
        (``len(layer_sizes) - 1`` rates), or one number for every hidden layer (input kept whole).
    rng : numpy.random.Generator
        Draws the initial weights (He initialisation, zero biases). It is also the default source
        of dropout masks when a method that samples them (:meth:`forward`, :meth:`predict_proba`,
        :meth:`predict`, :meth:`hidden_activations`, :meth:`loss_and_grads`) is called without
        ``rng``: an exception to the course's rule that every random function takes its ``rng``,
        kept because MC dropout reads well as ``model.predict_proba(X, training=True)`` and
        tests rely on it. Pass ``rng`` for results that do not depend on earlier calls; the
        functions of the training loop (:func:`train_step`, :func:`train`) always take one.
    output : {"softmax", "linear"}
        Classification with softmax cross-entropy, or regression with squared error.
    dropout : {"inverted", "standard"}
        Which dropout the network uses (see :mod:`course_lib.dropout`).
    noise : {"bernoulli", "gaussian"}
        What a dropout site multiplies its units by in training: a keep-mask (dropout), or
        Gaussian noise of mean 1 and the same variance ``p_drop / keep_prob`` (Gaussian dropout,
        :func:`relu_gaussian_forward`; only with ``dropout="inverted"``, as its mean is already
        1). At inference both are off.
    dtype : float dtype
        Of weights and activations: a NumPy floating dtype (float16, float32, float64), given as
        ``np.float32``, ``"float32"`` or ``np.dtype("float32")``; ``None`` is refused rather
        than read as float64. float32 by default, for speed (half the memory traffic of float64,
        and plenty of precision for training); pass ``np.float64`` for gradient checks, whose
        centred differences need it.

    Raises
    ------
    ValueError
        If an argument is outside the range stated above.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        p_drop: float | Sequence[float] = 0.0,
        *,
        rng: np.random.Generator,
        output: str = "softmax",
        dropout: str = "inverted",
        noise: str = "bernoulli",
        dtype: DTypeLike = np.float32,
    ):
        self.layer_sizes = check_layer_sizes(layer_sizes)
        self.p_drop = per_layer_p_drop(p_drop, self.layer_sizes)
        self.rng = check_rng(rng)
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
        if dropout not in _DROPOUT_STYLES:
            raise ValueError(f"dropout must be one of {tuple(_DROPOUT_STYLES)}, got {dropout!r}")
        if noise not in _NOISES:
            raise ValueError(f"noise must be one of {_NOISES}, got {noise!r}")
        if noise == "gaussian" and dropout != "inverted":
            raise ValueError(
                f"noise='gaussian' needs dropout='inverted' (its noise has mean 1 and is never "
                f"rescaled), got dropout={dropout!r}"
            )
        self.dtype = check_float_dtype(dtype)
        self.output = output
        self.dropout = dropout
        self.noise = noise
        self.weights = [
            (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(self.dtype)
            for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])
        ]
        self.biases = [np.zeros(fan_out, dtype=self.dtype) for fan_out in self.layer_sizes[1:]]

    def __repr__(self) -> str:
        rates = ", ".join(f"{rate:g}" for rate in self.p_drop)
        return (
            f"MLP({list(self.layer_sizes)}, p_drop=[{rates}], output={self.output!r}, "
            f"dropout={self.dropout!r}, "
            + ("" if self.noise == "bernoulli" else f"noise={self.noise!r}, ")
            + f"dtype={self.dtype.name})"
        )

    # parameters

    def parameters(self) -> list[np.ndarray]:
        """The parameter arrays, in the order ``[W0, b0, W1, b1, ...]`` (the model's own arrays)."""
        return [array for pair in zip(self.weights, self.biases) for array in pair]

    def parameter_names(self) -> list[str]:
        """Names matching :meth:`parameters`: ``["W0", "b0", "W1", "b1", ...]``."""
        return [name for i in range(len(self.weights)) for name in (f"W{i}", f"b{i}")]

    def reads_dropout(self) -> list[bool]:
        """For each parameter of :meth:`parameters`: is it a weight that reads a dropout layer?"""
        return [
            name.startswith("W") and self.p_drop[int(name[1:])] > 0.0
            for name in self.parameter_names()
        ]

    def copy(self) -> MLP:
        """An independent copy (weights copied; the generator is shared)."""
        clone = copy.copy(self)
        clone.weights = [W.copy() for W in self.weights]
        clone.biases = [b.copy() for b in self.biases]
        return clone

    def converted(self, dropout: str) -> MLP:
        """The same network rewritten for the other dropout style.

        A standard-dropout network with weights ``W`` after a dropout site and an inverted one with
        ``keep_prob * W`` compute the same function in training (for the same mask) and at
        inference. Biases and weights that read no dropout are unchanged.
        """
        if dropout not in _DROPOUT_STYLES:
            raise ValueError(f"dropout must be one of {tuple(_DROPOUT_STYLES)}, got {dropout!r}")
        if self.noise != "bernoulli" and dropout != self.dropout:
            raise ValueError(f"a network with noise={self.noise!r} has only the inverted form")
        clone = self.copy()
        clone.dropout = dropout
        if dropout != self.dropout:
            for i, rate in enumerate(self.p_drop):
                keep_prob = 1.0 - rate
                factor = keep_prob if dropout == "inverted" else 1.0 / keep_prob
                clone.weights[i] = (clone.weights[i] * factor).astype(self.dtype)
        return clone

    def max_norm_(self, max_norm: float) -> None:
        """Rescale, in place, every unit's incoming weight vector to an L2 norm <= ``max_norm``.

        ``max_norm`` must be a finite number > 0, as for :func:`train` (a ``ValueError``
        otherwise: a negative cap would flip every weight's sign, 0 would zero them all).
        """
        check_positive(max_norm, "max_norm")
        self._max_norm(max_norm)  # as given: a NumPy scalar keeps its precision, as before

    def _max_norm(self, max_norm: float) -> None:
        """:meth:`max_norm_` without its check, for the training loop."""
        for W in self.weights:
            norms = np.sqrt(np.einsum("ij,ij->j", W, W))
            factors = np.minimum(1.0, max_norm / np.maximum(norms, np.finfo(W.dtype).tiny))
            W *= factors.astype(W.dtype)

    # passes

    def _inputs(self, X, name: str = "X") -> np.ndarray:
        """``X`` in the network's dtype, after checking its width (O(1): run on every pass)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"{name} must have shape (N, {self.layer_sizes[0]}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def _targets(self, y, n_rows: int, name: str = "y", rows_name: str = "X") -> np.ndarray:
        """``y`` checked against the output layer: ``n_rows`` labels in [0, K) for softmax, real
        targets of shape (N, K) (or (N,) for K = 1) for a linear output."""
        if self.output == "softmax":
            return _check_labels(y, n_rows, self.layer_sizes[-1], name=name, rows_name=rows_name)
        return _check_real_targets(y, n_rows, self.layer_sizes[-1], name=name, rows_name=rows_name)

    def forward(
        self, X: np.ndarray, *, training: bool = False, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, list]:
        """Outputs (logits for softmax, predictions for linear) of shape (N, K), and the cache.

        With ``training=True`` a fresh dropout mask is drawn from ``rng`` (default: the model's,
        see :class:`MLP`). ``X`` must have shape (N, D) for the D input units.
        """
        outputs, caches, _ = self._run(X, training, rng)
        return outputs, caches

    def _run(
        self, X, training: bool, rng, keep_hidden: bool = False
    ) -> tuple[np.ndarray, list, list]:
        rng = self.rng if rng is None else check_rng(rng)
        activation = self._inputs(X)
        input_cache = None
        gaussian = training and self.noise == "gaussian"
        if self.p_drop[0] > 0.0 and gaussian:
            rate = self.p_drop[0]
            activation = _times_gaussian_noise(activation, rate / (1.0 - rate), rng)
        elif self.p_drop[0] > 0.0:  # with no input dropout the input is used as it is
            drop_forward, _ = _DROPOUT_STYLES[self.dropout]
            activation, input_cache = drop_forward(
                activation, self.p_drop[0], rng=rng, training=training
            )
        caches: list = [input_cache]  # then (dense cache, activation cache) per layer
        hidden: list[np.ndarray] = []
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            activation, dense_cache = _dense_forward(activation, W, b)
            activation_cache = None
            if i < last:
                if keep_hidden:
                    hidden.append(relu_forward(activation)[0])
                if gaussian and self.p_drop[i + 1] > 0.0:
                    activation, activation_cache = relu_gaussian_forward(
                        activation, self.p_drop[i + 1], rng=rng
                    )
                    caches.append((dense_cache, activation_cache))
                    continue
                activation, activation_cache = relu_dropout_forward(
                    activation,
                    self.p_drop[i + 1],
                    rng=rng,
                    training=training,
                    dropout=self.dropout,
                )
            caches.append((dense_cache, activation_cache))
        return activation, caches, hidden

    def backward(self, dout: np.ndarray, caches: list) -> list[np.ndarray]:
        """Gradients of the parameters, in the order of :meth:`parameters`.

        The gradient with respect to the input ``X`` is not needed, so it is not computed.
        """
        layers = caches[1:]  # caches[0] belongs to the input's dropout: nothing to learn there
        grads: list[np.ndarray] = []
        for i in reversed(range(len(layers))):
            dense_cache, activation_cache = layers[i]
            if isinstance(activation_cache, ReluGaussianCache):
                dout = dout * activation_cache.gain
            elif activation_cache is not None:  # ReLU and dropout: one mask, positive and kept
                dout = dropout_backward(dout, activation_cache)
            if i > 0:
                dout, dW, db = _dense_backward(dout, dense_cache)
            else:
                x, _ = dense_cache
                dW, db = x.T @ dout, dout.sum(axis=0)
            grads[:0] = [dW, db]
        return grads

    def loss(self, outputs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The data loss of the network's outputs and its gradient.

        ``outputs`` has shape (N, K) for the K output units, N >= 1; ``y`` holds N integer labels
        in [0, K) (softmax) or real targets of shape (N, K), or (N,) when K = 1 (linear).

        Raises
        ------
        ValueError
            If ``outputs`` or ``y`` is not as above.
        """
        outputs = check_real_array(outputs, "outputs", unsigned=False)
        n_outputs = self.layer_sizes[-1]
        if outputs.ndim != 2 or outputs.shape[1] != n_outputs or len(outputs) == 0:
            raise ValueError(
                f"outputs must have shape (N, {n_outputs}) with N >= 1, got {outputs.shape}"
            )
        return self._loss(outputs, self._targets(y, len(outputs), rows_name="outputs"))

    def _loss(self, outputs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """:meth:`loss` without its checks, for the training loop."""
        if self.output == "softmax":
            return _softmax_cross_entropy(outputs, y)
        return _squared_error(outputs, np.reshape(y, outputs.shape).astype(self.dtype, copy=False))

    def loss_and_grads(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        training: bool = True,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, list[np.ndarray]]:
        """Data loss on ``(X, y)`` and its gradients, with a dropout mask when ``training``.

        ``X`` has shape (N, D), N >= 1, and ``y`` is as for :meth:`loss`; both are checked
        before a mask is drawn.
        """
        X, y = _check_data(self, X, y)
        outputs, caches, _ = self._run(X, training, rng)
        loss, dout = self._loss(outputs, y)
        return loss, self.backward(dout, caches)

    def predict_proba(
        self, X: np.ndarray, *, training: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Class probabilities, shape (N, K). ``training=True`` samples a mask (MC dropout)."""
        if self.output != "softmax":
            raise ValueError("predict_proba needs output='softmax'; use predict for regression")
        return softmax(self.forward(X, training=training, rng=rng)[0])

    def predict(
        self, X: np.ndarray, *, training: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Predicted labels (softmax) or values (linear, shape (N, K))."""
        outputs = self.forward(X, training=training, rng=rng)[0]
        return outputs.argmax(axis=1) if self.output == "softmax" else outputs

    def hidden_activations(
        self, X: np.ndarray, *, training: bool = False, rng: np.random.Generator | None = None
    ) -> list[np.ndarray]:
        """Post-ReLU activations of each hidden layer (before dropout), e.g. for their sparsity."""
        return self._run(X, training, rng, keep_hidden=True)[2]


# --- training ------------------------------------------------------------------------------


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay.

    ``v <- momentum * v + (g + weight_decay * p)``, then ``p <- p - lr * v``, in place.

    Parameters
    ----------
    params : list of ndarray of float
        Updated in place.
    lr : float > 0 or sequence of float > 0
        One learning rate for all, or one per parameter.
    momentum : float in [0, 1)
    weight_decay : float >= 0
        Applied to the parameters flagged by ``decay``.
    decay : sequence of bool, optional
        Which parameters weight decay applies to, one flag per parameter (default: all).

    Raises
    ------
    ValueError
        If an argument is outside the range stated above.
    """

    def __init__(self, params, lr, *, momentum: float = 0.9, weight_decay: float = 0.0, decay=None):
        if isinstance(params, (np.ndarray, str, bytes)) or not isinstance(params, Iterable):
            raise ArgumentTypeError(
                f"params must be a list of float arrays, got {type(params).__name__}"
            )
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise ArgumentTypeError(
                    f"params[{i}] must be a float array (it is updated in place), "
                    f"got {_describe(p)}"
                )
        n_params = len(self.params)
        rates = [lr] * n_params if np.ndim(lr) == 0 else list(lr)
        if len(rates) != n_params:
            raise ValueError(
                f"lr must be one number or one per parameter ({n_params}), got {len(rates)}"
            )
        self.lrs = [check_positive(rate, "lr") for rate in rates]
        self.momentum = check_probability(momentum, "momentum")
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.decay = [True] * n_params if decay is None else _check_decay(decay, n_params)
        self.velocities = [np.zeros_like(p) for p in self.params]
        self._products = [np.empty_like(p) for p in self.params]  # lr * v, without a new array

    @classmethod
    def for_model(
        cls, model: MLP, lr: float, *, momentum: float = 0.9, weight_decay: float = 0.0
    ) -> SGD:
        """The optimizer :func:`train` uses: all of ``model``'s parameters, weight decay on the
        weights only (not the biases)."""
        _check_model(model)
        return cls(
            model.parameters(),
            lr,
            momentum=momentum,
            weight_decay=weight_decay,
            decay=[name.startswith("W") for name in model.parameter_names()],
        )

    def step(self, grads) -> None:
        """One update of every parameter, in place and without temporaries (for speed).

        ``grads`` is a list with one gradient per parameter, each of its parameter's shape: a
        ``ValueError`` otherwise (a missing gradient would leave a parameter out of the update,
        and a gradient of another shape would be broadcast).
        """
        if isinstance(grads, (np.ndarray, str, bytes)) or not isinstance(grads, Iterable):
            raise ArgumentTypeError(
                f"grads must be a list of arrays, one per parameter ({len(self.params)}), "
                f"got {type(grads).__name__}"
            )
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(
                f"grads must hold one gradient per parameter ({len(self.params)}), got {len(grads)}"
            )
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if np.shape(g) != p.shape:
                raise ValueError(
                    f"grads[{i}] must have the shape of its parameter, {p.shape}, got {np.shape(g)}"
                )
        self._update(grads)

    def _update(self, grads) -> None:
        """:meth:`step` without its checks, for the training loop."""
        for p, g, v, product, lr, decays in zip(
            self.params, grads, self.velocities, self._products, self.lrs, self.decay
        ):
            v *= self.momentum
            v += g
            if decays and self.weight_decay:
                v += np.multiply(p, self.weight_decay, out=product)
            p -= np.multiply(v, lr, out=product)


def _check_decay(decay, n_params: int) -> list:
    """One bool per parameter; a shorter list would leave the last parameters out of SGD."""
    if isinstance(decay, (str, bytes)) or not isinstance(decay, (Sequence, np.ndarray)):
        raise ArgumentTypeError(
            f"decay must be a sequence of bools, one per parameter ({n_params}), got {decay!r}"
        )
    flags = list(decay)
    if len(flags) != n_params:
        raise ValueError(f"decay must have one bool per parameter ({n_params}), got {len(flags)}")
    for i, flag in enumerate(flags):
        if not isinstance(flag, (bool, np.bool_)):
            raise ArgumentTypeError(f"decay[{i}] must be a bool, got {flag!r}")
    return flags


def train_step(
    model: MLP,
    optimizer: SGD,
    X: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator,
    max_norm: float | None = None,
) -> tuple[float, list[np.ndarray | None]]:
    """One step of SGD on the mini-batch ``(X, y)``, with a fresh dropout mask; what :func:`train`
    does for every mini-batch.

    Parameters
    ----------
    model : MLP
    optimizer : SGD over ``model.parameters()``, in their order (:meth:`SGD.for_model`), or any
        object with a ``step(grads)`` method
    X : ndarray, shape (N, D), N >= 1
    y : ndarray, shape (N,) of int labels in [0, K) (softmax) or (N, K) / (N,) of floats (linear)
    rng : numpy.random.Generator
        Draws the dropout masks (required: unlike :meth:`MLP.forward`, there is no default).
    max_norm : float > 0, optional
        As for :func:`train`.

    Returns
    -------
    loss : float
        The mini-batch's data loss, with dropout on, before the step.
    masks : list, one per dropout site (the input and each hidden layer)
        The keep-mask drawn there, a bool array of shape (N, units), or ``None`` where nothing was
        dropped (``p_drop == 0``, or Gaussian noise, which drops nothing).

    Raises
    ------
    ValueError
        If an argument is outside the range stated above.
    """
    _check_model(model)
    if not callable(getattr(optimizer, "step", None)):
        raise ArgumentTypeError(
            f"optimizer must have a step(grads) method, e.g. SGD.for_model(model, lr), "
            f"got {type(optimizer).__name__}"
        )
    if isinstance(optimizer, SGD) and not _updates(optimizer, model):
        raise ValueError(
            "optimizer must update model's own parameters, in the order of model.parameters(): "
            "build it with SGD.for_model(model, lr)"
        )
    check_rng(rng)
    if max_norm is not None:
        check_positive(max_norm, "max_norm")
    X, y = _check_data(model, X, y)
    loss, caches = _train_step(model, optimizer.step, X, y, rng, max_norm)
    input_cache, layers = caches[0], caches[1:-1]  # the output layer has no dropout
    return loss, [getattr(input_cache, "mask", None)] + [
        activation_cache.keep for _, activation_cache in layers
    ]


def _updates(optimizer: SGD, model: MLP) -> bool:
    """Does ``optimizer`` hold ``model``'s own parameter arrays, in order?"""
    params = model.parameters()
    return len(optimizer.params) == len(params) and all(
        mine is its for mine, its in zip(optimizer.params, params)
    )


def _train_step(model: MLP, update, X, y, rng, max_norm) -> tuple[float, list]:
    """:func:`train_step` on checked data, with ``update`` (an optimizer's step) given the
    gradients; returns the loss and the caches of the forward pass."""
    outputs, caches, _ = model._run(X, True, rng)
    loss, dout = model._loss(outputs, y)
    update(model.backward(dout, caches))
    if max_norm is not None:
        model._max_norm(max_norm)
    return loss, caches


@dataclass
class History:
    """Per-epoch record of a training run.

    ``train_loss``/``train_error`` and ``val_loss``/``val_error`` are measured after each epoch at
    inference (no dropout); ``minibatch_loss`` is the mean loss of that epoch's mini-batches, with
    dropout on. Errors are misclassification rates (softmax) or root mean squared errors (linear).
    """

    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_error: list[float] = field(default_factory=list)
    minibatch_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    diverged: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def best_epoch(self) -> int:
        """Index of the epoch with the lowest validation error (else the lowest training loss)."""
        curve = self.val_error if self.val_error else self.train_loss
        if not curve:
            raise ValueError("History is empty: no epoch was recorded")
        return int(np.argmin(curve))

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(
    model: MLP, X: np.ndarray, y: np.ndarray, *, batch_size: int = 2048
) -> tuple[float, float]:
    """Loss and error of ``model`` at inference on ``(X, y)``, computed in batches.

    ``X`` has shape (N, D) with N >= 1, ``y`` is as for :func:`train` and ``batch_size`` is an
    integer >= 1; a ``ValueError`` otherwise.
    """
    _check_model(model)
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    X, y = _check_data(model, X, y)
    return _evaluate(model, X, y, batch_size)


def _evaluate(
    model: MLP, X: np.ndarray, y: np.ndarray, batch_size: int = 2048
) -> tuple[float, float]:
    """:func:`evaluate` on checked data, with the same default ``batch_size``."""
    n_samples = len(X)
    total_loss = total_error = 0.0
    for start in range(0, n_samples, batch_size):
        X_batch, y_batch = X[start : start + batch_size], y[start : start + batch_size]
        outputs = model.forward(X_batch, training=False)[0]
        loss = model._loss(outputs, y_batch)[0]
        total_loss += loss * len(X_batch)
        if model.output == "softmax":
            total_error += np.count_nonzero(outputs.argmax(axis=1) != y_batch)
        else:
            total_error += loss * len(X_batch)
    error = total_error / n_samples
    return total_loss / n_samples, (error if model.output == "softmax" else float(np.sqrt(error)))


def _check_data(model: MLP, X, y, suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """``X`` (in the model's dtype) and ``y``, checked against ``model``: at least one row, the
    input layer's width, and the targets its output reads (see :meth:`MLP._targets`). The
    ``suffix`` names the arguments in messages (``"_val"``: ``X_val``, ``y_val``)."""
    X = model._inputs(X, "X" + suffix)
    if len(X) == 0:
        raise ValueError(f"X{suffix} must hold at least one row (sample), got shape {X.shape}")
    return X, model._targets(y, len(X), "y" + suffix, "X" + suffix)


def train(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    rng: np.random.Generator,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    max_norm: float | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool = False,
) -> History:
    """Train ``model`` in place with mini-batch SGD and return its :class:`History`.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (N, D), N >= 1, for the D input units
    y : ndarray, shape (N,) of int labels in [0, K) (softmax), or shape (N, K) of floats, or
        (N,) when K = 1 (linear), for the K output units
    epochs : int >= 1
    lr : float > 0
    batch_size : int >= 1
    rng : numpy.random.Generator
        Shuffles the data every epoch and draws the dropout masks.
    momentum : float in [0, 1)
    weight_decay : float >= 0
        L2 penalty ``weight_decay / 2 * ||W||^2`` on weights (not biases).
    max_norm : float > 0, optional
        After every step, each unit's incoming weight vector is rescaled to norm <= ``max_norm``.
    X_val, y_val : validation data, optional
        Given together, and checked as ``X`` and ``y``; tracked after every epoch.
    progress : bool
        Show a tqdm progress bar with the latest losses.

    Raises
    ------
    ValueError
        If an argument is outside the range stated above; all are checked before training
        starts.

    Training stops early, with ``History.diverged`` set and a warning, if the loss becomes
    infinite or NaN; the epochs before that are kept.

    For speed, BLAS runs on one thread while the network trains when its matrices are small
    (see :func:`blas_threads_for`); the results are those of a run on one core.
    """
    _check_model(model)
    epochs = check_count(epochs, "epochs", minimum=1)
    check_positive(lr, "lr")
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    check_rng(rng)
    if max_norm is not None:
        max_norm = check_positive(max_norm, "max_norm")
    X, y = _check_data(model, X, y)
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    validation = None
    if X_val is not None and y_val is not None:
        validation = _check_data(model, X_val, y_val, "_val")
    optimizer = SGD.for_model(model, lr, momentum=momentum, weight_decay=weight_decay)
    history = History()
    progress_bar = None
    if progress:
        from tqdm.auto import tqdm

        progress_bar = tqdm(range(epochs), desc="training", unit="epoch")
    n_samples = len(X)
    with blas_threads_for(model.layer_sizes, batch_size):
        for _ in range(epochs) if progress_bar is None else progress_bar:
            started = time.perf_counter()
            order = rng.permutation(n_samples)
            summed_loss = 0.0
            for start in range(0, n_samples, batch_size):
                batch = order[start : start + batch_size]
                loss, _ = _train_step(model, optimizer._update, X[batch], y[batch], rng, max_norm)
                summed_loss += loss * len(batch)
            if not np.isfinite(summed_loss):
                history.diverged = True
                warnings.warn(
                    f"training diverged at epoch {history.epochs + 1} (loss {summed_loss}); "
                    f"try a smaller lr than {lr}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
            history.minibatch_loss.append(summed_loss / n_samples)
            train_loss, train_error = _evaluate(model, X, y)
            history.train_loss.append(train_loss)
            history.train_error.append(train_error)
            if validation is not None:
                val_loss, val_error = _evaluate(model, *validation)
                history.val_loss.append(val_loss)
                history.val_error.append(val_error)
            history.seconds.append(time.perf_counter() - started)
            if progress_bar is not None:
                postfix = {"train_loss": f"{train_loss:.4f}"}
                if validation is not None:
                    postfix["val_error"] = f"{history.val_error[-1]:.4f}"
                progress_bar.set_postfix(postfix)
    return history

"""A small fully connected network in NumPy, with dropout, for the experiments of the course.

Layers follow the course's layer API: ``forward(x, ...) -> (out, cache)`` and
``backward(dout, cache) -> dx`` (plus parameter gradients). :class:`MLP` stacks
``dropout -> dense -> ReLU`` blocks and ends in a dense layer read by a softmax cross-entropy (or a
squared error, for regression). :func:`train` runs mini-batch SGD with momentum, L2 weight decay and
an optional max-norm constraint, and returns a :class:`History`.
"""

from __future__ import annotations

import copy
import functools
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import DTypeLike

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_layer_sizes,
    check_nonnegative,
    check_positive,
    check_probability,
    check_rng,
    per_layer_p_drop,
)
from .dropout import (
    dropout_backward,
    dropout_forward,
    standard_dropout_backward,
    standard_dropout_forward,
)

_DROPOUT_STYLES = {
    "inverted": (dropout_forward, dropout_backward),
    "standard": (standard_dropout_forward, standard_dropout_backward),
}
_OUTPUTS = ("softmax", "linear")


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


# --- layers ---------------------------------------------------------------------------------


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Affine layer ``x @ W + b``.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    W : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : (x, W)
    """
    return x @ W + b, (x, W)


def dense_backward(dout: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients ``(dx, dW, db)`` of :func:`dense_forward`; ``dout`` has shape (N, M)."""
    x, W = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``max(x, 0)``; the cache is the boolean array of positive inputs."""
    positive = x > 0
    return np.where(positive, x, np.zeros((), dtype=x.dtype)), positive


def relu_backward(dout: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """Gradient of :func:`relu_forward`: ``dout`` where the input was positive, else 0."""
    return dout * cache


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum for numerical stability."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels under ``softmax(logits)``, and its gradient.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
    y : ndarray of int, shape (N,), values in [0, K)

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (N, K): ``(softmax(logits) - onehot(y)) / N``
    """
    n_samples = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(n_samples)
    loss = -float(log_probs[rows, y].mean())
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1.0
    return loss, dlogits / n_samples


def squared_error(predictions: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all entries, and its gradient; both arrays have shape (N, K)."""
    diff = predictions - targets
    return float(np.mean(diff * diff)), 2.0 * diff / diff.size


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
        of dropout masks when a method that samples them is called without ``rng``.
    output : {"softmax", "linear"}
        Classification with softmax cross-entropy, or regression with squared error.
    dropout : {"inverted", "standard"}
        Which dropout the network uses (see :mod:`course_lib.dropout`).
    dtype : float dtype
        Of weights and activations; float64 for gradient checks, float32 for speed.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        p_drop: float | Sequence[float] = 0.0,
        *,
        rng: np.random.Generator,
        output: str = "softmax",
        dropout: str = "inverted",
        dtype: DTypeLike = np.float64,
    ):
        self.layer_sizes = check_layer_sizes(layer_sizes)
        self.p_drop = per_layer_p_drop(p_drop, self.layer_sizes)
        self.rng = check_rng(rng)
        if output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {output!r}")
        if dropout not in _DROPOUT_STYLES:
            raise ValueError(f"dropout must be one of {tuple(_DROPOUT_STYLES)}, got {dropout!r}")
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ArgumentTypeError(f"dtype must be a floating dtype, got {self.dtype}")
        self.output = output
        self.dropout = dropout
        self.weights = [
            (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(self.dtype)
            for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:])
        ]
        self.biases = [np.zeros(fan_out, dtype=self.dtype) for fan_out in self.layer_sizes[1:]]

    def __repr__(self) -> str:
        rates = ", ".join(f"{rate:g}" for rate in self.p_drop)
        return (
            f"MLP({list(self.layer_sizes)}, p_drop=[{rates}], output={self.output!r}, "
            f"dropout={self.dropout!r}, dtype={self.dtype.name})"
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
        clone = self.copy()
        clone.dropout = dropout
        if dropout != self.dropout:
            for i, rate in enumerate(self.p_drop):
                keep_prob = 1.0 - rate
                factor = keep_prob if dropout == "inverted" else 1.0 / keep_prob
                clone.weights[i] = (clone.weights[i] * factor).astype(self.dtype)
        return clone

    def max_norm_(self, max_norm: float) -> None:
        """Rescale, in place, every unit's incoming weight vector to an L2 norm <= ``max_norm``."""
        for W in self.weights:
            norms = np.sqrt(np.einsum("ij,ij->j", W, W))
            factors = np.minimum(1.0, max_norm / np.maximum(norms, np.finfo(W.dtype).tiny))
            W *= factors.astype(W.dtype)

    # passes

    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"X must have shape (N, {self.layer_sizes[0]}), got {X.shape}")
        return X.astype(self.dtype, copy=False)

    def forward(
        self, X: np.ndarray, *, training: bool = False, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, list]:
        """Outputs (logits for softmax, predictions for linear) of shape (N, K), and the cache.

        With ``training=True`` a fresh dropout mask is drawn from ``rng`` (default: the model's).
        """
        outputs, caches, _ = self._run(X, training, rng)
        return outputs, caches

    def _run(self, X, training: bool, rng) -> tuple[np.ndarray, list, list]:
        rng = self.rng if rng is None else check_rng(rng)
        drop_forward, _ = _DROPOUT_STYLES[self.dropout]
        activation = self._inputs(X)
        caches, hidden = [], []
        last = len(self.weights) - 1
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            activation, drop_cache = drop_forward(
                activation, self.p_drop[i], rng=rng, training=training
            )
            activation, dense_cache = dense_forward(activation, W, b)
            relu_cache = None
            if i < last:
                activation, relu_cache = relu_forward(activation)
                hidden.append(activation)
            caches.append((drop_cache, dense_cache, relu_cache))
        return activation, caches, hidden

    def backward(self, dout: np.ndarray, caches: list) -> list[np.ndarray]:
        """Gradients of the parameters, in the order of :meth:`parameters`."""
        _, drop_backward = _DROPOUT_STYLES[self.dropout]
        grads: list[np.ndarray] = []
        for drop_cache, dense_cache, relu_cache in reversed(caches):
            if relu_cache is not None:
                dout = relu_backward(dout, relu_cache)
            dout, dW, db = dense_backward(dout, dense_cache)
            dout = drop_backward(dout, drop_cache)
            grads[:0] = [dW, db]
        return grads

    def loss(self, outputs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The data loss of the network's outputs and its gradient."""
        if self.output == "softmax":
            return softmax_cross_entropy(outputs, y)
        return squared_error(outputs, np.reshape(y, outputs.shape).astype(self.dtype, copy=False))

    def loss_and_grads(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        training: bool = True,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, list[np.ndarray]]:
        """Data loss on ``(X, y)`` and its gradients, with a dropout mask when ``training``."""
        outputs, caches = self.forward(X, training=training, rng=rng)
        loss, dout = self.loss(outputs, y)
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
        return self._run(X, training, rng)[2]


# --- training ------------------------------------------------------------------------------


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay.

    ``v <- momentum * v + (g + weight_decay * p)``, then ``p <- p - lr * v``, in place.

    Parameters
    ----------
    params : list of ndarray
        Updated in place.
    lr : float or sequence of float
        One learning rate for all, or one per parameter.
    momentum : float in [0, 1)
    weight_decay : float >= 0
        Applied to the parameters flagged by ``decay``.
    decay : sequence of bool, optional
        Which parameters weight decay applies to (default: all).
    """

    def __init__(self, params, lr, *, momentum: float = 0.9, weight_decay: float = 0.0, decay=None):
        self.params = list(params)
        rates = [lr] * len(self.params) if np.ndim(lr) == 0 else list(lr)
        if len(rates) != len(self.params):
            raise ValueError(
                f"lr must be one number or one per parameter ({len(self.params)}), got {len(rates)}"
            )
        self.lrs = [check_positive(rate, "lr") for rate in rates]
        self.momentum = check_probability(momentum, "momentum")
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.decay = [True] * len(self.params) if decay is None else list(decay)
        self.velocities = [np.zeros_like(p) for p in self.params]

    @classmethod
    def for_model(
        cls, model: MLP, lr: float, *, momentum: float = 0.9, weight_decay: float = 0.0
    ) -> SGD:
        """The optimizer :func:`train` uses: all of ``model``'s parameters, weight decay on the
        weights only (not the biases)."""
        return cls(
            model.parameters(),
            lr,
            momentum=momentum,
            weight_decay=weight_decay,
            decay=[name.startswith("W") for name in model.parameter_names()],
        )

    def step(self, grads) -> None:
        for p, g, v, lr, decays in zip(self.params, grads, self.velocities, self.lrs, self.decay):
            v *= self.momentum
            v += g
            if decays and self.weight_decay:
                v += self.weight_decay * p
            p -= lr * v


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

    Returns
    -------
    loss : float
        The mini-batch's data loss, with dropout on, before the step.
    masks : list, one per dropout site (the input and each hidden layer)
        The keep-mask drawn there, a bool array of shape (N, units), or ``None`` where nothing was
        dropped (``p_drop == 0``).
    """
    outputs, caches = model.forward(X, training=True, rng=rng)
    loss, dout = model.loss(outputs, y)
    optimizer.step(model.backward(dout, caches))
    if max_norm is not None:
        model.max_norm_(max_norm)
    return loss, [drop_cache.mask for drop_cache, _, _ in caches]


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
    """Loss and error of ``model`` at inference on ``(X, y)``, computed in batches."""
    n_samples = len(X)
    total_loss = total_error = 0.0
    for start in range(0, n_samples, batch_size):
        X_batch, y_batch = X[start : start + batch_size], y[start : start + batch_size]
        outputs = model.forward(X_batch, training=False)[0]
        loss = model.loss(outputs, y_batch)[0]
        total_loss += loss * len(X_batch)
        if model.output == "softmax":
            total_error += np.count_nonzero(outputs.argmax(axis=1) != y_batch)
        else:
            total_error += loss * len(X_batch)
    error = total_error / n_samples
    return total_loss / n_samples, (error if model.output == "softmax" else float(np.sqrt(error)))


def _check_targets(model: MLP, X, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    X = model._inputs(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(
            f"y{name} must have one target per row of X{name}: {len(X)} rows, got {len(y)} targets"
        )
    if model.output == "softmax":
        n_classes = model.layer_sizes[-1]
        if (
            not np.issubdtype(y.dtype, np.integer)
            or y.ndim != 1
            or (y.size and (y.min() < 0 or y.max() >= n_classes))
        ):
            raise ValueError(
                f"y{name} must be integer labels of shape (N,) in [0, {n_classes}), "
                f"got dtype {y.dtype}, shape {y.shape}"
            )
    return X, y


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
    X : ndarray, shape (N, D)
    y : ndarray, shape (N,) of int labels (softmax) or (N,) / (N, K) of floats (linear)
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
        Tracked after every epoch.
    progress : bool
        Show a tqdm progress bar with the latest losses.

    Training stops early, with ``History.diverged`` set and a warning, if the loss becomes
    infinite or NaN; the epochs before that are kept.
    """
    if not isinstance(model, MLP):
        raise ArgumentTypeError(f"model must be a course_lib.nn.MLP, got {type(model).__name__}")
    epochs = check_count(epochs, "epochs", minimum=1)
    check_positive(lr, "lr")
    batch_size = check_count(batch_size, "batch_size", minimum=1)
    check_rng(rng)
    if max_norm is not None:
        max_norm = check_positive(max_norm, "max_norm")
    X, y = _check_targets(model, X, y, "")
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    validation = None
    if X_val is not None and y_val is not None:
        validation = _check_targets(model, X_val, y_val, "_val")
    optimizer = SGD.for_model(model, lr, momentum=momentum, weight_decay=weight_decay)
    history = History()
    progress_bar = None
    if progress:
        from tqdm.auto import tqdm

        progress_bar = tqdm(range(epochs), desc="training", unit="epoch")
    n_samples = len(X)
    for _ in range(epochs) if progress_bar is None else progress_bar:
        started = time.perf_counter()
        order = rng.permutation(n_samples)
        summed_loss = 0.0
        for start in range(0, n_samples, batch_size):
            batch = order[start : start + batch_size]
            loss, _ = train_step(model, optimizer, X[batch], y[batch], rng=rng, max_norm=max_norm)
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
        train_loss, train_error = evaluate(model, X, y)
        history.train_loss.append(train_loss)
        history.train_error.append(train_error)
        if validation is not None:
            val_loss, val_error = evaluate(model, *validation)
            history.val_loss.append(val_loss)
            history.val_error.append(val_error)
        history.seconds.append(time.perf_counter() - started)
        if progress_bar is not None:
            postfix = {"train_loss": f"{train_loss:.4f}"}
            if validation is not None:
                postfix["val_error"] = f"{history.val_error[-1]:.4f}"
            progress_bar.set_postfix(postfix)
    return history

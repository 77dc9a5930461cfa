"""Variants of dropout: spatial, Gaussian, alpha and DropConnect.

* **Spatial** (channel) dropout draws one keep-mask entry per (sample, channel) of a feature map
  of shape (N, C, H, W) and drops whole channels. Neighbouring pixels of a convolutional feature
  map are strongly correlated, so dropping single pixels removes almost no information; dropping
  channels does (Tompson et al. 2015; ``torch.nn.Dropout2d``, Keras ``SpatialDropout2D``).
* **Gaussian** dropout multiplies every unit by noise drawn from N(1, p_drop / keep_prob) instead
  of by a scaled Bernoulli mask, which has the same mean 1 and variance (Srivastava et al. 2014,
  section 10; Keras ``GaussianDropout``). It is the starting point of variational dropout.
* **Alpha** dropout keeps the zero mean and unit variance that self-normalizing networks rely on
  (Klambauer et al. 2017, with SELU activations): a dropped unit is set to SELU's negative
  saturation value ``alpha'`` instead of 0, then an affine map ``a * . + b`` restores the moments.
  The constants are those of ``torch.nn.functional.alpha_dropout``.
* **DropConnect** drops weights instead of units (Wan et al. 2013): each weight of a dense layer
  is kept with probability ``keep_prob``. It regularizes fully connected layers, and on recurrent
  weights it is the "weight-dropped LSTM" of AWD-LSTM (Merity et al. 2017).

Conventions are those of :mod:`course_lib.dropout`: ``p_drop`` is the probability of dropping,
masks are boolean with ``True`` = kept, ``forward(..., *, rng, training) -> (out, cache)`` and
``backward(dout, cache)``; inputs are never modified and the dtype is preserved. Every variant is
the identity (for DropConnect: ``x @ W + b``) at inference and when ``p_drop == 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import check_float_array, check_p_drop, check_rng
from .dropout import _masked
from .masks import sample_mask

#: SELU's scale and alpha (Klambauer et al. 2017), as in ``torch.nn.SELU``.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
#: The value a dropped unit takes in alpha dropout: SELU's limit for x -> -inf, ``-scale * alpha``
#: (the literal PyTorch uses, equal to the product above to the last bit).
ALPHA_PRIME = -1.7580993408473766


def _check_dims(array: np.ndarray, name: str, dims: tuple[str, ...]) -> None:
    if array.ndim != len(dims):
        raise ValueError(f"{name} must have {len(dims)} dimensions ({', '.join(dims)}), "
                         f"got shape {array.shape}")


def _check_cache(cache, cache_type: type) -> None:
    if not isinstance(cache, cache_type):
        raise ValueError(f"cache must be the {cache_type.__name__} returned by the forward pass, "
                         f"got {type(cache).__name__}")


def _check_dout(dout, shape: tuple[int, ...], what: str = "input") -> np.ndarray:
    dout = check_float_array(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"dout must have the forward {what}'s shape {shape}, got {dout.shape}")
    return dout


# --- spatial (channel) dropout ----------------------------------------------------------------


@dataclass(frozen=True)
class SpatialDropoutCache:
    """What :func:`spatial_dropout_backward` needs: ``dx = dout * mask * scale``.

    Attributes
    ----------
    mask : ndarray of bool, shape (N, C, 1, 1), or None
        One keep-mask entry per (sample, channel), broadcast over H and W; ``None`` when no mask
        was drawn (inference, or ``p_drop == 0``).
    scale : float
        ``1 / keep_prob`` in training, otherwise 1.
    shape : tuple of int
        Shape (N, C, H, W) of the forward input.
    """

    mask: np.ndarray | None
    scale: float
    shape: tuple[int, ...]


def spatial_dropout_forward(x: np.ndarray, p_drop: float, *, rng: np.random.Generator,
                            training: bool = True) -> tuple[np.ndarray, SpatialDropoutCache]:
    """Spatial (channel) inverted dropout: drop whole feature maps.

    Parameters
    ----------
    x : ndarray of float, shape (N, C, H, W)
    p_drop : float in [0, 1)
        Probability that a channel of a sample is dropped.
    rng : numpy.random.Generator
    training : bool
        In training a mask of shape (N, C, 1, 1) is drawn and kept channels are scaled by
        ``1 / keep_prob``; at inference the layer is the identity.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : SpatialDropoutCache, for :func:`spatial_dropout_backward`

    Raises
    ------
    ValueError
        If ``x`` is not 4-D or not floating, or ``p_drop`` is outside [0, 1).
    """
    x = check_float_array(x)
    _check_dims(x, "x", ("N", "C", "H", "W"))
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if not training or p_drop == 0.0:
        return x.copy(), SpatialDropoutCache(mask=None, scale=1.0, shape=x.shape)
    mask = sample_mask(x.shape[:2] + (1, 1), p_drop, rng=rng)
    scale = 1.0 / (1.0 - p_drop)
    return _masked(x, mask, scale), SpatialDropoutCache(mask=mask, scale=scale, shape=x.shape)


def spatial_dropout_backward(dout: np.ndarray, cache: SpatialDropoutCache) -> np.ndarray:
    """Backward pass of :func:`spatial_dropout_forward`: ``dout * mask * scale``.

    Parameters
    ----------
    dout : ndarray of float, shape (N, C, H, W) of the forward input
    cache : SpatialDropoutCache from :func:`spatial_dropout_forward`

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    _check_cache(cache, SpatialDropoutCache)
    dout = _check_dout(dout, cache.shape)
    if cache.mask is None:
        return dout.copy()
    return _masked(dout, cache.mask, cache.scale)


# --- Gaussian dropout -------------------------------------------------------------------------


@dataclass(frozen=True)
class GaussianDropoutCache:
    """What :func:`gaussian_dropout_backward` needs: ``dx = dout * noise``.

    Attributes
    ----------
    noise : ndarray of float32 or float64, or None
        The multiplicative noise of the forward pass, shaped like its input; ``None`` when none
        was drawn (inference, or ``p_drop == 0``).
    shape : tuple of int
        Shape of the forward input.
    """

    noise: np.ndarray | None
    shape: tuple[int, ...]


def gaussian_dropout_forward(x: np.ndarray, p_drop: float, *, rng: np.random.Generator,
                             training: bool = True) -> tuple[np.ndarray, GaussianDropoutCache]:
    """Gaussian dropout: multiply each unit by independent noise from N(1, p_drop / keep_prob).

    The noise has the mean (1) and variance (``p_drop / keep_prob``) of inverted dropout's
    factor ``mask / keep_prob``, so both regularize alike at the same ``p_drop``.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Sets the noise variance ``p_drop / keep_prob``.
    rng : numpy.random.Generator
    training : bool
        At inference the layer is the identity.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : GaussianDropoutCache, for :func:`gaussian_dropout_backward`

    Notes
    -----
    The noise is drawn in ``x``'s dtype for float32 and float64, in float64 otherwise (NumPy
    draws no float16 normals); the product is rounded once to ``x``'s dtype.
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if not training or p_drop == 0.0:
        return x.copy(), GaussianDropoutCache(noise=None, shape=x.shape)
    noise_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    std = math.sqrt(p_drop / (1.0 - p_drop))
    noise = np.asarray(1.0 + std * rng.standard_normal(x.shape, dtype=noise_dtype))
    out = np.asarray(np.multiply(x, noise)).astype(x.dtype, copy=False)
    return out, GaussianDropoutCache(noise=noise, shape=x.shape)


def gaussian_dropout_backward(dout: np.ndarray, cache: GaussianDropoutCache) -> np.ndarray:
    """Backward pass of :func:`gaussian_dropout_forward`: ``dout * noise``.

    Parameters
    ----------
    dout : ndarray of float, same shape as the forward input
    cache : GaussianDropoutCache from :func:`gaussian_dropout_forward`

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    _check_cache(cache, GaussianDropoutCache)
    dout = _check_dout(dout, cache.shape)
    if cache.noise is None:
        return dout.copy()
    return np.asarray(np.multiply(dout, cache.noise)).astype(dout.dtype, copy=False)


# --- alpha dropout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlphaDropoutCache:
    """What :func:`alpha_dropout_backward` needs: ``dx = dout * a * mask``.

    Attributes
    ----------
    mask : ndarray of bool or None
        The keep-mask of the forward pass; ``None`` when none was drawn (inference, or
        ``p_drop == 0``).
    a : float
        The slope of the affine correction (1 when no mask was drawn).
    shape : tuple of int
        Shape of the forward input.
    """

    mask: np.ndarray | None
    a: float
    shape: tuple[int, ...]


def alpha_dropout_affine(p_drop: float) -> tuple[float, float]:
    """The affine correction ``(a, b)`` of alpha dropout for a drop probability ``p_drop``.

    With ``q = keep_prob``: ``a = (q + alpha'**2 * q * p_drop) ** -0.5`` and
    ``b = -a * alpha' * p_drop``, so that ``a * (x * mask + alpha' * (1 - mask)) + b`` has mean 0
    and variance 1 whenever ``x`` does.

    Parameters
    ----------
    p_drop : float in [0, 1)

    Returns
    -------
    a, b : float
    """
    p_drop = check_p_drop(p_drop)
    keep_prob = 1.0 - p_drop
    a = 1.0 / math.sqrt(keep_prob + ALPHA_PRIME**2 * keep_prob * p_drop)
    return a, -a * ALPHA_PRIME * p_drop


def alpha_dropout_forward(x: np.ndarray, p_drop: float, *, rng: np.random.Generator,
                          training: bool = True) -> tuple[np.ndarray, AlphaDropoutCache]:
    """Alpha dropout (Klambauer et al. 2017), for networks with SELU activations.

    Dropped units are set to ``alpha' = -SELU_SCALE * SELU_ALPHA`` (not 0), then
    ``out = a * (x * mask + alpha' * (1 - mask)) + b`` with the constants of
    :func:`alpha_dropout_affine`. For inputs of mean 0 and variance 1 the output keeps mean 0
    and variance 1. Same constants as ``torch.nn.functional.alpha_dropout``.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Probability that a unit is dropped.
    rng : numpy.random.Generator
    training : bool
        At inference the layer is the identity.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : AlphaDropoutCache, for :func:`alpha_dropout_backward`
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if not training or p_drop == 0.0:
        return x.copy(), AlphaDropoutCache(mask=None, a=1.0, shape=x.shape)
    mask = sample_mask(x.shape, p_drop, rng=rng)
    a, b = alpha_dropout_affine(p_drop)
    out = np.where(mask, x * a + b, a * ALPHA_PRIME + b).astype(x.dtype, copy=False)
    return out, AlphaDropoutCache(mask=mask, a=a, shape=x.shape)


def alpha_dropout_backward(dout: np.ndarray, cache: AlphaDropoutCache) -> np.ndarray:
    """Backward pass of :func:`alpha_dropout_forward`: ``dout * a * mask``.

    The shift ``b`` and the constant given to dropped units do not depend on ``x``, so dropped
    units get no gradient and kept ones get ``a`` times theirs.

    Parameters
    ----------
    dout : ndarray of float, same shape as the forward input
    cache : AlphaDropoutCache from :func:`alpha_dropout_forward`

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``
    """
    _check_cache(cache, AlphaDropoutCache)
    dout = _check_dout(dout, cache.shape)
    if cache.mask is None:
        return dout.copy()
    return _masked(dout, cache.mask, cache.a)


# --- DropConnect ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropConnectCache:
    """What :func:`dropconnect_backward` needs.

    Attributes
    ----------
    x : ndarray, shape (N, D)
    W : ndarray, shape (D, M)
    b_dtype : numpy dtype of the bias, for ``db``
    mask : ndarray of bool, shape (N, D, M), or None
        One keep-mask on the weights per sample; ``None`` when none was drawn (inference, or
        ``p_drop == 0``).
    scale : float
        ``1 / keep_prob`` in training, otherwise 1.
    """

    x: np.ndarray
    W: np.ndarray
    b_dtype: np.dtype
    mask: np.ndarray | None
    scale: float


def _check_dense(x, W, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, W, b = check_float_array(x), check_float_array(W, "W"), check_float_array(b, "b")
    _check_dims(x, "x", ("N", "D"))
    _check_dims(W, "W", ("D", "M"))
    if W.shape[0] != x.shape[1]:
        raise ValueError(f"W must have shape (D, M) with D = {x.shape[1]} (the second dimension "
                         f"of x), got shape {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape (M,) = ({W.shape[1]},) to match W, "
                         f"got shape {b.shape}")
    return x, W, b


def _masked_weights(W: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Each sample's thinned weights: ``W * mask[n] * scale``, shape (N, D, M), W's dtype."""
    return np.where(mask, W * scale, np.zeros((), dtype=W.dtype))


def dropconnect_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, p_drop: float, *,
                        rng: np.random.Generator,
                        training: bool = True) -> tuple[np.ndarray, DropConnectCache]:
    """DropConnect on a dense layer ``x @ W + b``: drop weights instead of units.

    Each sample ``n`` gets its own keep-mask on the weights, ``mask[n]`` of shape (D, M), as in
    Wan et al. 2013: sample ``n``'s output is ``x[n] @ (W * mask[n] / keep_prob) + b``. (Sharing
    one mask across the batch is cheaper and common in practice, but then the samples of a batch
    are not thinned independently.) The bias is never dropped. Kept weights are scaled by
    ``1 / keep_prob`` (inverted), so ``E[out] = x @ W + b`` and inference is plain
    ``x @ W + b``; Wan et al. instead approximate the output distribution by a Gaussian at
    inference.

    Parameters
    ----------
    x : ndarray of float, shape (N, D)
    W : ndarray of float, shape (D, M)
    b : ndarray of float, shape (M,)
    p_drop : float in [0, 1)
        Probability that a weight is dropped.
    rng : numpy.random.Generator
    training : bool

    Returns
    -------
    out : ndarray, shape (N, M), dtype ``np.result_type(x, W, b)`` (that of ``x @ W + b``)
    cache : DropConnectCache, for :func:`dropconnect_backward`

    Raises
    ------
    ValueError
        If the shapes of ``x``, ``W``, ``b`` do not fit together, or ``p_drop`` is outside [0, 1).

    Notes
    -----
    The mask has N * D * M entries: memory grows with the batch times the weight count.
    """
    x, W, b = _check_dense(x, W, b)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if not training or p_drop == 0.0:
        cache = DropConnectCache(x=x, W=W, b_dtype=b.dtype, mask=None, scale=1.0)
        return np.asarray(x @ W + b), cache
    mask = sample_mask((x.shape[0],) + W.shape, p_drop, rng=rng)
    scale = 1.0 / (1.0 - p_drop)
    # (N, 1, D) @ (N, D, M) -> (N, 1, M): each sample through its own thinned weights
    out = (x[:, None, :] @ _masked_weights(W, mask, scale))[:, 0, :] + b
    return out, DropConnectCache(x=x, W=W, b_dtype=b.dtype, mask=mask, scale=scale)


def dropconnect_backward(dout: np.ndarray,
                         cache: DropConnectCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`dropconnect_forward`.

    With ``W_n = W * mask[n] * scale``: ``dx[n] = W_n @ dout[n]``,
    ``dW = sum_n mask[n] * scale * outer(x[n], dout[n])`` and ``db = sum_n dout[n]``.

    Parameters
    ----------
    dout : ndarray of float, shape (N, M)
    cache : DropConnectCache from :func:`dropconnect_forward`

    Returns
    -------
    dx : ndarray, shape (N, D), dtype of ``x``
    dW : ndarray, shape (D, M), dtype of ``W``
    db : ndarray, shape (M,), dtype of ``b``
    """
    _check_cache(cache, DropConnectCache)
    x, W = cache.x, cache.W
    dout = _check_dout(dout, (x.shape[0], W.shape[1]), what="output")
    db = dout.sum(axis=0)
    if cache.mask is None:
        dx, dW = dout @ W.T, x.T @ dout
    else:
        dx = (_masked_weights(W, cache.mask, cache.scale) @ dout[:, :, None])[:, :, 0]
        outer = x[:, :, None] * dout[:, None, :]  # (N, D, M): d out[n] / d W_n, per sample
        dW = np.where(cache.mask, outer, np.zeros((), dtype=outer.dtype)).sum(axis=0)
        dW = dW * cache.scale
    return (dx.astype(x.dtype, copy=False), dW.astype(W.dtype, copy=False),
            db.astype(cache.b_dtype, copy=False))

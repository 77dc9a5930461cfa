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

The variants that notebook 05 illustrates without a layer of their own are here as the masks they
draw: :func:`dropblock_mask` (DropBlock), :func:`sample_active_blocks` and
:func:`linear_decay_rates` (DropPath and stochastic depth), :func:`relaxed_drop` (concrete
dropout) and :func:`targeted_keep_mask` (targeted dropout); and :func:`selu`, the activation that
alpha dropout is made for.

Conventions are those of :mod:`course_lib.dropout`: ``p_drop`` is the probability of dropping,
masks are boolean with ``True`` = kept, ``forward(..., *, rng, training) -> (out, cache)`` and
``backward(dout, cache)``; inputs are never modified and the dtype is preserved. Every variant is
the identity (for DropConnect: ``x @ W + b``) at inference and when ``p_drop == 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._validate import (
    ArgumentTypeError,
    check_count,
    check_fits,
    check_flag,
    check_float_array,
    check_max_count,
    check_open_unit,
    check_p_drop,
    check_positive,
    check_probability,
    check_rng,
)
from .dropout import _masked
from .masks import sample_mask

#: SELU's scale and alpha (Klambauer et al. 2017), as in ``torch.nn.SELU``.
SELU_SCALE = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717
#: The value a dropped unit takes in alpha dropout: SELU's limit for x -> -inf, ``-scale * alpha``
#: (the literal PyTorch uses, equal to the product above to the last bit).
ALPHA_PRIME = -1.7580993408473766


def selu(x: np.ndarray) -> np.ndarray:
    """SELU (Klambauer et al. 2017): ``scale * x`` for x > 0, ``scale * alpha * (e**x - 1)``
    otherwise, with :data:`SELU_SCALE` and :data:`SELU_ALPHA`; its limit for x -> -inf is
    :data:`ALPHA_PRIME`.

    Parameters
    ----------
    x : ndarray of float, any shape

    Returns
    -------
    ndarray, same shape and dtype as ``x``

    Raises
    ------
    ValueError
        If ``x`` does not have a floating dtype (an ``ArgumentTypeError``, also a ``TypeError``).
    """
    x = check_float_array(x)
    return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))


def _check_dims(array: np.ndarray, name: str, dims: tuple[str, ...]) -> None:
    if array.ndim != len(dims):
        raise ValueError(
            f"{name} must have {len(dims)} dimensions ({', '.join(dims)}), got shape {array.shape}"
        )


def _check_cache(cache, cache_type: type) -> None:
    if not isinstance(cache, cache_type):
        raise ValueError(
            f"cache must be the {cache_type.__name__} returned by the forward pass, "
            f"got {type(cache).__name__}"
        )


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


def spatial_dropout_forward(
    x: np.ndarray, p_drop: float, *, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, SpatialDropoutCache]:
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
        If ``x`` is not 4-D or not floating, ``p_drop`` is outside [0, 1), ``rng`` is not a
        Generator or ``training`` is not a bool (a wrong type raises ``ArgumentTypeError``,
        also a ``TypeError``).
    """
    x = check_float_array(x)
    _check_dims(x, "x", ("N", "C", "H", "W"))
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
    if not training or p_drop == 0.0:
        return x.copy(), SpatialDropoutCache(mask=None, scale=1.0, shape=x.shape)
    mask = sample_mask((*x.shape[:2], 1, 1), p_drop, rng=rng)
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


def gaussian_dropout_forward(
    x: np.ndarray, p_drop: float, *, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, GaussianDropoutCache]:
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

    Raises
    ------
    ValueError
        If ``x`` is not floating, ``p_drop`` is outside [0, 1), ``rng`` is not a Generator or
        ``training`` is not a bool (a wrong type raises ``ArgumentTypeError``, also a
        ``TypeError``).

    Notes
    -----
    The noise is drawn in ``x``'s dtype for float32 and float64, in float64 otherwise (NumPy
    draws no float16 normals); the product is rounded once to ``x``'s dtype.
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
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


def alpha_dropout_forward(
    x: np.ndarray, p_drop: float, *, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, AlphaDropoutCache]:
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

    Raises
    ------
    ValueError
        As :func:`gaussian_dropout_forward`.
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
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
        raise ValueError(
            f"W must have shape (D, M) with D = {x.shape[1]} (the second dimension "
            f"of x), got shape {W.shape}"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(
            f"b must have shape (M,) = ({W.shape[1]},) to match W, got shape {b.shape}"
        )
    return x, W, b


def _masked_weights(W: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Each sample's thinned weights: ``W * mask[n] * scale``, shape (N, D, M), W's dtype."""
    return np.where(mask, W * scale, np.zeros((), dtype=W.dtype))


def dropconnect_forward(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    p_drop: float,
    *,
    rng: np.random.Generator,
    training: bool = True,
) -> tuple[np.ndarray, DropConnectCache]:
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
        If ``x``, ``W`` or ``b`` is not floating or their shapes do not fit together,
        ``p_drop`` is outside [0, 1), ``rng`` is not a Generator or ``training`` is not a bool
        (a wrong type raises ``ArgumentTypeError``, also a ``TypeError``).

    Notes
    -----
    The mask has N * D * M entries: memory grows with the batch times the weight count.
    """
    x, W, b = _check_dense(x, W, b)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
    if not training or p_drop == 0.0:
        cache = DropConnectCache(x=x, W=W, b_dtype=b.dtype, mask=None, scale=1.0)
        return np.asarray(x @ W + b), cache
    mask = sample_mask((x.shape[0], *W.shape), p_drop, rng=rng)
    scale = 1.0 / (1.0 - p_drop)
    # (N, 1, D) @ (N, D, M) -> (N, 1, M): each sample through its own thinned weights
    out = (x[:, None, :] @ _masked_weights(W, mask, scale))[:, 0, :] + b
    return out, DropConnectCache(x=x, W=W, b_dtype=b.dtype, mask=mask, scale=scale)


def dropconnect_backward(
    dout: np.ndarray, cache: DropConnectCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    return (
        dx.astype(x.dtype, copy=False),
        dW.astype(W.dtype, copy=False),
        db.astype(cache.b_dtype, copy=False),
    )


# --- the variants notebook 05 illustrates: DropBlock, DropPath, concrete, targeted -------------


def _check_maps_shape(shape) -> tuple[int, int, int, int]:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 4:
        raise ValueError(f"shape must be (N, C, H, W), four integers >= 1, got {shape!r}")
    n, c, h, w = (check_count(side, f"shape[{i}]", minimum=1) for i, side in enumerate(shape))
    return n, c, h, w


def dropblock_mask(
    shape, p_drop: float, block_size: int, *, rng: np.random.Generator
) -> np.ndarray:
    """DropBlock's keep-mask (Ghiasi et al. 2018) for feature maps of shape (N, C, H, W).

    Block corners are drawn independently with probability
    ``gamma = p_drop / block_size**2 * H * W / ((H - block_size + 1) * (W - block_size + 1))``
    (at most 1) among the positions where a whole block fits; every pixel of each block is
    dropped. Blocks may overlap, so the dropped fraction is a little below ``p_drop``: a pixel
    covered by ``k`` possible corners is kept with probability ``(1 - gamma) ** k`` exactly.
    ``block_size = 1`` is ordinary (pixel) dropout.

    Parameters
    ----------
    shape : (N, C, H, W), integers >= 1
    p_drop : float in [0, 1)
        The fraction of pixels DropBlock aims to drop.
    block_size : int in [1, min(H, W)]
        Side of the square blocks.
    rng : numpy.random.Generator

    Returns
    -------
    mask : ndarray of bool, shape ``shape`` (``True`` = kept)

    Raises
    ------
    ValueError
        For a shape that is not four integers >= 1 or is larger than NumPy's arrays can be,
        ``p_drop`` outside [0, 1), a ``block_size`` outside [1, min(H, W)], or an ``rng`` that
        is not a Generator.
    """
    n, c, h, w = _check_maps_shape(shape)
    p_drop = check_p_drop(p_drop)
    block_size = check_count(block_size, "block_size", minimum=1)
    if block_size > min(h, w):
        raise ValueError(
            f"block_size must be in [1, {min(h, w)}] for maps of {h}x{w}, got {block_size}"
        )
    check_rng(rng)
    rows, cols = h - block_size + 1, w - block_size + 1
    check_fits((n, c, h, w), bool, "shape", shape)  # the mask
    check_fits((n, c, rows, cols), np.float64, "shape", shape)  # the uniforms of the corners
    gamma = min(1.0, p_drop / block_size**2 * h * w / (rows * cols))
    corners = rng.random((n, c, rows, cols)) < gamma
    dropped = np.zeros((n, c, h, w), dtype=bool)
    for di in range(block_size):
        for dj in range(block_size):
            dropped[:, :, di : di + rows, dj : dj + cols] |= corners
    return ~dropped


def linear_decay_rates(n_blocks: int, p_last: float = 0.5) -> np.ndarray:
    """Stochastic depth's rule (Huang et al. 2016): block ``l`` of ``L`` (1-based) is dropped
    with probability ``l / L * p_last``, so early blocks are almost always kept.

    Huang et al. state it for the survival probability, ``p_l = 1 - l / L * (1 - p_L)`` with
    ``p_L = 0.5``; the drop probability returned here is ``1 - p_l``, so their rule is
    ``p_last = 1 - p_L = 0.5``.

    Parameters
    ----------
    n_blocks : int >= 1
        ``L``, the number of residual blocks.
    p_last : float in [0, 1)
        Drop probability of the last block.

    Returns
    -------
    p_drops : ndarray of float64, shape (n_blocks,), increasing, ending at ``p_last``

    Raises
    ------
    ValueError
        If ``n_blocks`` is not an integer >= 1 (or is longer than NumPy's arrays can be) or
        ``p_last`` is outside [0, 1).
    """
    n_blocks = check_count(n_blocks, "n_blocks", minimum=1)
    check_max_count(n_blocks, np.float64, "n_blocks")
    p_last = check_probability(p_last, "p_last")
    return np.arange(1, n_blocks + 1) / n_blocks * p_last


def _check_rates(p_drops, name: str) -> list[float]:
    try:
        if isinstance(p_drops, (str, bytes)):
            raise TypeError("a string is not a sequence of rates")
        rates = list(p_drops)
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be a sequence of numbers in [0, 1), got {p_drops!r}"
        ) from None
    return [check_probability(rate, f"{name}[{i}]") for i, rate in enumerate(rates)]


def sample_active_blocks(p_drops, n_samples: int, *, rng: np.random.Generator) -> np.ndarray:
    """How many residual blocks each of ``n_samples`` samples goes through, with DropPath.

    This is the per-sample form (timm's ``DropPath``, torchvision's ``mode="row"``): block ``l``
    is skipped for a sample with probability ``p_drops[l]``, one per-sample keep-mask of shape
    (n_samples,) per block, drawn with :func:`course_lib.masks.sample_mask` in block order. The
    count of a sample is a sum of independent Bernoulli(1 - p_drops[l]). Huang et al.'s
    stochastic depth draws one decision per block for a whole mini-batch instead; the count of
    a mini-batch has the same law.

    Parameters
    ----------
    p_drops : sequence of float in [0, 1)
        One drop probability per block, e.g. :func:`linear_decay_rates`.
    n_samples : int >= 0
    rng : numpy.random.Generator

    Returns
    -------
    counts : ndarray of int64, shape (n_samples,), values in [0, len(p_drops)]

    Raises
    ------
    ValueError
        If a rate is outside [0, 1), ``n_samples`` is not an integer >= 0 (or is longer than
        NumPy's arrays can be) or ``rng`` is not a Generator.
    """
    rates = _check_rates(p_drops, "p_drops")
    n_samples = check_count(n_samples, "n_samples")
    check_max_count(n_samples, np.int64, "n_samples")
    check_rng(rng)
    counts = np.zeros(n_samples, dtype=np.int64)
    for p_drop in rates:
        counts += sample_mask(n_samples, p_drop, rng=rng)
    return counts


def relaxed_drop(
    p_drop: float, temperature: float, size: int, *, rng: np.random.Generator
) -> np.ndarray:
    """Concrete dropout's relaxed drop indicator (Gal, Hron and Kendall 2017):
    ``sigmoid((logit(p_drop) + log u - log(1 - u)) / temperature)`` with ``u ~ U(0, 1)``.

    ``log u - log(1 - u)`` is standard logistic noise, so the indicator is above 1/2 with
    probability ``p_drop`` exactly, at every temperature. As the temperature goes to 0 it
    becomes a Bernoulli(p_drop) indicator; for a positive temperature it is a smooth function of
    ``p_drop``, so ``p_drop`` can be learned by gradient descent.

    Parameters
    ----------
    p_drop : float in (0, 1)
        The logit of 0 and 1 is infinite, so both ends are excluded.
    temperature : float > 0
    size : int >= 0
        Number of indicators.
    rng : numpy.random.Generator

    Returns
    -------
    z : ndarray of float64, shape (size,), values in [0, 1] (1 = dropped; in (0, 1) except
        where the sigmoid rounds to an end)

    Raises
    ------
    ValueError
        If ``p_drop`` is outside (0, 1), ``temperature`` is not a finite number > 0, ``size``
        is not an integer >= 0 (or is longer than NumPy's arrays can be) or ``rng`` is not a
        Generator.
    """
    from scipy import special

    p_drop = check_open_unit(p_drop, "p_drop")
    temperature = check_positive(temperature, "temperature")
    size = check_count(size, "size")
    check_max_count(size, np.float64, "size")
    check_rng(rng)
    u = rng.uniform(np.finfo(float).tiny, 1.0, size)
    logit = math.log(p_drop) - math.log1p(-p_drop) + np.log(u) - np.log1p(-u)
    return special.expit(logit / temperature)


def targeted_keep_mask(
    W: np.ndarray, target_fraction: float, drop_rate: float, *, rng: np.random.Generator
) -> np.ndarray:
    """Targeted weight dropout's keep-mask (Gomez et al. 2019).

    In each column of ``W`` (the incoming weights of one output unit) the
    ``int(target_fraction * D)`` weights of smallest magnitude are candidates; each candidate
    is dropped with probability ``drop_rate``, independently; every other weight is kept. This
    is the training mask; at inference the authors' code drops every candidate, which is the
    pruning the method prepares for (``drop_rate=1`` gives that mask).

    Parameters
    ----------
    W : ndarray of float, shape (D, M)
    target_fraction : float in [0, 1]
        Fraction of each column that are candidates.
    drop_rate : float in [0, 1]
        Drop probability of a candidate.
    rng : numpy.random.Generator

    Returns
    -------
    mask : ndarray of bool, shape (D, M) (``True`` = kept)
    """
    W = check_float_array(W, "W")
    _check_dims(W, "W", ("D", "M"))
    target_fraction = check_probability(target_fraction, "target_fraction", allow_one=True)
    drop_rate = check_probability(drop_rate, "drop_rate", allow_one=True)
    check_rng(rng)
    n_candidates = int(target_fraction * W.shape[0])
    order = np.argsort(np.abs(W), axis=0)
    candidates = np.zeros(W.shape, dtype=bool)
    np.put_along_axis(candidates, order[:n_candidates], True, axis=0)
    return ~(candidates & (rng.random(W.shape) < drop_rate))


# --- choosing a variant for a convolutional feature map ----------------------------------------

FEATURE_MAP_VARIANTS = ("dropout", "spatial", "dropblock")
#: adjacent-pixel correlation from which a dropped pixel counts as recoverable from its neighbours
STRONG_CORRELATION = 0.5
#: p_drop for convolutional features: below, too little noise to regularize; above, more than
#: half of the features gone
CONV_P_DROP_RANGE = (0.05, 0.5)
#: largest acceptable probability that spatial dropout drops every channel of a sample
ALL_CHANNELS_DROPPED = 0.01


def choose_feature_map_dropout(n_channels: int, correlation: float) -> tuple[str, float]:
    """A defensible dropout variant and rate for a convolutional feature map.

    The choice follows notebook 05's rules: element-wise ``"dropout"`` only where adjacent
    pixels correlate less than :data:`STRONG_CORRELATION` (otherwise the neighbours give a
    dropped pixel back); ``"spatial"`` dropout only where it rarely drops every channel of a
    sample (``p_drop ** n_channels <= ALL_CHANNELS_DROPPED``); ``"dropblock"`` always; and
    ``p_drop`` in :data:`CONV_P_DROP_RANGE`. This reference picks ``p_drop = 0.2`` and the
    first variant of ``("dropout", "spatial", "dropblock")`` that the rules allow.

    Parameters
    ----------
    n_channels : int >= 1
        Channels of the feature map.
    correlation : float in [-1, 1]
        Correlation of horizontally adjacent pixels of a channel.

    Returns
    -------
    (variant, p_drop) : (str in FEATURE_MAP_VARIANTS, float)

    Raises
    ------
    ValueError
        If ``n_channels`` is not an integer >= 1 or ``correlation`` is not in [-1, 1].
    """
    n_channels = check_count(n_channels, "n_channels", minimum=1)
    if not isinstance(correlation, (int, float, np.integer, np.floating)) or not (
        -1.0 <= float(correlation) <= 1.0
    ):
        raise ValueError(f"correlation must be a number in [-1, 1], got {correlation!r}")
    p_drop = 0.2
    if correlation < STRONG_CORRELATION:
        return "dropout", p_drop
    if p_drop**n_channels <= ALL_CHANNELS_DROPPED:
        return "spatial", p_drop
    return "dropblock", p_drop

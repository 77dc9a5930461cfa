"""Dropout layers: inverted (the default everywhere today) and standard (direct).

Both draw a keep-mask (``True`` = kept, probability ``keep_prob = 1 - p_drop``) in training.

* **Inverted** dropout scales the kept units by ``1 / keep_prob`` in training and is the identity
  at inference, so the expected output equals the input in both phases.
* **Standard** (direct) dropout does not scale in training and multiplies by ``keep_prob`` at
  inference, which matches the training-time expectation from the other side.

Layer functions are pure: ``forward(x, p_drop, *, rng, training) -> (out, cache)`` and
``backward(dout, cache) -> dx``. The input is never modified and the dtype is preserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import check_flag, check_float_array, check_p_drop, check_rng
from .masks import fill_mask_by_blocks


@dataclass(frozen=True)
class DropoutCache:
    """What the backward pass needs: ``dx = dout * mask * scale``, for ``dout`` of ``shape``.

    Attributes
    ----------
    mask : ndarray of bool or None
        The keep-mask used in the forward pass; ``None`` when no mask was drawn (inference, or
        ``p_drop == 0``).
    scale : float
        The factor applied to kept units: ``1 / keep_prob`` for inverted dropout in training,
        ``keep_prob`` for standard dropout at inference, otherwise 1.
    shape : tuple of int
        Shape of the forward input, which ``dout`` must have. It may be left out when there is
        a mask (it is then the mask's shape); without a mask it is the only record of the
        shape, so that the backward pass can refuse a ``dout`` of the wrong shape at inference
        and with ``p_drop == 0`` too.

    Raises
    ------
    ValueError
        If there is neither a mask nor a shape.
    """

    mask: np.ndarray | None
    scale: float
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.shape is None:
            if self.mask is None:
                raise ValueError(
                    "DropoutCache needs the forward input's shape when it holds no mask"
                )
            object.__setattr__(self, "shape", self.mask.shape)  # frozen: set once, here


CHUNK = 1 << 20
"""Entries per chunk in :func:`_masked`: 4 MiB of a float32 array, 1 MiB of its mask."""


def _masked(x: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """``x * mask * scale`` in ``x``'s dtype, as one new array.

    For speed, as three passes of NumPy's fastest loops over the result: the mask converted to
    0 and 1 (a plain cast), times ``scale``, times ``x``. Multiplying ``x`` by the boolean mask
    directly goes through a slower casting loop, as slow as the three passes together. The values
    are the same: ``x * scale`` rounded once where kept, zero where dropped.

    The passes run chunk by chunk (:data:`CHUNK` entries), so that a chunk of the result stays
    in the CPU's last-level cache from its first pass to its last. An array of 1M entries is one
    chunk; on larger ones (16M float32 entries: 64 MiB) the whole result would otherwise go out
    to main memory and back between passes. A non-contiguous ``x`` is done in one piece, since
    its flat chunks would be copies, and so is a ``mask`` that broadcasts against ``x`` (spatial
    dropout's (N, C, 1, 1)), whose flat chunks do not line up with ``x``'s.
    """
    out = np.empty(x.shape, dtype=x.dtype)
    if mask.shape != x.shape or not (x.flags.c_contiguous and mask.flags.c_contiguous):
        _mask_into(out, x, mask, scale)
        return out
    flat_out, flat_x, flat_mask = out.reshape(-1), x.reshape(-1), mask.reshape(-1)
    for start in range(0, x.size, CHUNK):
        chunk = slice(start, start + CHUNK)
        _mask_into(flat_out[chunk], flat_x[chunk], flat_mask[chunk], scale)
    return out


def _mask_into(out: np.ndarray, x: np.ndarray, mask: np.ndarray, scale: float) -> None:
    """``out[...] = x * mask * scale`` in three passes over ``out`` (see :func:`_masked`)."""
    np.copyto(out, mask)
    if scale != 1.0:
        out *= scale
    out *= x


def _draw_and_mask(
    x: np.ndarray, p_drop: float, scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A fresh keep-mask (that of :func:`~course_lib.masks.sample_mask` for the same ``rng``)
    and ``x * mask * scale``.

    The whole mask is drawn first, then applied by :func:`_masked`. Applying each block of the
    mask as soon as it is drawn (128K entries, while its random bits are in the CPU cache) was
    measured too (``benchmarks/bench_dropout.py``, 2 cores): about 5% slower on 1M entries,
    where the dozen NumPy calls of each block cost more than the cache saves.
    """
    mask = np.empty(x.shape, dtype=bool)
    fill_mask_by_blocks(mask.reshape(-1), p_drop, rng=rng)
    return _masked(x, mask, scale), mask


def dropout_forward(
    x: np.ndarray, p_drop: float, *, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Probability that a unit is dropped.
    rng : numpy.random.Generator
    training : bool
        In training a fresh mask is drawn and kept units are scaled by ``1 / keep_prob``; at
        inference the layer is the identity.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : DropoutCache
        The mask, the scale and the shape of ``x``, for :func:`dropout_backward`.

    Raises
    ------
    ValueError
        If ``x`` is not a float array, ``p_drop`` is outside [0, 1), ``rng`` is not a Generator
        or ``training`` is not a bool (a wrong type raises ``ArgumentTypeError``, which is also
        a ``TypeError``).

    Notes
    -----
    The mask is :func:`~course_lib.masks.sample_mask`'s for the same ``rng`` (16 random bits per
    entry, exact Bernoulli). For speed the random bits are drawn in blocks of 128K entries, so
    the forward pass allocates ``out``, the mask and at most one block's random words and tie
    search (1.25 times the size of a float32 ``x`` plus 384 KiB, 1.125 times a float64 one plus
    384 KiB); the mask is then applied in three passes of NumPy's fastest loops
    (:func:`_masked`). Of a forward and backward pass on 1M float32 entries, drawing the random
    bits takes about 40% of the time and the six passes over the arrays about 40%; comparing
    the bits with the threshold, finding the ties and the calls themselves share the rest.
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
    if not training or p_drop == 0.0:
        return x.copy(), DropoutCache(mask=None, scale=1.0, shape=x.shape)
    scale = 1.0 / (1.0 - p_drop)
    out, mask = _draw_and_mask(x, p_drop, scale, rng)
    return out, DropoutCache(mask=mask, scale=scale, shape=x.shape)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Backward pass of :func:`dropout_forward`: the same mask and scale, applied to ``dout``.

    Parameters
    ----------
    dout : ndarray of float, same shape as the forward input
    cache : DropoutCache from :func:`dropout_forward`

    Returns
    -------
    dx : ndarray, same shape and dtype as ``dout``

    Raises
    ------
    ValueError
        If ``dout`` is not a float array, ``cache`` is not a :class:`DropoutCache`, or ``dout``
        does not have the forward input's shape. The shape is checked in every mode, at
        inference and with ``p_drop == 0`` too, where ``dx = dout`` would otherwise hide a
        ``dout`` that belongs to another layer.

    Notes
    -----
    ``dx`` is the only array allocated; the mask, the scale and ``dout`` are multiplied into it
    in place (see :func:`_masked`).
    """
    dout = check_float_array(dout, "dout")
    if not isinstance(cache, DropoutCache):
        raise ValueError(
            f"cache must be the DropoutCache returned by the forward pass, "
            f"got {type(cache).__name__}"
        )
    if dout.shape != cache.shape:
        raise ValueError(
            f"dout must have the forward input's shape {cache.shape}, got {dout.shape}"
        )
    if cache.mask is None:
        return np.asarray(dout * np.asarray(cache.scale, dtype=dout.dtype))
    return _masked(dout, cache.mask, cache.scale)


def standard_dropout_forward(
    x: np.ndarray, p_drop: float, *, rng: np.random.Generator, training: bool = True
) -> tuple[np.ndarray, DropoutCache]:
    """Standard (direct) dropout: mask without scaling in training, ``x * keep_prob`` at inference.

    Parameters
    ----------
    x : ndarray of float, any shape
    p_drop : float in [0, 1)
        Probability that a unit is dropped.
    rng : numpy.random.Generator
    training : bool

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : DropoutCache, for :func:`standard_dropout_backward`

    Raises
    ------
    ValueError
        As :func:`dropout_forward`.
    """
    x = check_float_array(x)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    training = check_flag(training, "training")
    keep_prob = 1.0 - p_drop
    if not training:
        out = np.asarray(x * np.asarray(keep_prob, dtype=x.dtype))
        return out, DropoutCache(mask=None, scale=keep_prob, shape=x.shape)
    if p_drop == 0.0:
        return x.copy(), DropoutCache(mask=None, scale=1.0, shape=x.shape)
    out, mask = _draw_and_mask(x, p_drop, 1.0, rng)
    return out, DropoutCache(mask=mask, scale=1.0, shape=x.shape)


def standard_dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Backward pass of :func:`standard_dropout_forward` (same rule: ``dout * mask * scale``)."""
    return dropout_backward(dout, cache)

"""Bernoulli keep-masks, drawn exactly and fast.

A mask is a boolean array, ``True`` = kept; each entry is kept with probability
``keep_prob = 1 - p_drop``, independently of every other entry.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validate import check_p_drop, check_rng

_BITS = 16
_LEVELS = 1 << _BITS


def _check_shape(shape) -> tuple[int, ...]:
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        dims = None
    if dims is None or any(
        not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0 for n in dims
    ):
        raise ValueError(f"shape must be an integer >= 0 or a tuple of them, got {shape!r}")
    return tuple(int(n) for n in dims)


def sample_mask(shape, p_drop: float, *, rng: np.random.Generator) -> np.ndarray:
    """Draw a keep-mask: each entry is ``True`` (kept) with probability ``1 - p_drop``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the mask.
    p_drop : float in [0, 1)
        Probability that an entry is dropped.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    mask : ndarray of bool, shape ``shape``

    Notes
    -----
    ``rng.random(shape) < keep_prob`` spends 53 random bits per entry. Here each entry gets 16 raw
    bits ``u`` (four per 64-bit word, three to four times faster). With ``t = keep_prob * 2**16``,
    the entry is kept when ``u < floor(t)``, and in the rare tie ``u == floor(t)`` (one entry in
    65536) it is kept with probability ``t - floor(t)`` using a fresh uniform. So
    ``P(kept) = floor(t) / 2**16 + (t - floor(t)) / 2**16 = keep_prob`` exactly, not rounded to a
    multiple of 2**-16.
    """
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    shape = _check_shape(shape)
    if p_drop == 0.0:
        return np.ones(shape, dtype=bool)
    n_entries = math.prod(shape)
    scaled = (1.0 - p_drop) * _LEVELS
    threshold = int(scaled)
    words = rng.bit_generator.random_raw(-(-n_entries // 4))
    draws = np.asarray(words, dtype=np.uint64).view(np.uint16)[:n_entries]
    mask = draws < threshold
    tie_prob = scaled - threshold
    if tie_prob > 0.0:
        ties = np.flatnonzero(draws == threshold)
        if ties.size:
            mask[ties] = rng.random(ties.size) < tie_prob
    return mask.reshape(shape)

"""Bernoulli keep-masks, drawn exactly and fast.

A mask is a boolean array, ``True`` = kept; each entry is kept with probability
``keep_prob = 1 - p_drop``, independently of every other entry.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import MAX_DIMS, ArgumentTypeError, check_fits, check_p_drop, check_rng

_BITS = 16
_LEVELS = 1 << _BITS


def _check_shape(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of integers >= 0, which NumPy can make into a boolean array."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = None if isinstance(dims, (str, bytes)) else tuple(dims)
    except TypeError:
        dims = None
    if dims is None or any(
        not isinstance(n, numbers.Integral) or isinstance(n, (bool, np.bool_)) for n in dims
    ):
        raise ArgumentTypeError(f"shape must be an integer >= 0 or a tuple of them, got {shape!r}")
    if any(n < 0 for n in dims):
        raise ValueError(f"shape must be an integer >= 0 or a tuple of them, got {shape!r}")
    if len(dims) > MAX_DIMS:
        raise ValueError(
            f"shape must have at most {MAX_DIMS} dimensions (NumPy's limit), got {len(dims)}"
        )
    dims = tuple(int(n) for n in dims)
    check_fits(dims, bool, "shape", shape)
    return dims


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

    Raises
    ------
    ValueError
        If ``shape`` is not an integer >= 0 or a tuple of them, or is larger than any NumPy
        array can be; if ``p_drop`` is outside [0, 1); if ``rng`` is not a Generator. (A wrong
        type raises ``ArgumentTypeError``, also a ``TypeError``.) A mask that NumPy can
        describe but the machine cannot hold raises NumPy's ``MemoryError``.

    Notes
    -----
    ``rng.random(shape) < keep_prob`` spends 53 random bits per entry. Here each entry gets 16 raw
    bits ``u`` (four per 64-bit word, three to four times faster). With ``t = keep_prob * 2**16``,
    the entry is kept when ``u < floor(t)``, and in the rare tie ``u == floor(t)`` (one entry in
    65536) it is kept with probability ``t - floor(t)`` using a fresh uniform. So
    ``P(kept) = floor(t) / 2**16 + (t - floor(t)) / 2**16 = keep_prob`` exactly, not rounded to a
    multiple of 2**-16.

    Drawing the raw bits is most of the cost. Eight bits per entry would halve it and stay exact
    (with a tie in every 256 entries), but would change every mask drawn from a given generator,
    and with them every recorded training run of the course; the masks are kept as they are.
    """
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    shape = _check_shape(shape)
    if p_drop == 0.0:
        return np.ones(shape, dtype=bool)
    mask = np.empty(shape, dtype=bool)
    fill_mask_by_blocks(mask.reshape(-1), p_drop, rng=rng)
    return mask


BLOCK = 1 << 17
"""Entries drawn per block by :func:`fill_mask_by_blocks` (a multiple of 4, one word per 4)."""


def fill_mask_by_blocks(mask: np.ndarray, p_drop: float, *, rng: np.random.Generator) -> None:
    """Fill the 1-D boolean array ``mask`` with :func:`sample_mask`'s draws, block by block.

    Parameters
    ----------
    mask : 1-D writeable ndarray of bool
        Overwritten in place. To fill an array of another shape, pass a view of it such as
        ``array.reshape(-1)`` of a C-contiguous array (a reshape that copies would fill the copy).
    p_drop : float in [0, 1)
    rng : numpy.random.Generator

    Raises
    ------
    ValueError
        If ``mask`` is not a writeable 1-D boolean ndarray, ``p_drop`` is outside [0, 1) or
        ``rng`` is not a Generator (a wrong type raises ``ArgumentTypeError``, also a
        ``TypeError``). The checks look at the array's type, dtype and flags only, never at
        its entries, so they cost the same for any size.

    Notes
    -----
    For speed: the random words and the tie search live in one block at a time (128K entries,
    256 KiB of random words), instead of arrays as large as the mask, which saves memory and
    the page faults of fresh large allocations. The random stream is consumed exactly as a
    single draw of the whole mask would consume it (the words in order, then one uniform per
    tie, in index order), so the mask is the same for the same generator whatever the block size.
    """
    _check_mask_to_fill(mask)
    p_drop = check_p_drop(p_drop)
    check_rng(rng)
    if p_drop == 0.0:  # every entry kept, and no random numbers used, as in sample_mask
        mask.fill(True)
        return
    scaled = (1.0 - p_drop) * _LEVELS
    threshold = int(scaled)
    tie_prob = scaled - threshold
    random_raw = rng.bit_generator.random_raw
    ties: list[int] = []
    for start in range(0, mask.size, BLOCK):
        stop = min(start + BLOCK, mask.size)
        words = np.asarray(random_raw(-(-(stop - start) // 4)), dtype=np.uint64)
        draws = words.view(np.uint16)[: stop - start]
        np.less(draws, threshold, out=mask[start:stop])
        if tie_prob > 0.0:
            ties.extend(start + index for index in _tie_indices(draws, threshold))
        # freed before the next block is drawn, so that the next block's words take the same
        # memory: with two blocks alive at once the allocator keeps handing memory back to the
        # system and taking it again, which costs a page fault every 4 KiB
        del words, draws
    if ties:
        mask[ties] = rng.random(len(ties)) < tie_prob


def _check_mask_to_fill(mask) -> None:
    if not isinstance(mask, np.ndarray):
        raise ArgumentTypeError(
            f"mask must be a 1-D NumPy array of bool to fill, got {type(mask).__name__}"
        )
    if mask.dtype != bool:
        raise ArgumentTypeError(f"mask must have dtype bool, got {mask.dtype}")
    if mask.ndim != 1:
        raise ValueError(
            f"mask must be 1-D (a view such as array.reshape(-1)), got shape {mask.shape}"
        )
    if not mask.flags.writeable:
        raise ValueError("mask must be writeable, got a read-only array")


def _tie_indices(draws: np.ndarray, threshold: int) -> list[int]:
    """The indices ``i`` with ``draws[i] == threshold``, in increasing order.

    For speed, found one at a time with ``argmax``, which stops at the first ``True``: a block
    of 128K entries holds about two ties (one entry in 65536), so this makes about three short
    scans, where ``np.flatnonzero`` counts the ``True`` entries over the whole block and then
    scans it again to collect them. With the comparison included, it halves the time the tie
    search takes on a block.
    """
    is_tie = draws == threshold
    found = []
    start = 0
    while start < is_tie.size:
        index = start + int(is_tie[start:].argmax())  # 0 when no True is left
        if not is_tie[index]:
            break
        found.append(index)
        start = index + 1
    return found

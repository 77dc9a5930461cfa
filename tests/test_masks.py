"""sample_mask: exact Bernoulli(keep_prob) entries, independent, drawn from rng only."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from conftest import p_drops, peak_bytes, seeds
from course_lib._validate import ArgumentTypeError
from course_lib.checks import assert_binomial_count
from course_lib.masks import BLOCK, _tie_indices, fill_mask_by_blocks, sample_mask

ALPHA = 1e-9  # false-failure probability of each statistical assertion below


@given(shape=st.lists(st.integers(0, 7), max_size=4).map(tuple), p_drop=p_drops, seed=seeds)
def test_shape_and_dtype(shape, p_drop, seed):
    mask = sample_mask(shape, p_drop, rng=np.random.default_rng(seed))
    assert mask.shape == shape and mask.dtype == bool


def test_integer_shape_is_one_dimensional(rng):
    assert sample_mask(5, 0.5, rng=rng).shape == (5,)


def test_p_drop_zero_keeps_everything(rng):
    assert sample_mask((100, 100), 0.0, rng=rng).all()


@pytest.mark.parametrize("p_drop", [0.1, 0.3, 0.5, 0.8, 0.95, 1 / 3])
def test_kept_count_is_binomial(p_drop):
    mask = sample_mask((1000, 1000), p_drop, rng=np.random.default_rng(1))
    assert_binomial_count(int(mask.sum()), mask.size, 1 - p_drop, alpha=ALPHA)


def test_keep_prob_is_exact_not_rounded_to_16_bits():
    # keep_prob = 0.5 + 2**-18 sits between two multiples of 2**-16; a 16-bit threshold without
    # the tie-break would keep with probability 0.5 exactly, a bias far too small to see in the
    # kept fraction. So test the tie-break itself: replaying the raw bits, entries below the
    # threshold are kept, above it dropped, and the ~610 ties at it are kept with probability
    # 0.25 (Binomial; a plain threshold keeps none of them, probability 0.75**610 < 1e-76 under
    # the correct law).
    keep_prob = 0.5 + 2.0**-18
    p_drop = 1 - keep_prob
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    mask = sample_mask(40_000_000, p_drop, rng=rng)
    replay = np.random.default_rng(0)
    replay.bit_generator.state = state
    draws = replay.bit_generator.random_raw(10_000_000).view(np.uint16)
    ties = draws == 32768
    assert ties.sum() > 400
    assert_binomial_count(int(mask[ties].sum()), int(ties.sum()), 0.25, alpha=ALPHA)
    assert mask[draws < 32768].all() and not mask[draws > 32768].any()


def test_entries_are_independent():
    # Adjacent entries (which share a 64-bit word) must be independent: the 2x2 table of
    # (entry 2i, entry 2i+1) must fit the product law. Chi-square with 3 degrees of freedom,
    # rejection at p < ALPHA.
    p_drop = 0.3
    mask = sample_mask(2_000_000, p_drop, rng=np.random.default_rng(3)).reshape(-1, 2)
    table = np.array(
        [
            [np.sum(~mask[:, 0] & ~mask[:, 1]), np.sum(~mask[:, 0] & mask[:, 1])],
            [np.sum(mask[:, 0] & ~mask[:, 1]), np.sum(mask[:, 0] & mask[:, 1])],
        ]
    )
    probs = np.array([p_drop, 1 - p_drop])
    expected = np.outer(probs, probs) * len(mask)
    assert stats.chisquare(table.ravel(), expected.ravel()).pvalue > ALPHA


def test_same_seed_same_mask_and_rng_advances():
    first = sample_mask(1000, 0.5, rng=np.random.default_rng(5))
    assert np.array_equal(first, sample_mask(1000, 0.5, rng=np.random.default_rng(5)))
    rng = np.random.default_rng(5)
    # two successive masks agree on all 1000 entries with probability 0.5**1000
    assert not np.array_equal(sample_mask(1000, 0.5, rng=rng), sample_mask(1000, 0.5, rng=rng))


def test_does_not_touch_global_state():
    np.random.seed(0)
    before = np.random.get_state(legacy=False)["state"]["key"].copy()
    sample_mask(1000, 0.5, rng=np.random.default_rng(0))
    assert np.array_equal(np.random.get_state(legacy=False)["state"]["key"], before)


@pytest.mark.parametrize("p_drop", [1.0, -0.1, 1.2, float("nan"), "0.5", None, True])
def test_bad_p_drop(p_drop, rng):
    with pytest.raises(ValueError, match="p_drop"):
        sample_mask(3, p_drop, rng=rng)


@pytest.mark.parametrize("shape", [-1, (2, -3), 2.5, "ab", None])
def test_bad_shape(shape, rng):
    with pytest.raises(ValueError, match="shape"):
        sample_mask(shape, 0.5, rng=rng)


@pytest.mark.parametrize("shape", [2.5, "ab", None, (2, True), (np.bool_(True),), (2, 3.0)])
def test_shape_of_the_wrong_type_is_a_type_error(shape, rng):
    with pytest.raises(ArgumentTypeError, match="shape must be an integer >= 0 or a tuple"):
        sample_mask(shape, 0.5, rng=rng)


@pytest.mark.parametrize(
    "shape,pattern",
    [
        ((2**40, 2**40), r"shape must describe an array of at most \d+ bytes of bool"),
        (10**30, r"shape must describe an array of at most \d+ bytes of bool"),
        ((0, 2**63), r"shape must describe an array of at most \d+ bytes of bool"),
        ((1,) * 65, r"shape must have at most 64 dimensions \(NumPy's limit\), got 65"),
    ],
)
def test_shapes_numpy_cannot_make_name_the_argument(shape, pattern, rng):
    """Shapes beyond any NumPy array get a message that names ``shape``; shapes NumPy can
    describe but memory cannot hold are left to NumPy's MemoryError, which says how much."""
    with pytest.raises(ValueError, match=pattern):
        sample_mask(shape, 0.5, rng=rng)


def test_large_shapes_below_numpys_limit_are_numpys_memory_error(rng):
    with pytest.raises(MemoryError):
        sample_mask((10**9, 10**9), 0.5, rng=rng)  # 1 EB of bool: no machine has it


@pytest.mark.parametrize("rng", [None, 0, np.random.RandomState(0)])
def test_rng_must_be_a_generator(rng):
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator"):
        sample_mask(3, 0.5, rng=rng)


@given(ties=st.lists(st.integers(0, 199), max_size=12, unique=True), seed=seeds)
@example(ties=[198, 199], seed=0)
@example(ties=[0, 1], seed=0)
def test_tie_search_finds_every_tie_in_order(ties, seed):
    """The argmax-based search agrees with np.flatnonzero, including ties at both ends."""
    draws = np.random.default_rng(seed).integers(0, 2**16, size=200, dtype=np.uint16)
    draws[draws == 1234] = 1235
    draws[ties] = 1234
    assert _tie_indices(draws, 1234) == sorted(ties)
    assert _tie_indices(draws, 1234) == np.flatnonzero(draws == 1234).tolist()


def test_blocks_reuse_their_memory():
    """One block of random words is alive at a time (a count of bytes, not a timing).

    With two blocks alive at once, glibc's allocator hands 256 KiB back to the system and takes
    it again for every block (about 96 page faults per 1M entries in a fresh interpreter). The
    words of a block are freed before the next block is drawn, so the peak of a fill is one
    block's words and tie flags (384 KiB), where two blocks alive would make it 512 KiB; the
    peak is read from tracemalloc, to which NumPy reports its buffers.
    """
    mask = np.empty(1_000_000, dtype=bool)
    rng = np.random.default_rng(0)
    one_block = BLOCK // 4 * 8 + BLOCK  # its random words (one per 4 entries) and tie flags
    peak = peak_bytes(lambda: fill_mask_by_blocks(mask, 0.3, rng=rng))
    # a second block's words would add 256 KiB; 64 KiB is room for small objects
    assert one_block <= peak < one_block + 64 * 1024, f"peak {peak} bytes"


# --- fill_mask_by_blocks -----------------------------------------------------------------------


@pytest.mark.parametrize("p_drop", [0.0, 0.3, 0.5 + 2.0**-18])
def test_fill_mask_by_blocks_is_sample_mask(p_drop):
    mask = np.zeros(BLOCK + 9, dtype=bool)
    rng = np.random.default_rng(4)
    fill_mask_by_blocks(mask, p_drop, rng=rng)
    expected_rng = np.random.default_rng(4)
    assert np.array_equal(mask, sample_mask(BLOCK + 9, p_drop, rng=expected_rng))
    assert rng.bit_generator.state == expected_rng.bit_generator.state  # the same draws used


@pytest.mark.parametrize(
    "p_drop,pattern",
    [
        (1.5, r"p_drop must be in \[0, 1\), got 1.5"),
        (-0.1, r"p_drop must be in \[0, 1\), got -0.1"),
        (float("nan"), r"p_drop must be in \[0, 1\), got nan"),
    ],
)
def test_fill_mask_by_blocks_rejects_a_bad_p_drop(p_drop, pattern, rng):
    """Without the check, 1.5 gave an all-False mask and -0.1 an all-True one, silently."""
    with pytest.raises(ValueError, match=pattern):
        fill_mask_by_blocks(np.empty(4, dtype=bool), p_drop, rng=rng)


def test_fill_mask_by_blocks_needs_a_generator():
    with pytest.raises(ArgumentTypeError, match=r"rng must be a numpy\.random\.Generator"):
        fill_mask_by_blocks(np.empty(4, dtype=bool), 0.5, rng=None)  # pyright: ignore[reportArgumentType] - the wrong type under test


@pytest.mark.parametrize(
    "mask,error,pattern",
    [
        (np.empty(4), ArgumentTypeError, "mask must have dtype bool, got float64"),
        (
            [True, False],
            ArgumentTypeError,
            "mask must be a 1-D NumPy array of bool to fill, got list",
        ),
        (np.empty((2, 3), dtype=bool), ValueError, r"mask must be 1-D .*got shape \(2, 3\)"),
        (np.broadcast_to(np.True_, 4), ValueError, "mask must be writeable"),
    ],
)
def test_fill_mask_by_blocks_needs_a_writeable_1d_boolean_array(mask, error, pattern, rng):
    with pytest.raises(error, match=pattern):
        fill_mask_by_blocks(mask, 0.5, rng=rng)

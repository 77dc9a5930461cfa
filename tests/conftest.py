import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Property tests explore new examples locally; CI replays a fixed, derandomized sequence.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci")

FLOAT_DTYPES = st.sampled_from([np.float16, np.float32, np.float64])


def float_arrays(dtype=FLOAT_DTYPES, max_dims=4, max_side=6):
    """Finite arrays of any float dtype and shape (including empty and 0-d)."""
    return dtype.flatmap(
        lambda dt: hnp.arrays(
            dt,
            hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side),
            elements={"min_value": -100, "max_value": 100, "allow_subnormal": False},
        )
    )


p_drops = st.floats(0.0, 0.95)
seeds = st.integers(0, 2**32 - 1)


@pytest.fixture
def rng():
    return np.random.default_rng(20261129)


@pytest.fixture(autouse=True)
def _close_figures():
    """Figure tests draw many figures; close them after every test."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def peak_bytes(call: Callable[[], object]) -> int:
    """The peak of the memory allocated while ``call()`` runs, above what was allocated before
    it, as tracemalloc counts it (NumPy reports its array buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()

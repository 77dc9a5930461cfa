"""course_lib.experiments: seed streams, the digits runs and the dropout-rate sweep of notebook 07."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_lib import experiments
from course_lib.checks import assert_mean_close
from course_lib.experiments import run_digits

ALPHA = 1e-9  # false-failure probability of each statistical assertion below
N_TEST = 500


def test_hidden_widths_keep_the_expected_number_of_kept_units():
    assert experiments.hidden_widths((256, 256), 0.5, False) == (256, 256)
    assert experiments.hidden_widths((128, 128), 0.5, True) == (256, 256)
    assert experiments.hidden_widths((16,), 0.3, True) == (23,)  # 22.86 rounds up
    assert experiments.hidden_widths((128,), 0.8, True) == (640,)
    assert experiments.hidden_widths((128,), 0.0, True) == (128,)
    with pytest.raises(ValueError, match="p_drop"):
        experiments.hidden_widths((16,), 1.0, True)


def test_sweep_p_drop_is_run_digits_per_rate():
    errors = experiments.sweep_p_drop([0.5, 0.0], seed=3, n_train=150, hidden=(16,), epochs=4,
                                   keep_product=True)
    expected = [run_digits(p, seed=3, n_train=150, hidden=experiments.hidden_widths((16,), p, True),
                           epochs=4).test_error for p in (0.5, 0.0)]
    np.testing.assert_array_equal(errors, expected)


def test_sweep_errors_are_measured_on_three_different_sets():
    errors = experiments.sweep_errors([0.2], seed=0, n_train=120, hidden=(16,), epochs=3)
    assert set(errors) == {"test", "val", "train"}
    assert errors["test"] * N_TEST == pytest.approx(round(errors["test"][0] * N_TEST))


# --- seed streams -------------------------------------------------------------------------------

def _first_draws(generators):
    return [tuple(int(v) for v in g.bit_generator.random_raw(3)) for g in generators]


@given(seed=st.integers(0, 2**63), n_streams=st.integers(1, 6), fewer=st.integers(1, 6))
def test_seed_streams_are_the_spawned_children_and_extend_each_other(seed, n_streams, fewer):
    streams = experiments.seed_streams(seed, n_streams)
    assert isinstance(streams, tuple) and len(streams) == n_streams
    assert all(isinstance(g, np.random.Generator) for g in streams)
    draws = _first_draws(streams)
    children = np.random.SeedSequence(seed).spawn(n_streams)
    assert draws == _first_draws(np.random.default_rng(child) for child in children)
    # child i does not depend on how many are spawned: a longer recipe extends a shorter one
    assert _first_draws(experiments.seed_streams(seed, min(fewer, n_streams))) == \
        draws[:min(fewer, n_streams)]
    assert len(set(draws)) == n_streams  # distinct streams (equal by chance: p < 1e-50)
    # fresh generators on every call: the same seed replays the same draws
    assert _first_draws(experiments.seed_streams(seed, n_streams)) == draws


def test_seed_streams_default_to_the_three_of_a_run():
    split_rng, init_rng, train_rng = experiments.seed_streams(4)
    assert _first_draws([split_rng, init_rng, train_rng]) == _first_draws(
        experiments.seed_streams(4, 3))


def test_seed_streams_are_uncorrelated():
    # (u - 1/2)(v - 1/2) for independent uniforms u, v of two streams: mean 0, variance 1/144,
    # values in [-1/4, 1/4]; Bernstein on 200000 pairs, false-failure probability ALPHA
    first, second = experiments.seed_streams(11, 2)
    n = 200_000
    products = (first.random(n) - 0.5) * (second.random(n) - 0.5)
    assert_mean_close(products, 0.0, lower=-0.25, upper=0.25, variance=1 / 144, alpha=ALPHA)


@pytest.mark.parametrize("call,pattern", [
    (lambda: experiments.seed_streams(-1), r"seed must be an integer >= 0, got -1"),
    (lambda: experiments.seed_streams(1.5), r"seed must be an integer >= 0, got 1.5"),
    (lambda: experiments.seed_streams("0"), r"seed must be an integer >= 0, got '0'"),
    (lambda: experiments.seed_streams(0, 0), r"n_streams must be an integer >= 1, got 0"),
])
def test_seed_streams_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


"""course_lib.experiments: the digits runs and the dropout-rate sweep of notebook 07."""

import numpy as np
import pytest

from course_lib import experiments
from course_lib.experiments import run_digits

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

"""course_lib.experiments: seed streams, the digits runs, the dropout-rate sweep of notebook 07,
and the statistics read from runs."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from course_lib import experiments
from course_lib.checks import assert_mean_close
from course_lib.experiments import run_digits
from course_lib.nn import MLP

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
    errors = experiments.sweep_p_drop(
        [0.5, 0.0], seed=3, n_train=150, hidden=(16,), epochs=4, keep_product=True
    )
    expected = [
        run_digits(
            p, seed=3, n_train=150, hidden=experiments.hidden_widths((16,), p, True), epochs=4
        ).test_error
        for p in (0.5, 0.0)
    ]
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
    assert (
        _first_draws(experiments.seed_streams(seed, min(fewer, n_streams)))
        == draws[: min(fewer, n_streams)]
    )
    assert len(set(draws)) == n_streams  # distinct streams (equal by chance: p < 1e-50)
    # fresh generators on every call: the same seed replays the same draws
    assert _first_draws(experiments.seed_streams(seed, n_streams)) == draws


def test_seed_streams_default_to_the_three_of_a_run():
    split_rng, init_rng, train_rng = experiments.seed_streams(4)
    assert _first_draws([split_rng, init_rng, train_rng]) == _first_draws(
        experiments.seed_streams(4, 3)
    )


def test_seed_streams_are_uncorrelated():
    # (u - 1/2)(v - 1/2) for independent uniforms u, v of two streams: mean 0, variance 1/144,
    # values in [-1/4, 1/4]; Bernstein on 200000 pairs, false-failure probability ALPHA
    first, second = experiments.seed_streams(11, 2)
    n = 200_000
    products = (first.random(n) - 0.5) * (second.random(n) - 0.5)
    assert_mean_close(products, 0.0, lower=-0.25, upper=0.25, variance=1 / 144, alpha=ALPHA)


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: experiments.seed_streams(-1), r"seed must be an integer >= 0, got -1"),
        (lambda: experiments.seed_streams(1.5), r"seed must be an integer >= 0, got 1.5"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (lambda: experiments.seed_streams("0"), r"seed must be an integer >= 0, got '0'"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (lambda: experiments.seed_streams(0, 0), r"n_streams must be an integer >= 1, got 0"),
    ],
)
def test_seed_streams_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- one summarized run -------------------------------------------------------------------------


def _config(**changes):
    config = {
        "p_drop": [0.0, 0.3],
        "hidden": [32],
        "n_train": 200,
        "epochs": 5,
        "weight_decay": 0.0,
        "max_norm": None,
    }
    return config | changes


def test_train_run_follows_run_digits_recipe():
    ours = experiments.train_run(_config(), seed=4)
    reference = run_digits([0.0, 0.3], seed=4, n_train=200, hidden=(32,), epochs=5)
    assert ours["test_error"] == reference.test_error
    assert ours["val_mistakes"] == [round(e * ours["n_val"]) for e in reference.history.val_error]
    assert ours["final_train_loss"] == pytest.approx(reference.history.train_loss[-1])
    assert json.loads(json.dumps(ours)) == ours  # plain data, as stored in a results file
    assert len(ours["activations"]["layers"]) == 1 and ours["seed"] == 4


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: experiments.train_run([0.5], 0), r"config must be a mapping with the keys p_drop"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (
            lambda: experiments.train_run({"p_drop": 0.5}, 0),
            r"config must have the keys .*missing "
            r"hidden, n_train, epochs",
        ),
        (
            lambda: experiments.train_run(_config(hidden=[32, 0]), 0),
            r"config\['hidden'\]\[1\] must be an integer >= 1, got 0",
        ),
        (
            lambda: experiments.train_run(_config(hidden=32), 0),
            r"config\['hidden'\] must be a list",
        ),
        (
            lambda: experiments.train_run(_config(n_train=0), 0),
            r"config\['n_train'\] must be an integer >= 1",
        ),
        (
            lambda: experiments.train_run(_config(epochs=2.5), 0),
            r"config\['epochs'\] must be an integer >= 1, got 2.5",
        ),
        (
            lambda: experiments.train_run(_config(weight_decay=-1.0), 0),
            r"config\['weight_decay'\] must be a finite number >= 0, got -1.0",
        ),
        (
            lambda: experiments.train_run(_config(max_norm=0.0), 0),
            r"config\['max_norm'\] must be a finite number > 0, got 0.0",
        ),
        (lambda: experiments.train_run(_config(p_drop=[0.0, 1.0]), 0), r"p_drop\[1\] must be in"),
        (lambda: experiments.train_run(_config(), -2), r"seed must be an integer >= 0, got -2"),
        (
            lambda: experiments.train_run(_config(), 0, near_zero=0.0),
            r"near_zero must be a finite number > 0, got 0.0",
        ),
    ],
)
def test_train_run_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@given(
    sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4),
    n=st.integers(1, 30),
    near_zero=st.floats(0.01, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_activation_summary_counts_every_activation(sizes, n, near_zero, seed):
    rng = np.random.default_rng(seed)
    model = MLP(sizes, 0.5, rng=rng)
    X = rng.standard_normal((n, sizes[0]))
    summary = experiments.activation_summary(model, X, near_zero)
    assert len(summary["layers"]) == len(sizes) - 2
    for layer, width, activations in zip(
        summary["layers"], sizes[1:-1], model.hidden_activations(X)
    ):
        assert 0 <= layer["zero"] <= layer["near_zero"] <= 1
        assert layer["zero"] == np.mean(activations == 0)
        assert layer["mean"] == pytest.approx(np.mean(activations))
        assert sum(layer["unit_mean_hist"]) == width
        assert sum(layer["activation_hist"]) == n * width
        assert len(layer["unit_mean_hist"]) == len(experiments.UNIT_MEAN_BINS) - 1
        assert len(layer["activation_hist"]) == len(experiments.ACTIVATION_BINS) - 1


def test_activation_summary_bad_arguments():
    model = MLP([2, 3, 2], 0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"model must be a course_lib.nn.MLP, got dict"):
        experiments.activation_summary({}, np.ones((1, 2)), 0.1)  # pyright: ignore[reportArgumentType] - the wrong type under test
    with pytest.raises(ValueError, match=r"near_zero must be a finite number > 0, got -0.1"):
        experiments.activation_summary(model, np.ones((1, 2)), -0.1)


# --- reading runs -------------------------------------------------------------------------------

curves = st.lists(st.floats(0.0, 1.0), max_size=30)


@given(curve=curves, window=st.integers(1, 40))
def test_smooth_is_the_trailing_mean(curve, window):
    smoothed = experiments.smooth(curve, window)
    assert smoothed.shape == (len(curve),) and smoothed.dtype == np.float64
    expected = [np.mean(curve[max(0, t - window + 1) : t + 1]) for t in range(len(curve))]
    np.testing.assert_allclose(smoothed, expected, atol=1e-12)
    # differences of running sums: exact up to the rounding of sums of values in [0, 1]
    np.testing.assert_allclose(experiments.smooth(curve, 1), curve, atol=1e-12)


def test_smooth_is_a_trailing_moving_average():
    curve = np.array([4.0, 2.0, 6.0, 0.0, 8.0])
    expected = [4.0, 3.0, 4.0, 8 / 3, 14 / 3]
    np.testing.assert_allclose(experiments.smooth(curve, 3), expected)


@given(curve=curves.filter(len), threshold=st.floats(0.0, 1.0), window=st.integers(1, 10))
def test_epochs_to_reach_and_best_epoch_read_the_smoothed_curve(curve, threshold, window):
    smoothed = experiments.smooth(curve, window)
    best = experiments.best_epoch(curve, window)
    assert 1 <= best <= len(curve) and smoothed[best - 1] == smoothed.min()
    assert np.all(smoothed[: best - 1] > smoothed.min())  # the first of tied minima
    reach = experiments.epochs_to_reach(curve, threshold, window)
    if math.isnan(reach):
        assert np.all(smoothed > threshold + 1e-12)
    else:
        epoch = int(reach)
        assert reach == epoch and smoothed[epoch - 1] <= threshold + 1e-12
        assert np.all(smoothed[: epoch - 1] > threshold + 1e-12)


def test_epochs_to_reach_and_best_epoch():
    curve = [0.5, 0.3, 0.2, 0.1, 0.1, 0.3]
    assert experiments.epochs_to_reach(curve, 0.2, 1) == 3
    assert math.isnan(experiments.epochs_to_reach(curve, 0.05, 1))
    assert experiments.best_epoch(curve, 1) == 4  # the first of the tied minima


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: experiments.smooth([0.1, 0.2], 0), r"window must be an integer >= 1, got 0"),
        (lambda: experiments.smooth([0.1, 0.2], 2.0), r"window must be an integer >= 1, got 2.0"),  # pyright: ignore[reportArgumentType] - the wrong type under test
        (lambda: experiments.smooth(np.ones((2, 2)), 2), r"curve must have 1 dimension"),
        (
            lambda: experiments.epochs_to_reach([0.1], -0.1, 1),
            r"threshold must be a finite number >= 0, got -0.1",
        ),
        (
            lambda: experiments.epochs_to_reach([0.1], float("nan"), 1),
            r"threshold must be a finite",
        ),
        (lambda: experiments.best_epoch([], 3), r"curve must hold at least one epoch"),
    ],
)
def test_reading_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- choosing a rate on the validation set: one rule for notebooks 01 and 07 ------------------


def test_choose_p_drop_takes_the_lowest_validation_mean_and_ignores_the_test_errors():
    val = {0.0: [0.06, 0.05], 0.2: [0.04, 0.05], 0.5: [0.03, 0.07]}
    assert experiments.choose_p_drop(val) == 0.2
    assert experiments.choose_p_drop(val, {0.0: [0.0, 0.0], 0.2: [1, 1], 0.5: [1, 1]}) == 0.2
    with pytest.raises(ValueError, match="val_errors must be a non-empty mapping"):
        experiments.choose_p_drop({})
    with pytest.raises(ValueError, match="same number of seeds"):
        experiments.choose_p_drop({0.0: [0.1, 0.2], 0.5: [0.1]})


# --- choosing a rate on the validation set ------------------------------------------------------


def test_rates_not_worse_is_a_one_sided_paired_t_test_against_the_lowest_mean():
    shared = np.array([0.02, 0.03, 0.025, 0.035, 0.028, 0.022])  # what each seed gives all rates
    val = np.stack(
        [
            shared + 0.004 + np.array([0.001, 0.0, -0.001, 0.0005, 0.0, 0.0]),  # clearly worse
            shared,  # the lowest mean
            shared + np.array([0.002, -0.002, 0.001, -0.001, 0.0, 0.001]),  # within the noise
            shared + np.array([0.01, 0.0, 0.009, 0.0, 0.0, 0.0]) + 0.0001,
            shared + np.array([0.004, 0.0, 0.003, 0.001, 0.001, 0.0]),  # worse, one-sided only
        ]
    )
    one_sided = [
        scipy_stats.ttest_rel(val[r], val[1], alternative="greater").pvalue for r in range(5)
    ]
    two_sided = [scipy_stats.ttest_rel(val[r], val[1]).pvalue for r in range(5)]
    expected = [r == 1 or one_sided[r] >= 0.05 for r in range(len(val))]
    np.testing.assert_array_equal(experiments.rates_not_worse(val), expected)
    assert experiments.rates_not_worse(val).tolist() == [False, True, True, True, False]
    # the last row is why the side matters: a two-sided test at 5% would let it pass
    assert one_sided[4] < 0.05 <= two_sided[4]
    assert experiments.choose_sweep_rate([0.6, 0.2, 0.4, 0.0, 0.8], val) == 0.2
    # stricter level, fewer rates: at level 0.1 the fourth (one-sided p about 0.08) is ruled out
    assert not experiments.rates_not_worse(val, 0.1)[3]
    best, comparisons = experiments.against_lowest(val)
    assert best == experiments.lowest_mean(val) == 1
    assert [c.p_greater for c in comparisons] == pytest.approx(
        [0.5 if r == 1 else one_sided[r] for r in range(5)], rel=1e-9
    )


def test_errors_table_reads_a_mapping_in_its_order():
    rates, table = experiments.errors_table({0.5: [0.1, 0.2], 0.0: [0.3, 0.4]})
    assert rates == [0.5, 0.0]
    np.testing.assert_array_equal(table, [[0.1, 0.2], [0.3, 0.4]])


@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: experiments.rates_not_worse([[0.1], [0.2]]), r"val_errors must have shape"),
        (lambda: experiments.rates_not_worse([0.1, 0.2]), r"val_errors must have shape"),
        (lambda: experiments.rates_not_worse([[0.1, np.nan]]), r"val_errors must hold finite"),
        (lambda: experiments.rates_not_worse([[0.1, 0.2]], 1.5), r"level must be in \(0, 1\)"),
        (lambda: experiments.choose_sweep_rate([0.1], [[0.1, 0.2]] * 2), r"one row per rate"),
        (
            lambda: experiments.choose_sweep_rate([1.1], [[0.1, 0.2]]),
            r"p_drops\[0\] must be in \[0, 1\)",
        ),
        (lambda: experiments.errors_table({}), r"val_errors must be a non-empty mapping"),
        (lambda: experiments.errors_table({0.0: [0.1]}), r"val_errors must have shape"),
        (lambda: experiments.lowest_mean([[0.1, 0.2, 0.3]] * 0), r"val_errors must have shape"),
        (lambda: experiments.against_lowest([[0.1, np.inf]]), r"val_errors must hold finite"),
    ],
)
def test_choice_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --- jobs in parallel, and the command line's record --------------------------------------------


def _square_plus(x, y):
    return x * x + y


def test_run_jobs_keeps_the_order_of_the_jobs_with_any_number_of_workers():
    jobs = [(i, 10 * i) for i in range(7)]
    expected = [_square_plus(*job) for job in jobs]
    seen = []
    assert experiments.run_jobs(_square_plus, jobs) == expected
    assert experiments.run_jobs(_square_plus, jobs, workers=2, on_done=lambda i, n: seen.append(n))
    assert sorted(seen) == list(range(1, 8))
    assert experiments.run_jobs(_square_plus, jobs, workers=2) == expected
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        experiments.run_jobs(_square_plus, jobs, workers=0)


def test_command_line_keeps_only_what_changes_the_runs():
    argv = ["--p-drop", "0", "--workers", "2", "--seeds", "0", "1", "--out=x.json", "--progress"]
    assert experiments.command_line(argv) == (
        "python -m course_lib.experiments --p-drop 0 --seeds 0 1"
    )


def test_comparison_table_quotes_t_intervals_and_paired_p_values():
    record = {
        "seeds": [0, 1, 2, 3],
        "runs": {
            "0.0": [{"test_error": e} for e in (0.030, 0.024, 0.028, 0.026)],
            "0.5": [{"test_error": e} for e in (0.022, 0.020, 0.024, 0.018)],
        },
    }
    table = experiments.comparison_table(record)
    a, b = np.array([0.030, 0.024, 0.028, 0.026]), np.array([0.022, 0.020, 0.024, 0.018])
    low, high = scipy_stats.t.interval(0.95, 3, loc=a.mean(), scale=scipy_stats.sem(a))
    assert "df = 3" in table and f"[{100 * low:5.2f}%, {100 * high:5.2f}%]" in table
    paired = scipy_stats.ttest_rel(b, a)
    interval = paired.confidence_interval(0.95)
    assert f"{100 * (b - a).mean():+14.2f} pp" in table
    assert f"[{100 * interval.low:+6.2f}, {100 * interval.high:+6.2f}] pp" in table
    assert f"{paired.pvalue:8.3f}" in table


def test_a_recorded_comparison_round_trips_through_main(tmp_path, capsys):
    out = tmp_path / "record.json"
    argv = ["--p-drop", "0", "--p-drop", "0.5", "--seeds", "3", "4", "--hidden", "8"]
    experiments.main([*argv, "--epochs", "2", "--n-train", "100", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["command"] == experiments.command_line(
        [*argv, "--epochs", "2", "--n-train", "100"]
    )
    assert record["seeds"] == [3, 4] and list(record["runs"]) == ["0.0", "0.5"]
    # the header (course_lib.records.record_header) has the committed record's keys, in order
    assert list(record) == list(json.loads(experiments.RECORD_PATH.read_text()))
    for name, p_drop in (("0.0", 0.0), ("0.5", 0.5)):
        for run in record["runs"][name]:
            again = run_digits(p_drop, seed=run["seed"], n_train=100, hidden=(8,), epochs=2)
            assert run["test_error"] == again.test_error
    assert experiments.comparison_table(record) in capsys.readouterr().out


# --- the comparison the README quotes -----------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def record():
    return json.loads(experiments.RECORD_PATH.read_text())


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_record_is_made_by_the_makefiles_command(record):
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    found = re.search(r"^EXPERIMENT_ARGS := (.*)$", makefile, re.M)
    assert found, "the Makefile has no EXPERIMENT_ARGS"
    args = found.group(1).split()
    assert record["command"] == experiments.command_line(args)
    assert "$(EXPERIMENT_ARGS) --workers 2" in makefile
    assert record["seeds"] == list(range(10))


def test_the_readme_table_is_the_record(record):
    """Every figure of the README's experiment, recomputed from the record."""
    from course_lib.stats import paired_comparison, t_interval

    readme = _flat((ROOT / "README.md").read_text())
    names = {"0.0": "none", "[0.1, 0.3, 0.3]": "0.1, 0.3, 0.3"}
    errors = {name: [run["test_error"] for run in record["runs"][name]] for name in names}
    n = len(record["seeds"])
    assert f"test error, mean of {n} seeds | 95% t-interval (df = {n - 1}) |" in readme
    for name, label in names.items():
        interval = t_interval(errors[name])
        row = (
            f"| {label} | {100 * interval.mean:.2f}% | {100 * interval.low:.2f}% to "
            f"{100 * interval.high:.2f}% |"
        )
        assert row in readme, row
    none, dropout = errors["0.0"], errors["[0.1, 0.3, 0.3]"]
    gain = paired_comparison(none, dropout)
    sentence = (
        f"lower by {100 * gain.mean:.2f} pp (95% t-interval {100 * gain.low:.2f} to "
        f"{100 * gain.high:.2f} pp, df = {gain.df}; paired t-test p = {gain.p_value:.1g}); it is "
        f"lower on {sum(a > b for a, b in zip(none, dropout))} of the {n} seeds"
    )
    assert sentence in readme, sentence
    assert f"took {record['seconds']:.0f} s with one worker" in readme
    assert record["workers"] == 1
    assert "`course_lib/experiments_digits.json`" in readme


@pytest.mark.slow
def test_one_recorded_run_comes_out_again_exactly(record):
    """Provenance: retrain the run of the first configuration with seed 0 as the command made it
    (one BLAS thread, so the numbers do not depend on the machine's cores) and compare."""
    settings = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in record["settings"].items()
    }
    stored = record["runs"]["0.0"][0]
    again = experiments._digits_job(record["configs"]["0.0"], stored["seed"], settings)
    assert again["test_error"] == stored["test_error"]
    assert again["final_train_error"] == stored["final_train_error"]


# --- arguments checked before any training, each named with its range ---------------------------

ONE_RUN = {"seeds": [0], "runs": {"0.5": [{"test_error": 0.1}]}}


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: experiments.compare_on_digits([0.0, 0.5], [0]),
            r"configs must be a mapping \{name: p_drop\}, got list",
        ),
        (
            lambda: experiments.compare_and_record([0.0, 0.5], [0]),
            r"configs must be a mapping \{name: p_drop\}, got list",
        ),
        (lambda: experiments.compare_on_digits({}, [0]), r"configs must hold at least one"),
        (lambda: experiments.compare_on_digits({"a": 0.5}, []), r"seeds must hold at least one"),
        (
            lambda: experiments.compare_on_digits({"a": 0.5}, 3),
            r"seeds must be a sequence of integers >= 0, got 3",
        ),
        (
            lambda: experiments.compare_and_record({"a": 0.5}, [0, -1]),
            r"seeds\[1\] must be an integer >= 0, got -1",
        ),
        (
            lambda: experiments.sweep_errors(0.5, seed=0),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"p_drops must be a sequence of rates in \[0, 1\), got 0.5",
        ),
        (
            lambda: experiments.sweep_p_drop(0.5, seed=0),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"p_drops must be a sequence of rates in \[0, 1\), got 0.5",
        ),
        (
            lambda: experiments.choose_sweep_rate(0.5, [[0.1, 0.2]]),
            r"p_drops must be a sequence of rates in \[0, 1\), got 0.5",
        ),
        (
            lambda: experiments.sweep_errors([0.2, 1.5], seed=0),
            r"p_drops\[1\] must be in \[0, 1\), got 1.5",
        ),
        (
            lambda: experiments.sweep_errors([0.2], seed=0, hidden=(8, 0)),
            r"hidden\[1\] must be an integer >= 1, got 0",
        ),
        (
            lambda: experiments.run_digits(0.5, seed=0, hidden=(0,)),
            r"hidden\[0\] must be an integer >= 1, got 0",
        ),
        (
            lambda: experiments.run_digits(0.5, seed=0, hidden=4),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"hidden must be a sequence of widths >= 1, one per hidden layer, got 4",
        ),
        (
            lambda: experiments.hidden_widths(4, 0.5, True),
            r"hidden must be a sequence of widths >= 1",
        ),
        (  # tiny, so that a run without the check ends at once (with truncated pixels)
            lambda: experiments.run_digits(
                0.5,
                seed=0,
                n_train=10,
                hidden=(2,),
                epochs=1,
                dtype=np.int64,  # pyright: ignore[reportArgumentType] - the wrong dtype under test
            ),
            r"dtype must be a floating dtype",
        ),
    ],
)
def test_runs_and_sweeps_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    "call,pattern",
    [
        (
            lambda: experiments.choose_p_drop({1.5: [0.01, 0.02], 0.5: [0.03, 0.04]}),
            r"val_errors must be keyed by rates p_drop in \[0, 1\), got the key 1.5",
        ),
        (
            lambda: experiments.choose_p_drop({"0.1": [0.01, 0.02], 0.5: [0.03, 0.04]}),
            r"val_errors must be keyed by rates p_drop in \[0, 1\), got the key '0.1'",
        ),
        (lambda: experiments.mean_val_error([], 3), r"runs must hold at least one run"),
        (
            lambda: experiments.run_val_error({"val_mistakes": [3, 4], "n_val": 0}, 1),
            r"run\['n_val'\] must be an integer >= 1, got 0",
        ),
        (
            lambda: experiments.run_val_error({"val_mistakes": [], "n_val": 10}, 1),
            r"run\['val_mistakes'\] must hold at least one epoch",
        ),
        (
            lambda: experiments.run_val_error({"val_mistakes": [3, 11], "n_val": 10}, 1),
            r"run\['val_mistakes'\] must hold counts in \[0, 10\]",
        ),
        (
            lambda: experiments.run_val_error({"n_val": 10}, 1),
            r"run must have the keys val_mistakes and n_val, missing \['val_mistakes'\]",
        ),
        (
            lambda: experiments.comparison_table({}),
            r"record must have the keys seeds and runs, missing \['seeds', 'runs'\]",
        ),
        (
            lambda: experiments.comparison_table({"seeds": [0], "runs": {}}),
            r"record\['runs'\] must map at least one configuration to its runs, got none",
        ),
        (
            lambda: experiments.comparison_table({**ONE_RUN, "seeds": [0, 1]}),
            r"record\['runs'\]\['0.5'\] must be a list of one run per seed \(2\), got 1 runs",
        ),
        (
            lambda: experiments.comparison_table(ONE_RUN, 5.0),  # printed "500% t-intervals"
            r"confidence must be in \(0, 1\), got 5.0",
        ),
        (
            lambda: experiments.comparison_table(ONE_RUN, "0.9"),  # pyright: ignore[reportArgumentType] - the wrong type under test
            r"confidence must be in \(0, 1\), got '0.9'",
        ),
    ],
)
def test_reading_runs_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_a_window_longer_than_the_curve_costs_no_memory():
    import tracemalloc

    curve = [0.3, 0.2, 0.25, 0.1]
    tracemalloc.start()
    try:
        smoothed = experiments.smooth(curve, 10**7)  # np.zeros(window) took 76 MiB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000
    np.testing.assert_array_equal(smoothed, experiments.smooth(curve, len(curve)))
    np.testing.assert_array_equal(experiments.smooth(curve, 10**30), smoothed)


def test_main_refuses_a_confidence_before_it_trains(capsys):
    argv = ["--p-drop", "0", "--seeds", "0", "--n-train", "10", "--hidden", "2", "--epochs", "1"]
    with pytest.raises(SystemExit):
        experiments.main([*argv, "--confidence", "5"])
    captured = capsys.readouterr()
    assert "--confidence must be in (0, 1), got 5.0" in captured.err
    assert captured.out == ""  # nothing was trained, nothing printed

"""The dropout playground's state and loop, driven by calling them: step, reset, a changed p_drop
and data set, identical starting weights for the two runs, Play and Pause, and what notebook 01
says about the default run."""

import asyncio
import re

import matplotlib
import numpy as np
import pytest
from scipy import stats

from course_lib.lessons import playground as pg
from course_lib.lessons.widgets import figure_pixels
from test_prose import source

matplotlib.use("Agg")

ALPHA = 1e-9  # false-failure probability of each statistical assertion below


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _same_weights(first, second) -> bool:
    return all(np.array_equal(a, b) for a, b in zip(first.parameters(), second.parameters()))


# --- settings and data ----------------------------------------------------------------------------


def test_settings_store_one_rate_per_dropout_site():
    assert pg.Settings(p_drop=0.3, hidden=(4, 5, 6)).rates == (0.0, 0.3, 0.3, 0.3)
    assert pg.Settings(p_drop=(0.1, 0.2, 0.3)).rates == (0.1, 0.2, 0.3)
    assert pg.Settings().layer_sizes == (2, 24, 24, 2)


@pytest.mark.parametrize(
    "changes,pattern",
    [
        ({"dataset": "swirl"}, r"dataset must be one of \('moons'"),
        ({"noise": -1.0}, "noise must be a finite number >= 0"),
        ({"n_train": 1}, r"n_train must be an integer >= 2"),
        ({"p_drop": 1.0}, r"p_drop must be in \[0, 1\)"),
        ({"p_drop": (0.1, 0.2)}, "p_drop must have one rate per dropout site"),
        ({"lr": 0.0}, "lr must be a finite number > 0"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1"),
    ],
)
def test_settings_reject_bad_values(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        pg.Settings(**changes)


def test_the_test_set_is_fixed_per_data_set_and_noise():
    first = pg.Playground(seed=0, n_train=20)
    second = pg.Playground(seed=5, n_train=80)
    assert np.array_equal(first.X_test, second.X_test)
    assert not np.array_equal(first.X_train[:20], second.X_train[:20])
    assert len(first.X_test) == pg.N_TEST and not first.X_test.flags.writeable
    noisier = pg.Playground(noise=0.5)
    assert not np.array_equal(noisier.X_test, first.X_test)
    assert np.array_equal(noisier.y_test, first.y_test)


# --- the two runs, step and reset -------------------------------------------------------------


def test_both_runs_start_from_the_same_weights_and_only_one_drops():
    playground = pg.Playground()
    assert _same_weights(playground.dropout_net, playground.plain_net)
    assert playground.dropout_net.p_drop == playground.settings.rates
    assert playground.plain_net.p_drop == (0.0, 0.0, 0.0)
    first = playground.histories["dropout"], playground.histories["plain"]
    assert first[0].val_loss == first[1].val_loss  # the same function, the same curves


def test_without_dropout_the_two_runs_stay_identical():
    # the same initial weights and the same mini-batches: only the masks can tell them apart
    playground = pg.Playground(p_drop=0.0)
    playground.step(25)
    assert _same_weights(playground.dropout_net, playground.plain_net)
    assert playground.histories["dropout"].val_loss == playground.histories["plain"].val_loss


def test_step_trains_both_and_records_one_point_per_step():
    playground = pg.Playground()
    start = playground.dropout_net.copy()
    playground.step()
    playground.step(4)
    assert playground.steps == 5
    for history in playground.histories.values():
        assert len(history.train_loss) == len(history.val_loss) == 6
        assert np.isnan(history.minibatch_loss[0]) and np.all(
            np.isfinite(history.minibatch_loss[1:])
        )
    assert not _same_weights(playground.dropout_net, start)
    assert not _same_weights(playground.dropout_net, playground.plain_net)
    with pytest.raises(ValueError, match="n_steps must be an integer >= 1"):
        playground.step(0)


def test_runs_are_reproducible_and_reset_returns_to_the_start():
    first, second = pg.Playground(), pg.Playground()
    fresh = first.dropout_net.copy()
    first.step(30)
    second.step(30)
    assert _same_weights(first.dropout_net, second.dropout_net)
    assert first.histories["plain"].val_loss == second.histories["plain"].val_loss
    first.reset()
    assert first.steps == 0 and len(first.histories["dropout"].val_loss) == 1
    assert _same_weights(first.dropout_net, fresh) and _same_weights(first.plain_net, fresh)
    first.step(30)
    assert first.histories["dropout"].val_loss == second.histories["dropout"].val_loss


def test_a_changed_p_drop_keeps_the_initial_weights_and_drops_at_its_rate():
    playground = pg.Playground()
    fresh = playground.dropout_net.copy()
    playground.step(10)
    playground.reset(p_drop=(0.0, 0.8, 0.8))
    assert playground.settings.rates == (0.0, 0.8, 0.8) and playground.steps == 0
    assert _same_weights(playground.dropout_net, fresh)
    assert all(mask.all() for mask in playground.mask)  # no step, no mask yet
    n_steps, kept = 200, 0
    for _ in range(n_steps):
        playground.step()
        assert playground.mask[0].all() and playground.mask[-1].all()  # p_drop 0, and the output
        kept += playground.mask[1].sum() + playground.mask[2].sum()
    n_units = n_steps * 48
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], n_units, 0.2)
    assert low <= kept <= high


def test_a_changed_data_set_brings_its_own_data():
    playground = pg.Playground()
    moons = playground.X_train.copy()
    playground.reset(dataset="circles", noise=0.1)
    assert playground.settings.dataset == "circles"
    assert not np.array_equal(playground.X_train, moons)
    assert np.array_equal(playground.X_test, pg.fixed_test_set("circles", 0.1)[0])
    radii = np.linalg.norm(playground.X_test, axis=1)
    assert abs(np.median(radii[playground.y_test == 0]) - 1.2) < 0.05


def test_settings_from_controls_read_the_shown_layers_only():
    base = pg.Settings(seed=3, batch_size=5)
    s = pg.settings_from_controls(
        base, n_hidden=2, widths=(8, 16, 30), rates=(0.1, 0.4, 0.6, 0.9), lr=0.1, n_train=70
    )
    assert s.hidden == (8, 16) and s.rates == (0.1, 0.4, 0.6) and s.layer_sizes == (2, 8, 16, 2)
    assert (s.lr, s.n_train, s.seed, s.batch_size) == (0.1, 70, 3, 5)
    one = pg.settings_from_controls(
        base, n_hidden=1, widths=(8, 16, 30), rates=(0.1, 0.4, 0.6, 0.9)
    )
    assert one.hidden == (8,) and one.rates == (0.1, 0.4)
    assert base.hidden == (24, 24)  # the base is not changed


@pytest.mark.parametrize(
    "arguments,pattern",
    [
        ({"n_hidden": 0}, "n_hidden must be an integer >= 1"),
        ({"n_hidden": 4, "widths": (5,) * 4, "rates": (0.1,) * 5}, r"n_hidden must be in \[1, 3\]"),
        ({"n_hidden": 3, "widths": (5, 5)}, "widths must give at least n_hidden = 3"),
        ({"n_hidden": 2, "rates": (0.1, 0.2)}, "rates must give at least n_hidden \\+ 1 = 3"),
        ({"n_hidden": 1, "widths": (0,)}, "layer_sizes"),
        ({"n_hidden": 1, "lr": -0.1}, "lr must be a finite number > 0"),
        ({"n_hidden": 1, "rates": (0.0, 1.0)}, r"p_drop\[1\] must be in \[0, 1\)"),
    ],
)
def test_settings_from_controls_reject_bad_values(arguments, pattern):
    arguments = {"widths": (5, 5, 5), "rates": (0.1, 0.2, 0.3, 0.4), **arguments}
    with pytest.raises(ValueError, match=pattern):
        pg.settings_from_controls(pg.Settings(), **arguments)


def test_a_changed_learning_rate_keeps_the_weights_and_data_and_changes_the_steps():
    playground = pg.Playground()
    fresh, X_train = playground.dropout_net.copy(), playground.X_train.copy()
    playground.step(10)
    slow = [w.copy() for w in playground.dropout_net.parameters()]
    playground.reset(lr=0.1)
    assert playground.steps == 0 and len(playground.histories["plain"].val_loss) == 1
    assert _same_weights(playground.dropout_net, fresh) and _same_weights(
        playground.plain_net, fresh
    )
    assert np.array_equal(playground.X_train, X_train)
    playground.step(10)
    # the same batches and masks at ten times the rate: the weights move further from the start
    moved = sum(
        np.sum((w - w0) ** 2)
        for w, w0 in zip(playground.dropout_net.parameters(), fresh.parameters())
    )
    moved_slow = sum(np.sum((w - w0) ** 2) for w, w0 in zip(slow, fresh.parameters()))
    assert moved > 10 * moved_slow


@pytest.mark.parametrize("hidden", [(5,), (8, 3, 6), (32, 32, 32)])
def test_new_hidden_sizes_start_a_clean_run_with_twin_weights_and_the_same_data(hidden):
    playground = pg.Playground()
    X_train, y_train = playground.X_train.copy(), playground.y_train.copy()
    playground.step(5)
    rates = (0.2, *[0.5] * len(hidden))
    playground.reset(
        pg.settings_from_controls(
            playground.settings, n_hidden=len(hidden), widths=hidden, rates=rates
        )
    )
    assert playground.settings.layer_sizes == (2, *hidden, 2) and playground.steps == 0
    assert [w.shape for w in playground.dropout_net.weights] == [
        (a, b) for a, b in zip((2, *hidden), (*hidden, 2))
    ]
    assert _same_weights(playground.dropout_net, playground.plain_net)
    assert playground.plain_net.p_drop == (0.0,) * (len(hidden) + 1)
    assert np.array_equal(playground.X_train, X_train) and np.array_equal(
        playground.y_train, y_train
    )
    assert [len(mask) for mask in playground.mask] == [2, *hidden, 2]
    assert all(len(h.val_loss) == 1 for h in playground.histories.values())
    playground.step(3)
    assert playground.steps == 3 and playground.boundary("dropout").shape == (pg.GRID, pg.GRID)


# --- what the drawings need -------------------------------------------------------------------


def test_boundary_covers_the_grid_with_probabilities():
    playground = pg.Playground()
    probs = playground.boundary("dropout")
    assert probs.shape == (pg.GRID, pg.GRID)
    assert np.all((probs >= 0) & (probs <= 1))
    # the top-left pixel is the network's prediction at (-EXTENT, EXTENT)
    corner = playground.dropout_net.predict_proba(np.array([[-pg.EXTENT, pg.EXTENT]]))[0, 1]
    assert probs[0, 0] == pytest.approx(corner)


def test_mc_boundary_averages_thinned_networks_and_leaves_training_alone():
    with pytest.raises(ValueError, match="mc_samples must be an integer >= 0"):
        pg.Settings(mc_samples=-1)
    no_dropout = pg.Playground(p_drop=0.0, mc_samples=10)
    assert np.allclose(no_dropout.boundary("dropout"), no_dropout.boundary("plain"))
    drawn, undrawn = pg.Playground(mc_samples=20), pg.Playground()
    for _ in range(10):
        drawn.step()
        undrawn.step()
        mc = drawn.boundary("dropout")
    assert _same_weights(drawn.dropout_net, undrawn.dropout_net)  # drawing draws no training mask
    scaled = undrawn.boundary("dropout")
    assert np.all((mc >= 0) & (mc <= 1)) and not np.allclose(mc, scaled)
    drawn.set_mc_samples(0)
    assert drawn.steps == 10 and np.array_equal(drawn.boundary("dropout"), scaled)
    assert pg.dropout_title(pg.Settings(mc_samples=30)) == "p_drop 0.2/0.5/0.5, MC 30"


def test_boundary_image_colours_the_likelier_class_by_confidence():
    image = pg.boundary_image(np.array([[0.0, 0.5, 1.0, 0.75]]))
    assert image.shape == (1, 4, 4) and image.dtype == np.uint8
    assert image[0, 1, :3].tolist() == [255, 255, 255] and np.all(image[..., 3] == 255)
    sure0, sure1, unsure1 = image[0, 0, :3], image[0, 2, :3], image[0, 3, :3]
    assert sure0[0] > sure0[2] and sure1[2] > sure1[0]  # orange, blue
    assert np.all(np.abs(255 - unsure1.astype(int)) < np.abs(255 - sure1.astype(int)) + 1)


def test_network_geometry_joins_kept_units_only():
    sizes = (2, 3, 2)
    mask = [np.array([True, True]), np.array([True, False, True]), np.array([True, True])]
    weights = [np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)]
    geometry = pg.network_geometry(sizes, mask, weights)
    assert geometry.units.shape == (7, 2) and geometry.kept.tolist() == [
        True, True, True, False, True, True, True
    ]  # fmt: skip
    assert len(geometry.segments) == 2 * 2 + 2 * 2
    assert sorted(geometry.weights[:4]) == [0.0, 2.0, 3.0, 5.0]  # column 1 is dropped
    assert np.all((geometry.units >= 0) & (geometry.units <= 1))


def test_curve_points_thin_long_curves_and_keep_the_last_point():
    steps, values = pg.curve_points(np.arange(1000.0), max_points=50)
    assert len(steps) <= 50 and steps[-1] == 999 and values[-1] == 999.0
    assert np.array_equal(pg.curve_points([3.0, 2.0])[0], [0, 1])


def test_static_drawing_follows_the_training():
    playground = pg.Playground()
    before = pg.draw_playground(playground)
    assert len(before.axes) == 4
    playground.step(5)
    assert not np.array_equal(figure_pixels(before), figure_pixels(pg.draw_playground(playground)))


# --- Play and Pause ----------------------------------------------------------------------------


def test_play_steps_in_the_background_and_pause_stops_it():
    playground = pg.Playground()
    drawn = []

    async def session():
        player = pg.Player(playground, lambda state: drawn.append(state.steps), fps=50)
        player.play()
        player.play()  # a second Play changes nothing
        assert player.playing
        await asyncio.sleep(0.4)  # the loop is free: this coroutine runs alongside
        player.pause()
        assert not player.playing
        stopped_at = playground.steps
        await asyncio.sleep(0.2)
        return player, stopped_at

    player, stopped_at = asyncio.run(session())
    assert stopped_at >= 3 and playground.steps == stopped_at
    assert drawn == list(range(1, stopped_at + 1)) and player.frames == stopped_at


def test_frames_can_take_several_steps_and_play_needs_a_loop():
    playground = pg.Playground()
    player = pg.Player(playground, lambda state: None, steps_per_frame=3)
    player.frame()
    assert playground.steps == 3 and player.frames == 1
    with pytest.raises(RuntimeError, match="no running event loop"):
        player.play()
    with pytest.raises(ValueError, match="fps must be a finite number > 0"):
        pg.Player(playground, print, fps=0)


def test_an_error_while_playing_stops_the_player_and_is_kept():
    def broken(state):
        raise RuntimeError("cannot draw")

    async def session():
        player = pg.Player(pg.Playground(), broken)
        player.play()
        await asyncio.sleep(0.1)
        return player

    player = asyncio.run(session())
    assert not player.playing and isinstance(player.error, RuntimeError)


# --- what notebook 01 says ---------------------------------------------------------------------


def test_notebook_01_states_the_default_settings():
    text = source("01")
    s = pg.Settings()
    assert "-".join(map(str, s.layer_sizes)) == "2-24-24-2" and "2-24-24-2" in text
    assert f"one mini-batch of {s.batch_size} points" in text
    assert f"a fixed test set of {pg.N_TEST} points" in text
    input_rate, *hidden_rates = s.rates
    assert len(set(hidden_rates)) == 1
    defaults = (
        f"({s.dataset}, noise {s.noise:g}, {s.n_train} training points, `p_drop` {input_rate:g} on "
        f"the inputs and {hidden_rates[0]:g} on both hidden layers)"
    )
    assert defaults in text


def _run(n_steps: int = 1000, **changes) -> dict:
    playground = pg.Playground(**changes)
    playground.step(n_steps)
    return {
        name: {
            "train": float(np.mean(history.train_loss[-100:])),
            "test": float(np.mean(history.val_loss[-100:])),
            "lowest_test": float(np.min(history.val_loss)),
        }
        for name, history in playground.histories.items()
    }


def test_the_things_to_try_in_notebook_01_happen():
    text = source("01")
    # 1. the defaults: without dropout the test loss climbs back up, with dropout it stays lower
    default = _run()
    assert default["plain"]["test"] > default["plain"]["lowest_test"] + 0.1
    assert default["dropout"]["test"] < default["plain"]["test"] - 0.05
    assert default["dropout"]["train"] > default["plain"]["train"]
    # 2. both hidden rates at 0.8, then 0.9: the dropout network underfits
    for rate in (0.8, 0.9):
        assert f"{rate:g}" in re.findall(r"hidden `p_drop` to (0\.\d), then to (0\.\d)", text)[0]
        underfit = _run(p_drop=(0.2, rate, rate))
        assert underfit["dropout"]["train"] > 2 * default["dropout"]["train"] * (rate - 0.3)
        assert underfit["dropout"]["train"] > underfit["plain"]["train"] + 0.2
    # 3. 300 training points: dropout's test loss ends higher than the plain network's
    assert "training-set size to 300" in text
    plenty = _run(n_train=300)
    assert plenty["dropout"]["test"] > plenty["plain"]["test"]
    # 4. clean spirals: dropout only slows learning down
    assert "spirals with noise 0" in text
    spirals = _run(dataset="spirals", noise=0.0)
    assert spirals["dropout"]["train"] > spirals["plain"]["train"] + 0.2
    # 5. hidden layers of 4 units: less overfitting, and dropout costs more than it saves
    assert "shrink both hidden layers to 4 units" in text
    small = _run(hidden=(4, 4))
    assert small["plain"]["test"] < default["plain"]["test"] - 0.05
    assert small["dropout"]["test"] > small["plain"]["test"] + 0.1
    # one hidden layer of 32 units: at lr 0.1 the lowest test loss comes about ten times sooner
    assert "one hidden layer of 32 units and raise the learning" in text and "to 0.1" in text
    assert pg.Settings().lr * 10 == pytest.approx(0.1)
    fast, slow = (
        pg.Playground(hidden=(32,), p_drop=(0.2, 0.5), lr=lr) for lr in (0.1, pg.Settings().lr)
    )
    for playground in (fast, slow):
        playground.step(1000)
    lowest = {
        name: int(np.argmin(playground.histories["plain"].val_loss))
        for name, playground in (("fast", fast), ("slow", slow))
    }
    assert 5 <= lowest["slow"] / lowest["fast"] <= 20
    assert (
        np.mean(fast.histories["plain"].val_loss[-100:])
        > min(fast.histories["plain"].val_loss) + 0.1
    )


def test_gaussian_noise_trains_the_dropout_network_and_drops_no_unit():
    with pytest.raises(ValueError, match="dropout_noise must be 'bernoulli' or 'gaussian'"):
        pg.Settings(dropout_noise="uniform")
    gaussian, masked = pg.Playground(dropout_noise="gaussian"), pg.Playground()
    assert gaussian.dropout_net.noise == "gaussian" and masked.dropout_net.noise == "bernoulli"
    for _ in range(5):
        gaussian.step()
        masked.step()
    assert all(bool(np.all(layer)) for layer in gaussian.mask)
    assert not all(bool(np.all(layer)) for layer in masked.mask)
    assert not _same_weights(gaussian.dropout_net, masked.dropout_net)
    assert _same_weights(gaussian.plain_net, masked.plain_net)  # the plain run is the same
    assert pg.dropout_title(pg.Settings(dropout_noise="gaussian")) == "p_drop 0.2/0.5/0.5, Gaussian"

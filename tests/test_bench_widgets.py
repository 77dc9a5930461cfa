"""The slider latency benchmark (benchmarks/bench_widgets.py) moves sliders as a student would."""

import sys
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from course_lib.lessons.widgets import live_figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_widgets import positions, summary, time_sliders


def test_int_positions_span_the_range_skip_the_current_value_and_stay_whole():
    slider = widgets.IntSlider(value=3, min=1, max=12)
    assert positions(slider, 5) == [1, 5, 8, 10, 12]


def test_log_slider_positions_are_values_not_exponents():
    slider = widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=-0.5, step=0.25)
    values = positions(slider, 4)
    assert len(values) == 4 and 0.05 not in values
    assert all(1e-3 - 1e-12 <= v <= 10**-0.5 + 1e-12 for v in values)
    assert values[0] == pytest.approx(1e-3) and values[-1] == pytest.approx(10**-0.5)


def test_selection_positions_are_its_options():
    slider = widgets.SelectionSlider(options=[0.0, 0.1, 0.3, 0.5], value=0.1)
    assert positions(slider, 3) == [0.0, 0.3, 0.5]


def test_every_move_runs_the_real_callback_and_the_slider_is_put_back():
    drawn = []

    def draw(p_drop, seed):
        drawn.append((p_drop, seed))
        return plt.figure()

    p_drop = widgets.FloatSlider(value=0.5, min=0.0, max=0.9, step=0.1, description="p_drop")
    seed = widgets.IntSlider(value=0, min=0, max=3, description="seed")
    live = live_figure(draw, {"p_drop": p_drop, "seed": seed}, display_now=False)
    records = time_sliders(3, widgets=[p_drop, seed])
    assert [r["slider"] for r in records] == ["p_drop", "seed"]
    assert [len(r["seconds"]) for r in records] == [3, 3]
    assert all(s > 0 for r in records for s in r["seconds"])
    assert (p_drop.value, seed.value) == (0.5, 0)
    assert live.redraws == len(drawn) == 3 + 1 + 3 + 1  # each move, and each putting back
    rows = summary("nb", records)
    assert [row[1] for row in rows] == ["p_drop (FloatSlider)", "seed (IntSlider)"]
    assert all(row[5] == 3 and row[2] > 0 for row in rows)
    assert all(len(r["cpu_seconds"]) == 3 for r in records)
    assert all(row[6] >= 0 for row in rows)


def test_the_verdict_compares_a_p95_with_the_target():
    from bench_widgets import TARGET_P95_MS, verdict

    assert TARGET_P95_MS == 150.0
    assert verdict(150.0) == "meets" and verdict(149.0) == "meets"
    assert verdict(150.5) == "MISSES"

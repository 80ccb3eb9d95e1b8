"""Tests of nnbook.timing with a fake clock: which round counts, how calls are grouped, what is returned."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import timing

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "best_time": lambda: {"func": tuple, "repeat": 2, "min_time": 1e-3},
    "time_pair": lambda: {"f": tuple, "g": list, "repeat": 2, "min_time": 1e-3},
    "compare": lambda: {"case": "tuple vs list", "naive": tuple, "fast": list, "repeat": 1},
}


class FakeClock:
    """A clock that only moves when a timed function says it took some time."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def costing(clock, durations):
    """A function whose successive calls take ``durations`` seconds on ``clock``."""
    steps = iter(durations)

    def func():
        clock.now += next(steps)

    return func


def test_best_time_returns_the_fastest_round(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "_clock", clock)
    # warm-up 9 s, calibration 1 s (one call is long enough), then three rounds of one call each
    func = costing(clock, [9.0, 1.0, 0.7, 0.6, 0.9])
    assert timing.best_time(func, repeat=3, min_time=0.5) == pytest.approx(0.6, rel=1e-12)


def test_best_time_doubles_the_calls_until_a_round_is_long_enough(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "_clock", clock)
    calls = []

    def func():
        calls.append(1)
        clock.now += 0.1 if len(calls) < 9 else 0.05  # the timed rounds are faster

    # warm-up 1 call; calibration 1 + 2 + 4 calls (0.4 s >= 0.35 s); two rounds of 4 calls
    assert timing.best_time(func, repeat=2, min_time=0.35) == pytest.approx(0.05, rel=1e-12)
    assert len(calls) == 1 + 7 + 2 * 4


def test_time_pair_interleaves_rounds(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing, "_clock", clock)
    order = []

    def f():
        order.append("f")
        clock.now += 1.0

    g_costs = iter([5.0, 5.0, 2.0, 3.0, 4.0])  # warm-up, calibration, then one per round

    def g():
        order.append("g")
        clock.now += next(g_costs)

    t_f, t_g = timing.time_pair(f, g, repeat=3, min_time=0.5)
    np.testing.assert_allclose(t_f, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(t_g, [2.0, 3.0, 4.0])
    assert order == ["f", "f", "g", "g"] + ["f", "g"] * 3


def test_compare_returns_the_ratio_and_prints_it(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(timing, "_clock", clock)
    naive, fast = costing(clock, [0.3] * 10), costing(clock, [0.1] * 10)
    assert timing.compare("case", naive, fast, repeat=2) == pytest.approx(3.0, rel=1e-12)
    assert "ratio" in capsys.readouterr().out


def test_real_clock_measures_something():
    seconds = timing.best_time(lambda: sum(range(1000)), repeat=2, min_time=1e-3)
    assert 0 < seconds < 0.1


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda: timing.best_time(3), TypeError, "func"),
        (lambda: timing.best_time(print, repeat=0), ValueError, "repeat"),
        (lambda: timing.best_time(print, repeat=True), TypeError, "repeat"),
        (lambda: timing.best_time(print, min_time=0.0), ValueError, "min_time"),
        (lambda: timing.best_time(print, min_time=float("nan")), ValueError, "min_time"),
        (lambda: timing.time_pair(print, None), TypeError, "g"),
        (lambda: timing.time_pair(print, print, repeat=timing.MAX_REPEAT + 1), ValueError, "repeat"),
        (lambda: timing.compare(1, print, print), TypeError, "case"),
    ],
)
def test_bad_inputs_name_the_argument(call, exc, name):
    with pytest.raises(exc, match=name):
        call()

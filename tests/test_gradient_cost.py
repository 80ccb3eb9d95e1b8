"""Tests of nnbook.gradient_cost: counted operations and timed rounds of a reverse-mode gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import compgraph
from nnbook import gradient_cost as gc

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
VALID_CALLS = {
    "reverse_mode_cost": lambda: {"widths": [4], "depth": 1, "batch": 2, "repeat": 1, "seed": 0, "threads": 1},
}


def test_reverse_mode_cost_counts_and_ratio():
    cost = gc.reverse_mode_cost([4, 8], depth=2, batch=3, repeat=1, seed=0)
    widths = np.array([4, 8])
    np.testing.assert_array_equal(cost.n_params, 2 * widths**2 + widths)
    np.testing.assert_array_equal(cost.forward_flops, 2 * 3 * (2 * widths**2 + widths))
    # backward: every weight gradient, plus the input gradients of all layers but the first
    np.testing.assert_array_equal(cost.backward_flops, 2 * 3 * (2 * widths**2 + widths) + 2 * 3 * (widths**2 + widths))
    assert ((cost.backward_flops <= 2 * cost.forward_flops) & (cost.forward_time > 0)).all()
    assert cost.time_ratio.shape == (2,) and (cost.time_ratio > 0).all()


def test_reverse_mode_cost_restores_thread_count():
    before = torch.get_num_threads()
    gc.reverse_mode_cost([4], depth=1, batch=2, repeat=1, threads=1)
    assert torch.get_num_threads() == before


def test_flop_count_matches_the_shapes_of_the_products():
    """FlopCounterMode as the oracle's source, checked against 2 * m * k * n per product by hand."""
    cost = gc.reverse_mode_cost([6], depth=1, batch=5, repeat=1)
    # forward: (5 x 6)(6 x 6) and (5 x 6)(6 x 1); backward: both weight gradients and one input gradient
    assert cost.forward_flops[0] == 2 * 5 * 6 * 6 + 2 * 5 * 6 * 1
    assert cost.backward_flops[0] == 2 * 5 * 6 * 6 + 2 * 5 * 6 * 1 + 2 * 5 * 1 * 6


def test_reverse_mode_cost_same_seed_same_counts():
    a = gc.reverse_mode_cost([5], depth=1, batch=2, repeat=1, seed=3)
    b = gc.reverse_mode_cost([5], depth=1, batch=2, repeat=1, seed=3)
    assert (a.n_params, a.forward_flops, a.backward_flops) == (b.n_params, b.forward_flops, b.backward_flops)


def test_reverse_mode_cost_bad_inputs_name_the_argument():
    for kwargs, exc, name in (
        ({"depth": 0}, ValueError, "depth"),
        ({"depth": gc.MAX_DEPTH + 1}, ValueError, "depth"),
        ({"batch": -1}, ValueError, "batch"),
        ({"repeat": 1.5}, TypeError, "repeat"),
        ({"threads": 0}, ValueError, "threads"),
        ({"seed": -1}, ValueError, "seed"),
    ):
        with pytest.raises(exc, match=name):
            gc.reverse_mode_cost([4], **kwargs)
    with pytest.raises(ValueError, match="limit"):
        gc.reverse_mode_cost([4096] * 5, depth=3, batch=4096)
    with pytest.raises(ValueError, match="widths"):
        gc.reverse_mode_cost([0])
    with pytest.raises(ValueError, match="widths"):
        gc.reverse_mode_cost([])
    with pytest.raises(ValueError, match="widths"):
        gc.reverse_mode_cost([gc.MAX_WIDTH + 1])


def test_reverse_mode_cost_times_are_the_best_rounds_and_the_ratio_their_median(monkeypatch):
    """Oracle: fixed round times in place of the clock; best forward, best gradient, median of round ratios."""
    rounds = iter(
        [(np.array([1.0, 2.0, 4.0]), np.array([3.0, 3.0, 3.0])), (np.array([2.0, 2.0]), np.array([9.0, 1.0]))]
    )
    monkeypatch.setattr(gc, "time_pair", lambda f, g, repeat: next(rounds))
    cost = gc.reverse_mode_cost([3, 4], depth=1, batch=2, repeat=3)
    np.testing.assert_array_equal(cost.forward_time, [1.0, 2.0])
    np.testing.assert_array_equal(cost.gradient_time, [3.0, 1.0])
    np.testing.assert_array_equal(cost.time_ratio, [1.5, 2.5])  # medians of (3, 1.5, 0.75) and (4.5, 0.5)


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.compgraph are still importable from it, as the same objects."""
    from nnbook.compgraph import Cost, reverse_mode_cost

    assert Cost is gc.Cost and reverse_mode_cost is gc.reverse_mode_cost
    for name in ("MAX_WIDTH", "MAX_DEPTH", "MAX_BATCH", "MAX_REPEAT", "MAX_THREADS", "MAX_COST_ELEMENTS"):
        assert getattr(compgraph, name) is getattr(gc, name)

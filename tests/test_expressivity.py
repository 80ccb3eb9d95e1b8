"""Tests of nnbook.expressivity: exact piece counts, against grid estimates and dense activation patterns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nets import random_net
from torch import nn

from nnbook import expressivity, regions
from nnbook.sawtooth import sawtooth_network

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "piecewise_linear": lambda: {"model": sawtooth_network(2), "lo": -2.0, "hi": 2.0, "rtol": 1e-9},
    "count_linear_pieces": lambda: {"model": sawtooth_network(2), "lo": -2.0, "hi": 2.0, "rtol": 1e-9},
    "segment_network": lambda: {"model": random_net(0, 2, 3, n_in=2), "start": np.zeros(2), "end": np.ones(2)},
}


def forward(net: nn.Sequential, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net.double()(torch.from_numpy(np.asarray(x, dtype=np.float64))[:, None])[:, 0].numpy()


def set_params(layer: nn.Linear, weight, bias) -> nn.Linear:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=layer.weight.dtype))
        layer.bias.copy_(torch.tensor(bias, dtype=layer.bias.dtype))
    return layer


# --- the exact counter -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 5, 8, 12, 16, 20])
def test_sawtooth_has_2_to_the_L_pieces(depth):
    assert expressivity.count_linear_pieces(sawtooth_network(depth), -2.0, 2.0) == 2**depth


def test_sawtooth_breakpoints_are_the_dyadic_grid():
    f = expressivity.piecewise_linear(sawtooth_network(6), -2.0, 2.0)
    np.testing.assert_allclose(f.breakpoints, np.linspace(-2, 2, 2**6 + 1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.abs(f.slopes), 2.0**6, rtol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_pieces_reproduce_the_network(seed):
    rng = np.random.default_rng(seed)
    net = random_net(seed, depth=int(rng.integers(1, 4)), width=int(rng.integers(2, 7)))
    f = expressivity.piecewise_linear(net, -3.0, 3.0)
    x = rng.uniform(-3, 3, 2000)
    np.testing.assert_allclose(f(x), forward(net, x), rtol=1e-10, atol=1e-10)
    # every reported breakpoint is a genuine kink: the slopes on either side differ
    assert np.all(np.abs(np.diff(f.slopes)) > 1e-9 * np.abs(f.slopes).max())
    # and the network is affine between breakpoints: values at midpoints interpolate the ends
    mid = 0.5 * (f.breakpoints[:-1] + f.breakpoints[1:])
    ends = forward(net, f.breakpoints)
    np.testing.assert_allclose(forward(net, mid), 0.5 * (ends[:-1] + ends[1:]), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_exact_count_against_a_dense_grid(seed):
    rng = np.random.default_rng(100 + seed)
    net = random_net(100 + seed, depth=int(rng.integers(1, 4)), width=int(rng.integers(2, 9)))
    exact = expressivity.piecewise_linear(net, -3.0, 3.0)
    n = 200_001
    grid = regions.count_pieces_on_grid(net, -3.0, 3.0, num_points=n)
    assert grid <= exact.num_pieces
    if np.diff(exact.breakpoints).min() > 4 * 6.0 / (n - 1):  # all pieces span several cells
        assert grid == exact.num_pieces


def test_grid_misses_pieces_of_a_deep_sawtooth():
    net = sawtooth_network(10)  # pieces of width 4 / 1024, about 1 cell of a 1001-point grid
    assert regions.count_pieces_on_grid(net, -2.0, 2.0, num_points=1001) < 2**10
    assert regions.count_pieces_on_grid(net, -2.0, 2.0, num_points=100_001) == 2**10


def test_linear_function_with_switching_units_is_one_piece():
    # relu(x) - relu(-x) = x: both units switch at 0, but the network is linear
    net = nn.Sequential(
        set_params(nn.Linear(1, 2), [[1.0], [-1.0]], [0.0, 0.0]),
        nn.ReLU(),
        set_params(nn.Linear(2, 1), [[1.0, -1.0]], [0.0]),
    )
    assert expressivity.count_linear_pieces(net, -1.0, 1.0) == 1
    f = expressivity.piecewise_linear(net, -1.0, 1.0)
    np.testing.assert_allclose(f.slopes, [1.0], rtol=1e-12)


def test_kink_hidden_by_a_dead_layer_is_not_counted():
    # first layer kinks at x = 0.5, but the second layer's unit is off for all x in [-1, 1]
    net = nn.Sequential(
        set_params(nn.Linear(1, 1), [[1.0]], [-0.5]),
        nn.ReLU(),
        set_params(nn.Linear(1, 1), [[1.0]], [-10.0]),
        nn.ReLU(),
        set_params(nn.Linear(1, 1), [[3.0]], [1.0]),
    )
    assert expressivity.count_linear_pieces(net, -1.0, 1.0) == 1


def test_small_units_keep_their_kinks_next_to_large_ones():
    # unit 1 has slope 1e6 and no kink on [-3, 3]; unit 2 has slope 1e-4 and a kink at 0 that the output amplifies.
    # A tolerance relative to the largest slope of the whole layer would merge unit 2's kink away.
    net = nn.Sequential(
        set_params(nn.Linear(1, 2), [[1e6], [1e-4]], [1e7, 0.0]),
        nn.ReLU(),
        set_params(nn.Linear(2, 1), [[0.0, 1e8]], [0.0]),
    ).double()
    f = expressivity.piecewise_linear(net, -3.0, 3.0)
    np.testing.assert_allclose(f.breakpoints, [-3.0, 0.0, 3.0], atol=1e-12)
    np.testing.assert_allclose(f.slopes, [0.0, 1e4], rtol=1e-6)  # weights were float32


def test_units_with_a_common_zero_make_one_breakpoint():
    net = nn.Sequential(
        set_params(nn.Linear(1, 3), [[1.0], [2.0], [-1.0]], [0.0, 0.0, 0.0]),
        nn.ReLU(),
        set_params(nn.Linear(3, 1), [[1.0, 1.0, 1.0]], [0.0]),
    )
    f = expressivity.piecewise_linear(net, -1.0, 1.0)
    np.testing.assert_allclose(f.breakpoints, [-1.0, 0.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(f.slopes, [-1.0, 3.0])


def test_interval_restricts_the_count():
    net = sawtooth_network(4)  # breakpoints at multiples of 0.25
    assert expressivity.count_linear_pieces(net, -2.0, 0.0) == 8
    assert expressivity.count_linear_pieces(net, 0.1, 0.2) == 1


def test_nested_sequential_identity_and_dtypes_are_accepted():
    net = sawtooth_network(5)
    nested = nn.Sequential(nn.Identity(), nn.Sequential(*net[:4]), nn.Sequential(*net[4:]))
    assert expressivity.count_linear_pieces(nested, -2.0, 2.0) == 32
    assert expressivity.count_linear_pieces(net.double(), -2.0, 2.0) == 32
    assert expressivity.count_linear_pieces(nn.Sequential(), -2.0, 2.0) == 1


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"model": nn.Linear(1, 1)}, TypeError, "model"),
        ({"model": nn.Sequential(nn.Linear(1, 2), nn.Tanh(), nn.Linear(2, 1))}, TypeError, "model"),
        ({"model": nn.Sequential(nn.Linear(2, 1))}, ValueError, "model"),
        ({"model": nn.Sequential(nn.Linear(1, 2))}, ValueError, "model"),
        ({"lo": 1.0, "hi": 1.0}, ValueError, "hi"),
        ({"lo": float("nan")}, ValueError, "lo"),
        ({"hi": float("inf")}, ValueError, "hi"),
        ({"lo": "0"}, TypeError, "lo"),
        ({"lo": 1j}, TypeError, "lo"),
        ({"rtol": -1.0}, ValueError, "rtol"),
        ({"rtol": 1.0}, ValueError, "rtol"),
    ],
)
def test_piecewise_linear_rejects_bad_input(kwargs, exc, match):
    args = {"model": sawtooth_network(2), "lo": -2.0, "hi": 2.0, **kwargs}
    with pytest.raises(exc, match=match):
        expressivity.count_linear_pieces(**args)


def test_non_finite_weights_are_refused():
    net = sawtooth_network(3)
    with torch.no_grad():
        net[2].weight[0, 1] = float("nan")
    with pytest.raises(ValueError, match="model"):
        expressivity.count_linear_pieces(net, -2.0, 2.0)
    with pytest.raises(ValueError, match="model"):
        expressivity.segment_network(net, np.array([0.0]), np.array([1.0]))


def test_too_many_pieces_fail_before_allocating():
    with pytest.raises(ValueError, match="limit"):
        expressivity.count_linear_pieces(sawtooth_network(23), -2.0, 2.0)


# --- length-weighted pieces and segments ---------------------------------------------------------------------------


def test_widths_and_pieces_wider_than_a_minimum():
    f = expressivity.PiecewiseLinear(
        breakpoints=np.array([0.0, 1.0, 1.001, 3.0]), slopes=np.zeros(3), intercepts=np.zeros(3)
    )
    np.testing.assert_allclose(f.widths, [1.0, 0.001, 1.999])
    assert [f.count_wider_than(w) for w in (0.0, 0.01, 1.0, 2.0)] == [3, 2, 1, 0]
    with pytest.raises(ValueError, match="min_width"):
        f.count_wider_than(-1.0)


@pytest.mark.parametrize("seed", range(6))
def test_segment_network_is_the_restriction_to_the_segment(seed):
    rng = np.random.default_rng(seed)
    net = random_net(seed, depth=3, width=5, n_in=3)
    start, end = rng.standard_normal(3), rng.standard_normal(3)
    line = expressivity.segment_network(net, start, end)
    t = rng.uniform(0, 1, 200)
    with torch.no_grad():
        direct = net(torch.from_numpy(start + t[:, None] * (end - start))).numpy()[:, 0]
        along = line(torch.from_numpy(t)[:, None]).numpy()[:, 0]
    np.testing.assert_allclose(along, direct, rtol=1e-12, atol=1e-12)
    # its breakpoints are where the activation pattern along the segment changes (oracle: dense patterns)
    f = expressivity.piecewise_linear(line, 0.0, 1.0)
    ts = np.linspace(0, 1, 200_001)
    patterns = regions.activation_patterns(net, start + ts[:, None] * (end - start))
    changes = np.flatnonzero((patterns[1:] != patterns[:-1]).any(axis=1))
    assert f.num_pieces <= len(changes) + 1
    for b in f.breakpoints[1:-1]:  # every kink sits at a pattern change
        assert np.min(np.abs(ts[changes] - b)) < 2e-5


def test_segment_network_rejects_bad_input():
    net = random_net(0, 2, 3, n_in=2)
    with pytest.raises(ValueError, match="start"):
        expressivity.segment_network(net, np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match="distinct"):
        expressivity.segment_network(net, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="end"):
        expressivity.segment_network(net, np.zeros(2), np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="model"):
        expressivity.segment_network("net", np.zeros(2), np.ones(2))

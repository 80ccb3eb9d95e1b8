"""Tests of nnbook.regions: grid estimates of pieces and activation regions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nets import random_net
from torch import nn

from nnbook import regions
from nnbook.region_bounds import max_regions_one_layer
from nnbook.sawtooth import sawtooth_network

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "count_pieces_on_grid": lambda: {"model": sawtooth_network(2), "lo": -2.0, "hi": 2.0, "num_points": 101},
    "activation_patterns": lambda: {"model": random_net(0, 2, 3, n_in=2), "X": np.zeros((4, 2))},
    "regions_on_grid": lambda: {"model": random_net(0, 2, 3, n_in=2), "lo": -1.0, "hi": 1.0, "resolution": 20},
    "pattern_labels": lambda: {"patterns": np.array([[True, False], [False, False]])},
    "region_boundaries": lambda: {"labels": np.array([[0, 1], [0, 1]])},
    "near_data": lambda: {"xs": np.linspace(-1, 1, 5), "points": np.zeros((2, 2)), "radius": 0.5},
    "boundary_density": lambda: {
        "grid": regions.regions_on_grid(random_net(0, 1, 3, n_in=2), -1.0, 1.0, 20),
        "points": np.zeros((3, 2)),
        "radius": 0.3,
    },
}


def set_params(layer: nn.Linear, weight, bias) -> nn.Linear:
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight, dtype=layer.weight.dtype))
        layer.bias.copy_(torch.tensor(bias, dtype=layer.bias.dtype))
    return layer


def test_grid_counter_sees_a_single_kink():
    net = nn.Sequential(set_params(nn.Linear(1, 1), [[1.0]], [0.3]), nn.ReLU())
    assert regions.count_pieces_on_grid(net, -1.0, 1.0, num_points=1001) == 2
    assert regions.count_pieces_on_grid(net, 0.0, 1.0, num_points=1001) == 1


def test_grid_counter_rejects_bad_input():
    with pytest.raises(ValueError, match="num_points"):
        regions.count_pieces_on_grid(sawtooth_network(2), -2.0, 2.0, num_points=2)
    with pytest.raises(ValueError, match="rtol"):
        regions.count_pieces_on_grid(sawtooth_network(2), -2.0, 2.0, rtol=-1.0)
    with pytest.raises(ValueError, match="hi"):
        regions.count_pieces_on_grid(sawtooth_network(2), 2.0, -2.0)
    with pytest.raises(ValueError, match="model"):
        regions.count_pieces_on_grid(nn.Sequential(nn.Linear(1, 2)), -2.0, 2.0)
    with pytest.raises(TypeError, match="num_points"):
        regions.count_pieces_on_grid(sawtooth_network(2), -2.0, 2.0, num_points=100.0)
    with pytest.raises(ValueError, match="model"):
        regions.count_pieces_on_grid(nn.Sequential(nn.Linear(2, 1)), -2.0, 2.0)
    with pytest.raises(TypeError, match="model"):
        regions.count_pieces_on_grid(nn.Sequential(nn.Linear(1, 1), nn.Sigmoid()), -2.0, 2.0)


def test_activation_patterns_of_one_layer_are_half_planes():
    net = random_net(3, depth=1, width=5, n_in=2)
    X = np.random.default_rng(0).uniform(-2, 2, (500, 2))
    W, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    np.testing.assert_array_equal(regions.activation_patterns(net, X), X @ W.T + b > 0)


def test_activation_patterns_stack_the_layers():
    net = random_net(4, depth=3, width=4, n_in=2)
    X = np.random.default_rng(1).uniform(-2, 2, (50, 2))
    pat = regions.activation_patterns(net, X)
    assert pat.shape == (50, 12) and pat.dtype == bool
    with torch.no_grad():
        h1 = net[:2](torch.from_numpy(X))
        second = (net[2](h1) > 0).numpy()
    np.testing.assert_array_equal(pat[:, 4:8], second)


def test_regions_of_two_axis_lines_are_quadrants():
    net = nn.Sequential(set_params(nn.Linear(2, 2), [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]), nn.ReLU())
    grid = regions.regions_on_grid(net, -1.0, 1.0, resolution=20)
    assert grid.num_regions == 4
    assert grid.labels.shape == (20, 20)
    np.testing.assert_array_equal(grid.xs, np.linspace(-1.0, 1.0, 20))
    assert sorted(np.unique(grid.labels).tolist()) == [0, 1, 2, 3]
    # row index is the second coordinate: bottom-left and top-right quadrants differ
    assert grid.labels[0, 0] != grid.labels[-1, -1] and grid.labels[0, -1] != grid.labels[-1, 0]


def test_grid_regions_never_exceed_the_bound():
    for seed in range(5):
        net = random_net(seed, depth=1, width=6, n_in=2)
        assert regions.regions_on_grid(net, -30.0, 30.0, resolution=300).num_regions <= max_regions_one_layer(2, 6)


def test_pattern_labels_match_numpy_unique():
    rng = np.random.default_rng(0)
    for units in (1, 7, 8, 9, 64, 65, 130):
        pat = rng.random((3000, units)) < 0.5
        pat[:, : max(units - 6, 0)] = False
        _, ref = np.unique(np.packbits(pat, axis=1), axis=0, return_inverse=True)
        np.testing.assert_array_equal(regions.pattern_labels(pat), ref.ravel())


def test_region_helpers_reject_bad_input():
    net = random_net(0, depth=1, width=3, n_in=2)
    with pytest.raises(ValueError, match="resolution"):
        regions.regions_on_grid(net, resolution=1)
    with pytest.raises(ValueError, match="hi"):
        regions.regions_on_grid(net, 1.0, -1.0)
    with pytest.raises(ValueError, match="X"):
        regions.activation_patterns(net, np.zeros(4))
    with pytest.raises(ValueError, match="X"):
        regions.activation_patterns(net, np.zeros((4, 3)))
    with pytest.raises(TypeError, match="patterns"):
        regions.pattern_labels(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="patterns"):
        regions.pattern_labels(np.zeros((0, 2), dtype=bool))
    with pytest.raises(ValueError, match="resolution"):
        regions.regions_on_grid(net, resolution=10**5)
    with pytest.raises(ValueError, match="limit"):
        regions.activation_patterns(random_net(0, depth=4, width=1000, n_in=2), np.zeros((10**5, 2)))
    with pytest.raises(ValueError, match="num_points"):
        regions.count_pieces_on_grid(sawtooth_network(2), -2.0, 2.0, num_points=10**9)
    bad = random_net(0, depth=1, width=3, n_in=2)
    with torch.no_grad():
        bad[0].bias[1] = float("nan")
    with pytest.raises(ValueError, match="model"):
        regions.regions_on_grid(bad)


def test_region_boundaries_mark_label_changes():
    labels = np.array([[0, 0, 1], [2, 2, 1], [2, 2, 1]])
    # oracle: compare each point with its right and upper neighbours by hand
    expected = np.zeros((3, 3), dtype=bool)
    for i in range(3):
        for j in range(3):
            right = j + 1 < 3 and labels[i, j + 1] != labels[i, j]
            up = i + 1 < 3 and labels[i + 1, j] != labels[i, j]
            expected[i, j] = right or up
    np.testing.assert_array_equal(regions.region_boundaries(labels), expected)
    assert not regions.region_boundaries(np.zeros((4, 4), dtype=int)).any()


def test_boundary_density_near_and_far():
    # one vertical line x = 0 (a single ReLU): boundary points form one column of the grid
    net = nn.Sequential(set_params(nn.Linear(2, 1), [[1.0, 0.0]], [0.0]), nn.ReLU())
    grid = regions.regions_on_grid(net, -1.0, 1.0, resolution=101)
    near_line = np.column_stack([np.zeros(50), np.linspace(-1, 1, 50)])
    density = regions.boundary_density(grid, near_line, radius=0.05)
    # oracle: count by hand, from distances to the data and the boundary column
    gx, gy = np.meshgrid(grid.xs, grid.xs)
    distance = np.min(np.hypot(gx.ravel()[:, None] - near_line[:, 0], gy.ravel()[:, None] - near_line[:, 1]), axis=1)
    near = (distance <= 0.05).reshape(gx.shape)
    edge = regions.region_boundaries(grid.labels)
    assert density.near == pytest.approx(edge[near].mean(), rel=1e-12)
    assert density.far == pytest.approx(edge[~near].mean(), rel=1e-12)
    assert density.near_fraction == pytest.approx(near.mean(), rel=1e-12)
    assert density.far == 0.0 and density.near > 0 and density.ratio == float("inf")
    with pytest.raises(ValueError, match="radius"):
        regions.boundary_density(grid, near_line, radius=10.0)
    with pytest.raises(TypeError, match="grid"):
        regions.boundary_density(grid.labels, near_line, radius=0.1)


def test_near_data_against_brute_force_distances():
    rng = np.random.default_rng(3)
    xs, points = np.linspace(-1, 1, 23), rng.uniform(-1, 1, (40, 2))
    gx, gy = np.meshgrid(xs, xs)
    distance = np.hypot(gx[..., None] - points[:, 0], gy[..., None] - points[:, 1]).min(axis=-1)
    np.testing.assert_array_equal(regions.near_data(xs, points, 0.15), distance <= 0.15)
    with pytest.raises(ValueError, match="xs"):
        regions.near_data(np.zeros(regions.MAX_RESOLUTION + 1), points, 0.1)

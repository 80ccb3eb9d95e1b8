"""Tests of nnbook.regions: grid estimates of pieces and activation regions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nets import random_net
from torch import nn

from nnbook import regions
from nnbook.expressivity import max_regions_one_layer
from nnbook.sawtooth import sawtooth_network


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
    with pytest.raises(ValueError, match="patterns"):
        regions.pattern_labels(np.zeros((3, 2)))

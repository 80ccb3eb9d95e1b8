"""Tests of nnbook.training_diagnostics: dead units, their training hook, batch-norm offsets, distance travelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import deep_mlp, training_diagnostics
from nnbook.training import TrainConfig, train

_PROBE = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))

VALID_CALLS = {
    "dead_units": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2), "X_probe": _PROBE},
    "dead_unit_hook": lambda: {"X_probe": _PROBE},
    "batchnorm_offsets": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2, batch_norm=True)},
    "parameter_distance_hook": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2)},
}


def test_dead_units_against_a_direct_forward_pass():
    net = deep_mlp.mlp(width=8, n_hidden=3, seed=1)
    with torch.no_grad():
        net[2].bias[:3] = -50.0  # three units of the second layer never fire
    dead = training_diagnostics.dead_units(net, _PROBE)
    h = torch.as_tensor(_PROBE, dtype=torch.float32)
    expected = []
    with torch.no_grad():
        for module in net:
            h = module(h)
            if isinstance(module, nn.ReLU):
                expected.append((h <= 0).all(dim=0).numpy())
    for got, want in zip(dead, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert dead[1][:3].all()


def test_batch_statistics_versus_running_statistics():
    net = deep_mlp.mlp(width=8, n_hidden=2, batch_norm=True, seed=0)
    with torch.no_grad():
        net[0].bias.fill_(-100.0)  # pre-activations far below zero: dead with running statistics (0, 1) ...
    running_before = net[1].running_mean.clone()
    assert training_diagnostics.dead_units(net, _PROBE, batch_statistics=False)[0].all()
    # ... but batch norm with the probe's own statistics re-centres them, so some units fire
    assert not training_diagnostics.dead_units(net, _PROBE, batch_statistics=True)[0].all()
    assert torch.equal(net[1].running_mean, running_before)  # the copy ran, not the model
    net.train()
    training_diagnostics.dead_units(net, _PROBE)
    assert net.training


def test_hook_reports_fractions_and_runs_inside_training():
    task = deep_mlp.regions(n_train=200, n_val=100, n_test=10, rng=0)
    net = deep_mlp.mlp(width=8, n_hidden=2, seed=0)
    hooks = (training_diagnostics.dead_unit_hook(task.X_val), training_diagnostics.parameter_distance_hook(net))
    config = TrainConfig(lr=0.05, epochs=2, batch_size=50, device="cpu")
    history = train(net, config, (task.X_train, task.y_train), hooks=hooks)
    m = history.measurements
    assert set(m) == {"dead_layer1", "dead_layer2", "dead_all", "relative_distance"}
    assert m["relative_distance"][0] == 0 and m["relative_distance"][-1] > 0
    dead = training_diagnostics.dead_units(net, task.X_val)
    assert m["dead_all"][-1] == pytest.approx(np.concatenate(dead).mean())


def test_parameter_distance_by_hand():
    net = deep_mlp.mlp(width=3, n_hidden=1, seed=0)
    hook = training_diagnostics.parameter_distance_hook(net)
    theta0 = torch.cat([p.detach().flatten() for p in net.parameters()])
    with torch.no_grad():
        net[0].weight.add_(0.5)
    theta = torch.cat([p.detach().flatten() for p in net.parameters()])
    expected = float(torch.linalg.norm(theta - theta0) / torch.linalg.norm(theta0))
    assert hook(net, 1)["relative_distance"] == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="model"):
        hook(deep_mlp.mlp(width=4, n_hidden=1), 1)


def test_batchnorm_offsets():
    net = deep_mlp.mlp(width=3, n_hidden=2, batch_norm=True)
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([2.0, -4.0, 1.0]))
        net[1].bias.copy_(torch.tensor([-6.0, 2.0, 0.5]))
    np.testing.assert_allclose(training_diagnostics.batchnorm_offsets(net)[0], [-3.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="model"):
        training_diagnostics.batchnorm_offsets(deep_mlp.mlp(width=3, n_hidden=1))


def test_dead_units_needs_a_relu():
    with pytest.raises(ValueError, match="ReLU"):
        training_diagnostics.dead_units(nn.Linear(2, 2), _PROBE)


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.deep_mlp are still importable from it, as the same objects."""
    from nnbook.deep_mlp import MAX_PROBE, batchnorm_offsets, dead_unit_hook, dead_units, parameter_distance_hook

    assert dead_units is training_diagnostics.dead_units and dead_unit_hook is training_diagnostics.dead_unit_hook
    assert batchnorm_offsets is training_diagnostics.batchnorm_offsets
    assert parameter_distance_hook is training_diagnostics.parameter_distance_hook
    assert MAX_PROBE is training_diagnostics.MAX_PROBE

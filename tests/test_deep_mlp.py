"""Tests of nnbook.deep_mlp: the regions task, the network, dead units, offsets, distances and decision grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import deep_mlp
from nnbook.training import TrainConfig, predict, train

_PROBE = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))

VALID_CALLS = {
    "regions": lambda: {"n_train": 30, "n_val": 10, "n_test": 10, "rng": 0},
    "constant_prediction_loss": lambda: {"y": np.array([0, 1, 1, 2]), "n_classes": 3},
    "mlp": lambda: {"width": 4, "n_hidden": 2},
    "dead_units": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2), "X_probe": _PROBE},
    "dead_unit_hook": lambda: {"X_probe": _PROBE},
    "batchnorm_offsets": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2, batch_norm=True)},
    "parameter_distance_hook": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2)},
    "predict_grid": lambda: {"model": deep_mlp.mlp(width=4, n_hidden=2), "resolution": 5},
}


def test_regions_sizes_labels_and_seed():
    task = deep_mlp.regions(n_train=500, n_val=100, n_test=200, n_classes=3, n_regions=9, rng=1)
    assert task.X_train.shape == (500, 2) and task.X_val.shape == (100, 2) and task.y_test.shape == (200,)
    assert task.y_train.dtype == np.int64 and set(np.unique(task.y_train)) == {0, 1, 2}
    assert np.all(np.abs(task.X_train) <= 1)
    again = deep_mlp.regions(n_train=500, n_val=100, n_test=200, n_classes=3, n_regions=9, rng=1)
    np.testing.assert_array_equal(task.X_test, again.X_test)
    np.testing.assert_array_equal(task.y_train, again.y_train)


def test_label_noise_rate():
    clean = deep_mlp.regions(n_train=20_000, n_val=1, n_test=1, label_noise=0.0, rng=2)
    noisy = deep_mlp.regions(n_train=20_000, n_val=1, n_test=1, label_noise=0.2, rng=2)
    np.testing.assert_array_equal(clean.X_train, noisy.X_train)  # the noise is drawn after the points
    # a noisy label is a uniformly random class: it differs from the clean one with probability 0.2 * 3/4
    changed = np.mean(clean.y_train != noisy.y_train)
    assert changed == pytest.approx(0.2 * 3 / 4, abs=0.015)


def test_constant_prediction_loss_is_the_best_constant_cross_entropy():
    y = np.array([0, 0, 0, 1, 2, 2])
    logits = torch.zeros(3, requires_grad=True)
    optimiser = torch.optim.LBFGS([logits], max_iter=200)

    def closure():
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(logits.expand(6, 3), torch.as_tensor(y))
        loss.backward()
        return loss

    optimiser.step(closure)
    best = float(nn.functional.cross_entropy(logits.detach().expand(6, 3), torch.as_tensor(y)))
    assert deep_mlp.constant_prediction_loss(y, 3) == pytest.approx(best, rel=1e-6)


def test_mlp_architecture_and_initialisation():
    net = deep_mlp.mlp(n_inputs=2, n_classes=4, width=16, n_hidden=6, batch_norm=True, seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert len(linears) == 7 and sum(isinstance(m, nn.BatchNorm1d) for m in net) == 6
    assert sum(isinstance(m, nn.ReLU) for m in net) == 6
    assert [type(m).__name__ for m in net[:3]] == ["Linear", "BatchNorm1d", "ReLU"]
    wide = deep_mlp.mlp(n_inputs=400, width=400, n_hidden=1, init="he", seed=0)
    assert float(wide[0].weight.detach().std()) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert torch.count_nonzero(wide[0].bias) == 0


def test_mlp_is_seeded_without_touching_the_global_generator():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = deep_mlp.mlp(seed=5)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert torch.equal(a[0].weight, deep_mlp.mlp(seed=5)[0].weight)
    assert not torch.equal(a[0].weight, deep_mlp.mlp(seed=6)[0].weight)


def test_dead_units_against_a_direct_forward_pass():
    net = deep_mlp.mlp(width=8, n_hidden=3, seed=1)
    with torch.no_grad():
        net[2].bias[:3] = -50.0  # three units of the second layer never fire
    dead = deep_mlp.dead_units(net, _PROBE)
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
    assert deep_mlp.dead_units(net, _PROBE, batch_statistics=False)[0].all()
    # ... but batch norm with the probe's own statistics re-centres them, so some units fire
    assert not deep_mlp.dead_units(net, _PROBE, batch_statistics=True)[0].all()
    assert torch.equal(net[1].running_mean, running_before)  # the copy ran, not the model
    net.train()
    deep_mlp.dead_units(net, _PROBE)
    assert net.training


def test_hook_reports_fractions_and_runs_inside_training():
    task = deep_mlp.regions(n_train=200, n_val=100, n_test=10, rng=0)
    net = deep_mlp.mlp(width=8, n_hidden=2, seed=0)
    hooks = (deep_mlp.dead_unit_hook(task.X_val), deep_mlp.parameter_distance_hook(net))
    config = TrainConfig(lr=0.05, epochs=2, batch_size=50, device="cpu")
    history = train(net, config, (task.X_train, task.y_train), hooks=hooks)
    m = history.measurements
    assert set(m) == {"dead_layer1", "dead_layer2", "dead_all", "relative_distance"}
    assert m["relative_distance"][0] == 0 and m["relative_distance"][-1] > 0
    dead = deep_mlp.dead_units(net, task.X_val)
    assert m["dead_all"][-1] == pytest.approx(np.concatenate(dead).mean())


def test_parameter_distance_by_hand():
    net = deep_mlp.mlp(width=3, n_hidden=1, seed=0)
    hook = deep_mlp.parameter_distance_hook(net)
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
    np.testing.assert_allclose(deep_mlp.batchnorm_offsets(net)[0], [-3.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="model"):
        deep_mlp.batchnorm_offsets(deep_mlp.mlp(width=3, n_hidden=1))


def test_predict_grid_is_the_argmax_of_the_outputs():
    net = deep_mlp.mlp(width=8, n_hidden=2, seed=3)
    xs, labels, confidence = deep_mlp.predict_grid(net, lim=2.0, resolution=7)
    np.testing.assert_allclose(xs, np.linspace(-2, 2, 7))
    assert labels[2, 5] == int(np.argmax(predict(net, np.array([[xs[5], xs[2]]]))))
    assert np.all((confidence >= 0.25) & (confidence <= 1))


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: deep_mlp.regions(n_train=0), ValueError, "n_train"),
        (lambda: deep_mlp.regions(n_classes=5, n_regions=4), ValueError, "n_regions"),
        (lambda: deep_mlp.regions(label_noise=1.5), ValueError, "label_noise"),
        (lambda: deep_mlp.mlp(init="xavier"), ValueError, "init"),
        (lambda: deep_mlp.mlp(width=0), ValueError, "width"),
        (lambda: deep_mlp.dead_units(nn.Linear(2, 2), _PROBE), ValueError, "ReLU"),
        (lambda: deep_mlp.constant_prediction_loss(np.array([0, 3]), 3), ValueError, "y"),
        (lambda: deep_mlp.predict_grid(deep_mlp.mlp(), resolution=10**4), ValueError, "resolution"),
    ],
)
def test_bad_inputs_raise_named_errors(call, error, name):
    with pytest.raises(error, match=name):
        call()

"""Tests of nnbook.deep_mlp: the regions task, the network, the constant-prediction loss and decision grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import deep_mlp
from nnbook.training import predict

VALID_CALLS = {
    "regions": lambda: {"n_train": 30, "n_val": 10, "n_test": 10, "rng": 0},
    "constant_prediction_loss": lambda: {"y": np.array([0, 1, 1, 2]), "n_classes": 3},
    "mlp": lambda: {"width": 4, "n_hidden": 2},
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
        (lambda: deep_mlp.constant_prediction_loss(np.array([0, 3]), 3), ValueError, "y"),
        (lambda: deep_mlp.predict_grid(deep_mlp.mlp(), resolution=10**4), ValueError, "resolution"),
    ],
)
def test_bad_inputs_raise_named_errors(call, error, name):
    with pytest.raises(error, match=name):
        call()

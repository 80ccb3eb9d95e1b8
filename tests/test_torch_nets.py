"""Tests of nnbook.torch_nets: the bridge from the numpy MLP, the chapter's torch models, early stopping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import torch_nets
from nnbook.backprop import MLP

_X, _Y = np.random.default_rng(0).normal(size=(8, 5)), np.array([0, 1, 2, 0, 1, 2, 0, 1])

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "to_torch": lambda: {"model": MLP([5, 4, 3], rng=0)},
    "torch_gradients": lambda: {"model": MLP([5, 4, 3], rng=0), "X": _X, "y": _Y},
    "mlp": lambda: {"sizes": [5, 4, 3], "activation": "relu", "seed": 0},
    "count_parameters": lambda: {"model": torch_nets.mlp([5, 4, 3], seed=0)},
    "validation_split": lambda: {"X": _X, "y": _Y, "size": 3, "seed": 0},
    "early_stopping": lambda: {
        "val_loss": np.array([2.0, 1.0, 1.5, 1.6]),
        "test_loss": np.array([2.0, 1.1, 1.4, 1.7]),
        "test_accuracy": np.array([0.1, 0.8, 0.8, 0.7]),
        "patience": 2,
    },
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_to_torch_computes_the_same_logits(dtype):
    model = MLP([6, 5, 4], "relu", rng=0, dtype=dtype)
    model.biases[0][:] = 0.1
    X = np.random.default_rng(0).normal(size=(3, 6))
    net = torch_nets.to_torch(model)
    with torch.no_grad():
        out = net(torch.from_numpy(X.astype(dtype))).numpy()
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, model.logits(X), rtol=1e-5 if dtype == "float32" else 1e-13, atol=1e-6)
    with torch.no_grad():
        net[0].weight.zero_()
    assert model.weights[0].any()  # copied, not shared


def test_torch_gradients_have_the_numpy_shapes():
    model = MLP([6, 5, 4], rng=0)
    X, y = np.ones((2, 6)), np.array([0, 3])
    dW, db = torch_nets.torch_gradients(model, X, y)
    assert [g.shape for g in dW] == [(6, 5), (5, 4)] and [g.shape for g in db] == [(5,), (4,)]


def test_mlp_architecture_and_seeding():
    net = torch_nets.mlp([784, 256, 128, 64, 10], seed=3)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 128), (128, 64), (64, 10)]
    assert sum(isinstance(m, nn.ReLU) for m in net) == 3 and isinstance(net[-1], nn.Linear)
    assert torch.equal(net[0].weight, torch_nets.mlp([784, 256, 128, 64, 10], seed=3)[0].weight)
    assert not torch.equal(net[0].weight, torch_nets.mlp([784, 256, 128, 64, 10], seed=4)[0].weight)
    assert isinstance(torch_nets.mlp([3, 4, 2], "tanh", seed=0)[1], nn.Tanh)


def test_seeding_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    torch_nets.small_cnn(seed=0)
    torch_nets.mlp([4, 2], seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_small_cnn_shapes_parameters_and_dropout():
    net = torch_nets.small_cnn(seed=0)
    assert torch_nets.count_parameters(net) == (25 * 10 + 10) + (250 * 20 + 20) + (320 * 60 + 60) + (60 * 10 + 10)
    x = torch.rand(4, 784)
    net.eval()
    with torch.no_grad():
        assert net(x).shape == (4, 10)
        assert torch.equal(net(x), net(x))  # eval: dropout off
    net.train()
    with torch.no_grad():
        assert not torch.equal(net(x), net(x))  # train: dropout on
    no_drop = torch_nets.small_cnn(dropout=0.0, seed=0).train()
    with torch.no_grad():
        assert torch.equal(no_drop(x), no_drop(x))


def test_count_parameters_skips_frozen_ones():
    net = torch_nets.mlp([3, 4, 2], seed=0)
    net[0].weight.requires_grad_(False)
    assert torch_nets.count_parameters(net) == 4 + 8 + 2


def test_early_stopping_follows_the_validation_loss():
    val = np.array([3.0, 2.0, 1.0, 1.1, 0.9, 1.2, 1.3, 1.4, 1.5])
    test = np.array([3.0, 2.0, 1.5, 1.4, 1.6, 1.7, 1.8, 1.9, 2.0])
    acc = np.linspace(0.1, 0.9, 9)
    stop = torch_nets.early_stopping(val, test, acc, patience=3)
    assert (stop.best_epoch, stop.stop_epoch, stop.turn_epoch) == (4, 7, 3)
    assert stop.kept_test_accuracy == acc[4] and stop.final_test_accuracy == acc[-1]
    assert (stop.kept_test_loss, stop.final_test_loss) == (1.6, 2.0)
    never = torch_nets.early_stopping(val, test, acc, patience=100)
    assert never.stop_epoch == 8 and never.best_epoch == 4


def test_bad_inputs_raise_named_errors():
    with pytest.raises(TypeError, match="model"):
        torch_nets.to_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="sizes"):
        torch_nets.mlp([784])
    with pytest.raises(ValueError, match="sizes"):
        torch_nets.mlp([784, 10**6, 10])
    with pytest.raises(ValueError, match="activation"):
        torch_nets.mlp([2, 2], "elu")
    with pytest.raises(ValueError, match="dropout"):
        torch_nets.small_cnn(dropout=1.0)
    with pytest.raises(TypeError, match="seed"):
        torch_nets.small_cnn(seed=1.5)
    with pytest.raises(TypeError, match="model"):
        torch_nets.count_parameters("net")
    with pytest.raises(ValueError, match="test_loss"):
        torch_nets.early_stopping(np.ones(4), np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="patience"):
        torch_nets.early_stopping(np.ones(4), np.ones(4), np.ones(4), patience=0)


def test_validation_split_is_stratified_disjoint_and_seeded():
    X = np.arange(40.0).reshape(20, 2)
    y = np.repeat([0, 1, 2, 3], 5)
    (X_fit, _), (X_val, y_val) = torch_nets.validation_split(X, y, size=8, seed=1)
    assert X_fit.shape == (12, 2) and X_val.shape == (8, 2)
    assert np.bincount(y_val).tolist() == [2, 2, 2, 2]
    assert set(X_fit[:, 0]).isdisjoint(X_val[:, 0]) and len(set(X_fit[:, 0]) | set(X_val[:, 0])) == 20
    again = torch_nets.validation_split(X, y, size=8, seed=1)[1][0]
    np.testing.assert_array_equal(again, X_val)
    (X_small, y_small), (X_val2, _) = torch_nets.validation_split(X, y, size=8, seed=1, fit_size=4)
    assert X_small.shape == (4, 2) and np.bincount(y_small).tolist() == [1, 1, 1, 1]
    np.testing.assert_array_equal(X_val2.shape, (8, 2))
    with pytest.raises(ValueError, match="size"):
        torch_nets.validation_split(X, y, size=20)
    with pytest.raises(ValueError, match="fit_size"):
        torch_nets.validation_split(X, y, size=8, fit_size=13)

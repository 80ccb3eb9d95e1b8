"""Tests of nnbook.scalar_mlp: a network of autodiff scalars against numpy and torch, and training it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import scalar_mlp
from nnbook.autodiff import Value

_RNG = np.random.default_rng(0)
_X2, _Y2 = _RNG.normal(size=(6, 2)), np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "ScalarMLP": lambda: {"sizes": [2, 3, 1], "activation": "tanh", "rng": 0},
    "hinge_loss": lambda: {"model": scalar_mlp.ScalarMLP([2, 3, 1], rng=0), "X": _X2, "y": _Y2},
    "fit_scalar_mlp": lambda: {"X": _X2, "y": _Y2, "sizes": [2, 3, 1], "steps": 3, "lr": 0.1, "rng": 0},
}


def test_scalar_mlp_matches_its_numpy_forward_and_torch_gradients():
    net = scalar_mlp.ScalarMLP([3, 4, 2], "tanh", rng=1)
    x = [0.3, -1.2, 0.7]
    out = net(x)
    np.testing.assert_allclose([o.data for o in out], net.numpy_forward(np.array([x]))[0], rtol=1e-13)
    loss = out[0] * out[1] + out[0].sigmoid()
    loss.backward()
    (W1, b1), (W2, b2) = ((np.array([[w.data for w in row] for row in W]), [v.data for v in b]) for W, b in net.layers)
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W1, b1, W2, b2)]
    h = torch.tanh(params[0] @ torch.tensor(x, dtype=torch.float64) + params[1])
    o = params[2] @ h + params[3]
    (o[0] * o[1] + torch.sigmoid(o[0])).backward()
    expected = np.concatenate([p.grad.numpy().ravel() for p in params])  # parameters(): W row by row, then b
    np.testing.assert_allclose([p.grad for p in net.parameters()], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", scalar_mlp.ACTIVATIONS)
def test_numpy_forward_for_every_activation(activation):
    net = scalar_mlp.ScalarMLP([2, 3, 3, 1], activation, rng=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_allclose([net(list(x))[0].data for x in X], net.numpy_forward(X)[:, 0], rtol=1e-12, atol=1e-15)


def test_fit_learns_a_separable_problem_and_is_reproducible():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)
    fit = scalar_mlp.fit_scalar_mlp(X, y, [2, 4, 1], steps=30, lr=0.2, rng=0)
    again = scalar_mlp.fit_scalar_mlp(X, y, [2, 4, 1], steps=30, lr=0.2, rng=0)
    assert fit.loss.shape == (31,) and fit.accuracy.shape == (31,)
    assert fit.loss[-1] < 0.5 * fit.loss[0] and fit.accuracy[-1] >= 0.9
    np.testing.assert_array_equal(fit.loss, again.loss)
    assert fit.num_nodes > 20 * 4


def test_hinge_loss_and_a_diverging_fit():
    net = scalar_mlp.ScalarMLP([2, 1], rng=0)
    X, y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([1.0, -1.0])
    loss, accuracy = scalar_mlp.hinge_loss(net, X, y)
    scores = net.numpy_forward(X)[:, 0]
    assert loss.data == pytest.approx(np.mean(np.maximum(0, 1 - y * scores)), rel=1e-14)
    assert accuracy == np.mean(np.sign(scores) == y)
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)
    with pytest.raises(ValueError, match="lr"):
        scalar_mlp.fit_scalar_mlp(X, y, [2, 3, 1], steps=5, lr=1e300, activation="relu", rng=0)


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="sizes"):
        scalar_mlp.ScalarMLP([2])
    with pytest.raises(ValueError, match="activation"):
        scalar_mlp.ScalarMLP([2, 1], "gelu")
    with pytest.raises(ValueError, match="x must have 2"):
        scalar_mlp.ScalarMLP([2, 1], rng=0)([1.0])
    X, y = np.zeros((3, 2)), np.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="y must hold"):
        scalar_mlp.fit_scalar_mlp(X, np.array([1.0, 0.0, 1.0]), [2, 1], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="sizes must start"):
        scalar_mlp.fit_scalar_mlp(X, y, [3, 1], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        scalar_mlp.fit_scalar_mlp(X, y, [2, 1], steps=1, lr=0.0)
    with pytest.raises(ValueError, match="steps"):
        scalar_mlp.fit_scalar_mlp(X, y, [2, 1], steps=10**7, lr=0.1)

"""Tests of nnbook.backprop: the hand-written gradients against torch autograd and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnbook import backprop
from nnbook.backprop import MLP
from nnbook.torch_nets import to_torch, torch_gradients

_X5, _Y5 = np.random.default_rng(0).normal(size=(6, 5)), np.array([0, 1, 2, 0, 1, 2])

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "MLP": lambda: {"sizes": [5, 4, 3], "activation": "tanh", "rng": 0},
    "local_slopes": lambda: {"model": MLP([5, 4, 3], rng=0), "X": _X5},
    "saturated_fraction": lambda: {"model": MLP([5, 4, 3], rng=0), "X": _X5, "threshold": 0.01},
    "finite_difference_check": lambda: {"model": MLP([5, 4, 3], rng=0), "X": _X5, "y": _Y5, "n_entries": 10, "rng": 0},
}


def problem(n=7, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, classes, n)


# --- construction -------------------------------------------------------------------------------------------------


def test_shapes_follow_the_sizes():
    model = MLP([784, 32, 32, 10], rng=0)
    assert [w.shape for w in model.weights] == [(784, 32), (32, 32), (32, 10)]
    assert [b.shape for b in model.biases] == [(32,), (32,), (10,)]
    assert model.sizes == (784, 32, 32, 10)
    assert model.num_parameters == 784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert all(not b.any() for b in model.biases)


@pytest.mark.parametrize(
    ("init", "variance"),
    [("max_fan", lambda i, o: 1 / max(i, o)), ("glorot", lambda i, o: 2 / (i + o)), ("he", lambda i, o: 2 / i)],
)
def test_initial_weight_variance(init, variance):
    model = MLP([400, 300, 500], init=init, rng=0)
    for W in model.weights:
        assert abs(W.mean()) < 4 * np.sqrt(variance(*W.shape) / W.size)
        np.testing.assert_allclose(W.var(), variance(*W.shape), rtol=0.02)  # 120,000+ draws: sd of var ~0.4%


def test_same_seed_same_network_and_float32_is_the_rounded_float64():
    a, b, c = MLP([6, 4, 3], rng=5), MLP([6, 4, 3], rng=5), MLP([6, 4, 3], rng=6)
    assert all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights, strict=True))
    assert not np.array_equal(a.weights[0], c.weights[0])
    f32 = MLP([6, 4, 3], rng=5, dtype="float32")
    assert f32.weights[0].dtype == np.float32 and np.array_equal(f32.weights[0], a.weights[0].astype(np.float32))


# --- forward ------------------------------------------------------------------------------------------------------


def test_forward_gives_probabilities_and_one_sample_equals_its_row():
    X, _ = problem()
    model = MLP([5, 4, 3], "tanh", rng=0)
    P = model.forward(X)
    assert P.shape == (7, 3) and (P > 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(model.forward(X[2]), P[2])
    np.testing.assert_array_equal(model.predict(X), P.argmax(axis=1))


@pytest.mark.parametrize("activation", backprop.ACTIVATIONS)
def test_forward_matches_torch(activation):
    X, _ = problem()
    model = MLP([5, 6, 4, 3], activation, rng=1)
    with torch.no_grad():
        expected = torch.softmax(to_torch(model)(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(model.forward(X), expected, rtol=1e-13, atol=1e-16)


def test_saturated_logits_give_no_warning_and_a_finite_loss():
    model = MLP([2, 3], rng=0)
    model.weights[0][:] = [[1e4, 0.0, -1e4], [0.0, 0.0, 0.0]]
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    P = model.forward(X)  # logits +-1e4: exp would overflow without the max shift (warnings are errors here)
    np.testing.assert_array_equal(P, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert model.loss(X, np.array([2, 2])) == pytest.approx(1e4, rel=1e-12)  # -log p = logit gap, not inf
    dW, _ = model.gradients(X, np.array([2, 2]))
    assert np.isfinite(dW[0]).all()


def test_sigmoid_is_stable_for_huge_preactivations():
    model = MLP([1, 2, 2], rng=0)
    model.weights[0][:] = [[1e5, -1e5]]
    acts = model._forward(np.array([[1.0], [-1.0]]))[0]
    np.testing.assert_array_equal(acts[1], [[1.0, 0.0], [0.0, 1.0]])


# --- gradients ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", backprop.ACTIVATIONS)
@pytest.mark.parametrize("sizes", [[5, 3], [5, 4, 3], [5, 6, 4, 3]])
def test_gradients_match_torch_autograd(activation, sizes):
    X, y = problem()
    model = MLP(sizes, activation, rng=2)
    for b in model.biases:  # non-zero biases, so their gradients are exercised too
        b[:] = np.random.default_rng(3).normal(size=b.shape)
    dW, db = model.gradients(X, y)
    tW, tb = torch_gradients(model, X, y)
    for got, expected in zip(dW + db, tW + tb, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("activation", backprop.ACTIVATIONS)
def test_gradients_match_central_differences(activation):
    X, y = problem(n=9)
    check = backprop.finite_difference_check(MLP([5, 4, 4, 3], activation, rng=4), X, y, n_entries=500, rng=0)
    assert check.analytic.shape == (4 * 5 + 4 + 4 * 4 + 4 + 4 * 3 + 3,)  # all 59 parameters
    assert check.passed and check.rel_error < 1e-7


def test_batch_gradient_is_the_mean_of_per_sample_gradients():
    X, y = problem(n=6)
    model = MLP([5, 4, 3], rng=0)
    dW, db = model.gradients(X, y)
    per_sample = [model.gradients(X[i], y[i : i + 1]) for i in range(6)]
    for k in range(2):
        np.testing.assert_allclose(dW[k], np.mean([g[0][k] for g in per_sample], axis=0), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(db[k], np.mean([g[1][k] for g in per_sample], axis=0), rtol=1e-12, atol=1e-15)


def test_output_layer_shortcut_is_softmax_minus_one_hot():
    X, y = problem()
    model = MLP([5, 4, 3], rng=0)
    _, db = model.gradients(X, y)
    np.testing.assert_allclose(db[-1], (model.forward(X) - np.eye(3)[y]).mean(axis=0), rtol=1e-12, atol=1e-16)


def test_float32_gradients_are_float32_and_close_to_float64():
    X, y = problem()
    g64 = MLP([5, 4, 3], rng=0).gradients(X, y)[0]
    g32 = MLP([5, 4, 3], rng=0, dtype="float32").gradients(X, y)[0]
    assert all(g.dtype == np.float32 for g in g32)
    for a, b in zip(g32, g64, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_saturated_fraction():
    model = MLP([1, 2, 2], rng=0)
    model.weights[0][:] = [[1.0, 10.0]]
    frac = backprop.saturated_fraction(model, np.array([[0.0], [1.0]]), threshold=0.01)
    np.testing.assert_array_equal(frac, [0.25])  # only sigmoid(10): slope 4.5e-5; slopes 0.25, 0.25, 0.197 are not
    relu = MLP([1, 2, 2], "relu", rng=0)
    relu.weights[0][:] = [[1.0, -1.0]]
    np.testing.assert_array_equal(backprop.saturated_fraction(relu, np.array([[1.0], [2.0]])), [0.5])


# --- one training step -------------------------------------------------------------------------------------------


def test_train_step_is_one_gradient_step_in_place():
    X, y = problem()
    model = MLP([5, 4, 3], rng=0)
    before = model.copy()
    loss = model.train_step(X, y, lr=0.5)
    dW, db = before.gradients(X, y)
    for w, w0, g in zip(model.weights, before.weights, dW, strict=True):
        np.testing.assert_allclose(w, w0 - 0.5 * g, rtol=1e-14, atol=1e-16)
    for b, b0, g in zip(model.biases, before.biases, db, strict=True):
        np.testing.assert_allclose(b, b0 - 0.5 * g, rtol=1e-14, atol=1e-16)
    assert loss == pytest.approx(before.loss(X, y), rel=1e-14)
    assert model.evaluate(X, y) == (model.loss(X, y), model.accuracy(X, y))


def test_train_step_without_biases_leaves_them_at_zero():
    X, y = problem()
    model = MLP([5, 4, 3], bias=False, rng=0)
    model.train_step(X, y, lr=0.5)
    assert all(not b.any() for b in model.biases)
    assert model.num_parameters == 5 * 4 + 4 * 3


def test_an_overflowing_step_raises_naming_lr():
    X, y = problem()
    model = MLP([5, 4, 3], "relu", rng=0)
    model.train_step(X, y, lr=1e300)  # huge but finite weights
    with pytest.raises(ValueError, match="lr = 1e\\+300 is too large"):
        model.train_step(X, y, lr=1e300)


# --- bad inputs ---------------------------------------------------------------------------------------------------


def test_bad_constructor_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="sizes"):
        MLP([5])
    with pytest.raises(ValueError, match="sizes"):
        MLP("53")
    with pytest.raises(ValueError, match="sizes"):
        MLP([5, 0, 3])
    with pytest.raises(TypeError, match="sizes"):
        MLP([5, 2.5, 3])
    with pytest.raises(ValueError, match="sizes"):
        MLP([100_000, 100_000, 10])  # 10^10 parameters: refused before any memory is spent
    with pytest.raises(ValueError, match="activation"):
        MLP([5, 3], "gelu")
    with pytest.raises(ValueError, match="init"):
        MLP([5, 3], init="xavier")
    with pytest.raises(ValueError, match="dtype"):
        MLP([5, 3], dtype="float16")
    with pytest.raises(TypeError, match="bias"):
        MLP([5, 3], bias=1)
    with pytest.raises(TypeError, match="rng"):
        MLP([5, 3], rng="0")


def test_bad_data_raise_named_errors():
    model = MLP([5, 3], rng=0)
    X, y = problem()
    with pytest.raises(ValueError, match="X must have 5 features"):
        model.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="X"):
        model.forward(np.full((2, 5), np.nan))
    with pytest.raises(ValueError, match="y must hold labels"):
        model.gradients(X, np.full(7, 3))
    with pytest.raises(ValueError, match="y"):
        model.gradients(X, y[:3])
    with pytest.raises(ValueError, match="y must hold integers"):
        model.loss(X, y + 0.5)
    with pytest.raises(TypeError, match="model"):
        backprop.saturated_fraction(to_torch(model), X)
    with pytest.raises(ValueError, match="threshold"):
        backprop.saturated_fraction(model, X, threshold=0.0)
    with pytest.raises(ValueError, match="n_entries"):
        backprop.finite_difference_check(model, X, y, n_entries=0)


def test_local_slopes_are_the_activation_derivatives():
    X, _ = problem()
    model = MLP([5, 4, 3], "tanh", rng=0)
    (slopes,) = backprop.local_slopes(model, X)
    np.testing.assert_allclose(slopes, 1 - np.tanh(X @ model.weights[0]) ** 2, rtol=1e-13)

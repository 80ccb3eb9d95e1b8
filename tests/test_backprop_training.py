"""Tests of nnbook.backprop_training: SGD on the numpy MLP, per sample, in mini-batches and full batch."""

from __future__ import annotations

import numpy as np
import pytest

from nnbook import backprop_training
from nnbook.backprop import MLP
from nnbook.torch_nets import to_torch

_X5, _Y5 = np.random.default_rng(0).normal(size=(6, 5)), np.array([0, 1, 2, 0, 1, 2])

# One valid call of each public callable, for the catalogue test of bad inputs (tests/test_bad_inputs.py).
VALID_CALLS = {
    "train_sgd": lambda: {"model": MLP([5, 4, 3], rng=0), "X": _X5, "y": _Y5, "lr": 0.1, "epochs": 2, "batch_size": 2},
}


def problem(n=7, d=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, classes, n)


def test_full_batch_step_is_one_gradient_step_and_the_model_is_copied():
    X, y = problem()
    model = MLP([5, 4, 3], rng=0)
    before = [w.copy() for w in model.weights]
    run = backprop_training.train_sgd(model, X, y, lr=0.5, epochs=1, batch_size=None, shuffle=False)
    dW, _ = model.gradients(X, y)
    for w, w0, g in zip(run.model.weights, model.weights, dW, strict=True):
        np.testing.assert_allclose(w, w0 - 0.5 * g, rtol=1e-14, atol=1e-16)
    assert all(np.array_equal(a, b) for a, b in zip(model.weights, before, strict=True))
    assert run.step_loss[0] == pytest.approx(model.loss(X, y), rel=1e-14)


def test_per_sample_steps_visit_the_samples_in_order():
    X, y = problem(n=3)
    model = MLP([5, 3], rng=0)
    run = backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=1, shuffle=False)
    manual = model.copy()
    for i in range(3):
        dW, db = manual.gradients(X[i], y[i : i + 1])
        manual.weights[0] -= 0.1 * dW[0]
        manual.biases[0] -= 0.1 * db[0]
    np.testing.assert_allclose(run.model.weights[0], manual.weights[0], rtol=1e-14)
    np.testing.assert_allclose(run.model.biases[0], manual.biases[0], rtol=1e-14, atol=1e-17)


def test_training_learns_is_reproducible_and_records_every_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    kwargs = {"lr": 0.5, "epochs": 30, "batch_size": 8, "rng": 3, "test": (X[:20], y[:20])}
    run = backprop_training.train_sgd(MLP([4, 8, 3], "relu", rng=0), X, y, **kwargs)
    again = backprop_training.train_sgd(MLP([4, 8, 3], "relu", rng=0), X, y, **kwargs)
    assert run.step_loss.shape == (30 * 8,) and run.epoch.tolist() == list(range(31))
    assert run.train_accuracy[-1] > 0.85 and run.train_loss[-1] < 0.5 * run.train_loss[0]
    assert run.test_accuracy.shape == (31,)
    np.testing.assert_array_equal(run.step_loss, again.step_loss)
    np.testing.assert_array_equal(run.model.weights[0], again.model.weights[0])


def test_eval_every_and_no_test_set():
    X, y = problem()
    run = backprop_training.train_sgd(MLP([5, 3], rng=0), X, y, lr=0.1, epochs=7, batch_size=None, eval_every=3)
    assert run.epoch.tolist() == [0, 3, 6, 7] and run.train_loss.shape == (4,)
    assert run.test_loss is None and run.test_accuracy is None


def test_without_biases_they_stay_zero():
    X, y = problem()
    run = backprop_training.train_sgd(MLP([5, 4, 3], bias=False, rng=0), X, y, lr=0.5, epochs=3, batch_size=2, rng=0)
    assert all(not b.any() for b in run.model.biases)
    assert run.model.num_parameters == 5 * 4 + 4 * 3


def test_bad_training_arguments_raise_named_errors():
    model, (X, y) = MLP([5, 3], rng=0), problem()
    with pytest.raises(TypeError, match="model"):
        backprop_training.train_sgd(to_torch(model), X, y, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="lr"):
        backprop_training.train_sgd(model, X, y, lr=0.0, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=-1)
    with pytest.raises(ValueError, match="batch_size"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=0)
    with pytest.raises(TypeError, match="test"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, test=[X, y])
    with pytest.raises(ValueError, match=r"test\[0\] must have shape \(any, 5\)"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, test=(X[:, :2], y))
    with pytest.raises(ValueError, match=r"X must have shape \(any, 5\)"):
        backprop_training.train_sgd(model, X[:, :2], y, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=10**12)
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 3\)"):
        backprop_training.train_sgd(model, X, y + 1, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"test\[1\] must hold labels"):
        backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, test=(X, y - 1))


def test_a_diverging_run_raises_instead_of_returning_nan():
    X, y = problem()
    with pytest.raises(ValueError, match="lr = 1e\\+300 is too large"):
        backprop_training.train_sgd(MLP([5, 4, 3], "relu", rng=0), X, y, lr=1e300, epochs=3, batch_size=2, rng=0)


def test_float32_training_stays_float32():
    X, y = problem()
    run = backprop_training.train_sgd(MLP([5, 4, 3], rng=0, dtype="float32"), X, y, lr=0.5, epochs=2, batch_size=None)
    assert all(w.dtype == np.float32 for w in run.model.weights)
    assert run.train_loss[-1] < run.train_loss[0]

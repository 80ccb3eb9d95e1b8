"""Tests of nnbook.rff_sgd: RFF models trained through the training loop, against closed-form gradient descent."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nnbook import rff, rff_sgd, sgd
from nnbook.data import Split
from nnbook.training import TrainConfig

_rng = np.random.default_rng(0)
SPLIT = Split(
    _rng.standard_normal((40, 3)) / 2,
    np.sign(_rng.standard_normal(40)),
    _rng.standard_normal((30, 3)) / 2,
    np.sign(_rng.standard_normal(30)),
)
CONFIG = TrainConfig(lr=0.01, epochs=3, batch_size=8, loss="mse", device="cpu")

VALID_CALLS = {
    "features": lambda: {"split": SPLIT, "n_features": 4},
    "readout": lambda: {"n_inputs": 6},
    "run": lambda: {"split": SPLIT, "n_features": 4, "config": dataclasses.replace(CONFIG, epochs=1)},
    "stack_curves": lambda: {"runs": [rff_sgd.run(SPLIT, 3, CONFIG)], "name": "test_loss"},
    "sweep": lambda: {
        "split": SPLIT,
        "n_features": np.array([3, 30]),
        "lr_fraction": 0.3,
        "epochs": 1,
        "batch_size": 16,
        "gd_epochs": (1,),
        "draws": (0,),
    },
}


def test_features_are_the_rff_module_features():
    Phi, Phi_test = rff_sgd.features(SPLIT, 5, draw=3)
    V = rff.sample_frequencies(3, 5, rng=3)
    np.testing.assert_array_equal(Phi, rff.fourier_features(SPLIT.X_train, V))
    np.testing.assert_array_equal(Phi_test, rff.fourier_features(SPLIT.X_test, V))


def test_readout_is_seeded_and_scaled():
    a, b = rff_sgd.readout(4000, init_std=0.01, seed=1), rff_sgd.readout(4000, init_std=0.01, seed=1)
    assert torch.equal(a.weight, b.weight) and a.bias is None and a.weight.shape == (1, 4000)
    assert float(a.weight.detach().std()) == pytest.approx(0.01, rel=0.05)
    assert not torch.equal(a.weight, rff_sgd.readout(4000, init_std=0.01, seed=2).weight)


def test_full_batch_sgd_is_closed_form_gradient_descent():
    config = dataclasses.replace(CONFIG, batch_size=None, epochs=25, lr=0.05)
    result = rff_sgd.run(SPLIT, 6, config, init_std=0.0)
    Phi, _ = rff_sgd.features(SPLIT, 6)
    # PyTorch's MSE (1/n)||Phi a - y||^2 is twice the loss of least_squares_gd: twice the step.
    expected = sgd.gd_closed_form(Phi, SPLIT.y_train, 2 * 0.05, 25)
    np.testing.assert_allclose(result.a, expected, rtol=1e-4, atol=1e-6)


def test_the_learning_rate_is_used():
    slow, fast = (rff_sgd.run(SPLIT, 4, dataclasses.replace(CONFIG, lr=lr)) for lr in (0.001, 0.02))
    assert slow.history.config.lr == 0.001 and fast.history.config.lr == 0.02
    assert not np.allclose(slow.history.train_loss[1:], fast.history.train_loss[1:])
    np.testing.assert_array_equal(slow.a0, fast.a0)  # same start: only the step differs
    start = slow.history.train_loss[0]
    assert (start - fast.history.train_loss[1]) > (start - slow.history.train_loss[1]) > 0


def test_same_seed_same_result_and_draws_differ():
    a, b = rff_sgd.run(SPLIT, 4, CONFIG, draw=2), rff_sgd.run(SPLIT, 4, CONFIG, draw=2)
    np.testing.assert_array_equal(a.a, b.a)
    np.testing.assert_array_equal(a.history.test_loss, b.history.test_loss)
    assert not np.array_equal(a.a, rff_sgd.run(SPLIT, 4, CONFIG, draw=3).a)


def test_sign_error_is_measured_every_epoch():
    result = rff_sgd.run(SPLIT, 4, CONFIG)
    error = result.history.measurements["test_error"]
    assert error.shape == (4,) and np.all((error >= 0) & (error <= 1))
    Phi_test = rff_sgd.features(SPLIT, 4)[1]
    assert error[-1] == pytest.approx(np.mean(np.sign(Phi_test @ result.a) != SPLIT.y_test))


def test_stack_curves_pads_a_diverged_run_with_nan():
    good = rff_sgd.run(SPLIT, 4, CONFIG)
    bad = rff_sgd.run(SPLIT, 4, dataclasses.replace(CONFIG, lr=1e6, on_divergence="stop", epochs=3))
    assert bad.history.diverged
    curves = rff_sgd.stack_curves([good, bad], "train_loss")
    assert curves.shape == (2, 4) and not np.isnan(curves[0]).any() and np.isnan(curves[1, -1])
    with pytest.raises(ValueError, match="name"):
        rff_sgd.stack_curves([good], "nothing")


def test_sweep_against_its_references():
    sizes = np.array([5, 40])
    result = rff_sgd.sweep(SPLIT, sizes, lr_fraction=0.3, epochs=4, batch_size=8, gd_epochs=(0, 4, 10**8), draws=(0, 1))
    assert result.test_mse.shape == (2, 2, 5) and result.gd_test_mse.shape == (2, 2, 3)
    assert result.steps_per_epoch == 5
    np.testing.assert_allclose(result.ratio, 2 * sizes / 40)
    V = rff.sample_frequencies(3, 40, rng=1)  # draw 1, the model with 5 frequencies uses the first 5
    Phi, Phi_test = rff.fourier_features(SPLIT.X_train, V[:, :5]), rff.fourier_features(SPLIT.X_test, V[:, :5])
    a_min = rff.fit_min_norm(Phi, SPLIT.y_train)
    assert result.min_norm_test_mse[1, 0] == pytest.approx(np.mean((Phi_test @ a_min - SPLIT.y_test) ** 2), rel=1e-10)
    assert result.lr[1, 0] == pytest.approx(0.3 * sgd.max_stable_lr(Phi) / 2, rel=1e-12)
    # a huge budget reaches the least-squares fit of the well-conditioned model (10 features, 40 points)
    assert np.all(result.gd_to_min_norm[:, 0, -1] < 1e-8)
    np.testing.assert_allclose(result.gd_test_mse[:, 0, -1], result.min_norm_test_mse[:, 0], rtol=1e-8)
    assert np.all(result.to_gd < 0.5)
    # the SGD test curve starts at the initial model's error and the budget-0 GD point is the same model
    np.testing.assert_allclose(result.gd_test_mse[:, :, 0], result.test_mse[:, :, 0], rtol=1e-5)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: rff_sgd.run(SPLIT, 0, CONFIG), ValueError, "n_features"),
        (lambda: rff_sgd.run(SPLIT, 4, {"lr": 0.1}), TypeError, "config"),
        (lambda: rff_sgd.run((SPLIT.X_train, SPLIT.y_train), 4, CONFIG), TypeError, "split"),
        (lambda: rff_sgd.run(SPLIT, 4, CONFIG, init_std=-1.0), ValueError, "init_std"),
        (lambda: rff_sgd.readout(3, init_std=1e9), ValueError, "init_std"),
        (lambda: rff_sgd.sweep(SPLIT, [3], lr_fraction=2.5, epochs=1, batch_size=4), ValueError, "lr_fraction"),
        (lambda: rff_sgd.sweep(SPLIT, [0], lr_fraction=0.3, epochs=1, batch_size=4), ValueError, "n_features"),
        (lambda: rff_sgd.sweep(SPLIT, [3], lr_fraction=0.3, epochs=1, batch_size=4, draws=()), ValueError, "draws"),
        (lambda: rff_sgd.stack_curves([], "test_loss"), ValueError, "runs"),
    ],
)
def test_bad_inputs_raise_named_errors(call, error, name):
    with pytest.raises(error, match=name):
        call()

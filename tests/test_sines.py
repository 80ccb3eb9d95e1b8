"""Tests of nnbook.sines: the sum-of-sines task, the networks, the inside/outside split of the test error."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import init, sines, training

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
_TASK = sines.sine_task(n_train=20, n_test=11, train_range=(-1.0, 0.4))
VALID_CALLS = {
    "f_true": lambda: {"x": np.linspace(-1, 1, 5), "coefficients": np.array([0.0, 1.0, -0.5])},
    "mlp": lambda: {"hidden_layers": 3, "width": 5, "residual": True, "residual_scale": 0.5, "seed": 1},
    "range_errors": lambda: {"task": _TASK, "y_pred": _TASK.y_test + 0.1},
    "ResidualBlock": lambda: {"width": 4, "scale": 0.5},
}


def test_target_is_the_sum_of_sines():
    c = sines.sine_coefficients(0)
    x = np.random.default_rng(0).uniform(-1, 1, 50)
    expected = sum(c[k] * np.sin(k * math.pi * x) for k in range(5))
    np.testing.assert_allclose(sines.f_true(x, c), expected, rtol=1e-13, atol=1e-13)
    assert np.all(np.abs(c) <= 1) and c.shape == (5,)
    np.testing.assert_array_equal(sines.sine_coefficients(0), c)
    assert not np.array_equal(sines.sine_coefficients(1), c)


def test_task_follows_its_setup():
    task = sines.sine_task()
    assert task.x_train.shape == task.y_train.shape == (1500,)
    assert task.x_test.shape == task.y_test.shape == (500,)
    assert task.x_train.min() >= -1 and task.x_train.max() <= 1
    np.testing.assert_array_equal(task.x_test, np.linspace(-1, 1, 500))
    np.testing.assert_allclose(task.y_test, sines.f_true(task.x_test, task.coefficients), rtol=0, atol=0)
    noise = task.y_train - sines.f_true(task.x_train, task.coefficients)
    assert noise.std() == pytest.approx(0.1, rel=0.1) and abs(noise.mean()) < 0.01
    X, y = task.train_pair()
    assert X.shape == (1500, 1) and X.dtype == np.float32 and y.shape == (1500,) and y.dtype == np.float32


def test_same_seed_same_task_and_the_ood_range():
    a, b = sines.sine_task(seed=3), sines.sine_task(seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    ood = sines.sine_task(train_range=(-1.0, 0.4), seed=50)
    assert ood.x_train.max() <= 0.4 and ood.x_train.min() >= -1.0 and ood.train_range == (-1.0, 0.4)
    np.testing.assert_array_equal(ood.in_range(np.array([-1.0, 0.4, 0.41, 1.0])), [True, True, False, False])
    np.testing.assert_array_equal(ood.coefficients, a.coefficients)  # same target whatever the inputs


def test_plain_network_of_the_assignment():
    net = sines.mlp(4)
    assert len(net) == 9 and sum(p.numel() for p in net.parameters()) == 1321
    assert list(net(torch.randn(10, 1)).shape) == [10, 1]
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU"] * 4 + ["Linear"]


def test_residual_and_batch_norm_variants():
    plain, res, bn = sines.mlp(6), sines.mlp(6, residual=True), sines.mlp(6, batch_norm=True)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(res) == count(plain) and count(bn) == count(plain) + 6 * 2 * 20
    blocks = [m for m in res if isinstance(m, sines.ResidualBlock)]
    assert len(blocks) == 5 and all(b.scale == pytest.approx(1 / math.sqrt(6)) for b in blocks)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in bn) == 6
    assert sines.mlp(6, residual=True, residual_scale=1.0)[1].scale == 1.0
    h = torch.randn(4, 20)
    block = blocks[0]
    with torch.no_grad():
        np.testing.assert_allclose(block(h), h + block.scale * block.linear(torch.relu(h)), rtol=1e-6)


def test_default_initialisation_is_seeded_and_leaves_the_global_state_alone():
    state = torch.random.get_rng_state()
    a, b, c = sines.mlp(3, seed=4), sines.mlp(3, seed=4), sines.mlp(3, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[2].weight, c[2].weight)
    bound = 1 / math.sqrt(20)
    assert a[2].weight.abs().max() <= bound and a[2].bias.abs().max() <= bound  # PyTorch's U(+-1/sqrt(fan_in))


def test_range_errors_split_at_the_training_range():
    task = sines.sine_task(n_train=10, n_test=101, train_range=(-1.0, 0.4))
    pred = task.y_test + np.where(task.x_test > 0.4, 2.0, 0.5)
    inside, outside = sines.range_errors(task, pred)
    assert inside == pytest.approx(0.25) and outside == pytest.approx(4.0)
    full = sines.sine_task(n_train=10, n_test=11)
    assert math.isnan(sines.range_errors(full, full.y_test)[1])


def test_training_with_the_gradient_hook_through_the_one_loop():
    task = sines.sine_task(n_train=200)
    net = init.initialise(sines.mlp(4), "he", seed=0)
    config = training.TrainConfig(lr=0.03, epochs=3, batch_size=32, momentum=0.9, loss="mse", device="cpu")
    history = training.train(net, config, task.train_pair(), hooks=[init.gradient_norm_hook(*task.train_pair())])
    profile = init.stack_gradient_norms(history.measurements)
    assert profile.shape == (4, 5) and np.all(profile > 0)
    np.testing.assert_allclose(history.measurements["train_mode_loss"], history.train_loss, rtol=1e-5)
    assert history.train_loss[-1] < 0.8 * history.train_loss[0]


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="train_range"):
        sines.sine_task(train_range=(0.5, 0.2))
    with pytest.raises(ValueError, match="train_range"):
        sines.sine_task(train_range=(-2.0, 0.0))
    with pytest.raises(ValueError, match="n_train"):
        sines.sine_task(n_train=0)
    with pytest.raises(ValueError, match="noise"):
        sines.sine_task(noise=-0.1)
    with pytest.raises(ValueError, match="hidden_layers"):
        sines.mlp(0)
    with pytest.raises(ValueError, match="hidden_layers"):
        sines.mlp(10_000)
    with pytest.raises(TypeError, match="residual"):
        sines.mlp(3, residual=1)
    with pytest.raises(ValueError, match="cannot both"):
        sines.mlp(3, residual=True, batch_norm=True)
    with pytest.raises(ValueError, match="seed"):
        sines.mlp(3, seed=-2)
    with pytest.raises(ValueError, match="x must have 1"):
        sines.f_true(np.ones((2, 2)), np.ones(5))
    with pytest.raises(ValueError, match="same number of rows"):
        sines.range_errors(sines.sine_task(n_train=5, n_test=10), np.ones(9))
    with pytest.raises(TypeError, match="task"):
        sines.range_errors("task", np.ones(9))
    with pytest.raises(ValueError, match="width"):
        sines.ResidualBlock(0)

"""Tests of nnbook.depthwidth: seeded MLPs, the trainer, accuracies and decision grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import depthwidth
from nnbook.data import spirals
from nnbook.expressivity import max_regions


@pytest.fixture(scope="module")
def small_data():
    return spirals(30, 3, noise=0.2, rng=0)


def test_mlp_architecture_and_parameter_count():
    net = depthwidth.mlp(2, depth=3, width=5, n_outputs=4, seed=0)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 5), (5, 5), (5, 4)]
    assert sum(p.numel() for p in net.parameters()) == (2 * 5 + 5) + 2 * (5 * 5 + 5) + (5 * 4 + 4)


def test_mlp_same_seed_same_weights_and_global_state_untouched():
    state = torch.get_rng_state()
    a, b, c = (depthwidth.mlp(2, 2, 8, 3, seed=s) for s in (1, 1, 2))
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a[0].weight, c[0].weight)
    # the default scheme: |w| <= 1 / sqrt(fan_in)
    assert float(a[2].weight.detach().abs().max()) <= 1 / np.sqrt(8)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": 0}, "depth"),
        ({"width": 0}, "width"),
        ({"n_inputs": 0}, "n_inputs"),
        ({"n_outputs": 2.0}, "n_outputs"),
    ],
)
def test_mlp_rejects_bad_input(kwargs, match):
    args = {"n_inputs": 2, "depth": 1, "width": 4, "n_outputs": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        depthwidth.mlp(**args)
    with pytest.raises(TypeError, match="seed"):
        depthwidth.mlp(2, 1, 4, 2, seed="0")


def test_training_is_reproducible_and_leaves_the_model_alone(small_data):
    X, y = small_data
    net = depthwidth.mlp(2, 2, 16, 3, seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    r1 = depthwidth.train_classifier(net, X, y, steps=60, lr=0.02, seed=0)
    r2 = depthwidth.train_classifier(net, X, y, steps=60, lr=0.02, seed=0)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    for p, q in zip(r1.model.parameters(), r2.model.parameters(), strict=True):
        assert torch.equal(p, q)
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)
    assert r1.losses.shape == (60,) and r1.losses[-1] < 0.8 * r1.losses[0]


def test_first_loss_is_the_cross_entropy_at_initialisation(small_data):
    X, y = small_data
    net = depthwidth.mlp(2, 1, 8, 3, seed=3)
    with torch.no_grad():
        logits = net(torch.tensor(X, dtype=torch.float32)).double().numpy()
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(len(y)), y].mean()
    result = depthwidth.train_classifier(net, X, y, steps=1)
    np.testing.assert_allclose(result.losses[0], expected, rtol=1e-5)


def test_minibatch_training_is_seeded(small_data):
    X, y = small_data
    net = depthwidth.mlp(2, 1, 8, 3, seed=0)
    a = depthwidth.train_classifier(net, X, y, steps=30, batch_size=16, seed=5).losses
    b = depthwidth.train_classifier(net, X, y, steps=30, batch_size=16, seed=5).losses
    c = depthwidth.train_classifier(net, X, y, steps=30, batch_size=16, seed=6).losses
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"X": np.zeros(5)}, ValueError, "X"),
        ({"y": np.zeros(7, dtype=int)}, ValueError, "y"),
        ({"y": np.zeros(90)}, ValueError, "y"),
        ({"model": "mlp"}, TypeError, "model"),
    ],
)
def test_trainer_rejects_bad_input(small_data, kwargs, exc, match):
    X, y = small_data
    args = {"model": depthwidth.mlp(2, 1, 4, 3, seed=0), "X": X, "y": y, "steps": 2, **kwargs}
    with pytest.raises(exc, match=match):
        depthwidth.train_classifier(**args)


def test_accuracy_against_a_manual_argmax(small_data):
    X, y = small_data
    net = depthwidth.mlp(2, 1, 8, 3, seed=1)
    with torch.no_grad():
        pred = net(torch.tensor(X, dtype=torch.float32)).numpy().argmax(axis=1)
    assert depthwidth.accuracy(net, X, y) == pytest.approx(np.mean(pred == y), abs=1e-12)


def test_predict_grid_orientation():
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # class 0 where x1 > x2
        net.bias.zero_()
    grid = depthwidth.predict_grid(net, -1.0, 1.0, resolution=11)
    assert grid[0, -1] == 0 and grid[-1, 0] == 1  # bottom-right: x1 > x2; top-left: x2 > x1
    with pytest.raises(ValueError, match="resolution"):
        depthwidth.predict_grid(net, resolution=1)
    with pytest.raises(ValueError, match="hi"):
        depthwidth.predict_grid(net, 1.0, 0.0)


def test_fit_and_score(small_data):
    X, y = small_data
    fit = depthwidth.fit_and_score(X, y, X, y, depth=2, width=8, steps=40, resolution=60)
    assert fit.n_params == (2 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    assert fit.train_accuracy == fit.test_accuracy  # same data
    assert 1 <= fit.num_regions <= max_regions(2, [8, 8])
    again = depthwidth.fit_and_score(X, y, X, y, depth=2, width=8, steps=40, resolution=60)
    assert (again.train_accuracy, again.num_regions) == (fit.train_accuracy, fit.num_regions)


def test_cosine_decay_changes_only_later_steps(small_data):
    X, y = small_data
    net = depthwidth.mlp(2, 1, 8, 3, seed=2)
    decayed = depthwidth.train_classifier(net, X, y, steps=20, lr=0.05, cosine=True).losses
    constant = depthwidth.train_classifier(net, X, y, steps=20, lr=0.05, cosine=False).losses
    assert decayed[0] == constant[0] and decayed[1] == constant[1]  # first step at the full rate
    assert not np.array_equal(decayed, constant)

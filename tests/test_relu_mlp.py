"""Tests of nnbook.relu_mlp: parameter counts, seeded construction, initialisations, batch norm folded away."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import depthwidth, relu_mlp

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "n_parameters": lambda: {"n_inputs": 2, "depth": 2, "width": 4, "n_outputs": 3, "batch_norm": True},
    "width_for_parameters": lambda: {"n_inputs": 2, "depth": 1, "n_outputs": 3, "target": 100, "batch_norm": False},
    "mlp": lambda: {"n_inputs": 2, "depth": 2, "width": 4, "n_outputs": 3, "seed": 0, "batch_norm": True},
    "fold_batchnorm": lambda: {"model": relu_mlp.mlp(2, 2, 4, 3, 0, batch_norm=True)},
}


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_architecture_and_parameter_count(batch_norm):
    net = relu_mlp.mlp(2, depth=3, width=5, n_outputs=4, seed=0, batch_norm=batch_norm)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 5), (5, 5), (5, 4)]
    assert [m.bias is None for m in linears] == [batch_norm] * 3 + [False]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net) == (3 if batch_norm else 0)
    by_hand = (2 * 5 + 5) + 2 * (5 * 5 + 5) + (5 * 4 + 4) if not batch_norm else 2 * 5 + 2 * 25 + 3 * 10 + 24
    assert sum(p.numel() for p in net.parameters()) == by_hand == relu_mlp.n_parameters(2, 3, 5, 4, batch_norm)


@pytest.mark.parametrize(("depth", "width", "bn"), [(1, 1, False), (1, 7, True), (4, 3, True), (6, 16, False)])
def test_n_parameters_counts_the_built_network(depth, width, bn):
    net = relu_mlp.mlp(3, depth, width, 2, seed=0, batch_norm=bn)
    assert relu_mlp.n_parameters(3, depth, width, 2, bn) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(
    ("target", "depth", "bn"), [(1589, 1, True), (2741, 1, True), (1589, 2, True), (500, 3, False)]
)
def test_width_for_parameters_is_the_closest(target, depth, bn):
    widths = range(1, 2000)  # oracle: brute force over widths, ties to the narrower
    counts = [relu_mlp.n_parameters(2, depth, w, 5, bn) for w in widths]
    best = min(widths, key=lambda w: (abs(counts[w - 1] - target), w))
    assert relu_mlp.width_for_parameters(2, depth, 5, target, bn) == best


def test_mlp_same_seed_same_weights_and_global_state_untouched():
    state = torch.get_rng_state()
    a, b, c = (relu_mlp.mlp(2, 2, 8, 3, seed=s) for s in (1, 1, 2))
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_he_and_torch_initialisations():
    he = relu_mlp.mlp(300, 2, 400, 10, seed=0, init="he")
    w = he[2].weight.detach().numpy()
    np.testing.assert_allclose(w.std(), math.sqrt(2 / 400), rtol=0.02)
    np.testing.assert_allclose(w.mean(), 0.0, atol=0.002)
    np.testing.assert_allclose(he[0].weight.detach().numpy().std(), math.sqrt(2 / 300), rtol=0.02)
    np.testing.assert_allclose(he[2].bias.detach().numpy().std(), relu_mlp.HE_BIAS_STD, rtol=0.15)
    default = relu_mlp.mlp(300, 2, 400, 10, seed=0, init="torch")
    bound = 1 / math.sqrt(400)  # PyTorch's default: uniform in +-1/sqrt(fan_in), std bound / sqrt(3)
    assert float(default[2].weight.detach().abs().max()) <= bound
    np.testing.assert_allclose(default[2].weight.detach().numpy().std(), bound / math.sqrt(3), rtol=0.02)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"depth": 0}, ValueError, "depth"),
        ({"width": 0}, ValueError, "width"),
        ({"n_inputs": 0}, ValueError, "n_inputs"),
        ({"n_outputs": 2.0}, TypeError, "n_outputs"),
        ({"seed": "0"}, TypeError, "seed"),
        ({"init": "xavier"}, ValueError, "init"),
        ({"batch_norm": 1}, TypeError, "batch_norm"),
        ({"depth": 10**8}, ValueError, f"<= {relu_mlp.MAX_DEPTH}"),
        ({"width": 10**8}, ValueError, f"<= {relu_mlp.MAX_WIDTH}"),
        ({"depth": 900, "width": 1000}, ValueError, "limit"),
    ],
)
def test_mlp_rejects_bad_input(kwargs, exc, match):
    args = {"n_inputs": 2, "depth": 1, "width": 4, "n_outputs": 2, "seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        relu_mlp.mlp(**args)


def test_fold_batchnorm_computes_the_same_function():
    net = relu_mlp.mlp(2, 3, 6, 4, seed=0, batch_norm=True)
    with torch.no_grad():  # statistics and affine parameters away from the identity
        for m in net:
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    folded = relu_mlp.fold_batchnorm(net)
    assert all(isinstance(m, nn.Linear | nn.ReLU) for m in folded) and len(folded) == 7
    X = torch.randn(200, 2, dtype=torch.float64)
    with torch.no_grad():
        expected = net.double().eval()(X)  # oracle: the network itself, batch norm in eval mode
        np.testing.assert_allclose(folded(X).numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    plain = relu_mlp.mlp(2, 2, 3, 2, seed=1)
    for a, b in zip(relu_mlp.fold_batchnorm(plain).parameters(), plain.parameters(), strict=True):
        assert torch.equal(a, b.double())
    with pytest.raises(ValueError, match="Linear right before"):
        relu_mlp.fold_batchnorm(nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 1)))
    with pytest.raises(TypeError, match="Tanh"):
        relu_mlp.fold_batchnorm(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.depthwidth are still importable from it, as the same objects."""
    from nnbook.depthwidth import fold_batchnorm, mlp, n_parameters, width_for_parameters

    assert mlp is relu_mlp.mlp and fold_batchnorm is relu_mlp.fold_batchnorm
    assert n_parameters is relu_mlp.n_parameters and width_for_parameters is relu_mlp.width_for_parameters
    for name in ("INITS", "HE_BIAS_STD", "MAX_DEPTH", "MAX_WIDTH", "MAX_PARAMETERS"):
        assert getattr(depthwidth, name) is getattr(relu_mlp, name)

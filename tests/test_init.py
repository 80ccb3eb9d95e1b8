"""Tests of nnbook.init: the schemes' variances against their formulas, the layer measurements, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import init
from nnbook.sines import mlp

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
_X, _Y = np.linspace(-1, 1, 12)[:, None], np.sin(3 * np.linspace(-1, 1, 12))
VALID_CALLS = {
    "weight_std": lambda: {"scheme": "uniform", "fan_in": 20, "fan_out": 10, "scale": 0.5},
    "signal_gain": lambda: {"scheme": "uniform", "fan_in": 20, "fan_out": 10, "scale": 0.5},
    "initialise": lambda: {"model": mlp(2, width=4), "scheme": "uniform", "scale": 0.1, "seed": 3},
    "activation_stats": lambda: {"model": mlp(2, width=4), "x": _X},
    "weight_gradient_norms": lambda: {"model": mlp(2, width=4), "x": _X, "y": _Y},
    "gradient_norm_hook": lambda: {"x": _X, "y": _Y},
    "stack_gradient_norms": lambda: {"measurements": {"grad_norm/000": np.ones(3)}},
    "geometric_rate": lambda: {"norms": np.array([4.0, 2.0, 1.0])},
}


@pytest.mark.parametrize(
    ("scheme", "scale", "variance"),
    [("he", None, 2 / 400), ("xavier", None, 2 / (400 + 300)), ("uniform", 0.05, 0.05**2 / 3)],
)
def test_weight_variance_matches_the_formula(scheme, scale, variance):
    layer = init.initialise(nn.Linear(400, 300), scheme, scale=scale, seed=0)
    w = layer.weight.detach().double()
    # 120,000 draws: the sample variance is within 3% (about 8 standard errors) of the formula
    assert w.var().item() == pytest.approx(variance, rel=0.03)
    assert abs(w.mean().item()) < 4 * math.sqrt(variance / w.numel())
    assert torch.count_nonzero(layer.bias) == 0
    assert init.weight_std(scheme, 400, 300, scale=scale) ** 2 == pytest.approx(variance, rel=1e-12)


def test_uniform_stays_in_its_interval_and_fills_it():
    w = init.initialise(nn.Linear(200, 200), "uniform", scale=3.0, seed=1).weight.detach()
    assert w.abs().max() <= 3.0 and w.min() < -2.99 and w.max() > 2.99


def test_he_is_gaussian_not_uniform():
    w = init.initialise(nn.Linear(500, 400), "he", seed=2).weight.detach().double().reshape(-1)
    z = (w / w.std()).numpy()
    assert np.mean(z**4) == pytest.approx(3.0, abs=0.1)  # Gaussian kurtosis 3 (a uniform has 1.8)


def test_convolution_fans_include_the_kernel():
    conv = init.initialise(nn.Conv2d(16, 32, 3), "he", seed=3)
    assert conv.weight.detach().double().var().item() == pytest.approx(2 / (16 * 9), rel=0.05)
    assert torch.count_nonzero(conv.bias) == 0


def test_every_layer_is_redrawn_biases_zeroed_and_the_model_returned():
    net = mlp(4, seed=0)
    out = init.initialise(net, "xavier", seed=5)
    assert out is net
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert all(torch.count_nonzero(m.bias) == 0 for m in linears)
    fans = [(m.in_features, m.out_features) for m in linears]
    assert fans == [(1, 20), (20, 20), (20, 20), (20, 20), (20, 1)]
    assert mlp(4, seed=0)[2].weight.detach().abs().max() <= 1 / math.sqrt(20)  # PyTorch's default bound
    assert net[2].weight.detach().abs().max() > 1 / math.sqrt(20)  # redrawn at std sqrt(2/40)


def test_same_seed_same_weights_other_seed_other_weights():
    a = init.initialise(mlp(4), "he", seed=7)
    b = init.initialise(mlp(4, seed=1), "he", seed=7)
    c = init.initialise(mlp(4), "he", seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)
    state = torch.random.get_rng_state()
    init.initialise(mlp(4), "he", seed=None)
    assert torch.equal(state, torch.random.get_rng_state())  # no global state used


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="'uniform', 'he', 'xavier'"):
        init.initialise(mlp(1), "kaiming")
    with pytest.raises(TypeError, match="scheme"):
        init.initialise(mlp(1), 3)
    with pytest.raises(ValueError, match="scale is required"):
        init.initialise(mlp(1), "uniform")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            init.initialise(mlp(1), "uniform", scale=bad)
    with pytest.raises(ValueError, match="scale is only used"):
        init.initialise(mlp(1), "he", scale=1.0)
    with pytest.raises(TypeError, match="model"):
        init.initialise([nn.Linear(1, 1)], "he")
    with pytest.raises(ValueError, match="seed"):
        init.initialise(mlp(1), "he", seed=-1)
    with pytest.raises(ValueError, match="fan_in"):
        init.weight_std("he", 0, 3)
    with pytest.raises(ValueError, match=r"at least one nn\.Linear"):
        init.weight_gradient_norms(nn.Sequential(nn.ReLU()), np.ones((2, 1)), np.ones(2))
    with pytest.raises(ValueError, match="same number of rows"):
        init.weight_gradient_norms(mlp(1), np.ones((3, 1)), np.ones(2))
    with pytest.raises(ValueError, match="x must have 2"):
        init.activation_stats(mlp(1), np.ones(3))
    with pytest.raises(ValueError, match="positive"):
        init.geometric_rate(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="grad_norm"):
        init.stack_gradient_norms({"loss": np.ones(3)})


def test_gradient_norms_equal_finite_differences_of_the_loss():
    net = mlp(3, width=6, seed=1).double()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-1, 1, (50, 1)), rng.standard_normal(50)
    g = init.weight_gradient_norms(net, x, y)
    assert g.names == ("0.weight", "2.weight", "4.weight", "6.weight")
    np.testing.assert_array_equal(g.sizes, [6, 36, 36, 6])

    def loss() -> float:
        with torch.no_grad():
            return float(((net(torch.from_numpy(x))[:, 0] - torch.from_numpy(y)) ** 2).mean())

    assert g.loss == pytest.approx(loss(), rel=1e-12)
    eps, fd_norms = 1e-6, []
    for layer in (net[0], net[2], net[4], net[6]):
        fd = np.zeros(layer.weight.numel())
        for k in range(fd.size):
            with torch.no_grad():
                layer.weight.view(-1)[k] += eps
                up = loss()
                layer.weight.view(-1)[k] -= 2 * eps
                down = loss()
                layer.weight.view(-1)[k] += eps
            fd[k] = (up - down) / (2 * eps)
        fd_norms.append(np.linalg.norm(fd))
    np.testing.assert_allclose(g.norms, fd_norms, rtol=1e-7)


def test_float32_norm_underflows_where_the_float64_norm_does_not():
    net = nn.Sequential(nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        net[0].weight.zero_()
    g = init.weight_gradient_norms(net, np.full((1, 4), 1e-24), np.array([1.0]))  # entries -2e-24, squares 4e-48
    assert g.norms[0] == pytest.approx(4e-24, rel=1e-6)
    assert g.norms_float32[0] == 0.0 and g.zero_entries[0] == 0


def test_batch_norm_gradients_use_batch_statistics_and_leave_the_model_alone():
    net = mlp(2, width=5, batch_norm=True, seed=0).double().eval()
    buffers = [b.clone() for b in net.buffers()]
    x = np.linspace(-1, 1, 40)[:, None]
    y = np.sin(3 * x[:, 0])
    g = init.weight_gradient_norms(net, x, y)
    assert not net.training and all(torch.equal(a, b) for a, b in zip(buffers, net.buffers(), strict=True))
    assert all(p.grad is None for p in net.parameters())
    net.train()
    loss = ((net(torch.from_numpy(x))[:, 0] - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    np.testing.assert_allclose(
        g.norms,
        [net[0].weight.grad.norm().item(), net[3].weight.grad.norm().item(), net[6].weight.grad.norm().item()],
        rtol=1e-12,
    )


def test_hook_and_stack():
    x, y = np.linspace(-1, 1, 30)[:, None], np.linspace(0, 1, 30)
    net = mlp(4, seed=2)
    out = init.gradient_norm_hook(x, y)(net, 0)
    assert list(out) == [f"grad_norm/{i:03d}" for i in range(5)] + ["train_mode_loss"]
    grads = init.weight_gradient_norms(net, x, y)
    norms = [out[f"grad_norm/{i:03d}"] for i in range(5)]
    np.testing.assert_array_equal(norms, grads.norms)
    assert out["train_mode_loss"] == grads.loss
    stacked = init.stack_gradient_norms({k: np.array([v, 2 * v]) for k, v in out.items()})
    np.testing.assert_array_equal(stacked, np.array([norms, [2 * v for v in norms]]))


def test_activation_stats_against_a_manual_forward_pass():
    net = init.initialise(mlp(3, width=7, seed=0), "he", seed=4)
    with torch.no_grad():
        net[2].bias.fill_(-50.0)  # every unit of the second layer dead
    x = np.linspace(-1, 1, 25)[:, None]
    stats = init.activation_stats(net, x)
    h, rms, dead = torch.from_numpy(x).float(), [], []
    with torch.no_grad():
        for module in net:
            h = module(h)
            if isinstance(module, nn.ReLU):
                rms.append(float(h.double().pow(2).mean().sqrt()))
                dead.append(int((h == 0).all(dim=0).sum()))
    np.testing.assert_allclose(stats.rms, rms, rtol=1e-12)
    np.testing.assert_array_equal(stats.dead, dead)
    assert stats.dead[1] == 7 and stats.rms[1] == 0.0
    np.testing.assert_array_equal(stats.width, [7, 7, 7])


def test_small_uniform_initialisation_shrinks_the_signal_by_the_predicted_factor():
    """U(-a, a) weights, zero biases: each ReLU layer multiplies the rms by about sqrt(fan_in a^2 / 6)."""
    net = init.initialise(mlp(8, width=400), "uniform", scale=0.03, seed=0)
    stats = init.activation_stats(net, np.random.default_rng(0).uniform(-1, 1, (200, 1)))
    ratios = stats.rms[1:] / stats.rms[:-1]
    np.testing.assert_allclose(ratios, init.signal_gain("uniform", 400, 400, 0.03), rtol=0.1)
    assert init.signal_gain("uniform", 400, 400, 0.03) == pytest.approx(math.sqrt(400 * 0.03**2 / 6), rel=1e-12)


def test_geometric_rate_recovers_a_known_rate():
    norms = 3.0 * 0.41 ** np.arange(30) * np.exp(np.random.default_rng(0).normal(0, 0.01, 30))
    assert init.geometric_rate(norms) == pytest.approx(0.41, rel=0.01)

"""Tests of nnbook.spectra: the per-example Jacobian against a backward() loop, its SVD, features and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from nnbook import spectra
from nnbook.sines import ResidualBlock, mlp

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
_XS = np.linspace(-1, 1, 9)
VALID_CALLS = {
    "per_example_jacobian": lambda: {"model": mlp(2, width=4), "x": _XS[:, None]},
    "linearisation_spectrum": lambda: {"model": mlp(2, width=4), "x": _XS[:, None], "num_features": 3},
    "feature_functions": lambda: {
        "model": mlp(2, width=4),
        "spectrum": spectra.linearisation_spectrum(mlp(2, width=4), _XS),
        "x": _XS[:4, None],
    },
    "critical_learning_rate": lambda: {
        "spectrum": spectra.linearisation_spectrum(mlp(1, width=3), _XS),
        "momentum": 0.9,
    },
    "layer_inputs": lambda: {"model": mlp(2, width=4), "x": _XS[:, None]},
    "block_jacobian_singular_values": lambda: {"block": ResidualBlock(4), "h": np.ones((3, 4))},
    "draw_spectrum": lambda: {
        "axes": Figure().subplots(1, 3),  # outside pyplot: many calls open no windows
        "spectrum": spectra.linearisation_spectrum(mlp(2, width=4), _XS),
        "x_grid": _XS,
        "features_grid": spectra.feature_functions(
            mlp(2, width=4), spectra.linearisation_spectrum(mlp(2, width=4), _XS), _XS
        ),
        "num_values": 5,
        "num_features": 3,
    },
}


def loop_jacobian(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """The reference: one backward() per input, gradients concatenated in parameters() order."""
    rows = []
    for xi in torch.as_tensor(x.reshape(len(x), -1), dtype=next(model.parameters()).dtype):
        model.zero_grad()
        model(xi[None]).sum().backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double().numpy())
    return np.stack(rows)


@pytest.mark.parametrize("hidden_layers", [1, 4])
def test_jacobian_equals_a_loop_of_backward_calls(hidden_layers):
    net = mlp(hidden_layers, seed=3).double()
    x = np.random.default_rng(0).uniform(-1, 1, 37)
    np.testing.assert_allclose(spectra.per_example_jacobian(net, x), loop_jacobian(net, x), rtol=1e-12, atol=1e-14)


def test_jacobian_in_float32_matches_the_loop_and_the_parameter_order():
    net = mlp(2, width=5, seed=1)
    x = np.linspace(-1, 1, 11)
    jac = spectra.per_example_jacobian(net, x)
    assert jac.shape == (11, sum(p.numel() for p in net.parameters()))
    np.testing.assert_allclose(jac, loop_jacobian(net, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(jac[:, -1], 1.0)  # the last parameter is the output bias: d f / d b = 1


def test_jacobian_is_a_directional_derivative():
    """J v equals the finite-difference change of the outputs along v (float64, central differences)."""
    net = mlp(3, width=8, residual=True, seed=2).double()
    x = np.random.default_rng(1).uniform(-1, 1, 20)
    direction = [
        torch.randn(p.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
        for i, p in enumerate(net.parameters())
    ]
    flat = torch.cat([d.reshape(-1) for d in direction]).numpy()
    eps = 1e-6

    def outputs(sign: float) -> np.ndarray:
        moved = mlp(3, width=8, residual=True, seed=2).double()
        with torch.no_grad():
            for p, q, d in zip(moved.parameters(), net.parameters(), direction, strict=True):
                p.copy_(q + sign * eps * d)
            return moved(torch.from_numpy(x)[:, None])[:, 0].numpy()

    fd = (outputs(1.0) - outputs(-1.0)) / (2 * eps)
    np.testing.assert_allclose(spectra.per_example_jacobian(net, x) @ flat, fd, rtol=1e-6, atol=1e-8)


def test_batch_norm_model_is_differentiated_in_evaluation_mode_and_left_unchanged():
    net = mlp(2, width=4, batch_norm=True, seed=0).double().train()
    before = [b.clone() for b in net.buffers()]
    x = np.linspace(-1, 1, 6)
    jac = spectra.per_example_jacobian(net, x)
    assert net.training and all(torch.equal(a, b) for a, b in zip(before, net.buffers(), strict=True))
    np.testing.assert_allclose(jac, loop_jacobian(net.eval(), x), rtol=1e-12, atol=1e-14)


def test_spectrum_matches_numpy_svd_and_reconstructs_the_jacobian():
    net = mlp(4, seed=5).double()
    x = np.random.default_rng(2).uniform(-1, 1, 60)
    jac = spectra.per_example_jacobian(net, x)
    s = spectra.linearisation_spectrum(net, x, num_features=60)
    np.testing.assert_allclose(s.singular_values, np.linalg.svd(jac, compute_uv=False), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(s.features @ s.directions.T, jac, atol=1e-10)
    np.testing.assert_allclose(s.directions.T @ s.directions, np.eye(60), atol=1e-10)
    np.testing.assert_allclose(jac @ s.directions, s.features, atol=1e-10)  # U S = J V
    peak = np.abs(s.features).argmax(axis=0)
    assert np.all(s.features[peak, np.arange(60)] > 0)  # the sign convention
    assert s.num_parameters == 1321 and s.features.shape == (60, 60) and s.x.shape == (60, 1)


def test_energy_rank_and_feature_count():
    net = mlp(1, seed=0).double()
    x = np.linspace(-1, 1, 200)
    s = spectra.linearisation_spectrum(net, x)
    assert s.features.shape == (200, 10) and s.directions.shape == (61, 10)
    assert s.energy(0) == 0.0 and s.energy(s.singular_values.size) == pytest.approx(1.0)
    np.testing.assert_allclose(s.energy(3), np.sum(s.singular_values[:3] ** 2) / np.sum(s.singular_values**2))
    assert s.rank(0.0) == np.sum(s.singular_values > 0) and 1 <= s.rank() <= 61


def test_zero_bias_relu_network_has_rank_at_most_four_in_one_dimension():
    """With zero biases all kinks sit at x = 0: the gradients span {1, [x > 0], x+, x-}.

    (An input exactly at 0, where every pre-activation is 0 and relu'(0) = 0, would add a fifth: the grid avoids it.)
    """
    from nnbook.init import initialise

    net = initialise(mlp(4).double(), "he", seed=0)
    s = spectra.linearisation_spectrum(net, np.linspace(-1, 1, 300))
    assert s.rank(1e-9) == 4


def test_feature_functions_extend_the_features():
    net = mlp(2, seed=4)
    x = np.linspace(-1, 0.4, 50)
    s = spectra.linearisation_spectrum(net, x, num_features=5)
    np.testing.assert_allclose(spectra.feature_functions(net, s, x), s.features, atol=1e-5)
    assert spectra.feature_functions(net, s, np.linspace(0.4, 1, 7)).shape == (7, 5)
    with pytest.raises(ValueError, match="parameters"):
        spectra.feature_functions(mlp(3, seed=4), s, x)


def test_critical_learning_rate_separates_stable_from_divergent_gradient_descent():
    """Full-batch heavy ball on a linear model: just below the rate the loss falls, just above it grows."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = rng.standard_normal(40)
    net = nn.Linear(3, 1, bias=False).double()
    s = spectra.linearisation_spectrum(net, X)
    lr_crit = spectra.critical_learning_rate(s, momentum=0.9)

    def distance_after(lr: float, steps: int = 400) -> float:  # PyTorch's SGD: buf = 0.9 buf + g; w -= lr buf
        w, buf = np.zeros(3), np.zeros(3)
        for _ in range(steps):
            buf = 0.9 * buf + 2 * X.T @ (X @ w - y) / 40
            w = w - lr * buf
        return float(np.linalg.norm(w - np.linalg.lstsq(X, y, rcond=None)[0]))

    assert distance_after(0.95 * lr_crit) < 1e-6 and distance_after(1.05 * lr_crit) > 1e6


def test_values_only_spectrum_has_the_same_singular_values():
    net = mlp(2, seed=6)
    x = np.linspace(-1, 1, 80)
    full, values = spectra.linearisation_spectrum(net, x), spectra.linearisation_spectrum(net, x, num_features=0)
    np.testing.assert_allclose(values.singular_values, full.singular_values, rtol=1e-10, atol=1e-12)
    assert values.features.shape == (80, 0) and values.directions.shape == (full.num_parameters, 0)


def test_same_seed_same_spectrum():
    x = np.linspace(-1, 1, 100)
    a = spectra.linearisation_spectrum(mlp(4, seed=9), x)
    b = spectra.linearisation_spectrum(mlp(4, seed=9), x)
    np.testing.assert_array_equal(a.singular_values, b.singular_values)
    np.testing.assert_array_equal(a.features, b.features)


def test_bad_inputs_raise_named_errors():
    net = mlp(1, seed=0)
    with pytest.raises(TypeError, match="model"):
        spectra.per_example_jacobian("net", np.ones(3))
    with pytest.raises(ValueError, match="x must have 1 or 2 dimension"):
        spectra.per_example_jacobian(net, np.ones((2, 1, 1)))
    with pytest.raises(ValueError, match="x must hold finite"):
        spectra.per_example_jacobian(net, np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="one output per input"):
        spectra.per_example_jacobian(nn.Linear(1, 2), np.ones(3))
    with pytest.raises(ValueError, match="no parameters"):
        spectra.per_example_jacobian(nn.ReLU(), np.ones(3))
    with pytest.raises(ValueError, match="Jacobian entries"):
        spectra.per_example_jacobian(nn.Sequential(nn.Linear(1, 4096), nn.Linear(4096, 1)), np.zeros(6000))
    with pytest.raises(ValueError, match="num_features"):
        spectra.linearisation_spectrum(net, np.ones(3), num_features=-1)
    with pytest.raises(TypeError, match="spectrum"):
        spectra.feature_functions(net, "s", np.ones(3))
    with pytest.raises(TypeError, match="spectrum"):
        spectra.critical_learning_rate(np.ones(3))
    s = spectra.linearisation_spectrum(net, np.ones(3))
    with pytest.raises(ValueError, match="momentum"):
        spectra.critical_learning_rate(s, momentum=1.0)
    with pytest.raises(ValueError, match="rtol"):
        s.rank(-1.0)


def test_residual_block_jacobian_is_identity_plus_scaled_weight_times_active_mask():
    block = ResidualBlock(6, scale=0.5).double()
    h = np.random.default_rng(3).standard_normal((4, 6))
    sv = spectra.block_jacobian_singular_values(block, h)
    W = block.linear.weight.detach().numpy()
    for row, s in zip(h, sv, strict=True):
        expected = np.eye(6) + 0.5 * W @ np.diag((row > 0).astype(float))
        np.testing.assert_allclose(s, np.linalg.svd(expected, compute_uv=False), rtol=1e-12)


def test_plain_layer_jacobian_is_active_mask_times_weight_and_layer_inputs_chain():
    net = mlp(3, width=6, seed=1).double()
    x = np.linspace(-1, 1, 9)[:, None]
    hs = spectra.layer_inputs(net, x)
    assert len(hs) == len(net) + 1
    with torch.no_grad():
        np.testing.assert_allclose(hs[-1], net(torch.from_numpy(x)).numpy(), rtol=1e-12)
    layer = nn.Sequential(net[2], net[3])  # Linear(6, 6), ReLU: Jacobian D W
    sv = spectra.block_jacobian_singular_values(layer, hs[2])
    W = net[2].weight.detach().numpy()
    for h, s in zip(hs[2], sv, strict=True):
        active = (W @ h + net[2].bias.detach().numpy() > 0).astype(float)
        np.testing.assert_allclose(s, np.linalg.svd(active[:, None] * W, compute_uv=False), rtol=1e-10, atol=1e-14)
    with pytest.raises(TypeError, match="Sequential"):
        spectra.layer_inputs(nn.Linear(1, 1), x)

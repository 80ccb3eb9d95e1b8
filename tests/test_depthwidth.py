"""Tests of nnbook.depthwidth: seeded MLPs, seed stacks trained as independent runs, folding, paired statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import depthwidth
from nnbook.data import spirals
from nnbook.expressivity import max_regions
from nnbook.regions import regions_on_grid
from nnbook.training import TrainConfig


def _tiny_sets():
    return [spirals(8, 2, rng=s) for s in range(2)]


# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "n_parameters": lambda: {"n_inputs": 2, "depth": 2, "width": 4, "n_outputs": 3, "batch_norm": True},
    "width_for_parameters": lambda: {"n_inputs": 2, "depth": 1, "n_outputs": 3, "target": 100, "batch_norm": False},
    "mlp": lambda: {"n_inputs": 2, "depth": 2, "width": 4, "n_outputs": 3, "seed": 0, "batch_norm": True},
    "fold_batchnorm": lambda: {"model": depthwidth.mlp(2, 2, 4, 3, 0, batch_norm=True)},
    "fit_seeds": lambda: {
        "train_sets": _tiny_sets(),
        "test_sets": _tiny_sets(),
        "depth": 1,
        "width": 4,
        "config": TrainConfig(lr=0.01, epochs=1, batch_size=8, optimiser="adam", device="cpu"),
        "seeds": [0, 1],
        "resolution": 5,
        "near_radius": 0.5,
    },
    "paired_difference": lambda: {"a": np.array([0.9, 0.8]), "b": np.array([0.7, 0.8])},
    "predict_grid": lambda: {"model": depthwidth.mlp(2, 1, 4, 3, 0), "lo": -1.0, "hi": 1.0, "resolution": 5},
}


@pytest.fixture(scope="module")
def seed_sets():
    return [spirals(30, 3, noise=0.2, rng=s) for s in range(6)]


def config(**changes) -> TrainConfig:
    return TrainConfig(**{"lr": 0.01, "epochs": 3, "batch_size": 16, "optimiser": "adam", "device": "cpu", **changes})


# --- networks ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_architecture_and_parameter_count(batch_norm):
    net = depthwidth.mlp(2, depth=3, width=5, n_outputs=4, seed=0, batch_norm=batch_norm)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 5), (5, 5), (5, 4)]
    assert [m.bias is None for m in linears] == [batch_norm] * 3 + [False]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net) == (3 if batch_norm else 0)
    by_hand = (2 * 5 + 5) + 2 * (5 * 5 + 5) + (5 * 4 + 4) if not batch_norm else 2 * 5 + 2 * 25 + 3 * 10 + 24
    assert sum(p.numel() for p in net.parameters()) == by_hand == depthwidth.n_parameters(2, 3, 5, 4, batch_norm)


@pytest.mark.parametrize(("depth", "width", "bn"), [(1, 1, False), (1, 7, True), (4, 3, True), (6, 16, False)])
def test_n_parameters_counts_the_built_network(depth, width, bn):
    net = depthwidth.mlp(3, depth, width, 2, seed=0, batch_norm=bn)
    assert depthwidth.n_parameters(3, depth, width, 2, bn) == sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(
    ("target", "depth", "bn"), [(1589, 1, True), (2741, 1, True), (1589, 2, True), (500, 3, False)]
)
def test_width_for_parameters_is_the_closest(target, depth, bn):
    widths = range(1, 2000)  # oracle: brute force over widths, ties to the narrower
    counts = [depthwidth.n_parameters(2, depth, w, 5, bn) for w in widths]
    best = min(widths, key=lambda w: (abs(counts[w - 1] - target), w))
    assert depthwidth.width_for_parameters(2, depth, 5, target, bn) == best


def test_mlp_same_seed_same_weights_and_global_state_untouched():
    state = torch.get_rng_state()
    a, b, c = (depthwidth.mlp(2, 2, 8, 3, seed=s) for s in (1, 1, 2))
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a[0].weight, c[0].weight)


def test_he_and_torch_initialisations():
    he = depthwidth.mlp(300, 2, 400, 10, seed=0, init="he")
    w = he[2].weight.detach().numpy()
    np.testing.assert_allclose(w.std(), math.sqrt(2 / 400), rtol=0.02)
    np.testing.assert_allclose(w.mean(), 0.0, atol=0.002)
    np.testing.assert_allclose(he[0].weight.detach().numpy().std(), math.sqrt(2 / 300), rtol=0.02)
    np.testing.assert_allclose(he[2].bias.detach().numpy().std(), depthwidth.HE_BIAS_STD, rtol=0.15)
    default = depthwidth.mlp(300, 2, 400, 10, seed=0, init="torch")
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
        ({"depth": 10**8}, ValueError, f"<= {depthwidth.MAX_DEPTH}"),
        ({"width": 10**8}, ValueError, f"<= {depthwidth.MAX_WIDTH}"),
        ({"depth": 900, "width": 1000}, ValueError, "limit"),
    ],
)
def test_mlp_rejects_bad_input(kwargs, exc, match):
    args = {"n_inputs": 2, "depth": 1, "width": 4, "n_outputs": 2, "seed": 0, **kwargs}
    with pytest.raises(exc, match=match):
        depthwidth.mlp(**args)


def test_fold_batchnorm_computes_the_same_function():
    net = depthwidth.mlp(2, 3, 6, 4, seed=0, batch_norm=True)
    with torch.no_grad():  # statistics and affine parameters away from the identity
        for m in net:
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    folded = depthwidth.fold_batchnorm(net)
    assert all(isinstance(m, nn.Linear | nn.ReLU) for m in folded) and len(folded) == 7
    X = torch.randn(200, 2, dtype=torch.float64)
    with torch.no_grad():
        expected = net.double().eval()(X)  # oracle: the network itself, batch norm in eval mode
        np.testing.assert_allclose(folded(X).numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    plain = depthwidth.mlp(2, 2, 3, 2, seed=1)
    for a, b in zip(depthwidth.fold_batchnorm(plain).parameters(), plain.parameters(), strict=True):
        assert torch.equal(a, b.double())
    with pytest.raises(ValueError, match="Linear right before"):
        depthwidth.fold_batchnorm(nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 1)))
    with pytest.raises(TypeError, match="Tanh"):
        depthwidth.fold_batchnorm(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_fit_seeds_scores_every_member(seed_sets):
    tests = [spirals(20, 3, noise=0.2, rng=10 + s) for s in range(6)]
    seeds = [5, 6, 7, 8, 9, 10]
    fits = depthwidth.fit_seeds(seed_sets, tests, 2, 8, config(), seeds=seeds, resolution=40, initial=True)
    assert (fits.depth, fits.width, fits.n_params) == (2, 8, depthwidth.n_parameters(2, 2, 8, 3, True))
    np.testing.assert_array_equal(fits.seeds, seeds)
    for s, model in enumerate(fits.models):
        with torch.no_grad():  # oracle: argmax by hand on each member's own sets
            for (X, y), acc in ((seed_sets[s], fits.train_accuracy[s]), (tests[s], fits.test_accuracy[s])):
                pred = model(torch.tensor(X, dtype=torch.float32)).numpy().argmax(axis=1)
                assert acc == pytest.approx(np.mean(pred == y), abs=1e-12)
        assert fits.num_regions[s] == regions_on_grid(depthwidth.fold_batchnorm(model), -1.5, 1.5, 40).num_regions
        init = depthwidth.mlp(2, 2, 8, 3, seeds[s], batch_norm=True).eval()
        assert fits.initial_regions[s] == regions_on_grid(depthwidth.fold_batchnorm(init), -1.5, 1.5, 40).num_regions
        assert 1 <= fits.num_regions[s] <= max_regions(2, [8, 8])
    assert [h.epoch.tolist() for h in fits.histories] == [[0, 1, 2, 3]] * 2  # 3 ** 4 > STACK_CLASSES: 4 + 2
    losses = []  # oracle: the mean over members of each member's cross-entropy on its own training set
    for s, model in enumerate(fits.models):
        with torch.no_grad():
            logits = model(torch.tensor(seed_sets[s][0], dtype=torch.float32))
            losses.append(float(nn.functional.cross_entropy(logits, torch.from_numpy(seed_sets[s][1]))))
    assert fits.train_loss[-1] == pytest.approx(np.mean(losses), rel=1e-5)
    assert fits.near_far is None and fits.initial_near_far is None
    again = depthwidth.fit_seeds(
        seed_sets, tests, 2, 8, config(), seeds=seeds, resolution=40, near_radius=0.2, initial=True
    )
    np.testing.assert_array_equal(again.test_accuracy, fits.test_accuracy)
    np.testing.assert_array_equal(again.num_regions, fits.num_regions)
    for s, model in enumerate(again.models):  # oracle: boundary fractions counted by hand on each member's grid
        labels = regions_on_grid(depthwidth.fold_batchnorm(model), -1.5, 1.5, 40).labels
        edge = np.zeros(labels.shape, dtype=bool)
        edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
        edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
        xs = np.linspace(-1.5, 1.5, 40)
        gx, gy = np.meshgrid(xs, xs)
        X = seed_sets[s][0]
        near = (np.hypot(gx.ravel()[:, None] - X[:, 0], gy.ravel()[:, None] - X[:, 1]).min(axis=1) <= 0.2).reshape(
            40, 40
        )
        assert again.near_far[s] == pytest.approx(edge[near].mean() / edge[~near].mean(), rel=1e-12)
    np.testing.assert_array_equal(again.initial_regions, fits.initial_regions)
    for s, seed in enumerate(seeds):  # at initialisation, oracle as above on the untrained network
        init = depthwidth.mlp(2, 2, 8, 3, seed, batch_norm=True).eval()
        labels = regions_on_grid(depthwidth.fold_batchnorm(init), -1.5, 1.5, 40).labels
        edge = np.zeros(labels.shape, dtype=bool)
        edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
        edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
        xs = np.linspace(-1.5, 1.5, 40)
        gx, gy = np.meshgrid(xs, xs)
        X = seed_sets[s][0]
        near = (np.hypot(gx.ravel()[:, None] - X[:, 0], gy.ravel()[:, None] - X[:, 1]).min(axis=1) <= 0.2).reshape(
            40, 40
        )
        assert again.initial_near_far[s] == pytest.approx(edge[near].mean() / edge[~near].mean(), rel=1e-12)


def test_fit_seeds_rejects_bad_input(seed_sets):
    with pytest.raises(ValueError, match="test_sets"):
        depthwidth.fit_seeds(seed_sets, seed_sets[:2], 1, 4, config())
    with pytest.raises(ValueError, match="seeds"):
        depthwidth.fit_seeds(seed_sets[:2], seed_sets[:2], 1, 4, config(), seeds=[0])
    with pytest.raises(ValueError, match="train_sets"):
        depthwidth.fit_seeds([seed_sets[0], spirals(20, 3, rng=9)], seed_sets[:2], 1, 4, config())
    with pytest.raises(ValueError, match="X"):
        depthwidth.fit_seeds([(np.zeros((5, 3)), np.zeros(5, dtype=int))], seed_sets[:1], 1, 4, config())
    with pytest.raises(TypeError, match="train_sets"):
        depthwidth.fit_seeds("sets", seed_sets, 1, 4, config())


# --- statistics and plots ------------------------------------------------------------------------------------------


def test_paired_difference_on_rows_that_differ():
    a, b = np.array([0.9, 0.7, 0.85, 0.6]), np.array([0.8, 0.75, 0.5, 0.6])
    d = depthwidth.paired_difference(a, b)
    np.testing.assert_allclose(d.differences, [0.1, -0.05, 0.35, 0.0], atol=1e-15)
    assert d.mean == pytest.approx(0.1, abs=1e-15) and d.low == pytest.approx(-0.05, abs=1e-15)
    assert d.high == pytest.approx(0.35, abs=1e-15) and d.wins == 2
    with pytest.raises(ValueError, match="b"):
        depthwidth.paired_difference(a, b[:3])
    with pytest.raises(ValueError, match="a"):
        depthwidth.paired_difference(np.array([np.nan]), np.array([1.0]))


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


def test_fit_seeds_refuses_a_radius_that_separates_nothing(seed_sets):
    with pytest.raises(ValueError, match="near_radius"):
        depthwidth.fit_seeds(seed_sets[:2], seed_sets[:2], 1, 4, config(), near_radius=100.0)
    with pytest.raises(ValueError, match="hi"):
        depthwidth.fit_seeds(seed_sets[:2], seed_sets[:2], 1, 4, config(), lo=1.0, hi=0.0)
    with pytest.raises(TypeError, match="config"):
        depthwidth.fit_seeds(seed_sets[:2], seed_sets[:2], 1, 4, {"lr": 0.1})

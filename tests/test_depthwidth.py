"""Tests of nnbook.depthwidth: seed stacks trained as independent runs, regions counted, paired statistics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import depthwidth, relu_mlp
from nnbook.data import spirals
from nnbook.region_bounds import max_regions
from nnbook.regions import regions_on_grid
from nnbook.training import TrainConfig


def _tiny_sets():
    return [spirals(8, 2, rng=s) for s in range(2)]


# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
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
    "predict_grid": lambda: {"model": relu_mlp.mlp(2, 1, 4, 3, 0), "lo": -1.0, "hi": 1.0, "resolution": 5},
}


@pytest.fixture(scope="module")
def seed_sets():
    return [spirals(30, 3, noise=0.2, rng=s) for s in range(6)]


def config(**changes) -> TrainConfig:
    return TrainConfig(**{"lr": 0.01, "epochs": 3, "batch_size": 16, "optimiser": "adam", "device": "cpu", **changes})


# --- training and scoring seeds ---------------------------------------------------------------------------------


def test_fit_seeds_scores_every_member(seed_sets):
    tests = [spirals(20, 3, noise=0.2, rng=10 + s) for s in range(6)]
    seeds = [5, 6, 7, 8, 9, 10]
    fits = depthwidth.fit_seeds(seed_sets, tests, 2, 8, config(), seeds=seeds, resolution=40, initial=True)
    assert (fits.depth, fits.width, fits.n_params) == (2, 8, relu_mlp.n_parameters(2, 2, 8, 3, True))
    np.testing.assert_array_equal(fits.seeds, seeds)
    for s, model in enumerate(fits.models):
        with torch.no_grad():  # oracle: argmax by hand on each member's own sets
            for (X, y), acc in ((seed_sets[s], fits.train_accuracy[s]), (tests[s], fits.test_accuracy[s])):
                pred = model(torch.tensor(X, dtype=torch.float32)).numpy().argmax(axis=1)
                assert acc == pytest.approx(np.mean(pred == y), abs=1e-12)
        assert fits.num_regions[s] == regions_on_grid(relu_mlp.fold_batchnorm(model), -1.5, 1.5, 40).num_regions
        init = relu_mlp.mlp(2, 2, 8, 3, seeds[s], batch_norm=True).eval()
        assert fits.initial_regions[s] == regions_on_grid(relu_mlp.fold_batchnorm(init), -1.5, 1.5, 40).num_regions
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
        assert again.near_far[s] == pytest.approx(_near_far_by_hand(model, seed_sets[s][0]), rel=1e-12)
    np.testing.assert_array_equal(again.initial_regions, fits.initial_regions)
    for s, seed in enumerate(seeds):  # at initialisation, oracle as above on the untrained network
        init = relu_mlp.mlp(2, 2, 8, 3, seed, batch_norm=True).eval()
        assert again.initial_near_far[s] == pytest.approx(_near_far_by_hand(init, seed_sets[s][0]), rel=1e-12)


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


def _near_far_by_hand(model, X):
    """Boundary fraction of the 40 x 40 grid cells within 0.2 of a point of X over that of the other cells."""
    labels = regions_on_grid(relu_mlp.fold_batchnorm(model), -1.5, 1.5, 40).labels
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    gx, gy = np.meshgrid(np.linspace(-1.5, 1.5, 40), np.linspace(-1.5, 1.5, 40))
    distance = np.hypot(gx.ravel()[:, None] - X[:, 0], gy.ravel()[:, None] - X[:, 1]).min(axis=1)
    near = (distance <= 0.2).reshape(40, 40)
    return edge[near].mean() / edge[~near].mean()

"""Tests of nnbook.sawtooth: the network, its perturbations and the piece counts against depth."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import sawtooth
from nnbook.expressivity import count_linear_pieces, piecewise_linear

# A valid call of every public function that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {
    "sawtooth": lambda: {"x": np.linspace(-2, 2, 9), "depth": 2},
    "noisy_middle_layer": lambda: {"noise_level": 0.1, "generator": 0},
    "random_middle_layer": lambda: {"generator": 0},
    "sawtooth_network": lambda: {"num_hidden_layers": 3},
    "reinitialised": lambda: {"model": sawtooth.sawtooth_network(3), "seed": 0},
    "variant_network": lambda: {"depth": 3, "kind": "noisy", "seed": 0, "noise_level": 0.1},
    "pieces_vs_depth": lambda: {"depths": [0, 2, 4], "kind": "noisy", "seeds": [0, 1], "noise_level": 0.1},
    "growth_exponent": lambda: {"depths": [1, 2, 3], "counts": np.array([[2.0, 4.0, 8.0]])},
    "breakdown_level": lambda: {"levels": [0.1, 1.0], "exponents": [0.9, 0.2], "threshold": 0.5},
}


def run(net: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return net.double()(torch.from_numpy(x)[:, None])[:, 0].numpy()


def test_depth_zero_is_the_identity():
    net = sawtooth.sawtooth_network(0)
    x = torch.linspace(-3, 3, 13)[:, None]
    with torch.no_grad():
        assert torch.equal(net(x), x)


@pytest.mark.parametrize("depth", [1, 2, 3, 6, 10])
def test_network_equals_the_closed_form(depth):
    x = np.linspace(-2, 2, 4001)
    np.testing.assert_allclose(
        run(sawtooth.sawtooth_network(depth), x), sawtooth.sawtooth(x, depth), rtol=0, atol=1e-12 * 2**depth
    )


def test_closed_form_is_the_fold_composed():
    x = np.random.default_rng(0).uniform(-2, 2, 100)
    np.testing.assert_allclose(sawtooth.sawtooth(x, 3), 2 * np.abs(2 * np.abs(2 * np.abs(x) - 2) - 2) - 2)
    np.testing.assert_array_equal(sawtooth.sawtooth(x, 0), x)


def test_architecture_is_narrow_and_deep():
    net = sawtooth.sawtooth_network(5)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert len(net) == 11 and len(linears) == 6
    assert [(m.in_features, m.out_features) for m in linears] == [(1, 2)] + [(2, 2)] * 4 + [(2, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in net) == 5


def test_middle_layer_is_copied_into_every_position():
    layer = sawtooth.noisy_middle_layer(0.1, generator=0)
    net = sawtooth.sawtooth_network(4, middle_layer=layer)
    middles = [net[2], net[4], net[6]]
    for m in middles:
        assert m is not layer and torch.equal(m.weight, layer.weight) and torch.equal(m.bias, layer.bias)
    with torch.no_grad():
        middles[0].weight.zero_()
    assert not torch.equal(middles[1].weight, middles[0].weight)  # not shared


def test_middle_layer_callable_is_called_once_per_position():
    calls = []

    def make():
        calls.append(1)
        return sawtooth.exact_middle_layer()

    net = sawtooth.sawtooth_network(6, middle_layer=make)
    assert len(calls) == 5
    assert count_linear_pieces(net, -2.0, 2.0) == 64


@pytest.mark.parametrize(("bad", "exc"), [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("3", TypeError)])
def test_bad_depth_raises(bad, exc):
    with pytest.raises(exc, match="num_hidden_layers"):
        sawtooth.sawtooth_network(bad)
    with pytest.raises(exc, match="depth"):
        sawtooth.sawtooth(np.zeros(3), bad)


def test_huge_sizes_fail_fast_naming_the_limit():
    with pytest.raises(ValueError, match=f"<= {sawtooth.MAX_HIDDEN_LAYERS}"):
        sawtooth.sawtooth(np.zeros(3), 10**9)
    with pytest.raises(ValueError, match=f"<= {sawtooth.MAX_HIDDEN_LAYERS}"):
        sawtooth.sawtooth_network(10**8)
    with pytest.raises(ValueError, match="limit"):
        sawtooth.sawtooth(np.zeros(10**6), 1000)  # 10**9 evaluations
    with pytest.raises(ValueError, match="limit"):
        sawtooth.pieces_vs_depth(range(100), "exact", seeds=range(101))
    with pytest.raises(ValueError, match="limit"):  # 2**22 pieces: refused before they are allocated
        sawtooth.pieces_vs_depth([22], "exact", seeds=[0])


def test_non_finite_middle_layers_are_refused():
    layer = sawtooth.exact_middle_layer()
    with torch.no_grad():
        layer.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="middle_layer"):
        sawtooth.sawtooth_network(3, middle_layer=layer)
    with pytest.raises(ValueError, match="middle_layer"):
        sawtooth.sawtooth_network(3, middle_layer=lambda: layer)
    with pytest.raises(ValueError, match="noise_level"):
        sawtooth.noisy_middle_layer(float("inf"))


def test_bad_middle_layer_raises():
    with pytest.raises(ValueError, match="middle_layer"):
        sawtooth.sawtooth_network(3, middle_layer=nn.Linear(2, 3))
    with pytest.raises(ValueError, match="middle_layer"):
        sawtooth.sawtooth_network(3, middle_layer=lambda: nn.Linear(3, 2))
    with pytest.raises(TypeError, match="middle_layer"):
        sawtooth.sawtooth_network(3, middle_layer="exact")


def test_noisy_layer_without_noise_is_exact():
    layer = sawtooth.noisy_middle_layer(0.0, generator=5)
    exact = sawtooth.exact_middle_layer()
    assert torch.equal(layer.weight, exact.weight) and torch.equal(layer.bias, exact.bias)


def test_noisy_layer_same_seed_same_result_and_noise_statistics():
    a, b = sawtooth.noisy_middle_layer(0.3, generator=7), sawtooth.noisy_middle_layer(0.3, generator=7)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert not torch.equal(a.weight, sawtooth.noisy_middle_layer(0.3, generator=8).weight)
    gen = torch.Generator().manual_seed(0)
    exact = sawtooth.exact_middle_layer()
    noise = (
        torch.stack(
            [
                torch.cat([(L.weight - exact.weight).ravel(), L.bias - exact.bias])
                for L in (sawtooth.noisy_middle_layer(0.5, gen) for _ in range(2000))
            ]
        )
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(noise.std(axis=0) / 0.5, 1.0, atol=0.06)
    np.testing.assert_allclose(noise.mean(axis=0) / 0.5, 0.0, atol=0.06)


def test_random_layer_is_standard_normal_and_seeded():
    assert torch.equal(sawtooth.random_middle_layer(3).weight, sawtooth.random_middle_layer(3).weight)
    gen = torch.Generator().manual_seed(1)
    draws = (
        torch.stack(
            [torch.cat([L.weight.ravel(), L.bias]) for L in (sawtooth.random_middle_layer(gen) for _ in range(2000))]
        )
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(draws.std(axis=0), 1.0, atol=0.06)
    np.testing.assert_allclose(draws.mean(axis=0), 0.0, atol=0.06)


@pytest.mark.parametrize(
    ("bad", "exc"),
    [
        (-0.1, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("0.1", TypeError),
        (True, TypeError),
        (0.1 + 0j, TypeError),
    ],
)
def test_bad_noise_level_raises(bad, exc):
    with pytest.raises(exc, match="noise_level"):
        sawtooth.noisy_middle_layer(bad)
    with pytest.raises(exc, match="noise_level"):
        sawtooth.variant_network(3, "noisy", seed=0, noise_level=bad)


def test_bad_generator_raises():
    with pytest.raises(TypeError, match="generator"):
        sawtooth.noisy_middle_layer(0.1, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="generator"):
        sawtooth.random_middle_layer(generator=1.5)


def test_reinitialised_matches_reset_parameters_and_keeps_global_state():
    net = sawtooth.sawtooth_network(4)
    state = torch.get_rng_state()
    fresh = sawtooth.reinitialised(net, seed=11)
    assert torch.equal(torch.get_rng_state(), state)  # global RNG untouched
    assert torch.equal(net[0].weight, sawtooth.sawtooth_network(4)[0].weight)  # input not modified
    # oracle: the same calls in the same order under the same seed
    reference = sawtooth.sawtooth_network(4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        for m in reference:
            if isinstance(m, nn.Linear):
                m.reset_parameters()
    for a, b in zip(fresh.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)
    bound = 1 / np.sqrt(2)
    assert float(fresh[2].weight.detach().abs().max()) <= bound and float(fresh[2].bias.detach().abs().max()) <= bound
    assert not torch.equal(fresh[2].weight, sawtooth.reinitialised(net, seed=12)[2].weight)


def test_reinitialised_rejects_bad_input():
    with pytest.raises(TypeError, match="model"):
        sawtooth.reinitialised("net", 0)
    with pytest.raises(TypeError, match="seed"):
        sawtooth.reinitialised(sawtooth.sawtooth_network(2), 1.5)
    net = sawtooth.sawtooth_network(2)
    with torch.no_grad():
        net[0].bias[0] = float("inf")
    with pytest.raises(ValueError, match="model"):
        sawtooth.reinitialised(net, 0)


def test_variant_networks_grow_by_one_layer_per_depth():
    short, long = (sawtooth.variant_network(d, "noisy", seed=4, noise_level=0.2) for d in (3, 5))
    for i in (2, 4):  # the two middle layers of the short network
        assert torch.equal(short[i].weight, long[i].weight) and torch.equal(short[i].bias, long[i].bias)
    r1, r2 = (sawtooth.variant_network(4, "random", seed=9) for _ in range(2))
    for a, b in zip(r1.parameters(), r2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_variant_network_rejects_bad_input():
    with pytest.raises(ValueError, match="kind"):
        sawtooth.variant_network(3, "gaussian", seed=0)
    with pytest.raises(TypeError, match="seed"):
        sawtooth.variant_network(3, "random", seed=None)


def test_pieces_vs_depth_exact_doubles_and_is_reproducible():
    pieces = sawtooth.pieces_vs_depth(range(9), "exact", seeds=[0, 1])
    np.testing.assert_array_equal(pieces.count, np.tile(2 ** np.arange(9), (2, 1)))
    np.testing.assert_array_equal(pieces.wide, pieces.count)  # equal pieces, none a sliver
    np.testing.assert_array_equal(pieces.depths, np.arange(9))
    assert pieces.min_width_fraction == 0.25
    a = sawtooth.pieces_vs_depth([2, 4, 6], "noisy", seeds=[0, 1, 2], noise_level=0.5)
    b = sawtooth.pieces_vs_depth([2, 4, 6], "noisy", seeds=[0, 1, 2], noise_level=0.5)
    np.testing.assert_array_equal(a.count, b.count)
    np.testing.assert_array_equal(a.wide, b.wide)
    assert a.count.shape == a.wide.shape == (3, 3) and a.count.dtype == a.wide.dtype == np.int64


@pytest.mark.parametrize(("kind", "level"), [("noisy", 0.01), ("noisy", 0.7), ("random", 0.0), ("reset", 0.0)])
def test_pieces_vs_depth_equals_counting_each_network(kind, level):
    # oracle: the exact counter on each network built separately (no shared-prefix shortcut), unsorted depths
    depths = [5, 0, 3, 8, 1]
    pieces = sawtooth.pieces_vs_depth(depths, kind, seeds=[3, 4], noise_level=level)
    for i, seed in enumerate([3, 4]):
        for j, d in enumerate(depths):
            f = piecewise_linear(sawtooth.variant_network(d, kind, seed, noise_level=level), -2.0, 2.0)
            assert pieces.count[i, j] == f.num_pieces
            assert pieces.wide[i, j] == np.sum(np.diff(f.breakpoints) > 0.25 * 4.0 / 2**d)


def test_small_noise_adds_slivers_but_no_wide_pieces():
    pieces = sawtooth.pieces_vs_depth([6, 8, 10], "noisy", seeds=[0, 1], noise_level=0.01)
    exact = 2 ** np.array([6, 8, 10])
    assert np.all(pieces.count > 1.8 * exact)  # nearly every kink splits in two
    np.testing.assert_allclose(pieces.wide / exact, 1.0, atol=0.1)  # the extra pieces are slivers
    every = sawtooth.pieces_vs_depth([6, 8, 10], "noisy", seeds=[0, 1], noise_level=0.01, min_width_fraction=0.0)
    np.testing.assert_array_equal(every.wide, every.count)
    with pytest.raises(ValueError, match="min_width_fraction"):
        sawtooth.pieces_vs_depth([1], "exact", seeds=[0], min_width_fraction=1.5)


def test_pieces_vs_depth_rejects_bad_input():
    with pytest.raises(ValueError, match="depths"):
        sawtooth.pieces_vs_depth([], "exact", seeds=[0])
    with pytest.raises(ValueError, match="depths"):
        sawtooth.pieces_vs_depth([-1], "exact", seeds=[0])
    with pytest.raises(ValueError, match="seeds"):
        sawtooth.pieces_vs_depth([1], "exact", seeds=[])
    with pytest.raises(ValueError, match="depths"):
        sawtooth.pieces_vs_depth([1.5], "exact", seeds=[0])
    with pytest.raises(TypeError, match="kind"):
        sawtooth.pieces_vs_depth([1], 3, seeds=[0])


def test_growth_exponent():
    depths = np.arange(3, 9)
    assert sawtooth.growth_exponent(depths, np.tile(2.0**depths, (4, 1))) == pytest.approx(1.0, abs=1e-12)
    assert sawtooth.growth_exponent(depths, np.ones((2, 6))) == pytest.approx(0.0, abs=1e-12)
    assert sawtooth.growth_exponent(depths, np.tile(3.0**depths, (1, 1))) == pytest.approx(np.log2(3), abs=1e-12)
    with pytest.raises(ValueError, match="counts"):
        sawtooth.growth_exponent(depths, np.ones((2, 5)))
    with pytest.raises(ValueError, match="counts"):
        sawtooth.growth_exponent(depths, np.zeros((2, 6)))
    with pytest.raises(ValueError, match="depths"):
        sawtooth.growth_exponent([1], np.ones((2, 1)))
    with pytest.raises(ValueError, match="depths"):
        sawtooth.growth_exponent([2, 2], np.ones((2, 2)))
    with pytest.raises(ValueError, match="counts"):
        sawtooth.growth_exponent([1, 2], np.array([[1.0, np.nan]]))


def test_growth_exponent_averages_before_the_logarithm():
    # rows that differ: the exponent is that of the mean count, not the mean of the per-seed exponents
    counts = np.array([[1.0, 2.0, 4.0], [1.0, 8.0, 64.0]])
    expected = np.polyfit([0, 1, 2], np.log2([1.0, 5.0, 34.0]), 1)[0]
    assert sawtooth.growth_exponent([0, 1, 2], counts) == pytest.approx(expected, rel=1e-12)


def test_breakdown_level():
    assert sawtooth.breakdown_level([2.0, 0.5, 1.0, 0.1], [-0.2, 0.7, 0.4, 0.99]) == 1.0
    assert sawtooth.breakdown_level([0.1, 0.2], [0.9, 0.8], threshold=0.85) == 0.2
    with pytest.raises(ValueError, match="below"):
        sawtooth.breakdown_level([0.1, 0.2], [0.9, 0.8])
    with pytest.raises(ValueError, match="exponents"):
        sawtooth.breakdown_level([0.1, 0.2], [0.9])


def test_summaries_name_wrong_shapes_and_use_a_strict_threshold():
    with pytest.raises(ValueError, match=r"^depths must"):
        sawtooth.growth_exponent([[1, 2], [3, 4]], np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"^counts must"):
        sawtooth.growth_exponent([1, 2], np.ones(2))
    with pytest.raises(ValueError, match=r"^depths must not all be equal$"):
        sawtooth.growth_exponent([3, 3, 3], np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"^levels must"):
        sawtooth.breakdown_level([[0.1, 0.2]], [0.9, 0.1])
    with pytest.raises(ValueError, match=r"^exponents must"):
        sawtooth.breakdown_level([0.1, 0.2], [[0.9, 0.1]])
    with pytest.raises(TypeError, match=r"^threshold must"):
        sawtooth.breakdown_level([0.1, 0.2], [0.9, 0.1], threshold="0.5")
    # an exponent equal to the threshold is not below it
    assert sawtooth.breakdown_level([0.1, 0.2, 0.3], [0.9, 0.5, 0.4]) == 0.3
    with pytest.raises(ValueError, match=r"^no level has a growth exponent below threshold=0.5 \(smallest 0.5\)$"):
        sawtooth.breakdown_level([0.1, 0.2], [0.9, 0.5])

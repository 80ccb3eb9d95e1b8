"""Benchmarks of nnbook.expressivity and nnbook.regions against naive course-handout implementations.

Run with ``python -m benchmarks.bench_expressivity``. Cases:

- the exact piece counter with Python loops over pieces and units (the way a
  handout writes it) against the vectorised one, on the sawtooth and on a wide
  random network;
- a dense sampling grid, as fine as it must be to find every piece, against
  the exact counter (equal accuracy; found knowing the exact answer, which a
  user of the grid would not);
- distinct activation patterns on a 2-D grid: ``np.unique(axis=0)`` against
  packed 64-bit words;
- pieces of the noisy sawtooth at every depth 0..16: one exact count per
  network against :func:`nnbook.sawtooth.pieces_vs_depth`, which follows the
  shared layers once;
- five seeds of a small classifier trained one after the other against one
  :class:`nnbook.seedstack.SeedStack` per group of seeds (same results);
- the exact count at depth 20 (2**20 pieces), which the book needs in under a
  second.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from benchmarks.timing import best_time, compare
from nnbook import data, depthwidth, expressivity, regions, sawtooth
from nnbook.relu_mlp import mlp
from nnbook.sawtooth import sawtooth_network
from nnbook.training import TrainConfig, train


def naive_count_pieces(model: nn.Sequential, lo: float, hi: float, rtol: float = 1e-9) -> int:
    """Handout version: a list of pieces, each with per-unit slopes and intercepts, Python loops throughout."""
    pieces = [(lo, hi, [1.0], [0.0])]  # (left, right, slopes per unit, intercepts per unit)
    for layer in model:
        if isinstance(layer, nn.Linear):
            W, b = layer.weight.detach().double().tolist(), layer.bias.detach().double().tolist()
            pieces = [
                (
                    left,
                    right,
                    [sum(w * a for w, a in zip(row, A, strict=True)) for row in W],
                    [sum(w * c for w, c in zip(row, C, strict=True)) + bi for row, bi in zip(W, b, strict=True)],
                )
                for left, right, A, C in pieces
            ]
        else:
            split = []
            for left, right, A, C in pieces:
                cuts = sorted({-c / a for a, c in zip(A, C, strict=True) if a != 0 and left < -c / a < right})
                ends = [left, *cuts, right]
                for a_end, b_end in itertools.pairwise(ends):
                    mid = 0.5 * (a_end + b_end)
                    on = [a * mid + c > 0 for a, c in zip(A, C, strict=True)]
                    split.append(
                        (
                            a_end,
                            b_end,
                            [a if o else 0.0 for a, o in zip(A, on, strict=True)],
                            [c if o else 0.0 for c, o in zip(C, on, strict=True)],
                        )
                    )
            pieces = split
    slopes = [A[0] for _, _, A, _ in pieces]
    scale = max(abs(s) for s in slopes)
    return 1 + sum(abs(s - t) > rtol * scale for s, t in itertools.pairwise(slopes))


def finest_needed_grid(model: nn.Sequential, lo: float, hi: float, exact: int) -> int:
    """Smallest grid of 2**k + 1 points on which the grid counter finds all ``exact`` pieces."""
    k = 4
    while regions.count_pieces_on_grid(model, lo, hi, 2**k + 1) != exact:
        k += 1
    return 2**k + 1


def forward_flops(model: nn.Sequential) -> int:
    """Floating-point operations of one forward pass of one input (a multiply-add counts two)."""
    return sum(2 * layer.in_features * layer.out_features for layer in model if isinstance(layer, nn.Linear))


def piece_ops(model: nn.Sequential, n_grid: int, pieces: int) -> tuple[float, float]:
    """Operations of the grid counter (a forward pass per point) and of the exact counter.

    The exact counter carries an affine map (slope and intercept) through each layer for every piece, twice
    the work of a forward pass per piece; counting the final number of pieces at every layer bounds it above,
    so the ratio of the two is a lower bound of the true ratio of operation counts.
    """
    return n_grid * forward_flops(model), 2 * pieces * forward_flops(model)


def unique_rows_naive(patterns: np.ndarray) -> int:
    return int(np.unique(np.packbits(patterns, axis=1), axis=0).shape[0])


def main() -> None:
    with torch.no_grad():  # as in the book: counting pieces needs no gradients
        _cases()


def _cases() -> None:
    saw14 = sawtooth_network(14)
    assert naive_count_pieces(saw14, -2.0, 2.0) == expressivity.count_linear_pieces(saw14, -2.0, 2.0) == 2**14
    compare(
        "exact pieces, sawtooth L=14 (16,384 pieces)",
        lambda: naive_count_pieces(saw14, -2.0, 2.0),
        lambda: expressivity.count_linear_pieces(saw14, -2.0, 2.0),
    )

    wide = mlp(1, depth=4, width=64, n_outputs=1, seed=0, init="torch")
    n_wide = expressivity.count_linear_pieces(wide, -3.0, 3.0)
    assert naive_count_pieces(wide, -3.0, 3.0) == n_wide
    compare(
        f"exact pieces, random 4 x 64 MLP ({n_wide} pieces)",
        lambda: naive_count_pieces(wide, -3.0, 3.0),
        lambda: expressivity.count_linear_pieces(wide, -3.0, 3.0),
    )

    n_grid = finest_needed_grid(wide, -3.0, 3.0, n_wide)
    print(f"(a grid needs {n_grid:,} points to find all {n_wide} pieces of the random 4 x 64 MLP)")
    compare(
        "grid at equal accuracy vs exact, random 4 x 64",
        lambda: regions.count_pieces_on_grid(wide, -3.0, 3.0, n_grid),
        lambda: expressivity.count_linear_pieces(wide, -3.0, 3.0),
        ops=piece_ops(wide, n_grid, n_wide),
    )
    saw16 = sawtooth_network(16)
    n_grid = finest_needed_grid(saw16, -2.0, 2.0, 2**16)
    print(f"(the sawtooth's breakpoints are dyadic, so {n_grid:,} grid points land on them: the grid's best case)")
    compare(
        "grid at equal accuracy vs exact, sawtooth L=16",
        lambda: regions.count_pieces_on_grid(saw16, -2.0, 2.0, n_grid),
        lambda: expressivity.count_linear_pieces(saw16, -2.0, 2.0),
        ops=piece_ops(saw16, n_grid, 2**16),
    )

    net2d = mlp(2, depth=6, width=16, n_outputs=5, seed=0, init="torch")
    xs = np.linspace(-1.5, 1.5, 400)
    patterns = regions.activation_patterns(net2d, np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2))
    assert unique_rows_naive(patterns) == int(regions.pattern_labels(patterns).max()) + 1
    compare(
        "distinct patterns, 160,000 points x 96 units",
        lambda: np.unique(np.packbits(patterns, axis=1), axis=0, return_inverse=True),
        lambda: regions.pattern_labels(patterns),
    )

    depths = list(range(17))
    per_network = [
        [expressivity.count_linear_pieces(sawtooth.variant_network(d, "noisy", s, 0.1), -2.0, 2.0) for d in depths]
        for s in range(3)
    ]
    assert np.array_equal(sawtooth.pieces_vs_depth(depths, "noisy", range(3), 0.1).count, per_network)
    compare(
        "noisy sawtooth, depths 0..16, 3 seeds",
        lambda: [
            [expressivity.count_linear_pieces(sawtooth.variant_network(d, "noisy", s, 0.1), -2.0, 2.0) for d in depths]
            for s in range(3)
        ],
        lambda: sawtooth.pieces_vs_depth(depths, "noisy", range(3), 0.1),
        repeat=2,
    )

    sets = [data.spirals(200, 5, noise=0.3, rng=s) for s in range(5)]
    config = TrainConfig(lr=1e-3, epochs=20, batch_size=128, optimiser="adam", device="cpu")

    @torch.enable_grad()
    def one_by_one() -> None:
        for s, pair in enumerate(sets):
            train(mlp(2, 6, 16, 5, s, batch_norm=True), config, pair)

    @torch.enable_grad()
    def stacked() -> None:
        depthwidth.fit_seeds(sets, sets, 6, 16, config, resolution=2)

    compare("5 seeds x 160 steps, depth 6 width 16", one_by_one, stacked, repeat=2)

    saw20 = sawtooth_network(20)
    assert expressivity.count_linear_pieces(saw20, -2.0, 2.0) == 2**20
    seconds = best_time(lambda: expressivity.count_linear_pieces(saw20, -2.0, 2.0), repeat=3)
    print(f"{'exact pieces, sawtooth L=20 (1,048,576 pieces)':<48s} nnbook {seconds * 1e3:10.3f} ms")


if __name__ == "__main__":
    main()

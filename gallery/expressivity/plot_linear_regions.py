"""
How many linear regions does a ReLU network really have?
========================================================

A ReLU network cuts its input space into regions on which it is affine. We
count the pieces a line through the input meets, exactly and with sampling
grids; compare the counts of randomly initialised networks, in Hanin and
Rolnick's setting and with PyTorch's default, with their number of units;
and look at the regions of 2-D-input networks before and after training.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Exact pieces along a line versus a sampling grid
# ------------------------------------------------
# A network with two inputs, restricted to the segment from
# :math:`p = (-1.5, -0.5)` to :math:`q = (1.5, 1)`, is a network with one
# input :math:`t \in [0, 1]` (:func:`nnbook.expressivity.segment_network`),
# whose pieces are the regions the segment crosses.
# :func:`nnbook.expressivity.piecewise_linear` follows the breakpoints layer
# by layer: on each piece every pre-activation is an affine function of
# :math:`t`, whose zero is a new breakpoint if it falls inside the piece. We
# take 8 hidden layers of 16 units with He's initialisation, weights
# :math:`\mathcal N(0, 2/\text{fan-in})` and biases
# :math:`\mathcal N(0, 10^{-6})`, the setting of Hanin and Rolnick (seed 0),
# and count its pieces exactly and on grids of growing size
# (:func:`nnbook.regions.count_pieces_on_grid`).
import numpy as np

from nnbook import book, data, depthwidth, expressivity, plotting, region_bounds, regions, relu_mlp
from nnbook.training import TrainConfig

P, Q = np.array([-1.5, -0.5]), np.array([1.5, 1.0])
line = expressivity.segment_network(relu_mlp.mlp(2, depth=8, width=16, n_outputs=1, seed=0), P, Q)
f = expressivity.piecewise_linear(line, 0.0, 1.0)
grid_sizes = [11, 101, 1_001, 10_001, 100_001, 1_000_001]
grid_counts = [regions.count_pieces_on_grid(line, 0.0, 1.0, n) for n in grid_sizes]

# %%
# Pieces at initialisation against depth
# --------------------------------------
# The sawtooth needs two units per layer for :math:`2^L` pieces. How many
# pieces does a randomly initialised network of width 16 have along the same
# segment? Exact counts for depths 1 to 16 and seeds 0 to 9, with He's
# initialisation and with PyTorch's default (weights and biases uniform in
# :math:`\pm 1/\sqrt{\text{fan-in}}`, a third of He's variance).
depths = np.arange(1, 17)
init_pieces = {
    init: np.array(
        [
            [
                expressivity.count_linear_pieces(
                    expressivity.segment_network(relu_mlp.mlp(2, int(d), 16, 1, seed=s, init=init), P, Q), 0.0, 1.0
                )
                for d in depths
            ]
            for s in range(10)
        ]
    )
    for init in ("he", "torch")
}

fig, axes = plotting.new_figure(1, 3, width=12.0, height=3.8)
axes[0].plot(f.breakpoints, f(f.breakpoints), lw=1.2)
axes[0].plot(f.breakpoints[1:-1], f(f.breakpoints[1:-1]), "k|", ms=8)
axes[0].set(title=f"Depth 8, width 16: {f.num_pieces} pieces", xlabel="t (position on the segment)", ylabel="output")
axes[1].plot(grid_sizes, grid_counts, "o-", label="grid estimate")
axes[1].axhline(f.num_pieces, color="k", ls="--", lw=1, label="exact")
axes[1].set(xscale="log", xlabel="grid points on the segment", ylabel="pieces", title="A grid converges from below")
plotting.legend(axes[1])
units = 16 * depths
plotting.band(axes[2], units, init_pieces["he"], label="He (Hanin & Rolnick's setting)")
plotting.band(axes[2], units, init_pieces["torch"], label="PyTorch's default")
axes[2].plot(units, units, "k:", label="pieces = hidden units")
axes[2].set(xlabel="hidden units 16 L (L = 1 ... 16)", ylabel="pieces on the segment", title="Pieces at initialisation")
plotting.legend(axes[2])

# %%
# The upper bound for one hidden layer
# ------------------------------------
# A hidden layer of :math:`n_1` units on :math:`\mathbb R^{n_0}` switches
# along :math:`n_1` hyperplanes, and :math:`n_1` hyperplanes in general
# position cut :math:`\mathbb R^{n_0}` into
# :math:`\sum_{k=0}^{\min(n_0, n_1)} \binom{n_1}{k}` regions
# (:func:`nnbook.region_bounds.max_regions_one_layer`).
rows = [
    {"width n1": w, **{f"n0 = {n0}": region_bounds.max_regions_one_layer(n0, w) for n0 in (1, 2, 3, 4)}}
    for w in (4, 8, 16, 32)
]
table = book.save_table("expressivity/one_layer_bound", rows)

# %%
# Regions of 2-D-input networks, before and after training
# --------------------------------------------------------
# Networks with one and three hidden layers of 16 units, in the setting of
# the depth-width example (batch norm, He's initialisation, Adam at
# :math:`10^{-3}`, batches of 128, 50 epochs), trained on five interleaved
# spirals (:func:`nnbook.data.spirals`, 200 points per class), five seeds
# each (:func:`nnbook.depthwidth.fit_seeds`). Activation patterns are computed
# on a 300 x 300 grid of :math:`[-1.5, 1.5]^2`
# (:func:`nnbook.regions.regions_on_grid`, after folding batch norm into the
# linear layers). Every region is convex, so distinct patterns are distinct
# regions; thin regions between grid points are missed, so the counts are
# **lower estimates**. The figure draws the region boundaries of seed 0 (grid
# points whose pattern differs from a neighbour's,
# :func:`nnbook.regions.region_boundaries`) and the training points coloured
# by class. For every seed we also measure where the regions are small: the
# share of grid points on a region boundary within 0.1 of a training point,
# divided by the share farther away (:func:`nnbook.regions.boundary_density`);
# above 1, the regions are smaller near the data.
SEEDS = range(5)
train_sets = [data.spirals(200, 5, noise=0.3, rng=s) for s in SEEDS]
config = TrainConfig(lr=1e-3, epochs=50, batch_size=128, optimiser="adam")
fits = {d: depthwidth.fit_seeds(train_sets, train_sets, d, 16, config, near_radius=0.1, initial=True) for d in (1, 3)}
X, y = train_sets[0]
fig, axes = plotting.new_figure(1, 4, width=12.5, height=3.6, sharey=True)
axes[0].set_ylabel("x2")
for col, depth in enumerate((1, 3)):
    initial = relu_mlp.mlp(2, depth, 16, 5, seed=0, batch_norm=True)
    for k, (stage, model) in enumerate((("init", initial), ("trained", fits[depth].models[0]))):
        seen = regions.regions_on_grid(relu_mlp.fold_batchnorm(model), -1.5, 1.5, 300)
        ax = axes[2 * col + k]
        ax.imshow(
            regions.region_boundaries(seen.labels),
            origin="lower",
            extent=(-1.5, 1.5, -1.5, 1.5),
            cmap="Greys",
            vmin=0,
            vmax=1.5,
            interpolation="nearest",
        )
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, s=3, alpha=0.8)
        layers = "1 layer" if depth == 1 else f"{depth} layers"
        ax.set(title=f"{layers}, {stage}: {seen.num_regions} regions", xlabel="x1")
        ax.grid(False)

# %%
# The numbers, checked
# --------------------
he, default = init_pieces["he"].mean(axis=0), init_pieces["torch"].mean(axis=0)
grows = {d: fits[d].num_regions / fits[d].initial_regions for d in (1, 3)}
finer = depthwidth.paired_difference(fits[3].near_far, fits[3].initial_near_far)
with book.numbers():
    book.record("expressivity/random_net_pieces", f.num_pieces, fmt="{:d}", label="pieces, depth 8, width 16, He")
    book.record(
        "expressivity/random_net_min_width",
        np.diff(f.breakpoints).min(),
        fmt="{:.1e}",
        label="its narrowest piece (fraction of the segment)",
    )
    for n in (101, 10_001, 1_000_001):
        book.record(
            f"expressivity/random_net_grid_{n}",
            grid_counts[grid_sizes.index(n)],
            fmt="{:d}",
            label=f"pieces a grid of {n:,} points finds",
        )
    book.record("expressivity/he_pieces_depth16", he[-1], fmt="{:.0f}", label="mean pieces, He, depth 16")
    book.record("expressivity/torch_pieces_depth8", default[7], fmt="{:.0f}", label="mean pieces, default, depth 8")
    book.record("expressivity/torch_pieces_depth16", default[-1], fmt="{:.0f}", label="mean pieces, default, depth 16")
    book.record(
        "expressivity/sawtooth_overtakes_depth",
        next(L for L in range(1, 64) if 2**L > he[-1]),
        fmt="{:d}",
        label="depth from which the sawtooth has more pieces",
    )
    for d in (1, 3):
        book.record(
            f"expressivity/regions_depth{d}_init",
            fits[d].initial_regions.mean(),
            fmt="{:.0f}",
            label=f"mean regions at initialisation, {d} layer(s)",
        )
        book.record(
            f"expressivity/regions_depth{d}_trained",
            fits[d].num_regions.mean(),
            fmt="{:.0f}",
            label=f"mean regions after training, {d} layer(s)",
        )
        book.record(
            f"expressivity/regions_depth{d}_train_acc",
            fits[d].train_accuracy.mean(),
            fmt="{:.0%}",
            label=f"mean training accuracy, {d} layer(s)",
        )
        book.record(
            f"expressivity/max_regions_depth{d}",
            region_bounds.max_regions(2, [16] * d),
            fmt="{:,}",
            label=f"Serra et al.'s bound, {d} layer(s) of 16",
        )
        for stage, ratio in (("init", fits[d].initial_near_far), ("trained", fits[d].near_far)):
            book.record(
                f"expressivity/near_far_depth{d}_{stage}",
                ratio.mean(),
                fmt="{:.1f}",
                label=f"boundary density near / far from the data, {d} layer(s), {stage}",
            )
    book.record(
        "expressivity/he_pieces_per_unit",
        np.mean(he / units),
        fmt="{:.2f}",
        label="mean pieces per hidden unit, He, depths 1 to 16",
    )
    book.claim(
        "expressivity/he_pieces_track_units",
        "with He's initialisation the mean number of pieces per hidden unit, averaged over depths 1 to 16, "
        "is between 0.8 and 1.2",
        value=np.mean(he / units),
        between=(0.8, 1.2),
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/he_pieces_keep_growing",
        "with He's initialisation, doubling the depth from 8 to 16 layers multiplies the pieces by at least 1.6",
        value=he[-1] / he[7],
        at_least=1.6,
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/torch_init_saturates",
        "with PyTorch's default initialisation, doubling the depth from 8 to 16 layers adds less than 20% pieces",
        value=default[-1] / default[7] - 1,
        at_most=0.2,
        fmt="{:.0%}",
    )
    book.claim(
        "expressivity/training_adds_regions",
        "training multiplies the regions seen in the square by at least 2, for one and three layers, in every seed",
        value=min(grows[1].min(), grows[3].min()),
        at_least=2,
        fmt="{:.1f}",
    )
    book.claim(
        "expressivity/regions_dense_near_data",
        "region boundaries are at least 1.5 times as dense near the training points as away from them, before and "
        "after training, in every seed, for one and three layers",
        value=min(r.min() for d in (1, 3) for r in (fits[d].near_far, fits[d].initial_near_far)),
        at_least=1.5,
        fmt="{:.1f}",
    )
    book.claim(
        "expressivity/training_refines_near_data",
        "training raises that ratio for three layers in every seed, by at least 0.2",
        value=finer.low,
        at_least=0.2,
        fmt="{:.2f}",
    )
    book.check(
        "expressivity/grid_never_overcounts",
        "no grid estimate exceeds the exact count, and the finest one equals it",
        value=max(grid_counts) - f.num_pieces + abs(grid_counts[-1] - f.num_pieces),
        at_most=0,
        fmt="{:d}",
    )
    book.check(
        "expressivity/bound_2_16",
        "for n0 = 2 inputs and n1 = 16 units the one-layer bound is 1 + 16 + 120 = 137",
        value=region_bounds.max_regions_one_layer(2, 16),
        between=(137, 137),
        fmt="{:d}",
    )
    book.check(
        "expressivity/regions_below_bound",
        "the regions seen before and after training stay below Serra et al.'s bound, for one and three layers",
        value=max(
            max(fits[d].num_regions.max(), fits[d].initial_regions.max()) / region_bounds.max_regions(2, [16] * d)
            for d in (1, 3)
        ),
        at_most=1.0,
        fmt="{:.2g}",
    )

# %%
# Takeaways
# ---------
# - Count pieces exactly; a grid only ever undercounts, and converges slowly.
# - At initialisation in Hanin and Rolnick's setting, the number of pieces
#   along a line grows in proportion to the number of hidden units, not
#   exponentially with depth; PyTorch's default initialisation shrinks the
#   signal layer by layer and the count stops growing altogether.
# - Training adds regions, mostly where the data are, but the counts of 2-D
#   networks sit far below the combinatorial bounds once there is more than
#   one layer.
plotting.show()

"""
How many linear regions does a ReLU network really have?
========================================================

A ReLU network cuts its input space into regions on which it is affine. We
count the pieces of networks with a scalar input exactly and compare with
sampling grids, compare the counts of randomly initialised networks with
their number of units, and estimate the regions of 2-D-input networks at
initialisation and after training against the known upper bounds.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Exact pieces versus a sampling grid
# -----------------------------------
# :func:`nnbook.expressivity.piecewise_linear` follows the breakpoints layer
# by layer: on each piece every pre-activation is an affine function
# :math:`a x + c` of the input, whose zero is a new breakpoint if it falls
# inside the piece. We take a network with 8 hidden layers of 16 units at
# PyTorch's default initialisation (seed 0), on :math:`[-3, 3]`, and count its
# pieces exactly and on grids of growing size
# (:func:`nnbook.regions.count_pieces_on_grid`).
import numpy as np

from nnbook import book, data, depthwidth, expressivity, plotting, regions

net = depthwidth.mlp(1, depth=8, width=16, n_outputs=1, seed=0)
f = expressivity.piecewise_linear(net, -3.0, 3.0)
grid_sizes = [11, 31, 101, 301, 1_001, 3_001, 10_001, 100_001]
grid_counts = [regions.count_pieces_on_grid(net, -3.0, 3.0, n) for n in grid_sizes]

# %%
# Pieces at initialisation against depth
# --------------------------------------
# The sawtooth needs two units per layer for :math:`2^L` pieces. A randomly
# initialised network of width 16 has eight times more units per layer; how
# many pieces does it have? Exact counts on :math:`[-3, 3]` for depths 1 to
# 10 and seeds 0 to 9.
depths = list(range(1, 11))
init_pieces = np.array(
    [
        [expressivity.count_linear_pieces(depthwidth.mlp(1, d, 16, 1, seed=s), -3.0, 3.0) for d in depths]
        for s in range(10)
    ]
)

fig, axes = plotting.new_figure(1, 3, width=11.5, height=3.6)
axes[0].plot(f.breakpoints, f(f.breakpoints), lw=1.2)
axes[0].plot(f.breakpoints[1:-1], f(f.breakpoints[1:-1]), "k|", ms=8)
axes[0].set(title=f"Depth 8, width 16: {f.num_pieces} pieces", xlabel="x", ylabel="output")
axes[1].plot(grid_sizes, grid_counts, "o-", label="grid estimate")
axes[1].axhline(f.num_pieces, color="k", ls="--", lw=1, label="exact")
axes[1].set(xscale="log", xlabel="grid points on [-3, 3]", ylabel="pieces", title="A grid converges from below")
axes[1].legend()
plotting.band(axes[2], depths, init_pieces, label="random init, width 16 (mean, 10-90%)")
axes[2].plot(depths, [16 * d for d in depths], "k:", label="hidden units 16 L")
axes[2].plot(depths[:7], [2**d for d in depths[:7]], "C3--", label=r"sawtooth $2^L$ (2 units per layer)")
axes[2].set(xlabel="hidden layers L", ylabel="pieces on [-3, 3]", title="Pieces at initialisation")
axes[2].legend(fontsize=8)

book.record("expressivity/random_net_pieces", f.num_pieces, fmt="{:d}")
book.record("expressivity/random_net_min_width", np.diff(f.breakpoints).min(), fmt="{:.1e}")
book.record("expressivity/random_net_grid_101", grid_counts[grid_sizes.index(101)], fmt="{:d}")
book.record("expressivity/random_net_grid_1001", grid_counts[grid_sizes.index(1_001)], fmt="{:d}")
book.record("expressivity/init_pieces_depth10", init_pieces[:, -1].mean(), fmt="{:.0f}")
book.record("expressivity/init_pieces_depth4", init_pieces[:, 3].mean(), fmt="{:.0f}")
overtake = next(L for L in range(1, 64) if 2**L > init_pieces[:, -1].mean())
book.record("expressivity/sawtooth_overtakes_depth", overtake, fmt="{:d}")
book.claim(
    "expressivity/grid_never_overcounts",
    "no grid estimate exceeds the exact count, and the finest one equals it",
    max(grid_counts) <= f.num_pieces and grid_counts[-1] == f.num_pieces,
    grid_counts[-1],
    fmt="{:d}",
)
ratio = float(((init_pieces - 1) / (16 * np.array(depths))).max())
book.claim(
    "expressivity/init_kinks_below_units",
    "at initialisation no network of width 16 and depth 1 to 10 has more kinks on [-3, 3] than hidden units",
    ratio <= 1.0,
    ratio,
    fmt="{:.2f}",
)

# %%
# The upper bound for one hidden layer
# ------------------------------------
# A hidden layer of :math:`n_1` units on :math:`\mathbb R^{n_0}` switches
# along :math:`n_1` hyperplanes, and :math:`n_1` hyperplanes in general
# position cut :math:`\mathbb R^{n_0}` into
# :math:`\sum_{k=0}^{\min(n_0, n_1)} \binom{n_1}{k}` regions
# (:func:`nnbook.expressivity.max_regions_one_layer`).
rows = [
    {"width n1": w, **{f"n0 = {n0}": expressivity.max_regions_one_layer(n0, w) for n0 in (1, 2, 3, 4)}}
    for w in (4, 8, 16, 32)
]
book.save_table("expressivity/one_layer_bound", rows)
bound_2_16 = expressivity.max_regions_one_layer(2, 16)
book.claim(
    "expressivity/bound_2_16",
    "for n0 = 2 inputs and n1 = 16 units the bound is 1 + 16 + 120 = 137",
    bound_2_16 == 137,
    bound_2_16,
    fmt="{:d}",
)

# %%
# Regions of 2-D-input networks, before and after training
# --------------------------------------------------------
# For two inputs we colour the plane by activation pattern
# (:func:`nnbook.regions.regions_on_grid`, 400 x 400 points on
# :math:`[-1.5, 1.5]^2`). Each pattern's region is convex, so distinct patterns
# are distinct regions; thin regions between grid points are missed, so the
# counts are **lower estimates**. The networks have one and three hidden layers
# of 16 units; they are trained for 1,000 full-batch Adam steps (learning rate
# decaying from 0.02 to 0 along a half cosine) on five interleaved spirals
# (:func:`nnbook.data.spirals`, 100 points per class). The
# bound for three layers is Serra et al.'s
# (:func:`nnbook.expressivity.max_regions`).
X, y = data.spirals(100, 5, noise=0.3, rng=0)
fig, axes = plotting.new_figure(1, 4, width=12.0, height=3.5)
counts = {}
for col, depth in enumerate((1, 3)):
    init = depthwidth.mlp(2, depth, 16, 5, seed=0)
    trained = depthwidth.train_classifier(init, X, y, steps=1000, lr=0.02, seed=0).model
    bound = expressivity.max_regions(2, [16] * depth)
    for k, (stage, model) in enumerate((("init", init), ("trained", trained))):
        seen = regions.regions_on_grid(model, -1.5, 1.5, 400)
        counts[depth, stage] = seen.num_regions
        shuffled = np.random.default_rng(0).permutation(seen.num_regions)[seen.labels]
        ax = axes[2 * col + k]
        ax.imshow(shuffled, origin="lower", extent=(-1.5, 1.5, -1.5, 1.5), cmap="tab20", interpolation="nearest")
        ax.scatter(X[:, 0], X[:, 1], s=2, c="k", alpha=0.4)
        ax.set(
            title=f"{depth} layer{'s' if depth > 1 else ''}, {stage}: {seen.num_regions} regions\n(bound {bound:,})",
            xlabel="x1",
        )
        ax.grid(False)
    acc = depthwidth.accuracy(trained, X, y)
    book.record(f"expressivity/regions_depth{depth}_train_acc", acc, fmt="{:.0%}")
    book.record(f"expressivity/max_regions_depth{depth}", bound, fmt="{:,}")
    for stage in ("init", "trained"):
        book.record(f"expressivity/regions_depth{depth}_{stage}", counts[depth, stage], fmt="{:d}")
    book.claim(
        f"expressivity/regions_depth{depth}_below_bound",
        f"with {depth} hidden layer(s) of 16 units, the regions seen before and after training stay below "
        f"the bound {bound:,}",
        max(counts[depth, "init"], counts[depth, "trained"]) <= bound,
        max(counts[depth, "init"], counts[depth, "trained"]) / bound,
        fmt="{:.2g}",
    )
axes[0].set_ylabel("x2")
book.claim(
    "expressivity/training_adds_regions",
    "training increases the number of regions seen in the square, for one and for three layers",
    counts[1, "trained"] > counts[1, "init"] and counts[3, "trained"] > counts[3, "init"],
    counts[3, "trained"] / counts[3, "init"],
    fmt="{:.2f}",
)

# %%
# Takeaways
# ---------
# - Count pieces exactly; a grid only ever undercounts, and converges slowly.
# - Randomly initialised networks have about as many pieces as units, far from
#   the exponential counts that depth makes possible.
# - The region counts of 2-D networks, before and after training, sit far
#   below the combinatorial bounds once there is more than one layer.

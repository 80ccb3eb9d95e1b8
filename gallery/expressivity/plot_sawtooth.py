"""
Can a narrow network have exponentially many linear pieces?
===========================================================

Telgarsky's sawtooth composes the fold :math:`g(z) = 2|z| - 2` with itself.
Each fold costs two ReLU units and doubles the number of linear pieces, so a
network with :math:`L` hidden layers of width two has :math:`2^L` pieces on
:math:`[-2, 2]`. We build the network, plot it, and count its pieces exactly,
and with a sampling grid that falls behind from depth 9 on.
"""

# sphinx_gallery_dummy_images = 2

# %%
# The network and its outputs
# ---------------------------
# :func:`nnbook.sawtooth.sawtooth_network` stacks a fixed input layer
# :math:`x \mapsto (x, -x)`, :math:`L-1` middle layers
# :math:`h \mapsto (z, -z)` with :math:`z = 2h_1 + 2h_2 - 2`, and the output
# :math:`2h_1 + 2h_2 - 2`; since :math:`\sigma(z) + \sigma(-z) = |z|`, the
# output is :math:`f_L`. We check it against the closed form and draw each
# :math:`f_L` through its exact breakpoints
# (:func:`nnbook.expressivity.piecewise_linear`).
import numpy as np
import torch

from nnbook import book, expressivity, plotting, regions, sawtooth

x = torch.linspace(-2, 2, 4001, dtype=torch.float64)[:, None]
with torch.no_grad():
    max_diff = max(
        float(
            np.abs(sawtooth.sawtooth_network(L).double()(x)[:, 0].numpy() - sawtooth.sawtooth(x[:, 0].numpy(), L)).max()
        )
        for L in range(11)
    )

show = (1, 2, 3, 4, 6)
fig, axes = plotting.new_figure(1, len(show), width=11.0, height=2.8, sharey=True)
axes[0].set_ylabel(r"$f_L(x)$")
for ax, L in zip(axes, show, strict=True):
    f = expressivity.piecewise_linear(sawtooth.sawtooth_network(L), -2.0, 2.0)
    ax.plot(f.breakpoints, f(f.breakpoints), lw=1.2)
    if L <= 4:
        ax.plot(f.breakpoints, f(f.breakpoints), "k.", ms=4)
    ax.set(title=f"L = {L}: {f.num_pieces} pieces", xlabel="x")

# %%
# Counting pieces: exact versus a grid
# ------------------------------------
# The exact counter follows breakpoints through the layers and needs no grid.
# A grid counter sees a kink where the finite-difference slope changes; once
# pieces are narrower than about two grid cells it merges neighbours and falls
# behind. We count for :math:`L = 0, \dots, 20` with the exact counter and with
# grids of 1,001 and 100,001 points.
depths = np.arange(21)
exact = np.array([expressivity.count_linear_pieces(sawtooth.sawtooth_network(int(L)), -2.0, 2.0) for L in depths])
grids = {
    n: np.array([regions.count_pieces_on_grid(sawtooth.sawtooth_network(int(L)), -2.0, 2.0, n) for L in depths])
    for n in (1_001, 100_001)
}

fig, ax = plotting.new_figure(height=3.8)
ax.plot(depths, 2.0**depths, "k-", lw=3, alpha=0.25, label=r"$2^L$")
ax.plot(depths, exact, "o", label="exact counter")
for n, counts in grids.items():
    ax.plot(depths, counts, ".--", label=f"grid of {n:,} points")
ax.set(
    yscale="log",
    xlabel="hidden layers L",
    ylabel="linear pieces on [-2, 2]",
    title="Pieces of the sawtooth network",
    xticks=depths[::2],
)
plotting.legend(ax)

# %%
# The numbers, checked
# --------------------
# A grid of :math:`n` points has cells of width :math:`4/(n-1)`; it can only
# resolve pieces at least about two cells wide, :math:`4/2^L \gtrsim 8/(n-1)`,
# i.e. up to depth :math:`\log_2((n-1)/2)`.
first_miss = {n: int(depths[np.argmax(counts < exact)]) for n, counts in grids.items()}
undercounts = {n: bool(np.all(counts[first_miss[n] :] < exact[first_miss[n] :])) for n, counts in grids.items()}
with book.numbers():
    book.record("expressivity/sawtooth_pieces_depth20", int(exact[-1]), fmt="{:,}", label="exact pieces at depth 20")
    book.record(
        "expressivity/grid_1001_first_miss",
        first_miss[1_001],
        fmt="{:d}",
        label="first depth a 1,001-point grid miscounts",
    )
    book.record(
        "expressivity/grid_100001_first_miss",
        first_miss[100_001],
        fmt="{:d}",
        label="first depth a 100,001-point grid miscounts",
    )
    book.record(
        "expressivity/grid_100001_at_20",
        int(grids[100_001][-1]),
        fmt="{:,}",
        label="pieces the 100,001-point grid reports at depth 20",
    )
    book.claim(
        "expressivity/grid_undercounts",
        "a 1,001-point grid is exact up to depth 8 and undercounts from depth 9 on, at every depth to 20",
        value=first_miss[1_001] if undercounts[1_001] else -1,
        between=(9, 9),
        fmt="{:d}",
    )
    book.claim(
        "expressivity/fine_grid_undercounts",
        "a 100,001-point grid is exact up to depth 15 and undercounts from depth 16 on, at every depth to 20",
        value=first_miss[100_001] if undercounts[100_001] else -1,
        between=(16, 16),
        fmt="{:d}",
    )
    book.claim(
        "expressivity/aliased_grid",
        "at depth 20 the 100,001-point grid reports fewer than a tenth of the 2^20 pieces",
        value=grids[100_001][-1] / 2**20,
        at_most=0.1,
        fmt="{:.3f}",
    )
    book.check(
        "expressivity/sawtooth_matches_closed_form",
        "the network equals the closed form f_L on 4,001 points for L = 0..10 (largest difference)",
        value=max_diff,
        at_most=0.0,
        fmt="{:.1g}",
    )
    book.check(
        "expressivity/sawtooth_doubles",
        "the exact counter finds 2^L pieces for every depth L = 0..20 (largest |count - 2^L|)",
        value=int(np.abs(exact - 2**depths).max()),
        at_most=0,
        fmt="{:d}",
    )

# %%
# Takeaways
# ---------
# - Depth composes folds: :math:`L` layers of width two give :math:`2^L`
#   pieces, while a one-hidden-layer network needs about :math:`2^L` units for
#   as many (each unit adds at most one kink).
# - Counting pieces by sampling fails exactly where the phenomenon is
#   interesting; the exact count follows the breakpoints through the layers.
plotting.show()

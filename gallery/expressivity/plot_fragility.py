"""
How fragile is the sawtooth's exponential number of pieces?
===========================================================

The sawtooth network reaches :math:`2^L` linear pieces with exactly chosen
weights. We perturb its middle layers with Gaussian noise of growing size,
replace them by random layers, and re-initialise the whole network with
PyTorch's standard scheme, and count the pieces exactly at every depth up to
16 for ten seeds per case.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Three ways to spoil the weights
# -------------------------------
# The middle layer has weights :math:`\pm 2` and biases :math:`\mp 2`.
#
# - *noisy*: every middle weight and bias gets independent
#   :math:`\mathcal N(0, s^2)` noise (:func:`nnbook.sawtooth.noisy_middle_layer`),
#   input and output layers stay exact;
# - *random middle*: the middle layers are drawn with i.i.d. standard normal
#   weights and biases (:func:`nnbook.sawtooth.random_middle_layer`);
# - *reset*: ``reset_parameters()`` on every ``Linear``, torch's standard
#   initialisation (:func:`nnbook.sawtooth.reinitialised`).
#
# For one seed the networks of successive depths share their middle layers,
# so each curve below follows one network as it grows. First, what the
# functions look like at depth 6 (exact: 64 pieces).
import numpy as np

from nnbook import book, expressivity, plotting, sawtooth

DEPTH_SHOWN = 6
cases = [
    ("exact", "exact", 0.0),
    ("noise s = 0.1", "noisy", 0.1),
    ("noise s = 0.5", "noisy", 0.5),
    ("noise s = 1", "noisy", 1.0),
    ("random middle", "random", 0.0),
    ("reset", "reset", 0.0),
]
fig, axes = plotting.new_figure(2, 3, width=10.0, height=5.2, sharex=True)
for ax, (title, kind, level) in zip(axes.ravel(), cases, strict=True):
    f = expressivity.piecewise_linear(sawtooth.variant_network(DEPTH_SHOWN, kind, seed=0, noise_level=level), -2, 2)
    ax.plot(f.breakpoints, f(f.breakpoints), lw=1)
    ax.set(title=f"{title}: {f.num_pieces} piece{'s' if f.num_pieces != 1 else ''}")
for ax in axes[1]:
    ax.set_xlabel("x")
for ax in axes[:, 0]:
    ax.set_ylabel(f"output, L = {DEPTH_SHOWN}")

# %%
# Pieces against depth
# --------------------
# Exact counts (:func:`nnbook.sawtooth.pieces_vs_depth`) for depths 0 to 16 and
# seeds 0 to 9. Lines are means over the seeds, bands the 10% to 90%
# quantiles. The growth exponent is the slope of :math:`\log_2` of the mean
# count against depth over depths 8 to 16 (1 means doubling per layer).
depths = list(range(17))
seeds = range(10)
levels = [0.0, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 1.5, 2.0]
noisy = {s: sawtooth.pieces_vs_depth(depths, "noisy", seeds, noise_level=s) for s in levels}
random_mid = sawtooth.pieces_vs_depth(depths, "random", seeds)
reset = sawtooth.pieces_vs_depth(depths, "reset", seeds)
exponent = {s: sawtooth.growth_exponent(depths[8:], counts[:, 8:]) for s, counts in noisy.items()}

fig, (ax, ax_rate) = plotting.new_figure(1, 2, width=11.0, height=4.2)
for s in (0.0, 0.03, 0.3, 1.0, 2.0):
    plotting.band(ax, depths, noisy[s], label="exact (s = 0)" if s == 0 else f"noise s = {s:g}")
plotting.band(ax, depths, random_mid, label="random middle", color="0.3")
plotting.band(ax, depths, reset, label="reset (standard init)", color="k")
ax.set(yscale="log", xlabel="hidden layers L", ylabel="linear pieces on [-2, 2]", title="Pieces against depth")
ax.legend(fontsize=8)
positive = [s for s in levels if s > 0]
ax_rate.plot(positive, [exponent[s] for s in positive], "o-", label="noisy middle layers")
ax_rate.axhline(1.0, color="0.5", ls=":", lw=1, label="exact sawtooth (doubling)")
ax_rate.axhline(0.5, color="C3", ls="--", lw=1, label="threshold: growth factor sqrt(2)")
ax_rate.axhline(sawtooth.growth_exponent(depths[8:], reset[:, 8:]), color="k", lw=1, label="reset (standard init)")
ax_rate.set(
    xscale="log",
    xlabel="noise standard deviation s (weights are +-2)",
    ylabel="growth exponent (bits per layer)",
    title="How fast the count grows, depths 8 to 16",
)
ax_rate.legend(fontsize=8)

# %%
# What the numbers say
# --------------------
# We call the exponential growth broken once the mean count grows by less
# than :math:`\sqrt 2` per layer (exponent below 1/2).
broken = [s for s in levels if exponent[s] < 0.5]
breakdown = min(broken)
for s in levels:
    book.record(f"expressivity/growth_exponent_noise_{s:g}".replace(".", "_"), exponent[s], fmt="{:.2f}")
book.record("expressivity/breakdown_noise", breakdown, fmt="{:g}")
book.record("expressivity/pieces16_noise_0_01", noisy[0.01][:, -1].mean(), fmt="{:,.0f}")
book.record("expressivity/pieces16_noise_1", noisy[1.0][:, -1].mean(), fmt="{:,.0f}")
book.record("expressivity/pieces16_noise_1_min", int(noisy[1.0][:, -1].min()), fmt="{:d}")
book.record("expressivity/pieces16_noise_2_median", np.median(noisy[2.0][:, -1]), fmt="{:.0f}")
book.record("expressivity/reset_max_pieces", int(reset.max()), fmt="{:d}")
book.record("expressivity/random_max_pieces", int(random_mid.max()), fmt="{:d}")
small = min(exponent[s] for s in levels if s <= 0.03)
book.claim(
    "expressivity/small_noise_keeps_doubling",
    "with noise up to s = 0.03 the mean count still grows by at least 2^0.95 per layer",
    small >= 0.95,
    small,
    fmt="{:.2f}",
)
book.claim(
    "expressivity/breakdown_level",
    "the growth exponent first falls below 1/2 at a noise level between 0.5 and 1.5 "
    "(a quarter of the weights' size or more)",
    0.5 <= breakdown <= 1.5,
    breakdown,
    fmt="{:g}",
)
book.claim(
    "expressivity/noise_exceeds_exact",
    "small noise (s = 0.01) gives more pieces than the exact network at depth 16: nearby kinks split in two",
    noisy[0.01][:, -1].min() > 2**16,
    noisy[0.01][:, -1].mean() / 2**16,
    fmt="{:.2f}",
)
book.claim(
    "expressivity/reset_collapses",
    "after the standard re-initialisation every network of depth 10 to 16 has at most 10 pieces (2^10 to 2^16 "
    "for the exact one)",
    int(reset[:, 10:].max()) <= 10,
    int(reset[:, 10:].max()),
    fmt="{:d}",
)
book.claim(
    "expressivity/random_collapses",
    "with random middle layers, and after the standard re-initialisation, every network of depth 16 is constant",
    bool((random_mid[:, -1] == 1).all() and (reset[:, -1] == 1).all()),
    int(max(random_mid[:, -1].max(), reset[:, -1].max())),
    fmt="{:d}",
)

# %%
# Takeaways
# ---------
# - The exponential count is not a knife-edge: noise of a few percent of the
#   weights keeps (even slightly raises) it, and it erodes gradually as the
#   noise grows to the size of the weights.
# - It is nonetheless a property of very special weights: random middle layers
#   or PyTorch's default initialisation give a handful of pieces and, at width
#   two, soon a dead network that computes a constant.

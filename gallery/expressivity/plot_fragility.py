"""
How fragile is the sawtooth's exponential number of pieces?
===========================================================

The sawtooth network reaches :math:`2^L` linear pieces with exactly chosen
weights. We perturb its middle layers with Gaussian noise of growing size,
replace them by random layers, and re-initialise the whole network with
PyTorch's standard scheme, and count the pieces exactly at every depth up to
16 for ten seeds per case, both by number and weighted by their length.
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
# Pieces against depth: all of them, and the wide ones
# ----------------------------------------------------
# Exact counts (:func:`nnbook.sawtooth.pieces_vs_depth`) for depths 0 to 16 and
# seeds 0 to 9. A tiny sliver between two nearby kinks counts as a piece like
# any other, so we also count only the *wide* pieces: those wider than a
# quarter of the exact sawtooth's pieces at the same depth,
# :math:`\tfrac14 \cdot 4/2^L`. Lines are means over the seeds, bands the
# 10% to 90% quantiles.
depths = list(range(17))
seeds = range(10)
levels = [0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 1.5, 2.0]
exact = sawtooth.pieces_vs_depth(depths, "exact", seeds=[0])
noisy = {s: sawtooth.pieces_vs_depth(depths, "noisy", seeds, noise_level=s) for s in levels}
random_mid = sawtooth.pieces_vs_depth(depths, "random", seeds)
reset = sawtooth.pieces_vs_depth(depths, "reset", seeds)

shown = [0.01, 0.1, 0.5, 1.0, 2.0]  # the levels the text discusses
colours = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151"]  # viridis, dark to light as the noise grows
fig, axes = plotting.new_figure(1, 3, width=12.0, height=4.0)
for ax, measure, title in zip(
    axes[:2], ("count", "wide"), ("All pieces", "Wide pieces (slivers left out)"), strict=True
):
    for s, colour in zip(shown, colours, strict=True):
        plotting.band(ax, depths, getattr(noisy[s], measure), label=f"noise s = {s:g}", color=colour)
    ax.plot(depths, getattr(exact, measure)[0], "--", color="C3", lw=1.5, zorder=5, label="exact, $2^L$ (drawn on top)")
    ax.set(yscale="log", xlabel="hidden layers L", ylabel="pieces on [-2, 2]", title=title, xticks=depths[::4])
plotting.legend(axes[0])
for offset, (pieces, label, style) in zip(
    (-0.12, 0.12), ((random_mid, "random middle", "s-"), (reset, "reset (standard init)", "^--")), strict=True
):
    mean = pieces.count.mean(axis=0)
    axes[2].errorbar(
        np.array(depths) + offset,
        mean,
        yerr=[mean - pieces.count.min(axis=0), pieces.count.max(axis=0) - mean],
        fmt=style,
        ms=4,
        capsize=2,
        label=label,
    )
axes[2].set(
    xlabel="hidden layers L", ylabel="pieces on [-2, 2] (mean, min to max)", title="Random weights", xticks=depths[::4]
)
axes[2].set_ylim(0.5, 10.5)  # room for the legend above the bars
plotting.legend(axes[2], loc="upper right", ncols=2)

# %%
# How fast the count grows
# ------------------------
# The growth exponent is the slope of :math:`\log_2` of the mean count against
# depth over depths 8 to 16 (:func:`nnbook.sawtooth.growth_exponent`): 1 means
# doubling per layer. We call the exponential growth broken once the mean
# grows by less than :math:`\sqrt 2` per layer (exponent below 1/2).
exponent = {
    m: [sawtooth.growth_exponent(depths[8:], getattr(noisy[s], m)[:, 8:]) for s in levels] for m in ("count", "wide")
}
# On the right, the counts at depth 16 relative to the exact network's
# :math:`2^{16}`.
fig, (ax, ax_deep) = plotting.new_figure(1, 2, width=11.0, height=3.8)
ax.plot(levels, exponent["count"], "o-", label="all pieces")
ax.plot(levels, exponent["wide"], "s--", label="wide pieces")
ax.axhline(1.0, color="0.5", ls=":", lw=1, label="exact sawtooth (doubling)")
ax.axhline(0.5, color="C3", ls="-.", lw=1, label=r"threshold: growth factor $\sqrt{2}$")
ax.set(
    xscale="log",
    xlabel="noise standard deviation s (weights are +-2)",
    ylabel="growth exponent (bits per layer)",
    title="How fast the count grows, depths 8 to 16",
)
plotting.legend(ax)
for measure, style, label in (("count", "o-", "all pieces"), ("wide", "s--", "wide pieces")):
    ax_deep.plot(levels, [getattr(noisy[s], measure)[:, -1].mean() / 2**16 for s in levels], style, label=label)
ax_deep.axhline(1.0, color="0.5", ls=":", lw=1, label="exact sawtooth")
ax_deep.set(
    xscale="log",
    yscale="log",
    xlabel="noise standard deviation s (weights are +-2)",
    ylabel=r"mean pieces at depth 16 / $2^{16}$",
    title="Slivers double the count, not the wide pieces",
)
plotting.legend(ax_deep)

# %%
# The numbers, checked
# --------------------
by_level = {m: dict(zip(levels, exponent[m], strict=True)) for m in exponent}
breakdown = sawtooth.breakdown_level(levels, exponent["wide"])
deep = {s: noisy[s].count[:, -1] for s in levels}
deep_wide = {s: noisy[s].wide[:, -1] for s in levels}
with book.numbers():
    for s in (0.01, 0.1, 0.3, 0.5, 1.0, 2.0):
        key = f"{s:g}".replace(".", "_")
        book.record(
            f"expressivity/growth_noise_{key}",
            by_level["count"][s],
            fmt="{:.2f}",
            label=f"growth exponent of the count at s = {s:g}",
        )
        book.record(
            f"expressivity/growth_wide_noise_{key}",
            by_level["wide"][s],
            fmt="{:.2f}",
            label=f"growth exponent of the wide pieces at s = {s:g}",
        )
    book.record("expressivity/breakdown_noise", breakdown, fmt="{:g}", label="noise level where growth breaks")
    book.record(
        "expressivity/pieces16_noise_0_01", deep[0.01].mean(), fmt="{:,.0f}", label="pieces at depth 16, s=0.01"
    )
    book.record(
        "expressivity/wide16_noise_0_01",
        deep_wide[0.01].mean(),
        fmt="{:,.0f}",
        label="wide pieces at depth 16, s = 0.01",
    )
    book.record(
        "expressivity/wide16_noise_1", deep_wide[1.0].mean(), fmt="{:,.0f}", label="wide pieces at depth 16, s = 1"
    )
    book.record("expressivity/pieces16_noise_1", deep[1.0].mean(), fmt="{:,.0f}", label="pieces at depth 16, s = 1")
    book.record("expressivity/pieces16_noise_1_min", int(deep[1.0].min()), fmt="{:d}", label="the unluckiest seed")
    book.record(
        "expressivity/pieces16_noise_2_median",
        np.median(deep[2.0]),
        fmt="{:.0f}",
        label="median pieces at depth 16, s = 2",
    )
    book.record("expressivity/reset_max_pieces", int(reset.count.max()), fmt="{:d}", label="most pieces after reset")
    book.record(
        "expressivity/constant16",
        int(min((random_mid.count[:, -1] == 1).sum(), (reset.count[:, -1] == 1).sum())),
        fmt="{:d}",
        label="networks of depth 16 (of ten, either kind) that compute a constant",
    )
    book.record(
        "expressivity/random_max_pieces",
        int(random_mid.count.max()),
        fmt="{:d}",
        label="most pieces with random middle layers",
    )
    book.claim(
        "expressivity/small_noise_keeps_doubling",
        "with noise up to s = 0.03 the number of wide pieces still grows by at least 2^0.95 per layer",
        value=min(by_level["wide"][s] for s in (0.01, 0.03)),
        at_least=0.95,
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/noise_adds_slivers",
        "at s = 0.01 and depth 16 every seed has at least 1.5 times the exact network's 2^16 pieces",
        value=deep[0.01].min() / 2**16,
        at_least=1.5,
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/slivers_add_no_length",
        "counting only wide pieces, those networks have between 0.9 and 1.1 times the exact network's pieces",
        value=deep_wide[0.01].mean() / 2**16,
        between=(0.9, 1.1),
        fmt="{:.2f}",
    )
    book.claim(
        "expressivity/breakdown_level",
        "the growth exponent of the wide pieces first falls below 1/2 at a noise level between 0.3 and 1.5 "
        "(a sixth of the weights' size or more)",
        value=breakdown,
        between=(0.3, 1.5),
        fmt="{:g}",
    )
    book.claim(
        "expressivity/reset_collapses",
        "after the standard re-initialisation every network of depth 10 to 16 has at most 10 pieces (2^10 to 2^16 "
        "for the exact one)",
        value=int(reset.count[:, 10:].max()),
        at_most=10,
        fmt="{:d}",
    )
    book.claim(
        "expressivity/random_collapses",
        "with random middle layers, and after the standard re-initialisation, at least 9 in 10 networks of depth 16 "
        "compute a constant",
        value=min((random_mid.count[:, -1] == 1).mean(), (reset.count[:, -1] == 1).mean()),
        at_least=0.9,
        fmt="{:.0%}",
    )
    book.check(
        "expressivity/wide_at_most_count",
        "no network has more wide pieces than pieces, and the exact one has only wide pieces",
        value=max(float((p.wide / p.count).max()) for p in (*noisy.values(), random_mid, reset, exact))
        + float(np.abs(exact.wide - exact.count).max()),
        between=(1.0, 1.0),
        fmt="{:.3f}",
    )

# %%
# Takeaways
# ---------
# - The exponential count is not a knife-edge: noise of a few percent of the
#   weights keeps the doubling. It doubles the raw count too, but only by
#   splitting kinks into pairs with a sliver between them; counting only the
#   wide pieces, small noise adds nothing.
# - The growth erodes gradually as the noise grows to the size of the weights.
# - The exponential count is nonetheless a property of very special weights:
#   random middle layers or PyTorch's default initialisation give a handful of
#   pieces and, at width two, soon a dead network that computes a constant.
plotting.show()

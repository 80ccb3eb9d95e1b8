"""
Do the tables match an independent model, and where does the time go on this machine?
=====================================================================================

Everything so far was counted from the paper's table. Here forward hooks on
torchvision's MobileNetV2, written independently of that table, record the
tensors each layer actually receives and returns, and the analytic table must
match them byte for byte. Then we measure this machine's roofs (how fast it
copies memory and multiplies matrices) and time every layer, to place each
one on a roofline by its multiply-adds per byte moved.
"""

# sphinx_gallery_dummy_images = 2
# sphinx_gallery_parallel = False

# %%
# Hooks on an independent module
# ------------------------------
# A forward hook on every convolution and linear layer records the shape and
# size in bytes of its input and output tensors, its weights (plus the bias a
# folded BatchNorm would add) and its multiply-adds, during an ordinary forward
# pass of one image. We compare every field of every row of the analytic
# table with torchvision's module, at 224x224 and at 56x56; the pool, which
# torchvision computes with a function rather than a module, is checked
# against the tensors on either side of it. A wrong row of our table (a ``t``
# of 4 instead of 6 in one stage, say) shows up here as dozens of mismatches.
import numpy as np
from scipy import stats

from nnbook import book, data_movement, layer_hooks, machine, mobilenet, plotting

model = mobilenet.mobilenet_v2()
comparisons = {
    size: layer_hooks.compare_records(data_movement.layer_table(size), layer_hooks.measure_convs(model, size))
    for size in (224, 56)
}

# %%
# This machine's roofs
# --------------------
# A roofline bounds the rate of a computation of arithmetic intensity
# :math:`I` (multiply-adds per byte moved) by :math:`\min(P, I B)`. We measure
# :math:`B` by copying float32 arrays from 256 KiB to 128 MiB (each byte read
# and written once) and :math:`P` by a 256x256 float32 matrix product, all on
# one thread, in about a second. Small arrays stay in the processor's
# caches and copy several times faster than the large ones, which come from
# main memory (DRAM): the memory roof depends on where the data lives. Every
# timed piece of work is short (a chunk of at most 4 MiB of a copy, one
# product) and the fastest counts, the least disturbed by other work on the
# machine; this example also runs alone in the build.
roofs = machine.measure_roofs(repeats=5, threads=1)

# %%
# Where the time goes
# -------------------
# A forward pre-hook starts a clock and a forward hook stops it, around every
# convolution and the classifier, over 15 passes of one 224x224 image (after
# one warm-up pass) on one thread; we keep the fastest time of each layer, the
# least disturbed by whatever else the machine is doing. A layer's intensity
# is its multiply-adds per byte it must move when run on its own: its input
# and weights read once, its output written once. A 1x1 convolution reuses
# every input value for each of its output channels, a depthwise convolution
# for only the nine taps of one channel, and the classifier, at batch one a
# matrix-vector product, uses each of its 1.3 million weights once.
records = layer_hooks.measure_convs(model, 224)
seconds = layer_hooks.time_convs(model, 224, repeats=15, seed=0, threads=1).min(axis=0)
kinds = np.array([r.kind for r in data_movement.layer_table(224) if r.kind != "pool"])
macs = np.array([r.macs for r in records], dtype=float)
intensity = macs / np.array([r.moved_bytes for r in records])
rate = macs / seconds  # achieved multiply-adds per second
groups = {"depthwise 3×3": ["depthwise"], "1×1": ["expand", "project", "head"], "stem 3×3": ["stem"]}
groups["classifier"] = ["classifier"]
costs = layer_hooks.group_costs(kinds, macs, seconds, groups)
under_cache = rate / machine.attainable(intensity, roofs.cache_bandwidth, roofs.peak_rate)
under_dram = rate / machine.attainable(intensity, roofs.dram_bandwidth, roofs.peak_rate)

# %%
# The roofline of this machine
# ----------------------------
# Left: copy bandwidth against array size (linear vertical axis); the drop
# marks the end of the caches. Right: each layer at its intensity and achieved rate, under the
# arithmetic roof (horizontal) and two memory roofs, the fastest cache's and
# main memory's. Both axes are logarithmic.
colours = {"stem": "0.5", "expand": "C0", "depthwise": "C1", "project": "C2", "head": "0.2", "classifier": "C4"}
fig, (left, right) = plotting.new_figure(1, 2, width=9.0, height=4.2, width_ratios=(1, 1.6))
left.plot(roofs.sizes / 2**20, roofs.bandwidths / 1e9, "o-", color="0.3")
left.set(xscale="log", xlabel="array size (MiB)", ylabel="copy bandwidth (GB/s)", ylim=(0, None))
left.set_title("Copying an array, one thread")
grid = np.geomspace(0.05, 200, 200)
for bandwidth, text, style in ((roofs.cache_bandwidth, "cache", "--"), (roofs.dram_bandwidth, "main memory", ":")):
    right.plot(
        grid, machine.attainable(grid, bandwidth, roofs.peak_rate) / 1e9, color="0.2", ls=style, label=f"roof, {text}"
    )
for kind, colour in colours.items():
    m = kinds == kind
    right.scatter(intensity[m], rate[m] / 1e9, s=22 if kind == "classifier" else 16, color=colour, label=kind, zorder=3)
right.set(
    xscale="log",
    yscale="log",
    xlabel="multiply-adds per byte moved",
    ylabel="achieved GMAC/s",
    title="Layers of a 224×224 inference, one thread",
)
plotting.legend(right, fontsize=7, loc="lower right", ncols=2)
right.set_yticks([0.5, 1, 2, 5, 10, 20, 50])
for axis in (left.xaxis, right.xaxis, right.yaxis):
    axis.set_major_formatter("{x:g}")
    axis.set_minor_formatter("")

# %%
# Work versus time
# ----------------
# The share of the multiply-adds and of the layer time of each group.
fig, ax = plotting.new_figure(width=6.0, height=3.6)
x = np.arange(len(groups))
ax.bar(x - 0.2, [100 * costs[g].mac_share for g in groups], width=0.4, label="share of multiply-adds")
ax.bar(x + 0.2, [100 * costs[g].time_share for g in groups], width=0.4, label="share of layer time")
ax.set_xticks(x, list(groups))
ax.set(ylabel="%", title="Work versus time, 224×224, float32, one thread")
plotting.legend(ax, fontsize=8)

# %%
# The numbers, checked
# --------------------
dw, pw = "depthwise 3×3", "1×1"
depthwise, pointwise, classifier = kinds == "depthwise", np.isin(kinds, groups[pw]), kinds == "classifier"
with book.numbers():
    book.record(
        "data_movement/hook_fields_compared",
        sum(c.compared for c in comparisons.values()),
        fmt="{:d}",
        label="fields compared with the hooks",
    )
    book.record(
        "data_movement/dram_gbs",
        roofs.dram_bandwidth / 1e9,
        fmt="{:.1f}",
        label="main-memory copy bandwidth",
        unit="GB/s",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/cache_gbs",
        roofs.cache_bandwidth / 1e9,
        fmt="{:.0f}",
        label="cache copy bandwidth",
        unit="GB/s",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/peak_gmacs",
        roofs.peak_rate / 1e9,
        fmt="{:.0f}",
        label="matmul peak",
        unit="GMAC/s",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/ridge_dram",
        roofs.ridge_dram,
        fmt="{:.1f}",
        label="ridge point, main memory",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/ridge_cache",
        roofs.ridge_cache,
        fmt="{:.1f}",
        label="ridge point, cache",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/depthwise_time_share",
        100 * costs[dw].time_share,
        fmt="{:.0f}",
        unit="%",
        label="share of layer time in depthwise layers",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/depthwise_mac_share_measured",
        100 * costs[dw].mac_share,
        fmt="{:.1f}",
        unit="%",
        label="share of multiply-adds in depthwise layers (timed run)",
    )
    book.record(
        "data_movement/depthwise_gmacs",
        costs[dw].rate / 1e9,
        fmt="{:.2f}",
        unit="GMAC/s",
        label="depthwise rate",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/pointwise_gmacs",
        costs[pw].rate / 1e9,
        fmt="{:.1f}",
        unit="GMAC/s",
        label="1x1 rate",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/classifier_gmacs",
        costs["classifier"].rate / 1e9,
        fmt="{:.1f}",
        unit="GMAC/s",
        label="classifier rate",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/depthwise_intensity",
        np.median(intensity[depthwise]),
        fmt="{:.2f}",
        label="median depthwise intensity, MACs per byte moved",
    )
    book.record(
        "data_movement/pointwise_intensity",
        np.median(intensity[pointwise]),
        fmt="{:.1f}",
        label="median 1x1 intensity, MACs per byte moved",
    )
    book.record(
        "data_movement/classifier_intensity",
        intensity[classifier][0],
        fmt="{:.2f}",
        label="classifier intensity, MACs per byte moved",
    )
    book.record(
        "data_movement/pointwise_of_peak",
        100 * np.median(rate[pointwise]) / roofs.peak_rate,
        fmt="{:.0f}",
        unit="%",
        label="median 1x1 rate, share of the matmul peak",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/depthwise_of_cache_roof",
        100 * np.median(under_cache[depthwise]),
        fmt="{:.0f}",
        unit="%",
        label="median depthwise rate, share of the cache roof",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "data_movement/classifier_over_dram_roof",
        under_dram[classifier][0],
        fmt="{:.1f}",
        label="classifier rate over the main-memory roof",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.check(
        "data_movement/layers_under_the_arithmetic_roof",
        "no layer runs faster than the measured matrix-product peak, within timing noise "
        "(value: fastest layer over the peak)",
        value=rate.max() / roofs.peak_rate,
        at_most=1.25,
        fmt="{:.2f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/hooks_match_torchvision",
        "every shape, byte count and multiply-add count of the analytic table equals what hooks on torchvision's "
        "independent module record, at 224x224 and 56x56 (value: mismatches)",
        value=sum(c.mismatches for c in comparisons.values()),
        at_most=0,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/caches_beat_main_memory",
        "arrays that fit in the caches copy at least twice as fast as arrays from main memory (value: ratio)",
        value=roofs.cache_bandwidth / roofs.dram_bandwidth,
        at_least=2,
        fmt="{:.1f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/pointwise_near_the_arithmetic_roof",
        "the median 1x1 convolution reaches at least a third of the matmul peak (value: % of peak)",
        value=100 * np.median(rate[pointwise]) / roofs.peak_rate,
        at_least=33,
        fmt="{:.0f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/depthwise_below_its_roof",
        "the median depthwise convolution reaches less than half of even the main-memory roof at its intensity "
        "(value: %)",
        value=100 * np.median(under_dram[depthwise]),
        at_most=50,
        fmt="{:.0f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/classifier_memory_bound",
        "the classifier, a matrix-vector product at batch one, reaches less than half of the matmul peak (value: %)",
        value=100 * rate[classifier][0] / roofs.peak_rate,
        at_most=50,
        fmt="{:.0f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/depthwise_slow_per_mac",
        "the depthwise convolutions' share of the time is more than twice their share of the multiply-adds "
        "(value: ratio)",
        value=costs[dw].time_share / costs[dw].mac_share,
        at_least=2,
        fmt="{:.1f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/depthwise_rate_below_pointwise",
        "the 1x1 convolutions achieve more than twice the multiply-adds per second of the depthwise ones "
        "(value: ratio)",
        value=costs[pw].rate / costs[dw].rate,
        at_least=2,
        fmt="{:.1f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "data_movement/rate_follows_intensity",
        "across the 53 timed layers, achieved rate rises with arithmetic intensity (value: Spearman correlation)",
        value=stats.spearmanr(intensity, rate).statistic,
        at_least=0.5,
        fmt="{:.2f}",
        tolerance=book.MEASURED_TOLERANCE,
    )

# %%
# Takeaways
# ---------
# - The analytic working-set table is exactly what torchvision's independent
#   module does: same shapes, same bytes, same multiply-adds, at both
#   resolutions.
# - The 1x1 convolutions run near this machine's arithmetic roof. The depthwise
#   convolutions, at about one multiply-add per byte, run far below even the
#   main-memory roof at their intensity: per multiply-add they are several
#   times slower, and what holds them back is the kernel, not a memory.
# - The classifier, a matrix-vector product at batch one, is memory bound. Its
#   weights fit in this CPU's caches, so where it lands between the two memory
#   roofs depends on what else the machine is doing: a roofline needs the roofs
#   of the machine at hand, measured, not assumed.

plotting.show()

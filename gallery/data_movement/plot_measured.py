"""
Do the tables match a real forward pass, and where does the time go?
====================================================================

Everything so far was counted from the paper's table. Here forward hooks on
the PyTorch module record the tensors each convolution actually receives and
returns, and the analytic table must match them byte for byte. Then we time
every convolution on this machine's CPU: the depthwise convolutions do a few
percent of the arithmetic but take a far larger share of the time, because
they do about one multiply-add per byte they touch.
"""

# sphinx_gallery_dummy_images = 1

# %%
# Hooks on the real module
# ------------------------
# A forward hook on every ``nn.Conv2d`` records the shape and size in bytes of
# its input and output tensors, its weights (plus the bias a folded BatchNorm
# would add) and its multiply-adds, during an ordinary forward pass of one
# image. We compare every field of every row with the analytic table, at
# 224x224 and at 56x56.
import numpy as np
from scipy import stats

from nnbook import book, data_movement, layer_hooks, plotting

model = data_movement.mobilenet_v2()
fields = ("input_shape", "output_shape", "input_bytes", "output_bytes", "weight_bytes", "macs")
mismatches, compared = 0, 0
for size in (224, 56):
    measured = layer_hooks.measure_convs(model, size)
    analytic = data_movement.layer_table(size, bytes_per_element=4)
    compared += len(analytic) * len(fields)
    mismatches += sum(getattr(a, f) != getattr(m, f) for a, m in zip(analytic, measured, strict=True) for f in fields)
    mismatches += abs(len(measured) - len(analytic))
    hooked_macs = sum(m.macs for m in measured) + 1280 * 1000
    print(f"{size}x{size}: {len(measured)} convolutions hooked, {hooked_macs / 1e6:.1f} M multiply-adds")
book.record("data_movement/hook_fields_compared", compared, fmt="{:d}")
book.claim(
    "data_movement/hooks_match_table",
    "every shape, byte count and multiply-add count of the analytic table equals what the hooks record",
    mismatches == 0,
    mismatches,
    fmt="{:d}",
)

# %%
# A second opinion from torchvision
# ---------------------------------
# When torchvision imports, its own ``mobilenet_v2`` must have the same
# parameters and the same convolution shapes. On machines where it does not
# import (a CUDA build next to a CPU torch raises at import), the check is
# skipped; the test suite does the same.
try:
    import torchvision
except Exception as err:  # torchvision raises RuntimeError, not ImportError, next to a CPU torch
    print(f"torchvision cross-check skipped: {type(err).__name__}: {err}")
else:
    reference = torchvision.models.mobilenet_v2(weights=None)
    theirs = layer_hooks.measure_convs(reference, 224)
    ours = layer_hooks.measure_convs(model, 224)
    same = [(a.input_shape, a.output_shape, a.weight_bytes) for a in ours] == [
        (b.input_shape, b.output_shape, b.weight_bytes) for b in theirs
    ]
    print(f"torchvision: {sum(p.numel() for p in reference.parameters()):,} parameters, same convolutions: {same}")

# %%
# Where the time goes
# -------------------
# A forward pre-hook starts a clock and a forward hook stops it, around every
# convolution, over 15 passes of one 224x224 image (after one warm-up pass) on
# one thread; we keep the fastest time of each convolution, the least disturbed
# by whatever else the machine is doing. The arithmetic intensity of a
# layer is its multiply-adds per byte of working set: a 1x1 convolution reuses
# every input value for each of its output channels, a depthwise convolution
# for only the nine taps of one channel.
seconds = layer_hooks.time_convs(model, 224, repeats=15, seed=0, threads=1).min(axis=0)
rows = data_movement.layer_table(224, bytes_per_element=4)
kinds = np.array([r.kind for r in rows])
macs = np.array([r.macs for r in rows], dtype=float)
intensity = macs / np.array([r.working_set_bytes for r in rows])
rate = macs / seconds / 1e9  # achieved GMAC/s
groups = {
    "depthwise 3×3": kinds == "depthwise",
    "1×1 (expand, project, head)": np.isin(kinds, ["expand", "project", "head"]),
    "stem 3×3": kinds == "stem",
}
mac_share = {g: macs[m].sum() / macs.sum() for g, m in groups.items()}
time_share = {g: seconds[m].sum() / seconds.sum() for g, m in groups.items()}
group_rate = {g: macs[m].sum() / seconds[m].sum() / 1e9 for g, m in groups.items()}

fig, axes = plotting.new_figure(1, 2, width=8.5, height=3.8)
x = np.arange(len(groups))
axes[0].bar(x - 0.2, [100 * mac_share[g] for g in groups], width=0.4, label="share of multiply-adds")
axes[0].bar(x + 0.2, [100 * time_share[g] for g in groups], width=0.4, label="share of convolution time")
axes[0].set_xticks(x, ["depthwise\n3×3", "1×1", "stem\n3×3"])
axes[0].set(ylabel="%", title="Work versus time, 224×224, float32, one thread")
axes[0].legend(fontsize=8)
colours = {"stem": "0.5", "expand": "C0", "depthwise": "C1", "project": "C2", "head": "0.2"}
for kind, colour in colours.items():
    m = kinds == kind
    axes[1].scatter(intensity[m], rate[m], s=18, color=colour, label=kind)
axes[1].set(
    xscale="log",
    yscale="log",
    xlabel="multiply-adds per byte of working set",
    ylabel="achieved GMAC/s",
    title="Throughput against arithmetic intensity",
)
axes[1].set_xticks([0.5, 1, 2, 5, 10, 20])
axes[1].set_yticks([0.2, 0.5, 1, 2, 5, 10, 20, 50])
for axis in (axes[1].xaxis, axes[1].yaxis):
    axis.set_major_formatter("{x:g}")
    axis.set_minor_formatter("")
axes[1].legend(fontsize=8)

# %%
# The numbers behind the picture
# ------------------------------
dw, pw = "depthwise 3×3", "1×1 (expand, project, head)"
rho = stats.spearmanr(intensity, rate).statistic
book.record("data_movement/depthwise_time_share", 100 * time_share[dw], fmt="{:.0f}")
book.record("data_movement/depthwise_mac_share_measured", 100 * mac_share[dw], fmt="{:.1f}")
book.record("data_movement/depthwise_gmacs", group_rate[dw], fmt="{:.2f}")
book.record("data_movement/pointwise_gmacs", group_rate[pw], fmt="{:.1f}")
book.record("data_movement/depthwise_intensity", np.median(intensity[groups[dw]]), fmt="{:.2f}")
book.record("data_movement/pointwise_intensity", np.median(intensity[groups[pw]]), fmt="{:.1f}")
book.record("data_movement/total_conv_ms", 1e3 * seconds.sum(), fmt="{:.0f}")
book.claim(
    "data_movement/depthwise_slow_per_mac",
    "the depthwise convolutions' share of the time is more than twice their share of the multiply-adds",
    time_share[dw] > 2 * mac_share[dw],
    time_share[dw] / mac_share[dw],
    fmt="{:.1f}",
)
book.claim(
    "data_movement/depthwise_rate_below_pointwise",
    "the depthwise convolutions achieve less than half the multiply-adds per second of the 1x1 convolutions",
    group_rate[dw] < 0.5 * group_rate[pw],
    group_rate[pw] / group_rate[dw],
    fmt="{:.1f}",
)
book.claim(
    "data_movement/rate_follows_intensity",
    "across the 52 convolutions, achieved throughput rises with arithmetic intensity (Spearman correlation above 0.5)",
    rho > 0.5,
    rho,
    fmt="{:.2f}",
)

# %%
# Takeaways
# ---------
# - The analytic working-set table is exactly what the real module does:
#   same shapes, same bytes, same multiply-adds, at both resolutions.
# - The depthwise convolutions do a few percent of the arithmetic but take a
#   much larger share of the time; per multiply-add they are several times
#   slower than the 1x1 convolutions.
# - Throughput follows arithmetic intensity: layers that touch a byte for
#   every multiply-add are limited by moving data, not by arithmetic.

"""
How much arithmetic does MobileNetV2 do, and where are its parameters?
======================================================================

We expand the eleven rows of Table 2 of Sandler et al. (2018) into the 54
layers of MobileNetV2 (the classifier of the table's last row included),
count their parameters and multiply-adds by hand, and check both against
torchvision's implementation, which is written independently of our table.
Then we see how the arithmetic and the parameters are spread over the
network: the multiply-adds over the whole of it, the parameters at its end.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The network from the paper's table
# ----------------------------------
# Each bottleneck row of Table 2 is a stage of ``n`` inverted residual blocks
# with expansion factor ``t``, ``c`` output channels and stride ``s`` in its
# first block. A block expands its input with a 1x1 convolution to ``t`` times
# the channels, filters each channel with a 3x3 depthwise convolution and
# projects back with a linear 1x1 convolution, adding its input when the
# shapes match. The last three rows are a 1x1 convolution to 1280 channels,
# a global average pool and the classifier, a 1x1 convolution with ``k``
# outputs; we take ``k = 1000`` (ImageNet), as the paper does.
import numpy as np

from nnbook import book, mobilenet, plotting

stages = mobilenet.stage_table(224)
layers = mobilenet.layers(224)
table = book.save_table(
    "data_movement/architecture",
    [
        {
            "input": "{1}² × {0}".format(*s.input_shape),
            "operator": s.operator,
            "t": s.t or "-",
            "c": s.c,
            "n": s.n,
            "s": s.s or "-",
            "layers": f"{s.first}–{s.last}" if s.last > s.first else s.first,
            "parameters": s.parameters,
            "MMACs": s.macs / 1e6,
        }
        for s in stages
    ],
    formats={"parameters": "{:,}", "MMACs": "{:.1f}"},
)

# %%
# An independent model: torchvision's
# -----------------------------------
# ``mobilenet.mobilenet_v2`` returns torchvision's implementation, which is
# not built from our table; if we had mistyped a row (say ``t = 4`` instead of
# 6 in one stage), our counts and its module would disagree. Parameters are
# the convolution weights (no biases), the BatchNorm parameters and the
# classifier's weights and biases. BatchNorm can be counted three ways: two
# trainable numbers per channel (torchvision), one folded bias per channel (the
# inference model) or not at all.
model = mobilenet.mobilenet_v2()
module_parameters = sum(p.numel() for p in model.parameters())
counts = {bn: mobilenet.parameter_count(batch_norm=bn) for bn in mobilenet.BATCH_NORM}
macs = mobilenet.mac_count(224)

# %%
# Where the arithmetic and the parameters are
# -------------------------------------------
# One bar per layer in execution order, coloured by its role; grey bands mark
# every other row of Table 2, and the bottleneck stages are labelled by their
# output channels ``c``.
# The 1x1 convolutions do almost all the arithmetic; the depthwise filters
# are cheap in both. Parameters grow with the square of the channel count and
# so concentrate in the last, widest layers, where the feature maps are small.
colours = {"stem": "0.5", "expand": "C0", "depthwise": "C1", "project": "C2", "head": "0.2", "classifier": "C4"}
kinds = np.array([x.kind for x in layers])
layer_macs = np.array([x.macs for x in layers])
layer_params = np.array([x.parameters for x in layers])
fig, axes = plotting.new_figure(2, 1, width=7.5, height=5.6, sharex=True)
for kind, colour in colours.items():
    idx = np.flatnonzero(kinds == kind)
    axes[0].bar(idx, layer_macs[idx] / 1e6, color=colour, label=kind)
    axes[1].bar(idx, layer_params[idx] / 1e3, color=colour, label=kind)
for ax in axes:
    ax.grid(axis="x", visible=False)
    for stage in stages[1::2]:  # every other row of Table 2 shaded: the stage boundaries
        ax.axvspan(stage.first - 0.5, stage.last + 0.5, color="0.92", zorder=0, lw=0)
for stage in stages:
    if stage.operator == "bottleneck":
        axes[0].annotate(
            f"c={stage.c}",
            ((stage.first + stage.last) / 2, 1),
            xycoords=("data", "axes fraction"),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            color="0.3",
        )
axes[0].set_title("MobileNetV2 at 224×224, layer by layer; bands: the rows of Table 2", pad=14)
axes[0].set(ylabel="multiply-adds (millions)")
axes[1].set(ylabel="parameters (thousands)", xlabel="layer, in execution order", yscale="log")
plotting.legend(axes[1], ncols=6, loc="upper left", fontsize=8)

# %%
# Shares by role
# --------------
# The 1x1 layers (expansions, projections, the head and the classifier) against
# the depthwise filters; and the last rows of Table 2 (160 and 320 channels,
# the head, the pool and the classifier) against the rest.
costs = mobilenet.cost_by_kind(224)
pointwise = sum(costs[k].mac_share for k in ("expand", "project", "head", "classifier"))
late = [s for s in stages if s.c >= 160]

# %%
# The numbers, checked
# --------------------
with book.numbers():
    book.record("data_movement/num_layers", len(layers), fmt="{:d}", label="layers of the network")
    book.record("data_movement/num_convs", len(mobilenet.conv_layers(224)), fmt="{:d}", label="convolutions")
    book.record("data_movement/parameters", module_parameters, fmt="{:,}", label="torchvision parameters")
    book.record("data_movement/parameters_folded", counts["folded"], fmt="{:,}", label="parameters, BN folded")
    book.record("data_movement/parameters_no_bn", counts["none"], fmt="{:,}", label="parameters without BN")
    book.record("data_movement/bn_parameters", counts["trainable"] - counts["none"], fmt="{:,}", label="BN parameters")
    book.record("data_movement/macs_millions", macs / 1e6, fmt="{:.1f}", label="multiply-adds, millions")
    book.record(
        "data_movement/depthwise_mac_share",
        100 * costs["depthwise"].mac_share,
        fmt="{:.1f}",
        unit="%",
        label="share of multiply-adds in depthwise layers",
    )
    book.record(
        "data_movement/pointwise_mac_share",
        100 * pointwise,
        fmt="{:.1f}",
        unit="%",
        label="share of multiply-adds in 1x1 layers",
    )
    book.record(
        "data_movement/classifier_param_share",
        100 * costs["classifier"].parameter_share,
        fmt="{:.0f}",
        unit="%",
        label="share of parameters in the classifier",
    )
    book.record(
        "data_movement/late_param_share",
        100 * sum(s.parameters for s in late) / counts["trainable"],
        fmt="{:.0f}",
        unit="%",
        label="share of parameters from the 160-channel stage on",
    )
    book.record(
        "data_movement/late_mac_share",
        100 * sum(s.macs for s in late) / macs,
        fmt="{:.0f}",
        unit="%",
        label="share of multiply-adds from the 160-channel stage on",
    )
    book.claim(
        "data_movement/parameters_match_torchvision",
        "the parameters counted by hand from Table 2 equal those of torchvision's independent module",
        value=abs(counts["trainable"] - module_parameters),
        at_most=0,
        fmt="{:,}",
    )
    book.claim(
        "data_movement/macs_match_paper",
        "one 224x224 image costs within 1% of the paper's 300 million multiply-adds",
        value=macs / 1e6,
        between=(297, 303),
        fmt="{:.1f}",
    )
    book.claim(
        "data_movement/pointwise_dominates_macs",
        "the 1x1 layers do more than 85% of the multiply-adds",
        value=100 * pointwise,
        at_least=85,
        fmt="{:.1f}",
    )

# %%
# Takeaways
# ---------
# - The layers counted from Table 2 have exactly the parameters of
#   torchvision's module (batch norm and the 1000-class classifier
#   included), and one 224x224 image costs about 300 million multiply-adds.
# - The 1x1 layers do nearly all of the arithmetic; the depthwise filters, a
#   few percent of it.
# - The parameters sit at the end of the network (over a third of them in the
#   classifier), the large feature maps at the start: the next example shows
#   what that means for the memory a layer needs.

plotting.show()

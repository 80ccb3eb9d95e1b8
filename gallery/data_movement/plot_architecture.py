"""
How much arithmetic does MobileNetV2 do, and where are its parameters?
======================================================================

We build MobileNetV2 in PyTorch from the seven rows of Table 2 of Sandler et
al. (2018), check its size against the paper (3,504,872 parameters, about 300
million multiply-adds for a 224x224 image), and see how the arithmetic and the
parameters are spread over its 52 convolutions: the multiply-adds are spread
over the whole network, while the parameters pile up in the last blocks.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The network from the paper's table
# ----------------------------------
# Each row of Table 2 is a stage of ``n`` inverted residual blocks with
# expansion factor ``t``, ``c`` output channels and stride ``s`` in its first
# block. A block expands its input with a 1x1 convolution to ``t`` times the
# channels, filters each channel with a 3x3 depthwise convolution and projects
# back with a linear 1x1 convolution, adding its input when the shapes match.
# The module and the analytic list of its convolutions are built from the same
# table; ``nnbook.mobilenet`` counts parameters and multiply-adds by hand.
import numpy as np

from nnbook import book, data_movement, mobilenet, plotting

model = data_movement.mobilenet_v2(num_classes=1000)
layers = mobilenet.conv_layers(224)
module_parameters = sum(p.numel() for p in model.parameters())

rows, block = [], 0
stem, head = layers[0], layers[-1]
rows.append(
    {
        "input": f"{stem.in_size}² × 3",
        "operator": "conv2d 3×3",
        "t": "-",
        "c": stem.out_channels,
        "n": 1,
        "s": 2,
        "convs": 1,
        "parameters": stem.weight_count + 2 * stem.out_channels,
        "MMACs": stem.macs / 1e6,
    }
)
for stage in mobilenet.STAGES:
    convs = [c for c in layers if block < c.block <= block + stage.n]
    block += stage.n
    rows.append(
        {
            "input": f"{convs[0].in_size}² × {convs[0].in_channels}",
            "operator": "bottleneck",
            "t": stage.t,
            "c": stage.c,
            "n": stage.n,
            "s": stage.s,
            "convs": len(convs),
            "parameters": sum(c.weight_count + 2 * c.out_channels for c in convs),
            "MMACs": sum(c.macs for c in convs) / 1e6,
        }
    )
rows.append(
    {
        "input": f"{head.in_size}² × {head.in_channels}",
        "operator": "conv2d 1×1",
        "t": "-",
        "c": head.out_channels,
        "n": 1,
        "s": 1,
        "convs": 1,
        "parameters": head.weight_count + 2 * head.out_channels,
        "MMACs": head.macs / 1e6,
    }
)
rows.append(
    {
        "input": f"1² × {head.out_channels}",
        "operator": "linear (after 7×7 pooling)",
        "t": "-",
        "c": 1000,
        "n": 1,
        "s": "-",
        "convs": 0,
        "parameters": 1281 * 1000,
        "MMACs": 1280 * 1000 / 1e6,
    }
)
book.save_table("data_movement/architecture", rows, formats={"parameters": "{:,}", "MMACs": "{:.1f}"})

# %%
# Check the paper's numbers
# -------------------------
# Parameters are the convolution weights (no biases), a scale and a shift per
# BatchNorm channel, and the classifier's weights and biases. Multiply-adds
# (MACs) count one per weight per output position; BatchNorm, ReLU6, the
# residual additions and the pooling are not multiply-adds.
macs = mobilenet.mac_count(224)
book.record("data_movement/num_convs", len(layers), fmt="{:d}")
book.record("data_movement/parameters", module_parameters, fmt="{:,}")
book.record("data_movement/macs_millions", macs / 1e6, fmt="{:.1f}")
book.claim(
    "data_movement/parameters_match_paper",
    "the module built from Table 2 has exactly the paper's 3,504,872 parameters, as counted by hand",
    module_parameters == mobilenet.parameter_count() == 3_504_872,
    module_parameters,
    fmt="{:,}",
)
book.claim(
    "data_movement/macs_match_paper",
    "one 224x224 image costs within 1% of the paper's 300 million multiply-adds",
    abs(macs / 300e6 - 1) < 0.01,
    macs / 1e6,
    fmt="{:.1f}",
)

# %%
# Where the arithmetic and the parameters are
# -------------------------------------------
# One bar per convolution in execution order, coloured by its role. The 1x1
# convolutions do almost all the arithmetic; the depthwise filters are cheap
# in both. Parameters grow with the square of the channel count and so
# concentrate in the last, widest blocks, where the feature maps are small.
colours = {"stem": "0.5", "expand": "C0", "depthwise": "C1", "project": "C2", "head": "0.2"}
kinds = np.array([c.kind for c in layers])
layer_macs = np.array([c.macs for c in layers])
layer_params = np.array([c.weight_count + 2 * c.out_channels for c in layers])
fig, axes = plotting.new_figure(2, 1, width=7.5, height=5.2, sharex=True)
for kind, colour in colours.items():
    idx = np.flatnonzero(kinds == kind)
    axes[0].bar(idx, layer_macs[idx] / 1e6, color=colour, label=kind)
    axes[1].bar(idx, layer_params[idx] / 1e3, color=colour, label=kind)
axes[0].set(ylabel="multiply-adds (millions)", title="MobileNetV2 at 224×224: cost of each of the 52 convolutions")
axes[1].set(ylabel="parameters (thousands)", xlabel="convolution, in execution order", yscale="log")
axes[1].legend(ncols=5, loc="upper left", fontsize=8)

# %%
# Shares by role
# --------------
share = {k: layer_macs[kinds == k].sum() / macs for k in colours}
late = np.array([c.block >= 14 for c in layers])  # the stages of 160 and 320 channels, and the head
classifier = 1281 * 1000
book.record("data_movement/depthwise_mac_share", 100 * share["depthwise"], fmt="{:.1f}")
book.record(
    "data_movement/pointwise_mac_share", 100 * (share["expand"] + share["project"] + share["head"]), fmt="{:.1f}"
)
book.record("data_movement/classifier_param_share", 100 * classifier / module_parameters, fmt="{:.0f}")
book.record("data_movement/late_param_share", 100 * layer_params[late].sum() / module_parameters, fmt="{:.0f}")
book.record("data_movement/late_mac_share", 100 * layer_macs[late].sum() / macs, fmt="{:.0f}")
book.claim(
    "data_movement/pointwise_dominates_macs",
    "the 1x1 convolutions do more than 85% of the multiply-adds",
    share["expand"] + share["project"] + share["head"] > 0.85,
    100 * (share["expand"] + share["project"] + share["head"]),
    fmt="{:.1f}",
)

# %%
# Takeaways
# ---------
# - The module built from Table 2 has exactly the paper's parameter count, and
#   one 224x224 image costs about 300 million multiply-adds.
# - The 1x1 convolutions do nearly all of the arithmetic; the depthwise
#   filters, a few percent of it.
# - The parameters sit at the end of the network (and in the classifier),
#   the large feature maps at the start: the next example shows what that
#   means for the memory a layer needs.

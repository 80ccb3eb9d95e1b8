"""
What must be on chip to run one layer of MobileNetV2?
=====================================================

For every one of the 52 convolutions we add up the bytes that must be resident
to run it without touching off-chip memory: its input activation, its output
activation, its weights and one bias per output channel. At 224x224 in
float32 every layer needs more than 128 KiB; activations dominate the first
layers and weights the last ones, and the crossover moves forward when the
image shrinks.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The default working-set model
# -----------------------------
# For a batch of one image, convolution :math:`\ell` with input
# :math:`C_\ell \times H_\ell \times W_\ell`, output
# :math:`C'_\ell \times H'_\ell \times W'_\ell`, kernel :math:`k_\ell` and
# :math:`g_\ell` groups needs
#
# .. math::
#
#    M_\ell = b\,\big(C_\ell H_\ell W_\ell + C'_\ell H'_\ell W'_\ell
#             + k_\ell^2\,\tfrac{C_\ell}{g_\ell}\,C'_\ell + C'_\ell\big)
#
# bytes, with :math:`b` bytes per element (4 for float32) and BatchNorm folded
# into the convolution, which leaves one bias per output channel. The table
# lists every term at 224x224 in float32; 1 KiB is 1024 bytes.
import numpy as np

from nnbook import book, data_movement, plotting

KiB = 1024
tables = {size: data_movement.layer_table(input_size=size, bytes_per_element=4) for size in (224, 56)}
book.save_table(
    "data_movement/layer_table_224",
    [
        {
            "#": r.index,
            "layer": r.name,
            "input": "×".join(map(str, r.input_shape)),
            "output": "×".join(map(str, r.output_shape)),
            "input KiB": r.input_bytes / KiB,
            "output KiB": r.output_bytes / KiB,
            "weights+bias KiB": r.weight_bytes / KiB,
            "working set KiB": r.working_set_bytes / KiB,
            "MMACs": r.macs / 1e6,
        }
        for r in tables[224]
    ],
    formats={f"{c} KiB": "{:,.1f}" for c in ("input", "output", "weights+bias", "working set")} | {"MMACs": "{:.2f}"},
)

# %%
# Working set per layer against the on-chip capacity
# --------------------------------------------------
# Bars are the working sets, coloured by which term is larger: the two
# activations together, or the weights. Dots mark the two terms. The dashed
# lines are two readings of "128 Kb": 128 KiB (131,072 bytes) and 128 kilobits
# (16,000 bytes). The vertical scale is logarithmic.
fig, axes = plotting.new_figure(2, 1, width=7.5, height=6.0, sharex=True)
for ax, (size, rows) in zip(axes, tables.items(), strict=True):
    activations = np.array([r.input_bytes + r.output_bytes for r in rows]) / KiB
    weights = np.array([r.weight_bytes for r in rows]) / KiB
    index = np.arange(len(rows))
    heavy = weights > activations
    ax.bar(index[~heavy], (activations + weights)[~heavy], color="C0", alpha=0.45, label="activations dominate")
    ax.bar(index[heavy], (activations + weights)[heavy], color="C3", alpha=0.45, label="weights dominate")
    ax.plot(index, activations, "o", ms=3, color="C0", label="input + output activation")
    ax.plot(index, weights, "s", ms=3, color="C3", label="weights + bias")
    for capacity, text in ((128 * KiB, "128 KiB"), (16_000, "128 kbit")):
        ax.axhline(capacity / KiB, color="0.3", ls="--", lw=1)
        ax.annotate(
            text,
            (51.5, capacity / KiB),
            xytext=(0, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set(yscale="log", ylabel="KiB (float32)", title=f"{size}×{size} input")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=4, fontsize=8)
axes[1].set(xlabel="convolution, in execution order")

# %%
# What dominates where
# --------------------
# Activation terms scale with the area of the image, weights do not, so the
# first layer whose weights outweigh its activations (the crossover) moves
# forward when the image shrinks. After the crossover every 1x1 convolution is
# weight-dominated; before it every layer is activation-dominated.
crossovers = {}
for size, rows in tables.items():
    activations = np.array([r.input_bytes + r.output_bytes for r in rows])
    weights = np.array([r.weight_bytes for r in rows])
    working_set = activations + weights
    heavy = weights > activations
    crossover = crossovers[size] = int(np.argmax(heavy))
    pointwise = np.array([r.kind != "depthwise" for r in rows])
    clean_split = bool(not heavy[:crossover].any() and heavy[crossover:][pointwise[crossover:]].all())
    book.record(f"data_movement/crossover_{size}", crossover, fmt="{:d}")
    book.record(f"data_movement/weight_dominated_{size}", int(heavy.sum()), fmt="{:d}")
    book.record(f"data_movement/peak_ws_{size}_kib", working_set.max() / KiB, fmt="{:,.0f}")
    book.record(f"data_movement/peak_ws_{size}_index", int(working_set.argmax()), fmt="{:d}")
    book.record(f"data_movement/min_ws_{size}_kib", working_set.min() / KiB, fmt="{:,.0f}")
    book.claim(
        f"data_movement/crossover_is_clean_{size}",
        f"at {size}x{size}, every layer before the crossover is activation-dominated and every 1x1 "
        "convolution after it is weight-dominated",
        clean_split,
        crossover,
        fmt="{:d}",
    )
book.record("data_movement/peak_ws_224_mib", max(r.working_set_bytes for r in tables[224]) / KiB**2, fmt="{:.2f}")
book.claim(
    "data_movement/all_exceed_at_224",
    "at 224x224 in float32 even the smallest working set exceeds 128 KiB",
    min(r.working_set_bytes for r in tables[224]) > 128 * KiB,
    min(r.working_set_bytes for r in tables[224]) / KiB,
    fmt="{:,.0f}",
)
book.claim(
    "data_movement/crossover_moves_forward",
    "the crossover comes earlier at 56x56 than at 224x224 (value: by how many layers)",
    crossovers[56] < crossovers[224],
    crossovers[224] - crossovers[56],
    fmt="{:d}",
)

# %%
# Takeaways
# ---------
# - At 224x224 in float32 no layer of MobileNetV2 fits in 128 KiB: the
#   largest working sets, megabytes of activations, sit in the first blocks.
# - Activations dominate early, weights late; the 1x1 convolutions of the
#   widest blocks need hundreds of KiB of weights whatever the image size.
# - Shrinking the image shrinks only the activation terms, so the early
#   layers come down towards the capacity while the late ones do not move.

"""
What must be on chip to run one layer of MobileNetV2?
=====================================================

For every one of the 54 layers of Table 2 we add up the bytes that must be
resident to run it without touching off-chip memory: its input activation,
its output activation, its weights and one bias per output channel. We
tabulate it at 224x224, the paper's resolution, and at 56x56, the
assignment's, and ask which term dominates where.
"""

# sphinx_gallery_dummy_images = 1

# %%
# The default working-set model
# -----------------------------
# For a batch of one image, layer :math:`\ell` with input
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
# into the convolution, which leaves one bias per output channel. The
# classifier (Table 2's last row) is a 1x1 convolution of the pooled
# 1x1x1280 map with its own bias; the pool has no weights. The tables list
# every term in float32 at both resolutions; 1 KiB is 1024 bytes.
import numpy as np

from nnbook import book, data_movement, mobilenet, plotting

KiB = 1024
tables = {size: data_movement.layer_table(input_size=size, bytes_per_element=4) for size in (224, 56)}
for size, rows in tables.items():
    book.save_table(
        f"data_movement/layer_table_{size}",
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
            for r in rows
        ],
        formats={f"{c} KiB": "{:,.1f}" for c in ("input", "output", "weights+bias", "working set")}
        | {"MMACs": "{:.2f}"},
    )

# %%
# Working set per layer against the on-chip capacity
# --------------------------------------------------
# Bars are the working sets, coloured by which term is larger: the two
# activations together, or the weights. Dots mark the two terms. The dashed
# line is 128 KiB (131,072 bytes), the dotted one 128 kilobits (16,000 bytes);
# grey bands mark every other row of Table 2. The vertical scale is
# logarithmic.
stages = mobilenet.stage_table(224)
fig, axes = plotting.new_figure(2, 1, width=7.5, height=6.0, sharex=True)
axes[1].set(xlabel="layer, in execution order (stem 0, …, head 51, pool 52, classifier 53)")
for ax, (size, rows) in zip(axes, tables.items(), strict=True):
    activations = np.array([r.input_bytes + r.output_bytes for r in rows]) / KiB
    weights = np.array([r.weight_bytes for r in rows]) / KiB
    index = np.arange(len(rows))
    heavy = data_movement.dominance(rows).weight_heavy
    ax.bar(index[~heavy], (activations + weights)[~heavy], color="C0", alpha=0.45, label="activations dominate")
    ax.bar(index[heavy], (activations + weights)[heavy], color="C3", alpha=0.45, label="weights dominate")
    ax.plot(index, activations, "o", ms=3, color="C0", label="input + output activation")
    ax.plot(index[weights > 0], weights[weights > 0], "s", ms=3, color="C3", label="weights + bias")
    ax.grid(axis="x", visible=False)
    for stage in stages[1::2]:  # every other row of Table 2 shaded: the stage boundaries
        ax.axvspan(stage.first - 0.5, stage.last + 0.5, color="0.92", zorder=0, lw=0)
    for capacity, text, style in ((128 * KiB, "128 KiB", "--"), (16_000, "128 kbit", ":")):
        ax.axhline(capacity / KiB, color="0.25", ls=style, lw=1.2)
        ax.annotate(
            text,
            (0, capacity / KiB),
            xytext=(2, 3),
            textcoords="offset points",
            fontsize=8,
            bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set(yscale="log", ylabel="KiB (float32)", title=f"{size}×{size} input")
plotting.legend(fig, *axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=4, fontsize=8)

# %%
# What dominates where
# --------------------
# Activation terms scale with the area of the image, weights do not, so the
# first layer whose weights outweigh its activations (the crossover) moves
# forward when the image shrinks. After the crossover every 1x1 layer is
# weight-dominated; before it every layer is activation-dominated.
dominance = {size: data_movement.dominance(rows) for size, rows in tables.items()}

# %%
# The numbers, checked
# --------------------
names = {size: [r.name for r in rows] for size, rows in tables.items()}
with book.numbers():
    for size, d in dominance.items():
        book.record(f"data_movement/crossover_{size}", d.crossover, fmt="{:d}", label=f"crossover layer at {size}")
        book.record(
            f"data_movement/weight_dominated_{size}",
            d.weight_dominated,
            fmt="{:d}",
            label=f"weight-dominated layers at {size}",
        )
        book.record(
            f"data_movement/min_ws_{size}_kib",
            d.min_bytes / KiB,
            fmt="{:,.0f}",
            unit="KiB",
            label=f"smallest working set at {size}",
        )
        book.claim(
            f"data_movement/crossover_is_clean_{size}",
            f"at {size}x{size}, every layer before the crossover is activation-dominated and every 1x1 "
            "layer after it is weight-dominated (value: layers that break the split)",
            value=d.split_violations,
            at_most=0,
            fmt="{:d}",
        )
    book.record(
        "data_movement/peak_ws_224_index",
        dominance[224].peak_index,
        fmt="{:d}",
        label="layer with the largest working set at 224",
    )
    book.record(
        "data_movement/peak_ws_224_mib",
        dominance[224].peak_bytes / KiB**2,
        fmt="{:.2f}",
        unit="MiB",
        label="largest working set at 224",
    )
    book.record(
        "data_movement/peak_ws_56_kib",
        dominance[56].peak_bytes / KiB,
        fmt="{:,.0f}",
        unit="KiB",
        label="largest working set at 56",
    )
    book.record(
        "data_movement/head_ws_56_kib",
        tables[56][-3].working_set_bytes / KiB,
        fmt="{:,.0f}",
        unit="KiB",
        label="head working set at 56",
    )
    for size, layer, extreme in ((224, "block2.depthwise", "peak"), (56, "classifier", "peak"), (56, "pool", "min")):
        index = dominance[size].peak_index if extreme == "peak" else dominance[size].min_index
        book.claim(
            f"data_movement/{extreme}_ws_{size}_is_{layer.replace('.', '_')}",
            f"at {size}x{size} the {'largest' if extreme == 'peak' else 'smallest'} working set is that of {layer} "
            "(value: layers between the two)",
            value=abs(index - names[size].index(layer)),
            at_most=0,
            fmt="{:d}",
        )
    book.claim(
        "data_movement/all_exceed_at_224",
        "at 224x224 in float32 even the smallest working set exceeds 128 KiB",
        value=dominance[224].min_bytes / KiB,
        at_least=128,
        fmt="{:,.0f}",
    )
    book.claim(
        "data_movement/crossover_moves_forward",
        "the crossover comes earlier at 56x56 than at 224x224 (value: by how many layers)",
        value=dominance[224].crossover - dominance[56].crossover,
        at_least=1,
        fmt="{:d}",
    )

# %%
# Takeaways
# ---------
# - At 224x224 in float32 no layer of MobileNetV2 fits in 128 KiB: the
#   largest working sets, megabytes of activations, sit in the first blocks.
# - Activations dominate early, weights late; the classifier of Table 2's last
#   row needs megabytes of weights whatever the image size.
# - Shrinking the image shrinks only the activation terms, so the early
#   layers come down towards the capacity while the late ones do not move.

plotting.show()

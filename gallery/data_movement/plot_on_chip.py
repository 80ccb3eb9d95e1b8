"""
How often must a 56x56 MobileNetV2 inference leave a 128 KB chip?
=================================================================

A chip with 128 KB of on-chip memory runs MobileNetV2 on a 56x56 image. We
count the convolutions whose working set does not fit, for every reading of
"128 KB" and for float32, float16 and int8 numbers; then refine the count:
keeping residual inputs alive, counting the bytes that actually cross the chip
boundary instead of the trips, and fusing each block while tiling its
depthwise stage by channels.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Four readings of "128 KB"
# -------------------------
# A kibibyte (KiB) is 1024 bytes and a kilobyte (kB) 1000 bytes; a kibibit
# (Kibit) is 1024 bits = 128 bytes and a kilobit (kbit) 1000 bits = 125
# bytes. "128 Kb" on a datasheet can mean any of them, and the byte counts
# span a factor of 8. The table counts, for each reading and element size,
# the rows of the default model (52 convolutions) whose working set exceeds
# the capacity: under that model, the number of times one inference must go
# off chip.
import numpy as np

from nnbook import book, data_movement, mobilenet, plotting

SIZE = 56
KiB, MiB = 1024, 1024**2
readings = {"KiB": "128 KiB", "kB": "128 kB", "Kibit": "128 Kibit", "kbit": "128 kbit"}
dtypes = {"float32": 4, "float16": 2, "int8": 1}
counts = {
    (unit, dtype): data_movement.count_off_chip(SIZE, data_movement.in_bytes(128, unit), dtype)
    for unit in readings
    for dtype in dtypes
}
book.save_table(
    "data_movement/off_chip_counts",
    [
        {
            "capacity": readings[unit],
            "bytes": data_movement.in_bytes(128, unit),
            **{dtype: counts[unit, dtype] for dtype in dtypes},
        }
        for unit in readings
    ],
    formats={"bytes": "{:,}"},
)
for (unit, dtype), count in counts.items():
    book.record(f"data_movement/off_chip_{unit.lower()}_{dtype}", count, fmt="{:d}")
book.claim(
    "data_movement/reading_matters",
    "for every element size, reading 128 Kb as kilobits instead of kibibytes changes the answer",
    all(counts["kbit", d] > counts["KiB", d] for d in dtypes),
    counts["kbit", "float32"] - counts["KiB", "float32"],
    fmt="{:d}",
)
book.claim(
    "data_movement/kib_vs_kb_float32",
    "even 128 KiB versus 128 kB changes the float32 count",
    counts["kB", "float32"] != counts["KiB", "float32"],
    counts["kB", "float32"] - counts["KiB", "float32"],
    fmt="{:d}",
)

# %%
# The count as a function of the capacity
# ---------------------------------------
# The same question for every capacity from 2 KiB to 8 MiB at once (one sort
# of the 52 working sets and a binary search per capacity). Dashed lines mark
# the four readings; the grey curve is float32 at 224x224 for comparison.
capacities = np.geomspace(2 * KiB, 8 * MiB, 2000)
fig, ax = plotting.new_figure(width=7.0, height=4.2)
for dtype, b in dtypes.items():
    ws = [r.working_set_bytes for r in data_movement.layer_table(SIZE, b)]
    ax.step(
        capacities / KiB, data_movement.off_chip_counts(ws, capacities), where="post", label=f"{SIZE}×{SIZE}, {dtype}"
    )
ws_224 = [r.working_set_bytes for r in data_movement.layer_table(224, 4)]
ax.step(
    capacities / KiB,
    data_movement.off_chip_counts(ws_224, capacities),
    where="post",
    color="0.6",
    label="224×224, float32",
)
for unit, text in readings.items():
    plotting.mark_vertical(ax, data_movement.in_bytes(128, unit) / KiB, text if unit in ("KiB", "kbit") else None)
ax.set(
    xscale="log",
    ylim=(-1, 58),
    xlabel="on-chip capacity (KiB)",
    ylabel="convolutions that do not fit (of 52)",
    title="Trips off chip per inference, default working-set model",
)
ax.legend(loc="lower left", fontsize=8)

# %%
# (a) Block granularity: the residual input stays alive
# -----------------------------------------------------
# In a block with a skip connection, the block input is needed again by the
# addition after the projection, so it occupies memory while the depthwise and
# projection convolutions run. Counting it there raises some working sets; we
# count the convolutions that no longer fit and, at block granularity, the
# units (stem, 17 blocks, head) that contain at least one of them.
capacity = data_movement.in_bytes(128, "KiB")
traffic = {
    (s, d): data_movement.off_chip_traffic(SIZE, capacity, d, schedule=s)
    for s in ("layer", "block", "fused")
    for d in dtypes
}
book.save_table(
    "data_movement/granularity",
    [
        {
            "element": d,
            "convs, default": traffic["layer", d].convs_off_chip,
            "convs, residual alive": traffic["block", d].convs_off_chip,
            "blocks, default": traffic["layer", d].units_off_chip,
            "blocks, residual alive": traffic["block", d].units_off_chip,
        }
        for d in dtypes
    ],
)
for d in dtypes:
    book.record(f"data_movement/convs_residual_{d}", traffic["block", d].convs_off_chip, fmt="{:d}")
    book.record(f"data_movement/blocks_residual_{d}", traffic["block", d].units_off_chip, fmt="{:d}")
    book.record(f"data_movement/blocks_default_{d}", traffic["layer", d].units_off_chip, fmt="{:d}")
book.claim(
    "data_movement/residual_adds_trips",
    "keeping the residual input alive makes more float32 convolutions overflow 128 KiB",
    traffic["block", "float32"].convs_off_chip > traffic["layer", "float32"].convs_off_chip,
    traffic["block", "float32"].convs_off_chip - traffic["layer", "float32"].convs_off_chip,
    fmt="{:d}",
)
book.claim(
    "data_movement/residual_free_below_32bit",
    "in float16 and int8, keeping the residual input alive changes neither the convolution nor the block count",
    all(
        (traffic["block", d].convs_off_chip, traffic["block", d].units_off_chip)
        == (traffic["layer", d].convs_off_chip, traffic["layer", d].units_off_chip)
        for d in ("float16", "int8")
    ),
    traffic["block", "float16"].convs_off_chip,
    fmt="{:d}",
)

# %%
# (b) Bytes, not trips
# --------------------
# A count treats a layer that reloads 1.6 MiB of weights like one that spills
# a few KiB of activations. Counting bytes separates what is compulsory from
# what a schedule can avoid. Every weight must be read once per inference (the
# 3.5 million parameters are far larger than the chip), and so must the image;
# an activation stays on chip only if the operator that writes it and the one
# that reads it both fit, otherwise it is written out once and read back once.
# Layers that do not fit are assumed to stream their operands exactly once, so
# these are lower bounds.
rows = []
for (s, d), t in traffic.items():
    compulsory = t.weight_bytes + t.classifier_bytes + t.image_bytes
    rows.append(
        {
            "schedule": s,
            "element": d,
            "weights MiB": (t.weight_bytes + t.classifier_bytes) / MiB,
            "image KiB": t.image_bytes / KiB,
            "spilled activations MiB": t.spill_bytes / MiB,
            "parked residuals KiB": t.residual_bytes / KiB,
            "total MiB": t.total_bytes / MiB,
            "total / compulsory": t.total_bytes / compulsory,
        }
    )
book.save_table(
    "data_movement/traffic",
    rows,
    formats={
        "weights MiB": "{:.2f}",
        "image KiB": "{:.1f}",
        "spilled activations MiB": "{:.2f}",
        "parked residuals KiB": "{:.1f}",
        "total MiB": "{:.2f}",
        "total / compulsory": "{:.3f}",
    },
)
for (s, d), t in traffic.items():
    book.record(f"data_movement/total_mib_{s}_{d}", t.total_bytes / MiB, fmt="{:.2f}")
    book.record(f"data_movement/spill_kib_{s}_{d}", t.spill_bytes / KiB, fmt="{:,.0f}")
    book.record(f"data_movement/residual_kib_{s}_{d}", t.residual_bytes / KiB, fmt="{:,.1f}")
layer32 = traffic["layer", "float32"]
rows56_all = data_movement.layer_table(SIZE, 4)
rows_by_name = {r.name: r for r in rows56_all}
weights32 = layer32.weight_bytes + layer32.classifier_bytes
book.record("data_movement/weights_mib_float32", weights32 / MiB, fmt="{:.2f}")
book.record("data_movement/classifier_mib_float32", layer32.classifier_bytes / MiB, fmt="{:.2f}")
book.record("data_movement/image_kib_float32", layer32.image_bytes / KiB, fmt="{:.1f}")
book.record("data_movement/head_weights_mib_float32", rows_by_name["head"].weight_bytes / MiB, fmt="{:.2f}")
for d in dtypes:
    compulsory = (
        traffic["layer", d].weight_bytes + traffic["layer", d].classifier_bytes + traffic["layer", d].image_bytes
    )
    book.record(
        f"data_movement/overhead_pct_layer_{d}", 100 * (traffic["layer", d].total_bytes / compulsory - 1), fmt="{:.1f}"
    )
# activation k is the input of convolution k (k = 52: the head's output); which of them spill, in float32?
activation_bytes = np.array([r.input_bytes for r in rows56_all] + [rows56_all[-1].output_bytes])
early = np.array([r.block <= 4 for r in rows56_all] + [False])  # read by the first four blocks (or the stem)
early_share = activation_bytes[layer32.spilled & early].sum() / activation_bytes[layer32.spilled].sum()
over = [r for r in rows56_all if r.working_set_bytes > capacity]
book.record(
    "data_movement/trips_weight_dominated_float32",
    sum(r.weight_bytes > r.input_bytes + r.output_bytes for r in over),
    fmt="{:d}",
)
book.claim(
    "data_movement/spills_are_early_float32",
    "in float32, most spilled bytes are activations read by the first four blocks",
    early_share > 0.5,
    100 * early_share,
    fmt="{:.0f}",
)
book.claim(
    "data_movement/residual_alive_costs_more_float32",
    "in float32, keeping residual inputs alive moves more bytes in total than parking them off chip",
    traffic["block", "float32"].total_bytes > layer32.total_bytes,
    (traffic["block", "float32"].total_bytes - layer32.total_bytes) / KiB,
    fmt="{:.0f}",
)
book.claim(
    "data_movement/weights_dominate_traffic",
    "at 56x56 in float32, more than 80% of the off-chip bytes of the default model are weights",
    weights32 / layer32.total_bytes > 0.8,
    100 * weights32 / layer32.total_bytes,
    fmt="{:.0f}",
)

# %%
# Where the bytes go
# ------------------
# Compulsory traffic (weights and image) in grey; activations written out and
# read back in colour. Element size scales everything; the schedule only the
# coloured part.
fig, ax = plotting.new_figure(width=7.0, height=4.0)
labels = [f"{d}, {s}" for d in dtypes for s in ("layer", "block", "fused")]
y = np.arange(len(labels))[::-1]
parts = [
    ("weights", lambda t: t.weight_bytes + t.classifier_bytes, "0.55"),
    ("image", lambda t: t.image_bytes, "0.8"),
    ("spilled activations", lambda t: t.spill_bytes, "C3"),
    ("parked residual inputs", lambda t: t.residual_bytes, "C1"),
]
left = np.zeros(len(labels))
for name, part, colour in parts:
    widths = np.array([part(traffic[s, d]) for d in dtypes for s in ("layer", "block", "fused")]) / MiB
    ax.barh(y, widths, left=left, color=colour, label=name)
    left += widths
ax.set_yticks(y, labels)
ax.set(xlabel="bytes across the chip boundary per inference (MiB)", title=f"{SIZE}×{SIZE} image, 128 KiB on chip")
ax.legend(loc="lower right", fontsize=8)

# %%
# (c) Fuse each block and tile its depthwise stage by channels
# ------------------------------------------------------------
# Tiling the depthwise convolution alone (a few channels at a time) shrinks
# its own working set to almost nothing, which removes it from the count, but
# its input, the expanded tensor, still has to exist in full somewhere: no
# byte is saved. Fusing the block saves the bytes. The block runs over chunks
# of :math:`g` of its expanded channels: expand the chunk, filter it, and add
# its projection into an output accumulator, streaming the chunk's weights. Only
# the block input, the accumulator, one chunk of the expanded and filtered maps
# and the chunk's weights are resident, so the working set is
# :math:`\text{fixed} + g \cdot \text{per channel}`; we take the largest
# :math:`g` that fits. The table is for float32 and 128 KiB.
fixed, per_channel, channels = data_movement.fused_working_set(SIZE, 4)
largest = np.clip((capacity - fixed) // per_channel, 0, channels)
unit_names = ["stem", *(f"block{b}" for b in range(1, 18)), "head"]
book.save_table(
    "data_movement/fused_units",
    [
        {
            "unit": unit_names[u],
            "fixed KiB": fixed[u] / KiB,
            "per channel B": int(per_channel[u]),
            "channels": int(channels[u]),
            "largest chunk g": int(largest[u]),
            "chunks": int(-(-channels[u] // largest[u])) if largest[u] else "does not fit",
        }
        for u in range(19)
    ],
    formats={"fixed KiB": "{:.1f}"},
)
rows56 = data_movement.layer_table(SIZE, 4)
depthwise_over = sum(r.kind == "depthwise" and r.working_set_bytes > capacity for r in rows56)
fused32 = traffic["fused", "float32"]
book.record("data_movement/depthwise_over_float32", depthwise_over, fmt="{:d}")
book.record("data_movement/fused_units_over_float32", fused32.units_off_chip, fmt="{:d}")
book.record("data_movement/fused_saving_kib_float32", (layer32.total_bytes - fused32.total_bytes) / KiB, fmt="{:,.0f}")
book.record(
    "data_movement/fused_spill_cut_float32", 100 * (1 - fused32.spill_bytes / layer32.spill_bytes), fmt="{:.0f}"
)
book.record("data_movement/fixed_kib_stem", fixed[0] / KiB, fmt="{:.1f}")
book.record("data_movement/fixed_kib_block1", fixed[1] / KiB, fmt="{:.1f}")
book.record(
    "data_movement/max_chunks_float32", int(np.max(-(-channels[largest > 0] // largest[largest > 0]))), fmt="{:d}"
)
book.claim(
    "data_movement/fusion_leaves_only_the_first_units",
    "fused and channel-tiled, only units whose input plus output alone exceed 128 KiB still overflow in float32",
    bool(np.array_equal(fixed + per_channel > capacity, fixed > capacity)),
    fused32.units_off_chip,
    fmt="{:d}",
)
book.claim(
    "data_movement/fusion_removes_all_spills_16bit",
    "fused and channel-tiled, float16 and int8 inferences move exactly the compulsory bytes (no activation spills)",
    all(
        traffic["fused", d].total_bytes
        == traffic["fused", d].weight_bytes + traffic["fused", d].classifier_bytes + traffic["fused", d].image_bytes
        for d in ("float16", "int8")
    ),
    traffic["fused", "float16"].spill_bytes + traffic["fused", "int8"].spill_bytes,
    fmt="{:d}",
)

# %%
# The same budget at 224x224
# --------------------------
# At the paper's resolution the activations are 16 times larger and the
# picture flips: spilled activations outweigh the weights, and channel tiling
# cannot help the first blocks, whose input and output alone are megabytes.
# Only tiling in space as well (computing a block patch by patch) shrinks
# those terms.
for d in ("float32", "int8"):
    layer224, fused224 = (data_movement.off_chip_traffic(224, capacity, d, schedule=s) for s in ("layer", "fused"))
    compulsory224 = layer224.weight_bytes + layer224.classifier_bytes + layer224.image_bytes
    book.record(f"data_movement/total_mib_layer_224_{d}", layer224.total_bytes / MiB, fmt="{:.1f}")
    book.record(f"data_movement/total_mib_fused_224_{d}", fused224.total_bytes / MiB, fmt="{:.1f}")
    book.record(f"data_movement/compulsory_mib_224_{d}", compulsory224 / MiB, fmt="{:.1f}")
    book.record(f"data_movement/fused_units_over_224_{d}", fused224.units_off_chip, fmt="{:d}")
    book.claim(
        f"data_movement/activations_dominate_224_{d}",
        f"at 224x224 in {d}, even fused, activations spilled off chip outweigh the weights",
        fused224.spill_bytes > layer224.weight_bytes + layer224.classifier_bytes,
        fused224.spill_bytes / (layer224.weight_bytes + layer224.classifier_bytes),
        fmt="{:.1f}",
    )

# %%
# Is it memory or arithmetic?
# ---------------------------
# An order of magnitude from circuit measurements in a 45 nm process
# (Horowitz, 2014): reading 32 bits from DRAM costs about 640 pJ, i.e. 160 pJ
# per byte, while a float32 multiply and add cost about 3.7 + 0.9 pJ, a
# float16 pair about 1.1 + 0.4 pJ and an int8 pair about 0.2 + 0.03 pJ.
DRAM_PJ_PER_BYTE = 640 / 4
MAC_PJ = {"float32": 3.7 + 0.9, "float16": 1.1 + 0.4, "int8": 0.2 + 0.03}
macs = mobilenet.mac_count(SIZE)
ratios = {(s, d): traffic[s, d].total_bytes * DRAM_PJ_PER_BYTE / (macs * MAC_PJ[d]) for s, d in traffic}
book.record("data_movement/macs_56_millions", macs / 1e6, fmt="{:.1f}")
book.record("data_movement/bytes_per_mac_layer_float32", layer32.total_bytes / macs, fmt="{:.2f}")
for d in dtypes:
    book.record(f"data_movement/energy_ratio_fused_{d}", ratios["fused", d], fmt="{:.0f}")
book.claim(
    "data_movement/memory_energy_dominates",
    "in every schedule and element size, moving the bytes costs over ten times the energy of the arithmetic",
    min(ratios.values()) > 10,
    min(ratios.values()),
    fmt="{:.0f}",
)

# %%
# Takeaways
# ---------
# - Under the default model, a 56x56 float32 inference overflows 128 KiB in
#   about half of its 52 convolutions; read as 128 kilobits, in all of them.
#   The unit is not a detail.
# - The count hides two different problems: early layers spill activations,
#   late layers merely load weights they must load anyway.
# - Counted in bytes, weights dominate at 56x56; fusing each block and tiling
#   its expanded tensor by channels removes most activation traffic, leaving
#   only units whose input and output alone do not fit.

"""
How often must a 56x56 MobileNetV2 inference leave a 128 KB chip?
=================================================================

A chip with 128 KB of on-chip memory runs MobileNetV2 on a 56x56 image. We
count the layers whose working set does not fit, for every reading of
"128 KB" and for float32, float16 and int8 numbers; then refine the count:
keeping residual inputs alive, counting the bytes that actually cross the chip
boundary instead of the trips, and fusing each block while tiling its
expanded tensor by channels.
"""

# sphinx_gallery_dummy_images = 2

# %%
# Four readings of "128 KB"
# -------------------------
# A kibibyte (KiB) is 1024 bytes and a kilobyte (kB) 1000 bytes; a kibibit
# (Kibit) is 1024 bits = 128 bytes and a kilobit (kbit) 1000 bits = 125 bytes.
# The table counts, for each reading and element size, the rows of the
# default model (the 54 layers of Table 2, classifier included) whose working
# set exceeds the capacity: under that model, the number of times one
# inference must go off chip.
import numpy as np

from nnbook import book, data_movement, mobilenet, off_chip, plotting

SIZE = 56
KiB, MiB = 1024, 1024**2
readings = {"KiB": "128 KiB", "kB": "128 kB", "Kibit": "128 Kibit", "kbit": "128 kbit"}
dtypes = {"float32": 4, "float16": 2, "int8": 1}
capacity_of = {unit: data_movement.in_bytes(128, unit) for unit in readings}
counts = {(u, d): data_movement.count_off_chip(SIZE, capacity_of[u], d) for u in readings for d in dtypes}
table = book.save_table(
    "data_movement/off_chip_counts",
    [{"capacity": readings[u], "bytes": capacity_of[u], **{d: counts[u, d] for d in dtypes}} for u in readings],
    formats={"bytes": "{:,}"},
)

# %%
# The count as a function of the capacity
# ---------------------------------------
# The same question for every capacity from 2 KiB to 8 MiB at once (one sort
# of the 54 working sets and a binary search per capacity); the grey curve is
# float32 at 224x224 for comparison. On the logarithmic axis the readings that
# differ by 2.4% (16,000 against 16,384 bytes, 128,000 against 131,072) fall on
# top of each other, so the two lower panels zoom in on a linear axis: each
# step there is a layer whose working set lies between the two readings.
capacities = np.geomspace(2 * KiB, 8 * MiB, 2000)
working_sets = {d: [r.working_set_bytes for r in data_movement.layer_table(SIZE, b)] for d, b in dtypes.items()}
ws_224 = [r.working_set_bytes for r in data_movement.layer_table(224, 4)]
fig, (main, zoom_int8, zoom_float32) = plotting.new_figure(3, 1, width=7.5, height=8.0, height_ratios=(1.6, 1, 1))
zooms = {"int8": (zoom_int8, ("Kibit", "kbit")), "float32": (zoom_float32, ("KiB", "kB"))}
styles = {"KiB": ("0.1", "--"), "kB": ("C3", ":"), "Kibit": ("0.1", "--"), "kbit": ("C3", ":")}
for d in dtypes:
    main.step(
        capacities / KiB,
        data_movement.off_chip_counts(working_sets[d], capacities),
        where="post",
        label=f"{SIZE}×{SIZE}, {d}",
    )
main.step(
    capacities / KiB,
    data_movement.off_chip_counts(ws_224, capacities),
    where="post",
    color="0.6",
    label="224×224, float32",
)
for unit, (colour, style) in styles.items():
    main.axvline(capacity_of[unit] / KiB, color=colour, ls=style, lw=1)
main.set(xscale="log", ylim=(-1, 58), xlabel="on-chip capacity (KiB)", ylabel="layers that do not fit (of 54)")
main.set_title("Trips off chip per inference, default working-set model")
plotting.legend(main, loc="lower left", fontsize=8)
for d, (ax, units) in zooms.items():
    low, high = capacity_of[units[1]], capacity_of[units[0]]
    span = np.linspace(low - 0.15 * (high - low), high + 0.15 * (high - low), 400)
    colour = f"C{list(dtypes).index(d)}"
    ax.step(span, data_movement.off_chip_counts(working_sets[d], span), where="post", color=colour)
    for unit in units:
        ax.axvline(capacity_of[unit], color=styles[unit][0], ls=styles[unit][1], lw=1.2)
        ax.annotate(
            f"{readings[unit]}\n{capacity_of[unit]:,} B",
            (capacity_of[unit], 0.05),
            xycoords=("data", "axes fraction"),
            xytext=(3 if unit == units[0] else -3, 0),
            textcoords="offset points",
            ha="left" if unit == units[0] else "right",
            fontsize=8,
        )
    ax.set(xlabel="capacity (bytes)", ylabel="layers that do not fit", title=f"zoom: {d}, {SIZE}×{SIZE}")
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.tick_params(axis="x", labelsize=7)

# %%
# (a) Block granularity: the residual input stays alive
# -----------------------------------------------------
# In a block with a skip connection, the block input is needed again by the
# addition after the projection, so it occupies memory while the depthwise and
# projection convolutions run. Counting it there raises some working sets; we
# count the layers that no longer fit and, at block granularity, the units
# (stem, 17 blocks, head, pool, classifier) that contain at least one of them.
capacity = capacity_of["KiB"]
schedules = off_chip.SCHEDULES
traffic = {
    (s, d): off_chip.off_chip_traffic(SIZE, capacity, b, schedule=s) for s in schedules for d, b in dtypes.items()
}
table = book.save_table(
    "data_movement/granularity",
    [
        {
            "element": d,
            "layers, default": traffic["layer", d].layers_off_chip,
            "layers, residual alive": traffic["block", d].layers_off_chip,
            "units, default": traffic["layer", d].units_off_chip,
            "units, residual alive": traffic["block", d].units_off_chip,
        }
        for d in dtypes
    ],
)

# %%
# (b) Bytes, not trips
# --------------------
# A count treats a layer that reloads megabytes of weights like one that
# spills a few KiB of activations. Counting bytes separates what is compulsory
# from what a schedule can avoid. Every weight must be read once per
# inference, the image read once and the result written once; an activation
# stays on chip only if the layer that writes it and the one that reads it
# both fit, otherwise it is written out once and read back once. Layers that
# do not fit are assumed to stream their operands exactly once, so these are
# lower bounds.
table = book.save_table(
    "data_movement/traffic",
    [
        {
            "schedule": s,
            "element": d,
            "weights MiB": t.weight_bytes / MiB,
            "image + output KiB": (t.image_bytes + t.output_bytes) / KiB,
            "spilled activations MiB": t.spill_bytes / MiB,
            "parked residuals KiB": t.residual_bytes / KiB,
            "total MiB": t.total_bytes / MiB,
            "total / compulsory": t.total_bytes / t.compulsory_bytes,
        }
        for (s, d), t in traffic.items()
    ],
    formats={
        "weights MiB": "{:.2f}",
        "image + output KiB": "{:.1f}",
        "spilled activations MiB": "{:.2f}",
        "parked residuals KiB": "{:.1f}",
        "total MiB": "{:.2f}",
        "total / compulsory": "{:.3f}",
    },
)

# %%
# Where the bytes go
# ------------------
# Compulsory traffic (weights, image and output) in grey; activations written
# out and read back in colour. Element size scales everything; the schedule
# only the coloured part.
fig, ax = plotting.new_figure(width=7.0, height=4.0)
labels = [f"{d}, {s}" for d in dtypes for s in schedules]
y = np.arange(len(labels))[::-1]
parts = [
    ("weights", lambda t: t.weight_bytes, "0.55"),
    ("image and output", lambda t: t.image_bytes + t.output_bytes, "0.8"),
    ("spilled activations", lambda t: t.spill_bytes, "C3"),
    ("parked residual inputs", lambda t: t.residual_bytes, "C1"),
]
left = np.zeros(len(labels))
for name, part, colour in parts:
    widths = np.array([part(traffic[s, d]) for d in dtypes for s in schedules]) / MiB
    ax.barh(y, widths, left=left, color=colour, label=name)
    left += widths
ax.set_yticks(y, labels)
ax.set(xlabel="bytes across the chip boundary per inference (MiB)", title=f"{SIZE}×{SIZE} image, 128 KiB on chip")
plotting.legend(ax, loc="lower right", fontsize=8)

# %%
# (c) Fuse each block and tile its expanded tensor by channels
# ------------------------------------------------------------
# Tiling the depthwise convolution alone (a few channels at a time) shrinks
# its own working set to almost nothing, which removes it from the count, but
# its input, the expanded tensor, still has to exist in full somewhere: no
# byte is saved. Fusing the block saves the bytes. The block runs over chunks
# of :math:`g` of its expanded channels: expand the chunk, filter it, and add
# its projection into an output accumulator, streaming the chunk's weights.
# Only the block input (which the residual addition reads at the end), the
# accumulator, one chunk of the expanded and filtered maps and the chunk's
# weights are resident, so the working set is
# :math:`\text{fixed} + g \cdot \text{per channel}`; we take the largest
# :math:`g` that fits. The table is for float32 and 128 KiB.
units = off_chip.fused_working_set(SIZE, capacity, 4)
table = book.save_table(
    "data_movement/fused_units",
    [
        {
            "unit": units.names[u],
            "fixed KiB": units.fixed[u] / KiB,
            "per channel B": int(units.per_channel[u]),
            "channels": int(units.channels[u]),
            "largest chunk g": int(units.largest_chunk[u]) if units.fits[u] else "does not fit",
            "chunks": int(units.chunks[u]) if units.fits[u] else "-",
        }
        for u in range(len(units.names))
    ],
    formats={"fixed KiB": "{:.1f}"},
)

# %%
# The same budget at 224x224
# --------------------------
# At the paper's resolution the activations are 16 times larger and the
# picture flips: spilled activations outweigh the weights, and channel tiling
# cannot help the first blocks, whose input and output alone are megabytes.
# Only tiling in space as well (computing a block patch by patch) shrinks
# those terms.
fused_224 = {d: off_chip.off_chip_traffic(224, capacity, d, schedule="fused") for d in ("float32", "int8")}

# %%
# Is it memory or arithmetic?
# ---------------------------
# Intensity here is multiply-adds per byte *moved* across the chip boundary,
# the :math:`F/Q` of the roofline, for the whole inference. Energy is an order
# of magnitude from circuit measurements in a 45 nm process (Horowitz, 2014):
# reading 32 bits from DRAM costs about 640 pJ, i.e. 160 pJ per byte, while a
# float32 multiply and add cost about 3.7 + 0.9 pJ, a float16 pair about
# 1.1 + 0.4 pJ and an int8 pair about 0.2 + 0.03 pJ.
macs = mobilenet.mac_count(SIZE)
ratios = {(s, d): data_movement.memory_energy_ratio(t.total_bytes, macs, d) for (s, d), t in traffic.items()}

# %%
# The numbers, checked
# --------------------
layer32, block32, fused32 = (traffic[s, "float32"] for s in schedules)
rows56 = data_movement.layer_table(SIZE, 4)
dominance56 = data_movement.dominance(rows56)
over = np.array([r.working_set_bytes > capacity for r in rows56])
with book.numbers():
    for (u, d), count in counts.items():
        book.record(f"data_movement/off_chip_{u.lower()}_{d}", count, fmt="{:d}", label=f"trips, 128 {u}, {d}")
    book.record(
        "data_movement/layers_residual_float32",
        block32.layers_off_chip,
        fmt="{:d}",
        label="layers off chip, residuals alive, float32",
    )
    book.record(
        "data_movement/units_residual_float32",
        block32.units_off_chip,
        fmt="{:d}",
        label="units off chip, residuals alive, float32",
    )
    book.record(
        "data_movement/units_default_float32",
        layer32.units_off_chip,
        fmt="{:d}",
        label="units off chip, default model, float32",
    )
    book.record(
        "data_movement/energy_threshold_float32",
        data_movement.memory_energy_ratio(1, 1, "float32"),
        fmt="{:.0f}",
        label="MACs per byte where energy splits evenly, float32",
    )
    for d in dtypes:
        overhead = traffic["layer", d].total_bytes / traffic["layer", d].compulsory_bytes - 1
        book.record(
            f"data_movement/overhead_pct_layer_{d}",
            100 * overhead,
            fmt="{:.1f}",
            unit="%",
            label=f"traffic above the compulsory bytes, layer schedule, {d}",
        )
        book.record(
            f"data_movement/energy_ratio_fused_{d}",
            ratios["fused", d],
            fmt="{:.0f}",
            label=f"energy of bytes over arithmetic, fused, {d}",
        )
    for s, d in [
        ("layer", "float32"),
        ("block", "float32"),
        ("fused", "float32"),
        ("layer", "int8"),
        ("fused", "float16"),
        ("fused", "int8"),
    ]:
        book.record(
            f"data_movement/total_mib_{s}_{d}",
            traffic[s, d].total_bytes / MiB,
            fmt="{:.2f}",
            unit="MiB",
            label=f"bytes moved, {s} schedule, {d}",
        )
    for s, d in [("layer", "float32"), ("block", "float32"), ("layer", "int8")]:
        book.record(
            f"data_movement/spill_kib_{s}_{d}",
            traffic[s, d].spill_bytes / KiB,
            fmt="{:,.0f}",
            unit="KiB",
            label=f"spilled activations, {s} schedule, {d}",
        )
    for s in ("layer", "block"):
        book.record(
            f"data_movement/residual_kib_{s}_float32",
            traffic[s, "float32"].residual_bytes / KiB,
            fmt="{:,.1f}",
            unit="KiB",
            label=f"parked residual traffic, {s} schedule, float32",
        )
    for s, d in [("layer", "float32"), ("fused", "float32"), ("fused", "int8")]:
        book.record(
            f"data_movement/intensity_{s}_{d}",
            macs / traffic[s, d].total_bytes,
            fmt="{:.2f}",
            label=f"MACs per byte moved, {s}, {d}",
        )
    book.record("data_movement/kib_bytes", capacity_of["KiB"], fmt="{:,}", label="128 KiB in bytes")
    book.record("data_movement/kb_bytes", capacity_of["kB"], fmt="{:,}", label="128 kB in bytes")
    book.record("data_movement/kibit_bytes", capacity_of["Kibit"], fmt="{:,}", label="128 Kibit in bytes")
    book.record("data_movement/kbit_bytes", capacity_of["kbit"], fmt="{:,}", label="128 kbit in bytes")
    book.record(
        "data_movement/reading_spread",
        capacity_of["KiB"] / capacity_of["kbit"],
        fmt="{:.1f}",
        label="largest over smallest reading",
    )
    book.record(
        "data_movement/reading_gap_pct",
        100 * (capacity_of["Kibit"] / capacity_of["kbit"] - 1),
        fmt="{:.1f}",
        unit="%",
        label="gap between binary and decimal readings",
    )
    book.record(
        "data_movement/num_units", len(units.names), fmt="{:d}", label="units (stem, blocks, head, pool, classifier)"
    )
    book.record(
        "data_movement/int8_mac_saving",
        data_movement.MAC_PJ["float32"] / data_movement.MAC_PJ["int8"],
        fmt="{:.0f}",
        label="energy of a float32 over an int8 multiply-add",
    )
    book.check(
        "data_movement/halving_bytes_doubles_capacity",
        "float16 working sets are exactly half the float32 ones (value: largest deviation in bytes)",
        value=max(abs(2 * a - b) for a, b in zip(working_sets["float16"], working_sets["float32"], strict=True)),
        at_most=0,
        fmt="{:d}",
    )
    book.record(
        "data_movement/weights_mib_float32",
        layer32.weight_bytes / MiB,
        fmt="{:.2f}",
        unit="MiB",
        label="weights and biases, float32",
    )
    book.record(
        "data_movement/classifier_mib_float32",
        rows56[-1].weight_bytes / MiB,
        fmt="{:.2f}",
        unit="MiB",
        label="classifier weights, float32",
    )
    book.record(
        "data_movement/head_weights_mib_float32",
        rows56[-3].weight_bytes / MiB,
        fmt="{:.2f}",
        unit="MiB",
        label="head weights, float32",
    )
    book.record(
        "data_movement/image_kib_float32", layer32.image_bytes / KiB, fmt="{:.1f}", unit="KiB", label="image, float32"
    )
    book.record(
        "data_movement/trips_weight_dominated_float32",
        int((over & dominance56.weight_heavy).sum()),
        fmt="{:d}",
        label="trips that are weight-dominated layers, float32",
    )
    book.record(
        "data_movement/depthwise_over_float32",
        sum(r.kind == "depthwise" for r in rows56 if r.working_set_bytes > capacity),
        fmt="{:d}",
        label="depthwise layers off chip, float32",
    )
    book.record(
        "data_movement/fused_units_over_float32",
        fused32.units_off_chip,
        fmt="{:d}",
        label="units off chip when fused, float32",
    )
    book.record(
        "data_movement/fused_saving_kib_float32",
        (layer32.total_bytes - fused32.total_bytes) / KiB,
        fmt="{:,.0f}",
        unit="KiB",
        label="bytes saved by fusion, float32",
    )
    book.record(
        "data_movement/fused_spill_cut_float32",
        100 * (1 - fused32.spill_bytes / layer32.spill_bytes),
        fmt="{:.0f}",
        unit="%",
        label="spilled bytes removed by fusion, float32",
    )
    book.record(
        "data_movement/fixed_kib_stem", units.fixed[0] / KiB, fmt="{:.1f}", unit="KiB", label="fixed term of the stem"
    )
    book.record(
        "data_movement/fixed_kib_block1", units.fixed[1] / KiB, fmt="{:.1f}", unit="KiB", label="fixed term of block 1"
    )
    blocks = np.array([n.startswith("block") for n in units.names]) & units.fits
    book.record(
        "data_movement/max_chunks_float32",
        int(units.chunks[blocks].max()),
        fmt="{:d}",
        label="most chunks of a fused block, float32",
    )
    book.record(
        "data_movement/classifier_chunks_float32",
        int(units.chunks[-1]),
        fmt="{:d}",
        label="chunks of the classifier, float32",
    )
    book.record(
        "data_movement/macs_56_millions", macs / 1e6, fmt="{:.1f}", unit="million", label="multiply-adds at 56x56"
    )
    fused224 = fused_224["float32"]
    book.record(
        "data_movement/total_mib_fused_224_float32",
        fused224.total_bytes / MiB,
        fmt="{:.1f}",
        unit="MiB",
        label="bytes moved at 224x224, fused, float32",
    )
    book.record(
        "data_movement/compulsory_mib_224_float32",
        fused224.compulsory_bytes / MiB,
        fmt="{:.1f}",
        unit="MiB",
        label="compulsory bytes at 224x224, float32",
    )
    book.record(
        "data_movement/fused_units_over_224_float32",
        fused224.units_off_chip,
        fmt="{:d}",
        label="units off chip at 224x224 when fused, float32",
    )
    for d in ("float32", "int8"):
        fused224 = fused_224[d]
        book.claim(
            f"data_movement/activations_dominate_224_{d}",
            f"at 224x224 in {d}, even fused, activations spilled off chip outweigh the weights (value: their ratio)",
            value=fused224.spill_bytes / fused224.weight_bytes,
            at_least=1,
            fmt="{:.1f}",
        )
    book.claim(
        "data_movement/reading_matters",
        "for every element size, reading 128 Kb as kilobits instead of kibibytes adds trips (value: the fewest added)",
        value=min(counts["kbit", d] - counts["KiB", d] for d in dtypes),
        at_least=1,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/kib_vs_kb_float32",
        "even 128 kB instead of 128 KiB adds float32 trips (value: how many)",
        value=counts["kB", "float32"] - counts["KiB", "float32"],
        at_least=1,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/kibit_vs_kbit_int8",
        "128 kbit instead of 128 Kibit adds int8 trips (value: how many)",
        value=counts["kbit", "int8"] - counts["Kibit", "int8"],
        at_least=1,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/residual_adds_trips",
        "keeping the residual input alive makes more float32 layers overflow 128 KiB (value: how many more)",
        value=block32.layers_off_chip - layer32.layers_off_chip,
        at_least=1,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/residual_free_below_32bit",
        "in float16 and int8, keeping the residual input alive changes neither the layer nor the unit count "
        "(value: total change)",
        value=sum(
            abs(traffic["block", d].layers_off_chip - traffic["layer", d].layers_off_chip)
            + abs(traffic["block", d].units_off_chip - traffic["layer", d].units_off_chip)
            for d in ("float16", "int8")
        ),
        at_most=0,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/spills_are_early_float32",
        "in float32, most spilled bytes are activations read by the stem and the first four blocks (value: %)",
        value=100 * layer32.spill_by_unit[:5].sum() / layer32.spill_bytes,
        at_least=50,
        fmt="{:.0f}",
    )
    book.claim(
        "data_movement/residual_alive_costs_more_float32",
        "in float32, keeping residual inputs alive moves more bytes in total than parking them off chip "
        "(value: KiB more)",
        value=(block32.total_bytes - layer32.total_bytes) / KiB,
        at_least=1,
        fmt="{:.0f}",
    )
    book.claim(
        "data_movement/weights_dominate_traffic",
        "at 56x56 in float32, more than 80% of the off-chip bytes of the default model are weights (value: %)",
        value=100 * layer32.weight_bytes / layer32.total_bytes,
        at_least=80,
        fmt="{:.0f}",
    )
    book.claim(
        "data_movement/fusion_leaves_only_the_first_units",
        "fused and channel-tiled, only units whose input plus output alone exceed 128 KiB still overflow in float32 "
        "(value: other units that overflow)",
        value=int((~units.fits & (units.fixed <= capacity)).sum()),
        at_most=0,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/fusion_removes_all_spills_16bit",
        "fused and channel-tiled, float16 and int8 inferences spill no activation (value: spilled bytes)",
        value=traffic["fused", "float16"].spill_bytes + traffic["fused", "int8"].spill_bytes,
        at_most=0,
        fmt="{:d}",
    )
    book.claim(
        "data_movement/memory_energy_dominates",
        "in every schedule and element size, moving the bytes costs over ten times the energy of the arithmetic",
        value=min(ratios.values()),
        at_least=10,
        fmt="{:.0f}",
    )

# %%
# Takeaways
# ---------
# - Under the default model, a 56x56 float32 inference overflows 128 KiB in
#   about half of its 54 layers; read as 128 kilobits, in all of them. The
#   unit is not a detail.
# - The count hides two different problems: early layers spill activations,
#   late layers merely load weights they must load anyway.
# - Counted in bytes, weights dominate at 56x56; fusing each block and tiling
#   its expanded tensor by channels removes most activation traffic, leaving
#   only units whose input and output alone do not fit.

plotting.show()

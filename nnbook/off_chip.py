"""Bytes across the chip boundary in one MobileNetV2 inference, under three schedules, and fused block tiling.

:mod:`nnbook.data_movement` counts the layers that do not fit on chip; this
module counts what that costs in bytes. Every weight is read once, the image
is read once and the result written once (the *compulsory* bytes); an
activation stays on chip only if the layer that writes it and the one that
reads it both fit, otherwise it is written out once and read back once.
Layers that do not fit are assumed to stream their operands exactly once
(ideal tiling), so every figure is a lower bound.

Examples
--------
>>> t = off_chip_traffic(56, 131072, 4, "fused")
>>> t.total_bytes == t.weight_bytes + t.image_bytes + t.output_bytes + t.spill_bytes + t.residual_bytes
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnbook import _validation as v
from nnbook.data_movement import element_bytes, layer_table
from nnbook.mobilenet import IMAGENET_CLASSES, KERNEL_SIZE, layers

SCHEDULES = ("layer", "block", "fused")
BIAS = 1  # one (folded) bias per output channel
DEPTHWISE_PARAMETERS = KERNEL_SIZE**2 + BIAS  # one 3x3 filter and its bias per channel


@dataclass(frozen=True)
class FusedUnits:
    """Working set ``fixed + g * per_channel`` of each unit run fused over chunks of ``g`` channels."""

    names: tuple[str, ...]  # "stem", "block1".."block17", "head", "pool", "classifier"
    fixed: np.ndarray  # int (units,): bytes resident whatever the chunk size
    per_channel: np.ndarray  # int (units,): extra bytes per channel of the chunk (0 for the pool)
    channels: np.ndarray  # int (units,): channels that are chunked
    largest_chunk: np.ndarray  # int (units,): largest g that fits the capacity (0: not even g = 1)
    chunks: np.ndarray  # int (units,): ceil(channels / largest_chunk), 0 where the unit does not fit
    fits: np.ndarray  # bool (units,): fixed + per_channel <= capacity


def fused_working_set(
    input_size: int,
    capacity_bytes: float,
    bytes_per_element: int | str = "float32",
    num_classes: int = IMAGENET_CLASSES,
    classifier: bool = True,
) -> FusedUnits:
    """Working set of each fused, channel-tiled unit, and the largest chunk that fits ``capacity_bytes``.

    The units are the stem, the 17 inverted residual blocks, the head, the
    pool and the classifier. A block runs as one operator over chunks of
    ``g`` channels of its expanded tensor: expand the chunk (1x1), filter it
    (3x3 depthwise), and add its projection into the output accumulator. The
    resident bytes are the block input ``x`` (read by every chunk's expansion
    and, in a residual block, added to the accumulator at the end: the
    residual input is this term), the accumulator and the projection's bias
    (fixed), and per channel of the chunk its expanded and filtered maps, its
    expansion weights and bias, its 3x3 filter and bias and its column of the
    projection, the weights being streamed chunk by chunk. The stem, head and
    classifier stream the weights and bias of chunks of output channels; the
    pool keeps its input and output (no weights).

    Examples
    --------
    >>> u = fused_working_set(56, 131072, "int8")
    >>> u.names[1], int(u.fixed[1]), int(u.per_channel[1]), int(u.channels[1]), int(u.largest_chunk[1])
    ('block1', 37648, 810, 32, 32)
    """
    capacity = v.check_real(capacity_bytes, "capacity_bytes", min_value=0, min_inclusive=False)
    b = element_bytes(bytes_per_element)
    units: dict[int, list] = {}
    for x in layers(input_size, num_classes, classifier):
        units.setdefault(x.block, []).append(x)
    names, fixed, per_channel, channels = [], [], [], []
    for members in units.values():
        first, last = members[0], members[-1]
        names.append(first.name.split(".")[0])
        in_act, out_act = first.in_channels * first.in_size**2, last.out_channels * last.out_size**2
        if len(members) == 1:  # stem, head, classifier: weights + bias of each output channel; pool: none
            fixed.append(in_act + out_act)
            per_channel.append(0 if first.kind == "pool" else first.weight_count // first.out_channels + BIAS)
            channels.append(first.out_channels)
            continue
        dw = members[-2]
        expanded = first.kind == "expand"  # the first block (t = 1) has no expansion
        expand = (dw.in_size**2 + first.in_channels + BIAS) if expanded else 0  # chunk map, weights, bias
        fixed.append(in_act + out_act + last.out_channels)  # block input (= residual), accumulator, projection bias
        per_channel.append(expand + dw.out_size**2 + DEPTHWISE_PARAMETERS + last.out_channels)
        channels.append(dw.out_channels)
    fixed, per_channel, channels = b * np.array(fixed), b * np.array(per_channel), np.array(channels)
    fits = fixed + per_channel <= capacity
    room = np.where(per_channel > 0, (capacity - fixed) // np.maximum(per_channel, 1), channels)
    largest = np.where(fits, np.clip(room, 0, channels), 0).astype(int)
    chunks = np.where(largest > 0, -(-channels // np.maximum(largest, 1)), 0)
    return FusedUnits(tuple(names), fixed, per_channel, channels, largest, chunks, fits)


@dataclass(frozen=True)
class Traffic:
    """Bytes that cross the chip boundary in one inference (batch of one) under one schedule."""

    schedule: str  # "layer", "block" or "fused"
    weight_bytes: int  # every layer's weights and biases (the classifier's included), each read once
    image_bytes: int  # the input image, read once
    output_bytes: int  # the network's output (the logits), written once
    spill_bytes: int  # activations written off chip and read back (2x their size)
    residual_bytes: int  # extra traffic to park residual inputs off chip until their addition
    total_bytes: int  # sum of the five terms above
    layers_off_chip: int  # layers that do not fit (in a fused unit that fits, none)
    units_off_chip: int  # units (stem, blocks, head, pool, classifier) with a layer that does not fit
    spilled: np.ndarray = field(compare=False)  # bool (layers + 1,): activation k (input of layer k) spills
    spill_by_unit: np.ndarray = field(compare=False)  # int (units,): spilled bytes of activations each unit reads

    @property
    def compulsory_bytes(self) -> int:
        """Weights, image and output: what any schedule must move."""
        return self.weight_bytes + self.image_bytes + self.output_bytes


def off_chip_traffic(
    input_size: int,
    capacity_bytes: float,
    bytes_per_element: int | str = "float32",
    schedule: str = "layer",
    num_classes: int = IMAGENET_CLASSES,
    classifier: bool = True,
) -> Traffic:
    """Off-chip bytes of one inference for a given on-chip capacity.

    Parameters
    ----------
    input_size : int
        Height = width of the input image, ``32 <= input_size <= 16384``.
    capacity_bytes : float
        On-chip memory in bytes, ``> 0``.
    bytes_per_element : int or str
        Bytes of one stored number or a dtype name.
    schedule : {"layer", "block", "fused"}
        ``"layer"``: the default model; a residual input is parked off chip
        until its addition. ``"block"``: the residual input also counts in the
        working set of the depthwise and projection convolutions of its block
        and stays on chip when every convolution of the block fits.
        ``"fused"``: each unit of :func:`fused_working_set` that fits with
        one-channel chunks runs as one operator (its inner activations never
        exist in full); units that do not fit fall back to ``"block"``.
    num_classes, classifier
        As in :func:`nnbook.data_movement.layer_table`.

    Returns
    -------
    Traffic

    Examples
    --------
    >>> [off_chip_traffic(56, 131072, 4, s).spill_bytes for s in SCHEDULES]
    [2797696, 2969728, 501760]
    """
    v.check_choice(schedule, "schedule", SCHEDULES)
    capacity = v.check_real(capacity_bytes, "capacity_bytes", min_value=0, min_inclusive=False)
    b = element_bytes(bytes_per_element)
    rows = layer_table(input_size, b, num_classes, classifier)
    n = len(rows)
    unit = np.array([r.block for r in rows])  # (n,)
    act = np.array([r.input_bytes for r in rows] + [rows[-1].output_bytes])  # activation k feeds layer k, (n + 1,)
    first = np.r_[True, unit[1:] != unit[:-1]]  # first layer of its unit
    starts = np.flatnonzero(first)
    position = np.cumsum(first) - 1  # unit position of each layer, 0..units-1
    has_residual = np.isin(unit, unit[[r.residual for r in rows]])
    live = np.where(has_residual & ~first & (schedule != "layer"), act[starts][position], 0)
    fits = np.array([r.working_set_bytes for r in rows]) + live <= capacity
    unit_fits = np.logical_and.reduceat(fits, starts)
    fused_fits = np.zeros(starts.size, dtype=bool)
    if schedule == "fused":
        fused_fits = fused_working_set(input_size, capacity, b, num_classes, classifier).fits
        fits |= fused_fits[position]
    exists = np.r_[~(fused_fits[position] & ~first), True]  # inner activations of a fused unit never exist
    spilled = exists & ~(np.r_[True, fits] & np.r_[fits, True])
    spilled[[0, n]] = False  # the image and the output are compulsory, counted apart
    kept = (unit_fits | fused_fits)[position] & (schedule != "layer")
    parked = has_residual & first & ~kept  # residual inputs that must wait off chip
    residual = int(np.where(spilled[:n], 1, 2)[parked] @ act[:n][parked])  # a read, plus a write if not spilled
    spill_by_unit = np.bincount(position, weights=2 * act[:n] * spilled[:n], minlength=starts.size).astype(int)
    weights, spill = sum(r.weight_bytes for r in rows), 2 * int(act[spilled].sum())
    total = weights + int(act[0]) + int(act[n]) + spill + residual
    return Traffic(
        schedule,
        weights,
        int(act[0]),
        int(act[n]),
        spill,
        residual,
        total,
        int((~fits).sum()),
        int((~(unit_fits | fused_fits)).sum()),
        spilled,
        spill_by_unit,
    )

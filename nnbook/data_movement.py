"""The memory working set of MobileNetV2: what one layer needs on chip, and what must move off chip.

Default model (one row per convolution, 52 rows; the classifier is kept
apart): to run a convolution on chip, its input activation, its output
activation, its weights and one bias per output channel (BatchNorm folded into
the convolution) must all be resident, so its working set is::

    working_set = (C_in H_in W_in + C_out H_out W_out + weights + C_out) * bytes_per_element

for a batch of one. A layer whose working set exceeds the on-chip capacity
forces a trip off chip. :func:`off_chip_traffic` refines the count into
bytes under three schedules (layer by layer, residual input kept alive, and
fused channel-tiled blocks).

Examples
--------
>>> rows = layer_table(224)
>>> len(rows), rows[0].name, rows[0].input_shape, rows[0].output_shape
(52, 'stem', (3, 224, 224), (32, 112, 112))
>>> rows[0]["working_set_bytes"] == rows[0].input_bytes + rows[0].output_bytes + rows[0].weight_bytes
True
>>> count_off_chip(56, in_bytes(128, "KiB"), bytes_per_element=4)
24
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from types import MappingProxyType

import numpy as np
import torch

from nnbook.mobilenet import HEAD_CHANNELS, conv_layers
from nnbook.mobilenet import mobilenet_v2 as mobilenet_v2  # re-exported: part of this chapter's API

DTYPE_BYTES = MappingProxyType({"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1})
# bytes in one unit: KiB = 1024 B, kB = 1000 B, Kibit = 1024 bit = 128 B, kbit = 1000 bit = 125 B
UNIT_BYTES = MappingProxyType({"KiB": 1024, "kB": 1000, "Kibit": 128, "kbit": 125})
SCHEDULES = ("layer", "block", "fused")


def element_bytes(bytes_per_element: int | str | object) -> int:
    """Bytes of one element: an int in {1, 2, 4, 8}, a dtype name of ``DTYPE_BYTES`` or a numpy/torch dtype.

    Examples
    --------
    >>> element_bytes("float16"), element_bytes(1), element_bytes(np.dtype("float64"))
    (2, 1, 8)
    """
    value = bytes_per_element
    if isinstance(value, str):
        if value not in DTYPE_BYTES:
            raise ValueError(f"bytes_per_element must be one of {sorted(DTYPE_BYTES)}, got {value!r}")
        return DTYPE_BYTES[value]
    if isinstance(value, type) and issubclass(value, np.generic):  # np.float32 and friends
        value = np.dtype(value)
    if isinstance(value, np.dtype | torch.dtype):
        if value.is_complex if isinstance(value, torch.dtype) else value.kind not in "biuf":
            raise ValueError(f"bytes_per_element must be a real dtype, got {value}")
        value = value.itemsize
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"bytes_per_element must be an int or a dtype, got {type(bytes_per_element).__name__}")
    if int(value) not in (1, 2, 4, 8):
        raise ValueError(f"bytes_per_element must be 1, 2, 4 or 8 (a known dtype), got {bytes_per_element!r}")
    return int(value)


def in_bytes(amount: float, unit: str) -> int:
    """``amount`` of ``unit`` (``"KiB"``, ``"kB"``, ``"Kibit"`` or ``"kbit"``) in whole bytes.

    Examples
    --------
    >>> [in_bytes(128, u) for u in ("KiB", "kB", "Kibit", "kbit")]
    [131072, 128000, 16384, 16000]
    """
    if unit not in UNIT_BYTES:
        raise ValueError(f"unit must be one of {list(UNIT_BYTES)}, got {unit!r}")
    return int(_positive(amount, "amount") * UNIT_BYTES[unit])


@dataclass(frozen=True)
class LayerRow:
    """One convolution of the default model; sizes in bytes. ``row["field"]`` works like ``row.field``."""

    index: int  # execution order, from 0
    name: str  # "stem", "block<b>.expand" / ".depthwise" / ".project", "head"
    block: int  # 0 stem, 1..17 inverted residual blocks, 18 head
    kind: str  # "stem", "expand", "depthwise", "project", "head"
    input_shape: tuple[int, int, int]  # (C, H, W) of the input activation
    output_shape: tuple[int, int, int]  # (C, H, W) of the output activation
    input_bytes: int
    output_bytes: int
    weight_bytes: int  # weights plus one folded-BatchNorm bias per output channel
    working_set_bytes: int  # input_bytes + output_bytes + weight_bytes
    macs: int  # multiply-accumulates for one image
    residual: bool  # a projection whose block adds its input

    def __getitem__(self, key: str):
        return getattr(self, key)

    def keys(self) -> list[str]:
        """Field names, so that ``dict(row)`` works."""
        return [f.name for f in fields(self)]


def layer_table(input_size: int = 224, bytes_per_element: int | str = 4) -> list[LayerRow]:
    """The default working-set model: one row per convolution of MobileNetV2, in execution order.

    Parameters
    ----------
    input_size : int
        Height = width of the input image, ``>= 32``.
    bytes_per_element : int or str
        Bytes of one stored number (4 for float32) or a dtype name.

    Returns
    -------
    list of LayerRow, length 52

    Examples
    --------
    >>> row = layer_table(56, "int8")[3]
    >>> row.name, row.input_bytes, row.output_bytes, row.weight_bytes, row.working_set_bytes
    ('block2.expand', 12544, 75264, 1632, 89440)
    """
    b = element_bytes(bytes_per_element)
    rows = []
    for c in conv_layers(input_size):
        shape_in, shape_out = (c.in_channels, c.in_size, c.in_size), (c.out_channels, c.out_size, c.out_size)
        i, o, w = b * int(np.prod(shape_in)), b * int(np.prod(shape_out)), b * (c.weight_count + c.out_channels)
        rows.append(
            LayerRow(c.index, c.name, c.block, c.kind, shape_in, shape_out, i, o, w, i + o + w, c.macs, c.residual)
        )
    return rows


def off_chip_counts(working_set_bytes: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """For each capacity, how many working sets exceed it (vectorised: one sort, one search).

    Parameters
    ----------
    working_set_bytes : ndarray, shape (layers,)
    capacities : ndarray, shape (m,)
        Positive capacities in bytes.

    Returns
    -------
    ndarray of int, shape (m,)

    Examples
    --------
    >>> off_chip_counts(np.array([5, 1, 3]), np.array([0.5, 3, 10]))
    array([3, 1, 0])
    """
    ws = np.sort(np.asarray(working_set_bytes, dtype=float))
    caps = np.asarray(capacities, dtype=float)
    if ws.ndim != 1:
        raise ValueError(f"working_set_bytes must be 1-D, got shape {ws.shape}")
    if caps.ndim != 1 or not np.all(caps > 0):
        raise ValueError("capacities must be a 1-D array of positive numbers")
    return ws.size - np.searchsorted(ws, caps, side="right")


def count_off_chip(input_size: int, capacity_bytes: float, bytes_per_element: int | str = 4) -> int:
    """Number of rows of :func:`layer_table` whose working set exceeds ``capacity_bytes``.

    Under the default model this is how many times one inference must go off
    chip: once for every convolution that cannot run from on-chip memory alone.

    Parameters
    ----------
    input_size : int
        Height = width of the input image, ``>= 32``.
    capacity_bytes : float
        On-chip memory in bytes, ``> 0`` (see :func:`in_bytes` for KiB, kbit, ...).
    bytes_per_element : int or str
        Bytes of one stored number (4 for float32) or a dtype name.

    Returns
    -------
    int
        Between 0 and 52.

    Examples
    --------
    >>> count_off_chip(56, 16000, "int8"), count_off_chip(56, 16384, "int8")
    (50, 46)
    """
    capacity = _positive(capacity_bytes, "capacity_bytes")
    ws = np.array([r.working_set_bytes for r in layer_table(input_size, bytes_per_element)])
    return int(off_chip_counts(ws, np.array([capacity]))[0])


def fused_working_set(input_size: int, bytes_per_element: int | str = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Working set of each fused, channel-tiled unit: ``fixed + g * per_channel`` bytes for a chunk of g channels.

    The 19 units are the stem, the 17 inverted residual blocks and the head.
    A block runs as one operator over chunks of ``g`` channels of its expanded
    tensor: expand the chunk (1x1), filter it (3x3 depthwise), and add its
    projection into the output accumulator; only the block input (which is
    also the residual), the output accumulator, one chunk of the expanded and
    the filtered tensor, and the chunk's weights are resident, the weights
    being streamed chunk by chunk. The stem and head stream their weights by
    chunks of output channels.

    Returns
    -------
    fixed : ndarray of int, shape (19,)
        Bytes resident whatever the chunk size.
    per_channel : ndarray of int, shape (19,)
        Extra bytes per channel of the chunk.
    channels : ndarray of int, shape (19,)
        Channels that are chunked (expanded channels, or output channels of stem/head).

    Examples
    --------
    >>> fixed, per_channel, channels = fused_working_set(56, "int8")
    >>> int(fixed[1]), int(per_channel[1]), int(channels[1])
    (37648, 810, 32)
    """
    b = element_bytes(bytes_per_element)
    units: dict[int, list] = {}
    for c in conv_layers(input_size):
        units.setdefault(c.block, []).append(c)
    fixed, per_channel, channels = [], [], []
    for convs in units.values():
        first, last = convs[0], convs[-1]
        in_act, out_act = first.in_channels * first.in_size**2, last.out_channels * last.out_size**2
        if len(convs) == 1:  # stem or head: stream weights + bias of each output channel
            fixed.append(in_act + out_act)
            per_channel.append(first.kernel_size**2 * first.in_channels + 1)
            channels.append(first.out_channels)
            continue
        dw = convs[-2]
        expand = (dw.in_size**2 + first.in_channels + 1) if len(convs) == 3 else 0  # chunk + its weights, bias
        fixed.append(in_act + out_act + last.out_channels)  # + projection bias
        per_channel.append(expand + dw.out_size**2 + 10 + last.out_channels)  # dw chunk, dw 3x3 + bias, proj column
        channels.append(dw.out_channels)
    return b * np.array(fixed), b * np.array(per_channel), np.array(channels)


@dataclass(frozen=True)
class Traffic:
    """Bytes that cross the chip boundary in one inference (batch of one) under one schedule."""

    schedule: str  # "layer", "block" or "fused"
    weight_bytes: int  # the 52 convolutions' weights and biases, each read once
    classifier_bytes: int  # the 1280 x 1000 classifier and its bias, read once
    image_bytes: int  # the input image, read once
    spill_bytes: int  # activations written off chip and read back (2x their size)
    residual_bytes: int  # extra traffic to park residual inputs off chip until their addition
    total_bytes: int  # sum of the five terms above
    convs_off_chip: int  # convolutions that do not fit (in a fused unit that fits, none)
    units_off_chip: int  # of the 19 units (stem, 17 blocks, head): units with a convolution that does not fit
    spilled: np.ndarray = field(compare=False)  # bool, (53,): activation k (input of conv k; 52: head output) spills


def off_chip_traffic(
    input_size: int, capacity_bytes: float, bytes_per_element: int | str = 4, schedule: str = "layer"
) -> Traffic:
    """Off-chip bytes of one inference for a given on-chip capacity.

    Every weight is read once (the weights are far larger than the chip, so
    this traffic is compulsory), the image is read once, and an activation
    stays on chip only if the operator that writes it and the one that reads
    it both fit; otherwise it is written once and read once. Operators that
    do not fit are assumed to stream their operands exactly once (ideal
    tiling), so these are lower bounds. The head's output is read by the
    pooling, which is assumed to fit.

    Parameters
    ----------
    input_size : int
        Height = width of the input image, ``>= 32``.
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

    Returns
    -------
    Traffic

    Examples
    --------
    >>> [off_chip_traffic(56, 131072, 4, s).spill_bytes for s in ("layer", "block", "fused")]
    [2787456, 2959488, 501760]
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    capacity = _positive(capacity_bytes, "capacity_bytes")
    b = element_bytes(bytes_per_element)
    rows = layer_table(input_size, b)
    block = np.array([r.block for r in rows])  # unit of each conv, shape (52,)
    act = np.array([r.input_bytes for r in rows] + [rows[-1].output_bytes])  # activation k feeds conv k, (53,)
    first = np.r_[True, block[1:] != block[:-1]]  # first conv of its unit
    unit_input = act[np.flatnonzero(first)][block]  # bytes of the unit's input, per conv
    has_residual = np.isin(block, block[[r.residual for r in rows]])
    live = np.where(has_residual & ~first & (schedule != "layer"), unit_input, 0)
    fits = np.array([r.working_set_bytes for r in rows]) + live <= capacity
    unit_fits = np.logical_and.reduceat(fits, np.flatnonzero(first))  # shape (19,)
    fused_fits = np.zeros(19, dtype=bool)
    if schedule == "fused":
        fixed, per_channel, _ = fused_working_set(input_size, b)
        fused_fits = fixed + per_channel <= capacity
        fits |= fused_fits[block]
    exists = np.r_[~(fused_fits[block] & ~first), True]  # inner activations of a fused unit never exist
    spilled = exists & ~(np.r_[True, fits] & np.r_[fits, True])
    spilled[0] = False  # the image is counted apart
    kept = (unit_fits | fused_fits)[block] & (schedule != "layer")
    parked = has_residual & first & ~kept  # residual inputs that must wait off chip
    residual = int(np.where(spilled[:52], 1, 2)[parked] @ act[:52][parked])  # a read, plus a write if not spilled
    weights = sum(r.weight_bytes for r in rows)
    classifier = b * (HEAD_CHANNELS + 1) * 1000
    spill = 2 * int(act[spilled].sum())
    total = weights + classifier + int(act[0]) + spill + residual
    units = int((~(unit_fits | fused_fits)).sum())
    return Traffic(
        schedule, weights, classifier, int(act[0]), spill, residual, total, int((~fits).sum()), units, spilled
    )


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)

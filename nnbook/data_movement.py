"""The memory working set of MobileNetV2: what one layer needs on chip, and what must move off chip.

Default model (one row per layer of Table 2, 54 rows: the 52 convolutions,
the global average pool and the classifier, a ``conv2d 1x1`` with ``k = 1000``
outputs): to run a layer on chip, its input activation, its output
activation, its weights and one bias per output channel (BatchNorm folded into
the convolution; the classifier's own bias) must all be resident, so::

    working_set = (C_in H_in W_in + C_out H_out W_out + weights + C_out) * bytes_per_element

for a batch of one (the pool has no weights and no bias). A layer whose
working set exceeds the on-chip capacity forces a trip off chip.
:func:`off_chip_traffic` (in :mod:`nnbook.off_chip`) refines the count into bytes.

Examples
--------
>>> rows = layer_table(224)
>>> len(rows), rows[0].name, rows[0].input_shape, rows[-1].name, rows[-1].output_shape
(54, 'stem', (3, 224, 224), 'classifier', (1000, 1, 1))
>>> rows[0].working_set_bytes == rows[0].input_bytes + rows[0].output_bytes + rows[0].weight_bytes
True
>>> count_off_chip(56, in_bytes(128, "KiB"), bytes_per_element=4)
25
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType

import numpy as np
import torch

from nnbook import _validation as v
from nnbook.mobilenet import IMAGENET_CLASSES, PAPER_INPUT_SIZE, layers
from nnbook.mobilenet import mobilenet_v2 as mobilenet_v2  # re-exported: part of this chapter's API

ELEMENT_SIZES = (1, 2, 4, 8)  # bytes of the number formats the model knows
DTYPE_BYTES = MappingProxyType({"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1})
# bytes in one unit: KiB = 1024 B, kB = 1000 B, Kibit = 1024 bit = 128 B, kbit = 1000 bit = 125 B
UNIT_BYTES = MappingProxyType({"KiB": 1024, "kB": 1000, "Kibit": 128, "kbit": 125})
MAX_AMOUNT = 2.0**50  # in_bytes: a petabyte-scale ceiling keeps the result an exact float
MAX_COUNT_ELEMENTS = 10**7  # off_chip_counts: working sets and capacities, each
# energy per operation in a 45 nm process (Horowitz 2014): a 32-bit DRAM read, and a multiply plus an add
DRAM_PJ_PER_BYTE = 640 / 4
MAC_PJ = MappingProxyType({"float32": 3.7 + 0.9, "float16": 1.1 + 0.4, "int8": 0.2 + 0.03})


def element_bytes(bytes_per_element: int | str | object) -> int:
    """Bytes of one element: an int of ``ELEMENT_SIZES``, a dtype name of ``DTYPE_BYTES`` or a numpy/torch dtype.

    Examples
    --------
    >>> element_bytes("float16"), element_bytes(1), element_bytes(np.dtype("float64"))
    (2, 1, 8)
    """
    value = bytes_per_element
    if isinstance(value, str):
        return DTYPE_BYTES[v.check_choice(value, "bytes_per_element", tuple(DTYPE_BYTES))]
    if isinstance(value, type) and issubclass(value, np.generic):  # np.float32 and friends
        value = np.dtype(value)
    if isinstance(value, np.dtype | torch.dtype):
        if value.is_complex if isinstance(value, torch.dtype) else value.kind not in "biuf":
            raise ValueError(f"bytes_per_element must be a real dtype, got {value}")
        value = value.itemsize
    size = v.check_int(value, "bytes_per_element", min_value=min(ELEMENT_SIZES), max_value=max(ELEMENT_SIZES))
    return v.check_choice(size, "bytes_per_element", ELEMENT_SIZES)


def in_bytes(amount: float, unit: str) -> int:
    """``amount`` of ``unit`` (``"KiB"``, ``"kB"``, ``"Kibit"`` or ``"kbit"``) in whole bytes (rounded down).

    Examples
    --------
    >>> [in_bytes(128, u) for u in ("KiB", "kB", "Kibit", "kbit")]
    [131072, 128000, 16384, 16000]
    """
    v.check_choice(unit, "unit", tuple(UNIT_BYTES))
    return int(
        v.check_real(amount, "amount", min_value=0, min_inclusive=False, max_value=MAX_AMOUNT) * UNIT_BYTES[unit]
    )


@dataclass(frozen=True)
class LayerRow:
    """One layer of the default model; sizes in bytes. ``row["field"]`` works like ``row.field``."""

    index: int  # execution order, from 0
    name: str  # "stem", "block<b>.expand" / ".depthwise" / ".project", "head", "pool", "classifier"
    block: int  # unit: 0 stem, 1..17 inverted residual blocks, 18 head, 19 pool, 20 classifier
    stage: int  # row of Table 2, 0..10
    kind: str  # "stem", "expand", "depthwise", "project", "head", "pool" or "classifier"
    input_shape: tuple[int, int, int]  # (C, H, W) of the input activation
    output_shape: tuple[int, int, int]  # (C, H, W) of the output activation
    input_bytes: int
    output_bytes: int
    weight_bytes: int  # weights plus one bias per output channel (none for the pool)
    working_set_bytes: int  # input_bytes + output_bytes + weight_bytes
    macs: int  # multiply-accumulates for one image
    residual: bool  # a projection whose block adds its input

    def __getitem__(self, key: str):
        return getattr(self, key)

    def keys(self) -> list[str]:
        """Field names, so that ``dict(row)`` works."""
        return [f.name for f in fields(self)]


def layer_table(
    input_size: int = PAPER_INPUT_SIZE,
    bytes_per_element: int | str = "float32",
    num_classes: int = IMAGENET_CLASSES,
    classifier: bool = True,
) -> list[LayerRow]:
    """The default working-set model: one row per layer of MobileNetV2, in execution order.

    Parameters
    ----------
    input_size : int
        Height = width of the input image, ``32 <= input_size <= 16384``.
    bytes_per_element : int or str
        Bytes of one stored number (4 for float32) or a dtype name (default float32).
    num_classes : int
        Outputs ``k`` of the classifier (Table 2's last row), ``1 <= k <= 100000``.
    classifier : bool
        Include the pool and the classifier (54 rows); ``False`` stops at the head (52 rows).

    Returns
    -------
    list of LayerRow

    Examples
    --------
    >>> row = layer_table(56, "int8")[3]
    >>> row.name, row.input_bytes, row.output_bytes, row.weight_bytes, row.working_set_bytes
    ('block2.expand', 12544, 75264, 1632, 89440)
    >>> [(r.name, r.working_set_bytes) for r in layer_table(56, 4)[-2:]]
    [('pool', 25600), ('classifier', 5133120)]
    """
    b = element_bytes(bytes_per_element)
    rows = []
    for x in layers(input_size, num_classes, classifier):
        shape_in, shape_out = (x.in_channels, x.in_size, x.in_size), (x.out_channels, x.out_size, x.out_size)
        bias = 0 if x.kind == "pool" else x.out_channels
        i, o, w = b * int(np.prod(shape_in)), b * int(np.prod(shape_out)), b * (x.weight_count + bias)
        rows.append(
            LayerRow(
                x.index, x.name, x.block, x.stage, x.kind, shape_in, shape_out, i, o, w, i + o + w, x.macs, x.residual
            )
        )
    return rows


def off_chip_counts(working_set_bytes: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """For each capacity, how many working sets exceed it (vectorised: one sort, one search).

    Parameters
    ----------
    working_set_bytes : ndarray, shape (layers,)
        Non-negative sizes, at most ``MAX_COUNT_ELEMENTS``.
    capacities : ndarray, shape (m,)
        Positive capacities in bytes, at most ``MAX_COUNT_ELEMENTS``.

    Returns
    -------
    ndarray of int, shape (m,)
        A working set equal to the capacity fits.

    Examples
    --------
    >>> off_chip_counts(np.array([5, 1, 3]), np.array([0.5, 3, 10]))
    array([3, 1, 0])
    """
    ws = v.check_array(working_set_bytes, "working_set_bytes", ndim=1, max_elements=MAX_COUNT_ELEMENTS)
    caps = v.check_array(capacities, "capacities", ndim=1, max_elements=MAX_COUNT_ELEMENTS)
    if np.any(ws < 0):
        raise ValueError(f"working_set_bytes must be >= 0, got a minimum of {ws.min()}")
    if np.any(caps <= 0):
        raise ValueError(f"capacities must be > 0, got a minimum of {caps.min()}")
    return ws.size - np.searchsorted(np.sort(ws), caps, side="right")


def count_off_chip(
    input_size: int,
    capacity_bytes: float,
    bytes_per_element: int | str = "float32",
    num_classes: int = IMAGENET_CLASSES,
    classifier: bool = True,
) -> int:
    """Number of rows of :func:`layer_table` whose working set exceeds ``capacity_bytes``.

    Under the default model this is how many times one inference must go off
    chip: once for every layer that cannot run from on-chip memory alone.

    Parameters
    ----------
    input_size, bytes_per_element, num_classes, classifier
        As in :func:`layer_table`.
    capacity_bytes : float
        On-chip memory in bytes, ``> 0`` (see :func:`in_bytes` for KiB, kbit, ...).

    Returns
    -------
    int
        Between 0 and the number of rows.

    Examples
    --------
    >>> count_off_chip(56, 16000, "int8"), count_off_chip(56, 16384, "int8")
    (51, 47)
    """
    capacity = v.check_real(capacity_bytes, "capacity_bytes", min_value=0, min_inclusive=False)
    rows = layer_table(input_size, bytes_per_element, num_classes, classifier)
    return sum(r.working_set_bytes > capacity for r in rows)


@dataclass(frozen=True)
class Dominance:
    """Which term of the working set dominates each layer, and the extremes of the table."""

    weight_heavy: np.ndarray  # bool, (layers,): weights and bias exceed input plus output
    crossover: int  # index of the first weight-heavy layer
    weight_dominated: int  # number of weight-heavy layers
    split_violations: int  # weight-heavy layers before the crossover plus activation-heavy 1x1 convolutions after it
    peak_index: int  # layer with the largest working set
    peak_bytes: int
    min_index: int  # layer with the smallest working set
    min_bytes: int


def dominance(rows: list[LayerRow]) -> Dominance:
    """Where activations and where weights dominate the working sets of ``rows`` (from :func:`layer_table`).

    Examples
    --------
    >>> d = dominance(layer_table(56, 4))
    >>> d.crossover, d.weight_dominated, d.split_violations, d.peak_index
    (20, 26, 0, 53)
    """
    if not isinstance(rows, list | tuple) or not rows or not all(isinstance(r, LayerRow) for r in rows):
        raise TypeError(f"rows must be a non-empty list of LayerRow (from layer_table), got {type(rows).__name__}")
    activations = np.array([r.input_bytes + r.output_bytes for r in rows])
    weights = np.array([r.weight_bytes for r in rows])
    ws = np.array([r.working_set_bytes for r in rows])
    heavy = weights > activations
    crossover = int(np.argmax(heavy)) if heavy.any() else len(rows)
    pointwise = np.array([r.kind in ("expand", "project", "head", "classifier") for r in rows])
    violations = int(heavy[:crossover].sum() + (~heavy[crossover:] & pointwise[crossover:]).sum())
    peak, low = int(ws.argmax()), int(ws.argmin())
    return Dominance(heavy, crossover, int(heavy.sum()), violations, peak, int(ws[peak]), low, int(ws[low]))


def memory_energy_ratio(bytes_moved: float, macs: float, element: str) -> float:
    """Energy of moving ``bytes_moved`` DRAM bytes over that of ``macs`` multiply-adds in ``element`` arithmetic.

    With ``DRAM_PJ_PER_BYTE`` and ``MAC_PJ`` (Horowitz 2014, 45 nm). Above 1,
    moving the data costs more than computing with it; the threshold
    intensity ``DRAM_PJ_PER_BYTE / MAC_PJ[element]`` is where the ratio is 1.

    Examples
    --------
    >>> round(memory_energy_ratio(1.0, 1.0, "float32"), 1), round(DRAM_PJ_PER_BYTE / MAC_PJ["float32"], 1)
    (34.8, 34.8)
    """
    q = v.check_real(bytes_moved, "bytes_moved", min_value=0)
    f = v.check_real(macs, "macs", min_value=0, min_inclusive=False)
    return q * DRAM_PJ_PER_BYTE / (f * MAC_PJ[v.check_choice(element, "element", tuple(MAC_PJ))])

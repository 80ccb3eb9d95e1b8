"""Measure the layers of a real PyTorch module with forward hooks: shapes, bytes, MACs and time.

A forward hook sees the tensors a layer actually receives and returns, so it
checks an analytic model of the layers (``nnbook.data_movement.layer_table``)
against what runs. Every ``nn.Conv2d`` and ``nn.Linear`` is recorded; a
linear layer is treated as Table 2 of the MobileNetV2 paper writes its
classifier, a 1x1 convolution of a 1x1 map.

Examples
--------
>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Conv2d(8, 8, 3, padding=1, groups=8))
>>> [(r.input_shape, r.output_shape, r.macs) for r in measure_convs(net, 16)]
[((3, 16, 16), (8, 8, 8), 13824), ((8, 8, 8), (8, 8, 8), 4608)]
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v
from nnbook.machine import MAX_REPEATS, MAX_THREADS, torch_threads

MAX_INPUT_SIZE = 1024  # height = width of the image of a measured forward pass
COMPARED_FIELDS = ("input_shape", "output_shape", "input_bytes", "output_bytes", "weight_bytes", "macs")
HOOKED = (nn.Conv2d, nn.Linear)


@dataclass(frozen=True)
class ConvRecord:
    """What one ``nn.Conv2d`` or ``nn.Linear`` did in a forward pass on one image; sizes in bytes."""

    name: str  # module path inside the model, e.g. "features.2.conv.3"
    module: str  # "Conv2d" or "Linear"
    input_shape: tuple[int, ...]  # (C, H, W), batch dimension dropped; (features, 1, 1) for a linear layer
    output_shape: tuple[int, ...]
    input_bytes: int  # numel * element_size of the tensor the layer received
    output_bytes: int
    weight_bytes: int  # (weights + one bias per output channel) * element_size: BatchNorm folded
    macs: int  # output elements * in_channels / groups * kernel height * kernel width

    @property
    def moved_bytes(self) -> int:
        """Bytes the layer reads and writes when every operand is touched once: input, weights, bias, output."""
        return self.input_bytes + self.output_bytes + self.weight_bytes


def measure_convs(model: nn.Module, input_size: int, dtype: torch.dtype = torch.float32) -> list[ConvRecord]:
    """Run ``model`` on one ``(1, 3, input_size, input_size)`` image and record every conv and linear layer.

    Parameters
    ----------
    model : torch.nn.Module
        Left unchanged: a copy is cast to ``dtype`` and put in evaluation mode
        when the model is not already so.
    input_size : int
        Height = width of the input image, ``1 <= input_size <= MAX_INPUT_SIZE``.
    dtype : torch.dtype
        Floating dtype of the pass; the bytes follow its element size.

    Returns
    -------
    list of ConvRecord
        In execution order.
    """
    model = _prepared(model, dtype)
    x = _image(input_size, dtype, seed=0)
    records: list[ConvRecord] = []

    def hook(name: str):
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            x = inputs[0][0]
            y = output[0]
            if isinstance(module, nn.Linear):
                x, y = x.reshape(-1, 1, 1), y.reshape(-1, 1, 1)
                per_output, channels = module.in_features, module.out_features
            else:
                per_output = module.in_channels // module.groups * int(np.prod(module.kernel_size))
                channels = module.out_channels
            size = module.weight.element_size()
            records.append(
                ConvRecord(
                    name=name,
                    module=type(module).__name__,
                    input_shape=tuple(x.shape),
                    output_shape=tuple(y.shape),
                    input_bytes=x.numel() * x.element_size(),
                    output_bytes=y.numel() * y.element_size(),
                    weight_bytes=(module.weight.numel() + channels) * size,
                    macs=y.numel() * per_output,
                )
            )

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, HOOKED)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return records


def time_convs(model: nn.Module, input_size: int, repeats: int = 10, seed: int = 0, threads: int = 1) -> np.ndarray:
    """Wall-clock seconds of every conv and linear layer in ``repeats`` float32 forward passes on one image.

    A forward pre-hook starts a clock and a forward hook stops it, so each
    number is the layer alone (not its BatchNorm or activation). One untimed
    pass warms the caches and the allocator first. The passes run on
    ``threads`` intra-op threads (torch's setting is restored afterwards).

    Parameters
    ----------
    model : torch.nn.Module
    input_size : int
        Height = width of the input image, ``1 <= input_size <= MAX_INPUT_SIZE``.
    repeats : int
        Timed passes, ``1 <= repeats <= MAX_REPEATS``.
    seed : int
        Seed of the random input image.
    threads : int
        Intra-op threads of torch during the passes, ``1 <= threads <= MAX_THREADS``.

    Returns
    -------
    ndarray, shape (repeats, number of layers)

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    >>> time_convs(net, 8, repeats=2).shape
    (2, 2)
    """
    repeats = v.check_int(repeats, "repeats", min_value=1, max_value=MAX_REPEATS)
    v.check_int(threads, "threads", min_value=1, max_value=MAX_THREADS)
    model = _prepared(model, torch.float32)
    x = _image(input_size, torch.float32, seed)
    timed = [m for m in model.modules() if isinstance(m, HOOKED)]
    starts, seconds, handles = {}, [], []
    for i, module in enumerate(timed):
        handles.append(module.register_forward_pre_hook(lambda m, a, i=i: starts.__setitem__(i, time.perf_counter())))
        handles.append(
            module.register_forward_hook(lambda m, a, o, i=i: seconds.append(time.perf_counter() - starts[i]))
        )
    try:
        with torch_threads(threads), torch.no_grad():
            model(x)
            seconds.clear()
            for _ in range(repeats):
                model(x)
    finally:
        for handle in handles:
            handle.remove()
    return np.array(seconds).reshape(repeats, len(timed))


@dataclass(frozen=True)
class Comparison:
    """How an analytic layer table and hook records agree."""

    compared: int  # fields compared
    mismatches: int  # fields that differ, plus one per missing or extra layer
    mismatched: tuple[tuple[str, str], ...]  # (layer name, field) of each difference


def compare_records(rows: Sequence, records: Sequence[ConvRecord], fields: Sequence[str] = COMPARED_FIELDS):
    """Compare every field of ``rows`` (``nnbook.data_movement.layer_table``) with hook ``records``.

    Rows of kind ``"pool"`` have no module to hook (torchvision pools with a
    function); their input and output are checked against the output of the
    record before them and the input of the record after them.

    Examples
    --------
    >>> from nnbook import data_movement, mobilenet
    >>> records = measure_convs(mobilenet.mobilenet_v2(), 32)
    >>> result = compare_records(data_movement.layer_table(32), records)
    >>> result.compared, result.mismatches
    (322, 0)
    """
    if not isinstance(rows, Sequence) or not isinstance(records, Sequence):
        raise TypeError("rows and records must be sequences (a layer table and measure_convs records)")
    for name in fields:
        v.check_choice(name, "fields", COMPARED_FIELDS)
    compared, mismatched, k = 0, [], 0  # k: next record to pair
    for row in rows:
        if row.kind == "pool":
            before = records[k - 1] if k > 0 else None
            after = records[k] if k < len(records) else None
            pairs = [("input_shape", before and before.output_shape), ("output_shape", after and after.input_shape)]
            pairs += [("input_bytes", before and before.output_bytes), ("output_bytes", after and after.input_bytes)]
        elif k < len(records):
            pairs, k = [(f, getattr(records[k], f)) for f in fields], k + 1
        else:
            mismatched.append((row.name, "missing record"))
            continue
        compared += len(pairs)
        mismatched += [(row.name, f) for f, value in pairs if getattr(row, f) != value]
    mismatched += [(r.name, "extra record") for r in records[k:]]
    return Comparison(compared, len(mismatched), tuple(mismatched))


@dataclass(frozen=True)
class GroupCost:
    """Arithmetic and time of a group of timed layers."""

    mac_share: float  # of all multiply-adds
    time_share: float  # of all layer time
    rate: float  # multiply-adds per second of the group as a whole


def group_costs(kinds: Sequence[str], macs: np.ndarray, seconds: np.ndarray, groups: Mapping[str, Sequence[str]]):
    """Share of work and of time, and achieved rate, of each group of layer kinds.

    Examples
    --------
    >>> costs = group_costs(["a", "b", "a"], np.array([1, 2, 1]), np.array([1.0, 1.0, 2.0]), {"A": ["a"]})
    >>> costs["A"].mac_share, costs["A"].time_share, round(costs["A"].rate, 3)
    (0.5, 0.75, 0.667)
    """
    m = v.check_array(macs, "macs", ndim=1)
    s = v.check_array(seconds, "seconds", ndim=1)
    labels = np.asarray(kinds, dtype=str)
    v.check_same_length(kinds=labels, macs=m, seconds=s)
    if np.any(m < 0) or np.any(s <= 0):
        raise ValueError("macs must be >= 0 and seconds > 0")
    costs = {}
    for name, members in groups.items():
        mask = np.isin(labels, list(members))
        if not mask.any():
            raise ValueError(f"groups[{name!r}] matches no layer: {list(members)}")
        costs[name] = GroupCost(
            float(m[mask].sum() / m.sum()), float(s[mask].sum() / s.sum()), float(m[mask].sum() / s[mask].sum())
        )
    return costs


def _prepared(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    v.check_module(model, "model")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    if model.training or any(p.dtype != dtype for p in model.parameters()):
        model = copy.deepcopy(model).to(dtype).eval()  # leave the caller's model (dtype, mode) as it is
    return model


def _image(input_size: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    size = v.check_int(input_size, "input_size", min_value=1, max_value=MAX_INPUT_SIZE)
    generator = torch.Generator().manual_seed(v.check_seed(seed))
    return torch.randn(1, 3, size, size, generator=generator).to(dtype)

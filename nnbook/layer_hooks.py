"""Measure the convolutions of a real PyTorch module with forward hooks: shapes, bytes, MACs and time.

A forward hook sees the tensors a layer actually receives and returns, so it
checks an analytic model of the layers (e.g. ``nnbook.data_movement.layer_table``)
against what runs, instead of trusting the same reasoning twice.

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
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class ConvRecord:
    """What one ``nn.Conv2d`` did in a forward pass on one image; sizes in bytes."""

    name: str  # module path inside the model, e.g. "features.2.conv.3"
    input_shape: tuple[int, ...]  # (C, H, W), batch dimension dropped
    output_shape: tuple[int, ...]
    input_bytes: int  # numel * element_size of the tensor the layer received
    output_bytes: int
    weight_bytes: int  # (weights + one bias per output channel) * element_size: BatchNorm folded
    macs: int  # output elements * in_channels / groups * kernel height * kernel width


def measure_convs(model: nn.Module, input_size: int, dtype: torch.dtype = torch.float32) -> list[ConvRecord]:
    """Run ``model`` on one ``(1, 3, input_size, input_size)`` image and record every ``nn.Conv2d``.

    Parameters
    ----------
    model : torch.nn.Module
        Left unchanged: a copy is cast to ``dtype`` and put in evaluation mode
        when the model is not already so.
    input_size : int
        Height = width of the input image, ``>= 1``.
    dtype : torch.dtype
        Floating dtype of the pass; the bytes follow its element size.

    Returns
    -------
    list of ConvRecord
        In execution order.
    """
    model = _prepared(model, dtype)
    x = _check_image(input_size, dtype, torch.Generator().manual_seed(0))
    records: list[ConvRecord] = []

    def hook(name: str):
        def record(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            x, size = inputs[0], output.element_size()
            per_output = module.in_channels // module.groups * int(np.prod(module.kernel_size))
            records.append(
                ConvRecord(
                    name=name,
                    input_shape=tuple(x.shape[1:]),
                    output_shape=tuple(output.shape[1:]),
                    input_bytes=x[0].numel() * x.element_size(),
                    output_bytes=output[0].numel() * size,
                    weight_bytes=(module.weight.numel() + module.out_channels) * module.weight.element_size(),
                    macs=output[0].numel() * per_output,
                )
            )

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return records


def time_convs(model: nn.Module, input_size: int, repeats: int = 10, seed: int = 0, threads: int = 1) -> np.ndarray:
    """Wall-clock seconds of every ``nn.Conv2d`` in ``repeats`` float32 forward passes on one image.

    A forward pre-hook starts a clock and a forward hook stops it, so each
    number is the convolution alone (not its BatchNorm or activation). One
    untimed pass warms the caches and the allocator first. The passes run on
    ``threads`` intra-op threads (torch's setting is restored afterwards): on a
    busy machine, threads that wait for each other make timings erratic.

    Parameters
    ----------
    model : torch.nn.Module
    input_size : int
        Height = width of the input image, ``>= 1``.
    repeats : int
        Timed passes, ``>= 1``.
    seed : int
        Seed of the random input image.
    threads : int
        Intra-op threads of torch during the passes, ``>= 1``.

    Returns
    -------
    ndarray, shape (repeats, number of convolutions)

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 4, 3, padding=1))
    >>> time_convs(net, 8, repeats=2).shape
    (2, 2)
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    model = _prepared(model, torch.float32)
    x = _check_image(input_size, torch.float32, torch.Generator().manual_seed(seed))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    starts, seconds = {}, []
    handles = []
    for i, conv in enumerate(convs):
        handles.append(conv.register_forward_pre_hook(lambda m, a, i=i: starts.__setitem__(i, time.perf_counter())))
        handles.append(conv.register_forward_hook(lambda m, a, o, i=i: seconds.append(time.perf_counter() - starts[i])))
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            model(x)
            seconds.clear()
            for _ in range(repeats):
                model(x)
    finally:
        torch.set_num_threads(previous_threads)
        for handle in handles:
            handle.remove()
    return np.array(seconds).reshape(repeats, len(convs))


def _prepared(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    params = list(model.parameters())
    if model.training or any(p.dtype != dtype for p in params):
        model = copy.deepcopy(model).to(dtype).eval()  # leave the caller's model (dtype, mode) as it is
    return model


def _check_image(input_size: int, dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
        raise ValueError(f"input_size must be a positive int, got {input_size!r}")
    return torch.randn(1, 3, input_size, input_size, generator=generator).to(dtype)

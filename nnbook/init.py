"""Weight initialisation and what it does to signals and gradients, layer by layer.

A layer ``z = W h`` with i.i.d. zero-mean weights of variance ``s^2`` gives
``E z_i^2 = fan_in * s^2 * E h_j^2``; a ReLU keeps half of that. Keeping the
second moment of the signal equal from layer to layer asks for
``s^2 = 2 / fan_in`` (He et al.), keeping it in the backward pass too, on
average over both directions, for ``s^2 = 2 / (fan_in + fan_out)`` (Glorot and
Bengio's compromise, here with the ReLU's factor 2). This module re-draws a
network's weights by such a scheme and measures, on real inputs, the
quantities the argument is about: the root mean square of each hidden layer's
activations, its dead units, and the norm of the loss gradient of each weight
matrix.

Examples
--------
>>> from nnbook.sines import mlp
>>> net = initialise(mlp(4), "uniform", scale=0.03, seed=0)
>>> bool(net[2].weight.abs().max() <= 0.03), net[2].bias.count_nonzero().item()
(True, 0)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v

SCHEMES = ("uniform", "he", "xavier")
MAX_POINTS = 10**6  # bound on the inputs of one measurement pass
_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive = int(np.prod(weight.shape[2:])) if weight.dim() > 2 else 1
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def weight_std(scheme: str, fan_in: int, fan_out: int, scale: float | None = None) -> float:
    """The standard deviation of the weights a scheme draws for a layer with these fans.

    ``"uniform"``: ``scale / sqrt(3)``; ``"he"``: ``sqrt(2 / fan_in)``;
    ``"xavier"``: ``sqrt(2 / (fan_in + fan_out))``.

    Examples
    --------
    >>> weight_std("he", 20, 20), weight_std("xavier", 1, 20), weight_std("uniform", 20, 20, scale=3.0)
    (0.31622776601683794, 0.3086066999241838, 1.7320508075688774)
    """
    scheme = v.check_choice(scheme, "scheme", SCHEMES)
    fan_in = v.check_int(fan_in, "fan_in", min_value=1)
    fan_out = v.check_int(fan_out, "fan_out", min_value=1)
    if scheme == "uniform":
        if scale is None:
            raise ValueError("scale is required for the 'uniform' scheme, got None")
        return v.check_real(scale, "scale", min_value=0.0, min_inclusive=False) / math.sqrt(3.0)
    return math.sqrt(2.0 / (fan_in if scheme == "he" else fan_in + fan_out))


def signal_gain(scheme: str, fan_in: int, fan_out: int, scale: float | None = None) -> float:
    """Predicted factor on the root mean square of the signal through one layer ``relu(W h)`` drawn by ``scheme``.

    ``E (W h)_i^2 = fan_in s^2 E h_j^2`` for i.i.d. zero-mean weights of
    standard deviation ``s`` (:func:`weight_std`), and a ReLU keeps half of a
    symmetric pre-activation's second moment: the factor is
    ``sqrt(fan_in s^2 / 2)``, 1 exactly for ``"he"``.

    Examples
    --------
    >>> signal_gain("he", 20, 20), round(signal_gain("xavier", 20, 20) ** 2, 12)
    (1.0, 0.5)
    >>> round(signal_gain("uniform", 20, 20, scale=3.0), 4)  # sqrt(20 * 3 / 2)
    5.4772
    """
    return math.sqrt(v.check_int(fan_in, "fan_in", min_value=1) / 2) * weight_std(scheme, fan_in, fan_out, scale)


def initialise(model: nn.Module, scheme: str, *, scale: float | None = None, seed: int | None = None) -> nn.Module:
    """Re-draw every ``nn.Linear`` / ``nn.Conv*`` weight by ``scheme`` and set every bias to zero, in place.

    Parameters
    ----------
    model : torch.nn.Module
    scheme : {"uniform", "he", "xavier"}
        ``"uniform"``: ``U(-scale, scale)``; ``"he"``: ``N(0, 2 / fan_in)``;
        ``"xavier"``: ``N(0, 2 / (fan_in + fan_out))``. For convolutions the
        fans include the kernel size.
    scale : float, optional
        Half-width of the uniform distribution, ``> 0``; required for
        ``"uniform"``, must be None otherwise.
    seed : int, optional
        Seed of the draws (``None``: fresh entropy). Layers are drawn in
        ``model.modules()`` order from one generator.

    Returns
    -------
    torch.nn.Module
        ``model`` itself.

    Examples
    --------
    >>> net = initialise(nn.Sequential(nn.Linear(500, 400)), "he", seed=1)
    >>> round(net[0].weight.detach().var().item() * 500, 1)
    2.0
    >>> initialise(net, "kaiming")
    Traceback (most recent call last):
        ...
    ValueError: scheme must be one of 'uniform', 'he', 'xavier', got 'kaiming'
    """
    v.check_module(model)
    scheme = v.check_choice(scheme, "scheme", SCHEMES)
    if scheme == "uniform":
        if scale is None:
            raise ValueError("scale is required for the 'uniform' scheme, got None")
        scale = v.check_real(scale, "scale", min_value=0.0, min_inclusive=False)
    elif scale is not None:
        raise ValueError(f"scale is only used by the 'uniform' scheme, got scale={scale!r} with {scheme!r}")
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(v.check_seed(seed))
    with torch.no_grad():
        for layer in model.modules():
            if not isinstance(layer, _LAYERS):
                continue
            w = layer.weight
            draw = torch.empty(w.shape, dtype=torch.float64)
            if scheme == "uniform":
                draw.uniform_(-scale, scale, generator=generator)
            else:
                draw.normal_(0.0, weight_std(scheme, *_fans(w)), generator=generator)
            w.copy_(draw)
            if not bool(torch.isfinite(w).all()):
                raise ValueError(f"scale={scale!r} draws weights that overflow {w.dtype}")
            if layer.bias is not None:
                layer.bias.zero_()
    return model


@dataclass(frozen=True)
class ActivationStats:
    """Each hidden ReLU's output on a batch of inputs, in forward order."""

    rms: np.ndarray  # (L,) root mean square of the ReLU outputs over inputs and units
    dead: np.ndarray  # (L,) units that are zero on every input
    width: np.ndarray  # (L,) units per layer


def activation_stats(model: nn.Module, x: np.ndarray) -> ActivationStats:
    """Measure every ``nn.ReLU`` output of ``model`` on inputs ``x`` (evaluation mode, no gradients).

    Parameters
    ----------
    model : torch.nn.Module
        Left unchanged (a copy runs in evaluation mode).
    x : ndarray, shape (n, d)

    Returns
    -------
    ActivationStats

    Examples
    --------
    >>> from nnbook.sines import mlp
    >>> stats = activation_stats(initialise(mlp(3), "uniform", scale=0.03, seed=0), np.ones((5, 1)))
    >>> stats.width.tolist(), bool(np.all(np.diff(np.log10(stats.rms)) < -1))
    ([20, 20, 20], True)
    """
    model = copy.deepcopy(v.check_module(model)).eval()
    x = torch.as_tensor(v.check_array(x, "x", ndim=2, max_elements=MAX_POINTS), dtype=_dtype(model)).to(_device(model))
    rms, dead, width = [], [], []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        out = output.detach().double().reshape(len(output), -1)
        rms.append(float(out.pow(2).mean().sqrt()))
        dead.append(int((out == 0).all(dim=0).sum()))
        width.append(out.shape[1])

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return ActivationStats(np.array(rms), np.array(dead, dtype=np.int64), np.array(width, dtype=np.int64))


@dataclass(frozen=True)
class GradientNorms:
    """The gradient of the mean squared error with respect to each weight matrix, in forward order."""

    names: tuple[str, ...]  # parameter names, e.g. "0.weight"
    norms: np.ndarray  # (L,) L2 (Frobenius) norms, computed in float64 from the model's gradients
    norms_float32: np.ndarray  # (L,) the same norms computed in float32, as torch.linalg.vector_norm does
    zero_entries: np.ndarray  # (L,) entries of each gradient that are exactly zero
    sizes: np.ndarray  # (L,) entries per weight matrix
    loss: float  # the mean squared error the gradient is of


def weight_gradient_norms(model: nn.Module, x: np.ndarray, y: np.ndarray) -> GradientNorms:
    """Norms of ``d MSE / d W`` for every ``nn.Linear`` / ``nn.Conv*`` weight, on the whole of ``(x, y)``.

    The loss is ``mean((f(x) - y)^2)``. The pass runs on a copy of ``model``
    in training mode, so batch normalisation uses the statistics of ``x``, as
    a training step does; the model's own parameters, gradients and running
    statistics are untouched. The gradients are in the model's dtype; their
    norms are taken in float64, because squaring entries below about ``1e-23``
    underflows in float32 (``norms_float32`` shows what a float32 norm says).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, d)`` to ``(n, 1)`` or ``(n,)``.
    x : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    GradientNorms

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(1, 1, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(2.0)
    >>> g = weight_gradient_norms(net, np.array([[1.0], [3.0]]), np.array([0.0, 0.0]))
    >>> g.norms.tolist(), g.loss  # d/dw mean((w x)^2) = 2 w mean(x^2) = 20
    ([20.0], 20.0)
    """
    model = copy.deepcopy(v.check_module(model)).train()
    x = v.check_array(x, "x", ndim=2, max_elements=MAX_POINTS)
    y = v.check_array(y, "y", ndim=1)
    v.check_same_length(x=x, y=y)
    dtype = _dtype(model)
    weights = [(n + ".weight", m.weight) for n, m in model.named_modules() if isinstance(m, _LAYERS)]
    if not weights:
        raise ValueError("model must contain at least one nn.Linear or nn.Conv layer")
    model.zero_grad(set_to_none=True)
    device = _device(model)
    out = model(torch.as_tensor(x, dtype=dtype).to(device)).reshape(-1)
    loss = (out - torch.as_tensor(y, dtype=dtype).to(device)).pow(2).mean()
    loss.backward()
    grads = [w.grad if w.grad is not None else torch.zeros_like(w) for _, w in weights]
    return GradientNorms(
        names=tuple(name for name, _ in weights),
        norms=np.array([float(g.double().norm()) for g in grads]),
        norms_float32=np.array([float(torch.linalg.vector_norm(g.float())) for g in grads]),
        zero_entries=np.array([int((g == 0).sum()) for g in grads], dtype=np.int64),
        sizes=np.array([g.numel() for g in grads], dtype=np.int64),
        loss=float(loss.detach()),
    )


def gradient_norm_hook(x: np.ndarray, y: np.ndarray) -> Callable[[nn.Module, int], Mapping[str, float]]:
    """A :func:`nnbook.training.train` hook recording :func:`weight_gradient_norms` after every epoch.

    The hook returns ``{"grad_norm/<i>": norm}`` for weight matrix ``i`` (forward
    order, zero-padded to three digits) and ``"train_mode_loss"``, the loss the
    gradient is of (batch normalisation with the batch statistics of ``x``,
    unlike ``History.train_loss``, which evaluates with running statistics).
    ``History.measurements`` then holds arrays of length ``epochs + 1``;
    :func:`stack_gradient_norms` collects the layers into a matrix.

    Examples
    --------
    >>> hook = gradient_norm_hook(np.array([[1.0], [3.0]]), np.array([0.0, 0.0]))
    >>> sorted(hook(nn.Sequential(nn.Linear(1, 2), nn.Linear(2, 1)), 0))
    ['grad_norm/000', 'grad_norm/001', 'train_mode_loss']
    """
    x = v.check_array(x, "x", ndim=2, max_elements=MAX_POINTS)
    y = v.check_array(y, "y", ndim=1)
    v.check_same_length(x=x, y=y)

    def hook(model: nn.Module, epoch: int) -> dict[str, float]:
        grads = weight_gradient_norms(model, x, y)
        return {**{f"grad_norm/{i:03d}": float(n) for i, n in enumerate(grads.norms)}, "train_mode_loss": grads.loss}

    return hook


def stack_gradient_norms(measurements: Mapping[str, np.ndarray]) -> np.ndarray:
    """The ``grad_norm/<i>`` series of a history's measurements as an ``(epochs + 1, L)`` array.

    Examples
    --------
    >>> stack_gradient_norms({"grad_norm/001": np.array([3.0, 4.0]), "grad_norm/000": np.array([1.0, 2.0])})
    array([[1., 3.],
           [2., 4.]])
    """
    keys = sorted(k for k in measurements if k.startswith("grad_norm/"))
    if not keys:
        raise ValueError("measurements has no 'grad_norm/<i>' series: train with gradient_norm_hook")
    return np.stack([np.asarray(measurements[k], dtype=float) for k in keys], axis=1)


def geometric_rate(norms: np.ndarray) -> float:
    """Per-layer factor ``r`` of a least-squares fit ``log norms[l] = a + l log r`` (positive norms only).

    ``r < 1``: the norms shrink along the sequence; reverse it to read the
    rate towards the input.

    Examples
    --------
    >>> round(geometric_rate(np.array([8.0, 4.0, 2.0, 1.0])), 12)
    0.5
    """
    norms = v.check_array(norms, "norms", ndim=1, min_rows=2)
    if np.any(norms <= 0):
        raise ValueError("norms must be positive to fit a geometric rate, got zeros or negatives")
    slope = np.polyfit(np.arange(norms.size, dtype=float), np.log(norms), 1)[0]
    return float(np.exp(slope))


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _dtype(model: nn.Module) -> torch.dtype:
    param = next(model.parameters(), None)
    return param.dtype if param is not None else torch.float32

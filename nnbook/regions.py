"""Linear pieces and activation regions of ReLU networks estimated by sampling on a grid.

For a scalar input, :func:`count_pieces_on_grid` counts the kinks a uniform
grid sees: a lower estimate of the exact count of
:func:`nnbook.expressivity.count_linear_pieces`. For 2-D inputs, each
activation pattern (which units are on) defines a convex region on which the
network is affine: :func:`activation_patterns` computes the patterns at given
points, :func:`pattern_labels` numbers the distinct ones, and
:func:`regions_on_grid` counts the regions a square grid meets, a lower
estimate to compare with the upper bounds in :mod:`nnbook.expressivity`.

Examples
--------
>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.eye(2))
...     _ = net[0].bias.zero_()
>>> regions_on_grid(net, -1.0, 1.0, resolution=10).num_regions  # the four quadrants
4
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook.expressivity import _check_interval, _layers


def count_pieces_on_grid(
    model: nn.Sequential, lo: float, hi: float, num_points: int = 10_001, rtol: float = 1e-6
) -> int:
    """Lower estimate of the number of linear pieces from samples on a uniform grid.

    The network is evaluated (float64) at ``num_points`` equally spaced points;
    a kink shows as a change of the finite-difference slope between adjacent
    grid cells, and each run of consecutive changes counts as one kink. Kinks
    closer than about two grid cells are therefore counted once, and pieces
    shorter than that are missed: the result never exceeds the exact count.

    Parameters
    ----------
    model : torch.nn.Sequential
        A network with 1-D input and output.
    lo, hi : float
        The interval, ``lo < hi``.
    num_points : int
        Grid size (``>= 3``).
    rtol : float
        Slopes differing by more than ``rtol * max|slope|`` count as different.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(1.0)
    ...     _ = net[0].bias.fill_(0.1)
    >>> count_pieces_on_grid(net, -1.0, 1.0, num_points=101)
    2
    """
    linears = [layer for layer in _layers(model) if isinstance(layer, nn.Linear)]
    if linears and linears[0].in_features != 1:
        raise ValueError(f"model must take a 1-D input, its first Linear has in_features={linears[0].in_features}")
    lo, hi = _check_interval(lo, hi)
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 3:
        raise ValueError(f"num_points must be an int >= 3, got {num_points!r}")
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not rtol >= 0:
        raise ValueError(f"rtol must be a number >= 0, got {rtol!r}")
    x = torch.linspace(lo, hi, num_points, dtype=torch.float64)[:, None]
    with torch.no_grad():
        y = _forward_float64(model, x).numpy()
    if y.ndim != 2 or y.shape[1] != 1:
        raise ValueError(f"model must have a 1-D output, got output shape {y.shape[1:]}")
    slopes = np.diff(y[:, 0]) / ((hi - lo) / (num_points - 1))
    change = np.abs(np.diff(slopes)) > rtol * np.abs(slopes).max()
    run_starts = change & ~np.concatenate([[False], change[:-1]])
    return 1 + int(run_starts.sum())


def _forward_float64(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` in float64 on the CPU without touching the model's parameters."""
    for layer in _layers(model):
        x = _apply_float64(layer, x)
    return x


def _apply_float64(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.ReLU):
        return torch.relu(x)
    weight = layer.weight.detach().to("cpu", torch.float64)
    bias = None if layer.bias is None else layer.bias.detach().to("cpu", torch.float64)
    return nn.functional.linear(x, weight, bias)


def activation_patterns(model: nn.Sequential, X: np.ndarray) -> np.ndarray:
    """Which ReLU units are active (pre-activation > 0) at each input point.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear/ReLU layers.
    X : ndarray, shape (n, n_inputs)

    Returns
    -------
    ndarray of bool, shape (n, total number of ReLU units)

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> activation_patterns(net, np.zeros((5, 2))).shape
    (5, 3)
    """
    layers = _layers(model)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, n_inputs), got {X.shape}")
    first = next((layer for layer in layers if isinstance(layer, nn.Linear)), None)
    if first is not None and first.in_features != X.shape[1]:
        raise ValueError(f"X must have {first.in_features} columns for this model, got {X.shape[1]}")
    h, patterns = torch.from_numpy(X), []
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, nn.ReLU):
                patterns.append((h > 0).numpy())
            h = _apply_float64(layer, h)
    return np.concatenate(patterns, axis=1) if patterns else np.zeros((X.shape[0], 0), dtype=bool)


@dataclass(frozen=True, eq=False)
class RegionGrid:
    """Activation regions seen on a square grid.

    ``num_regions`` counts the distinct activation patterns on the grid: a
    lower estimate of the number of activation regions that meet the square.
    """

    xs: np.ndarray  # (resolution,) grid coordinates along each axis
    labels: np.ndarray  # (resolution, resolution) region id of point (xs[j], xs[i]) at [i, j]
    num_regions: int  # distinct patterns seen


def regions_on_grid(model: nn.Sequential, lo: float = -1.5, hi: float = 1.5, resolution: int = 400) -> RegionGrid:
    """Count the activation regions of a 2-D-input network on the square ``[lo, hi]^2``.

    Each activation region of a ReLU network (fixed on/off pattern of all
    units) is a convex polygon, so distinct patterns at the grid points are
    distinct regions; regions narrower than the grid spacing are missed, so the
    count is a lower estimate.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear/ReLU layers with 2-D input.
    lo, hi : float
        The square, ``lo < hi``.
    resolution : int
        Points per axis (``>= 2``).

    Returns
    -------
    RegionGrid

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
    ...     _ = net[0].bias.zero_()
    >>> regions_on_grid(net, -1.0, 1.0, resolution=11).num_regions
    2
    """
    lo, hi = _check_interval(lo, hi)
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    xs = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(xs, xs)
    labels = pattern_labels(activation_patterns(model, np.column_stack([gx.ravel(), gy.ravel()])))
    return RegionGrid(xs=xs, labels=labels.reshape(resolution, resolution), num_regions=int(labels.max()) + 1)


def pattern_labels(patterns: np.ndarray) -> np.ndarray:
    """Number the distinct rows of a boolean matrix: equal rows get equal labels ``0, 1, ...``.

    The rows are packed into 64-bit words and sorted lexicographically, which
    is much faster than ``np.unique(..., axis=0)``.

    Parameters
    ----------
    patterns : ndarray of bool, shape (n, units)

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> pattern_labels(np.array([[True, False], [False, False], [True, False]])).tolist()
    [1, 0, 1]
    """
    patterns = np.asarray(patterns)
    if patterns.ndim != 2 or patterns.dtype != bool or patterns.shape[0] == 0:
        raise ValueError(f"patterns must be a non-empty 2-D bool array, got {patterns.dtype} {patterns.shape}")
    packed = np.packbits(patterns, axis=1)  # (n, ceil(units / 8)) uint8
    n_bytes = max(8, 8 * -(-packed.shape[1] // 8))  # whole 64-bit words, at least one
    packed = np.pad(packed, ((0, 0), (0, n_bytes - packed.shape[1])))
    words = np.ascontiguousarray(packed).view(">u8")  # big-endian: word order follows bit order
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    new = np.concatenate([[True], (ordered[1:] != ordered[:-1]).any(axis=1)])
    labels = np.empty(len(order), dtype=np.int64)
    labels[order] = np.cumsum(new) - 1
    return labels

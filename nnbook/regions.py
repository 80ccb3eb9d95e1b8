"""Linear pieces and activation regions of ReLU networks estimated by sampling on a grid.

For a scalar input, :func:`count_pieces_on_grid` counts the kinks a uniform
grid sees: a lower estimate of the exact count of
:func:`nnbook.expressivity.count_linear_pieces`. For 2-D inputs, each
activation pattern (which units are on) defines a convex region on which the
network is affine: :func:`activation_patterns` computes the patterns at given
points, :func:`pattern_labels` numbers the distinct ones, and
:func:`regions_on_grid` counts the regions a square grid meets, a lower
estimate to compare with the upper bounds in :mod:`nnbook.expressivity`.
:func:`boundary_density` asks where the regions are small: how often the
pattern changes between neighbouring grid points near given data points and
away from them.

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

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from nnbook import _validation as v
from nnbook.expressivity import _check_interval, _layers

MAX_GRID_POINTS = 10**7  # points of a 1-D grid
MAX_RESOLUTION = 4000  # points per axis of a 2-D grid
MAX_PATTERN_ELEMENTS = 2**28  # points x units of an activation-pattern matrix (bool, 256 MiB)


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
        A Linear/ReLU network with finite parameters and 1-D input and output.
    lo, hi : float
        The interval, ``lo < hi``.
    num_points : int
        Grid size, in ``[3, MAX_GRID_POINTS]``.
    rtol : float
        Slopes differing by more than ``rtol * max|slope|`` count as different (``>= 0``).

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
    v.check_module(model)
    linears = [layer for layer in _layers(model) if isinstance(layer, nn.Linear)]
    if linears and linears[0].in_features != 1:
        raise ValueError(f"model must take a 1-D input, its first Linear has in_features={linears[0].in_features}")
    lo, hi = _check_interval(lo, hi)
    num_points = v.check_int(num_points, "num_points", min_value=3, max_value=MAX_GRID_POINTS)
    rtol = v.check_real(rtol, "rtol", min_value=0)
    width = max([layer.out_features for layer in linears], default=1)
    v.check_work(num_points * width, "num_points", MAX_PATTERN_ELEMENTS, "(points x width) values")
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
        Linear/ReLU layers with finite parameters.
    X : ndarray, shape (n, n_inputs)
        ``n`` times the number of units at most ``MAX_PATTERN_ELEMENTS``.

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
    v.check_module(model)
    layers = _layers(model)
    X = v.check_array(X, "X", ndim=2)
    first = next((layer for layer in layers if isinstance(layer, nn.Linear)), None)
    if first is not None and first.in_features != X.shape[1]:
        raise ValueError(f"X must have {first.in_features} columns for this model, got {X.shape[1]}")
    units, fan = 0, X.shape[1]
    for layer in layers:
        if isinstance(layer, nn.Linear):
            fan = layer.out_features
        else:
            units += fan
    v.check_work(X.shape[0] * units, "X", MAX_PATTERN_ELEMENTS, "(points x units) pattern entries")
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
        Linear/ReLU layers with 2-D input and finite parameters.
    lo, hi : float
        The square, ``lo < hi``.
    resolution : int
        Points per axis, in ``[2, MAX_RESOLUTION]``.

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
    resolution = v.check_int(resolution, "resolution", min_value=2, max_value=MAX_RESOLUTION)
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
    patterns : ndarray of bool, shape (n, units), n >= 1

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> pattern_labels(np.array([[True, False], [False, False], [True, False]])).tolist()
    [1, 0, 1]
    """
    if not isinstance(patterns, np.ndarray) or patterns.dtype != bool:
        raise TypeError(f"patterns must be a numpy array of bool, got {type(patterns).__name__}")
    if patterns.ndim != 2 or patterns.shape[0] == 0:
        raise ValueError(f"patterns must be a non-empty 2-D array, got shape {patterns.shape}")
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


def region_boundaries(labels: np.ndarray) -> np.ndarray:
    """Grid points whose region differs from that of the next point to the right or above.

    Parameters
    ----------
    labels : ndarray of int, shape (r, r)
        Region ids on a grid, as in :attr:`RegionGrid.labels`.

    Returns
    -------
    ndarray of bool, shape (r, r)
        True where ``labels[i, j] != labels[i, j + 1]`` or ``labels[i, j] != labels[i + 1, j]``.

    Examples
    --------
    >>> region_boundaries(np.array([[0, 0, 1], [0, 0, 1], [2, 2, 1]])).astype(int).tolist()
    [[0, 1, 0], [1, 1, 0], [0, 1, 0]]
    """
    labels = v.check_array(labels, "labels", ndim=2, dtype="integer")
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def near_data(xs: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """Which points of the square grid on ``xs`` lie within ``radius`` of one of ``points``.

    Parameters
    ----------
    xs : ndarray, shape (r,)
        Grid coordinates along each axis, as :attr:`RegionGrid.xs`; ``r`` at most ``MAX_RESOLUTION``.
    points : ndarray, shape (n, 2)
    radius : float
        ``> 0``, Euclidean distance.

    Returns
    -------
    ndarray of bool, shape (r, r)
        Entry ``[i, j]`` for the grid point ``(xs[j], xs[i])``.

    Examples
    --------
    >>> near_data(np.array([0.0, 1.0]), np.array([[0.0, 0.0]]), 0.5).astype(int).tolist()
    [[1, 0], [0, 0]]
    """
    xs = v.check_array(xs, "xs", ndim=1, max_elements=MAX_RESOLUTION)
    points = v.check_array(points, "points", shape=(None, 2))
    radius = v.check_real(radius, "radius", min_value=0, min_inclusive=False)
    gx, gy = np.meshgrid(xs, xs)
    distance, _ = cKDTree(points).query(np.column_stack([gx.ravel(), gy.ravel()]))
    return (distance <= radius).reshape(gx.shape)


@dataclass(frozen=True)
class BoundaryDensity:
    """How often the activation pattern changes between neighbouring grid points, near data and away from it."""

    near: float  # fraction of grid points within `radius` of a data point that lie on a region boundary
    far: float  # the same fraction among the other grid points
    near_fraction: float  # fraction of all grid points that are near the data

    @property
    def ratio(self) -> float:
        """``near / far``: above 1 when the regions are smaller near the data (inf if ``far`` is 0)."""
        return self.near / self.far if self.far > 0 else math.inf


def boundary_density(grid: RegionGrid, points: np.ndarray, radius: float) -> BoundaryDensity:
    """Density of region boundaries on the grid near the data points (within ``radius``) and farther away.

    Parameters
    ----------
    grid : RegionGrid
    points : ndarray, shape (n, 2)
        Data points in the grid's coordinates.
    radius : float
        Distance (Euclidean) below which a grid point counts as near the data (``> 0``).

    Returns
    -------
    BoundaryDensity

    Raises
    ------
    ValueError
        If no grid point, or every grid point, is near the data.

    Examples
    --------
    >>> labels = np.repeat([[0, 0, 1, 1]], 4, axis=0)  # one vertical boundary at x = 1/3
    >>> grid = RegionGrid(xs=np.linspace(-1, 1, 4), labels=labels, num_regions=2)
    >>> d = boundary_density(grid, np.array([[0.0, -1.0], [0.0, 1.0]]), radius=0.5)
    >>> d.near, round(d.far, 4), d.near_fraction
    (0.5, 0.1667, 0.25)
    """
    if not isinstance(grid, RegionGrid):
        raise TypeError(f"grid must be a RegionGrid, got {type(grid).__name__}")
    points = v.check_array(points, "points", shape=(None, 2))
    radius = v.check_real(radius, "radius", min_value=0, min_inclusive=False)
    near = near_data(grid.xs, points, radius)
    if near.all() or not near.any():
        raise ValueError(f"radius {radius} puts {'every' if near.all() else 'no'} grid point near the data")
    edge = region_boundaries(grid.labels)
    return BoundaryDensity(
        near=float(edge[near].mean()), far=float(edge[~near].mean()), near_fraction=float(near.mean())
    )

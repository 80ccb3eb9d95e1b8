"""Boxes: the constructive proof of universal approximation, and its cost in units.

Two step units make a box ``h H(x - a) - h H(x - a - delta)`` (``H`` the
Heaviside step); a sum of ``n`` boxes of width ``delta = 2B / n`` with heights
``f(centre)`` approximates a continuous ``f`` on ``[-B, B]`` to within
``L delta / 2`` for an ``L``-Lipschitz ``f``, at ``2n`` hidden units
(:func:`fit_boxes`). ReLU units give the same with ramps (:func:`box` with
``ramp > 0``), and a ReLU layer can also interpolate ``f`` linearly, which is
more accurate per unit (:func:`relu_interpolant`). In ``d`` dimensions a grid
of boxes needs ``n ** d`` second-layer units (:func:`fit_boxes_2d`,
:func:`box_units`): the cost grows like ``(B / delta) ** d``.

Examples
--------
>>> approx = fit_boxes(np.sin, bound=3.0, n_boxes=60)
>>> approx.n_units, round(sup_error(approx, np.sin, 3.0), 3)
(120, 0.05)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


def step(x: np.ndarray) -> np.ndarray:
    """The Heaviside step unit ``H(x) = 1 if x >= 0 else 0`` (float)."""
    return (np.asarray(x) >= 0).astype(float)


def relu(x: np.ndarray) -> np.ndarray:
    """The rectified linear unit ``max(x, 0)``."""
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def box(x: np.ndarray, height: float, width: float, start: float = 0.0, ramp: float = 0.0) -> np.ndarray:
    """A box of ``height`` on ``[start, start + width)`` built from hidden units.

    With ``ramp = 0`` from two step units, ``h H(x - a) - h H(x - a - width)``.
    With ``ramp > 0`` from four ReLUs: each step is replaced by the ramp
    ``(relu(x - a) - relu(x - a - ramp)) / ramp``, which rises from 0 to 1 on
    ``[a, a + ramp]`` (a trapezoid; it tends to the box as ``ramp -> 0``).

    Parameters
    ----------
    x : ndarray, any shape
    height, width : float
        ``width > 0``.
    start : float
    ramp : float
        ``0 <= ramp``.

    Returns
    -------
    ndarray, same shape as ``x``

    Examples
    --------
    >>> box(np.array([-0.5, 0.0, 0.5, 1.0]), height=2.0, width=1.0).tolist()
    [0.0, 2.0, 2.0, 0.0]
    >>> np.round(box(np.array([0.0, 0.05, 0.5, 1.05]), 2.0, 1.0, ramp=0.1), 12).tolist()
    [0.0, 1.0, 2.0, 1.0]
    """
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}")
    if not ramp >= 0:
        raise ValueError(f"ramp must be >= 0, got {ramp!r}")
    x = np.asarray(x, dtype=float)
    if ramp == 0:
        return height * step(x - start) - height * step(x - start - width)
    up = relu(x - start) - relu(x - start - ramp)
    down = relu(x - start - width) - relu(x - start - width - ramp)
    return height / ramp * (up - down)


@dataclass(frozen=True, eq=False)
class BoxSum:
    """A sum of adjacent boxes: one hidden layer of step units.

    Box ``k`` covers ``[edges[k], edges[k + 1])`` (the last box includes its right end).
    """

    edges: np.ndarray  # (n + 1,) increasing
    heights: np.ndarray  # (n,) height of each box

    @property
    def n_units(self) -> int:
        """Hidden units of the construction: two step units per box."""
        return 2 * int(self.heights.shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (any shape); zero outside ``[edges[0], edges[-1]]``."""
        x = np.asarray(x, dtype=float)
        k = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, self.heights.shape[0] - 1)
        inside = (x >= self.edges[0]) & (x <= self.edges[-1])
        return np.where(inside, self.heights[k], 0.0)


def _check_fit_args(f: Callable, bound: float, n: int, arg: str) -> None:
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not 0 < bound < np.inf:
        raise ValueError(f"bound must be a positive finite number, got {bound!r}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"{arg} must be an int >= 1, got {n!r}")


def fit_boxes(f: Callable[[np.ndarray], np.ndarray], bound: float, n_boxes: int) -> BoxSum:
    """Approximate ``f`` on ``[-bound, bound]`` by ``n_boxes`` boxes of equal width.

    Box ``k`` has width ``delta = 2 bound / n_boxes`` and height ``f`` at its centre.

    Parameters
    ----------
    f : callable
        Vectorised, ``(m,) -> (m,)``.
    bound : float
        ``B > 0``.
    n_boxes : int
        ``>= 1``.

    Returns
    -------
    BoxSum

    Examples
    --------
    >>> fit_boxes(np.abs, 1.0, 4).heights.tolist()
    [0.75, 0.25, 0.25, 0.75]
    """
    _check_fit_args(f, bound, n_boxes, "n_boxes")
    edges = np.linspace(-bound, bound, int(n_boxes) + 1)
    heights = np.asarray(f(0.5 * (edges[:-1] + edges[1:])), dtype=float)
    return BoxSum(edges=edges, heights=heights)


@dataclass(frozen=True, eq=False)
class ReluInterpolant:
    """The piecewise linear interpolant of ``f`` at ``knots``, as one ReLU layer.

    ``g(x) = f(x_0) + sum_k c_k relu(x - x_k)`` over the ``n`` left knots, with
    ``c_0`` the first slope and ``c_k`` the change of slope at ``x_k``.
    """

    knots: np.ndarray  # (n + 1,) increasing
    values: np.ndarray  # (n + 1,) f at the knots

    @property
    def n_units(self) -> int:
        """Hidden ReLU units: one per linear piece."""
        return int(self.knots.shape[0]) - 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (inside ``[knots[0], knots[-1]]``)."""
        return np.interp(np.asarray(x, dtype=float), self.knots, self.values)

    def to_torch(self) -> nn.Sequential:
        """The same function as ``Linear(1, n), ReLU, Linear(n, 1)`` (float64)."""
        slopes = np.diff(self.values) / np.diff(self.knots)
        coef = np.concatenate([slopes[:1], np.diff(slopes)])
        net = nn.Sequential(nn.Linear(1, self.n_units), nn.ReLU(), nn.Linear(self.n_units, 1)).double()
        with torch.no_grad():
            net[0].weight.fill_(1.0)
            net[0].bias.copy_(torch.from_numpy(-self.knots[:-1]))
            net[2].weight.copy_(torch.from_numpy(coef)[None, :])
            net[2].bias.fill_(float(self.values[0]))
        return net


def relu_interpolant(f: Callable[[np.ndarray], np.ndarray], bound: float, n_units: int) -> ReluInterpolant:
    """Interpolate ``f`` linearly at ``n_units + 1`` equally spaced knots of ``[-bound, bound]``.

    Parameters
    ----------
    f : callable
        Vectorised, ``(m,) -> (m,)``.
    bound : float
    n_units : int
        Number of pieces, equal to the number of ReLU units (``>= 1``).

    Returns
    -------
    ReluInterpolant

    Examples
    --------
    >>> g = relu_interpolant(np.square, 1.0, 2)
    >>> g(np.array([-0.5, 0.0, 0.5])).tolist()
    [0.5, 0.0, 0.5]
    """
    _check_fit_args(f, bound, n_units, "n_units")
    knots = np.linspace(-bound, bound, int(n_units) + 1)
    return ReluInterpolant(knots=knots, values=np.asarray(f(knots), dtype=float))


@dataclass(frozen=True, eq=False)
class BoxSum2D:
    """A grid of ``n x n`` boxes on a square: a two-hidden-layer step network.

    The first layer has one step unit per grid line and axis (``2 (n + 1)``);
    box ``(i, j)`` is the second-layer unit
    ``H(1[x in cell i] + 1[y in cell j] - 3/2)``, with each indicator the
    difference of two first-layer steps; the output weights are the heights.
    """

    edges: np.ndarray  # (n + 1,) grid lines, the same on both axes
    heights: np.ndarray  # (n, n) heights[i, j] for x-cell i and y-cell j

    @property
    def n_units(self) -> int:
        """Hidden units: ``2 (n + 1)`` steps plus ``n ** 2`` boxes."""
        return box_units(int(self.heights.shape[0]), 2)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate at the points ``X`` of shape (m, 2); zero outside the closed square."""
        X = np.asarray(X, dtype=float)
        n = self.heights.shape[0]
        k = np.clip(np.searchsorted(self.edges, X, side="right") - 1, 0, n - 1)  # (m, 2) cell per axis
        inside = ((X >= self.edges[0]) & (X <= self.edges[-1])).all(axis=1)
        return np.where(inside, self.heights[k[:, 0], k[:, 1]], 0.0)


def fit_boxes_2d(f: Callable[[np.ndarray], np.ndarray], bound: float, n_per_axis: int) -> BoxSum2D:
    """Approximate ``f`` on ``[-bound, bound]^2`` by ``n_per_axis ** 2`` boxes (height ``f`` at the centre).

    Parameters
    ----------
    f : callable
        Vectorised, ``(m, 2) -> (m,)``.
    bound : float
    n_per_axis : int
        ``>= 1``.

    Returns
    -------
    BoxSum2D

    Examples
    --------
    >>> approx = fit_boxes_2d(lambda X: X[:, 0] + X[:, 1], 1.0, 2)
    >>> approx.heights.tolist(), approx.n_units
    ([[-1.0, 0.0], [0.0, 1.0]], 10)
    """
    _check_fit_args(f, bound, n_per_axis, "n_per_axis")
    edges = np.linspace(-bound, bound, int(n_per_axis) + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    cx, cy = np.meshgrid(centres, centres, indexing="ij")
    heights = np.asarray(f(np.column_stack([cx.ravel(), cy.ravel()])), dtype=float)
    return BoxSum2D(edges=edges, heights=heights.reshape(cx.shape))


def box_units(n_per_axis: int, dim: int) -> int:
    """Hidden units of the box grid in ``dim`` dimensions: ``dim (n + 1)`` steps plus ``n ** dim`` boxes.

    In one dimension the boxes need no second layer: ``2 n`` step units.

    Examples
    --------
    >>> box_units(10, 1), box_units(10, 2), box_units(10, 3)
    (20, 122, 1033)
    """
    for arg, v in (("n_per_axis", n_per_axis), ("dim", dim)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{arg} must be an int >= 1, got {v!r}")
    return 2 * int(n_per_axis) if dim == 1 else int(dim) * (int(n_per_axis) + 1) + int(n_per_axis) ** int(dim)


def sup_error(
    approx: Callable[[np.ndarray], np.ndarray],
    f: Callable[[np.ndarray], np.ndarray],
    bound: float,
    num_points: int = 20_001,
    dim: int = 1,
) -> float:
    """``max |approx - f|`` over a uniform grid of ``[-bound, bound]^dim`` (``num_points`` per axis).

    Parameters
    ----------
    approx, f : callable
        ``(m,) -> (m,)`` for ``dim = 1``, ``(m, 2) -> (m,)`` for ``dim = 2``.
    bound : float
    num_points : int
        ``>= 2``.
    dim : {1, 2}

    Returns
    -------
    float

    Examples
    --------
    >>> sup_error(np.zeros_like, np.sin, np.pi / 2)
    1.0
    """
    _check_fit_args(f, bound, num_points, "num_points")
    if dim not in (1, 2):
        raise ValueError(f"dim must be 1 or 2, got {dim!r}")
    xs = np.linspace(-bound, bound, num_points)
    if dim == 2:
        gx, gy = np.meshgrid(xs, xs, indexing="ij")
        xs = np.column_stack([gx.ravel(), gy.ravel()])
    return float(np.max(np.abs(approx(xs) - f(xs))))


def power_law_exponent(units: np.ndarray, errors: np.ndarray) -> float:
    """Slope ``p`` of the least-squares line ``log error = p log units + c``.

    Examples
    --------
    >>> round(power_law_exponent(np.array([10, 100, 1000]), np.array([1.0, 0.1, 0.01])), 6)
    -1.0
    """
    units, errors = np.asarray(units, dtype=float), np.asarray(errors, dtype=float)
    if units.shape != errors.shape or units.ndim != 1 or units.size < 2:
        raise ValueError(f"units and errors must be 1-D of equal length >= 2, got {units.shape}, {errors.shape}")
    if (units <= 0).any() or (errors <= 0).any():
        raise ValueError("units and errors must be positive")
    return float(np.polyfit(np.log(units), np.log(errors), 1)[0])

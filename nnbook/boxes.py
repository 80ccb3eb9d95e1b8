"""Boxes: the constructive proof of universal approximation, and its cost in units.

Two step units make a box ``h H(x - a) - h H(x - a - delta)`` (``H`` the
Heaviside step). A sum of ``n`` adjacent boxes of width ``delta = 2B / n``
with heights ``f(centre)`` approximates a continuous ``f`` on ``[-B, B]`` to
within ``L delta / 2`` for an ``L``-Lipschitz ``f`` (:func:`fit_boxes`).
Adjacent boxes share their edges, so the sum needs ``n + 1`` step units, not
``2 n`` (:meth:`BoxSum.step_network`). ReLU units give the same with ramps
(:func:`box` with ``ramp > 0``), and a ReLU layer can also interpolate ``f``
linearly, which is more accurate per unit (:func:`relu_interpolant`). In ``d``
dimensions a grid of boxes needs ``n ** d`` second-layer units
(:func:`fit_boxes_2d`, :func:`box_units`): the cost grows like
``(B / delta) ** d``.

Examples
--------
>>> approx = fit_boxes(np.sin, bound=3.0, n_boxes=60)
>>> approx.n_units, approx.n_units_separate, round(sup_error(approx, np.sin, 3.0), 3)
(61, 120, 0.05)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v

MAX_BOXES = 10**7  # boxes (1-D) or grid cells (2-D) a fit may have
MAX_GRID_POINTS = 10**7  # evaluation points of sup_error
MAX_RESULT_BITS = 10**6  # size of the integer box_units returns (n ** dim), in bits
MAX_BOUND = 1e6  # half-width B of the interval or square [-B, B]^d


def step(x: np.ndarray) -> np.ndarray:
    """The Heaviside step unit ``H(x) = 1 if x >= 0 else 0`` (float), for ``x`` of shape (m,)."""
    return (v.check_array(x, "x", ndim=1) >= 0).astype(float)


def relu(x: np.ndarray) -> np.ndarray:
    """The rectified linear unit ``max(x, 0)``, for ``x`` of shape (m,)."""
    return np.maximum(v.check_array(x, "x", ndim=1), 0.0)


def box(x: np.ndarray, height: float, width: float, start: float = 0.0, ramp: float = 0.0) -> np.ndarray:
    """A box of ``height`` on ``[start, start + width)`` built from hidden units.

    With ``ramp = 0`` from two step units, ``h H(x - a) - h H(x - a - width)``.
    With ``ramp > 0`` from four ReLUs: each step is replaced by the ramp
    ``(relu(x - a) - relu(x - a - ramp)) / ramp``, which rises from 0 to 1 on
    ``[a, a + ramp]`` (a trapezoid; it tends to the box as ``ramp -> 0``).

    Parameters
    ----------
    x : ndarray, shape (m,)
    height, width : float
        ``width > 0``.
    start : float
    ramp : float
        ``0 <= ramp``.

    Returns
    -------
    ndarray, shape (m,)

    Examples
    --------
    >>> box(np.array([-0.5, 0.0, 0.5, 1.0]), height=2.0, width=1.0).tolist()
    [0.0, 2.0, 2.0, 0.0]
    >>> np.round(box(np.array([0.0, 0.05, 0.5, 1.05]), 2.0, 1.0, ramp=0.1), 12).tolist()
    [0.0, 1.0, 2.0, 1.0]
    """
    x = v.check_array(x, "x", ndim=1)
    height = v.check_real(height, "height")
    width = v.check_real(width, "width", min_value=0, min_inclusive=False)
    start = v.check_real(start, "start")
    ramp = v.check_real(ramp, "ramp", min_value=0)
    if ramp == 0:
        return height * step(x - start) - height * step(x - start - width)
    up = relu(x - start) - relu(x - start - ramp)
    down = relu(x - start - width) - relu(x - start - width - ramp)
    return height / ramp * (up - down)


@dataclass(frozen=True, eq=False)
class StepNetwork:
    """One hidden layer of step units: ``x -> bias + sum_k weights[k] H(signs[k] (x - thresholds[k]))``."""

    thresholds: np.ndarray  # (u,) where each unit switches
    signs: np.ndarray  # (u,) +1 (on for x >= threshold) or -1 (on for x <= threshold)
    weights: np.ndarray  # (u,) output weights
    bias: float  # output bias

    @property
    def n_units(self) -> int:
        """Hidden step units ``u``."""
        return int(self.thresholds.shape[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` of shape (m,)."""
        x = v.check_array(x, "x", ndim=1, min_rows=0)
        return self.bias + (self.weights * (self.signs * (x[:, None] - self.thresholds) >= 0)).sum(axis=1)


@dataclass(frozen=True, eq=False)
class BoxSum:
    """A sum of adjacent boxes: one hidden layer of step units.

    Box ``k`` covers ``[edges[k], edges[k + 1])``; the last box includes its
    right end, and the sum is zero outside ``[edges[0], edges[-1]]``.
    """

    edges: np.ndarray  # (n + 1,) increasing
    heights: np.ndarray  # (n,) height of each box

    @property
    def n_units(self) -> int:
        """Hidden step units: ``n + 1``, one per edge, since adjacent boxes share their edges."""
        return int(self.heights.shape[0]) + 1

    @property
    def n_units_separate(self) -> int:
        """Hidden step units if every box is built on its own from two steps: ``2 n``."""
        return 2 * int(self.heights.shape[0])

    def step_network(self) -> StepNetwork:
        """The same function as ``n + 1`` step units.

        ``h_0 H(x - a_0) + sum_{k=1}^{n-1} (h_k - h_{k-1}) H(x - a_k) + h_{n-1} H(a_n - x) - h_{n-1}``:
        each inner edge carries the change of height, and the last unit (on
        for ``x <= a_n``) with the output bias closes the last box at its
        right end.
        """
        h = self.heights
        return StepNetwork(
            thresholds=self.edges.copy(),
            signs=np.concatenate([np.ones(len(h)), [-1.0]]),
            weights=np.concatenate([h[:1], np.diff(h), h[-1:]]),
            bias=float(-h[-1]),
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (any shape); zero outside ``[edges[0], edges[-1]]``."""
        x = v.check_array(x, "x", ndim=None, min_rows=0)
        k = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, self.heights.shape[0] - 1)
        inside = (x >= self.edges[0]) & (x <= self.edges[-1])
        return np.where(inside, self.heights[k], 0.0)


def _check_fit_args(f: Callable, bound: float, n: int, arg: str, power: int = 1) -> tuple[float, int]:
    v.check_callable(f, "f")
    bound = v.check_real(bound, "bound", min_value=0, max_value=MAX_BOUND, min_inclusive=False)
    n = v.check_int(n, arg, min_value=1)
    v.check_work(n**power, arg, MAX_BOXES, "boxes" if power == 1 else "grid cells")
    return bound, n


def _values(f: Callable, points: np.ndarray, n: int) -> np.ndarray:
    values = v.check_array(f(points), "f's values", ndim=1, min_rows=0)
    if values.shape != (n,):
        raise ValueError(f"f must return one value per point, shape ({n},), got {values.shape}")
    return values


def fit_boxes(f: Callable[[np.ndarray], np.ndarray], bound: float, n_boxes: int) -> BoxSum:
    """Approximate ``f`` on ``[-bound, bound]`` by ``n_boxes`` boxes of equal width.

    Box ``k`` has width ``delta = 2 bound / n_boxes`` and height ``f`` at its centre.

    Parameters
    ----------
    f : callable
        Vectorised, ``(m,) -> (m,)``, finite values.
    bound : float
        ``B`` in ``(0, MAX_BOUND]``.
    n_boxes : int
        In ``[1, MAX_BOXES]``.

    Returns
    -------
    BoxSum

    Examples
    --------
    >>> fit_boxes(np.abs, 1.0, 4).heights.tolist()
    [0.75, 0.25, 0.25, 0.75]
    """
    bound, n_boxes = _check_fit_args(f, bound, n_boxes, "n_boxes")
    edges = np.linspace(-bound, bound, n_boxes + 1)
    return BoxSum(edges=edges, heights=_values(f, 0.5 * (edges[:-1] + edges[1:]), n_boxes))


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
        return np.interp(v.check_array(x, "x", ndim=None, min_rows=0), self.knots, self.values)

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
        Vectorised, ``(m,) -> (m,)``, finite values.
    bound : float
    n_units : int
        Number of pieces, equal to the number of ReLU units, in ``[1, MAX_BOXES]``.

    Returns
    -------
    ReluInterpolant

    Examples
    --------
    >>> g = relu_interpolant(np.square, 1.0, 2)
    >>> g(np.array([-0.5, 0.0, 0.5])).tolist()
    [0.5, 0.0, 0.5]
    """
    bound, n_units = _check_fit_args(f, bound, n_units, "n_units")
    knots = np.linspace(-bound, bound, n_units + 1)
    return ReluInterpolant(knots=knots, values=_values(f, knots, n_units + 1))


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
        X = v.check_array(X, "X", shape=(None, 2), min_rows=0)
        n = self.heights.shape[0]
        k = np.clip(np.searchsorted(self.edges, X, side="right") - 1, 0, n - 1)  # (m, 2) cell per axis
        inside = ((X >= self.edges[0]) & (X <= self.edges[-1])).all(axis=1)
        return np.where(inside, self.heights[k[:, 0], k[:, 1]], 0.0)


def fit_boxes_2d(f: Callable[[np.ndarray], np.ndarray], bound: float, n_per_axis: int) -> BoxSum2D:
    """Approximate ``f`` on ``[-bound, bound]^2`` by ``n_per_axis ** 2`` boxes (height ``f`` at the centre).

    Parameters
    ----------
    f : callable
        Vectorised, ``(m, 2) -> (m,)``, finite values.
    bound : float
    n_per_axis : int
        ``>= 1``, with ``n_per_axis ** 2`` at most ``MAX_BOXES``.

    Returns
    -------
    BoxSum2D

    Examples
    --------
    >>> approx = fit_boxes_2d(lambda X: X[:, 0] + X[:, 1], 1.0, 2)
    >>> approx.heights.tolist(), approx.n_units
    ([[-1.0, 0.0], [0.0, 1.0]], 10)
    """
    bound, n = _check_fit_args(f, bound, n_per_axis, "n_per_axis", power=2)
    edges = np.linspace(-bound, bound, n + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    cx, cy = np.meshgrid(centres, centres, indexing="ij")
    heights = _values(f, np.column_stack([cx.ravel(), cy.ravel()]), n * n)
    return BoxSum2D(edges=edges, heights=heights.reshape(cx.shape))


def box_units(n_per_axis: int, dim: int) -> int:
    """Hidden units of the box grid in ``dim`` dimensions: ``dim (n + 1)`` steps plus ``n ** dim`` boxes.

    In one dimension the boxes need no second layer: ``n + 1`` step units
    (:meth:`BoxSum.step_network`). The result is an exact integer.

    Parameters
    ----------
    n_per_axis : int
        Cells per axis ``n >= 1``.
    dim : int
        ``d >= 1``, with ``d log2(n)`` (the size of ``n ** d`` in bits) at most ``MAX_RESULT_BITS``.

    Returns
    -------
    int

    Examples
    --------
    >>> box_units(10, 1), box_units(10, 2), box_units(10, 3)
    (11, 122, 1033)
    """
    n = v.check_int(n_per_axis, "n_per_axis", min_value=1)
    d = v.check_int(dim, "dim", min_value=1, max_value=MAX_RESULT_BITS)
    v.check_work(math.ceil(d * math.log2(n + 1)), "n_per_axis and dim", MAX_RESULT_BITS, "bits in the result")
    return n + 1 if d == 1 else d * (n + 1) + n**d


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
        ``(m,) -> (m,)`` for ``dim = 1``, ``(m, 2) -> (m,)`` for ``dim = 2``; finite values.
    bound : float
    num_points : int
        ``>= 2``, with ``num_points ** dim`` at most ``MAX_GRID_POINTS``.
    dim : {1, 2}

    Returns
    -------
    float

    Examples
    --------
    >>> sup_error(np.zeros_like, np.sin, np.pi / 2)
    1.0
    """
    v.check_callable(approx, "approx")
    v.check_callable(f, "f")
    bound = v.check_real(bound, "bound", min_value=0, max_value=MAX_BOUND, min_inclusive=False)
    dim = v.check_int(dim, "dim", min_value=1, max_value=2)
    num_points = v.check_int(num_points, "num_points", min_value=2)
    v.check_work(num_points**dim, "num_points", MAX_GRID_POINTS, "grid points")
    xs = np.linspace(-bound, bound, num_points)
    if dim == 2:
        gx, gy = np.meshgrid(xs, xs, indexing="ij")
        xs = np.column_stack([gx.ravel(), gy.ravel()])
    m = xs.shape[0]
    return float(np.max(np.abs(_values(approx, xs, m) - _values(f, xs, m))))


def power_law_exponent(units: np.ndarray, errors: np.ndarray) -> float:
    """Slope ``p`` of the least-squares line ``log error = p log units + c``.

    Parameters
    ----------
    units, errors : ndarray, shape (k,), k >= 2
        Positive; ``units`` not all equal.

    Returns
    -------
    float

    Examples
    --------
    >>> round(power_law_exponent(np.array([10, 100, 1000]), np.array([1.0, 0.1, 0.01])), 6)
    -1.0
    """
    units = v.check_array(units, "units", ndim=1, min_rows=2)
    errors = v.check_array(errors, "errors", shape=(units.size,))
    if (units <= 0).any() or (errors <= 0).any():
        raise ValueError("units and errors must be positive")
    if np.ptp(units) == 0:
        raise ValueError("units must not all be equal")
    return float(np.polyfit(np.log(units), np.log(errors), 1)[0])

"""Linear pieces of scalar-input ReLU networks, counted exactly.

A ReLU network is continuous and piecewise linear. For a scalar input the
pieces can be found exactly by following the breakpoints through the layers
(:func:`piecewise_linear`, :func:`count_linear_pieces`); a sampling grid only
gives a lower estimate (:func:`nnbook.regions.count_pieces_on_grid`). A
network with more inputs is cut along a line segment with
:func:`segment_network` (Hanin and Rolnick's measurement). The upper bounds of
Montúfar et al. (2014) and Serra et al. (2018) on the number of regions are in
:mod:`nnbook.region_bounds`; regions of 2-D-input networks are estimated in
:mod:`nnbook.regions`.

Examples
--------
>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
...     _ = net[0].bias.zero_()
...     _ = net[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
>>> count_linear_pieces(net, -1.0, 1.0)  # |x|
2
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v

# Re-exported: the region bounds moved to nnbook.region_bounds; code outside the project imports them from here.
from nnbook.region_bounds import (  # noqa: F401
    MAX_BINOMIAL_TERMS,
    MAX_BOUND_WORK,
    MAX_UNITS,
    max_regions,
    max_regions_one_layer,
)

RTOL = 1e-9  # default: adjacent pieces whose slopes differ by <= RTOL * (unit's largest |slope|) are one piece
MAX_PIECE_ELEMENTS = 2**22  # pieces x width held at once by the exact counter (32 MiB per float64 array)


@dataclass(frozen=True, eq=False)
class PiecewiseLinear:
    """A continuous piecewise linear function on ``[breakpoints[0], breakpoints[-1]]``.

    On piece ``k``, ``[breakpoints[k], breakpoints[k + 1]]``, the function is
    ``slopes[k] * x + intercepts[k]``.
    """

    breakpoints: np.ndarray  # (m + 1,) increasing
    slopes: np.ndarray  # (m,) slope on each piece
    intercepts: np.ndarray  # (m,) intercept on each piece

    @property
    def num_pieces(self) -> int:
        """Number of linear pieces ``m``."""
        return int(self.slopes.shape[0])

    @property
    def widths(self) -> np.ndarray:
        """Length of each piece, shape (m,)."""
        return np.diff(self.breakpoints)

    def count_wider_than(self, min_width: float) -> int:
        """Number of pieces wider than ``min_width`` (``>= 0``): slivers narrower than that do not count."""
        min_width = v.check_real(min_width, "min_width", min_value=0)
        return int((self.widths > min_width).sum())

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (any shape, inside the interval)."""
        x = v.check_array(x, "x", ndim=None, min_rows=0)
        k = np.clip(np.searchsorted(self.breakpoints, x, side="right") - 1, 0, self.num_pieces - 1)
        return self.slopes[k] * x + self.intercepts[k]


def _layers(model: nn.Module) -> list[nn.Module]:
    """The Linear/ReLU layers of ``model`` in order (nested Sequentials flattened, Identity dropped)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    layers = []
    for layer in model:
        if isinstance(layer, nn.Sequential):
            layers.extend(_layers(layer))
        elif isinstance(layer, nn.Linear | nn.ReLU):
            layers.append(layer)
        elif not isinstance(layer, nn.Identity):
            raise TypeError(f"model must contain only Linear and ReLU layers, found {type(layer).__name__}")
    return layers


def _scalar_layers(model: nn.Module) -> list[nn.Module]:
    """The layers of a finite Linear/ReLU network with 1-D input and output."""
    v.check_module(model)
    layers = _layers(model)
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    if linears and linears[0].in_features != 1:
        raise ValueError(f"model must take a 1-D input, its first Linear has in_features={linears[0].in_features}")
    if linears and linears[-1].out_features != 1:
        raise ValueError(f"model must have a 1-D output, its last Linear has out_features={linears[-1].out_features}")
    return layers


def _check_interval(lo: float, hi: float) -> tuple[float, float]:
    lo, hi = v.check_real(lo, "lo"), v.check_real(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    return lo, hi


class _Pieces:
    """The breakpoint state of the exact counter: pieces of ``[lo, hi]`` and each unit's affine map on them."""

    def __init__(self, lo: float, hi: float, rtol: float) -> None:
        self.t = np.array([lo, hi])  # breakpoints, shape (m + 1,)
        self.A, self.c = np.ones((1, 1)), np.zeros((1, 1))  # values on piece k: A[:, k] * x + c[:, k], (width, m)
        self.rtol = rtol

    def copy(self) -> _Pieces:
        new = _Pieces.__new__(_Pieces)
        new.t, new.A, new.c, new.rtol = self.t, self.A, self.c, self.rtol
        return new

    def apply(self, layer: nn.Module) -> None:
        if isinstance(layer, nn.Linear):
            with torch.no_grad():
                W = layer.weight.detach().to("cpu", torch.float64).numpy()  # (out, in)
                b = np.zeros(W.shape[0]) if layer.bias is None else layer.bias.detach().to("cpu", torch.float64).numpy()
            if W.shape[1] != self.A.shape[0]:
                raise ValueError(f"model has a Linear with in_features={W.shape[1]} after width {self.A.shape[0]}")
            v.check_work(self.A.shape[1] * W.shape[0], "model", MAX_PIECE_ELEMENTS, "(pieces x width) values")
            self.A, self.c = W @ self.A, W @ self.c + b[:, None]
        else:
            self._split_at_kinks()
            mid = 0.5 * (self.t[:-1] + self.t[1:])
            on = self.A * mid + self.c > 0
            self.A, self.c = self.A * on, self.c * on
            self.merge()

    def _split_at_kinks(self) -> None:
        """Add the zeros of every unit's pre-activation ``A x + c`` that fall strictly inside a piece."""
        t, A, c = self.t, self.A, self.c
        m = A.shape[1]
        eps = 1e-12 * (t[-1] - t[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            roots = -c / A  # (width, m); inf/nan where A == 0
        inside = (roots > t[:-1] + eps) & (roots < t[1:] - eps)
        new = int(inside.sum())
        if new == 0:
            return
        v.check_work((m + new) * A.shape[0], "model", MAX_PIECE_ELEMENTS, "(pieces x width) values")
        roots = np.sort(np.where(inside, roots, np.nan), axis=0)  # nan sorts last
        cols = np.concatenate([t[None, :-1], roots], axis=0)  # (width + 1, m), each column increasing
        valid = ~np.isnan(cols)
        parent = np.broadcast_to(np.arange(m), cols.shape).T[valid.T]
        starts = cols.T[valid.T]  # piece by piece
        fresh = np.concatenate([[True], np.diff(starts) > eps])  # two units with the same zero: one breakpoint
        parent = parent[fresh]
        self.t, self.A, self.c = np.concatenate([starts[fresh], t[-1:]]), A[:, parent], c[:, parent]

    def merge(self) -> None:
        """Merge adjacent pieces whose slope vectors agree (continuity makes the intercepts agree too)."""
        if self.A.shape[1] < 2:
            return
        scale = np.abs(self.A).max(axis=1, keepdims=True)  # (width, 1): each unit's largest |slope|
        same = (np.abs(self.A[:, 1:] - self.A[:, :-1]) <= self.rtol * scale).all(axis=0)
        if same.any():
            keep = np.concatenate([[True], ~same])  # first piece of each run of equal maps
            self.t = np.concatenate([self.t[:-1][keep], self.t[-1:]])
            self.A, self.c = self.A[:, keep], self.c[:, keep]

    def result(self) -> PiecewiseLinear:
        if self.A.shape[0] != 1:
            raise ValueError(f"model must have a 1-D output, got width {self.A.shape[0]}")
        self.merge()
        return PiecewiseLinear(breakpoints=self.t, slopes=self.A[0].copy(), intercepts=self.c[0].copy())


def piecewise_linear(model: nn.Sequential, lo: float, hi: float, rtol: float = RTOL) -> PiecewiseLinear:
    """The exact linear pieces of a scalar ReLU network on ``[lo, hi]``.

    The interval is cut at the points where some unit's pre-activation changes
    sign, layer by layer: on each piece every unit's pre-activation is an affine
    function ``a x + c`` of the input, whose zero is a new breakpoint if it lies
    inside the piece; the ReLU then keeps or zeroes ``(a, c)`` according to the
    sign at the piece's midpoint. No sampling grid is involved. Computed in
    float64.

    Adjacent pieces on which the network computes the same affine map are
    merged (after every ReLU and at the output), so a network that is linear
    on an interval has one piece there even if its units switch inside it.
    Because the network is continuous, two adjacent maps are equal when their
    slopes are; slopes count as equal when they differ by at most
    ``rtol * max|slope|``, the largest magnitude of that unit's (or the
    output's) slope over ``[lo, hi]``. The default ``rtol = 1e-9`` is far above
    float64 round-off in the slopes and far below any kink a real network has.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear and ReLU layers (nested Sequentials and Identity allowed) with
        finite parameters, input and output of dimension 1.
    lo, hi : float
        The interval, ``lo < hi``.
    rtol : float
        Relative tolerance for merging pieces, in ``[0, 1)``.

    Returns
    -------
    PiecewiseLinear
        Breakpoints (m + 1,), slopes (m,) and intercepts (m,).

    Raises
    ------
    ValueError
        If the pieces times the width would exceed ``MAX_PIECE_ELEMENTS``
        (checked before each layer's arrays are allocated).

    Examples
    --------
    >>> import torch
    >>> relu = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = relu[0].weight.fill_(1.0)
    ...     _ = relu[0].bias.fill_(-0.5)
    >>> f = piecewise_linear(relu, 0.0, 2.0)
    >>> f.breakpoints.tolist(), f.slopes.tolist()
    ([0.0, 0.5, 2.0], [0.0, 1.0])
    """
    layers = _scalar_layers(model)
    lo, hi = _check_interval(lo, hi)
    rtol = v.check_real(rtol, "rtol", min_value=0, max_value=1, max_inclusive=False)
    state = _Pieces(lo, hi, rtol)
    for layer in layers:
        state.apply(layer)
    return state.result()


def count_linear_pieces(model: nn.Sequential, lo: float, hi: float, rtol: float = RTOL) -> int:
    """Exact number of linear pieces of a scalar ReLU network on ``[lo, hi]``.

    See :func:`piecewise_linear` for the method, the limit on the work and the
    meaning of ``rtol`` (adjacent pieces with equal affine maps count as one).

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear/ReLU layers with 1-D input and output.
    lo, hi : float
        The interval, ``lo < hi``.
    rtol : float
        Relative slope tolerance for merging pieces.

    Returns
    -------
    int

    Examples
    --------
    >>> import torch
    >>> count_linear_pieces(torch.nn.Sequential(torch.nn.Linear(1, 1)), -1.0, 1.0)
    1
    """
    return piecewise_linear(model, lo, hi, rtol).num_pieces


def segment_network(model: nn.Sequential, start: np.ndarray, end: np.ndarray) -> nn.Sequential:
    """The scalar network ``t -> model(start + t (end - start))``: ``model`` restricted to a line segment.

    Its pieces on ``[0, 1]`` are the linear regions of ``model`` that the
    segment crosses, the quantity Hanin and Rolnick (2019a) count "along a
    line" through the input space.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear/ReLU layers with input dimension ``d``.
    start, end : ndarray, shape (d,)
        The segment's end points (distinct).

    Returns
    -------
    torch.nn.Sequential
        ``Linear(1, d)`` followed by a copy of the layers of ``model``, all float64.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.ReLU()).double()
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
    ...     _ = net[0].bias.zero_()
    >>> count_linear_pieces(segment_network(net, np.array([-1.0, 0.5]), np.array([1.0, 0.5])), 0.0, 1.0)
    2
    """
    v.check_module(model)
    layers = _layers(model)
    first = next((layer for layer in layers if isinstance(layer, nn.Linear)), None)
    if first is None:
        raise ValueError("model must contain a Linear layer")
    d = first.in_features
    start = v.check_array(start, "start", shape=(d,))
    end = v.check_array(end, "end", shape=(d,))
    if np.array_equal(start, end):
        raise ValueError("start and end must be distinct points")
    line = nn.Linear(1, d).double()
    with torch.no_grad():
        line.weight.copy_(torch.from_numpy(end - start)[:, None])
        line.bias.copy_(torch.from_numpy(start))
    return nn.Sequential(line, *copy.deepcopy(layers)).double()

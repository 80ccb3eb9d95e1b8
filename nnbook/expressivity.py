"""Linear pieces of scalar-input ReLU networks, counted exactly, and bounds on linear regions.

A ReLU network is continuous and piecewise linear. For a scalar input the
pieces can be found exactly by following the breakpoints through the layers
(:func:`piecewise_linear`, :func:`count_linear_pieces`); a sampling grid only
gives a lower estimate (:func:`nnbook.regions.count_pieces_on_grid`). The
upper bounds of Montúfar et al. (2014) and Serra et al. (2018) on the number
of regions are :func:`max_regions_one_layer` and :func:`max_regions`; regions
of 2-D-input networks are estimated in :mod:`nnbook.regions`.

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
>>> max_regions_one_layer(2, 16)
137
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

RTOL = 1e-9  # default: adjacent pieces whose slopes differ by <= RTOL * (unit's largest |slope|) are one piece


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

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at ``x`` (any shape, inside the interval)."""
        x = np.asarray(x, dtype=float)
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


def _check_interval(lo: float, hi: float) -> tuple[float, float]:
    for arg, v in (("lo", lo), ("hi", hi)):
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) or not np.isfinite(v):
            raise ValueError(f"{arg} must be a finite real number, got {v!r}")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    return float(lo), float(hi)


def _merge_equal_slopes(t: np.ndarray, A: np.ndarray, c: np.ndarray, rtol: float):
    """Merge adjacent pieces whose slope vectors agree (continuity makes the intercepts agree too)."""
    if A.shape[1] < 2:
        return t, A, c
    scale = np.abs(A).max(axis=1, keepdims=True)  # (width, 1): each unit's largest |slope|
    same = (np.abs(A[:, 1:] - A[:, :-1]) <= rtol * scale).all(axis=0)
    if not same.any():
        return t, A, c
    keep = np.concatenate([[True], ~same])  # first piece of each run of equal maps
    return np.concatenate([t[:-1][keep], t[-1:]]), A[:, keep], c[:, keep]


def _split_at_kinks(t: np.ndarray, A: np.ndarray, c: np.ndarray):
    """Add the zeros of every unit's pre-activation ``A x + c`` that fall strictly inside a piece."""
    m = A.shape[1]
    eps = 1e-12 * (t[-1] - t[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -c / A  # (width, m); inf/nan where A == 0
    inside = (roots > t[:-1] + eps) & (roots < t[1:] - eps)
    if not inside.any():
        return t, A, c
    roots = np.sort(np.where(inside, roots, np.nan), axis=0)  # nan sorts last
    cols = np.concatenate([t[None, :-1], roots], axis=0)  # (width + 1, m), each column increasing
    valid = ~np.isnan(cols)
    parent = np.broadcast_to(np.arange(m), cols.shape).T[valid.T]
    starts = cols.T[valid.T]  # piece by piece
    fresh = np.concatenate([[True], np.diff(starts) > eps])  # two units with the same zero: one breakpoint
    parent = parent[fresh]
    return np.concatenate([starts[fresh], t[-1:]]), A[:, parent], c[:, parent]


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
        Linear and ReLU layers (nested Sequentials and Identity allowed), input
        and output of dimension 1.
    lo, hi : float
        The interval, ``lo < hi``.
    rtol : float
        Relative tolerance for merging pieces (``>= 0``).

    Returns
    -------
    PiecewiseLinear
        Breakpoints (m + 1,), slopes (m,) and intercepts (m,).

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
    layers = _layers(model)
    lo, hi = _check_interval(lo, hi)
    if isinstance(rtol, bool) or not isinstance(rtol, int | float) or not rtol >= 0 or not np.isfinite(rtol):
        raise ValueError(f"rtol must be a finite number >= 0, got {rtol!r}")
    linears = [layer for layer in layers if isinstance(layer, nn.Linear)]
    if linears and linears[0].in_features != 1:
        raise ValueError(f"model must take a 1-D input, its first Linear has in_features={linears[0].in_features}")
    if linears and linears[-1].out_features != 1:
        raise ValueError(f"model must have a 1-D output, its last Linear has out_features={linears[-1].out_features}")

    t = np.array([lo, hi])  # breakpoints, shape (m + 1,)
    A, c = np.ones((1, 1)), np.zeros((1, 1))  # activations on piece k: A[:, k] * x + c[:, k], shape (width, m)
    with torch.no_grad():
        for layer in layers:
            if isinstance(layer, nn.Linear):
                W = layer.weight.detach().to("cpu", torch.float64).numpy()  # (out, in)
                b = np.zeros(W.shape[0]) if layer.bias is None else layer.bias.detach().to("cpu", torch.float64).numpy()
                if W.shape[1] != A.shape[0]:
                    raise ValueError(f"model has a Linear with in_features={W.shape[1]} after width {A.shape[0]}")
                A, c = W @ A, W @ c + b[:, None]
            else:
                t, A, c = _split_at_kinks(t, A, c)
                mid = 0.5 * (t[:-1] + t[1:])
                on = A * mid + c > 0
                A, c = A * on, c * on
                t, A, c = _merge_equal_slopes(t, A, c, rtol)
    t, A, c = _merge_equal_slopes(t, A, c, rtol)
    return PiecewiseLinear(breakpoints=t, slopes=A[0].copy(), intercepts=c[0].copy())


def count_linear_pieces(model: nn.Sequential, lo: float, hi: float, rtol: float = RTOL) -> int:
    """Exact number of linear pieces of a scalar ReLU network on ``[lo, hi]``.

    See :func:`piecewise_linear` for the method and the meaning of ``rtol``
    (adjacent pieces with equal affine maps count as one).

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


def max_regions_one_layer(n_inputs: int, width: int) -> int:
    """Most regions a one-hidden-layer ReLU network can have: ``sum_{k<=min(n0,n1)} C(n1, k)``.

    ``width`` hyperplanes in general position cut ``R^n_inputs`` into this many
    regions (Zaslavsky 1975), the bound of Montúfar et al. (2014) and Serra et
    al. (2018) for one layer.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``n0 >= 1``.
    width : int
        Number of hidden units ``n1 >= 0``.

    Returns
    -------
    int

    Examples
    --------
    >>> max_regions_one_layer(2, 16), max_regions_one_layer(1, 5), max_regions_one_layer(8, 3)
    (137, 6, 8)
    """
    _check_count(n_inputs, "n_inputs", 1)
    _check_count(width, "width", 0)
    return sum(math.comb(width, k) for k in range(min(n_inputs, width) + 1))


def max_regions(n_inputs: int, widths: Sequence[int]) -> int:
    """Serra et al.'s (2018, Theorem 1) upper bound on the regions of a deep ReLU network.

    ``sum over (j_1..j_L) in J of prod_l C(n_l, j_l)`` with
    ``J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}``,
    computed exactly by dynamic programming over the running minimum.
    For one layer it equals :func:`max_regions_one_layer`.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``n_0 >= 1``.
    widths : sequence of int
        Hidden widths ``n_1, ..., n_L`` (each ``>= 1``, at least one).

    Returns
    -------
    int

    Examples
    --------
    >>> max_regions(2, [16]), max_regions(1, [2, 2, 2])
    (137, 27)
    """
    _check_count(n_inputs, "n_inputs", 1)
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence) or len(widths) == 0:
        raise ValueError(f"widths must be a non-empty sequence of ints, got {widths!r}")
    for i, w in enumerate(widths):
        _check_count(w, f"widths[{i}]", 1)
    ways = {n_inputs: 1}  # running minimum d -> number of weighted tuples (j_1..j_l) reaching it
    for n in widths:
        step: dict[int, int] = {}
        for d, count in ways.items():
            for j in range(min(d, n) + 1):
                key = min(d, n - j)
                step[key] = step.get(key, 0) + count * math.comb(n, j)
        ways = step
    return sum(ways.values())


def _check_count(value: object, arg: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{arg} must be an int >= {minimum}, got {value!r}")

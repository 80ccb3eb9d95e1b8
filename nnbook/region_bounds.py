"""Upper bounds on the number of linear regions of ReLU networks, computed exactly.

A hidden layer of ``n1`` ReLU units cuts its input space ``R^n0`` by ``n1``
hyperplanes; in general position they make at most
``sum_{k <= min(n0, n1)} C(n1, k)`` regions (Zaslavsky 1975), the bound of
Montúfar et al. (2014) and Serra et al. (2018) for one layer:
:func:`max_regions_one_layer`. For deeper networks :func:`max_regions` is
Serra et al.'s (2018, Theorem 1) bound, by dynamic programming. Both are exact
Python integers, with limits on the work they may do. The chapter on
expressivity teaches them in "Counting linear regions" (the bound for one
hidden layer, then regions of 2-D networks); the exact piece counts these
bounds are compared with are in :mod:`nnbook.expressivity` and :mod:`nnbook.regions`.

Examples
--------
>>> max_regions_one_layer(2, 16)
137
>>> max_regions(1, [2, 2, 2])  # a 1-D input, three layers of two units: 3 ** 3
27
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nnbook import _validation as v

MAX_UNITS = 10**6  # widths accepted by the region bounds
MAX_BINOMIAL_TERMS = 10_000  # terms of an exact binomial sum (big-integer arithmetic, well under a second)
MAX_BOUND_WORK = 200_000  # (states x choices) summed over layers in max_regions' dynamic programme


def _binomial_sum(n: int, m: int) -> int:
    """``sum_{k <= m} C(n, k)`` exactly, with at most ``min(m, n - m) + 1`` terms."""
    if m >= n:
        return 1 << n
    if m > n - m - 1:  # fewer terms through the complement: 2^n - sum_{k <= n - m - 1} C(n, k)
        return (1 << n) - _binomial_sum(n, n - m - 1)
    v.check_work(m + 1, "n_inputs and width", MAX_BINOMIAL_TERMS, "binomial terms")
    total, term = 1, 1
    for k in range(1, m + 1):
        term = term * (n - k + 1) // k
        total += term
    return total


def max_regions_one_layer(n_inputs: int, width: int) -> int:
    """Most regions a one-hidden-layer ReLU network can have: ``sum_{k<=min(n0,n1)} C(n1, k)``.

    ``width`` hyperplanes in general position cut ``R^n_inputs`` into this many
    regions (Zaslavsky 1975), the bound of Montúfar et al. (2014) and Serra et
    al. (2018) for one layer. Computed exactly with Python integers; for
    ``n_inputs >= width`` it is ``2 ** width``.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``n0``, in ``[1, MAX_UNITS]``.
    width : int
        Number of hidden units ``n1``, in ``[0, MAX_UNITS]``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the sum needs more than ``MAX_BINOMIAL_TERMS`` terms (``min(n0, n1 - n0)`` too large).

    Examples
    --------
    >>> max_regions_one_layer(2, 16), max_regions_one_layer(1, 5), max_regions_one_layer(8, 3)
    (137, 6, 8)
    """
    n_inputs = v.check_int(n_inputs, "n_inputs", min_value=1, max_value=MAX_UNITS)
    width = v.check_int(width, "width", min_value=0, max_value=MAX_UNITS)
    return _binomial_sum(width, n_inputs)


def max_regions(n_inputs: int, widths: Sequence[int]) -> int:
    """Serra et al.'s (2018, Theorem 1) upper bound on the regions of a deep ReLU network.

    ``sum over (j_1..j_L) in J of prod_l C(n_l, j_l)`` with
    ``J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}``,
    computed exactly by dynamic programming over the running minimum.
    For one layer it equals :func:`max_regions_one_layer`.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``n_0``, in ``[1, MAX_UNITS]``.
    widths : sequence of int
        Hidden widths ``n_1, ..., n_L`` (each in ``[1, MAX_UNITS]``, at least one).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If the dynamic programme would take more than ``MAX_BOUND_WORK`` steps.

    Examples
    --------
    >>> max_regions(2, [16]), max_regions(1, [2, 2, 2])
    (137, 27)
    """
    n_inputs = v.check_int(n_inputs, "n_inputs", min_value=1, max_value=MAX_UNITS)
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    if len(widths) == 0:
        raise ValueError("widths must hold at least one width, got an empty sequence")
    v.check_work(len(widths), "widths", MAX_BOUND_WORK, "layers")
    widths = [v.check_int(w, f"widths[{i}]", min_value=1, max_value=MAX_UNITS) for i, w in enumerate(widths)]
    work, d = 0, n_inputs
    for n in widths:  # the states are the running minima <= d; each has <= min(d, n) + 1 choices
        work += (min(d, n) + 1) ** 2
        d = min(d, n)
    v.check_work(work, "n_inputs and widths", MAX_BOUND_WORK, "dynamic-programming steps")
    ways = {n_inputs: 1}  # running minimum d -> number of weighted tuples (j_1..j_l) reaching it
    for n in widths:
        combs = [math.comb(n, j) for j in range(min(max(ways), n) + 1)]
        step: dict[int, int] = {}
        for d, count in ways.items():
            for j in range(min(d, n) + 1):
                key = min(d, n - j)
                step[key] = step.get(key, 0) + count * combs[j]
        ways = step
    return sum(ways.values())

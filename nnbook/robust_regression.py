"""Least absolute deviations (L1) regression: a loss whose minimiser has no closed form.

Setting the gradient of ``(1/n) sum_i |x_i^T w - y_i|`` to zero gives
``sum_i sign(x_i^T w - y_i) x_i = 0``, an equation in signs that no algebra
solves for ``w``. It is solved here two ways: exactly, as a linear program
(:func:`l1_regression_lp`), and approximately, by subgradient descent
(:func:`l1_subgradient_descent`). Least squares (:func:`least_squares`) is the
closed-form comparison.

Examples
--------
>>> data = line_with_outliers(100, outlier_fraction=0.2, rng=0)
>>> w_l1, w_ls = l1_regression_lp(data.X, data.y), least_squares(data.X, data.y)
>>> bool(np.linalg.norm(w_l1 - data.w_true) < np.linalg.norm(w_ls - data.w_true))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnbook import _validation as v

MAX_POINTS = 10**7  # line_with_outliers: points generated
MAX_STEPS = 10**6  # l1_subgradient_descent: iterations (each costs two products with X)
MAX_LP_ELEMENTS = 10**7  # l1_regression_lp: entries of X (the LP has n + d variables and 2n constraints)
MAX_FITS = 10_000  # robustness: data sets generated and fitted


@dataclass(frozen=True)
class LineData:
    """``y = X w_true + noise`` with some targets pushed up by outliers.

    ``X`` (n, 2) holds a column of ones and ``x``; ``is_outlier`` (n,) marks
    the corrupted targets.
    """

    X: np.ndarray
    y: np.ndarray
    w_true: np.ndarray
    is_outlier: np.ndarray


@dataclass(frozen=True)
class SubgradientRun:
    """Result of :func:`l1_subgradient_descent`: the best iterate and the loss history.

    ``losses`` (steps + 1,) is the L1 loss of each iterate (the first is the
    start); ``best_losses`` is its running minimum, the loss of ``w``.
    """

    w: np.ndarray
    losses: np.ndarray
    best_losses: np.ndarray


@dataclass(frozen=True)
class Robustness:
    """Result of :func:`robustness`: coefficient errors ``||w_hat - w_true||`` of both fits.

    ``error_ls`` and ``error_l1`` have shape ``(len(fractions), len(seeds))``;
    entry ``[f, s]`` comes from one data set, shared by the two fits (paired).
    """

    fractions: np.ndarray
    seeds: np.ndarray
    error_ls: np.ndarray
    error_l1: np.ndarray


def line_with_outliers(
    n: int = 100,
    outlier_fraction: float = 0.1,
    noise: float = 0.5,
    outlier_shift: float = 20.0,
    rng: np.random.Generator | int | None = None,
) -> LineData:
    """A seeded straight line ``y = 1 + 0.5 x + noise`` on ``x`` in [0, 10], with outliers.

    Parameters
    ----------
    n : int
        Number of points, in ``[2, MAX_POINTS]``.
    outlier_fraction : float
        Fraction of targets (rounded down) moved up by about ``outlier_shift``, in [0, 1).
    noise : float
        Standard deviation of the Gaussian noise (``>= 0``).
    outlier_shift : float
        Mean upward shift of an outlier (``>= 0``); the shift is uniform on [0.5, 1.5] times it.
    rng : Generator, int or None
        Seed or generator.

    Returns
    -------
    LineData
    """
    n = v.check_int(n, "n", min_value=2, max_value=MAX_POINTS)
    outlier_fraction = v.check_real(outlier_fraction, "outlier_fraction", min_value=0, max_value=1, max_inclusive=False)
    noise = v.check_real(noise, "noise", min_value=0)
    outlier_shift = v.check_real(outlier_shift, "outlier_shift", min_value=0)
    rng = v.check_rng(rng)
    x = rng.uniform(0.0, 10.0, n)
    X = np.column_stack([np.ones(n), x])
    w_true = np.array([1.0, 0.5])
    y = X @ w_true + noise * rng.standard_normal(n)
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[rng.choice(n, int(outlier_fraction * n), replace=False)] = True
    y[is_outlier] += outlier_shift * rng.uniform(0.5, 1.5, is_outlier.sum())
    return LineData(X, y, w_true, is_outlier)


def l1_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean absolute deviation ``(1/n) sum_i |x_i^T w - y_i|``.

    Parameters
    ----------
    w : ndarray, shape (d,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    float

    Examples
    --------
    >>> l1_loss(np.array([1.0]), np.ones((3, 1)), np.array([0.0, 1.0, 10.0]))
    3.3333333333333335
    """
    w, X, y = _check(w, X, y)
    return float(np.abs(X @ w - y).mean())


def l1_subgradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A subgradient ``(1/n) X^T sign(X w - y)`` of :func:`l1_loss` (``sign(0) = 0``: a valid choice).

    Parameters
    ----------
    w : ndarray, shape (d,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (d,)

    Examples
    --------
    >>> l1_subgradient(np.zeros(1), np.ones((2, 1)), np.array([1.0, -1.0]))
    array([0.])
    """
    w, X, y = _check(w, X, y)
    return X.T @ np.sign(X @ w - y) / X.shape[0]


def least_squares(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The closed-form minimiser of ``||X w - y||^2`` (via :func:`numpy.linalg.lstsq`).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (d,)

    Examples
    --------
    >>> least_squares(np.ones((3, 1)), np.array([0.0, 1.0, 10.0]))  # the mean, pulled by the outlier
    array([3.66666667])
    """
    _, X, y = _check(None, X, y)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def l1_regression_lp(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact L1 regression as the linear program ``min sum_i t_i`` s.t. ``-t <= X w - y <= t``.

    The auxiliary ``t_i >= |x_i^T w - y_i|`` turns the kinks of ``|.|`` into
    linear constraints; at the optimum ``t_i = |x_i^T w - y_i|``. Solved by
    :func:`scipy.optimize.linprog` (HiGHS).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        At most ``MAX_LP_ELEMENTS`` entries.
    y : ndarray, shape (n,)

    Returns
    -------
    ndarray, shape (d,)
        A minimiser of :func:`l1_loss`.

    Examples
    --------
    >>> X = np.ones((3, 1))
    >>> l1_regression_lp(X, np.array([0.0, 1.0, 10.0]))  # the median, not the mean
    array([1.])
    """
    from scipy.optimize import linprog
    from scipy.sparse import hstack, identity, vstack

    _, X, y = _check(None, X, y)
    v.check_work(X.size, "X", MAX_LP_ELEMENTS, "entries")
    n, d = X.shape
    eye = identity(n, format="csr")
    A_ub = vstack([hstack([X, -eye]), hstack([-X, -eye])], format="csr")
    cost = np.concatenate([np.zeros(d), np.ones(n)])
    bounds = [(None, None)] * d + [(0, None)] * n
    result = linprog(cost, A_ub=A_ub, b_ub=np.concatenate([y, -y]), bounds=bounds, method="highs")
    if result.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"linprog failed: {result.message}")
    return result.x[:d]


def l1_subgradient_descent(
    X: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 1.0, w0: np.ndarray | None = None
) -> SubgradientRun:
    """Minimise :func:`l1_loss` by ``w <- w - lr / sqrt(k + 1) * g_k``, keeping the best iterate.

    The loss is not differentiable where a residual is zero and the
    subgradient ``g_k`` does not shrink near the optimum, so the step must;
    with ``lr / sqrt(k + 1)`` the best loss converges, and the general
    guarantee for it is ``O(log(k) / sqrt(k))`` (a step fixed in advance for
    a known number of steps removes the log).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    steps : int
        Number of updates, in ``[1, MAX_STEPS]``.
    lr : float
        Initial step size (``> 0``).
    w0 : ndarray, shape (d,), optional
        Start (zeros by default).

    Returns
    -------
    SubgradientRun

    Examples
    --------
    >>> run = l1_subgradient_descent(np.ones((3, 1)), np.array([0.0, 1.0, 10.0]), steps=500)
    >>> round(float(run.w[0]), 2)
    1.0
    """
    steps = v.check_int(steps, "steps", min_value=1, max_value=MAX_STEPS)
    lr = v.check_real(lr, "lr", min_value=0, min_inclusive=False)
    _, X, y = _check(None, X, y)
    w = np.zeros(X.shape[1]) if w0 is None else v.check_array(w0, "w0", shape=(X.shape[1],))
    losses, best_w, best = np.empty(steps + 1), w, np.inf
    for k in range(steps + 1):
        residual = X @ w - y
        losses[k] = np.abs(residual).mean()
        if losses[k] < best:
            best_w, best = w, losses[k]
        w = w - lr / np.sqrt(k + 1) * (X.T @ np.sign(residual) / X.shape[0])
    return SubgradientRun(best_w, losses, np.minimum.accumulate(losses))


def robustness(fractions: np.ndarray, seeds: np.ndarray, n: int = 100) -> Robustness:
    """Least squares and exact L1 regression on lines with a growing fraction of outliers.

    For every fraction and seed, one data set :func:`line_with_outliers`
    ``(n, fraction, rng=seed)`` is fitted both ways, so the two errors of an
    entry are a paired comparison.

    Parameters
    ----------
    fractions : ndarray, shape (F,)
        Outlier fractions, each in ``[0, 1)``.
    seeds : ndarray of int, shape (S,)
        Seeds of the data sets; ``F S`` may be at most ``MAX_FITS``.
    n : int
        Points per data set, in ``[2, MAX_POINTS]``.

    Returns
    -------
    Robustness

    Examples
    --------
    >>> r = robustness([0.0, 0.3], [0, 1], n=50)
    >>> bool((r.error_l1[1] < r.error_ls[1]).all())
    True
    """
    fractions = v.check_array(fractions, "fractions", ndim=1)
    if fractions.min() < 0 or fractions.max() >= 1:
        raise ValueError(f"fractions must lie in [0, 1), got values in [{fractions.min()}, {fractions.max()}]")
    seeds = v.check_array(seeds, "seeds", ndim=1, dtype="integer")
    if seeds.min() < 0:
        raise ValueError(f"seeds must be >= 0, got {seeds.min()}")
    n = v.check_int(n, "n", min_value=2, max_value=MAX_POINTS)
    v.check_work(fractions.size * seeds.size, "seeds", MAX_FITS, "fits")
    errors = np.empty((2, fractions.size, seeds.size))
    for f, fraction in enumerate(fractions):
        for s, seed in enumerate(seeds.tolist()):
            data = line_with_outliers(n, float(fraction), rng=seed)
            errors[0, f, s] = np.linalg.norm(least_squares(data.X, data.y) - data.w_true)
            errors[1, f, s] = np.linalg.norm(l1_regression_lp(data.X, data.y) - data.w_true)
    return Robustness(fractions, seeds, errors[0], errors[1])


def _check(w: object, X: object, y: object) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    X = v.check_array(X, "X", ndim=2)
    if X.shape[1] == 0:
        raise ValueError(f"X must have at least one column, got shape {X.shape}")
    y = v.check_array(y, "y", shape=(X.shape[0],))
    if w is not None:
        w = v.check_array(w, "w", shape=(X.shape[1],))
    return w, X, y

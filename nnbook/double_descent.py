"""The double-descent experiment: test error of random-feature models along their size.

:func:`sweep` fits minimum-norm and ridge least-squares models on nested sets
of random Fourier features (:mod:`nnbook.rff`) for many sizes and several
draws of the frequencies; :func:`curve` averages one penalty's results over
the draws and locates the sizes the chapter discusses; :func:`threshold_grid`
spaces the sizes so that the interpolation threshold ``2N = n`` is resolved.

Examples
--------
>>> from nnbook.data import digits_curvy
>>> c = curve(sweep(digits_curvy(), [10, 449, 600], n_draws=1, rng=0))
>>> c.ratio.round(3), c.peak
(array([0.022, 1.   , 1.336]), 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from nnbook import _validation as v
from nnbook.data import Split
from nnbook.rff import MAX_FEATURES, _check_split, fit_min_norm, fourier_features, sample_frequencies

MAX_DRAWS = 1000  # independent draws of the frequencies in one sweep


@dataclass(frozen=True)
class Sweep:
    """Errors of RFF least squares along the number of features.

    Arrays indexed ``[ridge, draw, k]`` hold results for ``ridges[ridge]``,
    frequency draw ``draw`` and ``n_features[k]`` frequencies.
    """

    n_features: np.ndarray  # (K,) number N of frequencies; the model has 2N parameters
    ratio: np.ndarray  # (K,) 2N / n_train, the horizontal axis of the double-descent plot
    ridges: np.ndarray  # (R,) ridge penalties, 0 for the minimum-norm solution
    test_mse: np.ndarray  # (R, D, K) mean squared error on the test set
    train_mse: np.ndarray  # (R, D, K) mean squared error on the training set
    test_error: np.ndarray  # (R, D, K) fraction of test points whose predicted sign differs from the label
    coef_norm: np.ndarray  # (R, D, K) Euclidean norm of the fitted coefficients a


def sweep(
    split: Split,
    n_features: Sequence[int],
    ridges: Sequence[float] = (0.0,),
    n_draws: int = 5,
    rng: np.random.Generator | int | None = None,
) -> Sweep:
    """Fit RFF models of every size in ``n_features`` and measure their errors.

    For each draw the frequencies of the largest model are sampled once and
    smaller models use the first ``N`` of them (nested models), so one draw
    traces a whole curve; every penalty is fitted on the same frequencies
    (paired comparisons).

    Parameters
    ----------
    split : Split
        Training and test data with labels in {-1, +1} (see :func:`nnbook.data.digits_curvy`).
    n_features : sequence of int
        Numbers ``N`` of frequencies, each in ``[1, MAX_FEATURES]``.
    ridges : sequence of float
        Penalties, each ``>= 0`` (``0`` is the minimum-norm solution).
    n_draws : int
        Independent draws of the frequencies, in ``[1, MAX_DRAWS]``.
    rng : Generator, int or None
        Seed or generator for the frequencies.

    Returns
    -------
    Sweep

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> s = sweep(digits_curvy(), [10, 449, 600], ridges=[0.0], n_draws=1, rng=0)
    >>> s.test_mse.round(3).tolist()
    [[[0.807, 413.762, 0.41]]]
    """
    X_train, y_train, X_test, y_test = _check_split(split)
    sizes = v.check_array(n_features, "n_features", ndim=1, dtype="integer")
    if sizes.min() < 1 or sizes.max() > MAX_FEATURES:
        raise ValueError(f"n_features must lie in [1, {MAX_FEATURES}], got values in [{sizes.min()}, {sizes.max()}]")
    ridges = v.check_array(ridges, "ridges", ndim=1)
    if ridges.min() < 0:
        raise ValueError(f"ridges must be >= 0, got {ridges.min()!r}")
    n_draws = v.check_int(n_draws, "n_draws", min_value=1, max_value=MAX_DRAWS)
    rng = v.check_rng(rng)
    v.check_work(2 * (X_train.shape[0] + X_test.shape[0]) * int(sizes.max()), "n_features", v.MAX_ELEMENTS, "features")
    shape = (ridges.size, n_draws, sizes.size)
    test_mse, train_mse, test_error, coef_norm = (np.empty(shape) for _ in range(4))
    for d in range(n_draws):
        V = sample_frequencies(X_train.shape[1], int(sizes.max()), rng)
        Phi_train, Phi_test = fourier_features(X_train, V), fourier_features(X_test, V)
        for r, k, a in _nested_fits(Phi_train, y_train, 2 * sizes, ridges):
            p = a.shape[0]
            pred = Phi_test[:, :p] @ a
            test_mse[r, d, k] = np.mean((pred - y_test) ** 2)
            train_mse[r, d, k] = np.mean((Phi_train[:, :p] @ a - y_train) ** 2)
            test_error[r, d, k] = np.mean(np.sign(pred) != y_test)
            coef_norm[r, d, k] = np.linalg.norm(a)
    return Sweep(sizes, 2 * sizes / X_train.shape[0], ridges, test_mse, train_mse, test_error, coef_norm)


@dataclass(frozen=True)
class Curve:
    """One penalty's curves from a :class:`Sweep`, averaged over the draws of the frequencies.

    Arrays have shape ``(K,)``, one entry per model size; the indices locate
    the sizes the chapter talks about.
    """

    ridge: float  # the penalty lambda of these curves
    ratio: np.ndarray  # (K,) 2N / n_train
    test_mse: np.ndarray  # (K,) mean over draws of the test MSE
    train_mse: np.ndarray  # (K,) mean over draws of the training MSE
    test_error: np.ndarray  # (K,) mean over draws of the test classification error
    coef_norm: np.ndarray  # (K,) mean over draws of the coefficient norm
    peak: int  # index of the largest mean test MSE
    best_under: int  # index of the smallest mean test MSE among the sizes with 2N < n_train
    threshold: int  # index of the size closest to the interpolation threshold 2N = n_train


def curve(result: Sweep, ridge: float = 0.0) -> Curve:
    """The curves of penalty ``ridge`` in ``result``, averaged over its draws.

    Parameters
    ----------
    result : Sweep
        With at least one size below the threshold (``ratio < 1``).
    ridge : float
        One of ``result.ridges``.

    Returns
    -------
    Curve

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> c = curve(sweep(digits_curvy(), [10, 449, 600], ridges=[0.0, 1.0], n_draws=2, rng=0), ridge=0.0)
    >>> c.test_mse.round(3).tolist(), c.peak, c.best_under, c.threshold
    ([0.715, 476.403, 0.397], 1, 0, 1)
    """
    if not isinstance(result, Sweep):
        raise TypeError(f"result must be a Sweep, got {type(result).__name__}")
    ridge = v.check_real(ridge, "ridge", min_value=0)
    matches = np.flatnonzero(result.ridges == ridge)
    if matches.size == 0:
        raise ValueError(f"ridge must be one of the sweep's penalties {result.ridges.tolist()}, got {ridge!r}")
    under = np.flatnonzero(result.ratio < 1)
    if under.size == 0:
        raise ValueError("result must contain a size below the threshold (2N < n_train)")
    r = int(matches[0])
    test_mse = result.test_mse[r].mean(axis=0)
    return Curve(
        ridge=ridge,
        ratio=result.ratio,
        test_mse=test_mse,
        train_mse=result.train_mse[r].mean(axis=0),
        test_error=result.test_error[r].mean(axis=0),
        coef_norm=result.coef_norm[r].mean(axis=0),
        peak=int(np.argmax(test_mse)),
        best_under=int(under[np.argmin(test_mse[under])]),
        threshold=int(np.argmin(np.abs(result.ratio - 1.0))),
    )


def _nested_fits(Phi: np.ndarray, y: np.ndarray, widths: np.ndarray, ridges: np.ndarray):
    """Yield ``(ridge index, width index, a)`` for the models ``Phi[:, :p]``, ``p`` in ``widths``.

    Same results as :func:`fit_min_norm` on each prefix, but the prefixes
    share their factorisations: the leading ``p x p`` block of the QR (or
    Cholesky) factor of ``Phi[:, :m]`` is the factor of ``Phi[:, :p]``, so one
    factorisation serves every ``p <= n``; past the threshold the triangular
    factor R of ``Phi[:, :p]^T`` is updated as columns arrive (LAPACK
    ``tpqrt``) and the minimum-norm solution ``a = Phi^T R^{-1} R^{-T} y``
    uses it (Paige's seminormal equations, backward stable for minimum-norm
    problems), while the ridge solutions grow their Gram matrix the same way.
    """
    n = Phi.shape[0]
    order = np.argsort(widths, kind="stable")
    tall = [k for k in order if widths[k] <= n]
    wide = [k for k in order if widths[k] > n]
    penalised = bool(np.any(ridges > 0))  # the Gram matrices serve only the ridge solutions
    if tall:
        m = int(widths[tall[-1]])
        Q, R = scipy.linalg.qr(Phi[:, :m], mode="economic")
        qty = Q.T @ y
        diag = np.abs(np.diag(R))
        if penalised:
            gram = Phi[:, :m].T @ Phi[:, :m]
            phty = Phi[:, :m].T @ y  # Phi[:, :p]^T y is its first p entries
        for r, ridge in enumerate(ridges):
            if ridge > 0:
                chol = scipy.linalg.cholesky(gram + ridge * np.eye(m))
            for k in tall:
                p = int(widths[k])
                if ridge > 0:
                    a = scipy.linalg.cho_solve((chol[:p, :p], False), phty[:p])
                elif diag[:p].min() <= n * np.finfo(float).eps * diag[:p].max():
                    a = fit_min_norm(Phi[:, :p], y)  # rank-deficient prefix: SVD
                else:
                    a = scipy.linalg.solve_triangular(R[:p, :p], qty[:p])
                yield r, k, a
    R = gram = None
    done = 0
    for k in wide:
        p = int(widths[k])
        block = Phi[:, done:p]
        if R is None:
            R = scipy.linalg.qr(block.T, mode="r")[0][:n]
            gram = block @ block.T if penalised else None
        else:
            R = scipy.linalg.lapack.dtpqrt(0, min(32, n), R, np.ascontiguousarray(block.T))[0]
            if penalised:
                gram += block @ block.T
        done = p
        for r, ridge in enumerate(ridges):
            if ridge > 0:
                c = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram + ridge * np.eye(n)), y)
            else:
                diag = np.abs(np.diag(R))
                if diag.min() <= p * np.finfo(float).eps * diag.max():
                    yield r, k, fit_min_norm(Phi[:, :p], y)
                    continue
                w = scipy.linalg.solve_triangular(R, y, trans="T")
                c = scipy.linalg.solve_triangular(R, w)
            yield r, k, Phi[:, :p].T @ c


def threshold_grid(n_train: int, max_features: int = 2000, n_log: int = 40, n_near: int = 41) -> np.ndarray:
    """Numbers of frequencies from 1 to ``max_features``, dense near ``2N = n_train``.

    A geometric grid over the whole range joined with an even grid over
    ``2N / n_train`` in ``[0.7, 1.3]`` that contains the threshold itself.

    Parameters
    ----------
    n_train : int
        Number of training points, in ``[2, 2 MAX_FEATURES]``.
    max_features : int
        Largest ``N``, in ``[2, MAX_FEATURES]``.
    n_log, n_near : int
        Points of the geometric and of the near-threshold grid, each in ``[2, 10000]``.

    Returns
    -------
    ndarray of int, increasing

    Examples
    --------
    >>> threshold_grid(100, max_features=200, n_log=5, n_near=3)
    array([  1,   4,  14,  35,  50,  53,  65, 200])
    """
    n_train = v.check_int(n_train, "n_train", min_value=2, max_value=2 * MAX_FEATURES)
    max_features = v.check_int(max_features, "max_features", min_value=2, max_value=MAX_FEATURES)
    n_log = v.check_int(n_log, "n_log", min_value=2, max_value=10_000)
    n_near = v.check_int(n_near, "n_near", min_value=2, max_value=10_000)
    half = n_train / 2
    log_part = np.geomspace(1, max_features, n_log)
    near = half * np.linspace(0.7, 1.3, n_near)
    grid = np.unique(np.round(np.concatenate([log_part, near, [half]])).astype(int))
    return grid[(grid >= 1) & (grid <= max_features)]

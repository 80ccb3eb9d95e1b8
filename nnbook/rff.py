"""Random Fourier features and minimum-norm least squares (double descent).

The model of Rahimi & Recht (2007), as used by Belkin et al. (2019): draw
frequencies ``v_k ~ N(0, I)`` and map an input ``x`` to the 2N features
``cos(v_k . x), sin(v_k . x)``. Fitting the coefficients ``a`` by least squares
gives a unique solution while ``2N < n``; past the interpolation threshold
``2N = n`` there are many interpolating solutions and we take the one with the
smallest norm, the limit of ridge regression as the penalty goes to zero.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((5, 3))
>>> Phi = fourier_features(X, sample_frequencies(3, 4, rng=1))
>>> Phi.shape
(5, 8)
>>> a = fit_min_norm(Phi, np.ones(5))  # 8 > 5: interpolates
>>> bool(np.allclose(Phi @ a, 1.0))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from nnbook.data import Split


def sample_frequencies(n_inputs: int, n_features: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Frequencies ``V`` with independent standard normal entries.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``d`` (``>= 1``).
    n_features : int
        Number ``N`` of frequencies (``>= 1``); the model has ``2N`` features.
    rng : Generator, int or None
        Seed or generator.

    Returns
    -------
    V : ndarray, shape (n_inputs, n_features)

    Examples
    --------
    >>> sample_frequencies(2, 3, rng=0).shape
    (2, 3)
    """
    for arg, value in (("n_inputs", n_inputs), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{arg} must be a positive int, got {value!r}")
    return np.random.default_rng(rng).standard_normal((int(n_inputs), int(n_features)))


def fourier_features(X: np.ndarray, V: np.ndarray) -> np.ndarray:
    """The real random Fourier feature matrix ``Phi``.

    Column ``2k`` is ``cos(X @ V[:, k])`` and column ``2k + 1`` is
    ``sin(X @ V[:, k])``, so the first ``2M`` columns are the features of the
    first ``M`` frequencies (nested models share columns).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Inputs.
    V : ndarray, shape (d, N)
        Frequencies.

    Returns
    -------
    Phi : ndarray, shape (n, 2N)

    Examples
    --------
    >>> fourier_features(np.zeros((1, 2)), np.ones((2, 2)))
    array([[1., 0., 1., 0.]])
    """
    X = _finite_matrix(X, "X")
    V = _finite_matrix(V, "V")
    if X.shape[1] != V.shape[0]:
        raise ValueError(f"V must have shape ({X.shape[1]}, N) to match X of shape {X.shape}, got {V.shape}")
    Z = X @ V
    Phi = np.empty((X.shape[0], 2 * V.shape[1]))
    Phi[:, 0::2] = np.cos(Z)
    Phi[:, 1::2] = np.sin(Z)
    return Phi


def fit_min_norm(Phi: np.ndarray, y: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Least-squares coefficients: minimum-norm when ``ridge == 0``, ridge otherwise.

    With ``ridge = lam > 0`` this minimises ``||Phi a - y||^2 + lam ||a||^2``,
    solving the ``p x p`` primal system ``(Phi^T Phi + lam I) a = Phi^T y`` or,
    when ``n < p``, the ``n x n`` dual system ``(Phi Phi^T + lam I) c = y`` with
    ``a = Phi^T c``, by Cholesky. With ``ridge = 0`` it returns the
    minimum-norm least-squares solution (``pinv(Phi) @ y``) from a QR
    factorisation of ``Phi`` (``n >= p``) or of ``Phi^T`` (``n < p``), which
    works at the condition number of ``Phi`` rather than its square; a
    numerically rank-deficient ``Phi`` falls back to an SVD.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
        Design matrix.
    y : ndarray, shape (n,)
        Targets.
    ridge : float
        Penalty ``lam >= 0``.

    Returns
    -------
    a : ndarray, shape (p,)

    Examples
    --------
    >>> Phi = np.array([[1.0, 1.0]])
    >>> fit_min_norm(Phi, np.array([2.0]))
    array([1., 1.])
    >>> fit_min_norm(Phi, np.array([2.0]), ridge=1.0)
    array([0.66666667, 0.66666667])
    """
    Phi = _finite_matrix(Phi, "Phi")
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("y must be a numeric array") from None
    if y.ndim != 1 or y.shape[0] != Phi.shape[0]:
        raise ValueError(f"y must have shape ({Phi.shape[0]},) to match Phi, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must contain only finite values")
    if isinstance(ridge, bool) or not isinstance(ridge, int | float | np.floating | np.integer):
        raise TypeError(f"ridge must be a real number, got {type(ridge).__name__}")
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be finite and >= 0, got {ridge!r}")
    n, p = Phi.shape
    if ridge > 0:
        # Only the upper triangle of the symmetric Gram matrix is formed (BLAS syrk) and factorised.
        gram = scipy.linalg.blas.dsyrk(1.0, Phi, trans=1 if p <= n else 0)
        gram[np.diag_indices_from(gram)] += ridge
        factor = scipy.linalg.cho_factor(gram, lower=False)
        if p <= n:
            return scipy.linalg.cho_solve(factor, Phi.T @ y)
        return Phi.T @ scipy.linalg.cho_solve(factor, y)
    tall = n >= p
    Q, R = scipy.linalg.qr(Phi if tall else Phi.T, mode="economic")
    diag = np.abs(np.diag(R))
    if diag.min() <= max(n, p) * np.finfo(float).eps * diag.max():
        return np.linalg.lstsq(Phi, y, rcond=None)[0]  # rank-deficient: SVD
    if tall:  # Phi = QR, a = R^{-1} Q^T y
        return scipy.linalg.solve_triangular(R, Q.T @ y)
    # Phi^T = QR, so Phi a = R^T Q^T a = y; the min-norm a lies in range(Q).
    return Q @ scipy.linalg.solve_triangular(R, y, trans="T")


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
    test_error: np.ndarray  # (R, D, K) fraction of test points with the wrong sign
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
    traces a whole curve.

    Parameters
    ----------
    split : Split
        Training and test data (see :func:`nnbook.data.digits_curvy`).
    n_features : sequence of int
        Numbers ``N`` of frequencies, each ``>= 1``.
    ridges : sequence of float
        Penalties, each ``>= 0`` (``0`` is the minimum-norm solution).
    n_draws : int
        Independent draws of the frequencies (``>= 1``).
    rng : Generator, int or None
        Seed or generator for the frequencies.

    Returns
    -------
    Sweep

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> s = sweep(digits_curvy(), [10, 449, 600], ridges=[0.0], n_draws=1, rng=0)
    >>> s.test_mse.shape, bool(s.test_mse[0, 0, 1] > s.test_mse[0, 0, 0])
    ((1, 1, 3), True)
    """
    sizes = np.asarray(n_features)
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer) or sizes.min() < 1:
        raise ValueError("n_features must be a non-empty sequence of positive ints")
    ridges = np.asarray(ridges, dtype=float)
    if ridges.ndim != 1 or ridges.size == 0 or not np.all(np.isfinite(ridges)) or ridges.min() < 0:
        raise ValueError("ridges must be a non-empty sequence of finite values >= 0")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    rng = np.random.default_rng(rng)
    shape = (ridges.size, n_draws, sizes.size)
    test_mse, train_mse, test_error, coef_norm = (np.empty(shape) for _ in range(4))
    for d in range(n_draws):
        V = sample_frequencies(split.X_train.shape[1], int(sizes.max()), rng)
        Phi_train, Phi_test = fourier_features(split.X_train, V), fourier_features(split.X_test, V)
        for r, k, a in _nested_fits(Phi_train, split.y_train, 2 * sizes, ridges):
            p = a.shape[0]
            pred = Phi_test[:, :p] @ a
            test_mse[r, d, k] = np.mean((pred - split.y_test) ** 2)
            train_mse[r, d, k] = np.mean((Phi_train[:, :p] @ a - split.y_train) ** 2)
            test_error[r, d, k] = np.mean(np.sign(pred) != split.y_test)
            coef_norm[r, d, k] = np.linalg.norm(a)
    return Sweep(sizes, 2 * sizes / split.X_train.shape[0], ridges, test_mse, train_mse, test_error, coef_norm)


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


def smallest_singular_values(Phi: np.ndarray, widths: Sequence[int]) -> np.ndarray:
    """Smallest non-zero singular value of each nested design ``Phi[:, :p]``, ``p`` in ``widths``.

    That is the ``min(n, p)``-th singular value: it sets how much the
    minimum-norm fit amplifies the labels (the fit divides by it).

    Parameters
    ----------
    Phi : ndarray, shape (n, P)
    widths : sequence of int
        Numbers of columns ``p``, each in ``[1, P]``.

    Returns
    -------
    ndarray, shape (len(widths),)

    Examples
    --------
    >>> smallest_singular_values(np.eye(3), [1, 3]).tolist()
    [1.0, 1.0]
    """
    Phi = _finite_matrix(Phi, "Phi")
    widths = np.asarray(widths)
    if widths.ndim != 1 or widths.size == 0 or not np.issubdtype(widths.dtype, np.integer):
        raise ValueError("widths must be a non-empty sequence of ints")
    if widths.min() < 1 or widths.max() > Phi.shape[1]:
        raise ValueError(f"widths must lie in [1, {Phi.shape[1]}], got [{widths.min()}, {widths.max()}]")
    n = Phi.shape[0]
    return np.array([scipy.linalg.svdvals(Phi[:, :p])[min(n, int(p)) - 1] for p in widths])


def threshold_grid(n_train: int, max_features: int = 2000, n_log: int = 40, n_near: int = 41) -> np.ndarray:
    """Numbers of frequencies from 1 to ``max_features``, dense near ``2N = n_train``.

    A geometric grid over the whole range joined with an even grid over
    ``2N / n_train`` in ``[0.7, 1.3]`` that contains the threshold itself.

    Examples
    --------
    >>> grid = threshold_grid(898)
    >>> int(grid[0]), int(grid[-1]), 449 in grid
    (1, 2000, True)
    """
    for arg, value in (("n_train", n_train), ("max_features", max_features), ("n_log", n_log), ("n_near", n_near)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"{arg} must be an int >= 2, got {value!r}")
    half = n_train / 2
    log_part = np.geomspace(1, max_features, n_log)
    near = half * np.linspace(0.7, 1.3, n_near)
    grid = np.unique(np.round(np.concatenate([log_part, near, [half]])).astype(int))
    return grid[(grid >= 1) & (grid <= max_features)]


def _finite_matrix(A: np.ndarray, arg: str) -> np.ndarray:
    try:
        A = np.asarray(A, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{arg} must be a numeric array") from None
    if A.ndim != 2:
        raise ValueError(f"{arg} must be a 2-D array, got ndim={A.ndim}")
    if A.size == 0:
        raise ValueError(f"{arg} must not be empty, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError(f"{arg} must contain only finite values")
    return A

"""Random Fourier features and minimum-norm least squares (double descent).

The model of Rahimi & Recht (2007), as used by Belkin et al. (2019): draw
frequencies ``v_k ~ N(0, I)`` and map an input ``x`` to the 2N features
``cos(v_k . x), sin(v_k . x)``. Fitting the coefficients ``a`` by least squares
gives a unique solution while ``2N < n``; past the interpolation threshold
``2N = n`` there are many interpolating solutions and we take the one with the
smallest norm, the limit of ridge regression as the penalty goes to zero. As
``N`` grows, ``Phi Phi^T / N`` tends to the Gaussian kernel matrix, and the
minimum-norm fit to ridgeless kernel regression (:func:`kernel_limit`).

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

from nnbook import _validation as v
from nnbook.data import Split

MAX_FEATURES = 100_000  # frequencies N in one model (the sweep holds n x 2N features per set)
MAX_KERNEL_POINTS = 10_000  # training points of the kernel limit (an n x n matrix is factorised)


def sample_frequencies(n_inputs: int, n_features: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Frequencies ``V`` with independent standard normal entries.

    Parameters
    ----------
    n_inputs : int
        Input dimension ``d`` (``>= 1``); ``d N`` may be at most ``nnbook._validation.MAX_ELEMENTS``.
    n_features : int
        Number ``N`` of frequencies, in ``[1, MAX_FEATURES]``; the model has ``2N`` features.
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
    n_inputs = v.check_int(n_inputs, "n_inputs", min_value=1)
    n_features = v.check_int(n_features, "n_features", min_value=1, max_value=MAX_FEATURES)
    v.check_work(n_inputs * n_features, "n_inputs", v.MAX_ELEMENTS, "frequency entries")
    return v.check_rng(rng).standard_normal((n_inputs, n_features))


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
    X = v.check_array(X, "X", ndim=2)
    V = v.check_array(V, "V", shape=(X.shape[1], None))
    v.check_work(2 * X.shape[0] * V.shape[1], "V", v.MAX_ELEMENTS, "features")
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
    Phi = v.check_array(Phi, "Phi", ndim=2)
    y = v.check_array(y, "y", shape=(Phi.shape[0],))
    ridge = v.check_real(ridge, "ridge", min_value=0)
    n, p = Phi.shape
    if p == 0:
        raise ValueError(f"Phi must have at least one column, got shape {Phi.shape}")
    if ridge > 0:
        # Only the upper triangle of the symmetric Gram matrix is formed (BLAS syrk) and factorised. BLAS reads
        # column-major arrays: a row-major Phi is handed over as its transpose, a free view, rather than copied.
        wide = p > n
        if Phi.flags.f_contiguous:
            gram = scipy.linalg.blas.dsyrk(1.0, Phi, trans=0 if wide else 1)
        else:
            gram = scipy.linalg.blas.dsyrk(1.0, Phi.T, trans=1 if wide else 0)
        gram[np.diag_indices_from(gram)] += ridge
        factor = scipy.linalg.cho_factor(gram, lower=False, overwrite_a=True)
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
class KernelFit:
    """Ridgeless regression with the Gaussian kernel: the limit of the minimum-norm RFF fit as ``N`` grows."""

    test_mse: float  # mean squared error on the test set
    train_mse: float  # mean squared error on the training set (round-off: the fit interpolates)
    test_error: float  # fraction of test points whose predicted sign differs from the label
    condition_number: float  # largest over smallest eigenvalue of the training kernel matrix


def gaussian_kernel(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The kernel ``k(a, b) = exp(-||a - b||^2 / 2)`` that features with ``v_k ~ N(0, I)`` approximate.

    ``E[cos(v.a) cos(v.b) + sin(v.a) sin(v.b)] = E[cos(v.(a - b))] = exp(-||a - b||^2 / 2)``,
    so ``Phi_A Phi_B^T / N`` tends to this matrix as ``N`` grows (Bochner's theorem).

    Parameters
    ----------
    A : ndarray, shape (n_a, d)
    B : ndarray, shape (n_b, d)
        ``n_a n_b`` may be at most ``nnbook._validation.MAX_ELEMENTS``.

    Returns
    -------
    ndarray, shape (n_a, n_b)

    Examples
    --------
    >>> gaussian_kernel(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0]]))
    array([[1.        , 0.36787944]])
    """
    A = v.check_array(A, "A", ndim=2)
    B = v.check_array(B, "B", shape=(None, A.shape[1]))
    v.check_work(A.shape[0] * B.shape[0], "B", v.MAX_ELEMENTS, "kernel entries")
    sq = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2 * A @ B.T
    return np.exp(-np.maximum(sq, 0.0) / 2)


def kernel_limit(split: Split) -> KernelFit:
    """Ridgeless Gaussian-kernel regression on ``split``: the minimum-norm RFF fit as ``N`` tends to infinity.

    The minimum-norm fit predicts ``Phi_test Phi^T (Phi Phi^T)^{-1} y``; with
    ``Phi Phi^T / N -> K`` this tends to ``K_test K^{-1} y``, which
    interpolates the training labels. ``K`` is positive definite for distinct
    inputs and factorised by Cholesky.

    Parameters
    ----------
    split : Split
        At most ``MAX_KERNEL_POINTS`` training points; labels in {-1, +1}.

    Returns
    -------
    KernelFit

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> fit = kernel_limit(digits_curvy())
    >>> round(fit.test_mse, 4), round(fit.test_error, 4)
    (0.1337, 0.0234)
    """
    X_train, y_train, X_test, y_test = _check_split(split)
    v.check_work(X_train.shape[0], "split", MAX_KERNEL_POINTS, "training points")
    K = gaussian_kernel(X_train, X_train)
    eig = np.linalg.eigvalsh(K)
    if eig[0] <= X_train.shape[0] * np.finfo(float).eps * eig[-1]:
        raise ValueError("split has (nearly) repeated training inputs: the kernel matrix is singular")
    c = scipy.linalg.cho_solve(scipy.linalg.cho_factor(K), y_train)
    pred = gaussian_kernel(X_test, X_train) @ c
    return KernelFit(
        test_mse=float(np.mean((pred - y_test) ** 2)),
        train_mse=float(np.mean((K @ c - y_train) ** 2)),
        test_error=float(np.mean(np.sign(pred) != y_test)),
        condition_number=float(eig[-1] / eig[0]),
    )


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
    >>> smallest_singular_values(np.array([[3.0, 0.0], [0.0, 0.5]]), [1, 2])
    array([3. , 0.5])
    """
    Phi = v.check_array(Phi, "Phi", ndim=2)
    widths = v.check_array(widths, "widths", ndim=1, dtype="integer")
    if widths.min() < 1 or widths.max() > Phi.shape[1]:
        raise ValueError(f"widths must lie in [1, {Phi.shape[1]}], got values in [{widths.min()}, {widths.max()}]")
    n = Phi.shape[0]
    return np.array([scipy.linalg.svdvals(Phi[:, :p])[min(n, int(p)) - 1] for p in widths])


def _check_split(split: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four arrays of a :class:`~nnbook.data.Split`, checked: finite, matching shapes, labels +/-1."""
    if not isinstance(split, Split):
        raise TypeError(f"split must be a nnbook.data.Split, got {type(split).__name__}")
    X_train = v.check_array(split.X_train, "split.X_train", ndim=2)
    X_test = v.check_array(split.X_test, "split.X_test", shape=(None, X_train.shape[1]))
    y_train = v.check_array(split.y_train, "split.y_train", shape=(X_train.shape[0],))
    y_test = v.check_array(split.y_test, "split.y_test", shape=(X_test.shape[0],))
    for name, y in (("split.y_train", y_train), ("split.y_test", y_test)):
        if not np.isin(y, (-1.0, 1.0)).all():
            raise ValueError(
                f"{name} must hold labels -1 and +1, got values such as {y[~np.isin(y, (-1.0, 1.0))][0]!r}"
            )
    return X_train, y_train, X_test, y_test

"""Gradient descent and stochastic gradient descent on problems with known answers.

Two models whose optimum we can compute or characterise exactly:

- **Least squares.** Gradient descent on ``L(w) = ||X w - y||^2 / (2n)`` is the
  linear iteration ``w <- w - lr (H w - X^T y / n)`` with the constant Hessian
  ``H = X^T X / n``. Along the eigenvector of ``H`` with eigenvalue ``lam`` the
  error is multiplied by ``1 - lr * lam`` at every step, so the iteration
  converges for every ``y`` exactly when ``0 < lr < 2 / lam_max``
  (:func:`max_stable_lr`) and its rate is set by the worst factor
  ``max |1 - lr * lam|`` (:func:`gd_contraction`). Started from zero, the
  iterate after ``t`` steps is a *spectral filter* of the minimum-norm
  solution (:func:`gd_closed_form`), which is how a finite training budget
  regularises.
- **A logistic unit** ``p = sigmoid(w^T x)`` trained on the mean cross-entropy
  with the hand-derived gradient ``X^T (p - y) / m`` by full-batch, single-sample
  or mini-batch updates (:func:`logistic_sgd`), on two Gaussian classes
  (:func:`two_gaussians`).

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, 0.0], [0.0, 2.0]])
>>> max_stable_lr(X)  # H = diag(0.5, 2)
1.0
>>> run = least_squares_gd(X, np.array([1.0, 2.0]), lr=0.5, n_steps=60)
>>> np.round(run.w, 6), float(run.loss[-1]) < 1e-12
(array([1., 1.]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.special import expit

from nnbook._validation import (
    check_array,
    check_int,
    check_real,
    check_rng,
    check_same_length,
    check_work,
)

# Bound on the arithmetic of one run (number of steps x size of X), about a second of numpy work.
MAX_WORK = 5 * 10**8
# Bound on the size n * p * min(n, p) of a singular value decomposition or Gram matrix, a few seconds.
MAX_WORK_SVD = 8 * 10**9


@dataclass(frozen=True)
class GDResult:
    """A full-batch gradient-descent run on least squares."""

    w: np.ndarray  # (p,) the weights after the last step
    loss: np.ndarray  # (n_steps + 1,) ||X w - y||^2 / (2n) before each step and after the last


def _design(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X = check_array(X, "X", ndim=2)
    y = check_array(y, "y", ndim=1)
    check_same_length(X=X, y=y)
    if X.shape[1] == 0:
        raise ValueError(f"X must have at least one column, got shape {X.shape}")
    return X, y


def least_squares_gd(X: np.ndarray, y: np.ndarray, lr: float, n_steps: int, w0: np.ndarray | None = None) -> GDResult:
    """Minimise ``||X w - y||^2 / (2n)`` by full-batch gradient descent.

    Each step is ``w <- w - lr * X^T (X w - y) / n``. A step size above
    :func:`max_stable_lr` makes the loss grow geometrically: the trajectory is
    returned as long as it stays finite, and a :class:`ValueError` naming
    ``lr`` is raised if it overflows.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix.
    y : ndarray, shape (n,)
        Targets.
    lr : float
        Step size (``> 0``).
    n_steps : int
        Number of steps (``>= 0``); ``n_steps * n * p`` is bounded by :data:`MAX_WORK`.
    w0 : ndarray, shape (p,), optional
        Starting point; zeros by default.

    Returns
    -------
    GDResult
        ``w`` of shape (p,) and ``loss`` of shape (n_steps + 1,).

    Examples
    --------
    >>> X = np.array([[1.0], [1.0]])
    >>> least_squares_gd(X, np.array([0.0, 2.0]), lr=0.5, n_steps=2).loss
    array([1.     , 0.625  , 0.53125])
    """
    X, y = _design(X, y)
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    n_steps = check_int(n_steps, "n_steps", min_value=0)
    n, p = X.shape
    check_work(n_steps * n * p, "n_steps", MAX_WORK, "multiply-adds (n_steps x n x p)")
    w = np.zeros(p) if w0 is None else check_array(w0, "w0", shape=(p,)).copy()
    loss = np.empty(n_steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(n_steps + 1):
            r = X @ w - y
            loss[t] = r @ r / (2 * n)
            if not np.isfinite(loss[t]):
                raise ValueError(
                    f"lr = {lr!r} made gradient descent diverge: the loss overflowed at step {t}; "
                    f"lr must be below max_stable_lr(X) = {max_stable_lr(X):.6g}"
                )
            if t < n_steps:
                w -= (lr / n) * (X.T @ r)
    return GDResult(w=w, loss=loss)


def hessian_eigenvalues(X: np.ndarray) -> np.ndarray:
    """Eigenvalues of the least-squares Hessian ``H = X^T X / n``, ascending (zeros included when ``p > n``).

    Computed from the singular values of ``X`` (``lam = s^2 / n``), which keeps the small ones accurate.

    Examples
    --------
    >>> hessian_eigenvalues(np.array([[2.0, 0.0], [0.0, 0.0]]))
    array([0., 2.])
    """
    X = check_array(X, "X", ndim=2)
    n, p = X.shape
    check_work(n * p * min(n, p), "X", MAX_WORK_SVD, "multiply-adds of an SVD")
    lam = np.zeros(p)
    lam[: min(n, p)] = np.linalg.svd(X, compute_uv=False) ** 2 / n
    return np.sort(lam)


def max_stable_lr(X: np.ndarray) -> float:
    """The largest step size ``2 / lam_max(X^T X / n)`` for which :func:`least_squares_gd` converges on every ``y``.

    At exactly this value the component along the top eigenvector flips sign
    without shrinking; any smaller positive step converges, any larger one
    diverges for a generic ``y``. For the mean squared error *without* the
    factor 1/2 (PyTorch's ``MSELoss``) the Hessian doubles and the bound halves.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design matrix, not all zero.

    Returns
    -------
    float

    Examples
    --------
    >>> max_stable_lr(np.array([[3.0, 0.0], [0.0, 1.0]]))  # H = diag(4.5, 0.5)
    0.4444444444444444
    """
    X = check_array(X, "X", ndim=2)
    n, p = X.shape
    check_work(n * p * min(n, p), "X", MAX_WORK_SVD, "multiply-adds of a Gram matrix")
    gram = X.T @ X if p <= n else X @ X.T  # the same non-zero eigenvalues; the smaller one is cheaper
    top = scipy.linalg.eigvalsh(gram, subset_by_index=[gram.shape[0] - 1] * 2)[0] / n
    if top <= 0:
        raise ValueError("X must not be all zero: the Hessian X^T X / n has no positive eigenvalue")
    return float(2.0 / top)


def gd_contraction(X: np.ndarray, lr: float) -> float:
    """Per-step factor ``max |1 - lr * lam|`` over the positive eigenvalues ``lam`` of ``X^T X / n``.

    The distance to the least-squares solution (in the span of the rows of
    ``X``) shrinks at least by this factor every step, and the excess loss by
    its square; below one the iteration converges, above one it diverges.
    ``lr = 2 / (lam_max + lam_min)`` makes it smallest,
    ``(kappa - 1) / (kappa + 1)`` for the condition number ``kappa = lam_max / lam_min``.

    Examples
    --------
    >>> round(gd_contraction(np.array([[3.0, 0.0], [0.0, 1.0]]), 0.4), 12)  # |1 - 0.4 * 4.5| = |1 - 0.4 * 0.5|
    0.8
    """
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    lam = hessian_eigenvalues(X)
    lam = lam[lam > lam[-1] * 1e-12]
    if lam.size == 0:
        raise ValueError("X must not be all zero: the Hessian X^T X / n has no positive eigenvalue")
    return float(np.max(np.abs(1.0 - lr * lam)))


def gd_closed_form(X: np.ndarray, y: np.ndarray, lr: float, n_steps: int | np.ndarray) -> np.ndarray:
    """The weights :func:`least_squares_gd` reaches from zero after ``n_steps`` steps, without iterating.

    With the eigenpairs ``(mu_i, q_i)`` of ``X^T X`` the iterate is

    ``w_t = sum_i (1 - (1 - lr mu_i / n)^t) / mu_i * q_i q_i^T X^T y``,

    the minimum-norm solution ``sum_i q_i q_i^T X^T y / mu_i`` with direction
    ``i`` damped by the filter ``1 - (1 - lr mu_i / n)^t``: directions with
    ``lr mu_i t / n >> 1`` are fitted, those with ``lr mu_i t / n << 1`` barely
    move (their coefficient tends to ``lr t / n``, whatever ``mu_i``). So the
    iterate never leaves the span of the rows of ``X``, a finite number of
    steps acts like a ridge penalty of about ``n / (lr t)``, and the limit is
    the minimum-norm solution. The factor ``(1 - (1 - lr mu / n)^t) / mu`` is
    bounded, so the result is accurate even when ``X`` is ill-conditioned.
    When ``p > n`` the ``n x n`` matrix ``X X^T`` is used instead (same non-zero
    eigenvalues, ``w_t = X^T sum_i (...) u_i u_i^T y``).

    Parameters
    ----------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    lr : float
        Step size, ``0 < lr < max_stable_lr(X)``.
    n_steps : int or ndarray of int, shape (T,)
        Numbers of steps (``>= 0``).

    Returns
    -------
    ndarray, shape (p,) for an int ``n_steps``, else (p, T)

    Examples
    --------
    >>> X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 2.0])
    >>> np.allclose(gd_closed_form(X, y, 0.3, 7), least_squares_gd(X, y, 0.3, 7).w)
    True
    >>> gd_closed_form(X, y, 0.3, [0, 7, 10**6]).shape
    (2, 3)
    """
    X, y = _design(X, y)
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    scalar = np.ndim(n_steps) == 0
    steps = check_array(np.atleast_1d(n_steps), "n_steps", ndim=1, dtype="integer")
    if steps.min() < 0:
        raise ValueError(f"n_steps must be >= 0, got {int(steps.min())}")
    n, p = X.shape
    check_work(n * p * min(n, p), "X", MAX_WORK_SVD, "multiply-adds of a Gram matrix")
    primal = p <= n
    mu, Q = scipy.linalg.eigh(X.T @ X if primal else X @ X.T)
    if mu[-1] <= 0:
        raise ValueError("X must not be all zero: the Hessian X^T X / n has no positive eigenvalue")
    if lr >= 2.0 * n / mu[-1]:
        raise ValueError(f"lr must be below max_stable_lr(X) = {2.0 * n / mu[-1]:.6g}, got {lr!r}")
    mu = np.maximum(mu, 0.0)  # round-off can make zero eigenvalues slightly negative
    t = steps.astype(float)[:, None]
    x = lr * mu / n  # in [0, 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # (T, r): 1 - (1 - x)^t, through expm1/log1p where 1 - x > 0 (accurate for tiny x), by powers otherwise
        damped = np.where(x < 0.5, -np.expm1(t * np.log1p(-np.minimum(x, 0.5))), 1.0 - np.power(1.0 - x, t))
        gain = np.where(mu > 0, damped / mu, t * lr / n)  # its limit lr t / n as mu -> 0
    w = Q @ (gain.T * (Q.T @ (X.T @ y if primal else y))[:, None])
    w = w if primal else X.T @ w
    return w[:, 0] if scalar else w


def null_space_norm(X: np.ndarray, v: np.ndarray) -> float:
    """Norm of the part of ``v`` outside the span of the rows of ``X``: ``||v - P v||``.

    Every gradient of a loss of ``X w`` is a combination of the rows of ``X``,
    so gradient descent, full-batch or stochastic, never changes this part of
    the weights: it keeps the value it had at initialisation. The projection
    ``P`` comes from a QR factorisation of ``X^T`` with column pivoting
    (numerical rank from its diagonal).

    Parameters
    ----------
    X : ndarray, shape (n, p)
    v : ndarray, shape (p,)

    Returns
    -------
    float

    Examples
    --------
    >>> null_space_norm(np.array([[1.0, 0.0, 0.0]]), np.array([3.0, 4.0, 0.0]))
    4.0
    """
    X = check_array(X, "X", ndim=2)
    v = check_array(v, "v", shape=(X.shape[1],))
    n, p = X.shape
    check_work(n * p * min(n, p), "X", MAX_WORK_SVD, "multiply-adds of a QR factorisation")
    Q, R, _ = scipy.linalg.qr(X.T, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    rank = int(np.sum(diag > (diag[0] if diag.size else 0.0) * max(n, p) * np.finfo(float).eps))
    Q = Q[:, :rank]
    return float(np.linalg.norm(v - Q @ (Q.T @ v)))


def regression_problem(
    n: int, p: int, condition: float, noise: float = 0.1, rng: np.random.Generator | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A simulated linear regression whose Hessian ``X^T X / n`` has eigenvalues from 1 to ``condition``.

    ``X = sqrt(n) U diag(s) V^T`` with random orthonormal ``U`` (n x p) and
    ``V`` (p x p) and ``s^2`` evenly spaced on ``[1, condition]``, so
    ``X^T X / n = V diag(s^2) V^T`` exactly; ``y = X w + noise * e`` with
    standard normal ``w`` and ``e``.

    Parameters
    ----------
    n, p : int
        ``1 <= p <= n <= 10**6``.
    condition : float
        ``lam_max / lam_min >= 1``.
    noise : float
        Standard deviation of the label noise (``>= 0``).
    rng : Generator, int or None

    Returns
    -------
    X : ndarray, shape (n, p)
    y : ndarray, shape (n,)

    Examples
    --------
    >>> X, y = regression_problem(50, 3, condition=10.0, rng=0)
    >>> np.round(hessian_eigenvalues(X), 6).tolist()
    [1.0, 5.5, 10.0]
    """
    n = check_int(n, "n", min_value=1, max_value=10**6)
    p = check_int(p, "p", min_value=1, max_value=n)
    check_work(n * p * p, "p", MAX_WORK_SVD, "multiply-adds of a QR factorisation")
    condition = check_real(condition, "condition", min_value=1.0)
    noise = check_real(noise, "noise", min_value=0.0)
    rng = check_rng(rng)
    U = np.linalg.qr(rng.standard_normal((n, p)))[0]
    V = np.linalg.qr(rng.standard_normal((p, p)))[0]
    X = np.sqrt(n) * (U * np.sqrt(np.linspace(1.0, condition, p))) @ V.T
    return X, X @ rng.standard_normal(p) + noise * rng.standard_normal(n)


def two_gaussians(
    n_per_class: int = 40,
    means: tuple[tuple[float, float], tuple[float, float]] = ((2.0, 1.0), (1.0, 0.0)),
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two 2-D Gaussian classes with random covariances, with a constant bias feature first.

    Class ``k`` has mean ``means[k]`` and covariance ``S_k^T S_k`` with the
    entries of ``S_k`` uniform on ``[0, 1)``; the rows are shuffled.

    Parameters
    ----------
    n_per_class : int
        Points per class (``1 <= n_per_class <= 10**6``).
    means : pair of pairs of float
        The class means; class 0 first.
    rng : Generator, int or None

    Returns
    -------
    X : ndarray, shape (2 n_per_class, 3)
        Columns ``(1, x_1, x_2)``.
    y : ndarray, shape (2 n_per_class,)
        Labels 1.0 for class 0 and 0.0 for class 1.

    Examples
    --------
    >>> X, y = two_gaussians(5, rng=0)
    >>> X.shape, X[:, 0].tolist() == [1.0] * 10, sorted(y.tolist()) == [0.0] * 5 + [1.0] * 5
    ((10, 3), True, True)
    """
    n_per_class = check_int(n_per_class, "n_per_class", min_value=1, max_value=10**6)
    means = check_array(means, "means", shape=(2, 2))
    rng = check_rng(rng)
    points = []
    for mean in means:
        S = rng.uniform(size=(2, 2))
        points.append(rng.multivariate_normal(mean, S.T @ S, size=n_per_class, method="eigh"))
    X = np.column_stack([np.ones(2 * n_per_class), np.concatenate(points)])
    y = np.concatenate([np.ones(n_per_class), np.zeros(n_per_class)])
    order = rng.permutation(2 * n_per_class)
    return X[order], y[order]


@dataclass(frozen=True)
class LogisticRun:
    """A logistic unit trained by (mini-batch) gradient descent; ``U`` updates in all."""

    w: np.ndarray  # (p,) final weights
    weights: np.ndarray  # (U + 1, p) the weights before each update and after the last
    loss: np.ndarray  # (U + 1,) mean cross-entropy over all n examples at those weights
    examples: np.ndarray  # (U + 1,) examples whose gradient had been used before that point
    batch_size: int  # m, examples per update (n for full-batch gradient descent)


def logistic_sgd(
    X: np.ndarray,
    y: np.ndarray,
    lr: float,
    n_epochs: int,
    batch_size: int | None = None,
    w0: np.ndarray | None = None,
    rng: np.random.Generator | int | None = None,
) -> LogisticRun:
    """Train ``p = sigmoid(X w)`` on the mean cross-entropy with the hand-derived gradient.

    Each update uses a batch ``B`` of ``m`` examples and steps
    ``w <- w - lr * X_B^T (p_B - y_B) / m``. Every epoch visits the examples in
    a fresh random order (drawn from ``rng``) in consecutive batches, the last
    one possibly smaller; ``batch_size=None`` is full-batch gradient descent,
    one update per epoch in which the order does not matter.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Inputs (with a column of ones for a bias).
    y : ndarray, shape (n,)
        Labels in ``[0, 1]``.
    lr : float
        Step size (``> 0``).
    n_epochs : int
        Passes over the data (``>= 0``).
    batch_size : int or None
        ``m`` in ``[1, n]``, or None for ``m = n``.
    w0 : ndarray, shape (p,), optional
        Starting weights; zeros by default.
    rng : Generator, int or None
        Seed or generator for the order of the examples.

    Returns
    -------
    LogisticRun

    Examples
    --------
    >>> X, y = np.array([[1.0, -1.0], [1.0, 2.0]]), np.array([0.0, 1.0])
    >>> run = logistic_sgd(X, y, lr=1.0, n_epochs=3, batch_size=1, rng=0)
    >>> run.weights.shape, run.examples.tolist(), bool(run.loss[-1] < run.loss[0])
    ((7, 2), [0, 1, 2, 3, 4, 5, 6], True)
    """
    X, y = _design(X, y)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("y must hold labels in [0, 1]")
    n, p = X.shape
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    n_epochs = check_int(n_epochs, "n_epochs", min_value=0)
    m = n if batch_size is None else check_int(batch_size, "batch_size", min_value=1, max_value=n)
    rng = check_rng(rng)
    per_epoch = -(-n // m)
    check_work(n_epochs * per_epoch * n * p, "n_epochs", MAX_WORK, "multiply-adds (updates x n x p)")
    w = np.zeros(p) if w0 is None else check_array(w0, "w0", shape=(p,)).copy()
    weights = np.empty((n_epochs * per_epoch + 1, p))
    examples = np.zeros(n_epochs * per_epoch + 1, dtype=np.int64)
    weights[0] = w
    u = 0
    for _ in range(n_epochs):
        order = np.arange(n) if batch_size is None else rng.permutation(n)
        for start in range(0, n, m):
            Xb, yb = X[order[start : start + m]], y[order[start : start + m]]
            w = w - (lr / yb.size) * (Xb.T @ (expit(Xb @ w) - yb))  # the gradient of the mean cross-entropy
            u += 1
            weights[u], examples[u] = w, examples[u - 1] + yb.size
    return LogisticRun(w=w, weights=weights, loss=_mean_cross_entropy(X, y, weights), examples=examples, batch_size=m)


def _mean_cross_entropy(X: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean cross-entropy of ``sigmoid(X w)`` for every row ``w`` of ``weights`` at once."""
    s = X @ weights.T  # (n, U + 1)
    return np.mean(np.logaddexp(0.0, s) - y[:, None] * s, axis=0)

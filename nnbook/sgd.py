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
import torch
from scipy.special import expit
from torch import nn

from nnbook import rff

from nnbook._validation import (
    check_array,
    check_int,
    check_real,
    check_rng,
    check_same_length,
    check_seed,
    check_work,
)
from nnbook.data import Split
from nnbook.training import History, TrainConfig, predict, train

# Bound on the arithmetic of one run (number of steps x size of X), about a second of numpy work.
MAX_WORK = 5 * 10**8
# Largest standard deviation of initial coefficients (larger ones overflow float32 predictions).
MAX_INIT_STD = 1e3
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
    w = _gd_filtered(X, y, lr, steps, _gram_spectrum(X))
    return w[:, 0] if scalar else w


def _gram_spectrum(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Eigenpairs ``(mu, Q)`` of the smaller Gram matrix, ``X^T X`` (``primal``) or ``X X^T``; ``mu`` ascending."""
    n, p = X.shape
    check_work(n * p * min(n, p), "X", MAX_WORK_SVD, "multiply-adds of a Gram matrix")
    primal = p <= n
    mu, Q = scipy.linalg.eigh(X.T @ X if primal else X @ X.T)
    if mu[-1] <= 0:
        raise ValueError("X must not be all zero: the Hessian X^T X / n has no positive eigenvalue")
    return np.maximum(mu, 0.0), Q, primal  # round-off can make zero eigenvalues slightly negative


def _gd_filtered(X: np.ndarray, y: np.ndarray, lr: float, steps: np.ndarray, spectrum) -> np.ndarray:
    """:func:`gd_closed_form` for the step counts ``steps`` (T,), from the spectrum of :func:`_gram_spectrum`: (p, T)."""
    mu, Q, primal = spectrum
    n = X.shape[0]
    if lr >= 2.0 * n / mu[-1]:
        raise ValueError(f"lr must be below max_stable_lr(X) = {2.0 * n / mu[-1]:.6g}, got {lr!r}")
    t = steps.astype(float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        damped = -np.expm1(t * np.log1p(-lr * mu / n))  # (T, r): 1 - (1 - lr mu / n)^t
        gain = np.where(mu > 0, damped / mu, t * lr / n)  # its limit lr t / n as mu -> 0
    w = Q @ (gain.T * (Q.T @ (X.T @ y if primal else y))[:, None])
    return w if primal else X.T @ w


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


def readout(n_inputs: int, init_std: float = 1e-3, seed: int = 0) -> nn.Linear:
    """The trainable layer of a random-feature model: ``nn.Linear(n_inputs, 1, bias=False)``, weights ``N(0, init_std^2)``.

    Examples
    --------
    >>> readout(4, init_std=0.0).weight.abs().sum().item()
    0.0
    """
    n_inputs = check_int(n_inputs, "n_inputs", min_value=1, max_value=10**7)
    init_std = check_real(init_std, "init_std", min_value=0.0, max_value=MAX_INIT_STD)
    generator = torch.Generator().manual_seed(check_seed(seed))
    layer = nn.Linear(n_inputs, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(init_std * torch.randn(1, n_inputs, generator=generator))
    return layer


@dataclass(frozen=True, eq=False)
class RFFRun:
    """One SGD run of a random Fourier feature model (a fixed feature map and a trained :func:`readout`)."""

    n_features: int  # N frequencies, 2N coefficients
    history: History  # train_loss / test_loss are MSEs; measurements["test_error"] the fraction of wrong signs
    a0: np.ndarray  # (2N,) coefficients at initialisation
    a: np.ndarray  # (2N,) coefficients after training


def rff_features(split: Split, n_features: int, draw: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and test features of the RFF model with ``n_features`` frequencies drawn with seed ``draw``.

    Returns
    -------
    Phi : ndarray, shape (n_train, 2 n_features)
    Phi_test : ndarray, shape (n_test, 2 n_features)

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> [P.shape for P in rff_features(digits_curvy(), 3)]
    [(898, 6), (899, 6)]
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a nnbook.data.Split, got {type(split).__name__}")
    n_features = check_int(n_features, "n_features", min_value=1, max_value=10**5)
    V = rff.sample_frequencies(split.X_train.shape[1], n_features, rng=check_seed(draw, "draw"))
    return rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)


def rff_sgd(split: Split, n_features: int, config: TrainConfig, draw: int = 0, init_std: float = 1e-3) -> RFFRun:
    """Train the coefficients of an RFF model on ``split`` with :func:`nnbook.training.train`.

    The features are :func:`rff_features` (computed once, frequencies drawn with seed ``draw``),
    the coefficients start from :func:`readout` (seed ``draw``) and are trained
    with every setting of ``config`` (use ``loss="mse"``), evaluated on the test
    set after every epoch.

    Parameters
    ----------
    split : Split
        E.g. :func:`nnbook.data.digits_curvy`, labels +-1.
    n_features : int
        ``N`` (``1 <= N <= 10**5``).
    config : TrainConfig
    draw : int
        Seed of the frequencies and of the initial coefficients.
    init_std : float
        Standard deviation of the initial coefficients (``<=`` :data:`MAX_INIT_STD`).

    Returns
    -------
    RFFRun

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> config = TrainConfig(lr=0.01, epochs=2, batch_size=64, loss="mse", device="cpu")
    >>> run = rff_sgd(digits_curvy(), 20, config)
    >>> run.a.shape, run.history.test_loss.shape, run.history.config.lr
    ((40,), (3,), 0.01)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    Phi, Phi_test = rff_features(split, n_features, draw)
    model = readout(2 * n_features, init_std, seed=draw)
    a0 = model.weight.detach().double().numpy()[0].copy()
    test_t = torch.as_tensor(Phi_test, dtype=model.weight.dtype)

    def sign_error(net: nn.Module, epoch: int) -> dict[str, float]:
        return {"test_error": float(np.mean(np.sign(predict(net, test_t)[:, 0]) != split.y_test))}

    history = train(model, config, (Phi, split.y_train), test=(Phi_test, split.y_test), hooks=[sign_error])
    a = model.weight.detach().double().numpy()[0].copy()
    return RFFRun(n_features, history, a0, a)


def stack_curves(runs: list[RFFRun], name: str) -> np.ndarray:
    """``(len(runs), E + 1)`` array of a per-epoch curve (``"train_loss"``, ``"test_loss"`` or a measurement).

    A run that stopped early (diverged) is padded with NaN.

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> config = TrainConfig(lr=0.01, epochs=2, batch_size=64, loss="mse", device="cpu")
    >>> stack_curves([rff_sgd(digits_curvy(), 5, config, draw=d) for d in (0, 1)], "test_error").shape
    (2, 3)
    """
    histories = [r.history for r in runs]
    if not histories:
        raise ValueError("runs must not be empty")
    length = max(h.config.epochs for h in histories) + 1
    out = np.full((len(histories), length), np.nan)
    for i, h in enumerate(histories):
        curve = getattr(h, name, None) if name in ("train_loss", "test_loss") else h.measurements.get(name)
        if curve is None:
            raise ValueError(f"name must be 'train_loss', 'test_loss' or a measurement of the runs, got {name!r}")
        out[i, : curve.size] = curve
    return out


@dataclass(frozen=True)
class SGDSweep:
    """SGD-trained RFF models of several sizes beside the minimum-norm fit; arrays ``[draw, size, ...]``."""

    n_features: np.ndarray  # (K,) numbers N of frequencies
    ratio: np.ndarray  # (K,) 2N / n
    epoch: np.ndarray  # (E + 1,) 0, ..., E
    steps_per_epoch: int  # ceil(n / batch_size)
    lr: np.ndarray  # (D, K) step size of each run: lr_fraction * its stable_lr
    train_mse: np.ndarray  # (D, K, E + 1) SGD, after each epoch (NaN after a divergence)
    test_mse: np.ndarray  # (D, K, E + 1)
    gd_epochs: np.ndarray  # (G,) budgets, in epochs, of the noise-free gradient descent (closed form)
    gd_test_mse: np.ndarray  # (D, K, G) full-batch GD, same lr and start, after gd_epochs * steps_per_epoch steps
    gd_to_min_norm: np.ndarray  # (D, K, G) ||a_gd - a_min_norm|| / ||a_min_norm|| at those budgets
    min_norm_train_mse: np.ndarray  # (D, K)
    min_norm_test_mse: np.ndarray  # (D, K)
    to_min_norm: np.ndarray  # (D, K) ||a_sgd - a_min_norm|| / ||a_min_norm|| after the last epoch
    to_gd: np.ndarray  # (D, K) ||a_sgd - a_gd|| / ||a_gd||, a_gd = GD after the same number of steps


def sgd_double_descent(
    split: Split,
    n_features: np.ndarray,
    *,
    lr_fraction: float,
    epochs: int,
    batch_size: int,
    gd_epochs: tuple[int, ...] = (),
    draws: tuple[int, ...] = (0, 1, 2),
    init_std: float = 1e-3,
) -> SGDSweep:
    """Test error against model size for SGD, for noise-free gradient descent and for the minimum-norm fit.

    For each draw the frequencies of the largest model are sampled once
    (seed = the draw) and a model with ``N`` frequencies uses the first ``N``
    of them. Each model is trained by :func:`rff_sgd`-style SGD with the
    step size ``lr_fraction * max_stable_lr(Phi) / 2`` (a fixed fraction of the
    stability bound of its own features, which shrinks like ``1 / N``), for
    ``epochs`` epochs of mini-batches of ``batch_size``. Beside it:
    full-batch gradient descent from the same start with the same step size
    (:func:`gd_closed_form`, PyTorch's mean squared error being twice the loss
    of :func:`least_squares_gd`), which is what SGD does on average, and the
    minimum-norm least-squares fit (:func:`nnbook.rff.fit_min_norm`), which is
    where gradient descent ends.

    Parameters
    ----------
    split : Split
    n_features : array of int, shape (K,)
        Model sizes ``N`` (each in ``[1, 5000]``).
    lr_fraction : float
        In ``(0, 2]``: the step size in units of the stability bound.
    epochs, batch_size : int
        SGD budget (``epochs >= 1``) and batch size (``>= 1``).
    gd_epochs : tuple of int
        Budgets (in epochs of ``steps_per_epoch`` steps, each ``>= 0``) at which the gradient-descent curve is evaluated.
    draws : tuple of int
        Seeds of the frequency draws (and of the initialisation and the batch order).
    init_std : float
        Standard deviation of the initial coefficients.

    Returns
    -------
    SGDSweep

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> s = sgd_double_descent(digits_curvy(), [20, 600], lr_fraction=0.3, epochs=2, batch_size=128,
    ...                        gd_epochs=(2, 10**6), draws=(0,))
    >>> s.test_mse.shape, s.gd_test_mse.shape, bool(s.to_gd.max() < 0.5)
    ((1, 2, 3), (1, 2, 2), True)
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a nnbook.data.Split, got {type(split).__name__}")
    sizes = check_array(n_features, "n_features", ndim=1, dtype="integer")
    if sizes.min() < 1 or sizes.max() > 5000:
        raise ValueError(f"n_features must lie in [1, 5000], got [{sizes.min()}, {sizes.max()}]")
    lr_fraction = check_real(lr_fraction, "lr_fraction", min_value=0.0, max_value=2.0, min_inclusive=False)
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    budgets = check_array(np.asarray(gd_epochs, dtype=np.int64).reshape(-1), "gd_epochs", ndim=1, dtype="integer", min_rows=0)
    if budgets.size and budgets.min() < 0:
        raise ValueError(f"gd_epochs must be >= 0, got {int(budgets.min())}")
    draws = tuple(check_seed(d, "draws") for d in draws)
    if not draws:
        raise ValueError("draws must not be empty")
    n, d = split.X_train.shape
    per_epoch = -(-n // min(batch_size, n))
    check_work(len(draws) * int(sizes.sum()) * 2 * n * epochs, "epochs", 10**11, "multiply-adds of SGD")
    D, K, E = len(draws), sizes.size, epochs
    out = {k: np.full((D, K, E + 1), np.nan) for k in ("train", "test")}
    gd_test, gd_to_mn, lr = np.empty((D, K, budgets.size)), np.empty((D, K, budgets.size)), np.empty((D, K))
    mn_train, mn_test, to_mn, to_gd = (np.empty((D, K)) for _ in range(4))
    for i, draw in enumerate(draws):
        V = rff.sample_frequencies(d, int(sizes.max()), rng=draw)
        Phi_all, Phi_test_all = rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)
        for k, size in enumerate(sizes):
            Phi, Phi_test = Phi_all[:, : 2 * size], Phi_test_all[:, : 2 * size]
            spectrum = _gram_spectrum(Phi)
            lr[i, k] = lr_fraction * n / spectrum[0][-1]  # lr_fraction * max_stable_lr(Phi) / 2
            config = TrainConfig(
                lr=lr[i, k], epochs=E, batch_size=batch_size, loss="mse", seed=draw, on_divergence="stop", progress=False
            )
            model = readout(2 * int(size), init_std, seed=draw)
            a0 = model.weight.detach().double().numpy()[0].copy()
            h = train(model, config, (Phi, split.y_train), test=(Phi_test, split.y_test))
            out["train"][i, k, : h.train_loss.size], out["test"][i, k, : h.test_loss.size] = h.train_loss, h.test_loss
            a = model.weight.detach().double().numpy()[0]
            # GD from a0 is a0 plus GD from zero on the residual targets y - Phi a0.
            residual = split.y_train - Phi @ a0
            steps = np.append(budgets * per_epoch, h.steps)  # the budgets, then the steps this run took
            a_gd = a0[:, None] + _gd_filtered(Phi, residual, 2 * lr[i, k], steps, spectrum)
            gd_test[i, k] = np.mean((Phi_test @ a_gd[:, :-1] - split.y_test[:, None]) ** 2, axis=0)
            a_min = rff.fit_min_norm(Phi, split.y_train)
            gd_to_mn[i, k] = np.linalg.norm(a_gd[:, :-1] - a_min[:, None], axis=0) / np.linalg.norm(a_min)
            mn_train[i, k] = np.mean((Phi @ a_min - split.y_train) ** 2)
            mn_test[i, k] = np.mean((Phi_test @ a_min - split.y_test) ** 2)
            to_mn[i, k] = np.linalg.norm(a - a_min) / np.linalg.norm(a_min)
            to_gd[i, k] = np.linalg.norm(a - a_gd[:, -1]) / np.linalg.norm(a_gd[:, -1])
    return SGDSweep(
        sizes, 2 * sizes / n, np.arange(E + 1), per_epoch, lr, out["train"], out["test"], budgets, gd_test,
        gd_to_mn, mn_train, mn_test, to_mn, to_gd,
    )

"""Gradients derived by hand, and a finite-difference checker to trust them.

Each loss of the chapter sits beside its hand-derived gradient: the random
Fourier feature least-squares objective, softmax with its Jacobian,
cross-entropy on softmax, and the logistic unit. The numerically stable forms
(max-shifted softmax, ``exp(-|x|)`` sigmoid) never overflow. The checker
compares any gradient with central differences.

Examples
--------
>>> import numpy as np
>>> z = np.array([1.0, 2.0, 3.0])
>>> softmax(z).round(4)
array([0.09  , 0.2447, 0.6652])
>>> softmax_jacobian(z).sum(axis=-1).round(12)
array([0., 0., 0.])
>>> check_gradient(lambda x: np.sum(x**3), lambda x: 3 * x**2, z).passed
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of :func:`check_gradient`.

    ``analytic`` and ``numerical`` have the shape of ``x``; ``rel_error`` is
    ``max|analytic - numerical| / max(max|analytic|, max|numerical|)``.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    max_abs_error: float
    rel_error: float
    passed: bool


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest entry-wise difference divided by the largest magnitude of ``a`` and ``b``.

    Returns 0 when both are all zeros. Entry-wise ratios would blow up on tiny
    entries; scaling by the largest entry measures the error against the size
    of the gradient.

    Examples
    --------
    >>> round(relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.002])), 6)
    0.000999
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def rff_loss(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> float:
    """Mean squared error ``(1/n) ||Phi a - y||^2`` of a linear model on features ``Phi``."""
    Phi, y, a = _check_rff(Phi, y, a)
    residual = _finite_or_raise(Phi @ a - y, Phi, y, a)
    return float(residual @ residual / Phi.shape[0])


def rff_loss_gradient(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Gradient ``(2/n) Phi^T (Phi a - y)`` of :func:`rff_loss` with respect to ``a``.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
        Features of the ``n`` training points (e.g. random Fourier features).
    y : ndarray, shape (n,)
        Targets.
    a : ndarray, shape (p,)
        Weights of the linear readout.

    Returns
    -------
    ndarray, shape (p,)
        float32 when all inputs are float32, float64 otherwise.

    Examples
    --------
    >>> Phi = np.array([[1.0, 0.0], [1.0, 2.0]])
    >>> rff_loss_gradient(Phi, np.array([1.0, 1.0]), np.array([0.0, 1.0]))
    array([0., 2.])
    """
    Phi, y, a = _check_rff(Phi, y, a)
    return (2.0 / Phi.shape[0]) * (Phi.T @ _finite_or_raise(Phi @ a - y, Phi, y, a))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis``, shifted by the max so it never overflows.

    Parameters
    ----------
    z : ndarray, shape (..., m, ...)
        Finite logits; float32 stays float32, other dtypes become float64.
    axis : int
        The axis of the ``m`` classes.

    Returns
    -------
    ndarray, shape of ``z``
        Non-negative, summing to one along ``axis``.

    Examples
    --------
    >>> softmax(np.array([1000.0, 1000.0]))
    array([0.5, 0.5])
    """
    z = _check_logits(z, axis)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """Jacobian ``J[..., i, j] = dy_i / dz_j = y_i (delta_ij - y_j)`` of softmax over the last axis.

    In matrix form ``J = diag(y) - y y^T`` with ``y = softmax(z)``: symmetric,
    rows summing to zero. Batched over the leading axes, without loops.

    Parameters
    ----------
    z : ndarray, shape (..., m)

    Returns
    -------
    ndarray, shape (..., m, m)

    Examples
    --------
    >>> softmax_jacobian(np.zeros(2))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    y = softmax(z, axis=-1)
    eye = np.eye(y.shape[-1], dtype=y.dtype)
    return y[..., :, None] * (eye - y[..., None, :])


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log softmax(z)`` computed as ``z - max - log sum exp(z - max)`` (no overflow, no log 0)."""
    z = _check_logits(z, axis)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy ``-sum_k y_k log softmax(z)_k`` of target distributions ``y``, shape (...,)."""
    z, y = _check_targets(z, y)
    return -(y * log_softmax(z)).sum(axis=-1)


def softmax_cross_entropy_gradient(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient ``softmax(z) - y`` of :func:`softmax_cross_entropy` with respect to the logits.

    Parameters
    ----------
    z : ndarray, shape (..., m)
        Logits.
    y : ndarray, shape (..., m)
        Target distributions (non-negative, each row summing to one; one-hot
        labels are the usual case).

    Returns
    -------
    ndarray, shape (..., m)

    Examples
    --------
    >>> softmax_cross_entropy_gradient(np.zeros(2), np.array([1.0, 0.0]))
    array([-0.5,  0.5])
    """
    z, y = _check_targets(z, y)
    return softmax(z) - y


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` from ``exp(-|x|)``, which never overflows.

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    x = _as_float(x, "x")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def sigmoid_derivative(x: np.ndarray) -> np.ndarray:
    """``sigma'(x) = sigma(x) (1 - sigma(x))``, as ``exp(-|x|) / (1 + exp(-|x|))^2`` (exact for large ``|x|``)."""
    x = _as_float(x, "x")
    e = np.exp(-np.abs(x))
    return e / (1.0 + e) ** 2


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log sigma(x) = -(max(-x, 0) + log1p(exp(-|x|)))``: finite for every finite ``x``.

    Examples
    --------
    >>> log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.00000000e+03, -6.93147181e-01, -0.00000000e+00])
    """
    x = _as_float(x, "x")
    return -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))


def logistic_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy ``-sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]`` of ``p = sigmoid(X w)``."""
    w, X, y = _check_logistic(w, X, y)
    s = X @ w
    return float(-(y * log_sigmoid(s) + (1 - y) * log_sigmoid(-s)).sum())


def logistic_loss_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient ``-sum_i (y_i - p_i) x_i`` of :func:`logistic_loss` with respect to ``w``.

    Parameters
    ----------
    w : ndarray, shape (d,)
        Weights of the logistic unit ``p = sigmoid(x^T w)``.
    X : ndarray, shape (n, d)
        Inputs (append a column of ones for a bias).
    y : ndarray, shape (n,)
        Labels in [0, 1].

    Returns
    -------
    ndarray, shape (d,)

    Examples
    --------
    >>> logistic_loss_gradient(np.zeros(2), np.eye(2), np.array([1.0, 0.0]))
    array([-0.5,  0.5])
    """
    w, X, y = _check_logistic(w, X, y)
    return -X.T @ (y - sigmoid(X @ w))


def numerical_gradient(
    f: Callable, x: np.ndarray, eps: float = 1e-6, batched: bool = False, central: bool = True
) -> np.ndarray:
    """Finite differences along every coordinate ``k`` of ``x``.

    Central: ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``, error
    ``O(eps^2) + O(u / eps)`` (``u`` = 1.1e-16 is the float64 round-off), best
    near ``eps = 1e-5``. Forward (``central=False``): ``(f(x + eps e_k) - f(x)) / eps``,
    error ``O(eps) + O(u / eps)``, best near ``eps = 1e-8`` and far less accurate.

    Parameters
    ----------
    f : callable
        Scalar function of an array shaped like ``x``. With ``batched=True`` it
        takes a stack of shape ``(b, *x.shape)`` and returns shape ``(b,)``, so
        all evaluations run as one vectorised call.
    x : ndarray, shape (...)
        The point (converted to float64).
    eps : float
        Step, ``> 0``.
    batched : bool
        Whether ``f`` is vectorised over a leading axis.
    central : bool
        Central (``2 x.size`` evaluations) or forward (``x.size + 1``) differences.

    Returns
    -------
    ndarray, shape of ``x``

    Examples
    --------
    >>> numerical_gradient(lambda v: v @ v, np.array([1.0, -2.0])).round(8)
    array([ 2., -4.])
    >>> numerical_gradient(lambda V: (V**2).sum(axis=1), np.array([1.0, -2.0]), batched=True).round(8)
    array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = _as_float(x, "x").astype(np.float64)
    if not (isinstance(eps, int | float | np.floating) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    k, signs = x.size, (1.0, -1.0) if central else (1.0, 0.0)
    if batched:
        steps = eps * np.eye(k).reshape(k, *x.shape)  # (k, *x.shape): one step per coordinate
        points = np.concatenate([x + steps, x - steps] if central else [x + steps, x[None]])
        values = np.asarray(f(points), dtype=np.float64)
        if values.shape != (len(points),):
            raise ValueError(f"f must return shape ({len(points)},) when batched, got {values.shape}")
        plus, minus = values[:k], (values[k:] if central else values[k])
    else:
        plus = np.array([_scalar(f(_shifted(x, i, eps))) for i in range(k)])
        minus = np.array([_scalar(f(_shifted(x, i, -eps))) for i in range(k)]) if central else _scalar(f(x))
    return ((plus - minus) / ((signs[0] - signs[1]) * eps)).reshape(x.shape)


def _shifted(x: np.ndarray, index: int, step: float) -> np.ndarray:
    """A copy of ``x`` with ``step`` added to its entry number ``index`` (in C order)."""
    out = x.copy()
    out.flat[index] += step
    return out


def check_gradient(
    f: Callable, grad: Callable, x: np.ndarray, eps: float = 1e-6, rtol: float = 1e-6, batched: bool = False
) -> GradientCheck:
    """Compare ``grad(x)`` with :func:`numerical_gradient` of ``f`` at ``x``.

    Parameters
    ----------
    f, grad : callable
        The function and its claimed gradient (returning the shape of ``x``).
    x : ndarray
        The point.
    eps, batched
        As in :func:`numerical_gradient`.
    rtol : float
        The check passes when :func:`relative_error` ``<= rtol``.

    Returns
    -------
    GradientCheck
    """
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__}")
    if not (np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a finite number > 0, got {rtol!r}")
    numerical = numerical_gradient(f, x, eps=eps, batched=batched)
    analytic = np.asarray(grad(np.asarray(x, dtype=np.float64)), dtype=np.float64)
    if analytic.shape != numerical.shape:
        raise ValueError(f"grad must return the shape of x {numerical.shape}, got {analytic.shape}")
    err = relative_error(analytic, numerical)
    return GradientCheck(analytic, numerical, float(np.abs(analytic - numerical).max(initial=0.0)), err, err <= rtol)


def _scalar(value: object) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.size != 1:
        raise ValueError(f"f must return a scalar, got shape {value.shape}")
    return float(value.reshape(()))


def _as_float(x: object, arg: str, min_ndim: int = 0, check_finite: bool = True) -> np.ndarray:
    """``x`` as a finite float array (float32 and float64 kept, anything else float64)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{arg} must be a real array, got dtype {x.dtype}")
    x = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    if x.ndim < min_ndim:
        raise ValueError(f"{arg} must have at least {min_ndim} dimension(s), got shape {x.shape}")
    if check_finite:
        # the sum is finite unless an entry is inf or nan (or the sum overflows): one cheap pass in the usual case
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(x.sum(dtype=np.float64)) or np.isfinite(x).all()
        if not finite:
            raise ValueError(f"{arg} must be finite")
    return x


def _check_logits(z: object, axis: object) -> np.ndarray:
    z = _as_float(z, "z", min_ndim=1)
    if not isinstance(axis, int | np.integer) or not -z.ndim <= axis < z.ndim:
        raise ValueError(f"axis must be an int in [-{z.ndim}, {z.ndim}), got {axis!r}")
    if z.shape[axis] == 0:
        raise ValueError("z must have at least one entry along axis")
    return z


def _check_rff(Phi: object, y: object, a: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapes and dtypes only: finiteness is checked on the residual (see :func:`_finite_or_raise`)."""
    Phi, y, a = (_as_float(v, arg, check_finite=False) for v, arg in ((Phi, "Phi"), (y, "y"), (a, "a")))
    if Phi.ndim != 2 or Phi.shape[0] == 0:
        raise ValueError(f"Phi must have shape (n, p) with n >= 1, got {Phi.shape}")
    if y.shape != (Phi.shape[0],):
        raise ValueError(f"y must have shape ({Phi.shape[0]},), got {y.shape}")
    if a.shape != (Phi.shape[1],):
        raise ValueError(f"a must have shape ({Phi.shape[1]},), got {a.shape}")
    dtype = np.result_type(Phi, y, a)
    return Phi.astype(dtype, copy=False), y.astype(dtype, copy=False), a.astype(dtype, copy=False)


def _finite_or_raise(residual: np.ndarray, Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``residual = Phi a - y``, after checking it is finite.

    A nan or inf anywhere in ``Phi``, ``y`` or ``a`` reaches the residual, so
    one pass over ``n`` numbers replaces one over the ``n p`` entries of ``Phi``;
    the inputs are searched only to name the culprit.
    """
    if not np.isfinite(residual).all():
        for value, arg in ((Phi, "Phi"), (y, "y"), (a, "a")):
            _as_float(value, arg)
    return residual


def _check_targets(z: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    z, y = _as_float(z, "z", min_ndim=1), _as_float(y, "y", min_ndim=1)
    if y.shape != z.shape:
        raise ValueError(f"y must have the shape of z {z.shape}, got {y.shape}")
    if (y < 0).any() or not np.allclose(y.sum(axis=-1), 1.0, atol=1e-6):
        raise ValueError("y must be non-negative with rows summing to one")
    return z, y


def _check_logistic(w: object, X: object, y: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w, X, y = _as_float(w, "w"), _as_float(X, "X"), _as_float(y, "y")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {X.shape}")
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must have shape ({X.shape[1]},), got {w.shape}")
    if y.shape != (X.shape[0],) or (y < 0).any() or (y > 1).any():
        raise ValueError(f"y must have shape ({X.shape[0]},) with entries in [0, 1], got shape {y.shape}")
    return w, X, y

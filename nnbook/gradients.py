"""Gradients derived by hand, each beside the function it differentiates.

The losses of the gradients chapter: the random Fourier feature
least-squares objective, softmax with its Jacobian, cross-entropy on softmax,
and the logistic unit. The numerically stable forms (max-shifted softmax,
``exp(-|z|)`` sigmoid) never overflow. Every loss is a mean over the ``n``
examples, so the gradients carry a ``1/n``. The finite-difference checker
lives in :mod:`nnbook.gradcheck` (its names are importable from here too).

Examples
--------
>>> import numpy as np
>>> z = np.array([1.0, 2.0, 3.0])
>>> softmax(z)
array([0.09003057, 0.24472847, 0.66524096])
>>> bool(np.abs(softmax_jacobian(z).sum(axis=-1)).max() < 1e-15)
True
>>> check_gradient(lambda x: np.sum(x**3), lambda x: 3 * x**2, z).passed
True
"""

from __future__ import annotations

import numpy as np

from nnbook import _validation as v
from nnbook.gradcheck import GradientCheck, check_gradient, numerical_gradient, relative_error

__all__ = [
    "GradientCheck",
    "check_gradient",
    "log_sigmoid",
    "log_softmax",
    "logistic_loss",
    "logistic_loss_gradient",
    "numerical_gradient",
    "relative_error",
    "rff_loss",
    "rff_loss_gradient",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_gradient",
    "softmax_jacobian",
]


def rff_loss(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> float:
    """Mean squared error ``(1/n) ||Phi a - y||^2`` of a linear model on features ``Phi``.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
    y : ndarray, shape (n,)
    a : ndarray, shape (p,)

    Returns
    -------
    float

    Examples
    --------
    >>> rff_loss(np.array([[1.0, 0.0], [1.0, 2.0]]), np.array([1.0, 1.0]), np.array([0.0, 1.0]))
    1.0
    """
    Phi, y, a = _check_rff(Phi, y, a)
    residual = _finite_residual(Phi, y, a)
    return float(residual @ residual / Phi.shape[0])


def rff_loss_gradient(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Gradient ``(2/n) Phi^T (Phi a - y)`` of :func:`rff_loss` with respect to ``a``.

    Two matrix-vector products, ``O(n p)``; the ``p x p`` matrix ``Phi^T Phi``
    is never formed.

    Parameters
    ----------
    Phi : ndarray, shape (n, p)
        Features of the ``n`` training points (e.g. random Fourier features).
    y : ndarray, shape (n,)
        Targets.
    a : ndarray, shape (p,)
        Coefficients of the linear read-out.

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
    return (2.0 / Phi.shape[0]) * (Phi.T @ _finite_residual(Phi, y, a))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax ``exp(z_i) / sum_j exp(z_j)`` along ``axis``, shifted by the max so it never overflows.

    Parameters
    ----------
    z : ndarray, shape (..., m, ...)
        Finite logits of ``m >= 2`` classes; float32 stays float32, other
        dtypes become float64.
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
    z, axis = _check_logits(z, axis)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_jacobian(z: np.ndarray) -> np.ndarray:
    """Jacobian ``J[..., i, j] = dp_i / dz_j = p_i (delta_ij - p_j)`` of ``p = softmax(z)`` over the last axis.

    In matrix form ``J = diag(p) - p p^T``: symmetric, rows summing to zero.
    Batched over the leading axes, without loops.

    Parameters
    ----------
    z : ndarray, shape (..., m)
        Logits; the result has ``m`` times as many entries, at most
        ``nnbook._validation.MAX_ELEMENTS``.

    Returns
    -------
    ndarray, shape (..., m, m)

    Examples
    --------
    >>> softmax_jacobian(np.zeros(2))
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    z, _ = _check_logits(z, -1)
    v.check_work(z.size * z.shape[-1], "z", v.MAX_ELEMENTS, "Jacobian entries")
    p = softmax(z, axis=-1)
    eye = np.eye(p.shape[-1], dtype=p.dtype)
    return p[..., :, None] * (eye - p[..., None, :])


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log softmax(z)`` computed as ``z - max - log sum exp(z - max)`` (no overflow, no log 0).

    Parameters
    ----------
    z : ndarray, shape (..., m, ...)
    axis : int

    Returns
    -------
    ndarray, shape of ``z``

    Examples
    --------
    >>> log_softmax(np.array([0.0, 1000.0]))
    array([-1000.,     0.])
    """
    z, axis = _check_logits(z, axis)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy ``-sum_k y_k log softmax(z)_k`` of target distributions ``y``, one per row.

    Parameters
    ----------
    z : ndarray, shape (..., m)
        Logits.
    y : ndarray, shape (..., m)
        Target distributions (non-negative rows summing to one).

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> softmax_cross_entropy(np.zeros((1, 4)), np.array([[0.0, 1.0, 0.0, 0.0]]))
    array([1.38629436])
    """
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


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))`` from ``exp(-|z|)``, which never overflows.

    Parameters
    ----------
    z : ndarray, any shape
        Finite logits.

    Returns
    -------
    ndarray, shape of ``z``

    Examples
    --------
    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    z = _real(z, "z")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def sigmoid_derivative(z: np.ndarray) -> np.ndarray:
    """``sigma'(z) = sigma(z) (1 - sigma(z))``, as ``exp(-|z|) / (1 + exp(-|z|))^2`` (exact for large ``|z|``).

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    ndarray, shape of ``z``

    Examples
    --------
    >>> sigmoid_derivative(np.array([0.0, 40.0]))
    array([2.50000000e-01, 4.24835426e-18])
    """
    z = _real(z, "z")
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log sigma(z) = -(max(-z, 0) + log1p(exp(-|z|)))``: finite for every finite ``z``.

    Parameters
    ----------
    z : ndarray, any shape

    Returns
    -------
    ndarray, shape of ``z``

    Examples
    --------
    >>> log_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([-1.00000000e+03, -6.93147181e-01, -0.00000000e+00])
    """
    z = _real(z, "z")
    return -(np.maximum(-z, 0) + np.log1p(np.exp(-np.abs(z))))


def logistic_loss(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy ``-(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)]`` of ``p = sigmoid(X w)``.

    Computed from :func:`log_sigmoid` (``log(1 - p_i) = log sigma(-z_i)``), so
    it is finite for every finite logit.

    Parameters
    ----------
    w : ndarray, shape (d,)
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Labels in [0, 1].

    Returns
    -------
    float

    Examples
    --------
    >>> logistic_loss(np.zeros(2), np.eye(2), np.array([1.0, 0.0]))
    0.6931471805599453
    """
    w, X, y = _check_logistic(w, X, y)
    z = X @ w
    return float(-(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)).mean())


def logistic_loss_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gradient ``-(1/n) sum_i (y_i - p_i) x_i`` of :func:`logistic_loss` with respect to ``w``.

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
    array([-0.25,  0.25])
    """
    w, X, y = _check_logistic(w, X, y)
    return -X.T @ (y - sigmoid(X @ w)) / X.shape[0]


def _real(x: object, name: str, **kwargs) -> np.ndarray:
    """``x`` as a real array through the validation layer; float32 stays float32, the rest becomes float64."""
    dtype = "float32" if getattr(x, "dtype", None) == np.float32 else "real"
    return v.check_array(x, name, dtype=dtype, **kwargs)


def _check_logits(z: object, axis: object) -> tuple[np.ndarray, int]:
    z = _real(z, "z", ndim=tuple(range(1, 33)))
    axis = v.check_int(axis, "axis", min_value=-z.ndim, max_value=z.ndim - 1)
    if z.shape[axis] < 2:
        raise ValueError(f"z must have at least 2 classes along axis {axis} (softmax of one is 1), got shape {z.shape}")
    return z, axis


def _check_rff(Phi: object, y: object, a: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapes and dtypes; finiteness is checked on the residual (see :func:`_finite_residual`)."""
    Phi = _real(Phi, "Phi", ndim=2, finite=False)
    y = _real(y, "y", shape=(Phi.shape[0],), finite=False)
    a = _real(a, "a", shape=(Phi.shape[1],), finite=False)
    dtype = np.result_type(Phi, y, a)
    return Phi.astype(dtype, copy=False), y.astype(dtype, copy=False), a.astype(dtype, copy=False)


def _finite_residual(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``Phi a - y``, after checking it is finite.

    A NaN or inf anywhere in ``Phi``, ``y`` or ``a`` reaches the residual, so
    one pass over ``n`` numbers replaces one over the ``n p`` entries of
    ``Phi``; the inputs are searched only to name the culprit.
    """
    with np.errstate(all="ignore"):
        residual = Phi @ a - y
    if not np.isfinite(residual).all():
        for value, name in ((Phi, "Phi"), (y, "y"), (a, "a")):
            _real(value, name, min_rows=0)
        raise ValueError("Phi a - y must be finite, got an overflow")
    return residual


def _check_targets(z: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    z, _ = _check_logits(z, -1)
    y = _real(y, "y", shape=z.shape)
    if (y < 0).any() or not np.allclose(y.sum(axis=-1), 1.0, rtol=0, atol=1e-6):
        raise ValueError("y must hold target distributions: non-negative, each row summing to one")
    return z, y


def _check_logistic(w: object, X: object, y: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = _real(X, "X", ndim=2)
    w = _real(w, "w", shape=(X.shape[1],))
    y = _real(y, "y", shape=(X.shape[0],))
    if (y < 0).any() or (y > 1).any():
        raise ValueError(f"y must hold labels in [0, 1], got values in [{y.min():g}, {y.max():g}]")
    return w, X, y

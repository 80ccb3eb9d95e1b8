"""Gradient checking: finite differences, and a verdict on a claimed gradient.

A gradient derived by hand can hide a slip (a sign, a factor, a missing
term) that does not crash anything; the model just trains worse. The check
compares it with central differences of the function at a point, measured by
one relative error against the size of the whole gradient.

Examples
--------
>>> import numpy as np
>>> numerical_gradient(lambda v: v @ v, np.array([1.0, -2.0])).round(8)
array([ 2., -4.])
>>> check_gradient(lambda x: np.sum(x**3), lambda x: 3 * x**2, np.array([1.0, 2.0, 3.0])).passed
True
>>> check_gradient(lambda x: np.sum(x**3), lambda x: 2 * x**2, np.array([1.0, 2.0, 3.0])).passed
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnbook import _validation as v

# Limits on the work of a finite-difference gradient: it costs two evaluations per coordinate, and the
# batched form builds a stack of 2k shifted copies of a point with k coordinates (2 k^2 numbers).
MAX_COORDINATES = 100_000
MAX_BATCH_ELEMENTS = 2**24


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of :func:`check_gradient`.

    ``analytic`` and ``numerical`` have the shape of ``x``; ``max_abs_error``
    is ``max |analytic - numerical|``; ``rel_error`` is that divided by
    ``max(max|analytic|, max|numerical|)`` (:func:`relative_error`);
    ``passed`` is ``rel_error <= rtol``.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    max_abs_error: float
    rel_error: float
    passed: bool


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest entry-wise difference divided by the largest magnitude in ``a`` and ``b``.

    Returns 0 when both are all zeros. Entry-wise ratios would blow up on tiny
    entries; scaling by the largest entry measures the error against the size
    of the whole gradient.

    Parameters
    ----------
    a, b : ndarray, same shape
        Finite arrays (at least one entry).

    Returns
    -------
    float
        ``max |a - b| / max(max |a|, max |b|)``, in ``[0, 2]``.

    Examples
    --------
    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.002]))
    0.000999000999000889
    >>> relative_error(np.zeros(3), np.zeros(3))
    0.0
    """
    a = v.check_array(a, "a", min_rows=1)
    b = v.check_array(b, "b", min_rows=1)
    v.check_same_shape(a=a, b=b)
    scale = max(np.abs(a).max(), np.abs(b).max())
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def numerical_gradient(
    f: Callable, x: np.ndarray, eps: float = 1e-6, batched: bool = False, central: bool = True
) -> np.ndarray:
    """Finite differences of ``f`` along every coordinate ``k`` of ``x``.

    Central: ``(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``, error
    ``O(eps^2) + O(u / eps)`` (``u`` = 1.1e-16 is the float64 unit round-off),
    best near ``eps = u^(1/3)``. Forward (``central=False``):
    ``(f(x + eps e_k) - f(x)) / eps``, error ``O(eps) + O(u / eps)``, best near
    ``eps = u^(1/2)`` and far less accurate.

    Parameters
    ----------
    f : callable
        Scalar function of an array shaped like ``x``. With ``batched=True`` it
        takes a stack of shape ``(b, *x.shape)`` and returns shape ``(b,)``, so
        all evaluations run as one vectorised call.
    x : ndarray, shape (...)
        The point (converted to float64), with at most ``MAX_COORDINATES``
        entries; batched, the ``2 x.size`` shifted points may hold at most
        ``MAX_BATCH_ELEMENTS`` numbers (``x.size`` up to 2896).
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
    >>> numerical_gradient(lambda V: (V**2).sum(axis=1), np.array([1.0, -2.0]), batched=True).round(8)
    array([ 2., -4.])
    >>> numerical_gradient(lambda v: v @ v, np.array([1.0, -2.0]), eps=1e-3, central=False)
    array([ 2.001, -3.999])
    """
    f = v.check_callable(f, "f")
    x = v.check_array(x, "x", min_rows=1, max_elements=MAX_COORDINATES)
    eps = v.check_real(eps, "eps", min_value=0, min_inclusive=False)
    batched, central = v.check_bool(batched, "batched"), v.check_bool(central, "central")
    k = x.size
    if k == 0:
        raise ValueError(f"x must have at least one entry, got shape {x.shape}")
    if batched:
        v.check_work(2 * k * k, "x", MAX_BATCH_ELEMENTS, "numbers in the batch of shifted points")
        steps = eps * np.eye(k).reshape(k, *x.shape)  # (k, *x.shape): one step per coordinate
        points = np.concatenate([x + steps, x - steps] if central else [x + steps, x[None]])
        values = _values(f(points), (len(points),))
        plus, minus = values[:k], (values[k:] if central else values[k])
    else:
        plus = np.array([_values(f(_shifted(x, i, eps)), ()) for i in range(k)])
        if central:
            minus = np.array([_values(f(_shifted(x, i, -eps)), ()) for i in range(k)])
        else:
            minus = _values(f(x), ())
    return ((plus - minus) / ((2.0 if central else 1.0) * eps)).reshape(x.shape)


def check_gradient(
    f: Callable, grad: Callable, x: np.ndarray, eps: float = 1e-6, rtol: float = 1e-6, batched: bool = False
) -> GradientCheck:
    """Compare ``grad(x)`` with the central differences of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        The function (see :func:`numerical_gradient` for ``batched``).
    grad : callable
        Its claimed gradient, returning an array of the shape of ``x``.
    x : ndarray
        The point.
    eps : float
        Step of the central differences, ``> 0``.
    rtol : float
        The check passes when :func:`relative_error` ``<= rtol`` (``> 0``).
    batched : bool
        Whether ``f`` is vectorised over a leading axis.

    Returns
    -------
    GradientCheck

    Examples
    --------
    >>> c = check_gradient(lambda w: np.sum(w**2), lambda w: 2 * w, np.array([3.0, -1.0]))
    >>> c.passed, float(c.max_abs_error) < 1e-8
    (True, True)
    """
    grad = v.check_callable(grad, "grad")
    rtol = v.check_real(rtol, "rtol", min_value=0, min_inclusive=False)
    numerical = numerical_gradient(f, x, eps=eps, batched=batched)
    analytic = np.asarray(grad(np.asarray(x, dtype=np.float64)))
    analytic = v.check_array(analytic, "grad(x)", shape=numerical.shape, min_rows=0)
    err = relative_error(analytic, numerical)
    return GradientCheck(analytic, numerical, float(np.abs(analytic - numerical).max()), err, err <= rtol)


def _shifted(x: np.ndarray, index: int, step: float) -> np.ndarray:
    """A copy of ``x`` with ``step`` added to its entry number ``index`` (in C order)."""
    out = x.copy()
    out.flat[index] += step
    return out


def _values(result: object, shape: tuple[int, ...]) -> np.ndarray:
    """What ``f`` returned, as finite float64 of the expected shape (an error naming ``f`` otherwise)."""
    values = np.asarray(result)
    if shape == () and values.size == 1:
        values = values.reshape(())
    if values.dtype.kind not in "iuf" or values.shape != shape:
        want = "a real scalar" if shape == () else f"a real array of shape {shape}"
        raise ValueError(f"f must return {want}, got dtype {values.dtype} and shape {values.shape}")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("f must return finite values at the points x +- eps e_k of the finite differences")
    return values

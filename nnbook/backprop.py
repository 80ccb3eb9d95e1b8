"""Backpropagation by hand: a fully connected classifier in numpy, every gradient written out.

A batch is a matrix whose rows are samples. Layer ``l`` maps the activations
``a_{l-1}`` (n, n_{l-1}) to ``z_l = a_{l-1} W_l + b_l`` (n, n_l) with ``W_l`` of
shape (n_{l-1}, n_l), and hidden layers apply ``a_l = phi(z_l)`` entrywise. The
last ``z_L`` are the logits, ``softmax(z_L)`` the class probabilities and the
loss the mean cross-entropy ``-(1/n) sum_i log softmax(z_L)_{i, y_i}``.

The backward pass carries ``delta_l = dLoss/dz_l`` (n, n_l) from the output
to the input. Softmax and cross-entropy together give the output shortcut
``delta_L = (softmax(z_L) - onehot(y)) / n``; then, for ``l = L, ..., 1``::

    dW_l = a_{l-1}^T delta_l            (n_{l-1}, n) @ (n, n_l)
    db_l = sum over rows of delta_l     (n_l,)
    delta_{l-1} = (delta_l W_l^T) * phi'(z_{l-1})

and ``phi'`` is read off the stored activation: ``a (1 - a)`` for the sigmoid,
``1 - a^2`` for tanh, ``[a > 0]`` for ReLU.

Examples
--------
>>> model = MLP([4, 3, 2], rng=0)
>>> [w.shape for w in model.weights], [b.shape for b in model.biases]
([(4, 3), (3, 2)], [(3,), (2,)])
>>> X, y = np.eye(4), np.array([0, 1, 1, 0])
>>> model.forward(X).sum(axis=1)
array([1., 1., 1., 1.])
>>> dW, db = model.gradients(X, y)
>>> [g.shape for g in dW] == [w.shape for w in model.weights]
True
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import numpy as np

from nnbook._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_rng,
    check_work,
)
from nnbook.gradients import GradientCheck, relative_error

ACTIVATIONS = ("sigmoid", "relu", "tanh")
INITS = ("max_fan", "glorot", "he")  # weight variance 1/max(n_in, n_out), 2/(n_in + n_out), 2/n_in
MAX_PARAMETERS = 50_000_000  # the largest network MLP builds
MAX_CHECKED = 100_000  # the most parameters finite_difference_check perturbs (two forward passes each)


def _phi(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        e = np.exp(-np.abs(z))  # exp of a non-positive number: no overflow for any z
        return np.where(z >= 0, 1.0, e) / (1.0 + e)
    if activation == "tanh":
        return np.tanh(z)
    return np.maximum(z, 0.0)


def _phi_prime(a: np.ndarray, activation: str) -> np.ndarray:
    """``phi'(z)`` from ``a = phi(z)``."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    return (a > 0.0).astype(a.dtype)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)  # the largest logit becomes 0: exp cannot overflow, the sum is >= 1
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class MLP:
    """A fully connected classifier: hidden layers with ``activation``, softmax output, cross-entropy loss.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and number of classes last (each ``>= 1``,
        at least two entries; at most :data:`MAX_PARAMETERS` parameters).
    activation : {"sigmoid", "relu", "tanh"}
        Applied to every hidden layer.
    rng : Generator, int or None
        Seeds the initial weights.
    init : {"max_fan", "glorot", "he"}
        Weights drawn from N(0, s^2) with ``s^2 = 1/max(n_in, n_out)`` (the
        classic exercise), ``2/(n_in + n_out)`` (Glorot) or ``2/n_in`` (He).
    bias : bool
        With ``False`` the biases stay at zero: :meth:`train_step` never moves them.
    dtype : {"float64", "float32"}
        Of the parameters and of every computation (inputs are converted);
        float32 halves the memory traffic. The weights are drawn in float64
        and rounded, so both dtypes start from the same network.

    Attributes
    ----------
    weights : list of ndarray, shapes (n_in, n_out)
    biases : list of ndarray, shapes (n_out,)
        Zero at initialisation.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "sigmoid",
        *,
        rng: np.random.Generator | int | None = None,
        init: str = "max_fan",
        bias: bool = True,
        dtype: str = "float64",
    ) -> None:
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
        sizes = tuple(check_int(s, "sizes", min_value=1) for s in sizes)
        pairs = list(itertools.pairwise(sizes))
        check_work(sum((i + 1) * o for i, o in pairs), "sizes", MAX_PARAMETERS, "parameters")
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.init = check_choice(init, "init", INITS)
        self.bias = check_bool(bias, "bias")
        self.dtype = np.dtype(check_choice(dtype, "dtype", ("float64", "float32")))
        rng = check_rng(rng)
        variance = {
            "max_fan": lambda i, o: 1.0 / max(i, o),
            "glorot": lambda i, o: 2.0 / (i + o),
            "he": lambda i, o: 2.0 / i,
        }
        self.weights = [
            rng.normal(0.0, np.sqrt(variance[self.init](i, o)), (i, o)).astype(self.dtype) for i, o in pairs
        ]
        self.biases = [np.zeros(o, dtype=self.dtype) for _, o in pairs]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths, read off the weights."""
        return (self.weights[0].shape[0], *(w.shape[1] for w in self.weights))

    @property
    def num_parameters(self) -> int:
        """Number of weights, plus biases when the model has them."""
        return sum(w.size + (b.size if self.bias else 0) for w, b in zip(self.weights, self.biases, strict=True))

    def copy(self) -> MLP:
        """An independent copy (weights and biases copied)."""
        return copy.deepcopy(self)

    # --- forward ----------------------------------------------------------------------------------------------------
    def _forward(self, X: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Activations ``[X, a_1, ..., a_{L-1}]`` and logits ``z_L`` (n, n_classes)."""
        acts = [X]
        for W, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            acts.append(_phi(acts[-1] @ W + b, self.activation))
        return acts, acts[-1] @ self.weights[-1] + self.biases[-1]

    def _inputs(self, X: object) -> tuple[np.ndarray, bool]:
        X = check_array(X, "X", ndim=(1, 2), dtype="float32" if self.dtype == np.float32 else "real")
        single = X.ndim == 1
        X = X[None, :] if single else X
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have {self.sizes[0]} features, got shape {X.shape}")
        return X, single

    def _labels(self, y: object, n: int) -> np.ndarray:
        y = check_array(y, "y", shape=(n,), dtype="integer")
        if y.min() < 0 or y.max() >= self.sizes[-1]:
            raise ValueError(f"y must hold labels in [0, {self.sizes[-1]}), got min {y.min()} and max {y.max()}")
        return y

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Logits ``z_L``, shape (n, n_classes), or (n_classes,) for one sample of shape (n_features,)."""
        X, single = self._inputs(X)
        z = self._forward(X)[1]
        return z[0] if single else z

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``softmax(z_L)``, shape (n, n_classes), or (n_classes,) for one sample.

        Parameters
        ----------
        X : ndarray, shape (n, n_features) or (n_features,)

        Examples
        --------
        >>> MLP([3, 2], rng=0).forward(np.zeros(3))
        array([0.5, 0.5])
        """
        X, single = self._inputs(X)
        p = np.exp(_log_softmax(self._forward(X)[1]))
        return p[0] if single else p

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class of each row, shape (n,), int64."""
        X, _ = self._inputs(X)
        return self._forward(X)[1].argmax(axis=1)

    def evaluate(self, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """Mean cross-entropy ``-(1/n) sum_i log p_{i, y_i}`` (from log-softmax: finite for any logits) and accuracy.

        Examples
        --------
        >>> MLP([3, 2], rng=0).evaluate(np.zeros((2, 3)), np.array([0, 1]))
        (0.6931471805599453, 0.5)
        """
        X, _ = self._inputs(X)
        y = self._labels(y, X.shape[0])
        z = self._forward(X)[1]
        return _cross_entropy(z, y), float(np.mean(z.argmax(axis=1) == y))

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy of the batch (see :meth:`evaluate`)."""
        return self.evaluate(X, y)[0]

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows whose most probable class is the label."""
        return self.evaluate(X, y)[1]

    # --- backward ---------------------------------------------------------------------------------------------------
    def _backward(
        self, acts: list[np.ndarray], logp: np.ndarray, y: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients from the forward pass's activations and log-probabilities ``log softmax(z_L)``."""
        delta = np.exp(logp)  # softmax(z_L), (n, n_classes)
        delta[np.arange(y.size), y] -= 1.0  # - onehot(y): the output shortcut
        delta /= y.size  # the mean over the batch
        dW, db = [], []
        for k in range(len(self.weights) - 1, -1, -1):  # layer l = k + 1: W_l is weights[k], a_{l-1} is acts[k]
            dW.append(acts[k].T @ delta)  # (n_{l-1}, n) @ (n, n_l)
            db.append(delta.sum(axis=0))  # (n_l,)
            if k > 0:
                delta = (delta @ self.weights[k].T) * _phi_prime(acts[k], self.activation)  # (n, n_{l-1})
        return dW[::-1], db[::-1]

    def gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients of the mean cross-entropy over the batch with respect to every weight and bias.

        Parameters
        ----------
        X : ndarray, shape (n, n_features) or (n_features,)
        y : ndarray, shape (n,) or (1,)
            Integer labels in ``[0, n_classes)``.

        Returns
        -------
        dW : list of ndarray, shaped like ``weights``
        db : list of ndarray, shaped like ``biases``

        Examples
        --------
        >>> model = MLP([2, 2], rng=0)
        >>> dW, db = model.gradients(np.zeros(2), np.array([1]))
        >>> db[0]
        array([ 0.5, -0.5])
        """
        X, _ = self._inputs(X)
        y = self._labels(y, X.shape[0])
        acts, z = self._forward(X)
        return self._backward(acts, _log_softmax(z), y)

    def train_step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One gradient-descent step on the batch, in place: ``W_l -= lr dW_l`` and (with biases) ``b_l -= lr db_l``.

        Parameters
        ----------
        X, y
            As in :meth:`gradients`.
        lr : float
            Learning rate (``> 0``).

        Returns
        -------
        float
            The batch's mean loss before the step.

        Raises
        ------
        ValueError
            If the step overflows (``lr`` too large for the weights and data); the model is then not to be used.

        Examples
        --------
        >>> model, X, y = MLP([2, 2], rng=0), np.array([[1.0, 0.0]]), np.array([1])
        >>> model.train_step(X, y, lr=1.0) > model.loss(X, y)
        True
        """
        X, _ = self._inputs(X)
        y = self._labels(y, X.shape[0])
        lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
        try:
            with np.errstate(over="raise", invalid="raise"):  # an overflow stops here, it does not spread as NaN
                acts, z = self._forward(X)
                logp = _log_softmax(z)
                dW, db = self._backward(acts, logp, y)
                for W, b, gW, gb in zip(self.weights, self.biases, dW, db, strict=True):
                    W -= lr * gW
                    if self.bias:
                        b -= lr * gb
        except FloatingPointError:
            raise ValueError(f"the step overflows: lr = {lr:g} is too large for these weights and data") from None
        return _nll(logp, y)


def _cross_entropy(z: np.ndarray, y: np.ndarray) -> float:
    return _nll(_log_softmax(z), y)


def _nll(logp: np.ndarray, y: np.ndarray) -> float:
    return float(-logp[np.arange(y.size), y].mean())


def local_slopes(model: MLP, X: np.ndarray) -> list[np.ndarray]:
    """The slope ``phi'(z_l)`` of every hidden unit on every input: the factor the backward pass multiplies by.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (n, n_features)

    Returns
    -------
    list of ndarray, shapes (n, n_l) for the hidden layers l = 1 .. L-1

    Examples
    --------
    >>> [s.shape for s in local_slopes(MLP([4, 3, 2, 2], rng=0), np.zeros((5, 4)))]
    [(5, 3), (5, 2)]
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    X, _ = model._inputs(X)
    return [_phi_prime(a, model.activation) for a in model._forward(X)[0][1:]]


def saturated_fraction(model: MLP, X: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Per hidden layer, the fraction of (input, unit) pairs whose slope ``phi'(z)`` is below ``threshold``.

    The sigmoid's slope is at most 1/4 and falls below 0.01 once ``|z| > 4.6``;
    such a unit passes almost no gradient back. For ReLU it counts zero
    activations.

    Parameters
    ----------
    model : MLP
    X : ndarray, shape (n, n_features)
    threshold : float
        In ``(0, 1]``.

    Returns
    -------
    ndarray, shape (len(sizes) - 2,)

    Examples
    --------
    >>> saturated_fraction(MLP([2, 3, 2], rng=0), np.array([[0.0, 0.0], [1e3, -1e3]]))
    array([0.5])
    """
    threshold = check_real(threshold, "threshold", min_value=0.0, max_value=1.0, min_inclusive=False)
    return np.array([float(np.mean(s < threshold)) for s in local_slopes(model, X)])


def finite_difference_check(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_entries: int = 100,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    rng: np.random.Generator | int | None = None,
) -> GradientCheck:
    """Compare :meth:`MLP.gradients` with central differences on ``n_entries`` random weights and biases.

    Each entry costs two forward passes: ``(loss(theta + eps e_k) - loss(theta - eps e_k)) / (2 eps)``.

    Parameters
    ----------
    model : MLP
        Not modified.
    X, y
        As in :meth:`MLP.gradients`.
    n_entries : int
        Number of parameters checked (``1 ..`` :data:`MAX_CHECKED`; at most all of them).
    eps, rtol : float
        Step (in ``(0, 0.1]``) and the relative error below which the check passes.
    rng : Generator, int or None
        Picks the entries.

    Returns
    -------
    nnbook.gradients.GradientCheck
        ``analytic`` and ``numerical`` of shape (n_entries,).

    Examples
    --------
    >>> check = finite_difference_check(MLP([3, 4, 2], rng=0), np.eye(3), np.array([0, 1, 1]), rng=0)
    >>> check.analytic.shape, check.passed
    ((26,), True)
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an MLP, got {type(model).__name__}")
    X, _ = model._inputs(X)
    y = model._labels(y, X.shape[0])
    eps = check_real(eps, "eps", min_value=0.0, max_value=0.1, min_inclusive=False)
    rtol = check_real(rtol, "rtol", min_value=0.0, min_inclusive=False)
    model = model.copy()
    params = [*model.weights, *model.biases]
    sizes = np.array([p.size for p in params])
    n_entries = min(check_int(n_entries, "n_entries", min_value=1, max_value=MAX_CHECKED), int(sizes.sum()))
    flat = check_rng(rng).choice(int(sizes.sum()), size=n_entries, replace=False)
    which = np.searchsorted(np.cumsum(sizes), flat, side="right")  # the array each entry lives in
    acts, z = model._forward(X)
    grads = [g for gs in model._backward(acts, _log_softmax(z), y) for g in gs]
    analytic, numerical = np.empty(n_entries), np.empty(n_entries)
    for k, (p, i) in enumerate(zip(which, flat - (np.cumsum(sizes) - sizes)[which], strict=True)):
        original = params[p].flat[i]
        losses = []
        for shift in (eps, -eps):
            params[p].flat[i] = original + shift
            losses.append(_cross_entropy(model._forward(X)[1], y))
        params[p].flat[i] = original
        analytic[k], numerical[k] = grads[p].flat[i], (losses[0] - losses[1]) / (2 * eps)
    err = relative_error(analytic, numerical)
    return GradientCheck(analytic, numerical, float(np.abs(analytic - numerical).max()), err, err <= rtol)

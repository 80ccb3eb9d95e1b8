"""A small fully connected network built from the scalar autodiff engine, and full-batch training with it.

Every weight is a :class:`nnbook.autodiff.Value`; a forward pass builds the
graph of the loss, one node per multiplication, and
:meth:`~nnbook.autodiff.Value.backward` gives every weight its gradient. The
network is deliberately tiny: the point is that nothing but the engine is
needed, and how many nodes even a tiny network makes.

Examples
--------
>>> net = ScalarMLP([2, 2, 1], rng=0)
>>> out = net([1.0, -1.0])[0]
>>> out.backward()
>>> len(topological_order(out)), sum(p.grad != 0 for p in net.parameters())
(22, 9)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbook._validation import check_array, check_choice, check_int, check_real, check_rng, check_work
from nnbook.autodiff import Value, topological_order, total

MAX_NODES = 5_000_000  # the largest graph one training run of ScalarMLP may build, summed over its steps
ACTIVATIONS = ("tanh", "relu", "sigmoid")


class ScalarMLP:
    """A fully connected network of :class:`Value` scalars, from ``sizes[0]`` inputs to ``sizes[-1]`` outputs.

    Hidden layers apply ``activation``; the output layer is linear. Weights
    are drawn from N(0, 1/fan_in), biases start at zero.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first (each ``>= 1``, at least two entries).
    activation : {"tanh", "relu", "sigmoid"}
    rng : Generator, int or None

    Examples
    --------
    >>> net = ScalarMLP([2, 3, 1], rng=0)
    >>> len(net.parameters()), len(net([0.5, -1.0]))
    (13, 1)
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", rng: np.random.Generator | int | None = None):
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
        self.sizes = tuple(check_int(s, "sizes", min_value=1, max_value=1000) for s in sizes)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        rng = check_rng(rng)
        self.layers = [
            (
                [[Value(w) for w in row] for row in rng.normal(0.0, 1.0 / math.sqrt(n_in), (n_out, n_in))],
                [Value(0.0) for _ in range(n_out)],
            )
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=False)
        ]

    def parameters(self) -> list[Value]:
        """Every weight and bias, layer by layer."""
        return [p for W, b in self.layers for p in [*(w for row in W for w in row), *b]]

    def __call__(self, x: Sequence[float | Value]) -> list[Value]:
        """The outputs, shape (sizes[-1],), for one input of length sizes[0]."""
        h = [v if isinstance(v, Value) else Value(v) for v in x]
        if len(h) != self.sizes[0]:
            raise ValueError(f"x must have {self.sizes[0]} entries, got {len(h)}")
        for i, (W, b) in enumerate(self.layers):
            h = [total([bias, *(w * v for w, v in zip(row, h, strict=True))]) for row, bias in zip(W, b, strict=True)]
            if i < len(self.layers) - 1:
                h = [getattr(v, self.activation)() for v in h]
        return h

    def numpy_forward(self, X: np.ndarray) -> np.ndarray:
        """The same function evaluated with numpy on many inputs at once: shape (n, sizes[0]) -> (n, sizes[-1])."""
        h = check_array(X, "X", shape=(None, self.sizes[0]))
        for i, (W, b) in enumerate(self.layers):
            h = h @ np.array([[w.data for w in row] for row in W]).T + np.array([v.data for v in b])
            if i < len(self.layers) - 1:
                h = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0), "sigmoid": _np_sigmoid}[self.activation](h)
        return h


def _np_sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


@dataclass(frozen=True)
class ScalarFit:
    """What :func:`fit_scalar_mlp` returns: the trained network and its loss and accuracy before each step.

    ``loss`` and ``accuracy`` have shape (steps + 1,): entry ``t`` is measured
    after ``t`` steps. ``num_nodes`` is the size of one step's graph.
    """

    model: ScalarMLP
    loss: np.ndarray
    accuracy: np.ndarray
    num_nodes: int


def hinge_loss(model: ScalarMLP, X: np.ndarray, y: np.ndarray) -> tuple[Value, float]:
    """Mean hinge loss ``mean_i relu(1 - y_i f(x_i))`` of a one-output network, and its accuracy.

    Parameters
    ----------
    model : ScalarMLP
        With one output.
    X : ndarray, shape (n, sizes[0])
    y : ndarray, shape (n,)
        Labels in {-1, +1}.

    Returns
    -------
    loss : Value
        The root of the graph: call ``loss.backward()`` for the gradients.
    accuracy : float
        Fraction of points with ``sign f(x_i) = y_i``.
    """
    if not isinstance(model, ScalarMLP) or model.sizes[-1] != 1:
        raise TypeError(f"model must be a ScalarMLP with one output, got {model!r}")
    X = check_array(X, "X", shape=(None, model.sizes[0]))
    y = check_array(y, "y", shape=(X.shape[0],))
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold labels in {-1, +1}")
    scores = [model(list(x))[0] for x in X]
    loss = total((1.0 - float(t) * s).relu() for s, t in zip(scores, y, strict=True)) * (1.0 / len(scores))
    accuracy = float(np.mean([(s.data > 0) == (t > 0) for s, t in zip(scores, y, strict=True)]))
    return loss, accuracy


def fit_scalar_mlp(
    X: np.ndarray,
    y: np.ndarray,
    sizes: Sequence[int],
    *,
    steps: int,
    lr: float,
    activation: str = "tanh",
    rng: np.random.Generator | int | None = None,
) -> ScalarFit:
    """Full-batch gradient descent on the mean hinge loss, every gradient from :meth:`Value.backward`.

    Parameters
    ----------
    X : ndarray, shape (n, sizes[0])
    y : ndarray, shape (n,)
        Labels in {-1, +1}.
    sizes : sequence of int
        Layer widths; ``sizes[-1]`` must be 1.
    steps : int
        Gradient steps (``>= 0``); ``steps * n * parameters`` is bounded by :data:`MAX_NODES`.
    lr : float
        Learning rate (``> 0``).
    activation : {"tanh", "relu", "sigmoid"}
    rng : Generator, int or None
        Seeds the initial weights.

    Returns
    -------
    ScalarFit

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]]); y = np.array([1.0, -1.0])
    >>> fit = fit_scalar_mlp(X, y, [2, 2, 1], steps=20, lr=0.5, rng=0)
    >>> bool(fit.loss[-1] < fit.loss[0]), float(fit.accuracy[-1])
    (True, 1.0)
    """
    X = check_array(X, "X", ndim=2)
    y = check_array(y, "y", shape=(X.shape[0],))
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold labels in {-1, +1}")
    model = ScalarMLP(sizes, activation, rng)
    if model.sizes[0] != X.shape[1] or model.sizes[-1] != 1:
        raise ValueError(f"sizes must start at X's {X.shape[1]} features and end at 1, got {list(model.sizes)}")
    steps = check_int(steps, "steps", min_value=0)
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    params = model.parameters()
    check_work((steps + 1) * X.shape[0] * len(params), "steps * n * parameters", MAX_NODES, "graph nodes")
    losses, accuracies = [], []
    for step in range(steps + 1):
        loss, accuracy = hinge_loss(model, X, y)
        if not math.isfinite(loss.data):
            raise ValueError(f"the loss became {loss.data} at step {step}: lr = {lr:g} is too large")
        losses.append(loss.data)
        accuracies.append(accuracy)
        if step == steps:
            break
        loss.backward()
        for p in params:
            p.data -= lr * p.grad
    return ScalarFit(model, np.array(losses), np.array(accuracies), len(topological_order(loss)))

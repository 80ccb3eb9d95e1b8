"""A scalar reverse-mode automatic differentiation engine, small enough to read in one sitting.

A :class:`Value` holds one number. Every operation on values returns a new
node that remembers its operands and the *local derivative* of its result
with respect to each operand, computed on the line next to the forward value
(``exp`` stores ``e^x``, ``tanh`` stores ``1 - t^2``, ...). :meth:`Value.backward`
orders the graph topologically and walks it from the output back to the
inputs, applying the chain rule on every edge:
``operand.grad += local_derivative * node.grad``. A node used twice receives
two contributions, which is how the multivariate chain rule sums over paths.

Examples
--------
>>> x, y = Value(2.0, label="x"), Value(-3.0, label="y")
>>> f = (x * y + x.exp()).tanh()
>>> f.backward()
>>> round(f.data, 6), round(x.grad, 6), round(y.grad, 6)
(0.882963, 0.967244, 0.440753)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from nnbook._validation import check_array, check_choice, check_int, check_real, check_rng, check_work

MAX_NODES = 5_000_000  # the largest graph one training run of ScalarMLP may build, summed over its steps
ACTIVATIONS = ("tanh", "relu", "sigmoid")


class Value:
    """A scalar node of a computational graph.

    Parameters
    ----------
    data : float
        The value (finite).
    label : str
        A name shown when the graph is drawn.

    Attributes
    ----------
    data : float
    grad : float
        ``d root / d self`` after ``root.backward()``; 0 before.
    parents : tuple of Value
        The operands this node was computed from (empty for a leaf).
    local_grads : tuple of float
        ``d self / d parent`` for each parent, in the same order.
    op : str
        The operation that produced the node (empty for a leaf).
    """

    __slots__ = ("data", "grad", "label", "local_grads", "op", "parents")

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.data = check_real(data, "data")
        self.grad = 0.0
        self.parents: tuple[Value, ...] = ()
        self.local_grads: tuple[float, ...] = ()
        self.op = ""
        self.label = label

    @classmethod
    def _node(cls, data: float, parents: tuple[Value, ...], local_grads: tuple[float, ...], op: str) -> Value:
        """An interior node; operands are already values, so nothing is re-validated."""
        out = cls.__new__(cls)
        out.data, out.grad, out.parents, out.local_grads, out.op, out.label = data, 0.0, parents, local_grads, op, ""
        return out

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # --- operations: the forward value and, beside it, the local derivative of each operand ---------------------
    def __add__(self, other: Value | float) -> Value:
        other = _lift(other)
        return Value._node(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other: Value | float) -> Value:
        other = _lift(other)
        return Value._node(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, k: float) -> Value:
        k = check_real(k, "k")  # a constant exponent: d x^k / dx = k x^(k-1)
        if (self.data == 0.0 and k < 1) or (self.data < 0.0 and not k.is_integer()):
            raise ValueError(f"x**k needs x > 0 for k = {k:g}, got x = {self.data:g}")
        return Value._node(self.data**k, (self,), (k * self.data ** (k - 1),), f"^{k:g}")

    def exp(self) -> Value:
        if self.data > 709.0:
            raise ValueError(f"exp overflows for x = {self.data:g} > 709")
        e = math.exp(self.data)
        return Value._node(e, (self,), (e,), "exp")  # d e^x / dx = e^x

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(f"log needs x > 0, got x = {self.data:g}")
        return Value._node(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def relu(self) -> Value:
        positive = self.data > 0.0
        return Value._node(self.data if positive else 0.0, (self,), (1.0 if positive else 0.0,), "relu")

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value._node(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self) -> Value:
        e = math.exp(-abs(self.data))  # never overflows
        s = 1.0 / (1.0 + e) if self.data >= 0.0 else e / (1.0 + e)
        return Value._node(s, (self,), (s * (1.0 - s),), "sigmoid")

    # --- composites: no new derivatives, only the operations above -------------------------------------------
    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-_lift(other))

    def __truediv__(self, other: Value | float) -> Value:
        return self * _lift(other) ** -1.0

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return _lift(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return _lift(other) / self

    # --- the backward pass --------------------------------------------------------------------------------------
    def backward(self) -> None:
        """Set ``node.grad = d self / d node`` for every node of the graph that ends here."""
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):  # every node after all the nodes that use it
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                parent.grad += local * node.grad


def _lift(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)


def total(values: Iterable[Value | float]) -> Value:
    """One n-ary sum node: ``sum(values)`` with local derivative 1 for each operand (fewer nodes than a chain of +).

    Examples
    --------
    >>> s = total([Value(1.0), Value(2.0), 3.0])
    >>> s.data, len(s.parents)
    (6.0, 3)
    """
    values = tuple(_lift(v) for v in values)
    if not values:
        raise ValueError("values must not be empty")
    return Value._node(sum(v.data for v in values), values, (1.0,) * len(values), "sum")


def topological_order(root: Value) -> list[Value]:
    """Every node the root depends on, each after all of its parents (iterative, no recursion limit).

    Examples
    --------
    >>> a = Value(1.0)
    >>> [n.op or "leaf" for n in topological_order((a * a).exp())]
    ['leaf', '*', 'exp']
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


def layout(root: Value) -> dict[Value, tuple[float, float]]:
    """Drawing positions of a graph as a tree grown leftwards from the root.

    A node sits one column left of the first node found to use it (the root in
    the last column); leaves take successive rows in depth-first order, and
    every other node the mean row of the operands it was found through.

    Returns
    -------
    dict
        ``node -> (column, -row)``, columns from 0.

    Examples
    --------
    >>> x = Value(1.0)
    >>> f = (x * 2.0).exp()
    >>> [layout(f)[n] for n in (x, f)]
    [(0.0, 0.0), (2.0, -0.5)]
    """
    col: dict[Value, int] = {root: 0}
    owner: dict[Value, Value] = {}
    row: dict[Value, float] = {}
    next_row = 0.0
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            found = [row[p] for p in node.parents if owner.get(p) is node]
            if found:
                row[node] = sum(found) / len(found)
            else:
                row[node], next_row = next_row, next_row + 1.0
            continue
        stack.append((node, True))
        for parent in reversed(node.parents):
            if parent not in col:
                col[parent], owner[parent] = col[node] - 1, node
                stack.append((parent, False))
    first = min(col.values())
    return {n: (float(col[n] - first), 0.0 - row[n]) for n in col}


class ScalarMLP:
    """A fully connected network of :class:`Value` scalars, ``sizes[0] -> ... -> sizes[-1]``.

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
        h = [_lift(v) for v in x]
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

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
from collections.abc import Iterable

from nnbook._validation import check_real


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

"""Computational graphs and reverse-mode differentiation, by hand.

A scalar function is written as a sequence of elementary operations, one node
per intermediate variable (``t1 = exp(x)``, ``t2 = t1^2``, ...). The forward
pass evaluates the nodes in order; the reverse sweep visits them backwards and
accumulates each node's *adjoint* ``d f / d node`` from the nodes that use it.
Both are vectorised over an array of inputs ``x``. What a reverse-mode
gradient of a network costs in forward passes is measured in
:mod:`nnbook.gradient_cost`.

Examples
--------
>>> import numpy as np
>>> g = exp_sin_graph()
>>> [node_label(n) for n in g.nodes[1:3]]
['t1 = exp(x)', 't2 = t1^2']
>>> sweep = reverse_sweep(g, np.array([0.0, 0.5]))
>>> sweep.derivative
array([ 20.91872779, 555.9719679 ])
>>> exp_sin_derivative(np.array([0.0, 0.5]))
array([ 20.91872779, 555.9719679 ])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbook import _validation as v

# Re-exported: the cost of a gradient moved to nnbook.gradient_cost; code outside the project imports it from here.
from nnbook.gradient_cost import (  # noqa: F401
    MAX_BATCH,
    MAX_COST_ELEMENTS,
    MAX_DEPTH,
    MAX_REPEAT,
    MAX_THREADS,
    MAX_WIDTH,
    Cost,
    reverse_mode_cost,
)

# Elementary operations: op -> (arity, label pattern, local derivative as text).
OPS = {
    "exp": (1, "exp({0})", "exp({0})"),
    "sin": (1, "sin({0})", "cos({0})"),
    "cos": (1, "cos({0})", "(-sin({0}))"),
    "sqrt": (1, "sqrt({0})", "1/(2 sqrt({0}))"),
    "square": (1, "{0}^2", "2 {0}"),
    "add": (2, "{0} + {1}", "1"),
}
MAX_NODES = 10_000  # a graph is a Python object per node: bound its size


@dataclass(frozen=True)
class Node:
    """One variable of a graph: ``name = op(*inputs)``; the input variable has ``op="input"``."""

    name: str
    op: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    """Nodes in evaluation (topological) order: the first is the input, the last the output."""

    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Sweep:
    """Forward values and reverse-mode adjoints of every node, each an array shaped like ``x``.

    ``derivative`` is the adjoint of the input, ``df/dx``. ``forward_ops``
    counts elementary operations; ``backward_ops`` counts the multiply-adds of
    the sweep (one per edge of the graph).
    """

    values: dict[str, np.ndarray]
    adjoints: dict[str, np.ndarray]
    derivative: np.ndarray
    forward_ops: int
    backward_ops: int


def build_graph(nodes: Sequence[tuple[str, str, Sequence[str]]], input_name: str = "x") -> Graph:
    """A validated :class:`Graph` from ``(name, op, inputs)`` triples in evaluation order.

    Parameters
    ----------
    nodes : sequence of (str, str, sequence of str)
        At most ``MAX_NODES``; each op is a key of ``OPS``; inputs must be defined earlier.
    input_name : str
        Name of the single input variable.

    Returns
    -------
    Graph

    Examples
    --------
    >>> build_graph([("t1", "square", ["x"]), ("f", "sin", ["t1"])]).nodes[-1]
    Node(name='f', op='sin', inputs=('t1',))
    """
    if not isinstance(input_name, str):
        raise TypeError(f"input_name must be a str, got {type(input_name).__name__}")
    if not input_name:
        raise ValueError("input_name must be a non-empty str, got ''")
    if isinstance(nodes, str) or not isinstance(nodes, Sequence):
        raise TypeError(f"nodes must be a sequence of (name, op, inputs), got {type(nodes).__name__}")
    if not 1 <= len(nodes) <= MAX_NODES:
        raise ValueError(f"nodes must hold between 1 and {MAX_NODES} (name, op, inputs) triples, got {len(nodes)}")
    built, known = [Node(input_name, "input")], {input_name}
    for entry in nodes:
        if isinstance(entry, str) or not isinstance(entry, Sequence) or len(entry) != 3:
            raise ValueError(f"nodes must be (name, op, inputs) triples, got {entry!r}")
        name, op, inputs = entry
        inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
        if not isinstance(name, str) or not name or name in known:
            raise ValueError(f"nodes must have unique non-empty names, got {name!r} twice or empty")
        if op not in OPS:
            raise ValueError(f"nodes: unknown op {op!r} for {name!r}; known: {sorted(OPS)}")
        if len(inputs) != OPS[op][0] or not set(inputs) <= known:
            raise ValueError(
                f"nodes: {name!r} = {op} needs {OPS[op][0]} inputs defined earlier (or the input, "
                f"input_name={input_name!r}), got {inputs}"
            )
        built.append(Node(name, op, inputs))
        known.add(name)
    return Graph(tuple(built))


def exp_sin_graph() -> Graph:
    """``f(x) = exp(exp(x) + exp(2x)) + sin(exp(x) + exp(2x))`` as the nodes ``t1`` to ``t5`` and ``f``."""
    return build_graph(
        [
            ("t1", "exp", ["x"]),
            ("t2", "square", ["t1"]),
            ("t3", "add", ["t1", "t2"]),
            ("t4", "exp", ["t3"]),
            ("t5", "sin", ["t3"]),
            ("f", "add", ["t4", "t5"]),
        ]
    )


def exp_sin_derivative(x: np.ndarray) -> np.ndarray:
    """Closed form ``f'(x) = (exp(t3) + cos(t3)) (exp(x) + 2 exp(2x))`` with ``t3 = exp(x) + exp(2x)``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, shape of ``x``
    """
    x = _check_x(x)
    t3 = np.exp(x) + np.exp(2 * x)
    return (np.exp(t3) + np.cos(t3)) * (np.exp(x) + 2 * np.exp(2 * x))


def sqrt_cos_graph() -> Graph:
    """``f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))`` as the nodes ``t1`` to ``t5`` and ``f``."""
    return build_graph(
        [
            ("t1", "square", ["x"]),
            ("t2", "exp", ["t1"]),
            ("t3", "add", ["t1", "t2"]),
            ("t4", "sqrt", ["t3"]),
            ("t5", "cos", ["t3"]),
            ("f", "add", ["t4", "t5"]),
        ]
    )


def sqrt_cos_derivative(x: np.ndarray) -> np.ndarray:
    """Closed form ``f'(x) = (1 / (2 sqrt(t3)) - sin(t3)) (1 + exp(x^2)) 2x`` with ``t3 = x^2 + exp(x^2)``.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    ndarray, shape of ``x``
    """
    x = _check_x(x)
    t3 = x**2 + np.exp(x**2)
    return (0.5 / np.sqrt(t3) - np.sin(t3)) * (1 + np.exp(x**2)) * 2 * x


def node_label(node: Node) -> str:
    """The node as an assignment, e.g. ``'t3 = t1 + t2'`` (just the name for the input).

    Examples
    --------
    >>> node_label(Node("t3", "add", ("t1", "t2")))
    't3 = t1 + t2'
    """
    if not isinstance(node, Node):
        raise TypeError(f"node must be a Node, got {type(node).__name__}")
    return node.name if node.op == "input" else f"{node.name} = " + OPS[node.op][1].format(*node.inputs)


def backward_equations(graph: Graph) -> list[str]:
    """The reverse sweep as text, one adjoint per line from the output back to the input.

    The adjoint of ``t3`` is written ``t̄3`` (a bar over the letter).

    Examples
    --------
    >>> backward_equations(exp_sin_graph())[3]
    't\u03043 = t\u03044 · exp(t3) + t\u03045 · cos(t3)'
    """
    graph = _check_graph(graph)
    children = _children(graph)
    lines = [f"{_bar(graph.nodes[-1].name)} = 1"]
    for node in reversed(graph.nodes[:-1]):
        terms = []
        for child in children[node.name]:
            local = OPS[child.op][2].format(node.name)
            terms.append(_bar(child.name) if local == "1" else f"{_bar(child.name)} · {local}")
        lines.append(f"{_bar(node.name)} = " + " + ".join(terms))
    return lines


def forward(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Values of every node for the inputs ``x`` (any shape; a numpy array or a torch tensor).

    Examples
    --------
    >>> forward(exp_sin_graph(), np.array([0.0]))["t3"]
    array([2.])
    """
    graph = _check_graph(graph)
    if type(x).__module__.split(".")[0] == "torch":  # kept as a tensor, so autograd can record the operations
        import torch

        if not bool(torch.isfinite(x).all()) or x.is_complex():
            raise ValueError("x must hold finite real numbers")
        return _evaluate(graph, x)
    return _evaluate(graph, _check_x(x))


def reverse_sweep(graph: Graph, x: np.ndarray) -> Sweep:
    """Forward pass, then the reverse sweep ``t̄ = sum over users w of t of w̄ * dw/dt``.

    Parameters
    ----------
    graph : Graph
    x : ndarray, shape (...)
        Inputs; each is swept independently (vectorised).

    Returns
    -------
    Sweep

    Examples
    --------
    >>> s = reverse_sweep(exp_sin_graph(), np.array([0.0]))
    >>> s.adjoints["t3"], s.forward_ops, s.backward_ops
    (array([6.97290926]), 6, 8)
    """
    graph = _check_graph(graph)
    values = _evaluate(graph, _check_x(x))
    adjoints = {node.name: np.zeros_like(values[node.name]) for node in graph.nodes}
    adjoints[graph.nodes[-1].name] = np.ones_like(values[graph.nodes[-1].name])
    edges = 0
    for node in reversed(graph.nodes[1:]):
        for name, local in zip(node.inputs, _local_derivatives(node, values), strict=True):
            adjoints[name] = adjoints[name] + adjoints[node.name] * local
            edges += 1
    return Sweep(values, adjoints, adjoints[graph.nodes[0].name], len(graph.nodes) - 1, edges)


def autograd_derivative(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``df/dx`` from PyTorch's autograd on the same graph (float64), as an independent oracle.

    Examples
    --------
    >>> autograd_derivative(exp_sin_graph(), np.array([0.0]))
    array([20.91872779])
    """
    import torch

    graph = _check_graph(graph)
    xt = torch.tensor(_check_x(x), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_evaluate(graph, xt)[graph.nodes[-1].name].sum(), xt)
    return grad.numpy()


def layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """Drawing positions: column = longest path from the input, rows centred within a column.

    Examples
    --------
    >>> layout(exp_sin_graph())["t4"], layout(exp_sin_graph())["t5"]
    ((4.0, 0.5), (4.0, -0.5))
    """
    graph = _check_graph(graph)
    depth: dict[str, int] = {}
    for node in graph.nodes:
        depth[node.name] = 1 + max((depth[i] for i in node.inputs), default=-1)
    columns: dict[int, list[str]] = {}
    for name, col in depth.items():
        columns.setdefault(col, []).append(name)
    return {
        name: (float(col), (len(names) - 1) / 2 - row)
        for col, names in columns.items()
        for row, name in enumerate(names)
    }


def _bar(name: str) -> str:
    """The adjoint's symbol: a combining macron over the first letter (``t3`` -> ``t\u03043``)."""
    return f"{name[0]}\u0304{name[1:]}"


def _evaluate(graph: Graph, x):
    """The forward pass on validated inputs, numpy or torch."""
    values = {graph.nodes[0].name: x}
    for node in graph.nodes[1:]:
        args = [values[name] for name in node.inputs]
        values[node.name] = args[0] + args[1] if node.op == "add" else _elementary(node.op, args[0])
    return values


def _elementary(op: str, u):
    """``op`` applied with numpy, or with torch when ``u`` is a tensor (so autograd can record it)."""
    lib = __import__("torch") if type(u).__module__.split(".")[0] == "torch" else np
    return getattr(lib, op)(u)


def _local_derivatives(node: Node, values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Partial derivatives of ``node`` with respect to each of its inputs."""
    u, out, op = values[node.inputs[0]], values[node.name], node.op
    if op == "add":
        return [np.ones_like(u), np.ones_like(u)]
    if op in ("exp", "sqrt"):  # reuse the forward value: exp' = exp, sqrt' = 1 / (2 sqrt)
        return [out if op == "exp" else 0.5 / out]
    return [np.cos(u) if op == "sin" else -np.sin(u) if op == "cos" else 2 * u]


def _children(graph: Graph) -> dict[str, list[Node]]:
    children: dict[str, list[Node]] = {node.name: [] for node in graph.nodes}
    for node in graph.nodes:
        for name in node.inputs:
            children[name].append(node)
    return children


def _check_graph(graph: object) -> Graph:
    if not isinstance(graph, Graph):
        raise TypeError(f"graph must be a Graph, got {type(graph).__name__}")
    return graph


def _check_x(x: object) -> np.ndarray:
    return v.check_array(x, "x", min_rows=1)

"""Computational graphs and reverse-mode differentiation, by hand.

A scalar function is written as a sequence of elementary operations, one node
per intermediate variable (``a = exp(x)``, ``b = a^2``, ...). The forward pass
evaluates the nodes in order; the reverse sweep visits them backwards and
accumulates each node's *adjoint* ``d f / d node`` from its children. Both are
vectorised over an array of inputs ``x``.

Examples
--------
>>> import numpy as np
>>> g = exp_sin_graph()
>>> [node_label(n) for n in g.nodes[1:3]]
['a = exp(x)', 'b = a^2']
>>> sweep = reverse_sweep(g, np.array([0.0, 0.5]))
>>> np.allclose(sweep.derivative, exp_sin_derivative(np.array([0.0, 0.5])))
True
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Elementary operations: op -> (arity, label pattern, local derivative as text).
OPS = {
    "exp": (1, "exp({0})", "exp({0})"),
    "sin": (1, "sin({0})", "cos({0})"),
    "cos": (1, "cos({0})", "(-sin({0}))"),
    "sqrt": (1, "sqrt({0})", "1/(2 sqrt({0}))"),
    "square": (1, "{0}^2", "2 {0}"),
    "add": (2, "{0} + {1}", "1"),
}


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
        Each op is a key of ``OPS``; inputs must be defined earlier.
    input_name : str
        Name of the single input variable.

    Returns
    -------
    Graph

    Examples
    --------
    >>> build_graph([("a", "square", ["x"]), ("b", "sin", ["a"])]).nodes[-1]
    Node(name='b', op='sin', inputs=('a',))
    """
    if not isinstance(input_name, str) or not input_name:
        raise ValueError(f"input_name must be a non-empty str, got {input_name!r}")
    if isinstance(nodes, str) or not isinstance(nodes, Sequence) or not nodes:
        raise ValueError("nodes must be a non-empty sequence of (name, op, inputs)")
    built, known = [Node(input_name, "input")], {input_name}
    for entry in nodes:
        name, op, inputs = entry
        inputs = tuple(inputs)
        if not isinstance(name, str) or not name or name in known:
            raise ValueError(f"nodes must have unique non-empty names, got {name!r} twice or empty")
        if op not in OPS:
            raise ValueError(f"nodes: unknown op {op!r} for {name!r}; known: {sorted(OPS)}")
        if len(inputs) != OPS[op][0] or not set(inputs) <= known:
            raise ValueError(f"nodes: {name!r} = {op} needs {OPS[op][0]} earlier-defined inputs, got {inputs}")
        built.append(Node(name, op, inputs))
        known.add(name)
    return Graph(tuple(built))


def exp_sin_graph() -> Graph:
    """``f(x) = exp(exp(x) + exp(2x)) + sin(exp(x) + exp(2x))`` as the nodes ``a`` to ``f``."""
    return build_graph(
        [
            ("a", "exp", ["x"]),
            ("b", "square", ["a"]),
            ("c", "add", ["a", "b"]),
            ("d", "exp", ["c"]),
            ("e", "sin", ["c"]),
            ("f", "add", ["d", "e"]),
        ]
    )


def exp_sin_derivative(x: np.ndarray) -> np.ndarray:
    """Closed form ``f'(x) = (exp(c) + cos(c)) (exp(x) + 2 exp(2x))`` with ``c = exp(x) + exp(2x)``."""
    x = _check_x(x)
    c = np.exp(x) + np.exp(2 * x)
    return (np.exp(c) + np.cos(c)) * (np.exp(x) + 2 * np.exp(2 * x))


def sqrt_cos_graph() -> Graph:
    """``f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))`` as the nodes ``a`` to ``f``."""
    return build_graph(
        [
            ("a", "square", ["x"]),
            ("b", "exp", ["a"]),
            ("c", "add", ["a", "b"]),
            ("d", "sqrt", ["c"]),
            ("e", "cos", ["c"]),
            ("f", "add", ["d", "e"]),
        ]
    )


def sqrt_cos_derivative(x: np.ndarray) -> np.ndarray:
    """Closed form ``f'(x) = (1 / (2 sqrt(c)) - sin(c)) (1 + exp(x^2)) 2x`` with ``c = x^2 + exp(x^2)``."""
    x = _check_x(x)
    c = x**2 + np.exp(x**2)
    return (0.5 / np.sqrt(c) - np.sin(c)) * (1 + np.exp(x**2)) * 2 * x


def node_label(node: Node) -> str:
    """The node as an assignment, e.g. ``'c = a + b'`` (just the name for the input)."""
    return node.name if node.op == "input" else f"{node.name} = " + OPS[node.op][1].format(*node.inputs)


def backward_equations(graph: Graph) -> list[str]:
    """The reverse sweep as text, one adjoint per line from the output back to the input.

    Examples
    --------
    >>> backward_equations(exp_sin_graph())[3]
    'c\u0304 = d\u0304 · exp(c) + e\u0304 · cos(c)'
    """
    children = _children(graph)
    lines = [f"{graph.nodes[-1].name}\u0304 = 1"]
    for node in reversed(graph.nodes[:-1]):
        terms = []
        for child in children[node.name]:
            local = OPS[child.op][2].format(node.name)
            terms.append(f"{child.name}\u0304" if local == "1" else f"{child.name}\u0304 · {local}")
        lines.append(f"{node.name}\u0304 = " + " + ".join(terms))
    return lines


def forward(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Values of every node for the inputs ``x`` (any shape; numpy arrays or torch tensors)."""
    values = {graph.nodes[0].name: x}
    for node in graph.nodes[1:]:
        args = [values[name] for name in node.inputs]
        values[node.name] = args[0] + args[1] if node.op == "add" else _elementary(node.op, args[0])
    return values


def reverse_sweep(graph: Graph, x: np.ndarray) -> Sweep:
    """Forward pass, then the reverse sweep ``u_bar = sum over children v of v_bar * dv/du``.

    Parameters
    ----------
    graph : Graph
    x : ndarray, shape (...)
        Inputs; each is swept independently (vectorised).

    Returns
    -------
    Sweep
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"graph must be a Graph, got {type(graph).__name__}")
    values = forward(graph, _check_x(x))
    adjoints = {node.name: np.zeros_like(values[node.name]) for node in graph.nodes}
    adjoints[graph.nodes[-1].name] = np.ones_like(values[graph.nodes[-1].name])
    edges = 0
    for node in reversed(graph.nodes[1:]):
        for name, local in zip(node.inputs, _local_derivatives(node, values), strict=True):
            adjoints[name] = adjoints[name] + adjoints[node.name] * local
            edges += 1
    return Sweep(values, adjoints, adjoints[graph.nodes[0].name], len(graph.nodes) - 1, edges)


def autograd_derivative(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``df/dx`` from PyTorch's autograd on the same graph (float64), as an independent oracle."""
    import torch

    xt = torch.tensor(_check_x(x), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(forward(graph, xt)[graph.nodes[-1].name].sum(), xt)
    return grad.numpy()


def layout(graph: Graph) -> dict[str, tuple[float, float]]:
    """Drawing positions: column = longest path from the input, rows centred within a column."""
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


@dataclass(frozen=True)
class Cost:
    """Cost of one gradient of a tanh MLP's summed output, per width (arrays of equal length).

    FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`
    (matrix products only). Times are the best of ``repeat`` rounds, in
    seconds per call; ``time_ratio`` is the median over rounds of gradient
    time / forward time, each round timing both back to back.
    """

    n_params: np.ndarray
    forward_flops: np.ndarray
    backward_flops: np.ndarray
    forward_time: np.ndarray
    gradient_time: np.ndarray
    time_ratio: np.ndarray


def reverse_mode_cost(
    widths: Sequence[int], depth: int = 3, batch: int = 256, repeat: int = 5, seed: int = 0, threads: int = 1
) -> Cost:
    """Forward vs reverse-mode cost for MLPs of ``depth`` hidden layers of each width.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths (``>= 1``); the input has the same width, the output one unit.
    depth : int
        Number of hidden layers (``>= 1``).
    batch : int
        Batch size of the forward pass (``>= 1``).
    repeat : int
        Timing rounds (``>= 1``).
    seed : int
        Seed of the weights and inputs.
    threads : int
        PyTorch threads while timing (restored afterwards). One by default: on
        a shared machine, multi-threaded kernels wait for descheduled threads
        and the times scatter.

    Returns
    -------
    Cost
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    for arg, v in (("depth", depth), ("batch", batch), ("repeat", repeat), ("threads", threads)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{arg} must be a positive int, got {v!r}")
    if not len(widths) or not all(isinstance(w, int | np.integer) and w >= 1 for w in widths):
        raise ValueError(f"widths must be a non-empty sequence of positive ints, got {widths!r}")
    gen = torch.Generator().manual_seed(seed)
    nets = []
    for width in widths:
        Ws = [torch.randn(width, width, generator=gen) / width**0.5 for _ in range(depth)]
        Ws.append(torch.randn(width, 1, generator=gen) / width**0.5)
        nets.append((torch.randn(batch, width, generator=gen), [W.requires_grad_() for W in Ws]))
    # time first: right after a FlopCounterMode, PyTorch runs slowly for a while
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        times = [
            _time_pair(
                lambda x=x, p=p: _mlp_loss(x, p).detach(),
                lambda x=x, p=p: torch.autograd.grad(_mlp_loss(x, p), p),
                repeat,
            )
            for x, p in nets
        ]
    finally:
        torch.set_num_threads(previous_threads)
    flops = []
    for x, params in nets:
        with FlopCounterMode(display=False) as fwd:
            out = _mlp_loss(x, params)
        with FlopCounterMode(display=False) as bwd:
            torch.autograd.grad(out, params)
        flops.append((fwd.get_total_flops(), bwd.get_total_flops()))
    f, b = (np.array(col) for col in zip(*flops, strict=True))
    return Cost(
        n_params=np.array([sum(W.numel() for W in p) for _, p in nets]),
        forward_flops=f,
        backward_flops=b,
        forward_time=np.array([tf.min() for tf, _ in times]),
        gradient_time=np.array([tg.min() for _, tg in times]),
        time_ratio=np.array([np.median(tg / tf) for tf, tg in times]),
    )


def _mlp_loss(x, params):
    """Sum of the outputs of ``tanh`` layers ``params[:-1]`` and a linear read-out ``params[-1]``."""
    h = x
    for W in params[:-1]:
        h = h.matmul(W).tanh()
    return (h @ params[-1]).sum()


def _time_pair(f, g, repeat: int, min_time: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Seconds per call of ``f`` and of ``g`` in ``repeat`` interleaved rounds of at least ``min_time`` each."""
    counts = []
    for func in (f, g):
        func()  # warm-up
        number, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_time:
            func()
            number += 1
        counts.append(number)
    rounds = np.empty((repeat, 2))
    for r in range(repeat):  # interleaved, so a burst of load from elsewhere slows both
        for k, (func, number) in enumerate(zip((f, g), counts, strict=True)):
            start = time.perf_counter()
            for _ in range(number):
                func()
            rounds[r, k] = (time.perf_counter() - start) / number
    return rounds[:, 0], rounds[:, 1]


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


def _check_x(x: object) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "biuf" or not np.isfinite(x).all():
        raise ValueError("x must be a finite real array")
    return x.astype(np.float64)

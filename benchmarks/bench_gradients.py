"""Timing of nnbook.gradients, nnbook.gradcheck and nnbook.compgraph against course-handout loops.

Run with ``python -m benchmarks.bench_gradients`` from the repository root.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.timing import Kernel, compare
from nnbook import compgraph, gradcheck, gradients


def naive_softmax_jacobian(Z: np.ndarray) -> np.ndarray:
    """Per input, per entry: the handout's double loop over i and j."""
    batch, m = Z.shape
    J = np.zeros((batch, m, m))
    for b in range(batch):
        e = [math.exp(v - max(Z[b])) for v in Z[b]]
        y = [v / sum(e) for v in e]
        for i in range(m):
            for j in range(m):
                J[b, i, j] = y[i] * ((1.0 if i == j else 0.0) - y[j])
    return J


def naive_numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """One coordinate at a time, two calls of f each."""
    grad = np.zeros_like(x)
    for k in range(x.size):
        old = x[k]
        x[k] = old + eps
        plus = f(x)
        x[k] = old - eps
        minus = f(x)
        x[k] = old
        grad[k] = (plus - minus) / (2 * eps)
    return grad


def naive_rff_gradient(Phi: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Sum over training points of 2/n (phi_i . a - y_i) phi_i."""
    n = Phi.shape[0]
    grad = np.zeros_like(a)
    for i in range(n):
        grad += 2.0 / n * (Phi[i] @ a - y[i]) * Phi[i]
    return grad


def naive_exp_sin_sweep(xs: np.ndarray) -> np.ndarray:
    """The hand reverse sweep of exp(e^x + e^2x) + sin(e^x + e^2x), one input at a time."""
    out = np.empty_like(xs)
    for k, x in enumerate(xs):
        a = math.exp(x)
        b = a * a
        c = a + b
        c_bar = math.exp(c) + math.cos(c)
        a_bar = c_bar * 2 * a + c_bar
        out[k] = a_bar * a
    return out


def main() -> dict[str, float]:
    rng = np.random.default_rng(0)
    ratios = {}

    Z = rng.normal(size=(500, 10))
    np.testing.assert_allclose(gradients.softmax_jacobian(Z), naive_softmax_jacobian(Z), atol=1e-15)
    ratios["softmax_jacobian"] = compare(
        "softmax Jacobian, 500 x 10 (double loop)",
        lambda: naive_softmax_jacobian(Z),
        lambda: gradients.softmax_jacobian(Z),
    )

    Phi, y = rng.normal(size=(300, 200)), rng.normal(size=300)
    a = rng.normal(size=200)

    def loss(v):
        return np.mean((Phi @ v - y) ** 2)

    def loss_batched(V):
        return np.mean((V @ Phi.T - y) ** 2, axis=-1)

    np.testing.assert_allclose(
        gradcheck.numerical_gradient(loss_batched, a, batched=True),
        naive_numerical_gradient(loss, a.copy()),
        rtol=1e-6,
        atol=1e-8,
    )
    ratios["numerical_gradient"] = compare(
        "numerical gradient, 200 coords (coordinate loop)",
        lambda: naive_numerical_gradient(loss, a.copy()),
        lambda: gradcheck.numerical_gradient(loss_batched, a, batched=True),
    )

    Phi_big, y_big = rng.normal(size=(2000, 400)), rng.normal(size=2000)
    a_big = rng.normal(size=400)
    np.testing.assert_allclose(
        gradients.rff_loss_gradient(Phi_big, y_big, a_big),
        naive_rff_gradient(Phi_big, y_big, a_big),
        rtol=1e-10,
        atol=1e-12,
    )
    n, p = Phi_big.shape
    flops = 4 * n * p  # Phi a and Phi^T r, a multiply-add each per entry: the loop does the same arithmetic
    ratios["rff_loss_gradient"] = compare(
        "RFF loss gradient, 2000 x 400 (per-sample loop)",
        lambda: naive_rff_gradient(Phi_big, y_big, a_big),
        lambda: gradients.rff_loss_gradient(Phi_big, y_big, a_big),
        ops=(flops, flops),
        kernel=Kernel(
            "two matrix-vector products",
            flops=flops,
            bytes=2 * Phi_big.nbytes,
            bound="memory",
            note="Phi (6.4 MB) is read twice; it fits in a large last-level cache, so the rate may exceed the "
            "bandwidth of main memory",
        ),
    )

    xs = np.linspace(-2, 1, 20000)
    graph = compgraph.exp_sin_graph()
    np.testing.assert_allclose(compgraph.reverse_sweep(graph, xs).derivative, naive_exp_sin_sweep(xs), rtol=1e-13)
    ratios["reverse_sweep"] = compare(
        "reverse sweep, 20000 inputs (per-input loop)",
        lambda: naive_exp_sin_sweep(xs),
        lambda: compgraph.reverse_sweep(graph, xs),
    )
    return ratios


if __name__ == "__main__":
    main()

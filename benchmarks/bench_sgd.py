"""Gradient descent with known answers, and the per-epoch measurements of the SGD chapter, against naive code.

The naive references: iterating gradient descent to reach each budget of a double-descent sweep (instead of one
eigendecomposition for every budget), the full eigendecomposition of the p x p Hessian of a wide feature matrix
for its largest eigenvalue (instead of the top eigenvalue of the smaller Gram matrix), and evaluating the logistic
loss after every SGD update inside the loop (instead of once, for all recorded weights, after it).
"""

from __future__ import annotations

import numpy as np

from benchmarks.timing import compare
from nnbook import data, rff, sgd


def naive_budgets(X: np.ndarray, y: np.ndarray, lr: float, budgets: list[int]) -> np.ndarray:
    n = X.shape[0]
    w, out, done = np.zeros(X.shape[1]), [], 0
    for t in budgets:
        for _ in range(t - done):
            w = w - lr * X.T @ (X @ w - y) / n
        done = t
        out.append(w.copy())
    return np.array(out).T


def naive_max_lr(X: np.ndarray) -> float:
    return 2.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]


def naive_logistic(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, seed: int) -> np.ndarray:
    rng, w, losses = np.random.default_rng(seed), np.zeros(X.shape[1]), []
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            w = w - lr * X[i] * (1 / (1 + np.exp(-X[i] @ w)) - y[i])
            p = 1 / (1 + np.exp(-X @ w))
            losses.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return np.array(losses)


def main() -> None:
    split = data.digits_curvy()
    Phi = rff.fourier_features(split.X_train, rff.sample_frequencies(64, 300, rng=0))
    y = split.y_train
    lr = 0.3 * sgd.max_stable_lr(Phi)
    budgets = [10, 100, 1000, 3000]
    np.testing.assert_allclose(sgd.gd_closed_form(Phi, y, lr, budgets), naive_budgets(Phi, y, lr, budgets), rtol=1e-6)
    print(f"Phi: {Phi.shape}, budgets up to {budgets[-1]} steps")
    compare(
        "GD at 4 budgets: iterate vs closed form",
        lambda: naive_budgets(Phi, y, lr, budgets),
        lambda: sgd.gd_closed_form(Phi, y, lr, budgets),
        repeat=2,
    )
    wide = rff.fourier_features(split.X_train, rff.sample_frequencies(64, 1000, rng=1))
    assert np.isclose(naive_max_lr(wide), sgd.max_stable_lr(wide), rtol=1e-8)
    compare(
        "2/lambda_max, N=1000: eigvalsh(p x p) vs top of n x n",
        lambda: naive_max_lr(wide),
        lambda: sgd.max_stable_lr(wide),
        repeat=2,
    )
    X, t = sgd.two_gaussians(40, rng=28)
    run = sgd.logistic_sgd(X, t, lr=0.1, n_epochs=20, batch_size=1, rng=0)
    np.testing.assert_allclose(run.loss[1:], naive_logistic(X, t, 0.1, 20, 0), rtol=1e-10)
    compare(
        "logistic SGD, 20 epochs: loss in the loop vs after",
        lambda: naive_logistic(X, t, 0.1, 20, 0),
        lambda: sgd.logistic_sgd(X, t, lr=0.1, n_epochs=20, batch_size=1, rng=0),
        repeat=3,
    )


if __name__ == "__main__":
    main()

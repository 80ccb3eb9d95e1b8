"""One epoch of the numpy MLP: the classic per-sample loop against vectorised mini-batches, on the same data.

Both run :meth:`nnbook.backprop.MLP.train_step` over the 4000 bundled MNIST
training images with the chapter's 784 -> 32 -> 32 -> 10 sigmoid network;
only the batch size differs. The per-sample loop does the arithmetic of a
batch as rank-one updates, paying numpy's call overhead on each; the batch
turns it into matrix products. The last lines time whole epochs of
:func:`nnbook.backprop_training.train_sgd`, which also evaluates the network
on the training set before and after the epoch.
"""

from __future__ import annotations

import numpy as np

from benchmarks.timing import compare
from nnbook import backprop, backprop_training, data


def epoch_of_steps(model: backprop.MLP, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    """One pass over the data, ``batch_size`` images per step (in a fixed shuffled order for batches)."""
    model = model.copy()
    order = np.arange(len(X)) if batch_size == 1 else np.random.default_rng(0).permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start : start + batch_size]
        model.train_step(X[idx], y[idx], lr=0.1)


def epoch_flops(n: int, weights: int, batch_size: int) -> float:
    """Operations of one epoch: per image a forward (2 per weight) and a backward pass (4), per step an update (2).

    Only the updates depend on the batch size, so the ratio of operation counts is small (about 4/3): the
    speed-up of batches is efficiency, not less arithmetic.
    """
    return 6 * n * weights + 2 * weights * -(-n // batch_size)


def main() -> None:
    split = data.load_mnist()
    X, y = split.X_train.astype(np.float64), split.y_train
    model = backprop.MLP([784, 32, 32, 10], rng=0)
    print(f"n = {X.shape[0]} images, {model.num_parameters:,} parameters")
    n, weights = X.shape[0], model.num_parameters
    for batch_size in (32, 128):
        compare(
            f"train steps, one epoch: per sample vs batch {batch_size}",
            lambda: epoch_of_steps(model, X, y, 1),
            lambda b=batch_size: epoch_of_steps(model, X, y, b),
            repeat=3,
            ops=(epoch_flops(n, weights, 1), epoch_flops(n, weights, batch_size)),
        )
    compare(
        "train_sgd, one epoch + 2 evaluations: 1 vs 32",
        lambda: backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=1, shuffle=False),
        lambda: backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=32, rng=0),
        repeat=3,
    )


if __name__ == "__main__":
    main()

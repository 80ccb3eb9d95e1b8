"""One epoch of the numpy MLP: the classic per-sample loop against vectorised mini-batches, on the same data.

Both call :func:`nnbook.backprop_training.train_sgd` on the chapter's 784 -> 32 -> 32 -> 10
sigmoid network and the bundled MNIST training images; only the batch size
differs. The per-sample loop does the same arithmetic as a batch of 32 but
as 32 rank-one updates with numpy call overhead on each; the batch turns it
into matrix products.
"""

from __future__ import annotations

from benchmarks.timing import compare
from nnbook import backprop, backprop_training, data


def main() -> None:
    split = data.load_mnist()
    X, y = split.X_train, split.y_train
    model = backprop.MLP([784, 32, 32, 10], rng=0)
    print(f"n = {X.shape[0]} images, {model.num_parameters:,} parameters")
    for batch_size in (32, 128):
        compare(
            f"one epoch: per-sample loop vs batches of {batch_size}",
            lambda: backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=1, shuffle=False),
            lambda b=batch_size: backprop_training.train_sgd(model, X, y, lr=0.1, epochs=1, batch_size=b, rng=0),
            repeat=3,
        )


if __name__ == "__main__":
    main()

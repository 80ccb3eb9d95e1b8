"""Training the numpy MLP of :mod:`nnbook.backprop` by stochastic gradient descent.

One loop covers the three ways the chapter trains: one sample at a time in a
fixed order (the classic exercise), shuffled mini-batches, and full-batch
gradient descent. Every step is :meth:`nnbook.backprop.MLP.train_step`, the
hand-written backward pass followed by ``W <- W - lr dW``; the loop only
chooses the batches and measures the network after each epoch.

Examples
--------
>>> import numpy as np
>>> from nnbook.backprop import MLP
>>> X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
>>> run = train_sgd(MLP([2, 2], rng=0), X, y, lr=1.0, epochs=5, shuffle=False)
>>> run.step_loss.shape, run.train_accuracy.tolist()
((10,), [0.5, 1.0, 1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nnbook._validation import check_array, check_bool, check_int, check_real, check_rng, check_work
from nnbook.backprop import MLP

MAX_WORK = 10**13  # epochs * samples * parameters (multiply-adds of the forward passes) one call may cost


@dataclass(frozen=True)
class Training:
    """What :func:`train_sgd` returns.

    ``step_loss`` (steps,) is each batch's mean loss before its update.
    ``epoch`` lists the epochs at which the network was evaluated (0 = before
    training); ``train_*`` and ``test_*`` are measured there (``test_*`` None
    without test data). ``wall_time`` is in seconds.
    """

    model: MLP
    step_loss: np.ndarray
    epoch: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    test_loss: np.ndarray | None
    test_accuracy: np.ndarray | None
    wall_time: float


def train_sgd(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    epochs: int,
    batch_size: int | None = 1,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    eval_every: int = 1,
) -> Training:
    """Stochastic gradient descent on a copy of ``model``, one :meth:`~nnbook.backprop.MLP.train_step` per batch.

    ``batch_size=1, shuffle=False`` is the classic per-sample exercise (no
    mini-batches, no randomness); ``batch_size=None`` is full-batch gradient
    descent (one step per epoch).

    Parameters
    ----------
    model : MLP
        Not modified.
    X : ndarray, shape (n, n_features)
    y : ndarray, shape (n,)
        Integer labels.
    lr : float
        Learning rate (``> 0``).
    epochs : int
        Passes over the data (``>= 0``); ``epochs * n * parameters`` is bounded by :data:`MAX_WORK`.
    batch_size : int or None
        Samples per step (``>= 1``; None = all).
    shuffle : bool
        Visit the samples in a fresh random order each epoch.
    rng : Generator, int or None
        Seeds the shuffling.
    test : (X_test, y_test) or None
        Evaluated with the training set.
    eval_every : int
        Evaluate at epoch 0, every ``eval_every`` epochs and after the last.

    Returns
    -------
    Training

    Raises
    ------
    ValueError
        If a step overflows: the learning rate is too large.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an nnbook.backprop.MLP, got {type(model).__name__}")
    X = check_array(X, "X", shape=(None, model.sizes[0]), dtype="float32" if model.dtype == np.float32 else "real")
    y = check_array(y, "y", shape=(X.shape[0],), dtype="integer")
    lr = check_real(lr, "lr", min_value=0.0, min_inclusive=False)
    epochs = check_int(epochs, "epochs", min_value=0)
    n = X.shape[0]
    batch = n if batch_size is None else min(check_int(batch_size, "batch_size", min_value=1), n)
    shuffle = check_bool(shuffle, "shuffle")
    rng = check_rng(rng)
    eval_every = check_int(eval_every, "eval_every", min_value=1)
    sets = {"train": (X, y)}
    if test is not None:
        if not isinstance(test, tuple) or len(test) != 2:
            raise TypeError(f"test must be a pair (X_test, y_test), got {type(test).__name__}")
        X_test = check_array(test[0], "test[0]", shape=(None, model.sizes[0]))
        sets["test"] = (X_test, check_array(test[1], "test[1]", shape=(X_test.shape[0],), dtype="integer"))
    for arg, (_, labels) in zip(("y", "test[1]"), sets.values(), strict=False):
        if labels.min() < 0 or labels.max() >= model.sizes[-1]:
            raise ValueError(f"{arg} must hold labels in [0, {model.sizes[-1]}), got {labels.min()}..{labels.max()}")
    check_work(epochs * n * model.num_parameters, "epochs * n * parameters", MAX_WORK, "multiply-adds")

    model = model.copy()
    X = np.ascontiguousarray(X)
    measured: dict[str, list[float]] = {f"{s}_{m}": [] for s in sets for m in ("loss", "accuracy")}
    evaluated: list[int] = []

    def evaluate(epoch: int) -> None:
        evaluated.append(epoch)
        for name, pair in sets.items():
            loss, accuracy = model.evaluate(*pair)
            measured[f"{name}_loss"].append(loss)
            measured[f"{name}_accuracy"].append(accuracy)

    step_loss: list[float] = []
    start = time.perf_counter()
    evaluate(0)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n) if shuffle else np.arange(n)
        for first in range(0, n, batch):
            idx = order[first : first + batch]
            Xb, yb = (X, y) if batch == n and not shuffle else (X[idx], y[idx])
            step_loss.append(model.train_step(Xb, yb, lr))
        if epoch % eval_every == 0 or epoch == epochs:
            evaluate(epoch)
    wall = time.perf_counter() - start
    curves = {key: np.array(values) for key, values in measured.items()}
    return Training(
        model,
        np.array(step_loss),
        np.array(evaluated),
        curves["train_loss"],
        curves["train_accuracy"],
        curves.get("test_loss"),
        curves.get("test_accuracy"),
        wall,
    )

"""The chapter's networks in PyTorch, the bridge from the numpy MLP to torch, and early stopping.

:func:`to_torch` copies a :class:`nnbook.backprop.MLP` into an
``nn.Sequential`` so that torch autograd can check the hand-written
gradients (:func:`torch_gradients`). :func:`mlp` and :func:`small_cnn` build
the models the chapter trains through :func:`nnbook.training.train`; both
take flattened 28 x 28 images, shape (n, 784), and return logits.
:func:`early_stopping` reads per-epoch validation losses the way a training
run with patience would.

Examples
--------
>>> net = small_cnn(seed=0)
>>> net(torch.zeros(2, 784)).shape
torch.Size([2, 10])
>>> count_parameters(mlp([784, 100, 10], seed=0))
79510
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook._validation import check_array, check_choice, check_int, check_module, check_real, check_seed
from nnbook.backprop import MLP

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}
MAX_WIDTH = 100_000  # the widest layer mlp builds


def to_torch(model: MLP) -> nn.Sequential:
    """The same network as an ``nn.Sequential`` of ``Linear`` and activation layers (logits out), same dtype.

    ``nn.Linear`` stores ``W^T``, shape (n_out, n_in); the parameters are
    copied, so the two models are independent.

    Examples
    --------
    >>> to_torch(MLP([3, 4, 2], "tanh", rng=0))
    Sequential(
      (0): Linear(in_features=3, out_features=4, bias=True)
      (1): Tanh()
      (2): Linear(in_features=4, out_features=2, bias=True)
    )
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an nnbook.backprop.MLP, got {type(model).__name__}")
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    layers: list[nn.Module] = []
    for i, (W, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        linear = nn.Linear(*W.shape, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W.T))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, ACTIVATIONS[model.activation]()] if i < len(model.weights) - 1 else [linear]
    return nn.Sequential(*layers)


def torch_gradients(model: MLP, X: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Torch autograd's answer to :meth:`nnbook.backprop.MLP.gradients` on the same weights, in the same shapes.

    Examples
    --------
    >>> model, X, y = MLP([3, 2], rng=0), np.eye(3), np.array([0, 1, 1])
    >>> dW, db = torch_gradients(model, X, y)
    >>> bool(np.allclose(dW[0], model.gradients(X, y)[0][0], rtol=1e-12, atol=0))
    True
    """
    net = to_torch(model)
    X, _ = model._inputs(X)
    logits = net(torch.from_numpy(X))
    nn.functional.cross_entropy(logits, torch.from_numpy(model._labels(y, X.shape[0]))).backward()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    return [m.weight.grad.numpy().T.copy() for m in linears], [m.bias.grad.numpy().copy() for m in linears]


def mlp(sizes: Sequence[int], activation: str = "relu", *, seed: int = 0) -> nn.Sequential:
    """A fully connected network from ``sizes[0]`` inputs to ``sizes[-1]`` outputs, PyTorch's default initialisation.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first (each in ``[1,`` :data:`MAX_WIDTH` ``]``, at least two).
    activation : {"relu", "sigmoid", "tanh"}
        After every hidden layer; the output is logits.
    seed : int
        Seeds the initial weights (the global torch generator is left as it was).

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> mlp([784, 256, 128, 64, 10], seed=0)[1]
    ReLU()
    """
    if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"sizes must be a sequence of at least two layer widths, got {sizes!r}")
    sizes = [check_int(s, "sizes", min_value=1, max_value=MAX_WIDTH) for s in sizes]
    act = ACTIVATIONS[check_choice(activation, "activation", tuple(ACTIVATIONS))]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers += [nn.Linear(n_in, n_out), act()] if i < len(sizes) - 2 else [nn.Linear(n_in, n_out)]
    return nn.Sequential(*layers)


def small_cnn(dropout: float = 0.5, *, seed: int = 0) -> nn.Sequential:
    """Two 5 x 5 convolutions with max-pooling, dropout, and two fully connected layers, on 28 x 28 images.

    Shapes of one image: (1, 28, 28) -> conv 10 @ 24 x 24 -> pool 12 x 12 ->
    conv 20 @ 8 x 8 -> channel dropout -> pool 4 x 4 -> flatten 320 -> 60 ->
    dropout -> 10 logits; ReLU after each pooling and after the first linear
    layer.

    Parameters
    ----------
    dropout : float
        Drop probability of both dropout layers, in ``[0, 1)``.
    seed : int
        Seeds the initial weights.

    Returns
    -------
    torch.nn.Sequential
        Input (n, 784), output (n, 10).
    """
    dropout = check_real(dropout, "dropout", min_value=0.0, max_value=1.0, max_inclusive=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        return nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 10, kernel_size=5),  # (10, 24, 24)
            nn.MaxPool2d(2),  # (10, 12, 12)
            nn.ReLU(),
            nn.Conv2d(10, 20, kernel_size=5),  # (20, 8, 8)
            nn.Dropout2d(dropout),  # drops whole channels
            nn.MaxPool2d(2),  # (20, 4, 4)
            nn.ReLU(),
            nn.Flatten(),  # 320
            nn.Linear(320, 60),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(60, 10),
        )


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in check_module(model).parameters() if p.requires_grad)


def validation_split(
    X: np.ndarray, y: np.ndarray, size: int, seed: int = 0, fit_size: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Hold out ``size`` training examples for validation; both parts stratified by label.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Returned as float32, the dtype of torch's parameters.
    y : ndarray, shape (n,)
        Integer labels.
    size : int
        Examples held out (``1 <= size < n``).
    seed : int
        Seeds the draw.
    fit_size : int or None
        Keep only this many of the others for fitting (``1 <= fit_size <= n - size``); None keeps them all.

    Returns
    -------
    (X_fit, y_fit), (X_val, y_val)

    Examples
    --------
    >>> X, y = np.arange(20.0)[:, None], np.repeat([0, 1], 10)
    >>> (X_fit, y_fit), (X_val, y_val) = validation_split(X, y, 4)
    >>> X_fit.shape, X_fit.dtype, np.bincount(y_val).tolist()
    ((16, 1), dtype('float32'), [2, 2])
    >>> validation_split(X, y, 4, fit_size=6)[0][0].shape
    (6, 1)
    """
    from sklearn.model_selection import train_test_split

    y = check_array(y, "y", ndim=1, dtype="integer", min_rows=2)
    X = check_array(X, "X", ndim=2, dtype="float32")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X must have one row per label ({y.shape[0]}), got shape {X.shape}")
    size = check_int(size, "size", min_value=1, max_value=y.shape[0] - 1)
    if fit_size is not None:
        fit_size = check_int(fit_size, "fit_size", min_value=1, max_value=y.shape[0] - size)
    state = int(np.random.default_rng(check_seed(seed)).integers(2**31))  # any seed, in scikit-learn's range
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=size, train_size=fit_size, stratify=y, random_state=state
    )
    return (X_fit, y_fit), (X_val, y_val)


@dataclass(frozen=True)
class EarlyStop:
    """What :func:`early_stopping` finds; epochs count from 0 (before training).

    ``best_epoch`` has the lowest validation loss seen before the run would
    stop at ``stop_epoch`` (``patience`` epochs without improvement, or the
    last epoch). ``turn_epoch`` is where the monitored test loss is lowest:
    after it, the test loss only rises above its minimum.
    """

    best_epoch: int
    stop_epoch: int
    turn_epoch: int
    kept_test_accuracy: float
    final_test_accuracy: float
    kept_test_loss: float
    final_test_loss: float


def early_stopping(
    val_loss: np.ndarray, test_loss: np.ndarray, test_accuracy: np.ndarray, patience: int = 5
) -> EarlyStop:
    """Where training with early stopping on the validation loss stops, and what it keeps.

    Parameters
    ----------
    val_loss, test_loss, test_accuracy : ndarray, shape (E + 1,)
        Per epoch, index 0 before training (as in :class:`nnbook.training.History`).
    patience : int
        Epochs without a new lowest validation loss before stopping (``>= 1``).

    Returns
    -------
    EarlyStop

    Examples
    --------
    >>> val = np.array([2.0, 1.0, 0.5, 0.6, 0.7, 0.8])
    >>> stop = early_stopping(val, val + 0.1, np.array([0.1, 0.5, 0.8, 0.8, 0.79, 0.78]), patience=2)
    >>> stop.best_epoch, stop.stop_epoch, stop.turn_epoch, stop.kept_test_accuracy
    (2, 4, 2, 0.8)
    """
    val_loss = check_array(val_loss, "val_loss", ndim=1)
    n = val_loss.size
    test_loss = check_array(test_loss, "test_loss", shape=(n,))
    test_accuracy = check_array(test_accuracy, "test_accuracy", shape=(n,))
    patience = check_int(patience, "patience", min_value=1)
    best, stop = 0, n - 1
    for epoch in range(1, n):
        if val_loss[epoch] < val_loss[best]:
            best = epoch
        elif epoch - best >= patience:
            stop = epoch
            break
    return EarlyStop(
        best,
        stop,
        int(np.argmin(test_loss)),
        float(test_accuracy[best]),
        float(test_accuracy[-1]),
        float(test_loss[best]),
        float(test_loss[-1]),
    )

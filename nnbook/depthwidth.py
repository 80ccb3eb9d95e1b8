"""Depth against width in practice: small seeded ReLU classifiers on 2-D data.

:func:`mlp` builds a ReLU network of given depth and width with torch's
standard initialisation under a seed; :func:`train_classifier` fits it with
Adam on the cross-entropy (full batch or seeded mini-batches, on the CPU);
:func:`fit_and_score` does both and reports accuracies and the number of
activation regions the trained network shows on a grid
(:func:`nnbook.regions.regions_on_grid`).

Examples
--------
>>> from nnbook.data import spirals
>>> X, y = spirals(30, 3, rng=0)
>>> fit = fit_and_score(X, y, X, y, depth=2, width=8, seed=0, steps=50, resolution=50)
>>> fit.n_params, 0.0 <= fit.test_accuracy <= 1.0
(123, True)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook.regions import regions_on_grid


def mlp(n_inputs: int, depth: int, width: int, n_outputs: int, seed: int) -> nn.Sequential:
    """A ReLU MLP with ``depth`` hidden layers of ``width`` units, torch's default initialisation.

    The layers are created (so ``reset_parameters`` runs) inside
    :func:`torch.random.fork_rng` seeded with ``seed``: reproducible, and
    torch's global random state is left unchanged.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input and output dimensions (``>= 1``).
    depth : int
        Number of hidden layers (``>= 1``).
    width : int
        Units per hidden layer (``>= 1``).
    seed : int

    Returns
    -------
    torch.nn.Sequential
        ``Linear, ReLU`` repeated ``depth`` times, then ``Linear(width, n_outputs)``.

    Examples
    --------
    >>> net = mlp(2, depth=3, width=4, n_outputs=3, seed=0)
    >>> len(net), torch.equal(net[0].weight, mlp(2, 3, 4, 3, seed=0)[0].weight)
    (7, True)
    """
    for arg, v in (("n_inputs", n_inputs), ("depth", depth), ("width", width), ("n_outputs", n_outputs)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{arg} must be an int >= 1, got {v!r}")
    _check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        fan_in = n_inputs
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_outputs))
    return nn.Sequential(*layers)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A trained copy of the model (the input model is left untouched) and its training curve."""

    model: nn.Sequential  # the trained network
    losses: np.ndarray  # (steps,) mean cross-entropy of each step's batch, before the step


def _tensors(X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must have shape (n, d) with n >= 1, got {X.shape}")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError(f"y must be non-negative integer labels of shape ({X.shape[0]},), got {y.dtype} {y.shape}")
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)


def train_classifier(
    model: nn.Sequential,
    X: np.ndarray,
    y: np.ndarray,
    steps: int = 2000,
    lr: float = 1e-2,
    batch_size: int | None = None,
    seed: int = 0,
    cosine: bool = True,
) -> TrainResult:
    """Fit a classifier with Adam on the cross-entropy, reproducibly, on the CPU.

    Parameters
    ----------
    model : torch.nn.Sequential
        Maps ``(n, d)`` inputs to ``(n, n_classes)`` logits; copied, not modified.
    X : ndarray, shape (n, d)
    y : ndarray of int, shape (n,)
        Labels in ``[0, n_classes)``.
    steps : int
        Number of Adam steps (``>= 1``).
    lr : float
        Learning rate (``> 0``).
    batch_size : int or None
        None for full-batch steps; else mini-batches drawn without replacement
        (a fresh permutation per epoch) from a generator seeded with ``seed``.
    seed : int
    cosine : bool
        Decay the learning rate from ``lr`` to 0 along a half cosine over the
        steps (else constant). The decay lets the last steps settle instead of
        ending on one of the loss spikes that Adam at a constant rate produces.

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from nnbook.data import spirals
    >>> X, y = spirals(20, 2, rng=0)
    >>> result = train_classifier(mlp(2, 1, 16, 2, seed=0), X, y, steps=100, lr=0.05)
    >>> bool(result.losses[-1] < result.losses[0])
    True
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    Xt, yt = _tensors(X, y)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if not isinstance(lr, int | float) or not 0 < lr < np.inf:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    n = Xt.shape[0]
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be None or an int >= 1, got {batch_size!r}")
    _check_seed(seed)
    model = copy.deepcopy(model)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps) if cosine else None
    gen = torch.Generator().manual_seed(seed)
    batch = n if batch_size is None else min(batch_size, n)
    order, position = torch.arange(n), n
    losses = np.empty(steps)
    for step in range(steps):
        if batch == n:
            idx = order
        else:
            if position + batch > n:
                order, position = torch.randperm(n, generator=gen), 0
            idx, position = order[position : position + batch], position + batch
        loss = nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if schedule is not None:
            schedule.step()
        losses[step] = loss.item()
    return TrainResult(model=model, losses=losses)


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of points whose largest logit is the true class.

    Parameters
    ----------
    model : torch.nn.Module
    X : ndarray, shape (n, d)
    y : ndarray of int, shape (n,)

    Returns
    -------
    float

    Examples
    --------
    >>> accuracy(torch.nn.Linear(2, 2), np.zeros((4, 2)), np.zeros(4, dtype=int)) in {0.0, 1.0}
    True
    """
    Xt, yt = _tensors(X, y)
    with torch.no_grad():
        return float((model(Xt).argmax(dim=1) == yt).double().mean())


def predict_grid(model: nn.Module, lo: float = -1.5, hi: float = 1.5, resolution: int = 300) -> np.ndarray:
    """Predicted class at the points of a square grid, for decision-boundary plots.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, 2)`` to logits.
    lo, hi : float
        The square ``[lo, hi]^2``.
    resolution : int
        Points per axis (``>= 2``).

    Returns
    -------
    ndarray of int, shape (resolution, resolution)
        Row ``i`` is the second coordinate ``linspace(lo, hi)[i]`` (as ``imshow`` with ``origin="lower"``).

    Examples
    --------
    >>> predict_grid(torch.nn.Linear(2, 3), resolution=5).shape
    (5, 5)
    """
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an int >= 2, got {resolution!r}")
    xs = torch.linspace(lo, hi, resolution)
    gy, gx = torch.meshgrid(xs, xs, indexing="ij")
    with torch.no_grad():
        logits = model(torch.stack([gx.ravel(), gy.ravel()], dim=1))
    return logits.argmax(dim=1).reshape(resolution, resolution).numpy()


@dataclass(frozen=True, eq=False)
class Fit:
    """One trained network of the depth-width study."""

    depth: int  # hidden layers
    width: int  # units per hidden layer
    n_params: int  # weights and biases
    train_accuracy: float  # fraction of training points classified correctly
    test_accuracy: float  # fraction of test points classified correctly
    num_regions: int  # activation regions seen on the grid (a lower estimate)
    model: nn.Sequential  # the trained network


def fit_and_score(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    depth: int,
    width: int,
    seed: int = 0,
    steps: int = 2000,
    lr: float = 1e-2,
    resolution: int = 300,
    lo: float = -1.5,
    hi: float = 1.5,
) -> Fit:
    """Build (:func:`mlp`), train (:func:`train_classifier`, full batch) and score one network.

    Parameters
    ----------
    X_train, X_test : ndarray, shape (n, 2)
    y_train, y_test : ndarray of int, shape (n,)
    depth, width : int
    seed : int
        Seed of the initialisation.
    steps : int
    lr : float
    resolution : int
        Grid points per axis for counting regions on ``[lo, hi]^2``.
    lo, hi : float

    Returns
    -------
    Fit
    """
    n_classes = int(max(np.max(y_train), np.max(y_test))) + 1
    model = mlp(np.shape(X_train)[1], depth, width, n_classes, seed)
    trained = train_classifier(model, X_train, y_train, steps=steps, lr=lr, seed=seed).model
    return Fit(
        depth=depth,
        width=width,
        n_params=sum(p.numel() for p in trained.parameters()),
        train_accuracy=accuracy(trained, X_train, y_train),
        test_accuracy=accuracy(trained, X_test, y_test),
        num_regions=regions_on_grid(trained, lo, hi, resolution).num_regions,
        model=trained,
    )


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")

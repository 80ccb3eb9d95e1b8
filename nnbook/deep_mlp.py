"""Optimising a deep MLP on a 2-D classification task: the data, the network, its decision regions.

- :func:`regions` draws a multi-class task in the plane whose classes occupy
  several irregular regions (a warped Voronoi map) with a little label noise,
  split into training, validation and test sets;
  :func:`constant_prediction_loss` is the loss of a network that has stopped
  looking at its input.
- :func:`mlp` builds the network of the experiment: ``n_hidden`` hidden layers
  of ``width`` ReLU units (``n_hidden + 1`` ``nn.Linear``), optionally with
  batch normalisation before every activation.
- :func:`predict_grid` evaluates a classifier on a grid, for decision-region plots.

The measurements that diagnose failed runs (dead units, batch-norm offsets,
how far the weights moved, and the training hooks that record them) are in
:mod:`nnbook.training_diagnostics`.

Examples
--------
>>> task = regions(n_train=300, n_val=100, n_test=100, rng=0)
>>> net = mlp(n_classes=task.n_classes, batch_norm=True, seed=0)
>>> sum(isinstance(m, nn.Linear) for m in net), sum(isinstance(m, nn.BatchNorm1d) for m in net)
(7, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_module,
    check_real,
    check_rng,
    check_seed,
)
from nnbook.training import predict

# Re-exported: the diagnostics of failed runs moved to nnbook.training_diagnostics; code outside the project
# imports them from here.
from nnbook.training_diagnostics import (  # noqa: F401
    MAX_PROBE,
    batchnorm_offsets,
    dead_unit_hook,
    dead_units,
    parameter_distance_hook,
)

MAX_POINTS = 10**7  # bound on the points of a task or of a prediction grid
INITS = ("torch", "he")  # torch's default for nn.Linear, or He et al.'s N(0, 2 / fan_in) with zero biases
MAX_WIDTH = 4096  # bound on the inputs, units per layer and outputs of an MLP


@dataclass(frozen=True)
class Regions:
    """A 2-D classification task split three ways; ``X_*`` of shape (n, 2), ``y_*`` int64 of shape (n,)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int  # labels are 0, ..., n_classes - 1
    label_noise: float  # fraction of labels replaced by a uniformly random class


def regions(
    n_train: int = 8000,
    n_val: int = 2000,
    n_test: int = 2000,
    n_classes: int = 4,
    n_regions: int = 12,
    label_noise: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Regions:
    """Points uniform on ``[-1, 1]^2`` labelled by a random warped Voronoi map.

    ``n_regions`` centres are drawn uniformly and dealt to the classes in
    turn (each class owns ``n_regions / n_classes`` regions, some of them
    adjacent). A point ``x`` is moved by the smooth warp
    ``x + 0.15 sin(3 x W + b)`` (``W``, ``b`` random) and takes the class of the
    nearest centre, which bends the straight Voronoi edges into irregular
    ones. Then a fraction ``label_noise`` of the labels is replaced by a random
    class, so no classifier reaches zero error.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Sizes of the three sets (each ``>= 1``, together at most ``10**7``).
    n_classes : int
        Number of classes (``2 <= n_classes <= 1000``).
    n_regions : int
        Number of Voronoi cells (``n_classes <= n_regions <= 10000``).
    label_noise : float
        In ``[0, 1]``.
    rng : Generator, int or None
        Seed or generator; the map and the points both come from it.

    Returns
    -------
    Regions

    Examples
    --------
    >>> task = regions(n_train=50, n_val=10, n_test=20, n_classes=3, rng=1)
    >>> task.X_train.shape, task.y_test.shape, int(task.y_train.max()) <= 2
    ((50, 2), (20,), True)
    """
    sizes = [
        check_int(v, name, min_value=1) for v, name in ((n_train, "n_train"), (n_val, "n_val"), (n_test, "n_test"))
    ]
    if sum(sizes) > MAX_POINTS:
        raise ValueError(f"n_train + n_val + n_test must be at most {MAX_POINTS}, got {sum(sizes)}")
    n_classes = check_int(n_classes, "n_classes", min_value=2, max_value=1000)
    n_regions = check_int(n_regions, "n_regions", min_value=n_classes, max_value=10_000)
    label_noise = check_real(label_noise, "label_noise", min_value=0.0, max_value=1.0)
    rng = check_rng(rng)
    centres = rng.uniform(-1.0, 1.0, size=(n_regions, 2))
    owner = np.arange(n_regions) % n_classes
    W, b = rng.standard_normal((2, 2)), rng.uniform(0.0, 2 * np.pi, size=2)
    X = rng.uniform(-1.0, 1.0, size=(sum(sizes), 2))
    Z = X + 0.15 * np.sin(3.0 * X @ W + b)
    nearest = np.argmin(((Z[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    y = owner[nearest]
    noisy = rng.uniform(size=y.size) < label_noise
    y[noisy] = rng.integers(0, n_classes, size=int(noisy.sum()))
    cuts = np.cumsum(sizes)[:-1]
    (Xa, Xb, Xc), (ya, yb, yc) = np.split(X, cuts), np.split(y.astype(np.int64), cuts)
    return Regions(Xa, ya, Xb, yb, Xc, yc, n_classes=n_classes, label_noise=label_noise)


def constant_prediction_loss(y: np.ndarray, n_classes: int) -> float:
    """Cross-entropy of the best constant prediction: the entropy of the class frequencies of ``y``.

    A network whose last hidden layer is dead outputs the same logits for every
    input; the lowest loss it can reach is this one.

    Examples
    --------
    >>> round(constant_prediction_loss(np.array([0, 1, 0, 1]), 2), 6)  # log 2
    0.693147
    """
    n_classes = check_int(n_classes, "n_classes", min_value=1, max_value=10**6)
    y = check_array(y, "y", ndim=1, dtype="integer")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must hold labels in [0, {n_classes - 1}], got [{y.min()}, {y.max()}]")
    p = np.bincount(y, minlength=n_classes) / y.size
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mlp(
    n_inputs: int = 2,
    n_classes: int = 4,
    width: int = 16,
    n_hidden: int = 6,
    batch_norm: bool = False,
    init: str = "torch",
    seed: int = 0,
) -> nn.Sequential:
    """A ReLU MLP: ``n_hidden`` blocks ``Linear -> [BatchNorm1d] -> ReLU``, then ``Linear(width, n_classes)``.

    PyTorch's default initialisation, drawn inside :func:`torch.random.fork_rng`
    seeded with ``seed`` (reproducible; the global random state is untouched).
    With ``batch_norm`` the normalisation sits between each linear layer and
    its activation, as in Ioffe and Szegedy (2015).

    Parameters
    ----------
    n_inputs, n_classes : int
        Input dimension and number of outputs (each in ``[1, 4096]``).
    width : int
        Units per hidden layer (``1 <= width <= 4096``).
    n_hidden : int
        Hidden layers (``1 <= n_hidden <= 100``); the network has ``n_hidden + 1`` linear layers.
    batch_norm : bool
    seed : int

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> net = mlp(width=8, n_hidden=2, batch_norm=True)
    >>> [type(m).__name__ for m in net]
    ['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']
    """
    n_inputs = check_int(n_inputs, "n_inputs", min_value=1, max_value=MAX_WIDTH)
    n_classes = check_int(n_classes, "n_classes", min_value=1, max_value=MAX_WIDTH)
    width = check_int(width, "width", min_value=1, max_value=MAX_WIDTH)
    n_hidden = check_int(n_hidden, "n_hidden", min_value=1, max_value=100)
    batch_norm = check_bool(batch_norm, "batch_norm")
    init = check_choice(init, "init", INITS)
    seed = check_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        fan_in = n_inputs
        for _ in range(n_hidden):
            layers.append(nn.Linear(fan_in, width))
            if init == "he":
                nn.init.kaiming_normal_(layers[-1].weight, nonlinearity="relu")
                nn.init.zeros_(layers[-1].bias)
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            fan_in = width
        layers.append(nn.Linear(fan_in, n_classes))
    return nn.Sequential(*layers)


def predict_grid(
    model: nn.Module, lim: float = 1.0, resolution: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The predicted class of ``model`` on a ``resolution x resolution`` grid over ``[-lim, lim]^2`` (``lim <= 1000``).

    Returns
    -------
    xs : ndarray, shape (resolution,)
        Grid coordinates (both axes).
    labels : ndarray, shape (resolution, resolution)
        ``labels[i, j]`` is the class predicted at ``(xs[j], xs[i])``.
    confidence : ndarray, shape (resolution, resolution)
        The largest softmax probability there.

    Examples
    --------
    >>> xs, labels, conf = predict_grid(mlp(width=4, n_hidden=1), resolution=5)
    >>> xs.shape, labels.shape, bool((conf >= 0.25).all())
    ((5,), (5, 5), True)
    """
    check_module(model)
    lim = check_real(lim, "lim", min_value=0.0, max_value=1e3, min_inclusive=False)
    resolution = check_int(resolution, "resolution", min_value=2)
    if resolution**2 > MAX_POINTS:
        raise ValueError(f"resolution**2 must be at most {MAX_POINTS}, got {resolution**2}")
    xs = np.linspace(-lim, lim, resolution)
    gx, gy = np.meshgrid(xs, xs)
    logits = torch.as_tensor(predict(model, np.column_stack([gx.ravel(), gy.ravel()])))
    prob = torch.softmax(logits.double(), dim=1).numpy()
    shape = (resolution, resolution)
    return xs, prob.argmax(axis=1).reshape(shape), prob.max(axis=1).reshape(shape)

"""Optimising a deep MLP on a 2-D classification task: the data, the network, what to measure.

- :func:`regions` draws a multi-class task in the plane whose classes occupy
  several irregular regions (a warped Voronoi map) with a little label noise,
  split into training, validation and test sets.
- :func:`mlp` builds the network of the experiment: ``n_hidden`` hidden layers
  of ``width`` ReLU units (``n_hidden + 1`` ``nn.Linear``), optionally with
  batch normalisation before every activation.
- Measurements that diagnose failed runs: :func:`dead_units` finds the ReLU
  units that output zero on every probe input, :func:`batchnorm_offsets` the
  offsets that kill units behind batch norm; two hooks for
  :func:`nnbook.training.train` record them during training:
  :func:`dead_unit_hook` (fractions per layer) and
  :func:`parameter_distance_hook` (how far the weights have moved).
- :func:`predict_grid` evaluates a classifier on a grid, for decision-region plots.

Examples
--------
>>> task = regions(n_train=300, n_val=100, n_test=100, rng=0)
>>> net = mlp(n_classes=task.n_classes, batch_norm=True, seed=0)
>>> sum(isinstance(m, nn.Linear) for m in net), sum(isinstance(m, nn.BatchNorm1d) for m in net)
(7, 6)
>>> hook = dead_unit_hook(task.X_val)
>>> sorted(hook(net, 0))[:2]
['dead_all', 'dead_layer1']
"""

from __future__ import annotations

import copy
from collections.abc import Callable
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

MAX_POINTS = 10**7  # bound on the points of a task or of a prediction grid
INITS = ("torch", "he")  # torch's default for nn.Linear, or He et al.'s N(0, 2 / fan_in) with zero biases
MAX_PROBE = 10**6  # bound on the rows of a dead-unit probe (run as one batch)
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


def dead_units(model: nn.Module, X_probe: np.ndarray, batch_statistics: bool = True) -> list[np.ndarray]:
    """Which ReLU units of ``model`` output zero on every probe input, one boolean array per :class:`torch.nn.ReLU`.

    A dead unit passes no gradient to the weights feeding it for any of these
    inputs, so gradient descent cannot revive it through them.

    Parameters
    ----------
    model : torch.nn.Module
        A network with :class:`torch.nn.ReLU` modules (in order of use).
    X_probe : ndarray, shape (n, d)
        Inputs, e.g. the validation set (``n <= 10**6``, run as one batch).
    batch_statistics : bool
        Batch-norm layers normalise with the mean and variance of the probe
        itself, as in a training step (the default; a copy of the model is run
        in training mode, so the model's running statistics are untouched).
        With False they use their running statistics (eval mode), which at
        initialisation are the defaults 0 and 1, not the data's.

    Returns
    -------
    list of ndarray of bool, one of shape (units,) per ReLU

    Examples
    --------
    >>> net = mlp(width=4, n_hidden=2, seed=0)
    >>> with torch.no_grad():
    ...     _ = net[2].bias.fill_(-100.0)  # the second layer's units never fire
    >>> [d.tolist() for d in dead_units(net, np.random.default_rng(0).standard_normal((100, 2)))]
    [[False, False, False, False], [True, True, True, True]]
    """
    check_module(model)
    probe = torch.as_tensor(check_array(X_probe, "X_probe", ndim=2))
    if probe.shape[0] > MAX_PROBE:
        raise ValueError(f"X_probe must have at most {MAX_PROBE} rows (one batch), got {probe.shape[0]}")
    batch_statistics = check_bool(batch_statistics, "batch_statistics")
    net = copy.deepcopy(model) if batch_statistics else model
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model has no nn.ReLU module whose units could be counted")
    alive: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda mod, inp, out: alive.append((out > 0).flatten(1).any(0))) for m in relus]
    was_training = net.training
    net.train(batch_statistics)
    try:
        with torch.no_grad():
            param = next(net.parameters())
            net(probe.to(device=param.device, dtype=param.dtype))
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    return [(~a).cpu().numpy() for a in alive]


def dead_unit_hook(X_probe: np.ndarray, batch_statistics: bool = True) -> Callable[[nn.Module, int], dict[str, float]]:
    """A training hook reporting :func:`dead_units` as fractions: ``dead_layer1``, ... and ``dead_all``.

    Parameters
    ----------
    X_probe : ndarray, shape (n, d)
    batch_statistics : bool
        As in :func:`dead_units`.

    Returns
    -------
    callable ``(model, epoch) -> dict[str, float]``, for :func:`nnbook.training.train`

    Examples
    --------
    >>> net = mlp(width=4, n_hidden=2, seed=0)
    >>> with torch.no_grad():
    ...     _ = net[2].bias.fill_(-100.0)
    >>> dead_unit_hook(np.random.default_rng(0).standard_normal((100, 2)))(net, 0)
    {'dead_layer1': 0.0, 'dead_layer2': 1.0, 'dead_all': 0.5}
    """
    probe = check_array(X_probe, "X_probe", ndim=2)
    if probe.shape[0] > MAX_PROBE:
        raise ValueError(f"X_probe must have at most {MAX_PROBE} rows (one batch), got {probe.shape[0]}")
    batch_statistics = check_bool(batch_statistics, "batch_statistics")

    def hook(model: nn.Module, epoch: int) -> dict[str, float]:
        dead = dead_units(model, probe, batch_statistics)
        out = {f"dead_layer{i + 1}": float(d.mean()) for i, d in enumerate(dead)}
        out["dead_all"] = float(np.concatenate(dead).mean())
        return out

    return hook


def batchnorm_offsets(model: nn.Module) -> list[np.ndarray]:
    """``beta / |gamma|`` of every unit of every :class:`torch.nn.BatchNorm1d`, one array per layer.

    A batch-norm layer outputs ``gamma * z_hat + beta`` with ``z_hat`` normalised
    to mean 0 and variance 1 over the batch; a ReLU after it is dead on a batch
    when ``beta / |gamma| < -max |z_hat|``. So a strongly negative offset, in
    units of the scale, is what a dead unit behind batch norm looks like.

    Examples
    --------
    >>> net = mlp(width=2, n_hidden=1, batch_norm=True)
    >>> batchnorm_offsets(net)[0].tolist()  # PyTorch initialises gamma = 1, beta = 0
    [0.0, 0.0]
    """
    check_module(model)
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    if not layers or any(not m.affine for m in layers):
        raise ValueError("model must have nn.BatchNorm1d layers with affine parameters")
    return [(m.bias / m.weight.abs()).detach().cpu().double().numpy() for m in layers]


def parameter_distance_hook(model: nn.Module) -> Callable[[nn.Module, int], dict[str, float]]:
    """A training hook: ``||theta - theta_0|| / ||theta_0||`` over the trainable parameters.

    ``theta_0`` is copied from ``model`` when the hook is created, so create it
    just before training.

    Examples
    --------
    >>> net = mlp(width=4, n_hidden=1)
    >>> hook = parameter_distance_hook(net)
    >>> hook(net, 0)
    {'relative_distance': 0.0}
    """
    check_module(model)
    start = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    norm0 = float(torch.sqrt(sum((p.double() ** 2).sum() for p in start)))

    def hook(trained: nn.Module, epoch: int) -> dict[str, float]:
        now = [p.detach() for p in trained.parameters() if p.requires_grad]
        if len(now) != len(start) or any(a.shape != b.shape for a, b in zip(now, start, strict=True)):
            raise ValueError("the hook's model must be the one it was created from")
        moved = torch.sqrt(sum(((a.cpu() - b).double() ** 2).sum() for a, b in zip(now, start, strict=True)))
        return {"relative_distance": float(moved) / norm0}

    return hook


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

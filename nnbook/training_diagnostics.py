"""What to measure when a network stops learning: dead ReLU units, batch-norm offsets, distance travelled.

- :func:`dead_units` finds the ReLU units that output zero on every probe
  input (no gradient reaches the weights feeding them through these inputs);
- :func:`batchnorm_offsets` gives ``beta / |gamma|`` of every batch-norm
  unit, the offset that kills a unit behind batch norm when strongly negative;
- two hooks for :func:`nnbook.training.train` record them during training:
  :func:`dead_unit_hook` (fractions per layer) and
  :func:`parameter_distance_hook` (how far the weights have moved from their start).

The chapter on stochastic gradient descent uses them in "Optimising a deep
MLP" (the learning rate, batch normalisation, the batch size), on the network
and task of :mod:`nnbook.deep_mlp`.

Examples
--------
>>> from nnbook.deep_mlp import mlp, regions
>>> task = regions(n_train=300, n_val=100, n_test=100, rng=0)
>>> net = mlp(n_classes=task.n_classes, batch_norm=True, seed=0)
>>> hook = dead_unit_hook(task.X_val)
>>> sorted(hook(net, 0))[:2]
['dead_all', 'dead_layer1']
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nnbook._validation import check_array, check_bool, check_module

MAX_PROBE = 10**6  # bound on the rows of a dead-unit probe (run as one batch)


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
    >>> from nnbook.deep_mlp import mlp
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
    >>> from nnbook.deep_mlp import mlp
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
    >>> from nnbook.deep_mlp import mlp
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
    >>> from nnbook.deep_mlp import mlp
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

"""Seeded ReLU MLPs of a given depth and width: parameter counts, construction, batch norm folded away.

:func:`mlp` builds a ReLU network of given depth and width under a seed, with
He's initialisation (weights ``N(0, 2 / fan_in)``, biases ``N(0, 1e-6)``: the
setting of Hanin and Rolnick 2019a) or PyTorch's default, optionally with
batch norm before every ReLU. :func:`n_parameters` counts its parameters
without building it, and :func:`width_for_parameters` finds the width that
gives a network of another depth the same count. :func:`fold_batchnorm`
turns a trained network with batch norm into the Linear/ReLU network that
computes the same function in eval mode, whose regions can then be counted.
The chapter on expressivity builds its networks with these in "Counting
linear regions" and "Depth versus width in practice"; they are trained and
scored, several seeds at once, in :mod:`nnbook.depthwidth`.

Examples
--------
>>> net = mlp(2, depth=2, width=8, n_outputs=3, seed=0, batch_norm=True)
>>> sum(p.numel() for p in net.parameters()), n_parameters(2, 2, 8, 3, batch_norm=True)
(139, 139)
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from nnbook import _validation as v

INITS = ("he", "torch")  # He-normal weights and tiny normal biases, or torch's reset_parameters()
HE_BIAS_STD = 1e-3  # standard deviation of the biases under "he": variance 1e-6, as Hanin & Rolnick
MAX_DEPTH = 1000
MAX_WIDTH = 100_000
MAX_PARAMETERS = 10**7  # parameters of one network


def n_parameters(n_inputs: int, depth: int, width: int, n_outputs: int, batch_norm: bool = False) -> int:
    """Weights and biases (and batch-norm scales and shifts) of :func:`mlp`, without building it.

    Examples
    --------
    >>> n_parameters(2, 1, 16, 5), n_parameters(2, 6, 16, 5, batch_norm=True)
    (133, 1589)
    """
    n_inputs = v.check_int(n_inputs, "n_inputs", min_value=1)
    depth = v.check_int(depth, "depth", min_value=1)
    width = v.check_int(width, "width", min_value=1)
    n_outputs = v.check_int(n_outputs, "n_outputs", min_value=1)
    if v.check_bool(batch_norm, "batch_norm"):  # hidden Linears have no bias; each norm a scale and a shift
        return n_inputs * width + (depth - 1) * width * width + 2 * width * depth + (width + 1) * n_outputs
    return (n_inputs + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * n_outputs


def width_for_parameters(n_inputs: int, depth: int, n_outputs: int, target: int, batch_norm: bool = False) -> int:
    """The width whose :func:`mlp` of ``depth`` layers has the parameter count closest to ``target``.

    Examples
    --------
    >>> width_for_parameters(2, 1, 5, n_parameters(2, 6, 16, 5, True), batch_norm=True)
    176
    """
    target = v.check_int(target, "target", min_value=1, max_value=MAX_PARAMETERS)
    count = lambda w: n_parameters(n_inputs, depth, w, n_outputs, batch_norm)  # noqa: E731
    lo, hi = 1, MAX_WIDTH
    while lo < hi:  # smallest width with at least `target` parameters (the count increases with the width)
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if count(mid) < target else (lo, mid)
    return min((lo - 1, lo) if lo > 1 else (lo,), key=lambda w: (abs(count(w) - target), w))


def mlp(
    n_inputs: int, depth: int, width: int, n_outputs: int, seed: int, *, init: str = "he", batch_norm: bool = False
) -> nn.Sequential:
    """A ReLU MLP with ``depth`` hidden layers of ``width`` units, reproducibly initialised.

    The layers are created inside :func:`torch.random.fork_rng` seeded with
    ``seed``: reproducible, and torch's global random state is left unchanged.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Input and output dimensions, in ``[1, MAX_WIDTH]``.
    depth : int
        Hidden layers, in ``[1, MAX_DEPTH]``.
    width : int
        Units per hidden layer, in ``[1, MAX_WIDTH]``; at most ``MAX_PARAMETERS`` parameters in all.
    seed : int
    init : {"he", "torch"}
        ``"he"``: every weight ``N(0, 2 / fan_in)``, every bias ``N(0, HE_BIAS_STD ** 2)``
        (Hanin and Rolnick's setting); ``"torch"``: PyTorch's default
        (weights and biases uniform in ``+-1 / sqrt(fan_in)``).
    batch_norm : bool
        Put ``BatchNorm1d`` between each hidden Linear and its ReLU; those
        Linears then have no bias (the norm's shift replaces it: a bias
        before batch norm has no effect on the output and no gradient, and an
        optimiser such as Adam would move it by its round-off).

    Returns
    -------
    torch.nn.Sequential
        ``Linear, [BatchNorm1d,] ReLU`` repeated ``depth`` times, then ``Linear(width, n_outputs)``.

    Examples
    --------
    >>> net = mlp(2, depth=3, width=4, n_outputs=3, seed=0)
    >>> len(net), torch.equal(net[0].weight, mlp(2, 3, 4, 3, seed=0)[0].weight)
    (7, True)
    >>> len(mlp(2, 3, 4, 3, seed=0, batch_norm=True))
    10
    """
    v.check_int(n_inputs, "n_inputs", min_value=1, max_value=MAX_WIDTH)
    v.check_int(depth, "depth", min_value=1, max_value=MAX_DEPTH)
    v.check_int(width, "width", min_value=1, max_value=MAX_WIDTH)
    v.check_int(n_outputs, "n_outputs", min_value=1, max_value=MAX_WIDTH)
    seed = v.check_seed(seed)
    init = v.check_choice(init, "init", INITS)
    size = n_parameters(n_inputs, depth, width, n_outputs, batch_norm)
    v.check_work(size, "n_inputs, depth, width and n_outputs", MAX_PARAMETERS, "parameters")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = []
        fan_in = n_inputs
        for _ in range(depth):
            if batch_norm:
                layers += [nn.Linear(fan_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
            else:
                layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        layers.append(nn.Linear(fan_in, n_outputs))
        if init == "he":
            with torch.no_grad():
                for layer in layers:
                    if isinstance(layer, nn.Linear):
                        layer.weight.normal_(0.0, math.sqrt(2.0 / layer.in_features))
                        if layer.bias is not None:
                            layer.bias.normal_(0.0, HE_BIAS_STD)
    return nn.Sequential(*layers)


def fold_batchnorm(model: nn.Sequential) -> nn.Sequential:
    """The same function as ``model`` in eval mode, with every BatchNorm1d folded into the Linear before it.

    In eval mode batch norm is the affine map ``gamma (z - mean) / sqrt(var + eps) + beta``
    of the running statistics, so ``Linear`` then ``BatchNorm1d`` is one ``Linear``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear, BatchNorm1d and ReLU layers, each BatchNorm1d right after a Linear; finite parameters.

    Returns
    -------
    torch.nn.Sequential
        Linear and ReLU layers only, float64 (a new module).

    Examples
    --------
    >>> net = mlp(2, 2, 4, 3, seed=0, batch_norm=True).eval()
    >>> X = torch.randn(5, 2, dtype=torch.float64)
    >>> torch.allclose(fold_batchnorm(net)(X), net.double()(X))
    True
    """
    v.check_module(model)
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    layers: list[nn.Module] = []
    for layer in model:
        if isinstance(layer, nn.BatchNorm1d):
            if not layers or not isinstance(layers[-1], nn.Linear):
                raise ValueError("model must have a Linear right before every BatchNorm1d")
            linear = layers[-1]
            folded = nn.Linear(linear.in_features, linear.out_features).double()
            scale = layer.weight.detach().double() / torch.sqrt(layer.running_var.double() + layer.eps)
            bias = torch.zeros_like(scale) if linear.bias is None else linear.bias.detach()
            with torch.no_grad():
                folded.weight.copy_(linear.weight * scale[:, None])
                folded.bias.copy_((bias - layer.running_mean.double()) * scale + layer.bias.detach().double())
            layers[-1] = folded
        elif isinstance(layer, nn.Linear | nn.ReLU):
            layers.append(copy.deepcopy(layer).double())
        else:
            raise TypeError(
                f"model must contain only Linear, BatchNorm1d and ReLU layers, found {type(layer).__name__}"
            )
    return nn.Sequential(*layers)

"""Depth against width in practice: seeded ReLU classifiers on 2-D data, several seeds trained as one.

:func:`mlp` builds a ReLU network of given depth and width under a seed, with
He's initialisation (weights ``N(0, 2 / fan_in)``, biases ``N(0, 1e-6)``: the
setting of Hanin and Rolnick 2019a) or PyTorch's default, optionally with
batch norm before every ReLU. :func:`fit_seeds` trains copies of one
architecture with different seeds side by side, each on its own data, as a
:class:`nnbook.seedstack.SeedStack` with :func:`nnbook.training.train` (the
same as independent runs with one batch order) and scores every member:
accuracies and the activation regions it shows on a grid, counted after
folding batch norm into the linear layers (:func:`fold_batchnorm`).
:func:`paired_difference` summarises a comparison of two settings seed by seed.

Examples
--------
>>> from nnbook.data import spirals
>>> from nnbook.training import TrainConfig
>>> sets = [spirals(20, 3, rng=s) for s in (0, 1)]
>>> config = TrainConfig(lr=0.01, epochs=2, batch_size=20, optimiser="adam", device="cpu")
>>> fits = fit_seeds(sets, sets, depth=2, width=8, config=config, resolution=20)
>>> fits.n_params, fits.test_accuracy.shape, n_parameters(2, 2, 8, 3, batch_norm=True)
(139, (2,), 139)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v
from nnbook.regions import MAX_RESOLUTION, boundary_density, near_data, regions_on_grid
from nnbook.seedstack import SeedStack
from nnbook.training import History, TrainConfig, evaluate, train

INITS = ("he", "torch")  # He-normal weights and tiny normal biases, or torch's reset_parameters()
HE_BIAS_STD = 1e-3  # standard deviation of the biases under "he": variance 1e-6, as Hanin & Rolnick
MAX_DEPTH = 1000
MAX_WIDTH = 100_000
MAX_PARAMETERS = 10**7  # parameters of one network
DataSets = Sequence[tuple[np.ndarray, np.ndarray]]  # one (X, y) pair per seed
STACK_CLASSES = 128  # fit_seeds stacks as many seeds as keep the joint output this narrow (it costs time per step)


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


@dataclass(frozen=True, eq=False)
class SeedFits:
    """One architecture trained once per seed, every member scored on its own data."""

    depth: int  # hidden layers
    width: int  # units per hidden layer
    n_params: int  # parameters of one network
    seeds: np.ndarray  # (S,) initialisation seeds
    train_accuracy: np.ndarray  # (S,) each member on its own training set
    test_accuracy: np.ndarray  # (S,) each member on its own test set
    num_regions: np.ndarray  # (S,) activation regions on the grid after training (a lower estimate)
    near_far: np.ndarray | None  # (S,) boundary density near / far from the training points (if near_radius was given)
    initial_regions: np.ndarray | None  # (S,) regions at initialisation (if initial=True)
    initial_near_far: np.ndarray | None  # (S,) near / far at initialisation (if initial=True and near_radius was given)
    models: tuple[nn.Sequential, ...]  # the trained members, eval mode
    train_loss: np.ndarray  # (E+1,) training loss after each epoch (0 = at initialisation), mean over the members
    histories: tuple[History, ...]  # one per stack: losses are sums over its members


def fit_seeds(
    train_sets: DataSets,
    test_sets: DataSets,
    depth: int,
    width: int,
    config: TrainConfig,
    *,
    seeds: Sequence[int] | None = None,
    init: str = "he",
    batch_norm: bool = True,
    lo: float = -1.5,
    hi: float = 1.5,
    resolution: int = 300,
    near_radius: float | None = None,
    initial: bool = False,
) -> SeedFits:
    """Train :func:`mlp` once per seed (network ``s`` on ``train_sets[s]``) in seed stacks, and score it.

    The seeds are trained in stacks of as many as keep ``C ** S`` at most
    ``STACK_CLASSES`` (three for five classes); every member sees the batch
    order of ``config.seed``.

    Parameters
    ----------
    train_sets, test_sets : sequences of (X, y)
        One pair per seed: ``X`` of shape (n, 2), integer labels ``y`` of shape (n,);
        the training sets all have the same ``n``.
    depth, width : int
    config : TrainConfig
        Passed to :func:`nnbook.training.train`; its ``seed`` sets the batch order, shared by all members.
    seeds : sequence of int, optional
        Initialisation seeds, default ``0, 1, ..., S - 1``.
    init : {"he", "torch"}
    batch_norm : bool
    lo, hi, resolution
        The grid of :func:`nnbook.regions.regions_on_grid` on which regions are counted.
    near_radius : float, optional
        If given, also measure :func:`nnbook.regions.boundary_density` of each
        member around its own training points.
    initial : bool
        Also count the regions (and the boundary density) at initialisation.

    Returns
    -------
    SeedFits
    """
    if isinstance(train_sets, str) or not isinstance(train_sets, Sequence) or len(train_sets) == 0:
        raise TypeError("train_sets must be a non-empty sequence of (X, y) pairs")
    if not isinstance(test_sets, Sequence) or len(test_sets) != len(train_sets):
        raise ValueError(f"test_sets must hold one (X, y) pair per training set ({len(train_sets)})")
    seeds = list(range(len(train_sets))) if seeds is None else [v.check_seed(s, "seeds") for s in seeds]
    if len(seeds) != len(train_sets):
        raise ValueError(f"seeds must hold one seed per training set ({len(train_sets)}), got {len(seeds)}")
    pairs = [
        (v.check_array(X, "X", shape=(None, 2)), v.check_array(y, "y", ndim=1, dtype="integer"))
        for X, y in (*train_sets, *test_sets)
    ]
    for X, y in pairs:
        v.check_same_length(X=X, y=y)
    v.check_same_length(**{f"train_sets[{i}]": pairs[i][0] for i in range(len(seeds))})
    if min(y.min() for _, y in pairs) < 0:
        raise ValueError("the labels y of train_sets and test_sets must be >= 0")
    n_classes = int(max(y.max() for _, y in pairs)) + 1
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    lo, hi = v.check_real(lo, "lo"), v.check_real(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    v.check_int(resolution, "resolution", min_value=2, max_value=MAX_RESOLUTION)
    if near_radius is not None:
        near_radius = v.check_real(near_radius, "near_radius", min_value=0, min_inclusive=False)
        for i in range(len(seeds)):
            near = near_data(np.linspace(lo, hi, resolution), pairs[i][0], near_radius)
            if near.all() or not near.any():
                raise ValueError(
                    f"near_radius {near_radius} puts {'every' if near.all() else 'no'} point of the grid on "
                    f"[lo, hi]^2 = [{lo}, {hi}]^2 near the training points of train_sets[{i}]"
                )
    members = [mlp(2, depth, width, n_classes, s, init=init, batch_norm=batch_norm) for s in seeds]

    def grids(nets: Sequence[nn.Sequential]) -> tuple[np.ndarray, np.ndarray | None]:
        seen = [regions_on_grid(fold_batchnorm(m.eval()), lo, hi, resolution) for m in nets]
        counts = np.array([g.num_regions for g in seen])
        if near_radius is None:
            return counts, None
        return counts, np.array([boundary_density(g, pairs[s][0], near_radius).ratio for s, g in enumerate(seen)])

    initial, initial_near_far = grids(members) if v.check_bool(initial, "initial") else (None, None)
    size = max(1, int(math.log(STACK_CLASSES) / math.log(n_classes))) if n_classes > 1 else len(seeds)
    models: list[nn.Sequential] = []
    histories = []
    for first in range(0, len(seeds), size):
        group = range(first, min(first + size, len(seeds)))
        stack = SeedStack([members[s] for s in group])
        X = np.stack([pairs[s][0] for s in group], axis=1)  # (n, S, 2)
        y = stack.encode_labels(np.stack([pairs[s][1] for s in group], axis=1))
        histories.append(train(stack, config, (X, y)))
        models += [stack.member(i) for i in range(len(group))]
    score = lambda m, X, y: evaluate(m, X, y)[1]  # noqa: E731
    trained, near_far = grids(models)
    return SeedFits(
        depth=depth,
        width=width,
        n_params=sum(p.numel() for p in members[0].parameters()),
        seeds=np.asarray(seeds),
        train_accuracy=np.array([score(m, *pairs[s]) for s, m in enumerate(models)]),
        test_accuracy=np.array([score(m, *pairs[len(seeds) + s]) for s, m in enumerate(models)]),
        initial_regions=initial,
        num_regions=trained,
        initial_near_far=initial_near_far,
        near_far=near_far,
        models=tuple(models),
        train_loss=sum(h.train_loss for h in histories) / len(seeds),
        histories=tuple(histories),
    )


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` seed by seed: the comparison of two settings run on the same seeds."""

    differences: np.ndarray  # (S,) a[s] - b[s]
    mean: float  # mean difference
    low: float  # smallest difference
    high: float  # largest difference
    wins: int  # seeds with a[s] > b[s]


def paired_difference(a: np.ndarray, b: np.ndarray) -> PairedDifference:
    """Compare two settings seed by seed: ``a[s] - b[s]`` and its mean and range.

    Examples
    --------
    >>> d = paired_difference(np.array([0.9, 0.8, 0.85]), np.array([0.7, 0.75, 0.9]))
    >>> d.differences.round(2).tolist(), round(d.mean, 4), round(d.low, 2), d.wins
    ([0.2, 0.05, -0.05], 0.0667, -0.05, 2)
    """
    a = v.check_array(a, "a", ndim=1)
    b = v.check_array(b, "b", shape=a.shape)
    diff = a - b
    return PairedDifference(
        differences=diff,
        mean=float(diff.mean()),
        low=float(diff.min()),
        high=float(diff.max()),
        wins=int((diff > 0).sum()),
    )


def predict_grid(model: nn.Module, lo: float = -1.5, hi: float = 1.5, resolution: int = 300) -> np.ndarray:
    """Predicted class at the points of a square grid, for decision-boundary plots.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, 2)`` to logits; finite parameters.
    lo, hi : float
        The square ``[lo, hi]^2``.
    resolution : int
        Points per axis, in ``[2, 4000]``.

    Returns
    -------
    ndarray of int, shape (resolution, resolution)
        Row ``i`` is the second coordinate ``linspace(lo, hi)[i]`` (as ``imshow`` with ``origin="lower"``).

    Examples
    --------
    >>> predict_grid(torch.nn.Linear(2, 3), resolution=5).shape
    (5, 5)
    """
    from nnbook.training import predict

    lo, hi = v.check_real(lo, "lo"), v.check_real(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be greater than lo, got lo={lo}, hi={hi}")
    resolution = v.check_int(resolution, "resolution", min_value=2, max_value=MAX_RESOLUTION)
    xs = np.linspace(lo, hi, resolution)
    gx, gy = np.meshgrid(xs, xs)
    logits = predict(model, np.column_stack([gx.ravel(), gy.ravel()]))
    return logits.argmax(axis=1).reshape(resolution, resolution)

"""Depth against width in practice: seeded ReLU classifiers on 2-D data, several seeds trained as one.

:func:`fit_seeds` trains copies of one architecture (:func:`nnbook.relu_mlp.mlp`,
given depth and width, one seed each) side by side, each on its own data, as a
:class:`nnbook.seedstack.SeedStack` with :func:`nnbook.training.train` (the
same as independent runs with one batch order) and scores every member:
accuracies and the activation regions it shows on a grid, counted after
folding batch norm into the linear layers (:func:`nnbook.relu_mlp.fold_batchnorm`).
:func:`paired_difference` summarises a comparison of two settings seed by seed.

Examples
--------
>>> from nnbook.data import spirals
>>> from nnbook.training import TrainConfig
>>> sets = [spirals(20, 3, rng=s) for s in (0, 1)]
>>> config = TrainConfig(lr=0.01, epochs=2, batch_size=20, optimiser="adam", device="cpu")
>>> fits = fit_seeds(sets, sets, depth=2, width=8, config=config, resolution=20)
>>> fits.n_params, fits.test_accuracy.shape
(139, (2,))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from nnbook import _validation as v
from nnbook.regions import MAX_RESOLUTION, boundary_density, near_data, regions_on_grid

# Building the networks moved to nnbook.relu_mlp: fit_seeds uses mlp and fold_batchnorm, and every name is
# re-exported here, since code outside the project imports them from this module.
from nnbook.relu_mlp import (  # noqa: F401
    HE_BIAS_STD,
    INITS,
    MAX_DEPTH,
    MAX_PARAMETERS,
    MAX_WIDTH,
    fold_batchnorm,
    mlp,
    n_parameters,
    width_for_parameters,
)
from nnbook.seedstack import SeedStack
from nnbook.training import History, TrainConfig, evaluate, train

DataSets = Sequence[tuple[np.ndarray, np.ndarray]]  # one (X, y) pair per seed
STACK_CLASSES = 128  # fit_seeds stacks as many seeds as keep the joint output this narrow (it costs time per step)


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
    """Train :func:`nnbook.relu_mlp.mlp` once per seed (network ``s`` on ``train_sets[s]``) in seed stacks; score it.

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
    >>> predict_grid(nn.Linear(2, 3), resolution=5).shape
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

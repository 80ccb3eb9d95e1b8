"""Telgarsky's sawtooth: a deep, narrow ReLU network with exponentially many linear pieces.

The map ``g(z) = 2|z| - 2`` folds ``[-2, 2]`` onto itself, and its ``L``-fold
composition ``f_L = g o ... o g`` (``f_0(x) = x``) has ``2**L`` linear pieces on
``[-2, 2]`` (Telgarsky 2016). Since ``|z| = relu(z) + relu(-z)``, each fold
costs two ReLU units, so ``f_L`` is a network with ``L`` hidden layers of width
two: a fixed input layer ``x -> (x, -x)``, ``L - 1`` identical middle layers
``h -> (2 h_1 + 2 h_2 - 2, -2 h_1 - 2 h_2 + 2)`` and an output layer
``h -> 2 h_1 + 2 h_2 - 2``. This module builds it, perturbs its middle layers
and re-initialises it, and counts the pieces of every depth at once
(:func:`pieces_vs_depth`), all of them and only those that are not slivers,
to measure how special the exponential count is.

Examples
--------
>>> import torch
>>> net = sawtooth_network(3)
>>> x = torch.linspace(-2, 2, 9)[:, None]
>>> torch.equal(net(x)[:, 0], torch.from_numpy(sawtooth(x[:, 0].numpy(), 3)).float())
True
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v
from nnbook.expressivity import RTOL, _check_interval, _Pieces

INPUT_WEIGHT, INPUT_BIAS = [[1.0], [-1.0]], [0.0, 0.0]  # x -> (x, -x)
MIDDLE_WEIGHT, MIDDLE_BIAS = [[2.0, 2.0], [-2.0, -2.0]], [-2.0, 2.0]  # h -> (z, -z), z = 2|.| - 2
OUTPUT_WEIGHT, OUTPUT_BIAS = [[2.0, 2.0]], [-2.0]  # h -> z
KINDS = ("exact", "noisy", "random", "reset")
MAX_HIDDEN_LAYERS = 1000  # networks and closed forms deeper than this are refused
MAX_FOLD_WORK = 2**27  # points x folds of the closed form
MAX_NETWORKS = 10_000  # networks counted by one call of pieces_vs_depth
MAX_NOISE = 1e6  # noise standard deviation (the layers are float32)


def sawtooth(x: np.ndarray, depth: int) -> np.ndarray:
    """The closed form ``f_depth(x)``: ``f_0(x) = x``, ``f_l(x) = 2 |f_{l-1}(x)| - 2``.

    Parameters
    ----------
    x : ndarray, shape (n,), n >= 1
    depth : int
        Number of folds, in ``[0, MAX_HIDDEN_LAYERS]``; ``n * depth`` at most ``MAX_FOLD_WORK``.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> sawtooth(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 2).tolist()
    [2.0, -2.0, 2.0, -2.0, 2.0]
    """
    depth = v.check_int(depth, "depth", min_value=0, max_value=MAX_HIDDEN_LAYERS)
    y = v.check_array(x, "x", ndim=1)
    v.check_work(y.size * depth, "depth", MAX_FOLD_WORK, "(points x folds) evaluations")
    for _ in range(depth):
        y = 2.0 * np.abs(y) - 2.0
    return y


def _linear(weight: Sequence, bias: Sequence) -> nn.Linear:
    w = torch.tensor(weight, dtype=torch.float32)
    layer = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return layer


def exact_middle_layer() -> nn.Linear:
    """The sawtooth's middle layer ``Linear(2, 2)``: weight ``[[2, 2], [-2, -2]]``, bias ``[-2, 2]``."""
    return _linear(MIDDLE_WEIGHT, MIDDLE_BIAS)


def _generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    try:
        return torch.Generator().manual_seed(v.check_seed(generator, "generator"))
    except TypeError:
        raise TypeError(
            f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}"
        ) from None


def noisy_middle_layer(noise_level: float, generator: torch.Generator | int | None = None) -> nn.Linear:
    """The sawtooth's middle layer with i.i.d. Gaussian noise added to every weight and bias.

    Parameters
    ----------
    noise_level : float
        Standard deviation of the additive noise, in ``[0, MAX_NOISE]``; the exact entries are +-2.
    generator : torch.Generator, int or None
        Source of the noise (an int is a seed; None uses torch's default generator).

    Returns
    -------
    torch.nn.Linear
        ``Linear(2, 2)``.

    Examples
    --------
    >>> layer = noisy_middle_layer(0.0)
    >>> layer.weight.tolist(), layer.bias.tolist()
    ([[2.0, 2.0], [-2.0, -2.0]], [-2.0, 2.0])
    """
    noise_level = v.check_real(noise_level, "noise_level", min_value=0, max_value=MAX_NOISE)
    gen = _generator(generator)
    layer = exact_middle_layer()
    with torch.no_grad():
        layer.weight.add_(noise_level * torch.randn(2, 2, generator=gen))
        layer.bias.add_(noise_level * torch.randn(2, generator=gen))
    return layer


def random_middle_layer(generator: torch.Generator | int | None = None) -> nn.Linear:
    """A middle layer ``Linear(2, 2)`` with weights and biases i.i.d. standard normal.

    For two inputs, unit variance is He's scale ``2 / fan_in`` for the weights;
    the biases are random too (with zero biases the whole network would be
    positively homogeneous and have at most two pieces).

    Parameters
    ----------
    generator : torch.Generator, int or None
        Source of randomness (an int is a seed).

    Returns
    -------
    torch.nn.Linear

    Examples
    --------
    >>> torch.equal(random_middle_layer(0).weight, random_middle_layer(0).weight)
    True
    """
    gen = _generator(generator)
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(2, 2, generator=gen))
        layer.bias.copy_(torch.randn(2, generator=gen))
    return layer


def sawtooth_network(
    num_hidden_layers: int,
    middle_layer: nn.Linear | Callable[[], nn.Linear] | None = None,
) -> nn.Sequential:
    """The sawtooth ``f_L`` as a ReLU network with ``L = num_hidden_layers`` hidden layers of width 2.

    Parameters
    ----------
    num_hidden_layers : int
        ``L`` in ``[0, MAX_HIDDEN_LAYERS]``; ``L = 0`` gives the identity ``x -> x`` (one ``Linear(1, 1)``).
    middle_layer : Linear(2, 2), callable or None
        The ``L - 1`` middle layers: None for the exact ones; a ``Linear(2, 2)``
        is copied into every position; a callable is called once per position
        (e.g. ``lambda: noisy_middle_layer(0.1, gen)`` for independent noise).

    Returns
    -------
    torch.nn.Sequential
        ``Linear(1, 2), ReLU, [Linear(2, 2), ReLU] * (L - 1), Linear(2, 1)``, float32.

    Examples
    --------
    >>> net = sawtooth_network(2)
    >>> net(torch.tensor([[-2.0], [-1.0], [0.0]]))[:, 0].tolist()
    [2.0, -2.0, 2.0]
    >>> len(sawtooth_network(0)), len(sawtooth_network(4))
    (1, 9)
    """
    num_hidden_layers = v.check_int(num_hidden_layers, "num_hidden_layers", min_value=0, max_value=MAX_HIDDEN_LAYERS)
    if middle_layer is None:
        make = exact_middle_layer
    elif isinstance(middle_layer, nn.Linear):
        _check_middle(middle_layer, "middle_layer")
        make = lambda: copy.deepcopy(middle_layer)  # noqa: E731
    elif callable(middle_layer):
        make = middle_layer
    else:
        raise TypeError(f"middle_layer must be a Linear(2, 2), a callable or None, got {type(middle_layer).__name__}")
    if num_hidden_layers == 0:
        return nn.Sequential(_linear([[1.0]], [0.0]))
    layers: list[nn.Module] = [_linear(INPUT_WEIGHT, INPUT_BIAS), nn.ReLU()]
    for _ in range(num_hidden_layers - 1):
        layers += [_check_middle(make(), "the layer middle_layer returned"), nn.ReLU()]
    layers.append(_linear(OUTPUT_WEIGHT, OUTPUT_BIAS))
    return nn.Sequential(*layers)


def reinitialised(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with every Linear re-initialised by torch's standard scheme.

    Calls ``reset_parameters()`` on each ``Linear`` (Kaiming-uniform weights,
    uniform biases in ``+-1/sqrt(fan_in)``) inside :func:`torch.random.fork_rng`
    seeded with ``seed``, so the result is reproducible and torch's global
    random state is left as it was.

    Parameters
    ----------
    model : torch.nn.Module
        With finite parameters.
    seed : int

    Returns
    -------
    torch.nn.Module
        A new module; ``model`` is not modified.

    Examples
    --------
    >>> a, b = reinitialised(sawtooth_network(3), 0), reinitialised(sawtooth_network(3), 0)
    >>> torch.equal(a[2].weight, b[2].weight), torch.equal(a[2].weight, sawtooth_network(3)[2].weight)
    (True, False)
    """
    v.check_module(model)
    seed = v.check_seed(seed)
    fresh = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in fresh.modules():
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()
    return fresh


def variant_network(depth: int, kind: str, seed: int, noise_level: float = 0.0) -> nn.Sequential:
    """A sawtooth network of ``depth`` hidden layers, exact or randomised.

    Parameters
    ----------
    depth : int
        Number of hidden layers, in ``[0, MAX_HIDDEN_LAYERS]``.
    kind : {"exact", "noisy", "random", "reset"}
        ``"noisy"``: middle layers from :func:`noisy_middle_layer`;
        ``"random"``: middle layers from :func:`random_middle_layer`;
        ``"reset"``: the exact network passed through :func:`reinitialised`.
    seed : int
        Seed of the randomness. The middle layers are drawn in order from one
        generator, so for a given seed the network of depth ``L + 1`` repeats
        the middle layers of the one of depth ``L`` and adds one.
    noise_level : float
        For ``"noisy"``: the noise's standard deviation, in ``[0, MAX_NOISE]``.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> from nnbook.expressivity import count_linear_pieces
    >>> count_linear_pieces(variant_network(5, "noisy", seed=0, noise_level=0.0), -2, 2)
    32
    """
    depth = v.check_int(depth, "depth", min_value=0, max_value=MAX_HIDDEN_LAYERS)
    kind = v.check_choice(kind, "kind", KINDS)
    seed = v.check_seed(seed)
    noise_level = v.check_real(noise_level, "noise_level", min_value=0, max_value=MAX_NOISE)
    gen = torch.Generator().manual_seed(seed)
    if kind == "noisy":
        return sawtooth_network(depth, lambda: noisy_middle_layer(noise_level, gen))
    if kind == "random":
        return sawtooth_network(depth, lambda: random_middle_layer(gen))
    if kind == "reset":
        return reinitialised(sawtooth_network(depth), seed)
    return sawtooth_network(depth)


def _check_middle(layer: object, name: str) -> nn.Linear:
    if not isinstance(layer, nn.Linear) or (layer.in_features, layer.out_features) != (2, 2) or layer.bias is None:
        raise ValueError(f"{name} must be a Linear(2, 2) with a bias, got {layer!r}")
    return v.check_module(layer, name)


@dataclass(frozen=True, eq=False)
class PiecesByDepth:
    """Exact piece counts of sawtooth variants, one row per seed and one column per depth."""

    depths: np.ndarray  # (k,) the depths, as given
    count: np.ndarray  # (n_seeds, k) int: number of linear pieces
    wide: np.ndarray  # (n_seeds, k) int: pieces wider than min_width_fraction x the exact pieces' width at that depth
    min_width_fraction: float  # of the exact sawtooth's piece width (hi - lo) / 2**depth; narrower pieces are slivers


def _same_layers(done: list[nn.Module], layers: list[nn.Module]) -> bool:
    """Whether ``layers`` starts with layers equal (same type and parameters) to ``done``."""
    if len(layers) < len(done):
        return False
    for a, b in zip(done, layers, strict=False):
        if type(a) is not type(b):
            return False
        if isinstance(a, nn.Linear) and not (torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)):
            return False
    return True


def pieces_vs_depth(
    depths: Sequence[int],
    kind: str,
    seeds: Sequence[int],
    noise_level: float = 0.0,
    lo: float = -2.0,
    hi: float = 2.0,
    min_width_fraction: float = 0.25,
) -> PiecesByDepth:
    """Exact pieces on ``[lo, hi]`` of :func:`variant_network` for each seed and depth, all and only the wide ones.

    A piece of a network of depth ``L`` counts as *wide* when it is wider than
    ``min_width_fraction`` times ``(hi - lo) / 2**L``, the width of the exact
    sawtooth's pieces at that depth: two nearby kinks with a sliver between
    them then count as one piece, not two.

    For one seed, networks of successive depths share their hidden layers
    (see :func:`variant_network`), so the breakpoints of the shared layers are
    followed once and only each network's output layer is applied separately;
    the counts are those of :func:`nnbook.expressivity.piecewise_linear` on
    each network.

    Parameters
    ----------
    depths : sequence of int
        Each in ``[0, MAX_HIDDEN_LAYERS]``.
    kind : {"exact", "noisy", "random", "reset"}
    seeds : sequence of int
    noise_level : float
        For ``kind="noisy"``.
    lo, hi : float
        The interval.
    min_width_fraction : float
        In ``[0, 1]``; 0 counts every piece as wide.

    Returns
    -------
    PiecesByDepth

    Raises
    ------
    ValueError
        If more than ``MAX_NETWORKS`` networks are asked for, or a network has
        too many pieces for the exact counter.

    Examples
    --------
    >>> pieces = pieces_vs_depth([0, 1, 2, 3], "exact", seeds=[0])
    >>> pieces.count.tolist(), pieces.wide.tolist()
    ([[1, 2, 4, 8]], [[1, 2, 4, 8]])
    """
    depths = v.check_array(depths, "depths", ndim=1, dtype="integer")
    for d in depths:
        v.check_int(d, "depths", min_value=0, max_value=MAX_HIDDEN_LAYERS)
    seeds = [v.check_seed(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got an empty sequence")
    v.check_work(len(seeds) * len(depths), "depths and seeds", MAX_NETWORKS, "networks")
    kind = v.check_choice(kind, "kind", KINDS)
    lo, hi = _check_interval(lo, hi)
    fraction = v.check_real(min_width_fraction, "min_width_fraction", min_value=0, max_value=1)
    count = np.zeros((len(seeds), len(depths)), dtype=np.int64)
    wide = np.zeros((len(seeds), len(depths)), dtype=np.int64)
    for i, seed in enumerate(seeds):
        state, done = _Pieces(lo, hi, RTOL), []
        deepest = list(variant_network(int(depths.max()), kind, seed, noise_level))
        for j in np.argsort(depths, kind="stable"):
            d = int(depths[j])
            if kind == "reset" or d == 0:  # a reset network's output layer depends on its depth
                layers = list(variant_network(d, kind, seed, noise_level))
            else:  # the other kinds draw their middle layers in order and keep the exact output layer
                layers = [*deepest[: 2 * d], deepest[-1]]
            hidden, output = layers[:-1], layers[-1]
            if not _same_layers(done, hidden):
                state, done = _Pieces(lo, hi, RTOL), []
            for layer in hidden[len(done) :]:
                state.apply(layer)
                done.append(layer)
            final = state.copy()
            final.apply(output)
            f = final.result()
            count[i, j] = f.num_pieces
            wide[i, j] = f.count_wider_than(fraction * (hi - lo) / 2.0 ** int(depths[j]))
    return PiecesByDepth(depths=depths, count=count, wide=wide, min_width_fraction=fraction)


def growth_exponent(depths: Sequence[int], counts: np.ndarray) -> float:
    """Base-2 growth rate of the mean piece count per layer: the slope of ``log2(mean count)`` on depth.

    1 means the count doubles with every layer (the exact sawtooth), 0 that it
    stays constant.

    Parameters
    ----------
    depths : sequence of int, length k >= 2
    counts : ndarray, shape (n_seeds, k)
        Piece counts as in :class:`PiecesByDepth`, each ``>= 1``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(growth_exponent([4, 5, 6], np.array([[16, 32, 64], [16, 32, 64]])), 12)
    1.0
    """
    depths = v.check_array(depths, "depths", ndim=1, min_rows=2)
    counts = v.check_array(counts, "counts", shape=(None, depths.size))
    if (counts < 1).any():
        raise ValueError(f"counts must be >= 1 (a network has at least one piece), got {counts.min()}")
    if np.ptp(depths) == 0:
        raise ValueError("depths must not all be equal")
    return float(np.polyfit(depths, np.log2(counts.mean(axis=0)), 1)[0])


def breakdown_level(levels: Sequence[float], exponents: Sequence[float], threshold: float = 0.5) -> float:
    """The smallest noise level whose growth exponent is below ``threshold``.

    Parameters
    ----------
    levels : sequence of float, length k
        Noise levels (any order).
    exponents : sequence of float, length k
        Growth exponent at each level (:func:`growth_exponent`).
    threshold : float
        ``1/2`` means the count grows by less than ``sqrt(2)`` per layer.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If no level's exponent is below the threshold.

    Examples
    --------
    >>> breakdown_level([0.1, 1.0, 0.5, 2.0], [0.98, 0.3, 0.6, -0.1])
    1.0
    """
    levels = v.check_array(levels, "levels", ndim=1)
    exponents = v.check_array(exponents, "exponents", shape=(levels.size,))
    threshold = v.check_real(threshold, "threshold")
    below = levels[exponents < threshold]
    if below.size == 0:
        raise ValueError(f"no level has a growth exponent below threshold={threshold} (smallest {exponents.min():.3g})")
    return float(below.min())

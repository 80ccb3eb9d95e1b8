"""Telgarsky's sawtooth: a deep, narrow ReLU network with exponentially many linear pieces.

The map ``g(z) = 2|z| - 2`` folds ``[-2, 2]`` onto itself, and its ``L``-fold
composition ``f_L = g o ... o g`` (``f_0(x) = x``) has ``2**L`` linear pieces on
``[-2, 2]`` (Telgarsky 2016). Since ``|z| = relu(z) + relu(-z)``, each fold
costs two ReLU units, so ``f_L`` is a network with ``L`` hidden layers of width
two: a fixed input layer ``x -> (x, -x)``, ``L - 1`` identical middle layers
``h -> (2 h_1 + 2 h_2 - 2, -2 h_1 - 2 h_2 + 2)`` and an output layer
``h -> 2 h_1 + 2 h_2 - 2``. This module builds it, perturbs its middle layers
and re-initialises it, to measure how special the exponential count is.

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

import numpy as np
import torch
from torch import nn

from nnbook.expressivity import count_linear_pieces

INPUT_WEIGHT, INPUT_BIAS = [[1.0], [-1.0]], [0.0, 0.0]  # x -> (x, -x)
MIDDLE_WEIGHT, MIDDLE_BIAS = [[2.0, 2.0], [-2.0, -2.0]], [-2.0, 2.0]  # h -> (z, -z), z = 2|.| - 2
OUTPUT_WEIGHT, OUTPUT_BIAS = [[2.0, 2.0]], [-2.0]  # h -> z
KINDS = ("exact", "noisy", "random", "reset")


def sawtooth(x: np.ndarray, depth: int) -> np.ndarray:
    """The closed form ``f_depth(x)``: ``f_0(x) = x``, ``f_l(x) = 2 |f_{l-1}(x)| - 2``.

    Parameters
    ----------
    x : ndarray, any shape
    depth : int
        Number of folds (``>= 0``).

    Returns
    -------
    ndarray, same shape as ``x``

    Examples
    --------
    >>> sawtooth(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 2).tolist()
    [2.0, -2.0, 2.0, -2.0, 2.0]
    """
    _check_depth(depth, "depth")
    y = np.asarray(x, dtype=float)
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
    if isinstance(generator, int) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(generator)
    raise TypeError(f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}")


def noisy_middle_layer(noise_level: float, generator: torch.Generator | int | None = None) -> nn.Linear:
    """The sawtooth's middle layer with i.i.d. Gaussian noise added to every weight and bias.

    Parameters
    ----------
    noise_level : float
        Standard deviation of the additive noise (``>= 0``); the exact entries are +-2.
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
    _check_noise(noise_level)
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
        ``L >= 0``; ``L = 0`` gives the identity ``x -> x`` (one ``Linear(1, 1)``).
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
    _check_depth(num_hidden_layers, "num_hidden_layers")
    if num_hidden_layers == 0:
        return nn.Sequential(_linear([[1.0]], [0.0]))
    if middle_layer is None:
        make = exact_middle_layer
    elif isinstance(middle_layer, nn.Linear):
        if middle_layer.in_features != 2 or middle_layer.out_features != 2 or middle_layer.bias is None:
            raise ValueError("middle_layer must be a Linear(2, 2) with a bias")
        make = lambda: copy.deepcopy(middle_layer)  # noqa: E731
    elif callable(middle_layer):
        make = middle_layer
    else:
        raise TypeError(f"middle_layer must be a Linear(2, 2), a callable or None, got {type(middle_layer).__name__}")
    layers: list[nn.Module] = [_linear(INPUT_WEIGHT, INPUT_BIAS), nn.ReLU()]
    for _ in range(num_hidden_layers - 1):
        layer = make()
        if not isinstance(layer, nn.Linear) or (layer.in_features, layer.out_features) != (2, 2):
            raise ValueError("middle_layer must return a Linear(2, 2)")
        layers += [layer, nn.ReLU()]
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
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
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
        Number of hidden layers (``>= 0``).
    kind : {"exact", "noisy", "random", "reset"}
        ``"noisy"``: middle layers from :func:`noisy_middle_layer`;
        ``"random"``: middle layers from :func:`random_middle_layer`;
        ``"reset"``: the exact network passed through :func:`reinitialised`.
    seed : int
        Seed of the randomness. The middle layers are drawn in order from one
        generator, so for a given seed the network of depth ``L + 1`` repeats
        the middle layers of the one of depth ``L`` and adds one.
    noise_level : float
        For ``"noisy"``: the noise's standard deviation.

    Returns
    -------
    torch.nn.Sequential

    Examples
    --------
    >>> count_linear_pieces(variant_network(5, "noisy", seed=0, noise_level=0.0), -2, 2)
    32
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    gen = torch.Generator().manual_seed(seed)
    if kind == "noisy":
        _check_noise(noise_level)
        return sawtooth_network(depth, lambda: noisy_middle_layer(noise_level, gen))
    if kind == "random":
        return sawtooth_network(depth, lambda: random_middle_layer(gen))
    if kind == "reset":
        return reinitialised(sawtooth_network(depth), seed)
    return sawtooth_network(depth)


def pieces_vs_depth(
    depths: Sequence[int],
    kind: str,
    seeds: Sequence[int],
    noise_level: float = 0.0,
    lo: float = -2.0,
    hi: float = 2.0,
) -> np.ndarray:
    """Exact number of linear pieces on ``[lo, hi]`` of :func:`variant_network` for each seed and depth.

    Parameters
    ----------
    depths : sequence of int
    kind : {"exact", "noisy", "random", "reset"}
    seeds : sequence of int
    noise_level : float
        For ``kind="noisy"``.
    lo, hi : float
        The interval.

    Returns
    -------
    ndarray of int, shape (len(seeds), len(depths))

    Examples
    --------
    >>> pieces_vs_depth([0, 1, 2, 3], "exact", seeds=[0]).tolist()
    [[1, 2, 4, 8]]
    """
    if len(depths) == 0 or len(seeds) == 0:
        raise ValueError("depths and seeds must be non-empty")
    for d in depths:
        _check_depth(d, "depths")
    counts = [[count_linear_pieces(variant_network(d, kind, s, noise_level), lo, hi) for d in depths] for s in seeds]
    return np.array(counts, dtype=np.int64)


def _check_depth(value: object, arg: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{arg} must be an int >= 0, got {value!r}")


def _check_noise(noise_level: object) -> None:
    if isinstance(noise_level, bool) or not isinstance(noise_level, int | float) or not 0 <= noise_level < np.inf:
        raise ValueError(f"noise_level must be a finite number >= 0, got {noise_level!r}")


def growth_exponent(depths: Sequence[int], counts: np.ndarray) -> float:
    """Base-2 growth rate of the mean piece count per layer: the slope of ``log2(mean count)`` on depth.

    1 means the count doubles with every layer (the exact sawtooth), 0 that it
    stays constant.

    Parameters
    ----------
    depths : sequence of int, length k >= 2
    counts : ndarray, shape (n_seeds, k)
        Piece counts as returned by :func:`pieces_vs_depth`.

    Returns
    -------
    float

    Examples
    --------
    >>> round(growth_exponent([4, 5, 6], np.array([[16, 32, 64], [16, 32, 64]])), 12)
    1.0
    """
    depths = np.asarray(depths, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if depths.ndim != 1 or depths.size < 2:
        raise ValueError(f"depths must be 1-D with at least two entries, got shape {depths.shape}")
    if counts.ndim != 2 or counts.shape[1] != depths.size or (counts < 1).any():
        raise ValueError(f"counts must have shape (n_seeds, {depths.size}) with entries >= 1, got {counts.shape}")
    return float(np.polyfit(depths, np.log2(counts.mean(axis=0)), 1)[0])

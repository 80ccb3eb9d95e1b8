"""A 1-D regression task (a sum of sines) and the ReLU networks the initialisation and OOD chapters train on it.

The target is ``f(x) = sum_k c_k sin(k pi x)`` for ``k = 0..4`` with the
coefficients ``c_k`` drawn uniformly from ``[-1, 1]`` (the ``k = 0`` term is
identically zero, so four sines shape it). Training inputs are drawn uniformly
from a range, targets get Gaussian noise; test points are a noise-free grid of
``[-1, 1]``, so a model trained on part of the line can be scored inside and
outside the range it saw.

Examples
--------
>>> task = sine_task(n_train=4, n_test=3)
>>> task.x_test.tolist(), task.y_test.round(12).tolist()
([-1.0, 0.0, 1.0], [0.0, 0.0, -0.0])
>>> sum(p.numel() for p in mlp(4).parameters()), len(mlp(4))
(1321, 9)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v

NUM_SINES = 5  # frequencies k = 0..4, in units of pi
MAX_POINTS = 10**6  # bound on training or test points
MAX_HIDDEN_LAYERS = 200  # bound on depth (the chapters go to 60)
MAX_WIDTH = 4096


def sine_coefficients(seed: int = 0) -> np.ndarray:
    """The target's coefficients ``c_k ~ U(-1, 1)``, ``k = 0..4``, from ``seed``.

    Returns
    -------
    ndarray, shape (5,)

    Examples
    --------
    >>> sine_coefficients(0).round(3).tolist()
    [0.274, -0.46, -0.918, -0.967, 0.627]
    """
    return np.random.default_rng(v.check_seed(seed)).uniform(-1.0, 1.0, NUM_SINES)


def f_true(x: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """The target ``sum_k c_k sin(k pi x)``.

    Parameters
    ----------
    x : ndarray, shape (n,)
    coefficients : ndarray, shape (K,)
        ``c_0, ..., c_{K-1}``.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> f_true(np.array([0.5]), np.array([7.0, 1.0, 2.0])).round(12).tolist()
    [1.0]
    """
    x = v.check_array(x, "x", ndim=1, max_elements=MAX_POINTS)
    c = v.check_array(coefficients, "coefficients", ndim=1)
    return np.sin(math.pi * np.outer(x, np.arange(c.size))) @ c


@dataclass(frozen=True)
class SineTask:
    """Noisy training samples and a noise-free test grid of the sum of sines."""

    x_train: np.ndarray  # (n_train,) inputs drawn uniformly from train_range
    y_train: np.ndarray  # (n_train,) f_true(x_train) + N(0, noise^2)
    x_test: np.ndarray  # (n_test,) evenly spaced on [-1, 1], endpoints included
    y_test: np.ndarray  # (n_test,) f_true(x_test), no noise
    coefficients: np.ndarray  # (5,) c_k of the target
    train_range: tuple[float, float]  # where the training inputs come from
    noise: float  # standard deviation of the training noise

    def train_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` for :func:`nnbook.training.train`: ``X`` of shape (n, 1) and ``y`` of shape (n,), float32."""
        return self.x_train[:, None].astype(np.float32), self.y_train.astype(np.float32)

    def test_pair(self) -> tuple[np.ndarray, np.ndarray]:
        """``(X, y)`` of the test grid, shaped as :meth:`train_pair`."""
        return self.x_test[:, None].astype(np.float32), self.y_test.astype(np.float32)

    def in_range(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the points of ``x`` (shape (n,)) inside the training range."""
        lo, hi = self.train_range
        x = v.check_array(x, "x", ndim=1, min_rows=0)
        return (x >= lo) & (x <= hi)


def sine_task(
    *,
    n_train: int = 1500,
    n_test: int = 500,
    noise: float = 0.1,
    train_range: tuple[float, float] = (-1.0, 1.0),
    seed: int = 10,
    coefficient_seed: int = 0,
) -> SineTask:
    """Draw the training set and build the test grid.

    Parameters
    ----------
    n_train, n_test : int
        Numbers of training and test points (``1 ..`` 10**6; ``n_test >= 2``).
    noise : float
        Standard deviation of the Gaussian noise on the training targets (``>= 0``).
    train_range : (float, float)
        ``lo < hi`` inside ``[-1, 1]``: the training inputs are drawn from ``U(lo, hi)``.
    seed : int
        Seed of the training inputs and noise.
    coefficient_seed : int
        Seed of the target's coefficients (:func:`sine_coefficients`).

    Returns
    -------
    SineTask

    Examples
    --------
    >>> task = sine_task(n_train=1000, train_range=(-1.0, 0.4))
    >>> bool(task.x_train.min() >= -1.0 and task.x_train.max() <= 0.4), int(task.in_range(task.x_test).sum())
    (True, 350)
    """
    n_train = v.check_int(n_train, "n_train", min_value=1, max_value=MAX_POINTS)
    n_test = v.check_int(n_test, "n_test", min_value=2, max_value=MAX_POINTS)
    noise = v.check_real(noise, "noise", min_value=0.0)
    bounds = v.check_array(train_range, "train_range", shape=(2,))
    lo, hi = float(bounds[0]), float(bounds[1])
    if not -1.0 <= lo < hi <= 1.0:
        raise ValueError(f"train_range must satisfy -1 <= lo < hi <= 1, got ({lo}, {hi})")
    coefficients = sine_coefficients(v.check_seed(coefficient_seed, "coefficient_seed"))
    rng = np.random.default_rng(v.check_seed(seed))
    x_train = rng.uniform(lo, hi, n_train)
    y_train = f_true(x_train, coefficients) + noise * rng.standard_normal(n_train)
    x_test = np.linspace(-1.0, 1.0, n_test)
    return SineTask(x_train, y_train, x_test, f_true(x_test, coefficients), coefficients, (lo, hi), noise)


class ResidualBlock(nn.Module):
    """``h -> h + scale * W relu(h) + scale * b``: a ReLU layer on a skip connection.

    Its Jacobian is ``I + scale * W D(h)``, with ``D(h)`` the 0/1 diagonal of
    active units: the identity plus a perturbation that ``scale`` controls.
    """

    def __init__(self, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.linear = nn.Linear(v.check_int(width, "width", min_value=1, max_value=MAX_WIDTH), width)
        self.scale = v.check_real(scale, "scale")

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.scale * self.linear(torch.relu(h))

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}"


def mlp(
    hidden_layers: int,
    width: int = 20,
    *,
    residual: bool = False,
    batch_norm: bool = False,
    residual_scale: float | None = None,
    seed: int = 0,
) -> nn.Sequential:
    """A ReLU network ``R -> R`` with ``hidden_layers`` hidden layers of ``width`` units.

    Plain: ``Linear(1, w), ReLU, [Linear(w, w), ReLU] * (L - 1), Linear(w, 1)``
    (``2L + 1`` modules; ``L = 4``, ``w = 20`` gives 1,321 parameters).
    ``batch_norm`` puts ``BatchNorm1d`` between each hidden ``Linear`` and its ReLU.
    ``residual`` replaces the ``L - 1`` middle layers by :class:`ResidualBlock`
    (same parameters), followed by a ReLU before the output layer.

    Parameters
    ----------
    hidden_layers : int
        ``L``, from 1 to 200.
    width : int
        Units per hidden layer.
    residual, batch_norm : bool
        The architecture's variant (not both).
    residual_scale : float or None
        Factor on every residual branch; ``None`` means ``1 / sqrt(L)``, which
        keeps the forward signal bounded in depth at PyTorch's initialisation.
    seed : int
        Seed of the weights, drawn with PyTorch's default initialisation of
        ``nn.Linear`` (weights and biases ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``);
        the global random state is left as it was.

    Returns
    -------
    torch.nn.Sequential
        Output shape ``(n, 1)`` for input ``(n, 1)``, float32.

    Examples
    --------
    >>> net = mlp(3, 4, residual=True)
    >>> [type(m).__name__ for m in net]
    ['Linear', 'ResidualBlock', 'ResidualBlock', 'ReLU', 'Linear']
    >>> net(torch.zeros(7, 1)).shape
    torch.Size([7, 1])
    """
    L = v.check_int(hidden_layers, "hidden_layers", min_value=1, max_value=MAX_HIDDEN_LAYERS)
    w = v.check_int(width, "width", min_value=1, max_value=MAX_WIDTH)
    residual, batch_norm = v.check_bool(residual, "residual"), v.check_bool(batch_norm, "batch_norm")
    if residual and batch_norm:
        raise ValueError("residual and batch_norm cannot both be True: choose one variant")
    scale = 1.0 / math.sqrt(L) if residual_scale is None else v.check_real(residual_scale, "residual_scale")
    seed = v.check_seed(seed)

    def hidden(fan_in: int) -> list[nn.Module]:
        return [nn.Linear(fan_in, w), *([nn.BatchNorm1d(w)] if batch_norm else []), nn.ReLU()]

    with torch.random.fork_rng(devices=[]):  # seeded draws, global state restored afterwards
        torch.manual_seed(seed)
        if residual:
            layers = [nn.Linear(1, w), *(ResidualBlock(w, scale) for _ in range(L - 1)), nn.ReLU()]
        else:
            layers = [module for i in range(L) for module in hidden(1 if i == 0 else w)]
        return nn.Sequential(*layers, nn.Linear(w, 1))


def range_errors(task: SineTask, y_pred: np.ndarray) -> tuple[float, float]:
    """Mean squared test error inside and outside the training range.

    Parameters
    ----------
    task : SineTask
    y_pred : ndarray, shape (n_test,)
        Predictions on ``task.x_test``.

    Returns
    -------
    (float, float)
        ``(mse_inside, mse_outside)``; ``nan`` for a side without test points.

    Examples
    --------
    >>> task = sine_task(n_train=10, n_test=5, train_range=(-1.0, 0.0))
    >>> range_errors(task, task.y_test + np.array([0, 0, 0, 1, 3]))
    (0.0, 5.0)
    """
    if not isinstance(task, SineTask):
        raise TypeError(f"task must be a SineTask, got {type(task).__name__}")
    y_pred = v.check_array(y_pred, "y_pred", ndim=1)
    v.check_same_length(y_pred=y_pred, y_test=task.y_test)
    inside = task.in_range(task.x_test)
    sq = (y_pred - task.y_test) ** 2
    return tuple(float(sq[mask].mean()) if mask.any() else math.nan for mask in (inside, ~inside))

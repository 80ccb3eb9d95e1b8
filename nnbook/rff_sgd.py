"""Random Fourier feature models trained by SGD, beside gradient descent and the minimum-norm fit.

A random Fourier feature (RFF) model is a fixed feature map (:mod:`nnbook.rff`)
followed by a trainable bias-free linear layer (:func:`readout`). Trained on
the mean squared error with :func:`nnbook.training.train` it is a least-squares
problem solved by SGD, so everything :mod:`nnbook.sgd` knows about gradient
descent on least squares applies: the stable step is set by the largest
eigenvalue of ``Phi^T Phi / n`` (:func:`nnbook.sgd.max_stable_lr`), SGD follows
full-batch gradient descent on average, and gradient descent after ``t`` steps
is a spectral filter of the minimum-norm fit (:func:`nnbook.sgd.gd_closed_form`).

- :func:`features` draws the frequencies and computes the features of a split;
- :func:`run` trains one model with a :class:`~nnbook.training.TrainConfig`;
- :func:`sweep` trains models of many sizes and compares them with gradient
  descent at any budget and with the minimum-norm fit (double descent by SGD).

Examples
--------
>>> from nnbook.data import digits_curvy
>>> from nnbook.training import TrainConfig
>>> config = TrainConfig(lr=0.01, epochs=2, batch_size=64, loss="mse", device="cpu")
>>> result = run(digits_curvy(), 20, config)
>>> result.a.shape, result.history.config.lr
((40,), 0.01)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import rff
from nnbook._validation import check_array, check_int, check_real, check_seed, check_work
from nnbook.data import Split
from nnbook.sgd import gd_closed_form, max_stable_lr
from nnbook.training import History, TrainConfig, predict, train

# Largest standard deviation of initial coefficients (larger ones overflow float32 predictions).
MAX_INIT_STD = 1e3
MAX_FEATURES = 10**5  # largest number N of frequencies of one model


def readout(n_inputs: int, init_std: float = 1e-3, seed: int = 0) -> nn.Linear:
    """The trainable layer of an RFF model: ``nn.Linear(n_inputs, 1, bias=False)`` with weights ``N(0, init_std^2)``.

    Examples
    --------
    >>> readout(4, init_std=0.0).weight.abs().sum().item()
    0.0
    """
    n_inputs = check_int(n_inputs, "n_inputs", min_value=1, max_value=10**7)
    init_std = check_real(init_std, "init_std", min_value=0.0, max_value=MAX_INIT_STD)
    generator = torch.Generator().manual_seed(check_seed(seed))
    layer = nn.Linear(n_inputs, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(init_std * torch.randn(1, n_inputs, generator=generator))
    return layer


@dataclass(frozen=True, eq=False)
class RFFRun:
    """One SGD run of a random Fourier feature model (a fixed feature map and a trained :func:`readout`)."""

    n_features: int  # N frequencies, 2N coefficients
    history: History  # train_loss / test_loss are MSEs; measurements["test_error"] the fraction of wrong signs
    a0: np.ndarray  # (2N,) coefficients at initialisation
    a: np.ndarray  # (2N,) coefficients after training


def features(split: Split, n_features: int, draw: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and test features of the RFF model with ``n_features`` frequencies drawn with seed ``draw``.

    Returns
    -------
    Phi : ndarray, shape (n_train, 2 n_features)
    Phi_test : ndarray, shape (n_test, 2 n_features)

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> [P.shape for P in features(digits_curvy(), 3)]
    [(898, 6), (899, 6)]
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a nnbook.data.Split, got {type(split).__name__}")
    n_features = check_int(n_features, "n_features", min_value=1, max_value=MAX_FEATURES)
    V = rff.sample_frequencies(split.X_train.shape[1], n_features, rng=check_seed(draw, "draw"))
    return rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)


def run(split: Split, n_features: int, config: TrainConfig, draw: int = 0, init_std: float = 1e-3) -> RFFRun:
    """Train the coefficients of an RFF model on ``split`` with :func:`nnbook.training.train`.

    The features are :func:`features` (computed once, frequencies drawn with seed ``draw``),
    the coefficients start from :func:`readout` (seed ``draw``) and are trained
    with every setting of ``config`` (use ``loss="mse"``), evaluated on the test
    set after every epoch.

    Parameters
    ----------
    split : Split
        E.g. :func:`nnbook.data.digits_curvy`, labels +-1.
    n_features : int
        ``N`` (``1 <= N <= 10**5``).
    config : TrainConfig
    draw : int
        Seed of the frequencies and of the initial coefficients.
    init_std : float
        Standard deviation of the initial coefficients (``<=`` :data:`MAX_INIT_STD`).

    Returns
    -------
    RFFRun

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> config = TrainConfig(lr=0.01, epochs=2, batch_size=64, loss="mse", device="cpu")
    >>> result = run(digits_curvy(), 20, config)
    >>> result.a.shape, result.history.test_loss.shape, result.history.config.lr
    ((40,), (3,), 0.01)
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    Phi, Phi_test = features(split, n_features, draw)
    model = readout(2 * n_features, init_std, seed=draw)
    a0 = model.weight.detach().double().numpy()[0].copy()
    test_t = torch.as_tensor(Phi_test, dtype=model.weight.dtype)

    def sign_error(net: nn.Module, epoch: int) -> dict[str, float]:
        return {"test_error": float(np.mean(np.sign(predict(net, test_t)[:, 0]) != split.y_test))}

    history = train(model, config, (Phi, split.y_train), test=(Phi_test, split.y_test), hooks=[sign_error])
    a = model.weight.detach().double().numpy()[0].copy()
    return RFFRun(n_features, history, a0, a)


def stack_curves(runs: list[RFFRun], name: str) -> np.ndarray:
    """``(len(runs), E + 1)`` array of a per-epoch curve (``"train_loss"``, ``"test_loss"`` or a measurement).

    A run that stopped early (diverged) is padded with NaN.

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> config = TrainConfig(lr=0.01, epochs=2, batch_size=64, loss="mse", device="cpu")
    >>> stack_curves([run(digits_curvy(), 5, config, draw=d) for d in (0, 1)], "test_error").shape
    (2, 3)
    """
    histories = [r.history for r in runs]
    if not histories:
        raise ValueError("runs must not be empty")
    length = max(h.config.epochs for h in histories) + 1
    out = np.full((len(histories), length), np.nan)
    for i, h in enumerate(histories):
        curve = getattr(h, name, None) if name in ("train_loss", "test_loss") else h.measurements.get(name)
        if curve is None:
            raise ValueError(f"name must be 'train_loss', 'test_loss' or a measurement of the runs, got {name!r}")
        out[i, : curve.size] = curve
    return out


@dataclass(frozen=True)
class SGDSweep:
    """SGD-trained RFF models of several sizes beside the minimum-norm fit; arrays ``[draw, size, ...]``."""

    n_features: np.ndarray  # (K,) numbers N of frequencies
    ratio: np.ndarray  # (K,) 2N / n
    epoch: np.ndarray  # (E + 1,) 0, ..., E
    steps_per_epoch: int  # ceil(n / batch_size)
    lr: np.ndarray  # (D, K) step size of each run: lr_fraction * its stable_lr
    train_mse: np.ndarray  # (D, K, E + 1) SGD, after each epoch (NaN after a divergence)
    test_mse: np.ndarray  # (D, K, E + 1)
    gd_epochs: np.ndarray  # (G,) budgets, in epochs, of the noise-free gradient descent (closed form)
    gd_test_mse: np.ndarray  # (D, K, G) full-batch GD, same lr and start, after gd_epochs * steps_per_epoch steps
    gd_to_min_norm: np.ndarray  # (D, K, G) ||a_gd - a_min_norm|| / ||a_min_norm|| at those budgets
    min_norm_train_mse: np.ndarray  # (D, K)
    min_norm_test_mse: np.ndarray  # (D, K)
    to_min_norm: np.ndarray  # (D, K) ||a_sgd - a_min_norm|| / ||a_min_norm|| after the last epoch
    to_gd: np.ndarray  # (D, K) ||a_sgd - a_gd|| / ||a_gd||, a_gd = GD after the same number of steps


def sweep(
    split: Split,
    n_features: np.ndarray,
    *,
    lr_fraction: float,
    epochs: int,
    batch_size: int,
    gd_epochs: tuple[int, ...] = (),
    draws: tuple[int, ...] = (0, 1, 2),
    init_std: float = 1e-3,
) -> SGDSweep:
    """Test error against model size for SGD, for noise-free gradient descent and for the minimum-norm fit.

    For each draw the frequencies of the largest model are sampled once
    (seed = the draw) and a model with ``N`` frequencies uses the first ``N``
    of them. Each model is trained by SGD as in :func:`run` with the
    step size ``lr_fraction * max_stable_lr(Phi) / 2`` (a fixed fraction of the
    stability bound of its own features, :func:`nnbook.sgd.max_stable_lr` halved
    for PyTorch's mean squared error; it shrinks like ``1 / N``), for
    ``epochs`` epochs of mini-batches of ``batch_size``. Beside it:
    full-batch gradient descent from the same start with the same step size
    (:func:`nnbook.sgd.gd_closed_form`, PyTorch's mean squared error being twice the loss
    of :func:`least_squares_gd`), which is what SGD does on average, and the
    minimum-norm least-squares fit (:func:`nnbook.rff.fit_min_norm`), which is
    where gradient descent ends.

    Parameters
    ----------
    split : Split
    n_features : array of int, shape (K,)
        Model sizes ``N`` (each in ``[1, 5000]``).
    lr_fraction : float
        In ``(0, 2]``: the step size in units of the stability bound.
    epochs, batch_size : int
        SGD budget (``epochs >= 1``) and batch size (``>= 1``).
    gd_epochs : tuple of int
        Budgets (in epochs of ``steps_per_epoch`` steps, each ``>= 0``) at which gradient descent is evaluated.
    draws : tuple of int
        Seeds of the frequency draws (and of the initialisation and the batch order).
    init_std : float
        Standard deviation of the initial coefficients.

    Returns
    -------
    SGDSweep

    Examples
    --------
    >>> from nnbook.data import digits_curvy
    >>> s = sweep(digits_curvy(), [20, 600], lr_fraction=0.3, epochs=2, batch_size=128,
    ...                        gd_epochs=(2, 10**6), draws=(0,))
    >>> s.test_mse.shape, s.gd_test_mse.shape, bool(s.to_gd.max() < 0.5)
    ((1, 2, 3), (1, 2, 2), True)
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a nnbook.data.Split, got {type(split).__name__}")
    sizes = check_array(n_features, "n_features", ndim=1, dtype="integer")
    if sizes.min() < 1 or sizes.max() > 5000:
        raise ValueError(f"n_features must lie in [1, 5000], got [{sizes.min()}, {sizes.max()}]")
    lr_fraction = check_real(lr_fraction, "lr_fraction", min_value=0.0, max_value=2.0, min_inclusive=False)
    epochs = check_int(epochs, "epochs", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    budgets = check_array(
        np.asarray(gd_epochs, dtype=np.int64).reshape(-1), "gd_epochs", ndim=1, dtype="integer", min_rows=0
    )
    if budgets.size and budgets.min() < 0:
        raise ValueError(f"gd_epochs must be >= 0, got {int(budgets.min())}")
    draws = tuple(check_seed(d, "draws") for d in draws)
    if not draws:
        raise ValueError("draws must not be empty")
    n, d = split.X_train.shape
    per_epoch = -(-n // min(batch_size, n))
    check_work(len(draws) * int(sizes.sum()) * 2 * n * epochs, "epochs", 10**11, "multiply-adds of SGD")
    D, K, E = len(draws), sizes.size, epochs
    out = {k: np.full((D, K, E + 1), np.nan) for k in ("train", "test")}
    gd_test, gd_to_mn, lr = np.empty((D, K, budgets.size)), np.empty((D, K, budgets.size)), np.empty((D, K))
    mn_train, mn_test, to_mn, to_gd = (np.empty((D, K)) for _ in range(4))
    for i, draw in enumerate(draws):
        V = rff.sample_frequencies(d, int(sizes.max()), rng=draw)
        Phi_all, Phi_test_all = rff.fourier_features(split.X_train, V), rff.fourier_features(split.X_test, V)
        for k, size in enumerate(sizes):
            Phi, Phi_test = Phi_all[:, : 2 * size], Phi_test_all[:, : 2 * size]
            lr[i, k] = lr_fraction * max_stable_lr(Phi) / 2  # PyTorch's MSE has no factor 1/2
            config = TrainConfig(
                lr=lr[i, k],
                epochs=E,
                batch_size=batch_size,
                loss="mse",
                seed=draw,
                on_divergence="stop",
                progress=False,
            )
            model = readout(2 * int(size), init_std, seed=draw)
            a0 = model.weight.detach().double().numpy()[0].copy()
            h = train(model, config, (Phi, split.y_train), test=(Phi_test, split.y_test))
            out["train"][i, k, : h.train_loss.size], out["test"][i, k, : h.test_loss.size] = h.train_loss, h.test_loss
            a = model.weight.detach().double().numpy()[0]
            # GD from a0 is a0 plus GD from zero on the residual targets y - Phi a0.
            residual = split.y_train - Phi @ a0
            steps = np.append(budgets * per_epoch, h.steps)  # the budgets, then the steps this run took
            a_gd = a0[:, None] + gd_closed_form(Phi, residual, 2 * lr[i, k], steps)
            gd_test[i, k] = np.mean((Phi_test @ a_gd[:, :-1] - split.y_test[:, None]) ** 2, axis=0)
            a_min = rff.fit_min_norm(Phi, split.y_train)
            gd_to_mn[i, k] = np.linalg.norm(a_gd[:, :-1] - a_min[:, None], axis=0) / np.linalg.norm(a_min)
            mn_train[i, k] = np.mean((Phi @ a_min - split.y_train) ** 2)
            mn_test[i, k] = np.mean((Phi_test @ a_min - split.y_test) ** 2)
            to_mn[i, k] = np.linalg.norm(a - a_min) / np.linalg.norm(a_min)
            to_gd[i, k] = np.linalg.norm(a - a_gd[:, -1]) / np.linalg.norm(a_gd[:, -1])
    return SGDSweep(
        sizes,
        2 * sizes / n,
        np.arange(E + 1),
        per_epoch,
        lr,
        out["train"],
        out["test"],
        budgets,
        gd_test,
        gd_to_mn,
        mn_train,
        mn_test,
        to_mn,
        to_gd,
    )

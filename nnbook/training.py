"""The one training loop of the book: settings in, history out.

Every torch chapter trains through :func:`train`. Its settings are a frozen
:class:`TrainConfig`, each field of which the loop uses: there is no
``**kwargs`` through which a misspelt or ignored setting could slip (a course
handout's ``sgd_fit(lr=...)`` that builds its optimiser with a hard-coded
learning rate is impossible here: the optimiser is built from the config and
nowhere else). The result is a :class:`History` of per-epoch losses and
accuracies, measured the same way for every chapter, plus whatever the
``hooks`` measure (gradient norms, dead units, spectra) at the same moments.

Examples
--------
>>> import torch
>>> from nnbook.data import spirals
>>> X, y = spirals(40, 2, rng=0)
>>> torch.manual_seed(0) and None
>>> net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
>>> config = TrainConfig(lr=0.1, epochs=5, batch_size=16, momentum=0.9, device="cpu")
>>> history = train(net, config, (X, y))
>>> history.steps, history.epoch.tolist(), len(history.epoch_loss)
(25, [0, 1, 2, 3, 4, 5], 5)
>>> bool(history.train_loss[-1] < history.train_loss[0])
True
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from nnbook import _validation as v

OPTIMISERS = ("sgd", "adam")
LOSSES = ("cross_entropy", "mse", "binary_cross_entropy")
SCHEDULES = ("constant", "cosine")
ON_DIVERGENCE = ("raise", "stop")
MAX_EPOCHS = 100_000
MAX_STEPS = 10_000_000
EVAL_BATCH = 4096

Hook = Callable[[nn.Module, int], "Mapping[str, float] | None"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run; every field is used by :func:`train`."""

    lr: float = 0.1  # learning rate (step size), > 0
    epochs: int = 10  # passes over the training set, >= 1
    batch_size: int | None = 32  # examples per step; None = the whole training set (full-batch gradient descent)
    optimiser: str = "sgd"  # "sgd" (torch.optim.SGD) or "adam" (torch.optim.Adam)
    momentum: float = 0.0  # SGD momentum in [0, 1); must stay 0 for "adam"
    weight_decay: float = 0.0  # L2 penalty coefficient, >= 0
    loss: str = "cross_entropy"  # "cross_entropy" (integer labels), "mse" (real targets), "binary_cross_entropy" (0/1)
    seed: int = 0  # seeds the order of the mini-batches (the model's initialisation is the caller's)
    device: str | None = None  # "cpu" or "cuda"; None = nnbook.device()
    max_steps: int | None = None  # stop after this many optimiser steps (None = run all epochs)
    lr_schedule: str = "constant"  # "constant" or "cosine" (half cosine from lr to 0 over the planned steps)
    on_divergence: str = "raise"  # a non-finite loss: "raise" FloatingPointError, or "stop" and mark the history
    record_steps: bool = False  # keep the loss of every step in History.step_loss
    progress: bool | None = None  # tqdm bar; None = only when run standalone in a terminal

    def __post_init__(self) -> None:
        v.check_real(self.lr, "lr", min_value=0, min_inclusive=False)
        v.check_int(self.epochs, "epochs", min_value=1, max_value=MAX_EPOCHS)
        if self.batch_size is not None:
            v.check_int(self.batch_size, "batch_size", min_value=1)
        v.check_choice(self.optimiser, "optimiser", OPTIMISERS)
        v.check_real(self.momentum, "momentum", min_value=0, max_value=1, max_inclusive=False)
        if self.optimiser == "adam" and self.momentum != 0:
            raise ValueError(f"momentum must be 0 with optimiser 'adam' (it has its own betas), got {self.momentum}")
        v.check_real(self.weight_decay, "weight_decay", min_value=0)
        v.check_choice(self.loss, "loss", LOSSES)
        v.check_seed(self.seed)
        if self.device is not None:
            v.check_choice(self.device, "device", ("cpu", "cuda"))
            if self.device == "cuda" and not torch.cuda.is_available():
                raise ValueError("device must be 'cpu' on this machine (no CUDA device), got 'cuda'")
        if self.max_steps is not None:
            v.check_int(self.max_steps, "max_steps", min_value=1, max_value=MAX_STEPS)
        v.check_choice(self.lr_schedule, "lr_schedule", SCHEDULES)
        v.check_choice(self.on_divergence, "on_divergence", ON_DIVERGENCE)
        v.check_bool(self.record_steps, "record_steps")
        if self.progress is not None:
            v.check_bool(self.progress, "progress")


@dataclass(frozen=True, eq=False)
class History:
    """What happened during :func:`train`; per-epoch arrays start at epoch 0, the untrained model."""

    config: TrainConfig
    epoch: np.ndarray  # (E+1,) 0, 1, ..., E: epochs completed
    epoch_loss: np.ndarray  # (E,) mean mini-batch loss during each epoch, in training mode, as the weights moved
    train_loss: np.ndarray  # (E+1,) loss on the whole training set, eval mode, after each epoch
    train_accuracy: np.ndarray | None  # (E+1,) accuracy on the training set (None for "mse")
    val_loss: np.ndarray | None  # (E+1,) on the validation set, when one was given
    val_accuracy: np.ndarray | None
    test_loss: np.ndarray | None  # (E+1,) on the test set, when one was given
    test_accuracy: np.ndarray | None
    step_loss: np.ndarray | None  # (steps,) every step's mini-batch loss when config.record_steps
    steps: int  # optimiser steps taken
    wall_time: float  # seconds
    device: str  # where the model was trained
    diverged: bool  # the loss became non-finite (only with on_divergence="stop")
    diverged_at_step: int | None  # the step whose loss was non-finite
    measurements: dict[str, np.ndarray] = field(default_factory=dict)  # hook name -> (E+1,) values

    def to_rows(self) -> list[dict[str, object]]:
        """One row per epoch (for :func:`nnbook.book.save_table`); the epoch-0 row has no epoch loss."""
        columns = {"train_loss": self.train_loss, "train_accuracy": self.train_accuracy}
        columns |= {"val_loss": self.val_loss, "val_accuracy": self.val_accuracy}
        columns |= {"test_loss": self.test_loss, "test_accuracy": self.test_accuracy, **self.measurements}
        rows = []
        for i, epoch in enumerate(self.epoch):
            row: dict[str, object] = {
                "epoch": int(epoch),
                "epoch_loss": "" if i == 0 else float(self.epoch_loss[i - 1]),
            }
            row |= {name: float(values[i]) for name, values in columns.items() if values is not None}
            rows.append(row)
        return rows


def _as_tensors(pair: object, name: str, loss: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        raise TypeError(f"{name} must be a pair (X, y) of arrays, got {type(pair).__name__}")
    X_raw, y_raw = pair
    if isinstance(X_raw, torch.Tensor) and not torch.isfinite(X_raw).all():
        raise ValueError(f"{name}[0] (X) must hold finite numbers, got NaN or inf")
    X = (
        X_raw
        if isinstance(X_raw, torch.Tensor)
        else torch.as_tensor(v.check_array(X_raw, f"{name}[0] (X)", ndim=(2, 3, 4)))
    )
    if loss == "cross_entropy":
        y = torch.as_tensor(v.check_array(y_raw, f"{name}[1] (y)", ndim=1, dtype="integer"))
        if bool((y < 0).any()):
            raise ValueError(f"{name}[1] (y) must hold class labels >= 0, got {int(y.min())}")
    else:
        y = torch.as_tensor(v.check_array(y_raw, f"{name}[1] (y)", ndim=(1, 2)), dtype=dtype)
        if loss == "binary_cross_entropy" and not bool(((y == 0) | (y == 1)).all()):
            raise ValueError(f"{name}[1] (y) must hold 0/1 labels for binary_cross_entropy")
    v.check_same_length(**{f"{name}[0] (X)": X, f"{name}[1] (y)": y})
    return X.to(dtype), y


def _loss_fn(loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    if loss == "cross_entropy":
        return nn.functional.cross_entropy
    if loss == "binary_cross_entropy":
        return lambda out, y: nn.functional.binary_cross_entropy_with_logits(out, y.reshape(out.shape))
    return lambda out, y: nn.functional.mse_loss(out, y.reshape(out.shape))


def _correct(out: torch.Tensor, y: torch.Tensor, loss: str) -> int:
    if loss == "cross_entropy":
        return int((out.argmax(dim=1) == y).sum())
    return int(((out.reshape(y.shape) > 0).to(y.dtype) == y).sum())


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str, device: str) -> tuple[float, float]:
    fn = _loss_fn(loss)
    total, correct = 0.0, 0
    for start in range(0, X.shape[0], EVAL_BATCH):
        xb, yb = X[start : start + EVAL_BATCH].to(device), y[start : start + EVAL_BATCH].to(device)
        out = model(xb)
        total += float(fn(out, yb)) * xb.shape[0]
        if loss != "mse":
            correct += _correct(out, yb, loss)
    return total / X.shape[0], correct / X.shape[0]


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray, loss: str = "cross_entropy") -> tuple[float, float | None]:
    """Mean loss and accuracy (``None`` for ``"mse"``) of ``model`` on ``(X, y)``, in eval mode, without gradients.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(2)), net.bias.zero_()
    >>> evaluate(net, np.array([[2.0, 0.0], [0.0, 3.0]]), np.array([0, 0]))[1]
    0.5
    """
    v.check_module(model)
    v.check_choice(loss, "loss", LOSSES)
    dtype = _param_dtype(model)
    Xt, yt = _as_tensors((X, y), "data", loss, dtype)
    device = _model_device(model)
    _check_fits(model, Xt, "X", device)
    was_training = model.training
    model.eval()
    try:
        value, accuracy = _evaluate(model, Xt, yt, loss, device)
    finally:
        model.train(was_training)
    return value, (None if loss == "mse" else accuracy)


@torch.no_grad()
def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The model's outputs on ``X`` (eval mode, batched, no gradients) as a numpy array."""
    v.check_module(model)
    dtype = _param_dtype(model)
    Xt = X if isinstance(X, torch.Tensor) else torch.as_tensor(v.check_array(X, "X", ndim=(2, 3, 4)))
    device = _model_device(model)
    _check_fits(model, Xt.to(dtype), "X", device)
    was_training = model.training
    model.eval()
    try:
        outs = [
            model(Xt[s : s + EVAL_BATCH].to(device=device, dtype=dtype)).cpu() for s in range(0, len(Xt), EVAL_BATCH)
        ]
    finally:
        model.train(was_training)
    return torch.cat(outs).numpy()


@torch.no_grad()
def _check_fits(model: nn.Module, X: torch.Tensor, name: str, device: str) -> None:
    """Run the model on one example (eval mode): inputs of the wrong shape fail here with a named error."""
    was_training = model.training
    model.eval()
    try:
        model(X[:1].to(device))
    except RuntimeError as err:
        raise ValueError(f"{name} of shape {tuple(X.shape)} does not fit the model: {err}") from None
    finally:
        model.train(was_training)


def _param_dtype(model: nn.Module) -> torch.dtype:
    p = next(model.parameters(), None)
    return p.dtype if p is not None else torch.float32


def _model_device(model: nn.Module) -> str:
    p = next(model.parameters(), None)
    return str(p.device.type) if p is not None else "cpu"


def _frozen_batchnorms(model: nn.Module) -> list[nn.Module]:
    """Batch-norm layers all of whose parameters are frozen: they stay in eval mode (no statistics drift)."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and all(not p.requires_grad for p in m.parameters())
    ]


def _show_progress(config: TrainConfig) -> bool:
    if config.progress is not None:
        return config.progress
    from nnbook import book

    return book.results_dir() is None and sys.stderr.isatty()


def _loader(X: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> DataLoader:
    """Batches of a seeded permutation per epoch, fetched by index lists (one tensor gather per batch)."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(range(len(X)), generator=generator) if batch_size < len(X) else SequentialSampler(X)
    return DataLoader(TensorDataset(X, y), batch_size=None, sampler=BatchSampler(sampler, batch_size, False))


def train(
    model: nn.Module,
    config: TrainConfig,
    train: tuple[object, object],
    *,
    val: tuple[object, object] | None = None,
    test: tuple[object, object] | None = None,
    hooks: Sequence[Hook] = (),
) -> History:
    """Train ``model`` in place on ``train = (X, y)`` with the settings of ``config``.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place; returned to the device it was on. Parameters with
        ``requires_grad=False`` are frozen (not given to the optimiser), and
        batch-norm layers whose parameters are all frozen stay in eval mode.
    config : TrainConfig
    train, val, test : (X, y) pairs
        ``X`` of shape (n, ...) (numpy or torch), ``y`` integer labels of shape (n,) for
        ``"cross_entropy"``, real targets for ``"mse"``, 0/1 for ``"binary_cross_entropy"``.
    hooks : sequence of callables ``hook(model, epoch) -> mapping or None``
        Called at epoch 0 and after every epoch, model in eval mode, gradients enabled;
        the values they return are collected in :attr:`History.measurements`.

    Returns
    -------
    History

    Raises
    ------
    FloatingPointError
        If a step's loss is not finite and ``config.on_divergence == "raise"``.
    """
    v.check_module(model)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    hooks = tuple(v.check_callable(h, f"hooks[{i}]") for i, h in enumerate(hooks))
    dtype = _param_dtype(model)
    sets = {"train": _as_tensors(train, "train", config.loss, dtype)}
    for name, pair in (("val", val), ("test", test)):
        if pair is not None:
            sets[name] = _as_tensors(pair, name, config.loss, dtype)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters (all have requires_grad=False)")

    from nnbook import device as default_device

    device = config.device or default_device()
    home = _model_device(model)
    model.to(device)
    for name, (Xs, _) in sets.items():
        _check_fits(model, Xs, f"{name}[0] (X)", device)
    X, y = sets["train"]
    n = X.shape[0]
    batch = n if config.batch_size is None else min(config.batch_size, n)
    per_epoch = math.ceil(n / batch)
    planned = (
        per_epoch * config.epochs if config.max_steps is None else min(config.max_steps, per_epoch * config.epochs)
    )
    if config.optimiser == "sgd":
        optimiser = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    else:
        optimiser = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    schedule = None
    if config.lr_schedule == "cosine":
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda k: 0.5 * (1 + math.cos(math.pi * k / planned)))
    loss_fn = _loss_fn(config.loss)
    frozen_bn = _frozen_batchnorms(model)
    curves: dict[str, list[float]] = {f"{s}_{m}": [] for s in sets for m in ("loss", "accuracy")}
    measurements: dict[str, list[float]] = {}
    epoch_losses: list[float] = []
    step_losses: list[float] = []
    diverged_at: int | None = None

    def measure(epoch: int) -> None:
        model.eval()
        for name, (Xs, ys) in sets.items():
            value, accuracy = _evaluate(model, Xs, ys, config.loss, device)
            curves[f"{name}_loss"].append(value)
            curves[f"{name}_accuracy"].append(accuracy)
        for hook in hooks:
            for key, value in (hook(model, epoch) or {}).items():
                measurements.setdefault(key, []).append(float(value.detach() if torch.is_tensor(value) else value))

    start = time.perf_counter()
    measure(0)
    loader = _loader(X, y, batch, config.seed)
    steps = 0
    bar = None
    if _show_progress(config):
        from tqdm import tqdm

        bar = tqdm(total=planned, desc="training", unit="step", leave=False)
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            for m in frozen_bn:
                m.eval()
            total, seen = 0.0, 0
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                optimiser.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                value = float(loss.detach())
                if not math.isfinite(value):
                    diverged_at = steps + 1
                    if config.on_divergence == "raise":
                        raise FloatingPointError(
                            f"the training loss became {value} at step {diverged_at} (lr={config.lr}); "
                            "lower the learning rate or pass on_divergence='stop'"
                        )
                    break
                loss.backward()
                optimiser.step()
                if schedule is not None:
                    schedule.step()
                steps += 1
                total += value * xb.shape[0]
                seen += xb.shape[0]
                if config.record_steps:
                    step_losses.append(value)
                if bar is not None:
                    bar.update(1)
                if steps >= planned:
                    break
            if diverged_at is not None:
                break
            epoch_losses.append(total / seen)
            measure(epoch)
            if any(not math.isfinite(c[-1]) for k, c in curves.items() if k.endswith("loss")):
                diverged_at = steps
                if config.on_divergence == "raise":
                    raise FloatingPointError(f"the evaluated loss became non-finite after epoch {epoch}")
                for c in (*curves.values(), *measurements.values()):
                    c.pop()
                epoch_losses.pop()
                break
            if steps >= planned:
                break
    finally:
        if bar is not None:
            bar.close()
        model.to(home)
        model.eval()
    completed = len(epoch_losses)

    def curve(name: str) -> np.ndarray | None:
        if name not in curves or (name.endswith("accuracy") and config.loss == "mse"):
            return None
        return np.asarray(curves[name], dtype=float)

    return History(
        config=config,
        epoch=np.arange(completed + 1),
        epoch_loss=np.asarray(epoch_losses, dtype=float),
        train_loss=curve("train_loss"),
        train_accuracy=curve("train_accuracy"),
        val_loss=curve("val_loss"),
        val_accuracy=curve("val_accuracy"),
        test_loss=curve("test_loss"),
        test_accuracy=curve("test_accuracy"),
        step_loss=np.asarray(step_losses, dtype=float) if config.record_steps else None,
        steps=steps,
        wall_time=time.perf_counter() - start,
        device=device,
        diverged=diverged_at is not None,
        diverged_at_step=diverged_at,
        measurements={k: np.asarray(m, dtype=float) for k, m in measurements.items()},
    )

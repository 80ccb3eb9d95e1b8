"""Transfer learning: five ways to reuse (or not) a pretrained network on a small new task.

The target task is scikit-learn's 8x8 digits, upscaled to the 28x28 frame of
MNIST (:func:`upscale_images`), with the labels "curvy" (0, 3, 6, 8, 9) against
"angular" (:func:`digits_task`). :func:`compare` trains and scores, on the same
label subsets (:func:`label_subset`), the methods of :data:`METHODS`:

- ``"scratch"``: a fresh network of the same architecture, all weights trained;
- ``"probe"``: the pretrained features frozen, a new linear head trained (a
  linear probe);
- ``"finetune"``: the pretrained network with a new head, every weight trained;
- ``"sklearn_probe"``: scikit-learn's ``LogisticRegression`` on the frozen features;
- ``"boosting"``: scikit-learn's ``HistGradientBoostingClassifier`` on the raw 8x8 pixels.

Networks are :class:`nnbook.resnet.FeatureClassifier` s (``head(features(x))``)
and train through :func:`nnbook.training.train` with Adam at a fixed number of
steps. A frozen feature extractor is deterministic (its batch-norm layers stay
in eval mode), so the probe trains its head on features computed once: the
same head, step for step, as training the whole frozen network (tested).

Examples
--------
>>> task = digits_task(n_val=200, n_test=597, seed=0)
>>> task.X_train.shape, task.pixels_train.shape, task.X_val.shape, task.X_test.shape
((1000, 784), (1000, 64), (200, 784), (597, 784))
>>> sorted(set(task.y_train.tolist()))
[0, 1]
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nnbook import training
from nnbook._validation import (
    check_array,
    check_callable,
    check_choice,
    check_int,
    check_real,
    check_rng,
    check_seed,
    check_work,
)
from nnbook.data import CURVY_DIGITS
from nnbook.resnet import FeatureClassifier, extract_features, new_head, relative_change

METHODS = ("scratch", "probe", "finetune", "sklearn_probe", "boosting")
TRAINED = ("scratch", "probe", "finetune")  # the methods trained with a learning rate
MAX_SIDE = 64  # largest upscaled image side
MAX_TRAINING_STEPS = 100_000  # optimiser steps of one call to compare(), all runs together


@dataclass(frozen=True)
class DigitsTask:
    """The transfer target: scikit-learn's digits, curvy (1) against angular (0), in two resolutions.

    Three disjoint parts: a pool of training images from which the labelled
    subsets are drawn, a validation set (to choose learning rates) and a test set.
    """

    X_train: np.ndarray  # (n_pool, 784) float32 in [0, 1]: the digits upscaled to 28x28, for the networks
    pixels_train: np.ndarray  # (n_pool, 64) float64 in [0, 1]: the original 8x8 pixels, for boosting
    y_train: np.ndarray  # (n_pool,) int64, 1 = curvy digit
    digit_train: np.ndarray  # (n_pool,) int64, the digit 0-9
    X_val: np.ndarray  # (n_val, 784)
    pixels_val: np.ndarray  # (n_val, 64)
    y_val: np.ndarray  # (n_val,)
    X_test: np.ndarray  # (n_test, 784)
    pixels_test: np.ndarray  # (n_test, 64)
    y_test: np.ndarray  # (n_test,)
    digit_test: np.ndarray  # (n_test,)


def upscale_images(images: np.ndarray, size: int = 20, margin: int = 4) -> np.ndarray:
    """Bilinear upscaling of square grey images to ``size x size``, framed by ``margin`` zero pixels.

    The defaults give MNIST's layout: a 20x20 digit in a 28x28 frame.

    Parameters
    ----------
    images : ndarray, shape (n, h, w)
        Values in ``[0, 1]``.
    size : int
        Side of the upscaled image (1 to 64).
    margin : int
        Zero pixels added on every side (``0 <= 2 * margin + size <= 64``).

    Returns
    -------
    ndarray, shape (n, (size + 2 * margin) ** 2), float32 in [0, 1]
        Flattened row by row.

    Examples
    --------
    >>> upscale_images(np.ones((1, 2, 2)), size=2, margin=1).reshape(4, 4)
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    images = check_array(images, "images", ndim=3, dtype="float32")
    if images.min(initial=0.0) < 0 or images.max(initial=0.0) > 1:
        raise ValueError(f"images must hold values in [0, 1], got [{images.min():g}, {images.max():g}]")
    size = check_int(size, "size", min_value=1, max_value=MAX_SIDE)
    margin = check_int(margin, "margin", min_value=0, max_value=(MAX_SIDE - size) // 2)
    x = torch.from_numpy(images)[:, None]
    up = nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
    framed = nn.functional.pad(up, (margin, margin, margin, margin))
    return framed.reshape(len(images), -1).numpy()


def digits_task(n_val: int = 200, n_test: int = 597, *, seed: int = 0) -> DigitsTask:
    """scikit-learn's 1797 digits as a two-class transfer target, split at random into pool, validation and test.

    The pixels (0-16) are divided by 16; :func:`upscale_images` puts each digit
    in a 20x20 box inside a 28x28 frame, as in MNIST. Labels: 1 for the curvy
    digits ``nnbook.data.CURVY_DIGITS`` (0, 3, 6, 8, 9), 0 for the others.

    Parameters
    ----------
    n_val, n_test : int
        Validation and test images (each at least 50, together at most 1697);
        the other images form the training pool.
    seed : int
        Seed of the random split.

    Returns
    -------
    DigitsTask
    """
    from sklearn.datasets import load_digits

    n_val = check_int(n_val, "n_val", min_value=50, max_value=1647)
    n_test = check_int(n_test, "n_test", min_value=50, max_value=1697 - n_val)
    order = np.random.default_rng(check_seed(seed)).permutation(1797)
    digits = load_digits()
    images = digits.images[order] / 16.0
    X, pixels = upscale_images(images), images.reshape(len(images), -1)
    digit = digits.target[order].astype(np.int64)
    y = np.isin(digit, CURVY_DIGITS).astype(np.int64)
    te, va, tr = slice(None, n_test), slice(n_test, n_test + n_val), slice(n_test + n_val, None)
    return DigitsTask(
        X[tr], pixels[tr], y[tr], digit[tr], X[va], pixels[va], y[va], X[te], pixels[te], y[te], digit[te]
    )


def label_subset(y: np.ndarray, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Indices of ``n`` labelled examples drawn without replacement, classes as balanced as ``y`` allows.

    Each class gets ``n // k`` examples (``k`` classes), the first ``n % k``
    classes one more, all of a class when it has too few (the others then make
    up the difference).

    Parameters
    ----------
    y : ndarray of int, shape (m,)
    n : int
        Subset size, ``k <= n <= m``.
    rng : Generator, int or None

    Returns
    -------
    ndarray of int64, shape (n,), in random order

    Examples
    --------
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    >>> idx = label_subset(y, 4, rng=0)
    >>> np.bincount(y[idx]).tolist(), len(set(idx.tolist()))
    ([2, 2], 4)
    """
    y = check_array(y, "y", ndim=1, dtype="integer")
    classes, counts = np.unique(y, return_counts=True)
    n = check_int(n, "n", min_value=len(classes), max_value=len(y))
    rng = check_rng(rng)
    take = np.zeros(len(classes), dtype=np.int64)
    while take.sum() < n:  # water-filling: one more example for each class that still has some
        room = np.flatnonzero(take < counts)
        take[room[: n - take.sum()]] += 1
    chosen = [rng.choice(np.flatnonzero(y == c), t, replace=False) for c, t in zip(classes, take, strict=True)]
    return rng.permutation(np.concatenate(chosen)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Runs:
    """One entry per trained and scored model: its method, learning rate, seed and label budget, and its scores."""

    method: np.ndarray  # (k,) str, one of METHODS
    lr: np.ndarray  # (k,) float, 0 for the scikit-learn methods (they have no learning rate)
    seed: np.ndarray  # (k,) int64: the label subset, the initialisation of new weights and the batch order
    n_train: np.ndarray  # (k,) int64 labelled training examples
    train_accuracy: np.ndarray  # (k,) on the labelled subset, after training
    val_accuracy: np.ndarray  # (k,) on the validation set
    test_accuracy: np.ndarray  # (k,) on the held-out test set
    feature_change: np.ndarray  # (k,) ||change of the network's features|| / ||their start||; 0 if frozen or none
    diverged: np.ndarray  # (k,) bool: the training loss became non-finite and training stopped
    predictions: np.ndarray  # (k, n_test) int64 predicted test labels

    def select(self, method: str, lr: float | None = None, n_train: int | None = None) -> np.ndarray:
        """Boolean mask of the runs of ``method`` (and ``lr``, ``n_train`` when given)."""
        mask = self.method == check_choice(method, "method", METHODS)
        if lr is not None:
            mask &= np.isclose(self.lr, check_real(lr, "lr", min_value=0, min_inclusive=False), rtol=1e-9, atol=0)
        if n_train is not None:
            mask &= self.n_train == check_int(n_train, "n_train", min_value=1)
        if not mask.any():
            raise ValueError(f"no runs of method {method!r} with lr={lr} and n_train={n_train}")
        return mask

    def accuracy(self, method: str, lr: float | None = None) -> np.ndarray:
        """Test accuracies of one method (and learning rate): shape (n_budgets, n_seeds), both ascending."""
        mask = self.select(method, lr)
        budgets, seeds = np.unique(self.n_train[mask]), np.unique(self.seed[mask])
        table = np.full((len(budgets), len(seeds)), np.nan)
        rows, cols = np.searchsorted(budgets, self.n_train[mask]), np.searchsorted(seeds, self.seed[mask])
        table[rows, cols] = self.test_accuracy[mask]
        if np.isnan(table).any() or mask.sum() != table.size:
            raise ValueError(f"the runs of {method!r} (lr={lr}) do not form one run per budget and seed")
        return table


def combine(runs: Sequence[Runs]) -> Runs:
    """The runs of several :func:`compare` calls on the same task, as one :class:`Runs`."""
    if (
        isinstance(runs, Runs)
        or not isinstance(runs, Sequence)
        or not runs
        or not all(isinstance(r, Runs) for r in runs)
    ):
        raise TypeError(f"runs must be a non-empty sequence of Runs, got {type(runs).__name__}")
    if len({r.predictions.shape[1] for r in runs}) != 1:
        raise ValueError("runs must come from the same test set")
    return Runs(**{name: np.concatenate([getattr(r, name) for r in runs]) for name in Runs.__dataclass_fields__})


def _lrs_by_method(lrs: Sequence[float] | Mapping[str, Sequence[float]], methods: Sequence[str]) -> dict:
    trained = [m for m in methods if m in TRAINED]
    if isinstance(lrs, Mapping) and any(m not in lrs for m in trained):
        raise ValueError(f"lrs must give learning rates for each of {trained}, got {sorted(lrs)}")
    out = {}
    for m in trained:
        values = lrs[m] if isinstance(lrs, Mapping) else lrs
        values = (values,) if isinstance(values, int | float) else values
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise TypeError(
                f"lrs must be a non-empty sequence of learning rates (or a mapping to them), got {values!r}"
            )
        out[m] = tuple(check_real(lr, "lrs", min_value=0, min_inclusive=False) for lr in values)
    return out


def _config(lr: float, n: int, steps: int, batch_size: int, schedule: str, seed: int) -> training.TrainConfig:
    epochs = math.ceil(steps / math.ceil(n / min(batch_size, n)))  # enough epochs for exactly `steps` steps
    settings = {"optimiser": "adam", "max_steps": steps, "lr_schedule": schedule, "on_divergence": "stop"}
    return training.TrainConfig(lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, **settings)


def compare(
    pretrained: FeatureClassifier,
    task: DigitsTask,
    *,
    scratch: Callable[[int], FeatureClassifier],
    n_train: int | Sequence[int],
    seeds: Sequence[int],
    lrs: Sequence[float] | Mapping[str, Sequence[float]],
    steps: int = 60,
    batch_size: int = 32,
    lr_schedule: str = "cosine",
    methods: Sequence[str] = METHODS,
) -> Runs:
    """Train and score every method on the same label subsets: one run per budget, seed, method and learning rate.

    For each budget ``n`` and seed ``s``, the labelled subset is
    ``label_subset(task.y_train, n, rng=s)``, and every method sees the same
    one (paired runs). Networks train with Adam, batch size ``batch_size``,
    for exactly ``steps`` optimiser steps; new weights (the scratch network,
    the new heads) are initialised with seed ``s``, which also orders the batches.

    Parameters
    ----------
    pretrained : nnbook.resnet.FeatureClassifier
        The pretrained network; not modified.
    task : DigitsTask
    scratch : callable
        ``scratch(seed)`` returns a freshly initialised network for the task
        (the same architecture as ``pretrained``, with ``task``'s number of classes).
    n_train : int or sequence of int
        Label budgets (each at least the number of classes, at most ``len(task.y_train)``).
    seeds : sequence of int
    lrs : sequence of float, or mapping method -> sequence of float
        Learning rates of the trained methods (all of them, or each its own).
    steps : int
        Optimiser steps per run (1 to 10,000).
    batch_size : int
    lr_schedule : {"cosine", "constant"}
        The learning rate of each run: decays from ``lr`` to 0 along a half
        cosine over the ``steps``, or stays at ``lr``.
    methods : sequence of str
        A subset of :data:`METHODS`.

    Returns
    -------
    Runs
        In the order budget, seed, method, learning rate.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if not isinstance(pretrained, FeatureClassifier):
        raise TypeError(f"pretrained must be a nnbook.resnet.FeatureClassifier, got {type(pretrained).__name__}")
    if not isinstance(task, DigitsTask):
        raise TypeError(f"task must be a DigitsTask, got {type(task).__name__}")
    scratch = check_callable(scratch, "scratch")
    methods = _sequence(methods, "methods", lambda m: check_choice(m, "methods", METHODS))
    budgets = _sequence(
        [n_train] if isinstance(n_train, numbers.Integral) else n_train,
        "n_train",
        lambda n: check_int(n, "n_train", min_value=2, max_value=len(task.y_train)),
    )
    seeds = _sequence(seeds, "seeds", lambda seed: check_seed(seed, "seeds"))
    lr_table = _lrs_by_method(lrs, methods)
    steps = check_int(steps, "steps", min_value=1, max_value=10_000)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    lr_schedule = check_choice(lr_schedule, "lr_schedule", training.SCHEDULES)
    total = len(budgets) * len(seeds) * steps * sum(len(v) for v in lr_table.values())
    check_work(total, "steps", MAX_TRAINING_STEPS, "optimiser steps in all")
    k = int(task.y_train.max()) + 1
    n_val = len(task.y_val)
    X_held = torch.from_numpy(np.concatenate([task.X_val, task.X_test]))  # validation, then test
    pixels_held = np.concatenate([task.pixels_val, task.pixels_test])
    uses_features = {"probe", "sklearn_probe"} & set(methods)
    F_held = extract_features(pretrained, X_held) if uses_features else None
    rows: list[tuple] = []
    for n in budgets:
        for seed in seeds:
            idx = label_subset(task.y_train, n, rng=seed)
            X, y = torch.from_numpy(task.X_train[idx]), torch.from_numpy(task.y_train[idx])
            F_train = extract_features(pretrained, X) if uses_features else None
            for method in methods:
                if method in ("sklearn_probe", "boosting"):
                    if method == "sklearn_probe":
                        clf, inputs, held, change = LogisticRegression(max_iter=1000), F_train, F_held, 0.0
                    else:
                        clf = HistGradientBoostingClassifier(random_state=seed)
                        inputs, held, change = task.pixels_train[idx], pixels_held, 0.0
                    clf.fit(inputs, y.numpy())
                    rows.append((method, 0.0, seed, n, clf.score(inputs, y.numpy()), clf.predict(held), change, False))
                for lr in lr_table.get(method, ()):
                    config = _config(lr, n, steps, batch_size, lr_schedule, seed)
                    if method == "probe":  # the frozen features are fixed: train the head on them
                        head = new_head(pretrained, k, freeze_features=True, seed=seed).head
                        history = training.train(head, config, (torch.from_numpy(F_train), y))
                        scores, change = training.predict(head, F_held), 0.0
                    else:
                        fresh = method == "scratch"
                        model = scratch(seed) if fresh else new_head(pretrained, k, freeze_features=False, seed=seed)
                        start = copy.deepcopy(model.features)
                        history = training.train(model, config, (X, y))
                        scores, change = training.predict(model, X_held), relative_change(start, model.features)
                    accuracy = history.train_accuracy[-1]
                    rows.append((method, lr, seed, n, accuracy, scores.argmax(axis=1), change, history.diverged))
    columns = list(zip(*rows, strict=True))
    held = np.stack(columns[5]).astype(np.int64)
    return Runs(
        method=np.array(columns[0]),
        lr=np.array(columns[1], dtype=float),
        seed=np.array(columns[2], dtype=np.int64),
        n_train=np.array(columns[3], dtype=np.int64),
        train_accuracy=np.array(columns[4], dtype=float),
        val_accuracy=(held[:, :n_val] == task.y_val).mean(axis=1),
        test_accuracy=(held[:, n_val:] == task.y_test).mean(axis=1),
        feature_change=np.array(columns[6], dtype=float),
        diverged=np.array(columns[7], dtype=bool),
        predictions=held[:, n_val:],
    )


def _sequence(values: object, name: str, check: Callable) -> list:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray) or len(values) == 0:
        raise TypeError(f"{name} must be a non-empty sequence, got {values!r}")
    out = [check(v) for v in values]
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat entries, got {list(values)}")
    return out


@dataclass(frozen=True)
class Score:
    """Test accuracy of one method and learning rate at one label budget, over seeds."""

    method: str
    lr: float  # 0 for the scikit-learn methods
    n_train: int
    mean: float  # mean test accuracy over the seeds
    std: float  # their standard deviation (ddof=1; 0 for one seed)
    low: float  # the lowest of them
    high: float  # the highest
    n_seeds: int

    @property
    def label(self) -> str:
        """``"finetune, lr=0.001"`` or just the method for the scikit-learn ones."""
        return self.method if self.lr == 0 else f"{self.method}, lr={self.lr:g}"

    def row(self) -> dict[str, object]:
        """A table row: method, learning rate and the accuracy statistics."""
        lr = "default" if self.lr == 0 else f"{self.lr:g}"
        return {"method": self.method, "lr": lr, "mean": self.mean, "std": self.std, "min": self.low, "max": self.high}


def ranking(runs: Runs, n_train: int) -> list[Score]:
    """Every (method, learning rate) at budget ``n_train``, from the highest mean test accuracy to the lowest.

    Ties keep the order of :data:`METHODS` and of decreasing learning rates.
    """
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be a Runs, got {type(runs).__name__}")
    n_train = check_int(n_train, "n_train", min_value=1)
    scores = []
    for method in METHODS:
        if not (runs.method == method).any():
            continue
        lrs = [None] if method not in TRAINED else sorted(set(runs.lr[runs.method == method]), reverse=True)
        for lr in lrs:
            acc = runs.test_accuracy[runs.select(method, lr, n_train)]
            std = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
            lr_value = 0.0 if lr is None else float(lr)
            stats = float(acc.mean()), std, float(acc.min()), float(acc.max())
            scores.append(Score(method, lr_value, n_train, *stats, len(acc)))
    order = sorted(range(len(scores)), key=lambda i: -scores[i].mean)  # stable: ties keep their order
    return [scores[i] for i in order]


def best_lrs(runs: Runs, n_train: int) -> dict[str, float]:
    """For each trained method in ``runs``, the learning rate with the highest mean validation accuracy at ``n_train``.

    Ties go to the larger learning rate.
    """
    if not isinstance(runs, Runs):
        raise TypeError(f"runs must be a Runs, got {type(runs).__name__}")
    n_train = check_int(n_train, "n_train", min_value=1)
    best = {}
    for method in (m for m in TRAINED if (runs.method == m).any()):
        lrs = sorted(set(runs.lr[runs.method == method]), reverse=True)
        val = [runs.val_accuracy[runs.select(method, lr, n_train)].mean() for lr in lrs]
        best[method] = float(lrs[int(np.argmax(val))])
    return best


def best_and_worst(scores: Sequence[Score], per_method: int = 2) -> tuple[list[Score], Score]:
    """The ``per_method`` best entries of each method (in the order of :data:`METHODS`) and the worst of all.

    Parameters
    ----------
    scores : sequence of Score
        As returned by :func:`ranking` (sorted by decreasing mean).
    per_method : int
        At least 1.

    Examples
    --------
    >>> s = [Score("probe", lr, 20, m, 0.0, m, m, 1) for lr, m in ((0.1, 0.9), (0.01, 0.8), (0.001, 0.5))]
    >>> best, worst = best_and_worst(s, per_method=2)
    >>> [b.label for b in best], worst.label
    (['probe, lr=0.1', 'probe, lr=0.01'], 'probe, lr=0.001')
    """
    per_method = check_int(per_method, "per_method", min_value=1)
    if isinstance(scores, str) or not isinstance(scores, Sequence) or not scores:
        raise TypeError("scores must be a non-empty sequence of Score")
    if not all(isinstance(s, Score) for s in scores):
        raise TypeError("scores must hold Score entries")
    ordered = sorted(scores, key=lambda s: -s.mean)
    best = [s for m in METHODS for s in [t for t in ordered if t.method == m][:per_method]]
    return best, ordered[-1]


def standard_error(accuracy: float, n: int) -> float:
    """Binomial standard error ``sqrt(p (1 - p) / n)`` of an accuracy ``p`` measured on ``n`` independent examples.

    Examples
    --------
    >>> standard_error(0.5, 100)
    0.05
    """
    p = check_real(accuracy, "accuracy", min_value=0, max_value=1)
    n = check_int(n, "n", min_value=1)
    return math.sqrt(p * (1 - p) / n)

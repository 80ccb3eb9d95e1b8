"""The runs of a transfer comparison and their summaries: accuracies by method, learning rate and label budget.

:func:`nnbook.transfer.compare` returns one :class:`Runs` entry per trained
and scored model (method, learning rate, seed, label budget, accuracies,
predictions); :func:`combine` joins the runs of several calls. The summaries
read them: :func:`ranking` orders every method and learning rate by mean test
accuracy over the seeds (:class:`Score`), :func:`best_lrs` picks each method's
learning rate on the validation set, :func:`best_and_worst` selects the rows
of a table, and :func:`standard_error` is the binomial error of one accuracy.
The transfer chapter reads them in "Three hundred labels" and "How many
labels is pretraining worth?".

Examples
--------
>>> s = [Score("probe", 0.1, 20, 0.9, 0.0, 0.9, 0.9, 1), Score("boosting", 0.0, 20, 0.8, 0.0, 0.8, 0.8, 1)]
>>> [x.label for x in s], round(standard_error(0.9, 100), 3)
(['probe, lr=0.1', 'boosting'], 0.03)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbook._validation import check_choice, check_int, check_real

METHODS = ("scratch", "probe", "finetune", "sklearn_probe", "boosting")
TRAINED = ("scratch", "probe", "finetune")  # the methods trained with a learning rate


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
    """The runs of several :func:`nnbook.transfer.compare` calls on the same task, as one :class:`Runs`."""
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

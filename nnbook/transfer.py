"""Transfer learning: five ways to reuse (or not) a pretrained network on a small new task.

The target task is scikit-learn's 8x8 digits in MNIST's 28x28 frame, curvy
against angular digits (:mod:`nnbook.transfer_task`). :func:`compare` trains
and scores, on the same label subsets, the methods of
``nnbook.transfer_scores.METHODS``:

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
same head, step for step, as training the whole frozen network (tested). The
runs come back as :class:`nnbook.transfer_scores.Runs`, which
:mod:`nnbook.transfer_scores` summarises.

Examples
--------
>>> from nnbook.resnet import small_resnet
>>> from nnbook.transfer_task import digits_task
>>> net, task = small_resnet(10, (4,), seed=0), digits_task()
>>> fresh = lambda seed: small_resnet(2, (4,), seed=seed)
>>> runs = compare(net, task, scratch=fresh, n_train=20, seeds=[0, 1], lrs=[0.1], methods=["boosting"])
>>> runs.method.tolist(), runs.n_train.tolist(), runs.predictions.shape
(['boosting', 'boosting'], [20, 20], (2, 597))
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from nnbook import training
from nnbook._validation import check_callable, check_choice, check_int, check_real, check_seed, check_work
from nnbook.resnet import FeatureClassifier, extract_features, new_head, relative_change

# The task and the summaries of the runs moved to their own modules: compare uses the names it needs, and every
# name is re-exported here, since code outside the project imports them from this module.
from nnbook.transfer_scores import (  # noqa: F401
    METHODS,
    TRAINED,
    Runs,
    Score,
    best_and_worst,
    best_lrs,
    combine,
    ranking,
    standard_error,
)
from nnbook.transfer_task import MAX_SIDE, DigitsTask, digits_task, label_subset, upscale_images  # noqa: F401

MAX_TRAINING_STEPS = 100_000  # optimiser steps of one call to compare(), all runs together


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
    task : nnbook.transfer_task.DigitsTask
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
    nnbook.transfer_scores.Runs
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

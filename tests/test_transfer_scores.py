"""Tests of nnbook.transfer_scores: runs, their combination, rankings, learning-rate choice, standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnbook import transfer, transfer_scores


def synthetic_runs() -> transfer_scores.Runs:
    """Hand-made runs: two seeds, one budget, test accuracies chosen so the ranking is known."""
    rows = [  # method, lr, seed, val, test
        ("scratch", 0.1, 0, 0.60, 0.55),
        ("scratch", 0.1, 1, 0.64, 0.65),
        ("scratch", 0.01, 0, 0.80, 0.70),
        ("scratch", 0.01, 1, 0.70, 0.80),
        ("probe", 0.1, 0, 0.90, 0.90),
        ("probe", 0.1, 1, 0.88, 0.86),
        ("probe", 0.01, 0, 0.85, 0.85),
        ("probe", 0.01, 1, 0.91, 0.95),
        ("boosting", 0.0, 0, 0.50, 0.50),
        ("boosting", 0.0, 1, 0.40, 0.40),
    ]
    k = len(rows)
    return transfer_scores.Runs(
        method=np.array([r[0] for r in rows]),
        lr=np.array([r[1] for r in rows]),
        seed=np.array([r[2] for r in rows]),
        n_train=np.full(k, 20),
        train_accuracy=np.ones(k),
        val_accuracy=np.array([r[3] for r in rows]),
        test_accuracy=np.array([r[4] for r in rows]),
        feature_change=np.zeros(k),
        diverged=np.zeros(k, dtype=bool),
        predictions=np.zeros((k, 3), dtype=np.int64),
    )


VALID_CALLS = {
    "combine": lambda: {"runs": [synthetic_runs(), synthetic_runs()]},
    "ranking": lambda: {"runs": synthetic_runs(), "n_train": 20},
    "best_lrs": lambda: {"runs": synthetic_runs(), "n_train": 20},
    "best_and_worst": lambda: {"scores": transfer_scores.ranking(synthetic_runs(), 20), "per_method": 1},
    "standard_error": lambda: {"accuracy": 0.9, "n": 100},
}


def test_ranking_best_and_worst_and_best_lrs():
    runs = synthetic_runs()
    ranked = transfer_scores.ranking(runs, 20)
    assert [s.label for s in ranked] == [
        "probe, lr=0.01",
        "probe, lr=0.1",
        "scratch, lr=0.01",
        "scratch, lr=0.1",
        "boosting",
    ]
    top = ranked[0]
    assert (top.mean, top.low, top.high, top.n_seeds) == (pytest.approx(0.9), 0.85, 0.95, 2)
    assert top.std == pytest.approx(np.std([0.85, 0.95], ddof=1))
    best, worst = transfer_scores.best_and_worst(ranked, per_method=1)
    assert [b.label for b in best] == ["scratch, lr=0.01", "probe, lr=0.01", "boosting"] and worst.label == "boosting"
    assert transfer_scores.best_lrs(runs, 20) == {"scratch": 0.01, "probe": 0.1}  # by validation, not test
    assert ranked[-1].row() == {
        "method": "boosting",
        "lr": "default",
        "mean": 0.45,
        "std": ranked[-1].std,
        "min": 0.4,
        "max": 0.5,
    }


def test_combine_and_accuracy():
    runs = synthetic_runs()
    np.testing.assert_allclose(runs.accuracy("probe", 0.01), [[0.85, 0.95]])
    np.testing.assert_allclose(runs.accuracy("boosting"), [[0.5, 0.4]])
    both = transfer_scores.combine([runs, runs])
    assert both.method.shape == (20,) and both.predictions.shape == (20, 3)
    with pytest.raises(ValueError, match="one run per budget and seed"):
        both.accuracy("probe", 0.01)
    with pytest.raises(ValueError, match="no runs"):
        runs.select("finetune")


def test_standard_error():
    assert transfer_scores.standard_error(0.75, 300) == pytest.approx(math.sqrt(0.75 * 0.25 / 300))
    assert transfer_scores.standard_error(1.0, 10) == 0.0
    with pytest.raises(ValueError, match="accuracy"):
        transfer_scores.standard_error(1.5, 10)


def test_former_import_paths_give_the_same_objects():
    """The names moved out of nnbook.transfer are still importable from it, as the same objects."""
    from nnbook.transfer import (
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

    assert Runs is transfer_scores.Runs and Score is transfer_scores.Score
    assert combine is transfer_scores.combine and ranking is transfer_scores.ranking
    assert best_lrs is transfer_scores.best_lrs and best_and_worst is transfer_scores.best_and_worst
    assert standard_error is transfer_scores.standard_error and transfer.ranking is transfer_scores.ranking
    assert METHODS is transfer_scores.METHODS and TRAINED is transfer_scores.TRAINED

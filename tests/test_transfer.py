"""Tests of nnbook.transfer: the target data, the frozen feature extractor, the comparison and its summaries."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import resnet, training, transfer
from nnbook.data import CURVY_DIGITS


@functools.cache
def task() -> transfer.DigitsTask:
    return transfer.digits_task(n_val=200, n_test=597, seed=0)


@functools.cache
def tiny_pretrained() -> resnet.FeatureClassifier:
    """A network with batch norm, briefly trained so its weights and statistics are not the initial ones."""
    net = resnet.small_resnet(10, (4,), seed=0)
    X = task().X_train[:64]
    training.train(net, training.TrainConfig(lr=0.01, epochs=1, batch_size=16, seed=0), (X, task().digit_train[:64]))
    return net


def tiny_scratch(seed: int) -> resnet.FeatureClassifier:
    return resnet.small_resnet(2, (4,), seed=seed)


def tiny_compare(**changes) -> transfer.Runs:
    kwargs = {
        "pretrained": tiny_pretrained(),
        "task": task(),
        "scratch": tiny_scratch,
        "n_train": 10,
        "seeds": [0],
        "lrs": [0.1],
        "steps": 2,
    }
    return transfer.compare(**(kwargs | changes))


def synthetic_runs() -> transfer.Runs:
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
    return transfer.Runs(
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
    "upscale_images": lambda: {"images": np.full((2, 3, 3), 0.5), "size": 6, "margin": 1},
    "digits_task": lambda: {"n_val": 100, "n_test": 100, "seed": 1},
    "label_subset": lambda: {"y": np.array([0, 0, 1, 1, 1]), "n": 3, "rng": 0},
    "compare": lambda: {
        "pretrained": tiny_pretrained(),
        "task": task(),
        "scratch": tiny_scratch,
        "n_train": 4,
        "seeds": [0],
        "lrs": [0.1],
        "steps": 1,
        "methods": ["probe", "boosting"],
    },
    "combine": lambda: {"runs": [synthetic_runs(), synthetic_runs()]},
    "ranking": lambda: {"runs": synthetic_runs(), "n_train": 20},
    "best_lrs": lambda: {"runs": synthetic_runs(), "n_train": 20},
    "best_and_worst": lambda: {"scores": transfer.ranking(synthetic_runs(), 20), "per_method": 1},
    "standard_error": lambda: {"accuracy": 0.9, "n": 100},
}


# --- the data ---------------------------------------------------------------------------------------------------


def test_upscale_keeps_constants_and_frames_them():
    out = transfer.upscale_images(np.full((2, 8, 8), 0.25), size=20, margin=4).reshape(2, 28, 28)
    np.testing.assert_allclose(out[:, 4:24, 4:24], 0.25, rtol=0, atol=1e-7)
    out[:, 4:24, 4:24] = 0
    assert not out.any()


def test_upscale_to_the_same_size_is_the_identity_and_stays_in_range():
    images = np.random.default_rng(0).uniform(0, 1, (3, 8, 8))
    np.testing.assert_allclose(transfer.upscale_images(images, size=8, margin=0), images.reshape(3, 64), atol=1e-7)
    up = transfer.upscale_images(images)
    assert up.shape == (3, 784) and up.dtype == np.float32 and up.min() >= 0 and up.max() <= 1


def test_upscale_is_bilinear_interpolation():
    """Doubling a ramp: with half-pixel centres, the new pixels sit at +-1/4 of an old pixel."""
    ramp = np.tile(np.arange(4.0) / 3.0, (4, 1))[None]
    row = transfer.upscale_images(ramp, size=8, margin=0).reshape(8, 8)[0]
    centres = np.clip((np.arange(8) + 0.5) / 2 - 0.5, 0, 3)  # source coordinates of the new pixel centres
    np.testing.assert_allclose(row, centres / 3.0, atol=1e-6)


def test_task_parts_shapes_labels_and_upscaling():
    t = task()
    assert (t.X_train.shape, t.X_val.shape, t.X_test.shape) == ((1000, 784), (200, 784), (597, 784))
    assert (t.pixels_train.shape, t.pixels_val.shape, t.pixels_test.shape) == ((1000, 64), (200, 64), (597, 64))
    assert t.X_train.dtype == np.float32 and t.y_train.dtype == np.int64
    np.testing.assert_array_equal(t.y_train, np.isin(t.digit_train, CURVY_DIGITS))
    np.testing.assert_array_equal(t.y_test, np.isin(t.digit_test, CURVY_DIGITS))
    np.testing.assert_array_equal(t.X_test, transfer.upscale_images(t.pixels_test.reshape(-1, 8, 8)))
    assert 0.4 < t.y_train.mean() < 0.6


def test_task_parts_are_disjoint_and_cover_the_digits():
    from sklearn.datasets import load_digits

    t = task()
    everything = load_digits().data / 16.0
    rows = {row.tobytes(): i for i, row in enumerate(everything)}
    found = [rows[r.tobytes()] for part in (t.pixels_train, t.pixels_val, t.pixels_test) for r in part]
    # duplicate images in the data would map to one index; the split itself is a permutation
    assert len(found) == 1797 and len(set(found)) == len(rows)


def test_task_same_seed_same_split():
    a, b = transfer.digits_task(seed=3), transfer.digits_task(seed=3)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.digit_test, transfer.digits_task(seed=4).digit_test)


def test_label_subset_balances_and_is_seeded():
    y = task().y_train
    idx = transfer.label_subset(y, 21, rng=5)
    assert len(set(idx.tolist())) == 21 and sorted(np.bincount(y[idx]).tolist()) == [10, 11]
    np.testing.assert_array_equal(idx, transfer.label_subset(y, 21, rng=5))
    assert not np.array_equal(idx, transfer.label_subset(y, 21, rng=6))
    assert sorted(transfer.label_subset(y, len(y), rng=0).tolist()) == list(range(len(y)))


def test_label_subset_fills_from_the_larger_class():
    y = np.array([0, 0] + [1] * 10)
    idx = transfer.label_subset(y, 8, rng=0)
    assert np.bincount(y[idx]).tolist() == [2, 6]


# --- heads, frozen features and the probe -----------------------------------------------------------------------


def state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_new_head_copies_and_does_not_share():
    net = tiny_pretrained()
    before = state(net)
    model = resnet.new_head(net, 2, freeze_features=False, seed=0)
    with torch.no_grad():
        next(model.features.parameters()).add_(1.0)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    same = resnet.new_head(net, 2, freeze_features=True, seed=0)
    assert torch.equal(same.head.weight, model.head.weight)
    assert not torch.equal(resnet.new_head(net, 2, freeze_features=True, seed=1).head.weight, model.head.weight)
    assert all(p.requires_grad for p in model.parameters())
    assert not any(p.requires_grad for p in same.features.parameters()) and same.head.weight.requires_grad


def test_probe_updates_no_frozen_weight_and_no_batch_norm_statistic():
    probe = resnet.new_head(tiny_pretrained(), 2, freeze_features=True, seed=0)
    features_before, head_before = state(probe.features), state(probe.head)
    assert any("running_mean" in k for k in features_before)
    X, y = task().X_train[:40], task().y_train[:40]
    training.train(probe, training.TrainConfig(lr=0.1, epochs=2, batch_size=8, optimiser="adam", seed=0), (X, y))
    for key, value in probe.features.state_dict().items():
        assert torch.equal(value, features_before[key]), key  # weights, running means/variances, batch counts
    assert not torch.equal(probe.head.weight, head_before["weight"])


def test_fine_tuning_updates_weights_and_statistics():
    model = resnet.new_head(tiny_pretrained(), 2, freeze_features=False, seed=0)
    before = state(model.features)
    X, y = task().X_train[:40], task().y_train[:40]
    training.train(model, training.TrainConfig(lr=0.01, epochs=1, batch_size=8, seed=0), (X, y))
    after = model.features.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.endswith("weight") for k in changed) and any(k.endswith("running_mean") for k in changed)


def test_head_on_extracted_features_is_the_frozen_network_probe():
    """The shortcut compare() takes: same head, step for step, as training the whole frozen network."""
    net = tiny_pretrained()
    X, y = task().X_train[:50], task().y_train[:50]
    config = training.TrainConfig(lr=0.05, epochs=3, batch_size=16, optimiser="adam", seed=2)
    probe = resnet.new_head(net, 2, freeze_features=True, seed=7)
    training.train(probe, config, (X, y))
    head = resnet.new_head(net, 2, freeze_features=True, seed=7).head
    training.train(head, config, (resnet.extract_features(net, X), y))
    np.testing.assert_allclose(head.weight.detach().numpy(), probe.head.weight.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head.bias.detach().numpy(), probe.head.bias.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_extract_features_is_the_eval_mode_feature_map():
    net = copy.deepcopy(tiny_pretrained()).train()
    X = task().X_test[:7]
    feats = resnet.extract_features(net, X)
    assert net.training  # left as it was
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(feats, net.features(torch.from_numpy(X)).numpy(), rtol=1e-6, atol=1e-7)
    assert feats.shape == (7, 4) and feats.dtype == np.float32


def test_relative_change_and_rms_weight_closed_forms():
    a = nn.Linear(4, 3)
    b = copy.deepcopy(a)
    with torch.no_grad():
        b.weight.add_(0.5)
    params = torch.cat([a.weight.ravel(), a.bias]).detach().double()
    expected = math.sqrt(12 * 0.25) / float(params.norm())
    assert resnet.relative_change(a, b) == pytest.approx(expected, rel=1e-6)
    assert resnet.relative_change(a, a) == 0.0
    assert resnet.rms_weight(a) == pytest.approx(float(params.norm()) / math.sqrt(15), rel=1e-6)


# --- the comparison ---------------------------------------------------------------------------------------------


def test_compare_shapes_order_and_invariants():
    net = tiny_pretrained()
    before = state(net)
    runs = tiny_compare(n_train=[4, 10], seeds=[0, 1], lrs=[0.1, 0.01])
    per_cell = 3 * 2 + 2  # three trained methods at two learning rates, two untrained methods
    assert runs.method.shape == (2 * 2 * per_cell,) and runs.predictions.shape == (2 * 2 * per_cell, 597)
    assert runs.method[:per_cell].tolist() == ["scratch"] * 2 + ["probe"] * 2 + ["finetune"] * 2 + [
        "sklearn_probe",
        "boosting",
    ]
    assert runs.n_train.tolist() == [4] * 2 * per_cell + [10] * 2 * per_cell
    np.testing.assert_array_equal(runs.test_accuracy, (runs.predictions == task().y_test).mean(axis=1))
    assert np.all(runs.feature_change[runs.method == "probe"] == 0)
    assert np.all(runs.feature_change[runs.method == "finetune"] > 0)
    assert np.all(runs.lr[runs.method == "boosting"] == 0) and np.all(
        runs.feature_change[runs.method == "boosting"] == 0
    )
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())  # the pretrained network is untouched
    assert runs.accuracy("probe", 0.1).shape == (2, 2)


def test_compare_same_seed_same_result():
    a, b = tiny_compare(), tiny_compare()
    np.testing.assert_array_equal(a.predictions, b.predictions)
    np.testing.assert_array_equal(a.feature_change, b.feature_change)


def test_compare_per_method_learning_rates():
    runs = tiny_compare(lrs={"scratch": [0.1], "probe": [0.01, 0.001], "finetune": 0.1}, methods=transfer.TRAINED)
    assert runs.method.tolist() == ["scratch", "probe", "probe", "finetune"]
    np.testing.assert_allclose(runs.lr, [0.1, 0.01, 0.001, 0.1])


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"n_train": 1}, ValueError, "n_train"),
        ({"n_train": 1001}, ValueError, "n_train"),
        ({"seeds": []}, TypeError, "seeds"),
        ({"seeds": [0, 0]}, ValueError, "seeds"),
        ({"lrs": [0.0]}, ValueError, "lrs"),
        ({"lrs": {"probe": [0.1]}}, ValueError, "lrs"),
        ({"methods": ["xgboost"]}, ValueError, "methods"),
        ({"steps": 20_000}, ValueError, "steps"),
        ({"n_train": [1000] * 1, "seeds": list(range(100)), "steps": 10_000}, ValueError, "steps"),
        ({"pretrained": nn.Linear(2, 2)}, TypeError, "pretrained"),
        ({"task": "digits"}, TypeError, "task"),
        ({"scratch": 3}, TypeError, "scratch"),
    ],
)
def test_compare_bad_inputs(changes, error, match):
    with pytest.raises(error, match=match):
        tiny_compare(**changes)


# --- summaries --------------------------------------------------------------------------------------------------


def test_ranking_best_and_worst_and_best_lrs():
    runs = synthetic_runs()
    ranked = transfer.ranking(runs, 20)
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
    best, worst = transfer.best_and_worst(ranked, per_method=1)
    assert [b.label for b in best] == ["scratch, lr=0.01", "probe, lr=0.01", "boosting"] and worst.label == "boosting"
    assert transfer.best_lrs(runs, 20) == {"scratch": 0.01, "probe": 0.1}  # by validation, not test
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
    both = transfer.combine([runs, runs])
    assert both.method.shape == (20,) and both.predictions.shape == (20, 3)
    with pytest.raises(ValueError, match="one run per budget and seed"):
        both.accuracy("probe", 0.01)
    with pytest.raises(ValueError, match="no runs"):
        runs.select("finetune")


def test_standard_error():
    assert transfer.standard_error(0.75, 300) == pytest.approx(math.sqrt(0.75 * 0.25 / 300))
    assert transfer.standard_error(1.0, 10) == 0.0
    with pytest.raises(ValueError, match="accuracy"):
        transfer.standard_error(1.5, 10)

"""Tests of nnbook.transfer: new heads, the frozen feature extractor and the probe, the comparison."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import resnet, training, transfer, transfer_scores, transfer_task


@functools.cache
def task() -> transfer_task.DigitsTask:
    return transfer_task.digits_task(n_val=200, n_test=597, seed=0)


@functools.cache
def tiny_pretrained() -> resnet.FeatureClassifier:
    """A network with batch norm, briefly trained so its weights and statistics are not the initial ones."""
    net = resnet.small_resnet(10, (4,), seed=0)
    X = task().X_train[:64]
    training.train(net, training.TrainConfig(lr=0.01, epochs=1, batch_size=16, seed=0), (X, task().digit_train[:64]))
    return net


def tiny_scratch(seed: int) -> resnet.FeatureClassifier:
    return resnet.small_resnet(2, (4,), seed=seed)


def tiny_compare(**changes) -> transfer_scores.Runs:
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


VALID_CALLS = {
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
}


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
    runs = tiny_compare(
        lrs={"scratch": [0.1], "probe": [0.01, 0.001], "finetune": 0.1}, methods=transfer_scores.TRAINED
    )
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

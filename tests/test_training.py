"""nnbook.training: the one training loop honours every setting, is deterministic and fails loudly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

import nnbook
from nnbook.data import spirals
from nnbook.training import History, TrainConfig, evaluate, predict, train

# Valid calls of the public functions, for the bad-input test over every public callable (tests/test_bad_inputs.py).
_X = np.random.default_rng(0).standard_normal((8, 2))
_Y = np.arange(8) % 3
VALID_CALLS = {
    "evaluate": lambda: {"model": nn.Linear(2, 3), "X": _X, "y": _Y},
    "predict": lambda: {"model": nn.Linear(2, 3), "X": _X},
    "train": lambda: {"model": nn.Linear(2, 3), "config": TrainConfig(epochs=1, device="cpu"), "train": (_X, _Y)},
}


def make_net(seed: int = 0, batch_norm: bool = False) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(2, 16)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(16))
    return nn.Sequential(*layers, nn.ReLU(), nn.Linear(16, 3))


@pytest.fixture(scope="module")
def data():
    X, y = spirals(60, 3, rng=0)
    return X, y


def run(data, seed=0, **settings) -> tuple[nn.Module, History]:
    net = make_net(seed)
    config = TrainConfig(**{"lr": 0.05, "epochs": 3, "batch_size": 16, "device": "cpu", **settings})
    return net, train(net, config, data)


def test_history_shapes_and_counts(data):
    _, h = run(data, epochs=4, batch_size=50, record_steps=True)
    n = len(data[0])
    per_epoch = -(-n // 50)
    assert h.steps == 4 * per_epoch and h.step_loss.shape == (h.steps,)
    assert h.epoch.tolist() == [0, 1, 2, 3, 4] and h.epoch_loss.shape == (4,)
    assert h.train_loss.shape == h.train_accuracy.shape == (5,)
    assert h.val_loss is None and h.test_accuracy is None and not h.diverged
    # the epoch loss is the sample-weighted mean of that epoch's mini-batch losses (last batch smaller)
    sizes = np.array([50] * (per_epoch - 1) + [n - 50 * (per_epoch - 1)])
    np.testing.assert_allclose(h.epoch_loss[0], np.average(h.step_loss[:per_epoch], weights=sizes), rtol=1e-6)
    rows = h.to_rows()
    assert len(rows) == 5 and rows[0]["epoch_loss"] == "" and rows[2]["train_loss"] == h.train_loss[2]


def test_evaluated_curves_match_an_independent_evaluation(data):
    net, h = run(data, epochs=2)
    X, y = data
    with torch.no_grad():
        logits = net(torch.as_tensor(X, dtype=torch.float32))
    oracle = float(nn.functional.cross_entropy(logits, torch.as_tensor(y)))
    np.testing.assert_allclose(h.train_loss[-1], oracle, rtol=1e-5)
    assert h.train_accuracy[-1] == pytest.approx(float((logits.argmax(1).numpy() == y).mean()))
    loss, acc = evaluate(net, X, y)
    assert loss == pytest.approx(oracle, rel=1e-5) and acc == h.train_accuracy[-1]
    np.testing.assert_allclose(predict(net, X), logits.numpy(), rtol=1e-6)


def test_same_seed_same_result_and_seed_changes_order(data):
    a, ha = run(data)
    b, hb = run(data)
    _, hc = run(data, seed=1)
    np.testing.assert_array_equal(ha.train_loss, hb.train_loss)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not np.array_equal(ha.train_loss, hc.train_loss)


@pytest.mark.parametrize(
    "change",
    [
        {"lr": 0.01},
        {"epochs": 2},
        {"batch_size": 8},
        {"batch_size": None},
        {"optimiser": "adam"},
        {"momentum": 0.9},
        {"weight_decay": 0.1},
        {"seed": 3},
        {"max_steps": 5},
        {"lr_schedule": "cosine"},
    ],
)
def test_every_setting_changes_the_trajectory(data, change):
    _, base = run(data)
    _, other = run(data, **change)
    assert not np.array_equal(base.train_loss[: len(other.train_loss)], other.train_loss) or base.steps != other.steps


def test_max_steps_stops_early(data):
    _, h = run(data, epochs=10, max_steps=7, batch_size=16)
    assert h.steps == 7 and len(h.epoch_loss) == 1


def test_all_settings_are_used_by_the_loop():
    # every field of TrainConfig appears in train()'s code: no setting can be silently ignored
    import inspect

    source = inspect.getsource(nnbook.training)
    for field in dataclasses.fields(TrainConfig):
        assert source.count(f"config.{field.name}") >= 1, field.name


def test_divergence_raises_or_stops(data):
    X = np.repeat(data[0], 10, axis=1) * 10  # least squares with a step far above 2 / lambda_max
    target = (data[0][:, 0], "mse")
    for on_divergence in ("raise", "stop"):
        torch.manual_seed(0)
        config = TrainConfig(lr=5.0, epochs=50, loss=target[1], device="cpu", on_divergence=on_divergence)
        if on_divergence == "raise":
            with pytest.raises(FloatingPointError, match=r"non-finite|lr=5.0"):
                train(nn.Linear(20, 1), config, (X, target[0]))
        else:
            h = train(nn.Linear(20, 1), config, (X, target[0]))
            assert h.diverged and h.diverged_at_step >= 1 and len(h.epoch_loss) < 50
            assert np.all(np.isfinite(h.train_loss)) and len(h.train_loss) == len(h.epoch_loss) + 1


def test_hooks_are_called_at_every_epoch(data):
    calls = []

    def hook(model, epoch):
        calls.append((epoch, model.training))
        return {"weight_norm": float(model[0].weight.detach().norm())}

    net = make_net()
    h = train(net, TrainConfig(lr=0.05, epochs=3, device="cpu"), data, hooks=[hook])
    assert calls == [(0, False), (1, False), (2, False), (3, False)]
    assert h.measurements["weight_norm"].shape == (4,)
    assert h.measurements["weight_norm"][-1] == pytest.approx(float(net[0].weight.detach().norm()))


def test_frozen_parameters_and_batchnorm_do_not_move(data):
    net = make_net(batch_norm=True)
    for p in list(net[0].parameters()) + list(net[1].parameters()):
        p.requires_grad_(False)
    frozen = {k: t.clone() for k, t in net.state_dict().items() if k.startswith(("0.", "1."))}
    train(net, TrainConfig(lr=0.1, epochs=2, device="cpu"), data)
    for k, t in frozen.items():
        assert torch.equal(net.state_dict()[k], t), k


def test_val_and_test_curves_and_mse(data):
    X, y = data
    net = make_net()
    h = train(net, TrainConfig(lr=0.05, epochs=2, device="cpu"), (X, y), val=(X[:30], y[:30]), test=(X, y))
    np.testing.assert_allclose(h.test_loss, h.train_loss, rtol=1e-6)
    assert h.val_accuracy.shape == (3,)
    reg = nn.Linear(2, 1)
    hr = train(reg, TrainConfig(lr=0.1, epochs=3, loss="mse", device="cpu"), (X, X[:, 0] * 2.0))
    assert hr.train_accuracy is None and hr.train_loss[-1] < hr.train_loss[0]


def test_runs_on_the_available_device(data):
    net = make_net()
    h = train(net, TrainConfig(lr=0.05, epochs=1), data)
    assert h.device == nnbook.device() and next(net.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"lr": "0.1"}, TypeError, "lr"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": True}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"optimiser": "rmsprop"}, ValueError, "optimiser"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"optimiser": "adam", "momentum": 0.9}, ValueError, "momentum"),
        ({"loss": "hinge"}, ValueError, "loss"),
        ({"seed": -1}, ValueError, "seed"),
        ({"device": "tpu"}, ValueError, "device"),
        ({"max_steps": 0}, ValueError, "max_steps"),
        ({"lr_schedule": "step"}, ValueError, "lr_schedule"),
        ({"on_divergence": "ignore"}, ValueError, "on_divergence"),
        ({"record_steps": 1}, TypeError, "record_steps"),
        ({"progress": "yes"}, TypeError, "progress"),
    ],
)
def test_bad_settings_are_named(settings, error, match):
    with pytest.raises(error, match=match):
        TrainConfig(**settings)


def test_misspelt_setting_is_impossible():
    with pytest.raises(TypeError, match="learning_rate"):
        TrainConfig(learning_rate=0.1)


def test_bad_data_and_models_are_named(data):
    X, y = data
    config = TrainConfig(epochs=1, device="cpu")
    with pytest.raises(TypeError, match="model"):
        train("net", config, data)
    with pytest.raises(TypeError, match="config"):
        train(make_net(), {"lr": 0.1}, data)
    with pytest.raises(ValueError, match="same number of rows"):
        train(make_net(), config, (X, y[:-1]))
    with pytest.raises(ValueError, match=r"train\[0\]"):
        train(make_net(), config, (np.full_like(X, np.nan), y))
    with pytest.raises(ValueError, match=r"train\[1\]"):
        train(make_net(), config, (X, y + 0.5))
    with pytest.raises(TypeError, match="pair"):
        train(make_net(), config, X)
    bad = make_net()
    with torch.no_grad():
        bad[0].weight[0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        train(bad, config, data)

"""Tests of nnbook.seedstack: several seeds of one network evaluated and trained as one model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nnbook import relu_mlp, seedstack
from nnbook.data import spirals
from nnbook.training import TrainConfig, train

# A valid call of every public callable that needs arguments (used by the bad-input test of all callables).
VALID_CALLS = {"SeedStack": lambda: {"members": [relu_mlp.mlp(2, 1, 3, 2, s) for s in range(2)]}}


@pytest.fixture(scope="module")
def seed_sets():
    return [spirals(30, 3, noise=0.2, rng=s) for s in range(3)]


def config(**changes) -> TrainConfig:
    return TrainConfig(**{"lr": 0.01, "epochs": 3, "batch_size": 16, "optimiser": "adam", "device": "cpu", **changes})


def test_stack_evaluates_every_member_on_its_own_inputs(seed_sets):
    members = [relu_mlp.mlp(2, 2, 5, 3, s, batch_norm=True) for s in range(3)]
    stack = seedstack.SeedStack(members)
    X = torch.tensor(np.stack([X for X, _ in seed_sets[:3]], axis=1), dtype=torch.float32)
    for mode in ("train", "eval"):
        stack.train(mode == "train")
        for m in members:
            m.train(mode == "train")
        logits = stack.logits(X)
        for s, m in enumerate(members):
            torch.testing.assert_close(logits[:, s], m(X[:, s]), rtol=1e-6, atol=1e-6)


def test_joint_cross_entropy_is_the_sum_of_the_members(seed_sets):
    members = [relu_mlp.mlp(2, 1, 4, 3, s) for s in range(3)]
    stack = seedstack.SeedStack(members)
    X = torch.tensor(np.stack([X for X, _ in seed_sets[:3]], axis=1), dtype=torch.float32)
    Y = np.stack([y for _, y in seed_sets[:3]], axis=1)
    joint = nn.functional.cross_entropy(stack(X), torch.from_numpy(stack.encode_labels(Y)))
    separate = sum(nn.functional.cross_entropy(m(X[:, s]), torch.from_numpy(Y[:, s])) for s, m in enumerate(members))
    torch.testing.assert_close(joint, separate, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(torch.logsumexp(stack(X), dim=1).detach().numpy(), 0.0, atol=1e-5)


def test_encode_labels_is_base_c_positional():
    stack = seedstack.SeedStack([relu_mlp.mlp(2, 1, 2, 3, s) for s in range(3)])
    Y = np.array([[0, 0, 0], [2, 1, 0], [1, 2, 2], [2, 2, 2]])
    np.testing.assert_array_equal(stack.encode_labels(Y), [0, 2 * 9 + 3, 9 + 2 * 3 + 2, 26])
    with pytest.raises(ValueError, match="labels"):
        stack.encode_labels(np.array([[0, 3, 0]]))
    with pytest.raises(ValueError, match="Y"):
        stack.encode_labels(np.array([[0, 1]]))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_training_the_stack_equals_separate_runs(seed_sets, batch_norm):
    cfg = config(seed=4)
    members = [relu_mlp.mlp(2, 2, 6, 3, s, batch_norm=batch_norm) for s in range(3)]
    stack = seedstack.SeedStack(members)
    X = np.stack([X for X, _ in seed_sets[:3]], axis=1)
    history = train(stack, cfg, (X, stack.encode_labels(np.stack([y for _, y in seed_sets[:3]], axis=1))))
    assert history.steps == 3 * math.ceil(90 / 16)
    for s, (Xs, ys) in enumerate(seed_sets[:3]):  # oracle: each member trained on its own by the same loop
        alone = relu_mlp.mlp(2, 2, 6, 3, s, batch_norm=batch_norm)
        train(alone, cfg, (Xs, ys))
        mine = stack.member(s)
        assert not mine.training
        for (name, p), q in zip(alone.state_dict().items(), mine.state_dict().values(), strict=True):
            torch.testing.assert_close(q.float(), p.float(), rtol=1e-4, atol=1e-5, msg=name)


def test_stack_rejects_mismatched_or_oversized_members():
    with pytest.raises(ValueError, match="same"):
        seedstack.SeedStack([relu_mlp.mlp(2, 1, 4, 3, 0), relu_mlp.mlp(2, 1, 5, 3, 1)])
    with pytest.raises(ValueError, match="limit"):
        seedstack.SeedStack([relu_mlp.mlp(2, 1, 2, 10, s) for s in range(4)])  # 10**4 joint classes
    with pytest.raises(TypeError, match="members"):
        seedstack.SeedStack([])
    bad = relu_mlp.mlp(2, 1, 4, 3, 0)
    with torch.no_grad():
        bad[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"members\[1\]"):
        seedstack.SeedStack([relu_mlp.mlp(2, 1, 4, 3, 0), bad])


def test_member_gives_back_each_network():
    members = [relu_mlp.mlp(2, 2, 5, 3, s, batch_norm=True) for s in range(3)]
    with torch.no_grad():  # running statistics that differ between members
        for s, m in enumerate(members):
            m[1].running_mean.fill_(0.1 * s)
            m[1].num_batches_tracked.fill_(7)
    stack = seedstack.SeedStack(members)
    for s, original in enumerate(members):
        back = stack.member(s)
        assert not back.training
        for (name, p), q in zip(original.state_dict().items(), back.state_dict().values(), strict=True):
            assert torch.equal(p, q), name
    with pytest.raises(ValueError, match="s"):
        stack.member(3)
    with pytest.raises(TypeError, match="s"):
        stack.member(1.0)

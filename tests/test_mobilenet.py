"""Tests of nnbook.mobilenet: Table 2 counted by hand against torchvision's independent MobileNetV2."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pytest
import torch
import torchinfo
import torchvision
from torch import nn

from nnbook import mobilenet

TORCHVISION_PARAMETERS = 3_504_872  # torchvision's mobilenet_v2(): batch norm (2 per channel), 1000 classes
VALID_CALLS = {
    "layers": lambda: {"input_size": 56, "num_classes": 10, "classifier": True},
    "conv_layers": lambda: {"input_size": 56, "num_classes": 10, "classifier": True},
    "parameter_count": lambda: {"num_classes": 10, "batch_norm": "folded"},
    "mac_count": lambda: {"input_size": 56, "num_classes": 10},
    "stage_table": lambda: {"input_size": 56, "num_classes": 10},
    "cost_by_kind": lambda: {"input_size": 56, "num_classes": 10},
    "mobilenet_v2": lambda: {"num_classes": 10, "seed": 1},
}


@pytest.fixture(scope="module")
def reference() -> nn.Module:
    """torchvision's own model, built without nnbook."""
    return torchvision.models.mobilenet_v2(weights=None).eval()


def hooked_layers(model: nn.Module, size: int) -> list[tuple]:
    """(kind of module, in, out, kernel, stride, groups, input HxW, output HxW) of every conv/linear, by hooks."""
    found = []

    def hook(module, inputs, output):
        x = inputs[0]
        if isinstance(module, nn.Linear):
            found.append(("linear", module.in_features, module.out_features, 1, 1, 1, 1, 1))
        else:
            k, s = module.kernel_size[0], module.stride[0]
            found.append(
                ("conv", module.in_channels, module.out_channels, k, s, module.groups, x.shape[-1], output.shape[-1])
            )

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return found


@pytest.mark.parametrize("size", [32, 56, 57, 224])
def test_layers_equal_torchvision_module_layer_by_layer(reference, size):
    ours = [
        (
            "linear" if c.kind == "classifier" else "conv",
            *(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.groups, c.in_size, c.out_size),
        )
        for c in mobilenet.conv_layers(size)
    ]
    assert ours == hooked_layers(reference, size)


def test_the_layer_list_has_the_paper_structure():
    every = mobilenet.layers(224)
    assert len(every) == 54 and [x.index for x in every] == list(range(54))
    assert Counter(x.kind for x in every) == {
        "stem": 1,
        "expand": 16,
        "depthwise": 17,
        "project": 17,
        "head": 1,
        "pool": 1,
        "classifier": 1,
    }
    assert sorted(x.block for x in every if x.residual) == [3, 5, 6, 8, 9, 10, 12, 13, 15, 16]
    pool = every[-2]
    assert (pool.in_channels, pool.in_size, pool.out_size, pool.weight_count, pool.macs) == (1280, 7, 1, 0, 0)
    assert len(mobilenet.layers(224, classifier=False)) == 52
    assert [x.index for x in mobilenet.conv_layers(56)] == [*range(52), 53]


def test_the_paper_table_rows_as_printed():
    """Table 2 of Sandler et al. (2018): input of each row, operator, t, c, n, s, typed from the paper."""
    paper = [
        ((3, 224, 224), "conv2d", None, 32, 1, 2),
        ((32, 112, 112), "bottleneck", 1, 16, 1, 1),
        ((16, 112, 112), "bottleneck", 6, 24, 2, 2),
        ((24, 56, 56), "bottleneck", 6, 32, 3, 2),
        ((32, 28, 28), "bottleneck", 6, 64, 4, 2),
        ((64, 14, 14), "bottleneck", 6, 96, 3, 1),
        ((96, 14, 14), "bottleneck", 6, 160, 3, 2),
        ((160, 7, 7), "bottleneck", 6, 320, 1, 1),
        ((320, 7, 7), "conv2d 1x1", None, 1280, 1, 1),
        ((1280, 7, 7), "avgpool", None, 1280, 1, None),
        ((1280, 1, 1), "conv2d 1x1", None, 1000, 1, 1),
    ]
    rows = mobilenet.stage_table(224)
    assert [(r.input_shape, r.operator, r.t, r.c, r.n, r.s) for r in rows] == paper
    assert [r.row for r in rows] == list(range(11))
    assert rows[0].first == 0 and rows[-1].last == 53
    assert all(a.last + 1 == b.first for a, b in itertools.pairwise(rows))


def test_stage_parameters_and_macs_equal_the_torchvision_submodules(reference):
    feats = reference.features
    groups = [feats[0:1], feats[1:2], feats[2:4], feats[4:7], feats[7:11], feats[11:14], feats[14:17], feats[17:18]]
    groups += [feats[18:19], nn.Sequential(), reference.classifier]
    expected = [sum(p.numel() for p in g.parameters()) for g in groups]
    assert [r.parameters for r in mobilenet.stage_table(224)] == expected
    macs = Counter()
    owner = {id(m): i for i, g in enumerate(groups) for m in g.modules()}

    def hook(module, inputs, output):
        macs[owner[id(module)]] += module.weight.numel() * (
            output.shape[-1] * output.shape[-2] if output.ndim == 4 else 1
        )

    handles = [m.register_forward_hook(hook) for m in reference.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        reference(torch.zeros(1, 3, 224, 224))
    for h in handles:
        h.remove()
    assert [r.macs for r in mobilenet.stage_table(224)] == [macs[i] for i in range(11)]


def test_parameter_counts_with_and_without_batch_norm(reference):
    bn = sum(m.weight.numel() + m.bias.numel() for m in reference.modules() if isinstance(m, nn.BatchNorm2d))
    everything = sum(p.numel() for p in reference.parameters())
    assert mobilenet.parameter_count() == everything == TORCHVISION_PARAMETERS
    assert mobilenet.parameter_count(batch_norm="none") == everything - bn == 3_470_760
    assert mobilenet.parameter_count(batch_norm="folded") == everything - bn // 2
    ten = torchvision.models.mobilenet_v2(weights=None, num_classes=10)
    assert mobilenet.parameter_count(10) == sum(p.numel() for p in ten.parameters())


@pytest.mark.parametrize("size", [56, 224])
def test_torchinfo_counts_the_same_multiply_adds(reference, size):
    stats = torchinfo.summary(reference, input_size=(1, 3, size, size), verbose=0)
    bn = sum(m.weight.numel() + m.bias.numel() for m in reference.modules() if isinstance(m, nn.BatchNorm2d))
    assert stats.total_params == TORCHVISION_PARAMETERS
    # torchinfo also counts a multiply-add per BatchNorm parameter and per classifier bias
    assert stats.total_mult_adds == mobilenet.mac_count(size) + bn + 1000


def test_a_wrong_expansion_factor_is_caught_by_torchvision(monkeypatch, reference):
    stages = tuple(dataclasses.replace(s, t=4) if i == 3 else s for i, s in enumerate(mobilenet.STAGES))
    monkeypatch.setattr(mobilenet, "STAGES", stages)
    ours = [(c.in_channels, c.out_channels) for c in mobilenet.conv_layers(224)]
    assert ours != [layer[1:3] for layer in hooked_layers(reference, 224)]
    assert mobilenet.parameter_count() != TORCHVISION_PARAMETERS


def test_model_is_torchvision_seeded_and_in_evaluation_mode():
    before = torch.random.get_rng_state()
    a, b, c = (mobilenet.mobilenet_v2(10, seed=s) for s in (3, 3, 4))
    assert torch.equal(torch.random.get_rng_state(), before)  # the global generator is untouched
    assert isinstance(a, torchvision.models.MobileNetV2) and not a.training
    for key, value in a.state_dict().items():
        torch.testing.assert_close(value, b.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(a.features[0][0].weight, c.features[0][0].weight)
    assert a(torch.zeros(1, 3, 57, 57)).shape == (1, 10)


def test_initialisation_follows_torchvision_scales():
    model = mobilenet.mobilenet_v2(seed=1)
    linear = model.classifier[1]
    assert abs(linear.weight.std().item() - 0.01) < 0.001 and torch.all(linear.bias == 0)
    conv = model.features[18][0]  # 1x1, 320 -> 1280: fan_out = 1280
    assert abs(conv.weight.std().item() - (2 / 1280) ** 0.5) < 0.002


@pytest.mark.parametrize("bad", [0, 31, 16385])
def test_input_size_out_of_range_raises(bad):
    with pytest.raises(ValueError, match="input_size"):
        mobilenet.layers(bad)


@pytest.mark.parametrize("bad", [56.0, True, "56", None])
def test_input_size_of_wrong_type_raises(bad):
    with pytest.raises(TypeError, match="input_size"):
        mobilenet.layers(bad)


@pytest.mark.parametrize("bad", [0, -1, 100_001])
def test_bad_num_classes_raises(bad):
    with pytest.raises(ValueError, match="num_classes"):
        mobilenet.mobilenet_v2(bad)
    with pytest.raises(ValueError, match="num_classes"):
        mobilenet.parameter_count(bad)


def test_bad_types_and_choices_raise():
    with pytest.raises(TypeError, match="seed"):
        mobilenet.mobilenet_v2(10, seed=1.5)
    with pytest.raises(TypeError, match="num_classes"):
        mobilenet.mobilenet_v2(10.0)
    with pytest.raises(ValueError, match="batch_norm"):
        mobilenet.parameter_count(batch_norm="fused")
    with pytest.raises(TypeError, match="classifier"):
        mobilenet.layers(56, classifier="yes")

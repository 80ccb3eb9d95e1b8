"""Tests of nnbook.resnet: the small residual CNN against a functional re-computation, its initialisation, wrappers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet18
from torchvision.models.resnet import BasicBlock

from nnbook import resnet

VALID_CALLS = {
    "FeatureClassifier": lambda: {"features": nn.Linear(4, 4), "head": nn.Linear(4, 2)},
    "small_resnet": lambda: {"num_classes": 3, "widths": (4, 8), "seed": 0},
    "parameter_count": lambda: {"model": nn.Linear(3, 2)},
    "from_torchvision": lambda: {"model": resnet18(num_classes=3), "side": 8, "size": 32},
    "new_head": lambda: {"model": resnet.small_resnet(10, (4,)), "num_classes": 2, "freeze_features": True, "seed": 0},
    "extract_features": lambda: {
        "model": resnet.small_resnet(10, (4,)),
        "X": np.random.default_rng(0).random((5, 784)),
    },
    "rms_weight": lambda: {"model": nn.Linear(2, 2)},
    "relative_change": lambda: {"before": nn.Linear(2, 2), "after": nn.Linear(2, 2)},
}


def randomise_batch_norm(model: nn.Module, seed: int) -> None:
    """Non-trivial batch-norm parameters and running statistics, so that the oracle checks them too."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(1 + 0.3 * torch.randn(c, generator=gen))
                m.bias.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))


def bn(x: torch.Tensor, m: nn.BatchNorm2d) -> torch.Tensor:
    scale = m.weight / torch.sqrt(m.running_var + m.eps)
    return (x - m.running_mean[:, None, None]) * scale[:, None, None] + m.bias[:, None, None]


def block_by_hand(x: torch.Tensor, b: BasicBlock) -> torch.Tensor:
    stride = b.conv1.stride
    out = F.relu(bn(F.conv2d(x, b.conv1.weight, stride=stride, padding=1), b.bn1))
    out = bn(F.conv2d(out, b.conv2.weight, padding=1), b.bn2)
    skip = x if b.downsample is None else bn(F.conv2d(x, b.downsample[0].weight, stride=stride), b.downsample[1])
    return F.relu(out + skip)


@pytest.mark.parametrize("widths", [(16, 32, 32), (4,), (3, 5, 7, 9)])
def test_features_equal_a_functional_recomputation(widths):
    model = resnet.small_resnet(10, widths, seed=1)
    randomise_batch_norm(model, seed=2)
    model.eval()
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    f = model.features
    blocks = [m for m in f if isinstance(m, BasicBlock)]
    h = F.relu(bn(F.conv2d(x.reshape(5, 1, 28, 28), f[1].weight, stride=2, padding=1), f[2]))
    assert h.shape[-1] == 14
    for b in blocks:
        h = block_by_hand(h, b)
    expected_side = 14
    for _ in widths[1:]:
        expected_side = (expected_side + 1) // 2
    assert h.shape[1:] == (widths[-1], expected_side, expected_side)
    feats = h.mean(dim=(2, 3))
    with torch.no_grad():
        np.testing.assert_allclose(f(x).numpy(), feats.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model(x).numpy(), (feats @ model.head.weight.T + model.head.bias).numpy(), atol=1e-5)


def test_blocks_are_torchvision_basic_blocks_with_the_stated_strides():
    model = resnet.small_resnet(10, (16, 32, 32), seed=0)
    blocks = [m for m in model.features if isinstance(m, BasicBlock)]
    assert [(b.conv1.in_channels, b.conv2.out_channels, b.stride) for b in blocks] == [
        (16, 16, 1),
        (16, 32, 2),
        (32, 32, 2),
    ]
    assert blocks[0].downsample is None and blocks[1].downsample is not None and blocks[2].downsample is not None


def test_parameter_count_matches_the_closed_form():
    def conv_bn(c_in, c_out, k):  # a bias-free convolution and its batch norm's scale and shift
        return c_in * c_out * k * k + 2 * c_out

    def block(c_in, c_out, stride):  # two 3x3 convolutions, a 1x1 convolution on the skip when the shape changes
        skip = conv_bn(c_in, c_out, 1) if stride != 1 or c_in != c_out else 0
        return conv_bn(c_in, c_out, 3) + conv_bn(c_out, c_out, 3) + skip

    stem, head = conv_bn(1, 16, 3), 32 * 10 + 10
    expected = stem + block(16, 16, 1) + block(16, 32, 2) + block(32, 32, 2) + head
    assert expected == 39354
    assert resnet.parameter_count(resnet.small_resnet(10, (16, 32, 32))) == expected


def test_initialisation_is_torchvision_resnets_and_seeded():
    state = torch.random.get_rng_state()
    a, b, c = resnet.small_resnet(seed=4), resnet.small_resnet(seed=4), resnet.small_resnet(seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global random state untouched
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.features[1].weight, c.features[1].weight)
    wide = resnet.small_resnet(10, (64, 64), seed=0)
    conv = [m for m in wide.features.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)][-1]
    fan_out = conv.out_channels * 9
    np.testing.assert_allclose(conv.weight.std().item(), np.sqrt(2 / fan_out), rtol=0.05)
    for m in wide.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight)) and torch.equal(m.bias, torch.zeros_like(m.bias))


def test_accepts_flat_or_image_inputs():
    model = resnet.small_resnet(3, (4,), seed=0).eval()
    x = torch.rand(2, 784)
    with torch.no_grad():
        assert torch.equal(model(x), model(x.reshape(2, 1, 28, 28)))


def test_from_torchvision_wraps_without_touching_the_original():
    tv = resnet18(num_classes=7).eval()
    before = [p.clone() for p in tv.parameters()]
    model = resnet.from_torchvision(tv, side=8, size=32).eval()
    assert isinstance(tv.fc, nn.Linear) and model.head is not tv.fc
    assert torch.equal(model.head.weight, tv.fc.weight)
    x = torch.rand(3, 64)
    with torch.no_grad():
        feats = model.features(x)
        images = F.interpolate(x.reshape(3, 1, 8, 8), size=(32, 32), mode="bilinear", align_corners=False)
        mean, std = torch.tensor(resnet.IMAGENET_MEAN), torch.tensor(resnet.IMAGENET_STD)
        expected = tv((images.expand(-1, 3, -1, -1) - mean[:, None, None]) / std[:, None, None])
        np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    assert feats.shape == (3, 512)
    assert all(torch.equal(p, q) for p, q in zip(before, tv.parameters(), strict=True))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_classes": 1}, ValueError, "num_classes"),
        ({"widths": ()}, ValueError, "widths"),
        ({"widths": (8, 8, 8, 8, 8)}, ValueError, "widths"),
        ({"widths": "16"}, TypeError, "widths"),
        ({"widths": (0,)}, ValueError, "widths"),
        ({"widths": (1024,)}, ValueError, "widths"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_small_resnet_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        resnet.small_resnet(**kwargs)


def test_wrappers_bad_inputs():
    with pytest.raises(TypeError, match="head"):
        resnet.FeatureClassifier(nn.Flatten(), nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="fc"):
        resnet.from_torchvision(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="size"):
        resnet.from_torchvision(resnet18(), size=16)

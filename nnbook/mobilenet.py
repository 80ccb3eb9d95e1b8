"""MobileNetV2 from Table 2 of Sandler et al. (2018): the PyTorch module and its convolutions counted by hand.

The network is a 3x3 stem convolution, seventeen inverted residual blocks
(1x1 expansion by a factor ``t``, 3x3 depthwise convolution, 1x1 linear
projection; a skip connection when the stride is 1 and the channels match),
a 1x1 convolution to 1280 channels, global average pooling and a linear
classifier. Every convolution is followed by BatchNorm, and all but the
projections by ReLU6.

:func:`conv_layers` lists the 52 convolutions with their shapes from the
table alone, without building the module; :func:`mobilenet_v2` builds the
module from the same table; the tests check that the two agree.

Examples
--------
>>> layers = conv_layers(224)
>>> len(layers), layers[0].name, layers[-1].name
(52, 'stem', 'head')
>>> parameter_count()
3504872
>>> round(mac_count(224) / 1e6)
301
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import torch
from torch import nn


@dataclass(frozen=True)
class Stage:
    """One row of the paper's Table 2: ``n`` inverted residual blocks."""

    t: int  # expansion factor of the 1x1 expansion
    c: int  # output channels of every block of the stage
    n: int  # number of blocks
    s: int  # stride of the first block (the others have stride 1)


STAGES = (
    Stage(1, 16, 1, 1),
    Stage(6, 24, 2, 2),
    Stage(6, 32, 3, 2),
    Stage(6, 64, 4, 2),
    Stage(6, 96, 3, 1),
    Stage(6, 160, 3, 2),
    Stage(6, 320, 1, 1),
)
STEM_CHANNELS = 32  # output channels of the first 3x3 convolution (stride 2)
HEAD_CHANNELS = 1280  # output channels of the last 1x1 convolution
MIN_INPUT_SIZE = 32  # 2**5: each of the five stride-2 stages halves a map of >= 2 pixels


@dataclass(frozen=True)
class Conv:
    """One convolution of MobileNetV2 (square maps, ``padding = kernel_size // 2``)."""

    index: int  # position in execution order, from 0
    name: str  # "stem", "block<b>.expand" / ".depthwise" / ".project", "head"
    block: int  # inverted residual block 1..17; 0 for the stem, 18 for the head
    kind: str  # "stem", "expand", "depthwise", "project" or "head"
    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    groups: int  # in_channels for a depthwise convolution, else 1
    in_size: int  # height = width of the input map
    out_size: int  # height = width of the output map
    residual: bool  # a projection whose block adds its input (the add is fused here)

    @property
    def weight_count(self) -> int:
        """Number of weights (no bias): ``k * k * in_channels / groups * out_channels``."""
        return self.kernel_size**2 * (self.in_channels // self.groups) * self.out_channels

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one image: each output element costs ``k * k * in_channels / groups``."""
        return self.out_size**2 * self.out_channels * self.kernel_size**2 * (self.in_channels // self.groups)


def check_input_size(input_size: int) -> int:
    """Return ``input_size`` as an int if it is an integer ``>= 32`` (five stride-2 stages), else raise."""
    if isinstance(input_size, bool) or not isinstance(input_size, Integral):
        raise TypeError(f"input_size must be an int, got {type(input_size).__name__}")
    input_size = int(input_size)
    if input_size < MIN_INPUT_SIZE:
        raise ValueError(
            f"input_size must be >= {MIN_INPUT_SIZE} so that each of the five stride-2 stages "
            f"halves a map of at least 2 pixels, got {input_size}"
        )
    return input_size


def conv_layers(input_size: int = 224) -> tuple[Conv, ...]:
    """The 52 convolutions of MobileNetV2 for a square ``input_size`` image, in execution order.

    Parameters
    ----------
    input_size : int
        Height = width of the RGB input image, ``>= 32``.

    Returns
    -------
    tuple of Conv, length 52
        Stem, then expansion (absent in the first block, whose ``t = 1``),
        depthwise and projection of each block, then the head.

    Examples
    --------
    >>> [(c.name, c.in_size, c.out_size) for c in conv_layers(56)[:3]]
    [('stem', 56, 28), ('block1.depthwise', 28, 28), ('block1.project', 28, 28)]
    """
    size = check_input_size(input_size)

    def out(size: int, kernel: int, stride: int) -> int:
        return (size + 2 * (kernel // 2) - kernel) // stride + 1

    layers: list[Conv] = []

    def add(name, block, kind, cin, cout, kernel, stride, groups, size, residual=False) -> int:
        o = out(size, kernel, stride)
        layers.append(Conv(len(layers), name, block, kind, cin, cout, kernel, stride, groups, size, o, residual))
        return o

    size = add("stem", 0, "stem", 3, STEM_CHANNELS, 3, 2, 1, size)
    cin, block = STEM_CHANNELS, 0
    for stage in STAGES:
        for i in range(stage.n):
            block += 1
            stride = stage.s if i == 0 else 1
            hidden = cin * stage.t
            residual = stride == 1 and cin == stage.c
            if stage.t != 1:
                add(f"block{block}.expand", block, "expand", cin, hidden, 1, 1, 1, size)
            size = add(f"block{block}.depthwise", block, "depthwise", hidden, hidden, 3, stride, hidden, size)
            add(f"block{block}.project", block, "project", hidden, stage.c, 1, 1, 1, size, residual)
            cin = stage.c
    add("head", block + 1, "head", cin, HEAD_CHANNELS, 1, 1, 1, size)
    return tuple(layers)


def parameter_count(num_classes: int = 1000) -> int:
    """Trainable parameters of :func:`mobilenet_v2`, counted from Table 2.

    Convolutions have no bias; each is followed by a BatchNorm with a scale and
    a shift per channel; the classifier is ``Linear(1280, num_classes)``.

    Examples
    --------
    >>> parameter_count(10)
    2236682
    """
    _check_classes(num_classes)
    convs = conv_layers(MIN_INPUT_SIZE)
    return sum(c.weight_count + 2 * c.out_channels for c in convs) + (HEAD_CHANNELS + 1) * num_classes


def mac_count(input_size: int = 224, num_classes: int = 1000) -> int:
    """Multiply-accumulates of one forward pass: the 52 convolutions plus the classifier.

    BatchNorm, ReLU6, the residual additions and the pooling are not counted
    (they are a few additions per activation, not multiply-accumulates).

    Examples
    --------
    >>> mac_count(224, 1000) - mac_count(224, 10)
    1267200
    """
    _check_classes(num_classes)
    return sum(c.macs for c in conv_layers(input_size)) + HEAD_CHANNELS * num_classes


class InvertedResidual(nn.Module):
    """Expand (1x1, unless ``t = 1``), filter (3x3 depthwise), project (1x1, linear); add the input if shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hidden = cin * t
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if t != 1:
            layers += _conv_bn(cin, hidden, 1, 1, 1, relu=True)
        layers += _conv_bn(hidden, hidden, 3, stride, hidden, relu=True)
        layers += _conv_bn(hidden, cout, 1, 1, 1, relu=False)
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, cin, H, W) -> (N, cout, H/stride, W/stride)
        return x + self.conv(x) if self.use_residual else self.conv(x)


def mobilenet_v2(num_classes: int = 1000, seed: int = 0) -> nn.Module:
    """MobileNetV2 with width multiplier 1.0, built from the paper's Table 2.

    Parameters
    ----------
    num_classes : int
        Outputs of the final linear layer (1000 for ImageNet).
    seed : int
        Seed of the weight initialisation (Kaiming normal for convolutions,
        N(0, 0.01^2) for the classifier, BatchNorm at identity), drawn from a
        private :class:`torch.Generator`.

    Returns
    -------
    torch.nn.Module
        ``features`` (stem, 17 blocks, head) and ``classifier`` (dropout 0.2,
        linear), in evaluation mode; maps ``(N, 3, H, W)`` to ``(N, num_classes)``.

    Examples
    --------
    >>> model = mobilenet_v2(10)
    >>> model(torch.zeros(1, 3, 57, 57)).shape
    torch.Size([1, 10])
    """
    _check_classes(num_classes)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    features: list[nn.Module] = [nn.Sequential(*_conv_bn(3, STEM_CHANNELS, 3, 2, 1, relu=True))]
    cin = STEM_CHANNELS
    for stage in STAGES:
        for i in range(stage.n):
            features.append(InvertedResidual(cin, stage.c, stage.s if i == 0 else 1, stage.t))
            cin = stage.c
    features.append(nn.Sequential(*_conv_bn(cin, HEAD_CHANNELS, 1, 1, 1, relu=True)))
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(*features))
    model.add_module("pool", nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)))
    model.add_module("classifier", nn.Sequential(nn.Dropout(0.2), nn.Linear(HEAD_CHANNELS, num_classes)))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", generator=generator)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01, generator=generator)
                nn.init.zeros_(module.bias)
    return model.eval()


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int, relu: bool) -> list[nn.Module]:
    conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False)
    return [conv, nn.BatchNorm2d(cout), nn.ReLU6(inplace=True)] if relu else [conv, nn.BatchNorm2d(cout)]


def _check_classes(num_classes: int) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")

"""MobileNetV2 from Table 2 of Sandler et al. (2018): its layers counted from the table, its module from torchvision.

The network is a 3x3 stem convolution, seventeen inverted residual blocks
(1x1 expansion by a factor ``t``, 3x3 depthwise convolution, 1x1 linear
projection; a skip connection when the stride is 1 and the channels match),
a 1x1 convolution to 1280 channels (the head), a global average pool and,
as the last row of Table 2, a ``conv2d 1x1`` with ``k`` outputs on the pooled
1x1x1280 map: the classifier.

:func:`layers` lists these 54 layers with their shapes from the table alone;
:func:`stage_table` groups them by row of Table 2. :func:`mobilenet_v2`
returns torchvision's implementation, which is *not* built from
:data:`STAGES`, so comparing the two (the tests and the chapter do, with
forward hooks) checks the table against an independent model.

Examples
--------
>>> every = layers(224)
>>> len(every), every[0].name, every[-3].name, every[-1].name
(54, 'stem', 'head', 'classifier')
>>> parameter_count(), parameter_count(batch_norm="none")
(3504872, 3470760)
>>> round(mac_count(224) / 1e6)
301
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nnbook import _validation as v


@dataclass(frozen=True)
class Stage:
    """One bottleneck row of the paper's Table 2: ``n`` inverted residual blocks."""

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
IMAGE_CHANNELS = 3  # RGB input
STEM_CHANNELS = 32  # output channels of the first convolution
STEM_STRIDE = 2
KERNEL_SIZE = 3  # of the stem and of every depthwise filter
HEAD_CHANNELS = 1280  # output channels of the last 1x1 convolution before the pool
IMAGENET_CLASSES = 1000  # k of Table 2's last row, as in the paper's ImageNet experiments
PAPER_INPUT_SIZE = 224  # the resolution of Table 2
DROPOUT = 0.2  # before torchvision's classifier (inactive at inference)
MIN_INPUT_SIZE = 32  # 2**5: each of the five stride-2 layers halves a map of >= 2 pixels
MAX_INPUT_SIZE = 16384  # counts are exact integers at any size; this bounds the shapes to meaningful images
MAX_CLASSES = 100_000  # the classifier holds 1281 * k numbers: bounded so a module always fits in memory
BATCH_NORM = {"trainable": 2, "folded": 1, "none": 0}  # parameters per channel: scale and shift, bias, none
KINDS = ("stem", "expand", "depthwise", "project", "head", "pool", "classifier")
TABLE2_ROWS = ("conv2d", *(["bottleneck"] * len(STAGES)), "conv2d 1x1", "avgpool", "conv2d 1x1")


@dataclass(frozen=True)
class Layer:
    """One layer of MobileNetV2 (square maps, ``padding = kernel_size // 2`` for convolutions)."""

    index: int  # position in execution order, from 0
    name: str  # "stem", "block<b>.expand" / ".depthwise" / ".project", "head", "pool", "classifier"
    block: int  # unit: 0 stem, 1..17 inverted residual blocks, 18 head, 19 pool, 20 classifier
    stage: int  # row of Table 2 (0 stem, 1..7 bottleneck stages, 8 head, 9 pool, 10 classifier)
    kind: str  # one of KINDS
    in_channels: int
    out_channels: int
    kernel_size: int  # the whole map for the global average pool
    stride: int
    groups: int  # in_channels for a depthwise convolution or the pool, else 1
    in_size: int  # height = width of the input map
    out_size: int  # height = width of the output map
    residual: bool  # a projection whose block adds its input (the add is fused here)

    @property
    def weight_count(self) -> int:
        """Number of weights (no bias; the pool has none): ``k * k * in_channels / groups * out_channels``."""
        return 0 if self.kind == "pool" else self.kernel_size**2 * (self.in_channels // self.groups) * self.out_channels

    @property
    def parameters(self) -> int:
        """Trainable parameters, as in torchvision: weights, BatchNorm scale and shift (the classifier: bias)."""
        return _parameters(self, BATCH_NORM["trainable"])

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one image: ``k * k * in_channels / groups`` per output element (pool: 0)."""
        return self.out_size**2 * self.weight_count


@dataclass(frozen=True)
class StageRow:
    """One row of Table 2 with what it holds: shapes, settings, layer range, parameters, multiply-adds."""

    row: int  # 0..10
    operator: str  # "conv2d", "bottleneck", "conv2d 1x1" or "avgpool"
    input_shape: tuple[int, int, int]  # (C, H, W) entering the row
    t: int | None  # expansion factor (bottlenecks only)
    c: int  # output channels
    n: int  # repeats
    s: int | None  # stride of the first layer (None for the pool)
    first: int  # index of the row's first layer in :func:`layers`
    last: int  # index of its last layer
    parameters: int  # with trainable BatchNorm (2 per channel); the classifier with its bias
    macs: int


def layers(
    input_size: int = PAPER_INPUT_SIZE, num_classes: int = IMAGENET_CLASSES, classifier: bool = True
) -> tuple[Layer, ...]:
    """The layers of MobileNetV2 for a square ``input_size`` image, in execution order.

    Parameters
    ----------
    input_size : int
        Height = width of the RGB input image, ``MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE``.
    num_classes : int
        Outputs ``k`` of the classifier, ``1 <= num_classes <= MAX_CLASSES``.
    classifier : bool
        Include the last two rows of Table 2 (the global average pool and the
        ``conv2d 1x1`` with ``k`` outputs); without them the list stops at the head.

    Returns
    -------
    tuple of Layer, length 54 (52 without the classifier)
        Stem, then expansion (absent in the first block, whose ``t = 1``),
        depthwise and projection of each block, the head, the pool, the classifier.

    Examples
    --------
    >>> [(x.name, x.in_size, x.out_size) for x in layers(56)[:3]]
    [('stem', 56, 28), ('block1.depthwise', 28, 28), ('block1.project', 28, 28)]
    >>> [(x.name, x.in_channels, x.out_channels, x.in_size) for x in layers(56, 10)[-2:]]
    [('pool', 1280, 1280, 2), ('classifier', 1280, 10, 1)]
    """
    size = v.check_int(input_size, "input_size", min_value=MIN_INPUT_SIZE, max_value=MAX_INPUT_SIZE)
    v.check_int(num_classes, "num_classes", min_value=1, max_value=MAX_CLASSES)
    v.check_bool(classifier, "classifier")
    out: list[Layer] = []

    def add(name, block, stage, kind, cin, cout, kernel, stride, groups, size, residual=False) -> int:
        o = 1 if kind == "pool" else (size + 2 * (kernel // 2) - kernel) // stride + 1  # the pool is global
        out.append(Layer(len(out), name, block, stage, kind, cin, cout, kernel, stride, groups, size, o, residual))
        return o

    size = add("stem", 0, 0, "stem", IMAGE_CHANNELS, STEM_CHANNELS, KERNEL_SIZE, STEM_STRIDE, 1, size)
    cin, block = STEM_CHANNELS, 0
    for row, stage in enumerate(STAGES, start=1):
        for i in range(stage.n):
            block += 1
            stride, hidden = (stage.s if i == 0 else 1), cin * stage.t
            if stage.t != 1:
                add(f"block{block}.expand", block, row, "expand", cin, hidden, 1, 1, 1, size)
            size = add(
                f"block{block}.depthwise", block, row, "depthwise", hidden, hidden, KERNEL_SIZE, stride, hidden, size
            )
            residual = stride == 1 and cin == stage.c
            add(f"block{block}.project", block, row, "project", hidden, stage.c, 1, 1, 1, size, residual)
            cin = stage.c
    row = len(STAGES) + 1
    add("head", block + 1, row, "head", cin, HEAD_CHANNELS, 1, 1, 1, size)
    if classifier:
        add("pool", block + 2, row + 1, "pool", HEAD_CHANNELS, HEAD_CHANNELS, size, size, HEAD_CHANNELS, size)
        add("classifier", block + 3, row + 2, "classifier", HEAD_CHANNELS, int(num_classes), 1, 1, 1, 1)
    return tuple(out)


def conv_layers(input_size: int = PAPER_INPUT_SIZE, num_classes: int = IMAGENET_CLASSES, classifier: bool = True):
    """The convolutions of :func:`layers` (every layer but the pool): 53, or 52 without the classifier.

    Examples
    --------
    >>> [c.index for c in conv_layers(224)][-3:]
    [50, 51, 53]
    """
    return tuple(x for x in layers(input_size, num_classes, classifier) if x.kind != "pool")


def parameter_count(num_classes: int = IMAGENET_CLASSES, batch_norm: str = "trainable") -> int:
    """Parameters of MobileNetV2 (width 1.0), counted from Table 2.

    Convolutions have no bias; each but the classifier is followed by a
    BatchNorm, counted as ``batch_norm`` says: ``"trainable"`` (a scale and a
    shift per channel, torchvision's module), ``"folded"`` (one bias per
    channel, the inference model) or ``"none"``. The classifier has ``k``
    biases.

    Examples
    --------
    >>> [parameter_count(10, bn) for bn in BATCH_NORM]
    [2236682, 2219626, 2202570]
    """
    per_channel = BATCH_NORM[v.check_choice(batch_norm, "batch_norm", tuple(BATCH_NORM))]
    return sum(_parameters(x, per_channel) for x in layers(MIN_INPUT_SIZE, num_classes))


def mac_count(input_size: int = PAPER_INPUT_SIZE, num_classes: int = IMAGENET_CLASSES) -> int:
    """Multiply-accumulates of one forward pass: the 52 convolutions plus the classifier.

    BatchNorm, ReLU6, the residual additions and the pooling are not counted
    (a few additions per activation, not multiply-accumulates).

    Examples
    --------
    >>> mac_count(224, 1000) - mac_count(224, 10)
    1267200
    """
    return sum(x.macs for x in layers(input_size, num_classes))


def stage_table(input_size: int = PAPER_INPUT_SIZE, num_classes: int = IMAGENET_CLASSES) -> tuple[StageRow, ...]:
    """The eleven rows of Table 2 recomputed from :func:`layers`, with parameters and multiply-adds per row.

    Examples
    --------
    >>> rows = stage_table(224)
    >>> [(r.operator, r.input_shape, r.t, r.c, r.n, r.s) for r in rows[1:3]]
    [('bottleneck', (32, 112, 112), 1, 16, 1, 1), ('bottleneck', (16, 112, 112), 6, 24, 2, 2)]
    >>> sum(r.parameters for r in rows) == parameter_count(), sum(r.macs for r in rows) == mac_count(224)
    (True, True)
    """
    every = layers(input_size, num_classes)
    rows = []
    for row, operator in enumerate(TABLE2_ROWS):
        members = [x for x in every if x.stage == row]
        first, last = members[0], members[-1]
        stage = STAGES[row - 1] if operator == "bottleneck" else None
        rows.append(
            StageRow(
                row=row,
                operator=operator,
                input_shape=(first.in_channels, first.in_size, first.in_size),
                t=stage.t if stage else None,
                c=last.out_channels,
                n=stage.n if stage else 1,
                s=None if first.kind == "pool" else (stage.s if stage else first.stride),
                first=first.index,
                last=last.index,
                parameters=sum(x.parameters for x in members),
                macs=sum(x.macs for x in members),
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class KindCost:
    """Multiply-adds and parameters of all layers of one kind, and their shares of the network's."""

    macs: int
    parameters: int  # trainable, as in torchvision
    mac_share: float
    parameter_share: float


def cost_by_kind(input_size: int = PAPER_INPUT_SIZE, num_classes: int = IMAGENET_CLASSES) -> dict[str, KindCost]:
    """Multiply-adds and parameters of each kind of layer (stem, expand, ..., classifier).

    Examples
    --------
    >>> costs = cost_by_kind(224)
    >>> round(100 * costs["depthwise"].mac_share, 1), round(100 * costs["classifier"].parameter_share, 1)
    (6.9, 36.5)
    """
    every = layers(input_size, num_classes)
    macs, params = sum(x.macs for x in every), sum(x.parameters for x in every)
    costs = {}
    for kind in KINDS:
        m = sum(x.macs for x in every if x.kind == kind)
        p = sum(x.parameters for x in every if x.kind == kind)
        costs[kind] = KindCost(m, p, m / macs, p / params)
    return costs


def mobilenet_v2(num_classes: int = IMAGENET_CLASSES, seed: int = 0) -> nn.Module:
    """torchvision's MobileNetV2 (width 1.0), initialised from ``seed``, in evaluation mode.

    Parameters
    ----------
    num_classes : int
        Outputs of the final linear layer, ``1 <= num_classes <= MAX_CLASSES``.
    seed : int
        Seed of the weight initialisation (torchvision's scheme: Kaiming normal
        for convolutions, N(0, 0.01^2) for the classifier, BatchNorm at
        identity), drawn from a private :class:`torch.Generator`; torch's
        global random state is left as it was.

    Returns
    -------
    torch.nn.Module
        ``features`` (stem, 17 blocks, head), a functional average pool and
        ``classifier`` (dropout, linear); maps ``(N, 3, H, W)`` to ``(N, num_classes)``.

    Examples
    --------
    >>> model = mobilenet_v2(10)
    >>> model(torch.zeros(1, 3, 57, 57)).shape
    torch.Size([1, 10])
    """
    import torchvision  # imported here: the analytic counts above do not need it

    v.check_int(num_classes, "num_classes", min_value=1, max_value=MAX_CLASSES)
    generator = torch.Generator().manual_seed(v.check_seed(seed))
    with torch.random.fork_rng(devices=[]):  # torchvision initialises from the global generator: keep it untouched
        model = torchvision.models.mobilenet_v2(weights=None, num_classes=int(num_classes), dropout=DROPOUT)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", generator=generator)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01, generator=generator)
                nn.init.zeros_(module.bias)
    return model.eval()


def _parameters(layer: Layer, per_channel: int) -> int:
    """Weights plus ``per_channel`` BatchNorm parameters per output channel; the classifier has one bias each."""
    if layer.kind == "pool":
        return 0
    return layer.weight_count + (1 if layer.kind == "classifier" else per_channel) * layer.out_channels

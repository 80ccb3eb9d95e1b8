"""A small residual CNN for 28x28 grey images, built from torchvision's ``BasicBlock``.

The network is split into a feature extractor and a linear head, the split
that transfer learning works with:

- ``features``: the flat input ``(n, 784)`` viewed as ``(n, 1, 28, 28)``, a
  3x3 stride-2 stem convolution with batch norm and ReLU (28x28 -> 14x14), one
  residual :class:`torchvision.models.resnet.BasicBlock` per entry of
  ``widths`` (the first at stride 1, the others at stride 2, each halving the
  map), global average pooling and flattening: ``(n, widths[-1])``;
- ``head``: ``Linear(widths[-1], num_classes)``.

The blocks are torchvision's own (two 3x3 convolutions with batch norm, a
skip connection, a 1x1 convolution with batch norm on the skip when the shape
changes), initialised as torchvision's ResNet initialises them (He-normal
convolutions with ``fan_out``, batch-norm scales 1 and shifts 0), under an
explicit seed. :class:`FeatureClassifier` is the same ``features -> head``
split for any backbone, e.g. a pretrained torchvision model
(:func:`from_torchvision`). The operations transfer learning needs work on
that split: a copy with a new head and frozen or trainable features
(:func:`new_head`), the features of a batch (:func:`extract_features`), and how
far training moved the weights (:func:`relative_change`, :func:`rms_weight`).

Examples
--------
>>> import torch
>>> net = small_resnet(num_classes=10, seed=0)
>>> net(torch.zeros(5, 784)).shape, net.features(torch.zeros(5, 784)).shape
(torch.Size([5, 10]), torch.Size([5, 32]))
>>> parameter_count(net)
19706
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from nnbook import training
from nnbook._validation import check_array, check_int, check_module, check_seed

MAX_WIDTH = 512  # channels of the widest block (bounds the cost of a forward pass)
MAX_BLOCKS = 4  # each block after the first halves the map: 14 -> 7 -> 4 -> 2
MAX_CLASSES = 10_000  # outputs of the head
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the per-channel statistics torchvision's pretrained weights expect
IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureClassifier(nn.Module):
    """A classifier split as ``head(features(x))``.

    Parameters
    ----------
    features : torch.nn.Module
        Maps a batch of inputs to feature vectors ``(n, d)``.
    head : torch.nn.Linear
        Maps features ``(n, d)`` to class scores ``(n, k)``.

    Examples
    --------
    >>> model = FeatureClassifier(nn.Flatten(), nn.Linear(4, 3))
    >>> model(torch.zeros(2, 2, 2)).shape
    torch.Size([2, 3])
    """

    def __init__(self, features: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        check_module(features, "features")
        if not isinstance(head, nn.Linear):
            raise TypeError(f"head must be a torch.nn.Linear, got {type(head).__name__}")
        check_module(head, "head")
        self.features = features
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _GreyImage(nn.Module):
    """Views flat inputs ``(n, side * side)`` (or images ``(n, 1, side, side)``) as ``(n, 1, side, side)``."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) not in ((self.side * self.side,), (1, self.side, self.side)):
            side = self.side
            # a RuntimeError, as for any input of the wrong shape in torch (the training loop names the argument)
            raise RuntimeError(
                f"expected inputs of shape (n, {side * side}) or (n, 1, {side}, {side}), got {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], 1, self.side, self.side)


def _block(c_in: int, c_out: int, stride: int) -> BasicBlock:
    skip = None
    if stride != 1 or c_in != c_out:
        skip = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
    return BasicBlock(c_in, c_out, stride=stride, downsample=skip)


def small_resnet(num_classes: int = 10, widths: Sequence[int] = (16, 32), *, seed: int = 0) -> FeatureClassifier:
    """The small residual CNN described in the module docstring, for flat 28x28 grey images.

    Parameters
    ----------
    num_classes : int
        Outputs of the linear head (2 to 10,000).
    widths : sequence of int
        Channels of the stem and first block (``widths[0]``) and of each
        further block; 1 to 4 entries, each at most 512.
    seed : int
        Seed of the initialisation (torch's global random state is left as it was).

    Returns
    -------
    FeatureClassifier
        ``features``: ``(n, 784) -> (n, widths[-1])``; ``head``: ``Linear(widths[-1], num_classes)``.

    Examples
    --------
    >>> a, b = small_resnet(seed=3), small_resnet(seed=3)
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    >>> small_resnet(2, widths=(8,)).head
    Linear(in_features=8, out_features=2, bias=True)
    """
    num_classes = check_int(num_classes, "num_classes", min_value=2, max_value=MAX_CLASSES)
    seed = check_seed(seed)
    if isinstance(widths, str | bytes) or not isinstance(widths, Sequence):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    if not 1 <= len(widths) <= MAX_BLOCKS:
        raise ValueError(f"widths must have 1 to {MAX_BLOCKS} entries, got {len(widths)}")
    widths = [check_int(w, "widths", min_value=1, max_value=MAX_WIDTH) for w in widths]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers: list[nn.Module] = [
            _GreyImage(28),
            nn.Conv2d(1, widths[0], 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for i, width in enumerate(widths):
            layers.append(_block(widths[max(i - 1, 0)], width, stride=1 if i == 0 else 2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        model = FeatureClassifier(nn.Sequential(*layers), nn.Linear(widths[-1], num_classes))
        for module in model.modules():  # torchvision's ResNet initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    return model


def parameter_count(model: nn.Module) -> int:
    """Number of scalar parameters of ``model`` (trainable or not).

    Examples
    --------
    >>> parameter_count(nn.Linear(3, 2))
    8
    """
    check_module(model)
    return sum(p.numel() for p in model.parameters())


class _ImageNetInput(nn.Module):
    """Flat grey images ``(n, side * side)`` in [0, 1] -> ``(n, 3, size, size)`` normalised as for ImageNet."""

    def __init__(self, side: int, size: int) -> None:
        super().__init__()
        self.side, self.size = side, size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.reshape(x.shape[0], 1, self.side, self.side)
        big = nn.functional.interpolate(grey, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return (big.expand(-1, 3, -1, -1) - self.mean) / self.std


def from_torchvision(model: nn.Module, *, side: int = 28, size: int = 224) -> FeatureClassifier:
    """A torchvision classifier with a final ``fc`` layer (the ResNets) as a :class:`FeatureClassifier`.

    The features take this book's flat grey images ``(n, side * side)``,
    upscale them to ``size x size``, copy the grey channel into three and
    normalise with ImageNet's channel statistics, then run the network up to
    its ``fc`` layer, which becomes the head. With pretrained weights, e.g.
    ``from_torchvision(resnet18(weights=ResNet18_Weights.DEFAULT))``, the
    result can replace :func:`small_resnet`'s pretrained network everywhere in
    :mod:`nnbook.transfer` (downloading the weights needs a network).

    Parameters
    ----------
    model : torch.nn.Module
        With an attribute ``fc`` that is a ``Linear``; copied, not modified.
    side : int
        Side of the square input images (1 to 64).
    size : int
        Side the images are upscaled to (32 to 512; the weights were trained at 224).

    Returns
    -------
    FeatureClassifier

    Examples
    --------
    >>> from torchvision.models import resnet18
    >>> model = from_torchvision(resnet18(weights=None), size=32)
    >>> model.features(torch.zeros(2, 784)).shape, model.head.in_features
    (torch.Size([2, 512]), 512)
    """
    check_module(model)
    side = check_int(side, "side", min_value=1, max_value=64)
    size = check_int(size, "size", min_value=32, max_value=512)
    head = getattr(model, "fc", None)
    if not isinstance(head, nn.Linear):
        name = type(model).__name__
        raise ValueError(f"model must have a final Linear layer named fc (a torchvision ResNet), got {name}")
    body = copy.deepcopy(model)
    body.fc = nn.Identity()
    return FeatureClassifier(nn.Sequential(_ImageNetInput(side, size), body), copy.deepcopy(head))


def new_head(model: FeatureClassifier, num_classes: int, *, freeze_features: bool, seed: int) -> FeatureClassifier:
    """A copy of ``model`` with a fresh linear head of ``num_classes`` outputs.

    Parameters
    ----------
    model : FeatureClassifier
        Not modified.
    num_classes : int
        Outputs of the new head (``>= 2``).
    freeze_features : bool
        Set ``requires_grad=False`` on every parameter of the copied features
        (a linear probe); :func:`nnbook.training.train` then keeps their
        batch-norm layers in eval mode.
    seed : int
        Seed of the head's initialisation (PyTorch's default for ``Linear``).

    Returns
    -------
    FeatureClassifier

    Examples
    --------
    >>> probe = new_head(small_resnet(seed=0), 2, freeze_features=True, seed=1)
    >>> probe.head.out_features, any(p.requires_grad for p in probe.features.parameters())
    (2, False)
    """
    if not isinstance(model, FeatureClassifier):
        raise TypeError(f"model must be a FeatureClassifier, got {type(model).__name__}")
    check_module(model)
    num_classes = check_int(num_classes, "num_classes", min_value=2, max_value=MAX_CLASSES)
    if not isinstance(freeze_features, bool):
        raise TypeError(f"freeze_features must be a bool, got {type(freeze_features).__name__}")
    features = copy.deepcopy(model.features)
    features.requires_grad_(not freeze_features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(check_seed(seed))
        head = nn.Linear(model.head.in_features, num_classes)
    return FeatureClassifier(features, head)


def extract_features(model: FeatureClassifier, X: np.ndarray | torch.Tensor) -> np.ndarray:
    """The features ``model.features(X)``, computed in eval mode without gradients.

    Parameters
    ----------
    model : FeatureClassifier
    X : ndarray or tensor, shape (n, ...)
        Inputs of the model (finite).

    Returns
    -------
    ndarray, shape (n, d), float32
    """
    if not isinstance(model, FeatureClassifier):
        raise TypeError(f"model must be a FeatureClassifier, got {type(model).__name__}")
    X = check_array(X, "X", ndim=(2, 3, 4), dtype="float32")
    return training.predict(model.features, X)


def rms_weight(model: nn.Module) -> float:
    """Root mean square of all parameters of ``model``: the typical size of one weight.

    Examples
    --------
    >>> layer = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = layer.weight.fill_(3.0), layer.bias.fill_(0.0)
    >>> rms_weight(layer)
    2.449489742783178
    """
    params = list(check_module(model).parameters())
    if not params:
        raise ValueError("model must have parameters")
    with torch.no_grad():
        total = sum(float((p.double() ** 2).sum()) for p in params)
    return math.sqrt(total / sum(p.numel() for p in params))


def relative_change(before: nn.Module, after: nn.Module) -> float:
    """``||theta_after - theta_before|| / ||theta_before||`` over all parameters of two modules of one architecture.

    Examples
    --------
    >>> a = nn.Linear(3, 1)
    >>> b = copy.deepcopy(a)
    >>> with torch.no_grad():
    ...     _ = b.weight.mul_(2.0), b.bias.mul_(2.0)
    >>> relative_change(a, b)
    1.0
    """
    old, new = list(check_module(before, "before").parameters()), list(check_module(after, "after").parameters())
    if not old or len(old) != len(new) or any(p.shape != q.shape for p, q in zip(old, new, strict=True)):
        raise ValueError("before and after must have parameters of the same shapes")
    pairs = list(zip(old, new, strict=True))
    with torch.no_grad():
        diff = math.sqrt(sum(float(((q - p) ** 2).sum()) for p, q in pairs))
        norm = math.sqrt(sum(float((p**2).sum()) for p, _ in pairs))
    if norm == 0:
        raise ValueError("before must have a parameter that is not zero")
    return diff / norm

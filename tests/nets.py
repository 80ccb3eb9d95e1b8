"""Small torch networks shared by the tests of the expressivity modules."""

from __future__ import annotations

import torch
from torch import nn


def random_net(seed: int, depth: int, width: int, n_in: int = 1, n_out: int = 1) -> nn.Sequential:
    """A Linear/ReLU network (float64) with i.i.d. standard normal weights and biases."""
    gen = torch.Generator().manual_seed(seed)
    layers, fan_in = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    layers.append(nn.Linear(fan_in, n_out))
    net = nn.Sequential(*layers).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    return net

"""Several seeds of one network trained as one model: exactly as many independent runs, faster.

Comparing architectures fairly takes several seeds of each. Small networks
train at a speed set by per-step overhead rather than arithmetic, so running
the seeds one after the other wastes most of the time. :class:`SeedStack`
holds ``S`` networks of the same architecture (Linear, BatchNorm1d and ReLU
layers, as :func:`nnbook.relu_mlp.mlp` builds them) and evaluates them side
by side, each on its own inputs, with batched matrix products. Its output is
the joint log-probability of the ``S`` labels, so that the one training loop
:func:`nnbook.training.train`, with its ordinary cross-entropy, trains every
member on its own loss; :meth:`SeedStack.member` gives each trained network
back.

Examples
--------
>>> import numpy as np
>>> from nnbook.relu_mlp import mlp
>>> members = [mlp(2, depth=2, width=4, n_outputs=3, seed=s) for s in range(2)]
>>> stack = SeedStack(members)
>>> X = torch.zeros(5, 2, 2)  # 5 rows, each holding one input per member
>>> stack(X).shape, stack.logits(X).shape
(torch.Size([5, 9]), torch.Size([5, 2, 3]))
>>> stack.encode_labels(np.array([[2, 1]])).tolist()
[7]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nnbook import _validation as v

MAX_JOINT_CLASSES = 4096  # n_classes ** n_seeds: width of a SeedStack's joint output


def _shape(layer: nn.Module, name: str) -> tuple[int, ...] | None:
    value = getattr(layer, name, None)
    return None if value is None else tuple(value.shape)


class _StackedLinear(nn.Module):
    """``S`` Linear layers applied member by member: ``(n, S, in) -> (n, S, out)``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))  # (S, out, in)
        biased = layers[0].bias is not None
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers])) if biased else None  # (S, out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h.transpose(0, 1)  # (S, n, in)
        if self.bias is None:
            return torch.bmm(h, self.weight.transpose(1, 2)).transpose(0, 1)
        return torch.baddbmm(self.bias[:, None, :], h, self.weight.transpose(1, 2)).transpose(0, 1)


class SeedStack(nn.Module):
    """Networks of one architecture (different seeds) evaluated side by side, each on its own inputs.

    The input has shape ``(n, S, d)``: row ``i`` holds the ``i``-th example of
    every member. The output, of shape ``(n, C ** S)``, is the log-probability
    of every tuple of labels under the members' independent softmaxes, so its
    cross-entropy against :meth:`encode_labels` is the *sum* of the members'
    cross-entropies: a step of SGD or Adam on the stack is a step of every
    member on its own loss, exactly as in separate runs with the same batch
    order. Batch norm keeps statistics per member.

    Parameters
    ----------
    members : sequence of torch.nn.Sequential
        Same architecture (Linear, BatchNorm1d, ReLU layers, as :func:`mlp` builds), finite parameters;
        ``C ** S`` at most ``MAX_JOINT_CLASSES`` for ``C`` outputs and ``S`` members.
    """

    def __init__(self, members: Sequence[nn.Sequential]) -> None:
        super().__init__()
        if isinstance(members, nn.Module) or not isinstance(members, Sequence) or len(members) == 0:
            raise TypeError("members must be a non-empty sequence of torch.nn.Sequential")
        for i, m in enumerate(members):
            v.check_module(m, f"members[{i}]")
        kinds = [[(type(layer), _shape(layer, "weight"), _shape(layer, "bias")) for layer in m] for m in members]
        if any(k != kinds[0] for k in kinds) or not isinstance(members[0][-1], nn.Linear):
            raise ValueError("members must all have the same Linear/BatchNorm1d/ReLU architecture, ending in a Linear")
        self.n_members, self.n_classes = len(members), members[0][-1].out_features
        v.check_work(self.n_classes**self.n_members, "members", MAX_JOINT_CLASSES, "joint classes (C ** S)")
        self.layers = nn.ModuleList()
        for position, layer in enumerate(members[0]):
            column = [m[position] for m in members]
            if isinstance(layer, nn.Linear):
                self.layers.append(_StackedLinear(column))
            elif isinstance(layer, nn.BatchNorm1d):
                norm = nn.BatchNorm1d(layer.num_features * self.n_members, eps=layer.eps, momentum=layer.momentum)
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(norm, name).data.copy_(torch.cat([getattr(b, name).detach() for b in column]))
                norm.num_batches_tracked.data.copy_(layer.num_batches_tracked)
                self.layers.append(norm)
            elif isinstance(layer, nn.ReLU):
                self.layers.append(nn.ReLU())
            else:
                raise TypeError(f"members must hold Linear, BatchNorm1d and ReLU layers, found {type(layer).__name__}")

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        """Every member's logits, ``(n, S, d) -> (n, S, C)``."""
        h = X
        for layer in self.layers:
            h = (
                layer(h.reshape(h.shape[0], -1)).reshape(h.shape[0], self.n_members, -1)
                if isinstance(layer, nn.BatchNorm1d)
                else layer(h)
            )
        return h

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Joint log-probabilities of the label tuples, ``(n, S, d) -> (n, C ** S)``."""
        logp = torch.log_softmax(self.logits(X), dim=-1)
        joint = logp[:, 0]
        for s in range(1, self.n_members):
            joint = (joint[:, :, None] + logp[:, s, None, :]).reshape(X.shape[0], -1)
        return joint

    def encode_labels(self, Y: np.ndarray) -> np.ndarray:
        """The joint label ``sum_s Y[:, s] C ** (S - 1 - s)`` of every row, shape (n, S) -> (n,)."""
        Y = v.check_array(Y, "Y", shape=(None, self.n_members), dtype="integer")
        if (Y < 0).any() or (Y >= self.n_classes).any():
            raise ValueError(f"Y must hold labels in [0, {self.n_classes}), got {Y.min()}..{Y.max()}")
        return Y @ (self.n_classes ** np.arange(self.n_members - 1, -1, -1))

    def member(self, s: int) -> nn.Sequential:
        """Member ``s`` as a plain network (a copy, in eval mode)."""
        s = v.check_int(s, "s", min_value=0, max_value=self.n_members - 1)
        layers: list[nn.Module] = []
        for layer in self.layers:
            if isinstance(layer, _StackedLinear):
                out_features, in_features = layer.weight.shape[1:]
                single = nn.Linear(in_features, out_features, bias=layer.bias is not None)
                single.weight.data.copy_(layer.weight.detach()[s])
                if layer.bias is not None:
                    single.bias.data.copy_(layer.bias.detach()[s])
            elif isinstance(layer, nn.BatchNorm1d):
                w = layer.num_features // self.n_members
                single = nn.BatchNorm1d(w, eps=layer.eps, momentum=layer.momentum)
                for name in ("weight", "bias", "running_mean", "running_var"):
                    getattr(single, name).data.copy_(getattr(layer, name).detach()[s * w : (s + 1) * w])
                single.num_batches_tracked.data.copy_(layer.num_batches_tracked)
            else:
                single = nn.ReLU()
            layers.append(single)
        return nn.Sequential(*layers).eval()

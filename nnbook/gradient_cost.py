"""The cost of a gradient: reverse mode against the forward pass, counted and timed.

Reverse-mode differentiation gets the gradient of a scalar with respect to
every weight in one backward sweep. :func:`reverse_mode_cost` measures what
that sweep costs for tanh MLPs of growing width: floating-point operations of
the matrix products (counted by PyTorch's ``FlopCounterMode``) and the time of
one gradient against one forward pass. The chapter on gradients teaches it in
its section on computational graphs and reverse mode (the figure of the cost
of one gradient); the graphs themselves are in :mod:`nnbook.compgraph`.

Examples
--------
>>> cost = reverse_mode_cost([4], depth=2, batch=3, repeat=1)
>>> cost.n_params.tolist(), cost.forward_flops.tolist()
([36], [216])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnbook import _validation as v
from nnbook.timing import time_pair

# Limits of reverse_mode_cost: the networks it builds, and the time it may spend timing them.
MAX_WIDTH, MAX_DEPTH, MAX_BATCH, MAX_REPEAT, MAX_THREADS = 4096, 64, 65_536, 100, 256
MAX_COST_ELEMENTS = 2**26  # weights plus activations of all networks together


@dataclass(frozen=True)
class Cost:
    """Cost of one gradient of a tanh MLP's summed output, per width (arrays of equal length).

    FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`
    (matrix products only). Times are the best of ``repeat`` rounds, in
    seconds per call; ``time_ratio`` is the median over rounds of gradient
    time / forward time, each round timing both back to back
    (:func:`nnbook.timing.time_pair`).
    """

    n_params: np.ndarray
    forward_flops: np.ndarray
    backward_flops: np.ndarray
    forward_time: np.ndarray
    gradient_time: np.ndarray
    time_ratio: np.ndarray


def reverse_mode_cost(
    widths: Sequence[int], depth: int = 3, batch: int = 256, repeat: int = 5, seed: int = 0, threads: int = 1
) -> Cost:
    """Forward vs reverse-mode cost for MLPs of ``depth`` hidden layers of each width.

    Parameters
    ----------
    widths : sequence of int
        Hidden widths, each in ``[1, MAX_WIDTH]``; the input has the same
        width, the output one unit. All networks together may hold at most
        ``MAX_COST_ELEMENTS`` weights and activations.
    depth : int
        Number of hidden layers, in ``[1, MAX_DEPTH]``.
    batch : int
        Batch size of the forward pass, in ``[1, MAX_BATCH]``.
    repeat : int
        Timing rounds, in ``[1, MAX_REPEAT]``.
    seed : int
        Seed of the weights and inputs.
    threads : int
        PyTorch threads while timing (restored afterwards), in ``[1, MAX_THREADS]``.
        One by default: on a shared machine, multi-threaded kernels wait for
        descheduled threads and the times scatter.

    Returns
    -------
    Cost
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    widths = v.check_array(widths, "widths", ndim=1, dtype="integer")
    if widths.min() < 1 or widths.max() > MAX_WIDTH:
        raise ValueError(f"widths must lie in [1, {MAX_WIDTH}], got values in [{widths.min()}, {widths.max()}]")
    depth = v.check_int(depth, "depth", min_value=1, max_value=MAX_DEPTH)
    batch = v.check_int(batch, "batch", min_value=1, max_value=MAX_BATCH)
    repeat = v.check_int(repeat, "repeat", min_value=1, max_value=MAX_REPEAT)
    seed = v.check_seed(seed)
    threads = v.check_int(threads, "threads", min_value=1, max_value=MAX_THREADS)
    elements = int(sum((depth + 1) * w * w + (depth + 1) * batch * w for w in widths.tolist()))
    v.check_work(elements, "widths", MAX_COST_ELEMENTS, "weights and activations")
    gen = torch.Generator().manual_seed(seed)
    nets = []
    for width in widths.tolist():
        Ws = [torch.randn(width, width, generator=gen) / width**0.5 for _ in range(depth)]
        Ws.append(torch.randn(width, 1, generator=gen) / width**0.5)
        nets.append((torch.randn(batch, width, generator=gen), [W.requires_grad_() for W in Ws]))
    # time first: right after a FlopCounterMode, PyTorch runs slowly for a while
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        times = [
            time_pair(
                lambda x=x, p=p: _mlp_loss(x, p).detach(),
                lambda x=x, p=p: torch.autograd.grad(_mlp_loss(x, p), p),
                repeat,
            )
            for x, p in nets
        ]
    finally:
        torch.set_num_threads(previous_threads)
    flops = []
    for x, params in nets:
        with FlopCounterMode(display=False) as fwd:
            out = _mlp_loss(x, params)
        with FlopCounterMode(display=False) as bwd:
            torch.autograd.grad(out, params)
        flops.append((fwd.get_total_flops(), bwd.get_total_flops()))
    f, b = (np.array(col) for col in zip(*flops, strict=True))
    return Cost(
        n_params=np.array([sum(W.numel() for W in p) for _, p in nets]),
        forward_flops=f,
        backward_flops=b,
        forward_time=np.array([tf.min() for tf, _ in times]),
        gradient_time=np.array([tg.min() for _, tg in times]),
        time_ratio=np.array([np.median(tg / tf) for tf, tg in times]),
    )


def _mlp_loss(x, params):
    """Sum of the outputs of ``tanh`` layers ``params[:-1]`` and a linear read-out ``params[-1]``."""
    h = x
    for W in params[:-1]:
        h = h.matmul(W).tanh()
    return (h @ params[-1]).sum()

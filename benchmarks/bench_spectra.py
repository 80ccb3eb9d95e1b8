"""Per-example Jacobian of the initialisation chapter's network: a loop of backward() calls vs torch.func.

The naive reference is the course notebook's way: one forward and one
``backward()`` per training input, gradients copied out of ``.grad`` and
concatenated. :func:`nnbook.spectra.per_example_jacobian` computes all rows at
once with ``vmap`` over ``grad`` of a ``functional_call``. The network is the
chapter's (four hidden layers of 20, 1,321 parameters), on 1,500 inputs.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.timing import Kernel, compare
from nnbook import init, sines, spectra


def naive_jacobian(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    rows = []
    for xi in torch.as_tensor(x, dtype=torch.float32)[:, None]:
        model.zero_grad()
        model(xi[None]).sum().backward()
        rows.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double().numpy())
    return np.stack(rows)


def main() -> None:
    task = sines.sine_task()
    net = init.initialise(sines.mlp(4), "he", seed=0)
    m = sum(p.numel() for p in net.parameters())
    print(f"n = {task.x_train.size} inputs, m = {m} parameters")
    np.testing.assert_allclose(
        spectra.per_example_jacobian(net, task.x_train), naive_jacobian(net, task.x_train), rtol=1e-5, atol=1e-6
    )
    # Both sides do, per input, a forward pass (2 operations per weight) and a backward pass (4: the weight's
    # gradient and the gradient it passes back): the same arithmetic, so the whole speed-up is efficiency.
    flops = 6 * task.x_train.size * m
    compare(
        "per-example Jacobian, 1500 x 1321: loop vs vmap",
        lambda: naive_jacobian(net, task.x_train),
        lambda: spectra.per_example_jacobian(net, task.x_train),
        repeat=3,
        ops=(flops, flops),
        kernel=Kernel(
            "batched products of 20-wide layers",
            flops=flops,
            dtype="float32",
            note="every product is 1500 x 20 by 20 x 20: far too small for a matrix-multiply kernel to reach its "
            "peak; the time goes to launching the batched operations and writing the 1500 x 1321 result",
        ),
    )


if __name__ == "__main__":
    main()

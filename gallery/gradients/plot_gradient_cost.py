"""
What does a gradient cost?
==========================

Finite differences need two evaluations of the function per parameter, so a
gradient of a network with :math:`p` weights costs :math:`2p` forward passes.
Reverse mode (backpropagation) costs one forward pass plus one backward pass,
and the backward pass costs a small constant times the forward pass whatever
:math:`n` is. We count the floating-point operations of both passes for
multilayer perceptrons of growing width, and time them.
"""

# sphinx_gallery_dummy_images = 1

# %%
# Counting and timing
# -------------------
# Tanh networks with three hidden layers of width 16 to 512 (about 800 to
# 800 000 weights), a batch of 256 inputs and a scalar output. PyTorch's
# ``FlopCounterMode`` counts the operations of the matrix products, which
# dominate. The times use one thread, which keeps them steady on a shared
# machine.
import numpy as np

from nnbook import book, gradient_cost, plotting

widths, depth, batch = [16, 32, 64, 128, 256, 512], 3, 256
cost = gradient_cost.reverse_mode_cost(widths, depth=depth, batch=batch, repeat=5, seed=0)
flop_ratio = (cost.forward_flops + cost.backward_flops) / cost.forward_flops
time_ratio = cost.time_ratio
for n, fr, tr in zip(cost.n_params, flop_ratio, time_ratio, strict=True):
    print(f"{n:8d} weights: gradient = {fr:.2f} forward passes in operations, {tr:.1f} in time")

# %%
# Cost of one gradient, in forward passes
# ---------------------------------------
# Central differences need :math:`2p` passes, a line of slope one on these
# axes. Reverse mode stays flat: each matrix product :math:`H = XW` of the
# forward pass is answered in the backward pass by two products of the same
# size, :math:`\bar W = X^\top \bar H` and :math:`\bar X = \bar H W^\top`
# (the first layer needs only the first, as nothing asks for the gradient
# with respect to the input), so the whole gradient costs less than three
# forward passes of arithmetic. The measured time ratio is the median over
# five rounds that time both passes back to back.
fig, ax = plotting.new_figure(height=3.9)
ax.plot(cost.n_params, 2 * cost.n_params, "o-", label="central differences (2p passes)")
ax.plot(cost.n_params, flop_ratio, "s-", label="reverse mode, operations counted")
ax.plot(cost.n_params, time_ratio, "^-", label="reverse mode, time measured")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="number of weights p",
    ylabel="cost / cost of one forward pass",
    title="Cost of one gradient of a tanh MLP",
)
plotting.legend(ax, loc="center right")

# %%
# The numbers, checked
# --------------------
# The operation count is exact and machine-independent, and by the rule above
# it cannot exceed three forward passes: a sanity check of the counting. The
# measured time is the experiment: it could exceed the count if the backward
# pass did extra work (recomputation, memory traffic, overhead per call).
with book.numbers():
    book.record("gradients/cost_depth", depth, fmt="{:d}", label="hidden layers")
    book.record("gradients/cost_batch", batch, fmt="{:d}", label="batch size")
    book.record("gradients/cost_min_width", widths[0], fmt="{:d}", label="smallest width")
    book.record("gradients/cost_max_width", widths[-1], fmt="{:d}", label="largest width")
    book.record("gradients/cost_max_params", int(cost.n_params[-1]), fmt="{:,d}", label="weights, largest network")
    book.record("gradients/cost_min_params", int(cost.n_params[0]), fmt="{:,d}", label="weights, smallest network")
    book.record("gradients/cost_params_ratio", cost.n_params[-1] / cost.n_params[0], fmt="{:,.0f}", label="size ratio")
    book.record("gradients/cost_flop_ratio_largest", flop_ratio[-1], fmt="{:.2f}", label="operations ratio, largest")
    book.record("gradients/cost_fd_passes_largest", int(2 * cost.n_params[-1]), fmt="{:,d}", label="passes for FD")
    book.record(
        "gradients/cost_forward_ms_largest",
        1e3 * cost.forward_time[-1],
        fmt="{:.1f}",
        label="forward",
        unit="ms",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "gradients/cost_gradient_ms_largest",
        1e3 * cost.gradient_time[-1],
        fmt="{:.1f}",
        label="gradient",
        unit="ms",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.record(
        "gradients/cost_fd_minutes_largest",
        2 * cost.n_params[-1] * cost.forward_time[-1] / 60,
        fmt="{:,.0f}",
        label="finite differences, largest network",
        unit="min",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "gradients/cost_time_ratio_median",
        "measured, a reverse-mode gradient takes at most 6 forward passes of time (median over the widths)",
        value=float(np.median(time_ratio)),
        at_most=6,
        fmt="{:.1f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.claim(
        "gradients/cost_time_ratio_largest",
        "for the largest network, the measured ratio is still at most 6 forward passes",
        value=float(time_ratio[-1]),
        at_most=6,
        fmt="{:.1f}",
        tolerance=book.MEASURED_TOLERANCE,
    )
    book.check(
        "gradients/cost_reverse_mode_constant",
        "counted, a reverse-mode gradient costs at most 3 forward passes of matrix-product arithmetic at every width",
        value=float(flop_ratio.max()),
        at_most=3,
        fmt="{:.2f}",
    )

# %%
# Takeaways
# ---------
# - Backpropagation costs a constant number of forward passes, independent of
#   the number of parameters; finite differences cost a number proportional
#   to it, which is hopeless beyond toy models.
# - The constant comes from the local rule: each operation's backward step
#   costs about as much as the operation itself (for a matrix product, twice).
# - The price is memory: the backward pass needs the intermediate values of
#   the forward pass.
plotting.show()

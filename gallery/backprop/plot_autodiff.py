"""
What does ``backward()`` do?
============================

An automatic differentiation engine records every operation of a computation
as a node of a graph, together with the local derivative of the operation,
and then walks the graph backwards, multiplying local derivatives along the
way (the chain rule). We build such an engine for scalars
(:mod:`nnbook.autodiff`, about a hundred lines for the engine itself), draw
the graph of one neuron's loss with every gradient it computes, check it
against PyTorch, and then train a small network on a 2-D task with nothing
but this engine.
"""

# sphinx_gallery_dummy_images = 2

# %%
# One neuron's loss as a graph
# ----------------------------
# A sigmoid neuron with inputs :math:`x = (2, -1)`, weights
# :math:`w = (0.5, -1.5)` and bias :math:`b = 0.3`, whose target class is 1,
# has the cross-entropy loss :math:`\ell = -\log \sigma(w_1 x_1 + w_2 x_2 + b)`.
# Each arithmetic step below creates one node; ``loss.backward()`` fills in
# ``grad`` = :math:`\partial \ell / \partial\,\text{node}` for all of them.
import numpy as np
import torch

from nnbook import autodiff, book, data, plotting, scalar_mlp
from nnbook.autodiff import Value

x1, x2 = Value(2.0, label="x1"), Value(-1.0, label="x2")
w1, w2, b = Value(0.5, label="w1"), Value(-1.5, label="w2"), Value(0.3, label="b")
z = w1 * x1 + w2 * x2 + b
loss = -z.sigmoid().log()
loss.backward()
print(f"loss {loss.data:.6f}; dl/dw1 {w1.grad:.6f}, dl/dw2 {w2.grad:.6f}, dl/db {b.grad:.6f}")

# %%
# Each box shows a node: its operation (or name, for a leaf), the value of
# the forward pass and the gradient of the backward pass. The constant
# :math:`-1` of the final negation is a leaf too.
pos = autodiff.layout(loss)
fig, ax = plotting.new_figure(width=10.0, height=4.4)
boxes = {}
for node, (col, row) in pos.items():
    name = node.label or node.op or f"{node.data:g}"
    boxes[node] = ax.text(
        col,
        row,
        f"{name}\ndata {node.data:.3g}\ngrad {node.grad:.3g}",
        ha="center",
        va="center",
        fontsize=8,
        bbox={"boxstyle": "round,pad=0.35", "fc": "white", "ec": "C1" if node.label else "C0"},
    )
for node in pos:
    for parent in node.parents:
        arrow = {"arrowstyle": "-|>", "color": "0.5", "patchA": boxes[parent].get_bbox_patch()}
        ax.annotate("", xy=pos[node], xytext=pos[parent], arrowprops=arrow | {"patchB": boxes[node].get_bbox_patch()})
cols, rows = zip(*pos.values(), strict=True)
ax.set(xlim=(-0.6, max(cols) + 0.6), ylim=(min(rows) - 0.6, max(rows) + 0.6), title="The graph of one neuron's loss")
ax.set_axis_off()

# %%
# The same graph in PyTorch
# -------------------------
# PyTorch's autograd builds the same graph when we compute with tensors that
# require gradients; its gradients should agree with ours to round-off. The
# local derivative of the sigmoid, :math:`\sigma(z)(1 - \sigma(z))`, and the
# chain rule give the closed form
# :math:`\partial \ell / \partial w_i = (\sigma(z) - 1)\, x_i` as a third answer.
params = {v.label: torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for v in (w1, w2, b)}
t_loss = -torch.log(torch.sigmoid(params["w1"] * 2.0 + params["w2"] * -1.0 + params["b"]))
t_loss.backward()
ours = np.array([w1.grad, w2.grad, b.grad])
theirs = np.array([params[k].grad.item() for k in ("w1", "w2", "b")])
s = 1.0 / (1.0 + np.exp(-z.data))
closed = (s - 1.0) * np.array([2.0, -1.0, 1.0])
print("engine  ", ours, "\ntorch   ", theirs, "\nby hand ", closed)

# %%
# Training a network with the engine
# ----------------------------------
# A network is the same kind of graph, only larger: a 2 → 6 → 6 → 1 tanh
# network (:class:`nnbook.scalar_mlp.ScalarMLP`) and the mean
# hinge loss :math:`\frac1n\sum_i \max(0, 1 - y_i f(x_i))` over two interleaved
# spiral arms of 30 points each, labels :math:`\pm 1`. Every step builds the
# graph of the loss over all 60 points and calls ``backward()``; we take
# 60 full-batch gradient steps with learning rate 0.5.
X, labels = data.spirals(30, 2, noise=0.2, rng=0)
X, y = 2.0 * X, np.where(labels == 1, 1.0, -1.0)
fit = scalar_mlp.fit_scalar_mlp(X, y, [2, 6, 6, 1], steps=60, lr=0.5, rng=0)
print(f"{fit.num_nodes:,} nodes per step; loss {fit.loss[0]:.3f} -> {fit.loss[-1]:.3f}")

# %%
# The trained network's decision regions (left) are evaluated with numpy on
# a grid, from the same weights (:meth:`~nnbook.scalar_mlp.ScalarMLP.numpy_forward`);
# the loss and the training accuracy fall and rise together (right).
grid = np.linspace(-2.2, 2.2, 121)
G1, G2 = np.meshgrid(grid, grid)
F = fit.model.numpy_forward(np.column_stack([G1.ravel(), G2.ravel()])).reshape(G1.shape)
fig, (ax, ax2) = plotting.new_figure(1, 2, width=10.0, height=4.0)
ax.contourf(G1, G2, F, levels=[-1e9, 0, 1e9], colors=["C3", "C0"], alpha=0.2)
ax.contour(G1, G2, F, levels=[0.0], colors="k", linewidths=1)
for label, color in ((-1.0, "C3"), (1.0, "C0")):
    ax.scatter(*X[y == label].T, s=18, color=color, label=f"y = {label:+.0f}")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision regions after 60 steps", aspect="equal")
plotting.legend(ax, loc="lower right")
ax2.plot(fit.loss, label="hinge loss")
ax2.plot(fit.accuracy, label="training accuracy")
ax2.set(xlabel="gradient step", title="Training with the scalar engine")
plotting.legend(ax2)

# %%
# The numbers, checked
# --------------------
with book.numbers():
    book.record("backprop/neuron_loss", loss.data, fmt="{:.4f}", label="loss of the example neuron")
    book.record("backprop/neuron_grad_w1", w1.grad, fmt="{:.4f}", label="its gradient with respect to w1")
    book.check(
        "backprop/engine_matches_torch",
        "the engine's gradients of the neuron's loss equal PyTorch autograd's and the closed form to round-off",
        value=float(max(np.abs(ours - theirs).max(), np.abs(ours - closed).max())),
        at_most=1e-14,
        fmt="{:.1g}",
    )
    book.record("backprop/toy_params", len(fit.model.parameters()), fmt="{:d}", label="parameters of the network")
    book.record("backprop/toy_nodes", fit.num_nodes, fmt="{:,}", label="nodes in one step's graph")
    book.record("backprop/toy_loss_start", fit.loss[0], fmt="{:.3f}", label="hinge loss at initialisation")
    book.record("backprop/toy_loss_end", fit.loss[-1], fmt="{:.3f}", label="hinge loss after 60 steps")
    book.claim(
        "backprop/toy_accuracy",
        "60 steps of the scalar engine separate the two spiral arms: training accuracy at least 0.85",
        value=fit.accuracy[-1],
        at_least=0.85,
        fmt="{:.3f}",
    )
    book.claim(
        "backprop/toy_loss_drop",
        "the hinge loss falls at least fourfold in 60 steps",
        value=fit.loss[0] / fit.loss[-1],
        at_least=4.0,
        fmt="{:.1f}",
    )

# %%
# Takeaways
# ---------
# - Reverse mode needs only one thing per operation: its local derivative,
#   stored when the forward value is computed. ``backward()`` multiplies them
#   along every path from the output and sums over paths.
# - The engine agrees with PyTorch to round-off; PyTorch does the same on
#   tensors, with one node per tensor operation instead of one per number.
# - One scalar node per multiply makes a graph of thousands of nodes for a
#   100-parameter network; this is why real engines work on arrays.

plotting.show()

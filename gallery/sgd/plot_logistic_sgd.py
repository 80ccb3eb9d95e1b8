"""
Does a gradient estimated from a few examples still lead downhill?
===================================================================

A logistic unit :math:`p = \\sigma(w^\\top x)` on two overlapping Gaussian
classes, trained three ways with the same step size on the mean cross-entropy:
full-batch gradient descent (every update uses all :math:`n` examples),
single-sample stochastic gradient descent (one example per update) and
mini-batch SGD (:math:`m = 8 \\ll n`). We compare them per update and per
example processed, and train the same unit with autograd instead of the
hand-derived gradient.
"""

# %%
# The data and the minimum
# ------------------------
# 40 points per class, with means :math:`(2, 1)` and :math:`(1, 0)` and random
# covariances; a constant feature 1 carries the bias, so
# :math:`x = (1, x_1, x_2)`. The classes overlap, so the loss has a finite
# minimiser :math:`w^\star`, which we find by running full-batch gradient
# descent to convergence.
import numpy as np
import torch

from nnbook import book, plotting, sgd
from nnbook.training import TrainConfig, train

X, y = sgd.two_gaussians(n_per_class=40, means=((2.0, 1.0), (1.0, 0.0)), rng=28)
n = len(y)
reference = sgd.logistic_sgd(X, y, lr=2.0, n_epochs=20_000)
loss_star, w_star = reference.loss[-1], reference.w

# %%
# Three ways to estimate the gradient
# -----------------------------------
# The gradient of the mean cross-entropy over a batch :math:`B` is
# :math:`X_B^\top(p_B - y_B)/|B|`. With the step size 0.1 and 50 passes over
# the data, gradient descent makes 50 updates, mini-batch SGD 500 and
# single-sample SGD 4000. The stochastic runs are repeated for five random
# orders of the examples.
lr, epochs, orders = 0.1, 50, range(5)
gd = sgd.logistic_sgd(X, y, lr=lr, n_epochs=epochs)
single = [sgd.logistic_sgd(X, y, lr=lr, n_epochs=epochs, batch_size=1, rng=seed) for seed in orders]
mini = [sgd.logistic_sgd(X, y, lr=lr, n_epochs=epochs, batch_size=8, rng=seed) for seed in orders]

# %%
# Where each method ends
# ----------------------
# The decision boundary :math:`w_0 + w_1 x_1 + w_2 x_2 = 0` and, from a point
# on it, the direction :math:`(w_1, w_2)` in which the predicted probability of
# the first class grows. The stochastic runs end near the minimiser's
# boundary; gradient descent, with the same step but a tenth and an eightieth
# of the updates, is still on its way.
fig, ax = plotting.new_figure(width=6.0, height=5.0)
for label, marker, colour in ((1.0, "o", "C0"), (0.0, "s", "C3")):
    pts = X[y == label]
    ax.scatter(pts[:, 1], pts[:, 2], marker=marker, s=18, color=colour, alpha=0.6, label=f"class y = {label:g}")
x1 = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 2)
for w, name, style in (
    (w_star, "minimiser", "k-"),
    (gd.w, "gradient descent", "C2--"),
    (single[0].w, "SGD, m = 1", "C1:"),
    (mini[0].w, "SGD, m = 8", "C4-."),
):
    ax.plot(x1, -(w[0] + w[1] * x1) / w[2], style, lw=1.6, label=name)
    foot = -w[0] * w[1:] / (w[1:] @ w[1:])  # the point of the boundary closest to the origin
    ax.annotate(
        "",
        foot + w[1:] / np.linalg.norm(w[1:]),
        foot,
        arrowprops={"arrowstyle": "->", "color": style[:2] if style[0] == "C" else "k"},
    )
ax.set(
    xlabel="$x_1$",
    ylabel="$x_2$",
    title="Decision boundaries after 50 epochs",
    ylim=(X[:, 2].min() - 1, X[:, 2].max() + 1),
)
plotting.legend(ax, fontsize=8, loc="lower right")

# %%
# Loss per update and per example
# -------------------------------
# Left: the mean loss over all 80 examples after every update. Right: the
# excess loss :math:`L(w) - L(w^\star)` at the end of each epoch, that is
# against the number of examples whose gradient was used. Lines are the mean
# over the five orders, bands their 10-90% range.
fig, (ax_u, ax_e) = plotting.new_figure(1, 2, width=10.0, height=3.9)
excess = {}  # method -> (orders, epochs + 1) excess loss at the end of each epoch
for runs, name, colour in (([gd], "gradient descent", "C2"), (single, "SGD, m = 1", "C1"), (mini, "SGD, m = 8", "C4")):
    losses = np.array([r.loss for r in runs])
    plotting.band(ax_u, np.arange(1, losses.shape[1]), losses[:, 1:], label=name, color=colour)
    excess[name] = np.array([r.loss[r.examples % n == 0] for r in runs]) - loss_star
    plotting.band(ax_e, np.arange(epochs + 1), excess[name], label=name, color=colour)
ax_u.axhline(loss_star, color="k", lw=1, ls=":", label="minimum")
ax_u.set(xscale="log", xlabel="update", ylabel="mean cross-entropy", title="Loss after each update")
ax_e.set(
    yscale="log",
    xlabel=f"epochs ({n} examples each)",
    ylabel=r"$L(w) - L(w^\star)$",
    title="Excess loss per example processed",
)
plotting.legend(ax_u, fontsize=8)

# %%
# The same unit, trained by autograd
# ----------------------------------
# A bias-free ``nn.Linear(3, 1)`` starting from zero weights, trained with
# :func:`nnbook.training.train` on PyTorch's binary cross-entropy of the logit,
# full batch, step 0.1, 50 epochs, in float64. If the hand-derived gradient is
# right, the two weight vectors agree to round-off. (The mini-batch runs cannot
# be compared this way: the two implementations draw different orders.)
unit = torch.nn.Linear(3, 1, bias=False, dtype=torch.float64)
torch.nn.init.zeros_(unit.weight)
config = TrainConfig(lr=lr, epochs=epochs, batch_size=None, loss="binary_cross_entropy", device="cpu")
history = train(unit, config, (X, y))
w_autograd = unit.weight.detach().numpy()[0]

# %%
# The numbers, checked
# --------------------
one_epoch = {name: values[:, 1] for name, values in excess.items()}
floor = {name: values[:, -10:].mean(axis=1) for name, values in excess.items()}  # mean over the last 10 epochs
went_up = np.mean([np.mean(np.diff(r.loss) > 0) for r in single])
with book.numbers():
    book.record("sgd/logistic_loss_star", loss_star, fmt="{:.3f}", label="minimum mean cross-entropy")
    book.record(
        "sgd/logistic_gd_excess_1",
        one_epoch["gradient descent"][0],
        fmt="{:.3f}",
        label="GD excess loss after one epoch",
    )
    book.record(
        "sgd/logistic_single_excess_1",
        one_epoch["SGD, m = 1"].mean(),
        fmt="{:.3f}",
        label="SGD (m=1) excess loss after one epoch",
    )
    book.record(
        "sgd/logistic_mini_excess_1",
        one_epoch["SGD, m = 8"].mean(),
        fmt="{:.3f}",
        label="SGD (m=8) excess loss after one epoch",
    )
    book.record(
        "sgd/logistic_floor_gd", floor["gradient descent"][0], fmt="{:.3f}", label="GD excess loss, last 10 epochs"
    )
    book.record(
        "sgd/logistic_floor_single", floor["SGD, m = 1"].mean(), fmt="{:.3f}", label="SGD (m=1), last 10 epochs"
    )
    book.record("sgd/logistic_floor_mini", floor["SGD, m = 8"].mean(), fmt="{:.1e}", label="SGD (m=8), last 10 epochs")
    book.claim(
        "sgd/logistic_noise_floor",
        "with a constant step, single-sample SGD stalls at a noise floor that mini-batches of 8 go below: "
        "over the last 10 epochs its excess loss is higher in every order (smallest paired ratio)",
        value=float(np.min(floor["SGD, m = 1"] / floor["SGD, m = 8"])),
        at_least=3.0,
        fmt="{:.0f}",
    )
    book.claim(
        "sgd/logistic_single_beats_gd_per_example",
        "after one pass over the data, single-sample SGD is closer to the minimum than gradient descent "
        "for every one of five orders (worst ratio of excess losses)",
        value=one_epoch["SGD, m = 1"].max() / one_epoch["gradient descent"][0],
        at_most=0.75,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/logistic_sgd_not_descent",
        "single-sample SGD increases the loss over the whole data set on a sizeable fraction of its updates",
        value=went_up,
        at_least=0.2,
        fmt="{:.0%}",
    )
    book.check(
        "sgd/logistic_gd_descends",
        "with step 0.1, full-batch gradient descent lowers the loss at every update (fraction of increases)",
        value=float(np.mean(np.diff(gd.loss) > 0)),
        at_most=0.0,
        fmt="{:.0%}",
    )
    book.claim(
        "sgd/logistic_autograd_agrees",
        "gradient descent with the hand-derived gradient and with autograd end at the same weights "
        "(largest difference)",
        value=float(np.abs(w_autograd - gd.w).max()),
        at_most=1e-10,
        fmt="{:.0e}",
    )

# %%
# Takeaways
# ---------
# - A gradient estimated from one example points downhill only on average:
#   single-sample SGD raises the full loss on many of its updates, yet it
#   makes 80 updates for every one of gradient descent.
# - Per example processed, the stochastic methods get close to the minimum
#   far sooner; with a constant step they then keep jittering around it.
# - The hand-derived gradient :math:`X^\top(p - y)/n` and autograd give the
#   same weights to round-off.
plotting.show()
